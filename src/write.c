/*
 * write.c
 *	  The write half: qs.update, qs.delete, qs.create (with nested
 *	  children), qs.bulk_create, qs.bulk_update, qs.get_or_create and
 *	  qs.update_or_create.
 *
 * Every function is one SQL function call, so it is atomic: an error
 * anywhere rolls back everything it wrote.  Values are parameters coerced
 * to the column's type (errors name the field and the JSON path); column
 * names come from the catalog; every statement runs with the caller's
 * privileges and row-level security (SECURITY INVOKER).  Sets of rows
 * travel as typed arrays (one per column) unnested into a record set, so
 * bulk operations are set-based statements, never one call per row and
 * never CASE WHEN chains.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "builder.h"
#include "compile.h"
#include "exec.h"
#include "guards.h"
#include "model.h"
#include "path.h"
#include "pg_queryset.h"
#include "relation.h"
#include "spec.h"
#include "state.h"
#include "write.h"
#include "writecol.h"

/* ---------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------
 */

/* A jsonb argument as a tree: required, and an object unless arrays are allowed. */
JsonbValue *
QsWriteTreeArg(FunctionCallInfo fcinfo, int argno, const char *what, bool array)
{
	JsonbValue *v;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	v = QsJsonbToTree(PG_GETARG_JSONB_P(argno));
	if (v->type != (array ? jbvArray : jbvObject))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s: expected a JSON %s, got %s", what, array ? "array" : "object",
						QsJsonTypeName(v))));
	return v;
}

/* A compile context for coercing values (messages carry the JSON path). */
QsCompileState *
QsWriteContext(QsModel *m)
{
	QsCompileState  *ctx = palloc(sizeof(QsCompileState));

	QsInitCompile(ctx, m);
	return ctx;
}

/* Raise Django's "Cannot resolve keyword" for a key of a written row (42703). */
void
QsWriteUnknownKey(QsCompileState *ctx, QsModel *m, const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("Cannot resolve keyword '%s' into field. Choices are: %s", name, QsModelChoices(m)),
			 errdetail("Model \"%s\", at %s.", m->display, QsPathString(ctx))));
}

/* jsonb_build_object('c', alias.c, ...) over columns (chunks of 50 pairs) */
char *
QsRowJsonb(List *cols, const char *alias)
{
	StringInfoData buf;
	ListCell   *lc;
	int			n = 0;

	initStringInfo(&buf);
	if (cols == NIL)
		return pstrdup("'{}'::pg_catalog.jsonb");
	appendStringInfoString(&buf, "pg_catalog.jsonb_build_object(");
	foreach(lc, cols)
	{
		QsColumn   *c = (QsColumn *) lfirst(lc);

		if (n > 0 && n % 50 == 0)
			appendStringInfoString(&buf, ") OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(");
		else if (n > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfo(&buf, "%s, %s.%s", quote_literal_cstr(c->name), alias, quote_identifier(c->name));
		n++;
	}
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

/* list_sort comparator for column names. */
int
QsNameCmp(const ListCell *a, const ListCell *b)
{
	return strcmp((const char *) lfirst(a), (const char *) lfirst(b));
}

/* Every column of a model, in attnum order. */
List *
QsAllColumns(QsModel *m)
{
	List	   *cols = NIL;
	int			i;

	for (i = 0; i < m->ncolumns; i++)
		cols = lappend(cols, &m->columns[i]);
	return cols;
}

/* Run a statement (inside SPI) through the plan cache; returns rows processed. */
uint64
QsRunWriteSql(QsModel *m, const char *sql, int n, Oid *types, Datum *values, bool *nulls)
{
	QsCompiledQuery	c;

	memset(&c, 0, sizeof(c));
	c.sql = (char *) sql;
	c.nparams = n;
	c.ptypes = types;
	c.pvalues = values;
	c.pnulls = nulls;
	c.relids = list_make1_oid(m->relid);
	c.model = m;
	c.model_display = m->display;
	c.writes = true;
	return QsRunWrite(&c, true);
}

/* Column i of row r of the last SPI result as a jsonb tree (copied out). */
JsonbValue *
QsResultTree(uint64 r, int i)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, i, &isnull);

	if (isnull)
		return NULL;
	/* a copy: the tree points into it, and SPI frees its tuples at SPI_finish() */
	return QsJsonbToTree(DatumGetJsonbPCopy(d));
}

