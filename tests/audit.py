#!/usr/bin/env python3
"""What every view does with the system, beyond its figures.

    audit.py MEMLEDGER TESTDATA

strace: no view opens a process's environ or mem, none opens a /proc or /sys file for
writing, and none writes anywhere but standard output and standard error. valgrind
memcheck: one run of every view, live (those without the page engine, which takes minutes
under valgrind there) and on fixture trees, with no error and no leak (definite, indirect
or possible). Exits 77 (SKIP) when strace or valgrind is missing.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "live"))
import test_live  # noqa: E402 - its check() and counters
from test_live import check  # noqa: E402

def views(pid):
    """Every view with arguments that make it read what it can (exact mode as root)."""
    return [["ps", "-o", "+OWNED,FREED,COW,COMMIT"], ["maps", pid], ["libs"], ["users"],
            ["system"], ["freed", pid], ["tree"], ["groups", "--by", "tree"], ["shm"],
            ["export"]]


OPEN = re.compile(r'^\d+\s+(?:open|openat|openat2)\((?:[^,]+, )?"([^"]*)", ([^,)]*)')
WRITE = re.compile(r'^\d+\s+(write|writev|pwrite64|pwritev|pwritev2|sendto|sendmsg)\((\d+),')


# with -f, a call another thread interrupts comes in two lines: "<unfinished ...>", then
# "<... memfd_create resumed>) = FD"
MEMFD = re.compile(r'^\d+\s+(?:memfd_create\(.*|<\.\.\. memfd_create resumed>.*) = (\d+)$')


TMPFILE = re.compile(r'^\d+\s+(?:open|openat)\(.*O_TMPFILE.*\) = (\d+)$')


def audit_syscalls(memledger, args):
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as log:
        r = subprocess.run(["strace", "-f", "-qq", "--seccomp-bpf", "-o", log.name, "-e",
                            "trace=open,openat,openat2,write,writev,pwrite64,pwritev,pwritev2,"
                            "sendto,sendmsg,memfd_create", memledger, *args],
                           capture_output=True, errors="replace")
        lines = log.read().splitlines()
    name = " ".join(args)
    check(f"strace {name}: exit 0", r.returncode == 0, r.stderr[-300:])
    opened = [(m.group(1), m.group(2)) for m in map(OPEN.match, lines) if m]
    check(f"strace {name}: traced its opens", len(opened) > 3, f"{len(opened)}")
    secret = [p for p, _ in opened if re.search(r"/(environ|mem)$", p)]
    check(f"strace {name}: never opens environ or mem", not secret, f"{secret[:3]}")
    # a compressed snapshot is inflated into a file that has no name (O_TMPFILE: nothing
    # is created that outlives the run, no one else can open it)
    written = [p for p, flags in opened if re.search(r"O_WRONLY|O_RDWR|O_CREAT", flags)
               and "O_TMPFILE" not in flags
               and not p.startswith("/dev/shm/")]  # glibc's own semaphores, if any
    check(f"strace {name}: opens nothing for writing", not written, f"{written[:3]}")
    tmpfiles = {int(m.group(1)) for m in map(TMPFILE.match, lines) if m}
    # a snapshot's files are read through memfds (anonymous memory) that memledger fills
    memfds = {int(m.group(1)) for m in map(MEMFD.match, lines) if m}
    fds = {int(m.group(2)) for m in map(WRITE.match, lines) if m} - memfds - tmpfiles
    check(f"strace {name}: writes to fd 1 and 2 alone", fds <= {1, 2}, f"{sorted(fds)}")


def audit_memcheck(memledger, args, source=None):
    cmd = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
           "--show-leak-kinds=definite,indirect,possible",
           "--errors-for-leak-kinds=definite,indirect,possible", memledger]
    if source:
        cmd += ["--source", source]
    r = subprocess.run(cmd + args, capture_output=True, errors="replace")
    name = " ".join(args) + (f" --source {os.path.basename(source)}" if source else "")
    check(f"valgrind {name}: no error, no leak", r.returncode in (0, 1) and "==" not in r.stderr,
          r.stderr[-800:])


ACCEPTED = re.compile(r'^\d+\s+(?:(?:accept4?|eventfd2)\(|<\.\.\. (?:accept4?|eventfd2) resumed>)'
                      r'.* = (\d+)$')
PIPE = re.compile(r'^\d+\s+pipe2\(\[(\d+), (\d+)\]')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape_then_stop(proc, port, seconds=60, traced=False):
    """Waits for serve on port, scrapes it five times, SIGTERMs it (traced: strace's
    child); (its exit status, the scrapes)."""
    deadline = time.time() + seconds
    scraped = 0
    while time.time() < deadline and scraped < 5 and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as r:
                r.read()
            scraped += 1
            time.sleep(0.3)
        except OSError:
            time.sleep(0.2)
    child = proc.pid
    if traced:  # strace's child: strace killed would leave it running
        with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
            child = int((f.read().split() or [proc.pid])[0])
    os.kill(child, signal.SIGTERM)
    try:
        return proc.wait(timeout=60), scraped
    except subprocess.TimeoutExpired:
        os.kill(child, signal.SIGKILL)
        proc.kill()
        return proc.wait(), scraped


def audit_serve(memledger):
    """serve: the same rules, its writes to the sockets it accepted (and libmicrohttpd's
    wake-up fd) alone; under valgrind five scrapes and SIGTERM leave no error, no leak."""
    port = free_port()
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as log:
        proc = subprocess.Popen(["strace", "-f", "-qq", "-o", log.name, "-e",
                                 "trace=open,openat,openat2,write,writev,pwrite64,pwritev,"
                                 "pwritev2,sendto,sendmsg,accept,accept4,eventfd2,pipe2",
                                 memledger, "serve", "--listen", f"127.0.0.1:{port}", "-i",
                                 "0.2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rc, scraped = scrape_then_stop(proc, port, traced=True)
        lines = log.read().splitlines()
    check("strace serve: five scrapes, exit 0 on SIGTERM", rc == 0 and scraped == 5,
          f"{rc} {scraped}")
    opened = [(m.group(1), m.group(2)) for m in map(OPEN.match, lines) if m]
    secret = [p for p, _ in opened if re.search(r"/(environ|mem)$", p)]
    check("strace serve: never opens environ or mem", not secret, f"{secret[:3]}")
    written = [p for p, flags in opened if re.search(r"O_WRONLY|O_RDWR|O_CREAT", flags)]
    check("strace serve: opens nothing for writing", not written, f"{written[:3]}")
    own = {int(m.group(1)) for m in map(ACCEPTED.match, lines) if m}
    own |= {int(fd) for m in map(PIPE.match, lines) if m for fd in m.groups()}
    fds = {int(m.group(2)) for m in map(WRITE.match, lines) if m} - own
    check("strace serve: writes to its sockets and to fd 2 alone", fds <= {2}, f"{sorted(fds)}")
    port = free_port()
    err = tempfile.TemporaryFile()
    proc = subprocess.Popen(["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
                             "--show-leak-kinds=definite,indirect,possible",
                             "--errors-for-leak-kinds=definite,indirect,possible", memledger,
                             "serve", "--listen", f"127.0.0.1:{port}", "-i", "1"],
                            stdout=subprocess.DEVNULL, stderr=err)
    rc, scraped = scrape_then_stop(proc, port, 120)
    err.seek(0)
    text = err.read().decode(errors="replace")
    check("valgrind serve: five scrapes, SIGTERM: no error, no leak",
          rc == 0 and scraped == 5 and "==" not in text, f"{rc} {scraped} {text[-800:]}")


def audit_snapshots(memledger, data, pid):
    """capture to stdout and views on snapshots: the same rules, and no memory error."""
    audit_syscalls(memledger, ["capture", "-o", "-"])
    audit_memcheck(memledger, ["capture", "--redact", "-o", "-"])
    work = tempfile.mkdtemp(prefix="memledger-audit-")
    try:
        live = os.path.join(work, "live.tar.zst")
        subprocess.run([memledger, "capture", "-o", live], check=True, capture_output=True)
        audit_syscalls(memledger, ["--source", live, "ps"])
        audit_syscalls(memledger, ["diff", live, "live"])
        audit_memcheck(memledger, ["maps", pid], live)
        audit_memcheck(memledger, ["diff", live, live, "--by", "comm"])
        mktar = os.path.join(os.path.dirname(os.path.abspath(__file__)), "snapshot", "mktar.py")
        for tree, ext, args in (("proc-basic", "tar.gz", ["ps", "-o", "+OWNED,FREED"]),
                                ("proc-basic", "tar", ["groups", "--by", "pid"]),
                                ("system-a/proc", "tar.zst", ["system"])):
            snap = os.path.join(work, f"{tree.replace('/', '-')}.{ext}")
            subprocess.run([sys.executable, mktar, snap, os.path.join(data, tree)], check=True)
            audit_memcheck(memledger, args, snap)
    finally:
        subprocess.run(["rm", "-rf", work])


def main():
    memledger, data = os.path.realpath(sys.argv[1]), sys.argv[2]
    missing = [t for t in ("strace", "valgrind") if not shutil.which(t)]
    if missing:
        print(f"SKIP: audit needs {' and '.join(missing)}")
        return 77
    target = subprocess.Popen(["sleep", "300"])
    try:
        for args in views(str(target.pid)):
            audit_syscalls(memledger, args)
            if args[0] not in ("freed", "tree", "groups") and "+OWNED,FREED,COW,COMMIT" not in args:
                audit_memcheck(memledger, args)  # the page engine is 100x slower under
                # valgrind live (minutes): its memcheck runs on the fixture trees below
        fixtures = [(os.path.join(data, "proc-basic"), ["ps", "-t", "-o", "+OWNED,FREED"]),
                    (os.path.join(data, "proc-basic"), ["tree", "-J"]),
                    (os.path.join(data, "proc-basic"), ["freed", "100", "102"]),
                    (os.path.join(data, "proc-basic"), ["groups", "--by", "user", "--csv"]),
                    (os.path.join(data, "proc-libs"), ["libs", "--all", "--raw"]),
                    (os.path.join(data, "proc-maps"), ["maps", "4711", "--merge", "-t"]),
                    (os.path.join(data, "proc-basic"), ["users", "-J"]),
                    (os.path.join(data, "system-a", "proc"), ["system", "-J"]),
                    (os.path.join(data, "system-a", "proc"), ["shm"])]
        for source, args in fixtures:
            audit_memcheck(memledger, args, source)
        audit_snapshots(memledger, data, str(target.pid))
        audit_serve(memledger)
    finally:
        target.kill()
        target.wait()
    return test_live.finish("audit")


if __name__ == "__main__":
    sys.exit(main())
