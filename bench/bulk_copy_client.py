"""bench/bulk_copy_client.py -- the client of bench/bulk_copy.sh (run with
Debian's /usr/bin/python3 and psycopg2; see bench/README.md, "bulk_create
vs COPY").

N rows (sku text, qty int, price numeric(10,2)) into bench_item (identity
pk, created_at by default), after TRUNCATE ... RESTART IDENTITY, over the
local unix socket, each variant in BEGIN; <timed>; COMMIT:

  qs        SELECT qs.bulk_create('bench_item', %s::jsonb): the keys come
            back as [{"id": 1}, ...] and are decoded by psycopg2 (json.loads),
            as a client reads them
  qs_text   the same call, the result fetched as text (not decoded): the
            difference to qs is the client's decoding of the keys
  qs_count  the same with {"returning": []} (the count; no keys, as COPY)
  qs_flat   qs.bulk_create(..., '{"flat": true}'): the keys as [1, 2, ...],
            decoded
  qst_flat  SELECT qs.bulk_create_text('bench_item', %s, '{"flat": true}'):
            the rows as JSON text, read in one pass straight into COPY text
            (no jsonb built), the keys as [1, 2, ...], decoded (issue 18's
            figure since the text function and flat keys exist)
  copy      COPY bench_item (sku, qty, price) FROM STDIN, text format
  input     SELECT %s::jsonb IS NULL: send the rows and parse them into jsonb
            (what the server does with the argument before qs.bulk_create runs)
  input_json  SELECT %s::json IS NULL: send the rows and check their JSON
            syntax only (no jsonb built): the floor of any reader of the text
  keys_obj  SELECT the N keys as [{"id": 1}, ...] (the documented result,
            stored beforehand in bench_keys, uncompressed), decoded by the
            client: what returning the keys costs by itself
  keys_flat the same keys as a flat array [1, 2, ...], decoded: what a
            result without one JSON object per row would cost
  srv_qs    server side only: qs.bulk_create of the same rows stored as
            jsonb in bench_payload (uncompressed: no parse, no transfer),
            its result discarded in the server
  srv_copy  server side only: COPY ... FROM the same COPY text in a server
            file (QS_BULK_COPYFILE, written by the client)

Before anything is timed the client checks that qs and COPY leave the same
rows (count and md5 of id, sku, qty, price) and that qs returns the keys
1..N in input order; every timed run is checked again.  A failed check
prints "FAIL: <reason>" and exits 1.

Payloads (JSON text, COPY text) are built before the clock starts.  Every
variant is warmed up once, then timed RUNS times, interleaved (the order
rotates every round); medians are reported.  Server execution times come
from pg_stat_statements (reset after the warm-ups).

Environment: PG* (connection), QS_BULK_ROWS, QS_BULK_RUNS, QS_BULK_LABEL.
Lines starting with "BULK " are for bench/bulk_copy.sh.
"""
import decimal
import io
import json
import os
import re
import statistics
import sys
import time

import psycopg2
import psycopg2.extensions
import psycopg2.extras

N = int(os.environ.get("QS_BULK_ROWS", "100000"))
RUNS = int(os.environ.get("QS_BULK_RUNS", "7"))
LABEL = os.environ.get("QS_BULK_LABEL", "run")
CENT = decimal.Decimal("0.01")

QS = "SELECT qs.bulk_create('bench_item', %s::jsonb)"
QS_COUNT = "SELECT qs.bulk_create('bench_item', %s::jsonb, '{\"returning\": []}')"
QS_FLAT = "SELECT qs.bulk_create('bench_item', %s::jsonb, '{\"flat\": true}')"
QST_FLAT = "SELECT qs.bulk_create_text('bench_item', %s, '{\"flat\": true}')"
COPY = "COPY bench_item (sku, qty, price) FROM STDIN"
INPUT = "SELECT %s::jsonb IS NULL"
INPUT_JSON = "SELECT %s::json IS NULL"
KEYS_OBJ = "SELECT obj FROM bench_keys"
SRV_QS = "SELECT count(*) FROM (SELECT qs.bulk_create('bench_item', rows) FROM bench_payload OFFSET 0) s"
SRV_COPY = "COPY bench_item (sku, qty, price) FROM %s"
COPYFILE = os.environ.get("QS_BULK_COPYFILE", "")
KEYS_FLAT = "SELECT flat FROM bench_keys"
SUM = ("SELECT count(*), md5(string_agg(id || ':' || sku || ':' || qty || ':' || price, ',' ORDER BY id)) "
       "FROM bench_item")


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def log(msg):
    print("bulk_copy client: " + msg, file=sys.stderr, flush=True)