/* (object jsonb, created boolean) */
static Datum
ObjectCreated(FunctionCallInfo fcinfo, JsonbValue *obj, bool created)
{
	TupleDesc	td;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "pg_queryset: a composite result type is required");
	td = BlessTupleDesc(td);
	values[0] = JsonbPGetDatum(QsTreeToJsonb(obj));
	values[1] = BoolGetDatum(created);
	return HeapTupleGetDatum(heap_form_tuple(td, values, nulls));
}

/* ---------------------------------------------------------------------
 * qs.update, qs.delete
 * ---------------------------------------------------------------------
 */

/* The queryset argument of qs.update / qs.delete as a spec tree. */
static JsonbValue *
SpecTree(FunctionCallInfo fcinfo)
{
	JsonbValue *tree;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("queryset must not be null")));
	tree = QsJsonbToTree(PG_GETARG_JSONB_P(0));
	if (tree->type != jbvObject)
		(void) QsSpecFromTree(tree);	/* raises the spec error */
	if (QsTreeGet(tree, "$update") != NULL || QsTreeGet(tree, "$fields") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid spec: \"$update\" and \"$fields\" are set by qs.update() itself")));
	return tree;
}

PG_FUNCTION_INFO_V1(qs_update);

/*
 * qs.update(q, values jsonb [, fields text[]]) -> bigint: one UPDATE of
 * the queryset's rows.  Values are literals (a string is a literal) or
 * expressions ({"F": "stock"}, arithmetic, Case/When...), evaluated per
 * row by PostgreSQL, so a conditional decrement is race-free.
 */
Datum
qs_update(PG_FUNCTION_ARGS)
{
	MemoryContext outer_cxt = CurrentMemoryContext;
	JsonbValue *tree = SpecTree(fcinfo);
	JsonbValue *vals = QsWriteTreeArg(fcinfo, 1, "update values", false);
	QsCompiledQuery *c;
	uint64		n;

	QsTreeSet(tree, "$update", vals);
	if (PG_NARGS() > 2 && !PG_ARGISNULL(2))
		QsTreeSet(tree, "$fields", QsStringArray(QsTextArrayArg(fcinfo, 2)));
	c = QsPrepareSpec(tree, QS_TARGET_UPDATE, "update");
	SPI_connect();
	/* results outlive SPI_finish(): build them in the caller's context */
	MemoryContextSwitchTo(outer_cxt);
	n = QsRunWrite(c, false);
	QsGuardAffected(n, "qs.update()");
	SPI_finish();
	PG_RETURN_INT64((int64) n);
}

PG_FUNCTION_INFO_V1(qs_delete);

/* qs.delete(q) -> bigint: one DELETE of the queryset's rows. */
Datum
qs_delete(PG_FUNCTION_ARGS)
{
	MemoryContext outer_cxt = CurrentMemoryContext;
	JsonbValue *tree = SpecTree(fcinfo);
	QsCompiledQuery *c = QsPrepareSpec(tree, QS_TARGET_DELETE, "delete");
	uint64		n;

	SPI_connect();
	/* results outlive SPI_finish(): build them in the caller's context */
	MemoryContextSwitchTo(outer_cxt);
	n = QsRunWrite(c, false);
	QsGuardAffected(n, "qs.delete()");
	SPI_finish();
	PG_RETURN_INT64((int64) n);
}

/* ---------------------------------------------------------------------
 * qs.create (nested), shared by get_or_create and update_or_create
 * ---------------------------------------------------------------------
 */

/* the part of an allow-list under a relation: "items__quantity" -> "quantity" */
static List *
AllowedUnder(List *allowed, const char *rel)
{
	List	   *res = NIL;
	ListCell   *lc;
	size_t		len = strlen(rel);

	foreach(lc, allowed)
	{
		const char *a = (const char *) lfirst(lc);

		if (strncmp(a, rel, len) == 0 && strncmp(a + len, "__", 2) == 0)
			res = lappend(res, pstrdup(a + len + 2));
	}
	return res;
}

/* One create call: its name and the rows it has inserted (pg_queryset.max_affected). */
typedef struct CreateCall
{
	const char *fn;
	uint64		written;
} CreateCall;

static JsonbValue *CreateRow(QsCompileState *ctx, QsModel *m, JsonbValue *obj, List *fixed_cols,
							 List *fixed_vals, List *allowed, bool has_allowed, bool skip_conflicts,
							 CreateCall *cc);

