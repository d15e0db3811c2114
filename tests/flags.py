#!/usr/bin/env python3
"""Every table-shaped command obeys one grammar (issue 27): --list-columns, -o, -s, -r, -t,
-J, --csv and --raw behave alike in each, on fixture trees laid out like /proc.

    flags.py MEMLEDGER TESTDATA

-o COLS: those columns, in that order (CSV's header; a tree's CSV puts DEPTH first).
-s COL -r: the rows of -s COL, reversed (a tree: each parent's children reversed; the same
rows). -t: a TOTAL row in the table, "totals" in JSON; CSV and raw carry the rows alone.
-J: one document, the rows an array of objects keyed by the columns' lower-case names.
--raw: a header and rows of as many fields. --list-columns: each column it lists is one
-o takes.
"""
import json
import os
import subprocess
import sys

failures = 0
passed = 0


def check(what, ok, detail=""):
    global failures, passed
    if ok:
        passed += 1
    else:
        failures += 1
        print(f"FAIL: {what}: {detail}")


def run(mem, argv):
    r = subprocess.run([mem] + argv, capture_output=True, text=True, errors="replace")
    return r.returncode, r.stdout, r.stderr


def rows_of(doc):
    """The first array of objects in a JSON document: its rows (maps: each process's
    object holds its rows under "mappings")."""
    for v in doc.values():
        if isinstance(v, list) and v and isinstance(v[0], dict):
            inner = rows_of(v[0])
            return inner if "pid" in v[0] and inner else v
    return []


def command(name, argv, source, cols, sort, tree=False):
    """cols: two columns to select; sort: a column to sort by."""
    return {"name": name, "argv": argv, "source": source, "cols": cols, "sort": sort,
            "tree": tree}


def commands(data):
    b, m, libs = (os.path.join(data, d) for d in ("proc-basic", "proc-maps", "proc-libs"))
    return [
        command("ps", ["ps"], b, ["PID", "PSS"], "PSS"),
        command("maps", ["maps", "4711"], m, ["START", "RSS"], "RSS"),
        command("maps --merge", ["maps", "--merge", "4711"], m, ["NAME", "RSS"], "RSS"),
        command("users", ["users"], b, ["USER", "PSS"], "PSS"),
        command("libs", ["libs"], libs, ["NAME", "PSS"], "PSS"),
        command("libs --procs", ["libs", "--procs"], libs, ["NAME", "PSS"], "PSS", True),
        command("system", ["system"], os.path.join(data, "system-a/proc"), ["NAME", "SIZE"],
                "SIZE", True),
        command("freed", ["freed", "100", "102"], b, ["NAME", "SIZE"], "SIZE", True),
        command("tree", ["tree"], b, ["PID", "PSS"], "PSS", True),
        command("groups", ["groups"], b, ["NAME", "PSS"], "PSS"),
        command("cgroups", ["cgroups"], os.path.join(data, "cgroup-v2/proc"),
                ["CGROUP", "CURRENT"], "CURRENT"),
        command("gpu", ["gpu"], os.path.join(data, "gpu/proc"), ["DEVICE", "GPU"], "GPU",
                True),
        command("shm", ["shm"], m, ["NAME", "RESIDENT"], "RESIDENT"),
        command("diff", ["diff", b, libs], None, ["NAME", "PSS"], "PSS"),
        command("top", ["top", "-b", "-n", "1"], b, ["PID", "FOOTPRINT"], "FOOTPRINT"),
        command("oom", ["oom"], os.path.join(data, "proc-oom"), ["PID", "BADNESS"], "BADNESS"),
    ]


def check_command(mem, c):
    name = c["name"]
    base = c["argv"] + (["--source", c["source"]] if c["source"] else [])
    a, b = c["cols"]

    rc, out, err = run(mem, base)
    check(f"{name}: runs", rc == 0, f"exit {rc}: {err[-300:]}")

    rc, out, err = run(mem, base + ["--list-columns"])
    listed = [line.split()[0] for line in out.splitlines() if line.strip()]
    check(f"{name} --list-columns", rc == 0 and a in listed and b in listed,
          f"exit {rc}: {listed[:5]} {err[-200:]}")
    if listed:
        rc, out, err = run(mem, base + ["-o", ",".join(listed), "--csv"])
        check(f"{name} -o (every column it lists)", rc == 0, f"exit {rc}: {err[-300:]}")

    rc, out, err = run(mem, base + ["-o", f"{a},{b}", "--csv"])
    head = out.splitlines()[0] if out else ""
    want = (["TIME"] if name == "top" else []) + (["DEPTH"] if c["tree"] else []) + [a, b]
    check(f"{name} -o {a},{b} --csv: those columns", rc == 0 and head.split(",") == want,
          f"exit {rc}: {head!r} {err[-200:]}")

    rc, out, err = run(mem, base + ["-o", f"{a},{b}", "--raw"])
    lines = out.splitlines()
    counts = {len(line.split()) for line in lines}
    want = want[1:] if name == "top" else want  # a time series: TIME in CSV alone
    check(f"{name} -o {a},{b} --raw: a header, as many fields a row",
          rc == 0 and lines and lines[0].split() == want and counts == {len(want)},
          f"exit {rc}: {lines[:3]} {err[-200:]}")

    rc1, out1, err1 = run(mem, base + ["-s", c["sort"], "--csv"])
    rc2, out2, err2 = run(mem, base + ["-s", c["sort"], "-r", "--csv"])
    r1, r2 = out1.splitlines()[1:], out2.splitlines()[1:]
    if name == "top":  # TIME, to the second, moves between the two runs
        r1, r2 = [r.split(",", 1)[1] for r in r1], [r.split(",", 1)[1] for r in r2]
    if c["tree"]:
        ok = rc1 == 0 and rc2 == 0 and sorted(r1) == sorted(r2) and (len(r1) < 3 or r1 != r2)
    else:
        ok = rc1 == 0 and rc2 == 0 and r1 == r2[::-1] if len(set(r1)) == len(r1) else True
    check(f"{name} -s {c['sort']} -r: the rows reversed", ok,
          f"exit {rc1}/{rc2}: {r1[:3]} / {r2[:3]} {err1[-150:]}{err2[-150:]}")

    rc, out, err = run(mem, base + ["-t"])
    check(f"{name} -t: a TOTAL row", rc == 0 and "TOTAL" in out, f"exit {rc}: {err[-300:]}")

    rc, out, err = run(mem, base + ["-J", "-t", "-o", f"{a},{b}"])
    try:
        doc = json.loads(out)
        rows = rows_of(doc)
        keys = set(rows[0]) if rows else set()
        ok = rc == 0 and "totals" in json.dumps(doc) and {a.lower(), b.lower()} <= keys
        detail = f"keys {sorted(keys)[:8]}, members {list(doc)[:8]}"
    except ValueError as e:
        ok, detail = False, f"exit {rc}: not JSON: {e}: {out[:200]!r} {err[-200:]}"
    check(f"{name} -J -t -o {a},{b}: rows keyed by the columns, totals", ok, detail)

    rc, out, err = run(mem, base + ["-o", "NOPE"])
    check(f"{name} -o NOPE: exit 2", rc == 2, f"exit {rc}")
    rc, out, err = run(mem, base + ["-s", "NOPE"])
    check(f"{name} -s NOPE: exit 2", rc == 2, f"exit {rc}")


def main():
    mem, data = sys.argv[1], sys.argv[2]
    for c in commands(data):
        check_command(mem, c)
    print(f"flags: {passed} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
