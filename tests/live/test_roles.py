#!/usr/bin/env python3
"""Roles and app identity on every surface, on a family laid out as Chromium lays out its
processes.

    test_roles.py MEMLEDGER LAYOUT_HELPER

Installs a copy of the Python interpreter as an app (DIR/mlchrome-PID) with a second copy
beside it as its crash handler (DIR/chrome_crashpad_handler), in a directory of its own
under the build directory (on disk: in a tmpfs their pages would be shmem), and starts:

    browser (no --type)
    ├─ --type=zygote
    │  ├─ --type=renderer                    (maps the GPU process's 1 MiB memfd)
    │  ├─ --type=renderer --top-chrome-webui
    │  └─ --type=renderer --extension-process
    ├─ --type=gpu-process                    (writes a 1 MiB memfd)
    └─ --type=utility --utility-sub-type=network.mojom.NetworkService
    chrome_crashpad_handler                  (started by the browser, reparented)

and checks the role of each in ps (table and JSON), tree, top (a column and --by role),
maps' header, diff, report (tables and JSON) and the Prometheus process metrics; groups
--by app (one group named after the program, its PID and one instance, the crash handler
in it) and its Prometheus series; freed of the renderer (the memfd the GPU process keeps
is apart, as kept by a long-lived process, and the browser is named as holding what pages
cannot show).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from test_live import check, finish, skip

APP = f"mlchrome-{os.getpid()}"  # this run's own: another make check's is another app
MiB = 1024 * 1024

MAIN = r'''
import mmap, os, signal, subprocess, sys, time
here = os.path.dirname(os.path.abspath(__file__))
flags = sys.argv[1:]
kind = next((f.split("=", 1)[1] for f in flags if f.startswith("--type=")), None)
name = ("crashpad" if "--crashpad" in flags else kind or "browser") + \
       ("-webui" if "--top-chrome-webui" in flags else "") + \
       ("-extension" if "--extension-process" in flags else "")
own = bytearray(4 * 1024 * 1024)  # 4 MiB of its own, touched
for i in range(0, len(own), 4096):
    own[i] = 1
exe = sys.executable
def start(*f):
    return subprocess.Popen([exe, __file__, *f], stdin=subprocess.DEVNULL)
keep = []
if name == "browser":
    keep += [start("--type=zygote", "--no-zygote-sandbox"),
             start("--type=gpu-process", "--gpu-preferences=AB"),
             start("--type=utility", "--utility-sub-type=network.mojom.NetworkService")]
    middle = os.fork()
    if middle == 0:  # the crash handler: another program, reparented as Chromium's is
        os.setsid()
        if os.fork() == 0:
            os.execv(os.path.join(here, "chrome_crashpad_handler"),
                     ["chrome_crashpad_handler", __file__, "--crashpad", "--monitor-self"])
        os._exit(0)
    os.waitpid(middle, 0)
elif name == "zygote":
    keep += [start("--type=renderer", "--renderer-client-id=7"),
             start("--type=renderer", "--top-chrome-webui", "--renderer-client-id=9"),
             start("--type=renderer", "--extension-process", "--renderer-client-id=11")]
elif name == "gpu-process":
    fd = os.memfd_create("mlchrome-canvas")
    os.write(fd, b"\1" * (1024 * 1024))
    with open(os.path.join(here, "canvas"), "w") as f:
        f.write(f"{os.getpid()} {fd}")
elif name == "renderer":
    path = os.path.join(here, "canvas")
    while not os.path.exists(path):
        time.sleep(0.05)
    time.sleep(0.1)
    gpu, fd = open(path).read().split()
    f = open(f"/proc/{gpu}/fd/{fd}", "rb")
    canvas = mmap.mmap(f.fileno(), 1024 * 1024, prot=mmap.PROT_READ)
    total = sum(canvas[i] for i in range(0, len(canvas), 4096))
with open(os.path.join(here, "ready-" + name), "w") as f:
    f.write(str(os.getpid()))
signal.pause()
'''

ROLES = {"browser": "browser", "zygote": "zygote", "renderer": "renderer",
         "renderer-webui": "renderer:webui", "renderer-extension": "renderer:extension",
         "gpu-process": "gpu-process", "utility": "utility:network.mojom.NetworkService",
         "crashpad": "crashpad-handler"}


def install(base):
    """The app's directory: the program, its crash handler, main.py."""
    d = tempfile.mkdtemp(prefix="mlchrome-", dir=base)
    for name in (APP, "chrome_crashpad_handler"):
        shutil.copy2(os.path.realpath(sys.executable), os.path.join(d, name))
    with open(os.path.join(d, "main.py"), "w") as f:
        f.write(MAIN)
    return d


