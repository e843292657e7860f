#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# `make demo`: Sluice as a load balancer on a self-contained lab
# (tools/lab.sh: a client, a gateway with Sluice attached, 3 nginx backends).
# Configures a service in each mode (nat, ipip) and family (IPv4, IPv6), sends
# real requests with curl and a short wrk load, shows how they spread, drains
# a backend, shows the per-backend counters, the foundation's rate limiting
# (a UDP flood against a rate-limited service), then resilience: a bulkhead
# refusing connections over its limit fast, and a backend killed under a
# client loop, its circuit breaker opening and closing again once it is back.
# Last, the daemon: sluiced adopts the pins and applies a YAML file, sluice
# sends it a config diff/apply, the metrics are scraped with curl, the event
# stream and a trace of a few requests are shown, and SIGTERM leaves the data
# plane forwarding.
# Everything is torn down on exit or Ctrl-C; pins go to a private folder, not
# the system's.
set -u
BUILD=${BUILD:-build}
SLUICE=$(realpath "$BUILD/sluice")
UDPBLAST=$(realpath "$BUILD/tests/integration/udpblast")
HOLD=$(realpath "$BUILD/tests/integration/hold")
CONNLOOP=$(realpath "$BUILD/tests/integration/connloop")
SLUICED=$(realpath "$BUILD/sluiced")
LAB_ID=demo
LAB_PIN_ROOT=/sys/fs/bpf/sluice-demo
. "$(dirname "$0")/lab.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() {
	printf '$ sluice %s\n' "$*"
	sluice "$@"
}
url() { case "$1" in *:*) echo "http://[$1]$2" ;; *) echo "http://$1$2" ;; esac }
# spread VIP COUNT: COUNT curl requests (a new connection each), tallied by
# backend; fails (and the demo stops: it shows what works) when one failed.
spread() {
	local out
	printf '$ for i in $(seq %s); do curl -s %s; done | sort | uniq -c\n' "$2" "$(url "$1" /)"
	out=$(for _ in $(seq "$2"); do
		in_cli curl -s -m 2 "$(url "$1" /)" || echo "(failed)"
	done | sort | uniq -c | sed 's/^/    /')
	echo "$out"
	if grep -q '(failed)' <<<"$out"; then
		echo "demo: requests to $1 failed: stopping here" >&2
		exit 1
	fi
}

