#!/usr/bin/env python3
"""Snapshots: a report on a snapshot is the report on the live system at that instant.

    test_snapshot.py MEMLEDGER LAYOUT_HELPER

Starts the layout helper's family, captures the system while it sits still (with
--exact, compressed and not), and compares every view's JSON on the snapshot with the
same view live, --exact views included. Then the capture's own contract: the archive
under its final name only when whole, -o - to a pipe, --redact, bad names refused.
"""
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time

import test_live
from test_live import check, running_family, skip


def run(memledger, *args, source=None):
    """memledger ARGS [--source SOURCE] -J: its document, or None after a FAIL."""
    cmd = [memledger, *args, "-J"] + (["--source", source] if source else [])
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        check(f"{' '.join(args)} runs", False, out.stderr)
        return None
    return json.loads(out.stdout)


def family_rows(doc, pids):
    """Of a document whose rows name processes (groups --by pid, shm), the family's."""
    key = next(iter(doc))
    names = tuple(f"{p} " for p in pids)
    return [r for r in doc[key] if any(str(v).startswith(names) or v in pids
                                       for v in r.values())]


def first_difference(a, b, where="$"):
    """Where two documents first differ, and how."""
    if type(a) is not type(b):
        return f"{where}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k, "<none>") != b.get(k, "<none>"):
                return first_difference(a.get(k, "<none>"), b.get(k, "<none>"), f"{where}.{k}")
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_difference(x, y, f"{where}[{i}]")
        if len(a) != len(b):
            return f"{where}: {len(a)} items != {len(b)}"
    return f"{where}: {a!r} != {b!r}" if a != b else ""


def views(pids):
    """(label, arguments, filter) of every view on the family."""
    plist = ",".join(map(str, pids))
    return [
        ("ps", ["ps", "-p", plist, "-o", test_live.COLUMNS + ",COMMAND,FREED,COW,OWNED"], None),
        ("users", ["users", "-p", plist], None),
        ("libs", ["libs", "-p", plist], None),
        ("libs --procs", ["libs", "--procs", "-p", plist], None),
        ("maps", ["maps", str(pids[0])], None),
        ("maps --merge", ["maps", "--merge", str(pids[1])], None),
        ("tree", ["tree", str(pids[0])], None),
        ("freed", ["freed", str(pids[1])], None),
        ("freed of the family", ["freed", *map(str, pids)], None),
        ("groups --by pid", ["groups", "--by", "pid", "-o", "+RSS,SWAP"], pids),
        ("shm", ["shm"], pids),
    ]


def reports(memledger, pids, source=None):
    out = {}
    for label, args, only in views(pids):
        doc = run(memledger, *args, source=source)
        out[label] = family_rows(doc, only) if doc is not None and only else doc
        for p in (doc or {}).get("processes", []) if label.startswith("maps") else []:
            p.get("summary", {}).pop("committed_as", None)  # the system's: it moves
    return out


def check_views(memledger, pids, workdir):
    """Every view on a snapshot equals the view live, taken while the family sat still."""
    for tries in range(5):
        before = reports(memledger, pids)
        snaps = {}
        for ext in ("tar", "tar.zst"):
            snaps[ext] = os.path.join(workdir, f"snap.{ext}")
            subprocess.run([memledger, "capture", "--exact", "-o", snaps[ext]], check=True,
                           capture_output=True)
        after = reports(memledger, pids)
        if before == after:
            break
    else:
        print("note: the family's figures kept moving; comparing the last try")
    for ext, snap in snaps.items():
        got = reports(memledger, pids, source=snap)
        for label in after:
            check(f"{label} on a .{ext} snapshot equals {label} live", got[label] == after[label],
                  first_difference(after[label], got[label]))
    return snaps["tar"]


