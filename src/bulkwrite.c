/*
 * bulkwrite.c
 *	  qs.bulk_create and qs.bulk_update: many rows, one statement per batch
 *	  and group of rows, values as one typed array per column.
 *
 * bulk_create groups rows by the columns they give (INSERT ... SELECT
 * FROM ROWS FROM (unnest($1), ...)), or hands plain tables to the COPY
 * path (bulkload.c).  bulk_create_text reads JSON text straight into the
 * COPY path (bulktext.c) and otherwise runs bulk_create on its jsonb.  bulk_update groups rows by the shape of their
 * expressions (UPDATE ... FROM ROWS FROM (unnest(...)) WHERE key = v.key).
 * Each is split into its phases: options, groups, a group's columns or
 * expressions, the statement, the arrays of a batch, the run.
 */
#include "postgres.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "builder.h"
#include "bulkload.h"
#include "bulktext.h"
#include "expr.h"
#include "guards.h"
#include "model.h"
#include "param.h"
#include "shape.h"
#include "spec.h"
#include "state.h"
#include "tenant.h"
#include "write.h"
#include "writecol.h"

/* ---------------------------------------------------------------------
 * qs.bulk_create
 * ---------------------------------------------------------------------
 */

typedef struct BulkOptions
{
	int			batch_size;		/* 0: one batch; at most PG_INT32_MAX */
	bool		ignore_conflicts;
	bool		update_conflicts;
	List	   *unique_fields;
	List	   *update_fields;
	bool		returning_all;
	List	   *returning;		/* names; NIL with !returning_all: the pk */
	bool		returning_given;
	bool		returning_none; /* "returning": []: the result is the count */
	bool		flat;			/* each row as its value (one field) or an array of them */
	bool		has_allowed;
	List	   *allowed;
	int64		max_affected;	/* bulk_update: 0 off */
} BulkOptions;

/* An option that lists field names (a string or an array of strings). */
static List *
OptionNames(JsonbValue *v, const char *key)
{
	List	   *res = NIL;
	int			i;

	if (v->type != jbvArray)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid option %s: expected an array of field names, got %s", key, QsJsonTypeName(v))));
	for (i = 0; i < v->val.array.nElems; i++)
	{
		if (v->val.array.elems[i].type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid option %s: expected field names", key)));
		res = lappend(res, QsTreeKey(&v->val.array.elems[i]));
	}
	return res;
}

/*
 * A positive whole-number option in [1, max], or an error (22023) naming
 * the option and its range.  Read as numeric and compared there, so no
 * value is narrowed on the way: 2^32 is refused as out of range, never
 * truncated to 0.
 */
static int64
OptionInt(JsonbValue *v, const char *key, int64 max)
{
	char	   *txt;
	char	   *end;
	long long	n;

	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid option %s: expected a positive integer, got %s", key, QsJsonTypeName(v)),
				 errdetail("The option takes a whole number from 1 to " INT64_FORMAT ", or null for its default.", max),
				 errhint("Write {\"%s\": 1000}.", key)));
	txt = QsTreeText(v);
	if (!QsNumberIsIntegral(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid option %s: expected a positive integer, got %.40s", key, txt),
				 errdetail("The option takes a whole number from 1 to " INT64_FORMAT ", or null for its default.", max)));
	errno = 0;
	n = strtoll(txt, &end, 10);
	if (errno != 0 || *end != '\0' || n <= 0 || n > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid option %s: %s is out of range", key,
						strlen(txt) > 24 ? psprintf("%.12s... (%d digits)", txt, (int) strlen(txt)) : txt),
				 errdetail("The option takes a whole number from 1 to " INT64_FORMAT ", or null for its default.", max)));
	return (int64) n;
}

/* The options object of a bulk write: known keys only, each range-checked (22023). */
static BulkOptions *
ParseOptions(FunctionCallInfo fcinfo, int argno, const char *known)
{
	BulkOptions *o = palloc0(sizeof(BulkOptions));
	JsonbValue *v;
	int			i;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return o;
	v = QsJsonbToTree(PG_GETARG_JSONB_P(argno));
	if (v->type != jbvObject)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid options: expected a JSON object, got %s", QsJsonTypeName(v))));
	for (i = 0; i < v->val.object.nPairs; i++)
	{
		char	   *k = QsTreeKey(&v->val.object.pairs[i].key);
		JsonbValue *val = &v->val.object.pairs[i].value;

		if (strstr(known, psprintf(" %s ", k)) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\"", k),
					 errhint("Options are:%s", known)));
		if (strcmp(k, "batch_size") == 0)
			o->batch_size = val->type == jbvNull ? 0 : OptionInt(val, k, PG_INT32_MAX);
		else if (strcmp(k, "max_affected") == 0)
			o->max_affected = val->type == jbvNull ? 0 : OptionInt(val, k, PG_INT64_MAX);
		else if (strcmp(k, "ignore_conflicts") == 0 || strcmp(k, "update_conflicts") == 0 ||
				 strcmp(k, "flat") == 0)
		{
			if (val->type != jbvBool)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid option %s: expected true or false", k)));
			if (k[0] == 'i')
				o->ignore_conflicts = val->val.boolean;
			else if (k[0] == 'u')
				o->update_conflicts = val->val.boolean;
			else
				o->flat = val->val.boolean;
		}
		else if (strcmp(k, "unique_fields") == 0)
			o->unique_fields = OptionNames(val, k);
		else if (strcmp(k, "update_fields") == 0)
			o->update_fields = OptionNames(val, k);
		else if (strcmp(k, "fields") == 0)
		{
			o->has_allowed = true;
			o->allowed = OptionNames(val, k);
		}
		else if (strcmp(k, "returning") == 0)
		{
			o->returning_given = true;
			if (val->type == jbvString && strcmp(QsTreeKey(val), "*") == 0)
				o->returning_all = true;
			else
			{
				o->returning = OptionNames(val, k);
				o->returning_none = (o->returning == NIL);
			}
		}
	}
	if (o->ignore_conflicts && o->update_conflicts)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ignore_conflicts and update_conflicts are mutually exclusive")));
	if (o->update_conflicts && (o->update_fields == NIL || o->unique_fields == NIL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("update_conflicts needs unique_fields and update_fields"),
				 errhint("Write {\"update_conflicts\": true, \"unique_fields\": [\"slug\"], \"update_fields\": [\"price\"]}.")));
	if (!o->update_conflicts && (o->update_fields != NIL || o->unique_fields != NIL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unique_fields and update_fields apply with update_conflicts only")));
	return o;
}

/* A column of m by name (forward relations name their FK), or an error. */
static QsColumn *
NamedColumn(QsCompileState *ctx, QsModel *m, const char *name)
{
	QsColumn   *col = QsWriteColumn(ctx, m, name, NIL, false);

	if (col == NULL)
		QsWriteUnknownKey(ctx, m, name);
	return col;
}

/* Build an array datum of QsWriteParamType(col) from the column's values. */
static Datum
ColumnArray(QsColumn *col, Datum *d, bool *nulls, int n)
{
	Oid			t = QsWriteParamType(col);
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1];
	int			lbs[1] = {1};

	get_typlenbyvalalign(t, &typlen, &typbyval, &typalign);
	dims[0] = n;
	return PointerGetDatum(construct_md_array(d, nulls, 1, dims, lbs, t, typlen, typbyval, typalign));
}

