/*
 * path.c
 *	  Field paths: "category__parent__name" resolved to a SQL expression,
 *	  with the joins and relation hops it needs.
 *
 * Owns the FROM clause of a scope (forward relations LEFT/INNER JOINed
 * once per path, to-many hops as EXISTS scopes or LEFT JOINs inside
 * aggregates), the primary key and composite keys as fields, and the
 * tenant predicate of every table a statement reads.  Annotation names
 * are resolved through the compile state's annotation hook (set by
 * expr.c), so this file never calls up into expressions.
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

#include "model.h"
#include "param.h"
#include "path.h"
#include "relation.h"
#include "state.h"
#include "tenant.h"
#include "transform.h"

static char *KeyEquality(Oid lrel, const char *lalias, AttrNumber *lkeys, Oid rrel,
						 const char *ralias, AttrNumber *rkeys, int n);

/* Split "a__b__c" into its parts; empty parts are errors. */
List *
QsSplitPath(QsCompileState *ctx, const char *path)
{
	List	   *parts = NIL;
	const char *p = path;

	for (;;)
	{
		const char *sep = strstr(p, "__");
		char	   *part;

		part = sep ? pnstrdup(p, sep - p) : pstrdup(p);
		if (part[0] == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid field path \"%s\"", path),
					 errdetail("Found an empty part at %s.", QsPathString(ctx)),
					 errhint("Parts of a path are separated by a double underscore, e.g. \"created_at__year\".")));
		parts = lappend(parts, part);
		if (!sep)
			break;
		p = sep + 2;
	}
	return parts;
}

/* Raise Django's "Cannot resolve keyword" error. */
void
QsUnknownField(QsCompileState *ctx, QsModel *model, const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("Cannot resolve keyword '%s' into field. Choices are: %s",
					name, QsModelChoices(model)),
			 errdetail("Model \"%s\", at %s.", model->display, QsPathString(ctx))));
}

/* The SQL expression of a bare column under an alias. */
static QsExpr *
ColumnExpr(QsColumn *col, const char *alias, bool outer)
{
	QsExpr	   *e = palloc0(sizeof(QsExpr));

	e->sql = psprintf("%s.%s", alias, quote_identifier(col->name));
	e->type = col->basetypid;
	e->typmod = col->typmod;
	e->nullable = outer || !col->notnull;
	e->column = col;
	/* json columns are compared as jsonb (json has no equality) */
	if (e->type == JSONOID)
	{
		e->sql = psprintf("(%s)::pg_catalog.jsonb", e->sql);
		e->type = JSONBOID;
	}
	return e;
}

/*
 * A composite key as one expression (QsKey): the columns cols[] of a
 * table under alias, named names[] in a {"col": v} value.  Its SQL value
 * is a jsonb array of the columns (Django's tuple; values() shows it,
 * Count counts it), NULL when a column is (a LEFT JOIN's miss, or a
 * composite foreign key with a NULL column: no related row).
 */
static QsExpr *
KeyExpr(QsColumn **cols, char **names, int n, const char *alias, bool outer)
{
	QsExpr	   *e = palloc0(sizeof(QsExpr));
	QsKey	   *k = palloc0(sizeof(QsKey));
	StringInfoData arr;
	StringInfoData nulls;
	int			i;

	k->n = n;
	k->sql = palloc(sizeof(char *) * n);
	k->names = palloc(sizeof(char *) * n);
	k->types = palloc(sizeof(Oid) * n);
	initStringInfo(&arr);
	initStringInfo(&nulls);
	e->nullable = outer;
	for (i = 0; i < n; i++)
	{
		k->sql[i] = psprintf("%s.%s", alias, quote_identifier(cols[i]->name));
		k->names[i] = names[i];
		k->types[i] = cols[i]->basetypid;
		appendStringInfo(&arr, "%s%s", i > 0 ? ", " : "", k->sql[i]);
		if (outer || !cols[i]->notnull)
		{
			appendStringInfo(&nulls, "%s%s IS NULL", nulls.len > 0 ? " OR " : "", k->sql[i]);
			e->nullable = true;
		}
	}
	e->sql = psprintf("pg_catalog.jsonb_build_array(%s)", arr.data);
	if (nulls.len > 0)
		e->sql = psprintf("(CASE WHEN %s THEN NULL ELSE %s END)", nulls.data, e->sql);
	e->type = JSONBOID;
	e->typmod = -1;
	e->key = k;
	return e;
}