def start(d):
    """Starts the browser; returns it and the PID of each process by name (None when it did
    not come up in 30 s)."""
    browser = subprocess.Popen([os.path.join(d, APP), os.path.join(d, "main.py"),
                                "--enable-features=X"], stdin=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        ready = {n: os.path.join(d, "ready-" + n) for n in ROLES}
        if all(os.path.exists(p) and open(p).read() for p in ready.values()):
            return browser, {n: int(open(p).read()) for n, p in ready.items()}
        time.sleep(0.1)
    return browser, None


def run(memledger, *args):
    return subprocess.run([memledger, *args], capture_output=True, text=True, timeout=120)


def as_json(memledger, *args):
    out = run(memledger, *args)
    try:
        return json.loads(out.stdout)
    except ValueError:
        return {"error": out.stderr}


def check_ps_tree(memledger, pids):
    plist = ",".join(str(p) for p in pids.values())
    rows = {r["pid"]: r["role"] for r in
            as_json(memledger, "-J", "-p", plist, "-o", "PID,ROLE").get("processes", [])}
    for name, role in ROLES.items():
        check(f"ps: the {name}'s ROLE is {role}", rows.get(pids[name]) == role,
              rows.get(pids[name]))
    table = run(memledger, "-p", plist).stdout.splitlines()
    check("ps: ROLE joins the default columns", table and "ROLE" in table[0].split(), table[:1])
    tree = as_json(memledger, "tree", "-J", "-p", str(pids["browser"]), "-o", "PID,ROLE")
    flat, todo = {}, list(tree.get("processes", []))
    while todo:
        node = todo.pop()
        flat[node["pid"]] = node.get("role")
        todo += node.get("children", [])
    check("tree: the browser's subtree carries each role",
          all(flat.get(pids[n]) == ROLES[n] for n in ROLES if n != "crashpad"), flat)


def parent(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def check_app(memledger, pids):
    check("the crash handler was reparented (its parent is not the browser)",
          parent(pids["crashpad"]) != pids["browser"], parent(pids["crashpad"]))
    groups = as_json(memledger, "groups", "--by", "app", "-J",
                     "-o", "NAME,PID,INSTANCES,PROCS").get("groups", [])
    app = [g for g in groups if g["name"] == APP]
    check("groups --by app: one group named after the program (no PID in its name), its "
          "top process the browser, one instance, all 8 processes (the reparented crash "
          "handler in it)",
          len(app) == 1 and app[0]["pid"] == pids["browser"] and app[0]["instances"] == 1
          and app[0]["procs"] == len(ROLES), app)
    table = run(memledger, "groups", "--by", "app").stdout.splitlines()
    check("groups --by app: PID and INSTANCES join the default columns",
          table and table[0].split()[:4] == ["NAME", "PROCS", "PID", "INSTANCES"], table[:1])
    text = run(memledger, "export", "--by", "app", "--top", "100000").stdout
    check("export --by app: the group's series is group=\"APP\", with no PID",
          f'memledger_group_processes{{group="{APP}",by="app"}} 8' in text and
          f'memledger_group_instances{{group="{APP}",by="app"}} 1' in text,
          [l for l in text.splitlines() if APP in l][:3])
    for name in ("browser", "renderer-webui", "gpu-process"):
        want = f'memledger_process_memory_bytes{{pid="{pids[name]}",'
        line = next((l for l in text.splitlines() if l.startswith(want)), "")
        check(f"export: the {name}'s process metrics carry role=\"{ROLES[name]}\"",
              f'role="{ROLES[name]}"' in line, line)
    if shutil.which("promtool"):
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True)
        check("export with role labels: promtool check metrics", r.returncode == 0,
              r.stdout + r.stderr)


def check_top(memledger, pids):
    plist = ",".join(str(p) for p in pids.values())
    doc = as_json(memledger, "top", "-b", "-n", "1", "-J", "-p", plist)
    rows = {r["pid"]: r.get("role") for r in doc.get("processes", [])}
    check("top: ROLE of each process", all(rows.get(pids[n]) == r for n, r in ROLES.items()),
          rows)
    doc = as_json(memledger, "top", "-b", "-n", "1", "-J", "-p", plist, "--by", "role")
    groups = {g.get("command"): g.get("procs") for g in doc.get("groups", [])}
    check("top --by role: a row per role, the three renderers apart by kind",
          groups.get("renderer") == 1 and groups.get("renderer:webui") == 1 and
          groups.get("browser") == 1 and groups.get("gpu-process") == 1, groups)


def check_maps_diff_report(memledger, pids, d):
    out = run(memledger, "maps", str(pids["renderer-webui"])).stdout.splitlines()
    check("maps: the header names the role", out and out[0].endswith(": renderer:webui"),
          out[:1])
    doc = as_json(memledger, "maps", "-J", str(pids["renderer"]))
    procs = doc.get("processes", [{}])
    check("maps -J: the process's role", procs and procs[0].get("role") == "renderer", procs[:1])
    snap = os.path.join(d, "a.tar")
    run(memledger, "capture", "-o", snap)
    plist = ",".join(str(p) for p in pids.values())
    doc = as_json(memledger, "diff", snap, "live", "-J", "-p", plist, "-o", "PID,ROLE,PSS")
    rows = {r["pid"]: r.get("role") for r in doc.get("processes", [])}
    check("diff: ROLE of each process (a snapshot against live)",
          all(rows.get(pids[n]) == r for n, r in ROLES.items()), rows)
    html = os.path.join(d, "r.html")
    run(memledger, "report", "-o", html)
    text = open(html).read() if os.path.exists(html) else ""
    check("report: the process table, labels and JSON carry the roles",
          "<td>renderer:extension</td>" in text and f"{pids['gpu-process']} gpu-process" in text
          and '"role": "renderer:webui"' in text.replace('":"', '": "'), len(text))


def check_freed(memledger, pids):
    doc = as_json(memledger, "freed", "-J", str(pids["renderer"]))
    kept = [o for o in doc.get("may_also_be_freed", []) if "mlchrome-canvas" in o["name"]]
    check("freed renderer: the GPU process's canvas memfd may also be freed, as kept by a "
          "long-lived process",
          len(kept) == 1 and kept[0]["kept_by"] == [pids["gpu-process"]] and
          kept[0]["class"] == "long-lived" and kept[0]["size"] == MiB, kept)
    check("freed renderer: JSON names the browser that may hold more for it",
          doc.get("browser") == pids["browser"], doc.get("browser"))
    text = run(memledger, "freed", str(pids["renderer"])).stdout
    check("freed renderer: the table puts the canvas under the long-lived heading, and says "
          "what pages cannot show",
          "kept by the app's long-lived processes (gpu-process)" in text and
          f"browser process ({pids['browser']})" in text, text)
    doc = as_json(memledger, "freed", "-J", str(pids["utility"]))
    check("freed of a utility (no renderer): no browser note", doc.get("browser") is None,
          doc.get("browser"))


def descends(procs, pid, top):
    """True when pid is top or descends from it, by the PPIDs in procs."""
    for _ in range(32):
        if pid == top:
            return True
        pid = procs.get(pid, {}).get("ppid")
        if not pid:
            return False
    return False


def check_real_chromium(memledger, d):
    """Debian's Chromium, headless (make check installs it; SKIP without it): ROLE of its
    browser, renderers and GPU process, its crash handlers (reparented to init) in the
    app's group, named chromium."""
    if not shutil.which("chromium"):
        skip("roles on a real Chromium", "chromium is not installed")
        return
    data = tempfile.mkdtemp(prefix="chromium-", dir=d)
    browser = subprocess.Popen(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                                f"--user-data-dir={data}", "--remote-debugging-port=0",
                                "about:blank"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        rows, deadline = {}, time.time() + 30
        while time.time() < deadline:
            doc = as_json(memledger, "-J", "-o", "PID,PPID,ROLE,COMMAND")
            procs = {r["pid"]: r for r in doc.get("processes", [])}
            rows = {pid: r for pid, r in procs.items()
                    if data in (r.get("command") or "") or descends(procs, pid, browser.pid)}
            roles = [r["role"] for r in rows.values()]
            if "renderer" in roles and "gpu-process" in roles:
                break
            time.sleep(0.5)
        roles = sorted(r["role"] or "" for r in rows.values())
        print(f"a real Chromium: {len(rows)} processes, roles {roles}")
        check("real Chromium: the browser process is browser",
              rows.get(browser.pid, {}).get("role") == "browser", rows.get(browser.pid))
        check("real Chromium: a renderer and the GPU process have their roles",
              "renderer" in roles and "gpu-process" in roles, roles)
        groups = as_json(memledger, "groups", "--by", "app", "-J", "-o",
                         "NAME,PID,INSTANCES,PROCS").get("groups", [])
        names = {g["name"]: g for g in groups}
        app = names.get("chromium", {})
        check("real Chromium: groups --by app has a chromium group with its processes, and "
              "no group of its crash handlers apart (they joined the app)",
              app.get("procs", 0) >= len(rows) and app.get("instances", 0) >= 1 and
              "chrome_crashpad_handler" not in names, (app, sorted(names)[:20]))
    finally:
        browser.terminate()
        try:
            browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            browser.kill()
            browser.wait()
        subprocess.run(["pkill", "-KILL", "-f", data], check=False)


def main():
    memledger = sys.argv[1]
    base = os.path.dirname(os.path.realpath(sys.argv[2]))
    d = install(base)
    browser, pids = None, None
    try:
        browser, pids = start(d)
        if pids is None:
            check("the Chromium-like family comes up in 30 s", False,
                  sorted(os.listdir(d)))
            return finish("roles")
        check_ps_tree(memledger, pids)
        check_app(memledger, pids)
        check_top(memledger, pids)
        check_maps_diff_report(memledger, pids, d)
        check_freed(memledger, pids)
        check_real_chromium(memledger, d)
    finally:
        for pid in (pids or {}).values():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if browser:
            browser.kill()
            browser.wait()
        shutil.rmtree(d, ignore_errors=True)
    return finish("roles")


if __name__ == "__main__":
    sys.exit(main())
