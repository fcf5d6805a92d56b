#!/usr/bin/python3
"""Compare a client program's `workloads` output with clients/expected.out.

    compare.py EXPECTED ACTUAL LANG

Both files hold `label<TAB>json` lines (clients/PROTOCOL.md).  Each JSON
value is parsed with exact decimals and compared as a value: key order,
whitespace and the spelling of a number (1.00, 1.0, 1) do not matter;
types do (a count printed as "28" is not 28).  Every expected label must
be present once, in order, and no other label may appear.  Prints PASS or
FAIL per label; exit status 1 on any difference, on an empty output and
on a line that is not label<TAB>json.
"""
import json
import sys
from decimal import Decimal


def canon(value):
    """A comparable form of a JSON value: numbers as normalized decimals."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return ("number", value.normalize())
    if isinstance(value, list):
        return [canon(v) for v in value]
    if isinstance(value, dict):
        return {k: canon(v) for k, v in value.items()}
    raise TypeError(type(value))


def load(path):
    rows, errors = [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            label, sep, text = line.partition("\t")
            if not sep:
                errors.append(f"{path}:{n}: not label<TAB>json: {line[:120]!r}")
                continue
            try:
                rows.append((label, json.loads(text, parse_float=Decimal, parse_int=Decimal)))
            except ValueError as e:
                errors.append(f"{path}:{n}: {label}: not JSON ({e}): {text[:120]!r}")
    return rows, errors


def main():
    expected_path, actual_path, lang = sys.argv[1:4]
    expected, e1 = load(expected_path)
    actual, e2 = load(actual_path)
    failures = e1 + e2
    if not expected:
        failures.append(f"{expected_path} is empty")
    if not actual:
        failures.append(f"{lang}: no output")
    got = {}
    for label, value in actual:
        if label in got:
            failures.append(f"{lang}: label {label} printed twice")
        got[label] = value
    order = [label for label, _ in actual]
    for label, value in expected:
        if label not in got:
            print(f"FAIL [{lang}] {label}: missing")
            failures.append(label)
        elif canon(got[label]) != canon(value):
            print(f"FAIL [{lang}] {label}:\n  expected {json.dumps(value, default=float)[:600]}\n  got      {json.dumps(got[label], default=float)[:600]}")
            failures.append(label)
        else:
            print(f"PASS [{lang}] {label}")
    extra = [label for label in order if label not in dict(expected)]
    if extra:
        failures.append(f"{lang}: unexpected labels {extra}")
    if [l for l in order if l in dict(expected)] != [l for l, _ in expected]:
        failures.append(f"{lang}: labels out of order: {order}")
    for f in failures:
        if f not in dict(expected):
            print(f"FAIL [{lang}] {f}")
    print(f"{lang}: {len(expected) - len([f for f in failures if f in dict(expected)])}/{len(expected)} workloads equal to clients/expected.out")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
