/*
 * select.c
 *	  SELECT statements of a queryset: the selection (model rows, values,
 *	  annotations, embeds), FROM / WHERE / GROUP BY / HAVING, ordering,
 *	  DISTINCT, slices and row locks, and the count() and exists() forms.
 *
 *   rows:   SELECT jsonb_build_object('id', t0.id, ...) FROM tbl t0
 *           WHERE ... ORDER BY ... LIMIT $n OFFSET $m
 *   json:   SELECT coalesce(json_agg(q.r), '[]') FROM (<rows with json>) q(r)
 *   count:  SELECT count(*) FROM tbl t0 WHERE ...   (or over the slice)
 *   exists: SELECT EXISTS (SELECT 1 FROM tbl t0 WHERE ... )
 *
 * DISTINCT over model rows is computed on the selected columns in a
 * subquery (json has no equality operator), then the row objects are
 * built over it.
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

#include "embed.h"
#include "expr.h"
#include "keyset.h"
#include "model.h"
#include "param.h"
#include "path.h"
#include "qtree.h"
#include "relation.h"
#include "row.h"
#include "select.h"
#include "spec.h"
#include "state.h"

/* "a, b, c" */
char *
QsJoinNames(List *names)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, names)
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "", (char *) lfirst(lc));
	return buf.data;
}

/*
 * only/defer "rel__rel__column": every relation must be embedded by
 * select_related or prefetch_related, and the last part must be a column
 * of the last one.
 */
static void
CheckNestedField(QsCompileState *ctx, const char *name, const char *key)
{
	List	   *parts = QsSplitPath(ctx, name);
	List	   *level = QsBuildEmbeds(ctx);
	QsModel    *m = ctx->model;
	ListCell   *pc;

	foreach(pc, parts)
	{
		char	   *part = (char *) lfirst(pc);
		ListCell   *lc;
		QsEmbed    *found = NULL;

		if (lnext(parts, pc) == NULL)
		{
			if (QsModelColumn(m, part) == NULL)
				QsUnknownField(ctx, m, part);
			return;
		}
		foreach(lc, level)
			if (strcmp(((QsEmbed *) lfirst(lc))->name, part) == 0)
				found = (QsEmbed *) lfirst(lc);
		if (found == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s() path \"%s\" does not follow an embedded relation", key, name),
					 errdetail("'%s' is not fetched with select_related or prefetch_related, at %s.",
							   part, QsPathString(ctx)),
					 errhint("Add the relation to select_related or prefetch_related.")));
		level = found->children;
		m = QsModelGet(found->rel->target);
	}
}

/* Check that only/defer name real columns. */
static void
CheckFieldNames(QsCompileState *ctx, List *names, const char *key)
{
	ListCell   *lc;
	int			i = 0;
	int			save = ctx->path.len;

	foreach(lc, names)
	{
		char	   *name = (char *) lfirst(lc);

		QsPathPush(ctx, ".%s[%d]", key, i++);
		/* "items__product__name": a column of an embedded relation */
		if (strstr(name, "__") != NULL)
			CheckNestedField(ctx, name, key);
		else if (QsModelColumn(ctx->model, name) == NULL)
			QsUnknownField(ctx, ctx->model, name);
		QsPathPop(ctx, save);
	}
}

/* A selected annotation. */
static SelItem *
AnnotationItem(QsCompileState *ctx, QsAnnotation *a)
{
	SelItem    *s = palloc0(sizeof(SelItem));
	QsExpr	   *e;
	int			save = ctx->path.len;

	QsPathPush(ctx, ".annotate.%s", a->name);
	e = QsAnnotationExpr(ctx, a);
	QsPathPop(ctx, save);
	s->key = a->name;
	s->sql = e->sql;
	s->type = e->type;
	s->is_agg = e->is_agg || e->is_window;
	return s;
}

/*
 * The selected values of a model row, values() or values_list().
 * Annotations (not aliases) follow the fields; with values() those not
 * listed in it are appended, as Django's annotate() after values() does.
 */
