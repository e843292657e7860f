#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# `make bench`, cluster part (run by tools/bench.sh; never a test, exits 0):
# control-plane reaction times of gateways on etcd, in the two-gateway HA
# lab (tools/lab.sh lab_up_ha, 2 backends) with a three-member etcd cluster
# in its switch namespace (tests/integration/etcd.sh, ha.sh), one sluiced
# per gateway, lease TTL $TTL s. CLUSTER_ROUNDS (default 5) rounds each:
#
#  1. election change -> leaders map: gateway 1 follows an etcd election
#     for a CQRS service; an etcdprobe candidate proclaims a new value
#     (alternating the two backends). End to end: from writing the proclaim
#     to `sluice leader show` on gateway 1 showing it (the CLI is polled, a
#     run takes ~10 ms, so this is an upper bound with ~10 ms resolution).
#     Daemon: its own time from etcd's event to the map written
#     (`cluster show`, last_apply_us: the command journaled with fdatasync,
#     then applied).
#  2. VIP failover: kill -9 of the holding daemon -> the other gateway holds
#     both VIPs (its status polled every 20 ms) -> the client's curl to
#     both VIPs succeeds; the killed one restarts and stands by; the next
#     round kills the new holder. kill -9 leaves the lease to expire: the
#     TTL is the floor. Then the same with SIGTERM (lease revoked on stop).
#  3. breaker propagation: `breaker trip` on gateway 2 (through its daemon)
#     -> gateway 1's `breaker show` says open; then reset -> closed.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
BUILD=${BUILD:-build}
ROUNDS=${CLUSTER_ROUNDS:-5}
TTL=${CLUSTER_TTL:-3}
LAB_ID=bc$$
LAB_PIN_ROOT=/sys/fs/bpf/sluice-bench-cluster-$$
LAB_STATE=${TMPDIR:-/tmp}/sluice-bench-cluster-$$
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lab.sh"
. "$HERE/../tests/integration/etcd.sh"
. "$HERE/../tests/integration/ha.sh"
SLUICED=$(realpath "$BUILD/sluiced")
ETCDPROBE=$(realpath "$BUILD/tests/integration/etcdprobe")
VIP4=198.19.0.10
VIP6=fd00:5c:ff::10
CQRS=198.19.0.20
ELECTION=bench-$$-primary
TMP=$LAB_STATE/cluster
DPID1=
DPID2=
PROBE=

