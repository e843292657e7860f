#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The namespace lab shared by `sluice lab`, `make demo`, the integration
# tests and the benchmarks. Two ways to use it:
#
#   bash tools/lab.sh up [backends N] | down | status [-j]
#       what `sluice lab` runs (tools/sluice/lab.c); LAB_ID defaults to "lab",
#       pins go to LAB_PIN_ROOT (default /sys/fs/bpf/sluice-lab).
#   . tools/lab.sh   (from bash; set LAB_ID first, default: $$)
#       lab_up                 the two-namespace lab (client, gateway)
#       lab_up_steer [N]       the whole lab: + N backends running nginx, forwarding,
#                              XDP programs on the veth peers (no Sluice yet)
#       lab_attach             attach Sluice (native XDP) to g0 and every gbI
#       lab_up_ha [N]          the two-gateway HA lab on one bridge, N backends
#                              (default 2; see "The HA lab" below)
#       lab_attach_ha          attach Sluice to g0 in both gateways, own pins each
#       lab_up_bgp [G] [N]     G gateways behind a BGP/ECMP router, N backends
#                              (see "The BGP / ECMP lab" below)
#       lab_down               remove everything of LAB_ID, either lab (idempotent)
#
# Topology (every name carries LAB_ID, so several labs can run side by side;
# the interface names repeat, but each lives in its own namespace):
#
#   netns slc-ID (client)          netns slg-ID (gateway)
#   +-------------------+          +--------------------------------+
#   | c0 198.18.0.2-5   |<--veth-->| g0  198.18.0.1   fd00:5c::1    |
#   |    fd00:5c::2-5   |          |                                |
#   | (XDP pass prog)   |          | gb1 198.18.1.1   fd00:5c:1::1  |<--veth--> b0  netns slb1-ID
#   +-------------------+          | gb2 198.18.2.1   fd00:5c:2::1  |<--veth--> b0  netns slb2-ID
#                                  | gbN ...                        |<--veth--> b0  netns slbN-ID
#                                  | Sluice (native XDP) on g0 and  |
#                                  | every gbI; forwarding on       |
#                                  +--------------------------------+
#   backend I (netns slbI-ID): b0 198.18.I.2 fd00:5c:I::2, MTU 1600, sluice_decap
#   (XDP) on b0, nginx on :80 (IPv4 and IPv6) answering "backend-I", default
#   routes via the gateway, the VIP ranges local on lo (for ipip / DSR).
#
# Addresses:
#
#   what                      IPv4                  IPv6
#   client c0 (4 clients)     198.18.0.2-5/24       fd00:5c::2-5/64
#   gateway g0                198.18.0.1/24         fd00:5c::1/64
#   gateway gbI (I = 1..N)    198.18.I.1/24         fd00:5c:I::1/64
#   backend I, b0             198.18.I.2/24         fd00:5c:I::2/64
#   service addresses (VIPs)  198.19.0.0/24         fd00:5c:ff::/64
#   ipip outer source         198.18.0.1 ^ hash     fd00:5c::1 ^ hash
#
# 198.18.0.0/15 is the RFC 2544 benchmarking range and fd00:5c::/32 a ULA
# prefix: neither is reachable outside these namespaces. The client routes
# the VIP ranges via the gateway; the gateway has no route to them (only
# Sluice knows where a VIP goes); backends route everything back via the
# gateway, so nat replies meet Sluice's return path on gbI and ipip (DSR)
# replies are plain forwarded traffic.
#
# veth traps, all handled below:
#  - XDP_REDIRECT into a veth is delivered only if the peer end runs an XDP
#    program: sluice_decap (build/bpf/decap.bpf.o) sits on every backend's b0
#    (it also decapsulates ipip, as these kernels have no ipip/ip6tnl
#    modules) and a pass program (decap again: it passes what is not
#    encapsulated) on the client's c0, where nat replies are redirected to.
#  - ipip adds 20 (IPv4) or 40 (IPv6) bytes; the gateway drops what no longer
#    fits the egress MTU (reason too_big), so the backend links run at MTU
#    1600 and a full 1500-byte client packet still fits once encapsulated.
#  - veth hands TCP/UDP packets over with CHECKSUM_PARTIAL (the checksum
#    field holds only the pseudo-header sum; "the hardware" would finish it).
#    XDP sees the raw bytes and the mark is lost once Sluice rewrites and
#    redirects the frame, so the receiver finds a wrong checksum. Real NICs
#    put complete checksums on the wire: the lab turns TX checksum offload
#    off (ethtool -K tx off) on the senders, c0 and every b0.
#  - a bridge would not do: XDP_REDIRECT into a bridge port does not reach
#    the bridge, hence one veth pair per backend.
#  - bpf_fib_lookup only succeeds with a resolved neighbour (else the packet
#    goes to the stack, reason fwd_stack): every neighbour is static.
#  - the gateway forwards (ip_forward, IPv6 forwarding) what Sluice passes,
#    and rp_filter is off there (DSR replies come from VIPs it has no route
#    to) and on backends (decapsulated packets arrive for lo addresses).
#  - `ip netns exec` remounts /sys and hides the pins: nsenter is used.
#
# The HA lab (lab_up_ha [N], lab_attach_ha): two gateways on one L2 segment,
# either of which may hold a VIP (tests/integration/vipctl, or sluiced's
# cluster code, adds it to its g0 and announces it). ipip (DSR) only: the
# backends answer the client directly, never through a gateway.
#
#                        netns sls-ID (switch): bridge br0
#          +------------+------------+------------+------------+-- ...
#          | sc0        | sg1 (XDP)  | sg2 (XDP)  | sb1        | sbN
#          |            |            |            |            |
#         c0           g0           g0           b0           b0
#    slc-ID (client) slg1-ID       slg2-ID      slb1-ID ...  slbN-ID
#                    (gateway 1)   (gateway 2)  (backend 1)  (backend N)
#
#   what                      IPv4                  IPv6               MTU
#   client c0 (4 clients)     198.18.0.2-5/24       fd00:5c::2-5/64    1500
#   gateway 1 g0              198.18.0.1/24         fd00:5c::1/64      1600
#   gateway 2 g0              198.18.0.6/24         fd00:5c::6/64      1600
#   backend I b0 (I=1..200)   198.18.0.(10+I)/24    fd00:5c::(10+I)/64 1600
#   VIPs (on-link for c0)     198.19.0.0/24         fd00:5c:ff::/64
#   ipip outer source, gw I   its g0 address (^ hash, as above)
#
# (backend 1 is 198.18.0.11 and fd00:5c::11: ha_be_addr4 / ha_be_addr6 I.)
#  - The client routes the VIP ranges on-link (dev c0): it asks ARP / ND for
#    a VIP and the gateway that has it on g0 answers. Its neighbour entries
#    are dynamic, so a gratuitous ARP / unsolicited NA moves a VIP at once.
#  - Gateways: forwarding on, rp_filter off, static neighbours for the
#    client addresses and every backend, TX checksum off on g0. Sluice goes
#    on g0 (lab_attach_ha) with pin root $LAB_PIN_ROOT-g1 resp. -g2 (the
#    pins live in the root namespace's bpffs, and both interfaces are
#    called g0); ha_pin_root I names it, sluice_gwi I ARGS runs the CLI in
#    gateway I on its pins, in_gwi I CMD runs CMD there.
#  - A gateway sends encapsulated frames back out of g0 with XDP_TX; veth
#    delivers them only when the peer (the bridge port sgI in the switch)
#    runs an XDP program: floor.bpf.o, a pure XDP_PASS (not decap: the
#    switch must not strip the tunnel). Verified: without it, no frame
#    reaches the bridge.
#  - Backends: sluice_decap on b0, the VIP ranges local on lo, nginx (as in
#    lab_up_steer), static neighbours for the client addresses, no default
#    route (the client is on-link), arp_ignore=1 and arp_announce=2: they
#    hold every VIP on lo but must neither answer ARP for one nor send ARP
#    from one (either would steal the client's neighbour entry).
#  - The bridge has no STP and no multicast snooping, a static forwarding
#    entry for every MAC (no unicast is flooded to the other gateway, whose
#    XDP program would see it before the stack drops it), and no IPv6 in
#    the switch namespace. Every namespace skips IPv6 DAD.

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	LAB_ID=${LAB_ID:-lab}
else
	LAB_ID=${LAB_ID:-$$}
