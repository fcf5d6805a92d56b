#!/usr/bin/env bash
# pg_queryset nested-fetch benchmark: the article's N+1 scenario (a user's
# orders, each order's items, each item's product) fetched four ways from a
# libpq client over the local unix socket.  See bench/README.md,
# "Nested fetch (N+1)".
#
#   bash bench/nested.sh
#
# Two clients measure it:
#   * bench/django/run.py: the real ORM (Django 3.2 + psycopg2 from Debian),
#     as the issue's reference figures were taken.  The targets (a)/(c) and
#     (b)/(c) are judged here:
#     run with Debian's /usr/bin/python3 (the one python3-django installs into)
#     (a) Django's N+1 loop (601 statements for 50 orders x 5 items)
#     (b) Django's select_related + prefetch_related (4 statements)
#     (c) SELECT qs.json(%s::jsonb) through Django's connection
#     (d) the hand-written statement (bench/nested_hand.sql), PREPAREd
#     every strategy ending with the same Python object graph;
#   * bench/nested_client.c: libpq in C, the same four strategies with no
#     ORM or Python cost at all (a: 601 statements, b: 3 statements stitched
#     in C), plus (c') the SQL qs.json generates run directly, and growth
#     over 10..1000 orders.  The target (c)/(d) is judged here, where no
#     client cost dilutes the ratio.
#
# Settings (environment):
#   QS_PGPORT           port of the throw-away cluster          (default 54420)
#   QS_BENCH_SCALE      demo data scale                          (default 20)
#   QS_NESTED_ITERS     timed iterations of b, c, c', d          (default 200)
#   QS_NESTED_ITERS_A   timed iterations of a                    (default 20)
#   QS_NESTED_WARMUP    warm-up iterations                       (default 20)
#   QS_BENCH_BUILD=1    run `make -s && make -s install` first (also done
#                       automatically when pg_queryset.so is not installed)
#   QS_BENCH_KEEP=1     leave the cluster running at exit
#   QS_BENCH_STRICT=1   exit 1 when a target is missed
#   QS_NESTED_OUT       where the report is written (default bench/results/nested.txt)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

setting_port 54420
setting SCALE QS_BENCH_SCALE 20 1 1000
setting QS_NESTED_ITERS QS_NESTED_ITERS 200 1
setting QS_NESTED_ITERS_A QS_NESTED_ITERS_A 20 1
setting QS_NESTED_WARMUP QS_NESTED_WARMUP 20 1
export QS_NESTED_ITERS QS_NESTED_ITERS_A QS_NESTED_WARMUP   # read by the client
setting_flags QS_BENCH_BUILD QS_BENCH_KEEP QS_BENCH_STRICT
OUT="${QS_NESTED_OUT:-$ROOT/bench/results/nested.txt}"
DB=qs_nested

bench_tmp qs_nested

# ---------------------------------------------------------------------
# 0. dependencies, the extension, the client
# ---------------------------------------------------------------------
install_deps python3-django python3-psycopg2
ensure_extension

command -v gcc >/dev/null || die "gcc not found (apt-get install build-essential)"
INC="$(pg_config --includedir)"
[ -f "$INC/libpq-fe.h" ] || die "libpq-fe.h not found in $INC (apt-get install libpq-dev)"
CLIENT="$TMP/nested_client"
gcc -O2 -Wall -o "$CLIENT" bench/nested_client.c -I"$INC" -L"$(pg_config --libdir)" -lpq \
  || die "cannot compile bench/nested_client.c"

# ---------------------------------------------------------------------
# 1. throw-away cluster
# ---------------------------------------------------------------------
start_cluster

# ---------------------------------------------------------------------
# 2. data: the demo data, then the benchmark users
# ---------------------------------------------------------------------
load_demo "$SCALE"
"${PSQL[@]}" -c "CREATE EXTENSION pg_queryset" \
             -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null || die "CREATE EXTENSION failed"
