#!/usr/bin/env bash
# pg_queryset plan-choice benchmark: the four dashboard queries through
# qs.json with pg_queryset.plan_choice = auto (the per-statement rule of
# src/plancache.c) and = postgres (PostgreSQL's plan_cache_mode alone),
# against the hand-written SQL (whose constants are literals), side by
# side with pgbench -M prepared.  See bench/README.md, "Custom or generic
# plans" and docs/performance.md.
#
#   bash bench/plans.sh
#
# Settings (environment):
#   QS_PGPORT         port of the throw-away cluster         (default 54450)
#   QS_BENCH_SCALE    demo data scale                        (default 20)
#   QS_BENCH_SECONDS  measured seconds per script            (default 15)
#   QS_BENCH_ROUNDS   interleaved rounds                     (default 5)
#   QS_BENCH_WARMUP   pgbench -T per warm-up run             (default 2)
#   QS_BENCH_SEED     pgbench --random-seed                  (default 20240101)
#   QS_BENCH_BUILD=1  run `make -s && make -s install` first (also done
#                     automatically when pg_queryset.so is not installed)
#   QS_BENCH_KEEP=1   leave the cluster running at exit
#   QS_BENCH_STRICT=1 exit 1 when a ratio qs(auto) / hand is below 0.95
#   QS_BENCH_OUT      where the report is written
#                     (default bench/results/dashboard_plans.txt)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

pgbench_settings 54450 20 15 5 2
setting_flags QS_BENCH_BUILD QS_BENCH_KEEP QS_BENCH_STRICT
OUT="$(caller_path "${QS_BENCH_OUT:-$ROOT/bench/results/dashboard_plans.txt}")"
TARGET=0.95
DB=qs_bench

pgbench_cluster qs_plans
demo_db "$SCALE"

# ---------------------------------------------------------------------
# correctness: the statements pgbench times return the same text
# ---------------------------------------------------------------------
window() {  # day offset -> "d1='...' d2='...'"
  echo "d1='$(date -u -d "2024-01-01 + $1 days" '+%Y-%m-%dT00:00:00+00')'" \
       "d2='$(date -u -d "2024-01-01 + $(( $1 + 180 )) days" '+%Y-%m-%dT00:00:00+00')'"
}
log "verifying that qs and hand-written outputs are identical"
for off in 0 137 365 550 -600; do
  for pair in dash_revenue dash_monthly dash_top; do
    # shellcheck disable=SC2046
    verify "$pair" hand $(window "$off")
  done
done
for n in 0 3 10 -1; do
  verify dash_lowstock hand n="$n"
done
require_hits dash_revenue dash_monthly dash_top dash_lowstock
log "verified $NVER samples: identical"

# ---------------------------------------------------------------------
# what the rule decides: each qs script run as pgbench runs it (varied
# values, one session), then qs.plan_choices()
# ---------------------------------------------------------------------
DASH=(dash_revenue dash_monthly dash_top dash_lowstock)
declare -A LABEL=(
  [dash_revenue]="(1) revenue by category"
  [dash_monthly]="(2) monthly trend"
  [dash_top]="(3) top products"
  [dash_lowstock]="(4) low stock"
)
{
  echo "\\o /dev/null"
  echo "SELECT qs.plan_cache_reset();"
  for pair in "${DASH[@]}"; do
    for k in 0 1 2 3 4 5 6 7 8; do
      if [ "$pair" = dash_lowstock ]; then
        echo "\\set n $k"
      else
        # shellcheck disable=SC2046
        # \set strips one level of quotes; the value keeps its own ('' inside '...')
        for kv in $(window $(( k * 60 ))); do
          val="${kv#*=}"
          echo "\\set ${kv%%=*} '${val//\'/\'\'}'"
        done
      fi
      script_sql "${pair}_qs"
    done
  done
  echo "\\o"
  echo "\\pset footer off"
  echo "SELECT CASE WHEN sql LIKE '%shop_order t0%' AND sql LIKE '%date_trunc%' THEN '(2) monthly trend'"
  echo "            WHEN sql LIKE '%category%name%' AND sql LIKE '%shop_orderitem%' THEN '(1) revenue by category'"
  echo "            WHEN sql LIKE '%shop_orderitem%' THEN '(3) top products'"
  echo "            ELSE '(4) low stock' END AS statement,"
  echo "       custom_plans, round(custom_cost::numeric, 1) AS custom_cost,"
  echo "       round(generic_cost::numeric, 1) AS generic_cost, round(planning_cost::numeric, 1) AS planning_cost, choice"
  echo "FROM qs.plan_choices() ORDER BY 1;"
} > "$TMP/choices.sql"
CHOICES="$("${PSQL[@]}" -f "$TMP/choices.sql")" || die "qs.plan_choices() failed"

