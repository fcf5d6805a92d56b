/*
 * param.c
 *	  Parameters: every value a caller supplies becomes one $n parameter.
 *
 * Owns adding a parameter to the statement, coercing a JSON value to a
 * column's type, the index of each data value of a spec (its place in the
 * walk QsShapeOf makes), and the recipe of each parameter (QsParamRecipe):
 * recorded when a shape is first compiled, replayed over another spec of
 * the same shape on a shape-cache hit (QsReplayRecipes), so a repeated shape
 * skips SQL generation.  Also the slice (LIMIT/OFFSET) parameters.
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
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "param.h"
#include "shape.h"
#include "spec.h"
#include "state.h"
#include "tenant.h"

static Datum RunRecipe(QsCompileState *ctx, QsParamRecipe *p, JsonbValue *v, bool *isnull);

/* parameters one statement may carry (the wire protocol allows 65535) */
#define QS_MAX_PARAMS 60000

/* Add a typed parameter and how it was computed; returns "$3". */
char *
QsAddParam(QsCompileState *ctx, Oid type, Datum value, bool isnull, QsParamRecipe *prod)
{
	if (ctx->nparams >= QS_MAX_PARAMS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("queryset has too many values"),
				 errdetail("A statement can carry at most %d parameters.", QS_MAX_PARAMS),
				 errhint("Use an \"in\" lookup with one array instead of many separate lookups.")));
	if (ctx->nparams >= ctx->maxparams)
	{
		int			newmax = Min(ctx->maxparams * 2, QS_MAX_PARAMS);

		ctx->ptypes = repalloc(ctx->ptypes, sizeof(Oid) * newmax);
		ctx->pvalues = repalloc(ctx->pvalues, sizeof(Datum) * newmax);
		ctx->pnulls = repalloc(ctx->pnulls, sizeof(bool) * newmax);
		ctx->recipes = repalloc(ctx->recipes, sizeof(QsParamRecipe) * newmax);
		ctx->maxparams = newmax;
	}
	ctx->recipes[ctx->nparams] = *prod;
	ctx->ptypes[ctx->nparams] = type;
	ctx->pvalues[ctx->nparams] = value;
	ctx->pnulls[ctx->nparams] = isnull;
	ctx->nparams++;
	return psprintf("$%d", ctx->nparams);
}

/* ---------------------------------------------------------------------
 * Data values
 * ---------------------------------------------------------------------
 *
 * Every data value of a spec (lookup values, Values inside expressions,
 * Prefetch and subquery limits) has an index: its position in the list
 * QsShapeOf collects.  Parameter recipes record that index, so a
 * cached shape replays them over another spec of the same shape.  The
 * compiler finds a value's index by its address in the spec tree, so the
 * order in which it compiles things never has to match the walk.
 */
typedef struct QsValueEnt
{
	JsonbValue *value;			/* hash key: the node's address */
	int			index;
} QsValueEnt;

/* Index the data values of the spec being compiled (QsShapeOf's walk). */
void
QsBuildValueIndex(QsCompileState *ctx)
{
	StringInfoData scratch;
	List	   *values;

	initStringInfo(&scratch);
	QsShapeOf(ctx->spec->tree, &scratch, &values);
	QsIndexValues(ctx, values);
}

/* Index the data values of a shape walk (position in the list). */
void
QsIndexValues(QsCompileState *ctx, List *values)
{
	HASHCTL		hc;
	ListCell   *lc;
	int			i = 0;

	memset(&hc, 0, sizeof(hc));
	hc.keysize = sizeof(JsonbValue *);
	hc.entrysize = sizeof(QsValueEnt);
	hc.hcxt = CurrentMemoryContext;
	ctx->vindex = hash_create("pg_queryset spec values", Max(16, list_length(values)), &hc,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	foreach(lc, values)
	{
		JsonbValue *v = (JsonbValue *) lfirst(lc);
		bool		found;
		QsValueEnt *ent = hash_search(ctx->vindex, &v, HASH_ENTER, &found);

		if (!found)
			ent->index = i;
		i++;
	}
	ctx->nlookups = list_length(values);
}

/* The index of a data value of the spec (see above). */
int
QsValueIndex(QsCompileState *ctx, JsonbValue *v)
{
	QsValueEnt *ent = ctx->vindex ? hash_search(ctx->vindex, &v, HASH_FIND, NULL) : NULL;

	if (ent == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("pg_queryset: a value at %s is missing from the shape of the spec",
						QsPathString(ctx))));
	return ent->index;
}

