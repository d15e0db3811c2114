#!/usr/bin/env python3
"""memledger export: Prometheus metrics that promtool accepts, that hold memledger's own
figures, and that a real node_exporter serves from its textfile collector.

    test_export.py MEMLEDGER LAYOUT_HELPER TESTDATA

Exits 77 (SKIP) when promtool or prometheus-node-exporter is missing (make check
installs both).
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import test_live
from test_live import check, running_family

NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
SAMPLE = re.compile(r'^(\w+)(?:\{(.*)\})? (\S+)$')


def samples(text):
    """{(name, frozenset(labels)): value} of an exposition."""
    out = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if not m or line.startswith("#"):
            continue
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def promtool_ok(text, what):
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True)
    check(f"promtool check metrics: {what}", r.returncode == 0 and not r.stdout.strip()
          and not r.stderr.strip(), r.stdout + r.stderr)


def check_values(memledger, pids):
    """The family's process and group metrics are memledger's JSON figures."""
    plist = ",".join(map(str, pids))
    for _ in range(5):
        before = subprocess.run([memledger, "-J", "-b", "-p", plist, "-o",
                                 "PID,PSS,USS,RSS,SWAP,FOOTPRINT"],
                                capture_output=True, text=True).stdout
        text = subprocess.run([memledger, "export", "--top", "100000"], capture_output=True,
                              text=True).stdout
        after = subprocess.run([memledger, "-J", "-b", "-p", plist, "-o",
                                "PID,PSS,USS,RSS,SWAP,FOOTPRINT"],
                               capture_output=True, text=True).stdout
        if before == after:
            break
    promtool_ok(text, "the live system")
    got = samples(text)
    rows = json.loads(after)["processes"]
    for row in rows:
        for memtype in ("pss", "uss", "rss", "swap", "footprint"):
            key = next((k for k in got if k[0] == "memledger_process_memory_bytes" and
                        ("pid", str(row["pid"])) in k[1] and ("memtype", memtype) in k[1]), None)
            check(f"process {row['pid']} {memtype} is memledger's", key is not None and
                  got[key] == row[memtype], f"{key and got[key]} != {row[memtype]}")
    pss = sum(r["pss"] for r in rows)
    key = next((k for k in got if k[0] == "memledger_group_memory_bytes" and
                ("group", test_live.HELPER_NAME) in k[1] and ("memtype", "pss") in k[1]), None)
    check("the family's group PSS is the sum of its processes'", key is not None and
          got[key] == pss, f"{key and got[key]} != {pss}")
    key = next((k for k in got if k[0] == "memledger_group_processes" and
                ("group", test_live.HELPER_NAME) in k[1]), None)
    check("the family's group has its processes", key is not None and got[key] == len(pids),
          str(key and got[key]))
    total = sum(v for k, v in got.items() if k[0] == "memledger_system_memory_bytes" and
                dict(k[1])["kind"] not in ("swap_used", "committed_as", "commit_limit"))
    sysdoc = json.loads(subprocess.run([memledger, "system", "-J"], capture_output=True,
                                       text=True).stdout)
    whole = sysdoc["physical"] or sysdoc["meminfo"]["MemTotal"]
    check("the system rows add up to physical memory", total == whole, f"{total} != {whole}")
    check("build_info and health metrics are there", all(
        any(k[0] == name for k in got) for name in (
            "memledger_build_info", "memledger_refresh_duration_seconds",
            "memledger_refresh_timestamp_seconds", "memledger_unreadable_processes")))
    others = [k for k in got if ("pid", "other") in k[1]]
    text = subprocess.run([memledger, "export", "--top", "2"], capture_output=True,
                          text=True).stdout
    got = samples(text)
    pids_shown = {dict(k[1])["pid"] for k in got if k[0] == "memledger_process_memory_bytes"}
    check("--top 2: two processes and other", len(pids_shown) == 3 and "other" in pids_shown,
          str(pids_shown))
    check("--top 100000: no other row", not others, str(others[:2]))


def check_fixture(memledger, testdata):
    """Unknown figures are NaN, names with quotes, backslashes and newlines escaped."""
    r = subprocess.run([memledger, "export", "--source", os.path.join(testdata, "proc-basic")],
                       capture_output=True, text=True)
    promtool_ok(r.stdout, "a fixture with unknown figures and hostile names")
    check("unknown is NaN, never 0", " NaN\n" in r.stdout, r.stdout[:300])
    check("no GPU memtypes where the machine has no GPU", 'memtype="vram"' not in r.stdout)
    r = subprocess.run([memledger, "export", "--source", os.path.join(testdata, "gpu", "proc"),
                        "--by", "tree"], capture_output=True, text=True)
    promtool_ok(r.stdout, "the GPU fixture")
    got = samples(r.stdout)

    def one(name, **labels):
        return next((v for (n, ls), v in got.items() if n == name and
                     set(labels.items()) <= set(ls)), None)
    v = one("memledger_group_memory_bytes", group="300 gnome-shell", memtype="vram")
    check("GPU fixture: a group's vram is its processes' shares (a client shared by two)",
          v == 26054656, str(v))
    v = one("memledger_process_memory_bytes", pid="340", memtype="dmabuf")
    check("GPU fixture: a process's dmabuf share", v == 3407873, str(v))
    v = one("memledger_system_memory_bytes", kind="GPU buffers")
    check("GPU fixture: the system's GPU buffers row", v == 24588289, str(v))
    check_classes(memledger, testdata)


def check_classes(memledger, testdata):
    """--classes: each group's PSS by class, the heaps view's figures, as memtypes."""
    tree = os.path.join(testdata, "proc-categories", "proc")
    r = subprocess.run([memledger, "export", "--source", tree, "--by", "pid", "--classes"],
                       capture_output=True, text=True)
    promtool_ok(r.stdout, "--classes")
    got = samples(r.stdout)
    heaps = json.loads(subprocess.run([memledger, "--source", tree, "heaps", "-J", "-b"],
                                      capture_output=True, text=True).stdout)
    keys = {"Native Heap": "native_heap", "Managed Heap": "managed_heap", "Stack": "stack",
            "Code": "code", "Graphics": "graphics", "Shared Memory": "shared_memory",
            "Mapped Files": "mapped_files", "Other Anon": "other_anon"}
    compared = 0
    for p in heaps["processes"]:
        for c in p["classes"]:
            compared += 1
            name = next((ls for (n, ls), v in got.items() if n == "memledger_group_memory_bytes"
                         and ("memtype", keys[c["name"]]) in ls
                         and any(k == "group" and v.startswith(f"{p['pid']} ")
                                 for k, v in ls)), None)
            v = got.get(("memledger_group_memory_bytes", name)) if name else None
            check(f"--classes: {p['pid']}'s {c['name']} is heaps' PSS", v == c["pss"],
                  f"{v} {c['pss']}")
    check("--classes: every class row of the fixture's processes compared", compared >= 20,
          str(compared))
    r = subprocess.run([memledger, "export", "--source", tree], capture_output=True, text=True)
    check("without --classes, no class memtype", 'memtype="native_heap"' not in r.stdout)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_textfile(memledger):
    """export --textfile DIR, atomically; a real node_exporter serves it without error."""
    d = tempfile.mkdtemp(prefix="memledger-textfile-")
    try:
        r = subprocess.run([memledger, "export", "--textfile", d], capture_output=True, text=True)
        check("export --textfile: exit 0, one file, no temporary left",
              r.returncode == 0 and os.listdir(d) == ["memledger.prom"], str(os.listdir(d)))
        mode = os.stat(os.path.join(d, "memledger.prom")).st_mode & 0o777
        check("export --textfile: readable by node_exporter's user (0644)", mode == 0o644,
              oct(mode))
        r = subprocess.run([memledger, "export", "--textfile", "/nonexistent"],
                           capture_output=True, text=True)
        check("export --textfile into a missing directory: a usage error, said",
              r.returncode == 2 and "does not exist" in r.stderr, r.stderr)
        port = free_port()
        node = subprocess.Popen([NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}",
                                 "--collector.disable-defaults", "--collector.textfile",
                                 f"--collector.textfile.directory={d}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            text = ""
            for _ in range(50):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                                timeout=2) as resp:
                        text = resp.read().decode()
                    break
                except OSError:
                    time.sleep(0.1)
            check("node_exporter serves memledger's metrics",
                  "memledger_build_info{" in text and "memledger_group_memory_bytes{" in text,
                  text[:300])
            errors = [line for line in text.splitlines()
                      if line.startswith("node_textfile_scrape_error")]
            check("node_exporter reports no textfile scrape error",
                  errors == ["node_textfile_scrape_error 0"], str(errors))
        finally:
            node.terminate()
            node.wait()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    memledger, helper, testdata = os.path.realpath(sys.argv[1]), sys.argv[2], sys.argv[3]
    missing = [t for t in ("promtool", NODE_EXPORTER) if not shutil.which(t)]
    if missing:
        print(f"SKIP: {' and '.join(missing)} missing (make check installs prometheus and "
              "prometheus-node-exporter)")
        return 77
    with running_family(helper, "memledger-export-") as (_, pids, _, _):
        if not pids:
            return 1
        check_values(memledger, pids)
    check_fixture(memledger, testdata)
    check_textfile(memledger)
    return test_live.finish("export")


if __name__ == "__main__":
    sys.exit(main())
