/*
 * keyset.c
 *	  Keyset pagination: qs.page() and the "page" spec key.
 *
 * A page request ({"size": n, "after": cursor} or "before") is rewritten,
 * before the spec's shape is taken, into plain spec parts:
 *
 *	 - the ordering, with the primary key appended as the tie-breaker (the
 *	   whole key for a composite one), or the primary key alone when the
 *	   queryset is unordered;
 *	 - "$keyset": {"values": [...], "before": bool, "inclusive": bool}, the
 *	   boundary row's ordering keys, which are data values of the shape, so
 *	   every page of a queryset is one cached statement with parameters;
 *	 - "limit": the page size (one more for qs.page(), which learns from
 *	   the extra row whether there is a next page).
 *
 * The compiler (QsBuildSelect) then asks this file for the predicate: a
 * row comparison (a, b, pk) > ($1, $2, $3) when every key sorts the same
 * way and no NULL can sort after a value, otherwise the expanded form
 * a >= $1 AND (a > $1 OR (a = $1 AND b < $2) OR ...), with NULLS FIRST /
 * LAST exactly as ORDER BY sorts them.  Both lead with a bound on the
 * first key, so an index on the ordering keys is scanned from the
 * boundary.  Rows before a boundary are the same predicate in the other
 * direction, read in reverse by a subquery of primary keys and returned
 * in the queryset's own order.
 *
 * A cursor is base64url(payload) "." base64url(check): the payload is
 * {"d": "n"|"p", "i": bool, "k": [keys]} and the check the first 16
 * bytes of SHA-256 over the queryset's model and ordering and the
 * payload.  It is a checksum, not a secret: a client cannot alter a
 * cursor or use it with another ordering without a 22023 error, and a
 * forged one only moves the start of a page inside the queryset the
 * caller may read anyway (docs/pagination.md).
 *
 * This file must not run SQL.
 */
#include "postgres.h"

#include "common/cryptohash.h"
#include "common/sha2.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "expr.h"
#include "guards.h"
#include "keyset.h"
#include "param.h"
#include "select.h"
#include "spec.h"

#define QS_CURSOR_CHECK_LEN 16

/* ---------------------------------------------------------------------
 * Cursors
 * ---------------------------------------------------------------------
 */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url without padding */
static void
B64Encode(StringInfo out, const unsigned char *src, int len)
{
	int			i;

	for (i = 0; i < len; i += 3)
	{
		uint32		n = (uint32) src[i] << 16;
		int			left = len - i;

		if (left > 1)
			n |= (uint32) src[i + 1] << 8;
		if (left > 2)
			n |= src[i + 2];
		appendStringInfoChar(out, b64url[(n >> 18) & 63]);
		appendStringInfoChar(out, b64url[(n >> 12) & 63]);
		if (left > 1)
			appendStringInfoChar(out, b64url[(n >> 6) & 63]);
		if (left > 2)
			appendStringInfoChar(out, b64url[n & 63]);
	}
}

static int
B64Value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Decode base64url; false when it is not base64url. */
static bool
B64Decode(const char *src, int len, StringInfo out)
{
	uint32		n = 0;
	int			bits = 0;
	int			i;

	if (len % 4 == 1)
		return false;
	for (i = 0; i < len; i++)
	{
		int			v = B64Value(src[i]);

		if (v < 0)
			return false;
		n = (n << 6) | (uint32) v;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			appendStringInfoChar(out, (char) ((n >> bits) & 0xFF));
		}
	}
	/* the unused low bits of the last character must be zero */
	return (n & ((1u << bits) - 1)) == 0;
}

/* The check of a payload: SHA-256 over the fingerprint and the payload. */
static void
CursorCheck(const char *fingerprint, const char *payload, int len, uint8 *out)
{
	pg_cryptohash_ctx *h = pg_cryptohash_create(PG_SHA256);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	uint8		sep = 0x1f;

	if (h == NULL ||
		pg_cryptohash_init(h) < 0 ||
		pg_cryptohash_update(h, (const uint8 *) fingerprint, strlen(fingerprint)) < 0 ||
		pg_cryptohash_update(h, &sep, 1) < 0 ||
		pg_cryptohash_update(h, (const uint8 *) payload, len) < 0 ||
		pg_cryptohash_final(h, digest, sizeof(digest)) < 0)
	{
		pg_cryptohash_free(h);
		elog(ERROR, "pg_queryset: could not compute the SHA-256 check of a page cursor");
	}
	pg_cryptohash_free(h);
	memcpy(out, digest, QS_CURSOR_CHECK_LEN);
}

