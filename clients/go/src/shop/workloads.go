package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v4"
	"github.com/shopspring/decimal"

	qs "pgqueryset"
)

// W is the workloads' time window.
var W = []any{"2025-01-01T00:00:00+00:00", "2025-07-01T00:00:00+00:00"}

// Product is a typed catalog_product row read through qs.fetch.
type Product struct {
	ID    int64           `db:"id"`
	Name  string          `db:"name"`
	Price decimal.Decimal `db:"price"`
	Stock int32           `db:"stock"`
}

func emit(label string, v any) {
	fmt.Printf("%s\t%s\n", label, dumps(v))
}

// raw compacts a server JSON text onto one line.
func raw(r json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, r); err != nil {
		return r
	}
	return buf.Bytes()
}

func productChain() qs.QuerySet {
	return qs.Model("catalog_product").UsingManager("objects").
		Use("active", nil).
		Use("in_stock", nil).
		Use("by_category", qs.L{"slug": "laptops"}).
		Use("in_price_range", qs.L{"min_price": 50, "max_price": 2000})
}

// errorCase runs fn, which must fail, and names the failure "Kind/SQLSTATE".
func errorCase(fn func() error) (string, error) {
	err := fn()
	if err == nil {
		return "", errors.New("expected an error, the call succeeded")
	}
	var e *qs.Error
	if !errors.As(err, &e) {
		return "", fmt.Errorf("not a pgqueryset error: %w", err)
	}
	return e.Kind.Name() + "/" + e.SQLState, nil
}

// inTx runs fn in a transaction: committed when fn returns nil, else rolled back.
func inTx(ctx context.Context, conn *pgx.Conn, fn func(tx pgx.Tx) error) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return qs.Translate(err)
	}
	defer tx.Rollback(ctx)
	if err := fn(tx); err != nil {
		return err
	}
	return qs.Translate(tx.Commit(ctx))
}

