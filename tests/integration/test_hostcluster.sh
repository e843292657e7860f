#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A client host in a cluster (issue 15, item 4): its own sluiced (own pin
# root, socket, journal) with a cluster section (share on) and a hosts:
# section, and no services of its own, follows the cluster's document in
# etcd, so its host side balances over the gateways' view of services,
# backends and breakers. The gateway is another sluiced (its own pins: no
# interface attached, it only holds and publishes the desired state); both
# talk to a 3-member etcd on loopback (tests/integration/etcd.sh). The
# client's processes run in a cgroup in the lab's client namespace, which
# reaches the three nginx backends directly (routing-only gateway
# namespace):
#  - joining, the client adopts the gateway's services and backends: 60
#    connects in the cgroup spread over backends 1 and 2 only;
#  - a backend added on the gateway: the client's maps have it, and
#    connects reach it; a backend deleted on the gateway: drained on the
#    client (a follower drains what the document drops: its connections
#    stay), and no new connect goes to it;
#  - a service change on the gateway (hash client): every connect goes to
#    one backend;
#  - a breaker tripped on the gateway is open on the client: no connect to
#    that backend; reset there, it takes connects again;
#  - a breaker tripped on the client host (its own operator, or its
#    passive signals) is open on the gateway too: breakers are shared both
#    ways;
#  - a service's egress-rate set on the gateway is the client's (service
#    show, and its metrics: sluice_egress_rate_bits);
#  - the hosts: attachment is the client's own (not in the shared
#    document): the gateway has none.
# Times from the gateway's command to the client's maps are measured (TAP
# comments). Bounded: every wait has a deadline; daemons, etcd, the lab and
# the cgroup are removed on any exit.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"
. "$(dirname "$0")/ha.sh" # ha_wait

require_env hostcluster
require_helpers hostcluster conns
SLUICED=$(realpath "$BUILD/sluiced" 2>/dev/null)
[ -x "$SLUICED" ] || bail "hostcluster: build sluiced first"
if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
	tap_skip hostcluster "needs etcd and etcdctl (Debian: etcd-server, etcd-client)"
	finish
	exit 0
fi
require_tools hostcluster nginx jq curl
cg_require hostcluster
GW_PINS=$LAB_PIN_ROOT-gw
VIP4=198.19.0.1
GPID=
CPID=

hc_cleanup() {
	for p in $GPID $CPID; do kill -KILL "$p" 2>/dev/null; done
	"$SLUICE" --local host detach "$CG" >/dev/null 2>&1
	cg_remove
	etcd_down
	rm -rf "$GW_PINS"
	cleanup
}
trap hc_cleanup EXIT
trap 'exit 130' INT TERM

spread() { in_cg "$CONNS" $VIP4 80 60 -p 0 -t 3000; }
jtrue() { $JQE "$1" <<<"$2" >/dev/null; }
# The gateway's and the client's CLI, each through its daemon.
gw() { "$SLUICE" --pin-root "$GW_PINS" --socket "$TMP/gw.sock" "$@"; }
cl() { "$SLUICE" --socket "$TMP/cl.sock" "$@"; }
# within WHAT LOG CMD...: CMD holds within 5 s: "ok - WHAT after N ms", else
# not ok with LOG's last lines.
within() {
	local what=$1 log=$2 ms
	shift 2
	if ms=$(ha_wait 5 "$@"); then
		tap_ok "$what after $ms ms"
	else
		tap_fail "$what" "$(tail -3 "$log")"
	fi
}
# cl_backends N: the client's maps hold N backends of the service.
cl_backends() { "$SLUICE" -j backend show $VIP4 80 tcp | $JQE "length == $1"; }
# A backend the document no longer has is drained where it is followed (its flows stay).
cl_gone() {
	"$SLUICE" -j backend show $VIP4 80 tcp |
		$JQE --arg a "$1" 'all(.[]; .address != $a or .state == "draining")'
}
cl_hash() { "$SLUICE" -j service show $VIP4 80 tcp | $JQE --arg h "$1" '.[0].hash == $h'; }
cl_has() { "$SLUICE" -j backend show $VIP4 80 tcp | $JQE --arg a "$1" 'any(.[]; .address == $a)'; }
brk_state() {
	"$@" -j breaker show $VIP4 80 tcp | jq -r --arg a "$BRK" '.[] | select(.address == $a) | .state' | head -n1
}

t0=$(date +%s)
etcd_up || bail "etcd: three members on loopback"
lab_up_steer 3 || bail "lab setup (3 backends)"
in_cli ip route add 198.18.0.0/16 via $HOST4
mkdir "$CG" || bail "cannot create cgroup $CG"
TMP=$LAB_STATE/hc
mkdir -p "$TMP"
tap_ok "etcd, lab (client host, 3 backends), cgroup $CG ($(($(date +%s) - t0)) s)"

PREFIX=/sluice-hc-$ID
cat >"$TMP/gw.yaml" <<EOF
cluster:
  name: gw
  etcd: [$(echo "$ETCD_ENDPOINTS" | sed 's/,/, /g')]
  prefix: $PREFIX
  timeout: 0.5
services:
  - address: $VIP4
    port: 80
    mode: nat
    backends: [$(be 4 1), $(be 4 2)]