fi
CLI_NS=slc-$LAB_ID
GW_NS=slg-$LAB_ID
HOST_NS=$GW_NS # the foundation tests' name for the gateway
GW_IF=g0
CLIENT4=198.18.0.2
HOST4=198.18.0.1
CLIENT6=fd00:5c::2
HOST6=fd00:5c::1
CLIENTS4="198.18.0.2 198.18.0.3 198.18.0.4 198.18.0.5"
CLIENTS6="fd00:5c::2 fd00:5c::3 fd00:5c::4 fd00:5c::5"
VIP4_NET=198.19.0.0/24
VIP6_NET=fd00:5c:ff::/64
BACKEND_MTU=1600
LAB_STATE=${LAB_STATE:-${TMPDIR:-/tmp}/sluice-lab-$LAB_ID}
LAB_PIN_ROOT=${LAB_PIN_ROOT:-${SLUICE_PIN_ROOT:-/sys/fs/bpf/sluice-lab}}
export SLUICE_PIN_ROOT=$LAB_PIN_ROOT

be_ns() { echo "slb$1-$LAB_ID"; }
be_addr4() { echo "198.18.$1.2"; }
be_addr6() { echo "fd00:5c:$1::2"; }
gw_addr4() { echo "198.18.$1.1"; }
gw_addr6() { echo "fd00:5c:$1::1"; }

in_ns() {
	ns=$1
	shift
	nsenter --net=/run/netns/"$ns" -- "$@"
}
in_cli() { nsenter --net=/run/netns/$CLI_NS -- "$@"; }
# nsenter, not `ip netns exec`: the latter remounts /sys and hides the pins.
in_host() { nsenter --net=/run/netns/$GW_NS -- "$@"; }
in_gw() { in_host "$@"; }
in_be() {
	i=$1
	shift
	nsenter --net=/run/netns/"$(be_ns "$i")" -- "$@"
}
lab_sluice_bin() {
	if [ -n "${SLUICE:-}" ]; then
		echo "$SLUICE"
	else
		echo "${BUILD:-$LAB_DIR/../build}/sluice"
	fi
}
sluice() { in_host "$(lab_sluice_bin)" "$@"; }

# lab_mac NS DEV: the MAC address of DEV in NS. (Not from /sys/class/net:
# without a remount, /sys still shows the root namespace's devices.)
lab_mac() {
	nsenter --net=/run/netns/"$1" -- ip -br link show dev "$2" | awk '{print $3}'
}

# lab_up: client and gateway namespaces joined by c0 <-> g0.
lab_up() {
	ip netns add "$CLI_NS" || return 1
	ip netns add "$GW_NS" || return 1
	# Two queues each way: senders on two CPUs then run the XDP program on
	# both CPUs at once, which is what the multi-CPU rate checks need.
	ip link add c0 netns "$CLI_NS" numtxqueues 2 numrxqueues 2 type veth \
		peer name $GW_IF netns "$GW_NS" numtxqueues 2 numrxqueues 2 || return 1
	in_cli ip link set lo up
	in_host ip link set lo up
	in_cli ip addr add $CLIENT4/24 dev c0
	in_host ip addr add $HOST4/24 dev $GW_IF
	in_cli ip -6 addr add $CLIENT6/64 dev c0 nodad
	in_host ip -6 addr add $HOST6/64 dev $GW_IF nodad
	in_cli ip link set c0 up
	in_host ip link set $GW_IF up
	# Static neighbours: no ARP/ND round trip skews the first measurement.
	mac_c=$(lab_mac "$CLI_NS" c0)
	mac_h=$(lab_mac "$GW_NS" $GW_IF)
	in_cli ip neigh replace $HOST4 lladdr "$mac_h" dev c0 nud permanent
	in_cli ip -6 neigh replace $HOST6 lladdr "$mac_h" dev c0 nud permanent
	in_host ip neigh replace $CLIENT4 lladdr "$mac_c" dev $GW_IF nud permanent
	in_host ip -6 neigh replace $CLIENT6 lladdr "$mac_c" dev $GW_IF nud permanent
}

# lab_xdp_obj: the XDP program for veth peers (decap; floor if decap is not built).
lab_xdp_obj() {
	b=${BUILD:-$LAB_DIR/../build}
	if [ -f "$b/bpf/decap.bpf.o" ]; then
		echo "$b/bpf/decap.bpf.o"
	else
		echo "lab: $b/bpf/decap.bpf.o missing, using floor.bpf.o (ipip will not work)" >&2
		echo "$b/bpf/floor.bpf.o"
	fi
}

# lab_nginx I: start backend I's nginx (config, pid, logs under $LAB_STATE/bI).
lab_nginx() {
	i=$1
	d=$LAB_STATE/b$i
	mkdir -p "$d/www" "$d/tmp" "$d/logs" || return 1
	# 1 MiB of "backend-I" lines: served at 100 KiB/s by /slow, a ~10 s
	# download that plays the long-lived connection.
	yes "backend-$i" | head -c 1048576 >"$d/www/big"
	cat >"$d/nginx.conf" <<EOF
# backend $i of lab $LAB_ID (generated by tools/lab.sh)
daemon on;
master_process on;
worker_processes 1;
user root;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	default_type text/plain;
	keepalive_timeout 65;
	keepalive_requests 1000000;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	server {
		listen 80 default_server reuseport backlog=4096;
		listen [::]:80 default_server ipv6only=on reuseport backlog=4096;
		add_header X-Backend backend-$i always;
		location / { return 200 "backend-$i\n"; }
		location = /slow { alias $d/www/big; limit_rate 100k; }
	}
}
EOF
	in_be "$i" nginx -q -c "$d/nginx.conf" -p "$d" -g "error_log $d/logs/error.log warn;" 2>>"$d/logs/start.log"
}

