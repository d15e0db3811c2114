#!/usr/bin/env python3
"""memledger heaps and maps' categories on a live process of known layout: the layout
helper's 8 threads, each with its own glibc malloc arena holding (i+1) MiB it wrote and a
1 MiB stack of which it wrote (i+1) * 64 KiB. The kernel names none of these regions
(no CONFIG_ANON_VMA_NAME here): every one is found by its shape.

    test_heaps.py MEMLEDGER LAYOUT_HELPER
"""
import json
import os
import subprocess
import sys

import test_live
from test_live import check

KiB, MiB = 1 << 10, 1 << 20
THREADS = 8


def run(memledger, *args):
    r = subprocess.run([memledger, *args], capture_output=True, text=True)
    check(f"memledger {' '.join(args)}: exit 0", r.returncode == 0, r.stderr)
    return r


def zram_state():
    """What COMPRESSED is made of, as the kernel says it: the swap areas, zswap's
    Zswapped, and zram0's mm_stat."""
    with open("/proc/swaps") as f:
        areas = [line.split()[0] for line in f.readlines()[1:]]
    with open("/sys/block/zram0/mm_stat") as f:
        mm = [int(v) for v in f.read().split()]
    return areas, test_live.kb_fields("/proc/meminfo").get("Zswapped", 0), mm


