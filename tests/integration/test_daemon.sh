#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sluiced, the daemon, on the namespace lab (Sluice on the gateway, two nginx
# backends), running in the gateway's namespace with its own socket, journal
# and metrics listener (127.0.0.1:9469 of the gateway namespace):
#  - sluice write commands go through the control socket and are journaled
#    (the journal grows, `journal show` and `events` list them), read
#    commands run locally;
#  - garbage, oversized, unknown and read-only requests get {"rc": 2} and
#    change nothing (not journaled); the daemon lives on;
#  - metrics scraped with curl carry the contract's series;
#  - kill -9 of the daemon during a paced UDP flow through a VIP and a stream
#    of write commands: the flow loses no packet; after a restart, every
#    acknowledged command is in the journal and in the maps (service show
#    and backend show before and after agree);
#  - SIGTERM: clean exit (status 0, socket removed), and the data plane
#    keeps forwarding without the daemon; write commands then run locally.
#  - --config, SIGHUP and config apply; breakers and health checks, live;
#  - a reload with one service changed in the file leaves another service's
#    long download alive (intact, same service id);
#  - a bad reload (SIGHUP, config apply) changes nothing: logged with
#    FILE:LINE:COLUMN, maps identical, nothing journaled;
#  - a journal segment torn mid-record on disk: the daemon cuts the tail at
#    start, keeps every record before it and appends with the next seq.
# Bounded: every client has a timeout; the lab and the daemon are torn down
# on any exit.
. "$(dirname "$0")/lib.sh"

require_env daemon
SLUICED=$(realpath "$BUILD/sluiced" 2>/dev/null)
require_helpers daemon connloop
require_tools daemon ncat curl jq nginx
[ -x "$SLUICED" ] || bail "daemon: build first: $BUILD/sluiced missing"
lab_up_steer_or_bail 2 "lab up: client, gateway with Sluice on g0 gb1 gb2, 2 nginx backends"

DTMP=$LAB_STATE/daemon
mkdir -p "$DTMP"
SOCK=$DTMP/sluiced.sock
JDIR=$DTMP/journal
LOG=$DTMP/sluiced.log
export SLUICE_SOCKET=$SOCK
VIP=198.19.0.10
UPORT=9000
SVC="$VIP $UPORT udp"
DPID=

