/*
 * exec.c
 *	  The read terminals: qs.rows, qs.json, qs.fetch, qs.count, qs.exists,
 *	  qs.get, qs.first, qs.last, qs.earliest, qs.latest, qs.in_bulk,
 *	  qs.sql, qs.params, qs.explain and qs.cursor.
 *
 * Each terminal parses its spec (spec.c), adjusts it the way Django's
 * method would (first() orders by pk, last() reverses, get() caps the
 * rows at 21), compiles it (compile.c) and runs ONE statement through a
 * cached plan (plancache.c).  Results are copied out of SPI memory into
 * the caller's context; set-returning terminals stream into a tuplestore
 * (which spills to disk past work_mem), and qs.cursor leaves an open
 * portal for the client to FETCH in chunks.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"

#include "access/htup_details.h"
#include "access/tupconvert.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tstoreReceiver.h"
#include "nodes/params.h"
#include "catalog/namespace.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/rls.h"
#include "utils/tuplestore.h"

#include "compile.h"
#include "exec.h"
#include "guards.h"
#include "keyset.h"
#include "manager.h"
#include "model.h"
#include "param.h"
#include "pg_queryset.h"
#include "plancache.h"
#include "shape.h"
#include "spec.h"
#include "state.h"

/* ---------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------
 */

static JsonbValue *PageTreeRows(JsonbValue *tree);

/*
 * The spec argument: a qs.queryset or a raw jsonb spec (with "page",
 * the spec of that page, as qs.rows() reads it).
 */
static QsSpec *
SpecArg(FunctionCallInfo fcinfo, int argno)
{
	JsonbValue *tree;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("queryset must not be null")));
	tree = QsJsonbToTree(PG_GETARG_JSONB_P(argno));
	if (QsTreeGet(tree, "page") != NULL)
		tree = PageTreeRows(tree);
	return QsSpecFromTree(tree);
}

/* SPI's ' '/'n' null flags. */
static char *
SpiNulls(QsCompiledQuery *c)
{
	char	   *n = palloc(c->nparams + 1);
	int			i;

	for (i = 0; i < c->nparams; i++)
		n[i] = c->pnulls[i] ? 'n' : ' ';
	n[c->nparams] = '\0';
	return n;
}

/* Run a compiled statement to completion inside SPI (at most tcount rows). */
static void
RunStatement(QsCompiledQuery *c, long tcount)
{
	SPIPlanPtr	plan = QsPlanCacheGet(c, CURSOR_OPT_PARALLEL_OK);
	int			rc;

	QsGuardArm(plan);
	QsPlanCacheEnter();
	rc = SPI_execute_plan(plan, c->pvalues, SpiNulls(c), !c->writes, tcount);
	QsPlanCacheLeave();
	QsGuardDisarm();
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "pg_queryset: unexpected SPI result %s", SPI_result_code_string(rc));
}

/* The single value of a one-row, one-column result, copied out of SPI. */
static Datum
SingleValue(bool *isnull)
{
	Datum		d;

	if (SPI_processed != 1)
		elog(ERROR, "pg_queryset: expected one row, got " UINT64_FORMAT, SPI_processed);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
	if (*isnull)
		return (Datum) 0;
	return SPI_datumTransfer(d, TupleDescAttr(SPI_tuptable->tupdesc, 0)->attbyval,
							 TupleDescAttr(SPI_tuptable->tupdesc, 0)->attlen);
}

/* Set up a materialized SRF result; returns the tuplestore. */
static Tuplestorestate *
MaterializeInit(FunctionCallInfo fcinfo, TupleDesc desc)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	Tuplestorestate *ts;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("materialize mode required, but it is not allowed in this context")));
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	ts = tuplestore_begin_heap((rsinfo->allowedModes & SFRM_Materialize_Random) != 0,
							   false, work_mem);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = ts;
	rsinfo->setDesc = CreateTupleDescCopy(desc);
	MemoryContextSwitchTo(old);
	return ts;
}

/*
 * Run a compiled statement and stream every row into the tuplestore,
 * converted to desc by position (dropped columns of a row type are
 * skipped).  The executor writes straight into the tuplestore; with
 * pg_queryset.max_rows set, through the counter of guards.c (fn names
 * the terminal in its messages).
 */
static void
RunIntoTuplestore(FunctionCallInfo fcinfo, QsCompiledQuery *c, Tuplestorestate *ts, TupleDesc desc,
				  const char *fn)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SPIPlanPtr	plan;
	int			rc;

	SPI_connect();
	plan = QsPlanCacheGet(c, CURSOR_OPT_PARALLEL_OK);
	{
		SPIExecuteOptions opts;
		ParamListInfo params = makeParamList(c->nparams);
		DestReceiver *dest = CreateDestReceiver(DestTuplestore);
		int			i;

		for (i = 0; i < c->nparams; i++)
		{
			params->params[i].value = c->pvalues[i];
			params->params[i].isnull = c->pnulls[i];
			params->params[i].pflags = PARAM_FLAG_CONST;
			params->params[i].ptype = c->ptypes[i];
		}
		SetTuplestoreDestReceiverParams(dest, ts, rsinfo->econtext->ecxt_per_query_memory,
										false, desc,
										"pg_queryset: result row does not match the row type");
		dest = QsGuardRowsDest(dest, fn);
		memset(&opts, 0, sizeof(opts));
		/*
		 * No parameters: no list, as SPI_execute_plan passes.  Citus 13
		 * copies a list it is given (copyParamList returns NULL for an
		 * empty one) and then reads the copy.
		 */
		opts.params = c->nparams > 0 ? params : NULL;
		opts.read_only = !c->writes;
		opts.dest = dest;
		QsGuardArm(plan);
		QsPlanCacheEnter();
		rc = SPI_execute_plan_extended(plan, &opts);
		QsPlanCacheLeave();
		QsGuardDisarm();
		dest->rDestroy(dest);
	}
	if (rc != SPI_OK_SELECT && rc != SPI_OK_UTILITY)
		elog(ERROR, "pg_queryset: unexpected SPI result %s", SPI_result_code_string(rc));
	SPI_finish();
}

