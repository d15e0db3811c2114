#!/usr/bin/env python3
"""memledger capture --adb, end to end without a phone.

    test_adb.py MEMLEDGER

With Debian's adb and no device: a clear message, exit 1, nothing left behind (no file,
no adb server it started). Then against a fake adb (written here, first on PATH) whose
"device" is a directory and whose shell runs what was pushed under qemu-user: the capture
for the ABI the device names is pushed, run (through su -c with --root), pulled into -o
and removed; an ABI without a build, a capture that fails on the device and a name that is
no .tar each fail with nothing left on the device or here.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_live import check, finish, skip  # noqa: E402

FAKE_ADB = r'''#!/usr/bin/env python3
# A fake adb: the device is the directory $FAKE_ADB_ROOT; its ABI $FAKE_ADB_ABI (none: no
# device); what runs there runs here (arm under qemu-user). Every call is logged.
import os, shlex, shutil, subprocess, sys
args = sys.argv[1:]
with open(os.environ["FAKE_ADB_LOG"], "a") as log:
    log.write(" ".join(args) + "\n")
root, abi = os.environ["FAKE_ADB_ROOT"], os.environ.get("FAKE_ADB_ABI", "")
if args[:1] == ["-s"]:
    args = args[2:]
def dev(path):
    return root + path if path.startswith("/data/") else path
if args[0] in ("kill-server", "start-server"):
    sys.exit(0)
if not abi:
    print("error: no devices/emulators found", file=sys.stderr)
    sys.exit(1)
if args[0] == "get-state":
    print("device"); sys.exit(0)
if args[0] == "push":
    shutil.copy(args[1], dev(args[2])); sys.exit(0)
if args[0] == "pull":
    shutil.copy(dev(args[1]), args[2]); sys.exit(0)
if args[0] == "shell":
    words = args[1:]
    if words == ["getprop", "ro.product.cpu.abi"]:
        print(abi); sys.exit(0)
    if words[:2] == ["su", "-c"]:
        words = shlex.split(words[2])
    elif len(words) == 1:
        words = shlex.split(words[0])
    if words[0] == "chmod":
        os.chmod(dev(words[2]), int(words[1], 8)); sys.exit(0)
    if words[0] == "rm":
        for w in words[2:]:
            if os.path.exists(dev(w)):
                os.unlink(dev(w))
        sys.exit(0)
    if os.environ.get("FAKE_ADB_HANG_RUN"):
        import time
        time.sleep(60)
    if os.environ.get("FAKE_ADB_FAIL_RUN"):
        print("sh: cannot run it", file=sys.stderr); sys.exit(126)
    qemu = {"arm64-v8a": ["qemu-aarch64-static"], "armeabi-v7a": ["qemu-arm-static"]}
    cmd = qemu.get(abi, []) + [dev(w) for w in words]
    sys.exit(subprocess.run(cmd).returncode)
print("fake adb: unknown " + " ".join(args), file=sys.stderr)
sys.exit(1)
'''


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def adb_processes(port):
    """PIDs of adb servers on port."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) == b"adb" and f"tcp:{port}".encode() in b" ".join(argv):
            found.append(int(pid))
    return found


def check_no_device(memledger):
    if not shutil.which("adb"):
        skip("capture --adb with Debian's adb and no device", "adb is not installed")
        return
    port = free_port()
    env = dict(os.environ, ANDROID_ADB_SERVER_PORT=str(port))
    env.pop("ANDROID_SERIAL", None)
    with tempfile.TemporaryDirectory() as here:
        r = subprocess.run([memledger, "capture", "--adb"], cwd=here, env=env,
                           capture_output=True, text=True, timeout=60)
        check("no device: exit 1", r.returncode == 1, f"{r.returncode} {r.stderr}")
        check("no device: it says so", "capture --adb: no Android device" in r.stderr and
              "USB debugging" in r.stderr, r.stderr)
        check("no device: no file left here", os.listdir(here) == [], str(os.listdir(here)))
    left = adb_processes(port)
    check("no device: the adb server it started is stopped", not left, str(left))


