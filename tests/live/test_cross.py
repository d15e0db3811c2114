#!/usr/bin/env python3
"""memledger-capture built for phones and Chromebooks (arm64, armv7) captures as the
x86-64 build does.

    test_cross.py MEMLEDGER LAYOUT_HELPER CAPTURE_X86_64 [ABI=CAPTURE]...

Runs each cross-built static capture under qemu-user (qemu-aarch64-static,
qemu-arm-static) on this machine's /proc, with --exact, right after the x86-64 one, while
the layout helper's family sits still, and reads every view back from each: the same
processes, the same figures for the family (PSS within the vDSO's share, as
test_snapshot), every view runs on each. SKIP (77) with the reason when no cross capture
was built (no cross compiler) or qemu-user is missing.
"""
import json
import os
import shutil
import subprocess
import sys
import tarfile

import test_live
import test_snapshot
from test_live import check, running_family, skip

QEMU = {"arm64": "qemu-aarch64-static", "armv7": "qemu-arm-static"}
MACHINE = {"arm64": "aarch64", "armv7": "armv7l"}

# Every view, on the whole snapshot: each must run on each capture.
EVERY_VIEW = [["ps"], ["users"], ["libs"], ["system"], ["tree"], ["groups"], ["shm"],
              ["cgroups"], ["gpu"], ["heaps"], ["oom"]]


def capture(cmd, out):
    r = subprocess.run(cmd + ["--exact", "-o", out], capture_output=True, text=True)
    check(f"{' '.join(os.path.basename(c) for c in cmd)} --exact captures", r.returncode == 0,
          r.stderr)
    return r.returncode == 0


def manifest(path):
    with tarfile.open(path) as t:
        text = t.extractfile("memledger-manifest").read().decode()
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def pids_of(path):
    with tarfile.open(path) as t:
        return {int(n.split("/")[1]) for n in t.getnames()
                if n.startswith("proc/") and n.count("/") == 2 and n.endswith("/status")}


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    memledger, helper, native = (os.path.abspath(a) for a in sys.argv[1:4])
    cross = dict(a.split("=", 1) for a in sys.argv[4:])
    if not cross:
        print("SKIP: no cross-built capture: the cross compilers (gcc-aarch64-linux-gnu, "
              "gcc-arm-linux-gnueabihf) are not installed")
        return 77
    missing = [QEMU[abi] for abi in cross if not shutil.which(QEMU[abi])]
    if missing:
        print(f"SKIP: {', '.join(missing)} not found (Debian's qemu-user-static)")
        return 77
    with running_family(helper, "memledger-cross-") as (family, pids, workdir, swap_on):
        if pids is None:
            print("SKIP: the layout helper's family did not start")
            return 77
        for tries in range(5):
            snaps = {"x86_64": os.path.join(workdir, "x86_64.tar")}
            ok = capture([native], snaps["x86_64"])
            for abi, exe in cross.items():
                snaps[abi] = os.path.join(workdir, f"{abi}.tar")
                ok = capture([QEMU[abi], exe], snaps[abi]) and ok
            if not ok:
                return test_live.finish("cross")
            want = test_snapshot.reports(memledger, pids, source=snaps["x86_64"])
            got = {abi: test_snapshot.reports(memledger, pids, source=snaps[abi])
                   for abi in cross}
            diffs = {abi: test_snapshot.first_difference(want, got[abi]) for abi in cross}
            if not any(diffs.values()):
                break
        else:
            print("note: the family's figures kept moving; comparing the last try")
        for abi in cross:
            m = manifest(snaps[abi])
            check(f"{abi}: the manifest names the machine it ran on",
                  m.get("machine") == MACHINE[abi], m.get("machine"))
            with tarfile.open(snaps[abi]) as t:
                refused = t.extractfile("memledger-unreadable").read().decode()
            check(f"{abi}: attr/current without a security module (EINVAL) is no refusal",
                  not [l for l in refused.splitlines() if "/attr/current E" in l and
                       l.split()[-1] in ("EINVAL", "EOPNOTSUPP")], refused[:300])
            check(f"{abi}: its writer is memledger-capture",
                  m.get("writer", "").startswith("memledger-capture "), m.get("writer"))
            for label in want:
                d = test_snapshot.first_difference(want[label], got[abi][label])
                check(f"{abi}: {label} of the family equals the x86-64 capture's", not d, d)
            a, b = pids_of(snaps["x86_64"]), pids_of(snaps[abi])
            moved = a ^ b
            check(f"{abi}: the family is in both captures", set(pids) <= a & b,
                  str(set(pids) - (a & b)))
            check(f"{abi}: the same processes but those that came or went between "
                  f"({len(moved)} of {len(a)})", len(moved) <= max(3, len(a) // 10),
                  str(sorted(moved)))
            for view in EVERY_VIEW + [["maps", str(pids[0])], ["freed", str(pids[0])]]:
                r = subprocess.run([memledger, *view, "--source", snaps[abi], "-J"],
                                   capture_output=True, text=True)
                good = r.returncode == 0
                if good:
                    try:
                        json.loads(r.stdout)
                    except ValueError as e:
                        good, r.stderr = False, str(e)
                check(f"{abi}: {' '.join(view)} reads the capture", good, r.stderr[-300:])
    return test_live.finish("cross")


if __name__ == "__main__":
    sys.exit(main())
