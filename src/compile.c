/*
 * compile.c
 *	  QuerySet spec -> SQL text with $n placeholders + typed parameters.
 *
 * Design note.  The SQL text depends only on the spec's *shape*: every
 * value a caller supplies (filter values, limit, offset, in_bulk ids)
 * becomes a parameter, and every identifier comes from the catalog
 * (model.c) and is quoted with quote_identifier().  The text is therefore
 * a perfect key for the plan cache (plancache.c): two specs that differ
 * only in values share one saved plan.
 *
 * Functions are schema-qualified (pg_catalog.) so that a search_path
 * entry placed before pg_catalog cannot capture them.
 *
 * The statement an evaluation runs is always ONE statement, shaped as an
 * expert would write it by hand:
 *
 *   rows:   SELECT jsonb_build_object('id', t0.id, ...) FROM tbl t0
 *           WHERE ... ORDER BY ... LIMIT $n OFFSET $m
 *   json:   SELECT coalesce(json_agg(q.r), '[]') FROM (<rows with json>) q(r)
 *   count:  SELECT count(*) FROM tbl t0 WHERE ...   (or over the slice)
 *   exists: SELECT EXISTS (SELECT 1 FROM tbl t0 WHERE ... )
 *
 * DISTINCT over model rows is computed on the selected columns in a
 * subquery (json has no equality operator), then the row objects are
 * built over it.  Lookups (the right-hand side of a filter) live in
 * lookup.c; this file resolves field paths, walks Q trees and assembles
 * statements.  It must not execute anything.
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "parser/parse_coerce.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"

#include "pg_queryset.h"

/* parameters one statement may carry (the wire protocol allows 65535) */
#define QS_MAX_PARAMS 60000

/* a relation embedded in each row (select_related / prefetch_related) */
typedef struct QsEmbed
{
	char	   *name;			/* the relation's name */
	char	   *out;			/* the output key (to_attr, else name) */
	QsRelation *rel;
	QsModel    *from;
	List	   *children;		/* QsEmbed * */
	JsonbValue *queryset;		/* Prefetch queryset, or NULL */
} QsEmbed;

/* one selected value: its result key and SQL expression (or an embed) */
typedef struct SelItem
{
	char	   *key;
	char	   *sql;
	QsEmbed    *embed;
	bool		is_agg;			/* an aggregate (not a GROUP BY key) */
	char	   *group;			/* GROUP BY it by these (a composite key's columns), or NULL */
	Oid			type;			/* its type (set operations compare operands' columns) */
} SelItem;

/* ---------------------------------------------------------------------
 * JSON path of the fault, for messages
 * ---------------------------------------------------------------------
 */

/* Append a segment to the current JSON path. */
void
QsPathPush(QsCompile *ctx, const char *fmt,...)
{
	va_list		args;
	int			needed;

	for (;;)
	{
		va_start(args, fmt);
		needed = appendStringInfoVA(&ctx->path, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&ctx->path, needed);
	}
}

/* Cut the JSON path back to a saved length. */
void
QsPathPop(QsCompile *ctx, int len)
{
	ctx->path.len = len;
	ctx->path.data[len] = '\0';
}

/* The current JSON path ("$.where.$or[1].price__gt"). */
char *
QsPathString(QsCompile *ctx)
{
	return ctx->path.data;
}

/* ---------------------------------------------------------------------
 * Parameters
 * ---------------------------------------------------------------------
 */

/* Add a typed parameter and how it was computed; returns "$3". */
char *
QsAddParam(QsCompile *ctx, Oid type, Datum value, bool isnull, QsProducer *prod)
{
	if (ctx->nparams >= QS_MAX_PARAMS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("queryset has too many values"),
				 errdetail("A statement can carry at most %d parameters.", QS_MAX_PARAMS),
				 errhint("Use an \"in\" lookup with one array instead of many separate lookups.")));
	if (ctx->nparams >= ctx->maxparams)
	{
		int			newmax = Min(ctx->maxparams * 2, QS_MAX_PARAMS);

		ctx->ptypes = repalloc(ctx->ptypes, sizeof(Oid) * newmax);
		ctx->pvalues = repalloc(ctx->pvalues, sizeof(Datum) * newmax);
		ctx->pnulls = repalloc(ctx->pnulls, sizeof(bool) * newmax);
		ctx->prods = repalloc(ctx->prods, sizeof(QsProducer) * newmax);
		ctx->maxparams = newmax;
	}
	ctx->prods[ctx->nparams] = *prod;
	ctx->ptypes[ctx->nparams] = type;
	ctx->pvalues[ctx->nparams] = value;
	ctx->pnulls[ctx->nparams] = isnull;
	ctx->nparams++;
	return psprintf("$%d", ctx->nparams);
}

/* ---------------------------------------------------------------------
 * Data values
 * ---------------------------------------------------------------------
 *
 * Every data value of a spec (lookup values, Values inside expressions,
 * Prefetch and subquery limits) has an index: its position in the list
 * QsShapeOf collects.  Parameter producers record that index, so a
 * cached shape replays them over another spec of the same shape.  The
 * compiler finds a value's index by its address in the spec tree, so the
 * order in which it compiles things never has to match the walk.
 */
typedef struct QsValueEnt
{
	JsonbValue *value;			/* hash key: the node's address */
	int			index;
} QsValueEnt;

