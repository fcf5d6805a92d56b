/*
 * path.h
 *	  path.c: field paths resolved to SQL expressions, with the joins and
 *	  relation hops they need, composite keys as fields, and the tenant
 *	  predicate of every table a statement reads.
 */
#ifndef QS_PATH_H
#define QS_PATH_H

#include "state.h"

extern QsExpr *QsResolvePath(QsCompileState *ctx, const char *path, bool in_lookup);
extern List *QsSplitPath(QsCompileState *ctx, const char *path);
extern QsRelation *QsFindRelation(QsCompileState *ctx, QsModel *model, const char *name);
extern int	QsToManyPrefix(QsCompileState *ctx, QsModel *model, const char *path, QsRelation **rel_out);
extern char *QsPathHead(QsCompileState *ctx, const char *path, int n, const char **rest);
extern QsScope *QsOpenToMany(QsCompileState *ctx, const char *prefix, QsRelation *rel,
							 char **from_sql, char **corr);
extern char *QsScopeJoins(QsScope *scope);
extern char *QsKeyEquality(Oid lrel, const char *lalias, AttrNumber *lkeys, Oid rrel,
						   const char *ralias, AttrNumber *rkeys, int n);
extern void QsUnknownField(QsCompileState *ctx, QsModel *model, const char *name);
extern QsColumn *QsPkColumn(QsCompileState *ctx, QsModel *model);
extern QsExpr *QsPkKeyExpr(QsModel *model, const char *alias, bool outer);
extern char *QsTenantCond(QsCompileState *ctx, QsModel *m, const char *alias);
extern char *QsWithTenant(QsCompileState *ctx, char *cond, Oid relid, const char *alias);

#endif							/* QS_PATH_H */