/* Reverse the ordering (Django's reverse_ordering; nulls placement too). */
static void
ReverseOrdering(QsSpec *spec)
{
	ListCell   *lc;

	foreach(lc, spec->order_by)
		QsReverseOrderItem((QsOrderItem *) lfirst(lc));
}

/* Order by the primary key when the queryset has no ordering. */
static void
DefaultOrdering(QsSpec *spec, const char *fn)
{
	int			i;

	if (spec->has_order && spec->order_by != NIL)
		return;
	if (spec->model->npk == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s() on an unordered queryset needs a primary key", fn),
				 errdetail("Model \"%s\" has none.", spec->model->display),
				 errhint("Call qs.order_by() first.")));
	/* a composite key orders by all its columns, in key order */
	spec->order_by = NIL;
	for (i = 0; i < spec->model->npk; i++)
	{
		QsOrderItem *o = palloc0(sizeof(QsOrderItem));

		o->path = spec->model->columns[spec->model->pk[i]].name;
		spec->order_by = lappend(spec->order_by, o);
	}
	spec->has_order = true;
}

/* Django refuses to change a sliced queryset (22023). */
static void
RefuseSliced(QsSpec *spec, const char *what)
{
	if (spec->has_limit || spec->has_offset)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot %s once a slice has been taken", what),
				 errhint("Apply the slice last, as in Django.")));
}

/* ---------------------------------------------------------------------
 * Preparing a call: shape cache hit, or parse + adjust + compile
 * ---------------------------------------------------------------------
 */

/* What a terminal asks of a spec, beyond the spec itself. */
typedef struct QsCall
{
	QsTarget	target;
	const char *variant;		/* terminal and its structural arguments */
	bool		first;			/* first(): pk order if unordered, then [0:1] */
	bool		last;			/* last(): reversed, then [0:1] */
	List	   *order_override; /* earliest()/latest(): QsOrderItem * */
	bool		reverse_override;	/* latest() */
	int64		default_limit;	/* get() 21, earliest()/latest() 1 */
	TupleDesc	fetch_desc;
	const char *in_bulk_field;
	JsonbValue *in_bulk_ids;
	int64		row_cap;		/* pg_queryset.max_rows: the rows asked for (guards.c), 0 off */
	const char *model_display;	/* out: the model, for messages */
	QsPage	   *page;			/* qs.page()'s arguments, or a "page" key's (keyset.c) */
} QsCall;

static QsCall *SimpleCall(QsTarget target, const char *variant);

/* The slice a terminal runs: the spec's, adjusted (same on both paths). */
static void
AdjustSlice(QsCall *call, bool *has_offset, int64 *offset, bool *has_limit, int64 *limit)
{
	if (call->first || call->last)
	{
		int64		off;
		bool		hl;
		int64		lim;

		QsSliceCompose(*has_offset, *offset, *has_limit, *limit, 0, true, 1, &off, &hl, &lim);
		*offset = off;
		*has_limit = hl;
		*limit = lim;
	}
	else if (call->default_limit > 0 && !*has_limit)
	{
		*has_limit = true;
		*limit = call->default_limit;
	}
	if (call->row_cap > 0 && (!*has_limit || *limit > call->row_cap))
	{
		/* pg_queryset.max_rows: never more than the cap (max_rows + 1) */
		*has_limit = true;
		*limit = call->row_cap;
	}
}

/* Django's checks and changes for this terminal, on a parsed spec. */
static void
AdjustSpec(QsSpec *spec, QsCall *call)
{
	if (call->first)
	{
		/* Django: ordering by pk would reorder a sliced query */
		if (!(spec->has_order && spec->order_by != NIL))
			RefuseSliced(spec, "reorder a query");
		DefaultOrdering(spec, "first");
	}
	if (call->last)
	{
		RefuseSliced(spec, "reverse a query");
		DefaultOrdering(spec, "last");
		ReverseOrdering(spec);
	}
	if (call->order_override)
	{
		RefuseSliced(spec, "change a query");
		spec->order_by = call->order_override;
		spec->has_order = true;
		if (call->reverse_override)
			ReverseOrdering(spec);
	}
	if (call->target == QS_TARGET_FETCH && spec->has_values)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("qs.fetch() returns typed rows and cannot be used with values() or values_list()"),
				 errhint("Use qs.rows() or qs.json() for values.")));
	if (call->target == QS_TARGET_IN_BULK)
	{
		if (spec->has_limit || spec->has_offset)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cannot use 'limit' or 'offset' with in_bulk()")));
		if (spec->has_values)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("in_bulk() cannot be used with values() or values_list()")));
		if (spec->distinct)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("in_bulk() cannot be used with distinct()")));
	}
	AdjustSlice(call, &spec->has_offset, &spec->offset, &spec->has_limit, &spec->limit);
	/* pg_queryset.max_rows: qs.json also counts the rows it aggregates */
	spec->count_rows = (call->row_cap > 0 && call->target == QS_TARGET_JSON);
}

/* The in_bulk() field: "pk" is the primary key (compile.c keys a composite one). */
static const char *
InBulkField(QsSpec *spec, const char *field)
{
	QsColumn   *pk;

	if (strcmp(field, "pk") != 0)
		return field;
	if (spec->model->npk > 1)
		return field;			/* a composite key: compile.c keys by its columns */
	pk = QsModelPkColumn(spec->model);
	if (pk == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("in_bulk() needs a primary key or a field_name"),
				 errdetail("Model \"%s\" has no primary key.", spec->model->display)));
	return pk->name;
}

/* Parse, adjust and compile (the slow path). */
static QsCompiledQuery *
CompileCall(JsonbValue *tree, QsCall *call)
{
	QsSpec	   *spec = QsSpecFromTree(tree);
	const char *field = NULL;

	AdjustSpec(spec, call);
	if (call->target == QS_TARGET_IN_BULK)
		field = InBulkField(spec, call->in_bulk_field);
	return QsCompileSpec(spec, call->target, call->fetch_desc, field, call->in_bulk_ids);
}

