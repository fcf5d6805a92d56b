package pgqueryset

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgconn"
)

func specJSON(t *testing.T, q QuerySet) string {
	t.Helper()
	b, err := q.param()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestBuilders(t *testing.T) {
	q := Model("catalog_product").Filter(L{"status": "active"}).OrderBy("-price").Slice(0, 5)
	if got, want := specJSON(t, q), `{"limit":5,"model":"catalog_product","order_by":["-price"],"where":{"status":"active"}}`; got != want {
		t.Errorf("got %s want %s", got, want)
	}
	base := Model("catalog_product").UsingManager("objects").Use("active", nil)
	more := base.Use("by_category", L{"slug": "laptops"})
	if got := specJSON(t, base); got != `{"manager":"objects","model":"catalog_product","use":[{"active":{}}]}` {
		t.Errorf("builders mutated the receiver: %s", got)
	}
	if got := specJSON(t, more); !strings.Contains(got, `"use":[{"active":{}},{"by_category":{"slug":"laptops"}}]`) {
		t.Errorf("use: %s", got)
	}
	if got := specJSON(t, Model("m").Slice(10, 30).Slice(5, 10)); got != `{"limit":5,"model":"m","offset":15}` {
		t.Errorf("slice of slice: %s", got)
	}
	if got := specJSON(t, Model("m").Slice(0, 10).From(3)); got != `{"limit":7,"model":"m","offset":3}` {
		t.Errorf("from: %s", got)
	}
	if _, err := Model("m").Slice(-1, 2).Count(nil, nil); !errors.Is(err, ErrInvalidQuery) {
		t.Errorf("negative slice: %v", err)
	}
	f := Model("m").Filter(L{"a": 1}).Filter(L{"b": 2}).Filter(L{"c": 3}).Exclude(L{"d": 4})
	if got := specJSON(t, f); got != `{"model":"m","where":{"$and":[{"a":1},{"b":2},{"c":3},{"$not":{"d":4}}]}}` {
		t.Errorf("filter chain: %s", got)
	}
	o := Model("m").Filter(Or(L{"stock": 0}, Not(L{"status": "archived"})))
	if got := specJSON(t, o); got != `{"model":"m","where":{"$or":[{"stock":0},{"$not":{"status":"archived"}}]}}` {
		t.Errorf("Q: %s", got)
	}
	v := Model("m").Values("a").ValuesListFlat("b")
	if got := specJSON(t, v); got != `{"flat":true,"model":"m","values_list":["b"]}` {
		t.Errorf("values_list flat: %s", got)
	}
}

func TestExpressions(t *testing.T) {
	cases := map[string]any{
		`{"-":[{"F":"stock"},2]}`:                             F("stock").Sub(2),
		`{"Sum":{"*":[{"F":"quantity"},{"F":"unit_price"}]}}`: Sum(F("quantity").Mul(F("unit_price"))),
		`{"Cast":"total","output_field":"text"}`:              Cast("total", "text"),
		`{"Count":"user","distinct":true}`:                    Count("user").With("distinct", true),
		`{"TruncMonth":"created_at"}`:                         TruncMonth("created_at"),
		`{"Coalesce":["a",{"Value":0}]}`:                      Coalesce("a", Value(0)),
		`{"F":"release_date","desc":true,"nulls_last":true}`:  Desc(F("release_date")).NullsLast(),
		`{"*":[{"F":"price"},1.1]}`:                           F("price").Mul(json.Number("1.1")),
	}
	for want, e := range cases {
		b, err := marshal(e)
		if err != nil || string(b) != want {
			t.Errorf("got %s (%v) want %s", b, err, want)
		}
	}
}

func TestErrors(t *testing.T) {
	for state, want := range map[string]string{
		"P0002": "DoesNotExist", "P0003": "MultipleObjectsReturned", "42703": "FieldError",
		"22023": "InvalidQuery", "22004": "InvalidQuery", "2202E": "InvalidQuery", "42804": "InvalidQuery",
		"22P02": "DataError", "23505": "IntegrityError", "23503": "IntegrityError",
		"28000": "InvalidToken", "42501": "PermissionDenied", "54000": "LimitExceeded", "XX000": "DatabaseError",
	} {
		pg := &pgconn.PgError{Code: state, Message: "m", Detail: "d", Hint: "h"}
		err := fmt.Errorf("wrapped: %w", Translate(pg))
		if got := KindName(err); got != want {
			t.Errorf("%s: got %s want %s", state, got, want)
		}
		if !errors.Is(err, ErrDatabase) {
			t.Errorf("%s is not ErrDatabase", state)
		}
		var back *pgconn.PgError
		if !errors.As(err, &back) || back.Code != state {
			t.Errorf("%s: PgError not reachable", state)
		}
	}
	tok := Translate(&pgconn.PgError{Code: "28000"})
	if !errors.Is(tok, ErrInvalidToken) || !errors.Is(tok, ErrPermissionDenied) || errors.Is(tok, ErrDoesNotExist) {
		t.Errorf("InvalidToken hierarchy")
	}
	if k := KindName(Translate(errors.New("conn lost"))); k != "DatabaseError" {
		t.Errorf("no SQLSTATE: %s", k)
	}
}

// pySig: the signature Python's hmac/hashlib compute for the same input (cross-check)
const pySig = "szaHkbSyyhSEBlMrt4Bt9SN_mTeDlCNfU6-kl0lDAYo"

func TestMintToken(t *testing.T) {
	parts := strings.Split(mintAt("s", "2", "aud", 60), ".")
	if parts[0] != "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" || parts[1] != "eyJ0ZW5hbnRfaWQiOiIyIiwiYXVkIjoiYXVkIiwiZXhwIjo2MH0" {
		t.Errorf("token %v", parts)
	}
	if got := mintAt("s", "2", "aud", 60); got != "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0ZW5hbnRfaWQiOiIyIiwiYXVkIjoiYXVkIiwiZXhwIjo2MH0."+pySig {
		t.Errorf("token %s", got)
	}
	if len(parts) != 3 || strings.ContainsAny(parts[2], "=+/") || len(parts[2]) != 43 {
		t.Errorf("signature %q", parts[2])
	}
}
