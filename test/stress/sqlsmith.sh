#!/usr/bin/env bash
# sqlsmith (Debian's sqlsmith package) against the stress database: random
# SQL over the demo schema and every function the role may call - the qs
# functions with random arguments included - for a bounded number of
# queries, as a role with SELECT on the demo tables.  Pass: sqlsmith ran
# and exited normally, it reports the queries it tried (that number, not
# the one asked for, is the summary's inputs) and they are all that was
# asked for, and no backend crashed (the postmaster was not restarted, its
# log - which must be readable - shows no backend terminated by a signal).
# A check that did not run has failed: a missing sqlsmith, a connection
# failure or no query tried is FAIL with the reason, never PASS.
#
#   QS_SQLSMITH=/path/to/sqlsmith   the binary (default: sqlsmith on PATH)
#   QS_SERVER_LOG=/path/server.log  the server's log (default: the one
#                                   scripts/cluster.sh writes)
set -euo pipefail
cd "$(dirname "$0")/../.."
DB="${QS_STRESS_DB:-qs_stress}"
QUERIES="${QS_SQLSMITH_QUERIES:-10000}"
SEED="${QS_SQLSMITH_SEED:-20261124}"
SMITH="${QS_SQLSMITH:-sqlsmith}"
OUTF="$(mktemp /tmp/qs_sqlsmith.XXXXXX)"
role_set=0

fail_now() {  # REASON: the check did not run (completely), so it failed
  echo "SQLSMITH FAIL: $1"
  echo "STRESS sqlsmith inputs=${tried:-0} crashes=${crashes:-0} unexpected=0 violations=0"
  [ "$role_set" = 0 ] || psql -X -q -d "$DB" -c "ALTER ROLE qs_smith RESET ALL" >/dev/null 2>&1 || true
  exit 1
}
trap 'rc=$?; fail_now "a step failed (exit $rc, line $LINENO): $BASH_COMMAND"' ERR
trap 'rm -f "$OUTF"' EXIT

case "$QUERIES" in ''|*[!0-9]*|0) fail_now "QS_SQLSMITH_QUERIES must be a positive number of queries, got '$QUERIES'";; esac
command -v "$SMITH" >/dev/null 2>&1 \
  || fail_now "sqlsmith is not installed ('$SMITH' not found; Debian package sqlsmith, scripts/install-deps.sh sqlsmith)"
eval "$(bash scripts/cluster.sh env)"
datadir="$(psql -X -At -d "$DB" -c "SELECT current_setting('data_directory')" 2>&1)" \
  || fail_now "cannot connect to the stress database $DB: $datadir"
LOG="${QS_SERVER_LOG:-$(dirname "$datadir")/server.log}"
[ -r "$LOG" ] || fail_now "cannot read the server log $LOG (set QS_SERVER_LOG): backend crashes could not be seen"
psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "ALTER ROLE qs_smith SET track_functions = 'all'" \
  -c "ALTER ROLE qs_smith SET statement_timeout = '2s'" -c "SELECT pg_stat_reset()" >/dev/null
role_set=1
before="$(psql -X -At -v ON_ERROR_STOP=1 -d "$DB" -c "SELECT pg_postmaster_start_time()")"
signals_before="$(grep -c 'terminated by signal' "$LOG" || true)"
start=$(date +%s)
set +e
trap - ERR
timeout 900 "$SMITH" --target="host=$PGHOST port=$PGPORT dbname=$DB user=qs_smith" --max-queries="$QUERIES" \
  --seed="$SEED" --exclude-catalog --verbose > "$OUTF" 2>&1
rc=$?
set -e
trap 'rc=$?; fail_now "a step failed (exit $rc, line $LINENO): $BASH_COMMAND"' ERR
secs=$(( $(date +%s) - start ))
# the queries sqlsmith really tried: its last "queries: N" line
tried="$(sed -n 's/^queries: \([0-9][0-9]*\)$/\1/p' "$OUTF" | tail -1)"
tried="${tried:-0}"
after="$(psql -X -At -d "$DB" -c "SELECT pg_postmaster_start_time()" 2>&1 || echo "unreachable")"
signals_after="$(grep -c 'terminated by signal' "$LOG" || true)"
sleep 1
calls="$(psql -X -At -d "$DB" -c "SELECT coalesce(sum(calls), 0) || ' calls of ' || count(*) FILTER (WHERE calls > 0) || ' qs functions' FROM pg_stat_user_functions WHERE schemaname = 'qs'" 2>&1 || true)"
crashes=0
[ "$before" = "$after" ] || crashes=1
[ "${signals_before:-0}" = "${signals_after:-0}" ] || crashes=1
echo "== sqlsmith ($tried of $QUERIES queries tried, seed $SEED, ${secs}s, exit $rc) =="
grep -E "^(queries|AST stats|error rate)" "$OUTF" | tail -3 || true
tail -3 "$OUTF" | sed 's/^/  /'
echo "qs functions reached: $calls"
echo "server restarted: $([ "$before" = "$after" ] && echo no || echo "YES ($after)"); backends killed by a signal: $(( ${signals_after:-0} - ${signals_before:-0} ))"
psql -X -q -d "$DB" -c "ALTER ROLE qs_smith RESET ALL" >/dev/null
role_set=0
reason=""
case "$rc" in
  0) ;;
  126|127) reason="sqlsmith could not be run ('$SMITH', exit $rc): $(head -c 300 "$OUTF" | tr '\n' ' ')";;
  124) reason="sqlsmith did not finish within 900 s (stopped after $tried queries)";;
  *) reason="sqlsmith exited $rc: $(grep -v '^[.eSCT]*$' "$OUTF" | tail -3 | tr '\n' ' ' | head -c 300)";;
esac
if [ -z "$reason" ] && [ "$tried" = 0 ]; then reason="sqlsmith reported no query tried (no 'queries: N' line in its output)"; fi
if [ -z "$reason" ] && [ "$tried" -lt "$QUERIES" ]; then reason="sqlsmith tried $tried of the $QUERIES queries asked for"; fi
if [ "$crashes" != 0 ]; then reason="a backend crashed${reason:+; $reason}"; fi
if [ -n "$reason" ]; then
  trap - ERR
  fail_now "$reason"
fi
echo "SQLSMITH PASS"
echo "STRESS sqlsmith inputs=$tried crashes=0 unexpected=0 violations=0"
