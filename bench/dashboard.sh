#!/usr/bin/env bash
# pg_queryset dashboard benchmark: the four queries of the analytics
# dashboard through qs.json versus the SQL an expert would write by hand
# (byte-identical results, the same plans, throughput), and a queryset with
# two to-many aggregates versus the SQL Django generates for it.
# See bench/README.md, "Dashboard and aggregates".
#
#   bash bench/dashboard.sh
#
# Settings (environment):
#   QS_PGPORT         port of the throw-away cluster         (default 54430)
#   QS_BENCH_SCALE    demo data scale, 1..1000 (1 = 1000 products,
#                     2000 orders)                          (default 20)
#   QS_BENCH_SECONDS  measured seconds per script           (default 15)
#   QS_BENCH_ROUNDS   the measured seconds are split into this many
#                     interleaved rounds                    (default 5)
#   QS_BENCH_WARMUP   pgbench -T per warm-up run            (default 2)
#   QS_BENCH_SEED     pgbench --random-seed: every run draws the same
#                     parameter sequence                    (default 20240101)
#   QS_BENCH_PLAN_CACHE_MODE  plan_cache_mode for the timed sessions and
#                     the executed-plan check: auto, force_custom_plan or
#                     force_generic_plan                    (default auto)
#   QS_BENCH_BUILD=1  run `make -s && make -s install` first (also done
#                     automatically when pg_queryset.so is not installed)
#   QS_BENCH_KEEP=1   leave the cluster running at exit
#   QS_BENCH_STRICT=1 exit 1 when a dashboard ratio is below the 0.95 target
#                     or a dashboard plan differs from the hand-written one
#   QS_BENCH_OUT      where the report is written
#                     (default bench/results/dashboard.txt)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

pgbench_settings 54430 20 15 5 2
setting_flags QS_BENCH_BUILD QS_BENCH_KEEP QS_BENCH_STRICT
OUT="$(caller_path "${QS_BENCH_OUT:-$ROOT/bench/results/dashboard.txt}")"
PLAN_MODE="${QS_BENCH_PLAN_CACHE_MODE:-auto}"
case "$PLAN_MODE" in auto|force_custom_plan|force_generic_plan) ;; *) bad "QS_BENCH_PLAN_CACHE_MODE must be auto, force_custom_plan or force_generic_plan";; esac
PLAN_OPTS="-c plan_cache_mode=$PLAN_MODE"
TARGET=0.95
DB=qs_bench

# ---------------------------------------------------------------------
# 0, 1. dependencies, the extension, a throw-away cluster
# ---------------------------------------------------------------------
pgbench_cluster qs_dashboard

# ---------------------------------------------------------------------
# 2. data
# ---------------------------------------------------------------------
demo_db "$SCALE"

NCAT="$(sql_value "SELECT max(id) FROM catalog_category")"
[ "${NCAT:-0}" -ge 24 ] || die "expected at least 24 categories, found ${NCAT:-none}"
NPROD="$(sql_value "SELECT count(*) FROM catalog_product")"
COUNTS="$("${PSQL[@]}" -At -F' ' -c "SELECT (SELECT count(*) FROM shop_order), (SELECT count(*) FROM shop_orderitem)")"
read -r NORD NITEM <<< "$COUNTS"
DATES="$(sql_value "SET TimeZone = 'UTC'; SELECT to_char(min(created_at), 'YYYY-MM-DD') || ' .. ' || to_char(max(created_at), 'YYYY-MM-DD') FROM shop_order")"
# The date windows are 2024-01-01 + [0, 550] days, 180 days long, so they
# end by 2025-12-31: the orders must cover that span.
SPAN_OK="$(sql_value "SELECT min(created_at) < '2024-01-15+00' AND max(created_at) > '2025-12-15+00' FROM shop_order")"
[ "$SPAN_OK" = t ] || die "orders span $DATES; the benchmark's date windows need 2024-01-01 .. 2025-12-31"