List *
QsBuildSelection(QsCompileState *ctx)
{
	QsSpec	   *spec = ctx->spec;
	List	   *items = NIL;
	int			i;
	int			save = ctx->path.len;
	ListCell   *lc;

	if (spec->has_values && spec->values != NIL)
	{
		i = 0;
		foreach(lc, spec->values)
		{
			SelItem    *s = palloc0(sizeof(SelItem));
			QsExpr	   *e;

			QsPathPush(ctx, ".%s[%d]", spec->values_key, i++);
			s->key = (char *) lfirst(lc);
			e = QsResolvePath(ctx, s->key, false);
			s->sql = e->sql;
			s->type = e->type;
			s->is_agg = e->is_agg || e->is_window;
			if (e->key != NULL)
			{
				int			k;
				StringInfoData g;

				initStringInfo(&g);
				for (k = 0; k < e->key->n; k++)
					appendStringInfo(&g, "%s%s", k > 0 ? ", " : "", e->key->sql[k]);
				s->group = g.data;
			}
			QsPathPop(ctx, save);
			items = lappend(items, s);
		}
		if (spec->shape != QS_ROW_FLAT)
			foreach(lc, spec->annotations)
			{
				QsAnnotation *a = (QsAnnotation *) lfirst(lc);

				if (a->select && !QsNameInList(spec->values, a->name))
					items = lappend(items, AnnotationItem(ctx, a));
			}
		return items;
	}

	CheckFieldNames(ctx, spec->only, "only");
	CheckFieldNames(ctx, spec->defer, "defer");
	for (i = 0; i < ctx->model->ncolumns; i++)
	{
		QsColumn   *col = &ctx->model->columns[i];
		bool		is_pk = QsModelIsPk(ctx->model, i);
		SelItem    *s;

		if (!spec->has_values && !is_pk)
		{
			if (spec->only != NIL && !QsNameInList(spec->only, col->name))
				continue;
			if (QsNameInList(spec->defer, col->name))
				continue;
		}
		s = palloc0(sizeof(SelItem));
		s->key = col->name;
		s->sql = psprintf("%s.%s", ctx->alias, quote_identifier(col->name));
		s->type = col->basetypid;
		items = lappend(items, s);
	}
	foreach(lc, spec->annotations)
	{
		QsAnnotation *a = (QsAnnotation *) lfirst(lc);

		if (a->select)
			items = lappend(items, AnnotationItem(ctx, a));
	}
	/* embedded relations (Django ignores them with values(), so do we) */
	if (!spec->has_values)
	{
		foreach(lc, QsBuildEmbeds(ctx))
		{
			SelItem    *s = palloc0(sizeof(SelItem));

			s->key = ((QsEmbed *) lfirst(lc))->out;
			s->embed = (QsEmbed *) lfirst(lc);
			items = lappend(items, s);
		}
	}
	return items;
}

/* The target list of typed rows for qs.fetch(): the row type's columns. */
List *
QsBuildFetchSelection(QsCompileState *ctx, TupleDesc desc, List *json_sel)
{
	List	   *items = NIL;
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		QsColumn   *col;
		SelItem    *s;
		ListCell   *lc;
		bool		selected = false;

		if (att->attisdropped)
			continue;
		s = palloc0(sizeof(SelItem));
		s->key = pstrdup(NameStr(att->attname));
		col = QsModelColumn(ctx->model, s->key);
		foreach(lc, json_sel)
			if (strcmp(((SelItem *) lfirst(lc))->key, s->key) == 0)
				selected = true;
		if (col == NULL)
		{
			/* an annotation (or values() entry) of that name */
			foreach(lc, json_sel)
			{
				SelItem    *j = (SelItem *) lfirst(lc);

				if (j->sql != NULL && j->embed == NULL && strcmp(j->key, s->key) == 0)
					s->sql = psprintf("(%s)::%s", j->sql,
									  format_type_extended(att->atttypid, att->atttypmod,
														   FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY));
			}
			if (s->sql != NULL)
			{
				items = lappend(items, s);
				continue;
			}
		}
		if (col && selected && col->typid == att->atttypid)
			s->sql = psprintf("%s.%s", ctx->alias, quote_identifier(col->name));
		else if (col && selected)
			s->sql = psprintf("%s.%s::%s", ctx->alias, quote_identifier(col->name),
							  format_type_extended(att->atttypid, att->atttypmod,
												   FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY));
		else
			s->sql = psprintf("NULL::%s",
							  format_type_extended(att->atttypid, att->atttypmod,
												   FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY));
		items = lappend(items, s);
	}
	return items;
}

