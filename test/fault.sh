#!/usr/bin/env bash
# Fault test: kill -9 a backend in the middle of a large qs.bulk_update (and
# of a large qs.bulk_create), let the postmaster reinitialize and run crash
# recovery, and show that all or none of the call is there - none, since it
# never committed.  Then run the same call to completion and check the
# extension still works.
#
# Runs against the cluster described by PGHOST/PGPORT/PGUSER (scripts/test.sh
# starts one; by hand: eval "$(bash scripts/cluster.sh env)").  The cluster
# must be local: the script sends SIGKILL to a backend process (directly, or
# through runuser/sudo as postgres).  A backend crash restarts every session
# of the cluster, so do not run it next to other tests.  Creates and drops
# its own database.  Prints TAP-like "ok N - ..." lines; exit 0 = all passed.
#
# A check that did not run has failed: no amcheck (postgresql-contrib), no
# connection, a value the server did not give (an empty postmaster pid or
# checkpoint) is "not ok" (or "Bail out!") with the reason, never "ok".
#
#   bash test/fault.sh
#   QS_FAULT_ROWS=300000 bash test/fault.sh    # rows per call (doubled on retry)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

db=qs_fault
rows="${QS_FAULT_ROWS:-300000}"
tries=3
recover_timeout=60
# what we commit before a kill must survive it, whatever the server's default
export PGOPTIONS="${PGOPTIONS:-} -c synchronous_commit=on -c client_min_messages=warning"

tmp="$(mktemp -d)"
n=0
failures=0
victim_pid=""
witness_pid=""

psql_db() { psql -X -q -tA -v ON_ERROR_STOP=1 "$@"; }
q() { psql_db -d "$db" -c "$1"; }

cleanup() {
  # our own background clients, if still there (their backends first)
  psql_db -d postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                           WHERE application_name IN ('qs_fault_victim', 'qs_fault_witness')" \
    >/dev/null 2>&1 || true
  for p in $victim_pid $witness_pid; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
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
case "$rows" in ''|*[!0-9]*|0) bail "QS_FAULT_ROWS must be a positive number of rows, got '$rows'";; esac
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

kill9() {  # the backend runs as the cluster's OS user
  kill -9 "$1" 2>/dev/null && return 0
  runuser -u postgres -- kill -9 "$1" 2>/dev/null && return 0
  sudo -n -u postgres kill -9 "$1" 2>/dev/null
}

postmaster_pid() { psql_db -d postgres -c "SELECT split_part(pg_read_file('postmaster.pid'), E'\n', 1)" 2>/dev/null; }
checkpoint_lsn() { psql_db -d postgres -c "SELECT checkpoint_lsn FROM pg_control_checkpoint()" 2>/dev/null; }

# Wait (up to recover_timeout s) until the crash restart is over: the witness
# session was terminated by the postmaster and new sessions are accepted.
wait_recovered() {
  local t0
  t0=$(now)
  for _ in $(seq $(( recover_timeout * 5 ))); do
    if { [ -z "$witness_pid" ] || ! kill -0 "$witness_pid" 2>/dev/null; } \
       && [ "$(psql_db -d "$db" -c 'SELECT 1' 2>/dev/null)" = 1 ]; then
      recovered_in=$(secs "$t0" "$(now)")
      return 0
    fi
    sleep 0.2
  done
  return 1
}

start_witness() {
  PGAPPNAME=qs_fault_witness psql -X -tA -d postgres -c "SELECT pg_sleep(600)" >"$tmp/witness.out" 2>&1 &
  witness_pid=$!
  for _ in $(seq 100); do
    [ "$(psql_db -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'qs_fault_witness'")" = 1 ] && return 0
    sleep 0.1
  done
  bail "the witness session did not start"
}

