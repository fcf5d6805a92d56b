/*
 * writecol.c
 *	  A column of a written row: which columns a write may name, and a
 *	  JSON value as that column's Datum.
 *
 * Shared by the statement path of the writes (write.c) and the COPY path
 * of bulk_create (bulkload.c), so both accept and refuse exactly the same
 * values with the same errors.  Types without a typed array (arrays,
 * composites, ranges) travel as text and are cast in the statement.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "exprfn.h"
#include "model.h"
#include "param.h"
#include "path.h"
#include "relation.h"
#include "state.h"
#include "writecol.h"

/*
 * The column a key of a written object sets: a column, or a forward
 * relation's FK column (Django's create(category=5)).  NULL when it is
 * not one (the caller may try relations).  Checks the allow-list and
 * generated columns.
 */
QsColumn *
QsWriteColumn(QsCompileState *ctx, QsModel *m, const char *name, List *allowed, bool has_allowed)
{
	QsColumn   *col = QsModelColumn(m, name);

	if (col == NULL)
	{
		QsRelation *rel = QsFindRelation(ctx, m, name);

		if (rel == NULL || rel->kind != QS_REL_FORWARD || rel->nkeys != 1)
			return NULL;
		col = QsModelColumn(m, get_attname(m->relid, rel->keys[0], false));
	}
	if (has_allowed && !QsNameInList(allowed, name))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("field \"%s\" is not in the allowed fields of this call", name),
				 errdetail("At %s.", QsPathString(ctx)),
				 errhint("The fields argument is an allow-list (mass-assignment guard).")));
	if (col->generated)
		ereport(ERROR,
				(errcode(ERRCODE_GENERATED_ALWAYS),
				 errmsg("column \"%s\" is a generated column and cannot be written", col->name),
				 errdetail("At %s.", QsPathString(ctx))));
	return col;
}

/* Is a column written as text and cast (arrays, composites: no typed array of them)? */
static bool
TextMode(QsColumn *col)
{
	char		tt = get_typtype(col->basetypid);

	return OidIsValid(col->elemtypid) || tt == TYPTYPE_COMPOSITE || tt == TYPTYPE_RANGE ||
		!OidIsValid(get_array_type(col->typid));
}

/* The parameter type of one column value. */
Oid
QsWriteParamType(QsColumn *col)
{
	if (col->basetypid == JSONOID)
		return JSONBOID;
	if (TextMode(col))
		return TEXTOID;
	return col->typid;
}

/* The SQL reading a column value's parameter ref (a cast from text where needed). */
char *
QsWriteReadParam(QsColumn *col, const char *ref)
{
	if (col->basetypid == JSONOID)
		return psprintf("(%s)::pg_catalog.json", ref);
	if (TextMode(col))
		return psprintf("(%s)::%s", ref, format_type_extended(col->typid, col->typmod,
															  FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY));
	return pstrdup(ref);
}

/*
 * A JSON value as a datum of QsWriteParamType(col); *isnull for JSON null.  Also
 * raises the COPY path's errors for values it cannot render (bulkload.c).
 */
Datum
QsColumnDatum(QsCompileState *ctx, QsColumn *col, JsonbValue *v, bool *isnull)
{
	Oid			t = QsWriteParamType(col);

	if (v->type == jbvObject && QsIsExprObject(v) && col->basetypid != JSONBOID &&
		col->basetypid != JSONOID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for field \"%s\": expressions are not allowed here", col->name),
				 errdetail("At %s.", QsPathString(ctx)),
				 errhint("create() and bulk_create() take values; use qs.update() for expressions.")));
	if (t == TEXTOID && col->basetypid != TEXTOID)
	{
		/* coerce to the column's type (naming the field), send its text */
		Datum		d = QsCoerceValue(ctx, v, col->typid, col->name, isnull);
		Oid			out;
		bool		varlena;

		if (*isnull)
			return (Datum) 0;
		getTypeOutputInfo(col->typid, &out, &varlena);
		return CStringGetTextDatum(OidOutputFunctionCall(out, d));
	}
	return QsCoerceValue(ctx, v, t, col->name, isnull);
}
