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
import shutil
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


# The family's pages are its own (its own copy of the helper: test_live.family_exe) but
# for the vDSO, 8 KiB that every process maps: a process's share is 8 KiB / N, N the
# processes running, and N moves between two readings on a busy machine (another make
# check's compilers: 100 to 200 processes moved a share by 41 bytes). While 16 or more
# run, a share moves by less than 512 bytes; a figure covers at most the family's 4
# processes: 2 KiB. Figures made of PSS may differ by this much; nothing else may.
PSS_SLACK = 2048


def pss_like(key):
    return "pss" in key or key in ("owned", "resident")


def first_difference(a, b, where="$"):
    """Where two documents first differ, and how (figures made of PSS within PSS_SLACK)."""
    if type(a) is not type(b):
        return f"{where}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            x, y = a.get(k, "<none>"), b.get(k, "<none>")
            if pss_like(k) and isinstance(x, int) and isinstance(y, int) and \
                    abs(x - y) <= PSS_SLACK:
                continue
            if x != y:
                d = first_difference(x, y, f"{where}.{k}")
                if d:
                    return d
        return ""
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{where}[{i}]") if x != y else ""
            if d:
                return d
        if len(a) != len(b):
            return f"{where}: {len(a)} items != {len(b)}"
        return ""
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
        if not first_difference(before, after):
            break
    else:
        print("note: the family's figures kept moving; comparing the last try")
    for ext, snap in snaps.items():
        got = reports(memledger, pids, source=snap)
        for label in after:
            diff = first_difference(after[label], got[label])
            check(f"{label} on a .{ext} snapshot equals {label} live (PSS within "
                  f"{PSS_SLACK} bytes: the vDSO's share)", not diff, diff)
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
    check_redact(memledger, workdir)
    check_captured_as(memledger, workdir)


def check_captured_as(memledger, workdir):
    """A snapshot says who captured it: read as root, what nobody could not read is said
    as nobody's refusal, not root's."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        skip("a capture as nobody", "needs root and setpriv")
        return
    snap = os.path.join(workdir, "nobody.tar")
    os.chmod(workdir, 0o777)
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        memledger, "capture", "--exact", "-o", snap], capture_output=True,
                       text=True)
    check("capture as nobody: written", r.returncode == 0, r.stderr)
    check("capture --exact as nobody says it could not read the page frames, and what "
          "that means", "--exact: the page frames (/proc/kpagecount) could not be read "
          "(EACCES): FREED and COW from this snapshot are bounds" in r.stderr, r.stderr)
    r = subprocess.run([memledger, "ps", "--source", snap], capture_output=True, text=True)
    check("a snapshot taken as nobody, read as root: the refusal is nobody's",
          "captured as nobody (uid 65534): " in r.stderr and "capture as root" in r.stderr
          and "even to root" not in r.stderr,
          r.stderr)


# A process with secrets everywhere memledger reads names: arguments, its name (comm, set
# to one of them), a memfd's name, a mapped file's path, a SysV key; and one that overwrote
# the NUL that ends its arguments, so that the kernel shows its environment after them.
SECRETS_HELPER = r"""
import ctypes, mmap, os, sys, time
secret = sys.argv[1]
libc = ctypes.CDLL(None)
libc.prctl(15, secret[:15].encode(), 0, 0, 0)  # PR_SET_NAME
fd = os.memfd_create("memfd-" + secret)
os.ftruncate(fd, 4096)
m1 = mmap.mmap(fd, 4096)
m1[0:1] = b"x"
path = os.path.join(sys.argv[2], "file-" + secret)
with open(path, "wb") as f:
    f.write(b"y" * 4096)
f = open(path, "rb")
m2 = mmap.mmap(f.fileno(), 4096, prot=mmap.PROT_READ)
m2[0]
libc.shmget.restype = ctypes.c_int
shmid = libc.shmget(0x5ec7e7, 4096, 0o1600)  # IPC_CREAT | 0600
libc.shmat.restype = ctypes.c_void_p
libc.shmat(shmid, None, 0)
libc.shmctl(shmid, 0, None)  # IPC_RMID: gone once detached
print("ready", flush=True)
time.sleep(60)
"""
ENV_LEAK_HELPER = r"""
import os, time
with open("/proc/self/stat") as f:
    fields = f.read().rsplit(")", 1)[1].split()
