package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v4"

	qs "pgqueryset"
)

const probeSQL = "SELECT pg_backend_pid(), qs.current_tenant(), current_setting('pg_queryset.query_budget'), " +
	"coalesce(current_setting('pg_queryset.tenant_token', true), ''), " +
	"(SELECT count(*) FROM pg_catalog.pg_cursors)"

// tally holds the counters shared by the client goroutines.
type tally struct {
	mu                       sync.Mutex
	ok, leaks, wrong, errors int
	planHitsMax              int64
	pids                     map[string]int
}

func (t *tally) add(ok, leaks, wrong, errors int) {
	t.mu.Lock()
	t.ok += ok
	t.leaks += leaks
	t.wrong += wrong
	t.errors += errors
	t.mu.Unlock()
}

// loadOutput is the one JSON line of the load mode (fields in protocol order).
type loadOutput struct {
	Lang        string         `json:"lang"`
	Clients     int            `json:"clients"`
	Requests    int            `json:"requests"`
	OK          int            `json:"ok"`
	Leaks       int            `json:"leaks"`
	Wrong       int            `json:"wrong"`
	Errors      int            `json:"errors"`
	PlanHitsMax int64          `json:"plan_hits_max"`
	Pids        map[string]int `json:"pids"`
}

func load(ctx context.Context, clients, requests, firstTenant int, session bool) error {
	secret, audience := env("QS_TENANT_SECRET"), env("QS_TENANT_AUDIENCE")
	t := &tally{pids: map[string]int{}}
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			loadClient(ctx, i, firstTenant+i, requests, session, secret, audience, t)
		}(i)
	}
	wg.Wait()
	fmt.Println(dumps(loadOutput{lang, clients, clients * requests, t.ok, t.leaks, t.wrong, t.errors, t.planHitsMax, t.pids}))
	return nil
}

// requestResult is what one request saw.
type requestResult struct {
	leak, wrong bool
	hits        int64
}

func loadClient(ctx context.Context, i, tenant, requests int, session bool, secret, audience string, t *tally) {
	want := strconv.Itoa(tenant)
	token := qs.MintToken(secret, want, audience, 600*time.Second)
	conn, err := qs.Connect(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "client %d: connect: %v\n", i, err)
		t.add(0, 0, 0, requests)
		return
	}
	defer conn.Close(ctx)
	done := 0
	var hitsMax int64
	for r := 0; r < requests; r++ {
		res, err := loadRequest(ctx, conn, i, r, want, token, done, t)
		if err != nil {
			fmt.Fprintf(os.Stderr, "client %d request %d: %v\n", i, r, err)
			t.add(0, b2i(res.leak), 0, 1)
			if conn.IsClosed() {
				t.add(0, 0, 0, requests-r-1)
				return
			}
			continue
		}
		done++
		if res.hits > hitsMax {
			hitsMax = res.hits
		}
		t.add(1, b2i(res.leak), b2i(res.wrong), 0)
	}
	if session {
		// leave session-level state behind for the next client of this server connection
		if err := leaveSessionState(ctx, conn, token); err != nil {
			fmt.Fprintf(os.Stderr, "client %d: leaving session state: %v\n", i, err)
			t.add(0, 0, 0, 1)
		}
	}
	t.mu.Lock()
	if hitsMax > t.planHitsMax {
		t.planHitsMax = hitsMax
	}
	t.mu.Unlock()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func leaveSessionState(ctx context.Context, conn *pgx.Conn, token string) error {
	if _, err := conn.Exec(ctx, "SET pg_queryset.query_budget = 99"); err != nil {
		return qs.Translate(err)
	}
	if _, err := qs.SetSessionTenantToken(ctx, conn, token); err != nil {
		return err
	}
	_, err := conn.Exec(ctx, "DECLARE leak CURSOR WITH HOLD FOR SELECT 1")
	return qs.Translate(err)
}

// loadRequest is one transaction of PROTOCOL.md's load mode; done is the
// number of requests this client completed before.
func loadRequest(ctx context.Context, conn *pgx.Conn, i, r int, want, token string, done int, t *tally) (res requestResult, err error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return res, qs.Translate(err)
	}
	defer tx.Rollback(ctx) // a no-op after Commit
	wrong := func(format string, args ...any) {
		res.wrong = true
		fmt.Fprintf(os.Stderr, "client %d request %d: wrong: %s\n", i, r, fmt.Sprintf(format, args...))
	}

	// 2. nothing may be left over from an earlier client of this server connection
	var pid int32
	var curTenant *string
	var budget, tok string
	var cursors int64
	// no parameters: the simple protocol, so the probe's own portal is not
	// counted (an extended-protocol Bind creates a visible unnamed portal)
	if err := tx.QueryRow(ctx, probeSQL, pgx.QuerySimpleProtocol(true)).Scan(&pid, &curTenant, &budget, &tok, &cursors); err != nil {
		return res, qs.Translate(err)
	}
	t.mu.Lock()
	t.pids[strconv.Itoa(int(pid))]++
	t.mu.Unlock()
	if curTenant != nil || budget != "0" || tok != "" || cursors != 0 {
		res.leak = true
		tenant := "NULL"
		if curTenant != nil {
			tenant = *curTenant
		}
		fmt.Fprintf(os.Stderr, "client %d request %d: leak on backend %d: tenant=%s budget=%s token=%v cursors=%d\n",
			i, r, pid, tenant, budget, tok != "", cursors)
	}

	// 3.-4. a budget and the client's own tenant, for this transaction only
	if _, err := tx.Exec(ctx, "SET LOCAL pg_queryset.query_budget = 20"); err != nil {
		return res, qs.Translate(err)
	}
	if _, err := qs.SetTenantToken(ctx, tx, token); err != nil {
		return res, err
	}

	// 5. the tenant's projects: 2 to start with, plus one per completed request
	projects := qs.Model("tenancy_project")
	n, err := projects.Count(ctx, tx)
	if err != nil {
		return res, err
	}
	if n != int64(2+done) {
		wrong("count %d, expected %d", n, 2+done)
	}

	// 6. every project the cursor sees is the tenant's own (left open: COMMIT closes it)
	cur, err := projects.ValuesListFlat("tenant_id").Cursor(ctx, tx, "projects", 0)
	if err != nil {
		return res, err
	}
	seen := 0
	for cur.Next(ctx) {
		for _, v := range cur.Batch() {
			var val any
			if err := qs.Decode(v, &val); err != nil {
				return res, err
			}
			if fmt.Sprint(val) != want {
				wrong("cursor row of tenant %v", val)
			}
			seen++
		}
	}
	if err := cur.Err(); err != nil {
		return res, err
	}
	if int64(seen) != n {
		wrong("cursor saw %d rows, count %d", seen, n)
	}

	// 7. a new project lands in the tenant
	row, err := qs.Create(ctx, tx, "tenancy_project", qs.L{"name": fmt.Sprintf("%s-%d-%d", lang, i, r), "status": "active"})
	if err != nil {
		return res, err
	}
	if got := fmt.Sprint(row["tenant_id"]); got != want {
		wrong("created tenant_id %s", got)
	}

	// 8. plan cache hits of this backend
	var hits int64
	if err := tx.QueryRow(ctx, "SELECT hits FROM qs.plan_cache_stats()").Scan(&hits); err != nil {
		return res, qs.Translate(err)
	}
	res.hits = hits

	// 9.
	return res, qs.Translate(tx.Commit(ctx))
}
