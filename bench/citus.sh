#!/usr/bin/env bash
# pg_queryset on Citus: the tenant workload on one node against a Citus
# coordinator with two workers, qs against the SQL an expert would write,
# on the same cluster.  Report: bench/results/citus.txt.
#
#   bash bench/citus.sh
#
# Both clusters get the same schema and data, test/citus/setup.sql (a shop
# distributed on tenant_id, 100 tenants x 400 orders, tenant scoping on
# every table, signed tokens): on Citus as it is, on the single node with
# no-op stand-ins for create_distributed_table / create_reference_table.
# Tenant 5 gets 200 more order items (1,000 in all) for the bulk update.
# Every pgbench transaction is what the application sends, as role qs_app:
#
#   BEGIN; SELECT qs.set_tenant_token(token) FROM citus_token WHERE name = 't5';
#   <the workload's statement>; COMMIT;
#
# Workloads (qs / hand-written; the hand SQL names tenant_id = 5, so that
# Citus routes it to one shard; qs adds the tenant predicate itself):
#   pk         qs.get(shop_order, pk = [5, id])  / to_jsonb(o) WHERE tenant_id = 5 AND id = :id
#   graph      qs.json: an order, select_related its customer, prefetch_related
#              its items with their product  / one statement with a jsonb_agg subquery
#   dashboard  qs.json: items values(order status) annotate(revenue = Sum(quantity * price),
#              items = Count) / GROUP BY over the join
#   bulk       qs.bulk_update of 1,000 shop_orderitem rows (quantity) / UPDATE ... FROM
#              unnest(ids, quantities); two value sets, chosen at random per transaction
#              (each one changes the rows: 1,000 real row updates, committed)
# :id is random(1, 400).  For reference, the PK lookup's hand SQL is also
# timed with the tenant as a parameter (o.tenant_id = :t, \set t 5), as qs
# binds it.  Before timing, each qs statement must return the same JSON as
# its hand-written twin (::jsonb equality; the bulk update: the same rows
# afterwards), and the Citus statements are checked for routing
# (citus.log_remote_commands: statements sent to the workers, nodes used).
# Ratios are medians of per-round ratios (the scripts of a workload run back
# to back in every round).
#
# Settings (environment):
#   QS_PGPORT         the single node's port; Citus takes +200..+202 (default 56329)
#   QS_BENCH_SECONDS  measured seconds per script, split into    (default 10)
#   QS_BENCH_ROUNDS   rounds: every script once per round, one
#                     after the other (pgbench -T SECONDS/ROUNDS) (default 5)
#   QS_BENCH_WARMUP   warm-up seconds per script, 0 = none       (default 2)
#   QS_BENCH_CLIENTS  pgbench clients (and threads)              (default 1)
#   QS_BENCH_SEED     pgbench --random-seed                      (default 20240101)
#   QS_CITUS_MODE     pgbench -M: prepared, extended or simple   (default prepared)
#   QS_BENCH_KEEP=1   leave both clusters running at exit
#   QS_BENCH_OUT      report file (default bench/results/citus.txt)
# A cluster left on these ports by QS_BENCH_KEEP=1 is replaced.
# With the defaults it takes about 5 minutes on 2 cores (18 scripts x
# (2 + 10) s, plus a minute of setup and checks); QS_BENCH_SECONDS=20
# QS_BENCH_ROUNDS=10 about 8.  The extension must be installed
# (make install); this script never builds it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

setting_port 56329
setting SECONDS_RUN QS_BENCH_SECONDS 10 1
setting ROUNDS QS_BENCH_ROUNDS 5 1
setting WARMUP QS_BENCH_WARMUP 2 0
PER=$(( SECONDS_RUN / ROUNDS )); [ "$PER" -ge 1 ] || PER=1
setting CLIENTS QS_BENCH_CLIENTS 1 1 64
setting SEED QS_BENCH_SEED 20240101 0
setting_flags QS_BENCH_KEEP
MODE="${QS_CITUS_MODE:-prepared}"
case "$MODE" in prepared|extended|simple) ;; *) bad "QS_CITUS_MODE must be prepared, extended or simple, got '$MODE'";; esac
[ "$PORT" -le 65333 ] || bad "QS_PGPORT must leave room for the Citus ports (+202), got $PORT"
OUT="$(caller_path "${QS_BENCH_OUT:-$ROOT/bench/results/citus.txt}")"
DB=qs_citus_bench
COORD=$((PORT + 200))
NROWS=1000   # rows of the bulk update (tenant 5's order items 1..1000)

