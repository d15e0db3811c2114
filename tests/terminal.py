#!/usr/bin/env python3
"""Tables on a terminal: memledger cuts only its OUT_TRUNC column (COMMAND, NAME) to fit,
and nothing when the terminal is wide enough or when the output is not a terminal.

    terminal.py MEMLEDGER TESTDATA
"""
import os
import pty
import subprocess
import sys
import unicodedata


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
        check(command and command in whole, f"COMMAND of {pid} cut from its start: {command!r}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