/*
 * " LIMIT $n OFFSET $m" of an inner queryset (a Prefetch queryset, a
 * Subquery): its limit and offset are data values of the spec, so a
 * cached shape replays them.
 */
void
QsAppendInnerSlice(QsCompileState *ctx, StringInfo buf, JsonbValue *inner)
{
	JsonbValue *lim = QsTreeGet(inner, "limit");
	JsonbValue *off = QsTreeGet(inner, "offset");
	int			save = ctx->cur_lookup;

	if (lim && lim->type != jbvNull)
	{
		ctx->cur_lookup = QsValueIndex(ctx, lim);
		appendStringInfo(buf, " LIMIT %s",
						 QsRecipeParam(ctx, QS_PARAM_COERCE, INT8OID, lim, "limit", NULL, false, false));
	}
	if (off && off->type != jbvNull)
	{
		ctx->cur_lookup = QsValueIndex(ctx, off);
		appendStringInfo(buf, " OFFSET %s",
						 QsRecipeParam(ctx, QS_PARAM_COERCE, INT8OID, off, "offset", NULL, false, false));
	}
	ctx->cur_lookup = save;
}

/* " LIMIT $n OFFSET $m" with the slice as parameters. */
void
QsAppendSlice(QsCompileState *ctx, StringInfo buf)
{
	/* an operand of a set operation: its slice is data of the combined spec */
	if (ctx->operand)
	{
		QsAppendInnerSlice(ctx, buf, ctx->spec->tree);
		return;
	}
	/* presence is part of the shape; the values are parameters */
	ctx->limit_value = ctx->spec->limit;
	ctx->offset_value = ctx->spec->offset;
	if (ctx->spec->has_limit)
		appendStringInfo(buf, " LIMIT %s",
						 QsRecipeParam(ctx, QS_PARAM_LIMIT, INT8OID, NULL, "limit", NULL,
										false, false));
	if (ctx->spec->has_offset)
		appendStringInfo(buf, " OFFSET %s",
						 QsRecipeParam(ctx, QS_PARAM_OFFSET, INT8OID, NULL, "offset", NULL,
										false, false));
}

/* Raise 22P02 naming the field. */
void
QsBadValue(QsCompileState *ctx, const char *field, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid value for field \"%s\": %s", field, why),
			 errdetail("At %s.", QsPathString(ctx))));
}

/* Text of a JSON scalar for a type's input function. */
static char *
ScalarText(QsCompileState *ctx, JsonbValue *v, const char *field, Oid type)
{
	if (v->type == jbvString || v->type == jbvNumeric || v->type == jbvBool)
		return QsTreeText(v);
	QsBadValue(ctx, field, psprintf("expected a value of type %s, got a JSON %s",
								  format_type_be(type), QsJsonTypeName(v)));
	return NULL;
}

/*
 * The input functions of the parameter types, looked up once per backend:
 * a shape-cache hit coerces every value, and looking the function up each
 * time (syscache probe, fmgr_info) was a visible part of a point lookup.
 * A few slots, replaced round-robin; emptied when any pg_type row changes.
 */
#define QS_INPUT_SLOTS 8

typedef struct QsInputFn
{
	Oid			type;			/* InvalidOid: an empty slot */
	Oid			typioparam;
	FmgrInfo	finfo;
} QsInputFn;

static struct
{
	MemoryContext cxt;
	QsInputFn	slots[QS_INPUT_SLOTS];
	int			next;			/* the slot to replace next */
	int			busy;			/* input functions of the slots running */
	bool		stale;			/* pg_type changed: empty the slots first */
} InputFns;

/*
 * pg_type changed: forget the looked-up functions, at the next lookup.
 * Not here: invalidations arrive while an input function runs (a catalog
 * lookup inside array_in), and its cached state lives in the context.
 */
static void
InputFnsInvalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	InputFns.stale = true;
}

/*
 * The input function of a type from the slots, or looked up into one;
 * NULL when a slot's function is running (an input function that calls
 * back into pg_queryset): the caller then looks it up itself.
 */
