"""bench/writes_client.py -- the bulk-writes benchmark's client (run by
bench/writes.sh with Debian's /usr/bin/python3; see bench/README.md,
"Bulk writes").

Two benchmarks, each at every size of QS_WRITES_SIZES, over the local unix
socket:

bulk_update: SET stock = id % 97, price = (id % 1000) / 10.0 + 1 on N
catalog_product rows (N < #products: every (#products / N)-th id, spread
over the whole table; N = #products: every row):
  (a)  SELECT qs.bulk_update('catalog_product', <rows jsonb>, '{stock,price}')
  (b)  UPDATE catalog_product p SET stock = v.stock, price = v.price
         FROM unnest($1::bigint[], $2::int[], $3::numeric[]) AS v(id, stock, price)
        WHERE p.id = v.id
  (b') the same UPDATE FROM jsonb_to_recordset(<the rows jsonb of (a)>)
  (c)  Django 3.2 Product.objects.bulk_update(objs, ["stock", "price"])
       with the default batch size (one CASE WHEN statement), as the
       server is configured and with SET LOCAL jit = off, and with
       batch_size=1000 (c'); each cut by statement_timeout =
       QS_WRITES_DJANGO_MAX; when the default one is cut, it is run at
       1/8 and 1/4 of the rows and extrapolated (labelled ESTIMATED)
  plus two "input only" statements that send the payloads and make the
  server parse them (SELECT $1::jsonb IS NULL; the same for the arrays).
Every run is BEGIN; <timed call>; checksum of the table; ROLLBACK, after a
VACUUM of catalog_product, so each variant updates the same rows from the
same state.  (a), (b), (b') are timed QS_WRITES_RUNS times interleaved
(the order rotates every round) after one warm-up each; Django once.

bulk_create: N rows (sku, qty, price) into bench_item (identity pk, and
created_at from its default), after TRUNCATE ... RESTART IDENTITY:
  (a)  SELECT qs.bulk_create('bench_item', <rows jsonb>)  -- returns the pks
  (b)  multi-row INSERT ... VALUES (...) x 1000 ... RETURNING id, per 1000 rows
  (c)  COPY bench_item (sku, qty, price) FROM STDIN, text format
  (d)  Django 3.2 BenchItem.objects.bulk_create(objs) (RETURNING id)
timed QS_WRITES_RUNS times interleaved after one warm-up each.

Payloads (JSON text, array literals, INSERT statements, COPY text, model
instances) are built before the clock starts; their build time is printed
separately.  Timed: from the call to the result fetched (and COMMIT for
the inserts), wall clock in Python.

The client checks the results: every variant returns N, the table's
checksum after each update variant is the same (and differs from the
initial one, which comes back after ROLLBACK); every insert variant
leaves the same N rows with the same ids (input order), and the pks qs
and the INSERTs return are 1..N.

Server-side breakdown: pg_stat_statements (track = all, so the statement
qs runs inside the function is counted on its own), reset after the
warm-ups.  Plans: auto_explain at NOTICE level on a separate connection,
one untimed run each.

Environment: PGHOST/PGPORT/PGDATABASE/PGUSER, QS_WRITES_SIZES
("10000 100000"), QS_WRITES_RUNS (5), QS_WRITES_DJANGO (1),
QS_WRITES_DJANGO_MAX (statement_timeout of each Django bulk_update, in
seconds, 180), QS_WRITES_DJANGO_UPDATE_SIZES (sizes at which Django's
bulk_update runs, default: the smallest size).
Lines starting with "WRITES " are for bench/writes.sh.
"""
import decimal
import io
import json
import math
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "django"))

import django  # noqa: E402
from django.conf import settings  # noqa: E402

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
from django.db import connection, models, transaction  # noqa: E402
from django.db.utils import OperationalError  # noqa: E402
from benchapp.models import Product  # noqa: E402


class BenchItem(models.Model):
    """bench_item as writes.sh creates it; created_at is left to the
    table's default, as in the other variants."""
    id = models.BigAutoField(primary_key=True)
    sku = models.TextField()
    qty = models.IntegerField()
    price = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        app_label = "benchapp"
        managed = False
        db_table = "bench_item"


