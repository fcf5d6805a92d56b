/*
 * relation.c
 *	  Relations between models, derived from foreign keys in the catalog.
 *
 * Owns: finding a model's forward (many-to-one, one-to-one), reverse
 * (one-to-many) and many-to-many relations from pg_constraint, their
 * default names (DESIGN.md §2), the DBA's renames kept in the extension's
 * config table qs.relation_name, ambiguity, and qs.relations().  Names
 * are never guessed from column names alone: every relation is a foreign
 * key constraint.  The list is cached with the model (model.c) and
 * rebuilt when the model's relcache entry is invalidated (any FK added
 * or dropped on either side sends one; qs.name_relation sends one).
 * It must not build SQL for querysets.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

#include "model.h"
#include "relation.h"

/* one foreign key constraint, as read from pg_constraint */
typedef struct FkInfo
{
	Oid			oid;
	char	   *conname;
	Oid			conrelid;		/* referencing table */
	Oid			confrelid;		/* referenced table */
	int			nkeys;
	AttrNumber	conkey[INDEX_MAX_KEYS];
	AttrNumber	confkey[INDEX_MAX_KEYS];
} FkInfo;

/* Read the int2[] column of a pg_constraint tuple. */
static int
ConstraintKeys(HeapTuple tup, TupleDesc desc, int attno, AttrNumber *out)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, attno, desc, &isnull);
	ArrayType  *arr;
	int16	   *vals;
	int			n;
	int			i;

	if (isnull)
		return 0;
	arr = DatumGetArrayTypeP(d);
	n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	if (n > INDEX_MAX_KEYS)
		n = INDEX_MAX_KEYS;
	vals = (int16 *) ARR_DATA_PTR(arr);
	for (i = 0; i < n; i++)
		out[i] = vals[i];
	return n;
}

/* Every foreign key that touches relid, or that leaves a table referencing relid. */
static List *
LoadForeignKeys(Oid relid)
{
	Relation	rel = table_open(ConstraintRelationId, AccessShareLock);
	SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	HeapTuple	tup;
	List	   *all = NIL;
	List	   *res = NIL;
	List	   *neighbours = NIL;
	ListCell   *lc;

	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);
		FkInfo	   *fk;

		CHECK_FOR_INTERRUPTS();
		if (con->contype != CONSTRAINT_FOREIGN)
			continue;
		fk = palloc0(sizeof(FkInfo));
		fk->oid = con->oid;
		fk->conname = pstrdup(NameStr(con->conname));
		fk->conrelid = con->conrelid;
		fk->confrelid = con->confrelid;
		fk->nkeys = ConstraintKeys(tup, RelationGetDescr(rel), Anum_pg_constraint_conkey, fk->conkey);
		(void) ConstraintKeys(tup, RelationGetDescr(rel), Anum_pg_constraint_confkey, fk->confkey);
		all = lappend(all, fk);
		if (fk->confrelid == relid && fk->conrelid != relid)
			neighbours = list_append_unique_oid(neighbours, fk->conrelid);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	/* keep ours, and every FK of a table that references us (m2m junctions) */
	foreach(lc, all)
	{
		FkInfo	   *fk = (FkInfo *) lfirst(lc);

		if (fk->conrelid == relid || fk->confrelid == relid ||
			list_member_oid(neighbours, fk->conrelid))
			res = lappend(res, fk);
	}
	return res;
}

/* The column of a model with this attnum. */
static QsColumn *
ColumnByAttnum(QsModel *m, AttrNumber attnum)
{
	int			i;

	for (i = 0; i < m->ncolumns; i++)
		if (m->columns[i].attnum == attnum)
			return &m->columns[i];
	return NULL;
}

/* Are these columns unique together (a PK or unique index on exactly them)? */
static bool
KeysUnique(Oid relid, int nkeys, AttrNumber *keys)
{
	Relation	rel;
	List	   *indexes;
	ListCell   *lc;
	bool		unique = false;

	rel = relation_open(relid, AccessShareLock);
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	idx = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index f = idx->rd_index;

		if (f->indisunique && f->indnkeyatts == nkeys &&
			heap_attisnull(idx->rd_indextuple, Anum_pg_index_indpred, NULL))
		{
			int			i;
			int			j;
			int			found = 0;

			for (i = 0; i < nkeys; i++)
				for (j = 0; j < nkeys; j++)
					if (f->indkey.values[j] == keys[i])
						found++;
			if (found == nkeys)
				unique = true;
		}
		index_close(idx, AccessShareLock);
	}
	list_free(indexes);
	relation_close(rel, AccessShareLock);
	return unique;
}

