#!/usr/bin/env python3
"""Runs every view of memledger on hostile trees laid out like /proc.

    hostile.py MEMLEDGER [CASE...]

Each case builds a tree in a temporary directory: deep process chains, parent cycles,
FIFOs and device nodes where files should be, symlinks out of the tree, non-finite and huge
numbers, inconsistent meminfo, duplicated keys. Every view must finish within seconds with
exit 0, or exit 1 and a message on stderr; never a signal. JSON must parse, CSV must be
rectangular, and no size may exceed what the input justifies. Cases add their own checks.
"""
import csv
import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "live"))
from test_live import json_tree_nodes  # noqa: E402 - the live tests' module

TIMEOUT = 20  # seconds a view may take on any case (ASan included)
VIEWS = [
    ["ps"], ["ps", "-o", "+OWNED,FREED,COW"], ["users"], ["libs"], ["libs", "--all"],
    ["system"], ["tree"], ["groups", "--by", "tree"], ["groups", "--by", "pid"], ["shm"],
    ["ps", "-o", "+GPU,VRAM,DMABUF"], ["gpu"],
]
PID_VIEWS = [["maps"], ["freed"], ["tree"]]
ONE_FORMAT = [["export"], ["report", "-o", "-"], ["report", "--chart", "treemap", "-o", "-"],
              ["cgroups"], ["cgroups", "-J"]]  # views with formats of their own
FORMATS = [[], ["-J"], ["--csv"], ["--raw"]]

ROLLUP_KEYS = ["Rss", "Pss", "Pss_Dirty", "Pss_Anon", "Pss_File", "Pss_Shmem", "Shared_Clean",
               "Shared_Dirty", "Private_Clean", "Private_Dirty", "Referenced", "Anonymous",
               "KSM", "LazyFree", "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped",
               "Shared_Hugetlb", "Private_Hugetlb", "Swap", "SwapPss", "Locked"]
MEMINFO = {"MemTotal": 1048576, "MemFree": 524288, "MemAvailable": 786432, "Buffers": 1024,
           "Cached": 65536, "SwapCached": 0, "Active": 1000, "Inactive": 1000, "SwapTotal": 0,
           "SwapFree": 0, "AnonPages": 32768, "Mapped": 8192, "Shmem": 4096,
           "KReclaimable": 1000, "Slab": 2000, "SReclaimable": 1000, "SUnreclaim": 1000,
           "KernelStack": 512, "PageTables": 256, "CommitLimit": 524288,
           "Committed_AS": 65536, "VmallocUsed": 100, "HugePages_Total": 0,
           "Hugepagesize": 2048, "Hugetlb": 0}


def smaps_text(start=0x400000, pages=4, rss_kb=16, name="/usr/bin/app", extra=None,
               perms="rw-p", dev="08:01", inode=42):
    end = start + pages * 4096
    lines = [f"{start:08x}-{end:08x} {perms} 00000000 {dev} {inode}                 {name}",
             f"Size:               {pages * 4} kB", "KernelPageSize:        4 kB",
             "MMUPageSize:           4 kB"]
    vals = {k: 0 for k in ROLLUP_KEYS}
    vals.update(Rss=rss_kb, Pss=rss_kb, Pss_Anon=rss_kb, Private_Dirty=rss_kb,
                Referenced=rss_kb, Anonymous=rss_kb)
    vals.update(extra or {})
    lines += [f"{k}:{v:>15} kB" for k, v in vals.items()]
    lines.append("THPeligible:    0")
    lines.append("VmFlags: rd wr mr mw me ac")
    return "\n".join(lines) + "\n"


def rollup_text(rss_kb=16, extra=None, dup=None):
    vals = {k: 0 for k in ROLLUP_KEYS}
    vals.update(Rss=rss_kb, Pss=rss_kb, Pss_Anon=rss_kb, Private_Dirty=rss_kb,
                Referenced=rss_kb, Anonymous=rss_kb)
    vals.update(extra or {})
    lines = ["00400000-7ffd00021000 ---p 00000000 00:00 0                          [rollup]"]
    lines += [f"{k}:{v:>15} kB" for k, v in vals.items()]
    if dup:
        lines.append(f"{dup[0]}:{dup[1]:>15} kB")
    return "\n".join(lines) + "\n"


def status_text(pid, ppid, name="app", extra=""):
    return (f"Name:\t{name}\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t{pid}\nPid:\t{pid}\n"
            f"PPid:\t{ppid}\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nVmSize:\t      16 kB\n"
            f"VmRSS:\t      16 kB\nRssAnon:\t      16 kB\nRssFile:\t       0 kB\n"
            f"RssShmem:\t       0 kB\nVmPTE:\t       4 kB\nVmSwap:\t       0 kB\n"
            f"Threads:\t1\n{extra}")


def stat_text(pid, ppid, name="app"):
    return (f"{pid} ({name}) S {ppid} {pid} {pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 "
            f"{100 + pid} 16384 4 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n")


