#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# `make demo`: Sluice's main job on a self-contained lab. Builds two network
# namespaces (tools/lab.sh), attaches Sluice to the host side, configures
# rate-limited services (IPv4 and IPv6), floods them from the client, and
# shows what was admitted, what was dropped and why. Everything is torn down
# on exit or Ctrl-C; pins go to a private folder, not the system's.
set -u
BUILD=${BUILD:-build}
SLUICE=$(realpath "$BUILD/sluice")
UDPBLAST=$(realpath "$BUILD/tests/integration/udpblast")
LAB_ID=demo
. "$(dirname "$0")/lab.sh"
export SLUICE_PIN_ROOT=/sys/fs/bpf/sluice-demo

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() {
	printf '$ sluice %s\n' "$*"
	sluice "$@"
}

teardown() {
	lab_down
	rm -rf "$SLUICE_PIN_ROOT"
}
trap teardown EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "demo: needs root (network namespaces, XDP)" >&2
	exit 1
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
teardown
lab_up || exit 1

say "Lab: client $CLIENT4 / $CLIENT6 (netns $CLI_NS) --veth-- host $HOST4 / $HOST6 (netns $HOST_NS)"
run iface attach h0 || exit 1
run iface show

say "Services: UDP $HOST4:9000 at 20 000 pps; UDP [$HOST6]:9001 at 5 000 pps per client"
run service add $HOST4 9000 udp rate 20k
run service add $HOST6 9001 udp client-rate 5k
run service show

say "Flood: 2 sender threads, 3 s, as fast as they can, to both services and to a non-service port"
in_host "$UDPBLAST" recv $HOST4 9000 6 >/tmp/sluice-demo-recv 2>/dev/null &
recv=$!
sleep 0.3
sent4=$(in_cli "$UDPBLAST" send $HOST4 9000 3 2)
sent6=$(in_cli "$UDPBLAST" send $HOST6 9001 2 1)
sentn=$(in_cli "$UDPBLAST" send $HOST4 9999 1 1 10000)
wait $recv
echo "sent $sent4 to $HOST4:9000 (the server received $(cat /tmp/sluice-demo-recv)), $sent6 to [$HOST6]:9001, $sentn to $HOST4:9999"
rm -f /tmp/sluice-demo-recv

say "What Sluice did (read from the pinned maps)"
run stats
echo
echo "At 20 000 pps for ~3 s the first service admitted ~60 000 packets plus its burst;"
echo "the rest is counted under drop_svc_rate. Non-service packets passed as not_service."

say "JSON for machines"
printf '$ sluice -j stats %s 9000 udp | jq .\n' "$HOST4"
sluice -j stats $HOST4 9000 udp | jq .

say "Detach: the interface is left clean"
run iface detach h0
in_host ip -d link show h0 | grep -q xdp && echo "XDP still attached?!" || echo "h0: no XDP program"
