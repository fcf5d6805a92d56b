// Command shop is the Go client program of clients/PROTOCOL.md, built on
// the pgqueryset helper package and pgx v4:
//
//	shop workloads
//	shop load --clients N --requests R --first-tenant T [--session]
//	shop bench --seconds S [--clients 16]
//
// The connection comes from PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE,
// tokens from QS_TENANT_SECRET/QS_TENANT_AUDIENCE. Run it with
// clients/go/run.sh.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
)

const lang = "go"

func usage() {
	fmt.Fprintln(os.Stderr, `usage: shop workloads
       shop load --clients N --requests R --first-tenant T [--session]
       shop bench --seconds S [--clients 16]`)
}

func env(name string) string {
	v := os.Getenv(name)
	if v == "" {
		fmt.Fprintf(os.Stderr, "shop: %s is not set\n", name)
		os.Exit(1)
	}
	return v
}

// dumps is JSON without HTML escaping, on one line.
func dumps(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return string(bytes.TrimRight(buf.Bytes(), "\n"))
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	ctx := context.Background()
	mode, args := os.Args[1], os.Args[2:]
	var err error
	switch mode {
	case "workloads":
		fs := flag.NewFlagSet("workloads", flag.ExitOnError)
		fs.Parse(args)
		err = workloads(ctx)
	case "load":
		fs := flag.NewFlagSet("load", flag.ExitOnError)
		clients := fs.Int("clients", 0, "concurrent connections (goroutines)")
		requests := fs.Int("requests", 0, "requests (transactions) per client")
		first := fs.Int("first-tenant", 0, "tenant of client 0 (client i owns first+i)")
		session := fs.Bool("session", false, "leave session-level state behind (PgBouncer in session mode)")
		fs.Parse(args)
		if *clients <= 0 || *requests <= 0 || *first <= 0 {
			usage()
			os.Exit(2)
		}
		err = load(ctx, *clients, *requests, *first, *session)
	case "bench":
		fs := flag.NewFlagSet("bench", flag.ExitOnError)
		seconds := fs.Float64("seconds", 0, "seconds per measurement")
		clients := fs.Int("clients", 16, "connections of the pk benchmark")
		fs.Parse(args)
		if *seconds <= 0 || *clients <= 0 {
			usage()
			os.Exit(2)
		}
		err = bench(ctx, *seconds, *clients)
	case "-h", "--help", "help":
		usage()
		return
	default:
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "shop %s: %v\n", mode, err)
		os.Exit(1)
	}
}
