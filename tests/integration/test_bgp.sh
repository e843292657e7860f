#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Active-active gateways behind BGP ECMP (issue 14), on the BGP lab
# (tools/lab.sh lab_up_bgp): a router running BIRD (eBGP with each gateway,
# BFD 100 ms x 3, ECMP into its kernel table, L4 multipath hashing), three
# gateways each running BIRD and sluiced (the bgp section: sluiced writes
# BIRD's include and reconfigures it), two nginx backends (ipip, DSR; and
# nat on port 8080 of two VIPs: replies routed back over the gateways), a
# client behind the router. Three VIPs: 198.19.0.1 and fd00:5c:ff::1
# (backend 1), 198.19.0.2 (backend 2), TCP health checks every 0.3 s;
# sessions over IPv4 and IPv6.
#  - all six sessions come up; the router's kernel route to each VIP has
#    three next hops (IPv4 and IPv6); `sluice bgp show` and the metrics say so;
#  - the client's connections spread over the three gateways;
#  - a bad bgp section sent to a running daemon changes nothing;
#  - backend 2 silent: 198.19.0.2 is withdrawn by every gateway (journal
#    events), 198.19.0.1 stays; backend 2 back: announced again;
#  - drain of another gateway: its VIPs withdrawn, connections opened
#    meanwhile go to the others, drained once no flow is active (journal
#    events); undrain announces again;
#  - a 5 s download (ipip) runs through one gateway; that gateway's link
#    goes down: BFD withdraws it at the router within 1 s; another one's
#    BIRD and sluiced are SIGKILLed: withdrawn within 1 s; new connections
#    go through the last one, and the download finishes through it with
#    no reset (identical Maglev tables: the same backend);
#  - the same for eight nat downloads (IPv4, IPv6) whose replies the router
#    sends back over the gateways by ECMP (table 100, next hops held by
#    BFD): the last gateway translates them from configuration alone
#    (stateless return path, sl_be_rev), no reset;
#  - SIGTERM to the last one's sluiced (drain-on-stop): its VIPs are
#    withdrawn, and it stops once drained.
# Bounded (every wait has a limit, about 30 s in all); everything runs in
# namespaces this test makes and is stopped on any exit.
. "$(dirname "$0")/lib.sh"

require_env bgp
require_tools bgp bird birdc nginx curl jq
for o in decap floor; do
	[ -f "$BUILD/bpf/$o.bpf.o" ] || bail "bgp: $BUILD/bpf/$o.bpf.o is missing (make)"
done
trap cleanup EXIT
trap 'exit 130' INT TERM

VIP_A=$BGP_VIP_A
VIP_B=$BGP_VIP_B
VIP_6=$BGP_VIP_6
TMP=$LAB_STATE
SLUICED=$(realpath "$BUILD/sluiced" 2>/dev/null)
hops_are() { [ "$(bgp_nexthops "$1")" = "$2" ]; }
established() { [ "$(birdc_in router show protocols | grep -c Established)" = "$1" ]; }

lab_up_bgp 3 2 && lab_bgp_router on || {
	tap_fail "BGP lab setup (router with BIRD, 3 gateways, 2 backends)" \
		"$(tail -3 "$TMP/router/bird.log" 2>/dev/null)"
	finish
	exit 1
}
ok=1
for g in 1 2 3; do
	lab_bgp_gw_bird "$g" || ok=0
	lab_bgp_sluiced "$g"
done
[ $ok = 1 ] && tap_ok "BGP lab up: router BIRD, BIRD and sluiced on 3 gateways, 2 backends" ||
	tap_fail "BGP lab: gateways' BIRD" "$(tail -3 "$TMP"/g*/bird.log)"

# --- sessions, routes, show, metrics -------------------------------------------------
if ms=$(lab_wait_ms 20000 established 6); then
	tap_ok "the router's six sessions (IPv4, IPv6) are established ($ms ms after the daemons started)"
else
	tap_fail "the router's six sessions are established" \
		"$(birdc_in router show protocols)" "$(tail -5 "$TMP/g1/sluiced.log")"
fi
# VIP_A and VIP_6 (and VIP_B): their routes, in one predicate (the router's
# IPv4 and IPv6 sessions update apart).
a6_hops_are() { hops_are $VIP_A "$1" && hops_are $VIP_6 "$1"; }
all_hops_are() { a6_hops_are "$1" && hops_are $VIP_B "$1"; }
if ms=$(lab_wait_ms 5000 all_hops_are 3); then
	tap_ok "the router's kernel tables have a 3-way multipath route to each VIP (IPv4, IPv6)"
else
	tap_fail "3-way multipath routes at the router" "$(in_r ip route show)" "$(in_r ip -6 route show)" \
		"$(birdc_in router show route all)"
