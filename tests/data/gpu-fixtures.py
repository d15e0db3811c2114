#!/usr/bin/env python3
"""Lays out the GPU fixture tree (gpu/): processes in proc/ holding DRM clients and
dma-bufs, with fd links, fdinfo and maps as the kernel writes them
(Documentation/gpu/drm-usage-stats.rst, amdgpu.rst, i915/xe/panfrost's keys;
Documentation/filesystems/proc.rst for a dma-buf's fdinfo), and sys/kernel/dmabuf, with
figures chosen so that each case is known:

  300 amdgpu: client 19 alone (vram 21348 KiB, gtt 6540 KiB), client 20 on two fds
      and shared with its child 301 (vram 4096 KiB, gtt 1024 KiB: half each)
  310 i915 (system0 512 KiB, shmem-backed; stolen 0)   320 xe (vram0 24 MiB, gtt 4 MiB)
  330 panfrost, no drm-pdev (memory 16 MiB, 2 MiB purgeable)
  340 dma-bufs: 5001 by fd and mapping (4 MiB + 1 byte, shared with 341: the odd byte is
      340's), 5002 an older kernel's anon_inode:dmabuf (1 MiB), 5003 mapped only (256 KiB)
  350 a DRM fd whose driver reports no usage stats: unknown, not 0
  360 no GPU fd at all: 0
  sys/kernel/dmabuf/buffers: 5001 (held), 5004 and 5005 held by no process (kernel-held)

    cd tests/data && python3 gpu-fixtures.py
"""
import os
import shutil

KiB, MiB = 1 << 10, 1 << 20


