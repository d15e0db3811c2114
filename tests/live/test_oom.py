#!/usr/bin/env python3
"""memledger oom against the kernel's own OOM killer, in a memory cgroup (v1).

    test_oom.py MEMLEDGER

In a memory cgroup with a 256 MiB limit and no swap, starts five victims whose sizes and
oom_score_adj disagree about the order (a small one with adj 400 goes first), two of them
a parent and its child sharing 32 MiB of shared anonymous memory, and asks `memledger oom
--cgroup` for the order and what each kill frees. Then an allocator that holds its memory
in a memfd it never maps (so that its own badness stays small) writes 2 MiB at a time
until the kernel has killed them all. The kernel's order must be the predicted one, and
each kill's fall of the cgroup's charge (memory + swap) must be its row's FREED within
2 MiB: the shared memory comes back at the kill of its last mapper, not before. SKIP
without root or without a cgroup v1 memory hierarchy.
"""
import json
import os
import signal
import subprocess
import sys
import time

from test_live import check, finish, skip

MiB = 1024 * 1024
ROOT = "/sys/fs/cgroup/memory"
LIMIT = 256 * MiB
NAME = f"memledger-oom-{os.getpid()}"

# Each victim: its own memory, touched, and its oom_score_adj (raising it needs no
# capability); "pair" maps 32 MiB of shared anonymous memory and forks a child that maps
# it too. Each prints its PIDs when ready and waits for stdin to close.
VICTIM = r"""
import mmap, os, sys
own_mib, adj, pair = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "pair"
with open("/proc/self/oom_score_adj", "w") as f:
    f.write(str(adj))
own = mmap.mmap(-1, own_mib << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
own.write(b"\1" * (own_mib << 20))
pids = [os.getpid()]
if pair:
    shared = mmap.mmap(-1, 32 << 20)  # MAP_SHARED | MAP_ANONYMOUS
    shared.write(b"\2" * (32 << 20))
    ready, done = os.pipe()
    child = os.fork()
    if child == 0:
        mine = mmap.mmap(-1, 4 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        mine.write(b"\3" * (4 << 20))
        total = sum(shared[i] for i in range(0, 32 << 20, 4096))  # mapped, every page
        os.write(done, b"!")
        sys.stdin.read()
        os._exit(0)
    os.read(ready, 1)  # the child has touched all it will
    pids.append(child)
print(" ".join(map(str, pids)), flush=True)
sys.stdin.read()
"""

# Writes N MiB into a memfd it never maps, a MiB at a time, on each line "N"; answers
# with what it wrote.
ALLOCATOR = r"""
import os, sys
fd = os.memfd_create("memledger-oom-pressure")
chunk = b"\4" * (1 << 20)
for line in sys.stdin:
    wrote = 0
    try:
        for _ in range(int(line)):
            os.write(fd, chunk)
            wrote += 1
    except OSError:
        pass
    print(wrote, flush=True)
"""


def write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def read(path):
    with open(path) as f:
        return int(f.read())


