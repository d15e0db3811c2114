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
for col in $( ("$memledger" --list-columns; "$memledger" maps --list-columns; "$memledger" users --list-columns; "$memledger" libs --list-columns; "$memledger" tree --list-columns; "$memledger" groups --list-columns; "$memledger" shm --list-columns; "$memledger" cgroups --list-columns; "$memledger" gpu --list-columns; "$memledger" heaps --list-columns) | awk '{print $1}' | sort -u); do
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
# Help that helps: --help and every VIEW --help exit 0, fit 80 columns, name the units;
# a view's help opens with what it answers and an example.
views=$("$memledger" --help | awk '/^Views/ {on = 1; next} on && /^$/ {exit} on {print $1}')
for view in "" $views; do
	help=$("$memledger" $view --help)
	rc=$?
	wide=$(printf '%s\n' "$help" | awk 'length($0) > 80' | head -1)
	if [ $rc = 0 ] && [ -z "$wide" ] && printf '%s\n' "$help" | grep -q "KiB, MiB"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: memledger $view --help: exit $rc, a line wider than 80: '$wide', or no units"
	fi
	if [ -n "$view" ] && ! printf '%s\n' "$help" | sed -n 2p | grep -q "^Example: memledger $view"; then
		fail=$((fail + 1))
		echo "FAIL: memledger $view --help does not open with what it answers and an example"
	fi
done
echo "docs: $pass passed, $fail failed"
[ $fail = 0 ]