def check_system(memledger, snap, workdir):
    """system on the archive equals system on the archive extracted: the sys files too."""
    top = os.path.join(workdir, "extracted")
    with tarfile.open(snap) as tar:
        if hasattr(tarfile, "fully_trusted_filter"):  # Python 3.12, and 3.11.4 on
            tar.extractall(top, filter="fully_trusted")
        else:
            tar.extractall(top)
    # The extracted tree reads memledger-unreadable beside its proc/ as the archive does.
    a = run(memledger, "system", source=snap)
    b = run(memledger, "system", source=os.path.join(top, "proc"))
    check("system on a snapshot equals system on its files", a == b and a is not None,
          first_difference(a, b))
    with open(os.path.join(top, "memledger-unreadable"), "a") as f:  # one more refusal
        for name in ("smaps_rollup", "smaps"):
            f.write(f"proc/{os.getpid()}/{name} EACCES\n")
            os.unlink(os.path.join(top, "proc", str(os.getpid()), name))
    ps = run(memledger, "ps", source=os.path.join(top, "proc"))
    check("the extracted tree: a file memledger-unreadable names is unreadable, not missing",
          ps and os.getpid() in ps["unreadable_pids"] and
          all(p["pid"] != os.getpid() for p in ps["processes"]), str(ps and ps["unreadable_pids"]))
    rows = {r["name"] if "name" in r else json.dumps(r) for r in (a or {}).get("system", [])}
    check("system on a snapshot has its rows", len(rows) > 5, str(rows))