# lab_be_fail I HOW: backend I dies: "term" (SIGTERM to nginx: a graceful
# stop, the listener closes and SYNs get a RST), "kill" (SIGKILL of nginx's
# master and workers) or "silent" (its link drops everything, nft in the
# backend). lab_be_heal I undoes any of them.
lab_be_fail() {
	master=$(cat "$LAB_STATE/b$1/nginx.pid")
	case $2 in
	term) kill -TERM "$master" ;;
	kill)
		workers=$(pgrep -P "$master")
		kill -KILL "$master" $workers
		;;
	silent)
		in_be "$1" nft -f - <<EOF
table inet silent {
	chain input { type filter hook input priority -300; policy drop; }
	chain output { type filter hook output priority -300; policy drop; }
}
EOF
		;;
	*) return 2 ;;
	esac
}

lab_be_heal() {
	in_be "$1" nft delete table inet silent >/dev/null 2>&1
	pid=$(cat "$LAB_STATE/b$1/nginx.pid" 2>/dev/null)
	# A killed master nobody reaps stays a zombie, which kill -0 still finds.
	if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null ||
		[ "$(ps -o stat= -p "$pid" | cut -c1)" = Z ]; then
		lab_nginx "$1"
		lab_wait_nginx "$(lab_backends)" || return 1
	fi
}

# lab_backend_up I: namespace slbI-ID, veth gbI <-> b0, nginx.
lab_backend_up() {
	i=$1
	ns=$(be_ns "$i")
	ip netns add "$ns" || return 1
	ip link add "gb$i" netns "$GW_NS" numtxqueues 2 numrxqueues 2 mtu $BACKEND_MTU type veth \
		peer name b0 netns "$ns" numtxqueues 2 numrxqueues 2 mtu $BACKEND_MTU || return 1
	in_be "$i" ip link set lo up
	in_be "$i" ip addr add "$(be_addr4 "$i")/24" dev b0
	in_be "$i" ip -6 addr add "$(be_addr6 "$i")/64" dev b0 nodad
	in_gw ip addr add "$(gw_addr4 "$i")/24" dev "gb$i"
	in_gw ip -6 addr add "$(gw_addr6 "$i")/64" dev "gb$i" nodad
	in_be "$i" ip link set b0 up
	in_gw ip link set "gb$i" up
	in_be "$i" ip route add default via "$(gw_addr4 "$i")"
	in_be "$i" ip -6 route add default via "$(gw_addr6 "$i")"
	mac_b=$(lab_mac "$ns" b0)
	mac_g=$(lab_mac "$GW_NS" "gb$i")
	in_be "$i" ip neigh replace "$(gw_addr4 "$i")" lladdr "$mac_g" dev b0 nud permanent
	in_be "$i" ip -6 neigh replace "$(gw_addr6 "$i")" lladdr "$mac_g" dev b0 nud permanent
	in_gw ip neigh replace "$(be_addr4 "$i")" lladdr "$mac_b" dev "gb$i" nud permanent
	in_gw ip -6 neigh replace "$(be_addr6 "$i")" lladdr "$mac_b" dev "gb$i" nud permanent
	lab_backend_dsr "$i"
}

# lab_backend_dsr I: what every backend has, whichever lab it is in: the VIP
# ranges local on lo, rp_filter off, complete checksums, sluice_decap on b0,
# nginx.
lab_backend_dsr() {
	i=$1
	# ipip (DSR): the backend owns every VIP (AnyIP local routes on lo) and
	# answers from it; decapsulated packets arrive on b0 for lo addresses.
	in_be "$i" ip route add local $VIP4_NET dev lo
	in_be "$i" ip -6 route add local $VIP6_NET dev lo
	in_be "$i" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.conf.b0.rp_filter=0 net.ipv4.conf.lo.rp_filter=0
	# Complete checksums from the backend's stack (see "veth traps" above).
	in_be "$i" ethtool -K b0 tx off >/dev/null || return 1
	# sluice_decap: strips the ipip outer header, and is the XDP program a
	# veth peer needs for the gateway's XDP_REDIRECT to be delivered.
	in_be "$i" ip link set dev b0 xdpdrv obj "$(lab_xdp_obj)" sec xdp || return 1
	lab_nginx "$i"
}

# lab_up_steer [N]: the whole lab with N backends (default 3); Sluice not attached.
lab_up_steer() {
	n=${1:-3}
	mkdir -p "$LAB_STATE" || return 1
	echo "$n" >"$LAB_STATE/backends"
	lab_up || return 1
	in_gw sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.conf.$GW_IF.rp_filter=0
	mac_c=$(lab_mac "$CLI_NS" c0)
	for a in $CLIENTS4; do
		[ "$a" = $CLIENT4 ] || in_cli ip addr add "$a/24" dev c0
		in_gw ip neigh replace "$a" lladdr "$mac_c" dev $GW_IF nud permanent
	done
	for a in $CLIENTS6; do
		[ "$a" = $CLIENT6 ] || in_cli ip -6 addr add "$a/64" dev c0 nodad
		in_gw ip -6 neigh replace "$a" lladdr "$mac_c" dev $GW_IF nud permanent
	done
	in_cli ip route add $VIP4_NET via $HOST4
	in_cli ip -6 route add $VIP6_NET via $HOST6
	in_cli ethtool -K c0 tx off >/dev/null || return 1
	# The pass program on c0: nat replies are XDP_REDIRECTed from gbI to g0.
	in_cli ip link set dev c0 xdpdrv obj "$(lab_xdp_obj)" sec xdp || return 1
	lab_backends_up lab_backend_up "$n"
}

# lab_backends_up FN N: FN I for the backends I = 1..N (either lab), then wait
# until their nginx listen.
lab_backends_up() {
	i=1
	while [ "$i" -le "$2" ]; do
		"$1" "$i" || return 1
		i=$((i + 1))
	done
	lab_wait_nginx "$2"
}

# lab_wait_nginx N: nginx daemonizes; wait (bounded) until backends 1..N listen.
lab_wait_nginx() {
	n=$1
	for _ in $(seq 50); do
		ok=1
		i=1
		while [ "$i" -le "$n" ]; do
			in_be "$i" ss -Hltn 'sport = :80' | grep -q . || ok=0
			i=$((i + 1))
		done
		[ $ok = 1 ] && return 0
		sleep 0.1
	done
	echo "lab: nginx did not start (see $LAB_STATE/b*/logs)" >&2
	return 1
}

