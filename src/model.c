/*
 * model.c
 *	  Catalog introspection: what a model (table or view) is made of.
 *
 * Owns: resolving a model name to a relation, its columns (name, type,
 * nullability), its primary key and single-column unique keys, and the
 * per-backend cache of that information.  It must not build SQL or look
 * at specs.
 *
 * Cache design: one hash table keyed by relation OID, in the long-lived
 * "pg_queryset model cache" context; each model lives in a child context
 * of its own.  A relcache invalidation marks the entry stale; the next
 * lookup rebuilds it.  The stale model's memory is not freed at once
 * (a compile in progress may still point into it) but queued and freed
 * at the end of the transaction.
 */
#include "postgres.h"

#include "miscadmin.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_index.h"
#include "catalog/pg_statistic.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/regproc.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "model.h"
#include "tenant.h"

typedef struct QsModelEntry
{
	Oid			relid;			/* hash key */
	bool		valid;
	MemoryContext cxt;			/* owns model */
	QsModel    *model;
} QsModelEntry;

/* all of this module's state */
static struct
{
	MemoryContext cxt;
	HTAB	   *hash;
	List	   *dead;			/* contexts of stale models, freed at xact end */
	bool		callbacks;
} ModelCache;

/* Relcache callback: mark the model (or every model) stale. */
static void
ModelInvalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS seq;
	QsModelEntry *e;

	if (ModelCache.hash == NULL)
		return;
	if (OidIsValid(relid))
	{
		e = hash_search(ModelCache.hash, &relid, HASH_FIND, NULL);
		if (e)
			e->valid = false;
		return;
	}
	hash_seq_init(&seq, ModelCache.hash);
	while ((e = hash_seq_search(&seq)) != NULL)
		e->valid = false;
}

/* At transaction end, free the memory of stale models. */
static void
ModelXactCallback(XactEvent event, void *arg)
{
	ListCell   *lc;
	MemoryContext old;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT && event != XACT_EVENT_PARALLEL_ABORT)
		return;
	/* stale entries nobody rebuilt (e.g. dropped tables) go too */
	if (ModelCache.hash != NULL)
	{
		HASH_SEQ_STATUS seq;
		QsModelEntry *e;
		List	   *stale = NIL;
		ListCell   *sc;

		hash_seq_init(&seq, ModelCache.hash);
		while ((e = hash_seq_search(&seq)) != NULL)
			if (!e->valid)
				stale = lappend_oid(stale, e->relid);
		foreach(sc, stale)
		{
			Oid			relid = lfirst_oid(sc);

			e = hash_search(ModelCache.hash, &relid, HASH_FIND, NULL);
			if (e && e->cxt)
				MemoryContextDelete(e->cxt);
			hash_search(ModelCache.hash, &relid, HASH_REMOVE, NULL);
		}
		list_free(stale);
	}
	if (ModelCache.dead == NIL)
		return;
	foreach(lc, ModelCache.dead)
		MemoryContextDelete((MemoryContext) lfirst(lc));
	old = MemoryContextSwitchTo(ModelCache.cxt);
	list_free(ModelCache.dead);
	ModelCache.dead = NIL;
	MemoryContextSwitchTo(old);
}

/* Register the invalidation callbacks; called from _PG_init. */
void
QsModelInit(void)
{
	HASHCTL		ctl;

	if (ModelCache.callbacks)
		return;
	ModelCache.cxt = AllocSetContextCreate(CacheMemoryContext,
										   "pg_queryset model cache",
										   ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(QsModelEntry);
	ctl.hcxt = ModelCache.cxt;
	ModelCache.hash = hash_create("pg_queryset models", 64, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	CacheRegisterRelcacheCallback(ModelInvalidate, (Datum) 0);
	RegisterXactCallback(ModelXactCallback, NULL);
	ModelCache.callbacks = true;
}

/*
 * Resolve a model name ("catalog_product", "shop.order", "\"My Table\"")
 * to a relation OID, following search_path like regclass does.
 */
Oid
QsModelResolve(const char *name)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	List	   *volatile names = NIL;
	RangeVar   *rv;
	Oid			relid;

	if (name == NULL || name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid spec at $.model: the model name is empty"),
				 errhint("Give a table or view name, e.g. \"catalog_product\" or \"shop.order\".")));
	if (strlen(name) > 3 * NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("invalid spec at $.model: the model name is too long")));
	PG_TRY();
	{
		names = QsQualifiedNameList(name);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_INVALID_NAME)
			PG_RE_THROW();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid spec at $.model: \"%s\" is not a valid table name", name),
				 errdetail("%s.", edata->message),
				 errhint("Write \"table\" or \"schema.table\"; quote names with double quotes.")));
	}
	PG_END_TRY();
	if (list_length(names) > 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("invalid spec at $.model: \"%s\" is not a table name", name),
				 errhint("Write \"table\" or \"schema.table\"; quote names with double quotes.")));
	rv = makeRangeVarFromNameList(names);
	relid = RangeVarGetRelid(rv, NoLock, true);
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("model \"%s\" does not exist", name),
				 errdetail("No table or view of that name is visible with the current search_path."),
				 errhint("Schema-qualify the name or check the spelling.")));
	return relid;
}