def add_process(proc, pid, ppid, name="app", rollup=None, smaps=None, status=None):
    d = os.path.join(proc, str(pid))
    os.makedirs(d, exist_ok=True)
    files = {"status": status if status is not None else status_text(pid, ppid, name),
             "stat": stat_text(pid, ppid, name), "cmdline": f"/usr/bin/{name}\0--n\0{pid}\0",
             "smaps_rollup": rollup if rollup is not None else rollup_text(),
             "smaps": smaps if smaps is not None else smaps_text()}
    for f, text in files.items():
        with open(os.path.join(d, f), "w") as fh:
            fh.write(text)
    return d


def add_system(proc, meminfo=None, extra_lines=""):
    info = dict(MEMINFO)
    info.update(meminfo or {})
    with open(os.path.join(proc, "meminfo"), "w") as fh:
        for k, v in info.items():
            fh.write(f"{k}:{v:>16} kB\n" if k not in ("HugePages_Total",) else f"{k}: {v}\n")
        fh.write(extra_lines)


# --- the cases: each builds proc under root and returns (pids to name, extra checks) ---

def case_deep_chain(proc):
    """10,000 processes, each the parent of the next."""
    add_process(proc, 1, 0, "init")
    for pid in range(2, 10002):
        add_process(proc, pid, pid - 1)
    add_system(proc)
    return [5000], [check_chain_depth(10000)]


def case_cycles(proc):
    """A process that is its own parent, two that are each other's, a 3-cycle with a tail."""
    add_process(proc, 1, 0, "init")
    add_process(proc, 10, 10, "self")
    add_process(proc, 20, 21, "twoa")
    add_process(proc, 21, 20, "twob")
    add_process(proc, 30, 32, "threea")
    add_process(proc, 31, 30, "threeb")
    add_process(proc, 32, 31, "threec")
    add_process(proc, 33, 31, "tail")
    add_system(proc)
    return [10, 20, 31], [check_all_in_tree(8)]


SYSV_HEAD = ("       key      shmid perms                  size  cpid  lpid nattch   uid   gid  "
             "cuid  cgid      atime      dtime      ctime                   rss                  swap\n")


def sysv_line(key, shmid, perms, size, cpid, nattch, rss=0):
    return (f"{key:>10} {shmid:>10}  {perms:>4} {size:>21} {cpid:>5} {cpid:>5} {nattch:>6} "
            f"    0     0     0     0          0          0 1700000000 {rss:>21} {0:>21}\n")


def replace_with_fifo(path):
    os.unlink(path)
    os.mkfifo(path)


def case_special_files(proc):
    """FIFOs where smaps, status, smaps_rollup and meminfo belong; /dev/zero as a rollup."""
    add_process(proc, 1, 0, "init")
    for pid in (100, 101, 102, 103):
        add_process(proc, pid, 1)
    replace_with_fifo(os.path.join(proc, "100", "smaps"))
    replace_with_fifo(os.path.join(proc, "101", "status"))
    replace_with_fifo(os.path.join(proc, "102", "smaps_rollup"))
    if os.geteuid() == 0:
        os.unlink(os.path.join(proc, "103", "smaps_rollup"))
        os.mknod(os.path.join(proc, "103", "smaps_rollup"), 0o444 | stat.S_IFCHR,
                 os.makedev(1, 5))
    add_system(proc)
    replace_with_fifo(os.path.join(proc, "meminfo"))
    return [100, 103], [check_refused(["ps"], "not a regular file"),
                        check_refused(["maps", "100"], "100/smaps: not a regular file"),
                        check_refused(["system"], "meminfo: not a regular file")]


def case_links_out(proc):
    """sysvipc, sys and a PID directory as symbolic links out of the tree."""
    outside = os.path.join(os.path.dirname(proc), "outside")
    add_process(proc, 1, 0, "init")
    add_process(proc, 100, 1)
    add_system(proc)
    os.makedirs(os.path.join(outside, "sysvipc"))
    with open(os.path.join(outside, "sysvipc", "shm"), "w") as fh:
        fh.write(SYSV_HEAD + sysv_line(0x5ec7e7, 4242, 600, 1 << 20, 100, 0, 1 << 20))
    os.makedirs(os.path.join(outside, "sys", "vm"))
    with open(os.path.join(outside, "sys", "vm", "max_map_count"), "w") as fh:
        fh.write("4242\n")
    os.symlink("../outside/sysvipc", os.path.join(proc, "sysvipc"))
    os.symlink(os.path.join(outside, "sys"), os.path.join(proc, "sys"))
    add_process(outside, 200, 1)
    os.symlink("../outside/200", os.path.join(proc, "200"))
    return [100], [check_refused(["ps"], "200/: a symbolic link: not followed"),
                   check_not_in_output(["shm", "-J"], "4242", drop=["200"]),
                   check_not_in_output(["maps", "100", "-J"], "4242")]


