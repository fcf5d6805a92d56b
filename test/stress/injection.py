#!/usr/bin/env python3
"""Injection corpus (issue 8): every payload of test/stress/injection.json
(252 classic SQL injection strings) is tried as every identifier-taking
and every value-taking argument of the qs functions, as a role that may
only read and write the demo tables.  Pass:

  * identifiers: the call fails with a clean error (classes 22, 42, 54,
    P0, 0A) or succeeds because the payload names a real field through
    the catalog; never anything else;
  * values: the payload is plain data - stored by qs.create and read back
    unchanged, compared as text, or refused as a bad value (class 22);
  * nothing else happens: no table changes outside the rolled-back calls,
    no new role, no call takes longer than its timeout allows (no
    pg_sleep ran), the server never restarts.

A check that did not run has failed: no psycopg2, an unreadable or empty
corpus, no connection, a lost connection or no input tried is FAIL with
the reason, never PASS.

Prints a summary; exit status 0 = pass.
"""
import json
import os
import sys
import time

try:
    import psycopg2
except ImportError as exc:
    print("INJECTION FAIL: python3-psycopg2 is not installed for %s (%s); scripts/install-deps.sh python3-psycopg2"
          % (sys.executable, exc))
    print("STRESS injection inputs=0 crashes=0 unexpected=0 violations=0")
    sys.exit(1)

DSN = os.environ.get("QS_FUZZ_DSN", "dbname=qs_stress")
CORPUS = os.environ.get("QS_INJECTION_CORPUS", os.path.join(os.path.dirname(os.path.abspath(__file__)), "injection.json"))
CLEAN = {"22", "42", "54", "P0", "0A", "21", "23", "28"}
# a regclass argument is read by PostgreSQL before the function runs;
# its input function reports a bad schema name as 3F000
CLEAN_REGCLASS = {"3F"}


def fail(reason, tried=0):
    """A check that did not run (completely) has failed."""
    print("INJECTION FAIL: %s" % reason)
    print("STRESS injection inputs=%d crashes=0 unexpected=0 violations=0" % tried)
    return 1


