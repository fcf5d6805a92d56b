/*
 * plancache.c
 *	  Backend-local cache of saved SPI plans, keyed by the SQL shape, the
 *	  shape cache in front of it (a spec's shape -> its compiled
 *	  statement), and qs.plan_cache_stats() / qs.plan_cache_reset().
 *
 * Design note.  compile.c produces SQL text that depends only on a spec's
 * shape (values are parameters), so the text plus the parameter types is
 * the cache key.  A hit skips parse, analysis and planning: a repeated
 * call costs a jsonb walk, a hash probe and an execute.  The saved plans
 * are ordinary SPI plans, so PostgreSQL's plan cache still chooses
 * between custom and generic plans and revalidates after DDL.
 *
 * Bounds: at most pg_queryset.plan_cache_size entries (0 disables the
 * cache), least recently used evicted first.  Invalidation: a relcache
 * callback marks entries that read the changed relation (or all, on a
 * global reset) stale; stale entries are dropped at the next probe.
 * Freeing a plan that is executing would be fatal, so entries are only
 * freed when no cached plan is in use (QsPlanCacheEnter/Leave nesting
 * counter, reset at transaction end).  Memory lives in one named
 * context, "pg_queryset plan cache".
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"

#include "access/xact.h"
#include "common/hashfn.h"
#include "lib/ilist.h"
#include "optimizer/optimizer.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "compile.h"
#include "param.h"
#include "pg_queryset.h"
#include "plancache.h"

typedef struct PlanEntry
{
	uint64		key;			/* hash key: hash of sql, types, options */
	char	   *sql;
	int			nargs;
	Oid		   *argtypes;
	int			options;
	SPIPlanPtr	plan;
	Oid		   *relids;
	int			nrelids;
	bool		valid;
	char		choice;			/* PLAN_PENDING, PLAN_POSTGRES or PLAN_CUSTOM */
	bool		skewed;			/* QsCompiledQuery.skewed */
	bool		keyset;			/* QsCompiledQuery.keyset */
	dlist_node	lru;			/* head = most recently used */
} PlanEntry;

/*
 * What the plan choice rule (PlanChoose) made of an entry: not judged yet
 * (PostgreSQL has not built a generic plan), left to PostgreSQL's own
 * choice, or kept on custom plans.
 */
#define PLAN_PENDING	'p'
#define PLAN_POSTGRES	'g'
#define PLAN_CUSTOM		'c'
#define PLAN_GENERIC	'G'		/* a keyset page kept on its generic plan */

/* a keyset page takes its generic plan unless that is costed above this many times a custom plan */
#define PLAN_KEYSET_GENERIC_MAX 10.0

/*
 * The rule's thresholds.  A statement is kept on custom plans when its
 * generic plan was costed at most PLAN_GENERIC_BELOW of what the custom
 * plans cost to execute (the generic plan's estimates do not hold for the
 * values seen: it is cheap only on paper), and when executing costs at
 * least PLAN_MIN_GAIN times planning (a custom plan per call is then a
 * small price; a primary-key lookup never qualifies).
 */
#define PLAN_GENERIC_BELOW	0.9
#define PLAN_MIN_GAIN		10.0

/* all of this module's state */
static struct
{
	MemoryContext cxt;
	HTAB	   *hash;
	dlist_head	lru;
	int			entries;
	int			busy;			/* cached plans executing right now */
	bool		stale;			/* some entry is marked invalid */
	int64		hits;
	int64		misses;
	int64		evictions;
	int64		invalidations;
} PlanCache;

static void ShapeCacheInvalidate(Oid relid);

/* Syscache callback on relation names: every shape may resolve differently. */
static void
ShapeNamesChanged(Datum arg, int cacheid, uint32 hashvalue)
{
	ShapeCacheInvalidate(InvalidOid);
}