/*
 * A cursor for the boundary keys_json (the JSON array the page statement
 * selected), read backwards ("previous") or forwards ("next").
 */
char *
QsPageCursor(QsPage *page, bool backwards, bool inclusive, const char *keys_json)
{
	StringInfoData payload;
	StringInfoData out;
	uint8		check[QS_CURSOR_CHECK_LEN];

	initStringInfo(&payload);
	appendStringInfo(&payload, "{\"d\": \"%s\", \"i\": %s, \"k\": %s}",
					 backwards ? "p" : "n", inclusive ? "true" : "false", keys_json);
	CursorCheck(page->fingerprint, payload.data, payload.len, check);
	initStringInfo(&out);
	B64Encode(&out, (unsigned char *) payload.data, payload.len);
	appendStringInfoChar(&out, '.');
	B64Encode(&out, check, QS_CURSOR_CHECK_LEN);
	return out.data;
}

static void
BadCursor(const char *arg, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid page cursor in \"%s\"", arg),
			 errdetail("%s", why),
			 errhint("Pass the \"next\" value of a qs.page() result as after and its \"previous\" value "
					 "as before, unchanged, with the same queryset ordering.")));
}

/*
 * Read a cursor given as arg ("after" or "before"): check it against the
 * fingerprint, then its direction; returns the boundary keys (an array
 * tree) and whether the boundary row itself belongs to the page.
 */
static JsonbValue *
ReadCursor(QsPage *page, const char *arg, const char *cursor, bool *inclusive, char **keys_text)
{
	const char *dot = strchr(cursor, '.');
	StringInfoData payload;
	StringInfoData check;
	uint8		expect[QS_CURSOR_CHECK_LEN];
	JsonbValue *k;

	if (strlen(cursor) > 64 * 1024)
		BadCursor(arg, "The cursor is longer than any cursor pg_queryset writes.");
	initStringInfo(&payload);
	initStringInfo(&check);
	if (dot == NULL || strchr(dot + 1, '.') != NULL ||
		!B64Decode(cursor, dot - cursor, &payload) ||
		!B64Decode(dot + 1, strlen(dot + 1), &check) ||
		check.len != QS_CURSOR_CHECK_LEN)
		BadCursor(arg, "It is not a pg_queryset page cursor.");
	CursorCheck(page->fingerprint, payload.data, payload.len, expect);
	{
		int			diff = 0;
		int			n;

		for (n = 0; n < QS_CURSOR_CHECK_LEN; n++)
			diff |= expect[n] ^ (uint8) check.data[n];
		if (diff != 0)
			BadCursor(arg, "It was altered, or it belongs to another model or ordering.");
	}
	/*
	 * Written by QsPageCursor: {"d": "n", "i": false, "k": [...]}, read by
	 * position; only the keys are parsed, as JSON (a forged check with
	 * another layout is refused here, never deeper down).
	 */
	{
		static const char *layout = "{\"d\": \"?\", \"i\": ";
		size_t		ll = strlen(layout);
		const char *p = payload.data;
		bool		backwards;

		if (payload.len < (int) ll + 12 || strncmp(p, layout, 7) != 0 ||
			(p[7] != 'n' && p[7] != 'p') || strncmp(p + 8, layout + 8, ll - 8) != 0)
			BadCursor(arg, "Its contents are not those of a page cursor.");
		backwards = (p[7] == 'p');
		p += ll;
		if (strncmp(p, "true, \"k\": ", 11) == 0)
		{
			*inclusive = true;
			p += 11;
		}
		else if (strncmp(p, "false, \"k\": ", 12) == 0)
		{
			*inclusive = false;
			p += 12;
		}
		else
			BadCursor(arg, "Its contents are not those of a page cursor.");
		if (payload.data[payload.len - 1] != '}' || *p != '[')
			BadCursor(arg, "Its contents are not those of a page cursor.");
		*keys_text = pnstrdup(p, payload.data + payload.len - 1 - p);
		k = QsJsonbToTree(DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(*keys_text))));
		if (k->type != jbvArray || k->val.array.nElems == 0)
			BadCursor(arg, "Its contents are not those of a page cursor.");
		if ((strcmp(arg, "before") == 0) != backwards)
			BadCursor(arg, strcmp(arg, "before") == 0 ?
					  "It is a \"next\" cursor; pass it as after." :
					  "It is a \"previous\" cursor; pass it as before.");
	}
	return k;
}