static QsInputFn *
InputFn(Oid type)
{
	QsInputFn  *f;
	Oid			typinput;
	int			i;

	if (InputFns.busy > 0)
		return NULL;
	if (InputFns.stale)
	{
		for (i = 0; i < QS_INPUT_SLOTS; i++)
			InputFns.slots[i].type = InvalidOid;
		MemoryContextReset(InputFns.cxt);
		InputFns.stale = false;
	}
	for (i = 0; i < QS_INPUT_SLOTS; i++)
		if (InputFns.slots[i].type == type)
			return &InputFns.slots[i];
	if (InputFns.cxt == NULL)
	{
		InputFns.cxt = AllocSetContextCreate(CacheMemoryContext, "pg_queryset input functions",
											 ALLOCSET_SMALL_SIZES);
		CacheRegisterSyscacheCallback(TYPEOID, InputFnsInvalidate, (Datum) 0);
	}
	f = &InputFns.slots[InputFns.next];
	InputFns.next = (InputFns.next + 1) % QS_INPUT_SLOTS;
	f->type = InvalidOid;
	getTypeInputInfo(type, &typinput, &f->typioparam);
	fmgr_info_cxt(typinput, &f->finfo, InputFns.cxt);
	f->type = type;
	return f;
}

/* Call a type's input function, re-raising a bad value as 22P02 naming the field. */
static Datum
InputValue(QsCompileState *ctx, const char *text, Oid type, const char *field)
{
	QsInputFn  *f = InputFn(type);
	volatile Datum result = (Datum) 0;
	MemoryContext oldcxt = CurrentMemoryContext;

	if (f != NULL)
		InputFns.busy++;
	PG_TRY();
	{
		if (f != NULL)
			result = InputFunctionCall(&f->finfo, (char *) text, f->typioparam, -1);
		else
		{
			Oid			typinput;
			Oid			typioparam;

			getTypeInputInfo(type, &typinput, &typioparam);
			result = OidInputFunctionCall(typinput, (char *) text, typioparam, -1);
		}
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		if (f != NULL)
			InputFns.busy--;
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		/* only data errors are rewritten; cancels and the like propagate */
		if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
			PG_RE_THROW();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid value for field \"%s\": %s", field, edata->message),
				 errdetail("At %s; the value must fit type %s.",
						   QsPathString(ctx), format_type_be(type))));
	}
	PG_END_TRY();
	if (f != NULL)
		InputFns.busy--;
	return result;
}

/*
 * Coerce a JSON value to a parameter of the given type.  JSON arrays
 * become PostgreSQL arrays (element by element), jsonb takes the value
 * as it is.  *isnull is set for JSON null; pass NULL to forbid nulls.
 */
Datum
QsCoerceValue(QsCompileState *ctx, JsonbValue *v, Oid type, const char *field, bool *isnull)
{
	Oid			elem;

	check_stack_depth();
	if (isnull)
		*isnull = false;
	if (v->type == jbvNull)
	{
		if (isnull == NULL)
			QsBadValue(ctx, field, "null is not allowed here");
		*isnull = true;
		return (Datum) 0;
	}
	if (type == JSONBOID)
		return JsonbPGetDatum(QsTreeToJsonb(v));

	elem = get_element_type(type);
	if (OidIsValid(elem))
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n;
		int			i;
		int			dims[1];
		int			lbs[1] = {1};
		int16		typlen;
		bool		typbyval;
		char		typalign;

		if (v->type != jbvArray)
			QsBadValue(ctx, field, psprintf("expected a JSON array, got %s", QsJsonTypeName(v)));
		n = v->val.array.nElems;
		elems = palloc(sizeof(Datum) * Max(n, 1));
		nulls = palloc(sizeof(bool) * Max(n, 1));
		for (i = 0; i < n; i++)
		{
			JsonbValue *ev = &v->val.array.elems[i];

			CHECK_FOR_INTERRUPTS();
			if (ev->type == jbvArray && elem != JSONBOID)
				QsBadValue(ctx, field, "nested arrays are not supported");
			elems[i] = QsCoerceValue(ctx, ev, elem, field, &nulls[i]);
		}
		dims[0] = n;
		get_typlenbyvalalign(elem, &typlen, &typbyval, &typalign);
		return PointerGetDatum(construct_md_array(elems, nulls, n > 0 ? 1 : 0, dims, lbs,
												  elem, typlen, typbyval, typalign));
	}
	return InputValue(ctx, ScalarText(ctx, v, field, type), type, field);
}

/* Escape LIKE wildcards (and the escape character) in a value. */
char *
QsLikeEscape(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (; *s; s++)
	{
		if (*s == '\\' || *s == '%' || *s == '_')
			appendStringInfoChar(&buf, '\\');
		appendStringInfoChar(&buf, *s);
	}
	return buf.data;
}

/* A string (or number) value of a text lookup. */
static char *
TextValue(QsCompileState *ctx, JsonbValue *v, const char *field, const char *lookup)
{
	if (v->type == jbvString || v->type == jbvNumeric)
		return QsTreeText(v);
	QsBadValue(ctx, field, psprintf("the lookup '%s' expects a string, got %s",
								  lookup, QsJsonTypeName(v)));
	return NULL;
}