# lab_backends: how many backends the lab has.
lab_backends() { cat "$LAB_STATE/backends" 2>/dev/null || echo 0; }

# lab_attach: Sluice (native XDP; SLUICE_LAB_HOOK=tc: at TC ingress) on g0
# and on every gbI; the ipip outer sources.
lab_attach() {
	set -- ${SLUICE_LAB_HOOK:+--hook "$SLUICE_LAB_HOOK"}
	sluice iface attach $GW_IF "$@" >/dev/null || return 1
	i=1
	while [ "$i" -le "$(lab_backends)" ]; do
		sluice iface attach "gb$i" "$@" >/dev/null || return 1
		i=$((i + 1))
	done
	# The ipip outer source (its low 16 bits are XORed with the flow hash).
	sluice gateway set encap-source4 $HOST4 encap-source6 $HOST6 >/dev/null ||
		echo "lab: 'sluice gateway set' failed: ipip services will drop (encap_fail)" >&2
	return 0
}

# --- the two-gateway HA lab (lab_up_ha) --------------------------------------

SW_NS=sls-$LAB_ID
HA_BR=br0
HA_GW_MTU=1600
HA_MAX_BACKENDS=200

ha_gw_ns() { echo "slg$1-$LAB_ID"; }
ha_gw_addr4() { if [ "$1" = 1 ]; then echo 198.18.0.1; else echo 198.18.0.6; fi; }
ha_gw_addr6() { if [ "$1" = 1 ]; then echo fd00:5c::1; else echo fd00:5c::6; fi; }
ha_be_addr4() { echo "198.18.0.$((10 + $1))"; }
ha_be_addr6() { echo "fd00:5c::$((10 + $1))"; } # same digits as IPv4's last byte
# ha_pin_root I: gateway I's own pin root (both attach to a "g0", and pins
# live in the root namespace's bpffs, so one shared root would collide).
ha_pin_root() { echo "${LAB_PIN_ROOT%/}-g$1"; }
in_sw() { nsenter --net=/run/netns/"$SW_NS" -- "$@"; }
# in_gwi I CMD...: run CMD in gateway I's namespace.
in_gwi() {
	g=$1
	shift
	nsenter --net=/run/netns/"$(ha_gw_ns "$g")" -- "$@"
}
# sluice_gwi I ARGS...: the CLI in gateway I's namespace, on gateway I's pins.
sluice_gwi() {
	g=$1
	shift
	in_gwi "$g" "$(lab_sluice_bin)" --pin-root "$(ha_pin_root "$g")" "$@"
}

# lab_ha_pass_obj: a pure XDP_PASS program for the bridge ports (not decap:
# the switch must hand tunnelled frames on untouched).
lab_ha_pass_obj() { echo "${BUILD:-$LAB_DIR/../build}/bpf/floor.bpf.o"; }

# lab_ha_port NS DEV PORT MTU: veth DEV in NS <-> PORT on the switch's bridge.
# Every link has a static forwarding entry for its MAC in the bridge, so no
# unicast frame is ever flooded to the other gateway (its XDP program runs
# before the stack drops frames that are not for its MAC).
lab_ha_port() {
	ip link add "$2" netns "$1" numtxqueues 2 numrxqueues 2 mtu "$4" type veth \
		peer name "$3" netns "$SW_NS" numtxqueues 2 numrxqueues 2 mtu "$4" || return 1
	in_sw ip link set "$3" master $HA_BR up || return 1
	in_ns "$1" ip link set lo up
	in_ns "$1" ip link set "$2" up || return 1
	in_sw bridge fdb replace "$(lab_mac "$1" "$2")" dev "$3" master static
}

# lab_ha_ns NS: a new namespace whose links skip IPv6 DAD (nothing tentative).
lab_ha_ns() {
	ip netns add "$1" || return 1
	in_ns "$1" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
}

# lab_ha_gateway I [ADDR4 ADDR6]: gateway I's namespace and g0 (addresses:
# default ha_gw_addr4/6 I); forwarding on (bpf_fib_lookup refuses without
# it), rp_filter off, static neighbours for every client address when the
# client is on the bridge (HA_MAC_C set; backends: lab_ha_backend).
lab_ha_gateway() {
	g=$1
	ns=$(ha_gw_ns "$g")
	lab_ha_ns "$ns" || return 1
	lab_ha_port "$ns" $GW_IF "sg$g" $HA_GW_MTU || return 1
	in_gwi "$g" ip addr add "${2:-$(ha_gw_addr4 "$g")}/24" dev $GW_IF
	in_gwi "$g" ip -6 addr add "${3:-$(ha_gw_addr6 "$g")}/64" dev $GW_IF nodad
	in_gwi "$g" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.conf.$GW_IF.rp_filter=0
	in_gwi "$g" ethtool -K $GW_IF tx off >/dev/null || return 1
	[ -n "${HA_MAC_C:-}" ] && for a in $CLIENTS4; do
		in_gwi "$g" ip neigh replace "$a" lladdr "$HA_MAC_C" dev $GW_IF nud permanent
	done
	[ -n "${HA_MAC_C:-}" ] && for a in $CLIENTS6; do
		in_gwi "$g" ip -6 neigh replace "$a" lladdr "$HA_MAC_C" dev $GW_IF nud permanent
	done
	# The trap: XDP_TX on g0 reaches the bridge only if the peer (sgI) runs XDP.
	in_sw ip link set dev "sg$g" xdpdrv obj "$(lab_ha_pass_obj)" sec xdp || return 1
}

# lab_ha_backend I: backend I on the bridge; DSR replies go straight to the
# client (same subnet, static neighbours). arp_ignore=1 / arp_announce=2
# (the usual DSR settings): the backend owns every VIP on lo, but must never
# answer the client's ARP for one, nor use a VIP as its ARP sender address.
# With ROUTER4 ROUTER6 (the BGP lab), its default routes go through them.
lab_ha_backend() {
	i=$1
	ns=$(be_ns "$i")
	lab_ha_ns "$ns" || return 1
	in_ns "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
	lab_ha_port "$ns" b0 "sb$i" $HA_GW_MTU || return 1
	in_be "$i" ip addr add "$(ha_be_addr4 "$i")/24" dev b0
	in_be "$i" ip -6 addr add "$(ha_be_addr6 "$i")/64" dev b0 nodad
	if [ -n "${2:-}" ]; then
		in_be "$i" ip route add default via "$2"
		in_be "$i" ip -6 route add default via "$3"
	fi
	mac_b=$(lab_mac "$ns" b0)
	[ -n "${HA_MAC_C:-}" ] && for a in $CLIENTS4; do
		in_be "$i" ip neigh replace "$a" lladdr "$HA_MAC_C" dev b0 nud permanent
	done
	[ -n "${HA_MAC_C:-}" ] && for a in $CLIENTS6; do
		in_be "$i" ip -6 neigh replace "$a" lladdr "$HA_MAC_C" dev b0 nud permanent
	done
	for g in $(seq "$(cat "$LAB_STATE/gateways" 2>/dev/null || echo 2)"); do
		in_gwi "$g" ip neigh replace "$(ha_be_addr4 "$i")" lladdr "$mac_b" dev $GW_IF nud permanent
		in_gwi "$g" ip -6 neigh replace "$(ha_be_addr6 "$i")" lladdr "$mac_b" dev $GW_IF nud permanent
	done
	lab_backend_dsr "$i"
}

