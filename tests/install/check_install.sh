#!/usr/bin/env bash
# Install jobtxn into a scratch prefix, then build and run every example
# (examples/*.c) against it four ways: find_package (shared and static) and
# pkg-config (shared and static).
# Usage: check_install.sh SOURCE_DIR SCRATCH_DIR
set -euo pipefail
src=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
expect="backup: all jobs finished, status 0"

cmake -S "$src" -B "$work/build" -DCMAKE_INSTALL_PREFIX="$prefix" -DJOBTXN_BUILD_TESTS=OFF \
	-DJOBTXN_BUILD_BENCH=OFF -DJOBTXN_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$work/build" -j2 >/dev/null
cmake --install "$work/build" >/dev/null
for f in include/jobtxn.h lib/libjobtxn.so.0 lib/libjobtxn.so lib/libjobtxn.a \
	lib/pkgconfig/jobtxn.pc lib/cmake/jobtxn/jobtxnConfig.cmake; do
	[ -e "$prefix/$f" ] || { echo "missing after install: $f"; exit 1; }
done
# Only the public API is exported from the shared library, plus the io_uring
# adapter's private hooks under their own version node (txn/job_hook.h).
if nm -D --defined-only "$prefix/lib/libjobtxn.so.0" | awk '$2 == "T" {print $3}' |
	grep -v -e '^jt_[a-z_]*@@JOBTXN_0$' -e '^jt_private_[a-z_]*@@JOBTXN_PRIVATE_0$'; then
	echo "unexpected exported symbols"; exit 1
fi
# Each public function's man page is installed (tests/docs checks their content).
for f in jobtxn $(nm -D --defined-only "$prefix/lib/libjobtxn.so.0" |
	awk '$2 == "T" && $3 ~ /@@JOBTXN_0$/ {sub(/@.*/, "", $3); print $3}'); do
	[ -f "$prefix/share/man/man3/$f.3" ] || { echo "missing after install: share/man/man3/$f.3"; exit 1; }
done
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

# Every example, built four ways; each checks its own outcome (exit status).
examples=(hello_txn group_commit backup event_loop_epoll event_loop_uv)
run() { # NAME BINARY: run it, and for the README example check its line too
	local out
	out=$(LD_LIBRARY_PATH=$prefix/lib "$2") || { echo "$2 failed: $out"; exit 1; }
	if [ "$1" = hello_txn ] && ! grep -q "$expect" <<<"$out"; then
		echo "$2: unexpected output: $out"; exit 1
	fi
}

cmake -S "$src/tests/install/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
	-DEXAMPLES_DIR="$src/examples" >/dev/null
cmake --build "$work/consumer" -j2 >/dev/null
for e in "${examples[@]}"; do
	run "$e" "$work/consumer/${e}_shared"
	run "$e" "$work/consumer/${e}_static"
	# A static consumer does not load libjobtxn.so.
	if ldd "$work/consumer/${e}_static" | grep -q libjobtxn; then
		echo "${e}_static links libjobtxn.so"; exit 1
	fi
done

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
for e in "${examples[@]}"; do
	extra=()
	[ "$e" = event_loop_uv ] && extra=($(pkg-config --cflags --libs libuv))
	cc -o "$work/pc_${e}_shared" "$src/examples/$e.c" $(pkg-config --cflags --libs jobtxn) \
		"${extra[@]}" -lpthread
	run "$e" "$work/pc_${e}_shared"
	cc -o "$work/pc_${e}_static" "$src/examples/$e.c" $(pkg-config --cflags jobtxn) \
		"$prefix/lib/libjobtxn.a" \
		$(pkg-config --static --libs-only-other --libs-only-l jobtxn | sed 's/-ljobtxn//') \
		"${extra[@]}" -lpthread
	run "$e" "$work/pc_${e}_static"
done

# The io_uring adapter, installed when the build found liburing: its files,
# its exports (jt_uring_* only), its man pages, and its example built and
# run four ways (find_package jobtxn::uring / uring_static, pkg-config
# jobtxn-uring shared / --static). Exit 77 of the example: io_uring is
# unavailable at run time here.
uring=0
if pkg-config --exists liburing; then
	uring=1
	for f in include/jobtxn_uring.h lib/libjobtxn_uring.so.0 lib/libjobtxn_uring.so \
		lib/libjobtxn_uring.a lib/pkgconfig/jobtxn-uring.pc lib/cmake/jobtxn/jobtxnUringTargets.cmake \
		share/man/man3/jobtxn_uring.3; do
		[ -e "$prefix/$f" ] || { echo "missing after install: $f"; exit 1; }
	done
	if nm -D --defined-only "$prefix/lib/libjobtxn_uring.so.0" | awk '$2 == "T" {print $3}' |
		grep -v '^jt_uring_[a-z_]*@@JOBTXN_URING_0$'; then
		echo "libjobtxn_uring: unexpected exported symbols"; exit 1
	fi
	for f in $(nm -D --defined-only "$prefix/lib/libjobtxn_uring.so.0" |
		awk '$2 == "T" {sub(/@.*/, "", $3); print $3}'); do
		[ -f "$prefix/share/man/man3/$f.3" ] || { echo "missing after install: share/man/man3/$f.3"; exit 1; }
	done
	run_uring() { # BINARY
		local out rc=0
		out=$(LD_LIBRARY_PATH=$prefix/lib "$1") || rc=$?
		if [ $rc -eq 77 ]; then
			echo "$1: io_uring unavailable here, skipped"
		elif [ $rc -ne 0 ] || ! grep -q "the failed batch is not named" <<<"$out"; then
			echo "$1 failed ($rc): $out"; exit 1
		fi
	}
	[ -x "$work/consumer/uring_group_commit_shared" ] ||
		{ echo "find_package(jobtxn COMPONENTS uring) did not find jobtxn::uring"; exit 1; }
	run_uring "$work/consumer/uring_group_commit_shared"
	run_uring "$work/consumer/uring_group_commit_static"
	if ldd "$work/consumer/uring_group_commit_static" | grep -q libjobtxn; then
		echo "uring_group_commit_static links a libjobtxn*.so"; exit 1
	fi
	cc -o "$work/pc_uring_shared" "$src/examples/uring_group_commit.c" \
		$(pkg-config --cflags --libs jobtxn-uring) -lpthread
	run_uring "$work/pc_uring_shared"
	cc -o "$work/pc_uring_static" "$src/examples/uring_group_commit.c" \
		$(pkg-config --cflags jobtxn-uring) "$prefix/lib/libjobtxn_uring.a" "$prefix/lib/libjobtxn.a" \
		$(pkg-config --static --libs-only-other --libs-only-l jobtxn-uring |
			sed -e 's/-ljobtxn_uring\b//' -e 's/-ljobtxn\b//') -lpthread
	run_uring "$work/pc_uring_static"
fi
echo "install check: ${#examples[@]} examples built and ran 4 ways each" \
	"(find_package shared/static, pkg-config shared/static)" \
	"$([ $uring = 1 ] && echo "+ uring_group_commit 4 ways")"
