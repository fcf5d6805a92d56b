/*
 * setop.h
 *	  setop.c: union(), intersection() and difference() as one statement.
 */
#ifndef QS_SETOP_H
#define QS_SETOP_H

#include "state.h"

extern char *QsBuildCombined(QsCompileState *ctx, QsTarget target);

#endif							/* QS_SETOP_H */
