#!/usr/bin/env python3
"""Spec fuzzer for pg_queryset (issue 8, docs/security.md "Hardening").

Generates valid, mutated and hostile specs over the demo schema - random
nesting, huge arrays, 10,000-level recursion, unknown keys, wrong types,
hostile identifiers and values (quotes, semicolons, comment markers,
escapes, Unicode, 1 MB strings), random lookups and relation paths - and
feeds them to every qs function, each call in its own transaction that is
rolled back.  Pass:

  * the server never restarts (pg_postmaster_start_time() and the
    postmaster's pid do not change, no connection is lost);
  * every error is a clean ERROR with a SQLSTATE in the classes 22, 42,
    53, 54, 57 or P0, or in a class a function documents for its own
    semantics (0A feature not supported, 21 get() finding several rows,
    23 constraint violations of writes, 28 tenant tokens, 40 lock
    conflicts, 55 object state): those are counted apart;
  * a role without privileges on the tables (USAGE on schema qs only)
    never gets data: a data-reading or writing call either fails (with
    42501, or an input error before any statement) or succeeds with an
    empty result because it had nothing to do (bulk_create of []).

A deterministic boundary phase runs first, always: every option of every
write function (qs.bulk_create, qs.bulk_update, and the numeric, boolean
and array keys qs.update, qs.delete, qs.create, qs.get_or_create and
qs.update_or_create take: limit, offset, select_for_update and its keys,
fields, the object arguments) called with each of 0, -1, 2^31, 2^32,
2^63-1, 1e308, "x", null, true and [] (and the valid edges, such as
2^31-1), each call in a rolled-back transaction with a 5 s
statement_timeout.  Pass: no call times out (57014 - a loop that does not
end is the bug this phase exists for) or loses its connection; a value
outside an option's type or range fails with 22023 and a message naming
the option; a valid value succeeds or fails with a clean, documented error.

A check that did not run has failed: no psycopg2, no connection, no case
tried or a boundary call not made is FAIL with the reason, never PASS.

Prints one summary table; exit status 0 = pass.

  python3 test/fuzz/fuzz.py [--cases N] [--seed S] [--dsn DSN]
"""
import argparse
import json
import os
import random
import sys
import threading
import time

try:
    import psycopg2
except ImportError as exc:      # a fuzzer that cannot run has failed
    print("FUZZ FAIL: python3-psycopg2 is not installed for %s (%s); scripts/install-deps.sh python3-psycopg2"
          % (sys.executable, exc))
    print("STRESS fuzz inputs=0 crashes=0 unexpected=0 violations=0")
    sys.exit(1)

ALLOWED = {"22", "42", "53", "54", "57", "P0"}
SEMANTIC = {"0A": "feature not supported", "21": "cardinality (get)", "23": "integrity (writes)",
            "28": "tenant token", "40": "lock conflict", "55": "object state"}

HOSTILE = [
    "'", "''", '"', "\\", ";", "--", "/*", "*/", "'; DROP TABLE catalog_product; --",
    "\" OR 1=1 --", "1; SELECT pg_sleep(10)", "$1", "$$", "%s", "%", "_", "\n", "\r\n", "\t",
    "\u202e", "\u00e9", "\U0001F600", "\uffff", "x" * 300, "pg_catalog.", "public.catalog_product",
    "catalog_product; --", "id) OR (1=1", "id__gt", "__", "id____", "$or", "$and", "$not",
    "F", "OuterRef", "Subquery", "*", "?", "-", "-id", "pk", "tenant_predicate",
    "\\u0000", "\x01", "\x7f", "NULL", "null", "true", "0x41", "1e309", "-0",
]


def log(msg):
    print("fuzz: %s" % msg, file=sys.stderr)


class Schema:
    """Models, their columns and relation names, from the catalog."""

    def __init__(self, cur):
        cur.execute("""
            SELECT c.relname, array_agg(a.attname::text ORDER BY a.attnum)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname NOT LIKE 'fz\\_%'
            GROUP BY c.relname ORDER BY c.relname""")
        self.cols = {r[0]: r[1] for r in cur.fetchall()}
        self.rels = {}
        for m in self.cols:
            cur.execute("SELECT name FROM qs.relations(%s)", (m,))
            self.rels[m] = [r[0] for r in cur.fetchall()]
        self.models = sorted(self.cols)


LOOKUPS = ["exact", "iexact", "contains", "icontains", "in", "gt", "gte", "lt", "lte", "startswith",
           "istartswith", "endswith", "iendswith", "range", "isnull", "regex", "iregex", "date", "year",
           "month", "day", "week_day", "hour", "len", "has_key", "contained_by", "search", "nope"]