/* The SQL name of the array type a column's values travel in. */
static char *
ArrayTypeSql(QsColumn *col)
{
	Oid			t = QsWriteParamType(col);

	return format_type_extended(get_array_type(t), -1, FORMAT_TYPE_FORCE_QUALIFY);
}

/* Do two objects have the same keys in the same order? */
static bool
SameKeys(JsonbValue *a, JsonbValue *b)
{
	int			k;

	if (a->val.object.nPairs != b->val.object.nPairs)
		return false;
	for (k = 0; k < a->val.object.nPairs; k++)
	{
		JsonbValue *ka = &a->val.object.pairs[k].key;
		JsonbValue *kb = &b->val.object.pairs[k].key;

		if (ka->val.string.len != kb->val.string.len ||
			memcmp(ka->val.string.val, kb->val.string.val, ka->val.string.len) != 0)
			return false;
	}
	return true;
}

/* What bulk_create() returns per row: nothing, every column, the key, or the named columns. */
static List *
ReturningColumns(QsCompileState *ctx, QsModel *m, BulkOptions *o)
{
	List	   *ret_cols = NIL;
	ListCell   *ls;
	int			i;

	if (o->returning_none)
		ret_cols = NIL;
	else if (o->returning_all || (!o->returning_given && m->npk == 0))
		ret_cols = QsAllColumns(m);
	else if (!o->returning_given)
		for (i = 0; i < m->npk; i++)
			ret_cols = lappend(ret_cols, &m->columns[m->pk[i]]);
	else
	{
		foreach(ls, o->returning)
		{
			QsPathPush(ctx, ".returning");
			ret_cols = lappend(ret_cols, NamedColumn(ctx, m, (char *) lfirst(ls)));
			QsPathPop(ctx, 1);
		}
	}
	return ret_cols;
}

/*
 * The jsonb of a returned row: an object of the returning fields, or with
 * "flat" the one field's value, or an array of the fields' values in
 * returning order (a composite key stays an array, as in Django's
 * values_list(flat=True), which allows one field only).
 */
static char *
ReturnedJsonb(BulkOptions *o, List *ret_cols, const char *alias)
{
	StringInfoData buf;
	ListCell   *lc;
	int			n = 0;

	if (!o->flat)
		return QsRowJsonb(ret_cols, alias);
	if (list_length(ret_cols) == 1)
		return psprintf("pg_catalog.to_jsonb(%s.%s)", alias,
						quote_identifier(((QsColumn *) linitial(ret_cols))->name));
	initStringInfo(&buf);
	appendStringInfoString(&buf, "pg_catalog.jsonb_build_array(");
	foreach(lc, ret_cols)
	{
		if (n > 0 && n % 50 == 0)
			appendStringInfoString(&buf, ") OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_array(");
		else if (n > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfo(&buf, "%s.%s", alias, quote_identifier(((QsColumn *) lfirst(lc))->name));
		n++;
	}
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

/*
 * Group the rows by the set of columns they give.  A jsonb object keeps
 * its keys sorted, so two rows give the same columns when their keys
 * are equal pair by pair; rows are compared with each group's first.
 */
static List *
GroupByKeys(JsonbValue *rows)
{
	List	   *groups = NIL;	/* List * of int (row indexes) */
	ListCell   *lg;
	int			i;

	for (i = 0; i < rows->val.array.nElems; i++)
	{
		JsonbValue *r = &rows->val.array.elems[i];
		bool		found = false;

		CHECK_FOR_INTERRUPTS();
		if (r->type != jbvObject)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid row at $[%d]: expected an object, got %s", i, QsJsonTypeName(r))));
		foreach(lg, groups)
		{
			JsonbValue *g = &rows->val.array.elems[linitial_int((List *) lfirst(lg))];

			if (SameKeys(g, r))
			{
				lfirst(lg) = lappend_int((List *) lfirst(lg), i);
				found = true;
				break;
			}
		}
		if (!found)
			groups = lappend(groups, list_make1_int(i));
	}
	return groups;
}

/* The columns a group of rows gives (*keys: their names, sorted), checked. */
static List *
GroupColumns(QsCompileState *ctx, QsModel *m, BulkOptions *o, JsonbValue *first, int firstrow,
			 List **keys)
{
	List	   *cols = NIL;
	ListCell   *ls;
	int			k;
	int			save;

	*keys = NIL;
	for (k = 0; k < first->val.object.nPairs; k++)
		*keys = lappend(*keys, QsTreeKey(&first->val.object.pairs[k].key));
	list_sort(*keys, QsNameCmp);
	QsPathPush(ctx, "[%d]", firstrow);
	save = ctx->path.len;
	foreach(ls, *keys)
	{
		QsColumn   *col;

		QsPathPush(ctx, ".%s", (char *) lfirst(ls));
		col = QsWriteColumn(ctx, m, (char *) lfirst(ls), o->allowed, o->has_allowed);
		if (col == NULL)
			QsWriteUnknownKey(ctx, m, (char *) lfirst(ls));
		if (list_member_ptr(cols, col))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column \"%s\" is given twice", col->name),
					 errdetail("At %s.", QsPathString(ctx))));
		cols = lappend(cols, col);
		QsPathPop(ctx, save);
	}
	QsPathPop(ctx, 1);
	return cols;
}

/*
 * On Citus the inserted rows come back from several shards in no order:
 * the INSERT returns its rows through a CTE, and they are put in input
 * order by joining them to the input's primary key columns WITH
 * ORDINALITY ("o", the row's place in the batch, is the second column
 * of each row when not single).  Keys the input does not give (a
 * sequence) order by the key: the coordinator draws them in input
 * order.  The CTE also keeps Citus from planning INSERT ... RETURNING
 * with non-immutable functions, and SPI from miscounting its rows.
 */
