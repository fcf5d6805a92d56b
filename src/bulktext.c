/*-------------------------------------------------------------------------
 *
 * bulktext.c
 *		The rows of qs.bulk_create_text: JSON text read in one pass by
 *		PostgreSQL's own JSON parser (common/jsonapi.h), whose semantic
 *		actions render each row straight into a COPY text line, with no
 *		jsonb tree or container in between; and COPY text escaping, shared
 *		with the jsonb reader of bulkload.c.
 *
 * Design note.  The reader decides one thing: are these rows the plain
 * case the COPY path loads (an array of non-empty objects of scalars, no
 * key given twice)?  Then it returns them rendered, grouped by their set
 * of keys as bulkload.c groups a jsonb array (groups in order of their
 * first row, keys sorted as jsonb sorts them, values in that order).
 * Anything else -- malformed JSON, a scalar or empty array at the top, a
 * row that is not an object, a nested value, a key given twice, a number
 * numeric_in would refuse -- returns NULL, having raised nothing: the
 * caller then converts the text to jsonb and runs qs.bulk_create, so every
 * error (22P02 naming the token and line of malformed JSON, the JSON path
 * of a bad row or value) is the one qs.bulk_create gives, and so is
 * jsonb's treatment of what the reader leaves alone (a key given twice
 * keeps its last value).  It must not look at the model: bulkload.c
 * checks the columns as it checks a jsonb argument's.
 *
 * Values are rendered as bulkload.c renders jsonb scalars: strings
 * de-escaped by the lexer (\u escapes, surrogate pairs) then escaped for
 * COPY, numbers in numeric_out's form (a plain number token is that form
 * already; one with an exponent, a negative zero or over 1,000 characters
 * goes through numeric_in and numeric_out), true/false, null as \N.
 *
 * Memory: everything is allocated in the caller's context (a context of
 * the call, deleted after the COPY); the parser's tokens are freed as
 * soon as they are rendered, so the memory held is about the size of
 * the rendered rows.  The parser checks the stack depth itself; the
 * reader stops at the first nested value (16 and later) or ignores the
 * rest (15).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "bulktext.h"
#include "pg_queryset.h"

/* The reader's state while the parser runs. */
typedef struct TextReader
{
	bool		odd;			/* not for the COPY path: give up */
	int			inputlen;		/* of the JSON text: sizes the first group's text */
	int			depth;			/* 0 outside, 1 in the rows array, 2 in a row */
	int			nrows;
	List	   *groups;			/* QsTextGroup * */
	/* the row being read: its keys in arrival order and their values */
	int			nf;
	int			capf;
	char	  **fkeys;
	int		   *vstart;
	int		   *vlen;
	StringInfoData rowbuf;		/* the row's values, rendered */
	/* the previous row: its arrival-order keys, its group and key order */
	int			prev_nf;
	char	  **prev_keys;
	int		   *prev_perm;		/* sorted key k is arrival key prev_perm[k] */
	QsTextGroup *prev_group;
	int		   *perm;			/* scratch for sorting a row's keys */
} TextReader;

/* Append a string to a COPY text line, escaping what text format needs. */
void
QsCopyAppendEscaped(StringInfo buf, const char *s, int len)
{
	const char *start = s;
	const char *end = s + len;

	for (; s < end; s++)
	{
		const char *esc;

		switch (*s)
		{
			case '\\':
				esc = "\\\\";
				break;
			case '\n':
				esc = "\\n";
				break;
			case '\r':
				esc = "\\r";
				break;
			case '\t':
				esc = "\\t";
				break;
			default:
				continue;
		}
		appendBinaryStringInfo(buf, start, s - start);
		appendStringInfoString(buf, esc);
		start = s + 1;
	}
	appendBinaryStringInfo(buf, start, end - start);
}

/* jsonb's order of object keys: shorter first, then bytewise. */
static int
KeyCmp(const char *a, const char *b)
{
	size_t		la = strlen(a);
	size_t		lb = strlen(b);

	if (la != lb)
		return la < lb ? -1 : 1;
	return memcmp(a, b, la);
}

/*
 * Is a JSON number token already in numeric_out's form?  Integers and
 * decimals are (JSON has no leading zeros or plus sign); an exponent is
 * not, nor a negative zero (numeric has none), and very long tokens go
 * through numeric_in for its limits.
 */
static bool
PlainNumber(const char *s)
{
	bool		nonzero = false;
	const char *p;

	for (p = s; *p; p++)
	{
		if (*p == 'e' || *p == 'E' || p - s > 1000)
			return false;
		if (*p >= '1' && *p <= '9')
			nonzero = true;
	}
	return s[0] != '-' || nonzero;
}