/* ---------------------------------------------------------------------
 * The spec of a page
 * ---------------------------------------------------------------------
 */

static void
PageError(int code, const char *msg, const char *hint)
{
	ereport(ERROR,
			(errcode(code),
			 errmsg("%s", msg),
			 hint ? errhint("%s", hint) : 0));
}

/* The "page" key's size, after and before (arguments given win). */
static void
ReadPageKey(JsonbValue *obj, QsPage *page)
{
	int			i;

	if (obj == NULL)
		return;
	if (obj->type != jbvObject)
		PageError(ERRCODE_INVALID_PARAMETER_VALUE, "invalid spec at $.page: expected an object",
				  "Write \"page\": {\"size\": 20, \"after\": \"<cursor>\"}.");
	for (i = 0; i < obj->val.object.nPairs; i++)
	{
		char	   *key = QsTreeKey(&obj->val.object.pairs[i].key);
		JsonbValue *v = &obj->val.object.pairs[i].value;

		if (strcmp(key, "size") == 0)
		{
			if (v->type == jbvNull)
				continue;
			if (v->type != jbvNumeric)
				PageError(ERRCODE_INVALID_PARAMETER_VALUE, "invalid spec at $.page.size: expected an integer", NULL);
			if (page->size < 0)
			{
				char	   *txt = DatumGetCString(DirectFunctionCall1(numeric_out,
																	  NumericGetDatum(v->val.numeric)));
				char	   *end;
				long long	n;

				errno = 0;
				n = strtoll(txt, &end, 10);
				if (*end != '\0' || errno != 0 || n < 0)
					PageError(ERRCODE_INVALID_PARAMETER_VALUE,
							  psprintf("page size must be between 1 and %d, got %s", QS_PAGE_MAX_SIZE, txt), NULL);
				page->size = (int64) n;
			}
		}
		else if (strcmp(key, "after") == 0 || strcmp(key, "before") == 0)
		{
			char	  **dst = key[0] == 'a' ? &page->after : &page->before;

			if (v->type == jbvNull)
				continue;
			if (v->type != jbvString)
				PageError(ERRCODE_INVALID_PARAMETER_VALUE,
						  psprintf("invalid spec at $.page.%s: expected a cursor string", key), NULL);
			if (*dst == NULL)
				*dst = QsTreeKey(v);
		}
		else
			PageError(ERRCODE_INVALID_PARAMETER_VALUE,
					  psprintf("invalid spec at $.page.%s: unknown key \"%s\"", key, key),
					  "A page takes size, after and before.");
	}
}

/* Is this ordering item (a string) the primary key? */
static bool
IsPkItem(JsonbValue *e)
{
	char	   *s;

	if (e->type != jbvString)
		return false;
	s = QsTreeKey(e);
	if (*s == '-' || *s == '+')
		s++;
	return strcmp(s, "pk") == 0;
}

/*
 * Rewrite a spec with a page request (page: qs.page()'s arguments, the
 * "page" key fills in what they leave out) into the ordering, boundary
 * and limit of that page.  extra_row: fetch one row more than the size.
 */
