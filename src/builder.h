/*
 * builder.h
 *	  builder.c: the lazy builders (qs.filter, qs.order_by, ...) and the
 *	  helpers other SQL functions share for their arguments.
 */
#ifndef QS_BUILDER_H
#define QS_BUILDER_H

#include "pg_queryset.h"

extern Jsonb *QsValidateTree(JsonbValue *tree);
extern List *QsTextArrayArg(FunctionCallInfo fcinfo, int argno);
extern JsonbValue *QsStringArray(List *names);

#endif							/* QS_BUILDER_H */
