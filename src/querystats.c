/*
 * querystats.c
 *	  Statement counting, N+1 detection and query budgets, for every
 *	  client of the session (DESIGN.md §7).
 *
 * Executor hooks (chained with any installed before) count the statements
 * of the session by query id.  A statement is top-level when the executor
 * is not already running another one (what a client sent); the statements
 * of functions, triggers and qs.* terminals run inside it are nested.
 *
 * Per transaction, when pg_queryset.nplusone is warn or error and one
 * top-level shape runs more than pg_queryset.nplusone_threshold times, the
 * next run raises a WARNING (once per shape) or an ERROR naming the shape;
 * a transaction running more top-level statements than
 * pg_queryset.query_budget fails (Django's assertNumQueries).
 *
 * With pg_queryset.query_stats, nplusone and query_budget all off, the
 * hooks only pass control on.  Query ids come from PostgreSQL's own
 * computation (compute_query_id, enabled by _PG_init on 14+).
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"

#include <ctype.h>

#include "access/xact.h"
#include "executor/executor.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "pg_queryset.h"		/* compat.h brings the query jumbling header */

#include "querystats.h"
#include "spec.h"

#define QS_STATS_MAX_SHAPES 2000	/* distinct shapes remembered per session */
#define QS_STATS_SAMPLE_LEN 300		/* bytes of sample text kept per shape */

/* GUCs (pg_queryset.c) */
bool		qs_track_stats = false;
int			qs_nplusone = QS_NPLUSONE_OFF;
int			qs_nplusone_threshold = 10;
int			qs_query_budget = 0;

typedef struct QsStatEnt
{
	uint64		queryid;		/* hash key */
	int64		calls;			/* top-level runs this session */
	int64		nested;			/* nested runs this session */
	int64		rows;			/* rows processed by top-level runs */
	int64		xact_calls;		/* top-level runs in the current transaction */
	uint64		xact_gen;		/* ... counted in this transaction generation */
	bool		warned;			/* N+1 warning given in that transaction */
	char		sample[QS_STATS_SAMPLE_LEN + 1];
} QsStatEnt;

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;

static int	nesting_level = 0;
static HTAB *stats = NULL;
static uint64 xact_gen = 1;		/* bumped at every transaction end */
static int64 xact_statements = 0;	/* top-level statements this transaction */
static int64 session_statements = 0;
static int64 session_nested = 0;
static int64 session_rows = 0;
static int64 session_untracked = 0; /* statements without a query id */