/* Render a scalar of the current row into rowbuf; false when the COPY path cannot take it. */
static bool
RenderScalar(TextReader *r, char *token, JsonTokenType type)
{
	switch (type)
	{
		case JSON_TOKEN_STRING:
			{
				size_t		len = strlen(token);

				if (len > JENTRY_OFFLENMASK)
					return false;	/* jsonb refuses it: let it say so */
				QsCopyAppendEscaped(&r->rowbuf, token, (int) len);
				return true;
			}
		case JSON_TOKEN_NUMBER:
			if (PlainNumber(token))
				appendStringInfoString(&r->rowbuf, token);
			else
			{
				QsSoftError escontext = QS_SOFT_ERROR_INIT;
				Datum		d;

				if (!QsNumericInSafe(token, &d, &escontext))
					return false;
				appendStringInfoString(&r->rowbuf, DatumGetCString(DirectFunctionCall1(numeric_out, d)));
			}
			return true;
		case JSON_TOKEN_TRUE:
			appendStringInfoString(&r->rowbuf, "true");
			return true;
		case JSON_TOKEN_FALSE:
			appendStringInfoString(&r->rowbuf, "false");
			return true;
		case JSON_TOKEN_NULL:
			appendStringInfoString(&r->rowbuf, "\\N");
			return true;
		default:
			return false;
	}
}

/* The group of rows with these sorted keys (perm: arrival index of each), made if new. */
static QsTextGroup *
FindGroup(TextReader *r, const int *perm)
{
	ListCell   *lg;
	QsTextGroup *g;
	int			k;

	foreach(lg, r->groups)
	{
		g = (QsTextGroup *) lfirst(lg);
		if (g->npairs != r->nf)
			continue;
		for (k = 0; k < r->nf; k++)
			if (strcmp(g->keys[k], r->fkeys[perm[k]]) != 0)
				break;
		if (k == r->nf)
			return g;
	}
	g = palloc0(sizeof(QsTextGroup));
	g->npairs = r->nf;
	g->keys = palloc(sizeof(char *) * r->nf);
	for (k = 0; k < r->nf; k++)
		g->keys[k] = pstrdup(r->fkeys[perm[k]]);
	g->cap = 64;
	g->idx = palloc(sizeof(int) * g->cap);
	g->off = palloc(sizeof(int) * (g->cap + 1));
	initStringInfo(&g->text);
	/* the first group usually holds every row: its text is shorter than the JSON */
	if (r->groups == NIL && r->inputlen > g->text.maxlen)
		enlargeStringInfo(&g->text, Min(r->inputlen, (int) (MaxAllocSize / 2)));
	g->off[0] = 0;
	r->groups = lappend(r->groups, g);
	return g;
}

/* Is the row's key order the previous row's? */
static bool
SameAsPrevious(TextReader *r)
{
	int			k;

	if (r->prev_group == NULL || r->prev_nf != r->nf)
		return false;
	for (k = 0; k < r->nf; k++)
		if (strcmp(r->prev_keys[k], r->fkeys[k]) != 0)
			return false;
	return true;
}

/*
 * A row read: sort its keys (a key given twice gives up), find its group
 * and append its values there in the group's key order.
 */
static bool
FinishRow(TextReader *r)
{
	QsTextGroup *g;
	int		   *perm;
	int			k;

	if (r->nf == 0)
		return false;			/* {}: bulkload.c leaves it to the statement path */
	if (SameAsPrevious(r))
	{
		g = r->prev_group;
		perm = r->prev_perm;
	}
	else
	{
		perm = r->perm;
		for (k = 0; k < r->nf; k++)
		{
			int			j = k;

			/* insertion sort: rows have a few keys */
			while (j > 0 && KeyCmp(r->fkeys[perm[j - 1]], r->fkeys[k]) > 0)
			{
				perm[j] = perm[j - 1];
				j--;
			}
			perm[j] = k;
			if (j > 0 && KeyCmp(r->fkeys[perm[j - 1]], r->fkeys[k]) == 0)
				return false;
			if (j + 1 <= k && KeyCmp(r->fkeys[perm[j + 1]], r->fkeys[k]) == 0)
				return false;
		}
		g = FindGroup(r, perm);
		/* remember this key order for the next row */
		for (k = 0; k < r->prev_nf; k++)
			pfree(r->prev_keys[k]);
		r->prev_keys = repalloc(r->prev_keys, sizeof(char *) * r->capf);
		r->prev_perm = repalloc(r->prev_perm, sizeof(int) * r->capf);
		for (k = 0; k < r->nf; k++)
		{
			r->prev_keys[k] = pstrdup(r->fkeys[k]);
			r->prev_perm[k] = perm[k];
		}
		r->prev_nf = r->nf;
		r->prev_group = g;
		perm = r->prev_perm;
	}
	if (g->n == g->cap)
	{
		g->cap *= 2;
		g->idx = repalloc(g->idx, sizeof(int) * g->cap);
		g->off = repalloc(g->off, sizeof(int) * (g->cap + 1));
	}
	for (k = 0; k < r->nf; k++)
	{
		if (k > 0)
			appendStringInfoChar(&g->text, '\t');
		appendBinaryStringInfo(&g->text, r->rowbuf.data + r->vstart[perm[k]], r->vlen[perm[k]]);
	}
	g->idx[g->n] = r->nrows;
	g->n++;
	g->off[g->n] = g->text.len;
	for (k = 0; k < r->nf; k++)
		pfree(r->fkeys[k]);
	r->nf = 0;
	r->nrows++;
	return true;
}

