#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Leaders and CQRS routing end to end: the namespace lab (Sluice on the
# gateway, three nginx backends), a three-member etcd cluster on the
# gateway namespace's loopback, and sluiced in the gateway namespace
# following an etcd election for a nat service with a read port (80) and a
# write port (81):
#  - no leader yet: a write connection is refused fast (RST), counted
#    no_leader; reads are served;
#  - a campaign in etcd (etcdctl elect) names backend 2: the leaders map
#    follows (time measured, and the daemon's own event-to-map time), write
#    connections reach backend 2, read connections never do;
#  - the leader moves to backend 3 (the first candidate resigns): writes
#    follow, reads now avoid backend 3;
#  - the election empties: writes refused again;
#  - `sluice leader set` by an operator, journaled;
#  - a role endpoint (Patroni style: only the primary answers 200 on port
#    8008) picks the leader of a second service, and follows the primary
#    when it moves.
# Bounded: every client has a timeout; etcd, the electors, the daemon and
# the lab are torn down on any exit.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"

require_env leader
SLUICED=$(realpath "$BUILD/sluiced" 2>/dev/null)
for tool in curl jq nginx ncat etcd etcdctl; do
	command -v $tool >/dev/null || {
		tap_fail "leader: needs $tool"
		finish
		exit 1
	}
done

DPID=
ELECTORS=
ROLEPIDS=
leader_cleanup() {
	stop_pids KILL "$DPID" $ELECTORS $ROLEPIDS
	etcd_down
	cleanup
}
trap leader_cleanup EXIT
trap 'exit 130' INT TERM

lab_up_steer 3 && lab_attach || {
	tap_fail "lab setup (3 backends, Sluice on the gateway)"
	finish
	exit 1
}
trap leader_cleanup EXIT
ETCD_NETNS=$GW_NS
etcd_up || {
	tap_fail "etcd: three members in the gateway namespace" "$(tail -n 3 "$ETCD_DIR"/m*.log 2>/dev/null)"
	finish
	exit 1
}
tap_ok "lab with 3 backends and a 3-member etcd cluster ($ETCD_ENDPOINTS)"

DTMP=$LAB_STATE/daemon
mkdir -p "$DTMP"
SOCK=$DTMP/sluiced.sock
LOG=$DTMP/sluiced.log
CONF=$DTMP/sluice.yaml
export SLUICE_SOCKET=$SOCK
VIP=198.19.0.30
VIP2=198.19.0.31
ELECTION=sluice-test-$$-pg
B1=198.18.1.2
B2=198.18.2.2
B3=198.18.3.2
endpoints_yaml=$(echo "$ETCD_ENDPOINTS" | sed 's/,/, /g')
cat >"$CONF" <<EOF
cluster:
  name: gw-test
  etcd: [$endpoints_yaml]
  prefix: /sluice-test-$$
  lease-ttl: 3
  share: off
services:
  - address: $VIP
    port: 80
    mode: nat
    write-port: 81
    leader:
      election: $ELECTION
    backends: [$B1, $B2, $B3]
  - address: $VIP2
    port: 80
    route: leader
    mode: nat
    leader:
      role:
        type: http
        port: 8008
        path: /primary
        interval: 0.2
        timeout: 0.2
    backends: [$B1, $B2, $B3]
EOF

nsenter --net=/run/netns/"$GW_NS" -- "$SLUICED" --pin-root "$LAB_PIN_ROOT" \
	--journal "$DTMP/journal" --socket "$SOCK" --metrics off --config "$CONF" >>"$LOG" 2>&1 &
DPID=$!
following() { sluice -j cluster show 2>/dev/null | $JQE '.elections | length == 1' >/dev/null; }
for _ in $(seq 50); do
	following && break
	sleep 0.1
done
if following; then
	tap_ok "sluiced runs with the cluster section and follows one election"
else
	tap_fail "sluiced follows the election" "$(tail -5 "$LOG")" "$(sluice -j cluster show 2>&1)" "$(ls $DTMP)"
	finish
	exit 1
fi

