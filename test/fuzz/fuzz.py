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

Prints one summary table; exit status 0 = pass.

  python3 test/fuzz/fuzz.py [--cases N] [--seed S] [--dsn DSN]
"""
import argparse
import json
import os
import random
import sys
import time

import psycopg2

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


def server_identity(cur):
    cur.execute("SELECT pg_postmaster_start_time()::text, (SELECT setting FROM pg_settings WHERE name = 'data_directory')")
    start, datadir = cur.fetchone()
    pid = None
    try:
        with open(os.path.join(datadir, "postmaster.pid")) as f:
            pid = f.readline().strip()
    except OSError:
        pass
    return start, pid


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
    admin = connect(args.dsn)
    acur = admin.cursor()
    schema = Schema(acur)
    before = server_identity(acur)
    g = Gen(rnd, schema)
    funcs = functions(g)

    stats = {"tried": 0, "ok": 0, "crashes": 0, "unexpected": 0, "violations": 0}
    by_class = {}
    by_func = {}
    samples = []
    conns = {"priv": connect(args.dsn), "noprivs": connect(args.dsn, args.noprivs_role)}
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

    print("== spec fuzzer (seed %d, %d cases, %.0f s) ==" % (args.seed, stats["tried"], elapsed))
    print("%-28s %8s" % ("inputs tried", stats["tried"]))
    print("%-28s %8s" % ("succeeded", stats["ok"]))
    print("%-28s %8s" % ("crashes / lost connections", stats["crashes"]))
    print("%-28s %8s" % ("server restarted", "yes" if restarted else "no"))
    print("%-28s %8s" % ("unexpected SQLSTATE classes", stats["unexpected"]))
    print("%-28s %8s" % ("privilege violations", stats["violations"]))
    print("errors by class: " + ", ".join("%s=%d%s" % (c, n, "" if c in ALLOWED else " (" + SEMANTIC.get(c, "UNEXPECTED") + ")")
                                         for c, n in sorted(by_class.items())))
    print("calls by function: " + ", ".join("%s=%d" % kv for kv in sorted(by_func.items())))
    for s in samples[:20]:
        print("  %s in %s: %s" % s)
    bad = stats["crashes"] or restarted or stats["unexpected"] or stats["violations"]
    print("FUZZ %s" % ("FAIL" if bad else "PASS"))
    print("STRESS fuzz inputs=%d crashes=%d unexpected=%d violations=%d" % (stats["tried"], stats["crashes"] + (1 if restarted else 0),
                                                                        stats["unexpected"], stats["violations"]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