log "adding the benchmark users (bench/nested_data.sql)"
"${PSQL[@]}" -f bench/nested_data.sql >/dev/null || die "loading bench/nested_data.sql failed"
# Django's related_name: order.items
"${PSQL[@]}" -c "SELECT qs.name_relation('shop_order', 'shop_orderitem', 'items')" >/dev/null || die "qs.name_relation failed"
"${PSQL[@]}" -c "VACUUM ANALYZE" >/dev/null || die "VACUUM ANALYZE failed"

uid() { sql_value "SELECT id FROM auth_user WHERE username = 'bench_n$1'"; }
U50="$(uid 50)"; U10="$(uid 10)"; U100="$(uid 100)"; U1000="$(uid 1000)"
for u in "$U50" "$U10" "$U100" "$U1000"; do [ -n "$u" ] || die "benchmark users missing"; done
NPROD="$(sql_value "SELECT count(*) FROM catalog_product")"
NORD="$(sql_value "SELECT count(*) FROM shop_order")"
NITEM="$(sql_value "SELECT count(*) FROM shop_orderitem")"
got="$(sql_value "SELECT count(*) || ' ' || count(DISTINCT o.id) FROM shop_order o JOIN shop_orderitem i ON i.order_id = o.id WHERE o.user_id = $U50")"
[ "$got" = "250 50" ] || die "user $U50 should have 50 orders with 250 items, has: $got (items orders)"

spec_for() {
  printf '{"model":"shop_order","where":{"user":%s},"order_by":["id"],"select_related":["shipping_address"],"prefetch_related":["items__product__category"]}' "$1"
}
SPEC50="$(spec_for "$U50")"