# leader_of VIP: the leader's "ADDR:PORT" (or none) from `sluice leader show -j`.
leader_of() {
	sluice -j leader show "$1" 80 tcp 2>/dev/null | jq -r '.[0].leader // "none"'
}
# body PORT [VIP]: what a backend answers on VIP:PORT ("" when refused or timed out).
body() { in_cli curl -s -m 2 "http://${2:-$VIP}:$1/" 2>/dev/null; }
# check_routing I WRITES READS READS-FAILED: 10 write connections (port 81) all
# reach backend I (check WRITES); 20 reads (port 80) are all answered, none by
# backend I (ok READS, or not ok READS-FAILED with what answered).
check_routing() {
	writes=$(for _ in $(seq 10); do body 81; done | sort | uniq -c | tr -s ' ')
	check "$2 ($writes)" test "$writes" = " 10 backend-$1"
	reads=$(for _ in $(seq 20); do body 80; done)
	if [ "$(grep -c . <<<"$reads")" = 20 ] && ! grep -q "backend-$1" <<<"$reads"; then
		tap_ok "$3"
	else
		tap_fail "$4" "$(sort <<<"$reads" | uniq -c | tr '\n' ' ')"
	fi
}
# wait_leader VIP EXPECTED: poll until the leader is EXPECTED; prints ms waited.
wait_leader() {
	t0=$(now_ns)
	for _ in $(seq 500); do
		[ "$(leader_of "$1")" = "$2" ] && {
			echo $((($(now_ns) - t0) / 1000000))
			return 0
		}
		sleep 0.01
	done
	return 1
}

# --- no leader ----------------------------------------------------------------
check "no leader known at start" test "$(leader_of $VIP)" = none
t0=$(now_ns)
out=$(in_cli curl -s -m 3 -o /dev/null -w '%{http_code}' "http://$VIP:81/" 2>/dev/null)
ms=$((($(now_ns) - t0) / 1000000))
if [ "$out" = 000 ] && [ "$ms" -lt 1000 ]; then
	tap_ok "write connection without a leader refused fast ($ms ms)"
else
	tap_fail "write connection without a leader refused fast" "code $out after $ms ms"
fi
nl=$(svc_stat $VIP 80 tcp no_leader packets)
check "refusal counted as no_leader ($nl)" test "${nl:-0}" -ge 1
check "reads served without a leader" grep -q '^backend-' <<<"$(body 80)"
# sluice top shows the refusal in its refusals group: write connections are
# refused for as long as one refresh interval runs.
"$SLUICE" -j top $VIP 80 tcp --interval 1000 --count 1 >"$DTMP/top.json" &
tpid=$!
while kill -0 $tpid 2>/dev/null; do
	in_cli curl -s -m 1 -o /dev/null "http://$VIP:81/" 2>/dev/null
	sleep 0.1
done
wait $tpid
check "top counts no_leader refusals as refusals" \
	$JQE '.services[0].refusals.bytes_per_s > 0 and .services[0].drops.bytes_per_s == 0' "$DTMP/top.json"

# --- election names backend 2 --------------------------------------------------
# elector VALUE: a candidate in the background (nsenter execs etcdctl, so $! is it).
elector() {
	nsenter --net=/run/netns/"$GW_NS" -- etcdctl --endpoints="$ETCD_ENDPOINTS" \
		elect "$ELECTION" "$1" >/dev/null 2>&1 &
	ELECTORS="$ELECTORS $!"
	LAST_ELECTOR=$!
}
elector "$B2:80"
first=$LAST_ELECTOR
if ms=$(wait_leader $VIP "$B2:80"); then
	tap_ok "election → leaders map: backend 2 after $ms ms (etcdctl start included)"
else
	tap_fail "election → leaders map: backend 2" "leader $(leader_of $VIP)" "$(tail -5 "$LOG")"
fi
# The daemon's own time from the etcd event to the map write. The target is
# 50 ms (idle: a few ms); the bound is 250 ms, room for a loaded machine
# (51 ms seen beside stress-ng --cpu 2) that still fails a path waiting for
# the next 1 s tick instead of acting on the watch event.
us=$(sluice -j cluster show | jq '.elections[0].last_apply_us')
if [ "${us:-999999}" -le 250000 ]; then
	tap_ok "daemon: election event to leaders map in $us us (target 50 ms, bound 250 ms)"
else
	tap_fail "daemon: election event to leaders map within 250 ms" "$us us"
fi
check_routing 2 "10 write connections all reach backend 2" \
	"20 read connections served by replicas, none by the leader" "reads avoid the leader"

# --- the leader moves to backend 3 --------------------------------------------
elector "$B3:80"
second=$LAST_ELECTOR
sleep 0.3
kill -INT "$first" # etcdctl elect resigns on SIGINT
if ms=$(wait_leader $VIP "$B3:80"); then
	tap_ok "leader moved to backend 3 in the map $ms ms after the resignation"