SIZES = [int(x) for x in os.environ.get("QS_WRITES_SIZES", "10000 100000").split()]
RUNS = int(os.environ.get("QS_WRITES_RUNS", "5"))
DJANGO = os.environ.get("QS_WRITES_DJANGO", "1") == "1"
DJANGO_MAX = float(os.environ.get("QS_WRITES_DJANGO_MAX", "180"))
_dus = os.environ.get("QS_WRITES_DJANGO_UPDATE_SIZES", "").split()
DJANGO_UPDATE_SIZES = [int(x) for x in _dus] if _dus else [min(SIZES)]
CENT = decimal.Decimal("0.01")

UPD_QS = "SELECT qs.bulk_update('catalog_product', %s::jsonb, '{stock,price}')"
UPD_HAND = ("UPDATE catalog_product p SET stock = v.stock, price = v.price "
            "FROM unnest(%s::bigint[], %s::int[], %s::numeric[]) AS v(id, stock, price) "
            "WHERE p.id = v.id")
UPD_HANDJ = ("UPDATE catalog_product p SET stock = v.stock, price = v.price "
             "FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, stock int, price numeric) "
             "WHERE p.id = v.id")
IN_JSON = "SELECT %s::jsonb IS NULL"
IN_ARRAYS = "SELECT %s::bigint[] IS NULL, %s::int[] IS NULL, %s::numeric[] IS NULL"
UPD_SUM = ("SELECT md5(string_agg(id || ':' || stock || ':' || price, ',' ORDER BY id)) "
           "FROM catalog_product")

CR_QS = "SELECT qs.bulk_create('bench_item', %s::jsonb)"
CR_QS_COUNT = "SELECT qs.bulk_create('bench_item', %s::jsonb, '{\"returning\": []}')"
CR_COPY = "COPY bench_item (sku, qty, price) FROM STDIN"
CR_UNNEST = ("INSERT INTO bench_item (sku, qty, price) "
             "SELECT * FROM unnest(%s::text[], %s::int[], %s::numeric[]) RETURNING id")
CR_SUM = ("SELECT count(*), md5(string_agg(id || ':' || sku || ':' || qty || ':' || price, ',' ORDER BY id)) "
          "FROM bench_item")
CR_BATCH = 1000


def die(msg):
    sys.exit("writes client: ERROR: " + msg)


def log(msg):
    print("writes client: " + msg, file=sys.stderr, flush=True)


def med(xs):
    return statistics.median(xs)


def spread(a, b):
    """The range of the per-round ratios a[i] / b[i]."""
    r = [x / y for x, y in zip(a, b)]
    return "%.2f-%.2f" % (min(r), max(r))


def fmt_rate(n, ms):
    return "%.0f" % (n / (ms / 1000.0))


def timed(fn):
    t0 = time.perf_counter()
    r = fn()
    return (time.perf_counter() - t0) * 1000.0, r


class Raw:
    """A plain psycopg2 connection in autocommit mode (explicit BEGIN)."""

    def __init__(self):
        self.conn = psycopg2.connect("")
        self.conn.autocommit = True
        self.cur = self.conn.cursor()

    def one(self, sql, params=None):
        self.cur.execute(sql, params)
        return self.cur.fetchone()

    def do(self, sql, params=None):
        self.cur.execute(sql, params)


def pgss_reset(db):
    db.do("SELECT pg_stat_statements_reset()")


def pgss(db, patterns):
    """{label: (calls, mean ms)} for the statements matching each pattern
    (label, toplevel, regex on the normalised text)."""
    db.do("SELECT toplevel, calls, mean_exec_time, query FROM pg_stat_statements WHERE calls > 0")
    rows = db.cur.fetchall()
    out = {}
    for label, top, rx in patterns:
        hits = [(c, m) for (t, c, m, q) in rows if t == top and re.search(rx, q, re.S)]
        if hits:
            calls = sum(c for c, _ in hits)
            out[label] = (calls, sum(c * m for c, m in hits) / calls)
    return out


