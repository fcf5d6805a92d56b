"""bench/django/run.py -- the nested-fetch benchmark's Django client (run by
bench/nested.sh; see bench/README.md, "Nested fetch (N+1)").

The article's scenario with the real ORM (Django 3.2 and psycopg2 from
Debian), over one connection on the local unix socket:

  (a) Django's N+1 loop: orders, then per order its shipping_address and
      items, per item its product and the product's category;
  (b) Django's prefetch: select_related("shipping_address") +
      prefetch_related(items ordered by id, "items__product__category");
  (c) SELECT qs.json(%s::jsonb) through Django's connection;
  (d) the hand-written statement (bench/nested_hand.sql), PREPAREd once.

Every strategy ends with the same Python object graph (lists of dicts):
(a) and (b) build it from model instances, (c) and (d) get it from
psycopg2's json parser.  Before timing, the graphs are compared (after
normalising Decimal, datetime, date and UUID values).

Usage: python3 run.py HAND_SQL_FILE USER_ID SPEC_JSON
Connection from PGHOST / PGPORT / PGDATABASE / PGUSER.  Knobs:
QS_NESTED_ITERS (b, c, d; default 200), QS_NESTED_ITERS_A (default 20),
QS_NESTED_WARMUP (default 20).
"""
import datetime
import decimal
import os
import re
import statistics
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    USE_TZ=True,
    TIME_ZONE="UTC",
    INSTALLED_APPS=["benchapp"],
    DATABASES={"default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["PGDATABASE"],
        "USER": os.environ.get("PGUSER", "postgres"),
        "HOST": os.environ["PGHOST"],
        "PORT": os.environ["PGPORT"],
        "CONN_MAX_AGE": None,
    }},
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
)
django.setup()

import psycopg2  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Prefetch  # noqa: E402
from benchapp.models import Order, OrderItem  # noqa: E402


def row(obj):
    """A model instance as the dict qs.json gives for its row."""
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def graph_a(uid):
    out = []
    for o in Order.objects.filter(user_id=uid).order_by("id"):
        d = row(o)
        a = o.shipping_address          # one query, none when the FK is NULL
        d["shipping_address"] = row(a) if a is not None else None
        items = []
        for it in o.items.order_by("id"):   # one query per order
            di = row(it)
            p = it.product                  # one query per item
            dp = row(p)
            dp["category"] = row(p.category)  # one query per item
            di["product"] = dp
            items.append(di)
        d["items"] = items
        out.append(d)
    return out


def graph_b(uid):
    qs = (Order.objects.filter(user_id=uid).order_by("id")
          .select_related("shipping_address")
          .prefetch_related(Prefetch("items", queryset=OrderItem.objects.order_by("id")),
                            "items__product__category"))
    out = []
    for o in qs:
        d = row(o)
        a = o.shipping_address
        d["shipping_address"] = row(a) if a is not None else None
        items = []
        for it in o.items.all():
            di = row(it)
            p = it.product
            dp = row(p)
            dp["category"] = row(p.category)
            di["product"] = dp
            items.append(di)
        d["items"] = items
        out.append(d)
    return out


def graph_c(spec):
    with connection.cursor() as cur:
        cur.execute("SELECT qs.json(%s::jsonb)", [spec])
        return cur.fetchone()[0]


def graph_d(uid):
    with connection.cursor() as cur:
        cur.execute("EXECUTE qs_bench_d(%s)", [uid])
        return cur.fetchone()[0]


TS = re.compile(r"^\d{4}-\d\d-\d\dT")
DT = re.compile(r"^\d{4}-\d\d-\d\d$")


def norm(v):
    """One value space for both sides: JSON parse results and Django values."""
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, str) and TS.match(v):
        return datetime.datetime.fromisoformat(v)
    if isinstance(v, str) and DT.match(v):
        return datetime.date.fromisoformat(v)
    return v