# ---------------------------------------------------------------------
# 3a. correctness: the statements pgbench will time, run once through
# psql with sample values, must return exactly the same text
# ---------------------------------------------------------------------
# pgbench computes d1 and d2 from the day offset (the \gset line of
# dash_*.sql); so do we, as quoted literals for psql
window() {  # day offset -> "d1='...' d2='...'"
  echo "d1='$(date -u -d "2024-01-01 + $1 days" '+%Y-%m-%dT00:00:00+00')'" \
       "d2='$(date -u -d "2024-01-01 + $(( $1 + 180 )) days" '+%Y-%m-%dT00:00:00+00')'"
}

log "verifying that qs and hand-written outputs are identical"
# day offsets: the first and the last window, two in between, and one in
# 2022-2023 that matches no order
for off in 0 137 365 550 -600; do
  for pair in dash_revenue dash_monthly dash_top; do
    # shellcheck disable=SC2046
    verify "$pair" hand $(window "$off")
  done
done
for n in 0 3 10 -1; do          # -1 matches no product
  verify dash_lowstock hand n="$n"
done
for c in 1 2 7 17 24 $((NCAT + 1)); do   # the last one matches no product
  verify tomany django cat="$c"
done
require_hits dash_revenue dash_monthly dash_top dash_lowstock tomany
log "verified $NVER samples: identical"

# (5) over the whole product table: qs, Django with and without distinct,
# each compared per product with counts taken independently (one GROUP BY
# per relation).
SPEC_ALL='{"model": "catalog_product", "only": ["id", "name"], "annotate": [{"n_reviews": {"Count": "catalog_review"}}, {"n_tags": {"Count": "catalog_tag"}}], "order_by": ["id"]}'
WHOLE="$("${PSQL[@]}" -At -F' ' -v spec="$SPEC_ALL" <<'SQL'
WITH truth AS (
    SELECT p.id, coalesce(r.n, 0) AS nr, coalesce(t.n, 0) AS nt
    FROM catalog_product p
    LEFT JOIN (SELECT product_id, count(*) AS n FROM catalog_review GROUP BY product_id) r ON r.product_id = p.id
    LEFT JOIN (SELECT product_id, count(*) AS n FROM catalog_product_tags GROUP BY product_id) t ON t.product_id = p.id
), qs AS (
    SELECT (e->>'id')::bigint AS id, (e->>'n_reviews')::bigint AS nr, (e->>'n_tags')::bigint AS nt
    FROM jsonb_array_elements(qs.json(:'spec'::jsonb)::jsonb) e
), dj AS (
    SELECT p.id, count(DISTINCT r.id) AS nr, count(DISTINCT t.tag_id) AS nt
    FROM catalog_product p LEFT JOIN catalog_review r ON r.product_id = p.id
    LEFT JOIN catalog_product_tags t ON t.product_id = p.id GROUP BY p.id
), nd AS (
    SELECT p.id, p.category_id, count(r.id) AS nr, count(t.tag_id) AS nt
    FROM catalog_product p LEFT JOIN catalog_review r ON r.product_id = p.id
    LEFT JOIN catalog_product_tags t ON t.product_id = p.id GROUP BY p.id
)
SELECT count(*),
       count(*) FILTER (WHERE (qs.nr, qs.nt) IS DISTINCT FROM (x.nr, x.nt)),
       count(*) FILTER (WHERE (dj.nr, dj.nt) IS DISTINCT FROM (x.nr, x.nt)),
       count(*) FILTER (WHERE (nd.nr, nd.nt) IS DISTINCT FROM (x.nr, x.nt)),
       count(*) FILTER (WHERE nd.nr <> x.nr),
       count(*) FILTER (WHERE nd.nt <> x.nt),
       coalesce(max(nd.nr - x.nr), 0),
       count(DISTINCT nd.category_id) FILTER (WHERE (nd.nr, nd.nt) <> (x.nr, x.nt))