arg_start, arg_end = int(fields[45]), int(fields[46])  # fields 48, 49 of proc(5)
with open("/proc/self/mem", "r+b") as m:  # a title over the arguments, no NUL left
    m.seek(arg_start)
    area = m.read(arg_end - arg_start)
    m.seek(arg_start)
    m.write(area[:-1].replace(b"\0", b" ") + b"X")
print("ready", flush=True)
time.sleep(60)
"""


def check_redact(memledger, workdir):
    """--redact: no secret in the snapshot's bytes, wherever memledger found it; program
    names stay; one key, one hash (diff matches); a random key said. Never the
    environment past the arguments, redacted or not, live or captured."""
    secret = "hunter2secrettoken"
    procs = [subprocess.Popen([sys.executable, "-c", SECRETS_HELPER, secret, workdir,
                               f"--password={secret}"], stdout=subprocess.PIPE, text=True),
             subprocess.Popen(["bash", "-c", f'exec -a "myprog --token={secret}" sleep 60'],
                              stdout=subprocess.DEVNULL),
             subprocess.Popen(["perl", "-e", f'$0 = "mydaemon: user=admin password={secret}";'
                               ' sleep 60'], stdout=subprocess.DEVNULL),
             subprocess.Popen([sys.executable, "-c", ENV_LEAK_HELPER, "a"],
                              stdout=subprocess.PIPE, text=True,
                              env={"AAA_ENV_SECRET": "envsecretvalue", "PATH": "/usr/bin"})]
    try:
        for p in (procs[0], procs[3]):
            check("--redact: a helper started", p.stdout.readline() == "ready\n")
        time.sleep(0.3)  # exec -a and perl's $0
        live = run(memledger, "ps", "-p", str(procs[3].pid), "-o", "PID,COMMAND")
        cmd = live and live["processes"] and live["processes"][0]["command"]
        check("a command line whose last NUL was overwritten: no environment after it, live",
              cmd and "envsecretvalue" not in cmd and cmd.endswith("aX"), repr(cmd))
        plain = os.path.join(workdir, "plain.tar")
        subprocess.run([memledger, "capture", "-o", plain], check=True, capture_output=True)
        with open(plain, "rb") as f:
            check("... nor in an unredacted capture", b"envsecretvalue" not in f.read())
        snaps = []
        for i, key in enumerate((None, "k1", "k1")):
            snap = os.path.join(workdir, f"redacted-{i}.tar")
            r = subprocess.run([memledger, "capture", "--redact", "-o", snap] +
                               (["--redact-key", key] if key else []), capture_output=True,
                               text=True)
            check(f"--redact{' --redact-key' if key else ''}: written", r.returncode == 0,
                  r.stderr)
            if key is None:
                check("--redact without a key: the random key is said",
                      "--redact-key " in r.stderr, r.stderr)
            snaps.append(snap)
        with open(snaps[1], "rb") as f:
            data = f.read()
        found = [s for s in (secret, secret[:15], "5ec7e7", "envsecretvalue", "user=admin")
                 if s.encode() in data]
        check("--redact: no secret in the snapshot's bytes (arguments, title, argv[0], comm, "
              "memfd, file path, SysV key, environment)", not found, str(found))
        cmds = []
        for snap in snaps[1:]:
            doc = run(memledger, "ps", "-o", "PID,COMMAND", source=snap)
            cmds.append({p["pid"]: p["command"] for p in doc["processes"]} if doc else {})
        pids = [p.pid for p in procs]
        check("--redact: one key, one hash: the same command lines in two snapshots",
              all(cmds[0].get(p) == cmds[1].get(p) and cmds[0].get(p) for p in pids),
              str([(cmds[0].get(p), cmds[1].get(p)) for p in pids]))
        c = cmds[0]
        check("--redact: program names stay, the rest hashed",
              c.get(pids[1], "").startswith("myprog <h:") and
              c.get(pids[2], "").startswith("mydaemon: <h:") and
              "<h:" in c.get(pids[0], ""), str([c.get(p) for p in pids]))
        doc = run(memledger, "shm", "-o", "NAME", source=snaps[1])
        names = [o["name"] for o in doc["objects"]] if doc else []
        check("--redact: the memfd and the SysV segment are there, named by hashes",
              any(n.startswith("/memfd:<h:") for n in names), str(names))
    finally:
        for p in procs:
            p.kill()
            p.wait()


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