static void
BuildValueIndex(QsCompile *ctx)
{
	StringInfoData scratch;
	List	   *values;

	initStringInfo(&scratch);
	QsShapeOf(ctx->spec->tree, &scratch, &values);
	QsIndexValues(ctx, values);
}

/* Index the data values of a shape walk (position in the list). */
void
QsIndexValues(QsCompile *ctx, List *values)
{
	HASHCTL		hc;
	ListCell   *lc;
	int			i = 0;

	memset(&hc, 0, sizeof(hc));
	hc.keysize = sizeof(JsonbValue *);
	hc.entrysize = sizeof(QsValueEnt);
	hc.hcxt = CurrentMemoryContext;
	ctx->vindex = hash_create("pg_queryset spec values", Max(16, list_length(values)), &hc,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	foreach(lc, values)
	{
		JsonbValue *v = (JsonbValue *) lfirst(lc);
		bool		found;
		QsValueEnt *ent = hash_search(ctx->vindex, &v, HASH_ENTER, &found);

		if (!found)
			ent->index = i;
		i++;
	}
	ctx->nlookups = list_length(values);
}

/* The index of a data value of the spec (see above). */
int
QsValueIndex(QsCompile *ctx, JsonbValue *v)
{
	QsValueEnt *ent = ctx->vindex ? hash_search(ctx->vindex, &v, HASH_FIND, NULL) : NULL;

	if (ent == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("pg_queryset: a value at %s is missing from the shape of the spec",
						QsPathString(ctx))));
	return ent->index;
}

/* ---------------------------------------------------------------------
 * Field paths
 * ---------------------------------------------------------------------
 */

/* Split "a__b__c" into its parts; empty parts are errors. */
List *
QsSplitPath(QsCompile *ctx, const char *path)
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
static void
UnknownField(QsCompile *ctx, QsModel *model, const char *name)
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
static QsExpr *
PkKeyExpr(QsModel *model, const char *alias, bool outer)
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
QsFindRelation(QsCompile *ctx, QsModel *model, const char *name)
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
JoinForward(QsCompile *ctx, const char *key, QsModel *from, const char *from_alias,
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

/*
 * Resolve a field path: forward relations (joined), then a column, then
 * transforms (date parts, jsonb keys, array index/len).  A path may end
 * at a forward relation (its FK column is compared, as Django compares
 * "category=5" with category_id).  With allow_lookup, the last part may
 * be a lookup name, returned in *lookup_out ("exact" when there is none).
 */
static char *KeyEquality(Oid lrel, const char *lalias, AttrNumber *lkeys, Oid rrel,
						 const char *ralias, AttrNumber *rkeys, int n);

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
JoinToMany(QsCompile *ctx, const char *key, QsModel *from, const char *from_alias,
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
static QsColumn *
PkColumn(QsCompile *ctx, QsModel *model)
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
 * with category_id).  With allow_lookup, the last part may be a lookup
 * name, returned in *lookup_out ("exact" when there is none).
 *
 * In an aggregate's scope (scope->prefix), paths under the aggregated
 * relation resolve inside it and the others in the enclosing scope.
 */
QsExpr *
QsResolvePath(QsCompile *ctx, const char *path, bool allow_lookup, char **lookup_out)
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
			path = model->npk > 1 ? "pk" : PkColumn(ctx, model)->name;
		else if (strncmp(path, scope->prefix, plen) == 0 && strncmp(path + plen, "__", 2) == 0)
			path += plen + 2;
		else if (scope->parent != NULL)
		{
			ctx->scope = scope->parent;
			e = QsResolvePath(ctx, path, allow_lookup, lookup_out);
			ctx->scope = scope;
			return e;
		}
	}
	parts = QsSplitPath(ctx, path);
	n = list_length(parts);
	if (lookup_out)
		*lookup_out = "exact";
	initStringInfo(&key);

	/* an annotation of the statement */
	if (scope == ctx->top)
	{
		QsAnnotation *a = QsFindAnnotation(ctx, (char *) linitial(parts));

		if (a != NULL)
		{
			e = palloc(sizeof(QsExpr));
			*e = *QsAnnotationExpr(ctx, a);
			e->column = NULL;
			e->is_column_year = false;
			e->is_literal = false;
		}
	}

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
			e = PkKeyExpr(model, alias, outer);
			break;
		}
		rel = QsFindRelation(ctx, model, part);
		if (rel == NULL)
			UnknownField(ctx, model, part);
		last = (i == n - 1) ||
			(allow_lookup && i == n - 2 && QsIsLookupName((char *) list_nth(parts, i + 1)));
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
					e = PkKeyExpr(model, alias, outer);
				else
					col = PkColumn(ctx, model);
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
		e = ColumnExpr(col, alias, outer);

	for (i = i + 1; i < n; i++)
	{
		char	   *part = (char *) list_nth(parts, i);

		CHECK_FOR_INTERRUPTS();
		if (allow_lookup && i == n - 1 && QsIsLookupName(part))
		{
			*lookup_out = part;
			break;
		}
		if (e->key != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unsupported %s '%s' for the composite key \"%s\"",
							allow_lookup && i == n - 1 ? "lookup" : "transform", part,
							(char *) list_nth(parts, i - 1)),
					 errdetail("At %s.", QsPathString(ctx)),
					 errhint("A composite key takes exact, in, gt, gte, lt, lte and isnull; "
							 "name one of its columns for anything else.")));
		if (QsApplyTransform(ctx, e, part))
			continue;
		if (allow_lookup && i == n - 1)
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

