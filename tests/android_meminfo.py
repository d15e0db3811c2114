#!/usr/bin/env python3
"""Android's own rules for an smaps file, written from android_os_Debug.cpp (frameworks/
base, core/jni: the load_maps that dumpsys meminfo's rows come from), not from memledger:
each mapping's row (Native Heap, Dalvik Heap, Dalvik Other, Stack, .so mmap, ...) and the
rows' sums of Pss, Private_Dirty, Private_Clean and SwapPss, in bytes.

    android_meminfo.py SMAPS    prints {"rows": {ROW: {FIGURE: BYTES}}, "mappings": {START: {"row": ROW, FIGURE: BYTES}}}
"""
import json
import re
import sys

LINE = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) \S+ [0-9a-f]+ [0-9a-f]+:[0-9a-f]+ \d+\s*(.*)$")
FIELDS = {"Pss": "pss", "Private_Dirty": "private_dirty", "Private_Clean": "private_clean",
          "SwapPss": "swap_pss", "Shared_Dirty": "shared_dirty", "Shared_Clean": "shared_clean"}

DALVIK_HEAP = ("alloc space", "main space", "large object space",
               "free list large object space", "non moving space", "zygote space")


def dalvik(space):
    return "Dalvik Heap" if space.startswith(DALVIK_HEAP) else "Dalvik Other"


def row_of(name, start, prev_end, prev_row):
    """android_os_Debug.cpp's which_heap, in its order (the sub-heaps fold into their
    heap: Dalvik Heap and Dalvik Other, .dex for .odex/.dex/.vdex, .art for both)."""
    if name.endswith(" (deleted)"):
        name = name[:-len(" (deleted)")]
    if name.startswith("[heap]") or name.startswith("[anon:libc_malloc]") or \
            name.startswith("[anon:scudo:") or name.startswith("[anon:GWP-ASan"):
        return "Native Heap"
    if name.startswith("[stack") or name.startswith("[anon:stack_and_tls:"):
        return "Stack"
    for suffix, row in ((".so", ".so mmap"), (".jar", ".jar mmap"), (".apk", ".apk mmap"),
                        (".ttf", ".ttf mmap")):
        if name.endswith(suffix):
            return row
    if name.endswith(".odex") or (len(name) > 4 and ".dex" in name):
        return ".dex mmap"
    if name.endswith(".vdex"):
        return ".dex mmap"
    if name.endswith(".oat"):
        return ".oat mmap"
    if name.endswith(".art") or name.endswith(".art]"):
        return ".art mmap"
    if name.startswith("/dev/"):
        if name.startswith("/dev/kgsl-3d0"):
            return "Gfx dev"
        if name.startswith("/dev/ashmem/CursorWindow"):
            return "Cursor"
        if name.startswith("/dev/ashmem/jit-zygote-cache"):
            return "Dalvik Other"
        if name.startswith("/dev/ashmem/dalvik-"):  # before Android 8
            return dalvik(name[len("/dev/ashmem/dalvik-"):])
        if name.startswith("/dev/ashmem"):
            return "Ashmem"
        return "Other dev"
    if name.startswith("/memfd:jit-cache") or name.startswith("/memfd:jit-zygote-cache"):
        return "Dalvik Other"
    if name.startswith("[anon:"):
        if name.startswith("[anon:dalvik-"):
            return dalvik(name[len("[anon:dalvik-"):])
        return "Unknown"
    if name:
        return "Other mmap"
    if start == prev_end and prev_row == ".so mmap":
        return ".so mmap"  # the bss of a shared library
    return "Unknown"


def read(path):
    rows, mappings = {}, {}
    prev_end, prev_row, cur = None, None, None
    with open(path) as f:
        for line in f:
            m = LINE.match(line)
            if m:
                start, end = int(m.group(1), 16), int(m.group(2), 16)
                row = row_of(m.group(3), start, prev_end, prev_row)
                prev_end, prev_row = end, row
                one = mappings[f"{start:x}"] = dict.fromkeys(FIELDS.values(), 0)
                one["row"] = row
                cur = rows.setdefault(row, dict.fromkeys(FIELDS.values(), 0))
                continue
            key, _, rest = line.partition(":")
            if key in FIELDS and cur is not None:
                cur[FIELDS[key]] += int(rest.split()[0]) * 1024
                one[FIELDS[key]] += int(rest.split()[0]) * 1024
    return {"rows": rows, "mappings": mappings}


if __name__ == "__main__":
    json.dump(read(sys.argv[1]), sys.stdout, indent=1, sort_keys=True)
