/*
 * embed.c
 *	  Nested fetch: select_related (an object per forward relation) and
 *	  prefetch_related (an array per to-many relation, optionally a
 *	  Prefetch queryset), embedded in each row by correlated subqueries.
 *
 * The whole object graph is one statement; only() and defer() reach into
 * embedded relations through "relation__field" paths.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "embed.h"
#include "expr.h"
#include "model.h"
#include "param.h"
#include "path.h"
#include "qtree.h"
#include "relation.h"
#include "row.h"
#include "spec.h"
#include "state.h"

static char *PrefetchSql(QsCompileState *ctx, QsEmbed *e, const char *from_alias, bool json,
						 const char *alias, const char *obj, const char *embed_joins);

/* Find or add the child embed of a relation name (under an output key). */
static QsEmbed *
EmbedChild(QsCompileState *ctx, List **children, QsModel *from, const char *name, bool forward_only,
		   const char *key, const char *out)
{
	ListCell   *lc;
	QsEmbed    *e;
	QsRelation *rel;

	if (out == NULL)
		out = name;
	foreach(lc, *children)
		if (strcmp(((QsEmbed *) lfirst(lc))->out, out) == 0)
			return (QsEmbed *) lfirst(lc);
	rel = QsFindRelation(ctx, from, name);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("Invalid field name(s) given in %s: '%s'. Choices are: %s", key, name,
						QsModelChoices(from)),
				 errdetail("Model \"%s\", at %s.", from->display, QsPathString(ctx))));
	if (forward_only && rel->kind != QS_REL_FORWARD)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("select_related() follows forward relations only, and '%s' is a to-many relation", name),
				 errdetail("At %s.", QsPathString(ctx)),
				 errhint("Use prefetch_related for reverse and many-to-many relations.")));
	e = palloc0(sizeof(QsEmbed));
	e->name = pstrdup(name);
	e->out = pstrdup(out);
	e->rel = rel;
	e->from = from;
	*children = lappend(*children, e);
	return e;
}

/*
 * The embed tree of select_related and prefetch_related, built once per
 * compile.
 */
List *
QsBuildEmbeds(QsCompileState *ctx)
{
	List	   *roots = NIL;
	int			which;
	int			save = ctx->path.len;

	if (ctx->embeds_built)
		return ctx->embeds;
	for (which = 0; which < 2; which++)
	{
		List	   *paths = which == 0 ? ctx->spec->select_related : ctx->spec->prefetch_related;
		const char *key = which == 0 ? "select_related" : "prefetch_related";
		ListCell   *lc;
		int			i = 0;

		foreach(lc, paths)
		{
			List	   *parts;
			ListCell   *pc;
			List	  **level = &roots;
			QsModel    *m = ctx->model;
			QsPrefetch *pf = which == 1 ? (QsPrefetch *) lfirst(lc) : NULL;
			char	   *path = pf ? pf->path : (char *) lfirst(lc);

			QsPathPush(ctx, ".%s[%d]", key, i++);
			parts = QsSplitPath(ctx, path);
			foreach(pc, parts)
			{
				bool		last = (lnext(parts, pc) == NULL);
				QsEmbed    *e = EmbedChild(ctx, level, m, (char *) lfirst(pc), which == 0, key,
										   (last && pf) ? pf->to_attr : NULL);

				if (last && pf && pf->queryset)
				{
					if (e->queryset != NULL)
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("two Prefetch querysets for '%s'", e->out),
								 errdetail("At %s.", QsPathString(ctx)),
								 errhint("Give one of them a to_attr.")));
					e->queryset = pf->queryset;
				}
				level = &e->children;
				m = QsModelGet(e->rel->target);
			}
			QsPathPop(ctx, save);
		}
	}
	ctx->embeds = roots;
	ctx->embeds_built = true;
	return roots;
}

/* Does a JSON array of strings contain name? */
static bool
JsonListHas(JsonbValue *arr, const char *name)
{
	int			i;

	if (arr->type != jbvArray)
		return false;
	for (i = 0; i < arr->val.array.nElems; i++)
	{
		JsonbValue *e = &arr->val.array.elems[i];

		if (e->type == jbvString && (int) strlen(name) == e->val.string.len &&
			memcmp(e->val.string.val, name, e->val.string.len) == 0)
			return true;
	}
	return false;
}

