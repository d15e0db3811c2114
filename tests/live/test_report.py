#!/usr/bin/env python3
"""memledger report: a page that a real browser opens from disk with no request and no
console error, whose figures are memledger's own; SVG charts that parse, a treemap whose
areas are in proportion to PSS; hostile names shown as text, never as markup; a report
from a snapshot holds the snapshot's figures.

    test_report.py MEMLEDGER LAYOUT_HELPER ARTEFACT_DIR

The screenshot goes to ARTEFACT_DIR/report-screenshot.png. The browser checks skip
(counted) when Debian's chromium is missing (make check installs it).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import test_live
from test_live import check, running_family

SVG = "{http://www.w3.org/2000/svg}"
CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-default-apps",
            "--enable-logging=stderr", "--log-level=0"]
HOSTILE_COMM = b"<img src=x>&\"'"  # 15 bytes: all that a comm holds
HOSTILE_ARGS = [b"<script>alert(1)</script>", b"\xff\xfe bad utf-8", b"\"quoted\" & 'single'"]


def report(memledger, *args):
    r = subprocess.run([memledger, "report", "-o", "-", *args], capture_output=True)
    check(f"report {' '.join(args)}: exit 0", r.returncode == 0, r.stderr.decode()[-300:])
    return r.stdout


def data_of(html):
    """The page's one JSON block."""
    m = re.search(rb'<script type="application/json" id="memledger-data">(.*?)</script>', html,
                  re.S)
    return json.loads(m.group(1)) if m else None


def check_charts(memledger):
    """Each chart alone is valid SVG; the treemap's leaves have areas in proportion to PSS."""
    for chart in ("treemap", "bar", "system"):
        text = report(memledger, "--chart", chart)
        try:
            root = ET.fromstring(text)
            ok = root.tag == SVG + "svg"
        except ET.ParseError as e:
            ok, root = False, str(e)
        check(f"--chart {chart}: one <svg> element that parses as XML", ok, str(root)[:200])
    root = ET.fromstring(report(memledger, "--chart", "treemap"))
    width, height = (float(v) for v in root.get("viewBox").split()[2:])
    leaves = [(float(r.get("width")) * float(r.get("height")), int(r.get("data-value")),
               float(r.get("width")) + float(r.get("height")))
              for r in root.iter(SVG + "rect") if r.get("class") == "leaf"]
    total = sum(v for _, v, _ in leaves)
    scale = width * height / total
    # each side is written to 0.01 px: an area may be off by (w + h) * 0.005 and a bit
    bad = [(a, v * scale) for a, v, p in leaves if abs(a - v * scale) > p * 0.006 + 0.01]
    check("treemap: every leaf's area is its PSS, in proportion, within a pixel's rounding",
          leaves and not bad, f"{len(bad)} of {len(leaves)}: {bad[:3]}")
    covered = sum(a for a, _, _ in leaves)
    check("treemap: the leaves fill the whole chart", abs(covered - width * height) < 1 +
          sum(p for _, _, p in leaves) * 0.006, f"{covered} of {width * height}")


def check_classes(memledger, testdata):
    """--classes: each process's leaves are its classes, each of heaps' PSS."""
    tree = os.path.join(testdata, "proc-categories", "proc")
    root = ET.fromstring(report(memledger, "--source", tree, "--by", "pid", "--classes",
                                "--chart", "treemap"))
    leaves = {}
    for r in root.iter(SVG + "rect"):
        if r.get("class") == "leaf":
            path = r.find(SVG + "title").text.split(": PSS")[0].split(" › ")
            leaves[(path[0].split()[0], path[-1])] = int(r.get("data-value"))
    heaps = json.loads(subprocess.run([memledger, "--source", tree, "heaps", "-J", "-b"],
                                      capture_output=True, text=True).stdout)
    want = {(str(p["pid"]), c["name"]): c["pss"] for p in heaps["processes"]
            for c in p["classes"] if c["pss"]}
    check("report --classes: a leaf per process and class, of heaps' PSS",
          len(want) >= 20 and leaves == want,
          f"{sorted(leaves.items())[:4]} {sorted(want.items())[:4]}")