/*
 * Is table j a many-to-many junction: exactly two foreign keys, and no
 * columns but theirs besides its primary key?  Returns the two FKs.
 */
static bool
IsJunction(Oid j, List *fks, FkInfo **a, FkInfo **b)
{
	QsModel    *jm;
	List	   *mine = NIL;
	ListCell   *lc;
	int			i;

	foreach(lc, fks)
		if (((FkInfo *) lfirst(lc))->conrelid == j)
			mine = lappend(mine, lfirst(lc));
	if (list_length(mine) != 2)
		return false;
	*a = (FkInfo *) linitial(mine);
	*b = (FkInfo *) lsecond(mine);
	jm = QsModelGet(j);
	for (i = 0; i < jm->ncolumns; i++)
	{
		AttrNumber	att = jm->columns[i].attnum;
		bool		is_pk = false;
		bool		in_fk = false;
		int			k;

		for (k = 0; k < jm->npk; k++)
			if (jm->columns[jm->pk[k]].attnum == att)
				is_pk = true;
		for (k = 0; k < (*a)->nkeys; k++)
			if ((*a)->conkey[k] == att)
				in_fk = true;
		for (k = 0; k < (*b)->nkeys; k++)
			if ((*b)->conkey[k] == att)
				in_fk = true;
		if (!is_pk && !in_fk)
			return false;
	}
	return true;
}

/* A new relation with keys copied. */
static QsRelation *
NewRelation(QsRelKind kind, const char *name, Oid target, FkInfo *via)
{
	QsRelation *r = palloc0(sizeof(QsRelation));

	r->kind = kind;
	r->default_name = pstrdup(name);
	r->name = r->default_name;
	r->target = target;
	r->via_rel = via->conrelid;
	r->via_constraint = pstrdup(via->conname);
	return r;
}

/* Apply the DBA's renames from qs.relation_name. */
static void
ApplyRenames(QsModel *m, List *rels)
{
	int			rc;
	uint64		i;
	Oid			argtypes[2] = {NAMEOID, NAMEOID};
	Datum		args[2];
	MemoryContext outer = CurrentMemoryContext;

	if (rels == NIL)
		return;
	args[0] = DirectFunctionCall1(namein, CStringGetDatum(m->nspname));
	args[1] = DirectFunctionCall1(namein, CStringGetDatum(m->relname));
	SPI_connect();
	rc = SPI_execute_with_args("SELECT via_schema, via_table, via_constraint, name, kind "
							   "FROM qs.relation_name "
							   "WHERE model_schema = $1 AND model_table = $2",
							   2, argtypes, args, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "pg_queryset: could not read qs.relation_name: %s",
			 SPI_result_code_string(rc));
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *vs = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char	   *vt = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		char	   *vc = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);
		char	   *nm = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 4);
		char	   *kd = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 5);
		QsRelKind	kind = strcmp(kd, "forward") == 0 ? QS_REL_FORWARD :
			strcmp(kd, "reverse") == 0 ? QS_REL_REVERSE : QS_REL_M2M;
		ListCell   *lc;

		foreach(lc, rels)
		{
			QsRelation *r = (QsRelation *) lfirst(lc);

			if (r->kind == kind && strcmp(r->via_constraint, vc) == 0 &&
				strcmp(get_rel_name(r->via_rel), vt) == 0 &&
				strcmp(get_namespace_name(get_rel_namespace(r->via_rel)), vs) == 0)
				r->name = MemoryContextStrdup(outer, nm);
		}
	}
	SPI_finish();
}

