#!/usr/bin/env bash
# Build the Debian packages (debian/) with `dpkg-buildpackage -us -uc -b`,
# check them with lintian (no error allowed), install them on this machine
# with dpkg, check them as their consumers see them
# (tests/install/check_consumers.sh against /usr: files, exports, man pages,
# every example built and run four ways), check that the packaged library
# kept its USDT probes, then purge them again, whatever happened.
# Run by scripts/test.sh; needs root or sudo for dpkg -i (as
# scripts/install-deps.sh does). Everything it writes is under build-deb/.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
out=$src/build-deb
packages=(libjobtxn0 libjobtxn-dev libjobtxn-uring0 libjobtxn-uring-dev)
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo="sudo"
fi

# Build in a copy of the tree (tracked and untracked files, not ignored
# ones): dpkg-buildpackage writes its results into the parent directory.
rm -rf "$out"
mkdir -p "$out/src"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$out/src"
# Check level 2: a symbol the library exports that debian/libjobtxn0.symbols
# does not list (a new jt_* function) fails the build, like one it lost.
echo "debian: dpkg-buildpackage -us -uc -b"
if ! (cd "$out/src" && DPKG_GENSYMBOLS_CHECK_LEVEL=2 dpkg-buildpackage -us -uc -b) >"$out/dpkg-buildpackage.log" 2>&1; then
	tail -n 60 "$out/dpkg-buildpackage.log"
	echo "dpkg-buildpackage failed (log: $out/dpkg-buildpackage.log)" >&2
	exit 1
fi
ls "$out"/*.deb | sed "s|^$out/|  |"
echo "debian: lintian"
# (lintian's own notice about running as root is dropped; CI runs as root.)
lintian --fail-on error "$out"/jobtxn_*.changes 2> >(grep -v '^running with root privileges' >&2)

# Install, check, purge. A package left over by an interrupted run is purged
# first.
purge() {
	$sudo dpkg --purge "${packages[@]}" >/dev/null
}
for p in "${packages[@]}"; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		echo "debian: $p is installed already (an earlier run?): purging it first"
		purge
		break
	fi
done
trap purge EXIT
echo "debian: dpkg -i ${packages[*]}"
$sudo dpkg -i "$out"/libjobtxn0_*.deb "$out"/libjobtxn-dev_*.deb "$out"/libjobtxn-uring0_*.deb \
	"$out"/libjobtxn-uring-dev_*.deb >/dev/null
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
tests/install/check_consumers.sh /usr "/usr/lib/$multiarch" "$src" "$out/consumers"
tests/usdt/check_probes.sh "/usr/lib/$multiarch/libjobtxn.so.0"
