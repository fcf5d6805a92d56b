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
cd "$ROOT"

PORT="${QS_PGPORT:-54410}"
SCALE="${QS_BENCH_SCALE:-20}"
SECONDS_RUN="${QS_BENCH_SECONDS:-15}"
WARMUP="${QS_BENCH_WARMUP:-2}"
OUT="${QS_BENCH_OUT:-$ROOT/bench/results/read_path.txt}"
SEED="${QS_BENCH_SEED:-20240101}"
TARGET=0.80
DB=qs_bench

QS_BENCH_NAME=run.sh
. "$ROOT/bench/lib.sh"
qs_positive SCALE SECONDS_RUN
qs_nonnegative SEED WARMUP

qs_bench_tmp

# ---------------------------------------------------------------------
# 0. dependencies and the extension
# ---------------------------------------------------------------------
qs_bench_deps

# ---------------------------------------------------------------------
# 1. throw-away cluster
# ---------------------------------------------------------------------
qs_bench_cluster

# ---------------------------------------------------------------------
# 2. data
# ---------------------------------------------------------------------
qs_bench_demo "$SCALE"
"${PSQL[@]}" -c "CREATE EXTENSION pg_queryset" -c "VACUUM ANALYZE" >/dev/null

NPROD="$("${PSQL[@]}" -At -c "SELECT max(id) FROM catalog_product")"
[ -n "$NPROD" ] && [ "$NPROD" -gt 0 ] || die "catalog_product is empty"
NCAT="$("${PSQL[@]}" -At -c "SELECT max(id) FROM catalog_category")"
[ "$NCAT" -ge 24 ] || die "expected at least 24 categories, found $NCAT"

# ---------------------------------------------------------------------
# 3a. correctness: the statements pgbench will time, run once through
# psql with sample values, must return exactly the same text
# ---------------------------------------------------------------------
# The SQL line of a pgbench script (meta-commands and comments removed);
# psql interpolates :name from -v just as pgbench does from \set.
script_sql() { grep -v -e '^\\' -e '^--' -e '^[[:space:]]*$' "bench/$1.sql"; }

run_sample() {  # script, then name=value pairs
  local script="$1"; shift
  local args=() kv
  for kv in "$@"; do args+=(-v "$kv"); done
  script_sql "$script" | "${PSQL[@]}" -At "${args[@]}" -f -
}

verify() {  # pair, then name=value pairs
  local pair="$1"; shift
  run_sample "${pair}_qs" "$@" > "$TMP/qs.out"
  run_sample "${pair}_hand" "$@" > "$TMP/hand.out"
  if ! cmp -s "$TMP/qs.out" "$TMP/hand.out"; then
    echo "run.sh: MISMATCH in '$pair' for $*:" >&2
    diff "$TMP/qs.out" "$TMP/hand.out" | head -20 >&2 || true
    die "the extension's output differs from the hand-written output"
  fi
  # a sample with rows counts towards the "verified with data" tally
  if [ -s "$TMP/qs.out" ] && [ "$(cat "$TMP/qs.out")" != "[]" ]; then
    HITS[$pair]=$(( ${HITS[$pair]:-0} + 1 ))
  fi
}
declare -A HITS

log "verifying that qs and hand-written outputs are identical"
nver=0
for id in 1 42 303 888 "$NPROD" $((NPROD + 1)); do   # the last one matches no row
  verify point id="$id"; nver=$((nver + 1))
done
for p in "1 0 200" "5 100 300" "12 250 450" "24 0 3000" "7 2990 3000"; do
  set -- $p
  verify list cat="$1" lo="$2" hi="$3"; nver=$((nver + 1))
  verify rows cat="$1" lo="$2" hi="$3"; nver=$((nver + 1))
done
for pair in point list rows; do
  [ "${HITS[$pair]:-0}" -gt 0 ] || die "every '$pair' sample came back empty: the data is not what the benchmark expects"
done
log "verified $nver samples: identical"

# ---------------------------------------------------------------------
# 3b. timing
# ---------------------------------------------------------------------
# pgbench <script> <seconds> [PGOPTIONS]; prints "tps latency_ms"
bench() {
  PGOPTIONS="${3:-}" qs_pgbench "$1" -M prepared -c 1 -j 1 -T "$2" -n \
    --random-seed="$SEED" -D nprod="$NPROD" -f "bench/$1.sql" "$DB"
}

PAIRS=(point list rows)
declare -A LABEL=(
  [point]="(a) point lookup by pk, qs.json"
  [list]="(b) filtered list, qs.json"
  [rows]="(c) filtered list, qs.rows"
)
declare -A TPS LAT SPREAD

ROUNDS="${QS_BENCH_ROUNDS:-5}"
case "$ROUNDS" in ''|*[!0-9]*|0) die "QS_BENCH_ROUNDS must be a positive integer";; esac
PER=$(( SECONDS_RUN / ROUNDS )); [ "$PER" -ge 1 ] || PER=1
NOCACHE_OPT="-c pg_queryset.plan_cache_size=0"

# variant -> PGOPTIONS
declare -A OPTS=([qs]="" [hand]="" [nc]="$NOCACHE_OPT")
SIDES=(qs hand)
if [ "${QS_BENCH_NOCACHE:-0}" = 1 ]; then SIDES+=(nc); fi

