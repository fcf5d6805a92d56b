/*
 * exec.h
 *	  exec.c: the terminals (json, rows, fetch, count, exists, get, first,
 *	  ...), and preparing and running a statement for the write functions.
 */
#ifndef QS_EXEC_H
#define QS_EXEC_H

#include "compile.h"

extern QsCompiledQuery *QsPrepareSpec(JsonbValue *tree, QsTarget target, const char *variant);
extern uint64 QsRunWrite(QsCompiledQuery *c, bool want_rows);

#endif							/* QS_EXEC_H */
