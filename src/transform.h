/*
 * transform.h
 *	  transform.c: Django transforms (date parts, jsonb keys, array index
 *	  and len) applied to a resolved expression.
 */
#ifndef QS_TRANSFORM_H
#define QS_TRANSFORM_H

#include "state.h"

extern bool QsApplyTransform(QsCompileState *ctx, QsExpr *expr, const char *name);

#endif							/* QS_TRANSFORM_H */