/*
 * A page request (qs.page(), or the "page" key of a terminal that
 * returns rows): the spec of that page (keyset.c), before its shape.
 */
static JsonbValue *
PageTree(JsonbValue *tree, QsCall *call)
{
	bool		rows = (call->target == QS_TARGET_ROWS || call->target == QS_TARGET_JSON ||
						call->target == QS_TARGET_FETCH || call->target == QS_TARGET_PAGE);

	if (!rows || call->first || call->last || call->order_override != NIL || call->default_limit > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid spec at $.page: \"page\" is read by qs.page(), qs.rows(), qs.json(), "
						"qs.fetch() and qs.cursor()"),
				 errhint("Leave \"page\" out of this call's queryset.")));
	if (call->page == NULL)
	{
		call->page = palloc0(sizeof(QsPage));
		call->page->size = -1;
	}
	return QsPageRewrite(tree, call->page, call->target == QS_TARGET_PAGE);
}

/* The page of a "page" key, as qs.rows() reads it (qs.sql, qs.explain). */
static JsonbValue *
PageTreeRows(JsonbValue *tree)
{
	return PageTree(tree, SimpleCall(QS_TARGET_ROWS, "rows"));
}

/* Raise an internal error if a cached shape and a fresh compile differ. */
static void
CheckShape(QsCompiledQuery *cached, QsCompiledQuery *fresh)
{
	int			i;

	if (strcmp(cached->sql, fresh->sql) != 0 || cached->nparams != fresh->nparams)
		elog(ERROR, "pg_queryset: shape cache mismatch: \"%s\" vs \"%s\"", cached->sql, fresh->sql);
	for (i = 0; i < fresh->nparams; i++)
	{
		int16		typlen;
		bool		typbyval;

		if (cached->ptypes[i] != fresh->ptypes[i] || cached->pnulls[i] != fresh->pnulls[i])
			elog(ERROR, "pg_queryset: shape cache mismatch in the type of $%d", i + 1);
		if (fresh->pnulls[i])
			continue;
		get_typlenbyval(fresh->ptypes[i], &typlen, &typbyval);
		if (!datumIsEqual(cached->pvalues[i], fresh->pvalues[i], typbyval, typlen))
			elog(ERROR, "pg_queryset: shape cache mismatch in the value of $%d", i + 1);
	}
}

/* Append a string to a binary shape key, length first (NULL as empty). */
static void
KeyString(StringInfo key, const char *s)
{
	int32		len = s ? (int32) strlen(s) : 0;

	appendBinaryStringInfo(key, (char *) &len, sizeof(len));
	if (len > 0)
		appendBinaryStringInfo(key, s, len);
}

/*
 * The statement and parameters of a terminal call.  A spec whose shape
 * was seen before skips parsing and SQL generation: the cached statement
 * is reused and the parameters recomputed by the recorded parameter recipes.
 */
static QsCompiledQuery *
Prepare(FunctionCallInfo fcinfo, int argno, JsonbValue *tree, QsCall *call)
{
	StringInfoData key;
	List	   *lookups;
	QsShape    *sh;
	QsCompiledQuery *c;

	if (tree == NULL)
	{
		if (PG_ARGISNULL(argno))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("queryset must not be null")));
		tree = QsJsonbToTree(PG_GETARG_JSONB_P(argno));
	}
	tree = QsExpandTree(tree);	/* "manager" and "use" (manager.c) */
	if (call->page != NULL || QsTreeGet(tree, "page") != NULL)
		tree = PageTree(tree, call);
	else if (QsTreeGet(tree, "$keyset") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid spec at $.$keyset: it is written by qs.page()"),
				 errhint("Use qs.page() or the \"page\" key.")));

	/* terminal, name resolution environment, limits, then the spec's shape */
	/* most shapes are short: a smaller first buffer than initStringInfo's */
	key.maxlen = 256;
	key.data = palloc(key.maxlen);
	resetStringInfo(&key);
	{
		/* binary: fixed-width numbers, length-prefixed strings */
		int32		target = (int32) call->target;
		Oid			user = GetUserId();
		int32		depth = qs_max_depth;
		Oid			rowtype = call->fetch_desc ? call->fetch_desc->tdtypeid : InvalidOid;

		appendBinaryStringInfo(&key, (char *) &target, sizeof(target));
		KeyString(&key, call->variant);
		appendBinaryStringInfo(&key, (char *) &user, sizeof(user));
		KeyString(&key, namespace_search_path);
		appendBinaryStringInfo(&key, (char *) &depth, sizeof(depth));
		appendBinaryStringInfo(&key, (char *) &rowtype, sizeof(rowtype));
		if (call->row_cap > 0)
			KeyString(&key, "max_rows");	/* a LIMIT, and qs.json's count */
	}
	QsShapeOf(tree, &key, &lookups);

	sh = QsShapeCacheGet(key.data, key.len);
	if (sh == NULL || sh->nlookups != list_length(lookups))
	{
		c = CompileCall(tree, call);
		QsShapeCachePut(key.data, key.len, c);
		call->model_display = c->model_display;
		return c;
	}

	/* a hit: recompute the parameters of the cached statement */
	{
		bool		has_offset;
		int64		offset;
		bool		has_limit;
		int64		limit;
		JsonbValue **lv = palloc(sizeof(JsonbValue *) * Max(1, list_length(lookups)));
		ListCell   *lc;
		int			i = 0;
		List	   *relids = NIL;

		foreach(lc, lookups)
			lv[i++] = (JsonbValue *) lfirst(lc);
		QsSpecSlice(tree, &has_offset, &offset, &has_limit, &limit);
		AdjustSlice(call, &has_offset, &offset, &has_limit, &limit);

		/* sh is the caller's own copy (QsShapeCacheGet): its parts are used as they are */
		c = palloc0(sizeof(QsCompiledQuery));
		c->sql = sh->sql;
		c->nparams = sh->nparams;
		c->ptypes = sh->ptypes;
		c->pvalues = palloc(sizeof(Datum) * Max(1, sh->nparams));
		c->pnulls = palloc(sizeof(bool) * Max(1, sh->nparams));
		for (i = 0; i < sh->nrelids; i++)
			relids = lappend_oid(relids, sh->relids[i]);
		c->relids = relids;
		c->model_display = sh->model_display;
		c->writes = sh->writes;
		c->sql_hash = sh->sql_hash;
		c->skewed = sh->skewed;
		c->keyset = sh->keyset;
		QsReplayRecipes(sh->recipes, sh->nparams, lv, limit, offset, call->in_bulk_ids,
					 c->pvalues, c->pnulls);
	}
	call->model_display = c->model_display;
	if (qs_shape_cache_check)
		CheckShape(c, CompileCall(tree, call));
	return c;
}

