#!/usr/bin/env bash
# Concurrency of pg_queryset's writes under pgbench, against the cluster
# described by PGHOST/PGPORT/PGUSER (scripts/test.sh starts one; by hand:
# eval "$(bash scripts/cluster.sh env)").  Creates and drops its own
# database.  Prints TAP-like "ok N - ..." lines; exit status 0 = all passed.
#
#  1. Conditional decrement on one hot row: CLIENTS clients x TX
#     transactions, each `qs.update` of catalog_product 1 with
#     {"stock__gte": amt} and stock = stock - amt (amt random 1..3), logging
#     the amount and the returned count in the same statement (so in the
#     same transaction).  The stock is enough for only part of the demand:
#     it must reach (near) zero and later decrements must return 0.
#     Checked: stock never negative (the table's CHECK (stock >= 0) is
#     dropped here so that only qs.update's condition guards it), initial -
#     final = sum of the logged successful amounts, successes + failures =
#     transactions, and - through an audit trigger - every successful
#     update saw the previous one's result (no lost update).
#  2. Job-queue claim with qs.update on a slice with select_for_update
#     skip_locked: every job claimed exactly once, the counts returned add
#     up to the number of jobs.
#  3. The same claim done with qs.rows(... select_for_update skip_locked)
#     feeding a plain UPDATE: every row qs.rows locked was still pending.
#
# A check that did not run has failed: no pgbench, no connection, a size
# of 0 or a check whose query returned nothing is "not ok" (or "Bail out!")
# with the reason, never "ok".
#
#   bash test/concurrency.sh
#   QS_CONC_CLIENTS=8 QS_CONC_TX=1000 QS_CONC_STOCK=12000 bash test/concurrency.sh
#   QS_PGBENCH=/path/to/pgbench (default: pgbench on PATH, or in pg_config --bindir)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
command -v pgbench >/dev/null 2>&1 || PATH="$(pg_config --bindir 2>/dev/null):$PATH"
PGBENCH="${QS_PGBENCH:-pgbench}"

db=qs_concurrency
clients="${QS_CONC_CLIENTS:-8}"
tx="${QS_CONC_TX:-1000}"             # transactions per client, scenario 1
stock0="${QS_CONC_STOCK:-12000}"     # initial stock (demand averages 2 per transaction)
jobs="${QS_CONC_JOBS:-5000}"         # jobs in the queue, scenarios 2 and 3
claim_tx="${QS_CONC_CLAIM_TX:-200}"  # claim transactions per client (5 jobs each at most)
threads=$(( clients < 2 ? clients : 2 ))

tmp="$(mktemp -d)"
n=0
failures=0
cleanup() {
  rm -rf "$tmp"
  dropdb --if-exists "$db" >/dev/null 2>&1 || true
}
trap cleanup EXIT

pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); failures=$((failures + 1)); echo "not ok $n - $1"; }
# is GOT WANT DESCRIPTION (an empty value - a query that failed or found
# nothing - never passes, even against an empty want)
is() {
  if [ -n "$1" ] && [ "$1" = "$2" ]; then pass "$3"; else fail "$3"; echo "#   got:  '$1'"; echo "#   want: '$2'"; fi
}
bail() { echo "Bail out! $1"; exit 1; }
for v in clients:"$clients" tx:"$tx" stock0:"$stock0" jobs:"$jobs" claim_tx:"$claim_tx"; do
  case "${v#*:}" in ''|*[!0-9]*|0) bail "${v%%:*} must be a positive number, got '${v#*:}' (QS_CONC_*)";; esac
done
command -v "$PGBENCH" >/dev/null 2>&1 && [ -x "$(command -v "$PGBENCH")" ] \
  || bail "pgbench is not installed ('$PGBENCH' not found; it comes with postgresql-15)"
q() { psql -X -q -tA -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }

# pgbench SCRIPT TOTAL DESCRIPTION: run, and check it completed every transaction
run_pgbench() {
  local script="$1" total="$2" what="$3" rc processed failed t0 t1
  t0=$(date +%s.%N)
  "$PGBENCH" -n -c "$clients" -j "$threads" -t "$(( total / clients ))" -f "$script" "$db" \
    >"$tmp/pgbench.out" 2>"$tmp/pgbench.err"
  rc=$?
  t1=$(date +%s.%N)
  processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$tmp/pgbench.out")
  failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$tmp/pgbench.out")
  echo "# $what: pgbench -c $clients -j $threads -t $(( total / clients )): $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s," \
       "$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$tmp/pgbench.out" | head -1 | cut -d. -f1) tps"
  if [ "$rc" -eq 0 ] && [ "$processed" = "$total" ] && [ "${failed:-0}" = 0 ] \
     && ! grep -qE 'ERROR|aborted' "$tmp/pgbench.err"; then
    pass "$what: pgbench ran $total transactions without errors"
  else
    fail "$what: pgbench ran $total transactions without errors (exit $rc, processed '${processed}', failed '${failed}')"
    sed 's/^/#   /' "$tmp/pgbench.err" | head -20
  fi
}