/* Unwrap {"Value": x} to x. */
JsonbValue *
QsUnwrapValue(JsonbValue *v)
{
	JsonbValue *x;

	if (v->type == jbvObject && v->val.object.nPairs == 1 &&
		(x = QsTreeGet(v, "Value")) != NULL)
		return x;
	return v;
}

/*
 * Add the parameter for column i of a composite key value (kind
 * QS_PARAM_KEY: one key; QS_PARAM_IN_KEY / QS_PARAM_IDS_KEY: that column of
 * every key in a list, as an array) and remember how.
 */
char *
QsKeyParam(QsCompileState *ctx, QsParamKind kind, QsKey *k, int i, JsonbValue *v,
		 const char *field, const char *lookup)
{
	QsParamRecipe	p;
	Datum		d;
	bool		isnull;
	Oid			type = kind == QS_PARAM_KEY ? k->types[i] : get_array_type(k->types[i]);

	memset(&p, 0, sizeof(p));
	p.kind = kind;
	p.lookup = kind == QS_PARAM_IDS_KEY ? -1 : ctx->cur_lookup;
	p.type = type;
	p.field = (char *) field;
	p.path = QsPathString(ctx);
	p.lookup_name = (char *) lookup;
	p.keypart = i;
	p.nkeys = k->n;
	p.keyname = k->names[i];
	d = RunRecipe(ctx, &p, v, &isnull);
	p.field = pstrdup(field);
	p.path = pstrdup(p.path);
	p.lookup_name = lookup ? pstrdup(lookup) : NULL;
	p.keyname = pstrdup(k->names[i]);
	return QsAddParam(ctx, type, d, isnull, &p);
}

/*
 * Column p->keypart of a composite key value: {"col": v, ...} naming
 * exactly the key's columns, or [v, ...] in key order.
 */
static JsonbValue *
KeyPart(QsCompileState *ctx, QsParamRecipe *p, JsonbValue *v)
{
	JsonbValue *x = NULL;

	if (v->type == jbvObject && v->val.object.nPairs == p->nkeys)
		x = QsTreeGet(v, p->keyname);
	else if (v->type == jbvArray && v->val.array.nElems == p->nkeys)
		x = &v->val.array.elems[p->keypart];
	if (x == NULL)
		QsBadValue(ctx, p->field,
				 psprintf("a composite key is an object naming its %d columns or a list of %d values, got %s",
						  p->nkeys, p->nkeys,
						  v->type == jbvObject ? "another object" :
						  v->type == jbvArray ? "a list of another length" : QsJsonTypeName(v)));
	if (x->type == jbvNull)
		QsBadValue(ctx, p->field, psprintf("column \"%s\" of a key cannot be null", p->keyname));
	return x;
}

/*
 * An "in" list as one array parameter: None dropped, as Django drops it;
 * for a composite key (QS_PARAM_IN_KEY / IDS_KEY) the array of one key
 * column.  what names the list in the error for a value that is not one.
 */
static Datum
ListParam(QsCompileState *ctx, QsParamRecipe *p, JsonbValue *v, const char *what)
{
	JsonbValue	clean;
	bool		keys = (p->kind != QS_PARAM_IN);
	int			i;
	int			n = 0;

	if (v->type != jbvArray)
		QsBadValue(ctx, p->field, psprintf("the lookup 'in' expects %s, got %s", what,
										   QsJsonTypeName(v)));
	clean.type = jbvArray;
	clean.val.array.rawScalar = false;
	clean.val.array.elems = palloc(sizeof(JsonbValue) * Max(1, v->val.array.nElems));
	for (i = 0; i < v->val.array.nElems; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (v->val.array.elems[i].type != jbvNull)
			clean.val.array.elems[n++] = keys ? *KeyPart(ctx, p, &v->val.array.elems[i])
				: v->val.array.elems[i];
	}
	clean.val.array.nElems = n;
	return QsCoerceValue(ctx, &clean, p->type, p->field, NULL);
}

