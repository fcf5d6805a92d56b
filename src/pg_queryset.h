/*
 * pg_queryset.h
 *	  Shared types and entry points of pg_queryset's C modules.
 *
 * How a call flows (see docs/architecture.md):
 *
 *	 jsonb spec --spec.c--> QsSpec (validated top level, Q tree kept as a
 *	 JsonbValue tree) --compile.c + lookup.c--> SQL text with $n placeholders
 *	 and a typed parameter list --plancache.c--> saved SPI plan (keyed by the
 *	 SQL text, which depends only on the spec's shape) --exec.c--> result.
 *
 * model.c owns everything read from the catalog; nothing else looks at
 * pg_attribute or pg_constraint.
 */
#ifndef PG_QUERYSET_H
#define PG_QUERYSET_H

#include "postgres.h"
#include "compat.h"

#include "access/attnum.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"

/* ---------- pg_queryset.c: GUCs ---------- */
extern int	qs_plan_cache_size;
extern int	qs_max_depth;
extern bool qs_shape_cache_check;
extern bool qs_bulk_copy;

/* querystats.c: statement counting, N+1 detection, budgets */
#define QS_NPLUSONE_OFF 0
#define QS_NPLUSONE_WARN 1
#define QS_NPLUSONE_ERROR 2
extern bool qs_track_stats;
extern int	qs_nplusone;
extern int	qs_nplusone_threshold;
extern int	qs_query_budget;
extern void QsQueryStatsInit(void);

/* manager.c: managers and methods */
extern bool qs_validating_params;
extern bool QsIsParam(JsonbValue *v);
extern bool QsContainsParam(JsonbValue *v);
extern JsonbValue *QsExpandTree(JsonbValue *tree);

/* Django's MAX_GET_RESULTS: get() fetches at most this many rows */
#define QS_MAX_GET_RESULTS 21

/* ---------- model.c: catalog introspection ---------- */
typedef struct QsColumn
{
	char	   *name;
	AttrNumber	attnum;
	Oid			typid;			/* declared type (may be a domain) */
	int32		typmod;
	Oid			basetypid;		/* domain base type, else typid */
	Oid			elemtypid;		/* element type if basetypid is an array */
	char		typcategory;	/* pg_type.typcategory of basetypid */
	bool		notnull;
	bool		unique;			/* single-column PK or unique constraint */
	char		generated;		/* pg_attribute.attgenerated ('s': stored) */
	char		identity;		/* pg_attribute.attidentity ('a' always, 'd' by default) */
	bool		has_default;
} QsColumn;

typedef struct QsModel
{
	Oid			relid;
	char		relkind;
	char	   *relname;		/* unqualified, as in the catalog */
	char	   *nspname;
	char	   *qualname;		/* quoted schema.table for SQL text */
	char	   *display;		/* regclass text, for specs and messages */
	int			ncolumns;
	QsColumn   *columns;		/* in attnum order, dropped ones skipped */
	int			npk;			/* primary key columns (0 for views) */
	int		   *pk;				/* indexes into columns[] */
	AttrNumber	tenant_attnum;	/* tenant-scoped (tenant.c): the tenant column, else 0 */
	Oid			tenant_opno;	/* and the = of its policy */
	bool		relations_loaded;
	List	   *relations;		/* QsRelation *, built lazily (relation.c) */
} QsModel;

/* ---------- relation.c: relations derived from foreign keys ---------- */
typedef enum QsRelKind
{
	QS_REL_FORWARD,				/* this model holds the FK (many-to-one, one-to-one) */
	QS_REL_REVERSE,				/* another table's FK points here (one-to-many) */
	QS_REL_M2M					/* through a junction table of two FKs */
} QsRelKind;

