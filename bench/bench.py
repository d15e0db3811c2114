#!/usr/bin/env python3
"""memledger against the cost floor and its peers, on a workload of many processes.

    bench.py --memledger PATH [--children N] [--mappings M] [--rounds R]

Starts bench/workload (one parent with M mappings forked into N children), then times,
interleaved round by round, memledger's default view, `cat` of the same smaps_rollup
files, smem and smemstat; libs against `cat` of every smaps and smem -m; as root, the
exact mode (freed, tree, groups --by pid, oom) against `cat` of every smaps and smaps_rollup
and procrank's one pread per page (bench/procrank_style.c), then again with a process
that reserves 1 TiB and writes --sparse pages across it; with --baseline, another build's
exact mode side by side; capture (.tar, .tar.gz, .tar.zst, --exact) against `cat` of the
files it reads, the snapshots' sizes, and ps, libs, maps and exact groups on a snapshot
against live; maps of one process with many mappings against `cat`; memledger serve's
scrape latency, reading time and RSS, against prometheus-process-exporter (--only serve:
that alone); report against the groups view (--only report). Prints the medians, the ratios and each one's peak RSS (through
bench/peakrss.c).
Figures, not a pass/fail test.
"""
import argparse
import contextlib
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request


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
    ap.add_argument("--scrapes", type=int, default=1000, help="serve's scrapes (0: no serve run)")
    ap.add_argument("--only", choices=["serve", "report", "gpu", "heaps", "capture"],
                    help="only this part")
    ap.add_argument("--baseline-capture",
                    help="with --only capture: another build's memledger-capture, beside")
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
        if args.only == "serve":
            bench_serve(args, f"workload: {args.children} children x {args.mappings} "
                        f"mappings; {nprocs} processes on the machine")
            return
        if args.only == "gpu":
            bench_gpu(args, peakrss, f"workload: {args.children} children x "
                      f"{args.mappings} mappings; {nprocs} processes on the machine")
            return
        if args.only == "heaps":
            bench_heaps(args, peakrss, f"workload: {args.children} children x "
                        f"{args.mappings} mappings; {nprocs} processes on the machine")
            proc.stdin.close()
            proc.wait()
            bench_maps(args, workload, peakrss)
            return
        if args.only == "capture":
            bench_capture(args, peakrss, f"workload: {args.children} children x "
                          f"{args.mappings} mappings; {nprocs} processes on the machine")
            return
        if args.only == "report":
            bench_report(args, peakrss, f"workload: {args.children} children x "
                         f"{args.mappings} mappings; {nprocs} processes on the machine")
            return
        title = (f"workload: {args.children} children x {args.mappings} mappings; "
                 f"{nprocs} processes on the machine")
        ps = {"memledger": [args.memledger], "memledger --threads 1": [args.memledger, "--threads", "1"],
              "cat smaps_rollup": ["cat"] + rollup_paths()}
        libs = {"memledger libs": [args.memledger, "libs"], "cat smaps": ["cat"] + proc_paths("smaps")}
        exact = {"memledger freed (exact)": [args.memledger, "freed", str(proc.pid)],
                 "memledger tree (exact)": [args.memledger, "tree"],
                 "groups --by pid (exact)": [args.memledger, "groups", "--by", "pid"],
                 "memledger oom (exact)": [args.memledger, "oom"],
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
        if args.scrapes:
            bench_serve(args, title)
        bench_report(args, peakrss, title)
        bench_gpu(args, peakrss, title)
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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


READING = re.compile(rb"^memledger_refresh_duration_seconds (\S+)\n"
                     rb"(?:#.*\n)*memledger_refresh_timestamp_seconds (\S+)$", re.M)


def scrape_times(port, n, path="/metrics", pace=0.0, readings=None):
    """Seconds of n sequential scrapes, each on a new connection, one every pace seconds;
    readings (a dict), when given, gets each reading's duration by its timestamp."""
    out = []
    for _ in range(n):
        time.sleep(pace)
        start = time.perf_counter()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        c.close()
        out.append(time.perf_counter() - start)
        m = READING.search(body) if readings is not None else None
        if m:
            readings[m.group(2)] = float(m.group(1))
    return out


def wait_http(port, proc, seconds=120):
    import urllib.request
    deadline = time.time() + seconds
    while time.time() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60).read()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def proc_cpu(pid):
    """User + system CPU seconds of pid so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        return {line.split(":")[0]: int(line.split()[1]) for line in f
                if line.startswith(("VmRSS", "VmHWM"))}


def bench_serve(args, title):
    """memledger serve: scrape latency (p50, p99 of 1,000 scrapes, a reading every 2 s
    meanwhile), a reading's wall and CPU time against cat of every smaps_rollup, the
    server's RSS; prometheus-process-exporter, which reads on each scrape, as the peer."""
    port = free_port()
    serve = subprocess.Popen([args.memledger, "serve", "--listen", f"127.0.0.1:{port}", "-i", "2"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_http(port, serve):
            print("serve did not start")
            return
        cpu0, t0 = proc_cpu(serve.pid), time.time()
        # spread over 20 s: ten readings, so that scrapes meet them
        durations = {}
        times = sorted(scrape_times(port, args.scrapes, pace=20 / args.scrapes,
                                    readings=durations))
        time.sleep(max(0, 20 - (time.time() - t0)))  # ten readings or more
        cpu1, t1 = proc_cpu(serve.pid), time.time()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60) as r:
            text = r.read().decode()
        size = len(text)
        rss = proc_rss(serve.pid)
    finally:
        serve.terminate()
        serve.wait()
    cat = statistics.median(run_wall(["cat"] + rollup_paths()) for _ in range(args.rounds))
    readings = (t1 - t0) / 2
    took = statistics.median(durations.values())
    print(f"\nserve: {args.scrapes} scrapes of {size / 1024:.0f} KiB over 20 s, a reading every "
          f"2 s meanwhile: " + title)
    print(f"  scrape p50 {statistics.median(times) * 1000:.2f} ms, "
          f"p99 {times[int(len(times) * 0.99) - 1] * 1000:.2f} ms, "
          f"max {times[-1] * 1000:.2f} ms")
    print(f"  a reading (median of {len(durations)}): {took * 1000:.1f} ms wall ({took / cat:.2f}x cat smaps_rollup, "
          f"{cat * 1000:.1f} ms), {(cpu1 - cpu0) / readings * 1000:.1f} ms CPU "
          f"(server CPU over {t1 - t0:.0f} s, scrapes included, / {readings:.0f} readings)")
    print(f"  server RSS {rss['VmRSS'] / 1024:.1f} MiB, peak {rss['VmHWM'] / 1024:.1f} MiB")
    peer = shutil.which("prometheus-process-exporter")
    if not peer:
        return
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as cfg:
        cfg.write("process_names:\n  - name: \"{{.Comm}}\"\n    cmdline:\n    - '.+'\n")
        cfg.flush()
        port = free_port()
        pe = subprocess.Popen([peer, "-config.path", cfg.name, "-gather-smaps=true",
                               "-web.listen-address", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if wait_http(port, pe):
                times = sorted(scrape_times(port, max(10, args.scrapes // 20)))
                rss = proc_rss(pe.pid)
                print(f"  prometheus-process-exporter -gather-smaps (reads on each scrape): "
                      f"p50 {statistics.median(times) * 1000:.1f} ms, p99 "
                      f"{times[int(len(times) * 0.99) - 1] * 1000:.1f} ms over {len(times)} "
                      f"scrapes, RSS {rss['VmRSS'] / 1024:.1f} MiB")
        finally:
            pe.terminate()
            pe.wait()


def bench_gpu(args, peakrss, title):
    """The GPU columns and view: each process's fd links, the fdinfo of its DRM and dma-buf
    fds and the dma-buf lines of its maps, against reading the same (the floor: every fd
    link and every maps)."""
    floor = ["sh", "-c", "find /proc/[0-9]*/fd -maxdepth 1 -type l -printf '%l\\n' "
             ">/dev/null 2>&1; cat /proc/[0-9]*/maps >/dev/null 2>&1"]
    compare("gpu: " + title,
            {"memledger": [args.memledger],
             "memledger -o +GPU,VRAM,DMABUF": [args.memledger, "-o", "+GPU,VRAM,DMABUF"],
             "memledger gpu": [args.memledger, "gpu"],
             "fd links + cat maps": floor}, args.rounds, "fd links + cat maps", peakrss)


def bench_heaps(args, peakrss, title):
    """heaps of every process (each mapping categorised) against cat of every smaps, and
    the views that read the same: libs, libs --by category, export --classes."""
    runs = {"memledger heaps": [args.memledger, "heaps"],
            "memledger libs": [args.memledger, "libs"],
            "libs --by category": [args.memledger, "libs", "--by", "category"],
            "export --classes": [args.memledger, "export", "--classes"],
            "export": [args.memledger, "export"],
            "cat smaps": ["cat"] + proc_paths("smaps")}
    compare("heaps: " + title, runs, args.libs_rounds, "cat smaps", peakrss,
            {"cat smaps": lambda: ["cat"] + proc_paths("smaps")})


def bench_report(args, peakrss, title):
    """memledger report (and --exact) against the groups view alone; the page's size."""
    out = os.path.join(args.snapshot_dir, "memledger-bench-report.html")
    runs = {"memledger groups": [args.memledger, "groups"],
            "memledger report": [args.memledger, "report", "-o", out],
            "memledger report --exact": [args.memledger, "report", "--exact", "-o", out],
            "cat smaps_rollup": ["cat"] + rollup_paths()}
    compare("report: " + title, runs, args.libs_rounds, "memledger groups", peakrss,
            {"cat smaps_rollup": lambda: ["cat"] + rollup_paths()})
    print(f"  the page: {os.path.getsize(out) / 1024:.0f} KiB")
    os.unlink(out)


def run_wall(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def bench_capture(args, peakrss, title):
    """The static memledger-capture (a phone's) against cat of the files it reads, with the
    cross-built ones under qemu-user where built (emulation: their own ratio, not a
    phone's), and --baseline-capture beside."""
    build = os.path.dirname(args.memledger)
    files = ["status", "stat", "cmdline", "comm", "cgroup", "oom_score_adj", "oom_score",
             "smaps_rollup", "smaps"]
    system = ["/proc/meminfo", "/proc/vmstat", "/proc/swaps", "/proc/sysvipc/shm", "/proc/loadavg"]

    def floor():
        return ["cat"] + system + [p for f in files for p in proc_paths(f)]

    out = os.path.join(args.snapshot_dir, "memledger-bench-capture.tar")
    cmds = {"memledger-capture": [os.path.join(build, "memledger-capture-static"), "-o", out]}
    if args.baseline_capture:
        cmds["baseline capture"] = [args.baseline_capture, "-o", out]
    cmds["memledger capture .tar"] = [args.memledger, "capture", "-o", out]
    cmds["cat of those files"] = floor()
    compare("memledger-capture: " + title, cmds, args.libs_rounds, "cat of those files",
            peakrss, {"cat of those files": floor})
    cross = {f"capture-{abi} (qemu)": [qemu, os.path.join(build, f"memledger-capture-{abi}"),
                                       "-o", out]
             for abi, qemu in (("arm64", "qemu-aarch64-static"), ("armv7", "qemu-arm-static"))
             if shutil.which(qemu) and os.path.exists(os.path.join(build,
                                                                   f"memledger-capture-{abi}"))}
    if cross:
        cross["memledger-capture"] = cmds["memledger-capture"]
        compare("under qemu-user (emulated: not a phone's speed): " + title, cross,
                args.libs_rounds, "memledger-capture", peakrss)
    if os.path.exists(out):
        os.unlink(out)


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
        runs = {"memledger maps": [args.memledger, "maps", pid],
                "maps -o +CATEGORY,HEAP,RULE": [args.memledger, "maps", pid, "-o",
                                                "+CATEGORY,HEAP,RULE"],
                "maps --by category": [args.memledger, "maps", "--by", "category", pid],
                "cat smaps": ["cat", f"/proc/{pid}/smaps"]}
        if args.baseline:
            runs["baseline maps"] = [args.baseline, "maps", pid]
        compare(f"maps: one process with {args.maps_mappings} mappings", runs, args.rounds,
                "cat smaps", peakrss)
    finally:
        proc.stdin.close()
        proc.wait()


if __name__ == "__main__":
    main()