def run_fake(memledger, fakebin, devroot, log, abi, *args, fail_run=False, cwd=None):
    env = dict(os.environ, PATH=fakebin + ":" + os.environ["PATH"], FAKE_ADB_ROOT=devroot,
               FAKE_ADB_ABI=abi, FAKE_ADB_LOG=log)
    env.pop("ANDROID_SERIAL", None)
    if fail_run:
        env["FAKE_ADB_FAIL_RUN"] = "1"
    open(log, "w").close()
    r = subprocess.run([memledger, "capture", "--adb", *args], env=env, capture_output=True,
                       text=True, timeout=120, cwd=cwd)
    with open(log) as f:
        calls = f.read().splitlines()
    return r, calls


def device_files(devroot):
    return sorted(os.listdir(os.path.join(devroot, "data", "local", "tmp")))


def check_fake(memledger):
    build = os.path.dirname(os.path.abspath(memledger))
    arm64 = os.path.join(build, "memledger-capture-arm64")
    static = os.path.join(build, "memledger-capture-static")
    with tempfile.TemporaryDirectory() as tmp:
        fakebin, devroot = os.path.join(tmp, "bin"), os.path.join(tmp, "device")
        log, out = os.path.join(tmp, "adb.log"), os.path.join(tmp, "phone.tar")
        os.makedirs(fakebin)
        os.makedirs(os.path.join(devroot, "data", "local", "tmp"))
        with open(os.path.join(fakebin, "adb"), "w") as f:
            f.write(FAKE_ADB)
        os.chmod(os.path.join(fakebin, "adb"), 0o755)

        cases = []
        if os.path.exists(arm64) and shutil.which("qemu-aarch64-static"):
            cases.append(("arm64-v8a", "aarch64"))
        else:
            skip("capture --adb of an arm64 device", "no memledger-capture-arm64 or qemu")
        if os.path.exists(static):
            cases.append(("x86_64", "x86_64"))
        for abi, machine in cases:
            r, calls = run_fake(memledger, fakebin, devroot, log, abi, "-o", out)
            check(f"{abi}: capture --adb writes -o", r.returncode == 0 and os.path.exists(out),
                  r.stderr)
            if r.returncode == 0:
                with tarfile.open(out) as t:
                    man = t.extractfile("memledger-manifest").read().decode()
                check(f"{abi}: the snapshot is the device's capture ({machine})",
                      f"machine: {machine}\n" in man, man)
                ps = subprocess.run([memledger, "ps", "--source", out, "-J"],
                                    capture_output=True, text=True)
                check(f"{abi}: and reads back", ps.returncode == 0, ps.stderr)
            pushed = [c for c in calls if c.startswith("push ")]
            check(f"{abi}: the capture built for it was pushed to /data/local/tmp",
                  len(pushed) == 1 and pushed[0].split()[1].endswith(
                      "memledger-capture-arm64" if abi == "arm64-v8a" else
                      "memledger-capture-static") and
                  pushed[0].split()[2].startswith("/data/local/tmp/"), str(pushed))
            check(f"{abi}: pulled, then removed", any(c.startswith("pull ") for c in calls) and
                  calls[-1].startswith("kill-server") and any(c.startswith("shell rm -f")
                                                              for c in calls), str(calls))
            check(f"{abi}: nothing left on the device", device_files(devroot) == [],
                  str(device_files(devroot)))
            os.unlink(out) if os.path.exists(out) else None

        abi = cases[0][0] if cases else "x86_64"
        if not cases:  # a sanitizer build: no static capture beside it
            skip("capture --adb --root, and a failing capture", "no static capture built")
        else:
            check_runs(memledger, fakebin, devroot, log, abi, out, tmp)
        r, calls = run_fake(memledger, fakebin, devroot, log, "mips", "-o", out)
        check("an ABI without a build: exit 1, named", r.returncode == 1 and
              "no capture is built for mips" in r.stderr, r.stderr)
        check("... nothing pushed", not [c for c in calls if c.startswith("push ")], str(calls))

        r, calls = run_fake(memledger, fakebin, devroot, log, abi, "-o",
                            os.path.join(tmp, "x.zip"))
        check("-o that is no tar: a usage error before adb is asked", r.returncode == 2 and
              calls == [], r.stderr + str(calls))
        r, calls = run_fake(memledger, fakebin, devroot, log, "", cwd=tmp)
        check("the fake with no device: exit 1", r.returncode == 1 and
              "no Android device" in r.stderr, r.stderr)
        r = subprocess.run([memledger, "capture", "--root"], capture_output=True, text=True)
        check("--root without --adb: a usage error", r.returncode == 2, r.stderr)
        if cases:  # the default name: memledger-SERIAL-TIME.tar.zst here, compressed
            r, calls = run_fake(memledger, fakebin, devroot, log, abi, "SER2", cwd=tmp)
            made = [n for n in os.listdir(tmp) if n.startswith("memledger-SER2-")]
            check("by default memledger-SERIAL-TIME.tar.zst here", r.returncode == 0 and
                  len(made) == 1 and made[0].endswith(".tar.zst"),
                  r.stderr + str(os.listdir(tmp)))
            check_compressed(memledger, os.path.join(tmp, made[0]) if made else None,
                             cases[0][1])
            check("... and nothing left on the device", device_files(devroot) == [],
                  str(device_files(devroot)))


