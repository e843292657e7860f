# SPDX-License-Identifier: GPL-2.0-only
# Daemons on the two-gateway HA lab (tools/lab.sh lab_up_ha), shared by
# tests/integration/test_cluster.sh and tools/bench-cluster.sh. Sourced
# after lab.sh and etcd.sh; the caller sets SLUICED, TTL, VIP4, VIP6, TMP
# and ETCD_ENDPOINTS (etcd_up), and may set HA_EXTRA_SERVICES (YAML list
# items appended to every gateway's services).
#
#   ha_etcd_up          three etcd members in the switch namespace, on three
#                       addresses of its bridge (the gateways reach them on g0)
#   ha_start I          gateway I's sluiced (DPIDI = its pid)
#   ha_cli I ARGS...    the CLI of gateway I, talking to its daemon
#   ha_status I         `sluice -j cluster show` of gateway I
#   ha_held I           how many VIPs gateway I holds
#   ha_wait SECONDS CMD...  poll CMD every 20 ms; prints the ms it took

HA_ETCD_ADDRS="198.18.0.250 198.18.0.251 198.18.0.252"

ha_etcd_up() {
	for a in $HA_ETCD_ADDRS; do in_sw ip addr add "$a/24" dev br0 || return 1; done
	ETCD_NETNS=$SW_NS
	ETCD_HOSTS=$HA_ETCD_ADDRS
	etcd_up
}

# ha_conf I: gateway I's config file.
ha_conf() {
	cat <<EOF
cluster:
  name: gw$1
  etcd: [$(echo "$ETCD_ENDPOINTS" | sed 's/,/, /g')]
  prefix: /sluice-ha-$$
  lease-ttl: $TTL
  timeout: 0.5
  vips:
    - address: $VIP4
      interface: g0
    - address: "$VIP6"
      interface: g0
services:
  - address: $VIP4
    port: 80
    mode: ipip
    backends: [$(ha_be_addr4 1), $(ha_be_addr4 2)]
  - address: "$VIP6"
    port: 80
    mode: ipip
    backends: ["$(ha_be_addr6 1)", "$(ha_be_addr6 2)"]
${HA_EXTRA_SERVICES:-}
EOF
}

ha_sock() { echo "$TMP/g$1/sluiced.sock"; }

ha_cli() {
	local g=$1
	shift
	sluice_gwi "$g" --socket "$(ha_sock "$g")" "$@"
}

ha_status() { ha_cli "$1" -j cluster show 2>/dev/null; }
ha_held() { ha_status "$1" | jq -r '[.vips[] | select(.held)] | length'; }

# ha_start I: nsenter execs sluiced, so $! is the daemon.
ha_start() {
	mkdir -p "$TMP/g$1"
	ha_conf "$1" >"$TMP/g$1/sluice.yaml"
	nsenter --net=/run/netns/"$(ha_gw_ns "$1")" -- "$SLUICED" --pin-root "$(ha_pin_root "$1")" \
		--journal "$TMP/g$1/journal" --socket "$(ha_sock "$1")" --metrics 127.0.0.1:9469 \
		--config "$TMP/g$1/sluice.yaml" >>"$TMP/g$1/sluiced.log" 2>&1 &
	eval "DPID$1=$!"
}

ha_wait() {
	local limit=$(($1 * 1000)) t0
	shift
	t0=$(date +%s%N)
	while :; do
		"$@" >/dev/null 2>&1 && {
			echo $((($(date +%s%N) - t0) / 1000000))
			return 0
		}
		[ $((($(date +%s%N) - t0) / 1000000)) -gt "$limit" ] && return 1
		sleep 0.02
	done
}
