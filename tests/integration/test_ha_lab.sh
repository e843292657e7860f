#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The two-gateway HA lab (tools/lab.sh lab_up_ha, lab_attach_ha) and a VIP
# moving between its gateways with tests/integration/vipctl:
#  - the lab: one bridge, client, two gateways, two backends; pass programs
#    on the gateways' bridge ports, Sluice on both g0 with pin roots of
#    their own, the same ipip services and backends configured on both;
#  - per family: gateway 1 holds the VIP, the client's curl reaches a
#    backend through gateway 1 (its forwarded counter moves, gateway 2's
#    does not), and a full-size upload fits (ipip over MTU 1600);
#  - failover: del on gateway 1, add + announce on gateway 2, the client's
#    curl works again within 1 s, through gateway 2 only; the client's
#    neighbour entry for the VIP is dynamic and at gateway 2's MAC;
#  - fail back without the announcement: the client's entry stays at
#    gateway 2 (the announcement is what moves it); with it, traffic goes
#    through gateway 1 again;
#  - no packet went to the stack, was too big or failed to encapsulate.
# Bounded: every client has a timeout; the lab is torn down on any exit.
. "$(dirname "$0")/lib.sh"

VIPCTL=$(realpath "$BUILD/tests/integration/vipctl")
require_env ha_lab
if ! [ -x "$VIPCTL" ] || ! command -v nginx >/dev/null || ! command -v curl >/dev/null; then
	tap_fail "ha_lab: needs $VIPCTL, nginx (nginx-light) and curl"
	finish
	exit 1
fi
for o in decap floor; do
	if ! [ -f "$BUILD/bpf/$o.bpf.o" ]; then
		tap_fail "ha_lab: $BUILD/bpf/$o.bpf.o is missing"
		finish
		exit 1
	fi
done
trap cleanup EXIT
trap 'exit 130' INT TERM
lab_up_ha 2 && lab_attach_ha || {
	tap_fail "HA lab setup (2 gateways with Sluice, 2 backends)"
	finish
	exit 1
}
tap_ok "HA lab up: switch, client, gateways 1 and 2 with Sluice on g0, 2 nginx backends"

TMP=$LAB_STATE/ha
mkdir -p "$TMP"
head -c 20000 /dev/urandom >"$TMP/upload"
MAC_G1=$(lab_mac "$(ha_gw_ns 1)" $GW_IF)
MAC_G2=$(lab_mac "$(ha_gw_ns 2)" $GW_IF)

# --- the lab as built -----------------------------------------------------------
ports=$(in_sw bridge -j link show | jq -r '[.[] | select(.master == "br0") | .ifname] | sort | join(" ")')
check "bridge br0 ports: $ports" test "$ports" = "sb1 sb2 sc0 sg1 sg2"
xdp_of() { in_ns "$1" ip -j -d link show dev "$2" | jq -r '.[0].xdp.prog.name // "none"'; }
x="$(xdp_of "$SW_NS" sg1) $(xdp_of "$SW_NS" sg2) $(xdp_of "$SW_NS" sc0)"
check "XDP pass program on sg1 and sg2 only: $x" test "$x" = "floor_xdp floor_xdp none"
x="$(xdp_of "$(be_ns 1)" b0) $(xdp_of "$(be_ns 2)" b0)"
check "sluice_decap on the backends' b0: $x" test "$x" = "sluice_decap sluice_decap"
a1=$(sluice_gwi 1 -j iface show | jq -r '[.[].ifname] | join(" ")')
a2=$(sluice_gwi 2 -j iface show | jq -r '[.[].ifname] | join(" ")')
check "Sluice on g0 of each gateway ('$a1', '$a2'), pins in $(ha_pin_root 1) and $(ha_pin_root 2)" \
	test "$a1" = g0 -a "$a2" = g0 -a -d "$(ha_pin_root 1)" -a -d "$(ha_pin_root 2)"
s1=$(sluice_gwi 1 -j gateway show | jq -r '"\(.encap_source4) \(.encap_source6)"')
s2=$(sluice_gwi 2 -j gateway show | jq -r '"\(.encap_source4) \(.encap_source6)"')
check "encap sources: gateway 1 '$s1', gateway 2 '$s2'" \
	test "$s1" = "198.18.0.1 fd00:5c::1" -a "$s2" = "198.18.0.6 fd00:5c::6"
r=$(in_cli ip route show $VIP4_NET; in_cli ip -6 route show $VIP6_NET)
check "the VIP ranges are on-link for the client: $(tr '\n' ';' <<<"$r")" \
	test "$(grep -c 'dev c0' <<<"$r")" = 2 -a "$(grep -c via <<<"$r")" = 0

# The same services and backends on both gateways.
VIP4=198.19.0.10
VIP6=fd00:5c:ff::10
setup_ok=1
for g in 1 2; do
	for v in $VIP4 $VIP6; do
		sluice_gwi $g service add $v 80 tcp mode ipip >/dev/null || setup_ok=0
		for i in 1 2; do
			case $v in
			*:*) b=$(ha_be_addr6 $i) ;;
			*) b=$(ha_be_addr4 $i) ;;
			esac
			sluice_gwi $g backend add $v 80 tcp "$b" >/dev/null || setup_ok=0
		done
	done
