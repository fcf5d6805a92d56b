#!/usr/bin/env bash
# Build Citus from ../shared/vendor/ for a PostgreSQL installation and
# install it there, for the scale-out suite (test/citus.sh,
# docs/scale-out.md).
#
#   bash scripts/citus-build.sh                 # Debian's PostgreSQL 15
#   PG_CONFIG=/var/cache/pg_queryset/pg17/bin/pg_config bash scripts/citus-build.sh
#
# Citus is built once per (Citus version, PostgreSQL version) into a cache
# outside the checkout (/var/cache/pg_queryset/citus-<citus>-pg<version>):
# the build is staged there with DESTDIR and the staged files are copied
# into the PostgreSQL installation on every run (a second run copies only).
# Citus 13.2.2 serves PostgreSQL 15-17, 14.0.1 serves 16-18 (the vendor
# README); QS_CITUS_VERSION overrides the choice.  The vendored tarballs are
# read in place and never copied into the checkout.  Any failure exits
# non-zero with FAIL and the reason.
set -euo pipefail

SCRIPTS="$(cd "$(dirname "$0")" && pwd)"
VENDOR="$(cd "$SCRIPTS/../.." && pwd)/shared/vendor"
[ -d "$VENDOR" ] || VENDOR="${QS_VENDOR:-/work/shared/vendor}"
PG_CONFIG="${PG_CONFIG:-pg_config}"
CACHE="${QS_PG_CACHE:-/var/cache/pg_queryset}"
JOBS="${QS_BUILD_JOBS:-$(nproc)}"
log() { echo "citus-build: $*" >&2; }
die() { echo "citus-build: FAIL: $*" >&2; exit 1; }

command -v "$PG_CONFIG" >/dev/null 2>&1 || die "no pg_config ($PG_CONFIG)"
PGVERSION="$("$PG_CONFIG" --version | awk '{print $2}')"
PGMAJOR="${PGVERSION%%.*}"
if [ -n "${QS_CITUS_VERSION:-}" ]; then
  CITUS="$QS_CITUS_VERSION"
else
  case "$PGMAJOR" in
    (15) CITUS=13.2.2 ;;
    (16|17|18) CITUS=14.0.1 ;;
    (*) die "no vendored Citus supports PostgreSQL $PGMAJOR (13.2.2: 15-17, 14.0.1: 16-18)" ;;
  esac
fi
TARBALL="$VENDOR/citus-$CITUS.tar.gz"
[ -f "$TARBALL" ] || die "the vendored source $TARBALL is missing"

KEY="citus-$CITUS-pg$PGVERSION"
DIR="$CACHE/$KEY"
STAGE="$DIR/stage"
STAMP="$DIR/.pg_queryset-build"

if ! [ -f "$STAMP" ]; then
  bash "$SCRIPTS/install-deps.sh" liblz4-dev libzstd-dev libkrb5-dev libssl-dev pkg-config >/dev/null \
    || die "could not install Citus's build dependencies"
  log "building Citus $CITUS for PostgreSQL $PGVERSION in $DIR ($JOBS jobs; about 9 minutes on 2 cores)"
  rm -rf "$DIR"
  mkdir -p "$DIR/src"
  tar -xzf "$TARBALL" -C "$DIR/src" --strip-components=1 2>/dev/null \
    || tar -xzf "$TARBALL" -C "$DIR/src" || die "could not unpack $TARBALL"
  # a `git archive` may carry a top directory or not
  if [ ! -f "$DIR/src/configure" ]; then
    sub="$(find "$DIR/src" -maxdepth 2 -name configure -printf '%h\n' | head -1)"
    [ -n "$sub" ] || die "no configure script in $TARBALL"
    mv "$DIR/src" "$DIR/src.tmp" && mv "$sub" "$DIR/src" 2>/dev/null || die "unexpected layout in $TARBALL"
  fi
  cd "$DIR/src"
  # PostgreSQL 15.20 exports have_createdb_privilege(), which Citus 13.2.2
  # also defines as a static inline: rename Citus's copy (vendor README).
  compat=src/include/pg_version_compat.h
  if [ -f "$compat" ] && grep -q 'have_createdb_privilege' "$compat" \
     && grep -q 'have_createdb_privilege' "$("$PG_CONFIG" --includedir-server)/commands/dbcommands.h" 2>/dev/null; then
    sed -i 's/^have_createdb_privilege(void)$/#define have_createdb_privilege citus_have_createdb_privilege\nhave_createdb_privilege(void)/' "$compat"
    grep -q 'define have_createdb_privilege citus_have_createdb_privilege' "$compat" \
      || die "could not rename Citus's have_createdb_privilege() in $compat"
  fi
  PG_CONFIG="$PG_CONFIG" ./configure --without-libcurl > "$DIR/configure.log" 2>&1 \
    || { tail -20 "$DIR/configure.log" >&2; die "configure failed (log: $DIR/configure.log)"; }
  make -s -j"$JOBS" > "$DIR/make.log" 2>&1 \
    || { grep -m5 -B2 -A5 'error' "$DIR/make.log" >&2 || tail -30 "$DIR/make.log" >&2; die "make failed (log: $DIR/make.log)"; }
  make -s install DESTDIR="$STAGE" > "$DIR/install.log" 2>&1 \
    || { tail -20 "$DIR/install.log" >&2; die "make install failed"; }
  [ -n "$(find "$STAGE" -name 'citus.so' -print -quit)" ] || die "the build staged no citus.so"
  echo "Citus $CITUS for PostgreSQL $PGVERSION" > "$STAMP"
  cd "$CACHE" && rm -rf "$DIR/src"
  log "built: $(cat "$STAMP")"
else
  log "cached: $(cat "$STAMP") in $DIR"
fi

# install the staged files into the PostgreSQL installation: only files
# that differ, each through a new file renamed into place -- copying over
# a loaded library rewrites code that running servers have mapped
(cd "$STAGE" && find . -type f -print0) | while IFS= read -r -d '' f; do
  dst="/${f#./}"
  if ! cmp -s "$STAGE/$f" "$dst"; then
    mkdir -p "$(dirname "$dst")" && cp -p "$STAGE/$f" "$dst.qs-new" && mv -f "$dst.qs-new" "$dst" \
      || die "could not install $dst"
  fi
done
LIB="$("$PG_CONFIG" --pkglibdir)/citus.so"
[ -f "$LIB" ] || die "citus.so is not in $("$PG_CONFIG" --pkglibdir) after the install"
echo "Citus $CITUS"