/* The statement of a write call (write.c), through the shape cache. */
QsCompiledQuery *
QsPrepareSpec(JsonbValue *tree, QsTarget target, const char *variant)
{
	return Prepare(NULL, 0, tree, SimpleCall(target, variant));
}

/*
 * Run a write statement (UPDATE, DELETE, INSERT, SELECT ... FOR UPDATE)
 * inside the caller's SPI connection; returns the rows processed.  With
 * want_rows the returned rows stay in SPI_tuptable.
 */
uint64
QsRunWrite(QsCompiledQuery *c, bool want_rows)
{
	MemoryContext cxt = CurrentMemoryContext;
	SPIPlanPtr	plan = QsPlanCacheGet(c, 0);	/* may run SPI: see below */
	int			rc;

	(void) want_rows;
	QsGuardArm(plan);
	QsPlanCacheEnter();
	rc = SPI_execute_plan(plan, c->pvalues, SpiNulls(c), false, 0);
	QsPlanCacheLeave();
	QsGuardDisarm();
	/* SPI returns in its own procedure context; the caller builds in its own */
	MemoryContextSwitchTo(cxt);
	if (rc < 0)
		elog(ERROR, "pg_queryset: unexpected SPI result %s", SPI_result_code_string(rc));
	return SPI_processed;
}

/*
 * A receiver that keeps the first column of the first row, copied into
 * the caller's context, and counts the rows: a one-value statement skips
 * SPI's tuple table (a memory context, a copy of the row, then a copy of
 * the value out of it).
 */
typedef struct ScalarDest
{
	DestReceiver pub;
	MemoryContext cxt;			/* the caller's: where the value is copied */
	uint64		rows;
	Datum		value;
	bool		isnull;
} ScalarDest;

/* ScalarDest: keep the first row's first column. */
static bool
ScalarReceive(TupleTableSlot *slot, DestReceiver *self)
{
	ScalarDest *d = (ScalarDest *) self;

	if (d->rows++ == 0)
	{
		Form_pg_attribute att = TupleDescAttr(slot->tts_tupleDescriptor, 0);
		Datum		v = slot_getattr(slot, 1, &d->isnull);

		if (!d->isnull)
		{
			MemoryContext old = MemoryContextSwitchTo(d->cxt);

			d->value = datumCopy(v, att->attbyval, att->attlen);
			MemoryContextSwitchTo(old);
		}
	}
	return true;
}

/* ScalarDest: nothing to set up or tear down. */
static void
ScalarStartup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

/* ScalarDest: nothing to set up or tear down. */
static void
ScalarNoop(DestReceiver *self)
{
}

/* Run a prepared statement and return its single value. */
static Datum
RunScalarCompiled(QsCompiledQuery *c, bool *isnull)
{
	ScalarDest	dest;
	SPIExecuteOptions opts;
	ParamListInfo params = makeParamList(c->nparams);
	SPIPlanPtr	plan;
	int			rc;
	int			i;

	memset(&dest, 0, sizeof(dest));
	dest.pub.receiveSlot = ScalarReceive;
	dest.pub.rStartup = ScalarStartup;
	dest.pub.rShutdown = ScalarNoop;
	dest.pub.rDestroy = ScalarNoop;
	dest.pub.mydest = DestTuplestore;	/* not DestNone: SPI reports a SELECT */
	dest.cxt = CurrentMemoryContext;
	dest.isnull = true;
	for (i = 0; i < c->nparams; i++)
	{
		params->params[i].value = c->pvalues[i];
		params->params[i].isnull = c->pnulls[i];
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = c->ptypes[i];
	}
	memset(&opts, 0, sizeof(opts));
	/* no parameters: no list (Citus 13 reads the copy of an empty list: see RunIntoTuplestore) */
	opts.params = c->nparams > 0 ? params : NULL;
	opts.read_only = !c->writes;
	opts.dest = &dest.pub;

	SPI_connect();
	plan = QsPlanCacheGet(c, CURSOR_OPT_PARALLEL_OK);
	QsGuardArm(plan);
	QsPlanCacheEnter();
	rc = SPI_execute_plan_extended(plan, &opts);
	QsPlanCacheLeave();
	QsGuardDisarm();
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "pg_queryset: unexpected SPI result %s", SPI_result_code_string(rc));
	if (dest.rows != 1)
		elog(ERROR, "pg_queryset: expected one row, got " UINT64_FORMAT, dest.rows);
	SPI_finish();
	*isnull = dest.isnull;
	return dest.isnull ? (Datum) 0 : dest.value;
}

/* Run a prepared ROWS statement for at most tcount rows; returns the first row. */
static Jsonb *
RunRowsCompiled(QsCompiledQuery *c, long tcount, uint64 *nrows)
{
	bool		isnull = true;
	Datum		d = (Datum) 0;

	SPI_connect();
	RunStatement(c, tcount);
	*nrows = SPI_processed;
	if (SPI_processed > 0)
	{
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull)
			d = SPI_datumTransfer(d, false, -1);
	}
	SPI_finish();

	/*
	 * Detoast only now, in the caller's context: a short-header datum
	 * detoasted inside SPI was a copy in SPI's memory, freed by
	 * SPI_finish(), and the next call in the same target list reused it.
	 */
	return isnull ? NULL : DatumGetJsonbP(d);
}

