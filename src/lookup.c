/*
 * lookup.c
 *	  Django lookups: the table of lookups (one row each: its kind of SQL,
 *	  operator and the fields it applies to) and their predicates.
 *
 * A key "field__lookup" is split here; the field is resolved by path.c,
 * the value becomes a parameter with its recipe (param.c) or, for F() and
 * expressions, an expression (expr.c).  Composite keys compare column by
 * column.  NULL-safe negation (exclude() keeps rows whose field is NULL)
 * is decided in QsCompileLookup.  It must not execute SQL.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "access/transam.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "expr.h"
#include "exprfn.h"
#include "lookup.h"
#include "model.h"
#include "param.h"
#include "path.h"
#include "shape.h"
#include "spec.h"
#include "state.h"

/*
 * The lookups.  Each row names a lookup, the SQL shape it compiles to
 * (LookupKind), its operator and the kinds of field it applies to; a name
 * may have several rows (contains is containment on jsonb and arrays,
 * LIKE on the others), the first whose field kinds match wins, and a
 * name whose rows all miss is "unsupported lookup" (22023).
 *
 * Field kinds: a jsonb value (a column or a key path), its text when it
 * is a key (text lookups read ->>), an array, anything else.
 */
#define LF_SCALAR	0x01		/* not jsonb, not an array */
#define LF_JSONB	0x02		/* a jsonb column or expression */
#define LF_JSONKEY	0x04		/* a jsonb key path (text lookups read its text) */
#define LF_ARRAY	0x08
#define LF_ANY		(LF_SCALAR | LF_JSONB | LF_JSONKEY | LF_ARRAY)
#define LF_TEXT		(LF_SCALAR | LF_JSONKEY)

typedef enum LookupKind
{
	LK_EXACT,					/* = value; None: IS NULL (jsonb: JSON null) */
	LK_COMPARE,					/* < <= > >= value */
	LK_ISNULL,					/* IS [NOT] NULL (jsonb keys: key absence) */
	LK_IN,						/* = ANY (array), or a semi-join on a queryset */
	LK_RANGE,					/* BETWEEN low AND high */
	LK_CONTAINER,				/* jsonb / array operators @> <@ && */
	LK_HAS_KEY,					/* jsonb ? key */
	LK_HAS_KEYS,				/* jsonb ?& / ?| keys */
	LK_SEARCH,					/* full-text @@ plainto_tsquery */
	LK_IEXACT,					/* upper() = upper() */
	LK_REGEX,					/* ~ / ~* */
	LK_LIKE						/* [I]LIKE with the value's wildcards escaped */
} LookupKind;

struct LookupCall;

typedef struct LookupDef
{
	const char *name;
	LookupKind	kind;
	char	   *(*compile) (struct LookupCall *c);	/* writes its predicate */
	const char *op;				/* the operator (pg_catalog's), NULL where the kind knows */
	int			fields;			/* LF_*: the fields it applies to */
	bool		ci;				/* case-insensitive (iexact, icontains, ...) */
	bool		pre;			/* LIKE: a % before the value */
	bool		post;			/* LIKE: a % after the value */
} LookupDef;

static char *LkCompare(struct LookupCall *c);
static char *LkContainer(struct LookupCall *c);
static char *LkExact(struct LookupCall *c);
static char *LkHasKeys(struct LookupCall *c);
static char *LkIExact(struct LookupCall *c);
static char *LkIn(struct LookupCall *c);
static char *LkIsNull(struct LookupCall *c);
static char *LkLike(struct LookupCall *c);
static char *LkRange(struct LookupCall *c);
static char *LkRegex(struct LookupCall *c);
static char *LkSearch(struct LookupCall *c);