/* Relcache callback: mark entries reading relid (or all) stale. */
static void
PlanCacheInvalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS seq;
	PlanEntry  *e;

	ShapeCacheInvalidate(relid);

	if (PlanCache.hash == NULL || PlanCache.entries == 0)
		return;
	hash_seq_init(&seq, PlanCache.hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		int			i;

		if (!e->valid)
			continue;
		for (i = 0; i < e->nrelids; i++)
			if (!OidIsValid(relid) || e->relids[i] == relid)
			{
				e->valid = false;
				PlanCache.stale = true;
				break;
			}
	}
}

/* A transaction end means no cached plan is executing any more. */
static void
PlanCacheXact(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
		PlanCache.busy = 0;
}

/* Set up the cache; called from _PG_init. */
void
QsPlanCacheInit(void)
{
	HASHCTL		ctl;

	PlanCache.cxt = AllocSetContextCreate(TopMemoryContext,
										  "pg_queryset plan cache",
										  ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(uint64);
	ctl.entrysize = sizeof(PlanEntry);
	ctl.hcxt = PlanCache.cxt;
	PlanCache.hash = hash_create("pg_queryset plans", 256, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	dlist_init(&PlanCache.lru);
	CacheRegisterRelcacheCallback(PlanCacheInvalidate, (Datum) 0);
	/* a new relation can change what a model name resolves to */
	CacheRegisterSyscacheCallback(RELNAMENSP, ShapeNamesChanged, (Datum) 0);
	RegisterXactCallback(PlanCacheXact, NULL);
}

/* Mark the start of executing a plan obtained from the cache. */
void
QsPlanCacheEnter(void)
{
	PlanCache.busy++;
}

/* Mark the end of executing a plan obtained from the cache. */
void
QsPlanCacheLeave(void)
{
	if (PlanCache.busy > 0)
		PlanCache.busy--;
}

/* Free one entry's plan and memory and remove it from the table. */
static void
PlanEntryDrop(PlanEntry *e)
{
	uint64		key = e->key;

	dlist_delete(&e->lru);
	if (e->plan)
		SPI_freeplan(e->plan);
	pfree(e->sql);
	if (e->argtypes)
		pfree(e->argtypes);
	if (e->relids)
		pfree(e->relids);
	hash_search(PlanCache.hash, &key, HASH_REMOVE, NULL);
	PlanCache.entries--;
}

/* Drop stale entries (only when no cached plan is executing). */
static void
PlanCacheSweep(void)
{
	HASH_SEQ_STATUS seq;
	PlanEntry  *e;
	List	   *dead = NIL;
	ListCell   *lc;

	if (!PlanCache.stale || PlanCache.busy > 0)
		return;
	hash_seq_init(&seq, PlanCache.hash);
	while ((e = hash_seq_search(&seq)) != NULL)
		if (!e->valid)
			dead = lappend(dead, e);
	foreach(lc, dead)
	{
		PlanCache.invalidations++;
		PlanEntryDrop((PlanEntry *) lfirst(lc));
	}
	list_free(dead);
	PlanCache.stale = false;
}

/*
 * Hash of the SQL text and parameter types, computed once per statement
 * (a shape-cache hit carries the hash of its cached statement).
 */
static uint64
StatementHash(QsCompiledQuery *c)
{
	uint64		h;

	if (c->sql_hash != 0)
		return c->sql_hash;
	h = hash_bytes_extended((const unsigned char *) c->sql, strlen(c->sql), 0);
	if (c->nparams > 0)
		h ^= hash_bytes_extended((const unsigned char *) c->ptypes,
								 sizeof(Oid) * c->nparams, h);
	c->sql_hash = (h == 0) ? 1 : h;
	return c->sql_hash;
}

/* Hash of the SQL text, parameter types and cursor options. */
static uint64
PlanKey(QsCompiledQuery *c, int options)
{
	uint64		h = StatementHash(c);

	return h ^ hash_bytes_uint32_extended((uint32) options, h);
}

/* Does the entry hold exactly this statement? */
static bool
PlanMatches(PlanEntry *e, QsCompiledQuery *c, int options)
{
	return e->valid && e->options == options && e->nargs == c->nparams &&
		strcmp(e->sql, c->sql) == 0 &&
		(c->nparams == 0 ||
		 memcmp(e->argtypes, c->ptypes, sizeof(Oid) * c->nparams) == 0);
}

/* The one plan source of a cached statement, or NULL. */
static CachedPlanSource *
PlanSource(PlanEntry *e)
{
	List	   *sources = SPI_plan_get_plan_sources(e->plan);

	return list_length(sources) == 1 ? (CachedPlanSource *) linitial(sources) : NULL;
}

/*
 * What PostgreSQL adds to a custom plan's cost for planning it
 * (cached_plan_cost in plancache.c: 1000 cpu_operator_cost per relation
 * of the range table, plus one), from the generic plan's statements.
 */
static double
PlanningCost(CachedPlan *plan)
{
	double		cost = 0;
	ListCell   *lc;

	foreach(lc, plan->stmt_list)
	{
		PlannedStmt *stmt = lfirst_node(PlannedStmt, lc);

		if (stmt->commandType == CMD_UTILITY)
			continue;
		cost += 1000.0 * cpu_operator_cost * (list_length(stmt->rtable) + 1);
	}
	return cost;
}

/*
 * The plan choice rule, once per cached statement, when PostgreSQL has
 * made five custom plans and costed a generic one (choose_custom_plan).
 * PostgreSQL then switches to the generic plan if it costs less than the
 * custom plans did on average.  But a custom plan is the cheapest plan
 * for its values under the same cost model: a generic plan costed well
 * below the custom plans' execution (planning taken out) is cheaper only
 * because its estimates ignore the values (an equality on a skewed
 * column estimated at 1/n_distinct, a range at a default selectivity),
 * and is then the slower plan in fact.  Such a statement is kept on
 * custom plans (CURSOR_OPT_CUSTOM_PLAN on its plan source), unless
 * planning is a sizeable part of its cost.  plan_cache_mode still wins:
 * PostgreSQL tests it before the cursor options.  With
 * pg_queryset.plan_choice = postgres a kept statement is released.
 */
static void
PlanChoose(PlanEntry *e)
{
	CachedPlanSource *ps = PlanSource(e);
	double		planning;
	double		custom;

	if (ps == NULL)
	{
		e->choice = PLAN_POSTGRES;
		return;
	}
	if (qs_plan_choice != QS_PLAN_CHOICE_AUTO)
	{
		ps->cursor_options &= ~(CURSOR_OPT_CUSTOM_PLAN | CURSOR_OPT_GENERIC_PLAN);
		e->choice = PLAN_PENDING;
		return;
	}
	if (ps->gplan == NULL || ps->generic_cost < 0 || ps->num_custom_plans < 5)
		return;					/* PostgreSQL has not compared yet */
	planning = PlanningCost(ps->gplan);
	custom = ps->total_custom_cost / ps->num_custom_plans - planning;
	/*
	 * A keyset page (docs/pagination.md): its boundary values only move
	 * where the scan of the ordering starts, and LIMIT caps what it reads,
	 * so one plan serves every page.  PostgreSQL costs the generic plan's
	 * "key > $1" at a default selectivity and keeps planning each page
	 * anew; planning is then a quarter of a page's time.  The generic plan
	 * is kept unless it is costed far above the custom plans.
	 */
	if (e->keyset && ps->generic_cost <= PLAN_KEYSET_GENERIC_MAX * (custom + planning))
	{
		ps->cursor_options |= CURSOR_OPT_GENERIC_PLAN;
		e->choice = PLAN_GENERIC;
		return;
	}
	if (custom >= PLAN_MIN_GAIN * planning &&
		(ps->generic_cost <= PLAN_GENERIC_BELOW * custom || e->skewed))
	{
		ps->cursor_options |= CURSOR_OPT_CUSTOM_PLAN;
		e->choice = PLAN_CUSTOM;
	}
	else
		e->choice = PLAN_POSTGRES;
}

/* Prepare the statement in the current SPI connection (not saved). */
static SPIPlanPtr
PlanPrepare(QsCompiledQuery *c, int options)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(c->sql, c->nparams, c->ptypes, options);

	if (plan == NULL)
		elog(ERROR, "pg_queryset: SPI_prepare failed (%s) for: %s",
			 SPI_result_code_string(SPI_result), c->sql);
	return plan;
}

/*
 * The plan of a compiled statement: from the cache, or prepared (and
 * saved, if the cache is on).  Must be called inside an SPI connection.
 * The caller brackets execution with QsPlanCacheEnter/Leave.
 */
SPIPlanPtr
QsPlanCacheGet(QsCompiledQuery *c, int options)
{
	uint64		key;
	PlanEntry  *e;
	bool		found;
	SPIPlanPtr	plan;
	MemoryContext old;
	ListCell   *lc;
	int			i;

	if (PlanCache.hash == NULL)
		QsPlanCacheInit();
	PlanCacheSweep();

	if (qs_plan_cache_size <= 0)
	{
		PlanCache.misses++;
		return PlanPrepare(c, options);
	}

	key = PlanKey(c, options);
	e = hash_search(PlanCache.hash, &key, HASH_FIND, NULL);
	if (e && PlanMatches(e, c, options))
	{
		PlanCache.hits++;
		dlist_move_head(&PlanCache.lru, &e->lru);
		if (qs_plan_choice == QS_PLAN_CHOICE_AUTO ? e->choice == PLAN_PENDING :
			(e->choice == PLAN_CUSTOM || e->choice == PLAN_GENERIC))
			PlanChoose(e);
		return e->plan;
	}
	PlanCache.misses++;

	plan = PlanPrepare(c, options);

	/* a colliding or stale entry under the same key cannot be replaced while busy */
	if (e && PlanCache.busy > 0)
		return plan;
	if (e)
		PlanEntryDrop(e);

	/* make room, least recently used first */
	while (PlanCache.entries >= qs_plan_cache_size && PlanCache.busy == 0 &&
		   !dlist_is_empty(&PlanCache.lru))
	{
		PlanEntry  *victim = dlist_container(PlanEntry, lru, dlist_tail_node(&PlanCache.lru));

		PlanCache.evictions++;
		PlanEntryDrop(victim);
	}
	if (PlanCache.entries >= qs_plan_cache_size)
		return plan;			/* full and busy: run uncached */

	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "pg_queryset: SPI_keepplan failed");
	e = hash_search(PlanCache.hash, &key, HASH_ENTER, &found);
	old = MemoryContextSwitchTo(PlanCache.cxt);
	e->sql = pstrdup(c->sql);
	e->nargs = c->nparams;
	e->argtypes = c->nparams > 0 ? palloc(sizeof(Oid) * c->nparams) : NULL;
	if (c->nparams > 0)
		memcpy(e->argtypes, c->ptypes, sizeof(Oid) * c->nparams);
	e->options = options;
	e->plan = plan;
	e->nrelids = list_length(c->relids);
	e->relids = palloc(sizeof(Oid) * Max(1, e->nrelids));
	i = 0;
	foreach(lc, c->relids)
		e->relids[i++] = lfirst_oid(lc);
	e->valid = true;
	e->choice = PLAN_PENDING;
	e->skewed = c->skewed;
	e->keyset = c->keyset;
	MemoryContextSwitchTo(old);
	dlist_push_head(&PlanCache.lru, &e->lru);
	PlanCache.entries++;
	return plan;
}

