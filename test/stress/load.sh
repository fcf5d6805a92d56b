#!/usr/bin/env bash
# Load (issue 8): pgbench, 16 clients for 60 s (QS_LOAD_SECONDS), as an
# ordinary role, mixing queryset reads, nested fetches, race-free
# conditional stock decrements and tenant switches on a scoped table.
# Pass: no failed transaction and no error in pgbench's log, and at the
# end the invariants hold: stock is conserved (initial stock = final
# stock + units sold, never negative) and no transaction saw or wrote
# another tenant's row.  A check that did not run has failed: no pgbench,
# no connection, a failed setup, no transaction or a script of the mix that
# never ran (so its invariant was not exercised) is FAIL with the reason.
#
#   QS_PGBENCH=/path/to/pgbench   the binary (default: pgbench on PATH, or
#                                 in pg_config --bindir)
set -euo pipefail
cd "$(dirname "$0")/../.."
DB="${QS_STRESS_DB:-qs_stress}"
SECS="${QS_LOAD_SECONDS:-60}"
CLIENTS="${QS_LOAD_CLIENTS:-16}"
PGBENCH="${QS_PGBENCH:-pgbench}"
fail_now() {  # REASON
  echo "LOAD FAIL: $1"
  echo "STRESS load inputs=${tx:-0} crashes=0 unexpected=${errors:-0} violations=0"
  exit 1
}
trap 'rc=$?; fail_now "a step failed (exit $rc, line $LINENO): $BASH_COMMAND"' ERR
case "$SECS" in ''|*[!0-9]*|0) fail_now "QS_LOAD_SECONDS must be a positive number of seconds, got '$SECS'";; esac
case "$CLIENTS" in ''|*[!0-9]*|0) fail_now "QS_LOAD_CLIENTS must be a positive number of clients, got '$CLIENTS'";; esac
if [ -z "${QS_PGBENCH:-}" ] && ! command -v pgbench >/dev/null 2>&1; then PGBENCH="$(pg_config --bindir 2>/dev/null)/pgbench"; fi
command -v "$PGBENCH" >/dev/null 2>&1 && [ -x "$(command -v "$PGBENCH")" ] \
  || fail_now "pgbench is not installed ('$PGBENCH' not found; it comes with postgresql-15)"
eval "$(bash scripts/cluster.sh env)"
TMP="$(mktemp -d)"
chmod 755 "$TMP"
trap 'rm -rf "$TMP"' EXIT

err="$(psql -X -At -d "$DB" -c "SELECT 1" 2>&1)" || fail_now "cannot connect to $DB: $err"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS stress_sold, stress_note, stress_violation, stress_stock0;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'qs_load') THEN CREATE ROLE qs_load LOGIN; END IF;
END $$;
GRANT USAGE ON SCHEMA qs TO qs_load;
GRANT EXECUTE ON FUNCTION qs.set_tenant(text, boolean) TO qs_load;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO qs_load;
GRANT UPDATE ON catalog_product TO qs_load;
UPDATE catalog_product SET stock = 500 WHERE id <= 20;
CREATE TABLE stress_stock0 AS SELECT id, stock FROM catalog_product WHERE id <= 20;
CREATE TABLE stress_sold (product_id int NOT NULL, n int NOT NULL);
CREATE TABLE stress_note (id bigserial PRIMARY KEY, tenant_id int NOT NULL, body text NOT NULL);
CREATE INDEX ON stress_note (tenant_id);
INSERT INTO stress_note (tenant_id, body) SELECT 1 + g % 50, 'seed ' || g FROM generate_series(1, 5000) g;
CREATE TABLE stress_violation (seen int, want int, what text);
SELECT qs.enable_tenant_scoping('stress_note', options => '{"default": true}');
GRANT SELECT, INSERT, UPDATE ON stress_note, stress_sold, stress_violation TO qs_load;
GRANT USAGE ON SEQUENCE stress_note_id_seq TO qs_load;
SQL

cat > "$TMP/read.sql" <<'PGB'
\set c random(1, 10)
SELECT length(qs.json(jsonb_build_object('model', 'catalog_product', 'where', jsonb_build_object('category', :c, 'status', 'active'),
  'order_by', jsonb_build_array('-price'), 'limit', 10))::text);
PGB
cat > "$TMP/nested.sql" <<'PGB'
\set u random(1, 50)
SELECT length(qs.json(jsonb_build_object('model', 'shop_order', 'where', jsonb_build_object('user', :u),
  'prefetch_related', jsonb_build_array('shop_orderitem__product'), 'select_related', jsonb_build_array('user')))::text);
PGB
cat > "$TMP/decrement.sql" <<'PGB'
\set p random(1, 20)
\set q random(1, 3)
BEGIN;
SELECT qs.update(jsonb_build_object('model', 'catalog_product', 'where', jsonb_build_object('id', :p, 'stock__gte', :q)),
                 jsonb_build_object('stock', jsonb_build_object('-', jsonb_build_array(jsonb_build_object('F', 'stock'), :q)))) AS n \gset
