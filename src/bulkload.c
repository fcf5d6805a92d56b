/*-------------------------------------------------------------------------
 *
 * bulkload.c
 *		The COPY path of qs.bulk_create: rows of a plain table loaded
 *		through PostgreSQL's own COPY FROM machinery (BeginCopyFrom with
 *		a data-source callback, CopyFrom), which inserts in multi-row
 *		batches as COPY from a client does, instead of row by row as
 *		INSERT ... SELECT does.
 *
 * The path is taken only where its result is indistinguishable from the
 * INSERT path's (write.c falls back otherwise):
 *	- PostgreSQL 14 or later (the CopyFrom API);
 *	- a plain table (not a view, partitioned or foreign table) without
 *	  BEFORE or INSTEAD OF row triggers on INSERT (they could change or
 *	  skip rows, and the returned keys would be wrong) and without
 *	  row-level security in force for the caller (COPY FROM refuses it);
 *	- the caller holds INSERT on the table or on every column given
 *	  (checked here: COPY's own check lives in DoCopy, not used here);
 *	- every column given is a scalar written through its input function
 *	  (no arrays, composites, ranges, json/jsonb);
 *	- what is returned is the single-column primary key, not given by the
 *	  rows, filled by its identity or nextval() default: the values are
 *	  drawn from the sequence here, in input order, written with the rows
 *	  and returned without a RETURNING clause;
 *	- no conflict handling (COPY has no ON CONFLICT).
 *
 * Values are rendered to COPY text from the JSON scalars exactly as the
 * INSERT path renders them for the type's input function (strings as
 * they are, numbers in numeric's output form, booleans as true/false),
 * so both paths accept and refuse the same values; data errors raised
 * while COPY reads a line are re-raised as 22P02 naming the row and field,
 * as the INSERT path reports a value its input function refuses (COPY
 * applies the column's typmod in the same call, so a value too long or
 * too precise is reported that way too, where the INSERT path's cast
 * raises 22001 or 22003).
 *
 *-------------------------------------------------------------------------
 */
#include "pg_queryset.h"

#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/pg_type.h"
#include "commands/copy.h"
#include "commands/sequence.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/primnodes.h"
#include "parser/parse_node.h"
#include "parser/parse_relation.h"
#include "rewrite/rewriteHandler.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/rls.h"

#if PG_VERSION_NUM >= 140000
#include "commands/copyfrom_internal.h"
#endif

#if PG_VERSION_NUM >= 140000

/*
 * The data source of one COPY.  BeginCopyFrom's callback takes no
 * argument, so the state is static; it is set before CopyFrom and cleared
 * after it (also on error).
 */
typedef struct QsCopyFeed
{
	JsonbValue *rows;			/* the rows argument, as a tree */
	List	   *idx;			/* row indexes of this batch, in order */
	List	   *keys;			/* the JSON key of each column */
	List	   *cols;			/* QsColumn * given by the rows */
	int64	   *ids;			/* the primary key of each row of the batch */
	int			next;			/* next row of the batch to render */
	StringInfoData buf;			/* rendered, not yet handed to COPY */
	int			off;			/* handed out of buf so far */
} QsCopyFeed;

static QsCopyFeed *source = NULL;

/* Append a JSON string to a COPY text line, escaping what text format needs. */
static void
AppendEscaped(StringInfo buf, const char *s, int len)
{
	const char *start = s;
	const char *end = s + len;

	for (; s < end; s++)
	{
		char		c = *s;
		const char *esc;

		switch (c)
		{
			case '\\':
				esc = "\\\\";
				break;
			case '\n':
				esc = "\\n";
				break;
			case '\r':
				esc = "\\r";
				break;
			case '\t':
				esc = "\\t";
				break;
			default:
				continue;
		}
		appendBinaryStringInfo(buf, start, s - start);
		appendStringInfoString(buf, esc);
		start = s + 1;
	}
	appendBinaryStringInfo(buf, start, end - start);
}

/* The path of a value, for messages: $[row].key */
static char *
ValuePath(int row, const char *key)
{
	return psprintf("$[%d].%s", row, key);
}

