/*
 * transform.c
 *	  Django transforms on a resolved field: date and time parts
 *	  (year, month, date, week_day, ...), jsonb keys and array index and
 *	  length.
 *
 * A transform rewrites a QsExpr in place.  jsonb key names are the only
 * literals written into SQL text, quoted with quote_literal_cstr(), so
 * that expression indexes on (metadata -> 'color') can match.
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

#include "state.h"
#include "transform.h"

/* date, timestamp or timestamptz? */
static bool
IsDateTimeType(Oid t)
{
	return t == DATEOID || t == TIMESTAMPOID || t == TIMESTAMPTZOID;
}

/* timestamp or timestamptz? */
static bool
IsTimestampType(Oid t)
{
	return t == TIMESTAMPOID || t == TIMESTAMPTZOID;
}

/* time or timetz? */
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
QsApplyTransform(QsCompileState *ctx, QsExpr *e, const char *name)
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
