/*
 * qtree.c
 *	  Q trees: filter() and exclude() as WHERE (and HAVING) predicates.
 *
 * Owns $and / $or / $not, the grouping of lookups that cross the same
 * to-many relation into one EXISTS (Django's single filter() call), the
 * to-many isnull, and the split of a grouped filter into WHERE and
 * HAVING.  Each lookup is compiled by lookup.c.
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
#include "lookup.h"
#include "param.h"
#include "path.h"
#include "pg_queryset.h"
#include "qtree.h"
#include "relation.h"
#include "spec.h"
#include "state.h"

static char *CompileItems(QsCompileState *ctx, List *items);

/* Join a list of SQL predicates with AND / OR (empty: the neutral value). */
static char *
JoinPredicates(List *preds, const char *op, const char *empty)
{
	StringInfoData buf;
	ListCell   *lc;

	if (preds == NIL)
		return pstrdup(empty);
	if (list_length(preds) == 1)
		return (char *) linitial(preds);
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '(');
	foreach(lc, preds)
	{
		if (lc != list_head(preds))
			appendStringInfo(&buf, " %s ", op);
		appendStringInfoString(&buf, (char *) lfirst(lc));
	}
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

/* Compile the array of Q objects under "$or" / "$and". */
static char *
CompileQList(QsCompileState *ctx, const char *key, JsonbValue *v)
{
	List	   *preds = NIL;
	int			i;
	int			save = ctx->path.len;
	bool		is_or = strcmp(key, "$or") == 0;

	if (v->type != jbvArray)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid spec at %s: %s expects an array of Q objects, got %s",
						QsPathString(ctx), key, QsJsonTypeName(v))));
	for (i = 0; i < v->val.array.nElems; i++)
	{
		QsPathPush(ctx, "[%d]", i);
		preds = lappend(preds, QsCompileQ(ctx, &v->val.array.elems[i]));
		QsPathPop(ctx, save);
	}
	/* Django: an empty OR matches nothing, an empty AND everything */
	return JoinPredicates(preds, is_or ? "OR" : "AND", is_or ? "false" : "true");
}

/* one lookup of a Q object, with its index in walk order */
typedef struct QsItem
{
	char	   *key;			/* the path (relative to the group's model) */
	JsonbValue *value;
	int			index;
	char	   *full;			/* the key as written, for paths in messages */
} QsItem;

/*
 * EXISTS over a to-many relation: the lookups of one Q object that cross
 * it hold for the same related row (Django's meaning of one filter()
 * call), and the parent row is never duplicated.
 */
