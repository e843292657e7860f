#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# `make bench`: benchmarks, never tests. Prints ratios measured side by side
# in one run; exits 0 whatever the numbers (see BENCHMARKS.md for the method).
#
#  1. per-packet cost through BPF_PROG_TEST_RUN (build/sluice-bench);
#  2. packets per second through the lab's gateway (tools/lab.sh, 3
#     backends): Sluice in nat mode, the bare XDP redirect floor
#     (build/bpf/redirect_floor.bpf.o) and nftables (conntrack DNAT with
#     jhash over the same 3 backends), same generator (ppsgen: AF_PACKET
#     sendmmsg from the client namespace), same topology, rounds interleaved.
#     PPS_SECONDS (default 4) per measurement, PPS_ROUNDS (default 3) rounds.
#  2b. the same gateway saturated: livegen (BPF_PROG_TEST_RUN live frames,
#     build/tests/integration/livegen) on CPU 0 injects at the client's c0,
#     the gateway's g0 runs threaded NAPI pinned to CPU 1, each backend drops
#     in XDP (build/bpf/sink.bpf.o); delivered pps and the gateway's CPU time
#     per packet (its NAPI threads' run time, and CPU 1's busy time) for
#     Sluice nat, the redirect floor, nftables DNAT and plain forwarding.
#     LIVE_SECONDS (default 3) per measurement, LIVE_ROUNDS (default 3).
#  3. circuit-breaker reaction time on the same lab: a client loop of new
#     TCP connections (build/tests/integration/connloop, BRK_RATE a second,
#     default 500) against a nat service with 3 nginx backends, `sluice
#     breaker watch` running; one backend's nginx is stopped; brkpoll
#     (build/tests/integration/brkpoll) timestamps the threshold crossing
#     (the brk_failures-th refused signal the data plane counted) and the
#     breaker turning open in the map the data plane reads. BRK_ROUNDS
#     (default 3) rounds; the backend's nginx restarts and its breaker closes
#     between rounds.
#
#  4. failover: a backend dying under new connections, Sluice against
#     HAProxy with option redispatch (tools/bench-failover.sh).
#  5. HTTP, one connection per request: Sluice nat, nftables DNAT and
#     HAProxy through the same gateway (tools/bench-http.sh).
#  6. host: a client's connections balanced by the host side (cgroup
#     programs) against an HAProxy sidecar on the same host
#     (tools/bench-host.sh).
#
# BENCH_PARTS (default: all of "testrun pps live breaker failover http daemon cluster host bgp")
# runs only the parts named.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
BENCH_PARTS=${BENCH_PARTS:-testrun pps live breaker failover http daemon cluster host bgp}
# part NAME: true when NAME is one of BENCH_PARTS.
part() { [[ " $BENCH_PARTS " == *" $1 "* ]]; }
BUILD=${BUILD:-build}
PPS_SECONDS=${PPS_SECONDS:-4}
PPS_ROUNDS=${PPS_ROUNDS:-3}
LIVE_SECONDS=${LIVE_SECONDS:-3}
LIVE_ROUNDS=${LIVE_ROUNDS:-3}
if [ "$(id -u)" != 0 ]; then
	echo "bench: needs root (BPF_PROG_TEST_RUN, namespaces)" >&2
	exit 1
fi
if part testrun; then
	echo "== per-packet cost through BPF_PROG_TEST_RUN (kernel $(uname -r), $(nproc) CPUs)"
	"$BUILD/sluice-bench" "$@" || echo "bench: sluice-bench failed (rc $?)"
fi

# --- packets per second through the gateway ---------------------------------
LAB_ID=bench$$
LAB_PIN_ROOT=/sys/fs/bpf/sluice-bench-$$
. "$(dirname "$0")/lab.sh"
SLUICE=$(realpath "$BUILD/sluice")
PPSGEN=$(realpath "$BUILD/tests/integration/ppsgen")
LIVEGEN=$(realpath "$BUILD/tests/integration/livegen")
VIP=198.19.0.10
PORT=9000
FLOWS=1024
BACKENDS="$(be_addr4 1) $(be_addr4 2) $(be_addr4 3)"

trap lab_down EXIT
trap 'exit 130' INT TERM