static char *
CitusReturning(QsModel *m, List *cols, const char *retexpr, bool single, const char *insert)
{
	StringInfoData sql;
	StringInfoData keys;
	StringInfoData on;
	StringInfoData order;
	int			i;
	bool		all_given = m->npk > 0;

	initStringInfo(&keys);
	initStringInfo(&on);
	initStringInfo(&order);
	for (i = 0; i < m->npk; i++)
	{
		QsColumn   *pkc = &m->columns[m->pk[i]];
		int			pos = -1;
		ListCell   *lc;
		Oid			eq = lookup_type_cache(getBaseType(pkc->typid), TYPECACHE_EQ_OPR)->eq_opr;

		foreach(lc, cols)
			if (lfirst(lc) == pkc)
				pos = foreach_current_index(lc);

		appendStringInfo(&order, "%st0.%s", i > 0 ? ", " : "", quote_identifier(pkc->name));
		if (pos < 0 || !OidIsValid(eq))
		{
			all_given = false;
			continue;
		}
		appendStringInfo(&keys, "%spg_catalog.unnest($%d::%s)", keys.len > 0 ? ", " : "", pos + 1,
						 ArrayTypeSql(pkc));
		appendStringInfo(&on, "%st0.%s %s %s", on.len > 0 ? " AND " : "",
						 quote_identifier(pkc->name), QsOperatorSql(eq),
						 QsWriteReadParam(pkc, psprintf("s.k%d", i + 1)));
	}
	initStringInfo(&sql);
	appendStringInfo(&sql, "WITH ins AS (%s RETURNING t0.*) SELECT ", insert);
	if (single)
		appendStringInfo(&sql, "coalesce(pg_catalog.jsonb_agg(%s ORDER BY %s), '[]'::pg_catalog.jsonb)",
						 retexpr, all_given ? "s.o" : order.data);
	else
		appendStringInfo(&sql, "%s, %s", retexpr,
						 all_given ? "s.o" : "pg_catalog.row_number() OVER (ORDER BY " );
	if (!single && !all_given)
		appendStringInfo(&sql, "%s)", order.data);
	appendStringInfoString(&sql, " FROM ins t0");
	if (all_given)
	{
		appendStringInfo(&sql, " JOIN ROWS FROM (%s) WITH ORDINALITY AS s(", keys.data);
		for (i = 0; i < m->npk; i++)
			appendStringInfo(&sql, "k%d, ", i + 1);
		appendStringInfo(&sql, "o) ON %s", on.data);
	}
	if (!single)
		appendStringInfo(&sql, " ORDER BY %s", all_given ? "s.o" : order.data);
	return sql.data;
}

/*
 * INSERT INTO t AS t0 (cols) SELECT ... FROM ROWS FROM (unnest($1), ...)
 * [ON CONFLICT ...] [RETURNING ...]; with one group (single) the rows
 * come back in input order, so the server aggregates them at once.
 */
static char *
BulkCreateSql(QsCompileState *ctx, QsModel *m, BulkOptions *o, List *cols, List *ret_cols, bool single)
{
	StringInfoData sql;
	ListCell   *ls;
	int			ncols = list_length(cols);
	int			k;

	initStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO %s AS t0", m->qualname);
	if (ncols == 0)
		appendStringInfoString(&sql, " DEFAULT VALUES");
	else
	{
		StringInfoData sel;
		StringInfoData src;

		initStringInfo(&sel);
		initStringInfo(&src);
		k = 0;
		foreach(ls, cols)
		{
			QsColumn   *col = (QsColumn *) lfirst(ls);

			appendStringInfo(&sql, "%s%s", k == 0 ? " (" : ", ", quote_identifier(col->name));
			appendStringInfo(&sel, "%s%s", k == 0 ? "" : ", ", QsWriteReadParam(col, psprintf("v.c%d", k + 1)));
			appendStringInfo(&src, "%spg_catalog.unnest($%d::%s)", k == 0 ? "" : ", ", k + 1, ArrayTypeSql(col));
			k++;
		}
		appendStringInfo(&sql, ") SELECT %s FROM ROWS FROM (%s) AS v(", sel.data, src.data);
		for (k = 0; k < ncols; k++)
			appendStringInfo(&sql, "%sc%d", k == 0 ? "" : ", ", k + 1);
		appendStringInfoChar(&sql, ')');
	}
	if (o->ignore_conflicts)
		appendStringInfoString(&sql, " ON CONFLICT DO NOTHING");
	else if (o->update_conflicts)
	{
		ListCell   *lu;

		appendStringInfoString(&sql, " ON CONFLICT (");
		k = 0;
		foreach(lu, o->unique_fields)
			appendStringInfo(&sql, "%s%s", k++ ? ", " : "",
							 quote_identifier(NamedColumn(ctx, m, (char *) lfirst(lu))->name));
		appendStringInfoString(&sql, ") DO UPDATE SET ");
		k = 0;
		foreach(lu, o->update_fields)
		{
			const char *c = quote_identifier(NamedColumn(ctx, m, (char *) lfirst(lu))->name);

			appendStringInfo(&sql, "%s%s = EXCLUDED.%s", k++ ? ", " : "", c, c);
		}
	}
	if (ret_cols != NIL && QsOnCitus(ctx))
		return CitusReturning(m, cols, ReturnedJsonb(o, ret_cols, "t0"), single, sql.data);
	if (ret_cols != NIL)
		appendStringInfo(&sql, " RETURNING %s", ReturnedJsonb(o, ret_cols, "t0"));
	if (single && ret_cols != NIL)
	{
		/*
		 * One set of columns: the rows come back in input order, so the
		 * server aggregates them into the result array at once.
		 */
		char	   *ins = sql.data;

		initStringInfo(&sql);
		appendStringInfo(&sql, "WITH ins(r) AS (%s) SELECT coalesce(pg_catalog.jsonb_agg(ins.r), "
						 "'[]'::pg_catalog.jsonb) FROM ins", ins);
	}

	return sql.data;
}