def while_still(memledger, plist, make):
    """make() run between two reads of ps -J for the family, until both agree."""
    for _ in range(5):
        before = subprocess.run([memledger, "-J", "-b", "-p", plist, "-o",
                                 "PID,PSS,USS,RSS,SWAP,FOOTPRINT"],
                                capture_output=True, text=True).stdout
        made = make()
        after = subprocess.run([memledger, "-J", "-b", "-p", plist, "-o",
                                "PID,PSS,USS,RSS,SWAP,FOOTPRINT"],
                               capture_output=True, text=True).stdout
        if before == after:
            break
    return made, json.loads(after)["processes"]


def check_figures(memledger, pids):
    """The page's figures are memledger's JSON views' for the family."""
    plist = ",".join(map(str, pids))
    html, rows = while_still(memledger, plist, lambda: report(memledger))
    data = data_of(html)
    check("the page holds one JSON block of the figures", data is not None)
    if not data:
        return html
    procs = {p["pid"]: p for p in data["processes"]}
    for row in rows:
        for col in ("pss", "uss", "rss", "swap", "footprint"):
            got = procs.get(row["pid"], {}).get(col)
            check(f"report: process {row['pid']} {col} is ps's", got == row[col],
                  f"{got} != {row[col]}")
    group = next((g for g in data["groups"] if g["name"] == test_live.HELPER_NAME), {})
    check("report: the family's group PSS is the sum of its processes'",
          group.get("pss") == sum(r["pss"] for r in rows), f"{group}")
    total = sum(r["bytes"] for r in data["system"]["rows"])
    check("report: the system rows add up to physical memory",
          total == data["system"]["physical"], f"{total} != {data['system']['physical']}")
    if os.geteuid() == 0:
        def family(doc_groups):
            return next((g for g in doc_groups if g["name"] == test_live.HELPER_NAME), {})

        for _ in range(5):  # groups between two reports that agree: the pages held still
            before = family(data_of(report(memledger, "--exact"))["groups"])
            want = family(json.loads(subprocess.run([memledger, "groups", "-J", "-b"],
                                                    capture_output=True,
                                                    text=True).stdout)["groups"])
            got = family(data_of(report(memledger, "--exact"))["groups"])
            if before == got:
                break
        # Exact PSS gives each process its share of the vDSO page, which every process
        # maps: vdso / N moves as others start and exit between two runs (8 bytes seen
        # beside two CPU hogs and another make check), by less than vdso / 16 a process.
        vdso = sum(m.get("Rss", 0) for m in test_live.smaps_mappings(pids[0]).values()
                   if m["name"] == "[vdso]")
        slack = max(8, len(pids) * vdso // 16)
        for col in ("pss", "uss", "freed", "shared-out"):
            ok = got.get(col) == want.get(col) if col != "pss" else \
                got.get(col) is not None and want.get(col) is not None and \
                abs(got[col] - want[col]) <= slack
            check(f"report --exact: the family's {col} is groups'" +
                  (f" (within the vDSO's share, {slack} bytes)" if col == "pss" else ""), ok,
                  f"{got.get(col)} != {want.get(col)}")
    return html


def check_snapshot(memledger):
    """A report from a snapshot holds the snapshot's figures, as ps --source gives them."""
    d = tempfile.mkdtemp(prefix="memledger-report-")
    try:
        snap = os.path.join(d, "s.tar.zst")
        subprocess.run([memledger, "capture", "-o", snap], check=True, capture_output=True)
        data = data_of(report(memledger, "--source", snap))
        ps = json.loads(subprocess.run([memledger, "-J", "-b", "--source", snap, "-o",
                                        "PID,PSS,USS,RSS,SWAP,FOOTPRINT"],
                                       capture_output=True, text=True).stdout)["processes"]
        mine = {p["pid"]: {k: p[k] for k in ("pss", "uss", "rss", "swap", "footprint")}
                for p in data["processes"]}
        theirs = {p["pid"]: {k: p[k] for k in ("pss", "uss", "rss", "swap", "footprint")}
                  for p in ps}
        check("report --source SNAPSHOT: every process's figures are ps --source's",
              mine == theirs and len(mine) > 3, f"{len(mine)} vs {len(theirs)}")
        bare = json.loads(subprocess.run([memledger, "-J", "-b", "--source", snap, "-o",
                                          "PID,PSS"], capture_output=True,
                                         text=True).stdout)["processes"]
        check("ps -o PID,PSS --source SNAPSHOT: no kernel thread as a row (it reads status "
              "where the capture kept no smaps_rollup)",
              sorted(p["pid"] for p in bare) == sorted(theirs), f"{len(bare)} vs {len(theirs)}")
        check("report --source SNAPSHOT: the manifest is the snapshot's",
              data["manifest"]["snapshot"] and data["manifest"]["time"], str(data["manifest"]))
        again = report(memledger, "--source", snap)
        check("report --source SNAPSHOT: the same page twice", again == report(
            memledger, "--source", snap))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def check_diff(memledger):
    """report --diff A B: each side's figures are ps --source's; the changes of processes and
    groups are memledger diff's; A against itself changes nothing."""
    d = tempfile.mkdtemp(prefix="memledger-report-diff-")
    grower = None
    try:
        a, b = os.path.join(d, "a.tar.zst"), os.path.join(d, "b.tar.zst")
        subprocess.run([memledger, "capture", "-o", a], check=True, capture_output=True)
        grower = subprocess.Popen([sys.executable, "-c", "import sys,time;b=bytearray(48<<20);"
                                   "sys.stdout.write('ready\\n');sys.stdout.flush();"
                                   "time.sleep(300)"], stdout=subprocess.PIPE)
        grower.stdout.readline()
        subprocess.run([memledger, "capture", "-o", b], check=True, capture_output=True)
        html = report(memledger, "--diff", a, b).decode()
        data = json.loads(re.search(r'id="memledger-data">(.*?)</script>', html, re.S).group(1))
        for side, snap in (("a", a), ("b", b)):
            ps = json.loads(subprocess.run([memledger, "-J", "-b", "--source", snap, "-o",
                                            "PID,PSS,USS"], capture_output=True,
                                           text=True).stdout)["processes"]
            check(f"report --diff: side {side}'s processes are ps --source's",
                  {p["pid"]: (p["pss"], p["uss"]) for p in data[side]["processes"]} ==
                  {p["pid"]: (p["pss"], p["uss"]) for p in ps})
        diff = json.loads(subprocess.run([memledger, "diff", a, b, "-J", "-b"],
                                         capture_output=True, text=True).stdout)["processes"]
        rows = dict(re.findall(r'<tr><td class="num" data-v="(\d+)">\d+</td><td>\w*</td>'
                               r'(?:<td[^>]*>[^<]*</td>){2}<td class="num" data-v="(-?\d*)"',
                               html[html.index('id="processes"'):]))
        for p in diff:
            check(f"report --diff: process {p['pid']}'s PSS change is diff's",
                  rows.get(str(p["pid"])) == str(p["pss"]), f"{rows.get(str(p['pid']))} "
                  f"!= {p['pss']}")
        new = next((p for p in diff if p["pid"] == grower.pid), {})
        check("report --diff: the process that came is new, 48 MiB and more",
              new.get("state") == "new" and new.get("pss", 0) >= 48 << 20, str(new))
        same = report(memledger, "--diff", a, a).decode()
        changed = re.findall(r'data-v="-?[1-9]\d*">[-+][^<]*</td>', same)
        zeros = len(re.findall(r'data-v="0">0B</td>', same))
        check("report --diff A A: every change is 0", not changed and zeros > 10,
              f"{changed[:5]} {zeros}")
    finally:
        if grower:
            grower.kill()
            grower.wait()
        shutil.rmtree(d, ignore_errors=True)


def hostile_process():
    """A process whose comm and command line hold markup, quotes and invalid UTF-8."""
    code = ("import ctypes,sys,time;ctypes.CDLL(None).prctl(15,%r,0,0,0);"
            "sys.stdout.write('ready\\n');sys.stdout.flush();time.sleep(300)" % HOSTILE_COMM)
    p = subprocess.Popen([sys.executable.encode(), b"-c", code.encode(), *HOSTILE_ARGS],
                         stdout=subprocess.PIPE)
    p.stdout.readline()
    return p


def chromium(args, page, artefact=None):
    """(the DOM after load, chromium's stderr, the page's own requests) of page."""
    with tempfile.TemporaryDirectory() as d:
        netlog = os.path.join(d, "net.json")
        cmd = CHROMIUM + [f"--log-net-log={netlog}", f"--user-data-dir={d}/profile"] + args
        r = subprocess.run(cmd + ["--dump-dom", page], capture_output=True, timeout=120)
        if artefact:
            subprocess.run(CHROMIUM + [f"--user-data-dir={d}/profile2", f"--screenshot={artefact}",
                                       "--window-size=1200,2400", page],
                           capture_output=True, timeout=120)
        try:
            with open(netlog) as f:
                events = json.load(f)["events"]
        except (OSError, ValueError):
            events = []
    # the page's requests are those of its network partition; Chromium's own
    # (updates, time) belong to others
    mine = {e["params"]["url"] for e in events if "url" in e.get("params", {}) and
            "file://" in str(e["params"].get("network_isolation_key", ""))}
    return r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace"), \
        {u for u in mine if not u.startswith("file:")}


def console_errors(stderr):
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or
            "Content Security Policy" in line]