fi
r=$(birdc_in router show route $VIP_A/32 all)
check "the router sees the VIP with community ($BGP_GW_AS,14)" grep -q "($BGP_GW_AS,14)" <<<"$r"
check "the generated include is the one sluiced owns (own tables, static routes, BFD)" \
	grep -q "route $VIP_A/32 blackhole" "$(bgp_gw_dir 1)/bird-sluice.conf"
check "the gateways' kernel tables know nothing of the VIPs (own BIRD tables)" \
	test -z "$(in_gwi 1 ip route show $VIP_A)"
j=$(sluice_bgpgw 1 -j bgp show)
s=$(jq -r '"\([.vips[] | select(.announced)] | length) \([.peers[] | select(.established)] | length) \(.live)"' <<<"$j")
check "sluice bgp show -j: 3 VIPs announced, 2 sessions established, BIRD live ($s)" test "$s" = "3 2 true"
t=$(sluice_bgpgw 1 bgp show)
check "sluice bgp show: text names VIPs and the session" \
	grep -q "$VIP_A: announced" <<<"$t"
# The daemon polls BIRD every second: its view may lag the router's by that much.
bgp_metrics_ok() {
	in_gwi 1 curl -s -m 1 http://127.0.0.1:9469/metrics | grep sluice_bgp_ >"$TMP/bgp.metrics"
	[ "$(grep -cE "^sluice_bgp_announced\{vip=\"$VIP_A\"\} 1|^sluice_bgp_session_up\{peer=\"r1\",address=\"$BGP_ROUTER4\"\} 1" "$TMP/bgp.metrics")" = 2 ]
}
if ms=$(lab_wait_ms 3000 bgp_metrics_ok); then
	tap_ok "metrics: sluice_bgp_announced{vip=\"$VIP_A\"} 1, sluice_bgp_session_up{peer=\"r1\",...} 1"
else
	tap_fail "metrics: sluice_bgp_announced and sluice_bgp_session_up" "$(cat "$TMP/bgp.metrics")"
fi

# --- traffic spreads over the gateways --------------------------------------------------
fwd() { sluice_gwi "$1" -j stats | jq '.global.forwarded.packets'; }
f0="$(fwd 1) $(fwd 2) $(fwd 3)"
okc=0
for _ in $(seq 30); do
	in_cli curl -s -m 1 "http://$VIP_A/" | grep -q '^backend-1' && okc=$((okc + 1))
done
f1="$(fwd 1) $(fwd 2) $(fwd 3)"
spread=$(paste -d' ' <(tr ' ' '\n' <<<"$f0") <(tr ' ' '\n' <<<"$f1") | awk '$2 > $1 {n++} END {print n + 0}')
check "30 of 30 connections to $VIP_A answered" test $okc = 30
ok6=0
for _ in $(seq 10); do
	in_cli curl -s -m 1 "http://[$VIP_6]/" | grep -q '^backend-1' && ok6=$((ok6 + 1))
done
check "10 of 10 connections to $VIP_6 answered" test $ok6 = 10
check "every gateway forwarded some (packets before: $f0, after: $f1)" test "$spread" = 3

# --- a long-lived connection -----------------------------------------------------------
# The first 500 kB of /slow (100 KiB/s, about 5 s): it runs through the
# next steps until a gateway dies under it. The gateway that carries it is
# the one whose forwarded counter moves.
in_cli curl -s -m 30 -r 0-499999 -o "$TMP/slow" "http://$VIP_A/slow" &
DL=$!
sleep 0.5
# nginx paces /slow in bursts: watch up to 3 s for the counter that moves.
c0="$(fwd 1) $(fwd 2) $(fwd 3)"
CARRIER=0
for _ in $(seq 15); do
	sleep 0.2
	c1="$(fwd 1) $(fwd 2) $(fwd 3)"
	CARRIER=$(paste -d' ' <(tr ' ' '\n' <<<"$c0") <(tr ' ' '\n' <<<"$c1") |
		awk '{d = $2 - $1; if (d > best) {best = d; g = NR}} END {print g + 0}')
	[ "$CARRIER" -ge 1 ] && break
done
if [ "$CARRIER" -ge 1 ]; then
	tap_ok "the download runs through gateway $CARRIER (forwarded $c0 -> $c1)"
else
	tap_fail "the download runs through a gateway" "forwarded $c0 -> $c1"
	CARRIER=3
fi
# --- bad input changes nothing ---------------------------------------------------------
sum0=$(md5sum <"$(bgp_gw_dir 1)/bird-sluice.conf")
lab_bgp_conf 1 "  vips: [{address: $VIP_A, peers: [r9]}]" >"$TMP/bad.yaml"
out=$(sluice_bgpgw 1 config apply "$TMP/bad.yaml" 2>&1)
check "config apply with an unknown peer is refused: $(head -1 <<<"$out")" \
	grep -q "unknown peer 'r9'" <<<"$out"
lab_bgp_conf 1 | sed "s|asn: $BGP_GW_AS|asn: 0|" >"$TMP/bad.yaml"
out=$(sluice_bgpgw 1 config check "$TMP/bad.yaml" 2>&1)
check "config check with AS 0: $(head -1 <<<"$out")" grep -q "not a usable AS number" <<<"$out"
check "the include did not change, the routes neither" \
	test "$(md5sum <"$(bgp_gw_dir 1)/bird-sluice.conf")" = "$sum0" -a "$(bgp_nexthops $VIP_A)" = 3

# --- a VIP without a backend up is withdrawn, and comes back ------------------------------
# silent (its link drops everything): nginx keeps running, lab_be_heal only lifts the drop.
lab_be_fail 2 silent
if ms=$(lab_wait_ms 10000 hops_are $VIP_B 0) && hops_are $VIP_A 3; then
	tap_ok "backend 2 down: $VIP_B withdrawn by every gateway ($ms ms), $VIP_A kept"
else
	tap_fail "backend 2 down: $VIP_B withdrawn" "$(in_r ip route show)" "$(sluice_bgpgw 1 bgp show)"
fi
ev=$(sluice_bgpgw 1 -j journal show dir "$(bgp_gw_dir 1)/journal" type bgp 2>/dev/null)
check "journal: a bgp 'withdrawn' event for $VIP_B" \
	grep -q "\"vip\":\"$VIP_B\",\"event\":\"withdrawn\"" <<<"$ev"
lab_be_heal 2
if ms=$(lab_wait_ms 10000 hops_are $VIP_B 3); then
	tap_ok "backend 2 back: $VIP_B announced again by the three gateways ($ms ms)"
else
	tap_fail "backend 2 back: $VIP_B announced again" "$(in_r ip route show)" \
		"$(sluice_bgpgw 1 bgp show)" "$(sluice_bgpgw 1 backend show)" "$(sluice_bgpgw 1 breaker show)" \
		"$(tail -5 "$(bgp_gw_dir 1)/sluiced.log")"
fi

# --- drain: withdrawn, new connections elsewhere, drained, undrained ---------------------
D=$((CARRIER % 3 + 1))
out=$(sluice_bgpgw $D gateway drain --deadline 0 2>&1)
check "gateway drain --deadline 0 is refused: $out" grep -q "deadline" <<<"$out"
out=$(sluice_bgpgw $D gateway drain --deadline 20 2>&1)
check "gateway drain on gateway $D: $out" grep -q '^draining: 0 of 3 VIPs announced' <<<"$out"
if ms=$(lab_wait_ms 3000 a6_hops_are 2); then
	tap_ok "the router withdraws gateway $D's VIPs ($ms ms)"
else
	tap_fail "the router withdraws gateway $D's VIPs" "$(in_r ip route show $VIP_A)"
fi
f0=$(fwd $D)
okc=0
for _ in $(seq 10); do
	in_cli curl -s -m 1 "http://$VIP_A/" | grep -q '^backend-1' && okc=$((okc + 1))
done
f1=$(fwd $D)
check "connections opened during the drain: $okc of 10 answered, none through gateway $D (forwarded $f0 -> $f1)" \
	test $okc = 10 -a "$f0" = "$f1"
drained() { [ "$(sluice_bgpgw $D -j bgp show | jq -r '"\(.drain) \(.active_flows)"')" = "drained 0" ]; }
if ms=$(lab_wait_ms 8000 drained); then
	tap_ok "gateway $D drained: no active flow left ($ms ms)"
else
	tap_fail "gateway $D drained" "$(sluice_bgpgw $D bgp show)"
fi
ev=$(sluice_bgpgw $D -j journal show dir "$(bgp_gw_dir $D)/journal" type bgp 2>/dev/null)
check "journal: drain and drained events" \
	test "$(grep -oE '"event":"drain(ed)?"' <<<"$ev" | sort -u | wc -l)" = 2
out=$(sluice_bgpgw $D gateway undrain 2>&1)
check "gateway undrain: $out" grep -q '^undrained: 3 of 3 VIPs announced' <<<"$out"
if ms=$(lab_wait_ms 3000 a6_hops_are 3); then
	tap_ok "the router has gateway $D back ($ms ms)"
else
	tap_fail "the router has gateway $D back" "$(in_r ip route show $VIP_A)"
fi

# --- long-lived nat connections (stateless return path) ----------------------------
# Four downloads per family through the nat services (VIP port
# $BGP_NAT_PORT, backend 1): the router spreads both directions by ECMP
# (client -> VIP over the gateways' routes, backend -> client over table
# 100's), so each connection's two directions are carried by one or two
# gateways, which for most is not the one that saw its SYN. The two
# gateways lost below carry some of them, which must go on through the last
# one: its return translation from sl_be_rev (no sl_nat_rev entry there),
# its forward steering by the identical Maglev table.
revnat() { sluice_gwi "$1" -j stats | jq '.global.rev_nat.packets'; }
r0="$(revnat 1) $(revnat 2) $(revnat 3)"
NATDL=""
for i in 1 2 3 4; do
	in_cli curl -s -m 30 -r 0-399999 -o "$TMP/nat4.$i" "http://$VIP_A:$BGP_NAT_PORT/slow" &
	NATDL="$NATDL $!"
	in_cli curl -s -m 30 -r 0-399999 -o "$TMP/nat6.$i" "http://[$VIP_6]:$BGP_NAT_PORT/slow" &
	NATDL="$NATDL $!"
done
sleep 1
r1="$(revnat 1) $(revnat 2) $(revnat 3)"
spread=$(paste -d' ' <(tr ' ' '\n' <<<"$r0") <(tr ' ' '\n' <<<"$r1") | awk '$2 > $1 {n++} END {print n + 0}')
check "the nat downloads' replies are translated by more than one gateway (rev_nat $r0 -> $r1)" \
	test "$spread" -ge 2

# --- a gateway dies under the connection: BFD withdraws it ---------------------------
# withdrawn_within_1s HOPS WHAT: both VIPs' routes down to HOPS next hops within 1 s.
withdrawn_within_1s() {
	local ms
	if ms=$(lab_wait_ms 1000 hops_are $VIP_A "$1"); then
		tap_ok "$2: the router withdraws it in $ms ms (limit 1 s)"
	else
		tap_fail "$2: withdrawn within 1 s" "$(bgp_nexthops $VIP_A) next hops after $ms ms"
	fi
	check "... and from $VIP_6's route too (its IPv6 session)" lab_wait_ms 1000 hops_are $VIP_6 "$1"
}
in_gwi "$CARRIER" ip link set $GW_IF down
withdrawn_within_1s 2 "gateway $CARRIER's link down (BFD 100 ms x 3)"
KILLED=$((CARRIER % 3 + 1))
kill -9 "$(cat "$(bgp_gw_dir $KILLED)/sluiced.pid")" "$(cat "$TMP/g$KILLED/bird.pid")" 2>/dev/null
withdrawn_within_1s 1 "gateway $KILLED's BIRD and sluiced SIGKILLed"
LAST=$((KILLED % 3 + 1))
okc=0
for _ in $(seq 10); do
	in_cli curl -s -m 1 "http://$VIP_A/" | grep -q '^backend-1' && okc=$((okc + 1))
done
ok6=0
for _ in $(seq 5); do
	in_cli curl -s -m 1 "http://[$VIP_6]/" | grep -q '^backend-1' && ok6=$((ok6 + 1))
done
check "new connections reach $VIP_A ($okc of 10) and $VIP_6 ($ok6 of 5) through gateway $LAST" \
	test $okc = 10 -a $ok6 = 5
wait $DL
rc=$?
size=$(stat -c %s "$TMP/slow" 2>/dev/null || echo 0)
check "the download that went through gateway $CARRIER finished through gateway $LAST, no reset (curl $rc, $size bytes)" \
	test $rc = 0 -a "$size" = 500000
natok=0
for p in $NATDL; do
	wait "$p" && natok=$((natok + 1))
done
sizes=$(stat -c %s "$TMP"/nat4.* "$TMP"/nat6.* 2>/dev/null | sort -u | tr '\n' ' ')
check "the 8 nat downloads (4 IPv4, 4 IPv6) finished through gateway $LAST, no reset ($natok of 8 ok, sizes: $sizes)" \
	test "$natok" = 8 -a "$sizes" = "400000 "

# --- SIGTERM with drain-on-stop: withdrawn first, then the daemon stops ------------------
kill -TERM "$(cat "$(bgp_gw_dir $LAST)/sluiced.pid")"
stopped() { grep -q '\] stopped' "$(bgp_gw_dir $LAST)/sluiced.log"; }
if ms=$(lab_wait_ms 3000 a6_hops_are 0); then
	tap_ok "SIGTERM to gateway $LAST's sluiced (drain-on-stop): its VIPs withdrawn ($ms ms)"
else
	tap_fail "SIGTERM with drain-on-stop: VIPs withdrawn" "$(in_r ip route show $VIP_A)"
fi
if ms=$(lab_wait_ms 6000 stopped) && grep -q "gateway drained" "$(bgp_gw_dir $LAST)/sluiced.log"; then
	tap_ok "... and it stopped once drained ($ms ms)"
else
	tap_fail "... and it stopped once drained" "$(tail -4 "$(bgp_gw_dir $LAST)/sluiced.log")"
fi

finish
