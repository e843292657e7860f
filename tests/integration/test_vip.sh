#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# userspace/vip.c through tests/integration/vipctl, on the two-namespace lab
# (client c0 <-> gateway g0), for IPv4 and IPv6:
#  - add puts the /32 or /128 on g0 (IPv6 not tentative), twice is fine,
#    present says so, and the client reaches a TCP listener on the VIP (the
#    VIP range is on-link for the client: it resolves the VIP by ARP / ND);
#  - announce moves the client's neighbour entry for the VIP, set to a
#    wrong MAC beforehand, to g0's MAC;
#  - del removes it (twice is fine), present says absent, the VIP no longer
#    answers;
#  - a bad interface, a bad address, an interface without a MAC: a clear
#    message and exit status 2.
# Bounded: every client has a timeout; the lab is torn down on any exit.
. "$(dirname "$0")/lib.sh"

VIPCTL=$(realpath "$BUILD/tests/integration/vipctl")
require_env vip
if ! [ -x "$VIPCTL" ] || ! command -v ncat >/dev/null; then
	tap_fail "vip: needs $VIPCTL (make $BUILD/tests/integration/vipctl) and ncat"
	finish
	exit 1
fi
lab_up_test || {
	tap_fail "lab setup (client, gateway)"
	finish
	exit 1
}
in_cli ip route add $VIP4_NET dev c0 && in_cli ip -6 route add $VIP6_NET dev c0
check "lab up; the VIP ranges on-link for the client" test $? = 0
vip() { in_host "$VIPCTL" "$@"; }
MAC_G=$(lab_mac "$GW_NS" $GW_IF)
WRONG_MAC=02:00:00:00:00:01
PORT=7007
# A TCP listener on the gateway (every address, both families).
in_host ncat -lk -p $PORT --sh-exec 'echo vip-answer' >/dev/null 2>&1 &
disown # lab_down ends it (it kills what runs in the namespaces)
for _ in $(seq 30); do
	in_host ss -Hltn "sport = :$PORT" | grep -q . && break
	sleep 0.1
done

# answers VIP: the client gets the listener's line from VIP.
answers() { [ "$(in_cli timeout 3 ncat -w 1 --recv-only "$1" $PORT 2>/dev/null)" = vip-answer ]; }
silent() { ! answers "$1"; }
# addr_lines VIP: how many times VIP is on g0, with its host prefix and not tentative.
addr_lines() {
	in_host ip -j addr show dev $GW_IF | jq --arg a "$1" \
		'[.[].addr_info[] | select(.local == $a and (.prefixlen == 32 or .prefixlen == 128)
		  and (.tentative // false) == false)] | length'
}
# neigh_mac VIP: the client's neighbour entry for VIP: "MAC STATE..." (or empty).
neigh_mac() { in_cli ip -j neigh show "$1" dev c0 | jq -r '.[0] // empty | "\(.lladdr) \(.state | join(","))"'; }
# expect_err NAME PATTERN ARGS...: vipctl ARGS exits 2 with PATTERN in its message.
expect_err() {
	name=$1
	pat=$2
	shift 2
	msg=$(vip "$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc = 2 ] && grep -q -- "$pat" <<<"$msg"; then
		tap_ok "$name: exit 2, '$msg'"
	else
		tap_fail "$name" "exit $rc, message '$msg', expected exit 2 and '$pat'"
	fi
}

for vip_addr in 198.19.0.20 fd00:5c:ff::20; do
	fam=IPv4
	case $vip_addr in *:*) fam=IPv6 ;; esac

	check "$fam: $vip_addr absent at first" test "$(vip present $GW_IF $vip_addr)" = absent
	check "$fam: the client cannot reach $vip_addr yet" silent $vip_addr
	check "$fam: vipctl add g0 $vip_addr" vip add $GW_IF $vip_addr
	check "$fam: vipctl add again is fine" vip add $GW_IF $vip_addr
	n=$(addr_lines $vip_addr)
	check "$fam: $vip_addr is on g0 once, as a host address, usable ($n)" test "$n" = 1
	check "$fam: vipctl present says present" test "$(vip present $GW_IF $vip_addr)" = present
	check "$fam: the client reaches a TCP listener on $vip_addr" answers $vip_addr
	e=$(neigh_mac $vip_addr)
	check "$fam: the client's entry is dynamic, at g0's MAC ($e)" \
		sh -c "[ '${e% *}' = '$MAC_G' ] && ! echo '$e' | grep -q PERMANENT"

	# --- announce ---------------------------------------------------------------
	in_cli ip neigh replace $vip_addr lladdr $WRONG_MAC dev c0 nud stale
	sleep 0.2
	e=$(neigh_mac $vip_addr)
	check "$fam: the client's entry points at $WRONG_MAC ($e)" test "${e% *}" = $WRONG_MAC
	check "$fam: vipctl announce g0 $vip_addr" vip announce $GW_IF $vip_addr
	for _ in $(seq 20); do
		e=$(neigh_mac $vip_addr)
		[ "${e% *}" = "$MAC_G" ] && break
		sleep 0.05
	done
	check "$fam: the announcement moved the client's entry to g0's MAC $MAC_G ($e)" \
		test "${e% *}" = "$MAC_G"
	check "$fam: the client reaches $vip_addr after the announcement" answers $vip_addr

	# --- del --------------------------------------------------------------------
	check "$fam: vipctl del g0 $vip_addr" vip del $GW_IF $vip_addr
	check "$fam: vipctl del again is fine" vip del $GW_IF $vip_addr
	n=$(addr_lines $vip_addr)
	check "$fam: $vip_addr is gone from g0 ($n)" test "$n" = 0
	out=$(vip present $GW_IF $vip_addr)
	rc=$?
	check "$fam: vipctl present says absent, exit 1 ($out, $rc)" test "$out" = absent -a $rc = 1
	check "$fam: the client no longer reaches $vip_addr" silent $vip_addr
done

# --- errors -----------------------------------------------------------------
expect_err "add on a missing interface" "no interface 'nosuch0'" add nosuch0 198.19.0.21
expect_err "present on a missing interface" "no interface 'nosuch0'" present nosuch0 198.19.0.21
expect_err "announce on a missing interface" "no interface 'nosuch0'" announce nosuch0 fd00:5c:ff::21
expect_err "del with an over-long interface name" "bad interface name" del 0123456789abcdefgh 198.19.0.21
expect_err "add of a malformed address" "invalid address '198.19.0.300'" add $GW_IF 198.19.0.300
expect_err "add of a multicast IPv4 address" "cannot be a VIP" add $GW_IF 224.0.0.5
expect_err "add of an IPv6 link-local address" "cannot be a VIP" add $GW_IF fe80::5
expect_err "announce on an interface without a MAC (lo)" "not an Ethernet interface" announce lo 198.19.0.21
expect_err "vipctl with a bad command" "usage" frob $GW_IF 198.19.0.21
n=$(in_host ip -j addr show dev $GW_IF | jq -r '[.[].addr_info[] | select(.local | IN("198.19.0.20",
	"198.19.0.21", "fd00:5c:ff::20", "fd00:5c:ff::21", "224.0.0.5", "fe80::5")) | .local] | join(" ")')
check "the refused calls left g0 alone (left: '$n')" test -z "$n"
finish
