package pgqueryset

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v4"
)

// Object is a JSON object decoded with exact numbers: fractional and
// integral numbers are json.Number (their text, e.g. "12.50"), never float64.
type Object map[string]any

// Decode parses JSON with exact numbers (json.Number) into v.
func Decode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return &Error{Kind: ErrDatabase, Message: "cannot decode JSON: " + err.Error(), Err: err}
	}
	return nil
}

func scalar(ctx context.Context, db Querier, dest any, sql string, args ...any) error {
	return Translate(db.QueryRow(ctx, sql, args...).Scan(dest))
}

func object(ctx context.Context, db Querier, sql string, args ...any) (Object, error) {
	var raw []byte
	if err := scalar(ctx, db, &raw, sql, args...); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, nil
	}
	var o Object
	if err := Decode(raw, &o); err != nil {
		return nil, err
	}
	return o, nil
}

// JSON runs qs.json: every row as one JSON array, the server's text as it is.
func (q QuerySet) JSON(ctx context.Context, db Querier) (json.RawMessage, error) {
	spec, err := q.param()
	if err != nil {
		return nil, err
	}
	var raw []byte
	if err := scalar(ctx, db, &raw, "SELECT qs.json($1::jsonb)", spec); err != nil {
		return nil, err
	}
	return json.RawMessage(raw), nil
}

// Rows runs qs.rows: one JSON value per row.
func (q QuerySet) Rows(ctx context.Context, db Querier) ([]json.RawMessage, error) {
	spec, err := q.param()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, "SELECT r FROM qs.rows($1::jsonb) AS r", spec)
	if err != nil {
		return nil, Translate(err)
	}
	return collectJSON(rows)
}

func collectJSON(rows pgx.Rows) ([]json.RawMessage, error) {
	defer rows.Close()
	out := []json.RawMessage{}
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, Translate(err)
		}
		out = append(out, json.RawMessage(raw))
	}
	return out, Translate(rows.Err())
}

// Count runs qs.count.
func (q QuerySet) Count(ctx context.Context, db Querier) (int64, error) {
	spec, err := q.param()
	if err != nil {
		return 0, err
	}
	var n int64
	err = scalar(ctx, db, &n, "SELECT qs.count($1::jsonb)", spec)
	return n, err
}

// Exists runs qs.exists.
func (q QuerySet) Exists(ctx context.Context, db Querier) (bool, error) {
	spec, err := q.param()
	if err != nil {
		return false, err
	}
	var b bool
	err = scalar(ctx, db, &b, "SELECT qs.exists($1::jsonb)", spec)
	return b, err
}

// Get runs qs.get: exactly one row, the lookups ANDed with the queryset's
// filters. No row is ErrDoesNotExist, several ErrMultipleObjectsReturned.
func (q QuerySet) Get(ctx context.Context, db Querier, lookups ...Where) (Object, error) {
	raw, err := q.getRaw(ctx, db, lookups)
	if err != nil {
		return nil, err
	}
	var o Object
	return o, Decode(raw, &o)
}

// GetInto is Get decoding the row into dest (a pointer, e.g. to a struct
// with json tags).
func (q QuerySet) GetInto(ctx context.Context, db Querier, dest any, lookups ...Where) error {
	raw, err := q.getRaw(ctx, db, lookups)
	if err != nil {
		return err
	}
	return Decode(raw, dest)
}

func (q QuerySet) getRaw(ctx context.Context, db Querier, lookups []Where) ([]byte, error) {
	spec, err := q.param()
	if err != nil {
		return nil, err
	}
	var raw []byte
	t := trees(lookups)
	if len(t) == 0 {
		err = scalar(ctx, db, &raw, "SELECT qs.get($1::jsonb)", spec)
		return raw, err
	}
	tree := t[0]
	if len(t) > 1 {
		tree = map[string]any{"$and": t}
	}
	lk, err := marshal(tree)
	if err != nil {
		return nil, err
	}
	err = scalar(ctx, db, &raw, "SELECT qs.get($1::jsonb, $2::jsonb)", spec, lk)
	return raw, err
}

// Aggregate runs qs.aggregate with named aggregates:
// Aggregate(ctx, db, L{"total": Sum("price")}) -> {"total": json.Number}.
func (q QuerySet) Aggregate(ctx context.Context, db Querier, aggregates L) (Object, error) {
	spec, err := q.param()
	if err != nil {
		return nil, err
	}
	aggs, err := marshal(aggregates)
	if err != nil {
		return nil, err
	}
	return object(ctx, db, "SELECT qs.aggregate($1::jsonb, $2::jsonb)", spec, aggs)
}

// Update runs qs.update and returns the number of rows updated:
// Update(ctx, db, L{"stock": F("stock").Sub(2)}).
func (q QuerySet) Update(ctx context.Context, db Querier, values L) (int64, error) {
	spec, err := q.param()
	if err != nil {
		return 0, err
	}
	vals, err := marshal(values)
	if err != nil {
		return 0, err
	}
	var n int64
	err = scalar(ctx, db, &n, "SELECT qs.update($1::jsonb, $2::jsonb)", spec, vals)
	return n, err
}

