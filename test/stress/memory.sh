#!/usr/bin/env bash
# Memory growth (issue 8): one session calls each qs function 100,000
# times (QS_MEMORY_CALLS); the backend's memory - the total of its memory
# contexts (pg_backend_memory_contexts) and its resident set (/proc) -
# must stay flat: what it holds after a warm-up of 10,000 calls and half
# the calls is what it holds at the end, within a small allowance.  (The
# resident set counts the shared buffers a backend touches, so the private
# anonymous memory, RssAnon, is measured instead.)  Needs the stress database
# (test/stress/run.sh).  A check that did not run has failed: a case that
# could not run or measure its memory, or no connection, is FAIL with the
# reason, and only the calls of the cases that ran count as inputs.
set -euo pipefail
cd "$(dirname "$0")/../.."
DB="${QS_STRESS_DB:-qs_stress}"
CALLS="${QS_MEMORY_CALLS:-100000}"
WARM=10000
ALLOW_KB="${QS_MEMORY_ALLOW_KB:-1024}"
fail_now() {  # REASON
  echo "MEMORY FAIL: $1"
  echo "STRESS memory inputs=${measured_calls:-0} crashes=0 unexpected=0 violations=0 leaks=${leaky:-0}"
  exit 1
}
trap 'rc=$?; fail_now "a step failed (exit $rc, line $LINENO): $BASH_COMMAND"' ERR
case "$CALLS" in ''|*[!0-9]*|0|1) fail_now "QS_MEMORY_CALLS must be a number of calls of at least 2, got '$CALLS'";; esac
err="$(psql -X -At -v ON_ERROR_STOP=1 -d "$DB" -c "SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'RssAnon:\s+(\d+)'))[1]::bigint" 2>&1)" \
  || fail_now "cannot connect to $DB or read a backend's /proc status: $err"
case "$err" in ''|*[!0-9]*) fail_now "cannot measure a backend's RssAnon (read '$err' from /proc/<pid>/status)";; esac

# name | statement run CALLS times (PERFORM in a loop; i is the counter;
# the loop commits every 1,000 calls, so repeated updates of the same rows
# do not pile up dead versions in one transaction)
CASES=$(cat <<'EOF'
baseline|PERFORM 1
json|PERFORM qs.json('{"model": "catalog_product", "where": {"id__lte": 3, "status": "active"}, "select_related": ["category"]}')
rows|PERFORM count(*) FROM qs.rows('{"model": "catalog_tag", "where": {"id__in": [1, 2, 3]}}')
count|PERFORM qs.count(qs.filter(qs.all('catalog_product'), jsonb_build_object('stock__gte', i % 50)))
get|PERFORM qs.get(jsonb_build_object('model', 'catalog_product', 'where', jsonb_build_object('id', 1 + i % 20)))
nested|PERFORM qs.json('{"model": "shop_order", "where": {"id": 1}, "prefetch_related": ["shop_orderitem__product"]}')
aggregate|PERFORM qs.aggregate('{"model": "shop_orderitem", "where": {"order": 1}}', '{"n": {"Count": "id"}, "s": {"Sum": "quantity"}}')
annotate|PERFORM qs.json('{"model": "catalog_category", "annotate": {"n": {"Count": "catalog_product"}}, "limit": 3}')
builders|PERFORM qs.values(qs.order_by(qs.exclude(qs.all('catalog_product'), '{"status": "archived"}'), '-price'), 'id', 'name')
sql|PERFORM qs.sql(jsonb_build_object('model', 'catalog_product', 'where', jsonb_build_object('name__icontains', 'x' || i)))
update|PERFORM qs.update('{"model": "catalog_product", "where": {"id": 1}}', '{"stock": {"+": [{"F": "stock"}, 0]}}')
create|PERFORM qs.create('catalog_tag', jsonb_build_object('name', 'mem-' || i, 'slug', 'mem-' || i))
bulk_create|PERFORM qs.bulk_create('catalog_tag', jsonb_build_array(jsonb_build_object('name', 'memb-' || i, 'slug', 'memb-' || i)))
bulk_update|PERFORM qs.bulk_update('catalog_product', '[{"id": 1, "stock": 5}, {"id": 2, "stock": 6}]', '{stock}')
errors|BEGIN PERFORM qs.count('{"model": "catalog_product", "where": {"nope": 1}}'); EXCEPTION WHEN undefined_column THEN NULL; END
token|BEGIN PERFORM qs.set_tenant_token('a.b.c'); EXCEPTION WHEN invalid_authorization_specification THEN NULL; END
EOF
)

