/*
 * aggregate.c
 *	  Aggregates (Count, Sum, Avg, Min, Max, StdDev, Variance, ArrayAgg,
 *	  StringAgg, JSONBAgg, BoolAnd, BoolOr) and window expressions.
 *
 * Owns where an aggregate is computed: at the statement's level (GROUP BY
 * of values(), or qs.aggregate()), per row over a to-many relation (a
 * correlated subquery, combined per group when the statement groups),
 * or per row alone; and the OVER clause of windows.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "access/transam.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "parser/parse_coerce.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "aggregate.h"
#include "expr.h"
#include "exprfn.h"
#include "model.h"
#include "path.h"
#include "qtree.h"
#include "relation.h"
#include "spec.h"
#include "state.h"

/* The result type of an aggregate over argtype (PostgreSQL's rules). */
static Oid
AggType(QsCompileState *ctx, const QsFn *fn, Oid argtype)
{
	const char *f = fn->sql;

	if (strcmp(f, "count") == 0)
		return INT8OID;
	if (strcmp(f, "sum") == 0)
	{
		if (argtype == INT2OID || argtype == INT4OID)
			return INT8OID;
		if (argtype == INT8OID || argtype == NUMERICOID)
			return NUMERICOID;
		if (argtype == FLOAT4OID || argtype == FLOAT8OID || argtype == INTERVALOID ||
			argtype == CASHOID)
			return argtype;
	}
	else if (strcmp(f, "avg") == 0 || strcmp(f, "stddev") == 0 || strcmp(f, "variance") == 0)
	{
		if (QsIsIntType(argtype) || argtype == NUMERICOID)
			return NUMERICOID;
		if (argtype == FLOAT4OID || argtype == FLOAT8OID)
			return FLOAT8OID;
		if (argtype == INTERVALOID && f[0] == 'a')
			return INTERVALOID;
	}
	else if (strcmp(f, "min") == 0 || strcmp(f, "max") == 0)
		return argtype;
	else if (strcmp(f, "array_agg") == 0)
	{
		Oid			arr = OidIsValid(get_element_type(argtype)) ? argtype : get_array_type(argtype);

		if (OidIsValid(arr))
			return arr;
	}
	else if (strcmp(f, "string_agg") == 0)
		return TEXTOID;
	else if (strcmp(f, "jsonb_agg") == 0)
		return JSONBOID;
	else if (argtype == BOOLOID)
		return BOOLOID;			/* bool_and, bool_or */
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_FUNCTION),
			 errmsg("%s cannot aggregate values of type %s", fn->name, format_type_be(argtype)),
			 errdetail("At %s.", QsPathString(ctx)),
			 errhint("Sum and Avg take numbers or intervals, BoolAnd and BoolOr booleans; "
					 "use Cast to convert.")));
	return InvalidOid;
}

/* The SQL function name of an aggregate. */
static const char *
AggFunction(const QsFn *fn, bool sample)
{
	if (strcmp(fn->sql, "stddev") == 0)
		return sample ? "stddev_samp" : "stddev_pop";
	if (strcmp(fn->sql, "variance") == 0)
		return sample ? "var_samp" : "var_pop";
	return fn->sql;
}

/* The field paths an aggregate's argument reads (not inside subqueries). */
static void
CollectPaths(JsonbValue *v, List **paths)
{
	const QsFn *fn;
	JsonbValue *arg;
	int			i;

	check_stack_depth();
	if (v->type == jbvString)
	{
		*paths = lappend(*paths, QsTreeKey(v));
		return;
	}
	if (v->type == jbvArray)
	{
		for (i = 0; i < v->val.array.nElems; i++)
			CollectPaths(&v->val.array.elems[i], paths);
		return;
	}
	if (v->type != jbvObject || (fn = QsObjectFn(v, &arg)) == NULL)
		return;
	if (fn->kind == FN_VALUE || fn->kind == FN_OUTERREF || fn->kind == FN_EXISTS ||
		fn->kind == FN_SUBQUERY)
		return;
	for (i = 0; i < v->val.object.nPairs; i++)
	{
		char	   *k = QsTreeKey(&v->val.object.pairs[i].key);

		if (strcmp(k, "When") == 0 || strcmp(k, "filter") == 0 || strcmp(k, "output_field") == 0 ||
			strcmp(k, "kind") == 0 || strcmp(k, "lookup_name") == 0 || strcmp(k, "delimiter") == 0 ||
			strcmp(k, "tzinfo") == 0)
			continue;
		CollectPaths(&v->val.object.pairs[i].value, paths);
	}
}