typedef struct QsRelation
{
	char	   *name;			/* as seen from the model (renamed or default) */
	char	   *default_name;
	QsRelKind	kind;
	bool		unique;			/* the FK columns are unique: one-to-one */
	bool		nullable;		/* forward: some FK column allows NULL */
	bool		ambiguous;		/* the name is shared with another relation or a column */
	Oid			target;			/* the related model */
	Oid			via_rel;		/* the table holding the identifying FK */
	char	   *via_constraint; /* ... and that FK's name */
	Oid			junction;		/* m2m: the junction table */
	int			nkeys;
	AttrNumber *keys;			/* columns of this model */
	AttrNumber *tkeys;			/* matching columns of the target (m2m: of the junction) */
	int			nkeys2;			/* m2m: junction -> target */
	AttrNumber *jkeys2;
	AttrNumber *tkeys2;
} QsRelation;

extern List *QsModelRelations(QsModel *model);

extern void QsModelInit(void);
extern Oid	QsModelResolve(const char *name);
extern QsModel *QsModelGet(Oid relid);
extern QsColumn *QsModelColumn(QsModel *model, const char *name);
extern QsColumn *QsModelPkColumn(QsModel *model);
extern bool QsModelIsPk(QsModel *model, int i);
extern char *QsModelChoices(QsModel *model);

/* ---------- spec.c: JSON trees and the validated spec ---------- */
typedef struct QsOrderItem
{
	char	   *path;			/* NULL for random ordering ("?") */
	bool		desc;
	int			nulls;			/* 0 default, 1 NULLS FIRST, 2 NULLS LAST */
	JsonbValue *expr;			/* {"expression": ...}: ordered by an expression */
} QsOrderItem;

typedef enum QsRowShape
{
	QS_ROW_OBJECT,				/* model rows or values(): {"k": v} */
	QS_ROW_ARRAY,				/* values_list(): [v, ...] */
	QS_ROW_FLAT					/* values_list(flat=true): v */
} QsRowShape;

typedef struct QsSpec
{
	JsonbValue *tree;			/* the whole spec, as a tree */
	QsModel    *model;
	JsonbValue *where;			/* Q tree or NULL */
	bool		has_order;		/* "order_by" present (possibly empty) */
	List	   *order_by;		/* QsOrderItem * */
	List	   *only;			/* char * field names */
	List	   *defer;			/* char * field names */
	bool		has_values;		/* values or values_list given */
	List	   *values;			/* char * paths; empty = all fields */
	const char *values_key;		/* "values" or "values_list", for messages */
	QsRowShape	shape;
	bool		distinct;
	List	   *distinct_on;	/* char * paths */
	bool		has_offset;
	int64		offset;
	bool		has_limit;
	int64		limit;
	List	   *select_related; /* char * paths (forward relations only) */
	List	   *prefetch_related;	/* QsPrefetch * */
	List	   *annotations;	/* QsAnnotation *: annotate, then alias */
	List	   *aggregates;		/* QsAnnotation *: qs.aggregate()'s entries */
	bool		for_update;		/* select_for_update */
	bool		nowait;
	bool		skip_locked;
	List	   *lock_of;		/* char *: "self" or relation paths */
	JsonbValue *update_values;	/* "$update": qs.update()'s values */
	bool		no_tenant_predicate;	/* "tenant_predicate": false (qs.for_tenant) */
	bool		has_allowed;	/* "$fields": qs.update()'s allow-list */
	List	   *allowed;
	const char *combinator;		/* "union", "intersection", "difference", or NULL */
	bool		combine_all;	/* "all": true (UNION ALL) */
	List	   *combined;		/* QsSpec *: the operands, in order */
} QsSpec;

/* one annotate / alias / aggregate entry */
typedef struct QsAnnotation
{
	char	   *name;
	JsonbValue *expr;			/* the expression, as written */
	bool		select;			/* annotate: in the output; alias: not */
	/* compile state (expr.c), per compile */
	int			state;			/* 0 not compiled, 1 compiling, 2 done */
	int			scan;			/* aggregate pre-scan: 0 no, 1 running, 2 yes, 3 no */
	struct QsExpr *compiled;
} QsAnnotation;

