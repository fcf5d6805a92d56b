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
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$(pwd)"
PORT="${QS_VALGRIND_PORT:-$(( ${QS_PGPORT:-54329} + 11 ))}"
TESTS="${QS_VALGRIND_TESTS:-setup extension queryset lookups terminals relations nested expressions aggregates writes bulkload managers tenant}"
BASE="/tmp/pg_queryset-valgrind-$PORT"
BIN="$(pg_config --bindir)"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

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
as_pg bash -c "valgrind --quiet --tool=memcheck --error-limit=no --num-callers=40 --track-origins=no \
  --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
  --log-file='$BASE/vg/vg.%p.log' '$BIN/postgres' -D '$BASE/data' > '$BASE/server.log' 2>&1 &"
for _ in $(seq 600); do
  PGHOST="$BASE/sock" PGPORT="$PORT" psql -X -At -U postgres -d postgres -c "SELECT 1" >/dev/null 2>&1 && break
  sleep 0.5
done
export PGHOST="$BASE/sock" PGPORT="$PORT" PGUSER=postgres
psql -X -At -d postgres -c "SELECT 'server up: ' || version()" || { cat "$BASE/server.log"; exit 1; }

start=$(date +%s)
echo "-- pg_regress under valgrind: $TESTS"
set +e
/usr/lib/postgresql/*/lib/pgxs/src/test/regress/pg_regress --inputdir=. --outputdir="$BASE/out" \
  --dbname=qs_valgrind $TESTS > "$BASE/regress.out" 2>&1
regress_rc=$?
set -e
tail -3 "$BASE/regress.out"
stop
secs=$(( $(date +%s) - start ))

# Read the reports: one error per block; ours when a frame is in pg_queryset.so.
ours=0; theirs=0; leaks=0; files=0
: > "$BASE/ours.txt"
for f in "$BASE"/vg/vg.*.log; do
  [ -s "$f" ] || continue
  files=$((files + 1))
  awk -v out="$BASE/ours.txt" '
    /^==[0-9]+== *$/ { if (blk != "") flush(); blk = ""; next }
    /^==[0-9]+== / { blk = blk $0 "\n"; next }
    END { if (blk != "") flush() }
    function flush() {
      if (blk ~ /(Invalid (read|write|free)|uninitialised|Mismatched free|definitely lost|Source and destination overlap)/) {
        if (blk ~ /pg_queryset\.so/) { print blk > out; o++ } else { t++ }
        if (blk ~ /definitely lost/ && blk ~ /pg_queryset\.so/) l++
      }
    }
    END { printf "%d %d %d\n", o, t, l > "/dev/stderr" }' "$f" 2>> "$BASE/counts.txt"
done
while read -r o t l; do ours=$((ours + o)); theirs=$((theirs + t)); leaks=$((leaks + l)); done < "$BASE/counts.txt"
echo "== valgrind (memcheck): $(echo "$TESTS" | wc -w) regression files, ${secs}s, $files process logs =="
echo "regression under valgrind: $([ "$regress_rc" = 0 ] && echo passed || echo "FAILED ($regress_rc)")"
echo "errors in pg_queryset code: $ours (definite leaks: $leaks); reports in PostgreSQL's own code (not ours): $theirs"
if [ "$ours" -gt 0 ]; then head -c 6000 "$BASE/ours.txt"; fi
fail=0
[ "$ours" = 0 ] || fail=1
[ "$regress_rc" = 0 ] || { fail=1; head -c 4000 "$BASE/out/regression.diffs" 2>/dev/null || true; }
echo "VALGRIND $([ "$fail" = 0 ] && echo PASS || echo FAIL)"
echo "STRESS valgrind inputs=$(echo "$TESTS" | wc -w) crashes=0 unexpected=$ours violations=0 leaks=$leaks"
rm -rf "$BASE/vg" "$BASE/out"
exit "$fail"