AGGS = ["Count", "Sum", "Avg", "Min", "Max", "StdDev", "Variance", "ArrayAgg", "StringAgg", "BoolAnd",
        "JSONBAgg", "Bogus"]


class Deep:
    """A spec whose where is 10,000 nested $not (built as text: json.dumps
    would hit Python's own recursion limit)."""

    def __init__(self, model):
        self.model = model

    def dumps(self):
        return ('{"model": %s, "where": ' % json.dumps(self.model) + '{"$not": ' * 10000 + '{"id": 1}'
                + '}' * 10000 + '}')


def dumps(v):
    return v.dumps() if isinstance(v, Deep) else json.dumps(v)


class Gen:
    def __init__(self, rnd, schema):
        self.r = rnd
        self.s = schema

    def chance(self, p):
        return self.r.random() < p

    def hostile(self):
        r = self.r.random()
        if r < 0.02:
            return "x" * (1 << 20)            # 1 MB
        return self.r.choice(HOSTILE)

    def field(self, model, depth=0):
        """A field path: a column, a relation hop, or something hostile."""
        if self.chance(0.04):
            return self.hostile()
        cols = self.s.cols[model]
        rels = self.s.rels.get(model, [])
        if rels and depth < 3 and self.chance(0.3):
            rel = self.r.choice(rels)
            target = self.r.choice(self.s.models)
            return rel + "__" + self.field(target, depth + 1)
        return self.r.choice(cols + ["pk"])

    def scalar(self):
        r = self.r.random()
        if r < 0.25:
            return self.r.choice([0, 1, -1, 7, 2 ** 31, 2 ** 63, -2 ** 63, 10 ** 30])
        if r < 0.35:
            return self.r.choice([0.5, -1.5, 1e300, 3.14159])
        if r < 0.6:
            return self.r.choice(["a", "laptops", "2025-01-01", "2025-13-45", "active", "", "7f1c2a3e-0000-4000-8000-000000000001"])
        if r < 0.7:
            return self.r.choice([True, False, None])
        return self.hostile()

    def value(self, depth=0):
        r = self.r.random()
        if depth > 3 or r < 0.7:
            return self.scalar()
        if r < 0.8:
            return [self.scalar() for _ in range(self.r.randint(0, 5))]
        if r < 0.9:
            return {"F": self.r.choice(HOSTILE + ["id", "price", "stock"])}
        return {self.r.choice(["+", "-", "*", "/", "Coalesce", "Lower", "Cast", "Case", "Exists", "Bogus"]):
                [self.value(depth + 1), self.value(depth + 1)]}

    def q(self, model, depth=0):
        out = {}
        for _ in range(self.r.randint(0, 3)):
            r = self.r.random()
            if depth < 4 and r < 0.15:
                out["$or"] = [self.q(model, depth + 1) for _ in range(self.r.randint(0, 3))]
            elif depth < 4 and r < 0.25:
                out["$not"] = self.q(model, depth + 1)
            elif depth < 4 and r < 0.3:
                out["$and"] = [self.q(model, depth + 1)]
            else:
                key = self.field(model)
                if self.chance(0.6):
                    key += "__" + self.r.choice(LOOKUPS)
                out[key] = self.value()
        return out

    def agg(self, model):
        a = {self.r.choice(AGGS): self.field(model)}
        if self.chance(0.2):
            a["distinct"] = self.r.choice([True, 1, "yes"])
        if self.chance(0.2):
            a["filter"] = self.q(model, 3)
        return a

    def spec(self):
        model = self.r.choice(self.s.models) if not self.chance(0.03) else self.hostile()
        m = model if model in self.s.cols else self.s.models[0]
        s = {"model": model}
        if self.chance(0.7):
            s["where"] = self.q(m)
        if self.chance(0.3):
            s["order_by"] = [self.r.choice(["", "-", "?"]) + self.field(m) for _ in range(self.r.randint(0, 3))]
        if self.chance(0.15):
            s[self.r.choice(["only", "defer", "values", "values_list"])] = [self.field(m) for _ in range(self.r.randint(0, 3))]
        if self.chance(0.15):
            s["annotate"] = {self.r.choice(["n", "total", self.hostile()]): self.agg(m)}
        if self.chance(0.15):
            s["select_related"] = [self.r.choice(self.s.rels.get(m, ["x"]) + [self.hostile()])]
        if self.chance(0.15):
            s["prefetch_related"] = [self.r.choice(self.s.rels.get(m, ["x"]) + [self.hostile()])]
        if self.chance(0.2):
            s["limit"] = self.r.choice([0, 1, 5, -1, 2 ** 40, "3", None])
        if self.chance(0.1):
            s["offset"] = self.r.choice([0, 3, -2, 2 ** 62])
        if self.chance(0.1):
            s["distinct"] = self.r.choice([True, False, [self.field(m)]])
        return self.mutate(s)

    def mutate(self, s):
        r = self.r.random()
        if r < 0.05:
            s[self.hostile()] = self.value()                         # unknown key
        elif r < 0.10:
            k = self.r.choice(list(s))
            s[k] = self.r.choice([1, "x", [], {}, None, True])      # wrong type
        elif r < 0.12:
            return Deep(s.get("model"))                              # 10,000-level recursion
        elif r < 0.14:
            s["where"] = {"id__in": list(range(100000))}             # huge array
        elif r < 0.15:
            s["order_by"] = ["id"] * 20000
        elif r < 0.16:
            return self.r.choice([[], "x", 1, None, [s]])            # not an object
        return s


