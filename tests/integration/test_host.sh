#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The host side (issue 15: the ambassador and the sidecar): cgroup programs
# balance a cgroup's outbound connects over a service's backends, with no
# Sluice gateway in the path. The lab's client namespace reaches the three
# nginx backends directly (the gateway namespace only routes: no XDP, no
# service address, so a connect to the service address that is not
# balanced finds no route there); the client's processes run in a cgroup v2
# made for the test. IPv4 and IPv6:
#  - 60 connects in the cgroup to the service address reach all three
#    backends (conns.c); curl there is answered and sees the service
#    address as its peer (curl's remote_ip, and getpeername() in
#    tests/integration/peername.c);
#  - UDP: sendto() the service address reaches a backend's echo server and
#    recvfrom() reports the service address;
#  - curl outside the cgroup is untouched (no backend answers it);
#  - a backend's breaker tripped (sluice breaker trip): no connect goes to it;
#    reset: it takes connects again;
#  - bulkhead max-conns 20: 60 concurrent connects in the cgroup get 20
#    served and 40 refused with ECONNREFUSED at once; the slots come back at
#    close;
#  - rate 20 burst 5: 30 connects at once get the burst, the rest are
#    refused and counted (host stats);
#  - passive signals from sockops: a backend's nginx stopped, the fast trip
#    opens its breaker and no connect goes to it; nginx back, the half-open
#    probes close it (sluice breaker watch running);
#  - attach errors (no such cgroup, not a cgroup, unknown service) change
#    nothing;
#  - sluiced with a hosts: section attaches and journals it; killed, the
#    pinned attachment keeps balancing; restarted on the same file, the
#    links are kept; host detach through its socket is journaled and
#    leaves no program on the cgroup;
#  - a cgroup removed while attached shows as defunct and detaches by path.
# Bounded: every client has a timeout; the lab and the cgroup are removed on
# any exit.
. "$(dirname "$0")/lib.sh"

require_env host
require_helpers host peername hold udpecho conns
require_tools host nginx curl bpftool ncat jq
cg_require test
UDP_PORT=5353

host_cleanup() {
	rmdir "$CG_ROOT/sluice-test2-$ID" 2>/dev/null
	[ -n "${DPID:-}" ] && kill -KILL "$DPID" 2>/dev/null
	[ -n "${WPID:-}" ] && kill -KILL "$WPID" 2>/dev/null
	"$SLUICE" --local host detach "$CG" >/dev/null 2>&1
	cg_remove
	cleanup
}
trap host_cleanup EXIT
trap 'exit 130' INT TERM

# jtrue FILTER JSON: FILTER holds on JSON (never on empty JSON: $JQE).
jtrue() { $JQE "$1" <<<"$2" >/dev/null; }

# udp_echo I: backend I answers every datagram on UDP_PORT with "backend-I".
udp_echo() {
	in_be "$1" "$UDPECHO" "$UDP_PORT" "backend-$1" >/dev/null 2>&1 &
}

t0=$(date +%s)
lab_up_steer 3 || {
	tap_fail "lab setup (3 backends)"
	finish
	exit 1
}
# The client reaches the backends through the gateway namespace's routing.
in_cli ip route add 198.18.0.0/16 via $HOST4
in_cli ip -6 route add fd00:5c::/32 via $HOST6
mkdir "$CG" || {
	tap_fail "cannot create cgroup $CG"
	finish
	exit 1
}
for i in 1 2 3; do udp_echo "$i"; done
tap_ok "lab up: client, routing-only gateway, 3 nginx backends; cgroup $CG ($(($(date +%s) - t0)) s)"

VIP4=198.19.0.1
VIP6=fd00:5c:ff::1
for f in 4 6; do
	if [ $f = 4 ]; then vip=$VIP4; else vip=$VIP6; fi
	for proto in tcp udp; do
		port=80
		[ $proto = udp ] && port=$UDP_PORT
		"$SLUICE" --local service add $vip $port $proto mode nat >/dev/null || exit 1
		for i in 1 2 3; do
			"$SLUICE" --local backend add $vip $port $proto "$(be $f $i)" >/dev/null || exit 1
		done
	done
