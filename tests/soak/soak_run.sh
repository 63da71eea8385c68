#!/usr/bin/env bash
# soak_run.sh - one soak test (CTest label soak, configured with
# -DJOBTXN_SOAK=ON; scripts/soak.sh runs them in every flavour).
#
#   soak_run.sh NAME stress EXE [ARG...]       EXE --seconds S ARG...
#   soak_run.sh NAME checks EXE [ARG...]       the same, counting checks, not
#                                              txns (stress_uring)
#   soak_run.sh NAME fuzz EXE SEEDS SCRATCH    libFuzzer for S seconds from
#                                              SEEDS, new inputs in SCRATCH
#
# S is JOBTXN_SOAK_SECONDS (default 600). The run's output goes to
# soak-NAME.log in the working directory; one summary line, tab-separated,
# goes to stdout and is appended to $JOBTXN_SOAK_SUMMARY when that is set:
#   NAME SECONDS VERIFIED UNIT FAILURES SANITIZER_REPORTS RESULT
# VERIFIED counts txns checked against the contract (stress_txn's
# "N passed"), or inputs run against the reference model (libFuzzer's
# executed units). Exits 0 only if the run exited 0 with no failure and no
# sanitizer report.
set -euo pipefail

if [ $# -lt 3 ]; then
	echo "usage: soak_run.sh NAME stress|checks|fuzz EXE [ARG...]" >&2
	exit 2
fi
name=$1
kind=$2
exe=$3
shift 3
secs=${JOBTXN_SOAK_SECONDS:-600}
case $secs in
'' | *[!0-9]*)
	echo "soak_run: JOBTXN_SOAK_SECONDS must be a whole number of seconds" >&2
	exit 2
	;;
esac
log=$PWD/soak-$name.log

status=0
case $kind in
stress | checks)
	"$exe" --seconds "$secs" "$@" >"$log" 2>&1 || status=$?
	result_line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 || true)
	unit=txns
	[ "$kind" = checks ] && unit=checks
	if [ -n "$result_line" ]; then
		verified=${result_line%% passed*}
		failures=${result_line#*passed, }
		failures=${failures%% failed}
	else
		verified=0
		failures=1 # no result line: it died or hung
	fi
	;;
fuzz)
	if [ $# -ne 2 ]; then
		echo "usage: soak_run.sh NAME fuzz EXE SEEDS SCRATCH" >&2
		exit 2
	fi
	seeds=$1
	scratch=$2
	rm -rf "$scratch"
	mkdir -p "$scratch"
	"$exe" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$PWD/soak-$name-" \
		"$scratch" "$seeds" >"$log" 2>&1 || status=$?
	unit=inputs
	verified=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	verified=${verified:-0}
	failures=0
	[ "$status" -eq 0 ] || failures=1 # libFuzzer stops at the first failure
	;;
*)
	echo "soak_run: unknown kind $kind (stress or fuzz)" >&2
	exit 2
	;;
esac

reports=$(grep -cE 'WARNING: ThreadSanitizer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' \
	"$log" || true)
if [ "$status" -eq 0 ] && [ "$failures" -eq 0 ] && [ "$reports" -eq 0 ]; then
	result=ok
else
	result="FAIL (exit $status; $log)"
fi
line=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s' "$name" "$secs" "$verified" "$unit" "$failures" \
	"$reports" "$result")
echo "$line"
if [ -n "${JOBTXN_SOAK_SUMMARY:-}" ]; then
	echo "$line" >>"$JOBTXN_SOAK_SUMMARY"
fi
if [ "$result" != ok ]; then
	tail -n 50 "$log"
	exit 1
fi
