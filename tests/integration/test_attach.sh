#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Attach, show, refuse a second attach, --force upgrade, detach and re-attach,
# generic (skb) mode, and the promise that pinned maps (services, counters)
# survive a re-attach while traffic keeps being counted.
. "$(dirname "$0")/lib.sh"

require_env attach
lab_up_test || { tap_fail "lab setup"; finish; exit 1; }

xdp_on_g0() { in_host ip -d link show g0 | grep -q 'prog/xdp'; }
# shown_as IFNAME MODE: `iface show` lists IFNAME attached in MODE.
shown_as() {
	sluice -j iface show | $JQE --arg i "$1" --arg m "$2" \
		'.[] | select(.ifname == $i and .mode == $m)' >/dev/null
}
not() { ! "$@"; }
PPSGEN=$(realpath "$BUILD/tests/integration/ppsgen")
# ifmac: g0's sl_ifmac entry as "MAC set", the MAC in decimal bytes ("2,0,0,0,0,16 1").
ifmac() {
	local i
	i=$(in_host ip -j link show g0 | jq '.[0].ifindex')
	bpftool -j map lookup pinned "$SLUICE_PIN_ROOT/sl_ifmac" \
		key $((i & 255)) $((i >> 8 & 255)) $((i >> 16 & 255)) $((i >> 24 & 255)) |
		jq -r '.formatted.value | "\(.mac | map(tostring) | join(",")) \(.set)"'
}
# mac_dec 02:00:00:00:00:10 -> 2,0,0,0,0,16
mac_dec() {
	local IFS=:
	set -- $1
	printf '%d,%d,%d,%d,%d,%d' 0x$1 0x$2 0x$3 0x$4 0x$5 0x$6
}

check "attach native" sluice iface attach g0
check "g0 has an XDP program" xdp_on_g0
check "iface show lists g0 as native" shown_as g0 native
for mode in 0600; do
	bad=$(find "$SLUICE_PIN_ROOT" -type f ! -perm $mode | wc -l)
	check "every pin is mode $mode ($bad are not)" test "$bad" -eq 0
done
check "pin root is root-only (0700)" test "$(stat -c %a "$SLUICE_PIN_ROOT")" = 700

out=$(sluice iface attach g0 2>&1)
rc=$?
check "second attach refused" test $rc -ne 0
check "refusal says what to do (--force)" grep -q -- --force <<<"$out"

# Traffic to a service, then a forced re-attach (an upgrade): the service and
# its counters survive, and the new program keeps counting into them.
sluice service add $HOST4 7000 udp >/dev/null
sent1=$(in_cli "$UDPBLAST" send $HOST4 7000 0.5 1 2000)
before=$(svc_stat $HOST4 7000 udp admitted packets)
prog_before=$(sluice -j iface show | jq -r '.[] | select(.ifname=="g0") | .prog_id')
check "forced re-attach replaces the program" sluice iface attach g0 --force
prog_after=$(sluice -j iface show | jq -r '.[] | select(.ifname=="g0") | .prog_id')
check "program id changed ($prog_before -> $prog_after)" test "$prog_before" != "$prog_after"
kept=$(svc_stat $HOST4 7000 udp admitted packets)
check "counters survive forced re-attach ($before -> $kept)" test "$kept" = "$before"
check "every packet sent was counted admitted ($sent1 sent, $before counted)" test "$before" -eq "$sent1"

# The promiscuous-mode check (bpf/lib/hygiene.h): attach wrote g0's MAC into
# sl_ifmac, and frames for another MAC (veth hands them over whatever their
# destination) pass untouched: counted other_host, never admitted.
gmac=$(mac_dec "$(lab_mac "$GW_NS" g0)")
check "sl_ifmac holds g0's MAC ($(ifmac))" test "$(ifmac)" = "$gmac 1"
oh0=$(stat_of '.global.other_host.packets')
sent=$(in_cli "$PPSGEN" c0 02:00:00:00:99:99 $CLIENT4 $HOST4 7000 1 1 16)
oh1=$(stat_of '.global.other_host.packets')
check "frames for another MAC counted other_host ($sent sent, $((oh1 - oh0)) counted)" \
	test $((oh1 - oh0)) -gt 0 -a $((oh1 - oh0)) -le "$sent"
