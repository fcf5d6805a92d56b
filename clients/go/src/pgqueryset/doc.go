// Package pgqueryset is the Go client of the pg_queryset PostgreSQL
// extension (schema qs): Django's QuerySet vocabulary over pgx v4.
//
// A QuerySet is an immutable, lazy value holding a model name and a JSON
// spec; builder methods return new QuerySets and nothing touches the
// database until a terminal method receives a Querier (*pgx.Conn or
// pgx.Tx):
//
//	conn, err := pgqueryset.Connect(ctx) // PG* environment, PgBouncer-safe
//	cheap := pgqueryset.Model("catalog_product").
//		Filter(pgqueryset.L{"status": "active", "price__lt": 10}).
//		OrderBy("-price", "id").
//		Values("id", "name", "price").
//		Slice(0, 3)
//	rows, err := cheap.JSON(ctx, conn)  // SELECT qs.json($1::jsonb): one statement
//	n, err := pgqueryset.Model("catalog_product").Filter(pgqueryset.L{"stock__gt": 0}).Count(ctx, conn)
//	_, err = pgqueryset.Model("catalog_product").Filter(pgqueryset.L{"pk": 13}).
//		Update(ctx, conn, pgqueryset.L{"stock": pgqueryset.F("stock").Sub(2)})
//
// Every value -- spec, lookups, token -- is a bind parameter ($1), specs
// as jsonb; only identifiers the caller names (cursor names, Fetch's
// columns and row type) are written into SQL text, quoted. See
// ParseConfig for the driver settings PgBouncer in transaction mode needs.
//
// JSON comes back exact: qs.json as the server's text (json.RawMessage),
// decoded objects with json.Number for numbers.
//
// Server errors come back as *Error, mapped from SQLSTATE to the
// Django-named kinds (ErrDoesNotExist, ErrMultipleObjectsReturned,
// ErrFieldError, ErrInvalidQuery, ErrDataError, ErrIntegrityError,
// ErrPermissionDenied, ErrInvalidToken, ErrLimitExceeded, all
// ErrDatabase); test them with errors.Is. The *pgconn.PgError stays
// reachable with errors.As.
package pgqueryset
