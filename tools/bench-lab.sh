#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# What the benchmark parts that compare Sluice with HAProxy on one lab share
# (tools/bench-failover.sh, tools/bench-http.sh). Sourced from bash after
# setting LAB_ID and LAB_PIN_ROOT; sources tools/lab.sh and, on exit, stops
# HAProxy and removes the lab.
#   bench_up PART SVIP HVIP  the steering lab (client, gateway, 3 nginx
#                            backends) with Sluice attached, a nat service
#                            SVIP:80 over the backends, HVIP on the gateway's
#                            lo for HAProxy; when the lab does not come up,
#                            "PART: skipped: ..." and exit 0
#   bench_haproxy            HAProxy in the gateway namespace, its
#                            configuration on stdin (HAPID)
#   bench_med COL LINES      the median of column COL of LINES
#   bench_stat COL LINES     "median (min-max)" of column COL of LINES
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"
HAPID=
bench_cleanup() {
	[ -n "$HAPID" ] && kill "$HAPID" 2>/dev/null && wait "$HAPID" 2>/dev/null
	lab_down
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_up() {
	if ! lab_up_steer 3 >/dev/null || ! lab_attach; then
		echo "$1: skipped: the lab did not come up"
		exit 0
	fi
	sluice service add "$2" 80 tcp mode nat >/dev/null
	for i in 1 2 3; do sluice backend add "$2" 80 tcp "$(be_addr4 $i)" >/dev/null; done
	in_gw ip addr add "$3/32" dev lo
}

bench_haproxy() {
	cat >"$LAB_STATE/haproxy.cfg"
	nsenter --net=/run/netns/$GW_NS -- haproxy -db -f "$LAB_STATE/haproxy.cfg" \
		>"$LAB_STATE/haproxy.log" 2>&1 &
	HAPID=$!
}

# The sorted values of column $1 of the lines $2 (blank lines ignored).
bench_column() { grep . <<<"$2" | awk -v c="$1" '{ print $c }' | sort -n; }
bench_med() { bench_column "$@" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
bench_stat() {
	bench_column "$@" |
		awk '{ v[NR] = $1 } END { printf "%s (%s-%s)", v[int((NR + 1) / 2)], v[1], v[NR] }'
}
