#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build, run the short
# benchmark (jt-bench --quick) that shows what the runtime does.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DJOBTXN_BUILD_TESTS=OFF -DJOBTXN_BUILD_BENCH=ON >/dev/null
cmake --build build -j"$(nproc)" --target jt-bench >/dev/null
exec build/bench/jt-bench --quick "$@"
