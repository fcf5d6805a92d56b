/*
 * exprfn.h
 *	  exprfn.c: the vocabulary of expressions: each function key an
 *	  expression object may hold, its kind, SQL name and options.
 */
#ifndef QS_EXPRFN_H
#define QS_EXPRFN_H

#include "pg_queryset.h"

typedef enum QsFnKind
{
	FN_ARITH,
	FN_F,
	FN_VALUE,
	FN_OUTERREF,
	FN_VARIADIC,				/* Coalesce, Greatest, Least */
	FN_CONCAT,
	FN_TEXT,					/* Lower, Upper */
	FN_LENGTH,
	FN_ABS,
	FN_ROUND,
	FN_NOW,
	FN_CAST,
	FN_WRAPPER,
	FN_TRUNC,
	FN_EXTRACT,
	FN_CASE,
	FN_EXISTS,
	FN_SUBQUERY,
	FN_AGG,
	FN_WINDOW,
	FN_WINFN
} QsFnKind;

typedef struct QsFn
{
	const char *name;			/* the JSON key */
	QsFnKind	kind;
	const char *sql;			/* SQL function, operator, or Trunc/Extract part */
	const char *options;		/* allowed option keys, space separated */
} QsFn;


extern const QsFn *QsFindFn(const char *key, int len);
extern const QsFn *QsObjectFn(JsonbValue *v, JsonbValue **arg);
extern bool QsOptionAllowed(const QsFn *fn, const char *key);
extern bool QsIsExprKey(const char *key, int len);
extern bool QsIsExprObject(JsonbValue *v);

#endif							/* QS_EXPRFN_H */