def main():
    try:
        with open(CORPUS) as f:
            corpus = json.load(f)
    except (OSError, ValueError) as e:
        return fail("cannot read the corpus %s: %s" % (CORPUS, e))
    if not isinstance(corpus, list) or not corpus or not all(isinstance(p, str) for p in corpus):
        return fail("the corpus %s is empty or not a JSON array of strings" % CORPUS)
    try:
        admin = psycopg2.connect(DSN)
        admin.autocommit = True
        a = admin.cursor()
        a.execute("""DO $$ BEGIN
                       IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qs_inject') THEN CREATE ROLE qs_inject LOGIN; END IF;
                     END $$;
                     GRANT USAGE ON SCHEMA qs TO qs_inject;
                     GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO qs_inject;
                     GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO qs_inject""")
    except psycopg2.Error as e:
        return fail("cannot connect to or prepare %r: %s" % (DSN, str(e).strip()[:300]))

    def fingerprint():
        a.execute("""SELECT (SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM catalog_product t),
                            (SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM auth_user t),
                            (SELECT count(*) FROM pg_roles), (SELECT count(*) FROM pg_class),
                            pg_postmaster_start_time()::text""")
        return a.fetchone()

    try:
        before = fingerprint()
        conn = psycopg2.connect(DSN, user="qs_inject")
        conn.autocommit = True
        cur = conn.cursor()
    except psycopg2.Error as e:
        return fail("cannot connect as qs_inject or read the tables: %s" % str(e).strip()[:300])

    ident_calls = [
        ("model", "SELECT qs.count(%s::jsonb)", lambda p: (json.dumps({"model": p}),)),
        ("where key", "SELECT qs.count(%s::jsonb)", lambda p: (json.dumps({"model": "catalog_product", "where": {p: 1}}),)),
        ("order_by", "SELECT qs.json(qs.order_by(qs.all('catalog_product'), ARRAY[%s]))", lambda p: (p,)),
        ("values", "SELECT qs.json(qs.values(qs.all('catalog_product'), ARRAY[%s]))", lambda p: (p,)),
        ("only", "SELECT qs.json(qs.only(qs.all('catalog_product'), ARRAY[%s]))", lambda p: (p,)),
        ("annotate name", "SELECT qs.count(%s::jsonb)", lambda p: (json.dumps({"model": "catalog_product", "annotate": {p: {"Count": "id"}}}),)),
        ("F", "SELECT qs.count(%s::jsonb)", lambda p: (json.dumps({"model": "catalog_product", "where": {"stock__gt": {"F": p}}}),)),
        ("aggregate field", "SELECT qs.aggregate('{\"model\": \"catalog_product\"}', %s::jsonb)", lambda p: (json.dumps({"x": {"Sum": p}}),)),
        ("select_related", "SELECT qs.json(qs.select_related(qs.all('catalog_product'), ARRAY[%s]))", lambda p: (p,)),
        ("prefetch_related", "SELECT qs.json(qs.prefetch_related(qs.all('shop_order'), ARRAY[%s]))", lambda p: (p,)),
        ("create key", "SELECT qs.create('catalog_tag', %s::jsonb)", lambda p: (json.dumps({"name": "n", "slug": "s-inj", p: 1}),)),
        ("bulk_create returning", "SELECT qs.bulk_create('catalog_tag', '[{\"name\": \"n\", \"slug\": \"s-inj\"}]', %s::jsonb)",
         lambda p: (json.dumps({"returning": [p]}),)),
        ("bulk_update field", "SELECT qs.bulk_update('catalog_tag', '[{\"id\": 1, \"name\": \"n\"}]', ARRAY[%s])", lambda p: (p,)),
        ("update key", "SELECT qs.update('{\"model\": \"catalog_tag\", \"where\": {\"id\": 1}}', %s::jsonb)", lambda p: (json.dumps({p: "x"}),)),
        ("lookup name", "SELECT qs.count(%s::jsonb)", lambda p: (json.dumps({"model": "catalog_product", "where": {"name__" + p: "x"}}),)),
        ("regclass model", "SELECT qs.count(qs.all(%s::regclass))", lambda p: (p,)),
    ]
    value_calls = [
        ("text equality", "SELECT qs.count(%s::jsonb)", lambda p: (json.dumps({"model": "catalog_product", "where": {"name": p}}),)),
        ("contains", "SELECT qs.count(%s::jsonb)", lambda p: (json.dumps({"model": "catalog_product", "where": {"name__icontains": p}}),)),
        ("in", "SELECT qs.count(%s::jsonb)", lambda p: (json.dumps({"model": "catalog_product", "where": {"slug__in": [p, "x"]}}),)),
        ("regex", "SELECT qs.count(%s::jsonb)", lambda p: (json.dumps({"model": "catalog_product", "where": {"name__regex": p}}),)),
        ("integer", "SELECT qs.count(%s::jsonb)", lambda p: (json.dumps({"model": "catalog_product", "where": {"stock__gte": p}}),)),
        ("date", "SELECT qs.count(%s::jsonb)", lambda p: (json.dumps({"model": "shop_order", "where": {"created_at__date": p}}),)),
        ("jsonb key", "SELECT qs.count(%s::jsonb)", lambda p: (json.dumps({"model": "catalog_product", "where": {"name__startswith": p, "$not": {"slug": p}}}),)),
        ("token", "SELECT qs.set_tenant_token(%s)", lambda p: (p,)),
        ("update value", "SELECT qs.update('{\"model\": \"catalog_tag\", \"where\": {\"id\": 1}}', %s::jsonb)", lambda p: (json.dumps({"name": p}),)),
    ]
    stats = {"tried": 0, "refused": 0, "ok": 0, "data": 0, "bad": 0, "slow": 0}
    classes = {}
    bad = []

    def run(kind, label, sql, params):
        if any(isinstance(x, str) and "\x00" in x for x in params):
            return False        # libpq cannot send NUL in a text parameter; JSON carries it escaped
        stats["tried"] += 1
        t = time.time()
        try:
            cur.execute("BEGIN")
            cur.execute("SET LOCAL statement_timeout = '5s'")
            cur.execute(sql, params)
            cur.fetchall()
            stats["ok"] += 1
            ok = True
        except psycopg2.Error as e:
            if e.pgcode is None:
                bad.append(("lost connection", label, params))
                raise
            cls = e.pgcode[:2]
            classes[cls] = classes.get(cls, 0) + 1
            stats["refused"] += 1
            if cls not in CLEAN and not (label == "regclass model" and cls in CLEAN_REGCLASS):
                stats["bad"] += 1
                bad.append((e.pgcode, label, str(params)[:200]))
            ok = False
        finally:
            if time.time() - t > 3:
                stats["slow"] += 1
                bad.append(("slow", label, str(params)[:200]))
            try:
                cur.execute("ROLLBACK")
            except psycopg2.Error:
                pass
        return ok

    lost = None
    try:
        for p in corpus:
            for label, sql, build in ident_calls:
                run("ident", label, sql, build(p))
            for label, sql, build in value_calls:
                run("value", label, sql, build(p))
            # stored as plain data and read back unchanged
            if "\x00" in p:
                continue
            stats["tried"] += 1
            try:
                cur.execute("BEGIN")
                cur.execute("SELECT qs.create('catalog_tag', %s::jsonb)->>'name'", (json.dumps({"name": p[:100], "slug": "inj-slug"}),))
                stored = cur.fetchone()[0]
                cur.execute("SELECT (qs.get(%s::jsonb))->>'name'", (json.dumps({"model": "catalog_tag", "where": {"name": p[:100], "slug": "inj-slug"}}),))
                back = cur.fetchone()[0]
                if stored == p[:100] and back == p[:100]:
                    stats["data"] += 1
                else:
                    stats["bad"] += 1
                    bad.append(("changed", "create/get", p))
            except psycopg2.Error as e:
                if e.pgcode is None:
                    bad.append(("lost connection", "create/get", p))
                    raise
                cls = e.pgcode[:2]
                classes[cls] = classes.get(cls, 0) + 1
                if cls != "22":     # a value too long for varchar(n) is a bad value
                    stats["bad"] += 1
                    bad.append((e.pgcode, "create/get", p))
            finally:
                if not conn.closed:
                    cur.execute("ROLLBACK")
    except psycopg2.Error as e:     # the connection was lost: the rest did not run
        lost = str(e).strip()[:200]

    try:
        after = fingerprint()
    except psycopg2.Error as e:
        after = ("unreachable: " + str(e).strip()[:100],)
    changed = before != after
    print("== injection corpus (%d payloads x %d identifier and %d value positions, + store and read back) =="
          % (len(corpus), len(ident_calls), len(value_calls)))
    print("%-34s %8d" % ("inputs tried", stats["tried"]))
    print("%-34s %8d" % ("refused with a clean error", stats["refused"]))
    print("%-34s %8d" % ("accepted (a real field, or data)", stats["ok"]))
    print("%-34s %8d" % ("stored and read back unchanged", stats["data"]))
    print("%-34s %8d" % ("unexpected outcomes", stats["bad"]))
    print("%-34s %8d" % ("calls slower than 3 s", stats["slow"]))
    print("%-34s %8s" % ("tables, roles or server changed", "yes" if changed else "no"))
    print("errors by class: " + ", ".join("%s=%d" % kv for kv in sorted(classes.items())))
    for b in bad[:20]:
        print("  %s in %s: %s" % b)
    reasons = []
    if lost is not None:
        reasons.append("the connection was lost (%s); the rest of the corpus was not tried" % lost)
    if stats["tried"] == 0:
        reasons.append("no input was tried")
    if stats["bad"]:
        reasons.append("%d unexpected outcome(s)" % stats["bad"])
    if stats["slow"]:
        reasons.append("%d call(s) slower than 3 s" % stats["slow"])
    if changed:
        reasons.append("tables, roles or the server changed")
    print("INJECTION %s" % ("FAIL: " + "; ".join(reasons) if reasons else "PASS"))
    print("STRESS injection inputs=%d crashes=%d unexpected=%d violations=%d" % (stats["tried"], 0 if lost is None else 1,
                                                                            stats["bad"], 1 if changed else 0))
    return 1 if reasons else 0


if __name__ == "__main__":
    sys.exit(main())
