#!/usr/bin/env bash
# The full measurement set behind the README's performance section; run it
# on a quiet machine. Release build in build-report/, then into OUT_DIR
# (default bench/results):
#   jt-bench.txt / .csv  jt-bench, default mode: every workload (dispatch and
#                        dispatch-poll, latency with its futex floor, the
#                        per-run ratios, the targets table included), 5
#                        alternating runs of 1 s per configuration and
#                        implementation, medians (extra arguments go to
#                        jt-bench)
#   throughput.png       bench/plot.gp over the CSV
#   callgrind.txt        instructions per job lifecycle, G = 1 and 64, and
#                        the per-call table next to commit $CALLGRIND_OLD
#                        (default 6906b95, main before the chain rework;
#                        bench/callgrind.sh)
#   strace-fanin.txt     strace -f -c of jobtxn's fanin workload alone: every
#                        system call of the process (builder, completers,
#                        dispatcher), with calls per completed job
#   syscalls-by-thread.txt  the same run under `perf trace -s` (when perf
#                        can trace here): system calls per thread kind
#   bench/run-report.sh [OUT_DIR] [jt-bench options]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/results}
shift || true
build=build-report
scripts/install-deps.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DJOBTXN_BUILD_TESTS=OFF \
	-DJOBTXN_BUILD_BENCH=ON -DJOBTXN_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target jt-bench callgrind_lifecycle >/dev/null
mkdir -p "$out"

echo "== jt-bench $*" >&2
"$build/bench/jt-bench" --csv-file "$out/jt-bench.csv" "$@" >"$out/jt-bench.txt"
cat "$out/jt-bench.txt"

echo "== plot" >&2
gnuplot -e "csv='$out/jt-bench.csv'; png='$out/throughput.png'" bench/plot.gp

echo "== callgrind" >&2
bench/callgrind.sh --old "${CALLGRIND_OLD:-6906b95}" "$build" 1 64 | tee "$out/callgrind.txt"

echo "== strace -c, fanin, jobtxn only" >&2
strace -f -c -o "$out/strace-fanin.txt" "$build/bench/jt-bench" --workload fanin --no-peers \
	--runs 1 --seconds 1 --csv >"$out/strace-fanin.csv" 2>/dev/null
jobs=$(awk -F, '$1 == "fanin" {n += $3 * $7} END {print n}' "$out/strace-fanin.csv")
calls=$(awk '$NF == "total" {print $4}' "$out/strace-fanin.txt")
echo "strace -f -c: $calls system calls in the whole process for $jobs completed jobs" \
	"($(awk -v c="$calls" -v j="$jobs" 'BEGIN {printf "%.6f", c / j}') per job)" |
	tee -a "$out/strace-fanin.txt"
cat "$out/strace-fanin.txt"

# Which threads make the calls: perf trace names each thread (strace -f
# does not). Optional: perf may be missing or not allowed to trace.
if command -v perf >/dev/null &&
	perf trace -s -o "$out/perf-trace.tmp" -- "$build/bench/jt-bench" --workload fanin \
		--no-peers --runs 1 --seconds 1 >/dev/null 2>&1; then
	echo "== system calls by thread kind (perf trace -s, fanin, jobtxn only)" >&2
	awk '/^ [^ ].* \([0-9]+\), [0-9]+ events/ { kind = $1; sub(/-[0-9]+$/, "", kind); next }
	     kind != "" && $1 ~ /^[a-z_0-9]+$/ && $2 ~ /^[0-9]+$/ { n[kind " " $1] += $2 }
	     END { for (k in n) print k, n[k] }' "$out/perf-trace.tmp" | sort |
		awk 'BEGIN { print "thread_kind syscall calls" } { print }' | column -t |
		tee "$out/syscalls-by-thread.txt"
	rm -f "$out/perf-trace.tmp"
fi