PLAN_KEEP = re.compile(r"(JIT:|Functions:|Timing:|Update on|Insert on|Join|Scan|Hash Cond|Hash  |Buckets|Index Cond|Sort|Result|ProjectSet|Function Scan|Nested Loop|Memoize|Materialize)")


def plans(sqls):
    """Run each (label, sql, params) once in a rolled-back transaction
    with auto_explain at NOTICE level; return the plan lines of the
    statements that modify rows (nested ones included)."""
    c = psycopg2.connect("")
    c.autocommit = True
    cur = c.cursor()
    for s in ("LOAD 'auto_explain'", "SET auto_explain.log_min_duration = 0",
              "SET auto_explain.log_nested_statements = on", "SET auto_explain.log_analyze = on",
              "SET auto_explain.log_timing = off", "SET auto_explain.log_level = notice",
              "SET client_min_messages = notice"):
        cur.execute(s)
    out = []
    for label, sql, params in sqls:
        c.notices.clear()
        cur.execute("BEGIN")
        cur.execute(sql, params)
        cur.execute("ROLLBACK")
        out.append("%s:" % label)
        for n in c.notices:
            # keep the plans whose first node (after "Query Text: ...") writes
            body = n.split("plan:\n", 1)[-1]
            lines = body.rstrip("\n").split("\n")
            if len(lines) < 2 or not re.match(r"\s*(Update on|Insert on)", lines[1]):
                continue
            dur = re.search(r"duration: ([0-9.]+) ms", n)
            qt = lines[0].replace("Query Text: ", "")
            if len(qt) > 110:
                qt = qt[:107] + "..."
            out.append("  %s  (%s ms)" % (qt, dur.group(1) if dur else "?"))
            for l in lines[1:]:
                if PLAN_KEEP.search(l):
                    out.append("    " + re.sub(r"  \(cost=[^)]*\)", "", l))
    c.close()
    return out


# ---------------------------------------------------------------------
# bulk_update
# ---------------------------------------------------------------------
def new_values(ids):
    stock = [i % 97 for i in ids]
    price = [(decimal.Decimal(i % 1000) / 10 + 1).quantize(CENT) for i in ids]
    return stock, price


