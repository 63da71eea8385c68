#!/usr/bin/env bash
# Check an installed jobtxn: its files, the symbols the shared library
# exports, the man pages, then build and run every example (examples/*.c)
# against it four ways: find_package (shared and static) and pkg-config
# (shared and static). Each example checks its own outcome (exit status);
# the shared builds must load the libjobtxn.so.0 of LIBDIR, the static ones
# none.
# Usage: check_consumers.sh PREFIX LIBDIR SOURCE_DIR SCRATCH_DIR
#   PREFIX      where jobtxn is installed (a scratch prefix, or /usr for the
#               Debian packages)
#   LIBDIR      its library directory (PREFIX/lib, /usr/lib/<triplet>)
# Used by check_install.sh (a scratch `cmake --install`) and
# scripts/check-deb.sh (the installed Debian packages).
set -euo pipefail
prefix=$1
libdir=$2
src=$3
work=$4
rm -rf "$work"
mkdir -p "$work"
expect="backup: all jobs finished, status 0"

for f in "$prefix/include/jobtxn.h" "$libdir/libjobtxn.so.0" "$libdir/libjobtxn.so" \
	"$libdir/libjobtxn.a" "$libdir/pkgconfig/jobtxn.pc" "$libdir/cmake/jobtxn/jobtxnConfig.cmake" \
	"$libdir/cmake/jobtxn/jobtxnConfigVersion.cmake"; do
	[ -e "$f" ] || { echo "missing after install: $f"; exit 1; }
done
# Only the public API is exported from the shared library, plus the io_uring
# adapter's private hooks under their own version node (txn/job_hook.h).
if nm -D --defined-only "$libdir/libjobtxn.so.0" | awk '$2 == "T" {print $3}' |
	grep -v -e '^jt_[a-z_]*@@JOBTXN_0$' -e '^jt_private_[a-z_]*@@JOBTXN_PRIVATE_0$'; then
	echo "unexpected exported symbols"; exit 1
fi
# Each public function's man page is installed (tests/docs checks their content).
for f in jobtxn $(nm -D --defined-only "$libdir/libjobtxn.so.0" |
	awk '$2 == "T" && $3 ~ /@@JOBTXN_0$/ {sub(/@.*/, "", $3); print $3}'); do
	[ -f "$prefix/share/man/man3/$f.3" ] || [ -f "$prefix/share/man/man3/$f.3.gz" ] ||
		{ echo "missing after install: share/man/man3/$f.3"; exit 1; }
done
# The static target names its dependencies as imported targets (found by
# find_dependency/pkg_check_modules in jobtxnConfig.cmake), never bare -l names.
links=$(sed -n 's/^ *INTERFACE_LINK_LIBRARIES "\(.*\)"$/\1/p' "$libdir/cmake/jobtxn/jobtxnTargets.cmake")
[ -n "$links" ] || { echo "jobtxnTargets.cmake: no INTERFACE_LINK_LIBRARIES"; exit 1; }
for l in ${links//;/ }; do
	case $l in
	*::*) ;;
	*) echo "jobtxnTargets.cmake: bare link name '$l' (want an imported target)"; exit 1 ;;
	esac
done

# pkg-config: this installation first, then the system's own modules (the
# dependencies), never another jobtxn.pc (a /usr/local one would shadow /usr).
export PKG_CONFIG_LIBDIR="$libdir/pkgconfig:$(pkg-config --variable pc_path pkg-config |
	tr ':' '\n' | grep -v '^/usr/local/' | paste -sd:)"
[ "$(pkg-config --variable=libdir jobtxn)" = "$libdir" ] ||
	{ echo "pkg-config finds jobtxn in $(pkg-config --variable=libdir jobtxn), not $libdir"; exit 1; }

examples=(hello_txn group_commit backup event_loop_epoll event_loop_uv event_loop_glib)
run() { # NAME BINARY: run it, and for the README example check its line too
	local out
	out=$(LD_LIBRARY_PATH=$libdir "$2") || { echo "$2 failed: $out"; exit 1; }
	if [ "$1" = hello_txn ] && ! grep -q "$expect" <<<"$out"; then
		echo "$2: unexpected output: $out"; exit 1
	fi
}
loads() { # BINARY: the libjobtxn.so.0 it loads ("" for none)
	LD_LIBRARY_PATH=$libdir ldd "$1" | awk '$1 == "libjobtxn.so.0" {print $3}'
}
check_shared() {
	[ "$(loads "$1")" = "$libdir/libjobtxn.so.0" ] ||
		{ echo "$1 loads '$(loads "$1")', not $libdir/libjobtxn.so.0"; exit 1; }
}
check_static() {
	[ -z "$(loads "$1")" ] || { echo "$1 links libjobtxn.so"; exit 1; }
}
extra_pkgs() { # EXAMPLE: the pkg-config modules it needs besides jobtxn
	case $1 in
	event_loop_uv) echo libuv ;;
	event_loop_glib) echo glib-2.0 ;;
	esac
}

