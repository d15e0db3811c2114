#!/usr/bin/env python3
"""Writes tests/data/android-shell: a snapshot, extracted, as memledger-capture writes it
when run as Android's shell user on an unrooted phone (adb shell): every process listed,
its status, stat, cmdline, cgroup, oom_score_adj and SELinux context readable, but the
smaps, smaps_rollup, exe and fds of every process not the shell's own refused (the
kernel's ptrace check), and the refusals in memledger-unreadable; the manifest says uid
2000, user shell, context u:r:shell:s0, android: 14.

    android-fixtures.py            (rewrites the tree beside this script)

The apps are zygote64's children named by package, each in an lmkd bucket by its
oom_score_adj; the shell's own processes (adbd, sh, logcat) are read whole.
"""
import importlib.util
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "android-shell")
spec = importlib.util.spec_from_file_location("cat", os.path.join(HERE, "categories-fixtures.py"))
cat = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cat)

SHELL = 2000

# pid: (comm, cmdline, uid, ppid, oom_score_adj, context, rss_kb, swap_kb)
PROCESSES = {
    1: ("init", "/system/bin/init\0second_stage", 0, 0, -1000, "u:r:init:s0", 3200, 0),
    600: ("zygote64", "zygote64", 0, 1, -1000, "u:r:zygote:s0", 98000, 1200),
    650: ("surfaceflinger", "/system/bin/surfaceflinger", 1000, 1, -1000,
          "u:r:surfaceflinger:s0", 41000, 800),
    700: ("adbd", "/apex/com.android.adbd/bin/adbd\0--root_seclabel=u:r:su:s0", SHELL, 1,
          -1000, "u:r:adbd:s0", None, 0),
    701: ("sh", "/system/bin/sh", SHELL, 700, -1000, "u:r:shell:s0", None, 0),
    710: ("logcat", "logcat\0-v\0time", SHELL, 701, -1000, "u:r:shell:s0", None, 0),
    800: ("system_server", "system_server", 1000, 600, -900, "u:r:system_server:s0", 310000,
          42000),
    801: ("ndroid.systemui", "com.android.systemui", 10150, 600, -800,
          "u:r:platform_app:s0:c512,c768", 190000, 21000),
    802: ("s.nexuslauncher", "com.google.android.apps.nexuslauncher", 10160, 600, 600,
          "u:r:platform_app:s0:c512,c768", 160000, 30000),
    803: ("android.chrome", "com.android.chrome", 10170, 600, 0,
          "u:r:untrusted_app:s0:c170,c256,c512,c768", 240000, 12000),
    804: ("ocessService0:0",
          "com.android.chrome:sandboxed_process0:org.chromium.content.app."
          "SandboxedProcessService0:0", 99000, 600, 100, "u:r:isolated_app:s0:c512,c768",
          120000, 6000),
    805: ("gms.persistent", "com.google.android.gms.persistent", 10140, 600, 100,
          "u:r:gmscore_app:s0:c512,c768", 150000, 20000),
    806: ("spotify.music", "com.spotify.music", 10200, 600, 200,
          "u:r:untrusted_app:s0:c200,c256,c512,c768", 180000, 25000),
    807: ("droid.gms", "com.google.android.gms", 10140, 600, 500,
          "u:r:gmscore_app:s0:c512,c768", 130000, 40000),
    808: ("ndroid.vending", "com.android.vending", 10120, 600, 905,
          "u:r:priv_app:s0:c512,c768", 90000, 60000),
    809: ("spotify.music", "com.spotify.music:remote", 10200, 600, 905,
          "u:r:untrusted_app:s0:c200,c256,c512,c768", 40000, 9000),
}

# The shell's own processes, read whole: their smaps.
SMAPS = {
    700: cat.elf("/apex/com.android.adbd/bin/adbd", 40) + [
        0x7000000000,
        (2048, "rw-p", {"name": "[anon:scudo:primary]", "rss": 1200}),
        (512, "rw-p", {"name": "[anon:stack_and_tls:701]", "rss": 32}),
        0x7ffff0000000,
        (132, "rw-p", {"name": "[stack]", "rss": 16})],
    701: cat.elf("/system/bin/sh", 41) + [
        0x7000000000,
        (256, "rw-p", {"name": "[anon:scudo:primary]", "rss": 96}),
        0x7ffff0000000,
        (132, "rw-p", {"name": "[stack]", "rss": 12})],
    710: cat.elf("/system/bin/logcat", 42) + [
        0x7000000000,
        (1024, "rw-p", {"name": "[anon:scudo:primary]", "rss": 640}),
        (256, "rw-p", {"name": "[anon:scudo:secondary]", "rss": 128}),
        0x7ffff0000000,
        (132, "rw-p", {"name": "[stack]", "rss": 12})],
}

MANIFEST = """memledger-snapshot: 4
writer: memledger-capture 0.1.0
kernel: 5.10.198-android13-4-00050-g12f3388846c3 #1 SMP PREEMPT Mon Oct 2 2023
machine: aarch64
hostname: localhost
time: 2026-12-01T10:00:00Z
epoch: 1796119200.000
capture-pid: 900
uid: 2000
page-size: 4096
exact: no
redacted: no
android: 14 (sdk 34)
device: Pixel 7
user: shell
context: u:r:shell:s0
"""