/* ---------------------------------------------------------------------
 * The shape cache
 * ---------------------------------------------------------------------
 *
 * In front of the plan cache: a spec's shape (spec.c, QsShapeOf) maps to
 * its compiled statement and the producers of its parameters, so a
 * repeated shape skips SQL generation: a jsonb walk, a hash probe, the
 * parameter values, and the saved plan.  Same bound, LRU order and
 * relcache invalidation as the plans.  The key embeds the terminal, the
 * search_path and the current user (model names resolve through them).
 */
typedef struct ShapeEntry
{
	uint64		key;			/* hash of the shape string */
	char	   *shape;
	int			shapelen;
	QsShape		sh;
	bool		valid;
	dlist_node	lru;
} ShapeEntry;

static struct
{
	HTAB	   *hash;
	dlist_head	lru;
	int			entries;
	int64		hits;
	int64		misses;
	bool		stale;
} ShapeCache;

/* Create the shape table (lazily, in the plan cache's context). */
static void
ShapeCacheInit(void)
{
	HASHCTL		ctl;

	if (PlanCache.hash == NULL)
		QsPlanCacheInit();
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(uint64);
	ctl.entrysize = sizeof(ShapeEntry);
	ctl.hcxt = PlanCache.cxt;
	ShapeCache.hash = hash_create("pg_queryset shapes", 256, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	dlist_init(&ShapeCache.lru);
}

/* Free one shape entry. */
static void
ShapeEntryDrop(ShapeEntry *e)
{
	uint64		key = e->key;
	int			i;

	dlist_delete(&e->lru);
	pfree(e->shape);
	pfree(e->sh.sql);
	if (e->sh.ptypes)
		pfree(e->sh.ptypes);
	for (i = 0; i < e->sh.nparams; i++)
	{
		pfree(e->sh.recipes[i].field);
		pfree(e->sh.recipes[i].path);
		if (e->sh.recipes[i].lookup_name)
			pfree(e->sh.recipes[i].lookup_name);
	}
	if (e->sh.recipes)
		pfree(e->sh.recipes);
	pfree(e->sh.relids);
	pfree(e->sh.model_display);
	hash_search(ShapeCache.hash, &key, HASH_REMOVE, NULL);
	ShapeCache.entries--;
}

/* Relcache invalidation: mark shapes reading relid (or all) stale. */
static void
ShapeCacheInvalidate(Oid relid)
{
	HASH_SEQ_STATUS seq;
	ShapeEntry *e;

	if (ShapeCache.hash == NULL || ShapeCache.entries == 0)
		return;
	hash_seq_init(&seq, ShapeCache.hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		int			i;

		for (i = 0; i < e->sh.nrelids && e->valid; i++)
			if (!OidIsValid(relid) || e->sh.relids[i] == relid)
			{
				e->valid = false;
				ShapeCache.stale = true;
			}
	}
}

/* Drop stale shapes (they own no plans, so this is always safe). */
static void
ShapeCacheSweep(void)
{
	HASH_SEQ_STATUS seq;
	ShapeEntry *e;
	List	   *dead = NIL;
	ListCell   *lc;

	if (!ShapeCache.stale)
		return;
	hash_seq_init(&seq, ShapeCache.hash);
	while ((e = hash_seq_search(&seq)) != NULL)
		if (!e->valid)
			dead = lappend(dead, e);
	foreach(lc, dead)
		ShapeEntryDrop((ShapeEntry *) lfirst(lc));
	list_free(dead);
	ShapeCache.stale = false;
}

/* Producers copied into the current memory context, their strings too. */
static QsParamRecipe *
CopyRecipes(const QsParamRecipe *src, int n)
{
	QsParamRecipe *dst;
	int			i;

	if (n == 0)
		return NULL;
	dst = palloc(sizeof(QsParamRecipe) * n);
	for (i = 0; i < n; i++)
	{
		dst[i] = src[i];
		dst[i].field = pstrdup(src[i].field);
		dst[i].path = pstrdup(src[i].path);
		dst[i].lookup_name = src[i].lookup_name ? pstrdup(src[i].lookup_name) : NULL;
		dst[i].keyname = src[i].keyname ? pstrdup(src[i].keyname) : NULL;
	}
	return dst;
}

/*
 * A copy of a cached shape in the caller's memory context.  Any call
 * into pg_queryset may sweep a stale entry or evict the least recently
 * used one, and between the probe and the end of a terminal user code
 * can run and call pg_queryset again (functions in views, triggers,
 * defaults: sql/reentrancy.sql); the caller never holds a pointer into
 * the cache.  (Producers themselves run no user code today: parameters
 * are typed with a domain's base type.)
 */
static QsShape *
ShapeCopy(const QsShape *src)
{
	QsShape    *sh = palloc(sizeof(QsShape));

	*sh = *src;
	sh->sql = pstrdup(src->sql);
	sh->model_display = pstrdup(src->model_display);
	sh->ptypes = palloc(sizeof(Oid) * Max(1, src->nparams));
	if (src->nparams > 0)
		memcpy(sh->ptypes, src->ptypes, sizeof(Oid) * src->nparams);
	sh->recipes = CopyRecipes(src->recipes, src->nparams);
	sh->relids = palloc(sizeof(Oid) * Max(1, src->nrelids));
	if (src->nrelids > 0)
		memcpy(sh->relids, src->relids, sizeof(Oid) * src->nrelids);
	return sh;
}

/*
 * The compiled statement of a shape, or NULL: a copy in the caller's
 * memory context (see ShapeCopy).
 */
QsShape *
QsShapeCacheGet(const char *key, int len)
{
	uint64		h;
	ShapeEntry *e;

	if (ShapeCache.hash == NULL)
		ShapeCacheInit();
	ShapeCacheSweep();
	if (qs_plan_cache_size <= 0)
		return NULL;
	h = hash_bytes_extended((const unsigned char *) key, len, 0);
	e = hash_search(ShapeCache.hash, &h, HASH_FIND, NULL);
	if (e && e->valid && e->shapelen == len && memcmp(e->shape, key, len) == 0)
	{
		ShapeCache.hits++;
		dlist_move_head(&ShapeCache.lru, &e->lru);
		return ShapeCopy(&e->sh);
	}
	ShapeCache.misses++;
	return NULL;
}

/* Remember the compiled statement of a shape. */
void
QsShapeCachePut(const char *key, int len, QsCompiledQuery *c)
{
	uint64		h;
	ShapeEntry *e;
	bool		found;
	MemoryContext old;
	ListCell   *lc;
	int			i;

	if (ShapeCache.hash == NULL)
		ShapeCacheInit();
	if (qs_plan_cache_size <= 0)
		return;
	h = hash_bytes_extended((const unsigned char *) key, len, 0);
	e = hash_search(ShapeCache.hash, &h, HASH_FIND, NULL);
	if (e)
		ShapeEntryDrop(e);		/* stale, or a colliding shape */
	while (ShapeCache.entries >= qs_plan_cache_size && !dlist_is_empty(&ShapeCache.lru))
		ShapeEntryDrop(dlist_container(ShapeEntry, lru, dlist_tail_node(&ShapeCache.lru)));

	e = hash_search(ShapeCache.hash, &h, HASH_ENTER, &found);
	old = MemoryContextSwitchTo(PlanCache.cxt);
	e->shape = palloc(len);
	memcpy(e->shape, key, len);
	e->shapelen = len;
	e->sh.sql = pstrdup(c->sql);
	e->sh.writes = c->writes;
	e->sh.sql_hash = StatementHash(c);
	e->sh.skewed = c->skewed;
	e->sh.keyset = c->keyset;
	e->sh.nparams = c->nparams;
	e->sh.ptypes = NULL;
	if (c->nparams > 0)
	{
		e->sh.ptypes = palloc(sizeof(Oid) * c->nparams);
		memcpy(e->sh.ptypes, c->ptypes, sizeof(Oid) * c->nparams);
	}
	e->sh.recipes = CopyRecipes(c->recipes, c->nparams);
	e->sh.nlookups = c->nlookups;
	e->sh.nrelids = list_length(c->relids);
	e->sh.relids = palloc(sizeof(Oid) * Max(1, e->sh.nrelids));
	i = 0;
	foreach(lc, c->relids)
		e->sh.relids[i++] = lfirst_oid(lc);
	e->sh.model_display = pstrdup(c->model_display);
	e->valid = true;
	MemoryContextSwitchTo(old);
	dlist_push_head(&ShapeCache.lru, &e->lru);
	ShapeCache.entries++;
}

PG_FUNCTION_INFO_V1(qs_plan_cache_stats);

/* qs.plan_cache_stats(): hits, misses, entries, evictions, invalidations, capacity */
Datum
qs_plan_cache_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[9];
	bool		nulls[9] = {0};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (PlanCache.hash == NULL)
		QsPlanCacheInit();
	PlanCacheSweep();
	values[0] = Int64GetDatum(PlanCache.hits);
	values[1] = Int64GetDatum(PlanCache.misses);
	values[2] = Int32GetDatum(PlanCache.entries);
	values[3] = Int64GetDatum(PlanCache.evictions);
	values[4] = Int64GetDatum(PlanCache.invalidations);
	values[5] = Int32GetDatum(qs_plan_cache_size);
	values[6] = Int64GetDatum(ShapeCache.hits);
	values[7] = Int64GetDatum(ShapeCache.misses);
	values[8] = Int32GetDatum(ShapeCache.entries);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

PG_FUNCTION_INFO_V1(qs_plan_cache_reset);

/* qs.plan_cache_reset(): drop every cached plan and zero the counters. */
Datum
qs_plan_cache_reset(PG_FUNCTION_ARGS)
{
	if (PlanCache.hash == NULL)
		QsPlanCacheInit();
	if (PlanCache.busy > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("cannot reset the plan cache while a queryset is executing")));
	while (!dlist_is_empty(&PlanCache.lru))
		PlanEntryDrop(dlist_container(PlanEntry, lru, dlist_head_node(&PlanCache.lru)));
	PlanCache.hits = PlanCache.misses = PlanCache.evictions = PlanCache.invalidations = 0;
	if (ShapeCache.hash != NULL)
		while (!dlist_is_empty(&ShapeCache.lru))
			ShapeEntryDrop(dlist_container(ShapeEntry, lru, dlist_head_node(&ShapeCache.lru)));
	ShapeCache.hits = ShapeCache.misses = 0;
	PlanCache.stale = false;
	PG_RETURN_VOID();
}