def functions(g):
    """(name, reads_or_writes_data, sql, argument builder)."""
    def spec():
        return dumps(g.spec())

    def model():
        return g.r.choice(g.s.models) if not g.chance(0.05) else g.hostile()

    def row(m):
        m = m if m in g.s.cols else g.s.models[0]
        return {g.field(m): g.value() for _ in range(g.r.randint(0, 4))}

    def rows(m):
        n = g.r.choice([0, 1, 3, 50]) if not g.chance(0.02) else 20000
        return json.dumps([row(m) for _ in range(n)] if not g.chance(0.05) else g.value())

    def names(m):
        m = m if m in g.s.cols else g.s.models[0]
        return [g.field(m) for _ in range(g.r.randint(0, 3))]

    def m_and(f):
        def build():
            m = model()
            return (m,) + f(m)
        return build

    return [
        ("json", True, "SELECT qs.json(%s::jsonb)::text", lambda: (spec(),)),
        ("rows", True, "SELECT count(*) FROM qs.rows(%s::jsonb)", lambda: (spec(),)),
        ("count", True, "SELECT qs.count(%s::jsonb)", lambda: (spec(),)),
        ("exists", True, "SELECT qs.exists(%s::jsonb)", lambda: (spec(),)),
        ("first", True, "SELECT qs.first(%s::jsonb)", lambda: (spec(),)),
        ("get", True, "SELECT qs.get(%s::jsonb)", lambda: (spec(),)),
        ("in_bulk", True, "SELECT qs.in_bulk(%s::jsonb, %s::jsonb)", lambda: (spec(), json.dumps([g.value() for _ in range(3)]))),
        ("aggregate", True, "SELECT qs.aggregate(%s::jsonb, %s::jsonb)",
         lambda: (spec(), json.dumps({"a": g.agg(g.r.choice(g.s.models))}))),
        ("explain", True, "SELECT qs.explain(%s::jsonb)", lambda: (spec(),)),
        ("sql", False, "SELECT qs.sql(%s::jsonb)", lambda: (spec(),)),
        ("params", False, "SELECT qs.params(%s::jsonb)", lambda: (spec(),)),
        ("filter", False, "SELECT qs.filter(%s::jsonb, %s::jsonb)", lambda: (spec(), json.dumps(g.q(g.r.choice(g.s.models))))),
        ("exclude", False, "SELECT qs.exclude(%s::jsonb, %s::jsonb)", lambda: (spec(), json.dumps(g.q(g.r.choice(g.s.models))))),
        ("order_by", False, "SELECT qs.order_by(%s::jsonb, %s::text[])", lambda: (spec(), names(g.r.choice(g.s.models)))),
        ("values", False, "SELECT qs.values(%s::jsonb, %s::text[])", lambda: (spec(), names(g.r.choice(g.s.models)))),
        ("annotate", False, "SELECT qs.annotate(%s::jsonb, %s::jsonb)", lambda: (spec(), json.dumps({"x": g.agg(g.r.choice(g.s.models))}))),
        ("update", True, "SELECT qs.update(%s::jsonb, %s::jsonb)", lambda: (spec(), json.dumps(row(g.r.choice(g.s.models))))),
        ("delete", True, "SELECT qs.delete(%s::jsonb)", lambda: (spec(),)),
        ("create", True, "SELECT qs.create(%s::regclass, %s::jsonb)", m_and(lambda m: (json.dumps(row(m)),))),
        ("bulk_create", True, "SELECT qs.bulk_create(%s::regclass, %s::jsonb, %s::jsonb)",
         m_and(lambda m: (rows(m), json.dumps(g.r.choice([{}, {"batch_size": 2}, {"returning": []}, {"ignore_conflicts": True},
                                                           {"returning": "*"}, {"bogus": 1}]))))),
        ("bulk_update", True, "SELECT qs.bulk_update(%s::regclass, %s::jsonb, %s::text[])", m_and(lambda m: (rows(m), names(m)))),
        ("get_or_create", True, "SELECT qs.get_or_create(%s::regclass, %s::jsonb, %s::jsonb)",
         m_and(lambda m: (json.dumps(row(m)), json.dumps(row(m))))),
        ("update_or_create", True, "SELECT qs.update_or_create(%s::regclass, %s::jsonb, %s::jsonb)",
         m_and(lambda m: (json.dumps(row(m)), json.dumps(row(m))))),
        ("set_tenant_token", False, "SELECT qs.set_tenant_token(%s)", lambda: (g.r.choice([g.hostile(), "a.b.c", "e30.e30.", "x" * 5000]),)),
    ]


