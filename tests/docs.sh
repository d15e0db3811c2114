#!/bin/bash
# The manual (doc/manual.md) and the man page name every column and every long option the
# program has; the README's examples are the manual's (one demo run wrote both).
#   docs.sh MEMLEDGER SOURCE_ROOT
set -u
memledger=$1
root=$2
pass=0 fail=0
expect() { # expect WORD FILE
	if grep -qF -- "$1" "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $2 lacks $1"; fi
}
for col in $( ("$memledger" --list-columns; "$memledger" maps --list-columns; "$memledger" users --list-columns; "$memledger" libs --list-columns; "$memledger" tree --list-columns; "$memledger" groups --list-columns; "$memledger" shm --list-columns; "$memledger" cgroups --list-columns; "$memledger" gpu --list-columns) | awk '{print $1}' | sort -u); do
	expect "$col" "$root/doc/manual.md"
	expect ".B $col" "$root/man/memledger.1"
done
for opt in $("$memledger" --help | grep -o -- '--[a-z-]*' | sort -u); do
	expect "$opt" "$root/doc/manual.md"
	expect "$(echo "$opt" | sed 's/-/\\-/g')" "$root/man/memledger.1"
done
# Each "Columns (`memledger VIEW --list-columns`)" block of the manual is that output.
if python3 "$root/tools/readme_examples.py" "$memledger" "$root/doc/manual.md" --check; then
	pass=$((pass + 1))
else
	fail=$((fail + 1))
fi
if python3 "$root/tools/readme_check.py" "$root/README.md" "$root/doc/manual.md"; then
	pass=$((pass + 1))
else
	fail=$((fail + 1))
fi
echo "docs: $pass passed, $fail failed"
[ $fail = 0 ]