JsonbValue *
QsPageRewrite(JsonbValue *tree, QsPage *page, bool extra_row)
{
	JsonbValue *order;
	JsonbValue *v;
	List	   *items = NIL;
	bool		has_pk = false;
	JsonbValue *keyset;
	JsonbValue *boundary = NULL;
	bool		inclusive = false;
	StringInfoData fp;
	int			i;

	if (tree->type != jbvObject)
		PageError(ERRCODE_INVALID_PARAMETER_VALUE, "invalid spec: expected an object", NULL);
	ReadPageKey(QsTreeGet(tree, "page"), page);
	tree = QsTreeDelete(tree, "page");
	if (page->size < 0)
		page->size = QS_PAGE_DEFAULT_SIZE;
	if (page->size < 1 || page->size > QS_PAGE_MAX_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("page size must be between 1 and %d, got " INT64_FORMAT, QS_PAGE_MAX_SIZE, page->size),
				 errhint("Read more rows than that with qs.cursor(), which streams them.")));
	/* pg_queryset.max_rows (guards.c): a smaller page, or the check after reading */
	if (qs_max_rows > 0 && page->size > qs_max_rows)
	{
		if (qs_max_rows_action == QS_MAX_ROWS_TRUNCATE)
		{
			page->size = qs_max_rows;
			page->clamped = true;
		}
		else
			page->max_rows = qs_max_rows;
	}
	if (page->after != NULL && page->before != NULL)
		PageError(ERRCODE_INVALID_PARAMETER_VALUE, "a page is read either after or before a cursor, not both",
				  "Pass the \"next\" cursor as after, or the \"previous\" cursor as before.");
	if (QsTreeGet(tree, "$keyset") != NULL)
		PageError(ERRCODE_INVALID_PARAMETER_VALUE, "invalid spec at $.$keyset: it is written by qs.page()",
				  "Use qs.page() or the \"page\" key.");
	if (QsTreeGet(tree, "combinator") != NULL)
		PageError(ERRCODE_FEATURE_NOT_SUPPORTED, "cannot paginate a union, intersection or difference by keyset",
				  "Paginate each queryset, or use a slice.");
	if (((v = QsTreeGet(tree, "limit")) != NULL && v->type != jbvNull) ||
		((v = QsTreeGet(tree, "offset")) != NULL && v->type != jbvNull))
		PageError(ERRCODE_INVALID_PARAMETER_VALUE, "cannot paginate a query once a slice has been taken",
				  "Leave the slice out: a page is its own slice.");
	if ((v = QsTreeGet(tree, "distinct")) != NULL &&
		!(v->type == jbvBool && !v->val.boolean) && !(v->type == jbvArray && v->val.array.nElems == 0))
		PageError(ERRCODE_FEATURE_NOT_SUPPORTED, "cannot paginate a distinct queryset by keyset",
				  "The primary key that breaks ties would make every row distinct; paginate without distinct().");

	/* the ordering, with the primary key as the tie-breaker */
	order = QsTreeGet(tree, "order_by");
	if (order != NULL && order->type == jbvArray)
	{
		for (i = 0; i < order->val.array.nElems; i++)
		{
			JsonbValue *e = &order->val.array.elems[i];

			if (e->type == jbvString && e->val.string.len == 1 && e->val.string.val[0] == '?')
				PageError(ERRCODE_INVALID_PARAMETER_VALUE, "cannot paginate a randomly ordered queryset by keyset",
						  "Order by fields.");
			if (IsPkItem(e))
				has_pk = true;
			items = lappend(items, e);
		}
	}
	else if (order != NULL && order->type != jbvNull)
		PageError(ERRCODE_INVALID_PARAMETER_VALUE, "invalid spec at $.order_by: expected an array", NULL);
	if (!has_pk)
		items = lappend(items, QsTreeString("pk"));
	order = QsTreeArray(items);
	tree = QsTreeSet(tree, "order_by", order);

	/* what the cursors belong to: the model and this ordering */
	initStringInfo(&fp);
	v = QsTreeGet(tree, "model");
	appendStringInfo(&fp, "pg_queryset page 1|%s|", v && v->type == jbvString ? QsTreeKey(v) : "");
	{
		Jsonb	   *oj = QsTreeToJsonb(order);

		appendStringInfoString(&fp, JsonbToCString(NULL, &oj->root, VARSIZE(oj)));
	}
	page->fingerprint = fp.data;

	if (page->after != NULL || page->before != NULL)
	{
		page->backwards = (page->before != NULL);
		boundary = ReadCursor(page, page->backwards ? "before" : "after",
							  page->backwards ? page->before : page->after, &inclusive,
							  &page->boundary_keys);
		page->has_boundary = true;
		page->inclusive = inclusive;
	}

	keyset = QsTreeObject();
	if (boundary != NULL)
		keyset = QsTreeSet(keyset, "values", boundary);
	keyset = QsTreeSet(keyset, "before", QsTreeBool(page->backwards));
	keyset = QsTreeSet(keyset, "inclusive", QsTreeBool(inclusive));
	tree = QsTreeSet(tree, "$keyset", keyset);
	tree = QsTreeSet(tree, "limit", QsTreeNumeric(page->size + (extra_row ? 1 : 0)));
	return tree;
}

