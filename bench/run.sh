#!/usr/bin/env bash
# pg_queryset read-path benchmark: the extension versus the SQL an expert
# would write by hand, returning byte-identical results.  See bench/README.md.
#
#   bash bench/run.sh
#
# Settings (environment):
#   QS_PGPORT         port of the throw-away cluster         (default 54410)
#   QS_BENCH_SCALE    demo data scale (1 = 1000 products)   (default 20)
#   QS_BENCH_SECONDS  measured seconds per script           (default 15)
#   QS_BENCH_ROUNDS   the measured seconds are split into this many
#                     interleaved qs/hand rounds             (default 5)
#   QS_BENCH_WARMUP   pgbench -T per warm-up run            (default 2)
#   QS_BENCH_SEED     pgbench --random-seed: every run draws the same
#                     parameter sequence                    (default 20240101)
#   QS_BENCH_BUILD=1  run `make -s && make -s install` first (also done
#                     automatically when pg_queryset.so is not installed)
#   QS_BENCH_KEEP=1   leave the cluster running at exit
#   QS_BENCH_NOCACHE=1  also measure the qs scripts with
#                     pg_queryset.plan_cache_size = 0
#   QS_BENCH_BREAKDOWN=1  also time the point lookup step by step (spec
#                     build, compile, execute; about +2 minutes)
#   QS_BENCH_STRICT=1 exit 1 when a ratio is below the 0.80 target
#   QS_BENCH_OUT      where the report is written
#                     (default bench/results/read_path.txt)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

pgbench_settings 54410 20 15 5 2
setting_flags QS_BENCH_BUILD QS_BENCH_KEEP QS_BENCH_NOCACHE QS_BENCH_BREAKDOWN QS_BENCH_STRICT
OUT="${QS_BENCH_OUT:-$ROOT/bench/results/read_path.txt}"
TARGET=0.80
DB=qs_bench

# ---------------------------------------------------------------------
# 0, 1. dependencies, the extension, a throw-away cluster
# ---------------------------------------------------------------------
pgbench_cluster qs_bench

# ---------------------------------------------------------------------
# 2. data
# ---------------------------------------------------------------------
demo_db "$SCALE"

NPROD="$(sql_value "SELECT max(id) FROM catalog_product")"
if [ -z "$NPROD" ] || [ "$NPROD" -le 0 ]; then die "catalog_product is empty"; fi
NCAT="$(sql_value "SELECT max(id) FROM catalog_category")"
[ "${NCAT:-0}" -ge 24 ] || die "expected at least 24 categories, found ${NCAT:-none}"

# ---------------------------------------------------------------------
# 3a. correctness: the statements pgbench will time, run once through
# psql with sample values, must return exactly the same text
# ---------------------------------------------------------------------
log "verifying that qs and hand-written outputs are identical"
for id in 1 42 303 888 "$NPROD" $((NPROD + 1)); do   # the last one matches no row
  verify point hand id="$id"
done
for p in "1 0 200" "5 100 300" "12 250 450" "24 0 3000" "7 2990 3000"; do
  read -r cat lo hi <<< "$p"
  verify list hand cat="$cat" lo="$lo" hi="$hi"
  verify rows hand cat="$cat" lo="$lo" hi="$hi"
done
require_hits point list rows
log "verified $NVER samples: identical"

# ---------------------------------------------------------------------
# 3b. timing
# ---------------------------------------------------------------------
# pgbench <script> <seconds> [PGOPTIONS]; prints "tps latency_ms"
bench() {
  PGOPTIONS="${3:-}" pgbench_run "$1" -M prepared -c 1 -j 1 -T "$2" -n \
    --random-seed="$SEED" -D nprod="$NPROD" -f "bench/$1.sql" "$DB"
  echo "$PGB_TPS $PGB_LAT"
}

PAIRS=(point list rows)
declare -A LABEL=(
  [point]="(a) point lookup by pk, qs.json"
  [list]="(b) filtered list, qs.json"
  [rows]="(c) filtered list, qs.rows"
)
declare -A TPS LAT SPREAD

NOCACHE_OPT="-c pg_queryset.plan_cache_size=0"
# <script>_nc: <script>_qs with the plan cache off
timed() {  # script, seconds
  case "$1" in
    *_nc) bench "${1%_nc}_qs" "$2" "$NOCACHE_OPT";;
    *) bench "$1" "$2";;
  esac
}
SIDES=(qs hand)
if [ "${QS_BENCH_NOCACHE:-0}" = 1 ]; then SIDES+=(nc); fi

log "timing: ${#PAIRS[@]} scenarios x ${#SIDES[@]} variants, ${WARMUP}s warm-up + $ROUNDS interleaved rounds of ${PER}s each"
for pair in "${PAIRS[@]}"; do
  interleave timed "$TMP/r." "$WARMUP" "$ROUNDS" "$PER" "${SIDES[@]/#/${pair}_}"
  for side in "${SIDES[@]}"; do
    round_means "$TMP/r.${pair}_$side"
    TPS[$pair.$side]="$MEAN_TPS"; LAT[$pair.$side]="$MEAN_LAT"
  done
  SPREAD[$pair]="$(round_range "$TMP/r.${pair}_qs" "$TMP/r.${pair}_hand")"
  log "  $pair: qs ${TPS[$pair.qs]} tps, hand ${TPS[$pair.hand]} tps (per-round ratio ${SPREAD[$pair]})"
