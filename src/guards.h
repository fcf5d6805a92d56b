/*
 * guards.h
 *	  guards.c: the limits a DBA pins on a role -- pg_queryset.max_rows
 *	  (and max_rows_action), pg_queryset.max_affected, pg_queryset.max_cost.
 *
 * Every check is a macro or an inline test of the setting first, so a
 * call costs one comparison when the guards are off (the default).
 */
#ifndef QS_GUARDS_H
#define QS_GUARDS_H

#include "pg_queryset.h"

#include "tcop/dest.h"
#include "utils/portal.h"

#define QS_MAX_ROWS_ERROR 0
#define QS_MAX_ROWS_TRUNCATE 1

/* the settings (defined in pg_queryset.c, superuser-only, 0 = off) */
extern int	qs_max_rows;
extern int	qs_max_rows_action;
extern int	qs_max_affected;
extern double qs_max_cost;

extern void QsGuardsInit(void);

/*
 * max_rows.  A read that returns rows asks for max_rows + 1 of them
 * (QsGuardRowCap, 0 when off); seeing that extra row means "more".
 */
static inline int64
QsGuardRowCap(void)
{
	return qs_max_rows > 0 ? (int64) qs_max_rows + 1 : 0;
}
extern bool QsGuardRowsOver(const char *fn);
extern DestReceiver *QsGuardRowsDest(DestReceiver *inner, const char *fn);
extern void QsGuardCursor(Portal portal, const char *fn);

/* max_affected: n rows written so far by one call of fn */
#define QsGuardAffected(n, fn) \
	do { \
		if (unlikely(qs_max_affected > 0) && (uint64) (n) > (uint64) qs_max_affected) \
			QsGuardAffectedExceeded((uint64) (n), (fn)); \
	} while (0)
extern void QsGuardAffectedExceeded(uint64 n, const char *fn);

/*
 * max_cost: QsGuardArm before SPI runs a saved plan of ours (the
 * ExecutorStart hook checks that plan's statement), QsGuardDisarm after;
 * a cursor's plan is checked once it is open (QsGuardCostPortal).
 */
#define QsGuardArm(plan) \
	do { \
		if (unlikely(qs_max_cost > 0)) \
			QsGuardCostArm(plan); \
	} while (0)
#define QsGuardDisarm() \
	do { \
		if (unlikely(qs_max_cost > 0)) \
			QsGuardCostDisarm(); \
	} while (0)
extern void QsGuardCostArm(SPIPlanPtr plan);
extern void QsGuardCostDisarm(void);
extern void QsGuardCostPortal(Portal portal);

#endif							/* QS_GUARDS_H */