# the two clusters and how pgbench and psql reach them (as qs_app)
declare -A HOST=([one]="" [citus]=127.0.0.1)   # [one]: the socket, once started
declare -A CPORT=([one]="$PORT" [citus]="$COORD")
declare -A CNAME=([one]="1 node" [citus]="Citus 1+2")
CLUSTERS=(one citus)
WORKLOADS=(pk graph dashboard bulk)
declare -A WNAME=([pk]="PK lookup" [graph]="order graph" [dashboard]="dashboard aggregate" [bulk]="bulk_update 1,000 rows")

# ---------------------------------------------------------------------
# 0. temp dir, clean-up of both clusters, tools
# ---------------------------------------------------------------------
bench_tmp qs_citus
# the EXIT trap: the Citus nodes, then lib.sh's bench_cleanup (temp dir,
# the single node, the script's exit status)
citus_cleanup() {
  local rc=$?
  if [ "$KEEP" = 1 ]; then
    log "Citus left running (QS_BENCH_KEEP=1): psql -h 127.0.0.1 -p $COORD -U postgres $DB"
  else
    QS_PGPORT="$PORT" bash scripts/citus-cluster.sh stop >/dev/null 2>&1 || true
  fi
  bench_cleanup "$rc"
}
trap citus_cleanup EXIT
# a failure anywhere is reported as FAIL (lib.sh's die prints ERROR)
die() { echo "$BENCH: FAIL: $*" >&2; exit 1; }

need_pgbench
for tool in psql createdb dropdb; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
[ -f "$(pg_config --pkglibdir)/pg_queryset.so" ] || die "pg_queryset is not installed (make install): this benchmark does not build it"

# as_app CLUSTER PSQL-ARG...: psql on CLUSTER's database as qs_app
as_app() { local c="$1"; shift; psql -X -q -v ON_ERROR_STOP=1 -h "${HOST[$c]}" -p "${CPORT[$c]}" -U qs_app -d "$DB" "$@"; }
# as_su CLUSTER PSQL-ARG...: the same as postgres
as_su() { local c="$1"; shift; psql -X -q -v ON_ERROR_STOP=1 -h "${HOST[$c]}" -p "${CPORT[$c]}" -U postgres -d "$DB" "$@"; }

# ---------------------------------------------------------------------
# 1. the clusters: one node (scripts/cluster.sh), Citus coordinator + 2
# workers (scripts/citus-cluster.sh); test/citus/setup.sql on each
# ---------------------------------------------------------------------
t0=$(date +%s)
log "single node on port $PORT"
unset QS_BASE   # one base per node: scripts/cluster.sh's default, /tmp/pg_queryset-<port>
# a node left on this port by QS_BENCH_KEEP=1 is replaced (setup.sql creates roles)
QS_PGPORT="$PORT" bash scripts/cluster.sh stop >/dev/null 2>&1 || true
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
start_cluster
HOST[one]="$PGHOST"
conf="$(dirname "$PGHOST")/data/postgresql.conf"
[ -f "$conf" ] || die "no $conf"
# the secret goes into the configuration file, as scripts/citus-cluster.sh does
printf "pg_queryset.tenant_secret = 'citus-secret'\npg_queryset.tenant_audience = 'qs-citus'\n" >> "$conf"
psql -X -q -d postgres -c "SELECT pg_reload_conf()" >/dev/null || die "the single node did not reload its configuration"
fresh_db
log "Citus coordinator on port $COORD, workers $((COORD + 1)) $((COORD + 2))"
QS_PGPORT="$PORT" bash scripts/citus-cluster.sh start "$DB" >&2 || die "the Citus cluster did not start (scripts/citus-cluster.sh)"

