/*
 * builder.c
 *	  The lazy builders: qs.all, qs.filter, qs.exclude, qs.order_by,
 *	  qs.only, qs.defer, qs.values, qs.values_list, qs.distinct, qs.slice,
 *	  qs.annotate, qs.alias, qs.union, qs.intersection, qs.difference.
 *
 * A builder never reads a table: it edits the spec's JSON tree the way
 * the Django method changes a QuerySet, then validates the result
 * (unknown fields and bad values fail here, as Django's filter() does)
 * and returns the normalised spec.  Chained filter() calls are kept as
 * separate elements of a top-level "$and", so their to-many semantics
 * (one EXISTS per call) survive composition.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "builder.h"
#include "compile.h"
#include "manager.h"
#include "model.h"
#include "spec.h"
#include "state.h"

/* Validate a spec tree completely (compiling it) and return it as jsonb. */
Jsonb *
QsValidateTree(JsonbValue *tree)
{
	QsSpec	   *spec = QsSpecFromTree(tree);

	(void) QsCompileSpec(spec, QS_TARGET_ROWS, NULL, NULL, NULL);
	/* the model is stored as the catalog spells it (regclass text) */
	QsTreeSet(tree, "model", QsTreeString(spec->model->display));
	return QsTreeToJsonb(tree);
}

/* The queryset argument as a tree, checked to be an object. */
static JsonbValue *
TreeArg(FunctionCallInfo fcinfo, int argno)
{
	JsonbValue *tree;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("queryset must not be null")));
	tree = QsJsonbToTree(PG_GETARG_JSONB_P(argno));
	if (tree->type != jbvObject)
		(void) QsSpecFromTree(tree);	/* raises the spec error */
	return QsExpandTree(tree);	/* "manager" and "use" (manager.c) */
}

/* Django refuses to change filters or ordering after slicing. */
static void
RefuseSliced(JsonbValue *tree, const char *what)
{
	if (QsTreeGet(tree, "limit") || QsTreeGet(tree, "offset"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot %s once a slice has been taken", what),
				 errhint("Apply qs.slice() last, as in Django.")));
}

/* A text[] argument as a list of C strings (nulls refused). */
List *
QsTextArrayArg(FunctionCallInfo fcinfo, int argno)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	List	   *res = NIL;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return NIL;
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("field lists must be one-dimensional arrays")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("field names must not be null")));
		res = lappend(res, TextDatumGetCString(elems[i]));
	}
	return res;
}

/* A list of C strings as a JSON array tree of strings. */
JsonbValue *
QsStringArray(List *names)
{
	List	   *elems = NIL;
	ListCell   *lc;

	foreach(lc, names)
		elems = lappend(elems, QsTreeString((char *) lfirst(lc)));
	return QsTreeArray(elems);
}

PG_FUNCTION_INFO_V1(qs_all);

/* qs.all(model regclass) -> queryset: every row of the model. */
Datum
qs_all(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	QsModel    *model = QsModelGet(relid);
	JsonbValue *tree = QsTreeObject();

	QsTreeSet(tree, "model", QsTreeString(model->display));
	PG_RETURN_JSONB_P(QsTreeToJsonb(tree));
}

/* AND a Q object into "where"; chained calls stay separate elements. */
static Datum
AddWhere(FunctionCallInfo fcinfo, bool negate)
{
	JsonbValue *tree = TreeArg(fcinfo, 0);
	JsonbValue *q;
	JsonbValue *where;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("filter lookups must not be null")));
	q = QsJsonbToTree(PG_GETARG_JSONB_P(1));
	if (q->type != jbvObject)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid lookups: expected a Q object, got %s", QsJsonTypeName(q)),
				 errhint("Write {\"price__gte\": 10} or {\"$or\": [...]}.")));
	if (QsTreeGet(tree, "combinator") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("Calling QuerySet.%s() after %s() is not supported.", negate ? "exclude" : "filter",
						QsTreeText(QsTreeGet(tree, "combinator"))),
				 errhint("Filter each queryset before combining.")));
	if (q->val.object.nPairs == 0)
		PG_RETURN_JSONB_P(QsValidateTree(tree));	/* filter() with nothing */
	RefuseSliced(tree, "filter a query");
	if (negate)
	{
		JsonbValue *not = QsTreeObject();

		QsTreeSet(not, "$not", q);
		q = not;
	}
	where = QsTreeGet(tree, "where");
	if (where == NULL)
		QsTreeSet(tree, "where", q);
	else
	{
		JsonbValue *and = QsTreeObject();
		JsonbValue *prev = QsTreeGet(where, "$and");
		List	   *elems = NIL;
		int			i;

		/* where = {"$and": [call1, call2, ...]}: append this call */
		if (prev && where->val.object.nPairs == 1 && prev->type == jbvArray)
			for (i = 0; i < prev->val.array.nElems; i++)
				elems = lappend(elems, &prev->val.array.elems[i]);
		else
			elems = lappend(elems, where);
		elems = lappend(elems, q);
		QsTreeSet(and, "$and", QsTreeArray(elems));
		QsTreeSet(tree, "where", and);
	}
	PG_RETURN_JSONB_P(QsValidateTree(tree));
}

