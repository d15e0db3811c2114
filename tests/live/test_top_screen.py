#!/usr/bin/env python3
"""memledger top's full-screen view, driven in tmux (send-keys, capture-pane).

    test_top_screen.py MEMLEDGER LAYOUT_HELPER

It starts; every key does what it says (g groups, t tree, < > s sort, r reverse, /
filter, arrows and p the maps of a process, q quits); the terminal is restored (echo and
canonical mode) after q and after SIGTERM, each with exit status 0; a resize redraws to
the new width. Exits 77 (SKIP) without tmux.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import test_live
from test_live import check

SESSION = f"memledger-top-{os.getpid()}"


def tmux(*args):
    return subprocess.run(["tmux", "-L", SESSION, *args], capture_output=True, text=True)


def pane():
    return tmux("capture-pane", "-p", "-t", SESSION).stdout


def wait_for(what, timeout=6.0):
    """The pane once it shows what (a string or a predicate of the pane), else the last."""
    end = time.time() + timeout
    text = pane()
    while time.time() < end:
        text = pane()
        if (what(text) if callable(what) else what in text):
            return text
        time.sleep(0.1)
    return text


def keys(*k):
    tmux("send-keys", "-t", SESSION, *k)


PIDFILE = f"/tmp/memledger-top-screen-{os.getpid()}.pid"


def start(memledger, width=160, args="-d 0.3"):
    script = (f"echo $$ > {PIDFILE}; {memledger} top {args}; echo EXITED $?; "
              "stty -a | tr ' ;' '\\n\\n' | grep -x -e echo -e -echo -e icanon -e -icanon; "
              "sleep 60")
    tmux("kill-server")
    for _ in range(50):  # a server still going down would take the new session with it
        if tmux("list-sessions").returncode != 0:
            break
        time.sleep(0.1)
    time.sleep(0.2)
    made = tmux("new-session", "-d", "-s", SESSION, "-x", str(width), "-y", "40", "sh", "-c",
                script)
    if made.returncode != 0:
        raise TmuxFailed(f"tmux could not start a session (exit {made.returncode}): "
                         f"{made.stderr.strip()}")
    return wait_for(lambda t: "memledger top -" in t and " PID " in t)


class TmuxFailed(Exception):
    """tmux, the test's terminal, did not start: said by name, not as a failure of top."""


def widest(text):
    return max((len(line) for line in text.splitlines()), default=0)


def family_rows(text):
    return [line for line in text.splitlines()[5:] if line.strip() and line.lstrip()[0].isdigit()]


def header(text):
    return text.splitlines()[0] if text else ""


def check_keys(memledger, family_pids):
    text = start(memledger)
    check("top starts: its header and the table", "memledger top -" in text and " PID " in text,
          text[:400])
    keys("h")
    text = wait_for("the keys")
    check("h: the keys", "the keys" in text and "quit" in text, text[:400])
    keys("x")
    check("any key after h: the rows again", " PID " in wait_for(" PID "))
    keys("g")
    text = wait_for("by comm")
    check("g: groups by command", "by comm" in header(text))
    table = [line.split() for line in text.splitlines()[3:6] if line.strip()]
    check("g: PROCS stands where PID stood", table and table[0][0] == "PROCS" and
          "PID" not in table[0], text[:400])
    keys("g")
    check("g again: by user", "by user" in header(wait_for("by user")))
    keys("g")
    text = wait_for("by role")
    check("g a third time: by role", "by role" in header(text))
    lines = text.splitlines()
    head = next((i for i, line in enumerate(lines) if line.lstrip().startswith("PROCS")), None)
    end = lines[head].index(" PSS") + 4 if head is not None else 0
    rows = {line[end:].strip(): line[end - 7:end].strip() for line in lines[head + 1:]} \
        if end else {}
    # a group of processes refused even to root (a sandbox's) is '-': unknown, honestly
    check("by role: the family's group row has its PSS, not - (its 4 processes read)",
          rows.get("layout-helper", "-") not in ("", "-"), "\n".join(lines))
    keys("g")
    check("g a fourth time: processes", "processes" in header(wait_for("processes,")))
    keys("t")
    text = wait_for(lambda t: "tree" in header(t) and ("└─" in t or "├─" in t))
    check("t: the process tree, drawn", "└─" in text or "├─" in text, text[:600])
    keys("t")
    wait_for("processes,")
    keys(">")
    check("> sorts by the next column", "sort LEAK" in header(wait_for("sort LEAK")))
    keys("<")
    check("< back", "sort GROWTH" in header(wait_for("sort GROWTH")))
    keys("s")
    time.sleep(0.3)
    keys("RSS", "Enter")
    check("s RSS: sorted by RSS", "sort RSS" in header(wait_for("sort RSS")))
    keys("r")
    check("r reverses", "reversed" in header(wait_for("reversed")))
    keys("r")
    keys("/")
    time.sleep(0.3)
    keys("layout-helper trend", "Enter")
    text = wait_for(lambda t: "filter 'layout-helper trend'" in t and len(family_rows(t)) == 4)
    rows = family_rows(text)
    check("/: only the rows whose command holds the filter",
          len(rows) == 4 and all("layout-helper trend" in r for r in rows), "\n".join(rows))
    keys("Down")
    time.sleep(0.4)
    keys("p")
    text = wait_for("maps of ")
    shown = header(text).split()
    check("arrows and p: the maps of the selected process",
          len(shown) > 2 and shown[:2] == ["maps", "of"] and int(shown[2]) in family_pids
          and "START" in text, text[:300])
    keys("p")
    wait_for("memledger top -")
    tmux("resize-window", "-t", SESSION, "-x", "90")
    text = wait_for(lambda t: widest(t) <= 90 and "PID" in t)
    check("a resize redraws to the new width",
          "memledger top -" in text and widest(text) <= 90,
          text[:300])
    check_signal_key()
    keys("q")
    text = wait_for(lambda t: "EXITED" in t and "\necho" in t and "\nicanon" in t)
    check("q: exit status 0", "EXITED 0" in text, text[-300:])
    check("q: the terminal restored (echo, canonical mode)",
          "\necho" in text and "\nicanon" in text, text[-200:])


