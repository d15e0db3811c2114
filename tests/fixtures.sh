#!/bin/bash
# Runs memledger on /proc-like trees and compares stdout, stderr and the exit status with
# tests/expected/VIEW/NAME, whose first line is the command that made it (as util-linux
# tests lsblk on /sys dumps).
#   fixtures.sh MEMLEDGER [--android | --archive EXT] [--update]
# JSON output must parse as JSON and CSV as CSV, whatever the names in it hold. With
# --android it runs only the cases on Android's capture (../shared), and exits 77 (SKIP)
# when that is absent; without, every other case. With --archive EXT (tar, tar.gz,
# tar.zst) each tree is first laid out as a snapshot archive (tests/snapshot/mktar.py) and
# read from it: a report on a snapshot must be the report on the tree, byte for byte.
set -u
memledger=$(realpath "$1")
shift
only_android=
[ "${1:-}" = --android ] && only_android=1 && shift
archive=
[ "${1:-}" = --archive ] && archive=$2 && shift 2
update=${1:-}
here=$(cd "$(dirname "$0")" && pwd)
shared=${ML_SHARED:-$here/../../shared}
export LC_ALL=C.UTF-8
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A tree from a capture of Android's libmeminfo: smaps and status only (no smaps_rollup).
# It comes from ../shared beside the repository: CI has it, a bare clone may not.
android="$tmp/android"
aosp="$shared/fixtures/aosp-libmeminfo/testdata1"
if [ -f "$aosp/smaps" ]; then
	mkdir -p "$android/1791"
	cp "$aosp/smaps" "$aosp/status" "$android/1791/" || exit 1
elif [ -n "$only_android" ]; then
	echo "SKIP: $aosp is missing: the Android cases do not run"
	exit 77
fi

pass=0 fail=0
while IFS='|' read -r name tree args; do
	name=$(echo "$name" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
	[ -z "$name" ] || [ "${name:0:1}" = "#" ] && continue
	tree=$(echo "$tree" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
	args=$(echo "$args" | sed 's/^ *//; s/ *$//')
	is_android=
	[ "$tree" = android ] && is_android=1
	[ "$is_android" = "$only_android" ] || continue # the other test's case
	case "$tree" in
	android) src=$android ;;
	/*) src=$tree ;;
	*) src=$here/data/$tree ;;
	esac
	if [ -n "$archive" ]; then
		[ -d "$src" ] || continue # no tree to lay out: the error is the directory's
		snap="$tmp/$(echo "$tree" | tr / _).$archive"
		[ -f "$snap" ] || python3 "$here/snapshot/mktar.py" "$snap" "$src" || exit 1
		src=$snap
	fi
	# shellcheck disable=SC2086 # the arguments are split as a shell would
	(cd "$tmp" && "$memledger" --source "$src" $args >out 2>err; echo "--- exit $?" >rc)
	view=ps # the expected outputs are grouped by view: the first operand that names one
	for word in $args; do
		case "$word" in maps | users | libs | system | freed | tree | groups | shm | cgroups | gpu | oom | heaps) view=$word && break ;; esac
	done
	expected="$here/expected/$view/$name"
	{
		echo "\$ memledger --source $tree $args" # what made it
		cat "$tmp/out"
		echo "--- stderr"
		# The hint after "could not be read" depends on who runs the test.
		sed "s|$src|SOURCE|g; s/could not be read.*/could not be read.../" "$tmp/err"
		cat "$tmp/rc"
	} >"$tmp/result"
	ok=1
	grep -q -- "--- exit 0" "$tmp/rc" || args="" # an error prints no document to check
	case " $args " in
	*" -J "*) python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out" || ok=0 ;;
	*" --csv "*) python3 -c '
import csv,sys
rows=list(csv.reader(open(sys.argv[1], newline="")))
assert rows and all(len(r)==len(rows[0]) for r in rows), "ragged CSV"' "$tmp/out" || ok=0 ;;
	esac
	if [ "$update" = --update ]; then
		mkdir -p "$(dirname "$expected")"
		cp "$tmp/result" "$expected"
	elif ! diff -u "$expected" "$tmp/result"; then
		ok=0
	fi
	if [ $ok = 1 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $name"; fi
done <"$here/fixtures.list"
echo "fixtures: $pass passed, $fail failed"
[ $fail = 0 ]
