#!/usr/bin/env bash
# pg_queryset bulk-writes benchmark: qs.bulk_update against a hand-written
# UPDATE ... FROM unnest(...) and Django 3.2's bulk_update, and
# qs.bulk_create against multi-row INSERT and COPY, at 10k and 100k rows,
# from a Python client over the local unix socket.  See bench/README.md,
# "Bulk writes".
#
#   bash bench/writes.sh
#
# The client is bench/writes_client.py, run with Debian's /usr/bin/python3
# (the one python3-django and python3-psycopg2 install into); its Django
# models are bench/django/benchapp/models.py (Product) and one of its own
# (BenchItem).
#
# Settings (environment):
#   QS_PGPORT              port of the throw-away cluster        (default 54460)
#   QS_BENCH_SCALE         demo data scale, 1..1000 (1 = 1000 products); when
#                          it gives fewer products than the largest size,
#                          plain products are added with generate_series
#                                                                (default 100)
#   QS_WRITES_SIZES        row counts, space-separated           (default "10000 100000")
#   QS_WRITES_RUNS         timed runs per variant (after 1 warm-up), interleaved
#                                                                (default 5)
#   QS_WRITES_DJANGO=0     skip Django (its bulk_update at 10k rows is minutes)
#   QS_WRITES_DJANGO_MAX   statement_timeout, in seconds, of each Django
#                          bulk_update; when the default batch is cut, it is
#                          run at 1/8 and 1/4 of the rows and extrapolated
#                          (labelled ESTIMATED)                  (default 180)
#   QS_WRITES_DJANGO_UPDATE_SIZES  sizes at which Django's bulk_update runs
#                                                                (default: the smallest)
#   QS_BENCH_BUILD=1       run `make -s && make -s install` first (also done
#                          automatically when pg_queryset.so is not installed)
#   QS_BENCH_KEEP=1        leave the cluster running at exit
#   QS_BENCH_STRICT=1      exit 1 when a target is missed
#   QS_WRITES_OUT          where the report is written
#                          (default bench/results/writes.txt)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

setting_port 54460
setting SCALE QS_BENCH_SCALE 100 1 1000
OUT="$(caller_path "${QS_WRITES_OUT:-$ROOT/bench/results/writes.txt}")"
export QS_WRITES_SIZES="${QS_WRITES_SIZES:-10000 100000}"
setting QS_WRITES_RUNS QS_WRITES_RUNS 5 1
export QS_WRITES_DJANGO="${QS_WRITES_DJANGO:-1}"
setting QS_WRITES_DJANGO_MAX QS_WRITES_DJANGO_MAX 180 1
export QS_WRITES_RUNS QS_WRITES_DJANGO_MAX   # read by the client
export QS_WRITES_DJANGO_UPDATE_SIZES="${QS_WRITES_DJANGO_UPDATE_SIZES:-}"
setting_flags QS_WRITES_DJANGO QS_BENCH_BUILD QS_BENCH_KEEP QS_BENCH_STRICT
UPD_TARGET=1.30      # qs.bulk_update / hand-written UPDATE ... FROM unnest, every size
CR_TARGET=2.00       # qs.bulk_create / COPY, at the largest size
DB=qs_writes

[ -n "${QS_WRITES_SIZES// /}" ] || bad "QS_WRITES_SIZES is empty"
MAXSIZE=0
for n in $QS_WRITES_SIZES $QS_WRITES_DJANGO_UPDATE_SIZES; do
  case "$n" in *[!0-9]*|0*) bad "sizes must be positive integers, got '$n'";; esac
  [ "$n" -ge 100 ] || bad "sizes must be at least 100, got $n"
  [ "$n" -gt "$MAXSIZE" ] && MAXSIZE="$n"
done
for n in $QS_WRITES_DJANGO_UPDATE_SIZES; do
  case " $QS_WRITES_SIZES " in *" $n "*) ;; *) bad "QS_WRITES_DJANGO_UPDATE_SIZES: $n is not in QS_WRITES_SIZES";; esac
done

bench_tmp qs_writes

# ---------------------------------------------------------------------
# 0. dependencies and the extension
# ---------------------------------------------------------------------
install_deps python3-django python3-psycopg2
PY=/usr/bin/python3
"$PY" -c "import django, psycopg2" 2>/dev/null || die "$PY cannot import django and psycopg2 (apt-get install python3-django python3-psycopg2)"
ensure_extension

# ---------------------------------------------------------------------
# 1. throw-away cluster
# ---------------------------------------------------------------------
start_cluster

# ---------------------------------------------------------------------
# 2. data: the demo data (catalog_product is what bulk_update writes),
# topped up to the largest size if needed; bench_item for bulk_create
# ---------------------------------------------------------------------
t0=$(date +%s)
load_demo "$SCALE"
NDEMO="$(sql_value "SELECT count(*) FROM catalog_product")"
TOPUP=0
if [ "$NDEMO" -lt "$MAXSIZE" ]; then
  TOPUP=$((MAXSIZE - NDEMO))
  log "adding $TOPUP plain products (generate_series) to reach $MAXSIZE"
  "${PSQL[@]}" -v n="$TOPUP" >/dev/null <<'SQL' || die "adding the plain products failed"