/* one prefetch_related entry: a path, or a Prefetch object */
typedef struct QsPrefetch
{
	char	   *path;
	JsonbValue *queryset;		/* inner spec (where, order_by, only, defer, limit, offset) */
	char	   *to_attr;		/* output key instead of the relation name */
} QsPrefetch;

extern JsonbValue *QsJsonbToTree(Jsonb *jb);
extern Jsonb *QsTreeToJsonb(JsonbValue *tree);
extern JsonbValue *QsTreeGet(JsonbValue *obj, const char *key);
extern JsonbValue *QsTreeSet(JsonbValue *obj, const char *key, JsonbValue *val);
extern JsonbValue *QsTreeDelete(JsonbValue *obj, const char *key);
extern JsonbValue *QsTreeString(const char *s);
extern JsonbValue *QsTreeNumeric(int64 v);
extern JsonbValue *QsTreeBool(bool b);
extern JsonbValue *QsTreeArray(List *elems);
extern JsonbValue *QsTreeObject(void);
extern char *QsTreeText(JsonbValue *v);
extern const char *QsJsonTypeName(JsonbValue *v);
extern char *QsTreeKey(JsonbValue *keyval);
extern QsSpec *QsSpecParse(Jsonb *jb);
extern bool QsNumberIsIntegral(JsonbValue *v);
extern JsonbValue *QsInQueryset(JsonbValue *v);
extern void QsShapeValue(StringInfo s, JsonbValue *v, List **lookups);
extern void QsShapeOf(JsonbValue *tree, StringInfo s, List **lookups);
extern List *QsInnerLookups(JsonbValue *queryset);
extern void QsSpecSlice(JsonbValue *tree, bool *has_offset, int64 *offset,
						bool *has_limit, int64 *limit);
extern QsSpec *QsSpecFromTree(JsonbValue *tree);

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
	QS_TARGET_DELETE			/* qs.delete(): DELETE, the row count */
} QsTarget;

/*
 * How one parameter's value is computed from a spec.  Recorded when a
 * shape is first compiled, replayed on a shape-cache hit (plancache.c)
 * so that a repeated shape skips SQL generation entirely.
 */
typedef enum QsProdKind
{
	QS_PROD_COERCE,				/* the lookup value coerced to type */
	QS_PROD_IN,					/* a list, nulls dropped, coerced to an array type */
	QS_PROD_RANGE_LO,			/* the low bound of [low, high] */
	QS_PROD_RANGE_HI,			/* the high bound */
	QS_PROD_TEXT,				/* a string (or number) as text */
	QS_PROD_LIKE,				/* a LIKE pattern: wildcards escaped, % added */
	QS_PROD_LIMIT,				/* the (adjusted) slice limit */
	QS_PROD_OFFSET,				/* the (adjusted) slice offset */
	QS_PROD_IDS,				/* in_bulk()'s id list as an array */
	QS_PROD_VALUE,				/* an expression literal (never unwrapped), nulls allowed */
	QS_PROD_KEY,				/* one column of a composite key value ({..} or [..]) */
	QS_PROD_IN_KEY,				/* that column of each key in a list, as an array */
	QS_PROD_IDS_KEY				/* ... of in_bulk()'s id list */
} QsProdKind;

typedef struct QsProducer
{
	QsProdKind	kind;
	int			lookup;			/* index of the lookup in walk order, or -1 */
	Oid			type;			/* the parameter's type */
	bool		pre;			/* LIKE: leading % */
	bool		post;			/* LIKE: trailing % */
	char	   *field;			/* for messages */
	char	   *path;			/* JSON path, for messages */
	char	   *lookup_name;	/* for messages */
	int			keypart;		/* composite keys: which column (QS_PROD_*KEY) */
	int			nkeys;			/* ... of how many */
	char	   *keyname;		/* ... and its name (the key in {"col": v}) */
} QsProducer;