def check_compressed(memledger, helper):
    """COMPRESSED of a process that paged 1 MiB out to zram: its SwapPss times zram's
    ratio, mem_used_total over orig_data_size (procrank's; it counts the same-filled
    pages, which cost nothing); unknown ("-") when a disk swaps beside zram."""
    if os.geteuid() != 0:
        test_live.skip("COMPRESSED on zram", "not root: no swapon")
        return
    with test_live.zram_swap() as (dev, why):
        if not dev:
            test_live.skip("COMPRESSED on zram", why)
            return
        p = subprocess.Popen([helper, "pageout", "256"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        try:
            pid = p.stdout.readline().split()[1]
            for _ in range(20):  # until nothing else swaps while memledger reads
                before = zram_state()
                ps = json.loads(run(memledger, "ps", "-p", pid, "-J", "-b", "-o",
                                    "PID,SWAPPSS,COMPRESSED").stdout)["processes"][0]
                heaps = json.loads(run(memledger, "heaps", pid, "-J", "-b", "-o",
                                       "NAME,SWAPPSS,COMPRESSED").stdout)["processes"][0]
                if zram_state() == before:
                    break
            areas, zswapped, mm = before
            print(f"zram: {ps}; mm_stat {mm[:3]} same {mm[5]}; areas {areas}")
            check("COMPRESSED: the helper has swap on zram", ps["swappss"] > 0, str(ps))
            if zswapped:
                test_live.skip("COMPRESSED's value", "zswap holds some of the swap")
            elif areas != [dev]:
                check("COMPRESSED: unknown while a disk swaps beside zram",
                      ps["compressed"] is None and heaps["compressed"] is None,
                      f"{ps} {heaps} {areas}")
            else:
                want = ps["swappss"] * mm[2] // mm[0]
                check("ps COMPRESSED: SwapPss x zram's mem_used_total / orig_data_size",
                      ps["compressed"] == want, f"{ps['compressed']} {want}")
                anon = [c for c in heaps["classes"] if c["swappss"]]
                check("heaps COMPRESSED: the process's, and its class's that swapped",
                      heaps["compressed"] == want and
                      [c["compressed"] for c in anon] == [want], f"{heaps} {want}")
        finally:
            p.stdin.close()
            p.wait(timeout=10)


def main():
    memledger, helper = (os.path.realpath(a) for a in sys.argv[1:3])
    exe = test_live.family_exe(helper)  # its own copy: its pages are its own
    p = subprocess.Popen([exe, "threads", str(THREADS)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline().split()
        check("the helper is ready", line[:1] == ["ready"], str(line))
        pid = str(p.pid)

        maps = json.loads(run(memledger, "maps", pid, "-J", "-b", "-o",
                              "START,PERMS,CATEGORY,HEAP,RULE,SIZE,RSS,NAME").stdout)
        proc = maps["processes"][0]
        rows, summary = proc["mappings"], proc["summary"]
        stacks = sorted(m["rss"] for m in rows if m["rule"] == "shape:guard")
        arenas = sorted(m["rss"] for m in rows if m["rule"] == "shape:arena")
        want_stacks = [(i + 1) * 64 * KiB for i in range(THREADS)]
        want_arenas = [(i + 1) * MiB for i in range(THREADS)]
        print(f"thread stacks (KiB): {[s // KiB for s in stacks]}")
        print(f"arenas (KiB): {[a // KiB for a in arenas]}")
        check("8 thread stacks found by their guard page, all Stack",
              len(stacks) == THREADS and all(m["category"] == "Stack" for m in rows
                                             if m["rule"] == "shape:guard"), str(stacks))
        check("each stack holds what its thread wrote, and at most 16 KiB more (its TLS)",
              len(stacks) == THREADS and
              all(w <= s <= w + 16 * KiB for s, w in zip(stacks, want_stacks)), str(stacks))
        check("8 glibc arenas, all Native Heap",
              len(arenas) == THREADS and all(m["category"] == "Native Heap" for m in rows
                                             if m["rule"] == "shape:arena"), str(arenas))
        check("each arena holds what its thread wrote, and at most 64 KiB more",
              len(arenas) == THREADS and
              all(w <= a <= w + 64 * KiB for a, w in zip(arenas, want_arenas)), str(arenas))
        check("the main stack is [stack], by name",
              [m["heap"] for m in rows if m["name"] == "[stack]"] == ["main"])
        heaps = {h["heap"]: h["count"] for h in summary["heaps"]}
        check("maps: heaps are brk 1 and glibc-arena 8", heaps == {"brk": 1, "glibc-arena": 8},
              str(summary["heaps"]))
        check("maps: 8 thread stacks by shape for 9 threads, not doubtful",
              summary["thread_stacks_by_shape"] == THREADS and
              not summary["thread_stacks_doubtful"])
        text = run(memledger, "maps", pid).stdout
        check("maps says how many heaps in one line",
              "heaps: 9: brk 1 (" in text and "glibc-arena 8 (" in text, text[-400:])

        merged = json.loads(run(memledger, "maps", "--merge", "--by", "category", pid, "-J",
                                "-b").stdout)["processes"][0]["mappings"]
        by = {(m["category"], m["heap"]): m for m in merged}
        check("maps --by category: one row of 8 thread stacks, their RSS summed",
              by.get(("Stack", "thread"), {}).get("count") == THREADS and
              by[("Stack", "thread")]["rss"] == sum(stacks), str(by.get(("Stack", "thread"))))
        check("maps --by category: one row of 8 arenas",
              by.get(("Native Heap", "glibc-arena"), {}).get("count") == THREADS)
        check("maps --by category: the rows' RSS add up to the mappings'",
              sum(m["rss"] for m in merged) == sum(m["rss"] for m in rows))

        h = json.loads(run(memledger, "heaps", pid, "-J", "-b").stdout)["processes"]
        check("heaps: one process row", len(h) == 1, str(h))
        classes = {c["name"]: c for c in h[0]["classes"]}
        check("heaps: 9 heaps, all Native Heap's",
              h[0]["heaps"] == 9 and classes.get("Native Heap", {}).get("heaps") == 9, str(h))
        stack = classes.get("Stack", {})
        main_stack = sum(m["rss"] for m in rows if m["name"] == "[stack]")
        check("heaps: Stack is the thread stacks and [stack]",
              stack.get("rss") == sum(stacks) + main_stack, str(stack))
        native = classes.get("Native Heap", {})
        brk = sum(m["rss"] for m in rows if m["name"] == "[heap]")
        check("heaps: Native Heap is the arenas and [heap], all private dirty",
              native.get("rss") == sum(arenas) + brk and
              native.get("privdirty") == native.get("rss"), str(native))
        check("heaps: the classes add up to the process row",
              all(sum(c[k] for c in h[0]["classes"]) == h[0][k]
                  for k in ("rss", "pss", "privdirty", "privclean", "swappss")), str(h))
        text = run(memledger, "heaps", pid).stdout
        check("heaps PID says its heaps in one line",
              f"PID {pid}: heaps: 9: brk 1 (" in text and "glibc-arena 8 (" in text, text)
        text = run(memledger, "heaps", pid).stdout
        check("heaps PID says its heaps in one line",
              f"PID {pid}: heaps: 9: brk 1 (" in text and "glibc-arena 8 (" in text, text)
        ps = json.loads(run(memledger, "ps", "-p", pid, "-J", "-b", "-o",
                            "PID,RSS,PSS").stdout)["processes"][0]
        check("heaps: the process's RSS is smaps_rollup's (ps), exactly",
              h[0]["rss"] == ps["rss"], f"{h[0]['rss']} {ps['rss']}")
        check("heaps: its PSS is ps's, give or take the vDSO's share (4 KiB)",
              abs(h[0]["pss"] - ps["pss"]) <= 4 * KiB, f"{h[0]['pss']} {ps['pss']}")
    finally:
        p.stdin.close()
        p.wait(timeout=10)
    check_compressed(memledger, exe)
    return test_live.finish("heaps")


if __name__ == "__main__":
    sys.exit(main())
