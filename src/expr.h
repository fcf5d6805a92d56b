/*
 * expr.h
 *	  expr.c: expressions (F, Value, arithmetic, functions, Case/When,
 *	  Exists, Subquery), annotations, and ordering items.
 */
#ifndef QS_EXPR_H
#define QS_EXPR_H

#include "exprfn.h"
#include "state.h"

extern QsExpr *QsCompileExpr(QsCompile *ctx, JsonbValue *v, Oid hint);
extern QsExpr *QsLiteral(QsCompile *ctx, JsonbValue *v, Oid hint, Oid type, int32 typmod);
extern char *QsAssignValue(QsCompile *ctx, QsColumn *col, JsonbValue *v);
extern bool QsIsAssignedExpression(QsColumn *col, JsonbValue *v);

/* annotations (also the annotation hook of path resolution) */
extern void QsUseAnnotations(QsCompile *ctx);
extern QsAnnotation *QsFindAnnotation(QsCompile *ctx, const char *name);
extern QsExpr *QsAnnotationExpr(QsCompile *ctx, QsAnnotation *a);
extern bool QsAnnotationIsAggregate(QsCompile *ctx, QsAnnotation *a);
extern bool QsQRefsAggregate(QsCompile *ctx, const char *key, JsonbValue *value);

/* inner querysets */
extern QsExpr *QsOuterRef(QsCompile *ctx, const char *path);
extern char *QsCompileSubquery(QsCompile *ctx, JsonbValue *spec, bool exists, QsExpr **value);
extern char *QsCompileInSubquery(QsCompile *ctx, JsonbValue *spec, QsExpr **value);

/* ordering items */
extern void QsOrderSql(QsCompile *ctx, StringInfo buf, List *order_by);
extern char *QsOrderClause(const char *expr, QsOrderItem *o);

/* shared with aggregate.c */
extern void QsExprError(QsCompile *ctx, const char *msg, const char *hint) pg_attribute_noreturn();
extern QsExpr *QsMakeExpr(char *sql, Oid type);
extern QsExpr *QsCopyExpr(QsExpr *e);
extern bool QsIsIntType(Oid t);
extern QsAnnotation *QsPathAnnotation(QsCompile *ctx, const char *path);
extern QsExpr *QsLiteralValue(QsCompile *ctx, JsonbValue *v, Oid hint, Oid type, int32 typmod);
extern char *QsTypeSql(Oid type, int32 typmod);
extern bool QsIsLiteralNode(JsonbValue *v);
extern List *QsArgList(QsCompile *ctx, const QsFn *fn, JsonbValue *arg, int min, int max);
extern void QsAbsorb(QsExpr *into, QsExpr *e);

#endif							/* QS_EXPR_H */
