#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The words of the sluice CLI, read from its own help output (so they follow
# the command tables wherever they live), one per line:
#   opt WORD              a global option (--json, -j, ...)
#   obj OBJECT            an object (sluice help: OBJECT := { ... })
#   cmd OBJECT COMMAND    a command (sluice OBJECT help: its Usage lines)
#   kw OBJECT WORD        a keyword or value of the object's commands: the
#                         lowercase words of its Usage lines after the
#                         command, and those inside { } in its grammar
#                         (NAME := { mode MODE | ... })
#   pos OBJECT COMMAND ARG...  the positional arguments of a Usage line
#                         (- for an object without commands): its upper-case
#                         words that are not a keyword's value, SERVICE as
#                         ADDR PORT PROTO
# The man-page coverage test and the bash completion are built from this.
# Usage: tools/cli-words.sh [SLUICE]   (default: build/sluice)
set -eu
sluice=${1:-${BUILD:-build}/sluice}

# Global options: the OPTIONS block of 'sluice help'.
"$sluice" help | awk '
	/^OPTIONS/ { on = 1; next }
	on && /^$/ { exit }
	on && /^  -/ {
		n = split($0, w, /[ ,]+/)
		for (i = 1; i <= n; i++)
			if (w[i] ~ /^--?[a-z][a-z-]*$/)
				print "opt " w[i]
	}'

objects=$("$sluice" help | awk '
	/^OBJECT *:=/ { on = 1 }
	on {
		line = $0
		sub(/^OBJECT *:=/, "", line)
		gsub(/[{}|]/, " ", line)
		n = split(line, w, " ")
		for (i = 1; i <= n; i++)
			print w[i]
		if ($0 ~ /}/)
			exit
	}')

for obj in $objects; do
	echo "obj $obj"
	case $obj in
	help | version) continue ;;
	esac
	"$sluice" "$obj" help | awk -v obj="$obj" '
		function words(text, kind,    n, i, w) {
			gsub(/[][{}|,.;()=]/, " ", text)
			n = split(text, w, " ")
			for (i = 1; i <= n; i++)
				if (w[i] ~ /^(--)?[a-z0-9][a-z0-9-]*[a-z0-9]$/ && w[i] ~ /[a-z]/ &&
				    !seen[kind, w[i]]++)
					print kind " " obj " " w[i]
		}
		function positional(cmd, text,    n, i, w, out, prev) {
			gsub(/\.\.\./, " ", text)
			gsub(/[][{}|,]/, " & ", text)
			n = split(text, w, " ")
			out = ""
			prev = ""
			for (i = 1; i <= n; i++) {
				# A keyword value (rate PPS) or a list item (,TYPE) is not positional.
				if (w[i] ~ /^[A-Z][A-Z0-9_]*$/ && prev !~ /^-*[a-z]/ && prev != ",")
					out = out " " (w[i] == "SERVICE" ? "ADDR PORT PROTO" : w[i])
				if (w[i] != "[" || prev != ",")
					prev = w[i] ~ /^[][{}|]$/ ? "" : w[i]
			}
			if (!seen["pos", cmd]++)
				print "pos " obj " " cmd out
		}
		# Usage block: "Usage: sluice OBJ CMD ARGS" and "       sluice OBJ CMD ARGS".
		/^Usage:/ { usage = 1 }
		usage && /^(Usage:)? +sluice / {
			line = $0
			sub(/^(Usage:)? *sluice +/, "", line)
			n = split(line, w, " ")
			if (w[1] != obj)
				next
			start = 2
			if (n >= 2 && w[2] ~ /^[a-z][a-z-]*$/) {
				if (!seen["cmd", w[2]]++)
					print "cmd " obj " " w[2]
				start = 3
			}
			rest = ""
			for (i = start; i <= n; i++)
				rest = rest " " w[i]
			words(rest, "kw")
			positional(start == 3 ? w[2] : "-", rest)
			next
		}
		# A continuation of a usage line (deeper indent, a [ or {).
		usage && /^ {8,}[[{]/ { words($0, "kw"); next }
		/^$/ { usage = 0 }
		# Grammar: NAME := ..., continued while braces are open.
		/^[A-Z][A-Z0-9_]* *:=/ { grammar = 1; depth = 0; text = "" }
		grammar {
			line = $0
			if (text == "")
				sub(/^[A-Z][A-Z0-9_]* *:=/, "", line)
			for (i = 1; i <= length(line); i++) {
				c = substr(line, i, 1)
				if (c == "{")
					depth++
				else if (c == "}")
					depth--
				else if (depth > 0)
					text = text c
				else
					text = text " "
			}
			text = text " "
			if (depth <= 0) {
				grammar = 0
				words(text, "kw")
			}
		}'
done
