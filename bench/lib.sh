# shellcheck shell=bash
# Shared plumbing of the benchmark scripts (bench/*.sh).  Sourced, never
# run:
#
#   set -euo pipefail
#   ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
#   . "$ROOT/bench/lib.sh"
#
# Sourcing it records the caller's cwd (CALLER_PWD), moves to $ROOT and
# names the script (BENCH, the prefix of every message).  Every failure ends
# in die (exit 1) or, for a bad setting, in bad (exit 2): a step that cannot
# be done never yields a figure.
#
# What a script sets before the calls that read it:
#   PORT  the cluster's port (setting_port)   DB  the database name
#   TMP   the temp dir (bench_tmp)            KEEP=0 to ignore QS_BENCH_KEEP
#   BUILD=0 to build only when the library is missing (ignore QS_BENCH_BUILD)

CALLER_PWD="$PWD"
cd "$ROOT" || { echo "$0: ERROR: cannot cd to $ROOT" >&2; exit 1; }
BENCH="$(basename "$0")"
KEEP="${QS_BENCH_KEEP:-0}"
BUILD="${QS_BENCH_BUILD:-0}"
TMP=""
PSQL=(psql -X -q -v ON_ERROR_STOP=1)

# ---------------------------------------------------------------------
# messages
# ---------------------------------------------------------------------
# log MSG...: a progress line on stderr
log() { echo "$BENCH: $*" >&2; }
# die MSG...: an ERROR line on stderr, exit 1
die() { echo "$BENCH: ERROR: $*" >&2; exit 1; }
# bad MSG...: a rejected setting, exit 2 (before anything is started)
bad() { echo "$BENCH: $*" >&2; exit 2; }

# ---------------------------------------------------------------------
# settings
# ---------------------------------------------------------------------
# setting VAR ENV DEFAULT MIN [MAX]: VAR = $ENV or DEFAULT, which must be a
# whole number (no leading zeros) in MIN..MAX
setting() {
  local var="$1" env="$2" min="$4" max="${5:-}" val kind=non-negative
  val="${!env:-$3}"
  [ "$min" -gt 0 ] && kind=positive
  case "$val" in
    0) ;;
    ''|*[!0-9]*|0*) bad "$env must be a $kind integer, got '$val'";;
  esac
  if [ -n "$max" ] && { [ "$val" -lt "$min" ] || [ "$val" -gt "$max" ]; }; then
    bad "$env must be in $min..$max, got $val"
  fi
  [ "$val" -ge "$min" ] || bad "$env must be a $kind integer, got '$val'"
  printf -v "$var" '%s' "$val"
}

# setting_port DEFAULT: PORT = $QS_PGPORT or DEFAULT, a port in 1024..65535
# (each script has its own default so that they can run side by side)
setting_port() { setting PORT QS_PGPORT "$1" 1024 65535; }

# setting_flags ENV...: each of these settings, when set, must be 0 or 1
setting_flags() {
  local v
  for v in "$@"; do
    case "${!v:-0}" in 0|1) ;; *) bad "$v must be 0 or 1, got '${!v}'";; esac
  done
}

# pgbench_settings PORT SCALE SECONDS ROUNDS WARMUP (the defaults): the
# settings of a script timing pgbench scripts against the demo data: PORT,
# SCALE (QS_BENCH_SCALE, 1..1000), SECONDS_RUN (QS_BENCH_SECONDS), ROUNDS
# (QS_BENCH_ROUNDS), WARMUP (QS_BENCH_WARMUP, 0 = none), SEED
# (QS_BENCH_SEED, default 20240101) and PER = seconds of one round
pgbench_settings() {
  setting_port "$1"
  setting SCALE QS_BENCH_SCALE "$2" 1 1000
  setting SECONDS_RUN QS_BENCH_SECONDS "$3" 1
  setting ROUNDS QS_BENCH_ROUNDS "$4" 1
  setting WARMUP QS_BENCH_WARMUP "$5" 0
  setting SEED QS_BENCH_SEED 20240101 0
  # shellcheck disable=SC2153  # ROUNDS is set just above, by name
  PER=$(( SECONDS_RUN / ROUNDS )); [ "$PER" -ge 1 ] || PER=1
}

