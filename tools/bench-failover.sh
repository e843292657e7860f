#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Failover benchmark, a part of `make bench` (tools/bench.sh): what a
# client sees when a backend dies under load, for Sluice and for HAProxy
# with `option redispatch`, on the same lab in the same run. Exits 0
# whatever the numbers (a part that cannot run says why).
#
# The lab (tools/lab.sh): client, gateway, 3 nginx backends. A client loop
# (build/tests/integration/connloop) opens FO_RATE new connections a second
# (default 5000), one HTTP request each, for 4 s; 1.5 s in, backend 2 dies
# (lab_be_fail: "term" = SIGTERM to nginx, "kill" = SIGKILL of master and
# workers). Counted per run: failed requests, split into connects refused,
# timed out or failed otherwise, and connections that were accepted and then
# lost (connloop -R). HAProxy, a full proxy, accepts every client connection
# itself, so its failures show as "accepted, then lost"; for Sluice those are
# the requests the dying server had already taken, which no L4 balancer can
# save. Compare the totals.
#  - Sluice: a nat service, failover at its defaults (retries 2,
#    breaker-fast-trip 5), no breaker watcher: the data plane alone.
#  - HAProxy (Debian's haproxy): mode tcp in the gateway namespace on a VIP
#    local there, roundrobin, `retries 3`, `option redispatch 1` (every
#    retry may go to another server), `timeout connect 1s`, health checks
#    every 1 s (fall 2, rise 2): a common production setting.
# FO_ROUNDS (default 3) rounds of each (variant, death) pair, interleaved;
# medians and ranges printed.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
BUILD=${BUILD:-build}
FO_RATE=${FO_RATE:-5000}
FO_ROUNDS=${FO_ROUNDS:-3}
CONNLOOP=$(realpath "$BUILD/tests/integration/connloop" 2>/dev/null)

echo
echo "== failover: a backend dies under $FO_RATE new connections/s (4 s loop, death at 1.5 s)"
for t in nginx haproxy nft jq; do
	if ! command -v $t >/dev/null; then
		echo "bench-failover: skipped: needs $t (make deps)"
		exit 0
	fi
done
if [ "$(id -u)" != 0 ] || ! [ -x "$CONNLOOP" ]; then
	echo "bench-failover: skipped: needs root and $BUILD/tests/integration/connloop"
	exit 0
fi

LAB_ID=fo$$
LAB_PIN_ROOT=/sys/fs/bpf/sluice-benchfo-$$
. "$(dirname "$0")/bench-lab.sh"
DEAD=2
SVIP=198.19.0.60 # Sluice's nat service
HVIP=198.19.0.61 # HAProxy's frontend (local in the gateway: Sluice passes it)

bench_up bench-failover $SVIP $HVIP
bench_haproxy $HVIP "" "retries 3
option redispatch 1" "default-server check inter 1s fall 2 rise 2"
for _ in $(seq 50); do
	in_gw ss -Hltn "sport = :80" | grep -q "$HVIP" && break
	sleep 0.1
done

# fo_round VARIANT HOW: one loop with backend DEAD dying; prints "failed lost total".
fo_round() {
	vip=$SVIP
	[ "$1" = haproxy ] && vip=$HVIP
	lab_be_heal $DEAD >/dev/null || return 1
	for i in 1 2 3; do sluice breaker reset $SVIP 80 tcp "$(be_addr4 $i)" >/dev/null; done
	# HAProxy's checks see the backend up again (rise 2 x inter 1 s).
	[ "$1" = haproxy ] && sleep 2.5
	out=$LAB_STATE/fo.$1.$2
	nsenter --net=/run/netns/$CLI_NS -- timeout 30 "$CONNLOOP" $vip 80 -d 4000 \
		-i $((1000000 / FO_RATE)) -t 5000 -R -q >"$out" 2>&1 &
	loop=$!
	sleep 1.5
	lab_be_fail $DEAD "$2"
	wait $loop
	jq -r '(.refused + .timeout + .error) as $f | (.accepted_lost // 0) as $l |
		"\($f + $l) \($f) \($l) \(.total)"' <"$out"
}

row() { printf '   %-8s %-6s %-18s %-18s %-18s %s\n' "$@"; }
row variant death "failed requests" "connect failed" "accepted, lost" connections
for how in term kill; do
	sl="" ha=""
	for _ in $(seq "$FO_ROUNDS"); do
		sl="$sl$(fo_round sluice $how)"$'\n'
		ha="$ha$(fo_round haproxy $how)"$'\n'
	done
	sl=$(grep . <<<"$sl")
	ha=$(grep . <<<"$ha")
	row sluice $how "$(bench_stat 1 "$sl")" "$(bench_stat 2 "$sl")" "$(bench_stat 3 "$sl")" \
		"$(bench_stat 4 "$sl")"
	row haproxy $how "$(bench_stat 1 "$ha")" "$(bench_stat 2 "$ha")" "$(bench_stat 3 "$ha")" \
		"$(bench_stat 4 "$ha")"
done
echo "   (median (min-max) of $FO_ROUNDS rounds; failed requests = connects refused, timed"
echo "    out or failed + connections accepted and then lost; Sluice: nat, retries 2,"
echo "    breaker-fast-trip 5, no watcher; HAProxy: mode tcp, retries 3, option"
echo "    redispatch 1, checks every 1 s)"
exit 0
