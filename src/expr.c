/*
 * expr.c
 *	  Expressions: F, Value, OuterRef, arithmetic, Django's functions,
 *	  Case/When, aggregates (never inflated), windows, Exists and Subquery.
 *
 * An expression is JSON: a string is a field path (or an annotation's
 * name), a number/boolean/null a literal, and an object holds exactly one
 * function key ({"Sum": "total", "filter": {...}}) with its options.
 * Literals are always parameters; their types follow PostgreSQL's rules:
 * an untyped literal takes the type its neighbour suggests (integer
 * literals are bigint next to integers, numbers with a fraction numeric),
 * and result types are asked of the catalog (operators, common types).
 *
 * Aggregates compile one of three ways:
 *   - at the statement's level (qs.aggregate, or values() + annotate, the
 *     grouped query): fn(arg) FILTER (WHERE ...);
 *   - per row (annotate without values): over the row's related rows in a
 *     correlated subquery, so several to-many aggregates never multiply
 *     each other's rows (Django's documented Count("a") + Count("b") bug);
 *   - at the statement's level but through a to-many path: the per-row
 *     subquery's partial result combined by the outer aggregate (Count is
 *     a sum of counts, Avg a sum over a sum of counts, ...).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_coerce.h"
#include "parser/parse_oper.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "pg_queryset.h"

typedef enum QsFnKind
{
	FN_ARITH,
	FN_F,
	FN_VALUE,
	FN_OUTERREF,
	FN_VARIADIC,				/* Coalesce, Greatest, Least */
	FN_CONCAT,
	FN_TEXT,					/* Lower, Upper */
	FN_LENGTH,
	FN_ABS,
	FN_ROUND,
	FN_NOW,
	FN_CAST,
	FN_WRAPPER,
	FN_TRUNC,
	FN_EXTRACT,
	FN_CASE,
	FN_EXISTS,
	FN_SUBQUERY,
	FN_AGG,
	FN_WINDOW,
	FN_WINFN
} QsFnKind;

typedef struct QsFn
{
	const char *name;			/* the JSON key */
	QsFnKind	kind;
	const char *sql;			/* SQL function, operator, or Trunc/Extract part */
	const char *options;		/* allowed option keys, space separated */
} QsFn;

static const QsFn qs_fns[] = {
	{"+", FN_ARITH, "+", ""},
	{"-", FN_ARITH, "-", ""},
	{"*", FN_ARITH, "*", ""},
	{"/", FN_ARITH, "/", ""},
	{"F", FN_F, NULL, ""},
	{"Value", FN_VALUE, NULL, "output_field"},
	{"OuterRef", FN_OUTERREF, NULL, ""},
	{"Coalesce", FN_VARIADIC, "COALESCE", ""},
	{"Greatest", FN_VARIADIC, "GREATEST", ""},
	{"Least", FN_VARIADIC, "LEAST", ""},
	{"Concat", FN_CONCAT, "concat", ""},
	{"Lower", FN_TEXT, "lower", ""},
	{"Upper", FN_TEXT, "upper", ""},
	{"Length", FN_LENGTH, "length", ""},
	{"Abs", FN_ABS, "abs", ""},
	{"Round", FN_ROUND, "round", "places"},
	{"Now", FN_NOW, "now", ""},
	{"Cast", FN_CAST, NULL, "output_field"},
	{"ExpressionWrapper", FN_WRAPPER, NULL, "output_field"},
	{"Trunc", FN_TRUNC, NULL, "kind tzinfo"},
	{"TruncYear", FN_TRUNC, "year", "tzinfo"},
	{"TruncQuarter", FN_TRUNC, "quarter", "tzinfo"},
	{"TruncMonth", FN_TRUNC, "month", "tzinfo"},
	{"TruncWeek", FN_TRUNC, "week", "tzinfo"},
	{"TruncDay", FN_TRUNC, "day", "tzinfo"},
	{"TruncHour", FN_TRUNC, "hour", "tzinfo"},
	{"TruncMinute", FN_TRUNC, "minute", "tzinfo"},
	{"TruncSecond", FN_TRUNC, "second", "tzinfo"},
	{"TruncDate", FN_TRUNC, "date", ""},
	{"TruncTime", FN_TRUNC, "time", ""},
	{"Extract", FN_EXTRACT, NULL, "lookup_name"},
	{"ExtractYear", FN_EXTRACT, "year", ""},
	{"ExtractIsoYear", FN_EXTRACT, "iso_year", ""},
	{"ExtractQuarter", FN_EXTRACT, "quarter", ""},
	{"ExtractMonth", FN_EXTRACT, "month", ""},
	{"ExtractWeek", FN_EXTRACT, "week", ""},
	{"ExtractDay", FN_EXTRACT, "day", ""},
	{"ExtractWeekDay", FN_EXTRACT, "week_day", ""},
	{"ExtractIsoWeekDay", FN_EXTRACT, "iso_week_day", ""},
	{"ExtractHour", FN_EXTRACT, "hour", ""},
	{"ExtractMinute", FN_EXTRACT, "minute", ""},
	{"ExtractSecond", FN_EXTRACT, "second", ""},
	{"Case", FN_CASE, NULL, "default"},
	{"Exists", FN_EXISTS, NULL, ""},
	{"Subquery", FN_SUBQUERY, NULL, ""},
	{"Count", FN_AGG, "count", "distinct filter"},
	{"Sum", FN_AGG, "sum", "distinct filter default"},
	{"Avg", FN_AGG, "avg", "distinct filter default"},
	{"Min", FN_AGG, "min", "filter default"},
	{"Max", FN_AGG, "max", "filter default"},
	{"StdDev", FN_AGG, "stddev", "filter default sample"},
	{"Variance", FN_AGG, "variance", "filter default sample"},
	{"ArrayAgg", FN_AGG, "array_agg", "distinct filter default ordering"},
	{"StringAgg", FN_AGG, "string_agg", "distinct filter default ordering delimiter"},
	{"JSONBAgg", FN_AGG, "jsonb_agg", "distinct filter default ordering"},
	{"BoolAnd", FN_AGG, "bool_and", "filter default"},
	{"BoolOr", FN_AGG, "bool_or", "filter default"},
	{"Window", FN_WINDOW, NULL, "partition_by order_by"},
	{"RowNumber", FN_WINFN, "row_number", ""},
	{"Rank", FN_WINFN, "rank", ""},
	{"DenseRank", FN_WINFN, "dense_rank", ""},
	{"CumeDist", FN_WINFN, "cume_dist", ""},
	{"PercentRank", FN_WINFN, "percent_rank", ""},
	{"Ntile", FN_WINFN, "ntile", ""},
	{"Lag", FN_WINFN, "lag", "offset default"},
	{"Lead", FN_WINFN, "lead", "offset default"},
	{"FirstValue", FN_WINFN, "first_value", ""},
	{"LastValue", FN_WINFN, "last_value", ""},
	{"NthValue", FN_WINFN, "nth_value", "nth"},
	{NULL, 0, NULL, NULL}
};

static const QsFn *
FindFn(const char *key, int len)
{
	int			i;

	for (i = 0; qs_fns[i].name; i++)
		if ((int) strlen(qs_fns[i].name) == len && memcmp(qs_fns[i].name, key, len) == 0)
			return &qs_fns[i];
	return NULL;
}