/* ---------------------------------------------------------------------
 * The SQL of a page
 * ---------------------------------------------------------------------
 */

static void
CompileError(QsCompileState *ctx, int code, const char *msg, const char *hint)
{
	ereport(ERROR,
			(errcode(code),
			 errmsg("%s", msg),
			 errdetail("At %s.", QsPathString(ctx)),
			 hint ? errhint("%s", hint) : 0));
}

/*
 * The ordering keys of a page: each resolved key once (the appended
 * primary key may repeat a key the queryset orders by), checked.
 */
List *
QsKeysetOrder(QsCompileState *ctx, List *order_exprs)
{
	QsSpec	   *spec = ctx->spec;
	List	   *exprs = NIL;
	List	   *items = NIL;
	List	   *meta = NIL;
	ListCell   *le;
	ListCell   *li;
	ListCell   *lm;
	int			n;

	if (ctx->grouped)
		CompileError(ctx, ERRCODE_FEATURE_NOT_SUPPORTED,
					 "cannot paginate a grouped queryset (values() with aggregates) by keyset",
					 "Paginate the rows, or slice the groups.");
	if (spec->distinct || spec->distinct_on != NIL)
		CompileError(ctx, ERRCODE_FEATURE_NOT_SUPPORTED, "cannot paginate a distinct queryset by keyset", NULL);
	forthree(le, order_exprs, li, spec->order_by, lm, ctx->order_meta)
	{
		char	   *e = (char *) lfirst(le);
		QsExpr	   *x = (QsExpr *) lfirst(lm);
		ListCell   *lc;
		bool		seen = false;

		if (e == NULL || x == NULL)
			CompileError(ctx, ERRCODE_INVALID_PARAMETER_VALUE,
						 "cannot paginate a randomly ordered queryset by keyset", "Order by fields.");
		if (x->is_agg || x->is_window)
			CompileError(ctx, ERRCODE_FEATURE_NOT_SUPPORTED,
						 psprintf("cannot paginate by keyset on %s", x->is_agg ? "an aggregate" : "a window function"),
						 "Order by fields or by annotations that are computed per row.");
		foreach(lc, exprs)
			if (strcmp((char *) lfirst(lc), e) == 0)
				seen = true;
		if (seen)
			continue;
		exprs = lappend(exprs, e);
		items = lappend(items, lfirst(li));
		meta = lappend(meta, x);
	}
	spec->order_by = items;
	ctx->order_meta = meta;
	n = list_length(exprs);
	if (spec->keyset->values != NULL && spec->keyset->values->val.array.nElems != n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid page cursor: it holds %d keys, this ordering has %d",
						spec->keyset->values->val.array.nElems, n),
				 errdetail("The model or its primary key changed since the cursor was written."),
				 errhint("Start again from the first page.")));
	return exprs;
}

/* Does NULL sort after every value of this key, reading in this direction? */
static bool
NullsAfter(QsOrderItem *o, bool backwards)
{
	bool		nulls_first = o->nulls == 1 || (o->nulls == 0 && o->desc);

	return backwards ? nulls_first : !nulls_first;
}