# kill_during LABEL TABLE MIN_GROWTH_BYTES SQL
# Run SQL in a background session; once it has run >= 0.5 s and TABLE has
# grown by MIN_GROWTH_BYTES (so the write is under way), kill -9 its backend
# and wait for crash recovery.  Returns 0 if killed mid-statement, 2 if the
# statement ended before the kill (no crash: retry bigger), 1 on trouble.
kill_during() {
  local label="$1" table="$2" grow="$3" sql="$4"
  local size0 ckpt0 ckpt1 pm0 t0 tk row bpid age size vrc
  q "CHECKPOINT" >/dev/null || return 1
  size0=$(q "SELECT pg_relation_size('$table')")
  ckpt0=$(checkpoint_lsn); pm0=$(postmaster_pid)
  start_witness
  t0=$(now)
  PGAPPNAME=qs_fault_victim psql -X -tA -v ON_ERROR_STOP=1 -d "$db" -c "$sql" >"$tmp/victim.out" 2>&1 &
  victim_pid=$!
  bpid=""
  for _ in $(seq 2400); do        # 0.05 s steps, 120 s at most
    kill -0 "$victim_pid" 2>/dev/null || break
    row=$(q "SELECT pid, extract(epoch FROM clock_timestamp() - query_start) >= 0.5,
                    pg_relation_size('$table') - $size0
               FROM pg_stat_activity WHERE application_name = 'qs_fault_victim' AND state = 'active'" 2>/dev/null)
    if [ -n "$row" ]; then
      IFS='|' read -r bpid age size <<<"$row"
      if [ "$age" = t ] && [ "$size" -ge "$grow" ]; then
        tk=$(now)
        kill9 "$bpid" || { echo "# cannot send SIGKILL to backend $bpid (run as root or postgres)"; return 1; }
        break
      fi
    fi
    sleep 0.05
  done
  wait "$victim_pid"; vrc=$?
  victim_pid=""
  if [ "$vrc" -eq 0 ]; then
    echo "# $label: the statement finished ($(secs "$t0" "$(now)") s, returned $(tr -d '\n' <"$tmp/victim.out")) before the kill"
    if [ -n "${tk:-}" ]; then wait_recovered || return 1; fi   # our kill may still have hit the idle backend
    psql_db -d postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'qs_fault_witness'" >/dev/null
    wait "$witness_pid" 2>/dev/null; witness_pid=""
    return 2
  fi
  if [ -z "${tk:-}" ]; then
    fail "$label: the statement failed before it could be killed: $(tr '\n' ' ' <"$tmp/victim.out")"
    wait_recovered || true
    return 1
  fi
  echo "# $label: killed backend $bpid $(secs "$t0" "$tk") s into the statement, $(( size / 1048576 )) MB written to $table"
  if grep -q "server closed the connection unexpectedly" "$tmp/victim.out"; then
    pass "$label: the backend was killed in the middle of the statement"
  else
    fail "$label: the backend was killed in the middle of the statement (psql said: $(tr '\n' ' ' <"$tmp/victim.out"))"
  fi
  if ! wait_recovered; then
    fail "$label: the cluster accepts connections again within $recover_timeout s"
    bail "the server did not come back"
  fi
  pass "$label: the cluster accepts connections again (after $recovered_in s)"
  wait "$witness_pid" 2>/dev/null; witness_pid=""
  if grep -qE "crash of another server process|server closed the connection unexpectedly" "$tmp/witness.out"; then
    pass "$label: the postmaster reset every other session (crash restart)"
  else
    fail "$label: the postmaster reset every other session (witness said: $(tr '\n' ' ' <"$tmp/witness.out"))"
  fi
  is "$(postmaster_pid)" "$pm0" "$label: the same postmaster reinitialized the cluster (pid $pm0)"
  ckpt1=$(checkpoint_lsn)
  if [ -n "$ckpt0" ] && [ -n "$ckpt1" ] && [ "$ckpt1" != "$ckpt0" ]; then
    pass "$label: crash recovery wrote its end-of-recovery checkpoint"
  else
    fail "$label: crash recovery wrote its end-of-recovery checkpoint (checkpoint before '$ckpt0', after '$ckpt1')"
  fi
  return 0
}

amcheck() {  # TABLE LABEL: a check without amcheck did not run, so it failed
  if [ "$have_amcheck" != t ]; then
    fail "$2: heap and primary key index consistent (amcheck): amcheck is not available ($amcheck_why)"
    return
  fi
  # bt_index_check returns void: count the row it returns, so that an error
  # (no output) cannot look like success
  is "$(q "SELECT count(*) FROM verify_heapam('$1')")|$(q "SELECT count(*) FROM (SELECT bt_index_check('${1}_pkey', true)) c")" "0|1" \
     "$2: heap and primary key index consistent (amcheck)"
}

dropdb --if-exists "$db" >/dev/null 2>&1 || true
createdb "$db" || bail "createdb $db"
psql_db -v scale=1 -d "$db" >/dev/null <<'SQL' || bail "loading the demo schema and data"
SET client_min_messages = warning;
CREATE EXTENSION pg_queryset;
\i test/fixtures/demo_schema.sql
\i test/fixtures/demo_data.sql
SQL
have_amcheck=$(q "SELECT count(*) > 0 FROM pg_available_extensions WHERE name = 'amcheck'")
amcheck_why="the amcheck extension is not installed: Debian package postgresql-contrib"
if [ "$have_amcheck" = t ] && ! amcheck_why="$(q "CREATE EXTENSION amcheck" 2>&1)"; then
  have_amcheck=f
fi
echo "# database $db; postmaster $(postmaster_pid), started $(psql_db -d postgres -c 'SELECT pg_postmaster_start_time()')"

fill_fault_t() {  # ROWS
  q "DROP TABLE IF EXISTS fault_t;
     CREATE TABLE fault_t (id bigint PRIMARY KEY, marker int NOT NULL DEFAULT 0, payload text NOT NULL);
     INSERT INTO fault_t SELECT g, 0, md5(g::text) FROM generate_series(1, $1) g;" >/dev/null \
    && q "VACUUM ANALYZE fault_t" || bail "filling fault_t"
}
bulk_update_sql() {  # ROWS MARKER
  echo "SELECT qs.bulk_update('fault_t',
          (SELECT jsonb_agg(jsonb_build_object('id', g, 'marker', $2)) FROM generate_series(1, $1) g), '{marker}')"
}
bulk_create_sql() {  # ROWS
  echo "SELECT jsonb_array_length(qs.bulk_create('fault_new',
          (SELECT jsonb_agg(jsonb_build_object('id', g, 'marker', 1, 'payload', md5(g::text))) FROM generate_series(1, $1) g)))"
}