/*
 * The to-many path an aggregate's argument follows ("items" for
 * Sum("items__quantity")), or NULL.  One aggregate follows one path.
 */
static char *
AggPrefix(QsCompileState *ctx, JsonbValue *arg, QsRelation **rel_out)
{
	List	   *paths = NIL;
	ListCell   *lc;
	char	   *prefix = NULL;

	CollectPaths(arg, &paths);
	foreach(lc, paths)
	{
		char	   *path = (char *) lfirst(lc);
		QsRelation *rel = NULL;
		const char *rest;
		int			n;
		char	   *p;

		if (strcmp(path, "*") == 0)
			continue;
		if (ctx->scope == ctx->top && QsPathAnnotation(ctx, path) != NULL)
			continue;			/* an annotation is a per-row value */
		n = QsToManyPrefix(ctx, ctx->scope->model, path, &rel);
		if (n == 0)
			continue;
		p = QsPathHead(ctx, path, n, &rest);
		if (prefix != NULL && strcmp(prefix, p) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("an aggregate can follow one to-many path, not '%s' and '%s'", prefix, p),
					 errdetail("At %s.", QsPathString(ctx)),
					 errhint("Aggregate each relation in its own annotation and combine the annotations.")));
		prefix = p;
		*rel_out = rel;
	}
	return prefix;
}

/*
 * fn(DISTINCT arg, extra ORDER BY ...) FILTER (WHERE ...) over argument
 * SQL already compiled.
 */
static char *
AggCall(const QsFn *fn, bool sample, bool star, bool distinct, const char *arg,
		const char *extra, const char *order, const char *filter)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "pg_catalog.%s(", AggFunction(fn, sample));
	if (star)
		appendStringInfoChar(&buf, '*');
	else
	{
		if (distinct)
			appendStringInfoString(&buf, "DISTINCT ");
		appendStringInfoString(&buf, arg);
		if (extra)
			appendStringInfo(&buf, ", %s", extra);
		if (order && order[0])
			appendStringInfo(&buf, " ORDER BY %s", order);
	}
	appendStringInfoChar(&buf, ')');
	if (filter && strcmp(filter, "true") != 0)
		appendStringInfo(&buf, " FILTER (WHERE %s)", filter);
	return buf.data;
}

/*
 * The SQL of a list of fields ("-field" descending when ordering) or
 * expressions: aggregate ordering, window partition_by / order_by.
 */
static char *
ExprList(QsCompileState *ctx, JsonbValue *list, const char *key, bool ordering)
{
	StringInfoData buf;
	int			i;
	int			save = ctx->path.len;

	initStringInfo(&buf);
	for (i = 0; i < list->val.array.nElems; i++)
	{
		JsonbValue *o = &list->val.array.elems[i];
		bool		desc = false;
		QsExpr	   *e;

		QsPathPush(ctx, ".%s[%d]", key, i);
		if (ordering && o->type == jbvString && o->val.string.len > 1 && o->val.string.val[0] == '-')
		{
			desc = true;
			e = QsResolvePath(ctx, pnstrdup(o->val.string.val + 1, o->val.string.len - 1), false);
		}
		else
			e = QsCompileExpr(ctx, o, InvalidOid);
		QsPathPop(ctx, save);
		appendStringInfo(&buf, "%s%s%s", i > 0 ? ", " : "", e->sql, desc ? " DESC" : "");
	}
	return buf.data;
}