else
	tap_fail "leader moves to backend 3" "leader $(leader_of $VIP)"
fi
check_routing 3 "writes follow the new leader" "reads now avoid backend 3" \
	"reads avoid the new leader"

# --- the election empties ------------------------------------------------------
kill -INT "$second"
if wait_leader $VIP none >/dev/null; then
	tap_ok "election without a leader → no leader in the map"
else
	tap_fail "no leader after the last candidate resigned" "leader $(leader_of $VIP)"
fi
check "write refused again" test -z "$(body 81)"

# The leader moves to a value that names no backend of the service: the old
# leader is no longer one either, so the map says none (writes refused).
changes() { sluice -j cluster show | jq '.elections[0].changes'; }
elector "$B2:80"
valid=$LAST_ELECTOR
wait_leader $VIP "$B2:80" >/dev/null
elector "198.18.9.9:80"
stray=$LAST_ELECTOR
sleep 0.3
n0=$(changes)
kill -INT "$valid"
wait "$valid" 2>/dev/null
for _ in $(seq 300); do
	[ "$(changes)" -gt "$n0" ] && break
	sleep 0.01
done
if [ "$(changes)" -gt "$n0" ] && [ "$(leader_of $VIP)" = none ]; then
	tap_ok "leader moved to a value that is no backend: no leader (writes refused, not sent to the old one)"
else
	tap_fail "unknown elected backend gives no leader" "leader $(leader_of $VIP)"
fi
check "write refused" test -z "$(body 81)"
kill -INT "$stray"
wait "$stray" 2>/dev/null
wait_leader $VIP none >/dev/null
n1=$(changes)
kill -HUP "$DPID"
sleep 1
check "a reload (SIGHUP) does not re-set the followed leader ($n1 → $(changes) changes)" \
	test "$(changes)" = "$n1"

# --- operator --------------------------------------------------------------------
seq0=$(sluice -j journal show --dir "$DTMP/journal" 2>/dev/null | jq length)
if sluice leader set $VIP 80 tcp $B1 >/dev/null; then
	tap_ok "sluice leader set (through the daemon)"
else
	tap_fail "sluice leader set"
fi
check "operator's leader in the map" test "$(leader_of $VIP)" = "$B1:80"
check "operator's leader shown with source operator" \
	test "$(sluice -j leader show $VIP 80 tcp | jq -r '.[0].source')" = operator
seq1=$(sluice -j journal show --dir "$DTMP/journal" 2>/dev/null | jq length)
check "leader set journaled ($seq0 → $seq1 records)" test "$seq1" -gt "$seq0"
check "writes reach backend 1" test "$(body 81)" = backend-1
if ! sluice leader set $VIP 80 tcp 198.18.9.9 >/dev/null 2>&1; then
	tap_ok "leader set to a backend the service does not have: refused"
else
	tap_fail "leader set to an unknown backend refused"
fi
check "refused leader set changed nothing" test "$(leader_of $VIP)" = "$B1:80"

# --- role endpoints ----------------------------------------------------------------
# role_server I: backend I answers 200 "primary" on :8008 (ncat, one shell per request).
role_server() {
	nsenter --net=/run/netns/"$(be_ns "$1")" -- ncat -lk -p 8008 \
		-c "printf 'HTTP/1.0 200 OK\r\nContent-Length: 7\r\n\r\nprimary'" >/dev/null 2>&1 &
	ROLEPIDS="$ROLEPIDS $!"
	LAST_ROLE=$!
}
role_server 2
r2=$LAST_ROLE
if ms=$(wait_leader $VIP2 "$B2:80"); then
	tap_ok "role endpoint: backend 2 says primary → leader in $ms ms"
else
	tap_fail "role endpoint makes backend 2 the leader" "leader $(leader_of $VIP2)" \
		"$(grep -i role "$LOG" | tail -3)"
fi
check "route-leader service sends connections to backend 2" test "$(body 80 $VIP2)" = backend-2
kill "$r2"
wait "$r2" 2>/dev/null
role_server 3
if ms=$(wait_leader $VIP2 "$B3:80"); then
	tap_ok "primary moved to backend 3 → leader follows in $ms ms"
else
	tap_fail "leader follows the primary to backend 3" "leader $(leader_of $VIP2)"
fi
check "source role" test "$(sluice -j leader show $VIP2 80 tcp | jq -r '.[0].source')" = role

kill -TERM "$DPID"
wait "$DPID" 2>/dev/null
DPID=
finish
