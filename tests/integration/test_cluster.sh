#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Gateway high availability and shared state on etcd, in the two-gateway
# lab (tools/lab.sh lab_up_ha): a three-member etcd cluster runs in the
# switch namespace on three addresses of its bridge, and one sluiced per
# gateway namespace (own pins, socket, journal) campaigns for the VIPs
# (IPv4 and IPv6, ipip services over two nginx backends):
#  - the first daemon wins both VIPs (addresses on its g0, announced), the
#    second stands by; the client's curl goes through gateway 1;
#  - kill -9 of the holding daemon: the other takes the VIPs within the
#    lease TTL (time measured) and the client's new connections succeed
#    through gateway 2;
#  - the killed daemon comes back: it clears the VIPs it had left, queues
#    behind the healthy holder and does not take them back (two TTLs);
#  - the etcd member a daemon uses is stopped: it moves to another endpoint
#    and keeps its lease and its VIPs;
#  - a breaker tripped on one gateway is open on the other within 1 s, and
#    closed again after a reset; a service added on one gateway appears on
#    the other; an operator's leader set too (times measured);
#  - SIGTERM of the holder hands the VIPs over at once (lease revoked);
#  - health checks travel with the service (#18): one with an http check
#    applied on gateway 1 is checked on gateway 2 (running, and started
#    again later), a stopped backend goes down there too (its own
#    health_down), a file without the check stops it there.
# Bounded: every client has a timeout; daemons, etcd and the lab are torn
# down on any exit.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"
. "$(dirname "$0")/ha.sh"

require_env cluster
SLUICED=$(realpath "$BUILD/sluiced" 2>/dev/null)
for tool in curl jq nginx etcd etcdctl; do
	command -v $tool >/dev/null || {
		tap_fail "cluster: needs $tool"
		finish
		exit 1
	}
done

TTL=3
VIP4=198.19.0.10
VIP6=fd00:5c:ff::10
DPID1=
DPID2=
cluster_cleanup() {
	for p in $DPID1 $DPID2; do kill -9 "$p" 2>/dev/null; done
	etcd_down
	cleanup
}
trap cluster_cleanup EXIT
trap 'exit 130' INT TERM

lab_up_ha 2 && lab_attach_ha || {
	tap_fail "HA lab setup (2 gateways with Sluice, 2 backends)"
	finish
	exit 1
}
trap cluster_cleanup EXIT
ha_etcd_up || {
	tap_fail "etcd: three members in the switch namespace" "$(tail -n 3 "$ETCD_DIR"/m*.log)"
	finish
	exit 1
}
tap_ok "HA lab and a 3-member etcd cluster on the bridge ($ETCD_ENDPOINTS)"

TMP=$LAB_STATE/cluster
mkdir -p "$TMP"
CQRS=198.19.0.20
HA_EXTRA_SERVICES="  - address: $CQRS
    port: 5432
    mode: ipip
    write-port: 5433
    backends: [$(ha_be_addr4 1), $(ha_be_addr4 2)]"
has_vips() { [ "$(ha_held "$1")" = 2 ]; }
fwd() { sluice_gwi "$1" -j stats | jq '.global.forwarded.packets'; }
get() { in_cli curl -s -m 1 "http://$1/" 2>/dev/null; }
get_ok() { get "$VIP4" | grep -q '^backend-' && get "[$VIP6]" | grep -q '^backend-'; }

# --- election of the holder --------------------------------------------------------
ha_start 1
if ms=$(ha_wait 10 has_vips 1); then
	tap_ok "gateway 1 wins both VIPs ($ms ms after start)"
else
	tap_fail "gateway 1 wins the VIPs" "$(tail -5 "$TMP/g1/sluiced.log")"
	finish
	exit 1
fi
check "VIPs on gateway 1's g0" in_gwi 1 sh -c "ip addr show dev g0 | grep -q '$VIP4/32' && ip addr show dev g0 | grep -q '$VIP6/128'"
ha_start 2
if ha_wait 10 eval '[ "$(ha_status 2 | jq -r ".vips[0].holder")" = gw1 ]' >/dev/null; then
	tap_ok "gateway 2 stands by: it sees gw1 holding"
else
	tap_fail "gateway 2 stands by" "$(ha_status 2)" "$(tail -5 "$TMP/g2/sluiced.log")"
