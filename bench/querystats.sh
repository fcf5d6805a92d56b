#!/usr/bin/env bash
# pg_queryset statement-counting overhead: pgbench's built-in select-only
# workload with the library not loaded, loaded with everything off, and
# loaded with counting on (and with N+1 detection on).  See bench/README.md,
# "Query statistics overhead".
#
#   bash bench/querystats.sh
#
# Settings (environment):
#   QS_PGPORT         port of the throw-away cluster     (default 54450)
#   QS_BENCH_SCALE    pgbench -i scale                    (default 10)
#   QS_BENCH_SECONDS  measured seconds per variant        (default 25)
#   QS_BENCH_ROUNDS   interleaved rounds                  (default 5)
#   QS_BENCH_KEEP=1   leave the cluster running
#   QS_BENCH_OUT      report file (default bench/results/querystats.txt)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PORT="${QS_PGPORT:-54450}"
SCALE="${QS_BENCH_SCALE:-10}"
SECS="${QS_BENCH_SECONDS:-25}"
ROUNDS="${QS_BENCH_ROUNDS:-5}"
OUT="${QS_BENCH_OUT:-$ROOT/bench/results/querystats.txt}"
DB=qs_qstats
TARGET=0.97
QS_BENCH_NAME=querystats.sh
. "$ROOT/bench/lib.sh"
qs_positive SCALE SECS ROUNDS

qs_bench_tmp
qs_bench_deps
QS_PRELOAD=0 qs_bench_cluster

qs_bench_fresh_db
log "pgbench -i -s $SCALE"
pgbench -i -q -s "$SCALE" "$DB" >/dev/null 2>&1 || die "pgbench -i failed"
psql -X -q -d "$DB" -c "CREATE EXTENSION pg_queryset" >/dev/null

# variant -> PGOPTIONS
declare -A OPTS=(
  [plain]=""
  [loaded]="-c session_preload_libraries=pg_queryset"
  [counting]="-c session_preload_libraries=pg_queryset -c pg_queryset.query_stats=on"
  [nplusone]="-c session_preload_libraries=pg_queryset -c pg_queryset.query_stats=on -c pg_queryset.nplusone=warn -c pg_queryset.nplusone_threshold=1000000000 -c pg_queryset.query_budget=1000000000"
)
VARIANTS=(plain loaded counting nplusone)

# the counting variant really counts: a check before timing
got="$(PGOPTIONS="${OPTS[counting]}" psql -X -At -d "$DB" -c "SELECT 1" -c "SELECT abalance FROM pgbench_accounts WHERE aid = 1" \
        -c "SELECT (qs.query_stats()->>'statements')::int")"
[ "$(echo "$got" | tail -1)" = 3 ] || die "the counting variant does not count (got: $got)"

bench() {  # variant seconds -> tps
  local res
  res="$(PGOPTIONS="${OPTS[$1]}" qs_pgbench "$1" -S -M prepared -c 1 -j 1 -n -T "$2" "$DB")"
  echo "${res%% *}"
}

PER=$(( SECS / ROUNDS )); [ "$PER" -ge 1 ] || PER=1
log "warm-up, then $ROUNDS interleaved rounds of ${PER}s per variant"
for v in "${VARIANTS[@]}"; do bench "$v" 2 >/dev/null; : > "$TMP/$v"; done
for ((r = 1; r <= ROUNDS; r++)); do
  for v in "${VARIANTS[@]}"; do bench "$v" "$PER" >> "$TMP/$v"; done
done

declare -A TPS
for v in "${VARIANTS[@]}"; do TPS[$v]="$(awk '{ t += $1; n++ } END { printf "%.1f", t / n }' "$TMP/$v")"; done
fails=0
{
  echo "pg_queryset statement-counting overhead ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo "machine:    $(nproc) CPUs, $(uname -srm)"
  echo "postgresql: $(psql -X -At -d "$DB" -c 'SELECT version()')"
  echo "workload:   pgbench -S (built-in select-only), -M prepared -c 1 -j 1, scale $SCALE"
  echo "rounds:     $ROUNDS interleaved rounds of ${PER}s per variant (mean TPS)"
  echo
  printf '%-10s %-74s %10s %8s\n' variant "PGOPTIONS" TPS "vs plain"
  for v in "${VARIANTS[@]}"; do
    ratio="$(awk -v a="${TPS[$v]}" -v b="${TPS[plain]}" 'BEGIN { printf "%.3f", a / b }')"
    printf '%-10s %-74s %10s %8s\n' "$v" "${OPTS[$v]:-(library not loaded)}" "${TPS[$v]}" "$ratio"
  done
  echo
  for v in loaded counting nplusone; do
    ratio="$(awk -v a="${TPS[$v]}" -v b="${TPS[plain]}" 'BEGIN { printf "%.3f", a / b }')"
    if awk -v r="$ratio" -v t="$TARGET" 'BEGIN { exit !(r >= t) }'; then
      echo "  $v / plain = $ratio: met (overhead <= 3%)"
    else
      echo "  $v / plain = $ratio: MISSED (overhead > 3%)"; fails=$((fails + 1))
    fi
  done
  echo "per-round TPS:"
  for v in "${VARIANTS[@]}"; do echo "  $v: $(tr '\n' ' ' < "$TMP/$v")"; done
} > "$TMP/report"
mkdir -p "$(dirname "$OUT")"
cp "$TMP/report" "$OUT"
cat "$OUT"
log "report written to ${OUT#"$ROOT"/}"
