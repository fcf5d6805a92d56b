/*
 * compile.c
 *	  A validated spec compiled for one terminal: the entry point of the
 *	  compile modules.
 *
 * Design note.  The SQL text depends only on the spec's *shape*: every
 * value a caller supplies (filter values, limit, offset, in_bulk ids)
 * becomes a parameter (param.c), and every identifier comes from the
 * catalog (model.c) and is quoted with quote_identifier().  The text is
 * therefore a perfect key for the plan cache (plancache.c): two specs
 * that differ only in values share one saved plan.  Functions and
 * operators are schema-qualified (pg_catalog.) so that a search_path
 * entry placed before pg_catalog cannot capture them.
 *
 * The statement an evaluation runs is always ONE statement, shaped as an
 * expert would write it by hand: SELECTs are built by select.c (set
 * operations by setop.c); this file dispatches per terminal and builds
 * the UPDATE / DELETE of qs.update() / qs.delete(), the one-row SELECT
 * of qs.aggregate() and the keyed object of qs.in_bulk().  It must not
 * execute anything.
 */
#include "postgres.h"
#include "miscadmin.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "parser/parse_coerce.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"

#include "compile.h"
#include "expr.h"
#include "lookup.h"
#include "model.h"
#include "param.h"
#include "path.h"
#include "relation.h"
#include "row.h"
#include "select.h"
#include "setop.h"
#include "spec.h"
#include "state.h"

/*
 * qs.update() / qs.delete(): one UPDATE or DELETE.  A plain filter runs
 * in place (UPDATE tbl t0 SET ... WHERE ...; to-many filters are EXISTS
 * semi-joins); joins, slices and select_for_update use the primary key:
 * ... WHERE (u.pk) IN (SELECT t0.pk FROM ... ORDER BY ... LIMIT ... FOR
 * UPDATE SKIP LOCKED), the job-queue claim.  Values may not reach other
 * tables (Django: "Joined field references are not permitted").
 */
