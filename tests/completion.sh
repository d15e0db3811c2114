#!/bin/bash
# The shell completions memledger writes (--completion bash|zsh|fish) complete what the
# program takes: every view, every option of each view (as its --help lists them), the
# columns of the view named, PIDs, and --by/--owner/--chart values that memledger
# accepts. bash is driven through its completion function; zsh through bashcompinit's
# sh emulation; fish through `complete -C`. zsh and fish: SKIP when they are missing.
#   completion.sh MEMLEDGER DATA
set -u
memledger=$(realpath "$1")
data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0 skip=0
check() { # check NAME CONDITION-STATUS [DETAIL]
	if [ "$2" = 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1 ${3:-}"; fi
}
has() { # has WORD LIST...: WORD is one of the words of LIST
	local w=$1
	shift
	[[ " $* " == *" $w "* ]]
}
mkdir "$tmp/bin"
ln -s "$memledger" "$tmp/bin/memledger"
export PATH="$tmp/bin:$PATH"

for shell in bash zsh fish; do
	memledger --completion $shell > "$tmp/$shell" 2> "$tmp/err"
	check "--completion $shell: exit 0, nothing on stderr" $(( $? + $(wc -c < "$tmp/err") ))
done
memledger --completion tcsh > /dev/null 2> "$tmp/err"
check "--completion tcsh: exit 2 and a message" $(( $? != 2 )) "$(cat "$tmp/err")"
bash -n "$tmp/bash"
check "bash: the script parses" $?

# bash: what the function offers for a command line (the last word being completed)
source "$tmp/bash"
comp() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_memledger
	echo "${COMPREPLY[*]}"
}
views=$(memledger --help | awk '/^Views/ {on = 1; next} on && /^$/ {exit} on {print $1}')
got=$(comp memledger "")
for v in $views; do
	has "$v" $got || { check "bash: view $v offered" 1 "$got"; continue; }
done
check "bash: every view of --help offered (${views//$'\n'/ })" 0
has "$$" $got
check "bash: PIDs offered where a view or a PID may stand" $?
check "bash: fr completes to freed" "$([ "$(comp memledger fr)" = freed ]; echo $?)"
for v in $views; do
	want=$(memledger "$v" --help 2>/dev/null | grep -E '^ +(-[a-zA-Z], )?--' |
		grep -o -- '--[a-z][a-z-]*' | sort -u)
	got=$(comp memledger "$v" --)
	missing=""
	for o in $want; do has "$o" $got || missing="$missing $o"; done
	check "bash: $v's options as its --help lists them" "$([ -z "$missing" ]; echo $?)" \
		"missing:$missing"
done
got=$(comp memledger maps -o "")
check "bash: maps -o offers maps' columns" "$(has START $got && has NAME $got; echo $?)" "$got"
check "bash: -o A,B completes the last column" \
	"$([ "$(comp memledger maps -o PSS,RS)" = PSS,RSS ]; echo $?)" "$(comp memledger maps -o PSS,RS)"
got=$(comp memledger -o +US)
check "bash: -o +COL completes with the +" "$(has +USS $got && has +USER $got; echo $?)" "$got"
got=$(comp memledger -s %M)
check "bash: -s offers ps' columns (%MEM)" "$([ "$got" = %MEM ]; echo $?)" "$got"
got=$(comp memledger -p "$$")
has "$$" $got
check "bash: -p offers PIDs" $? "$got"
got=$(comp memledger capture -o "$tmp/b")
check "bash: capture -o completes file names" "$([ "$got" = "$tmp/bash $tmp/bin" ] ||
	[ "$got" = "$tmp/bin $tmp/bash" ]; echo $?)" "$got"
got=$(comp memledger maps 1 --pi)
check "bash: options after operands" "$([ "$got" = --pid ]; echo $?)" "$got"

# every value offered is one memledger takes
for by in $(comp memledger groups --by ""); do
	memledger groups --by "$by" --source "$data/proc-basic" -n > /dev/null 2>&1
	check "bash: groups --by $by is taken" $?
done
for by in $(comp memledger diff --by ""); do
	memledger diff "$data/system-a/proc" "$data/system-a/proc" --by "$by" -n > /dev/null 2>&1
	check "bash: diff --by $by is taken" $?
done
for by in $(comp memledger top --by ""); do
	memledger top -b -n 1 --by "$by" --source "$data/proc-basic" > /dev/null 2>&1
	check "bash: top --by $by is taken" $?
done
for owner in $(comp memledger shm --owner ""); do
	memledger shm --owner "$owner" --source "$data/proc-basic" -n > /dev/null 2>&1
	check "bash: shm --owner $owner is taken" $?
done
for policy in $(comp memledger oom --policy ""); do
	memledger oom --policy "$policy" --source "$data/proc-oom" -n > /dev/null 2>&1
	check "bash: oom --policy $policy is taken" $?
done
check "bash: oom --policy offers kernel and lmkd" "$(test "$(comp memledger oom --policy "" | sort | tr '\n' ' ')" = "kernel lmkd "; echo $?)"
for by in $(comp memledger top --by ""); do
	memledger top -b -n 1 --by "$by" --source "$data/proc-roles" > /dev/null 2>&1
	check "bash: top --by $by is taken" $?
done
for chart in $(comp memledger report --chart ""); do
	memledger report --chart "$chart" -o /dev/null --source "$data/proc-basic" > /dev/null 2>&1
	check "bash: report --chart $chart is taken" $?
done

if command -v zsh > /dev/null; then
	zsh -n "$tmp/zsh"
	check "zsh: the script parses" $?
	# as bashcompinit's compgen runs it: sh emulation, zsh filtering by the prefix after
	got=$(zsh -fc "autoload -U compinit && compinit -u -d $tmp/zcompdump; source $tmp/zsh
		emulate -L sh; setopt kshglob noshglob braceexpand
		COMP_WORDS=(memledger maps -o PSS,RS); COMP_CWORD=3; __memledger_bash
		echo \"\${COMPREPLY[@]}\"" 2>&1)
	has PSS,RSS $got
	check "zsh: maps -o PSS,RS offers PSS,RSS" $? "$got"
else
	echo "SKIP: zsh is not installed"
	skip=$((skip + 1))
fi

if command -v fish > /dev/null; then
	fish -n "$tmp/fish"
	check "fish: the script parses" $?
	got=$(fish -c "source $tmp/fish; complete -C 'memledger maps -o PSS,RS'" 2>&1 | cut -f1)
	check "fish: maps -o PSS,RS offers PSS,RSS" "$([ "$got" = PSS,RSS ]; echo $?)" "$got"
	got=$(fish -c "source $tmp/fish; complete -C 'memledger gr'" 2>&1)
	check "fish: gr offers groups, with what it answers" \
		"$([[ $got == groups$'\t'*pages* ]]; echo $?)" "$got"
	got=$(fish -c "source $tmp/fish; complete -C 'memledger diff --by '" 2>&1 | cut -f1 | tr '\n' ' ')
	check "fish: diff --by offers diff's keys" "$(has system $got && ! has app $got; echo $?)" "$got"
	got=$(fish -c "source $tmp/fish; complete -C 'memledger shm --'" 2>&1 | cut -f1 | tr '\n' ' ')
	check "fish: shm's options, not ps' (-p)" "$(has --owner $got && ! has --pid $got; echo $?)" "$got"
else
	echo "SKIP: fish is not installed"
	skip=$((skip + 1))
fi

echo "completion: $pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