log "loading test/citus/setup.sql on both"
as_su one >/dev/null <<'SQL' || die "creating the Citus stand-ins on the single node failed"
-- the distribution calls of setup.sql do nothing on a plain node
CREATE FUNCTION create_distributed_table(regclass, text, colocate_with text DEFAULT NULL) RETURNS void LANGUAGE sql AS '';
CREATE FUNCTION create_reference_table(regclass) RETURNS void LANGUAGE sql AS '';
SQL
for c in "${CLUSTERS[@]}"; do
  as_su "$c" -f test/citus/setup.sql >/dev/null || die "test/citus/setup.sql failed on ${CNAME[$c]}"
done
as_su one -c "DROP FUNCTION create_distributed_table(regclass, text, text)" -c "DROP FUNCTION create_reference_table(regclass)" >/dev/null \
  || die "dropping the stand-ins failed"
for c in "${CLUSTERS[@]}"; do
  as_su "$c" >/dev/null <<SQL || die "adding tenant 5's order items failed on ${CNAME[$c]}"
-- 200 more items for tenant 5 (a third item on orders 1..200): $NROWS in all
INSERT INTO shop_orderitem
SELECT 5, g, g - 800, 1 + g % 10, 1 + g % 4, 5 + (1 + g % 10) * 2.5 FROM generate_series(801, $NROWS) g;
VACUUM ANALYZE;
SQL
  n="$(as_su "$c" -At -c "SELECT count(*) FROM shop_orderitem WHERE tenant_id = 5 AND id BETWEEN 1 AND $NROWS")"
  [ "$n" = "$NROWS" ] || die "tenant 5 has $n order items 1..$NROWS on ${CNAME[$c]}, not $NROWS"
done
[ "$(as_su citus -At -c "SELECT count(*) FROM citus_tables WHERE citus_table_type = 'distributed'")" = 7 ] \
  || die "the Citus database does not have the 7 distributed tables of setup.sql"
[ "$(as_su one -At -c "SELECT count(*) FROM pg_extension WHERE extname = 'citus'")" = 0 ] \
  || die "the single node has the citus extension"
SETUPSECS=$(( $(date +%s) - t0 ))
log "clusters ready in ${SETUPSECS}s"

