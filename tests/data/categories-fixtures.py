#!/usr/bin/env python3
"""Writes tests/data/proc-categories: a tree laid out as /proc (and /sys beside it) whose
processes carry every rulebook's names and every shape memledger categorises by, with
known figures; and a zram swap area whose ratio (mm_stat) is 1/4.

    categories-fixtures.py            (rewrites the tree beside this script)

Process 500 (named): glibc's decorate_maps names, Go's, Chromium's, jemalloc's, Android's,
  a DRM device and a dma-buf, an ELF executable and library with their bss, JIT code.
Process 501 (shaped): a glibc arena, 3 thread stacks under their guard for 4 threads.
Process 502 (doubtful): 3 stack-shaped regions but 2 threads: none can be told a stack.
Process 503 (swapped): 1 MiB of anonymous memory in zram (SwapPss 1024 kB).
Process 504 (renderer): Chromium's unnamed heaps as a renderer lays them out: a
  PartitionAlloc super page (its metadata page at 8 KiB, a slot span from 16 KiB), a
  direct map in a pool whose metadata lives apart (V8's sandbox), V8's pointer cage (its
  read-only space at a 4 GiB boundary, a heap page at 256 KiB), and anonymous memory
  in none of them.
"""
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "proc-categories")
KiB = 1024


def mapping(start, size_kb, perms, name="", rss=None, offset=0, inode=0, dev="00:00",
            swap=0, dirty=True):
    """One smaps entry: rss kB resident (private; dirty or clean), swap kB swapped."""
    rss = size_kb if rss is None else rss
    end = start + size_kb * KiB
    anon = rss if inode == 0 or perms[1] == "w" else 0
    line = f"{start:08x}-{end:08x} {perms} {offset:08x} {dev} {inode}"
    line = f"{line:<73}{name}".rstrip() if name else line
    flags = ["rd" if perms[0] == "r" else "", "wr" if perms[1] == "w" else "",
             "ex" if perms[2] == "x" else "", "mr", "mw", "me",
             "ac" if perms[1] == "w" and perms[3] == "p" else ""]
    fields = [("Size", size_kb), ("KernelPageSize", 4), ("MMUPageSize", 4), ("Rss", rss),
              ("Pss", rss), ("Pss_Dirty", rss if dirty else 0), ("Shared_Clean", 0),
              ("Shared_Dirty", 0), ("Private_Clean", 0 if dirty else rss),
              ("Private_Dirty", rss if dirty else 0), ("Referenced", rss),
              ("Anonymous", anon), ("KSM", 0), ("LazyFree", 0), ("AnonHugePages", 0),
              ("ShmemPmdMapped", 0), ("FilePmdMapped", 0), ("Shared_Hugetlb", 0),
              ("Private_Hugetlb", 0), ("Swap", swap), ("SwapPss", swap), ("Locked", 0)]
    out = [line] + [f"{k + ':':<16}{v:>8} kB" for k, v in fields]
    out += ["THPeligible:           0", "VmFlags: " + " ".join(f for f in flags if f) + " "]
    return "\n".join(out) + "\n", end


def layout(entries):
    """smaps from (gap_kb_before, size_kb, perms, kwargs) entries laid out upward."""
    text, at = "", 0x400000
    for e in entries:
        if isinstance(e, int):  # an absolute address to go on from
            at = e
            continue
        size, perms, kw = e[0], e[1], e[2] if len(e) > 2 else {}
        m, at = mapping(at, size, perms, **kw)
        text += m
    return text


def elf(path, inode, data_rss=8):
    """An ELF object as ld.so maps it: header, text, rodata, relro, data, then its bss."""
    f = {"name": path, "inode": inode, "dev": "fe:00", "dirty": False}
    return [(4, "r--p", f), (64, "r-xp", dict(f, offset=0x1000)),
            (16, "r--p", dict(f, offset=0x11000, rss=8)),
            (4, "r--p", dict(f, offset=0x15000, dirty=True)),
            (8, "rw-p", dict(f, offset=0x16000, rss=data_rss, dirty=True)),
            (12, "rw-p", {"rss": 4})]  # the bss: anonymous, right after


