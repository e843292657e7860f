# SPDX-License-Identifier: GPL-2.0-only
# The namespace lab shared by `make demo` and the integration tests.
# Source it (sh/bash); set LAB_ID first to name the namespaces (default: $$).
#
# Topology (names carry LAB_ID, so several labs can run side by side):
#
#   netns slc-$LAB_ID (client)       netns slh-$LAB_ID (host, Sluice on h0)
#     c0 198.18.0.2/24  <---- veth ---->  h0 198.18.0.1/24
#        fd00:5c::2/64                       fd00:5c::1/64
#
# 198.18.0.0/15 is the RFC 2544 benchmarking range and fd00:5c::/64 a ULA
# prefix: neither can be reached outside these namespaces.

LAB_ID=${LAB_ID:-$$}
CLI_NS=slc-$LAB_ID
HOST_NS=slh-$LAB_ID
CLIENT4=198.18.0.2
HOST4=198.18.0.1
CLIENT6=fd00:5c::2
HOST6=fd00:5c::1

in_cli() { nsenter --net=/run/netns/$CLI_NS -- "$@"; }
# nsenter, not `ip netns exec`: the latter remounts /sys and hides the pins.
in_host() { nsenter --net=/run/netns/$HOST_NS -- "$@"; }
sluice() { in_host "$SLUICE" "$@"; }

# lab_mac NS DEV: the MAC address of DEV in NS. (Not from /sys/class/net:
# without a remount, /sys still shows the root namespace's devices.)
lab_mac() {
	nsenter --net=/run/netns/"$1" -- ip -br link show dev "$2" | awk '{print $3}'
}

lab_up() {
	ip netns add "$CLI_NS" || return 1
	ip netns add "$HOST_NS" || return 1
	# Two queues each way: senders on two CPUs then run the XDP program on
	# both CPUs at once, which is what the multi-CPU rate checks need.
	ip link add c0 netns "$CLI_NS" numtxqueues 2 numrxqueues 2 type veth \
		peer name h0 netns "$HOST_NS" numtxqueues 2 numrxqueues 2 || return 1
	in_cli ip link set lo up
	in_host ip link set lo up
	in_cli ip addr add $CLIENT4/24 dev c0
	in_host ip addr add $HOST4/24 dev h0
	in_cli ip -6 addr add $CLIENT6/64 dev c0 nodad
	in_host ip -6 addr add $HOST6/64 dev h0 nodad
	in_cli ip link set c0 up
	in_host ip link set h0 up
	# Static neighbours: no ARP/ND round trip skews the first measurement.
	mac_c=$(lab_mac "$CLI_NS" c0)
	mac_h=$(lab_mac "$HOST_NS" h0)
	in_cli ip neigh replace $HOST4 lladdr "$mac_h" dev c0 nud permanent
	in_cli ip -6 neigh replace $HOST6 lladdr "$mac_h" dev c0 nud permanent
	in_host ip neigh replace $CLIENT4 lladdr "$mac_c" dev h0 nud permanent
	in_host ip -6 neigh replace $CLIENT6 lladdr "$mac_c" dev h0 nud permanent
}

# lab_down: kill whatever still runs in the namespaces, then remove them.
lab_down() {
	for ns in "$CLI_NS" "$HOST_NS"; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill $pids 2>/dev/null
	done
	ip netns del "$CLI_NS" 2>/dev/null
	ip netns del "$HOST_NS" 2>/dev/null
	return 0
}
