/*
 * lookup.c
 *	  Django lookups and transforms, and coercion of JSON values to
 *	  column types.
 *
 * Owns: the table of lookup names, which transforms apply to which types
 * (date parts, jsonb keys, array index and len), the SQL predicate of each
 * lookup, and turning a JSON value into a typed parameter Datum.  Every
 * value becomes a parameter; the only literals written into SQL text are
 * jsonb key names, quoted with quote_literal_cstr(), so that expression
 * indexes on (metadata -> 'color') (comparisons) or (metadata ->> 'color')
 * (text lookups) can match.  It must not execute SQL.
 */
#include "postgres.h"

#include "access/transam.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "pg_queryset.h"

/* every lookup name (the last part of a path); transforms are separate */
static const char *const LookupNames[] = {
	"exact", "iexact", "contains", "icontains", "in", "gt", "gte", "lt", "lte",
	"startswith", "istartswith", "endswith", "iendswith", "range", "isnull",
	"regex", "iregex", "has_key", "has_keys", "has_any_keys", "contained_by",
	"overlap", "search", NULL
};

/* Is name a lookup (as opposed to a transform or a field)? */
bool
QsIsLookupName(const char *name)
{
	int			i;

	for (i = 0; LookupNames[i]; i++)
		if (strcmp(LookupNames[i], name) == 0)
			return true;
	return false;
}

static bool
IsDateTimeType(Oid t)
{
	return t == DATEOID || t == TIMESTAMPOID || t == TIMESTAMPTZOID;
}

static bool
IsTimestampType(Oid t)
{
	return t == TIMESTAMPOID || t == TIMESTAMPTZOID;
}

static bool
IsTimeType(Oid t)
{
	return t == TIMEOID || t == TIMETZOID || IsTimestampType(t);
}

/* all digits: a jsonb array index or an array subscript */
static bool
IsIndex(const char *s)
{
	const char *p = s;

	if (*p == '-')
		p++;
	if (*p == '\0' || strlen(p) > 9)
		return false;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

/* Replace the expression after a transform. */
static void
SetExpr(QsExpr *e, char *sql, Oid type)
{
	e->sql = sql;
	e->type = type;
	e->typmod = -1;
	e->column = NULL;
	e->is_column_year = false;
	e->year_source = NULL;
	e->jbase = NULL;
	e->jkey = NULL;
	e->jkey_index = false;
}

/*
 * Apply a transform to an expression if it applies to its type.
 * Returns false when name is not a transform of that type.
 */
bool
QsApplyTransform(QsCompile *ctx, QsExpr *e, const char *name)
{
	static const struct
	{
		const char *name;
		const char *field;		/* EXTRACT field */
		int			kind;		/* 0 date parts, 1 time parts */
	}			parts[] = {
		{"year", "YEAR", 0}, {"iso_year", "ISOYEAR", 0}, {"month", "MONTH", 0},
		{"day", "DAY", 0}, {"week", "WEEK", 0}, {"week_day", "DOW", 0},
		{"iso_week_day", "ISODOW", 0}, {"quarter", "QUARTER", 0},
		{"hour", "HOUR", 1}, {"minute", "MINUTE", 1}, {"second", "SECOND", 1},
		{NULL, NULL, 0}
	};
	int			i;

	/* date and time parts */
	for (i = 0; parts[i].name; i++)
	{
		char	   *sql;
		bool		bare;

		if (strcmp(parts[i].name, name) != 0)
			continue;
		/* not a date/time: "year" may still be a jsonb key */
		if (parts[i].kind == 0 && !IsDateTimeType(e->type))
			break;
		if (parts[i].kind == 1 && !IsTimeType(e->type))
			break;
		bare = (e->column != NULL);
		if (strcmp(name, "week_day") == 0)
			sql = psprintf("(EXTRACT(DOW FROM %s)::pg_catalog.int4 OPERATOR(pg_catalog.+) 1)", e->sql);
		else if (strcmp(name, "second") == 0)
			sql = psprintf("pg_catalog.floor(EXTRACT(SECOND FROM %s))::pg_catalog.int4", e->sql);
		else
			sql = psprintf("EXTRACT(%s FROM %s)::pg_catalog.int4", parts[i].field, e->sql);
		if (strcmp(name, "year") == 0 && bare)
		{
			char	   *src = e->sql;

			SetExpr(e, sql, INT4OID);
			e->is_column_year = true;
			e->year_source = src;
		}
		else
			SetExpr(e, sql, INT4OID);
		return true;
	}
	if (strcmp(name, "date") == 0 && IsTimestampType(e->type))
	{
		SetExpr(e, psprintf("(%s)::pg_catalog.date", e->sql), DATEOID);
		return true;
	}
	if (strcmp(name, "time") == 0 && IsTimestampType(e->type))
	{
		SetExpr(e, psprintf("(%s)::pg_catalog.\"time\"", e->sql), TIMEOID);
		return true;
	}

	/* jsonb key and index transforms */
	if (e->type == JSONBOID)
	{
		char	   *base = e->sql;
		char	   *key;
		bool		index = IsIndex(name);

		key = index ? psprintf("%d", atoi(name)) : quote_literal_cstr(name);
		SetExpr(e, psprintf("(%s OPERATOR(pg_catalog.->) %s)", base, key), JSONBOID);
		e->jbase = base;
		e->jkey = key;
		e->jkey_index = index;
		e->nullable = true;
		return true;
	}

	/* arrays: len and 0-based index (Django's ArrayField) */
	if (OidIsValid(get_element_type(e->type)))
	{
		Oid			elem = get_element_type(e->type);

		if (strcmp(name, "len") == 0)
		{
			SetExpr(e, psprintf("pg_catalog.cardinality(%s)", e->sql), INT4OID);
			return true;
		}
		if (IsIndex(name) && name[0] != '-')
		{
			SetExpr(e, psprintf("(%s)[%d]", e->sql, atoi(name) + 1), elem);
			e->nullable = true;
			return true;
		}
	}
	(void) ctx;
	return false;
}

/* ---------------------------------------------------------------------
 * Values
 * ---------------------------------------------------------------------
 */

/* Raise 22P02 naming the field. */
static void
BadValue(QsCompile *ctx, const char *field, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid value for field \"%s\": %s", field, why),
			 errdetail("At %s.", QsPathString(ctx))));
}