/* Resolve each ordering item to its SQL expression (NULL: random). */
List *
QsOrderExprs(QsCompileState *ctx)
{
	List	   *exprs = NIL;
	ListCell   *lc;
	int			i = 0;
	int			save = ctx->path.len;

	List	   *items = NIL;
	List	   *meta = NIL;

	foreach(lc, ctx->spec->order_by)
	{
		QsOrderItem *o = (QsOrderItem *) lfirst(lc);
		QsExpr	   *e = NULL;

		QsPathPush(ctx, ".order_by[%d]", i++);
		if (o->path != NULL)
			e = o->expr != NULL ? QsCompileExpr(ctx, o->expr, InvalidOid) :
				QsResolvePath(ctx, o->path, false);
		if (e != NULL && e->key != NULL)
		{
			/* a composite key: one item per column, as Django orders it */
			int			k;

			for (k = 0; k < e->key->n; k++)
			{
				QsOrderItem *c = palloc(sizeof(QsOrderItem));
				QsExpr	   *ke = QsMakeExpr(e->key->sql[k], e->key->types[k]);

				*c = *o;
				items = lappend(items, c);
				exprs = lappend(exprs, e->key->sql[k]);
				ke->nullable = (strcmp(o->path, "pk") != 0);	/* a primary key is NOT NULL */
				meta = lappend(meta, ke);
			}
		}
		else
		{
			items = lappend(items, o);
			exprs = lappend(exprs, e != NULL ? e->sql : NULL);
			meta = lappend(meta, e);
		}
		QsPathPop(ctx, save);
	}
	ctx->spec->order_by = items;
	ctx->order_meta = meta;
	return exprs;
}

/* DISTINCT ON expressions. */
static List *
DistinctExprs(QsCompileState *ctx)
{
	List	   *exprs = NIL;
	ListCell   *lc;
	int			i = 0;
	int			save = ctx->path.len;

	foreach(lc, ctx->spec->distinct_on)
	{
		QsPathPush(ctx, ".distinct[%d]", i++);
		exprs = lappend(exprs, QsResolvePath(ctx, (char *) lfirst(lc), false)->sql);
		QsPathPop(ctx, save);
	}
	return exprs;
}

/*
 * " FOR UPDATE [OF ...] [NOWAIT | SKIP LOCKED]" of select_for_update.
 * "of" names "self" (the model's table) or forward relation paths,
 * which are joined for the purpose.
 */
void
QsAppendLock(QsCompileState *ctx, StringInfo buf)
{
	QsSpec	   *spec = ctx->spec;
	ListCell   *lc;
	int			n = 0;
	int			save = ctx->path.len;

	if (!spec->for_update)
		return;
	appendStringInfoString(buf, " FOR UPDATE");
	foreach(lc, spec->lock_of)
	{
		const char *p = (const char *) lfirst(lc);
		const char *alias = ctx->alias;

		if (strcmp(p, "self") != 0)
		{
			QsExpr	   *e;
			QsModel    *m = ctx->model;
			List	   *parts;
			ListCell   *pc;

			QsPathPush(ctx, ".select_for_update.of[%d]", n);
			parts = QsSplitPath(ctx, p);
			foreach(pc, parts)
			{
				QsRelation *rel = QsFindRelation(ctx, m, (char *) lfirst(pc));

				if (rel == NULL || rel->kind != QS_REL_FORWARD)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("Invalid field name(s) given in select_for_update(of=(...)): '%s'. "
									"Only relational fields followed in the query are allowed.", p),
							 errdetail("At %s.", QsPathString(ctx)),
							 errhint("Name \"self\" or forward relation paths.")));
				m = QsModelGet(rel->target);
			}
			/* any key column names the joined table's alias */
			e = QsResolvePath(ctx, psprintf("%s__%s", p, m->npk > 1 ? m->columns[m->pk[0]].name :
											QsPkColumn(ctx, m)->name), false);
			alias = pnstrdup(e->sql, strchr(e->sql, '.') - e->sql);
			QsPathPop(ctx, save);
		}
		appendStringInfo(buf, "%s%s", n++ == 0 ? " OF " : ", ", alias);
	}
	if (spec->nowait)
		appendStringInfoString(buf, " NOWAIT");
	if (spec->skip_locked)
		appendStringInfoString(buf, " SKIP LOCKED");
}