DPID=
teardown() {
	[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
	lab_down
}
trap teardown EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "demo: needs root (network namespaces, XDP)" >&2
	exit 1
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
teardown

say "Lab: a client, a gateway running Sluice, 3 backends running nginx"
echo "\$ sluice lab up backends 3"
LAB_ID=$LAB_ID "$SLUICE" --pin-root "$LAB_PIN_ROOT" lab up backends 3 || exit 1
LAB_ID=$LAB_ID "$SLUICE" --pin-root "$LAB_PIN_ROOT" lab status

say "Services: one per mode and family, each spread over the 3 backends"
for spec in "198.19.0.1 nat 4" "fd00:5c:ff::1 nat 6" "198.19.0.2 ipip 4" "fd00:5c:ff::2 ipip 6"; do
	read -r vip mode fam <<<"$spec"
	run service add "$vip" 80 tcp mode "$mode" || exit 1
	for b in 1 2 3; do
		if [ "$fam" = 4 ]; then a=$(be_addr4 $b); else a=$(be_addr6 $b); fi
		run backend add "$vip" 80 tcp "$a" >/dev/null || exit 1
	done
done
echo "(and 'sluice backend add' for backends 1-3 of each)"
run service show
run backend show 198.19.0.1 80 tcp

say "Requests from the client: each new connection is steered by Maglev on its 5-tuple"
for vip in 198.19.0.1 fd00:5c:ff::1 198.19.0.2 fd00:5c:ff::2; do
	spread "$vip" 12
done
echo "nat: the gateway rewrites the destination and translates the replies back;"
echo "ipip: it encapsulates, the backend decapsulates (sluice_decap) and answers directly."

say "Load: wrk, 2 threads, 50 keep-alive connections, 5 s, against the nat IPv4 service"
printf '$ wrk -t2 -c50 -d5s %s\n' "$(url 198.19.0.1 /)"
in_cli timeout 20 wrk -t2 -c50 -d5s "$(url 198.19.0.1 /)" | sed 's/^/    /'
run backend show 198.19.0.1 80 tcp
echo "Each connection stays on the backend its first packet was steered to (flow table);"
echo "new_flows counts the connections each backend got."

say "Drain backend 2 of the nat IPv4 service: it keeps its flows, gets no new ones"
run backend drain 198.19.0.1 80 tcp "$(be_addr4 2)"
spread 198.19.0.1 12
run backend show 198.19.0.1 80 tcp
run backend activate 198.19.0.1 80 tcp "$(be_addr4 2)"

say "Per-service counters by reason"
run stats 198.19.0.1 80 tcp

say "Rate limiting (as in the foundation): UDP to the gateway at 20 000 pps, flooded for 1 s"
run service add $HOST4 9000 udp rate 20k
in_host "$UDPBLAST" recv $HOST4 9000 4 >"$LAB_STATE/recv" 2>/dev/null &
recv=$!
sleep 0.3
sent=$(in_cli "$UDPBLAST" send $HOST4 9000 1 2)
wait $recv
echo "sent $sent datagrams; the server received $(cat "$LAB_STATE/recv")"
run stats $HOST4 9000 udp
echo "About 20 000 admitted plus the burst; the rest counted under drop_svc_rate."

say "Bulkhead: at most 20 concurrent connections to the nat IPv4 service"
run service set 198.19.0.1 80 tcp max-conns 20 >/dev/null
echo "(sluice service set 198.19.0.1 80 tcp max-conns 20)"
printf '$ hold 198.19.0.1 80 60   # 60 connections at once, held open\n'
in_cli timeout 20 "$HOLD" 198.19.0.1 80 60 -H 1500 >"$LAB_STATE/hold" &
hold=$!
sleep 0.7
head -n1 "$LAB_STATE/hold" | jq -r '"    served \(.served), refused \(.refused) by RST (slowest refusal \(.refused_max_ms) ms), timed out \(.timeout)"'
run bulkhead show
wait $hold
sleep 0.2
echo "The 20 held connections closed: their slots came back."
run bulkhead show
echo "Over the limit the gateway answers the SYN itself with a RST: the client fails"
echo "in a millisecond instead of waiting on an overloaded backend."

say "Circuit breaker: backend 2 dies under a client loop, its breaker opens, then closes"
run service add 198.19.0.10 80 tcp mode nat >/dev/null
for b in 1 2 3; do sluice backend add 198.19.0.10 80 tcp "$(be_addr4 $b)" >/dev/null; done
run service set 198.19.0.10 80 tcp breaker-failures 5 breaker-window 2 breaker-wait 1 >/dev/null
echo "(service 198.19.0.10 on backends 1-3: trip after 5 failures in 2 s, open 1 s)"
printf '$ sluice breaker watch 198.19.0.10 80 tcp --interval 200 &   # the state machine, on passive signals\n'
nsenter --net=/run/netns/$GW_NS -- "$SLUICE" breaker watch 198.19.0.10 80 tcp --interval 200 --duration 6 \
	>"$LAB_STATE/watch" 2>&1 &
watch=$!
printf '$ connloop 198.19.0.10 80 -d 5000   # 200 new connections a second for 5 s\n'
in_cli timeout 20 "$CONNLOOP" 198.19.0.10 80 -d 5000 -i 5000 -t 1000 >"$LAB_STATE/loop" &
loop=$!
sleep 1
echo "\$ kill nginx of backend 2"
kill -TERM "$(cat "$LAB_STATE/b2/nginx.pid")"
sleep 0.7
echo "\$ start nginx of backend 2 again"
lab_nginx 2
wait $loop
tail -n1 "$LAB_STATE/loop" | jq -r '"    client loop: \(.ok) served, \(.refused) refused, \(.timeout) timed out of \(.total); per backend: \(to_entries | map(select(.key | startswith("backend"))) | map("\(.key) \(.value)") | join(", "))"'
kill -TERM $watch 2>/dev/null
wait $watch 2>/dev/null
echo "What the watcher printed:"
sed 's/^/    /' "$LAB_STATE/watch"
run breaker show 198.19.0.10 80 tcp
echo "Only the connections sent to backend 2 before its breaker tripped failed; while open,"
echo "new flows skipped it (established ones are never cut); half-open probes found it"
echo "healthy again and it takes its share once more."

say "The daemon: sluiced adopts the pins and applies a YAML file; sluice talks to it"
D=$LAB_STATE/daemon
mkdir -p "$D"
export SLUICE_SOCKET=$D/sluiced.sock
echo "\$ sluice config dump > sluiced.yaml   # today's state, as a file"
sluice config dump >"$D/sluiced.yaml"
printf '$ sluiced --config sluiced.yaml --pin-root %s --socket %s &\n' "$LAB_PIN_ROOT" "$SLUICE_SOCKET"
# nsenter execs sluiced: DPID is the daemon's pid.
nsenter --net=/run/netns/$GW_NS -- "$SLUICED" --config "$D/sluiced.yaml" --pin-root "$LAB_PIN_ROOT" \
	--journal "$D/journal" --socket "$SLUICE_SOCKET" --metrics 127.0.0.1:9469 >"$D/log" 2>&1 &
DPID=$!
for _ in $(seq 100); do
	[ -S "$SLUICE_SOCKET" ] && break
	sleep 0.1
done
sed 's/^/    /' "$D/log"
echo "A new nat service in the file: 198.19.0.20 on backends 1 and 3"
cat >"$D/new.yaml" <<YAML
  - address: 198.19.0.20
    port: 80
    mode: nat
    backends: [$(be_addr4 1), $(be_addr4 3)]
YAML
# First in the services list (the dump's sections come in its own order).
sed -i "/^services:/r $D/new.yaml" "$D/sluiced.yaml"
sed 's/^/    /' "$D/new.yaml"
run config diff "$D/sluiced.yaml" || exit 1
run config apply "$D/sluiced.yaml" || exit 1
echo "(sent to the daemon, which journaled each command before applying it)"
spread 198.19.0.20 6
printf '$ curl -s http://127.0.0.1:9469/metrics | grep 198.19.0.20   # in the gateway\n'
in_gw curl -s -m 5 http://127.0.0.1:9469/metrics | grep '198\.19\.0\.20' |
	grep -E 'new_flows|state' | head -n 6 | sed 's/^/    /'
run events count 4
say "sluice trace: the data plane's decisions on 198.19.0.20, live"
printf '$ sluice trace service 198.19.0.20 80 tcp count 6 &\n'
nsenter --net=/run/netns/$GW_NS -- "$SLUICE" --pin-root "$LAB_PIN_ROOT" trace service 198.19.0.20 80 \
	tcp count 6 duration 10 >"$D/trace" 2>"$D/trace.err" &
tpid=$!
for _ in $(seq 50); do
	grep -q tracing "$D/trace.err" 2>/dev/null && break
	sleep 0.1
done
printf '$ curl -s %s\n' "$(url 198.19.0.20 /)"
in_cli curl -s -m 2 -o /dev/null "$(url 198.19.0.20 /)"
wait $tpid
sed 's/^/    /' "$D/trace"
echo "The request's first 6 packets: the client's SYN steered to a backend on g0, the"
echo "backend's SYN-ACK translated back on its gbI, then the GET and the answer on the flow;"
echo "each with its reason as 'sluice stats' counts it (-j for JSON, --pcap for tcpdump)."
echo "\$ kill -TERM sluiced"
kill -TERM $DPID
wait $DPID
DPID=
tail -n 1 "$D/log" | sed 's/^/    /'
unset SLUICE_SOCKET
spread 198.19.0.20 4
echo "The daemon is gone, the data plane keeps forwarding; a restarted daemon adopts the pins."

say "JSON for machines"
printf '$ sluice -j backend show 198.19.0.1 80 tcp | jq -c ...\n'
sluice -j backend show 198.19.0.1 80 tcp |
	jq -c '.[] | {address, state, new_flows, packets, slots}'

say "Tearing down (sluice lab down)"
LAB_ID=$LAB_ID "$SLUICE" --pin-root "$LAB_PIN_ROOT" lab down
trap - EXIT
