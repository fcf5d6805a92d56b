/*
 * shape.c
 *	  The shape of a spec: what decides its SQL text.
 *
 * The shape of a spec is everything that decides its SQL text: keys,
 * field paths, orderings, the structure of the Q tree, the JSON types of
 * the values and the booleans (isnull: true and false compile
 * differently) -- but not the values themselves.  QsShapeOf() writes a
 * canonical string of it and collects the lookup values in the order the
 * compiler meets them, so plancache.c can map a shape to a compiled
 * statement and the recorded parameter recipes can be replayed.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "exprfn.h"
#include "shape.h"
#include "spec.h"

/* Append a value exactly (structural parts: paths, orderings, flags). */
static void
ShapeExact(StringInfo s, JsonbValue *v)
{
	int			i;

	check_stack_depth();
	switch (v->type)
	{
		case jbvObject:
			appendStringInfoChar(s, '{');
			for (i = 0; i < v->val.object.nPairs; i++)
			{
				JsonbValue *k = &v->val.object.pairs[i].key;

				appendBinaryStringInfo(s, k->val.string.val, k->val.string.len);
				appendStringInfoChar(s, ':');
				ShapeExact(s, &v->val.object.pairs[i].value);
				appendStringInfoChar(s, ',');
			}
			appendStringInfoChar(s, '}');
			break;
		case jbvArray:
			appendStringInfoChar(s, '[');
			for (i = 0; i < v->val.array.nElems; i++)
			{
				ShapeExact(s, &v->val.array.elems[i]);
				appendStringInfoChar(s, ',');
			}
			appendStringInfoChar(s, ']');
			break;
		case jbvString:
			/* length-prefixed, so no string can forge a delimiter */
			appendStringInfo(s, "s%d:", v->val.string.len);
			appendBinaryStringInfo(s, v->val.string.val, v->val.string.len);
			break;
		default:
			appendStringInfo(s, "%c%s", v->type == jbvNumeric ? 'd' : 'x', QsTreeText(v));
			break;
	}
}

/* Append the type of a data value (not the value; booleans exactly). */
static void
ShapeData(StringInfo s, JsonbValue *v)
{
	int			i;

	switch (v->type)
	{
		case jbvNull:
			appendStringInfoChar(s, 'n');
			break;
		case jbvBool:
			appendStringInfoChar(s, v->val.boolean ? 't' : 'f');
			break;
		case jbvString:
			appendStringInfoChar(s, 's');
			break;
		case jbvNumeric:
			appendStringInfoChar(s, 'd');
			break;
		case jbvArray:
			appendStringInfo(s, "a%d(", v->val.array.nElems);
			for (i = 0; i < v->val.array.nElems; i++)
			{
				JsonbValue *e = &v->val.array.elems[i];

				appendStringInfoChar(s, e->type == jbvNull ? 'n' : e->type == jbvString ? 's' :
									 e->type == jbvNumeric ? 'd' : e->type == jbvBool ? 'b' :
									 e->type == jbvArray ? 'a' : 'o');
			}
			appendStringInfoChar(s, ')');
			break;
		default:
			appendStringInfoChar(s, 'o');	/* a jsonb value: one parameter */
			break;
	}
}

static void ShapeExpr(StringInfo s, JsonbValue *v, List **lookups);
static void ShapeInner(StringInfo s, JsonbValue *spec, List **lookups);

/*
 * The inner queryset of an "in" lookup's value, or NULL: {"Subquery":
 * {spec}} or a spec given directly ({"model": ..., "values": [...]}).
 * The shape (ShapeQ) and the compiler (lookup.c) both decide by it.
 */
JsonbValue *
QsInQueryset(JsonbValue *v)
{
	JsonbValue *inner;

	if (v->type != jbvObject)
		return NULL;
	if (v->val.object.nPairs == 1 && (inner = QsTreeGet(v, "Subquery")) != NULL && inner->type == jbvObject)
		return inner;
	return QsTreeGet(v, "model") != NULL ? v : NULL;
}