/* Compute one parameter from a lookup's (unwrapped) JSON value. */
static Datum
RunRecipe(QsCompileState *ctx, QsParamRecipe *p, JsonbValue *v, bool *isnull)
{
	*isnull = false;
	if (p->kind == QS_PARAM_TENANT)
		return QsTenantDatum(p->type, isnull);
	if (qs_validating_params && QsContainsParam(v))
	{
		*isnull = true;			/* a method's placeholder: any value of the type */
		return (Datum) 0;
	}
	switch (p->kind)
	{
		case QS_PARAM_COERCE:
		case QS_PARAM_IDS:
			return QsCoerceValue(ctx, v, p->type, p->field, NULL);
		case QS_PARAM_VALUE:
			return QsCoerceValue(ctx, v, p->type, p->field, isnull);
		case QS_PARAM_IN:
			return ListParam(ctx, p, v, "a list");
		case QS_PARAM_RANGE_LO:
		case QS_PARAM_RANGE_HI:
			if (v->type != jbvArray || v->val.array.nElems != 2)
				QsBadValue(ctx, p->field, "the lookup 'range' expects a list of two values [low, high]");
			if (v->val.array.elems[0].type == jbvNull || v->val.array.elems[1].type == jbvNull)
				QsBadValue(ctx, p->field, "the bounds of 'range' cannot be null");
			return QsCoerceValue(ctx, &v->val.array.elems[p->kind == QS_PARAM_RANGE_LO ? 0 : 1],
								 p->type, p->field, NULL);
		case QS_PARAM_TEXT:
			return CStringGetTextDatum(TextValue(ctx, v, p->field, p->lookup_name));
		case QS_PARAM_LIKE:
			return CStringGetTextDatum(psprintf("%s%s%s", p->pre ? "%" : "",
												QsLikeEscape(TextValue(ctx, v, p->field,
																	 p->lookup_name)),
												p->post ? "%" : ""));
		case QS_PARAM_KEY:
			return QsCoerceValue(ctx, KeyPart(ctx, p, v), p->type, p->field, NULL);
		case QS_PARAM_IN_KEY:
		case QS_PARAM_IDS_KEY:
			return ListParam(ctx, p, v, "a list of keys");
		case QS_PARAM_LIMIT:
			return Int64GetDatum(ctx->limit_value);
		case QS_PARAM_OFFSET:
			return Int64GetDatum(ctx->offset_value);
		case QS_PARAM_TENANT:
			break;				/* above */
	}
	elog(ERROR, "pg_queryset: unknown parameter recipe %d", (int) p->kind);
	return (Datum) 0;
}

/*
 * Add a parameter computed from a lookup value (v, already unwrapped)
 * and remember how, so a shape-cache hit can recompute it from another
 * spec of the same shape.  Returns the placeholder.
 */
char *
QsRecipeParam(QsCompileState *ctx, QsParamKind kind, Oid type, JsonbValue *v,
			   const char *field, const char *lookup, bool pre, bool post)
{
	QsParamRecipe	p;
	Datum		d;
	bool		isnull;

	memset(&p, 0, sizeof(p));
	p.kind = kind;
	p.lookup = ctx->cur_lookup;
	p.type = type;
	p.pre = pre;
	p.post = post;
	p.field = (char *) field;
	p.path = QsPathString(ctx);
	p.lookup_name = (char *) lookup;
	d = RunRecipe(ctx, &p, v, &isnull);
	p.field = pstrdup(field);
	p.path = pstrdup(p.path);
	p.lookup_name = lookup ? pstrdup(lookup) : NULL;
	return QsAddParam(ctx, type, d, isnull, &p);
}

/*
 * Replay the recipes of a cached shape over another spec of that
 * shape: lookups[] are its lookup values in walk order (as written,
 * {"Value": x} not yet unwrapped).  Errors name the field and path the
 * same way the first compile did.
 */
void
QsReplayRecipes(QsParamRecipe *recipes, int nparams, JsonbValue **lookups,
			 int64 limit, int64 offset, JsonbValue *ids, Datum *values, bool *nulls)
{
	QsCompileState	ctx;
	int			i;

	memset(&ctx, 0, sizeof(ctx));
	ctx.limit_value = limit;
	ctx.offset_value = offset;
	for (i = 0; i < nparams; i++)
	{
		QsParamRecipe *p = &recipes[i];
		JsonbValue *v = NULL;

		/* the recorded path, read only (messages), not copied */
		ctx.path.data = p->path;
		ctx.path.len = strlen(p->path);
		ctx.path.maxlen = ctx.path.len + 1;
		if (p->kind == QS_PARAM_IDS || p->kind == QS_PARAM_IDS_KEY)
			v = ids;
		else if (p->kind == QS_PARAM_VALUE)
			v = lookups[p->lookup];
		else if (p->lookup >= 0)
			v = QsUnwrapValue(lookups[p->lookup]);
		values[i] = RunRecipe(&ctx, p, v, &nulls[i]);
	}
}
