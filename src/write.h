/*
 * write.h
 *	  write.c: the single-row writes (create with nested children,
 *	  get_or_create, update_or_create, update, delete) and the pieces every
 *	  write function shares (arguments, running a write statement, a row
 *	  of returned columns), used by bulkwrite.c.
 */
#ifndef QS_WRITE_H
#define QS_WRITE_H

#include "state.h"

extern JsonbValue *QsWriteTreeArg(FunctionCallInfo fcinfo, int argno, const char *what, bool array);
extern QsCompileState *QsWriteContext(QsModel *m);
extern void QsWriteUnknownKey(QsCompileState *ctx, QsModel *m, const char *name);
extern char *QsRowJsonb(List *cols, const char *alias);
extern int	QsNameCmp(const ListCell *a, const ListCell *b);
extern List *QsAllColumns(QsModel *m);
extern uint64 QsRunWriteSql(QsModel *m, const char *sql, int n, Oid *types, Datum *values, bool *nulls);
extern JsonbValue *QsResultTree(uint64 r, int i);

#endif							/* QS_WRITE_H */
