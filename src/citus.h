/*
 * citus.h
 *	  citus.c: working on a Citus cluster (docs/scale-out.md): is Citus
 *	  here, is a relation one of its tables, and carrying the tenant
 *	  context to the workers of the transaction.
 */
#ifndef QS_CITUS_H
#define QS_CITUS_H

extern bool QsCitusActive(void);
extern bool QsCitusTable(Oid relid);
extern void QsCitusPropagateToken(const char *token);

#endif							/* QS_CITUS_H */