dropdb --if-exists "$db" >/dev/null 2>&1 || true
createdb "$db" || bail "createdb $db failed (is the cluster running? PGHOST=${PGHOST:-} PGPORT=${PGPORT:-})"
psql -X -q -v ON_ERROR_STOP=1 -v scale=1 -d "$db" >/dev/null <<SQL || bail "loading the demo schema and data"
SET client_min_messages = warning;
CREATE EXTENSION pg_queryset;
\i test/fixtures/demo_schema.sql
\i test/fixtures/demo_data.sql

-- scenario 1: only qs.update's condition keeps the stock from going negative
ALTER TABLE catalog_product DROP CONSTRAINT catalog_product_stock_non_negative;
UPDATE catalog_product SET stock = $stock0 WHERE id = 1;
CREATE TABLE decrement_log (client int NOT NULL, amount int NOT NULL, updated bigint);
CREATE TABLE stock_audit (old_stock int NOT NULL, new_stock int NOT NULL);
CREATE FUNCTION stock_audit() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
  IF NEW.stock IS DISTINCT FROM OLD.stock THEN
    INSERT INTO stock_audit VALUES (OLD.stock, NEW.stock);
  END IF;
  RETURN NULL;
END \$\$;
CREATE TRIGGER stock_audit AFTER UPDATE ON catalog_product
  FOR EACH ROW EXECUTE FUNCTION stock_audit();

-- scenarios 2 and 3: a job queue
CREATE TABLE jobs (id int PRIMARY KEY, status text NOT NULL, worker int);
CREATE TABLE claim_log (client int NOT NULL, claimed bigint, picked bigint);
CREATE TABLE jobs_audit (id int NOT NULL, old_status text, new_status text, worker int);
CREATE FUNCTION jobs_audit() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
  INSERT INTO jobs_audit VALUES (NEW.id, OLD.status, NEW.status, NEW.worker);
  RETURN NULL;
END \$\$;
CREATE TRIGGER jobs_audit AFTER UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_audit();
SQL

echo "# database $db: $clients clients"

# ---------------------------------------------------------------------------
# 1. conditional decrement on one hot row
total=$(( clients * tx ))
# one statement = one transaction: the decrement and its log row commit together
cat >"$tmp/decrement.sql" <<'PGB'
\set amt random(1, 3)
WITH d AS (
  SELECT qs.update(
           jsonb_build_object('model', 'catalog_product',
                              'where', jsonb_build_object('id', 1, 'stock__gte', :amt)),
           jsonb_build_object('stock', jsonb_build_object('-', jsonb_build_array(jsonb_build_object('F', 'stock'), :amt)))) AS n
)
INSERT INTO decrement_log (client, amount, updated) SELECT :client_id, :amt, n FROM d;
PGB
run_pgbench "$tmp/decrement.sql" "$total" "hot-row decrement"

stock=$(q "SELECT stock FROM catalog_product WHERE id = 1")
read -r logged succ fails other succ_sum <<<"$(q "SELECT count(*), count(*) FILTER (WHERE updated = 1),
    count(*) FILTER (WHERE updated = 0), count(*) FILTER (WHERE updated IS DISTINCT FROM 0 AND updated IS DISTINCT FROM 1),
    coalesce(sum(amount) FILTER (WHERE updated = 1), 0) FROM decrement_log" | tr '|' ' ')"
echo "# initial stock $stock0, final stock $stock; $succ successful decrements (total amount $succ_sum), $fails refused"
is "$logged" "$total" "every transaction logged its decrement attempt"
is "$other" "0" "qs.update returned 0 or 1 for every attempt"
is "$(( succ + fails ))" "$total" "successful + refused decrements = transactions ($succ + $fails = $total)"
is "$(q "SELECT stock >= 0 FROM catalog_product WHERE id = 1")" "t" "final stock is not negative ($stock)"
is "$(( stock0 - stock ))" "$succ_sum" "initial - final stock = sum of successful decrements"
is "$(q "SELECT count(*) > 0 AND $stock < 3 FROM decrement_log WHERE updated = 0")" "t" \
   "the stock ran out (final $stock < 3) and later decrements were refused ($fails)"
is "$(q "SELECT count(*) FROM catalog_product WHERE stock < 0")" "0" "no product has a negative stock"

# the audit trail: each successful update started from the stock the previous
# one left (a chain from the initial to the final stock), so none was lost
is "$(q "SELECT count(*) || ' ' || count(DISTINCT old_stock) || ' ' || coalesce(min(new_stock), 0) FROM stock_audit")" \
   "$succ $succ $([ "$succ" -gt 0 ] && echo "$stock" || echo 0)" \
   "one audited update per success, each from a different stock, the lowest ending at the final stock"
is "$(q "SELECT count(*) FROM (SELECT old_stock, new_stock, lead(old_stock) OVER (ORDER BY old_stock DESC) AS next_old,
                                     row_number() OVER (ORDER BY old_stock DESC) AS rn FROM stock_audit) a
          WHERE (rn = 1 AND old_stock <> $stock0) OR (next_old IS NOT NULL AND next_old <> new_stock)
             OR old_stock - new_stock NOT BETWEEN 1 AND 3 OR new_stock < 0")" "0" \
   "the updates form one chain $stock0 -> $stock with steps of 1..3 (no lost update)"
