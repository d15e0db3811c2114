#!/usr/bin/env python3
"""memledger wss: a helper that holds 64 MiB and touches 16 MiB of it ten times a second
has a working set of 16 MiB and a little more (the interpreter's own pages), far below its
RSS; one that touches nothing after the clear has next to none.

    test_wss.py MEMLEDGER

Exits 77 (SKIP) without root (clear_refs of a process needs ptrace rights to it).
"""
import json
import os
import subprocess
import sys
import time

import test_live
from test_live import check

MiB = 1 << 20
TOUCH = """
import sys, time
b = bytearray(64 << 20)
for i in range(0, len(b), 4096):
    b[i] = 1
sys.stdout.write("ready\\n")
sys.stdout.flush()
touch = int(sys.argv[1]) << 20
while True:
    for i in range(0, touch, 4096):
        b[i] = 2
    time.sleep(0.1)
"""


def helper(mib):
    p = subprocess.Popen([sys.executable, "-c", TOUCH, str(mib)], stdout=subprocess.PIPE,
                         text=True)
    p.stdout.readline()
    return p


def main():
    memledger = os.path.realpath(sys.argv[1])
    if os.geteuid() != 0:
        print("SKIP: wss needs root for clear_refs of the helpers")
        return 77
    busy, idle = helper(16), helper(0)
    try:
        r = subprocess.run([memledger, "wss", str(busy.pid), str(idle.pid), "-i", "1", "-J",
                            "-b"], capture_output=True, text=True)
        check("wss: exit 0, says what it writes", r.returncode == 0 and
              "clear_refs" in r.stderr, r.stderr)
        rows = {p["pid"]: p for p in json.loads(r.stdout)["processes"]}
        b, i = rows.get(busy.pid, {}), rows.get(idle.pid, {})
        print(f"wss: busy {b.get('referenced', 0) / MiB:.1f} MiB of RSS "
              f"{b.get('rss', 0) / MiB:.1f}; idle {i.get('referenced', 0) / MiB:.1f} MiB")
        check("the busy helper's working set: its 16 MiB and at most 8 MiB more",
              16 * MiB <= b.get("referenced", 0) <= 24 * MiB, str(b))
        check("its RSS holds all 64 MiB", b.get("rss", 0) >= 64 * MiB, str(b))
        check("the idle helper's working set: under 8 MiB (the interpreter's loop)",
              i.get("referenced", 1 << 40) < 8 * MiB, str(i))
        r = subprocess.run([memledger, "wss", str(busy.pid), "-i", "0.3", "-c", "3"],
                           capture_output=True, text=True)
        check("wss -c 3: three tables", r.returncode == 0 and r.stdout.count("REFERENCED") == 3,
              r.stdout)
        # As nobody: its own process is measured; root's, whose bits it may not clear, is
        # left out of the table (its Referenced would be no working set), and said.
        drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        own = subprocess.Popen([*drop, "sleep", "60"])
        try:
            time.sleep(0.2)
            r = subprocess.run([*drop, memledger, "wss", str(own.pid), str(busy.pid), "-i",
                                "0.3", "-J"], capture_output=True, text=True)
            shown = [p["pid"] for p in json.loads(r.stdout)["processes"]] \
                if r.returncode == 0 else []
            check("wss as nobody: its own process measured, root's left out and said",
                  shown == [own.pid] and f"cannot clear the Referenced bits of {busy.pid}"
                  in r.stderr, f"{r.returncode} {shown} {r.stderr}")
        finally:
            own.kill()
            own.wait()
        for args, what, rc in (([], "no PID", 2), (["999999999"], "a PID that is gone", 1),
                               ([str(busy.pid), "--source", "/proc"], "--source", 2)):
            r = subprocess.run([memledger, "wss", *args], capture_output=True, text=True)
            check(f"wss with {what}: exit {rc}, a message", r.returncode == rc and
                  "memledger: " in r.stderr, f"{r.returncode} {r.stderr}")
    finally:
        for p in (busy, idle):
            p.kill()
            p.wait()
    return test_live.finish("wss")


if __name__ == "__main__":
    sys.exit(main())
