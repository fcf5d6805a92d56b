/*
 * bulktext.h
 *	  bulktext.c: the rows of qs.bulk_create_text read from JSON text in
 *	  one pass, straight into COPY text lines grouped by their keys.
 */
#ifndef QS_BULKTEXT_H
#define QS_BULKTEXT_H

#include "postgres.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

/* The rows that give one set of keys, rendered as COPY text. */
typedef struct QsTextGroup
{
	int			npairs;			/* keys of each row */
	char	  **keys;			/* sorted as jsonb sorts an object's keys */
	int			n;				/* rows */
	int			cap;
	int		   *idx;			/* each row's place in the input */
	int		   *off;			/* each row's line in text; off[n] is the end */
	StringInfoData text;		/* values tab-separated, no line ends */
} QsTextGroup;

/* The rows argument: its length and its groups, in order of first row. */
typedef struct QsTextRows
{
	int			nrows;
	List	   *groups;			/* QsTextGroup * */
} QsTextRows;

extern QsTextRows *QsTextRowsRead(const char *json, int len);
extern void QsCopyAppendEscaped(StringInfo buf, const char *s, int len);

#endif							/* QS_BULKTEXT_H */
