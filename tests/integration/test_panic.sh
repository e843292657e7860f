#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Health checks and the panic threshold (#18), with sluiced on the lab
# (Sluice on the gateway, 3 nginx backends). The service's health check is a
# tcp check on port 8081, served in each backend by a listener the test
# stops and starts, so a backend fails its check while nginx on port 80
# keeps serving: what the clients see is where the data plane sends them.
#  - one backend's check down: its breaker opens with cause health_down
#    (journal, events, breaker show, metric label), no panic (2 of 3
#    healthy is not below 50 %), new connections avoid it;
#  - two of three down (1 of 3 healthy, below panic-threshold 50): the
#    service is in panic (service show -j, stats, sluice_service_panic 1,
#    a panic journal record), new connections reach all three backends;
#  - one comes back (2 of 3): panic ends (journaled, metric 0) and new
#    connections avoid the one still down.
# Bounded: every client has a timeout, every wait a deadline (health: 0.2 s
# interval, fall 2, rise 1); the lab and the daemon are torn down on exit.
. "$(dirname "$0")/lib.sh"

require_env panic
SLUICED=$(realpath "$BUILD/sluiced" 2>/dev/null)
for tool in ncat curl jq nginx; do
	command -v $tool >/dev/null || {
		tap_fail "panic: needs $tool"
		finish
		exit 1
	}
done
[ -x "$SLUICED" ] || {
	tap_fail "panic: build first: $BUILD/sluiced missing"
	finish
	exit 1
}
lab_up_steer_test 3 || {
	tap_fail "lab setup (3 backends, Sluice on the gateway)"
	finish
	exit 1
}
tap_ok "lab up: client, gateway with Sluice on g0 gb1..gb3, 3 nginx backends"

T=$LAB_STATE/panic
mkdir -p "$T"
export SLUICE_SOCKET=$T/sluiced.sock
VIP=198.19.0.30
DPID=
declare -A HC