/* Render row number `next` of the batch as one COPY text line. */
static void
RenderRow(QsCopyFeed *src)
{
	int			ri = list_nth_int(src->idx, src->next);
	JsonbValue *row = &src->rows->val.array.elems[ri];
	ListCell   *lc;
	ListCell   *lk;
	char		num[MAXINT8LEN + 1];

	forboth(lc, src->cols, lk, src->keys)
	{
		QsColumn   *col = (QsColumn *) lfirst(lc);
		const char *key = (const char *) lfirst(lk);
		JsonbValue *v = QsTreeGet(row, key);

		if (v == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid row at $[%d]: its keys differ from the rows it was grouped with", ri)));
		switch (v->type)
		{
			case jbvNull:
				appendStringInfoString(&src->buf, "\\N");
				break;
			case jbvString:
				AppendEscaped(&src->buf, v->val.string.val, v->val.string.len);
				break;
			case jbvNumeric:
				appendStringInfoString(&src->buf,
									   DatumGetCString(DirectFunctionCall1(numeric_out,
																		   NumericGetDatum(v->val.numeric))));
				break;
			case jbvBool:
				appendStringInfoString(&src->buf, v->val.boolean ? "true" : "false");
				break;
			default:
				if (v->type == jbvObject && QsIsExprObject(v))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("invalid value for field \"%s\": expressions are not allowed here", col->name),
							 errdetail("At %s.", ValuePath(ri, key)),
							 errhint("create() and bulk_create() take values; use qs.update() for expressions.")));
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("invalid value for field \"%s\": expected a value of type %s, got a JSON %s",
								col->name, format_type_be(col->typid), QsJsonTypeName(v)),
						 errdetail("At %s.", ValuePath(ri, key))));
		}
		appendStringInfoChar(&src->buf, '\t');
	}
	pg_lltoa(src->ids[src->next], num);
	appendStringInfoString(&src->buf, num);
	appendStringInfoChar(&src->buf, '\n');
	src->next++;
}

/* copy_data_source_cb: hand COPY at least minread bytes, unless at the end. */
static int
ReadSource(void *outbuf, int minread, int maxread)
{
	QsCopyFeed *src = source;
	int			given = 0;

	while (given < minread || given == 0)
	{
		int			avail;
		int			n;

		CHECK_FOR_INTERRUPTS();
		if (src->off >= src->buf.len)
		{
			if (src->next >= list_length(src->idx))
				break;
			resetStringInfo(&src->buf);
			src->off = 0;
			/* a few rows at a time: the buffer stays small */
			while (src->buf.len < 65536 && src->next < list_length(src->idx))
				RenderRow(src);
		}
		avail = src->buf.len - src->off;
		n = Min(avail, maxread - given);
		memcpy((char *) outbuf + given, src->buf.data + src->off, n);
		src->off += n;
		given += n;
		if (given >= maxread)
			break;
	}
	return given;
}

/*
 * The sequence filling the column by default: its identity sequence, or
 * the sequence of a nextval('seq') default.  *check: whether drawing from
 * it checks the caller's privileges (nextval() does, identity does not).
 */
static Oid
DefaultSequence(Relation rel, QsColumn *col, bool *check)
{
	Node	   *def;

	if (col->identity != '\0')
	{
		*check = false;
		return getIdentitySequence(RelationGetRelid(rel), col->attnum, false);
	}
	if (!col->has_default)
		return InvalidOid;
	def = build_column_default(rel, col->attnum);
	/* serial columns of int and smallint read nextval() through a cast */
	for (;;)
	{
		if (def != NULL && IsA(def, CoerceToDomain))
			def = (Node *) ((CoerceToDomain *) def)->arg;
		else if (def != NULL && IsA(def, FuncExpr) && ((FuncExpr *) def)->funcformat == COERCE_IMPLICIT_CAST &&
				 list_length(((FuncExpr *) def)->args) == 1)
			def = (Node *) linitial(((FuncExpr *) def)->args);
		else
			break;
	}
	if (def != NULL && IsA(def, FuncExpr) && ((FuncExpr *) def)->funcid == F_NEXTVAL &&
		list_length(((FuncExpr *) def)->args) == 1 && IsA(linitial(((FuncExpr *) def)->args), Const))
	{
		Const	   *c = (Const *) linitial(((FuncExpr *) def)->args);

		if (!c->constisnull && c->consttype == REGCLASSOID)
		{
			*check = true;
			return DatumGetObjectId(c->constvalue);
		}
	}
	return InvalidOid;
}

/* Can a column be written through COPY text and its input function? */
static bool
CopyableColumn(QsColumn *col)
{
	char		tt = get_typtype(col->basetypid);

	return !OidIsValid(col->elemtypid) && tt != TYPTYPE_COMPOSITE && tt != TYPTYPE_RANGE &&
		col->basetypid != JSONOID && col->basetypid != JSONBOID &&
		OidIsValid(get_array_type(col->typid)) && col->identity != ATTRIBUTE_IDENTITY_ALWAYS;
}

/* May the caller insert these columns (table privilege, or each column's)? */
static bool
MayInsert(Oid relid, List *cols)
{
	Oid			user = GetUserId();
	ListCell   *lc;

	if (pg_class_aclcheck(relid, user, ACL_INSERT) == ACLCHECK_OK)
		return true;
	foreach(lc, cols)
		if (pg_attribute_aclcheck(relid, ((QsColumn *) lfirst(lc))->attnum, user, ACL_INSERT) != ACLCHECK_OK)
			return false;
	return true;
}

