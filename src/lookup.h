/*
 * lookup.h
 *	  lookup.c: Django lookups (the table of lookup names, each with its SQL
 *	  shape and the types it applies to) compiled into predicates.
 */
#ifndef QS_LOOKUP_H
#define QS_LOOKUP_H

#include "state.h"

extern bool QsIsLookupName(const char *name);
extern char *QsCompileLookup(QsCompileState *ctx, const char *key, JsonbValue *value, int index);
extern char *QsKeyInList(QsCompileState *ctx, QsKey *k, QsParamKind kind, JsonbValue *v,
						 const char *field);

#endif							/* QS_LOOKUP_H */