/* The composite primary key of a model as one expression. */
QsExpr *
QsPkKeyExpr(QsModel *model, const char *alias, bool outer)
{
	QsColumn  **cols = palloc(sizeof(QsColumn *) * model->npk);
	char	  **names = palloc(sizeof(char *) * model->npk);
	int			i;

	for (i = 0; i < model->npk; i++)
	{
		cols[i] = &model->columns[model->pk[i]];
		names[i] = cols[i]->name;
	}
	return KeyExpr(cols, names, model->npk, alias, outer);
}

/*
 * A forward relation through a composite foreign key as one expression:
 * its columns in this model, named as the referenced columns (so
 * {"board": {"tenant_id": 1, "id": 7}} reads like the related row's key).
 */
static QsExpr *
ForeignKeyExpr(QsModel *model, const char *alias, bool outer, QsRelation *rel)
{
	QsColumn  **cols = palloc(sizeof(QsColumn *) * rel->nkeys);
	char	  **names = palloc(sizeof(char *) * rel->nkeys);
	int			i;

	for (i = 0; i < rel->nkeys; i++)
	{
		cols[i] = QsModelColumn(model, get_attname(model->relid, rel->keys[i], false));
		names[i] = get_attname(rel->target, rel->tkeys[i], false);
	}
	return KeyExpr(cols, names, rel->nkeys, alias, outer);
}

/* The relation of a model with this name, or NULL; ambiguous names are errors. */
QsRelation *
QsFindRelation(QsCompileState *ctx, QsModel *model, const char *name)
{
	ListCell   *lc;
	QsRelation *found = NULL;

	foreach(lc, QsModelRelations(model))
	{
		QsRelation *r = (QsRelation *) lfirst(lc);

		if (strcmp(r->name, name) != 0)
			continue;
		if (r->ambiguous)
			ereport(ERROR,
					(errcode(ERRCODE_AMBIGUOUS_COLUMN),
					 errmsg("relation name '%s' of model \"%s\" is ambiguous", name, model->display),
					 errdetail("At %s.", QsPathString(ctx)),
					 errhint("Rename the relations with qs.name_relation(); qs.relations('%s') lists them.",
							 model->display)));
		found = r;
	}
	return found;
}

/*
 * Join a forward relation (once per path), returning its join.  The join
 * is INNER when every FK column on the way is NOT NULL, else LEFT, so a
 * NULL FK keeps its row (isnull on a relation behaves like Django's).
 */
static QsJoin *
JoinForward(QsCompileState *ctx, const char *key, QsModel *from, const char *from_alias,
			bool from_outer, QsRelation *rel)
{
	ListCell   *lc;
	QsJoin	   *j;
	StringInfoData on;
	int			k;

	foreach(lc, ctx->scope->joins)
	{
		j = (QsJoin *) lfirst(lc);
		if (strcmp(j->key, key) == 0)
			return j;
	}
	j = palloc0(sizeof(QsJoin));
	j->key = pstrdup(key);
	j->alias = psprintf("t%d", ctx->next_alias++);
	j->outer = from_outer || rel->nullable;
	j->model = QsModelGet(rel->target);
	initStringInfo(&on);
	for (k = 0; k < rel->nkeys; k++)
	{
		char	   *fcol = get_attname(from->relid, rel->keys[k], false);
		char	   *tcol = get_attname(rel->target, rel->tkeys[k], false);
		Oid			ftype = get_atttype(from->relid, rel->keys[k]);
		Oid			ttype = get_atttype(rel->target, rel->tkeys[k]);

		appendStringInfo(&on, "%s%s.%s %s %s.%s", k > 0 ? " AND " : "",
						 j->alias, quote_identifier(tcol), QsOp("=", ttype, ftype),
						 from_alias, quote_identifier(fcol));
	}
	j->sql = psprintf(" %s %s %s ON %s", j->outer ? "LEFT JOIN" : "JOIN",
					  j->model->qualname, j->alias, on.data);
	ctx->scope->joins = lappend(ctx->scope->joins, j);
	ctx->relids = list_append_unique_oid(ctx->relids, rel->target);
	return j;
}