# ---------------------------------------------------------------------------
# 1. qs.bulk_update killed in the middle
N=$rows
rc=2
for try in $(seq $tries); do
  fill_fault_t "$N"
  heap=$(q "SELECT pg_relation_size('fault_t')")
  echo "# bulk_update try $try: $N rows, heap $(( heap / 1048576 )) MB"
  # every updated row gets a new version at the heap's end: wait for a quarter of them
  kill_during "bulk_update ($N rows)" fault_t $(( heap / 4 )) "$(bulk_update_sql "$N" 1)"
  rc=$?
  [ "$rc" -eq 2 ] || break
  N=$(( N * 2 ))
done
[ "$rc" -eq 0 ] || bail "could not kill qs.bulk_update in the middle in $tries tries"

marked=$(q "SELECT count(*) FROM fault_t WHERE marker = 1")
echo "# bulk_update: $marked of $N rows carry the new value after recovery"
is "$(q "SELECT count(*) FILTER (WHERE marker = 1) IN (0, $N) FROM fault_t")" t "bulk_update: all or none of the rows were updated"
is "$marked" 0 "bulk_update: none, since the killed call never committed"
is "$(q "SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || sum(id) || ' ' || count(*) FILTER (WHERE payload = md5(id::text)) FROM fault_t")" \
   "$N $N $(( N * (N + 1) / 2 )) $N" "bulk_update: every row is there once, unchanged"
amcheck fault_t "bulk_update"
is "$(q "SELECT qs.count('{\"model\": \"catalog_product\"}')")" 1000 "the extension works after recovery (qs.count on catalog_product)"
is "$(q "SELECT qs.count('{\"model\": \"fault_t\", \"where\": {\"marker\": 0}}')")" "$N" "qs.count sees every fault_t row unmarked"

