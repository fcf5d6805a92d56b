/*
 * row.h
 *	  row.c: one result row's selected values (SelItem) and its JSON (an
 *	  object, an array, a flat value) or plain column list.
 */
#ifndef QS_ROW_H
#define QS_ROW_H

#include "state.h"

/* a relation embedded in each row (select_related / prefetch_related) */
typedef struct QsEmbed
{
	char	   *name;			/* the relation's name */
	char	   *out;			/* the output key (to_attr, else name) */
	QsRelation *rel;
	QsModel    *from;
	List	   *children;		/* QsEmbed * */
	JsonbValue *queryset;		/* Prefetch queryset, or NULL */
} QsEmbed;

/* one selected value: its result key and SQL expression (or an embed) */
typedef struct SelItem
{
	char	   *key;
	char	   *sql;
	QsEmbed    *embed;
	bool		is_agg;			/* an aggregate (not a GROUP BY key) */
	char	   *group;			/* GROUP BY it by these (a composite key's columns), or NULL */
	Oid			type;			/* its type (set operations compare operands' columns) */
} SelItem;

extern char *QsRowTarget(List *items, List *srcs, QsRowShape shape, bool json, bool columns);

#endif							/* QS_ROW_H */