/* Can c continue an identifier (or a $n parameter, or a dollar-quote tag)? */
static bool
IdentChar(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

/* Past a (nested) block comment starting at p. */
static const char *
SkipBlockComment(const char *p)
{
	int			depth = 0;

	do
	{
		if (p[0] == '/' && p[1] == '*')
		{
			depth++;
			p += 2;
		}
		else if (p[0] == '*' && p[1] == '/')
		{
			depth--;
			p += 2;
		}
		else
			p++;
	} while (*p && depth > 0);
	return p;
}

/*
 * Past a '...' string starting at p (E'...' takes backslash escapes; ''
 * is a quote either way); NULL when it is not terminated.
 */
static const char *
SkipString(const char *src, const char *p)
{
	bool		escapes = (p > src && (p[-1] == 'E' || p[-1] == 'e') &&
						   (p - 1 == src || !IdentChar((unsigned char) p[-2])));

	p++;
	while (*p)
	{
		if (escapes && *p == '\\' && p[1])
			p += 2;
		else if (*p == '\'' && p[1] == '\'')
			p += 2;
		else if (*p == '\'')
			break;
		else
			p++;
	}
	return *p == '\0' ? NULL : p + 1;
}

/*
 * Past a dollar-quoted string $tag$ ... $tag$ starting at p; p itself
 * when "$" does not open one, NULL when it is not terminated.
 */
static const char *
SkipDollarQuote(const char *p)
{
	const char *t = p + 1;
	int			taglen;
	const char *end;

	while (*t && *t != '$' && (isalnum((unsigned char) *t) || *t == '_' || (unsigned char) *t >= 0x80))
		t++;
	if (*t != '$')
		return p;
	taglen = t - p + 1;
	end = t + 1;
	while (*end && strncmp(end, p, taglen) != 0)
		end++;
	return *end == '\0' ? NULL : end + taglen;
}

/* Past a number: 42, 4.2, 4e-2, 0x2A, 1_000, or .5 (no second dot). */
static const char *
SkipNumber(const char *p)
{
	bool		dots = (*p != '.');

	if (*p == '.')
		p++;
	while (*p && (isalnum((unsigned char) *p) || (dots && *p == '.') || *p == '_' ||
				  ((*p == '+' || *p == '-') && (p[-1] == 'e' || p[-1] == 'E'))))
		p++;
	return p;
}

/* Copy a "quoted identifier" (kept as it is) to out; returns the position after it. */
static const char *
CopyQuotedIdent(StringInfo out, const char *p)
{
	appendStringInfoChar(out, *p++);
	while (*p)
	{
		if (*p == '"' && p[1] == '"')
		{
			appendStringInfoString(out, "\"\"");
			p += 2;
		}
		else if (*p == '"')
			break;
		else
			appendStringInfoChar(out, *p++);
	}
	if (*p)
		appendStringInfoChar(out, *p++);
	return p;
}

/*
 * The sample text of a shape, with every constant replaced by ? and
 * comments dropped, whitespace folded, cut at QS_STATS_SAMPLE_LEN bytes
 * on a character boundary.  qs.query_stats() and the N+1 message show
 * it; a literal (a tenant token, a password, another tenant's value) is
 * never kept (docs/threat-model.md).  A small scanner of PostgreSQL's
 * lexical rules rather than the parser's: it runs on text the parser
 * already accepted, never raises an error, and on anything it does not
 * recognise (an unterminated string) drops the rest.
 */
static void
NormaliseSample(const char *src, char *dst, int dstlen)
{
	StringInfoData out;
	const char *p = src ? src : "";
	bool		space = false;

	initStringInfo(&out);
	while (*p && out.len < dstlen)
	{
		unsigned char c = (unsigned char) *p;
		bool		prev_ident = (p > src && IdentChar((unsigned char) p[-1]));

		CHECK_FOR_INTERRUPTS();
		if (isspace(c))
		{
			space = true;
			p++;
			continue;
		}
		if (space && out.len > 0)
			appendStringInfoChar(&out, ' ');
		space = false;
		if (c == '-' && p[1] == '-')
		{
			while (*p && *p != '\n')
				p++;
			space = true;
		}
		else if (c == '/' && p[1] == '*')
		{
			p = SkipBlockComment(p);
			space = true;
		}
		else if (c == '\'')
		{
			if ((p = SkipString(src, p)) == NULL)
				break;			/* unterminated: nothing after it is kept */
			appendStringInfoChar(&out, '?');
		}
		else if (c == '$' && !prev_ident && (p[1] == '$' || isalpha((unsigned char) p[1]) || p[1] == '_'))
		{
			const char *end = SkipDollarQuote(p);

			if (end == NULL)
				break;
			if (end == p)
			{
				appendStringInfoChar(&out, '$');	/* not a quote after all */
				p++;
				continue;
			}
			p = end;
			appendStringInfoChar(&out, '?');
		}
		else if ((isdigit(c) || (c == '.' && isdigit((unsigned char) p[1]))) && !prev_ident)
		{
			p = SkipNumber(p);
			appendStringInfoChar(&out, '?');
		}
		else if (c == '"')
			p = CopyQuotedIdent(&out, p);
		else if (c == '$' && isdigit((unsigned char) p[1]))
		{
			/* a parameter: kept */
			appendStringInfoChar(&out, *p++);
			while (isdigit((unsigned char) *p))
				appendStringInfoChar(&out, *p++);
		}
		else if (IdentChar(c))
		{
			while (*p && IdentChar((unsigned char) *p))
				appendStringInfoChar(&out, *p++);
		}
		else
			appendStringInfoChar(&out, *p++);
	}
	if (out.len > dstlen)
		out.len = pg_mbcliplen(out.data, out.len, dstlen);
	memcpy(dst, out.data, out.len);
	dst[out.len] = '\0';
	pfree(out.data);
}

/* Are statistics, N+1 detection or a budget in force? */
static bool
Active(void)
{
	return qs_track_stats || qs_nplusone != QS_NPLUSONE_OFF || qs_query_budget > 0;
}

/* The counters of a query id, created on first use. */
static QsStatEnt *
StatEntry(uint64 queryid, const char *text)
{
	QsStatEnt  *e;
	bool		found;

	if (stats == NULL)
	{
		HASHCTL		hc;

		memset(&hc, 0, sizeof(hc));
		hc.keysize = sizeof(uint64);
		hc.entrysize = sizeof(QsStatEnt);
		hc.hcxt = TopMemoryContext;
		stats = hash_create("pg_queryset statement stats", 256, &hc,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	e = hash_search(stats, &queryid, HASH_FIND, NULL);
	if (e == NULL)
	{
		if (hash_get_num_entries(stats) >= QS_STATS_MAX_SHAPES)
			return NULL;		/* totals still count */
		e = hash_search(stats, &queryid, HASH_ENTER, &found);
		e->calls = e->nested = e->rows = e->xact_calls = 0;
		e->xact_gen = 0;
		e->warned = false;
		NormaliseSample(text, e->sample, QS_STATS_SAMPLE_LEN);
	}
	if (e->xact_gen != xact_gen)
	{
		e->xact_gen = xact_gen;
		e->xact_calls = 0;
		e->warned = false;
	}
	return e;
}

/* The start of a statement: count it, then enforce the budget and N+1 rule. */
static void
QsExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (Active() && !(eflags & EXEC_FLAG_EXPLAIN_ONLY))
	{
		uint64		queryid = queryDesc->plannedstmt->queryId;
		QsStatEnt  *e = NULL;

		if (queryid == UINT64CONST(0))
			session_untracked++;
		else
			e = StatEntry(queryid, queryDesc->sourceText);
		if (nesting_level > 0)
		{
			session_nested++;
			if (e)
				e->nested++;
		}
		else
		{
			session_statements++;
			xact_statements++;
			if (e)
			{
				e->calls++;
				e->xact_calls++;
			}
			if (qs_query_budget > 0 && xact_statements > qs_query_budget)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("query budget exceeded: statement " INT64_FORMAT " of this transaction, "
								"the budget is %d", xact_statements, qs_query_budget),
						 errdetail("Statement: %.200s", queryDesc->sourceText ? queryDesc->sourceText : ""),
						 errhint("Fetch what the transaction needs in fewer statements (qs.json with "
								 "select_related / prefetch_related), or raise pg_queryset.query_budget.")));
			if (e && qs_nplusone != QS_NPLUSONE_OFF && e->xact_calls > qs_nplusone_threshold &&
				(qs_nplusone == QS_NPLUSONE_ERROR || !e->warned))
			{
				e->warned = true;
				ereport(qs_nplusone == QS_NPLUSONE_ERROR ? ERROR : WARNING,
						(errcode(qs_nplusone == QS_NPLUSONE_ERROR ? ERRCODE_PROGRAM_LIMIT_EXCEEDED : ERRCODE_WARNING),
						 errmsg("N+1 queries: the same statement ran " INT64_FORMAT " times in this transaction "
								"(pg_queryset.nplusone_threshold is %d)", e->xact_calls, qs_nplusone_threshold),
						 errdetail("Statement (query id " INT64_FORMAT "): %.200s", (int64) queryid, e->sample),
						 errhint("Fetch the related rows with the parents in one statement: qs.json() with "
								 "prefetch_related or select_related, or one query over all the parents' keys.")));
			}
		}
	}
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/* ExecutorRun hook: nesting depth around the run. */
static void
QsExecutorRun(QS_EXECUTOR_RUN_PARAMS)
{
	nesting_level++;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(QS_EXECUTOR_RUN_ARGS);
		else
			standard_ExecutorRun(QS_EXECUTOR_RUN_ARGS);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
}

/* ExecutorFinish hook: nesting depth around the finish. */
static void
QsExecutorFinish(QueryDesc *queryDesc)
{
	nesting_level++;
	PG_TRY();
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
}

/* ExecutorEnd hook: pass on. */
static void
QsExecutorEnd(QueryDesc *queryDesc)
{
	if (Active() && nesting_level == 0 && queryDesc->estate != NULL &&
		!(queryDesc->estate->es_top_eflags & EXEC_FLAG_EXPLAIN_ONLY))
	{
		uint64		n = queryDesc->estate->es_processed;

		session_rows += (int64) n;
		if (stats && queryDesc->plannedstmt->queryId != UINT64CONST(0))
		{
			QsStatEnt  *e = hash_search(stats, &queryDesc->plannedstmt->queryId, HASH_FIND, NULL);

			if (e)
				e->rows += (int64) n;
		}
	}
	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/* A transaction ended: its per-transaction counts start again. */
static void
QsStatsXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			xact_gen++;
			xact_statements = 0;
			/* nesting_level is kept right by the PG_FINALLY blocks above */
			break;
		default:
			break;
	}
}