done
n1=$(sluice_gwi 1 -j backend show | jq length)
n2=$(sluice_gwi 2 -j backend show | jq length)
check "ipip services $VIP4, $VIP6 with backends 1, 2 on both gateways ($n1, $n2 backends)" \
	test $setup_ok = 1 -a "$n1" = 4 -a "$n2" = 4

url() { case "$1" in *:*) echo "http://[$1]/" ;; *) echo "http://$1/" ;; esac }
fwd() { sluice_gwi "$1" -j stats | jq '.global.forwarded.packets'; }
vip() {
	g=$1
	shift
	in_gwi "$g" "$VIPCTL" "$@"
}
# neigh VIP: the client's entry for VIP as "MAC STATE".
neigh() { in_cli ip -j neigh show "$1" dev c0 | jq -r '.[0] // empty | "\(.lladdr) \(.state | join(","))"'; }
# move VIP FROM TO [noannounce]: the VIP leaves gateway FROM for gateway TO.
move() {
	vip "$2" del $GW_IF "$1" && vip "$3" add $GW_IF "$1" &&
		{ [ "${4:-}" = noannounce ] || vip "$3" announce $GW_IF "$1"; }
}

scenario() {
	v=$1
	fam=$2
	u=$(url "$v")
	check "IPv$fam: the client has no neighbour entry for $v yet" test -z "$(neigh "$v")"
	check "IPv$fam: vipctl add $v on gateway 1" vip 1 add $GW_IF "$v"

	f1=$(fwd 1)
	f2=$(fwd 2)
	out=$(in_cli curl -s -m 3 "$u")
	d1=$(($(fwd 1) - f1))
	d2=$(($(fwd 2) - f2))
	check "IPv$fam: curl $u reaches a backend ($out) through gateway 1 (forwarded +$d1, gateway 2 +$d2)" \
		sh -c "echo '$out' | grep -qx 'backend-[12]' && [ $d1 -gt 0 ] && [ $d2 = 0 ]"
	out=$(in_cli curl -s -m 3 --data-binary @"$TMP/upload" "$u")
	check "IPv$fam: a 20 kB upload (full-size segments, encapsulated) gets through ($out)" \
		sh -c "echo '$out' | grep -qx 'backend-[12]'"
	e=$(neigh "$v")
	check "IPv$fam: the client's entry for $v: gateway 1's MAC, dynamic ($e)" \
		sh -c "[ '${e%% *}' = '$MAC_G1' ] && ! echo '$e' | grep -q PERMANENT"

	# --- failover to gateway 2 --------------------------------------------------
	f1=$(fwd 1)
	f2=$(fwd 2)
	t0=$(now_ns)
	move "$v" 1 2
	moved=$?
	out=""
	while [ $(($(now_ns) - t0)) -lt 1000000000 ]; do
		out=$(in_cli curl -s -m 0.3 "$u") && break
	done
	ms=$((($(now_ns) - t0) / 1000000))
	d1=$(($(fwd 1) - f1))
	d2=$(($(fwd 2) - f2))
	check "IPv$fam: del on gateway 1, add + announce on gateway 2, curl works again in $ms ms ($out)" \
		sh -c "[ $moved = 0 ] && echo '$out' | grep -qx 'backend-[12]' && [ $ms -lt 1000 ]"
	check "IPv$fam: ... through gateway 2 (forwarded +$d2), not gateway 1 (+$d1)" \
		test "$d2" -gt 0 -a "$d1" = 0
	check "IPv$fam: vipctl present: absent on gateway 1, present on gateway 2" \
		test "$(vip 1 present $GW_IF "$v")" = absent -a "$(vip 2 present $GW_IF "$v")" = present
	e=$(neigh "$v")
	check "IPv$fam: the client's entry for $v: gateway 2's MAC, dynamic ($e)" \
		sh -c "[ '${e%% *}' = '$MAC_G2' ] && ! echo '$e' | grep -q PERMANENT"

	# --- fail back: without the announcement, then with it ----------------------
	check "IPv$fam: move $v back to gateway 1 without announcing it" move "$v" 2 1 noannounce
	sleep 0.3
	e=$(neigh "$v")
	check "IPv$fam: unannounced, the client's entry stays at gateway 2's MAC ($e)" \
		test "${e%% *}" = "$MAC_G2"
	f1=$(fwd 1)
	f2=$(fwd 2)
	check "IPv$fam: vipctl announce $v on gateway 1" vip 1 announce $GW_IF "$v"
	out=$(in_cli curl -s -m 3 "$u")
	d1=$(($(fwd 1) - f1))
	d2=$(($(fwd 2) - f2))
	check "IPv$fam: announced, curl goes through gateway 1 again ($out, +$d1 / +$d2)" \
		sh -c "echo '$out' | grep -qx 'backend-[12]' && [ $d1 -gt 0 ] && [ $d2 = 0 ]"
}

scenario $VIP4 4
scenario $VIP6 6

for g in 1 2; do
	bad=$(sluice_gwi $g -j stats | jq '.global | [.fwd_stack.packets, .too_big.packets,
		.encap_fail.packets] | add')
	check "gateway $g: no fwd_stack, too_big or encap_fail ($bad)" test "$bad" = 0
done
finish