/* One typed array per column over rows start..start+nb of a group. */
static void
BulkCreateArrays(QsCompileState *ctx, JsonbValue *rows, List *idx, int start, int nb,
				 List *cols, List *keys, Oid *types, Datum *arrays)
{
	ListCell   *ls;
	ListCell   *lk;
	int			k = 0;

	forboth(ls, cols, lk, keys)
	{
		QsColumn   *col = (QsColumn *) lfirst(ls);
		Datum	   *d = palloc(sizeof(Datum) * Max(nb, 1));
		bool	   *dn = palloc(sizeof(bool) * Max(nb, 1));
		int			j;

		for (j = 0; j < nb; j++)
		{
			int			ri = list_nth_int(idx, start + j);

			CHECK_FOR_INTERRUPTS();
			resetStringInfo(&ctx->path);
			appendStringInfo(&ctx->path, "$[%d].%s", ri, (char *) lfirst(lk));
			{
				JsonbValue *v = QsTreeGet(&rows->val.array.elems[ri], (char *) lfirst(lk));

				if (v == NULL)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("invalid row at $[%d]: its keys differ from the rows it was grouped with", ri)));
				d[j] = QsColumnDatum(ctx, col, v, &dn[j]);
			}
		}
		resetStringInfo(&ctx->path);
		appendStringInfoChar(&ctx->path, '$');
		types[k] = get_array_type(QsWriteParamType(col));
		arrays[k] = ColumnArray(col, d, dn, nb);
		k++;
	}
}

PG_FUNCTION_INFO_V1(qs_bulk_create);

/* the options of bulk_create and bulk_create_text (the hint of an unknown one) */
#define BULK_CREATE_OPTIONS " batch_size ignore_conflicts update_conflicts unique_fields " \
	"update_fields returning fields flat "

/*
 * qs.bulk_create(model, rows jsonb [, options jsonb]) -> jsonb: insert
 * many rows with INSERT ... SELECT FROM ROWS FROM (unnest(<one typed array
 * per column>), ...), one statement per set of columns (rows may omit columns that
 * have defaults) and batch.  Returns the returning fields (default: the
 * primary key) of the rows, in input order.
 */
/*
 * The place in its batch (0-based) of returned row r, from the second
 * column CitusReturning selects; -1 when the result has none.
 */
static int64
RowPlace(uint64 r, int nb)
{
	bool		isnull;
	int64		o;

	if (SPI_tuptable->tupdesc->natts < 2)
		return -1;
	o = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull));
	if (isnull || o < 1 || o > nb)
		return -1;
	return o - 1;
}

Datum
qs_bulk_create(PG_FUNCTION_ARGS)
{
	MemoryContext outer_cxt = CurrentMemoryContext;
	QsModel    *m = QsModelGet(PG_GETARG_OID(0));
	BulkOptions *o = ParseOptions(fcinfo, 2, BULK_CREATE_OPTIONS);
	QsCompileState *ctx = QsWriteContext(m);
	JsonbValue *rows;
	int			nrows;
	List	   *groups;
	JsonbValue **result;
	List	   *extra = NIL;	/* returned rows without a position (conflicts) */
	List	   *ret_cols = ReturningColumns(ctx, m, o);
	ListCell   *lg;
	int			i;
	bool		single;
	uint64		inserted = 0;
	Jsonb	   *whole = NULL;	/* single: the result so far */
	uint64		written = 0;	/* single: the rows in it (pg_queryset.max_affected) */

	/*
	 * pg_queryset.max_affected: without ignore_conflicts every row is
	 * inserted (or updated) or the call fails, so more rows than the limit
	 * are refused before anything is written; otherwise each batch counts.
	 */
	if (unlikely(qs_max_affected > 0) && !PG_ARGISNULL(1) && !o->ignore_conflicts)
	{
		Jsonb	   *all = PG_GETARG_JSONB_P(1);

		if (JB_ROOT_IS_ARRAY(all) && !JB_ROOT_IS_SCALAR(all))
			QsGuardAffected(JB_ROOT_COUNT(all), "qs.bulk_create()");
	}
	/* a plain table whose keys come from a sequence: COPY (bulkload.c) */
	if (!PG_ARGISNULL(1) && !o->ignore_conflicts && !o->update_conflicts)
	{
		Jsonb	   *copied = QsBulkCopy(m, ctx, PG_GETARG_JSONB_P(1), o->allowed, o->has_allowed,
										o->batch_size, ret_cols, o->flat);

		if (copied != NULL)
			PG_RETURN_JSONB_P(copied);
	}
	rows = QsWriteTreeArg(fcinfo, 1, "rows", true);
	nrows = rows->val.array.nElems;
	result = palloc0(sizeof(JsonbValue *) * Max(nrows, 1));
	groups = GroupByKeys(rows);
	single = (list_length(groups) == 1);
	SPI_connect();
	/* results outlive SPI_finish(): build them in the caller's context */
	MemoryContextSwitchTo(outer_cxt);
	foreach(lg, groups)
	{
		List	   *idx = (List *) lfirst(lg);
		List	   *keys;
		List	   *cols = GroupColumns(ctx, m, o, &rows->val.array.elems[linitial_int(idx)],
										linitial_int(idx), &keys);
		int			ncols = list_length(cols);
		int			total = list_length(idx);
		int64		batch = o->batch_size > 0 ? o->batch_size : total;
		char	   *sql = BulkCreateSql(ctx, m, o, cols, ret_cols, single);
		int			start;

		/* one statement per batch; one typed array per column */
		for (start = 0; start < total; start = (int) Min((int64) start + batch, (int64) total))
		{
			int			end = (int) Min((int64) total, (int64) start + batch);
			int			nb = end - start;
			Oid		   *types = palloc(sizeof(Oid) * Max(ncols, 1));
			Datum	   *arrays = palloc(sizeof(Datum) * Max(ncols, 1));
			bool	   *anulls = palloc0(sizeof(bool) * Max(ncols, 1));
			uint64		got;
			uint64		r;

			BulkCreateArrays(ctx, rows, idx, start, nb, cols, keys, types, arrays);
			got = QsRunWriteSql(m, sql, ncols, types, arrays, anulls);
			inserted += got;
			if (ret_cols == NIL)
			{
				QsGuardAffected(inserted, "qs.bulk_create()");
				continue;
			}
			if (single)
			{
				bool		isnull;
				Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

				/* copied out of SPI's memory: it is freed at SPI_finish() */
				Jsonb	   *part = DatumGetJsonbPCopy(d);

				/* one row holds the batch's array: its length is the rows written */
				written += JB_ROOT_COUNT(part);
				QsGuardAffected(written, "qs.bulk_create()");
				whole = whole ? DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(whole),
																   JsonbPGetDatum(part))) : part;
				continue;
			}
			QsGuardAffected(inserted, "qs.bulk_create()");
			for (r = 0; r < got; r++)
			{
				JsonbValue *t = QsResultTree(r, 1);
				int64		pos = RowPlace(r, nb);

				if (pos >= 0)
					result[list_nth_int(idx, start + (int) pos)] = t;
				else if (got == (uint64) nb)
					result[list_nth_int(idx, start + (int) r)] = t;
				else
					extra = lappend(extra, t);	/* conflicts skipped some rows */
			}
		}
	}
	SPI_finish();
	if (ret_cols == NIL)
		PG_RETURN_JSONB_P(QsTreeToJsonb(QsTreeNumeric((int64) inserted)));
	if (single)
		PG_RETURN_JSONB_P(whole ? whole : QsTreeToJsonb(QsTreeArray(NIL)));

	{
		List	   *out = NIL;

		for (i = 0; i < nrows; i++)
			if (result[i] != NULL)
				out = lappend(out, result[i]);
		out = list_concat(out, extra);
		PG_RETURN_JSONB_P(QsTreeToJsonb(QsTreeArray(out)));
	}
}