/* Run one COPY of the batch's rows; data errors name the row and field. */
static void
RunCopy(Relation rel, List *attnames, QsCopyFeed *src)
{
	ParseState *pstate = make_parsestate(NULL);
	List	   *options = list_make1(makeDefElem("encoding",
												 (Node *) makeString(pstrdup(GetDatabaseEncodingName())), -1));
	CopyFromState cstate;
	MemoryContext oldcxt = CurrentMemoryContext;

	addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock, NULL, false, false);
	cstate = BeginCopyFrom(pstate, rel, NULL, NULL, false, ReadSource, attnames, options);
	source = src;
	PG_TRY();
	{
		(void) CopyFrom(cstate);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		uint64		lineno = cstate->cur_lineno;
		const char *attname = cstate->cur_attname;
		int			row = -1;
		const char *key = NULL;
		QsColumn   *col = NULL;
		ListCell   *lc;
		ListCell   *lk;

		source = NULL;
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		if (lineno >= 1 && lineno <= (uint64) list_length(src->idx))
			row = list_nth_int(src->idx, (int) lineno - 1);
		forboth(lc, src->cols, lk, src->keys)
			if (attname != NULL && strcmp(((QsColumn *) lfirst(lc))->name, attname) == 0)
			{
				col = (QsColumn *) lfirst(lc);
				key = (const char *) lfirst(lk);
			}

		/*
		 * A value COPY could not read names the row and field as the INSERT
		 * path does; any other error keeps its message, and its context
		 * names the row instead of COPY's internal line number.
		 */
		if (row >= 0 && col != NULL && ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_DATA_EXCEPTION)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid value for field \"%s\": %s", col->name, edata->message),
					 errdetail("At %s; the value must fit type %s.", ValuePath(row, key),
							   format_type_with_typemod(col->typid, col->typmod))));
		if (row >= 0)
			edata->context = psprintf("qs.bulk_create into %s, row $[%d]", RelationGetRelationName(rel), row);
		ReThrowError(edata);
	}
	PG_END_TRY();
	source = NULL;
	EndCopyFrom(cstate);
	free_parsestate(pstate);
}

#endif							/* PG_VERSION_NUM >= 140000 */

/*
 * Insert one group of rows (same columns) through COPY when the path
 * applies: fills result[row] with {"<pk>": value} and returns true;
 * returns false, having done nothing, when the INSERT path must be used.
 */
bool
QsBulkCopy(QsModel *m, List *cols, List *keys, JsonbValue *rows, List *idx, int batch,
		   List *ret_cols, JsonbValue **result)
{
#if PG_VERSION_NUM >= 140000
	QsColumn   *pk;
	Relation	rel;
	Oid			seq;
	bool		check = false;
	bool		ok;
	ListCell   *lc;
	List	   *attnames = NIL;
	int			total = list_length(idx);
	int			start;

	if (!qs_bulk_copy || m->relkind != RELKIND_RELATION || m->npk != 1 || list_length(ret_cols) != 1 ||
		total == 0 || cols == NIL)
		return false;
	pk = &m->columns[m->pk[0]];
	if (linitial(ret_cols) != pk || list_member_ptr(cols, pk) ||
		(pk->basetypid != INT2OID && pk->basetypid != INT4OID && pk->basetypid != INT8OID))
		return false;
	foreach(lc, cols)
		if (!CopyableColumn((QsColumn *) lfirst(lc)))
			return false;

	rel = table_open(m->relid, RowExclusiveLock);
	ok = (rel->trigdesc == NULL ||
		  (!rel->trigdesc->trig_insert_before_row && !rel->trigdesc->trig_insert_instead_row)) &&
		check_enable_rls(m->relid, InvalidOid, true) != RLS_ENABLED &&
		MayInsert(m->relid, cols);
	seq = ok ? DefaultSequence(rel, pk, &check) : InvalidOid;
	if (!OidIsValid(seq))
	{
		table_close(rel, NoLock);
		return false;
	}

	foreach(lc, cols)
		attnames = lappend(attnames, makeString(((QsColumn *) lfirst(lc))->name));
	attnames = lappend(attnames, makeString(pk->name));

	if (batch <= 0)
		batch = total;
	for (start = 0; start < total; start += batch)
	{
		QsCopyFeed	src;
		int			nb = Min(batch, total - start);
		int			j;

		memset(&src, 0, sizeof(src));
		src.rows = rows;
		src.idx = list_copy_tail(idx, start);
		if (list_length(src.idx) > nb)
			src.idx = list_truncate(src.idx, nb);
		src.cols = cols;
		src.keys = keys;
		src.ids = palloc(sizeof(int64) * nb);
		initStringInfo(&src.buf);
		/* the keys, drawn in input order as INSERT's defaults would be */
		for (j = 0; j < nb; j++)
		{
			CHECK_FOR_INTERRUPTS();
			src.ids[j] = nextval_internal(seq, check);
		}
		RunCopy(rel, attnames, &src);
		for (j = 0; j < nb; j++)
		{
			JsonbValue *obj = QsTreeObject();

			QsTreeSet(obj, pk->name, QsTreeNumeric(src.ids[j]));
			result[list_nth_int(src.idx, j)] = obj;
		}
		pfree(src.buf.data);
	}
	CommandCounterIncrement();
	table_close(rel, NoLock);
	return true;
#else
	return false;
#endif
}
