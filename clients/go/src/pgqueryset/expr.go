package pgqueryset

import (
	"encoding/json"
)

// L is a JSON object: lookups (filter, exclude, get), values (update,
// create), method arguments (use) and named aggregates (aggregate).
//
//	pgqueryset.L{"status": "active", "price__lt": 100}
//	pgqueryset.L{"stock": pgqueryset.F("stock").Sub(2)}
type L map[string]any

// Where is a filter condition: an L (its lookups ANDed) or a Q tree built
// with And, Or and Not.
type Where interface {
	whereJSON() any
}

func (l L) whereJSON() any {
	m := make(map[string]any, len(l))
	for k, v := range l {
		m[k] = v
	}
	return m
}

// Q is a boolean tree of lookups, Django's Q objects:
//
//	pgqueryset.Or(pgqueryset.L{"stock": 0}, pgqueryset.Not(pgqueryset.L{"status": "archived"}))
//	// {"$or": [{"stock": 0}, {"$not": {"status": "archived"}}]}
type Q struct{ tree any }

func (q Q) whereJSON() any { return q.tree }

// MarshalJSON writes the tree's spec form.
func (q Q) MarshalJSON() ([]byte, error) { return json.Marshal(q.tree) }

func trees(ws []Where) []any {
	out := make([]any, 0, len(ws))
	for _, w := range ws {
		if w != nil {
			out = append(out, w.whereJSON())
		}
	}
	return out
}

// And is {"$and": [...]} (a single condition is returned as it is).
func And(ws ...Where) Q {
	t := trees(ws)
	if len(t) == 1 {
		return Q{t[0]}
	}
	return Q{map[string]any{"$and": t}}
}

// Or is {"$or": [...]}.
func Or(ws ...Where) Q { return Q{map[string]any{"$or": trees(ws)}} }

// Not is {"$not": w}.
func Not(w Where) Q { return Q{map[string]any{"$not": w.whereJSON()}} }

// Expr is a spec expression: a field reference, an operator, a function
// or a literal. It marshals to the spec's JSON form.
//
//	pgqueryset.Sum(pgqueryset.F("quantity").Mul(pgqueryset.F("unit_price")))
//	// {"Sum": {"*": [{"F": "quantity"}, {"F": "unit_price"}]}}
type Expr struct{ v any }

// MarshalJSON writes the expression's spec form.
func (e Expr) MarshalJSON() ([]byte, error) { return json.Marshal(e.v) }

// F is a field reference, Django's F("price"): {"F": "price"}.
func F(path string) Expr { return Expr{map[string]any{"F": path}} }

// Value is a literal, Django's Value(v): {"Value": v}.
func Value(v any) Expr { return Expr{map[string]any{"Value": v}} }

func (e Expr) op(op string, other any) Expr { return Expr{map[string]any{op: []any{e, other}}} }

// Add is e + other ({"+": [e, other]}); other is an Expr or a JSON literal.
func (e Expr) Add(other any) Expr { return e.op("+", other) }

// Sub is e - other.
func (e Expr) Sub(other any) Expr { return e.op("-", other) }

// Mul is e * other.
func (e Expr) Mul(other any) Expr { return e.op("*", other) }

// Div is e / other.
func (e Expr) Div(other any) Expr { return e.op("/", other) }

// With returns the expression (a function) with an option added, e.g.
// Count("user").With("distinct", true) or Sum("total").With("default", 0).
func (e Expr) With(option string, value any) Expr {
	m, ok := e.v.(map[string]any)
	if !ok {
		return e
	}
	n := make(map[string]any, len(m)+1)
	for k, v := range m {
		n[k] = v
	}
	n[option] = value
	return Expr{n}
}

// Func is the spec function {"Name": argument}: one argument is given as
// it is (a bare string is a field path), several as a list, none as [].
func Func(name string, args ...any) Expr {
	switch len(args) {
	case 0:
		return Expr{map[string]any{name: []any{}}}
	case 1:
		return Expr{map[string]any{name: args[0]}}
	}
	return Expr{map[string]any{name: args}}
}

// Count is {"Count": arg}.
func Count(arg any) Expr { return Func("Count", arg) }

// Sum is {"Sum": arg}.
func Sum(arg any) Expr { return Func("Sum", arg) }

// Avg is {"Avg": arg}.
func Avg(arg any) Expr { return Func("Avg", arg) }

// Min is {"Min": arg}.
func Min(arg any) Expr { return Func("Min", arg) }

// Max is {"Max": arg}.
func Max(arg any) Expr { return Func("Max", arg) }

// Cast is {"Cast": arg, "output_field": outputField}.
func Cast(arg any, outputField string) Expr {
	return Expr{map[string]any{"Cast": arg, "output_field": outputField}}
}

// Coalesce is {"Coalesce": [args...]}.
func Coalesce(args ...any) Expr { return Expr{map[string]any{"Coalesce": args}} }

// TruncMonth is {"TruncMonth": arg}.
func TruncMonth(arg any) Expr { return Func("TruncMonth", arg) }

// TruncDay is {"TruncDay": arg}.
func TruncDay(arg any) Expr { return Func("TruncDay", arg) }

// TruncYear is {"TruncYear": arg}.
func TruncYear(arg any) Expr { return Func("TruncYear", arg) }

// Lower is {"Lower": arg}.
func Lower(arg any) Expr { return Func("Lower", arg) }

// Upper is {"Upper": arg}.
func Upper(arg any) Expr { return Func("Upper", arg) }

// Ordering is an order_by item for an expression: Asc(F("x")), Desc(...).
type Ordering struct{ v map[string]any }

// MarshalJSON writes the ordering's spec form.
func (o Ordering) MarshalJSON() ([]byte, error) { return json.Marshal(o.v) }

func ordering(e Expr, desc bool) Ordering {
	m := map[string]any{}
	if f, ok := e.v.(map[string]any); ok && len(f) == 1 && f["F"] != nil {
		m["F"] = f["F"]
	} else {
		m["expression"] = e
	}
	if desc {
		m["desc"] = true
	}
	return Ordering{m}
}

// Asc orders ascending by an expression.
func Asc(e Expr) Ordering { return ordering(e, false) }

// Desc orders descending by an expression.
func Desc(e Expr) Ordering { return ordering(e, true) }

// NullsFirst returns the ordering with NULLS FIRST.
func (o Ordering) NullsFirst() Ordering { return o.with("nulls_first") }

// NullsLast returns the ordering with NULLS LAST.
func (o Ordering) NullsLast() Ordering { return o.with("nulls_last") }

func (o Ordering) with(flag string) Ordering {
	m := make(map[string]any, len(o.v)+1)
	for k, v := range o.v {
		m[k] = v
	}
	m[flag] = true
	return Ordering{m}
}