done

# Attach errors change nothing.
out=$("$SLUICE" --local host attach "$CG_ROOT/no-such-$ID" 2>&1)
check "attach to a missing cgroup fails clearly" grep -q "no cgroup '$CG_ROOT/no-such-$ID'" <<<"$out"
out=$("$SLUICE" --local host attach /tmp 2>&1)
check "attach to a folder that is no cgroup fails clearly" grep -q "is not a cgroup v2 folder" <<<"$out"
out=$("$SLUICE" --local host attach "$CG" service 192.0.2.99 80 tcp 2>&1)
check "attach with an unknown service fails clearly" grep -q "no service 192.0.2.99 80 tcp" <<<"$out"
check "failed attaches left no attachment" test "$("$SLUICE" -j host show)" = "[]"
check "failed attaches left no program on the cgroup" test -z "$(bpftool cgroup show "$CG")"

out=$("$SLUICE" --local host attach "$CG" service $VIP4 80 tcp service $VIP6 80 tcp \
	service $VIP4 $UDP_PORT udp service $VIP6 $UDP_PORT udp 2>&1)
check "host attach with four services" grep -q "^attached to $CG" <<<"$out"
check "host show lists the cgroup and its services" \
	test "$("$SLUICE" -j host show | jq -r '.[0] | "\(.cgroup) \(.state) \(.services | length) \(.links)"')" = "$CG attached 4 10"

# spread VIP: 60 connects from one process in the cgroup (conns); its JSON.
spread() {
	in_cg "$CONNS" "$1" 80 60 -p 0 -t 3000
}
for f in 4 6; do
	if [ $f = 4 ]; then vip=$VIP4; else vip=$VIP6; fi
	out=$(spread $vip)
	if jtrue '.total == 60 and .failed == 0 and .["backend-1"] > 0 and .["backend-2"] > 0 and
		.["backend-3"] > 0' "$out"; then
		tap_ok "IPv$f: 60 connects in the cgroup spread over all 3 backends $(jq -c . <<<"$out")"
	else
		tap_fail "IPv$f: 60 connects in the cgroup spread over all 3 backends" "$out"
	fi
	url=http://$vip/
	[ $f = 6 ] && url="http://[$vip]/"
	out=$(in_cg curl -s -m 3 -w 'peer %{remote_ip}\n' "$url")
	check "IPv$f: curl in the cgroup answered by a backend, peer $vip" \
		grep -qz "^backend-[123]"$'\n'"peer $vip"$'\n'"\$" <<<"$out"
	out=$(in_cg "$PEERNAME" $vip 80)
	check "IPv$f: getpeername() in the cgroup gives $vip 80 ($out)" grep -q "^$vip 80 backend-[123]\$" <<<"$out"
	out=$(in_cg "$PEERNAME" $vip $UDP_PORT -u)
	check "IPv$f: UDP sendto/recvfrom in the cgroup: a backend answers as $vip ($out)" \
		grep -q "^$vip $UDP_PORT backend-[123]\$" <<<"$out"
	out=$(in_cli curl -s -m 2 "$url" 2>&1)
	check "IPv$f: curl outside the cgroup is untouched (no backend answers)" \
		test -z "$(grep backend- <<<"$out")"
done

# Breaker: backend 2 tripped -> no connect goes to it; reset -> it is back.
for f in 4 6; do
	if [ $f = 4 ]; then vip=$VIP4; else vip=$VIP6; fi
	b2=$(be $f 2)
	"$SLUICE" --local breaker trip $vip 80 tcp "$b2" >/dev/null
	out=$(spread $vip)
	check "IPv$f: breaker open on backend-2: 60 connects, none to it, all answered $(jq -c . <<<"$out")" \
		jtrue '.failed == 0 and .["backend-2"] == null and .total == 60' "$out"
	"$SLUICE" --local breaker reset $vip 80 tcp "$b2" >/dev/null
	out=$(spread $vip)
	check "IPv$f: breaker reset: backend-2 takes connects again" jtrue '.["backend-2"] > 0' "$out"
