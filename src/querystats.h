/*
 * querystats.h
 *	  querystats.c: statement counting, N+1 detection and query budgets.
 */
#ifndef QS_QUERYSTATS_H
#define QS_QUERYSTATS_H

#include "pg_queryset.h"

#define QS_NPLUSONE_OFF 0
#define QS_NPLUSONE_WARN 1
#define QS_NPLUSONE_ERROR 2
extern bool qs_track_stats;
extern int	qs_nplusone;
extern int	qs_nplusone_threshold;
extern int	qs_query_budget;
extern void QsQueryStatsInit(void);

#endif							/* QS_QUERYSTATS_H */