static const LookupDef Lookups[] = {
	/* name, kind, its function, operator, fields, ci, pre, post */
	{"exact", LK_EXACT, LkExact, "=", LF_ANY, false, false, false},
	{"iexact", LK_IEXACT, LkIExact, "=", LF_TEXT, true, false, false},
	{"gt", LK_COMPARE, LkCompare, ">", LF_ANY, false, false, false},
	{"gte", LK_COMPARE, LkCompare, ">=", LF_ANY, false, false, false},
	{"lt", LK_COMPARE, LkCompare, "<", LF_ANY, false, false, false},
	{"lte", LK_COMPARE, LkCompare, "<=", LF_ANY, false, false, false},
	{"isnull", LK_ISNULL, LkIsNull, NULL, LF_ANY, false, false, false},
	{"in", LK_IN, LkIn, "=", LF_ANY, false, false, false},
	{"range", LK_RANGE, LkRange, NULL, LF_ANY, false, false, false},
	{"contains", LK_CONTAINER, LkContainer, "@>", LF_JSONB | LF_JSONKEY | LF_ARRAY, false, false, false},
	{"contains", LK_LIKE, LkLike, NULL, LF_TEXT, false, true, true},
	{"icontains", LK_LIKE, LkLike, NULL, LF_TEXT, true, true, true},
	{"startswith", LK_LIKE, LkLike, NULL, LF_TEXT, false, false, true},
	{"istartswith", LK_LIKE, LkLike, NULL, LF_TEXT, true, false, true},
	{"endswith", LK_LIKE, LkLike, NULL, LF_TEXT, false, true, false},
	{"iendswith", LK_LIKE, LkLike, NULL, LF_TEXT, true, true, false},
	{"regex", LK_REGEX, LkRegex, "~", LF_TEXT, false, false, false},
	{"iregex", LK_REGEX, LkRegex, "~*", LF_TEXT, true, false, false},
	{"contained_by", LK_CONTAINER, LkContainer, "<@", LF_JSONB | LF_JSONKEY | LF_ARRAY, false, false, false},
	{"overlap", LK_CONTAINER, LkContainer, "&&", LF_ARRAY, false, false, false},
	{"has_key", LK_HAS_KEY, LkHasKeys, "?", LF_JSONB | LF_JSONKEY, false, false, false},
	{"has_keys", LK_HAS_KEYS, LkHasKeys, "?&", LF_JSONB | LF_JSONKEY, false, false, false},
	{"has_any_keys", LK_HAS_KEYS, LkHasKeys, "?|", LF_JSONB | LF_JSONKEY, false, false, false},
	{"search", LK_SEARCH, LkSearch, "@@", LF_ANY, false, false, false},
	{NULL}
};

/* Is name a lookup (as opposed to a transform or a field)? */
bool
QsIsLookupName(const char *name)
{
	int			i;

	for (i = 0; Lookups[i].name; i++)
		if (strcmp(Lookups[i].name, name) == 0)
			return true;
	return false;
}

/* ---------------------------------------------------------------------
 * Lookups
 * ---------------------------------------------------------------------
 */

/* LIKE and ILIKE as schema-qualified operators */
#define LIKE_CS "OPERATOR(pg_catalog.~~)"
#define LIKE_CI "OPERATOR(pg_catalog.~~*)"

/* The expression as text, for LIKE-family, regex and search lookups. */
static char *
TextExpr(QsExpr *e)
{
	if (e->jkey)
		return psprintf("(%s OPERATOR(pg_catalog.->>) %s)", e->jbase, e->jkey);
	if (e->type == TEXTOID || e->type == VARCHAROID)
		return e->sql;
	return psprintf("(%s)::pg_catalog.text", e->sql);
}

/* The same escaping in SQL, for a {"F": ...} right-hand side. */
static char *
LikeEscapeSql(const char *expr)
{
	/* E'' literals: correct whatever standard_conforming_strings is */
	return psprintf("pg_catalog.replace(pg_catalog.replace(pg_catalog.replace((%s)::pg_catalog.text, "
					"E'\\\\', E'\\\\\\\\'), '%%', E'\\\\%%'), '_', E'\\\\_')",
					expr);
}

/* Raise "unsupported lookup" for a field of this type (22023). */
static void
UnsupportedLookup(QsCompileState *ctx, const char *field, const char *lookup, Oid type)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unsupported lookup '%s' for field \"%s\" of type %s",
					lookup, field, format_type_be(type)),
			 errdetail("At %s.", QsPathString(ctx)),
			 errhint("See docs/lookups.md for the lookups each type supports.")));
}

/* Is v {"F": "path"}?  Returns the path or NULL. */
static char *
FieldRef(QsCompileState *ctx, JsonbValue *v)
{
	JsonbValue *f;

	if (v->type != jbvObject || v->val.object.nPairs != 1)
		return NULL;
	f = QsTreeGet(v, "F");
	if (f == NULL)
		return NULL;
	if (f->type != jbvString || f->val.string.len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid spec at %s.F: expected a field name, got %s",
						QsPathString(ctx), QsJsonTypeName(f))));
	return QsTreeKey(f);
}

