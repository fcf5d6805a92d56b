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

#include "miscadmin.h"

#include "access/htup_details.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "parser/parse_coerce.h"
#include "parser/parse_oper.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "aggregate.h"
#include "expr.h"
#include "exprfn.h"
#include "model.h"
#include "param.h"
#include "path.h"
#include "pg_queryset.h"
#include "qtree.h"
#include "shape.h"
#include "spec.h"
#include "state.h"
#include "transform.h"

/* ---------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------
 */

/* Raise "invalid expression at <path>" (22023) with an optional hint. */
void
QsExprError(QsCompileState *ctx, const char *msg, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid expression at %s: %s", QsPathString(ctx), msg),
			 hint ? errhint("%s", hint) : 0));
}

/* A new expression of this SQL text and type, nullable by default. */
QsExpr *
QsMakeExpr(char *sql, Oid type)
{
	QsExpr	   *e = palloc0(sizeof(QsExpr));

	e->sql = sql;
	e->type = type;
	e->typmod = -1;
	e->nullable = true;
	return e;
}

/* A copy of an expression with the column-only flags cleared. */
QsExpr *
QsCopyExpr(QsExpr *src)
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

/* smallint, integer or bigint? */
bool
QsIsIntType(Oid t)
{
	return t == INT2OID || t == INT4OID || t == INT8OID;
}

/* An integer, numeric or floating-point type? */
static bool
IsNumberType(Oid t)
{
	return QsIsIntType(t) || t == NUMERICOID || t == FLOAT4OID || t == FLOAT8OID;
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
bool
QsIsLiteralNode(JsonbValue *v)
{
	if (v->type == jbvNumeric || v->type == jbvBool || v->type == jbvNull)
		return true;
	if (qs_validating_params && QsIsParam(v))
		return true;			/* a method's placeholder takes its neighbour's type */
	return v->type == jbvObject && v->val.object.nPairs == 1 && QsTreeGet(v, "Value") != NULL;
}

/* A literal as a parameter of the given type (or its inferred type). */
QsExpr *
QsLiteralValue(QsCompileState *ctx, JsonbValue *v, Oid hint, Oid type, int32 typmod)
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
		e = QsMakeExpr(psprintf("v.l%d", idx), getBaseType(type));
		e->is_literal = true;
		return e;
	}
	ctx->cur_lookup = QsValueIndex(ctx, v);
	sql = QsRecipeParam(ctx, QS_PARAM_VALUE, type, v, "Value", NULL, false, false);
	ctx->cur_lookup = save;
	if (typmod >= 0)
		sql = psprintf("%s::%s", sql,
					   format_type_extended(type, typmod,
											FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY));
	e = QsMakeExpr(sql, getBaseType(type));
	e->typmod = typmod;
	e->is_literal = true;
	e->nullable = (v->type == jbvNull);
	return e;
}