def case_numbers(proc):
    """nan, inf, 1e308 and 400 digits in pressure; Shmem above Buffers + Cached; SwapFree
    above SwapTotal: JSON stays JSON, and each spoiled figure is unknown, said once."""
    add_process(proc, 1, 0, "init")
    add_process(proc, 100, 1)
    add_system(proc, {"Shmem": 100000, "SwapTotal": 1000, "SwapFree": 2000})
    os.makedirs(os.path.join(proc, "pressure"))
    with open(os.path.join(proc, "pressure", "memory"), "w") as fh:
        fh.write("some avg10=nan avg60=inf avg300=1e308 total=0\n"
                 f"full avg10={'9' * 400} avg60=-inf avg300=0.50 total=0\n")
    return [100], [check_system_unknowns]


def case_huge(proc):
    """Figures whose sums pass 2^64: every sum is unknown, never 16E."""
    big = 1 << 53  # kB: 2^63 bytes
    add_process(proc, 1, 0, "init", rollup=rollup_text(big, {"SwapPss": big, "Swap": big}))
    add_process(proc, 100, 1, rollup=rollup_text(big, {"SwapPss": big, "Swap": big}))
    add_system(proc, {"MemTotal": big, "AnonPages": big, "Cached": big, "MemFree": big,
                      "Slab": big, "SReclaimable": big, "SUnreclaim": big})
    return [100], [check_sums_unknown]


def case_duplicate_keys(proc):
    """A key twice in smaps_rollup, smaps, status and meminfo: each file is malformed."""
    add_process(proc, 1, 0, "init")
    add_process(proc, 100, 1, rollup=rollup_text(16, dup=("Rss", 1)))
    add_process(proc, 101, 1, smaps=smaps_text() .replace("Swap:", "Rss: 4 kB\nSwap:", 1))
    add_process(proc, 102, 1, status=status_text(102, 1) + "VmSwap:\t 1 kB\n")
    add_system(proc, extra_lines="MemFree: 1 kB\n")
    return [101], [check_refused(["ps", "-p", "100"], "100/smaps_rollup: malformed file"),
                   check_refused(["maps", "101"], "101/smaps: malformed file"),
                   check_refused(["ps", "-p", "102"], "102/status: malformed file"),
                   check_refused(["system"], "meminfo: malformed file")]


def case_sysv_hidden(proc):
    """SysV segments whose mappers are hidden: one marked for removal (SHM_DEST), one not."""
    add_process(proc, 1, 0, "init")
    add_system(proc)
    os.makedirs(os.path.join(proc, "sysvipc"))
    with open(os.path.join(proc, "sysvipc", "shm"), "w") as fh:
        fh.write(SYSV_HEAD + sysv_line(0, 7, 1600, 1 << 20, 4000, 2, 1 << 20)
                 + sysv_line(0x1234, 8, 600, 1 << 20, 4001, 1, 1 << 20))
    return [], [check_sysv_hidden]


def case_owned_contradiction(proc):
    """A process whose smaps maps more of a shared object than its smaps_rollup's PSS."""
    shm = dict(name="/dev/shm/obj", perms="rw-s", dev="00:1a", inode=777, start=0x7f0000000000,
               pages=256)
    add_process(proc, 1, 0, "init")
    add_process(proc, 100, 1, smaps=smaps_text(rss_kb=512, extra={"Pss_Anon": 0, "Pss_Shmem": 512,
                                                                  "Anonymous": 0}, **shm))
    add_process(proc, 101, 1, rollup=rollup_text(16),
                smaps=smaps_text(rss_kb=1024, extra={"Pss_Anon": 0, "Pss_Shmem": 1024,
                                                     "Anonymous": 0}, **shm))
    add_system(proc)
    return [100, 101], [check_owned_contradiction]


def case_escapes(proc):
    """Terminal escapes and control bytes in command lines and mapping names."""
    add_process(proc, 1, 0, "init")
    d = add_process(proc, 100, 1, smaps=smaps_text(name="/tmp/\x1b]0;owned\x07lib\x7f.so"))
    with open(os.path.join(d, "cmdline"), "w") as fh:
        fh.write("/bin/sh\0-c\0\x1b[2J\x1b[31mred\r\n\x08\0")
    # a name of bytes that are no UTF-8, with a quote, a backslash and a control byte
    bad = b'x\xff\xfe"\\\x01y'
    d = add_process(proc, 101, 1)
    for f, text in (("status", status_text(101, 1).encode().replace(b"\tapp\n", b"\t" + bad + b"\n", 1)),
                    ("stat", stat_text(101, 1).encode().replace(b"(app)", b"(" + bad + b")")),
                    ("cmdline", b"/usr/bin/" + bad + b"\0")):
        with open(os.path.join(d, f), "wb") as fh:
            fh.write(text)
    add_system(proc)
    return [100, 101], [check_no_control_bytes, check_metrics_valid]