/* Is there a unique index (or PK) on exactly this one column? */
static void
ModelLoadKeys(Relation rel, QsModel *m)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	Oid			pkoid = rel->rd_pkindex;

	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
		Form_pg_index idx;
		bool		isnull;

		if (!HeapTupleIsValid(tup))
			continue;
		idx = (Form_pg_index) GETSTRUCT(tup);
		/* partial or expression indexes do not make a column unique */
		(void) SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indpred, &isnull);
		if (idx->indisunique && idx->indisvalid && isnull &&
			heap_attisnull(tup, Anum_pg_index_indexprs, NULL))
		{
			int			nkeys = idx->indnkeyatts;
			int			k;

			if (indexoid == pkoid)
			{
				m->npk = nkeys;
				m->pk = palloc(sizeof(int) * nkeys);
			}
			for (k = 0; k < nkeys; k++)
			{
				AttrNumber	attnum = idx->indkey.values[k];
				int			c;

				for (c = 0; c < m->ncolumns; c++)
				{
					if (m->columns[c].attnum != attnum)
						continue;
					if (indexoid == pkoid)
						m->pk[k] = c;
					if (nkeys == 1)
						m->columns[c].unique = true;
				}
			}
		}
		ReleaseSysCache(tup);
	}
	list_free(indexes);
}

/* Build a model from the catalog into the current memory context. */
static QsModel *
ModelBuild(Oid relid)
{
	Relation	rel;
	TupleDesc	desc;
	QsModel    *m;
	int			i;
	int			n = 0;

	/* a regclass argument may carry any OID (regclassin accepts numbers) */
	rel = OidIsValid(relid) ? try_relation_open(relid, AccessShareLock) : NULL;
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid),
				 errhint("Name the model: qs.all('catalog_product').")));
	m = palloc0(sizeof(QsModel));
	m->relid = relid;
	m->relkind = rel->rd_rel->relkind;
	if (m->relkind != RELKIND_RELATION && m->relkind != RELKIND_VIEW &&
		m->relkind != RELKIND_MATVIEW && m->relkind != RELKIND_PARTITIONED_TABLE &&
		m->relkind != RELKIND_FOREIGN_TABLE)
	{
		relation_close(rel, AccessShareLock);
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table or view", get_rel_name(relid)),
				 errhint("A model is a table, view, materialized view or foreign table.")));
	}
	m->relname = pstrdup(RelationGetRelationName(rel));
	m->nspname = get_namespace_name(RelationGetNamespace(rel));
	m->qualname = quote_qualified_identifier(m->nspname, m->relname);
	m->display = DatumGetCString(DirectFunctionCall1(regclassout,
													 ObjectIdGetDatum(relid)));
	desc = RelationGetDescr(rel);
	m->columns = palloc0(sizeof(QsColumn) * Max(desc->natts, 1));
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		QsColumn   *c;
		char		typtype;
		bool		ispreferred;

		if (att->attisdropped)
			continue;
		c = &m->columns[n++];
		c->name = pstrdup(NameStr(att->attname));
		c->attnum = att->attnum;
		c->typid = att->atttypid;
		c->typmod = att->atttypmod;
		c->basetypid = getBaseTypeAndTypmod(att->atttypid, &c->typmod);
		if (c->basetypid != att->atttypid && c->typmod < 0)
			c->typmod = att->atttypmod;
		c->elemtypid = get_element_type(c->basetypid);
		typtype = get_typtype(c->basetypid);
		(void) typtype;
		get_type_category_preferred(c->basetypid, &c->typcategory, &ispreferred);
		c->notnull = att->attnotnull;
		c->generated = att->attgenerated;
		c->identity = att->attidentity;
		c->has_default = att->atthasdef || att->attidentity != '\0';
	}
	m->ncolumns = n;
	if (n == 0)
	{
		relation_close(rel, AccessShareLock);
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" has no columns and cannot be used as a model", m->relname),
				 errhint("Add a primary key column, as every Django model has.")));
	}
	if (m->relkind == RELKIND_RELATION || m->relkind == RELKIND_PARTITIONED_TABLE ||
		m->relkind == RELKIND_MATVIEW)
		ModelLoadKeys(rel, m);
	QsTenantOfRelation(rel, m);
	relation_close(rel, AccessShareLock);
	return m;
}

