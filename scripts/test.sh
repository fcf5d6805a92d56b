#!/usr/bin/env bash
# Run the whole pg_queryset test suite on this machine, from nothing.
#
# On PostgreSQL 15 (Debian's packages): install dependencies, build with
# -Werror, install, start a throw-away cluster, run pg_regress (sql/ +
# expected/), the pgTAP suites (test/pgtap/, via pg_prove), the tenant
# isolation suite (test/tenant.sh), the upgrade test (test/upgrade.sh),
# the release check (test/release.sh), the pg_dump/restore check, the pgbench concurrency test
# (test/concurrency.sh), the client programs of clients/ in four languages
# through PgBouncer (test/clients.sh), the hardening suite (make stress,
# test/stress/run.sh), the scale-out suite on a Citus coordinator with
# two workers (test/citus.sh) and the kill -9 fault test (test/fault.sh).
#
# Then on every other major of the matrix (QS_MATRIX, default "17 18"),
# built from Debian's source packages by scripts/pg-build.sh into
# /var/cache/pg_queryset (reused when present): the -Werror build, the
# whole pg_regress suite, every pgTAP file, the tenant isolation suite
# and the upgrade test.  A major that cannot be built fails the run.
# Exit status 0 = green.
#
#   bash scripts/test.sh                    # everything
#   QS_MATRIX="" bash scripts/test.sh       # PostgreSQL 15 only
#   QS_PGPORT=55432 bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
BASEPORT="${QS_PGPORT:-54329}"
MATRIX="${QS_MATRIX-17 18}"
PORTS=()

bash scripts/install-deps.sh

cleanup() {
  local p
  for p in "${PORTS[@]}"; do
    QS_PGPORT="$p" bash "$ROOT/scripts/cluster.sh" stop >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT

status=0
failed=()
fail() { status=1; failed+=("$1"); echo "FAIL: $1"; }

# The suites every major runs.  PG_CONFIG (empty: Debian's 15) and
# QS_PGPORT select the installation and the cluster; $1 names the major.
core_suites() {
  local major="$1"
  echo "== [$major] build (-Werror)"
  make -s clean >/dev/null 2>&1 || true
  if ! make -s WERROR=1 || ! make -s install >/dev/null; then
    fail "[$major] the build failed"; return
  fi

  echo "== [$major] cluster"
  bash scripts/cluster.sh stop >/dev/null 2>&1 || true
  PORTS+=("$QS_PGPORT")
  if ! bash scripts/cluster.sh start; then fail "[$major] the cluster did not start"; return; fi
  eval "$(bash scripts/cluster.sh env)"
  local version
  version="$(psql -X -tA -d postgres -c "SHOW server_version")" || { fail "[$major] the server does not answer"; return; }
  echo "server: PostgreSQL $version"
  case "$version" in ("$major".*|"$major"beta*|"$major"rc*) ;; (*) fail "[$major] the server is $version, not $major"; return;; esac

  echo "== [$major] pg_regress"
  rm -f regression.diffs
  if ! make -s installcheck; then
    fail "[$major] pg_regress"
    [ -f regression.diffs ] && head -c 20000 regression.diffs
  fi

  echo "== [$major] pgTAP"
  dropdb --if-exists qs_tap >/dev/null 2>&1 || true
  if ! createdb qs_tap || ! psql -X -q -v ON_ERROR_STOP=1 -d qs_tap <<SQL >/dev/null
SET client_min_messages = warning;
CREATE EXTENSION pgtap;
CREATE EXTENSION pg_queryset;
\i test/fixtures/demo_schema.sql
\i test/fixtures/demo_data.sql
SQL
  then
    fail "[$major] pgTAP setup"
  # the pgTAP suites run with every shape-cache hit recompiled and compared
  elif ! PGOPTIONS="-c pg_queryset.shape_cache_check=on" pg_prove -d qs_tap -f test/pgtap/*.sql; then
    fail "[$major] pgTAP"
  fi

  echo "== [$major] tenant isolation (as an application login; tokens; concurrent sessions; no preload)"
  bash test/tenant.sh || fail "[$major] tenant isolation"

  echo "== [$major] upgrade 0.1.0 -> current (ALTER EXTENSION ... UPDATE equals a fresh install)"
  bash test/upgrade.sh || fail "[$major] upgrade"
}

echo "######## PostgreSQL 15 (Debian's packages)"
export QS_PGPORT="$BASEPORT"
unset PG_CONFIG
core_suites 15

echo "== [15] release (META.json, control file, CHANGELOG and upgrade scripts agree; make dist)"
bash test/release.sh || fail "[15] release"

echo "== [15] pg_dump / restore"
bash test/dump_restore.sh || fail "[15] pg_dump / restore"

echo "== [15] concurrency (pgbench)"
bash test/concurrency.sh || fail "[15] concurrency"

echo "== [15] clients (Python, Node.js, Go, Java) through PgBouncer: workloads, no leaks in transaction and session mode, statement mode"
bash test/clients.sh || fail "[15] clients"

echo "== [15] hardening (make stress: fuzzer, injection corpus, sqlsmith, memory growth, load, valgrind)"
make -s stress || fail "[15] hardening"

echo "== [15] scale-out on Citus (coordinator + 2 workers; Citus built from ../shared/vendor when absent)"
bash test/citus.sh || fail "[15] Citus"

# last on 15: it kills a backend, which makes the postmaster restart every session
echo "== [15] fault (kill -9 mid-write, crash recovery)"
bash test/fault.sh || fail "[15] fault"

echo "== [15] server still up"
psql -X -tA -d postgres -c "select 'postmaster started ' || pg_postmaster_start_time()" \
  || fail "[15] the server did not answer after the suites"
bash scripts/cluster.sh stop >/dev/null 2>&1 || true

for major in $MATRIX; do
  echo "######## PostgreSQL $major (built from Debian's source package)"
  t0=$(date +%s)
  if ! prefix="$(bash scripts/pg-build.sh "$major")"; then
    fail "[$major] PostgreSQL $major could not be built"
    continue
  fi
  echo "PostgreSQL $major ready in $prefix ($(( $(date +%s) - t0 )) s)"
  export PG_CONFIG="$prefix/bin/pg_config" QS_PGPORT=$(( BASEPORT + 100 + major ))
  PATH="$prefix/bin:$PATH" core_suites "$major"
  bash scripts/cluster.sh stop >/dev/null 2>&1 || true
done
unset PG_CONFIG

# leave the tree built for Debian's PostgreSQL, as the demo expects
make -s clean >/dev/null 2>&1 || true

if [ "$status" -eq 0 ]; then
  echo "ALL TESTS PASSED (PostgreSQL 15${MATRIX:+ and $MATRIX})"
else
  echo "TESTS FAILED: ${failed[*]}"
fi
exit "$status"
