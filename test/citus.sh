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
