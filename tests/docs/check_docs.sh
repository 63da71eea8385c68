#!/usr/bin/env bash
# Keeps the Markdown documentation from drifting:
# - every relative link and image in README.md and docs/*.md names a file
#   that exists, and every #anchor a heading of that file (GitHub's anchor
#   rule: lower case, punctuation dropped, spaces to hyphens, -1, -2 ... for
#   repeats);
# - README.md is at most README_MAX_LINES lines (the newcomer's five minutes;
#   depth goes to docs/), and links every docs/*.md;
# - every commit a doc names (a hexadecimal name of 7 to 40 digits in
#   backquotes, as figures name their source) exists, when the source tree
#   is a full git clone.
# Usage: check_docs.sh SOURCE_DIR
set -euo pipefail
cd "$1"
README_MAX_LINES=150
fail=0
docs=(README.md docs/*.md)

# anchors FILE: the anchor of every heading outside code fences, one a line.
anchors() {
	awk '
		/^```/ { fence = !fence; next }
		fence || !/^#+ / { next }
		{
			h = $0
			sub(/^#+ +/, "", h)
			h = tolower(h)
			gsub(/[^a-z0-9 _-]/, "", h)
			gsub(/ /, "-", h)
			n = seen[h]++
			print (n ? h "-" n : h)
		}
	' "$1"
}

# links FILE: the target of every Markdown link or image outside code fences.
links() {
	awk '
		/^```/ { fence = !fence; next }
		fence { next }
		{
			line = $0
			gsub(/`[^`]*`/, "", line) # code spans hold no links
			while (match(line, /\]\([^) ]+\)/)) {
				print substr(line, RSTART + 2, RLENGTH - 3)
				line = substr(line, RSTART + RLENGTH)
			}
		}
	' "$1"
}

for doc in "${docs[@]}"; do
	dir=$(dirname "$doc")
	while read -r target; do
		case $target in
		http://* | https://* | mailto:*) continue ;;
		esac
		file=${target%%#*}
		anchor=""
		[[ $target == *#* ]] && anchor=${target#*#}
		if [ -z "$file" ]; then
			path=$doc
		else
			path=$dir/$file
		fi
		if [ ! -e "$path" ]; then
			echo "$doc: link to $target: no file $path"
			fail=1
			continue
		fi
		if [ -n "$anchor" ] && ! anchors "$path" | grep -qxF -- "$anchor"; then
			echo "$doc: link to $target: no heading with anchor #$anchor in $path"
			fail=1
		fi
	done < <(links "$doc")
done

lines=$(wc -l <README.md)
if [ "$lines" -gt "$README_MAX_LINES" ]; then
	echo "README.md: $lines lines, more than $README_MAX_LINES: move the depth to docs/"
	fail=1
fi
for doc in docs/*.md; do
	links README.md | grep -q -e "^$doc\$" -e "^$doc#" || { echo "README.md does not link $doc"; fail=1; }
done

commits=0
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 &&
	[ "$(git rev-parse --is-shallow-repository)" = false ]; then
	for c in $(grep -ohE '`[0-9a-f]{7,40}`' "${docs[@]}" | tr -d '`' | sort -u); do
		commits=$((commits + 1))
		git cat-file -e "$c^{commit}" 2>/dev/null || { echo "no commit $c (named as a figure's source)"; fail=1; }
	done
fi
[ $fail -eq 0 ] && echo "docs: ${#docs[@]} files, links and anchors resolve; README.md $lines lines;" \
	"$commits cited commits exist"
exit $fail