/* The keys of a row given to create(): its columns and values, and its nested children. */
typedef struct CreateKeys
{
	List	   *cols;			/* QsColumn * */
	List	   *vals;			/* JsonbValue * */
	List	   *child_rels;		/* QsRelation *: reverse relations given as children */
	List	   *child_vals;
	List	   *child_keys;		/* the keys naming them */
} CreateKeys;

/* Sort a row's keys into columns and children; fixed_cols are the parent's. */
static void
CreateRowKeys(QsCompileState *ctx, QsModel *m, JsonbValue *obj, List *fixed_cols,
			  List *allowed, bool has_allowed, CreateKeys *ck)
{
	List	   *cols = NIL;
	List	   *vals = NIL;
	List	   *child_rels = NIL;
	List	   *child_vals = NIL;
	List	   *child_keys = NIL;
	ListCell   *lc;
	int			i;
	int			save = ctx->path.len;

	for (i = 0; i < obj->val.object.nPairs; i++)
	{
		char	   *name = QsTreeKey(&obj->val.object.pairs[i].key);
		JsonbValue *v = &obj->val.object.pairs[i].value;
		QsColumn   *col;

		QsPathPush(ctx, ".%s", name);
		col = QsWriteColumn(ctx, m, name, allowed, has_allowed);
		if (col == NULL)
		{
			QsRelation *rel = QsFindRelation(ctx, m, name);

			if (rel == NULL)
				QsWriteUnknownKey(ctx, m, name);
			if (rel->kind != QS_REL_REVERSE)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("cannot create through the %s relation '%s'",
								rel->kind == QS_REL_M2M ? "many-to-many" : "composite", name),
						 errdetail("At %s.", QsPathString(ctx)),
						 errhint("Nested create takes to-many children; create junction rows with qs.bulk_create.")));
			if (has_allowed && !QsNameInList(allowed, name))
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("field \"%s\" is not in the allowed fields of this call", name),
						 errdetail("At %s.", QsPathString(ctx))));
			child_rels = lappend(child_rels, rel);
			child_vals = lappend(child_vals, v);
			child_keys = lappend(child_keys, name);
			QsPathPop(ctx, save);
			continue;
		}
		foreach(lc, cols)
			if (lfirst(lc) == col)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("column \"%s\" is given twice", col->name),
						 errdetail("At %s.", QsPathString(ctx))));
		foreach(lc, fixed_cols)
			if (lfirst(lc) == col)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("column \"%s\" is set by the parent row of a nested create", col->name),
						 errdetail("At %s.", QsPathString(ctx))));
		cols = lappend(cols, col);
		vals = lappend(vals, v);
		QsPathPop(ctx, save);
	}
	ck->cols = cols;
	ck->vals = vals;
	ck->child_rels = child_rels;
	ck->child_vals = child_vals;
	ck->child_keys = child_keys;
}

/*
 * INSERT one row of m (cols = vals) RETURNING it; NULL when a conflict
 * skipped it.  A row past pg_queryset.max_affected is refused before it
 * is inserted.
 */
static JsonbValue *
InsertRow(QsCompileState *ctx, QsModel *m, List *cols, List *vals, bool skip_conflicts, CreateCall *cc)
{
	ListCell   *lc;
	ListCell   *lv;
	StringInfoData sql;
	StringInfoData vlist;
	int			n;
	int			i;
	Oid		   *types;
	Datum	   *values;
	bool	   *nulls;
	int			save = ctx->path.len;

	n = list_length(cols);
	types = palloc(sizeof(Oid) * Max(n, 1));
	values = palloc(sizeof(Datum) * Max(n, 1));
	nulls = palloc(sizeof(bool) * Max(n, 1));
	initStringInfo(&sql);
	initStringInfo(&vlist);
	appendStringInfo(&sql, "INSERT INTO %s AS t0", m->qualname);
	i = 0;
	forboth(lc, cols, lv, vals)
	{
		QsColumn   *col = (QsColumn *) lfirst(lc);

		QsPathPush(ctx, ".%s", col->name);
		types[i] = QsWriteParamType(col);
		values[i] = QsColumnDatum(ctx, col, (JsonbValue *) lfirst(lv), &nulls[i]);
		QsPathPop(ctx, save);
		appendStringInfo(&sql, "%s%s", i == 0 ? " (" : ", ", quote_identifier(col->name));
		appendStringInfo(&vlist, "%s%s", i == 0 ? "" : ", ", QsWriteReadParam(col, psprintf("$%d", i + 1)));
		i++;
	}
	if (n == 0)
		appendStringInfoString(&sql, " DEFAULT VALUES");
	else
		appendStringInfo(&sql, ") VALUES (%s)", vlist.data);
	if (skip_conflicts)
		appendStringInfoString(&sql, " ON CONFLICT DO NOTHING");
	if (QsOnCitus(ctx))
	{
		/*
		 * Citus refuses non-immutable functions (jsonb_build_object) in
		 * RETURNING: the row is built over a CTE of the inserted row.
		 */
		char	   *ins = sql.data;

		initStringInfo(&sql);
		appendStringInfo(&sql, "WITH ins AS (%s RETURNING t0.*) SELECT %s FROM ins t0", ins,
						 QsRowJsonb(QsAllColumns(m), "t0"));
	}
	else
		appendStringInfo(&sql, " RETURNING %s", QsRowJsonb(QsAllColumns(m), "t0"));

	QsGuardAffected(cc->written + 1, cc->fn);
	if (QsRunWriteSql(m, sql.data, n, types, values, nulls) == 0)
		return NULL;
	cc->written++;
	return QsResultTree(0, 1);
}