def check_capture_contract(memledger, workdir):
    out = subprocess.run([memledger, "capture", "-o", os.path.join(workdir, "x.zip")],
                         capture_output=True, text=True)
    check("capture -o with a name that is no tar: usage error", out.returncode == 2, out.stderr)
    out = subprocess.run([memledger, "capture", "-o", "/nonexistent/x.tar"], capture_output=True,
                         text=True)
    check("capture into a missing directory: usage error", out.returncode == 2 and "nonexistent" in
          out.stderr, out.stderr)
    # -o - streams a tar down a pipe
    p = subprocess.run(f"{memledger} capture -o - | tar -tf - | head -1", shell=True,
                       capture_output=True, text=True)
    check("capture -o - streams a tar, the manifest first",
          p.stdout.strip() == "memledger-manifest", p.stdout + p.stderr)
    # the final name appears only when the archive is whole: a full disk leaves nothing
    full = os.path.join(workdir, "small")
    os.mkdir(full)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", full],
                             capture_output=True).returncode == 0
    if mounted:
        try:
            out = subprocess.run([memledger, "capture", "-o", os.path.join(full, "s.tar")],
                                 capture_output=True, text=True)
            check("a capture that does not fit fails", out.returncode == 1, out.stderr)
            check("and leaves no file, under any name", os.listdir(full) == [],
                  str(os.listdir(full)))
        finally:
            subprocess.run(["umount", full])
    else:
        skip("capture on a full disk", "cannot mount a small tmpfs (not root?)")
    # --redact: argv[0] and sizes
    secret = "hunter2-secret-token"
    code = "import time; time.sleep(60)"
    sleeper = subprocess.Popen([sys.executable, "-c", code, secret],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        snap = os.path.join(workdir, "redacted.tar")
        subprocess.run([memledger, "capture", "--redact", "-o", snap], check=True,
                       capture_output=True)
        with open(snap, "rb") as f:
            data = f.read()
        check("--redact: no argument is in the snapshot", secret.encode() not in data)
        doc = run(memledger, "ps", "-p", str(sleeper.pid), "-o", "PID,COMMAND", source=snap)
        cmd = doc and doc["processes"] and doc["processes"][0]["command"]
        check("--redact: argv[0] stays, each argument is its size",
              cmd == f"{sys.executable} <2 bytes> <{len(code)} bytes> <{len(secret)} bytes>",
              repr(cmd))
    finally:
        sleeper.kill()
        sleeper.wait()


def check_diff(memledger, helper, workdir):
    """The parent grows by 4 MiB between two captures: diff shows exactly that for it and
    nothing for its idle children; against live too; by group, by mapping, the system."""
    proc = subprocess.Popen([helper, "grow", "2"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline().split()
        pids = [int(p) for p in line[1:]]
        a, b = os.path.join(workdir, "a.tar.zst"), os.path.join(workdir, "b.tar")
        # A just-forked family still breaks copy-on-write pages for a moment (a page the
        # parent shared becomes its own), and the first growth's path may too (4 KiB more
        # USS than the growth, once in a few hundred runs): one growth before A, and A is
        # taken once the family holds still.
        proc.stdin.write("grow\n")
        proc.stdin.flush()
        check("the helper grew once before A", proc.stdout.readline().strip() == "grown")
        family = [memledger, "-J", "-b", "-p", ",".join(map(str, pids)), "-o", "PID,USS,PSS"]
        last = None
        for _ in range(50):
            now = subprocess.run(family, capture_output=True, text=True).stdout
            if now == last:
                break
            last = now
            time.sleep(0.1)
        subprocess.run([memledger, "capture", "-o", a], check=True, capture_output=True)
        proc.stdin.write("grow\n")
        proc.stdin.flush()
        check("the helper grew", proc.stdout.readline().strip() == "grown")
        subprocess.run([memledger, "capture", "-o", b], check=True, capture_output=True)
        four = 4 * 1024 * 1024
        plist = ",".join(map(str, pids))
        cols = "PID,STATE,PSS,USS,RSS,SWAP,FOOTPRINT,SIZE,PSS-A,PSS-B"
        for label, second in (("B", b), ("live", "live")):
            doc = run(memledger, "diff", a, second, "-p", plist, "-o", cols)
            rows = {r["pid"]: r for r in (doc or {}).get("processes", [])}
            parent = rows.get(pids[0], {})
            check(f"diff A {label}: the parent grew by 4 MiB, exactly",
                  all(parent.get(k) == four for k in ("pss", "uss", "rss", "footprint", "size"))
                  and parent.get("swap") == 0 and parent.get("state") == "", str(parent))
            check(f"diff A {label}: PSS-B - PSS-A is the change",
                  parent.get("pss-b", 0) - parent.get("pss-a", 0) == four, str(parent))
            for kid in pids[1:]:
                row = rows.get(kid, {})
                check(f"diff A {label}: the idle child {kid} did not change",
                      all(row.get(k) == 0 for k in ("pss", "uss", "rss", "swap", "footprint",
                                                     "size")), str(row))
            check(f"diff A {label}: the growth sorts first", doc and
                  doc["processes"][0]["pid"] == pids[0], str(doc and doc["processes"][:1]))
        doc = run(memledger, "diff", a, b, "--by", "exe", "-p", plist)
        groups = [g for g in (doc or {}).get("groups", []) if g["name"] == os.path.realpath(helper)]
        check("diff --by exe: the family's group grew by 4 MiB, 3 processes on each side",
              len(groups) == 1 and groups[0]["pss"] == four and groups[0]["procs-a"] == 3 and
              groups[0]["procs-b"] == 3, str(groups))
        doc = run(memledger, "diff", a, b, "-p", str(pids[0]), "--mappings",
                  "-o", "NAME,KIND,RSS,SIZE")
        grown = sum(m["rss"] for m in (doc or {}).get("mappings", []))
        anon = [m for m in (doc or {}).get("mappings", []) if m["rss"]]
        check("diff --mappings: 4 MiB more resident, all of it anonymous",
              grown == four and all(m["kind"] == "anon" for m in anon), str(anon))
        doc = run(memledger, "diff", a, b, "--by", "system")
        names = [r["name"] for r in (doc or {}).get("system", [])]
        check("diff --by system: the system's rows, A and B", "anonymous" in names and
              all("a" in r and "b" in r and "change" in r for r in doc["system"]), str(names))
    finally:
        proc.stdin.close()
        proc.wait()
    out = subprocess.run([memledger, "diff", a], capture_output=True, text=True)
    check("diff with one side: usage error", out.returncode == 2, out.stderr)
    out = subprocess.run([memledger, "diff", a, "/nonexistent.tar"], capture_output=True,
                         text=True)
    check("diff with a missing snapshot: an error naming it",
          out.returncode == 1 and "/nonexistent.tar" in out.stderr, out.stderr)


def main():
    memledger, helper = sys.argv[1], sys.argv[2]
    if os.geteuid() != 0:
        print("SKIP: the snapshot tests compare exact views: they need root")
        return 77
    with running_family(helper, "memledger-snapshot-") as (_, pids, workdir, _):
        if not pids:
            return 1
        snap = check_views(memledger, pids, workdir)
        check_system(memledger, snap, workdir)
        check_capture_contract(memledger, workdir)
        check_diff(memledger, helper, workdir)
    return test_live.finish("snapshot")


if __name__ == "__main__":
    sys.exit(main())
