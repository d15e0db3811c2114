#!/bin/sh
# Starts the test helper's process family (a parent and three children with a known
# layout: tests/live/layout.c), prints its PIDs and runs the README's examples on it, then
# ends it. The README's examples are this script's output on the machine that made them.
#   tools/demo.sh BUILD_DIR
set -eu
build=${1:-build}
memledger=$build/memledger
helper=$build/tests/layout-helper
[ -x "$memledger" ] && [ -x "$helper" ] || { echo "demo: build first (make build)" >&2; exit 1; }
work=$(mktemp -d /tmp/memledger-demo.XXXXXX)
fifo=$work/hold
mkfifo "$fifo"
"$helper" "$work" 3 0 <"$fifo" >"$work/ready" &
exec 3>"$fifo" # the family lives while this holds the pipe open
while ! [ -s "$work/ready" ]; do sleep 0.1; done
set -- $(cat "$work/ready")
parent=$2 children="$3 $4 $5"
trap 'exec 3>&-; wait; rm -f "/dev/shm/memledger-test-$parent"; rm -rf "$work"' EXIT
echo "family: parent $parent, children $children"
run() { # run [-c COMMENT] ARGS...: prints "$ memledger ARGS  # COMMENT", then its output
	comment=
	[ "$1" = -c ] && comment="  # $2" && shift 2
	echo
	echo "\$ memledger $*$comment"
	"$memledger" "$@" 2>&1 || true
}
all="$parent,$(echo "$children" | tr ' ' ',')"
run -p "$all" -o PID,PPID,COMM,USS,PSS,SHMEM,LAZYFREE,FOOTPRINT,COMMIT -t
run -r -p "1,$all"
run -J -p "$parent" -o PID,COMM,RSS,PSS,USS,ANON,SHMEM
run --csv -p "$parent" -o PID,COMM,PSS,USS
run maps "$parent"
# A process of 4 threads, each with its own malloc arena and stack (the heaps example).
threads_fifo=$work/threads
mkfifo "$threads_fifo"
"$helper" threads 4 <"$threads_fifo" >"$work/threads.ready" &
exec 5>"$threads_fifo"
while ! [ -s "$work/threads.ready" ]; do sleep 0.1; done
threads=$(cut -d' ' -f2 "$work/threads.ready")
run -c "4 threads, each with its own arena and stack" heaps "$threads"
run maps --by category "$threads"
exec 5>&-
run users -t
run libs -r -o NAME,KIND,PROCS,RSS,PSS,USS,AVGPSS -P layout-helper
run system -t
run -c "one child of the family" freed "${children%% *}"
run -c "the family: a parent and three children" tree "$parent"
run -c "the family, and every other command" groups -r
run shm
run --source tests/data/gpu/proc gpu # a fixture tree (make's directory): no GPU here
# Snapshots: a process that grows by 4 MiB between two captures, and one idle child.
grow_fifo=$work/grow
mkfifo "$grow_fifo"
"$helper" grow 1 <"$grow_fifo" >"$work/grown" &
exec 4>"$grow_fifo"
while ! [ -s "$work/grown" ]; do sleep 0.1; done
grow_pids=$(head -1 "$work/grown" | cut -d' ' -f2- | tr ' ' ',')
before=/tmp/memledger-demo-before.tar.zst after=/tmp/memledger-demo-after.tar
"$memledger" capture -o "$before" 2>/dev/null
echo grow >&4
while [ "$(wc -l <"$work/grown")" -lt 2 ]; do sleep 0.1; done
"$memledger" capture --exact -o "$after" 2>/dev/null
run --source "$after" ps -p "$all" -o PID,COMM,PSS,USS,FREED,OWNED
run -c "the grown process and its idle child" diff "$before" "$after" -p "$grow_pids"
exec 4>&-
rm -f "$before" "$after"