/* A call with just a target. */
static QsCall *
SimpleCall(QsTarget target, const char *variant)
{
	QsCall	   *call = palloc0(sizeof(QsCall));

	call->target = target;
	call->variant = variant;
	return call;
}

/* ---------------------------------------------------------------------
 * SQL-callable terminals
 * ---------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(qs_rows);

/* qs.rows(q) -> SETOF jsonb: one object (or array, or value) per row. */
Datum
qs_rows(PG_FUNCTION_ARGS)
{
	QsCall	   *call = SimpleCall(QS_TARGET_ROWS, "rows");
	QsCompiledQuery *c;
	TupleDesc	desc = CreateTemplateTupleDesc(1);
	Tuplestorestate *ts;

	call->row_cap = QsGuardRowCap();
	c = Prepare(fcinfo, 0, NULL, call);

	TupleDescInitEntry(desc, 1, "row", JSONBOID, -1, 0);
	ts = MaterializeInit(fcinfo, desc);
	RunIntoTuplestore(fcinfo, c, ts, desc, "qs.rows()");
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(qs_fetch);

/* qs.fetch(q, NULL::tbl) -> SETOF tbl: typed rows. */
Datum
qs_fetch(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	QsCall	   *call = SimpleCall(QS_TARGET_FETCH, "fetch");
	QsCompiledQuery *c;
	Tuplestorestate *ts;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("qs.fetch() needs a row type as its second argument"),
				 errhint("Pass NULL cast to the table's row type, e.g. NULL::catalog_product.")));
	call->fetch_desc = desc;
	call->row_cap = QsGuardRowCap();
	c = Prepare(fcinfo, 0, NULL, call);
	ts = MaterializeInit(fcinfo, desc);
	RunIntoTuplestore(fcinfo, c, ts, desc, "qs.fetch()");
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(qs_json);

/*
 * qs.json under pg_queryset.max_rows: the statement asks for max_rows + 1
 * rows and selects their count beside the array.  Over the limit: the
 * error, or (truncate) the statement again for max_rows rows -- the same
 * SQL, only the LIMIT parameter differs.
 */
static Datum
JsonGuarded(FunctionCallInfo fcinfo, QsCall *call, QsCompiledQuery *c, bool *isnull)
{
	Datum		d = (Datum) 0;
	bool		cnull;
	int64		n;

	SPI_connect();
	RunStatement(c, 0);
	if (SPI_processed != 1 || SPI_tuptable->tupdesc->natts != 2)
		elog(ERROR, "pg_queryset: expected the array and its row count");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
	if (!*isnull)
		d = SPI_datumTransfer(d, false, -1);
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &cnull));
	SPI_finish();
	if (n > qs_max_rows && QsGuardRowsOver("qs.json()"))
	{
		call->row_cap = qs_max_rows;
		c = Prepare(fcinfo, 0, NULL, call);
		d = RunScalarCompiled(c, isnull);
	}
	return d;
}

/* qs.json(q) -> json: the whole result as one JSON array. */
Datum
qs_json(PG_FUNCTION_ARGS)
{
	QsCall	   *call = SimpleCall(QS_TARGET_JSON, "json");
	QsCompiledQuery *c;
	bool		isnull;
	Datum		d;

	call->row_cap = QsGuardRowCap();
	c = Prepare(fcinfo, 0, NULL, call);
	if (call->row_cap > 0)
		d = JsonGuarded(fcinfo, call, c, &isnull);
	else
		d = RunScalarCompiled(c, &isnull);

	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(d);
}

PG_FUNCTION_INFO_V1(qs_count);

/* qs.count(q) -> bigint (a sliced queryset counts its slice). */
Datum
qs_count(PG_FUNCTION_ARGS)
{
	QsCompiledQuery *c = Prepare(fcinfo, 0, NULL, SimpleCall(QS_TARGET_COUNT, "count"));
	bool		isnull;

	PG_RETURN_DATUM(RunScalarCompiled(c, &isnull));
}

PG_FUNCTION_INFO_V1(qs_exists);

/* qs.exists(q) -> boolean. */
Datum
qs_exists(PG_FUNCTION_ARGS)
{
	QsCompiledQuery *c = Prepare(fcinfo, 0, NULL, SimpleCall(QS_TARGET_EXISTS, "exists"));
	bool		isnull;

	PG_RETURN_DATUM(RunScalarCompiled(c, &isnull));
}

/* Shared by get/earliest/latest: exactly one row or P0002/P0003. */
static Jsonb *
GetOne(QsCompiledQuery *c, const char *model)
{
	uint64		n;
	Jsonb	   *row;

	row = RunRowsCompiled(c, 0, &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("%s matching query does not exist", model),
				 errdetail("DoesNotExist: no row of \"%s\" matches the queryset.", model)));
	if (n > 1)
		ereport(ERROR,
				(errcode(ERRCODE_TOO_MANY_ROWS),
				 errmsg("get() returned more than one %s -- it returned %s!", model,
						n >= QS_MAX_GET_RESULTS ? psprintf("more than %d", QS_MAX_GET_RESULTS - 1)
						: psprintf(UINT64_FORMAT, n)),
				 errdetail("MultipleObjectsReturned: the lookups match more than one row."),
				 errhint("Filter on a unique field, or use qs.first().")));
	return row;
}

PG_FUNCTION_INFO_V1(qs_get);