/*
 * Get the (cached) model of a relation.  The caller must be able to see
 * the relation; privileges on its columns are checked by the executor
 * when the generated SQL runs as the caller.
 */
QsModel *
QsModelGet(Oid relid)
{
	QsModelEntry *e;
	bool		found;
	MemoryContext cxt;
	MemoryContext old;
	QsModel    *m;

	if (ModelCache.hash == NULL)
		QsModelInit();

	/* make sure pending invalidations have been seen */
	AcceptInvalidationMessages();

	e = hash_search(ModelCache.hash, &relid, HASH_FIND, NULL);
	if (e && e->valid)
		return e->model;

	cxt = AllocSetContextCreate(ModelCache.cxt, "pg_queryset model",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		m = ModelBuild(relid);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);

	e = hash_search(ModelCache.hash, &relid, HASH_ENTER, &found);
	if (found && e->cxt)
	{
		old = MemoryContextSwitchTo(ModelCache.cxt);
		ModelCache.dead = lappend(ModelCache.dead, e->cxt);
		MemoryContextSwitchTo(old);
	}
	e->cxt = cxt;
	e->model = m;
	e->valid = true;
	return m;
}

/* Find a column by name; "pk" names the primary key (Django's alias). */
QsColumn *
QsModelColumn(QsModel *model, const char *name)
{
	int			i;

	for (i = 0; i < model->ncolumns; i++)
		if (strcmp(model->columns[i].name, name) == 0)
			return &model->columns[i];
	if (strcmp(name, "pk") == 0 && model->npk == 1)
		return &model->columns[model->pk[0]];
	return NULL;
}

/* The single-column primary key, or NULL. */
QsColumn *
QsModelPkColumn(QsModel *model)
{
	if (model->npk == 1)
		return &model->columns[model->pk[0]];
	return NULL;
}

/* Is columns[i] part of the model's primary key? (only() always keeps it) */
bool
QsModelIsPk(QsModel *model, int i)
{
	int			k;

	for (k = 0; k < model->npk; k++)
		if (model->pk[k] == i)
			return true;
	return false;
}

/*
 * Is a column skewed for an equality with an unknown value?  PostgreSQL
 * estimates "col = $1" in a generic plan at (1 - null fraction) /
 * n_distinct (var_eq_non_const); a column is skewed when its most common
 * value is at least QS_SKEW times as frequent as that, so a generic plan
 * underestimates the rows of its common values.  From pg_statistic
 * (ANALYZE; no statistics: not skewed).  The plan choice rule of
 * plancache.c keeps such statements on custom plans.
 */
#define QS_SKEW 2.0

bool
QsColumnSkewed(Oid relid, AttrNumber attnum)
{
	HeapTuple	tup;
	HeapTuple	reltup;
	Form_pg_statistic st;
	AttStatsSlot sslot;
	double		ndistinct;
	double		generic;
	bool		skewed = false;

	tup = SearchSysCache3(STATRELATTINH, ObjectIdGetDatum(relid), Int16GetDatum(attnum),
						  BoolGetDatum(false));
	if (!HeapTupleIsValid(tup))
		tup = SearchSysCache3(STATRELATTINH, ObjectIdGetDatum(relid), Int16GetDatum(attnum),
							  BoolGetDatum(true));
	if (!HeapTupleIsValid(tup))
		return false;
	st = (Form_pg_statistic) GETSTRUCT(tup);
	ndistinct = st->stadistinct;
	if (ndistinct < 0)
	{
		/* a fraction of the rows: times the relation's row count */
		reltup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
		if (HeapTupleIsValid(reltup))
		{
			ndistinct = -ndistinct * Max(((Form_pg_class) GETSTRUCT(reltup))->reltuples, 0);
			ReleaseSysCache(reltup);
		}
		else
			ndistinct = 0;
	}
	if (ndistinct > 1 &&
		get_attstatsslot(&sslot, tup, STATISTIC_KIND_MCV, InvalidOid, ATTSTATSSLOT_NUMBERS))
	{
		generic = (1.0 - st->stanullfrac) / ndistinct;
		if (sslot.nnumbers > 0 && sslot.numbers[0] >= QS_SKEW * generic)
			skewed = true;
		free_attstatsslot(&sslot);
	}
	ReleaseSysCache(tup);
	return skewed;
}