fi
check "gateway 2 holds no VIP" test "$(ha_held 2)" = 0
check "gateway 2 has no VIP on g0" in_gwi 2 sh -c "! ip addr show dev g0 | grep -q '$VIP4/32'"
f1=$(fwd 1)
f2=$(fwd 2)
check "client reaches the VIPs (IPv4 and IPv6)" get_ok
check "through gateway 1 (forwarded $f1 → $(fwd 1)), not 2" test "$(fwd 1)" -gt "$f1" -a "$(fwd 2)" = "$f2"

# --- kill -9 of the holder ---------------------------------------------------------
kill -9 "$DPID1"
wait "$DPID1" 2>/dev/null
DPID1=
if ms=$(ha_wait $((TTL * 3)) has_vips 2); then
	tap_ok "holder killed: gateway 2 holds both VIPs after $ms ms (lease TTL $((TTL * 1000)) ms)"
	check "takeover within the lease TTL (+ 1 s of campaign and tick)" test "$ms" -le $((TTL * 1000 + 1000))
else
	tap_fail "gateway 2 takes the VIPs" "$(ha_status 2)" "$(tail -5 "$TMP/g2/sluiced.log")"
fi
if ms=$(ha_wait 5 get_ok); then
	tap_ok "client's new connections succeed again ($ms ms after the takeover)"
else
	tap_fail "client reconnects through gateway 2"
fi
check "gateway 2's metrics: VIP held, lease ok" in_gwi 2 sh -c \
	"curl -s -m 2 http://127.0.0.1:9469/metrics | grep -q '^sluice_cluster_vip_held{vip=\"$VIP4\"} 1' &&
	 curl -s -m 2 http://127.0.0.1:9469/metrics | grep -q '^sluice_cluster_lease_ok 1'"
f2=$(fwd 2)
get_ok
check "and go through gateway 2 ($f2 → $(fwd 2))" test "$(fwd 2)" -gt "$f2"

# --- the old holder returns and does not take the VIPs back --------------------------
ha_start 1
if ha_wait 10 eval '[ "$(ha_status 1 | jq -r ".synced")" = true ]' >/dev/null; then
	tap_ok "gateway 1's daemon is back and synced"
else
	tap_fail "gateway 1 back" "$(tail -5 "$TMP/g1/sluiced.log")"
fi
check "it removed the VIPs the killed daemon had left on g0" \
	in_gwi 1 sh -c "! ip addr show dev g0 | grep -q '$VIP4/32'"
sleep $((TTL * 2))
check "after two TTLs gateway 2 still holds both VIPs (sticky)" test "$(ha_held 2)" = 2
check "gateway 1 holds none and sees gw2 as holder" \
	test "$(ha_held 1)" = 0 -a "$(ha_status 1 | jq -r '.vips[0].holder')" = gw2

# --- an etcd member stops --------------------------------------------------------------
ep=$(ha_status 2 | jq -r .endpoint)
fo=$(ha_status 2 | jq -r .failovers)
member=0
for i in 1 2 3; do [ "$(etcd_url $i)" = "$ep" ] && member=$i; done
check "gateway 2 uses member $member ($ep)" test "$member" -gt 0
etcd_member_stop "$member"
if ha_wait 5 eval '[ "$(ha_status 2 | jq -r .endpoint)" != "$ep" ]' >/dev/null; then
	tap_ok "member $member stopped: gateway 2 moved to $(ha_status 2 | jq -r .endpoint) (failovers $fo → $(ha_status 2 | jq -r .failovers))"
else
	tap_fail "gateway 2 fails over to another etcd member" "$(ha_status 2)"
fi
sleep $TTL
check "gateway 2 kept its lease and both VIPs through the member's stop" \
	test "$(ha_held 2)" = 2 -a "$(ha_status 2 | jq -r .lease_ok)" = true
check "client still served" get_ok

# --- shared state: breakers and commands ---------------------------------------------
be1=$(ha_be_addr4 1)
brk() { sluice_gwi "$1" -j breaker show $VIP4 80 tcp | jq -r --arg a "$be1" '.[] | select(.address == $a) | .state' | head -n1; }
ha_cli 2 breaker trip $VIP4 80 tcp "$be1" >/dev/null
if ms=$(ha_wait 3 eval '[ "$(brk 1)" = open ]'); then
	tap_ok "breaker tripped on gateway 2 is open on gateway 1 after $ms ms"
	check "within 1 s" test "$ms" -le 1000