/* qs.get(q [, lookups]) -> jsonb: exactly one row (P0002 / P0003). */
Datum
qs_get(PG_FUNCTION_ARGS)
{
	JsonbValue *tree = NULL;
	QsCall	   *call = SimpleCall(QS_TARGET_ROWS, "get");
	QsCompiledQuery *c;

	call->default_limit = QS_MAX_GET_RESULTS;
	if (PG_NARGS() > 1 && !PG_ARGISNULL(1))
	{
		JsonbValue *where;
		JsonbValue *extra;

		if (PG_ARGISNULL(0))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("queryset must not be null")));
		tree = QsJsonbToTree(PG_GETARG_JSONB_P(0));
		extra = QsJsonbToTree(PG_GETARG_JSONB_P(1));
		if (tree->type != jbvObject)
			(void) QsSpecFromTree(tree);	/* raises the right error */
		if (extra->type == jbvObject && extra->val.object.nPairs > 0 &&
			(QsTreeGet(tree, "limit") || QsTreeGet(tree, "offset")))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cannot filter a query once a slice has been taken"),
					 errhint("Apply the slice last, as in Django.")));
		where = QsTreeGet(tree, "where");
		if (where)
		{
			JsonbValue *and = QsTreeObject();

			QsTreeSet(and, "$and", QsTreeArray(list_make2(where, extra)));
			QsTreeSet(tree, "where", and);
		}
		else
			QsTreeSet(tree, "where", extra);
	}
	c = Prepare(fcinfo, 0, tree, call);
	PG_RETURN_JSONB_P(GetOne(c, call->model_display));
}

/* first()/last(): one row or NULL, by pk when unordered; last() reverses. */
static Datum
FirstOrLast(FunctionCallInfo fcinfo, bool last)
{
	QsCall	   *call = SimpleCall(QS_TARGET_ROWS, last ? "last" : "first");
	QsCompiledQuery *c;
	uint64		n;
	Jsonb	   *row;

	call->first = !last;
	call->last = last;
	c = Prepare(fcinfo, 0, NULL, call);
	row = RunRowsCompiled(c, 1, &n);
	if (row == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(row);
}

PG_FUNCTION_INFO_V1(qs_first);

/* qs.first(q) -> jsonb or NULL: first row, by pk when unordered. */
Datum
qs_first(PG_FUNCTION_ARGS)
{
	return FirstOrLast(fcinfo, false);
}

PG_FUNCTION_INFO_V1(qs_last);

/* qs.last(q) -> jsonb or NULL: last row (ordering reversed). */
Datum
qs_last(PG_FUNCTION_ARGS)
{
	return FirstOrLast(fcinfo, true);
}

/* earliest/latest: order by the given fields, exactly one row or P0002. */
static Datum
EarliestLatest(FunctionCallInfo fcinfo, bool latest)
{
	QsCall	   *call = SimpleCall(QS_TARGET_ROWS, latest ? "latest" : "earliest");
	StringInfoData variant;
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n = 0;
	int			i;
	List	   *items = NIL;
	QsCompiledQuery *c;

	initStringInfo(&variant);
	appendStringInfoString(&variant, call->variant);
	if (!PG_ARGISNULL(1))
	{
		arr = PG_GETARG_ARRAYTYPE_P(1);
		deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
		for (i = 0; i < n; i++)
		{
			QsOrderItem *o = palloc0(sizeof(QsOrderItem));
			char	   *s;

			if (nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("field names must not be null")));
			s = TextDatumGetCString(elems[i]);
			appendStringInfo(&variant, ":%d:%s", (int) strlen(s), s);
			if (s[0] == '-')
			{
				o->desc = true;
				s++;
			}
			o->path = s;
			items = lappend(items, o);
		}
	}
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s() requires at least one field name", latest ? "latest" : "earliest"),
				 errhint("For example qs.%s(q, 'created_at').", latest ? "latest" : "earliest")));
	call->variant = variant.data;
	call->order_override = items;
	call->reverse_override = latest;
	call->default_limit = 1;
	c = Prepare(fcinfo, 0, NULL, call);
	PG_RETURN_JSONB_P(GetOne(c, call->model_display));
}

PG_FUNCTION_INFO_V1(qs_earliest);

/* qs.earliest(q, VARIADIC fields) -> jsonb (P0002 when empty). */
Datum
qs_earliest(PG_FUNCTION_ARGS)
{
	return EarliestLatest(fcinfo, false);
}

PG_FUNCTION_INFO_V1(qs_latest);

/* qs.latest(q, VARIADIC fields) -> jsonb (P0002 when empty). */
Datum
qs_latest(PG_FUNCTION_ARGS)
{
	return EarliestLatest(fcinfo, true);
}

PG_FUNCTION_INFO_V1(qs_in_bulk);

/* qs.in_bulk(q [, ids jsonb [, field text]]) -> jsonb object keyed by field. */
Datum
qs_in_bulk(PG_FUNCTION_ARGS)
{
	QsCall	   *call = SimpleCall(QS_TARGET_IN_BULK, NULL);
	char	   *field = "pk";
	JsonbValue *ids = NULL;
	QsCompiledQuery *c;
	bool		isnull;
	Datum		d;

	if (PG_NARGS() > 2 && !PG_ARGISNULL(2))
		field = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (PG_NARGS() > 1 && !PG_ARGISNULL(1))
	{
		ids = QsJsonbToTree(PG_GETARG_JSONB_P(1));
		if (ids->type != jbvArray)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("in_bulk() expects a JSON array of ids, got %s", QsJsonTypeName(ids))));
	}
	call->in_bulk_field = field;
	call->in_bulk_ids = ids;
	call->variant = psprintf("in_bulk:%s:%d:%s", ids ? "ids" : "all", (int) strlen(field), field);
	if (ids && ids->val.array.nElems == 0)
	{
		/* Django returns {} without a query; validate the spec all the same */
		if (PG_ARGISNULL(0))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("queryset must not be null")));
		(void) CompileCall(QsJsonbToTree(PG_GETARG_JSONB_P(0)), call);
		PG_RETURN_JSONB_P(QsTreeToJsonb(QsTreeObject()));
	}
	call->row_cap = QsGuardRowCap();
	c = Prepare(fcinfo, 0, NULL, call);
	d = RunScalarCompiled(c, &isnull);
	/* pg_queryset.max_rows: one key per row; truncate runs it again for max_rows rows */
	if (call->row_cap > 0 && JsonContainerSize(&DatumGetJsonbP(d)->root) > qs_max_rows &&
		QsGuardRowsOver("qs.in_bulk()"))
	{
		call->row_cap = qs_max_rows;
		c = Prepare(fcinfo, 0, NULL, call);
		d = RunScalarCompiled(c, &isnull);
	}
	PG_RETURN_DATUM(d);
}