bool
QsIsExprKey(const char *key, int len)
{
	return FindFn(key, len) != NULL;
}

/* The function of an expression object (exactly one function key), or NULL. */
static const QsFn *
ObjectFn(JsonbValue *v, JsonbValue **arg)
{
	const QsFn *fn = NULL;
	int			i;

	if (v->type != jbvObject)
		return NULL;
	for (i = 0; i < v->val.object.nPairs; i++)
	{
		JsonbValue *k = &v->val.object.pairs[i].key;
		const QsFn *f = FindFn(k->val.string.val, k->val.string.len);

		if (f == NULL)
			continue;
		if (fn != NULL)
			return NULL;		/* two function keys: not an expression */
		fn = f;
		if (arg)
			*arg = &v->val.object.pairs[i].value;
	}
	return fn;
}

/* Is key one of the function's options? */
static bool
OptionAllowed(const QsFn *fn, const char *key)
{
	const char *p = fn->options;
	size_t		len = strlen(key);

	while (p && *p)
	{
		const char *end = strchr(p, ' ');
		size_t		n = end ? (size_t) (end - p) : strlen(p);

		if (n == len && strncmp(p, key, n) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

/* Is v an expression object: one function key, every other key an option of it? */
bool
QsIsExprObject(JsonbValue *v)
{
	const QsFn *fn = ObjectFn(v, NULL);
	int			i;

	if (fn == NULL)
		return false;
	for (i = 0; i < v->val.object.nPairs; i++)
	{
		char	   *k = QsTreeKey(&v->val.object.pairs[i].key);

		if (strcmp(k, fn->name) != 0 && !OptionAllowed(fn, k))
			return false;
	}
	return true;
}

/* ---------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------
 */

static void
ExprError(QsCompile *ctx, const char *msg, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid expression at %s: %s", QsPathString(ctx), msg),
			 hint ? errhint("%s", hint) : 0));
}

static QsExpr *
MakeExpr(char *sql, Oid type)
{
	QsExpr	   *e = palloc0(sizeof(QsExpr));

	e->sql = sql;
	e->type = type;
	e->typmod = -1;
	e->nullable = true;
	return e;
}

/* A copy of an expression with the column-only flags cleared. */
static QsExpr *
CopyExpr(QsExpr *src)
{
	QsExpr	   *e = palloc(sizeof(QsExpr));

	*e = *src;
	e->column = NULL;
	e->is_column_year = false;
	e->is_literal = false;
	e->jbase = NULL;
	e->jkey = NULL;
	return e;
}

static bool
IsIntType(Oid t)
{
	return t == INT2OID || t == INT4OID || t == INT8OID;
}

static bool
IsNumberType(Oid t)
{
	return IsIntType(t) || t == NUMERICOID || t == FLOAT4OID || t == FLOAT8OID;
}

/*
 * The type of an untyped literal.  Integers written without a fraction
 * are bigint (numeric after a numeric, double after a float), other
 * numbers numeric; strings and nulls take the neighbour's type (text
 * without one); objects are jsonb.  The choice depends on the literal's
 * JSON type and the neighbour only, never on its value, so a cached shape
 * types its parameters the same way for every value.
 */
static Oid
LiteralType(JsonbValue *v, Oid hint)
{
	switch (v->type)
	{
		case jbvNull:
			return OidIsValid(hint) ? hint : TEXTOID;
		case jbvBool:
			return BOOLOID;
		case jbvString:
			return OidIsValid(hint) ? hint : TEXTOID;
		case jbvNumeric:
			if (hint == NUMERICOID)
				return NUMERICOID;
			if (hint == FLOAT4OID || hint == FLOAT8OID)
				return FLOAT8OID;
			return QsNumberIsIntegral(v) ? INT8OID : NUMERICOID;
		case jbvArray:
			return (OidIsValid(hint) && OidIsValid(get_element_type(hint))) ? hint : JSONBOID;
		default:
			return JSONBOID;
	}
}

/* Is v a literal whose type its neighbours decide? */
static bool
IsLiteralNode(JsonbValue *v)
{
	if (v->type == jbvNumeric || v->type == jbvBool || v->type == jbvNull)
		return true;
	if (qs_validating_params && QsIsParam(v))
		return true;			/* a method's placeholder takes its neighbour's type */
	return v->type == jbvObject && v->val.object.nPairs == 1 && QsTreeGet(v, "Value") != NULL;
}

/* A literal as a parameter of the given type (or its inferred type). */
static QsExpr *
Literal(QsCompile *ctx, JsonbValue *v, Oid hint, Oid type, int32 typmod)
{
	QsExpr	   *e;
	char	   *sql;
	int			save = ctx->cur_lookup;

	if (!OidIsValid(type))
		type = LiteralType(v, hint);
	if (ctx->literal_columns)
	{
		/* bulk_update: each row's literal is a column of the record set */
		int			idx = QsValueIndex(ctx, v);

		ctx->literal_types[idx] = type;
		e = MakeExpr(psprintf("v.l%d", idx), getBaseType(type));
		e->is_literal = true;
		return e;
	}
	ctx->cur_lookup = QsValueIndex(ctx, v);
	sql = QsProduceParam(ctx, QS_PROD_VALUE, type, v, "Value", NULL, false, false);
	ctx->cur_lookup = save;
	if (typmod >= 0)
		sql = psprintf("%s::%s", sql,
					   format_type_extended(type, typmod,
											FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY));
	e = MakeExpr(sql, getBaseType(type));
	e->typmod = typmod;
	e->is_literal = true;
	e->nullable = (v->type == jbvNull);
	return e;
}

QsExpr *
QsLiteral(QsCompile *ctx, JsonbValue *v, Oid hint, Oid type, int32 typmod)
{
	return Literal(ctx, v, hint, type, typmod);
}

/*
 * Is v, written to col (update, bulk_update), an expression evaluated
 * per row rather than a value?  A string is a literal here; on json and
 * jsonb columns an object is the document itself, unless it is
 * {"F": ...} or {"Value": ...}.
 */
bool
QsIsAssignedExpression(QsColumn *col, JsonbValue *v)
{
	bool		is_json = (col->basetypid == JSONBOID || col->basetypid == JSONOID);

	return v->type == jbvObject && QsIsExprObject(v) &&
		(!is_json || (v->val.object.nPairs == 1 &&
					  (QsTreeGet(v, "F") != NULL || QsTreeGet(v, "Value") != NULL)));
}

/* The SQL of a value assigned to a column: the expression, or a literal of its type. */
char *
QsAssignValue(QsCompile *ctx, QsColumn *col, JsonbValue *v)
{
	if (QsIsAssignedExpression(col, v))
		return QsCompileExpr(ctx, v, col->basetypid)->sql;
	{
		/* a parameter named after the column, for messages */
		int			save = ctx->cur_lookup;
		char	   *p;

		ctx->cur_lookup = QsValueIndex(ctx, v);
		p = QsProduceParam(ctx, QS_PROD_VALUE, col->basetypid == JSONOID ? JSONBOID : col->typid, v,
						   col->name, NULL, false, false);
		ctx->cur_lookup = save;
		return col->basetypid == JSONOID ? psprintf("(%s)::pg_catalog.json", p) : p;
	}
}

/* output_field: a type name, resolved by PostgreSQL's type parser. */
static void
ParseType(QsCompile *ctx, JsonbValue *v, Oid *type, int32 *typmod)
{
	if (v == NULL || v->type != jbvString || v->val.string.len == 0)
		ExprError(ctx, "output_field must be a type name such as \"numeric(10,2)\"", NULL);
	QsParseTypeString(QsTreeKey(v), type, typmod);
}

static char *
TypeSql(Oid type, int32 typmod)
{
	return format_type_extended(type, typmod, FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY);
}

/* The result type of a binary operator, as the parser would resolve it. */
static Oid
OperResult(const char *op, Oid ltype, Oid rtype)
{
	List	   *name;
	Operator	tup;
	Oid			res;

	if (ltype < FirstNormalObjectId && rtype < FirstNormalObjectId)
		name = list_make2(makeString("pg_catalog"), makeString(pstrdup(op)));
	else
		name = list_make1(makeString(pstrdup(op)));
	tup = oper(NULL, name, ltype, rtype, false, -1);
	res = ((Form_pg_operator) GETSTRUCT(tup))->oprresult;
	ReleaseSysCache(tup);
	return getBaseType(res);
}

/* The common type of several expressions (COALESCE, CASE, ...). */
static Oid
CommonType(List *exprs, const char *context)
{
	List	   *nodes = NIL;
	ListCell   *lc;

	foreach(lc, exprs)
		nodes = lappend(nodes, makeNullConst(((QsExpr *) lfirst(lc))->type, -1, InvalidOid));
	return select_common_type(NULL, nodes, context, NULL);
}

/* The arguments of a function: an array, or one expression. */
static List *
ArgList(QsCompile *ctx, const QsFn *fn, JsonbValue *arg, int min, int max)
{
	List	   *args = NIL;
	int			i;

	if (arg->type == jbvArray)
		for (i = 0; i < arg->val.array.nElems; i++)
			args = lappend(args, &arg->val.array.elems[i]);
	else if (!(arg->type == jbvObject && arg->val.object.nPairs == 0) && arg->type != jbvNull)
		args = list_make1(arg);
	if (list_length(args) < min || (max >= 0 && list_length(args) > max))
		ExprError(ctx, psprintf("%s takes %s%d argument%s, got %d", fn->name,
								max < 0 ? "at least " : (min == max ? "" : "at most "),
								max < 0 ? min : max, (max < 0 ? min : max) == 1 ? "" : "s",
								list_length(args)),
				  "Arguments are given as the function's value: {\"Coalesce\": [\"a\", \"b\"]}.");
	return args;
}

static void
Absorb(QsExpr *into, QsExpr *e)
{
	into->is_agg |= e->is_agg;
	into->is_window |= e->is_window;
}

/*
 * Compile a list of arguments: expressions first, then the literals with
 * the type the expressions suggest.  Returns the QsExpr list in argument
 * order and the common type in *common (InvalidOid unless asked).
 */
static List *
CompileArgs(QsCompile *ctx, List *args, Oid hint, const char *context, Oid *common)
{
	QsExpr	  **out = palloc0(sizeof(QsExpr *) * Max(1, list_length(args)));
	List	   *typed = NIL;
	List	   *res = NIL;
	ListCell   *lc;
	int			i = 0;
	int			save = ctx->path.len;
	Oid			t = hint;

	foreach(lc, args)
	{
		JsonbValue *a = (JsonbValue *) lfirst(lc);

		if (!IsLiteralNode(a))
		{
			QsPathPush(ctx, "[%d]", i);
			out[i] = QsCompileExpr(ctx, a, hint);
			QsPathPop(ctx, save);
			typed = lappend(typed, out[i]);
		}
		i++;
	}
	if (typed != NIL && context)
		t = CommonType(typed, context);
	else if (typed != NIL)
		t = ((QsExpr *) linitial(typed))->type;
	i = 0;
	foreach(lc, args)
	{
		if (out[i] == NULL)
		{
			QsPathPush(ctx, "[%d]", i);
			out[i] = QsCompileExpr(ctx, (JsonbValue *) lfirst(lc), t);
			QsPathPop(ctx, save);
		}
		res = lappend(res, out[i]);
		i++;
	}
	if (common)
		*common = context ? CommonType(res, context) : t;
	return res;
}

/* ---------------------------------------------------------------------
 * Annotations
 * ---------------------------------------------------------------------
 */

QsAnnotation *
QsFindAnnotation(QsCompile *ctx, const char *name)
{
	ListCell   *lc;

	if (ctx->spec == NULL)
		return NULL;			/* a write outside a queryset (bulk_update) */
	foreach(lc, ctx->spec->annotations)
		if (strcmp(((QsAnnotation *) lfirst(lc))->name, name) == 0)
			return (QsAnnotation *) lfirst(lc);
	return NULL;
}

/* An annotation's expression, compiled once per compile at the statement's level. */
QsExpr *
QsAnnotationExpr(QsCompile *ctx, QsAnnotation *a)
{
	QsScope    *save_scope = ctx->scope;
	bool		save_outer = ctx->agg_outer;
	int			save_neg = ctx->negated;
	StringInfoData save_path;
	QsExpr	   *e;

	if (a->state == 2)
		return a->compiled;
	if (a->state == 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_RECURSION),
				 errmsg("the annotation '%s' refers to itself (directly or through other annotations)", a->name),
				 errdetail("At %s.", QsPathString(ctx))));
	a->state = 1;
	initStringInfo(&save_path);
	appendBinaryStringInfo(&save_path, ctx->path.data, ctx->path.len);
	resetStringInfo(&ctx->path);
	appendStringInfo(&ctx->path, "$.%s.%s", a->select ? "annotate" : "alias", a->name);
	ctx->scope = ctx->top;
	ctx->agg_outer = ctx->grouped;
	ctx->negated = 0;
	e = QsCompileExpr(ctx, a->expr, InvalidOid);
	ctx->scope = save_scope;
	ctx->agg_outer = save_outer;
	ctx->negated = save_neg;
	resetStringInfo(&ctx->path);
	appendBinaryStringInfo(&ctx->path, save_path.data, save_path.len);
	a->compiled = e;
	a->state = 2;
	return e;
}