else
	tap_fail "breaker trip reaches gateway 1" "state $(brk 1)" "$(tail -5 "$TMP/g1/sluiced.log")"
fi
ha_cli 2 breaker reset $VIP4 80 tcp "$be1" >/dev/null
if ms=$(ha_wait 3 eval '[ "$(brk 1)" = closed ]'); then
	tap_ok "breaker reset on gateway 2 closes it on gateway 1 after $ms ms"
else
	tap_fail "breaker reset reaches gateway 1" "state $(brk 1)"
fi
ha_cli 1 service add 198.19.0.12 80 tcp mode ipip >/dev/null &&
	ha_cli 1 backend add 198.19.0.12 80 tcp "$be1" >/dev/null
svc_on2() { sluice_gwi 2 -j backend show 198.19.0.12 80 tcp 2>/dev/null | $JQE 'length == 1'; }
if ms=$(ha_wait 5 svc_on2); then
	tap_ok "service and backend added on gateway 1 appear on gateway 2 after $ms ms"
else
	tap_fail "a command on gateway 1 reaches gateway 2" "$(tail -5 "$TMP/g2/sluiced.log")"
fi
# Two gateways change the config at the same moment: etcd orders the two
# publishes, the later one is applied on top of the earlier: both survive.
ha_cli 1 service add 198.19.0.13 80 tcp mode ipip >/dev/null &
c1=$!
ha_cli 2 service add 198.19.0.14 80 tcp mode ipip >/dev/null &
c2=$!
wait $c1 && wait $c2
both() {
	for g in 1 2; do
		sluice_gwi $g -j service show | $JQE '[.[].address] | index("198.19.0.13") and index("198.19.0.14")' || return 1
	done
}
if ms=$(ha_wait 5 both); then
	tap_ok "concurrent service adds on both gateways: both services on both after $ms ms"
	echo "# publish conflicts resolved: $(cat "$TMP"/g*/sluiced.log | grep -c 'cluster: conflict')"
else
	tap_fail "concurrent changes converge" "$(tail -3 "$TMP/g1/sluiced.log")" "$(tail -3 "$TMP/g2/sluiced.log")"
fi
be2=$(ha_be_addr4 2)
ha_cli 1 leader set $CQRS 5432 tcp "$be2" >/dev/null
lead2() { sluice_gwi 2 -j leader show $CQRS 5432 tcp | jq -r '.[0].leader'; }
if ms=$(ha_wait 5 eval '[ "$(lead2)" = "$be2:5432" ]'); then
	tap_ok "operator's leader set on gateway 1 is the leader on gateway 2 after $ms ms"
else
	tap_fail "leader set reaches gateway 2" "leader $(lead2)"
fi
journal2() { sluice_gwi 2 -j journal show --dir "$TMP/g2/journal"; }
check "gateway 2 journaled the adoption of gw1's config" \
	$JQE 'any(.[]; .payload.event? == "config adopted" and .payload.from == "gw1")' <<<"$(journal2)"
check "and the command it ran for it (service add 198.19.0.12)" \
	$JQE 'any(.[]; .type == "command" and .payload.argv[0:3] == ["service", "add", "198.19.0.12"])' \
	<<<"$(journal2)"

# --- graceful stop hands over at once ----------------------------------------------------
kill -TERM "$DPID2"
wait "$DPID2" 2>/dev/null
DPID2=
if ms=$(ha_wait $((TTL * 3)) has_vips 1); then
	tap_ok "SIGTERM of the holder: gateway 1 holds the VIPs after $ms ms"
	check "well within the TTL (lease revoked on stop)" test "$ms" -lt $((TTL * 1000))
else
	tap_fail "gateway 1 takes over after SIGTERM" "$(ha_status 1)"
fi
check "gateway 2's g0 no longer has the VIP" in_gwi 2 sh -c "! ip addr show dev g0 | grep -q '$VIP4/32'"
check "client served through gateway 1" get_ok