bench_cleanup() {
	exec 7>&- 2>/dev/null
	for p in $DPID1 $DPID2 $PROBE; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	etcd_down
	lab_down
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

echo "== cluster on etcd: reaction times (HA lab, 2 gateways, lease TTL $TTL s, $ROUNDS rounds)"
for tool in etcd etcdctl jq curl nginx; do
	command -v $tool >/dev/null || {
		echo "   skipped: needs $tool"
		exit 0
	}
done
if ! lab_up_ha 2 >"$LAB_STATE.log" 2>&1 || ! lab_attach_ha >>"$LAB_STATE.log" 2>&1 ||
	! ha_etcd_up >>"$LAB_STATE.log" 2>&1; then
	echo "   skipped: lab or etcd did not come up ($LAB_STATE.log)"
	exit 0
fi
mkdir -p "$TMP"
be1=$(ha_be_addr4 1)
be2=$(ha_be_addr4 2)
HA_EXTRA_SERVICES="  - address: $CQRS
    port: 5432
    mode: ipip
    write-port: 5433
    leader:
      election: $ELECTION
    backends: [$be1, $be2]"
ha_start 1
ha_wait 10 eval '[ "$(ha_held 1)" = 2 ]' >/dev/null
ha_start 2
ha_wait 10 eval '[ "$(ha_status 2 | jq -r .synced)" = true ]' >/dev/null

# med LIST: the median of the numbers in LIST.
med() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
mx() { tr ' ' '\n' <<<"$1" | grep . | sort -n | tail -n 1; }

# --- 1. election change -> leaders map ---------------------------------------
leader_of() { sluice_gwi 1 -j leader show $CQRS 5432 tcp 2>/dev/null | jq -r '.[0].leader'; }
mkfifo "$TMP/probe.in"
nsenter --net=/run/netns/"$SW_NS" -- "$ETCDPROBE" -d 600 "$ETCD_ENDPOINTS" \
	<"$TMP/probe.in" >"$TMP/probe.out" 2>&1 &
PROBE=$!
exec 7>"$TMP/probe.in"
echo "grant 60" >&7
ha_wait 5 grep -q '^grant lease=' "$TMP/probe.out" >/dev/null
lease=$(sed -n 's/^grant lease=\([0-9]*\).*/\1/p' "$TMP/probe.out" | head -n 1)
echo "refresh $lease 2000" >&7
echo "campaign c $ELECTION $lease $be1" >&7
e2e=""
dmn=""
if ha_wait 5 eval '[ "$(leader_of)" = "$be1:5432" ]' >/dev/null; then
	for r in $(seq "$ROUNDS"); do
		v=$be2
		[ $((r % 2)) = 0 ] && v=$be1
		t0=$(date +%s%N)
		echo "proclaim c $v" >&7
		if ha_wait 5 eval '[ "$(leader_of)" = "$v:5432" ]' >/dev/null; then
			e2e="$e2e $((($(date +%s%N) - t0) / 1000000))"
			dmn="$dmn $(ha_status 1 | jq '.elections[0].last_apply_us')"
		fi
	done
fi
if [ -n "$e2e" ]; then
	echo "   election change -> leaders map: end to end median $(med "$e2e") ms (max $(mx "$e2e") ms;" \
		"rounds:$e2e)"
	echo "   daemon, etcd event -> map written: median $(med "$dmn") us (max $(mx "$dmn") us;" \
		"target 50 ms)"
else
	echo "   election change -> leaders map: not measured (see $TMP/probe.out, $TMP/g1/sluiced.log)"
fi

# --- 2. VIP failover -----------------------------------------------------------
get_ok() {
	in_cli curl -s -m 1 "http://$VIP4/" | grep -q '^backend-' &&
		in_cli curl -s -m 1 "http://[$VIP6]/" | grep -q '^backend-'
}
# failover SIGNAL: rounds of stopping the holder; prints "takeover_ms served_ms" lines.
failover() {
	for r in $(seq "$ROUNDS"); do
		h=1
		[ "$(ha_held 2)" = 2 ] && h=2
		o=$((3 - h))
		pid=$(eval echo "\$DPID$h")
		t0=$(date +%s%N)
		kill "-$1" "$pid"
		wait "$pid" 2>/dev/null
		eval "DPID$h="
		if ha_wait $((TTL * 3)) eval '[ "$(ha_held $o)" = 2 ]' >/dev/null; then
			a=$((($(date +%s%N) - t0) / 1000000))
			ha_wait 5 get_ok >/dev/null
			echo "$a $((($(date +%s%N) - t0) / 1000000))"
		fi
		ha_start "$h"
		ha_wait 10 eval '[ "$(ha_status '"$h"' | jq -r .synced)" = true ]' >/dev/null
	done
}
for sig in KILL TERM; do
	# Not in $(...): the daemons it restarts must stay this shell's children.
	failover $sig >"$TMP/failover.$sig"
	res=$(cat "$TMP/failover.$sig")
	if [ -n "$res" ]; then
		a=$(awk '{ printf "%s ", $1 }' <<<"$res")
		b=$(awk '{ printf "%s ", $2 }' <<<"$res")
		echo "   VIP failover after $sig of the holder: takeover median $(med "$a") ms" \
			"(max $(mx "$a")), client served again median $(med "$b") ms (max $(mx "$b"))"
	else
		echo "   VIP failover after $sig: no takeover seen (see $TMP/g*/sluiced.log)"
	fi
done
echo "   (kill -9 waits for the lease to expire: floor $((TTL * 1000)) ms; SIGTERM revokes it)"

# --- 3. breaker propagation ---------------------------------------------------------
brk1() { sluice_gwi 1 -j breaker show $VIP4 80 tcp | jq -r --arg a "$be1" '.[] | select(.address == $a) | .state'; }
open_ms=""
close_ms=""
for r in $(seq "$ROUNDS"); do
	t0=$(date +%s%N)
	ha_cli 2 breaker trip $VIP4 80 tcp "$be1" >/dev/null
	ha_wait 3 eval '[ "$(brk1)" = open ]' >/dev/null &&
		open_ms="$open_ms $((($(date +%s%N) - t0) / 1000000))"
	t0=$(date +%s%N)
	ha_cli 2 breaker reset $VIP4 80 tcp "$be1" >/dev/null
	ha_wait 3 eval '[ "$(brk1)" = closed ]' >/dev/null &&
		close_ms="$close_ms $((($(date +%s%N) - t0) / 1000000))"
done
if [ -n "$open_ms" ]; then
	echo "   breaker propagation gateway 2 -> 1: open median $(med "$open_ms") ms (max $(mx "$open_ms")," \
		"target 1 s), closed median $(med "$close_ms") ms (CLI-polled: ~10 ms resolution)"
else
	echo "   breaker propagation: not seen on gateway 1 (see $TMP/g1/sluiced.log)"
fi
exit 0
