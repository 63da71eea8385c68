#!/usr/bin/env bash
# Instructions per job lifecycle (one thread, poll mode), counted by
# valgrind --tool=callgrind: (whole process for N jobs - whole process for
# none) / N, at G = 1 and G = 64 (or the G values given).
#   bench/callgrind.sh [BUILD_DIR] [G ...]    (default build, G = 1 64)
# Prints "G=<g> jobs=<n> instr_per_job=<x>" per G. Needs valgrind.
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

instr() { # G TXNS -> total instructions of the process
	valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$prog" "$1" "$2" >/dev/null 2>"$tmp/err" ||
		{ cat "$tmp/err" >&2; exit 1; }
	awk '/^totals:/ {print $2}' "$tmp/out"
}

for g in "${groups[@]}"; do
	txns=$((jobs_total / g))
	[ "$txns" -gt 0 ] || txns=1
	empty=$(instr "$g" 0)
	full=$(instr "$g" "$txns")
	echo "G=$g jobs=$((txns * g)) instr_per_job=$(awk -v f="$full" -v e="$empty" -v n=$((txns * g)) 'BEGIN {printf "%.0f", (f - e) / n}')"
done