# lab_ha_switch: the switch namespace and its bridge, without STP (ports
# forward at once) or multicast snooping (IPv6 neighbour discovery is
# flooded, no querier needed).
lab_ha_switch() {
	lab_ha_ns "$SW_NS" || return 1
	in_sw sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
	in_sw ip link set lo up
	in_sw ip link add $HA_BR type bridge stp_state 0 mcast_snooping 0 || return 1
	in_sw ip link set $HA_BR up
}

# lab_up_ha [N]: the two-gateway lab with N backends (default 2, at most
# 200); Sluice not attached, no VIP held (tests/integration/vipctl adds one).
lab_up_ha() {
	n=${1:-2}
	case "$n" in
	'' | *[!0-9]*) n=0 ;;
	esac
	if [ "$n" -lt 1 ] || [ "$n" -gt $HA_MAX_BACKENDS ]; then
		echo "lab: lab_up_ha: give 1..$HA_MAX_BACKENDS backends, got '${1:-}'" >&2
		return 1
	fi
	[ -f "$(lab_ha_pass_obj)" ] || {
		echo "lab: $(lab_ha_pass_obj) missing (make first)" >&2
		return 1
	}
	mkdir -p "$LAB_STATE" || return 1
	echo "$n" >"$LAB_STATE/backends"
	lab_ha_switch || return 1
	# The client: MTU 1500, so that a full packet still fits once a gateway
	# has added the 20 or 40 bytes of ipip. The VIP ranges are on-link: the
	# client asks ARP / ND for a VIP, and the gateway holding it answers;
	# those neighbour entries stay dynamic, so a GARP / NA can move them.
	lab_ha_ns "$CLI_NS" || return 1
	lab_ha_port "$CLI_NS" c0 sc0 1500 || return 1
	HA_MAC_C=$(lab_mac "$CLI_NS" c0)
	for a in $CLIENTS4; do in_cli ip addr add "$a/24" dev c0; done
	for a in $CLIENTS6; do in_cli ip -6 addr add "$a/64" dev c0 nodad; done
	in_cli ip route add $VIP4_NET dev c0
	in_cli ip -6 route add $VIP6_NET dev c0
	in_cli ethtool -K c0 tx off >/dev/null || return 1
	lab_ha_gateway 1 || return 1
	lab_ha_gateway 2 || return 1
	lab_backends_up lab_ha_backend "$n"
}

# lab_attach_ha: Sluice (native XDP) on g0 of both gateways, each on its own
# pins (ha_pin_root I), each with its own ipip outer sources.
lab_attach_ha() {
	for g in 1 2; do
		sluice_gwi "$g" iface attach $GW_IF >/dev/null || return 1
		sluice_gwi "$g" gateway set encap-source4 "$(ha_gw_addr4 "$g")" \
			encap-source6 "$(ha_gw_addr6 "$g")" >/dev/null || return 1
	done
}

# --- the BGP / ECMP lab (lab_up_bgp) ------------------------------------------
#
# lab_up_bgp [G] [N]: G gateways (default 3, at most 9) and N backends
# (default 2) on one bridge with a router; the client sits behind the
# router. ipip (DSR): the backends answer through the router, never
# through a gateway; nat: the router sends a backend's replies to the client
# back to the gateways (ECMP, each held by BFD: a policy rule and table 100,
# lab_bgp_router), any of which translates them (stateless return path). The router runs BIRD (lab_bgp_router: eBGP AS 65000
# with every gateway over IPv4 and IPv6, BFD, ECMP into its kernel tables:
# `merge paths`, L4 multipath hashing); each gateway gets a BIRD main config that includes
# the file sluiced writes (lab_bgp_gw_bird G); the test starts sluiced.
#
#   netns slc-ID (client) c0 <--veth--> r0  netns slr-ID (router) rg0 --+
#                                                                       |
#         netns sls-ID (switch): bridge br0 ---+------+------+------+---+
#                                              sg1    sg2 .. sb1    sb2 ..
#                                              g0     g0     b0     b0
#                                              slg1   slg2   slb1   slb2 (-ID)
#
#   what                  IPv4                 IPv6
#   client c0             198.18.200.2/24      fd00:5c:c8::2/64
#   router r0             198.18.200.1/24      fd00:5c:c8::1/64
#   router rg0            198.18.0.254/24      fd00:5c::fe/64
#   gateway G g0          198.18.0.G/24        fd00:5c::G/64
#   backend I b0          198.18.0.(10+I)/24   fd00:5c::(10+I)/64
#   VIPs                  198.19.0.0/24        fd00:5c:ff::/64
#
# A bridge between router and gateways, not a veth each: a veth whose
# peer goes down takes the router's next hop away at once and hides BFD.
# Switch ports of the gateways run the XDP_PASS program (XDP_TX trap, see
# the HA lab); TX checksum offload is off on every sender.

R_NS=slr-$LAB_ID
BGP_ROUTER4=198.18.0.254
BGP_ROUTER6=fd00:5c::fe
BGP_CLIENT4=198.18.200.2
BGP_CLIENT6=fd00:5c:c8::2
BGP_CLIENT_NET4=198.18.200.0/24
BGP_CLIENT_NET6=fd00:5c:c8::/64
BGP_BACKENDS4=198.18.0.8/29   # backends 1..5: 198.18.0.11-15
BGP_BACKENDS6=fd00:5c::10/124 # and fd00:5c::11-15
BGP_NATRET_TABLE=100
BGP_ROUTER_AS=65000
BGP_GW_AS=65001
bgp_gw_addr4() { echo "198.18.0.$1"; }
bgp_gw_addr6() { echo "fd00:5c::$1"; }
in_r() { nsenter --net=/run/netns/"$R_NS" -- "$@"; }
# bgp_bird_sock NAME: the control socket of the BIRD NAME (router, g1, ...).
bgp_bird_sock() { echo "$LAB_STATE/$1/bird.ctl"; }
# birdc_in NAME CMD...: birdc on that BIRD.
birdc_in() {
	n=$1
	shift
	birdc -s "$(bgp_bird_sock "$n")" "$@"
}

# lab_bgp_bird NS NAME CONF: start BIRD in NS (socket, pid, log under
# $LAB_STATE/NAME) and wait until its socket answers.
lab_bgp_bird() {
	d=$LAB_STATE/$2
	mkdir -p "$d" || return 1
	in_ns "$1" bird -c "$3" -s "$d/bird.ctl" -P "$d/bird.pid" || return 1
	for _ in $(seq 50); do
		birdc -s "$d/bird.ctl" show status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "lab: BIRD $2 did not come up (see $d/bird.log)" >&2
	return 1
}