static bool ScanAggregate(QsCompile *ctx, JsonbValue *v);

/* The annotation named by the first part of a path, if any. */
static QsAnnotation *
PathAnnotation(QsCompile *ctx, const char *path)
{
	const char *sep = strstr(path, "__");
	char	   *first = sep ? pnstrdup(path, sep - path) : (char *) path;

	return QsFindAnnotation(ctx, first);
}

/* Does the annotation contain an aggregate (directly or through another)? */
bool
QsAnnotationIsAggregate(QsCompile *ctx, QsAnnotation *a)
{
	bool		r;

	if (a->scan >= 2)
		return a->scan == 2;
	if (a->scan == 1)
		return false;			/* a cycle: compiling it reports it */
	a->scan = 1;
	r = ScanAggregate(ctx, a->expr);
	a->scan = r ? 2 : 3;
	return r;
}

/* Does a Q entry reference an aggregate annotation? */
bool
QsQRefsAggregate(QsCompile *ctx, const char *key, JsonbValue *value)
{
	int			i;
	int			k;

	check_stack_depth();
	if (strcmp(key, "$or") == 0 || strcmp(key, "$and") == 0)
	{
		if (value->type != jbvArray)
			return false;
		for (i = 0; i < value->val.array.nElems; i++)
		{
			JsonbValue *q = &value->val.array.elems[i];

			if (q->type != jbvObject)
				continue;
			for (k = 0; k < q->val.object.nPairs; k++)
				if (QsQRefsAggregate(ctx, QsTreeKey(&q->val.object.pairs[k].key),
									 &q->val.object.pairs[k].value))
					return true;
		}
		return false;
	}
	if (strcmp(key, "$not") == 0)
	{
		if (value->type != jbvObject)
			return false;
		for (k = 0; k < value->val.object.nPairs; k++)
			if (QsQRefsAggregate(ctx, QsTreeKey(&value->val.object.pairs[k].key),
								 &value->val.object.pairs[k].value))
				return true;
		return false;
	}
	if (key[0] == '$')
		return false;
	{
		QsAnnotation *a = PathAnnotation(ctx, key);

		if (a && QsAnnotationIsAggregate(ctx, a))
			return true;
	}
	if (value->type == jbvObject && QsIsExprObject(value))
		return ScanAggregate(ctx, value);
	return false;
}