/* Text of a JSON scalar for a type's input function. */
static char *
ScalarText(QsCompile *ctx, JsonbValue *v, const char *field, Oid type)
{
	if (v->type == jbvString || v->type == jbvNumeric || v->type == jbvBool)
		return QsTreeText(v);
	BadValue(ctx, field, psprintf("expected a value of type %s, got a JSON %s",
								  format_type_be(type), QsJsonTypeName(v)));
	return NULL;
}

/* Call a type's input function, re-raising a bad value as 22P02 naming the field. */
static Datum
InputValue(QsCompile *ctx, const char *text, Oid type, const char *field)
{
	Oid			typinput;
	Oid			typioparam;
	volatile Datum result = (Datum) 0;
	MemoryContext oldcxt = CurrentMemoryContext;

	getTypeInputInfo(type, &typinput, &typioparam);
	PG_TRY();
	{
		result = OidInputFunctionCall(typinput, (char *) text, typioparam, -1);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

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
	return result;
}

/*
 * Coerce a JSON value to a parameter of the given type.  JSON arrays
 * become PostgreSQL arrays (element by element), jsonb takes the value
 * as it is.  *isnull is set for JSON null; pass NULL to forbid nulls.
 */
Datum
QsCoerceValue(QsCompile *ctx, JsonbValue *v, Oid type, const char *field, bool *isnull)
{
	Oid			elem;

	check_stack_depth();
	if (isnull)
		*isnull = false;
	if (v->type == jbvNull)
	{
		if (isnull == NULL)
			BadValue(ctx, field, "null is not allowed here");
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
			BadValue(ctx, field, psprintf("expected a JSON array, got %s", QsJsonTypeName(v)));
		n = v->val.array.nElems;
		elems = palloc(sizeof(Datum) * Max(n, 1));
		nulls = palloc(sizeof(bool) * Max(n, 1));
		for (i = 0; i < n; i++)
		{
			JsonbValue *ev = &v->val.array.elems[i];

			CHECK_FOR_INTERRUPTS();
			if (ev->type == jbvArray && elem != JSONBOID)
				BadValue(ctx, field, "nested arrays are not supported");
			elems[i] = QsCoerceValue(ctx, ev, elem, field, &nulls[i]);
		}
		dims[0] = n;
		get_typlenbyvalalign(elem, &typlen, &typbyval, &typalign);
		return PointerGetDatum(construct_md_array(elems, nulls, n > 0 ? 1 : 0, dims, lbs,
												  elem, typlen, typbyval, typalign));
	}
	return InputValue(ctx, ScalarText(ctx, v, field, type), type, field);
}

/* ---------------------------------------------------------------------
 * Lookups
 * ---------------------------------------------------------------------
 */

/* LIKE and ILIKE as schema-qualified operators */
#define LIKE_CS "OPERATOR(pg_catalog.~~)"
#define LIKE_CI "OPERATOR(pg_catalog.~~*)"

/*
 * An operator token.  When both operand types are built in, the operator
 * is written OPERATOR(pg_catalog.op), so no schema on the search_path can
 * capture it; operators of extension types (citext, ...) are resolved
 * through the search_path as the caller's own SQL would be.
 */
const char *
QsOp(const char *op, Oid ltype, Oid rtype)
{
	if (ltype < FirstGenbkiObjectId && (!OidIsValid(rtype) || rtype < FirstGenbkiObjectId))
		return psprintf("OPERATOR(pg_catalog.%s)", op);
	return op;
}

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

/* Escape LIKE wildcards (and the escape character) in a value. */
static char *
LikeEscape(const char *s)
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

/* The same escaping in SQL, for a {"F": ...} right-hand side. */
static char *
LikeEscapeSql(const char *expr)
{
	/* E'' literals: correct whatever standard_conforming_strings is */
	return psprintf("pg_catalog.replace(pg_catalog.replace(pg_catalog.replace((%s)::pg_catalog.text, "
					"E'\\\\', E'\\\\\\\\'), '%%', E'\\\\%%'), '_', E'\\\\_')",
					expr);
}

/* A string (or number) value of a text lookup. */
static char *
TextValue(QsCompile *ctx, JsonbValue *v, const char *field, const char *lookup)
{
	if (v->type == jbvString || v->type == jbvNumeric)
		return QsTreeText(v);
	BadValue(ctx, field, psprintf("the lookup '%s' expects a string, got %s",
								  lookup, QsJsonTypeName(v)));
	return NULL;
}

static void
UnsupportedLookup(QsCompile *ctx, const char *field, const char *lookup, Oid type)
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
FieldRef(QsCompile *ctx, JsonbValue *v)
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

/* Unwrap {"Value": x} to x. */
static JsonbValue *
UnwrapValue(JsonbValue *v)
{
	JsonbValue *x;

	if (v->type == jbvObject && v->val.object.nPairs == 1 &&
		(x = QsTreeGet(v, "Value")) != NULL)
		return x;
	return v;
}

static const char *
CompareOp(const char *lookup)
{
	if (strcmp(lookup, "gt") == 0)
		return ">";
	if (strcmp(lookup, "gte") == 0)
		return ">=";
	if (strcmp(lookup, "lt") == 0)
		return "<";
	if (strcmp(lookup, "lte") == 0)
		return "<=";
	return "=";
}

/*
 * Django's YearLookup: created_at__year__gte=2024 becomes a range on the
 * column itself (created_at >= make_date(2024, 1, 1)), so an index on the
 * column is usable.  Bounds are dates, so a timestamptz column is compared
 * at midnight in the session time zone, like Django's current time zone.
 */
static char *
YearPredicate(QsCompile *ctx, QsExpr *e, const char *lookup, JsonbValue *v, const char *field)
{
	char	   *p = QsProduceParam(ctx, QS_PROD_COERCE, INT4OID, v, field, lookup, false, false);
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

static Datum Produce(QsCompile *ctx, QsProducer *p, JsonbValue *v, bool *isnull);

/*
 * Add the parameter for column i of a composite key value (kind
 * QS_PROD_KEY: one key; QS_PROD_IN_KEY / QS_PROD_IDS_KEY: that column of
 * every key in a list, as an array) and remember how.
 */
static char *
KeyParam(QsCompile *ctx, QsProdKind kind, QsKey *k, int i, JsonbValue *v,
		 const char *field, const char *lookup)
{
	QsProducer	p;
	Datum		d;
	bool		isnull;
	Oid			type = kind == QS_PROD_KEY ? k->types[i] : get_array_type(k->types[i]);

	memset(&p, 0, sizeof(p));
	p.kind = kind;
	p.lookup = kind == QS_PROD_IDS_KEY ? -1 : ctx->cur_lookup;
	p.type = type;
	p.field = (char *) field;
	p.path = QsPathString(ctx);
	p.lookup_name = (char *) lookup;
	p.keypart = i;
	p.nkeys = k->n;
	p.keyname = k->names[i];
	d = Produce(ctx, &p, v, &isnull);
	p.field = pstrdup(field);
	p.path = pstrdup(p.path);
	p.lookup_name = lookup ? pstrdup(lookup) : NULL;
	p.keyname = pstrdup(k->names[i]);
	return QsAddParam(ctx, type, d, isnull, &p);
}

/*
 * "A composite key is in this list": a semi-join over the lists of each
 * column unnested side by side (one array parameter per column, so the
 * statement's shape does not depend on the list's length).  kind is
 * QS_PROD_IN_KEY (a lookup) or QS_PROD_IDS_KEY (in_bulk's id list).
 */
char *
QsKeyInList(QsCompile *ctx, QsKey *k, QsProdKind kind, JsonbValue *v, const char *field)
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
						 KeyParam(ctx, kind, k, i, v, field, "in"));
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
KeyPredicate(QsCompile *ctx, QsKey *k, const char *lookup, JsonbValue *v,
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
	v = UnwrapValue(v);
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
				BadValue(ctx, field, psprintf("the lookup 'isnull' expects true or false, got %s",
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
							 KeyParam(ctx, QS_PROD_KEY, k, i, v, field, lookup));
		return buf.data;
	}
	if (strcmp(lookup, "in") == 0)
	{
		if (v->type != jbvArray)
			BadValue(ctx, field, psprintf("the lookup 'in' expects a list of keys, got %s",
										  QsJsonTypeName(v)));
		return QsKeyInList(ctx, k, QS_PROD_IN_KEY, v, field);
	}
	if (strcmp(lookup, "gt") == 0 || strcmp(lookup, "gte") == 0 ||
		strcmp(lookup, "lt") == 0 || strcmp(lookup, "lte") == 0)
	{
		const char *op = CompareOp(lookup);
		char	  **params = palloc(sizeof(char *) * k->n);
		bool		same = true;
		StringInfoData r;

		if (v->type == jbvNull)
			BadValue(ctx, field, "None (null) can only be used with exact, iexact and isnull");
		for (i = 0; i < k->n; i++)
		{
			params[i] = KeyParam(ctx, QS_PROD_KEY, k, i, v, field, lookup);
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

/* The predicate of one lookup with a JSON value. */
static char *
LookupPredicate(QsCompile *ctx, QsExpr *e, const char *lookup, JsonbValue *v,
				const char *field, bool *null_safe)
{
	Oid			type = e->type;
	bool		is_json = (type == JSONBOID);
	bool		is_array = OidIsValid(get_element_type(type));
	char	   *fref = FieldRef(ctx, v);
	QsExpr	   *rhs = NULL;
	JsonbValue *inner;

	*null_safe = false;
	if (e->key != NULL)
		return KeyPredicate(ctx, e->key, lookup, v, field, null_safe);
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
		return psprintf("%s %s ANY %s", e->sql, QsOp("=", type, val->type), subsql);
	}
	if (fref)
	{
		int			save = ctx->path.len;

		QsPathPush(ctx, ".F");
		rhs = QsResolvePath(ctx, fref, false, NULL);
		QsPathPop(ctx, save);
	}
	else if (v->type == jbvObject && v->val.object.nPairs == 1 && QsTreeGet(v, "OuterRef") != NULL)
		rhs = QsCompileExpr(ctx, v, type);
	else if (!is_json && QsIsExprObject(v) && QsTreeGet(v, "Value") == NULL)
		rhs = QsCompileExpr(ctx, v, type);	/* {"price__gt": {"*": [{"F": "cost"}, 2]}} */
	else
		v = UnwrapValue(v);

	if (strcmp(lookup, "exact") == 0)
	{
		if (rhs)
			return psprintf("%s %s %s", e->sql, QsOp("=", type, rhs->type), rhs->sql);
		if (v->type == jbvNull)
		{
			/* Django: a jsonb field or key equal to None matches JSON null */
			if (is_json)
				return psprintf("%s OPERATOR(pg_catalog.=) 'null'::pg_catalog.jsonb", e->sql);
			*null_safe = true;
			return psprintf("%s IS NULL", e->sql);
		}
		if (e->is_column_year)
			return YearPredicate(ctx, e, lookup, v, field);
		return psprintf("%s %s %s", e->sql, QsOp("=", type, InvalidOid),
						QsProduceParam(ctx, QS_PROD_COERCE, type, v, field, lookup, false, false));
	}
	if (strcmp(lookup, "gt") == 0 || strcmp(lookup, "gte") == 0 ||
		strcmp(lookup, "lt") == 0 || strcmp(lookup, "lte") == 0)
	{
		if (rhs)
			return psprintf("%s %s %s", e->sql, QsOp(CompareOp(lookup), type, rhs->type), rhs->sql);
		if (v->type == jbvNull)
			BadValue(ctx, field, "None (null) can only be used with exact, iexact and isnull");
		if (e->is_column_year)
			return YearPredicate(ctx, e, lookup, v, field);
		return psprintf("%s %s %s", e->sql, QsOp(CompareOp(lookup), type, InvalidOid),
						QsProduceParam(ctx, QS_PROD_COERCE, type, v, field, lookup, false, false));
	}
	if (strcmp(lookup, "isnull") == 0)
	{
		bool		want;

		if (qs_validating_params && QsIsParam(v))
		{
			*null_safe = true;
			return pstrdup("true");
		}

		if (v->type != jbvBool)
			BadValue(ctx, field, psprintf("the lookup 'isnull' expects true or false, got %s",
										  QsJsonTypeName(v)));
		want = v->val.boolean;
		*null_safe = true;
		if (e->jkey && !e->jkey_index)
			return psprintf("%scoalesce(%s OPERATOR(pg_catalog.?) %s, false)", want ? "NOT " : "",
							e->jbase, e->jkey);
		return psprintf("%s IS %sNULL", e->sql, want ? "" : "NOT ");
	}
	if (strcmp(lookup, "in") == 0)
	{
		Oid			arrtype = get_array_type(type);

		if (rhs)
			BadValue(ctx, field, "the lookup 'in' expects a list of values, not a field");
		if (!OidIsValid(arrtype) || is_array)
			UnsupportedLookup(ctx, field, lookup, type);
		/* an empty list matches nothing; the shape stays the same */
		return psprintf("%s %s ANY(%s)", e->sql, QsOp("=", type, InvalidOid),
						QsProduceParam(ctx, QS_PROD_IN, arrtype, v, field, lookup, false, false));
	}
	if (strcmp(lookup, "range") == 0)
	{
		if (rhs)
			BadValue(ctx, field, "the lookup 'range' expects a list of two values [low, high]");
		{
			/* two statements: parameters are numbered low, then high */
			char	   *lo = QsProduceParam(ctx, QS_PROD_RANGE_LO, type, v, field, lookup, false, false);
			char	   *hi = QsProduceParam(ctx, QS_PROD_RANGE_HI, type, v, field, lookup, false, false);

			return psprintf("(%s %s %s AND %s %s %s)", e->sql, QsOp(">=", type, InvalidOid), lo,
							e->sql, QsOp("<=", type, InvalidOid), hi);
		}
	}
	if (strcmp(lookup, "contains") == 0 && (is_json || is_array))
	{
		if (rhs)
			return psprintf("%s %s %s", e->sql, QsOp("@>", type, rhs->type), rhs->sql);
		return psprintf("%s %s %s", e->sql, QsOp("@>", type, InvalidOid),
						QsProduceParam(ctx, QS_PROD_COERCE, type, v, field, lookup, false, false));
	}
	if (strcmp(lookup, "contained_by") == 0 || strcmp(lookup, "overlap") == 0)
	{
		const char *op = lookup[1] == 'o' ? "<@" : "&&";

		if (!(is_array || (is_json && op[0] == '<')))
			UnsupportedLookup(ctx, field, lookup, type);
		if (rhs)
			return psprintf("%s %s %s", e->sql, QsOp(op, type, rhs->type), rhs->sql);
		return psprintf("%s %s %s", e->sql, QsOp(op, type, InvalidOid),
						QsProduceParam(ctx, QS_PROD_COERCE, type, v, field, lookup, false, false));
	}
	if (strcmp(lookup, "has_key") == 0 || strcmp(lookup, "has_keys") == 0 ||
		strcmp(lookup, "has_any_keys") == 0)
	{
		bool		many = strcmp(lookup, "has_key") != 0;

		if (!is_json)
			UnsupportedLookup(ctx, field, lookup, type);
		if (rhs)
			BadValue(ctx, field, psprintf("the lookup '%s' expects key names, not a field", lookup));
		if (!many)
			return psprintf("%s OPERATOR(pg_catalog.?) %s", e->sql,
							QsProduceParam(ctx, QS_PROD_TEXT, TEXTOID, v, field, lookup, false, false));
		return psprintf("%s %s %s", e->sql,
						lookup[4] == 'k' ? "OPERATOR(pg_catalog.?&)" : "OPERATOR(pg_catalog.?|)",
						QsProduceParam(ctx, QS_PROD_COERCE, TEXTARRAYOID, v, field, lookup, false, false));
	}
	if (strcmp(lookup, "search") == 0)
	{
		char	   *p;

		if (rhs)
			BadValue(ctx, field, "the lookup 'search' expects a search string, not a field");
		p = QsProduceParam(ctx, QS_PROD_TEXT, TEXTOID, v, field, lookup, false, false);
		if (type == TSVECTOROID)
			return psprintf("%s OPERATOR(pg_catalog.@@) pg_catalog.plainto_tsquery(%s)", e->sql, p);
		if (is_array)
			UnsupportedLookup(ctx, field, lookup, type);
		return psprintf("pg_catalog.to_tsvector(coalesce(%s, '')) OPERATOR(pg_catalog.@@) pg_catalog.plainto_tsquery(%s)",
						TextExpr(e), p);
	}

	/* text lookups: iexact, [i]contains, [i]startswith, [i]endswith, [i]regex */
	if (is_array || (is_json && !e->jkey))
		UnsupportedLookup(ctx, field, lookup, type);
	if (strcmp(lookup, "iexact") == 0)
	{
		if (v->type == jbvNull && !rhs)
		{
			/* Django turns iexact=None into isnull=True (key absence for keys) */
			*null_safe = true;
			if (e->jkey && !e->jkey_index)
				return psprintf("NOT coalesce(%s OPERATOR(pg_catalog.?) %s, false)", e->jbase, e->jkey);
			return psprintf("%s IS NULL", e->sql);
		}
		return psprintf("pg_catalog.upper(%s) OPERATOR(pg_catalog.=) pg_catalog.upper(%s)", TextExpr(e),
						rhs ? psprintf("(%s)::pg_catalog.text", rhs->sql) :
						QsProduceParam(ctx, QS_PROD_TEXT, TEXTOID, v, field, lookup, false, false));
	}
	if (strcmp(lookup, "regex") == 0 || strcmp(lookup, "iregex") == 0)
		return psprintf("%s %s %s", TextExpr(e),
						lookup[0] == 'i' ? "OPERATOR(pg_catalog.~*)" : "OPERATOR(pg_catalog.~)",
						rhs ? psprintf("(%s)::pg_catalog.text", rhs->sql) :
						QsProduceParam(ctx, QS_PROD_TEXT, TEXTOID, v, field, lookup, false, false));
	{
		bool		ci = lookup[0] == 'i';
		const char *base = ci ? lookup + 1 : lookup;
		const char *pre;
		const char *post;

		if (strcmp(base, "contains") == 0)
			pre = "%", post = "%";
		else if (strcmp(base, "startswith") == 0)
			pre = "", post = "%";
		else if (strcmp(base, "endswith") == 0)
			pre = "%", post = "";
		else
		{
			UnsupportedLookup(ctx, field, lookup, type);
			return NULL;
		}
		if (rhs)
			return psprintf("%s %s (%s%s%s)", TextExpr(e), ci ? LIKE_CI : LIKE_CS,
							*pre ? "'%' OPERATOR(pg_catalog.||) " : "", LikeEscapeSql(rhs->sql),
							*post ? " OPERATOR(pg_catalog.||) '%'" : "");
		return psprintf("%s %s %s", TextExpr(e), ci ? LIKE_CI : LIKE_CS,
						QsProduceParam(ctx, QS_PROD_LIKE, TEXTOID, v, field, lookup,
									   *pre != '\0', *post != '\0'));
	}
}

/* ---------------------------------------------------------------------
 * Parameter producers
 * ---------------------------------------------------------------------
 */

/*
 * Column p->keypart of a composite key value: {"col": v, ...} naming
 * exactly the key's columns, or [v, ...] in key order.
 */
static JsonbValue *
KeyPart(QsCompile *ctx, QsProducer *p, JsonbValue *v)
{
	JsonbValue *x = NULL;

	if (v->type == jbvObject && v->val.object.nPairs == p->nkeys)
		x = QsTreeGet(v, p->keyname);
	else if (v->type == jbvArray && v->val.array.nElems == p->nkeys)
		x = &v->val.array.elems[p->keypart];
	if (x == NULL)
		BadValue(ctx, p->field,
				 psprintf("a composite key is an object naming its %d columns or a list of %d values, got %s",
						  p->nkeys, p->nkeys,
						  v->type == jbvObject ? "another object" :
						  v->type == jbvArray ? "a list of another length" : QsJsonTypeName(v)));
	if (x->type == jbvNull)
		BadValue(ctx, p->field, psprintf("column \"%s\" of a key cannot be null", p->keyname));
	return x;
}

/* Compute one parameter from a lookup's (unwrapped) JSON value. */
static Datum
Produce(QsCompile *ctx, QsProducer *p, JsonbValue *v, bool *isnull)
{
	*isnull = false;
	if (qs_validating_params && QsContainsParam(v))
	{
		*isnull = true;			/* a method's placeholder: any value of the type */
		return (Datum) 0;
	}
	switch (p->kind)
	{
		case QS_PROD_COERCE:
		case QS_PROD_IDS:
			return QsCoerceValue(ctx, v, p->type, p->field, NULL);
		case QS_PROD_VALUE:
			return QsCoerceValue(ctx, v, p->type, p->field, isnull);
		case QS_PROD_IN:
			{
				JsonbValue	clean;
				int			i;
				int			n = 0;

				if (v->type != jbvArray)
					BadValue(ctx, p->field, psprintf("the lookup 'in' expects a list, got %s",
													 QsJsonTypeName(v)));
				/* Django drops None from the list */
				clean = *v;
				clean.val.array.elems = palloc(sizeof(JsonbValue) * Max(1, v->val.array.nElems));
				for (i = 0; i < v->val.array.nElems; i++)
					if (v->val.array.elems[i].type != jbvNull)
						clean.val.array.elems[n++] = v->val.array.elems[i];
				clean.val.array.nElems = n;
				return QsCoerceValue(ctx, &clean, p->type, p->field, NULL);
			}
		case QS_PROD_RANGE_LO:
		case QS_PROD_RANGE_HI:
			if (v->type != jbvArray || v->val.array.nElems != 2)
				BadValue(ctx, p->field, "the lookup 'range' expects a list of two values [low, high]");
			if (v->val.array.elems[0].type == jbvNull || v->val.array.elems[1].type == jbvNull)
				BadValue(ctx, p->field, "the bounds of 'range' cannot be null");
			return QsCoerceValue(ctx, &v->val.array.elems[p->kind == QS_PROD_RANGE_LO ? 0 : 1],
								 p->type, p->field, NULL);
		case QS_PROD_TEXT:
			return CStringGetTextDatum(TextValue(ctx, v, p->field, p->lookup_name));
		case QS_PROD_LIKE:
			return CStringGetTextDatum(psprintf("%s%s%s", p->pre ? "%" : "",
												LikeEscape(TextValue(ctx, v, p->field,
																	 p->lookup_name)),
												p->post ? "%" : ""));
		case QS_PROD_KEY:
			return QsCoerceValue(ctx, KeyPart(ctx, p, v), p->type, p->field, NULL);
		case QS_PROD_IN_KEY:
		case QS_PROD_IDS_KEY:
			{
				JsonbValue	parts;
				int			i;
				int			n = 0;

				if (v->type != jbvArray)
					BadValue(ctx, p->field, psprintf("the lookup 'in' expects a list of keys, got %s",
													 QsJsonTypeName(v)));
				/* Django drops None from the list */
				parts.type = jbvArray;
				parts.val.array.rawScalar = false;
				parts.val.array.elems = palloc(sizeof(JsonbValue) * Max(1, v->val.array.nElems));
				for (i = 0; i < v->val.array.nElems; i++)
				{
					CHECK_FOR_INTERRUPTS();
					if (v->val.array.elems[i].type != jbvNull)
						parts.val.array.elems[n++] = *KeyPart(ctx, p, &v->val.array.elems[i]);
				}
				parts.val.array.nElems = n;
				return QsCoerceValue(ctx, &parts, p->type, p->field, NULL);
			}
		case QS_PROD_LIMIT:
			return Int64GetDatum(ctx->limit_value);
		case QS_PROD_OFFSET:
			return Int64GetDatum(ctx->offset_value);
	}
	elog(ERROR, "pg_queryset: unknown parameter producer %d", (int) p->kind);
	return (Datum) 0;
}

/*
 * Add a parameter computed from a lookup value (v, already unwrapped)
 * and remember how, so a shape-cache hit can recompute it from another
 * spec of the same shape.  Returns the placeholder.
 */
char *
QsProduceParam(QsCompile *ctx, QsProdKind kind, Oid type, JsonbValue *v,
			   const char *field, const char *lookup, bool pre, bool post)
{
	QsProducer	p;
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
	d = Produce(ctx, &p, v, &isnull);
	p.field = pstrdup(field);
	p.path = pstrdup(p.path);
	p.lookup_name = lookup ? pstrdup(lookup) : NULL;
	return QsAddParam(ctx, type, d, isnull, &p);
}

/*
 * Replay the producers of a cached shape over another spec of that
 * shape: lookups[] are its lookup values in walk order (as written,
 * {"Value": x} not yet unwrapped).  Errors name the field and path the
 * same way the first compile did.
 */
void
QsProduceAll(QsProducer *prods, int nparams, JsonbValue **lookups,
			 int64 limit, int64 offset, JsonbValue *ids, Datum *values, bool *nulls)
{
	QsCompile	ctx;
	int			i;

	memset(&ctx, 0, sizeof(ctx));
	initStringInfo(&ctx.path);
	ctx.limit_value = limit;
	ctx.offset_value = offset;
	for (i = 0; i < nparams; i++)
	{
		QsProducer *p = &prods[i];
		JsonbValue *v = NULL;

		resetStringInfo(&ctx.path);
		appendStringInfoString(&ctx.path, p->path);
		if (p->kind == QS_PROD_IDS || p->kind == QS_PROD_IDS_KEY)
			v = ids;
		else if (p->kind == QS_PROD_VALUE)
			v = lookups[p->lookup];
		else if (p->lookup >= 0)
			v = UnwrapValue(lookups[p->lookup]);
		values[i] = Produce(&ctx, p, v, &nulls[i]);
	}
}

/*
 * Compile "field__transform__lookup": value into a predicate.  Inside
 * $not, a lookup on a nullable expression is made two-valued (IS TRUE),
 * so exclude() keeps rows where the field is NULL, as Django does.
 */
char *
QsCompileLookup(QsCompile *ctx, const char *key, JsonbValue *value, int index)
{
	char	   *lookup;
	QsExpr	   *e;
	bool		null_safe;
	char	   *pred;
	char	   *field = pstrdup(key);
	size_t		klen;
	size_t		llen;

	ctx->cur_lookup = index;
	e = QsResolvePath(ctx, key, true, &lookup);
	/* resolving an annotation may have compiled other values meanwhile */
	ctx->cur_lookup = index;
	klen = strlen(key);
	llen = strlen(lookup);

	/* name the field without its lookup: "price", not "price__gt" */
	if (klen > llen + 2 && strcmp(key + klen - llen, lookup) == 0 &&
		strncmp(key + klen - llen - 2, "__", 2) == 0)
		field[klen - llen - 2] = '\0';
	pred = LookupPredicate(ctx, e, lookup, value, field, &null_safe);
	if (ctx->negated > 0 && !null_safe &&
		(e->nullable || (value->type == jbvObject && QsIsExprObject(value) &&
						 QsTreeGet(value, "Value") == NULL)))
		return psprintf("((%s) IS TRUE)", pred);
	return psprintf("(%s)", pred);
}