static char *
BuildWrite(QsCompileState *ctx, const char *where, bool is_delete)
{
	QsSpec	   *spec = ctx->spec;
	QsModel    *m = ctx->model;
	List	   *order_exprs = NIL;
	bool		sub;
	const char *alias;
	StringInfoData set;
	StringInfoData buf;
	int			save = ctx->path.len;
	int			i;

	if (ctx->grouped || spec->distinct)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot %s a grouped or distinct queryset", is_delete ? "delete" : "update"),
				 errhint("Filter the rows to change instead.")));
	if (m->relkind != RELKIND_RELATION && m->relkind != RELKIND_PARTITIONED_TABLE &&
		m->relkind != RELKIND_VIEW && m->relkind != RELKIND_FOREIGN_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot %s \"%s\": it is not a table or view", is_delete ? "delete from" : "update",
						m->display)));
	if (spec->has_limit || spec->has_offset)
		order_exprs = QsOrderExprs(ctx);
	sub = (ctx->top->joins != NIL || spec->has_limit || spec->has_offset || spec->for_update);
	alias = sub ? "u" : ctx->alias;

	initStringInfo(&set);
	if (!is_delete)
	{
		QsScope    *tscope = palloc0(sizeof(QsScope));
		QsScope    *saved = ctx->scope;

		if (spec->update_values == NULL || spec->update_values->val.object.nPairs == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("update() needs at least one field to set"),
					 errhint("Write qs.update(q, '{\"status\": \"archived\"}').")));
		tscope->model = m;
		tscope->alias = alias;
		ctx->scope = tscope;
		for (i = 0; i < spec->update_values->val.object.nPairs; i++)
		{
			char	   *name = QsTreeKey(&spec->update_values->val.object.pairs[i].key);
			JsonbValue *v = &spec->update_values->val.object.pairs[i].value;
			QsColumn   *col = QsModelColumn(m, name);

			QsPathPush(ctx, ".$update.%s", name);
			if (col == NULL)
			{
				/* a forward relation sets its FK column: update(category=5) */
				QsRelation *rel = QsFindRelation(ctx, m, name);

				if (rel && rel->kind == QS_REL_FORWARD && rel->nkeys == 1)
					col = QsModelColumn(m, get_attname(m->relid, rel->keys[0], false));
				else
					QsUnknownField(ctx, m, name);
			}
			if (spec->has_allowed && !QsNameInList(spec->allowed, name))
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("field \"%s\" is not in the allowed fields of this call", name),
						 errdetail("At %s. Allowed: %s.", QsPathString(ctx),
								   spec->allowed ? QsJoinNames(spec->allowed) : "none"),
						 errhint("The fields argument is an allow-list (mass-assignment guard).")));
			if (col->generated)
				ereport(ERROR,
						(errcode(ERRCODE_GENERATED_ALWAYS),
						 errmsg("column \"%s\" is a generated column and cannot be set", col->name),
						 errdetail("At %s.", QsPathString(ctx))));
			appendStringInfo(&set, "%s%s = %s", i > 0 ? ", " : "", quote_identifier(col->name),
							 QsAssignValue(ctx, col, v));
			if (tscope->joins != NIL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("Joined field references are not permitted in update()"),
						 errdetail("At %s.", QsPathString(ctx)),
						 errhint("Use a Subquery with OuterRef to read related rows.")));
			QsPathPop(ctx, save);
		}
		ctx->scope = saved;
	}

	initStringInfo(&buf);
	if (is_delete)
		appendStringInfo(&buf, "DELETE FROM %s %s", m->qualname, alias);
	else
		appendStringInfo(&buf, "UPDATE %s %s SET %s", m->qualname, alias, set.data);
	if (!sub)
	{
		char	   *tp = QsTenantCond(ctx, m, alias);

		if (tp != NULL)
			where = strcmp(where, "true") != 0 ? psprintf("%s AND %s", tp, where) : tp;
		if (strcmp(where, "true") != 0)
			appendStringInfo(&buf, " WHERE %s", where);
		return buf.data;
	}
	if (m->npk == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" has no primary key: a filter through relations, a slice or "
						"select_for_update cannot identify its rows", m->display),
				 errhint("Filter on its own columns, without slicing.")));
	{
		StringInfoData keys;
		StringInfoData inner;

		initStringInfo(&keys);
		initStringInfo(&inner);
		appendStringInfoString(&inner, "SELECT ");
		for (i = 0; i < m->npk; i++)
		{
			const char *c = quote_identifier(m->columns[m->pk[i]].name);

			appendStringInfo(&keys, "%su.%s", i > 0 ? ", " : "", c);
			appendStringInfo(&inner, "%s%s.%s", i > 0 ? ", " : "", ctx->alias, c);
		}
		{
			StringInfoData lock;

			initStringInfo(&lock);
			QsAppendLock(ctx, &lock);
			QsAppendFromWhere(ctx, &inner, where, NULL, NULL);
			if (order_exprs != NIL)
				QsAppendOrder(ctx, &inner, order_exprs);
			QsAppendSlice(ctx, &inner);
			appendStringInfoString(&inner, lock.data);
		}
		appendStringInfo(&buf, " WHERE (%s) IN (%s)", keys.data, inner.data);
	}
	return buf.data;
}

/*
 * qs.aggregate(): one jsonb object of aggregates over the whole queryset.
 * Annotations stay per row, so an aggregate may aggregate them.
 */
static char *
BuildAggregate(QsCompileState *ctx, const char *where)
{
	QsSpec	   *spec = ctx->spec;
	List	   *items = NIL;
	List	   *srcs = NIL;
	ListCell   *lc;
	StringInfoData buf;
	int			save = ctx->path.len;

	if (spec->has_limit || spec->has_offset || spec->distinct)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("qs.aggregate() over a sliced or distinct queryset is not supported"),
				 errhint("Filter instead of slicing, or aggregate the rows with qs.rows() in SQL.")));
	foreach(lc, spec->aggregates)
	{
		QsAnnotation *a = (QsAnnotation *) lfirst(lc);
		SelItem    *s = palloc0(sizeof(SelItem));
		QsExpr	   *e;
		bool		save_outer = ctx->agg_outer;

		QsPathPush(ctx, ".aggregate.%s", a->name);
		ctx->agg_outer = true;
		e = QsCompileExpr(ctx, a->expr, InvalidOid);
		ctx->agg_outer = save_outer;
		if (!e->is_agg)
			ereport(ERROR,
					(errcode(ERRCODE_GROUPING_ERROR),
					 errmsg("'%s' is not an aggregate expression", a->name),
					 errdetail("At %s.", QsPathString(ctx)),
					 errhint("qs.aggregate() takes aggregates such as {\"Sum\": \"total\"}; "
							 "use annotate for per-row values.")));
		QsPathPop(ctx, save);
		s->key = a->name;
		items = lappend(items, s);
		srcs = lappend(srcs, e->sql);
	}
	initStringInfo(&buf);
	if (items == NIL)
		appendStringInfoString(&buf, "SELECT '{}'::pg_catalog.jsonb");
	else
		appendStringInfo(&buf, "SELECT %s", QsRowTarget(items, srcs, QS_ROW_OBJECT, false, false));
	QsAppendFromWhere(ctx, &buf, where, NULL, NULL);
	return buf.data;
}

