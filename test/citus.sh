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
cleanup() {
  local p
  for p in $COORD $W1 $W2; do QS_PGPORT=$p bash "$ROOT/scripts/cluster.sh" stop >/dev/null 2>&1 || true; done
}
[ -n "${QS_CITUS_KEEP:-}" ] || trap cleanup EXIT
for tool in pg_prove psql createdb; do
  command -v "$tool" >/dev/null || die "$tool is not installed: the suite cannot run"
done

t0=$(date +%s)
echo "-- Citus (scripts/citus-build.sh)"
CITUS="$(bash scripts/citus-build.sh)" || die "Citus could not be built or installed"
echo "$CITUS ready ($(( $(date +%s) - t0 )) s)"

echo "-- nodes: coordinator :$COORD, workers :$W1 :$W2"
for p in $COORD $W1 $W2; do
  QS_PGPORT=$p bash scripts/cluster.sh stop >/dev/null 2>&1 || true
  QS_PGPORT=$p QS_PRELOAD=citus bash scripts/cluster.sh start >/dev/null || die "node :$p did not start"
  "${PSQL[@]}" -p "$p" -d postgres \
    -c "ALTER SYSTEM SET pg_queryset.tenant_secret = 'citus-secret'" \
    -c "ALTER SYSTEM SET pg_queryset.tenant_audience = 'qs-citus'" \
    -c "SELECT pg_reload_conf()" >/dev/null || die "could not configure node :$p"
  createdb -h 127.0.0.1 -U postgres -p "$p" "$DB" || die "createdb on :$p failed"
  "${PSQL[@]}" -p "$p" -d "$DB" -c "SET client_min_messages = warning" -c "CREATE EXTENSION citus" >/dev/null \
    || die "CREATE EXTENSION citus on :$p failed"
done
"${PSQL[@]}" -p "$COORD" -d "$DB" >/dev/null <<SQL || die "could not add the workers"
SELECT citus_set_coordinator_host('127.0.0.1', $COORD);
SELECT citus_add_node('127.0.0.1', $W1);
SELECT citus_add_node('127.0.0.1', $W2);
SQL
[ "$("${PSQL[@]}" -p "$COORD" -d "$DB" -At -c "SELECT count(*) FROM citus_get_active_worker_nodes()")" = 2 ] \
  || die "the coordinator does not see two workers"

echo "-- setup (test/citus/setup.sql)"
"${PSQL[@]}" -p "$COORD" -d "$DB" -f test/citus/setup.sql >/dev/null || die "test/citus/setup.sql failed"
