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

#include "postgres.h"

#include "miscadmin.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/pg_type.h"
#include "commands/copy.h"
#include "commands/sequence.h"
#include "mb/pg_wchar.h"
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

#include "commands/copyfrom_internal.h"

#include "bulkload.h"
#include "bulktext.h"
#include "citus.h"
#include "model.h"
#include "pg_queryset.h"
#include "spec.h"
#include "state.h"
#include "writecol.h"

/*
 * The data source of one COPY.  BeginCopyFrom's callback takes no
 * argument, so the feed of the COPY running now is reached through a
 * static pointer.  COPY can run user code while it reads (a column
 * default, a trigger, a check constraint's function), and that code may
 * call qs.bulk_create again: each RunCopy saves the pointer it found,
 * points it at its own feed (which lives on its own stack frame) and
 * puts the saved one back when its CopyFrom returns or fails, so the
 * pointer always names the innermost COPY and the outer one finds its
 * own feed again (sql/reentrancy.sql).
 */
typedef struct QsCopyFeed
{
	JsonbContainer *root;		/* the rows argument (jsonb) */
	const QsTextGroup *text;	/* or the group's rows rendered (text) */
	int			first;			/* the batch's first row in the group */
	int			nrows;
	int		   *idx;			/* row indexes of this batch, in order */
	int			n;				/* rows in the batch */
	int			npairs;			/* keys of each row (the group's) */
	List	   *keys;			/* the JSON key of each column */
	List	   *cols;			/* QsColumn * given by the rows */
	QsCompileState  *ctx;			/* for the errors of values COPY text cannot carry */
	const int64 *ids;			/* the primary key of each row, by row index */
	bool		with_keys;		/* write ids as the last column */
	bool		rendering;		/* inside RenderRow: its errors name their row */
	int			next;			/* next row of the batch to render */
	StringInfoData buf;			/* rendered, not yet handed to COPY */
	int			off;			/* handed out of buf so far */
} QsCopyFeed;

static QsCopyFeed *source = NULL;

/* The path of a value, for messages: $[row].key */
static char *
ValuePath(int row, const char *key)
{
	return psprintf("$[%d].%s", row, key);
}

/*
 * Child `index` of a jsonb container as a JsonbValue pointing into it (no
 * copy): PostgreSQL's own layout (utils/jsonb.h), read as jsonb_util.c's
 * fillJsonbValue reads it.  nchildren: array elements, or 2 x pairs.
 */
static void
ChildValue(JsonbContainer *c, int index, int nchildren, JsonbValue *v)
{
	JEntry		e = c->children[index];
	char	   *base = (char *) &c->children[nchildren];
	uint32		off = getJsonbOffset(c, index);
	uint32		len = getJsonbLength(c, index);

	if (JBE_ISNULL(e))
		v->type = jbvNull;
	else if (JBE_ISSTRING(e))
	{
		v->type = jbvString;
		v->val.string.val = base + off;
		v->val.string.len = len;
	}
	else if (JBE_ISNUMERIC(e))
	{
		v->type = jbvNumeric;
		v->val.numeric = (Numeric) (base + INTALIGN(off));
	}
	else if (JBE_ISBOOL_TRUE(e) || JBE_ISBOOL_FALSE(e))
	{
		v->type = jbvBool;
		v->val.boolean = JBE_ISBOOL_TRUE(e);
	}
	else
	{
		v->type = jbvBinary;
		v->val.binary.data = (JsonbContainer *) (base + INTALIGN(off));
		v->val.binary.len = len - (INTALIGN(off) - off);
	}
}

/* Row i of the rows array: its object container, or NULL if not an object. */
static JsonbContainer *
RowObject(JsonbContainer *root, int nrows, int i)
{
	JsonbValue	v;

	ChildValue(root, i, nrows, &v);
	if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
		return NULL;
	return v.val.binary.data;
}

