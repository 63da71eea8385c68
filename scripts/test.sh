#!/usr/bin/env bash
# Quick start, command 2: install what is missing, build and run every test
# in three flavours: release (Criterion suite, example, benchmark smoke,
# install check), address+undefined sanitizers (Criterion suite with leak
# detection, stress), and thread sanitizer (stress executables; Criterion
# cannot start under TSan, Snaipe/Criterion#274).
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
	ctest --test-dir "$dir" --output-on-failure -j"$jobs"
}

flavour build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJOBTXN_SANITIZE= -DJOBTXN_BUILD_BENCH=ON
flavour build-asan -DCMAKE_BUILD_TYPE=Debug -DJOBTXN_SANITIZE=address,undefined -DJOBTXN_BUILD_BENCH=OFF
flavour build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJOBTXN_SANITIZE=thread -DJOBTXN_BUILD_BENCH=OFF