/* Create the nested children of a created row, each with the row's key in its foreign key. */
static void
CreateChildren(QsCompileState *ctx, QsModel *m, JsonbValue *row, CreateKeys *ck,
			   List *allowed, bool has_allowed, CreateCall *cc)
{
	ListCell   *lr;
	ListCell   *lv;
	ListCell   *lk;
	int			save = ctx->path.len;

	forthree(lr, ck->child_rels, lv, ck->child_vals, lk, ck->child_keys)
	{
		QsRelation *rel = (QsRelation *) lfirst(lr);
		JsonbValue *v = (JsonbValue *) lfirst(lv);
		QsModel    *cm = QsModelGet(rel->target);
		List	   *fcols = NIL;
		List	   *fvals = NIL;
		List	   *made = NIL;
		List	   *callowed = has_allowed ? AllowedUnder(allowed, (char *) lfirst(lk)) : NIL;
		int			k;

		for (k = 0; k < rel->nkeys; k++)
		{
			JsonbValue *pv = QsTreeGet(row, get_attname(m->relid, rel->keys[k], false));

			fcols = lappend(fcols, QsModelColumn(cm, get_attname(cm->relid, rel->tkeys[k], false)));
			fvals = lappend(fvals, pv);
		}
		QsPathPush(ctx, ".%s", (char *) lfirst(lk));
		if (rel->unique && v->type == jbvObject)
		{
			JsonbValue *child = CreateRow(ctx, cm, v, fcols, fvals, callowed, has_allowed, false, cc);

			QsTreeSet(row, (char *) lfirst(lk), child);
		}
		else
		{
			if (v->type != jbvArray)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid value at %s: expected an array of child rows, got %s",
								QsPathString(ctx), QsJsonTypeName(v))));
			for (k = 0; k < v->val.array.nElems; k++)
			{
				int			s2 = ctx->path.len;

				QsPathPush(ctx, "[%d]", k);
				made = lappend(made, CreateRow(ctx, cm, &v->val.array.elems[k], fcols, fvals,
											   callowed, has_allowed, false, cc));
				QsPathPop(ctx, s2);
			}
			QsTreeSet(row, (char *) lfirst(lk), QsTreeArray(made));
		}
		QsPathPop(ctx, save);
	}
}

/*
 * Insert one row of m from obj (plus fixed columns, the FK of a nested
 * child), then its children under reverse relation names.  Returns the
 * stored row as a tree, or NULL when ON CONFLICT DO NOTHING skipped it.
 */
static JsonbValue *
CreateRow(QsCompileState *ctx, QsModel *m, JsonbValue *obj, List *fixed_cols, List *fixed_vals,
		  List *allowed, bool has_allowed, bool skip_conflicts, CreateCall *cc)
{
	CreateKeys	ck;
	JsonbValue *row;

	check_stack_depth();
	CHECK_FOR_INTERRUPTS();
	if (obj->type != jbvObject)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid row at %s: expected an object, got %s", QsPathString(ctx), QsJsonTypeName(obj))));
	CreateRowKeys(ctx, m, obj, fixed_cols, allowed, has_allowed, &ck);
	row = InsertRow(ctx, m, list_concat(ck.cols, fixed_cols), list_concat(ck.vals, fixed_vals),
					skip_conflicts, cc);
	if (row == NULL)
		return NULL;
	CreateChildren(ctx, m, row, &ck, allowed, has_allowed, cc);
	return row;
}