/* ---------------------------------------------------------------------
 * Q trees
 * ---------------------------------------------------------------------
 */


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
CompileQList(QsCompile *ctx, const char *key, JsonbValue *v)
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
 * Where does a path first cross a to-many relation?  Returns the number
 * of parts up to and including that hop (0: none), and the relation.
 * Forward hops before it are walked on the given model.
 */
int
QsToManyPrefix(QsCompile *ctx, QsModel *model, const char *path, QsRelation **rel_out)
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
QsPathHead(QsCompile *ctx, const char *path, int n, const char **rest)
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

static char *CompileItems(QsCompile *ctx, List *items);

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
QsTenantCond(QsCompile *ctx, QsModel *m, const char *alias)
{
	if (ctx->spec != NULL && ctx->spec->no_tenant_predicate)
		return NULL;
	return QsTenantPredicate(m, alias);
}

/* A correlation condition with the tenant predicate of the model it reads. */
static char *
WithTenant(QsCompile *ctx, char *cond, Oid relid, const char *alias)
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
QsOpenToMany(QsCompile *ctx, const char *prefix, QsRelation *rel, char **from_sql, char **corr)
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
		e = QsResolvePath(ctx, psprintf("%s__%s", fwd, pkcol), false, NULL);
		outer->prefix = save_prefix;
		/* e->sql is "tN.col": the alias is what precedes the dot */
		from_alias = pnstrdup(e->sql, strchr(e->sql, '.') - e->sql);
	}

	target_alias = psprintf("t%d", ctx->next_alias++);
	ctx->relids = list_append_unique_oid(ctx->relids, rel->target);
	if (rel->kind == QS_REL_REVERSE)
	{
		*from_sql = psprintf("%s %s", QsModelGet(rel->target)->qualname, target_alias);
		*corr = WithTenant(ctx, KeyEquality(rel->target, target_alias, rel->tkeys, from->relid, from_alias,
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
		*corr = WithTenant(ctx, WithTenant(ctx, KeyEquality(rel->junction, jalias, rel->tkeys, from->relid,
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

/*
 * EXISTS over a to-many relation: the lookups of one Q object that cross
 * it hold for the same related row (Django's meaning of one filter()
 * call), and the parent row is never duplicated.
 */
static char *
CompileExists(QsCompile *ctx, const char *prefix, QsRelation *rel, List *items)
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
CompileIsNullAcross(QsCompile *ctx, const char *prefix, QsRelation *rel, QsItem *sub, const char *rest)
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
CompileItems(QsCompile *ctx, List *items)
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
static char *
CompileQObject(QsCompile *ctx, JsonbValue *q, int split)
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

char *
QsCompileQ(QsCompile *ctx, JsonbValue *q)
{
	return CompileQObject(ctx, q, 0);
}

/* ---------------------------------------------------------------------
 * Selection, ordering and statements
 * ---------------------------------------------------------------------
 */

/* "a, b, c" */
static char *
JoinNames(List *names)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, names)
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "", (char *) lfirst(lc));
	return buf.data;
}

bool
QsNameInList(List *names, const char *name)
{
	ListCell   *lc;

	foreach(lc, names)
		if (strcmp((char *) lfirst(lc), name) == 0)
			return true;
	return false;
}

static List *BuildEmbeds(QsCompile *ctx);

/*
 * only/defer "rel__rel__column": every relation must be embedded by
 * select_related or prefetch_related, and the last part must be a column
 * of the last one.
 */
static void
CheckNestedField(QsCompile *ctx, const char *name, const char *key)
{
	List	   *parts = QsSplitPath(ctx, name);
	List	   *level = BuildEmbeds(ctx);
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
				UnknownField(ctx, m, part);
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
CheckFieldNames(QsCompile *ctx, List *names, const char *key)
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
			UnknownField(ctx, ctx->model, name);
		QsPathPop(ctx, save);
	}
}

/* A selected annotation. */
static SelItem *
AnnotationItem(QsCompile *ctx, QsAnnotation *a)
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
static List *
BuildSelection(QsCompile *ctx)
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
			e = QsResolvePath(ctx, s->key, false, NULL);
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
		foreach(lc, BuildEmbeds(ctx))
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
static List *
BuildFetchSelection(QsCompile *ctx, TupleDesc desc, List *json_sel)
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

/*
 * The SQL of one result row over the given source expressions:
 * a json(b) object, array, a flat value, or a plain column list.
 * json_build_object takes at most 100 arguments, so wide rows are built
 * from chunks of 50 pairs joined with jsonb ||.
 */
static char *
RowTarget(List *items, List *srcs, QsRowShape shape, bool json, bool columns)
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

/* Find or add the child embed of a relation name (under an output key). */
static QsEmbed *
EmbedChild(QsCompile *ctx, List **children, QsModel *from, const char *name, bool forward_only,
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
static List *
BuildEmbeds(QsCompile *ctx)
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

static char *RowTarget(List *items, List *srcs, QsRowShape shape, bool json, bool columns);

/*
 * The SQL of one embedded relation, correlated to from_alias: an object
 * (forward, NULL when the FK is NULL) or an array (to-many, ordered by
 * the target's primary key, [] when empty), with its own embeds inside.
 */
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

static char *PrefetchSql(QsCompile *ctx, QsEmbed *e, const char *from_alias, bool json,
						 const char *alias, const char *obj, const char *embed_joins);
static char *OrderClause(const char *expr, QsOrderItem *o);

/*
 * Does only/defer list a plain column of the embed at prefix ("items__
 * product")?  *deeper is set when some entry goes through it further down.
 */
static bool
NestedListed(List *names, const char *prefix, const char *column, bool *deeper)
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
static char *
EmbedSql(QsCompile *ctx, QsEmbed *e, const char *from_alias, bool json, const char *prefix,
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
						 KeyEquality(rel->target, alias, rel->tkeys, e->from->relid, from_alias,
									 rel->keys, rel->nkeys));
	else
	{
		initStringInfo(&own);
		joins = &own;
	}

	/* only() restricts this level when it names anything at or below it */
	(void) NestedListed(ctx->spec->only, path, NULL, &restricted);
	for (i = 0; i < t->ncolumns; i++)
	{
		SelItem    *s;
		bool		is_pk = QsModelIsPk(t, i);
		const char *cname = t->columns[i].name;

		if (!is_pk && qonly && !JsonListHas(qonly, cname))
			continue;
		if (!is_pk && !qonly && restricted && !NestedListed(ctx->spec->only, path, cname, NULL))
			continue;
		if (!is_pk && (NestedListed(ctx->spec->defer, path, cname, NULL) ||
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
		srcs = lappend(srcs, EmbedSql(ctx, c, alias, json, path, joins));
	}
	obj = RowTarget(items, srcs, QS_ROW_OBJECT, json, false);

	/* matched rows have the referenced (unique) key non-null */
	if (joined)
		return psprintf("CASE WHEN %s.%s IS NOT NULL THEN %s END", alias,
						quote_identifier(get_attname(rel->target, rel->tkeys[0], false)), obj);
	if (e->queryset)
		return PrefetchSql(ctx, e, from_alias, json, alias, obj, joins->data);

	if (rel->kind == QS_REL_FORWARD)
		return psprintf("(SELECT %s FROM %s %s%s WHERE %s)", obj, t->qualname, alias, joins->data,
						WithTenant(ctx, KeyEquality(rel->target, alias, rel->tkeys, e->from->relid, from_alias,
													rel->keys, rel->nkeys), rel->target, alias));

	initStringInfo(&order);
	for (i = 0; i < t->npk; i++)
		appendStringInfo(&order, "%s%s.%s", i > 0 ? ", " : " ORDER BY ", alias,
						 quote_identifier(t->columns[t->pk[i]].name));
	if (rel->kind == QS_REL_REVERSE)
		return psprintf("(SELECT coalesce(pg_catalog.%s(%s%s), '[]'::pg_catalog.%s) FROM %s %s%s WHERE %s)",
						json ? "json_agg" : "jsonb_agg", obj, order.data, json ? "json" : "jsonb",
						t->qualname, alias, joins->data,
						WithTenant(ctx, KeyEquality(rel->target, alias, rel->tkeys, e->from->relid, from_alias,
													rel->keys, rel->nkeys), rel->target, alias));
	{
		char	   *jalias = psprintf("t%d", ctx->next_alias++);

		ctx->relids = list_append_unique_oid(ctx->relids, rel->junction);
		return psprintf("(SELECT coalesce(pg_catalog.%s(%s%s), '[]'::pg_catalog.%s) FROM %s %s JOIN %s %s ON %s%s WHERE %s)",
						json ? "json_agg" : "jsonb_agg", obj, order.data, json ? "json" : "jsonb",
						QsModelGet(rel->junction)->qualname, jalias, t->qualname, alias,
						KeyEquality(rel->target, alias, rel->tkeys2, rel->junction, jalias,
									rel->jkeys2, rel->nkeys2), joins->data,
						WithTenant(ctx, WithTenant(ctx, KeyEquality(rel->junction, jalias, rel->tkeys,
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
PrefetchSql(QsCompile *ctx, QsEmbed *e, const char *from_alias, bool json,
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
	ListCell   *lc;

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
				UnknownField(ctx, t, (char *) lfirst(lc));

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
							KeyEquality(rel->target, alias, rel->tkeys2, rel->junction, jalias,
										rel->jkeys2, rel->nkeys2));
		corr = WithTenant(ctx, WithTenant(ctx, KeyEquality(rel->junction, jalias, rel->tkeys, e->from->relid,
														  from_alias, rel->keys, rel->nkeys),
										  rel->junction, jalias),
						  rel->target, alias);
	}
	else
	{
		from_sql = psprintf("%s %s", t->qualname, alias);
		corr = WithTenant(ctx, KeyEquality(rel->target, alias, rel->tkeys, e->from->relid, from_alias,
										   rel->keys, rel->nkeys), rel->target, alias);
	}

	initStringInfo(&sub);
	appendStringInfo(&sub, "SELECT %s AS r FROM %s", obj, from_sql);
	foreach(lc, scope->joins)
		appendStringInfoString(&sub, ((QsJoin *) lfirst(lc))->sql);
	appendStringInfoString(&sub, embed_joins);
	appendStringInfo(&sub, " WHERE %s", corr);
	if (strcmp(where, "true") != 0)
		appendStringInfo(&sub, " AND %s", where);
	QsPathPop(ctx, save_path);
	QsPathPush(ctx, ".prefetch_related(%s).queryset", e->out);
	if (rel->kind != QS_REL_FORWARD)
	{
		int			n = 0;

		appendStringInfoString(&sub, " ORDER BY ");
		QsOrderSql(ctx, &sub, inner->order_by);
		n = list_length(inner->order_by);
		for (i = 0; i < t->npk; i++)
			appendStringInfo(&sub, "%s%s.%s", n++ > 0 ? ", " : "", alias,
							 quote_identifier(t->columns[t->pk[i]].name));
		/* limit and offset per parent */
		QsAppendInnerSlice(ctx, &sub, e->queryset);
	}
	QsPathPop(ctx, save_path);
	ctx->scope = outer;

	if (rel->kind == QS_REL_FORWARD)
		return psprintf("(%s)", sub.data);
	return psprintf("(SELECT coalesce(pg_catalog.%s(x.r), '[]'::pg_catalog.%s) FROM (%s) x)",
					json ? "json_agg" : "jsonb_agg", json ? "json" : "jsonb", sub.data);
}

/* One ORDER BY element over an expression. */
static char *
OrderClause(const char *expr, QsOrderItem *o)
{
	return psprintf("%s%s%s", expr, o->desc ? " DESC" : "",
					o->nulls == 1 ? " NULLS FIRST" : o->nulls == 2 ? " NULLS LAST" : "");
}

/* Resolve each ordering item to its SQL expression (NULL: random). */
static List *
OrderExprs(QsCompile *ctx)
{
	List	   *exprs = NIL;
	ListCell   *lc;
	int			i = 0;
	int			save = ctx->path.len;

	List	   *items = NIL;

	foreach(lc, ctx->spec->order_by)
	{
		QsOrderItem *o = (QsOrderItem *) lfirst(lc);
		QsExpr	   *e = NULL;

		QsPathPush(ctx, ".order_by[%d]", i++);
		if (o->path != NULL)
			e = o->expr != NULL ? QsCompileExpr(ctx, o->expr, InvalidOid) :
				QsResolvePath(ctx, o->path, false, NULL);
		if (e != NULL && e->key != NULL)
		{
			/* a composite key: one item per column, as Django orders it */
			int			k;

			for (k = 0; k < e->key->n; k++)
			{
				QsOrderItem *c = palloc(sizeof(QsOrderItem));

				*c = *o;
				items = lappend(items, c);
				exprs = lappend(exprs, e->key->sql[k]);
			}
		}
		else
		{
			items = lappend(items, o);
			exprs = lappend(exprs, e != NULL ? e->sql : NULL);
		}
		QsPathPop(ctx, save);
	}
	ctx->spec->order_by = items;
	return exprs;
}

/* "a DESC, b" over a list of QsOrderItem (windows, subqueries). */
void
QsOrderSql(QsCompile *ctx, StringInfo buf, List *order_by)
{
	ListCell   *lc;
	int			n = 0;

	foreach(lc, order_by)
	{
		QsOrderItem *o = (QsOrderItem *) lfirst(lc);

		QsExpr	   *e = NULL;

		appendStringInfoString(buf, n++ > 0 ? ", " : "");
		if (o->path == NULL)
		{
			appendStringInfoString(buf, "pg_catalog.random()");
			continue;
		}
		e = o->expr ? QsCompileExpr(ctx, o->expr, InvalidOid) : QsResolvePath(ctx, o->path, false, NULL);
		if (e->key != NULL)
		{
			/* a composite key orders by its columns, as Django does */
			int			i;

			for (i = 0; i < e->key->n; i++)
				appendStringInfo(buf, "%s%s", i > 0 ? ", " : "", OrderClause(e->key->sql[i], o));
			continue;
		}
		appendStringInfoString(buf, OrderClause(e->sql, o));
	}
}

/* DISTINCT ON expressions. */
static List *
DistinctExprs(QsCompile *ctx)
{
	List	   *exprs = NIL;
	ListCell   *lc;
	int			i = 0;
	int			save = ctx->path.len;

	foreach(lc, ctx->spec->distinct_on)
	{
		QsPathPush(ctx, ".distinct[%d]", i++);
		exprs = lappend(exprs, QsResolvePath(ctx, (char *) lfirst(lc), false, NULL)->sql);
		QsPathPop(ctx, save);
	}
	return exprs;
}

/*
 * " LIMIT $n OFFSET $m" of an inner queryset (a Prefetch queryset, a
 * Subquery): its limit and offset are data values of the spec, so a
 * cached shape replays them.
 */
void
QsAppendInnerSlice(QsCompile *ctx, StringInfo buf, JsonbValue *inner)
{
	JsonbValue *lim = QsTreeGet(inner, "limit");
	JsonbValue *off = QsTreeGet(inner, "offset");
	int			save = ctx->cur_lookup;

	if (lim && lim->type != jbvNull)
	{
		ctx->cur_lookup = QsValueIndex(ctx, lim);
		appendStringInfo(buf, " LIMIT %s",
						 QsProduceParam(ctx, QS_PROD_COERCE, INT8OID, lim, "limit", NULL, false, false));
	}
	if (off && off->type != jbvNull)
	{
		ctx->cur_lookup = QsValueIndex(ctx, off);
		appendStringInfo(buf, " OFFSET %s",
						 QsProduceParam(ctx, QS_PROD_COERCE, INT8OID, off, "offset", NULL, false, false));
	}
	ctx->cur_lookup = save;
}

/* " LIMIT $n OFFSET $m" with the slice as parameters. */
static void
AppendSlice(QsCompile *ctx, StringInfo buf)
{
	/* an operand of a set operation: its slice is data of the combined spec */
	if (ctx->operand)
	{
		QsAppendInnerSlice(ctx, buf, ctx->spec->tree);
		return;
	}
	/* presence is part of the shape; the values are parameters */
	ctx->limit_value = ctx->spec->limit;
	ctx->offset_value = ctx->spec->offset;
	if (ctx->spec->has_limit)
		appendStringInfo(buf, " LIMIT %s",
						 QsProduceParam(ctx, QS_PROD_LIMIT, INT8OID, NULL, "limit", NULL,
										false, false));
	if (ctx->spec->has_offset)
		appendStringInfo(buf, " OFFSET %s",
						 QsProduceParam(ctx, QS_PROD_OFFSET, INT8OID, NULL, "offset", NULL,
										false, false));
}

/*
 * " FOR UPDATE [OF ...] [NOWAIT | SKIP LOCKED]" of select_for_update.
 * "of" names "self" (the model's table) or forward relation paths,
 * which are joined for the purpose.
 */
static void
AppendLock(QsCompile *ctx, StringInfo buf)
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
											PkColumn(ctx, m)->name), false, NULL);
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
static void
AppendFromWhere(QsCompile *ctx, StringInfo buf, const char *where, const char *extra,
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
AppendGroupHaving(QsCompile *ctx, StringInfo buf, List *sel)
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

/* " ORDER BY ..." over given expressions (NULL entries are random()). */
static void
AppendOrder(QsCompile *ctx, StringInfo buf, List *order_exprs)
{
	ListCell   *le;
	ListCell   *lo;
	int			n = 0;

	if (order_exprs == NIL)
		return;
	appendStringInfoString(buf, " ORDER BY ");
	forboth(le, order_exprs, lo, ctx->spec->order_by)
	{
		char	   *expr = (char *) lfirst(le);

		if (n++ > 0)
			appendStringInfoString(buf, ", ");
		appendStringInfoString(buf, expr ? OrderClause(expr, (QsOrderItem *) lfirst(lo))
							   : "pg_catalog.random()");
	}
}

/*
 * SELECT <target> FROM ... WHERE ... ORDER BY ... LIMIT/OFFSET, where
 * target is built by RowTarget over the selection (or passed in raw).
 */
static char *
BuildSelect(QsCompile *ctx, List *sel, const char *where, const char *extra,
			bool json, bool columns, const char *prefix_target)
{
	QsSpec	   *spec = ctx->spec;
	StringInfoData buf;
	List	   *order_exprs = OrderExprs(ctx);
	List	   *srcs = NIL;
	ListCell   *lc;
	StringInfoData embed_joins;

	initStringInfo(&buf);

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
		AppendFromWhere(ctx, &inner, where, extra, NULL);
		AppendGroupHaving(ctx, &inner, sel);

		appendStringInfo(&buf, "SELECT %s%s%s FROM (%s) q",
						 prefix_target ? "q.k, " : "",
						 RowTarget(sel, srcs, spec->shape, json, columns),
						 columns ? "" : " AS \"row\"", inner.data);
		AppendOrder(ctx, &buf, outer_order);
		AppendSlice(ctx, &buf);
		return buf.data;
	}

	initStringInfo(&embed_joins);
	foreach(lc, sel)
	{
		SelItem    *it = (SelItem *) lfirst(lc);

		srcs = lappend(srcs, it->embed ? EmbedSql(ctx, it->embed, ctx->alias, json, NULL, &embed_joins)
					   : it->sql);
	}
	appendStringInfoString(&buf, "SELECT ");
	if (spec->distinct_on != NIL)
	{
		List	   *dexprs = DistinctExprs(ctx);
		int			n = 0;

		appendStringInfoString(&buf, "DISTINCT ON (");
		foreach(lc, dexprs)
		{
			if (n++ > 0)
				appendStringInfoString(&buf, ", ");
			appendStringInfoString(&buf, (char *) lfirst(lc));
		}
		appendStringInfoString(&buf, ") ");
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
	appendStringInfoString(&buf, RowTarget(sel, srcs, spec->shape, json, columns));
	if (!columns)
		appendStringInfoString(&buf, " AS \"row\"");
	{
		/* "of" may join relations: resolve it before the FROM clause */
		StringInfoData lock;

		initStringInfo(&lock);
		AppendLock(ctx, &lock);
		AppendFromWhere(ctx, &buf, where, extra, embed_joins.data);
		AppendGroupHaving(ctx, &buf, sel);
		AppendOrder(ctx, &buf, order_exprs);
		AppendSlice(ctx, &buf);
		appendStringInfoString(&buf, lock.data);
	}
	return buf.data;
}

/* SELECT count(*) / EXISTS over the queryset, slice and distinct included. */
static char *
BuildCountOrExists(QsCompile *ctx, List *sel, const char *where, bool exists)
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
		order_exprs = OrderExprs(ctx);
	if (spec->distinct_on != NIL)
		dexprs = DistinctExprs(ctx);
	if (!spec->distinct && !spec->has_limit && !spec->has_offset && !exists && !ctx->grouped)
	{
		appendStringInfoString(&buf, "SELECT pg_catalog.count(*)");
		AppendFromWhere(ctx, &buf, where, NULL, NULL);
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
		appendStringInfoString(&inner, "DISTINCT ON (");
		foreach(lc, dexprs)
		{
			if (n++ > 0)
				appendStringInfoString(&inner, ", ");
			appendStringInfoString(&inner, (char *) lfirst(lc));
		}
		appendStringInfoString(&inner, ") 1");
	}
	else
		appendStringInfoString(&inner, "1");
	AppendFromWhere(ctx, &inner, where, NULL, NULL);
	AppendGroupHaving(ctx, &inner, sel);
	/* ordering matters only when a slice or DISTINCT ON picks rows */
	if (order_exprs != NIL)
		AppendOrder(ctx, &inner, order_exprs);
	AppendSlice(ctx, &inner);
	if (exists)
		appendStringInfo(&buf, "SELECT EXISTS (%s)", inner.data);
	else
		appendStringInfo(&buf, "SELECT pg_catalog.count(*) FROM (%s) q", inner.data);
	return buf.data;
}

/*
 * A fresh compile context for a model: its table is t0, the scope of
 * paths, and the first relation the statement reads; no spec yet.
 */
void
QsInitCompile(QsCompile *ctx, QsModel *model)
{
	memset(ctx, 0, sizeof(QsCompile));
	ctx->model = model;
	ctx->alias = "t0";
	ctx->maxparams = 16;
	ctx->ptypes = palloc(sizeof(Oid) * ctx->maxparams);
	ctx->pvalues = palloc(sizeof(Datum) * ctx->maxparams);
	ctx->pnulls = palloc(sizeof(bool) * ctx->maxparams);
	ctx->prods = palloc(sizeof(QsProducer) * ctx->maxparams);
	ctx->cur_lookup = -1;
	ctx->next_alias = 1;
	ctx->top = palloc0(sizeof(QsScope));
	ctx->top->model = model;
	ctx->top->alias = ctx->alias;
	ctx->scope = ctx->top;
	ctx->relids = list_make1_oid(model->relid);
	initStringInfo(&ctx->path);
	appendStringInfoChar(&ctx->path, '$');
}

/*
 * qs.update() / qs.delete(): one UPDATE or DELETE.  A plain filter runs
 * in place (UPDATE tbl t0 SET ... WHERE ...; to-many filters are EXISTS
 * semi-joins); joins, slices and select_for_update use the primary key:
 * ... WHERE (u.pk) IN (SELECT t0.pk FROM ... ORDER BY ... LIMIT ... FOR
 * UPDATE SKIP LOCKED), the job-queue claim.  Values may not reach other
 * tables (Django: "Joined field references are not permitted").
 */
static char *
BuildWrite(QsCompile *ctx, const char *where, bool is_delete)
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
		order_exprs = OrderExprs(ctx);
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
					UnknownField(ctx, m, name);
			}
			if (spec->has_allowed && !QsNameInList(spec->allowed, name))
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("field \"%s\" is not in the allowed fields of this call", name),
						 errdetail("At %s. Allowed: %s.", QsPathString(ctx),
								   spec->allowed ? JoinNames(spec->allowed) : "none"),
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
			AppendLock(ctx, &lock);
			AppendFromWhere(ctx, &inner, where, NULL, NULL);
			if (order_exprs != NIL)
				AppendOrder(ctx, &inner, order_exprs);
			AppendSlice(ctx, &inner);
			appendStringInfoString(&inner, lock.data);
		}
		appendStringInfo(&buf, " WHERE (%s) IN (%s)", keys.data, inner.data);
	}
	return buf.data;
}

/*
 * Annotation names must not shadow a field or a relation of the model
 * (Django: "The annotation 'x' conflicts with a field on the model").
 */
static void
CheckAnnotationNames(QsCompile *ctx)
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
 * qs.aggregate(): one jsonb object of aggregates over the whole queryset.
 * Annotations stay per row, so an aggregate may aggregate them.
 */
static char *
BuildAggregate(QsCompile *ctx, const char *where)
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
		appendStringInfo(&buf, "SELECT %s", RowTarget(items, srcs, QS_ROW_OBJECT, false, false));
	AppendFromWhere(ctx, &buf, where, NULL, NULL);
	return buf.data;
}

/*
 * The annotations' names, the grouping and the WHERE clause of the
 * spec being compiled (ctx->spec); HAVING goes to ctx->having.
 */
static char *
CompileFilter(QsCompile *ctx, QsTarget target)
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
			where = CompileQObject(ctx, spec->where, 1);
			ctx->having = CompileQObject(ctx, spec->where, 2);
		}
		else
			where = QsCompileQ(ctx, spec->where);
		QsPathPop(ctx, save);
	}
	return where;
}

