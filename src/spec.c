/*
 * spec.c
 *	  JSON trees and the validated top level of a QuerySet spec.
 *
 * Owns: turning jsonb into an in-memory JsonbValue tree and back, small
 * tree editing helpers used by the builders, and QsSpecParse(), which
 * checks every top-level key of a spec (types, known keys, model) and
 * reports faults with their JSON path.  The Q tree under "where" is kept
 * as a tree and checked while it is compiled (compile.c, lookup.c).
 * It must not build SQL.
 */
#include "postgres.h"

#include "miscadmin.h"

#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "model.h"
#include "spec.h"

/* ---------------------------------------------------------------------
 * JSON trees
 * ---------------------------------------------------------------------
 */

/* Convert a jsonb datum into an in-memory tree (objects, arrays, scalars). */
JsonbValue *
QsJsonbToTree(Jsonb *jb)
{
	JsonbParseState *state = NULL;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	JsonbValue *res = NULL;

	if (JB_ROOT_IS_SCALAR(jb))
	{
		JsonbValue *s = palloc(sizeof(JsonbValue));

		it = JsonbIteratorInit(&jb->root);
		(void) JsonbIteratorNext(&it, &v, false);	/* begin array */
		(void) JsonbIteratorNext(&it, s, false);	/* the scalar */
		return s;
	}
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		CHECK_FOR_INTERRUPTS();
		if (tok == WJB_KEY || tok == WJB_VALUE || tok == WJB_ELEM)
			res = pushJsonbValue(&state, tok, &v);
		else
			res = pushJsonbValue(&state, tok, NULL);
	}
	return res;
}

/* Push a tree into a parse state (recursive); returns pushJsonbValue's result. */
static JsonbValue *
TreePush(JsonbParseState **state, JsonbValue *v, JsonbIteratorToken tok)
{
	int			i;

	check_stack_depth();
	if (v->type == jbvObject)
	{
		pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);
		for (i = 0; i < v->val.object.nPairs; i++)
		{
			pushJsonbValue(state, WJB_KEY, &v->val.object.pairs[i].key);
			TreePush(state, &v->val.object.pairs[i].value, WJB_VALUE);
		}
		return pushJsonbValue(state, WJB_END_OBJECT, NULL);
	}
	if (v->type == jbvArray)
	{
		pushJsonbValue(state, WJB_BEGIN_ARRAY, NULL);
		for (i = 0; i < v->val.array.nElems; i++)
			TreePush(state, &v->val.array.elems[i], WJB_ELEM);
		return pushJsonbValue(state, WJB_END_ARRAY, NULL);
	}
	return pushJsonbValue(state, tok, v);
}

/* Convert a tree back into jsonb (keys are sorted and de-duplicated). */
Jsonb *
QsTreeToJsonb(JsonbValue *tree)
{
	JsonbParseState *state = NULL;

	if (tree->type != jbvObject && tree->type != jbvArray)
		return JsonbValueToJsonb(tree);
	return JsonbValueToJsonb(TreePush(&state, tree, WJB_VALUE));
}

/* Compare a jbvString with a C string. */
static bool
KeyEquals(JsonbValue *k, const char *key)
{
	size_t		len = strlen(key);

	return k->type == jbvString && k->val.string.len == (int) len &&
		memcmp(k->val.string.val, key, len) == 0;
}

/* The value under key in an object tree, or NULL. */
JsonbValue *
QsTreeGet(JsonbValue *obj, const char *key)
{
	int			i;

	if (obj == NULL || obj->type != jbvObject)
		return NULL;
	for (i = 0; i < obj->val.object.nPairs; i++)
		if (KeyEquals(&obj->val.object.pairs[i].key, key))
			return &obj->val.object.pairs[i].value;
	return NULL;
}

/* Set key to val in an object tree (copying the pair array); returns obj. */
JsonbValue *
QsTreeSet(JsonbValue *obj, const char *key, JsonbValue *val)
{
	int			i;
	int			n = obj->val.object.nPairs;
	JsonbPair  *pairs;

	for (i = 0; i < n; i++)
		if (KeyEquals(&obj->val.object.pairs[i].key, key))
		{
			obj->val.object.pairs[i].value = *val;
			return obj;
		}
	pairs = palloc(sizeof(JsonbPair) * (n + 1));
	if (n > 0)
		memcpy(pairs, obj->val.object.pairs, sizeof(JsonbPair) * n);
	pairs[n].key = *QsTreeString(key);
	pairs[n].value = *val;
	pairs[n].order = n;
	obj->val.object.pairs = pairs;
	obj->val.object.nPairs = n + 1;
	return obj;
}