class Counter:
    def __init__(self):
        self.n = 0

    def __call__(self, execute, sql, params, many, context):
        self.n += 1
        return execute(sql, params, many, context)


def count_statements(fn, arg):
    c = Counter()
    with connection.execute_wrapper(c):
        g = fn(arg)
    return g, c.n


def main():
    hand_sql_file, uid, spec = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    iters = int(os.environ.get("QS_NESTED_ITERS", "200"))
    iters_a = int(os.environ.get("QS_NESTED_ITERS_A", "20"))
    warmup = int(os.environ.get("QS_NESTED_WARMUP", "20"))
    with open(hand_sql_file) as f:
        hand = "\n".join(l for l in f.read().splitlines() if not l.lstrip().startswith("--"))
    connection.ensure_connection()
    with connection.cursor() as cur:
        cur.execute("PREPARE qs_bench_d(bigint) AS " + hand)

    strategies = {
        "a": (graph_a, uid), "b": (graph_b, uid), "c": (graph_c, spec), "d": (graph_d, uid)}
    graphs, stmts = {}, {}
    for k, (fn, arg) in strategies.items():
        graphs[k], stmts[k] = count_statements(fn, arg)
    ref = norm(graphs["c"])
    nitems = sum(len(o["items"]) for o in graphs["c"])
    for k in "abd":
        if norm(graphs[k]) != ref:
            sys.exit("django client: ERROR: graph (%s) differs from (c)" % k)

    times = {k: [] for k in strategies}
    for i in range(warmup + iters):
        for k in "bcd":
            fn, arg = strategies[k]
            t0 = time.perf_counter()
            fn(arg)
            if i >= warmup:
                times[k].append((time.perf_counter() - t0) * 1000)
    for i in range(max(1, warmup // 4) + iters_a):
        t0 = time.perf_counter()
        graph_a(uid)
        if i >= max(1, warmup // 4):
            times["a"].append((time.perf_counter() - t0) * 1000)

    def p95(xs):
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]

    med = {k: statistics.median(v) for k, v in times.items()}
    print("client:     Django %s, psycopg2 %s, Python %s, one connection over the unix socket"
          % (django.get_version(), psycopg2.__version__.split()[0], sys.version.split()[0]))
    print("correctness (untimed): user %d, %d orders, %d items: a = b = d = c "
          "(the Python graphs, after normalising Decimal/datetime/date/UUID)"
          % (uid, len(graphs["c"]), nitems))
    print("b, c, d: %d timed iterations, interleaved (after %d warm-up); a: %d (after %d)."
          % (iters, warmup, iters_a, max(1, warmup // 4)))
    print("Latency = wall clock in Python, from the call to the finished object graph.")
    print()
    names = {
        "a": "(a) Django N+1 loop",
        "b": "(b) Django prefetch_related",
        "c": "(c) qs.json, parsed",
        "d": "(d) hand-written LATERAL, parsed",
    }
    print("%-34s %10s %9s %11s" % ("strategy", "median ms", "p95 ms", "statements"))
    for k in "abcd":
        print("%-34s %10.3f %9.3f %11d" % (names[k], med[k], p95(times[k]), stmts[k]))
    print()
    print("ratios of medians:")
    print("  (a)/(c) = %7.3f   Django N+1 vs qs.json" % (med["a"] / med["c"]))
    print("  (b)/(c) = %7.3f   Django prefetch vs qs.json" % (med["b"] / med["c"]))
    print("  (c)/(d) = %7.3f   qs.json vs hand-written (both parsed by psycopg2)" % (med["c"] / med["d"]))
    print("DJANGO_STMTS a=%d b=%d c=%d d=%d" % (stmts["a"], stmts["b"], stmts["c"], stmts["d"]))
    print("DJANGO_RATIOS a_c=%.3f b_c=%.3f c_d=%.3f" % (
        med["a"] / med["c"], med["b"] / med["c"], med["c"] / med["d"]))


if __name__ == "__main__":
    main()