PROCESSES = {
    500: ("named", 6, elf("/usr/bin/named", 10) + [
        (132, "rw-p", {"name": "[heap]", "rss": 40}),
        0x7f0000000000,
        (1024, "rw-p", {"name": "[anon: glibc: malloc arena]", "rss": 512}),
        (256, "rw-p", {"name": "[anon: glibc: malloc]", "rss": 256}),
        (4, "---p", {"name": "[anon: glibc: pthread stack guard]", "rss": 0}),
        (512, "rw-p", {"name": "[anon: glibc: pthread stack: 501]", "rss": 64}),
        (64, "rw-p", {"name": "[anon: glibc: loader malloc]", "rss": 16}),
        (4096, "rw-p", {"name": "[anon: Go: heap]", "rss": 2048}),
        (128, "rw-p", {"name": "[anon: Go: page alloc index]", "rss": 32}),
        (2048, "rw-p", {"name": "[anon:partition_alloc]", "rss": 1024}),
        (2048, "rw-p", {"name": "[anon:v8]", "rss": 768}),
        (512, "rw-p", {"name": "[anon:blink_gc]", "rss": 128}),
        (1024, "rw-p", {"name": "[anon:jemalloc]", "rss": 300}),
        (2048, "rw-p", {"name": "[anon:dalvik-main space (region space)]", "rss": 900}),
        (1024, "rw-p", {"name": "[anon:dalvik-LinearAlloc]", "rss": 100}),
        (512, "rw-p", {"name": "[anon:libc_malloc]", "rss": 200}),
        (256, "rw-p", {"name": "[anon:scudo:primary]", "rss": 60}),
        (128, "rw-p", {"name": "[anon:stack_and_tls:502]", "rss": 24}),
        (64, "rw-p", {"name": "[anon:some library's name]", "rss": 8}),
        (1024, "rw-s", {"name": "/dev/dri/renderD128", "inode": 300, "dev": "00:05"}),
        (512, "rw-s", {"name": "/dmabuf:gralloc (deleted)", "inode": 301, "dev": "00:08"}),
        (256, "rw-s", {"name": "/dev/ashmem/CursorWindow (deleted)", "inode": 302,
                       "dev": "00:01"}),
        (64, "rwxp", {"rss": 64}),  # JIT code
        (100, "r--p", {"name": "/usr/share/fonts/a.ttf", "inode": 11, "dev": "fe:00",
                       "rss": 20, "dirty": False}),
        (300, "r--p", {"name": "/opt/app/resources.pak", "inode": 12, "dev": "fe:00",
                       "rss": 40, "dirty": False}),
    ] + elf("/usr/lib/libz.so.1.2.13", 13) + [
        0x7ffff0000000,
        (132, "rw-p", {"name": "[stack]", "rss": 16}),
    ]),
    501: ("shaped", 4, elf("/usr/bin/shaped", 20) + [
        (132, "rw-p", {"name": "[heap]", "rss": 12}),
        0x7f1000000000,  # a glibc arena: 64 MiB aligned, its tail making 64 MiB
        (2048, "rw-p", {"rss": 1500}),
        (62 * 1024, "---p", {"rss": 0}),
        (4, "---p", {"rss": 0}), (1020, "rw-p", {"rss": 64}),   # a thread's stack
        (4, "---p", {"rss": 0}), (1020, "rw-p", {"rss": 128}),
        (4, "---p", {"rss": 0}), (1020, "rw-p", {"rss": 32}),
        (512, "rw-p", {"rss": 0}),                             # never touched
        0x7ffff0000000,
        (132, "rw-p", {"name": "[stack]", "rss": 12}),
    ]),
    502: ("doubtful", 2, elf("/usr/bin/doubtful", 30) + [
        0x7f2000000000,
        (4, "---p", {"rss": 0}), (508, "rw-p", {"rss": 16}),
        (4, "---p", {"rss": 0}), (508, "rw-p", {"rss": 16}),
        (4, "---p", {"rss": 0}), (508, "rw-p", {"rss": 16}),
        0x7ffff0000000,
        (132, "rw-p", {"name": "[stack]", "rss": 12}),
    ]),
    504: ("renderer", 10, elf("/usr/lib/chromium/chromium", 50) + [
        0x3b5800000000,  # a super page of a PartitionAlloc pool
        (8, "---p", {"rss": 0}),
        (4, "rw-p", {"rss": 4}),                 # its metadata
        (4, "---p", {"rss": 0}),
        (256, "rw-p", {"rss": 200}),             # a slot span
        (2048 - 272, "---p", {"rss": 0}),
        (16, "---p", {"rss": 0}),                # the next super page: no metadata mapped
        (8192, "rw-p", {"rss": 8192}),           # a direct map (an 8 MiB ArrayBuffer)
        0x24a900000000,  # V8's pointer cage
        (64, "r--p", {"rss": 28}),               # its read-only space
        (192, "---p", {"rss": 0}),
        (256, "rw-p", {"rss": 256}),             # a heap page
        (1028, "---p", {"rss": 0}),
        (100, "rw-p", {"rss": 80}),              # not at a page boundary: not V8's
        0x7f5000000000,
        (1024, "rw-p", {"rss": 512}),            # plain anonymous memory
        0x7ffff0000000,
        (132, "rw-p", {"name": "[stack]", "rss": 12}),
    ]),
    503: ("swapped", 1, elf("/usr/bin/swapped", 40) + [
        0x7f3000000000,
        (2048, "rw-p", {"rss": 1024, "swap": 1024}),
        0x7ffff0000000,
        (132, "rw-p", {"name": "[stack]", "rss": 12}),
    ]),
}