/* Remove key from an object tree; returns obj. */
JsonbValue *
QsTreeDelete(JsonbValue *obj, const char *key)
{
	int			i;
	int			j = 0;

	for (i = 0; i < obj->val.object.nPairs; i++)
	{
		if (KeyEquals(&obj->val.object.pairs[i].key, key))
			continue;
		obj->val.object.pairs[j++] = obj->val.object.pairs[i];
	}
	obj->val.object.nPairs = j;
	return obj;
}

/* A string tree node. */
JsonbValue *
QsTreeString(const char *s)
{
	JsonbValue *v = palloc0(sizeof(JsonbValue));

	v->type = jbvString;
	v->val.string.val = pstrdup(s);
	v->val.string.len = strlen(s);
	return v;
}

/* An integer number tree node. */
JsonbValue *
QsTreeNumeric(int64 n)
{
	JsonbValue *v = palloc0(sizeof(JsonbValue));

	v->type = jbvNumeric;
	v->val.numeric = DatumGetNumeric(DirectFunctionCall1(int8_numeric, Int64GetDatum(n)));
	return v;
}

/* A boolean tree node. */
JsonbValue *
QsTreeBool(bool b)
{
	JsonbValue *v = palloc0(sizeof(JsonbValue));

	v->type = jbvBool;
	v->val.boolean = b;
	return v;
}

/* An array tree node from a List of JsonbValue *. */
JsonbValue *
QsTreeArray(List *elems)
{
	JsonbValue *v = palloc0(sizeof(JsonbValue));
	ListCell   *lc;
	int			i = 0;

	v->type = jbvArray;
	v->val.array.nElems = list_length(elems);
	v->val.array.elems = palloc(sizeof(JsonbValue) * Max(1, list_length(elems)));
	foreach(lc, elems)
		v->val.array.elems[i++] = *(JsonbValue *) lfirst(lc);
	return v;
}

/* An empty object tree node. */
JsonbValue *
QsTreeObject(void)
{
	JsonbValue *v = palloc0(sizeof(JsonbValue));

	v->type = jbvObject;
	v->val.object.nPairs = 0;
	v->val.object.pairs = NULL;
	return v;
}

/* A string node's text as a C string (NUL bytes cannot occur in jsonb). */
char *
QsTreeKey(JsonbValue *keyval)
{
	return pnstrdup(keyval->val.string.val, keyval->val.string.len);
}

/* The JSON text of any tree node, for messages and type input. */
char *
QsTreeText(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out,
													   NumericGetDatum(v->val.numeric)));
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		case jbvNull:
			return pstrdup("null");
		default:
			return JsonbToCString(NULL, &QsTreeToJsonb(v)->root, 64);
	}
}

/* "string", "number", ... for messages. */
const char *
QsJsonTypeName(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			return "string";
		case jbvNumeric:
			return "number";
		case jbvBool:
			return "boolean";
		case jbvNull:
			return "null";
		case jbvArray:
			return "array";
		case jbvObject:
			return "object";
		default:
			return "binary";
	}
}

/* ---------------------------------------------------------------------
 * The spec's top level
 * ---------------------------------------------------------------------
 */

/* Raise "invalid spec at <path>" (22023) with an optional hint. */
static void
SpecError(const char *path, const char *msg, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid spec at %s: %s", path, msg),
			 hint ? errhint("%s", hint) : 0));
}

/* A list of field-path strings (only, defer, values, distinct). */
static List *
SpecStringList(JsonbValue *v, const char *key, bool allow_empty)
{
	List	   *res = NIL;
	int			i;
	char		path[128];

	snprintf(path, sizeof(path), "$.%s", key);
	if (v->type != jbvArray)
		SpecError(path, psprintf("expected an array of field names, got %s",
								 QsJsonTypeName(v)), NULL);
	if (!allow_empty && v->val.array.nElems == 0)
		SpecError(path, "the list of fields is empty", NULL);
	for (i = 0; i < v->val.array.nElems; i++)
	{
		JsonbValue *e = &v->val.array.elems[i];

		if (e->type != jbvString)
			SpecError(psprintf("%s[%d]", path, i),
					  psprintf("expected a field name, got %s", QsJsonTypeName(e)), NULL);
		if (e->val.string.len == 0)
			SpecError(psprintf("%s[%d]", path, i), "the field name is empty", NULL);
		res = lappend(res, QsTreeKey(e));
	}
	return res;
}

