# bench/lib.sh -- what every benchmark script shares: messages, settings
# checks, a private temporary directory, dependencies and the extension,
# the throw-away cluster, the demo data, and running pgbench so that a
# failure can never print a figure.
#
# A script sets ROOT (the checkout; the library runs from it), PORT, DB
# and QS_BENCH_NAME, then sources it:
#
#   QS_BENCH_NAME=run.sh
#   . "$ROOT/bench/lib.sh"
#
# shellcheck shell=bash

: "${QS_BENCH_NAME:?set QS_BENCH_NAME before sourcing bench/lib.sh}"

# Messages: log to stderr; die: ERROR and exit 1; bad: a setting, exit 2.
log() { echo "$QS_BENCH_NAME: $*" >&2; }
die() { echo "$QS_BENCH_NAME: ERROR: $*" >&2; exit 1; }
bad() { echo "$QS_BENCH_NAME: $*" >&2; exit 2; }

# qs_positive VAR...: each named variable holds a positive integer.
qs_positive() {
  local v
  for v in "$@"; do
    case "${!v}" in ''|*[!0-9]*|0) bad "$v must be a positive integer, got '${!v}'";; esac
  done
}

# qs_nonnegative VAR...: each named variable holds an integer >= 0.
qs_nonnegative() {
  local v
  for v in "$@"; do
    case "${!v}" in ''|*[!0-9]*) bad "$v must be a non-negative integer, got '${!v}'";; esac
  done
}

# qs_flags VAR...: each named variable is unset, 0 or 1.
qs_flags() {
  local v
  for v in "$@"; do
    case "${!v:-0}" in 0|1) ;; *) bad "$v must be 0 or 1";; esac
  done
}

# qs_port: PORT is a port number in 1024..65535.
qs_port() {
  case "$PORT" in ''|*[!0-9]*) bad "QS_PGPORT must be a port number";; esac
  [ "$PORT" -ge 1024 ] && [ "$PORT" -le 65535 ] || bad "QS_PGPORT must be in 1024..65535"
}

# qs_bench_tmp: a private directory in TMP (readable by the postgres user),
# removed at exit; the cluster on PORT is stopped at exit unless
# QS_BENCH_KEEP=1, and then the way back into it is printed.
qs_bench_tmp() {
  TMP="$(mktemp -d "${TMPDIR:-/tmp}/qs_${QS_BENCH_NAME%.sh}.XXXXXX")"
  chmod 755 "$TMP"
  trap qs_bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

qs_bench_cleanup() {
  local rc=$?
  rm -rf "$TMP"
  if [ "${QS_BENCH_KEEP:-0}" = 1 ]; then
    echo "$QS_BENCH_NAME: cluster left running (QS_BENCH_KEEP=1): eval \"\$(QS_PGPORT=$PORT bash scripts/cluster.sh env)\"; psql -d $DB" >&2
  else
    QS_PGPORT="$PORT" bash scripts/cluster.sh stop >/dev/null 2>&1 || true
  fi
  exit "$rc"
}

# qs_bench_deps [debian package...]: the project's dependencies (and
# these), pgbench on PATH, and the extension built and installed when it
# is not (or when QS_BENCH_BUILD=1).
qs_bench_deps() {
  bash scripts/install-deps.sh "$@" >&2
  command -v pgbench >/dev/null || PATH="$(pg_config --bindir):$PATH"
  command -v pgbench >/dev/null || die "pgbench not found"
  if [ "${QS_BENCH_BUILD:-0}" = 1 ] || [ ! -f "$(pg_config --pkglibdir)/pg_queryset.so" ]; then
    log "building and installing pg_queryset"
    make -s && make -s install
  fi
}

# qs_bench_cluster: start the throw-away cluster on PORT (QS_PRELOAD=0
# passes through to scripts/cluster.sh), take its environment, and set
# PSQL to a psql that stops on the first error in DB.
qs_bench_cluster() {
  QS_PGPORT="$PORT" bash scripts/cluster.sh start >&2
  eval "$(QS_PGPORT="$PORT" bash scripts/cluster.sh env)"
  export PGDATABASE="$DB"
  PSQL=(psql -X -q -v ON_ERROR_STOP=1 -d "$DB")
}

# qs_bench_fresh_db: DB dropped and created empty.
qs_bench_fresh_db() {
  PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists "$DB"
  createdb "$DB"
}

# qs_bench_demo SCALE: a fresh DB with the demo shop at SCALE.
qs_bench_demo() {
  log "loading demo data at scale $1"
  qs_bench_fresh_db
  "${PSQL[@]}" -f test/fixtures/demo_schema.sql >/dev/null
  "${PSQL[@]}" -v scale="$1" -f test/fixtures/demo_data.sql >/dev/null
}

# qs_pgbench LABEL PGBENCH-ARGS...: run pgbench with PGOPTIONS as set by
# the caller; a failed run or a failed transaction is an ERROR (never a
# figure).  Prints "tps latency_ms"; the output stays in $TMP/pgbench.out.
qs_pgbench() {
  local label="$1" f="$TMP/pgbench.out" tps lat
  shift
  if ! pgbench "$@" > "$f" 2>&1; then
    cat "$f" >&2
    die "pgbench failed on $label"
  fi
  if grep -q "number of failed transactions: [1-9]" "$f"; then
    cat "$f" >&2
    die "pgbench reported failed transactions on $label"
  fi
  tps="$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$f" | tail -1)"
  lat="$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$f" | tail -1)"
  [ -n "$tps" ] && [ -n "$lat" ] || { cat "$f" >&2; die "cannot parse pgbench output for $label"; }
  echo "$tps $lat"
}