/* "l.a = r.x AND l.b = r.y": the join condition of a (composite) foreign key. */
char *
QsKeyEquality(Oid lrel, const char *lalias, AttrNumber *lkeys, Oid rrel,
			  const char *ralias, AttrNumber *rkeys, int n)
{
	return KeyEquality(lrel, lalias, lkeys, rrel, ralias, rkeys, n);
}

/*
 * LEFT JOIN a to-many relation (once per path) inside an aggregate's
 * scope, where the aggregate runs over the related rows (Django's
 * Count("items__product__reviews")).
 */
static QsJoin *
JoinToMany(QsCompileState *ctx, const char *key, QsModel *from, const char *from_alias,
		   QsRelation *rel)
{
	ListCell   *lc;
	QsJoin	   *j;

	foreach(lc, ctx->scope->joins)
	{
		j = (QsJoin *) lfirst(lc);
		if (strcmp(j->key, key) == 0)
			return j;
	}
	j = palloc0(sizeof(QsJoin));
	j->key = pstrdup(key);
	j->alias = psprintf("t%d", ctx->next_alias++);
	j->outer = true;
	j->model = QsModelGet(rel->target);
	if (rel->kind == QS_REL_REVERSE)
		j->sql = psprintf(" LEFT JOIN %s %s ON %s", j->model->qualname, j->alias,
						  KeyEquality(rel->target, j->alias, rel->tkeys, from->relid, from_alias,
									  rel->keys, rel->nkeys));
	else
	{
		char	   *jalias = psprintf("t%d", ctx->next_alias++);

		ctx->relids = list_append_unique_oid(ctx->relids, rel->junction);
		j->sql = psprintf(" LEFT JOIN (%s %s JOIN %s %s ON %s) ON %s",
						  QsModelGet(rel->junction)->qualname, jalias, j->model->qualname, j->alias,
						  KeyEquality(rel->target, j->alias, rel->tkeys2, rel->junction, jalias,
									  rel->jkeys2, rel->nkeys2),
						  KeyEquality(rel->junction, jalias, rel->tkeys, from->relid, from_alias,
									  rel->keys, rel->nkeys));
	}
	ctx->scope->joins = lappend(ctx->scope->joins, j);
	ctx->relids = list_append_unique_oid(ctx->relids, rel->target);
	return j;
}

/* The single-column primary key of a model, or an error. */
QsColumn *
QsPkColumn(QsCompileState *ctx, QsModel *model)
{
	QsColumn   *col = QsModelPkColumn(model);

	if (col == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model \"%s\" has no single-column primary key", model->display),
				 errdetail("At %s.", QsPathString(ctx)),
				 errhint("Name one of its columns instead.")));
	return col;
}

/*
 * Resolve a field path: an annotation name (at the statement's level),
 * forward relations (joined), then a column, then transforms (date
 * parts, jsonb keys, array index/len).  A path may end at a forward
 * relation (its FK column is compared, as Django compares "category=5"
 * with category_id).  in_lookup: the path is a lookup's field (lookup.c
 * has split the lookup off), so an unknown last part is named a lookup.
 *
 * In an aggregate's scope (scope->prefix), paths under the aggregated
 * relation resolve inside it and the others in the enclosing scope.
 */