/*
 * prefetch_related: strings, or Prefetch objects
 * {"path": "reviews", "queryset": {...}, "to_attr": "approved_reviews"}.
 */
static List *
SpecPrefetchList(JsonbValue *v)
{
	List	   *res = NIL;
	int			i;

	if (v->type != jbvArray)
		SpecError("$.prefetch_related", psprintf("expected an array of paths or Prefetch objects, got %s",
												 QsJsonTypeName(v)), NULL);
	for (i = 0; i < v->val.array.nElems; i++)
	{
		JsonbValue *e = &v->val.array.elems[i];
		QsPrefetch *p = palloc0(sizeof(QsPrefetch));
		char	   *path = psprintf("$.prefetch_related[%d]", i);

		if (e->type == jbvString && e->val.string.len > 0)
			p->path = QsTreeKey(e);
		else if (e->type == jbvObject)
		{
			int			k;

			for (k = 0; k < e->val.object.nPairs; k++)
			{
				char	   *key = QsTreeKey(&e->val.object.pairs[k].key);
				JsonbValue *val = &e->val.object.pairs[k].value;

				if (strcmp(key, "path") == 0 && val->type == jbvString && val->val.string.len > 0)
					p->path = QsTreeKey(val);
				else if (strcmp(key, "to_attr") == 0 && val->type == jbvString &&
						 val->val.string.len > 0 && strstr(QsTreeKey(val), "__") == NULL)
					p->to_attr = QsTreeKey(val);
				else if (strcmp(key, "queryset") == 0 && val->type == jbvObject)
					p->queryset = val;
				else
					SpecError(psprintf("%s.%s", path, key),
							  psprintf("invalid Prefetch key \"%s\" or value", key),
							  "A Prefetch object is {\"path\": \"reviews\", \"queryset\": {...}, \"to_attr\": \"name\"}.");
			}
			if (p->path == NULL)
				SpecError(path, "a Prefetch object needs \"path\"", NULL);
		}
		else
			SpecError(path, psprintf("expected a relation path or a Prefetch object, got %s",
									 QsJsonTypeName(e)), NULL);
		res = lappend(res, p);
	}
	return res;
}

/* Add one annotate / alias / aggregate entry, checking its name. */
static void
SpecAddAnnotation(QsSpec *spec, const char *key, const char *name, JsonbValue *expr)
{
	ListCell   *lc;
	QsAnnotation *a;
	List	  **list = strcmp(key, "aggregate") == 0 ? &spec->aggregates : &spec->annotations;

	if (name[0] == '\0' || strstr(name, "__") != NULL || name[0] == '$' || strcmp(name, "pk") == 0)
		SpecError(psprintf("$.%s", key), psprintf("invalid name \"%s\"", name),
				  "Names are non-empty, contain no double underscore and do not start with $.");
	foreach(lc, *list)
		if (strcmp(((QsAnnotation *) lfirst(lc))->name, name) == 0)
			SpecError(psprintf("$.%s.%s", key, name),
					  psprintf("the name \"%s\" is defined twice in annotate and alias", name), NULL);
	a = palloc0(sizeof(QsAnnotation));
	a->name = pstrdup(name);
	a->expr = expr;
	a->select = strcmp(key, "alias") != 0;
	*list = lappend(*list, a);
}

/*
 * annotate / alias / aggregate: {"name": expression, ...} (in jsonb's key
 * order), or [{"name": expression}, ...] to keep an order.
 */
static void
SpecAnnotations(QsSpec *spec, JsonbValue *v, const char *key)
{
	int			i;
	int			k;

	if (v->type == jbvObject)
	{
		for (i = 0; i < v->val.object.nPairs; i++)
			SpecAddAnnotation(spec, key, QsTreeKey(&v->val.object.pairs[i].key),
							  &v->val.object.pairs[i].value);
		return;
	}
	if (v->type != jbvArray)
		SpecError(psprintf("$.%s", key), psprintf("expected an object of named expressions, got %s",
												  QsJsonTypeName(v)),
				  "Write {\"n\": {\"Count\": \"items\"}} or [{\"n\": {\"Count\": \"items\"}}, ...].");
	for (i = 0; i < v->val.array.nElems; i++)
	{
		JsonbValue *e = &v->val.array.elems[i];

		if (e->type != jbvObject)
			SpecError(psprintf("$.%s[%d]", key, i),
					  psprintf("expected an object of named expressions, got %s", QsJsonTypeName(e)), NULL);
		for (k = 0; k < e->val.object.nPairs; k++)
			SpecAddAnnotation(spec, key, QsTreeKey(&e->val.object.pairs[k].key),
							  &e->val.object.pairs[k].value);
	}
}