# --- health checks travel with the service (#18) ---------------------------------------
# Gateway 1 applies a file that adds a service with an HTTP health check;
# gateway 2 (running, then started again later) checks it too, from the
# shared document: its backend stopped -> down on gateway 2 as well, with
# gateway 2's own health_down; a file without the check stops it there.
HSVC=198.19.0.15
# hfile NAME [HEALTH]: gateway 1's file plus $HSVC (with HEALTH, a flow map).
hfile() {
	{
		cat "$TMP/g1/sluice.yaml"
		printf '  - address: %s\n    port: 80\n    mode: ipip\n' "$HSVC"
		[ -n "${2:-}" ] && printf '    health: %s\n' "$2"
		printf '    backends: [%s, %s]\n' "$be1" "$be2"
	} >"$TMP/$1.yaml"
}
# health2 [GW]: the health column of $HSVC's backends on gateway GW (default 2).
health2() { ha_cli "${1:-2}" -j backend show $HSVC 80 tcp 2>/dev/null | jq -c '[.[].health]'; }
ha_start 2
ha_wait 10 eval '[ -n "$(ha_status 2)" ]' >/dev/null
hfile health '{type: http, interval: 0.2, timeout: 0.2, rise: 1, fall: 2}'
ha_cli 1 config apply "$TMP/health.yaml" >/dev/null
if ms=$(ha_wait 10 eval '[ "$(health2)" = "[\"up\",\"up\"]" ]'); then
	tap_ok "a service with an http check applied on gateway 1 is checked on gateway 2 ($ms ms)"
else
	tap_fail "gateway 2 checks the service gateway 1 added" "health $(health2)" \
		"$(tail -5 "$TMP/g2/sluiced.log")"
fi
ha_cli 2 config dump >"$TMP/dump2.yaml"
# The health line between $HSVC's address and the next service's (addresses are quoted).
if awk -v s="\"$HSVC\"" '/- address:/ { f = index($0, s) > 0 } f && /health:/ { h = 1 }
	END { exit !h }' "$TMP/dump2.yaml"; then
	tap_ok "gateway 2's config dump carries the service's health section"
else
	tap_fail "gateway 2's config dump carries the service's health section" \
		"$(ls -l "$TMP/g2")" "$(head -c 600 "$TMP/g2/desired.json")" "$(cat "$TMP/dump2.yaml")"
fi
kill -TERM "$(cat "$LAB_STATE/b1/nginx.pid")"
down2() { [ "$(health2)" = '["down","up"]' ]; }
if ms=$(ha_wait 5 down2); then
	tap_ok "backend 1's nginx stopped: down on gateway 2 too ($ms ms)"
else
	tap_fail "backend 1 down on gateway 2" "health $(health2)"
fi
hd2() { ha_cli 2 -j journal show --dir "$TMP/g2/journal" | $JQE --arg b "$be1 80" \
	'any(.[]; .type == "breaker" and .payload.backend == $b and .payload.cause == "health_down")'; }
check "... gateway 2 journals its own breaker transition with cause health_down" ha_wait 3 hd2
lab_nginx 1
check "backend 1's nginx back: up on gateway 2" \
	ha_wait 5 eval '[ "$(health2)" = "[\"up\",\"up\"]" ]'
# A gateway that joins later adopts the document and checks the service too.
kill -TERM "$DPID2"
wait "$DPID2" 2>/dev/null
ha_start 2
if ms=$(ha_wait 10 eval '[ "$(health2)" = "[\"up\",\"up\"]" ]'); then
	tap_ok "gateway 2 started again checks the service from the document ($ms ms)"
else
	tap_fail "a joining gateway checks the shared service" "health $(health2)" \
		"$(tail -5 "$TMP/g2/sluiced.log")"
fi
# A file without the check: gateway 2 stops it.
hfile nohealth
ha_cli 1 config apply "$TMP/nohealth.yaml" >/dev/null
if ha_wait 10 eval '[ "$(health2)" = "[\"-\",\"-\"]" ]' >/dev/null; then
	tap_ok "gateway 1 applies the file without the check: gateway 2 stops checking"
else
	tap_fail "gateway 1 applies the file without the check: gateway 2 stops checking" \
		"health $(health2)" "$(tail -8 "$TMP/g1/sluiced.log")" "$(tail -8 "$TMP/g2/sluiced.log")"
fi
kill -TERM "$DPID2"
wait "$DPID2" 2>/dev/null
DPID2=

kill -TERM "$DPID1"
wait "$DPID1" 2>/dev/null
DPID1=
finish