typedef struct QsCompiled
{
	char	   *sql;
	int			nparams;
	Oid		   *ptypes;
	Datum	   *pvalues;
	bool	   *pnulls;
	List	   *relids;			/* Oids of every relation the SQL reads */
	QsModel    *model;
	QsProducer *prods;			/* one per parameter */
	int			nlookups;		/* lookups in the spec's Q tree */
	char	   *model_display;	/* for messages */
	bool		writes;			/* locks or modifies rows: SPI read_only off */
} QsCompiled;

/* internal compile state, shared by compile.c and lookup.c */
typedef struct QsCompile
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
	QsProducer *prods;			/* how each parameter was computed */
	int			nlookups;		/* lookups compiled so far (walk order) */
	int			cur_lookup;		/* index of the lookup being compiled */
	int64		limit_value;	/* slice values for QS_PROD_LIMIT/OFFSET */
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
	bool		literal_columns;	/* bulk_update: literals are columns v.lN */
	Oid		   *literal_types;	/* ... their types, by value index */
} QsCompile;

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
	bool		is_window;		/* contains a window function */
	bool		is_literal;		/* a parameter from a literal value */
	QsKey	   *key;			/* a composite key (the expression is a jsonb array) */
} QsExpr;

extern QsCompiled *QsCompileSpec(QsSpec *spec, QsTarget target,
								 TupleDesc fetch_desc, const char *in_bulk_field,
								 JsonbValue *in_bulk_ids);
extern int	QsValueIndex(QsCompile *ctx, JsonbValue *v);
extern void QsIndexValues(QsCompile *ctx, List *values);
extern char *QsAddParam(QsCompile *ctx, Oid type, Datum value, bool isnull,
						QsProducer *prod);
extern QsExpr *QsResolvePath(QsCompile *ctx, const char *path, bool allow_lookup,
							 char **lookup_out);
extern void QsPathPush(QsCompile *ctx, const char *fmt,...) pg_attribute_printf(2, 3);
extern char *QsCompileQ(QsCompile *ctx, JsonbValue *q);
extern QsRelation *QsFindRelation(QsCompile *ctx, QsModel *model, const char *name);
extern List *QsSplitPath(QsCompile *ctx, const char *path);
extern int	QsToManyPrefix(QsCompile *ctx, QsModel *model, const char *path, QsRelation **rel_out);
extern char *QsPathHead(QsCompile *ctx, const char *path, int n, const char **rest);
extern QsScope *QsOpenToMany(QsCompile *ctx, const char *prefix, QsRelation *rel,
							 char **from_sql, char **corr);
extern char *QsScopeJoins(QsScope *scope);
extern char *QsKeyEquality(Oid lrel, const char *lalias, AttrNumber *lkeys, Oid rrel,
						   const char *ralias, AttrNumber *rkeys, int n);
extern void QsOrderSql(QsCompile *ctx, StringInfo buf, List *order_by);
extern void QsAppendInnerSlice(QsCompile *ctx, StringInfo buf, JsonbValue *inner);
extern void QsInitCompile(QsCompile *ctx, QsModel *model);
extern bool QsNameInList(List *names, const char *name);

/* ---------- expr.c: expressions, aggregates, windows, subqueries ---------- */
extern bool QsIsExprObject(JsonbValue *v);
extern bool QsIsExprKey(const char *key, int len);
extern QsExpr *QsCompileExpr(QsCompile *ctx, JsonbValue *v, Oid hint);
extern QsExpr *QsLiteral(QsCompile *ctx, JsonbValue *v, Oid hint, Oid type, int32 typmod);
extern char *QsAssignValue(QsCompile *ctx, QsColumn *col, JsonbValue *v);
extern bool QsIsAssignedExpression(QsColumn *col, JsonbValue *v);
extern QsAnnotation *QsFindAnnotation(QsCompile *ctx, const char *name);
extern QsExpr *QsAnnotationExpr(QsCompile *ctx, QsAnnotation *a);
extern bool QsAnnotationIsAggregate(QsCompile *ctx, QsAnnotation *a);
extern bool QsQRefsAggregate(QsCompile *ctx, const char *key, JsonbValue *value);
extern QsExpr *QsOuterRef(QsCompile *ctx, const char *path);
extern char *QsCompileSubquery(QsCompile *ctx, JsonbValue *spec, bool exists, QsExpr **value);
extern char *QsCompileInSubquery(QsCompile *ctx, JsonbValue *spec, QsExpr **value);
extern char *QsTenantCond(QsCompile *ctx, QsModel *m, const char *alias);
extern void QsPathPop(QsCompile *ctx, int len);
extern char *QsPathString(QsCompile *ctx);

