#!/bin/bash
# Runs the libFuzzer targets: first every saved case (tests/fuzz/cases/TARGET/, each a
# crash once found), then a search of SECONDS per target from seeds made of tests/data.
#   fuzz.sh SECONDS FUZZ_PARSE FUZZ_TREE FUZZ_ARCHIVE MEMLEDGER_CAPTURE
# A crash, leak or failed check stops it with the input saved under tests/fuzz/new/.
set -u
seconds=$1 parse=$2 tree=$3 archive=$4 capture=$5
here=$(cd "$(dirname "$0")" && pwd)
data=$here/data
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/parse" "$work/tree" "$work/archive" "$work/shm" "$here/fuzz/new"
# fuzz_tree lays its trees out here, not in a /dev/shm that other runs share and clean.
export MEMLEDGER_FUZZ_DIR=$work/shm

# Seeds: each file of the fixtures behind the byte that picks its parser (fuzz_parse.c).
selector() {
	case "$1" in
	smaps) echo 0 ;; smaps_rollup) echo 1 ;; status) echo 2 ;; stat) echo 3 ;;
	meminfo) echo 4 ;; cgroup) echo 5 ;; shm) echo 6 ;; cmdline) echo 10 ;; *) echo "" ;;
	esac
}
n=0
while IFS= read -r -d '' f; do
	s=$(selector "$(basename "$f")")
	[ -n "$s" ] || continue
	n=$((n + 1))
	{ printf "\\$(printf '%03o' "$s")"; cat "$f"; } >"$work/parse/seed-$n"
done < <(find "$data" -type f -print0)
printf '\007%s' "$(cat /proc/loadavg)" >"$work/parse/loadavg"
printf '\010%s' "$(cat /proc/self/mountinfo)" >"$work/parse/mountinfo"
printf '\0131 1 1 1 0 1 0' >"$work/parse/statm"
printf '\0117f0000000000-7f0000001000 rw-s 00000000 00:01 42   /memfd:x (deleted)' \
	>"$work/parse/mapsline"
# Tree seeds: two processes of each fixture tree, cut as fuzz_tree.c lays them out.
sep=$(printf '\001')
for dir in "$data"/proc-* "$data"/system-*/proc; do
	pids=$(find "$dir" -mindepth 1 -maxdepth 1 -name '[0-9]*' -printf '%f\n' | sort -n | head -2)
	set -- $pids
	[ $# = 2 ] || continue
	out="$work/tree/$(basename "$(dirname "$dir")")-$(basename "$dir")"
	for f in "$1/status" "$1/stat" "$1/smaps_rollup" "$1/smaps" "$1/cmdline" "$2/status" \
		"$2/stat" "$2/smaps_rollup" "$2/smaps" "$2/cgroup" meminfo swaps sysvipc/shm \
		pressure/memory sys/vm/max_map_count; do
		[ -f "$dir/$f" ] && cat "$dir/$f"
		printf '\0%s' "$sep"
	done >"$out"
done

# Archive seeds: each fixture tree as a snapshot (tar, gzip, zstd; smemcap's layout too)
# and a real capture cut down to the manifest, the system and two processes, each also
# truncated and with bytes flipped.
for dir in "$data"/proc-basic "$data"/proc-libs "$data"/proc-roles "$data"/system-a/proc; do
	name=$(basename "$(dirname "$dir")")-$(basename "$dir")
	for ext in tar tar.gz tar.zst; do
		python3 "$here/snapshot/mktar.py" "$work/archive/$name.$ext" "$dir" || exit 1
	done
	python3 "$here/snapshot/mktar.py" "$work/archive/$name-smemcap.tar" "$dir" --smemcap
done
exact=
[ "$(id -u)" = 0 ] && exact=--exact
"$capture" $exact -o "$work/real.tar" 2>/dev/null &&
	python3 - "$work/real.tar" "$work/archive/real.tar" <<'PY'
import sys, tarfile
src, dst = sys.argv[1], sys.argv[2]
with tarfile.open(src) as t:
    members = t.getmembers()
    pids = sorted({m.name.split("/")[1] for m in members
                   if m.name.startswith("proc/") and m.name.split("/")[1].isdigit()
                   and m.name.endswith("/smaps") and m.size < 20000}, key=int)[:2]
    keep = [m for m in members if not (m.name.startswith("proc/") and
            m.name.split("/")[1].isdigit() and m.name.split("/")[1] not in pids)]
    with tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as out:
        for m in keep:
            out.addfile(m, t.extractfile(m) if m.isreg() else None)
PY
for f in "$work"/archive/*; do
	size=$(stat -c %s "$f")
	head -c $((size / 2)) "$f" >"$f.cut"
	python3 -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read())
for i in range(700, len(d), 977): d[i] ^= 0x41
open(sys.argv[1] + ".flip", "wb").write(d)' "$f"
done

# Decompression bombs: a few hundred KiB of zstd that inflate to gigabytes of junk outside
# proc/, or to a smaps and a meminfo larger than any real one (-rss_limit_mb holds them).
python3 - "$here/snapshot" "$data" "$work/archive" <<'PY' || exit 1
import os, sys
sys.path.insert(0, sys.argv[1])
import bombs
data, out = sys.argv[2], sys.argv[3]
bombs.write_bomb(os.path.join(out, "bomb-junk.tar.zst"), data, [("junk/zeros", 4 << 30)])
bombs.write_bomb(os.path.join(out, "bomb-smaps.tar.zst"), data, [("proc/100/smaps", 300 << 20)])
bombs.write_bomb(os.path.join(out, "bomb-meminfo.tar.zst"), data, [("proc/meminfo", 300 << 20)])
PY

status=0
run() {
	local name=$1 bin=$2 corpus=$3
	local cases=$here/fuzz/cases/$name
	if [ -d "$cases" ] && ls "$cases"/* >/dev/null 2>&1; then
		"$bin" -runs=1 "$cases"/* >"$work/$name-cases.log" 2>&1 || {
			echo "FAIL: $name: a saved case fails again"; tail -30 "$work/$name-cases.log"
			status=1; return
		}
	fi
	if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$here/fuzz/new/$name-" "$corpus" >"$work/$name.log" 2>&1; then
		echo "FAIL: $name: see the input saved in tests/fuzz/new/"
		grep -E "ERROR|SUMMARY|runtime error" "$work/$name.log" | head -5
		status=1
		return
	fi
	echo "$name: $(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$work/$name.log" |
		grep -oE '[0-9]+$') executions in ${seconds} s, no crash;" \
		"$(ls "$cases" 2>/dev/null | wc -l) saved cases pass"
}
run parse "$parse" "$work/parse"
run tree "$tree" "$work/tree"
run archive "$archive" "$work/archive"
rmdir "$here/fuzz/new" 2>/dev/null
if [ $status = 0 ]; then echo "fuzz: 3 passed, 0 failed"; else echo "fuzz: failed"; fi
exit $status
