#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sluiced's bgp section without a router (issue 14 leftovers), against a
# fake BIRD: a Unix socket that accepts and never answers (a hung BIRD):
#  - the daemon's loop never waits on BIRD: control-socket pings answer in
#    well under a second (each BIRD call used to block it up to 2 s), a
#    health check still sees its backend go down and up, and `bgp show`
#    says BIRD does not answer;
#  - `gateway drain` is kept across a restart: the restarted daemon is
#    draining from its start and its first include announces nothing;
#    `gateway undrain` forgets it (the next restart announces);
#  - `config dump` writes the bgp section, and the dump loads back
#    (`config check`) and applies as no change;
#  - under `vips: all` a nat service the CLI adds outside the prefixes is
#    refused (the dump would not load back, and it would be announced); one
#    inside joins the VIPs and leaves with its service.
# Bounded: every wait has a limit; the lab, the fake BIRD and the daemon are
# stopped on any exit.
. "$(dirname "$0")/lib.sh"

require_env bgp_state
SLUICED=$(realpath "$BUILD/sluiced" 2>/dev/null)
require_tools bgp_state ncat jq
[ -x "$SLUICED" ] || bail "bgp_state: build first: $BUILD/sluiced missing"
lab_up_test && lab_attach >/dev/null || bail "lab up: client and gateway, Sluice on g0"
tap_ok "lab up: client and gateway, Sluice on g0"

DTMP=$LAB_STATE/bgpstate
mkdir -p "$DTMP"
SOCK=$DTMP/sluiced.sock
LOG=$DTMP/sluiced.log
BIRDSOCK=$DTMP/bird.ctl
INCLUDE=$DTMP/bird-sluice.conf
CONF=$DTMP/sluice.yaml
export SLUICE_SOCKET=$SOCK
VIP=198.19.0.1
BE=$CLIENT4 # the client namespace plays the backend for the health check
DPID= BIRDPID= BEPID=

cat >"$CONF" <<EOC
interfaces: [g0]
services:
  - address: $VIP
    port: 80
    mode: nat
    health: {type: tcp, port: 8080, interval: 0.2, timeout: 0.1, rise: 1, fall: 1}
    backends: [$BE]
bgp:
  asn: 65001
  socket: $BIRDSOCK
  include: $INCLUDE
  prefixes: [198.19.0.0/24]
  peers:
    - {name: r1, address: $HOST4, asn: 65000}
EOC

status() { jq -r "$1" "$DTMP/bgp.json" 2>/dev/null; }
daemon_start() {
	nsenter --net=/run/netns/"$GW_NS" -- "$SLUICED" --pin-root "$LAB_PIN_ROOT" \
		--journal "$DTMP/journal" --socket "$SOCK" --metrics off --config "$CONF" \
		>>"$LOG" 2>&1 &
	DPID=$!
	wait_alive "$DPID" ping_ok
}
daemon_stop() {
	kill -TERM "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	DPID=
}
be_up() { [ "$(sluice -j backend show $VIP 80 tcp | jq -r '.[0].health')" = "$1" ]; }
bgp_cleanup() {
	stop_pids KILL "$DPID" "$BIRDPID" "$BEPID"
	cleanup
}
trap bgp_cleanup EXIT

# The hung BIRD: accepts every connection, never writes a byte.
ncat -lkU --recv-only "$BIRDSOCK" </dev/null >/dev/null 2>&1 &
BIRDPID=$!
wait_until 5 test -S "$BIRDSOCK" || bail "fake BIRD listening on $BIRDSOCK"
bg_cli ncat -lk $BE 8080 --recv-only </dev/null >/dev/null 2>&1
BEPID=$!

daemon_start || bail "sluiced starts with a bgp section and a hung BIRD ($(tail -3 "$LOG"))"
tap_ok "sluiced starts with a bgp section and a hung BIRD"

# --- a hung BIRD does not stall the loop -----------------------------------------
check "the health check finds the backend up" wait_until 5 be_up up
# 30 pings over about 3 s: the slowest one bounds how long the loop waits.
max=0
for _ in $(seq 30); do
	t0=$(now_ns)
	ping_ok || max=99999
	dt=$((($(now_ns) - t0) / 1000000))
	[ "$dt" -gt "$max" ] && max=$dt
	sleep 0.1
done
echo "# slowest of 30 control-socket pings while BIRD hangs: $max ms"
check "control-socket pings while BIRD hangs: slowest $max ms (< 1000; a blocking call took 2000)" \
	test "$max" -lt 1000