QsExpr *
QsResolvePath(QsCompileState *ctx, const char *path, bool in_lookup)
{
	QsScope    *scope = ctx->scope;
	List	   *parts;
	int			n;
	QsModel    *model = scope->model;
	const char *alias = scope->alias;
	bool		outer = false;
	StringInfoData key;
	QsColumn   *col = NULL;
	QsExpr	   *e = NULL;
	int			i = 0;

	check_stack_depth();
	if (scope->prefix != NULL)
	{
		size_t		plen = strlen(scope->prefix);

		if (strcmp(path, scope->prefix) == 0)
			path = model->npk > 1 ? "pk" : QsPkColumn(ctx, model)->name;
		else if (strncmp(path, scope->prefix, plen) == 0 && strncmp(path + plen, "__", 2) == 0)
			path += plen + 2;
		else if (scope->parent != NULL)
		{
			ctx->scope = scope->parent;
			e = QsResolvePath(ctx, path, in_lookup);
			ctx->scope = scope;
			return e;
		}
	}
	parts = QsSplitPath(ctx, path);
	n = list_length(parts);
	initStringInfo(&key);

	/* an annotation of the statement, through the hook expr.c sets */
	if (scope == ctx->top && ctx->annotation_hook != NULL)
		e = ctx->annotation_hook(ctx, (char *) linitial(parts));

	/* walk relations until a column */
	while (e == NULL)
	{
		char	   *part = (char *) list_nth(parts, i);
		QsRelation *rel;
		bool		last;

		CHECK_FOR_INTERRUPTS();
		col = QsModelColumn(model, part);
		if (col != NULL)
			break;
		if (model->npk > 1 && strcmp(part, "pk") == 0)
		{
			e = QsPkKeyExpr(model, alias, outer);
			break;
		}
		rel = QsFindRelation(ctx, model, part);
		if (rel == NULL)
			QsUnknownField(ctx, model, part);
		last = (i == n - 1);
		if (rel->kind != QS_REL_FORWARD)
		{
			QsJoin	   *j;

			if (!ctx->scope->allow_many)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("cannot follow the to-many relation '%s' of \"%s\" here",
								part, model->display),
						 errdetail("At %s. A to-many relation has many values per row.",
								   QsPathString(ctx)),
						 errhint("Filters cross to-many relations (as EXISTS) and aggregates "
								 "over them (Count, Sum, ...); order_by and values take forward "
								 "paths only.")));
			appendStringInfo(&key, "%s%s", key.len > 0 ? "__" : "", part);
			j = JoinToMany(ctx, key.data, model, alias, rel);
			model = j->model;
			alias = j->alias;
			outer = true;
			if (last)
			{
				if (model->npk > 1)
					e = QsPkKeyExpr(model, alias, outer);
				else
					col = QsPkColumn(ctx, model);
				break;
			}
			i++;
			continue;
		}
		if (last)
		{
			/* the relation itself: compare its FK column(s) */
			if (rel->nkeys > 1)
				e = ForeignKeyExpr(model, alias, outer, rel);
			else
				col = QsModelColumn(model, get_attname(model->relid, rel->keys[0], false));
			break;
		}
		appendStringInfo(&key, "%s%s", key.len > 0 ? "__" : "", part);
		{
			QsJoin	   *j = JoinForward(ctx, key.data, model, alias, outer, rel);

			model = j->model;
			alias = j->alias;
			outer = j->outer;
		}
		i++;
	}
	if (e == NULL)
	{
		e = ColumnExpr(col, alias, outer);
		e->relid = model->relid;
	}

	for (i = i + 1; i < n; i++)
	{
		char	   *part = (char *) list_nth(parts, i);

		CHECK_FOR_INTERRUPTS();
		if (e->key != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unsupported %s '%s' for the composite key \"%s\"",
							in_lookup && i == n - 1 ? "lookup" : "transform", part,
							(char *) list_nth(parts, i - 1)),
					 errdetail("At %s.", QsPathString(ctx)),
					 errhint("A composite key takes exact, in, gt, gte, lt, lte and isnull; "
							 "name one of its columns for anything else.")));
		if (QsApplyTransform(ctx, e, part))
			continue;
		if (in_lookup && i == n - 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unsupported lookup '%s' for field \"%s\" of type %s",
							part, col ? col->name : (char *) linitial(parts), format_type_be(e->type)),
					 errdetail("At %s.", QsPathString(ctx)),
					 errhint("See docs/lookups.md for the lookups each type supports.")));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unsupported transform '%s' for field \"%s\" of type %s",
						part, col ? col->name : (char *) linitial(parts), format_type_be(e->type)),
				 errdetail("At %s.", QsPathString(ctx)),
				 errhint("See docs/lookups.md for the transforms each type supports.")));
	}
	return e;
}