/* ---------------------------------------------------------------------
 * Set operations: union(), intersection(), difference()
 * ---------------------------------------------------------------------
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

static void CombinedOrder(QsCompile *ctx, QsSpec *spec, List *sel, StringInfo buf);
static char *CombinedSql(QsCompile *ctx, QsSpec *spec, List **sel_out);

/* Move the parameter list (and everything else shared) from one compile to another. */
static void
ShareStatement(QsCompile *to, QsCompile *from)
{
	to->nparams = from->nparams;
	to->maxparams = from->maxparams;
	to->ptypes = from->ptypes;
	to->pvalues = from->pvalues;
	to->pnulls = from->pnulls;
	to->prods = from->prods;
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
CompileOperand(QsCompile *ctx, QsSpec *spec, QsSpec *outer, List **sel_out)
{
	QsCompile	sub;
	char	   *sql;

	check_stack_depth();
	QsInitCompile(&sub, spec->model);
	sub.spec = spec;
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
		char	   *where = CompileFilter(&sub, QS_TARGET_ROWS);

		*sel_out = BuildSelection(&sub);
		sql = BuildSelect(&sub, *sel_out, where, NULL, false, true, NULL);
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
CombinedSql(QsCompile *ctx, QsSpec *spec, List **sel_out)
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
	AppendSlice(ctx, &buf);
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
CombinedOrder(QsCompile *ctx, QsSpec *spec, List *sel, StringInfo buf)
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
		appendStringInfoString(buf, OrderClause(col, o));
		QsPathPop(ctx, save);
	}
}