# ---------------------------------------------------------------------
# timing: qs (plan_choice = auto), qs (plan_choice = postgres), hand
# ---------------------------------------------------------------------
bench() {  # script seconds [PGOPTIONS]
  PGOPTIONS="${3:-}" pgbench_run "$1" -M prepared -c 1 -j 1 -T "$2" -n \
    --random-seed="$SEED" -f "bench/$1.sql" "$DB"
  echo "$PGB_TPS $PGB_LAT"
}
timed() {  # variant seconds
  case "$1" in
    *_pg) bench "${1%_pg}_qs" "$2" "-c pg_queryset.plan_choice=postgres";;
    *) bench "$1" "$2";;
  esac
}
declare -A TPS LAT
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
log "timing: ${#DASH[@]} queries x 3 variants, ${WARMUP}s warm-up + $ROUNDS interleaved rounds of ${PER}s"
for pair in "${DASH[@]}"; do
  interleave timed "$TMP/r." "$WARMUP" "$ROUNDS" "$PER" "${pair}_qs" "${pair}_pg" "${pair}_hand"
  for v in qs pg hand; do
    round_means "$TMP/r.${pair}_$v"
    TPS[$pair.$v]="$MEAN_TPS"; LAT[$pair.$v]="$MEAN_LAT"
  done
  log "  $pair: auto ${TPS[$pair.qs]}, postgres ${TPS[$pair.pg]}, hand ${TPS[$pair.hand]} tps"
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------
# report
# ---------------------------------------------------------------------
fails=0
{
  echo "pg_queryset plan-choice benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  report_host
  echo "data:       scale $SCALE"
  echo "pgbench:    -M prepared -c 1 -j 1 -n --random-seed=$SEED; per script a ${WARMUP}s warm-up, then $ROUNDS rounds of -T $PER,"
  echo "            interleaved auto/postgres/hand; plan_cache_mode = auto (the default) everywhere"
  echo "variants:   auto     = qs.json, pg_queryset.plan_choice = auto (default): the per-statement rule"
  echo "            postgres = qs.json, pg_queryset.plan_choice = postgres: PostgreSQL's choice alone (before 0.2.0)"
  echo "            hand     = the hand-written SQL of bench/dashboard.sh (constants such as 'active' are literals)"
  echo "settings:   $(settings_line)"
  echo "load avg:   $LOAD_BEFORE before the timing, $LOAD_AFTER after (1, 5, 15 min)"
  echo "verified:   $NVER sample parameter sets, qs output == hand-written output (exact text)"
  echo
  echo "the rule's decisions after 9 calls of each query with varied values (qs.plan_choices()):"
  echo "$CHOICES"
  echo
  printf '%-26s %9s %9s %9s %11s %11s %9s %9s %9s  %s\n' query "auto TPS" "pg TPS" "hand TPS" "auto/hand" "pg/hand" "auto ms" "pg ms" "hand ms" target
  for pair in "${DASH[@]}"; do
    ra="$(ratio "${TPS[$pair.qs]}" "${TPS[$pair.hand]}")"
    rp="$(ratio "${TPS[$pair.pg]}" "${TPS[$pair.hand]}")"
    if meets "$ra" ">=" "$TARGET"; then ok="ok (>= $TARGET)"; else ok="BELOW $TARGET"; fails=$((fails + 1)); fi
    printf '%-26s %9.1f %9.1f %9.1f %11s %11s %9.2f %9.2f %9.2f  %s\n' "${LABEL[$pair]}" \
      "${TPS[$pair.qs]}" "${TPS[$pair.pg]}" "${TPS[$pair.hand]}" "$ra" "$rp" \
      "${LAT[$pair.qs]}" "${LAT[$pair.pg]}" "${LAT[$pair.hand]}" "$ok"
  done
  echo
  echo "TPS of each round (auto / postgres / hand):"
  for pair in "${DASH[@]}"; do
    echo "  ${LABEL[$pair]}: auto $(cut -d' ' -f1 "$TMP/r.${pair}_qs" | tr '\n' ' ')/ postgres $(cut -d' ' -f1 "$TMP/r.${pair}_pg" | tr '\n' ' ')/ hand $(cut -d' ' -f1 "$TMP/r.${pair}_hand" | tr '\n' ' ')"
  done
} > "$TMP/report.txt"
publish_report "$TMP/report.txt"

strict_exit "$fails" "$fails queries below the $TARGET target"
