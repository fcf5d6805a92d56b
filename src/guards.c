/*
 * guards.c
 *	  The limits a DBA pins on the application role (issue 18):
 *	  pg_queryset.max_rows (+ max_rows_action), pg_queryset.max_affected
 *	  and pg_queryset.max_cost.  Superuser-only settings (PGC_SUSET), so
 *	  ALTER ROLE app SET ... binds the role: it can neither SET, RESET,
 *	  set_config() nor carry them in a function's SET clause.
 *
 * What each guard looks at (docs/guards.md):
 *
 *	 max_rows	  the top-level rows of a read that returns rows (qs.rows,
 *				  qs.fetch, qs.json, qs.in_bulk, qs.cursor).  exec.c asks
 *				  for max_rows + 1 of them (a LIMIT in the statement); the
 *				  extra row means "more": an error, or with max_rows_action
 *				  = truncate a WARNING and the first max_rows rows.  Rows
 *				  streamed to a tuplestore or a cursor are counted by a
 *				  DestReceiver wrapped around the real one (GuardDest).
 *	 max_affected the rows one write call changes (qs.update, qs.delete,
 *				  qs.create with its children, get_or_create,
 *				  update_or_create, bulk_create, bulk_update), checked by
 *				  the writers as they go; the error rolls everything back.
 *	 max_cost	  the planner's total cost of each statement qs runs,
 *				  checked in ExecutorStart before the statement starts.
 *				  A statement is ours when its source text is the very
 *				  string of the saved plan qs handed to SPI (QsGuardArm),
 *				  so the user's own SQL -- a trigger, a function in a view
 *				  -- is never checked; a nested qs call arms its own.
 *
 * Must not: change what a statement returns other than by these limits,
 * or do any work when the settings are 0 (the macros in guards.h test
 * them first).  All three errors are SQLSTATE 54000 (program_limit_exceeded,
 * as pg_queryset.query_budget).
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include <math.h>

#include "access/xact.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/portal.h"

#include "guards.h"
#include "pg_queryset.h"

/* GUCs (defined in pg_queryset.c) */
int			qs_max_rows = 0;
int			qs_max_rows_action = QS_MAX_ROWS_ERROR;
int			qs_max_affected = 0;
double		qs_max_cost = 0;

/* An open qs.cursor portal whose fetches are counted. */
typedef struct GuardCursor
{
	struct GuardCursor *next;
	QueryDesc  *qd;				/* the portal's query (matched by address) */
	int64		max;			/* max_rows when it opened */
	int64		seen;			/* rows fetched so far */
	bool		warned;			/* truncate: the WARNING was given */
	const char *fn;
	MemoryContextCallback cb;	/* unlinks the entry when the portal goes */
} GuardCursor;

/* The module's state. */
static struct
{
	const char *armed_sql;		/* source text of the statement qs is about to run */
	GuardCursor *cursors;		/* open guarded cursors */
} Guards;

static bool RowsOver(const char *fn, int64 max);

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;

/* A cost or limit for a message: 1000 rather than 1000.00 or 1e+03. */
static char *
CostText(double v)
{
	if (v == floor(v) && v < 1e15)
		return psprintf("%.0f", v);
	return psprintf("%.2f", v);
}

/* ---------------------------------------------------------------------
 * max_rows
 * ---------------------------------------------------------------------
 */

/*
 * A read of fn met row max_rows + 1.  Error mode raises; truncate mode
 * raises a WARNING and returns true (the caller returns max_rows rows).
 */
bool
QsGuardRowsOver(const char *fn)
{
	return RowsOver(fn, qs_max_rows);
}

/* The same for a limit taken earlier (a cursor keeps the one it opened with). */
static bool
RowsOver(const char *fn, int64 max)
{
	if (qs_max_rows_action != QS_MAX_ROWS_TRUNCATE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s would return more than " INT64_FORMAT " rows, the limit of pg_queryset.max_rows",
						fn, max),
				 errdetail("The queryset matches more than " INT64_FORMAT " rows and pg_queryset.max_rows_action is \"error\".",
						   max),
				 errhint("Filter or slice the queryset to at most " INT64_FORMAT " rows. Only a superuser can raise the limit "
						 "(ALTER ROLE name SET pg_queryset.max_rows = ...; 0 turns it off).", max)));
	ereport(WARNING,
			(errcode(ERRCODE_WARNING),
			 errmsg("%s result truncated to " INT64_FORMAT " rows by pg_queryset.max_rows", fn, max),
			 errdetail("The queryset matches more than " INT64_FORMAT " rows and pg_queryset.max_rows_action is \"truncate\": "
					   "the first " INT64_FORMAT " are returned.", max, max),
			 errhint("Filter or slice the queryset to at most " INT64_FORMAT " rows. Only a superuser can raise the limit "
					 "(ALTER ROLE name SET pg_queryset.max_rows = ...; 0 turns it off).", max)));
	return true;
}