rc_of() { jq -r '.rc' <<<"$1" 2>/dev/null; }
journal_len() { sluice -j journal show --dir "$JDIR" 2>/dev/null | jq 'length' 2>/dev/null || echo 0; }
metrics() { in_gw curl -s -m 5 http://127.0.0.1:9469/metrics; }
# recv_start SECONDS: a UDP receiver (udpblast recv) on each backend for SECONDS.
recv_start() {
	for i in 1 2; do
		in_be $i "$UDPBLAST" recv "$(be_addr4 $i)" $UPORT "$1" >"$DTMP/recv$i" 2>&1 &
		echo $! >"$DTMP/recv$i.pid"
	done
}
# check_all_received NAME: once the receivers end, they got every one of $sent packets.
check_all_received() {
	got=0
	for i in 1 2; do
		wait "$(cat "$DTMP/recv$i.pid")"
		got=$((got + $(tr -dc 0-9 <"$DTMP/recv$i")))
	done
	check "$1 ($got of $sent)" sh -c "[ -n '$sent' ] && [ '$sent' -gt 0 ] && [ '$got' = '$sent' ]"
}
# state: services and backends without counters, for before/after comparisons.
state() {
	sluice -j service show | jq -c '[.[] | {address, port, proto, mode, id}]'
	sluice -j backend show | jq -c '[.[] | {address, port, weight, state, id}]'
}

# daemon_start: sluiced in the gateway namespace; DPID is its pid (nsenter
# execs it: not in_gw, whose subshell would get the signals instead).
daemon_start() {
	nsenter --net=/run/netns/"$GW_NS" -- "$SLUICED" --pin-root "$LAB_PIN_ROOT" \
		--journal "$JDIR" --socket "$SOCK" --metrics 127.0.0.1:9469 >>"$LOG" 2>&1 &
	DPID=$!
	for _ in $(seq 50); do
		ping_ok && [ "$(raw '{"op":"ping"}' | jq -r .out | awk '{print $4}')" = "$DPID" ] &&
			return 0
		kill -0 "$DPID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

daemon_start_conf() {
	nsenter --net=/run/netns/"$GW_NS" -- "$SLUICED" --pin-root "$LAB_PIN_ROOT" \
		--journal "$JDIR" --socket "$SOCK" --metrics 127.0.0.1:9469 --config "$CONF" \
		>>"$LOG" 2>&1 &
	DPID=$!
	for _ in $(seq 50); do
		ping_ok && return 0
		kill -0 "$DPID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

daemon_cleanup() {
	[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
	cleanup
}
trap daemon_cleanup EXIT

# --- start, and write commands through the socket ---------------------------
if daemon_start; then
	tap_ok "sluiced starts in the gateway namespace and answers on its socket"
else
	tap_fail "sluiced starts" "$(tail -5 "$LOG")"
	finish
	exit 1
fi
check "it adopted the lab's pinned maps" grep -q "adopted the maps under $LAB_PIN_ROOT" "$LOG"

out=$(sluice service add $SVC mode nat 2>&1)
check "service add through the daemon ($out)" grep -q "added service" <<<"$out"
j0=$(journal_len)
sluice backend add $SVC "$(be_addr4 1)" port $UPORT >/dev/null &&
	sluice backend add $SVC "$(be_addr4 2)" port $UPORT >/dev/null
check "backend add x2 through the daemon" test $? = 0
j1=$(journal_len)
check "the journal grows with each write command ($j0 -> $j1 records)" test "$j1" -eq $((j0 + 2))
sluice -j journal show --dir "$JDIR" >"$DTMP/journal.json"
check "journal show lists service add and both backend adds" test "$(jq '[.[] | select(.type == "command") |
	.payload.argv | select(.[0] == "service" or .[0] == "backend") | select(.[1] == "add")] | length' \
	"$DTMP/journal.json")" = 3
check "the daemon's log says it applied them" test "$(grep -c 'applied' "$LOG")" -ge 3
sluice -j events >"$DTMP/events.json"
check "events prints the recent journal records" grep -q '"argv":\["backend","add"' "$DTMP/events.json"
out=$(sluice service add $SVC 2>&1)
check "a failing command reports its error through the daemon ($out)" grep -q "already exists" <<<"$out"
check "... and is journaled as failed" test "$(sluice -j journal show --dir "$JDIR" | jq '[.[] | select(.type == "failed")] | length')" = 1
shows_service() { sluice service show | grep -q "$VIP port $UPORT udp"; }
check "read commands run locally (service show works)" shows_service

# --- bad requests ----------------------------------------------------------
j0=$(journal_len)
# check_rc2 NAME REQUEST: the daemon answers REQUEST with rc 2.
check_rc2() {
	r=$(raw "$2")
	check "$1 ($r)" test "$(rc_of "$r")" = 2
}
check_rc2 "garbage gets rc 2" 'garbage'
check_rc2 "an unknown member gets rc 2" '{"argv": ["service", "add"], "sudo": true}'
check_rc2 "an unknown op gets rc 2" '{"op": "reboot"}'
check_rc2 "an unknown command gets rc 2" '{"argv": ["frobnicate", "now"]}'
check_rc2 "a read command gets rc 2 (not the daemon's)" '{"argv": ["service", "show"]}'
check_rc2 "lab commands are refused" '{"argv": ["lab", "down"]}'
r=$(head -c 70000 /dev/zero | tr '\0' 'x' | timeout 5 ncat -U "$SOCK" 2>/dev/null | head -n1)
check "an oversized request (70000 bytes) gets rc 2 ($r)" test "$(rc_of "$r")" = 2
# A client that connects and says nothing, and one that sends half a line.
(sleep 3 | timeout 4 ncat -U "$SOCK" >/dev/null 2>&1 &)
(printf '{"argv": ["serv' | timeout 4 ncat -U "$SOCK" >/dev/null 2>&1 &)
check "a silent client does not stall the daemon" ping_ok
check "the daemon lives on after all of them" kill -0 "$DPID"
check "none of them was journaled" test "$(journal_len)" = "$j0"

# --- metrics ---------------------------------------------------------------
metrics >"$DTMP/metrics.txt"
for s in sluice_service_packets_total sluice_service_bytes_total sluice_backend_packets_total \
	sluice_backend_bytes_total sluice_backend_new_flows_total sluice_bulkhead_in_use \
	sluice_bulkhead_limit sluice_breaker_state sluice_backend_up; do
	check "metrics: $s has HELP and TYPE" sh -c "grep -q '^# HELP $s ' '$DTMP/metrics.txt' &&
		grep -q '^# TYPE $s ' '$DTMP/metrics.txt'"
done
check "metrics: per-service series of $SVC" \
	grep -q "^sluice_service_packets_total{service=\"$SVC\",reason=\"forwarded\"} " "$DTMP/metrics.txt"
check "metrics: breaker state of each backend" \
	test "$(grep -c "^sluice_breaker_state{service=\"$SVC\",backend=" "$DTMP/metrics.txt")" = 2
check "metrics: 404 elsewhere" test "$(in_gw curl -s -o /dev/null -w '%{http_code}' -m 5 \
	http://127.0.0.1:9469/)" = 404

# --- kill -9 under traffic and commands ------------------------------------
recv_start 12
sleep 0.3
# One flow (one thread, one source port), paced: 2000 packets a second for 6 s.
in_cli "$UDPBLAST" send $VIP $UPORT 6 1 2000 >"$DTMP/sent" 2>&1 &
SENDER=$!
sleep 1
(
	for w in $(seq 1 300); do
		sluice backend set $SVC "$(be_addr4 1)" port $UPORT weight "$w" >/dev/null 2>&1 || break
		echo "$w" >>"$DTMP/acked"
	done
) &
LOOP=$!
sleep 1
kill -9 "$DPID"
kill "$LOOP" 2>/dev/null
wait "$DPID" 2>/dev/null
st=$?
wait "$LOOP" 2>/dev/null
sleep 0.3 # a command in flight when the loop was stopped finishes
last=$(tail -n1 "$DTMP/acked" 2>/dev/null || echo 0)
state >"$DTMP/before"
check "sluiced killed with -9 (status $st) while $last weight changes were acknowledged" \
	test "$st" = 137 -a "$last" -gt 0
check "sluiced restarts" daemon_start
state >"$DTMP/after"
check "service show and backend show agree before and after the restart" cmp -s "$DTMP/before" "$DTMP/after"
w=$(sluice -j backend show $SVC | jq --arg a "$(be_addr4 1)" '.[] | select(.address == $a) | .weight')
check "the last acknowledged weight ($last) is in the maps (weight $w)" \
	sh -c "[ '$w' -ge '$last' ] && [ '$w' -le $((last + 1)) ]"
sluice -j journal show --dir "$JDIR" >"$DTMP/journal.json"
missing=0
for k in $(seq 1 "$last"); do
	$JQE --arg w "$k" 'any(.[]; .type == "command" and .payload.argv[1] == "set" and
		.payload.argv[-1] == $w)' "$DTMP/journal.json" >/dev/null || missing=$((missing + 1))
done
check "every acknowledged command is in the journal after the restart ($missing of $last missing)" \
	test "$missing" = 0
wait "$SENDER"
sent=$(tr -dc 0-9 <"$DTMP/sent")
check_all_received "the established flow lost no packet across kill -9 and restart"

# --- SIGTERM: clean exit, data plane keeps forwarding ----------------------
kill -TERM "$DPID"
wait "$DPID"
st=$?
DPID=
check "SIGTERM: sluiced exits with status 0 ($st)" test "$st" = 0
check "SIGTERM: the socket is removed" test ! -e "$SOCK"
attached() { sluice iface show | grep -q "$GW_IF"; }
check "SIGTERM: XDP stays attached (iface show lists $GW_IF)" attached
recv_start 5
sleep 0.3
sent=$(in_cli "$UDPBLAST" send $VIP $UPORT 1 1 2000 | tr -dc 0-9)
check_all_received "without the daemon the data plane forwards the flow"
j0=$(journal_len)
check "without the daemon write commands run locally" \
	sluice backend set $SVC "$(be_addr4 2)" port $UPORT weight 7
check "... and are not journaled" test "$(journal_len)" = "$j0"

# --- config file: --config at start, SIGHUP, config apply through the daemon --
CONF=$DTMP/sluiced.yaml
VIP2=198.19.0.20
# write_conf WEIGHT [HEALTH]: backend 2 of $VIP2 gets WEIGHT (backend 1 of
# $SVC gets $UW, default 1).
write_conf() {
	cat >"$CONF" <<YAML
services:
  - address: $VIP
    port: $UPORT
    protocol: udp
    mode: nat
    backends:
      - address: $(be_addr4 1)
        port: $UPORT
        weight: ${UW:-1}
      - address: $(be_addr4 2)
        port: $UPORT
  - address: $VIP2
    port: 80
    mode: nat
    breaker-failures: 5
    breaker-window: 2
    breaker-wait: 1
${2:-}
    backends:
      - $(be_addr4 1)
      - address: $(be_addr4 2)
        weight: $1
YAML
}
svc_id() { sluice -j service show "$1" "$2" "$3" | jq -r '.[0].id // .service.id // empty'; }
be_weight() { sluice -j backend show "$1" "$2" "$3" | jq --arg a "$4" '.[] | select(.address == $a) | .weight'; }
records() { sluice -j journal show --dir "$JDIR" | jq "[.[] | select(.type == \"$1\")] | length"; }
write_conf 1
id0=$(svc_id $SVC)
c0=$(records config)
check "sluiced --config starts" daemon_start_conf
has_vip2() { [ -n "$(svc_id $VIP2 80 tcp)" ]; }
check "the config was applied at start: $VIP2 exists" has_vip2
check "... with its backends" test "$(sluice -j backend show $VIP2 80 tcp | jq length)" = 2
check "... the unchanged service kept its id ($id0)" test "$(svc_id $SVC)" = "$id0"
check "... and a config record was journaled" test "$(records config)" = $((c0 + 1))
in_gw "$SLUICE" -j events --follow timeout 4 >"$DTMP/follow" 2>&1 &
FOLLOW=$!
sleep 0.3
write_conf 3
kill -HUP "$DPID"
wait_weight() { [ "$(be_weight $VIP2 80 tcp "$(be_addr4 2)")" = "$1" ]; }
for _ in $(seq 30); do wait_weight 3 && break; sleep 0.1; done
check "SIGHUP re-applies the file (weight 3)" wait_weight 3
check "... journaled (config records: $(records config))" test "$(records config)" = $((c0 + 2))
wait "$FOLLOW"
check "events --follow printed the new record as it came" \
	grep -q '"argv":\["backend","set","'$VIP2'","80","tcp","'"$(be_addr4 2)"'",.*"weight","3"\]' \
	"$DTMP/follow"
write_conf 2
out=$(cd "$DTMP" && sluice config apply sluiced.yaml 2>&1)
check "config apply FILE (relative) through the daemon ($out)" wait_weight 2
check "... journaled (config records: $(records config))" test "$(records config)" = $((c0 + 3))

# --- breakers, live: a backend stops answering under load -----------------
brk_records() { sluice -j journal show --dir "$JDIR" | jq -c "[.[] | select(.type == \"breaker\") |
	.payload | select(.backend == \"$(be_addr4 2) 80\" and .to == \"$1\")] | length"; }
b_open=$(brk_records open)
b_closed=$(brk_records closed)
in_cli timeout 30 "$CONNLOOP" $VIP2 80 -d 9000 -i 5000 -t 1000 -q >"$DTMP/loop" 2>&1 &
CLOOP=$!
sleep 1
kill -TERM "$(cat "$LAB_STATE/b2/nginx.pid")"
opened() { [ "$(brk_records open)" -gt "$b_open" ]; }
for _ in $(seq 50); do opened && break; sleep 0.1; done
check "breaker of backend 2 opens and the transition is journaled" opened
metrics >"$DTMP/metrics2.txt"
check "metrics: its breaker state is 1 (open) or 2 (half-open)" \
	grep -Eq "^sluice_breaker_state\{service=\"$VIP2 80 tcp\",backend=\"$(be_addr4 2) 80\"\} [12]$" \
	"$DTMP/metrics2.txt"
lab_nginx 2
closed() { [ "$(brk_records closed)" -gt "$b_closed" ]; }
for _ in $(seq 80); do closed && break; sleep 0.1; done
check "backend 2 back: its breaker closes again (journaled)" closed
wait "$CLOOP"

# --- health checks from the config: a backend goes down, then up ------------
h_records() { sluice -j journal show --dir "$JDIR" | jq -c "[.[] | select(.type == \"health\") |
	.payload | select(.backend == \"$(be_addr4 2) 80\" and
	(if .up == true or .up == 1 then 1 else 0 end) == $1)] | length"; }
h_down=$(h_records 0)
h_up=$(h_records 1)
HC="    health:
      type: http
      interval: 0.2
      timeout: 0.2
      rise: 1
      fall: 2"
write_conf 2 "$HC"
kill -HUP "$DPID"
sleep 1
metrics >"$DTMP/metrics3.txt"
check "metrics: sluice_backend_up of both checked backends is 1" \
	test "$(grep -c "^sluice_backend_up{service=\"$VIP2 80 tcp\",backend=\".*\"} 1$" "$DTMP/metrics3.txt")" = 2
kill -TERM "$(cat "$LAB_STATE/b2/nginx.pid")"
hdown() { [ "$(h_records 0)" -gt "$h_down" ]; }
for _ in $(seq 30); do hdown && break; sleep 0.1; done
check "health: nginx of backend 2 stopped: down is journaled" hdown
metrics >"$DTMP/metrics4.txt"
check "metrics: its sluice_backend_up is 0 and its breaker open" sh -c "
	grep -q '^sluice_backend_up{service=\"$VIP2 80 tcp\",backend=\"$(be_addr4 2) 80\"} 0$' '$DTMP/metrics4.txt' &&
	grep -q '^sluice_breaker_state{service=\"$VIP2 80 tcp\",backend=\"$(be_addr4 2) 80\"} 1$' '$DTMP/metrics4.txt'"
# The breaker's transition names the health check, not an operator (#18),
# in the journal, the event stream, breaker show and the metric's label.
cause_records() { sluice -j journal show --dir "$JDIR" | jq "[.[] | select(.type == \"breaker\") |
	.payload | select(.backend == \"$(be_addr4 2) 80\" and .cause == \"$1\")] | length"; }
brk_cause() { [ "$(cause_records "$1")" -gt 0 ]; }
for _ in $(seq 30); do brk_cause health_down && break; sleep 0.1; done
check "health down: the breaker record's cause is health_down" brk_cause health_down
check "... and no operator_trip was journaled" test "$(cause_records operator_trip)" = 0
sluice -j events >"$DTMP/events_h.json"
check "... sluice events shows it" grep -q '"type":"breaker".*"cause":"health_down"' "$DTMP/events_h.json"
check "... breaker show says health_down" test "$(sluice -j breaker show $VIP2 80 tcp |
	jq -r --arg a "$(be_addr4 2)" '.[] | select(.address == $a) | .cause')" = health_down
metrics >"$DTMP/metrics4b.txt"
check "... sluice_breaker_transitions_total has reason=\"health_down\"" grep -q \
	"^sluice_breaker_transitions_total{service=\"$VIP2 80 tcp\",backend=\"$(be_addr4 2) 80\",reason=\"health_down\"} [1-9][0-9]*$" \
	"$DTMP/metrics4b.txt"
lab_nginx 2
hup() { [ "$(h_records 1)" -gt "$h_up" ]; }
for _ in $(seq 30); do hup && break; sleep 0.1; done
check "health: backend 2 back: up is journaled" hup
brk0() { metrics | grep -q "^sluice_breaker_state{service=\"$VIP2 80 tcp\",backend=\"$(be_addr4 2) 80\"} 0$"; }
check "... and its breaker is closed again" brk0
for _ in $(seq 30); do brk_cause health_up && break; sleep 0.1; done
check "... with cause health_up (no operator_reset)" sh -c \
	"[ $(cause_records health_up) -gt 0 ] && [ $(cause_records operator_reset) = 0 ]"

# --- reload with one service changed: another's connection lives on ---------
# A is $VIP2 80 tcp: a slow download through it (300 kB at nginx's 100 kB/s,
# about 3 s); only B, $SVC, changes in the file (backend 1's weight) and the
# file is re-applied with SIGHUP in the middle of the download.
be_state() { sluice -j backend show "$@" | jq -c '[.[] | {address, port, weight, state, id}]'; }
idA=$(svc_id $VIP2 80 tcp)
be_state $VIP2 80 tcp >"$DTMP/a_before"
napplied=$(grep -c "SIGHUP: config $CONF applied" "$LOG")
in_cli curl -s -m 20 -r 0-299999 -o "$DTMP/slowA" -w '%{http_code}' "http://$VIP2/slow" \
	>"$DTMP/slowA.code" 2>/dev/null &
CURL=$!
sleep 1
UW=4
write_conf 2 "$HC"
kill -HUP "$DPID"
uw4() { [ "$(be_weight $SVC "$(be_addr4 1)")" = 4 ]; }
for _ in $(seq 30); do uw4 && break; sleep 0.1; done
check "reload with only $SVC changed in the file: B shows the change (backend 1 weight 4)" uw4
# The maps change before the apply ends (tables, journal, log line): wait for its line.
for _ in $(seq 30); do
	[ "$(grep -c "SIGHUP: config $CONF applied" "$LOG")" -gt "$napplied" ] && break
	sleep 0.1
done
check "... with one command ($(grep "SIGHUP: config $CONF applied" "$LOG" | tail -n1 | sed 's/.* applied //'))" \
	test "$(grep "SIGHUP: config $CONF applied" "$LOG" | tail -n1 | sed 's/.* applied //')" = "(1 commands)" \
	-a "$(grep -c "SIGHUP: config $CONF applied" "$LOG")" = $((napplied + 1))
check "... the download through $VIP2 was still running at the reload" kill -0 "$CURL"
wait "$CURL"
st=$?
code=$(cat "$DTMP/slowA.code")
who=$(head -n1 "$DTMP/slowA" 2>/dev/null | tr -dc 0-9)
slow_intact() {
	[ "$st" = 0 ] && [ "$code" = 206 ] && [ -n "$who" ] &&
		[ "$(stat -c %s "$DTMP/slowA")" = 300000 ] &&
		head -c 300000 "$LAB_STATE/b$who/www/big" | cmp -s - "$DTMP/slowA"
}
check "... it completed intact (curl status $st, HTTP $code, $(stat -c %s "$DTMP/slowA" 2>/dev/null) bytes from backend $who)" \
	slow_intact
check "... A kept its id ($idA)" test "$(svc_id $VIP2 80 tcp)" = "$idA"
be_state $VIP2 80 tcp >"$DTMP/a_after"
check "... and its backends are unchanged" cmp -s "$DTMP/a_before" "$DTMP/a_after"

# --- a bad reload changes nothing ------------------------------------------
# The file with $VIP2's port 0: SIGHUP, and `config apply` of a file with a
# bad address. The daemon lives on and logs FILE:LINE:COLUMN; the maps are
# untouched; nothing is journaled (a file that does not parse is no apply:
# no command and no config record).
state >"$DTMP/bad_before"
jc=$(records command)
jg=$(records config)
jf=$(records failed)
nbad=$(grep -c "SIGHUP: config $CONF not applied" "$LOG")
write_conf 2 "$HC"
sed -i "/^  - address: $VIP2\$/,/port:/ s/^    port: 80\$/    port: 0/" "$CONF"
bline=$(grep -n '^    port: 0$' "$CONF" | cut -d: -f1)
kill -HUP "$DPID"
logged() { [ "$(grep -c "SIGHUP: config $CONF not applied" "$LOG")" -gt "$nbad" ]; }
for _ in $(seq 30); do logged && break; sleep 0.1; done
check "bad reload (port 0 at line $bline): the daemon logs it" logged
msg=$(grep "SIGHUP: config $CONF not applied" "$LOG" | tail -n1)
check "... naming $CONF:$bline:COLUMN ($msg)" grep -Eq "$CONF:$bline:[0-9]+: " <<<"$msg"
check "... the daemon lives on" kill -0 "$DPID"
check "... and answers" ping_ok
BAD=$DTMP/bad.yaml
write_conf 2 "$HC"
sed "s/^  - address: $VIP2\$/  - address: 198.19.0.300/" "$CONF" >"$BAD"
bline2=$(grep -n '^  - address: 198.19.0.300$' "$BAD" | cut -d: -f1)
out=$(sluice config apply "$BAD" 2>&1)
st=$?
check "config apply of a bad address fails (status $st): $out" \
	sh -c "[ $st != 0 ] && grep -Eq '$BAD:$bline2:[0-9]+: ' <<'EOF'
$out
EOF"
check "... the daemon lives on" ping_ok
state >"$DTMP/bad_after"
check "... service show and backend show identical before and after both" \
	cmp -s "$DTMP/bad_before" "$DTMP/bad_after"
check "... nothing journaled (command $jc, config $jg, failed $jf records)" \
	test "$(records command) $(records config) $(records failed)" = "$jc $jg $jf"

kill -TERM "$DPID"
wait "$DPID"
check "SIGTERM again: status 0" test $? = 0
DPID=

# --- a journal torn mid-record on disk is cut at start -----------------------
# The daemon is stopped: cut the last 3 bytes of the live segment (the tail
# of its last record), then start it: it reports the cut, keeps every record
# before it, and the next command gets the cut record's seq.
sluice -j journal show --dir "$JDIR" >"$DTMP/torn_before.json"
n0=$(jq length "$DTMP/torn_before.json")
s0=$(jq '.[-1].seq' "$DTMP/torn_before.json")
SEG=$(find "$JDIR" -maxdepth 1 -name '*.seg' | sort | tail -n1)
sz=$(stat -c %s "$SEG")
truncate -s -3 "$SEG"
check "cut 3 bytes off ${SEG##*/} ($sz bytes, $n0 records, last seq $s0)" \
	test "$(stat -c %s "$SEG")" = $((sz - 3))
check "sluiced starts on the torn journal" daemon_start
cutmsg=$(grep "journal: cut a torn tail of ${SEG##*/}" "$LOG" | tail -n1)
check "... its log reports the cut tail ($cutmsg)" \
	grep -q "last good record is seq $((s0 - 1))\$" <<<"$cutmsg"
check "... and the next seq ($s0)" test "$(grep "journal $JDIR: " "$LOG" | tail -n1 | sed 's/.*next seq //')" = "$s0"
sluice -j journal show --dir "$JDIR" >"$DTMP/torn_after.json"
check "... every record before the cut is intact ($(jq length "$DTMP/torn_after.json") of $n0 - 1)" \
	sh -c "[ \$(jq length '$DTMP/torn_after.json') = $((n0 - 1)) ] &&
		[ \"\$(jq -c '.[:-1]' '$DTMP/torn_before.json')\" = \"\$(jq -c . '$DTMP/torn_after.json')\" ]"
sluice backend set $SVC "$(be_addr4 2)" port $UPORT weight 9 >/dev/null
newrec=$(sluice -j journal show --dir "$JDIR" | jq -c '.[-1] | {seq, type, argv: .payload.argv}')
check "a new command appends with the next seq ($newrec)" test "$newrec" = \
	"{\"seq\":$s0,\"type\":\"command\",\"argv\":[\"backend\",\"set\",\"$VIP\",\"$UPORT\",\"udp\",\"$(be_addr4 2)\",\"port\",\"$UPORT\",\"weight\",\"9\"]}"
check "... and applies (weight 9)" test "$(be_weight $SVC "$(be_addr4 2)")" = 9

# --- journal compact while the daemon holds the journal ---------------------
n_before=$(journal_len)
out=$(sluice journal compact --dir "$JDIR" 2>&1)
check "journal compact through the daemon ($out)" grep -q "compacted by sluiced" <<<"$out"
sluice -j journal show --dir "$JDIR" >"$DTMP/compacted.json"
check "... the journal now starts with a snapshot ($(jq length "$DTMP/compacted.json") records, were $n_before)" \
	$JQE --argjson n "$n_before" '.[0].type == "snapshot" and length < $n' "$DTMP/compacted.json"

# --- maps lost (a reboot empties bpffs): rebuilt from the journal ----------
# The last journaled command sets a weight the rebuilt maps must show; the
# rest comes from the snapshot the compaction just wrote.
sluice backend set $SVC "$(be_addr4 2)" port $UPORT weight 5 >/dev/null
svcs_before=$(sluice -j service show | jq -c '[.[] | {address, port, proto, mode}] | sort')
kill -TERM "$DPID"
wait "$DPID"
check "SIGTERM: status 0" test $? = 0
DPID=
rm -rf "$LAB_PIN_ROOT"
check "sluiced starts with no maps pinned" daemon_start
check "... its log says it rebuilt the maps from the journal" \
	grep -q "rebuilt the maps from the journal: [1-9][0-9]* commands, 0 failed" "$LOG"
svcs_after=$(sluice -j service show | jq -c '[.[] | {address, port, proto, mode}] | sort')
check "... every service is back ($svcs_after)" test "$svcs_after" = "$svcs_before"
check "... with the last acknowledged weight (5)" test "$(be_weight $SVC "$(be_addr4 2)")" = 5
kill -TERM "$DPID"
wait "$DPID"
check "SIGTERM: status 0" test $? = 0
DPID=

finish