# delivered: frames received by the 3 backends' b0 so far.
delivered() {
	t=0
	for i in 1 2 3; do
		n=$(in_be $i ip -j -s link show b0 | jq '.[0].stats64.rx.packets')
		t=$((t + n))
	done
	echo $t
}

# measure DSTS: run the generator for PPS_SECONDS; prints "sent_pps delivered_pps".
measure() {
	d0=$(delivered)
	t0=$(date +%s%N)
	sent=$(in_cli "$PPSGEN" c0 "$(lab_mac "$GW_NS" $GW_IF)" $CLIENT4 "$1" $PORT "$PPS_SECONDS" \
		"$(nproc)" $FLOWS)
	t1=$(date +%s%N)
	sleep 0.2
	d1=$(delivered)
	awk -v s="$sent" -v d="$((d1 - d0))" -v t="$((t1 - t0))" \
		'BEGIN { printf "%.0f %.0f\n", s * 1e9 / t, d * 1e9 / t }'
}

# The three ways the gateway forwards; each setup undoes the others.
use_sluice() {
	in_gw nft delete table ip slbench 2>/dev/null
	in_gw ip link set dev $GW_IF xdpdrv off 2>/dev/null
	sluice iface attach $GW_IF --force >/dev/null
}
use_floor() {
	in_gw nft delete table ip slbench 2>/dev/null
	sluice iface detach $GW_IF >/dev/null 2>&1
	in_gw ip link set dev $GW_IF xdpdrv obj "$BUILD/bpf/redirect_floor.bpf.o" sec xdp
}
use_nft() {
	sluice iface detach $GW_IF >/dev/null 2>&1
	in_gw ip link set dev $GW_IF xdpdrv off 2>/dev/null
	in_gw nft -f - <<EOF
table ip slbench {
	chain pre {
		type nat hook prerouting priority dstnat;
		ip daddr $VIP udp dport $PORT dnat to jhash ip saddr . udp sport mod 3 map { 0 : $(be_addr4 1), 1 : $(be_addr4 2), 2 : $(be_addr4 3) }
	}
}
EOF
}

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
if ! lab_up_steer 3 >/dev/null || ! lab_attach; then
	echo "bench: pps and breaker parts skipped: the lab did not come up"
	part failover && BUILD="$BUILD" bash "$(dirname "$0")/bench-failover.sh"
	part http && BUILD="$BUILD" bash "$(dirname "$0")/bench-http.sh"
	part daemon && BUILD="$BUILD" bash "$(dirname "$0")/bench-daemon.sh"
	part host && BUILD="$BUILD" bash "$(dirname "$0")/bench-host.sh"
	exit 0
fi

bench_pps() {
echo
echo "== packets per second through the gateway (lab, 3 backends, 64-byte UDP, $FLOWS flows,"
echo "   $(nproc) generator threads, ${PPS_SECONDS} s x $PPS_ROUNDS rounds, median of delivered pps)"
if ! [ -x "$PPSGEN" ] || ! [ -f "$BUILD/bpf/redirect_floor.bpf.o" ] || ! command -v nft >/dev/null; then
	echo "bench: pps skipped: needs $PPSGEN, $BUILD/bpf/redirect_floor.bpf.o and nft"
	return 0
fi
# Backends drop the frames at once (no socket, no ICMP): the same cost in
# every variant, and what reaches b0 is counted in its rx statistics.
for i in 1 2 3; do
	in_be $i nft -f - <<EOF
table netdev sink {
	chain in {
		type filter hook ingress device b0 priority 0;
		udp dport $PORT drop
	}
}
EOF
done

declare -A res=()
for _ in $(seq "$PPS_ROUNDS"); do
	use_sluice
	res[sluice]="${res[sluice]:-} $(measure $VIP)"
	use_floor
	res[floor]="${res[floor]:-} $(measure "$(tr ' ' ',' <<<"$BACKENDS")")"
	use_nft
	res[nft]="${res[nft]:-} $(measure $VIP)"
done
# median COLUMN "s d s d ...": the median of the sent (1) or delivered (2) column.
median() { tr ' ' '\n' <<<"$2" | grep . | awk -v c="$1" 'NR % 2 == (c % 2)' | sort -n |
	awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
floor_d=$(median 2 "${res[floor]}")
printf '   %-22s %12s %12s %8s\n' path "sent pps" "delivered" "ratio"
for v in floor sluice nft; do
	s=$(median 1 "${res[$v]}")
	d=$(median 2 "${res[$v]}")
	case $v in
	floor) name="redirect floor (XDP)" ;;
	sluice) name="Sluice nat (XDP)" ;;
	nft) name="nftables DNAT jhash" ;;
	esac
	awk -v n="$name" -v s="$s" -v d="$d" -v f="$floor_d" \
		'BEGIN { printf "   %-22s %12.0f %12.0f %7.2fx\n", n, s, d, (f > 0 ? d / f : 0) }'
