#!/usr/bin/env python3
"""Snapshot archives as files: memledger-capture's tar writer against GNU tar and
libarchive, smemcap's layout, and hostile archives.

    test_archives.py MEMLEDGER MEMLEDGER_CAPTURE TAR_WRITER TESTDATA CAPTURE_TREE
"""
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "live"))
import test_live  # noqa: E402 - its check() and counters
from test_live import check  # noqa: E402
import bombs  # noqa: E402 - beside this file


def listing(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    return out.returncode, out.stdout.splitlines(), out.stderr


def check_tar_writer(writer, tmp):
    """Names and link targets of 100 characters and more, read by GNU tar and libarchive."""
    long_dir = "proc/" + "d" * 90 + "/" + "e" * 60
    entries = {"memledger-manifest": "memledger-snapshot: 1\n", "proc/1/status": "Name:\tx\n",
               f"{long_dir}/smaps": "long\n", "a" * 99: "99", "b" * 100: "100", "c" * 101: "101",
               "proc/2/" + "f" * 200: "deep", "empty": ""}
    links = {"proc/1/exe": "/usr/bin/" + "x" * 150, "proc/2/exe": "/bin/sh"}
    out = os.path.join(tmp, "w.tar")
    args = [f"{k}={v}" for k, v in entries.items()] + [f"{k}->{v}" for k, v in links.items()]
    rc = subprocess.run([writer, out, *args]).returncode
    check("the tar writer writes", rc == 0)
    want = list(entries) + list(links)
    for name, cmd in (("GNU tar", ["tar", "-tf", out]), ("bsdtar", ["bsdtar", "-tf", out])):
        rc, names, err = listing(cmd)
        check(f"{name} lists the writer's archive", rc == 0 and names == want,
              f"{err} {names}")
    for path, data in entries.items():
        got = subprocess.run(["tar", "-xOf", out, path], capture_output=True).stdout.decode()
        check(f"GNU tar reads {path[:20]}... back", got == data, repr(got))
        got = subprocess.run(["bsdtar", "-xOf", out, path], capture_output=True).stdout.decode()
        check(f"bsdtar reads {path[:20]}... back", got == data, repr(got))
    with tarfile.open(out) as t:
        for path, target in links.items():
            check(f"the link {path} keeps its target", t.getmember(path).linkname == target)
    rc, names, err = listing(["tar", "-tvf", out])
    check("GNU tar verifies the checksums", rc == 0 and "0444" not in err, err)


def check_capture_program(memledger, capture, tmp):
    """memledger-capture's archive: both readers, and memledger --source."""
    out = os.path.join(tmp, "c.tar")
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        proc = subprocess.Popen([capture, "-o", out], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        err = proc.communicate()[1]
        check("memledger-capture -o FILE", proc.returncode == 0, err)
        rc, gnu, _ = listing(["tar", "-tf", out])
        rc2, bsd, _ = listing(["bsdtar", "-tf", out])
        check("GNU tar and bsdtar read memledger-capture's archive alike",
              rc == 0 and rc2 == 0 and gnu == bsd and gnu[0] == "memledger-manifest"
              and gnu[-1] == "memledger-unreadable", f"{gnu[:2]} {gnu[-1:]}")
        check("memledger-capture leaves itself out",
              gnu and not any(n.startswith(f"proc/{proc.pid}/") for n in gnu),
              f"proc/{proc.pid}/ in the archive")
        r = subprocess.run([memledger, "--source", out, "-J", "-p", str(sleeper.pid),
                            "-o", "PID,COMMAND,RSS"], capture_output=True, text=True)
        rows = json.loads(r.stdout)["processes"] if r.returncode == 0 else []
        check("memledger reads memledger-capture's archive",
              rows and rows[0]["command"] == "sleep 60" and rows[0]["rss"] > 0, r.stderr)
        r = subprocess.run(f"{capture} | tar -tf - | head -1", shell=True, capture_output=True,
                           text=True)
        check("memledger-capture to a pipe", r.stdout.strip() == "memledger-manifest", r.stderr)
        r = subprocess.run([capture, "-o", "/nonexistent/x.tar"], capture_output=True, text=True)
        check("memledger-capture into a missing directory: usage error", r.returncode == 2, r.stderr)
    finally:
        sleeper.kill()
        sleeper.wait()


def check_smemcap(memledger, testdata, tmp):
    """An archive laid out as smemcap writes it: the figures smaps gives, the rest unknown."""
    snap = os.path.join(tmp, "smemcap.tar")
    subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "mktar.py"), snap,
                    os.path.join(testdata, "proc-basic"), "--smemcap"], check=True)
    r = subprocess.run([memledger, "--source", snap, "-J", "-o", "PID,USER,PSS,RSS,COMMAND"],
                       capture_output=True, text=True)
    doc = json.loads(r.stdout) if r.returncode == 0 else {"processes": []}
    rows = {p["pid"]: p for p in doc["processes"]}
    check("smemcap: the process with smaps has its figures",
          rows.get(100, {}).get("pss") == 2560 * 1024 and rows[100]["rss"] == 3 * 1024 * 1024,
          str(rows.get(100)))
    check("smemcap: no status: the user is unknown, not root",
          rows.get(100, {}).get("user") is None, str(rows.get(100)))
    check("smemcap: a process without smaps has unknown figures",
          101 in rows and rows[101]["pss"] is None, str(rows.get(101)))