PG_FUNCTION_INFO_V1(qs_create);

/*
 * qs.create(model, values jsonb [, fields text[]]) -> jsonb: insert one
 * row (column defaults apply to omitted columns) and return it as stored.
 * To-many children may be given under their relation name; they are
 * inserted with the new row's key, in the same atomic call.
 */
Datum
qs_create(PG_FUNCTION_ARGS)
{
	MemoryContext outer_cxt = CurrentMemoryContext;
	QsModel    *m = QsModelGet(PG_GETARG_OID(0));
	JsonbValue *obj = QsWriteTreeArg(fcinfo, 1, "values", false);
	bool		has_allowed = (PG_NARGS() > 2 && !PG_ARGISNULL(2));
	List	   *allowed = has_allowed ? QsTextArrayArg(fcinfo, 2) : NIL;
	QsCompileState  *ctx = QsWriteContext(m);
	JsonbValue *row;
	CreateCall	cc = {"qs.create()", 0};

	SPI_connect();
	/* results outlive SPI_finish(): build them in the caller's context */
	MemoryContextSwitchTo(outer_cxt);
	row = CreateRow(ctx, m, obj, NIL, NIL, allowed, has_allowed, false, &cc);
	SPI_finish();
	PG_RETURN_JSONB_P(QsTreeToJsonb(row));
}

/* ---------------------------------------------------------------------
 * get_or_create, update_or_create
 * ---------------------------------------------------------------------
 */

/* The rows matching lookups (at most 2, optionally locked), as trees. */
static List *
FindRows(QsModel *m, JsonbValue *lookups, bool lock)
{
	JsonbValue *tree = QsTreeObject();
	QsCompiledQuery *c;
	List	   *res = NIL;
	uint64		n;
	uint64		r;

	QsTreeSet(tree, "model", QsTreeString(m->display));
	if (lookups->val.object.nPairs > 0)
		QsTreeSet(tree, "where", lookups);
	QsTreeSet(tree, "limit", QsTreeNumeric(QS_MAX_GET_RESULTS));
	if (lock)
		QsTreeSet(tree, "select_for_update", QsTreeBool(true));
	c = QsPrepareSpec(tree, QS_TARGET_ROWS, lock ? "find_lock" : "find");
	n = QsRunWrite(c, true);
	for (r = 0; r < n; r++)
		res = lappend(res, QsResultTree(r, 1));
	if (n > 1)
		ereport(ERROR,
				(errcode(ERRCODE_TOO_MANY_ROWS),
				 errmsg("get() returned more than one %s -- it returned %s!", m->display,
						n >= QS_MAX_GET_RESULTS ? "more than 20" : psprintf(UINT64_FORMAT, n)),
				 errhint("The lookups must identify one row, e.g. by a unique field.")));
	return res;
}

/* The create values: the exact lookups (no "__"), then the defaults over them. */
static JsonbValue *
CreateValues(JsonbValue *lookups, JsonbValue *defaults)
{
	JsonbValue *obj = QsTreeObject();
	int			i;

	for (i = 0; i < lookups->val.object.nPairs; i++)
	{
		char	   *k = QsTreeKey(&lookups->val.object.pairs[i].key);
		size_t		len = strlen(k);

		if (k[0] == '$')
			continue;
		if (len > 7 && strcmp(k + len - 7, "__exact") == 0)
			k = pnstrdup(k, len - 7);
		else if (strstr(k, "__") != NULL)
			continue;
		QsTreeSet(obj, k, &lookups->val.object.pairs[i].value);
	}
	if (defaults)
		for (i = 0; i < defaults->val.object.nPairs; i++)
			QsTreeSet(obj, QsTreeKey(&defaults->val.object.pairs[i].key), &defaults->val.object.pairs[i].value);
	return obj;
}

/* An optional jsonb object argument (NULL: none). */
static JsonbValue *
OptionalObject(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return NULL;
	return QsWriteTreeArg(fcinfo, argno, what, false);
}

PG_FUNCTION_INFO_V1(qs_get_or_create);

/*
 * qs.get_or_create(model, lookups, defaults) -> (object, created): the
 * row the lookups identify, or a new one made of the exact lookups and
 * the defaults.  Race-safe: the insert is ON CONFLICT DO NOTHING, and a
 * row another session inserted meanwhile is found again.
 */
