package pgqueryset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// QuerySet is an immutable, lazy queryset: a model name and a JSON spec.
// Builder methods return a new QuerySet and never change the receiver, so
// a QuerySet can be shared and extended freely; nothing runs until a
// terminal (JSON, Rows, Count, Get, Update, Cursor, ...) receives a
// Querier.
//
//	laptops := pgqueryset.Model("catalog_product").
//		UsingManager("objects").
//		Use("by_category", pgqueryset.L{"slug": "laptops"})
//	cheapest := laptops.OrderBy("price", "id").Slice(0, 5)
type QuerySet struct {
	model string
	spec  map[string]any // never mutated after construction
	err   error          // a builder misuse, returned by every terminal
}

// Model starts a queryset over every row of a model (a table name,
// optionally schema-qualified): Django's Model.objects.all().
func Model(name string) QuerySet { return QuerySet{model: name, spec: map[string]any{}} }

// FromSpec makes a QuerySet from a raw spec document (with "model").
func FromSpec(spec map[string]any) (QuerySet, error) {
	model, ok := spec["model"].(string)
	if !ok || model == "" {
		return QuerySet{}, &Error{Kind: ErrInvalidQuery, SQLState: "22023", Message: `a spec needs a "model" string`}
	}
	q := Model(model)
	for k, v := range spec {
		if k != "model" {
			q.spec[k] = v
		}
	}
	return q, nil
}

// FromJSON makes a QuerySet from a spec given as JSON text.
func FromJSON(text string) (QuerySet, error) {
	var spec map[string]any
	if err := json.Unmarshal([]byte(text), &spec); err != nil {
		return QuerySet{}, &Error{Kind: ErrInvalidQuery, SQLState: "22023", Message: "spec is not a JSON object: " + err.Error(), Err: err}
	}
	return FromSpec(spec)
}

// ModelName is the queryset's model.
func (q QuerySet) ModelName() string { return q.model }

// Spec is the spec document ("model" included), ready for json.Marshal.
func (q QuerySet) Spec() map[string]any {
	out := make(map[string]any, len(q.spec)+1)
	for k, v := range q.spec {
		out[k] = v
	}
	out["model"] = q.model
	return out
}

// MarshalJSON writes the spec document.
func (q QuerySet) MarshalJSON() ([]byte, error) { return json.Marshal(q.Spec()) }

// String is the spec as JSON (for logs and debugging).
func (q QuerySet) String() string {
	b, err := q.MarshalJSON()
	if err != nil {
		return fmt.Sprintf("<QuerySet %s: %v>", q.model, err)
	}
	return string(b)
}

// with returns a copy with keys replaced (a nil value deletes the key).
func (q QuerySet) with(kv ...any) QuerySet {
	spec := make(map[string]any, len(q.spec)+len(kv)/2)
	for k, v := range q.spec {
		spec[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(spec, k)
		} else {
			spec[k] = kv[i+1]
		}
	}
	return QuerySet{model: q.model, spec: spec, err: q.err}
}

func (q QuerySet) fail(msg string) QuerySet {
	if q.err != nil {
		return q
	}
	r := q.with()
	r.err = &Error{Kind: ErrInvalidQuery, SQLState: "22023", Message: msg}
	return r
}

func appendList(old any, items ...any) []any {
	prev, _ := old.([]any)
	out := make([]any, 0, len(prev)+len(items))
	out = append(out, prev...)
	return append(out, items...)
}

func strs(fields []string) []any {
	out := make([]any, len(fields))
	for i, f := range fields {
		out[i] = f
	}
	return out
}

func (q QuerySet) andWhere(tree any) QuerySet {
	if m, ok := tree.(map[string]any); ok && len(m) == 0 {
		return q
	}
	where, ok := q.spec["where"]
	if !ok {
		return q.with("where", tree)
	}
	if m, ok := where.(map[string]any); ok && len(m) == 1 {
		if list, ok := m["$and"].([]any); ok {
			return q.with("where", map[string]any{"$and": appendList(list, tree)})
		}
	}
	return q.with("where", map[string]any{"$and": []any{where, tree}})
}

// Filter ANDs conditions into "where": Filter(L{"price__gte": 50}),
// Filter(Or(L{"a": 1}, L{"b": 2})). Several conditions are ANDed.
func (q QuerySet) Filter(conds ...Where) QuerySet {
	t := trees(conds)
	switch len(t) {
	case 0:
		return q
	case 1:
		return q.andWhere(t[0])
	}
	return q.andWhere(map[string]any{"$and": t})
}

// Exclude ANDs {"$not": conditions} into "where".
func (q QuerySet) Exclude(conds ...Where) QuerySet {
	t := trees(conds)
	switch len(t) {
	case 0:
		return q
	case 1:
		if m, ok := t[0].(map[string]any); ok && len(m) == 0 {
			return q
		}
		return q.andWhere(map[string]any{"$not": t[0]})
	}
	return q.andWhere(map[string]any{"$not": map[string]any{"$and": t}})
}

// OrderBy replaces the ordering ("price", "-price"); OrderBy() clears it.
func (q QuerySet) OrderBy(fields ...string) QuerySet { return q.with("order_by", strs(fields)) }

