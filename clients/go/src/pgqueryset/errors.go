package pgqueryset

import (
	"errors"
	"strings"

	"github.com/jackc/pgconn"
)

// Kind is one of the Django-named error kinds of clients/PROTOCOL.md. The
// exported Err* values are the kinds; test an error with errors.Is:
//
//	if errors.Is(err, pgqueryset.ErrDoesNotExist) { ... }
//
// Every kind is also ErrDatabase (the base), and ErrInvalidToken is also
// ErrPermissionDenied, as in the Python client's class hierarchy.
type Kind struct {
	name   string
	parent *Kind
}

// Name is the Django name of the kind ("DoesNotExist", "FieldError", ...).
func (k *Kind) Name() string { return k.name }

// Error makes a Kind usable as a sentinel error.
func (k *Kind) Error() string { return "pgqueryset: " + k.name }

// The error kinds, mapped from SQLSTATE by Translate.
var (
	// ErrDatabase is the base of every error of this package (any other SQLSTATE, or none).
	ErrDatabase = &Kind{name: "DatabaseError"}
	// ErrDoesNotExist: get found no row (P0002).
	ErrDoesNotExist = &Kind{"DoesNotExist", ErrDatabase}
	// ErrMultipleObjectsReturned: get found more than one row (P0003).
	ErrMultipleObjectsReturned = &Kind{"MultipleObjectsReturned", ErrDatabase}
	// ErrFieldError: an unknown field, relation or lookup (42703).
	ErrFieldError = &Kind{"FieldError", ErrDatabase}
	// ErrInvalidQuery: a malformed spec or argument (22023, 22004, 2202E, 42804).
	ErrInvalidQuery = &Kind{"InvalidQuery", ErrDatabase}
	// ErrDataError: a value that does not fit its type (22P02).
	ErrDataError = &Kind{"DataError", ErrDatabase}
	// ErrIntegrityError: a constraint violation (SQLSTATE class 23).
	ErrIntegrityError = &Kind{"IntegrityError", ErrDatabase}
	// ErrPermissionDenied: insufficient privilege (42501).
	ErrPermissionDenied = &Kind{"PermissionDenied", ErrDatabase}
	// ErrInvalidToken: a tenant token that failed verification (28000); also ErrPermissionDenied.
	ErrInvalidToken = &Kind{"InvalidToken", ErrPermissionDenied}
	// ErrLimitExceeded: a program limit such as pg_queryset.query_budget (54000).
	ErrLimitExceeded = &Kind{"LimitExceeded", ErrDatabase}
)

var bySQLState = map[string]*Kind{
	"P0002": ErrDoesNotExist,
	"P0003": ErrMultipleObjectsReturned,
	"42703": ErrFieldError,
	"22023": ErrInvalidQuery, "22004": ErrInvalidQuery, "2202E": ErrInvalidQuery, "42804": ErrInvalidQuery,
	"22P02": ErrDataError,
	"28000": ErrInvalidToken,
	"42501": ErrPermissionDenied,
	"54000": ErrLimitExceeded,
}

// KindOf is the kind for a SQLSTATE ("" for errors without one: ErrDatabase).
func KindOf(sqlstate string) *Kind {
	if k, ok := bySQLState[sqlstate]; ok {
		return k
	}
	if strings.HasPrefix(sqlstate, "23") {
		return ErrIntegrityError
	}
	return ErrDatabase
}

// Error is what every terminal returns on failure: the kind plus
// PostgreSQL's error fields. The driver's error (a *pgconn.PgError when
// the server raised it) is wrapped: errors.As(err, &pgErr) still works.
type Error struct {
	Kind     *Kind
	SQLState string // five characters, or "" (lost connection, context canceled, ...)
	Message  string // primary message
	Detail   string
	Hint     string
	Err      error // the driver's error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.name)
	b.WriteString(": ")
	b.WriteString(e.Message)
	if e.SQLState != "" {
		b.WriteString(" [" + e.SQLState + "]")
	}
	if e.Detail != "" {
		b.WriteString("\nDETAIL:  " + e.Detail)
	}
	if e.Hint != "" {
		b.WriteString("\nHINT:  " + e.Hint)
	}
	return b.String()
}

// Unwrap returns the driver's error.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the error's kind or one of its ancestors.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Kind)
	if !ok {
		return false
	}
	for k := e.Kind; k != nil; k = k.parent {
		if k == t {
			return true
		}
	}
	return false
}

// Translate maps a driver error to an *Error by its SQLSTATE (nil stays
// nil; an *Error is returned unchanged).
func Translate(err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return &Error{Kind: KindOf(pg.Code), SQLState: pg.Code, Message: pg.Message,
			Detail: pg.Detail, Hint: pg.Hint, Err: err}
	}
	return &Error{Kind: ErrDatabase, Message: err.Error(), Err: err}
}

// KindName is the Django name of err's kind ("DoesNotExist", ...), or ""
// when err is not an error of this package.
func KindName(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind.name
	}
	return ""
}
