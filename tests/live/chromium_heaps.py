#!/usr/bin/env python3
"""Chromium's own allocator totals beside memledger's classes, per renderer: a headless
Chromium loads a page that fills the V8 heap (JS objects), ArrayBuffers (PartitionAlloc)
and canvases; the DevTools protocol (over --remote-debugging-pipe: no websocket) asks it
for a memory-infra dump (Tracing.start with disabled-by-default-memory-infra, then
Tracing.requestMemoryDump); each renderer's malloc, partition_alloc and v8 sizes are set
beside memledger heaps' classes of the same process.

    chromium_heaps.py MEMLEDGER [--check]    the table and JSON; with --check, a test:
                                             exit 1 when memledger's classes disagree,
                                             77 (SKIP) without Chromium

The checks, on the renderer of the page: its Managed Heap (V8's heap, found by shape)
within 80-110% of what V8 says it committed; its Native Heap (PartitionAlloc's super
pages) between what malloc and partition_alloc say is live and 110% of what they
committed; under 10% of its anonymous memory left as Other Anon.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

PAGE = """data:text/html,<canvas id=c width=2048 height=2048></canvas><script>
let objs = []; for (let i = 0; i < 400000; i++) objs.push({a: i, b: 'x' + i, c: [i, i]});
let bufs = []; for (let i = 0; i < 8; i++) { let b = new ArrayBuffer(8 << 20);
  new Uint8Array(b).fill(i + 1); bufs.push(b); }