/*
 * select_for_update: true, or {"nowait": bool, "skip_locked": bool,
 * "of": ["self", "relation__path", ...]}.
 */
static void
SpecLocking(QsSpec *spec, JsonbValue *v)
{
	int			i;

	if (v->type == jbvBool)
	{
		spec->for_update = v->val.boolean;
		return;
	}
	if (v->type != jbvObject)
		SpecError("$.select_for_update", psprintf("expected true or an object, got %s", QsJsonTypeName(v)),
				  "Write true or {\"skip_locked\": true, \"of\": [\"self\"]}.");
	spec->for_update = true;
	for (i = 0; i < v->val.object.nPairs; i++)
	{
		char	   *k = QsTreeKey(&v->val.object.pairs[i].key);
		JsonbValue *val = &v->val.object.pairs[i].value;

		if (strcmp(k, "of") == 0)
			spec->lock_of = SpecStringList(val, "select_for_update.of", false);
		else if (strcmp(k, "nowait") == 0 || strcmp(k, "skip_locked") == 0)
		{
			if (val->type != jbvBool)
				SpecError(psprintf("$.select_for_update.%s", k), "expected a boolean", NULL);
			if (k[0] == 'n')
				spec->nowait = val->val.boolean;
			else
				spec->skip_locked = val->val.boolean;
		}
		else
			SpecError(psprintf("$.select_for_update.%s", k), psprintf("unknown key \"%s\"", k),
					  "select_for_update takes nowait, skip_locked and of.");
	}
	if (spec->nowait && spec->skip_locked)
		SpecError("$.select_for_update", "nowait and skip_locked cannot both be true", NULL);
}

/* A non-negative integer (offset, limit). */
static int64
SpecInt(JsonbValue *v, const char *key)
{
	char	   *txt;
	char	   *end;
	long long	n;
	char		path[64];

	snprintf(path, sizeof(path), "$.%s", key);
	if (v->type != jbvNumeric)
		SpecError(path, psprintf("expected a non-negative integer, got %s",
								 QsJsonTypeName(v)), NULL);
	txt = QsTreeText(v);
	errno = 0;
	n = strtoll(txt, &end, 10);
	if (*end != '\0' || errno != 0 || n < 0)
		SpecError(path, psprintf("expected a non-negative integer, got %s", txt),
				  n < 0 ? "Negative indexing is not supported, as in Django." : NULL);
	return (int64) n;
}

