/*
 * plancache.h
 *	  plancache.c: saved SPI plans keyed by SQL text, and the shape cache
 *	  (a spec's shape -> its compiled statement and parameter recipes).
 */
#ifndef QS_PLANCACHE_H
#define QS_PLANCACHE_H

#include "compile.h"

extern void QsPlanCacheInit(void);
extern SPIPlanPtr QsPlanCacheGet(QsCompiledQuery *c, int cursor_options);
extern void QsPlanCacheEnter(void);
extern void QsPlanCacheLeave(void);

/* a compiled shape, as kept by the shape cache */
typedef struct QsShape
{
	char	   *sql;
	int			nparams;
	Oid		   *ptypes;
	QsParamRecipe *recipes;
	int			nlookups;
	Oid		   *relids;
	int			nrelids;
	char	   *model_display;
	bool		writes;
	bool		skewed;			/* QsCompiledQuery.skewed */
	bool		keyset;			/* QsCompiledQuery.keyset */
	uint64		sql_hash;		/* QsCompiledQuery.sql_hash of sql and ptypes */
} QsShape;

extern QsShape *QsShapeCacheGet(const char *key, int len);
extern void QsShapeCachePut(const char *key, int len, QsCompiledQuery *c);

#endif							/* QS_PLANCACHE_H */