done

# optional: where the point lookup's extra time goes (median latency of
# interleaved rounds of scripts that each add one step)
BREAKDOWN=""
if [ "${QS_BENCH_BREAKDOWN:-0}" = 1 ]; then
  BSTEPS=(overhead_noop overhead_build overhead_compile point_hand point_qs point_nc)
  declare -A BLABEL=(
    [overhead_noop]="round trip, SELECT \$1::int"
    [overhead_build]="+ build the spec (jsonb_build_object x2)"
    [overhead_compile]="+ qs.sql(): parse spec, compile to SQL"
    [point_hand]="hand-written point lookup"
    [point_qs]="qs.json point lookup (plan cache on)"
    [point_nc]="qs.json point lookup, plan_cache_size=0"
  )
  log "breakdown: ${#BSTEPS[@]} scripts x $ROUNDS rounds of ${PER}s"
  interleave timed "$TMP/b." "$WARMUP" "$ROUNDS" "$PER" "${BSTEPS[@]}"
  BREAKDOWN="$(
    printf '%-44s %10s  %s\n' "step (point lookup)" "median us" "delta"
    prev=""
    for st in "${BSTEPS[@]}"; do
      med="$(awk '{ print $2 * 1000 }' "$TMP/b.$st" | median)"
      case "$st" in
        overhead_build|overhead_compile) d="$(awk -v a="$med" -v b="$prev" 'BEGIN { printf "%+.1f", a - b }')";;
        point_qs) d="$(awk -v a="$med" -v b="$hand" 'BEGIN { printf "%+.1f vs hand", a - b }')";;
        point_nc) d="$(awk -v a="$med" -v b="$qsmed" 'BEGIN { printf "%+.1f vs cache on", a - b }')";;
        *) d="";;
      esac
      printf '%-44s %10.1f  %s\n' "${BLABEL[$st]}" "$med" "$d"
      prev="$med"
      if [ "$st" = point_hand ]; then hand="$med"; fi
      if [ "$st" = point_qs ]; then qsmed="$med"; fi
    done
  )"
fi

# ---------------------------------------------------------------------
# 4. report
# ---------------------------------------------------------------------
{
  echo "\\o /dev/null"
  echo "SELECT qs.plan_cache_reset();"
  for id in 1 2 3 4 5; do echo "\\set id $id"; script_sql point_qs; done
  for c in 1 2 3 4 5; do echo "\\set cat $c"; echo "\\set lo 0"; echo "\\set hi 200"; script_sql list_qs; done
  echo "\\o"
  echo "\\pset footer off"
  echo "SELECT * FROM qs.plan_cache_stats();"
} > "$TMP/cache.sql"
CACHE_STATS="$("${PSQL[@]}" -f "$TMP/cache.sql")" || die "qs.plan_cache_stats() failed"

SETTINGS="$(settings_line)"
fails=0
{
  echo "pg_queryset read-path benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  report_host
  echo "data:       scale $SCALE ($NPROD products)"
  echo "pgbench:    -M prepared -c 1 -j 1 -n --random-seed=$SEED; per script a ${WARMUP}s warm-up, then $ROUNDS rounds of -T $PER"
  echo "            interleaved qs/hand/qs/hand... (TPS and latency: mean over rounds; ratio = qs TPS / hand TPS)"
  echo "settings:   ${SETTINGS:-defaults}"
  echo "verified:   $NVER sample parameter sets, qs output == hand-written output (exact text)"
  echo
  printf '%-34s %9s %9s %6s %10s %10s %11s  %s\n' scenario "qs TPS" "hand TPS" ratio "qs ms" "hand ms" "round range" "target"
  for pair in "${PAIRS[@]}"; do
    q="$pair.qs"; h="$pair.hand"
    r="$(ratio "${TPS[$q]}" "${TPS[$h]}")"
    if meets "$r" ">=" "$TARGET"; then ok="ok (>= $TARGET)"; else ok="BELOW $TARGET"; fails=$((fails + 1)); fi
    printf '%-34s %9.0f %9.0f %6s %10.3f %10.3f %11s  %s\n' "${LABEL[$pair]}" "${TPS[$q]}" "${TPS[$h]}" "$r" "${LAT[$q]}" "${LAT[$h]}" "${SPREAD[$pair]}" "$ok"
  done
  if [ "${QS_BENCH_NOCACHE:-0}" = 1 ]; then
    echo
    echo "with SET pg_queryset.plan_cache_size = 0 (every call parses and plans):"
    for pair in "${PAIRS[@]}"; do
      q="$pair.nc"; h="$pair.hand"
      printf '%-34s %9.0f %9.0f %6s %10.3f %10.3f\n' "${LABEL[$pair]}" "${TPS[$q]}" "${TPS[$h]}" "$(ratio "${TPS[$q]}" "${TPS[$h]}")" "${LAT[$q]}" "${LAT[$h]}"
    done
  fi
  if [ -n "$BREAKDOWN" ]; then
    echo
    echo "$BREAKDOWN"
  fi
  echo
  echo "qs.plan_cache_stats() in a fresh session after 5 point lookups and 5 list calls (2 shapes):"
  echo "$CACHE_STATS"
} > "$TMP/report.txt"
publish_report "$TMP/report.txt"

strict_exit "$fails" "$fails scenario(s) below the $TARGET target"