/* "e > p" (strictly after the boundary value p, or NULL: "false" / "e IS NOT NULL"). */
static char *
KeyAfter(const char *e, QsExpr *x, QsOrderItem *o, const char *p, bool backwards)
{
	bool		up = (!o->desc) != backwards;
	bool		nulls_after = NullsAfter(o, backwards);
	char	   *cmp;

	if (p == NULL)
		return nulls_after ? NULL : psprintf("%s IS NOT NULL", e);
	cmp = psprintf("%s %s %s", e, QsOp(up ? ">" : "<", x->type, x->type), p);
	if (x->nullable && nulls_after)
		return psprintf("(%s OR %s IS NULL)", cmp, e);
	return cmp;
}

/* "e = p" (or "e IS NULL") */
static char *
KeyEqual(const char *e, QsExpr *x, const char *p)
{
	if (p == NULL)
		return psprintf("%s IS NULL", e);
	return psprintf("%s %s %s", e, QsOp("=", x->type, x->type), p);
}

/* The predicate "after (or before) the boundary" over the ordering keys. */
static char *
BoundaryPredicate(QsCompileState *ctx, List *order_exprs, bool backwards, bool inclusive)
{
	QsKeyset   *ks = ctx->spec->keyset;
	int			n = list_length(order_exprs);
	char	  **e = palloc(sizeof(char *) * n);
	char	  **p = palloc(sizeof(char *) * n);
	QsExpr	  **x = palloc(sizeof(QsExpr *) * n);
	QsOrderItem **o = palloc(sizeof(QsOrderItem *) * n);
	bool		row_form = true;
	bool		builtin = true;
	int			i;
	int			j;
	int			save = ctx->path.len;
	StringInfoData buf;

	for (i = 0; i < n; i++)
	{
		JsonbValue *v = &ks->values->val.array.elems[i];

		e[i] = (char *) list_nth(order_exprs, i);
		x[i] = (QsExpr *) list_nth(ctx->order_meta, i);
		o[i] = (QsOrderItem *) list_nth(ctx->spec->order_by, i);
		p[i] = NULL;
		if (v->type != jbvNull)
		{
			int			save_lookup = ctx->cur_lookup;

			QsPathPush(ctx, ".$keyset.values[%d]", i);
			ctx->cur_lookup = QsValueIndex(ctx, v);
			p[i] = QsRecipeParam(ctx, QS_PARAM_COERCE, x[i]->type, v, "the page cursor", NULL, false, false);
			ctx->cur_lookup = save_lookup;
			QsPathPop(ctx, save);
		}
		if (p[i] == NULL || (x[i]->nullable && NullsAfter(o[i], backwards)) ||
			o[i]->desc != o[0]->desc)
			row_form = false;
		if (x[i]->type >= FirstGenbkiObjectId)
			builtin = false;
	}

	initStringInfo(&buf);
	if (row_form)
	{
		/* (a, b, pk) > ($1, $2, $3): an index on (a, b, pk) is scanned from there */
		bool		up = (!o[0]->desc) != backwards;
		const char *op = up ? (inclusive ? ">=" : ">") : (inclusive ? "<=" : "<");

		if (n == 1)
			return psprintf("%s %s %s", e[0], QsOp(op, x[0]->type, x[0]->type), p[0]);
		appendStringInfoString(&buf, "ROW(");
		for (i = 0; i < n; i++)
			appendStringInfo(&buf, "%s%s", i > 0 ? ", " : "", e[i]);
		appendStringInfo(&buf, ") %s ROW(", builtin ? psprintf("OPERATOR(pg_catalog.%s)", op) : op);
		for (i = 0; i < n; i++)
			appendStringInfo(&buf, "%s%s", i > 0 ? ", " : "", p[i]);
		appendStringInfoChar(&buf, ')');
		return buf.data;
	}

	/* the expanded form, led by a bound on the first key */
	{
		char	   *first_after = KeyAfter(e[0], x[0], o[0], p[0], backwards);
		int			terms = 0;

		if (n > 1 || inclusive)
		{
			if (p[0] != NULL)
			{
				bool		up = (!o[0]->desc) != backwards;
				char	   *ge = psprintf("%s %s %s", e[0], QsOp(up ? ">=" : "<=", x[0]->type, x[0]->type), p[0]);

				if (x[0]->nullable && NullsAfter(o[0], backwards))
					ge = psprintf("(%s OR %s IS NULL)", ge, e[0]);
				appendStringInfo(&buf, "%s AND ", ge);
			}
			else if (NullsAfter(o[0], backwards))
				appendStringInfo(&buf, "%s IS NULL AND ", e[0]);
		}
		appendStringInfoChar(&buf, '(');
		for (i = 0; i < n; i++)
		{
			char	   *after = i == 0 ? first_after : KeyAfter(e[i], x[i], o[i], p[i], backwards);

			if (after == NULL)
				continue;		/* nothing sorts after NULL here */
			appendStringInfoString(&buf, terms++ > 0 ? " OR " : "");
			if (i > 0)
				appendStringInfoChar(&buf, '(');
			for (j = 0; j < i; j++)
				appendStringInfo(&buf, "%s AND ", KeyEqual(e[j], x[j], p[j]));
			appendStringInfoString(&buf, after);
			if (i > 0)
				appendStringInfoChar(&buf, ')');
		}
		if (inclusive)
		{
			appendStringInfoString(&buf, terms++ > 0 ? " OR (" : "(");
			for (j = 0; j < n; j++)
				appendStringInfo(&buf, "%s%s", j > 0 ? " AND " : "", KeyEqual(e[j], x[j], p[j]));
			appendStringInfoChar(&buf, ')');
		}
		if (terms == 0)
			appendStringInfoString(&buf, "false");
		appendStringInfoChar(&buf, ')');
	}
	return buf.data;
}

