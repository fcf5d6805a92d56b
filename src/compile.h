/*
 * compile.h
 *	  compile.c: a validated spec compiled for one terminal into ONE
 *	  statement (SQL text with $n placeholders) and its typed parameters.
 *	  The entry point of the compile modules; it executes nothing.
 */
#ifndef QS_COMPILE_H
#define QS_COMPILE_H

#include "state.h"

typedef struct QsCompiledQuery
{
	char	   *sql;
	int			nparams;
	Oid		   *ptypes;
	Datum	   *pvalues;
	bool	   *pnulls;
	List	   *relids;			/* Oids of every relation the SQL reads */
	QsModel    *model;
	QsParamRecipe *recipes;			/* one per parameter */
	int			nlookups;		/* lookups in the spec's Q tree */
	char	   *model_display;	/* for messages */
	bool		writes;			/* locks or modifies rows: SPI read_only off */
	bool		skewed;			/* an equality parameter on a skewed column */
	bool		keyset;			/* a keyset page (keyset.c): the plan choice prefers a generic plan */
	uint64		sql_hash;		/* hash of sql and ptypes, 0 until plancache.c computes it */
} QsCompiledQuery;

extern QsCompiledQuery *QsCompileSpec(QsSpec *spec, QsTarget target,
								 TupleDesc fetch_desc, const char *in_bulk_field,
								 JsonbValue *in_bulk_ids);

#endif							/* QS_COMPILE_H */
