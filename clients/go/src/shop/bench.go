package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v4"

	qs "pgqueryset"
)

// timed calls fn(k) for k = 0, 1, ... during seconds (after one warm-up
// call) and returns the calls per second.
func timed(seconds float64, fn func(k int) error) (float64, error) {
	if err := fn(0); err != nil {
		return 0, err
	}
	start := time.Now()
	deadline := start.Add(time.Duration(seconds * float64(time.Second)))
	for n := 1; ; n++ {
		if err := fn(n); err != nil {
			return 0, err
		}
		if now := time.Now(); !now.Before(deadline) {
			return float64(n) / now.Sub(start).Seconds(), nil
		}
	}
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// n1 is the N+1 loop of a naive ORM user: orders of the user; per order its
// address and its items; per item its product; per product its category --
// one query each, assembled into the same nested structure.
type n1 struct {
	conn    *pgx.Conn
	queries int
}

func (b *n1) all(ctx context.Context, sql string, arg any) ([]map[string]any, error) {
	b.queries++
	rows, err := b.conn.Query(ctx, sql, arg)
	if err != nil {
		return nil, qs.Translate(err)
	}
	defer rows.Close()
	var out []map[string]any
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, qs.Translate(err)
		}
		m := make(map[string]any, len(vals))
		for i, fd := range rows.FieldDescriptions() {
			m[string(fd.Name)] = vals[i]
		}
		out = append(out, m)
	}
	return out, qs.Translate(rows.Err())
}

func (b *n1) graph(ctx context.Context, user int) ([]map[string]any, error) {
	orders, err := b.all(ctx, "SELECT * FROM shop_order WHERE user_id = $1 ORDER BY id", user)
	if err != nil {
		return nil, err
	}
	for _, o := range orders {
		o["shipping_address"] = nil
		if id := o["shipping_address_id"]; id != nil {
			a, err := b.all(ctx, "SELECT * FROM shop_address WHERE id = $1", id)
			if err != nil {
				return nil, err
			}
			if len(a) > 0 {
				o["shipping_address"] = a[0]
			}
		}
		items, err := b.all(ctx, "SELECT * FROM shop_orderitem WHERE order_id = $1 ORDER BY id", o["id"])
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			p, err := b.all(ctx, "SELECT * FROM catalog_product WHERE id = $1", it["product_id"])
			if err != nil {
				return nil, err
			}
			if len(p) != 1 {
				return nil, fmt.Errorf("product %v not found", it["product_id"])
			}
			c, err := b.all(ctx, "SELECT * FROM catalog_category WHERE id = $1", p[0]["category_id"])
			if err != nil {
				return nil, err
			}
			if len(c) == 1 {
				p[0]["category"] = c[0]
			}
			it["product"] = p[0]
		}
		o["items"] = items
	}
	return orders, nil
}

