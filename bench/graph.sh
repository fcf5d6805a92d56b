#!/usr/bin/env bash
# pg_queryset large-graph benchmark: the orders of one user, each with its
# 24 items and each item's product, in ONE qs.json call versus the
# statement an expert writes by hand (LEFT JOIN LATERAL json_agg,
# bench/graph_hand.sql), measured at the server: psql sends the statement
# and writes the result to /dev/null.  See bench/README.md, "Large graphs".
#
#   bash bench/graph.sh
#
# It checks first that both sides return the same text (md5 and length, on
# the server), then times them interleaved for 10, 100, 1,000, 7,800 and
# 10,000 orders (24 items each: 240 .. 240,000 items), reports the time per
# order (a flat curve means linear growth), and the peak memory of the
# backend for each side, each in a fresh connection.
#
# Settings (environment):
#   QS_PGPORT         port of the throw-away cluster          (default 54440)
#   QS_BENCH_SCALE    demo data scale (products: 1000 x scale) (default 20)
#   QS_GRAPH_REPS     timed runs per side for 7,800 and 10,000 orders;
#                     1,000 orders get 2x, 10 and 100 get 6x   (default 5)
#   QS_BENCH_BUILD=1  run `make -s && make -s install` first (also done
#                     automatically when pg_queryset.so is not installed)
#   QS_BENCH_KEEP=1   leave the cluster running at exit
#   QS_BENCH_STRICT=1 exit 1 when the 7,800-order ratio is above 1.05
#   QS_GRAPH_OUT      where the report is written
#                     (default bench/results/graph_large.txt)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

setting_port 54440
setting SCALE QS_BENCH_SCALE 20 1 1000
setting REPS QS_GRAPH_REPS 5 1
setting_flags QS_BENCH_BUILD QS_BENCH_KEEP QS_BENCH_STRICT
OUT="$(caller_path "${QS_GRAPH_OUT:-$ROOT/bench/results/graph_large.txt}")"
TARGET=1.05
DB=qs_graph
SIZES=(10 100 1000 7800 10000)

bench_tmp qs_graph
install_deps
ensure_extension
start_cluster

# ---------------------------------------------------------------------
# data: the demo shop, then the benchmark users (bench/graph_data.sql)
# ---------------------------------------------------------------------
load_demo "$SCALE"
"${PSQL[@]}" -c "CREATE EXTENSION pg_queryset" >/dev/null || die "CREATE EXTENSION failed"
log "adding the benchmark users (bench/graph_data.sql)"
"${PSQL[@]}" -f bench/graph_data.sql >/dev/null || die "loading bench/graph_data.sql failed"
# Django's related_name: order.items
"${PSQL[@]}" -c "SELECT qs.name_relation('shop_order', 'shop_orderitem', 'items')" >/dev/null \
  || die "qs.name_relation failed"
"${PSQL[@]}" -c "VACUUM ANALYZE" >/dev/null || die "VACUUM ANALYZE failed"

declare -A UID_OF SPEC_OF
for n in "${SIZES[@]}"; do
  UID_OF[$n]="$(sql_value "SELECT id FROM auth_user WHERE username = 'bench_g$n'")"
  [ -n "${UID_OF[$n]}" ] || die "benchmark user bench_g$n missing"
  got="$(sql_value "SELECT count(DISTINCT o.id) || ' ' || count(*) FROM shop_order o JOIN shop_orderitem i ON i.order_id = o.id WHERE o.user_id = ${UID_OF[$n]}")"
  [ "$got" = "$n $((n * 24))" ] || die "bench_g$n should have $n orders with $((n * 24)) items, has: $got"
  SPEC_OF[$n]="{\"model\": \"shop_order\", \"where\": {\"user\": ${UID_OF[$n]}}, \"order_by\": [\"id\"], \"prefetch_related\": [\"items__product\"]}"
done
HAND="$(grep -v '^--' bench/graph_hand.sql)"

# ---------------------------------------------------------------------
# correctness: the same text on both sides (compared on the server)
# ---------------------------------------------------------------------
log "verifying that qs.json and the hand-written statement return the same text"
declare -A BYTES
for n in "${SIZES[@]}"; do
  res="$("${PSQL[@]}" -At -v spec="${SPEC_OF[$n]}" -v u="${UID_OF[$n]}" -f - <<SQL
