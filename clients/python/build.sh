#!/usr/bin/env bash
# Build/install-check of the Python client (clients/PROTOCOL.md).
#
#   bash clients/python/build.sh
#
# Needs Debian's /usr/bin/python3 (>= 3.9) and python3-psycopg (psycopg 3);
# a missing one is a FAIL (exit 1), never a skip.  Byte-compiles the sources
# and runs the helper's offline doctests, output under
# /var/cache/pg_queryset/clients/python (outside the checkout).  Idempotent:
# nothing is redone while the sources, Python and psycopg are unchanged.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${QS_CLIENTS_CACHE:-/var/cache/pg_queryset/clients}/python"
PY=/usr/bin/python3
fail() { echo "FAIL: $*"; exit 1; }

[ -x "$PY" ] || fail "$PY is missing (Debian package python3)"
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' \
  || fail "$PY is older than 3.9: $("$PY" --version 2>&1)"
PSYCOPG="$("$PY" -E -s -c 'import psycopg; print(psycopg.__version__, psycopg.pq.__impl__, psycopg.pq.version())' 2>/dev/null)" \
  || fail "psycopg 3 is not importable by $PY (Debian package python3-psycopg: apt-get install python3-psycopg)"
case "$PSYCOPG" in 3.*) ;; *) fail "psycopg 3 is required, found $PSYCOPG";; esac

SOURCES=("$HERE/pg_queryset_client.py" "$HERE/shop.py" "$HERE/build.sh" "$HERE/run.sh")
STAMP="$( { "$PY" --version 2>&1; echo "$PSYCOPG"; sha256sum "${SOURCES[@]}"; } | sha256sum | cut -d' ' -f1)"
if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$STAMP" ]; then
  exit 0
fi
mkdir -p "$OUT" || fail "cannot create $OUT"
rm -f "$OUT/stamp"
# compile every source (syntax errors fail here), byte code under $OUT/pycache
"$PY" -E -s -X pycache_prefix="$OUT/pycache" -m py_compile "$HERE/pg_queryset_client.py" "$HERE/shop.py" \
  || fail "the Python sources do not compile"
# the helper's doctests: spec building, expressions, Q trees, error mapping, token minting (no database)
( cd "$HERE" && "$PY" -E -s -X pycache_prefix="$OUT/pycache" pg_queryset_client.py ) > "$OUT/doctest.log" 2>&1 \
  || { cat "$OUT/doctest.log"; fail "the helper's doctests failed"; }
( cd "$HERE" && "$PY" -E -s -X pycache_prefix="$OUT/pycache" shop.py --help ) > /dev/null \
  || fail "shop.py does not start"
echo "$STAMP" > "$OUT/stamp"
echo "python client: built ($("$PY" --version 2>&1), psycopg $PSYCOPG) in $OUT"
