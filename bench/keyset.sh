#!/usr/bin/env bash
# pg_queryset keyset pagination benchmark: page N of 20 orders, newest
# first, read four ways -- qs.page() after the cursor of page N-1, the
# same queryset sliced with OFFSET through qs.json(), and the SQL an expert
# writes by hand for each (the keyset predicate; LIMIT/OFFSET) -- for N =
# 1, 10, 100, 1,000 and 2,000.  Keyset must stay flat as N grows; OFFSET
# reads and throws away (N-1) * 20 rows.  See bench/README.md, "Keyset
# pagination".
#
#   bash bench/keyset.sh
#
# Settings (environment):
#   QS_PGPORT         port of the throw-away cluster          (default 54432)
#   QS_BENCH_SCALE    demo data scale, 21..1000 (2,000 orders a scale step;
#                     page 2,000 needs 40,000 orders)          (default 25)
#   QS_BENCH_SECONDS  measured seconds per script              (default 6)
#   QS_BENCH_ROUNDS   interleaved rounds                       (default 2)
#   QS_BENCH_WARMUP   pgbench -T per warm-up run               (default 1)
#   QS_BENCH_BUILD=1  run `make -s && make -s install` first
#   QS_BENCH_KEEP=1   leave the cluster running at exit
#   QS_BENCH_OUT      the report (default bench/results/keyset.txt)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

pgbench_settings 54432 25 6 2 1
[ "$SCALE" -ge 21 ] || bad "QS_BENCH_SCALE must be at least 21 (page 2,000 needs 40,000 orders), got $SCALE"
setting_flags QS_BENCH_BUILD QS_BENCH_KEEP
OUT="$(caller_path "${QS_BENCH_OUT:-$ROOT/bench/results/keyset.txt}")"
DB=qs_bench
PAGES="1 10 100 1000 2000"
SIZE=20

pgbench_cluster qs_keyset
demo_db "$SCALE"
# the index an expert gives "newest first, then by id"
"${PSQL[@]}" -c "CREATE INDEX bench_order_newest ON shop_order (created_at DESC, id)" -c "ANALYZE shop_order" >/dev/null \
  || die "cannot create the ordering index"
NORD="$(sql_value "SELECT count(*) FROM shop_order")"
[ "$NORD" -ge $(( 2000 * SIZE + SIZE )) ] || die "only $NORD orders: page 2,000 needs 40,020"

SPEC='{"model": "shop_order", "values": ["id", "created_at", "status"], "order_by": ["-created_at"]}'
ROWJSON="jsonb_build_object('id', id, 'created_at', created_at, 'status', status)"

# the cursor of every measured page: walk the pages once
log "walking $((2000 - 1)) pages to collect the cursors"
"${PSQL[@]}" -At > "$TMP/cursors" <<SQL || die "collecting the cursors failed"
SET bench.spec = '$SPEC';
CREATE TEMP TABLE cur (page int, after text);
DO \$\$
DECLARE p jsonb; c text; n int := 1;
BEGIN
  LOOP
    INSERT INTO cur VALUES (n, c);
    p := qs.page(current_setting('bench.spec')::jsonb, after => c, size => $SIZE);
    c := p->>'next';
    n := n + 1;
    EXIT WHEN n > 2000 OR c IS NULL;
  END LOOP;
END \$\$;
SELECT page, coalesce(after, '') FROM cur WHERE page IN ($(echo "$PAGES" | tr ' ' ','));
SQL
[ "$(wc -l < "$TMP/cursors")" -eq 5 ] || die "expected 5 cursors, got $(wc -l < "$TMP/cursors")"

# per page: the pgbench scripts, and a check that all four return the same rows
cat > "$TMP/qs_keyset_first.sql" <<SQL
SELECT qs.page(:spec::jsonb, NULL, $SIZE);
SQL
cat > "$TMP/qs_keyset.sql" <<SQL
SELECT qs.page(:spec::jsonb, :cur, $SIZE);
SQL
cat > "$TMP/qs_offset.sql" <<SQL
SELECT qs.json(:specoff::jsonb);
SQL
cat > "$TMP/hand_keyset_first.sql" <<SQL
SELECT coalesce(jsonb_agg($ROWJSON ORDER BY created_at DESC, id), '[]') FROM (SELECT id, created_at, status FROM shop_order ORDER BY created_at DESC, id LIMIT $SIZE) s;
SQL
cat > "$TMP/hand_keyset.sql" <<SQL
SELECT coalesce(jsonb_agg($ROWJSON ORDER BY created_at DESC, id), '[]') FROM (SELECT id, created_at, status FROM shop_order WHERE created_at <= :ts::timestamptz AND (created_at < :ts::timestamptz OR (created_at = :ts::timestamptz AND id > :lastid::bigint)) ORDER BY created_at DESC, id LIMIT $SIZE) s;
SQL
cat > "$TMP/hand_offset.sql" <<SQL
SELECT coalesce(jsonb_agg($ROWJSON ORDER BY created_at DESC, id), '[]') FROM (SELECT id, created_at, status FROM shop_order ORDER BY created_at DESC, id LIMIT $SIZE OFFSET :off::bigint) s;
SQL