/* object_start: a row begins; an object anywhere else gives up. */
static QS_JSON_ACTION
ReadObjectStart(void *state)
{
	TextReader *r = (TextReader *) state;

	if (r->odd || r->depth != 1)
	{
		r->odd = true;
		QS_JSON_STOP;
	}
	CHECK_FOR_INTERRUPTS();
	r->depth = 2;
	r->nf = 0;
	resetStringInfo(&r->rowbuf);
	QS_JSON_CONTINUE;
}

/* object_end: a row ends. */
static QS_JSON_ACTION
ReadObjectEnd(void *state)
{
	TextReader *r = (TextReader *) state;

	if (r->odd)
		QS_JSON_STOP;
	r->depth = 1;
	if (!FinishRow(r))
	{
		r->odd = true;
		QS_JSON_STOP;
	}
	QS_JSON_CONTINUE;
}

/* array_start: the rows array; an array anywhere else gives up. */
static QS_JSON_ACTION
ReadArrayStart(void *state)
{
	TextReader *r = (TextReader *) state;

	if (r->odd || r->depth != 0)
	{
		r->odd = true;
		QS_JSON_STOP;
	}
	r->depth = 1;
	QS_JSON_CONTINUE;
}

/* array_end: the rows array ends. */
static QS_JSON_ACTION
ReadArrayEnd(void *state)
{
	TextReader *r = (TextReader *) state;

	if (r->odd)
		QS_JSON_STOP;
	r->depth = 0;
	QS_JSON_CONTINUE;
}

/* object_field_start: a key of the row (the callback owns fname). */
static QS_JSON_ACTION
ReadField(void *state, char *fname, bool isnull)
{
	TextReader *r = (TextReader *) state;

	if (r->odd)
	{
		if (fname)
			pfree(fname);
		QS_JSON_STOP;
	}
	if (r->nf == r->capf)
	{
		r->capf *= 2;
		r->fkeys = repalloc(r->fkeys, sizeof(char *) * r->capf);
		r->vstart = repalloc(r->vstart, sizeof(int) * r->capf);
		r->vlen = repalloc(r->vlen, sizeof(int) * r->capf);
		r->perm = repalloc(r->perm, sizeof(int) * r->capf);
	}
	r->fkeys[r->nf] = fname;
	r->vstart[r->nf] = r->rowbuf.len;
	r->vlen[r->nf] = -1;		/* set by its scalar */
	r->nf++;
	QS_JSON_CONTINUE;
}

/* scalar: a value of the row (the callback owns token); elsewhere gives up. */
static QS_JSON_ACTION
ReadScalar(void *state, char *token, JsonTokenType tokentype)
{
	TextReader *r = (TextReader *) state;
	bool		ok = !r->odd && r->depth == 2 && r->nf > 0 &&
		RenderScalar(r, token, tokentype);

	if (token)
		pfree(token);
	if (!ok)
	{
		r->odd = true;
		QS_JSON_STOP;
	}
	r->vlen[r->nf - 1] = r->rowbuf.len - r->vstart[r->nf - 1];
	QS_JSON_CONTINUE;
}

/*
 * Read the rows from JSON text: the groups of rendered rows, or NULL when
 * the text is not an array of objects of scalars (or not JSON at all);
 * NULL raises nothing, the caller hands the text to jsonb.
 */
QsTextRows *
QsTextRowsRead(const char *json, int len)
{
	TextReader	r;
	JsonSemAction sem;
	JsonLexContext *lex;
	JsonParseErrorType res;
	QsTextRows *rows;

#if PG_VERSION_NUM >= 170000
	JsonLexContext lexbuf;
#else
	int			lexbuf = 0;
#endif

	memset(&r, 0, sizeof(r));
	r.inputlen = len;
	r.capf = 16;
	r.fkeys = palloc(sizeof(char *) * r.capf);
	r.vstart = palloc(sizeof(int) * r.capf);
	r.vlen = palloc(sizeof(int) * r.capf);
	r.perm = palloc(sizeof(int) * r.capf);
	r.prev_keys = palloc(sizeof(char *) * r.capf);
	r.prev_perm = palloc(sizeof(int) * r.capf);
	initStringInfo(&r.rowbuf);

	memset(&sem, 0, sizeof(sem));
	sem.semstate = &r;
	sem.object_start = ReadObjectStart;
	sem.object_end = ReadObjectEnd;
	sem.array_start = ReadArrayStart;
	sem.array_end = ReadArrayEnd;
	sem.object_field_start = ReadField;
	sem.scalar = ReadScalar;

	lex = QsJsonLexer(&lexbuf, (char *) json, len);
	res = pg_parse_json(lex, &sem);
	QsJsonLexerFree(lex);
	if (res != JSON_SUCCESS || r.odd || r.nrows == 0)
		return NULL;
	rows = palloc(sizeof(QsTextRows));
	rows->nrows = r.nrows;
	rows->groups = r.groups;
	return rows;
}
