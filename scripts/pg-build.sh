#!/usr/bin/env bash
# Build a PostgreSQL major from Debian's source package into a cache
# outside the checkout, for the test matrix (docs/configuration.md,
# "Tested PostgreSQL majors").
#
#   bash scripts/pg-build.sh 18        # prints the prefix, e.g. /var/cache/pg_queryset/pg18
#
# Debian 12 ships PostgreSQL 15 only; the other majors' sources come from
# the same registry's source indexes (trixie, sid, experimental), read
# through a private apt configuration so the system's sources are not
# touched.  When the index names a file the registry no longer serves,
# the newest .orig tarball of that major still in the pool is used.
# Built with --without-icu --without-readline --without-zlib and
# --with-openssl (pgcrypto, which the tenant suite signs tokens with,
# needs it), plus the
# contrib modules the tests use (pg_stat_statements, amcheck, pgcrypto)
# and pgTAP's SQL files (copied from Debian's postgresql-15-pgtap: pgTAP
# is plain SQL).  A finished build is reused: the prefix holds a
# .pg_queryset-build stamp naming the version.  Any failure exits
# non-zero with the reason: a major that cannot be built fails the run.
set -euo pipefail

SCRIPTS="$(cd "$(dirname "$0")" && pwd)"
MAJOR="${1:?usage: pg-build.sh MAJOR}"
case "$MAJOR" in (*[!0-9]*|'') echo "pg-build: MAJOR must be a number, got '$MAJOR'" >&2; exit 2;; esac
CACHE="${QS_PG_CACHE:-/var/cache/pg_queryset}"
PREFIX="$CACHE/pg$MAJOR"
STAMP="$PREFIX/.pg_queryset-build"
JOBS="${QS_BUILD_JOBS:-$(nproc)}"
log() { echo "pg-build $MAJOR: $*" >&2; }
die() { echo "pg-build $MAJOR: FAIL: $*" >&2; exit 1; }

if [ -f "$STAMP" ] && [ -x "$PREFIX/bin/pg_config" ] && [ -x "$PREFIX/bin/postgres" ]; then
  log "cached: $(cat "$STAMP") in $PREFIX"
  echo "$PREFIX"
  exit 0
fi

# build tools (bison and flex: 17 and later generate their parsers at build time)
bash "$SCRIPTS/install-deps.sh" bison flex pkg-config libssl-dev >/dev/null || die "could not install the build tools"

# a private apt configuration with deb-src lines for the suites that carry newer majors
APT="$CACHE/apt"
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$CACHE/src"
MIRROR="$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)"
[ -n "$MIRROR" ] || MIRROR="$(sed -n 's/^deb \(http[^ ]*debian\) .*/\1/p' /etc/apt/sources.list 2>/dev/null | head -1)"
[ -n "$MIRROR" ] || die "no Debian mirror found in the apt sources"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
: > "$APT/sources.list"
for suite in trixie sid experimental; do
  echo "deb-src [signed-by=$KEYRING] $MIRROR $suite main" >> "$APT/sources.list"
done
APTOPTS=(-o "Dir::Etc::sourcelist=$APT/sources.list" -o Dir::Etc::sourceparts=/dev/null
         -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache" -o APT::Sandbox::User=root)
log "reading the source indexes ($MIRROR: trixie, sid, experimental)"
apt-get -qq "${APTOPTS[@]}" update >/dev/null 2>&1 || die "apt-get update of the source indexes failed"
VERSION="$(apt-cache "${APTOPTS[@]}" showsrc "postgresql-$MAJOR" 2>/dev/null | sed -n 's/^Version: //p' | sort -V | tail -1)"
[ -n "$VERSION" ] || die "no source package postgresql-$MAJOR in trixie, sid or experimental"
UPSTREAM="${VERSION%%-*}"
log "index: postgresql-$MAJOR $VERSION"

cd "$CACHE/src"
TARBALL=""
if apt-get -qq "${APTOPTS[@]}" source --download-only "postgresql-$MAJOR=$VERSION" >/dev/null 2>&1; then
  TARBALL="$(ls -1 "postgresql-${MAJOR}_${UPSTREAM}".orig.tar.* 2>/dev/null | head -1)"
fi
if [ -z "$TARBALL" ]; then
  # the index names files the registry no longer serves: the newest .orig of the major in the pool
  log "the registry does not serve $VERSION; looking for the newest .orig of $MAJOR in the pool"
  POOL="$MIRROR/pool/main/p/postgresql-$MAJOR"
  case "$UPSTREAM" in
    *~*) candidates="$UPSTREAM" ;;                      # a release candidate: only itself
    *) minor="${UPSTREAM#*.}"; minor="${minor%%.*}"
       candidates="$(seq "$minor" -1 0 | sed "s/^/$MAJOR./")" ;;
  esac
  for v in $candidates; do
    for ext in bz2 gz xz; do
      f="postgresql-${MAJOR}_${v}.orig.tar.$ext"
      if curl -fsS -o "$f.part" "$POOL/$(printf '%s' "$f" | sed 's/~/%7e/g')" 2>/dev/null; then
        mv "$f.part" "$f"; TARBALL="$f"; UPSTREAM="$v"; break 2
      fi
      rm -f "$f.part"
    done
  done
  [ -n "$TARBALL" ] || die "the registry serves no source tarball of PostgreSQL $MAJOR (tried: $(echo $candidates))"
fi
log "building PostgreSQL $UPSTREAM from $TARBALL into $PREFIX ($JOBS jobs)"

BUILD="$CACHE/src/build-$MAJOR"
rm -rf "$BUILD" "$PREFIX"
mkdir -p "$BUILD"
tar -xf "$TARBALL" -C "$BUILD" --strip-components=1 || die "could not unpack $TARBALL"
cd "$BUILD"
./configure --prefix="$PREFIX" --without-icu --without-readline --without-zlib --with-openssl \
  > "$BUILD/configure.log" 2>&1 || { tail -20 "$BUILD/configure.log" >&2; die "configure failed"; }
make -s -j"$JOBS" > "$BUILD/make.log" 2>&1 || { tail -30 "$BUILD/make.log" >&2; die "make failed"; }
make -s install > "$BUILD/install.log" 2>&1 || { tail -20 "$BUILD/install.log" >&2; die "make install failed"; }
for m in pg_stat_statements amcheck pgcrypto; do
  make -s -C "contrib/$m" -j"$JOBS" install >> "$BUILD/install.log" 2>&1 || die "contrib/$m failed to build"
done
# pgTAP: SQL only; Debian's package for 15 carries the files
SHARE="$("$PREFIX/bin/pg_config" --sharedir)/extension"
ls /usr/share/postgresql/15/extension/pgtap*.{control,sql} >/dev/null 2>&1 \
  || bash "$SCRIPTS/install-deps.sh" postgresql-15-pgtap >/dev/null \
  || die "pgTAP's SQL files are not available"
cp /usr/share/postgresql/15/extension/pgtap* "$SHARE/" || die "could not copy pgTAP's SQL files"
chmod -R a+rX "$PREFIX"
echo "PostgreSQL $UPSTREAM (Debian $VERSION index)" > "$STAMP"
rm -rf "$BUILD"
log "done: $(cat "$STAMP")"
echo "$PREFIX"