static char *
CompileExists(QsCompileState *ctx, const char *prefix, QsRelation *rel, List *items)
{
	QsScope    *outer = ctx->scope;
	QsScope    *inner;
	char	   *corr;
	char	   *preds;
	char	   *from_sql;
	int			save_neg = ctx->negated;
	StringInfoData buf;

	inner = QsOpenToMany(ctx, prefix, rel, &from_sql, &corr);
	ctx->scope = inner;
	ctx->negated = 0;			/* EXISTS is never NULL: NOT around it is exact */
	preds = CompileItems(ctx, items);
	ctx->negated = save_neg;
	ctx->scope = outer;

	initStringInfo(&buf);
	appendStringInfo(&buf, "EXISTS (SELECT 1 FROM %s%s WHERE %s", from_sql, QsScopeJoins(inner), corr);
	if (strcmp(preds, "true") != 0)
		appendStringInfo(&buf, " AND %s", preds);
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

/*
 * "<to-many>__isnull" and "<to-many>__...__isnull": true or false?
 * Django's meaning across a to-many relation (its join promotion): with
 * true, the joins are outer, so a row without any related row matches as
 * well as a row with a related row whose field is null; with false, some
 * related row has the field.  rest: the path after the to-many hop.
 */
static bool
IsNullAcrossToMany(const char *rest)
{
	size_t		len = strlen(rest);

	return strcmp(rest, "isnull") == 0 ||
		(len > 8 && strcmp(rest + len - 8, "__isnull") == 0);
}

/*
 * The predicate of an isnull lookup across a to-many relation, never
 * duplicating the row:
 *	children__isnull: true          NOT EXISTS (children)
 *	children__isnull: false         EXISTS (children)
 *	children__name__isnull: true    NOT EXISTS (children) OR EXISTS (children with name IS NULL)
 *	children__name__isnull: false   EXISTS (children with name IS NOT NULL)
 * Deeper to-many hops in rest nest the same way.
 */
static char *
CompileIsNullAcross(QsCompileState *ctx, const char *prefix, QsRelation *rel, QsItem *sub, const char *rest)
{
	int			save = ctx->path.len;

	/* a manager's placeholder, checked when the method is defined */
	if (qs_validating_params && QsIsParam(sub->value))
		return pstrdup("true");
	if (sub->value->type != jbvBool)
	{
		QsPathPush(ctx, ".%s", sub->full);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid value for field \"%s\": the lookup 'isnull' expects true or false, got %s",
						prefix, QsJsonTypeName(sub->value)),
				 errdetail("At %s.", QsPathString(ctx))));
	}
	QsPathPop(ctx, save);

	if (strcmp(rest, "isnull") == 0)
	{
		char	   *any = CompileExists(ctx, prefix, rel, NIL);

		return sub->value->val.boolean ? psprintf("(NOT %s)", any) : any;
	}
	if (!sub->value->val.boolean)
		return CompileExists(ctx, prefix, rel, list_make1(sub));
	{
		char	   *none = psprintf("(NOT %s)", CompileExists(ctx, prefix, rel, NIL));

		return psprintf("(%s OR %s)", none, CompileExists(ctx, prefix, rel, list_make1(sub)));
	}
}

/*
 * Compile the lookups of one Q object in the current scope: those that
 * cross a to-many relation are grouped by the path up to that hop, one
 * EXISTS per group; the rest are plain predicates.
 */
static char *
CompileItems(QsCompileState *ctx, List *items)
{
	List	   *preds = NIL;
	List	   *prefixes = NIL;	/* char * */
	List	   *groups = NIL;	/* List * of QsItem * */
	List	   *rels = NIL;		/* QsRelation * */
	ListCell   *lc;
	ListCell   *lg;
	ListCell   *lr;
	int			save = ctx->path.len;

	List	   *outside = NIL;	/* aggregate filter: lookups of the enclosing row */
	QsScope    *scope = ctx->scope;

	check_stack_depth();
	foreach(lc, items)
	{
		QsItem	   *it = (QsItem *) lfirst(lc);
		QsRelation *rel = NULL;
		int			n;
		const char *key = it->key;

		/* in an aggregate's scope, only paths under its relation are inside */
		if (scope->prefix != NULL)
		{
			size_t		plen = strlen(scope->prefix);

			if (strncmp(key, scope->prefix, plen) == 0 && strncmp(key + plen, "__", 2) == 0)
				key += plen + 2;
			else if (strcmp(key, scope->prefix) != 0 && scope->parent != NULL)
			{
				outside = lappend(outside, it);
				continue;
			}
		}
		QsPathPush(ctx, ".%s", it->full);
		n = (scope->prefix != NULL && strcmp(key, scope->prefix) == 0) ? 0 :
			QsToManyPrefix(ctx, scope->model, key, &rel);
		if (n == 0)
			preds = lappend(preds, QsCompileLookup(ctx, it->key, it->value, it->index));
		else
		{
			const char *rest;
			char	   *prefix = QsPathHead(ctx, key, n, &rest);
			QsItem	   *sub = palloc(sizeof(QsItem));
			bool		found = false;
			ListCell   *lp;

			if (*rest == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("a to-many relation ('%s') needs a field or a lookup after it", prefix),
						 errdetail("At %s.", QsPathString(ctx)),
						 errhint("Write e.g. \"%s__id\" or \"%s__isnull\".", prefix, prefix)));
			*sub = *it;
			sub->key = pstrdup(rest);
			if (IsNullAcrossToMany(rest))
			{
				QsPathPop(ctx, save);	/* the EXISTS compiles the item with its own path */
				preds = lappend(preds, CompileIsNullAcross(ctx, prefix, rel, sub, rest));
				continue;
			}
			forboth(lp, prefixes, lg, groups)
			{
				if (strcmp((char *) lfirst(lp), prefix) == 0)
				{
					lfirst(lg) = lappend((List *) lfirst(lg), sub);
					found = true;
					break;
				}
			}
			if (!found)
			{
				prefixes = lappend(prefixes, prefix);
				groups = lappend(groups, list_make1(sub));
				rels = lappend(rels, rel);
			}
		}
		QsPathPop(ctx, save);
	}
	forthree(lc, prefixes, lg, groups, lr, rels)
		preds = lappend(preds, CompileExists(ctx, (char *) lfirst(lc), (QsRelation *) lfirst(lr),
											 (List *) lfirst(lg)));
	if (outside != NIL)
	{
		ctx->scope = scope->parent;
		preds = lappend(preds, CompileItems(ctx, outside));
		ctx->scope = scope;
	}
	return JoinPredicates(preds, "AND", "true");
}