PG_FUNCTION_INFO_V1(qs_plan_choices);

/*
 * qs.plan_choices(): each cached statement with PostgreSQL's figures for
 * it (custom plans made, their average cost, the generic plan's cost,
 * the planning part of a custom plan's cost) and the plan choice made:
 * pending, postgres (plan_cache_mode decides) or custom (kept on custom
 * plans by pg_queryset.plan_choice = auto).  Most recently used first.
 */
Datum
qs_plan_choices(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	desc;
	Tuplestorestate *ts;
	MemoryContext old;
	dlist_iter	it;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (PlanCache.hash == NULL)
		QsPlanCacheInit();
	PlanCacheSweep();
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	desc = CreateTupleDescCopy(desc);
	ts = tuplestore_begin_heap(false, false, work_mem);
	MemoryContextSwitchTo(old);
	dlist_foreach(it, &PlanCache.lru)
	{
		PlanEntry  *e = dlist_container(PlanEntry, lru, it.cur);
		CachedPlanSource *ps = PlanSource(e);
		Datum		values[6];
		bool		nulls[6] = {0};

		values[0] = CStringGetTextDatum(e->sql);
		nulls[1] = nulls[2] = nulls[3] = nulls[4] = true;
		if (ps != NULL)
		{
			values[1] = Int64GetDatum((int64) ps->num_custom_plans);
			nulls[1] = false;
			if (ps->num_custom_plans > 0)
			{
				values[2] = Float8GetDatum(ps->total_custom_cost / ps->num_custom_plans);
				nulls[2] = false;
			}
			if (ps->gplan != NULL && ps->generic_cost >= 0)
			{
				values[3] = Float8GetDatum(ps->generic_cost);
				values[4] = Float8GetDatum(PlanningCost(ps->gplan));
				nulls[3] = nulls[4] = false;
			}
		}
		values[5] = CStringGetTextDatum(e->choice == PLAN_CUSTOM ? "custom" :
										e->choice == PLAN_GENERIC ? "generic" :
										e->choice == PLAN_POSTGRES ? "postgres" : "pending");
		tuplestore_putvalues(ts, desc, values, nulls);
	}
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = ts;
	rsinfo->setDesc = desc;
	return (Datum) 0;
}