/* A DestReceiver that counts the rows it passes on, up to max_rows. */
typedef struct GuardDest
{
	DestReceiver pub;
	DestReceiver *inner;
	int64		max;			/* the limit: max_rows */
	int64		own_seen;		/* a one-shot read counts here ... */
	int64	   *seen;			/* ... a cursor in its GuardCursor */
	bool		own_warned;
	bool	   *warned;
	const char *fn;
} GuardDest;

/* Pass a row on, or stop at row max_rows + 1 (error, or truncate: end). */
static bool
GuardReceive(TupleTableSlot *slot, DestReceiver *self)
{
	GuardDest  *g = (GuardDest *) self;

	if (++(*g->seen) > g->max)
	{
		if (!*g->warned)
			*g->warned = RowsOver(g->fn, g->max);
		return false;			/* the executor stops here */
	}
	return g->inner->receiveSlot(slot, g->inner);
}

/* Start of a run: pass on. */
static void
GuardStartup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	GuardDest  *g = (GuardDest *) self;

	g->inner->rStartup(g->inner, operation, typeinfo);
}

/* End of a run: pass on. */
static void
GuardShutdown(DestReceiver *self)
{
	GuardDest  *g = (GuardDest *) self;

	g->inner->rShutdown(g->inner);
}

/* Destroy the inner receiver and this one. */
static void
GuardDestroy(DestReceiver *self)
{
	GuardDest  *g = (GuardDest *) self;

	g->inner->rDestroy(g->inner);
	pfree(g);
}

/* A counting receiver in front of inner (same kind, so SPI sees no change). */
static GuardDest *
MakeGuardDest(DestReceiver *inner, const char *fn)
{
	GuardDest  *g = palloc0(sizeof(GuardDest));

	g->pub.receiveSlot = GuardReceive;
	g->pub.rStartup = GuardStartup;
	g->pub.rShutdown = GuardShutdown;
	g->pub.rDestroy = GuardDestroy;
	g->pub.mydest = inner->mydest;
	g->inner = inner;
	g->seen = &g->own_seen;
	g->warned = &g->own_warned;
	g->fn = fn;
	g->max = qs_max_rows;
	return g;
}

/*
 * The receiver a one-shot read (qs.rows, qs.fetch) streams into: inner,
 * behind a counter when max_rows is set.  Destroying it destroys inner.
 */
DestReceiver *
QsGuardRowsDest(DestReceiver *inner, const char *fn)
{
	if (qs_max_rows <= 0)
		return inner;
	return (DestReceiver *) MakeGuardDest(inner, fn);
}

/* The portal of a guarded cursor is gone: forget it. */
static void
GuardCursorGone(void *arg)
{
	GuardCursor *gc = (GuardCursor *) arg;
	GuardCursor **p;

	for (p = &Guards.cursors; *p != NULL; p = &(*p)->next)
		if (*p == gc)
		{
			*p = gc->next;
			break;
		}
}

/*
 * Count the rows fetched from a qs.cursor portal: the fetch that reaches
 * row max_rows + 1 fails (error) or ends the cursor with a WARNING.
 * The entry lives in the portal's memory and goes with it.
 */
void
QsGuardCursor(Portal portal, const char *fn)
{
	GuardCursor *gc;

	if (qs_max_rows <= 0 || portal->queryDesc == NULL)
		return;
	gc = MemoryContextAllocZero(portal->portalContext, sizeof(GuardCursor));
	gc->qd = portal->queryDesc;
	gc->max = qs_max_rows;
	gc->fn = fn;
	gc->cb.func = GuardCursorGone;
	gc->cb.arg = gc;
	MemoryContextRegisterResetCallback(portal->portalContext, &gc->cb);
	gc->next = Guards.cursors;
	Guards.cursors = gc;
}

