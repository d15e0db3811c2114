#!/usr/bin/env python3
"""Lays a directory like /proc out as a snapshot archive, as `memledger capture` would.

    mktar.py OUT PROCDIR [--smemcap]

OUT's name picks the compression (.tar, .tar.gz, .tar.xz; .tar.zst through the zstd
program). The archive holds the manifest first (PROCDIR/../memledger-manifest where there is one),
PROCDIR below proc/ and PROCDIR/../sys below sys/, and last memledger-unreadable (with
PROCDIR/../memledger-unreadable's lines). With --smemcap it is laid out as smem's smemcap writes: no manifest, the
/proc files at the top, per process only smaps, cmdline and stat.
"""
import io
import os
import subprocess
import sys
import tarfile


def unreadable(top, prefix):
    """The files a test lays out as directories (files that could not be read):
    memledger-unreadable names them, as a capture names what it could not read."""
    lines = []
    for pid in sorted(os.listdir(top)):
        if not pid.isdigit() or not os.path.isdir(os.path.join(top, pid)):
            continue
        for name in sorted(os.listdir(os.path.join(top, pid))):
            if name in ("smaps", "smaps_rollup", "status", "stat", "cmdline", "cgroup") \
                    and os.path.isdir(os.path.join(top, pid, name)):
                lines.append(f"{prefix}{pid}/{name} EISDIR\n")
    return "".join(lines).encode()


def add_tree(tar, top, prefix, only=None):
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        rel = os.path.relpath(dirpath, top)
        for name in sorted(filenames) + sorted(d for d in dirnames
                                                if os.path.islink(os.path.join(dirpath, d))):
            path = os.path.join(dirpath, name)
            arc = os.path.normpath(os.path.join(prefix, rel, name))
            if only and not only(rel, name):
                continue
            info = tar.gettarinfo(path, arc)
            if info.isreg():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            elif info.issym():
                tar.addfile(info)


def main():
    out, procdir = sys.argv[1], sys.argv[2]
    smemcap = "--smemcap" in sys.argv[3:]
    zst = out.endswith(".zst")
    mode = {".gz": "w:gz", ".xz": "w:xz"}.get(os.path.splitext(out)[1], "w")
    target = out[:-4] if zst else out
    with tarfile.open(target, mode, format=tarfile.GNU_FORMAT) as tar:
        if smemcap:
            def only(rel, name):
                return rel == "." or name in ("smaps", "cmdline", "stat")
            add_tree(tar, procdir, ".", only)
        else:
            manifest = b"memledger-snapshot: 1\nwriter: tests/snapshot/mktar.py\n"
            beside = os.path.join(procdir, "..", "memledger-manifest")
            if os.path.isfile(beside):  # an extracted snapshot: its own manifest
                with open(beside, "rb") as f:
                    manifest = f.read()
            info = tarfile.TarInfo("memledger-manifest")
            info.size = len(manifest)
            tar.addfile(info, io.BytesIO(manifest))
            add_tree(tar, procdir, "proc")
            sysdir = os.path.join(procdir, "..", "sys")
            if os.path.isdir(sysdir):
                add_tree(tar, sysdir, "sys")
            errors = unreadable(procdir, "proc/")
            beside = os.path.join(procdir, "..", "memledger-unreadable")
            if os.path.isfile(beside):  # ... and what its capture could not read
                with open(beside, "rb") as f:
                    errors += f.read()
            info = tarfile.TarInfo("memledger-unreadable")
            info.size = len(errors)
            tar.addfile(info, io.BytesIO(errors))
    if zst:
        subprocess.run(["zstd", "-q", "-f", "--rm", target, "-o", out], check=True)


main()