WITH c AS (SELECT array_agg(id ORDER BY id) AS ids FROM catalog_category)
INSERT INTO catalog_product (name, slug, category_id, price, stock, status)
SELECT 'Bench product ' || g, 'bench-product-' || g, c.ids[1 + g % cardinality(c.ids)],
       (g % 500) + 0.99, g % 300, 'active'
FROM c, generate_series(1, :n) AS g;
SQL
fi
"${PSQL[@]}" >/dev/null <<'SQL' || die "CREATE EXTENSION or bench_item failed"
CREATE EXTENSION pg_queryset;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
-- the shape of a typical model
CREATE TABLE bench_item (
    id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    sku         text NOT NULL,
    qty         integer NOT NULL,
    price       numeric(10,2) NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
VACUUM ANALYZE;
CHECKPOINT;
SQL
NPROD="$(sql_value "SELECT count(*) FROM catalog_product")"
NIDX="$(sql_value "SELECT count(*) || ' (' || string_agg(am.amname, ', ' ORDER BY am.amname) || ')' FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam WHERE i.indrelid = 'catalog_product'::regclass")"
PSIZE="$(sql_value "SELECT pg_size_pretty(pg_relation_size('catalog_product'))")"
LOADSECS=$(( $(date +%s) - t0 ))
log "data ready in ${LOADSECS}s: $NPROD products"

# ---------------------------------------------------------------------
# 3. the client
# ---------------------------------------------------------------------
log "running the client (bench/writes_client.py): sizes $QS_WRITES_SIZES, $QS_WRITES_RUNS runs"
t0=$(date +%s)
if ! PYTHONDONTWRITEBYTECODE=1 "$PY" bench/writes_client.py > "$TMP/client.out"; then
  cat "$TMP/client.out" >&2
  die "the client failed"
fi
CLIENTSECS=$(( $(date +%s) - t0 ))
PSIZE_AFTER="$("${PSQL[@]}" -At -c "VACUUM catalog_product" -c "SELECT pg_size_pretty(pg_relation_size('catalog_product'))")"

# ---------------------------------------------------------------------
# 4. report
# ---------------------------------------------------------------------
val() {  # line-prefix key
  awk -v p="$1" -v k="$2" '$1 == "WRITES" && $2 == p { for (i = 3; i <= NF; i++) { split($i, a, "="); if (a[1] == k) print a[2] } }' "$TMP/client.out" | tail -1
}
check() {  # value target label
  if [ -n "$1" ] && meets "$1" "<=" "$2"; then
    echo "  $3 = $1: met (target <= $2)"
  else
    echo "  $3 = ${1:-?}: MISSED (target <= $2)"
  fi
}
SETTINGS="$(settings_line 'WRITES_[A-Z_]+')"
SERVER="$(sql_value "SELECT 'jit = ' || current_setting('jit') || ' (available: ' || pg_jit_available() || ', jit_above_cost ' || current_setting('jit_above_cost') || '), shared_buffers ' || current_setting('shared_buffers') || ', fsync ' || current_setting('fsync') || ', synchronous_commit ' || current_setting('synchronous_commit')")"
{
  echo "pg_queryset bulk-writes benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  report_host
  echo "server:     $SERVER"
  echo "data:       demo scale $SCALE: $NPROD products$( [ "$TOPUP" -gt 0 ] && echo " ($TOPUP added by generate_series)"),"
  echo "            catalog_product $PSIZE after loading, $PSIZE_AFTER at the end (rolled-back versions, vacuumed); $NIDX indexes"
  echo "            loaded in ${LOADSECS}s; client ran ${CLIENTSECS}s"
  echo "settings:   ${SETTINGS:-defaults}"
  grep -v '^WRITES ' "$TMP/client.out"
  echo "targets:"
  for n in $QS_WRITES_SIZES; do
    check "$(val "upd_$n" qs_hand)" "$UPD_TARGET" "bulk_update $n rows: qs / hand-written UPDATE ... FROM unnest"
  done
  check "$(val "cr_$MAXSIZE" qs_copy)" "$CR_TARGET" "bulk_create $MAXSIZE rows: qs / COPY text"
  check "$(val "cr_$MAXSIZE" qs_count_copy)" "$CR_TARGET" "bulk_create $MAXSIZE rows, returning [] (no keys, as COPY): qs / COPY text"
  echo "for reference:"
  for n in $QS_WRITES_SIZES; do
    d="$(val "upd_$n" django_qs)"
    if [ -n "$d" ]; then
      est="$(val "upd_$n" estimated)"
      echo "  bulk_update $n rows: Django (default batch) / qs = $d$( [ "$est" = 1 ] && echo " (Django's time estimated, not measured)")"
    fi
  done
  for n in $QS_WRITES_SIZES; do
    [ "$n" = "$MAXSIZE" ] && continue
    echo "  bulk_create $n rows: qs / COPY text = $(val "cr_$n" qs_copy)"
  done
  for n in $QS_WRITES_SIZES; do
    echo "  bulk_create $n rows: qs / multi-row INSERT = $(val "cr_$n" qs_insert)"
  done
} > "$TMP/report.txt"
fails="$(grep -c ': MISSED (target' "$TMP/report.txt" || true)"

publish_report "$TMP/report.txt"

strict_exit "$fails" "$fails target(s) missed"