/* Build the relation list of a model (in the current memory context). */
static List *
BuildRelations(QsModel *m)
{
	List	   *fks = LoadForeignKeys(m->relid);
	List	   *rels = NIL;
	ListCell   *lc;
	ListCell   *lc2;

	foreach(lc, fks)
	{
		FkInfo	   *fk = (FkInfo *) lfirst(lc);
		QsRelation *r;
		int			i;

		/* forward: this model holds the FK */
		if (fk->conrelid == m->relid)
		{
			QsColumn   *c = ColumnByAttnum(m, fk->conkey[0]);
			const char *name = get_rel_name(fk->confrelid);
			size_t		len;

			if (fk->nkeys == 1 && c && (len = strlen(c->name)) > 3 &&
				strcmp(c->name + len - 3, "_id") == 0)
				name = pnstrdup(c->name, len - 3);
			r = NewRelation(QS_REL_FORWARD, name, fk->confrelid, fk);
			r->nkeys = fk->nkeys;
			r->keys = palloc(sizeof(AttrNumber) * fk->nkeys);
			r->tkeys = palloc(sizeof(AttrNumber) * fk->nkeys);
			for (i = 0; i < fk->nkeys; i++)
			{
				QsColumn   *k = ColumnByAttnum(m, fk->conkey[i]);

				r->keys[i] = fk->conkey[i];
				r->tkeys[i] = fk->confkey[i];
				if (k && !k->notnull)
					r->nullable = true;
			}
			r->unique = KeysUnique(m->relid, fk->nkeys, fk->conkey);
			rels = lappend(rels, r);
		}
		/* reverse: another table (or this one) references this model */
		if (fk->confrelid == m->relid)
		{
			FkInfo	   *a;
			FkInfo	   *b;

			r = NewRelation(QS_REL_REVERSE, get_rel_name(fk->conrelid), fk->conrelid, fk);
			r->nkeys = fk->nkeys;
			r->keys = palloc(sizeof(AttrNumber) * fk->nkeys);
			r->tkeys = palloc(sizeof(AttrNumber) * fk->nkeys);
			for (i = 0; i < fk->nkeys; i++)
			{
				r->keys[i] = fk->confkey[i];
				r->tkeys[i] = fk->conkey[i];
			}
			r->unique = KeysUnique(fk->conrelid, fk->nkeys, fk->conkey);
			rels = lappend(rels, r);

			/* many-to-many through a junction table */
			if (fk->conrelid != m->relid && IsJunction(fk->conrelid, fks, &a, &b))
			{
				FkInfo	   *other = (a == fk) ? b : a;

				r = NewRelation(QS_REL_M2M, get_rel_name(other->confrelid),
								other->confrelid, other);
				r->junction = fk->conrelid;
				r->nkeys = fk->nkeys;
				r->keys = palloc(sizeof(AttrNumber) * fk->nkeys);
				r->tkeys = palloc(sizeof(AttrNumber) * fk->nkeys);
				for (i = 0; i < fk->nkeys; i++)
				{
					r->keys[i] = fk->confkey[i];
					r->tkeys[i] = fk->conkey[i];
				}
				r->nkeys2 = other->nkeys;
				r->jkeys2 = palloc(sizeof(AttrNumber) * other->nkeys);
				r->tkeys2 = palloc(sizeof(AttrNumber) * other->nkeys);
				for (i = 0; i < other->nkeys; i++)
				{
					r->jkeys2[i] = other->conkey[i];
					r->tkeys2[i] = other->confkey[i];
				}
				rels = lappend(rels, r);
			}
		}
	}

	ApplyRenames(m, rels);

	/* two relations with one name, or a relation named like a column */
	foreach(lc, rels)
	{
		QsRelation *r = (QsRelation *) lfirst(lc);

		if (QsModelColumn(m, r->name) != NULL)
			r->ambiguous = true;
		foreach(lc2, rels)
			if (lfirst(lc2) != (void *) r &&
				strcmp(((QsRelation *) lfirst(lc2))->name, r->name) == 0)
				r->ambiguous = true;
	}
	return rels;
}

/* The relations of a model, cached with it. */
List *
QsModelRelations(QsModel *m)
{
	MemoryContext old;

	if (m->relations_loaded)
		return m->relations;
	old = MemoryContextSwitchTo(GetMemoryChunkContext(m));
	m->relations = BuildRelations(m);
	m->relations_loaded = true;
	MemoryContextSwitchTo(old);
	return m->relations;
}