FROM truth x
LEFT JOIN qs ON qs.id = x.id
LEFT JOIN dj ON dj.id = x.id
LEFT JOIN nd ON nd.id = x.id
SQL
)"
read -r W_N W_QS_BAD W_DJ_BAD W_ND_BAD W_ND_REV W_ND_TAG W_ND_MAX W_ND_CATS <<< "$WHOLE"
[ -n "$W_ND_CATS" ] || die "(5) cannot parse the whole-table check: $WHOLE"
[ "$W_QS_BAD" = 0 ] || die "(5) qs.json returns wrong counts for $W_QS_BAD of $W_N products (spec $SPEC_ALL)"
[ "$W_DJ_BAD" = 0 ] || die "(5) Django's distinct SQL returns wrong counts for $W_DJ_BAD products (the benchmark is wrong)"
# the timed samples: how often the no-distinct SQL differs from qs
nd_diff=0; nd_rows=0
for c in 1 2 7 17 24; do
  run_sample tomany_qs cat="$c" > "$TMP/qs.out"
  run_sample tomany_nodistinct cat="$c" > "$TMP/nd.out"
  nd_rows=$((nd_rows + 1))
  cmp -s "$TMP/qs.out" "$TMP/nd.out" || nd_diff=$((nd_diff + 1))
done
log "(5) whole table: qs wrong for $W_QS_BAD, Django distinct wrong for $W_DJ_BAD, Django without distinct wrong for $W_ND_BAD of $W_N products"

# ---------------------------------------------------------------------
# 3b. plans: qs.explain(spec) next to EXPLAIN of the hand-written SQL,
# both with the same literal values (custom plans)
# ---------------------------------------------------------------------
# A plan (EXPLAIN FORMAT JSON) as an indented tree, one node a line:
# node type, strategy or join type, relation, index, subplan name.
plan_tree() {  # plan json (the whole EXPLAIN output), strip json_agg: 0|1
  "${PSQL[@]}" -At -v plan="$1" -v strip="$2" <<'SQL'
WITH RECURSIVE root AS (
    SELECT CASE WHEN :strip = 1 THEN p->'Plans'->0 ELSE p END AS node
    FROM (SELECT (:'plan'::jsonb)->0->'Plan' AS p) s
), n(path, depth, node) AS (
    SELECT ARRAY[0], 0, node FROM root
    UNION ALL
    SELECT n.path || c.ord::int, n.depth + 1, c.node
    FROM n, jsonb_array_elements(n.node->'Plans') WITH ORDINALITY AS c(node, ord)
)
SELECT repeat('  ', depth)
       || coalesce((node->>'Subplan Name') || ': ', '')
       || (node->>'Node Type')
       || coalesce(' (' || coalesce(node->>'Strategy', node->>'Join Type') || ')', '')
       || coalesce(' using ' || (node->>'Index Name'), '')
       || coalesce(' on ' || (node->>'Relation Name'), '')
FROM n ORDER BY path
SQL
}

# the top node of a hand-written statement: json_agg's plain Aggregate,
# which qs.json adds as well but qs.explain (the qs.rows statement) leaves out
hand_top() {
  # (psql interpolates :'plan' in a script, not in -c)
  echo "SELECT (p->>'Node Type') || '/' || coalesce(p->>'Strategy', '') || '/' || jsonb_array_length(coalesce(p->'Plans', '[]')) FROM (SELECT (:'plan'::jsonb)->0->'Plan' AS p) s" \
    | psql_vars plan="$1"
}

node_types() {  # plan json, path to the root node
  echo "SELECT jsonb_path_query_array((:'plan'::jsonb)$2, 'strict \$.**.\"Node Type\"')" \
    | psql_vars plan="$1"
}

explain_qs() {  # script, name=value pairs: qs.explain of the script's spec
  script_sql "$1" | sed 's/^SELECT qs\.json(/SELECT qs.explain(/' | psql_vars "${@:2}"
}
explain_sql() {  # script, name=value pairs: EXPLAIN (FORMAT JSON) of its SQL
  script_sql "$1" | sed 's/^/EXPLAIN (FORMAT JSON) /' | psql_vars "${@:2}"
}