EOF
cat >"$TMP/cl.yaml" <<EOF
cluster:
  name: client1
  etcd: [$(echo "$ETCD_ENDPOINTS" | sed 's/,/, /g')]
  prefix: $PREFIX
  timeout: 0.5
hosts:
  - cgroup: $CG
EOF
"$SLUICED" --pin-root "$GW_PINS" --journal "$TMP/gw-journal" --socket "$TMP/gw.sock" \
	--metrics off --config "$TMP/gw.yaml" >"$TMP/gw.log" 2>&1 &
GPID=$!
gw_synced() { gw -j cluster show | $JQE '.synced == true'; }
ha_wait 10 gw_synced >/dev/null || bail "gateway sluiced synced with etcd: $(tail -3 "$TMP/gw.log")"
MPORT=$(etcd_pick_ports 1)
"$SLUICED" --journal "$TMP/cl-journal" --socket "$TMP/cl.sock" --metrics 127.0.0.1:$MPORT \
	--config "$TMP/cl.yaml" >"$TMP/cl.log" 2>&1 &
CPID=$!
if ms=$(ha_wait 10 cl_backends 2); then
	tap_ok "client host's sluiced joined: the gateway's service and 2 backends in its maps after $ms ms"
else
	bail "client adopts the cluster's document: $(tail -3 "$TMP/cl.log")"
fi
check "the client's hosts: attachment is up" \
	test "$("$SLUICE" -j host show | jq -r '.[0].cgroup')" = "$CG"
check "... and it is the client's own: the gateway has none" test "$(gw -j host show)" = "[]"
out=$(spread)
check "60 connects in the cgroup spread over backends 1 and 2 only $(jq -c . <<<"$out")" \
	jtrue '.failed == 0 and .total == 60 and .["backend-1"] > 0 and .["backend-2"] > 0 and .["backend-3"] == null' "$out"

# A backend added on the gateway.
gw backend add $VIP4 80 tcp "$(be 4 3)" >/dev/null || tap_fail "backend add on the gateway"
within "backend 3 added on the gateway: in the client's maps" "$TMP/cl.log" cl_has "$(be 4 3)"
out=$(spread)
check "connects reach backend 3 $(jq -c . <<<"$out")" jtrue '.failed == 0 and .["backend-3"] > 0' "$out"

# A backend deleted on the gateway.
gw backend del $VIP4 80 tcp "$(be 4 1)" >/dev/null || tap_fail "backend del on the gateway"
within "backend 1 deleted on the gateway: draining in the client's maps" "$TMP/cl.log" \
	cl_gone "$(be 4 1)"
out=$(spread)
check "no connect goes to backend 1 any more $(jq -c . <<<"$out")" \
	jtrue '.failed == 0 and .total == 60 and .["backend-1"] == null' "$out"

# A service change on the gateway.
gw service set $VIP4 80 tcp hash client >/dev/null || tap_fail "service set on the gateway"
within "hash client set on the gateway: on the client" "$TMP/cl.log" cl_hash client
out=$(spread)
check "every connect to one backend (the host is one client) $(jq -c . <<<"$out")" \
	jtrue '.failed == 0 and ([to_entries[] | select(.key | startswith("backend-"))] | length) == 1' "$out"
gw service set $VIP4 80 tcp hash 5tuple >/dev/null
ha_wait 5 cl_hash 5tuple >/dev/null

# Breakers, from the gateway to the client and back.
BRK=$(be 4 2)
gw breaker trip $VIP4 80 tcp "$BRK" >/dev/null
within "breaker of backend 2 tripped on the gateway: open on the client" "$TMP/cl.log" \
	eval '[ "$(brk_state "$SLUICE")" = open ]'
out=$(spread)
check "no connect goes to backend 2 while it is open $(jq -c . <<<"$out")" \
	jtrue '.failed == 0 and .total == 60 and .["backend-2"] == null' "$out"
gw breaker reset $VIP4 80 tcp "$BRK" >/dev/null
within "breaker reset on the gateway: closed on the client" "$TMP/cl.log" \
	eval '[ "$(brk_state "$SLUICE")" = closed ]'
out=$(spread)
check "backend 2 takes connects again $(jq -c . <<<"$out")" jtrue '.["backend-2"] > 0' "$out"
BRK=$(be 4 3)
cl breaker trip $VIP4 80 tcp "$BRK" >/dev/null
within "breaker tripped on the client host: open on the gateway" "$TMP/gw.log" \
	eval '[ "$(brk_state gw)" = open ]'
cl breaker reset $VIP4 80 tcp "$BRK" >/dev/null

# The service's egress-rate is the gateways' too: the client paces to it.
gw service set $VIP4 80 tcp egress-rate 2MB >/dev/null || tap_fail "egress-rate on the gateway"
within "egress-rate 2MB set on the gateway: on the client" "$TMP/cl.log" \
	eval '[ "$("$SLUICE" -j service show $VIP4 80 tcp | jq -r ".[0].egress.rate_bps")" = 16000000 ]'
check "the client's metrics: sluice_egress_rate_bits of $VIP4 80 tcp is 16000000" \
	sh -c "curl -s -m 2 http://127.0.0.1:$MPORT/metrics | grep -qxF 'sluice_egress_rate_bits{service=\"$VIP4 80 tcp\"} 16000000'"
check "client daemon alive" kill -0 "$CPID"
check "gateway daemon alive" kill -0 "$GPID"
finish
