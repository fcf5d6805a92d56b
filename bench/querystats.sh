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
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

setting_port 54450
setting SCALE QS_BENCH_SCALE 10 1
setting SECONDS_RUN QS_BENCH_SECONDS 25 1
setting ROUNDS QS_BENCH_ROUNDS 5 1
setting_flags QS_BENCH_KEEP
BUILD=0   # no QS_BENCH_BUILD here: the library is built only when missing
OUT="${QS_BENCH_OUT:-$ROOT/bench/results/querystats.txt}"
DB=qs_qstats
TARGET=0.97

QS_PRELOAD=0 pgbench_cluster qs_qstats

fresh_db
log "pgbench -i -s $SCALE"
pgbench -i -q -s "$SCALE" "$DB" > "$TMP/init.out" 2>&1 || { cat "$TMP/init.out" >&2; die "pgbench -i failed"; }
"${PSQL[@]}" -c "CREATE EXTENSION pg_queryset" >/dev/null || die "CREATE EXTENSION pg_queryset failed"

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
  PGOPTIONS="${OPTS[$1]}" pgbench_run "$1" -S -M prepared -c 1 -j 1 -n -T "$2" "$DB"
  echo "$PGB_TPS"
}

PER=$(( SECONDS_RUN / ROUNDS )); [ "$PER" -ge 1 ] || PER=1
log "warm-up, then $ROUNDS interleaved rounds of ${PER}s per variant"
interleave bench "$TMP/tps." 2 "$ROUNDS" "$PER" "${VARIANTS[@]}"

declare -A TPS
for v in "${VARIANTS[@]}"; do round_means "$TMP/tps.$v"; TPS[$v]="$MEAN_TPS"; done
fails=0
{
  echo "pg_queryset statement-counting overhead ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  report_host --no-cpu
  echo "workload:   pgbench -S (built-in select-only), -M prepared -c 1 -j 1, scale $SCALE"
  echo "rounds:     $ROUNDS interleaved rounds of ${PER}s per variant (mean TPS)"
  echo
  printf '%-10s %-74s %10s %8s\n' variant "PGOPTIONS" TPS "vs plain"
  for v in "${VARIANTS[@]}"; do
    printf '%-10s %-74s %10s %8s\n' "$v" "${OPTS[$v]:-(library not loaded)}" "${TPS[$v]}" "$(ratio "${TPS[$v]}" "${TPS[plain]}" %.3f)"
  done
  echo
  for v in loaded counting nplusone; do
    r="$(ratio "${TPS[$v]}" "${TPS[plain]}" %.3f)"
    if meets "$r" ">=" "$TARGET"; then
      echo "  $v / plain = $r: met (overhead <= 3%)"
    else
      echo "  $v / plain = $r: MISSED (overhead > 3%)"; fails=$((fails + 1))
    fi
  done
  echo "per-round TPS:"
  for v in "${VARIANTS[@]}"; do echo "  $v: $(tr '\n' ' ' < "$TMP/tps.$v")"; done
} > "$TMP/report"
publish_report "$TMP/report"
