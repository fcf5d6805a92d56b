#!/usr/bin/python3
"""Judge a concurrent run of the client programs' `load` mode.

    check_load.py POOL_SIZE REQUESTS_PER_CLIENT FILE...

Each FILE holds the one JSON line a program printed
(clients/PROTOCOL.md, mode load).  PASS only if every program ran every
request with no leak, no wrong row and no error; the plan cache was hit;
the backends seen number at most POOL_SIZE (so with more clients than
that, clients shared server connections — the case a leak needs); and
more than one language ran on one backend.
"""
import json
import sys

pool, per_client = int(sys.argv[1]), int(sys.argv[2])
failures = []
pids_by_lang = {}
clients = 0
for path in sys.argv[3:]:
    try:
        with open(path, encoding="utf-8") as f:
            lines = [l for l in f.read().splitlines() if l.strip()]
        r = json.loads(lines[-1])
    except (OSError, ValueError, IndexError) as e:
        failures.append(f"{path}: no summary line ({e})")
        continue
    lang = r.get("lang", path)
    clients += r["clients"]
    want = r["clients"] * per_client
    print(f"{lang}: clients={r['clients']} requests={r['requests']} ok={r['ok']} leaks={r['leaks']} "
          f"wrong={r['wrong']} errors={r['errors']} plan_hits_max={r['plan_hits_max']} "
          f"backends={len(r['pids'])}")
    if r["requests"] != want or r["ok"] != want:
        failures.append(f"{lang}: {r['ok']} of {want} requests succeeded")
    for k in ("leaks", "wrong", "errors"):
        if r[k] != 0:
            failures.append(f"{lang}: {k} = {r[k]}")
    if not r["plan_hits_max"] > 0:
        failures.append(f"{lang}: the plan cache was never hit")
    if sum(r["pids"].values()) != want:
        failures.append(f"{lang}: backend pids recorded for {sum(r['pids'].values())} of {want} requests")
    pids_by_lang[lang] = set(r["pids"])
all_pids = set().union(*pids_by_lang.values()) if pids_by_lang else set()
shared = [p for p in all_pids if sum(p in s for s in pids_by_lang.values()) > 1]
print(f"all: {clients} clients over {len(all_pids)} server backends (pool {pool}); "
      f"{len(shared)} backends served more than one language")
if not all_pids or len(all_pids) > pool:
    failures.append(f"{len(all_pids)} backends seen, pool is {pool}")
if clients <= pool:
    failures.append(f"only {clients} clients: no sharing of server connections was forced")
if len(pids_by_lang) > 1 and not shared:
    failures.append("no backend served two languages")
for f in failures:
    print("FAIL:", f)
print("load:", "PASS" if not failures else "FAIL")
sys.exit(1 if failures else 0)