Datum
qs_get_or_create(PG_FUNCTION_ARGS)
{
	MemoryContext outer_cxt = CurrentMemoryContext;
	QsModel    *m = QsModelGet(PG_GETARG_OID(0));
	JsonbValue *lookups = QsWriteTreeArg(fcinfo, 1, "lookups", false);
	JsonbValue *defaults = OptionalObject(fcinfo, 2, "defaults");
	QsCompileState  *ctx = QsWriteContext(m);
	List	   *found;
	JsonbValue *row;
	CreateCall	cc = {"qs.get_or_create()", 0};

	SPI_connect();
	/* results outlive SPI_finish(): build them in the caller's context */
	MemoryContextSwitchTo(outer_cxt);
	found = FindRows(m, lookups, false);
	if (found != NIL)
	{
		SPI_finish();
		return ObjectCreated(fcinfo, linitial(found), false);
	}
	row = CreateRow(ctx, m, CreateValues(lookups, defaults), NIL, NIL, NIL, false, true, &cc);
	if (row == NULL)
	{
		found = FindRows(m, lookups, false);
		if (found == NIL)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("get_or_create(): the new %s conflicts with an existing row on a unique constraint, "
							"and no row matches the lookups", m->display),
					 errhint("Include the unique field in the lookups.")));
		SPI_finish();
		return ObjectCreated(fcinfo, linitial(found), false);
	}
	SPI_finish();
	return ObjectCreated(fcinfo, row, true);
}

PG_FUNCTION_INFO_V1(qs_update_or_create);

/*
 * qs.update_or_create(model, lookups, defaults [, create_defaults]) ->
 * (object, created): lock the row the lookups identify (SELECT ... FOR
 * UPDATE) and set the defaults on it, or create it from the exact
 * lookups and create_defaults (or defaults).  Race-safe as get_or_create.
 */
Datum
qs_update_or_create(PG_FUNCTION_ARGS)
{
	MemoryContext outer_cxt = CurrentMemoryContext;
	QsModel    *m = QsModelGet(PG_GETARG_OID(0));
	JsonbValue *lookups = QsWriteTreeArg(fcinfo, 1, "lookups", false);
	JsonbValue *defaults = OptionalObject(fcinfo, 2, "defaults");
	JsonbValue *create_defaults = OptionalObject(fcinfo, 3, "create_defaults");
	QsCompileState  *ctx = QsWriteContext(m);
	int			attempt;
	CreateCall	cc = {"qs.update_or_create()", 0};

	if (m->npk == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("update_or_create() needs a primary key, and \"%s\" has none", m->display)));
	SPI_connect();
	/* results outlive SPI_finish(): build them in the caller's context */
	MemoryContextSwitchTo(outer_cxt);
	for (attempt = 0; attempt < 2; attempt++)
	{
		List	   *found = FindRows(m, lookups, true);
		JsonbValue *row;

		if (found != NIL)
		{
			JsonbValue *cur = linitial(found);
			JsonbValue *where = QsTreeObject();
			JsonbValue *tree = QsTreeObject();
			QsCompiledQuery *c;
			int			i;

			if (defaults == NULL || defaults->val.object.nPairs == 0)
			{
				SPI_finish();
				return ObjectCreated(fcinfo, cur, false);
			}
			for (i = 0; i < m->npk; i++)
			{
				const char *pk = m->columns[m->pk[i]].name;

				QsTreeSet(where, pk, QsTreeGet(cur, pk));
			}
			QsTreeSet(tree, "model", QsTreeString(m->display));
			QsTreeSet(tree, "where", where);
			QsTreeSet(tree, "$update", defaults);
			c = QsPrepareSpec(tree, QS_TARGET_UPDATE, "update");
			cc.written = QsRunWrite(c, false);
			QsGuardAffected(cc.written, cc.fn);
			found = FindRows(m, where, false);
			SPI_finish();
			return ObjectCreated(fcinfo, linitial(found), false);
		}
		row = CreateRow(ctx, m, CreateValues(lookups, create_defaults ? create_defaults : defaults),
						NIL, NIL, NIL, false, true, &cc);
		if (row != NULL)
		{
			SPI_finish();
			return ObjectCreated(fcinfo, row, true);
		}
		/* another session created it meanwhile: lock and update that one */
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNIQUE_VIOLATION),
			 errmsg("update_or_create(): the new %s conflicts with an existing row on a unique constraint, "
					"and no row matches the lookups", m->display),
			 errhint("Include the unique field in the lookups.")));
	PG_RETURN_NULL();
}
