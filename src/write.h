/*
 * write.h
 *	  write.c: create, get_or_create, update_or_create, bulk_create,
 *	  bulk_update, update and delete; and the columns a write names.
 */
#ifndef QS_WRITE_H
#define QS_WRITE_H

#include "state.h"

extern QsColumn *QsWriteColumn(QsCompileState *ctx, QsModel *m, const char *name, List *allowed,
							   bool has_allowed);
extern Datum QsColumnDatum(QsCompileState *ctx, QsColumn *col, JsonbValue *v, bool *isnull);

#endif							/* QS_WRITE_H */