/* Pre-scan an expression for aggregates at its own level. */
static bool
ScanAggregate(QsCompile *ctx, JsonbValue *v)
{
	const QsFn *fn;
	JsonbValue *arg;
	int			i;

	check_stack_depth();
	switch (v->type)
	{
		case jbvString:
			{
				QsAnnotation *a = PathAnnotation(ctx, QsTreeKey(v));

				return a != NULL && QsAnnotationIsAggregate(ctx, a);
			}
		case jbvArray:
			for (i = 0; i < v->val.array.nElems; i++)
				if (ScanAggregate(ctx, &v->val.array.elems[i]))
					return true;
			return false;
		case jbvObject:
			break;
		default:
			return false;
	}
	fn = ObjectFn(v, &arg);
	if (fn == NULL)
		return false;
	switch (fn->kind)
	{
		case FN_AGG:
			return true;
		case FN_WINDOW:
		case FN_EXISTS:
		case FN_SUBQUERY:
		case FN_OUTERREF:
		case FN_VALUE:
			return false;
		default:
			break;
	}
	for (i = 0; i < v->val.object.nPairs; i++)
	{
		char	   *k = QsTreeKey(&v->val.object.pairs[i].key);
		JsonbValue *val = &v->val.object.pairs[i].value;

		if (strcmp(k, "When") == 0 && val->type == jbvObject)
		{
			int			j;

			for (j = 0; j < val->val.object.nPairs; j++)
				if (QsQRefsAggregate(ctx, QsTreeKey(&val->val.object.pairs[j].key),
									 &val->val.object.pairs[j].value))
					return true;
		}
		else if (strcmp(k, "Case") == 0 && val->type == jbvArray)
		{
			int			j;

			for (j = 0; j < val->val.array.nElems; j++)
				if (ScanAggregate(ctx, &val->val.array.elems[j]))
					return true;
		}
		else if (strcmp(k, "output_field") != 0 && strcmp(k, "kind") != 0 &&
				 strcmp(k, "lookup_name") != 0 && ScanAggregate(ctx, val))
			return true;
	}
	return false;
}

/* ---------------------------------------------------------------------
 * Subqueries: Exists, Subquery, $exists, OuterRef
 * ---------------------------------------------------------------------
 */

QsExpr *
QsOuterRef(QsCompile *ctx, const char *path)
{
	QsScope    *save_scope = ctx->scope;
	List	   *save_stack = ctx->outer_stack;
	QsExpr	   *e;

	if (ctx->outer_stack == NIL)
		ExprError(ctx, "OuterRef is only valid inside Exists, Subquery or $exists",
				  "Use {\"F\": path} for a field of the same row.");
	ctx->scope = (QsScope *) llast(ctx->outer_stack);
	ctx->outer_stack = list_truncate(list_copy(ctx->outer_stack), list_length(ctx->outer_stack) - 1);
	e = CopyExpr(QsResolvePath(ctx, path, false, NULL));
	ctx->scope = save_scope;
	ctx->outer_stack = save_stack;
	return e;
}

typedef enum SubqueryKind
{
	SUB_EXISTS,					/* EXISTS (SELECT 1 ...) */
	SUB_SCALAR,					/* (SELECT value ...): Subquery */
	SUB_IN						/* (SELECT value ...) for "in": the pk by default */
} SubqueryKind;

static char *CompileSubquery(QsCompile *ctx, JsonbValue *specv, SubqueryKind kind, QsExpr **value);

/*
 * An inner queryset correlated with the current row through OuterRef:
 * EXISTS (...) or a scalar (SELECT value ...).  It may hold model, where,
 * order_by, values / values_list (one field, for Subquery), limit, offset.
 */
char *
QsCompileSubquery(QsCompile *ctx, JsonbValue *specv, bool exists, QsExpr **value)
{
	return CompileSubquery(ctx, specv, exists ? SUB_EXISTS : SUB_SCALAR, value);
}

/*
 * The inner queryset of "field__in": (SELECT value FROM ...), for
 * "<field> = ANY (...)".  Its one values field, or its primary key when
 * it names none (Django's id__in=Model.objects.filter(...)).
 */
char *
QsCompileInSubquery(QsCompile *ctx, JsonbValue *specv, QsExpr **value)
{
	return CompileSubquery(ctx, specv, SUB_IN, value);
}