/* The first row of a lookup that applies to these fields (LF_*), or NULL. */
static const LookupDef *
FindLookup(const char *name, int fields)
{
	int			i;

	for (i = 0; Lookups[i].name; i++)
		if (strcmp(Lookups[i].name, name) == 0 && (Lookups[i].fields & fields) != 0)
			return &Lookups[i];
	return NULL;
}

/* The operator of a comparison lookup (gt, gte, lt, lte); "=" otherwise. */
static const char *
CompareOp(const char *lookup)
{
	const LookupDef *d = FindLookup(lookup, LF_ANY);

	return d != NULL && d->kind == LK_COMPARE ? d->op : "=";
}

/*
 * Django's YearLookup: created_at__year__gte=2024 becomes a range on the
 * column itself (created_at >= make_date(2024, 1, 1)), so an index on the
 * column is usable.  Bounds are dates, so a timestamptz column is compared
 * at midnight in the session time zone, like Django's current time zone.
 */
static char *
YearPredicate(QsCompileState *ctx, QsExpr *e, const char *lookup, JsonbValue *v, const char *field)
{
	char	   *p = QsRecipeParam(ctx, QS_PARAM_COERCE, INT4OID, v, field, lookup, false, false);
	const char *src = e->year_source;

	const char *ge = QsOp(">=", e->column ? e->column->basetypid : DATEOID, InvalidOid);
	const char *lt = QsOp("<", e->column ? e->column->basetypid : DATEOID, InvalidOid);
	char	   *next = psprintf("%s OPERATOR(pg_catalog.+) 1", p);

	if (strcmp(lookup, "exact") == 0)
		return psprintf("(%s %s pg_catalog.make_date(%s, 1, 1) AND %s %s pg_catalog.make_date(%s, 1, 1))",
						src, ge, p, src, lt, next);
	if (strcmp(lookup, "gt") == 0)
		return psprintf("%s %s pg_catalog.make_date(%s, 1, 1)", src, ge, next);
	if (strcmp(lookup, "gte") == 0)
		return psprintf("%s %s pg_catalog.make_date(%s, 1, 1)", src, ge, p);
	if (strcmp(lookup, "lt") == 0)
		return psprintf("%s %s pg_catalog.make_date(%s, 1, 1)", src, lt, p);
	/* lte */
	return psprintf("%s %s pg_catalog.make_date(%s, 1, 1)", src, lt, next);
}

/*
 * "A composite key is in this list": a semi-join over the lists of each
 * column unnested side by side (one array parameter per column, so the
 * statement's shape does not depend on the list's length).  kind is
 * QS_PARAM_IN_KEY (a lookup) or QS_PARAM_IDS_KEY (in_bulk's id list).
 */
char *
QsKeyInList(QsCompileState *ctx, QsKey *k, QsParamKind kind, JsonbValue *v, const char *field)
{
	StringInfoData arrays;
	StringInfoData cols;
	StringInfoData match;
	int			i;

	initStringInfo(&arrays);
	initStringInfo(&cols);
	initStringInfo(&match);
	for (i = 0; i < k->n; i++)
	{
		appendStringInfo(&arrays, "%spg_catalog.unnest(%s)", i > 0 ? ", " : "",
						 QsKeyParam(ctx, kind, k, i, v, field, "in"));
		appendStringInfo(&cols, "%sk%d", i > 0 ? ", " : "", i + 1);
		appendStringInfo(&match, "%s%s %s qs_k.k%d", i > 0 ? " AND " : "", k->sql[i],
						 QsOp("=", k->types[i], InvalidOid), i + 1);
	}
	return psprintf("EXISTS (SELECT FROM ROWS FROM (%s) AS qs_k(%s) WHERE %s)",
					arrays.data, cols.data, match.data);
}

/*
 * A lookup on a composite key (QsKey): exact column by column, the
 * comparisons as the row comparison an expert writes for a keyset, in as
 * a semi-join (QsKeyInList), isnull as "some column is NULL" (no related
 * row, as a foreign key MATCH SIMPLE reads it).  Values are literal keys:
 * {"col": v, ...} or [v, ...] in key order.
 */