# --- the boundary phase -------------------------------------------------

INT32_MAX = 2 ** 31 - 1
INT64_MAX = 2 ** 63 - 1
# the values every option is called with (brief of finding 2), then the
# valid edges of the integer options
BOUNDARY = [0, -1, 2 ** 31, 2 ** 32, INT64_MAX, 1e308, "x", None, True, []]
BOUNDARY_TIMEOUT = "5s"


def is_int(v):
    return type(v) is int           # not bool, not float


def int_option(lo, hi, null_ok=True):
    """Expectation of an integer option taking lo..hi: '22023' or 'clean'
    (success or a clean documented error)."""
    def expect(v):
        if v is None:
            return "clean" if null_ok else "22023|clean"
        return "clean" if is_int(v) and lo <= v <= hi else "22023"
    return expect


def bool_option(v):
    if isinstance(v, bool):
        return "clean"
    return "22023|clean" if v is None else "22023"


def names_option(v):
    """An array of field names: [] and unknown names may succeed or fail
    cleanly; anything not an array of strings is 22023."""
    if isinstance(v, list) and all(isinstance(e, str) for e in v):
        return "clean"
    return "22023|clean" if v is None else "22023"


def object_arg(v):
    """A whole jsonb argument that must be an object."""
    if isinstance(v, dict):
        return "clean"
    return "22023|clean" if v is None else "22023"


def name_values():
    """Boundary values for an array-of-names option: each value itself, and
    each scalar inside an array."""
    return BOUNDARY + [[v] for v in BOUNDARY if not isinstance(v, list)] + [["slug"]]


