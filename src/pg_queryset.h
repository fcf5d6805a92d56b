/*
 * pg_queryset.h
 *	  What every pg_queryset module shares: PostgreSQL's headers, the
 *	  version compatibility layer, the GUCs and a few limits.
 *
 * Each module has its own header saying what it promises (model.h,
 * spec.h, path.h, ...); docs/architecture.md draws how a call flows
 * through them:
 *
 *	 jsonb spec --spec.c--> QsSpec --compile.c (select.c, qtree.c, path.c,
 *	 lookup.c, expr.c, param.c)--> SQL text with $n placeholders and a
 *	 parameter recipe per value --plancache.c--> saved SPI plan --exec.c-->
 *	 result.
 */
#ifndef PG_QUERYSET_H
#define PG_QUERYSET_H

#include "postgres.h"
#include "compat.h"

#include "access/attnum.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"
#include "utils/relcache.h"

/* pg_queryset.c: GUCs */
extern int	qs_plan_cache_size;
extern int	qs_max_depth;
extern bool qs_shape_cache_check;
extern bool qs_bulk_copy;
extern int	qs_plan_choice;

/* pg_queryset.plan_choice */
typedef enum QsPlanChoice
{
	QS_PLAN_CHOICE_AUTO,		/* custom plans for shapes the rule picks (plancache.c) */
	QS_PLAN_CHOICE_POSTGRES		/* plan_cache_mode alone */
} QsPlanChoice;

/* Django's MAX_GET_RESULTS: get() fetches at most this many rows */
#define QS_MAX_GET_RESULTS 21

#endif							/* PG_QUERYSET_H */
