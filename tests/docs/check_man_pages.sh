#!/usr/bin/env bash
# Every public function libjobtxn.so exports (version node JOBTXN_0; the
# private hooks of JOBTXN_PRIVATE_0 have none) has a man3 page (generated from
# include/jobtxn.h) whose NAME line names it; jobtxn(3) lists it; no page
# documents a function the library does not export; groff formats every page
# without a warning. Usage: check_man_pages.sh LIBRARY MAN3_DIR [NODE PAGE]
# (the io_uring adapter: libjobtxn_uring.so, node JOBTXN_URING_0, overview
# page jobtxn_uring).
set -euo pipefail
lib=$1
dir=$2
node=${3:-JOBTXN_0}
overview=${4:-jobtxn}
fail=0

exported=$(nm -D --defined-only "$lib" | awk -v node="@@$node" '$2 == "T" && substr($3, length($3) - length(node) + 1) == node {sub(/@.*/, "", $3); print $3}' | sort)
[ -n "$exported" ] || { echo "no exported functions in $lib"; exit 1; }
[ -f "$dir/$overview.3" ] || { echo "missing $dir/$overview.3"; exit 1; }
for f in $exported; do
	page=$dir/$f.3
	if [ ! -f "$page" ]; then
		echo "$f: exported, no page $page"
		fail=1
		continue
	fi
	grep -A1 '^\.SH NAME' "$page" | grep -q "^$f \\\\- ." || { echo "$page: NAME does not name $f"; fail=1; }
	grep -qx "\.BR $f (3)" "$dir/$overview.3" || { echo "$overview.3 does not list $f"; fail=1; }
done
for page in "$dir"/*.3; do
	name=$(basename "$page" .3)
	[ "$name" = "$overview" ] && continue
	grep -qx "$name" <<<"$exported" || { echo "$page: documents $name, which is not exported"; fail=1; }
done
for page in "$dir"/*.3; do
	warnings=$(groff -man -ww -z "$page" 2>&1)
	[ -z "$warnings" ] || { echo "$page: $warnings"; fail=1; }
done
[ $fail -eq 0 ] && echo "man pages: $(wc -w <<<"$exported") exported functions, each with its page"
exit $fail