/*
 * Where does a path first cross a to-many relation?  Returns the number
 * of parts up to and including that hop (0: none), and the relation.
 * Forward hops before it are walked on the given model.
 */
int
QsToManyPrefix(QsCompileState *ctx, QsModel *model, const char *path, QsRelation **rel_out)
{
	List	   *parts = QsSplitPath(ctx, path);
	int			i;

	for (i = 0; i < list_length(parts); i++)
	{
		char	   *part = (char *) list_nth(parts, i);
		QsRelation *rel;

		if (QsModelColumn(model, part) != NULL)
			return 0;
		rel = QsFindRelation(ctx, model, part);
		if (rel == NULL)
			return 0;			/* QsResolvePath reports it */
		if (rel->kind != QS_REL_FORWARD)
		{
			*rel_out = rel;
			return i + 1;
		}
		model = QsModelGet(rel->target);
	}
	return 0;
}

/* The first n parts of a path, joined again with "__". */
char *
QsPathHead(QsCompileState *ctx, const char *path, int n, const char **rest)
{
	const char *p = path;
	int			k;

	for (k = 0; k < n; k++)
	{
		const char *sep = strstr(p, "__");

		if (sep == NULL)
		{
			p = p + strlen(p);
			break;
		}
		p = sep + 2;
	}
	*rest = p;
	return pnstrdup(path, (*p == '\0') ? strlen(path) : (size_t) (p - 2 - path));
}

/* "a.x = b.y AND ..." over key columns of two relations. */
static char *
KeyEquality(Oid lrel, const char *lalias, AttrNumber *lkeys, Oid rrel, const char *ralias,
			AttrNumber *rkeys, int n)
{
	StringInfoData buf;
	int			k;

	initStringInfo(&buf);
	for (k = 0; k < n; k++)
		appendStringInfo(&buf, "%s%s.%s %s %s.%s", k > 0 ? " AND " : "",
						 lalias, quote_identifier(get_attname(lrel, lkeys[k], false)),
						 QsOp("=", get_atttype(lrel, lkeys[k]), get_atttype(rrel, rkeys[k])),
						 ralias, quote_identifier(get_attname(rrel, rkeys[k], false)));
	return buf.data;
}

/*
 * The tenant predicate of a tenant-scoped model read under an alias
 * (tenant.c), or NULL: statements carry it at every level, except for
 * qs.for_tenant's specs, which name the tenant themselves.
 */
char *
QsTenantCond(QsCompileState *ctx, QsModel *m, const char *alias)
{
	QsColumn   *c;
	QsParamRecipe p;
	Datum		d;
	bool		isnull;

	if (ctx->spec != NULL && ctx->spec->no_tenant_predicate)
		return NULL;
	if ((c = QsTenantColumn(m)) == NULL || !QsOnCitus(ctx))
		return QsTenantPredicate(m, alias);

	/*
	 * On Citus the tenant is a parameter, computed at every execution
	 * (QS_PARAM_TENANT): the router sees "tenant_id = $n" and sends the
	 * statement to the one shard of the tenant.  The shards' policies
	 * still decide which rows the statement may touch.
	 */
	memset(&p, 0, sizeof(p));
	p.kind = QS_PARAM_TENANT;
	p.lookup = -1;
	p.type = c->typid;
	p.field = pstrdup(c->name);
	p.path = pstrdup(QsPathString(ctx));
	d = QsTenantDatum(c->typid, &isnull);
	return psprintf("%s.%s %s %s", alias, quote_identifier(c->name), QsOperatorSql(m->tenant_opno),
					QsAddParam(ctx, c->typid, d, isnull, &p));
}

