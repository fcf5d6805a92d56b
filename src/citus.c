/*-------------------------------------------------------------------------
 *
 * citus.c
 *		Working on a Citus cluster (docs/scale-out.md).
 *
 * pg_queryset does not link against Citus and does not depend on it:
 * whether Citus is installed is read from the catalog (the extension
 * "citus"), whether a relation is a Citus table from Citus's metadata
 * table pg_catalog.pg_dist_partition, read through SPI only when Citus is
 * installed.
 *
 * The tenant context reaches the workers through the one path Citus
 * offers for session state: a SET LOCAL executed through ProcessUtility,
 * which Citus's utility hook sends to every worker connection of the
 * transaction and replays on the connections it opens later
 * (citus.propagate_set_commands = 'local', switched on around the
 * statement when it is off).  What travels is never the client's token
 * nor a bare tenant: the tenant functions mint a short-lived token signed
 * by the server's secret (tenant.c, MintWorkerToken), and the workers
 * verify it like any other token.  This node's own setting is put back
 * as it was afterwards, so the coordinator keeps the context it had.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "citus.h"

/* Is Citus installed in this database? */
bool
QsCitusActive(void)
{
	return OidIsValid(get_extension_oid("citus", true));
}

/*
 * Is the relation a Citus table (distributed, reference or a Citus local
 * table)?  Such a table's rows are not in the relation on this node: a
 * write must go through the executor, where Citus routes it.
 */
bool
QsCitusTable(Oid relid)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1];
	bool		found = false;
	int			rc;

	if (!QsCitusActive())
		return false;
	values[0] = ObjectIdGetDatum(relid);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_dist_partition p "
							   "WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
							   1, types, values, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading pg_dist_partition failed: %s", SPI_result_code_string(rc));
	found = SPI_processed > 0;
	SPI_finish();
	return found;
}

/*
 * SET LOCAL pg_queryset.tenant_token to the given token on the workers of
 * this transaction (an empty token clears it there), through Citus's
 * SET propagation; this node's own pg_queryset.tenant_token and
 * citus.propagate_set_commands are left as they were.  The caller
 * (tenant.c) runs it only with Citus installed and in a transaction
 * block: outside one the context ends with the statement, and Citus
 * propagates nothing.
 */
void
QsCitusPropagateToken(const char *token)
{
	const char *prop;
	char	   *old_token;
	char	   *old_prop = NULL;
	char	   *sql;
	int			rc;

	old_token = pstrdup(GetConfigOption("pg_queryset.tenant_token", false, false));
	prop = GetConfigOption("citus.propagate_set_commands", true, false);
	if (prop == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the tenant cannot reach the Citus workers: the citus library is not loaded"),
				 errhint("Put citus first in shared_preload_libraries on every node.")));
	if (strcmp(prop, "local") != 0)
		old_prop = pstrdup(prop);

	sql = psprintf("SET LOCAL pg_queryset.tenant_token = %s", quote_literal_cstr(token));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (old_prop)
		(void) set_config_option("citus.propagate_set_commands", "local", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_LOCAL, true, 0, false);
	rc = SPI_execute(sql, false, 0);
	if (rc != SPI_OK_UTILITY)
		elog(ERROR, "propagating the tenant to the Citus workers failed: %s", SPI_result_code_string(rc));
	SPI_finish();
	pfree(sql);

	/* this node keeps its own context and setting */
	(void) set_config_option("pg_queryset.tenant_token", old_token, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
	if (old_prop)
		(void) set_config_option("citus.propagate_set_commands", old_prop, PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_LOCAL, true, 0, false);
}