is "$(q "SELECT string_agg(d || ':' || c, ' ' ORDER BY d) FROM (SELECT old_stock - new_stock AS d, count(*) c FROM stock_audit GROUP BY 1) a")" \
   "$(q "SELECT string_agg(amount || ':' || c, ' ' ORDER BY amount) FROM (SELECT amount, count(*) c FROM decrement_log WHERE updated = 1 GROUP BY 1) a")" \
   "the audited steps are exactly the logged successful amounts"
is "$(q "SELECT count(DISTINCT client) FROM decrement_log WHERE updated = 1")" "$clients" \
   "every client decremented successfully at least once"

# ---------------------------------------------------------------------------
# 2. job queue: qs.update on a slice with select_for_update skip_locked
reset_jobs() {
  q "TRUNCATE jobs, claim_log, jobs_audit;
     INSERT INTO jobs SELECT g, 'pending', NULL FROM generate_series(1, $jobs) g;" || bail "filling jobs"
}
check_claims() {  # WHAT
  local what="$1" claimed
  claimed=$(q "SELECT coalesce(sum(claimed), 0) FROM claim_log")
  echo "# $what: $jobs jobs; claims per worker: $(q "SELECT string_agg(worker || ':' || c, ' ' ORDER BY worker)
        FROM (SELECT worker, count(*) c FROM jobs GROUP BY worker) w");" \
       "$(q "SELECT count(*) FILTER (WHERE claimed = 5) || ' full claims, ' || count(*) FILTER (WHERE claimed BETWEEN 1 AND 4)
             || ' partial, ' || count(*) FILTER (WHERE claimed = 0) || ' empty' FROM claim_log")"
  is "$(q "SELECT count(*) FROM jobs WHERE status <> 'done' OR worker IS NULL")" "0" "$what: no job left pending"
  is "$claimed" "$jobs" "$what: the claims returned add up to the number of jobs"
  is "$(q "SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || count(*) FILTER (WHERE old_status = 'pending' AND new_status = 'done')
           FROM jobs_audit")" "$jobs $jobs $jobs" "$what: every job was updated exactly once, from pending to done"
  is "$(q "SELECT count(*) FROM claim_log WHERE claimed NOT BETWEEN 0 AND 5")" "0" "$what: no claim took more than 5 jobs"
  is "$(q "SELECT count(*) FROM (SELECT client, sum(claimed) s FROM claim_log GROUP BY client) l
            FULL JOIN (SELECT worker, count(*) c FROM jobs GROUP BY worker) j ON j.worker = l.client
           WHERE coalesce(l.s, 0) <> coalesce(j.c, 0)")" "0" \
     "$what: each client's claimed count matches the jobs that carry its id"
  is "$(q "SELECT count(DISTINCT worker) > 1 FROM jobs")" "t" "$what: the jobs were shared among several clients"
}

reset_jobs
cat >"$tmp/claim.sql" <<'PGB'
WITH c AS (
  SELECT qs.update('{"model": "jobs", "where": {"status": "pending"}, "order_by": ["id"], "limit": 5,
                     "select_for_update": {"skip_locked": true}}',
                   jsonb_build_object('status', 'done', 'worker', :client_id)) AS n
)
INSERT INTO claim_log (client, claimed) SELECT :client_id, n FROM c;
PGB
run_pgbench "$tmp/claim.sql" "$(( clients * claim_tx ))" "qs.update claim"
check_claims "qs.update claim"

# ---------------------------------------------------------------------------
# 3. job queue: qs.rows(select_for_update skip_locked) feeding an UPDATE
reset_jobs
cat >"$tmp/claim_rows.sql" <<'PGB'
WITH c AS MATERIALIZED (
  SELECT (r->>'id')::int AS id
    FROM qs.rows('{"model": "jobs", "where": {"status": "pending"}, "order_by": ["id"], "limit": 5,
                   "select_for_update": {"skip_locked": true}}') r
), u AS (
  UPDATE jobs j SET status = 'done', worker = :client_id
    FROM c WHERE j.id = c.id AND j.status = 'pending'
  RETURNING j.id
)
INSERT INTO claim_log (client, claimed, picked)
SELECT :client_id, (SELECT count(*) FROM u), (SELECT count(*) FROM c);
PGB
run_pgbench "$tmp/claim_rows.sql" "$(( clients * claim_tx ))" "qs.rows claim"
check_claims "qs.rows claim"
is "$(q "SELECT count(*) FROM claim_log WHERE picked IS DISTINCT FROM claimed")" "0" \
   "qs.rows claim: every row qs.rows locked was still pending (none claimed twice)"

echo "1..$n"
if [ "$failures" -eq 0 ]; then
  echo "# concurrency: all $n tests passed"
  exit 0
fi
echo "# concurrency: $failures of $n tests FAILED"
exit 1
