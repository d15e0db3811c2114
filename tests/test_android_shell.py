#!/usr/bin/env python3
"""An unrooted phone captured as Android's shell user, read in every view: what the shell
was refused is named and counted, never shown as zeros; what it could read (status,
oom_score_adj, cmdline) shows for every process, with Android's user names and each app's
package and lmkd bucket as its ROLE.

    test_android_shell.py MEMLEDGER TESTDATA

Reads tests/data/android-shell (android-fixtures.py writes it) as the extracted snapshot
it is and as a .tar of it (tests/snapshot/mktar.py): the two must agree.
"""
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "live"))
from test_live import check, finish  # noqa: E402


def run(memledger, source, *args):
    r = subprocess.run([memledger, "--source", source, *args], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


# ActivityManager's buckets (ProcessList.java), written here apart from lib/android.c
def bucket(adj):
    for below, name in ((-999, "native"), (-800, "system"), (-700, "persistent"),
                        (0, "persistent-service"), (100, "foreground"), (200, "visible"),
                        (300, "perceptible"), (400, "backup"), (500, "heavy-weight"),
                        (600, "service"), (700, "home"), (800, "previous"),
                        (900, "service-b"), (1001, "cached")):
        if adj < below:
            return name


def views(refused_pid):
    return [["ps"], ["ps", "-o", "PID,USER,RSS,PSS,USS,SWAP,ROLE"], ["users"], ["libs"],
            ["system"], ["tree"], ["groups"], ["groups", "--by", "app"], ["shm"], ["heaps"],
            ["oom"], ["gpu"], ["freed", str(refused_pid)], ["maps", str(refused_pid)]]


def rows_of(doc):
    """Every object of a document that names a pid."""
    out = []
    if isinstance(doc, dict):
        if "pid" in doc and isinstance(doc["pid"], int):
            out.append(doc)
        for v in doc.values():
            out += rows_of(v)
    elif isinstance(doc, list):
        for v in doc:
            out += rows_of(v)
    return out


def check_source(memledger, source, label, fx, refused, readable):
    # the message: who captured, how many could not be read
    rc, out, err = run(memledger, source, "ps")
    check(f"{label}: ps says who captured and how many it could not read",
          rc == 0 and f"captured as shell (uid 2000): {len(refused)} processes could not be "
          "read; capture as root" in err, err)
    rc, out, err = run(memledger, source, "ps", "-J")
    doc = json.loads(out) if rc == 0 else {}
    check(f"{label}: the refused are the unreadable, by PID",
          sorted(doc.get("unreadable_pids", [])) == sorted(refused), str(doc.get("unreadable_pids")))
    check(f"{label}: ps's rows are the processes read",
          sorted(p["pid"] for p in doc.get("processes", [])) == sorted(readable))
    # no refused process shows a figure of its memory files, in any view
    for v in views(refused[-1]):
        rc, out, err = run(memledger, source, *v, "-J")
        if rc != 0:  # maps and freed of a refused process: an error that names it
            check(f"{label}: {' '.join(v)} fails naming the refusal",
                  v[0] in ("maps", "freed") and ("denied" in err or "could not be read" in err),
                  err)
            continue
        try:
            doc = json.loads(out)
        except ValueError as e:
            check(f"{label}: {' '.join(v)} -J parses", False, str(e))
            continue
        # RSS and SWAP may come from status; a figure of smaps may not
        shown = [r for r in rows_of(doc) if r["pid"] in refused and
                 any(r.get(k) is not None for k in ("pss", "uss", "freed", "swap_pss"))]
        check(f"{label}: {' '.join(v)} shows no figure of smaps for a refused process",
              not shown, str(shown[:2]))
    # what status tells, for every process: VSS, ROLE (package and bucket), USER
    rc, out, err = run(memledger, source, "ps", "-J", "-o", "PID,USER,VSS,ROLE")
    rows = {p["pid"]: p for p in json.loads(out)["processes"]} if rc == 0 else {}
    check(f"{label}: status's columns show every process",
          sorted(rows) == sorted(fx.PROCESSES), str(sorted(rows)))
    for pid, (comm, cmdline, uid, ppid, adj, context, rss, swap) in fx.PROCESSES.items():
        r = rows.get(pid, {})
        want = (f"{cmdline.split(chr(0))[0]} ({bucket(adj)})"[:79]
                if ppid == 600 else "")
        if ppid == 600 and len(cmdline) + len(bucket(adj)) + 3 > 79:
            want = cmdline[:79 - 3 - len(bucket(adj))] + f" ({bucket(adj)})"
        check(f"{label}: {pid}'s ROLE is its package and bucket", r.get("role") == want,
              f"{r.get('role')!r} != {want!r}")
        vss = rss * 40 * 1024 if pid not in readable else r.get("vss")
        check(f"{label}: {pid}'s VSS is its status's", r.get("vss") == vss, str(r.get("vss")))
    rc, out, err = run(memledger, source, "ps", "-J", "-o", "PID,CONTEXT")
    ctx = {p["pid"]: p["context"] for p in json.loads(out)["processes"]} if rc == 0 else {}
    check(f"{label}: CONTEXT is each process's attr/current",
          ctx == {pid: v[5] for pid, v in fx.PROCESSES.items()}, str(ctx))
    names = {0: "root", 1000: "system", 2000: "shell", 10150: "u0_a150", 99000: "u0_i9000"}
    for pid, (comm, cmdline, uid, *rest) in fx.PROCESSES.items():
        if uid in names:
            check(f"{label}: {pid}'s USER is Android's name for {uid}",
                  rows.get(pid, {}).get("user") == names[uid], str(rows.get(pid)))
    # groups --by app: each app its package, its processes together
    rc, out, err = run(memledger, source, "groups", "--by", "app", "-o", "NAME,PROCS", "-J")
    check(f"{label}: groups --by app runs", rc == 0, err)
    # oom on Android: lmkd's order of every app, from status; FREED of the refused unknown
    rc, out, err = run(memledger, source, "oom", "-J")
    doc = json.loads(out) if rc == 0 else {}
    check(f"{label}: oom on an Android snapshot orders as lmkd", doc.get("policy") == "lmkd",
          out[:200])
    apps = sorted((pid for pid, v in fx.PROCESSES.items() if v[4] >= 0),
                  key=lambda pid: (-fx.PROCESSES[pid][4], -fx.PROCESSES[pid][6]))
    victims = doc.get("victims", [])
    check(f"{label}: oom: every app with ADJ >= 0, the highest ADJ first, the largest first "
          "within one, the refused too", [v["pid"] for v in victims] == apps,
          str([v["pid"] for v in victims]))
    check(f"{label}: oom: a refused app's FREED and CUM-FREED are unknown, never 0",
          victims and all(v["freed"] is None and v["cum-freed"] is None for v in victims))
    rc, out, err = run(memledger, source, "system", "-J")
    doc = json.loads(out) if rc == 0 else {}
    check(f"{label}: system reads the DMA-BUF heap pools (total_pools_kb)",
          doc.get("heap_pools") == 20480 * 1024, str(doc.get("heap_pools")))
    other = [c for r in doc.get("system", []) for c in r.get("children", [])
             if c.get("name") == "other reclaimable"]
    check(f"{label}: other reclaimable is KReclaimable - SReclaimable",
          other and other[0].get("size") == (170480 - 150000) * 1024, str(other))


def check_oom_mixed(memledger, tree, fx):
    """A readable process (the shell's logcat, its adj raised to 950) before the refused
    apps: its FREED is known; a refused app's is not, and CUM-FREED is unknown from it."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["cp", "-a", tree, tmp], check=True)
        copy = os.path.join(tmp, os.path.basename(tree))
        with open(os.path.join(copy, "proc", "710", "oom_score_adj"), "w") as f:
            f.write("950\n")
        rc, out, err = run(memledger, os.path.join(copy, "proc"), "oom", "-J")
        victims = json.loads(out)["victims"] if rc == 0 else []
        check("oom mixed: the readable process first (ADJ 950)",
              victims and victims[0]["pid"] == 710, str(victims[:1]))
        check("oom mixed: its FREED is known, and CUM-FREED equals it",
              victims and victims[0]["freed"] and
              victims[0]["cum-freed"] == victims[0]["freed"], str(victims[:1]))
        check("oom mixed: after it, the refused: FREED and CUM-FREED unknown",
              len(victims) > 1 and all(v["freed"] is None and v["cum-freed"] is None
                                       for v in victims[1:]), str(victims[1:2]))


def main():
    memledger, data = sys.argv[1], sys.argv[2]
    spec = importlib.util.spec_from_file_location("fx", os.path.join(data, "android-fixtures.py"))
    fx = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fx)
    tree = os.path.join(data, "android-shell")
    with open(os.path.join(tree, "memledger-unreadable")) as f:
        refused = sorted({int(l.split("/")[1]) for l in f if l.startswith("proc/")})
    readable = sorted(set(fx.PROCESSES) - set(refused))
    check("the fixture refuses all but the shell's own",
          all(fx.PROCESSES[p][2] == 2000 for p in readable) and len(readable) == 3)
    check_source(memledger, os.path.join(tree, "proc"), "tree", fx, refused, readable)
    check_oom_mixed(memledger, tree, fx)
    with tempfile.TemporaryDirectory() as tmp:
        snap = os.path.join(tmp, "phone.tar")
        here = os.path.dirname(os.path.abspath(__file__))
        subprocess.run([sys.executable, os.path.join(here, "snapshot", "mktar.py"), snap,
                        os.path.join(tree, "proc")], check=True)
        check_source(memledger, snap, "tar", fx, refused, readable)
    return finish("android-shell")


if __name__ == "__main__":
    sys.exit(main())
