#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sluice trace on the namespace lab (Sluice on the gateway, two nginx
# backends, a nat service in IPv4 and one in IPv6), with real clients:
#  - a curl through the service: trace (-j) shows its SYN forwarded on g0
#    to one of the service's backends with the client's 5-tuple, and the
#    backend's SYN-ACK translated back (rev_nat) on that backend's gbI;
#    IPv6 alike; the text line says the same;
#  - both breakers tripped with on-open fail-fast: the SYN is refused
#    (brk_open, answered with a RST: XDP tx); --pcap writes it and
#    tcpdump -r reads the client's SYN back;
#  - filters: a reason filter hides the forwarded packets, a client prefix
#    that does not match hides everything;
#  - off after it stops (count reached, SIGINT, SIGTERM): sl_trace_cfg is
#    zeroed; one tracer at a time, and a killed one's place is free again;
#  - bad input: clear errors, under -j as {"error": ...}.
# Bounded: curl --max-time, traces with count and duration; the lab is torn
# down on any exit.
. "$(dirname "$0")/lib.sh"

require_env trace
require_tools trace curl jq nginx tcpdump bpftool
lab_up_steer_test 2 || {
	tap_fail "lab setup (2 backends, Sluice on the gateway)"
	finish
	exit 1
}
tap_ok "lab up: client, gateway with Sluice on g0 gb1 gb2, 2 nginx backends"

T=$LAB_STATE/trace
mkdir -p "$T"
VIP4=198.19.0.40
VIP6=fd00:5c:ff::40
for vip in $VIP4 $VIP6; do
	sluice service add $vip 80 tcp mode nat >/dev/null
	for i in 1 2; do
		if [ $vip = $VIP4 ]; then be=$(be_addr4 $i); else be=$(be_addr6 $i); fi
		sluice backend add $vip 80 tcp "$be" >/dev/null
	done
done
check "nat services $VIP4 and $VIP6 with 2 backends each" \
	test "$(sluice -j backend show | jq length)" = 4

TPID=
# trace_bg NAME ARGS...: sluice trace ARGS in the background (stdout to
# $T/NAME, stderr to $T/NAME.err), started once it says it is tracing.
trace_bg() {
	name=$1
	shift
	# nsenter execs sluice: TPID is the tracer's own pid.
	nsenter --net=/run/netns/"$GW_NS" -- "$(lab_sluice_bin)" "$@" >"$T/$name" 2>"$T/$name.err" &
	TPID=$!
	for _ in $(seq 100); do
		grep -q "tracing" "$T/$name.err" 2>/dev/null && return 0
		kill -0 $TPID 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
# trace_wait: the background trace ends by itself within 10 s.
trace_wait() {
	for _ in $(seq 100); do
		kill -0 $TPID 2>/dev/null || break
		sleep 0.1
	done
	kill $TPID 2>/dev/null
	wait $TPID
}
# cfg_until: sl_trace_cfg's until (0: tracing off).
cfg_until() {
	in_host bpftool -j map lookup pinned "$LAB_PIN_ROOT/sl_trace_cfg" key 0 0 0 0 |
		jq '.formatted.value.until // ([.value[0:8][] | tonumber] | reverse | reduce .[] as $b (0; . * 256 + $b))'
}
url() { case "$1" in *:*) echo "http://[$1]/" ;; *) echo "http://$1/" ;; esac }
be_list4="$(be_addr4 1) $(be_addr4 2)"
be_list6="$(be_addr6 1) $(be_addr6 2)"

# --- forwarded, IPv4 and IPv6 -------------------------------------------------
for fam in 4 6; do
	if [ $fam = 4 ]; then vip=$VIP4 cl=$CLIENT4 bes=$be_list4; else vip=$VIP6 cl=$CLIENT6 bes=$be_list6; fi
	port=$((41000 + fam))
	trace_bg fwd$fam -j trace service $vip 80 tcp count 2 duration 10 || {
		tap_fail "IPv$fam: trace starts" "$(cat "$T/fwd$fam.err")"
		continue
	}
	in_cli curl -s -o /dev/null --max-time 5 --interface "$cl" --local-port $port "$(url $vip)"
	trace_wait
	syn=$(head -n1 "$T/fwd$fam")
	ret=$(sed -n 2p "$T/fwd$fam")
	check "IPv$fam: first decision is the client's SYN forwarded on g0 (redirect): $syn" \
		$JQE --arg s "$vip 80 tcp" --arg c "$cl" --arg v "$vip" --argjson p $port \
		'.reason == "forwarded" and .action == "redirect" and .iface == "g0" and
		 .service == $s and .src == $c and .sport == $p and .dst == $v and .dport == 80 and
		 .tcp_flags == "S" and .proto == "tcp" and .len > 0' <<<"$syn"
	be=$(jq -r .backend <<<"$syn")
	check "IPv$fam: ... to one of the service's backends ($be)" grep -qw -- "$be" <<<"$bes"
	check "IPv$fam: then the backend's SYN-ACK translated back (rev_nat) from $be: $ret" \
		$JQE --arg b "$be" --arg c "$cl" --argjson p $port \
		'.reason == "rev_nat" and .backend == $b and .src == $b and .dst == $c and
		 .dport == $p and .tcp_flags == "S." and (.iface | startswith("gb"))' <<<"$ret"
