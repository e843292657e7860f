#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The monitoring files against a live daemon: sluiced runs in a namespace of
# its own with a config that makes every metric family appear (a nat service
# with a health-checked backend that is down, a bulkhead, and a cluster
# section whose etcd does not answer); its /metrics passes promtool check
# metrics, tools/monitoring/sluice-alerts.yml passes promtool check rules and
# names only metrics the daemon exports, and the Grafana dashboard queries
# every metric family the daemon exports.
. "$(dirname "$0")/lib.sh"

require_env monitoring
SLUICED=$(realpath "$BUILD/sluiced" 2>/dev/null)
for tool in promtool curl jq; do
	command -v $tool >/dev/null || {
		tap_fail "monitoring: needs $tool (tools/debian-packages)"
		finish
		exit 1
	}
done
NS=slm-$ID
TMP=$(mktemp -d)
DPID=
mon_cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP" "$SLUICE_PIN_ROOT"
}
trap mon_cleanup EXIT
trap 'exit 130' INT TERM
DASH=tools/monitoring/sluice-dashboard.json
RULES=tools/monitoring/sluice-alerts.yml

cat >"$TMP/sluiced.yaml" <<'EOF'
daemon:
  health: {interval: 0.2, timeout: 0.1, rise: 1, fall: 1}
cluster:
  name: gw-monitoring-test
  etcd: [http://127.0.0.1:1]
  lease-ttl: 2
  timeout: 0.2
  share: off
  vips:
    - {address: 198.51.100.77, interface: lo}
bulkhead:
  max-conns: 1000
services:
  - address: 192.0.2.10
    port: 80
    mode: nat
    max-conns: 100
    rate: 10k
    health: {type: tcp}
    backends: [127.0.0.1]
EOF
ip netns add "$NS" && ip -n "$NS" link set lo up
# nsenter, not ip netns exec: that remounts /sys, and bpffs with it.
nsenter --net=/run/netns/"$NS" -- "$SLUICED" --config "$TMP/sluiced.yaml" --pin-root "$SLUICE_PIN_ROOT" \
	--journal "$TMP/journal" --socket "$TMP/sluiced.sock" --metrics 127.0.0.1:9469 \
	>"$TMP/log" 2>&1 &
DPID=$!
scrape() { nsenter --net=/run/netns/"$NS" -- curl -s -m 2 http://127.0.0.1:9469/metrics; }
for _ in $(seq 50); do
	scrape >"$TMP/metrics" 2>/dev/null
	grep -q '^sluice_backend_up{' "$TMP/metrics" && grep -q '^sluice_cluster_vip_held{' "$TMP/metrics" &&
		break
	kill -0 "$DPID" 2>/dev/null || break
	sleep 0.2
done
families=$(awk '$1 == "#" && $2 == "TYPE" { print $3 }' "$TMP/metrics" | sort -u)
n=$(echo "$families" | grep -c .)
if [ "$n" -ge 20 ] && grep -q '^sluice_backend_up{' "$TMP/metrics"; then
	tap_ok "a live sluiced exports $n metric families"
else
	tap_fail "a live sluiced exports its metric families" "$(tail -5 "$TMP/log")" "got: $families"
fi

out=$(promtool check metrics <"$TMP/metrics" 2>&1)
check "promtool check metrics: the daemon's /metrics is clean" test $? -eq 0 -a -z "$out" -a -n "$families"
[ -z "$out" ] || echo "$out" | sed 's/^/# /'
out=$(promtool check rules "$RULES" 2>&1)
check "promtool check rules: $(echo "$out" | grep -o 'SUCCESS.*')" test $? -eq 0

# The alerts: the ones the operator needs, on metrics that exist.
for a in SluiceBackendDown SluiceBreakerOpen SluiceBulkheadNearLimit SluiceRateLimitDrops \
	SluiceLeaseLost SluiceVIPNotHeld SluiceDaemonDown; do
	grep -q "alert: $a\$" "$RULES" || missing_alert="$missing_alert $a"
done
check "the rules alert on backend down, breaker open, bulkhead, rate limit, lease, VIP, daemon" \
	test -z "${missing_alert:-}"
unknown=$(grep -o 'sluice_[a-z_]*' "$RULES" | sort -u | while read -r m; do
	echo "$families" | grep -qx "$m" || echo "$m"
done)
check "every metric the rules use is exported${unknown:+ (not: $unknown)}" test -z "$unknown"

# The dashboard: valid JSON, and a query on every exported family.
check "the dashboard is Grafana JSON with panels" $JQE '.uid and (.panels | length > 10)' "$DASH"
used=$(jq -r '.. | .expr? // empty' "$DASH" | grep -o 'sluice_[a-z_]*' | sort -u)
missing=$(echo "$families" | while read -r m; do echo "$used" | grep -qx "$m" || echo "$m"; done)
check "the dashboard queries every exported metric family${missing:+ (not: $missing)}" test -z "$missing"

kill "$DPID" 2>/dev/null && wait "$DPID"
check "sluiced stops on SIGTERM" test $? -eq 0
DPID=
finish
