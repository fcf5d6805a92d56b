#!/usr/bin/env bash
# Start, stop or inspect a throw-away PostgreSQL cluster for pg_queryset.
#
#   scripts/cluster.sh start     initdb (if needed) and start
#   scripts/cluster.sh stop      stop and delete the cluster
#   scripts/cluster.sh status
#   scripts/cluster.sh env       print the PG* exports for a shell
#
# The cluster runs as the postgres OS user (PostgreSQL refuses root) on a
# private port and socket directory, so it never collides with a system
# cluster.  Settings: QS_PGPORT (default 54329), QS_BASE (default
# /tmp/pg_queryset-$QS_PGPORT).
set -euo pipefail

PGVER="${PGVER:-15}"
PORT="${QS_PGPORT:-54329}"
# pg_queryset is preloaded (tenant scoping needs it, docs/tenancy.md);
# QS_PRELOAD=0 leaves it to load on first use (bench/querystats.sh)
# QS_PRELOAD=citus makes a Citus node (test/citus.sh): Citus first, TCP on
# 127.0.0.1 (nodes reach each other by host and port), prepared
# transactions for Citus's two-phase commit
LISTEN="''"
EXTRA=""
if [ "${QS_PRELOAD:-1}" = citus ]; then
  PRELOAD="citus, pg_stat_statements, pg_queryset"
  LISTEN="'127.0.0.1'"
  EXTRA="max_prepared_transactions = 100"
elif [ "${QS_PRELOAD:-1}" = 1 ]; then
  PRELOAD="pg_stat_statements, pg_queryset"
else
  PRELOAD="pg_stat_statements"
fi
BASE="${QS_BASE:-/tmp/pg_queryset-$PORT}"
DATA="$BASE/data"
SOCK="$BASE/sock"
LOG="$BASE/server.log"
# PG_CONFIG names another installation (a major built by scripts/pg-build.sh)
BIN="$("${PG_CONFIG:-pg_config}" --bindir 2>/dev/null || echo /usr/lib/postgresql/$PGVER/bin)"
[ -x "$BIN/initdb" ] || { [ -z "${PG_CONFIG:-}" ] && BIN="/usr/lib/postgresql/$PGVER/bin"; }
[ -x "$BIN/initdb" ] || { echo "cluster: no initdb in $BIN" >&2; exit 1; }

as_pg() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

cmd="${1:-status}"
case "$cmd" in
  start)
    mkdir -p "$BASE" "$SOCK"
    chown postgres:postgres "$BASE" "$SOCK" 2>/dev/null || true
    chmod 755 "$BASE"
    if [ ! -f "$DATA/PG_VERSION" ]; then
      as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 \
        --locale=C.UTF-8 >/dev/null 2>&1 \
        || as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
      cat >> "$DATA/postgresql.conf" <<CONF
# pg_queryset throw-away cluster
listen_addresses = $LISTEN
$EXTRA
port = $PORT
unix_socket_directories = '$SOCK'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
max_connections = 100
shared_preload_libraries = '$PRELOAD'
compute_query_id = on
pg_stat_statements.track = all
log_min_messages = warning
lc_messages = 'C'
CONF
    fi
    if as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
      echo "cluster: already running on port $PORT (socket $SOCK)"
    else
      as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null
      echo "cluster: started on port $PORT (socket $SOCK)"
    fi
    ;;
  stop)
    if [ -f "$DATA/PG_VERSION" ]; then
      as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$BASE"
    echo "cluster: stopped and removed"
    ;;
  restart)
    as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -m fast -w restart >/dev/null
    ;;
  status)
    as_pg "$BIN/pg_ctl" -D "$DATA" status || true
    ;;
  env)
    echo "export PGHOST='$SOCK' PGPORT='$PORT' PGUSER=postgres"
    ;;
  *)
    echo "usage: $0 start|stop|restart|status|env" >&2; exit 2;;
esac