/* "col, col" of a relation's columns on one table. */
static char *
KeyNames(Oid relid, int n, AttrNumber *keys)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < n; i++)
	{
		char	   *att = get_attname(relid, keys[i], true);

		appendStringInfo(&buf, "%s%s.%s", i > 0 ? ", " : "", get_rel_name(relid),
						 att ? att : "?");
	}
	return buf.data;
}

/* The name of a relation kind, as qs.relations() shows it. */
static const char *
KindName(QsRelation *r)
{
	switch (r->kind)
	{
		case QS_REL_FORWARD:
			return r->unique ? "one_to_one" : "forward";
		case QS_REL_REVERSE:
			return r->unique ? "reverse_one_to_one" : "reverse";
		case QS_REL_M2M:
			return "m2m";
	}
	return "?";
}

PG_FUNCTION_INFO_V1(qs_relations);

/*
 * qs.relations(model) -> (name, kind, target, columns, via, via_constraint,
 * default_name, ambiguous): every relation a model can traverse.
 */
Datum
qs_relations(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	desc;
	Tuplestorestate *ts;
	MemoryContext old;
	QsModel    *m = QsModelGet(PG_GETARG_OID(0));
	ListCell   *lc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	ts = tuplestore_begin_heap(false, false, work_mem);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = ts;
	rsinfo->setDesc = CreateTupleDescCopy(desc);
	MemoryContextSwitchTo(old);

	foreach(lc, QsModelRelations(m))
	{
		QsRelation *r = (QsRelation *) lfirst(lc);
		Datum		values[8];
		bool		nulls[8] = {0};
		char	   *cols;

		if (r->kind == QS_REL_FORWARD)
			cols = psprintf("%s -> %s", KeyNames(m->relid, r->nkeys, r->keys),
							KeyNames(r->target, r->nkeys, r->tkeys));
		else if (r->kind == QS_REL_REVERSE)
			cols = psprintf("%s <- %s", KeyNames(m->relid, r->nkeys, r->keys),
							KeyNames(r->target, r->nkeys, r->tkeys));
		else
			cols = psprintf("%s <- %s, %s -> %s", KeyNames(m->relid, r->nkeys, r->keys),
							KeyNames(r->junction, r->nkeys, r->tkeys),
							KeyNames(r->junction, r->nkeys2, r->jkeys2),
							KeyNames(r->target, r->nkeys2, r->tkeys2));
		values[0] = CStringGetTextDatum(r->name);
		values[1] = CStringGetTextDatum(KindName(r));
		values[2] = ObjectIdGetDatum(r->target);
		values[3] = CStringGetTextDatum(cols);
		values[4] = ObjectIdGetDatum(r->via_rel);
		values[5] = DirectFunctionCall1(namein, CStringGetDatum(r->via_constraint));
		values[6] = CStringGetTextDatum(r->default_name);
		values[7] = BoolGetDatum(r->ambiguous);
		tuplestore_putvalues(ts, desc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(qs_invalidate_model);

/* qs._invalidate_model(model): make every backend rebuild its relations. */
Datum
qs_invalidate_model(PG_FUNCTION_ARGS)
{
	CacheInvalidateRelcacheByRelid(PG_GETARG_OID(0));
	PG_RETURN_VOID();
}

/* list_sort comparator for C strings. */
static int
cmp_cstring(const ListCell *a, const ListCell *b)
{
	return strcmp((const char *) lfirst(a), (const char *) lfirst(b));
}

/* "a, b, c": the field names a path may start with, sorted (Django's list). */
char *
QsModelChoices(QsModel *model)
{
	List	   *names = NIL;
	ListCell   *lc;
	StringInfoData buf;
	int			i;

	for (i = 0; i < model->ncolumns; i++)
		names = lappend(names, model->columns[i].name);
	if (model->npk >= 1)
		names = lappend(names, "pk");
	foreach(lc, QsModelRelations(model))
	{
		QsRelation *r = (QsRelation *) lfirst(lc);

		if (!r->ambiguous)
			names = list_append_unique_ptr(names, r->name);
	}
	list_sort(names, cmp_cstring);
	initStringInfo(&buf);
	foreach(lc, names)
	{
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, (char *) lfirst(lc));
	}
	return buf.data;
}
