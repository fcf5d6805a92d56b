#!/usr/bin/env bash
# sqlsmith (Debian's sqlsmith package) against the stress database: random
# SQL over the demo schema and every function the role may call - the qs
# functions with random arguments included - for a bounded number of
# queries, as a role with SELECT on the demo tables.  Pass: no backend
# crash (the postmaster was not restarted, its log shows no backend
# terminated by a signal).
set -euo pipefail
cd "$(dirname "$0")/../.."
DB="${QS_STRESS_DB:-qs_stress}"
QUERIES="${QS_SQLSMITH_QUERIES:-10000}"
SEED="${QS_SQLSMITH_SEED:-20261124}"
eval "$(bash scripts/cluster.sh env)"
LOG="$(dirname "$(psql -X -At -d "$DB" -c "SELECT current_setting('data_directory')")")/server.log"
psql -X -q -d "$DB" -c "ALTER ROLE qs_smith SET track_functions = 'all'" -c "ALTER ROLE qs_smith SET statement_timeout = '2s'" -c "SELECT pg_stat_reset()" >/dev/null
before="$(psql -X -At -d "$DB" -c "SELECT pg_postmaster_start_time()")"
signals_before="$(grep -c 'terminated by signal' "$LOG" 2>/dev/null || true)"
start=$(date +%s)
set +e
timeout 900 sqlsmith --target="host=$PGHOST port=$PGPORT dbname=$DB user=qs_smith" --max-queries="$QUERIES" \
  --seed="$SEED" --exclude-catalog --verbose > /tmp/qs_sqlsmith.out 2>&1
rc=$?
set -e
secs=$(( $(date +%s) - start ))
after="$(psql -X -At -d "$DB" -c "SELECT pg_postmaster_start_time()")"
signals_after="$(grep -c 'terminated by signal' "$LOG" 2>/dev/null || true)"
sleep 1
calls="$(psql -X -At -d "$DB" -c "SELECT coalesce(sum(calls), 0) || ' calls of ' || count(*) || ' qs functions' FROM pg_stat_user_functions WHERE schemaname = 'qs'")"
crashes=0
[ "$before" = "$after" ] || crashes=1
[ "${signals_before:-0}" = "${signals_after:-0}" ] || crashes=1
echo "== sqlsmith ($QUERIES queries, seed $SEED, ${secs}s, exit $rc) =="
grep -E "^(queries|AST stats|error rate)" /tmp/qs_sqlsmith.out | head -5 || true
tail -3 /tmp/qs_sqlsmith.out | sed 's/^/  /'
echo "qs functions reached: $calls"
echo "server restarted: $([ "$before" = "$after" ] && echo no || echo YES); backends killed by a signal: $(( ${signals_after:-0} - ${signals_before:-0} ))"
echo "SQLSMITH $([ "$crashes" = 0 ] && echo PASS || echo FAIL)"
echo "STRESS sqlsmith inputs=$QUERIES crashes=$crashes unexpected=0 violations=0"
psql -X -q -d "$DB" -c "ALTER ROLE qs_smith RESET ALL" >/dev/null
exit "$crashes"