def boundary_calls():
    """(label, option named in the message, expectation, sql, params)."""
    calls = []
    tag_rows = json.dumps([{"name": "qs-bnd-%d" % i, "slug": "qs-bnd-%d" % i} for i in range(3)])
    prod_rows = json.dumps([{"id": i, "stock": 5 + i} for i in (1, 2, 3)])
    bc = "SELECT qs.bulk_create('catalog_tag', %s::jsonb, %s::jsonb)"
    bu = "SELECT qs.bulk_update('catalog_product', %s::jsonb, %s::text[], %s::jsonb)"

    def add(label, option, expect, sql, params):
        calls.append((label, option, expect, sql, params))

    # qs.bulk_create: every option; batch_size on the COPY path (the default
    # returning) and on the statement path (returning a non-key field)
    ints = BOUNDARY + [1, INT32_MAX]
    for v in ints:
        e = int_option(1, INT32_MAX)(v)
        add("bulk_create batch_size=%r" % (v,), "batch_size", e, bc, (tag_rows, json.dumps({"batch_size": v})))
        add("bulk_create batch_size=%r returning slug" % (v,), "batch_size", e, bc,
            (tag_rows, json.dumps({"batch_size": v, "returning": ["slug"]})))
        add("bulk_create batch_size=%r ignore_conflicts" % (v,), "batch_size", e, bc,
            (tag_rows, json.dumps({"batch_size": v, "ignore_conflicts": True})))
    for v in BOUNDARY + [False]:
        add("bulk_create ignore_conflicts=%r" % (v,), "ignore_conflicts", bool_option(v), bc,
            (tag_rows, json.dumps({"ignore_conflicts": v})))
        add("bulk_create update_conflicts=%r" % (v,), "update_conflicts", bool_option(v), bc,
            (tag_rows, json.dumps({"update_conflicts": v, "unique_fields": ["slug"], "update_fields": ["name"]})))
    for v in name_values():
        add("bulk_create unique_fields=%r" % (v,), "unique_fields", names_option(v), bc,
            (tag_rows, json.dumps({"update_conflicts": True, "unique_fields": v, "update_fields": ["name"]})))
        add("bulk_create update_fields=%r" % (v,), "update_fields", names_option(v), bc,
            (tag_rows, json.dumps({"update_conflicts": True, "unique_fields": ["slug"], "update_fields": v})))
        add("bulk_create fields=%r" % (v,), "fields", names_option(v), bc, (tag_rows, json.dumps({"fields": v})))
        add("bulk_create returning=%r" % (v,), "returning", names_option(v), bc, (tag_rows, json.dumps({"returning": v})))
    add("bulk_create returning='*'", "returning", "clean", bc, (tag_rows, json.dumps({"returning": "*"})))
    for v in BOUNDARY:
        add("bulk_create options=%r" % (v,), "options", object_arg(v), bc, (tag_rows, json.dumps(v)))

    # qs.bulk_update: batch_size, max_affected, fields, the options object
    for v in ints:
        add("bulk_update batch_size=%r" % (v,), "batch_size", int_option(1, INT32_MAX)(v), bu,
            (prod_rows, ["stock"], json.dumps({"batch_size": v})))
    for v in BOUNDARY + [1, 2 ** 63, -2 ** 63]:
        e = int_option(1, INT64_MAX)(v)
        if e == "clean" and is_int(v) and v < 3:
            e = "21000"                 # 3 rows would change: more than max_affected
        add("bulk_update max_affected=%r" % (v,), "max_affected", e, bu,
            (prod_rows, ["stock"], json.dumps({"max_affected": v})))
    for v in BOUNDARY:
        add("bulk_update options=%r" % (v,), "options", object_arg(v), bu, (prod_rows, ["stock"], json.dumps(v)))
    for f in [None, [], ["x"], ["id"], ["stock", "stock"]] + [[str(v)] for v in BOUNDARY]:
        add("bulk_update fields=%r" % (f,), "fields", "clean", bu, (prod_rows, f, None))

    # qs.update and qs.delete: the queryset's numeric and locking keys
    upd = "SELECT qs.update(%s::jsonb, '{\"stock\": {\"+\": [{\"F\": \"stock\"}, 0]}}')"
    dele = "SELECT qs.delete(%s::jsonb)"
    for fname, sql, model in (("update", upd, "catalog_product"), ("delete", dele, "catalog_tag")):
        base = {"model": model, "where": {"id__lte": 3}, "order_by": ["id"]}
        for v in BOUNDARY + [1, 2 ** 63]:
            add("%s limit=%r" % (fname, v), "limit", int_option(0, INT64_MAX)(v), sql, (json.dumps(dict(base, limit=v)),))
            add("%s offset=%r" % (fname, v), "offset", int_option(0, INT64_MAX, null_ok=False)(v), sql,
                (json.dumps(dict(base, offset=v)),))
            add("%s offset=%r limit=2" % (fname, v), "offset", int_option(0, INT64_MAX, null_ok=False)(v), sql,
                (json.dumps(dict(base, offset=v, limit=2)),))
            add("%s offset=1 limit=%r" % (fname, v), "limit", int_option(0, INT64_MAX)(v), sql,
                (json.dumps(dict(base, offset=1, limit=v)),))
        for v in BOUNDARY + [False, {}]:
            e = "clean" if v is True or v is False or v == {} else ("22023|clean" if v is None else "22023")
            add("%s select_for_update=%r" % (fname, v), "select_for_update", e, sql,
                (json.dumps(dict(base, limit=2, select_for_update=v)),))
        for key in ("nowait", "skip_locked"):
            for v in BOUNDARY + [False]:
                add("%s select_for_update.%s=%r" % (fname, key, v), key, bool_option(v), sql,
                    (json.dumps(dict(base, limit=2, select_for_update={key: v})),))
        for v in name_values() + [["self"]]:
            add("%s select_for_update.of=%r" % (fname, v), "of", names_option(v), sql,
                (json.dumps(dict(base, limit=2, select_for_update={"of": v})),))
    for v in BOUNDARY:
        add("update values=%r" % (v,), "update values", object_arg(v),
            "SELECT qs.update('{\"model\": \"catalog_product\", \"where\": {\"id\": 1}}', %s::jsonb)", (json.dumps(v),))
    for f in [None, [], ["x"], ["stock"]] + [[str(v)] for v in BOUNDARY]:
        add("update fields=%r" % (f,), "fields", "clean",
            "SELECT qs.update('{\"model\": \"catalog_product\", \"where\": {\"id\": 1}}', '{\"stock\": 9}', %s::text[])", (f,))

    # qs.create: the values object and the fields allow-list
    for v in BOUNDARY:
        add("create values=%r" % (v,), "values", object_arg(v), "SELECT qs.create('catalog_tag', %s::jsonb)", (json.dumps(v),))
        add("create name=%r" % (v,), "name", "clean", "SELECT qs.create('catalog_tag', %s::jsonb)",
            (json.dumps({"name": v, "slug": "qs-bnd-c"}),))
    for f in [None, [], ["x"], ["name", "slug"]] + [[str(v)] for v in BOUNDARY]:
        add("create fields=%r" % (f,), "fields", "clean",
            "SELECT qs.create('catalog_tag', '{\"name\": \"qs-bnd-c\", \"slug\": \"qs-bnd-c\"}', %s::text[])", (f,))

    # qs.get_or_create, qs.update_or_create: their object arguments, and
    # boundary values as a lookup and as a default
    goc = "SELECT * FROM qs.get_or_create('catalog_tag', %s::jsonb, %s::jsonb)"
    uoc = "SELECT * FROM qs.update_or_create('catalog_product', %s::jsonb, %s::jsonb, %s::jsonb)"
    tag_defaults = json.dumps({"name": "qs-bnd-g", "slug": "qs-bnd-g"})
    for v in BOUNDARY:
        add("get_or_create lookups=%r" % (v,), "lookups", object_arg(v), goc, (json.dumps(v), tag_defaults))
        add("get_or_create defaults=%r" % (v,), "defaults", object_arg(v), goc, (json.dumps({"slug": "qs-bnd-g"}), json.dumps(v)))
        add("get_or_create id=%r" % (v,), "id", "clean", goc, (json.dumps({"id": v}), tag_defaults))
        add("update_or_create lookups=%r" % (v,), "lookups", object_arg(v), uoc, (json.dumps(v), '{"stock": 1}', None))
        add("update_or_create defaults=%r" % (v,), "defaults", object_arg(v), uoc, ('{"id": 1}', json.dumps(v), None))
        add("update_or_create create_defaults=%r" % (v,), "create_defaults", object_arg(v), uoc,
            ('{"id": 1}', '{"stock": 1}', json.dumps(v)))
        add("update_or_create stock=%r" % (v,), "stock", "clean", uoc, ('{"id": 1}', json.dumps({"stock": v}), None))
    return calls


