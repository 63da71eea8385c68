#!/usr/bin/env bash
# The USDT probes of txn/trace.h are in the library: `readelf -n` lists a
# stapsdt note (provider jobtxn) for each, with the documented number of
# arguments, at every call site. Usage: check_probes.sh LIBRARY
set -euo pipefail
lib=$1
notes=$(readelf -n "$lib")
# name:arguments, as in the table of txn/trace.h
expected=(txn_begin:3 txn_commit:4 job_complete:3 txn_ready:1 txn_retire:3)

fail=0
for e in "${expected[@]}"; do
	name=${e%%:*}
	nargs=${e##*:}
	# Each note: "Provider: jobtxn", "Name: NAME", ..., "Arguments: A B C".
	sites=$(awk -v name="$name" '
		/Provider:/ { prov = $2 }
		/Name:/ { cur = $2 }
		/Arguments:/ { if (prov == "jobtxn" && cur == name) print NF - 1 }
	' <<<"$notes")
	if [ -z "$sites" ]; then
		echo "missing probe jobtxn:$name in $lib"
		fail=1
		continue
	fi
	for n in $sites; do
		if [ "$n" != "$nargs" ]; then
			echo "jobtxn:$name has $n arguments at a call site, expected $nargs"
			fail=1
		fi
	done
	echo "jobtxn:$name: $(wc -w <<<"$sites") call site(s), $nargs argument(s)"
done
# No probe of provider jobtxn that the table does not list.
extra=$(awk '/Provider:/ { prov = $2 } /Name:/ { if (prov == "jobtxn") print $2 }' <<<"$notes" |
	sort -u | grep -vxE "$(printf '%s|' "${expected[@]%%:*}" | sed 's/|$//')" || true)
if [ -n "$extra" ]; then
	echo "undocumented probes: $extra"
	fail=1
fi
exit $fail