done
sl=$(median 2 "${res[sluice]}")
nf=$(median 2 "${res[nft]}")
awk -v s="$sl" -v f="$floor_d" -v n="$nf" 'BEGIN {
	printf "   Sluice / floor = %.2f (target >= 0.9), Sluice / nftables = %.2f (target >= 3)\n",
		(f > 0 ? s / f : 0), (n > 0 ? s / n : 0) }'
stats_fwd=$(sluice -j stats | jq '.global.forwarded.packets')
echo "   (Sluice counted $stats_fwd packets forwarded over all its rounds)"
use_sluice
}

# --- the gateway saturated: live-frames generator ---------------------------
# in_ns_sys NS CMD: CMD in namespace NS with that namespace's /sys (for the
# per-device sysfs files; the pins are not needed there).
in_ns_sys() { ns=$1; shift; ip netns exec "$ns" "$@"; }

# napi_threads IF: the pids of the NAPI threads of the interfaces named IF
# (threaded NAPI: one kernel thread "napi/IF-ID" per queue).
napi_threads() { pgrep -x "napi/$1-[0-9]+"; }

# live_threads: threaded NAPI on, the gateway's g0 threads and the backends'
# b0 threads on CPU 1, away from the generator on CPU 0 (which a saturating
# generator keeps busy: sinks there would starve and drop what the gateway
# forwarded). g0's threads' run time is then the gateway's work alone, and
# CPU 1's busy time the gateway's plus the sinks'. An XDP attach or detach
# re-creates a veth's NAPI and its threads: called after every setup.
live_threads() {
	in_ns_sys "$GW_NS" sh -c "echo 1 >/sys/class/net/$GW_IF/threaded"
	for i in 1 2 3; do in_ns_sys "$(be_ns $i)" sh -c 'echo 1 >/sys/class/net/b0/threaded'; done
	for p in $(napi_threads $GW_IF) $(napi_threads b0); do taskset -pc 1 "$p" >/dev/null; done
}

# napi_ns: the run time so far of the gateway's g0 NAPI threads, ns.
napi_ns() {
	t=0
	for p in $(napi_threads $GW_IF); do
		t=$((t + $(cut -d' ' -f1 "/proc/$p/schedstat" 2>/dev/null || echo 0)))
	done
	echo $t
}

# cpu1_busy_ns: CPU 1's busy time so far (all but idle and iowait), ns.
cpu1_busy_ns() {
	awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu1" {
		printf "%.0f\n", ($2 + $3 + $4 + $7 + $8 + $9) * 1e9 / hz }' /proc/stat
}

# g0_rx: frames g0 has received so far (what the gateway had to handle).
g0_rx() { in_gw ip -j -s link show $GW_IF | jq '.[0].stats64.rx.packets'; }

# measure_live DSTS: livegen for LIVE_SECONDS; prints "delivered_pps
# gw_ns_per_pkt cpu1_ns_per_pkt generated_pps handled_pps". The gateway's
# time is per frame it handled (received on g0, whether a backend's ring
# then had room for it or not); CPU 1's per frame delivered.
measure_live() {
	live_threads
	d0=$(delivered)
	r0=$(g0_rx)
	n0=$(napi_ns)
	c0=$(cpu1_busy_ns)
	t0=$(date +%s%N)
	sent=$(in_cli "$LIVEGEN" c0 "$(lab_mac "$GW_NS" $GW_IF)" $CLIENT4 "$1" $PORT \
		"$LIVE_SECONDS" $FLOWS 0)
	t1=$(date +%s%N)
	sleep 0.2
	d1=$(delivered)
	r1=$(g0_rx)
	n1=$(napi_ns)
	c1=$(cpu1_busy_ns)
	awk -v s="${sent:-0}" -v d="$((d1 - d0))" -v t="$((t1 - t0))" -v n="$((n1 - n0))" \
		-v c="$((c1 - c0))" -v r="$((r1 - r0))" 'BEGIN {
		printf "%.0f %.1f %.1f %.0f %.0f\n", d * 1e9 / t, (r > 0 ? n / r : 0),
			(d > 0 ? c / d : 0), s * 1e9 / t, r * 1e9 / t }'
}

