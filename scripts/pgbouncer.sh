#!/usr/bin/env bash
# A throw-away PgBouncer in front of the cluster of scripts/cluster.sh.
#
#   bash scripts/pgbouncer.sh start MODE PORT [POOL]   # MODE: transaction | session | statement
#   bash scripts/pgbouncer.sh stop PORT
#   bash scripts/pgbouncer.sh show PORT WHAT           # SHOW POOLS / SERVERS / ... on its console
#
# Debian's pgbouncer, run as the postgres OS user (it refuses root) on
# 127.0.0.1:PORT, every database forwarded to the cluster's socket
# (QS_PGPORT, default 54329), POOL server connections per database and
# user (default 4), up to 300 clients.  Clients authenticate with
# SCRAM-SHA-256 as qs_client (password qs-client-pw, test/clients/setup.sql)
# or postgres (console).  Config, log and pid live in
# /tmp/pg_queryset-pgbouncer-PORT, removed by stop.
set -euo pipefail
cmd="${1:-}"
PGPORT_SERVER="${QS_PGPORT:-54329}"
SOCK="/tmp/pg_queryset-$PGPORT_SERVER/sock"

as_pg() { runuser -u postgres -- "$@"; }

case "$cmd" in
  start)
    MODE="${2:?mode}"; PORT="${3:?port}"; POOL="${4:-4}"
    case "$MODE" in (transaction|session|statement) ;; (*) echo "pgbouncer: unknown pool mode $MODE" >&2; exit 2;; esac
    command -v pgbouncer >/dev/null || { echo "FAIL: pgbouncer is not installed" >&2; exit 1; }
    DIR="/tmp/pg_queryset-pgbouncer-$PORT"
    if [ -f "$DIR/pgbouncer.pid" ] && kill -0 "$(cat "$DIR/pgbouncer.pid")" 2>/dev/null; then
      kill "$(cat "$DIR/pgbouncer.pid")"; sleep 0.5
    fi
    rm -rf "$DIR"; mkdir -p "$DIR"
    cat > "$DIR/userlist.txt" <<'USERS'
"qs_client" "qs-client-pw"
"postgres" "qs-console-pw"
USERS
    cat > "$DIR/pgbouncer.ini" <<INI
[databases]
* = host=$SOCK port=$PGPORT_SERVER

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $DIR/userlist.txt
admin_users = postgres
pool_mode = $MODE
default_pool_size = $POOL
min_pool_size = 0
reserve_pool_size = 0
max_db_connections = $POOL
max_client_conn = 300
server_reset_query = DISCARD ALL
server_reset_query_always = 0
ignore_startup_parameters = extra_float_digits
query_wait_timeout = 60
logfile = $DIR/pgbouncer.log
pidfile = $DIR/pgbouncer.pid
INI
    chown -R postgres:postgres "$DIR"; chmod 700 "$DIR"
    as_pg pgbouncer -d "$DIR/pgbouncer.ini"
    for _ in $(seq 1 50); do
      if PGPASSWORD=qs-console-pw psql -X -h 127.0.0.1 -p "$PORT" -U postgres -d pgbouncer -tAc "SHOW VERSION" >/dev/null 2>&1; then
        echo "pgbouncer: $MODE pooling on 127.0.0.1:$PORT, $POOL server connections (log $DIR/pgbouncer.log)"
        exit 0
      fi
      sleep 0.2
    done
    echo "FAIL: pgbouncer did not start on port $PORT" >&2
    tail -20 "$DIR/pgbouncer.log" >&2 || true
    exit 1
    ;;
  stop)
    PORT="${2:?port}"; DIR="/tmp/pg_queryset-pgbouncer-$PORT"
    if [ -f "$DIR/pgbouncer.pid" ]; then
      pid="$(cat "$DIR/pgbouncer.pid")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -rf "$DIR"
    ;;
  show)
    PORT="${2:?port}"; WHAT="${3:?what}"
    PGPASSWORD=qs-console-pw psql -X -h 127.0.0.1 -p "$PORT" -U postgres -d pgbouncer -c "SHOW $WHAT"
    ;;
  *)
    echo "usage: $0 start MODE PORT [POOL] | stop PORT | show PORT WHAT" >&2; exit 2;;
esac