/* One order_by element: "field", "-field", "?", or {"F": ..., "desc": ...}. */
static QsOrderItem *
SpecOrderItem(JsonbValue *e, int i)
{
	QsOrderItem *o = palloc0(sizeof(QsOrderItem));
	char	   *path = psprintf("$.order_by[%d]", i);

	if (e->type == jbvString)
	{
		char	   *s = QsTreeKey(e);

		if (strcmp(s, "?") == 0)
			return o;			/* random */
		if (s[0] == '-')
		{
			o->desc = true;
			s++;
		}
		else if (s[0] == '+')
			s++;
		if (s[0] == '\0')
			SpecError(path, "empty field name", NULL);
		o->path = s;
		return o;
	}
	if (e->type == jbvObject)
	{
		int			k;
		bool		has_f = false;
		bool		seen_dir = false;

		for (k = 0; k < e->val.object.nPairs; k++)
		{
			char	   *key = QsTreeKey(&e->val.object.pairs[k].key);
			JsonbValue *val = &e->val.object.pairs[k].value;

			if (strcmp(key, "F") == 0)
			{
				if (val->type != jbvString || val->val.string.len == 0)
					SpecError(psprintf("%s.F", path), "expected a field name", NULL);
				if (has_f)
					SpecError(path, "an ordering object takes one of F and expression", NULL);
				o->path = QsTreeKey(val);
				has_f = true;
			}
			else if (strcmp(key, "expression") == 0)
			{
				/* Django's order_by(Lower("name").desc()) */
				if (has_f)
					SpecError(path, "an ordering object takes one of F and expression", NULL);
				o->expr = val;
				o->path = "";
				has_f = true;
			}
			else if (strcmp(key, "desc") == 0 || strcmp(key, "asc") == 0 ||
					 strcmp(key, "nulls_first") == 0 || strcmp(key, "nulls_last") == 0)
			{
				if (val->type != jbvBool)
					SpecError(psprintf("%s.%s", path, key), "expected a boolean", NULL);
				if (!val->val.boolean)
					continue;
				if (strcmp(key, "asc") == 0 || strcmp(key, "desc") == 0)
				{
					if (seen_dir)
						SpecError(path, "asc and desc are mutually exclusive", NULL);
					seen_dir = true;
				}
				if (strcmp(key, "desc") == 0)
					o->desc = true;
				else if (strcmp(key, "nulls_first") == 0)
				{
					if (o->nulls == 2)
						SpecError(path, "nulls_first and nulls_last are mutually exclusive", NULL);
					o->nulls = 1;
				}
				else if (strcmp(key, "nulls_last") == 0)
				{
					if (o->nulls == 1)
						SpecError(path, "nulls_first and nulls_last are mutually exclusive", NULL);
					o->nulls = 2;
				}
			}
			else
				SpecError(psprintf("%s.%s", path, key), "unknown key in an ordering object",
						  "An ordering object has the keys F (or expression), desc, asc, nulls_first and nulls_last.");
		}
		if (!has_f)
			SpecError(path, "an ordering object needs \"F\" or \"expression\"",
					  "Write {\"F\": \"price\", \"desc\": true, \"nulls_last\": true}.");
		return o;
	}
	SpecError(path, psprintf("expected a field name or an ordering object, got %s",
							 QsJsonTypeName(e)), NULL);
	return NULL;				/* keep compiler quiet */
}

static List *SpecCombined(JsonbValue *v);

/* "$keyset": {"values": [...], "before": bool, "inclusive": bool} (keyset.c writes it) */
static QsKeyset *
SpecKeyset(JsonbValue *v)
{
	QsKeyset   *k = palloc0(sizeof(QsKeyset));
	int			i;

	if (v->type != jbvObject)
		SpecError("$.$keyset", psprintf("expected an object, got %s", QsJsonTypeName(v)), NULL);
	for (i = 0; i < v->val.object.nPairs; i++)
	{
		char	   *key = QsTreeKey(&v->val.object.pairs[i].key);
		JsonbValue *val = &v->val.object.pairs[i].value;

		if (strcmp(key, "values") == 0 && val->type == jbvArray)
			k->values = val;
		else if (strcmp(key, "before") == 0 && val->type == jbvBool)
			k->before = val->val.boolean;
		else if (strcmp(key, "inclusive") == 0 && val->type == jbvBool)
			k->inclusive = val->val.boolean;
		else
			SpecError(psprintf("$.$keyset.%s", key), "expected values (an array), before or inclusive (booleans)",
					  "\"$keyset\" is written by qs.page() and \"page\"; use those.");
	}
	return k;
}
static void SpecCheckCombined(QsSpec *spec, JsonbValue *tree);

/* Reverse one ordering item: the other direction, NULLs at the other end. */
void
QsReverseOrderItem(QsOrderItem *o)
{
	o->desc = !o->desc;
	if (o->nulls != 0)
		o->nulls = (o->nulls == 1) ? 2 : 1;
}

/* Parse a spec tree's top level into a QsSpec, checking every key. */
/*
 * One top-level key of a spec into *spec; values_list, flat and named
 * are read after the loop (they depend on each other).
 */
