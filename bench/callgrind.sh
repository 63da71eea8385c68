#!/usr/bin/env bash
# Instructions per job lifecycle (one thread, poll mode), counted by
# valgrind --tool=callgrind: (whole process for N jobs - whole process for
# none) / N, at G = 1 and G = 64 (or the G values given), for
#   jobtxn, a poll after every txn (the figure the targets are about);
#   jobtxn, a poll after every 64 txns (an event loop woken for a batch);
#   the one-mutex peer (bench/mutex_peer.c), a poll after every txn.
# Prints "impl=<name> G=<g> poll_every=<p> jobs=<n> instr_per_job=<x>" lines
# (for BUILD_DIR's build; other scripts parse them).
#
# Then the per-call table for this build next to an old commit's:
# the inclusive instructions of each public call (callgrind_annotate
# --inclusive=yes on the run with a poll after every txn; the harness calls
# them through the PLT, so none is inlined into another) divided by the jobs:
# per txn at G = 1, per job at G = 64; and the whole lifecycle as above. The
# old commit (default 6906b95, main before the countdown-word and chain rework) is built once,
# Release, callgrind_lifecycle only, from `git archive` into
# BUILD_DIR/callgrind-old/<commit>, and reused from there: the same binary
# gives the same counts, to the instruction.
#   bench/callgrind.sh [--old COMMIT | --no-old] [BUILD_DIR] [G ...]
#                                    (default build, G = 1 64)
# Needs valgrind; the old build needs what the project's build needs.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
old=6906b95
while [ $# -gt 0 ]; do
	case $1 in
	--old) [ $# -ge 2 ] || { echo "callgrind.sh: --old needs a commit" >&2; exit 64; }
		old=$2; shift 2 ;;
	--no-old) old=; shift ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	--*) echo "callgrind.sh: unknown option $1" >&2; exit 64 ;;
	*) break ;;
	esac
done
build=${1:-build}
shift || true
groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(1 64)
prog="$build/bench/callgrind_lifecycle"
[ -x "$prog" ] || { echo "callgrind.sh: $prog not built (cmake --build $build --target callgrind_lifecycle)" >&2; exit 2; }
jobs_total=${JOBS:-131072}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The public calls of the table, with the issue's labels.
calls=(jt_runtime_poll jt_txn_begin jt_job_complete jt_txn_add jt_txn_commit jt_job_arm)
declare -A label=(
	[jt_runtime_poll]="jt_runtime_poll (splice, dispatch, retire, pass end)"
	[jt_txn_begin]="jt_txn_begin"
	[jt_job_complete]="jt_job_complete (incl. hand-off)"
	[jt_txn_add]="jt_txn_add"
	[jt_txn_commit]="jt_txn_commit"
	[jt_job_arm]="jt_job_arm"
)

run() { # PROG OUT [--mutex] G TXNS [P]: callgrind's output file in OUT
	local p=$1 out=$2
	shift 2
	valgrind --tool=callgrind --callgrind-out-file="$out" "$p" "$@" >/dev/null 2>"$tmp/err" ||
		{ cat "$tmp/err" >&2; exit 1; }
}

total() { awk '/^totals:/ {print $2}' "$1"; }

txns_of() { # G -> txns of the run (at least 1)
	local t=$((jobs_total / $1))
	[ "$t" -gt 0 ] || t=1
	echo "$t"
}

per_job() { # NUMBER JOBS -> NUMBER / JOBS
	awk -v x="$1" -v n="$2" 'BEGIN {printf "%.1f", x / n}'
}

# KEY PROG G: whole process for none and for the jobs (a poll per txn), and
# every function's inclusive count, into $tmp/KEY-G.*
measure() {
	local key=$1 p=$2 g=$3 txns
	txns=$(txns_of "$g")
	run "$p" "$tmp/$key-$g.empty" "$g" 0
	run "$p" "$tmp/$key-$g.full" "$g" "$txns" 1
	callgrind_annotate --inclusive=yes --threshold=100 "$tmp/$key-$g.full" >"$tmp/$key-$g.annot"
	echo "$((txns * g))" >"$tmp/$key-$g.jobs"
}

