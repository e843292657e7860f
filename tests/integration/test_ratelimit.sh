#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Rate limiting under real traffic: a client namespace floods UDP services
# (IPv4 and IPv6) and a TCP service through a veth into a host namespace where
# Sluice is attached (native XDP). Checks the admitted rate against the
# configured one (±5 % over a measured window, senders on both CPUs), that
# admitted packets are delivered, that per-client buckets are independent,
# and that non-service UDP and TCP traffic passes untouched.
. "$(dirname "$0")/lib.sh"

require_env ratelimit
lab_up_test || { tap_fail "lab setup"; finish; exit 1; }

RATE=20000
CRATE=5000
sluice iface attach g0 >/dev/null || { tap_fail "attach XDP to g0"; finish; exit 1; }
tap_ok "attach XDP (native) to g0"
sluice service add $HOST4 9000 udp rate $RATE >/dev/null &&
	sluice service add $HOST6 9001 udp client-rate $CRATE >/dev/null &&
	sluice service add $HOST4 9100 tcp rate 2000 burst 100 >/dev/null
check "add services" test $? -eq 0

# measure_rate ADDR PORT PROTO T0 T1: admitted packets per second between
# T0 and T1 seconds into a run that is already going (sampled by timestamps).
# Each read is a process (sluice | jq) that takes tens of milliseconds, more
# on a loaded machine: its time is the midpoint of the clock read before and
# after it, so a slow read does not skew the rate (by up to 10 % before).
measure_rate() {
	sleep "$4"
	s0=$(now_ns)
	a0=$(svc_stat "$1" "$2" "$3" admitted packets)
	t0=$(((s0 + $(now_ns)) / 2))
	sleep "$5"
	s1=$(now_ns)
	a1=$(svc_stat "$1" "$2" "$3" admitted packets)
	t1=$(((s1 + $(now_ns)) / 2))
	awk -v a="$((a1 - a0))" -v t="$((t1 - t0))" 'BEGIN { printf "%.0f\n", a * 1e9 / t }'
}

# --- IPv4 UDP, whole-service bucket, two sender CPUs -------------------------
in_host "$UDPBLAST" recv $HOST4 9000 8 >/tmp/sl-recv-$ID 2>/dev/null &
RECV=$!
sleep 0.3
in_cli "$UDPBLAST" send $HOST4 9000 4 2 >/tmp/sl-sent-$ID &
SEND=$!
rate=$(measure_rate $HOST4 9000 udp 1 2)
wait $SEND
wait $RECV
sent=$(cat /tmp/sl-sent-$ID)
recvd=$(cat /tmp/sl-recv-$ID)
adm=$(svc_stat $HOST4 9000 udp admitted packets)
drop=$(svc_stat $HOST4 9000 udp drop_svc_rate packets)
rm -f /tmp/sl-recv-$ID /tmp/sl-sent-$ID
echo "# udp4: configured $RATE pps, measured $rate pps; sent $sent, admitted $adm, dropped $drop, received $recvd"
check "udp4 offered load exceeds the rate at least 3x" test "$sent" -gt $((RATE * 4 * 3))
check "udp4 admitted rate within 5% of $RATE pps (measured $rate)" within 5 "$rate" $RATE
check "udp4 drops counted as drop_svc_rate" test "$drop" -gt 0
check "udp4 every admitted packet delivered ($recvd of $adm)" within 0.5 "$recvd" "$adm"
cpus_used=$(bpftool map lookup pinned "$SLUICE_PIN_ROOT/sl_glb_stats_v2" key 0 0 0 0 -j |
	jq '[.formatted.values[] | select(.value.packets > 0)] | length')
if [ "$(nproc)" -ge 2 ]; then
	check "udp4 load ran the program on $cpus_used CPUs (>= 2)" test "$cpus_used" -ge 2
fi

# --- IPv6 UDP, per-client buckets: two clients each get their own rate -------
in_cli ip -6 addr add fd00:5c::3/64 dev c0 nodad
in_host ip -6 neigh replace fd00:5c::3 lladdr "$(lab_mac "$CLI_NS" c0)" dev g0 nud permanent
in_cli env UDPBLAST_SRC=$CLIENT6 "$UDPBLAST" send $HOST6 9001 3.5 1 >/dev/null &
S1=$!
in_cli env UDPBLAST_SRC=fd00:5c::3 "$UDPBLAST" send $HOST6 9001 3.5 1 >/dev/null &
S2=$!
rate6=$(measure_rate $HOST6 9001 udp 1 2)
wait $S1 $S2
cdrop=$(svc_stat $HOST6 9001 udp drop_client_rate packets)
echo "# udp6: two clients at client-rate $CRATE: measured $rate6 pps together, dropped $cdrop"
check "udp6 two clients together admitted within 5% of 2x$CRATE pps (measured $rate6)" \
	within 5 "$rate6" $((2 * CRATE))
