#!/usr/bin/python3
"""What each PgBouncer pool mode does to pg_queryset (psycopg 3, bound parameters).

    pooling.py STATEMENT_PORT CONTROL_PORT DATABASE

STATEMENT_PORT: a PgBouncer in statement mode.  CONTROL_PORT: a PgBouncer
in transaction mode with ONE server connection, so two client connections
are known to share a backend.  Prints PASS/FAIL per check; exit 1 on any
FAIL.  Secret and audience from QS_TENANT_SECRET / QS_TENANT_AUDIENCE.
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time

import psycopg

stmt_port, ctl_port, db = sys.argv[1], sys.argv[2], sys.argv[3]
secret, audience = os.environ["QS_TENANT_SECRET"], os.environ["QS_TENANT_AUDIENCE"]
failures = []


def check(name, ok, detail=""):
    print(("PASS" if ok else "FAIL") + f": {name}" + (f" ({detail})" if detail else ""))
    if not ok:
        failures.append(name)


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(tenant):
    h = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    p = b64(json.dumps({"tenant_id": tenant, "aud": audience, "exp": int(time.time()) + 300}).encode())
    s = b64(hmac.new(secret.encode(), f"{h}.{p}".encode(), hashlib.sha256).digest())
    return f"{h}.{p}.{s}"


def connect(port, autocommit=True):
    return psycopg.connect(f"host=127.0.0.1 port={port} user=qs_client password=qs-client-pw dbname={db}",
                           prepare_threshold=None, autocommit=autocommit)


PROBE = ("SELECT pg_backend_pid(), qs.current_tenant(), current_setting('pg_queryset.query_budget'), "
         "coalesce(current_setting('pg_queryset.tenant_token', true), '')")
COUNT = "SELECT qs.count('{\"model\": \"tenancy_project\"}')"

# --- statement mode --------------------------------------------------------
c = connect(stmt_port)
check("statement mode: a single-statement qs read works",
      c.execute("SELECT qs.count('{\"model\": \"catalog_product\"}')").fetchone()[0] == 1000)
notices = []
c.add_notice_handler(lambda d: notices.append(d.message_primary))
c.execute("SELECT qs.set_tenant_token(%s)", (token("2"),))
check("statement mode: a tenant set outside a transaction warns that it ends with its statement",
      any("ends with this statement" in n for n in notices), str(notices))
check("statement mode: the next statement has no tenant and sees no scoped row (fail closed)",
      c.execute(COUNT).fetchone()[0] == 0)
try:
    c.execute("BEGIN")
    check("statement mode: BEGIN is refused by PgBouncer", False, "BEGIN was accepted")
except psycopg.Error as e:
    check("statement mode: BEGIN is refused by PgBouncer", "transaction blocks not allowed in statement pooling mode" in str(e), str(e).splitlines()[0])
c.close()
# a driver's implicit transaction (autocommit off) is a transaction block too
c = connect(stmt_port, autocommit=False)
try:
    c.execute("SELECT qs.set_tenant_token(%s)", (token("2"),))
    c.execute(COUNT)
    c.commit()
    check("statement mode: a driver transaction (autocommit off) is refused", False, "it ran")
except psycopg.Error as e:
    check("statement mode: a driver transaction (autocommit off) is refused",
          "transaction blocks not allowed" in str(e), str(e).splitlines()[0])
c.close()

# --- transaction mode, one server connection: what is safe and what leaks ---
a, b = connect(ctl_port, autocommit=False), connect(ctl_port, autocommit=False)
with a.transaction():
    pid_a = a.execute("SELECT pg_backend_pid()").fetchone()[0]
    a.execute("SELECT qs.set_tenant_token(%s)", (token("2"),))
    a.execute("SET LOCAL pg_queryset.query_budget = 7")
    a.execute("SELECT qs.cursor('{\"model\": \"tenancy_project\"}', 'left_open')")
    seen_a = a.execute(COUNT).fetchone()[0]
with b.transaction():
    pid_b, tenant_b, budget_b, token_b = b.execute(PROBE).fetchone()
    cursors_b = b.execute("SELECT count(*) FROM pg_catalog.pg_cursors WHERE name <> ''").fetchone()[0]
    seen_b = b.execute(COUNT).fetchone()[0]
check("transaction mode: both clients ran on one backend", pid_a == pid_b, f"{pid_a} {pid_b}")
check("transaction mode: the first client saw its tenant's rows", seen_a == 15, str(seen_a))
check("transaction mode: a transaction-local tenant, budget and cursor do not reach the next client",
      tenant_b is None and budget_b == "0" and token_b == "" and cursors_b == 0 and seen_b == 0,
      f"tenant={tenant_b} budget={budget_b} token={'set' if token_b else 'empty'} cursors={cursors_b} rows={seen_b}")
# the control: a session-level tenant (is_local => false) DOES leak in transaction mode,
# which is why the guide forbids it behind a transaction pooler; the probe sees it
a.autocommit = b.autocommit = True
a.execute("SELECT qs.set_tenant_token(%s, false)", (token("3"),))
pid_b2, tenant_b2, _, _ = b.execute(PROBE).fetchone()
check("control: a session-level tenant set by one client is seen by the next (the probe detects a leak)",
      tenant_b2 == "3", f"tenant seen by the other client: {tenant_b2}")
b.execute("SELECT qs.reset_tenant()")
check("control: qs.reset_tenant() clears it", a.execute(PROBE).fetchone()[1] is None)
a.close(); b.close()

print("pooling:", "PASS" if not failures else "FAIL " + ", ".join(failures))
sys.exit(1 if failures else 0)
