#!/usr/bin/env bash
# check_models.sh - model-check jobtxn's protocol with SPIN (tests/model/README.md).
#
#   tests/model/check_models.sh [MODEL...]     (default: every model)
#
# For each model: the exhaustive safety search (assertions, invalid end
# states) and every LTL claim under weak fairness (pan -a -f) must find no
# error, without truncation; each injected bug (spin -DINJECT_BUG=k) must
# produce a counterexample. Prints one line per check (states stored, depth
# reached, seconds, result) and exits 1 if any check came out otherwise.
#
# Environment: SPIN (default spin), CC (default cc), MODEL_WORK (scratch
# directory, default a new one under TMPDIR, removed at exit unless
# MODEL_KEEP=1; each check's pan.log and trail stay there).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
spin=${SPIN:-spin}
cc=${CC:-cc}

for tool in "$spin" "$cc"; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "check_models: $tool not found (scripts/install-deps.sh installs spin)" >&2
		exit 2
	fi
done

if [ -n "${MODEL_WORK:-}" ]; then
	work=$MODEL_WORK
	mkdir -p "$work"
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/jobtxn-models.XXXXXX")
	if [ "${MODEL_KEEP:-0}" != 1 ]; then
		trap 'rm -rf "$work"' EXIT
	fi
fi

# Exhaustive: lossless state compression, no bitstate hashing. -m: the
# search depth bound, far above every model's depth (a truncated search
# fails the check below).
cc_flags=(-O2 -w -DCOLLAPSE)
safety=(-DNOCLAIM)
fair=(-DNFAIR=5)
depth=-m1000000

# model | check | spin -D flags | cc -D flags | pan flags | expect | what
checks=(
	"countdown|safety N=3||${safety[*]}|$depth|pass|assertions, end states"
	"countdown|ltl retires N=2|-DN=2|${fair[*]}|-a -f -N retires $depth|pass|<> retired"
	"countdown|ltl cancels_delivered N=2|-DN=2|${fair[*]}|-a -f -N cancels_delivered $depth|pass|[] (failing -> <> delivered)"
	"countdown|bug 1|-DINJECT_BUG=1|${safety[*]}|$depth|fail|the last-unit test ignores the failing bit"
	"countdown|bug 2|-DINJECT_BUG=2|${safety[*]}|$depth|fail|the seal ignores a failure that came first"
	"countdown|bug 3|-DINJECT_BUG=3|${safety[*]}|$depth|fail|no TXN_FAILING before the bit is cleared"
	"parking|safety||${safety[*]}|$depth|pass|assertions, end states"
	"parking|ltl no_lost_wakeup||${fair[*]}|-a -f -N no_lost_wakeup $depth|pass|[] (qlen > 0 -> <> qlen == 0)"
	"parking|ltl stops||${fair[*]}|-a -f -N stops $depth|pass|<> exited"
	"parking|bug 1|-DINJECT_BUG=1|${safety[*]}|$depth|fail|ASLEEP stored relaxed (TSO store buffer)"
	"parking|bug 1 ltl|-DINJECT_BUG=1|${fair[*]}|-a -f -N no_lost_wakeup $depth|fail|same, as a liveness failure"
	"parking|bug 2|-DINJECT_BUG=2|${safety[*]}|$depth|fail|push publishes with a plain store"
	"parking|bug 2 ltl|-DINJECT_BUG=2|${fair[*]}|-a -f -N no_lost_wakeup $depth|fail|same, as a liveness failure"
	"pollfd|safety||${safety[*]}|$depth|pass|assertions, end states"
	"pollfd|ltl no_missed_wakeup||${fair[*]}|-a -f -N no_missed_wakeup $depth|pass|[] (has_work -> <> !has_work)"
	"pollfd|bug 1|-DINJECT_BUG=1|${safety[*]}|$depth|fail|lazy clear without the re-check"
	"pollfd|bug 1 ltl|-DINJECT_BUG=1|${fair[*]}|-a -f -N no_missed_wakeup $depth|fail|same, as a liveness failure"
	"pollfd|bug 2|-DINJECT_BUG=2|${safety[*]}|$depth|fail|eager clear on every poll, no re-check"
	"pollfd|bug 3|-DINJECT_BUG=3|${safety[*]}|$depth|fail|eventfd drained after the CLEAR store and re-check"
	"destroy|safety||${safety[*]}|$depth|pass|assertions, end states"
	"destroy|ltl destroys||${fair[*]}|-a -f -N destroys $depth|pass|<> destroyed"
	"destroy|bug 1|-DINJECT_BUG=1|${safety[*]}|$depth|fail|free without the grace period"
	"destroy|bug 2|-DINJECT_BUG=2|${safety[*]}|$depth|fail|read-side section ends before the wake-up"
	"pool|safety||${safety[*]}|$depth|pass|assertions, end states"
	"pool|ltl retires||${fair[*]}|-a -f -N retires $depth|pass|<> retired"
	"pool|ltl stops||${fair[*]}|-a -f -N stops $depth|pass|<> all workers stopped"
	"pool|bug 1|-DINJECT_BUG=1|${safety[*]}|$depth|fail|parks_on re-checks only its own queue"
	"pool|bug 2|-DINJECT_BUG=2|${safety[*]}|$depth|fail|the searcher stores 0 after its re-check"
	"pool|bug 3|-DINJECT_BUG=3|${safety[*]}|$depth|fail|a thief's chain_done drops no owed units"
	"walker|safety WALKS=2||${safety[*]}|$depth|pass|assertions, end states"
	"walker|ltl progresses WALKS=1|-DWALKS=1|${fair[*]}|-a -f -N progresses $depth|pass|<> (all built && all walks done)"
	"walker|bug 1|-DINJECT_BUG=1|${safety[*]}|$depth|fail|reuse without looking at walkers"
	"walker|bug 2|-DINJECT_BUG=2|${safety[*]}|$depth|fail|free beyond the bound without a grace period"
)