/* ---------------------------------------------------------------------
 * qs.bulk_create_text
 * ---------------------------------------------------------------------
 */

/* Do the options ask for conflict handling (never the COPY path)?  Raises nothing. */
static bool
ConflictOptions(FunctionCallInfo fcinfo)
{
	JsonbValue *v;
	JsonbValue *c;

	if (PG_NARGS() <= 2 || PG_ARGISNULL(2))
		return false;
	v = QsJsonbToTree(PG_GETARG_JSONB_P(2));
	if (v->type != jbvObject)
		return false;
	c = QsTreeGet(v, "ignore_conflicts");
	if (c != NULL && c->type == jbvBool && c->val.boolean)
		return true;
	c = QsTreeGet(v, "update_conflicts");
	return c != NULL && c->type == jbvBool && c->val.boolean;
}

/*
 * The rows as jsonb, handed to qs.bulk_create: what the text function
 * does whenever the text reader or the COPY path stands aside, so its
 * behaviour and errors are bulk_create's (jsonb_in reports malformed
 * JSON: 22P02 naming the token and the line).
 */
static Datum
BulkCreateAsJsonb(FunctionCallInfo fcinfo)
{
	LOCAL_FCINFO(inner, 3);
	Datum		result;

	InitFunctionCallInfoData(*inner, fcinfo->flinfo, 3, fcinfo->fncollation, NULL, NULL);
	inner->args[0] = fcinfo->args[0];
	inner->args[1].isnull = PG_ARGISNULL(1);
	inner->args[1].value = PG_ARGISNULL(1) ? (Datum) 0 :
		DirectFunctionCall1(jsonb_in, CStringGetDatum(text_to_cstring(PG_GETARG_TEXT_PP(1))));
	inner->args[2].isnull = PG_NARGS() <= 2 || PG_ARGISNULL(2);
	inner->args[2].value = inner->args[2].isnull ? (Datum) 0 : fcinfo->args[2].value;
	result = qs_bulk_create(inner);
	if (inner->isnull)
		PG_RETURN_NULL();
	return result;
}

PG_FUNCTION_INFO_V1(qs_bulk_create_text);

/*
 * qs.bulk_create_text(model, rows text [, options jsonb]) -> jsonb:
 * bulk_create with the rows as JSON text, read in one pass straight into
 * COPY text (bulktext.c) when the COPY path applies, with no jsonb built;
 * otherwise the text becomes jsonb and bulk_create runs.  Same options,
 * errors and result.  Everything it reads lives in a context of the call.
 */
Datum
qs_bulk_create_text(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext call_cxt;
	Jsonb	   *copied = NULL;
	QsTextRows *rows;

	if (PG_ARGISNULL(1) || !qs_bulk_copy || ConflictOptions(fcinfo))
		return BulkCreateAsJsonb(fcinfo);
	call_cxt = AllocSetContextCreate(caller, "qs.bulk_create_text", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(call_cxt);
	{
		text	   *t = PG_GETARG_TEXT_PP(1);

		rows = QsTextRowsRead(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	}
	if (rows != NULL)
	{
		/* as qs_bulk_create does before its COPY path, in the same order */
		QsModel    *m = QsModelGet(PG_GETARG_OID(0));
		BulkOptions *o = ParseOptions(fcinfo, 2, BULK_CREATE_OPTIONS);
		QsCompileState *ctx = QsWriteContext(m);
		List	   *ret_cols = ReturningColumns(ctx, m, o);

		if (unlikely(qs_max_affected > 0) && !o->ignore_conflicts)
			QsGuardAffected(rows->nrows, "qs.bulk_create()");
		if (!o->ignore_conflicts && !o->update_conflicts)
			copied = QsBulkCopyText(m, ctx, rows, o->allowed, o->has_allowed, o->batch_size,
									ret_cols, o->flat);
	}
	MemoryContextSwitchTo(caller);
	if (copied != NULL)
	{
		Jsonb	   *result = palloc(VARSIZE(copied));

		memcpy(result, copied, VARSIZE(copied));
		MemoryContextDelete(call_cxt);
		PG_RETURN_JSONB_P(result);
	}
	MemoryContextDelete(call_cxt);
	return BulkCreateAsJsonb(fcinfo);
}

/* ---------------------------------------------------------------------
 * qs.bulk_update
 * ---------------------------------------------------------------------
 */

/* The literals of an expression value, in shape-walk order. */
static List *
ExprLiterals(JsonbValue *v, StringInfo sig)
{
	List	   *lits = NIL;

	QsShapeValue(sig, v, &lits);
	return list_delete_first(lits);	/* the value itself comes first */
}

typedef struct KeyEnt
{
	char		key[NAMEDATALEN * 2];	/* hash key: a digest of the key text */
	int			row;
} KeyEnt;

/* A bulk_update() call: its model, rows, fields and options, while it runs. */
typedef struct BulkUpdate
{
	QsModel    *m;
	QsCompileState *ctx;		/* values are coerced with the JSON path of their row */
	JsonbValue *rows;
	List	   *fnames;			/* the fields argument, as written */
	List	   *fields;			/* ... their columns (QsColumn *) */
	List	   *pkcols;			/* the primary key's columns */
	BulkOptions *o;
	QsColumn   *tenant;			/* Citus: the tenant column, compared with the tenant parameter */
} BulkUpdate;

/* The fields argument: columns to set, none of them a key, none twice. */
static void
BulkUpdateFields(BulkUpdate *u, FunctionCallInfo fcinfo)
{
	ListCell   *lc;
	int			i;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("fields must not be null"),
				 errhint("bulk_update() needs the list of fields to update, as Django's does.")));
	u->fnames = QsTextArrayArg(fcinfo, 2);
	if (u->fnames == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Field names must be given to bulk_update().")));
	if (u->m->npk == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bulk_update() needs a primary key, and \"%s\" has none", u->m->display)));
	for (i = 0; i < u->m->npk; i++)
		u->pkcols = lappend(u->pkcols, &u->m->columns[u->m->pk[i]]);
	foreach(lc, u->fnames)
	{
		QsColumn   *col;

		resetStringInfo(&u->ctx->path);
		appendStringInfo(&u->ctx->path, "$.fields.%s", (char *) lfirst(lc));
		col = NamedColumn(u->ctx, u->m, (char *) lfirst(lc));
		if (list_member_ptr(u->pkcols, col))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("bulk_update() cannot be used with primary key fields.")));
		if (list_member_ptr(u->fields, col))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("field \"%s\" is listed twice", col->name)));
		u->fields = lappend(u->fields, col);
	}
}

