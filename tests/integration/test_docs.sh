#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The man pages cover the programs: every object, command and keyword of the
# CLI (read from its own help output by tools/cli-words.sh), every option of
# sluiced --help and every key of the example YAML is named in doc/*.scd, and
# each page converts with scdoc. Needs no root: nothing is started.
set -u
BUILD=${BUILD:-build}
. "$(dirname "$0")/tap.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The words of a page: scdoc markup (*bold*, _underline_, \ escapes) removed.
page_words() {
	sed 's/[*\\]//g' "$1" | tr -c 'A-Za-z0-9_.-' '\n' | sed 's/^[_.]*//;s/[_.]*$//' | sort -u
}
# The lines of a page without markup (for "sluice OBJECT COMMAND").
page_text() {
	sed 's/[*\\]//g;s/\b_//g;s/_\b//g' "$1"
}

# missing PAGE < cli-words: print the words the page does not name.
missing() {
	page_words "$1" >"$tmp/words"
	page_text "$1" >"$tmp/text"
	while read -r kind a b; do
		case $kind in
		opt | obj) w=$a ;;
		kw) w=$b ;;
		cmd)
			if [ "$b" != help ] && ! grep -Eq "sluice $a $b( |$)" "$tmp/text"; then
				echo "sluice $a $b"
			fi
			continue
			;;
		*) continue ;;
		esac
		grep -qxF -- "$w" "$tmp/words" || echo "$kind ${a}${b:+ $b}"
	done
}

for page in doc/*.scd; do
	if scdoc <"$page" >"$tmp/page" 2>"$tmp/err" && [ -s "$tmp/page" ]; then
		tap_ok "$(basename "$page" .scd): scdoc converts it"
	else
		tap_fail "$(basename "$page" .scd): scdoc converts it" "$(cat "$tmp/err")"
	fi
done

bash tools/cli-words.sh "$BUILD/sluice" >"$tmp/cli" 2>"$tmp/err"
n=$(grep -c '^kw ' "$tmp/cli")
if [ "$(grep -c '^obj ' "$tmp/cli")" -ge 10 ] && [ "$n" -ge 50 ]; then
	tap_ok "cli-words reads objects, commands and $n keywords from sluice help"
else
	tap_fail "cli-words reads objects, commands and keywords from sluice help" \
		"$(cat "$tmp/err")" "$(head -5 "$tmp/cli")"
fi

out=$(missing doc/sluice.8.scd <"$tmp/cli")
if [ -z "$out" ]; then
	tap_ok "sluice(8) names every object, command and keyword of the CLI"
else
	tap_fail "sluice(8) names every object, command and keyword of the CLI" \
		"not in doc/sluice.8.scd:" $out
fi

# The check is not vacuous: a page without one keyword and one command fails it.
sed 's/weight//g;s/sluice backend drain//' doc/sluice.8.scd >"$tmp/cut.scd"
out=$(missing "$tmp/cut.scd" <"$tmp/cli")
if echo "$out" | grep -q 'kw backend weight' && echo "$out" | grep -q 'sluice backend drain'; then
	tap_ok "the coverage check reports a keyword and a command a page leaves out"
else
	tap_fail "the coverage check reports a keyword and a command a page leaves out" "$out"
fi

# sluiced's options, from its --help.
"$BUILD/sluiced" --help 2>&1 | grep -oE -- '(^| )--?[a-z][a-z-]*' | tr -d ' ' | sort -u |
	sed 's/^/opt /' >"$tmp/daemon"
out=$(missing doc/sluiced.8.scd <"$tmp/daemon")
if [ -s "$tmp/daemon" ] && [ -z "$out" ]; then
	tap_ok "sluiced(8) names every option of sluiced --help ($(wc -l <"$tmp/daemon"))"
else
	tap_fail "sluiced(8) names every option of sluiced --help" "not in it:" $out
fi

# The YAML keys: every key of the example (commented ones too, and the
# keys of inline mappings such as tls: {ca: ..., cert: ...}).
sed 's/#.*:/&/' tools/sluiced.example.yaml |
	grep -oE '(^|[{,] *|^ *#? *-? *)[a-z][a-z0-9-]*:( |$)' |
	sed -E 's/^[ #{,-]*//;s/:.*//' | sort -u | sed 's/^/opt /' >"$tmp/keys"
out=$(missing doc/sluiced.yaml.5.scd <"$tmp/keys")
if [ "$(wc -l <"$tmp/keys")" -ge 50 ] && [ -z "$out" ]; then
	tap_ok "sluiced.yaml(5) names every key of the example config ($(wc -l <"$tmp/keys"))"
else
	tap_fail "sluiced.yaml(5) names every key of the example config" "not in it:" $out
fi

finish