/* ordering of ArrayAgg / StringAgg / JSONBAgg: ["-field", ...] */
static char *
AggOrdering(QsCompileState *ctx, JsonbValue *ordering)
{
	if (ordering == NULL)
		return pstrdup("");
	if (ordering->type == jbvString)
		ordering = QsTreeArray(list_make1(ordering));
	if (ordering->type != jbvArray)
		QsExprError(ctx, "ordering must be a list of fields, e.g. [\"-created_at\"]", NULL);
	return ExprList(ctx, ordering, "ordering", true);
}

/*
 * An aggregate at the statement's level through a to-many path: the
 * per-row partial aggregates (call, over the related rows of each row)
 * combined by the outer aggregate, so other aggregates of the statement
 * see each row once (Count is a sum of counts, Avg a sum over a sum of
 * counts, ...).
 */
static QsExpr *
CombinePerGroup(QsCompileState *ctx, const QsFn *fn, const char *call, QsExpr *a, const char *filter_sql,
				const char *from_sql, const char *joins, const char *corr, Oid rtype,
				bool distinct, const char *prefix)
{
	char	   *part = psprintf("(SELECT %s FROM %s%s WHERE %s)", call, from_sql, joins, corr);
	const char *f = fn->sql;
	QsExpr	   *res;

	if (distinct || !(strcmp(f, "count") == 0 || strcmp(f, "sum") == 0 ||
					  strcmp(f, "min") == 0 || strcmp(f, "max") == 0 ||
					  strcmp(f, "avg") == 0 || strcmp(f, "bool_and") == 0 ||
					  strcmp(f, "bool_or") == 0) ||
		(strcmp(f, "avg") == 0 && rtype == INTERVALOID))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s%s through the to-many relation '%s' cannot be computed per group",
						fn->name, distinct ? " with distinct" : "", prefix),
				 errdetail("At %s. Count, Sum, Avg, Min, Max, BoolAnd and BoolOr can; "
						   "the others would need the related rows of a whole group.",
						   QsPathString(ctx)),
				 errhint("Annotate it per row (without values), or aggregate the related model "
						 "directly with a filter on this one.")));
	if (strcmp(f, "count") == 0)
		res = QsMakeExpr(psprintf("coalesce(pg_catalog.sum(%s), 0)::pg_catalog.int8", part), rtype);
	else if (strcmp(f, "sum") == 0)
		res = QsMakeExpr(psprintf("(pg_catalog.sum(%s))::%s", part, QsTypeSql(rtype, -1)), rtype);
	else if (strcmp(f, "avg") == 0)
	{
		char	   *cnt;

		part = psprintf("(SELECT %s FROM %s%s WHERE %s)",
						AggCall(QsFindFn("Sum", 3), false, false, false, a->sql, NULL, NULL,
								filter_sql), from_sql, joins, corr);
		cnt = psprintf("(SELECT %s FROM %s%s WHERE %s)",
					   AggCall(QsFindFn("Count", 5), false, false, false, a->sql, NULL, NULL,
							   filter_sql), from_sql, joins, corr);
		res = QsMakeExpr(psprintf("((pg_catalog.sum(%s))::%s OPERATOR(pg_catalog./) "
								"(NULLIF(pg_catalog.sum(%s), 0))::%s)",
								part, QsTypeSql(rtype, -1), cnt, QsTypeSql(rtype, -1)), rtype);
	}
	else
		res = QsMakeExpr(psprintf("pg_catalog.%s(%s)", f, part), rtype);
	return res;
}

/* default: the aggregate's value when it has no rows (Count is never NULL). */
static void
ApplyDefault(QsCompileState *ctx, const QsFn *fn, QsExpr *res, JsonbValue *dflt, Oid rtype)
{
	int			save = ctx->path.len;

	if (dflt != NULL && dflt->type != jbvNull)
	{
		QsExpr	   *d;

		QsPathPush(ctx, ".default");
		d = QsIsLiteralNode(dflt) ? QsLiteralValue(ctx, dflt->type == jbvObject ? QsTreeGet(dflt, "Value") : dflt,
										  InvalidOid, rtype, -1)
			: QsCompileExpr(ctx, dflt, rtype);
		QsPathPop(ctx, save);
		res->sql = psprintf("coalesce(%s, %s)", res->sql, d->sql);
		res->nullable = d->nullable;
	}
	else if (strcmp(fn->sql, "count") == 0)
		res->nullable = false;
}

