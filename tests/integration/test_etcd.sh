#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The etcd client (userspace/net/etcd*.c) against a real 3-member etcd cluster on
# loopback (tests/integration/etcd.sh), driven by tests/integration/etcdprobe:
#  - put, get, prefix get, delete, seen by etcdctl too; put_if's success and
#    conflict (the current value comes back);
#  - a lease kept alive outlives its TTL and its key goes with revoke; a
#    lease left alone expires and takes its key;
#  - a watch sees puts and deletes in order; the member the client uses is
#    stopped while another client writes through the others: every event
#    arrives once, in order, and the client's endpoint moved; a watch from a
#    compacted revision reports the reset and goes on;
#  - elections: a second candidate leads only once the first resigns, then
#    again only once the other's lease expired; observe reports each leader
#    (proclaimed values too) and the end of the last; leader() agrees;
#  - requests against dead or hung endpoints end with ETIMEDOUT within
#    their deadline;
#  - TLS (a one-member cluster of its own, client certificates required):
#    requests and a watch over https; without the CA the client refuses the
#    server and says why;
#  - auth: with the right user it works (watch too), without one etcd
#    refuses, with a wrong password the client says EACCES.
# Measured (TAP comments): watch latency put -> callback, failover time.
# Loopback only; every wait is bounded; the cluster and the probes are
# removed on any exit. About 30 s.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"

PROBE=$(realpath "$BUILD/tests/integration/etcdprobe" 2>/dev/null)
if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
	tap_skip etcd "needs etcd and etcdctl (Debian: etcd-server, etcd-client)"
	finish
	exit 0
fi
if ! [ -x "$PROBE" ]; then
	tap_fail "etcd: build the test helpers first (make tests): etcdprobe missing"
	finish
	exit 1
fi

declare -A FD PID
NCAT_PID=
TLS_PID=

etcd_test_cleanup() {
	local p
	for p in "${!FD[@]}"; do
		exec {FD[$p]}>&- 2>/dev/null
	done
	stop_pids TERM "${PID[@]}" "$NCAT_PID" "$TLS_PID"
	# Not a bare wait: the etcd members are children too (etcd_down reaps them).
	etcd_down
}
trap etcd_test_cleanup EXIT
trap 'exit 130' INT TERM

now_us() { echo $(($(date +%s%N) / 1000)); }

# wait_for FILE REGEX SECONDS: a line matching REGEX appears in FILE.
wait_for() {
	local end=$(($(date +%s%N) + $3 * 1000000000))
	while [ "$(date +%s%N)" -lt "$end" ]; do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.02
	done
	return 1
}

# count FILE REGEX: lines matching.
count() { grep -cE "$2" "$1" 2>/dev/null; }

# probe_start NAME [OPTIONS]: a long-running etcdprobe reading commands from a FIFO.
probe_start() {
	local p=$1 fd
	shift
	mkfifo "$ETCD_DIR/$p.in"
	"$PROBE" -d 100 "$@" "$ETCD_ENDPOINTS" <"$ETCD_DIR/$p.in" >"$ETCD_DIR/$p.out" 2>&1 &
	PID[$p]=$!
	exec {fd}>"$ETCD_DIR/$p.in"
	FD[$p]=$fd
}

send() {
	local p=$1
	shift
	echo "$*" >&"${FD[$p]}"
}

# ask NAME CMD...: run CMD in probe NAME, print what it printed until it finished
# (a marker echoed after it; unique, as ask often runs in a subshell).
ask() {
	local p=$1 out=$ETCD_DIR/$1.out n m
	shift
	m="@@$(date +%s%N)"
	n=$(wc -l <"$out")
	send "$p" "$*"
	send "$p" "echo $m"
	wait_for "$out" "^$m\$" 10 || {
		echo "probe $p: no answer to '$*'" >&2
		return 1
	}
	tail -n +$((n + 1)) "$out" | sed "/^$m\$/,\$d"
}

