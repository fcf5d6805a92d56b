/*
 * qtree.h
 *	  qtree.c: Q trees ($and, $or, $not, lookups) as WHERE / HAVING
 *	  predicates, one EXISTS per to-many relation a filter() call crosses.
 */
#ifndef QS_QTREE_H
#define QS_QTREE_H

#include "state.h"

extern char *QsCompileQ(QsCompileState *ctx, JsonbValue *q);
extern char *QsCompileQObject(QsCompileState *ctx, JsonbValue *q, int split);

#endif							/* QS_QTREE_H */
