#!/usr/bin/env python3
"""A command opens its snapshot once (issue 27): the archive is read and decompressed once
whatever the parts of the command that read it; diff A B opens each side once.

Counted with strace -f -e trace=openat on a live capture (.tar.zst) of this machine, with a
process of the test's own (a sleep) for the views that take a PID."""
import os
import shutil
import subprocess
import sys
import tempfile

failures = 0


def check(what, ok, detail=""):
    global failures
    print(("ok: " if ok else "FAIL: ") + what + ("" if ok else f": {detail}"))
    failures += not ok


# openat alone, stopped on by a seccomp filter: the other calls run at full speed
STRACE = ["strace", "-f", "-qq", "--seccomp-bpf", "-e", "trace=openat"]


def opens(memledger, args, paths, tmp):
    """How many times the command opens each of paths (openat calls naming it)."""
    log = os.path.join(tmp, "strace.log")
    r = subprocess.run(STRACE + ["-o", log, memledger] + args, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    with open(log, errors="replace") as f:
        text = f.read()
    return r.returncode, [text.count(f'"{p}"') for p in paths], r.stderr[-300:]


def main():
    memledger = sys.argv[1]
    if not shutil.which("strace"):
        print("SKIP: strace is not installed (make check installs it)")
        return 77
    if subprocess.run(STRACE + ["-o", "/dev/null", "true"]).returncode != 0:
        print("SKIP: strace cannot trace here (ptrace refused, or no --seccomp-bpf)")
        return 77
    tmp = tempfile.mkdtemp(prefix="memledger-opens-")
    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        a = os.path.join(tmp, "a.tar.zst")
        b = os.path.join(tmp, "b.tar.zst")
        r = subprocess.run([memledger, "capture", "--exact", "-o", a], capture_output=True,
                           text=True)
        if r.returncode != 0:
            print(f"FAIL: capture: {r.stderr[-300:]}")
            return 1
        shutil.copy(a, b)
        pid = str(sleeper.pid)
        commands = [["ps"], ["system"], ["cgroups"], ["gpu"], ["export"],
                    ["report", "-o", os.path.join(tmp, "r.html")],
                    ["report", "--chart", "treemap", "-o", os.path.join(tmp, "r.svg")],
                    ["freed", pid], ["tree"], ["groups"], ["users"], ["libs"], ["shm"],
                    ["maps", pid], ["export", "--exact"], ["ps", "-p", pid, "-o", "+GPU"],
                    ["system", "-i", "0.01", "-c", "3"]]
        for cmd in commands:
            rc, n, err = opens(memledger, cmd + ["--source", a], [a], tmp)
            check(f"{' '.join(cmd)} --source X.tar.zst opens it once", n == [1],
                  f"{n[0]} times, exit {rc}: {err}")
        rc, n, err = opens(memledger, ["top", "-b", "-n", "3", "--source", a], [a], tmp)
        check("top -b -n 3 --source X.tar.zst opens it once", n == [1], f"{n}, exit {rc}: {err}")
        for cmd in (["diff", a, b], ["diff", a, b, "--by", "system"],
                    ["diff", a, b, "-p", pid, "--mappings"],
                    ["report", "--diff", a, b, "-o", os.path.join(tmp, "d.html")]):
            rc, n, err = opens(memledger, cmd, [a, b], tmp)
            check(f"{' '.join(os.path.basename(c) for c in cmd)} opens each side once",
                  n == [1, 1], f"{n}, exit {rc}: {err}")
    finally:
        sleeper.kill()
        sleeper.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"opens: {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