# hc_up I / hc_down I: backend I's health listener (port 8081) on or off.
hc_up() {
	# nsenter execs ncat: $! is the listener itself.
	nsenter --net=/run/netns/"$(be_ns "$1")" -- ncat -lk "$(be_addr4 "$1")" 8081 -e /bin/true \
		>/dev/null 2>&1 &
	HC[$1]=$!
}
hc_down() {
	[ -n "${HC[$1]:-}" ] && kill "${HC[$1]}" 2>/dev/null
	wait "${HC[$1]}" 2>/dev/null
	HC[$1]=
}
panic_cleanup() {
	[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
	for i in 1 2 3; do hc_down $i; done
	cleanup
}
trap panic_cleanup EXIT

cat >"$T/sluiced.yaml" <<YAML
services:
  - address: $VIP
    port: 80
    mode: nat
    on-open: fail-fast
    panic-threshold: 50
    health: {type: tcp, port: 8081, interval: 0.2, timeout: 0.2, rise: 1, fall: 2}
    backends: [$(be_addr4 1), $(be_addr4 2), $(be_addr4 3)]
YAML
for i in 1 2 3; do hc_up $i; done
nsenter --net=/run/netns/"$GW_NS" -- "$SLUICED" --pin-root "$LAB_PIN_ROOT" \
	--journal "$T/journal" --socket "$SLUICE_SOCKET" --metrics 127.0.0.1:9469 \
	--config "$T/sluiced.yaml" >>"$T/sluiced.log" 2>&1 &
DPID=$!
metrics() { in_gw curl -s -m 5 http://127.0.0.1:9469/metrics; }
records() { sluice -j journal show --dir "$T/journal" 2>/dev/null | jq -c "[.[] | select(.type == \"$1\") | .payload]"; }
# up_count: backends whose health is up, from the metric.
up_count() { metrics | grep -c "^sluice_backend_up{service=\"$VIP 80 tcp\",.*} 1$"; }
wait_for() {
	for _ in $(seq "$1"); do
		"${@:2}" && return 0
		sleep 0.1
	done
	return 1
}
three_up() { [ "$(up_count)" = 3 ]; }
check "sluiced runs the 3 health checks and all are up" wait_for 100 three_up
# The desired state carries the health check: config dump prints it (the
# maps do not hold it; the daemon's desired state does), config diff
# compares it.
sluice config dump >"$T/dump.yaml"
check "config dump prints the service's health section (type tcp, port 8081)" \
	test "$(grep -cE '^ +(health:|type: tcp|port: 8081)' "$T/dump.yaml")" -ge 3
check "... and dumps the panic state's setting only when not the default" \
	bash -c "! grep -q panic-threshold '$T/dump.yaml'"
check "config diff of the daemon's own file: no change" sh -c \
	"$SLUICE config diff '$T/sluiced.yaml' | grep -q '^no change'"
sed 's/fall: 2/fall: 3/' "$T/sluiced.yaml" >"$T/fall3.yaml"
check "config diff of a file with another health fall: the service's health changes" sh -c \
	"$SLUICE config diff '$T/fall3.yaml' | grep -q 'health or leader settings of $VIP 80 tcp change'"
# reached FIRST N: the backends that answer N new connections from source
# ports FIRST.. (fresh ones each time: a used port sits in TIME_WAIT), sorted.
reached() {
	for p in $(seq "$1" $(($1 + $2 - 1))); do
		in_cli curl -s -m 2 --local-port "$p" "http://$VIP/" 2>/dev/null
	done | sort | uniq -c | awk '{print $2}' | tr '\n' ' '
}
panic_of() { sluice -j service show $VIP 80 tcp | jq -r '.[0].breaker.panic'; }
panic_metric() { metrics | grep -q "^sluice_service_panic{service=\"$VIP 80 tcp\"} $1$"; }

# --- one of three down: health_down, no panic ------------------------------
hc_down 1
brk_h1() { sluice -j breaker show $VIP 80 tcp | $JQE --arg a "$(be_addr4 1)" \
	'.[] | select(.address == $a) | .state == "open" and .cause == "health_down"' >/dev/null; }
check "backend 1's check down: its breaker is open, cause health_down (breaker show)" \
	wait_for 50 brk_h1
# jcount FILTER: how many journal records FILTER selects.
jcount() { sluice -j journal show --dir "$T/journal" | jq "[.[] | select($1)] | length"; }
check "... the journal's breaker record says health_down" \
	test "$(jcount '.type == "breaker" and .payload.cause == "health_down"')" = 1
sluice -j events >"$T/events"
check "... and sluice events shows it" grep -q '"type":"breaker".*"cause":"health_down"' "$T/events"
metrics >"$T/m1"
check "... sluice_breaker_transitions_total{...,reason=\"health_down\"} 1" grep -q \
	"^sluice_breaker_transitions_total{service=\"$VIP 80 tcp\",backend=\"$(be_addr4 1) 80\",reason=\"health_down\"} 1$" "$T/m1"
check "2 of 3 healthy: no panic (service show -j)" test "$(panic_of)" = false
check "... (metric 0)" grep -q "^sluice_service_panic{service=\"$VIP 80 tcp\"} 0$" "$T/m1"
r=$(reached 41000 30)
check "new connections avoid backend 1 (reached: $r)" test "$r" = "backend-2 backend-3 "

# --- two of three down: panic ----------------------------------------------
hc_down 2
in_panic() { [ "$(panic_of)" = true ]; }
check "backend 2's check down too (1 of 3 healthy < 50 %): service show -j says panic" \
	wait_for 50 in_panic
sluice service show $VIP 80 tcp >"$T/show"
check "... sluice service show says PANIC" grep -q PANIC "$T/show"
sluice stats $VIP 80 tcp >"$T/stats"
check "... sluice stats says PANIC" grep -q PANIC "$T/stats"
check "... sluice_service_panic is 1" panic_metric 1
# jpanic: the panic records' [panic, healthy, active].
jpanic() { sluice -j journal show --dir "$T/journal" | jq -c '[.[] | select(.type == "panic") | .payload | [.panic, .healthy, .active]]'; }
check "... a panic record is journaled (1 of 3 healthy: $(jpanic))" test "$(jpanic)" = '[[true,1,3]]'
r=$(reached 42000 30)
check "in panic new connections reach all three backends (reached: $r)" \
	test "$r" = "backend-1 backend-2 backend-3 "

# --- one comes back: panic ends ----------------------------------------------
hc_up 2
not_panic() { [ "$(panic_of)" = false ]; }
check "backend 2's check up again (2 of 3): panic ends" wait_for 50 not_panic
check "... sluice_service_panic is 0" panic_metric 0
check "... the end is journaled ($(jpanic))" test "$(jpanic)" = '[[true,1,3],[false,2,3]]'
check "... backend 2's breaker closed with cause health_up" \
	test "$(jcount ".type == \"breaker\" and .payload.backend == \"$(be_addr4 2) 80\" and .payload.cause == \"health_up\"")" = 1
r=$(reached 43000 30)
check "new connections avoid backend 1 again (reached: $r)" test "$r" = "backend-2 backend-3 "
check "no operator_trip or operator_reset was journaled" \
	test "$(jcount '.type == "breaker" and (.payload.cause | startswith("operator"))')" = 0
kill -TERM "$DPID"
wait "$DPID"
check "sluiced exits cleanly" test $? = 0
DPID=
finish