/* Do two objects have the same keys (kept sorted by jsonb)? */
static bool
SameKeys(JsonbContainer *a, JsonbContainer *b)
{
	int			n = JsonContainerSize(a);
	int			k;

	if (JsonContainerSize(b) != (uint32) n)
		return false;
	for (k = 0; k < n; k++)
	{
		JsonbValue	ka;
		JsonbValue	kb;

		ChildValue(a, k, 2 * n, &ka);
		ChildValue(b, k, 2 * n, &kb);
		if (ka.val.string.len != kb.val.string.len ||
			memcmp(ka.val.string.val, kb.val.string.val, ka.val.string.len) != 0)
			return false;
	}
	return true;
}

/*
 * A value that is not a scalar: raise the error the statement path raises
 * for it, by handing it to the statement path's coercion.
 */
static void
BadValue(QsCopyFeed *src, QsColumn *col, JsonbValue *v, int row, const char *key)
{
	bool		isnull;

	resetStringInfo(&src->ctx->path);
	appendStringInfo(&src->ctx->path, "$[%d].%s", row, key);
	(void) QsColumnDatum(src->ctx, col, QsJsonbToTree(JsonbValueToJsonb(v)), &isnull);
	elog(ERROR, "a value COPY text cannot carry was accepted");
}

/* Render row number `next` of the batch as one COPY text line. */
static void
RenderRow(QsCopyFeed *src)
{
	int			ri = src->idx[src->next];
	JsonbContainer *row;
	ListCell   *lc;
	ListCell   *lk;
	int			k = 0;
	char		num[MAXINT8LEN + 1];

	if (src->text != NULL)
	{
		/* rendered by bulktext.c already: the line, then its key */
		int			gi = src->first + src->next;

		appendBinaryStringInfo(&src->buf, src->text->text.data + src->text->off[gi],
							   src->text->off[gi + 1] - src->text->off[gi]);
		if (src->with_keys)
		{
			pg_lltoa(src->ids[ri], num);
			appendStringInfoChar(&src->buf, '\t');
			appendStringInfoString(&src->buf, num);
		}
		appendStringInfoChar(&src->buf, '\n');
		src->next++;
		return;
	}
	row = RowObject(src->root, src->nrows, ri);
	forboth(lc, src->cols, lk, src->keys)
	{
		JsonbValue	v;

		/* the group's rows have the same sorted keys: value k is child npairs + k */
		ChildValue(row, src->npairs + k, 2 * src->npairs, &v);
		k++;
		switch (v.type)
		{
			case jbvNull:
				appendStringInfoString(&src->buf, "\\N");
				break;
			case jbvString:
				QsCopyAppendEscaped(&src->buf, v.val.string.val, v.val.string.len);
				break;
			case jbvNumeric:
				appendStringInfoString(&src->buf,
									   DatumGetCString(DirectFunctionCall1(numeric_out,
																		   NumericGetDatum(v.val.numeric))));
				break;
			case jbvBool:
				appendStringInfoString(&src->buf, v.val.boolean ? "true" : "false");
				break;
			default:
				BadValue(src, (QsColumn *) lfirst(lc), &v, ri, (const char *) lfirst(lk));
		}
		appendStringInfoChar(&src->buf, '\t');
	}
	if (src->with_keys)
	{
		pg_lltoa(src->ids[ri], num);
		appendStringInfoString(&src->buf, num);
	}
	else
		src->buf.len--;			/* no key column: drop the last tab */
	appendStringInfoChar(&src->buf, '\n');
	src->next++;
}

