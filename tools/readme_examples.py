#!/usr/bin/env python3
"""Rewrites the README's examples from one run of tools/demo.sh, so that each is the real
output of its command (make examples).

    readme_examples.py MEMLEDGER FILE DEMO_OUTPUT           (doc/manual.md: every example)
    readme_examples.py MEMLEDGER FILE DEMO_OUTPUT --subset  (README.md: some of them)
    readme_examples.py MEMLEDGER FILE --check    (the column lists only: exit 1 if stale)
    readme_examples.py MEMLEDGER FILE --columns  (rewrites the column lists only)

Each code block of FILE whose first line is "$ memledger ..." takes, in order, as many
of the demo's commands and outputs as it holds commands. The commands must be the same
once PIDs are left aside (digits are), else nothing is written. With --subset a command
takes the first demo command of its shape not yet taken, and the file need not show
them all. A block after a line "Columns (`memledger VIEW --list-columns`):" becomes that
command's output.
"""
import re
import subprocess
import sys


def segments(text):
    """The demo's "$ memledger ..." lines, each with the output after it."""
    out, cur = [], None
    for line in text.splitlines():
        if line.startswith("$ memledger"):
            cur = [line]
            out.append(cur)
        elif cur is not None:
            cur.append(line)
    return [s[:-1] if s and s[-1] == "" else s for s in out]


def shape(command):
    return re.sub(r"\d+", "N", command.split("  #")[0].strip())


def main():
    memledger, readme_path, demo_path = sys.argv[1:4]
    subset = sys.argv[4:] == ["--subset"]
    check = demo_path == "--check"
    columns_only = check or demo_path == "--columns"
    with open(readme_path) as f:
        text = f.read()
        readme = text.split("\n")
    demo = []
    if not columns_only:
        with open(demo_path) as f:
            demo = segments(f.read())
    out, i, used = [], 0, 0
    while i < len(readme):
        line = readme[i]
        out.append(line)
        i += 1
        if not line.startswith("```"):
            continue
        end = next(j for j in range(i, len(readme)) if readme[j].startswith("```"))
        said = [l for l in out[:-1] if l.strip()]
        listed = re.match(r"Columns \(`memledger (.*--list-columns)`\):", said[-1]) if said else None
        if line == "```" and listed:
            got = subprocess.run([memledger] + listed.group(1).split(), capture_output=True,
                                 text=True, check=True).stdout
            out.extend(got.rstrip("\n").split("\n"))
        elif line == "```" and readme[i].startswith("$ memledger") and not columns_only:
            for command in [l for l in readme[i:end] if l.startswith("$ memledger")]:
                if subset:
                    match = [k for k, d in enumerate(demo)
                             if d and shape(d[0]) == shape(command)]
                    if not match:
                        sys.exit(f"readme_examples: the demo never ran '{command}'")
                    out.extend(demo[match[0]])
                    demo[match[0]] = []  # taken
                    used += 1
                    continue
                if used == len(demo) or shape(demo[used][0]) != shape(command):
                    got = demo[used][0] if used < len(demo) else "nothing"
                    sys.exit(f"readme_examples: README has '{command}', the demo ran '{got}'")
                out.extend(demo[used])
                used += 1
        else:
            out.extend(readme[i:end])
        out.append(readme[end])
        i = end + 1
    if check:
        stale = "\n".join(out) != text
        print(f"readme_examples: the column lists of {readme_path} are {'stale: make examples' if stale else 'current'}")
        sys.exit(1 if stale else 0)
    if columns_only:
        with open(readme_path, "w") as f:
            f.write("\n".join(out))
        print(f"readme_examples: column lists rewritten in {readme_path}")
        return
    if used != len(demo) and not subset:
        sys.exit(f"readme_examples: the demo ran {len(demo)} commands, README shows {used}")
    with open(readme_path, "w") as f:
        f.write("\n".join(out))
    print(f"readme_examples: {used} examples rewritten in {readme_path}")


main()