def check_in_place(memledger, testdata, tmp):
    """An uncompressed tar is read in place: where each file's data starts, past pax
    headers of any length, must be where it is."""
    tree = os.path.join(testdata, "proc-basic")
    snap = os.path.join(tmp, "pax.tar")
    with tarfile.open(snap, "w", format=tarfile.PAX_FORMAT) as t:
        info = tarfile.TarInfo("memledger-manifest")
        data = b"memledger-snapshot: 1\n"
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
        for n, (dirpath, _, files) in enumerate(sorted(os.walk(tree))):
            for name in sorted(files):
                path = os.path.join(dirpath, name)
                info = t.gettarinfo(path, "proc/" + os.path.relpath(path, tree))
                info.pax_headers = {"comment": "x" * (100 + 613 * n)}  # headers of any size
                with open(path, "rb") as f:
                    t.addfile(info, f)
        info = tarfile.TarInfo("memledger-unreadable")
        data = b"proc/1/smaps_rollup EISDIR\n"
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    for args in (["-J", "-o", "PID,USER,PSS,RSS,SWAP,COMMAND"], ["maps", "100", "-J"]):
        a = subprocess.run([memledger, "--source", snap, *args], capture_output=True, text=True)
        b = subprocess.run([memledger, "--source", tree, *args], capture_output=True, text=True)
        check(f"{' '.join(args)}: a tar with pax headers, read in place, reads as its tree",
              a.returncode == b.returncode == 0 and a.stdout == b.stdout, a.stderr + b.stderr)


