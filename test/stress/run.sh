#!/usr/bin/env bash
# The hardening suite (issue 8, docs/security.md "Hardening"): the spec
# fuzzer, the injection corpus, sqlsmith, the memory-growth test, the
# 16-client load test and the regression suite under valgrind, against
# the cluster of scripts/cluster.sh (the kill -9 and immediate-restart
# faults are test/fault.sh, run by scripts/test.sh).  Prints one summary
# table: inputs tried, crashes, unexpected errors, violations, leaks.
#
#   make stress            # or: bash test/stress/run.sh (cluster running)
#
# Time is bounded (about 15 minutes on 2 cores); the sizes can be set:
# QS_FUZZ_CASES (3000), QS_SQLSMITH_QUERIES (10000), QS_MEMORY_CALLS
# (100000), QS_LOAD_SECONDS (60), QS_VALGRIND_TESTS (13 regression files).
set -uo pipefail
cd "$(dirname "$0")/../.."
bash scripts/install-deps.sh sqlsmith valgrind python3-psycopg2 >/dev/null
eval "$(bash scripts/cluster.sh env)"
DB=qs_stress
export QS_STRESS_DB=$DB QS_FUZZ_DSN="dbname=$DB"
PY=/usr/bin/python3
OUT="$(mktemp)"
trap 'rm -f "$OUT"' EXIT

echo "== stress: setting up $DB"
PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists "$DB"
createdb "$DB"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f test/stress/setup.sql >/dev/null || { echo "setup failed"; exit 1; }

status=0
part() {  # name command...
  local name="$1"; shift
  local t0
  t0=$(date +%s)
  echo "== stress: $name"
  "$@" > "$OUT.$name" 2>&1 || status=1
  cat "$OUT.$name"
  grep '^STRESS ' "$OUT.$name" | sed "s/\$/ seconds=$(( $(date +%s) - t0 ))/" >> "$OUT"
  rm -f "$OUT.$name"
}
part fuzz "$PY" test/fuzz/fuzz.py
part injection "$PY" test/stress/injection.py
part sqlsmith bash test/stress/sqlsmith.sh
part memory bash test/stress/memory.sh
part load bash test/stress/load.sh
part valgrind bash test/stress/valgrind.sh

echo
echo "== stress summary =="
printf "%-10s %10s %8s %11s %11s %6s %8s\n" "part" "inputs" "crashes" "unexpected" "violations" "leaks" "seconds"
awk '{ for (i = 3; i <= NF; i++) { split($i, a, "="); v[a[1]] = a[2] }
       printf "%-10s %10s %8s %11s %11s %6s %8s\n", $2, v["inputs"], v["crashes"], v["unexpected"], v["violations"],
              (v["leaks"] == "" ? "-" : v["leaks"]), v["seconds"]; delete v }' "$OUT"
parts=$(wc -l < "$OUT")
[ "$parts" = 6 ] || { echo "only $parts of 6 parts reported"; status=1; }
echo "STRESS $([ "$status" = 0 ] && echo PASSED || echo FAILED)"
exit "$status"
