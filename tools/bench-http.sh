#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# HTTP connection rate, a part of `make bench` (tools/bench.sh): one
# connection per request, the measure a balancer's users care about most,
# through the same gateway three ways in one run. Exits 0 whatever the
# numbers (a part that cannot run says why).
#
# The lab (tools/lab.sh): client, gateway, 3 nginx backends. wrk in the
# client namespace: `wrk -t2 -c50 -H 'Connection: close'` for HTTP_SECONDS
# (default 8) against, in turn:
#  - Sluice: a nat service (XDP on g0 and gb1..gb3), breakers at their defaults;
#  - sluice+watch: the same with `sluice breaker watch` reading the data
#    plane's events, as sluiced does (every connection's SYN-ACK is an
#    event; one that finds the reader caught up wakes it);
#  - sluice-tc: the same service with Sluice at TC ingress (`iface attach
#    --hook tc`) instead of XDP: on veth, XDP makes the receiving veth
#    convert (and copy) every skb into an xdp_buff, TC takes the skb as is;
#  - nftables: conntrack DNAT, `numgen random mod 3` over the same backends
#    (Sluice detached everywhere);
#  - HAProxy 2.6 (Debian): mode tcp on a VIP local to the gateway,
#    roundrobin, nbthread 2 (Sluice attached but not serving that VIP).
# Then the lab's ceiling, every gateway with one backend: xdp-floor-1 (the
# XDP redirect floor, a program with no state and no rewrite, the client
# addressing backend 2 itself), forward-1 (kernel forwarding, no
# conntrack), nftables-1 (DNAT to backend 1) and sluice-1 (the nat service
# with backends 2 and 3 deleted for the round): how far above nftables any XDP gateway can get here.
# HTTP_ROUNDS (default 3) rounds, variants interleaved; medians and ranges of
# requests/s, the ratio to nftables, and every round's socket errors and
# non-2xx answers (a failed request makes a fast run meaningless).
# The client, the gateway and the backends share the machine's CPUs: the
# ratio compares gateways under the same load, not absolute capacity.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
BUILD=${BUILD:-build}
HTTP_SECONDS=${HTTP_SECONDS:-8}
HTTP_ROUNDS=${HTTP_ROUNDS:-3}

echo
echo "== HTTP, one connection per request (wrk -t2 -c50, ${HTTP_SECONDS} s x $HTTP_ROUNDS rounds)"
for t in nginx haproxy nft wrk jq conntrack; do
	if ! command -v $t >/dev/null; then
		echo "bench-http: skipped: needs $t (make deps)"
		exit 0
	fi
done
if [ "$(id -u)" != 0 ]; then
	echo "bench-http: skipped: needs root"
	exit 0
fi

LAB_ID=http$$
LAB_PIN_ROOT=/sys/fs/bpf/sluice-benchhttp-$$
. "$(dirname "$0")/bench-lab.sh"
SVIP=198.19.0.70 # Sluice's nat service
NVIP=198.19.0.71 # nftables' DNAT
HVIP=198.19.0.72 # HAProxy's frontend (local in the gateway)

NVIP1=198.19.0.74 # nftables' DNAT to backend 1 only
B1=$(be_addr4 1)
# The stateless rounds address backend 2 itself (5-tuples of their own).
B2=$(be_addr4 2)

bench_up bench-http $SVIP $HVIP
# The client reaches backend 2 itself through the gateway (the floor's rounds).
in_cli ip route add "$B2/32" via $HOST4
bench_haproxy $HVIP "nbthread 2" "" ""

# Sluice on every gateway interface at hook $1 (xdp or tc), or on none
# (nftables' turn).
sluice_on() {
	in_gw nft delete table ip slhttp 2>/dev/null
	if ! sluice iface show 2>/dev/null | grep -q "^$GW_IF: .* hook $1 "; then
		sluice_detach
		SLUICE_LAB_HOOK=$1 lab_attach
	fi
}
sluice_detach() {
	in_gw nft delete table ip slhttp 2>/dev/null
	for d in $GW_IF gb1 gb2 gb3; do
		sluice iface detach $d >/dev/null 2>&1
		in_gw ip link set dev $d xdpdrv off 2>/dev/null
	done
	return 0
}
# backends_23 add|del: Sluice's service with backends 2 and 3, or backend 1 only (sluice-1).
backends_23() {
	for i in 2 3; do sluice backend "$1" $SVIP 80 tcp "$(be_addr4 $i)" >/dev/null || return 1; done
}
# The XDP redirect floor on every gateway interface.
floor_on() {
	sluice_detach
	for d in $GW_IF gb1 gb2 gb3; do
		in_gw ip link set dev $d xdpdrv obj "$BUILD/bpf/redirect_floor.bpf.o" sec xdp || return 1
	done
}
sluice_off() {
	sluice_detach
	# Each nftables round starts with an empty conntrack table: entries left
	# in TIME_WAIT (120 s) by the 3-backend rounds have the reply tuples
	# (backend 1 -> client port) that nftables-1's DNAT makes, and every
	# clash cost a connection its SYN (nftables-1 crawled at 3 000-9 000 req/s).
	in_gw conntrack -F >/dev/null 2>&1
	in_gw nft -f - <<EOF
table ip slhttp {
	chain pre {
		type nat hook prerouting priority dstnat;
		ip daddr $NVIP tcp dport 80 dnat to numgen random mod 3 map { 0 : $(be_addr4 1), 1 : $(be_addr4 2), 2 : $(be_addr4 3) }
		ip daddr $NVIP1 tcp dport 80 dnat to $B1
	}
}
EOF
}

