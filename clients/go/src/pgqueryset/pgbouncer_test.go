package pgqueryset

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v4"
)

// unnamedRace runs 16 connections of autocommit queries alternating between
// two statements that give different answers, and counts the answers that
// came from the other statement and the errors.
func unnamedRace(t *testing.T, cfg *pgx.ConnConfig) (ok, wrong, failed int64) {
	ctx := context.Background()
	var wg sync.WaitGroup
	deadline := time.Now().Add(2 * time.Second)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			conn, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close(ctx)
			for i := 0; time.Now().Before(deadline); i++ {
				x, add := int64(g*1000000+i), int64(0)
				q := "SELECT $1::int8 + 0"
				if (g+i)%2 == 1 {
					q, add = "SELECT $1::int8 + 1000000000", 1000000000
				}
				var v int64
				if err := conn.QueryRow(ctx, q, x).Scan(&v); err != nil {
					atomic.AddInt64(&failed, 1)
				} else if v != x+add {
					atomic.AddInt64(&wrong, 1)
				} else {
					atomic.AddInt64(&ok, 1)
				}
			}
		}(g)
	}
	wg.Wait()
	return
}

// TestPgBouncerUnnamedStatements needs PgBouncer in transaction mode in the
// PG* environment and QS_TEST_PGBOUNCER=1 (build.sh does not run it):
//
//	QS_TEST_PGBOUNCER=1 PGHOST=127.0.0.1 PGPORT=54629 PGUSER=qs_client PGPASSWORD=qs-client-pw \
//	PGDATABASE=qs_clients_go GO111MODULE=off GOPATH=/usr/share/gocode:$PWD/clients/go \
//	go test -run PgBouncer -v pgqueryset
//
// ParseConfig's describe-mode cache must never run another client's
// statement; pgx without any statement cache (two round trips per query)
// is shown for contrast.
func TestPgBouncerUnnamedStatements(t *testing.T) {
	if os.Getenv("QS_TEST_PGBOUNCER") == "" {
		t.Skip("set QS_TEST_PGBOUNCER=1 and PG* to a transaction-mode PgBouncer")
	}
	cfg, err := ParseConfig("")
	if err != nil {
		t.Fatal(err)
	}
	ok, wrong, failed := unnamedRace(t, cfg)
	t.Logf("describe mode: %d right, %d wrong, %d errors", ok, wrong, failed)
	if wrong != 0 || failed != 0 {
		t.Errorf("describe mode ran %d queries with another statement, %d failed", wrong, failed)
	}
	bare, _ := pgx.ParseConfig("")
	bare.BuildStatementCache = nil
	ok, wrong, failed = unnamedRace(t, bare)
	t.Logf("BuildStatementCache = nil: %d right, %d wrong (another client's statement), %d errors", ok, wrong, failed)
}
