/*-------------------------------------------------------------------------
 *
 * compat.h
 *		Where PostgreSQL's C API differs between the supported majors: every
 *		PG_VERSION_NUM test of the extension lives here, and the code calls
 *		the names below.  Supported: PostgreSQL 15 and later (tested: 15, 17,
 *		18; docs/configuration.md, "Tested PostgreSQL majors").
 *
 *-------------------------------------------------------------------------
 */
#ifndef QS_COMPAT_H
#define QS_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 150000
#error "pg_queryset needs PostgreSQL 15 or later (docs/configuration.md, \"Tested PostgreSQL majors\")"
#endif

#include "catalog/pg_class.h"
#include "commands/sequence.h"
#include "common/base64.h"
#include "executor/executor.h"
#include "nodes/pg_list.h"
#include "parser/parse_type.h"
#include "utils/acl.h"
#include "utils/rel.h"
#include "utils/regproc.h"

/* query ids: the jumbling header moved to nodes/ in 16 */
#if PG_VERSION_NUM >= 160000
#include "nodes/queryjumble.h"
#else
#include "utils/queryjumble.h"
#endif

/* the identity sequence of a column: takes the Relation since 17 */
#if PG_VERSION_NUM >= 170000
#define QsIdentitySequence(rel, attnum) getIdentitySequence((rel), (attnum), false)
#else
#define QsIdentitySequence(rel, attnum) getIdentitySequence(RelationGetRelid(rel), (attnum), false)
#endif

/* parsers that take a soft-error context since 16 (NULL: raise) */
#if PG_VERSION_NUM >= 160000
#define QsParseTypeString(str, typid, typmod) ((void) parseTypeString((str), (typid), (typmod), NULL))
#define QsQualifiedNameList(str) stringToQualifiedNameList((str), NULL)
#else
#define QsParseTypeString(str, typid, typmod) parseTypeString((str), (typid), (typmod), false)
#define QsQualifiedNameList(str) stringToQualifiedNameList(str)
#endif

/* ownership checks: one function for every object class since 16 */
#if PG_VERSION_NUM >= 160000
#define QsOwnsRelation(relid, role) object_ownercheck(RelationRelationId, (relid), (role))
#else
#define QsOwnsRelation(relid, role) pg_class_ownercheck((relid), (role))
#endif

/* the ExecutorRun hook lost its execute_once argument in 18 */
#if PG_VERSION_NUM >= 180000
#define QS_EXECUTOR_RUN_PARAMS QueryDesc *queryDesc, ScanDirection direction, uint64 count
#define QS_EXECUTOR_RUN_ARGS queryDesc, direction, count
#else
#define QS_EXECUTOR_RUN_PARAMS QueryDesc *queryDesc, ScanDirection direction, uint64 count, bool execute_once
#define QS_EXECUTOR_RUN_ARGS queryDesc, direction, count, execute_once
#endif

/* base64 decoding writes bytes (uint8 *) since 18 */
#if PG_VERSION_NUM >= 180000
#define QsB64Decode(src, len, dst, dstlen) pg_b64_decode((src), (len), (uint8 *) (dst), (dstlen))
#else
#define QsB64Decode(src, len, dst, dstlen) pg_b64_decode((src), (len), (dst), (dstlen))
#endif

/* base64 encoding reads bytes (const uint8 *) since 18 */
#if PG_VERSION_NUM >= 180000
#define QsB64Encode(src, len, dst, dstlen) pg_b64_encode((const uint8 *) (src), (len), (dst), (dstlen))
#else
#define QsB64Encode(src, len, dst, dstlen) pg_b64_encode((src), (len), (dst), (dstlen))
#endif

#endif							/* QS_COMPAT_H */