# field NAME TEXT: the value of NAME=... in TEXT.
field() { echo "$2" | sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" | head -n 1; }

# run_probe ARGS...: a one-shot probe, its output on stdout.
run_probe() { "$PROBE" -d 30 "$@"; }

t_start=$(date +%s)
if ! etcd_up; then
	tap_fail "3-member etcd cluster up" "see the etcd logs above"
	finish
	exit 1
fi
tap_ok "3-member etcd cluster up ($ETCD_ENDPOINTS)"
EP=$ETCD_ENDPOINTS

# --- key-values ---------------------------------------------------------------
out=$(run_probe "$EP" put t/a 1 -- put t/b 2 -- put u/c 3 -- get t/a -- getp t/ -- del t/a -- \
	get t/a -- delp t/ -- getp t/ -- get u/c)
echo "$out" | grep -q "^kv t/a 1 " && echo "$out" | grep -q "^get n=1 " &&
	[ "$(echo "$out" | grep -c '^get n=')" -eq 5 ] &&
	[ "$(echo "$out" | grep '^get n=' | awk '{print $2}' | tr '\n' ' ')" = "n=1 n=2 n=0 n=0 n=1 " ] &&
	[ "$(echo "$out" | grep '^del n=' | awk '{print $2}' | tr '\n' ' ')" = "n=1 n=1 " ] &&
	tap_ok "put, get, prefix get, delete, prefix delete" ||
	tap_fail "put, get, prefix get, delete, prefix delete" "$out"
check "etcdctl reads what the client put" test "$(etcd_ctl get u/c --print-value-only)" = 3

out=$(run_probe "$EP" putif p/x v1 0 -- putif p/x v2 0)
mod=$(echo "$out" | sed -n 's/^putif succeeded=0 cur=v1 mod=\([0-9]*\).*/\1/p')
if echo "$out" | grep -q "^putif succeeded=1 " && [ -n "$mod" ]; then
	tap_ok "put_if: created when absent; refused when present, current value returned"
else
	tap_fail "put_if: created when absent; refused when present, current value returned" "$out"
fi
out=$(run_probe "$EP" putif p/x v3 "${mod:-0}" -- putif p/x v4 "${mod:-0}")
echo "$out" | head -n 1 | grep -q "^putif succeeded=1 " &&
	echo "$out" | tail -n 1 | grep -q "^putif succeeded=0 cur=v3 " &&
	[ "$(etcd_ctl get p/x --print-value-only)" = v3 ] &&
	tap_ok "put_if at the current revision succeeds once, a stale revision conflicts" ||
	tap_fail "put_if at the current revision succeeds once, a stale revision conflicts" "$out"

# --- leases ----------------------------------------------------------------------
probe_start p1
l1=$(field lease "$(ask p1 grant 2 | grep '^grant ')")
l2=$(field lease "$(ask p1 grant 1 | grep '^grant ')")
ask p1 put l/kept v "$l1" >/dev/null
ask p1 put l/gone v "$l2" >/dev/null
send p1 refresh "$l1" 500
t0=$(date +%s%N)
# l/gone goes within its 1 s TTL plus etcd's expiry check (500 ms); l/kept stays.
gone_ms=
for _ in $(seq 1 40); do
	if ask p1 get l/gone | grep -q "^get n=0 "; then
		gone_ms=$((($(date +%s%N) - t0) / 1000000))
		break
	fi
	sleep 0.1
done
[ -n "$gone_ms" ] && tap_ok "a lease left alone expires and takes its key (${gone_ms} ms)" ||
	tap_fail "a lease left alone expires and takes its key" "l/gone still there after 4 s"
out=$(ask p1 keepalive "$l2" | grep '^keepalive ')
check "keepalive of an expired lease reports TTL 0" test "$(field ttl "$out")" = 0
# Past the 2 s TTL with margin: 3.5 s after the grant.
rem=$((3500 - ($(date +%s%N) - t0) / 1000000))
[ "$rem" -gt 0 ] && sleep "$(awk -v ms="$rem" 'BEGIN { print ms / 1000 }')"
out=$(ask p1 get l/kept)
echo "$out" | grep -q "^kv l/kept v .*lease=$l1" &&
	tap_ok "a lease kept alive outlives its 2 s TTL, its key with it" ||
	tap_fail "a lease kept alive outlives its 2 s TTL, its key with it" "$out"
ttl=$(field ttl "$(ask p1 keepalive "$l1" | grep '^keepalive ')")
check "keepalive of a live lease reports its TTL" test "${ttl:-0}" -ge 1
send p1 refresh "$l1" 0
ask p1 revoke "$l1" | grep -q "^revoke ok" && ask p1 get l/kept | grep -q "^get n=0 " &&
	[ -z "$(etcd_ctl get l/kept --print-value-only)" ] &&
	tap_ok "revoke: the key goes at once" || tap_fail "revoke: the key goes at once"

# --- watch, across the loss of the client's member ---------------------------------------
W=$ETCD_DIR/p1.out
send p1 watchp w/
wait_for "$W" "^watch up" 5 || tap_fail "watch comes up"
for i in 1 2 3; do etcd_ctl put "w/$i" "v$i" >/dev/null; done
etcd_ctl del w/2 >/dev/null
wait_for "$W" "^watch delete w/2 " 5
seq_=$(grep -E "^watch (put|delete) w/" "$W" | awk '{print $2 $3}' | tr '\n' ' ')
[ "$seq_" = "putw/1 putw/2 putw/3 deletew/2 " ] &&
	tap_ok "watch: puts and deletes in order" ||
	tap_fail "watch: puts and deletes in order" "saw: $seq_"
revs=$(grep -E "^watch (put|delete) w/" "$W" | sed 's/.*rev=\([0-9]*\).*/\1/' | tr '\n' ' ')
echo "$revs" | awk '{ for (i = 2; i <= NF; i++) if ($i <= $(i-1)) exit 1 }' &&
	tap_ok "watch: revisions increase ($revs)" || tap_fail "watch: revisions increase" "$revs"

out=$(ask p1 latency 50 lat/k)
p50=$(field p50_us "$out")
echo "# watch latency put -> callback over 50 puts: $(echo "$out" | grep ^latency | cut -d' ' -f2-)"
[ -n "$p50" ] && [ "$p50" -lt 100000 ] && tap_ok "watch latency p50 ${p50} us (< 100 ms)" ||
	tap_fail "watch latency p50 < 100 ms" "$out"

before=$(ask p1 endpoint)
url=$(echo "$before" | awk '{print $2}')
victim=
for i in 1 2 3; do [ "$(etcd_url "$i")" = "$url" ] && victim=$i; done
others=$(echo "$EP" | tr ',' '\n' | grep -vx "$url" | paste -sd,)
# Another client writes w/4..w/13 every 50 ms through the other members,
# starting before the stop: some land while the watch reconnects.
cmds=()
for i in $(seq 4 13); do cmds+=(put "w/$i" "v$i" -- sleep 50 --); done
run_probe -t 3000 "$others" "${cmds[@]}" echo done >"$ETCD_DIR/writer.out" 2>&1 &
writer=$!
sleep 0.1
t_stop=$(now_us)
etcd_member_stop "$victim"
t_stopped=$(now_us)
out=$(ask p1 get w/4)
get_ms=$(field ms "$(echo "$out" | grep '^get ')")
wait $writer
wait_for "$W" "^watch put w/13 " 10
got=$(grep -E "^watch put w/([4-9]|1[0-3]) " "$W" | awk '{print $3}' | tr '\n' ' ')
[ "$got" = "w/4 w/5 w/6 w/7 w/8 w/9 w/10 w/11 w/12 w/13 " ] &&
	tap_ok "watch resumes across the member's stop: every event once, in order" ||
	tap_fail "watch resumes across the member's stop: every event once, in order" \
		"saw: $got" "writer: $(tr '\n' ' ' <"$ETCD_DIR/writer.out")"
after=$(ask p1 endpoint)
[ -n "$victim" ] && [ "$(echo "$after" | awk '{print $2}')" != "$url" ] &&
	[ "$(field failovers "$after")" -ge 1 ] &&
	tap_ok "etcd_endpoint() moved off the stopped member ($after)" ||
	tap_fail "etcd_endpoint() moved off the stopped member" "before: $before" "after: $after"
t_down=$(grep "^watch down" "$W" | head -n 1 | sed 's/.*t=//')
t_up=$(grep "^watch up" "$W" | sed -n 2p | sed 's/.*t=//')
if [ -n "$t_down" ] && [ -n "$t_up" ]; then
	fo_ms=$(((t_up - t_stop) / 1000))
	echo "# failover: member stop took $(((t_stopped - t_stop) / 1000)) ms; watch down -> up" \
		"$(((t_up - t_down) / 1000)) ms; stop begun -> watch up ${fo_ms} ms;" \
		"a get right after the stop: ${get_ms:-?} ms"
	[ "$fo_ms" -lt 3000 ] && tap_ok "watch back within 3 s of the stop (${fo_ms} ms)" ||
		tap_fail "watch back within 3 s of the stop" "${fo_ms} ms"
else
	tap_fail "watch reports down and up around the stop" "$(grep -E '^watch (up|down)' "$W")"
fi
if etcd_member_start "$victim"; then
	tap_ok "member m$victim back on its data"
else
	tap_fail "member m$victim back on its data" "$(tail -n 3 "$ETCD_DIR/m$victim.log")"
fi

# --- compaction -----------------------------------------------------------------------------
probe_start p3
r1=$(field rev "$(ask p3 put c/k 1 | grep '^put ')")
r2=$(field rev "$(ask p3 put c/k 2 | grep '^put ')")
etcd_ctl compact "$r2" >/dev/null
send p3 watchfrom c/k "$r1"
C=$ETCD_DIR/p3.out
wait_for "$C" "^watch put c/k 2 " 5
etcd_ctl put c/k 3 >/dev/null
wait_for "$C" "^watch put c/k 3 " 5
grep -q "^watch reset rev=$r2 " "$C" && [ "$(count "$C" '^watch put c/k')" -eq 2 ] &&
	tap_ok "watch from a compacted revision: reset at $r2, then its events" ||
	tap_fail "watch from a compacted revision: reset at $r2, then its events" \
		"$(grep '^watch' "$C" | tr '\n' ' ')"

# --- elections ------------------------------------------------------------------------------
probe_start p2
P1=$ETCD_DIR/p1.out
P2=$ETCD_DIR/p2.out
la=$(field lease "$(ask p1 grant 2 | grep '^grant ')")
lb=$(field lease "$(ask p2 grant 2 | grep '^grant ')")
send p1 refresh "$la" 500
send p2 refresh "$lb" 500
send p1 observe el
wait_for "$P1" "^observe el delete" 5
out=$(ask p1 leader el)
check "leader(): none before any campaign" test "$out" = "leader el none"
send p1 campaign A el "$la" gw-a
wait_for "$P1" "^elected A " 5 && tap_ok "campaign: the first candidate leads" ||
	tap_fail "campaign: the first candidate leads"
send p2 campaign B el "$lb" gw-b
sleep 1
[ "$(count "$P2" '^elected B')" -eq 0 ] &&
	tap_ok "campaign: the second candidate waits while the first leads" ||
	tap_fail "campaign: the second candidate waits while the first leads"
ask p1 proclaim A gw-a2 >/dev/null
out=$(ask p2 leader el)
echo "$out" | grep -q "^leader el gw-a2 " && wait_for "$P1" "^observe el put gw-a2 " 3 &&
	tap_ok "proclaim: leader() and observe see the new value" ||
	tap_fail "proclaim: leader() and observe see the new value" "$out"
t0=$(now_us)
ask p1 resign A >/dev/null
if wait_for "$P2" "^elected B " 3; then
	t1=$(sed -n 's/^elected B .*t=//p' "$P2")
	tap_ok "campaign: the second leads once the first resigns ($(((t1 - t0) / 1000)) ms)"
else
	tap_fail "campaign: the second leads once the first resigns"
fi
wait_for "$P1" "^observe el put gw-b " 3
out=$(ask p1 leader el)
check "leader(): the second candidate" test "$(echo "$out" | awk '{print $3}')" = gw-b
# A campaigns again (queued behind B); B's lease is left to expire.
send p1 campaign A el "$la" gw-a
sleep 0.5
[ "$(count "$P1" '^elected A ')" -eq 1 ] &&
	tap_ok "campaign: a returning candidate queues behind the leader" ||
	tap_fail "campaign: a returning candidate queues behind the leader"
send p2 refresh "$lb" 0
t0=$(now_us)
for _ in $(seq 1 300); do
	[ "$(count "$P1" '^elected A ')" -ge 2 ] && break
	sleep 0.02
done
if [ "$(count "$P1" '^elected A ')" -ge 2 ]; then
	t1=$(grep '^elected A ' "$P1" | tail -n 1 | sed 's/.*t=//')
	tap_ok "campaign: leadership passes when the leader's lease expires ($(((t1 - t0) / 1000)) ms after its last keepalive)"
else
	tap_fail "campaign: leadership passes when the leader's lease expires"
fi
ask p1 resign A >/dev/null
wait_for "$P1" "^observe el delete" 3
obs=$(grep "^observe el" "$P1" | awk '{print $3 ($3 == "put" ? ":" $4 : "")}' | tr '\n' ' ')
[ "$(count "$P1" '^observe el delete')" -ge 2 ] &&
	[ "$obs" = "up delete put:gw-a put:gw-a2 put:gw-b put:gw-a delete " ] &&
	tap_ok "observe: none, each leader and value in turn, none again" ||
	tap_fail "observe: none, each leader and value in turn, none again" "saw: $obs"
check "leader(): none after the last resigns" test "$(ask p1 leader el)" = "leader el none"

# --- dead and hung endpoints -----------------------------------------------------------------
read -r d1 d2 d3 <<<"$(etcd_pick_ports 3)"
out=$(run_probe -t 1000 "http://127.0.0.1:$d1,http://127.0.0.1:$d2" get x)
ms=$(field ms "$out")
echo "$out" | grep -q "^get err=ETIMEDOUT " && [ "$ms" -ge 1000 ] && [ "$ms" -le 1250 ] &&
	tap_ok "only refusing endpoints: ETIMEDOUT at the 1000 ms deadline ($ms ms)" ||
	tap_fail "only refusing endpoints: ETIMEDOUT at the 1000 ms deadline" "$out"
if command -v ncat >/dev/null; then
	# Accepts and never answers: a hung member.
	ncat -lk 127.0.0.1 "$d3" >/dev/null 2>&1 &
	NCAT_PID=$!
	sleep 0.2
	out=$(run_probe -t 1000 "http://127.0.0.1:$d3,http://127.0.0.1:$d1" put x y)
	ms=$(field ms "$out")
	echo "$out" | grep -q "^put err=ETIMEDOUT " && [ "$ms" -ge 1000 ] && [ "$ms" -le 1250 ] &&
		tap_ok "a hung and a refusing endpoint: ETIMEDOUT at the deadline ($ms ms)" ||
		tap_fail "a hung and a refusing endpoint: ETIMEDOUT at the deadline" "$out"
	# A hung endpoint first, a live one next: the request still succeeds in time.
	out=$(run_probe -t 1000 "http://127.0.0.1:$d3,$(etcd_url 1)" put x y -- endpoint)
	ms=$(field ms "$out")
	echo "$out" | grep -q "^put ok " && [ "$ms" -lt 1000 ] &&
		tap_ok "a hung endpoint is left for the next one within the deadline ($ms ms)" ||
		tap_fail "a hung endpoint is left for the next one within the deadline" "$out"
	stop_pids TERM "$NCAT_PID"
	NCAT_PID=
else
	tap_skip "hung endpoint" "needs ncat"
fi

# --- TLS ------------------------------------------------------------------------------------------
# tls_cert NAME CN EXT: a key and a certificate signed by the test CA.
tls_cert() {
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$T/$1.key" -out "$T/$1.csr" \
		2>/dev/null &&
		printf '%b' "$3" >"$T/$1.ext" &&
		openssl x509 -req -in "$T/$1.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial \
			-days 1 -extfile "$T/$1.ext" -out "$T/$1.crt" 2>/dev/null
}
T=$ETCD_DIR/tls
if command -v openssl >/dev/null && mkdir -p "$T" &&
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=sluice-test-ca \
		-keyout "$T/ca.key" -out "$T/ca.crt" 2>/dev/null &&
	tls_cert srv etcd 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' &&
	tls_cert cli sluice 'extendedKeyUsage=clientAuth\n'; then
	read -r tc tp <<<"$(etcd_pick_ports 2)"
	setpriv --pdeathsig KILL etcd --name tls --data-dir "$T/data" \
		--listen-client-urls "https://127.0.0.1:$tc" --advertise-client-urls "https://127.0.0.1:$tc" \
		--listen-peer-urls "http://127.0.0.1:$tp" --initial-advertise-peer-urls "http://127.0.0.1:$tp" \
		--initial-cluster "tls=http://127.0.0.1:$tp" --cert-file "$T/srv.crt" \
		--key-file "$T/srv.key" --trusted-ca-file "$T/ca.crt" --client-cert-auth \
		--logger zap --log-level warn >"$T/etcd.log" 2>&1 &
	TLS_PID=$!
	TLS_EP="https://127.0.0.1:$tc"
	tls=(-c "$T/ca.crt" -C "$T/cli.crt" -K "$T/cli.key")
	for _ in $(seq 1 50); do
		run_probe -t 200 "${tls[@]}" "$TLS_EP" get x >/dev/null 2>&1 && break
		sleep 0.1
	done
	out=$(run_probe "${tls[@]}" "$TLS_EP" put s/a 1 -- watchp s/ -- sleep 300 -- put s/b 2 -- get s/a -- sleep 200)
	echo "$out" | grep -q "^kv s/a 1 " && echo "$out" | grep -q "^watch put s/b 2 " &&
		tap_ok "TLS with a client certificate: put, get, watch over https" ||
		tap_fail "TLS with a client certificate: put, get, watch over https" "$out"
	out=$(run_probe -t 500 -C "$T/cli.crt" -K "$T/cli.key" "$TLS_EP" get s/a)
	echo "$out" | grep -q "^get err=ETIMEDOUT .*SSL peer certificate" &&
		tap_ok "TLS: a server the CA does not vouch for is refused, and the message says so" ||
		tap_fail "TLS: a server the CA does not vouch for is refused, and the message says so" "$out"
	stop_pids TERM "$TLS_PID"
	TLS_PID=
else
	tap_skip "TLS" "needs openssl to make certificates"
fi

# --- auth (last: it changes the cluster) ------------------------------------------------------
if etcd_ctl user add root:sesame >/dev/null 2>&1 && etcd_ctl auth enable >/dev/null 2>&1; then
	out=$(run_probe -u root:sesame "$EP" put a/x 1 -- get a/x)
	echo "$out" | grep -q "^kv a/x 1 " && tap_ok "auth: the client authenticates, put and get" ||
		tap_fail "auth: the client authenticates, put and get" "$out"
	out=$(run_probe "$EP" get a/x)
	echo "$out" | grep -q "^get err=EIO msg=.*user name is empty" &&
		tap_ok "auth: without a user etcd refuses (EIO, its message)" ||
		tap_fail "auth: without a user etcd refuses (EIO, its message)" "$out"
	out=$(run_probe -u root:wrong "$EP" get a/x)
	echo "$out" | grep -q "^get err=EACCES " &&
		tap_ok "auth: a wrong password is EACCES" || tap_fail "auth: a wrong password is EACCES" "$out"
	probe_start p4 -u root:sesame
	send p4 watchp a/
	wait_for "$ETCD_DIR/p4.out" "^watch up" 5
	etcd_ctl --user root:sesame put a/y 2 >/dev/null
	wait_for "$ETCD_DIR/p4.out" "^watch put a/y 2 " 5 && tap_ok "auth: a watch with the token" ||
		tap_fail "auth: a watch with the token" "$(cat "$ETCD_DIR/p4.out")"
else
	tap_fail "auth: enable it on the cluster (etcdctl user add, auth enable)"
fi

for p in p1 p2 p3 p4; do [ -n "${FD[$p]:-}" ] && send "$p" quit; done
echo "# $(($(date +%s) - t_start)) s"
finish
