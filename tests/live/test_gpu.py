#!/usr/bin/env python3
"""GPU memory live, through NVML: memledger loads libnvidia-ml.so.1 with dlopen, and the
test's stand-in (tests/nvml/standin.c, found through LD_LIBRARY_PATH) answers with known
uses by the test's own processes: per-process VRAM in ps, groups and tree, NVIDIA's
devices in `memledger gpu`, a failing library said and left out, no library at all
(the machine's own state) and snapshots left alone. The DRM and dma-buf paths are the
fixtures' (tests/data/gpu-fixtures.py); this machine has no GPU (the test says whether
one is there).

    test_gpu.py MEMLEDGER STANDIN_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

import test_live
from test_live import check

MiB = 1 << 20


def run(memledger, args, env):
    return subprocess.run([memledger, *args], capture_output=True, text=True, env=env)


def main():
    memledger, standin = os.path.realpath(sys.argv[1]), os.path.realpath(sys.argv[2])
    gpus = [d for d in ("/dev/dri", "/dev/accel", "/dev/dma_heap", "/dev/nvidiactl")
            if os.path.exists(d)]
    print(f"gpu: this machine has {', '.join(gpus) if gpus else 'no GPU device'}")
    sleepers = [subprocess.Popen(["sleep", "300"]) for _ in range(3)]
    p1, p2, p3 = (p.pid for p in sleepers)
    spec = (f"0:{p1}:{100 * MiB}:c,0:{p2}:{50 * MiB}:g,0:{p2}:{50 * MiB}:c,"
            f"1:{p2}:{25 * MiB}:c,0:{p3}:na:c,1:999999999:{7 * MiB}:c,"
            + ",".join(f"1:{4000000 + i}:{MiB}:g" for i in range(12)))
    env = dict(os.environ, LD_LIBRARY_PATH=standin, ML_NVML_STANDIN_PROCS=spec)
    bare = {k: v for k, v in os.environ.items() if not k.startswith(("LD_LIBRARY", "ML_NVML"))}
    pids = f"{p1},{p2},{p3}"
    try:
        r = run(memledger, ["-p", pids, "-o", "PID,VRAM,GPU,DMABUF", "-J"], env)
        rows = {p["pid"]: p for p in json.loads(r.stdout)["processes"]} if r.returncode == 0 \
            else {}
        check("ps: exit 0 with NVML", r.returncode == 0, r.stderr)
        check("VRAM: NVML's used memory of a compute context", rows.get(p1, {}).get("vram") ==
              100 * MiB, str(rows.get(p1)))
        check("VRAM: both devices, a context in both lists once",
              rows.get(p2, {}).get("vram") == 75 * MiB, str(rows.get(p2)))
        check("VRAM: NVML cannot tell (MIG, WDDM): unknown, not 0",
              p3 in rows and rows[p3]["vram"] is None, str(rows.get(p3)))
        check("GPU and DMABUF: no DRM fd, no dma-buf: 0",
              all(rows.get(p, {}).get("gpu") == 0 and rows.get(p, {}).get("dmabuf") == 0
                  for p in (p1, p2, p3)), str(rows))
        r = run(memledger, ["gpu", "-J", "-o", "+NAME"], env)
        devs = json.loads(r.stdout)["gpu"] if r.returncode == 0 else []
        nv = {d["device"]: d for d in devs if d.get("driver") == "nvidia"}
        check("gpu: NVIDIA's two devices, by their PCI addresses as sysfs writes them",
              set(nv) == {"0000:65:00.0", "0000:b3:00.0"}, str(list(nv)))
        d0, d1 = nv.get("0000:65:00.0", {}), nv.get("0000:b3:00.0", {})
        check("a device's VRAM: what the device says is used", d0.get("vram") == 1 << 30 and
              d1.get("vram") == 512 * MiB, f"{d0.get('vram')} {d1.get('vram')}")
        check("a device's name", d0.get("name") == "Stand-in GPU 0", str(d0.get("name")))
        kids = {c["pids"]: c for c in d0.get("clients", [])}
        check("device 0: its three processes", set(kids) == {str(p1), str(p2), str(p3)},
              str(list(kids)))
        kids1 = {c["pids"]: c for c in d1.get("clients", [])}
        check("device 1: a process memledger cannot see is listed by NVML's PID, and 12 more "
              "than the first call has room for", len(kids1) == 14 and "999999999" in kids1 and
              kids1["999999999"]["vram"] == 7 * MiB, str(list(kids1))[:300])
        r = run(memledger, ["groups", "--by", "pid", "-o", "NAME,VRAM", "-J"], env)
        groups = {g["name"]: g for g in json.loads(r.stdout)["groups"]} \
            if r.returncode == 0 else {}
        g2 = [g for n, g in groups.items() if n.startswith(f"{p2} ")]
        check("groups: a process's VRAM", g2 and g2[0]["vram"] == 75 * MiB, str(g2))
        r = run(memledger, ["tree", str(os.getpid()), "-o", "PID,VRAM,COMMAND", "-J"], env)
        check("tree: the column reads", r.returncode == 0 and '"vram": 104857600' in r.stdout,
              r.stdout[:300] + r.stderr)
        fail = dict(env, ML_NVML_STANDIN_FAIL="init")
        r = run(memledger, ["gpu"], fail)
        check("a library that fails: said, its devices left out, exit 0", r.returncode == 0 and
              "NVML init: Driver Not Loaded" in r.stderr and "nvidia" not in r.stdout,
              r.stderr + r.stdout)
        r = run(memledger, ["-p", pids, "-o", "PID,VRAM", "-J"], fail)
        check("... and VRAM from DRM alone: 0 here",
              r.returncode == 0 and all(p["vram"] == 0 for p in
                                        json.loads(r.stdout)["processes"]), r.stdout)
        r = run(memledger, ["-p", pids, "-o", "PID,VRAM", "-J"], bare)
        check("without the library: no NVIDIA device, VRAM 0", r.returncode == 0 and
              all(p["vram"] == 0 for p in json.loads(r.stdout)["processes"]), r.stdout)
        with tempfile.TemporaryDirectory(prefix="memledger-gpu-") as tmp:
            snap = os.path.join(tmp, "s.tar")
            r = run(memledger, ["capture", "-o", snap], bare)
            check("capture", r.returncode == 0, r.stderr)
            r = run(memledger, ["--source", snap, "-p", pids, "-o", "PID,VRAM", "-J"], env)
            check("a snapshot: NVML is not asked (it is not the machine's now)",
                  r.returncode == 0 and all(p["vram"] == 0 for p in
                                            json.loads(r.stdout)["processes"]), r.stdout)
        traced = dict(env, ASAN_OPTIONS="detect_leaks=0")  # LeakSanitizer cannot run traced
        r = subprocess.run(["strace", "-f", "-e", "trace=openat", memledger, "-p", pids, "-o",
                            "PID,VRAM,GPU,DMABUF"], capture_output=True, text=True, env=traced) \
            if os.path.exists("/usr/bin/strace") else None
        if r:
            opens = [l for l in r.stderr.splitlines() if "openat(" in l]
            bad = [l for l in opens if "/environ\"" in l or "/mem\"" in l or "O_WRONLY" in l
                   or "O_RDWR" in l]
            check("strace: the GPU columns open fdinfo, no environ, no mem, nothing to write",
                  r.returncode == 0 and not bad and any("\"fd\"" in l
                                                        for l in opens), str(bad)[:300])
    finally:
        for p in sleepers:
            p.kill()
            p.wait()
    return test_live.finish("gpu")


if __name__ == "__main__":
    sys.exit(main())