/* A correlation condition with the tenant predicate of the model it reads. */
char *
QsWithTenant(QsCompileState *ctx, char *cond, Oid relid, const char *alias)
{
	char	   *tp = QsTenantCond(ctx, QsModelGet(relid), alias);

	return tp ? psprintf("%s AND %s", cond, tp) : cond;
}

/*
 * Open the scope of a to-many relation reached by prefix (forward hops,
 * then the to-many hop) from the current scope: its FROM clause and the
 * correlation with the current row.  Forward hops before the to-many
 * one are joined in the current scope.
 */
QsScope *
QsOpenToMany(QsCompileState *ctx, const char *prefix, QsRelation *rel, char **from_sql, char **corr)
{
	QsScope    *outer = ctx->scope;
	QsScope    *inner = palloc0(sizeof(QsScope));
	QsModel    *from;
	const char *from_alias;
	char	   *target_alias;

	if (strcmp(prefix, rel->name) == 0)
	{
		from = outer->model;
		from_alias = outer->alias;
	}
	else
	{
		QsExpr	   *e;
		char	   *fwd = pnstrdup(prefix, strlen(prefix) - strlen(rel->name) - 2);
		QsModel    *m = outer->model;
		List	   *parts = QsSplitPath(ctx, fwd);
		ListCell   *pc;
		char	   *pkcol;
		const char *save_prefix = outer->prefix;

		/* walk to the model at the hop, then resolve its key through the joins */
		foreach(pc, parts)
			m = QsModelGet(QsFindRelation(ctx, m, (char *) lfirst(pc))->target);
		from = m;
		pkcol = get_attname(m->relid, rel->keys[0], false);
		outer->prefix = NULL;	/* fwd is relative to this scope already */
		e = QsResolvePath(ctx, psprintf("%s__%s", fwd, pkcol), false);
		outer->prefix = save_prefix;
		/* e->sql is "tN.col": the alias is what precedes the dot */
		from_alias = pnstrdup(e->sql, strchr(e->sql, '.') - e->sql);
	}

	target_alias = psprintf("t%d", ctx->next_alias++);
	ctx->relids = list_append_unique_oid(ctx->relids, rel->target);
	if (rel->kind == QS_REL_REVERSE)
	{
		*from_sql = psprintf("%s %s", QsModelGet(rel->target)->qualname, target_alias);
		*corr = QsWithTenant(ctx, KeyEquality(rel->target, target_alias, rel->tkeys, from->relid, from_alias,
											rel->keys, rel->nkeys),
						   rel->target, target_alias);
	}
	else
	{
		/* m2m: junction joined to the target */
		char	   *jalias = psprintf("t%d", ctx->next_alias++);

		ctx->relids = list_append_unique_oid(ctx->relids, rel->junction);
		*from_sql = psprintf("%s %s JOIN %s %s ON %s", QsModelGet(rel->junction)->qualname, jalias,
							 QsModelGet(rel->target)->qualname, target_alias,
							 KeyEquality(rel->target, target_alias, rel->tkeys2,
										 rel->junction, jalias, rel->jkeys2, rel->nkeys2));
		*corr = QsWithTenant(ctx, QsWithTenant(ctx, KeyEquality(rel->junction, jalias, rel->tkeys, from->relid,
														   from_alias, rel->keys, rel->nkeys),
										   rel->junction, jalias),
						   rel->target, target_alias);
	}
	inner->model = QsModelGet(rel->target);
	inner->alias = target_alias;
	return inner;
}

/* The JOIN clauses a scope has collected. */
char *
QsScopeJoins(QsScope *scope)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, scope->joins)
		appendStringInfoString(&buf, ((QsJoin *) lfirst(lc))->sql);
	return buf.data;
}