PREPARE h(bigint) AS $HAND;
CREATE TEMP TABLE hand_out AS EXECUTE h(:u);
SELECT (SELECT md5(coalesce::text) || ' ' || length(coalesce::text) FROM hand_out)
       || ' ' || md5(qs.json(:'spec'::jsonb)::text);
SQL
)" || die "the correctness check failed for $n orders"
  read -r hmd5 hlen qmd5 <<< "$res"
  [ -n "${qmd5:-}" ] || die "cannot parse the correctness check for $n orders: $res"
  [ "$hmd5" = "$qmd5" ] || die "MISMATCH for $n orders: qs.json's text differs from bench/graph_hand.sql's"
  BYTES[$n]="$hlen"
done
log "identical for ${#SIZES[@]} users"

# ---------------------------------------------------------------------
# timing: one session per size, qs and hand interleaved, psql to /dev/null
# ---------------------------------------------------------------------
reps_for() { case "$1" in 10|100) echo $((REPS * 6));; 1000) echo $((REPS * 2));; *) echo "$REPS";; esac; }
declare -A QMED HMED RANGE
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
for n in "${SIZES[@]}"; do
  r="$(reps_for "$n")"
  log "timing $n orders: $r runs per side (after one warm-up each)"
  {
    echo "PREPARE h(bigint) AS $HAND;"
    echo "\\o /dev/null"
    echo "SELECT qs.json(:'spec'::jsonb);"
    echo "EXECUTE h(:u);"
    echo "\\timing on"
    for ((i = 0; i < r; i++)); do
      echo "SELECT qs.json(:'spec'::jsonb);"
      echo "EXECUTE h(:u);"
    done
  } > "$TMP/time.sql"
  "${PSQL[@]}" -v spec="${SPEC_OF[$n]}" -v u="${UID_OF[$n]}" -f "$TMP/time.sql" > "$TMP/time.out" \
    || die "the timed runs failed for $n orders"
  sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' "$TMP/time.out" | paste - - > "$TMP/pairs.$n"
  [ "$(wc -l < "$TMP/pairs.$n")" -eq "$r" ] || die "expected $r timed pairs for $n orders"
  QMED[$n]="$(cut -f1 "$TMP/pairs.$n" | median %.2f)"
  HMED[$n]="$(cut -f2 "$TMP/pairs.$n" | median %.2f)"
  RANGE[$n]="$(awk '{ r = $1 / $2; if (NR == 1 || r < lo) lo = r; if (NR == 1 || r > hi) hi = r } END { printf "%.2f-%.2f", lo, hi }' "$TMP/pairs.$n")"
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------------
# peak memory of the backend: a fresh connection per side and size; a
# sampler reads RssAnon (private memory: shared buffers left out) of the
# backend every 5 ms while the statement runs, and VmHWM at the end
# ---------------------------------------------------------------------
peak_mem() {  # side (qs|hand) n -> "peak_rssanon_kb base_rssanon_kb vmhwm_kb"
  local side="$1" n="$2" pidf="$TMP/mem.pid" donef="$TMP/mem.done" peakf="$TMP/mem.peak"
  rm -f "$pidf" "$donef" "$peakf"
  (
    while [ ! -s "$pidf" ]; do sleep 0.01; done
    pid="$(cat "$pidf")"; max=0
    while [ ! -e "$donef" ] && [ -r "/proc/$pid/status" ]; do
      v="$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)"
      if [ -n "$v" ] && [ "$v" -gt "$max" ]; then max="$v"; fi
      sleep 0.005
    done
    echo "$max" > "$peakf"
  ) &
  local sampler=$!
  {
    echo "PREPARE h(bigint) AS $HAND;"
    echo "SELECT pg_backend_pid() AS pid \\gset"
    echo "\\setenv QS_PID :pid"   # \! does not interpolate psql variables
    echo "\\! awk '/^RssAnon:/ { print \$2 }' /proc/\$QS_PID/status > $TMP/mem.base"
    echo "\\! echo \$QS_PID > $pidf"
    echo "\\! sleep 0.1"
    echo "\\o /dev/null"
    if [ "$side" = qs ]; then echo "SELECT qs.json(:'spec'::jsonb);"; else echo "EXECUTE h(:u);"; fi
    echo "\\o"
    echo "\\! awk '/^VmHWM:/ { print \$2 }' /proc/\$QS_PID/status > $TMP/mem.hwm"
    echo "\\! touch $donef"
  } > "$TMP/mem.sql"
  "${PSQL[@]}" -v spec="${SPEC_OF[$n]}" -v u="${UID_OF[$n]}" -f "$TMP/mem.sql" > /dev/null \
    || { touch "$donef"; die "the memory run failed ($side, $n orders)"; }
  wait "$sampler"
  echo "$(cat "$peakf") $(cat "$TMP/mem.base") $(cat "$TMP/mem.hwm")"
}
MEM_SIZES=(1000 7800 10000)
declare -A MEM
for n in "${MEM_SIZES[@]}"; do
  for side in qs hand; do
    log "peak memory: $side, $n orders"
    MEM[$side.$n]="$(peak_mem "$side" "$n")"
  done