PG_FUNCTION_INFO_V1(qs_filter);

/* qs.filter(q, lookups) -> queryset. */
Datum
qs_filter(PG_FUNCTION_ARGS)
{
	return AddWhere(fcinfo, false);
}

PG_FUNCTION_INFO_V1(qs_exclude);

/* qs.exclude(q, lookups) -> queryset: AND NOT (lookups). */
Datum
qs_exclude(PG_FUNCTION_ARGS)
{
	return AddWhere(fcinfo, true);
}

PG_FUNCTION_INFO_V1(qs_order_by);

/*
 * qs.order_by(q, VARIADIC fields) -> queryset: replaces the ordering.
 * An element is "field", "-field", "?" or a JSON ordering object
 * ('{"F": "price", "desc": true, "nulls_last": true}').
 */
Datum
qs_order_by(PG_FUNCTION_ARGS)
{
	JsonbValue *tree = TreeArg(fcinfo, 0);
	List	   *names = QsTextArrayArg(fcinfo, 1);
	List	   *elems = NIL;
	ListCell   *lc;

	RefuseSliced(tree, "reorder a query");
	foreach(lc, names)
	{
		char	   *s = (char *) lfirst(lc);

		if (s[0] == '{')
			elems = lappend(elems,
							QsJsonbToTree(DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
																			 CStringGetDatum(s)))));
		else
			elems = lappend(elems, QsTreeString(s));
	}
	QsTreeSet(tree, "order_by", QsTreeArray(elems));
	PG_RETURN_JSONB_P(QsValidateTree(tree));
}

PG_FUNCTION_INFO_V1(qs_only);

/* qs.only(q, VARIADIC fields) -> queryset: load only these (and the pk). */
Datum
qs_only(PG_FUNCTION_ARGS)
{
	JsonbValue *tree = TreeArg(fcinfo, 0);
	List	   *names = QsTextArrayArg(fcinfo, 1);

	if (names == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("only() needs at least one field name")));
	QsTreeSet(tree, "only", QsStringArray(names));
	PG_RETURN_JSONB_P(QsValidateTree(tree));
}

/*
 * Append field paths to a list key of the tree (none: clear it); with
 * dedup, names already in the list are not added again.
 */
static Datum
AppendPaths(FunctionCallInfo fcinfo, const char *key, bool dedup)
{
	JsonbValue *tree = TreeArg(fcinfo, 0);
	List	   *names = QsTextArrayArg(fcinfo, 1);
	JsonbValue *prev = QsTreeGet(tree, key);
	List	   *all = NIL;
	ListCell   *lc;
	int			i;

	if (names == NIL)
	{
		QsTreeDelete(tree, key);
		PG_RETURN_JSONB_P(QsValidateTree(tree));
	}
	if (prev && prev->type == jbvArray)
		for (i = 0; i < prev->val.array.nElems; i++)
			if (prev->val.array.elems[i].type == jbvString)
				all = lappend(all, QsTreeKey(&prev->val.array.elems[i]));
	foreach(lc, names)
	{
		ListCell   *la;
		bool		dup = false;

		if (dedup)
			foreach(la, all)
				if (strcmp((char *) lfirst(la), (char *) lfirst(lc)) == 0)
					dup = true;
		if (!dup)
			all = lappend(all, lfirst(lc));
	}
	QsTreeSet(tree, key, QsStringArray(all));
	PG_RETURN_JSONB_P(QsValidateTree(tree));
}

PG_FUNCTION_INFO_V1(qs_defer);

/* qs.defer(q, VARIADIC fields) -> queryset: add deferred fields (none: clear). */
Datum
qs_defer(PG_FUNCTION_ARGS)
{
	return AppendPaths(fcinfo, "defer", false);
}