// Delete runs qs.delete and returns the number of rows deleted.
func (q QuerySet) Delete(ctx context.Context, db Querier) (int64, error) {
	spec, err := q.param()
	if err != nil {
		return 0, err
	}
	var n int64
	err = scalar(ctx, db, &n, "SELECT qs.delete($1::jsonb)", spec)
	return n, err
}

// SQL runs qs.sql: the statement qs.rows would run (for debugging).
func (q QuerySet) SQL(ctx context.Context, db Querier) (string, error) {
	spec, err := q.param()
	if err != nil {
		return "", err
	}
	var s string
	err = scalar(ctx, db, &s, "SELECT qs.sql($1::jsonb)", spec)
	return s, err
}

// Fetch runs qs.fetch(spec, NULL::model) and scans each row into a T, a
// struct whose exported fields name the columns by their `db` tag (or
// their lower-cased name); only those columns are selected:
//
//	type Product struct {
//		ID    int64           `db:"id"`
//		Name  string          `db:"name"`
//		Price decimal.Decimal `db:"price"`
//		Stock int32           `db:"stock"`
//	}
//	ps, err := pgqueryset.Fetch[Product](ctx, db, pgqueryset.Model("catalog_product").Filter(...))
//	// SELECT "id", "name", "price", "stock" FROM qs.fetch($1::jsonb, NULL::"catalog_product")
//
// Columns the queryset defers (Only/Defer) come back NULL: use pointer or
// pgtype fields for them.
func Fetch[T any](ctx context.Context, db Querier, q QuerySet) ([]T, error) {
	spec, err := q.param()
	if err != nil {
		return nil, err
	}
	rt := reflect.TypeOf((*T)(nil)).Elem()
	if rt.Kind() != reflect.Struct {
		return nil, &Error{Kind: ErrInvalidQuery, Message: fmt.Sprintf("Fetch needs a struct type, not %s", rt)}
	}
	var cols []string
	var index []int
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if !f.IsExported() {
			continue
		}
		name := f.Tag.Get("db")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		cols = append(cols, pgx.Identifier{name}.Sanitize())
		index = append(index, i)
	}
	if len(cols) == 0 {
		return nil, &Error{Kind: ErrInvalidQuery, Message: fmt.Sprintf("%s has no exported fields", rt)}
	}
	rowType := pgx.Identifier(strings.Split(q.model, ".")).Sanitize()
	sql := "SELECT " + strings.Join(cols, ", ") + " FROM qs.fetch($1::jsonb, NULL::" + rowType + ")"
	rows, err := db.Query(ctx, sql, spec)
	if err != nil {
		return nil, Translate(err)
	}
	defer rows.Close()
	var out []T
	dest := make([]any, len(index))
	for rows.Next() {
		var v T
		rv := reflect.ValueOf(&v).Elem()
		for j, i := range index {
			dest[j] = rv.Field(i).Addr().Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, Translate(err)
		}
		out = append(out, v)
	}
	return out, Translate(rows.Err())
}

// Cursor is an open server-side cursor of qs.cursor, read in batches of
// FETCH in the caller's transaction:
//
//	cur, err := qs.Cursor(ctx, tx, "export", 100)
//	for cur.Next(ctx) {
//		for _, row := range cur.Batch() { ... }
//	}
//	if err := cur.Err(); err != nil { ... }
//
// The transaction's end closes the cursor; Close closes it earlier.
type Cursor struct {
	db      Querier
	name    string
	fetch   string
	all     bool
	batch   []json.RawMessage
	err     error
	done    bool
	batches int
	rows    int
}

// Cursor opens qs.cursor(spec, name) and returns a Cursor that FETCHes
// batch rows at a time (batch <= 0: everything with one FETCH ALL). It
// must run inside a transaction: give it a pgx.Tx, or a *pgx.Conn after
// BEGIN. An empty name lets the server choose one.
func (q QuerySet) Cursor(ctx context.Context, db Querier, name string, batch int) (*Cursor, error) {
	spec, err := q.param()
	if err != nil {
		return nil, err
	}
	if c, ok := db.(*pgx.Conn); ok && c.PgConn().TxStatus() == 'I' {
		return nil, &Error{Kind: ErrDatabase, SQLState: "25P01",
			Message: "a cursor needs a transaction: pass a pgx.Tx (conn.Begin)"}
	}
	var nameArg any
	if name != "" {
		nameArg = name
	}
	var opened string
	if err := scalar(ctx, db, &opened, "SELECT qs.cursor($1::jsonb, $2::text)", spec, nameArg); err != nil {
		return nil, err
	}
	count := "ALL"
	if batch > 0 {
		count = strconv.Itoa(batch)
	}
	return &Cursor{db: db, name: opened, all: batch <= 0,
		// the cursor name is an identifier (quoted), the count an integer: no values in the text
		fetch: "FETCH " + count + " FROM " + pgx.Identifier{opened}.Sanitize()}, nil
}