# ---------------------------------------------------------------------
# 2. the statements (no trailing ';'); :id is pgbench's \set and psql's -v
# ---------------------------------------------------------------------
TOKEN="SELECT qs.set_tenant_token(token) FROM citus_token WHERE name = 't5'"
declare -A Q
Q[pk_qs]="SELECT qs.get('{\"model\": \"shop_order\"}', jsonb_build_object('pk', jsonb_build_array(5, :id::bigint)))"
Q[pk_hand]="SELECT to_jsonb(o) FROM shop_order o WHERE o.tenant_id = 5 AND o.id = :id"
# for reference: the hand lookup with the tenant as a parameter (\set t 5),
# as qs binds it in its own statement
Q[pkparam_hand]="SELECT to_jsonb(o) FROM shop_order o WHERE o.tenant_id = :t AND o.id = :id"
Q[graph_qs]="SELECT qs.json(qs.filter('{\"model\": \"shop_order\", \"select_related\": [\"shop_customer\"], \"prefetch_related\": [\"shop_orderitem__shop_product\"]}', jsonb_build_object('id', :id::bigint)))"
# the items' subquery names tenant 5 itself: correlated on o.tenant_id only
# (GRAPH_NAIVE, the same result), Citus sends it to every shard
graph_hand() {  # the tenant condition of the items' subquery
  echo "SELECT coalesce(jsonb_agg(to_jsonb(o) || jsonb_build_object('shop_customer', to_jsonb(c), 'shop_orderitem',
  (SELECT coalesce(jsonb_agg(to_jsonb(i) || jsonb_build_object('shop_product', to_jsonb(p)) ORDER BY i.id), '[]')
     FROM shop_orderitem i JOIN shop_product p ON p.tenant_id = i.tenant_id AND p.id = i.product_id
    WHERE $1 AND i.order_id = o.id))), '[]')
  FROM shop_order o JOIN shop_customer c ON c.tenant_id = o.tenant_id AND c.id = o.customer_id
 WHERE o.tenant_id = 5 AND o.id = :id"
}
Q[graph_hand]="$(graph_hand "i.tenant_id = 5")"
GRAPH_NAIVE="$(graph_hand "i.tenant_id = o.tenant_id")"
Q[dashboard_qs]="SELECT qs.json('{\"model\": \"shop_orderitem\", \"values\": [\"shop_order__status\"], \"annotate\": {\"revenue\": {\"Sum\": {\"*\": [{\"F\": \"quantity\"}, {\"F\": \"price\"}]}}, \"items\": {\"Count\": \"id\"}}, \"order_by\": [\"shop_order__status\"]}')"
Q[dashboard_hand]="SELECT jsonb_agg(jsonb_build_object('shop_order__status', s.status, 'revenue', s.revenue, 'items', s.items) ORDER BY s.status)
  FROM (SELECT o.status, sum(i.quantity * i.price) AS revenue, count(*) AS items
          FROM shop_orderitem i JOIN shop_order o ON o.tenant_id = i.tenant_id AND o.id = i.order_id
         WHERE i.tenant_id = 5 GROUP BY o.status) s"
# the bulk update: value set A (quantity 1 + id % 5) or B (1 + (id + 2) % 5);
# the set-up data has 1 + (order + k) % 4, so each set changes most rows
payload() {  # qs|hand a|b
  awk -v side="$1" -v set="$2" -v n="$NROWS" 'BEGIN {
    off = (set == "a") ? 0 : 2
    for (i = 1; i <= n; i++) {
      q = 1 + (i + off) % 5
      if (side == "qs") s = s (i > 1 ? ", " : "") "{\"tenant_id\": 5, \"id\": " i ", \"quantity\": " q "}"
      else { ids = ids (i > 1 ? "," : "") i; qs = qs (i > 1 ? "," : "") q }
    }
    if (side == "qs") printf "SELECT qs.bulk_update('\''shop_orderitem'\'', '\''[%s]'\'', ARRAY['\''quantity'\''])", s
    else printf "UPDATE shop_orderitem t SET quantity = v.quantity FROM unnest('\''{%s}'\''::bigint[], '\''{%s}'\''::integer[]) AS v(id, quantity) WHERE t.tenant_id = 5 AND t.id = v.id", ids, qs
  }'
}
for side in qs hand; do
  for set in a b; do Q[bulk_${side}_$set]="$(payload "$side" "$set")"; done
done
# the rows 1..NROWS of tenant 5 as [[id, quantity], ...], and what set S makes of them
SNAPSHOT="SELECT jsonb_agg(jsonb_build_array(id, quantity) ORDER BY id) FROM shop_orderitem WHERE tenant_id = 5 AND id BETWEEN 1 AND $NROWS"
expected() { echo "SELECT jsonb_agg(jsonb_build_array(g, 1 + (g + $1) % 5) ORDER BY g) FROM generate_series(1, $NROWS) g"; }

# pgbench scripts: $TMP/<workload>_<side>.sql
for ws in pk_qs pk_hand pkparam_hand graph_qs graph_hand dashboard_qs dashboard_hand; do
    {
      [ "$ws" = "${ws#dashboard}" ] && echo '\set id random(1, 400)'
      [ "$ws" = pkparam_hand ] && echo '\set t 5'
      echo "BEGIN;"
      echo "$TOKEN;"
      echo "${Q[$ws]};" | tr '\n' ' ' | sed 's/ *$//'; echo
      echo "COMMIT;"
    } > "$TMP/$ws.sql"