# lab_bgp_router [on|off]: the router's BIRD, an IPv4 and an IPv6 session
# with every gateway, BFD on (default) or off; BGP_HOLD: its hold time (s).
lab_bgp_router() {
	d=$LAB_STATE/router
	mkdir -p "$d" || return 1
	cat >"$d/bird.conf" <<EOF
# the lab's router (generated by tools/lab.sh)
log "$d/bird.log" all;
router id $BGP_ROUTER4;
protocol device { scan time 1; }
protocol kernel k4 { ipv4 { import none; export all; }; merge paths on; }
protocol kernel k6 { ipv6 { import none; export all; }; merge paths on; }
protocol bfd { interface "*" { interval 100 ms; multiplier 3; }; }
template bgp gateways {
	bfd ${1:-on};
	connect retry time 2;${BGP_HOLD:+
	hold time $BGP_HOLD;}
}
EOF
	# The backends' nat replies to the client (ip rule from lab_up_bgp: table
	# 100): ECMP over the gateways, each next hop held by its BFD session.
	local v4="" v6=""
	g=1
	while [ "$g" -le "$(cat "$LAB_STATE/gateways")" ]; do
		v4="$v4 via $(bgp_gw_addr4 "$g") bfd"
		v6="$v6 via $(bgp_gw_addr6 "$g") bfd"
		g=$((g + 1))
	done
	cat >>"$d/bird.conf" <<EOF
ipv4 table natret4;
ipv6 table natret6;
protocol static snatret4 { ipv4 { table natret4; }; route $BGP_CLIENT_NET4$v4; }
protocol static snatret6 { ipv6 { table natret6; }; route $BGP_CLIENT_NET6$v6; }
protocol kernel kret4 { ipv4 { table natret4; import none; export all; }; kernel table $BGP_NATRET_TABLE; merge paths on; }
protocol kernel kret6 { ipv6 { table natret6; import none; export all; }; kernel table $BGP_NATRET_TABLE; merge paths on; }
EOF
	g=1
	while [ "$g" -le "$(cat "$LAB_STATE/gateways")" ]; do
		cat >>"$d/bird.conf" <<EOF
protocol bgp gw$g from gateways { local $BGP_ROUTER4 as $BGP_ROUTER_AS; neighbor $(bgp_gw_addr4 "$g") as $BGP_GW_AS; ipv4 { import all; export none; }; }
protocol bgp gw${g}v6 from gateways { local $BGP_ROUTER6 as $BGP_ROUTER_AS; neighbor $(bgp_gw_addr6 "$g") as $BGP_GW_AS; ipv6 { import all; export none; }; }
EOF
		g=$((g + 1))
	done
	lab_bgp_bird "$R_NS" router "$d/bird.conf"
}

# lab_bgp_gw_bird G: gateway G's BIRD, whose main config includes
# $LAB_STATE/gG/bird-sluice.conf (empty until sluiced writes it).
lab_bgp_gw_bird() {
	d=$LAB_STATE/g$1
	mkdir -p "$d" || return 1
	: >"$d/bird-sluice.conf"
	cat >"$d/bird.conf" <<EOF
# gateway $1 of the lab (generated by tools/lab.sh); sluiced owns the include
log "$d/bird.log" all;
router id $(bgp_gw_addr4 "$1");
protocol device { scan time 1; }
# the operator's own routes go to the kernel; sluiced's VIPs must not
protocol kernel { ipv4 { export all; }; }
include "$d/bird-sluice.conf";
EOF
	lab_bgp_bird "$(ha_gw_ns "$1")" "g$1" "$d/bird.conf"
}

# The lab's sluiced (lab_bgp_sluiced G, $SLUICED: the daemon's binary): its
# files under $LAB_STATE/gG; services ipip, TCP health checks every 0.3 s:
# BGP_VIP_A and BGP_VIP_6 on backend 1, BGP_VIP_B on backend 2; nat on
# BGP_VIP_A and BGP_VIP_6 port BGP_NAT_PORT to backend 1 port 80; the bgp
# section with both router sessions, BFD, drain-on-stop 10 s.
BGP_VIP_A=198.19.0.1
BGP_VIP_B=198.19.0.2
BGP_VIP_6=fd00:5c:ff::1
BGP_NAT_PORT=8080 # nat services on BGP_VIP_A and BGP_VIP_6 (backend 1, port 80)
bgp_gw_dir() { echo "$LAB_STATE/g$1"; }
# sluice_bgpgw G ARGS...: the CLI in gateway G, on its pins and its daemon's socket.
sluice_bgpgw() {
	local g=$1
	shift
	sluice_gwi "$g" --socket "$(bgp_gw_dir "$g")/sluiced.sock" "$@"
}

# lab_bgp_conf G [EXTRA]: gateway G's sluiced config (EXTRA appended to the bgp
# section; BGP_BFD=off turns BFD off).
lab_bgp_conf() {
	cat <<EOF
daemon:
  metrics: 127.0.0.1:9469
interfaces: [g0]
gateway:
  encap-source4: $(bgp_gw_addr4 "$1")
  encap-source6: $(bgp_gw_addr6 "$1")
services:
  - address: $BGP_VIP_A
    port: 80
    mode: ipip
    health: {type: tcp, interval: 0.3, timeout: 0.2, rise: 1, fall: 1}
    backends: [$(ha_be_addr4 1)]
  - address: $BGP_VIP_B
    port: 80
    mode: ipip
    health: {type: tcp, interval: 0.3, timeout: 0.2, rise: 1, fall: 1}
    backends: [$(ha_be_addr4 2)]
  - address: "$BGP_VIP_6"
    port: 80
    mode: ipip
    health: {type: tcp, interval: 0.3, timeout: 0.2, rise: 1, fall: 1}
    backends: ["$(ha_be_addr6 1)"]
  - address: $BGP_VIP_A
    port: $BGP_NAT_PORT
    mode: nat
    health: {type: tcp, interval: 0.3, timeout: 0.2, rise: 1, fall: 1}
    backends: [{address: $(ha_be_addr4 1), port: 80}]
  - address: "$BGP_VIP_6"
    port: $BGP_NAT_PORT
    mode: nat
    health: {type: tcp, interval: 0.3, timeout: 0.2, rise: 1, fall: 1}
    backends: [{address: "$(ha_be_addr6 1)", port: 80}]
bgp:
  asn: $BGP_GW_AS
  router-id: $(bgp_gw_addr4 "$1")
  socket: $(bgp_bird_sock "g$1")
  include: $(bgp_gw_dir "$1")/bird-sluice.conf
  bfd: ${BGP_BFD:-on}
  drain-on-stop: 10
  communities: [$BGP_GW_AS:14]
  prefixes: [198.19.0.0/24, "fd00:5c:ff::/64"]
  peers:
    - {name: r1, address: $BGP_ROUTER4, asn: $BGP_ROUTER_AS}
    - {name: r1v6, address: "$BGP_ROUTER6", asn: $BGP_ROUTER_AS}
${2:-}
EOF
}

