#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sluiced and systemd's notify protocol (Type=notify), against a datagram
# socket this test owns (notifyrecv plays systemd's part):
#  - READY=1 arrives once the config is applied and the control socket
#    serves: notifyrecv freezes the daemon (SIGSTOP) the moment READY=1
#    arrives and checks the socket accepts a connection and the maps hold
#    the config's service and backends (so nothing done after READY=1 can
#    make the check pass);
#  - STATUS= is one line: services, backends, open breakers, the config;
#  - WATCHDOG=1 pings at half of WATCHDOG_USEC, and none without it;
#  - SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1 with the new
#    config applied (checked frozen again) and STATUS= updated; a bad file:
#    READY=1 still (the daemon serves), STATUS= says it was not applied;
#  - SIGTERM: STOPPING=1;
#  - the unit file: systemd-analyze verify prints nothing and succeeds.
# No lab: the daemon runs with a private pin root, no interface attached.
# Bounded: notifyrecv stops after its SECONDS, waits poll with deadlines.
. "$(dirname "$0")/lib.sh"

require_env notify
SLUICED=$(realpath "$BUILD/sluiced" 2>/dev/null)
RECV=$(realpath "$BUILD/tests/integration/notifyrecv" 2>/dev/null)
for f in "$SLUICED" "$RECV"; do
	[ -x "$f" ] || {
		tap_fail "notify: build first (make tests): $f missing"
		finish
		exit 1
	}
done
require_tools notify jq ncat
T=$(mktemp -d)
export SLUICE
DPID=
RPID=
notify_cleanup() {
	[ -n "$DPID" ] && kill -CONT "$DPID" 2>/dev/null && kill -9 "$DPID" 2>/dev/null
	[ -n "$RPID" ] && kill "$RPID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$T" "$SLUICE_PIN_ROOT"
}
trap notify_cleanup EXIT
trap 'exit 130' INT TERM
SOCK=$T/sluiced.sock
NSOCK=$T/notify.sock
OUT=$T/notify.out
export SLUICE_SOCKET=$SOCK

# conf N: the config with one nat service and N backends.
conf() {
	cat >"$T/conf.yaml" <<YAML
services:
  - address: 198.19.0.77
    port: 80
    mode: nat
    backends: [$(seq -s, -f '198.18.9.%g' "$1")]
YAML
	echo "$1" >"$T/expect"
}
# The check run at each READY=1, the daemon frozen: the service is in the
# maps with as many backends as the last config written says.
cat >"$T/check.sh" <<'SH'
n=$("$SLUICE" -j backend show 198.19.0.77 80 tcp 2>/dev/null | jq 'length')
[ "$n" = "$(cat "$1")" ]
SH