wanted=("$@")
selected() {
	local m=$1 w
	[ ${#wanted[@]} -eq 0 ] && return 0
	for w in "${wanted[@]}"; do
		[ "$w" = "$m" ] && return 0
	done
	return 1
}

now() { date +%s.%N; }

printf '%-10s %-28s %12s %6s %8s  %s\n' model check states depth seconds result
bad=0
n=0
start_all=$(now)
for c in "${checks[@]}"; do
	IFS='|' read -r model name spin_defs cc_defs pan_args expect what <<<"$c"
	selected "$model" || continue
	n=$((n + 1))
	dir=$work/$(printf '%02d' "$n")-$model-${name// /_}
	mkdir -p "$dir"
	cp "$here/$model.pml" "$dir/"
	t0=$(now)
	# shellcheck disable=SC2086 # the flag lists are words
	if ! (cd "$dir" && "$spin" $spin_defs -a "$model.pml" >spin.log 2>&1); then
		cat "$dir/spin.log" >&2
		printf '%-10s %-28s %12s %6s %8s  %s\n' "$model" "$name" - - - "FAIL: spin -a"
		bad=1
		continue
	fi
	# shellcheck disable=SC2086
	if ! (cd "$dir" && "$cc" "${cc_flags[@]}" $cc_defs -o pan pan.c >cc.log 2>&1); then
		cat "$dir/cc.log" >&2
		printf '%-10s %-28s %12s %6s %8s  %s\n' "$model" "$name" - - - "FAIL: $cc pan.c"
		bad=1
		continue
	fi
	# pan's exit status does not tell errors apart: read its report.
	# shellcheck disable=SC2086
	(cd "$dir" && ./pan $pan_args >pan.log 2>&1) || true
	t1=$(now)
	log=$dir/pan.log
	states=$(awk '/states, stored/ { print $1; exit }' "$log")
	depth_errors=$(sed -n 's/.*depth reached \([0-9]*\), errors: \([0-9]*\).*/\1 \2/p' "$log" | head -n 1)
	reached=${depth_errors% *}
	errors=${depth_errors#* }
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	first_error=$(grep -m 1 -E '^pan:[0-9]+:' "$log" | sed 's/^pan:[0-9]*: *//' || true)
	if [ -z "$depth_errors" ]; then
		result="FAIL: no pan report (see $log)"
		bad=1
	elif [ "$expect" = pass ]; then
		if [ "$errors" != 0 ]; then
			result="FAIL: $first_error"
			bad=1
		elif grep -qE 'Search not completed|max search depth too small|NFAIR too small' "$log"; then
			result="FAIL: search truncated (see $log)"
			bad=1
		else
			result="ok: 0 errors; $what"
		fi
	else
		if [ "$errors" != 0 ]; then
			result="ok: counterexample ($first_error); $what"
		else
			result="FAIL: no counterexample; $what"
			bad=1
		fi
	fi
	printf '%-10s %-28s %12s %6s %8s  %s\n' "$model" "$name" "${states:--}" "${reached:--}" "$secs" "$result"
	case $result in
	FAIL*) sed -n '1,40p' "$log" >&2 ;;
	esac
done
total=$(awk -v a="$start_all" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }')
if [ "$n" -eq 0 ]; then
	echo "check_models: no such model: ${wanted[*]}" >&2
	exit 2
fi
if [ "$bad" != 0 ]; then
	trap - EXIT # keep the logs and trails
	echo "check_models: FAILED ($n checks, ${total}s; logs and trails in $work)" >&2
	exit 1
fi
echo "check_models: $n checks as expected in ${total}s"
