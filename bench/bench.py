#!/usr/bin/env python3
"""memledger against the cost floor and its peers, on a workload of many processes.

    bench.py --memledger PATH [--children N] [--mappings M] [--rounds R]

Starts bench/workload (one parent with M mappings forked into N children), then times,
interleaved round by round, memledger's default view, `cat` of the same smaps_rollup
files, smem and smemstat; libs against `cat` of every smaps and smem -m; as root, the
exact mode (freed, tree, groups --by pid) against `cat` of every smaps and smaps_rollup
and procrank's one pread per page (bench/procrank_style.c), then again with a process
that reserves 1 TiB and writes --sparse pages across it; with --baseline, another build's
exact mode side by side; capture (.tar, .tar.gz, .tar.zst, --exact) against `cat` of the
files it reads, the snapshots' sizes, and ps, libs, maps and exact groups on a snapshot
against live; maps of one process with many mappings against `cat`. Prints the medians, the ratios and each one's peak RSS (through bench/peakrss.c).
Figures, not a pass/fail test.
"""
import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import time


def run(peakrss, cmd):
    """Runs cmd with its output discarded; returns (seconds, peak RSS in KiB)."""
    rss_file = os.path.join(os.path.dirname(peakrss), "bench-peakrss.out")
    start = time.perf_counter()
    subprocess.run([peakrss, rss_file] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    with open(rss_file) as f:
        return seconds, int(f.read())


def proc_paths(name):
    return [f"/proc/{d}/{name}" for d in sorted(os.listdir("/proc"), key=lambda d: d.zfill(10))
            if d.isdigit()]


def rollup_paths():
    return proc_paths("smaps_rollup")


def compare(title, commands, rounds, floor_name, peakrss, fresh=None):
    """Times commands interleaved, round by round; prints medians against floor_name's."""
    times = {name: [] for name in commands}
    peak = {name: 0 for name in commands}
    for _ in range(rounds):
        for name, cmd in commands.items():
            if fresh and name in fresh:
                cmd = fresh[name]()  # the same processes as now
            seconds, rss = run(peakrss, cmd)
            times[name].append(seconds)
            peak[name] = max(peak[name], rss)
    print(f"\n{title}; {rounds} rounds, interleaved")
    floor = statistics.median(times[floor_name])
    first = statistics.median(times[next(iter(commands))])
    print(f"{'command':24} {'median':>10} {'vs ' + floor_name[:10]:>14} {'paired':>7} "
          f"{'vs first':>9} {'peak RSS':>10}")
    for name in commands:
        med = statistics.median(times[name])
        # The machine's speed drifts from one second to the next: the median of each
        # round's ratio, taken moments apart, is steadier than the ratio of the medians.
        paired = statistics.median(t / f for t, f in zip(times[name], times[floor_name]))
        print(f"{name:24} {med * 1000:8.1f}ms {med / floor:13.2f}x {paired:6.2f}x "
              f"{med / first:8.1f}x {peak[name] / 1024:8.1f}M")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--memledger", required=True)
    ap.add_argument("--children", type=int, default=500)
    ap.add_argument("--mappings", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--libs-rounds", type=int, default=5)
    ap.add_argument("--maps-mappings", type=int, default=60000)
    ap.add_argument("--baseline", help="another memledger build: its exact mode side by side")
    ap.add_argument("--snapshots", type=int, default=1, help="0: no snapshot runs")
    ap.add_argument("--snapshot-dir", default="/dev/shm",
                    help="where the snapshots are written (tmpfs: no disk in the figures)")
    ap.add_argument("--sparse", type=int, default=1000,
                    help="pages the 1 TiB sparse process writes (0: no such run)")
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    workload = os.path.join(os.path.dirname(args.memledger), "bench-workload")
    peakrss = os.path.join(os.path.dirname(args.memledger), "bench-peakrss")
    subprocess.run(["cc", "-O2", "-o", workload, os.path.join(here, "workload.c")], check=True)
    subprocess.run(["cc", "-O2", "-static", "-o", peakrss, os.path.join(here, "peakrss.c")], check=True)
    procrank = os.path.join(os.path.dirname(args.memledger), "bench-procrank-style")
    subprocess.run(["cc", "-O2", "-o", procrank, os.path.join(here, "procrank_style.c")], check=True)
    proc = subprocess.Popen([workload, str(args.children), str(args.mappings)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        if not proc.stdout.readline().startswith("ready"):
            sys.exit("workload did not start")
        nprocs = len(rollup_paths())
        title = (f"workload: {args.children} children x {args.mappings} mappings; "
                 f"{nprocs} processes on the machine")
        ps = {"memledger": [args.memledger], "memledger --threads 1": [args.memledger, "--threads", "1"],
              "cat smaps_rollup": ["cat"] + rollup_paths()}
        libs = {"memledger libs": [args.memledger, "libs"], "cat smaps": ["cat"] + proc_paths("smaps")}
        exact = {"memledger freed (exact)": [args.memledger, "freed", str(proc.pid)],
                 "memledger tree (exact)": [args.memledger, "tree"],
                 "groups --by pid (exact)": [args.memledger, "groups", "--by", "pid"],
                 "cat smaps": ["cat"] + proc_paths("smaps"),
                 "cat smaps_rollup": ["cat"] + rollup_paths(),
                 "procrank-style preads": [procrank]}
        if args.baseline:  # another build, side by side: the same commands
            exact["baseline freed"] = [args.baseline, "freed", str(proc.pid)]
            exact["baseline groups --by pid"] = [args.baseline, "groups", "--by", "pid"]
        fresh_exact = {"cat smaps": lambda: ["cat"] + proc_paths("smaps"),
                       "cat smaps_rollup": lambda: ["cat"] + rollup_paths()}
        for peer, cmd in (("smem", ["smem"]), ("smemstat", ["smemstat"])):
            if shutil.which(peer):
                ps[peer] = cmd
        if shutil.which("smem"):
            libs["smem -m"] = ["smem", "-m"]
        compare("ps: " + title, ps, args.rounds, "cat smaps_rollup", peakrss,
                {"cat smaps_rollup": lambda: ["cat"] + rollup_paths()})
        compare("libs: " + title, libs, args.libs_rounds, "cat smaps", peakrss,
                {"cat smaps": lambda: ["cat"] + proc_paths("smaps")})
        if os.geteuid() == 0:  # frame numbers: root only
            compare("exact mode (pagemap, kpagecount): " + title, exact, args.libs_rounds,
                    "cat smaps", peakrss, fresh_exact)
            if args.sparse:
                del exact["procrank-style preads"]  # one pread per page of 1 TiB: minutes
                with sparse_process(args, here) as pid:
                    exact["memledger freed (exact)"][2] = str(pid)
                    if args.baseline:
                        exact["baseline freed"][2] = str(pid)
                    compare(f"exact mode, with one process reserving 1 TiB and writing "
                            f"{args.sparse} pages across it (freed: of it): " + title, exact,
                            args.libs_rounds, "cat smaps", peakrss, fresh_exact)
        if args.snapshots:
            bench_snapshots(args, peakrss, proc.pid, title)
        bench_top(args, peakrss, title)
    finally:
        proc.stdin.close()
        proc.wait()
    bench_maps(args, workload, peakrss)


def cpu_seconds(cmd):
    """Runs cmd with its output discarded; returns its user + system CPU seconds."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    return usage.ru_utime + usage.ru_stime


def bench_top(args, peakrss, title):
    """memledger top's CPU per refresh against procps top -b -n 1, a full PSS refresh
    against cat of every smaps_rollup, and top's peak RSS."""
    frames = 10
    runs = {"memledger top, a refresh (PSS every 5th)":
            [args.memledger, "top", "-b", "-n", str(frames), "-d", "0.01"],
            "memledger top -n 1 (status and PSS of all)": [args.memledger, "top", "-b", "-n", "1"],
            "procps top -b -n 1": ["top", "-b", "-n", "1"],
            "cat smaps_rollup": None}
    cpu = {name: [] for name in runs}
    for _ in range(args.libs_rounds):
        for name, cmd in runs.items():
            seconds = cpu_seconds(cmd or ["cat"] + rollup_paths())
            cpu[name].append(seconds / frames if "a refresh" in name else seconds)
    print(f"\ntop: CPU seconds (user + system) per refresh; {args.libs_rounds} rounds: " + title)
    floor = statistics.median(cpu["procps top -b -n 1"])
    for name in runs:
        med = statistics.median(cpu[name])
        print(f"  {name:44} {med * 1000:8.1f} ms CPU {med / floor:6.2f}x procps top")
    _, rss = run(peakrss, runs["memledger top, a refresh (PSS every 5th)"])
    print(f"  memledger top -b -n {frames}: peak RSS {rss / 1024:.1f} MiB")


def bench_snapshots(args, peakrss, workload_pid, title):
    """capture against cat of the files it reads (the floor), per compression, with their
    sizes; then ps, libs and maps on a snapshot against the same views live."""
    files = ["status", "stat", "cmdline", "comm", "cgroup", "smaps_rollup", "smaps"]
    system = ["/proc/meminfo", "/proc/vmstat", "/proc/swaps", "/proc/sysvipc/shm", "/proc/loadavg"]

    def floor():
        return ["cat"] + system + [p for f in files for p in proc_paths(f)]

    snap = {ext: os.path.join(args.snapshot_dir, f"memledger-bench.{ext}")
            for ext in ("tar", "tar.gz", "tar.zst")}
    cmds = {f"capture .{ext}": [args.memledger, "capture", "-o", path] for ext, path in snap.items()}
    exact = os.path.join(args.snapshot_dir, "memledger-bench-exact.tar.zst")
    if os.geteuid() == 0:
        cmds["capture --exact .tar.zst"] = [args.memledger, "capture", "--exact", "-o", exact]
    cmds["cat of those files"] = floor()
    try:
        compare("capture: " + title, cmds, args.libs_rounds, "cat of those files", peakrss,
                {"cat of those files": floor})
        print("\nsnapshot sizes:")
        for name, path in list(snap.items()) + [("exact .tar.zst", exact)]:
            if os.path.exists(path):
                print(f"  {name:16} {os.path.getsize(path) / 2**20:8.1f} MiB")
        views = {"ps live": [args.memledger],
                 "ps on .tar": [args.memledger, "--source", snap["tar"]],
                 "ps on .tar.zst": [args.memledger, "--source", snap["tar.zst"]]}
        compare("ps on a snapshot: " + title, views, args.rounds, "ps live", peakrss)
        views = {"libs live": [args.memledger, "libs"],
                 "libs on .tar": [args.memledger, "libs", "--source", snap["tar"]],
                 "libs on .tar.zst": [args.memledger, "libs", "--source", snap["tar.zst"]]}
        compare("libs on a snapshot: " + title, views, args.libs_rounds, "libs live", peakrss)
        pid = str(workload_pid)
        views = {"maps live": [args.memledger, "maps", pid],
                 "maps on .tar": [args.memledger, "maps", pid, "--source", snap["tar"]],
                 "maps on .tar.zst": [args.memledger, "maps", pid, "--source", snap["tar.zst"]]}
        compare("maps of the workload's parent on a snapshot: " + title, views, args.rounds,
                "maps live", peakrss)
        if os.path.exists(exact):
            views = {"groups --by pid live": [args.memledger, "groups", "--by", "pid"],
                     "groups --by pid on --exact": [args.memledger, "groups", "--by", "pid",
                                                    "--source", exact]}
            compare("exact mode on a snapshot: " + title, views, args.libs_rounds,
                    "groups --by pid live", peakrss)
    finally:
        for path in list(snap.values()) + [exact]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


@contextlib.contextmanager
def sparse_process(args, here):
    """The layout helper's sparse process (tests/live/layout.c): 1 TiB reserved, pages
    written across it, each a populated range of its own. Yields its PID."""
    helper = os.path.join(os.path.dirname(args.memledger), "bench-layout-helper")
    subprocess.run(["cc", "-O2", "-static", "-o", helper,
                    os.path.join(here, "..", "tests", "live", "layout.c")], check=True)
    proc = subprocess.Popen([helper, "sparse", str(args.sparse)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        if not line.startswith("ready"):
            sys.exit("the sparse process did not start")
        yield int(line.split()[1])
    finally:
        proc.stdin.close()
        proc.wait()


def bench_maps(args, workload, peakrss):
    """memledger maps of one process with many mappings, against cat of its smaps."""
    proc = subprocess.Popen([workload, "0", str(args.maps_mappings)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().split()
        if not line or line[0] != "ready":
            sys.exit("workload did not start")
        pid = line[1]
        compare(f"maps: one process with {args.maps_mappings} mappings",
                {"memledger maps": [args.memledger, "maps", pid], "cat smaps": ["cat", f"/proc/{pid}/smaps"]},
                args.rounds, "cat smaps", peakrss)
    finally:
        proc.stdin.close()
        proc.wait()


if __name__ == "__main__":
    main()