class ExecTimer:
    """A Django execute_wrapper: time spent in cursor.execute (psycopg2
    interpolating the parameters, the round trip, the server's parse,
    plan and execution), and the statement count."""

    def __init__(self):
        self.ms = 0.0
        self.n = 0

    def __call__(self, execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.ms += (time.perf_counter() - t0) * 1000.0
            self.n += 1


DJ_UPD = r'^UPDATE "catalog_product" SET'


def django_bulk_update(ids, batch_size, db, timeout_s, jit=True):
    """One Django bulk_update of ids (objects loaded untimed), rolled back.
    Returns a dict: ms (None when statement_timeout cut it), checksum,
    stmts and exec_ms (ExecTimer), srv_ms and jit_ms (pg_stat_statements:
    executor time and JIT compilation time of its statements)."""
    stock, price = new_values(ids)
    objs = list(Product.objects.filter(id__in=ids).only("id", "stock", "price").order_by("id"))
    if len(objs) != len(ids):
        die("Django loaded %d products, expected %d" % (len(objs), len(ids)))
    byid = dict(zip(ids, zip(stock, price)))
    for o in objs:
        o.stock, o.price = byid[o.id]
    db.do("VACUUM catalog_product")
    pgss_reset(db)
    r = {"ms": None, "csum": None}
    et = ExecTimer()
    try:
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("SET LOCAL statement_timeout = %s", ["%ds" % int(timeout_s)])
                if not jit:
                    cur.execute("SET LOCAL jit = off")
            with connection.execute_wrapper(et):
                r["ms"], _ = timed(lambda: Product.objects.bulk_update(objs, ["stock", "price"],
                                                                        batch_size=batch_size))
            with connection.cursor() as cur:
                cur.execute(UPD_SUM)
                r["csum"] = cur.fetchone()[0]
            transaction.set_rollback(True)
    except OperationalError as e:
        if "statement timeout" not in str(e):
            raise
    r["stmts"], r["exec_ms"] = et.n, et.ms
    db.do("SELECT query, calls * mean_exec_time, jit_generation_time + jit_inlining_time"
          " + jit_optimization_time + jit_emission_time FROM pg_stat_statements WHERE toplevel")
    hits = [(t, j) for q, t, j in db.cur.fetchall() if re.search(DJ_UPD, q)]
    r["srv_ms"] = sum(t for t, _ in hits)
    r["jit_ms"] = sum(j for _, j in hits)
    return r


def bench_update(db, all_ids, n, base_sum):
    step = len(all_ids) // n
    ids = all_ids[step - 1::step][:n]
    if len(ids) != n:
        die("cannot pick %d products out of %d" % (n, len(all_ids)))
    stock, price = new_values(ids)
    enc = {}
    enc["json"], payload = timed(lambda: json.dumps(
        [{"id": i, "stock": s, "price": str(p)} for i, s, p in zip(ids, stock, price)],
        separators=(",", ":")))
    enc["arrays"], arrays = timed(lambda: tuple(
        "{" + ",".join(map(str, a)) + "}" for a in (ids, stock, price)))

    def v_qs():
        db.do(UPD_QS, (payload,))
        return db.cur.fetchone()[0]

    def v_hand():
        db.do(UPD_HAND, arrays)
        return db.cur.rowcount

    def v_handj():
        db.do(UPD_HANDJ, (payload,))
        return db.cur.rowcount

    def v_in_json():
        db.do(IN_JSON, (payload,))
        db.cur.fetchone()
        return n

    def v_in_arrays():
        db.do(IN_ARRAYS, arrays)
        db.cur.fetchone()
        return n

    variants = [("qs", v_qs, True), ("hand", v_hand, True), ("handj", v_handj, True),
                ("in_json", v_in_json, False), ("in_arrays", v_in_arrays, False)]
    times = {k: [] for k, _, _ in variants}
    sums = {}

    def run(k, fn, writes):
        db.do("VACUUM catalog_product")
        db.do("BEGIN")
        ms, got = timed(fn)
        if got != n:
            die("bulk_update %s at %d rows: returned %r, expected %d" % (k, n, got, n))
        if writes:
            s = db.one(UPD_SUM)[0]
            if s == base_sum:
                die("bulk_update %s at %d rows: the table did not change" % (k, n))
            sums.setdefault(k, set()).add(s)
        db.do("ROLLBACK")
        return ms

    for k, fn, w in variants:           # warm-up
        run(k, fn, w)
    pgss_reset(db)
    for r in range(RUNS):
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        for k, fn, w in order:
            times[k].append(run(k, fn, w))
    server = pgss(db, [
        ("qs_top", True, r"qs\.bulk_update\("),
        ("qs_nested", False, r"^UPDATE public\.catalog_product AS t "),
        ("hand", True, r"FROM unnest\("),
        ("handj", True, r"jsonb_to_recordset\("),
        ("in_json", True, r"::jsonb IS NULL"),
        ("in_arrays", True, r"::bigint\[\] IS NULL"),
    ])
    if db.one(UPD_SUM)[0] != base_sum:
        die("the table's checksum did not come back after ROLLBACK")
    allsums = set().union(*sums.values())
    if len(allsums) != 1:
        die("bulk_update at %d rows: the variants left different tables: %r" % (n, sums))

    # Django, one run each: the default batch size (one statement whose
    # CASE WHEN has n branches per column) as configured and with jit off,
    # then batch_size=1000
    dj = []
    if DJANGO and n in DJANGO_UPDATE_SIZES:
        for key, bs, jit in (("default", None, True), ("default_nojit", None, False), ("1000", 1000, True)):
            log("  Django bulk_update %s, %d rows (statement_timeout %d s)" % (key, n, DJANGO_MAX))
            r = django_bulk_update(ids, bs, db, DJANGO_MAX, jit)
            if r["ms"] is not None and r["csum"] not in allsums:
                die("Django's bulk_update (%s) left a different table" % key)
            r["n"] = n
            log("    %s" % ("%.0f ms" % r["ms"] if r["ms"] is not None else "timed out"))
            dj.append((key, r))
        if dj[0][1]["ms"] is None:
            # too slow: smaller runs, extrapolated (clearly labelled)
            probe = []
            for m in (n // 8, n // 4):
                log("  Django bulk_update default, %d rows" % m)
                r = django_bulk_update(ids[:m], None, db, DJANGO_MAX, True)
                r["n"] = m
                if r["ms"] is None:
                    break
                probe.append(r)
                dj.append(("probe", r))
            if len(probe) == 2:
                k = math.log(probe[1]["ms"] / probe[0]["ms"]) / math.log(probe[1]["n"] / probe[0]["n"])
                est = probe[1]["ms"] * (n / probe[1]["n"]) ** k
                dj.append(("estimate", {"ms": est, "n": n, "k": k}))
    return ids, payload, arrays, times, enc, server, dj


def report_update(n, nprod, times, enc, server, dj):
    m = {k: med(v) for k, v in times.items()}
    hand = m["hand"]
    which = "every product" if n == nprod else "every %dth product" % (nprod // n)
    print("== bulk_update: SET stock, price on %d rows (%s of %d) ==" % (n, which, nprod))
    print("%-56s %10s %9s %9s %10s %8s" % ("variant", "median ms", "min ms", "max ms", "rows/s", "/ (b)"))
    rows = [
        ("qs", "(a)  qs.bulk_update, rows as one jsonb"),
        ("hand", "(b)  hand-written UPDATE ... FROM unnest(arrays)"),
        ("handj", "(b') hand-written UPDATE ... FROM jsonb_to_recordset"),
    ]
    for k, label in rows:
        print("%-56s %10.1f %9.1f %9.1f %10s %8.2f" % (label, m[k], min(times[k]), max(times[k]),
                                                      fmt_rate(n, m[k]), m[k] / hand))
    djlabel = {"default": "(c)  Django bulk_update, default batch (1 stmt)",
               "default_nojit": "(c)  the same with SET jit = off",
               "1000": "(c') Django bulk_update, batch_size=1000",
               "probe": "     Django bulk_update, default batch, %d rows",
               "estimate": "(c)  ESTIMATED from the two runs above"}
    for k, r in dj:
        label = djlabel[k] % r["n"] if "%d" in djlabel[k] else djlabel[k]
        if r["ms"] is None:
            print("%-56s %10s  (cut by statement_timeout = %d s: more than that)" % (label, "-", DJANGO_MAX))
        elif k == "estimate":
            print("%-56s %10.0f %9s %9s %10s %8.1f  (NOT MEASURED: growth exponent %.2f)" % (
                label, r["ms"], "", "", fmt_rate(n, r["ms"]), r["ms"] / hand, r["k"]))
        else:
            print("%-56s %10.1f %9s %9s %10s %8.1f  (1 run)" % (
                label, r["ms"], "", "", fmt_rate(r["n"], r["ms"]), r["ms"] / hand))
    for k, r in dj:
        if k != "estimate" and r["ms"] is not None:
            print("     Django %-14s %3d stmt(s): %.1f ms in cursor.execute, of which server execution %.1f ms"
                  " (JIT compilation %.1f ms); %.1f ms in Python"
                  % (k + (" %d" % r["n"] if k == "probe" else "") + ":", r["stmts"], r["exec_ms"],
                     r["srv_ms"], r["jit_ms"], r["ms"] - r["exec_ms"]))
    print("%-56s %10.1f %9.1f %9.1f" % ("     input only: send + parse the jsonb", m["in_json"],
                                         min(times["in_json"]), max(times["in_json"])))
    print("%-56s %10.1f %9.1f %9.1f" % ("     input only: send + parse the 3 arrays", m["in_arrays"],
                                         min(times["in_arrays"]), max(times["in_arrays"])))
    print("client-side encoding, not in the times above: json.dumps %.1f ms, array literals %.1f ms"
          % (enc["json"], enc["arrays"]))
    print("(a)/(b) per round (adjacent runs): %s; counting the client-side encoding too: %.2f"
          % (spread(times["qs"], times["hand"]), (m["qs"] + enc["json"]) / (hand + enc["arrays"])))
    print("server execution time (pg_stat_statements, mean over the timed runs; excludes parsing the payload):")
    names = [("qs_top", "(a)  SELECT qs.bulk_update(...)"),
             ("qs_nested", "     of which its UPDATE ... FROM ROWS FROM (unnest)"),
             ("hand", "(b)  UPDATE ... FROM unnest"),
             ("handj", "(b') UPDATE ... FROM jsonb_to_recordset")]
    for k, label in names:
        if k in server:
            c, mean = server[k]
            print("  %-50s %10.1f ms  (%d calls)" % (label, mean, c))
    if "qs_top" in server and "qs_nested" in server:
        print("  %-50s %10.1f ms" % ("(a)  the extension's own work (top - nested)",
                                     server["qs_top"][1] - server["qs_nested"][1]))
    print()
    return m


# ---------------------------------------------------------------------
# bulk_create
# ---------------------------------------------------------------------
def bench_create(db, n):
    rows = [("SKU-%08d" % i, i % 100, (decimal.Decimal(i % 100000) / 100).quantize(CENT))
            for i in range(1, n + 1)]
    enc = {}
    enc["json"], payload = timed(lambda: json.dumps(
        [{"sku": s, "qty": q, "price": str(p)} for s, q, p in rows], separators=(",", ":")))

    def build_inserts():
        out = []
        for b in range(0, n, CR_BATCH):
            vals = b",".join(db.cur.mogrify("(%s,%s,%s)", r) for r in rows[b:b + CR_BATCH])
            out.append(b"INSERT INTO bench_item (sku, qty, price) VALUES " + vals + b" RETURNING id")
        return out
    enc["insert"], inserts = timed(build_inserts)
    enc["arrays"], arrays = timed(lambda: (
        "{" + ",".join('"' + r[0].replace("\\", "\\\\").replace('"', '\\"') + '"' for r in rows) + "}",
        "{" + ",".join(str(r[1]) for r in rows) + "}",
        "{" + ",".join(str(r[2]) for r in rows) + "}"))
    enc["copy"], copytext = timed(lambda: "".join(
        "%s\t%d\t%s\n" % r for r in rows).encode())

    def v_qs():
        db.do("BEGIN")
        db.do(CR_QS, (payload,))
        pks = db.cur.fetchone()[0]
        db.do("COMMIT")
        return [p["id"] if isinstance(p, dict) else p for p in pks]

    def v_qs_count():
        db.do("BEGIN")
        db.do(CR_QS_COUNT, (payload,))
        got = db.cur.fetchone()[0]
        db.do("COMMIT")
        if got != n:
            die("bulk_create returning [] at %d rows: returned %r" % (n, got))
        return None

    def v_insert():
        pks = []
        db.do("BEGIN")
        for s in inserts:
            db.cur.execute(s)
            pks.extend(r[0] for r in db.cur.fetchall())
        db.do("COMMIT")
        return pks

    def v_unnest():
        db.do("BEGIN")
        db.do(CR_UNNEST, arrays)
        pks = [r[0] for r in db.cur.fetchall()]
        db.do("COMMIT")
        return pks

    def v_copy():
        db.do("BEGIN")
        db.cur.copy_expert(CR_COPY, io.BytesIO(copytext), size=1 << 18)
        db.do("COMMIT")
        return None

    def v_django():
        return [o.id for o in BenchItem.objects.bulk_create(objs_holder[0])]

    objs_holder = [None]
    variants = [("qs", v_qs), ("qs_count", v_qs_count), ("insert", v_insert), ("unnest", v_unnest), ("copy", v_copy)]
    if DJANGO:
        variants.append(("django", v_django))
    times = {k: [] for k, _ in variants}
    sums = {}
    first_pks = {}
    expect_pks = list(range(1, n + 1))

    def run(k, fn):
        db.do("TRUNCATE bench_item RESTART IDENTITY")
        if k == "django":
            objs_holder[0] = [BenchItem(sku=s, qty=q, price=p) for s, q, p in rows]
        ms, pks = timed(fn)
        if pks is not None:
            if pks != expect_pks:
                die("bulk_create %s at %d rows: the returned pks are not 1..%d in input order (first: %r)"
                    % (k, n, n, pks[:5]))
            first_pks[k] = True
        cnt, s = db.one(CR_SUM)
        if cnt != n:
            die("bulk_create %s at %d rows: %d rows in bench_item" % (k, n, cnt))
        sums.setdefault(k, set()).add(s)
        return ms

    for k, fn in variants:
        run(k, fn)
    pgss_reset(db)
    for r in range(RUNS):
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        for k, fn in order:
            times[k].append(run(k, fn))
    server = pgss(db, [
        ("qs_top", True, r"qs\.bulk_create\(\$1, \$2::jsonb\)"),
        ("qs_count_top", True, r"qs\.bulk_create\(\$1, \$2::jsonb, \$3\)"),
        ("qs_nested", False, r"^INSERT INTO public\.bench_item"),
        ("insert", True, r"^INSERT INTO bench_item \(sku, qty, price\) VALUES"),
        ("copy", True, r"^COPY bench_item"),
        ("unnest", True, r"^INSERT INTO bench_item \(sku, qty, price\) SELECT \* FROM unnest"),
        ("django", True, r'^INSERT INTO "bench_item"'),
    ])
    if len(set().union(*sums.values())) != 1:
        die("bulk_create at %d rows: the variants left different tables" % n)
    # input parsing only
    tin = []
    for _ in range(RUNS):
        ms, _ = timed(lambda: db.one(IN_JSON, (payload,)))
        tin.append(ms)
    db.do("TRUNCATE bench_item RESTART IDENTITY")
    return times, enc, server, med(tin), len(inserts)


def report_create(n, times, enc, server, tin, nstmts):
    m = {k: med(v) for k, v in times.items()}
    cp, ins = m["copy"], m["insert"]
    print("== bulk_create: %d rows (sku text, qty int, price numeric(10,2); id and created_at by default) ==" % n)
    print("%-56s %10s %9s %9s %10s %8s %8s" % ("variant", "median ms", "min ms", "max ms", "rows/s",
                                              "/ COPY", "/ INSERT"))
    rows = [("qs", "(a) qs.bulk_create, rows as one jsonb (-> [{id}])"),
            ("qs_count", "(a') the same, returning [] (-> the count)"),
            ("insert", "(b) multi-row INSERT, %d rows/stmt, RETURNING id" % CR_BATCH),
            ("unnest", "(b') INSERT ... SELECT FROM unnest(arrays) RETURNING id"),
            ("copy", "(c) COPY FROM STDIN, text format"),
            ("django", "(d) Django bulk_create (1 stmt, RETURNING id)")]
    for k, label in rows:
        if k in m:
            print("%-56s %10.1f %9.1f %9.1f %10s %8.2f %8.2f" % (
                label, m[k], min(times[k]), max(times[k]), fmt_rate(n, m[k]), m[k] / cp, m[k] / ins))
    print("%-56s %10.1f" % ("    input only: send + parse the jsonb", tin))
    print("(a)/(c) per round (adjacent runs): %s" % spread(times["qs"], times["copy"]))
    print("client-side encoding, not in the times above: json.dumps %.1f ms, INSERT statements %.1f ms, "
          "array literals %.1f ms, COPY text %.1f ms" % (enc["json"], enc["insert"], enc["arrays"], enc["copy"]))
    print("server execution time (pg_stat_statements, mean per run over the timed runs):")
    names = [("qs_top", "(a) SELECT qs.bulk_create(...)"),
             ("qs_count_top", "(a') SELECT qs.bulk_create(..., returning [])"),
             ("qs_nested", "    of which its INSERT ... SELECT FROM ROWS FROM (unnest)"),
             ("insert", "(b) the multi-row INSERTs (%d per run)" % nstmts),
             ("unnest", "(b') INSERT ... SELECT FROM unnest(arrays)"),
             ("copy", "(c) COPY"),
             ("django", "(d) Django's INSERT")]
    for k, label in names:
        if k in server:
            calls, mean = server[k]
            per_run = calls / RUNS
            print("  %-62s %10.1f ms  (%d calls)" % (label, mean * per_run, calls))
    if "qs_top" in server and "qs_nested" in server:
        print("  %-62s %10.1f ms" % ("(a) the extension's own work (top - nested)",
                                     server["qs_top"][1] - server["qs_nested"][1]))
    print()
    return m


def main():
    db = Raw()
    db.do("SELECT id FROM catalog_product ORDER BY id")
    all_ids = [r[0] for r in db.cur.fetchall()]
    nprod = len(all_ids)
    if max(SIZES) > nprod:
        die("%d products, the largest size is %d" % (nprod, max(SIZES)))
    base_sum = db.one(UPD_SUM)[0]
    connection.ensure_connection()
    print("client:     Django %s, psycopg2 %s, Python %s; one connection each (psycopg2, Django)"
          % (django.get_version(), psycopg2.__version__.split()[0], sys.version.split()[0]))
    print("runs:       (a), (b), (b'), input-only and every bulk_create variant: 1 warm-up + %d timed runs "
          "each, interleaved, order rotated per round; Django's bulk_update: 1 run" % RUNS)
    print("timing:     wall clock in Python from the call to the fetched result, payloads built beforehand;")
    print("            updates: VACUUM catalog_product; BEGIN; <timed>; checksum; ROLLBACK")
    print("            inserts: TRUNCATE bench_item RESTART IDENTITY; <timed: BEGIN; ...; COMMIT>")
    print()
    results = {}
    plan_inputs = {}
    for n in SIZES:
        log("bulk_update, %d rows" % n)
        ids, payload, arrays, times, enc, server, dj = bench_update(db, all_ids, n, base_sum)
        results[("upd", n)] = (times, enc, server, dj)
        plan_inputs[n] = (payload, arrays)
    for n in SIZES:
        log("bulk_create, %d rows" % n)
        results[("cr", n)] = bench_create(db, n)
    log("plans")
    plan_lines = []
    for n in SIZES:
        payload, arrays = plan_inputs[n]
        plan_lines.append("-- %d rows" % n)
        plan_lines += plans([("(a) qs.bulk_update", UPD_QS, (payload,)),
                             ("(b) hand-written, unnest", UPD_HAND, arrays),
                             ("(b') hand-written, jsonb_to_recordset", UPD_HANDJ, (payload,))])

    ratios = []
    for n in SIZES:
        times, enc, server, dj = results[("upd", n)]
        m = report_update(n, nprod, times, enc, server, dj)
        ratios.append("WRITES upd_%d qs_ms=%.1f hand_ms=%.1f qs_hand=%.3f" % (n, m["qs"], m["hand"], m["qs"] / m["hand"]))
        for k, r in dj:
            if k in ("default", "estimate") and r["ms"] is not None:
                ratios.append("WRITES upd_%d django_ms=%.1f django_qs=%.1f estimated=%d"
                              % (n, r["ms"], r["ms"] / m["qs"], 1 if k == "estimate" else 0))
    for n in SIZES:
        times, enc, server, tin, nstmts = results[("cr", n)]
        m = report_create(n, times, enc, server, tin, nstmts)
        ratios.append("WRITES cr_%d qs_ms=%.1f copy_ms=%.1f insert_ms=%.1f qs_copy=%.3f qs_insert=%.3f qs_count_copy=%.3f"
                      % (n, m["qs"], m["copy"], m["insert"], m["qs"] / m["copy"], m["qs"] / m["insert"],
                         m["qs_count"] / m["copy"]))
    print("== plans (auto_explain, ANALYZE, TIMING OFF; one untimed run each, rolled back) ==")
    print("\n".join(plan_lines))
    print()
    print("\n".join(ratios))


if __name__ == "__main__":
    main()