static void
SpecKey(QsSpec *spec, const char *key, JsonbValue *v, JsonbValue **values_list,
		bool *flat, bool *named)
{
	if (strcmp(key, "model") == 0)
	{
		if (v->type != jbvString)
			SpecError("$.model", psprintf("expected a table or view name, got %s",
										  QsJsonTypeName(v)), NULL);
		spec->model = QsModelGet(QsModelResolve(QsTreeKey(v)));
	}
	else if (strcmp(key, "where") == 0)
	{
		if (v->type != jbvObject)
			SpecError("$.where", psprintf("expected a Q object, got %s", QsJsonTypeName(v)),
					  "A Q object looks like {\"price__gte\": 10, \"$or\": [...]}.");
		spec->where = v;
	}
	else if (strcmp(key, "order_by") == 0)
	{
		int			k;

		if (v->type != jbvArray)
			SpecError("$.order_by", psprintf("expected an array, got %s", QsJsonTypeName(v)), NULL);
		spec->has_order = true;
		for (k = 0; k < v->val.array.nElems; k++)
			spec->order_by = lappend(spec->order_by,
									 SpecOrderItem(&v->val.array.elems[k], k));
	}
	else if (strcmp(key, "only") == 0)
		spec->only = SpecStringList(v, key, false);
	else if (strcmp(key, "defer") == 0)
		spec->defer = SpecStringList(v, key, true);
	else if (strcmp(key, "values") == 0)
	{
		spec->has_values = true;
		spec->values = SpecStringList(v, key, true);
	}
	else if (strcmp(key, "values_list") == 0)
		*values_list = v;
	else if (strcmp(key, "flat") == 0 || strcmp(key, "named") == 0)
	{
		if (v->type != jbvBool)
			SpecError(psprintf("$.%s", key), "expected a boolean", NULL);
		if (key[0] == 'f')
			*flat = v->val.boolean;
		else
			*named = v->val.boolean;
	}
	else if (strcmp(key, "distinct") == 0)
	{
		if (v->type == jbvBool)
			spec->distinct = v->val.boolean;
		else if (v->type == jbvArray)
		{
			spec->distinct_on = SpecStringList(v, key, true);
			spec->distinct = true;
		}
		else
			SpecError("$.distinct", "expected true, false or an array of fields", NULL);
	}
	else if (strcmp(key, "offset") == 0)
	{
		spec->has_offset = true;
		spec->offset = SpecInt(v, key);
	}
	else if (strcmp(key, "limit") == 0)
	{
		if (v->type == jbvNull)
			return;
		spec->has_limit = true;
		spec->limit = SpecInt(v, key);
	}
	else if (strcmp(key, "select_related") == 0)
		spec->select_related = SpecStringList(v, key, true);
	else if (strcmp(key, "prefetch_related") == 0)
		spec->prefetch_related = SpecPrefetchList(v);
	else if (strcmp(key, "annotate") == 0 || strcmp(key, "alias") == 0 ||
			 strcmp(key, "aggregate") == 0)
		SpecAnnotations(spec, v, key);
	else if (strcmp(key, "select_for_update") == 0)
		SpecLocking(spec, v);
	else if (strcmp(key, "$update") == 0)
	{
		if (v->type != jbvObject)
			SpecError("$.$update", psprintf("expected an object of field values, got %s", QsJsonTypeName(v)),
					  "Write qs.update(q, '{\"stock\": 0}').");
		spec->update_values = v;
	}
	else if (strcmp(key, "tenant_predicate") == 0)
	{
		if (v->type != jbvBool)
			SpecError("$.tenant_predicate", "expected a boolean",
					  "qs.for_tenant() sets it to false, having filtered on the tenant column itself.");
		spec->no_tenant_predicate = !v->val.boolean;
	}
	else if (strcmp(key, "$fields") == 0)
	{
		spec->has_allowed = true;
		spec->allowed = SpecStringList(v, key, true);
	}
	else if (strcmp(key, "combinator") == 0)
	{
		char	   *op = v->type == jbvString ? QsTreeKey(v) : "";

		if (strcmp(op, "union") != 0 && strcmp(op, "intersection") != 0 &&
			strcmp(op, "difference") != 0)
			SpecError("$.combinator", "expected \"union\", \"intersection\" or \"difference\"",
					  "Combine querysets with qs.union(), qs.intersection() or qs.difference().");
		spec->combinator = op;
	}
	else if (strcmp(key, "all") == 0)
	{
		if (v->type != jbvBool)
			SpecError("$.all", "expected a boolean", NULL);
		spec->combine_all = v->val.boolean;
	}
	else if (strcmp(key, "combined") == 0)
		spec->combined = SpecCombined(v);
	else if (strcmp(key, "$keyset") == 0)
		spec->keyset = SpecKeyset(v);
	else if (strcmp(key, "page") == 0)
	{
		/* read by the terminals (keyset.c rewrites it into "$keyset") */
		if (v->type != jbvObject)
			SpecError("$.page", psprintf("expected an object, got %s", QsJsonTypeName(v)),
					  "Write \"page\": {\"size\": 20, \"after\": \"<cursor>\"}.");
	}
	else if (strcmp(key, "manager") == 0 || strcmp(key, "use") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid spec at $.%s: \"%s\" is not supported by pg_queryset %s",
						key, key, "0.1.0"),
				 errhint("This key is part of the design and arrives in a later release.")));
	else
		SpecError(psprintf("$.%s", key), psprintf("unknown key \"%s\"", key),
				  "Known keys: model, where, annotate, alias, order_by, only, defer, values, "
				  "values_list, flat, named, distinct, offset, limit, select_related, "
				  "prefetch_related, combinator, all, combined, page.");
}