check "and none admitted" test "$(svc_stat $HOST4 7000 udp admitted packets)" = "$before"

check "detach" sluice iface detach g0
check "detach cleared g0's sl_ifmac entry ($(ifmac))" test "$(ifmac)" = "0,0,0,0,0,0 0"
check "g0 left without XDP" not xdp_on_g0
check "iface show no longer lists g0" not shown_as g0 native
check "service survives detach" sh -c "$SLUICE -j service show | $JQE '.[] | select(.port==7000)' >/dev/null"

check "re-attach in generic (skb) mode" sluice iface attach g0 --mode skb
check "iface show says skb" shown_as g0 skb
sent2=$(in_cli "$UDPBLAST" send $HOST4 7000 0.5 1 2000)
after=$(svc_stat $HOST4 7000 udp admitted packets)
check "counters continue after re-attach ($before + $sent2 -> $after)" test "$after" -eq $((before + sent2))
check "detach generic" sluice iface detach g0
check "g0 clean after generic detach" not xdp_on_g0

# The TC hook (issue 15): the same pipeline at g0's TC ingress (a pinned tcx
# link), counting into the same maps; one hook per interface.
check "attach at TC ingress (--hook tc)" sluice iface attach g0 --hook tc
check "iface show says tc" shown_as g0 tc
check "the tcx link is pinned" test -e "$SLUICE_PIN_ROOT/iface/g0/tc_link"
check "and g0 has no XDP program" not xdp_on_g0
out=$(sluice iface attach g0 --mode skb 2>&1)
rc=$?
check "XDP on the TC-attached g0 refused" test $rc -ne 0
check "... saying why: '$out'" grep -q "one hook per interface" <<<"$out"
check "... changing nothing" shown_as g0 tc
check "an unknown hook is refused" not sluice iface attach g0 --hook ebpf --force
check "... changing nothing" shown_as g0 tc
sent3=$(in_cli "$UDPBLAST" send $HOST4 7000 0.5 1 2000)
tc_after=$(svc_stat $HOST4 7000 udp admitted packets)
check "TC counts every packet into the same counters ($after + $sent3 -> $tc_after)" \
	test "$tc_after" -eq $((after + sent3))
check "detach from TC" sluice iface detach g0
check "no pin left for g0" not test -e "$SLUICE_PIN_ROOT/iface/g0"
in_cli "$UDPBLAST" send $HOST4 7000 0.5 1 2000 >/dev/null
check "nothing counted once detached" test "$(svc_stat $HOST4 7000 udp admitted packets)" = "$tc_after"

# A foreign XDP program is not clobbered without --force.
in_host ip link set dev g0 xdpgeneric obj "$BUILD/bpf/floor.bpf.o" sec xdp 2>/dev/null
if xdp_on_g0; then
	check "attach over a foreign program refused" not sluice iface attach g0 --mode skb
	check "attach over a foreign program with --force" sluice iface attach g0 --mode skb --force
	sluice iface detach g0 >/dev/null
else
	tap_fail "could not load a foreign XDP program with ip link"
fi

check "detach of a not-attached interface fails" not sluice iface detach g0
check "attach to a missing interface fails" not sluice iface attach nosuch0

# lo has no native XDP: the refusal must say what to do, and skb mode works.
out=$(sluice iface attach lo 2>&1)
rc=$?
check "native attach to lo (no driver XDP) fails" test $rc -ne 0
check "... and suggests --mode skb: '$out'" grep -q -- "--mode skb" <<<"$out"
check "lo leaves no pin behind after the failure" not test -e "$SLUICE_PIN_ROOT/iface/lo"
check "generic attach to lo works" sluice iface attach lo --mode skb
check "detach lo" sluice iface detach lo
finish
