#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# What the benchmark parts that compare Sluice with HAProxy on one lab share
# (tools/bench-failover.sh, tools/bench-http.sh, tools/bench-host.sh). Sourced from bash after
# setting LAB_ID and LAB_PIN_ROOT; sources tools/lab.sh and, on exit, stops
# HAProxy and removes the lab.
#   bench_up PART SVIP HVIP  the steering lab (client, gateway, 3 nginx
#                            backends) with Sluice attached, a nat service
#                            SVIP:80 over the backends, HVIP on the gateway's
#                            lo for HAProxy; when the lab does not come up,
#                            "PART: skipped: ..." and exit 0
#   bench_haproxy HVIP GLOBAL DEFAULTS BACKEND
#                            HAProxy in the gateway namespace (HAPID; in
#                            BENCH_HAPROXY_NS when set): mode
#                            tcp on HVIP:80, roundrobin over the 3 backends;
#                            GLOBAL, DEFAULTS, BACKEND: more lines of those
#                            sections, newline-separated ("": none)
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

# The lines $1, indented (none when $1 is empty).
bench_lines() { [ -z "$1" ] || sed 's/^/\t/' <<<"$1"; }

bench_haproxy() {
	{
		printf 'global\n\tmaxconn 8000\n'
		bench_lines "$2"
		printf 'defaults\n\tmode tcp\n'
		bench_lines "$3"
		printf '\ttimeout connect 1s\n\ttimeout client 10s\n\ttimeout server 10s\n'
		printf 'frontend f\n\tbind %s:80\n\tdefault_backend b\n' "$1"
		printf 'backend b\n\tbalance roundrobin\n'
		bench_lines "$4"
		for i in 1 2 3; do printf '\tserver s%s %s:80\n' $i "$(be_addr4 $i)"; done
	} >"$LAB_STATE/haproxy.cfg"
	nsenter --net=/run/netns/"${BENCH_HAPROXY_NS:-$GW_NS}" -- haproxy -db -f "$LAB_STATE/haproxy.cfg" \
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
