/*
 * tenant.h
 *	  tenant.c: the tenant context (qs.set_tenant, signed tokens), tenant
 *	  scoping of a table, and the tenant predicate of every statement.
 */
#ifndef QS_TENANT_H
#define QS_TENANT_H

#include "model.h"

extern void QsTenantInit(void);
extern const char *QsCurrentTenant(const char **why);
extern void QsTenantOfRelation(Relation rel, QsModel *m);
extern QsColumn *QsTenantColumn(QsModel *m);
extern char *QsTenantPredicate(QsModel *m, const char *alias);
extern char *QsOperatorSql(Oid opno);
extern Datum QsTenantDatum(Oid type, bool *isnull);

#endif							/* QS_TENANT_H */