func workloads(ctx context.Context) error {
	conn, err := qs.Connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	secret, audience := env("QS_TENANT_SECRET"), env("QS_TENANT_AUDIENCE")

	products := qs.Model("catalog_product")
	itemsInW := qs.Model("shop_orderitem").Filter(qs.L{"order__created_at__range": W})
	ordersInW := qs.Model("shop_order").Filter(qs.L{"created_at__range": W})
	revenue := qs.Sum(qs.F("quantity").Mul(qs.F("unit_price")))

	jsonCases := []struct {
		label string
		q     qs.QuerySet
	}{
		{"order_graph", qs.Model("shop_order").Filter(qs.L{"id": 42}).
			SelectRelated("user", "shipping_address").
			PrefetchRelated("items__product__category").
			Only("status", "total", "created_at", "user__username", "shipping_address__city",
				"items__quantity", "items__unit_price", "items__product__name",
				"items__product__category__name")},
		{"dashboard.revenue_by_category", itemsInW.Values("product__category__name").
			Annotate("revenue", revenue).Annotate("units_sold", qs.Sum("quantity")).
			OrderBy("-revenue").Slice(0, 10)},
		{"dashboard.monthly", ordersInW.Values("month").
			Annotate("month", qs.TruncMonth("created_at")).
			Annotate("revenue", qs.Sum("total")).
			Annotate("order_count", qs.Count("id")).
			Annotate("avg_order_value", qs.Avg("total")).
			OrderBy("month")},
		{"dashboard.top_products", itemsInW.Values("product__name", "product__id").
			Annotate("total_revenue", revenue).Annotate("total_units", qs.Sum("quantity")).
			OrderBy("-total_revenue", "product__id").Slice(0, 5)},
		{"dashboard.low_stock", products.Filter(qs.L{"status": "active", "stock__lte": 2}).
			Values("id", "name", "stock", "category__name").OrderBy("stock", "id").Slice(0, 10)},
		{"products.chain", productChain().Values("id", "name", "price", "stock", "category__name").
			OrderBy("price", "id").Slice(0, 5)},
	}
	for _, c := range jsonCases {
		r, err := c.q.JSON(ctx, conn)
		if err != nil {
			return fmt.Errorf("%s: %w", c.label, err)
		}
		emit(c.label, raw(r))
	}

	n, err := productChain().Count(ctx, conn)
	if err != nil {
		return fmt.Errorf("products.chain_count: %w", err)
	}
	emit("products.chain_count", n)

	got, err := products.Only("name", "price").Get(ctx, conn, qs.L{"id": 21})
	if err != nil {
		return fmt.Errorf("products.get: %w", err)
	}
	emit("products.get", got)

	// errors: each case must fail with its Django-named kind
	errs := map[string]string{}
	for _, c := range []struct {
		name string
		fn   func() error
	}{
		{"does_not_exist", func() error { _, err := products.Get(ctx, conn, qs.L{"id": 999999}); return err }},
		{"multiple", func() error { _, err := products.Get(ctx, conn, qs.L{"status": "active"}); return err }},
		{"field_error", func() error { _, err := products.Filter(qs.L{"colour": "red"}).Count(ctx, conn); return err }},
		{"invalid", func() error {
			q, err := qs.FromJSON(`{"model": "catalog_product", "limit": -1}`)
			if err != nil {
				return err
			}
			_, err = q.Count(ctx, conn)
			return err
		}},
		{"forged_token", func() error {
			return inTx(ctx, conn, func(tx pgx.Tx) error {
				_, err := qs.SetTenantToken(ctx, tx, qs.MintToken("wrong-secret", "2", audience, 600*time.Second))
				return err
			})
		}},
		{"budget", func() error {
			return inTx(ctx, conn, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, "SET LOCAL pg_queryset.query_budget = 2"); err != nil {
					return qs.Translate(err)
				}
				for i := 0; i < 3; i++ {
					if _, err := products.Count(ctx, tx); err != nil {
						return err
					}
				}
				return nil
			})
		}},
	} {
		s, err := errorCase(c.fn)
		if err != nil {
			return fmt.Errorf("errors.%s: %w", c.name, err)
		}
		errs[c.name] = s
	}
	emit("errors", errs)

	if err := stockDecrement(ctx, conn, products); err != nil {
		return fmt.Errorf("stock.decrement: %w", err)
	}

	updated, err := qs.BulkUpdate(ctx, conn, "catalog_product", []qs.L{
		{"id": 21, "price": "12.50"}, {"id": 22, "price": "99.00"}, {"id": 23, "price": "7.25"},
	}, []string{"price"})
	if err != nil {
		return fmt.Errorf("prices.bulk_update: %w", err)
	}
	rows, err := products.Filter(qs.L{"id__in": []int{21, 22, 23}}).Values("id", "price").OrderBy("id").JSON(ctx, conn)
	if err != nil {
		return fmt.Errorf("prices.bulk_update: %w", err)
	}
	emit("prices.bulk_update", map[string]any{"updated": updated, "rows": raw(rows)})

	laptops := products.Filter(qs.L{"category__slug": "laptops", "status": "active"})
	raised, err := laptops.Update(ctx, conn, qs.L{"price": qs.F("price").Mul(json.Number("1.1"))})
	if err != nil {
		return fmt.Errorf("prices.raise: %w", err)
	}
	agg, err := laptops.Aggregate(ctx, conn, qs.L{"total": qs.Sum("price")})
	if err != nil {
		return fmt.Errorf("prices.raise: %w", err)
	}
	emit("prices.raise", map[string]any{"updated": raised, "total": agg["total"]})

	export, err := exportCSV(ctx, conn)
	if err != nil {
		return fmt.Errorf("export.csv: %w", err)
	}
	emit("export.csv", export)

	tenant, err := tenantRequest(ctx, conn, secret, audience)
	if err != nil {
		return fmt.Errorf("tenant.request: %w", err)
	}
	emit("tenant.request", tenant)
	return nil
}

