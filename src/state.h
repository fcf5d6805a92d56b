/*
 * state.h
 *	  state.c: the compile state every compile module shares (QsCompileState),
 *	  the scopes paths resolve in, resolved expressions (QsExpr), the JSON
 *	  path of what is being compiled (named in error messages), and
 *	  schema-qualified operators.
 */
#ifndef QS_STATE_H
#define QS_STATE_H

#include "param.h"
#include "relation.h"
#include "spec.h"

/* ---------- compile.c: spec -> SQL text + parameters ---------- */
typedef enum QsTarget
{
	QS_TARGET_ROWS,				/* SETOF jsonb */
	QS_TARGET_JSON,				/* one json array */
	QS_TARGET_COUNT,			/* bigint */
	QS_TARGET_EXISTS,			/* boolean */
	QS_TARGET_FETCH,			/* typed rows of a composite type */
	QS_TARGET_IN_BULK,			/* jsonb object keyed by a unique field */
	QS_TARGET_AGGREGATE,		/* qs.aggregate(): one jsonb object */
	QS_TARGET_UPDATE,			/* qs.update(): UPDATE, the row count */
	QS_TARGET_DELETE,			/* qs.delete(): DELETE, the row count */
	QS_TARGET_PAGE				/* qs.page(): the ordering keys (k) and the row */
} QsTarget;

/* internal compile state, shared by compile.c and lookup.c */
struct QsCompileState;
struct QsExpr;

/*
 * Resolves the name of an annotation of the statement being compiled
 * (a fresh QsExpr, or NULL): path resolution asks it before fields, so
 * path.c never calls up into expressions (expr.c sets it).
 */
typedef struct QsExpr *(*QsAnnotationHook) (struct QsCompileState *ctx, const char *name);

typedef struct QsCompileState
{
	QsSpec	   *spec;
	QsModel    *model;
	const char *alias;			/* alias of the model's table */
	int			nparams;
	int			maxparams;
	Oid		   *ptypes;
	Datum	   *pvalues;
	bool	   *pnulls;
	List	   *relids;
	StringInfoData path;		/* JSON path of what is being compiled */
	int			negated;		/* depth of $not around the current lookup */
	int			depth;			/* Q tree nesting depth */
	QsParamRecipe *recipes;			/* how each parameter was computed */
	int			nlookups;		/* lookups compiled so far (walk order) */
	int			cur_lookup;		/* index of the lookup being compiled */
	int64		limit_value;	/* slice values for QS_PARAM_LIMIT/OFFSET */
	int64		offset_value;
	struct QsScope *scope;		/* where paths are resolved now */
	struct QsScope *top;		/* the statement's own FROM */
	List	   *embeds;			/* QsEmbed * tree, built once */
	bool		embeds_built;
	int			next_alias;		/* t1, t2, ... */
	struct HTAB *vindex;		/* data value address -> index (compile.c) */
	bool		grouped;		/* values() + aggregate annotations: GROUP BY */
	bool		agg_outer;		/* aggregates compile at the statement's level */
	char	   *having;			/* grouped: the HAVING predicate, or NULL */
	List	   *outer_stack;	/* QsScope * enclosing each subquery (OuterRef) */
	bool		operand;		/* an operand of a set operation: its slice is data */
	bool		order_columns;	/* also select the ORDER BY keys, as o1, o2, ... */
	bool		order_in_agg;	/* ... and leave the ORDER BY to the aggregate alone */
	int			citus;			/* QsOnCitus: 0 not asked yet, 1 no, 2 yes */
	char	   *agg_order;		/* then: "q.o1 DESC, q.o2" for the aggregate over the rows */
	List	   *order_meta;		/* QsOrderExprs: each ordering item's QsExpr (NULL: random) */
	bool		keyset_keys;	/* qs.page(): also select the ordering keys as k (keyset.c) */
	bool		literal_columns;	/* bulk_update: literals are columns v.lN */
	Oid		   *literal_types;	/* ... their types, by value index */
	QsAnnotationHook annotation_hook;	/* annotation names (expr.c), or NULL */
	bool		skewed_param;	/* an equality parameter on a skewed column (model.c) */
} QsCompileState;

/*
 * A FROM list paths resolve against: the statement's, or the inside of
 * an EXISTS (to-many traversal).  Forward relations are joined into it.
 */
typedef struct QsScope
{
	QsModel    *model;
	const char *alias;
	List	   *joins;			/* QsJoin * */
	const char *prefix;			/* aggregate scope: paths under prefix__ resolve here */
	struct QsScope *parent;		/* ... the others in this scope */
	bool		allow_many;		/* to-many hops are LEFT JOINed (aggregate arguments) */
} QsScope;

/* a forward relation joined into the statement */
typedef struct QsJoin
{
	char	   *key;			/* the path that reached it: "category__parent" */
	char	   *alias;
	bool		outer;			/* LEFT JOIN (nullable FK, or after one) */
	char	   *sql;			/* " LEFT JOIN tbl t1 ON ..." */
	QsModel    *model;
} QsJoin;

/*
 * A composite key named as one field: "pk" of a model whose primary key
 * has several columns, or a forward relation through a composite foreign
 * key.  Lookups compare it column by column (lookup.c).
 */
typedef struct QsKey
{
	int			n;
	char	  **sql;			/* each column's SQL expression */
	char	  **names;			/* ... its name in a {"col": v} value */
	Oid		   *types;			/* ... its base type */
} QsKey;

/* a resolved field path: SQL expression and its type */
typedef struct QsExpr
{
	char	   *sql;
	Oid			type;			/* base type of the expression */
	int32		typmod;
	bool		nullable;
	QsColumn   *column;			/* set when the expression is a bare column */
	bool		is_column_year; /* a year transform applied to a bare column */
	char	   *year_source;	/* the column expression under that transform */
	char	   *jbase;			/* for a jsonb key transform: base expression */
	char	   *jkey;			/* ... and its last key as a SQL literal */
	bool		jkey_index;		/* last key is an array index */
	bool		is_agg;			/* an aggregate at the statement's level */
	Oid			relid;			/* with column: the relation the column belongs to */
	bool		is_window;		/* contains a window function */
	bool		is_literal;		/* a parameter from a literal value */
	QsKey	   *key;			/* a composite key (the expression is a jsonb array) */
} QsExpr;

extern void QsInitCompile(QsCompileState *ctx, QsModel *model);
extern void QsPathPush(QsCompileState *ctx, const char *fmt,...) pg_attribute_printf(2, 3);
extern void QsPathPop(QsCompileState *ctx, int len);
extern char *QsPathString(QsCompileState *ctx);
extern const char *QsOp(const char *op, Oid ltype, Oid rtype);
extern bool QsNameInList(List *names, const char *name);
extern bool QsOnCitus(QsCompileState *ctx);

#endif							/* QS_STATE_H */