/* A literal value as a parameter of the given (or hinted) type. */
QsExpr *
QsLiteral(QsCompileState *ctx, JsonbValue *v, Oid hint, Oid type, int32 typmod)
{
	return QsLiteralValue(ctx, v, hint, type, typmod);
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
QsAssignValue(QsCompileState *ctx, QsColumn *col, JsonbValue *v)
{
	if (QsIsAssignedExpression(col, v))
		return QsCompileExpr(ctx, v, col->basetypid)->sql;
	{
		/* a parameter named after the column, for messages */
		int			save = ctx->cur_lookup;
		char	   *p;

		ctx->cur_lookup = QsValueIndex(ctx, v);
		p = QsRecipeParam(ctx, QS_PARAM_VALUE, col->basetypid == JSONOID ? JSONBOID : col->typid, v,
						   col->name, NULL, false, false);
		ctx->cur_lookup = save;
		return col->basetypid == JSONOID ? psprintf("(%s)::pg_catalog.json", p) : p;
	}
}

/* output_field: a type name, resolved by PostgreSQL's type parser. */
static void
ParseType(QsCompileState *ctx, JsonbValue *v, Oid *type, int32 *typmod)
{
	if (v == NULL || v->type != jbvString || v->val.string.len == 0)
		QsExprError(ctx, "output_field must be a type name such as \"numeric(10,2)\"", NULL);
	QsParseTypeString(QsTreeKey(v), type, typmod);
}

/* A type's name for SQL text, schema-qualified. */
char *
QsTypeSql(Oid type, int32 typmod)
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
List *
QsArgList(QsCompileState *ctx, const QsFn *fn, JsonbValue *arg, int min, int max)
{
	List	   *args = NIL;
	int			i;

	if (arg->type == jbvArray)
		for (i = 0; i < arg->val.array.nElems; i++)
			args = lappend(args, &arg->val.array.elems[i]);
	else if (!(arg->type == jbvObject && arg->val.object.nPairs == 0) && arg->type != jbvNull)
		args = list_make1(arg);
	if (list_length(args) < min || (max >= 0 && list_length(args) > max))
		QsExprError(ctx, psprintf("%s takes %s%d argument%s, got %d", fn->name,
								max < 0 ? "at least " : (min == max ? "" : "at most "),
								max < 0 ? min : max, (max < 0 ? min : max) == 1 ? "" : "s",
								list_length(args)),
				  "Arguments are given as the function's value: {\"Coalesce\": [\"a\", \"b\"]}.");
	return args;
}

/* Carry what e is made of (aggregate, window) into the expression built over it. */
void
QsAbsorb(QsExpr *into, QsExpr *e)
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
CompileArgs(QsCompileState *ctx, List *args, Oid hint, const char *context, Oid *common)
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

		if (!QsIsLiteralNode(a))
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

/* The annotation or alias of this name in the spec being compiled, or NULL. */
QsAnnotation *
QsFindAnnotation(QsCompileState *ctx, const char *name)
{
	ListCell   *lc;

	if (ctx->spec == NULL)
		return NULL;			/* a write outside a queryset (bulk_update) */
	foreach(lc, ctx->spec->annotations)
		if (strcmp(((QsAnnotation *) lfirst(lc))->name, name) == 0)
			return (QsAnnotation *) lfirst(lc);
	return NULL;
}

/* The annotation hook of path resolution: a copy of the named annotation's expression. */
static QsExpr *
ResolveAnnotation(QsCompileState *ctx, const char *name)
{
	QsAnnotation *a = QsFindAnnotation(ctx, name);
	QsExpr	   *e;

	if (a == NULL)
		return NULL;
	e = palloc(sizeof(QsExpr));
	*e = *QsAnnotationExpr(ctx, a);
	e->column = NULL;
	e->is_column_year = false;
	e->is_literal = false;
	return e;
}

/* Let path resolution find the statement's annotations by name. */
void
QsUseAnnotations(QsCompileState *ctx)
{
	ctx->annotation_hook = ResolveAnnotation;
}

/* An annotation's expression, compiled once per compile at the statement's level. */
QsExpr *
QsAnnotationExpr(QsCompileState *ctx, QsAnnotation *a)
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

static bool ScanAggregate(QsCompileState *ctx, JsonbValue *v);

/* The annotation named by the first part of a path, if any. */
QsAnnotation *
QsPathAnnotation(QsCompileState *ctx, const char *path)
{
	const char *sep = strstr(path, "__");
	char	   *first = sep ? pnstrdup(path, sep - path) : (char *) path;

	return QsFindAnnotation(ctx, first);
}

/* Does the annotation contain an aggregate (directly or through another)? */
bool
QsAnnotationIsAggregate(QsCompileState *ctx, QsAnnotation *a)
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
QsQRefsAggregate(QsCompileState *ctx, const char *key, JsonbValue *value)
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
		QsAnnotation *a = QsPathAnnotation(ctx, key);

		if (a && QsAnnotationIsAggregate(ctx, a))
			return true;
	}
	if (value->type == jbvObject && QsIsExprObject(value))
		return ScanAggregate(ctx, value);
	return false;
}

