#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# `make bench`, BGP part (run by tools/bench.sh; never a test, exits 0):
# active-active gateways behind BGP ECMP (issue 14) on the BGP lab
# (tools/lab.sh lab_up_bgp: a router running BIRD with ECMP and L4 hashing,
# three gateways each running BIRD and sluiced, two ipip backends, the
# client behind the router). BGP_ROUNDS (default 3) rounds each:
#
#  1. spread: 300 new connections to one VIP; the new flows each gateway
#     steered (its backend's new_flows counter), against 100 each.
#  2. SIGKILL of one gateway's BIRD and sluiced while 12 downloads (/slow,
#     300 kB at 100 KiB/s, about 3 s each) run, ipip and 12 more nat (the
#     stateless return path: replies spread over the gateways by the
#     router): the time until the router's
#     kernel route to the VIP loses that next hop (polled every 20 ms), and
#     the downloads that failed or came short (connections lost). The
#     gateway is started again; the time until it is back in the route.
#  3. link down of one gateway (BFD 100 ms x 3): the same withdrawal time.
#  4. drain of one gateway during 12 downloads: its withdrawal, the
#     connections lost, the time until it reports drained.
#  5. BFD off on both sides (router hold time 6 s): link down, withdrawal
#     time (the hold timer's expiry), once.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
BUILD=${BUILD:-build}
ROUNDS=${BGP_ROUNDS:-3}
LAB_ID=bb$$
LAB_PIN_ROOT=/sys/fs/bpf/sluice-bench-bgp-$$
LAB_STATE=${TMPDIR:-/tmp}/sluice-bench-bgp-$$
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
SLUICED=$(realpath "$BUILD/sluiced")
VIP=$BGP_VIP_A
trap lab_down EXIT
trap 'exit 130' INT TERM

echo "== BGP ECMP: 3 gateways behind a BIRD router ($ROUNDS rounds)"
missing=""
for tool in bird birdc jq curl nginx; do command -v $tool >/dev/null || missing="$missing $tool"; done
if [ -n "$missing" ]; then
	echo "bgp: missing$missing (make deps); skipped"
	exit 0
fi
hops() { [ "$(bgp_nexthops $VIP)" = "$1" ]; }
# via G: the router's route to the VIP goes through gateway G (one round
# measures its own gateway, whatever another one's session does meanwhile).
via() { in_r ip route show $VIP/32 | grep -q "via $(bgp_gw_addr4 "$1") "; }
not_via() { ! via "$1"; }
established() { [ "$(birdc_in router show protocols | grep -c Established)" = "$1" ]; }
# settled: every session up and the route 3-way, still so 2 s later (a
# session that just came back may flap once while its BFD session starts).
settled() {
	lab_wait_ms 30000 established 6 >/dev/null && lab_wait_ms 10000 hops 3 >/dev/null &&
		sleep 2 && established 6 && hops 3
}
gw_up() { lab_bgp_gw_bird "$1" && lab_bgp_sluiced "$1"; }
if ! lab_up_bgp 3 2 >/dev/null || ! lab_bgp_router on || ! gw_up 1 || ! gw_up 2 || ! gw_up 3 ||
	! lab_wait_ms 30000 hops 3 >/dev/null; then
	echo "bgp: lab setup failed; skipped"
	exit 0
fi

# median of the numbers on stdin
median() { sort -n | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print "-"}'; }
new_flows() {
	sluice_gwi "$1" -j backend show | jq --arg v $VIP '[.[] | select(.service_address == $v) | .new_flows] | add'
}

# --- 1. spread ------------------------------------------------------------------------
before="$(new_flows 1) $(new_flows 2) $(new_flows 3)"
for _ in $(seq 300); do in_cli curl -s -m 1 -o /dev/null "http://$VIP/"; done
after="$(new_flows 1) $(new_flows 2) $(new_flows 3)"
spread=$(paste -d' ' <(tr ' ' '\n' <<<"$before") <(tr ' ' '\n' <<<"$after") | awk '{printf "%d ", $2 - $1}')
echo "spread of 300 new connections over the 3 gateways (ECMP, L4 hash): $spread(ideal 100 each)"