# Plain kernel forwarding: no XDP on g0, no nftables.
use_fwd() {
	in_gw nft delete table ip slbench 2>/dev/null
	sluice iface detach $GW_IF >/dev/null 2>&1
	in_gw ip link set dev $GW_IF xdpdrv off 2>/dev/null
}

bench_live() {
	echo
	echo "== the gateway saturated: live-frames generator on CPU 0 (BPF_PROG_TEST_RUN,"
	echo "   BPF_F_TEST_XDP_LIVE_FRAMES, XDP_TX into c0), the gateway's and the backends' NAPI"
	echo "   threads on CPU 1, XDP_DROP sink on each backend; 64-byte UDP, $FLOWS flows,"
	echo "   ${LIVE_SECONDS} s x $LIVE_ROUNDS rounds; medians (min-max)"
	if ! [ -x "$LIVEGEN" ] || ! [ -f "$BUILD/bpf/sink.bpf.o" ] || [ "$(nproc)" -lt 2 ] ||
		! command -v nft >/dev/null; then
		echo "bench: live part skipped: needs $LIVEGEN, $BUILD/bpf/sink.bpf.o, nft and 2 CPUs"
		return 0
	fi
	# Backends: the sink instead of decap (restored below).
	for i in 1 2 3; do
		in_be $i nft delete table netdev sink 2>/dev/null
		in_be $i ip link set dev b0 xdpdrv off
		in_be $i ip link set dev b0 xdpdrv obj "$BUILD/bpf/sink.bpf.o" sec xdp
	done
	# GRO gives g0 a NAPI without XDP (the kernel-forwarding variants), which
	# c0's XDP_TX into the veth needs.
	in_gw ethtool -K $GW_IF gro on >/dev/null 2>&1
	declare -A lr=()
	local backends_csv
	backends_csv=$(tr ' ' ',' <<<"$BACKENDS")
	for _ in $(seq "$LIVE_ROUNDS"); do
		use_sluice
		lr[sluice]="${lr[sluice]:-}$(measure_live $VIP)"$'\n'
		use_floor
		lr[floor]="${lr[floor]:-}$(measure_live "$backends_csv")"$'\n'
		use_nft
		lr[nft]="${lr[nft]:-}$(measure_live $VIP)"$'\n'
		use_fwd
		lr[fwd]="${lr[fwd]:-}$(measure_live "$backends_csv")"$'\n'
	done
	# lmed V COL / lrange V COL: median, "min-max" of column COL of variant V.
	lmed() { grep . <<<"${lr[$1]}" | awk -v c="$2" '{ print $c }' | sort -g |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
	lrange() { grep . <<<"${lr[$1]}" | awk -v c="$2" '{ print $c }' | sort -g |
		awk '{ v[NR] = $1 } END { printf "%s-%s", v[1], v[NR] }'; }
	printf '   %-22s %10s %17s %11s %15s %9s %10s %10s\n' path "delivered" "(min-max)" \
		"gw ns/pkt" "(min-max)" "cpu1 ns" "handled" "generated"
	for v in floor sluice nft fwd; do
		case $v in
		floor) name="redirect floor (XDP)" ;;
		sluice) name="Sluice nat (XDP)" ;;
		nft) name="nftables DNAT jhash" ;;
		fwd) name="kernel forwarding" ;;
		esac
		printf '   %-22s %10s %17s %11s %15s %9s %10s %10s\n' "$name" "$(lmed $v 1)" \
			"($(lrange $v 1))" "$(lmed $v 2)" "($(lrange $v 2))" "$(lmed $v 3)" \
			"$(lmed $v 5)" "$(lmed $v 4)"
	done
	awk -v s="$(lmed sluice 1)" -v f="$(lmed floor 1)" -v sn="$(lmed sluice 2)" \
		-v nn="$(lmed nft 2)" -v fn="$(lmed floor 2)" 'BEGIN {
		printf "   Sluice pps / floor = %.2f (target >= 0.9); gateway ns/pkt: Sluice / nftables = %.2f (target <= 0.33), Sluice / floor = %.2f\n",
			(f > 0 ? s / f : 0), (nn > 0 ? sn / nn : 0), (fn > 0 ? sn / fn : 0) }'
	echo "   (delivered, handled, generated: frames/s reaching the backends, received by g0, and"
	echo "    made by livegen; gw ns/pkt: run time of g0's NAPI threads per frame handled, the"
	echo "    gateway's work alone; cpu1 ns: CPU 1's busy time per frame delivered: gateway,"
	echo "    sinks, and any other process that ran there)"
	# Back to the lab as the other parts expect it.
	in_ns_sys "$GW_NS" sh -c "echo 0 >/sys/class/net/$GW_IF/threaded"
	for i in 1 2 3; do
		in_ns_sys "$(be_ns $i)" sh -c 'echo 0 >/sys/class/net/b0/threaded'
		in_be $i ip link set dev b0 xdpdrv off
		in_be $i ip link set dev b0 xdpdrv obj "$(lab_xdp_obj)" sec xdp
	done
	use_sluice
}

