/*
 * manager.h
 *	  manager.c: managers and methods: "manager" and "use" expanded into
 *	  a plain spec before it is compiled.
 */
#ifndef QS_MANAGER_H
#define QS_MANAGER_H

#include "pg_queryset.h"

extern JsonbValue *QsExpandTree(JsonbValue *tree);

#endif							/* QS_MANAGER_H */
