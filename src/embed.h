/*
 * embed.h
 *	  embed.c: select_related and prefetch_related embedded in each row.
 */
#ifndef QS_EMBED_H
#define QS_EMBED_H

#include "row.h"

extern List *QsBuildEmbeds(QsCompileState *ctx);
extern char *QsEmbedSql(QsCompileState *ctx, QsEmbed *e, const char *from_alias, bool json,
						const char *prefix, StringInfo joins);
extern bool QsNestedListed(List *names, const char *prefix, const char *field, bool *restricted);

#endif							/* QS_EMBED_H */
