#!/usr/bin/env bash
# The scale-out suite (docs/scale-out.md): pg_queryset on a Citus
# coordinator with two workers, every node a throw-away cluster of
# scripts/cluster.sh on 127.0.0.1 (ports QS_PGPORT+200, +201, +202).
#  1. Citus is built from ../shared/vendor/ by scripts/citus-build.sh
#     (cached in /var/cache/pg_queryset; about 3 minutes when absent);
#  2. every node preloads citus and pg_queryset and carries the signing
#     secret and audience in its configuration (ALTER SYSTEM);
#  3. test/citus/setup.sql builds a tenant-scoped shop distributed on
#     tenant_id (composite keys, reference tables, a local table);
#  4. test/citus/*.sql run through pg_prove as qs_app (tokens) and
#     qs_admin (qs.set_tenant): isolation of every read and write path,
#     the tenant context on the workers, result and key order, the COPY
#     path, composite keys, and one-shard routing read from EXPLAIN.
# Needs nothing running; stops its nodes at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
BASE="${QS_PGPORT:-54329}"
COORD=$(( BASE + 200 )); W1=$(( BASE + 201 )); W2=$(( BASE + 202 ))
DB=qs_citus
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres)
die() { echo "FAIL: $*"; echo "citus suite: FAIL"; exit 1; }
cleanup() { bash "$ROOT/scripts/citus-cluster.sh" stop; }
[ -n "${QS_CITUS_KEEP:-}" ] || trap cleanup EXIT
for tool in pg_prove psql createdb; do
  command -v "$tool" >/dev/null || die "$tool is not installed: the suite cannot run"
done

t0=$(date +%s)
echo "-- Citus (scripts/citus-build.sh) and three nodes (scripts/citus-cluster.sh)"
bash scripts/citus-build.sh || die "Citus could not be built or installed"
bash scripts/citus-cluster.sh start "$DB" || die "the Citus cluster did not start"
echo "cluster ready ($(( $(date +%s) - t0 )) s)"

echo "-- setup (test/citus/setup.sql)"
"${PSQL[@]}" -p "$COORD" -d "$DB" -f test/citus/setup.sql >/dev/null || die "test/citus/setup.sql failed"
fail=0

echo "-- the application (qs_app, tokens): isolation, order, keys, COPY path, routing (pg_prove)"
pg_prove -h 127.0.0.1 -p "$COORD" -U qs_app -d "$DB" test/citus/app.sql || fail=1

echo "-- the role that chooses tenants (qs_admin, qs.set_tenant) (pg_prove)"
pg_prove -h 127.0.0.1 -p "$COORD" -U qs_admin -d "$DB" test/citus/admin.sql || fail=1

echo "-- the DBA: policies on every shard, refusals, the audit (pg_prove)"
pg_prove -h 127.0.0.1 -p "$COORD" -U postgres -d "$DB" test/citus/owner.sql || fail=1

# Writes have no EXPLAIN in qs: Citus's own log of the commands it sends
# (citus.log_remote_commands) names the shard of every statement.
echo "-- writes of one tenant go to one shard (citus.log_remote_commands)"
shards() {
  # one "issuing <command>" line per task (shard) of the statement
  local out
  out="$(psql -X -h 127.0.0.1 -p "$COORD" -U qs_app -d "$DB" -v ON_ERROR_STOP=1 -q 2>&1 <<SQL
BEGIN;
SELECT qs.set_tenant_token(token) FROM citus_token WHERE name = 't5' \gset
SET LOCAL citus.log_remote_commands = on;
SET LOCAL client_min_messages = log;
$2;
ROLLBACK;
SQL
)" || { echo "FAIL: $2 did not run: $out" >&2; echo 0; return; }
  printf '%s\n' "$out" | grep -c "issuing $1 " || true
}
check_one() {
  local n
  n="$(shards "$1" "$2")"
  if [ "$n" = 1 ]; then echo "ok: $3 -> 1 shard"; else echo "FAIL: $3 -> $n shards (want 1)"; fail=1; fi
}
check_one UPDATE "SELECT qs.update('{\"model\": \"shop_order\", \"where\": {\"status\": \"new\"}}', '{\"note\": \"x\"}')" "qs.update"
check_one DELETE "SELECT qs.delete('{\"model\": \"shop_orderitem\", \"where\": {\"quantity\": 4}}')" "qs.delete"
check_one UPDATE "SELECT qs.bulk_update('shop_customer', '[{\"tenant_id\": 5, \"id\": 1, \"name\": \"a\"}, {\"tenant_id\": 5, \"id\": 2, \"name\": \"b\"}]', ARRAY['name'])" "qs.bulk_update"
check_one UPDATE "UPDATE shop_order SET note = 'plain' WHERE tenant_id = 5" "a plain UPDATE (the control: the check counts shards)"
n="$(shards UPDATE "UPDATE shop_order SET note = 'plain'")"
if [ "$n" -gt 1 ]; then echo "ok: an UPDATE without the tenant spans $n shards (the check can fail)"; else echo "FAIL: the multi-shard control touched $n shards"; fail=1; fi

echo "-- a token in statement text is refused on the coordinator; worker tokens leave no text behind"
out="$(psql -X -h 127.0.0.1 -p "$COORD" -U qs_app -d "$DB" -At 2>&1 <<'SQL'
SELECT token FROM citus_token WHERE name = 't5' \gset
BEGIN;
SET LOCAL citus.propagate_set_commands = 'local';
SET LOCAL pg_queryset.tenant_token = :'token';
ROLLBACK;
SQL
)"
if echo "$out" | grep -q "a tenant token must not be written into the statement text"; then
  echo "ok: SET LOCAL with a literal token is refused"
else
  echo "FAIL: SET LOCAL with a literal token was not refused: $out"; fail=1
fi
# a transaction left open after the tenant was set again over open worker
# connections: their last statement is Citus's SET LOCAL with the worker token
psql -X -h 127.0.0.1 -p "$COORD" -U qs_app -d "$DB" -q >/dev/null 2>&1 <<'SQL' &
BEGIN;
SELECT qs.set_tenant_token(token) FROM citus_token WHERE name = 't5';
SELECT count(*) FROM shop_order;
SELECT qs.set_tenant_token(token) FROM citus_token WHERE name = 't5';
SELECT pg_sleep(6);
COMMIT;
SQL
holder=$!
sleep 3
for p in $W1 $W2; do
  seen="$("${PSQL[@]}" -p "$p" -d "$DB" -At -c "SELECT count(*) FILTER (WHERE query LIKE '%eyJ%'), count(*) FILTER (WHERE query LIKE '<statement hidden by pg_queryset%') FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database()")"
  case "$seen" in
    (0\|0) echo "FAIL: worker :$p has no session that received the worker token (did the check run?)"; fail=1 ;;
    (0\|*) echo "ok: worker :$p shows no token in pg_stat_activity (${seen#*|} session(s) with the hidden text)" ;;
    (*) echo "FAIL: worker :$p shows a token in pg_stat_activity"; fail=1 ;;
  esac
done
wait "$holder" || true

echo "citus suite: $(( $(date +%s) - t0 )) s"
if [ "$fail" = 0 ]; then echo "citus suite: PASS"; else echo "citus suite: FAIL"; exit 1; fi
