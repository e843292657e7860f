#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The control socket's defences (issue 13), on a daemon of its own (private
# pin root, journal and socket; no lab, no metrics listener):
#  - F1: `config apply FILE` through the daemon sends FILE's content, read by
#    the CLI with the caller's permissions: a non-root member of group
#    sluice asking to apply /etc/shadow gets its own "Permission denied",
#    and neither its output nor the daemon's log quotes the file; the old
#    request form (a path for the daemon to open) is refused; config files
#    must be regular files of at most 4 MiB; an apply's body is framed
#    (a request on the same connection after it is answered too).
#  - roles (SO_PEERCRED): group sluice reads (events) but every write,
#    apply and compact is refused with "permission denied" and changes
#    nothing (maps and journal as before); the admin group (YAML
#    daemon.admin-group, or --admin-group) writes; an unknown admin group stops the daemon at start; every
#    journal record names its author's uid and pid (journal show, events);
#    a journal with records of before authors still reads (uid/pid null).
#  - F8: a client that pipelines requests and never reads is not read past
#    256 KiB of unsent replies and is cut off at its 10 s deadline, the
#    daemon's memory bounded meanwhile (RSS grows < 32 MiB; before the fix
#    it grew by the replies of every request sent); a subscriber that never
#    reads is dropped while a live one gets every record and commands keep
#    being answered; 64 idle subscribers do not lock other clients out (a
#    65th is refused: too many subscribers); non-admin clients cannot take
#    the last 8 request slots.
# The group sluice is created for the run when the host has none (and
# removed again). Bounded: every client has a timeout; the daemon is killed
# and the pins, files and group removed on any exit.
. "$(dirname "$0")/lib.sh"

require_env control
SLUICED=$(realpath "$BUILD/sluiced" 2>/dev/null)
require_tools control jq ncat setpriv
DTMP=$(mktemp -d /tmp/sluice-control-XXXXXX)
chmod 755 "$DTMP" # the non-root clients reach the socket through it
SOCK=$DTMP/sluiced.sock
JDIR=$DTMP/journal
LOG=$DTMP/sluiced.log
export SLUICE_SOCKET=$SOCK
DPID=
MADE_GROUP=
if ! getent group sluice >/dev/null; then
	groupadd --system sluice && MADE_GROUP=1
fi
SGID=$(getent group sluice | cut -d: -f3)
NOGROUP=$(id -g nobody)

