#!/usr/bin/env python3
"""memledger cgroups on a memory cgroup of the test's own: a helper moved into it holds
anonymous memory, writes a tmpfs file and a file into the page cache; each row is the
kernel's counter, each row holds what the helper did, the rows add up to the charge, the
helper's PSS is the cgroup's. The cgroup is removed after; no other one is touched.

    test_cgroups.py MEMLEDGER

Exits 77 (SKIP) without root or without cgroup v1's memory hierarchy (the v2 files are
checked on fixture trees).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import test_live
from test_live import check

MEMCG = "/sys/fs/cgroup/memory"
MiB = 1 << 20
HELPER = """
import os, sys, time
anon = bytearray(24 << 20)
for i in range(0, len(anon), 4096):
    anon[i] = 1
with open(sys.argv[1], "wb") as f:        # tmpfs: shmem, charged here
    f.write(b"s" * (16 << 20))
with open(sys.argv[2], "wb") as f:        # the page cache, charged here
    f.write(b"c" * (16 << 20))
    f.flush()
    os.fsync(f.fileno())
sys.stdout.write("ready\\n")
sys.stdout.flush()
time.sleep(300)
"""


def kernel(path):
    def num(name):
        with open(os.path.join(path, name)) as f:
            return int(f.read())
    with open(os.path.join(path, "memory.stat")) as f:
        stat = dict(line.split() for line in f)
    stat = {k: int(v) for k, v in stat.items()}
    return {"current": num("memory.usage_in_bytes"), "anon": stat["total_rss"],
            "shmem": stat["total_shmem"], "file": stat["total_cache"] - stat["total_shmem"],
            "kernel": num("memory.kmem.usage_in_bytes")}


def main():
    memledger = os.path.realpath(sys.argv[1])
    if os.geteuid() != 0 or not os.path.exists(os.path.join(MEMCG, "memory.usage_in_bytes")):
        print("SKIP: needs root and cgroup v1's memory hierarchy (v2: the fixtures)")
        return 77
    name = f"memledger-test-{os.getpid()}"
    path = os.path.join(MEMCG, name)
    work = tempfile.mkdtemp(prefix="memledger-cgroups-", dir="/var/tmp")
    shm = f"/dev/shm/memledger-cgroups-{os.getpid()}"
    os.mkdir(path)
    helper = None
    try:
        helper = subprocess.Popen(["sh", "-c", 'echo $$ > "$0" && exec "$@"',
                                   os.path.join(path, "cgroup.procs"), sys.executable, "-c",
                                   HELPER, shm, os.path.join(work, "cached")],
                                  stdout=subprocess.PIPE, text=True)
        check("the helper started in its cgroup", helper.stdout.readline() == "ready\n")
        cols = "CGROUP,PROCS,CURRENT,ANON,FILE,SHMEM,KERNEL,SOCK,OTHER,OVERLAP,PSS,BEYOND-PSS"
        for _ in range(10):
            before = kernel(path)
            doc = json.loads(subprocess.run([memledger, "cgroups", "-J", "-b", "-o", cols],
                                            capture_output=True, text=True).stdout)
            after = kernel(path)
            if before == after:
                break
            time.sleep(0.2)
        row = next((r for r in doc["cgroups"] if r["cgroup"] == "/" + name), None)
        check("the test's cgroup is a row", row is not None, str(doc)[:300])
        if not row:
            return 1
        for key in ("current", "anon", "shmem", "file", "kernel"):
            check(f"{key.upper()} is the kernel's counter", row[key] == after[key],
                  f"{row[key]} != {after[key]}")
        check("PROCS: the helper alone", row["procs"] == 1, str(row))
        check("ANON holds the helper's 24 MiB", row["anon"] >= 24 * MiB, str(row["anon"]))
        check("SHMEM holds its 16 MiB tmpfs file", row["shmem"] >= 16 * MiB, str(row["shmem"]))
        check("FILE holds its 16 MiB in the page cache", row["file"] >= 16 * MiB,
              str(row["file"]))
        parts = sum(row[k] for k in ("anon", "file", "shmem", "kernel", "sock"))
        check("the rows add up to CURRENT, or OVERLAP says by how much",
              (row["other"] is not None and parts + row["other"] == row["current"] and
               row["overlap"] == 0) or
              (row["other"] is None and parts - row["overlap"] == row["current"]), str(row))
        # The helper (python) shares libc and more with every process that comes and
        # goes, which moves its PSS by kilobytes from one read to the next: within 64 KiB.
        ps = json.loads(subprocess.run([memledger, "-J", "-b", "-p", str(helper.pid), "-o",
                                        "PID,PSS"], capture_output=True, text=True).stdout)
        pss = ps["processes"][0]["pss"] if ps["processes"] else None
        check("PSS is the helper's (within 64 KiB)",
              pss is not None and abs(row["pss"] - pss) <= 64 * 1024, f"{row['pss']} vs {pss}")
        check("BEYOND-PSS is CURRENT less KERNEL, SOCK and PSS",
              row["beyond-pss"] == row["current"] - row["kernel"] - row["sock"] - row["pss"],
              str(row))
        check("BEYOND-PSS holds most of the tmpfs file and the page cache no process maps",
              row["beyond-pss"] >= 24 * MiB, str(row["beyond-pss"]))
        # Exact mode: the cgroup's own pages, page by page, equal the groups view's for
        # the same processes (groups --by cgroup: the helper, alone in its cgroup). Two
        # runs: a process that comes or goes between them (sharing the interpreter's
        # pages) moves USS by pages; the readings are taken again until they hold still.
        for _ in range(10):
            r = subprocess.run([memledger, "cgroups", "-J", "-b", "-o",
                                "CGROUP,USS,RSS,FREED"], capture_output=True, text=True)
            exact = next((x for x in json.loads(r.stdout)["cgroups"]
                          if x["cgroup"] == "/" + name), {}) if r.returncode == 0 else {}
            r = subprocess.run([memledger, "groups", "--by", "cgroup", "-J", "-b", "-o",
                                "NAME,USS,RSS,FREED"], capture_output=True, text=True)
            grp = next((x for x in json.loads(r.stdout)["groups"] if x["name"] == "/" + name),
                       {}) if r.returncode == 0 else {}
            if exact and grp and all(exact[k] == grp[k] for k in ("uss", "rss", "freed")):
                break
            time.sleep(0.2)
        # On a busy machine (make check beside other work) the two readings may never hold
        # still: a library page the helper shares with one process that comes and goes
        # flips between USS and not. Such pages are few; a wrong sum is megabytes.
        check("exact: USS, RSS and FREED are the groups view's for its processes (within "
              "128 KiB of shared library pages when the machine never held still)",
              exact and grp and all(abs(exact[k] - grp[k]) <= 128 * 1024
                                    for k in ("uss", "rss", "freed")),
              f"{exact} vs {grp}")
        check("exact: its 24 MiB anonymous are its own and die with it",
              exact.get("uss", 0) >= 24 * MiB and exact.get("freed", 0) >= 24 * MiB and
              exact.get("rss", 0) >= exact.get("uss", 1 << 62), str(exact))
        top = next((x for x in json.loads(subprocess.run(
            [memledger, "cgroups", "-J", "-b", "-o", "CGROUP,PROCS,RSS"], capture_output=True,
            text=True).stdout)["cgroups"] if x["cgroup"] == "/"), {})
        check("exact: the root's RSS holds the test's cgroup's (parents hold their children)",
              top.get("rss", 0) >= exact.get("rss", 1 << 62), f"{top} {exact}")
        snap = os.path.join(work, "s.tar.zst")
        odd = os.path.join(MEMCG.encode(), name.encode() + b"-\xff\xfe")  # no UTF-8
        os.mkdir(odd)
        for _ in range(10):  # a capture while the cgroup's counters held still
            held = kernel(path)
            r = subprocess.run([memledger, "capture", "-o", snap], capture_output=True)
            if kernel(path) == held:
                break
            time.sleep(0.2)
        check("a cgroup whose name is no UTF-8: capture writes the snapshot",
              r.returncode == 0, r.stderr.decode(errors="replace"))
        rows = subprocess.run([memledger, "cgroups", "--source", snap, "-o", "CGROUP"],
                              capture_output=True).stdout
        check("... and names it, its bytes escaped", (name + "-\\xff\\xfe").encode() in rows,
              rows.decode(errors="replace")[-300:])
        os.rmdir(odd)
        doc = json.loads(subprocess.run([memledger, "cgroups", "--source", snap, "-J", "-b",
                                         "-o", cols], capture_output=True, text=True).stdout)
        os.unlink(snap)
        srow = next((r for r in doc["cgroups"] if r["cgroup"] == "/" + name), {})
        # SHMEM as the kernel counted it at the capture: on a machine where another run
        # turned swap on, the kernel may have moved a few of the file's pages out since.
        check("a snapshot carries the cgroup: its row, the helper in it, its tmpfs file",
              srow.get("procs") == 1 and srow.get("shmem") == held["shmem"] and
              (srow.get("shmem") or 0) >= 15 * MiB, f"{srow} vs the kernel's {held}")
        text = subprocess.run([memledger, "cgroups"], capture_output=True, text=True).stdout
        check("the table names the cgroup", "/" + name in text, text[:300])
    finally:
        if helper:
            helper.kill()
            helper.wait()
        for f in (shm, os.path.join(work, "cached")):
            if os.path.exists(f):
                os.unlink(f)
        os.rmdir(work)
        for _ in range(100):
            try:
                os.rmdir(path)
                break
            except OSError:
                time.sleep(0.05)
        check("the cgroup is removed", not os.path.exists(path))
    return test_live.finish("cgroups")


if __name__ == "__main__":
    sys.exit(main())