def status(pid, name, threads, smaps):
    return (f"Name:\t{name}\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t{pid}\nPid:\t{pid}\n"
            f"PPid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nVmSize:\t  10000 kB\n"
            f"VmRSS:\t   5000 kB\nRssAnon:\t   3000 kB\nRssFile:\t   2000 kB\n"
            f"RssShmem:\t      0 kB\nVmSwap:\t      0 kB\nVmPTE:\t     40 kB\n"
            f"Threads:\t{threads}\n")


def main():
    if os.path.exists(ROOT):
        shutil.rmtree(ROOT)
    proc = os.path.join(ROOT, "proc")
    for pid, (name, threads, entries) in PROCESSES.items():
        d = os.path.join(proc, str(pid))
        os.makedirs(d)
        smaps = layout(entries)
        with open(os.path.join(d, "smaps"), "w") as f:
            f.write(smaps)
        with open(os.path.join(d, "status"), "w") as f:
            f.write(status(pid, name, threads, smaps))
        with open(os.path.join(d, "cmdline"), "wb") as f:
            f.write(f"/usr/bin/{name}\0--test\0".encode())
    with open(os.path.join(proc, "meminfo"), "w") as f:
        f.write("MemTotal:        4000000 kB\nMemFree:         1000000 kB\n"
                "MemAvailable:    2000000 kB\nSwapTotal:        262140 kB\n"
                "SwapFree:         258044 kB\nZswap:                 0 kB\n"
                "Zswapped:              0 kB\n")
    with open(os.path.join(proc, "swaps"), "w") as f:
        f.write("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
                "/dev/zram0                              partition\t262140\t\t4096\t\t100\n")
    zram = os.path.join(ROOT, "sys", "block", "zram0")
    os.makedirs(zram)
    with open(os.path.join(zram, "mm_stat"), "w") as f:
        # orig_data_size 4 MiB, compressed 900 KiB, mem_used_total 1 MiB: a ratio of 1/4
        f.write(f"{4 << 20:>12} {900 << 10:>11} {1 << 20:>11}        0 {1 << 20:>11}"
                "        0        0        0        0\n")


if __name__ == "__main__":
    main()
