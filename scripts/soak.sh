#!/usr/bin/env bash
# soak.sh - the soak tests (CTest label soak) in every flavour, then a table:
# stress_txn and stress_uring in the release, address+undefined and thread
# sanitizer builds (the two side by side, ctest -j), and the libFuzzer target (clang, address+undefined), JOBTXN_SOAK_SECONDS
# each (default 600: about 45 minutes in all on the 2-core VM).
#
#   scripts/soak.sh
#   JOBTXN_SOAK_SECONDS=30 scripts/soak.sh             a short check of the setup
#   JOBTXN_SOAK_FLAVOURS="tsan fuzz" scripts/soak.sh   some flavours only
#
# Builds in build-soak-<flavour> (the flags of scripts/test.sh plus
# -DJOBTXN_SOAK=ON; the CI build directories are left alone) and runs
# `ctest -L soak` there; each test's log is soak-<test>.log in its build
# directory (tests/stress, tests/fuzz). Exits 1 if any soak test failed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

jobs=$(nproc)
export JOBTXN_SOAK_SECONDS=${JOBTXN_SOAK_SECONDS:-600}
flavours=${JOBTXN_SOAK_FLAVOURS:-release asan tsan fuzz}
summary_all=$(mktemp)
trap 'rm -f "$summary_all"' EXIT

configure() {
	local flavour=$1 dir=$2
	case $flavour in
	release)
		cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJOBTXN_SANITIZE= \
			-DJOBTXN_BUILD_TESTS=ON -DJOBTXN_BUILD_BENCH=OFF -DJOBTXN_BUILD_EXAMPLES=OFF \
			-DJOBTXN_SOAK=ON
		;;
	asan)
		cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DJOBTXN_SANITIZE=address,undefined \
			-DJOBTXN_BUILD_TESTS=ON -DJOBTXN_BUILD_BENCH=OFF -DJOBTXN_BUILD_EXAMPLES=OFF \
			-DJOBTXN_SOAK=ON
		;;
	tsan)
		cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJOBTXN_SANITIZE=thread \
			-DJOBTXN_BUILD_TESTS=ON -DJOBTXN_BUILD_BENCH=OFF -DJOBTXN_BUILD_EXAMPLES=OFF \
			-DJOBTXN_SOAK=ON
		;;
	fuzz)
		CC=clang cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJOBTXN_BUILD_FUZZ=ON \
			-DJOBTXN_BUILD_TESTS=OFF -DJOBTXN_BUILD_BENCH=OFF -DJOBTXN_BUILD_EXAMPLES=OFF \
			-DJOBTXN_SANITIZE=address,undefined -DJOBTXN_SOAK=ON \
			"-DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link -Wno-gnu-variable-sized-type-not-at-end"
		;;
	*)
		echo "soak: unknown flavour $flavour (release asan tsan fuzz)" >&2
		return 2
		;;
	esac
}

targets_of() { # the stress executables (stress_uring when liburing is found)
	case $1 in
	fuzz) echo fuzz_txn ;;
	*) if pkg-config --exists liburing; then echo stress_txn stress_uring; else echo stress_txn; fi ;;
	esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
for flavour in $flavours; do
	dir=build-soak-$flavour
	echo "== soak $flavour ($dir): ${JOBTXN_SOAK_SECONDS} s per test"
	configure "$flavour" "$dir" >/dev/null
	# shellcheck disable=SC2046 # one word per target
	cmake --build "$dir" -j"$jobs" --target $(targets_of "$flavour") >/dev/null
	summary=$dir/soak-summary.tsv
	rm -f "$summary"
	JOBTXN_SOAK_SUMMARY=$PWD/$summary ctest --test-dir "$dir" -L soak -j"$jobs" --output-on-failure ||
		failed=1
	if [ -f "$summary" ]; then
		sed "s/^/$flavour\t/" "$summary" >>"$summary_all"
	else
		printf '%s\t-\t-\t-\t-\t-\t-\tFAIL (no summary)\n' "$flavour" >>"$summary_all"
		failed=1
	fi
done

echo
printf '%-8s %-11s %8s %14s %-7s %9s %10s  %s\n' flavour test seconds verified unit failures sanitizer result
while IFS=$'\t' read -r flavour name secs verified unit failures reports result; do
	printf '%-8s %-11s %8s %14s %-7s %9s %10s  %s\n' "$flavour" "$name" "$secs" "$verified" "$unit" \
		"$failures" "$reports" "$result"
done <"$summary_all"
exit "$failed"