log "timing: ${#PAIRS[@]} scenarios x ${#SIDES[@]} variants, ${WARMUP}s warm-up + $ROUNDS interleaved rounds of ${PER}s each"
for pair in "${PAIRS[@]}"; do
  for side in "${SIDES[@]}"; do
    script="${pair}_${side/nc/qs}"
    : > "$TMP/$pair.$side"
    if [ "$WARMUP" -gt 0 ]; then bench "$script" "$WARMUP" "${OPTS[$side]}" >/dev/null; fi
  done
  for ((round = 1; round <= ROUNDS; round++)); do
    for side in "${SIDES[@]}"; do
      script="${pair}_${side/nc/qs}"
      bench "$script" "$PER" "${OPTS[$side]}" >> "$TMP/$pair.$side"
    done
  done
  for side in "${SIDES[@]}"; do
    # mean TPS and mean latency over the rounds (equal durations)
    read -r "TPS[$pair.$side]" "LAT[$pair.$side]" < <(awk '{ t += $1; l += $2; n++ } END { printf "%.1f %.4f\n", t / n, l / n }' "$TMP/$pair.$side")
  done
  # qs/hand ratio of each round: the spread shows the machine's noise
  SPREAD[$pair]="$(paste -d' ' "$TMP/$pair.qs" "$TMP/$pair.hand" | awk '{ r = $1 / $3; if (NR == 1 || r < lo) lo = r; if (NR == 1 || r > hi) hi = r } END { printf "%.2f-%.2f", lo, hi }')"
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
  for st in "${BSTEPS[@]}"; do
    : > "$TMP/b.$st"
    o=""; sc="$st"; if [ "$st" = point_nc ]; then o="$NOCACHE_OPT"; sc=point_qs; fi
    if [ "$WARMUP" -gt 0 ]; then bench "$sc" "$WARMUP" "$o" >/dev/null; fi
  done
  for ((round = 1; round <= ROUNDS; round++)); do
    for st in "${BSTEPS[@]}"; do
      o=""; sc="$st"; if [ "$st" = point_nc ]; then o="$NOCACHE_OPT"; sc=point_qs; fi
      bench "$sc" "$PER" "$o" >> "$TMP/b.$st"
    done
  done
  BREAKDOWN="$(
    printf '%-44s %10s  %s\n' "step (point lookup)" "median us" "delta"
    prev=""
    for st in "${BSTEPS[@]}"; do
      med="$(awk '{ print $2 * 1000 }' "$TMP/b.$st" | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
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
CACHE_STATS="$(psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$TMP/cache.sql")"

SETTINGS="$(env | grep -E '^QS_(PGPORT|BENCH_[A-Z]+)=' | grep -v '^QS_BENCH_OUT=' | sort | tr '\n' ' ' || true)"
PGVERSION="$("${PSQL[@]}" -At -c "SELECT version()")"
fails=0
{
  echo "pg_queryset read-path benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo "machine:    $(nproc) CPUs, $(uname -srm)"
  echo "cpu:        $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  echo "postgresql: $PGVERSION"
  echo "data:       scale $SCALE ($NPROD products)"
  echo "pgbench:    -M prepared -c 1 -j 1 -n --random-seed=$SEED; per script a ${WARMUP}s warm-up, then $ROUNDS rounds of -T $PER"
  echo "            interleaved qs/hand/qs/hand... (TPS and latency: mean over rounds; ratio = qs TPS / hand TPS)"
  echo "settings:   ${SETTINGS:-defaults}"
  echo "verified:   $nver sample parameter sets, qs output == hand-written output (exact text)"
  echo
  printf '%-34s %9s %9s %6s %10s %10s %11s  %s\n' scenario "qs TPS" "hand TPS" ratio "qs ms" "hand ms" "round range" "target"
  for pair in "${PAIRS[@]}"; do
    q="$pair.qs"; h="$pair.hand"
    ratio="$(awk -v a="${TPS[$q]}" -v b="${TPS[$h]}" 'BEGIN { printf "%.2f", a / b }')"
    if awk -v r="$ratio" -v t="$TARGET" 'BEGIN { exit !(r >= t) }'; then ok="ok (>= $TARGET)"; else ok="BELOW $TARGET"; fails=$((fails + 1)); fi
    printf '%-34s %9.0f %9.0f %6s %10.3f %10.3f %11s  %s\n' "${LABEL[$pair]}" "${TPS[$q]}" "${TPS[$h]}" "$ratio" "${LAT[$q]}" "${LAT[$h]}" "${SPREAD[$pair]}" "$ok"
  done
  if [ "${QS_BENCH_NOCACHE:-0}" = 1 ]; then
    echo
    echo "with SET pg_queryset.plan_cache_size = 0 (every call parses and plans):"
    for pair in "${PAIRS[@]}"; do
      q="$pair.nc"; h="$pair.hand"
      ratio="$(awk -v a="${TPS[$q]}" -v b="${TPS[$h]}" 'BEGIN { printf "%.2f", a / b }')"
      printf '%-34s %9.0f %9.0f %6s %10.3f %10.3f\n' "${LABEL[$pair]}" "${TPS[$q]}" "${TPS[$h]}" "$ratio" "${LAT[$q]}" "${LAT[$h]}"
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

mkdir -p "$(dirname "$OUT")"
cp "$TMP/report.txt" "$OUT"
cat "$OUT"
log "report written to ${OUT#$ROOT/}"

if [ "$fails" -gt 0 ] && [ "${QS_BENCH_STRICT:-0}" = 1 ]; then
  die "$fails scenario(s) below the $TARGET target"
fi
