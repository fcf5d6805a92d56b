/*
 * pg_queryset.c
 *	  Module entry point: _PG_init and the pg_queryset.* GUCs (those of
 *	  the tenant are defined by tenant.c; the executor hooks that use the
 *	  statement-counting GUCs live in querystats.c).
 *
 * _PG_init only delegates: it defines the pg_queryset.* GUCs, reserves
 * the prefix, and asks each module to register its callbacks.  It does
 * no work during a binary upgrade.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "utils/guc.h"

#include "guards.h"
#include "model.h"
#include "pg_queryset.h"
#include "plancache.h"
#include "querystats.h"
#include "tenant.h"

PG_MODULE_MAGIC;

/* GUC variables */
int			qs_plan_cache_size = 256;
int			qs_max_depth = 64;
bool		qs_shape_cache_check = false;
bool		qs_bulk_copy = true;
int			qs_plan_choice = QS_PLAN_CHOICE_AUTO;

void		_PG_init(void);

static const struct config_enum_entry max_rows_action_options[] = {
	{"error", QS_MAX_ROWS_ERROR, false},
	{"truncate", QS_MAX_ROWS_TRUNCATE, false},
	{NULL, 0, false}
};

static const struct config_enum_entry plan_choice_options[] = {
	{"auto", QS_PLAN_CHOICE_AUTO, false},
	{"postgres", QS_PLAN_CHOICE_POSTGRES, false},
	{NULL, 0, false}
};

static const struct config_enum_entry nplusone_options[] = {
	{"off", QS_NPLUSONE_OFF, false},
	{"warn", QS_NPLUSONE_WARN, false},
	{"error", QS_NPLUSONE_ERROR, false},
	{NULL, 0, false}
};

/* Module load: GUCs and per-module initialisation. */
void
_PG_init(void)
{
	if (IsBinaryUpgrade)
		return;

	DefineCustomIntVariable("pg_queryset.plan_cache_size",
							"Maximum number of saved plans kept per backend.",
							"Least recently used plans are evicted; 0 disables plan caching.",
							&qs_plan_cache_size,
							256, 0, 100000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomEnumVariable("pg_queryset.plan_choice",
							 "Who decides between custom and generic plans of a cached statement.",
							 "auto: a statement whose generic plan was costed below what its own "
							 "values cost is kept on custom plans (docs/performance.md); "
							 "postgres: PostgreSQL's plan_cache_mode alone.",
							 &qs_plan_choice,
							 QS_PLAN_CHOICE_AUTO, plan_choice_options,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("pg_queryset.max_depth",
							"Maximum nesting depth of a Q tree.",
							"Deeper specs are refused with SQLSTATE 54000.",
							&qs_max_depth,
							64, 1, 1000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("pg_queryset.shape_cache_check",
							 "Recompile every shape-cache hit and compare (for tests).",
							 "A mismatch between the cached and the fresh statement is an internal error.",
							 &qs_shape_cache_check,
							 false,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("pg_queryset.bulk_copy",
							 "Lets qs.bulk_create load rows through COPY where the result is the same.",
							 "Off: every bulk_create runs INSERT ... SELECT statements.",
							 &qs_bulk_copy,
							 true, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("pg_queryset.query_stats",
							 "Count the session's statements by query id (qs.query_stats()).",
							 "Top-level statements (what clients send) and nested ones are counted apart.",
							 &qs_track_stats,
							 false,
							 /*
							  * superuser-only (or GRANT SET ON PARAMETER): a role that
							  * could switch it on for itself with ALTER ROLE ... SET would
							  * collect every pooled session's statements
							  */
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	DefineCustomEnumVariable("pg_queryset.nplusone",
							 "Flag one statement shape repeated in a transaction (N+1 queries).",
							 "off, warn (a WARNING once per shape) or error.",
							 &qs_nplusone,
							 QS_NPLUSONE_OFF, nplusone_options,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("pg_queryset.nplusone_threshold",
							"Runs of one top-level statement shape allowed per transaction.",
							"The next run is flagged by pg_queryset.nplusone.",
							&qs_nplusone_threshold,
							10, 1, INT_MAX,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pg_queryset.query_budget",
							"Maximum top-level statements per transaction (0: no limit).",
							"A transaction running more fails with SQLSTATE 54000, like Django's assertNumQueries.",
							&qs_query_budget,
							0, 0, INT_MAX,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	/*
	 * The guards (guards.c): superuser-only, so the limits a DBA pins on
	 * the application role with ALTER ROLE ... SET cannot be lifted by it
	 * (SET, RESET, set_config(), a function's SET clause, ALTER ROLE on
	 * itself all need the privilege; GRANT SET ON PARAMETER can give it).
	 */
	DefineCustomIntVariable("pg_queryset.max_rows",
							"Maximum rows a qs read returns (0: no limit).",
							"A read that would return more fails, or with pg_queryset.max_rows_action = truncate "
							"returns the first max_rows rows with a WARNING.",
							&qs_max_rows,
							0, 0, INT_MAX - 1,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomEnumVariable("pg_queryset.max_rows_action",
							 "What a read over pg_queryset.max_rows does: error or truncate.",
							 "error (SQLSTATE 54000) or truncate (the first max_rows rows and a WARNING).",
							 &qs_max_rows_action,
							 QS_MAX_ROWS_ERROR, max_rows_action_options,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("pg_queryset.max_affected",
							"Maximum rows one qs write call changes (0: no limit).",
							"A write that would change more fails with SQLSTATE 54000 and changes nothing.",
							&qs_max_affected,
							0, 0, INT_MAX,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomRealVariable("pg_queryset.max_cost",
							 "Maximum planned total cost of a statement qs runs (0: no limit).",
							 "A statement whose estimate is higher is refused before it runs (SQLSTATE 54000).",
							 &qs_max_cost,
							 0, 0, 1e15,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	/* the tenant settings (tenant.c), only when preloaded */
	QsTenantInit();
	MarkGUCPrefixReserved("pg_queryset");

	QsModelInit();
	QsPlanCacheInit();
	QsQueryStatsInit();
	QsGuardsInit();
}