done

# ---------------------------------------------------------------------
# the plans: where each side sorts, and how (7,800 orders)
# ---------------------------------------------------------------------
explain_lines() {  # statement -> the Sort lines and the top of the plan
  "${PSQL[@]}" -At -v u="${UID_OF[7800]}" -v spec="${SPEC_OF[7800]}" -f - <<SQL 2>/dev/null | grep -E 'Sort Method|^ *(->  )?(Aggregate|Sort|Index Scan using shop_order|Bitmap Heap Scan on shop_order|Seq Scan on shop_order|Nested Loop Left Join|Execution Time)' | grep -v 'loops=7800' | sed 's/^ *//'
PREPARE h(bigint) AS $HAND;
SELECT 'SELECT coalesce(pg_catalog.json_agg(q."row" ORDER BY q.o1), ''[]''::pg_catalog.json) FROM ('
       || replace(replace(replace(replace(qs.sql(:'spec'::jsonb), 'pg_catalog.jsonb_', 'pg_catalog.json_'),
                          '''[]''::pg_catalog.jsonb', '''[]''::pg_catalog.json'),
                  ') AS "row" FROM public.shop_order t0', ') AS "row", t0.id AS o1 FROM public.shop_order t0'),
                  ' ORDER BY t0.id', '') || ') q' AS q \gset
PREPARE c(bigint) AS :q;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) $1;
SQL
}
QS_PLAN="$(explain_lines 'EXECUTE c(:u)')"
HAND_PLAN="$(explain_lines 'EXECUTE h(:u)')"
QS_CHECK="$("${PSQL[@]}" -At -v u="${UID_OF[7800]}" -v spec="${SPEC_OF[7800]}" -f - <<'SQL' 2>/dev/null || true
SELECT 'SELECT coalesce(pg_catalog.json_agg(q."row" ORDER BY q.o1), ''[]''::pg_catalog.json) FROM ('
       || replace(replace(replace(replace(qs.sql(:'spec'::jsonb), 'pg_catalog.jsonb_', 'pg_catalog.json_'),
                          '''[]''::pg_catalog.jsonb', '''[]''::pg_catalog.json'),
                  ') AS "row" FROM public.shop_order t0', ') AS "row", t0.id AS o1 FROM public.shop_order t0'),
                  ' ORDER BY t0.id', '') || ') q' AS q \gset
PREPARE c(bigint) AS :q;
CREATE TEMP TABLE c_out AS EXECUTE c(:u);
SELECT (SELECT coalesce::text FROM c_out) = qs.json(:'spec'::jsonb)::text;
SQL
)"
[ "$QS_CHECK" = t ] && QS_NOTE="(the statement qs.json runs, rebuilt from qs.sql; checked: same text as qs.json)" \
  || QS_NOTE="(rebuilt from qs.sql; NOT the same text as qs.json: approximate)"