def w(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def proc(top, pid, name, ppid, fds, maps="", args="--fixture"):
    d = f"{top}/proc/{pid}"
    os.makedirs(f"{d}/fd", exist_ok=True)
    for f in ("smaps_rollup",):
        shutil.copy(f"proc-basic/100/{f}", f"{d}/{f}")
    status = open("proc-basic/100/status").read()
    status = status.replace("Name:\tsleep", f"Name:\t{name}")
    lines = [l if not l.startswith("PPid:") else f"PPid:\t{ppid}" for l in status.split("\n")]
    lines = [l if not l.startswith("Pid:") else f"Pid:\t{pid}" for l in lines]
    w(f"{d}/status", "\n".join(lines).replace("Name:\t" + lines[0].split("\t")[-1],
                                              f"Name:\t{name}", 1))
    w(f"{d}/cmdline", f"/usr/bin/{name}\0" + "".join(a + "\0" for a in args.split()))
    for fd, (target, info) in fds.items():
        os.symlink(target, f"{d}/fd/{fd}")
        w(f"{d}/fdinfo/{fd}", f"pos:\t0\nflags:\t02100002\nmnt_id:\t24\n{info}")
    lines = ("55d0c0000000-55d0c0021000 r-xp 00000000 08:01 1311 /usr/bin/" + name + "\n" +
             maps + "7ffd1c000000-7ffd1c021000 rw-p 00000000 00:00 0 [stack]\n")
    w(f"{d}/maps", lines)
    # smaps, as a capture reads the mappings (its dma-bufs) from it
    smaps = ""
    for line in lines.splitlines():
        start, end = (int(x, 16) for x in line.split()[0].split("-"))
        smaps += (f"{line}\nSize: {(end - start) // 1024} kB\nRss: 0 kB\nPss: 0 kB\n"
                  "Shared_Clean: 0 kB\nShared_Dirty: 0 kB\nPrivate_Clean: 0 kB\n"
                  "Private_Dirty: 0 kB\nSwap: 0 kB\nSwapPss: 0 kB\nVmFlags: rd mr mw me\n")
    w(f"{d}/smaps", smaps)


def amdgpu(cid, vram, gtt, shared_vram=0):
    return (f"ino:\t{1200 + cid}\ndrm-driver:\tamdgpu\ndrm-client-id:\t{cid}\n"
            "drm-pdev:\t0000:0a:00.0\ndrm-total-cpu:\t0 KiB\ndrm-shared-cpu:\t0 KiB\n"
            "drm-active-cpu:\t0 KiB\ndrm-resident-cpu:\t0 KiB\ndrm-purgeable-cpu:\t0 KiB\n"
            f"drm-total-gtt:\t{gtt} KiB\ndrm-shared-gtt:\t0 KiB\ndrm-active-gtt:\t0 KiB\n"
            f"drm-resident-gtt:\t{gtt} KiB\ndrm-purgeable-gtt:\t0 KiB\n"
            f"drm-total-vram:\t{vram} KiB\ndrm-shared-vram:\t{shared_vram} KiB\n"
            f"drm-active-vram:\t0 KiB\ndrm-resident-vram:\t{vram} KiB\n"
            f"drm-purgeable-vram:\t0 KiB\ndrm-memory-vram:\t{vram} KiB\n"
            f"drm-memory-gtt:\t{gtt} KiB\ndrm-memory-cpu:\t0 KiB\n"
            f"amd-evicted-vram:\t0 KiB\namd-requested-vram:\t{vram} KiB\n"
            f"amd-requested-gtt:\t{gtt} KiB\ndrm-engine-gfx:\t2114524 ns\n")


def dmabuf(ino, size, exporter, count=1):
    return (f"ino:\t{ino}\nsize:\t{size}\ncount:\t{count}\nexp_name:\t{exporter}\n"
            "name:\tfixture\n")


def main():
    top = "gpu"
    shutil.rmtree(top, ignore_errors=True)
    c19, c20 = amdgpu(19, 21348, 6540, 2048), amdgpu(20, 4096, 1024)
    proc(top, 300, "gnome-shell", 1, {10: ("/dev/dri/card0", c19),
                                      11: ("/dev/dri/renderD128", c20),
                                      12: ("/dev/dri/renderD128", c20),
                                      0: ("/dev/null", "ino:\t5\n")})
    proc(top, 301, "gnome-shell-helper", 300, {11: ("/dev/dri/renderD128", c20)})
    proc(top, 310, "glxgears", 1, args="--type=gpu-process --fixture", fds={4: ("/dev/dri/renderD129",
        "ino:\t1310\ndrm-driver:\ti915\ndrm-pdev:\t0000:00:02.0\ndrm-client-id:\t7\n"
        "drm-total-system0:\t512 KiB\ndrm-shared-system0:\t128 KiB\n"
        "drm-resident-system0:\t512 KiB\ndrm-purgeable-system0:\t0\n"
        "drm-active-system0:\t64 KiB\ndrm-total-stolen-system0:\t0\n"
        "drm-resident-stolen-system0:\t0\ndrm-engine-render:\t25662044495 ns\n"
        "drm-total-cycles-rcs:\t28257900\n")})
    proc(top, 320, "xe-compute", 1, {5: ("/dev/dri/renderD130",
        "ino:\t1320\ndrm-driver:\txe\ndrm-pdev:\t0000:03:00.0\ndrm-client-id:\t3\n"
        "drm-total-vram0:\t24 MiB\ndrm-shared-vram0:\t0\ndrm-resident-vram0:\t24 MiB\n"
        "drm-total-gtt:\t4 MiB\ndrm-shared-gtt:\t0\ndrm-resident-gtt:\t4 MiB\n"
        "drm-active-gtt:\t1 MiB\ndrm-cycles-rcs:\t28257900\ndrm-total-cycles-rcs:\t7655183225\n")})
    proc(top, 330, "panfrost-app", 1, {6: ("/dev/dri/renderD128",
        "ino:\t1330\ndrm-driver:\tpanfrost\ndrm-client-id:\t18\n"
        "drm-engine-fragment:\t1846584880 ns\ndrm-cycles-fragment:\t1424359409\n"
        "drm-maxfreq-fragment:\t799999987 Hz\ndrm-curfreq-fragment:\t799999987 Hz\n"
        "drm-total-memory:\t16 MiB\ndrm-shared-memory:\t0\ndrm-active-memory:\t0\n"
        "drm-resident-memory:\t16 MiB\ndrm-purgeable-memory:\t2 MiB\n")})
    size5001 = 4 * MiB + 1
    proc(top, 340, "camera-hal", 1,
         {20: ("/dmabuf:camera", dmabuf(5001, size5001, "system-heap", 3)),
          21: ("anon_inode:dmabuf", dmabuf(5002, 1 * MiB, "i915"))},
         maps="7f3a00000000-7f3a00401000 rw-s 00000000 00:0d 5001 /dmabuf:camera\n"
              "7f3a01000000-7f3a01040000 rw-s 00000000 00:0d 5003 /dmabuf:\n")
    proc(top, 341, "surfaceflinger", 1,
         {5: ("/dmabuf:camera", dmabuf(5001, size5001, "system-heap", 3)),
          6: ("pipe:[4242]", "ino:\t4242\n")})
    proc(top, 350, "old-xorg", 1, {3: ("/dev/dri/card1", "ino:\t1350\n")})
    proc(top, 360, "sleeper", 1, {0: ("/dev/null", "ino:\t5\n"),
                                  1: ("socket:[777]", "ino:\t777\n")})
    bufs = f"{top}/sys/kernel/dmabuf/buffers"
    for ino, size, exporter in ((5001, size5001, "system-heap"), (5004, 8 * MiB, "system-heap"),
                                (5005, 64 * KiB, "qcom,system")):
        w(f"{bufs}/{ino}/size", f"{size}\n")
        w(f"{bufs}/{ino}/exporter_name", f"{exporter}\n")
    w(f"{top}/sys/class/drm/renderD128/dev", "226:128\n")
    shutil.copy("system-a/proc/meminfo", f"{top}/proc/meminfo")


main()
