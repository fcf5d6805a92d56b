/*
 * select.h
 *	  select.c: the SELECT statement of a queryset and its parts (selection,
 *	  FROM/WHERE, GROUP BY/HAVING, ORDER BY, DISTINCT, slices, locks),
 *	  and its count() and exists() forms.
 */
#ifndef QS_SELECT_H
#define QS_SELECT_H

#include "row.h"

extern char *QsCompileFilter(QsCompile *ctx, QsTarget target);
extern List *QsBuildSelection(QsCompile *ctx);
extern List *QsBuildFetchSelection(QsCompile *ctx, TupleDesc desc, List *json_sel);
extern char *QsBuildSelect(QsCompile *ctx, List *sel, const char *where, const char *extra,
						   bool json, bool columns, const char *prefix_target);
extern char *QsBuildCountOrExists(QsCompile *ctx, List *sel, const char *where, bool exists);
extern char *QsJoinNames(List *names);
extern List *QsOrderExprs(QsCompile *ctx);
extern void QsAppendOrder(QsCompile *ctx, StringInfo buf, List *order_exprs);
extern void QsAppendLock(QsCompile *ctx, StringInfo buf);
extern void QsAppendFromWhere(QsCompile *ctx, StringInfo buf, const char *where, const char *extra,
							  const char *embed_joins);

#endif							/* QS_SELECT_H */