def case_bad_mappings(proc):
    """smaps out of address order (a wrong largest gap before), overlapping (as a live read
    shows when the address space changes under it), and a mapping of no size."""
    add_process(proc, 1, 0, "init")
    add_process(proc, 100, 1, smaps=smaps_text(0x800000) + smaps_text(0x400000))
    add_process(proc, 101, 1, smaps=smaps_text(0x400000) + smaps_text(0x402000))
    add_process(proc, 102, 1, smaps=smaps_text(0x400000, pages=0))
    add_system(proc)
    return [100, 101], [check_refused(["maps", "102"], "102/smaps: malformed file"),
                        check_gap("100", None), check_gap("101", 0x406000)]


def case_gpu(proc):
    """DRM and dma-buf fds whose fdinfo is a FIFO or a link out of the tree, figures of 2^63
    bytes twice in one process, numbers past 2^64, a dma-buf without a size, an fd
    directory that is a file, and 3000 clients and buffers in one process."""
    def fds(pid, entries):
        d = os.path.join(proc, str(pid))
        os.makedirs(os.path.join(d, "fd"), exist_ok=True)
        os.makedirs(os.path.join(d, "fdinfo"), exist_ok=True)
        for fd, (target, info) in entries.items():
            os.symlink(target, os.path.join(d, "fd", str(fd)))
            if info is not None:
                with open(os.path.join(d, "fdinfo", str(fd)), "w") as fh:
                    fh.write(info)
        return d
    huge = "drm-driver:\tamdgpu\ndrm-client-id:\t{}\ndrm-resident-vram:\t8589934592 GiB\n"
    add_process(proc, 1, 0, "init")
    for pid in range(100, 107):
        add_process(proc, pid, 1, "gpu")
    add_system(proc)
    d = fds(100, {10: ("/dev/dri/renderD128", None)})
    os.mkfifo(os.path.join(d, "fdinfo", "10"))
    d = fds(101, {11: ("/dev/dri/card0", None)})
    os.symlink("/etc/passwd", os.path.join(d, "fdinfo", "11"))
    fds(102, {3: ("/dev/dri/renderD128", huge.format(1)), 4: ("/dev/dri/renderD128",
                                                             huge.format(2))})
    fds(103, {5: ("/dev/dri/renderD128", "drm-driver: x\ndrm-total-vram: 99999999999999999999\n")})
    fds(104, {6: ("/dmabuf:", "ino:\t7\nexp_name:\tsystem-heap\n")})
    with open(os.path.join(proc, "105", "fd"), "w") as fh:
        fh.write("not a directory\n")
    many = {fd: ("/dev/dri/renderD128" if fd % 2 else "/dmabuf:x",
                 f"drm-driver:\tamdgpu\ndrm-client-id:\t{fd}\ndrm-resident-gtt:\t4 KiB\n"
                 if fd % 2 else f"ino:\t{fd}\nsize:\t4096\nexp_name:\tsystem-heap\n")
            for fd in range(3, 3003)}
    fds(106, many)
    return [106], [check_refused(["ps", "-p", "100", "-o", "+GPU"], "fdinfo/10: not a regular file"),
                   check_refused(["ps", "-p", "101", "-o", "+GPU"], "fdinfo/11: a symbolic link"),
                   check_refused(["ps", "-p", "103", "-o", "+GPU"], "fdinfo/5: malformed file"),
                   check_refused(["ps", "-p", "104", "-o", "+DMABUF"], "fdinfo/6: malformed file"),
                   check_refused(["ps", "-p", "105", "-o", "+GPU"], "105/fd: "),
                   check_gpu_sums]


def check_gpu_sums(mem, src):
    r = run(mem, src, ["ps", "-p", "106", "-o", "+GPU"])
    assert r.returncode == 1 and "100/fdinfo/10: not a regular file" in r.stderr, \
        f"a share is divided among all holders: the others' fds are read ({r.stderr})"
    for pid in (100, 101, 103, 104, 105):  # the malformed ones out: the sums
        shutil.rmtree(os.path.join(src, str(pid)), ignore_errors=True)
        if os.path.isfile(os.path.join(src, str(pid))):
            os.unlink(os.path.join(src, str(pid)))
    r = run(mem, src, ["ps", "-p", "102,106", "-o", "PID,VRAM,GPU,DMABUF", "-J", "-t"])
    assert r.returncode == 0, r.stderr
    doc = load_json(r.stdout)
    rows = {p["pid"]: p for p in doc["processes"]}
    assert rows[102]["vram"] is None, f"2 x 2^63 bytes of VRAM: {rows[102]['vram']}, not unknown"
    assert rows[106]["gpu"] == 1500 * 4096, rows[106]
    assert rows[106]["dmabuf"] is None, f"no maps: what it maps alone is unknown: {rows[106]}"
    with open(os.path.join(src, "106", "maps"), "w") as fh:
        fh.write("00400000-00401000 r-xp 00000000 08:01 42 /usr/bin/gpu\n")
    r = run(mem, src, ["ps", "-p", "106", "-o", "PID,DMABUF", "-J"])
    assert load_json(r.stdout)["processes"][0]["dmabuf"] == 1500 * 4096, r.stdout