PG_FUNCTION_INFO_V1(qs_select_related);

/* qs.select_related(q, VARIADIC paths) -> queryset: embed forward relations (none: clear). */
Datum
qs_select_related(PG_FUNCTION_ARGS)
{
	return AppendPaths(fcinfo, "select_related", true);
}

PG_FUNCTION_INFO_V1(qs_prefetch_related);

/* qs.prefetch_related(q, VARIADIC paths) -> queryset: embed to-many relations (none: clear). */
Datum
qs_prefetch_related(PG_FUNCTION_ARGS)
{
	return AppendPaths(fcinfo, "prefetch_related", true);
}

PG_FUNCTION_INFO_V1(qs_values);

/* qs.values(q, VARIADIC fields) -> queryset of objects with these keys. */
Datum
qs_values(PG_FUNCTION_ARGS)
{
	JsonbValue *tree = TreeArg(fcinfo, 0);

	QsTreeDelete(tree, "values_list");
	QsTreeDelete(tree, "flat");
	QsTreeDelete(tree, "named");
	QsTreeSet(tree, "values", QsStringArray(QsTextArrayArg(fcinfo, 1)));
	PG_RETURN_JSONB_P(QsValidateTree(tree));
}

PG_FUNCTION_INFO_V1(qs_values_list);

/* qs.values_list(q, fields [, flat [, named]]) -> queryset of arrays/values. */
Datum
qs_values_list(PG_FUNCTION_ARGS)
{
	JsonbValue *tree = TreeArg(fcinfo, 0);
	bool		flat = PG_NARGS() > 2 && !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);
	bool		named = PG_NARGS() > 3 && !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);

	QsTreeDelete(tree, "values");
	QsTreeDelete(tree, "flat");
	QsTreeDelete(tree, "named");
	QsTreeSet(tree, "values_list", QsStringArray(QsTextArrayArg(fcinfo, 1)));
	if (flat)
		QsTreeSet(tree, "flat", QsTreeBool(true));
	if (named)
		QsTreeSet(tree, "named", QsTreeBool(true));
	PG_RETURN_JSONB_P(QsValidateTree(tree));
}

PG_FUNCTION_INFO_V1(qs_distinct);

/* qs.distinct(q [, VARIADIC fields]) -> queryset: DISTINCT or DISTINCT ON. */
Datum
qs_distinct(PG_FUNCTION_ARGS)
{
	JsonbValue *tree = TreeArg(fcinfo, 0);
	List	   *names = QsTextArrayArg(fcinfo, 1);

	RefuseSliced(tree, "create distinct fields");
	if (names == NIL)
		QsTreeSet(tree, "distinct", QsTreeBool(true));
	else
		QsTreeSet(tree, "distinct", QsStringArray(names));
	PG_RETURN_JSONB_P(QsValidateTree(tree));
}

PG_FUNCTION_INFO_V1(qs_slice);

/* qs.slice(q, start [, stop]) -> queryset: Django's qs[start:stop]. */
Datum
qs_slice(PG_FUNCTION_ARGS)
{
	JsonbValue *tree = TreeArg(fcinfo, 0);
	QsSpec	   *before = QsSpecFromTree(tree);	/* validates limit and offset */
	int64		start = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT64(1);
	bool		has_stop = PG_NARGS() > 2 && !PG_ARGISNULL(2);
	int64		stop = has_stop ? PG_GETARG_INT64(2) : 0;
	int64		offset = before->has_offset ? before->offset : -1;
	int64		limit = before->has_limit ? before->limit : -1;
	int64		new_offset;
	bool		new_has_limit;
	int64		new_limit;

	QsSliceCompose(offset >= 0, Max(offset, 0), limit >= 0, Max(limit, 0),
				   start, has_stop, stop, &new_offset, &new_has_limit, &new_limit);
	if (new_offset > 0)
		QsTreeSet(tree, "offset", QsTreeNumeric(new_offset));
	else
		QsTreeDelete(tree, "offset");
	if (new_has_limit)
		QsTreeSet(tree, "limit", QsTreeNumeric(new_limit));
	else
		QsTreeDelete(tree, "limit");
	PG_RETURN_JSONB_P(QsValidateTree(tree));
}

/*
 * Add named expressions under "annotate" or "alias".  Entries accumulate
 * in call order (an array of one-entry objects once there are several
 * calls); a name defined twice is an error, as in Django.
 */
