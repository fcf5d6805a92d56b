#!/usr/bin/env bash
# Build/install-check of the Go client (clients/PROTOCOL.md).
#
#   bash clients/go/build.sh
#
# Needs Debian's Go toolchain (golang-go, >= 1.18 for generics) and pgx v4
# from golang-github-jackc-pgx-v4-dev (sources under /usr/share/gocode); a
# missing one is a FAIL (exit 1), never a skip.  No module downloads: the
# build runs in GOPATH mode with GOPATH=/usr/share/gocode:clients/go.
# Vets the sources, runs the helper's offline tests (spec building,
# expressions, error mapping, token minting; no database) and builds the
# program, all output under /var/cache/pg_queryset/clients/go (outside the
# checkout).  Idempotent: nothing is redone while the sources, Go and the
# Debian Go packages are unchanged.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${QS_CLIENTS_CACHE:-/var/cache/pg_queryset/clients}"
OUT="$CACHE/go"
GOSRC="${QS_GOCODE:-/usr/share/gocode}"   # Debian's GOPATH of golang-*-dev packages
fail() { echo "FAIL: $*"; exit 1; }

GO="${QS_GO:-$(command -v go 2>/dev/null || echo /usr/lib/go/bin/go)}"
[ -x "$GO" ] || fail "the go toolchain is missing (Debian package golang-go: apt-get install golang-go)"
GOVERSION="$("$GO" env GOVERSION 2>/dev/null)" || fail "$GO does not run"
case "$GOVERSION" in
  go1.1[8-9]*|go1.[2-9][0-9]*) ;;
  *) fail "Go >= 1.18 is required (generics), found $GOVERSION" ;;
esac
for pkg in github.com/jackc/pgx/v4 github.com/jackc/pgconn github.com/jackc/pgtype \
           github.com/jackc/pgtype/ext/shopspring-numeric github.com/shopspring/decimal; do
  [ -d "$GOSRC/src/$pkg" ] || fail "Go package $pkg is missing under $GOSRC (Debian package golang-github-jackc-pgx-v4-dev: apt-get install golang-github-jackc-pgx-v4-dev)"
done

export GO111MODULE=off GOFLAGS= GOPATH="$GOSRC:$HERE" GOCACHE="${GOCACHE:-/var/cache/pg_queryset/go-build}" \
       GOTOOLCHAIN=local CGO_ENABLED=0
mkdir -p "$OUT" "$GOCACHE" || fail "cannot create $OUT or $GOCACHE"

SOURCES=("$HERE"/src/pgqueryset/*.go "$HERE"/src/shop/*.go "$HERE/build.sh" "$HERE/run.sh")
STAMP="$( { echo "$GOVERSION"; dpkg-query -W -f '${Package} ${Version}\n' 'golang-github-jackc-*' 'golang-github-shopspring-*' 2>/dev/null || true
           sha256sum "${SOURCES[@]}"; } | sha256sum | cut -d' ' -f1)"
if [ -f "$OUT/stamp" ] && [ -x "$OUT/shop" ] && [ "$(cat "$OUT/stamp")" = "$STAMP" ]; then
  exit 0
fi
rm -f "$OUT/stamp"
unformatted="$(gofmt -l "$HERE/src/pgqueryset" "$HERE/src/shop")" || fail "gofmt failed"
[ -z "$unformatted" ] || fail "not gofmt-formatted: $unformatted"
"$GO" vet pgqueryset shop > "$OUT/vet.log" 2>&1 || { cat "$OUT/vet.log"; fail "go vet found problems"; }
"$GO" test -count=1 pgqueryset > "$OUT/test.log" 2>&1 || { cat "$OUT/test.log"; fail "the helper's tests failed"; }
"$GO" build -trimpath -o "$OUT/shop.new" shop > "$OUT/build.log" 2>&1 || { cat "$OUT/build.log"; fail "go build failed"; }
mv -f "$OUT/shop.new" "$OUT/shop"
"$OUT/shop" --help > /dev/null 2>&1 || fail "the shop program does not start"
echo "$STAMP" > "$OUT/stamp"
echo "go client: built ($GOVERSION, pgx $(dpkg-query -W -f '${Version}' golang-github-jackc-pgx-v4-dev 2>/dev/null || echo '?')) in $OUT"