CASES = {"deep-chain": case_deep_chain, "cycles": case_cycles,
         "special-files": case_special_files, "links-out": case_links_out,
         "numbers": case_numbers, "huge": case_huge, "duplicate-keys": case_duplicate_keys,
         "sysv-hidden": case_sysv_hidden, "owned-contradiction": case_owned_contradiction,
         "escapes": case_escapes, "bad-mappings": case_bad_mappings, "gpu": case_gpu}

LIMITS = {"huge": (1 << 63) + (1 << 62)}  # inputs of 2^63: any two of them overflow


# --- checks ---

def tree_json(mem, src, *args):
    r = run(mem, src, ["tree", "-J", "-o", "PID,PPID,PSS,SUBPSS", *args])
    assert r.returncode == 0, r.stderr
    return load_json(r.stdout)


def check_chain_depth(n):
    def check(mem, src):
        doc = tree_json(mem, src)
        nodes = list(json_tree_nodes(doc["processes"]))
        assert len(nodes) == n + 1, f"{len(nodes)} nodes in the tree, not {n + 1}"
        for node, parent in nodes:
            if parent is not None:
                assert node["ppid"] == parent, f"{node['pid']} under {parent}"
        root = doc["processes"][0]
        assert root["subpss"] == (n + 1) * 16384, root["subpss"]
    return check


def check_all_in_tree(n):
    def check(mem, src):
        doc = tree_json(mem, src)
        pids = [node["pid"] for node, _ in json_tree_nodes(doc["processes"])]
        assert sorted(pids) == sorted(set(pids)) and len(pids) == n, pids
        total = sum(node["pss"] for node, _ in json_tree_nodes(doc["processes"]))
        roots = sum(node["subpss"] for node in doc["processes"])
        assert roots == total, f"roots' SUBPSS {roots} against Σ PSS {total}"
        for pid in (10, 20, 31):
            sub = tree_json(mem, src, str(pid))
            assert sub["processes"][0]["pid"] == pid, sub
    return check


def check_refused(args, message):
    """args must fail with exit 1 and a message naming what was refused."""
    def check(mem, src):
        r = run(mem, src, args)
        assert r.returncode == 1 and message in r.stderr, (r.returncode, r.stderr)
    check.__name__ = f"refused {' '.join(args)}"
    return check


def check_not_in_output(args, text, drop=()):
    """What lies outside the tree must not show in args' output (drop: entries removed
    from the tree first, so that the view can run)."""
    def check(mem, src):
        for d in drop:
            os.unlink(os.path.join(src, d))
        r = run(mem, src, args)
        assert r.returncode == 0, r.stderr
        assert text not in r.stdout, f"{text} read from outside the tree: {r.stdout[:300]}"
    check.__name__ = f"jail {' '.join(args)}"
    return check


def check_no_control_bytes(mem, src):
    for view in (["ps", "-o", "+COMMAND"], ["maps", "100"], ["libs"], ["tree"],
                 ["groups", "--by", "pid"]):
        for fmt in FORMATS:
            r = subprocess.run([mem, "--source", src, *view, *fmt], capture_output=True,
                               timeout=TIMEOUT)
            assert r.returncode == 0, r.stderr
            bad = sorted({c for c in r.stdout if (c < 0x20 and c not in b"\r\n") or c == 0x7f})
            assert not bad, f"{' '.join(view + fmt)} writes control bytes {bad}"


def check_metrics_valid(mem, src):
    """The exposition is valid UTF-8 and promtool takes it, for every --by, whatever bytes
    the names hold."""
    for by in ("comm", "exe", "user", "tree", "pid", "app"):
        r = subprocess.run([mem, "--source", src, "export", "--by", by], capture_output=True,
                           timeout=TIMEOUT)
        assert r.returncode == 0, r.stderr
        try:
            r.stdout.decode("utf-8")
        except UnicodeDecodeError as e:
            raise AssertionError(f"export --by {by}: not UTF-8: {e}")
        if shutil.which("promtool"):
            p = subprocess.run(["promtool", "check", "metrics"], input=r.stdout,
                               capture_output=True, timeout=TIMEOUT)
            assert p.returncode == 0 and not p.stdout.strip(), \
                f"export --by {by}: promtool: {p.stdout[:300]!r} {p.stderr[:300]!r}"


def check_gap(pid, start):
    """maps pid: the largest gap starts at start (None: unknown)."""
    def check(mem, src):
        r = run(mem, src, ["maps", pid, "-J"])
        assert r.returncode == 0, r.stderr
        got = load_json(r.stdout)["processes"][0]["summary"]["largest_gap_start"]
        want = None if start is None else f"{start:08x}"
        assert got == want, f"largest gap at {got}, not {want}"
    check.__name__ = f"gap of {pid}"
    return check


