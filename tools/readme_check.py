#!/usr/bin/env python3
"""The README's examples are the manual's, whole (one demo run wrote both: make
examples), there are at least five, and neither links outside the repository.

    readme_check.py README.md doc/manual.md
"""
import re
import sys

readme, manual = (open(p).read() for p in sys.argv[1:3])
blocks = re.findall(r"```\n(\$ memledger.*?)```", readme, re.S)
stale = [b.splitlines()[0] for b in blocks if b not in manual or len(b.splitlines()) < 2]
outside = [m for m in re.findall(r"\]\(([^)]*)\)", readme + manual) if m.startswith("../")]
outside += re.findall(r"\.\./shared\S*", readme + manual)
for s in stale:
    print(f"FAIL: a README example is not the manual's, or has no output: {s} (make examples)")
for o in outside:
    print(f"FAIL: a reference outside the repository: {o}")
if len(blocks) < 5:
    print(f"FAIL: the README has {len(blocks)} examples, not five")
sys.exit(1 if stale or outside or len(blocks) < 5 else 0)
