#!/usr/bin/env bash
# The USDT probes fire with their documented arguments: perf attaches to
# every jobtxn probe of LIBRARY and records the group commit example (6
# batches of 8 records, one batch failing with -ENOSPC). Needs perf, root
# and a writable tracefs; exits 77 (skipped) where those are missing.
# The probes are global (sdt_jobtxn:*): runs are serialised with a lock
# and the probes removed at the end. Usage: fire_probes.sh LIBRARY EXAMPLE
set -euo pipefail
lib=$(readlink -f "$1")
example=$2
skip() { echo "skipped: $*"; exit 77; }

command -v perf >/dev/null || skip "perf not installed (Debian linux-perf)"
perf version >/dev/null 2>&1 || skip "perf does not run on this kernel"
[ "$(id -u)" -eq 0 ] || skip "not root"
[ -w /sys/kernel/tracing/uprobe_events ] || skip "/sys/kernel/tracing/uprobe_events not writable"

work=$(mktemp -d)
exec 9>/tmp/jobtxn-usdt-probes.lock
flock 9
cleanup() {
	perf --buildid-dir "$work/buildid" probe -q -d 'sdt_jobtxn:*' 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
perf_() { perf --buildid-dir "$work/buildid" "$@"; }

perf_ buildid-cache --add "$lib" || skip "perf buildid-cache failed"
perf_ probe -q -d 'sdt_jobtxn:*' 2>/dev/null || true
perf_ probe -q -x "$lib" -a 'sdt_jobtxn:*' || skip "perf probe cannot attach uprobes here"
LD_LIBRARY_PATH=$(dirname "$lib") perf_ record -q -o "$work/perf.data" -e 'sdt_jobtxn:*' -- \
	"$example" >/dev/null
perf_ script -i "$work/perf.data" -F event,trace 2>/dev/null >"$work/events"

count() { grep -c "$1" "$work/events" || true; }
fail=0
expect() { # WHAT PATTERN N
	local n
	n=$(count "$2")
	if [ "$n" != "$3" ]; then
		echo "$1: $n events, expected $3"
		fail=1
	fi
}
expect "txn_begin" 'sdt_jobtxn:txn_begin:' 6
expect "txn_commit" 'sdt_jobtxn:txn_commit:.* arg3=8 arg4=0$' 6
expect "job_complete" 'sdt_jobtxn:job_complete:' 48
expect "job_complete with -ENOSPC" 'sdt_jobtxn:job_complete:.* arg3=-28$' 1
expect "txn_ready" 'sdt_jobtxn:txn_ready:' 6
expect "txn_retire" 'sdt_jobtxn:txn_retire:' 6
expect "txn_retire with status -ENOSPC" 'sdt_jobtxn:txn_retire:.* arg3=-28$' 1
# Every retired txn's id was seen at its begin.
for id in $(sed -n 's/.*txn_retire:.* arg1=\([0-9]*\) .*/\1/p' "$work/events"); do
	grep -q "txn_begin:.* arg1=$id " "$work/events" || { echo "txn $id retired, never begun"; fail=1; }
done
[ $fail -eq 0 ] && echo "usdt: every probe fired with its documented arguments"
exit $fail
