#!/usr/bin/env bash
# The tenant isolation suite (docs/threat-model.md):
#  1. test/tenant/isolation.sql through pg_prove, connected as qs_app (an
#     ordinary login role), against a database prepared by
#     test/tenant/setup.sql, with the signing secret and audience in the
#     server's configuration (ALTER SYSTEM; reset at the end);
#  2. concurrent sessions switching tenants between transactions
#     (pgbench, 8 clients): no statement ever sees another tenant's row;
#  2b. test/tenant/channels.py: two sessions of the role, one holding a
#     token as a bind parameter, the other searching every view for it;
#  3. a second throw-away cluster that does not preload pg_queryset: a
#     placeholder set before the library loads is not a tenant, and the
#     tenant functions refuse to run.
# Needs the cluster of scripts/cluster.sh running (scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/cluster.sh env)"
DB=qs_tenant
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
fail=0

PORT2=$(( ${QS_PGPORT:-54329} + 7 ))
cleanup() {
  "${PSQL[@]}" -d postgres -c "ALTER SYSTEM RESET pg_queryset.tenant_secret" \
    -c "ALTER SYSTEM RESET pg_queryset.tenant_audience" -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
  QS_PGPORT=$PORT2 bash scripts/cluster.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
# a step that did not run is a failure, with its reason
die() { echo "FAIL: $*"; echo "tenant suite: FAIL"; exit 1; }
for tool in pg_prove pgbench psql createdb dropdb; do
  command -v "$tool" >/dev/null || die "$tool is not installed: the suite cannot run"
done

echo "-- setup ($DB)"
PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists "$DB" || die "cannot reach the cluster to drop $DB"
createdb "$DB" || die "createdb $DB failed"
"${PSQL[@]}" -d "$DB" -f test/tenant/setup.sql >/dev/null || die "test/tenant/setup.sql failed"
"${PSQL[@]}" -d postgres -c "ALTER SYSTEM SET pg_queryset.tenant_secret = 'suite-secret'" \
  -c "ALTER SYSTEM SET pg_queryset.tenant_audience = 'qs-test'" -c "SELECT pg_reload_conf()" >/dev/null \
  || die "could not set the signing secret"
sleep 1

echo "-- isolation matrix as qs_app (pg_prove)"
if ! pg_prove -U qs_app -d "$DB" test/tenant/isolation.sql; then
  fail=1
fi

echo "-- where another session of the role could find a token (test/tenant/channels.py, psycopg 3)"
if ! bash scripts/install-deps.sh python3-psycopg >/dev/null; then
  echo "FAIL: python3-psycopg could not be installed: the token channel test did not run"; fail=1
else
  LOGFILE="$(dirname "$("${PSQL[@]}" -d "$DB" -At -c "SELECT current_setting('data_directory')")")/server.log"
  if ! PGHOST="$PGHOST" PGPORT="$PGPORT" /usr/bin/python3 test/tenant/channels.py "$DB" "$LOGFILE"; then
    echo "FAIL: token channels"; fail=1
  fi
fi

echo "-- COPY as qs_app: in is refused while RLS is in force, out goes through the policies"
COPYOUT="$(psql -X -U qs_app -d "$DB" -At -v ON_ERROR_STOP=0 2>&1 <<'SQL'
BEGIN;
SELECT 'tenant ' || qs.set_tenant_token(token) FROM iso_token WHERE name = 't2';
COPY iso_doc (tenant_id, slug, title, secret) FROM STDIN;
2	copy-in	t	s
\.
ROLLBACK;
BEGIN;
SELECT 'tenant ' || qs.set_tenant_token(token) FROM iso_token WHERE name = 't2';
COPY (SELECT DISTINCT tenant_id FROM iso_doc) TO STDOUT;
COPY iso_event_1 TO STDOUT;
COPY iso_event_2 TO STDOUT;
ROLLBACK;
SQL
)"
echo "$COPYOUT"
echo "$COPYOUT" | grep -q "COPY FROM not supported with row-level security" || { echo "FAIL: COPY FROM was not refused"; fail=1; }
[ "$("${PSQL[@]}" -d "$DB" -At -c "SELECT count(*) FROM iso_doc WHERE slug = 'copy-in'")" = 0 ] || { echo "FAIL: COPY FROM wrote a row"; fail=1; }
[ "$(echo "$COPYOUT" | grep -c '^1')" = 0 ] || { echo "FAIL: COPY TO showed tenant 1"; fail=1; }
# and it did run: tenant 2's own rows came out (an empty output would also show no tenant 1)
echo "$COPYOUT" | grep -qx '2' || { echo "FAIL: COPY TO did not show tenant 2's rows (did it run?)"; fail=1; }