# lab_bgp_sluiced G: start gateway G's sluiced on lab_bgp_conf G (pid in
# $LAB_STATE/gG/sluiced.pid, log beside it); lab_down stops it.
lab_bgp_sluiced() {
	local d
	d=$(bgp_gw_dir "$1")
	lab_bgp_conf "$1" >"$d/sluice.yaml"
	nsenter --net=/run/netns/"$(ha_gw_ns "$1")" -- "$SLUICED" --pin-root "$(ha_pin_root "$1")" \
		--journal "$d/journal" --socket "$d/sluiced.sock" \
		--config "$d/sluice.yaml" >>"$d/sluiced.log" 2>&1 &
	echo $! >"$d/sluiced.pid"
	disown # no job report when it is SIGKILLed
}

# lab_wait_ms LIMIT_MS CMD...: poll CMD every 20 ms; print the ms it took;
# fail past LIMIT_MS.
lab_wait_ms() {
	local limit=$1 t0 dt
	shift
	t0=$(date +%s%N)
	while :; do
		dt=$((($(date +%s%N) - t0) / 1000000))
		if "$@" >/dev/null 2>&1; then
			echo "$dt"
			return 0
		fi
		[ "$dt" -ge "$limit" ] && {
			echo "$dt"
			return 1
		}
		sleep 0.02
	done
}

# bgp_nexthops VIP: how many next hops the router's kernel route to VIP has (0: none).
bgp_nexthops() {
	local r
	case $1 in
	*:*) r=$(in_r ip -6 route show "$1/128") ;;
	*) r=$(in_r ip route show "$1/32") ;;
	esac
	if [ -z "$r" ]; then
		echo 0
	elif grep -q nexthop <<<"$r"; then
		grep -c 'nexthop via' <<<"$r"
	else
		echo 1
	fi
}

# lab_up_bgp [G] [N]: namespaces, links, addresses, nginx; no BIRD yet.
lab_up_bgp() {
	ng=${1:-3}
	n=${2:-2}
	mkdir -p "$LAB_STATE" || return 1
	echo "$n" >"$LAB_STATE/backends"
	echo "$ng" >"$LAB_STATE/gateways"
	lab_ha_switch || return 1
	lab_ha_ns "$CLI_NS" || return 1
	lab_ha_ns "$R_NS" || return 1
	ip link add c0 netns "$CLI_NS" type veth peer name r0 netns "$R_NS" || return 1
	in_cli ip link set lo up
	in_cli ip addr add $BGP_CLIENT4/24 dev c0
	in_cli ip -6 addr add $BGP_CLIENT6/64 dev c0 nodad
	in_cli ip link set c0 up
	in_cli ip route add default via 198.18.200.1
	in_cli ip -6 route add default via fd00:5c:c8::1
	in_cli ethtool -K c0 tx off >/dev/null || return 1
	in_r ip link set lo up
	in_r ip addr add 198.18.200.1/24 dev r0
	in_r ip -6 addr add fd00:5c:c8::1/64 dev r0 nodad
	in_r ip link set r0 up
	lab_ha_port "$R_NS" rg0 sr0 $HA_GW_MTU || return 1
	in_r ip addr add $BGP_ROUTER4/24 dev rg0
	in_r ip -6 addr add $BGP_ROUTER6/64 dev rg0 nodad
	in_r ethtool -K rg0 tx off >/dev/null || return 1
	in_r ethtool -K r0 tx off >/dev/null || return 1
	# Forwarding, and ECMP on the 5-tuple (hash policy 1: L4).
	in_r sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.fib_multipath_hash_policy=1 net.ipv6.fib_multipath_hash_policy=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	g=1
	HA_MAC_C= # the client is behind the router, not on the bridge
	while [ "$g" -le "$ng" ]; do
		lab_ha_gateway "$g" "$(bgp_gw_addr4 "$g")" "$(bgp_gw_addr6 "$g")" || return 1
		g=$((g + 1))
	done
	i=1
	while [ "$i" -le "$n" ]; do
		lab_ha_backend "$i" $BGP_ROUTER4 $BGP_ROUTER6 || return 1
		# nat replies go through the router to a gateway: no shortcut learnt.
		in_be "$i" sysctl -qw net.ipv4.conf.all.accept_redirects=0 \
			net.ipv6.conf.all.accept_redirects=0 net.ipv6.conf.b0.accept_redirects=0
		i=$((i + 1))
	done
	# nat: a backend's reply to the client (its own source address, where
	# ipip's DSR replies carry the VIP's) is routed to the gateways (table
	# 100, filled by the router's BIRD, lab_bgp_router), which translate it
	# back; a gateway reaches the client through the router.
	in_r sysctl -qw net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.rg0.send_redirects=0
	in_r ip rule add from $BGP_BACKENDS4 to $BGP_CLIENT_NET4 iif rg0 lookup $BGP_NATRET_TABLE
	in_r ip -6 rule add from $BGP_BACKENDS6 to $BGP_CLIENT_NET6 iif rg0 lookup $BGP_NATRET_TABLE
	g=1
	while [ "$g" -le "$ng" ]; do
		in_gwi "$g" ip route add $BGP_CLIENT_NET4 via $BGP_ROUTER4
		in_gwi "$g" ip -6 route add $BGP_CLIENT_NET6 via $BGP_ROUTER6
		g=$((g + 1))
	done
	lab_wait_nginx "$n"
}

# lab_namespaces: every namespace of this LAB_ID that exists.
lab_namespaces() {
	ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^sl(c|s|r|g[0-9]?|h|b[0-9]+)-$LAB_ID\$" |
		sed 's/^sl\([csr]\)/0 sl\1/; s/^sl\([gh]\)/1 sl\1/; s/^slb\([0-9]*\)/2 \1 slb\1/' |
		sort -k1,1n -k2,2n | awk '{print $NF}'
}

# lab_down: kill whatever still runs in the namespaces, then remove them, the
# pins (only a lab's own pin root, never the default one) and the state folder.
lab_down() {
	nss=$(lab_namespaces)
	for ns in $nss; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		# shellcheck disable=SC2086
		[ -n "$pids" ] && kill $pids 2>/dev/null
	done
	for ns in $nss; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			[ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break
			sleep 0.1
		done
		pids=$(ip netns pids "$ns" 2>/dev/null)
		# shellcheck disable=SC2086
		[ -n "$pids" ] && kill -9 $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	case "$LAB_PIN_ROOT" in
	/sys/fs/bpf/sluice | /sys/fs/bpf/sluice/) ;;
	/sys/fs/bpf/?*) rm -rf "$LAB_PIN_ROOT" "${LAB_PIN_ROOT%/}"-g[0-9] ;;
	esac
	case "$LAB_STATE" in
	*/sluice-lab-*) rm -rf "$LAB_STATE" ;;
	esac
	return 0
}

