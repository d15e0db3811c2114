#!/usr/bin/env python3
"""Live ground truth: memledger's figures for processes of a known layout.

    test_live.py MEMLEDGER LAYOUT_HELPER

Starts the layout helper (tests/live/layout.c), then asserts that what memledger prints
for its processes equals (1) smaps_rollup, status and smaps read here independently,
(2) what the layout predicts, and (3) smem's figures for the same processes (PSS: up to
smem's truncation of each mapping's Pss). Turns a swap file on for the test when the
machine has no swap and the test runs as root; turns it off again after.
"""
import atexit
import contextlib
import json
import mmap
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

KiB = 1024
MiB = 1024 * KiB
NCHILDREN = 3
FAMILY = NCHILDREN + 1
COLUMNS = ("PID,PPID,UID,COMM,VSS,RSS,PSS,USS,SHARED,SWAP,SWAPPSS,DIRTY,ANON,FILE,SHMEM,"
           "FOOTPRINT,COMMIT,LAZYFREE,LOCKED,THP,HUGETLB,KSM,PAGETABLES,THREADS")

passed = failed = skipped = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {name} {detail}")


def skip(name, why):
    global skipped
    skipped += 1
    print(f"SKIP: {name}: {why}")


def finish(name):
    """Prints the test's count; its exit status: 1 when a check failed."""
    print(f"{name}: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 1 if failed else 0


def kb_fields(path):
    """The 'Key: N kB' fields of a /proc file, in bytes."""
    out = {}
    with open(path) as f:
        for line in f:
            key, _, rest = line.partition(":")
            parts = rest.split()
            if len(parts) == 2 and parts[1] == "kB":
                out[key] = int(parts[0]) * KiB
            elif key in ("Threads", "PPid"):
                out[key] = int(parts[0])
            elif key == "Uid":
                out[key] = int(parts[1])
    return out


def smaps_commit(pid):
    """Σ Size of the mappings whose VmFlags hold 'ac', read from smaps here."""
    commit = size = 0
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            if line.startswith("Size:"):
                size = int(line.split()[1]) * KiB
            elif line.startswith("VmFlags:") and "ac" in line.split()[1:]:
                commit += size
    return commit


def kernel_figures(pid):
    """What the kernel says of pid, in memledger's column names."""
    r = kb_fields(f"/proc/{pid}/smaps_rollup")
    s = kb_fields(f"/proc/{pid}/status")
    return {
        "ppid": s["PPid"], "uid": s["Uid"], "vss": s["VmSize"],
        "rss": r["Rss"], "pss": r["Pss"],
        "uss": r["Private_Clean"] + r["Private_Dirty"],
        "shared": r["Shared_Clean"] + r["Shared_Dirty"],
        "swap": r["Swap"], "swappss": r["SwapPss"],
        "dirty": r["Shared_Dirty"] + r["Private_Dirty"],
        "anon": r["Pss_Anon"], "file": r["Pss_File"], "shmem": r["Pss_Shmem"],
        "footprint": s["RssAnon"] + s["VmSwap"], "commit": smaps_commit(pid),
        "lazyfree": r["LazyFree"], "locked": r["Locked"],
        "thp": r["AnonHugePages"] + r["ShmemPmdMapped"] + r["FilePmdMapped"],
        "hugetlb": r["Shared_Hugetlb"] + r["Private_Hugetlb"], "ksm": r["KSM"],
        "pagetables": s["VmPTE"], "threads": s["Threads"],
    }


def memledger_json(memledger, *args):
    out = subprocess.run([memledger, "-J", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def while_still(read_kernel, run_memledger, tries=10, agree=None):
    """Runs memledger between two reads of the kernel's figures, until both reads agree
    (and, with agree, until agree(kernel, memledger's) holds).

    Something outside the test (page migration, compaction) may move a shared page
    while memledger and the test read one after the other: then the comparison would
    blame memledger for the kernel's change. A process that maps a shared page for a
    moment (a fork that exits) can move it during memledger's read alone, between two
    equal reads of the kernel: agree retries that too, and a real disagreement persists
    through every try. Returns (kernel, memledger's) of a run during which the kernel held
    still; the last try's after `tries`.
    """
    for _ in range(tries):
        before = read_kernel()
        mine = run_memledger()
        after = read_kernel()
        if before == after and (agree is None or agree(after, mine)):
            return after, mine
        time.sleep(0.05)
    print("note: the kernel's figures kept moving; comparing the last try")
    return after, mine


class Swap:
    """Swap for the test: what is on, or a swap file turned on for its duration."""

    def __init__(self):
        self.path = None
        with open("/proc/swaps") as f:
            self.on = len(f.readlines()) > 1
        if self.on or os.geteuid() != 0:
            return
        path = "/var/tmp/memledger-test.swap"
        try:
            subprocess.run(["fallocate", "-l", "256M", path], check=True)
            os.chmod(path, 0o600)
            subprocess.run(["mkswap", path], check=True, capture_output=True)
            subprocess.run(["swapon", path], check=True, capture_output=True)
            self.path, self.on = path, True
        except (OSError, subprocess.CalledProcessError) as e:
            print(f"note: cannot turn a swap file on: {e}")
            if os.path.exists(path):
                os.unlink(path)

    def close(self):
        if self.path:
            subprocess.run(["swapoff", self.path], check=False)
            os.unlink(self.path)


@contextlib.contextmanager
def zram_swap():
    """/dev/zram0 on as swap of the highest priority for a `with` block; yields its name, or
    None (and why) when there is no idle zram device to use."""
    dev, sysfs = "/dev/zram0", "/sys/block/zram0"
    with open("/proc/swaps") as f:
        if any(line.startswith(dev + " ") for line in f):
            yield dev, None  # already swap: used as it is
            return
    if not os.path.exists(sysfs) or not os.path.exists(dev):
        yield None, "no zram device"
        return
    with open(f"{sysfs}/disksize") as f:
        if int(f.read()) != 0:
            yield None, "zram0 is in use for something else"
            return
    try:
        with open(f"{sysfs}/disksize", "w") as f:
            f.write("64M")
        subprocess.run(["mkswap", dev], check=True, capture_output=True)
        subprocess.run(["swapon", "-p", "32767", dev], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        yield None, f"cannot turn zram0 on as swap: {e}"
        return
    try:
        yield dev, None
    finally:
        subprocess.run(["swapoff", dev], check=False)
        with open(f"{sysfs}/reset", "w") as f:
            f.write("1")


def stop_family(family):
    """Ends the layout helper's family and unlinks the /dev/shm file it leaves behind."""
    family.stdin.close()
    family.wait()
    try:
        os.unlink(f"/dev/shm/memledger-test-{family.pid}")  # it outlives the family
    except FileNotFoundError:
        pass


def thp_bytes(pid, start):
    """AnonHugePages of the mapping at start: what of it the kernel gave as huge pages."""
    return smaps_mappings(pid)[start].get("AnonHugePages", 0)


@contextlib.contextmanager
def running_family(helper, prefix, drop=()):
    """A work directory, swap and the layout helper's family (started through drop) for a
    `with` block: yields (the family, its PIDs or None, the work directory, whether swap is
    on); then ends the family (also after a kill), unlinks its /dev/shm file and removes
    the rest."""
    workdir = tempfile.mkdtemp(prefix=prefix)
    swap = Swap()
    family = None
    try:
        family, pids = start_family(helper, workdir, NCHILDREN, swap.on, drop)
        yield family, pids, workdir, swap.on
    finally:
        if family:
            stop_family(family)
        swap.close()
        shutil.rmtree(workdir, ignore_errors=True)


# The name the family runs under (its comm): this test's own, so that a group by comm holds
# the family alone on a machine where another run of the tests starts the same helper.
HELPER_NAME = f"lh-{os.getpid()}"[:15]


def family_exe(helper):
    """The family's own copy of the helper, named HELPER_NAME, beside it (in the build
    directory, on disk: in a tmpfs its pages would be shmem). A copy, not a link: the
    family's file pages are then its own, and its PSS does not move when another test,
    or another make check, starts the same helper. Removed when the test exits."""
    named = os.path.join(os.path.dirname(os.path.realpath(helper)), HELPER_NAME)
    if not os.path.exists(named):
        shutil.copy2(os.path.realpath(helper), named)
        atexit.register(lambda: os.path.exists(named) and os.unlink(named))
    return named


def start_family(helper, workdir, nchildren, swap_on, drop=()):
    """Starts the layout helper (as drop says) as family_exe; returns (the process, its
    PIDs: parent first), or (the process, None) when it did not start."""
    named = family_exe(helper)
    family = subprocess.Popen([*drop, named, workdir, str(nchildren), "1" if swap_on else "0"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = family.stdout.readline().split()
    if not line or line[0] != "ready":
        print("FAIL: the layout helper did not start")
        return family, None
    return family, [int(p) for p in line[1:]]


def check_equal_to_kernel(memledger, pids):
    """Every column equals the kernel's; returns memledger's rows for the other checks."""
    def read_kernel():
        return {pid: kernel_figures(pid) for pid in pids}

    def run():
        doc = memledger_json(memledger, "-b", "-o", COLUMNS, "-p", ",".join(map(str, pids)))
        return {p["pid"]: p for p in doc["processes"]}

    def agree(kernels, rows):
        return all(rows.get(pid) and all(rows[pid][k] == v for k, v in kernels[pid].items())
                   for pid in pids)

    kernels, rows = while_still(read_kernel, run, agree=agree)
    for pid in pids:
        kernel = kernels[pid]
        row = rows.get(pid)
        check(f"{pid} is a row", row is not None)
        for key, want in kernel.items():
            check(f"{pid} {key} equals the kernel's", row and row[key] == want,
                  f"memledger {row and row[key]} kernel {want}")
    return rows


def check_layout(rows, pids, swap_on):
    parent, children = pids[0], pids[1:]
    for pid in pids:
        # SHANON 2 MiB + MEMFD 1 MiB + SYSV 1 MiB + POSIX 1 MiB, each shared by the whole
        # family; the parent alone has written MEMFD2's 512 KiB.
        own = MiB // 2 if pid == parent else 0
        check(f"{pid} SHMEM is 5 MiB / {FAMILY} + {own}", rows[pid]["shmem"] == 5 * MiB // FAMILY + own,
              rows[pid]["shmem"])
        check(f"{pid} USS holds its own 8 MiB", rows[pid]["uss"] >= 8 * MiB, rows[pid]["uss"])
    for i, pid in enumerate(children):
        row = rows[pid]
        check(f"child {i} LAZYFREE is 1 MiB", row["lazyfree"] == MiB, row["lazyfree"])
        check(f"child {i} PPID", row["ppid"] == parent)
        # own 8 MiB + rewritten COW + 1 MiB lazily freed (still resident, private)
        low = 8 * MiB + (i + 1) * 256 * KiB + MiB
        check(f"child {i} USS >= {low}", row["uss"] >= low, row["uss"])
        check(f"child {i} COMMIT holds its private writable regions",
              row["commit"] >= (8 + 4 + 2 + 1) * MiB, row["commit"])
        if i:
            # Children differ only in how much of COW each rewrote: 256 KiB a step.
            step = row["uss"] - rows[children[i - 1]]["uss"]
            check(f"child {i} USS is 256 KiB above child {i - 1}", step == 256 * KiB, step)
        if swap_on:
            check(f"child {i} SWAP is 2 MiB", row["swap"] == 2 * MiB, row["swap"])
            check(f"child {i} SWAPPSS is 2 MiB", row["swappss"] == 2 * MiB, row["swappss"])
    check("parent LAZYFREE is 0", rows[parent]["lazyfree"] == 0)
    check("parent SWAP is 0", rows[parent]["swap"] == 0)
    check("Σ SHMEM over the family is 5.5 MiB", sum(rows[p]["shmem"] for p in pids) == 5 * MiB + MiB // 2)
    huge = thp_bytes(parent, THP_AT)
    if huge:
        for pid in pids:
            check(f"{pid} THP: the huge page it shares with the family", rows[pid]["thp"] == 2 * MiB,
                  rows[pid]["thp"])
    else:
        skip("THP of the family's huge page", "the kernel gave no huge page (THP off or no room)")
    if not swap_on:
        skip("SWAP of paged-out regions", "no swap and not root")


def mapping_counts(pid):
    with open(f"/proc/{pid}/maps") as f:
        return len(f.readlines())


def check_against_smem(rows, pids):
    if not shutil.which("smem"):
        skip("smem comparison", "smem is not installed")
        return
    out = subprocess.run(["smem", "-H", "-c", "pid rss uss swap pss", "-P", HELPER_NAME],
                         check=True, capture_output=True, text=True).stdout
    smem = {int(f[0]): [int(x) * KiB for x in f[1:]] for f in (l.split() for l in out.splitlines())}
    for pid in pids:
        if pid not in smem:
            check(f"smem sees {pid}", False)
            continue
        rss, uss, swap, pss = smem[pid]
        row = rows[pid]
        check(f"{pid} RSS equals smem's", row["rss"] == rss, f"{row['rss']} vs {rss}")
        check(f"{pid} USS equals smem's", row["uss"] == uss, f"{row['uss']} vs {uss}")
        check(f"{pid} SWAP equals smem's", row["swap"] == swap, f"{row['swap']} vs {swap}")
        # smem sums per-mapping Pss, each truncated to whole kB: low by < 1 kB a mapping.
        gap = row["pss"] - pss
        check(f"{pid} PSS is smem's plus its truncation", 0 <= gap < mapping_counts(pid) * KiB,
              f"{row['pss']} vs {pss}")


MAP_COLUMNS = ("START,END,PERMS,KIND,SIZE,RSS,PSS,USS,SHARED,SWAP,SWAPPSS,DIRTY,LAZYFREE,"
               "LOCKED,THP,HUGETLB,COMMIT,FLAGS,NAME")

# The helper's regions: where, what kind memledger must call them, and their size.
REGIONS = {
    0x200000000: ("anon", 4 * MiB), 0x210000000: ("shmem:shared-anon", 2 * MiB),
    0x220000000: ("shmem:memfd", MiB), 0x230000000: ("shmem:sysv", MiB),
    0x240000000: ("rodata", MiB), 0x250000000: ("anon", 8 * MiB),
    0x260000000: ("anon", 2 * MiB), 0x270000000: ("anon", MiB), 0x290000000: ("anon", MiB),
    0x2a0000000: ("shmem:memfd", MiB // 2), 0x2b0000000: ("shmem:posix", MiB),
    0x2c0000000: ("anon", 2 * MiB),
}
THP_AT = 0x2c0000000


def smaps_mappings(pid):
    """Each mapping of smaps, read here: start -> its header fields and kB fields in bytes."""
    maps, cur = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and not head[0].endswith(":"):
                start, end = (int(x, 16) for x in head[0].split("-"))
                cur = maps[start] = {"end": end, "perms": head[1], "name": " ".join(head[5:])}
            elif head[0] == "VmFlags:":
                cur["flags"] = head[1:]
            elif len(head) == 3 and head[2] == "kB":
                cur[head[0][:-1]] = int(head[1]) * KiB
    return maps


def check_maps(memledger, pid, child):
    def read_kernel():
        return smaps_mappings(pid), kb_fields(f"/proc/{pid}/smaps_rollup"), pmap_totals(pid)

    (kernel, rollup, pmap), doc = while_still(
        read_kernel, lambda: memledger_json(memledger, "maps", "-b", "-o", MAP_COLUMNS, str(pid)))
    proc = doc["processes"][0]
    rows = {int(r["start"], 16): r for r in proc["mappings"]}
    check(f"maps {pid}: one row per mapping", sorted(rows) == sorted(kernel))
    for start, k in kernel.items():
        r = rows.get(start, {})
        want = {"end": f"{k['end']:08x}", "perms": k["perms"], "name": k["name"], "size": k["Size"],
                "rss": k["Rss"], "pss": k["Pss"], "uss": k["Private_Clean"] + k["Private_Dirty"],
                "shared": k["Shared_Clean"] + k["Shared_Dirty"], "swap": k["Swap"],
                "swappss": k["SwapPss"], "dirty": k["Shared_Dirty"] + k["Private_Dirty"],
                "lazyfree": k["LazyFree"], "locked": k["Locked"],
                "thp": k["AnonHugePages"] + k["ShmemPmdMapped"] + k["FilePmdMapped"],
                "hugetlb": k["Shared_Hugetlb"] + k["Private_Hugetlb"],
                "commit": k["Size"] if "ac" in k["flags"] else 0, "flags": " ".join(k["flags"])}
        bad = {key: (r.get(key), v) for key, v in want.items() if r.get(key) != v}
        check(f"maps {pid} {start:x} equals smaps", not bad, bad)
    for start, (kind, size) in REGIONS.items():
        if start == 0x260000000 and not child or start == 0x270000000 and not child:
            continue  # the parent has no such region
        r = rows.get(start, {})
        check(f"maps {pid} {start:x} is {kind}", r.get("kind") == kind, r.get("kind"))
        check(f"maps {pid} {start:x} is {size} bytes", r.get("size") == size, r.get("size"))
    check(f"maps {pid}: COMMIT of a private writable mapping is its SIZE",
          rows[0x250000000]["commit"] == 8 * MiB)
    check(f"maps {pid}: COMMIT of MAP_NORESERVE is 0", rows[0x290000000]["commit"] == 0)
    check(f"maps {pid}: COMMIT of a shared mapping is 0", rows[0x210000000]["commit"] == 0)
    s = proc["summary"]
    total_rss = sum(r["rss"] for r in rows.values())
    check(f"maps {pid}: Σ RSS of the rows equals smaps_rollup", total_rss == rollup["Rss"])
    check(f"maps {pid}: Σ RSS of the kinds equals the rows'", sum(k["rss"] for k in s["kinds"]) == total_rss)
    check(f"maps {pid}: Σ SIZE of the kinds equals the rows'",
          sum(k["size"] for k in s["kinds"]) == sum(r["size"] for r in rows.values()))
    check(f"maps {pid}: backing private + shared equals RSS",
          sum(b["private"] + b["shared"] for b in s["backing"]) == total_rss)
    check(f"maps {pid}: backing swapped equals SWAP",
          sum(b["swapped"] for b in s["backing"]) == rollup["Swap"])
    check(f"maps {pid}: summary commit equals Σ COMMIT", s["commit"] == sum(r["commit"] for r in rows.values()))
    check(f"maps {pid}: VMA count", s["vmas"] == len(kernel))
    with open("/proc/sys/vm/max_map_count") as f:
        check(f"maps {pid}: max_map_count", s["max_map_count"] == int(f.read()))
    check(f"maps {pid}: 47-bit address space", s["address_bits"] in (47, 56))
    gap = largest_gap(kernel, s["address_bits"])
    check(f"maps {pid}: the largest free gap, from mmap_min_addr to the top",
          (s["largest_gap"], s["largest_gap_start"]) == (gap[0], f"{gap[1]:08x}"),
          (s["largest_gap"], s["largest_gap_start"], gap))
    check_against_pmap(pid, rows, pmap)


def largest_gap(kernel, bits):
    """(size, start) of the largest hole between mmap_min_addr and the top of the user
    address space, from the mappings as smaps lists them ([vsyscall] lies above it)."""
    with open("/proc/sys/vm/mmap_min_addr") as f:
        prev = int(f.read())
    best = (0, prev)
    starts = sorted(start for start in kernel if start < 1 << 56)
    for start in starts + [(1 << bits) - 4096]:
        if start - prev > best[0]:
            best = (start - prev, prev)
        if start in kernel:
            prev = max(prev, kernel[start]["end"])
    return best


def maps_peak_rss(memledger, peakrss, pid):
    """(output, exit status, peak RSS in KiB) of memledger maps of pid with a filter
    that shows no mapping, run by the peakrss launcher (a child of this process would
    count this process's RSS before its exec)."""
    with tempfile.NamedTemporaryFile("r", prefix="memledger-peak-") as peak:
        proc = subprocess.run([peakrss, peak.name, memledger, "maps", "-M", "^no such name$",
                               str(pid)], capture_output=True, text=True)
        return proc.stdout, proc.returncode, int(peak.read() or 0)


def check_maps_memory(memledger, peakrss):
    """maps keeps no mapping it has passed: with a filter that shows none of 30,000
    mappings, its peak RSS is what it is for a small process, give or take 2 MiB (30,000
    mappings kept would be 7 MiB)."""
    pid = os.getpid()
    _, _, small_kib = maps_peak_rss(memledger, peakrss, pid)
    regions = []
    for i in range(30000):  # alternate protections, so that the kernel merges none
        regions.append(mmap.mmap(-1, 4096, prot=mmap.PROT_READ | (mmap.PROT_WRITE * (i % 2))))
    with open(f"/proc/{pid}/maps") as f:
        nmaps = sum(1 for _ in f)
    out, status, peak_kib = maps_peak_rss(memledger, peakrss, pid)
    counted = re.search(r"mappings: (\d+) of", out)
    check("maps of 30,000 mappings, none shown: no rows, a summary",
          status == 0 and counted and len(out.splitlines()) < 40, out[:400])
    check("maps of 30,000 mappings: the summary counts them all",
          counted and abs(int(counted.group(1)) - nmaps) <= 8, (counted and counted.group(1), nmaps))
    check("maps of 30,000 mappings, none shown: peak RSS within 2 MiB of a small process's",
          peak_kib - small_kib < 2048, f"{peak_kib} KiB against {small_kib} KiB")
    for r in regions:
        r.close()


def pmap_totals(pid):
    """pmap -XX's totals line, by field name, in bytes; None without pmap."""
    if not shutil.which("pmap"):
        return None
    lines = subprocess.run(["pmap", "-XX", str(pid)], check=True, capture_output=True,
                           text=True).stdout.splitlines()
    header = lines[1].split()
    totals = lines[-1].split()[:-1]  # the last is "KB"
    first = header.index("Size")
    return dict(zip(header[first:first + len(totals)], (int(x) * KiB for x in totals)))


def check_against_pmap(pid, rows, pm):
    """pmap -XX's totals line equals the sums of memledger's rows."""
    if pm is None:
        skip("pmap comparison", "pmap is not installed")
        return
    for col, key in (("size", "Size"), ("rss", "Rss"), ("pss", "Pss"), ("swap", "Swap"),
                     ("lazyfree", "LazyFree"), ("locked", "Locked")):
        mine = sum(r[col] for r in rows.values())
        check(f"maps {pid}: Σ {col.upper()} equals pmap -XX's", mine == pm[key], f"{mine} vs {pm[key]}")
    uss = sum(r["uss"] for r in rows.values())
    check(f"maps {pid}: Σ USS equals pmap -XX's", uss == pm["Private_Clean"] + pm["Private_Dirty"])


def ere_escape(text):
    """text as a POSIX extended regular expression that matches it literally."""
    return "".join("\\" + c if c in ".[]()*+?{}|^$\\" else c for c in text)


def check_users(memledger, helper, pids):
    """memledger users over the family: one user, its PROCS, and Σ of the kernel's figures."""
    def read_kernel():
        return [kb_fields(f"/proc/{pid}/smaps_rollup") for pid in pids]

    rollups, doc = while_still(read_kernel, lambda: memledger_json(
        memledger, "users", "-b", "-P", "/" + ere_escape(HELPER_NAME) + " ", "-o", "UID,PROCS,RSS,PSS,USS,SWAP"))
    users = doc["users"]
    check("users: the family is one user", len(users) == 1 and users[0]["uid"] == os.geteuid(), users)
    if len(users) != 1:
        return
    u = users[0]
    check("users: PROCS counts the family", u["procs"] == len(pids), u["procs"])
    for col, key in (("rss", "Rss"), ("pss", "Pss"), ("swap", "Swap")):
        check(f"users: {col.upper()} is the family's Σ", u[col] == sum(r[key] for r in rollups))
    check("users: USS is the family's Σ",
          u["uss"] == sum(r["Private_Clean"] + r["Private_Dirty"] for r in rollups))


def check_libs(memledger, helper, pids):
    """Two memfds of one name are two objects; each is mapped by the family, counted once."""
    doc = memledger_json(memledger, "libs", "-b", "-P", "/" + ere_escape(HELPER_NAME) + " ", "-M", "memfd:memledger-test",
                         "-o", "NAME,PROCS,INODE,SIZE,RSS,PSS")
    memfds = sorted(doc["libraries"], key=lambda l: l["size"])
    check("libs: two memfds of one name are two rows", len(memfds) == 2, memfds)
    if len(memfds) != 2:
        return
    small, big = memfds
    check("libs: the two have different inodes", small["inode"] != big["inode"])
    check("libs: PROCS of the shared memfd is the family", big["procs"] == len(pids), big["procs"])
    check("libs: its pages counted once in PSS", big["pss"] == MiB, big["pss"])
    check("libs: and in every mapper's RSS", big["rss"] == len(pids) * MiB, big["rss"])
    check("libs: SIZE of the shared memfd", big["size"] == len(pids) * MiB, big["size"])
    check("libs: the parent-only memfd's PSS is what the parent wrote", small["pss"] == MiB // 2, small["pss"])
    check_libs_all(memledger, pids[0])


def check_libs_all(memledger, pid):
    """libs --all: each anonymous mapping of the process a row of its own, equal to smaps."""
    tags = ("[anon]", "[heap]", "[stack]")
    cols = ["-b", "-p", str(pid), "-o", "NAME,PROCS,SIZE,RSS,PSS"]
    kernel, doc = while_still(lambda: smaps_mappings(pid), lambda: memledger_json(memledger, "libs", "--all", *cols))
    rows = {r["name"]: r for r in doc["libraries"] if r["name"].split(" ")[0] in tags}
    anon = {start: m for start, m in kernel.items() if m["name"] in ("", "[heap]", "[stack]")}
    check("libs --all: a row per anonymous mapping", len(rows) == len(anon), f"{len(rows)} rows, {len(anon)} mappings")
    for start, m in anon.items():
        name = f"{m['name'] or '[anon]'} pid {pid} {start:x}-{m['end']:x}"
        r = rows.get(name)
        if name.startswith("[anon]") and r is None:  # an arena head is booked as heap
            r = rows.get("[heap]" + name[6:])
        check(f"libs --all: {name} has smaps' figures",
              r is not None and (r["procs"], r["size"], r["rss"], r["pss"]) == (1, m["end"] - start, m["Rss"], m["Pss"]),
              f"{r} vs {m}")
    grouped = memledger_json(memledger, "libs", *cols)["libraries"]
    for tag in tags:
        want = sum(r["pss"] for n, r in rows.items() if n.startswith(tag + " "))
        got = next((r["pss"] for r in grouped if r["name"] == tag), 0)
        check(f"libs --all: the {tag} rows add up to libs' {tag} row", want == got, f"{want} vs {got}")


RESERVER = r"""
import mmap, sys
# in this order, the PROT_NONE mapping between the two others, which the kernel would
# otherwise merge into one (partly touched) mapping
untouched = mmap.mmap(-1, 1 << 30,  # MAP_NORESERVE (0x4000): no merge with an arena either
                      flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x4000)
none = mmap.mmap(-1, 1 << 30, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, prot=0)  # PROT_NONE
used = mmap.mmap(-1, 1 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
used.write(b"\1" * (1 << 20))
print("ready", flush=True)
sys.stdin.read()
"""


def check_reserved(memledger):
    """Address space reserved (1 GiB without permission, 1 GiB never touched) is libs'
    [reserved] row, of kind guard, and maps --merge's; [anon]'s SIZE is the memory that is
    mapped and touched."""
    proc = subprocess.Popen([sys.executable, "-c", RESERVER], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        proc.stdout.readline()
        for tries in range(5):  # the kernel's mappings and memledger's, read together
            kernel = smaps_mappings(proc.pid)
            doc = memledger_json(memledger, "libs", "-b", "-p", str(proc.pid), "-o",
                                 "NAME,KIND,SIZE,RSS")
            rows = {r["name"]: r for r in doc["libraries"]}
            want = sum(m["end"] - start for start, m in kernel.items() if m["name"] == "" and
                       (m["perms"].startswith("---") or
                        (m.get("Rss") == 0 and m.get("Swap") == 0)))
            if rows.get("[reserved]", {}).get("size") == want and \
                    smaps_mappings(proc.pid) == kernel:
                break
            # seen twice in 40 runs: [reserved] 1 GiB short, [anon] 1 GiB more; say what
            # the kernel showed, then read again
            seen = memledger_json(memledger, "maps", "-b", str(proc.pid), "-o",
                                  "START,END,PERMS,KIND,RSS,NAME")
            mine = {k: rows.get(k) for k in ("[reserved]", "[anon]")}
            print(f"note: libs and smaps disagree (try {tries + 1}): {mine} vs {want}; the "
                  "kernel's unnamed mappings: " + "; ".join(
                      f"{s:x}-{m['end']:x} {m['perms']} Rss {m.get('Rss')}"
                      for s, m in sorted(kernel.items()) if m["name"] == "") +
                  "; memledger's: " + "; ".join(
                      f"{r.get('start')}-{r.get('end')} {r.get('perms')} {r.get('kind')} "
                      f"{r.get('rss')}" for p in seen.get("processes", [])
                      for r in p.get("mappings", []) if not r.get("name")))
        res = rows.get("[reserved]", {})
        check("libs: [reserved] holds the 2 GiB reserved (no permission, never touched), "
              "of kind guard, none of it resident",
              res.get("size") == want and want >= 2 << 30 and res.get("kind") == "guard" and
              res.get("rss") == 0, f"{res} vs {want}")
        anon = rows.get("[anon]", {})
        check("libs: [anon]'s SIZE is the touched anonymous memory alone (< 1 GiB)",
              anon.get("size", 0) < 1 << 30 and anon.get("rss", 0) >= 1 << 20, anon)
        merged = memledger_json(memledger, "maps", "--merge", "-b", str(proc.pid))
        rows = [r for r in merged["processes"][0]["mappings"] if r.get("name") == "[reserved]"]
        check("maps --merge: one [reserved] row of the same size",
              len(rows) == 1 and rows[0]["size"] == want, rows)
    finally:
        proc.stdin.close()
        proc.wait()


def physical_memory():
    """Online memory blocks times the block size, read from /sys here; None without it."""
    base = "/sys/devices/system/memory"
    try:
        with open(f"{base}/block_size_bytes") as f:
            block = int(f.read(), 16)
        online = 0
        for d in os.listdir(base):
            if d.startswith("memory"):
                with open(f"{base}/{d}/state") as f:
                    online += f.read().strip() == "online"
        return block * online
    except OSError:
        return None


def check_system(memledger):
    """memledger system: the top-level rows add up exactly to physical memory."""
    doc = memledger_json(memledger, "system")
    rows = doc["system"]
    physical = physical_memory()
    with open("/proc/meminfo") as f:
        memtotal = next(int(l.split()[1]) * KiB for l in f if l.startswith("MemTotal:"))
    if physical is None or physical < memtotal:
        skip("system rows against /sys", "no memory blocks in /sys")
        return
    check("system: physical memory is the online blocks", doc["physical"] == physical, doc["physical"])
    total = sum(r["size"] for r in rows if r["size"] is not None)
    check("system: the rows add up to physical memory exactly", total == physical, f"{total} vs {physical}")
    firmware = next((r["size"] for r in rows if r["name"] == "firmware, reserved"), None)
    check("system: firmware is physical - MemTotal", firmware == physical - memtotal, firmware)
    check("system: no row is unknown on this kernel", all(r["size"] is not None for r in rows))
    for r in rows:
        parts = [c["size"] for c in r.get("children", [])]
        if parts:
            check(f"system: {r['name']} is the sum of its parts", r["size"] == sum(p or 0 for p in parts))
    cache = next(r for r in rows if r["name"] == "page cache")
    shmem = next(r for r in rows if r["name"] == "shmem")
    check("system: page cache mapped by processes is Σ Pss_File",
          cache["children"][0]["size"] == doc["pss_file_total"], cache["children"])
    check("system: shmem mapped by processes is Σ Pss_Shmem",
          shmem["children"][0]["size"] == doc["pss_shmem_total"], shmem["children"])
    check("system: Σ Pss_File + Σ Pss_Shmem is at most meminfo's Mapped (+1 kB a process)",
          doc["pss_file_total"] + doc["pss_shmem_total"]
          <= doc["meminfo"]["Mapped"] + KiB * doc["processes"],
          f'{doc["pss_file_total"]} + {doc["pss_shmem_total"]} vs {doc["meminfo"]["Mapped"]}')


def check_full_scan(memledger):
    doc = memledger_json(memledger, "-o", "PID,RSS,PSS")
    pids = {p["pid"] for p in doc["processes"]}
    check("JSON has an unreadable count", isinstance(doc.get("unreadable"), int))
    check("no kernel thread is a row (kthreadd)", 2 not in pids)
    check("this test is a row", os.getpid() in pids)
    check("every row has RSS and PSS", all(p["rss"] is not None and p["pss"] is not None
                                           for p in doc["processes"]))


def check_refused_to_root(memledger):
    """Processes refused even to root (a container's PID 1) are left unsaid unless -v asks
    or -p names one; JSON counts them either way."""
    if os.geteuid() != 0:
        skip("refused to root", "needs root")
        return
    doc = json.loads(subprocess.run([memledger, "-J"], capture_output=True, text=True).stdout)
    refused = doc["unreadable_pids"]
    if not refused:
        skip("refused to root", "root reads every process on this machine")
        return
    quiet = subprocess.run([memledger, "tree"], capture_output=True, text=True)
    check("as root, those refused to root are not said", "could not be read"
          not in quiet.stderr and quiet.returncode == 0, quiet.stderr)
    loud = subprocess.run([memledger, "tree", "-v"], capture_output=True, text=True)
    lines = [l for l in loud.stderr.splitlines() if "could not be read" in l]
    check("-v says them, in one line with FREED's assumption",
          len(lines) == 1 and "refused even to root" in lines[0] and "FREED" in lines[0],
          loud.stderr)
    asked = subprocess.run([memledger, "freed", str(refused[0])], capture_output=True,
                           text=True)
    check("-p naming one says it, and freed says it cannot tell",
          "could not be read" in asked.stderr and "cannot tell what killing" in asked.stderr
          and asked.returncode == 1, asked.stderr)
    frames = subprocess.run([memledger, "-v", "-i", "0.1", "-c", "3"], capture_output=True,
                            text=True)
    check("-i: said once a run, not once a frame",
          frames.stderr.count("could not be read") == 1, frames.stderr)


def check_unprivileged(memledger):
    """As nobody, other users' processes are unreadable: counted, never zero rows."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        skip("unprivileged run", "needs root and setpriv")
        return
    drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", memledger]
    if subprocess.run(drop + ["--version"], capture_output=True).returncode != 0:
        skip("unprivileged run", "nobody cannot run the binary here (its directory is closed)")
        return
    out = subprocess.run(drop + ["-J"], capture_output=True, text=True)
    doc = json.loads(out.stdout)
    check("as nobody: root's processes are counted unreadable", doc["unreadable"] > 0)
    check("as nobody: no row of root's processes",
          all(p["pid"] != os.getpid() for p in doc["processes"]))
    out = subprocess.run(drop, capture_output=True, text=True)
    check("as nobody: the table says so on stderr",
          "could not be read; run as root to see them" in out.stderr, out.stderr)
    check("as nobody: exit status 0", out.returncode == 0)
    # A process of nobody's own to read: memledger leaves itself out.
    sleeper = subprocess.Popen(drop[:-1] + ["sleep", "60"])
    try:
        out = subprocess.run(drop + ["system"], capture_output=True, text=True,
                             env=dict(os.environ, LC_ALL="C.UTF-8"))
    finally:
        sleeper.kill()
        sleeper.wait()
    lines = out.stdout.splitlines()
    mapped = [l for l in lines if "mapped by processes" in l]
    unmapped = [l for l in lines if "not mapped" in l]
    check("as nobody: system marks what processes map as a lower bound (≥)",
          len(mapped) == 2 and all("≥" in l for l in mapped), mapped)
    check("as nobody: system marks the unmapped rest as an upper bound (≤)",
          len(unmapped) == 2 and all("≤" in l for l in unmapped), unmapped)


def check_hidden(memledger):
    """Processes that /proc does not list (a PID namespace, hidepid=2 for nobody) are said
    to be hidden, and what depends on every process is a bound, not exact."""
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("setpriv"):
        skip("hidden processes", "needs root, unshare and setpriv")
        return
    out = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", memledger, "system",
                          "-J"], capture_output=True, text=True)
    if out.returncode != 0 and "unshare" in out.stderr:
        skip("hidden processes", f"no PID namespace here: {out.stderr.strip()}")
        return
    doc = json.loads(out.stdout)
    check("in a PID namespace: system says processes are hidden",
          doc["hidden"] and "PID namespace" in doc["hidden"], doc["hidden"])
    check("in a PID namespace: mapped is not called exact", doc["mapped_exact"] is not True)
    out = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", memledger],
                         capture_output=True, text=True)
    check("in a PID namespace: ps says so on stderr", "PID namespace" in out.stderr,
          out.stderr)
    with tempfile.TemporaryDirectory() as mnt:
        os.chmod(mnt, 0o755)
        script = (f"mount -t proc -o hidepid=2 proc {mnt} && exec setpriv --reuid=65534 "
                  f"--regid=65534 --clear-groups {memledger} --source {mnt} system -J")
        out = subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True,
                             text=True)
        if out.returncode != 0:
            skip("hidepid=2", out.stderr.strip())
            return
        doc = json.loads(out.stdout)
        check("hidepid=2, as nobody: system says processes are hidden",
              doc["hidden"] and "hidepid" in doc["hidden"], doc["hidden"])
        check("hidepid=2, as nobody: mapped is not called exact",
              doc["mapped_exact"] is not True)
    doc = memledger_json(memledger, "system")
    check("all of /proc: nothing hidden", doc["hidden"] is None, doc["hidden"])


def check_self(memledger):
    """memledger is no row of its own process views on the live system."""
    args = ["-J", "-o", "PID,COMMAND", "-P", "memledger-self-check"]
    doc = memledger_json(memledger, *args)
    mine = [p for p in doc["processes"] if "memledger-self-check" in p["command"]
            and p["command"].startswith(memledger)]
    check("memledger leaves itself out of ps", not mine, f"{mine}")
    with tempfile.TemporaryDirectory() as tmp:  # a name of its own: comm tells it apart
        alias = os.path.join(tmp, f"ml-self-{os.getpid() % 10000}")
        os.symlink(os.path.abspath(memledger), alias)
        doc = memledger_json(alias, "groups", "--by", "comm", "-J", "-o", "NAME,PROCS")
    check("memledger leaves itself out of groups",
          not any(g["name"] == os.path.basename(alias) for g in doc["groups"]), "")


def check_vanished(memledger):
    """A process gone before it is read is no row and not unreadable; asked for by -p
    alone, it is named on stderr and the exit status is 1, as ps -p says."""
    child = subprocess.Popen(["true"])
    child.wait()
    out = subprocess.run([memledger, "-J", "-p", str(child.pid)], capture_output=True,
                         text=True)
    doc = json.loads(out.stdout)
    check("a vanished process is no row", doc["processes"] == [])
    check("a vanished process is not unreadable", doc["unreadable"] == 0)
    check("-p of a vanished process alone: named, exit 1",
          out.returncode == 1 and f"no process {child.pid}" in out.stderr, out.stderr)


def json_tree_nodes(nodes):
    """(node, parent pid) of a tree -J document, walked without recursion."""
    todo = [(n, None) for n in nodes]
    while todo:
        n, parent = todo.pop()
        yield n, parent
        todo.extend((c, n["pid"]) for c in n.get("children", []))


def check_chain(memledger, helper, depth=400):
    """A chain of processes deeper than a table draws: every one under its own parent, and
    the top's SUBPSS the sum of all. (A chain of 5,000 crashed tree by recursion; building
    one here costs minutes, as fork slows with depth: tests/hostile.py has 10,000 in a
    captured tree.)"""
    chain = subprocess.Popen([helper, "chain", str(depth)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        top = chain.stdout.readline().split()[1]
        doc = memledger_json(memledger, "tree", top, "-o", "PID,PPID,PSS,SUBPSS")
        nodes = list(json_tree_nodes(doc["processes"]))
        check("tree of a chain holds every process", len(nodes) == depth, f"{len(nodes)}")
        wrong = [n["pid"] for n, parent in nodes if parent is not None and n["ppid"] != parent]
        check("tree of a chain nests each under its parent", not wrong, f"{wrong[:5]}")
        total = sum(n["pss"] for n, _ in nodes)
        check("tree of a chain: the top's SUBPSS is Σ PSS",
              doc["processes"][0]["subpss"] == total, f"{doc['processes'][0]['subpss']} {total}")
    finally:
        chain.stdin.close()
        chain.wait()


def check_mid_exec(memledger, tries=60):
    """maps of a process that exec()s in a loop: an instant with no address space is read
    again, not reported as a zombie."""
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "again.sh")
        with open(script, "w") as f:
            f.write(f"#!/bin/sh\nexec {script}\n")
        os.chmod(script, 0o755)
        loop = subprocess.Popen([script])
        try:
            failures = []
            for _ in range(tries):
                r = subprocess.run([memledger, "maps", str(loop.pid)], capture_output=True,
                                   text=True)
                if r.returncode != 0:
                    failures.append(r.stderr.strip())
            # A quiet machine: 0 of 60 fail (the build before: 52 of 60 under meson). A
            # busy one preempts memledger between open() and read() for longer than the
            # loop takes to exec again, read after read: 31 of 60 failed beside one CPU
            # hog. How many fail is printed, not asserted; what a failure says is.
            print(f"maps of a process exec()ing in a loop: {len(failures)} of {tries} failed")
            check("maps of a process exec()ing in a loop: a failure says exec, not zombie",
                  all("middle of exec()" in f for f in failures), f"{failures[:2]}")
        finally:
            loop.kill()
            loop.wait()


def check_role(memledger):
    """A process with Chromium's arguments: ROLE says what it is, and joins the default
    columns (before COMMAND) because one process has a role."""
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()",
                             "--type=renderer", "--renderer-client-id=7"], stdin=subprocess.PIPE)
    try:
        time.sleep(0.2)
        doc = memledger_json(memledger, "-p", str(proc.pid), "-o", "PID,ROLE")
        rows = doc["processes"]
        check("ROLE of a process with --type=renderer", rows and rows[0]["role"] == "renderer",
              rows)
        out = subprocess.run([memledger, "-p", str(proc.pid)], capture_output=True, text=True)
        header = out.stdout.splitlines()[0].split() if out.stdout else []
        check("ROLE joins the default columns, before COMMAND",
              header[-2:] == ["ROLE", "COMMAND"], header)
    finally:
        proc.stdin.close()
        proc.wait()


def main():
    memledger, helper, peakrss = sys.argv[1], sys.argv[2], sys.argv[3]
    with running_family(helper, "memledger-live-") as (_, pids, _, swap_on):
        if not pids:
            return 1
        rows = check_equal_to_kernel(memledger, pids)
        check_layout(rows, pids, swap_on)
        check_against_smem(rows, pids)
        check_users(memledger, helper, pids)
        check_libs(memledger, helper, pids)
        check_reserved(memledger)
        check_maps(memledger, pids[0], child=False)
        check_maps(memledger, pids[1], child=True)
        check_maps_memory(memledger, peakrss)
        check_full_scan(memledger)
        check_system(memledger)
        check_refused_to_root(memledger)
        check_unprivileged(memledger)
        check_vanished(memledger)
        check_self(memledger)
        check_hidden(memledger)
        check_chain(memledger, helper)
        check_mid_exec(memledger)
        check_role(memledger)
    return finish("live")


if __name__ == "__main__":
    sys.exit(main())