/* values_list with flat / named: the row shape. */
static void
SpecValuesList(QsSpec *spec, JsonbValue *values_list, bool flat, bool named)
{
	if (values_list != NULL)
	{
		if (spec->has_values)
			SpecError("$", "\"values\" and \"values_list\" cannot be combined", NULL);
		spec->has_values = true;
		spec->values = SpecStringList(values_list, "values_list", true);
		spec->shape = QS_ROW_ARRAY;
		if (flat && named)
			SpecError("$", "\"flat\" and \"named\" cannot both be true", NULL);
		spec->values_key = "values_list";
		if (flat)
		{
			if (list_length(spec->values) != 1)
				SpecError("$.flat", "\"flat\" needs exactly one field in values_list", NULL);
			spec->shape = QS_ROW_FLAT;
		}
		if (named)
			spec->shape = QS_ROW_OBJECT;
	}
	else if (flat || named)
		SpecError(flat ? "$.flat" : "$.named", "only valid together with \"values_list\"", NULL);
}

/* Validate a spec tree into a QsSpec (unknown keys and bad values are 22023). */
QsSpec *
QsSpecFromTree(JsonbValue *tree)
{
	QsSpec	   *spec = palloc0(sizeof(QsSpec));
	int			i;
	JsonbValue *values_list = NULL;
	bool		flat = false;
	bool		named = false;

	if (tree == NULL || tree->type != jbvObject)
		SpecError("$", psprintf("a queryset spec must be a JSON object, got %s",
								tree ? QsJsonTypeName(tree) : "nothing"),
				  "Start from qs.all('model') or write {\"model\": \"catalog_product\", ...}.");
	spec->tree = tree;
	spec->shape = QS_ROW_OBJECT;
	spec->values_key = "values";

	for (i = 0; i < tree->val.object.nPairs; i++)
	{
		char	   *key = QsTreeKey(&tree->val.object.pairs[i].key);
		JsonbValue *v = &tree->val.object.pairs[i].value;

		CHECK_FOR_INTERRUPTS();
		SpecKey(spec, key, v, &values_list, &flat, &named);
	}

	if (spec->model == NULL)
		SpecError("$", "the key \"model\" is required",
				  "Write {\"model\": \"catalog_product\"} or start from qs.all('catalog_product').");
	if (spec->combinator != NULL || spec->combined != NIL || QsTreeGet(tree, "all") != NULL)
		SpecCheckCombined(spec, tree);

	SpecValuesList(spec, values_list, flat, named);
	return spec;
}

/*
 * "combined": the operands of a set operation, each a whole queryset
 * (itself possibly combined), validated as one.
 */
static List *
SpecCombined(JsonbValue *v)
{
	List	   *res = NIL;
	int			i;

	check_stack_depth();
	if (v->type != jbvArray || v->val.array.nElems < 2)
		SpecError("$.combined", "expected an array of at least two querysets",
				  "Combine querysets with qs.union(q, other, ...).");
	for (i = 0; i < v->val.array.nElems; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (v->val.array.elems[i].type != jbvObject)
			SpecError(psprintf("$.combined[%d]", i),
					  psprintf("expected a queryset object, got %s",
							   QsJsonTypeName(&v->val.array.elems[i])), NULL);
		res = lappend(res, QsSpecFromTree(&v->val.array.elems[i]));
	}
	return res;
}

/* Django's name of the method that sets a spec key, for messages. */
static const char *
MethodOfKey(const char *key)
{
	if (strcmp(key, "where") == 0)
		return "filter";
	if (strcmp(key, "tenant_predicate") == 0)
		return "for_tenant";
	if (strcmp(key, "$update") == 0 || strcmp(key, "$fields") == 0)
		return "update";
	return key;
}

/*
 * A combined queryset (union, intersection, difference): after combining
 * Django allows only slicing, order_by(), values()/values_list(), count(),
 * exists() and fetching (NotSupportedError otherwise: 0A000 here).
 */
