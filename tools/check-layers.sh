#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Layer check (make check): every #include "x.h" of the library and the tools
# must point down the layers (README "Architecture") or stay in its own folder.
#
#   rank 0  maps/                  the map ABI
#   rank 1  userspace/core/        pure logic: no maps, no I/O
#   rank 2  loader/                skeleton, pins, links
#   rank 3  userspace/dataplane/   typed map access and the map writers
#   rank 3  userspace/net/         etcd, health checks, VIP, control protocol
#   rank 4  userspace/cmd/         the typed write commands
#   rank 5  userspace/state/       desired state, config, journal
#   rank 6  tools/<tool>/          one program each; never one another's files
#
# Folders of one rank do not include each other (dataplane and net are
# siblings). A header given with a path ("../x.h") is refused: folders are
# on the include path, and a path is how a layer gets skipped unseen.
# Then no module may include itself through others (below).
# Prints every offending line; exits 1 if there is one.
set -u
cd "$(dirname "$0")/.."

rank_of() {
	case $1 in
	maps) echo 0 ;;
	userspace/core) echo 1 ;;
	loader) echo 2 ;;
	userspace/dataplane | userspace/net) echo 3 ;;
	userspace/cmd) echo 4 ;;
	userspace/state) echo 5 ;;
	tools/*) echo 6 ;;
	*) echo "" ;;
	esac
}

SEARCH="maps userspace/core loader userspace/dataplane userspace/net userspace/cmd userspace/state"
bad=0
files=$(git ls-files 'userspace/*.[ch]' 'loader/*.[ch]' 'tools/*.[ch]' 2>/dev/null ||
	find userspace loader tools -name '*.[ch]')
for f in $files; do
	case $f in *.bpf.c) continue ;; esac
	dir=$(dirname "$f")
	r=$(rank_of "$dir")
	[ -n "$r" ] || {
		echo "check-layers: $f: folder $dir has no layer (add it to tools/check-layers.sh)"
		bad=1
		continue
	}
	grep -n '^#include "' "$f" | while IFS= read -r line; do
		h=$(echo "$line" | sed 's/^[0-9]*:#include "\([^"]*\)".*/\1/')
		n=${line%%:*}
		case $h in
		*/*)
			echo "check-layers: $f:$n: includes \"$h\" by path; name the header alone"
			echo x
			continue
			;;
		*.skel.h)
			case $dir in loader | tools/bench) continue ;; esac
			echo "check-layers: $f:$n: includes the skeleton $h; only the loader opens it"
			echo x
			continue
			;;
		esac
		[ -f "$dir/$h" ] && continue
		# The benchmark drives the programs with the tests' packet builder.
		if [ "$dir" = tools/bench ] && [ -f "tests/lib/$h" ]; then
			continue
		fi
		t=""
		for d in $SEARCH; do
			if [ -f "$d/$h" ]; then
				t=$d
				break
			fi
		done
		if [ -z "$t" ]; then
			echo "check-layers: $f:$n: \"$h\" is in no layer folder"
			echo x
			continue
		fi
		tr=$(rank_of "$t")
		if [ "$tr" -gt "$r" ]; then
			echo "check-layers: $f:$n: includes $t/$h, a layer above $dir"
			echo x
		elif [ "$tr" -eq "$r" ]; then
			echo "check-layers: $f:$n: includes $t/$h, a sibling of $dir (same layer)"
			echo x
		fi
	done
done >"${TMPDIR:-/tmp}/check-layers.$$"
grep -v '^x$' "${TMPDIR:-/tmp}/check-layers.$$"
grep -q '^x$' "${TMPDIR:-/tmp}/check-layers.$$" && bad=1
rm -f "${TMPDIR:-/tmp}/check-layers.$$"
if [ "$bad" -ne 0 ]; then
	echo "check-layers: includes must point down the layers (see the README's Architecture)"
else
	echo "check-layers: every include points down"
fi

# No cycles between modules either, inside a folder included. A module is a
# file stem (svc.c and svc.h are one module; a private header foo_int.h is
# module foo's, shared by the files it is split into); an edge is "module
# includes another module's header". tsort names every loop it meets on stderr.
edges=$(find userspace loader -name '*.[ch]' ! -name '*.bpf.c' | sort | while IFS= read -r f; do
	m=$(basename "$f")
	m=${m%.[ch]}
	m=${m%_int}
	sed -n 's/^#include "\([^"]*\)\.h".*/\1/p' "$f" | while IFS= read -r h; do
		h=${h##*/}
		# Only headers of library modules: the ABI and skeletons below take part in no loop.
		[ -n "$(find userspace loader -name "$h.h" | head -n 1)" ] || continue
		h=${h%_int}
		[ "$h" = "$m" ] && continue
		echo "$h $m"
	done
done | sort -u)
loops=$(printf '%s\n' "$edges" | tsort 2>&1 >/dev/null |
	awk '/input contains a loop/ { if (l != "") print l; l = "check-layers: modules in an include loop:"; next }
	     { sub(/^tsort: /, ""); l = l " " $0 } END { if (l != "") print l }')
if [ -n "$loops" ]; then
	printf '%s\n' "$loops"
	echo "check-layers: make one of them call down only (README \"Architecture\")"
	bad=1
else
	echo "check-layers: no module includes itself through others"
fi
exit "$bad"