/* copy_data_source_cb: hand COPY at least minread bytes, unless at the end. */
static int
ReadSource(void *outbuf, int minread, int maxread)
{
	QsCopyFeed *src = source;
	int			given = 0;

	if (src == NULL)
		elog(ERROR, "qs.bulk_create: COPY asked for data with no feed active");

	while (given < minread || given == 0)
	{
		int			avail;
		int			n;

		CHECK_FOR_INTERRUPTS();
		if (src->off >= src->buf.len)
		{
			if (src->next >= src->n)
				break;
			resetStringInfo(&src->buf);
			src->off = 0;
			/* a few rows at a time: the buffer stays small */
			src->rendering = true;
			while (src->buf.len < 65536 && src->next < src->n)
				RenderRow(src);
			src->rendering = false;
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
		return QsIdentitySequence(rel, col->attnum);
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
static uint64
RunCopy(Relation rel, List *attnames, QsCopyFeed *src)
{
	ParseState *pstate = make_parsestate(NULL);
	List	   *options = list_make1(makeDefElem("encoding",
												 (Node *) makeString(pstrdup(GetDatabaseEncodingName())), -1));
	CopyFromState cstate;
	MemoryContext oldcxt = CurrentMemoryContext;
	QsCopyFeed *outer = source;	/* an enclosing COPY's feed, if any */
	uint64		processed = 0;

	addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock, NULL, false, false);
	cstate = BeginCopyFrom(pstate, rel, NULL, NULL, false, ReadSource, attnames, options);
	source = src;
	PG_TRY();
	{
		processed = CopyFrom(cstate);
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

		source = outer;
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		/* our own error while rendering: it names its row already */
		if (src->rendering)
		{
			edata->context = NULL;
			ReThrowError(edata);
		}
		if (lineno >= 1 && lineno <= (uint64) src->n)
			row = src->idx[lineno - 1];
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
	source = outer;
	EndCopyFrom(cstate);
	free_parsestate(pstate);
	return processed;
}

/*
 * Close element i of a jsonb array being written into buf (it began at
 * start): its JEntry of type kind at entries + i, an offset every
 * JB_OFFSET_STRIDE elements and a length otherwise, as convertJsonbArray
 * writes them; *total is the elements' running size.
 */
static void
ArrayEntry(StringInfo buf, int entries, int i, int start, uint32 kind, uint32 *total)
{
	JEntry		meta;

	*total += buf->len - start;
	if (*total > JENTRY_OFFLENMASK)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("total size of jsonb array elements exceeds the maximum of %d bytes",
						JENTRY_OFFLENMASK)));
	if (i % JB_OFFSET_STRIDE == 0)
		meta = kind | JENTRY_HAS_OFF | *total;
	else
		meta = kind | (uint32) (buf->len - start);
	memcpy(buf->data + entries + i * sizeof(JEntry), &meta, sizeof(JEntry));
}

/*
 * The result [{"<pk>": id}, ...] written straight in jsonb's binary
 * layout (utils/jsonb.h, as convertJsonbArray/convertJsonbObject write
 * it): an array of one-pair objects whose value is a numeric.  Building
 * the same through a JsonbValue tree costs as much as the COPY itself at
 * 100,000 rows.
 */
static Jsonb *
KeysResult(const char *key, const int64 *ids, int n)
{
	StringInfoData buf;
	int			keylen = strlen(key);
	uint32		header = JB_FARRAY | (uint32) n;
	int			entries;		/* offset of the array's JEntries */
	uint32		total = 0;
	int			i;

	if (keylen > JENTRY_OFFLENMASK)
		elog(ERROR, "key name too long");
	initStringInfo(&buf);
	appendStringInfoSpaces(&buf, VARHDRSZ);
	appendBinaryStringInfo(&buf, (char *) &header, sizeof(uint32));
	entries = buf.len;
	appendStringInfoSpaces(&buf, sizeof(JEntry) * n);
	for (i = 0; i < n; i++)
	{
		int			start = buf.len;
		uint32		oheader = JB_FOBJECT | 1;
		JEntry		kentry;
		JEntry		ventry;
		int			entry_at;
		Numeric		num = int64_to_numeric(ids[i]);
		int			numlen = VARSIZE_ANY(num);
		int			pad;

		CHECK_FOR_INTERRUPTS();
		/* the object starts 4-byte aligned; padding counts as its data */
		while (buf.len % 4 != 0)
			appendStringInfoChar(&buf, '\0');
		appendBinaryStringInfo(&buf, (char *) &oheader, sizeof(uint32));
		entry_at = buf.len;
		appendStringInfoSpaces(&buf, 2 * sizeof(JEntry));
		appendBinaryStringInfo(&buf, key, keylen);
		pad = 0;
		while ((buf.len + pad) % 4 != 0)
			pad++;
		appendStringInfoSpaces(&buf, pad);
		memset(buf.data + buf.len - pad, 0, pad);
		appendBinaryStringInfo(&buf, (char *) num, numlen);
		/* child 0 (the key) stores its end offset, child 1 its length */
		kentry = JENTRY_ISSTRING | JENTRY_HAS_OFF | (uint32) keylen;
		ventry = JENTRY_ISNUMERIC | (uint32) (pad + numlen);
		memcpy(buf.data + entry_at, &kentry, sizeof(JEntry));
		memcpy(buf.data + entry_at + sizeof(JEntry), &ventry, sizeof(JEntry));
		ArrayEntry(&buf, entries, i, start, JENTRY_ISCONTAINER, &total);
		pfree(num);
	}
	/* appendStringInfoSpaces leaves spaces: the padding bytes are zeroed above */
	SET_VARSIZE(buf.data, buf.len);
	return (Jsonb *) buf.data;
}

/*
 * The result [id, ...] ("flat": true) written straight in jsonb's binary
 * layout, as KeysResult writes its objects: an array of numerics, each
 * 4-byte aligned with its padding counted in its length.
 */
static Jsonb *
FlatKeysResult(const int64 *ids, int n)
{
	StringInfoData buf;
	uint32		header = JB_FARRAY | (uint32) n;
	int			entries;
	uint32		total = 0;
	int			i;

	initStringInfo(&buf);
	appendStringInfoSpaces(&buf, VARHDRSZ);
	appendBinaryStringInfo(&buf, (char *) &header, sizeof(uint32));
	entries = buf.len;
	appendStringInfoSpaces(&buf, sizeof(JEntry) * n);
	for (i = 0; i < n; i++)
	{
		int			start = buf.len;
		Numeric		num = int64_to_numeric(ids[i]);

		CHECK_FOR_INTERRUPTS();
		while (buf.len % 4 != 0)
			appendStringInfoChar(&buf, '\0');
		appendBinaryStringInfo(&buf, (char *) num, VARSIZE_ANY(num));
		ArrayEntry(&buf, entries, i, start, JENTRY_ISNUMERIC, &total);
		pfree(num);
	}
	SET_VARSIZE(buf.data, buf.len);
	return (Jsonb *) buf.data;
}

/* One group of rows with the same keys. */
typedef struct CopyGroup
{
	int		   *idx;			/* its rows, in input order */
	int			n;
	int			npairs;
	List	   *cols;			/* QsColumn * by key */
	List	   *keys;			/* char * */
	const QsTextGroup *text;	/* text rows: rendered already (bulktext.c) */
} CopyGroup;

/*
 * The key column COPY returns (NULL: "returning": [], nothing back), or
 * false when the call returns something else than a single integer key.
 */
static bool
CopyKeyColumn(QsModel *m, List *ret_cols, QsColumn **pk)
{
	*pk = NULL;
	if (ret_cols == NIL)
		return true;			/* "returning": []: COPY fills every default */
	if (m->npk != 1 || list_length(ret_cols) != 1)
		return false;
	*pk = &m->columns[m->pk[0]];
	return linitial(ret_cols) == *pk &&
		((*pk)->basetypid == INT2OID || (*pk)->basetypid == INT4OID || (*pk)->basetypid == INT8OID);
}

/* The rows grouped by their keys (CopyGroup *), or NIL for anything odd (the statement way). */
static List *
CopyGroups(JsonbContainer *root, int nrows)
{
	List	   *groups = NIL;
	ListCell   *lg;
	int			i;

	for (i = 0; i < nrows; i++)
	{
		JsonbContainer *r = RowObject(root, nrows, i);
		CopyGroup  *g = NULL;

		CHECK_FOR_INTERRUPTS();
		if (r == NULL || JsonContainerSize(r) == 0)
			return NIL;
		foreach(lg, groups)
		{
			CopyGroup  *c = (CopyGroup *) lfirst(lg);

			if (SameKeys(RowObject(root, nrows, c->idx[0]), r))
			{
				g = c;
				break;
			}
		}
		if (g == NULL)
		{
			g = palloc0(sizeof(CopyGroup));
			g->idx = palloc(sizeof(int) * (nrows - i));
			g->npairs = JsonContainerSize(r);
			groups = lappend(groups, g);
		}
		g->idx[g->n++] = i;
	}
	return groups;
}

/* Does every group's column suit COPY (named, copyable, insertable)?  Fills g->cols and g->keys. */
static bool
CopyColumnsFit(QsCompileState *ctx, QsModel *m, List *groups, JsonbContainer *root, int nrows,
			   QsColumn *pk, List *allowed, bool has_allowed)
{
	ListCell   *lg;

	foreach(lg, groups)
	{
		CopyGroup  *g = (CopyGroup *) lfirst(lg);
		JsonbContainer *first = g->text ? NULL : RowObject(root, nrows, g->idx[0]);
		int			k;

		for (k = 0; k < g->npairs; k++)
		{
			JsonbValue	kv;
			char	   *key;
			QsColumn   *col;

			if (g->text != NULL)
				key = g->text->keys[k];
			else
			{
				ChildValue(first, k, 2 * g->npairs, &kv);
				key = pnstrdup(kv.val.string.val, kv.val.string.len);
			}
			resetStringInfo(&ctx->path);
			appendStringInfo(&ctx->path, "$[%d].%s", g->idx[0], key);
			col = QsWriteColumn(ctx, m, key, allowed, has_allowed);
			if (col == NULL || col == pk || list_member_ptr(g->cols, col) || !CopyableColumn(col))
				return false;
			g->cols = lappend(g->cols, col);
			g->keys = lappend(g->keys, key);
		}
		if (!MayInsert(m->relid, g->cols))
			return false;
	}
	return true;
}

/*
 * May CopyFrom write into rel?  It writes outside the executor, which is
 * where PostgreSQL checks read-only transactions (and hot standbys) and
 * parallel mode: there the statement path runs and the executor refuses
 * the INSERT with its own error (DoCopy makes the same exception for
 * temporary tables of this session).  Row triggers before insert and RLS
 * also go the statement way.
 */
static bool
CopyAllowed(Relation rel, QsModel *m)
{
	return !(XactReadOnly && !rel->rd_islocaltemp) && !IsInParallelMode() &&
		(rel->trigdesc == NULL ||
		 (!rel->trigdesc->trig_insert_before_row && !rel->trigdesc->trig_insert_instead_row)) &&
		check_enable_rls(m->relid, InvalidOid, true) != RLS_ENABLED;
}

/* COPY every group in batches, keys drawn first into ids[]; the rows inserted. */
static uint64
CopyBatches(QsCompileState *ctx, Relation rel, List *groups, JsonbContainer *root, int nrows,
			QsColumn *pk, Oid seq, bool check, int batch, int64 *ids)
{
	uint64		inserted = 0;
	ListCell   *lg;
	ListCell   *lc;

	foreach(lg, groups)
	{
		CopyGroup  *g = (CopyGroup *) lfirst(lg);
		List	   *attnames = NIL;
		int			b = batch > 0 ? batch : g->n;
		int			start;

		foreach(lc, g->cols)
			attnames = lappend(attnames, makeString(((QsColumn *) lfirst(lc))->name));
		if (pk != NULL)
			attnames = lappend(attnames, makeString(pk->name));
		for (start = 0; start < g->n; start = (int) Min((int64) start + b, (int64) g->n))
		{
			QsCopyFeed	src;
			int			j;

			memset(&src, 0, sizeof(src));
			src.root = root;
			src.text = g->text;
			src.first = start;
			src.nrows = nrows;
			src.idx = g->idx + start;
			src.n = Min(b, g->n - start);
			src.npairs = g->npairs;
			src.cols = g->cols;
			src.keys = g->keys;
			src.ctx = ctx;
			src.ids = ids;
			initStringInfo(&src.buf);
			/* the keys, drawn in input order as INSERT's defaults would be */
			for (j = 0; pk != NULL && j < src.n; j++)
			{
				CHECK_FOR_INTERRUPTS();
				ids[src.idx[j]] = nextval_internal(seq, check);
			}
			src.with_keys = (pk != NULL);
			inserted += RunCopy(rel, attnames, &src);
			pfree(src.buf.data);
		}
	}
	return inserted;
}

/*
 * Load the groups through COPY when the path applies to every one of
 * them; the result (keys, flat keys or the count), or NULL having
 * written nothing.  root: the jsonb rows (NULL for text groups).
 */
static Jsonb *
CopyGroupsLoad(QsModel *m, QsCompileState *ctx, List *groups, JsonbContainer *root, int nrows,
			   QsColumn *pk, List *allowed, bool has_allowed, int batch, bool flat)
{
	Relation	rel;
	Oid			seq;
	bool		check = false;
	bool		ok;
	int64	   *ids;
	uint64		inserted;

	/* every group's columns must suit COPY before anything is written */
	if (!CopyColumnsFit(ctx, m, groups, root, nrows, pk, allowed, has_allowed))
	{
		/* the statement path reports what it finds with its own JSON paths */
		resetStringInfo(&ctx->path);
		appendStringInfoChar(&ctx->path, '$');
		return NULL;
	}
	resetStringInfo(&ctx->path);
	appendStringInfoChar(&ctx->path, '$');

	rel = table_open(m->relid, RowExclusiveLock);
	ok = CopyAllowed(rel, m);
	seq = (ok && pk != NULL) ? DefaultSequence(rel, pk, &check) : InvalidOid;
	if (!ok || (pk != NULL && !OidIsValid(seq)))
	{
		table_close(rel, NoLock);
		return NULL;
	}
	ids = palloc(sizeof(int64) * nrows);
	inserted = CopyBatches(ctx, rel, groups, root, nrows, pk, seq, check, batch, ids);
	CommandCounterIncrement();
	table_close(rel, NoLock);
	if (pk == NULL)
	{
		JsonbValue	n;

		n.type = jbvNumeric;
		n.val.numeric = int64_to_numeric((int64) inserted);
		return JsonbValueToJsonb(&n);
	}
	return flat ? FlatKeysResult(ids, nrows) : KeysResult(pk->name, ids, nrows);
}

/* Does the COPY path apply to this model at all? */
static bool
CopyModel(QsModel *m)
{
	/* a Citus table's rows live in its shards: only the executor routes them */
	return qs_bulk_copy && m->relkind == RELKIND_RELATION && !QsCitusTable(m->relid);
}

/*
 * Insert the rows through COPY when the path applies to every group of
 * them, returning [{"<pk>": id}, ...] (flat: [id, ...]) in input order;
 * NULL, having done nothing, when the statement path must run (it also
 * reports malformed rows, unknown keys and the like).
 * allowed/has_allowed: the fields allow-list, checked as the statement
 * path checks it.
 */
Jsonb *
QsBulkCopy(QsModel *m, QsCompileState *ctx, Jsonb *rows, List *allowed, bool has_allowed, int batch,
		   List *ret_cols, bool flat)
{
	JsonbContainer *root = &rows->root;
	int			nrows;
	QsColumn   *pk;
	List	   *groups;

	if (!CopyModel(m) || !JsonContainerIsArray(root) || JsonContainerIsScalar(root))
		return NULL;
	nrows = JsonContainerSize(root);
	if (nrows == 0 || !CopyKeyColumn(m, ret_cols, &pk))
		return NULL;
	groups = CopyGroups(root, nrows);
	if (groups == NIL)
		return NULL;
	return CopyGroupsLoad(m, ctx, groups, root, nrows, pk, allowed, has_allowed, batch, flat);
}

/*
 * The same for rows read from JSON text by bulktext.c, grouped and
 * rendered already: the same checks in the same order, the same result.
 */
Jsonb *
QsBulkCopyText(QsModel *m, QsCompileState *ctx, QsTextRows *rows, List *allowed, bool has_allowed,
			   int batch, List *ret_cols, bool flat)
{
	QsColumn   *pk;
	List	   *groups = NIL;
	ListCell   *lg;

	if (!CopyModel(m) || !CopyKeyColumn(m, ret_cols, &pk))
		return NULL;
	foreach(lg, rows->groups)
	{
		QsTextGroup *t = (QsTextGroup *) lfirst(lg);
		CopyGroup  *g = palloc0(sizeof(CopyGroup));

		g->idx = t->idx;
		g->n = t->n;
		g->npairs = t->npairs;
		g->text = t;
		groups = lappend(groups, g);
	}
	return CopyGroupsLoad(m, ctx, groups, NULL, rows->nrows, pk, allowed, has_allowed, batch, flat);
}