/* ExecutorRun hook: a guarded cursor's fetch runs behind a counter. */
static void
GuardsExecutorRun(QS_EXECUTOR_RUN_PARAMS)
{
	GuardCursor *gc;
	GuardDest  *g = NULL;
	DestReceiver *saved = queryDesc->dest;

	for (gc = Guards.cursors; gc != NULL; gc = gc->next)
		if (gc->qd == queryDesc)
		{
			g = MakeGuardDest(saved, gc->fn);
			g->max = gc->max;
			g->seen = &gc->seen;
			g->warned = &gc->warned;
			queryDesc->dest = (DestReceiver *) g;
			break;
		}
	if (prev_ExecutorRun)
		prev_ExecutorRun(QS_EXECUTOR_RUN_ARGS);
	else
		standard_ExecutorRun(QS_EXECUTOR_RUN_ARGS);
	if (g != NULL)
	{
		/* after an error the portal is dropped; PortalRunSelect sets dest each fetch */
		queryDesc->dest = saved;
		pfree(g);
	}
}

/* ---------------------------------------------------------------------
 * max_affected
 * ---------------------------------------------------------------------
 */

/* One write call of fn changed n rows, more than max_affected. */
void
QsGuardAffectedExceeded(uint64 n, const char *fn)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("%s would change more than %d rows, the limit of pg_queryset.max_affected",
					fn, qs_max_affected),
			 errdetail("It reached " UINT64_FORMAT " rows; the error rolls back every change of the call.", n),
			 errhint("Change at most %d rows per call. Only a superuser can raise the limit "
					 "(ALTER ROLE name SET pg_queryset.max_affected = ...; 0 turns it off).", qs_max_affected)));
}

/* ---------------------------------------------------------------------
 * max_cost
 * ---------------------------------------------------------------------
 */

/* Refuse a statement of ours whose planned cost exceeds max_cost. */
static void
CheckCost(PlannedStmt *stmt, const char *sql)
{
	double		cost;

	if (stmt == NULL || stmt->planTree == NULL)
		return;
	cost = stmt->planTree->total_cost;
	if (cost > qs_max_cost)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("statement refused: its planned cost %.2f exceeds pg_queryset.max_cost (%s)",
						cost, CostText(qs_max_cost)),
				 errdetail("The planner estimates a total cost of %.2f for the statement; the limit is %s. "
						   "It did not run. Statement: %.200s", cost, CostText(qs_max_cost), sql ? sql : ""),
				 errhint("Make the queryset cheaper (filter on an indexed field, slice it). Only a superuser can "
						 "raise the limit (ALTER ROLE name SET pg_queryset.max_cost = ...; 0 turns it off).")));
}

/* The next statement of this saved plan is ours: check its cost when it starts. */
void
QsGuardCostArm(SPIPlanPtr plan)
{
	List	   *sources = SPI_plan_get_plan_sources(plan);

	if (sources == NIL)
		return;
	Guards.armed_sql = ((CachedPlanSource *) linitial(sources))->query_string;
}

/* The armed statement has run (or failed to). */
void
QsGuardCostDisarm(void)
{
	Guards.armed_sql = NULL;
}

/* A qs.cursor portal is open: check the cost of its statement before any fetch. */
void
QsGuardCostPortal(Portal portal)
{
	if (qs_max_cost <= 0 || portal->stmts == NIL)
		return;
	CheckCost(linitial_node(PlannedStmt, portal->stmts), portal->sourceText);
}

/*
 * ExecutorStart hook: the statement qs armed is checked before it starts.
 * SPI passes the plan source's own query string as the source text, so
 * the address tells our statement from any other.
 */
static void
GuardsExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (qs_max_cost > 0 && Guards.armed_sql != NULL && queryDesc->sourceText == Guards.armed_sql &&
		!(eflags & EXEC_FLAG_EXPLAIN_ONLY))
		CheckCost(queryDesc->plannedstmt, queryDesc->sourceText);
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/* An aborted (sub)transaction may leave a statement armed: forget it. */
static void
GuardsXactCallback(XactEvent event, void *arg)
{
	QsGuardCostDisarm();
}

/* ... and the same for a subtransaction. */
static void
GuardsSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
					  SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		QsGuardCostDisarm();
}

/* Install the hooks and callbacks (the settings are defined by _PG_init). */
void
QsGuardsInit(void)
{
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = GuardsExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = GuardsExecutorRun;
	RegisterXactCallback(GuardsXactCallback, NULL);
	RegisterSubXactCallback(GuardsSubXactCallback, NULL);
}