def check_system_unknowns(mem, src):
    r = run(mem, src, ["system", "-J"])
    assert r.returncode == 0, r.stderr
    doc = load_json(r.stdout)
    assert doc["pressure_some"] == {"avg10": None, "avg60": None, "avg300": None}, doc
    assert doc["pressure_full"]["avg10"] is None and doc["pressure_full"]["avg60"] is None
    assert doc["pressure_full"]["avg300"] == 0.5, doc["pressure_full"]
    rows = {row["name"]: row for row in doc["system"]}
    assert rows["page cache"]["size"] is None, rows["page cache"]
    assert doc["swap_used"] is None, doc["swap_used"]
    assert r.stderr.count("memledger: ") == 2, r.stderr
    assert "Shmem exceeds" in r.stderr and "SwapFree exceeds" in r.stderr, r.stderr


def check_sums_unknown(mem, src):
    for args in (["ps", "-J", "-t", "-o", "PID,RSS,PSS,SWAP,SWAPPSS"], ["users", "-J", "-t"],
                 ["system", "-J"]):
        r = run(mem, src, args)
        assert r.returncode == 0, r.stderr
        big = find_big(load_json(r.stdout), LIMITS["huge"])
        assert not big, f"{' '.join(args)}: {big}"
    r = run(mem, src, ["ps", "-J", "-t", "-o", "PID,RSS,PSS"])
    totals = load_json(r.stdout)["totals"]
    assert totals["rss"] is None and totals["pss"] is None, totals


def check_sysv_hidden(mem, src):
    r = run(mem, src, ["shm", "-J", "-o", "INODE,MAPPERS,PERSISTS"])
    assert r.returncode == 0, r.stderr
    rows = {o["inode"]: o for o in load_json(r.stdout)["objects"]}
    assert rows[7]["persists"] == "no" and rows[7]["mappers"] == 2, rows[7]
    assert rows[8]["persists"] == "yes" and rows[8]["mappers"] == 1, rows[8]


def check_owned_contradiction(mem, src):
    r = run(mem, src, ["ps", "-J", "-o", "PID,PSS,OWNED"])
    assert r.returncode == 0, r.stderr
    owned = {p["pid"]: p["owned"] for p in load_json(r.stdout)["processes"]}
    assert owned[101] is None, owned
    assert "OWNED is unknown" in r.stderr, r.stderr


# --- outputs: never written over what is not ours ---

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "proc-basic")


def writers(mem):
    """Every file-writing option, as a function of the target: (name, argv, the file that
    is written, given a target NAME in directory d)."""
    cap = os.path.join(os.path.dirname(mem), "memledger-capture")
    src = ["--source", DATA]
    return [
        ("report -o", lambda t: [mem, *src, "report", "-o", t], lambda t: t),
        ("report --chart -o", lambda t: [mem, *src, "report", "--chart", "bar", "-o", t],
         lambda t: t),
        ("capture -o", lambda t: [mem, "capture", "-o", t], lambda t: t),
        ("memledger-capture -o", lambda t: [cap, "-o", t], lambda t: t),
        ("export --textfile", lambda t: [mem, *src, "export", "--textfile", t],
         lambda t: os.path.join(t, "memledger.prom")),
    ]


def hidden_files(d):
    """The hidden (temporary) files in d and its subdirectories one level down."""
    left = [f for f in os.listdir(d) if f.startswith(".")]
    for sub in os.listdir(d):
        if os.path.isdir(os.path.join(d, sub)):
            left += [f for f in os.listdir(os.path.join(d, sub)) if f.startswith(".")]
    return left