run_variant() {   # VARIANT SECONDS ROUND -> "tps latency"
  local v="$1" t="$2" script args=()
  case "$v" in
    qs_keyset)   script=qs_keyset; args=(-D "spec=$SPEC"); if [ "$PAGE" = 1 ]; then script=qs_keyset_first; else args+=(-D "cur=$CUR"); fi;;
    qs_offset)   script=qs_offset; args=(-D "specoff=$SPECOFF");;
    hand_keyset) script=hand_keyset; args=(-D "ts=$TS" -D "lastid=$LASTID"); [ "$PAGE" = 1 ] && { script=hand_keyset_first; args=(); };;
    hand_offset) script=hand_offset; args=(-D "off=$OFF");;
  esac
  pgbench_run "$v page $PAGE" -n -M prepared -c 1 -j 1 -T "$t" -f "$TMP/$script.sql" "${args[@]}"
  echo "$PGB_TPS $PGB_LAT"
}

ROWS=()
while read -r PAGE CUR; do
  OFF=$(( (PAGE - 1) * SIZE ))
  SPECOFF="$(sql_value "SELECT '$SPEC'::jsonb || jsonb_build_object('offset', $OFF, 'limit', $SIZE)")"
  TS=""; LASTID=0
  if [ "$PAGE" -gt 1 ]; then
    read -r TS LASTID < <("${PSQL[@]}" -At -F' ' -c "SET TimeZone = 'UTC'; SELECT to_char(created_at, 'YYYY-MM-DD\"T\"HH24:MI:SS.USOF'), id FROM shop_order ORDER BY created_at DESC, id OFFSET $(( OFF - 1 )) LIMIT 1")
  fi
  # the same 20 rows four ways
  A="$(sql_value "SELECT (qs.page('$SPEC', NULLIF('$CUR', ''), $SIZE))->'results'")"
  B="$(sql_value "SELECT qs.json('$SPECOFF')::jsonb")"
  if [ "$PAGE" = 1 ]; then
    C="$(sql_value "$(cat "$TMP/hand_keyset_first.sql")")"
  else
    C="$(sql_value "$(sed -e "s/:ts::/'$TS'::/g" -e "s/:lastid::/$LASTID::/g" "$TMP/hand_keyset.sql")")"
  fi
  D="$(sql_value "$(sed -e "s/:off::/$OFF::/g" "$TMP/hand_offset.sql")")"
  [ "$A" = "$B" ] && [ "$A" = "$C" ] && [ "$A" = "$D" ] || die "page $PAGE: the four reads differ"
  [ "$(sql_value "SELECT jsonb_array_length('$A'::jsonb)")" = "$SIZE" ] || die "page $PAGE has not $SIZE rows"
  log "page $PAGE (offset $OFF): the four reads return the same $SIZE rows; timing"
  interleave run_variant "$TMP/p$PAGE." "$WARMUP" "$ROUNDS" "$PER" qs_keyset qs_offset hand_keyset hand_offset
  line="$PAGE $OFF"
  for v in qs_keyset qs_offset hand_keyset hand_offset; do
    round_means "$TMP/p$PAGE.$v"
    line="$line $MEAN_TPS"
  done
  ROWS+=("$line")
done < <(sed 's/|/ /' "$TMP/cursors")

# EXPLAIN of the qs keyset page 1,000: the index is scanned from the boundary
read -r _ CUR1000 < <(grep '^1000|' "$TMP/cursors" | tr '|' ' ')
PLAN="$(sql_value "SELECT qs.explain('$SPEC'::jsonb || jsonb_build_object('page', jsonb_build_object('size', $SIZE, 'after', '$CUR1000')), true)#>>'{0,Plan,Plans,0,Index Name}'")"
BUFS="$(sql_value "SELECT (qs.explain('$SPEC'::jsonb || jsonb_build_object('page', jsonb_build_object('size', $SIZE, 'after', '$CUR1000')), true)#>>'{0,Plan,Actual Rows}')")"
[ "$PLAN" = bench_order_newest ] || die "qs keyset page 1,000 does not scan bench_order_newest (plan: $PLAN)"

{
  echo "pg_queryset keyset pagination benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  report_host
  echo "data:       demo scale $SCALE: $NORD orders; index shop_order (created_at DESC, id)"
  echo "queryset:   $SPEC, $SIZE per page"
  echo "timing:     pgbench -M prepared, 1 client, ${SECONDS_RUN} s per script in $ROUNDS interleaved rounds; $(settings_line)"
  echo "checked:    on every page the four reads return the same $SIZE rows (jsonb equal)"
  echo "plan:       qs keyset page 1,000 is an Index Scan of $PLAN from the boundary ($BUFS rows read)"
  echo
  printf '%-6s %-7s %12s %12s %12s %12s %10s %10s %14s\n' page offset "qs.page/s" "qs OFFSET/s" "hand keyset" "hand OFFSET" "qs/hand" "qs/OFFSET" "qs.page vs p1"
  first=""
  for r in "${ROWS[@]}"; do
    read -r p o a b c d <<< "$r"
    [ -n "$first" ] || first="$a"
    printf '%-6s %-7s %12s %12s %12s %12s %10s %10s %14s\n' "$p" "$o" "$a" "$b" "$c" "$d" \
      "$(ratio "$a" "$c")" "$(ratio "$a" "$b")" "$(ratio "$a" "$first")"
  done
  echo
  echo "qs/hand: qs.page against the hand-written keyset SQL; qs/OFFSET: qs.page against the same"
  echo "queryset sliced with OFFSET; the last column is qs.page's throughput against its first page."
} > "$TMP/report"
publish_report "$TMP/report"