/* Is this JSON number written as an integer (no fraction, no exponent)? */
bool
QsNumberIsIntegral(JsonbValue *v)
{
	char	   *txt;

	if (v->type != jbvNumeric)
		return false;
	txt = QsTreeText(v);
	return strpbrk(txt, ".eE") == NULL;
}

/* A literal of an expression: its JSON type, integral numbers apart. */
static void
ShapeLiteral(StringInfo s, JsonbValue *v, List **lookups)
{
	*lookups = lappend(*lookups, v);
	if (v->type == jbvNumeric)
		appendStringInfoChar(s, QsNumberIsIntegral(v) ? 'i' : 'd');
	else
		ShapeData(s, v);
}

/* Append the shape of a Q tree, collecting lookup values in compile order. */
static void
ShapeQ(StringInfo s, JsonbValue *q, List **lookups)
{
	int			i;

	check_stack_depth();
	if (q->type != jbvObject)
	{
		ShapeExact(s, q);		/* an error shape: it never compiles */
		return;
	}
	appendStringInfoChar(s, '{');
	for (i = 0; i < q->val.object.nPairs; i++)
	{
		JsonbValue *k = &q->val.object.pairs[i].key;
		JsonbValue *v = &q->val.object.pairs[i].value;
		bool		is_list = ((k->val.string.len == 3 &&
								memcmp(k->val.string.val, "$or", 3) == 0) ||
							   (k->val.string.len == 4 &&
								memcmp(k->val.string.val, "$and", 4) == 0));

		appendStringInfo(s, "%d:", k->val.string.len);
		appendBinaryStringInfo(s, k->val.string.val, k->val.string.len);
		appendStringInfoChar(s, '=');
		if (is_list && v->type == jbvArray)
		{
			int			j;

			appendStringInfoChar(s, '[');
			for (j = 0; j < v->val.array.nElems; j++)
				ShapeQ(s, &v->val.array.elems[j], lookups);
			appendStringInfoChar(s, ']');
		}
		else if (k->val.string.len == 4 && memcmp(k->val.string.val, "$not", 4) == 0)
			ShapeQ(s, v, lookups);
		else if (k->val.string.len == 7 && memcmp(k->val.string.val, "$exists", 7) == 0)
			ShapeInner(s, v, lookups);
		else if (k->val.string.len > 0 && k->val.string.val[0] == '$')
			ShapeExact(s, v);	/* an unknown operator: an error shape */
		else
		{
			/* a lookup: {"F": path} is structure, {"Value": x} and x are data */
			JsonbValue *f = NULL;

			*lookups = lappend(*lookups, v);
			if (v->type == jbvObject && v->val.object.nPairs == 1 &&
				(QsTreeGet(v, "F") != NULL || QsTreeGet(v, "OuterRef") != NULL))
				f = v;
			if (f)
				ShapeExact(s, v);
			else if (k->val.string.len > 4 &&
					 memcmp(k->val.string.val + k->val.string.len - 4, "__in", 4) == 0 &&
					 QsInQueryset(v) == v)
			{
				/*
				 * field__in with an inner queryset given directly: its
				 * structure is the shape ({"Subquery": ...} is an
				 * expression, shaped below)
				 */
				appendStringInfoChar(s, 'Q');
				ShapeInner(s, v, lookups);
			}
			else if (QsIsExprObject(v) && QsTreeGet(v, "Value") == NULL)
			{
				appendStringInfoChar(s, 'E');
				ShapeExpr(s, v, lookups);
			}
			else if (v->type == jbvObject && v->val.object.nPairs == 1 &&
					 QsTreeGet(v, "Value") != NULL)
			{
				appendStringInfoChar(s, 'V');
				ShapeData(s, QsTreeGet(v, "Value"));
			}
			else
				ShapeData(s, v);
		}
		appendStringInfoChar(s, ';');
	}
	appendStringInfoChar(s, '}');
}

/*
 * The shape of an expression (annotate, alias, aggregate, lookup values
 * that are expressions): strings are field paths and option names are
 * structure; numbers, booleans, nulls and Value/delimiter/tzinfo are
 * data; filter and When hold Q trees; Exists and Subquery inner specs.
 */