# --- circuit-breaker reaction time --------------------------------------------
BRK_RATE=${BRK_RATE:-500}
BRK_ROUNDS=${BRK_ROUNDS:-3}
BRK_VIP=198.19.0.11
BRK_DEAD=2
CONNLOOP=$(realpath "$BUILD/tests/integration/connloop")
BRKPOLL=$(realpath "$BUILD/tests/integration/brkpoll")

# brk_state: the state of the dying backend's breaker, as `breaker show` gives it.
brk_state() {
	sluice -j breaker show $BRK_VIP 80 tcp |
		jq -r --arg a "$(be_addr4 $BRK_DEAD)" '.[] | select(.address == $a) | .state'
}

# brk_round N: one death of backend BRK_DEAD's nginx under the client loop;
# prints "death_to_threshold_ms threshold_to_open_ms death_to_open_ms
# failed_before_open failed_after_open".
brk_round() {
	# (not "d" or "i": lab.sh's functions use those names)
	rd=$LAB_STATE/brk$1
	mkdir -p "$rd"
	# nsenter itself (not a shell function in the background): $! is then the
	# process, and a signal reaches it.
	nsenter --net=/run/netns/$GW_NS -- "$BRKPOLL" "$SLUICE_PIN_ROOT" 30000 "$BRK_ID" \
		>"$rd/poll" 2>&1 &
	poll=$!
	in_cli timeout 30 "$CONNLOOP" $BRK_VIP 80 -d 3000 -i $((1000000 / BRK_RATE)) -t 1000 \
		>"$rd/loop" 2>&1 &
	loop=$!
	sleep 1
	t_kill=$(date +%s%6N)
	kill -TERM "$(cat "$LAB_STATE/b$BRK_DEAD/nginx.pid")"
	wait $loop
	# Back up for the next round: nginx, then light traffic until the breaker
	# has closed (half-open after breaker-wait, probes succeed) and stayed
	# closed past the SYN timeout of the refused handshakes (3 s).
	lab_nginx $BRK_DEAD
	closed=0
	for _ in $(seq 15); do
		in_cli timeout 10 "$CONNLOOP" $BRK_VIP 80 -d 1000 -i 10000 -t 1000 -q >/dev/null
		if [ "$(brk_state)" = closed ]; then closed=$((closed + 1)); else closed=0; fi
		[ $closed -ge 2 ] && [ $(($(date +%s%6N) - t_kill)) -gt 4500000 ] && break
	done
	kill -TERM $poll 2>/dev/null
	wait $poll 2>/dev/null
	awk -v k="$t_kill" -v f="$BRK_FAILURES" '
		FNR == NR { if ($1 >= k && thr == "" && $4 >= f) thr = $1
			    if ($1 >= k && open == "" && $3 == "open") open = $1; next }
		$3 != "ok" && $2 >= k && (open == "" || $1 <= open) { before++ }
		$3 != "ok" && open != "" && $1 > open { after++ }
		END { if (open == "" || thr == "") { print "none"; exit }
		      printf "%.1f %.1f %.1f %d %d\n", (thr - k) / 1e3, (open - thr) / 1e3,
			     (open - k) / 1e3, before, after }' "$rd/poll" "$rd/loop"
}

