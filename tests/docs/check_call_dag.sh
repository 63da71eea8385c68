#!/usr/bin/env bash
# Files in a folder call one way: the calls from each .c file of FOLDER to
# functions (and objects) defined in the folder's other .c files must form
# a DAG. Read from the compiled objects with nm, not from the source: an
# edge A -> B is a symbol that A's object leaves undefined and B's object
# defines. So a call made through a static inline function of a header
# counts for the file that uses the inline function, a function whose
# address is taken counts as called, and a macro or a comment cannot hide
# or fake an edge.
#
# Prints the folder's edges (with the symbols behind each) and, for a
# circle, the files in order with the symbols of each step; exits 1 if
# there is one, 0 if not, 2 on bad use (e.g. a .c file without its object).
#
#   check_call_dag.sh FOLDER BUILD_DIR   FOLDER: a source folder (e.g. uring,
#                                        txn); its objects are looked up in
#                                        BUILD_DIR (CMake's layout:
#                                        CMakeFiles/<target>.dir/FOLDER/x.c.o
#                                        or FOLDER/CMakeFiles/<target>.dir/x.c.o)
#   check_call_dag.sh --objects OBJ...   these object files, named by their
#                                        file name without .o
# CTest runs it on uring/ (tests/CMakeLists.txt); for txn/:
#   tests/docs/check_call_dag.sh txn build
set -euo pipefail

usage() {
	sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

objs=()
if [ $# -ge 1 ] && [ "$1" = --objects ]; then
	shift
	[ $# -ge 1 ] || usage
	objs=("$@")
elif [ $# -eq 2 ]; then
	folder=${1%/}
	build=${2%/}
	[ -d "$folder" ] && [ -d "$build" ] || usage
	repo=$(cd "$(dirname "$0")/../.." && pwd)
	rel=$(realpath --relative-to="$repo" "$folder")
	# Every object of the folder's sources, from one target (the first in
	# name order that has any: the same file may be built by several).
	mapfile -t found < <(find "$build" \( -path "$build/CMakeFiles/*.dir/$rel/*.c.o" \
		-o -path "$build/$rel/CMakeFiles/*.dir/*.c.o" \) -type f | sort)
	[ ${#found[@]} -gt 0 ] || { echo "check_call_dag.sh: no object of $rel/ in $build (build it first)" >&2; exit 2; }
	target_dir=${found[0]%/*}
	for src in "$folder"/*.c; do
		obj="$target_dir/$(basename "$src").o"
		[ -f "$obj" ] || { echo "check_call_dag.sh: $src has no object in $target_dir" >&2; exit 2; }
		objs+=("$obj")
	done
else
	usage
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# defs: "file symbol" for each global symbol an object defines; uses:
# "file symbol" for each it leaves undefined.
for o in "${objs[@]}"; do
	f=$(basename "$o" .o)
	nm -P --defined-only "$o" | awk -v f="$f" '$2 ~ /^[A-Z]$/ { print f, $1 }' >>"$tmp/defs"
	nm -P --undefined-only "$o" | awk -v f="$f" '{ print f, $1 }' >>"$tmp/uses"
done
touch "$tmp/defs" "$tmp/uses"

# edges: "from to symbol[,symbol...]", then a depth-first search for a
# back edge (each closes a circle).
awk '
	FNR == NR { owner[$2] = $1; next }
	($2 in owner) && owner[$2] != $1 {
		k = $1 SUBSEP owner[$2]
		if (k in syms)
			syms[k] = syms[k] "," $2
		else
			syms[k] = $2
	}
	END {
		for (k in syms) {
			split(k, p, SUBSEP)
			print p[1], p[2], syms[k]
		}
	}
' "$tmp/defs" "$tmp/uses" | sort >"$tmp/edges"

awk '
	{
		from = $1; to = $2
		node[from] = 1; node[to] = 1
		adj[from] = adj[from] " " to
		syms[from, to] = $3
		printf "  %s -> %s (%s)\n", from, to, $3
	}
	# Depth-first; every back edge closes a circle: the search path from
	# the target of the edge to its source. Each is printed, each step with its
	# symbols.
	function visit(n,    i, m, succ, k, c, a, b) {
		state[n] = 1
		path[++depth] = n
		m = split(adj[n], succ, " ")
		for (i = 1; i <= m; i++) {
			if (state[succ[i]] == 1) {
				for (k = 1; path[k] != succ[i]; k++)
					;
				printf "circle:"
				for (c = k; c <= depth; c++)
					printf " %s ->", path[c]
				printf " %s\n", succ[i]
				for (c = k; c <= depth; c++) {
					a = path[c]
					b = c < depth ? path[c + 1] : succ[i]
					printf "    %s -> %s: %s\n", a, b, syms[a, b]
				}
				circles++
			} else if (state[succ[i]] == 0) {
				visit(succ[i])
			}
		}
		state[n] = 2
		depth--
	}
	END {
		# In name order, so that the output is the same each run.
		m = 0
		for (n in node)
			order[++m] = n
		for (i = 2; i <= m; i++)
			for (k = i; k > 1 && order[k - 1] > order[k]; k--) {
				c = order[k]; order[k] = order[k - 1]; order[k - 1] = c
			}
		for (i = 1; i <= m; i++)
			if (state[order[i]] == 0)
				visit(order[i])
		if (circles) {
			printf "%d circle(s): the calls between these files do not go one way\n", circles
			exit 1
		}
		print "no circle: the calls between the files go one way"
	}
' "$tmp/edges"