def check_compressed(memledger, path, machine):
    """The device's tar rewritten compressed: zstd's magic, every entry there, read back."""
    if not path or not os.path.exists(path):
        check("a compressed snapshot was written", False)
        return
    with open(path, "rb") as f:
        check("the snapshot is zstd-compressed", f.read(4) == b"\x28\xb5\x2f\xfd")
    names = subprocess.run(f"zstd -dc '{path}' | tar -tf -", shell=True, capture_output=True,
                           text=True)
    entries = names.stdout.split()
    check("... a tar whose first entry is the manifest and last memledger-unreadable",
          entries[:1] == ["memledger-manifest"] and entries[-1:] == ["memledger-unreadable"]
          and len(entries) > 100, str(entries[:2]) + names.stderr)
    man = subprocess.run(f"zstd -dc '{path}' | tar -xOf - memledger-manifest", shell=True,
                         capture_output=True, text=True).stdout
    check(f"... the device's capture ({machine})", f"machine: {machine}\n" in man, man)
    for view in (["ps"], ["system"], ["groups"]):
        r = subprocess.run([memledger, *view, "--source", path, "-J"], capture_output=True,
                           text=True)
        check(f"... {view[0]} reads it", r.returncode == 0, r.stderr)


def check_runs(memledger, fakebin, devroot, log, abi, out, tmp):
    """--root and a serial; a capture that fails on the device."""
    r, calls = run_fake(memledger, fakebin, devroot, log, abi, "SER1", "--root", "--exact",
                        "-o", out)
    run = [c for c in calls if c.startswith("-s SER1 shell su -c ")]
    check("--root runs it through su -c, on the device named", r.returncode == 0 and
          len(run) == 1 and "--exact -o /data/local/tmp/" in run[0], str(calls) + r.stderr)
    check("every call names the device", calls and all(c.startswith("-s SER1 ")
                                                        for c in calls), str(calls))
    os.unlink(out) if os.path.exists(out) else None

    r, calls = run_fake(memledger, fakebin, devroot, log, abi, "-o", out, fail_run=True)
    check("a capture that fails on the device: exit 1, said", r.returncode == 1 and
          "the capture failed on the device" in r.stderr, r.stderr)
    check("... nothing left on the device, no file here", device_files(devroot) == [] and
          not os.path.exists(out), str(device_files(devroot)))

    # Ctrl-C while the device captures: the step ends, the cleanup still runs
    env = dict(os.environ, PATH=fakebin + ":" + os.environ["PATH"], FAKE_ADB_ROOT=devroot,
               FAKE_ADB_ABI=abi, FAKE_ADB_LOG=log, FAKE_ADB_HANG_RUN="1")
    open(log, "w").close()
    p = subprocess.Popen([memledger, "capture", "--adb", "-o", out], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    for _ in range(200):  # until the capture runs on the device
        with open(log) as f:
            if "shell /data/local/tmp/" in f.read():
                break
        time.sleep(0.05)
    time.sleep(0.3)
    os.killpg(p.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole group
    try:
        _, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
    check("Ctrl-C during the device's capture: exit 1", p.returncode == 1, str(p.returncode))
    check("... what was pushed is removed, no file here", device_files(devroot) == [] and
          not os.path.exists(out), str(device_files(devroot)) + err[-300:])


def main():
    memledger = os.path.abspath(sys.argv[1])
    check_no_device(memledger)
    check_fake(memledger)
    return finish("adb")


if __name__ == "__main__":
    sys.exit(main())