stop_pids TERM "$BEPID"
BEPID=
t0=$(now_ns)
check "the health check sees the backend go down within 3 s" wait_until 3 be_up down
echo "# backend down seen after $((($(now_ns) - t0) / 1000000)) ms"
bg_cli ncat -lk $BE 8080 --recv-only </dev/null >/dev/null 2>&1
BEPID=$!
check "... and up again within 3 s" wait_until 3 be_up up
check "the bgp status says BIRD gives no answer" \
	wait_until 6 sh -c "jq -r .error '$DTMP/bgp.json' | grep -q 'no answer within 2000 ms'"
out=$(sluice bgp show 2>&1)
check "sluice bgp show: BIRD NOT ANSWERING" grep -q "NOT ANSWERING" <<<"$out"

# --- config dump writes the bgp section, and it loads back -----------------------
sluice config dump >"$DTMP/dump.yaml" 2>&1
check "config dump has a bgp section" grep -q '^bgp:' "$DTMP/dump.yaml"
check "... with its socket, include and peer" sh -c "grep -q 'socket: \"$BIRDSOCK\"' '$DTMP/dump.yaml' &&
	grep -q 'include: \"$INCLUDE\"' '$DTMP/dump.yaml' && grep -q 'name: \"r1\"' '$DTMP/dump.yaml'"
check "the dump passes config check" sluice config check "$DTMP/dump.yaml"
out=$(sluice config diff "$DTMP/dump.yaml" 2>&1)
check "config diff of the dump: no change ($out)" grep -q "no change" <<<"$out"

# --- vips: all follows the CLI's services; one outside the prefixes is refused ---
for a in 203.0.113.9 2001:db8::9; do
	out=$(sluice service add $a 80 tcp mode nat 2>&1)
	rc=$?
	check "service add $a mode nat outside the prefixes (vips: all): refused" test "$rc" -ne 0
	check "... saying why ($out)" grep -q "outside the bgp section's prefixes" <<<"$out"
	check "... and nothing added" test -z "$(sluice -j service show 2>/dev/null | jq -r --arg a $a '.[] | select(.address == $a)')"
done
check "a local service outside the prefixes is not the bgp section's business" \
	sluice service add 203.0.113.9 81 tcp mode local
VIP2=198.19.0.7
sluice service add $VIP2 80 tcp mode nat >/dev/null && sluice backend add $VIP2 80 tcp $BE >/dev/null
check "a CLI nat service in the prefixes joins the VIPs within 3 s" \
	wait_until 3 sh -c "jq -e '.vips[] | select(.vip == \"$VIP2\")' '$DTMP/bgp.json' >/dev/null"
check "... and the include announces it" wait_until 3 grep -q "route $VIP2/32" "$INCLUDE"
sluice config dump >"$DTMP/dump2.yaml" 2>&1
check "the dump with it passes config check" sluice config check "$DTMP/dump2.yaml"
sluice service del $VIP2 80 tcp >/dev/null
sluice service del 203.0.113.9 81 tcp >/dev/null
check "deleted: the VIP leaves the include within 3 s" \
	wait_until 3 sh -c "! grep -q 'route $VIP2/32' '$INCLUDE'"
check "... and the status" sh -c "[ \"\$(jq '.vips | length' '$DTMP/bgp.json')\" = 1 ]"

# --- drain kept across a restart -------------------------------------------------
out=$(sluice gateway drain 2>&1)
check "gateway drain: $out" grep -q '^draining: 0 of 1 VIPs announced' <<<"$out"
check "the drain is kept in the journal's folder" test -f "$DTMP/journal/gateway-drain.json"
daemon_stop
rm -f "$INCLUDE" "$DTMP/bgp.json"
daemon_start || bail "sluiced restarts ($(tail -3 "$LOG"))"
check "restarted: draining from the start" wait_until 5 sh -c "[ \"\$(jq -r .drain '$DTMP/bgp.json')\" != off ]"
check "... its first include announces nothing" sh -c "test -s '$INCLUDE' && ! grep -q 'route $VIP/32' '$INCLUDE'"
check "... its log says why" grep -q "drained before this start" "$LOG"
check "... and the VIP is withdrawn: gateway draining" \
	sh -c "jq -r '.vips[0].why' '$DTMP/bgp.json' | grep -q 'gateway draining'"
out=$(sluice gateway undrain 2>&1)
check "gateway undrain: $out" grep -q '^undrained: 1 of 1 VIPs announced' <<<"$out"
check "undrain forgets the drain" test ! -e "$DTMP/journal/gateway-drain.json"
check "the include announces the VIP again" wait_until 3 grep -q "route $VIP/32" "$INCLUDE"
daemon_stop
rm -f "$INCLUDE"
daemon_start || bail "sluiced restarts again ($(tail -3 "$LOG"))"
check "restarted after undrain: not draining, the VIP announced" \
	wait_until 5 sh -c "[ \"\$(jq -r .drain '$DTMP/bgp.json')\" = off ] && grep -q 'route $VIP/32' '$INCLUDE'"
daemon_stop

finish
