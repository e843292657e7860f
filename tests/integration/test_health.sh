#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Active health checks (userspace/health.c) against real servers: the lab's
# nginx backends, checked from the gateway namespace by the driver
# tests/integration/healthcheck.c (the module in its own epoll loop,
# transitions as JSON lines). Targets, IPv4 and IPv6, TCP and HTTP:
#  - every check starts down (-s) and comes up within rise * interval
#    (+ its spread slot);
#  - backend 1's nginx stopped: its checks go down ("connection refused")
#    within fall * interval + timeout; restarted: up within rise * interval;
#  - backend 2's nginx frozen (SIGSTOP): the kernel still completes TCP
#    handshakes, so its TCP check stays up while its HTTP checks go down
#    ("timeout after 300 ms"); thawed: up again;
#  - an unreachable route: "no route"; a body that does not match: "body
#    mismatch"; neither ever comes up;
#  - HTTPS against `openssl s_server` in backend 1 (self-signed, body match).
# Network rule: every target is inside the lab's namespaces. Bounded: the
# driver runs at most 90 s; every wait has a deadline; the lab is torn down
# on any exit. About 20 s.
. "$(dirname "$0")/lib.sh"

require_env health
require_helpers health healthcheck
require_tools health nginx jq
trap cleanup EXIT
trap 'exit 130' INT TERM
# Two backends, plain routing through the gateway namespace (Sluice is not attached).
lab_up_steer 2 || bail "lab setup (2 nginx backends)"
tap_ok "lab up: gateway with 2 nginx backends"

INTERVAL=500
TIMEOUT=300
RISE=2
FALL=3
SLACK=250 # scheduling and process start, ms
OUT=$LAB_STATE/health.jsonl
B1_4=$(be_addr4 1)
B1_6=$(be_addr6 1)
B2_4=$(be_addr4 2)
B2_6=$(be_addr6 2)
UNREACH=198.18.250.1
in_gw ip route add unreachable 198.18.250.0/24
# An HTTPS server in backend 1 (a self-signed certificate: checks do not verify by default).
HTTPS=0
if command -v openssl >/dev/null &&
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=backend-1 \
		-keyout "$LAB_STATE/tls.key" -out "$LAB_STATE/tls.crt" >/dev/null 2>&1; then
	in_be 1 openssl s_server -accept "$B1_4:8443" -cert "$LAB_STATE/tls.crt" \
		-key "$LAB_STATE/tls.key" -www -quiet >/dev/null 2>&1 &
	HTTPS=1
fi

# Backend ids are the targets' positions.
TARGETS=(
	"tcp,$B1_4,80"                  # 1
	"http,$B1_4,80,/,backend-1"     # 2
	"http,$B1_6,80,/"               # 3
	"tcp,$B1_6,80"                  # 4
	"http,$B2_4,80,/,backend-2"     # 5
	"tcp,$B2_4,80"                  # 6
	"http,$B2_6,80,/"               # 7
	"tcp,$UNREACH,80"               # 8
	"http,$B1_4,80,/,backend-2"     # 9
)
[ $HTTPS = 1 ] && TARGETS+=("https,$B1_4,8443,/,Ciphers") # 10
now_ms() { date +%s%3N; }
t_run=$(now_ms)
# nsenter execs the driver: $! is the driver itself.
nsenter --net=/run/netns/"$GW_NS" -- "$HEALTHCHECK" -d 90 -i $INTERVAL -t $TIMEOUT -r $RISE -f $FALL -s "${TARGETS[@]}" \
	>"$OUT" 2>"$LAB_STATE/health.err" &
HC_PID=$!

# change_at ID UP AFTER: time of ID's first transition to UP (true|false) at or after AFTER.
change_at() {
	jq -r --argjson b "$1" --argjson up "$2" --argjson t "$3" \
		'select(.event == "change" and .backend == $b and .up == $up and .time_ms >= $t) | .time_ms' \
		"$OUT" 2>/dev/null | head -n1
}
why_at() {
	jq -r --argjson b "$1" --argjson t "$2" \
		'select(.event == "change" and .backend == $b and .time_ms >= $t) | .why' \
		"$OUT" 2>/dev/null | head -n1
}
# wait_changes UP AFTER DEADLINE_MS ID...: until every ID changed to UP after AFTER.
wait_changes() {
	up=$1
	after=$2
	limit=$(($(now_ms) + $3))
	shift 3
	while [ "$(now_ms)" -lt $limit ]; do
		all=1
		for id in "$@"; do
			[ -n "$(change_at "$id" "$up" "$after")" ] || all=0
		done
		[ $all = 1 ] && return 0
		sleep 0.05
	done
	return 1
}
# within_bound UP AFTER BOUND ID...: each ID changed to UP in (AFTER, AFTER + BOUND]; says how fast.
within_bound() {
	up=$1
	after=$2
	bound=$3
	shift 3
	ok=0
	lat=""
	for id in "$@"; do
		t=$(change_at "$id" "$up" "$after")
		[ -n "$t" ] || {
			ok=1
			lat="$lat $id:never"
			continue
		}
		lat="$lat $id:$((t - after))ms"
		[ $((t - after)) -le "$bound" ] || ok=1
	done
	echo "$lat"
	return $ok
}
# listening I yes|no: backend I's nginx listens on :80 (or not).
listening() {
	if [ "$2" = yes ]; then
		in_be "$1" ss -Hltn 'sport = :80' | grep -q .
	else
		! in_be "$1" ss -Hltn 'sport = :80' | grep -q .
	fi
}
wait_listening() {
	for _ in $(seq 100); do
		listening "$1" "$2" && return 0
		sleep 0.05
	done
	return 1
}
# none_after ID AFTER: no transition of ID after AFTER.
none_after() {
	[ -z "$(jq -r --argjson b "$1" --argjson t "$2" \
		'select(.event == "change" and .backend == $b and .time_ms >= $t) | .backend' "$OUT")" ]
}