done

# hash client: the host is one client, so every socket gets the same backend.
"$SLUICE" --local service set $VIP6 80 tcp hash client >/dev/null
out=$(spread $VIP6)
check "hash client: 60 connects, all to one backend $(jq -c . <<<"$out")" \
	jtrue '.failed == 0 and ([to_entries[] | select(.key | startswith("backend-"))] | length) == 1' "$out"
"$SLUICE" --local service set $VIP6 80 tcp hash 5tuple >/dev/null

# Attaching again replaces the service list in place (the links stay).
links=$("$SLUICE" -j host show | jq -c '[.[0].programs[].link_id] | sort')
out=$("$SLUICE" --local host attach "$CG" 2>&1)
check "attach again: replaced, every service now" grep -q "^replaced, attached to $CG: .* services all" <<<"$out"
check "... the same links ($links)" \
	test "$("$SLUICE" -j host show | jq -c '[.[0].programs[].link_id] | sort')" = "$links"
out=$("$SLUICE" --local host attach "$CG" service $VIP4 80 tcp service $VIP6 80 tcp \
	service $VIP4 $UDP_PORT udp service $VIP6 $UDP_PORT udp 2>&1)
check "... and back to the four services" \
	test "$("$SLUICE" -j host show | jq -r '.[0] | "\(.all_services) \(.services | length)"')" = "false 4"

# Bulkhead: max-conns 20 counted on this host (the issue's case).
"$SLUICE" --local service set $VIP4 80 tcp max-conns 20 >/dev/null
out=$(in_cg "$HOLD" $VIP4 80 60 -H 300 -t 3000 | head -1)
served=$(jq -r .served <<<"$out")
refused=$(jq -r .refused <<<"$out")
slow=$(jq -r .refused_max_ms <<<"$out")
# connect() itself fails (no packet is sent): typically ~0.05 ms; 10 ms is
# room for a descheduled client on a loaded machine.
if [ "$served" = 20 ] && [ "$refused" = 40 ] && awk -v s="$slow" 'BEGIN { exit !(s < 10) }'; then
	tap_ok "bulkhead max-conns 20: 60 concurrent connects, 20 served, 40 refused with ECONNREFUSED (slowest $slow ms)"
else
	tap_fail "bulkhead max-conns 20: 60 concurrent connects, 20 served, 40 refused with ECONNREFUSED" "$out"
fi
active=$(bpftool -j map lookup pinned "$SLUICE_PIN_ROOT/sl_host_conns" key 0 0 0 0 |
	jq -r '[.. | objects | .active? | select(. != null)][0]')
check "bulkhead: the slots came back when the connections closed (active $active)" test "$active" = 0
out=$("$SLUICE" -j host stats $VIP4 80 tcp)
check "host stats: 40 refused by the bulkhead, 0 connections held ($out)" \
	jtrue '.[0].refused_bulkhead == 40 and .[0].conns == 0 and .[0].balanced > 0' "$out"
out=$(in_cg "$HOLD" $VIP4 80 20 -t 3000 | head -1)
check "bulkhead: 20 connects served again after the release" test "$(jq -r .served <<<"$out")" = 20
"$SLUICE" --local service set $VIP4 80 tcp max-conns 0 >/dev/null

# Connect rate: the service's rate and burst, one token per connect on
# this host. 30 connects back to back (a few ms) get the burst of 5, and at
# most 2 more tokens (one each 50 ms at rate 20: room for a slow client).
"$SLUICE" --local service set $VIP4 80 tcp rate 20 burst 5 >/dev/null
r0=$("$SLUICE" -j host stats $VIP4 80 tcp | jq -r '.[0].refused_rate')
out=$(in_cg "$HOLD" $VIP4 80 30 -t 3000 | head -1)
served=$(jq -r .served <<<"$out")
refused=$(jq -r .refused <<<"$out")
r1=$("$SLUICE" -j host stats $VIP4 80 tcp | jq -r '.[0].refused_rate')
if [ "$served" -ge 5 ] && [ "$served" -le 7 ] && [ $((served + refused)) = 30 ] &&
	[ $((r1 - r0)) = "$refused" ]; then
	tap_ok "rate 20 burst 5: 30 connects at once, $served served, $refused refused (host stats refused-rate +$((r1 - r0)))"