def start_in(cgroup, code, *args):
    """A python process in cgroup (its cgroup.procs written before it execs)."""
    return subprocess.Popen(["sh", "-c", 'echo $$ > "$0" && exec "$@"',
                             os.path.join(cgroup, "cgroup.procs"), sys.executable, "-c", code,
                             *map(str, args)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def check_export(memledger, victims, mine):
    """export's memledger_process_oom_order ranks the victims among themselves as memledger
    oom (over the whole system) does; other processes may move between the two reads."""
    doc = json.loads(subprocess.run([memledger, "oom", "-J", "-b"], capture_output=True,
                                    text=True).stdout or "{}")
    ranked = [mine[r["pid"]] for r in doc.get("victims", []) if r["pid"] in mine]
    total, page = doc.get("totalpages", 0), doc.get("page", 4096)
    for r in doc.get("victims", []):
        if r["pid"] not in mine or not total:
            continue
        points = r["badness"] // page  # as the kernel's proc_oom_score() scales it
        want = (1000 + int(points * 1000 / total)) * 2 // 3
        check(f"oom: SCORE of {mine[r['pid']]} (the kernel's oom_score) is BADNESS scaled as "
              "proc_oom_score() scales it", r["score"] is not None and
              abs(r["score"] - want) <= 1, f"{r['score']} vs {want}")
    text = subprocess.run([memledger, "export", "--top", "100000"], capture_output=True,
                          text=True).stdout
    places = {}
    for line in text.splitlines():
        if line.startswith("memledger_process_oom_order{"):
            pid = int(line.split('pid="', 1)[1].split('"', 1)[0])
            if pid in mine:
                places[mine[pid]] = int(line.rsplit(" ", 1)[1])
    check("export: memledger_process_oom_order ranks the victims as memledger oom does",
          len(places) == len(victims) and sorted(places, key=places.get) == ranked,
          f"{places} vs {ranked}")


def settled(path):
    """The charge once it holds still for 0.3 s (a victim's memory goes back as it exits,
    on a machine that may be busy), 5 s at most."""
    last, still, deadline = read(path), 0, time.time() + 5
    while still < 3 and time.time() < deadline:
        time.sleep(0.1)
        now = read(path)
        still = still + 1 if now == last else 0
        last = now
    return last


def main():
    memledger = sys.argv[1]
    if os.geteuid() != 0:
        skip("oom", "needs root (a memory cgroup)")
        return finish("oom")
    if not os.path.exists(os.path.join(ROOT, "memory.memsw.limit_in_bytes")):
        skip("oom", f"no cgroup v1 memory hierarchy with swap accounting at {ROOT}")
        return finish("oom")
    cgroup = os.path.join(ROOT, NAME)
    os.mkdir(cgroup)
    procs = []
    try:
        write(os.path.join(cgroup, "memory.limit_in_bytes"), LIMIT)
        write(os.path.join(cgroup, "memory.memsw.limit_in_bytes"), LIMIT)  # no swap
        write(os.path.join(cgroup, "memory.swappiness"), 0)
        for config in CONFIGS:
            run(memledger, cgroup, procs, config)
            for p in procs:
                p.kill()
                p.wait()
            procs.clear()
    finally:
        for p in procs:
            p.kill()
            p.wait()
        for _ in range(100):
            try:
                os.rmdir(cgroup)
                break
            except OSError:
                time.sleep(0.05)
    return finish("oom")


# Two layouts where size and oom_score_adj disagree: (name, MiB of its own, adj).
CONFIGS = (
    (("v1", 44, 0), ("v2", 12, 400), ("v3", 60, 0), ("pair", 8, 100)),
    (("v1", 70, 0), ("v2", 24, 300), ("v3", 20, 100), ("pair", 16, 0)),
)


def run(memledger, cgroup, procs, config):
    victims = {}  # name -> PID
    for name, own, adj in config:
        p = start_in(cgroup, VICTIM, own, adj, "pair" if name == "pair" else "alone")
        procs.append(p)
        line = p.stdout.readline().split()
        if name == "pair" and len(line) == 2:
            victims["parent"], victims["child"] = int(line[0]), int(line[1])
        elif line:
            victims[name] = int(line[0])
    if len(victims) != 5:
        check("the five victims start in the cgroup", False, victims)
        return
    out = subprocess.run([memledger, "oom", "--cgroup", "/" + NAME, "-J", "-b"],
                         capture_output=True, text=True)
    try:
        doc = json.loads(out.stdout)
    except ValueError:
        check("memledger oom --cgroup -J", False, out.stderr)
        return
    rows = doc["victims"]
    mine = {v: k for k, v in victims.items()}
    predicted = [mine[r["pid"]] for r in rows if r["pid"] in mine]
    print(f"predicted: {predicted}; totalpages {doc['totalpages']}; "
          + ", ".join(f"{mine.get(r['pid'], r['pid'])} badness {r['badness'] // MiB}M "
                      f"freed {r['freed'] / MiB:.1f}M" for r in rows))
    check("oom --cgroup: totalpages is the cgroup's limit in pages",
          doc["totalpages"] == LIMIT // doc["page"], doc["totalpages"])
    check("oom --cgroup: the five victims and the allocator-free cgroup's processes alone",
          sorted(predicted) == sorted(victims) and len(rows) == 5, [r["pid"] for r in rows])
    check("oom: the small process with the highest adj goes first, before larger ones",
          predicted[:1] == ["v2"], predicted)
    for r in rows:
        check(f"oom: SCORE of {mine.get(r['pid'])} is the kernel's oom_score",
              r["score"] is not None and r["score"] >= 0, r)
    freed = {mine[r["pid"]]: r["freed"] for r in rows if r["pid"] in mine}
    first, second = ("parent", "child") if predicted.index("parent") < \
        predicted.index("child") else ("child", "parent")
    check("oom: the shared 32 MiB is freed at the kill of its last mapper, not before",
          freed[second] - freed[first] > 24 * MiB, freed)

    check_export(memledger, victims, mine)
    alloc = start_in(cgroup, ALLOCATOR)
    procs.append(alloc)
    usage = os.path.join(cgroup, "memory.memsw.usage_in_bytes")
    alloc.stdin.write("0\n")  # started: its own memory charged before the baseline
    alloc.stdin.flush()
    alloc.stdout.readline()
    start, written, fallen = settled(usage), 0, 0
    died, falls, steps, allocator_died = [], {}, [], []
    for _ in range(400):
        if len(died) == 5:
            break
        alloc.stdin.write("2\n")
        alloc.stdin.flush()
        wrote = int(alloc.stdout.readline() or 0)
        written += wrote * MiB
        now = [n for n, pid in victims.items() if n not in died and not alive(pid)]
        if now:  # what the cgroup gave back since the baseline, less what fell before
            total = start + written - settled(usage)
            # a second victim may die before the first one's memory is back (the OOM
            # reaper marks it done first): the kills of one step are told apart by order
            # alone, and their falls summed
            now = [n for n in predicted if n not in died and not alive(victims[n])]
            falls[tuple(now)] = total - fallen
            if alloc.poll() is not None:  # the allocator died too (its adj cannot be
                # lowered without CAP_SYS_RESOURCE, and after the last victim it is next):
                # its own memory fell with this step's, which is no victim's to compare
                allocator_died.append(tuple(now))
            fallen = total
            steps.append(now)
            died += now
        if wrote == 0 and not now:
            break
    print(f"killed: {died}; falls: " +
          ", ".join(f"{'+'.join(k)} {v / MiB:.1f}M" for k, v in falls.items()))
    check("the kernel killed every victim", len(died) == 5, died)
    at, agree = 0, True  # each step's victims: the next ones of the predicted order
    for group in steps:
        agree &= sorted(group) == sorted(predicted[at:at + len(group)])
        at += len(group)
    check("the kernel's order is memledger oom's", agree and len(died) == len(predicted),
          f"{steps} vs {predicted}")
    for names, fall in falls.items():
        want = sum(freed[n] for n in names)
        if names in allocator_died:
            print(f"note: the allocator was killed with {'+'.join(names)}: that fall "
                  f"({fall / MiB:.1f}M) holds its memory too, not compared")
            continue
        check(f"the kill of {'+'.join(names)}: the cgroup's charge fell by its FREED "
              "within 2 MiB", abs(fall - want) <= 2 * MiB,
              f"{fall / MiB:.2f}M vs {want / MiB:.2f}M")


if __name__ == "__main__":
    sys.exit(main())