// stockDecrement sells product 13 two at a time until the conditional
// update matches no row, then reads the stock left (qs.get, cross-checked
// with a typed qs.fetch row).
func stockDecrement(ctx context.Context, conn *pgx.Conn, products qs.QuerySet) error {
	sellable := products.Filter(qs.L{"id": 13, "stock__gte": 2})
	sold := []int{}
	for {
		n, err := sellable.Update(ctx, conn, qs.L{"stock": qs.F("stock").Sub(2)})
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		sold = append(sold, 2)
		if len(sold) > 1000 {
			return errors.New("the stock never runs out")
		}
	}
	row, err := products.Only("stock").Get(ctx, conn, qs.L{"id": 13})
	if err != nil {
		return err
	}
	typed, err := qs.Fetch[Product](ctx, conn, products.Filter(qs.L{"id": 13}))
	if err != nil {
		return err
	}
	if len(typed) != 1 || fmt.Sprint(row["stock"]) != strconv.Itoa(int(typed[0].Stock)) {
		return fmt.Errorf("qs.get says stock %v, qs.fetch %+v", row["stock"], typed)
	}
	emit("stock.decrement", map[string]any{"product": typed[0].ID, "sold": sold,
		"out_of_stock": true, "stock_left": typed[0].Stock})
	return nil
}

// csvField is a JSON value as a CSV field (numbers by their exact text).
func csvField(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "True"
		}
		return "False"
	default:
		return dumps(x)
	}
}

// exportCSV streams delivered orders through a server-side cursor into a
// temporary CSV file, hashing it on the way (never holding all rows).
func exportCSV(ctx context.Context, conn *pgx.Conn) (map[string]any, error) {
	delivered := qs.Model("shop_order").Filter(qs.L{"status": "delivered"}).
		Annotate("total_text", qs.Cast("total", "text")).
		ValuesList("id", "total_text", "created_at__date").OrderBy("id")
	f, err := os.CreateTemp("", "pg_queryset-export-*.csv")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	digest := sha256.New()
	out := bufio.NewWriter(io.MultiWriter(f, digest))
	var line bytes.Buffer
	w := csv.NewWriter(&line)
	writeRow := func(rec []string) (string, error) {
		line.Reset()
		if err := w.Write(rec); err != nil {
			return "", err
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return "", err
		}
		_, err := out.Write(line.Bytes())
		return line.String(), err
	}
	if _, err := writeRow([]string{"id", "total", "date"}); err != nil {
		return nil, err
	}
	var first string
	rows, batches := 0, 0
	err = inTx(ctx, conn, func(tx pgx.Tx) error {
		cur, err := delivered.Cursor(ctx, tx, "export", 100)
		if err != nil {
			return err
		}
		for cur.Next(ctx) {
			for _, r := range cur.Batch() {
				var vals []any
				if err := qs.Decode(r, &vals); err != nil {
					return err
				}
				rec := make([]string, len(vals))
				for i, v := range vals {
					rec[i] = csvField(v)
				}
				text, err := writeRow(rec)
				if err != nil {
					return err
				}
				if rows == 0 {
					first = strings.TrimRight(text, "\n")
				}
				rows++
			}
		}
		batches = cur.Batches()
		return cur.Err()
	})
	if err != nil {
		return nil, err
	}
	if err := out.Flush(); err != nil {
		return nil, err
	}
	return map[string]any{"rows": rows, "batches": batches,
		"sha256": hex.EncodeToString(digest.Sum(nil)), "first": first}, nil
}

// tenantRequest is one request of tenant "2" with a signed token, then a
// transaction without one.
func tenantRequest(ctx context.Context, conn *pgx.Conn, secret, audience string) (map[string]any, error) {
	projects := qs.Model("tenancy_project")
	res := map[string]any{}
	err := inTx(ctx, conn, func(tx pgx.Tx) error {
		if _, err := qs.SetTenantToken(ctx, tx, qs.MintToken(secret, "2", audience, 600*time.Second)); err != nil {
			return err
		}
		tenant, ok, err := qs.CurrentTenant(ctx, tx)
		if err != nil {
			return err
		}
		if ok {
			res["tenant"] = tenant
		} else {
			res["tenant"] = nil
		}
		if res["visible"], err = projects.Count(ctx, tx); err != nil {
			return err
		}
		if res["other_tenant_visible"], err = projects.Filter(qs.L{"tenant_id": 3}).Count(ctx, tx); err != nil {
			return err
		}
		created, err := qs.Create(ctx, tx, "tenancy_project", qs.L{"name": "client project", "status": "active"})
		if err != nil {
			return err
		}
		res["created_tenant_id"] = created["tenant_id"]
		res["after_create"], err = projects.Count(ctx, tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	if res["without_token"], err = projects.Count(ctx, conn); err != nil {
		return nil, err
	}
	return res, nil
}
