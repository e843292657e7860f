#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Egress pacing (issue 15): a service's egress-rate holds the bytes a host
# sends to it, at the TC egress of the host's interface
# (`iface attach DEV --hook tc-egress`), for the sockets the host side
# balanced. The lab's client namespace is the host: its processes run in a
# cgroup attached with `host attach`, c0 carries sluice_egress. Uploads
# (bulk.c: as fast as the sender can for 3 s; the rate is the receiver's,
# first byte to last) to a service with egress-rate 2MB (16 Mbit/s):
#  - IPv4 and IPv6: measured within 1.4-2.6 MB/s; under CPU load (two busy
#    loops on this 2-CPU machine) too: the upper bound is what pacing
#    protects, the lower one says the limit is not far below the rate;
#  - UDP (not paced by TCP): a blast to a service at 800kbit delivers at
#    most the rate (plus the burst) at the receiver, the rest is dropped at
#    the egress and counted;
#  - two connections at once: together within the same bounds (each is
#    paced by TCP to its share, the rate over the service's connections);
#  - TCP's own pacing holds before the egress program is attached (the
#    host side's sockops sets each connection's share); egress-rate 0 lifts
#    the limit for new connections;
#  - an unpaced service from the same cgroup and interface: far above it
#    (> 10 MB/s), so the limit is the service's, not the interface's;
#  - with fq in the kernel the attach makes it the root qdisc (pacing fq);
#    without (CONFIG_NET_SCH_FQ unset, as here) the program polices
#    (pacing police): both are asserted by what the kernel has;
#  - bad values (egress-rate 2mb, 1B, 500gbit; --hook tc-egress --mode skb)
#    are refused with a clear error and change nothing;
#  - iface detach removes the program (its link is gone) and Sluice's fq;
#    the upload is unpaced again.
# Bounded: every transfer has a deadline; the lab, cgroup and busy loops are
# removed on any exit.
. "$(dirname "$0")/lib.sh"

require_env pacing
require_helpers pacing bulk
require_tools pacing bpftool jq tc
cg_require pacing
PORT_P=5001 # paced
PORT_U=5002 # unpaced
PORT_D=5003 # UDP, paced at TC egress only
LOADS=

pace_cleanup() {
	for p in $LOADS; do kill -KILL "$p" 2>/dev/null; done
	"$SLUICE" --local host detach "$CG" >/dev/null 2>&1
	in_cli "$SLUICE" --local iface detach c0 >/dev/null 2>&1
	cg_remove
	cleanup
}
trap pace_cleanup EXIT
trap 'exit 130' INT TERM

# upload FAMILY PORT: 3 s of upload from the cgroup to the service at PORT
# (one backend: backend 1 for the paced one, 2 for the other); prints the
# sink's bytes/s.
upload() {
	local f=$1 port=$2 vip=198.19.0.1 i=1 out
	[ "$f" = 6 ] && vip=fd00:5c:ff::1
	[ "$port" = $PORT_U ] && i=2
	out=$BULKDIR/sink-$f-$port
	in_be $i "$BULK" sink "$port" >"$out" 2>&1 &
	local spid=$!
	wait_until 5 in_be $i sh -c "ss -Hltn 'sport = :$port' | grep -q ."
	in_cg timeout 40 "$BULK" send $vip "$port" 3 >/dev/null
	# The sink ends with the connection; a stuck one is killed.
	for _ in $(seq 100); do kill -0 $spid 2>/dev/null || break; sleep 0.1; done
	kill -KILL $spid 2>/dev/null
	wait $spid 2>/dev/null
	jq -r 'select(.total_rate) | .total_rate' "$out" 2>/dev/null
}