def status(pid, comm, uid, ppid, rss_kb, swap_kb):
    anon, shmem = rss_kb * 3 // 5, min(1024, rss_kb // 10)
    return (f"Name:\t{comm}\nUmask:\t0077\nState:\tS (sleeping)\nTgid:\t{pid}\nNgid:\t0\n"
            f"Pid:\t{pid}\nPPid:\t{ppid}\nTracerPid:\t0\n"
            f"Uid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t{uid}\t{uid}\t{uid}\t{uid}\n"
            f"VmPeak:\t{rss_kb * 40:8} kB\nVmSize:\t{rss_kb * 40:8} kB\n"
            f"VmRSS:\t{rss_kb:8} kB\nRssAnon:\t{anon:8} kB\n"
            f"RssFile:\t{rss_kb - anon - shmem:8} kB\nRssShmem:\t{shmem:8} kB\n"
            f"VmSwap:\t{swap_kb:8} kB\nVmPTE:\t{rss_kb // 100:8} kB\nThreads:\t20\n")


def stat(pid, comm, ppid, rss_kb):
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
    # utime stime cutime cstime priority nice threads itrealvalue starttime vsize rss ...
    # rsslim startcode endcode startstack ...: the argument area (arg_start arg_end) is
    # fields 48 and 49, 0 here: the command line is taken whole
    rest = " ".join(["0"] * 28)
    return f"{pid} ({comm}) S {ppid} {ppid} {ppid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 20 0 " \
           f"{1000 + pid} {rss_kb * 40 * 1024} {rss_kb // 4} {rest}\n"


def write(path, text, mode="w"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(text)


def rollup(smaps):
    """smaps_rollup of a process whose smaps is smaps: its fields summed."""
    sums, order = {}, []
    for line in smaps.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == "kB" and parts[0].endswith(":"):
            key = parts[0][:-1]
            if key in ("Size", "KernelPageSize", "MMUPageSize"):
                continue
            if key not in sums:
                order.append(key)
            sums[key] = sums.get(key, 0) + int(parts[1])
    lines = ["00400000-7ffff0021000 ---p 00000000 00:00 0                          [rollup]"]
    lines += [f"{k + ':':<16}{sums[k]:>8} kB" for k in order]
    return "\n".join(lines) + "\n"


def main():
    if os.path.exists(ROOT):
        shutil.rmtree(ROOT)
    proc = os.path.join(ROOT, "proc")
    refused = []
    for pid, (comm, cmdline, uid, ppid, adj, context, rss, swap) in PROCESSES.items():
        d = os.path.join(proc, str(pid))
        smaps = cat.layout(SMAPS[pid]) if pid in SMAPS else None
        if smaps:
            rss = sum(int(l.split()[1]) for l in smaps.splitlines() if l.startswith("Rss:"))
            write(os.path.join(d, "smaps"), smaps)
            write(os.path.join(d, "smaps_rollup"), rollup(smaps))
            write(os.path.join(d, "memledger.fds"), "")  # an archive's record of its fds
            write(os.path.join(d, "fd", ".keep"), "")    # a directory's: none open
            write(os.path.join(d, "memledger.map_files"), "")
            os.symlink(cmdline.split("\0")[0], os.path.join(d, "exe"))
        else:
            refused += [f"proc/{pid}/{f} EACCES" for f in
                        ("smaps_rollup", "smaps", "exe", "memledger.fds")]
        write(os.path.join(d, "status"), status(pid, comm, uid, ppid, rss, swap))
        write(os.path.join(d, "stat"), stat(pid, comm, ppid, rss))
        write(os.path.join(d, "comm"), comm + "\n")
        write(os.path.join(d, "cmdline"), cmdline + "\0")
        write(os.path.join(d, "cgroup"), "0::/uid_%d/pid_%d\n" % (uid, pid))
        write(os.path.join(d, "oom_score_adj"), f"{adj}\n")
        write(os.path.join(d, "oom_score"), f"{max(0, adj + 1000) * 2 // 3}\n")
        write(os.path.join(d, "attr", "current"), context + "\0")
    write(os.path.join(proc, "meminfo"),
          "MemTotal:        7823456 kB\nMemFree:          312004 kB\n"
          "MemAvailable:    2950112 kB\nBuffers:            4096 kB\n"
          "Cached:          2693400 kB\nSwapCached:        41020 kB\n"
          "Active:          2460000 kB\nInactive:        2100000 kB\n"
          "Shmem:             61000 kB\nKReclaimable:     170480 kB\n"
          "Slab:             402000 kB\nSReclaimable:     150000 kB\n"
          "SUnreclaim:       252000 kB\nKernelStack:       61000 kB\n"
          "PageTables:       110000 kB\nSwapTotal:       6291452 kB\n"
          "SwapFree:        4391452 kB\nCommitLimit:    10203180 kB\n"
          "AnonPages:       2300000 kB\n"
          "Mapped:          1200000 kB\nCommitted_AS:  140000000 kB\n"
          "VmallocUsed:       98000 kB\nZswap:                 0 kB\n"
          "Zswapped:              0 kB\n")
    write(os.path.join(proc, "swaps"),
          "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
          "/dev/block/zram0                        partition\t6291452\t\t1900000\t\t-2\n")
    write(os.path.join(proc, "uptime"), "86400.00 300000.00\n")
    sysdir = os.path.join(ROOT, "sys")
    # 1,900,000 KiB swapped, held in 620 MiB: zram's own account (mm_stat)
    write(os.path.join(sysdir, "block", "zram0", "mm_stat"),
          f"{1900000 * 1024:>12} {600 << 20:>11} {620 << 20:>11}        0 {700 << 20:>11}"
          "     1200     4000        0        0\n")
    write(os.path.join(sysdir, "block", "zram0", "disksize"), f"{6291452 * 1024}\n")
    write(os.path.join(sysdir, "block", "zram0", "backing_dev"), "none\n")
    write(os.path.join(sysdir, "kernel", "dma_heap", "total_pools_kb"), "20480\n")
    write(os.path.join(ROOT, "memledger-manifest"), MANIFEST)
    write(os.path.join(ROOT, "memledger-unreadable"), "\n".join(refused) + "\n")


if __name__ == "__main__":
    main()
