#!/usr/bin/env bash
# Quick start, command 2: install what is missing, build and run every test
# in three flavours: release (Criterion suite, example, benchmark smoke,
# install check), address+undefined sanitizers (Criterion suite with leak
# detection, stress), and thread sanitizer (stress executables; Criterion
# cannot start under TSan, Snaipe/Criterion#274; plus the known-race check),
# then the libFuzzer target (clang, bounded run: JOBTXN_FUZZ_SECONDS, default
# 60), then the Debian packages (scripts/check-deb.sh: built, lintian-clean,
# installed, every example built and run against them, purged). First, the
# SPIN models of the protocol (tests/model, about a minute): each
# exhaustively, and each injected bug must give a counterexample.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

jobs=$(nproc)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

flavour() {
	local dir=$1
	shift
	echo "== $dir: $*"
	cmake -S . -B "$dir" -DJOBTXN_BUILD_TESTS=ON -DJOBTXN_BUILD_EXAMPLES=ON "$@" >/dev/null
	cmake --build "$dir" -j"$jobs" >/dev/null
	# The models run once, on their own, with their table in the log.
	ctest --test-dir "$dir" --output-on-failure -j"$jobs" -LE '^model$'
}

echo "== models: SPIN (tests/model/README.md)"
tests/model/check_models.sh

flavour build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJOBTXN_SANITIZE= -DJOBTXN_BUILD_BENCH=ON
flavour build-asan -DCMAKE_BUILD_TYPE=Debug -DJOBTXN_SANITIZE=address,undefined -DJOBTXN_BUILD_BENCH=OFF
flavour build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJOBTXN_SANITIZE=thread -DJOBTXN_BUILD_BENCH=OFF

# Fuzzing: clang + libFuzzer + address,undefined; only the fuzz target (a
# clang ASan shared library cannot link with --no-undefined). The corpus is
# replayed first (ctest), then new inputs go to a scratch copy, never into
# tests/fuzz/corpus. A contract violation or sanitizer report fails CI.
echo "== build-fuzz: clang, libFuzzer, address,undefined"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJOBTXN_BUILD_FUZZ=ON \
	-DJOBTXN_BUILD_TESTS=OFF -DJOBTXN_BUILD_BENCH=OFF -DJOBTXN_BUILD_EXAMPLES=OFF \
	-DJOBTXN_SANITIZE=address,undefined \
	"-DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link -Wno-gnu-variable-sized-type-not-at-end" >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_txn >/dev/null
ctest --test-dir build-fuzz --output-on-failure
rm -rf build-fuzz/corpus && mkdir -p build-fuzz/corpus
if ! build-fuzz/tests/fuzz/fuzz_txn -max_total_time="${JOBTXN_FUZZ_SECONDS:-60}" \
	-print_final_stats=1 -artifact_prefix=build-fuzz/ build-fuzz/corpus tests/fuzz/corpus \
	>build-fuzz/fuzz.log 2>&1; then
	tail -n 100 build-fuzz/fuzz.log
	echo "fuzz_txn failed: the input that crashed it is in build-fuzz/ (crash-*)" >&2
	exit 1
fi
grep -E '^#[0-9]+[[:space:]]+DONE|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' \
	build-fuzz/fuzz.log

echo "== build-deb: Debian packages"
scripts/check-deb.sh
