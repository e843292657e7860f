#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The CLI against real pinned maps: every wrong argument exits non-zero with
# a message and changes nothing; -j everywhere gives JSON (errors too); help
# exists for every object; IPv4 and IPv6 services round-trip through show.
. "$(dirname "$0")/lib.sh"

require_env cli
lab_up_test || { tap_fail "lab setup"; finish; exit 1; }

state() { sluice -j service show; }

out=$(sluice stats 2>&1)
check "stats with nothing pinned fails" test $? -ne 0
check "... and says what to do: '$out'" grep -qi "no sluice maps" <<<"$out"

check "add IPv4 TCP service" sluice service add $HOST4 80 tcp rate 10k burst 200 client-rate 100
check "add IPv6 UDP service" sluice service add $HOST6 53 udp mode local
before=$(state)
check "show lists both" test "$(jq length <<<"$before")" -eq 2
check "IPv4 service fields round-trip" jq -e --arg a $HOST4 \
	'.[] | select(.address == $a and .port == 80 and .proto == "tcp" and .mode == "local" and .rate_pps == 10000 and .burst == 200 and .client_rate_pps == 100)' <<<"$before"
check "IPv6 service shown in IPv6 form" jq -e --arg a $HOST6 '.[] | select(.address == $a and .port == 53)' <<<"$before"

# Each line: arguments that must be refused.
bad_cases=(
	"service add 198.18.0.300 80 tcp"
	"service add 198.18.0.1 0 tcp"
	"service add 198.18.0.1 70000 tcp"
	"service add 198.18.0.1 80x tcp"
	"service add 198.18.0.1 -1 tcp"
	"service add 198.18.0.1 81 sctp"
	"service add 198.18.0.1 81 tcp mode teleport"
	"service add 198.18.0.1 81 tcp mode nat"
	"service add 198.18.0.1 81 tcp rate"
	"service add 198.18.0.1 81 tcp rate fast"
	"service add 198.18.0.1 81 tcp rate 5000000000"
	"service add 198.18.0.1 81 tcp burst 10"
	"service add 198.18.0.1 81 tcp rate 10 rate 20"
	"service add 198.18.0.1 81 tcp colour blue"
	"service add 198.18.0.1 81"
	"service add fd00:5c::zz 81 udp"
	"service add $HOST4 80 tcp"
	"service set 198.18.0.9 80 tcp rate 5"
	"service set $HOST4 80 tcp rate -5"
	"service del 198.18.0.9 80 tcp"
	"service frobnicate"
	"nosuchobject show"
	"iface attach"
)
for args in "${bad_cases[@]}"; do
	# shellcheck disable=SC2086
	msg=$(sluice $args 2>&1 >/dev/null)
	rc=$?
	if [ $rc -ne 0 ] && [ -n "$msg" ] && [ "$(state)" = "$before" ]; then
		tap_ok "refused with a message, nothing changed: sluice $args"
	else
		tap_fail "sluice $args" "rc=$rc message='$msg'"
	fi
	# shellcheck disable=SC2086
	jmsg=$(sluice -j $args 2>/dev/null)
	if jq -e '.error | length > 0' <<<"$jmsg" >/dev/null 2>&1; then
		tap_ok "-j error is JSON: sluice -j $args"
	else
		tap_fail "-j error is JSON: sluice -j $args" "got '$jmsg'"
	fi
done

check "set changes the rate, keeps the id" sluice service set $HOST4 80 tcp rate 500
id_before=$(jq -r --arg a $HOST4 '.[] | select(.address == $a) | .id' <<<"$before")
id_after=$(state | jq -r --arg a $HOST4 '.[] | select(.address == $a) | .id')
check "id kept across set ($id_before)" test "$id_before" = "$id_after"
check "new rate shown" sh -c "$SLUICE -j service show | jq -e '.[] | select(.rate_pps == 500)' >/dev/null"
check "rate 0 means unlimited" sluice service set $HOST4 80 tcp rate 0
check "unlimited shown as rate 0" sh -c "$SLUICE -j service show | jq -e '.[] | select(.port == 80 and .rate_pps == 0)' >/dev/null"
check "del" sluice service del $HOST6 53 udp
check "one service left" test "$(state | jq length)" -eq 1

for obj in "" iface service stats; do
	# shellcheck disable=SC2086
	check "help for '${obj:-sluice}' prints usage" sh -c "$SLUICE $obj help 2>&1 | grep -qi usage"
done
check "-j stats is JSON with global counters" sh -c "$SLUICE -j stats | jq -e '.global.admitted.packets >= 0' >/dev/null"
check "-j version has the ABI version" sh -c "$SLUICE -j version | jq -e '.abi_version >= 1' >/dev/null"
check "unique prefix accepted (serv sh)" sluice serv sh
finish
