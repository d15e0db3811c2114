#!/bin/sh
# What make check changes on the machine, said and undone.
#   tools/check-state.sh before FILE   records the state the tests may touch
#   tools/check-state.sh after FILE    says what the tests left, and undoes it
# The tests turn swap on (a 256 MiB file in /var/tmp, zram0) and create memory cgroups
# (memledger-test-PID) for their duration, and start helper processes; each undoes its
# own. This is the net for a test that was killed: what is left of theirs is named and
# undone, never what another make check running beside this one still uses (a cgroup
# whose test lives, swap while such a test runs, a helper of another checkout).
# Packages that tools/deps.sh installed stay (it said which as it installed them).
set -u
mode=$1
file=$2
root=$(pwd -P)

state() {
	echo "swap: $(awk 'NR > 1 {printf "%s ", $1}' /proc/swaps)"
	echo "cgroups: $(find /sys/fs/cgroup -maxdepth 3 -type d -name 'memledger-test-*' 2>/dev/null |
		tr '\n' ' ')"
}

if [ "$mode" = before ]; then
	state > "$file"
	exit 0
fi
left=0
testing() { # testing SCRIPT: a live test of that name runs (this make check's or another's)
	pgrep -f "tests/live/$1" > /dev/null
}
for dev in $(state | sed -n 's/^swap: //p'); do
	grep -q "^swap: .*$dev " "$file" && continue
	case $dev in
	/var/tmp/memledger-test*) testing test_live.py && continue ;;
	/dev/zram0) testing test_freed.py && continue ;;
	*) continue ;;
	esac
	echo "memledger: the tests left swap on $dev: turning it off"
	swapoff "$dev"
	case $dev in
	/dev/zram0) echo 1 > /sys/block/zram0/reset ;;
	*) rm -f "$dev" ;;
	esac
	left=1
done
for dir in $(state | sed -n 's/^cgroups: //p'); do
	kill -0 "${dir##*-}" 2> /dev/null && continue # its test lives
	echo "memledger: the tests left the cgroup $dir: removing it"
	for pid in $(cat "$dir/cgroup.procs" 2> /dev/null); do kill "$pid" 2> /dev/null; done
	sleep 0.5
	rmdir "$dir" 2> /dev/null || echo "memledger: $dir cannot be removed: left as it is"
	left=1
done
for exe in /proc/[0-9]*/exe; do # helpers of this checkout's builds left running
	target=$(readlink "$exe" 2> /dev/null) || continue
	case $target in
	"$root"/*/tests/layout-helper | "$root"/*/tests/lh-* | "$root"/*/bench/bench-workload) ;;
	*) continue ;;
	esac
	pid=${exe#/proc/}
	pid=${pid%/exe}
	echo "memledger: the tests left process $pid ($target): ending it"
	kill "$pid" 2> /dev/null
	left=1
done
if [ $left = 0 ]; then
	echo "memledger: the tests turned swap on (a swap file, zram0), made memory cgroups and"
	echo "memledger: started helper processes for their duration: none is left, as before"
fi
