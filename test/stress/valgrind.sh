#!/usr/bin/env bash
# The regression suite under valgrind (issue 8): a throw-away cluster whose
# postmaster runs under memcheck (backends are forked from it, so every
# backend is checked), the pg_regress files of QS_VALGRIND_TESTS against
# it, then every valgrind report is read.  Pass: no invalid read or write,
# no use of uninitialised memory and no definite leak with a frame in
# pg_queryset.so.  (Reports from PostgreSQL's own code - uninitialised
# padding written to WAL and the like, which PostgreSQL's source tree
# suppresses with its own valgrind.supp - are counted but not failed.)
#
# Debian's PostgreSQL is not built with USE_VALGRIND, so memcheck sees
# palloc's blocks, not its chunks: an overrun inside a block goes unseen,
# while a read of memory whose context was deleted (the class of bug the
# fault test once found) is reported, since the blocks go back to malloc.
#
# A check that did not run has failed: no valgrind, a server that did not
# start or does not run under memcheck, no process log, no regression file
# or fewer files run than listed is FAIL with the reason; the summary's
# inputs are the regression files pg_regress really ran.
#
#   QS_VALGRIND=/path/to/valgrind   the binary (default: valgrind on PATH)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$(pwd)"
PORT="${QS_VALGRIND_PORT:-$(( ${QS_PGPORT:-54329} + 11 ))}"
TESTS="${QS_VALGRIND_TESTS:-setup extension queryset lookups terminals errors plancache cursor relations nested expressions aggregates writes bulkload reentrancy querystats managers tenant tenant_hardening django_semantics composite_keys set_operations}"
BASE="/tmp/pg_queryset-valgrind-$PORT"
VALGRIND="${QS_VALGRIND:-valgrind}"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
fail_now() {  # REASON
  echo "VALGRIND FAIL: $1"
  echo "STRESS valgrind inputs=${ran:-0} crashes=0 unexpected=${ours:-0} violations=0 leaks=${leaks:-0}"
  exit 1
}
trap 'rc=$?; fail_now "a step failed (exit $rc, line $LINENO): $BASH_COMMAND"' ERR
[ -n "$(echo $TESTS)" ] || fail_now "no regression file to run (QS_VALGRIND_TESTS is empty)"
for t in $TESTS; do [ -f "sql/$t.sql" ] || fail_now "no regression file sql/$t.sql"; done
VALGRIND_PATH="$(command -v "$VALGRIND" 2>/dev/null)" && [ -x "$VALGRIND_PATH" ] \
  || fail_now "valgrind is not installed ('$VALGRIND' not found; Debian package valgrind, scripts/install-deps.sh valgrind)"
BIN="$(pg_config --bindir)"

stop() {
  if [ -f "$BASE/data/postmaster.pid" ]; then
    as_pg "$BIN/pg_ctl" -D "$BASE/data" -m fast -w -t 300 stop >/dev/null 2>&1 || true
  fi
}
trap 'stop; rm -rf "$BASE/data"' EXIT

rm -rf "$BASE"; mkdir -p "$BASE/sock" "$BASE/vg"
chown -R postgres:postgres "$BASE" 2>/dev/null || true
as_pg "$BIN/initdb" -D "$BASE/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
cat >> "$BASE/data/postgresql.conf" <<CONF
port = $PORT
unix_socket_directories = '$BASE/sock'
listen_addresses = ''
fsync = off
shared_preload_libraries = 'pg_queryset'
max_parallel_workers_per_gather = 0
log_min_messages = warning
lc_messages = 'C'
CONF
echo "-- starting the postmaster under valgrind (port $PORT)"
as_pg bash -c "'$VALGRIND_PATH' --quiet --tool=memcheck --error-limit=no --num-callers=40 --track-origins=no --fullpath-after= \
  --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
  --log-file='$BASE/vg/vg.%p.log' '$BIN/postgres' -D '$BASE/data' > '$BASE/server.log' 2>&1 &"
for _ in $(seq 600); do
  PGHOST="$BASE/sock" PGPORT="$PORT" psql -X -At -U postgres -d postgres -c "SELECT 1" >/dev/null 2>&1 && break
  sleep 0.5
done
export PGHOST="$BASE/sock" PGPORT="$PORT" PGUSER=postgres
psql -X -At -d postgres -c "SELECT 'server up: ' || version()" \
  || fail_now "the server under valgrind did not start: $(tail -5 "$BASE/server.log" 2>/dev/null | tr '\n' ' ')"
# the postmaster must really run under memcheck (else nothing is checked)
pm_pid="$(head -1 "$BASE/data/postmaster.pid")"
pm_exe="$(readlink "/proc/$pm_pid/exe" 2>/dev/null || true)"
case "$pm_exe" in
  *memcheck*|*valgrind*) echo "postmaster $pm_pid runs under $pm_exe";;
  *) fail_now "the postmaster ($pm_pid) does not run under memcheck: its program is '${pm_exe:-unknown}'";;
