/*
 * bulkload.h
 *	  bulkload.c: the COPY path of bulk_create (rows as jsonb, or as text
 *	  read by bulktext.c).
 */
#ifndef QS_BULKLOAD_H
#define QS_BULKLOAD_H

#include "bulktext.h"
#include "state.h"

extern Jsonb *QsBulkCopy(QsModel *m, QsCompileState *ctx, Jsonb *rows, List *allowed, bool has_allowed,
						int batch, List *ret_cols, bool flat);
extern Jsonb *QsBulkCopyText(QsModel *m, QsCompileState *ctx, QsTextRows *rows, List *allowed,
							 bool has_allowed, int batch, List *ret_cols, bool flat);

#endif							/* QS_BULKLOAD_H */
