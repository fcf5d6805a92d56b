/*
 * model.h
 *	  model.c: what the catalog says about a table (its columns, types,
 *	  primary key, tenant column), cached per relation and invalidated by
 *	  relcache callbacks.  Nothing else reads pg_attribute or pg_constraint.
 */
#ifndef QS_MODEL_H
#define QS_MODEL_H

#include "pg_queryset.h"

/* ---------- model.c: catalog introspection ---------- */
typedef struct QsColumn
{
	char	   *name;
	AttrNumber	attnum;
	Oid			typid;			/* declared type (may be a domain) */
	int32		typmod;
	Oid			basetypid;		/* domain base type, else typid */
	Oid			elemtypid;		/* element type if basetypid is an array */
	char		typcategory;	/* pg_type.typcategory of basetypid */
	bool		notnull;
	bool		unique;			/* single-column PK or unique constraint */
	char		generated;		/* pg_attribute.attgenerated ('s': stored) */
	char		identity;		/* pg_attribute.attidentity ('a' always, 'd' by default) */
	bool		has_default;
} QsColumn;

typedef struct QsModel
{
	Oid			relid;
	char		relkind;
	char	   *relname;		/* unqualified, as in the catalog */
	char	   *nspname;
	char	   *qualname;		/* quoted schema.table for SQL text */
	char	   *display;		/* regclass text, for specs and messages */
	int			ncolumns;
	QsColumn   *columns;		/* in attnum order, dropped ones skipped */
	int			npk;			/* primary key columns (0 for views) */
	int		   *pk;				/* indexes into columns[] */
	AttrNumber	tenant_attnum;	/* tenant-scoped (tenant.c): the tenant column, else 0 */
	Oid			tenant_opno;	/* and the = of its policy */
	bool		relations_loaded;
	List	   *relations;		/* QsRelation *, built lazily (relation.c) */
} QsModel;

extern void QsModelInit(void);
extern Oid	QsModelResolve(const char *name);
extern QsModel *QsModelGet(Oid relid);
extern QsColumn *QsModelColumn(QsModel *model, const char *name);
extern QsColumn *QsModelPkColumn(QsModel *model);
extern bool QsColumnSkewed(Oid relid, AttrNumber attnum);
extern bool QsModelIsPk(QsModel *model, int i);

#endif							/* QS_MODEL_H */