# The plan a prepared statement actually runs once PostgreSQL's plan cache
# has decided between custom and generic plans: PREPARE the pgbench
# statement as pgbench -M prepared does (:name -> $n, types inferred),
# EXECUTE it 6 times with varied values, and catch the plan of the 7th
# execution with auto_explain (log_nested_statements, so for qs.json this
# is the plan of the statement qs.json runs inside, not of the outer call).
prepared_sql() {  # script: its SQL with :name replaced by $1, $2, ...
  script_sql "$1" | perl -pe 's/(?<!:):([a-z_][a-z0-9_]*)/"\$" . ($h{$1} ||= ++$k)/ge; s/;\s*$//'
}
exec_args() {  # script, then name=value pairs: "v1, v2" in $n order
  local script="$1"; shift
  local name kv val out=""
  for name in $(script_sql "$script" | perl -ne 'while (/(?<!:):([a-z_][a-z0-9_]*)/g) { print "$1\n" unless $s{$1}++ }'); do
    val=""
    for kv in "$@"; do [ "${kv%%=*}" = "$name" ] && val="${kv#*=}"; done
    [ -n "$val" ] || die "exec_args: no value for :$name of $script"
    out="${out:+$out, }$val"
  done
  echo "$out"
}
executed_plan() {  # script, then sample sets (each "name=value name=value"); the last is observed
  local script="$1"; shift
  local f="$TMP/exec.sql" set i
  {
    echo "LOAD 'auto_explain';"
    echo "SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on;"
    echo "SET auto_explain.log_level = notice; SET auto_explain.log_format = json;"
    echo "PREPARE p AS $(prepared_sql "$script");"
    echo '\o /dev/null'
    i=0
    for set in "$@"; do
      i=$((i + 1))
      [ "$i" -lt "$#" ] || echo '\warn ===OBSERVED==='
      # shellcheck disable=SC2086
      echo "EXECUTE p($(exec_args "$script" $set));"
    done
  } > "$f"
  PGOPTIONS="$PLAN_OPTS" "${PSQL[@]}" -f "$f" 2> "$TMP/exec.err" >/dev/null \
    || { cat "$TMP/exec.err" >&2; die "executed_plan: $script failed"; }
  # the first plan after the mark whose statement is the json_agg one
  awk '
    function flush() { if (inb && blk ~ /"Query Text": "(PREPARE p AS )?SELECT coalesce\(/) { print "[" blk "]"; found = 1; exit } inb = 0 }
    /===OBSERVED===/ { m = 1; next }
    !m { next }
    /NOTICE:  duration: .* plan:$/ { flush(); inb = 1; blk = ""; next }
    /^psql:/ { flush(); next }
    inb { blk = blk $0 "\n" }
    END { if (!found) flush() }
  ' "$TMP/exec.err"
}
plan_kind() {  # plan json: generic plans keep $n in their conditions
  if echo "$1" | grep -v '"Query Text"' | grep -q '\$[0-9]'; then echo generic; else echo custom; fi
}

DASH=(dash_revenue dash_monthly dash_top dash_lowstock)
declare -A LABEL=(
  [dash_revenue]="(1) revenue by category"
  [dash_monthly]="(2) monthly trend"
  [dash_top]="(3) top products"
  [dash_lowstock]="(4) low stock"
  [tomany]="(5) two to-many counts"
)
declare -A PLAN_SAMPLE=(
  [dash_revenue]="$(window 137)" [dash_monthly]="$(window 137)"
  [dash_top]="$(window 137)" [dash_lowstock]="n=5"
)
# values for the 6 + 1 executions of executed_plan
# shellcheck disable=SC2034  # used through EXEC_RUNS (declare -n)
DATE_RUNS=("$(window 0)" "$(window 137)" "$(window 365)" "$(window 550)" "$(window 90)" "$(window 270)" "$(window 200)")
# shellcheck disable=SC2034
STOCK_RUNS=("n=0" "n=3" "n=10" "n=5" "n=7" "n=2" "n=4")
declare -A EXEC_RUNS=(
  [dash_revenue]=DATE_RUNS [dash_monthly]=DATE_RUNS [dash_top]=DATE_RUNS [dash_lowstock]=STOCK_RUNS
)

# two trees: side by side when they are identical, else one after the other
side_by_side() {  # file, file, left title, right title
  local w
  if ! cmp -s "$1" "$2"; then
    echo "  $3:"; sed 's/^/    /' "$1"
    echo "  $4:"; sed 's/^/    /' "$2"
    return
  fi
  w="$(awk '{ if (length($0) > w) w = length($0) } END { print w + 4 }' "$1")"
  [ "$w" -ge 34 ] || w=34
  printf "  %-${w}s%s\n" "$3" "$4"
  paste -d'\t' "$1" "$2" | awk -F'\t' -v w="$w" '{ printf "  %-" w "s%s\n", $1, $2 }'
}

declare -A PLAN_SAME EXEC_SAME EXEC_KIND
plan_fail=0
log "comparing plans (custom plans with literal values, and the plans run at the 7th prepared execution)"
: > "$TMP/plans.txt"
: > "$TMP/exec_plans.txt"
for pair in "${DASH[@]}"; do
  # --- custom plans: qs.explain vs EXPLAIN with the same values
  # shellcheck disable=SC2086
  qp="$(explain_qs "${pair}_qs" ${PLAN_SAMPLE[$pair]})"
  # shellcheck disable=SC2086
  hp="$(explain_sql "${pair}_hand" ${PLAN_SAMPLE[$pair]})"
  [ "$(hand_top "$hp")" = "Aggregate/Plain/1" ] || die "$pair: the hand-written plan does not start with json_agg's Aggregate"
  plan_tree "$qp" 0 > "$TMP/plan.qs"
  plan_tree "$hp" 1 > "$TMP/plan.hand"
  # the node types alone, in order (as jsonb_path_query(plan, 'strict $.**."Node Type"'))
  nq="$(node_types "$qp" "->0->'Plan'")"
  nh="$(node_types "$hp" "->0->'Plan'->'Plans'->0")"
  if cmp -s "$TMP/plan.qs" "$TMP/plan.hand"; then
    PLAN_SAME[$pair]="identical"
  elif [ "$nq" = "$nh" ]; then
    PLAN_SAME[$pair]="same node types, other details differ"; plan_fail=$((plan_fail + 1))
  else
    PLAN_SAME[$pair]="DIFFERENT"; plan_fail=$((plan_fail + 1))
  fi
  {
    echo "${LABEL[$pair]} (${PLAN_SAMPLE[$pair]}): ${PLAN_SAME[$pair]}"
    echo "  node types, qs:   $nq"
    echo "  node types, hand: $nh"
    side_by_side "$TMP/plan.qs" "$TMP/plan.hand" "qs.explain(spec)" "hand-written (under json_agg's Aggregate)"
    echo
  } >> "$TMP/plans.txt"

  # --- the plans the timed loop runs
  declare -n runs="${EXEC_RUNS[$pair]}"
  eq="$(executed_plan "${pair}_qs" "${runs[@]}")"
  eh="$(executed_plan "${pair}_hand" "${runs[@]}")"
  if [ -z "$eq" ] || [ -z "$eh" ]; then die "$pair: auto_explain did not report the executed plan"; fi
  unset -n runs
  EXEC_KIND[$pair]="qs $(plan_kind "$eq"), hand $(plan_kind "$eh")"
  plan_tree "$eq" 1 > "$TMP/exec.qs"
  plan_tree "$eh" 1 > "$TMP/exec.hand"
  if cmp -s "$TMP/exec.qs" "$TMP/exec.hand"; then
    EXEC_SAME[$pair]="identical"
  else
    EXEC_SAME[$pair]="DIFFERENT"; plan_fail=$((plan_fail + 1))
  fi
  {
    echo "${LABEL[$pair]}: ${EXEC_SAME[$pair]} (${EXEC_KIND[$pair]})"
    side_by_side "$TMP/exec.qs" "$TMP/exec.hand" "qs.json's statement" "hand-written"
    echo
  } >> "$TMP/exec_plans.txt"
done
# (5): the three plans, for reference (they differ by design)
{
  echo "${LABEL[tomany]} (cat=17), for reference:"
  for side in qs django nodistinct; do
    if [ "$side" = qs ]; then p="$(explain_qs tomany_qs cat=17)"; s=0; else p="$(explain_sql "tomany_$side" cat=17)"; s=1; fi
    echo "  $side:"
    plan_tree "$p" "$s" | sed 's/^/    /'
  done
} >> "$TMP/plans.txt"
log "plans (custom): $(for p in "${DASH[@]}"; do printf '%s=%s ' "${p#dash_}" "${PLAN_SAME[$p]// /_}"; done)"
log "plans (executed): $(for p in "${DASH[@]}"; do printf '%s=%s ' "${p#dash_}" "${EXEC_SAME[$p]}"; done)"

# ---------------------------------------------------------------------
# 3c. timing
# ---------------------------------------------------------------------
# pgbench <script> <seconds> [round]; prints "tps latency_ms".  In a
# round, also writes "transaction-number latency-us" for every transaction
# to $TMP/lat.<script>.<round> (pgbench -l).
bench() {
  local script="$1" secs="$2" round="${3:-}" logopt=()
  if [ -n "$round" ]; then rm -f "$TMP"/txlog.*; logopt=(-l --log-prefix="$TMP/txlog"); fi
  PGOPTIONS="$PLAN_OPTS" pgbench_run "$script" -M prepared -c 1 -j 1 -T "$secs" -n --random-seed="$SEED" \
    "${logopt[@]}" -f "bench/$script.sql" "$DB"
  if [ -n "$round" ]; then
    # pgbench -l: client transaction-number latency-us script epoch us
    awk '{ print $2, $3 }' "$TMP"/txlog.* > "$TMP/lat.$script.$round"
  fi
  echo "$PGB_TPS $PGB_LAT"
}

declare -A SIDES=(
  [dash_revenue]="qs hand" [dash_monthly]="qs hand" [dash_top]="qs hand"
  [dash_lowstock]="qs hand" [tomany]="qs django nodistinct"
)
PAIRS=("${DASH[@]}" tomany)
declare -A TPS LAT SPREAD MEDIAN PAIRED NPAIRED
: > "$TMP/rounds.txt"
nscripts=0; for pair in "${PAIRS[@]}"; do for side in ${SIDES[$pair]}; do nscripts=$((nscripts + 1)); done; done
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
log "timing: $nscripts scripts, ${WARMUP}s warm-up + $ROUNDS interleaved rounds of ${PER}s each (about $(( nscripts * (WARMUP + ROUNDS * PER) / 60 + 1 )) min)"
for pair in "${PAIRS[@]}"; do
  read -r -a sides <<< "${SIDES[$pair]}"
  interleave bench "$TMP/r." "$WARMUP" "$ROUNDS" "$PER" "${sides[@]/#/${pair}_}"
  for side in "${sides[@]}"; do
    round_means "$TMP/r.${pair}_$side"
    TPS[$pair.$side]="$MEAN_TPS"; LAT[$pair.$side]="$MEAN_LAT"
  done
  # qs / (hand or django) ratio of each round: the spread shows the noise
  qf="$TMP/r.${pair}_qs"; of="$TMP/r.${pair}_${sides[1]}"
  SPREAD[$pair]="$(round_range "$qf" "$of")"
  # paired: every round of every side draws the same parameter sequence
  # (same --random-seed), so transaction k of round r ran the same values on
  # both sides; the median over all such pairs of other latency / qs latency
  # is a second estimate of the ratio, insensitive to parameter mix and to
  # outliers
  for ((round = 1; round <= ROUNDS; round++)); do
    awk 'NR == FNR { q[$1] = $2; next } ($1 in q) && q[$1] > 0 { print $2 / q[$1] }' \
      "$TMP/lat.${pair}_qs.$round" "$TMP/lat.${pair}_${sides[1]}.$round"
  done > "$TMP/paired.$pair"
  PAIRED[$pair]="$(median %.2f < "$TMP/paired.$pair")"
  NPAIRED[$pair]="$(wc -l < "$TMP/paired.$pair")"
  MEDIAN[$pair]="$(paste -d' ' "$qf" "$of" | awk '{ print $1 / $3 }' | median %.2f)"
  # TPS of every round, for the report
  {
    printf '%-26s' "${LABEL[$pair]}"
    for side in "${sides[@]}"; do printf ' %s:' "$side"; awk '{ printf " %.1f", $1 }' "$TMP/r.${pair}_$side"; done
    echo
  } >> "$TMP/rounds.txt"
  log "  $pair: $(for side in "${sides[@]}"; do printf '%s %s tps, ' "$side" "${TPS[$pair.$side]}"; done)per-round ratio ${SPREAD[$pair]}"
done

LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------
# 4. report
# ---------------------------------------------------------------------
SETTINGS="$(settings_line)"
fails=0
{
  echo "pg_queryset dashboard benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  report_host
  echo "data:       scale $SCALE ($NPROD products, $NORD orders from $DATES, $NITEM order items)"
  echo "parameters: (1)-(3) orders created in [2024-01-01 + d, + 180 days], d in 0..550 days;"
  echo "            (4) active products with stock <= n, n in 0..10; (5) one category in 1..24"
  echo "pgbench:    -M prepared -c 1 -j 1 -n --random-seed=$SEED; per script a ${WARMUP}s warm-up, then $ROUNDS rounds of -T $PER"
  echo "            interleaved qs/hand/qs/hand... (TPS and latency: mean over rounds; ratio = qs TPS / other TPS)"
  echo "settings:   ${SETTINGS:-defaults}"
  echo "load avg:   $LOAD_BEFORE before the timing, $LOAD_AFTER after (1, 5, 15 min; anything else running adds noise)"
  echo "verified:   $NVER sample parameter sets, qs output == hand-written (or Django distinct) output, exact text;"
  echo "            with rows: $(for p in "${PAIRS[@]}"; do printf '%s %s, ' "${p#dash_}" "${HITS[$p]}"; done | sed 's/, $//')"
  echo
  echo "== dashboard: qs.json vs hand-written SQL (target: ratio >= $TARGET, same plans) =="
  printf '%-24s %7s %8s %6s %8s %8s %11s %6s %6s  %-9s %-22s %s\n' scenario "qs TPS" "hand TPS" ratio "qs ms" "hand ms" "round range" median paired "EXPLAIN" "run (7th execution)" target
  for pair in "${DASH[@]}"; do
    r="$(ratio "${TPS[$pair.qs]}" "${TPS[$pair.hand]}")"
    if meets "$r" ">=" "$TARGET"; then ok="ok"; else ok="BELOW $TARGET"; fails=$((fails + 1)); fi
    case "${PLAN_SAME[$pair]}" in identical) pl=same;; *) pl=DIFFERENT;; esac
    case "${EXEC_SAME[$pair]}" in identical) pe=same;; *) pe=DIFFERENT;; esac
    k="${EXEC_KIND[$pair]}"; k="${k//qs /}"; k="${k//hand /}"; k="${k//, //}"
    printf '%-24s %7.1f %8.1f %6s %8.2f %8.2f %11s %6s %6s  %-9s %-22s %s\n' "${LABEL[$pair]}" "${TPS[$pair.qs]}" "${TPS[$pair.hand]}" "$r" "${LAT[$pair.qs]}" "${LAT[$pair.hand]}" "${SPREAD[$pair]}" "${MEDIAN[$pair]}" "${PAIRED[$pair]}" "$pl" "$pe ($k)" "$ok"
  done
  echo "ratio: qs TPS / hand TPS (the target applies to it); round range, median: of the per-round ratios;"
  echo "paired: median over $(for p in "${DASH[@]}"; do printf '%s/' "${NPAIRED[$p]}"; done | sed 's:/$::') transaction pairs of hand latency / qs latency, pairing"
  echo "        transaction k of round r of both sides, which ran the same parameter values."
  echo "EXPLAIN: qs.explain(spec) vs EXPLAIN of the hand-written SQL, same literal values (custom plans)."
  echo "run: the plans the two prepared statements run at their 7th execution (auto_explain; qs/hand"
  echo "     custom or generic), i.e. what the timed loop runs; plan_cache_mode = $PLAN_MODE."
  echo
  echo "== (5) two to-many aggregates: products of one category with Count(reviews), Count(tags) =="
  echo "qs:          {\"model\": \"catalog_product\", \"where\": {\"category\": C}, \"only\": [\"id\", \"name\"],"
  echo "              \"annotate\": [{\"n_reviews\": {\"Count\": \"catalog_review\"}}, {\"n_tags\": {\"Count\": \"catalog_tag\"}}], \"order_by\": [\"id\"]}"
  echo "django:      Django 3.2's SQL with Count(..., distinct=True): LEFT JOIN both, GROUP BY p.id, COUNT(DISTINCT ...)"
  echo "nodistinct:  the same without distinct=True: COUNT(r.id), COUNT(t.tag_id) (wrong, see below)"
  printf '%-26s %9s %9s %13s\n' variant TPS "mean ms" "qs / variant"
  for side in qs django nodistinct; do
    printf '%-26s %9.1f %9.3f %13s\n' "$side" "${TPS[tomany.$side]}" "${LAT[tomany.$side]}" "$(ratio "${TPS[tomany.qs]}" "${TPS[tomany.$side]}")"
  done
  r="$(ratio "${TPS[tomany.qs]}" "${TPS[tomany.django]}")"
  if meets "$r" ">=" 1; then faster="qs.json is faster than Django's distinct SQL (x$r)"
  else faster="Django's distinct SQL is faster than qs.json (x$(ratio "${TPS[tomany.django]}" "${TPS[tomany.qs]}"))"; fi
  echo "ratio qs / django-distinct = $r (per-round range ${SPREAD[tomany]}, median ${MEDIAN[tomany]};"
  echo "  paired median over ${NPAIRED[tomany]} transactions ${PAIRED[tomany]}; no target): $faster"
  echo "correctness, whole table ($W_N products; counts checked against one GROUP BY per relation):"
  echo "  qs.json:               $W_QS_BAD products wrong"
  echo "  django distinct=True:  $W_DJ_BAD products wrong"
  echo "  django, no distinct:   $W_ND_BAD products wrong ($(awk -v a="$W_ND_BAD" -v b="$W_N" 'BEGIN { printf "%.1f%%", 100 * a / b }')), in $W_ND_CATS categories:"
  echo "                         n_reviews inflated for $W_ND_REV, n_tags for $W_ND_TAG; up to +$W_ND_MAX reviews on one product"
  echo "  timed samples: no-distinct output differs from qs for $nd_diff of $nd_rows categories"
  echo
  echo "== plans with the same literal values (custom plans); qs.explain shows the qs.rows statement, =="
  echo "== which qs.json wraps in the same json_agg Aggregate as the hand-written SQL                  =="
  cat "$TMP/plans.txt"
  echo
  echo "== plans run at the 7th execution of the prepared statements (after 6 with varied values; =="
  echo "== the hand-written one and the statement qs.json runs inside, under json_agg's Aggregate) =="
  cat "$TMP/exec_plans.txt"
  echo "== TPS of each round (interleaved in this order) =="
  cat "$TMP/rounds.txt"
} > "$TMP/report.txt"

publish_report "$TMP/report.txt"

strict_exit $((fails + plan_fail)) "$fails dashboard ratio(s) below $TARGET, $plan_fail plan(s) different"