static void
ShapeExpr(StringInfo s, JsonbValue *v, List **lookups)
{
	int			i;

	check_stack_depth();
	switch (v->type)
	{
		case jbvString:
			ShapeExact(s, v);
			return;
		case jbvArray:
			appendStringInfoChar(s, '[');
			for (i = 0; i < v->val.array.nElems; i++)
			{
				ShapeExpr(s, &v->val.array.elems[i], lookups);
				appendStringInfoChar(s, ',');
			}
			appendStringInfoChar(s, ']');
			return;
		case jbvObject:
			break;
		default:
			ShapeLiteral(s, v, lookups);
			return;
	}
	appendStringInfoChar(s, '{');
	for (i = 0; i < v->val.object.nPairs; i++)
	{
		char	   *key = QsTreeKey(&v->val.object.pairs[i].key);
		JsonbValue *val = &v->val.object.pairs[i].value;

		appendStringInfo(s, "%d:%s=", (int) strlen(key), key);
		if (strcmp(key, "F") == 0 || strcmp(key, "OuterRef") == 0 || strcmp(key, "kind") == 0 ||
			strcmp(key, "output_field") == 0 || strcmp(key, "distinct") == 0 ||
			strcmp(key, "lookup_name") == 0 || strcmp(key, "sample") == 0)
			ShapeExact(s, val);
		else if (strcmp(key, "Value") == 0 || strcmp(key, "delimiter") == 0 ||
				 strcmp(key, "tzinfo") == 0)
		{
			if (val->type == jbvObject || val->type == jbvArray)
			{
				*lookups = lappend(*lookups, val);
				ShapeData(s, val);
			}
			else
				ShapeLiteral(s, val, lookups);
		}
		else if (strcmp(key, "filter") == 0 || strcmp(key, "When") == 0)
			ShapeQ(s, val, lookups);
		else if (strcmp(key, "Exists") == 0 || strcmp(key, "Subquery") == 0)
			ShapeInner(s, val, lookups);
		else
			ShapeExpr(s, val, lookups);
		appendStringInfoChar(s, ';');
	}
	appendStringInfoChar(s, '}');
}

/*
 * A value written to a column (update, bulk_update): the value itself is
 * data unless it is an expression object, whose structure is then the
 * shape and whose literals are data.  Strings are literals here.
 */
void
QsShapeValue(StringInfo s, JsonbValue *v, List **lookups)
{
	*lookups = lappend(*lookups, v);
	if (v->type == jbvObject && QsIsExprObject(v))
	{
		appendStringInfoChar(s, 'E');
		ShapeExpr(s, v, lookups);
	}
	else if (v->type == jbvNumeric)
		appendStringInfoChar(s, QsNumberIsIntegral(v) ? 'i' : 'd');
	else
		ShapeData(s, v);
}

/* annotate / alias / aggregate: names are structure, values expressions */
static void
ShapeAnnotations(StringInfo s, JsonbValue *v, List **lookups)
{
	int			i;
	int			k;

	if (v->type == jbvObject)
	{
		appendStringInfoChar(s, '{');
		for (i = 0; i < v->val.object.nPairs; i++)
		{
			ShapeExact(s, &v->val.object.pairs[i].key);
			appendStringInfoChar(s, ':');
			ShapeExpr(s, &v->val.object.pairs[i].value, lookups);
			appendStringInfoChar(s, ',');
		}
		appendStringInfoChar(s, '}');
		return;
	}
	if (v->type != jbvArray)
	{
		ShapeExact(s, v);		/* an error shape */
		return;
	}
	appendStringInfoChar(s, '[');
	for (i = 0; i < v->val.array.nElems; i++)
	{
		JsonbValue *e = &v->val.array.elems[i];

		if (e->type != jbvObject)
		{
			ShapeExact(s, e);
			continue;
		}
		appendStringInfoChar(s, '{');
		for (k = 0; k < e->val.object.nPairs; k++)
		{
			ShapeExact(s, &e->val.object.pairs[k].key);
			appendStringInfoChar(s, ':');
			ShapeExpr(s, &e->val.object.pairs[k].value, lookups);
			appendStringInfoChar(s, ',');
		}
		appendStringInfoString(s, "},");
	}
	appendStringInfoChar(s, ']');
}