/* Install the executor hooks and define the statistics settings. */
void
QsQueryStatsInit(void)
{
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = QsExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = QsExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = QsExecutorFinish;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = QsExecutorEnd;
	RegisterXactCallback(QsStatsXactCallback, NULL);
	/* query ids for every statement, as pg_stat_statements asks for them */
	EnableQueryId();
}

/* ---------------------------------------------------------------------
 * SQL-callable
 * ---------------------------------------------------------------------
 */

/* Sort statistics entries by calls, most first. */
static int
CompareCalls(const void *a, const void *b)
{
	const QsStatEnt *x = *(const QsStatEnt *const *) a;
	const QsStatEnt *y = *(const QsStatEnt *const *) b;

	if (x->calls != y->calls)
		return x->calls > y->calls ? -1 : 1;
	if (x->nested != y->nested)
		return x->nested > y->nested ? -1 : 1;
	return x->queryid < y->queryid ? -1 : (x->queryid > y->queryid ? 1 : 0);
}

/* A JSON number node. */
static JsonbValue *
NumberTree(int64 v)
{
	return QsTreeNumeric(v);
}

PG_FUNCTION_INFO_V1(qs_query_stats);

/*
 * qs.query_stats(top integer DEFAULT 10) -> jsonb: what this session ran
 * since the last reset -- top-level and nested statements, distinct
 * shapes, rows, and the most repeated shapes with a sample of their text.
 */