static char *
KeyPredicate(QsCompileState *ctx, QsKey *k, const char *lookup, JsonbValue *v,
			 const char *field, bool *null_safe)
{
	StringInfoData buf;
	int			i;

	if (FieldRef(ctx, v) != NULL || QsInQueryset(v) != NULL ||
		(QsIsExprObject(v) && QsTreeGet(v, "Value") == NULL))
	{
		StringInfoData names;

		initStringInfo(&names);
		for (i = 0; i < k->n; i++)
			appendStringInfo(&names, "%s%s", i > 0 ? ", " : "", k->names[i]);
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("the composite key \"%s\" can only be compared with literal keys", field),
				 errdetail("At %s.", QsPathString(ctx)),
				 errhint("Compare its columns (%s) one by one.", names.data)));
	}
	v = QsUnwrapValue(v);
	initStringInfo(&buf);
	if (strcmp(lookup, "isnull") == 0 || (strcmp(lookup, "exact") == 0 && v->type == jbvNull))
	{
		bool		want = true;

		*null_safe = true;
		if (strcmp(lookup, "isnull") == 0)
		{
			if (qs_validating_params && QsIsParam(v))
				return pstrdup("true");
			if (v->type != jbvBool)
				QsBadValue(ctx, field, psprintf("the lookup 'isnull' expects true or false, got %s",
											  QsJsonTypeName(v)));
			want = v->val.boolean;
		}
		for (i = 0; i < k->n; i++)
			appendStringInfo(&buf, "%s%s IS %sNULL", i == 0 ? "" : want ? " OR " : " AND ",
							 k->sql[i], want ? "" : "NOT ");
		return psprintf("(%s)", buf.data);
	}
	if (strcmp(lookup, "exact") == 0)
	{
		for (i = 0; i < k->n; i++)
			appendStringInfo(&buf, "%s%s %s %s", i > 0 ? " AND " : "", k->sql[i],
							 QsOp("=", k->types[i], InvalidOid),
							 QsKeyParam(ctx, QS_PARAM_KEY, k, i, v, field, lookup));
		return buf.data;
	}
	if (strcmp(lookup, "in") == 0)
	{
		if (v->type != jbvArray)
			QsBadValue(ctx, field, psprintf("the lookup 'in' expects a list of keys, got %s",
										  QsJsonTypeName(v)));
		return QsKeyInList(ctx, k, QS_PARAM_IN_KEY, v, field);
	}
	if (strcmp(lookup, "gt") == 0 || strcmp(lookup, "gte") == 0 ||
		strcmp(lookup, "lt") == 0 || strcmp(lookup, "lte") == 0)
	{
		const char *op = CompareOp(lookup);
		char	  **params = palloc(sizeof(char *) * k->n);
		bool		same = true;
		StringInfoData r;

		if (v->type == jbvNull)
			QsBadValue(ctx, field, "None (null) can only be used with exact, iexact and isnull");
		for (i = 0; i < k->n; i++)
		{
			params[i] = QsKeyParam(ctx, QS_PARAM_KEY, k, i, v, field, lookup);
			same = same && strcmp(QsOp(op, k->types[i], InvalidOid),
								  QsOp(op, k->types[0], InvalidOid)) == 0;
		}
		if (same)
		{
			/* ROW(a, b) > ROW($1, $2): one index range scan */
			initStringInfo(&r);
			for (i = 0; i < k->n; i++)
			{
				appendStringInfo(&buf, "%s%s", i > 0 ? ", " : "", k->sql[i]);
				appendStringInfo(&r, "%s%s", i > 0 ? ", " : "", params[i]);
			}
			return psprintf("ROW(%s) %s ROW(%s)", buf.data, QsOp(op, k->types[0], InvalidOid), r.data);
		}
		/* operators of different schemas: a > $1 OR (a = $1 AND b > $2) */
		for (i = k->n - 1; i >= 0; i--)
		{
			const char *cmp = i == k->n - 1 ? op : (op[0] == '>' ? ">" : "<");
			char	   *last = psprintf("%s %s %s", k->sql[i], QsOp(cmp, k->types[i], InvalidOid), params[i]);

			if (i == k->n - 1)
				appendStringInfoString(&buf, last);
			else
			{
				char	   *rest = pstrdup(buf.data);

				resetStringInfo(&buf);
				appendStringInfo(&buf, "(%s OR (%s %s %s AND %s))", last, k->sql[i],
								 QsOp("=", k->types[i], InvalidOid), params[i], rest);
			}
		}
		return buf.data;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unsupported lookup '%s' for the composite key \"%s\"", lookup, field),
			 errdetail("At %s.", QsPathString(ctx)),
			 errhint("A composite key takes exact, in, gt, gte, lt, lte and isnull; "
					 "name one of its columns for anything else.")));
	return NULL;
}