t0=$(now)
got=$(q "$(bulk_update_sql "$N" 1)")
echo "# bulk_update of $N rows to completion: $(secs "$t0" "$(now)") s"
is "$got" "$N" "bulk_update run again to completion returns $N"
is "$(q "SELECT count(*) FROM fault_t WHERE marker = 1")" "$N" "bulk_update: now all $N rows carry the new value"
is "$(q "SELECT qs.count('{\"model\": \"fault_t\", \"where\": {\"marker\": 1}}')")" "$N" "qs.count agrees"

# ---------------------------------------------------------------------------
# 2. qs.bulk_create killed in the middle
q "CREATE TABLE fault_new (id bigint PRIMARY KEY, marker int NOT NULL, payload text NOT NULL);
   INSERT INTO fault_new SELECT -g, 0, md5((-g)::text) FROM generate_series(1, 10) g;" >/dev/null \
  || bail "creating fault_new"
M=$rows
rc=2
for try in $(seq $tries); do
  echo "# bulk_create try $try: $M rows"
  # a row takes some 70 bytes: wait for about a quarter of them
  kill_during "bulk_create ($M rows)" fault_new $(( M * 70 / 4 )) "$(bulk_create_sql "$M")"
  rc=$?
  [ "$rc" -eq 2 ] || break
  q "DELETE FROM fault_new WHERE id > 0" >/dev/null && q "VACUUM fault_new"
  M=$(( M * 2 ))
done
[ "$rc" -eq 0 ] || bail "could not kill qs.bulk_create in the middle in $tries tries"

created=$(q "SELECT count(*) FROM fault_new WHERE id > 0")
echo "# bulk_create: $created of $M rows present after recovery"
is "$(q "SELECT count(*) FILTER (WHERE id > 0) IN (0, $M) FROM fault_new")" t "bulk_create: all or none of the rows are there"
is "$created" 0 "bulk_create: none, since the killed call never committed"
is "$(q "SELECT count(*) FROM fault_new WHERE id < 0")" 10 "bulk_create: the rows from before are all there"
amcheck fault_new "bulk_create"
is "$(q "SELECT qs.count('{\"model\": \"fault_new\"}')")" 10 "qs.count on fault_new after recovery"

# The same call to completion (this once crashed the backend: results were
# built in SPI's memory and read after SPI_finish; fixed in write.c/exec.c).
start_witness
t0=$(now)
got=$(q "$(bulk_create_sql "$M")" 2>&1)
echo "# bulk_create of $M rows to completion: $(secs "$t0" "$(now)") s"
is "$(echo "$got" | tr '\n' ' ' | sed 's/ *$//')" "$M" "bulk_create run again to completion returns $M"
if echo "$got" | grep -q "server closed the connection unexpectedly"; then
  echo "# bulk_create: the backend crashed by itself; waiting for crash recovery"
  wait_recovered || bail "the server did not come back within $recover_timeout s"
  echo "# recovered in $recovered_in s"
fi
psql_db -d postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'qs_fault_witness'" >/dev/null
wait "$witness_pid" 2>/dev/null; witness_pid=""
created=$(q "SELECT count(*) FROM fault_new WHERE id > 0")
is "$(q "SELECT count(*) FILTER (WHERE id > 0) IN (0, $M) FROM fault_new")" t \
   "bulk_create run to completion: all or none of the rows are there ($created)"
is "$created" "$M" "bulk_create run to completion: all $M rows are there"
is "$(q "SELECT qs.count('{\"model\": \"catalog_product\", \"where\": {\"stock__gte\": 0}}')")" 1000 "the extension still works at the end"

# ---------------------------------------------------------------------------
# 3. qs.update (one statement over every row) killed in the middle
fill_fault_t "$rows"
U=$rows
rc=2
for try in $(seq $tries); do
  heap=$(q "SELECT pg_relation_size('fault_t')")
  kill_during "update ($U rows)" fault_t $(( heap / 4 )) \
    "SELECT qs.update('{\"model\": \"fault_t\"}', '{\"marker\": {\"+\": [{\"F\": \"marker\"}, 7]}}')"
  rc=$?
  [ "$rc" -eq 2 ] || break
  U=$(( U * 2 )); fill_fault_t "$U"
