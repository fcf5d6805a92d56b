/*
 * exprfn.c
 *	  The vocabulary of expressions: every function key an expression
 *	  object may hold ({"Sum": ...}, {"Lower": ...}, {"F": ...}), its kind,
 *	  its SQL name and the options it takes.
 *
 * Data only, and the questions asked of it (is this object an
 * expression?); expr.c and aggregate.c compile what it names, spec.c
 * asks it while shaping a spec.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "exprfn.h"

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

/* The function of a JSON key (len bytes), or NULL. */
const QsFn *
QsFindFn(const char *key, int len)
{
	int			i;

	for (i = 0; qs_fns[i].name; i++)
		if ((int) strlen(qs_fns[i].name) == len && memcmp(qs_fns[i].name, key, len) == 0)
			return &qs_fns[i];
	return NULL;
}

/* Is this JSON key a function name? */
bool
QsIsExprKey(const char *key, int len)
{
	return QsFindFn(key, len) != NULL;
}

/* The function of an expression object (exactly one function key), or NULL. */
const QsFn *
QsObjectFn(JsonbValue *v, JsonbValue **arg)
{
	const QsFn *fn = NULL;
	int			i;

	if (v->type != jbvObject)
		return NULL;
	for (i = 0; i < v->val.object.nPairs; i++)
	{
		JsonbValue *k = &v->val.object.pairs[i].key;
		const QsFn *f = QsFindFn(k->val.string.val, k->val.string.len);

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
bool
QsOptionAllowed(const QsFn *fn, const char *key)
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
	const QsFn *fn = QsObjectFn(v, NULL);
	int			i;

	if (fn == NULL)
		return false;
	for (i = 0; i < v->val.object.nPairs; i++)
	{
		JsonbValue *kv = &v->val.object.pairs[i].key;
		char	   *k = pnstrdup(kv->val.string.val, kv->val.string.len);

		if (strcmp(k, fn->name) != 0 && !QsOptionAllowed(fn, k))
			return false;
	}
	return true;
}

