#!/usr/bin/env bash
# The client suite (docs/clients.md): the programs of clients/ in Python
# (psycopg 3), Node.js (node-postgres), Go (pgx) and Java (JDBC), every one
# through a real PgBouncer, as the application login qs_client.
#
#  1. toolchains and drivers from Debian's registry (and npm's): a missing
#     one FAILS the suite, it is never skipped;
#  2. the oracle: test/clients/expected.sql (psql) on a fresh copy of the
#     database must still print clients/expected.out;
#  3. each language's `workloads` on its own fresh copy, through PgBouncer
#     in transaction mode, compared with clients/expected.out;
#  4. no leaks in transaction mode: 50 concurrent clients (13 Python, 13
#     Node, 12 Go, 12 Java), each its own tenant, 20 requests each, over 4
#     server connections — counted by the programs, then every tenant's
#     rows counted by the superuser;
#  5. the same in session mode, each client leaving session-level state
#     behind that the next client must not see (DISCARD ALL);
#  6. statement mode (what breaks, and how clearly) and the control that
#     shows the leak probe can fail (test/clients/pooling.py).
# Needs the cluster of scripts/cluster.sh running (scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
eval "$(bash scripts/cluster.sh env)"
BASE="${QS_PGPORT:-54329}"
TX_PORT=$(( BASE + 300 )); SESSION_PORT=$(( BASE + 301 )); STMT_PORT=$(( BASE + 302 )); CTL_PORT=$(( BASE + 303 ))
POOL=4
REQUESTS=20
LANGS=(python node go java)
TPL=qs_clients_tpl
OUT="$(mktemp -d /tmp/qs-clients.XXXXXX)"
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
export QS_TENANT_SECRET="clients-suite-secret-$$" QS_TENANT_AUDIENCE="qs-clients"
fail=0

cleanup() {
  for p in "$TX_PORT" "$SESSION_PORT" "$STMT_PORT" "$CTL_PORT"; do bash scripts/pgbouncer.sh stop "$p" >/dev/null 2>&1 || true; done
  "${PSQL[@]}" -d postgres -c "ALTER SYSTEM RESET pg_queryset.tenant_secret" \
    -c "ALTER SYSTEM RESET pg_queryset.tenant_audience" -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
  rm -rf "$OUT"
}
trap cleanup EXIT
die() { echo "FAIL: $*"; echo "client suite: FAIL"; exit 1; }
bad() { echo "FAIL: $*"; fail=1; }

echo "-- toolchains and drivers (Debian: pgbouncer, python3-psycopg, golang-go + pgx v4, OpenJDK 17 + JDBC; npm: pg)"
bash scripts/install-deps.sh pgbouncer python3-psycopg golang-go golang-github-jackc-pgx-v4-dev \
  openjdk-17-jdk-headless libpostgresql-jdbc-java >/dev/null || die "the client toolchains could not be installed"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  bash scripts/install-deps.sh nodejs npm >/dev/null || die "Node.js and npm could not be installed"
fi
for tool in pgbouncer psql createdb dropdb node npm go javac java; do
  command -v "$tool" >/dev/null || die "$tool is not installed: the client suite cannot run"
done
for lang in "${LANGS[@]}"; do
  echo "   build $lang"
  bash "clients/$lang/build.sh" || die "the $lang client did not build"
done

echo "-- database $TPL (demo shop + test/clients/setup.sql), signing secret in the server's configuration"
"${PSQL[@]}" -d postgres -c "ALTER SYSTEM SET pg_queryset.tenant_secret = '$QS_TENANT_SECRET'" \
  -c "ALTER SYSTEM SET pg_queryset.tenant_audience = '$QS_TENANT_AUDIENCE'" -c "SELECT pg_reload_conf()" >/dev/null \
  || die "could not set the signing secret"
fresh() {  # fresh copy of the template, nobody connected to it
  PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists --force "$1" >/dev/null && createdb -T "$TPL" "$1"
}
PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists --force "$TPL" >/dev/null || die "cannot drop $TPL"
createdb "$TPL" || die "createdb $TPL failed"
"${PSQL[@]}" -d "$TPL" -c "SET client_min_messages = warning" -c "CREATE EXTENSION pg_queryset" \
  -f test/fixtures/demo_schema.sql -f test/fixtures/demo_data.sql -f test/clients/setup.sql >/dev/null \
  || die "test/clients/setup.sql failed"
sleep 1   # the reloaded secret reaches new sessions

# compare WHO FILE: clients/compare.py once; its FAIL lines and summary shown, its status returned
compare() {
  local st=0
  /usr/bin/python3 clients/compare.py clients/expected.out "$2" "$1" > "$OUT/compare-$1.txt" || st=$?
  grep -v '^PASS' "$OUT/compare-$1.txt"
  return "$st"
}

echo "-- the oracle: psql on a fresh copy still prints clients/expected.out"
fresh qs_clients_oracle || die "createdb qs_clients_oracle failed"
if ! PGTZ=UTC psql -X -At -F $'\t' -v ON_ERROR_STOP=1 -d qs_clients_oracle -f test/clients/expected.sql \
     > "$OUT/oracle.out" 2> "$OUT/oracle.err"; then
  cat "$OUT/oracle.err"; die "test/clients/expected.sql failed"
