#!/usr/bin/env bash
# Builds the Java client (clients/java) into /var/cache/pg_queryset/clients/java
# with Debian's OpenJDK 17 and JDBC driver (openjdk-17-jdk-headless,
# libpostgresql-jdbc-java). Nothing is downloaded. Idempotent: a stamp holds
# the hash of the sources, javac's version and the driver jar; an unchanged
# tree is not recompiled.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${QS_JAVA_BUILD_DIR:-/var/cache/pg_queryset/clients/java}"
JAR=/usr/share/java/postgresql.jar

command -v javac >/dev/null || { echo "FAIL: javac not found (apt-get install openjdk-17-jdk-headless)"; exit 1; }
command -v java >/dev/null || { echo "FAIL: java not found (apt-get install openjdk-17-jdk-headless)"; exit 1; }
[ -r "$JAR" ] || { echo "FAIL: $JAR not found (apt-get install libpostgresql-jdbc-java)"; exit 1; }
jv="$(javac -version 2>&1)"
case "$jv" in
  "javac 1"[7-9]*|"javac "[2-9][0-9]*) ;;
  *) echo "FAIL: javac 17 or later needed, found: $jv"; exit 1 ;;
esac

mapfile -t SOURCES < <(cd "$HERE" && find src -name '*.java' | LC_ALL=C sort)
[ "${#SOURCES[@]}" -gt 0 ] || { echo "FAIL: no sources under $HERE/src"; exit 1; }
stamp="$( { echo "$jv"; sha256sum "$JAR" | cut -d' ' -f1; (cd "$HERE" && sha256sum "${SOURCES[@]}"); } | sha256sum | cut -d' ' -f1)"
if [ -f "$OUT/.stamp" ] && [ "$(cat "$OUT/.stamp")" = "$stamp" ] && [ -f "$OUT/Shop.class" ]; then
  exit 0
fi

mkdir -p "$(dirname "$OUT")"
TMP="$(mktemp -d "$(dirname "$OUT")/.java-build.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
(cd "$HERE" && javac -Xlint:all -Werror -encoding UTF-8 -d "$TMP" -cp "$JAR" "${SOURCES[@]}") \
  || { echo "FAIL: javac failed"; exit 1; }
echo "$stamp" > "$TMP/.stamp"
chmod 755 "$TMP"
rm -rf "$OUT.old"
[ -d "$OUT" ] && mv "$OUT" "$OUT.old"
mv "$TMP" "$OUT"
rm -rf "$OUT.old"
echo "java client built in $OUT" >&2
