#!/usr/bin/env bash
# Run the Node.js client program (after build.sh):
#
#   bash clients/node/run.sh workloads
#   bash clients/node/run.sh load --clients N --requests R --first-tenant T [--session]
#   bash clients/node/run.sh bench --seconds S [--clients 16]
#
# Connection from PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE and tokens from
# QS_TENANT_SECRET/QS_TENANT_AUDIENCE; unset ones default to the development
# setup (PgBouncer in transaction mode on 127.0.0.1:54629, qs_client,
# database qs_clients_node).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$HERE/build.sh" >&2
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-54629}" PGUSER="${PGUSER:-qs_client}" \
       PGPASSWORD="${PGPASSWORD:-qs-client-pw}" PGDATABASE="${PGDATABASE:-qs_clients_node}" \
       QS_TENANT_SECRET="${QS_TENANT_SECRET:-clients-secret}" QS_TENANT_AUDIENCE="${QS_TENANT_AUDIENCE:-qs-clients}"
exec node "$HERE/shop.js" "$@"