let g = document.getElementById('c').getContext('2d');
for (let i = 0; i < 200; i++) { g.fillStyle = 'rgb(' + i + ',0,0)'; g.fillRect(i, i, 900, 900); }
window.keep = [objs, bufs]; document.title = 'ready';
</script>"""


class Pipe:
    """The DevTools protocol over Chromium's --remote-debugging-pipe (fds 3 and 4)."""

    def __init__(self, chromium, profile):
        self.to_r, self.to_w = os.pipe()
        self.from_r, self.from_w = os.pipe()
        os.set_inheritable(self.to_r, True)
        os.set_inheritable(self.from_w, True)
        self.proc = subprocess.Popen(
            ["sh", "-c", f'exec 3<&{self.to_r} 4>&{self.from_w}; exec "$@"', "sh", chromium,
             "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             f"--user-data-dir={profile}", "--no-first-run", PAGE],
            pass_fds=(self.to_r, self.from_w), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(self.to_r)
        os.close(self.from_w)
        self.buf, self.id = b"", 0

    def send(self, method, **params):
        self.id += 1
        msg = {"id": self.id, "method": method, "params": params}
        os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        return self.id

    def messages(self, until):
        """Messages read until until(message) is true (that message included)."""
        out = []
        while True:
            while b"\0" not in self.buf:
                chunk = os.read(self.from_r, 1 << 20)
                if not chunk:
                    return out
                self.buf += chunk
            raw, self.buf = self.buf.split(b"\0", 1)
            m = json.loads(raw)
            out.append(m)
            if until(m):
                return out

    def call(self, method, **params):
        i = self.send(method, **params)
        return self.messages(lambda m: m.get("id") == i)[-1]

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)


def size_of(dump, attr="size"):
    v = dump.get("attrs", {}).get(attr, {}).get("value")
    return int(v, 16) if v else 0


def measure(memledger, chromium):
    """One memory-infra dump of a fresh Chromium on PAGE, and memledger heaps of its
    renderers at the same moment: {pid: {"chromium": {...}, "memledger": {class: RSS}}}."""
    profile = tempfile.mkdtemp(prefix="memledger-chromium-")
    pipe = Pipe(chromium, profile)
    try:
        for wait in (6, 6, 8, 10):  # until the page has filled V8's heap
            time.sleep(wait)
            pipe.call("Tracing.start", traceConfig={
                "includedCategories": ["disabled-by-default-memory-infra"],
                "memoryDumpConfig": {"triggers": []}})
            pipe.call("Tracing.requestMemoryDump")
            heaps = json.loads(subprocess.run(
                [memledger, "heaps", "-J", "-b", "-P", "type=renderer"], capture_output=True,
                text=True).stdout or "{}")
            pipe.send("Tracing.end")
            events = []
            for m in pipe.messages(lambda m: m.get("method") == "Tracing.tracingComplete"):
                if m.get("method") == "Tracing.dataCollected":
                    events += m["params"]["value"]
            rows = join(events, heaps)
            if any(r["chromium"].get("v8", 0) >= 40 << 20 for r in rows.values()):
                return rows
        return rows
    finally:
        pipe.close()
        shutil.rmtree(profile, ignore_errors=True)


def join(events, heaps):
    chrome = {}
    for e in events:
        allocators = e.get("args", {}).get("dumps", {}).get("allocators")
        if e.get("ph") != "v" or not allocators:
            continue
        c = chrome.setdefault(e["pid"], {})
        for name in ("malloc", "partition_alloc", "v8", "blink_gc"):
            if name in allocators:
                c[name] = size_of(allocators[name])
                c[name + ":allocated"] = size_of(allocators[name], "allocated_objects_size")
    rows = {}
    for p in heaps.get("processes", []):
        if p["pid"] in chrome:
            rows[p["pid"]] = {"chromium": chrome[p["pid"]],
                              "memledger": {k["name"]: k["rss"] for k in p["classes"]}}
    return rows


def main():
    memledger = os.path.realpath(sys.argv[1])
    check_mode = "--check" in sys.argv[2:]
    chromium = shutil.which("chromium")
    if not chromium:
        print("SKIP: chromium is not installed (make check installs it)")
        return 77
    rows = measure(memledger, chromium)
    failed = 0
    for pid, r in sorted(rows.items()):
        c, cls = r["chromium"], r["memledger"]
        native = c.get("malloc", 0) + c.get("partition_alloc", 0)
        live = c.get("malloc:allocated", 0) + c.get("partition_alloc:allocated", 0)
        anon = sum(cls.get(k, 0) for k in ("Native Heap", "Managed Heap", "Other Anon"))
        print(f"renderer {pid}: V8 committed {c.get('v8', 0) >> 20} MiB, memledger Managed "
              f"Heap {cls.get('Managed Heap', 0) >> 20} MiB; malloc + partition_alloc live "
              f"{live >> 20} MiB, committed {native >> 20} MiB, memledger Native Heap "
              f"{cls.get('Native Heap', 0) >> 20} MiB; Other Anon "
              f"{cls.get('Other Anon', 0) >> 20} MiB of {anon >> 20} MiB anonymous; "
              f"Oilpan (blink_gc) {c.get('blink_gc', 0) >> 20} MiB is not told apart")
    page = max(rows.values(), key=lambda r: r["chromium"].get("v8", 0), default=None)
    print(json.dumps(rows))
    if not check_mode:
        return 0 if rows else 1

    def check(name, ok, detail=""):
        nonlocal failed
        if not ok:
            failed += 1
            print(f"FAIL: {name} {detail}")
    check("Chromium's dump and memledger name the page's renderer", page is not None,
          str(rows)[:300])
    if page:
        c, cls = page["chromium"], page["memledger"]
        v8, managed = c.get("v8", 0), cls.get("Managed Heap", 0)
        check("the page filled V8's heap (40 MiB)", v8 >= 40 << 20, str(c))
        check("Managed Heap is 80-110% of what V8 committed", 0.8 * v8 <= managed <= 1.1 * v8,
              f"{managed} {v8}")
        native = c.get("malloc", 0) + c.get("partition_alloc", 0)
        live = c.get("malloc:allocated", 0) + c.get("partition_alloc:allocated", 0)
        got = cls.get("Native Heap", 0)
        check("Native Heap lies between PartitionAlloc's live and 110% of its committed",
              live <= got <= 1.1 * native, f"{live} {got} {native}")
        anon = sum(cls.get(k, 0) for k in ("Native Heap", "Managed Heap", "Other Anon"))
        check("under 10% of the renderer's anonymous memory is left Other Anon",
              cls.get("Other Anon", 0) < 0.1 * anon, str(cls))
    print(f"chromium heaps: {'FAIL' if failed else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
