"""Decompression bombs: snapshots that inflate to gigabytes, made in a moment.

A zstd frame of raw blocks (the tar's headers and small files) and RLE blocks (a run of
one byte, 128 KiB a block in four bytes): a few hundred KiB that inflate to any size.
"""
import os
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
BLOCK = 1 << 17  # a block's most, with the window the frame's header gives


def good_tar(testdata, fixture="proc-basic"):
    """The bytes of a fixture laid out as a snapshot by mktar.py, without the two zero
    blocks that end a tar: members can follow."""
    plain = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"ml-bomb-{os.getpid()}.tar")
    subprocess.run([sys.executable, os.path.join(HERE, "mktar.py"), plain,
                    os.path.join(testdata, fixture)], check=True)
    with open(plain, "rb") as f:
        body = f.read()
    os.unlink(plain)
    end = len(body)
    while end >= 512 and body[end - 512:end] == bytes(512):
        end -= 512
    return body[:end]


def write_bomb(path, testdata, members, fixture="proc-basic"):
    """Writes path: the fixture's snapshot, then members, each (name, size): a file of
    size zero bytes, as one zstd frame."""
    out = bytearray(b"\x28\xb5\x2f\xfd\x00\x38")  # magic; no content size; window 2^17

    def raw(data):
        for i in range(0, len(data), BLOCK):
            part = data[i:i + BLOCK]
            out.extend((len(part) << 3).to_bytes(3, "little") + part)

    def zeros(n):
        while n:
            k = min(n, BLOCK)
            out.extend(((k << 3) | 2).to_bytes(3, "little") + b"\0")
            n -= k
    raw(good_tar(testdata, fixture))
    for name, size in members:
        head = tarfile.TarInfo(name)
        head.size = size
        raw(head.tobuf(format=tarfile.PAX_FORMAT))
        zeros(size + (-size) % 512)
    zeros(1024)  # the archive's end
    out.extend((1).to_bytes(3, "little"))  # an empty raw block, the last
    with open(path, "wb") as f:
        f.write(out)