done
for side in qs hand; do
  {
    echo '\set a random(0, 1)'
    echo "BEGIN;"
    echo "$TOKEN;"
    printf '%s\n' '\if :a' "${Q[bulk_${side}_a]};" '\else' "${Q[bulk_${side}_b]};" '\endif'
    echo "COMMIT;"
  } > "$TMP/bulk_$side.sql"
done
# pgbench -M prepared turns every :name into a parameter, even in a
# literal: the only ones must be :id, :t and :a (JSON is written with ": ")
for f in "$TMP"/*_qs.sql "$TMP"/*_hand.sql; do
  # shellcheck disable=SC1003  # '^\\' is a regex for a leading backslash
  stray="$(grep -v '^\\' "$f" | sed 's/::[a-z]*//g' | grep -o -E ':[A-Za-z0-9_]+' | grep -v -x -e ':id' -e ':t' -e ':a' | sort -u | tr '\n' ' ' || true)"
  [ -z "$stray" ] || die "$(basename "$f") has pgbench variables other than :id, :t and :a: $stray"
done

# ---------------------------------------------------------------------
# 3. correctness: qs and hand return the same JSON on both clusters
# ---------------------------------------------------------------------
# tenant_sql SQL: SQL in the tenant's transaction, rolled back
tenant_sql() { printf 'BEGIN;\n%s \\g /dev/null\n%s;\nROLLBACK;\n' "$TOKEN" "$1"; }
NCHECK=0
check_read() {  # cluster qs-statement hand-statement [id]
  local c="$1" qk="$2" hk="$3" id="${4:-0}" w="$3" out
  # each statement on its own, as pgbench sends it (in one statement with a
  # distributed table, Citus would push the qs call down to a worker)
  out="$(tenant_sql "SELECT coalesce(v::jsonb, 'null') AS v FROM (${Q[$qk]}) q(v) \\gset qs_
SELECT coalesce(v::jsonb, 'null') AS v FROM (${Q[$hk]}) h(v) \\gset hand_
SELECT :'qs_v'::jsonb = :'hand_v'::jsonb, :'qs_v'::jsonb NOT IN ('null', '[]'), :'qs_v', :'hand_v'" \
         | as_app "$c" -At -F $'\t' -v id="$id" -v t=5 -f - 2>&1)" || die "$w (id $id) failed on ${CNAME[$c]}: $out"
  case "$out" in
    $'t\tt\t'*) NCHECK=$((NCHECK + 1));;
    $'t\tf\t'*) die "$w (id $id) on ${CNAME[$c]}: both sides are empty, the data is not what the benchmark expects";;
    *) echo "$out" | cut -c1-2000 >&2; die "$w (id $id) on ${CNAME[$c]}: qs and hand-written SQL differ (qs, then hand, above)";;
  esac
}
check_bulk() {  # cluster side set
  local c="$1" side="$2" set="$3" off=0 out
  [ "$set" = b ] && off=2
  out="$(tenant_sql "SELECT ($SNAPSHOT) <> ($(expected "$off")) AS before_differs;
${Q[bulk_${side}_$set]};
SELECT ($SNAPSHOT) = ($(expected "$off")) AS after_matches" | as_app "$c" -At -f - 2>&1)" \
    || die "bulk_$side (set $set) failed on ${CNAME[$c]}: $(echo "$out" | cut -c1-500)"
  # qs.bulk_update prints its count; the hand UPDATE prints nothing under -q
  local want=$'t\nt'
  [ "$side" = qs ] && want=$'t\n'"$NROWS"$'\nt'
  [ "$out" = "$want" ] || die "bulk_$side (set $set) on ${CNAME[$c]}: expected rows changed / count $NROWS / rows as set $set, got: $(echo "$out" | tr '\n' ' ' | cut -c1-300)"
  NCHECK=$((NCHECK + 1))
}
log "checking qs against the hand-written SQL"
for c in "${CLUSTERS[@]}"; do
  for id in 1 17 150 200 400; do
    check_read "$c" pk_qs pk_hand "$id"
    check_read "$c" pk_qs pkparam_hand "$id"
    check_read "$c" graph_qs graph_hand "$id"
  done
  check_read "$c" dashboard_qs dashboard_hand
  for set in a b; do check_bulk "$c" qs "$set"; check_bulk "$c" hand "$set"; done
