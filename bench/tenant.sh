#!/usr/bin/env bash
# Tenant scoping overhead (issue 7, docs/tenancy.md): 1,000,000 rows
# across 1,000 tenants, in two identical tables: one tenant-scoped by
# row-level security (qs.enable_tenant_scoping), one plain.  Two queries,
# each as pgbench transactions of a non-superuser application role:
#   lookup: one row by primary key
#   list:   the tenant's 20 newest rows
# RLS variant:      SELECT qs.set_tenant(t) ; <query without tenant filter>
# explicit variant: SELECT set_config('app.t', t) ; <query with WHERE tenant_id = t>
# (the same two statements per transaction, so the only difference is the
# policy).  Prints TPS, the RLS/explicit ratio (target: RLS within 10%,
# i.e. ratio >= 0.90) and both plans (the same index must be used).
#
#   bash bench/tenant.sh
#
# Settings (environment):
#   QS_PGPORT         port of the throw-away cluster (default 54470)
#   QS_BENCH_SECONDS  seconds per measured run        (default 15)
#   QS_BENCH_ROUNDS   interleaved rounds              (default 3)
#   QS_BENCH_CLIENTS  pgbench clients                 (default 2)
#   QS_BENCH_OUT      report file (default bench/results/tenant.txt)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

setting_port 54470
setting SECONDS_RUN QS_BENCH_SECONDS 15 1
setting ROUNDS QS_BENCH_ROUNDS 3 1
setting CLIENTS QS_BENCH_CLIENTS 2 1
KEEP=0    # no QS_BENCH_KEEP here: the cluster always goes at exit
BUILD=0   # no QS_BENCH_BUILD here: the library is built only when missing
OUT="${QS_BENCH_OUT:-$ROOT/bench/results/tenant.txt}"
DB=qs_tenant_bench
TARGET=0.90

pgbench_cluster qs_tenant

log "loading 1,000,000 rows x 2 tables"
fresh_db
"${PSQL[@]}" >/dev/null <<'SQL' || die "loading the tables failed"
SET client_min_messages = warning;
CREATE EXTENSION pg_queryset;
DROP ROLE IF EXISTS bench_app;
CREATE ROLE bench_app LOGIN;
GRANT USAGE ON SCHEMA qs TO bench_app;
GRANT EXECUTE ON FUNCTION qs.set_tenant(text, boolean) TO bench_app;
CREATE TABLE scoped_item (
    id         bigint PRIMARY KEY,
    tenant_id  integer NOT NULL,
    created_at timestamptz NOT NULL,
    title      text NOT NULL,
    amount     numeric(10,2) NOT NULL
);
INSERT INTO scoped_item
SELECT g, (1 + (g::bigint * 7919) % 1000)::int, timestamptz '2026-01-01' + g * interval '13 seconds', 'item ' || g, (g % 10000) / 100.0
FROM generate_series(1, 1000000) g;
CREATE TABLE plain_item AS SELECT * FROM scoped_item;
ALTER TABLE plain_item ADD PRIMARY KEY (id);
CREATE INDEX scoped_item_tenant_created ON scoped_item (tenant_id, created_at DESC);
CREATE INDEX plain_item_tenant_created ON plain_item (tenant_id, created_at DESC);
SELECT qs.enable_tenant_scoping('scoped_item');
GRANT SELECT ON scoped_item, plain_item TO bench_app;
VACUUM ANALYZE scoped_item;
VACUUM ANALYZE plain_item;
SQL

# scripts.  A row of tenant t: tenant(g) = 1 + (g * 7919) % 1000, so the
# ids of t are ((t - 1) * 679) % 1000 + 1000 k (679 = 919^-1 mod 1000).
cat > "$TMP/rls_lookup.sql" <<'PGB'
\set t random(1, 1000)
\set k random(1, 999)
SELECT qs.set_tenant(:t::text, false);
SELECT * FROM scoped_item WHERE id = (:t - 1) * 679 % 1000 + 1000 * :k;
PGB
cat > "$TMP/plain_lookup.sql" <<'PGB'
\set t random(1, 1000)
\set k random(1, 999)
SELECT set_config('app.t', :t::text, false);
SELECT * FROM plain_item WHERE tenant_id = :t AND id = (:t - 1) * 679 % 1000 + 1000 * :k;
PGB
cat > "$TMP/rls_list.sql" <<'PGB'
\set t random(1, 1000)
SELECT qs.set_tenant(:t::text, false);
SELECT * FROM scoped_item ORDER BY created_at DESC LIMIT 20;
PGB
cat > "$TMP/plain_list.sql" <<'PGB'
\set t random(1, 1000)
SELECT set_config('app.t', :t::text, false);
SELECT * FROM plain_item WHERE tenant_id = :t ORDER BY created_at DESC LIMIT 20;
PGB