INSERT INTO stress_sold VALUES (:p, :n * :q);
COMMIT;
PGB
cat > "$TMP/tenant.sql" <<'PGB'
\set t random(1, 50)
BEGIN;
SELECT qs.set_tenant(:t::text);
INSERT INTO stress_violation SELECT tenant_id, :t, 'read' FROM stress_note WHERE tenant_id <> :t;
INSERT INTO stress_violation SELECT n, :t, 'qs' FROM (SELECT qs.count(qs.exclude(qs.all('stress_note'), jsonb_build_object('tenant_id', :t)))::int AS n) x
  WHERE n <> 0;
INSERT INTO stress_note (body) VALUES ('from ' || :t);
COMMIT;
SELECT 1 WHERE qs.current_tenant() IS NULL;
PGB

echo "== load: pgbench, $CLIENTS clients, ${SECS}s: reads 4, nested 2, decrements 3, tenant switches 3 (weights) =="
set +e
trap - ERR
"$PGBENCH" -n -U qs_load -d "$DB" -c "$CLIENTS" -j 2 -T "$SECS" \
  -f "$TMP/read.sql@4" -f "$TMP/nested.sql@2" -f "$TMP/decrement.sql@3" -f "$TMP/tenant.sql@3" > "$TMP/out" 2>&1
rc=$?
set -e
trap 'rc=$?; fail_now "a step failed (exit $rc, line $LINENO): $BASH_COMMAND"' ERR
grep -E "^(number of transactions actually processed|number of failed transactions|tps)" "$TMP/out" || true
errors="$(grep -c -E "ERROR|error:" "$TMP/out" || true)"
fail=0
[ "$rc" = 0 ] || { echo "pgbench exited $rc"; tail -20 "$TMP/out"; fail=1; }
[ "${errors:-0}" = 0 ] || { echo "errors in pgbench's output: $errors"; grep -E "ERROR|error:" "$TMP/out" | head -5; fail=1; }
inv="$(psql -X -At -d "$DB" <<'SQL'
SELECT 'stock conserved: ' || bool_and(s0.stock = p.stock + coalesce(sold.n, 0)) || ', never negative: ' || bool_and(p.stock >= 0)
       || ', units sold: ' || coalesce(sum(sold.n), 0)
FROM stress_stock0 s0 JOIN catalog_product p USING (id)
LEFT JOIN (SELECT product_id AS id, sum(n)::int AS n FROM stress_sold GROUP BY 1) sold USING (id);
SELECT 'tenant violations: ' || count(*) FROM stress_violation;
SELECT 'notes written under tenants: ' || count(*) || ', with the writer''s tenant: ' || count(*) FILTER (WHERE body = 'from ' || tenant_id)
FROM stress_note WHERE body LIKE 'from %';
SQL
)"
echo "$inv"
echo "$inv" | grep -q "stock conserved: true, never negative: true" || fail=1
echo "$inv" | grep -q "tenant violations: 0" || fail=1
notes="$(echo "$inv" | sed -n 's/^notes written under tenants: \([0-9]*\), with the writer.s tenant: \([0-9]*\)$/\1 \2/p')"
[ -n "$notes" ] && [ "${notes% *}" = "${notes#* }" ] || fail=1
tx="$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$TMP/out")"
tx="${tx:-0}"
# each script of the mix ran (pgbench's per-script " - N transactions" lines)
per_script="$(sed -n 's/^ - \([0-9]*\) transactions (.*/\1/p' "$TMP/out" | tr '\n' ' ')"
echo "transactions per script (read nested decrement tenant): ${per_script:-none}"
reason=""
[ "$rc" = 0 ] || reason="pgbench exited $rc"
[ "${errors:-0}" = 0 ] || reason="${reason:+$reason; }$errors errors in pgbench's output"
[ "$tx" -gt 0 ] || reason="${reason:+$reason; }no transaction was processed"
[ "$(echo "$per_script" | wc -w)" = 4 ] && ! echo " $per_script" | grep -q " 0 " \
  || reason="${reason:+$reason; }not every script of the mix ran (${per_script:-no per-script counts})"
[ -n "$notes" ] && [ "${notes% *}" != 0 ] || reason="${reason:+$reason; }no note was written under a tenant"
echo "$inv" | grep -q "stock conserved: true, never negative: true" || reason="${reason:+$reason; }stock not conserved"
echo "$inv" | grep -q "tenant violations: 0" || reason="${reason:+$reason; }tenant violations"
[ -n "$notes" ] && [ "${notes% *}" = "${notes#* }" ] || reason="${reason:+$reason; }notes with another tenant"
echo "LOAD $([ -z "$reason" ] && echo PASS || echo "FAIL: $reason")"
echo "STRESS load inputs=$tx crashes=0 unexpected=${errors:-0} violations=$([ "$fail" = 0 ] && echo 0 || echo 1)"
[ -z "$reason" ] || exit 1
exit "$fail"
