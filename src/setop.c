/*
 * setop.c
 *	  Set operations: union(), intersection(), difference().
 *
 * Each operand is a whole queryset compiled as a plain column list into
 * the combined statement's parameter list; the combined rows are built
 * into JSON once, outside:
 *
 *	 SELECT <row over q.c1 ...> FROM ((SELECT ...) UNION (SELECT ...)) q(c1, ...)
 *	 ORDER BY q.cN LIMIT $n
 *
 * As in Django: the columns are the first operand's (names and order),
 * every operand selects as many columns of matching types, order_by()
 * names selected columns, and values() / values_list() of the combined
 * queryset apply to operands that select no values of their own.
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

#include "expr.h"
#include "model.h"
#include "param.h"
#include "row.h"
#include "select.h"
#include "setop.h"
#include "spec.h"
#include "state.h"

static void CombinedOrder(QsCompileState *ctx, QsSpec *spec, List *sel, StringInfo buf);
static char *CombinedSql(QsCompileState *ctx, QsSpec *spec, List **sel_out);

/* Move the parameter list (and everything else shared) from one compile to another. */
static void
ShareStatement(QsCompileState *to, QsCompileState *from)
{
	to->nparams = from->nparams;
	to->maxparams = from->maxparams;
	to->ptypes = from->ptypes;
	to->pvalues = from->pvalues;
	to->pnulls = from->pnulls;
	to->recipes = from->recipes;
	to->nlookups = from->nlookups;
	to->relids = from->relids;
	to->vindex = from->vindex;
	to->next_alias = Max(to->next_alias, from->next_alias);
}

/*
 * One operand: "SELECT a, b FROM ... [ORDER BY ... LIMIT ...]" in the
 * combined statement's parameters.  *sel_out: its selection.
 */
static char *
CompileOperand(QsCompileState *ctx, QsSpec *spec, QsSpec *outer, List **sel_out)
{
	QsCompileState	sub;
	char	   *sql;

	check_stack_depth();
	QsInitCompile(&sub, spec->model);
	sub.spec = spec;
	QsUseAnnotations(&sub);
	ShareStatement(&sub, ctx);
	resetStringInfo(&sub.path);
	appendStringInfoString(&sub.path, ctx->path.data);
	sub.operand = true;
	if (spec->select_related != NIL || spec->prefetch_related != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a queryset combined with %s() cannot use %s", outer->combinator,
						spec->select_related != NIL ? "select_related" : "prefetch_related"),
				 errdetail("At %s.", QsPathString(ctx)),
				 errhint("Combine the rows' own columns or values(); fetch related rows afterwards.")));
	/* Django: values() of the combined queryset applies to operands without their own */
	if (!spec->has_values && outer->has_values)
	{
		spec->has_values = true;
		spec->values = outer->values;
		spec->values_key = outer->values_key;
		spec->shape = outer->shape;
	}
	/* an operand's ordering matters only when it picks rows */
	if (!spec->has_limit && !spec->has_offset && spec->distinct_on == NIL)
	{
		spec->order_by = NIL;
		spec->has_order = false;
	}
	if (spec->combinator != NULL)
		sql = CombinedSql(&sub, spec, sel_out);
	else
	{
		char	   *where = QsCompileFilter(&sub, QS_TARGET_ROWS);

		*sel_out = QsBuildSelection(&sub);
		sql = QsBuildSelect(&sub, *sel_out, where, NULL, false, true, NULL);
	}
	ShareStatement(ctx, &sub);
	return sql;
}

/* The SQL operator of a combinator. */
static const char *
SetOperator(QsSpec *spec)
{
	const char *op = strcmp(spec->combinator, "union") == 0 ? "UNION" :
		strcmp(spec->combinator, "intersection") == 0 ? "INTERSECT" : "EXCEPT";

	return spec->combine_all ? psprintf("%s ALL", op) : op;
}

/*
 * The combined rows as columns: "SELECT q.c1, ... FROM ((...) OP (...)) q(c1, ...)
 * [ORDER BY] [LIMIT/OFFSET]".  *sel_out: the first operand's selection,
 * over q.cN.
 */