def hostile_archives(tmp, testdata):
    """(name, path) of archives that are broken, foreign or hostile."""
    good = os.path.join(tmp, "good.tar")
    subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "mktar.py"), good,
                    os.path.join(testdata, "proc-basic")], check=True)
    data = open(good, "rb").read()
    out = []

    def write(name, content):
        path = os.path.join(tmp, name)
        with open(path, "wb") as f:
            f.write(content)
        out.append((name, path))

    write("empty.tar", b"")
    write("garbage.tar", b"\x7fELF" + os.urandom(4000))
    write("zeros.tar", bytes(10240))
    last = data.rfind(b"memledger-unreadable")  # the last member's header
    for cut in (100, 512, 700, 1536, len(data) // 2, last + 100, last + 512):
        write(f"cut-{cut}.tar", data[:cut])
    flipped = bytearray(data)
    for at in range(148, len(flipped), 1531):  # checksums and contents
        flipped[at] ^= 0x5A
    write("flipped.tar", bytes(flipped))
    gz = os.path.join(tmp, "g.tar.gz")
    subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "mktar.py"), gz,
                    os.path.join(testdata, "proc-basic")], check=True)
    gzdata = open(gz, "rb").read()
    for cut in (10, len(gzdata) // 2, len(gzdata) - 4):
        write(f"cut-{cut}.tar.gz", gzdata[:cut])

    def tar_of(name, members):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
            for info, content in members:
                t.addfile(info, io.BytesIO(content) if content is not None else None)
        write(name, buf.getvalue())

    def f(path, content=b"x"):
        info = tarfile.TarInfo(path)
        info.size = len(content)
        return info, content

    def link(path, target, kind=tarfile.SYMTYPE):
        info = tarfile.TarInfo(path)
        info.type = kind
        info.linkname = target
        return info, None

    manifest = f("memledger-manifest", b"memledger-snapshot: 1\n")
    status = open(os.path.join(testdata, "proc-basic/100/status"), "rb").read()
    tar_of("traversal.tar", [manifest, f("../../../etc/passwd"), f("/etc/shadow"),
                             f("proc/../../x"), f("proc/100/status", status)])
    tar_of("pid-link.tar", [manifest, link("proc/100", "/proc/1"), link("proc/200/status",
                                                                        "/etc/passwd")])
    tar_of("hardlink.tar", [manifest, f("proc/100/status", status),
                            link("proc/101/status", "proc/100/status", tarfile.LNKTYPE)])
    tar_of("twice.tar", [manifest, f("proc/100/status", b"garbage"),
                         f("proc/100/status", status)])
    tar_of("bad-pagemap.tar", [manifest, f("proc/100/status", status),
                               f("proc/100/smaps", open(os.path.join(
                                   testdata, "proc-basic/100/smaps"), "rb").read()),
                               f("proc/100/pagemap", b"MLPAGES1" + b"\xff" * 40),
                               f("proc/kpages", b"MLFRAME1" + b"\x01" * 23)])
    fifo = tarfile.TarInfo("proc/100/status")
    fifo.type = tarfile.FIFOTYPE
    tar_of("fifo.tar", [manifest, (fifo, None)])
    # a header that says 8 GiB, with a few bytes behind it
    big = bytearray(data[:512])
    big[124:136] = b"%011o\0" % (8 << 30)
    big[148:156] = b"        "
    big[148:155] = b"%06o\0" % sum(big)
    write("huge-size.tar", bytes(big) + b"x" * 2048)
    return out


def check_hostile(memledger, tmp, testdata):
    views = [[], ["system"], ["groups", "--by", "pid"], ["freed", "100"], ["maps", "100"],
             ["shm"], ["libs"], ["tree"]]
    for name, path in hostile_archives(tmp, testdata):
        for view in views:
            try:
                r = subprocess.run([memledger, "--source", path, *view], capture_output=True,
                                   text=True, timeout=20)
            except subprocess.TimeoutExpired:
                check(f"{name} {view}: ends", False, "hung")
                continue
            check(f"{name} {' '.join(view)}: an answer or a clear error, never a crash",
                  r.returncode in (0, 1) and (r.returncode == 0 or "memledger:" in r.stderr),
                  f"exit {r.returncode}: {r.stderr[-300:]}")
            if name.startswith(("empty", "garbage", "zeros", "cut-", "huge")) and view == []:
                check(f"{name}: refused, with why", r.returncode == 1 and
                      ("archive" in r.stderr or "truncated" in r.stderr.lower()),
                      f"exit {r.returncode}: {r.stdout[:200]} {r.stderr}")


def peak_run(argv):
    """(exit status, stdout, stderr, peak RSS in KiB) of argv."""
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    p = subprocess.Popen(argv, stdout=out, stderr=err)
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    err.seek(0)
    return p.returncode, out.read().decode(errors="replace"), \
        err.read().decode(errors="replace"), usage.ru_maxrss


def check_bombs(memledger, tmp, testdata):
    """Archives that inflate to gigabytes: junk outside proc/ is skipped unread (a view's
    peak memory stays within 64 MiB of a small snapshot's), and a file larger than any
    real one is refused by name."""
    plain = os.path.join(tmp, "plain.tar.zst")
    bombs.write_bomb(plain, testdata, [])
    junk = os.path.join(tmp, "junk.tar.zst")
    bombs.write_bomb(junk, testdata, [(f"junk/{i}", 1 << 30) for i in range(4)] +
                     [("sys/junk", 1 << 30), ("proc/junk", 1 << 30)])
    big = os.path.join(tmp, "big-smaps.tar.zst")
    bombs.write_bomb(big, testdata, [("proc/100/smaps", 300 << 20)])
    meminfo = os.path.join(tmp, "big-meminfo.tar.zst")
    bombs.write_bomb(meminfo, testdata, [("proc/meminfo", 300 << 20)])
    for view in (["ps"], ["system"], ["maps", "100"], ["libs"], ["groups", "--by", "pid"],
                 ["export"], ["report", "-o", "-"]):
        rc0, out0, _, rss0 = peak_run([memledger, "--source", plain, *view])
        rc, out, err, rss = peak_run([memledger, "--source", junk, *view])
        check(f"6 GiB of junk, {' '.join(view)}: as without it, within 64 MiB of its memory",
              rc == rc0 and (out == out0 or view[0] in ("export", "report")) and
              rss < rss0 + 65536, f"exit {rc} ({rc0}), {rss} KiB ({rss0} KiB): {err[-300:]}")
    rc, _, err, rss = peak_run([memledger, "--source", big, "maps", "100"])
    check("a 300 MiB smaps: refused by name, unread", rc == 1 and "100/smaps: larger" in err and
          "larger than any real one" in err and rss < 65536 * 2, f"exit {rc}, {rss} KiB: {err}")
    rc, out, err, _ = peak_run([memledger, "--source", big, "ps"])
    check("a 300 MiB smaps: ps, which does not read it, answers", rc == 0, err)
    rc, _, err, _ = peak_run([memledger, "--source", meminfo, "system"])
    check("a 300 MiB meminfo: refused by name", rc == 1 and "meminfo: larger" in err, err)


def check_gpu_capture(memledger, capture_tree, testdata, tmp):
    """The GPU fixture tree captured as /proc is (its DRM and dma-buf fds, their fdinfo,
    its mapped dma-bufs, the kernel's dma-buf list) reads back as the tree; a version 2
    snapshot, which recorded no GPU fds, reads as unknown, not 0."""
    tree = os.path.join(testdata, "gpu", "proc")
    snap = os.path.join(tmp, "gpu.tar")
    r = subprocess.run([capture_tree, snap, tree, os.path.join(testdata, "gpu", "sys")],
                       capture_output=True, text=True)
    check("capture of the GPU tree", r.returncode == 0, r.stderr)
    with tarfile.open(snap) as t:
        names = t.getnames()
        manifest = t.extractfile("memledger-manifest").read().decode()
    check("the manifest says version 4", manifest.startswith("memledger-snapshot: 4\n"),
          manifest[:40])
    check("a GPU fd's fdinfo is captured", "proc/300/fdinfo/11" in names, names[:20])
    check("the fd of /dev/null is not", "proc/300/fdinfo/0" not in names)
    with tarfile.open(snap) as t:
        lines = t.extractfile("proc/340/memledger.fds").read().decode()
        maps = t.extractfile("proc/340/memledger.dmabuf-maps").read().decode()
    check("memledger.fds names the dma-buf fds", "20 0:0 0 /dmabuf:camera" in lines and
          "21 0:0 0 anon_inode:dmabuf" in lines, lines)
    check("the mapped dma-bufs are recorded", " 5003 /dmabuf:" in maps and maps.count("\n") == 2,
          maps)
    for view in (["gpu", "-b", "-t"], ["-o", "PID,GPU,VRAM,DMABUF", "-b", "-t", "-s", "PID"],
                 ["system", "-b"], ["gpu", "-J"]):
        a = subprocess.run([memledger, "--source", tree, *view], capture_output=True, text=True)
        b = subprocess.run([memledger, "--source", snap, *view], capture_output=True, text=True)
        check(f"{' '.join(view)}: the snapshot reads as the tree", a.stdout == b.stdout and
              a.returncode == b.returncode == 0, b.stdout[:400] + b.stderr)
    old = os.path.join(tmp, "gpu-v2.tar")
    with tarfile.open(snap) as src, tarfile.open(old, "w") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read() if m.isreg() else None
            if m.name == "memledger-manifest":
                data = data.replace(b"memledger-snapshot: 4", b"memledger-snapshot: 2")
                m.size = len(data)
            dst.addfile(m, io.BytesIO(data) if data is not None else None)
    r = subprocess.run([memledger, "--source", old, "-o", "PID,GPU,VRAM,DMABUF", "-J"],
                       capture_output=True, text=True)
    procs = json.loads(r.stdout)["processes"] if r.returncode == 0 else []
    check("a version 2 snapshot: GPU figures unknown, not 0", procs and
          all(p["gpu"] is None and p["dmabuf"] is None for p in procs), r.stdout[:300])


def check_device_manifest(memledger, capture_tree, testdata, tmp):
    """A capture on an Android device's root (capture_tree's ROOTDIR: build.prop files,
    the model only in the vendor's) and on a Chromebook's: the manifest says what the
    system is, each property the first file's that has it, and the snapshot reads as
    Android's; on a plain Linux root, neither line."""
    tree = os.path.join(testdata, "android-shell", "proc")
    root = os.path.join(tmp, "root")
    for path, text in (("system/build.prop", "ro.build.version.sdk=34\n"
                        "ro.build.version.release=14\nro.product.system.model=generic\n"),
                       ("vendor/build.prop", "ro.build.version.release=13\n"
                        "ro.product.vendor.model=Pixel 7\n"),
                       ("etc/lsb-release", "CHROMEOS_RELEASE_NAME=Chrome OS\n"
                        "CHROMEOS_RELEASE_VERSION=15633.44.0\n")):
        os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
        with open(os.path.join(root, path), "w") as f:
            f.write(text)
    snap = os.path.join(tmp, "device.tar")
    r = subprocess.run([capture_tree, snap, tree, os.path.join(tree, "..", "sys"), root],
                       capture_output=True, text=True)
    check("capture on a device's root", r.returncode == 0, r.stderr)
    with tarfile.open(snap) as t:
        manifest = t.extractfile("memledger-manifest").read().decode()
    check("the manifest says android: 14 (sdk 34), device: Pixel 7 and chromeos:",
          "\nandroid: 14 (sdk 34)\n" in manifest and "\ndevice: Pixel 7\n" in manifest and
          "\nchromeos: 15633.44.0\n" in manifest, manifest)
    r = subprocess.run([memledger, "--source", snap, "-o", "PID,ROLE"],
                       capture_output=True, text=True)
    check("... and the snapshot reads as Android's (an app's bucket in ROLE)",
          "com.android.chrome (foreground)" in r.stdout, r.stdout + r.stderr)
    os.unlink(os.path.join(root, "system", "build.prop"))
    os.unlink(os.path.join(root, "vendor", "build.prop"))
    os.unlink(os.path.join(root, "etc", "lsb-release"))
    r = subprocess.run([capture_tree, snap, tree, os.path.join(tree, "..", "sys"), root],
                       capture_output=True, text=True)
    with tarfile.open(snap) as t:
        manifest = t.extractfile("memledger-manifest").read().decode()
    check("on a plain root: no android:, device: or chromeos: line",
          not any(k in manifest for k in ("\nandroid:", "\ndevice:", "\nchromeos:")),
          manifest)


def main():
    memledger, capture, writer, testdata, capture_tree = map(os.path.realpath, sys.argv[1:6])
    for tool in ("tar", "bsdtar"):
        if not shutil.which(tool):
            print(f"SKIP: {tool} is missing (make check installs libarchive-tools)")
            return 77
    tmp = tempfile.mkdtemp(prefix="memledger-archives-")
    try:
        check_tar_writer(writer, tmp)
        if os.geteuid() == 0:
            check_capture_program(memledger, capture, tmp)
        else:
            print("SKIP: memledger-capture of every process needs root")
        check_smemcap(memledger, testdata, tmp)
        check_in_place(memledger, testdata, tmp)
        check_gpu_capture(memledger, capture_tree, testdata, tmp)
        check_device_manifest(memledger, capture_tree, testdata, tmp)
        check_hostile(memledger, tmp, testdata)
        check_bombs(memledger, tmp, testdata)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return test_live.finish("archives")


if __name__ == "__main__":
    sys.exit(main())
