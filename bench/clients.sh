#!/usr/bin/env bash
# Clients in four languages through PgBouncer: what one qs.json call is
# worth against the N+1 loop and against the expert's SQL, from each
# driver.  Report: bench/results/clients.txt.
#
#   bash bench/clients.sh
#
# A throw-away cluster (QS_PGPORT, default 56429) with the clients'
# database (demo shop at scale 1 + test/clients/setup.sql), PgBouncer in
# transaction mode on QS_PGPORT+300 with 4 server connections, each
# program of clients/ in its `bench` mode (clients/PROTOCOL.md), one
# language after the other, as the application login qs_client:
#
#   graph  1 connection: the order graph of a user (orders, address, items,
#          products, categories) -- one qs.json call / the N+1 loop the same
#          driver runs (one query per order, item and product) / the
#          expert's single statement (bench/nested_hand.sql) -- requests/s
#   pk     16 connections: qs.json by primary key / row_to_json by pk
#
# Figures are requests per second measured by the client (network, pooler,
# driver and JSON decoding included); ratios are qs over the other side.
#
# Settings (environment):
#   QS_PGPORT         the cluster's port (default 56429)
#   QS_BENCH_SECONDS  seconds per measurement (default 5)
#   QS_BENCH_CLIENTS  connections of the pk run (default 16)
#   QS_BENCH_OUT      the report (default bench/results/clients.txt)
#   QS_BENCH_KEEP=1   leave the cluster running
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/bench/lib.sh"

setting_port 56429
setting SECONDS_RUN QS_BENCH_SECONDS 5 1 600
setting CLIENTS QS_BENCH_CLIENTS 16 1 200
setting_flags QS_BENCH_KEEP
OUT="$(caller_path "${QS_BENCH_OUT:-bench/results/clients.txt}")"
DB=qs_clients_bench
BOUNCER=$(( PORT + 300 ))
LANGS=(python node go java)

bench_tmp qs-bench-clients
trap 'bash scripts/pgbouncer.sh stop "$BOUNCER" >/dev/null 2>&1 || true; bench_cleanup $?' EXIT
install_deps pgbouncer python3-psycopg golang-go golang-github-jackc-pgx-v4-dev openjdk-17-jdk-headless libpostgresql-jdbc-java
command -v node >/dev/null && command -v npm >/dev/null || install_deps nodejs npm
ensure_extension
start_cluster
load_demo 1
"${PSQL[@]}" -c "SET client_min_messages = warning" -c "CREATE EXTENSION pg_queryset" -f test/clients/setup.sql \
  -c "VACUUM ANALYZE" >/dev/null || die "test/clients/setup.sql failed"
for lang in "${LANGS[@]}"; do
  bash "clients/$lang/build.sh" >&2 || die "the $lang client did not build"
done
QS_PGPORT="$PORT" bash scripts/pgbouncer.sh start transaction "$BOUNCER" 4 >&2 || die "PgBouncer did not start"

REPORT="$TMP/report.txt"
{
  echo "# bench/clients.sh: clients through PgBouncer (transaction mode, 4 server connections)"
  echo "date:       $(date -u +%Y-%m-%dT%H:%MZ)"
  report_host
  echo "pgbouncer:  $(pgbouncer --version | head -1)"
  echo "settings:   ${SECONDS_RUN}s per measurement, pk with $CLIENTS connections; demo shop scale 1"
  echo
  printf '%-8s | %10s %10s %10s %9s | %9s %9s | %10s %10s %8s\n' \
    "language" "graph qs/s" "N+1 /s" "hand /s" "N+1 q/req" "qs/N+1" "qs/hand" "pk qs/s" "pk hand/s" "qs/hand"
} > "$REPORT"
for lang in "${LANGS[@]}"; do
  log "$lang: bench (${SECONDS_RUN}s x 5 measurements)"
  if ! env PGHOST=127.0.0.1 PGPORT="$BOUNCER" PGUSER=qs_client PGPASSWORD=qs-client-pw PGDATABASE="$DB" \
       bash "clients/$lang/run.sh" bench --seconds "$SECONDS_RUN" --clients "$CLIENTS" > "$TMP/$lang.json" 2> "$TMP/$lang.err"; then
    tail -20 "$TMP/$lang.err" >&2; die "$lang bench failed"
  fi
  /usr/bin/python3 - "$TMP/$lang.json" >> "$REPORT" <<'PY' || die "$lang printed no bench line"
import json, sys
r = json.loads([l for l in open(sys.argv[1]).read().splitlines() if l.strip()][-1])
g, p = r["graph"], r["pk"]
for k in ("qs_rps", "n1_rps", "hand_rps"):
    assert g[k] > 0, k
assert p["qs_rps"] > 0 and p["hand_rps"] > 0
print(f"{r['lang']:<8} | {g['qs_rps']:10.1f} {g['n1_rps']:10.1f} {g['hand_rps']:10.1f} {g['n1_queries']:9.1f} | "
      f"{g['qs_rps'] / g['n1_rps']:9.2f} {g['qs_rps'] / g['hand_rps']:9.2f} | {p['qs_rps']:10.1f} {p['hand_rps']:10.1f} "
      f"{p['qs_rps'] / p['hand_rps']:8.2f}")
PY
done
{
  echo
  echo "graph: the order graph of one user (orders with shipping address, items, products and"
  echo "  categories; users cycling 101..150, 5.3 orders of 3.2 items each on average), 1 connection: one qs.json call, the N+1 loop of the same"
  echo "  driver (N+1 q/req = queries per request), and the expert's single statement (nested_hand.sql)."
  echo "pk: $CLIENTS connections, qs.json by primary key vs SELECT row_to_json(p) ... WHERE id = \$1."
  echo "qs/N+1 > 1: one call beats the loop by that factor; qs/hand near 1: the generated SQL costs what hand SQL costs."
} >> "$REPORT"
publish_report "$REPORT"