/* " FROM tbl t0 WHERE ..." */
void
QsAppendFromWhere(QsCompileState *ctx, StringInfo buf, const char *where, const char *extra,
				const char *embed_joins)
{
	ListCell   *lc;

	appendStringInfo(buf, " FROM %s %s", ctx->model->qualname, ctx->alias);
	foreach(lc, ctx->top->joins)
		appendStringInfoString(buf, ((QsJoin *) lfirst(lc))->sql);
	if (embed_joins)
		appendStringInfoString(buf, embed_joins);
	/* a tenant-scoped model also says its tenant (pruning, routing) */
	{
		char	   *tp = QsTenantCond(ctx, ctx->model, ctx->alias);

		if (tp != NULL)
			extra = extra ? psprintf("%s AND %s", tp, extra) : tp;
	}
	if (strcmp(where, "true") != 0 || extra)
	{
		appendStringInfoString(buf, " WHERE ");
		if (strcmp(where, "true") != 0)
			appendStringInfoString(buf, where);
		if (extra)
			appendStringInfo(buf, "%s%s", strcmp(where, "true") != 0 ? " AND " : "", extra);
	}
}

/* " GROUP BY ... HAVING ..." of a grouped query: the non-aggregate items. */
static void
AppendGroupHaving(QsCompileState *ctx, StringInfo buf, List *sel)
{
	ListCell   *lc;
	int			n = 0;

	if (!ctx->grouped)
		return;
	foreach(lc, sel)
	{
		SelItem    *s = (SelItem *) lfirst(lc);

		if (s->is_agg || s->embed != NULL)
			continue;
		appendStringInfoString(buf, n++ == 0 ? " GROUP BY " : ", ");
		appendStringInfoString(buf, s->group != NULL ? s->group : s->sql);
	}
	if (ctx->having != NULL && strcmp(ctx->having, "true") != 0)
		appendStringInfo(buf, " HAVING %s", ctx->having);
}

/* "DISTINCT ON (a, b)" over the resolved DISTINCT ON expressions. */
static void
AppendDistinctOn(StringInfo buf, List *dexprs)
{
	ListCell   *lc;

	appendStringInfoString(buf, "DISTINCT ON (");
	foreach(lc, dexprs)
	{
		if (lc != list_head(dexprs))
			appendStringInfoString(buf, ", ");
		appendStringInfoString(buf, (char *) lfirst(lc));
	}
	appendStringInfoChar(buf, ')');
}

/* " ORDER BY ..." over given expressions (NULL entries are random()). */
void
QsAppendOrder(QsCompileState *ctx, StringInfo buf, List *order_exprs)
{
	if (order_exprs == NIL)
		return;
	appendStringInfoString(buf, " ORDER BY ");
	QsAppendOrderList(buf, order_exprs, ctx->spec->order_by);
}

/*
 * With ctx->order_columns, the ORDER BY keys as extra output columns and,
 * in ctx->agg_order, the same order over them for the aggregate over the
 * rows (QsOrderColumns, alias q).
 */
static void
AppendOrderColumns(QsCompileState *ctx, StringInfo buf, List *order_exprs)
{
	ctx->agg_order = ctx->order_columns ? QsOrderColumns(buf, order_exprs, ctx->spec->order_by, "q") : NULL;
}

/*
 * SELECT <target> FROM ... WHERE ... ORDER BY ... LIMIT/OFFSET, where
 * target is built by RowTarget over the selection (or passed in raw).
 */