/*
 * An inner queryset (Exists, Subquery, $exists): its where lookups and
 * its limit/offset are data, the rest structure.
 */
static void
ShapeInner(StringInfo s, JsonbValue *spec, List **lookups)
{
	int			i;

	if (spec->type != jbvObject)
	{
		ShapeExact(s, spec);
		return;
	}
	appendStringInfoChar(s, '{');
	for (i = 0; i < spec->val.object.nPairs; i++)
	{
		char	   *key = QsTreeKey(&spec->val.object.pairs[i].key);
		JsonbValue *val = &spec->val.object.pairs[i].value;

		appendStringInfo(s, "%s=", key);
		if (strcmp(key, "where") == 0)
			ShapeQ(s, val, lookups);
		else if (strcmp(key, "order_by") == 0)
			ShapeExpr(s, val, lookups);
		else if ((strcmp(key, "limit") == 0 || strcmp(key, "offset") == 0) && val->type != jbvNull)
		{
			*lookups = lappend(*lookups, val);
			ShapeData(s, val);
		}
		else
			ShapeExact(s, val);
		appendStringInfoChar(s, ';');
	}
	appendStringInfoChar(s, '}');
}

/*
 * The data values of a Prefetch queryset, in the order the compiler
 * numbers them: the lookups of its where (walk order), then its limit,
 * then its offset.
 */
List *
QsInnerLookups(JsonbValue *queryset)
{
	StringInfoData scratch;
	List	   *lookups = NIL;
	JsonbValue *v;

	initStringInfo(&scratch);
	if ((v = QsTreeGet(queryset, "where")) != NULL)
		ShapeQ(&scratch, v, &lookups);
	if ((v = QsTreeGet(queryset, "order_by")) != NULL)
		ShapeExpr(&scratch, v, &lookups);
	if ((v = QsTreeGet(queryset, "limit")) != NULL && v->type != jbvNull)
		lookups = lappend(lookups, v);
	if ((v = QsTreeGet(queryset, "offset")) != NULL && v->type != jbvNull)
		lookups = lappend(lookups, v);
	return lookups;
}

/* The shape of prefetch_related: Prefetch querysets have data values too. */
static void
ShapePrefetch(StringInfo s, JsonbValue *arr, List **lookups)
{
	int			i;

	appendStringInfoChar(s, '[');
	for (i = 0; i < arr->val.array.nElems; i++)
	{
		JsonbValue *e = &arr->val.array.elems[i];
		int			k;

		if (e->type != jbvObject)
		{
			ShapeExact(s, e);
			appendStringInfoChar(s, ',');
			continue;
		}
		appendStringInfoChar(s, '{');
		for (k = 0; k < e->val.object.nPairs; k++)
		{
			char	   *key = QsTreeKey(&e->val.object.pairs[k].key);
			JsonbValue *val = &e->val.object.pairs[k].value;

			appendStringInfo(s, "%s:", key);
			if (strcmp(key, "queryset") == 0 && val->type == jbvObject)
			{
				int			j;

				/* everything but where/limit/offset values is structure */
				for (j = 0; j < val->val.object.nPairs; j++)
				{
					char	   *ik = QsTreeKey(&val->val.object.pairs[j].key);
					JsonbValue *iv = &val->val.object.pairs[j].value;

					appendStringInfo(s, "%s=", ik);
					if (strcmp(ik, "where") == 0)
					{
						List	   *scratch = NIL;

						ShapeQ(s, iv, &scratch);
					}
					else if (strcmp(ik, "limit") == 0 || strcmp(ik, "offset") == 0)
						ShapeData(s, iv);
					else if (strcmp(ik, "order_by") == 0)
					{
						List	   *scratch = NIL;

						ShapeExpr(s, iv, &scratch);
					}
					else
						ShapeExact(s, iv);
					appendStringInfoChar(s, ';');
				}
				*lookups = list_concat(*lookups, QsInnerLookups(val));
			}
			else
				ShapeExact(s, val);
			appendStringInfoChar(s, ',');
		}
		appendStringInfoString(s, "},");
	}
	appendStringInfoChar(s, ']');
}