/* A lookup being compiled: the field, the value, and the row of the table. */
typedef struct LookupCall
{
	QsCompileState  *ctx;
	QsExpr	   *e;				/* the field */
	const LookupDef *def;
	const char *lookup;			/* its name as written */
	JsonbValue *v;				/* the value (unwrapped when a literal) */
	QsExpr	   *rhs;			/* the value when it is a field or an expression */
	const char *field;			/* for messages */
	Oid			type;
	bool		is_json;
	bool		is_array;
	bool	   *null_safe;		/* set: the predicate is never NULL */
} LookupCall;

/* The value of a lookup as a parameter of the field's type (or of type). */
static char *
LookupParam(LookupCall *c, QsParamKind kind, Oid type)
{
	return QsRecipeParam(c->ctx, kind, type, c->v, c->field, c->lookup, false, false);
}

/* "field <op> value" with the operator qualified for the types. */
static char *
Compare(LookupCall *c, const char *op)
{
	if (c->rhs)
		return psprintf("%s %s %s", c->e->sql, QsOp(op, c->type, c->rhs->type), c->rhs->sql);
	return psprintf("%s %s %s", c->e->sql, QsOp(op, c->type, InvalidOid),
					LookupParam(c, QS_PARAM_COERCE, c->type));
}

/* exact: "=", None as IS NULL (on jsonb: JSON null). */
static char *
LkExact(LookupCall *c)
{
	if (c->rhs)
		return Compare(c, "=");
	if (c->v->type == jbvNull)
	{
		/* Django: a jsonb field or key equal to None matches JSON null */
		if (c->is_json)
			return psprintf("%s OPERATOR(pg_catalog.=) 'null'::pg_catalog.jsonb", c->e->sql);
		*c->null_safe = true;
		return psprintf("%s IS NULL", c->e->sql);
	}
	if (c->e->is_column_year)
		return YearPredicate(c->ctx, c->e, c->lookup, c->v, c->field);
	/* the plan choice rule (plancache.c) wants to know */
	if (c->e->column != NULL && OidIsValid(c->e->relid) &&
		QsColumnSkewed(c->e->relid, c->e->column->attnum))
		c->ctx->skewed_param = true;
	return Compare(c, "=");
}

/* gt, gte, lt, lte. */
static char *
LkCompare(LookupCall *c)
{
	if (c->rhs)
		return Compare(c, c->def->op);
	if (c->v->type == jbvNull)
		QsBadValue(c->ctx, c->field, "None (null) can only be used with exact, iexact and isnull");
	if (c->e->is_column_year)
		return YearPredicate(c->ctx, c->e, c->lookup, c->v, c->field);
	return Compare(c, c->def->op);
}

/* isnull: true or false; a jsonb key is null when absent. */
static char *
LkIsNull(LookupCall *c)
{
	bool		want;

	if (qs_validating_params && QsIsParam(c->v))
	{
		*c->null_safe = true;
		return pstrdup("true");
	}
	if (c->v->type != jbvBool)
		QsBadValue(c->ctx, c->field, psprintf("the lookup 'isnull' expects true or false, got %s",
											  QsJsonTypeName(c->v)));
	want = c->v->val.boolean;
	*c->null_safe = true;
	if (c->e->jkey && !c->e->jkey_index)
		return psprintf("%scoalesce(%s OPERATOR(pg_catalog.?) %s, false)", want ? "NOT " : "",
						c->e->jbase, c->e->jkey);
	return psprintf("%s IS %sNULL", c->e->sql, want ? "" : "NOT ");
}

/* in: "= ANY ($n)" over one array parameter (an empty list matches nothing). */
static char *
LkIn(LookupCall *c)
{
	Oid			arrtype = get_array_type(c->type);

	if (c->rhs)
		QsBadValue(c->ctx, c->field, "the lookup 'in' expects a list of values, not a field");
	if (!OidIsValid(arrtype) || c->is_array)
		UnsupportedLookup(c->ctx, c->field, c->lookup, c->type);
	return psprintf("%s %s ANY(%s)", c->e->sql, QsOp("=", c->type, InvalidOid),
					LookupParam(c, QS_PARAM_IN, arrtype));
}

