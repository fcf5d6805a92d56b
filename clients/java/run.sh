#!/usr/bin/env bash
# Runs the Java client (clients/PROTOCOL.md): run.sh workloads | load ... | bench ...
# Builds first when the sources changed (build.sh is fast when nothing did).
# Connection from PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE; tokens from
# QS_TENANT_SECRET/QS_TENANT_AUDIENCE.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${QS_JAVA_BUILD_DIR:-/var/cache/pg_queryset/clients/java}"
bash "$HERE/build.sh" >&2 || { echo "FAIL: the java client did not build" >&2; exit 1; }
exec java -Dpgqueryset.root="$(cd "$HERE/../.." && pwd)" \
  -cp "$OUT:/usr/share/java/postgresql.jar" Shop "$@"