static Datum
AddAnnotations(FunctionCallInfo fcinfo, const char *key)
{
	JsonbValue *tree = TreeArg(fcinfo, 0);
	JsonbValue *add;
	JsonbValue *prev;
	List	   *elems = NIL;
	int			i;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s expressions must not be null", key)));
	add = QsJsonbToTree(PG_GETARG_JSONB_P(1));
	if (add->type != jbvObject && add->type != jbvArray)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s: expected an object of named expressions, got %s",
						key, QsJsonTypeName(add)),
				 errhint("Write {\"n_items\": {\"Count\": \"items\"}}.")));
	prev = QsTreeGet(tree, key);
	if (prev == NULL)
	{
		QsTreeSet(tree, key, add);
		PG_RETURN_JSONB_P(QsValidateTree(tree));
	}
	/* both as lists of one-entry objects, previous entries first */
	for (int which = 0; which < 2; which++)
	{
		JsonbValue *v = which == 0 ? prev : add;

		if (v->type == jbvObject)
			for (i = 0; i < v->val.object.nPairs; i++)
			{
				JsonbValue *one = QsTreeObject();

				QsTreeSet(one, QsTreeKey(&v->val.object.pairs[i].key), &v->val.object.pairs[i].value);
				elems = lappend(elems, one);
			}
		else if (v->type == jbvArray)
			for (i = 0; i < v->val.array.nElems; i++)
				elems = lappend(elems, &v->val.array.elems[i]);
	}
	QsTreeSet(tree, key, QsTreeArray(elems));
	PG_RETURN_JSONB_P(QsValidateTree(tree));
}

PG_FUNCTION_INFO_V1(qs_annotate);

/* qs.annotate(q, expressions) -> queryset: named per-row (or per-group) values. */
Datum
qs_annotate(PG_FUNCTION_ARGS)
{
	return AddAnnotations(fcinfo, "annotate");
}

PG_FUNCTION_INFO_V1(qs_alias);

/* qs.alias(q, expressions) -> queryset: like annotate, not in the output. */
Datum
qs_alias(PG_FUNCTION_ARGS)
{
	return AddAnnotations(fcinfo, "alias");
}

/*
 * union / intersection / difference: {"model": <q's>, "combinator": op,
 * "all": all, "combined": [q, others...]}.  A combined queryset may be
 * an operand again (qs1.union(qs2).difference(qs3)).  With no others the
 * queryset is returned as it is, as Django does.
 */
static Datum
Combine(FunctionCallInfo fcinfo, const char *op, bool all)
{
	JsonbValue *tree = TreeArg(fcinfo, 0);
	List	   *operands = list_make1(tree);
	JsonbValue *res;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s() needs querysets, got null", op)));
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), JSONBOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	if (n == 0)
		PG_RETURN_JSONB_P(QsValidateTree(tree));
	for (i = 0; i < n; i++)
	{
		JsonbValue *other;

		CHECK_FOR_INTERRUPTS();
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("queryset %d of %s() is null", i + 2, op)));
		other = QsJsonbToTree(DatumGetJsonbP(elems[i]));
		if (other->type != jbvObject)
			(void) QsSpecFromTree(other);	/* raises the spec error */
		operands = lappend(operands, QsExpandTree(other));
	}
	res = QsTreeObject();
	QsTreeSet(res, "model", QsTreeGet(tree, "model"));
	QsTreeSet(res, "combinator", QsTreeString(op));
	if (all)
		QsTreeSet(res, "all", QsTreeBool(true));
	QsTreeSet(res, "combined", QsTreeArray(operands));
	PG_RETURN_JSONB_P(QsValidateTree(res));
}

PG_FUNCTION_INFO_V1(qs_union);

/* qs.union(q, VARIADIC others) / qs.union(q, others, all) -> queryset. */
Datum
qs_union(PG_FUNCTION_ARGS)
{
	bool		all = PG_NARGS() > 2 && !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);

	return Combine(fcinfo, "union", all);
}

PG_FUNCTION_INFO_V1(qs_intersection);

/* qs.intersection(q, VARIADIC others) -> queryset: rows in every one. */
Datum
qs_intersection(PG_FUNCTION_ARGS)
{
	return Combine(fcinfo, "intersection", false);
}

PG_FUNCTION_INFO_V1(qs_difference);

/* qs.difference(q, VARIADIC others) -> queryset: rows of q in none of the others. */
Datum
qs_difference(PG_FUNCTION_ARGS)
{
	return Combine(fcinfo, "difference", false);
}
