#!/usr/bin/env bash
# Instructions per job lifecycle (one thread, poll mode), counted by
# valgrind --tool=callgrind: (whole process for N jobs - whole process for
# none) / N, at G = 1 and G = 64 (or the G values given), for
#   jobtxn, a poll after every txn (the figure the targets are about);
#   jobtxn, a poll after every 64 txns (an event loop woken for a batch);
#   the one-mutex peer (bench/mutex_peer.c), a poll after every txn.
#   bench/callgrind.sh [BUILD_DIR] [G ...]    (default build, G = 1 64)
# Prints "impl=<name> G=<g> poll_every=<p> jobs=<n> instr_per_job=<x>" lines.
# Needs valgrind.
set -euo pipefail
build=${1:-build}
shift || true
groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(1 64)
prog="$build/bench/callgrind_lifecycle"
[ -x "$prog" ] || { echo "callgrind.sh: $prog not built (cmake --build $build --target callgrind_lifecycle)" >&2; exit 2; }
jobs_total=${JOBS:-131072}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

instr() { # [--mutex] G TXNS [P] -> total instructions of the process
	valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$prog" "$@" >/dev/null 2>"$tmp/err" ||
		{ cat "$tmp/err" >&2; exit 1; }
	awk '/^totals:/ {print $2}' "$tmp/out"
}

report() { # IMPL FLAG G P
	local impl=$1 flag=$2 g=$3 p=$4 txns empty full
	txns=$((jobs_total / g))
	[ "$txns" -gt 0 ] || txns=1
	empty=$(instr $flag "$g" 0)
	full=$(instr $flag "$g" "$txns" "$p")
	echo "impl=$impl G=$g poll_every=$p jobs=$((txns * g)) instr_per_job=$(awk -v f="$full" \
		-v e="$empty" -v n=$((txns * g)) 'BEGIN {printf "%.0f", (f - e) / n}')"
}

for g in "${groups[@]}"; do
	report jobtxn "" "$g" 1
	report jobtxn "" "$g" 64
	report mutex --mutex "$g" 1
done