class Watchdog:
    """Cancels a call that outlives its statement_timeout by 10 s (the
    server did not interrupt it), and terminates its backend 20 s later."""

    def __init__(self, conn, dsn, seconds):
        self.conn, self.dsn, self.fired = conn, dsn, None
        self.pid = conn.get_backend_pid()
        self.t1 = threading.Timer(seconds + 10, self.cancel)
        self.t2 = threading.Timer(seconds + 30, self.terminate)
        self.t1.start()
        self.t2.start()

    def cancel(self):
        self.fired = "cancelled by the client after the statement_timeout did not stop it"
        try:
            self.conn.cancel()
        except psycopg2.Error:
            pass

    def terminate(self):
        self.fired = "terminated by the client: neither the statement_timeout nor a cancel stopped it"
        try:
            c = psycopg2.connect(self.dsn)
            c.autocommit = True
            c.cursor().execute("SELECT pg_terminate_backend(%s)", (self.pid,))
            c.close()
        except psycopg2.Error:
            pass

    def stop(self):
        self.t1.cancel()
        self.t2.cancel()


def run_boundary(dsn, conn_holder, stats, by_class, samples):
    """The deterministic boundary phase; returns (calls made, calls planned,
    timeouts, seconds)."""
    calls = boundary_calls()
    made = timeouts = 0
    t0 = time.time()
    for label, option, expect, sql, params in calls:
        conn = conn_holder["priv"]
        cur = conn.cursor()
        dog = None
        outcome = None          # None: success; else (sqlstate, message)
        try:
            cur.execute("BEGIN")
            cur.execute("SET LOCAL statement_timeout = '%s'" % BOUNDARY_TIMEOUT)
            dog = Watchdog(conn, dsn, int(BOUNDARY_TIMEOUT.rstrip("s")))
            made += 1
            cur.execute(sql, params)
            cur.fetchall()
        except psycopg2.Error as e:
            outcome = (e.pgcode, (e.pgerror or str(e)).strip().splitlines()[0] if (e.pgerror or str(e)).strip() else "")
        finally:
            if dog:
                dog.stop()
        if outcome and outcome[0] is None:
            stats["crashes"] += 1
            samples.append(("connection lost", "boundary", label + " :: " + outcome[1][:200]))
            time.sleep(3)
            try:
                conn_holder["priv"] = connect(dsn)
            except psycopg2.Error as e:
                samples.append(("connection lost", "boundary", "cannot reconnect: " + str(e).strip()[:200]))
                break
            continue
        try:
            cur.execute("ROLLBACK")
        except psycopg2.Error:
            conn_holder["priv"] = connect(dsn)
        if outcome:
            by_class[outcome[0][:2]] = by_class.get(outcome[0][:2], 0) + 1
        problem = None
        if outcome and outcome[0] == "57014":
            timeouts += 1
            problem = "timeout" + (" (%s)" % dog.fired if dog and dog.fired else " (%s statement_timeout)" % BOUNDARY_TIMEOUT)
        elif dog and dog.fired:
            problem = dog.fired
        elif expect == "22023":
            if outcome is None:
                problem = "accepted; expected 22023"
            elif outcome[0] != "22023":
                problem = "sqlstate %s; expected 22023: %s" % (outcome[0], outcome[1][:160])
            elif option not in outcome[1]:
                problem = "22023 without naming %s: %s" % (option, outcome[1][:160])
        elif expect == "21000":
            if outcome is None or outcome[0] != "21000":
                problem = "%s; expected 21000 (max_affected)" % ("accepted" if outcome is None else "sqlstate " + outcome[0])
        elif outcome and outcome[0][:2] not in ALLOWED and outcome[0][:2] not in SEMANTIC:
            problem = "sqlstate %s: %s" % (outcome[0], outcome[1][:160])
        elif expect == "22023|clean" and outcome and outcome[0][:2] == "22" and outcome[0] != "22023":
            problem = "sqlstate %s; expected success or 22023: %s" % (outcome[0], outcome[1][:160])
        if problem:
            stats["unexpected"] += 1
            samples.append(("boundary", label, problem))
    return made, len(calls), timeouts, time.time() - t0