check "udp6 client drops counted as drop_client_rate" test "$cdrop" -gt 0

# --- TCP service over its rate: works, and never admits more than the rate ---
in_host ncat -l $HOST4 9100 --recv-only >/dev/null 2>&1 &
SRV=$!
sleep 0.3
a0=$(svc_stat $HOST4 9100 tcp admitted packets)
t0=$(now_ns)
head -c 4000000 /dev/zero | in_cli timeout 10 ncat --send-only $HOST4 9100 2>/dev/null
t1=$(now_ns)
kill $SRV 2>/dev/null
wait $SRV 2>/dev/null
a1=$(svc_stat $HOST4 9100 tcp admitted packets)
tdrop=$(svc_stat $HOST4 9100 tcp drop_svc_rate packets)
tcprate=$(awk -v a="$((a1 - a0))" -v t="$((t1 - t0))" 'BEGIN { printf "%.0f\n", a * 1e9 / t }')
echo "# tcp4: rate 2000 pps: admitted $((a1 - a0)) packets in $(((t1 - t0) / 1000000)) ms = $tcprate pps, dropped $tdrop"
check "tcp4 transfer through the limited service completed with drops" test "$tdrop" -gt 0
check "tcp4 admitted rate never above 2000 pps + 5% + burst" \
	test "$((a1 - a0))" -le $(((t1 - t0) * 2100 / 1000000000 + 100))

# --- Non-service traffic passes untouched ------------------------------------
# What Sluice never sees it cannot pass: a frame can be lost before XDP when
# the veth's receiving ring is full (the client and gateway share 2 CPUs, more
# so on a busy machine), and the receiving socket drops when its buffer is full. Both
# are counted by the kernel; the checks account for them and hold Sluice to
# the rest: every frame that reached XDP is counted not_service and delivered.
# Frames lost before XDP: the veth pair's drop counters (client tx, gateway
# rx), and the client's UdpSndbufErrors: a datagram the device refused
# (a stopped queue; veth stops it when the peer's ring is full) is counted
# there, and sendmmsg() still reports it sent.
link_drops() {
	echo $(($(in_cli ip -s -j link show c0 | jq '.[0].stats64.tx.dropped') +
		$(in_host ip -s -j link show g0 | jq '.[0].stats64.rx.dropped') +
		$(in_cli nstat -asz -j | jq '.kernel.UdpSndbufErrors')))
}
sock_drops() { in_host nstat -asz -j | jq '.kernel.UdpRcvbufErrors'; }
ns0=$(stat_of '.global.not_service.packets')
ld0=$(link_drops)
sd0=$(sock_drops)
in_host "$UDPBLAST" recv $HOST4 9999 5 >/tmp/sl-recv-$ID 2>/dev/null &
RECV=$!
sleep 0.3
sent=$(in_cli "$UDPBLAST" send $HOST4 9999 1 2 5000)
wait $RECV
recvd=$(cat /tmp/sl-recv-$ID)
rm -f /tmp/sl-recv-$ID
ns1=$(stat_of '.global.not_service.packets')
lost=$(($(link_drops) - ld0))
sockd=$(($(sock_drops) - sd0))
echo "# non-service UDP: sent $sent, dropped before XDP $lost, by the socket $sockd, received $recvd, not_service +$((ns1 - ns0))"
check "non-service UDP: all $((sent - lost)) that reached XDP delivered (got $recvd + $sockd socket drops)" \
	test "$((recvd + sockd))" -eq "$((sent - lost))"
check "non-service UDP: kernel drops before XDP at most 1% ($lost of $sent)" \
	test "$((lost * 100))" -le "$sent"
check "non-service UDP counted as not_service" test $((ns1 - ns0)) -ge "$((sent - lost))"

in_host sh -c "ncat -l $HOST4 9200 --recv-only | md5sum > /tmp/sl-md5-$ID" &
SRV=$!
sleep 0.3
head -c 2000000 /dev/urandom >/tmp/sl-data-$ID
in_cli timeout 10 ncat --send-only $HOST4 9200 </tmp/sl-data-$ID
wait $SRV
check "non-service TCP: 2 MB transferred intact" \
	test "$(md5sum </tmp/sl-data-$ID)" = "$(cat /tmp/sl-md5-$ID)"
rm -f /tmp/sl-md5-$ID /tmp/sl-data-$ID

sluice iface detach g0 >/dev/null
check "detach leaves g0 without XDP" sh -c "! nsenter --net=/run/netns/$HOST_NS ip link show g0 | grep -q xdp"
finish