char *
QsBuildSelect(QsCompileState *ctx, List *sel, const char *where, const char *extra,
			bool json, bool columns, const char *prefix_target)
{
	QsSpec	   *spec = ctx->spec;
	StringInfoData buf;
	List	   *order_exprs = QsOrderExprs(ctx);
	List	   *srcs = NIL;
	ListCell   *lc;
	StringInfoData embed_joins;

	initStringInfo(&buf);

	if (spec->keyset != NULL)
	{
		/* a keyset page (keyset.c): its boundary, and for qs.page() its keys */
		char	   *kc;

		order_exprs = QsKeysetOrder(ctx, order_exprs);
		kc = QsKeysetCondition(ctx, where, order_exprs);
		if (kc != NULL)
			extra = extra ? psprintf("%s AND %s", extra, kc) : kc;
		if (ctx->keyset_keys)
			prefix_target = QsKeysetKeys(order_exprs);
	}

	if (spec->distinct && spec->distinct_on == NIL)
	{
		/* DISTINCT on the selected columns in a subquery, rows built over it */
		StringInfoData inner;
		List	   *outer_order = NIL;
		int			n = 0;

		foreach(lc, sel)
			if (((SelItem *) lfirst(lc))->embed)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("distinct() cannot be combined with select_related or prefetch_related"),
						 errhint("Use distinct() with values(), or DISTINCT ON fields.")));

		initStringInfo(&inner);
		appendStringInfoString(&inner, "SELECT DISTINCT ");
		foreach(lc, sel)
		{
			if (n > 0)
				appendStringInfoString(&inner, ", ");
			appendStringInfo(&inner, "%s AS c%d", ((SelItem *) lfirst(lc))->sql, n + 1);
			srcs = lappend(srcs, psprintf("q.c%d", n + 1));
			n++;
		}
		n = 0;
		foreach(lc, order_exprs)
		{
			char	   *e = (char *) lfirst(lc);

			n++;
			if (e == NULL)
			{
				outer_order = lappend(outer_order, NULL);
				continue;
			}
			appendStringInfo(&inner, ", %s AS o%d", e, n);
			outer_order = lappend(outer_order, psprintf("q.o%d", n));
		}
		if (prefix_target)
			appendStringInfo(&inner, ", %s AS k", prefix_target);
		QsAppendFromWhere(ctx, &inner, where, extra, NULL);
		AppendGroupHaving(ctx, &inner, sel);

		appendStringInfo(&buf, "SELECT %s%s%s",
						 prefix_target ? "q.k, " : "",
						 QsRowTarget(sel, srcs, spec->shape, json, columns),
						 columns ? "" : " AS \"row\"");
		AppendOrderColumns(ctx, &buf, outer_order);
		appendStringInfo(&buf, " FROM (%s) q", inner.data);
		QsAppendOrder(ctx, &buf, outer_order);
		QsAppendSlice(ctx, &buf);
		return buf.data;
	}

	initStringInfo(&embed_joins);
	foreach(lc, sel)
	{
		SelItem    *it = (SelItem *) lfirst(lc);

		srcs = lappend(srcs, it->embed ? QsEmbedSql(ctx, it->embed, ctx->alias, json, NULL, &embed_joins)
					   : it->sql);
	}
	appendStringInfoString(&buf, "SELECT ");
	if (spec->distinct_on != NIL)
	{
		List	   *dexprs = DistinctExprs(ctx);

		AppendDistinctOn(&buf, dexprs);
		appendStringInfoChar(&buf, ' ');
		if (order_exprs == NIL)
		{
			/* PostgreSQL needs ORDER BY to start with the DISTINCT ON keys */
			ListCell   *ld;

			foreach(ld, spec->distinct_on)
			{
				QsOrderItem *o = palloc0(sizeof(QsOrderItem));

				o->path = (char *) lfirst(ld);
				spec->order_by = lappend(spec->order_by, o);
			}
			order_exprs = dexprs;
		}
	}
	if (prefix_target)
		appendStringInfo(&buf, "%s AS k, ", prefix_target);
	appendStringInfoString(&buf, QsRowTarget(sel, srcs, spec->shape, json, columns));
	if (!columns)
		appendStringInfoString(&buf, " AS \"row\"");
	AppendOrderColumns(ctx, &buf, order_exprs);
	{
		/* "of" may join relations: resolve it before the FROM clause */
		StringInfoData lock;

		initStringInfo(&lock);
		QsAppendLock(ctx, &lock);
		QsAppendFromWhere(ctx, &buf, where, extra, embed_joins.data);
		AppendGroupHaving(ctx, &buf, sel);
		if (!(ctx->order_in_agg && ctx->agg_order != NULL))
			QsAppendOrder(ctx, &buf, order_exprs);
		/* a page read backwards is sliced inside its keyset condition */
		if (spec->keyset == NULL || !spec->keyset->before)
			QsAppendSlice(ctx, &buf);
		appendStringInfoString(&buf, lock.data);
	}
	return buf.data;
}