/*
 * A combined queryset for a terminal: rows, json, count, exists.  The
 * others (fetch, in_bulk, aggregate, update, delete) are Django's
 * NotSupportedError.
 */
static char *
BuildCombined(QsCompile *ctx, QsTarget target)
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
			return psprintf("SELECT coalesce(pg_catalog.json_agg(%s), '[]'::pg_catalog.json) FROM (%s) r(%s)",
							RowTarget(sel, srcs, shape, true, false), cols, names.data);
		return psprintf("SELECT %s AS \"row\" FROM (%s) r(%s)",
						RowTarget(sel, srcs, shape, false, false), cols, names.data);
	}
}

/*
 * Compile a validated spec for one kind of evaluation.
 * fetch_desc: the row type of qs.fetch(); in_bulk_field / in_bulk_ids:
 * the key field and the ids of qs.in_bulk() (ids NULL: every row).
 */
QsCompiled *
QsCompileSpec(QsSpec *spec, QsTarget target, TupleDesc fetch_desc,
			  const char *in_bulk_field, JsonbValue *in_bulk_ids)
{
	QsCompile	ctx;
	QsCompiled *res = palloc0(sizeof(QsCompiled));
	char	   *where = "true";
	List	   *sel;
	char	   *sql = NULL;

	QsInitCompile(&ctx, spec->model);
	ctx.spec = spec;
	BuildValueIndex(&ctx);
	if (spec->combinator != NULL)
	{
		sql = BuildCombined(&ctx, target);
		goto done;
	}
	where = CompileFilter(&ctx, target);
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
	sel = BuildSelection(&ctx);

	switch (target)
	{
		case QS_TARGET_ROWS:
			sql = BuildSelect(&ctx, sel, where, NULL, false, false, NULL);
			break;
		case QS_TARGET_JSON:
			sql = psprintf("SELECT coalesce(pg_catalog.json_agg(q.r), '[]'::pg_catalog.json) FROM (%s) q(r)",
						   BuildSelect(&ctx, sel, where, NULL, true, false, NULL));
			break;
		case QS_TARGET_COUNT:
			sql = BuildCountOrExists(&ctx, sel, where, false);
			break;
		case QS_TARGET_EXISTS:
			sql = BuildCountOrExists(&ctx, sel, where, true);
			break;
		case QS_TARGET_FETCH:
			sql = BuildSelect(&ctx, BuildFetchSelection(&ctx, fetch_desc, sel),
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
					QsExpr	   *key = PkKeyExpr(ctx.model, ctx.alias, false);

					if (in_bulk_ids != NULL)
					{
						QsPathPush(&ctx, ".id_list");
						ctx.cur_lookup = -1;
						extra = QsKeyInList(&ctx, key->key, QS_PROD_IDS_KEY, in_bulk_ids, "pk");
						QsPathPop(&ctx, 1);
					}
					sql = psprintf("SELECT coalesce(pg_catalog.jsonb_object_agg(q.k, q.r), '{}'::pg_catalog.jsonb) FROM (%s) q(k, r)",
								   BuildSelect(&ctx, sel, where, extra, false, false,
											   psprintf("(%s)::pg_catalog.text", key->sql)));
					break;
				}
				if (col == NULL)
				{
					QsPathPush(&ctx, ".field_name");
					UnknownField(&ctx, ctx.model, in_bulk_field);
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
									 QsProduceParam(&ctx, QS_PROD_IDS, get_array_type(col->basetypid),
													in_bulk_ids, col->name, NULL, false, false));
					QsPathPop(&ctx, 1);
				}
				sql = psprintf("SELECT coalesce(pg_catalog.jsonb_object_agg(q.k, q.r), '{}'::pg_catalog.jsonb) FROM (%s) q(k, r)",
							   BuildSelect(&ctx, sel, where, extra, false, false, colsql));
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
	res->prods = ctx.prods;
	res->nlookups = ctx.nlookups;
	res->model_display = ctx.model->display;
	return res;
}
