/*
 * manager.c
 *	  Managers and methods (DESIGN.md §6): the C side.
 *
 * The definitions live in the config tables qs.manager and qs.method and
 * are applied by the SQL functions of src/sql/pg_queryset.sql (qs.objects,
 * qs.use, qs._expand).  Here: validating a definition when it is made
 * (qs._validate compiles it, with {"$param": name} placeholders standing
 * for values of whatever type they meet), and expanding a spec that names
 * a "manager" or "use"s methods before it is compiled.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "compile.h"
#include "manager.h"
#include "spec.h"
#include "state.h"

PG_FUNCTION_INFO_V1(qs_validate);

/*
 * qs._validate(base, part, params) -> void: apply a manager's or method's
 * part to base (qs._apply) and compile the result, or raise its error.
 * With params, placeholders compile as NULLs of the type they meet.
 */
Datum
qs_validate(PG_FUNCTION_ARGS)
{
	bool		params = PG_GETARG_BOOL(2);
	bool		save = qs_validating_params;
	MemoryContext cxt = CurrentMemoryContext;

	qs_validating_params = params;
	PG_TRY();
	{
		Oid			argtypes[2] = {JSONBOID, JSONBOID};
		Datum		values[2] = {PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)};
		bool		isnull;
		Datum		d;
		JsonbValue *tree;

		SPI_connect();
		if (SPI_execute_with_args("SELECT qs._apply($1, $2, 1)", 2, argtypes, values, NULL, true, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "pg_queryset: could not apply a definition");
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		MemoryContextSwitchTo(cxt);
		tree = QsJsonbToTree(DatumGetJsonbPCopy(d));
		SPI_finish();
		(void) QsCompileSpec(QsSpecFromTree(tree), QS_TARGET_ROWS, NULL, NULL, NULL);
	}
	PG_FINALLY();
	{
		qs_validating_params = save;
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}

/*
 * A spec naming a "manager" or "use"s methods, expanded by qs._expand()
 * into a plain spec; any other spec is returned as it is.
 */
JsonbValue *
QsExpandTree(JsonbValue *tree)
{
	MemoryContext cxt = CurrentMemoryContext;
	Oid			argtypes[1] = {JSONBOID};
	Datum		values[1];
	bool		isnull;
	Datum		d;
	JsonbValue *res;

	if (tree == NULL || tree->type != jbvObject ||
		(QsTreeGet(tree, "manager") == NULL && QsTreeGet(tree, "use") == NULL))
		return tree;
	values[0] = JsonbPGetDatum(QsTreeToJsonb(tree));
	SPI_connect();
	if (SPI_execute_with_args("SELECT qs._expand($1)", 1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "pg_queryset: could not expand the managers and methods of a spec");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	MemoryContextSwitchTo(cxt);
	res = isnull ? tree : QsJsonbToTree(DatumGetJsonbPCopy(d));
	SPI_finish();
	return res;
}
