/*
 * aggregate.h
 *	  aggregate.c: aggregates (at the statement's level, per row over a
 *	  to-many relation, or per row alone) and window expressions.
 */
#ifndef QS_AGGREGATE_H
#define QS_AGGREGATE_H

#include "exprfn.h"
#include "state.h"

extern QsExpr *QsCompileAggregate(QsCompileState *ctx, const QsFn *fn, JsonbValue *arg, JsonbValue *obj,
								  bool in_window);
extern QsExpr *QsCompileWindow(QsCompileState *ctx, JsonbValue *arg, JsonbValue *obj);

#endif							/* QS_AGGREGATE_H */