# KEY G FN -> inclusive instructions of FN per job ("-" if it never ran)
call_per_job() {
	local n
	n=$(awk -v fn="$3" '{ for (i = 2; i < NF; i++)
		if ($i ~ ("(^|:)" fn "$") && $(i + 1) ~ /^\[/) { gsub(",", "", $1); print $1; exit } }' \
		"$tmp/$1-$2.annot")
	if [ -n "$n" ]; then per_job "$n" "$(cat "$tmp/$1-$2.jobs")"; else echo -; fi
}

lifecycle_per_job() { # KEY G
	per_job "$(($(total "$tmp/$1-$2.full") - $(total "$tmp/$1-$2.empty")))" "$(cat "$tmp/$1-$2.jobs")"
}

report() { # IMPL FLAG G P: one impl= line for this build
	local impl=$1 flag=$2 g=$3 p=$4 txns empty full
	txns=$(txns_of "$g")
	if [ "$impl" = jobtxn ] && [ "$p" = 1 ]; then
		measure new "$prog" "$g"
		empty=$(total "$tmp/new-$g.empty")
		full=$(total "$tmp/new-$g.full")
	else
		run "$prog" "$tmp/out" $flag "$g" 0
		empty=$(total "$tmp/out")
		run "$prog" "$tmp/out" $flag "$g" "$txns" "$p"
		full=$(total "$tmp/out")
	fi
	echo "impl=$impl G=$g poll_every=$p jobs=$((txns * g)) instr_per_job=$(awk -v f="$full" \
		-v e="$empty" -v n=$((txns * g)) 'BEGIN {printf "%.0f", (f - e) / n}')"
}

build_type() { # BUILD_DIR -> its CMAKE_BUILD_TYPE
	sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$1/CMakeCache.txt" 2>/dev/null | grep . || echo "?"
}

# COMMIT -> the old build's callgrind_lifecycle, built once per commit
old_prog() {
	local sha cache
	sha=$(git -C "$repo" rev-parse --verify --quiet "$1^{commit}") ||
		{ echo "callgrind.sh: no commit '$1' in $repo" >&2; exit 2; }
	cache="$build/callgrind-old/$sha"
	if [ "$(cat "$cache/.built-from" 2>/dev/null)" != "$sha" ]; then
		echo "callgrind.sh: building $1 ($sha), Release, callgrind_lifecycle, in $cache" >&2
		rm -rf "$cache" "$tmp/src"
		mkdir -p "$tmp/src" "$cache"
		git -C "$repo" archive "$sha" | tar -x -C "$tmp/src"
		cmake -S "$tmp/src" -B "$cache" -DCMAKE_BUILD_TYPE=Release -DJOBTXN_BUILD_TESTS=OFF \
			-DJOBTXN_BUILD_BENCH=ON -DJOBTXN_BUILD_EXAMPLES=OFF >"$tmp/old-build.log" 2>&1 &&
			cmake --build "$cache" -j"$(nproc)" --target callgrind_lifecycle \
				>>"$tmp/old-build.log" 2>&1 ||
			{ cat "$tmp/old-build.log" >&2; echo "callgrind.sh: building $1 failed" >&2; exit 2; }
		echo "$sha" >"$cache/.built-from"
	fi
	echo "$cache/bench/callgrind_lifecycle"
}

for g in "${groups[@]}"; do
	report jobtxn "" "$g" 1
	report jobtxn "" "$g" 64
	report mutex --mutex "$g" 1
done

# ---- the per-call table ----
if [ -n "$old" ]; then
	oprog=$(old_prog "$old")
	for g in "${groups[@]}"; do
		measure old "$oprog" "$g"
	done
fi
echo
echo "Per call: inclusive instructions (callgrind_annotate --inclusive=yes) / jobs, one thread,"
echo "poll mode, a poll after every txn: per txn at G = 1, per job at G > 1"
echo "new = $build ($(build_type "$build"), $(git -C "$repo" describe --always --dirty --abbrev=12 2>/dev/null || echo "?"))${old:+; old = $old ($(git -C "$repo" rev-parse --short=12 "$old^{commit}"), Release)}"
echo
per_g=1 # columns per G
[ -z "$old" ] || per_g=3
{
	printf "call"
	for g in "${groups[@]}"; do
		if [ -n "$old" ]; then printf "\tG=%s old\tnew\tnew/old" "$g"; else printf "\tG=%s" "$g"; fi
	done
	printf "\n"
	for fn in "${calls[@]}" lifecycle; do
		if [ "$fn" = lifecycle ]; then printf "whole lifecycle, minus an empty run"; else printf "%s" "${label[$fn]}"; fi
		for g in "${groups[@]}"; do
			if [ "$fn" = lifecycle ]; then n=$(lifecycle_per_job new "$g"); else n=$(call_per_job new "$g" "$fn"); fi
			if [ -n "$old" ]; then
				if [ "$fn" = lifecycle ]; then o=$(lifecycle_per_job old "$g"); else o=$(call_per_job old "$g" "$fn"); fi
				r=$(awk -v n="$n" -v o="$o" 'BEGIN {if (n == "-" || o == "-" || o == 0) print "-"; else printf "%.2f", n / o}')
				printf "\t%s\t%s\t%s" "$o" "$n" "$r"
			else
				printf "\t%s" "$n"
			fi
		done
		printf "\n"
	done
} | column -t -s "$(printf '\t')" -R "$(seq -s, 2 $((1 + ${#groups[@]} * per_g)))"
