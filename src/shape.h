/*
 * shape.h
 *	  shape.c: the shape of a spec (the structure its SQL text depends
 *	  on) and its data values in walk order, which the shape cache keys
 *	  statements by and parameter recipes are replayed over.
 */
#ifndef QS_SHAPE_H
#define QS_SHAPE_H

#include "spec.h"

extern void QsShapeOf(JsonbValue *tree, StringInfo s, List **lookups);
extern void QsShapeValue(StringInfo s, JsonbValue *v, List **lookups);
extern List *QsInnerLookups(JsonbValue *queryset);
extern JsonbValue *QsInQueryset(JsonbValue *v);
extern bool QsNumberIsIntegral(JsonbValue *v);

#endif							/* QS_SHAPE_H */