def output_cases(mem):
    """Each writer against a character device made with mknod, a FIFO with and without a
    reader, a dangling symlink, a symlink to a regular file, '', a missing directory.
    Returns (runs, failures)."""
    failures, runs = [], 0
    for name, argv, written in writers(mem):
        tar = "capture" in name
        d = tempfile.mkdtemp(prefix="ml-outputs-")
        try:
            def path(base):
                return os.path.join(d, base + (".tar" if tar else ""))

            def target(base):  # the option's value for a file called base
                return d if "textfile" in name else path(base)

            def go(base, want_rc, msg=None, reader=False):
                nonlocal runs
                runs += 1
                if "textfile" in name:  # its DIR holds memledger.prom as base says
                    sub = os.path.join(d, base)
                    os.makedirs(sub, exist_ok=True)
                    t = sub
                else:
                    t = path(base)
                got = {}
                if reader:
                    th = threading.Thread(target=lambda: got.update(
                        data=open(written(t), "rb").read()))
                    th.start()
                try:
                    r = subprocess.run(argv(t), capture_output=True, text=True, timeout=60)
                except subprocess.TimeoutExpired:
                    failures.append(f"{name} {base}: hangs")
                    return None
                if reader:
                    th.join(10)
                    if not got.get("data"):
                        failures.append(f"{name} {base}: the FIFO's reader got nothing")
                want = want_rc if isinstance(want_rc, tuple) else (want_rc,)
                if r.returncode not in want or (msg and msg not in r.stderr):
                    failures.append(f"{name} {base}: exit {r.returncode} "
                                    f"(want {want_rc}, {msg!r}): {r.stderr[-300:]}")
                if r.returncode and not r.stderr.strip():
                    failures.append(f"{name} {base}: exit {r.returncode} without a message")
                return t

            def make(base, how):
                t = target(base) if "textfile" not in name else os.path.join(d, base)
                f = written(t)
                os.makedirs(os.path.dirname(f), exist_ok=True)
                how(f)
                return f

            chr_node = make("chr", lambda f: os.mknod(f, 0o600 | stat.S_IFCHR, os.makedev(1, 3)))
            fifo = make("fifo", os.mkfifo)
            fifo2 = make("fifo2", os.mkfifo)
            dangling = make("dangling", lambda f: os.symlink(os.path.join(d, "nothing"), f))
            real = os.path.join(d, "real" + (".tar" if tar else ""))
            open(real, "w").write("old")
            link = make("link", lambda f: os.symlink(real, f))
            go("chr", 0)
            if not stat.S_ISCHR(os.stat(chr_node).st_mode):
                failures.append(f"{name}: the character device was replaced")
            go("fifo", 0, reader=True)
            go("fifo2", (1, 2), "nothing reads")  # 2 when refused before the work
            for f in (fifo, fifo2):
                if not stat.S_ISFIFO(os.stat(f).st_mode):
                    failures.append(f"{name}: the FIFO was replaced")
            go("dangling", 2, "symlink to nothing")
            if os.path.exists(os.path.join(d, "nothing")) or not os.path.islink(dangling):
                failures.append(f"{name}: the dangling symlink was followed or replaced")
            go("link", 0)
            if not os.path.islink(link) or open(real, "rb").read() == b"old":
                failures.append(f"{name}: the symlink was replaced, or its file not written")
            runs += 2
            for bad, msg in (("", "empty"), (os.path.join(d, "no", "such", "x.tar" if tar
                                                          else "x"), "not exist")):
                r = subprocess.run(argv(bad), capture_output=True, text=True, timeout=60)
                opt = name.split()[-1]
                if r.returncode != 2 or msg not in r.stderr or opt not in r.stderr:
                    failures.append(f"{name} {bad!r}: exit {r.returncode}, {r.stderr!r}")
            left = hidden_files(d)
            if left:
                failures.append(f"{name}: temporary files left: {left}")
        finally:
            shutil.rmtree(d, ignore_errors=True)
    return runs, failures


# --- exits that speak ---