/* The body of the three kinds of inner queryset. */
static char *
CompileSubquery(QsCompile *ctx, JsonbValue *specv, SubqueryKind kind, QsExpr **value)
{
	bool		exists = (kind == SUB_EXISTS);
	const char *value_path = NULL;
	QsSpec	   *inner;
	QsScope    *scope = palloc0(sizeof(QsScope));
	QsScope    *save_scope = ctx->scope;
	int			save_neg = ctx->negated;
	char	   *where = "true";
	QsExpr	   *val = NULL;
	StringInfoData buf;
	int			i;
	int			save = ctx->path.len;

	check_stack_depth();
	if (specv->type != jbvObject)
		ExprError(ctx, psprintf("expected an inner queryset object, got %s", QsJsonTypeName(specv)),
				  "Write {\"model\": \"catalog_review\", \"where\": {\"product\": {\"OuterRef\": \"pk\"}}}.");
	for (i = 0; i < specv->val.object.nPairs; i++)
	{
		char	   *k = QsTreeKey(&specv->val.object.pairs[i].key);

		if (strcmp(k, "model") != 0 && strcmp(k, "where") != 0 && strcmp(k, "order_by") != 0 &&
			strcmp(k, "values") != 0 && strcmp(k, "values_list") != 0 && strcmp(k, "flat") != 0 &&
			strcmp(k, "limit") != 0 && strcmp(k, "offset") != 0)
			ExprError(ctx, psprintf("invalid key \"%s\" in an inner queryset", k),
					  "An inner queryset holds model, where, order_by, values, limit and offset.");
	}
	if (QsTreeGet(specv, "model") == NULL)
		ExprError(ctx, "an inner queryset needs \"model\"",
				  "Write {\"model\": \"catalog_review\", \"where\": {\"product\": {\"OuterRef\": \"pk\"}}}.");
	inner = QsSpecFromTree(specv);
	if (kind == SUB_IN && !inner->has_values)
		value_path = "pk";
	else if (kind == SUB_IN && list_length(inner->values) != 1)
		ExprError(ctx, psprintf("the inner queryset of 'in' must select exactly one field, it selects %d",
								list_length(inner->values)),
				  "Write {\"id__in\": {\"model\": ..., \"where\": {...}, \"values\": [\"product_id\"]}}.");
	else if (!exists && (!inner->has_values || list_length(inner->values) != 1))
		ExprError(ctx, "Subquery needs values (or values_list) with exactly one field",
				  "Write {\"Subquery\": {\"model\": ..., \"values\": [\"name\"], \"limit\": 1}}.");
	else if (!exists)
		value_path = (char *) linitial(inner->values);

	scope->model = inner->model;
	scope->alias = psprintf("t%d", ctx->next_alias++);
	ctx->relids = list_append_unique_oid(ctx->relids, inner->model->relid);
	ctx->outer_stack = lappend(ctx->outer_stack, save_scope);
	ctx->scope = scope;
	ctx->negated = 0;
	if (inner->where)
	{
		QsPathPush(ctx, ".where");
		where = QsCompileQ(ctx, inner->where);
		QsPathPop(ctx, save);
	}
	/* like every nested statement, the inner one carries its model's tenant predicate */
	{
		char	   *tp = QsTenantCond(ctx, inner->model, scope->alias);

		if (tp != NULL)
			where = strcmp(where, "true") == 0 ? tp : psprintf("(%s) AND %s", where, tp);
	}
	initStringInfo(&buf);
	if (!exists)
	{
		QsPathPush(ctx, inner->has_values ? ".values[0]" : ".pk");
		val = CopyExpr(QsResolvePath(ctx, value_path, false, NULL));
		QsPathPop(ctx, save);
		appendStringInfo(&buf, "(SELECT %s", val->sql);
	}
	else
		appendStringInfoString(&buf, "EXISTS (SELECT 1");
	/* the ORDER BY may add joins: build it before the FROM clause */
	{
		StringInfoData order;

		initStringInfo(&order);
		if (!exists && inner->order_by != NIL)
		{
			QsPathPush(ctx, ".order_by");
			QsOrderSql(ctx, &order, inner->order_by);
			QsPathPop(ctx, save);
		}
		appendStringInfo(&buf, " FROM %s %s%s", inner->model->qualname, scope->alias,
						 QsScopeJoins(scope));
		if (strcmp(where, "true") != 0)
			appendStringInfo(&buf, " WHERE %s", where);
		if (order.len > 0)
			appendStringInfo(&buf, " ORDER BY %s", order.data);
	}
	QsAppendInnerSlice(ctx, &buf, specv);
	appendStringInfoChar(&buf, ')');
	ctx->scope = save_scope;
	ctx->negated = save_neg;
	ctx->outer_stack = list_truncate(ctx->outer_stack, list_length(ctx->outer_stack) - 1);
	if (value)
	{
		val->sql = buf.data;
		val->nullable = true;
		val->is_agg = false;
		val->is_window = false;
		*value = val;
	}
	return buf.data;
}

/* ---------------------------------------------------------------------
 * Aggregates
 * ---------------------------------------------------------------------
 */

/* The result type of an aggregate over argtype (PostgreSQL's rules). */
static Oid
AggType(QsCompile *ctx, const QsFn *fn, Oid argtype)
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
		if (IsIntType(argtype) || argtype == NUMERICOID)
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
	if (v->type != jbvObject || (fn = ObjectFn(v, &arg)) == NULL)
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
AggPrefix(QsCompile *ctx, JsonbValue *arg, QsRelation **rel_out)
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
		if (ctx->scope == ctx->top && PathAnnotation(ctx, path) != NULL)
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
ExprList(QsCompile *ctx, JsonbValue *list, const char *key, bool ordering)
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
			e = QsResolvePath(ctx, pnstrdup(o->val.string.val + 1, o->val.string.len - 1), false, NULL);
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
AggOrdering(QsCompile *ctx, JsonbValue *ordering)
{
	if (ordering == NULL)
		return pstrdup("");
	if (ordering->type == jbvString)
		ordering = QsTreeArray(list_make1(ordering));
	if (ordering->type != jbvArray)
		ExprError(ctx, "ordering must be a list of fields, e.g. [\"-created_at\"]", NULL);
	return ExprList(ctx, ordering, "ordering", true);
}

static QsExpr *
CompileAggregate(QsCompile *ctx, const QsFn *fn, JsonbValue *obj, JsonbValue *arg, bool in_window)
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
		ExprError(ctx, "distinct must be true or false", NULL);
	if (sv && sv->type != jbvBool)
		ExprError(ctx, "sample must be true or false", NULL);
	distinct = dv && dv->val.boolean;
	sample = sv && sv->val.boolean;
	if (strcmp(fn->sql, "string_agg") == 0 && delim == NULL)
		ExprError(ctx, "StringAgg needs a delimiter", "Write {\"StringAgg\": \"name\", \"delimiter\": \", \"}.");
	if (arg->type == jbvArray || (arg->type == jbvObject && !QsIsExprObject(arg)))
		ExprError(ctx, psprintf("%s takes one expression", fn->name),
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
		a = MakeExpr(psprintf("%s.%s", jalias, quote_identifier(jcol)),
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
		extra = Literal(ctx, delim, InvalidOid, TEXTOID, -1)->sql;
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
			res = MakeExpr(call, rtype);
			res->is_agg = !in_window;
		}
		else
		{
			/* per row, without a to-many path: the aggregate of this row alone */
			/* count(s.v), not count(*): the aggregate must belong to the subquery */
			call = AggCall(fn, sample, false, distinct, "s.v", extra, NULL, filter_sql);
			res = MakeExpr(psprintf("(SELECT %s FROM (VALUES (%s)) s(v))", call, a ? a->sql : "1"), rtype);
		}
	}
	else
	{
		char	   *joins = QsScopeJoins(inner);
		const char *f = fn->sql;

		call = AggCall(fn, sample, star, distinct, a ? a->sql : NULL, extra, order_sql, filter_sql);
		if (!ctx->agg_outer)
			res = MakeExpr(psprintf("(SELECT %s FROM %s%s WHERE %s)", call, from_sql, joins, corr), rtype);
		else
		{
			/*
			 * At the statement's level through a to-many path: combine the
			 * per-row partial aggregates, so other aggregates of the
			 * statement see each row once.
			 */
			char	   *part = psprintf("(SELECT %s FROM %s%s WHERE %s)", call, from_sql, joins, corr);

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
				res = MakeExpr(psprintf("coalesce(pg_catalog.sum(%s), 0)::pg_catalog.int8", part), rtype);
			else if (strcmp(f, "sum") == 0)
				res = MakeExpr(psprintf("(pg_catalog.sum(%s))::%s", part, TypeSql(rtype, -1)), rtype);
			else if (strcmp(f, "avg") == 0)
			{
				char	   *cnt;

				part = psprintf("(SELECT %s FROM %s%s WHERE %s)",
								AggCall(FindFn("Sum", 3), false, false, false, a->sql, NULL, NULL,
										filter_sql), from_sql, joins, corr);
				cnt = psprintf("(SELECT %s FROM %s%s WHERE %s)",
							   AggCall(FindFn("Count", 5), false, false, false, a->sql, NULL, NULL,
									   filter_sql), from_sql, joins, corr);
				res = MakeExpr(psprintf("((pg_catalog.sum(%s))::%s OPERATOR(pg_catalog./) "
										"(NULLIF(pg_catalog.sum(%s), 0))::%s)",
										part, TypeSql(rtype, -1), cnt, TypeSql(rtype, -1)), rtype);
			}
			else
				res = MakeExpr(psprintf("pg_catalog.%s(%s)", f, part), rtype);
			res->is_agg = true;
		}
	}
	if (dflt != NULL && dflt->type != jbvNull)
	{
		QsExpr	   *d;

		QsPathPush(ctx, ".default");
		d = IsLiteralNode(dflt) ? Literal(ctx, dflt->type == jbvObject ? QsTreeGet(dflt, "Value") : dflt,
										  InvalidOid, rtype, -1)
			: QsCompileExpr(ctx, dflt, rtype);
		QsPathPop(ctx, save);
		res->sql = psprintf("coalesce(%s, %s)", res->sql, d->sql);
		res->nullable = d->nullable;
	}
	else if (strcmp(fn->sql, "count") == 0)
		res->nullable = false;
	return res;
}

