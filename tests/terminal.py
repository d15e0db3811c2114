#!/usr/bin/env python3
"""Tables on a terminal: memledger cuts the key column (COMMAND) last to fit, and nothing
when the terminal is wide enough or when the output is not a terminal. Then every view,
on trees with long names (Chromium roles, deep library paths, long command lines), at 80
and 120 columns: every line fits, and a cut path keeps its tail.

    terminal.py MEMLEDGER TESTDATA
"""
import os
import pty
import shutil
import subprocess
import sys
import tempfile
import unicodedata

LONG_DIR = "/usr/lib/x86_64-linux-gnu/a-rather-long-directory-name/for-a-table-to-cut"


def width(s):
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in s)


def run(memledger, args, columns):
    """Runs memledger on a pseudo-terminal COLUMNS wide; returns its output lines."""
    leader, follower = pty.openpty()
    env = dict(os.environ, COLUMNS=str(columns), LC_ALL="C.UTF-8")
    proc = subprocess.Popen([memledger] + args, stdout=follower, stderr=subprocess.DEVNULL, env=env)
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    proc.wait()
    os.close(leader)
    return out.decode().replace("\r\n", "\n").splitlines()


def main():
    memledger, data = sys.argv[1], sys.argv[2]
    args = ["--source", os.path.join(data, "proc-basic"), "-o", "PID,COMMAND,PSS"]
    failures = 0

    def check(cond, what):
        nonlocal failures
        print(("ok: " if cond else "FAIL: ") + what)
        failures += not cond

    piped = subprocess.run([memledger] + args, capture_output=True, text=True,
                           env=dict(os.environ, COLUMNS="30", LC_ALL="C.UTF-8")).stdout.splitlines()
    wide = run(memledger, args, 200)
    check(wide == piped, "a wide terminal shows what a pipe gets (COLUMNS ignored in a pipe)")
    full = max(width(l) for l in piped)
    narrow = run(memledger, args, 30)
    check(len(narrow) == len(piped), f"as many lines on a 30-column terminal ({len(narrow)})")
    check(all(width(l) <= 30 for l in narrow), "every line fits in 30 columns: "
          + repr([l for l in narrow if width(l) > 30]))
    check(full > 30, f"the untruncated table is wider than 30 ({full})")
    check(narrow[0].split() == ["PID", "COMMAND", "PSS"], "the header keeps every column")
    for cut, whole in zip(narrow[1:], piped[1:]):
        pid, pss = cut.split()[0], cut.split()[-1]
        check(whole.split()[0] == pid, f"PID {pid} kept")
        check(whole.split()[-1] == pss, f"PSS of {pid} kept whole ({pss})")
        command = cut[len(cut.split(pid, 1)[0]) + len(pid) + 1:cut.rindex(pss)].strip()
        kept = command[:-1] if command.endswith("\u2026") else command
        check(kept and kept in whole and (kept == command) == (command in whole.split(None, 1)[1]),
              f"COMMAND of {pid} whole or cut from its start, marked: {command!r}")
    failures += views(memledger, data)
    return 1 if failures else 0


def long_tree(data, tmp):
    """proc-libs with its libraries moved under LONG_DIR and long command lines."""
    tree = os.path.join(tmp, "proc-long")
    shutil.copytree(os.path.join(data, "proc-libs"), tree)
    for pid in os.listdir(tree):
        with open(os.path.join(tree, pid, "smaps")) as f:
            smaps = f.read()
        with open(os.path.join(tree, pid, "smaps"), "w") as f:
            f.write(smaps.replace("/usr/lib/", LONG_DIR + "/"))
        with open(os.path.join(tree, pid, "cmdline"), "wb") as f:
            f.write(b"/opt/some-vendor/bin/server\0--worker\0--config=/etc/some-vendor/"
                    + pid.encode() + b"/a-long-configuration-file-name.conf\0")
    return tree


def views(memledger, data):
    """Every view at 80 and 120 columns: no line wider; libc's path keeps its tail."""
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        long = long_tree(data, tmp)
        cases = [
            (os.path.join(data, "proc-roles"), ["ps"]),
            (os.path.join(data, "proc-roles"), ["tree"]),
            (os.path.join(data, "proc-roles"), ["users"]),
            (os.path.join(data, "proc-roles"), ["groups", "--by", "app"]),
            (long, ["ps"]),
            (long, ["libs"]),
            (long, ["maps", "10"]),
            (long, ["groups", "--by", "exe"]),
            (long, ["shm"]),
            (long, ["freed", "10"]),
            (os.path.join(data, "proc-maps"), ["maps", "4711"]),
            (os.path.join(data, "system-a", "proc"), ["system"]),
            (os.path.join(data, "cgroup-v2", "proc"), ["cgroups"]),
            (os.path.join(data, "gpu", "proc"), ["gpu"]),
        ]
        for tree, args in cases:
            cmd = ["--source", tree] + args
            for columns in (80, 120):
                lines = run(memledger, cmd, columns)
                wide = [l for l in lines if width(l) > columns]
                what = f"{' '.join(args)} on {os.path.basename(tree)} at {columns} columns"
                ok = len(lines) > 1 and not wide
                print(("ok: " if ok else "FAIL: ") + what + f": {len(lines)} lines, "
                      + (f"too wide: {wide!r}" if wide else "none wider"))
                failures += not ok
                if tree == long and args[0] in ("libs", "maps"):
                    libc = [l for l in lines if "libc.so.6" in l]
                    ok = bool(libc) and all(
                        "\u2026" in l or LONG_DIR in l for l in libc)
                    print(("ok: " if ok else "FAIL: ") + what
                          + f": libc's path keeps its tail ({libc[:1]!r})")
                    failures += not ok
    return failures


if __name__ == "__main__":
    sys.exit(main())
