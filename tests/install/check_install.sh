#!/usr/bin/env bash
# Install jobtxn into a scratch prefix, then build and run the README example
# against it three ways: find_package (shared and static) and pkg-config.
# Usage: check_install.sh SOURCE_DIR SCRATCH_DIR
set -euo pipefail
src=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
example=$src/examples/hello_txn.c
expect="backup: all jobs finished, status 0"

cmake -S "$src" -B "$work/build" -DCMAKE_INSTALL_PREFIX="$prefix" -DJOBTXN_BUILD_TESTS=OFF \
	-DJOBTXN_BUILD_BENCH=OFF -DJOBTXN_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$work/build" -j2 >/dev/null
cmake --install "$work/build" >/dev/null
for f in include/jobtxn.h lib/libjobtxn.so.0 lib/libjobtxn.so lib/libjobtxn.a \
	lib/pkgconfig/jobtxn.pc lib/cmake/jobtxn/jobtxnConfig.cmake; do
	[ -e "$prefix/$f" ] || { echo "missing after install: $f"; exit 1; }
done
# Only the public API is exported from the shared library.
if nm -D --defined-only "$prefix/lib/libjobtxn.so.0" | awk '$2 == "T" {print $3}' | grep -v '^jt_'; then
	echo "unexpected exported symbols"; exit 1
fi
# The static target names its dependencies as imported targets (found by
# find_dependency/pkg_check_modules in jobtxnConfig.cmake), never bare -l names.
links=$(sed -n 's/^ *INTERFACE_LINK_LIBRARIES "\(.*\)"$/\1/p' "$prefix/lib/cmake/jobtxn/jobtxnTargets.cmake")
[ -n "$links" ] || { echo "jobtxnTargets.cmake: no INTERFACE_LINK_LIBRARIES"; exit 1; }
for l in ${links//;/ }; do
	case $l in
	*::*) ;;
	*) echo "jobtxnTargets.cmake: bare link name '$l' (want an imported target)"; exit 1 ;;
	esac
done

cmake -S "$src/tests/install/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
	-DEXAMPLE_SOURCE="$example" >/dev/null
cmake --build "$work/consumer" >/dev/null
LD_LIBRARY_PATH=$prefix/lib "$work/consumer/consumer_shared" | grep -q "$expect"
"$work/consumer/consumer_static" | grep -q "$expect"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cc -o "$work/pc_shared" "$example" $(pkg-config --cflags --libs jobtxn) -lpthread
LD_LIBRARY_PATH=$prefix/lib "$work/pc_shared" | grep -q "$expect"
cc -o "$work/pc_static" "$example" $(pkg-config --cflags jobtxn) "$prefix/lib/libjobtxn.a" \
	$(pkg-config --static --libs-only-other --libs-only-l jobtxn | sed 's/-ljobtxn//') -lpthread
"$work/pc_static" | grep -q "$expect"
echo "install check: 4 consumers built and ran (find_package shared/static, pkg-config shared/static)"
