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

/* JSON semantic actions return an error code since 16 (void before: no early stop) */
#if PG_VERSION_NUM >= 160000
#define QS_JSON_ACTION JsonParseErrorType
#define QS_JSON_CONTINUE return JSON_SUCCESS
#define QS_JSON_STOP return JSON_SEM_ACTION_FAILED
#else
#define QS_JSON_ACTION void
#define QS_JSON_CONTINUE return
#define QS_JSON_STOP return
#endif

/* a JSON lexer over a string: filled in place (and freed) since 17, allocated before */
#if PG_VERSION_NUM >= 170000
#define QsJsonLexer(buf, json, len) \
	makeJsonLexContextCstringLen((buf), (json), (len), GetDatabaseEncoding(), true)
#define QsJsonLexerFree(lex) freeJsonLexContext(lex)
#else
#define QsJsonLexer(buf, json, len) \
	((void) (buf), makeJsonLexContextCstringLen((json), (len), GetDatabaseEncoding(), true))
#define QsJsonLexerFree(lex) ((void) (lex))
#endif

/* numeric input without raising (soft errors since 16; before: never tried) */
#if PG_VERSION_NUM >= 160000
#include "nodes/miscnodes.h"
typedef ErrorSaveContext QsSoftError;
#define QS_SOFT_ERROR_INIT {T_ErrorSaveContext}
#define QsNumericInSafe(str, result, escontext) \
	DirectInputFunctionCallSafe(numeric_in, (str), InvalidOid, -1, (Node *) (escontext), (result))
#else
typedef int QsSoftError;
#define QS_SOFT_ERROR_INIT 0
#define QsNumericInSafe(str, result, escontext) ((void) (str), (void) (result), (void) (escontext), false)
#endif

#endif							/* QS_COMPAT_H */