# watch_on / watch_off: a reader of the data plane's event ring (sl_events),
# as sluiced runs one: `sluice breaker watch` over the Sluice service.
watch_on() {
	in_host "$(lab_sluice_bin)" breaker watch $SVIP 80 tcp --interval 100 \
		--duration $((HTTP_SECONDS + 30)) >/dev/null 2>&1 &
	watch_pid=$!
	sleep 0.5
}
watch_off() {
	kill "$watch_pid" 2>/dev/null
	wait "$watch_pid" 2>/dev/null
}

# http_round VARIANT: one wrk run; prints "req_per_s failed".
http_round() {
	vip=
	case $1 in
	sluice) sluice_on xdp && vip=$SVIP ;;
	sluice+watch) sluice_on xdp && watch_on && vip=$SVIP ;;
	sluice-tc) sluice_on tc && vip=$SVIP ;;
	nftables) sluice_off && vip=$NVIP ;;
	haproxy) sluice_on xdp && vip=$HVIP ;;
	sluice-1) sluice_on xdp && backends_23 del && vip=$SVIP ;;
	nftables-1) sluice_off && vip=$NVIP1 ;;
	forward-1) sluice_detach && vip=$B2 ;;
	xdp-floor-1) floor_on && vip=$B2 ;;
	esac
	if [ -z "$vip" ]; then
		echo "0 setup-failed"
		return
	fi
	out=$(in_cli timeout $((HTTP_SECONDS + 20)) wrk -t2 -c50 -d"${HTTP_SECONDS}s" \
		-H 'Connection: close' "http://$vip/" 2>&1)
	rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
	# Socket errors (connect, read, write, timeout) and non-2xx/3xx answers.
	failed=$(awk '/Socket errors:/ { gsub(",", ""); n += $4 + $6 + $8 + $10 }
		/Non-2xx or 3xx/ { n += $NF } END { print n + 0 }' <<<"$out")
	[ "$1" = sluice+watch ] && watch_off
	[ "$1" = sluice-1 ] && backends_23 add
	echo "${rps:-0} $failed"
}

watch_pid=
declare -A res
# rounds VARIANT...: HTTP_ROUNDS rounds of the variants, interleaved, into res.
rounds() {
	for _ in $(seq "$HTTP_ROUNDS"); do
		for v in "$@"; do res[$v]="${res[$v]:-}$(http_round "$v")"$'\n'; done
	done
}
# table REF VARIANT...: each variant's median (min-max), its ratio to REF's median, failures.
table() {
	ref=$(bench_med 1 "${res[$1]}")
	shift
	printf '   %-12s %-26s %-14s %s\n' gateway "requests/s" "vs nftables" "failed (per round)"
	for v in "$@"; do
		d=${res[$v]}
		ratio=$(awk -v a="$(bench_med 1 "$d")" -v b="$ref" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')
		printf '   %-12s %-26s %-14s %s\n' "$v" "$(bench_stat 1 "$d")" "$ratio" \
			"$(awk '{ print $2 }' <<<"$(grep . <<<"$d")" | tr '\n' ' ')"
	done
}

rounds sluice sluice+watch sluice-tc nftables haproxy
table nftables sluice sluice+watch sluice-tc nftables haproxy
echo "   (median (min-max) of $HTTP_ROUNDS rounds; Sluice target >= 1.2x nftables, 0 failed)"

# The ceiling: what a gateway that keeps no state and rewrites nothing gets
# in this lab, against the same gateways, all with backend 1 only.
echo "   -- one backend: the lab's ceiling (xdp-floor: tools/bench/bpf/redirect_floor.bpf.c"
echo "      on g0 and gbI, the client addressing backend 2 itself; forward: the kernel"
echo "      forwarding it, no conntrack; nftables-1, sluice-1: backend 1 only)"
rounds xdp-floor-1 forward-1 nftables-1 sluice-1
table nftables-1 xdp-floor-1 forward-1 nftables-1 sluice-1
exit 0
