#!/usr/bin/env bash
# Install the Debian packages jobtxn needs to build, test and benchmark.
# Idempotent and quiet when everything is present.
set -euo pipefail

packages=(
	cmake gcc make pkg-config liburcu-dev libjemalloc-dev # the library
	libcriterion-dev clang libclang-rt-14-dev             # the tests, the fuzzer
	libuv1-dev libglib2.0-dev                             # the event-loop examples, the libuv peer
	libtbb-dev                                            # the oneTBB peer (bench/tbb_peer.cc)
	liburing-dev                                          # the io_uring adapter (libjobtxn_uring)
	systemtap-sdt-dev                                     # USDT probes
	groff-base                                            # the man page check
	gnuplot-nox valgrind strace                           # the benchmark report
	spin                                                  # the protocol models (tests/model)
	build-essential debhelper dpkg-dev lintian            # the Debian packages (scripts/check-deb.sh)
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