fail=0
psql -X -q -d "$DB" -c "DELETE FROM catalog_tag WHERE slug LIKE 'mem%'" >/dev/null
TMPD="$(mktemp -d)"
run_case() {  # name stmt -> a line "name calls ctx_mid ctx_end anon_mid anon_end flat" in $TMPD/name
  local name="$1" stmt="$2" out cw rw ce re flat
  out="$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" <<SQL
SET client_min_messages = warning;
CREATE TEMP TABLE m (phase text, ctx bigint, rss bigint);
CREATE FUNCTION pg_temp.rss() RETURNS bigint LANGUAGE sql
  AS \$\$ SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'RssAnon:\\s+(\\d+)'))[1]::bigint \$\$;
DO \$\$ BEGIN FOR i IN 1..$WARM LOOP $stmt; IF i % 1000 = 0 THEN COMMIT; END IF; END LOOP; END \$\$;
-- (measured once before counting: the measuring itself fills caches)
INSERT INTO m SELECT 'warm', (SELECT sum(total_bytes) FROM pg_backend_memory_contexts), pg_temp.rss();
DO \$\$ BEGIN FOR i IN $((WARM + 1))..$((WARM + CALLS / 2)) LOOP $stmt; IF i % 1000 = 0 THEN COMMIT; END IF; END LOOP; END \$\$;
INSERT INTO m SELECT 'mid', (SELECT sum(total_bytes) FROM pg_backend_memory_contexts), pg_temp.rss();
DO \$\$ BEGIN FOR i IN $((WARM + CALLS / 2 + 1))..$((WARM + CALLS)) LOOP $stmt; IF i % 1000 = 0 THEN COMMIT; END IF; END LOOP; END \$\$;
INSERT INTO m SELECT 'end', (SELECT sum(total_bytes) FROM pg_backend_memory_contexts), pg_temp.rss();
SELECT string_agg((ctx / 1024)::text || ' ' || rss, ' ' ORDER BY phase DESC) FROM m WHERE phase <> 'warm';
SQL
)" || { echo "$name failed: $out" > "$TMPD/$name"; return; }
  read -r cw rw ce re <<< "$(echo "$out" | tail -1)"
  # four numbers, or the case did not measure anything (and must not pass)
  for x in "$cw" "$rw" "$ce" "$re"; do
    case "$x" in ''|*[!0-9]*) echo "$name measured nothing: '$(echo "$out" | tail -1)'" > "$TMPD/$name"; return;; esac
  done
  flat=yes
  if [ $((ce - cw)) -gt "$ALLOW_KB" ] || [ $((re - rw)) -gt $((ALLOW_KB * 4)) ]; then flat=NO; fi
  printf "%-12s %10s %12s %12s %12s %12s %8s\n" "$name" "$CALLS" "$cw" "$ce" "$rw" "$re" "$flat" > "$TMPD/$name"
}
# two sessions at a time (2 cores); each case is its own session
names=()
while IFS='|' read -r name stmt; do
  [ -n "$name" ] || continue
  names+=("$name")
  run_case "$name" "$stmt" &
  if [ "$(jobs -rp | wc -l)" -ge "${QS_MEMORY_JOBS:-2}" ]; then wait -n || true; fi
done <<< "$CASES"
wait
echo "memory of one backend after $WARM warm-up calls plus half, and after all $CALLS calls (contexts: pg_backend_memory_contexts; anon: RssAnon)"
printf "%-12s %10s %12s %12s %12s %12s %8s\n" "function" "calls" "ctx mid kB" "ctx end kB" "anon mid kB" "anon end kB" "flat"
measured_calls=0; leaky=0; broken=()
for n in "${names[@]}"; do
  if [ ! -s "$TMPD/$n" ]; then echo "$n did not report"; broken+=("$n"); continue; fi
  cat "$TMPD/$n"
  if grep -qE " (yes|NO)$" "$TMPD/$n"; then
    measured_calls=$(( measured_calls + CALLS + WARM ))
    grep -q " yes$" "$TMPD/$n" || { leaky=$((leaky + 1)); fail=1; }
  else
    broken+=("$n"); fail=1
  fi
done
rm -rf "$TMPD"
# the writes above committed: remove what they stored
psql -X -q -d "$DB" -c "DELETE FROM catalog_tag WHERE slug LIKE 'mem%'" >/dev/null
[ "${#names[@]}" -gt 0 ] || fail_now "no case to run"
[ "${#broken[@]}" = 0 ] || fail_now "${#broken[@]} of ${#names[@]} cases did not run or measure: ${broken[*]}$([ "$leaky" = 0 ] || echo "; $leaky grew")"
echo "MEMORY $([ "$fail" = 0 ] && echo PASS || echo "FAIL: $leaky of ${#names[@]} cases grew")"
echo "STRESS memory inputs=$measured_calls crashes=0 unexpected=0 violations=0 leaks=$leaky"
exit "$fail"