// Name is the cursor's (portal's) name.
func (c *Cursor) Name() string { return c.name }

// Next FETCHes the next batch; false when the cursor is exhausted or on an error (see Err).
func (c *Cursor) Next(ctx context.Context) bool {
	if c.done || c.err != nil {
		return false
	}
	// FETCH has no parameters: the simple protocol, one round trip, no statement to describe
	rows, err := c.db.Query(ctx, c.fetch, pgx.QuerySimpleProtocol(true))
	if err != nil {
		c.err = Translate(err)
		return false
	}
	batch, err := collectJSON(rows)
	if err != nil {
		c.err = err
		return false
	}
	if len(batch) == 0 {
		c.done, c.batch = true, nil
		return false
	}
	if c.all {
		c.done = true
	}
	c.batch = batch
	c.batches++
	c.rows += len(batch)
	return true
}

// Batch is the batch the last successful Next fetched (one JSON value per row).
func (c *Cursor) Batch() []json.RawMessage { return c.batch }

// Err is the error that stopped Next, if any.
func (c *Cursor) Err() error { return c.err }

// Batches is the number of non-empty batches Next has fetched so far.
func (c *Cursor) Batches() int { return c.batches }

// Rows is the number of rows fetched so far.
func (c *Cursor) Rows() int { return c.rows }

// Close closes the cursor before the transaction ends (a no-op once exhausted).
func (c *Cursor) Close(ctx context.Context) error {
	if c.done {
		return nil
	}
	c.done = true
	_, err := c.db.Exec(ctx, "CLOSE "+pgx.Identifier{c.name}.Sanitize())
	return Translate(err)
}

// Create runs qs.create: inserts one row and returns it (defaults and pk included).
func Create(ctx context.Context, db Querier, model string, values L) (Object, error) {
	vals, err := marshal(values)
	if err != nil {
		return nil, err
	}
	return object(ctx, db, "SELECT qs.create($1::text::regclass, $2::jsonb)", model, vals)
}

// BulkUpdate runs qs.bulk_update: one statement for all rows (each with
// its pk), setting fields; returns the number of rows updated.
func BulkUpdate(ctx context.Context, db Querier, model string, rows []L, fields []string) (int64, error) {
	r, err := marshal(rows)
	if err != nil {
		return 0, err
	}
	var n int64
	err = scalar(ctx, db, &n, "SELECT qs.bulk_update($1::text::regclass, $2::jsonb, $3::text[])", model, r, fields)
	return n, err
}

// SetTenantToken runs qs.set_tenant_token(token): verifies a signed token
// and makes its tenant current for the transaction (the only safe form
// behind a transaction pooler); returns the tenant. A token that fails
// verification is ErrInvalidToken. The token is a bind parameter.
func SetTenantToken(ctx context.Context, db Querier, token string) (string, error) {
	var t string
	err := scalar(ctx, db, &t, "SELECT qs.set_tenant_token($1::text)", token)
	return t, err
}

// SetSessionTenantToken is qs.set_tenant_token(token, false): the tenant
// stays for the session. Never use it behind a transaction pooler.
func SetSessionTenantToken(ctx context.Context, db Querier, token string) (string, error) {
	var t string
	err := scalar(ctx, db, &t, "SELECT qs.set_tenant_token($1::text, false)", token)
	return t, err
}

// CurrentTenant runs qs.current_tenant(); ok is false when there is none.
func CurrentTenant(ctx context.Context, db Querier) (tenant string, ok bool, err error) {
	var t *string
	if err := scalar(ctx, db, &t, "SELECT qs.current_tenant()"); err != nil {
		return "", false, err
	}
	if t == nil {
		return "", false, nil
	}
	return *t, true, nil
}

// ResetTenant runs qs.reset_tenant(): no tenant and no token for the rest of the session.
func ResetTenant(ctx context.Context, db Querier) error {
	_, err := db.Exec(ctx, "SELECT qs.reset_tenant()")
	return Translate(err)
}

// SetQueryBudget limits the qs statements of the transaction (local) or
// the session (pg_queryset.query_budget); exceeding it is ErrLimitExceeded.
func SetQueryBudget(ctx context.Context, db Querier, budget int, local bool) error {
	_, err := db.Exec(ctx, "SELECT set_config('pg_queryset.query_budget', $1::text, $2::boolean)",
		strconv.Itoa(budget), local)
	return Translate(err)
}

// PlanCacheStats runs qs.plan_cache_stats() on the backend serving the call.
func PlanCacheStats(ctx context.Context, db Querier) (map[string]int64, error) {
	rows, err := db.Query(ctx, "SELECT * FROM qs.plan_cache_stats()")
	if err != nil {
		return nil, Translate(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	if rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, Translate(err)
		}
		for i, fd := range rows.FieldDescriptions() {
			switch n := vals[i].(type) {
			case int64:
				out[string(fd.Name)] = n
			case int32:
				out[string(fd.Name)] = int64(n)
			}
		}
	}
	return out, Translate(rows.Err())
}