# ---------------------------------------------------------------------
# 3. the SQL qs.json runs: qs.sql() gives the qs.rows form (jsonb); the
# json form wraps the same rows in json_agg with json_* builders
# (src/compile.c), ordered in the aggregate.  Used as (c') only if it
# returns qs.json's exact text.
# ---------------------------------------------------------------------
"${PSQL[@]}" -At -v spec="$SPEC50" > "$TMP/qs_json.sql" <<'SQL'
-- (the aggregate carries the order: the key as column o1, no ORDER BY in
-- the subquery, src/compile.c OrderInAggregate)
SELECT 'SELECT coalesce(pg_catalog.json_agg(q."row" ORDER BY q.o1), ''[]''::pg_catalog.json) FROM ('
       || replace(replace(replace(replace(qs.sql(:'spec'::jsonb), 'pg_catalog.jsonb_', 'pg_catalog.json_'),
                                  '''[]''::pg_catalog.jsonb', '''[]''::pg_catalog.json'),
                          ') AS "row" FROM public.shop_order t0', ') AS "row", t0.id AS o1 FROM public.shop_order t0'),
                  ' ORDER BY t0.id', '')
       || ') q';
SQL
"${PSQL[@]}" -At -v spec="$SPEC50" -v u="$U50" -f - > "$TMP/cq_check" <<SQL || true
PREPARE cq(bigint) AS $(cat "$TMP/qs_json.sql");
CREATE TEMP TABLE cq_out AS EXECUTE cq(:u);
SELECT (SELECT coalesce::text FROM cq_out) = qs.json(:'spec'::jsonb)::text;
SQL
CQ_NOTE=""
if [ "$(tail -1 "$TMP/cq_check")" = t ]; then
  export QS_NESTED_QS_SQL="$TMP/qs_json.sql"
else
  CQ_NOTE="(c') skipped: the SQL derived from qs.sql() does not return qs.json's exact text"
  log "$CQ_NOTE"
  unset QS_NESTED_QS_SQL
fi

# ---------------------------------------------------------------------
# 4. the client: correctness, statement counts, timing, growth
# ---------------------------------------------------------------------
log "running the client: $QS_NESTED_ITERS iterations of b, c, c', d; $QS_NESTED_ITERS_A of a; then growth"
"$CLIENT" bench/nested_hand.sql "$U50:50" "$U10:10" "$U100:100" "$U1000:1000" > "$TMP/client.out" \
  || { cat "$TMP/client.out" >&2; die "the client failed"; }
# the statement counts the client saw: 1 + 50 * 2 + 250 * 2 for (a)
stmts() { awk -v p="$1" 'index($0, p) == 1 { print $(NF - 1); exit }' "$TMP/client.out"; }
[ "$(stmts '(a) N+1 loop')" = 601 ] || die "(a) should send 601 statements, sent $(stmts '(a) N+1 loop')"
[ "$(stmts '(b) prefetch')" = 3 ] || die "(b) should send 3 statements, sent $(stmts '(b) prefetch')"
[ "$(stmts '(c) qs.json ')" = 1 ] || die "(c) should send 1 statement, sent $(stmts '(c) qs.json ')"
read -r A_C B_C C_D < <(sed -n 's/^RATIOS a_c=\([0-9.]*\) b_c=\([0-9.]*\) c_d=\([0-9.]*\)$/\1 \2 \3/p' "$TMP/client.out")
[ -n "${C_D:-}" ] || die "cannot parse the client's ratios"

log "running the Django client (bench/django/run.py)"
/usr/bin/python3 bench/django/run.py bench/nested_hand.sql "$U50" "$SPEC50" > "$TMP/django.out" \
  || { cat "$TMP/django.out" >&2; die "the Django client failed"; }
read -r DA DB DC DD < <(sed -n 's/^DJANGO_STMTS a=\([0-9]*\) b=\([0-9]*\) c=\([0-9]*\) d=\([0-9]*\)$/\1 \2 \3 \4/p' "$TMP/django.out")
[ "${DA:-}" = 601 ] || die "Django's loop (a) should send 601 statements, sent ${DA:-?}"
[ "${DB:-}" = 4 ] || die "Django's prefetch (b) should send 4 statements, sent ${DB:-?}"
if [ "${DC:-}" != 1 ] || [ "${DD:-}" != 1 ]; then die "(c) and (d) should send 1 statement each"; fi
read -r DJ_A_C DJ_B_C DJ_C_D < <(sed -n 's/^DJANGO_RATIOS a_c=\([0-9.]*\) b_c=\([0-9.]*\) c_d=\([0-9.]*\)$/\1 \2 \3/p' "$TMP/django.out")
[ -n "${DJ_C_D:-}" ] || die "cannot parse the Django client's ratios"

# ---------------------------------------------------------------------
# 5. plans: EXPLAIN ANALYZE of (c)'s SQL and (d), generic plans as the
# prepared statements use them, server execution time only (no client)
# ---------------------------------------------------------------------
PLANS=""
if [ -n "${QS_NESTED_QS_SQL:-}" ]; then
  log "comparing the plans of (c) and (d)"
  PLANS="$("${PSQL[@]}" -v u50="$U50" -v u1000="$U1000" -f - 2>&1 <<SQL
SET plan_cache_mode = force_generic_plan;
PREPARE c_sql(bigint) AS $(cat "$TMP/qs_json.sql");
PREPARE c_noseq(bigint) AS $(cat "$TMP/qs_json.sql");
PREPARE d_hand(bigint) AS $(cat bench/nested_hand.sql);
PREPARE d_records(bigint) AS $(cat bench/nested_hand_records.sql);
CREATE TEMP TABLE eq_d AS EXECUTE d_hand(:u1000);
CREATE TEMP TABLE eq_r AS EXECUTE d_records(:u1000);
SELECT CASE WHEN (SELECT coalesce::jsonb FROM eq_d) = (SELECT coalesce::jsonb FROM eq_r)
            THEN 'd_records = d_hand as jsonb (1000 orders)'
            ELSE 'd_records DIFFERS from d_hand' END AS eqcheck \\gset
-- median server execution time of each, interleaved (EXPLAIN ANALYZE, TIMING OFF)
CREATE FUNCTION pg_temp.exec_ms(uid bigint, n int)
RETURNS TABLE(statement text, median_ms numeric) LANGUAGE plpgsql AS \$f\$
DECLARE
  names text[] := ARRAY['c_sql', 'c_noseq', 'd_hand', 'd_records'];
  t float8[] := array_fill(0::float8, ARRAY[4, n]);
  j json;
BEGIN
  FOR i IN 0..n LOOP
    FOR k IN 1..4 LOOP
      IF names[k] = 'c_noseq' THEN PERFORM set_config('enable_seqscan', 'off', true); END IF;
      EXECUTE format('EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) EXECUTE %s(%s)', names[k], uid) INTO j;
      PERFORM set_config('enable_seqscan', 'on', true);
      IF i > 0 THEN t[k][i] := (j->0->>'Execution Time')::float8; END IF;
    END LOOP;
  END LOOP;
  FOR k IN 1..4 LOOP
    statement := names[k];
    median_ms := (SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY x)::numeric, 3)
                  FROM unnest(t[k:k][1:n]) AS x);
    RETURN NEXT;
  END LOOP;