# downloads N [NAT]: N parallel /slow downloads in the background (files under
# $LAB_STATE/dl); with NAT, N more through the nat service (VIP port
# $BGP_NAT_PORT, files n1..nN), whose replies the router spreads over the gateways.
downloads() {
	rm -rf "$LAB_STATE/dl"
	mkdir -p "$LAB_STATE/dl"
	for i in $(seq "$1"); do
		(in_cli curl -s -m 20 -r 0-299999 -o "$LAB_STATE/dl/$i" "http://$VIP/slow"
			echo $? >"$LAB_STATE/dl/$i.rc") &
		[ -n "${2:-}" ] && (in_cli curl -s -m 20 -r 0-299999 -o "$LAB_STATE/dl/n$i" \
			"http://$VIP:$BGP_NAT_PORT/slow"
			echo $? >"$LAB_STATE/dl/n$i.rc") &
	done
}
# lost N [PREFIX]: how many of the downloads (waited for by the caller)
# failed or came short (PREFIX n: the nat ones).
lost() {
	local i n=0
	for i in $(seq "$1"); do
		[ "$(cat "$LAB_STATE/dl/${2:-}$i.rc")" = 0 ] &&
			[ "$(stat -c %s "$LAB_STATE/dl/${2:-}$i" 2>/dev/null)" = 300000 ] || n=$((n + 1))
	done
	echo $n
}

# --- 2. SIGKILL --------------------------------------------------------------------------
kill_ms="" back_ms="" kill_lost=0 nat_lost=0
for r in $(seq "$ROUNDS"); do
	g=$(((r - 1) % 3 + 1))
	downloads 12 nat
	sleep 1
	kill -9 "$(cat "$(bgp_gw_dir $g)/sluiced.pid")" "$(cat "$LAB_STATE/g$g/bird.pid")" 2>/dev/null
	kill_ms="$kill_ms $(lab_wait_ms 10000 not_via $g)"
	wait
	kill_lost=$((kill_lost + $(lost 12)))
	nat_lost=$((nat_lost + $(lost 12 n)))
	t0=$(date +%s%N)
	gw_up $g >/dev/null
	lab_wait_ms 30000 via $g >/dev/null
	back_ms="$back_ms $((($(date +%s%N) - t0) / 1000000))"
	settled
done
echo "SIGKILL of a gateway's BIRD and sluiced -> withdrawn at the router: median $(tr ' ' '\n' <<<"$kill_ms" | median) ms (rounds:$kill_ms)"
echo "  connections lost: $kill_lost of $((12 * ROUNDS)) downloads (ipip, identical Maglev tables)"
echo "  nat connections lost: $nat_lost of $((12 * ROUNDS)) downloads (stateless return path)"
echo "  restarted -> back in the route: median $(tr ' ' '\n' <<<"$back_ms" | median) ms (BIRD's connect delay included)"

# --- 3. link down, BFD on -------------------------------------------------------------------
link_ms=""
for r in $(seq "$ROUNDS"); do
	g=$(((r - 1) % 3 + 1))
	in_gwi $g ip link set $GW_IF down
	link_ms="$link_ms $(lab_wait_ms 10000 not_via $g)"
	in_gwi $g ip link set $GW_IF up
	settled
done
echo "link down, BFD on (100 ms x 3) -> withdrawn: median $(tr ' ' '\n' <<<"$link_ms" | median) ms (rounds:$link_ms)"

# --- 4. drain -----------------------------------------------------------------------------
downloads 12
sleep 1
t0=$(date +%s%N)
sluice_bgpgw 2 gateway drain --deadline 30 >/dev/null
drain_ms=$(lab_wait_ms 10000 not_via 2)
drained() { [ "$(sluice_bgpgw 2 -j bgp show | jq -r .drain)" = drained ]; }
lab_wait_ms 30000 drained >/dev/null
drained_ms=$((($(date +%s%N) - t0) / 1000000))
wait
drain_lost=$(lost 12)
sluice_bgpgw 2 gateway undrain >/dev/null
settled
echo "drain -> withdrawn in $drain_ms ms, drained (no active flow) after $drained_ms ms; connections lost: $drain_lost of 12"

# --- 5. BFD off -----------------------------------------------------------------------------
# Both sides reconfigured in place (BIRD's configure): the router's config
# rewritten with BFD off and hold time 6 s, the gateways' bgp sections.
d=$LAB_STATE/router
sed -i 's/bfd on;/bfd off;/; s/connect retry time 2;/connect retry time 2; hold time 6;/' "$d/bird.conf"
birdc_in router configure >/dev/null
for g in 1 2 3; do
	BGP_BFD=off lab_bgp_conf $g >"$(bgp_gw_dir $g)/off.yaml"
	sluice_bgpgw $g config apply "$(bgp_gw_dir $g)/off.yaml" >/dev/null
done
# IPv4 only: the VIP measured is IPv4.
if lab_wait_ms 30000 hops 3 >/dev/null && sleep 2 && hops 3; then
	in_gwi 3 ip link set $GW_IF down
	echo "link down, BFD off (router hold time 6 s) -> withdrawn in $(lab_wait_ms 20000 not_via 3) ms"
else
	echo "link down, BFD off: the sessions did not come back; skipped"
	birdc_in router show protocols | sed 's/^/  /'
fi
exit 0
