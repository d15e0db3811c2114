#!/usr/bin/env python3
"""memledger's categories on a real Android smaps (../shared's AOSP libmeminfo capture of
system_server, 2,760 mappings) against Android's own rules (android_meminfo.py, written
from android_os_Debug.cpp): every mapping is booked where dumpsys meminfo books it, or in
one of the finer places listed below, and every row's Pss, Private_Dirty, Private_Clean
and SwapPss are Android's to the byte.

    test_android_heaps.py MEMLEDGER SHARED_DIR       exits 77 (SKIP) without the capture
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import android_meminfo

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "live"))
from test_live import check, finish  # noqa: E402

FIGURES = ("pss", "private_dirty", "private_clean", "swap_pss")
# Where memledger books each of dumpsys's rows: the first is the row itself; the others
# are where memledger tells more than Android does (each says why).
ALLOWED = {
    "Native Heap": [("Native Heap", h) for h in ("libc_malloc", "brk", "scudo", "gwp-asan")],
    "Dalvik Heap": [("Managed Heap", "dalvik")],
    "Dalvik Other": [("Managed Heap", "dalvik-other")],
    "Stack": [("Stack", "main"), ("Stack", "thread")],
    "Cursor": [("Shared Memory", "cursor-window")],
    "Ashmem": [("Shared Memory", "ashmem")],
    "Gfx dev": [("Graphics", "kgsl")],
    "Other dev": [("Mapped Files", "device"), ("Graphics", "gpu"), ("Graphics", "dma-buf")],
    ".so mmap": [("Code", ".so"), ("Code", "bss"),
                 ("Code", "jit"),  # anonymous and executable, next to a library: code
                 ("Reserved", "guard"), ("Reserved", "untouched")],  # bss holding nothing
    ".jar mmap": [("Mapped Files", ".jar")],
    ".apk mmap": [("Mapped Files", ".apk")],
    ".ttf mmap": [("Mapped Files", ".ttf")],
    ".dex mmap": [("Code", ".dex"), ("Code", ".vdex")],
    ".oat mmap": [("Code", ".oat")],
    ".art mmap": [("Code", ".art")],
    "Other mmap": [("Mapped Files", "file"), ("Mapped Files", ".pak"),
                   ("Code", "elf"),              # an executable's ELF (linker64, app_process64)
                   ("Code", "vdso"),             # [vdso]: the kernel's code
                   ("Other Anon", "kernel"),     # [vvar]
                   ("Shared Memory", "memfd")],  # /memfd:NAME, shared memory
    "Unknown": [("Other Anon", "named"), ("Other Anon", "anon"),
                ("Reserved", "guard"), ("Reserved", "untouched"),  # address space only
                ("Stack", "thread"),  # ART's thread stacks: unnamed, above their guard page
                ("Code", "jit"),      # anonymous executable memory
                ("Code", "bss")],     # the bss after an executable (Android: after a .so)
}
# dumpsys's rows that are one of memledger's (class, heap) rows, or a class, exactly.
SAME = {"Native Heap": [("Native Heap", None)],
        "Dalvik Heap": [("Managed Heap", "dalvik")],
        "Dalvik Other": [("Managed Heap", "dalvik-other")],
        ".dex mmap": [("Code", ".dex"), ("Code", ".vdex")],
        ".oat mmap": [("Code", ".oat")], ".art mmap": [("Code", ".art")],
        ".jar mmap": [("Mapped Files", ".jar")], ".apk mmap": [("Mapped Files", ".apk")],
        ".ttf mmap": [("Mapped Files", ".ttf")], "Ashmem": [("Shared Memory", "ashmem")]}

def memledger_json(memledger, tree, *args):
    r = subprocess.run([memledger, "--source", tree, *args, "-J", "-b"], capture_output=True,
                       text=True)
    check(f"memledger {' '.join(args)}: exit 0", r.returncode == 0, r.stderr)
    return json.loads(r.stdout or "{}")


def main():
    memledger, shared = os.path.realpath(sys.argv[1]), sys.argv[2]
    aosp = os.path.join(shared, "fixtures", "aosp-libmeminfo", "testdata1")
    if not os.path.exists(os.path.join(aosp, "smaps")):
        print(f"SKIP: {aosp}/smaps is missing: no Android capture to compare with")
        return 77
    tree = tempfile.mkdtemp(prefix="memledger-android-")
    try:
        os.makedirs(os.path.join(tree, "1791"))
        for f in ("smaps", "status"):
            shutil.copy(os.path.join(aosp, f), os.path.join(tree, "1791", f))
        android = android_meminfo.read(os.path.join(aosp, "smaps"))
        maps = memledger_json(memledger, tree, "maps", "1791", "-o",
                              "START,CATEGORY,HEAP,RULE")["processes"][0]["mappings"]
        heaps = memledger_json(memledger, tree, "heaps")["processes"][0]
        merged = memledger_json(memledger, tree, "maps", "--by", "category", "1791",
                                "-o", "CATEGORY,HEAP,PSS,SWAPPSS")["processes"][0]["mappings"]
    finally:
        shutil.rmtree(tree)

    check("every mapping, once", len(maps) == len(android["mappings"]),
          f"{len(maps)} {len(android['mappings'])}")
    finer = {}
    by_class = {}
    for m in maps:
        a = android["mappings"].get(m["start"].lstrip("0") or "0")
        if a is None:
            check(f"mapping {m['start']} is Android's", False)
            continue
        place = (m["category"], m["heap"])
        check(f"{m['start']}: booked where dumpsys books {a['row']}, or finer",
              place in ALLOWED[a["row"]], str(place))
        if place != ALLOWED[a["row"]][0]:
            finer.setdefault((a["row"], place), 0)
            finer[(a["row"], place)] += a["pss"]
        c = by_class.setdefault(m["category"], dict.fromkeys(FIGURES, 0))
        for f in FIGURES:
            c[f] += a[f]
    for (row, place), pss in sorted(finer.items()):
        print(f"dumpsys {row:12} -> memledger {place[0]}/{place[1]}: {pss // 1024} KiB PSS")

    names = {"privdirty": "private_dirty", "privclean": "private_clean", "swappss": "swap_pss",
             "pss": "pss"}
    classes = {c["name"]: c for c in heaps["classes"]}
    for name, c in sorted(by_class.items()):
        if not any(c.values()):
            continue  # a class that holds nothing has no row
        got = {names[k]: classes.get(name, {}).get(k) for k in names}
        check(f"heaps: {name}'s figures are Android's parse of its mappings", got == c,
              f"{got} {c}")
    rows = {(r["category"], r["heap"]): r for r in merged}
    for row, places in SAME.items():
        want = {f: v for f, v in android["rows"].get(row, {}).items() if f in FIGURES}
        want = {f: want.get(f, 0) for f in FIGURES}
        if places[0][1] is None:  # a whole class
            got = {names[k]: classes.get(places[0][0], {}).get(k, 0) for k in names}
            check(f"dumpsys's {row} is memledger's {places[0][0]}", got == want, f"{got} {want}")
            print(f"{row}: PSS {want['pss'] // 1024} KiB, private dirty "
                  f"{want['private_dirty'] // 1024} KiB, both")
            continue
        got = sum(rows.get(p, {}).get("pss", 0) for p in places)
        swap = sum(rows.get(p, {}).get("swappss", 0) for p in places)
        check(f"dumpsys's {row} PSS is memledger's {places}", got == want["pss"],
              f"{got} {want['pss']}")
        check(f"dumpsys's {row} SwapPss is memledger's {places}", swap == want["swap_pss"],
              f"{swap} {want['swap_pss']}")
    return finish("android heaps")


if __name__ == "__main__":
    sys.exit(main())
