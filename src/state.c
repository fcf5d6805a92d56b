/*
 * state.c
 *	  The compile state every compile module shares: creating it, the JSON
 *	  path of what is being compiled (named in every error message), and
 *	  the small SQL-text helpers all of them use (qualified operators).
 *
 * Owns nothing else; it calls no other compile module.
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

#include "citus.h"
#include "model.h"
#include "param.h"
#include "state.h"

/* Append a segment to the current JSON path. */
void
QsPathPush(QsCompileState *ctx, const char *fmt,...)
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
QsPathPop(QsCompileState *ctx, int len)
{
	ctx->path.len = len;
	ctx->path.data[len] = '\0';
}

/* The current JSON path ("$.where.$or[1].price__gt"). */
char *
QsPathString(QsCompileState *ctx)
{
	return ctx->path.data;
}

/*
 * A fresh compile context for a model: its table is t0, the scope of
 * paths, and the first relation the statement reads; no spec yet.
 */
void
QsInitCompile(QsCompileState *ctx, QsModel *model)
{
	memset(ctx, 0, sizeof(QsCompileState));
	ctx->model = model;
	ctx->alias = "t0";
	ctx->maxparams = 16;
	ctx->ptypes = palloc(sizeof(Oid) * ctx->maxparams);
	ctx->pvalues = palloc(sizeof(Datum) * ctx->maxparams);
	ctx->pnulls = palloc(sizeof(bool) * ctx->maxparams);
	ctx->recipes = palloc(sizeof(QsParamRecipe) * ctx->maxparams);
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
 * Is this compile for a Citus database?  Asked of the catalog once per
 * compile state (citus.c), whatever the number of places that shape the
 * statement for Citus.
 */
bool
QsOnCitus(QsCompileState *ctx)
{
	if (ctx->citus == 0)
		ctx->citus = QsCitusActive() ? 2 : 1;
	return ctx->citus == 2;
}

/* Is name one of the strings in names? */
bool
QsNameInList(List *names, const char *name)
{
	ListCell   *lc;

	foreach(lc, names)
		if (strcmp((char *) lfirst(lc), name) == 0)
			return true;
	return false;
}

/*
 * An operator token.  When both operand types are built in, the operator
 * is written OPERATOR(pg_catalog.op), so no schema on the search_path can
 * capture it; operators of extension types (citext, ...) are resolved
 * through the search_path as the caller's own SQL would be.
 */
const char *
QsOp(const char *op, Oid ltype, Oid rtype)
{
	if (ltype < FirstGenbkiObjectId && (!OidIsValid(rtype) || rtype < FirstGenbkiObjectId))
		return psprintf("OPERATOR(pg_catalog.%s)", op);
	return op;
}