/* SELECT count(*) / EXISTS over the queryset, slice and distinct included. */
char *
QsBuildCountOrExists(QsCompileState *ctx, List *sel, const char *where, bool exists)
{
	QsSpec	   *spec = ctx->spec;
	StringInfoData buf;
	StringInfoData inner;
	ListCell   *lc;
	int			n = 0;
	List	   *order_exprs = NIL;
	List	   *dexprs = NIL;

	initStringInfo(&buf);
	initStringInfo(&inner);
	/* resolve every path first: they may add joins to the FROM clause */
	if ((spec->has_limit || spec->has_offset || spec->distinct_on != NIL) &&
		!(spec->distinct && spec->distinct_on == NIL))
		order_exprs = QsOrderExprs(ctx);
	if (spec->distinct_on != NIL)
		dexprs = DistinctExprs(ctx);
	if (!spec->distinct && !spec->has_limit && !spec->has_offset && !exists && !ctx->grouped)
	{
		appendStringInfoString(&buf, "SELECT pg_catalog.count(*)");
		QsAppendFromWhere(ctx, &buf, where, NULL, NULL);
		return buf.data;
	}
	appendStringInfoString(&inner, "SELECT ");
	if (spec->distinct && spec->distinct_on == NIL)
	{
		appendStringInfoString(&inner, "DISTINCT ");
		foreach(lc, sel)
		{
			if (n++ > 0)
				appendStringInfoString(&inner, ", ");
			appendStringInfoString(&inner, ((SelItem *) lfirst(lc))->sql);
		}
	}
	else if (spec->distinct_on != NIL)
	{
		AppendDistinctOn(&inner, dexprs);
		appendStringInfoString(&inner, " 1");
	}
	else
		appendStringInfoString(&inner, "1");
	QsAppendFromWhere(ctx, &inner, where, NULL, NULL);
	AppendGroupHaving(ctx, &inner, sel);
	/* ordering matters only when a slice or DISTINCT ON picks rows */
	if (order_exprs != NIL)
		QsAppendOrder(ctx, &inner, order_exprs);
	QsAppendSlice(ctx, &inner);
	if (exists)
		appendStringInfo(&buf, "SELECT EXISTS (%s)", inner.data);
	else
		appendStringInfo(&buf, "SELECT pg_catalog.count(*) FROM (%s) q", inner.data);
	return buf.data;
}

/*
 * Annotation names must not shadow a field or a relation of the model
 * (Django: "The annotation 'x' conflicts with a field on the model").
 */
static void
CheckAnnotationNames(QsCompileState *ctx)
{
	ListCell   *lc;

	foreach(lc, ctx->spec->annotations)
	{
		QsAnnotation *a = (QsAnnotation *) lfirst(lc);
		ListCell   *lr;

		if (QsModelColumn(ctx->model, a->name) != NULL)
			goto conflict;
		foreach(lr, QsModelRelations(ctx->model))
			if (strcmp(((QsRelation *) lfirst(lr))->name, a->name) == 0)
				goto conflict;
		continue;
conflict:
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_COLUMN),
				 errmsg("The annotation '%s' conflicts with a field on the model.", a->name),
				 errdetail("Model \"%s\", at $.%s.%s.", ctx->model->display,
						   a->select ? "annotate" : "alias", a->name),
				 errhint("Choose another name.")));
	}
}

/*
 * The annotations' names, the grouping and the WHERE clause of the
 * spec being compiled (ctx->spec); HAVING goes to ctx->having.
 */
char *
QsCompileFilter(QsCompileState *ctx, QsTarget target)
{
	QsSpec	   *spec = ctx->spec;
	char	   *where = "true";
	int			save = ctx->path.len;

	CheckAnnotationNames(ctx);
	if (spec->aggregates != NIL && target != QS_TARGET_AGGREGATE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid spec at $.aggregate: aggregates are evaluated by qs.aggregate()"),
				 errhint("Call qs.aggregate(queryset, '{\"name\": {\"Sum\": \"field\"}}'), or use annotate.")));
	/* values() + an aggregate annotation: one row per group (Django) */
	if (spec->has_values && target != QS_TARGET_AGGREGATE)
	{
		ListCell   *lc;

		foreach(lc, spec->annotations)
			if (QsAnnotationIsAggregate(ctx, (QsAnnotation *) lfirst(lc)))
				ctx->grouped = true;
	}
	if (spec->where)
	{
		QsPathPush(ctx, ".where");
		if (ctx->grouped)
		{
			where = QsCompileQObject(ctx, spec->where, 1);
			ctx->having = QsCompileQObject(ctx, spec->where, 2);
		}
		else
			where = QsCompileQ(ctx, spec->where);
		QsPathPop(ctx, save);
	}
	return where;
}