static char *
CombinedSql(QsCompileState *ctx, QsSpec *spec, List **sel_out)
{
	StringInfoData body;
	StringInfoData cols;
	StringInfoData buf;
	List	   *first = NIL;
	List	   *sel = NIL;
	ListCell   *lc;
	int			i = 0;
	int			save = ctx->path.len;

	check_stack_depth();
	initStringInfo(&body);
	foreach(lc, spec->combined)
	{
		List	   *osel;
		char	   *osql;

		CHECK_FOR_INTERRUPTS();
		QsPathPush(ctx, ".combined[%d]", i);
		osql = CompileOperand(ctx, (QsSpec *) lfirst(lc), spec, &osel);
		if (i == 0)
			first = osel;
		else
		{
			ListCell   *a;
			ListCell   *b;
			int			k = 0;

			if (list_length(osel) != list_length(first))
				ereport(ERROR,
						(errcode(ERRCODE_SYNTAX_ERROR),
						 errmsg("each queryset of %s() must select the same number of columns", spec->combinator),
						 errdetail("At %s: %d columns, the first queryset selects %d.", QsPathString(ctx),
								   list_length(osel), list_length(first)),
						 errhint("Select matching fields with values() or values_list() on each queryset.")));
			forboth(a, first, b, osel)
			{
				Oid			ta = ((SelItem *) lfirst(a))->type;
				Oid			tb = ((SelItem *) lfirst(b))->type;

				k++;
				if (ta != tb && OidIsValid(ta) && OidIsValid(tb) &&
					!can_coerce_type(1, &ta, &tb, COERCION_IMPLICIT) &&
					!can_coerce_type(1, &tb, &ta, COERCION_IMPLICIT))
					ereport(ERROR,
							(errcode(ERRCODE_DATATYPE_MISMATCH),
							 errmsg("%s() cannot match column %d: \"%s\" is %s, \"%s\" is %s",
									spec->combinator, k, ((SelItem *) lfirst(a))->key, format_type_be(ta),
									((SelItem *) lfirst(b))->key, format_type_be(tb)),
							 errdetail("At %s.", QsPathString(ctx)),
							 errhint("Select columns of matching types in the same order, or Cast one.")));
			}
		}
		appendStringInfo(&body, "%s(%s)", i > 0 ? psprintf(" %s ", SetOperator(spec)) : "", osql);
		QsPathPop(ctx, save);
		i++;
	}

	/* the combined columns, named as the first operand's */
	initStringInfo(&cols);
	i = 0;
	foreach(lc, first)
	{
		SelItem    *s = palloc(sizeof(SelItem));

		*s = *(SelItem *) lfirst(lc);
		s->sql = psprintf("q.c%d", ++i);
		s->group = NULL;
		s->is_agg = false;
		appendStringInfo(&cols, "%sc%d", i > 1 ? ", " : "", i);
		sel = lappend(sel, s);
	}
	initStringInfo(&buf);
	appendStringInfoString(&buf, "SELECT ");
	i = 0;
	foreach(lc, sel)
		appendStringInfo(&buf, "%s%s", i++ > 0 ? ", " : "", ((SelItem *) lfirst(lc))->sql);
	appendStringInfo(&buf, " FROM (%s) q(%s)", body.data, cols.data);
	CombinedOrder(ctx, spec, sel, &buf);
	QsAppendSlice(ctx, &buf);
	*sel_out = sel;
	return buf.data;
}

/*
 * ORDER BY of a combined queryset: by the combined columns' names (the
 * first operand's), "pk" meaning the model's key column if selected, or
 * "?" (random).  Anything else is Django's "ORDER BY term does not match
 * any column in the result set".
 */
