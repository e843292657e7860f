#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The host side against a proxy sidecar, a part of `make bench`
# (tools/bench.sh): a client's outbound connections to a service balanced
# by Sluice's cgroup programs (bpf/host.bpf.c: the connect goes straight to
# a backend) or by HAProxy on the same host (mode tcp, roundrobin, nbthread
# 2: the classic sidecar, a second connection per request). Exits 0
# whatever the numbers (a part that cannot run says why).
#
# The lab (tools/lab.sh): client namespace, a gateway namespace that only
# routes (no Sluice on it), 3 nginx backends. In the client namespace, in
# turn, HOST_ROUNDS (default 3) rounds interleaved:
#  - wrk -t2 -c50 -H 'Connection: close' for HOST_SECONDS (default 8): one
#    connection per request, requests/s;
#  - connloop at HOST_RATE new connections a second (default 1000) for
#    HOST_SECONDS: each one's time from connect() to the answer read, p50
#    and p99 (connect latency plus one request).
# Sluice: wrk and connloop run in a cgroup with the host side attached, to
# the service address. HAProxy: they connect to HAProxy's frontend on the
# client's own address. The client, HAProxy and the backends share the
# machine's CPUs: the ratio compares the two under the same load.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
BUILD=${BUILD:-build}
HOST_SECONDS=${HOST_SECONDS:-8}
HOST_ROUNDS=${HOST_ROUNDS:-3}
HOST_RATE=${HOST_RATE:-1000}

echo
echo "== host side vs an HAProxy sidecar (same host, 3 backends, ${HOST_SECONDS} s x $HOST_ROUNDS rounds)"
for t in nginx haproxy wrk jq; do
	if ! command -v $t >/dev/null; then
		echo "bench-host: skipped: needs $t (make deps)"
		exit 0
	fi
done
CONNLOOP=$(realpath "$BUILD/tests/integration/connloop" 2>/dev/null)
SLUICE=$(realpath "$BUILD/sluice" 2>/dev/null)
CG_ROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
if [ "$(id -u)" != 0 ] || ! [ -x "$CONNLOOP" ] || ! [ -x "$SLUICE" ] || [ -z "$CG_ROOT" ]; then
	echo "bench-host: skipped: needs root, a cgroup2 mount, $BUILD/sluice and connloop"
	exit 0
fi

LAB_ID=host$$
LAB_PIN_ROOT=/sys/fs/bpf/sluice-benchhost-$$
. "$(dirname "$0")/bench-lab.sh"
CG=$CG_ROOT/sluice-bench-$$
cleanup() {
	"$SLUICE" --local host detach "$CG" >/dev/null 2>&1
	rmdir "$CG" 2>/dev/null
	bench_cleanup
}
trap cleanup EXIT
VIP=198.19.0.80

if ! lab_up_steer 3 >/dev/null; then
	echo "bench-host: skipped: the lab did not come up"
	exit 0
fi
in_cli ip route add 198.18.0.0/16 via $HOST4
# HAProxy closes its backend connections first: their TIME_WAIT holds a
# client port each, 28k ports ran out within a round (requests/s fell from
# ~7000 to ~500, SYNs retried after 1 s). A sidecar host would be tuned so;
# both variants run with it.
in_cli sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65535"
"$SLUICE" --local service add $VIP 80 tcp mode nat >/dev/null
for i in 1 2 3; do "$SLUICE" --local backend add $VIP 80 tcp "$(be_addr4 $i)" >/dev/null; done
mkdir "$CG" && "$SLUICE" --local host attach "$CG" service $VIP 80 tcp >/dev/null || {
	echo "bench-host: skipped: cannot attach the host side to $CG"
	exit 0
}
# The sidecar: HAProxy on the client's own address, in the client namespace.
BENCH_HAPROXY_NS=$CLI_NS bench_haproxy $CLIENT4 "nbthread 2" "" ""
sleep 0.5

# run VARIANT CMD...: CMD in the client namespace; for sluice, in the cgroup.
run() {
	if [ "$1" = sluice ]; then
		shift
		sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG" \
			nsenter --net=/run/netns/"$CLI_NS" -- "$@"
	else
		shift
		in_cli "$@"
	fi
}

# round VARIANT: "req_per_s failed p50_ms p99_ms lat_failed".
round() {
	if [ "$1" = sluice ]; then addr=$VIP; else addr=$CLIENT4; fi
	out=$(run "$1" timeout $((HOST_SECONDS + 20)) wrk -t2 -c50 -d"${HOST_SECONDS}s" \
		-H 'Connection: close' "http://$addr/" 2>&1)
	rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
	failed=$(awk '/Socket errors:/ { gsub(",", ""); n += $4 + $6 + $8 + $10 }
		/Non-2xx or 3xx/ { n += $NF } END { print n + 0 }' <<<"$out")
	lines=$(run "$1" timeout $((HOST_SECONDS + 20)) "$CONNLOOP" $addr 80 \
		-d $((HOST_SECONDS * 1000)) -i $((1000000 / HOST_RATE)) -t 2000 2>/dev/null)
	lat=$(awk '$3 == "ok" { print ($2 - $1) / 1000 }' <<<"$lines" | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) printf "%.2f %.2f", v[int(NR * 0.5) + 1], v[int(NR * 0.99) + 1]; else print "0 0" }')
	lfail=$(tail -1 <<<"$lines" | jq -r '.total - .ok' 2>/dev/null)
	echo "${rps:-0} $failed $lat ${lfail:-?}"
}

all_s="" all_h=""
for _ in $(seq "$HOST_ROUNDS"); do
	all_s="$all_s$(round sluice)"$'\n'
	all_h="$all_h$(round haproxy)"$'\n'
done

printf '   %-8s %-24s %-8s %-20s %-20s %s\n' "" "requests/s" "ratio" "p50 ms" "p99 ms" \
	"failed wrk / connloop (per round)"
h_med=$(bench_med 1 "$all_h")
for v in sluice haproxy; do
	if [ $v = sluice ]; then d=$all_s; else d=$all_h; fi
	ratio=$(awk -v a="$(bench_med 1 "$d")" -v b="$h_med" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')
	printf '   %-8s %-24s %-8s %-20s %-20s %s\n' $v "$(bench_stat 1 "$d")" "$ratio" "$(bench_stat 3 "$d")" \
		"$(bench_stat 4 "$d")" "$(grep . <<<"$d" | awk '{ printf "%s/%s ", $2, $5 }')"
done
echo "   (median (min-max) of $HOST_ROUNDS rounds; latency: connloop at $HOST_RATE connections/s,"
echo "    connect to answer; target: Sluice >= 2x HAProxy's requests/s and a lower p99)"
exit 0