# caller_path PATH: PATH, made absolute against the caller's cwd
caller_path() { case "$1" in /*) echo "$1";; *) echo "$CALLER_PWD/$1";; esac; }

# settings_line EXTRA: the QS_PGPORT, QS_BENCH_* and QS_<EXTRA> variables of
# the environment, sorted, on one line (report paths left out)
settings_line() {
  env | grep -E "^QS_(PGPORT|BENCH_[A-Z]+${1:+|$1})=" | grep -v -E '^QS_[A-Z]+_OUT=' | sort | tr '\n' ' ' || true
}

# ---------------------------------------------------------------------
# temp dir, cluster, extension, data
# ---------------------------------------------------------------------
# bench_tmp PREFIX: TMP = a new temp dir (readable by the postgres user);
# at exit it is removed and the cluster stopped (unless KEEP=1)
bench_tmp() {
  TMP="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")" || die "cannot create a temp dir"
  chmod 755 "$TMP"
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

# bench_cleanup [RC]: the EXIT trap of bench_tmp; keeps the script's exit
# status (or RC, from a trap of the script's own that calls it)
bench_cleanup() {
  local rc=${1:-$?}
  rm -rf "$TMP"
  if [ "$KEEP" = 1 ]; then
    log "cluster left running (QS_BENCH_KEEP=1): eval \"\$(QS_PGPORT=$PORT bash scripts/cluster.sh env)\"; psql -d $DB"
  else
    QS_PGPORT="$PORT" bash scripts/cluster.sh stop >/dev/null 2>&1 || true
  fi
  exit "$rc"
}

# install_deps [PACKAGE...]: scripts/install-deps.sh (installs only what
# is missing), with these extra Debian packages
install_deps() {
  bash scripts/install-deps.sh "$@" >&2 || die "scripts/install-deps.sh failed${1:+ (extra packages: $*)}"
}

# need_pgbench: pgbench on PATH (or from pg_config --bindir)
need_pgbench() {
  command -v pgbench >/dev/null || PATH="$(pg_config --bindir):$PATH"
  command -v pgbench >/dev/null || die "pgbench not found"
}

# ensure_extension: build and install pg_queryset when BUILD=1 or when
# pg_queryset.so is not installed
ensure_extension() {
  local libdir
  libdir="$(pg_config --pkglibdir)" || die "pg_config not found"
  if [ "$BUILD" = 1 ] || [ ! -f "$libdir/pg_queryset.so" ]; then
    log "building and installing pg_queryset"
    { make -s && make -s install; } || die "building or installing pg_queryset failed"
  fi
}

# start_cluster: the throw-away cluster of scripts/cluster.sh on PORT
# (QS_PRELOAD and the like pass through), its PG* variables exported,
# PGDATABASE = DB, PSQL = psql on DB stopping at the first error
start_cluster() {
  local envs
  QS_PGPORT="$PORT" bash scripts/cluster.sh start >&2 || die "cannot start the cluster on port $PORT"
  envs="$(QS_PGPORT="$PORT" bash scripts/cluster.sh env)" || die "scripts/cluster.sh env failed"
  eval "$envs"
  export PGDATABASE="$DB"
  PSQL=(psql -X -q -v ON_ERROR_STOP=1 -d "$DB")
}

# pgbench_cluster PREFIX: everything before the data of a script that times
# with pgbench: bench_tmp PREFIX, install_deps, need_pgbench,
# ensure_extension, start_cluster
pgbench_cluster() {
  bench_tmp "$1"
  install_deps
  need_pgbench
  ensure_extension
  start_cluster
}

# fresh_db: DB dropped (if there) and created empty
fresh_db() {
  PGOPTIONS="-c client_min_messages=warning" dropdb --if-exists "$DB" || die "cannot drop database $DB"
  createdb "$DB" || die "cannot create database $DB"
}

# load_demo SCALE: DB afresh with the demo schema and data at SCALE
load_demo() {
  log "loading demo data at scale $1"
  fresh_db
  "${PSQL[@]}" -f test/fixtures/demo_schema.sql >/dev/null || die "loading test/fixtures/demo_schema.sql failed"
  "${PSQL[@]}" -v scale="$1" -f test/fixtures/demo_data.sql >/dev/null || die "loading test/fixtures/demo_data.sql failed"
}

# demo_db SCALE: load_demo SCALE, then CREATE EXTENSION pg_queryset and
# VACUUM ANALYZE
demo_db() {
  load_demo "$1"
  "${PSQL[@]}" -c "CREATE EXTENSION pg_queryset" -c "VACUUM ANALYZE" >/dev/null || die "CREATE EXTENSION pg_queryset failed"
}

# sql_value SQL: the single value SQL returns (unaligned, no header)
sql_value() { "${PSQL[@]}" -At -c "$1"; }

# ---------------------------------------------------------------------
# qs scripts versus the other side's: bench/<pair>_qs.sql, <pair>_hand.sql...
# ---------------------------------------------------------------------
# script_sql SCRIPT: the SQL of bench/SCRIPT.sql (meta-commands, comments
# and the \gset line that computes parameters removed); psql interpolates
# :name from -v just as pgbench does from \set and \gset
# shellcheck disable=SC1003  # '^\\' is a regex for a leading backslash
script_sql() { grep -v -e '^\\' -e '^--' -e '^[[:space:]]*$' -e '\\gset$' "bench/$1.sql"; }

# psql_vars NAME=VALUE...: the SQL on stdin through psql -At with these
# variables
psql_vars() {
  local args=() kv
  for kv in "$@"; do args+=(-v "$kv"); done
  "${PSQL[@]}" -At "${args[@]}" -f -
}

# run_sample SCRIPT NAME=VALUE...: the output of SCRIPT's SQL for one set of
# values
run_sample() { script_sql "$1" | psql_vars "${@:2}"; }

# verify PAIR OTHER NAME=VALUE...: PAIR_qs and PAIR_OTHER must print the
# same text for these values; counts samples in NVER and those with rows
# in HITS[PAIR]
declare -A HITS=()
NVER=0
verify() {
  local pair="$1" other="$2"; shift 2
  run_sample "${pair}_qs" "$@" > "$TMP/qs.out" || die "${pair}_qs.sql failed for $*"
  run_sample "${pair}_${other}" "$@" > "$TMP/other.out" || die "${pair}_${other}.sql failed for $*"
  if ! cmp -s "$TMP/qs.out" "$TMP/other.out"; then
    echo "$BENCH: MISMATCH in '$pair' ($other) for $*:" >&2
    diff <(tr '{' '\n' < "$TMP/qs.out") <(tr '{' '\n' < "$TMP/other.out") | head -20 >&2 || true
    die "the extension's output differs from ${pair}_${other}.sql"
  fi
  # a sample with rows counts towards the "verified with data" tally
  if [ -s "$TMP/qs.out" ] && [ "$(cat "$TMP/qs.out")" != "[]" ]; then
    HITS[$pair]=$(( ${HITS[$pair]:-0} + 1 ))
  fi
  NVER=$((NVER + 1))
}

# require_hits PAIR...: die unless each PAIR had a sample with rows
require_hits() {
  local pair
  for pair in "$@"; do
    [ "${HITS[$pair]:-0}" -gt 0 ] || die "every '$pair' sample came back empty: the data is not what the benchmark expects"
  done
}

# ---------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------
# pgbench_run LABEL PGBENCH-ARG...: one pgbench run (PGOPTIONS from the
# caller's environment); sets PGB_TPS and PGB_LAT (mean latency, ms).  A
# pgbench that fails, reports failed transactions or prints no figures dies.
pgbench_run() {
  local label="$1" f="$TMP/pgbench.out"; shift
  PGB_TPS=""; PGB_LAT=""
  if ! pgbench "$@" > "$f" 2>&1; then
    cat "$f" >&2
    die "pgbench failed on $label"
  fi
  if grep -q "number of failed transactions: [1-9]" "$f"; then
    cat "$f" >&2
    die "pgbench reported failed transactions on $label"
  fi
  PGB_TPS="$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$f" | tail -1)"
  PGB_LAT="$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$f" | tail -1)"
  if [ -z "$PGB_TPS" ] || [ -z "$PGB_LAT" ]; then
    cat "$f" >&2
    die "cannot parse pgbench output for $label"
  fi
}

# interleave FN PREFIX WARMUP ROUNDS PER VARIANT...: for every VARIANT a
# warm-up `FN VARIANT WARMUP ''` (none if WARMUP = 0), then ROUNDS rounds
# of `FN VARIANT PER ROUND`, one variant after the other; the output of
# each round is appended to the file PREFIX<VARIANT>
interleave() {
  local fn="$1" prefix="$2" warm="$3" rounds="$4" per="$5" v r
  shift 5
  for v in "$@"; do
    : > "$prefix$v"
    if [ "$warm" -gt 0 ]; then "$fn" "$v" "$warm" "" >/dev/null; fi
  done
  for ((r = 1; r <= rounds; r++)); do
    for v in "$@"; do "$fn" "$v" "$per" "$r" >> "$prefix$v"; done
  done
}

# round_means FILE: MEAN_TPS (%.1f) and MEAN_LAT (%.4f), the means of the
# rounds' "tps [latency]" lines in FILE (rounds of equal durations)
round_means() {
  [ -s "$1" ] || die "no rounds in $1"
  # shellcheck disable=SC2034  # read by the caller
  read -r MEAN_TPS MEAN_LAT < <(awk '{ t += $1; l += $2; n++ } END { printf "%.1f %.4f\n", t / n, l / n }' "$1")
}

# round_range FILE FILE: "lo-hi" of the per-round TPS ratios of the two
# sides, which shows the machine's noise
round_range() {
  paste -d' ' "$1" "$2" | awk '{ r = $1 / $3; if (NR == 1 || r < lo) lo = r; if (NR == 1 || r > hi) hi = r } END { printf "%.2f-%.2f", lo, hi }'
}

# median [FORMAT]: the median of the numbers on stdin, one a line, as awk
# prints it or with the printf FORMAT; "-" when there are none
median() {
  sort -g | awk -v fmt="${1:-}" '
    NF { v[++n] = $1 }
    END {
      if (n == 0) { print "-"; exit }
      m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      if (fmt == "") print m; else printf fmt "\n", m
    }'
}

# ratio A B [FORMAT]: A / B, with FORMAT (default %.2f)
ratio() { awk -v a="$1" -v b="$2" -v fmt="${3:-%.2f}" 'BEGIN { printf fmt, a / b }'; }

# meets VALUE OP TARGET: true when VALUE OP TARGET, OP one of >= > <=
meets() {
  awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { exit !((op == ">=" && v >= t) || (op == ">" && v > t) || (op == "<=" && v <= t)) }'
}

# ---------------------------------------------------------------------
# report
# ---------------------------------------------------------------------
# report_host [--no-cpu]: the "machine:", "cpu:" and "postgresql:" lines
report_host() {
  local version
  version="$("${PSQL[@]}" -At -c "SELECT version()")" || die "cannot read the server version"
  echo "machine:    $(nproc) CPUs, $(uname -srm)"
  [ "${1:-}" = --no-cpu ] || echo "cpu:        $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  echo "postgresql: $version"
}

# publish_report FILE: the finished report copied to OUT and printed
publish_report() {
  mkdir -p "$(dirname "$OUT")" || die "cannot create the directory of $OUT"
  cp "$1" "$OUT" || die "cannot write $OUT"
  cat "$OUT"
  log "report written to ${OUT#"$ROOT"/}"
}

# strict_exit COUNT MSG: die with MSG when COUNT > 0 and QS_BENCH_STRICT=1
strict_exit() {
  if [ "$1" -gt 0 ] && [ "${QS_BENCH_STRICT:-0}" = 1 ]; then die "$2"; fi
}