/*
 * Can qs.json's aggregate carry the ORDER BY instead of its subquery?
 * Only when the subquery is otherwise plain (no DISTINCT, slice, grouping
 * or row lock: each needs the subquery's own ORDER BY or keeps it from
 * being pulled up) and no ordering is random (it has nothing to carry).
 */
static bool
OrderInAggregate(QsCompileState *ctx)
{
	QsSpec	   *spec = ctx->spec;
	ListCell   *lc;

	if (spec->distinct || spec->distinct_on != NIL || spec->has_limit || spec->has_offset ||
		ctx->grouped || spec->for_update || spec->order_by == NIL)
		return false;
	foreach(lc, spec->order_by)
		if (((QsOrderItem *) lfirst(lc))->path == NULL)
			return false;
	return true;
}

/*
 * Compile a validated spec for one kind of evaluation.
 * fetch_desc: the row type of qs.fetch(); in_bulk_field / in_bulk_ids:
 * the key field and the ids of qs.in_bulk() (ids NULL: every row).
 */
QsCompiledQuery *
QsCompileSpec(QsSpec *spec, QsTarget target, TupleDesc fetch_desc,
			  const char *in_bulk_field, JsonbValue *in_bulk_ids)
{
	QsCompileState	ctx;
	QsCompiledQuery *res = palloc0(sizeof(QsCompiledQuery));
	char	   *where = "true";
	List	   *sel;
	char	   *sql = NULL;

	QsInitCompile(&ctx, spec->model);
	ctx.spec = spec;
	QsUseAnnotations(&ctx);
	QsBuildValueIndex(&ctx);
	if (spec->combinator != NULL)
	{
		sql = QsBuildCombined(&ctx, target);
		goto done;
	}
	where = QsCompileFilter(&ctx, target);
	if (target == QS_TARGET_AGGREGATE)
	{
		sql = BuildAggregate(&ctx, where);
		goto done;
	}
	if (target == QS_TARGET_UPDATE || target == QS_TARGET_DELETE)
	{
		sql = BuildWrite(&ctx, where, target == QS_TARGET_DELETE);
		res->writes = true;
		goto done;
	}
	if (spec->update_values != NULL || spec->has_allowed)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid spec: \"$update\" and \"$fields\" belong to qs.update()")));
	sel = QsBuildSelection(&ctx);

	switch (target)
	{
		case QS_TARGET_ROWS:
			sql = QsBuildSelect(&ctx, sel, where, NULL, false, false, NULL);
			break;
		case QS_TARGET_JSON:
			{
				char	   *rows;

				/*
				 * On Citus the rows of several shards arrive in no order,
				 * and the aggregate orders them.  Elsewhere too when
				 * nothing but the order needs the subquery's ORDER BY:
				 * the subquery is then pulled up, and PostgreSQL (16 and
				 * later) sorts the narrow rows before the aggregate
				 * builds their JSON, instead of sorting the built JSON
				 * (which spills to disk once a large graph outgrows
				 * work_mem).  Docs/performance.md, "Large graphs".
				 */
				ctx.order_columns = QsOnCitus(&ctx) || OrderInAggregate(&ctx);
				ctx.order_in_agg = ctx.order_columns && !QsOnCitus(&ctx);
				rows = QsBuildSelect(&ctx, sel, where, NULL, true, false, NULL);
				ctx.order_columns = false;
				ctx.order_in_agg = false;
				if (ctx.agg_order != NULL)
					sql = psprintf("SELECT coalesce(pg_catalog.json_agg(q.\"row\" ORDER BY %s), "
								   "'[]'::pg_catalog.json)%s FROM (%s) q", ctx.agg_order,
								   spec->count_rows ? ", pg_catalog.count(*)" : "", rows);
				else
					sql = psprintf("SELECT coalesce(pg_catalog.json_agg(q.r), '[]'::pg_catalog.json)%s FROM (%s) q(r)",
								   spec->count_rows ? ", pg_catalog.count(*)" : "", rows);
			}
			break;
		case QS_TARGET_PAGE:
			/* SELECT <keys> AS k, <row> ... (keyset.c): the cursors come from k */
			ctx.keyset_keys = true;
			sql = QsBuildSelect(&ctx, sel, where, NULL, false, false, NULL);
			break;
		case QS_TARGET_COUNT:
			sql = QsBuildCountOrExists(&ctx, sel, where, false);
			break;
		case QS_TARGET_EXISTS:
			sql = QsBuildCountOrExists(&ctx, sel, where, true);
			break;
		case QS_TARGET_FETCH:
			sql = QsBuildSelect(&ctx, QsBuildFetchSelection(&ctx, fetch_desc, sel),
							  where, NULL, false, true, NULL);
			break;
		case QS_TARGET_AGGREGATE:
		case QS_TARGET_UPDATE:
		case QS_TARGET_DELETE:
			break;				/* handled above */
		case QS_TARGET_IN_BULK:
			{
				QsColumn   *col = QsModelColumn(ctx.model, in_bulk_field);
				char	   *colsql;
				char	   *extra = NULL;

				if (col == NULL && ctx.model->npk > 1 && strcmp(in_bulk_field, "pk") == 0)
				{
					/* a composite key: keyed by its JSON array text, "[1, 7]" */
					QsExpr	   *key = QsPkKeyExpr(ctx.model, ctx.alias, false);

					if (in_bulk_ids != NULL)
					{
						QsPathPush(&ctx, ".id_list");
						ctx.cur_lookup = -1;
						extra = QsKeyInList(&ctx, key->key, QS_PARAM_IDS_KEY, in_bulk_ids, "pk");
						QsPathPop(&ctx, 1);
					}
					sql = psprintf("SELECT coalesce(pg_catalog.jsonb_object_agg(q.k, q.r), '{}'::pg_catalog.jsonb) FROM (%s) q(k, r)",
								   QsBuildSelect(&ctx, sel, where, extra, false, false,
											   psprintf("(%s)::pg_catalog.text", key->sql)));
					break;
				}
				if (col == NULL)
				{
					QsPathPush(&ctx, ".field_name");
					QsUnknownField(&ctx, ctx.model, in_bulk_field);
				}
				if (!col->unique)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("in_bulk()'s field_name must be a unique field but \"%s\" isn't",
									in_bulk_field),
							 errhint("Use the primary key or a column with a single-column unique constraint.")));
				colsql = psprintf("%s.%s", ctx.alias, quote_identifier(col->name));
				if (in_bulk_ids != NULL)
				{
					QsPathPush(&ctx, ".id_list");
					ctx.cur_lookup = -1;
					extra = psprintf("%s %s ANY(%s)", colsql, QsOp("=", col->basetypid, InvalidOid),
									 QsRecipeParam(&ctx, QS_PARAM_IDS, get_array_type(col->basetypid),
													in_bulk_ids, col->name, NULL, false, false));
					QsPathPop(&ctx, 1);
				}
				sql = psprintf("SELECT coalesce(pg_catalog.jsonb_object_agg(q.k, q.r), '{}'::pg_catalog.jsonb) FROM (%s) q(k, r)",
							   QsBuildSelect(&ctx, sel, where, extra, false, false, colsql));
				break;
			}
	}

done:
	if (spec->for_update)
		res->writes = true;		/* row locks: SPI must not run read-only */
	res->sql = sql;
	res->nparams = ctx.nparams;
	res->ptypes = ctx.ptypes;
	res->pvalues = ctx.pvalues;
	res->pnulls = ctx.pnulls;
	res->relids = ctx.relids;
	res->model = ctx.model;
	res->recipes = ctx.recipes;
	res->nlookups = ctx.nlookups;
	res->model_display = ctx.model->display;
	res->skewed = ctx.skewed_param;
	res->keyset = (spec->keyset != NULL);
	return res;
}