Datum
qs_query_stats(PG_FUNCTION_ARGS)
{
	int			top = PG_ARGISNULL(0) ? 10 : PG_GETARG_INT32(0);
	JsonbValue *res = QsTreeObject();
	List	   *shapes = NIL;
	long		n = stats ? hash_get_num_entries(stats) : 0;
	QsStatEnt **all = palloc(sizeof(QsStatEnt *) * Max(n, 1));
	HASH_SEQ_STATUS seq;
	QsStatEnt  *e;
	long		i = 0;
	long		k;

	if (stats)
	{
		hash_seq_init(&seq, stats);
		while ((e = hash_seq_search(&seq)) != NULL)
			all[i++] = e;
	}
	qsort(all, i, sizeof(QsStatEnt *), CompareCalls);
	for (k = 0; k < i && k < top; k++)
	{
		JsonbValue *s = QsTreeObject();

		QsTreeSet(s, "queryid", NumberTree((int64) all[k]->queryid));
		QsTreeSet(s, "calls", NumberTree(all[k]->calls));
		QsTreeSet(s, "nested_calls", NumberTree(all[k]->nested));
		QsTreeSet(s, "rows", NumberTree(all[k]->rows));
		QsTreeSet(s, "sample", QsTreeString(all[k]->sample));
		shapes = lappend(shapes, s);
	}
	QsTreeSet(res, "enabled", QsTreeBool(Active()));
	QsTreeSet(res, "statements", NumberTree(session_statements));
	QsTreeSet(res, "nested_statements", NumberTree(session_nested));
	QsTreeSet(res, "shapes", NumberTree((int64) i));
	QsTreeSet(res, "rows", NumberTree(session_rows));
	QsTreeSet(res, "untracked", NumberTree(session_untracked));
	QsTreeSet(res, "transaction_statements", NumberTree(xact_statements));
	QsTreeSet(res, "top", QsTreeArray(shapes));
	PG_RETURN_JSONB_P(QsTreeToJsonb(res));
}

PG_FUNCTION_INFO_V1(qs_query_stats_reset);

/* qs.query_stats_reset() -> void: forget the session's counts. */
Datum
qs_query_stats_reset(PG_FUNCTION_ARGS)
{
	if (stats)
	{
		hash_destroy(stats);
		stats = NULL;
	}
	session_statements = session_nested = session_rows = session_untracked = 0;
	PG_RETURN_VOID();
}