/* An aggregate: at the statement's level, per row over a to-many path, or per row alone. */
QsExpr *
QsCompileAggregate(QsCompileState *ctx, const QsFn *fn, JsonbValue *obj, JsonbValue *arg, bool in_window)
{
	JsonbValue *dv = QsTreeGet(obj, "distinct");
	JsonbValue *sv = QsTreeGet(obj, "sample");
	JsonbValue *filter = QsTreeGet(obj, "filter");
	JsonbValue *dflt = QsTreeGet(obj, "default");
	JsonbValue *delim = QsTreeGet(obj, "delimiter");
	bool		distinct = false;
	bool		sample = false;
	bool		star = (strcmp(fn->sql, "count") == 0 && arg->type == jbvString &&
						arg->val.string.len == 1 && arg->val.string.val[0] == '*');
	QsRelation *rel = NULL;
	char	   *prefix = NULL;
	QsExpr	   *a = NULL;
	QsExpr	   *res;
	char	   *filter_sql = NULL;
	char	   *order_sql;
	char	   *extra = NULL;
	Oid			rtype;
	int			save = ctx->path.len;
	QsScope    *outer = ctx->scope;
	QsScope    *inner = NULL;
	char	   *from_sql = NULL;
	char	   *corr = NULL;
	char	   *call;

	if (dv && dv->type != jbvBool)
		QsExprError(ctx, "distinct must be true or false", NULL);
	if (sv && sv->type != jbvBool)
		QsExprError(ctx, "sample must be true or false", NULL);
	distinct = dv && dv->val.boolean;
	sample = sv && sv->val.boolean;
	if (strcmp(fn->sql, "string_agg") == 0 && delim == NULL)
		QsExprError(ctx, "StringAgg needs a delimiter", "Write {\"StringAgg\": \"name\", \"delimiter\": \", \"}.");
	if (arg->type == jbvArray || (arg->type == jbvObject && !QsIsExprObject(arg)))
		QsExprError(ctx, psprintf("%s takes one expression", fn->name),
				  "Write {\"Sum\": \"total\"} or {\"Sum\": {\"*\": [\"quantity\", \"unit_price\"]}}.");

	if (!star)
		prefix = AggPrefix(ctx, arg, &rel);
	if (prefix != NULL && in_window)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a window aggregate cannot follow the to-many relation '%s'", prefix),
				 errdetail("At %s.", QsPathString(ctx)),
				 errhint("Annotate the per-row aggregate first, then window over the annotation.")));
	if (prefix != NULL && rel->kind == QS_REL_M2M && strcmp(fn->sql, "count") == 0 &&
		filter == NULL && arg->type == jbvString && strcmp(QsTreeKey(arg), prefix) == 0 &&
		strcmp(prefix, rel->name) == 0)
	{
		/*
		 * Count("tags"): the junction rows of this row, without joining the
		 * target (Django counts the junction's key the same way).
		 */
		char	   *jalias = psprintf("t%d", ctx->next_alias++);
		const char *jcol = get_attname(rel->junction, rel->jkeys2[0], false);

		ctx->relids = list_append_unique_oid(ctx->relids, rel->junction);
		from_sql = psprintf("%s %s", QsModelGet(rel->junction)->qualname, jalias);
		corr = QsKeyEquality(rel->junction, jalias, rel->tkeys, outer->model->relid, outer->alias,
							 rel->keys, rel->nkeys);
		inner = palloc0(sizeof(QsScope));
		a = QsMakeExpr(psprintf("%s.%s", jalias, quote_identifier(jcol)),
					 getBaseType(get_atttype(rel->junction, rel->jkeys2[0])));
	}
	else if (prefix != NULL)
	{
		/* the related rows of this row, in their own scope */
		inner = QsOpenToMany(ctx, prefix, rel, &from_sql, &corr);
		inner->prefix = prefix;
		inner->parent = outer;
		inner->allow_many = true;
		ctx->scope = inner;
	}

	QsPathPush(ctx, ".%s", fn->name);
	if (!star && a == NULL)
	{
		a = QsCompileExpr(ctx, arg, InvalidOid);
		if (a->is_agg)
			ereport(ERROR,
					(errcode(ERRCODE_GROUPING_ERROR),
					 errmsg("aggregate function calls cannot be nested"),
					 errdetail("At %s.", QsPathString(ctx)),
					 errhint("Annotate the inner aggregate per row, then aggregate the annotation.")));
	}
	QsPathPop(ctx, save);
	if (filter)
	{
		int			save_neg = ctx->negated;

		QsPathPush(ctx, ".filter");
		ctx->negated = 0;
		filter_sql = QsCompileQ(ctx, filter);
		ctx->negated = save_neg;
		QsPathPop(ctx, save);
	}
	order_sql = AggOrdering(ctx, QsTreeGet(obj, "ordering"));
	rtype = star ? INT8OID : AggType(ctx, fn, a->type);
	if (delim)
	{
		QsPathPush(ctx, ".delimiter");
		extra = QsLiteralValue(ctx, delim, InvalidOid, TEXTOID, -1)->sql;
		QsPathPop(ctx, save);
	}
	if (strcmp(fn->sql, "string_agg") == 0)
		a->sql = psprintf("(%s)::pg_catalog.text", a->sql);
	ctx->scope = outer;

	if (prefix == NULL)
	{
		call = AggCall(fn, sample, star, distinct, a ? a->sql : NULL, extra, order_sql, filter_sql);
		if (in_window || ctx->agg_outer)
		{
			res = QsMakeExpr(call, rtype);
			res->is_agg = !in_window;
		}
		else
		{
			/* per row, without a to-many path: the aggregate of this row alone */
			/* count(s.v), not count(*): the aggregate must belong to the subquery */
			call = AggCall(fn, sample, false, distinct, "s.v", extra, NULL, filter_sql);
			res = QsMakeExpr(psprintf("(SELECT %s FROM (VALUES (%s)) s(v))", call, a ? a->sql : "1"), rtype);
		}
	}
	else
	{
		char	   *joins = QsScopeJoins(inner);

		call = AggCall(fn, sample, star, distinct, a ? a->sql : NULL, extra, order_sql, filter_sql);
		if (!ctx->agg_outer)
			res = QsMakeExpr(psprintf("(SELECT %s FROM %s%s WHERE %s)", call, from_sql, joins, corr), rtype);
		else
		{
			res = CombinePerGroup(ctx, fn, call, a, filter_sql, from_sql, joins, corr, rtype,
								 distinct, prefix);
			res->is_agg = true;
		}
	}
	ApplyDefault(ctx, fn, res, dflt, rtype);
	return res;
}