echo "-- concurrent sessions switching tenants (pgbench, 8 clients x 300 transactions)"
"${PSQL[@]}" -d "$DB" <<'SQL' >/dev/null || die "could not create iso_violation"
CREATE TABLE iso_violation (seen_tenant int, want int, at timestamptz DEFAULT clock_timestamp());
GRANT INSERT ON iso_violation TO qs_app;
SQL
SCRIPT="$(mktemp)"
cat > "$SCRIPT" <<'PGB'
\set t random(1, 2)
BEGIN;
SELECT qs.set_tenant_token(token) FROM iso_token WHERE name = 't' || :t;
INSERT INTO iso_violation (seen_tenant, want) SELECT tenant_id, :t FROM iso_doc WHERE tenant_id <> :t;
INSERT INTO iso_violation (seen_tenant, want) SELECT tenant_id, :t FROM iso_event WHERE tenant_id <> :t;
INSERT INTO iso_violation (seen_tenant, want) SELECT count(*), :t FROM iso_doc HAVING count(*) <> 20;
SELECT qs.count('{"model": "iso_doc", "where": {"tenant_id__in": [1, 2, 3]}}');
COMMIT;
SELECT CASE WHEN qs.current_tenant() IS NULL THEN 1 END;
INSERT INTO iso_violation (seen_tenant, want) SELECT tenant_id, 0 FROM iso_doc;
PGB
if ! pgbench -n -U qs_app -d "$DB" -c 8 -j 2 -t 300 -f "$SCRIPT" >"$SCRIPT.out" 2>&1; then
  cat "$SCRIPT.out"; fail=1
fi
grep -E "^(number of transactions actually processed|number of failed)" "$SCRIPT.out" || true
grep -q "^number of transactions actually processed: 2400/2400" "$SCRIPT.out" \
  || { echo "FAIL: pgbench did not run its 2,400 transactions"; fail=1; }
VIOL="$("${PSQL[@]}" -d "$DB" -At -c "SELECT count(*) FROM iso_violation")"
echo "violations: $VIOL"
[ "$VIOL" = 0 ] || fail=1
rm -f "$SCRIPT" "$SCRIPT.out"

echo "-- a cluster that does not preload pg_queryset"
# scripts/cluster.sh's throw-away cluster, without the preload
QS_PGPORT=$PORT2 bash scripts/cluster.sh stop >/dev/null 2>&1 || true
QS_PRELOAD=0 QS_PGPORT=$PORT2 bash scripts/cluster.sh start >/dev/null || die "the cluster without preload did not start"
OUT="$(eval "$(QS_PGPORT=$PORT2 bash scripts/cluster.sh env)"; psql -X -d postgres -At 2>&1 <<'SQL' || true
CREATE EXTENSION pg_queryset;
CREATE ROLE app LOGIN;
GRANT USAGE ON SCHEMA qs TO app;
\c - app
SET pg_queryset.tenant = '1';
SELECT 'placeholder before load: ' || current_setting('pg_queryset.tenant');
SELECT 'current_tenant: ' || coalesce(qs.current_tenant(), 'NULL');
SELECT 'placeholder after load: ' || coalesce(current_setting('pg_queryset.tenant', true), '(gone)');
\c - postgres
SELECT qs.set_tenant('1');
SQL
)"
QS_PGPORT=$PORT2 bash scripts/cluster.sh stop >/dev/null
echo "$OUT"
echo "$OUT" | grep -q "current_tenant: NULL" || { echo "FAIL: a placeholder tenant was read"; fail=1; }
echo "$OUT" | grep -q "placeholder after load: (gone)" || { echo "FAIL: the placeholder survived the load"; fail=1; }
echo "$OUT" | grep -q "tenant scoping needs pg_queryset in shared_preload_libraries" || { echo "FAIL: set_tenant ran without preload"; fail=1; }

if [ "$fail" -eq 0 ]; then echo "tenant suite: PASS"; else echo "tenant suite: FAIL"; fi
exit "$fail"
