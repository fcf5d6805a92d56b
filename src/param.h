/*
 * param.h
 *	  param.c: parameters.  Every value a caller supplies becomes one $n
 *	  parameter with a recipe (QsParamRecipe) that recomputes it from another
 *	  spec of the same shape on a shape-cache hit; values are coerced to
 *	  their column's type here.  Also each data value's index in the walk.
 */
#ifndef QS_PARAM_H
#define QS_PARAM_H

#include "pg_queryset.h"

/*
 * How one parameter's value is computed from a spec.  Recorded when a
 * shape is first compiled, replayed on a shape-cache hit (plancache.c)
 * so that a repeated shape skips SQL generation entirely.
 */
typedef enum QsParamKind
{
	QS_PARAM_COERCE,				/* the lookup value coerced to type */
	QS_PARAM_IN,					/* a list, nulls dropped, coerced to an array type */
	QS_PARAM_RANGE_LO,			/* the low bound of [low, high] */
	QS_PARAM_RANGE_HI,			/* the high bound */
	QS_PARAM_TEXT,				/* a string (or number) as text */
	QS_PARAM_LIKE,				/* a LIKE pattern: wildcards escaped, % added */
	QS_PARAM_LIMIT,				/* the (adjusted) slice limit */
	QS_PARAM_OFFSET,				/* the (adjusted) slice offset */
	QS_PARAM_IDS,				/* in_bulk()'s id list as an array */
	QS_PARAM_VALUE,				/* an expression literal (never unwrapped), nulls allowed */
	QS_PARAM_KEY,				/* one column of a composite key value ({..} or [..]) */
	QS_PARAM_IN_KEY,				/* that column of each key in a list, as an array */
	QS_PARAM_IDS_KEY,			/* ... of in_bulk()'s id list */
	QS_PARAM_TENANT				/* the current tenant as the tenant column's type (Citus) */
} QsParamKind;

typedef struct QsParamRecipe
{
	QsParamKind	kind;
	int			lookup;			/* index of the lookup in walk order, or -1 */
	Oid			type;			/* the parameter's type */
	bool		pre;			/* LIKE: leading % */
	bool		post;			/* LIKE: trailing % */
	char	   *field;			/* for messages */
	char	   *path;			/* JSON path, for messages */
	char	   *lookup_name;	/* for messages */
	int			keypart;		/* composite keys: which column (QS_PARAM_*KEY) */
	int			nkeys;			/* ... of how many */
	char	   *keyname;		/* ... and its name (the key in {"col": v}) */
} QsParamRecipe;

struct QsCompileState;
struct QsKey;

/* adding parameters while compiling */
extern char *QsAddParam(struct QsCompileState *ctx, Oid type, Datum value, bool isnull,
						QsParamRecipe *prod);
extern char *QsRecipeParam(struct QsCompileState *ctx, QsParamKind kind, Oid type, JsonbValue *v,
							const char *field, const char *lookup, bool pre, bool post);
extern char *QsKeyParam(struct QsCompileState *ctx, QsParamKind kind, struct QsKey *k, int i,
						JsonbValue *v, const char *field, const char *lookup);
extern void QsAppendSlice(struct QsCompileState *ctx, StringInfo buf);
extern void QsAppendInnerSlice(struct QsCompileState *ctx, StringInfo buf, JsonbValue *inner);

/* replaying recipes on a shape-cache hit */
extern void QsReplayRecipes(QsParamRecipe *recipes, int nparams, JsonbValue **lookups,
						 int64 limit, int64 offset, JsonbValue *ids,
						 Datum *values, bool *nulls);

/* the data values of a spec */
extern void QsBuildValueIndex(struct QsCompileState *ctx);
extern void QsIndexValues(struct QsCompileState *ctx, List *values);
extern int	QsValueIndex(struct QsCompileState *ctx, JsonbValue *v);

/* JSON values as typed Datums */
extern Datum QsCoerceValue(struct QsCompileState *ctx, JsonbValue *v, Oid type,
						   const char *field, bool *isnull);
extern JsonbValue *QsUnwrapValue(JsonbValue *v);
extern char *QsLikeEscape(const char *s);
extern void QsBadValue(struct QsCompileState *ctx, const char *field, const char *why);

#endif							/* QS_PARAM_H */