PG_FUNCTION_INFO_V1(qs_sql);

/* qs.sql(q) -> text: the statement qs.rows() runs, with $n placeholders. */
Datum
qs_sql(PG_FUNCTION_ARGS)
{
	QsSpec	   *spec = SpecArg(fcinfo, 0);
	QsCompiledQuery *c = QsCompileSpec(spec, QS_TARGET_ROWS, NULL, NULL, NULL);

	PG_RETURN_TEXT_P(cstring_to_text(c->sql));
}

PG_FUNCTION_INFO_V1(qs_params);

/* qs.params(q) -> jsonb: the parameter values of qs.sql(), in order. */
Datum
qs_params(PG_FUNCTION_ARGS)
{
	QsSpec	   *spec = SpecArg(fcinfo, 0);
	QsCompiledQuery *c = QsCompileSpec(spec, QS_TARGET_ROWS, NULL, NULL, NULL);
	StringInfoData sql;
	int			i;
	bool		isnull;
	Datum		d;
	int			rc;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT pg_catalog.jsonb_build_array(");
	for (i = 0; i < c->nparams; i++)
	{
		if (i > 0 && i % 90 == 0)
			appendStringInfoString(&sql, ") OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_array(");
		else if (i > 0)
			appendStringInfoString(&sql, ", ");
		appendStringInfo(&sql, "$%d", i + 1);
	}
	appendStringInfoChar(&sql, ')');
	SPI_connect();
	rc = SPI_execute_with_args(sql.data, c->nparams, c->ptypes, c->pvalues,
							   SpiNulls(c), true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "pg_queryset: unexpected SPI result %s", SPI_result_code_string(rc));
	d = SingleValue(&isnull);
	SPI_finish();
	PG_RETURN_DATUM(d);
}

PG_FUNCTION_INFO_V1(qs_explain);

/*
 * EXPLAIN ANALYZE counts the rows a scan read and a filter removed, and
 * row-level security filters are counted with the rest: with an index on
 * another column, "Rows Removed by Filter" tells another tenant's values
 * apart (docs/threat-model.md, "EXPLAIN ANALYZE").  qs.explain(q, true)
 * is refused when the statement reads any relation -- views resolved to
 * the tables under them -- whose policies are in force for the caller.
 * Inside SPI (the statement is prepared, not run).
 */
static void
RefuseAnalyzeUnderRls(QsCompiledQuery *c)
{
	SPIPlanPtr	plan = SPI_prepare(c->sql, c->nparams, c->ptypes);
	ListCell   *lc;

	if (plan == NULL)
		elog(ERROR, "pg_queryset: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	foreach(lc, SPI_plan_get_plan_sources(plan))
	{
		CachedPlanSource *ps = (CachedPlanSource *) lfirst(lc);
		ListCell   *lr;

		foreach(lr, ps->relationOids)
		{
			Oid			relid = lfirst_oid(lr);

			if (check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("qs.explain(q, analyze => true) is refused: row-level security is in force on \"%s\"",
								get_rel_name(relid)),
						 errdetail("EXPLAIN ANALYZE counts the rows the policies removed, which reveals rows "
								   "of other tenants."),
						 errhint("qs.explain(q) shows the plan without running it; measure as the table's "
								 "owner or a role that bypasses row-level security.")));
		}
	}
	SPI_freeplan(plan);
}

/* qs.explain(q [, analyze]) -> jsonb: EXPLAIN (FORMAT JSON) of qs.rows(). */
Datum
qs_explain(PG_FUNCTION_ARGS)
{
	QsSpec	   *spec = SpecArg(fcinfo, 0);
	bool		analyze = PG_NARGS() > 1 && !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
	QsCompiledQuery *c = QsCompileSpec(spec, QS_TARGET_ROWS, NULL, NULL, NULL);
	char	   *sql;
	bool		isnull;
	Datum		d;
	char	   *txt;
	int			rc;

	sql = psprintf("EXPLAIN (FORMAT JSON%s) %s", analyze ? ", ANALYZE" : "", c->sql);
	SPI_connect();
	if (analyze)
		RefuseAnalyzeUnderRls(c);
	rc = SPI_execute_with_args(sql, c->nparams, c->ptypes, c->pvalues,
							   SpiNulls(c), false, 0);
	if (rc != SPI_OK_UTILITY && rc != SPI_OK_SELECT)
		elog(ERROR, "pg_queryset: unexpected SPI result %s", SPI_result_code_string(rc));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	txt = isnull ? "null" : SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	/* convert inside SPI, then copy the result out before SPI_finish frees it */
	d = DirectFunctionCall1(jsonb_in, CStringGetDatum(txt));
	d = SPI_datumTransfer(d, false, -1);
	SPI_finish();
	PG_RETURN_DATUM(d);
}

PG_FUNCTION_INFO_V1(qs_cursor);

/*
 * qs.cursor(q [, name]) -> refcursor: an open portal of jsonb rows.
 * The client FETCHes it in chunks inside its transaction; memory stays
 * constant on both sides however many rows there are.
 */
Datum
qs_cursor(PG_FUNCTION_ARGS)
{
	QsCall	   *call = SimpleCall(QS_TARGET_ROWS, "rows");
	QsCompiledQuery *c;
	char	   *name = NULL;
	SPIPlanPtr	plan;
	Portal		portal;
	text	   *res;

	call->row_cap = QsGuardRowCap();
	c = Prepare(fcinfo, 0, NULL, call);
	if (PG_NARGS() > 1 && !PG_ARGISNULL(1))
		name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	SPI_connect();
	plan = QsPlanCacheGet(c, CURSOR_OPT_NO_SCROLL);
	portal = SPI_cursor_open(name, plan, c->pvalues, SpiNulls(c), false);
	/* the guards: its cost now, its rows as they are fetched (guards.c) */
	QsGuardCostPortal(portal);
	if (call->row_cap > 0)
		QsGuardCursor(portal, "qs.cursor()");
	/* the name outlives SPI: copy it into the caller's context */
	res = (text *) SPI_palloc(VARHDRSZ + strlen(portal->name));
	SET_VARSIZE(res, VARHDRSZ + strlen(portal->name));
	memcpy(VARDATA(res), portal->name, strlen(portal->name));
	SPI_finish();
	PG_RETURN_TEXT_P(res);
}

PG_FUNCTION_INFO_V1(qs_page);

/* Push a cursor, or null, as the value of key. */
static void
PushCursor(JsonbParseState **st, const char *key, char *cursor)
{
	JsonbValue	k;
	JsonbValue	v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(st, WJB_KEY, &k);
	if (cursor == NULL)
		v.type = jbvNull;
	else
	{
		v.type = jbvString;
		v.val.string.val = cursor;
		v.val.string.len = strlen(cursor);
	}
	pushJsonbValue(st, WJB_VALUE, &v);
}

/*
 * qs.page(q, after, size, before) -> jsonb: {"results": [...], "next":
 * cursor or null, "previous": cursor or null}, one keyset page in one
 * statement (keyset.c writes its spec and its cursors).  The statement
 * reads size + 1 rows: the extra row tells whether a next page (or,
 * reading backwards, a previous page) exists.
 */
Datum
qs_page(PG_FUNCTION_ARGS)
{
	QsCall	   *call = SimpleCall(QS_TARGET_PAGE, "page");
	QsPage	   *page = palloc0(sizeof(QsPage));
	MemoryContext caller = CurrentMemoryContext;
	QsCompiledQuery *c;
	JsonbParseState *st = NULL;
	JsonbValue *res;
	JsonbValue	key;
	Jsonb	   *out;
	uint64		n;
	uint64		first;
	uint64		count;
	uint64		i;
	char	   *next = NULL;
	char	   *previous = NULL;

	page->size = PG_ARGISNULL(2) ? -1 : PG_GETARG_INT32(2);
	if (!PG_ARGISNULL(1))
		page->after = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (PG_NARGS() > 3 && !PG_ARGISNULL(3))
		page->before = text_to_cstring(PG_GETARG_TEXT_PP(3));
	call->page = page;
	c = Prepare(fcinfo, 0, NULL, call);

	SPI_connect();
	RunStatement(c, 0);
	MemoryContextSwitchTo(caller);
	n = SPI_processed;
	count = Min(n, (uint64) page->size);
	/* pg_queryset.max_rows: error mode fails here, truncate mode warns of a shortened page */
	if ((page->max_rows > 0 && count > (uint64) page->max_rows) || (page->clamped && n > count))
		(void) QsGuardRowsOver("qs.page()");
	/* forwards the extra row is the last; backwards (rows in order) the first */
	first = (page->backwards && n > count) ? n - count : 0;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	key.type = jbvString;
	key.val.string.val = "results";
	key.val.string.len = 7;
	pushJsonbValue(&st, WJB_KEY, &key);
	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	for (i = first; i < first + count; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);
		JsonbValue	row;

		CHECK_FOR_INTERRUPTS();
		if (isnull)
			row.type = jbvNull;
		else
		{
			Jsonb	   *jb = DatumGetJsonbP(d);

			row.type = jbvBinary;
			row.val.binary.data = &jb->root;
			row.val.binary.len = VARSIZE(jb) - VARHDRSZ;
		}
		pushJsonbValue(&st, WJB_ELEM, &row);
	}
	pushJsonbValue(&st, WJB_END_ARRAY, NULL);

	/* the cursors: the first and last rows' keys, or the boundary's */
	{
		char	   *first_keys = NULL;
		char	   *last_keys = NULL;
		bool		more = n > count;

		if (count > 0)
		{
			first_keys = SPI_getvalue(SPI_tuptable->vals[first], SPI_tuptable->tupdesc, 1);
			last_keys = SPI_getvalue(SPI_tuptable->vals[first + count - 1], SPI_tuptable->tupdesc, 1);
		}
		if (!page->backwards)
		{
			if (more)
				next = QsPageCursor(page, false, false, last_keys);
			if (page->has_boundary)
				previous = count > 0 ? QsPageCursor(page, true, false, first_keys) :
					QsPageCursor(page, true, !page->inclusive, page->boundary_keys);
		}
		else
		{
			if (more)
				previous = QsPageCursor(page, true, false, first_keys);
			next = count > 0 ? QsPageCursor(page, false, false, last_keys) :
				QsPageCursor(page, false, !page->inclusive, page->boundary_keys);
		}
	}
	PushCursor(&st, "next", next);
	PushCursor(&st, "previous", previous);
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	/* serialized before SPI_finish frees the rows it points into */
	out = JsonbValueToJsonb(res);
	SPI_finish();
	PG_RETURN_JSONB_P(out);
}