static void
CombinedOrder(QsCompileState *ctx, QsSpec *spec, List *sel, StringInfo buf)
{
	ListCell   *lc;
	int			n = 0;
	int			save = ctx->path.len;

	foreach(lc, spec->order_by)
	{
		QsOrderItem *o = (QsOrderItem *) lfirst(lc);
		const char *name = o->path;
		char	   *col = NULL;
		ListCell   *ls;

		QsPathPush(ctx, ".order_by[%d]", n);
		appendStringInfoString(buf, n++ == 0 ? " ORDER BY " : ", ");
		if (o->path == NULL)
		{
			appendStringInfoString(buf, "pg_catalog.random()");
			QsPathPop(ctx, save);
			continue;
		}
		if (name != NULL && strcmp(name, "pk") == 0 && QsModelPkColumn(spec->model) != NULL)
			name = QsModelPkColumn(spec->model)->name;
		foreach(ls, sel)
			if (o->expr == NULL && strcmp(((SelItem *) lfirst(ls))->key, name) == 0)
				col = ((SelItem *) lfirst(ls))->sql;
		if (col == NULL)
		{
			StringInfoData names;

			initStringInfo(&names);
			foreach(ls, sel)
				appendStringInfo(&names, "%s%s", names.len > 0 ? ", " : "", ((SelItem *) lfirst(ls))->key);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_COLUMN_REFERENCE),
					 errmsg("ORDER BY term \"%s\" does not match any column in the result set of %s()",
							o->expr ? "<expression>" : o->path, spec->combinator),
					 errdetail("At %s.", QsPathString(ctx)),
					 errhint("Order a combined queryset by its columns: %s.", names.data)));
		}
		appendStringInfoString(buf, QsOrderClause(col, o));
		QsPathPop(ctx, save);
	}
}

/*
 * A combined queryset for a terminal: rows, json, count, exists.  The
 * others (fetch, in_bulk, aggregate, update, delete) are Django's
 * NotSupportedError.
 */
char *
QsBuildCombined(QsCompileState *ctx, QsTarget target)
{
	QsSpec	   *spec = ctx->spec;
	List	   *sel;
	char	   *cols;
	QsRowShape	shape;
	List	   *srcs = NIL;
	const char *method = NULL;
	int			i;

	switch (target)
	{
		case QS_TARGET_ROWS:
		case QS_TARGET_JSON:
		case QS_TARGET_COUNT:
		case QS_TARGET_EXISTS:
			break;
		case QS_TARGET_FETCH:
			method = "fetch";
			break;
		case QS_TARGET_IN_BULK:
			method = "in_bulk";
			break;
		case QS_TARGET_AGGREGATE:
			method = "aggregate";
			break;
		case QS_TARGET_UPDATE:
			method = "update";
			break;
		case QS_TARGET_DELETE:
			method = "delete";
			break;
		case QS_TARGET_PAGE:
			method = "page";		/* refused before (keyset.c) */
			break;
	}
	if (method != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("Calling QuerySet.%s() after %s() is not supported.", method, spec->combinator),
				 errhint("Evaluate it with qs.json(), qs.rows(), qs.cursor(), qs.count() or qs.exists().")));
	if (target == QS_TARGET_COUNT || target == QS_TARGET_EXISTS)
	{
		/* the order does not change the count; the slice does */
		spec->order_by = spec->has_limit || spec->has_offset ? spec->order_by : NIL;
		cols = CombinedSql(ctx, spec, &sel);
		if (target == QS_TARGET_COUNT)
			return psprintf("SELECT pg_catalog.count(*) FROM (%s) c", cols);
		return psprintf("SELECT EXISTS (%s)", cols);
	}
	cols = CombinedSql(ctx, spec, &sel);
	shape = spec->has_values ? spec->shape :
		((QsSpec *) linitial(spec->combined))->shape;
	for (i = 1; i <= list_length(sel); i++)
		srcs = lappend(srcs, psprintf("r.c%d", i));
	{
		StringInfoData names;

		initStringInfo(&names);
		for (i = 1; i <= list_length(sel); i++)
			appendStringInfo(&names, "%sc%d", i > 1 ? ", " : "", i);
		if (target == QS_TARGET_JSON)
			return psprintf("SELECT coalesce(pg_catalog.json_agg(%s), '[]'::pg_catalog.json)%s FROM (%s) r(%s)",
							QsRowTarget(sel, srcs, shape, true, false),
							spec->count_rows ? ", pg_catalog.count(*)" : "", cols, names.data);
		return psprintf("SELECT %s AS \"row\" FROM (%s) r(%s)",
						QsRowTarget(sel, srcs, shape, false, false), cols, names.data);
	}
}
