#!/usr/bin/env bash
# Run the whole pg_queryset test suite on this machine, from nothing:
# install dependencies, build with -Werror, install, start a throw-away
# cluster, run pg_regress (sql/ + expected/), the pgTAP suites
# (test/pgtap/, via pg_prove), the tenant isolation suite (test/tenant.sh),
# the pg_dump/restore check, the pgbench
# concurrency test (test/concurrency.sh), the hardening suite (make
# stress, test/stress/run.sh) and the kill -9 fault test
# (test/fault.sh), stop the cluster.  Exit status 0 = green.
#
#   bash scripts/test.sh            # everything
#   QS_PGPORT=55432 bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
export QS_PGPORT="${QS_PGPORT:-54329}"

bash scripts/install-deps.sh

echo "== build (-Werror)"
make -s clean >/dev/null 2>&1 || true
make -s WERROR=1
make -s install >/dev/null

echo "== cluster"
bash scripts/cluster.sh stop >/dev/null 2>&1 || true
bash scripts/cluster.sh start
trap 'bash "$ROOT/scripts/cluster.sh" stop >/dev/null 2>&1 || true' EXIT
eval "$(bash scripts/cluster.sh env)"

status=0

echo "== pg_regress"
if ! make -s installcheck; then
  status=1
  [ -f regression.diffs ] && head -c 20000 regression.diffs
fi

echo "== pgTAP"
dropdb --if-exists qs_tap >/dev/null 2>&1 || true
createdb qs_tap
psql -X -q -v ON_ERROR_STOP=1 -d qs_tap <<SQL >/dev/null
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION pg_queryset;
\i test/fixtures/demo_schema.sql
\i test/fixtures/demo_data.sql
SQL
# the pgTAP suites run with every shape-cache hit recompiled and compared
if ! PGOPTIONS="-c pg_queryset.shape_cache_check=on" pg_prove -d qs_tap -f test/pgtap/*.sql; then
  status=1
fi

echo "== tenant isolation (as an application login; tokens; concurrent sessions; no preload)"
if ! bash test/tenant.sh; then
  status=1
fi

echo "== pg_dump / restore"
if ! bash test/dump_restore.sh; then
  status=1
fi

echo "== concurrency (pgbench)"
if ! bash test/concurrency.sh; then
  status=1
fi

echo "== hardening (make stress: fuzzer, injection corpus, sqlsmith, memory growth, load, valgrind)"
if ! make -s stress; then
  status=1
fi

# last: it kills a backend, which makes the postmaster restart every session
echo "== fault (kill -9 mid-write, crash recovery)"
if ! bash test/fault.sh; then
  status=1
fi

echo "== server still up"
if ! psql -X -tA -d postgres -c "select 'postmaster started ' || pg_postmaster_start_time()"; then
  echo "FAIL: the server did not answer after the suites"
  status=1
fi

if [ "$status" -eq 0 ]; then echo "ALL TESTS PASSED"; else echo "TESTS FAILED"; fi
exit "$status"