# correctness first: the RLS lookup finds exactly one row of its tenant
CHECK="$(psql -X -At -U bench_app -d "$DB" <<'SQL'
SELECT qs.set_tenant('17', false);
SELECT count(*) || ' ' || min(tenant_id) || ' ' || max(tenant_id) FROM scoped_item WHERE id = (17 - 1) * 679 % 1000 + 1000 * 5;
SELECT count(*) || ' ' || min(tenant_id) FROM scoped_item;
SELECT count(*) FROM plain_item WHERE tenant_id = 17 AND id = (17 - 1) * 679 % 1000 + 1000 * 5;
SQL
)"
log "check: $(echo "$CHECK" | tr '\n' '|')"
echo "$CHECK" | sed -n 2p | grep -q '^1 17 17$' || die "the lookup formula does not find one row of tenant 17: $CHECK"
echo "$CHECK" | sed -n 3p | grep -q '^1000 17$' || die "tenant 17 does not see exactly its 1000 rows: $CHECK"

plans() {
  psql -X -At -U bench_app -d "$DB" <<'SQL'
SELECT qs.set_tenant('17', false);
\echo -- lookup, RLS:
EXPLAIN (COSTS OFF) SELECT * FROM scoped_item WHERE id = (17 - 1) * 679 % 1000 + 1000 * 5;
\echo -- lookup, explicit WHERE tenant_id, no RLS:
EXPLAIN (COSTS OFF) SELECT * FROM plain_item WHERE tenant_id = 17 AND id = (17 - 1) * 679 % 1000 + 1000 * 5;
\echo -- list, RLS:
EXPLAIN (COSTS OFF) SELECT * FROM scoped_item ORDER BY created_at DESC LIMIT 20;
\echo -- list, explicit WHERE tenant_id, no RLS:
EXPLAIN (COSTS OFF) SELECT * FROM plain_item WHERE tenant_id = 17 ORDER BY created_at DESC LIMIT 20;
SQL
}

run() {  # script seconds [round] -> tps
  pgbench_run "$1" -n -M prepared -U bench_app -c "$CLIENTS" -j "$CLIENTS" -T "$2" -f "$TMP/$1.sql" "$DB"
  if [ -n "${3:-}" ]; then log "round $3 $1: $PGB_TPS tps"; fi
  echo "$PGB_TPS"
}

VARIANTS=(rls_lookup plain_lookup rls_list plain_list)
log "warm-up"
interleave run "$TMP/tps." "$SECONDS_RUN" "$ROUNDS" "$SECONDS_RUN" "${VARIANTS[@]}"
declare -A SUM MEDIAN
for v in "${VARIANTS[@]}"; do
  SUM[$v]="$(awk '{ printf " %s", $1 }' "$TMP/tps.$v")"
  MEDIAN[$v]="$(median < "$TMP/tps.$v")"
done
check() { if meets "$1" ">=" "$TARGET"; then echo met; else echo MISSED; fi; }

plans > "$TMP/plans.txt" || die "EXPLAIN of the four queries failed"

{
  echo "pg_queryset tenant-scoping benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  report_host --no-cpu
  echo "data:       1,000,000 rows, 1,000 tenants x 1,000 rows, in scoped_item (RLS) and plain_item (none)"
  echo "load:       pgbench -M prepared, $CLIENTS clients, ${SECONDS_RUN}s per run, $ROUNDS interleaved rounds (medians), role bench_app (not superuser)"
  echo "each transaction: set the tenant (qs.set_tenant / set_config) + the query"
  echo
  printf "%-34s %12s %12s %8s\n" "query" "RLS tps" "explicit tps" "ratio"
  for q in lookup list; do
    a="${MEDIAN[rls_$q]}"; b="${MEDIAN[plain_$q]}"
    printf "%-34s %12s %12s %8s\n" "$q" "$a" "$b" "$(ratio "$a" "$b" %.3f)"
  done
  echo "rounds (tps): $(for v in "${VARIANTS[@]}"; do echo -n "$v:${SUM[$v]}; "; done)"
  echo
  echo "plans:"
  sed 's/^/  /' "$TMP/plans.txt"
  echo
  echo "targets (RLS / explicit throughput >= $TARGET, i.e. overhead <= 10%):"
  for q in lookup list; do
    r="$(ratio "${MEDIAN[rls_$q]}" "${MEDIAN[plain_$q]}" %.3f)"
    echo "  $q: $r: $(check "$r")"
  done
} > "$TMP/report.txt"
publish_report "$TMP/report.txt"