// OrderByExpr replaces the ordering with items that are field names or
// Orderings: OrderByExpr(Desc(F("release_date")).NullsLast(), "id").
func (q QuerySet) OrderByExpr(items ...any) QuerySet {
	for _, it := range items {
		switch it.(type) {
		case string, Ordering:
		default:
			return q.fail(fmt.Sprintf("order_by item %v is neither a field name nor an Ordering", it))
		}
	}
	return q.with("order_by", append([]any{}, items...))
}

// Values returns rows as objects keyed by the given paths (every column when none).
func (q QuerySet) Values(fields ...string) QuerySet {
	return q.with("values", strs(fields), "values_list", nil, "flat", nil, "named", nil)
}

// ValuesList returns rows as arrays of the given paths.
func (q QuerySet) ValuesList(fields ...string) QuerySet {
	return q.with("values_list", strs(fields), "values", nil, "flat", nil, "named", nil)
}

// ValuesListFlat returns rows as the bare values of one path (values_list with flat=true).
func (q QuerySet) ValuesListFlat(field string) QuerySet {
	return q.with("values_list", []any{field}, "flat", true, "values", nil, "named", nil)
}

// Only loads only these columns (plus the primary key); replaces an earlier Only.
func (q QuerySet) Only(fields ...string) QuerySet { return q.with("only", strs(fields)) }

// Defer defers columns (accumulates); Defer() clears.
func (q QuerySet) Defer(fields ...string) QuerySet {
	if len(fields) == 0 {
		return q.with("defer", nil)
	}
	return q.with("defer", appendList(q.spec["defer"], strs(fields)...))
}

// Distinct is SELECT DISTINCT or, with fields, DISTINCT ON.
func (q QuerySet) Distinct(fields ...string) QuerySet {
	if len(fields) == 0 {
		return q.with("distinct", true)
	}
	return q.with("distinct", strs(fields))
}

// SelectRelated embeds forward relations as nested objects (accumulates).
func (q QuerySet) SelectRelated(paths ...string) QuerySet {
	return q.with("select_related", appendList(q.spec["select_related"], strs(paths)...))
}

// PrefetchRelated embeds reverse and many-to-many relations as nested arrays (accumulates).
func (q QuerySet) PrefetchRelated(paths ...string) QuerySet {
	return q.with("prefetch_related", appendList(q.spec["prefetch_related"], strs(paths)...))
}

// Annotate adds a named expression returned with each row (in call order):
// Annotate("revenue", Sum(F("quantity").Mul(F("unit_price")))).
func (q QuerySet) Annotate(name string, expr any) QuerySet {
	return q.with("annotate", appendList(q.spec["annotate"], map[string]any{name: expr}))
}

// Alias adds a named expression usable in filters and orderings, not returned.
func (q QuerySet) Alias(name string, expr any) QuerySet {
	return q.with("alias", appendList(q.spec["alias"], map[string]any{name: expr}))
}

// UsingManager starts from a named manager (Django's Product.objects).
func (q QuerySet) UsingManager(name string) QuerySet { return q.with("manager", name) }

// Use applies a named queryset method with its arguments (nil for none):
// Use("by_category", L{"slug": "laptops"}).
func (q QuerySet) Use(method string, args L) QuerySet {
	a := map[string]any{}
	for k, v := range args {
		a[k] = v
	}
	return q.with("use", appendList(q.spec["use"], map[string]any{method: a}))
}

func (q QuerySet) window() (offset int, limit int, hasLimit bool) {
	offset = toInt(q.spec["offset"])
	if l, ok := q.spec["limit"]; ok {
		return offset, toInt(l), true
	}
	return offset, 0, false
}

func toInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case float64:
		return int(n)
	case json.Number:
		i, _ := n.Int64()
		return int(i)
	}
	return 0
}

// Slice is Django's qs[start:stop], relative to an earlier slice as Django
// composes them. Negative indexes are refused (ErrInvalidQuery).
func (q QuerySet) Slice(start, stop int) QuerySet {
	if start < 0 || stop < 0 {
		return q.fail("negative indexing is not supported")
	}
	offset, limit, has := q.window()
	end := offset + stop
	if has && offset+limit < end {
		end = offset + limit
	}
	newOffset := offset + start
	newLimit := end - newOffset
	if newLimit < 0 {
		newLimit = 0
	}
	var off any
	if newOffset != 0 {
		off = newOffset
	}
	return q.with("offset", off, "limit", newLimit)
}

// From is Django's qs[start:]: skip start rows (keeping an earlier limit).
func (q QuerySet) From(start int) QuerySet {
	if start < 0 {
		return q.fail("negative indexing is not supported")
	}
	offset, limit, has := q.window()
	var off, lim any
	if offset+start != 0 {
		off = offset + start
	}
	if has {
		l := limit - start
		if l < 0 {
			l = 0
		}
		lim = l
	}
	return q.with("offset", off, "limit", lim)
}

// Err is the builder misuse recorded in the queryset, if any (terminals return it).
func (q QuerySet) Err() error { return q.err }

var errNoModel = errors.New("pgqueryset: QuerySet without a model (use pgqueryset.Model)")

func (q QuerySet) param() ([]byte, error) {
	if q.err != nil {
		return nil, q.err
	}
	if q.model == "" {
		return nil, &Error{Kind: ErrInvalidQuery, Message: errNoModel.Error(), Err: errNoModel}
	}
	return marshal(q.Spec())
}

// marshal is json.Marshal without HTML escaping (<, > and & stay as they are).
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, &Error{Kind: ErrInvalidQuery, Message: "cannot serialise to JSON: " + err.Error(), Err: err}
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
