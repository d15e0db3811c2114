#!/usr/bin/env python3
"""The table engine from files: each NAME.spec in DIR is run through test_output and its
output (stdout, then "--- exit N" and stderr) compared with NAME.expected. Then what a
file cannot show: more than the 64 KiB that a line buffer flushes at, in every format, and
a full disk (/dev/full) for test_output and for memledger itself.

    run.py TEST_OUTPUT MEMLEDGER DIR [--update]
"""
import csv
import io
import json
import os
import subprocess
import sys
import tempfile

ENV = dict(os.environ, LC_ALL="C.UTF-8")
failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    failures += not ok


def run(cmd, stdout=subprocess.PIPE):
    return subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, env=ENV, timeout=60)


def files(driver, directory, update):
    for name in sorted(f[:-5] for f in os.listdir(directory) if f.endswith(".spec")):
        p = run([driver, os.path.join(directory, name + ".spec")])
        got = p.stdout + b"--- exit %d\n" % p.returncode + p.stderr
        path = os.path.join(directory, name + ".expected")
        if update:
            with open(path, "wb") as f:
                f.write(got)
        with open(path, "rb") as f:
            want = f.read()
        if got != want:
            sys.stdout.write(got.decode(errors="replace"))
        check(got == want, name)


def big(driver):
    """4,000 rows, depths 0 to 4, of multibyte text: past the flush in every format."""
    n = 4000
    text = "été 漢字 row"
    for fmt in ("table", "raw", "csv", "json"):
        with tempfile.NamedTemporaryFile("w", suffix=".spec", delete=False) as f:
            f.write(f"opts {fmt} 0\ncol NAME str tree\ncol N count right\n"
                    f"repeat {n} 5 {text}\n")
        p = run([driver, f.name])
        os.unlink(f.name)
        out = p.stdout.decode()
        ok = p.returncode == 0 and len(p.stdout) > 65536
        if fmt == "json":
            rows, stack = [], json.loads(out)["rows"]
            while stack:  # depth first, as written
                r = stack.pop(0)
                rows.append(r)
                stack[:0] = r.get("children", [])
            ok = ok and [r["n"] for r in rows] == list(range(n))
            ok = ok and all(r["name"] == f"{text} {r['n']}" for r in rows)
        elif fmt == "csv":
            rows = list(csv.reader(io.StringIO(out)))
            ok = ok and rows[0] == ["DEPTH", "NAME", "N"] and len(rows) == n + 1
            ok = ok and all(r == [str(i % 5), f"{text} {i}", str(i)] for i, r in enumerate(rows[1:]))
        else:
            lines = out.splitlines()
            ok = ok and len(lines) == n + 1
            for i, line in enumerate(lines[1:]):
                ok = ok and line.rstrip().endswith(str(i)) and f"row {i}" in line.replace("\\x20", " ")
        check(ok, f"{fmt}: {n} rows, {len(p.stdout)} bytes, every row whole and in order")


def full(driver, memledger, directory):
    """A write error is said, with a non-zero exit, never silently dropped."""
    with open("/dev/full", "wb") as devfull:
        p = run([driver, os.path.join(directory, "tree-art.spec")], stdout=devfull)
        check(p.returncode == 1 and b"No space left on device" in p.stderr,
              f"test_output > /dev/full: exit {p.returncode}, {p.stderr.decode().strip()!r}")
        data = os.path.join(directory, "..", "data", "proc-basic")
        for args in (["ps"], ["tree"], ["system"], ["system", "-J"], ["-J"], ["--csv", "users"],
                     ["libs"], ["freed", "100"], ["freed", "-J", "100"], ["maps", "100"],
                     ["--help"], ["tree", "--help"], ["--list-columns"]):
            src = os.path.join(directory, "..", "data", "system-a", "proc") if "system" in args else data
            p = run([memledger, "--source", src] + args, stdout=devfull)
            err = p.stderr.decode()
            check(p.returncode == 1 and "memledger: cannot write the output" in err,
                  f"memledger {' '.join(args)} > /dev/full: exit {p.returncode}")


def main():
    driver, memledger, directory = sys.argv[1:4]
    files(driver, directory, "--update" in sys.argv)
    big(driver)
    full(driver, memledger, directory)
    print(f"{failures} failed")
    sys.exit(1 if failures else 0)


main()