def connect(decode_jsonb=True):
    conn = psycopg2.connect("")
    conn.autocommit = True
    if not decode_jsonb:
        psycopg2.extras.register_default_jsonb(conn_or_curs=conn, loads=lambda s: s)
    return conn, conn.cursor()


def backend_cpu_ns(pid):
    """CPU time (ns, user + system) the server backend pid has run so far
    (/proc/<pid>/schedstat; the client runs on the server's machine)."""
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def main():
    rows = [("SKU-%08d" % i, i % 100, (decimal.Decimal(i % 100000) / 100).quantize(CENT))
            for i in range(1, N + 1)]
    payload = json.dumps([{"sku": s, "qty": q, "price": str(p)} for s, q, p in rows], separators=(",", ":"))
    copytext = "".join("%s\t%d\t%s\n" % r for r in rows).encode()
    expect = list(range(1, N + 1))
    # one connection (one server backend) per variant, and one for the
    # TRUNCATEs and checks: a backend's memory after one kind of statement
    # does not change what the next kind costs
    conn, cur = connect()
    con = {k: connect(decode_jsonb=(k != "qs_text")) for k in
           ("qs", "qs_text", "qs_count", "qs_flat", "qst_flat", "copy", "input", "input_json", "keys_obj", "keys_flat",
            "srv_qs", "srv_copy")}
    cur.execute("DROP TABLE IF EXISTS bench_keys")
    cur.execute("CREATE TABLE bench_keys (obj jsonb STORAGE EXTERNAL, flat jsonb STORAGE EXTERNAL)")
    cur.execute("INSERT INTO bench_keys SELECT jsonb_agg(jsonb_build_object('id', g::bigint) ORDER BY g), "
                "jsonb_agg(g::bigint ORDER BY g) FROM generate_series(1, %s) g", (N,))
    cur.execute("DROP TABLE IF EXISTS bench_payload")
    cur.execute("CREATE TABLE bench_payload (rows jsonb STORAGE EXTERNAL)")
    cur.execute("INSERT INTO bench_payload VALUES (%s::jsonb)", (payload,))
    if not COPYFILE:
        fail("QS_BULK_COPYFILE is not set (a file the server can read)")
    with open(COPYFILE, "wb") as f:
        f.write(copytext)

    def checksum():
        cur.execute(SUM)
        return cur.fetchone()

    def v_qs():
        c = con["qs"][1]
        c.execute("BEGIN")
        c.execute(QS, (payload,))
        pks = c.fetchone()[0]
        c.execute("COMMIT")
        return [p["id"] for p in pks]

    def v_qs_text():
        c = con["qs_text"][1]
        c.execute("BEGIN")
        c.execute(QS, (payload,))
        txt = c.fetchone()[0]
        c.execute("COMMIT")
        return txt

    def v_qs_count():
        c = con["qs_count"][1]
        c.execute("BEGIN")
        c.execute(QS_COUNT, (payload,))
        got = c.fetchone()[0]
        c.execute("COMMIT")
        return got

    def v_flat(k, sql):
        c = con[k][1]
        c.execute("BEGIN")
        c.execute(sql, (payload,))
        pks = c.fetchone()[0]
        c.execute("COMMIT")
        return pks

    def v_qs_flat():
        return v_flat("qs_flat", QS_FLAT)

    def v_qst_flat():
        return v_flat("qst_flat", QST_FLAT)

    def v_copy():
        c = con["copy"][1]
        c.execute("BEGIN")
        c.copy_expert(COPY, io.BytesIO(copytext), size=1 << 18)
        c.execute("COMMIT")

    def v_input():
        c = con["input"][1]
        c.execute(INPUT, (payload,))
        return c.fetchone()[0]

    def v_input_json():
        c = con["input_json"][1]
        c.execute(INPUT_JSON, (payload,))
        return c.fetchone()[0]

    def v_srv_qs():
        c = con["srv_qs"][1]
        c.execute("BEGIN")
        c.execute(SRV_QS)
        got = c.fetchone()[0]
        c.execute("COMMIT")
        return got

    def v_srv_copy():
        c = con["srv_copy"][1]
        c.execute("BEGIN")
        c.execute(SRV_COPY, (COPYFILE,))
        c.execute("COMMIT")

    def v_keys_obj():
        c = con["keys_obj"][1]
        c.execute(KEYS_OBJ)
        return [p["id"] for p in c.fetchone()[0]]

    def v_keys_flat():
        c = con["keys_flat"][1]
        c.execute(KEYS_FLAT)
        return list(c.fetchone()[0])

    writes = {"qs": v_qs, "qs_text": v_qs_text, "qs_count": v_qs_count, "qs_flat": v_qs_flat,
              "qst_flat": v_qst_flat, "copy": v_copy,
              "srv_qs": v_srv_qs, "srv_copy": v_srv_copy}
    reads = {"input": v_input, "input_json": v_input_json, "keys_obj": v_keys_obj, "keys_flat": v_keys_flat}
    state = {}
    cpu = {k: [] for k in list(writes) + list(reads)}     # server backend + client CPU ms per run
    scpu = {k: [] for k in list(writes) + list(reads)}    # server backend CPU ms per run

    def run(k):
        """One timed run of variant k, then its checks (untimed)."""
        fn = writes.get(k) or reads[k]
        pid = con[k][0].get_backend_pid()
        if k in writes:
            cur.execute("TRUNCATE bench_item RESTART IDENTITY")
        s0 = backend_cpu_ns(pid)
        c0 = time.process_time_ns()
        t0 = time.perf_counter()
        res = fn()
        ms = (time.perf_counter() - t0) * 1000.0
        c1 = time.process_time_ns()
        s1 = backend_cpu_ns(pid)
        if s0 is not None and s1 is not None:
            cpu[k].append(((s1 - s0) + (c1 - c0)) / 1e6)
            scpu[k].append((s1 - s0) / 1e6)
        if k == "qs" and res != expect:
            fail("qs.bulk_create returned keys that are not 1..%d in input order (first: %r)" % (N, res[:5]))
        if k == "qs_text":
            try:
                keys = [p["id"] for p in json.loads(res)]
            except (ValueError, TypeError, KeyError) as e:
                fail("qs.bulk_create's result, read as text, is not the keys array: %s" % e)
            if keys != expect:
                fail("qs.bulk_create (text) returned keys that are not 1..%d in input order" % N)
        if k in ("qs_flat", "qst_flat") and res != expect:
            fail("%s returned keys that are not [1..%d] in input order (first: %r)" % (k, N, res[:5]))
        if k == "srv_qs" and res != 1:
            fail("qs.bulk_create on the stored rows returned %r rows, not 1" % (res,))
        if k == "qs_count" and res != N:
            fail("qs.bulk_create with returning [] returned %r, not %d" % (res, N))
        if k in ("keys_obj", "keys_flat"):
            if res != expect:
                fail("%s did not read the keys 1..%d" % (k, N))
        elif k in reads and res is not False:
            fail("%s returned %r" % (k, res))
        if k in writes:
            cnt, s = checksum()
            if cnt != N:
                fail("%s left %d rows in bench_item, not %d" % (k, cnt, N))
            if s != state["sum"]:
                fail("%s left other rows than COPY (md5 %s, COPY's %s)" % (k, s, state["sum"]))
        return ms

    # the check before anything is timed: both sides, the same rows
    cur.execute("TRUNCATE bench_item RESTART IDENTITY")
    v_copy()
    state["sum"] = checksum()[1]
    cnt = checksum()[0]
    if cnt != N:
        fail("COPY left %d rows in bench_item, not %d" % (cnt, N))
    cur.execute("TRUNCATE bench_item RESTART IDENTITY")
    got = v_qs()
    if got != expect:
        fail("qs.bulk_create returned keys that are not 1..%d in input order (first: %r)" % (N, got[:5]))
    cnt, s = checksum()
    if cnt != N or s != state["sum"]:
        fail("qs.bulk_create and COPY left different rows (%d rows, md5 %s; COPY: %d rows, md5 %s)"
             % (cnt, s, N, state["sum"]))
    cur.execute("TRUNCATE bench_item RESTART IDENTITY")
    got = v_qst_flat()
    if got != expect:
        fail("qs.bulk_create_text returned keys that are not [1..%d] in input order (first: %r)" % (N, got[:5]))
    cnt, s = checksum()
    if cnt != N or s != state["sum"]:
        fail("qs.bulk_create_text and COPY left different rows (%d rows, md5 %s; COPY: %d rows, md5 %s)"
             % (cnt, s, N, state["sum"]))
    print("BULK check same_rows=1 rows=%d md5=%s" % (N, state["sum"]))

    order = ["qs", "qs_text", "qs_count", "qs_flat", "qst_flat", "copy", "input", "input_json", "keys_obj", "keys_flat", "srv_qs", "srv_copy"]
    for k in order:
        run(k)
    cur.execute("SELECT pg_stat_statements_reset()")
    for k in cpu:
        cpu[k].clear()
        scpu[k].clear()
    times = {k: [] for k in order}
    for r in range(RUNS):
        rot = order[r % len(order):] + order[:r % len(order)]
        for k in rot:
            times[k].append(run(k))
    cur.execute("SELECT query, calls, mean_exec_time FROM pg_stat_statements WHERE toplevel AND calls > 0")
    pgss = cur.fetchall()

    def server(rx):
        hits = [(c, m) for q, c, m in pgss if re.search(rx, q, re.S)]
        calls = sum(c for c, _ in hits)
        return (sum(c * m for c, m in hits) / calls, calls) if calls else (None, 0)

    srv = {"qs": server(r"qs\.bulk_create\(\$1, \$2::jsonb\)$"),
           "qs_count": server(r"qs\.bulk_create\(\$1, \$2::jsonb, \$3\)"),
           "copy": server(r"^COPY bench_item")}
    med = {k: statistics.median(v) for k, v in times.items()}
    cp = med["copy"]
    names = [("qs", "(a)  qs.bulk_create -> keys [{\"id\": n}], decoded by the client"),
             ("qs_text", "(a1) the same, the keys fetched as text (not decoded)"),
             ("qs_count", "(a2) the same with \"returning\": [] (the count)"),
             ("qs_flat", "(f)  qs.bulk_create, \"flat\": true -> [n], decoded"),
             ("qst_flat", "(t)  qs.bulk_create_text, \"flat\": true -> [n], decoded"),
             ("copy", "(c)  COPY FROM STDIN, text format"),
             ("input", "     input only: send the rows, parse into jsonb"),
             ("input_json", "     input only: send the rows, check JSON syntax"),
             ("keys_obj", "     keys only: read [{\"id\": n}] (stored), decoded"),
             ("keys_flat", "     keys only: read [n] (stored), decoded"),
             ("srv_qs", "(s1) server only: qs.bulk_create(stored jsonb), keys dropped"),
             ("srv_copy", "(s2) server only: COPY FROM a server file")]
    have_cpu = all(len(cpu[k]) == len(times[k]) for k in order)
    mc = {k: statistics.median(cpu[k]) for k in order} if have_cpu else {}
    ms_ = {k: statistics.median(scpu[k]) for k in order} if have_cpu else {}
    print("%-60s %9s %7s %7s %7s | %8s %7s %8s" % ("variant (%d rows, %s)" % (N, LABEL), "median ms", "min", "max",
                                                   "/ COPY", "CPU ms", "/ COPY", "server"))
    for k, label in names:
        line = "%-60s %9.1f %7.1f %7.1f %7.2f" % (label, med[k], min(times[k]), max(times[k]), med[k] / cp)
        if have_cpu:
            line += " | %8.1f %7.2f %8.1f" % (mc[k], mc[k] / mc["copy"], ms_[k])
        print(line)
    if have_cpu:
        print("CPU ms: the server backend's CPU time (/proc/<pid>/schedstat) plus the client's (process_time),")
        print("        median per run: what each side costs, less sensitive to other work on the machine than")
        print("        the wall clock; \"server\": the backend's part alone")
    rr = [a / b for a, b in zip(times["qs"], times["copy"])]
    print("(a)/(c) per round (adjacent runs): %.2f-%.2f" % (min(rr), max(rr)))
    print("server execution (pg_stat_statements, mean per call over the timed runs; the argument's parse is not in it):")
    for k, label in [("qs", "(a)+(a1) SELECT qs.bulk_create(...)"), ("qs_count", "(a2) SELECT qs.bulk_create(..., returning [])"),
                     ("copy", "(c) COPY")]:
        m, c = srv[k]
        print("  %-52s %8s ms  (%d calls)" % (label, "%.1f" % m if m is not None else "?", c))
    lo = {k: min(v) for k, v in times.items()}
    print("where (a) spends its time, from the fastest run of each variant (the least disturbed by other")
    print("work on the machine; differences of medians can even come out negative here):")
    print("  sending + parsing the argument into jsonb (input only)      %8.1f ms" % lo["input"])
    print("  the load and the keys on the server, sent (a1 - input)      %8.1f ms" % (lo["qs_text"] - lo["input"]))
    print("    of which the keys, server side and sent (a1 - a2)         %8.1f ms" % (lo["qs_text"] - lo["qs_count"]))
    print("  the client decoding the keys (a - a1)                       %8.1f ms" % (lo["qs"] - lo["qs_text"]))
    print("  reading the keys alone, as objects / as a flat array        %8.1f / %.1f ms" % (lo["keys_obj"], lo["keys_flat"]))
    print("  COPY, for comparison                                        %8.1f ms" % lo["copy"])
    print("  fastest runs: (a)/(c) %.2f, (a1)/(c) %.2f, (a2)/(c) %.2f"
          % (lo["qs"] / lo["copy"], lo["qs_text"] / lo["copy"], lo["qs_count"] / lo["copy"]))
    print("  server only, no parse nor transfer: (s1)/(s2) median %.2f, fastest %.2f"
          % (med["srv_qs"] / med["srv_copy"], lo["srv_qs"] / lo["srv_copy"]))
    print("BULK %s qst_flat_copy=%.3f qs_flat_copy=%.3f min_qst_flat_copy=%.3f min_qs_flat_copy=%.3f qst_flat_ms=%.1f qs_flat_ms=%.1f"
          % (LABEL, med["qst_flat"] / cp, med["qs_flat"] / cp, lo["qst_flat"] / lo["copy"], lo["qs_flat"] / lo["copy"],
             med["qst_flat"], med["qs_flat"]))
    rt = [a / b for a, b in zip(times["qst_flat"], times["copy"])]
    print("(t)/(c) per round (adjacent runs): %.2f-%.2f" % (min(rt), max(rt)))
    print("BULK %s srv_qs_copy=%.3f min_srv_qs_copy=%.3f" % (LABEL, med["srv_qs"] / med["srv_copy"], lo["srv_qs"] / lo["srv_copy"]))
    print("BULK %s min_qs_copy=%.3f min_qs_text_copy=%.3f min_qs_count_copy=%.3f"
          % (LABEL, lo["qs"] / lo["copy"], lo["qs_text"] / lo["copy"], lo["qs_count"] / lo["copy"]))
    if have_cpu:
        print("BULK %s cpu_qs_copy=%.3f cpu_qs_text_copy=%.3f cpu_qs_count_copy=%.3f cpu_input_copy=%.3f"
              % (LABEL, mc["qs"] / mc["copy"], mc["qs_text"] / mc["copy"], mc["qs_count"] / mc["copy"],
                 mc["input"] / mc["copy"]))
    print("BULK %s qs_ms=%.1f qs_text_ms=%.1f qs_count_ms=%.1f copy_ms=%.1f input_ms=%.1f input_json_ms=%.1f "
          "keys_obj_ms=%.1f keys_flat_ms=%.1f qs_copy=%.3f qs_text_copy=%.3f qs_count_copy=%.3f"
          % (LABEL, med["qs"], med["qs_text"], med["qs_count"], cp, med["input"], med["input_json"],
             med["keys_obj"], med["keys_flat"], med["qs"] / cp, med["qs_text"] / cp, med["qs_count"] / cp))


if __name__ == "__main__":
    try:
        main()
    except psycopg2.Error as e:
        fail("%s: %s" % (type(e).__name__, str(e).strip().splitlines()[0] if str(e).strip() else e))
    except Exception as e:  # a bug of the client: still a FAIL line with its reason
        fail("the client stopped: %r" % e)