END
\$f\$;
\pset footer off
\echo 'server execution time (no client), generic plans, median of interleaved runs:'
\echo '  c_sql     = the SQL qs.json runs        c_noseq   = the same, planned with enable_seqscan = off'
\echo '  d_hand    = (d), bench/nested_hand.sql  d_records = bench/nested_hand_records.sql (json_agg of records)'
\echo '  check:' :eqcheck
\echo '50 orders (30 runs):'
SELECT * FROM pg_temp.exec_ms(:u50, 30);
\echo '1000 orders (6 runs):'
SELECT * FROM pg_temp.exec_ms(:u1000, 6);
CREATE FUNCTION pg_temp.sort_lines(stmt text) RETURNS SETOF text LANGUAGE plpgsql AS \$f\$
DECLARE l text;
BEGIN
  FOR l IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || stmt LOOP
    IF l ~ 'Sort Method' THEN RETURN NEXT trim(l); END IF;
  END LOOP;
END
\$f\$;
SHOW work_mem \\gset
\echo 'the sort of the order rows in c_sql, 1000 orders (work_mem =' :work_mem '):'
SELECT * FROM pg_temp.sort_lines('EXECUTE c_sql(' || :u1000 || ')');
\echo 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) of (c)''s SQL, 50 orders:'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE c_sql(:u50);
\echo 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) of (d), 50 orders:'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE d_hand(:u50);
SQL
)" || die "plan comparison failed: $PLANS"
fi

# ---------------------------------------------------------------------
# 6. report
# ---------------------------------------------------------------------
SETTINGS="$(settings_line 'NESTED_(ITERS|ITERS_A|WARMUP)')"
fails=0
check() {  # value op target label
  if meets "$1" "$2" "$3"; then
    echo "  $4 = $1: met (target $2 $3)"
  else
    echo "  $4 = $1: MISSED (target $2 $3)"; fails=$((fails + 1))
  fi
}
{
  echo "pg_queryset nested-fetch (N+1) benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  report_host
  echo "data:       scale $SCALE ($NPROD products, $NORD orders, $NITEM order items incl. the benchmark users)"
  echo "graph:      orders of one user + shipping_address + items + item.product + product.category"
  echo "spec (c):   $SPEC50"
  echo "settings:   ${SETTINGS:-defaults}"
  [ -z "$CQ_NOTE" ] || echo "note:       $CQ_NOTE"
  echo
  echo "== 1. the real ORM: bench/django/run.py =="
  grep -v '^DJANGO_' "$TMP/django.out"
  echo
  echo "== 2. no ORM: bench/nested_client.c (libpq in C, prepared statements, text results) =="
  echo "(a) and (b) here are the same statement sequences with no ORM or Python cost:"
  echo "a lower bound for any client, not what an ORM user gets."
  grep -v '^RATIOS ' "$TMP/client.out"
  echo
  echo "targets (issue 3):"
  check "$DJ_A_C" ">=" 20 "(a)/(c) Django N+1 loop / qs.json      "
  check "$DJ_B_C" ">" 1 "(b)/(c) Django prefetch / qs.json       "
  check "$C_D" "<=" 1.10 "(c)/(d) qs.json / hand-written (C)     "
  echo "for reference, with no ORM cost (C client): (a)/(c) = $A_C, (b)/(c) = $B_C"
  if [ -n "$PLANS" ]; then
    echo
    echo "$PLANS"
  fi
} > "$TMP/report.txt"

publish_report "$TMP/report.txt"

strict_exit "$fails" "$fails target(s) missed"
