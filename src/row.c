/*
 * row.c
 *	  The JSON of one result row: an object, an array (values_list), a
 *	  flat value, or a plain column list, over the selected expressions.
 */
#include "postgres.h"

#include "utils/builtins.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "row.h"
#include "spec.h"

/*
 * The SQL of one result row over the given source expressions:
 * a json(b) object, array, a flat value, or a plain column list.
 * json_build_object takes at most 100 arguments, so wide rows are built
 * from chunks of 50 pairs joined with jsonb ||.
 */
char *
QsRowTarget(List *items, List *srcs, QsRowShape shape, bool json, bool columns)
{
	StringInfoData buf;
	ListCell   *li;
	ListCell   *ls;
	int			n = 0;
	int			nitems = list_length(items);
	bool		chunked = nitems > 50;
	const char *fn;

	initStringInfo(&buf);
	if (columns)
	{
		forboth(li, items, ls, srcs)
		{
			if (n++ > 0)
				appendStringInfoString(&buf, ", ");
			appendStringInfoString(&buf, (char *) lfirst(ls));
		}
		return buf.data;
	}
	if (shape == QS_ROW_FLAT)
		return psprintf("%s(%s)", json ? "pg_catalog.to_json" : "pg_catalog.to_jsonb",
						(char *) linitial(srcs));

	if (shape == QS_ROW_OBJECT)
		fn = (json && !chunked) ? "pg_catalog.json_build_object" : "pg_catalog.jsonb_build_object";
	else
		fn = (json && !chunked) ? "pg_catalog.json_build_array" : "pg_catalog.jsonb_build_array";

	if (chunked)
		appendStringInfoChar(&buf, '(');
	appendStringInfo(&buf, "%s(", fn);
	forboth(li, items, ls, srcs)
	{
		SelItem    *s = (SelItem *) lfirst(li);

		if (n > 0 && n % 50 == 0)
			appendStringInfo(&buf, ") OPERATOR(pg_catalog.||) %s(", fn);
		else if (n > 0)
			appendStringInfoString(&buf, ", ");
		if (shape == QS_ROW_OBJECT)
			appendStringInfo(&buf, "%s, ", quote_literal_cstr(s->key));
		appendStringInfoString(&buf, (char *) lfirst(ls));
		n++;
	}
	appendStringInfoChar(&buf, ')');
	if (chunked)
		appendStringInfo(&buf, ")%s", json ? "::pg_catalog.json" : "");
	return buf.data;
}