cmake -S "$src/tests/install/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
	-DEXAMPLES_DIR="$src/examples" >/dev/null
cmake --build "$work/consumer" -j2 >/dev/null
for e in "${examples[@]}"; do
	check_shared "$work/consumer/${e}_shared"
	run "$e" "$work/consumer/${e}_shared"
	check_static "$work/consumer/${e}_static"
	run "$e" "$work/consumer/${e}_static"
done

for e in "${examples[@]}"; do
	extra=()
	pkgs=$(extra_pkgs "$e")
	[ -n "$pkgs" ] && extra=($(pkg-config --cflags --libs $pkgs))
	cc -o "$work/pc_${e}_shared" "$src/examples/$e.c" $(pkg-config --cflags --libs jobtxn) \
		"${extra[@]}" -lpthread
	check_shared "$work/pc_${e}_shared"
	run "$e" "$work/pc_${e}_shared"
	cc -o "$work/pc_${e}_static" "$src/examples/$e.c" $(pkg-config --cflags jobtxn) \
		"$libdir/libjobtxn.a" \
		$(pkg-config --static --libs-only-other --libs-only-l jobtxn | sed 's/-ljobtxn//') \
		"${extra[@]}" -lpthread
	check_static "$work/pc_${e}_static"
	run "$e" "$work/pc_${e}_static"
done
# The io_uring adapter, installed wherever the build found liburing: its
# files, its exports (jt_uring_* only), its man pages, and its example built
# and run four ways (find_package jobtxn::uring / uring_static, pkg-config
# jobtxn-uring shared / --static). Exit 77 of the example: io_uring is
# unavailable at run time here.
uring=0
if pkg-config --exists liburing; then
	uring=1
	for f in "$prefix/include/jobtxn_uring.h" "$libdir/libjobtxn_uring.so.0" \
		"$libdir/libjobtxn_uring.so" "$libdir/libjobtxn_uring.a" "$libdir/pkgconfig/jobtxn-uring.pc" \
		"$libdir/cmake/jobtxn/jobtxnUringTargets.cmake"; do
		[ -e "$f" ] || { echo "missing after install: $f"; exit 1; }
	done
	if nm -D --defined-only "$libdir/libjobtxn_uring.so.0" | awk '$2 == "T" {print $3}' |
		grep -v '^jt_uring_[a-z_]*@@JOBTXN_URING_0$'; then
		echo "libjobtxn_uring: unexpected exported symbols"; exit 1
	fi
	for f in jobtxn_uring $(nm -D --defined-only "$libdir/libjobtxn_uring.so.0" |
		awk '$2 == "T" {sub(/@.*/, "", $3); print $3}'); do
		[ -f "$prefix/share/man/man3/$f.3" ] || [ -f "$prefix/share/man/man3/$f.3.gz" ] ||
			{ echo "missing after install: share/man/man3/$f.3"; exit 1; }
	done
	run_uring() { # BINARY
		local out rc=0
		out=$(LD_LIBRARY_PATH=$libdir "$1") || rc=$?
		if [ $rc -eq 77 ]; then
			echo "$1: io_uring unavailable here, skipped"
		elif [ $rc -ne 0 ] || ! grep -q "the failed batch is not named" <<<"$out"; then
			echo "$1 failed ($rc): $out"; exit 1
		fi
	}
	[ -x "$work/consumer/uring_group_commit_shared" ] ||
		{ echo "find_package(jobtxn COMPONENTS uring) did not find jobtxn::uring"; exit 1; }
	check_shared "$work/consumer/uring_group_commit_shared"
	run_uring "$work/consumer/uring_group_commit_shared"
	check_static "$work/consumer/uring_group_commit_static"
	run_uring "$work/consumer/uring_group_commit_static"
	cc -o "$work/pc_uring_shared" "$src/examples/uring_group_commit.c" \
		$(pkg-config --cflags --libs jobtxn-uring) -lpthread
	check_shared "$work/pc_uring_shared"
	run_uring "$work/pc_uring_shared"
	cc -o "$work/pc_uring_static" "$src/examples/uring_group_commit.c" \
		$(pkg-config --cflags jobtxn-uring) "$libdir/libjobtxn_uring.a" "$libdir/libjobtxn.a" \
		$(pkg-config --static --libs-only-other --libs-only-l jobtxn-uring |
			sed -e 's/-ljobtxn_uring\b//' -e 's/-ljobtxn\b//') -lpthread
	check_static "$work/pc_uring_static"
	run_uring "$work/pc_uring_static"
fi
echo "consumers of $libdir: ${#examples[@]} examples built and ran 4 ways each" \
	"(find_package shared/static, pkg-config shared/static)" \
	"$([ $uring = 1 ] && echo "+ uring_group_commit 4 ways")"
