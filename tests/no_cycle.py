#!/usr/bin/env python3
"""The tool's modules (src/*.c) call each other one way: no cycle in the call graph.

    no_cycle.py OBJECT_OR_DIRECTORY...

Reads each object's defined and undefined symbols with nm; module A calls module B when
A leaves undefined a symbol that B defines. Prints a cycle, if any, and fails.
"""
import os
import re
import subprocess
import sys


def symbols(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBR":
            defined.add(parts[2])
        elif len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
    return defined, undefined


def module(obj):
    return re.sub(r"^src_|\.c\.o$", "", os.path.basename(obj))


def find_cycle(calls):
    """A cycle of the graph as a list of modules, or None (depth-first, iterative)."""
    state = {m: 0 for m in calls}  # 0 new, 1 on the path, 2 done
    for start in sorted(calls):
        if state[start]:
            continue
        path, todo = [], [(start, iter(sorted(calls[start])))]
        state[start] = 1
        path.append(start)
        while todo:
            node, it = todo[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                path.pop()
                todo.pop()
            elif state[nxt] == 1:
                return path[path.index(nxt):] + [nxt]
            elif state[nxt] == 0:
                state[nxt] = 1
                path.append(nxt)
                todo.append((nxt, iter(sorted(calls[nxt]))))
    return None


def main():
    args = []
    for a in sys.argv[1:]:  # a directory stands for the objects in it
        args += [os.path.join(a, f) for f in os.listdir(a)] if os.path.isdir(a) else [a]
    objs = [o for o in args if os.path.basename(o).startswith("src_") and o.endswith(".o")]
    if not objs:
        print("no_cycle: no object of src/ given")
        return 1
    table = {module(o): symbols(o) for o in objs}
    owner = {sym: m for m, (defined, _) in table.items() for sym in defined}
    calls = {m: {owner[s] for s in undefined if s in owner and owner[s] != m}
             for m, (_, undefined) in table.items()}
    cycle = find_cycle(calls)
    if cycle:
        print("FAIL: src/ has a call cycle: " + " -> ".join(cycle))
        print("no_cycle: 0 passed, 1 failed")
        return 1
    print(f"no_cycle: 1 passed, 0 failed ({len(calls)} modules, "
          f"{sum(len(v) for v in calls.values())} one-way calls)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