done
# the same answers on both clusters (the data are the same)
for w in pk graph dashboard; do
  for c in "${CLUSTERS[@]}"; do
    tenant_sql "SELECT md5(coalesce(v::jsonb::text, '')) FROM (${Q[${w}_qs]}) q(v)" | as_app "$c" -At -v id=150 -f - > "$TMP/same.$c" \
      || die "$w failed on ${CNAME[$c]}"
  done
  cmp -s "$TMP/same.one" "$TMP/same.citus" || die "$w returns different JSON on the single node and on Citus"
done
log "checked: $NCHECK qs/hand pairs, all equal"

# routing on Citus: statements sent to the workers (citus.log_remote_commands,
# without the transaction control) and the nodes they went to
declare -A ROUTE
route() {  # workload side [SQL] -> "statements/nodes"
  local w="$1" side="$2" sql="${3:-}" out stmts nodes
  if [ -n "$sql" ]; then :; elif [ "$w" = bulk ]; then sql="${Q[bulk_${side}_a]}"; else sql="${Q[${w}_$side]}"; fi
  out="$(printf 'BEGIN;\n%s \\g /dev/null\nSET LOCAL citus.log_remote_commands = on;\nSET LOCAL client_min_messages = log;\n%s \\g /dev/null\nROLLBACK;\n' "$TOKEN" "$sql" \
         | as_app citus -At -v id=150 -f - 2>&1)" || die "routing check of ${w}_$side failed: $(echo "$out" | cut -c1-500)"
  stmts="$(echo "$out" | grep 'issuing ' | grep -c -v -E 'issuing (BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|PREPARE|SET |SELECT assign_distributed_transaction_id)' || true)"
  nodes="$(echo "$out" | grep -o 'on server [^ ]*' | sort -u | wc -l || true)"
  echo "$out" | grep 'issuing ' | cut -c1-300 > "$TMP/route.${w}_$side"
  echo "$stmts/$nodes"
}
NOT_ROUTED=0
for w in "${WORKLOADS[@]}"; do
  for side in qs hand; do
    ROUTE[${w}_$side]="$(route "$w" "$side")"
    if [ "${ROUTE[${w}_$side]}" != 1/1 ]; then
      NOT_ROUTED=$((NOT_ROUTED + 1))
      log "NOTE: ${w}_$side is not one statement on one node on Citus (statements/nodes ${ROUTE[${w}_$side]}):"
      head -4 "$TMP/route.${w}_$side" | sed 's/^/    /' >&2
    fi
  done
done
# for the report: the hand-written graph correlated on o.tenant_id only
NAIVE_ROUTE="$(route graph naive "$GRAPH_NAIVE")"
log "routing (statements/nodes): $(for w in "${WORKLOADS[@]}"; do echo -n "$w ${ROUTE[${w}_qs]} ${ROUTE[${w}_hand]}; "; done)"

# ---------------------------------------------------------------------
# 4. timing: all 16 scripts interleaved, round after round
# ---------------------------------------------------------------------
run() {  # variant seconds [round] -> "tps latency"
  local v="$1" c="${1%%_*}"
  pgbench_run "$v" -n -M "$MODE" --random-seed="$SEED" -U qs_app -h "${HOST[$c]}" -p "${CPORT[$c]}" \
    -c "$CLIENTS" -j "$CLIENTS" -T "$2" -f "$TMP/${v#*_}.sql" "$DB"
  if [ -n "${3:-}" ]; then log "round $3 $v: $PGB_TPS tps, $PGB_LAT ms"; fi
  echo "$PGB_TPS $PGB_LAT"
}
VARIANTS=()
for w in "${WORKLOADS[@]}"; do
  for c in "${CLUSTERS[@]}"; do VARIANTS+=("${c}_${w}_qs" "${c}_${w}_hand"); done
  if [ "$w" = pk ]; then VARIANTS+=(one_pkparam_hand citus_pkparam_hand); fi