/*
 * The WHERE condition of a page: after the boundary, or -- reading
 * backwards -- the primary keys of the rows just before it, read in
 * reverse order with the page's limit.  NULL on a first page.
 */
char *
QsKeysetCondition(QsCompileState *ctx, const char *where, List *order_exprs)
{
	QsKeyset   *ks = ctx->spec->keyset;
	QsModel    *m = ctx->model;
	char	   *pred;
	StringInfoData keys;
	StringInfoData inner;
	List	   *rev = NIL;
	ListCell   *lc;
	int			i;

	if (ks->values == NULL)
	{
		if (ks->before)
			elog(ERROR, "pg_queryset: a page before no boundary");
		return NULL;
	}
	pred = BoundaryPredicate(ctx, order_exprs, ks->before, ks->inclusive);
	if (!ks->before)
		return pred;

	if (m->npk == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" has no primary key: a page before a cursor cannot identify its rows", m->display),
				 errhint("Paginate forwards, or give the table a primary key.")));
	foreach(lc, ctx->spec->order_by)
	{
		QsOrderItem *r = palloc(sizeof(QsOrderItem));

		*r = *(QsOrderItem *) lfirst(lc);
		QsReverseOrderItem(r);
		rev = lappend(rev, r);
	}
	initStringInfo(&keys);
	for (i = 0; i < m->npk; i++)
		appendStringInfo(&keys, "%s%s.%s", i > 0 ? ", " : "", ctx->alias,
						 quote_identifier(m->columns[m->pk[i]].name));
	initStringInfo(&inner);
	appendStringInfo(&inner, "SELECT %s", keys.data);
	QsAppendFromWhere(ctx, &inner, where, pred, NULL);
	appendStringInfoString(&inner, " ORDER BY ");
	QsAppendOrderList(&inner, order_exprs, rev);
	QsAppendSlice(ctx, &inner);
	return psprintf("(%s) IN (%s)", keys.data, inner.data);
}

/* The ordering keys of a row as one JSON array (qs.page()'s cursors). */
char *
QsKeysetKeys(List *order_exprs)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "pg_catalog.json_build_array(");
	foreach(lc, order_exprs)
		appendStringInfo(&buf, "%s%s", lc != list_head(order_exprs) ? ", " : "", (char *) lfirst(lc));
	appendStringInfoChar(&buf, ')');
	return buf.data;
}