# --- `sluice lab` -----------------------------------------------------------

lab_json_ns() {
	# lab_json_ns NS ROLE: one namespace as a JSON object.
	ns=$1
	role=$2
	links=$(in_ns "$ns" ip -j addr show 2>/dev/null || echo '[]')
	xdp=$(in_ns "$ns" ip -j -d link show 2>/dev/null || echo '[]')
	nginx=null
	if [ "$role" = backend ]; then
		i=${ns#slb}
		i=${i%%-*}
		pid=$(cat "$LAB_STATE/b$i/nginx.pid" 2>/dev/null)
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			nginx="{\"state\":\"running\",\"pid\":$pid,\"name\":\"backend-$i\"}"
		else
			nginx='{"state":"stopped"}'
		fi
	fi
	jq -n --arg ns "$ns" --arg role "$role" --argjson links "$links" --argjson xdp "$xdp" \
		--argjson nginx "$nginx" '{namespace: $ns, role: $role,
		interfaces: [$links[] | select(.ifname != "lo" or ($links | length) == 1) |
			{ifname, mtu, state: .operstate,
			 addresses: [.addr_info[] | select(.scope == "global") | "\(.local)/\(.prefixlen)"],
			 xdp_prog_id: ((.ifname as $n | $xdp[] | select(.ifname == $n) | .xdp.prog.id) // null)}
			| select(.addresses != [] or .xdp_prog_id != null)],
		nginx: $nginx}'
}

lab_status() {
	json=0
	[ "${1:-}" = -j ] && json=1
	nss=$(lab_namespaces)
	objs=""
	for ns in $nss; do
		case "$ns" in
		slc-*) role=client ;;
		sls-*) role=switch ;;
		slg-* | slg[12]-* | slh-*) role=gateway ;;
		*) role=backend ;;
		esac
		objs="$objs$(lab_json_ns "$ns" $role)"
	done
	attached='[]'
	if [ -e /run/netns/$GW_NS ]; then
		attached=$(sluice -j iface show 2>/dev/null) || attached='[]'
	fi
	all=$(printf '%s' "$objs" | jq -cs --arg id "$LAB_ID" --arg pins "$LAB_PIN_ROOT" \
		--argjson att "$attached" --arg v4 $VIP4_NET --arg v6 $VIP6_NET \
		'{lab: $id, up: (length > 0), pin_root: $pins, vip_ranges: [$v4, $v6],
		  namespaces: ., sluice_attached: $att}')
	if [ $json = 1 ]; then
		echo "$all"
		return 0
	fi
	if [ -z "$nss" ]; then
		echo "lab $LAB_ID: down"
		return 0
	fi
	jq -r '"lab \(.lab): up, pins in \(.pin_root), service addresses \(.vip_ranges | join(" "))",
		(.namespaces[] | "  \(.namespace) (\(.role))" +
			(if .nginx then ": nginx \(.nginx.state)" +
				(if .nginx.pid then " pid \(.nginx.pid), answers \(.nginx.name)" else "" end)
			 else "" end),
			(.interfaces[] | "    \(.ifname) mtu \(.mtu) \(.state) \(.addresses | join(" "))" +
				(if .xdp_prog_id then " xdp prog \(.xdp_prog_id)" else "" end))),
		"  Sluice attached (pins in \(.pin_root)):" + (if .sluice_attached == [] then " nowhere" else "" end),
		(.sluice_attached[] | "    \(.ifname) mode \(.mode) prog \(.prog_id) link \(.link_id)")' <<<"$all"
}

lab_hint() {
	cat <<EOF
Lab $LAB_ID is up: client netns $CLI_NS, gateway netns $GW_NS, backends $(lab_namespaces | grep '^slb' | tr '\n' ' ')
Point the CLI at the lab's pins and run it in the gateway's namespace:
  export SLUICE_PIN_ROOT=$LAB_PIN_ROOT
  nsenter --net=/run/netns/$GW_NS sluice backend show
Try a service (VIPs: $VIP4_NET, $VIP6_NET):
  sluice service add 198.19.0.1 80 tcp mode nat
  sluice backend add 198.19.0.1 80 tcp 198.18.1.2
  nsenter --net=/run/netns/$CLI_NS curl -s http://198.19.0.1/
EOF
}

# lab_fail MESSAGE: the error on stderr, and as {"error": ...} under -j.
lab_fail() {
	echo "sluice lab: $1" >&2
	[ "$LAB_JSON" = 1 ] && jq -cn --arg e "$1" '{error: $e}'
	return 1
}

lab_main() {
	LAB_JSON=0
	args=()
	for a in "$@"; do
		if [ "$a" = -j ]; then LAB_JSON=1; else args+=("$a"); fi
	done
	set -- "${args[@]}"
	cmd=${1:-status}
	[ $# -gt 0 ] && shift
	[ "$(id -u)" = 0 ] || {
		lab_fail "needs root (network namespaces, XDP)"
		return 1
	}
	case "$cmd" in
	up)
		n=3
		if [ "${1:-}" = backends ]; then
			n=${2:-}
			shift
			[ $# -gt 0 ] && shift
		fi
		case "$n" in
		'' | *[!0-9]*)
			lab_fail "up: backends needs a number 1..250, got '$n'"
			return 1
			;;
		esac
		if [ "$n" -lt 1 ] || [ "$n" -gt 250 ] || [ $# -gt 0 ]; then
			lab_fail "up: usage: sluice lab up [backends N] (N = 1..250)"
			return 1
		fi
		if [ -n "$(lab_namespaces)" ]; then
			lab_fail "up: lab $LAB_ID is already up (sluice lab down first)"
			return 1
		fi
		mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
		if ! lab_up_steer "$n" >&2 || ! lab_attach >&2; then
			lab_down
			lab_fail "up: setup failed (see above); removed what was made"
			return 1
		fi
		if [ "$LAB_JSON" = 1 ]; then
			lab_hint >&2
			lab_status -j
		else
			lab_hint
		fi
		;;
	down)
		if [ $# -gt 0 ]; then
			lab_fail "down: takes no arguments"
			return 1
		fi
		lab_down
		[ "$LAB_JSON" = 1 ] && lab_status -j
		return 0
		;;
	status)
		if [ $# -gt 0 ]; then
			lab_fail "status: takes no arguments"
			return 1
		fi
		[ "$LAB_JSON" = 1 ] && set -- -j
		lab_status "$@"
		;;
	*)
		lab_fail "unknown command '$cmd' (up [backends N] | down | status)"
		return 1
		;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	lab_main "$@"
	exit $?
fi