done
log "timing ${#VARIANTS[@]} scripts: ${WARMUP}s warm-up, $ROUNDS rounds of ${PER}s, $CLIENTS client(s), -M $MODE"
t0=$(date +%s)
interleave run "$TMP/res." "$WARMUP" "$ROUNDS" "$PER" "${VARIANTS[@]}"
RUNSECS=$(( $(date +%s) - t0 ))
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
declare -A TPS LAT
for v in "${VARIANTS[@]}"; do
  TPS[$v]="$(awk '{ print $1 }' "$TMP/res.$v" | median %.1f)"
  LAT[$v]="$(awk '{ print $2 }' "$TMP/res.$v" | median %.3f)"
done
# ratios are paired by round (the four scripts of a workload run back to
# back, so a burst of other work on the machine hits both sides of a pair)
# pratio A B COL: the median over the rounds of A / B in the same round,
# COL 1 = TPS, 2 = latency
pratio() { paste -d' ' "$TMP/res.$1" "$TMP/res.$2" | awk -v c="$3" '{ print $c / $(c + 2) }' | median %.2f; }
# prange A B COL: "lo-hi" of those per-round ratios
prange() {
  paste -d' ' "$TMP/res.$1" "$TMP/res.$2" | awk -v c="$3" '
    { r = $c / $(c + 2); if (NR == 1 || r < lo) lo = r; if (NR == 1 || r > hi) hi = r }
    END { printf "%.2f-%.2f", lo, hi }'
}
# table COL: the figures (medians) and ratios of every workload
table() {
  local col="$1" w a b x y fmt="%-24s | %8s %8s %7s | %8s %8s %7s | %8s %8s\n"
  # shellcheck disable=SC2059  # the format is the table's
  printf "$fmt" "" "1 node" "" "" "Citus" "" "" "Citus/1 node" ""
  # shellcheck disable=SC2059
  printf "$fmt" workload qs hand qs/hand qs hand qs/hand qs hand
  for w in "${WORKLOADS[@]}"; do
    if [ "$col" = 1 ]; then
      a="${TPS[one_${w}_qs]}"; b="${TPS[one_${w}_hand]}"; x="${TPS[citus_${w}_qs]}"; y="${TPS[citus_${w}_hand]}"
    else
      a="${LAT[one_${w}_qs]}"; b="${LAT[one_${w}_hand]}"; x="${LAT[citus_${w}_qs]}"; y="${LAT[citus_${w}_hand]}"
    fi
    # shellcheck disable=SC2059
    printf "$fmt" "${WNAME[$w]}" "$a" "$b" "$(pratio "one_${w}_qs" "one_${w}_hand" "$col")" \
      "$x" "$y" "$(pratio "citus_${w}_qs" "citus_${w}_hand" "$col")" \
      "$(pratio "citus_${w}_qs" "one_${w}_qs" "$col")" "$(pratio "citus_${w}_hand" "one_${w}_hand" "$col")"
  done
}

