#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# This host's own addresses as martian sources (bpf/lib/hygiene.h,
# sl_local_addr), on the namespace lab with Sluice on the gateway:
#  - the attach put the gateway's addresses (IPv4 and IPv6) in sl_local_addr;
#  - with sluiced running, an address added with `ip addr add` is in the map
#    within 5 s, and gone within 5 s of `ip addr del` (rtnetlink events; the
#    bound is for a loaded machine, the event itself takes milliseconds);
#  - a packet to a service from an address the gateway holds is dropped and
#    counted as martian for that service (`stats -j`, `stats`, `service
#    show`, metrics);
#  - the attach turned next-hop caching on (sl_nh_gen not 0), and sluiced
#    makes the cached next hops stale (bumps sl_nh_gen) on a route change,
#    a new neighbour, a neighbour's new MAC and its removal within 5 s (a
#    state change alone does not: tests/unit/test_nbrtab.c);
#  - without sluiced nothing tracks changes: the map keeps what it had.
# Bounded: every wait is; the lab and the daemon are torn down on any exit.
. "$(dirname "$0")/lib.sh"

require_env localaddr
SLUICED=$(realpath "$BUILD/sluiced" 2>/dev/null)
require_tools localaddr bpftool ncat curl jq nginx
[ -x "$SLUICED" ] || bail "localaddr: build first: $BUILD/sluiced missing"
lab_up_steer_or_bail 1 "lab up: client, gateway with Sluice on g0 gb1, 1 nginx backend"

DTMP=$LAB_STATE/localaddr
mkdir -p "$DTMP"
SOCK=$DTMP/sluiced.sock
LOG=$DTMP/sluiced.log
export SLUICE_SOCKET=$SOCK
VIP=198.19.0.10
PORT=9000
SVC="$VIP $PORT udp"
# An address the test adds to the gateway (and the client, to send from it).
NEW4=198.18.0.99
NEW6=fd00:5c::99
DPID=