esac

start=$(date +%s)
echo "-- pg_regress under valgrind: $TESTS"
set +e
trap - ERR
/usr/lib/postgresql/*/lib/pgxs/src/test/regress/pg_regress --inputdir=. --outputdir="$BASE/out" \
  --dbname=qs_valgrind $TESTS > "$BASE/regress.out" 2>&1
regress_rc=$?
set -e
trap 'rc=$?; fail_now "a step failed (exit $rc, line $LINENO): $BASH_COMMAND"' ERR
tail -3 "$BASE/regress.out"
# the regression files pg_regress really ran ("test NAME ... ok|FAILED")
ran="$(grep -cE '^(test| ) +[A-Za-z0-9_]+ +\.\.\. ' "$BASE/regress.out" || true)"
stop
secs=$(( $(date +%s) - start ))

# Read the reports: one error per block; ours when a frame is in
# pg_queryset.so - named by its object file without debug information, by
# its source file with it (--fullpath-after= prints the whole path: ours
# are src/<file>.c, PostgreSQL's src/backend/..., src/common/...).
OURS='pg_queryset\.so|/src/[a-z_]+\.c:[0-9]+'

ours=0; theirs=0; leaks=0; files=0
: > "$BASE/ours.txt"
: > "$BASE/counts.txt"
procs=$(find "$BASE/vg" -name 'vg.*.log' | wc -l)
for f in "$BASE"/vg/vg.*.log; do
  [ -s "$f" ] || continue
  files=$((files + 1))
  awk -v out="$BASE/ours.txt" -v ours="$OURS" '
    /^==[0-9]+== *$/ { if (blk != "") flush(); blk = ""; next }
    /^==[0-9]+== / { blk = blk $0 "\n"; next }
    END { if (blk != "") flush() }
    function flush(   n, i, k, lines, near, mine) {
      if (blk !~ /(Invalid (read|write|free)|uninitialised|Mismatched free|definitely lost|Source and destination overlap)/) { return }
      # ours: one of the first 6 frames outside valgrind and libc is in our
      # code (a PostgreSQL routine handed a bad pointer by us counts); a
      # leak: its allocation stack passes through our code.  The executor
      # hooks of querystats.c, on every statement, do not count.
      n = split(blk, lines, "\n"); k = 0; near = 0; mine = 0
      for (i = 1; i <= n; i++) {
        if (lines[i] !~ /(at|by) 0x/ || lines[i] ~ /(vgpreload|libc\.so|ld-linux)/) continue
        k++
        if (lines[i] ~ ours && lines[i] !~ /querystats\.c:/) { mine = 1; if (k <= 6) near = 1 }
      }
      if ((blk ~ /definitely lost/) ? mine : near) { print blk > out; o++; if (blk ~ /definitely lost/) l++ } else { t++ }
    }
    END { printf "%d %d %d\n", o, t, l > "/dev/stderr" }' "$f" 2>> "$BASE/counts.txt"
done
while read -r o t l; do ours=$((ours + o)); theirs=$((theirs + t)); leaks=$((leaks + l)); done < "$BASE/counts.txt"
listed=$(echo "$TESTS" | wc -w)
echo "== valgrind (memcheck): $ran of $listed regression files run, ${secs}s, $procs processes logged ($files with reports) =="
echo "regression under valgrind: $([ "$regress_rc" = 0 ] && echo passed || echo "FAILED ($regress_rc)")"
echo "errors in pg_queryset code: $ours (definite leaks: $leaks); reports in PostgreSQL's own code (not ours): $theirs"
if [ "$ours" -gt 0 ]; then head -c 6000 "$BASE/ours.txt"; fi
reason=""
[ "$ours" = 0 ] || reason="$ours errors in pg_queryset code"
[ "$regress_rc" = 0 ] || { reason="${reason:+$reason; }pg_regress exited $regress_rc"; head -c 4000 "$BASE/out/regression.diffs" 2>/dev/null || true; }
[ "$ran" = "$listed" ] || reason="${reason:+$reason; }pg_regress ran $ran of the $listed regression files"
# the postmaster and at least one backend per file wrote a log
[ "$procs" -gt "$ran" ] || reason="${reason:+$reason; }only $procs processes logged by valgrind"
[ "${QS_VALGRIND_KEEP:-0}" = 1 ] || rm -rf "$BASE/vg" "$BASE/out"
[ -z "$reason" ] || { trap - ERR; fail_now "$reason"; }
echo "VALGRIND PASS"
echo "STRESS valgrind inputs=$ran crashes=0 unexpected=$ours violations=0 leaks=$leaks"
