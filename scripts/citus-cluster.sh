#!/usr/bin/env bash
# A throw-away Citus cluster for pg_queryset: a coordinator and two
# workers on 127.0.0.1, each a cluster of scripts/cluster.sh preloading
# citus and pg_queryset (docs/scale-out.md).
#
#   scripts/citus-cluster.sh start DB   build Citus if missing, start the
#                                       nodes, create DB with citus on each,
#                                       add the workers
#   scripts/citus-cluster.sh stop       stop and delete the nodes
#   scripts/citus-cluster.sh ports      print "COORD W1 W2"
#
# Ports: QS_PGPORT+200 (coordinator), +201, +202 (default 54529-54531).
# Every node gets the tenant secret and audience of QS_CITUS_SECRET and
# QS_CITUS_AUDIENCE (ALTER SYSTEM): the workers verify the tokens that
# carry the tenant to them.  Any failure exits non-zero with FAIL.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE="${QS_PGPORT:-54329}"
COORD=$(( BASE + 200 )); W1=$(( BASE + 201 )); W2=$(( BASE + 202 ))
SECRET="${QS_CITUS_SECRET:-citus-secret}"
AUDIENCE="${QS_CITUS_AUDIENCE:-qs-citus}"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres)
die() { echo "citus-cluster: FAIL: $*" >&2; exit 1; }

case "${1:-}" in
  ports)
    echo "$COORD $W1 $W2" ;;
  stop)
    for p in $COORD $W1 $W2; do QS_PGPORT=$p bash scripts/cluster.sh stop >/dev/null 2>&1 || true; done ;;
  start)
    DB="${2:?usage: citus-cluster.sh start DB}"
    bash scripts/citus-build.sh >/dev/null || die "Citus could not be built or installed"
    for p in $COORD $W1 $W2; do
      QS_PGPORT=$p bash scripts/cluster.sh stop >/dev/null 2>&1 || true
      QS_PGPORT=$p QS_PRELOAD=citus bash scripts/cluster.sh start >/dev/null || die "node :$p did not start"
      # the secret goes into the configuration file, never into SQL text
      conf="${QS_BASE_PREFIX:-/tmp/pg_queryset}-$p/data/postgresql.conf"
      [ -f "$conf" ] || die "no $conf"
      printf "pg_queryset.tenant_secret = '%s'\npg_queryset.tenant_audience = '%s'\n" "$SECRET" "$AUDIENCE" >> "$conf"
      "${PSQL[@]}" -p "$p" -d postgres -c "SELECT pg_reload_conf()" >/dev/null || die "node :$p did not reload"
      createdb -h 127.0.0.1 -U postgres -p "$p" "$DB" || die "createdb $DB on :$p failed"
      "${PSQL[@]}" -p "$p" -d "$DB" -c "SET client_min_messages = warning" -c "CREATE EXTENSION citus" >/dev/null \
        || die "CREATE EXTENSION citus on :$p failed"
    done
    "${PSQL[@]}" -p "$COORD" -d "$DB" >/dev/null <<SQL || die "could not add the workers"
SELECT citus_set_coordinator_host('127.0.0.1', $COORD);
SELECT citus_add_node('127.0.0.1', $W1);
SELECT citus_add_node('127.0.0.1', $W2);
SQL
    [ "$("${PSQL[@]}" -p "$COORD" -d "$DB" -At -c "SELECT count(*) FROM citus_get_active_worker_nodes()")" = 2 ] \
      || die "the coordinator does not see two workers"
    echo "citus-cluster: coordinator 127.0.0.1:$COORD, workers :$W1 :$W2, database $DB" ;;
  *)
    echo "usage: $0 start DB | stop | ports" >&2; exit 2 ;;
esac