# in_map KEY...: the sl_local_addr entry of KEY (16 bytes, as bpftool takes them) exists.
in_map() { bpftool map lookup pinned "$SLUICE_PIN_ROOT/sl_local_addr" key "$@" >/dev/null 2>&1; }
not() { ! "$@"; }
# v4-mapped keys of the lab's addresses.
K_HOST4="0 0 0 0 0 0 0 0 0 0 255 255 198 18 0 1"
K_NEW4="0 0 0 0 0 0 0 0 0 0 255 255 198 18 0 99"
K_HOST6="hex fd 00 00 5c 00 00 00 00 00 00 00 00 00 00 00 01"
K_NEW6="hex fd 00 00 5c 00 00 00 00 00 00 00 00 00 00 00 99"
metrics() { in_gw curl -s -m 5 http://127.0.0.1:9471/metrics; }

daemon_cleanup() {
	[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
	cleanup
}
trap daemon_cleanup EXIT

check "attach: the gateway's IPv4 address is in sl_local_addr" in_map $K_HOST4
check "attach: the gateway's IPv6 address is in sl_local_addr" in_map $K_HOST6
check "attach: $NEW4 is not (not configured)" not in_map $K_NEW4

nsenter --net=/run/netns/"$GW_NS" -- "$SLUICED" --pin-root "$LAB_PIN_ROOT" \
	--journal "$DTMP/journal" --socket "$SOCK" --metrics 127.0.0.1:9471 >>"$LOG" 2>&1 &
DPID=$!
wait_alive "$DPID" ping_ok || bail "sluiced starts ($(tail -3 "$LOG"))"
tap_ok "sluiced runs in the gateway namespace"

# --- the next hops the data plane caches (bpf/lib/nhcache.h) -----------------
# sl_nh_gen as bpftool prints its value; sluiced bumps it on every route,
# neighbour, link and address event (the cached next hops go stale).
nh_gen() { bpftool -j map lookup pinned "$SLUICE_PIN_ROOT/sl_nh_gen" key 0 0 0 0 | jq -c .value; }
gen_moved() { [ "$(nh_gen)" != "$1" ]; }
g=$(nh_gen)
check "attach and sluiced: next-hop caching is on (sl_nh_gen not 0)" \
	test -n "$g" -a "$g" != '["0x00","0x00","0x00","0x00"]'
in_gw ip route add 203.0.113.0/24 dev g0
check "ip route add: sl_nh_gen moves within 5 s" wait_until 5 gen_moved "$g"
g=$(nh_gen)
in_gw ip neigh replace 198.18.0.77 lladdr 02:00:00:00:00:77 dev g0 nud permanent
check "ip neigh replace: sl_nh_gen moves within 5 s" wait_until 5 gen_moved "$g"
g=$(nh_gen)
in_gw ip neigh replace 198.18.0.77 lladdr 02:00:00:00:00:78 dev g0 nud permanent
check "the neighbour's new MAC: sl_nh_gen moves within 5 s" wait_until 5 gen_moved "$g"
g=$(nh_gen)
in_gw ip neigh del 198.18.0.77 dev g0
in_gw ip route del 203.0.113.0/24 dev g0
check "ip neigh del, ip route del: sl_nh_gen moves within 5 s" wait_until 5 gen_moved "$g"

# --- address added and removed while sluiced runs ----------------------------
t0=$(now_ns)
in_gw ip addr add $NEW4/32 dev g0
in_gw ip -6 addr add $NEW6/128 dev g0 nodad
check "ip addr add $NEW4: in sl_local_addr within 5 s" wait_until 5 in_map $K_NEW4
check "ip addr add $NEW6: in sl_local_addr within 5 s" wait_until 5 in_map $K_NEW6
echo "# added addresses seen after $((($(now_ns) - t0) / 1000000)) ms"
check "the gateway's own addresses are still there" in_map $K_HOST4

# A packet to a service from an address the gateway holds: spoofed, martian.
check "service add $SVC mode local" sluice service add $SVC mode local
in_cli ip addr add $NEW4/24 dev c0
m0=$(svc_stat $VIP $PORT udp martian packets)
for _ in 1 2 3; do
	echo x | in_cli timeout 2 ncat -u -s $NEW4 $VIP $PORT >/dev/null 2>&1
done
martian_is() { [ "$(svc_stat $VIP $PORT udp martian packets)" = "$1" ]; }
check "3 packets from $NEW4 counted as martian for $SVC" wait_until 3 martian_is $((m0 + 3))
check "... and none admitted" test "$(svc_stat $VIP $PORT udp admitted packets)" = 0
stats_line() { sluice stats $SVC | grep -Eq "^ *martian +packets 3 "; }
check "sluice stats shows the service's martian line" stats_line
show_line() { sluice service show $SVC | grep -q "dropped bad_flags 0 martian 3"; }
check "sluice service show: dropped bad_flags 0 martian 3" show_line
check "sluice -j service show: martian 3" \
	test "$(sluice -j service show $SVC | jq -r '.[0].martian')" = 3
metrics >"$DTMP/metrics.txt"
check "metrics: sluice_service_packets_total of $SVC, reason martian, is 3" \
	grep -q "^sluice_service_packets_total{service=\"$SVC\",reason=\"martian\"} 3\$" \
	"$DTMP/metrics.txt"
in_cli ip addr del $NEW4/24 dev c0

t0=$(now_ns)
in_gw ip addr del $NEW4/32 dev g0
in_gw ip -6 addr del $NEW6/128 dev g0
check "ip addr del $NEW4: gone from sl_local_addr within 5 s" wait_until 5 not in_map $K_NEW4
check "ip addr del $NEW6: gone from sl_local_addr within 5 s" wait_until 5 not in_map $K_NEW6
echo "# removed addresses gone after $((($(now_ns) - t0) / 1000000)) ms"
check "the gateway's own addresses are still there" in_map $K_HOST6

# --- without sluiced: nothing tracks changes --------------------------------
kill -TERM "$DPID"
wait "$DPID"
check "sluiced stops (status 0)" test $? = 0
DPID=
in_gw ip addr add $NEW4/32 dev g0
sleep 1
check "without sluiced an added address is not tracked" not in_map $K_NEW4
reattach() { sluice iface attach gb1 --force >/dev/null && in_map $K_NEW4; }
check "... until the next attach syncs the map" reattach
in_gw ip addr del $NEW4/32 dev g0

finish
