#!/usr/bin/env python3
"""The tool's modules (src/*.c) call each other one way: no cycle in the call graph; and
they hold no mutable state of their own but the one signal flag (issue 27: what a command
keeps lives in its run).

    no_cycle.py OBJECT_OR_DIRECTORY...

Reads each object's defined and undefined symbols with nm; module A calls module B when
A leaves undefined a symbol that B defines. Prints a cycle, if any, and fails. Reads each
object's symbol table with objdump -t: an object in .data or .bss (writable, not
.data.rel.ro) is module state.
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


# The one mutable object src/ may have: what SIGINT and SIGTERM set (src/run.c).
SIGNAL_FLAG = "run_stop"


def mutable_objects(obj):
    """The writable data objects obj defines (name, section), compiler's own left out."""
    out = subprocess.run(["objdump", "-t", obj], capture_output=True, text=True,
                         check=True).stdout
    found = []
    for line in out.splitlines():
        parts = line.split()
        if " O " not in line or len(parts) < 5:
            continue
        section, name = parts[-3], parts[-1]
        writable = section in (".data", ".bss", "*COM*") or (
            section.startswith((".data.", ".bss.")) and not section.startswith(".data.rel.ro"))
        if writable and not name.startswith(("__", ".")) and name != SIGNAL_FLAG:
            found.append((name, section))
    return found


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
    state = {module(o): mutable_objects(o) for o in objs}
    state = {m: v for m, v in state.items() if v}
    failed = 0
    if cycle:
        print("FAIL: src/ has a call cycle: " + " -> ".join(cycle))
        failed += 1
    if state:
        print("FAIL: module state in src/ (a run's, or a function's argument, instead): " +
              "; ".join(f"{m}: {', '.join(n for n, _ in v)}" for m, v in sorted(state.items())))
        failed += 1
    print(f"no_cycle: {2 - failed} passed, {failed} failed ({len(calls)} modules, "
          f"{sum(len(v) for v in calls.values())} one-way calls; no state but {SIGNAL_FLAG})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