def check_browser(memledger, artefacts, pids):
    """Chromium opens the page from file:// with no request and no console error; the DOM
    holds the family's figures; hostile names are text; sorting by a heading works."""
    if not shutil.which("chromium"):
        print("SKIP: chromium missing (make check installs it)")
        test_live.skipped += 1
        return
    d = tempfile.mkdtemp(prefix="memledger-report-")
    hostile = hostile_process()
    try:
        # the checks can fail: a page that logs and fetches is caught
        bad = os.path.join(d, "bad.html")
        with open(bad, "w") as f:
            f.write('<html><body><script>console.error("x")</script>'
                    '<img src="http://192.0.2.1/x.png"></body></html>')
        _, err, requests = chromium([], "file://" + bad)
        check("the browser check sees a console error and a request when there are",
              console_errors(err) and requests, f"{console_errors(err)} {requests}")
        page = os.path.join(d, "report.html")
        r = subprocess.run([memledger, "report", "-o", page], capture_output=True, text=True)
        check("report -o FILE: exit 0, the file written", r.returncode == 0 and
              os.path.exists(page) and sorted(os.listdir(d)) == ["bad.html", "report.html"],
              r.stderr + str(os.listdir(d)))
        shot = os.path.join(artefacts, "report-screenshot.png")
        dom, err, requests = chromium([], f"file://{page}#sort=processes:0:up", shot)
        check("chromium: the page loads with no console error",
              "<html" in dom[:300] and 'id="memledger-data"' in dom and not console_errors(err),
              str(console_errors(err))[:500])
        check("chromium: the page makes no request", not requests, str(requests))
        check("chromium: a screenshot was taken", os.path.exists(shot) and
              os.path.getsize(shot) > 10000, shot)
        table = dom[dom.index('id="processes"'):]
        table = table[:table.index("</table>")]
        cells = {}
        order = []
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]:
            values = re.findall(r'data-v="(\d*)"', row)
            pid = int(values[0])
            order.append(pid)
            cells[pid] = [int(v) if v else None for v in values[1:]]
        check("chromium: #sort=processes:0:up sorts by PID, ascending",
              order == sorted(order) and len(order) > 3, str(order[:10]))
        plist = ",".join(map(str, pids))
        rows = json.loads(subprocess.run([memledger, "-J", "-b", "-p", plist, "-o",
                                          "PID,PSS,USS,RSS,SWAP,FOOTPRINT"],
                                         capture_output=True, text=True).stdout)["processes"]
        for row in rows:
            want = [row[c] for c in ("pss", "uss", "rss", "swap", "footprint")]
            check(f"chromium: the DOM's figures of process {row['pid']} are ps's",
                  cells.get(row["pid"]) == want, f"{cells.get(row['pid'])} != {want}")
        scripts = len(re.findall(r"<script\b", dom))
        check("hostile names: no markup injected (two scripts, no <img>)",
              scripts == 2 and "<img" not in dom, f"{scripts} scripts")
        check("hostile names: shown as text in the table",
              "&lt;script&gt;alert(1)&lt;/script&gt;" in dom and "&lt;img src=x&gt;" in dom,
              "")
        with open(page, "rb") as f:
            raw = f.read()
        try:
            raw.decode("utf-8", "strict")
            utf8 = True
        except UnicodeDecodeError:
            utf8 = False
        check("hostile names: the file is valid UTF-8", utf8)
        data = data_of(raw)
        mine = next((p for p in data["processes"] if p["pid"] == hostile.pid), None)
        check("hostile names: the JSON block holds the command, invalid bytes as U+FFFD",
              mine and "<script>alert(1)</script>" in mine["command"] and "\ufffd" in
              mine["command"], str(mine))
    finally:
        hostile.kill()
        hostile.wait()
        shutil.rmtree(d, ignore_errors=True)


