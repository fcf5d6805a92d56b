/*
 * expr.h
 *	  expr.c: expressions (F, Value, arithmetic, functions, Case/When,
 *	  Exists, Subquery), annotations, and ordering items.
 */
#ifndef QS_EXPR_H
#define QS_EXPR_H

#include "exprfn.h"
#include "state.h"

extern QsExpr *QsCompileExpr(QsCompileState *ctx, JsonbValue *v, Oid hint);
extern QsExpr *QsLiteral(QsCompileState *ctx, JsonbValue *v, Oid hint, Oid type, int32 typmod);
extern char *QsAssignValue(QsCompileState *ctx, QsColumn *col, JsonbValue *v);
extern bool QsIsAssignedExpression(QsColumn *col, JsonbValue *v);

/* annotations (also the annotation hook of path resolution) */
extern void QsUseAnnotations(QsCompileState *ctx);
extern QsAnnotation *QsFindAnnotation(QsCompileState *ctx, const char *name);
extern QsExpr *QsAnnotationExpr(QsCompileState *ctx, QsAnnotation *a);
extern bool QsAnnotationIsAggregate(QsCompileState *ctx, QsAnnotation *a);
extern bool QsQRefsAggregate(QsCompileState *ctx, const char *key, JsonbValue *value);

/* inner querysets */
extern QsExpr *QsOuterRef(QsCompileState *ctx, const char *path);
extern char *QsCompileSubquery(QsCompileState *ctx, JsonbValue *spec, bool exists, QsExpr **value);
extern char *QsCompileInSubquery(QsCompileState *ctx, JsonbValue *spec, QsExpr **value);

/* ordering items */
extern void QsOrderLists(QsCompileState *ctx, List *order_by, List **exprs, List **items);
extern void QsOrderSql(QsCompileState *ctx, StringInfo buf, List *order_by);
extern void QsAppendOrderList(StringInfo buf, List *exprs, List *items);
extern char *QsOrderColumns(StringInfo target, List *exprs, List *items, const char *alias);
extern char *QsOrderClause(const char *expr, QsOrderItem *o);

/* shared with aggregate.c */
extern void QsExprError(QsCompileState *ctx, const char *msg, const char *hint);
extern QsExpr *QsMakeExpr(char *sql, Oid type);
extern QsExpr *QsCopyExpr(QsExpr *e);
extern bool QsIsIntType(Oid t);
extern QsAnnotation *QsPathAnnotation(QsCompileState *ctx, const char *path);
extern QsExpr *QsLiteralValue(QsCompileState *ctx, JsonbValue *v, Oid hint, Oid type, int32 typmod);
extern char *QsTypeSql(Oid type, int32 typmod);
extern bool QsIsLiteralNode(JsonbValue *v);
extern List *QsArgList(QsCompileState *ctx, const QsFn *fn, JsonbValue *arg, int min, int max);
extern void QsAbsorb(QsExpr *into, QsExpr *e);

#endif							/* QS_EXPR_H */