/*
 * The shape of a spec (a whole one, or an operand of a set operation,
 * whose limit and offset are data values of the combined spec).
 */
static void
ShapeSpec(JsonbValue *tree, StringInfo s, List **lookups, bool operand)
{
	int			i;

	if (tree->type != jbvObject)
	{
		ShapeExact(s, tree);
		return;
	}
	for (i = 0; i < tree->val.object.nPairs; i++)
	{
		JsonbValue *k = &tree->val.object.pairs[i].key;
		JsonbValue *v = &tree->val.object.pairs[i].value;
		char	   *key = QsTreeKey(k);

		appendStringInfo(s, "%s=", key);
		if (strcmp(key, "where") == 0)
			ShapeQ(s, v, lookups);
		else if (strcmp(key, "prefetch_related") == 0 && v->type == jbvArray)
			ShapePrefetch(s, v, lookups);
		else if (strcmp(key, "annotate") == 0 || strcmp(key, "alias") == 0 ||
				 strcmp(key, "aggregate") == 0)
			ShapeAnnotations(s, v, lookups);
		else if (strcmp(key, "order_by") == 0)
			ShapeExpr(s, v, lookups);	/* strings exact; expressions' literals are data */
		else if (strcmp(key, "$update") == 0 && v->type == jbvObject)
		{
			int			k;

			for (k = 0; k < v->val.object.nPairs; k++)
			{
				ShapeExact(s, &v->val.object.pairs[k].key);
				appendStringInfoChar(s, '=');
				QsShapeValue(s, &v->val.object.pairs[k].value, lookups);
				appendStringInfoChar(s, ',');
			}
		}
		else if (strcmp(key, "$keyset") == 0 && v->type == jbvObject)
		{
			/* a page boundary: its values are data, their nullness structure */
			int			k;

			for (k = 0; k < v->val.object.nPairs; k++)
			{
				JsonbValue *kv = &v->val.object.pairs[k].value;

				ShapeExact(s, &v->val.object.pairs[k].key);
				appendStringInfoChar(s, '=');
				if (kv->type == jbvArray)
				{
					int			e;

					appendStringInfo(s, "[%d:", kv->val.array.nElems);
					for (e = 0; e < kv->val.array.nElems; e++)
					{
						*lookups = lappend(*lookups, &kv->val.array.elems[e]);
						ShapeData(s, &kv->val.array.elems[e]);
					}
					appendStringInfoChar(s, ']');
				}
				else
					ShapeExact(s, kv);
				appendStringInfoChar(s, ',');
			}
		}
		else if (strcmp(key, "limit") == 0 || strcmp(key, "offset") == 0)
		{
			if (operand && v->type != jbvNull)
				*lookups = lappend(*lookups, v);	/* an operand's slice is data */
			ShapeData(s, v);	/* presence and type; the value is a parameter */
		}
		else if (strcmp(key, "combined") == 0 && v->type == jbvArray)
		{
			int			k;

			check_stack_depth();
			appendStringInfoChar(s, '[');
			for (k = 0; k < v->val.array.nElems; k++)
			{
				appendStringInfoChar(s, '{');
				ShapeSpec(&v->val.array.elems[k], s, lookups, true);
				appendStringInfoString(s, "},");
			}
			appendStringInfoChar(s, ']');
		}
		else
			ShapeExact(s, v);
		appendStringInfoChar(s, ';');
	}
}

/*
 * Write the shape of a spec tree into s and collect its lookup values
 * (in the order compile.c numbers them) into *lookups.
 */
void
QsShapeOf(JsonbValue *tree, StringInfo s, List **lookups)
{
	*lookups = NIL;
	ShapeSpec(tree, s, lookups, false);
}