fi
compare psql "$OUT/oracle.out" || bad "psql no longer prints clients/expected.out"

bash scripts/pgbouncer.sh start transaction "$TX_PORT" "$POOL" || die "PgBouncer (transaction mode) did not start"
# the clients connect as the application login, through PgBouncer
CLIENT=(env TZ=UTC PGHOST=127.0.0.1 PGUSER=qs_client PGPASSWORD=qs-client-pw)

echo "-- workloads, each language on its own fresh database, through PgBouncer (transaction mode)"
for lang in "${LANGS[@]}"; do
  fresh "qs_clients_$lang" || die "createdb qs_clients_$lang failed"
  if ! "${CLIENT[@]}" PGPORT="$TX_PORT" PGDATABASE="qs_clients_$lang" bash "clients/$lang/run.sh" workloads \
       > "$OUT/$lang.out" 2> "$OUT/$lang.err"; then
    bad "$lang workloads exited with an error"; tail -20 "$OUT/$lang.err"
  fi
  compare "$lang" "$OUT/$lang.out" || bad "$lang workloads differ from clients/expected.out"
done

# run the four languages' load mode at once; $1 = port, $2.. = extra flags
load_all() {
  local port="$1"; shift
  local tenant=11 n pids=() lang i=0
  local counts=(13 13 12 12)
  for lang in "${LANGS[@]}"; do
    n="${counts[$i]}"
    "${CLIENT[@]}" PGPORT="$port" PGDATABASE=qs_clients_load bash "clients/$lang/run.sh" load --clients "$n" \
      --requests "$REQUESTS" --first-tenant "$tenant" "$@" > "$OUT/load-$lang.json" 2> "$OUT/load-$lang.err" &
    pids+=($!)
    tenant=$(( tenant + n )); i=$(( i + 1 ))
  done
  local st=0
  for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then st=1; echo "FAIL: ${LANGS[$i]} load exited with an error"; tail -5 "$OUT/load-${LANGS[$i]}.err"; fi
  done
  return "$st"
}
# every tenant 11..60 has its 2 rows plus one per request, all its own
count_rows() {
  local got
  got="$("${PSQL[@]}" -At -d qs_clients_load <<SQL
SELECT count(*) FILTER (WHERE n <> 2 + $1) || ' tenants with a wrong count, '
    || (SELECT count(*) FROM tenancy_project p
         WHERE p.name ~ '^(python|node|go|java)-'
           AND p.tenant_id <> CASE split_part(p.name, '-', 1) WHEN 'python' THEN 11 WHEN 'node' THEN 24
                                WHEN 'go' THEN 37 ELSE 49 END + split_part(p.name, '-', 2)::int)
    || ' rows under another tenant, '
    || (SELECT count(*) FROM tenancy_project WHERE name ~ '^(python|node|go|java)-') || ' rows written'
FROM (SELECT t, (SELECT count(*) FROM tenancy_project WHERE tenant_id = t) AS n FROM generate_series(11, 60) t) s
SQL
)" || { echo "FAIL: the superuser count failed"; return 1; }
  echo "   superuser: $got"
  [ "$got" = "0 tenants with a wrong count, 0 rows under another tenant, $(( 50 * $1 )) rows written" ]
}

echo "-- no leaks in transaction mode: 50 clients, $REQUESTS requests each, $POOL server connections"
fresh qs_clients_load || die "createdb qs_clients_load failed"
load_all "$TX_PORT" || bad "transaction-mode load"
/usr/bin/python3 test/clients/check_load.py "$POOL" "$REQUESTS" "$OUT"/load-*.json || bad "transaction-mode load counts"
count_rows "$REQUESTS" || bad "transaction-mode rows"
bash scripts/pgbouncer.sh show "$TX_PORT" STATS | sed -n '1,2p;/qs_clients_load/p' | cut -c1-160

echo "-- session mode: the same clients, each leaving session state behind for the next (DISCARD ALL)"
bash scripts/pgbouncer.sh start session "$SESSION_PORT" "$POOL" || die "PgBouncer (session mode) did not start"
fresh qs_clients_load || die "createdb qs_clients_load failed"
REQUESTS=5
load_all "$SESSION_PORT" --session || bad "session-mode load"
/usr/bin/python3 test/clients/check_load.py "$POOL" "$REQUESTS" "$OUT"/load-*.json || bad "session-mode load counts"
count_rows "$REQUESTS" || bad "session-mode rows"

echo "-- statement mode, and the control that shows a leak would be seen (test/clients/pooling.py)"
bash scripts/pgbouncer.sh start statement "$STMT_PORT" "$POOL" >/dev/null || die "PgBouncer (statement mode) did not start"
bash scripts/pgbouncer.sh start transaction "$CTL_PORT" 1 >/dev/null || die "PgBouncer (control, 1 connection) did not start"
fresh qs_clients_load || die "createdb qs_clients_load failed"
/usr/bin/python3 test/clients/pooling.py "$STMT_PORT" "$CTL_PORT" qs_clients_load || bad "pool modes"

for db in qs_clients_oracle qs_clients_load "${LANGS[@]/#/qs_clients_}"; do
  PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists --force "$db" >/dev/null 2>&1 || true
done
if [ "$fail" -eq 0 ]; then echo "client suite: PASS"; else echo "client suite: FAIL"; fi
exit "$fail"