/* ---------- lookup.c: lookups, transforms, value coercion ---------- */
extern bool QsIsLookupName(const char *name);
extern const char *QsOp(const char *op, Oid ltype, Oid rtype);
extern bool QsApplyTransform(QsCompile *ctx, QsExpr *expr, const char *name);
extern char *QsCompileLookup(QsCompile *ctx, const char *key, JsonbValue *value, int index);
extern Datum QsCoerceValue(QsCompile *ctx, JsonbValue *v, Oid type,
						   const char *field, bool *isnull);
extern char *QsProduceParam(QsCompile *ctx, QsProdKind kind, Oid type, JsonbValue *v,
							const char *field, const char *lookup, bool pre, bool post);
extern char *QsKeyInList(QsCompile *ctx, QsKey *k, QsProdKind kind, JsonbValue *v,
						 const char *field);
extern void QsProduceAll(QsProducer *prods, int nparams, JsonbValue **lookups,
						 int64 limit, int64 offset, JsonbValue *ids,
						 Datum *values, bool *nulls);

/* ---------- plancache.c: saved SPI plans keyed by SQL shape ---------- */
extern void QsPlanCacheInit(void);
extern SPIPlanPtr QsPlanCacheGet(QsCompiled *c, int cursor_options);
extern void QsPlanCacheEnter(void);

/* a compiled shape, as kept by the shape cache */
typedef struct QsShape
{
	char	   *sql;
	int			nparams;
	Oid		   *ptypes;
	QsProducer *prods;
	int			nlookups;
	Oid		   *relids;
	int			nrelids;
	char	   *model_display;
	bool		writes;
} QsShape;

extern QsShape *QsShapeCacheGet(const char *key, int len);
extern void QsShapeCachePut(const char *key, int len, QsCompiled *c);
extern void QsPlanCacheLeave(void);

/* ---------- exec.c: shared by the write functions ---------- */
extern QsCompiled *QsPrepareSpec(JsonbValue *tree, QsTarget target, const char *variant);
extern uint64 QsRunWrite(QsCompiled *c, bool want_rows);

/* ---------- spec.c: slices ---------- */
extern void QsSliceCompose(bool has_offset, int64 offset, bool has_limit, int64 limit,
						   int64 start, bool has_stop, int64 stop,
						   int64 *new_offset, bool *new_has_limit, int64 *new_limit);
extern Jsonb *QsValidateTree(JsonbValue *tree);

/* ---------- builder.c: argument helpers ---------- */
extern List *QsTextArrayArg(FunctionCallInfo fcinfo, int argno);
extern JsonbValue *QsStringArray(List *names);

/* ---------- tenant.c: tenant context and signed tokens ---------- */
extern void QsTenantInit(void);
extern const char *QsCurrentTenant(const char **why);
extern void QsTenantOfRelation(Relation rel, QsModel *m);
extern char *QsTenantPredicate(QsModel *m, const char *alias);

/* ---------- bulkload.c: the COPY path of bulk_create ---------- */
extern Jsonb *QsBulkCopy(QsModel *m, QsCompile *ctx, Jsonb *rows, List *allowed, bool has_allowed,
						int batch, List *ret_cols);

/* ---------- write.c ---------- */
extern QsColumn *QsWriteColumn(QsCompile *ctx, QsModel *m, const char *name, List *allowed,
							   bool has_allowed);
extern Datum QsColumnDatum(QsCompile *ctx, QsColumn *col, JsonbValue *v, bool *isnull);


#endif							/* PG_QUERYSET_H */