# ---------------------------------------------------------------------
# report
# ---------------------------------------------------------------------
fails=0
mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
{
  echo "pg_queryset large-graph benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  report_host
  echo "data:       scale $SCALE; one user per size with N orders x 24 items, each item with its product (bench/graph_data.sql)"
  echo "spec:       {\"model\": \"shop_order\", \"where\": {\"user\": U}, \"order_by\": [\"id\"], \"prefetch_related\": [\"items__product\"]}"
  echo "hand:       bench/graph_hand.sql (LEFT JOIN LATERAL json_agg per order, PREPAREd)"
  echo "method:     psql on the server's unix socket, output to /dev/null, \\timing; qs and hand interleaved in one session"
  echo "            after one warm-up each; median of the runs; ratio = qs ms / hand ms (target at 7,800 orders: <= $TARGET)"
  echo "settings:   $(settings_line GRAPH)"
  echo "load avg:   $LOAD_BEFORE before the timing, $LOAD_AFTER after (1, 5, 15 min; other work on the machine adds noise)"
  echo "verified:   ${#SIZES[@]} users, qs.json text == hand-written text (md5 on the server)"
  echo
  printf '%7s %8s %11s %5s %10s %10s %6s %11s %11s %11s\n' orders items "JSON bytes" runs "qs ms" "hand ms" ratio "run range" "qs us/ord" "hand us/ord"
  for n in "${SIZES[@]}"; do
    r="$(ratio "${QMED[$n]}" "${HMED[$n]}")"
    printf '%7d %8d %11d %5d %10.2f %10.2f %6s %11s %11.1f %11.1f\n' "$n" $((n * 24)) "${BYTES[$n]}" "$(reps_for "$n")" \
      "${QMED[$n]}" "${HMED[$n]}" "$r" "${RANGE[$n]}" \
      "$(awk -v m="${QMED[$n]}" -v n="$n" 'BEGIN { print m * 1000 / n }')" \
      "$(awk -v m="${HMED[$n]}" -v n="$n" 'BEGIN { print m * 1000 / n }')"
  done
  r78="$(ratio "${QMED[7800]}" "${HMED[7800]}")"
  if meets "$r78" "<=" "$TARGET"; then
    echo "7,800 orders: qs / hand = $r78, target <= $TARGET met"
  else
    echo "7,800 orders: qs / hand = $r78, target <= $TARGET MISSED"; fails=1
  fi
  # the curve: time per order over the sizes (flat = linear growth)
  g_qs="$(for n in "${SIZES[@]}"; do awk -v m="${QMED[$n]}" -v n="$n" 'BEGIN { print m / n }'; done | awk 'NR == 1 || $1 < lo { lo = $1 } NR == 1 || $1 > hi { hi = $1 } END { printf "%.2f", hi / lo }')"
  g_h="$(for n in "${SIZES[@]}"; do awk -v m="${HMED[$n]}" -v n="$n" 'BEGIN { print m / n }'; done | awk 'NR == 1 || $1 < lo { lo = $1 } NR == 1 || $1 > hi { hi = $1 } END { printf "%.2f", hi / lo }')"
  g_end="$(awk -v a="${QMED[10000]}" -v b="${QMED[10]}" 'BEGIN { printf "%.2f", (a / 10000) / (b / 10) }')"
  echo "growth:     time per order, largest / smallest over the five sizes: qs $g_qs, hand $g_h;"
  echo "            qs at 10,000 orders / at 10 orders: $g_end (1.00 = linear)"
  echo
  echo "peak backend memory, fresh connection per run (RssAnon sampled every 5 ms: private memory,"
  echo "shared buffers left out; base = RssAnon of the idle connection; VmHWM includes shared memory)"
  printf '%7s %12s %12s %12s %12s %12s %12s\n' orders "qs peak MB" "hand peak MB" "qs base MB" "hand base MB" "qs VmHWM MB" "hand VmHWM"
  for n in "${MEM_SIZES[@]}"; do
    read -r qp qb qh <<< "${MEM[qs.$n]}"
    read -r hp hb hh <<< "${MEM[hand.$n]}"
    printf '%7d %12s %12s %12s %12s %12s %12s\n' "$n" "$(mb "$qp")" "$(mb "$hp")" "$(mb "$qb")" "$(mb "$hb")" "$(mb "$qh")" "$(mb "$hh")"
  done
  echo
  echo "plans at 7,800 orders (EXPLAIN ANALYZE, TIMING OFF; the sorts and the top nodes):"
  echo "  qs.json $QS_NOTE"
  echo "$QS_PLAN" | sed 's/^/    /'
  echo "  hand-written"
  echo "$HAND_PLAN" | sed 's/^/    /'
  echo
  echo "runs (qs ms, hand ms), in order:"
  for n in "${SIZES[@]}"; do
    echo "  $n: $(awk '{ printf "%s%s/%s", (NR > 1 ? ", " : ""), $1, $2 }' "$TMP/pairs.$n")"
  done
} > "$TMP/report.txt"
publish_report "$TMP/report.txt"

strict_exit "$fails" "the 7,800-order ratio is above $TARGET"