done
[ "$rc" -eq 0 ] || bail "could not kill qs.update in the middle in $tries tries"
is "$(q "SELECT count(*) FILTER (WHERE marker = 7) IN (0, $U) FROM fault_t")|$(q "SELECT count(*) FILTER (WHERE marker = 7) FROM fault_t")" \
   "t|0" "update: all or none of the rows were updated - none, it never committed"
amcheck fault_t "update"

# 4. a cursor read (qs.cursor, FETCH in chunks) killed between fetches
kill_during "cursor read" fault_t 0 \
  "BEGIN; SELECT qs.cursor('{\"model\": \"fault_t\", \"order_by\": [\"id\"]}', 'c'); FETCH 1000 FROM c; SELECT pg_sleep(30); FETCH 1000 FROM c; COMMIT;"
rc=$?
[ "$rc" -eq 0 ] || fail "cursor read: killed while the cursor was open"
is "$(q "SELECT count(*) FROM pg_cursors")" 0 "cursor read: no cursor survives the crash"
is "$(q "SELECT qs.count('{\"model\": \"fault_t\"}')")" "$U" "cursor read: the table is intact and readable"

# 5. an immediate shutdown and restart in the middle of a COPY-path
#    bulk_create; then the extension's caches and the tenant context
#    start clean in new sessions
q "CREATE TABLE fault_copy (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, payload text NOT NULL)" >/dev/null
datadir=$(q "SHOW data_directory")
PGAPPNAME=qs_fault_victim psql -X -tA -d "$db" -c "SELECT jsonb_array_length(qs.bulk_create('fault_copy',
  (SELECT jsonb_agg(jsonb_build_object('payload', md5(g::text))) FROM generate_series(1, $(( rows * 4 ))) g)))" >"$tmp/victim.out" 2>&1 &
victim_pid=$!
for _ in $(seq 200); do
  [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'qs_fault_victim'
          AND state = 'active' AND clock_timestamp() - query_start > interval '0.5 s'")" = 1 ] && break
  sleep 0.05
done
pm0=$(postmaster_pid)
runuser -u postgres -- "$(pg_config --bindir)/pg_ctl" -D "$datadir" -m immediate -w -t 60 restart >/dev/null 2>&1 \
  || "$(pg_config --bindir)/pg_ctl" -D "$datadir" -m immediate -w -t 60 restart >/dev/null 2>&1 \
  || bail "pg_ctl restart -m immediate failed"
wait "$victim_pid" 2>/dev/null; victim_pid=""
for _ in $(seq 300); do [ "$(q 'SELECT 1' 2>/dev/null)" = 1 ] && break; sleep 0.2; done
pm1=$(postmaster_pid)
if [ -n "$pm0" ] && [ -n "$pm1" ] && [ "$pm1" != "$pm0" ]; then pass "immediate restart: a new postmaster runs ($pm0 -> $pm1)"
else fail "immediate restart: a new postmaster runs (before '$pm0', after '$pm1')"; fi
is "$(q "SELECT count(*) FROM fault_copy")" 0 "immediate restart: the interrupted bulk_create left no row"
is "$(q "SELECT qs.current_tenant() IS NULL")" t "immediate restart: a new session has no tenant"
is "$(q "SELECT entries FROM qs.plan_cache_stats()")" 0 "immediate restart: a new session starts with an empty plan cache"
is "$(q "SELECT jsonb_array_length(qs.bulk_create('fault_copy', '[{\"payload\": \"a\"}, {\"payload\": \"b\"}]'))")" 2 \
   "immediate restart: bulk_create works again"
amcheck fault_copy "immediate restart"

echo "# postmaster $(postmaster_pid), pg_postmaster_start_time() $(psql_db -d postgres -c 'SELECT pg_postmaster_start_time()')"
echo "1..$n"
if [ "$failures" -eq 0 ]; then
  echo "# fault: all $n tests passed"
  exit 0
fi
echo "# fault: $failures of $n tests FAILED"
exit 1