# in_range RATE LO HI
in_range() { awk -v r="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(r >= lo && r <= hi) }'; }
mbs() { awk -v r="$1" 'BEGIN { printf "%.2f MB/s", r / 1e6 }'; }

t0=$(date +%s)
lab_up_steer 2 || bail "lab setup (2 backends)"
in_cli ip route add 198.18.0.0/16 via $HOST4
in_cli ip -6 route add fd00:5c::/32 via $HOST6
mkdir "$CG" || bail "cannot create cgroup $CG"
BULKDIR=$LAB_STATE
mkdir -p "$BULKDIR"
tap_ok "lab up: client host with cgroup $CG, routing-only gateway, 2 backends ($(($(date +%s) - t0)) s)"

for f in 4 6; do
	vip=198.19.0.1
	[ $f = 6 ] && vip=fd00:5c:ff::1
	"$SLUICE" --local service add $vip $PORT_P tcp mode nat egress-rate 2MB >/dev/null &&
		"$SLUICE" --local backend add $vip $PORT_P tcp "$(be $f 1)" >/dev/null &&
		"$SLUICE" --local service add $vip $PORT_U tcp mode nat >/dev/null &&
		"$SLUICE" --local backend add $vip $PORT_U tcp "$(be $f 2)" >/dev/null ||
		bail "services"
done
"$SLUICE" --local service add 198.19.0.1 $PORT_D udp mode nat egress-rate 800kbit >/dev/null &&
	"$SLUICE" --local backend add 198.19.0.1 $PORT_D udp "$(be 4 1)" >/dev/null ||
	bail "UDP service"
check "service show -j: egress rate 16000000 bit/s (2MB given)" \
	test "$("$SLUICE" -j service show 198.19.0.1 $PORT_P tcp | jq -r '.[0].egress | "\(.rate_bps) \(.rate)"')" = "16000000 16mbit"
"$SLUICE" --local host attach "$CG" >/dev/null || bail "host attach"

# Bad values: refused, clearly, nothing changed.
for bad in 2mb 1B 500gbit -5mbit; do
	out=$("$SLUICE" --local service set 198.19.0.1 $PORT_P tcp egress-rate "$bad" 2>&1)
	check "egress-rate $bad refused: $out" grep -q "egress-rate '$bad'" <<<"$out"
done
check "... the rate is unchanged" \
	test "$("$SLUICE" -j service show 198.19.0.1 $PORT_P tcp | jq -r '.[0].egress.rate_bps')" = 16000000
out=$(in_cli "$SLUICE" --local iface attach c0 --hook tc-egress --mode skb 2>&1)
check "--hook tc-egress --mode skb refused: $out" grep -q "mode is XDP's" <<<"$out"
check "... nothing attached" test "$(in_cli "$SLUICE" -j iface show)" = "[]"

# Before the egress program: TCP's own pacing (the host side's sockops) holds one connection.
rate=$(upload 4 $PORT_P)
check "no tc-egress yet: TCP paced to its share by sockops: $(mbs "$rate") (1.4-2.6)" \
	in_range "$rate" 1.4e6 2.6e6

out=$(in_cli "$SLUICE" --local iface attach c0 --hook tc-egress 2>&1)
check "iface attach c0 --hook tc-egress: $out" grep -q "^attached to c0: .* hook tc-egress" <<<"$out"
if in_cli tc qdisc show dev c0 | grep -q "^qdisc fq "; then
	check "fq is the root qdisc of c0; iface show: pacing fq" \
		test "$(in_cli "$SLUICE" -j iface show c0 | jq -r '.[0].pacing')" = fq
else
	ip netns add "slp-$ID" && ip -n "slp-$ID" link add name px type veth peer name py
	if ip netns exec "slp-$ID" tc qdisc replace dev px root fq 2>/dev/null; then
		tap_fail "the kernel has fq but the attach did not install it" "$(in_cli tc qdisc show dev c0)"
	else
		check "no fq in this kernel: c0 keeps its qdisc, iface show: pacing police" \
			test "$(in_cli "$SLUICE" -j iface show c0 | jq -r '.[0].pacing')" = police
	fi
	ip netns del "slp-$ID"
fi
link=$(in_cli "$SLUICE" -j iface show c0 | jq -r '.[0].link_id')
PACING=$(in_cli "$SLUICE" -j iface show c0 | jq -r '.[0].pacing')

for f in 4 6; do
	rate=$(upload $f $PORT_P)
	check "IPv$f: paced upload at egress-rate 2MB: $(mbs "$rate") (1.4-2.6)" in_range "$rate" 1.4e6 2.6e6
done
rate=$(upload 4 $PORT_U)
check "IPv4: unpaced service from the same cgroup and interface: $(mbs "$rate") (> 10)" \
	in_range "$rate" 10e6 1e12
pkts=$("$SLUICE" -j service show 198.19.0.1 $PORT_P tcp | jq -r '.[0].egress.packets')
check "service show -j: egress packets counted for the paced service ($pkts)" test "$pkts" -gt 0
check "... none for the unpaced one" \
	test "$("$SLUICE" -j service show 198.19.0.1 $PORT_U tcp | jq -r '.[0].egress.packets')" = 0

# Two connections at once: the service's rate is shared (each paced to half).
out=$BULKDIR/sink-two
in_be 1 "$BULK" sink $PORT_P -n 2 >"$out" 2>&1 &
spid=$!
wait_until 5 in_be 1 sh -c "ss -Hltn 'sport = :$PORT_P' | grep -q ."
in_cg timeout 40 "$BULK" send 198.19.0.1 $PORT_P 3 >/dev/null &
in_cg timeout 40 "$BULK" send 198.19.0.1 $PORT_P 3 >/dev/null
wait_until 30 sh -c "! kill -0 $spid"
kill -KILL $spid 2>/dev/null
wait
rate=$(jq -r 'select(.total_rate) | .total_rate' "$out" 2>/dev/null)
check "two connections at once: together $(mbs "${rate:-0}") (1.4-2.6)" in_range "${rate:-0}" 1.4e6 2.6e6

# UDP: no TCP pacing, only the egress clock (policing here, fq's queue elsewhere).
# 800 kbit/s = 100 kB/s of udpblast's 64-byte frames: 1562 a second. 2 s of
# a blast from the cgroup delivers 3125 and the burst (20 ms) when policed;
# with fq, what it queued (up to the 2 s horizon) drains after the blast,
# in the receiver's window too: the bound is 2 s more of the rate.
in_be 1 "$UDPBLAST" recv 0.0.0.0 $PORT_D 5 >"$BULKDIR/udp-recv" 2>&1 &
rpid=$!
sleep 0.3
in_cg "$UDPBLAST" send 198.19.0.1 $PORT_D 2 1 >/dev/null 2>&1
wait $rpid
got=$(tr -dc 0-9 <"$BULKDIR/udp-recv")
hi=3750
[ "$PACING" = fq ] && hi=6900
check "UDP blast to a service at egress-rate 800kbit: ${got:-0} datagrams from a 2 s blast (2000-$hi)" \
	test "${got:-0}" -ge 2000 -a "${got:-0}" -le $hi
eg=$("$SLUICE" -j service show 198.19.0.1 $PORT_D udp | jq -c '.[0].egress')
check "... the rest dropped at the egress and counted ($eg)" test "$(jq -r .dropped <<<"$eg")" -gt 0

# Under CPU load: two busy loops (as many as CPUs here), for the transfer.
for _ in 1 2; do
	sh -c 'while :; do :; done' &
	LOADS="$LOADS $!"
done
rate=$(upload 4 $PORT_P)
for p in $LOADS; do kill -KILL "$p" 2>/dev/null; done
LOADS=
check "IPv4 under CPU load: paced upload $(mbs "$rate") (1.4-2.6)" in_range "$rate" 1.4e6 2.6e6

# A new rate applies at once.
"$SLUICE" --local service set 198.19.0.1 $PORT_P tcp egress-rate 8mbit >/dev/null
rate=$(upload 4 $PORT_P)
check "egress-rate 8mbit: $(mbs "$rate") (0.7-1.3)" in_range "$rate" 0.7e6 1.3e6

# Detach: the program and Sluice's fq go; the upload is unpaced again.
out=$(in_cli "$SLUICE" --local iface detach c0 2>&1)
check "iface detach c0: $out" grep -q "^detached from c0" <<<"$out"
check "... its link $link is gone" test -z "$(bpftool -j link show | jq -r ".[] | select(.id == $link) | .id")"
check "... no fq left on c0" sh -c "! nsenter --net=/run/netns/$CLI_NS tc qdisc show dev c0 | grep -q '^qdisc fq '"
check "... iface show is empty" test "$(in_cli "$SLUICE" -j iface show)" = "[]"
# egress-rate 0: unlimited again, at once for new connections.
"$SLUICE" --local service set 198.19.0.1 $PORT_P tcp egress-rate 0 >/dev/null
rate=$(upload 4 $PORT_P)
check "egress-rate 0: the upload is unpaced ($(mbs "$rate") > 10)" in_range "$rate" 10e6 1e12

finish
