#!/usr/bin/env bash
# Build/install-check of the Node.js client (clients/PROTOCOL.md).
#
#   bash clients/node/build.sh
#
# Needs node (>= 18) and npm; installs the exact driver versions of
# package-lock.json (node-postgres, `pg`) with `npm ci` into
# clients/node/node_modules (gitignored), only when node_modules is missing
# or the lock, node or npm changed.  A missing toolchain or a failed install
# is a FAIL (exit 1), never a skip.  Its stamp, npm's cache and the syntax
# and self checks' log live under /var/cache/pg_queryset/clients/node
# (outside the checkout).  There is no compile step: plain JavaScript with
# JSDoc types and a hand-written queryset.d.ts.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${QS_CLIENTS_CACHE:-/var/cache/pg_queryset/clients}/node"
fail() { echo "FAIL: $*"; exit 1; }

command -v node >/dev/null || fail "node is not installed (Debian package nodejs)"
command -v npm >/dev/null || fail "npm is not installed (Debian package npm)"
NODE_VERSION="$(node --version)" || fail "node does not run"
NPM_VERSION="$(npm --version 2>/dev/null)" || fail "npm does not run"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' \
  || fail "node $NODE_VERSION is older than 18"
[ -f "$HERE/package-lock.json" ] || fail "clients/node/package-lock.json is missing"

SOURCES=("$HERE/package.json" "$HERE/package-lock.json" "$HERE/queryset.js" "$HERE/queryset.d.ts" \
         "$HERE/shop.js" "$HERE/test/queryset.test.js" "$HERE/build.sh")
LOCK="$( { echo "$NODE_VERSION npm $NPM_VERSION"; sha256sum "$HERE/package.json" "$HERE/package-lock.json"; } \
         | sha256sum | cut -d' ' -f1)"
STAMP="$( { echo "$LOCK"; sha256sum "${SOURCES[@]}"; } | sha256sum | cut -d' ' -f1)"
# node_modules/.package-lock.json is what npm ci wrote: its absence means a partial install
if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$STAMP" ] && [ -f "$HERE/node_modules/.package-lock.json" ]; then
  exit 0
fi
mkdir -p "$OUT" || fail "cannot create $OUT"
rm -f "$OUT/stamp"

if [ ! -f "$HERE/node_modules/.package-lock.json" ] || [ ! -f "$OUT/lock" ] || [ "$(cat "$OUT/lock")" != "$LOCK" ]; then
  rm -f "$OUT/lock"
  ( cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error --cache "$OUT/npm-cache" ) > "$OUT/npm.log" 2>&1 \
    || { tail -20 "$OUT/npm.log"; fail "npm ci failed in clients/node (log: $OUT/npm.log)"; }
  echo "$LOCK" > "$OUT/lock"
fi
PG_VERSION="$(cd "$HERE" && node -p 'require("pg/package.json").version' 2>/dev/null)" \
  || fail "the driver pg (node-postgres) is not loadable after npm ci"

# syntax of every source, then the helper's offline tests (spec building,
# slicing, error mapping, token minting: no database)
for f in queryset.js shop.js test/queryset.test.js; do
  node --check "$HERE/$f" || fail "clients/node/$f does not parse"
done
( cd "$HERE" && node --test test/ ) > "$OUT/test.log" 2>&1 \
  || { cat "$OUT/test.log"; fail "the helper's offline tests failed (clients/node/test)"; }
( cd "$HERE" && node shop.js --help ) > /dev/null || fail "shop.js does not start"
echo "$STAMP" > "$OUT/stamp"
echo "node client: built (node $NODE_VERSION, npm $NPM_VERSION, pg $PG_VERSION) in $OUT"
