/*
 * bulkload.h
 *	  bulkload.c: the COPY path of bulk_create.
 */
#ifndef QS_BULKLOAD_H
#define QS_BULKLOAD_H

#include "state.h"

extern Jsonb *QsBulkCopy(QsModel *m, QsCompileState *ctx, Jsonb *rows, List *allowed, bool has_allowed,
						int batch, List *ret_cols);

#endif							/* QS_BULKLOAD_H */