/*
 * Does only/defer list a plain column of the embed at prefix ("items__
 * product")?  *deeper is set when some entry goes through it further down.
 */
bool
QsNestedListed(List *names, const char *prefix, const char *column, bool *deeper)
{
	ListCell   *lc;
	size_t		plen = strlen(prefix);
	bool		listed = false;

	foreach(lc, names)
	{
		const char *n = (const char *) lfirst(lc);

		if (strncmp(n, prefix, plen) != 0 || strncmp(n + plen, "__", 2) != 0)
			continue;
		n += plen + 2;
		if (strstr(n, "__") != NULL)
		{
			if (deeper)
				*deeper = true;
		}
		else if (column && strcmp(n, column) == 0)
			listed = true;
		else if (deeper && column == NULL)
			*deeper = true;
	}
	return listed;
}

/*
 * joins: the FROM clause of the level the embed sits in.  A forward embed
 * without a Prefetch queryset is a LEFT JOIN appended there (on the
 * target's unique key, so it never multiplies rows; NULL FK or an
 * invisible target row gives null), as an expert writes it; to-many
 * embeds are correlated subqueries with their own FROM.
 */
char *
QsEmbedSql(QsCompileState *ctx, QsEmbed *e, const char *from_alias, bool json, const char *prefix,
		 StringInfo joins)
{
	QsRelation *rel = e->rel;
	QsModel    *t = QsModelGet(rel->target);
	char	   *alias = psprintf("t%d", ctx->next_alias++);
	List	   *items = NIL;
	List	   *srcs = NIL;
	ListCell   *lc;
	char	   *obj;
	StringInfoData order;
	int			i;
	char	   *path = prefix ? psprintf("%s__%s", prefix, e->name) : e->name;
	bool		restricted = false;
	JsonbValue *qonly = e->queryset ? QsTreeGet(e->queryset, "only") : NULL;
	JsonbValue *qdefer = e->queryset ? QsTreeGet(e->queryset, "defer") : NULL;
	bool		joined = (rel->kind == QS_REL_FORWARD && e->queryset == NULL && joins != NULL);
	StringInfoData own;

	check_stack_depth();
	ctx->relids = list_append_unique_oid(ctx->relids, rel->target);
	if (joined)
		appendStringInfo(joins, " LEFT JOIN %s %s ON %s", t->qualname, alias,
						 QsKeyEquality(rel->target, alias, rel->tkeys, e->from->relid, from_alias,
									 rel->keys, rel->nkeys));
	else
	{
		initStringInfo(&own);
		joins = &own;
	}

	/* only() restricts this level when it names anything at or below it */
	(void) QsNestedListed(ctx->spec->only, path, NULL, &restricted);
	for (i = 0; i < t->ncolumns; i++)
	{
		SelItem    *s;
		bool		is_pk = QsModelIsPk(t, i);
		const char *cname = t->columns[i].name;

		if (!is_pk && qonly && !JsonListHas(qonly, cname))
			continue;
		if (!is_pk && !qonly && restricted && !QsNestedListed(ctx->spec->only, path, cname, NULL))
			continue;
		if (!is_pk && (QsNestedListed(ctx->spec->defer, path, cname, NULL) ||
					   (qdefer && JsonListHas(qdefer, cname))))
			continue;
		s = palloc0(sizeof(SelItem));
		s->key = t->columns[i].name;
		items = lappend(items, s);
		srcs = lappend(srcs, psprintf("%s.%s", alias, quote_identifier(cname)));
	}
	foreach(lc, e->children)
	{
		QsEmbed    *c = (QsEmbed *) lfirst(lc);
		SelItem    *s = palloc0(sizeof(SelItem));

		s->key = c->out;
		items = lappend(items, s);
		srcs = lappend(srcs, QsEmbedSql(ctx, c, alias, json, path, joins));
	}
	obj = QsRowTarget(items, srcs, QS_ROW_OBJECT, json, false);

	/* matched rows have the referenced (unique) key non-null */
	if (joined)
		return psprintf("CASE WHEN %s.%s IS NOT NULL THEN %s END", alias,
						quote_identifier(get_attname(rel->target, rel->tkeys[0], false)), obj);
	if (e->queryset)
		return PrefetchSql(ctx, e, from_alias, json, alias, obj, joins->data);

	if (rel->kind == QS_REL_FORWARD)
		return psprintf("(SELECT %s FROM %s %s%s WHERE %s)", obj, t->qualname, alias, joins->data,
						QsWithTenant(ctx, QsKeyEquality(rel->target, alias, rel->tkeys, e->from->relid, from_alias,
													rel->keys, rel->nkeys), rel->target, alias));

	initStringInfo(&order);
	for (i = 0; i < t->npk; i++)
		appendStringInfo(&order, "%s%s.%s", i > 0 ? ", " : " ORDER BY ", alias,
						 quote_identifier(t->columns[t->pk[i]].name));
	if (rel->kind == QS_REL_REVERSE)
		return psprintf("(SELECT coalesce(pg_catalog.%s(%s%s), '[]'::pg_catalog.%s) FROM %s %s%s WHERE %s)",
						json ? "json_agg" : "jsonb_agg", obj, order.data, json ? "json" : "jsonb",
						t->qualname, alias, joins->data,
						QsWithTenant(ctx, QsKeyEquality(rel->target, alias, rel->tkeys, e->from->relid, from_alias,
													rel->keys, rel->nkeys), rel->target, alias));
	{
		char	   *jalias = psprintf("t%d", ctx->next_alias++);

		ctx->relids = list_append_unique_oid(ctx->relids, rel->junction);
		return psprintf("(SELECT coalesce(pg_catalog.%s(%s%s), '[]'::pg_catalog.%s) FROM %s %s JOIN %s %s ON %s%s WHERE %s)",
						json ? "json_agg" : "jsonb_agg", obj, order.data, json ? "json" : "jsonb",
						QsModelGet(rel->junction)->qualname, jalias, t->qualname, alias,
						QsKeyEquality(rel->target, alias, rel->tkeys2, rel->junction, jalias,
									rel->jkeys2, rel->nkeys2), joins->data,
						QsWithTenant(ctx, QsWithTenant(ctx, QsKeyEquality(rel->junction, jalias, rel->tkeys,
																   e->from->relid, from_alias, rel->keys,
																   rel->nkeys),
												   rel->junction, jalias),
								   rel->target, alias));
	}
}