bench_breaker() {
	echo
	echo "== circuit breaker: backend death to breaker open, under $BRK_RATE new connections/s"
	if ! [ -x "$CONNLOOP" ] || ! [ -x "$BRKPOLL" ] || ! "$SLUICE" breaker help >/dev/null 2>&1; then
		echo "bench: breaker part skipped: needs $CONNLOOP, $BRKPOLL and 'sluice breaker'"
		return 0
	fi
	BRK_FAILURES=30 # the default threshold: 30 failures within 10 s
	sluice service add $BRK_VIP 80 tcp mode nat >/dev/null
	for i in 1 2 3; do sluice backend add $BRK_VIP 80 tcp "$(be_addr4 $i)" >/dev/null; done
	# Default trip threshold; a short open duration so rounds follow quickly.
	sluice service set $BRK_VIP 80 tcp breaker-wait 1 >/dev/null
	BRK_ID=$(sluice -j backend show $BRK_VIP 80 tcp |
		jq -r --arg a "$(be_addr4 $BRK_DEAD)" '.[] | select(.address == $a) | .id')
	nsenter --net=/run/netns/$GW_NS -- "$SLUICE" breaker watch $BRK_VIP 80 tcp --interval 100 \
		--duration $((BRK_ROUNDS * 25 + 5)) >"$LAB_STATE/brk-watch" 2>&1 &
	watch=$!
	sleep 0.5
	printf '   %-6s %14s %14s %12s %16s %15s\n' round "death->thresh" "thresh->open" \
		"death->open" "failed (before)" "failed (after)"
	all=""
	for r in $(seq "$BRK_ROUNDS"); do
		res=$(brk_round "$r")
		if [ "$res" = none ]; then
			printf '   %-6s breaker did not open (see %s)\n' "$r" "$LAB_STATE/brk$r"
			continue
		fi
		all="$all$res"$'\n'
		read -r a b c f g <<<"$res"
		printf '   %-6s %11s ms %11s ms %9s ms %16s %15s\n' "$r" "$a" "$b" "$c" "$f" "$g"
	done
	kill -TERM $watch 2>/dev/null
	wait $watch 2>/dev/null
	if [ -n "$all" ]; then
		# median COLUMN: the median of one column of the rounds.
		med() { grep . <<<"$all" | awk -v c="$1" '{ print $c }' | sort -n |
			awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
		echo "   median: threshold -> open $(med 2) ms (target <= 50 ms), death -> open" \
			"$(med 3) ms, failed client connections $(med 4) before the open, $(med 5) after"
	fi
	echo "   (threshold: the ${BRK_FAILURES}th refused signal, the default breaker-failures;"
	echo "    'failed (after)': client connections failed after the breaker opened)"
}

# The UDP service the pps parts measure (nat over the 3 backends).
sluice service add $VIP $PORT udp mode nat >/dev/null
for b in $BACKENDS; do sluice backend add $VIP $PORT udp "$b" >/dev/null; done
# The conntrack table must hold every flow of the nftables variants.
in_gw sysctl -qw net.netfilter.nf_conntrack_max=262144 2>/dev/null
part pps && bench_pps
part live && bench_live
part breaker && bench_breaker
part failover && BUILD="$BUILD" bash "$(dirname "$0")/bench-failover.sh"
part http && BUILD="$BUILD" bash "$(dirname "$0")/bench-http.sh"
part daemon && BUILD="$BUILD" bash "$(dirname "$0")/bench-daemon.sh"
part cluster && BUILD="$BUILD" bash "$(dirname "$0")/bench-cluster.sh"
part host && BUILD="$BUILD" bash "$(dirname "$0")/bench-host.sh"
part bgp && BUILD="$BUILD" bash "$(dirname "$0")/bench-bgp.sh"
exit 0