// handSQL is bench/nested_hand.sql without its comment lines.
func handSQL() (string, error) {
	root := os.Getenv("QS_ROOT")
	if root == "" {
		root = "."
	}
	text, err := os.ReadFile(filepath.Join(root, "bench", "nested_hand.sql"))
	if err != nil {
		return "", fmt.Errorf("%w (set QS_ROOT to the repository)", err)
	}
	var lines []string
	for _, l := range strings.Split(string(text), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n"), nil
}

type benchOutput struct {
	Lang  string `json:"lang"`
	Graph struct {
		QsRPS     float64 `json:"qs_rps"`
		N1RPS     float64 `json:"n1_rps"`
		HandRPS   float64 `json:"hand_rps"`
		N1Queries float64 `json:"n1_queries"`
	} `json:"graph"`
	Pk struct {
		Clients int     `json:"clients"`
		QsRPS   float64 `json:"qs_rps"`
		HandRPS float64 `json:"hand_rps"`
	} `json:"pk"`
	Driver string `json:"driver"`
}

func bench(ctx context.Context, seconds float64, clients int) error {
	hand, err := handSQL()
	if err != nil {
		return err
	}
	conn, err := qs.Connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	user := func(k int) int { return k%50 + 101 } // users 101..150: 1-13 orders each, 5.3 on average
	orders := qs.Model("shop_order").OrderBy("id").
		SelectRelated("shipping_address").PrefetchRelated("items__product__category")

	var out benchOutput
	out.Lang = lang
	out.Driver = "pgx v4 (extended protocol, unnamed statements, describe-mode statement cache), one goroutine per connection"
	rps, err := timed(seconds, func(k int) error {
		_, err := orders.Filter(qs.L{"user": user(k)}).JSON(ctx, conn)
		return err
	})
	if err != nil {
		return fmt.Errorf("graph qs: %w", err)
	}
	out.Graph.QsRPS = round1(rps)

	loop := &n1{conn: conn}
	calls := 0
	rps, err = timed(seconds, func(k int) error {
		calls++
		_, err := loop.graph(ctx, user(k))
		return err
	})
	if err != nil {
		return fmt.Errorf("graph n+1: %w", err)
	}
	out.Graph.N1RPS = round1(rps)
	out.Graph.N1Queries = round1(float64(loop.queries) / float64(calls))

	rps, err = timed(seconds, func(k int) error {
		var b []byte
		return qs.Translate(conn.QueryRow(ctx, hand, user(k)).Scan(&b))
	})
	if err != nil {
		return fmt.Errorf("graph hand: %w", err)
	}
	out.Graph.HandRPS = round1(rps)

	out.Pk.Clients = clients
	product := qs.Model("catalog_product")
	if rps, err = pkRun(ctx, seconds, clients, func(c *pgx.Conn, id int) error {
		_, err := product.Filter(qs.L{"id": id}).JSON(ctx, c)
		return err
	}); err != nil {
		return fmt.Errorf("pk qs: %w", err)
	}
	out.Pk.QsRPS = round1(rps)
	if rps, err = pkRun(ctx, seconds, clients, func(c *pgx.Conn, id int) error {
		var b []byte
		return qs.Translate(c.QueryRow(ctx, "SELECT row_to_json(p) FROM catalog_product p WHERE id = $1", id).Scan(&b))
	}); err != nil {
		return fmt.Errorf("pk hand: %w", err)
	}
	out.Pk.HandRPS = round1(rps)
	fmt.Println(dumps(out))
	return nil
}

// pkRun runs call on clients connections (one goroutine each) for seconds,
// ids cycling 1..1000, and returns the total calls per second.
func pkRun(ctx context.Context, seconds float64, clients int, call func(c *pgx.Conn, id int) error) (float64, error) {
	conns := make([]*pgx.Conn, clients)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close(ctx)
			}
		}
	}()
	for j := range conns {
		c, err := qs.Connect(ctx)
		if err != nil {
			return 0, err
		}
		conns[j] = c
	}
	var (
		total    int64
		stop     int32
		ready    sync.WaitGroup
		start    = make(chan struct{})
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	ready.Add(clients)
	for j := 0; j < clients; j++ {
		wg.Add(1)
		go func(j int) {
			defer wg.Done()
			c := conns[j]
			k := j * 1000 / clients
			err := call(c, k%1000+1) // warm-up
			ready.Done()
			<-start
			n := int64(0)
			for err == nil && atomic.LoadInt32(&stop) == 0 {
				k++
				if err = call(c, k%1000+1); err == nil {
					n++
				}
			}
			atomic.AddInt64(&total, n)
			if err != nil {
				errOnce.Do(func() { firstErr = err })
			}
		}(j)
	}
	ready.Wait()
	began := time.Now()
	close(start)
	time.Sleep(time.Duration(seconds * float64(time.Second)))
	atomic.StoreInt32(&stop, 1)
	elapsed := time.Since(began).Seconds()
	wg.Wait()
	if firstErr != nil {
		return 0, firstErr
	}
	return float64(atomic.LoadInt64(&total)) / elapsed, nil
}