# --- 1. every check comes up ------------------------------------------------
bound=$((INTERVAL + RISE * INTERVAL + SLACK))
wait_changes true "$t_run" $((bound + 1000)) 1 2 3 4 5 6 7
lat=$(within_bound true "$t_run" $bound 1 2 3 4 5 6 7)
check "start down: tcp and http, IPv4 and IPv6, up within spread + rise*interval = $bound ms:$lat" \
	within_bound true "$t_run" $bound 1 2 3 4 5 6 7
check "first transitions say why: tcp 'connected', http 'HTTP 200'" \
	test "$(why_at 1 "$t_run")/$(why_at 2 "$t_run")/$(why_at 3 "$t_run")" = "connected/HTTP 200/HTTP 200"

# --- 2. backend 1's nginx stopped and restarted -----------------------------
t_stop=$(now_ms)
kill -TERM "$(cat "$LAB_STATE/b1/nginx.pid")"
wait_listening 1 no
bound=$((FALL * INTERVAL + TIMEOUT + SLACK))
wait_changes false "$t_stop" $((bound + 1000)) 1 2 3 4
lat=$(within_bound false "$t_stop" $bound 1 2 3 4)
check "nginx 1 stopped: its 4 checks down within fall*interval + timeout = $bound ms:$lat" \
	within_bound false "$t_stop" $bound 1 2 3 4
check "nginx 1 stopped: why is 'connection refused' (IPv4 tcp, IPv4 http, IPv6 http, IPv6 tcp)" \
	test "$(for i in 1 2 3 4; do why_at $i "$t_stop"; done | sort -u)" = "connection refused"
check "nginx 1 stopped: backend 2's checks stay up" none_after 5 "$t_stop"

t_start=$(now_ms)
lab_nginx 1
wait_listening 1 yes
t_listen=$(now_ms)
bound=$((RISE * INTERVAL + SLACK))
wait_changes true "$t_start" $((bound + 1500)) 1 2 3 4
lat=$(within_bound true "$t_listen" $bound 1 2 3 4)
check "nginx 1 restarted: its 4 checks up within rise*interval = $bound ms of it listening:$lat" \
	within_bound true "$t_listen" $bound 1 2 3 4

# --- 3. backend 2's nginx frozen: TCP still connects, HTTP times out ---------
NGINX2=$(ip netns pids "$(be_ns 2)")
t_freeze=$(now_ms)
# shellcheck disable=SC2086
kill -STOP $NGINX2
bound=$((FALL * INTERVAL + TIMEOUT + SLACK))
wait_changes false "$t_freeze" $((bound + 1000)) 5 7
lat=$(within_bound false "$t_freeze" $bound 5 7)
check "nginx 2 frozen: its http checks (IPv4, IPv6) down within $bound ms:$lat" \
	within_bound false "$t_freeze" $bound 5 7
check "nginx 2 frozen: why is 'timeout after $TIMEOUT ms'" \
	test "$(for i in 5 7; do why_at $i "$t_freeze"; done | sort -u)" = "timeout after $TIMEOUT ms"
check "nginx 2 frozen: its tcp check stays up (the kernel completes the handshake)" \
	none_after 6 "$t_freeze"
t_thaw=$(now_ms)
# shellcheck disable=SC2086
kill -CONT $NGINX2
bound=$((RISE * INTERVAL + TIMEOUT + SLACK))
wait_changes true "$t_thaw" $((bound + 1000)) 5 7
lat=$(within_bound true "$t_thaw" $bound 5 7)
check "nginx 2 thawed: http checks up within $bound ms:$lat" within_bound true "$t_thaw" $bound 5 7

# --- 4. HTTPS -----------------------------------------------------------------
if [ $HTTPS = 1 ]; then
	check "https (self-signed, body match): up ($(why_at 10 "$t_run"))" \
		test -n "$(change_at 10 true "$t_run")"
else
	tap_skip "https check" "openssl is missing"
fi

# --- 5. the driver's final status ------------------------------------------
kill -TERM $HC_PID
wait $HC_PID
rc=$?
check "driver ran and exited cleanly (status $rc)" test $rc = 0
status() { jq -r --argjson b "$1" "select(.event == \"status\" and .backend == \$b) | $2" "$OUT"; }
check "unreachable route: never up, why 'no route' ($(status 8 .why))" \
	test "$(status 8 .up)/$(status 8 .why)/$(change_at 8 true 0)" = "false/no route/"
check "body mismatch: never up, why 'body mismatch' ($(status 9 .why))" \
	test "$(status 9 .up)/$(status 9 .why)/$(change_at 9 true 0)" = "false/body mismatch/"
ok=1
for i in 1 2 3 4 5 6 7; do
	[ "$(status $i .up)" = true ] || ok=0
done
check "all 7 checks up at the end, each with its checks counted" test $ok = 1 -a \
	"$(status 1 .checks)" -gt 10
echo "# transitions: $(grep -c '"change"' "$OUT"); driver stderr: $(head -c 300 "$LAB_STATE/health.err")"
finish
