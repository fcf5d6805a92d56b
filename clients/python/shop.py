#!/usr/bin/python3
"""The Python client program of clients/PROTOCOL.md (psycopg 3).

    shop.py workloads
    shop.py load --clients N --requests R --first-tenant T [--session]
    shop.py bench --seconds S [--clients 16]

Connection from PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE; tokens from
QS_TENANT_SECRET / QS_TENANT_AUDIENCE.  Run it with clients/python/run.sh.
"""
from __future__ import annotations

import argparse
import csv
import decimal
import hashlib
import io
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import psycopg
from psycopg.rows import dict_row

import pg_queryset_client as qs
from pg_queryset_client import F, QuerySet, Sum, Count, Avg, Cast, TruncMonth, dumps

LANG = "python"
ROOT = Path(__file__).resolve().parents[2]
W = ["2025-01-01T00:00:00+00:00", "2025-07-01T00:00:00+00:00"]


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set (the tenant token's signing secret / audience)")
    return value


def secret() -> str:
    return _env("QS_TENANT_SECRET")


def audience() -> str:
    return _env("QS_TENANT_AUDIENCE")


def emit(label: str, value: Any) -> None:
    sys.stdout.write(f"{label}\t{dumps(value)}\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------------
# workloads
# ---------------------------------------------------------------------------

def product_chain() -> QuerySet:
    return (QuerySet("catalog_product").using_manager("objects")
            .use("active").use("in_stock").use("by_category", slug="laptops")
            .use("in_price_range", min_price=50, max_price=2000))


def error_case(conn: psycopg.Connection, fn: Callable[[], Any]) -> str:
    try:
        fn()
    except qs.DatabaseError as e:
        return f"{type(e).__name__}/{e.sqlstate}"
    raise RuntimeError("expected an error, the call succeeded")


def workloads() -> int:
    conn = qs.connect()
    products = QuerySet("catalog_product")
    items_in_w = QuerySet("shop_orderitem").filter(order__created_at__range=W)
    orders_in_w = QuerySet("shop_order").filter(created_at__range=W)

    emit("order_graph", QuerySet("shop_order").filter(id=42)
         .select_related("user", "shipping_address")
         .prefetch_related("items__product__category")
         .only("status", "total", "created_at", "user__username", "shipping_address__city",
               "items__quantity", "items__unit_price", "items__product__name",
               "items__product__category__name").json(conn))
    emit("dashboard.revenue_by_category", items_in_w.values("product__category__name")
         .annotate(revenue=Sum(F("quantity") * F("unit_price")), units_sold=Sum("quantity"))
         .order_by("-revenue")[:10].json(conn))
    emit("dashboard.monthly", orders_in_w.values("month")
         .annotate(month=TruncMonth("created_at"), revenue=Sum("total"),
                   order_count=Count("id"), avg_order_value=Avg("total"))
         .order_by("month").json(conn))
    emit("dashboard.top_products", items_in_w.values("product__name", "product__id")
         .annotate(total_revenue=Sum(F("quantity") * F("unit_price")), total_units=Sum("quantity"))
         .order_by("-total_revenue", "product__id")[:5].json(conn))
    emit("dashboard.low_stock", products.filter(status="active", stock__lte=2)
         .values("id", "name", "stock", "category__name").order_by("stock", "id")[:10].json(conn))
    emit("products.chain", product_chain().values("id", "name", "price", "stock", "category__name")
         .order_by("price", "id")[:5].json(conn))
    emit("products.chain_count", product_chain().count(conn))
    emit("products.get", products.only("name", "price").get(conn, id=21))

    def forged() -> None:
        with conn.transaction():
            qs.set_tenant_token(conn, qs.mint_token("wrong-secret", "2", audience(), 600))

    def budget() -> None:
        with conn.transaction():
            conn.execute("SET LOCAL pg_queryset.query_budget = 2")
            for _ in range(3):
                products.count(conn)

    emit("errors", {
        "does_not_exist": error_case(conn, lambda: products.get(conn, id=999999)),
        "multiple": error_case(conn, lambda: products.get(conn, status="active")),
        "field_error": error_case(conn, lambda: products.filter(colour="red").count(conn)),
        "invalid": error_case(conn, lambda: QuerySet.from_spec({"model": "catalog_product", "limit": -1}).count(conn)),
        "forged_token": error_case(conn, forged),
        "budget": error_case(conn, budget),
    })

    p13 = products.filter(id=13)
    sold: List[int] = []
    while p13.filter(stock__gte=2).update(conn, stock=F("stock") - 2) != 0:
        sold.append(2)
    emit("stock.decrement", {"product": 13, "sold": sold, "out_of_stock": True,
                             "stock_left": products.only("stock").get(conn, id=13)["stock"]})

    updated = qs.bulk_update(conn, "catalog_product", [{"id": 21, "price": "12.50"}, {"id": 22, "price": "99.00"},
                                                       {"id": 23, "price": "7.25"}], ["price"])
    emit("prices.bulk_update", {"updated": updated, "rows": products.filter(id__in=[21, 22, 23])
                                .values("id", "price").order_by("id").json(conn)})

    laptops = products.filter(category__slug="laptops", status="active")
    n = laptops.update(conn, price=F("price") * decimal.Decimal("1.1"))
    emit("prices.raise", {"updated": n, "total": laptops.aggregate(conn, total=Sum("price"))["total"]})

    emit("export.csv", export_csv(conn))
    emit("tenant.request", tenant_request(conn))
    conn.close()
    return 0


def export_csv(conn: psycopg.Connection) -> Dict[str, Any]:
    delivered = (QuerySet("shop_order").filter(status="delivered")
                 .annotate(total_text=Cast("total", output_field="text"))
                 .values_list("id", "total_text", "created_at__date").order_by("id"))
    digest = hashlib.sha256()
    rows = batches = 0
    first: Optional[str] = None
    with tempfile.TemporaryFile(mode="w+b") as f, conn.transaction():
        def write(text: str) -> None:
            data = text.encode("utf-8")
            f.write(data)
            digest.update(data)

        write("id,total,date\n")
        line = io.StringIO()
        writer = csv.writer(line, lineterminator="\n")
        for batch in delivered.batches(conn, "export", batch=100):
            batches += 1
            for row in batch:
                line.seek(0)
                line.truncate()
                writer.writerow(row)
                text = line.getvalue()
                if first is None:
                    first = text.rstrip("\n")
                write(text)
                rows += 1
    return {"rows": rows, "batches": batches, "sha256": digest.hexdigest(), "first": first}


def tenant_request(conn: psycopg.Connection) -> Dict[str, Any]:
    projects = QuerySet("tenancy_project")
    with conn.transaction():
        qs.set_tenant_token(conn, qs.mint_token(secret(), "2", audience(), 600))
        tenant = qs.current_tenant(conn)
        visible = projects.count(conn)
        other = projects.filter(tenant_id=3).count(conn)
        created = qs.create(conn, "tenancy_project", name="client project", status="active")
        after = projects.count(conn)
    without = projects.count(conn)
    return {"tenant": tenant, "visible": visible, "other_tenant_visible": other,
            "created_tenant_id": created["tenant_id"], "after_create": after, "without_token": without}


# ---------------------------------------------------------------------------
# load
# ---------------------------------------------------------------------------

PROBE = ("SELECT pg_backend_pid(), qs.current_tenant(), current_setting('pg_queryset.query_budget'), "
         "coalesce(current_setting('pg_queryset.tenant_token', true), ''), "
         "(SELECT count(*) FROM pg_catalog.pg_cursors)")


class Tally:
    """Counters shared by the client threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ok = self.leaks = self.wrong = self.errors = 0
        self.plan_hits_max = 0
        self.pids: Counter = Counter()

    def add(self, **kw: int) -> None:
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)


def load_client(i: int, tenant: int, token: str, requests: int, session: bool, tally: Tally) -> None:
    projects = QuerySet("tenancy_project")
    flat = projects.values_list("tenant_id", flat=True)
    try:
        conn = qs.connect()
    except psycopg.Error as e:
        print(f"client {i}: connect: {e}", file=sys.stderr)
        tally.add(errors=requests)
        return
    done = 0
    hits_max = 0
    with conn:
        for r in range(requests):
            leak = wrong = 0
            try:
                with conn.transaction():
                    pid, cur_tenant, budget, tok, cursors = conn.execute(PROBE).fetchone()
                    with tally.lock:
                        tally.pids[str(pid)] += 1
                    if cur_tenant is not None or budget != "0" or tok != "" or cursors != 0:
                        leak = 1
                        print(f"client {i} request {r}: leak on backend {pid}: tenant={cur_tenant} "
                              f"budget={budget} token={'set' if tok else 'empty'} cursors={cursors}",
                              file=sys.stderr)
                    conn.execute("SET LOCAL pg_queryset.query_budget = 20")
                    qs.set_tenant_token(conn, token)
                    n = projects.count(conn)
                    if n != 2 + done:
                        wrong = 1
                    seen = list(flat.cursor(conn, "projects", batch=None))
                    if len(seen) != n or any(str(v) != str(tenant) for v in seen):
                        wrong = 1
                    row = qs.create(conn, "tenancy_project", name=f"{LANG}-{i}-{r}", status="active")
                    if str(row.get("tenant_id")) != str(tenant):
                        wrong = 1
                    hits = conn.execute("SELECT hits FROM qs.plan_cache_stats()").fetchone()[0]
                    hits_max = max(hits_max, int(hits))
                done += 1
                if wrong:
                    print(f"client {i} request {r}: wrong result (count {n}, expected {2 + done - 1})",
                          file=sys.stderr)
                tally.add(ok=1, leaks=leak, wrong=wrong)
            except (psycopg.Error, qs.DatabaseError) as e:
                print(f"client {i} request {r}: {type(e).__name__}: {e}", file=sys.stderr)
                tally.add(errors=1, leaks=leak)
                if conn.closed:
                    tally.add(errors=requests - r - 1)
                    break
        if session and not conn.closed:
            # leave session-level state behind for the next client of this server connection
            try:
                conn.execute("SET pg_queryset.query_budget = 99")
                qs.set_tenant_token(conn, token, local=False)
                conn.execute("DECLARE leak CURSOR WITH HOLD FOR SELECT 1")
            except (psycopg.Error, qs.DatabaseError) as e:
                print(f"client {i}: leaving session state: {e}", file=sys.stderr)
                tally.add(errors=1)
    with tally.lock:
        tally.plan_hits_max = max(tally.plan_hits_max, hits_max)


def load(clients: int, requests: int, first_tenant: int, session: bool) -> int:
    tally = Tally()
    tokens = [qs.mint_token(secret(), str(first_tenant + i), audience(), 600) for i in range(clients)]
    threads = [threading.Thread(target=load_client, args=(i, first_tenant + i, tokens[i], requests, session, tally))
               for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(dumps({"lang": LANG, "clients": clients, "requests": clients * requests, "ok": tally.ok,
                 "leaks": tally.leaks, "wrong": tally.wrong, "errors": tally.errors,
                 "plan_hits_max": tally.plan_hits_max, "pids": dict(tally.pids)}))
    return 0


# ---------------------------------------------------------------------------
# bench
# ---------------------------------------------------------------------------

def timed(seconds: float, fn: Callable[[int], Any]) -> float:
    """Call fn(k) for k = 0, 1, ... for `seconds`; requests per second."""
    fn(0)  # warm-up (connection, plan cache)
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        fn(n)
        n += 1
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def n_plus_one(conn: psycopg.Connection, user: int, counter: List[int]) -> List[Dict[str, Any]]:
    """What a naive ORM loop does: one query per order, address, item, product, category."""
    def one(query: str, param: Any) -> List[Dict[str, Any]]:
        counter[0] += 1
        with conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(query, (param,)).fetchall()

    orders = one("SELECT * FROM shop_order WHERE user_id = %s ORDER BY id", user)
    for order in orders:
        addr = None
        if order["shipping_address_id"] is not None:
            found = one("SELECT * FROM shop_address WHERE id = %s", order["shipping_address_id"])
            addr = found[0] if found else None
        order["shipping_address"] = addr
        items = one("SELECT * FROM shop_orderitem WHERE order_id = %s ORDER BY id", order["id"])
        for item in items:
            product = one("SELECT * FROM catalog_product WHERE id = %s", item["product_id"])[0]
            product["category"] = one("SELECT * FROM catalog_category WHERE id = %s", product["category_id"])[0]
            item["product"] = product
        order["items"] = items
    return orders


def hand_sql() -> str:
    text = (ROOT / "bench" / "nested_hand.sql").read_text()
    body = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("--"))
    return body.replace("$1", "%s")


def bench(seconds: float, clients: int) -> int:
    conn = qs.connect()
    graph_qs = lambda u: (QuerySet("shop_order").filter(user=u).order_by("id")
                          .select_related("shipping_address").prefetch_related("items__product__category"))
    user = lambda k: k % 50 + 101  # users 101..150: 1-13 orders each, 5.3 on average
    qs_rps = timed(seconds, lambda k: graph_qs(user(k)).json(conn))
    counter = [0]
    calls = [0]

    def n1(k: int) -> None:
        calls[0] += 1
        n_plus_one(conn, user(k), counter)
    n1_rps = timed(seconds, n1)
    n1_queries = counter[0] / calls[0]
    hand = hand_sql()
    hand_rps = timed(seconds, lambda k: conn.execute(hand, (user(k),)).fetchone()[0])
    conn.close()

    pk_qs = pk_run(seconds, clients, lambda c, i: QuerySet("catalog_product").filter(id=i).json(c))
    pk_hand = pk_run(seconds, clients, lambda c, i: c.execute(
        "SELECT row_to_json(p) FROM catalog_product p WHERE id = %s", (i,)).fetchone()[0])
    print(dumps({"lang": LANG,
                 "graph": {"qs_rps": round(qs_rps, 1), "n1_rps": round(n1_rps, 1),
                           "hand_rps": round(hand_rps, 1), "n1_queries": round(n1_queries, 1)},
                 "pk": {"clients": clients, "qs_rps": round(pk_qs, 1), "hand_rps": round(pk_hand, 1)},
                 "driver": f"psycopg {psycopg.__version__} ({psycopg.pq.__impl__} libpq wrapper), "
                           f"threads under the GIL"}))
    return 0


def pk_run(seconds: float, clients: int, call: Callable[[psycopg.Connection, int], Any]) -> float:
    conns = [qs.connect() for _ in range(clients)]
    counts = [0] * clients
    errors: List[BaseException] = []
    ready = threading.Barrier(clients + 1)
    stop = threading.Event()

    def worker(j: int) -> None:
        c = conns[j]
        k = j * 1000 // clients
        try:
            call(c, k % 1000 + 1)  # warm-up
            ready.wait()
            while not stop.is_set():
                k += 1
                call(c, k % 1000 + 1)
                counts[j] += 1
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
            try:
                ready.abort()
            except threading.BrokenBarrierError:
                pass

    threads = [threading.Thread(target=worker, args=(j,)) for j in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    start = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    total = sum(counts)
    elapsed = time.perf_counter() - start
    for t in threads:
        t.join()
    for c in conns:
        c.close()
    if errors:
        raise errors[0]
    return total / elapsed


# ---------------------------------------------------------------------------

def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="shop.py", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="mode", required=True)
    sub.add_parser("workloads")
    lp = sub.add_parser("load")
    lp.add_argument("--clients", type=int, required=True)
    lp.add_argument("--requests", type=int, required=True)
    lp.add_argument("--first-tenant", type=int, required=True)
    lp.add_argument("--session", action="store_true")
    bp = sub.add_parser("bench")
    bp.add_argument("--seconds", type=float, required=True)
    bp.add_argument("--clients", type=int, default=16)
    a = p.parse_args(argv)
    try:
        if a.mode == "workloads":
            return workloads()
        if a.mode == "load":
            return load(a.clients, a.requests, a.first_tenant, a.session)
        return bench(a.seconds, a.clients)
    except (psycopg.Error, qs.DatabaseError, KeyError, RuntimeError, OSError) as e:
        print(f"shop.py {a.mode}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
