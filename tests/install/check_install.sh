#!/usr/bin/env bash
# Install jobtxn into a scratch prefix with `cmake --install`, then check it
# as its consumers see it (check_consumers.sh: files, exported symbols, man
# pages, every example built and run four ways).
# Usage: check_install.sh SOURCE_DIR SCRATCH_DIR
set -euo pipefail
src=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix

cmake -S "$src" -B "$work/build" -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib \
	-DJOBTXN_BUILD_TESTS=OFF -DJOBTXN_BUILD_BENCH=OFF -DJOBTXN_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$work/build" -j2 >/dev/null
cmake --install "$work/build" >/dev/null
exec "$src/tests/install/check_consumers.sh" "$prefix" "$prefix/lib" "$src" "$work/consumers"
