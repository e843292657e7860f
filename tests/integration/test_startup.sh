#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sluiced's start-up (issue 17): a client polls a VIP while the daemon
# applies its first config, and no request after the first good one may
# stall; the control socket exists only once the config is applied, and a
# write command sent while the daemon starts is refused with a clear message
# (never run locally behind the daemon's back); one daemon per socket.
#
# The lab has no Sluice attached: the daemon's config attaches g0 and every
# gbI itself, then adds an IPv4 and an IPv6 nat service with three nginx
# backends each and TCP health checks. Before the fix the interfaces were
# attached after the services, so a flow steered in on g0 to a backend whose
# gbI had no program yet lost its SYN-ACK (the backend's reply reached the
# stack untranslated) and the client's connect stalled for a second.
# Bounded: curl --max-time, a fixed number of polls, daemons killed on exit.
. "$(dirname "$0")/lib.sh"

require_env startup
SLUICED=$(realpath "$BUILD/sluiced" 2>/dev/null)
require_tools startup curl jq nginx flock
trap '[ -n "$HOLD" ] && pkill -9 -P $HOLD; kill -9 $DPID $HOLD 2>/dev/null; cleanup' EXIT
trap 'exit 130' INT TERM
DPID=
HOLD=
lab_up_steer 3 >/dev/null 2>&1 || bail "lab setup (3 backends, no Sluice yet)"
tap_ok "lab up: client, gateway (no Sluice attached), 3 nginx backends"

DTMP=$LAB_STATE/startup
mkdir -p "$DTMP"
SOCK=$DTMP/sluiced.sock
export SLUICE_SOCKET=$SOCK
VIP4=198.19.0.30
VIP6=fd00:5c:ff::30
cat >"$DTMP/conf.yaml" <<YAML
daemon:
  health:
    interval: 0.5
    timeout: 0.4
interfaces: [g0, gb1, gb2, gb3]
services:
  - address: $VIP4
    port: 80
    mode: nat
    health:
      type: tcp
    backends: [$(be_addr4 1), $(be_addr4 2), $(be_addr4 3)]
  - address: $VIP6
    port: 80
    mode: nat
    health:
      type: tcp
    backends: ["$(be_addr6 1)", "$(be_addr6 2)", "$(be_addr6 3)"]
YAML

# start_daemon N: sluiced with the config, its own journal; DPID.
start_daemon() {
	nsenter --net=/run/netns/"$GW_NS" -- "$SLUICED" --pin-root "$LAB_PIN_ROOT" \
		--journal "$DTMP/journal$1" --socket "$SOCK" --metrics off \
		--config "$DTMP/conf.yaml" >>"$DTMP/log$1" 2>&1 &
	DPID=$!
}

# poll URL N: N requests one after another (curl --max-time 1 each); prints
# "ok" or "fail" per request.
poll() {
	for _ in $(seq "$2"); do
		if in_cli curl -s -o /dev/null --max-time 1 "$1"; then echo ok; else echo fail; fi
	done
}

# --- 1. the socket appears only with the config applied ---------------------
# --- 2. no stalled request after the first good one, IPv6 then IPv4 ---------
run=0
for url in "http://[$VIP6]/" "http://$VIP4/"; do
	run=$((run + 1))
	rm -rf "$LAB_PIN_ROOT" "$SOCK"
	start_daemon $run
	poll "$url" 25 >"$DTMP/poll$run" &
	POLL=$!
	applied_at_socket=no
	for _ in $(seq 300); do
		if [ -S "$SOCK" ]; then
			# The config record is journaled after the last command applied.
			if [ "$("$SLUICE" -j journal show --dir "$DTMP/journal$run" 2>/dev/null |
				jq '[.[] | select(.type == "config")] | length')" = 1 ]; then
				applied_at_socket=yes
			fi
			break
		fi
		sleep 0.02
	done
	check "run $run: the control socket appears only once the config is applied" \
		test "$applied_at_socket" = yes
	wait $POLL
	after=$(awk 'seen && $1 == "fail" { n++ } $1 == "ok" { seen = 1 } END { print n + 0 }' \
		"$DTMP/poll$run")
	oks=$(grep -c ok "$DTMP/poll$run")
	check "run $run ($url): $oks of 25 requests answered, none failed after the first answer ($after)" \
		test "$oks" -gt 0 -a "$after" = 0
	kill -TERM $DPID 2>/dev/null
	wait $DPID 2>/dev/null
	DPID=
done

# --- 3. while a daemon starts, the CLI says so and runs nothing ------------
# A daemon that holds its lock without a socket yet is a starting one; the
# flock(1) below stands in for it, with a pid in the file as sluiced writes.
rm -f "$SOCK"
echo $$ >"$SOCK.lock"
flock -x "$SOCK.lock" sleep 30 &
HOLD=$!
for _ in $(seq 50); do flock -n -s "$SOCK.lock" true || break; sleep 0.02; done
out=$("$SLUICE" service add 198.19.0.40 80 tcp 2>&1)
rc=$?
starting_said() { [ "$rc" = 1 ] && grep -q "sluiced (pid $$) is starting" <<<"$out"; }
check "a write command while the daemon starts: exit 1 and 'is starting' ($out)" starting_said
no_svc() { ! "$SLUICE" -j service show 198.19.0.40 80 tcp >/dev/null 2>&1; }
check "... and it ran nowhere (no service 198.19.0.40)" no_svc
jout=$("$SLUICE" -j service add 198.19.0.40 80 tcp 2>/dev/null)
check "-j: {\"error\": ...} ($jout)" $JQE '.error' <<<"$jout"

# --- 4. one daemon per socket ------------------------------------------------
start_daemon 9
wait $DPID
st=$?
DPID=
check "a second daemon on a held socket refuses to start (status $st)" test "$st" != 0
check "... and says who holds it" grep -q "another sluiced (pid $$) holds" "$DTMP/log9"
# flock(1)'s child holds the lock's fd too: stop both.
pkill -P $HOLD 2>/dev/null
kill $HOLD 2>/dev/null
wait $HOLD 2>/dev/null
HOLD=
out=$("$SLUICE" service add 198.19.0.41 80 tcp 2>&1)
check "with the lock free and no socket, write commands run here again ($out)" test $? = 0

finish