/* ---------------------------------------------------------------------
 * Windows
 * ---------------------------------------------------------------------
 */

/* partition_by / order_by of a Window: fields ("-field" descending) or expressions */
static char *
WindowList(QsCompile *ctx, JsonbValue *list, const char *key, bool ordering)
{
	if (list == NULL)
		return pstrdup("");
	if (list->type == jbvString || list->type == jbvObject)
		list = QsTreeArray(list_make1(list));
	if (list->type != jbvArray)
		ExprError(ctx, psprintf("%s must be a list of fields or expressions", key), NULL);
	return ExprList(ctx, list, key, ordering);
}

static QsExpr *
CompileWindow(QsCompile *ctx, JsonbValue *obj, JsonbValue *arg)
{
	JsonbValue *farg = NULL;
	const QsFn *fn = ObjectFn(arg, &farg);
	QsExpr	   *res;
	char	   *part;
	char	   *order;
	int			save = ctx->path.len;

	if (fn == NULL || !QsIsExprObject(arg) || (fn->kind != FN_WINFN && fn->kind != FN_AGG))
		ExprError(ctx, "Window takes a window function or an aggregate",
				  "Write {\"Window\": {\"Rank\": []}, \"order_by\": [\"-total\"]}.");
	QsPathPush(ctx, ".Window");
	if (fn->kind == FN_AGG)
		res = CompileAggregate(ctx, fn, arg, farg, true);
	else
	{
		const char *f = fn->sql;
		List	   *args;
		QsExpr	   *x = NULL;

		if (strcmp(f, "row_number") == 0 || strcmp(f, "rank") == 0 || strcmp(f, "dense_rank") == 0 ||
			strcmp(f, "cume_dist") == 0 || strcmp(f, "percent_rank") == 0)
		{
			(void) ArgList(ctx, fn, farg, 0, 0);
			res = MakeExpr(psprintf("pg_catalog.%s()", f),
						   (f[0] == 'c' || f[0] == 'p') ? FLOAT8OID : INT8OID);
			res->nullable = false;
		}
		else if (strcmp(f, "ntile") == 0)
		{
			args = ArgList(ctx, fn, farg, 1, 1);
			x = IsLiteralNode(linitial(args)) && ((JsonbValue *) linitial(args))->type == jbvNumeric
				? Literal(ctx, linitial(args), InvalidOid, INT4OID, -1)
				: QsCompileExpr(ctx, linitial(args), INT4OID);
			res = MakeExpr(psprintf("pg_catalog.ntile(%s)", x->sql), INT4OID);
		}
		else
		{
			JsonbValue *offv = QsTreeGet(arg, "offset");
			JsonbValue *defv = QsTreeGet(arg, "default");
			JsonbValue *nthv = QsTreeGet(arg, "nth");
			StringInfoData call;

			args = ArgList(ctx, fn, farg, 1, 1);
			x = QsCompileExpr(ctx, linitial(args), InvalidOid);
			initStringInfo(&call);
			appendStringInfo(&call, "pg_catalog.%s(%s", f, x->sql);
			if (strcmp(f, "nth_value") == 0)
			{
				if (nthv == NULL || nthv->type != jbvNumeric)
					ExprError(ctx, "NthValue needs \"nth\": a positive integer", NULL);
				appendStringInfo(&call, ", %s", Literal(ctx, nthv, InvalidOid, INT4OID, -1)->sql);
			}
			if (offv || defv)
			{
				if (offv && offv->type != jbvNumeric)
					ExprError(ctx, "offset must be an integer", NULL);
				appendStringInfo(&call, ", %s", offv ? Literal(ctx, offv, InvalidOid, INT4OID, -1)->sql : "1");
			}
			if (defv)
			{
				QsExpr	   *d = IsLiteralNode(defv)
					? Literal(ctx, defv->type == jbvObject ? QsTreeGet(defv, "Value") : defv,
							  InvalidOid, x->type, -1)
					: QsCompileExpr(ctx, defv, x->type);

				appendStringInfo(&call, ", %s", d->sql);
			}
			appendStringInfoChar(&call, ')');
			res = MakeExpr(call.data, x->type);
		}
		if (x)
			Absorb(res, x);
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

/* ---------------------------------------------------------------------
 * Expressions
 * ---------------------------------------------------------------------
 */

static const char *trunc_kinds[] = {
	"year", "quarter", "month", "week", "day", "hour", "minute", "second", "date", "time", NULL
};

static QsExpr *
CompileTrunc(QsCompile *ctx, const QsFn *fn, JsonbValue *obj, JsonbValue *arg)
{
	const char *kind = fn->sql;
	JsonbValue *tz = QsTreeGet(obj, "tzinfo");
	QsExpr	   *x;
	QsExpr	   *res;
	int			i;
	bool		known = false;

	if (kind == NULL)
	{
		JsonbValue *k = QsTreeGet(obj, "kind");

		if (k == NULL || k->type != jbvString)
			ExprError(ctx, "Trunc needs \"kind\": year, quarter, month, week, day, hour, minute or second", NULL);
		kind = QsTreeKey(k);
	}
	for (i = 0; trunc_kinds[i]; i++)
		if (strcmp(trunc_kinds[i], kind) == 0)
			known = true;
	if (!known || (fn->sql == NULL && (strcmp(kind, "date") == 0 || strcmp(kind, "time") == 0)))
		ExprError(ctx, psprintf("unknown Trunc kind \"%s\"", kind),
				  "Kinds are year, quarter, month, week, day, hour, minute and second "
				  "(TruncDate and TruncTime for date and time).");
	x = QsCompileExpr(ctx, arg, InvalidOid);
	if (x->type != TIMESTAMPTZOID && x->type != TIMESTAMPOID && x->type != DATEOID)
		ExprError(ctx, psprintf("%s needs a date or timestamp, got %s", fn->name, format_type_be(x->type)), NULL);
	if (tz && x->type != TIMESTAMPTZOID)
		ExprError(ctx, "tzinfo applies to timestamp with time zone only", NULL);
	if (strcmp(kind, "date") == 0)
		res = MakeExpr(psprintf("(%s)::pg_catalog.date", x->sql), DATEOID);
	else if (strcmp(kind, "time") == 0)
	{
		if (x->type == DATEOID)
			ExprError(ctx, "TruncTime needs a timestamp", NULL);
		res = MakeExpr(psprintf("(%s)::pg_catalog.\"time\"", x->sql), TIMEOID);
	}
	else if (x->type == DATEOID)
	{
		if (strcmp(kind, "hour") == 0 || strcmp(kind, "minute") == 0 || strcmp(kind, "second") == 0)
			ExprError(ctx, psprintf("cannot truncate a date to the %s", kind), NULL);
		res = MakeExpr(psprintf("(pg_catalog.date_trunc('%s', (%s)::pg_catalog.\"timestamp\"))::pg_catalog.date",
								kind, x->sql), DATEOID);
	}
	else if (tz)
		res = MakeExpr(psprintf("pg_catalog.date_trunc('%s', %s, %s)", kind, x->sql,
								Literal(ctx, tz, InvalidOid, TEXTOID, -1)->sql), x->type);
	else
		/* timestamptz: in the session's time zone, as Django's current time zone */
		res = MakeExpr(psprintf("pg_catalog.date_trunc('%s', %s)", kind, x->sql), x->type);
	Absorb(res, x);
	res->nullable = x->nullable;
	return res;
}

static QsExpr *
CompileCase(QsCompile *ctx, JsonbValue *obj, JsonbValue *arg, Oid hint)
{
	JsonbValue *dflt = QsTreeGet(obj, "default");
	List	   *thens = NIL;
	List	   *preds = NIL;
	List	   *exprs;
	ListCell   *lc;
	ListCell   *lp;
	StringInfoData buf;
	Oid			common;
	QsExpr	   *res;
	int			i;
	int			save = ctx->path.len;

	if (arg->type == jbvObject)
		arg = QsTreeArray(list_make1(arg));
	if (arg->type != jbvArray || arg->val.array.nElems == 0)
		ExprError(ctx, "Case takes a list of {\"When\": Q, \"then\": expression}", NULL);
	for (i = 0; i < arg->val.array.nElems; i++)
	{
		JsonbValue *w = &arg->val.array.elems[i];
		JsonbValue *q = QsTreeGet(w, "When");
		JsonbValue *then = QsTreeGet(w, "then");
		int			save_neg = ctx->negated;

		if (w->type != jbvObject || q == NULL || then == NULL || w->val.object.nPairs != 2)
			ExprError(ctx, "each Case entry is {\"When\": Q, \"then\": expression}", NULL);
		QsPathPush(ctx, ".Case[%d].When", i);
		ctx->negated = 0;
		preds = lappend(preds, QsCompileQ(ctx, q));
		ctx->negated = save_neg;
		QsPathPop(ctx, save);
		thens = lappend(thens, then);
	}
	if (dflt)
		thens = lappend(thens, dflt);
	QsPathPush(ctx, ".Case");
	exprs = CompileArgs(ctx, thens, hint, "CASE", &common);
	QsPathPop(ctx, save);
	initStringInfo(&buf);
	appendStringInfoString(&buf, "CASE");
	res = MakeExpr(NULL, common);
	forboth(lc, exprs, lp, preds)
	{
		appendStringInfo(&buf, " WHEN %s THEN %s", (char *) lfirst(lp), ((QsExpr *) lfirst(lc))->sql);
		Absorb(res, (QsExpr *) lfirst(lc));
	}
	if (dflt)
	{
		QsExpr	   *d = (QsExpr *) llast(exprs);

		appendStringInfo(&buf, " ELSE %s", d->sql);
		Absorb(res, d);
	}
	appendStringInfoString(&buf, " END");
	res->sql = buf.data;
	return res;
}

static QsExpr *
CompileNode(QsCompile *ctx, JsonbValue *v, Oid hint)
{
	const QsFn *fn;
	JsonbValue *arg = NULL;
	QsExpr	   *res = NULL;
	List	   *args;
	List	   *exprs;
	ListCell   *lc;
	int			i;

	switch (v->type)
	{
		case jbvString:
			if (v->val.string.len == 0)
				ExprError(ctx, "a field name is empty", NULL);
			return CopyExpr(QsResolvePath(ctx, QsTreeKey(v), false, NULL));
		case jbvArray:
			ExprError(ctx, "expected an expression, got an array",
					  "Function arguments are the function's value: {\"Coalesce\": [\"a\", \"b\"]}.");
			break;
		case jbvObject:
			break;
		default:
			return Literal(ctx, v, hint, InvalidOid, -1);
	}

	if (qs_validating_params && QsIsParam(v))
	{
		/* a method's placeholder: a value of the type it meets */
		Oid			t = OidIsValid(hint) ? hint : TEXTOID;

		return MakeExpr(psprintf("NULL::%s", TypeSql(t, -1)), t);
	}
	fn = ObjectFn(v, &arg);
	if (fn == NULL)
		ExprError(ctx, "expected an expression object with one function key",
				  "Functions: F, Value, +, -, *, /, Coalesce, Greatest, Least, Lower, Upper, Length, "
				  "Concat, Abs, Round, Now, Cast, Trunc..., Extract..., Case, Exists, Subquery, "
				  "Count, Sum, Avg, Min, Max, StdDev, Variance, ArrayAgg, StringAgg, JSONBAgg, "
				  "BoolAnd, BoolOr, Window (docs/expressions.md).");
	for (i = 0; i < v->val.object.nPairs; i++)
	{
		char	   *k = QsTreeKey(&v->val.object.pairs[i].key);

		if (strcmp(k, fn->name) != 0 && !OptionAllowed(fn, k))
			ExprError(ctx, psprintf("unknown option \"%s\" of %s", k, fn->name),
					  fn->options[0] ? psprintf("%s takes: %s.", fn->name, fn->options)
					  : psprintf("%s takes no options.", fn->name));
	}

	switch (fn->kind)
	{
		case FN_F:
			if (arg->type != jbvString || arg->val.string.len == 0)
				ExprError(ctx, "F takes a field name", NULL);
			return CopyExpr(QsResolvePath(ctx, QsTreeKey(arg), false, NULL));
		case FN_OUTERREF:
			if (arg->type != jbvString || arg->val.string.len == 0)
				ExprError(ctx, "OuterRef takes a field name", NULL);
			return QsOuterRef(ctx, QsTreeKey(arg));
		case FN_VALUE:
			{
				JsonbValue *of = QsTreeGet(v, "output_field");
				Oid			type = InvalidOid;
				int32		typmod = -1;

				if (of)
					ParseType(ctx, of, &type, &typmod);
				return Literal(ctx, arg, hint, type, typmod);
			}
		case FN_ARITH:
			args = ArgList(ctx, fn, arg, 2, -1);
			exprs = CompileArgs(ctx, args, hint, NULL, NULL);
			foreach(lc, exprs)
			{
				QsExpr	   *e = (QsExpr *) lfirst(lc);

				if (res == NULL)
				{
					res = CopyExpr(e);
					continue;
				}
				res->sql = psprintf("(%s %s %s)", res->sql, QsOp(fn->sql, res->type, e->type), e->sql);
				res->type = OperResult(fn->sql, res->type, e->type);
				res->typmod = -1;
				res->nullable |= e->nullable;
				Absorb(res, e);
			}
			return res;
		case FN_VARIADIC:
			{
				StringInfoData buf;
				Oid			common;

				args = ArgList(ctx, fn, arg, 2, -1);
				exprs = CompileArgs(ctx, args, hint, fn->sql, &common);
				initStringInfo(&buf);
				res = MakeExpr(NULL, common);
				res->nullable = (fn->sql[0] != 'C');
				appendStringInfo(&buf, "%s(", fn->sql);
				foreach(lc, exprs)
				{
					QsExpr	   *e = (QsExpr *) lfirst(lc);

					appendStringInfo(&buf, "%s%s", lc == list_head(exprs) ? "" : ", ", e->sql);
					Absorb(res, e);
					if (fn->sql[0] == 'C' && !e->nullable)
						res->nullable = false;
				}
				appendStringInfoChar(&buf, ')');
				res->sql = buf.data;
				return res;
			}
		case FN_CONCAT:
			{
				StringInfoData buf;

				args = ArgList(ctx, fn, arg, 2, -1);
				exprs = CompileArgs(ctx, args, TEXTOID, NULL, NULL);
				initStringInfo(&buf);
				res = MakeExpr(NULL, TEXTOID);
				res->nullable = false;	/* concat() skips NULLs, as Django's Concat */
				appendStringInfoString(&buf, "pg_catalog.concat(");
				foreach(lc, exprs)
				{
					appendStringInfo(&buf, "%s%s", lc == list_head(exprs) ? "" : ", ",
									 ((QsExpr *) lfirst(lc))->sql);
					Absorb(res, (QsExpr *) lfirst(lc));
				}
				appendStringInfoChar(&buf, ')');
				res->sql = buf.data;
				return res;
			}
		default:
			break;
	}

	/* one-argument functions */
	if (fn->kind == FN_EXISTS)
	{
		res = MakeExpr(QsCompileSubquery(ctx, arg, true, NULL), BOOLOID);
		res->nullable = false;
		return res;
	}
	if (fn->kind == FN_SUBQUERY)
	{
		(void) QsCompileSubquery(ctx, arg, false, &res);
		return res;
	}
	if (fn->kind == FN_AGG)
		return CompileAggregate(ctx, fn, v, arg, false);
	if (fn->kind == FN_WINDOW)
		return CompileWindow(ctx, v, arg);
	if (fn->kind == FN_WINFN)
		ExprError(ctx, psprintf("%s is a window function", fn->name),
				  psprintf("Write {\"Window\": {\"%s\": ...}, \"order_by\": [...]}.", fn->name));
	if (fn->kind == FN_CASE)
		return CompileCase(ctx, v, arg, hint);
	if (fn->kind == FN_TRUNC)
		return CompileTrunc(ctx, fn, v, arg);
	if (fn->kind == FN_NOW)
	{
		(void) ArgList(ctx, fn, arg, 0, 0);
		res = MakeExpr("pg_catalog.now()", TIMESTAMPTZOID);
		res->nullable = false;
		return res;
	}
	if (fn->kind == FN_CAST || fn->kind == FN_WRAPPER)
	{
		JsonbValue *of = QsTreeGet(v, "output_field");
		Oid			type = InvalidOid;
		int32		typmod = -1;
		QsExpr	   *x;

		if (of == NULL && fn->kind == FN_CAST)
			ExprError(ctx, "Cast needs \"output_field\": a type such as \"numeric(10,2)\"", NULL);
		if (of)
			ParseType(ctx, of, &type, &typmod);
		args = ArgList(ctx, fn, arg, 1, 1);
		x = IsLiteralNode(linitial(args)) && OidIsValid(type)
			? QsCompileExpr(ctx, linitial(args), type) : QsCompileExpr(ctx, linitial(args), hint);
		if (fn->kind == FN_WRAPPER)
			return x;			/* Django's ExpressionWrapper only names the type */
		res = MakeExpr(psprintf("CAST(%s AS %s)", x->sql, TypeSql(type, typmod)), getBaseType(type));
		res->typmod = typmod;
		res->nullable = x->nullable;
		Absorb(res, x);
		return res;
	}

	args = ArgList(ctx, fn, arg, 1, 1);
	{
		QsExpr	   *x = QsCompileExpr(ctx, linitial(args), hint);

		switch (fn->kind)
		{
			case FN_TEXT:
				res = MakeExpr(psprintf("pg_catalog.%s((%s)::pg_catalog.text)", fn->sql, x->sql), TEXTOID);
				break;
			case FN_LENGTH:
				res = MakeExpr(psprintf("pg_catalog.length((%s)::pg_catalog.text)", x->sql), INT4OID);
				break;
			case FN_ABS:
				if (!IsNumberType(x->type) && x->type != INTERVALOID)
					ExprError(ctx, psprintf("Abs needs a number, got %s", format_type_be(x->type)), NULL);
				res = MakeExpr(psprintf("pg_catalog.abs(%s)", x->sql), x->type);
				break;
			case FN_ROUND:
				{
					JsonbValue *places = QsTreeGet(v, "places");

					if (!IsNumberType(x->type))
						ExprError(ctx, psprintf("Round needs a number, got %s", format_type_be(x->type)), NULL);
					if (places != NULL)
					{
						QsExpr	   *p;

						if (places->type != jbvNumeric)
							ExprError(ctx, "places must be an integer", NULL);
						p = Literal(ctx, places, InvalidOid, INT4OID, -1);
						res = MakeExpr(psprintf("pg_catalog.round((%s)::pg_catalog.\"numeric\", %s)",
												x->sql, p->sql), NUMERICOID);
					}
					else if (IsIntType(x->type))
						res = CopyExpr(x);
					else if (x->type == NUMERICOID)
						res = MakeExpr(psprintf("pg_catalog.round(%s)", x->sql), NUMERICOID);
					else
						res = MakeExpr(psprintf("pg_catalog.round((%s)::pg_catalog.float8)", x->sql), FLOAT8OID);
					break;
				}
			case FN_EXTRACT:
				{
					const char *part = fn->sql;

					if (part == NULL)
					{
						JsonbValue *ln = QsTreeGet(v, "lookup_name");

						if (ln == NULL || ln->type != jbvString)
							ExprError(ctx, "Extract needs \"lookup_name\", e.g. \"year\"", NULL);
						part = QsTreeKey(ln);
					}
					res = CopyExpr(x);
					if (!QsApplyTransform(ctx, res, part) || res->type != INT4OID)
						ExprError(ctx, psprintf("cannot extract \"%s\" from %s", part, format_type_be(x->type)),
								  "Parts are year, iso_year, quarter, month, week, day, week_day, "
								  "iso_week_day, hour, minute and second.");
					res->column = NULL;
					res->is_column_year = false;
					break;
				}
			default:
				elog(ERROR, "pg_queryset: unexpected expression kind %d", (int) fn->kind);
		}
		res->nullable = x->nullable;
		Absorb(res, x);
	}
	return res;
}

/*
 * Compile an expression.  hint: the type a literal should take when the
 * expression is one (InvalidOid: inferred).
 */
QsExpr *
QsCompileExpr(QsCompile *ctx, JsonbValue *v, Oid hint)
{
	QsExpr	   *e;

	check_stack_depth();
	CHECK_FOR_INTERRUPTS();
	if (++ctx->depth > qs_max_depth)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("expression is nested too deeply at %s", QsPathString(ctx)),
				 errdetail("The limit is %d levels (pg_queryset.max_depth).", qs_max_depth)));
	e = CompileNode(ctx, v, hint);
	ctx->depth--;
	return e;
}
