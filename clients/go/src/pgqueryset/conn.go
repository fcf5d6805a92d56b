package pgqueryset

import (
	"context"

	"github.com/jackc/pgconn"
	"github.com/jackc/pgconn/stmtcache"
	"github.com/jackc/pgtype"
	shopspring "github.com/jackc/pgtype/ext/shopspring-numeric"
	"github.com/jackc/pgx/v4"
)

// Querier is what terminals run on: *pgx.Conn and pgx.Tx both satisfy it.
// A terminal runs in the caller's transaction when given a pgx.Tx (or a
// *pgx.Conn inside BEGIN ... COMMIT), else as one autocommit statement.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...interface{}) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...interface{}) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...interface{}) pgx.Row
}

var (
	_ Querier = (*pgx.Conn)(nil)
	_ Querier = (pgx.Tx)(nil)
)

// ParseConfig is pgx.ParseConfig (connString "" reads the PG* environment
// variables: PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, ...) made fit
// for PgBouncer in transaction mode:
//
//   - the extended protocol with the unnamed statement only: no named
//     server-side prepared statements, which PgBouncer 1.18 does not
//     track. Every value stays a bind parameter ($1); the simple protocol
//     (PreferSimpleProtocol), which would splice values such as tenant
//     tokens into the SQL text, is off.
//   - a statement cache in pgx's "describe" mode: the unnamed statement
//     describes each distinct SQL text once per connection, after which
//     every query is ONE round trip (Parse+Bind+Execute+Sync). Without any
//     cache (BuildStatementCache = nil) pgx v4 sends Parse/Describe/Sync
//     and then Bind/Execute/Sync as two round trips; outside a transaction
//     PgBouncer may hand them to two different server connections, so the
//     Bind runs whatever unnamed statement another client last parsed
//     there (wrong results, or 26000 "unnamed prepared statement does not
//     exist"). pgx documents describe mode and the simple protocol as its
//     only PgBouncer-compatible settings.
//   - numeric columns scan into shopspring decimal.Decimal (exact).
func ParseConfig(connString string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, Translate(err)
	}
	cfg.PreferSimpleProtocol = false
	cfg.BuildStatementCache = func(conn *pgconn.PgConn) stmtcache.Cache {
		return stmtcache.New(conn, stmtcache.ModeDescribe, 256)
	}
	return cfg, nil
}

// Connect opens a connection with ParseConfig(""): PG* environment
// variables, fit for PgBouncer in transaction mode.
func Connect(ctx context.Context) (*pgx.Conn, error) {
	cfg, err := ParseConfig("")
	if err != nil {
		return nil, err
	}
	return ConnectConfig(ctx, cfg)
}

// ConnectConfig opens a connection with cfg (from ParseConfig) and
// registers exact decimals for numeric.
func ConnectConfig(ctx context.Context, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, Translate(err)
	}
	conn.ConnInfo().RegisterDataType(pgtype.DataType{
		Value: &shopspring.Numeric{}, Name: "numeric", OID: pgtype.NumericOID})
	return conn, nil
}
