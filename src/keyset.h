/*
 * keyset.h
 *	  keyset.c: keyset pagination.  qs.page() and the "page" spec key are
 *	  rewritten into an ordering that ends with the primary key, a page
 *	  boundary ("$keyset") and a limit; the boundary becomes the predicate
 *	  an expert writes (a row comparison, or the expanded OR form), and a
 *	  page's first and last rows become opaque, checksummed cursors.
 */
#ifndef QS_KEYSET_H
#define QS_KEYSET_H

#include "state.h"

#define QS_PAGE_DEFAULT_SIZE 20
#define QS_PAGE_MAX_SIZE 10000

/* one page request, and what the rewrite made of it */
typedef struct QsPage
{
	int64		size;			/* rows per page (-1: not given) */
	char	   *after;			/* a "next" cursor, or NULL */
	char	   *before;			/* a "previous" cursor, or NULL */
	/* filled in by QsPageRewrite */
	char	   *fingerprint;	/* the model and the ordering the cursors belong to */
	bool		backwards;		/* reading the rows before the boundary */
	bool		has_boundary;	/* a cursor was given */
	char	   *boundary_keys;	/* ... its keys, as JSON text */
	bool		inclusive;		/* ... and whether its row belongs to the page */
	int64		max_rows;		/* pg_queryset.max_rows below the size: check (error) or 0 */
	bool		clamped;		/* ... or the size was lowered to it (truncate) */
} QsPage;

/* the spec of a page (exec.c, before the shape is taken) */
extern JsonbValue *QsPageRewrite(JsonbValue *tree, QsPage *page, bool extra_row);
extern char *QsPageCursor(QsPage *page, bool backwards, bool inclusive, const char *keys_json);

/* the SQL of a page (select.c) */
extern List *QsKeysetOrder(QsCompileState *ctx, List *order_exprs);
extern char *QsKeysetCondition(QsCompileState *ctx, const char *where, List *order_exprs);
extern char *QsKeysetKeys(List *order_exprs);

#endif							/* QS_KEYSET_H */
