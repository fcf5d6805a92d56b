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
cd "$ROOT"
PORT="${QS_PGPORT:-54470}"
SECS="${QS_BENCH_SECONDS:-15}"
ROUNDS="${QS_BENCH_ROUNDS:-3}"
CLIENTS="${QS_BENCH_CLIENTS:-2}"
OUT="${QS_BENCH_OUT:-$ROOT/bench/results/tenant.txt}"
DB=qs_tenant_bench
TARGET=0.90
QS_BENCH_NAME=tenant.sh
. "$ROOT/bench/lib.sh"
qs_positive SECS ROUNDS CLIENTS

qs_bench_tmp
qs_bench_deps
qs_bench_cluster

log "loading 1,000,000 rows x 2 tables"
qs_bench_fresh_db
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL'
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

run() {  # script -> tps (a failed run or transaction is an ERROR, never a figure)
  local res
  res="$(qs_pgbench "$1" -n -M prepared -U bench_app -c "$CLIENTS" -j "$CLIENTS" -T "$SECS" -f "$TMP/$1.sql" "$DB")"
  echo "${res%% *}"
}

declare -A SUM
log "warm-up"
for v in rls_lookup plain_lookup rls_list plain_list; do run "$v" >/dev/null; done
for r in $(seq 1 "$ROUNDS"); do
  for v in rls_lookup plain_lookup rls_list plain_list; do
    t="$(run "$v")"
    log "round $r $v: $t tps"
    SUM[$v]="${SUM[$v]:-} $t"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
check() { awk -v v="$1" -v t="$TARGET" 'BEGIN { exit !(v >= t) }' && echo met || echo MISSED; }

{
  echo "pg_queryset tenant-scoping benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo "machine:    $(nproc) CPUs, $(uname -srm)"
  echo "postgresql: $(psql -X -At -d "$DB" -c 'SELECT version()')"
  echo "data:       1,000,000 rows, 1,000 tenants x 1,000 rows, in scoped_item (RLS) and plain_item (none)"
  echo "load:       pgbench -M prepared, $CLIENTS clients, ${SECS}s per run, $ROUNDS interleaved rounds (medians), role bench_app (not superuser)"
  echo "each transaction: set the tenant (qs.set_tenant / set_config) + the query"
  echo
  printf "%-34s %12s %12s %8s\n" "query" "RLS tps" "explicit tps" "ratio"
  for q in lookup list; do
    a="$(echo "${SUM[rls_$q]}" | median)"; b="$(echo "${SUM[plain_$q]}" | median)"
    printf "%-34s %12s %12s %8s\n" "$q" "$a" "$b" "$(ratio "$a" "$b")"
  done
  echo "rounds (tps): $(for v in rls_lookup plain_lookup rls_list plain_list; do echo -n "$v:${SUM[$v]}; "; done)"
  echo
  echo "plans:"
  plans | sed 's/^/  /'
  echo
  echo "targets (RLS / explicit throughput >= $TARGET, i.e. overhead <= 10%):"
  for q in lookup list; do
    a="$(echo "${SUM[rls_$q]}" | median)"; b="$(echo "${SUM[plain_$q]}" | median)"
    r="$(ratio "$a" "$b")"
    echo "  $q: $r: $(check "$r")"
  done
} | tee "$OUT"