/*
 * Compile one Q object: the AND of its lookups and operators.  split
 * selects the top-level entries of a grouped query's where: 1 those that
 * do not reference aggregate annotations (WHERE), 2 those that do
 * (HAVING), 0 all.
 */
char *
QsCompileQObject(QsCompileState *ctx, JsonbValue *q, int split)
{
	List	   *preds = NIL;
	List	   *items = NIL;
	int			i;
	int			save = ctx->path.len;

	check_stack_depth();
	CHECK_FOR_INTERRUPTS();
	if (++ctx->depth > qs_max_depth)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("Q tree is nested too deeply at %s", QsPathString(ctx)),
				 errdetail("The limit is %d levels (pg_queryset.max_depth).", qs_max_depth),
				 errhint("Flatten the tree: an object's lookups are already ANDed.")));
	if (q->type != jbvObject)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid spec at %s: expected a Q object, got %s",
						QsPathString(ctx), QsJsonTypeName(q)),
				 errhint("A Q object looks like {\"price__gte\": 10, \"$or\": [...]}.")));

	for (i = 0; i < q->val.object.nPairs; i++)
	{
		char	   *key = QsTreeKey(&q->val.object.pairs[i].key);
		JsonbValue *v = &q->val.object.pairs[i].value;

		if (split != 0 && QsQRefsAggregate(ctx, key, v) != (split == 2))
			continue;
		QsPathPush(ctx, ".%s", key);
		if (strcmp(key, "$or") == 0 || strcmp(key, "$and") == 0)
			preds = lappend(preds, CompileQList(ctx, key, v));
		else if (strcmp(key, "$exists") == 0)
		{
			int			save_neg = ctx->negated;

			ctx->negated = 0;
			preds = lappend(preds, QsCompileSubquery(ctx, v, true, NULL));
			ctx->negated = save_neg;
		}
		else if (strcmp(key, "$not") == 0)
		{
			char	   *inner;

			ctx->negated++;
			inner = QsCompileQ(ctx, v);
			ctx->negated--;
			preds = lappend(preds, psprintf("(NOT %s)", inner));
		}
		else if (key[0] == '$')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid spec at %s: unknown operator \"%s\"", QsPathString(ctx), key),
					 errhint("Q operators are $and, $or, $not and $exists.")));
		else
		{
			/* lookups are numbered in walk order, compiled below */
			QsItem	   *it = palloc(sizeof(QsItem));

			it->key = key;
			it->full = key;
			it->value = v;
			it->index = QsValueIndex(ctx, v);
			items = lappend(items, it);
		}
		QsPathPop(ctx, save);
	}
	if (items != NIL)
		preds = lappend(preds, CompileItems(ctx, items));
	ctx->depth--;
	return JoinPredicates(preds, "AND", "true");
}

/* A Q tree as one predicate (WHERE), in the current scope. */
char *
QsCompileQ(QsCompileState *ctx, JsonbValue *q)
{
	return QsCompileQObject(ctx, q, 0);
}