/* partition_by / order_by of a Window: fields ("-field" descending) or expressions */
static char *
WindowList(QsCompileState *ctx, JsonbValue *list, const char *key, bool ordering)
{
	if (list == NULL)
		return pstrdup("");
	if (list->type == jbvString || list->type == jbvObject)
		list = QsTreeArray(list_make1(list));
	if (list->type != jbvArray)
		QsExprError(ctx, psprintf("%s must be a list of fields or expressions", key), NULL);
	return ExprList(ctx, list, key, ordering);
}

/* A window expression: {"Window": <function or aggregate>, "partition_by", "order_by"}. */
QsExpr *
QsCompileWindow(QsCompileState *ctx, JsonbValue *obj, JsonbValue *arg)
{
	JsonbValue *farg = NULL;
	const QsFn *fn = QsObjectFn(arg, &farg);
	QsExpr	   *res;
	char	   *part;
	char	   *order;
	int			save = ctx->path.len;

	if (fn == NULL || !QsIsExprObject(arg) || (fn->kind != FN_WINFN && fn->kind != FN_AGG))
		QsExprError(ctx, "Window takes a window function or an aggregate",
				  "Write {\"Window\": {\"Rank\": []}, \"order_by\": [\"-total\"]}.");
	QsPathPush(ctx, ".Window");
	if (fn->kind == FN_AGG)
		res = QsCompileAggregate(ctx, fn, arg, farg, true);
	else
	{
		const char *f = fn->sql;
		List	   *args;
		QsExpr	   *x = NULL;

		if (strcmp(f, "row_number") == 0 || strcmp(f, "rank") == 0 || strcmp(f, "dense_rank") == 0 ||
			strcmp(f, "cume_dist") == 0 || strcmp(f, "percent_rank") == 0)
		{
			(void) QsArgList(ctx, fn, farg, 0, 0);
			res = QsMakeExpr(psprintf("pg_catalog.%s()", f),
						   (f[0] == 'c' || f[0] == 'p') ? FLOAT8OID : INT8OID);
			res->nullable = false;
		}
		else if (strcmp(f, "ntile") == 0)
		{
			args = QsArgList(ctx, fn, farg, 1, 1);
			x = QsIsLiteralNode(linitial(args)) && ((JsonbValue *) linitial(args))->type == jbvNumeric
				? QsLiteralValue(ctx, linitial(args), InvalidOid, INT4OID, -1)
				: QsCompileExpr(ctx, linitial(args), INT4OID);
			res = QsMakeExpr(psprintf("pg_catalog.ntile(%s)", x->sql), INT4OID);
		}
		else
		{
			JsonbValue *offv = QsTreeGet(arg, "offset");
			JsonbValue *defv = QsTreeGet(arg, "default");
			JsonbValue *nthv = QsTreeGet(arg, "nth");
			StringInfoData call;

			args = QsArgList(ctx, fn, farg, 1, 1);
			x = QsCompileExpr(ctx, linitial(args), InvalidOid);
			initStringInfo(&call);
			appendStringInfo(&call, "pg_catalog.%s(%s", f, x->sql);
			if (strcmp(f, "nth_value") == 0)
			{
				if (nthv == NULL || nthv->type != jbvNumeric)
					QsExprError(ctx, "NthValue needs \"nth\": a positive integer", NULL);
				appendStringInfo(&call, ", %s", QsLiteralValue(ctx, nthv, InvalidOid, INT4OID, -1)->sql);
			}
			if (offv || defv)
			{
				if (offv && offv->type != jbvNumeric)
					QsExprError(ctx, "offset must be an integer", NULL);
				appendStringInfo(&call, ", %s", offv ? QsLiteralValue(ctx, offv, InvalidOid, INT4OID, -1)->sql : "1");
			}
			if (defv)
			{
				QsExpr	   *d = QsIsLiteralNode(defv)
					? QsLiteralValue(ctx, defv->type == jbvObject ? QsTreeGet(defv, "Value") : defv,
							  InvalidOid, x->type, -1)
					: QsCompileExpr(ctx, defv, x->type);

				appendStringInfo(&call, ", %s", d->sql);
			}
			appendStringInfoChar(&call, ')');
			res = QsMakeExpr(call.data, x->type);
		}
		if (x)
			QsAbsorb(res, x);
	}
	QsPathPop(ctx, save);
	part = WindowList(ctx, QsTreeGet(obj, "partition_by"), "partition_by", false);
	order = WindowList(ctx, QsTreeGet(obj, "order_by"), "order_by", true);
	res->sql = psprintf("%s OVER (%s%s%s%s)", res->sql,
						part[0] ? "PARTITION BY " : "", part,
						part[0] && order[0] ? " " : "",
						order[0] ? psprintf("ORDER BY %s", order) : "");
	res->is_window = true;
	res->is_agg = false;
	return res;
}
