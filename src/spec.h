/*
 * spec.h
 *	  spec.c: JSON trees and the validated spec of a queryset, slices,
 *	  and method placeholders ({"$param": ...}).  The shape of a spec is
 *	  shape.h's.
 */
#ifndef QS_SPEC_H
#define QS_SPEC_H

#include "model.h"

typedef struct QsOrderItem
{
	char	   *path;			/* NULL for random ordering ("?") */
	bool		desc;
	int			nulls;			/* 0 default, 1 NULLS FIRST, 2 NULLS LAST */
	JsonbValue *expr;			/* {"expression": ...}: ordered by an expression */
} QsOrderItem;

/* "$keyset" (keyset.c): the page boundary qs.page() and "page" write */
typedef struct QsKeyset
{
	JsonbValue *values;			/* the boundary row's ordering keys, or NULL (first page) */
	bool		before;			/* rows before the boundary (else after) */
	bool		inclusive;		/* ... or equal to it */
} QsKeyset;

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
	QsKeyset   *keyset;			/* "$keyset": a keyset page (keyset.c), or NULL */
	bool		count_rows;		/* qs.json also selects count(*) (pg_queryset.max_rows, guards.c) */
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

/* JSON trees */
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

/* the spec */
extern void QsReverseOrderItem(QsOrderItem *o);
extern QsSpec *QsSpecParse(Jsonb *jb);
extern QsSpec *QsSpecFromTree(JsonbValue *tree);
extern void QsSpecSlice(JsonbValue *tree, bool *has_offset, int64 *offset,
						bool *has_limit, int64 *limit);
extern void QsSliceCompose(bool has_offset, int64 offset, bool has_limit, int64 limit,
						   int64 start, bool has_stop, int64 stop,
						   int64 *new_offset, bool *new_has_limit, int64 *new_limit);


/* method placeholders: while a method is validated they are typed NULLs */
extern bool qs_validating_params;
extern bool QsIsParam(JsonbValue *v);
extern bool QsContainsParam(JsonbValue *v);

#endif							/* QS_SPEC_H */