else
	tap_fail "rate 20 burst 5: 30 connects at once, 5..7 served, the rest refused and counted" \
		"$out" "refused-rate $r0 -> $r1"
fi
"$SLUICE" --local service set $VIP4 80 tcp rate 0 >/dev/null

# Passive signals (sockops): backend 3's nginx stopped, its refused
# connects are failures and the fast trip (3) opens its breaker in the
# kernel; while open, no connect goes to it; a watcher (sluice breaker
# watch) half-opens it after breaker-wait (3 s, room for the checks) and,
# nginx back, the probes' successes close it.
B3=$(be_addr4 3)
brk() {
	"$SLUICE" -j breaker show $VIP4 80 tcp |
		jq -r --arg a "$B3" "[.. | objects | select(.address? == \$a) | .$1][0]"
}
"$SLUICE" --local service set $VIP4 80 tcp breaker-fast-trip 3 breaker-wait 3 >/dev/null
"$SLUICE" breaker watch $VIP4 80 tcp --interval 100 --duration 25 >"$LAB_STATE/watch" 2>&1 &
WPID=$!
sleep 0.5
s0=$(brk successes)
lab_be_fail 3 term
out=$(spread $VIP4)
check "backend-3 stopped: refused connects are failure signals (refused $(brk refused)), its breaker opened ($(brk state))" \
	test "$(brk state)" = open
out=$(spread $VIP4)
check "breaker open after the fast trip: 60 connects, none to backend-3, all answered $(jq -c . <<<"$out")" \
	jtrue '.failed == 0 and .["backend-3"] == null and .total == 60' "$out"
lab_be_heal 3
for _ in $(seq 40); do
	[ "$(brk state)" = closed ] && break
	in_cg "$CONNS" $VIP4 80 10 -p 0 -t 3000 >/dev/null
	sleep 0.2
done
check "nginx back: half-open probes succeed (successes $s0 -> $(brk successes)) and close the breaker" \
	test "$(brk state)" = closed
kill -TERM "$WPID" 2>/dev/null
wait "$WPID" 2>/dev/null
WPID=
check "the watcher saw the fast trip and the close" \
	sh -c "grep -q fast_trip '$LAB_STATE/watch' && grep -q closed '$LAB_STATE/watch'"

