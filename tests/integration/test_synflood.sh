#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# SYN-flood defence in the lab (issue 13, item 6; bpf/lib/flow.h): a nat
# service with 3 nginx backends and a bulkhead (max-conns 50); real clients
# (connloop.c: 200 new connections a second, each a GET, closed by a RST)
# for 3 s alone, then 3 s beside a spoofed SYN flood at 10x their rate
# (synsend.c -R: 2000 SYNs a second from random addresses of 10.77.0.0/16
# and random ports, never answered; it stops itself after its count).
# A SYN creates no flow and takes no bulkhead slot, only a pending record
# in the bounded sl_syn_v2 LRU; the client's ACK does. So under the flood
# every real connection succeeds, the bulkhead never refuses, the flow
# table holds no more than the real connections, and nothing is in use
# once they are closed. The connect latency (connect + request + answer)
# with and without the flood is printed, asserted only loosely (a flood
# that made real clients wait seconds would fail: each connection has a
# 2 s timeout and every one must succeed), so a loaded machine passes.
# Bounded: every client has a duration or count; the lab is torn down on
# any exit. About 20 s.
. "$(dirname "$0")/lib.sh"

require_env synflood
require_helpers synflood connloop synsend
require_tools synflood nginx
lab_up_steer_or_bail 3 "lab up: client, gateway with Sluice on g0 gb1..gb3, 3 nginx backends"

TMP=$LAB_STATE/synflood
mkdir -p "$TMP"
VIP=198.19.0.30
RATE=200 # real new connections a second
FLOOD=$((10 * RATE))
LIMIT=50

ok=1
sluice service add $VIP 80 tcp mode nat >/dev/null || ok=0
for i in 1 2 3; do
	sluice backend add $VIP 80 tcp "$(be 4 $i)" >/dev/null || ok=0
done
sluice service set $VIP 80 tcp max-conns $LIMIT >/dev/null || ok=0
check "service $VIP: nat, 3 backends, max-conns $LIMIT" test $ok = 1

# nmap MAP: entries in pinned map MAP.
nmap() { bpftool -j map dump pinned "$SLUICE_PIN_ROOT/$1" | jq length; }
in_use() {
	sluice -j bulkhead show | jq -r --arg a $VIP \
		'.services[] | select(.address == $a and .port == 80) | .in_use'
}
refused() { svc_stat $VIP 80 tcp bh_service packets; }
# lat FILE: "p50 p99 max" connect latencies (ms) of the ok connections of a connloop run.
lat() {
	awk '$3 == "ok" { print ($2 - $1) / 1000 }' "$1" | sort -n |
		awk '{ v[NR] = $1 } END { if (!NR) exit 1; i = int(NR * 0.99 + 0.5); if (i < 1) i = 1
			printf "%.1f %.1f %.1f\n", v[int((NR + 1) / 2)], v[i], v[NR] }'
}
# run_loop NAME: 3 s of real clients; their lines in $TMP/NAME, the JSON summary printed.
run_loop() {
	in_cli timeout 30 "$CONNLOOP" $VIP 80 -d 3000 -i $((1000000 / RATE)) -t 2000 >"$TMP/$1" 2>&1
	tail -n1 "$TMP/$1"
}

n0=$(nmap sl_flows_v3)
r0=$(refused)
base=$(run_loop base)
check "without flood: every real connection succeeds ($base)" \
	test "$(jget "$base" .ok)" = "$(jget "$base" .total)" -a "$(jget "$base" .total)" -gt 0
read -r b50 b99 bmax <<<"$(lat "$TMP/base")"

# The flood: 10x the real rate for about as long as the real clients run.
bg_cli timeout 30 "$SYNSEND" 10.77.0.1 $VIP 80 $((FLOOD * 4)) -r $FLOOD -R >"$TMP/flood" 2>&1
FLOOD_PID=$!
sleep 0.5
under=$(run_loop under)
wait $FLOOD_PID
sent=$(cat "$TMP/flood")
check "the flood ran: $sent spoofed SYNs sent at $FLOOD/s ($((FLOOD * 4)) asked)" \
	test "$sent" -ge $((FLOOD * 3))
check "under the flood: every real connection succeeds ($under)" \
	test "$(jget "$under" .ok)" = "$(jget "$under" .total)" -a "$(jget "$under" .total)" -gt 0
read -r u50 u99 umax <<<"$(lat "$TMP/under")"
echo "# connect latency (connect + GET + answer), ms: without flood p50 $b50 p99 $b99 max $bmax;" \
	"under a $FLOOD SYN/s spoofed flood p50 $u50 p99 $u99 max $umax"
# Loose: within the 2 s timeout by far (what a bulkhead full of spoofed SYNs would break).
check "under the flood: the slowest real connection took ${umax:-?} ms (< 1000)" \
	awk -v m="${umax:-}" 'BEGIN { exit !(m != "" && m < 1000) }'

r1=$(refused)
check "the bulkhead never refused a connection ($r0 -> $r1 bh_service)" test "$r1" = "$r0"
n1=$(nmap sl_flows_v3)
real=$(($(jget "$base" .total) + $(jget "$under" .total)))
check "flow table: $((n1 - n0)) new entries for $real real connections, none for $sent SYNs" \
	test $((n1 - n0)) -le "$real"
pend=$(nmap sl_syn_v2)
echo "# pending handshakes in sl_syn_v2 after the flood: $pend (an LRU of 65536: the flood only churns it)"
check "pending handshakes bounded by the sl_syn_v2 LRU ($pend <= 65536)" test "$pend" -le 65536
in_use_zero() { test "$(in_use)" = 0; }
wait_until 3 in_use_zero
check "bulkhead: nothing in use once the real connections closed ($(in_use))" test "$(in_use)" = 0
finish