done

# The text line: one per decision, with the same facts.
trace_bg text trace service $VIP4 80 tcp count 1 duration 10
in_cli curl -s -o /dev/null --max-time 5 --local-port 41010 "$(url $VIP4)"
trace_wait
line=$(cat "$T/text")
check "text: $line" grep -qE \
	"^[0-9:.]+ g0 tcp $CLIENT4:41010 > $VIP4:80 \[S\] len [0-9]+: forwarded \(redirect\) service $VIP4 80 tcp backend 198\.18\.[12]\.2 port 80$" \
	<<<"$line"
check "count 1: exactly one line" test "$(wc -l <"$T/text")" = 1
check "count reached: tracing is off again (sl_trace_cfg until 0)" test "$(cfg_until)" = 0

# --- refused, with --pcap -------------------------------------------------------
sluice service set $VIP4 80 tcp on-open fail-fast >/dev/null
for i in 1 2; do sluice breaker trip $VIP4 80 tcp "$(be_addr4 $i)" >/dev/null; done
trace_bg ref -j trace reason brk_open count 1 duration 10 --pcap "$T/ref.pcap"
in_cli curl -s -o /dev/null --max-time 5 --local-port 41020 "$(url $VIP4)"
rc=$?
trace_wait
ref=$(cat "$T/ref")
check "breakers open, fail-fast: curl is refused at once (status $rc, 7 = refused)" test $rc = 7
check "refused: brk_open, answered with a RST (tx), no backend: $ref" \
	$JQE --arg c "$CLIENT4" '.reason == "brk_open" and .action == "tx" and
	 .backend == null and .src == $c and .sport == 41020 and .tcp_flags == "S"' <<<"$ref"
pcap=$(tcpdump -nn -r "$T/ref.pcap" 2>/dev/null)
check "--pcap: tcpdump -r reads the SYN as received: $pcap" grep -qE \
	"IP $CLIENT4\.41020 > $VIP4\.80: Flags \[S\]" <<<"$pcap"
check "--pcap: one frame" test "$(wc -l <<<"$pcap")" = 1

# --- filters --------------------------------------------------------------------
# The refusals only: the forwarded IPv6 request is not shown.
trace_bg filt -j trace reason brk_open,bh_service duration 2
in_cli curl -s -o /dev/null --max-time 5 "$(url $VIP6)"
in_cli curl -s -o /dev/null --max-time 5 "$(url $VIP4)"
trace_wait
check "reason filter: only the refusal ($(jq -r .reason "$T/filt" | tr '\n' ' '))" \
	test "$(jq -r .reason "$T/filt" | sort -u)" = brk_open
trace_bg none -j trace client 192.0.2.0/24 duration 2
in_cli curl -s -o /dev/null --max-time 5 "$(url $VIP6)"
in_cli curl -s -o /dev/null --max-time 5 "$(url $VIP4)"
trace_wait
check "client filter that matches no packet: nothing shown$(head -c 400 "$T/none")" test ! -s "$T/none"
trace_bg cl -j trace client $CLIENT6/128 count 1 duration 5
in_cli curl -s -o /dev/null --max-time 5 --interface "$CLIENT6" "$(url $VIP6)"
trace_wait
check "client filter $CLIENT6/128: its packet shown" $JQE --arg c "$CLIENT6" '.src == $c' "$T/cl"

# --- stopping, one tracer at a time ------------------------------------------------
trace_bg a trace duration 30
out=$(sluice trace duration 1 2>&1)
check "a second tracer is refused: $out" grep -q "another sluice trace (pid $TPID) is running" \
	<<<"$out"
kill -INT $TPID
wait $TPID
rc=$?
check "SIGINT: the trace stops (status $rc) and turns tracing off" \
	test $rc = 0 -a "$(cfg_until)" = 0
trace_bg b trace duration 30
kill -TERM $TPID
wait $TPID
check "SIGTERM: tracing off" test "$(cfg_until)" = 0
trace_bg c trace duration 30
kill -9 $TPID
wait $TPID 2>/dev/null
trace_bg d trace count 1 duration 5
check "a tracer killed with -9: the next one may start" grep -q tracing "$T/d.err"
kill $TPID 2>/dev/null
wait $TPID 2>/dev/null

# --- bad input --------------------------------------------------------------------
out=$(sluice -j trace reason nosuch 2>&1)
rc=$?
check "-j trace reason nosuch: status $rc, JSON error: $out" \
	$JQE --argjson rc $rc '$rc != 0 and (.error | test("no reason .nosuch."))' <<<"$out"
out=$(sluice trace service 192.0.2.99 80 tcp 2>&1)
check "trace of a service that does not exist: $out" grep -q "no service 192.0.2.99" <<<"$out"
out=$(sluice trace client 10.0.0.1/33 2>&1)
check "a bad prefix: $out" test -n "$out" -a "$(sluice trace client 10.0.0.1/33 >/dev/null 2>&1; echo $?)" != 0
out=$(sluice trace sample 0 2>&1)
check "sample 0: $out" grep -q sample <<<"$out"
finish
