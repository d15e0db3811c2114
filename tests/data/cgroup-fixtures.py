#!/usr/bin/env python3
"""Lays out the cgroup fixture trees (cgroup-v2/, cgroup-v1/): processes in proc/ and the
memory controller's files in sys/fs/cgroup, as the kernel's cgroup-v2.rst and
cgroup-v1/memory.rst document them, with figures chosen so that each case is known: rows
that add up, rows that overlap, no "kernel" key (before 5.18), limits and none.

    cd tests/data && python3 cgroup-fixtures.py
"""
import os
import shutil


def w(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def procs(top, cg):
    for pid, cgroup in cg.items():
        src = "proc-basic/100" if pid % 2 == 0 else "proc-basic/102"
        d = f"{top}/proc/{pid}"
        os.makedirs(d, exist_ok=True)
        for name in ("cmdline", "smaps_rollup", "status"):
            shutil.copy(f"{src}/{name}", f"{d}/{name}")
        w(f"{d}/cgroup", cgroup)
        w(f"{d}/oom_score_adj", "0\n")  # for memledger oom
        w(f"{d}/oom_score", "666\n")


MiB = 1 << 20
V2_KEYS = ["anon", "file", "kernel", "kernel_stack", "pagetables", "sec_pagetables", "percpu",
           "sock", "vmalloc", "shmem", "zswap", "zswapped", "file_mapped", "file_dirty",
           "file_writeback", "swapcached", "anon_thp", "file_thp", "shmem_thp",
           "inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable",
           "slab_reclaimable", "slab_unreclaimable", "slab", "pgfault", "pgmajfault"]


def v2(d, current, mx, stat, swap=0, events=(0, 0, 0, 0, 0), avg10="0.00", high="max",
       low="0", mn="0", keys=V2_KEYS):
    w(f"{d}/memory.current", f"{current}\n")
    w(f"{d}/memory.max", f"{mx}\n")
    w(f"{d}/memory.high", f"{high}\n")
    w(f"{d}/memory.low", f"{low}\n")
    w(f"{d}/memory.min", f"{mn}\n")
    w(f"{d}/memory.swap.current", f"{swap}\n")
    w(f"{d}/memory.events", "low {}\nhigh {}\nmax {}\noom {}\noom_kill {}\n".format(*events))
    w(f"{d}/memory.pressure", f"some avg10={avg10} avg60=0.00 avg300=0.00 total=12\n"
                              "full avg10=0.00 avg60=0.00 avg300=0.00 total=3\n")
    w(f"{d}/cgroup.controllers", "memory pids\n")
    w(f"{d}/cgroup.procs", "")
    w(f"{d}/memory.stat", "".join(f"{k} {stat.get(k, 0)}\n" for k in keys))


def cgroup_v2():
    top = "cgroup-v2"
    shutil.rmtree(top, ignore_errors=True)
    procs(top, {200: "0::/user.slice/user-1000.slice/session-1.scope\n",
                201: "0::/system.slice/nginx.service\n",
                202: "0::/system.slice/nginx.service\n"})
    cg = f"{top}/sys/fs/cgroup"
    w(f"{top}/proc/meminfo", "MemTotal:        4096000 kB\nMemFree:         2048000 kB\n"
                             "SwapTotal:             0 kB\nSwapFree:              0 kB\n")
    w(f"{cg}/cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n")
    w(f"{cg}/cgroup.procs", "")
    # the root has memory.stat and memory.pressure, no memory.current nor memory.max
    w(f"{cg}/memory.stat", "anon 200000000\nfile 400000000\nkernel 50000000\n"
                           "shmem 30000000\nsock 0\nfile_mapped 60000000\n")
    w(f"{cg}/memory.pressure", "some avg10=0.50 avg60=0.10 avg300=0.00 total=99\n")
    # nginx: 64 anon + 80 file + 20 shmem + 8 kernel + 1 sock = 173, other 3 of 176
    nginx = {"anon": 64 * MiB, "file": 100 * MiB, "shmem": 20 * MiB, "file_mapped": 30 * MiB,
             "kernel": 8 * MiB, "kernel_stack": 1 * MiB, "pagetables": 2 * MiB,
             "slab": 5 * MiB, "sock": 1 * MiB}
    v2(f"{cg}/system.slice/nginx.service", 176 * MiB, 512 * MiB, nginx, swap=4 * MiB,
       events=(0, 3, 1, 1, 1), avg10="1.25", high=str(384 * MiB))
    # the OOM killer kills nginx whole (memledger oom: its two processes at one kill)
    w(f"{cg}/system.slice/nginx.service/memory.oom.group", "1\n")
    # system.slice: a kernel before 5.18, no "kernel" key: slab + stacks + page tables +
    # percpu = 10; 191 of 192
    sysst = {"anon": 70 * MiB, "file": 110 * MiB, "shmem": 20 * MiB, "file_mapped": 31 * MiB,
             "kernel_stack": 1 * MiB, "pagetables": 2 * MiB, "percpu": 1 * MiB,
             "slab": 6 * MiB, "sock": 1 * MiB}
    v2(f"{cg}/system.slice", 192 * MiB, "max", sysst, keys=list(sysst))
    # a session whose counters overlap: 40 + 30 + 4 = 74 > 70
    sess = {"anon": 40 * MiB, "file": 30 * MiB, "shmem": 0, "file_mapped": 10 * MiB,
            "kernel": 4 * MiB, "sock": 0}
    v2(f"{cg}/user.slice/user-1000.slice/session-1.scope", 70 * MiB, "max", sess,
       low=str(16 * MiB), mn=str(8 * MiB))
    v2(f"{cg}/user.slice/user-1000.slice", 76 * MiB, "max", dict(sess, anon=42 * MiB))
    v2(f"{cg}/user.slice", 76 * MiB, "max", dict(sess, anon=42 * MiB))


V1_KEYS = ["cache", "rss", "rss_huge", "shmem", "mapped_file", "dirty", "writeback", "swap",
           "pgpgin", "pgpgout", "pgfault", "pgmajfault", "inactive_anon", "active_anon",
           "inactive_file", "active_file", "unevictable"]
UNLIMITED = 9223372036854771712  # PAGE_COUNTER_MAX pages, as v1 shows no limit


def v1(d, usage, limit, st, memsw, kmem, soft=UNLIMITED, oom_kill=0):
    w(f"{d}/memory.usage_in_bytes", f"{usage}\n")
    w(f"{d}/memory.limit_in_bytes", f"{limit}\n")
    w(f"{d}/memory.soft_limit_in_bytes", f"{soft}\n")
    w(f"{d}/memory.memsw.usage_in_bytes", f"{memsw}\n")
    w(f"{d}/memory.kmem.usage_in_bytes", f"{kmem}\n")
    w(f"{d}/memory.oom_control", f"oom_kill_disable 0\nunder_oom 0\noom_kill {oom_kill}\n")
    w(f"{d}/cgroup.procs", "")
    w(f"{d}/tasks", "")
    # the cgroup's own counters (half, so that reading them instead shows), then the
    # hierarchy's total_*
    text = "".join(f"{k} {st.get(k, 0) // 2}\n" for k in V1_KEYS)
    text += f"hierarchical_memory_limit {limit}\nhierarchical_memsw_limit {UNLIMITED}\n"
    text += "".join(f"total_{k} {st.get(k, 0)}\n" for k in V1_KEYS)
    w(f"{d}/memory.stat", text)


def cgroup_v1():
    top = "cgroup-v1"
    shutil.rmtree(top, ignore_errors=True)
    procs(top, {300: "12:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n"
                     "0::/system.slice/docker-abc.scope\n",
                301: "12:memory:/docker/abc\n0::/system.slice/docker-abc.scope\n",
                302: "12:memory:/\n0::/init.scope\n"})
    w(f"{top}/proc/meminfo", "MemTotal:        4096000 kB\nMemFree:         2048000 kB\n"
                             "SwapTotal:       1024000 kB\nSwapFree:        1024000 kB\n")
    mem = f"{top}/sys/fs/cgroup/memory"
    abc = {"rss": 100 * MiB, "cache": 150 * MiB, "shmem": 30 * MiB, "mapped_file": 50 * MiB}
    # docker/abc: 300 = rss 100 + cache 150 (shmem 30 of it) + kmem 40 + other 10
    v1(f"{mem}/docker/abc", 300 * MiB, 1024 * MiB, abc, memsw=316 * MiB, kmem=40 * MiB,
       soft=256 * MiB, oom_kill=2)
    v1(f"{mem}/docker", 300 * MiB, UNLIMITED, abc, memsw=316 * MiB, kmem=40 * MiB)
    v1(mem, 900 * MiB, UNLIMITED, {"rss": 400 * MiB, "cache": 450 * MiB, "shmem": 60 * MiB,
                                   "mapped_file": 90 * MiB}, memsw=900 * MiB, kmem=80 * MiB)
    w(f"{mem}/memory.use_hierarchy", "1\n")


if __name__ == "__main__":
    cgroup_v2()
    cgroup_v1()
