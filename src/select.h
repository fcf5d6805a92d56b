/*
 * select.h
 *	  select.c: the SELECT statement of a queryset and its parts (selection,
 *	  FROM/WHERE, GROUP BY/HAVING, ORDER BY, DISTINCT, slices, locks),
 *	  and its count() and exists() forms.
 */
#ifndef QS_SELECT_H
#define QS_SELECT_H

#include "row.h"

extern char *QsCompileFilter(QsCompileState *ctx, QsTarget target);
extern List *QsBuildSelection(QsCompileState *ctx);
extern List *QsBuildFetchSelection(QsCompileState *ctx, TupleDesc desc, List *json_sel);
extern char *QsBuildSelect(QsCompileState *ctx, List *sel, const char *where, const char *extra,
						   bool json, bool columns, const char *prefix_target);
extern char *QsBuildCountOrExists(QsCompileState *ctx, List *sel, const char *where, bool exists);
extern char *QsJoinNames(List *names);
extern List *QsOrderExprs(QsCompileState *ctx);
extern void QsAppendOrder(QsCompileState *ctx, StringInfo buf, List *order_exprs);
extern void QsAppendLock(QsCompileState *ctx, StringInfo buf);
extern void QsAppendFromWhere(QsCompileState *ctx, StringInfo buf, const char *where, const char *extra,
							  const char *embed_joins);

#endif							/* QS_SELECT_H */