def check_usage(memledger):
    for args, what in ((["--chart", "pie"], "an unknown chart"),
                       (["extra"], "an operand"),
                       (["-o", "/nonexistent/x.html"], "a file it cannot write"),
                       (["--diff", "live"], "--diff with one source"),
                       (["--diff", "live", "live", "--chart", "bar"], "--diff with --chart")):
        r = subprocess.run([memledger, "report", *args], capture_output=True, text=True)
        check(f"report with {what}: an error, exit 1 or 2", r.returncode in (1, 2) and
              r.stderr.startswith("memledger: "), f"{r.returncode} {r.stderr}")


def check_oom_chart(memledger, pids):
    """"If memory runs out": with --exact (root) a bar a kill in the kernel OOM killer's
    order; without frame numbers a sentence that says what it needs."""
    if os.geteuid() != 0:
        html = report(memledger)
        check("report: without frame numbers, the OOM chart says it needs --exact",
              b"needs the page frames" in html)
        return
    html = report(memledger, "--exact")
    kills = re.findall(rb'<g class="kill"><text[^>]*>([^<]*)</text>', html)
    check("report --exact: the OOM chart has a bar a kill (at most 15), each label a process",
          0 < len(kills) <= 15 and all(re.search(rb" [0-9]+( |$)", k) for k in kills),
          kills[:5])
    # (which processes come first moves with the machine: other tests run beside it)


def main():
    memledger, helper, artefacts = os.path.realpath(sys.argv[1]), sys.argv[2], sys.argv[3]
    check_charts(memledger)
    check_classes(memledger, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                          "data"))
    check_usage(memledger)
    with running_family(helper, "memledger-report-") as (_, pids, _, _):
        if not pids:
            return 1
        check_figures(memledger, pids)
        check_oom_chart(memledger, pids)
        check_browser(memledger, artefacts, pids)
    check_snapshot(memledger)
    check_diff(memledger)
    return test_live.finish("report")


if __name__ == "__main__":
    sys.exit(main())
