#!/usr/bin/env bash
# The hardening suite (issue 8, docs/security.md "Hardening"): the spec
# fuzzer, the injection corpus, sqlsmith, the memory-growth test, the
# 16-client load test and the regression suite under valgrind, against
# the cluster of scripts/cluster.sh (the kill -9 and immediate-restart
# faults are test/fault.sh, run by scripts/test.sh).  Prints one summary
# table: inputs tried, crashes, unexpected errors, violations, leaks, and
# each part's result.
#
#   make stress            # or: bash test/stress/run.sh (cluster running)
#
# A check that did not run has failed: a failed install of the suite's
# tools, a part that exits non-zero, prints no summary line or tried no
# input is FAIL, and so is the suite.
#
# Time is bounded (about 15 minutes on 2 cores); the sizes can be set:
# QS_FUZZ_CASES (3000), QS_SQLSMITH_QUERIES (10000), QS_MEMORY_CALLS
# (100000), QS_LOAD_SECONDS (60), QS_VALGRIND_TESTS (17 regression files).
# QS_PYTHON (/usr/bin/python3, which has Debian's python3-psycopg2) runs
# the Python parts; QS_INSTALL_DEPS (scripts/install-deps.sh) installs
# the tools.
set -uo pipefail
cd "$(dirname "$0")/../.."
DB=qs_stress
export QS_STRESS_DB=$DB QS_FUZZ_DSN="dbname=$DB"
PY="${QS_PYTHON:-/usr/bin/python3}"
OUT="$(mktemp)"
trap 'rm -f "$OUT" "$OUT".*' EXIT
status=0
failed=()
note_fail() { status=1; failed+=("$1"); }
verdict() {
  if [ "$status" = 0 ]; then echo "STRESS PASSED"; else echo "STRESS FAILED: ${failed[*]}"; fi
  exit "$status"
}

echo "== stress: tools (sqlsmith, valgrind, python3-psycopg2)"
deps_out="$(bash "${QS_INSTALL_DEPS:-scripts/install-deps.sh}" sqlsmith valgrind python3-psycopg2 2>&1)"
rc=$?
echo "$deps_out" | tail -20
if [ "$rc" != 0 ]; then
  echo "FAIL: installing the suite's tools failed (exit $rc); the parts that need a missing tool fail below"
  note_fail "install-deps(exit $rc)"
fi

eval "$(bash scripts/cluster.sh env)"
echo "== stress: setting up $DB"
if ! err="$(psql -X -At -d postgres -c "SELECT 1" 2>&1)"; then
  echo "FAIL: cannot connect to the cluster (PGHOST=$PGHOST PGPORT=$PGPORT): $err"
  note_fail "cluster"; verdict
fi
if ! err="$( { PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists "$DB" && createdb "$DB" \
               && psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f test/stress/setup.sql >/dev/null; } 2>&1)"; then
  echo "FAIL: setting up $DB failed: $err"
  note_fail "setup"; verdict
fi

part() {  # name command...
  local name="$1"; shift
  local t0 rc lines inputs result reason
  t0=$(date +%s)
  echo "== stress: $name"
  "$@" > "$OUT.$name" 2>&1
  rc=$?
  cat "$OUT.$name"
  lines=$(grep -c "^STRESS $name " "$OUT.$name")
  inputs=$(sed -n "s/^STRESS $name .*inputs=\([0-9][0-9]*\).*/\1/p" "$OUT.$name" | tail -1)
  reason=""
  if [ "$lines" != 1 ]; then reason="printed $lines summary lines, not 1"
  elif [ "$rc" != 0 ]; then reason="exit $rc"
  elif [ -z "$inputs" ] || [ "$inputs" = 0 ]; then reason="no input tried"
  fi
  if [ -n "$reason" ]; then result=FAIL; note_fail "$name($reason)"; echo "FAIL: $name: $reason"; else result=PASS; fi
  if [ "$lines" = 1 ]; then
    grep "^STRESS $name " "$OUT.$name" | sed "s/\$/ seconds=$(( $(date +%s) - t0 )) result=$result/" >> "$OUT"
  else
    echo "STRESS $name inputs=${inputs:-0} seconds=$(( $(date +%s) - t0 )) result=$result" >> "$OUT"
  fi
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
printf "%-10s %10s %8s %11s %11s %6s %8s %7s\n" "part" "inputs" "crashes" "unexpected" "violations" "leaks" "seconds" "result"
awk 'function f(k) { return (k in v && v[k] != "") ? v[k] : "-" }
     { for (i = 3; i <= NF; i++) { split($i, a, "="); v[a[1]] = a[2] }
       printf "%-10s %10s %8s %11s %11s %6s %8s %7s\n", $2, f("inputs"), f("crashes"), f("unexpected"), f("violations"),
              f("leaks"), f("seconds"), f("result"); delete v }' "$OUT"
parts=$(wc -l < "$OUT")
[ "$parts" = 6 ] || { echo "only $parts of 6 parts reported"; note_fail "parts($parts of 6)"; }
verdict