static void
SpecCheckCombined(QsSpec *spec, JsonbValue *tree)
{
	int			i;

	if (spec->combinator == NULL || spec->combined == NIL)
		SpecError("$", "\"combinator\" and \"combined\" go together",
				  "Combine querysets with qs.union(), qs.intersection() or qs.difference().");
	for (i = 0; i < tree->val.object.nPairs; i++)
	{
		char	   *key = QsTreeKey(&tree->val.object.pairs[i].key);

		if (strcmp(key, "model") != 0 && strcmp(key, "combinator") != 0 &&
			strcmp(key, "all") != 0 && strcmp(key, "combined") != 0 &&
			strcmp(key, "order_by") != 0 && strcmp(key, "limit") != 0 &&
			strcmp(key, "offset") != 0 && strcmp(key, "values") != 0 &&
			strcmp(key, "values_list") != 0 && strcmp(key, "flat") != 0 &&
			strcmp(key, "named") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("Calling QuerySet.%s() after %s() is not supported.",
							MethodOfKey(key), spec->combinator),
					 errdetail("The spec has \"%s\" next to \"combinator\".", key),
					 errhint("After union(), intersection() or difference() only slicing, order_by(), "
							 "values() and values_list() apply; filter each queryset before combining.")));
	}
	if (((QsSpec *) linitial(spec->combined))->model->relid != spec->model->relid)
		SpecError("$.model", psprintf("a combined queryset has the model of its first queryset, \"%s\"",
									  ((QsSpec *) linitial(spec->combined))->model->display), NULL);
}

/* Parse a jsonb spec. */
QsSpec *
QsSpecParse(Jsonb *jb)
{
	return QsSpecFromTree(QsJsonbToTree(jb));
}

/*
 * Compose a slice with an existing one (Django: qs[a:b][c:d]).
 * The current window is [offset, offset + limit); the new one is taken
 * relative to it and never extends past it.
 */
void
QsSliceCompose(bool has_offset, int64 offset, bool has_limit, int64 limit,
			   int64 start, bool has_stop, int64 stop,
			   int64 *new_offset, bool *new_has_limit, int64 *new_limit)
{
	int64		off = has_offset ? offset : 0;
	int64		end = PG_INT64_MAX;

	if (start < 0 || (has_stop && stop < 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("negative indexing is not supported"),
				 errhint("Slice with non-negative start and stop, as in Django.")));
	if (has_limit)
		end = off + limit;
	if (has_stop && stop < PG_INT64_MAX - off)
		end = Min(end, off + stop);
	*new_offset = (start < PG_INT64_MAX - off) ? off + start : PG_INT64_MAX;
	*new_has_limit = (end != PG_INT64_MAX);
	*new_limit = *new_has_limit ? Max(0, end - *new_offset) : 0;
}

/* The slice of a spec tree, validated exactly as QsSpecFromTree does. */
void
QsSpecSlice(JsonbValue *tree, bool *has_offset, int64 *offset, bool *has_limit, int64 *limit)
{
	JsonbValue *v;

	*has_offset = *has_limit = false;
	*offset = *limit = 0;
	if ((v = QsTreeGet(tree, "offset")) != NULL)
	{
		*has_offset = true;
		*offset = SpecInt(v, "offset");
	}
	if ((v = QsTreeGet(tree, "limit")) != NULL && v->type != jbvNull)
	{
		*has_limit = true;
		*limit = SpecInt(v, "limit");
	}
}

/* ---------------------------------------------------------------------
 * Method placeholders ({"$param": "name"}, see manager.c)
 * ---------------------------------------------------------------------
 */

/* compiling a method's definition: placeholders are typed NULLs */
bool		qs_validating_params = false;

/* Is v a {"$param": "name"} placeholder? */
bool
QsIsParam(JsonbValue *v)
{
	return v != NULL && v->type == jbvObject && v->val.object.nPairs == 1 &&
		QsTreeGet(v, "$param") != NULL;
}

/* Does v hold a placeholder anywhere? */
bool
QsContainsParam(JsonbValue *v)
{
	int			i;

	check_stack_depth();
	if (v == NULL)
		return false;
	if (QsIsParam(v))
		return true;
	if (v->type == jbvArray)
	{
		for (i = 0; i < v->val.array.nElems; i++)
			if (QsContainsParam(&v->val.array.elems[i]))
				return true;
	}
	else if (v->type == jbvObject)
	{
		for (i = 0; i < v->val.object.nPairs; i++)
			if (QsContainsParam(&v->val.object.pairs[i].value))
				return true;
	}
	return false;
}