/* A key column's value in a row ("pk" names a single-column key). */
static JsonbValue *
RowKeyValue(BulkUpdate *u, JsonbValue *r, QsColumn *pk)
{
	JsonbValue *v = QsTreeGet(r, pk->name);

	if (v == NULL && u->m->npk == 1)
		v = QsTreeGet(r, "pk");
	return v;
}

/* Row i: an object with its whole key, naming only key columns and fields. */
static StringInfo
BulkUpdateCheckRow(BulkUpdate *u, int i, JsonbValue *r)
{
	StringInfo	key = makeStringInfo();
	ListCell   *lc;
	ListCell   *ls;
	int			k;

	if (r->type != jbvObject)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid row at %s: expected an object, got %s", QsPathString(u->ctx), QsJsonTypeName(r))));
	foreach(lc, u->pkcols)
	{
		QsColumn   *pk = (QsColumn *) lfirst(lc);
		JsonbValue *v = RowKeyValue(u, r, pk);

		if (v == NULL || v->type == jbvNull)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("row %d has no primary key \"%s\"", i, pk->name),
					 errdetail("At %s.", QsPathString(u->ctx)),
					 errhint("bulk_update() finds each row by its primary key.")));
		appendStringInfo(key, "%s\x1f", QsTreeText(v));
	}
	for (k = 0; k < r->val.object.nPairs; k++)
	{
		char	   *name = QsTreeKey(&r->val.object.pairs[k].key);
		QsColumn   *col = QsModelColumn(u->m, name);
		bool		ok = false;

		if (strcmp(name, "pk") == 0 && u->m->npk == 1)
			ok = true;
		foreach(lc, u->pkcols)
			if (col == lfirst(lc))
				ok = true;
		foreach(ls, u->fnames)
			if (strcmp((char *) lfirst(ls), name) == 0)
				ok = true;
		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("row %d has the field \"%s\", which is not in fields", i, name),
					 errdetail("At %s.", QsPathString(u->ctx)),
					 errhint("List it in fields, or leave it out of the rows.")));
	}
	return key;
}

/* Refuse row i when an earlier row has the same key (key: its text). */
static void
BulkUpdateOnce(BulkUpdate *u, HTAB *seen, int i, JsonbValue *r, StringInfo key)
{
	/* a digest keeps arbitrary keys within the fixed-size hash key */
	char	   *digest = psprintf("%08x%08x%d", (unsigned) hash_bytes((unsigned char *) key->data, key->len),
								  (unsigned) hash_bytes_extended((unsigned char *) key->data, key->len, 7),
								  key->len);
	bool		found;
	KeyEnt	   *ent = hash_search(seen, digest, HASH_ENTER, &found);
	ListCell   *ld;

	if (!found)
	{
		ent->row = i;
		return;
	}
	/* same digest: compare the keys themselves */
	foreach(ld, u->pkcols)
	{
		QsColumn   *pk = (QsColumn *) lfirst(ld);
		JsonbValue *other = &u->rows->val.array.elems[ent->row];

		if (strcmp(QsTreeText(RowKeyValue(u, r, pk)), QsTreeText(RowKeyValue(u, other, pk))) != 0)
			return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("row %d repeats the primary key of row %d", i, ent->row),
			 errdetail("At %s.", QsPathString(u->ctx)),
			 errhint("Each row may appear once in a bulk_update().")));
}

/* Row i's signature: per field, literal or the shape of its expression. */
static char *
RowSignature(BulkUpdate *u, int i, JsonbValue *r)
{
	StringInfoData sig;
	ListCell   *lc;
	ListCell   *ls;

	initStringInfo(&sig);
	forboth(lc, u->fields, ls, u->fnames)
	{
		QsColumn   *col = (QsColumn *) lfirst(lc);
		JsonbValue *v = QsTreeGet(r, (char *) lfirst(ls));

		if (v == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("row %d has no value for \"%s\"", i, (char *) lfirst(ls)),
					 errdetail("At %s.", QsPathString(u->ctx)),
					 errhint("Every row gives every field in fields.")));
		if (QsIsAssignedExpression(col, v))
		{
			appendStringInfoString(&sig, "E:");
			(void) ExprLiterals(v, &sig);
		}
		appendStringInfoChar(&sig, '\x1f');
	}
	return sig.data;
}

/*
 * Check every row, refuse repeated keys, and group the rows by signature:
 * a list of lists of row indexes, one statement per group.
 */