/* range: inclusive, parameters numbered low, then high. */
static char *
LkRange(LookupCall *c)
{
	char	   *lo;
	char	   *hi;

	if (c->rhs)
		QsBadValue(c->ctx, c->field, "the lookup 'range' expects a list of two values [low, high]");
	lo = LookupParam(c, QS_PARAM_RANGE_LO, c->type);
	hi = LookupParam(c, QS_PARAM_RANGE_HI, c->type);
	return psprintf("(%s %s %s AND %s %s %s)", c->e->sql, QsOp(">=", c->type, InvalidOid), lo,
					c->e->sql, QsOp("<=", c->type, InvalidOid), hi);
}

/* contains / contained_by / overlap on jsonb and arrays: @> <@ &&. */
static char *
LkContainer(LookupCall *c)
{
	return Compare(c, c->def->op);
}

/* has_key / has_keys / has_any_keys on jsonb. */
static char *
LkHasKeys(LookupCall *c)
{
	if (c->rhs)
		QsBadValue(c->ctx, c->field, psprintf("the lookup '%s' expects key names, not a field", c->lookup));
	if (c->def->kind == LK_HAS_KEY)
		return psprintf("%s OPERATOR(pg_catalog.?) %s", c->e->sql, LookupParam(c, QS_PARAM_TEXT, TEXTOID));
	return psprintf("%s OPERATOR(pg_catalog.%s) %s", c->e->sql, c->def->op,
					LookupParam(c, QS_PARAM_COERCE, TEXTARRAYOID));
}

/* search: full-text match of the field's text (or of a tsvector). */
static char *
LkSearch(LookupCall *c)
{
	char	   *p;

	if (c->rhs)
		QsBadValue(c->ctx, c->field, "the lookup 'search' expects a search string, not a field");
	p = LookupParam(c, QS_PARAM_TEXT, TEXTOID);
	if (c->type == TSVECTOROID)
		return psprintf("%s OPERATOR(pg_catalog.@@) pg_catalog.plainto_tsquery(%s)", c->e->sql, p);
	if (c->is_array)
		UnsupportedLookup(c->ctx, c->field, c->lookup, c->type);
	return psprintf("pg_catalog.to_tsvector(coalesce(%s, '')) OPERATOR(pg_catalog.@@) pg_catalog.plainto_tsquery(%s)",
					TextExpr(c->e), p);
}

/* iexact: upper() on both sides; None is isnull (key absence for keys). */
static char *
LkIExact(LookupCall *c)
{
	if (c->v->type == jbvNull && !c->rhs)
	{
		*c->null_safe = true;
		if (c->e->jkey && !c->e->jkey_index)
			return psprintf("NOT coalesce(%s OPERATOR(pg_catalog.?) %s, false)", c->e->jbase, c->e->jkey);
		return psprintf("%s IS NULL", c->e->sql);
	}
	return psprintf("pg_catalog.upper(%s) OPERATOR(pg_catalog.=) pg_catalog.upper(%s)", TextExpr(c->e),
					c->rhs ? psprintf("(%s)::pg_catalog.text", c->rhs->sql) :
					LookupParam(c, QS_PARAM_TEXT, TEXTOID));
}

/* regex / iregex on the field's text. */
static char *
LkRegex(LookupCall *c)
{
	return psprintf("%s OPERATOR(pg_catalog.%s) %s", TextExpr(c->e), c->def->op,
					c->rhs ? psprintf("(%s)::pg_catalog.text", c->rhs->sql) :
					LookupParam(c, QS_PARAM_TEXT, TEXTOID));
}

/* [i]contains, [i]startswith, [i]endswith: LIKE with the value's wildcards escaped. */
static char *
LkLike(LookupCall *c)
{
	const char *op = c->def->ci ? LIKE_CI : LIKE_CS;

	if (c->rhs)
		return psprintf("%s %s (%s%s%s)", TextExpr(c->e), op,
						c->def->pre ? "'%' OPERATOR(pg_catalog.||) " : "", LikeEscapeSql(c->rhs->sql),
						c->def->post ? " OPERATOR(pg_catalog.||) '%'" : "");
	return psprintf("%s %s %s", TextExpr(c->e), op,
					QsRecipeParam(c->ctx, QS_PARAM_LIKE, TEXTOID, c->v, c->field, c->lookup,
								   c->def->pre, c->def->post));
}