def exit_cases(mem):
    """Every write error, an unknown terminal, a bad number and a signal during a capture
    end with one message and the documented status. Returns (runs, failures)."""
    failures, runs = [], 0
    src = ["--source", DATA]

    def expect(what, argv, rc, msg, **kw):
        nonlocal runs
        runs += 1
        try:
            kw.setdefault("stdout", subprocess.PIPE)
            r = subprocess.run(argv, stderr=subprocess.PIPE, text=True, timeout=60, **kw)
        except subprocess.TimeoutExpired:
            failures.append(f"{what}: hangs")
            return
        if r.returncode != rc or msg not in r.stderr or r.stderr.count("memledger") > 3:
            failures.append(f"{what}: exit {r.returncode} (want {rc}, {msg!r}): "
                            f"{r.stderr[-300:]!r}")
    with open("/dev/full", "w") as full:
        for argv in ([mem, "top", "-b", "-n", "1", *src], [mem, "diff", DATA, DATA],
                     [mem, *src, "report", "-o", "-"], [mem, *src, "ps"],
                     [mem, *src, "export"], [mem, *src, "ps", "-J"]):
            expect(f"{' '.join(argv[1:3])} > /dev/full", argv, 1,
                   "cannot write the output: No space left on device", stdout=full)
    env = dict(os.environ, TERM="unknown-term")
    if shutil.which("script"):
        expect("top with TERM=unknown-term", ["script", "-eqc", f"{mem} top {' '.join(src)}",
                                              "/dev/null"], 1, "", env=env,
               stdin=subprocess.DEVNULL)
        r = subprocess.run(["script", "-eqc", f"{mem} top {' '.join(src)}", "/dev/null"],
                           capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
                           timeout=30)
        runs += 1
        if "unknown-term" not in r.stdout:
            failures.append(f"top with TERM=unknown-term: not said: {r.stdout[-200:]!r}")
    for argv, msg in (([mem, "top", "-b", "-n", "99999999999999999999"], "-n (--iterations)"),
                      ([mem, "top", "-b", "--window=abc"], "--window"),
                      ([mem, "top", "-b", "--pss-every=0"], "--pss-every"),
                      ([mem, "ps", "-c", "99999999999999999999"], "-c"),
                      ([mem, "serve", "--listen", "127.0.0.1:70000"], "port"),
                      ([mem, "serve", "--listen", ":4294967297"], "port")):
        expect(" ".join(argv[1:]), argv, 2, msg)
    if os.geteuid() == 0:  # a capture of every process, ended by a signal once its
        # temporary file exists, and a series ended by SIGTERM
        for sig, argv, want in ((signal.SIGQUIT, ["--exact", "-o", "s.tar.zst"], -signal.SIGQUIT),
                                (signal.SIGUSR1, ["--exact", "-o", "s.tar.zst"], -signal.SIGUSR1),
                                (signal.SIGTERM, ["--exact", "-o", "s.tar.zst"], -signal.SIGTERM),
                                (signal.SIGTERM, ["-i", "0.2", "-o", "./"], 0)):
            d = tempfile.mkdtemp(prefix="ml-exits-")
            try:
                p = subprocess.Popen([mem, "capture", *argv], cwd=d, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
                end = time.time() + 10
                while not hidden_files(d) and p.poll() is None and time.time() < end:
                    time.sleep(0.005)
                p.send_signal(sig)
                rc = p.wait(timeout=30)
                runs += 1
                what = f"capture {' '.join(argv)}: {sig.name} while it writes"
                if rc not in (want, 0):  # 0: it was done already
                    failures.append(f"{what}: exit {rc}, not {want}")
                if hidden_files(d):
                    failures.append(f"{what}: left {hidden_files(d)}")
            finally:
                shutil.rmtree(d, ignore_errors=True)
    return runs, failures


# --- running ---

def load_json(text):
    """json.loads on output nested as deep as a process chain."""
    box = {}

    def parse():
        try:
            box["doc"] = json.loads(text)
        except Exception as e:  # noqa: BLE001 - reported below
            box["err"] = e
    sys.setrecursionlimit(200000)
    threading.stack_size(256 * 1024 * 1024)
    t = threading.Thread(target=parse)
    t.start()
    t.join()
    if "err" in box:
        raise AssertionError(f"invalid JSON: {box['err']}")
    return box["doc"]


def run(mem, src, args):
    return subprocess.run([mem, "--source", src, *args], capture_output=True, text=True,
                          errors="replace", timeout=TIMEOUT)


def check_view(mem, src, args, limit):
    """Runs one view; returns a failure message or None."""
    try:
        r = run(mem, src, args)
    except subprocess.TimeoutExpired:
        return f"hangs (more than {TIMEOUT} s)"
    if r.returncode not in (0, 1):
        return f"exit {r.returncode}: {r.stderr[-500:]}"
    if r.returncode == 1 and not r.stderr.startswith("memledger: "):
        return f"exit 1 without a message: {r.stderr[:200]!r}"
    if r.returncode != 0:
        return None
    if "-J" in args:
        try:
            doc = load_json(r.stdout)
        except AssertionError as e:
            return str(e)
        big = find_big(doc, limit)
        if big:
            return f"impossible figure {big}"
    if "--csv" in args:
        rows = list(csv.reader(io.StringIO(r.stdout, newline="")))
        if rows and any(len(row) != len(rows[0]) for row in rows):
            return "ragged CSV"
    return None


def find_big(doc, limit):
    """The first number above limit in doc, named by its key, or None."""
    todo = [("", doc)]
    while todo:
        key, v = todo.pop()
        if isinstance(v, dict):
            todo.extend(v.items())
        elif isinstance(v, list):
            todo.extend((key, x) for x in v)
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and v > limit:
            if not any(k in key for k in ("pid", "inode", "start", "end", "key", "count",
                                          "uid", "threads", "vss", "size", "max_map", "gap")):
                return f"{key} = {v}"
    return None


def run_case(mem, name, build):
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # tmpfs: 50,000 files fast
    root = tempfile.mkdtemp(prefix=f"ml-hostile-{name}-", dir=shm)
    failures = []
    try:
        proc = os.path.join(root, "proc")
        os.makedirs(proc)
        pids, checks = build(proc)
        limit = LIMITS.get(name, 4 << 30)  # MemTotal is 1 GiB: no case justifies 4 GiB
        runs = [v + f for v in VIEWS for f in FORMATS]
        runs += [v + [str(p)] + f for v in PID_VIEWS for p in pids for f in FORMATS]
        runs += ONE_FORMAT
        for args in runs:
            msg = check_view(mem, proc, args, limit)
            if msg:
                failures.append(f"{name}: {' '.join(args)}: {msg}")
        for check in checks:
            try:
                check(mem, proc)
            except (AssertionError, subprocess.TimeoutExpired) as e:
                failures.append(f"{name}: {check.__name__}: {e}")
        return len(runs) + len(checks), failures
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main():
    mem = os.path.realpath(sys.argv[1])
    names = sys.argv[2:] or list(CASES) + ["outputs", "exits"]
    total = 0
    failures = []
    for name in names:
        n, f = (output_cases(mem) if name == "outputs" else exit_cases(mem) if name == "exits"
                else run_case(mem, name, CASES[name]))
        total += n
        failures += f
        print(f"{name}: {n - len(f)} of {n} runs and checks passed", flush=True)
    for f in failures:
        print("FAIL:", f)
    print(f"hostile: {total - len(failures)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