def check_signal_key():
    """k: asks which signal, then y/n; n sends nothing, y sends it."""
    victim = subprocess.Popen(["sleep", "1234.5"])
    try:
        keys("/")
        time.sleep(0.3)
        keys("sleep 1234.5", "Enter")
        text = wait_for(lambda t: len(family_rows(t)) == 1 and str(victim.pid) in t)
        check("/ finds the victim", str(victim.pid) in text, text[:400])
        keys("k")
        check("k asks which signal", "signal to send" in wait_for("signal to send"))
        keys("Enter")
        check("then whether to send TERM", f"send SIGTERM to {victim.pid}?" in
              wait_for("send SIGTERM"))
        keys("n", "Enter")
        text = wait_for("nothing sent")
        time.sleep(0.3)
        check("n: nothing sent, the process lives", "nothing sent" in text and
              victim.poll() is None, text[-300:])
        keys("k")
        wait_for("signal to send")
        keys("KILL", "Enter")
        wait_for("send SIGKILL")
        keys("y", "Enter")
        try:
            rc = victim.wait(timeout=5)
        except subprocess.TimeoutExpired:
            rc = None
        check("y: SIGKILL sent, the process dies of it", rc == -signal.SIGKILL, str(rc))
        check("the status line says so", f"sent SIGKILL to {victim.pid}" in
              wait_for("sent SIGKILL"))
    finally:
        victim.kill()
        victim.wait()
    keys("/")
    time.sleep(0.3)
    keys("Enter")  # the filter cleared: every row again


def children_named(parent, comm):
    """The PIDs of parent's children called comm, from /proc (no procps needed)."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                text = f.read()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        ppid = int(text[text.rindex(")") + 2:].split()[1])
        if ppid == parent and name == comm:
            found.append(d)
    return found


def check_sigterm(memledger):
    start(memledger)
    with open(PIDFILE) as f:  # the shell's: top is its child
        shell = f.read().strip()
    out = children_named(int(shell), "memledger")
    check("top found for SIGTERM", len(out) == 1, str(out))
    if out:
        os.kill(int(out[0]), signal.SIGTERM)
    text = wait_for(lambda t: "EXITED" in t and "\necho" in t and "\nicanon" in t)
    check("SIGTERM: exit status 0", "EXITED 0" in text, text[-300:])
    check("SIGTERM: the terminal restored", "\necho" in text and "\nicanon" in text, text[-200:])


def check_replay(memledger):
    """top --source DIR: the series, a snapshot at a time, the arrows step through it."""
    series = tempfile.mkdtemp(prefix="memledger-series-")
    try:
        subprocess.run([memledger, "capture", "-i", "0.2", "-c", "3", "-o", series + "/"],
                       capture_output=True, check=True)
        start(memledger, args=f"--source {series}")
        text = wait_for("snapshot 1 of 3")
        check("replay: the first snapshot of the series", "snapshot 1 of 3" in text, text[:200])
        keys("Right")
        check("right: the next snapshot", "snapshot 2 of 3" in wait_for("snapshot 2 of 3"))
        keys("Right")
        keys("Right")
        check("right at the last stays there", "snapshot 3 of 3" in wait_for("snapshot 3 of 3"))
        keys("Left")
        check("left: the one before", "snapshot 2 of 3" in wait_for("snapshot 2 of 3"))
        keys("q")
        check("replay: q quits", "EXITED 0" in wait_for("EXITED"))
    finally:
        shutil.rmtree(series, ignore_errors=True)


def main():
    memledger, helper = os.path.realpath(sys.argv[1]), sys.argv[2]
    if not shutil.which("tmux"):
        print("SKIP: tmux is missing (make check installs it)")
        return 77
    family = subprocess.Popen([helper, "trend"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    pids = [int(p) for p in family.stdout.readline().split()[1:]] + [family.pid]
    try:
        check_keys(memledger, pids)
        check_sigterm(memledger)
        check_replay(memledger)
    except TmuxFailed as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        tmux("kill-server")
        if os.path.exists(PIDFILE):
            os.unlink(PIDFILE)
        family.stdin.close()
        family.wait()
    return test_live.finish("top-screen")


if __name__ == "__main__":
    sys.exit(main())