static List *
BulkUpdateGroups(BulkUpdate *u)
{
	int			nrows = u->rows->val.array.nElems;
	List	   *sigs = NIL;
	List	   *groups = NIL;
	HTAB	   *seen;
	HASHCTL		hc;
	int			i;

	memset(&hc, 0, sizeof(hc));
	hc.keysize = sizeof(((KeyEnt *) 0)->key);
	hc.entrysize = sizeof(KeyEnt);
	hc.hcxt = CurrentMemoryContext;
	seen = hash_create("pg_queryset bulk_update keys", Max(64, nrows), &hc,
					   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	for (i = 0; i < nrows; i++)
	{
		JsonbValue *r = &u->rows->val.array.elems[i];
		char	   *sig;
		ListCell   *lsg;
		ListCell   *lg;
		bool		found_group = false;

		CHECK_FOR_INTERRUPTS();
		resetStringInfo(&u->ctx->path);
		appendStringInfo(&u->ctx->path, "$[%d]", i);
		BulkUpdateOnce(u, seen, i, r, BulkUpdateCheckRow(u, i, r));
		sig = RowSignature(u, i, r);
		forboth(lsg, sigs, lg, groups)
			if (strcmp((char *) lfirst(lsg), sig) == 0)
			{
				lfirst(lg) = lappend_int((List *) lfirst(lg), i);
				found_group = true;
				break;
			}
		if (!found_group)
		{
			sigs = lappend(sigs, sig);
			groups = lappend(groups, list_make1_int(i));
		}
	}
	return groups;
}

/* The literals of row r's expressions, in field order. */
static List *
RowLiterals(BulkUpdate *u, JsonbValue *r)
{
	List	   *lits = NIL;
	ListCell   *lf;
	ListCell   *ln;

	forboth(lf, u->fields, ln, u->fnames)
	{
		JsonbValue *v = QsTreeGet(r, (char *) lfirst(ln));
		StringInfoData scratch;

		initStringInfo(&scratch);
		if (QsIsAssignedExpression((QsColumn *) lfirst(lf), v))
			lits = list_concat(lits, ExprLiterals(v, &scratch));
	}
	return lits;
}

/*
 * Compile a group's expressions over its first row: per field the
 * expression's SQL, or NULL for a plain value.  Literals become columns
 * v.lN (their types in ctx->literal_types); *nlit: how many.
 */
static List *
BulkUpdateCompileGroup(BulkUpdate *u, List *idx, int *nlit)
{
	QsCompileState *ctx = u->ctx;
	JsonbValue *first = &u->rows->val.array.elems[linitial_int(idx)];
	List	   *firstlits = RowLiterals(u, first);
	List	   *exprcols = NIL;
	ListCell   *lf;
	ListCell   *ln;

	*nlit = list_length(firstlits);
	ctx->literal_columns = true;
	ctx->literal_types = palloc0(sizeof(Oid) * Max(*nlit, 1));
	QsIndexValues(ctx, firstlits);
	ctx->top->alias = "t";
	ctx->top->joins = NIL;
	ctx->scope = ctx->top;
	forboth(lf, u->fields, ln, u->fnames)
	{
		QsColumn   *col = (QsColumn *) lfirst(lf);
		JsonbValue *v = QsTreeGet(first, (char *) lfirst(ln));

		resetStringInfo(&ctx->path);
		appendStringInfo(&ctx->path, "$[%d].%s", linitial_int(idx), (char *) lfirst(ln));
		if (QsIsAssignedExpression(col, v))
		{
			exprcols = lappend(exprcols, QsCompileExpr(ctx, v, col->basetypid)->sql);
			if (ctx->top->joins != NIL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("Joined field references are not permitted in bulk_update()"),
						 errdetail("At %s.", QsPathString(ctx))));
		}
		else
			exprcols = lappend(exprcols, NULL);
	}
	return exprcols;
}

/*
 * UPDATE t SET ... FROM ROWS FROM (unnest($1), ...) AS v(k0.., c0.., l0..)
 * WHERE t.key = v.k0 ...; *ncol: the number of array parameters.
 */
static char *
BulkUpdateSql(BulkUpdate *u, List *exprcols, int nlit, int *ncol)
{
	StringInfoData sql;
	StringInfoData cols;
	ListCell   *lf;
	ListCell   *ln;
	ListCell   *lc;
	int			k;

	initStringInfo(&sql);
	initStringInfo(&cols);
	appendStringInfo(&sql, "UPDATE %s AS t SET ", u->m->qualname);
	k = 0;
	forboth(lf, u->fields, ln, exprcols)
	{
		QsColumn   *col = (QsColumn *) lfirst(lf);

		appendStringInfo(&sql, "%s%s = %s", k > 0 ? ", " : "", quote_identifier(col->name),
						 lfirst(ln) ? (char *) lfirst(ln) : QsWriteReadParam(col, psprintf("v.c%d", k)));
		k++;
	}
	appendStringInfoString(&sql, " FROM ROWS FROM (");
	*ncol = 0;
	foreach(lc, u->pkcols)
	{
		appendStringInfo(&sql, "%spg_catalog.unnest($%d::%s)", *ncol > 0 ? ", " : "", *ncol + 1, ArrayTypeSql((QsColumn *) lfirst(lc)));
		appendStringInfo(&cols, "%sk%d", *ncol > 0 ? ", " : "", *ncol);
		(*ncol)++;
	}
	k = 0;
	forboth(lf, u->fields, ln, exprcols)
	{
		if (lfirst(ln) == NULL)
		{
			appendStringInfo(&sql, ", pg_catalog.unnest($%d::%s)", *ncol + 1, ArrayTypeSql((QsColumn *) lfirst(lf)));
			appendStringInfo(&cols, ", c%d", k);
			(*ncol)++;
		}
		k++;
	}
	for (k = 0; k < nlit; k++)
	{
		appendStringInfo(&sql, ", pg_catalog.unnest($%d::%s)", *ncol + 1,
						 format_type_extended(get_array_type(u->ctx->literal_types[k]), -1, FORMAT_TYPE_FORCE_QUALIFY));
		appendStringInfo(&cols, ", l%d", k);
		(*ncol)++;
	}
	appendStringInfo(&sql, ") AS v(%s) WHERE ", cols.data);
	k = 0;
	foreach(lc, u->pkcols)
	{
		QsColumn   *pk = (QsColumn *) lfirst(lc);

		appendStringInfo(&sql, "%st.%s %s %s", k > 0 ? " AND " : "", quote_identifier(pk->name),
						 QsOp("=", pk->basetypid, pk->basetypid), QsWriteReadParam(pk, psprintf("v.k%d", k)));
		k++;
	}

	/*
	 * On Citus a scoped table's rows all belong to the current tenant (its
	 * policies refuse the others): saying so as a parameter routes the
	 * statement to the tenant's one shard instead of every shard.
	 */
	u->tenant = QsOnCitus(u->ctx) ? QsTenantColumn(u->m) : NULL;
	if (u->tenant)
		appendStringInfo(&sql, " AND t.%s %s $%d", quote_identifier(u->tenant->name),
						 QsOperatorSql(u->m->tenant_opno), *ncol + 1);
	return sql.data;
}

/* One column's values over rows start..start+nb of a group, as an array parameter. */
static Datum
BatchColumn(BulkUpdate *u, List *idx, int start, int nb, QsColumn *col, const char *name, bool key)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(nb, 1));
	bool	   *dn = palloc(sizeof(bool) * Max(nb, 1));
	int			j;

	for (j = 0; j < nb; j++)
	{
		int			ri = list_nth_int(idx, start + j);
		JsonbValue *r = &u->rows->val.array.elems[ri];

		CHECK_FOR_INTERRUPTS();
		resetStringInfo(&u->ctx->path);
		appendStringInfo(&u->ctx->path, "$[%d].%s", ri, name);
		d[j] = QsColumnDatum(u->ctx, col, key ? RowKeyValue(u, r, col) : QsTreeGet(r, name), &dn[j]);
	}
	return ColumnArray(col, d, dn, nb);
}