/*
 * A Prefetch with a queryset: the related rows filtered, ordered and
 * limited per parent by the inner spec, in a correlated subquery.
 */
static char *
PrefetchSql(QsCompileState *ctx, QsEmbed *e, const char *from_alias, bool json,
			const char *alias, const char *obj, const char *embed_joins)
{
	QsRelation *rel = e->rel;
	QsModel    *t = QsModelGet(rel->target);
	JsonbValue *tree = QsTreeObject();
	QsSpec	   *inner;
	QsScope    *outer = ctx->scope;
	QsScope    *scope = palloc0(sizeof(QsScope));
	int			i;
	int			save_path = ctx->path.len;
	char	   *where = "true";
	char	   *corr;
	char	   *from_sql;
	StringInfoData sub;
	char	   *agg_order = NULL;
	ListCell   *lc;
	List	   *order_exprs = NIL;
	List	   *order_items = NIL;

	/* the inner spec is a queryset of the target model */
	for (i = 0; i < e->queryset->val.object.nPairs; i++)
	{
		char	   *k = QsTreeKey(&e->queryset->val.object.pairs[i].key);

		if (strcmp(k, "where") != 0 && strcmp(k, "order_by") != 0 && strcmp(k, "only") != 0 &&
			strcmp(k, "defer") != 0 && strcmp(k, "limit") != 0 && strcmp(k, "offset") != 0 &&
			strcmp(k, "model") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid Prefetch queryset key \"%s\"", k),
					 errdetail("A Prefetch queryset may hold where, order_by, only, defer, limit and offset."),
					 errhint("Nest further relations with paths in prefetch_related.")));
		QsTreeSet(tree, k, &e->queryset->val.object.pairs[i].value);
	}
	if (QsTreeGet(tree, "model") && QsModelResolve(QsTreeText(QsTreeGet(tree, "model"))) != t->relid)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the Prefetch queryset for '%s' must be a queryset of \"%s\"", e->out, t->display)));
	QsTreeSet(tree, "model", QsTreeString(t->display));
	inner = QsSpecFromTree(tree);
	if (inner->only)
		foreach(lc, inner->only)
			if (QsModelColumn(t, (char *) lfirst(lc)) == NULL)
				QsUnknownField(ctx, t, (char *) lfirst(lc));

	scope->model = t;
	scope->alias = alias;
	ctx->scope = scope;
	QsPathPush(ctx, ".prefetch_related(%s).queryset", e->out);
	if (inner->where)
	{
		int			save_neg = ctx->negated;

		ctx->negated = 0;
		QsPathPush(ctx, ".where");
		where = QsCompileQ(ctx, inner->where);
		ctx->negated = save_neg;
	}

	if (rel->kind == QS_REL_M2M)
	{
		char	   *jalias = psprintf("t%d", ctx->next_alias++);

		ctx->relids = list_append_unique_oid(ctx->relids, rel->junction);
		from_sql = psprintf("%s %s JOIN %s %s ON %s", QsModelGet(rel->junction)->qualname, jalias,
							t->qualname, alias,
							QsKeyEquality(rel->target, alias, rel->tkeys2, rel->junction, jalias,
										rel->jkeys2, rel->nkeys2));
		corr = QsWithTenant(ctx, QsWithTenant(ctx, QsKeyEquality(rel->junction, jalias, rel->tkeys, e->from->relid,
														  from_alias, rel->keys, rel->nkeys),
										  rel->junction, jalias),
						  rel->target, alias);
	}
	else
	{
		from_sql = psprintf("%s %s", t->qualname, alias);
		corr = QsWithTenant(ctx, QsKeyEquality(rel->target, alias, rel->tkeys, e->from->relid, from_alias,
										   rel->keys, rel->nkeys), rel->target, alias);
	}

	/*
	 * The order (before the FROM clause: its paths may join), the
	 * queryset's then the primary key.  On Citus the keys are selected
	 * too and the aggregate orders by them: rows gathered from several
	 * shards arrive in no order.
	 */
	QsPathPop(ctx, save_path);
	QsPathPush(ctx, ".prefetch_related(%s).queryset", e->out);
	if (rel->kind != QS_REL_FORWARD)
	{
		QsOrderLists(ctx, inner->order_by, &order_exprs, &order_items);
		for (i = 0; i < t->npk; i++)
		{
			order_exprs = lappend(order_exprs, psprintf("%s.%s", alias, quote_identifier(t->columns[t->pk[i]].name)));
			order_items = lappend(order_items, palloc0(sizeof(QsOrderItem)));
		}
	}
	initStringInfo(&sub);
	appendStringInfo(&sub, "SELECT %s AS r", obj);
	if (rel->kind != QS_REL_FORWARD && QsOnCitus(ctx))
		agg_order = QsOrderColumns(&sub, order_exprs, order_items, "x");
	appendStringInfo(&sub, " FROM %s", from_sql);
	foreach(lc, scope->joins)
		appendStringInfoString(&sub, ((QsJoin *) lfirst(lc))->sql);
	appendStringInfoString(&sub, embed_joins);
	appendStringInfo(&sub, " WHERE %s", corr);
	if (strcmp(where, "true") != 0)
		appendStringInfo(&sub, " AND %s", where);
	if (rel->kind != QS_REL_FORWARD)
	{
		appendStringInfoString(&sub, " ORDER BY ");
		QsAppendOrderList(&sub, order_exprs, order_items);
		/* limit and offset per parent */
		QsAppendInnerSlice(ctx, &sub, e->queryset);
	}
	QsPathPop(ctx, save_path);
	ctx->scope = outer;

	if (rel->kind == QS_REL_FORWARD)
		return psprintf("(%s)", sub.data);
	return psprintf("(SELECT coalesce(pg_catalog.%s(x.r%s%s), '[]'::pg_catalog.%s) FROM (%s) x)",
					json ? "json_agg" : "jsonb_agg", agg_order ? " ORDER BY " : "", agg_order ? agg_order : "",
					json ? "json" : "jsonb", sub.data);
}