# The daemon: a hosts: section applied at start and journaled; the pinned
# attachment outlives a killed daemon; host detach through its socket.
SLUICED=$(realpath "$BUILD/sluiced")
DTMP=$LAB_STATE/host-daemon
mkdir -p "$DTMP"
export SLUICE_SOCKET=$DTMP/sluiced.sock
CONF=$DTMP/sluiced.yaml
MPORT=$((20000 + ID % 20000)) # the metrics listener, in the root namespace
DPID=
{
	echo "services:"
	for vip in $VIP4 $VIP6; do
		for pp in "80 tcp" "$UDP_PORT udp"; do
			set -- $pp
			echo "  - {address: $vip, port: $1, protocol: $2, mode: nat, backends: ["
			for i in 1 2 3; do
				if [ $vip = $VIP4 ]; then echo "      $(be_addr4 $i),"; else echo "      $(be_addr6 $i),"; fi
			done
			echo "    ]}"
		done
	done
	echo "hosts:"
	echo "  - cgroup: $CG"
	echo "    services: [\"$VIP4 80 tcp\"]"
} >"$CONF"
daemon_start() {
	"$SLUICED" --pin-root "$LAB_PIN_ROOT" --journal "$DTMP/journal" --socket "$SLUICE_SOCKET" \
		--metrics 127.0.0.1:$MPORT --config "$CONF" >>"$DTMP/log" 2>&1 &
	DPID=$!
	# The socket answers once the configuration is applied.
	for _ in $(seq 50); do
		[ "$(printf '{"op":"ping"}\n' | timeout 5 ncat -U "$SLUICE_SOCKET" 2>/dev/null |
			jq -r .rc 2>/dev/null)" = 0 ] && return 0
		kill -0 "$DPID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
if daemon_start && "$SLUICE" -j journal show --dir "$DTMP/journal" | grep -q '"host","attach"'; then
	tap_ok "sluiced --config with a hosts: section attaches and journals host attach"
else
	tap_fail "sluiced --config with a hosts: section attaches and journals host attach" \
		"$(tail -5 "$DTMP/log")"
fi
links=$("$SLUICE" -j host show | jq -c '[.[0].programs[].link_id] | sort')
check "host show: $CG attached with 1 service" \
	test "$("$SLUICE" -j host show | jq -r '.[0] | "\(.cgroup) \(.state) \(.services | length)"')" = "$CG attached 1"
curl -s -m 5 "http://127.0.0.1:$MPORT/metrics" >"$DTMP/metrics"
check "metrics: sluice_host_connects_total of $VIP4 80 tcp: balanced, 40 refused by the bulkhead" \
	sh -c "grep -qE '^sluice_host_connects_total\\{service=\"$VIP4 80 tcp\",reason=\"balanced\"\\} [1-9]' '$DTMP/metrics' &&
		grep -qxF 'sluice_host_connects_total{service=\"$VIP4 80 tcp\",reason=\"refused_bulkhead\"} 40' '$DTMP/metrics'"
check "metrics: sluice_host_conns_in_use of $VIP4 80 tcp is 0" \
	grep -qxF "sluice_host_conns_in_use{service=\"$VIP4 80 tcp\"} 0" "$DTMP/metrics"
kill -KILL "$DPID"
{ wait "$DPID"; } 2>/dev/null # (the shell's "Killed" notice too)
DPID=
out=$(in_cg "$PEERNAME" $VIP4 80)
check "sluiced killed: connects in the cgroup still balanced ($out)" grep -q "^$VIP4 80 backend-[123]\$" <<<"$out"
daemon_start
check "sluiced restarted on the same file: the links were kept ($links)" \
	test "$("$SLUICE" -j host show | jq -c '[.[0].programs[].link_id] | sort')" = "$links"
out=$("$SLUICE" host detach "$CG" 2>&1)
check "host detach through the daemon ($out)" grep -q "detached from cgroup $CG" <<<"$out"
check "... journaled" grep -q '"host","detach"' <<<"$("$SLUICE" -j journal show --dir "$DTMP/journal")"
kill -TERM "$DPID"
wait "$DPID" 2>/dev/null
DPID=
unset SLUICE_SOCKET

# Detach: nothing left on the cgroup, the VIP is no longer balanced.
check "detach leaves no program attached to the cgroup" test -z "$(bpftool cgroup show "$CG")"
check "detach leaves no attachment in host show" test "$("$SLUICE" -j host show)" = "[]"
out=$(in_cg curl -s -m 2 "http://$VIP4/" 2>&1)
check "after detach the cgroup's connects are untouched" test -z "$(grep backend- <<<"$out")"

# A cgroup removed while attached: its links go with it (defunct), and
# detach by the path it was attached with removes the pins.
CG2=$CG_ROOT/sluice-test2-$ID
mkdir "$CG2" && "$SLUICE" --local host attach "$CG2" >/dev/null
rmdir "$CG2"
for _ in $(seq 20); do
	[ "$("$SLUICE" -j host show | jq -r '.[0].state')" = defunct ] && break
	sleep 0.1
done
check "a removed cgroup shows as defunct" test "$("$SLUICE" -j host show | jq -r '.[0].state')" = defunct
check "detach of the removed cgroup by its path" "$SLUICE" --local host detach "$CG2"
check "... leaves no attachment and no pins" \
	sh -c "[ \"\$('$SLUICE' -j host show)\" = '[]' ] && [ -z \"\$(ls '$SLUICE_PIN_ROOT/host')\" ]"
finish
