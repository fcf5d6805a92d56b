/*
 * writecol.h
 *	  writecol.c: a column of a written row (which columns a write may
 *	  name, a JSON value as that column's Datum, how its parameter is typed
 *	  and read), shared by write.c and bulkload.c.
 */
#ifndef QS_WRITECOL_H
#define QS_WRITECOL_H

#include "state.h"

extern QsColumn *QsWriteColumn(QsCompileState *ctx, QsModel *m, const char *name, List *allowed,
							   bool has_allowed);
extern Datum QsColumnDatum(QsCompileState *ctx, QsColumn *col, JsonbValue *v, bool *isnull);
extern Oid	QsWriteParamType(QsColumn *col);
extern char *QsWriteReadParam(QsColumn *col, const char *ref);

#endif							/* QS_WRITECOL_H */