# start_recv SECONDS: notifyrecv on NSOCK into OUT, checking READY=1.
start_recv() {
	rm -f "$NSOCK"
	"$RECV" "$NSOCK" "$1" "$SOCK" bash "$T/check.sh" "$T/expect" >"$OUT" 2>&1 &
	RPID=$!
	for _ in $(seq 50); do
		[ -S "$NSOCK" ] && return 0
		sleep 0.1
	done
	return 1
}
# start_daemon [ENV...]: sluiced with the config, notifying NSOCK.
start_daemon() {
	env NOTIFY_SOCKET="$NSOCK" "$@" "$SLUICED" --pin-root "$SLUICE_PIN_ROOT" \
		--journal "$T/journal" --socket "$SOCK" --metrics off --config "$T/conf.yaml" \
		>>"$T/log" 2>&1 &
	DPID=$!
}
# wait_for REGEX [SECONDS]: until a line of OUT matches (default 10 s).
wait_for() {
	for _ in $(seq $((${2:-10} * 10))); do
		grep -qE "$1" "$OUT" && return 0
		sleep 0.1
	done
	return 1
}
count() { grep -cE "$1" "$OUT"; }
# wait_count REGEX N [SECONDS]: until at least N lines of OUT match.
wait_count() {
	for _ in $(seq $((${3:-10} * 10))); do
		[ "$(count "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# ping: the daemon answers on its control socket.

# --- start: READY=1 after the config and the socket, STATUS, WATCHDOG -------
conf 2
start_recv 60 || {
	tap_fail "notifyrecv binds its socket" "$(cat "$OUT")"
	finish
	exit 1
}
start_daemon WATCHDOG_USEC=400000
if wait_for ' READY=1$'; then
	tap_ok "READY=1 arrives"
else
	tap_fail "READY=1 arrives" "$(cat "$OUT")" "$(tail -5 "$T/log")"
	finish
	exit 1
fi
wait_for ' CHECK=' 5
check "READY=1 comes from the daemon's pid" grep -qE "^[0-9]+ $DPID READY=1$" "$OUT"
check "at READY=1 (daemon frozen) the control socket accepts connections" \
	grep -qE "^[0-9]+ $DPID SERVING=1$" "$OUT"
check "at READY=1 (daemon frozen) the config is applied: the service and its 2 backends" \
	grep -qE "^[0-9]+ $DPID CHECK=0$" "$OUT"
ready_line=$(grep -nE ' READY=1$' "$OUT" | head -n1 | cut -d: -f1)
status_line=$(grep -nE ' STATUS=' "$OUT" | head -n1 | cut -d: -f1)
check "STATUS= comes with (before) READY=1" test "${status_line:-999}" -lt "${ready_line:-0}"
check "STATUS= summarises: 1 service, 2 backends, no open breaker, config applied" \
	grep -qE " STATUS=1 service, 2 backends, 0 breakers open or half-open; config $T/conf.yaml applied$" \
	"$OUT"
# WATCHDOG_USEC=400 ms: a ping every 200 ms. Over 2 s at least 5 (10 when
# on time; room for a loaded machine), and the loop serves meanwhile.
w0=$(count ' WATCHDOG=1$')
sleep 2
w1=$(count ' WATCHDOG=1$')
check "WATCHDOG=1 pings from the event loop at half of WATCHDOG_USEC ($((w1 - w0)) in 2 s, want >= 5)" \
	test $((w1 - w0)) -ge 5
check "the daemon answers on its socket while it pings" ping_ok

# --- SIGHUP: RELOADING=1 ... READY=1 with the new config --------------------
conf 3
kill -HUP "$DPID"
check "SIGHUP: READY=1 again after the reload" wait_count ' READY=1$' 2
wait_count ' CHECK=' 2 5
reload=$(grep -nE ' RELOADING=1$' "$OUT" | head -n1 | cut -d: -f1)
mono=$(grep -nE ' MONOTONIC_USEC=[0-9]+$' "$OUT" | head -n1 | cut -d: -f1)
ready2=$(grep -nE ' READY=1$' "$OUT" | sed -n 2p | cut -d: -f1)
check "SIGHUP: RELOADING=1 with MONOTONIC_USEC, before the new READY=1" \
	test -n "$reload" -a "${mono:-0}" = $((${reload:-0} + 1)) -a "${ready2:-0}" -gt "${reload:-999}"
check "at the reload's READY=1 (frozen) the new config is applied: 3 backends" \
	test "$(grep -E " CHECK=" "$OUT" | sed -n 2p | awk '{print $3}')" = CHECK=0
check "STATUS= follows: 3 backends" grep -qE ' STATUS=1 service, 3 backends, ' "$OUT"

# A bad file: nothing applied, READY=1 all the same, STATUS= says so.
echo "services: [" >"$T/conf.yaml"
kill -HUP "$DPID"
wait_for " STATUS=.*NOT applied" 10
wait_count ' READY=1$' 3 5
check "a bad reload: STATUS= says the config was not applied" \
	grep -qE " STATUS=1 service, 3 backends, .*config $T/conf.yaml NOT applied" "$OUT"
check "a bad reload: READY=1 all the same (the daemon serves)" test "$(count ' READY=1$')" -eq 3

# --- SIGTERM: STOPPING=1 ------------------------------------------------------
kill -TERM "$DPID"
wait "$DPID"
rc=$?
DPID=
check "SIGTERM: STOPPING=1, clean exit (status $rc)" \
	bash -c "[ $rc = 0 ] && grep -qE ' STOPPING=1$' '$OUT'"

# --- no WATCHDOG_USEC: no pings -----------------------------------------------
conf 2
: >"$OUT.2"
kill "$RPID" 2>/dev/null
wait "$RPID" 2>/dev/null
OUT=$OUT.2
start_recv 30
start_daemon
wait_for ' READY=1$' 10
sleep 1.5
check "without WATCHDOG_USEC: READY=1 and no WATCHDOG=1" \
	bash -c "grep -qE ' READY=1$' '$OUT' && ! grep -q WATCHDOG '$OUT'"
kill -TERM "$DPID"
wait "$DPID"
DPID=

# --- the unit file --------------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
	# Its ExecStart must exist: point it at this build's daemon.
	sed "s|/usr/sbin/sluiced|$SLUICED|" tools/sluiced.service >"$T/sluiced.service"
	out=$(systemd-analyze verify "$T/sluiced.service" 2>&1)
	rc=$?
	check "systemd-analyze verify: clean (status $rc${out:+: $out})" test $rc = 0 -a -z "$out"
	check "the unit is Type=notify with WatchdogSec=" \
		bash -c "grep -q '^Type=notify$' '$T/sluiced.service' && grep -q '^WatchdogSec=' '$T/sluiced.service'"
else
	tap_skip "systemd-analyze verify" "systemd-analyze not installed"
fi
finish