PG_FUNCTION_INFO_V1(qs_aggregate);

/*
 * qs.aggregate(q, aggregates jsonb) -> jsonb: {"name": value, ...} over
 * the whole queryset in one statement (Django's aggregate()).  Count of
 * nothing is 0, the others null unless a "default" is given.
 */
Datum
qs_aggregate(PG_FUNCTION_ARGS)
{
	JsonbValue *tree;
	JsonbValue *aggs;
	QsCompiledQuery *c;
	bool		isnull;
	Datum		d;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("queryset must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("aggregates must not be null"),
				 errhint("Write qs.aggregate(q, '{\"total\": {\"Sum\": \"total\"}}').")));
	tree = QsJsonbToTree(PG_GETARG_JSONB_P(0));
	if (tree->type != jbvObject)
		(void) QsSpecFromTree(tree);	/* raises the spec error */
	if (QsTreeGet(tree, "aggregate") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid spec at $.aggregate: pass the aggregates as qs.aggregate()'s second argument")));
	aggs = QsJsonbToTree(PG_GETARG_JSONB_P(1));
	QsTreeSet(tree, "aggregate", aggs);
	c = Prepare(fcinfo, 0, tree, SimpleCall(QS_TARGET_AGGREGATE, "aggregate"));
	d = RunScalarCompiled(c, &isnull);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(d);
}
