#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The generated bash completion ($BUILD/completion/sluice): objects, commands
# and keywords for a few prefixes, and services and backends read from the
# pins of a private pin root (one nat service with a backend, one IPv6).
. "$(dirname "$0")/lib.sh"

require_env completion
COMPLETION=$BUILD/completion/sluice
if ! [ -r "$COMPLETION" ]; then
	tap_fail "completion built" "$COMPLETION missing: make docs"
	finish
	exit 1
fi
trap 'rm -rf "$SLUICE_PIN_ROOT"' EXIT
trap 'exit 130' INT TERM

# shellcheck disable=SC1090
. "$COMPLETION"
# The binary, not lib.sh's sluice function (which runs it in the lab's gateway).
unset -f sluice
PATH=$(dirname "$SLUICE"):$PATH

# expect "WORDS..." "EXPECTED": complete the last word of WORDS (may be
# empty) and compare the sorted candidates.
expect() {
	local -a words
	read -r -a words <<<"$1"
	[[ $1 == *" " ]] && words+=("")
	COMP_WORDS=("${words[@]}")
	COMP_CWORD=$((${#words[@]} - 1))
	COMPREPLY=()
	_sluice
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort -u | xargs)
	want=$(printf '%s\n' $2 | sort -u | xargs)
	if [ "$got" = "$want" ]; then
		tap_ok "complete '$1' -> $want"
	else
		tap_fail "complete '$1'" "want: $want" "got:  $got"
	fi
}

expect "sluice se" "service"
expect "sluice b" "backend bgp breaker bulkhead"
expect "sluice --js" "--json"
expect "sluice backend d" "del drain"
expect "sluice ser a" "add"
expect "sluice service add 192.0.2.99 80 tcp client-" "client-burst client-rate"
expect "sluice journal show type com" "command"
expect "sluice journal c" "compact"

opts=(--local --socket /nonexistent)
sluice "${opts[@]}" service add 192.0.2.10 80 tcp mode nat >/dev/null &&
	sluice "${opts[@]}" backend add 192.0.2.10 80 tcp 10.0.0.11 port 8080 >/dev/null &&
	sluice "${opts[@]}" backend add 192.0.2.10 80 tcp 10.0.0.12 >/dev/null &&
	sluice "${opts[@]}" service add 2001:db8::10 53 udp >/dev/null
check "services and backends added" test $? -eq 0

expect "sluice service show " "192.0.2.10 2001:db8::10"
expect "sluice service show 192.0.2.10 " "80"
expect "sluice service show 2001:db8::10 53 " "udp"
expect "sluice backend drain 192.0.2.10 80 tcp " "10.0.0.11 10.0.0.12"
expect "sluice backend add 192.0.2.10 80 tcp 10.0.0.13 " "port weight"
# The pins of --pin-root on the line, not the environment's.
pin=$SLUICE_PIN_ROOT
SLUICE_PIN_ROOT=/nonexistent expect "sluice --pin-root $pin breaker trip 192.0.2.10 80 tcp 10.0.0.1" \
	"10.0.0.11 10.0.0.12"
SLUICE_PIN_ROOT=/nonexistent expect "sluice service show 1" ""

finish