# ---------------------------------------------------------------------
# 5. report
# ---------------------------------------------------------------------
CITUS_VERSION="$(as_su citus -At -c "SELECT citus_version()" | sed 's/ on .*//')"
QS_VERSION="$(as_su citus -At -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_queryset'")"
{
  echo "pg_queryset on Citus: the tenant workload, 1 node vs coordinator + 2 workers ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo "machine:    $(nproc) cores ($(uname -srm)); all three Citus nodes, the single node and pgbench share them"
  echo "load:       load average $LOAD_BEFORE before, $LOAD_AFTER after timing (other work on the machine adds noise)"
  echo "postgresql: $(as_su one -At -c "SHOW server_version")"
  echo "citus:      $CITUS_VERSION (coordinator 127.0.0.1:$COORD, workers :$((COORD + 1)) :$((COORD + 2)), over TCP); single node: unix socket, no Citus"
  echo "pg_queryset: $QS_VERSION (installed build)"
  echo "data:       test/citus/setup.sql on both (100 tenants x 400 orders, 800 items each, tenant scoping on every table)"
  echo "            + 200 items for tenant 5 (1,000); every transaction is tenant 5's, as role qs_app"
  echo "pgbench:    -M $MODE, $CLIENTS client(s), QS_BENCH_SECONDS=$SECONDS_RUN s per script in $ROUNDS interleaved rounds of ${PER}s, ${WARMUP}s warm-up each"
  echo "            transaction: BEGIN; qs.set_tenant_token(token); <statement>; COMMIT"
  echo "settings:   $(settings_line 'CITUS_[A-Z]+')"
  echo "checked:    $NCHECK qs/hand pairs return the same JSON (::jsonb =) or leave the same rows; time: setup ${SETUPSECS}s, timing ${RUNSECS}s"
  echo
  echo "mean latency per transaction, ms, medians over the rounds (ratios: the median of the per-round"
  echo "ratios of latencies, > 1 = the first is slower)"
  table 2
  echo "reference: the PK lookup's hand SQL with the tenant as a parameter (o.tenant_id = \$1, as qs binds it"
  echo "  in its own statement): 1 node ${LAT[one_pkparam_hand]} ms (qs/it $(pratio one_pk_qs one_pkparam_hand 2)," \
    "it/literal $(pratio one_pkparam_hand one_pk_hand 2)), Citus ${LAT[citus_pkparam_hand]} ms" \
    "(qs/it $(pratio citus_pk_qs citus_pkparam_hand 2), it/literal $(pratio citus_pkparam_hand citus_pk_hand 2))"
  echo "spread of the per-round qs/hand latency ratios (lo-hi; the machine's noise):"
  for w in "${WORKLOADS[@]}"; do
    printf "  %-24s 1 node %s, Citus %s\n" "${WNAME[$w]}" "$(prange "one_${w}_qs" "one_${w}_hand" 2)" "$(prange "citus_${w}_qs" "citus_${w}_hand" 2)"
  done
  echo
  echo "throughput, transactions/s, medians (ratios of TPS, paired by round: < 1 = the first is slower)"
  table 1
  echo
  echo "routing on Citus (citus.log_remote_commands: statements sent to workers / nodes, transaction control left out):"
  for w in "${WORKLOADS[@]}"; do
    printf "  %-24s qs %s, hand %s\n" "${WNAME[$w]}" "${ROUTE[${w}_qs]}" "${ROUTE[${w}_hand]}"
  done
  if [ "$NOT_ROUTED" -gt 0 ]; then
    echo "  NOTE: $NOT_ROUTED statement(s) not routed to a single shard (see the log)"
  else
    echo "  every statement went to one shard on one worker (plus the BEGIN carrying the tenant token)"
  fi
  echo "  (the hand-written graph with its items' subquery correlated on o.tenant_id instead of naming"
  echo "  tenant 5, the same result: $NAIVE_ROUTE, i.e. every shard; qs names the tenant at every level)"
  echo
  echo "rounds (tps latency):"
  for v in "${VARIANTS[@]}"; do echo "  $v: $(tr '\n' ';' < "$TMP/res.$v" | sed 's/;$//; s/;/; /g')"; done
  echo
  echo "statements:"
  echo "  token:  $TOKEN"
  for w in pk graph dashboard; do
    for side in qs hand; do echo "  ${w}_$side: $(echo "${Q[${w}_$side]}" | tr -s '\n ' ' ')"; done
  done
  echo "  bulk_qs: $(echo "${Q[bulk_qs_a]}" | cut -c1-150)... (1,000 rows)"
  echo "  bulk_hand: $(awk '{ gsub(/[{][0-9,]*[}]/, "{...}"); print }' <<< "${Q[bulk_hand_a]}")"
} > "$TMP/report.txt"
publish_report "$TMP/report.txt"