/* The literals of each row's expressions as nlit arrays (one per literal column). */
static void
BatchLiterals(BulkUpdate *u, List *idx, int start, int nb, int nlit, Oid *types, Datum *arrays)
{
	Datum	  **litvals = palloc(sizeof(Datum *) * Max(nlit, 1));
	bool	  **litnulls = palloc(sizeof(bool *) * Max(nlit, 1));
	int			j;
	int			k;

	for (k = 0; k < nlit; k++)
	{
		litvals[k] = palloc(sizeof(Datum) * Max(nb, 1));
		litnulls[k] = palloc(sizeof(bool) * Max(nb, 1));
	}
	for (j = 0; j < nb && nlit > 0; j++)
	{
		int			ri = list_nth_int(idx, start + j);
		ListCell   *ll;

		k = 0;
		foreach(ll, RowLiterals(u, &u->rows->val.array.elems[ri]))
		{
			resetStringInfo(&u->ctx->path);
			appendStringInfo(&u->ctx->path, "$[%d]", ri);
			litvals[k][j] = QsCoerceValue(u->ctx, (JsonbValue *) lfirst(ll), u->ctx->literal_types[k],
										  "Value", &litnulls[k][j]);
			k++;
		}
	}
	for (k = 0; k < nlit; k++)
	{
		int16		typlen;
		bool		typbyval;
		char		typalign;
		int			dims[1];
		int			lbs[1] = {1};

		get_typlenbyvalalign(u->ctx->literal_types[k], &typlen, &typbyval, &typalign);
		dims[0] = nb;
		types[k] = get_array_type(u->ctx->literal_types[k]);
		arrays[k] = PointerGetDatum(construct_md_array(litvals[k], litnulls[k], 1, dims, lbs,
													   u->ctx->literal_types[k], typlen, typbyval, typalign));
	}
}

/* Run the group's statement over rows start..start+nb: keys, plain values, literals. */
static uint64
BulkUpdateBatch(BulkUpdate *u, List *idx, int start, int nb, const char *sql, int ncol,
				List *exprcols, int nlit)
{
	Oid		   *types = palloc(sizeof(Oid) * (ncol + 1));
	Datum	   *arrays = palloc(sizeof(Datum) * (ncol + 1));
	bool	   *anulls = palloc0(sizeof(bool) * (ncol + 1));
	int			a = 0;
	ListCell   *lf;
	ListCell   *ln;
	ListCell   *lc;
	uint64		n;

	u->ctx->literal_columns = false;
	foreach(lc, u->pkcols)
	{
		QsColumn   *pk = (QsColumn *) lfirst(lc);

		types[a] = get_array_type(QsWriteParamType(pk));
		arrays[a++] = BatchColumn(u, idx, start, nb, pk, pk->name, true);
	}
	forthree(lf, u->fields, ln, u->fnames, lc, exprcols)
	{
		QsColumn   *col = (QsColumn *) lfirst(lf);

		if (lfirst(lc) != NULL)
			continue;
		types[a] = get_array_type(QsWriteParamType(col));
		arrays[a++] = BatchColumn(u, idx, start, nb, col, (char *) lfirst(ln), false);
	}
	BatchLiterals(u, idx, start, nb, nlit, types + a, arrays + a);
	if (u->tenant)
	{
		types[ncol] = u->tenant->typid;
		arrays[ncol] = QsTenantDatum(u->tenant->typid, &anulls[ncol]);
	}
	n = QsRunWriteSql(u->m, sql, ncol + (u->tenant ? 1 : 0), types, arrays, anulls);
	u->ctx->literal_columns = true;
	return n;
}

PG_FUNCTION_INFO_V1(qs_bulk_update);

/*
 * qs.bulk_update(model, rows jsonb, fields text[] [, options jsonb]) ->
 * bigint: UPDATE t SET f = v.f, ... FROM ROWS FROM (unnest(<typed array>), ...) AS v(pk,
 * f, ...) WHERE t.pk = v.pk -- one statement per batch, whatever the
 * number of rows.  A value may be an expression ({"+": [{"F": "stock"},
 * 3]}): rows whose expressions have the same shape share a statement,
 * with each row's literals as columns of the record set.
 */
Datum
qs_bulk_update(PG_FUNCTION_ARGS)
{
	MemoryContext outer_cxt = CurrentMemoryContext;
	BulkUpdate	u;
	List	   *groups;
	ListCell   *lg;
	uint64		total = 0;

	memset(&u, 0, sizeof(u));
	u.m = QsModelGet(PG_GETARG_OID(0));
	u.rows = QsWriteTreeArg(fcinfo, 1, "rows", true);
	u.o = ParseOptions(fcinfo, 3, " batch_size max_affected ");
	u.ctx = QsWriteContext(u.m);
	BulkUpdateFields(&u, fcinfo);
	groups = BulkUpdateGroups(&u);

	SPI_connect();
	/* results outlive SPI_finish(): build them in the caller's context */
	MemoryContextSwitchTo(outer_cxt);
	foreach(lg, groups)
	{
		List	   *idx = (List *) lfirst(lg);
		int			total_rows = list_length(idx);
		int64		batch = u.o->batch_size > 0 ? u.o->batch_size : total_rows;
		int			nlit;
		int			ncol;
		List	   *exprcols = BulkUpdateCompileGroup(&u, idx, &nlit);
		char	   *sql = BulkUpdateSql(&u, exprcols, nlit, &ncol);
		int			start;

		for (start = 0; start < total_rows; start = (int) Min((int64) start + batch, (int64) total_rows))
		{
			int			end = (int) Min((int64) total_rows, (int64) start + batch);

			total += BulkUpdateBatch(&u, idx, start, end - start, sql, ncol, exprcols, nlit);
			QsGuardAffected(total, "qs.bulk_update()");
		}
		u.ctx->literal_columns = false;
	}
	SPI_finish();
	if (u.o->max_affected > 0 && total > (uint64) u.o->max_affected)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("bulk_update() would change " UINT64_FORMAT " rows, more than max_affected (" INT64_FORMAT ")",
						total, u.o->max_affected),
				 errhint("Nothing was changed.")));
	PG_RETURN_INT64((int64) total);
}