control_cleanup() {
	[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$DTMP" "$SLUICE_PIN_ROOT"
	[ -n "$MADE_GROUP" ] && groupdel sluice
}
trap control_cleanup EXIT
trap 'exit 130' INT TERM

sl() { timeout 20 "$SLUICE" "$@"; }
# as_reader CMD...: CMD as nobody, in group sluice (may connect: the read role).
as_reader() { setpriv --reuid nobody --regid "$NOGROUP" --groups "$SGID" -- "$@"; }
# raw LINE: send one request line, print the reply line.
jshow() { sl -j journal show --dir "$JDIR"; }

daemon_start() {
	"$SLUICED" --pin-root "$SLUICE_PIN_ROOT" --journal "$JDIR" --socket "$SOCK" \
		--metrics off "$@" >>"$LOG" 2>&1 &
	DPID=$!
	wait_alive "$DPID" ping_ok
}

if daemon_start; then
	tap_ok "sluiced starts with its own pin root and socket"
else
	tap_fail "sluiced starts" "$(tail -5 "$LOG")"
	finish
	exit 1
fi

# --- F1: config apply never makes the daemon open a client's path -----------
out=$(as_reader "$SLUICE" config apply /etc/shadow 2>&1)
st=$?
check "a non-root client's config apply /etc/shadow fails (status $st)" test "$st" -ne 0
check "... with its own read's permission error ($out)" grep -q "/etc/shadow: cannot open: Permission denied" <<<"$out"
check "... and quotes nothing of the file" test "$(grep -c 'root:' <<<"$out")" = 0
check "the daemon's log never quotes it" test "$(grep -c 'root:' "$LOG")" = 0
out=$(raw '{"argv":["config","apply","/etc/shadow"]}')
check "the old request form (a path for the daemon to open) is refused: $(jq -r .err <<<"$out")" \
	test "$(jq -r .rc <<<"$out")" = 2 -a "$(jq -r .err <<<"$out" | grep -c 'does not open files')" = 1
check "... without reading it" test "$(grep -c 'root:' <<<"$out")" = 0

cat >"$DTMP/conf.yaml" <<'YAML'
services:
  - address: 198.19.5.1
    port: 80
    mode: nat
    backends: [10.9.0.1, 10.9.0.2]
  - address: fd00:5c:5::1
    port: 443
    mode: nat
    backends: ["fd00:5c:6::1"]
YAML
chmod 600 "$DTMP/conf.yaml"
out=$(cd "$DTMP" && sl config apply conf.yaml 2>&1)
check "root applies a config (relative FILE) through the daemon ($(tail -n1 <<<"$out"))" \
	grep -q "applied $DTMP/conf.yaml: 5 commands" <<<"$out"
check "... IPv4 and IPv6 services are in the maps" \
	test "$(sl -j service show | jq '[.[] | select(.address == "198.19.5.1" or .address == "fd00:5c:5::1")] | length')" = 2
check "... journaled as a config record naming the file" \
	test "$(jshow | jq -r '[.[] | select(.type == "config")][-1].payload.path')" = "$DTMP/conf.yaml"
out=$(as_reader "$SLUICE" config apply "$DTMP/conf.yaml" 2>&1)
check "a mode-0600 config is not readable by another user ($out)" grep -q "Permission denied" <<<"$out"

out=$(sl config apply /dev/zero 2>&1)
check "config apply /dev/zero: not a regular file ($out)" grep -q "not a regular file" <<<"$out"
mkfifo "$DTMP/fifo"
out=$(sl config apply "$DTMP/fifo" 2>&1)
check "config apply of a FIFO: refused at once, not blocked ($out)" grep -q "not a regular file" <<<"$out"
truncate -s $((4 * 1024 * 1024 + 1)) "$DTMP/big.yaml"
out=$(sl config apply "$DTMP/big.yaml" 2>&1)
check "config apply of 4 MiB + 1 byte: too large ($out)" grep -q "larger than the 4 MiB" <<<"$out"
out=$(raw '{"op":"apply","name":"/x.yaml","size":4194305}')
check "an apply request announcing 4 MiB + 1 byte is refused ($(jq -r .err <<<"$out"))" \
	test "$(jq -r .rc <<<"$out")" = 2
check "the daemon still answers" ping_ok

# An apply's body, then a ping on the same connection: both are answered.
body=$(sed 's/10.9.0.2/10.9.0.3/' "$DTMP/conf.yaml")
n=$(printf '%s' "$body" | wc -c)
printf '{"op":"apply","name":"framed.yaml","size":%d}\n%s{"op":"ping"}\n' "$n" "$body" |
	timeout 10 ncat -U "$SOCK" 2>/dev/null | head -n2 >"$DTMP/replies"
check "an apply's body is framed: the apply ($(head -n1 "$DTMP/replies" | jq -c .out))" \
	test "$(head -n1 "$DTMP/replies" | jq -r .rc)" = 0
check "... and the request after it are answered" grep -q '"out":"sluiced' "$DTMP/replies"
check "... and the file's change is applied" \
	test "$(sl -j backend show 198.19.5.1 80 tcp | jq '[.[] | select(.address == "10.9.0.3")] | length')" = 1

# --- roles ------------------------------------------------------------------
jlen() { jshow | jq length; }
n0=$(jlen)
out=$(as_reader "$SLUICE" service add 198.19.5.9 80 tcp 2>&1)
st=$?
check "group sluice: a write command is refused (status $st): $out" \
	grep -q "permission denied: write commands need the admin role" <<<"$out"
check "... the maps are unchanged" \
	test "$(sl -j service show | jq '[.[] | select(.address == "198.19.5.9")] | length')" = 0
out=$(as_reader "$SLUICE" config apply /etc/hostname 2>&1)
check "group sluice: config apply is refused ($out)" grep -q "permission denied: config apply" <<<"$out"
out=$(printf '{"op":"compact"}\n' | as_reader timeout 5 ncat -U "$SOCK" 2>&1 | head -n1)
check "group sluice: journal compact is refused ($(jq -r .err <<<"$out"))" \
	test "$(jq -r .rc <<<"$out")" = 2 -a "$(jq -r .err <<<"$out" | grep -c 'permission denied')" = 1
check "... nothing refused was journaled ($n0 records before and after)" test "$(jlen)" = "$n0"
check "... each refusal is logged with the peer's uid" \
	test "$(grep -c "refused .* to uid $(id -u nobody) pid" "$LOG")" -ge 3
out=$(as_reader "$SLUICE" -j events 2>&1)
check "group sluice: events reads the journal's stream" \
	test "$(jq -s '[.[] | select(.type == "config")] | length' <<<"$out")" -ge 1
out=$(as_reader "$SLUICE" events 2>&1 | grep ' config ' | tail -n1)
check "... in its text too ($out)" grep -Eq '\[uid 0 pid [0-9]+\]$' <<<"$out"
out=$(as_reader "$SLUICE" -j events 2>&1)
check "... each record with its author's uid and pid" \
	test "$(jq -s '[.[] | select(.type == "config") | select(.uid == 0 and .pid > 0)] | length' <<<"$out")" -ge 1
sl service add 198.19.5.10 80 tcp >/dev/null
check "journal show: root's command carries uid 0 and the CLI's pid" \
	test "$(jshow | jq -c '[.[] | select(.type == "command")][-1] | [.uid, (.pid > 0 and .pid != '"$DPID"')]')" = "[0,true]"
out=$(sl journal show --dir "$JDIR" | tail -n1)
check "... in the text too ($out)" grep -Eq '\[uid 0 pid [0-9]+\]$' <<<"$out"

# A journal written before authors were kept (the fuzz corpus's: record 1 of
# the old format, 2-4 with authors) still reads, the old record without one.
mkdir -m 700 "$DTMP/oldj"
tail -c +2 "$(dirname "$0")/../fuzz/corpus/journal/authors" >"$DTMP/oldj/00000000000000000001.seg"
check "journal show -j of a journal with an old-format record: uid/pid null for it, set for the rest" \
	test "$(sl -j journal show --dir "$DTMP/oldj" | jq -c '[.[] | [.seq, .uid, .pid]]')" = \
	"[[1,null,null],[2,0,4242],[3,1000,4243],[4,0,1]]"
out=$(sl journal show --dir "$DTMP/oldj" | head -n1)
check "... and its text ($out)" grep -Eq 'service add 192.0.2.1 80 tcp$' <<<"$out"

kill -TERM "$DPID" && wait "$DPID"
DPID=
out=$("$SLUICED" --pin-root "$SLUICE_PIN_ROOT" --journal "$JDIR" --socket "$SOCK" --metrics off \
	--admin-group no-such-group-$$ 2>&1)
check "an admin group that does not exist stops the daemon at start" \
	grep -q "admin group no-such-group-$$ does not exist" <<<"$out"
ADMIN_GID=64999 # no such group needed: the peer's groups are what count
{
	printf 'daemon:\n  admin-group: %s\n' $ADMIN_GID
	cat "$DTMP/conf.yaml"
} >"$DTMP/admin.yaml"
if daemon_start --config "$DTMP/admin.yaml"; then
	tap_ok "sluiced restarts with the config's daemon.admin-group $ADMIN_GID"
else
	tap_fail "sluiced restarts with daemon.admin-group" "$(tail -5 "$LOG")"
fi
check "... and says who gets the admin role" grep -q "admin role goes to root and group $ADMIN_GID" "$LOG"
out=$(setpriv --reuid nobody --regid "$NOGROUP" --groups "$SGID,$ADMIN_GID" -- \
	"$SLUICE" service add 198.19.5.11 80 tcp 2>&1)
check "a member of the admin group runs a write command ($out)" grep -q "added service" <<<"$out"
check "... journaled with its uid ($(id -u nobody))" \
	test "$(jshow | jq '[.[] | select(.type == "command")][-1].uid')" = "$(id -u nobody)"
out=$(as_reader "$SLUICE" service add 198.19.5.12 80 tcp 2>&1)
check "group sluice alone still may not ($out)" grep -q "admin role (root or group $ADMIN_GID)" <<<"$out"

# --- F8: bounded buffers and subscribers -------------------------------------
FLOOD=$(realpath "$BUILD/tests/integration/ctlflood")
rss() { awk '/^VmRSS/ {print $2}' "/proc/$DPID/status"; }
# wait_ready FILE: the helper wrote "ready" there (at most 15 s).
wait_ready() {
	for _ in $(seq 150); do
		grep -q ready "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
r0=$(rss)
"$FLOOD" flood "$SOCK" 40 >"$DTMP/flood" &
FPID=$!
sleep 3
check "while a client pipelines pings without reading, another's ping is answered" ping_ok
out=$(sl service add 198.19.5.20 80 tcp 2>&1)
check "... and a write command runs ($out)" grep -q "added service" <<<"$out"
r1=$(rss)
wait $FPID
check "the daemon's memory stays bounded under the flood (RSS $r0 -> $r1 kB)" \
	test $((r1 - r0)) -lt 32768
check "the flooding client is cut off at its deadline ($(cat "$DTMP/flood"))" \
	test "$(jq '.cut and .cut_ms < 30000 and .sent < 16777216' "$DTMP/flood")" = true
check "the daemon still answers" ping_ok

# A stalled subscriber, a live one, and 40 commands with 50 kB records.
"$FLOOD" stall "$SOCK" 60 >"$DTMP/stall" &
STALL=$!
"$FLOOD" subs "$SOCK" 1 60 >"$DTMP/live" 2>"$DTMP/live.err" &
LIVE=$!
wait_ready "$DTMP/live.err"
sleep 0.5
backlog=$(jlen)
[ "$backlog" -gt 64 ] && backlog=64
big=$(head -c 50000 /dev/zero | tr '\0' x)
t0=$(date +%s%N)
answered=0
for _ in $(seq 40); do
	[ "$(raw "{\"argv\":[\"service\",\"add\",\"$big\"]}" | jq -r .rc)" = 1 ] && answered=$((answered + 1))
done
ms=$((($(date +%s%N) - t0) / 1000000))
check "40 commands with 50 kB records are answered beside a stalled subscriber ($answered in $ms ms)" \
	test "$answered" = 40 -a "$ms" -lt 30000
wait $STALL
check "the stalled subscriber is dropped ($(cat "$DTMP/stall"))" test "$(jq .dropped "$DTMP/stall")" = true
check "... and the log says so" grep -q "dropping a subscriber" "$LOG"
sleep 1
kill -TERM $LIVE && wait $LIVE
check "the live subscriber got every record: 80 after its backlog ($(cat "$DTMP/live"))" \
	test "$(jq .lines "$DTMP/live")" -ge $((backlog + 1 + 80))

"$FLOOD" subs "$SOCK" 64 60 >"$DTMP/subs" 2>"$DTMP/subs.err" &
SUBS=$!
wait_ready "$DTMP/subs.err"
check "64 idle subscribers: another client's ping is answered" ping_ok
out=$(sl service add 198.19.5.21 80 tcp 2>&1)
check "... and its write command runs ($out)" grep -q "added service" <<<"$out"
"$FLOOD" subs "$SOCK" 1 3 >"$DTMP/sub65" 2>/dev/null
check "... a 65th subscriber is refused ($(cat "$DTMP/sub65"))" test "$(jq .refused "$DTMP/sub65")" = 1
out=$(sl events 2>&1)
st=$?
check "... sluice events says so at once (status $st: $out)" \
	test "$st" -ne 0 -a "$(grep -c 'refused the subscription: too many subscribers' <<<"$out")" = 1
kill -TERM $SUBS && wait $SUBS
check "... the 64 were all subscribed ($(cat "$DTMP/subs"))" test "$(jq .subscribed "$DTMP/subs")" = 64

as_reader "$FLOOD" hold "$SOCK" 64 8 >"$DTMP/hold" 2>"$DTMP/hold.err" &
HOLD=$!
wait_ready "$DTMP/hold.err"
check "64 idle connections of a non-admin client: root's ping is answered" ping_ok
wait $HOLD
check "... the last 8 request slots were kept for the admin role ($(cat "$DTMP/hold"))" \
	test "$(jq -c '[.held, .refused]' "$DTMP/hold")" = "[56,8]"

finish