def server_identity(cur):
    """The postmaster's start time and pid (read by the server itself, so
    the check does not depend on this process being able to read the data
    directory)."""
    cur.execute("SELECT pg_postmaster_start_time()::text, split_part(pg_read_file('postmaster.pid'), E'\\n', 1)")
    return tuple(cur.fetchone())


def connect(dsn, user=None):
    kw = {"dsn": dsn}
    if user:
        kw["user"] = user
    c = psycopg2.connect(**kw)
    c.autocommit = True
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=int(os.environ.get("QS_FUZZ_CASES", "3000")))
    ap.add_argument("--seed", type=int, default=int(os.environ.get("QS_FUZZ_SEED", "20261124")))
    ap.add_argument("--dsn", default=os.environ.get("QS_FUZZ_DSN", "dbname=qs_stress"))
    ap.add_argument("--noprivs-role", default="qs_fuzz_noprivs")
    args = ap.parse_args()

    rnd = random.Random(args.seed)
    try:
        admin = connect(args.dsn)
        acur = admin.cursor()
        schema = Schema(acur)
        before = server_identity(acur)
        conns = {"priv": connect(args.dsn), "noprivs": connect(args.dsn, args.noprivs_role)}
    except psycopg2.Error as e:     # a fuzzer that cannot connect has failed
        print("FUZZ FAIL: cannot connect or read the schema (dsn %r): %s" % (args.dsn, str(e).strip()[:300]))
        print("STRESS fuzz inputs=0 crashes=0 unexpected=0 violations=0")
        return 1
    if not schema.models:
        print("FUZZ FAIL: no table to fuzz in %r (the demo schema is missing)" % args.dsn)
        print("STRESS fuzz inputs=0 crashes=0 unexpected=0 violations=0")
        return 1
    g = Gen(rnd, schema)
    funcs = functions(g)

    # the deterministic boundary phase, always
    bstats = {"crashes": 0, "unexpected": 0}
    bclass = {}
    bsamples = []
    b_made, b_planned, b_timeouts, b_secs = run_boundary(args.dsn, conns, bstats, bclass, bsamples)

    stats = {"tried": 0, "ok": 0, "crashes": 0, "unexpected": 0, "violations": 0}
    by_class = {}
    by_func = {}
    samples = []
    t0 = time.time()
    for i in range(args.cases):
        name, touches_data, sql, build = funcs[i % len(funcs)] if i < len(funcs) * 4 else rnd.choice(funcs)
        who = "noprivs" if rnd.random() < 0.2 else "priv"
        try:
            params = build()
        except RecursionError:
            continue
        stats["tried"] += 1
        by_func[name] = by_func.get(name, 0) + 1
        conn = conns[who]
        cur = conn.cursor()
        try:
            cur.execute("BEGIN")
            cur.execute("SET LOCAL statement_timeout = '5s'")
            cur.execute(sql, params)
            result = cur.fetchall()
            stats["ok"] += 1
            # without privileges, a call may only succeed when it had
            # nothing to read or write (bulk_create of [] returns [] without
            # running a statement): any data in the result is a violation
            if who == "noprivs" and touches_data and name != "set_tenant_token" and \
                    any(v not in (None, 0, [], {}, "[]", "{}", "0", "null") for r in result for v in r):
                stats["violations"] += 1
                samples.append(("privilege", name, str(params)[:300] + " -> " + str(result)[:100]))
            cur.execute("ROLLBACK")
        except psycopg2.Error as e:
            code = e.pgcode
            if code is None:
                stats["crashes"] += 1
                samples.append(("connection lost", name, str(params)[:300] + " :: " + str(e)[:200]))
                time.sleep(3)
                conns[who] = connect(args.dsn, args.noprivs_role if who == "noprivs" else None)
                continue
            cls = code[:2]
            by_class[cls] = by_class.get(cls, 0) + 1
            if cls not in ALLOWED and cls not in SEMANTIC:
                stats["unexpected"] += 1
                samples.append(("sqlstate " + code, name, str(params)[:300] + " :: " + e.pgerror.splitlines()[0][:200]))
            try:
                cur.execute("ROLLBACK")
            except psycopg2.Error:
                conns[who] = connect(args.dsn, args.noprivs_role if who == "noprivs" else None)
    elapsed = time.time() - t0
    try:
        after = server_identity(connect(args.dsn).cursor())
    except psycopg2.Error:
        after = ("unreachable", None)
    restarted = after != before

    def classes(d):
        return ", ".join("%s=%d%s" % (c, n, "" if c in ALLOWED else " (" + SEMANTIC.get(c, "UNEXPECTED") + ")")
                         for c, n in sorted(d.items()))

    print("== boundary phase (every option of every write function, %s statement_timeout, %.0f s) ==" % (BOUNDARY_TIMEOUT, b_secs))
    print("%-28s %8s" % ("boundary calls made", "%d of %d" % (b_made, b_planned)))
    print("%-28s %8s" % ("timeouts (57014)", b_timeouts))
    print("%-28s %8s" % ("crashes / lost connections", bstats["crashes"]))
    print("%-28s %8s" % ("unexpected outcomes", bstats["unexpected"]))
    print("errors by class: " + classes(bclass))
    for s in bsamples[:30]:
        print("  %s in %s: %s" % s)
    if len(bsamples) > 30:
        print("  ... and %d more" % (len(bsamples) - 30))
    print("== spec fuzzer (seed %d, %d cases, %.0f s) ==" % (args.seed, stats["tried"], elapsed))
    print("%-28s %8s" % ("inputs tried", stats["tried"]))
    print("%-28s %8s" % ("succeeded", stats["ok"]))
    print("%-28s %8s" % ("crashes / lost connections", stats["crashes"]))
    print("%-28s %8s" % ("server restarted", "yes" if restarted else "no"))
    print("%-28s %8s" % ("unexpected SQLSTATE classes", stats["unexpected"]))
    print("%-28s %8s" % ("privilege violations", stats["violations"]))
    print("errors by class: " + classes(by_class))
    print("calls by function: " + ", ".join("%s=%d" % kv for kv in sorted(by_func.items())))
    for s in samples[:20]:
        print("  %s in %s: %s" % s)
    # a check that did not run has failed
    reasons = []
    if stats["tried"] == 0:
        reasons.append("no random case was tried (--cases %d)" % args.cases)
    if b_made < b_planned:
        reasons.append("only %d of %d boundary calls were made" % (b_made, b_planned))
    if b_timeouts:
        reasons.append("%d boundary call(s) timed out" % b_timeouts)
    crashes = stats["crashes"] + bstats["crashes"] + (1 if restarted else 0)
    unexpected = stats["unexpected"] + bstats["unexpected"]
    if crashes:
        reasons.append("%d crash(es) / lost connection(s)%s" % (crashes, ", server restarted" if restarted else ""))
    if unexpected:
        reasons.append("%d unexpected outcome(s)" % unexpected)
    if stats["violations"]:
        reasons.append("%d privilege violation(s)" % stats["violations"])
    print("FUZZ %s" % ("FAIL: " + "; ".join(reasons) if reasons else "PASS"))
    print("STRESS fuzz inputs=%d crashes=%d unexpected=%d violations=%d" % (stats["tried"] + b_made, crashes, unexpected,
                                                                        stats["violations"]))
    return 1 if reasons else 0


if __name__ == "__main__":
    sys.exit(main())