/* Pre-scan an expression for aggregates at its own level. */
static bool
ScanAggregate(QsCompileState *ctx, JsonbValue *v)
{
	const QsFn *fn;
	JsonbValue *arg;
	int			i;

	check_stack_depth();
	switch (v->type)
	{
		case jbvString:
			{
				QsAnnotation *a = QsPathAnnotation(ctx, QsTreeKey(v));

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
	fn = QsObjectFn(v, &arg);
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

/* OuterRef("path"): a field of the queryset enclosing the current subquery. */
QsExpr *
QsOuterRef(QsCompileState *ctx, const char *path)
{
	QsScope    *save_scope = ctx->scope;
	List	   *save_stack = ctx->outer_stack;
	QsExpr	   *e;

	if (ctx->outer_stack == NIL)
		QsExprError(ctx, "OuterRef is only valid inside Exists, Subquery or $exists",
				  "Use {\"F\": path} for a field of the same row.");
	ctx->scope = (QsScope *) llast(ctx->outer_stack);
	ctx->outer_stack = list_truncate(list_copy(ctx->outer_stack), list_length(ctx->outer_stack) - 1);
	e = QsCopyExpr(QsResolvePath(ctx, path, false));
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

static char *CompileSubquery(QsCompileState *ctx, JsonbValue *specv, SubqueryKind kind, QsExpr **value);

/*
 * An inner queryset correlated with the current row through OuterRef:
 * EXISTS (...) or a scalar (SELECT value ...).  It may hold model, where,
 * order_by, values / values_list (one field, for Subquery), limit, offset.
 */
char *
QsCompileSubquery(QsCompileState *ctx, JsonbValue *specv, bool exists, QsExpr **value)
{
	return CompileSubquery(ctx, specv, exists ? SUB_EXISTS : SUB_SCALAR, value);
}

/*
 * The inner queryset of "field__in": (SELECT value FROM ...), for
 * "<field> = ANY (...)".  Its one values field, or its primary key when
 * it names none (Django's id__in=Model.objects.filter(...)).
 */
char *
QsCompileInSubquery(QsCompileState *ctx, JsonbValue *specv, QsExpr **value)
{
	return CompileSubquery(ctx, specv, SUB_IN, value);
}

/* The body of the three kinds of inner queryset. */
static char *
CompileSubquery(QsCompileState *ctx, JsonbValue *specv, SubqueryKind kind, QsExpr **value)
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
		QsExprError(ctx, psprintf("expected an inner queryset object, got %s", QsJsonTypeName(specv)),
				  "Write {\"model\": \"catalog_review\", \"where\": {\"product\": {\"OuterRef\": \"pk\"}}}.");
	for (i = 0; i < specv->val.object.nPairs; i++)
	{
		char	   *k = QsTreeKey(&specv->val.object.pairs[i].key);

		if (strcmp(k, "model") != 0 && strcmp(k, "where") != 0 && strcmp(k, "order_by") != 0 &&
			strcmp(k, "values") != 0 && strcmp(k, "values_list") != 0 && strcmp(k, "flat") != 0 &&
			strcmp(k, "limit") != 0 && strcmp(k, "offset") != 0)
			QsExprError(ctx, psprintf("invalid key \"%s\" in an inner queryset", k),
					  "An inner queryset holds model, where, order_by, values, limit and offset.");
	}
	if (QsTreeGet(specv, "model") == NULL)
		QsExprError(ctx, "an inner queryset needs \"model\"",
				  "Write {\"model\": \"catalog_review\", \"where\": {\"product\": {\"OuterRef\": \"pk\"}}}.");
	inner = QsSpecFromTree(specv);
	if (kind == SUB_IN && !inner->has_values)
		value_path = "pk";
	else if (kind == SUB_IN && list_length(inner->values) != 1)
		QsExprError(ctx, psprintf("the inner queryset of 'in' must select exactly one field, it selects %d",
								list_length(inner->values)),
				  "Write {\"id__in\": {\"model\": ..., \"where\": {...}, \"values\": [\"product_id\"]}}.");
	else if (!exists && (!inner->has_values || list_length(inner->values) != 1))
		QsExprError(ctx, "Subquery needs values (or values_list) with exactly one field",
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
		val = QsCopyExpr(QsResolvePath(ctx, value_path, false));
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
 * Expressions
 * ---------------------------------------------------------------------
 */

static const char *trunc_kinds[] = {
	"year", "quarter", "month", "week", "day", "hour", "minute", "second", "date", "time", NULL
};

/* Trunc* and TruncDate/TruncTime: date_trunc (in tzinfo) or a cast. */
static QsExpr *
CompileTrunc(QsCompileState *ctx, const QsFn *fn, JsonbValue *obj, JsonbValue *arg)
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
			QsExprError(ctx, "Trunc needs \"kind\": year, quarter, month, week, day, hour, minute or second", NULL);
		kind = QsTreeKey(k);
	}
	for (i = 0; trunc_kinds[i]; i++)
		if (strcmp(trunc_kinds[i], kind) == 0)
			known = true;
	if (!known || (fn->sql == NULL && (strcmp(kind, "date") == 0 || strcmp(kind, "time") == 0)))
		QsExprError(ctx, psprintf("unknown Trunc kind \"%s\"", kind),
				  "Kinds are year, quarter, month, week, day, hour, minute and second "
				  "(TruncDate and TruncTime for date and time).");
	x = QsCompileExpr(ctx, arg, InvalidOid);
	if (x->type != TIMESTAMPTZOID && x->type != TIMESTAMPOID && x->type != DATEOID)
		QsExprError(ctx, psprintf("%s needs a date or timestamp, got %s", fn->name, format_type_be(x->type)), NULL);
	if (tz && x->type != TIMESTAMPTZOID)
		QsExprError(ctx, "tzinfo applies to timestamp with time zone only", NULL);
	if (strcmp(kind, "date") == 0)
		res = QsMakeExpr(psprintf("(%s)::pg_catalog.date", x->sql), DATEOID);
	else if (strcmp(kind, "time") == 0)
	{
		if (x->type == DATEOID)
			QsExprError(ctx, "TruncTime needs a timestamp", NULL);
		res = QsMakeExpr(psprintf("(%s)::pg_catalog.\"time\"", x->sql), TIMEOID);
	}
	else if (x->type == DATEOID)
	{
		if (strcmp(kind, "hour") == 0 || strcmp(kind, "minute") == 0 || strcmp(kind, "second") == 0)
			QsExprError(ctx, psprintf("cannot truncate a date to the %s", kind), NULL);
		res = QsMakeExpr(psprintf("(pg_catalog.date_trunc('%s', (%s)::pg_catalog.\"timestamp\"))::pg_catalog.date",
								kind, x->sql), DATEOID);
	}
	else if (tz)
		res = QsMakeExpr(psprintf("pg_catalog.date_trunc('%s', %s, %s)", kind, x->sql,
								QsLiteralValue(ctx, tz, InvalidOid, TEXTOID, -1)->sql), x->type);
	else
		/* timestamptz: in the session's time zone, as Django's current time zone */
		res = QsMakeExpr(psprintf("pg_catalog.date_trunc('%s', %s)", kind, x->sql), x->type);
	QsAbsorb(res, x);
	res->nullable = x->nullable;
	return res;
}

/* Case/When: CASE WHEN <Q> THEN <expr> ... ELSE <default> END over a common type. */
static QsExpr *
CompileCase(QsCompileState *ctx, JsonbValue *obj, JsonbValue *arg, Oid hint)
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
		QsExprError(ctx, "Case takes a list of {\"When\": Q, \"then\": expression}", NULL);
	for (i = 0; i < arg->val.array.nElems; i++)
	{
		JsonbValue *w = &arg->val.array.elems[i];
		JsonbValue *q = QsTreeGet(w, "When");
		JsonbValue *then = QsTreeGet(w, "then");
		int			save_neg = ctx->negated;

		if (w->type != jbvObject || q == NULL || then == NULL || w->val.object.nPairs != 2)
			QsExprError(ctx, "each Case entry is {\"When\": Q, \"then\": expression}", NULL);
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
	res = QsMakeExpr(NULL, common);
	forboth(lc, exprs, lp, preds)
	{
		appendStringInfo(&buf, " WHEN %s THEN %s", (char *) lfirst(lp), ((QsExpr *) lfirst(lc))->sql);
		QsAbsorb(res, (QsExpr *) lfirst(lc));
	}
	if (dflt)
	{
		QsExpr	   *d = (QsExpr *) llast(exprs);

		appendStringInfo(&buf, " ELSE %s", d->sql);
		QsAbsorb(res, d);
	}
	appendStringInfoString(&buf, " END");
	res->sql = buf.data;
	return res;
}

/* +, -, *, /: left to right, each operator chosen for its operands' types. */
static QsExpr *
CompileArith(QsCompileState *ctx, const QsFn *fn, JsonbValue *arg, Oid hint)
{
	QsExpr	   *res = NULL;
	List	   *exprs;
	ListCell   *lc;

	exprs = CompileArgs(ctx, QsArgList(ctx, fn, arg, 2, -1), hint, NULL, NULL);
	foreach(lc, exprs)
	{
		QsExpr	   *e = (QsExpr *) lfirst(lc);

		if (res == NULL)
		{
			res = QsCopyExpr(e);
			continue;
		}
		res->sql = psprintf("(%s %s %s)", res->sql, QsOp(fn->sql, res->type, e->type), e->sql);
		res->type = OperResult(fn->sql, res->type, e->type);
		res->typmod = -1;
		res->nullable |= e->nullable;
		QsAbsorb(res, e);
	}
	return res;
}

/* Coalesce, Greatest, Least: over the arguments' common type. */
static QsExpr *
CompileVariadic(QsCompileState *ctx, const QsFn *fn, JsonbValue *arg, Oid hint)
{
	QsExpr	   *res;
	List	   *args;
	List	   *exprs;
	ListCell   *lc;
	StringInfoData buf;
	Oid			common;

	args = QsArgList(ctx, fn, arg, 2, -1);
	exprs = CompileArgs(ctx, args, hint, fn->sql, &common);
	initStringInfo(&buf);
	res = QsMakeExpr(NULL, common);
	res->nullable = (fn->sql[0] != 'C');
	appendStringInfo(&buf, "%s(", fn->sql);
	foreach(lc, exprs)
	{
		QsExpr	   *e = (QsExpr *) lfirst(lc);

		appendStringInfo(&buf, "%s%s", lc == list_head(exprs) ? "" : ", ", e->sql);
		QsAbsorb(res, e);
		if (fn->sql[0] == 'C' && !e->nullable)
			res->nullable = false;
	}
	appendStringInfoChar(&buf, ')');
	res->sql = buf.data;
	return res;
}

/*
 * Concat: the arguments' text, NULLs skipped as Django's Concat does, in
 * the form Django writes for PostgreSQL (COALESCE(x::text, '') || ...):
 * unlike concat(), which is STABLE, it is as immutable as its arguments'
 * text, so Citus accepts it in UPDATE ... SET over column references.
 */
static QsExpr *
CompileConcat(QsCompileState *ctx, const QsFn *fn, JsonbValue *arg)
{
	QsExpr	   *res;
	List	   *args;
	List	   *exprs;
	ListCell   *lc;
	StringInfoData buf;

	args = QsArgList(ctx, fn, arg, 2, -1);
	exprs = CompileArgs(ctx, args, TEXTOID, NULL, NULL);
	initStringInfo(&buf);
	res = QsMakeExpr(NULL, TEXTOID);
	res->nullable = false;	/* concat() skips NULLs, as Django's Concat */
	appendStringInfoChar(&buf, '(');
	foreach(lc, exprs)
	{
		appendStringInfo(&buf, "%sCOALESCE((%s)::pg_catalog.text, ''::pg_catalog.text)",
						 lc == list_head(exprs) ? "" : " OPERATOR(pg_catalog.||) ",
						 ((QsExpr *) lfirst(lc))->sql);
		QsAbsorb(res, (QsExpr *) lfirst(lc));
	}
	appendStringInfoChar(&buf, ')');
	res->sql = buf.data;
	return res;
}

/* Cast (to output_field) and ExpressionWrapper (names the type only). */
static QsExpr *
CompileCast(QsCompileState *ctx, const QsFn *fn, JsonbValue *v, JsonbValue *arg, Oid hint)
{
	QsExpr	   *res;
	List	   *args;
	JsonbValue *of = QsTreeGet(v, "output_field");
	Oid			type = InvalidOid;
	int32		typmod = -1;
	QsExpr	   *x;

	if (of == NULL && fn->kind == FN_CAST)
		QsExprError(ctx, "Cast needs \"output_field\": a type such as \"numeric(10,2)\"", NULL);
	if (of)
		ParseType(ctx, of, &type, &typmod);
	args = QsArgList(ctx, fn, arg, 1, 1);
	x = QsIsLiteralNode(linitial(args)) && OidIsValid(type)
		? QsCompileExpr(ctx, linitial(args), type) : QsCompileExpr(ctx, linitial(args), hint);
	if (fn->kind == FN_WRAPPER)
		return x;			/* Django's ExpressionWrapper only names the type */
	res = QsMakeExpr(psprintf("CAST(%s AS %s)", x->sql, QsTypeSql(type, typmod)), getBaseType(type));
	res->typmod = typmod;
	res->nullable = x->nullable;
	QsAbsorb(res, x);
	return res;
}

/* The one-argument functions: Lower, Upper, Length, Abs, Round, Extract... */
static QsExpr *
CompileUnary(QsCompileState *ctx, const QsFn *fn, JsonbValue *v, JsonbValue *arg, Oid hint)
{
	QsExpr	   *res = NULL;
	List	   *args;

	args = QsArgList(ctx, fn, arg, 1, 1);
	{
		QsExpr	   *x = QsCompileExpr(ctx, linitial(args), hint);

		switch (fn->kind)
		{
			case FN_TEXT:
				res = QsMakeExpr(psprintf("pg_catalog.%s((%s)::pg_catalog.text)", fn->sql, x->sql), TEXTOID);
				break;
			case FN_LENGTH:
				res = QsMakeExpr(psprintf("pg_catalog.length((%s)::pg_catalog.text)", x->sql), INT4OID);
				break;
			case FN_ABS:
				if (!IsNumberType(x->type) && x->type != INTERVALOID)
					QsExprError(ctx, psprintf("Abs needs a number, got %s", format_type_be(x->type)), NULL);
				res = QsMakeExpr(psprintf("pg_catalog.abs(%s)", x->sql), x->type);
				break;
			case FN_ROUND:
				{
					JsonbValue *places = QsTreeGet(v, "places");

					if (!IsNumberType(x->type))
						QsExprError(ctx, psprintf("Round needs a number, got %s", format_type_be(x->type)), NULL);
					if (places != NULL)
					{
						QsExpr	   *p;

						if (places->type != jbvNumeric)
							QsExprError(ctx, "places must be an integer", NULL);
						p = QsLiteralValue(ctx, places, InvalidOid, INT4OID, -1);
						res = QsMakeExpr(psprintf("pg_catalog.round((%s)::pg_catalog.\"numeric\", %s)",
												x->sql, p->sql), NUMERICOID);
					}
					else if (QsIsIntType(x->type))
						res = QsCopyExpr(x);
					else if (x->type == NUMERICOID)
						res = QsMakeExpr(psprintf("pg_catalog.round(%s)", x->sql), NUMERICOID);
					else
						res = QsMakeExpr(psprintf("pg_catalog.round((%s)::pg_catalog.float8)", x->sql), FLOAT8OID);
					break;
				}
			case FN_EXTRACT:
				{
					const char *part = fn->sql;

					if (part == NULL)
					{
						JsonbValue *ln = QsTreeGet(v, "lookup_name");

						if (ln == NULL || ln->type != jbvString)
							QsExprError(ctx, "Extract needs \"lookup_name\", e.g. \"year\"", NULL);
						part = QsTreeKey(ln);
					}
					res = QsCopyExpr(x);
					if (!QsApplyTransform(ctx, res, part) || res->type != INT4OID)
						QsExprError(ctx, psprintf("cannot extract \"%s\" from %s", part, format_type_be(x->type)),
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
		QsAbsorb(res, x);
	}
	return res;
}

/* Check an expression object's keys: its function, and options it takes. */
static const QsFn *
CheckFnObject(QsCompileState *ctx, JsonbValue *v, JsonbValue **arg)
{
	const QsFn *fn = QsObjectFn(v, arg);
	int			i;

	if (fn == NULL)
		QsExprError(ctx, "expected an expression object with one function key",
				  "Functions: F, Value, +, -, *, /, Coalesce, Greatest, Least, Lower, Upper, Length, "
				  "Concat, Abs, Round, Now, Cast, Trunc..., Extract..., Case, Exists, Subquery, "
				  "Count, Sum, Avg, Min, Max, StdDev, Variance, ArrayAgg, StringAgg, JSONBAgg, "
				  "BoolAnd, BoolOr, Window (docs/expressions.md).");
	for (i = 0; i < v->val.object.nPairs; i++)
	{
		char	   *k = QsTreeKey(&v->val.object.pairs[i].key);

		if (strcmp(k, fn->name) != 0 && !QsOptionAllowed(fn, k))
			QsExprError(ctx, psprintf("unknown option \"%s\" of %s", k, fn->name),
					  fn->options[0] ? psprintf("%s takes: %s.", fn->name, fn->options)
					  : psprintf("%s takes no options.", fn->name));
	}
	return fn;
}

/* Compile one expression node: a field, a literal, or a function object. */
static QsExpr *
CompileNode(QsCompileState *ctx, JsonbValue *v, Oid hint)
{
	const QsFn *fn;
	JsonbValue *arg = NULL;
	QsExpr	   *res = NULL;

	switch (v->type)
	{
		case jbvString:
			if (v->val.string.len == 0)
				QsExprError(ctx, "a field name is empty", NULL);
			return QsCopyExpr(QsResolvePath(ctx, QsTreeKey(v), false));
		case jbvArray:
			QsExprError(ctx, "expected an expression, got an array",
					  "Function arguments are the function's value: {\"Coalesce\": [\"a\", \"b\"]}.");
			break;
		case jbvObject:
			break;
		default:
			return QsLiteralValue(ctx, v, hint, InvalidOid, -1);
	}

	if (qs_validating_params && QsIsParam(v))
	{
		/* a method's placeholder: a value of the type it meets */
		Oid			t = OidIsValid(hint) ? hint : TEXTOID;

		return QsMakeExpr(psprintf("NULL::%s", QsTypeSql(t, -1)), t);
	}
	fn = CheckFnObject(ctx, v, &arg);
	switch (fn->kind)
	{
		case FN_F:
			if (arg->type != jbvString || arg->val.string.len == 0)
				QsExprError(ctx, "F takes a field name", NULL);
			return QsCopyExpr(QsResolvePath(ctx, QsTreeKey(arg), false));
		case FN_OUTERREF:
			if (arg->type != jbvString || arg->val.string.len == 0)
				QsExprError(ctx, "OuterRef takes a field name", NULL);
			return QsOuterRef(ctx, QsTreeKey(arg));
		case FN_VALUE:
			{
				JsonbValue *of = QsTreeGet(v, "output_field");
				Oid			type = InvalidOid;
				int32		typmod = -1;

				if (of)
					ParseType(ctx, of, &type, &typmod);
				return QsLiteralValue(ctx, arg, hint, type, typmod);
			}
		case FN_ARITH:
			return CompileArith(ctx, fn, arg, hint);
		case FN_VARIADIC:
			return CompileVariadic(ctx, fn, arg, hint);
		case FN_CONCAT:
			return CompileConcat(ctx, fn, arg);
		case FN_EXISTS:
			res = QsMakeExpr(QsCompileSubquery(ctx, arg, true, NULL), BOOLOID);
			res->nullable = false;
			return res;
		case FN_SUBQUERY:
			(void) QsCompileSubquery(ctx, arg, false, &res);
			return res;
		case FN_AGG:
			return QsCompileAggregate(ctx, fn, v, arg, false);
		case FN_WINDOW:
			return QsCompileWindow(ctx, v, arg);
		case FN_WINFN:
			QsExprError(ctx, psprintf("%s is a window function", fn->name),
						psprintf("Write {\"Window\": {\"%s\": ...}, \"order_by\": [...]}.", fn->name));
			break;
		case FN_CASE:
			return CompileCase(ctx, v, arg, hint);
		case FN_TRUNC:
			return CompileTrunc(ctx, fn, v, arg);
		case FN_NOW:
			(void) QsArgList(ctx, fn, arg, 0, 0);
			res = QsMakeExpr("pg_catalog.now()", TIMESTAMPTZOID);
			res->nullable = false;
			return res;
		case FN_CAST:
		case FN_WRAPPER:
			return CompileCast(ctx, fn, v, arg, hint);
		default:
			break;
	}
	return CompileUnary(ctx, fn, v, arg, hint);
}

/*
 * Compile an expression.  hint: the type a literal should take when the
 * expression is one (InvalidOid: inferred).
 */
QsExpr *
QsCompileExpr(QsCompileState *ctx, JsonbValue *v, Oid hint)
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

/* One ORDER BY element over an expression. */
char *
QsOrderClause(const char *expr, QsOrderItem *o)
{
	return psprintf("%s%s%s", expr, o->desc ? " DESC" : "",
					o->nulls == 1 ? " NULLS FIRST" : o->nulls == 2 ? " NULLS LAST" : "");
}

/*
 * A list of QsOrderItem compiled: one expression per ORDER BY element
 * (NULL for a random order) into *exprs, and its item into *items; a
 * composite key orders by its columns, as Django does.
 */
void
QsOrderLists(QsCompileState *ctx, List *order_by, List **exprs, List **items)
{
	ListCell   *lc;

	foreach(lc, order_by)
	{
		QsOrderItem *o = (QsOrderItem *) lfirst(lc);
		QsExpr	   *e;
		int			i;

		if (o->path == NULL)
		{
			*exprs = lappend(*exprs, NULL);
			*items = lappend(*items, o);
			continue;
		}
		e = o->expr ? QsCompileExpr(ctx, o->expr, InvalidOid) : QsResolvePath(ctx, o->path, false);
		for (i = 0; i < (e->key != NULL ? e->key->n : 1); i++)
		{
			*exprs = lappend(*exprs, e->key != NULL ? e->key->sql[i] : e->sql);
			*items = lappend(*items, o);
		}
	}
}

/* "a DESC, b" over compiled ORDER BY elements (NULL: random()). */
void
QsAppendOrderList(StringInfo buf, List *exprs, List *items)
{
	ListCell   *le;
	ListCell   *li;
	int			n = 0;

	forboth(le, exprs, li, items)
		appendStringInfo(buf, "%s%s", n++ > 0 ? ", " : "",
						 lfirst(le) ? QsOrderClause((char *) lfirst(le), (QsOrderItem *) lfirst(li))
						 : "pg_catalog.random()");
}

/*
 * The ORDER BY elements as extra output columns of a subquery (", e1 AS
 * o1, e2 AS o2" appended to target) and the same order over them for the
 * aggregate that collects its rows ("alias.o1 DESC, alias.o2"), or NULL
 * when there is no order to keep (random() keeps none).  A distributed
 * engine (Citus) gathers the rows of several shards in no order: the
 * aggregate must carry its own ORDER BY.
 */
char *
QsOrderColumns(StringInfo target, List *exprs, List *items, const char *alias)
{
	ListCell   *le;
	ListCell   *li;
	int			n = 0;
	StringInfoData agg;

	initStringInfo(&agg);
	forboth(le, exprs, li, items)
	{
		n++;
		if (lfirst(le) == NULL)
			continue;
		appendStringInfo(target, ", %s AS o%d", (char *) lfirst(le), n);
		appendStringInfo(&agg, "%s%s", agg.len > 0 ? ", " : "",
						 QsOrderClause(psprintf("%s.o%d", alias, n), (QsOrderItem *) lfirst(li)));
	}
	return agg.len > 0 ? agg.data : NULL;
}

/* "a DESC, b" over a list of QsOrderItem (windows, subqueries). */
void
QsOrderSql(QsCompileState *ctx, StringInfo buf, List *order_by)
{
	List	   *exprs = NIL;
	List	   *items = NIL;

	QsOrderLists(ctx, order_by, &exprs, &items);
	QsAppendOrderList(buf, exprs, items);
}