/*
 * The predicate of one lookup on a resolved field.  The value may be a
 * literal (a parameter), a field (F) or an expression; composite keys and
 * "in" with a queryset have their own forms.
 */
static char *
LookupPredicate(QsCompileState *ctx, QsExpr *e, const char *lookup, JsonbValue *v,
				const char *field, bool *null_safe)
{
	LookupCall	c;
	char	   *fref = FieldRef(ctx, v);
	JsonbValue *inner;
	int			fields;

	*null_safe = false;
	if (e->key != NULL)
		return KeyPredicate(ctx, e->key, lookup, v, field, null_safe);
	memset(&c, 0, sizeof(c));
	c.ctx = ctx;
	c.e = e;
	c.lookup = lookup;
	c.field = field;
	c.type = e->type;
	c.is_json = (c.type == JSONBOID);
	c.is_array = OidIsValid(get_element_type(c.type));
	c.null_safe = null_safe;
	/* field__in with a queryset: a semi-join, "<field> = ANY (SELECT value ...)" */
	if (strcmp(lookup, "in") == 0 && (inner = QsInQueryset(v)) != NULL)
	{
		QsExpr	   *val;
		char	   *subsql;
		int			save = ctx->path.len;

		if (v != inner)
			QsPathPush(ctx, ".Subquery");
		subsql = QsCompileInSubquery(ctx, inner, &val);
		QsPathPop(ctx, save);
		return psprintf("%s %s ANY %s", e->sql, QsOp("=", c.type, val->type), subsql);
	}
	if (fref)
	{
		int			save = ctx->path.len;

		QsPathPush(ctx, ".F");
		c.rhs = QsResolvePath(ctx, fref, false);
		QsPathPop(ctx, save);
	}
	else if (v->type == jbvObject && v->val.object.nPairs == 1 && QsTreeGet(v, "OuterRef") != NULL)
		c.rhs = QsCompileExpr(ctx, v, c.type);
	else if (!c.is_json && QsIsExprObject(v) && QsTreeGet(v, "Value") == NULL)
		c.rhs = QsCompileExpr(ctx, v, c.type);	/* {"price__gt": {"*": [{"F": "cost"}, 2]}} */
	else
		v = QsUnwrapValue(v);
	c.v = v;

	fields = c.is_array ? LF_ARRAY : !c.is_json ? LF_SCALAR : e->jkey ? LF_JSONKEY : LF_JSONB;
	c.def = FindLookup(lookup, fields);
	if (c.def == NULL)
	{
		UnsupportedLookup(ctx, field, lookup, c.type);
		return NULL;
	}
	return c.def->compile(&c);
}

/*
 * Compile "field__transform__lookup": value into a predicate.  Inside
 * $not, a lookup on a nullable expression is made two-valued (IS TRUE),
 * so exclude() keeps rows where the field is NULL, as Django does.
 */
char *
QsCompileLookup(QsCompileState *ctx, const char *key, JsonbValue *value, int index)
{
	List	   *parts = QsSplitPath(ctx, key);
	const char *lookup = NULL;
	char	   *field = pstrdup(key);
	QsExpr	   *e;
	bool		null_safe;
	char	   *pred;

	/* "price__gt": the field "price" and the lookup "gt" (a lone name is a field) */
	if (list_length(parts) > 1 && QsIsLookupName((char *) llast(parts)))
	{
		lookup = (char *) llast(parts);
		field[strlen(key) - strlen(lookup) - 2] = '\0';
	}
	ctx->cur_lookup = index;
	/* without a lookup, an unknown last part is named as the lookup it would be */
	e = QsResolvePath(ctx, field, lookup == NULL);
	if (lookup == NULL)
		lookup = "exact";
	/* resolving an annotation may have compiled other values meanwhile */
	ctx->cur_lookup = index;
	pred = LookupPredicate(ctx, e, lookup, value, field, &null_safe);
	if (ctx->negated > 0 && !null_safe &&
		(e->nullable || (value->type == jbvObject && QsIsExprObject(value) &&
						 QsTreeGet(value, "Value") == NULL)))
		return psprintf("((%s) IS TRUE)", pred);
	return psprintf("(%s)", pred);
}
