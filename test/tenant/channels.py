#!/usr/bin/env python3
"""Where could another session of the application role find a tenant token?

Security review of 0.1.0, finding 3 (docs/threat-model.md, "Tokens"):
all tenants connect as one application role, so anything a session of
that role can read about the others is shared.  Session A holds a
tenant-2 token the way docs/tenancy.md tells clients to send it (a bind
parameter, psycopg 3's server-side binding); session B runs arbitrary SQL
as the same role and looks everywhere: pg_stat_activity,
pg_stat_statements (track_utility on), qs.query_stats() (collection
switched on for the role by the DBA, and read by the next client of A's
pooled connection), pg_settings, pg_db_role_setting, the server log
(through the functions a role would use, and on disk).  A careless
session C writes the token into its statement: it is refused and its
text hidden.  Control: with pg_queryset.allow_literal_token on, the same
search does find the token, so the search itself can fail.

  python3 test/tenant/channels.py DBNAME SERVER_LOG
"""
import sys

import psycopg

DB, LOG = sys.argv[1], sys.argv[2]
checks = 0
failed = 0


def check(ok, what):
    global checks, failed
    checks += 1
    if not ok:
        failed += 1
    print("%s %d - %s" % ("ok" if ok else "not ok", checks, what))


def connect(user, autocommit=True):
    return psycopg.connect(dbname=DB, user=user, autocommit=autocommit)


def texts_visible_to(conn):
    """Everything of other sessions a session of the role can read."""
    seen = []
    for sql in ("SELECT coalesce(query, '') FROM pg_stat_activity",
                "SELECT coalesce(query, '') FROM pg_stat_statements",
                "SELECT coalesce(setting, '') FROM pg_settings WHERE name LIKE 'pg_queryset.%'",
                "SELECT coalesce(array_to_string(setconfig, ' '), '') FROM pg_db_role_setting",
                "SELECT qs.query_stats(1000)::text"):
        seen += [r[0] for r in conn.execute(sql).fetchall()]
    for sql in ("SELECT string_agg(pg_read_file('log/' || name), '') FROM pg_ls_logdir()",
                "SELECT pg_read_file(current_setting('data_directory') || '/../server.log')"):
        try:
            seen += [conn.execute(sql).fetchone()[0] or ""]
        except psycopg.Error as e:
            conn.rollback() if not conn.autocommit else None
            seen.append("")
            check(e.sqlstate == "42501", "the server log is not readable by the role (%s)" % e.sqlstate)
    return "\n".join(seen)


su = connect("postgres")
su.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
su.execute("SELECT pg_stat_statements_reset()")
token = su.execute("SELECT token FROM iso_token WHERE name = 't2'").fetchone()[0]
signature = token.rsplit(".", 1)[1]
# collection on for every session of the role: only a superuser may
su.execute("ALTER ROLE qs_app SET pg_queryset.query_stats = on")
su.execute("ALTER ROLE qs_app SET pg_stat_statements.track_utility = on")

b = connect("qs_app")
# the role cannot switch collection on itself, for itself or for others
for sql in ("SET pg_queryset.query_stats = off", "ALTER ROLE qs_app SET pg_queryset.query_stats = on"):
    try:
        b.execute(sql)
        check(False, "the application role may not run: %s" % sql)
    except psycopg.Error as e:
        check(e.sqlstate == "42501", "the application role may not run: %s (%s)" % (sql, e.sqlstate))

# A: the documented way, the token as a bind parameter
a = connect("qs_app", autocommit=False)
tenant = a.execute("SELECT qs.set_tenant_token(%s)", (token,)).fetchone()[0]
check(tenant == "2", "session A set tenant 2 with the token as a bind parameter")
a.execute("SELECT set_config('pg_queryset.tenant_token', %s, true)", (token,))
n = a.execute("SELECT count(*) FROM iso_doc").fetchone()[0]
check(n == 20, "session A sees tenant 2's 20 rows")
# ... and stays idle in transaction, holding the token

# C: the careless way, the token written into the statement
c = connect("qs_app")
try:
    c.execute(psycopg.sql.SQL("SELECT qs.set_tenant_token({})").format(psycopg.sql.Literal(token)))
    check(False, "a token written into the statement is refused")
except psycopg.Error as e:
    check(e.sqlstate == "42501", "a token written into the statement is refused (%s)" % e.sqlstate)
try:
    c.execute(psycopg.sql.SQL("SET pg_queryset.tenant_token = {}").format(psycopg.sql.Literal(token)))
    check(False, "SET with the token written into it is refused")
except psycopg.Error as e:
    check(e.sqlstate == "42501", "SET with the token written into it is refused (%s)" % e.sqlstate)

seen = texts_visible_to(b)
check(len(seen) > 0 and "qs.set_tenant_token" in seen,
      "session B read the statements of the role's sessions (the search saw A's call)")
check(signature not in seen, "session B finds no token in pg_stat_activity, pg_stat_statements, pg_settings, "
      "pg_db_role_setting or its query statistics")
check("statement hidden by pg_queryset" in seen, "C's refused statement is hidden in pg_stat_activity")

# the next client of A's pooled connection reads A's statistics
a.commit()
stats = a.execute("SELECT qs.query_stats(1000)::text").fetchone()[0]
check("set_tenant_token" in stats and signature not in stats,
      "A's own query statistics name the call but keep no token")
a.commit()

with open(LOG, errors="replace") as f:
    check(signature not in f.read(), "the server log on disk holds no token")

# control: allow literal tokens, and the same search finds one
su.execute("ALTER ROLE qs_app SET pg_queryset.allow_literal_token = on")
d = connect("qs_app", autocommit=False)
d.execute(psycopg.sql.SQL("SELECT qs.set_tenant_token({})").format(psycopg.sql.Literal(token)))
check(signature in texts_visible_to(b), "control: with allow_literal_token on, B does find D's literal token")
d.rollback()

for conn in (a, b, c, d):
    conn.close()
su.execute("ALTER ROLE qs_app RESET ALL")
su.close()
print("channels: %d checks, %d failed" % (checks, failed))
sys.exit(1 if failed else 0)
