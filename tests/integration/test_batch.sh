#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Batch mode and group commit (issue 12): `sluice -b FILE` runs many
# commands, without a daemon (here, in order) and through one (one
# connection, pipelined; the daemon journals the requests that arrive
# together with one fdatasync and builds each changed Maglev table once).
#  - every line is parsed first: a line that does not parse is named
#    (FILE:LINE) and nothing runs;
#  - the first line that fails stops the batch: it is named, nothing after
#    it is applied (with a daemon: each skipped command has a FAILED record,
#    so a replay skips it too);
#  - the tables are complete after the batch (slots of every backend add up
#    to the table size);
#  - with a daemon, 1000 commands are journaled with far fewer fdatasyncs
#    than commands (strace counts them), every one applied and journaled;
#  - a read command in a batch runs in its turn, after the writes before it;
#  - stdin ("-"), and bad command lines around -b;
#  - the daemon's kept copy of the backends: ids freed in a group are reused
#    by the same group, by the next and after a restart; its tables equal
#    those built from a fresh read; pins removed under it are opened anew.
# No lab: a private pin root, a daemon with its own socket and journal.
. "$(dirname "$0")/lib.sh"

require_env batch
SLUICED=$(realpath "$BUILD/sluiced" 2>/dev/null)
require_tools batch jq ncat strace
DTMP=$(mktemp -d /tmp/sluice-batch-XXXXXX)
SOCK=$DTMP/sluiced.sock
JDIR=$DTMP/journal
LOG=$DTMP/sluiced.log
export SLUICE_SOCKET=$SOCK
DPID=
batch_cleanup() {
	[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$DTMP" "$SLUICE_PIN_ROOT" "$SLUICE_PIN_ROOT-2"
}
trap batch_cleanup EXIT
trap 'exit 130' INT TERM

sl() { timeout 60 "$SLUICE" "$@"; }
VIP=192.0.2.10
# slots ADDR: the Maglev slots of each backend of VIP:80, "addr=slots ..." sorted.
slots() { sl -j backend show $VIP 80 tcp | jq -r '[.[] | "\(.address)=\(.slots)"] | sort | join(" ")'; }
weight_of() { sl -j backend show $VIP 80 tcp | jq -r --arg a "$1" '.[] | select(.address == $a) | .weight'; }
reset_pins() { rm -rf "$SLUICE_PIN_ROOT"; }

# --- without a daemon ----------------------------------------------------------
cat >"$DTMP/ok.txt" <<EOF
# a service and three backends
service add $VIP 80 tcp mode nat maglev-size 1031

backend add $VIP 80 tcp 10.0.0.1
backend add $VIP 80 tcp "10.0.0.2" weight 2
backend add $VIP 80 tcp 10.0.0.3   # a comment after the words is a word: not here
EOF
sed -i 's/   # a comment.*//' "$DTMP/ok.txt"
out=$(sl -b "$DTMP/ok.txt" 2>&1)
rc=$?
check "local batch: 4 commands run (rc $rc)" test $rc = 0
s=$(slots)
total=$(tr ' ' '\n' <<<"$s" | awk -F= '{ t += $2 } END { print t }')
check "local batch: the table holds every backend once, at the end ($s)" \
	sh -c "[ '$total' = 1031 ] && ! echo '$s' | grep -q '=0'"

printf 'backend set %s 80 tcp 10.0.0.1 weight 5\nbackend set %s 80 tcp 10.9.9.9 weight 5\nbackend set %s 80 tcp 10.0.0.2 weight 7\n' \
	$VIP $VIP $VIP >"$DTMP/bad3.txt"
out=$(sl -b "$DTMP/bad3.txt" 2>&1)
rc=$?
check "local batch, line 2 fails: rc 1, line named ('$(tail -n1 <<<"$out")')" \
	sh -c "[ $rc = 1 ] && echo '$out' | grep -q 'bad3.txt:2: failed; the 1 command after it did not run'"
check "local batch, line 2 fails: line 1 applied, line 3 not (weights $(weight_of 10.0.0.1), $(weight_of 10.0.0.2))" \
	test "$(weight_of 10.0.0.1)" = 5 -a "$(weight_of 10.0.0.2)" = 2

printf 'backend set %s 80 tcp 10.0.0.1 weight 9\nbackend add %s 80 tcp not-an-address\n' $VIP $VIP >"$DTMP/parse.txt"
out=$(sl -b "$DTMP/parse.txt" 2>&1)
rc=$?
check "a line that does not parse: rc 1, named, nothing ran ('$out', weight $(weight_of 10.0.0.1))" \
	sh -c "[ $rc = 1 ] && echo '$out' | grep -q 'parse.txt:2: ' && [ '$(weight_of 10.0.0.1)' = 5 ]"
printf 'service add %s 81 tcp "unterminated\n' $VIP >"$DTMP/quote.txt"
out=$(sl -b "$DTMP/quote.txt" 2>&1)
check "an unterminated quote: named ('$out')" sh -c "echo '$out' | grep -q 'quote.txt:1: unterminated \"'"
cp "$DTMP/quote.txt" "$DTMP/we\"ird.txt"
out=$(sl -j -b "$DTMP/we\"ird.txt" 2>/dev/null)
check "-j: the error is JSON, the file's odd name quoted ('$out')" \
	$JQE --arg f "$DTMP/we\"ird.txt" '.error == "batch \($f) line 1 failed"' <<<"$out"
out=$(sl -b "$DTMP/ok.txt" service show 2>&1)
check "-b with a command beside it: refused ('$out')" \
	sh -c "echo '$out' | grep -q 'takes its commands from FILE'"
out=$(sl -b /nonexistent/file 2>&1)
check "-b of a missing file: a clear error ('$out')" sh -c "echo '$out' | grep -q 'cannot read the batch file'"
printf 'backend set %s 80 tcp 10.0.0.3 weight 4\n' $VIP | sl -b - >/dev/null
check "-b - reads stdin (weight $(weight_of 10.0.0.3))" test "$(weight_of 10.0.0.3)" = 4

# A line may name another pin root: its tables are built there, not in the first's.
R2=$SLUICE_PIN_ROOT-2
printf -- '--pin-root %s service add %s 80 tcp mode nat maglev-size 1031\n--pin-root %s backend add %s 80 tcp 10.0.0.7\nbackend set %s 80 tcp 10.0.0.3 weight 6\n' \
	"$R2" $VIP "$R2" $VIP $VIP >"$DTMP/roots.txt"
sl -b "$DTMP/roots.txt" >/dev/null 2>&1
rc=$?
s2=$(sl --pin-root "$R2" -j backend show $VIP 80 tcp | jq -r '.[0].slots')
rm -rf "$R2"
t1=$(slots)
sl --local backend set $VIP 80 tcp 10.0.0.3 weight 6 >/dev/null # republishes the same table
t2=$(slots)
check "local batch over two pin roots: each root's table built (second: $s2 of 1031; first: '$t1', rebuilt '$t2')" \
	test $rc = 0 -a "$s2" = 1031 -a "$(weight_of 10.0.0.3)" = 6 -a "$t1" = "$t2"

# --- through the daemon ----------------------------------------------------------
"$SLUICED" --pin-root "$SLUICE_PIN_ROOT" --journal "$JDIR" --socket "$SOCK" --metrics off \
	>>"$LOG" 2>&1 &
DPID=$!
if ! wait_alive "$DPID" ping_ok; then
	tap_fail "sluiced starts ($(tail -3 "$LOG"))"
	finish
	exit 1
fi
tap_ok "sluiced starts with its own pin root, journal and socket"

N=1000
seq 1 $N | awk -v v=$VIP '{ printf "backend set %s 80 tcp 10.0.0.1 weight %d\n", v, $1 % 97 + 1 }' \
	>"$DTMP/many.txt"
j0=$(sl -j journal show --dir "$JDIR" | jq length)
strace -f -e trace=fdatasync -c -o "$DTMP/strace" -p "$DPID" 2>/dev/null &
ST=$!
sleep 0.5
t0=$(date +%s%N)
sl -b "$DTMP/many.txt" >/dev/null
rc=$?
t1=$(date +%s%N)
kill -INT $ST 2>/dev/null
wait $ST 2>/dev/null
syncs=$(awk '$NF == "fdatasync" { print $4 }' "$DTMP/strace")
j1=$(sl -j journal show --dir "$JDIR" | jq length)
echo "# $N commands through the daemon in $(((t1 - t0) / 1000000)) ms, ${syncs:-?} fdatasyncs"
check "daemon batch: $N commands, rc $rc, the last weight applied ($(weight_of 10.0.0.1))" \
	test $rc = 0 -a "$(weight_of 10.0.0.1)" = $((N % 97 + 1))
check "daemon batch: every command journaled ($((j1 - j0)) records)" test $((j1 - j0)) = $N
check "daemon batch: group commit, ${syncs:-?} fdatasyncs for $N commands (< $((N / 10)))" \
	test "${syncs:-$N}" -lt $((N / 10))
check "daemon batch: the table is whole ($(slots))" \
	test "$(slots | tr ' ' '\n' | awk -F= '{ t += $2 } END { print t }')" = 1031

printf 'backend set %s 80 tcp 10.0.0.2 weight 11\nservice show %s 80 tcp\nbackend set %s 80 tcp 10.0.0.8 weight 5\nbackend set %s 80 tcp 10.0.0.2 weight 12\nbackend set %s 80 tcp 10.0.0.3 weight 12\n' \
	$VIP $VIP $VIP $VIP $VIP >"$DTMP/dbad.txt"
j0=$(sl -j journal show --dir "$JDIR" | jq length)
out=$(sl -b "$DTMP/dbad.txt" 2>&1)
rc=$?
jd=$(sl -j journal show --dir "$JDIR")
check "daemon batch, line 3 fails: rc 1, named ('$(tail -n1 <<<"$out")')" \
	sh -c "[ $rc = 1 ] && echo '$out' | grep -q 'dbad.txt:3: failed; the 2 commands after it were not applied'"
check "daemon batch: the read command ran in its turn, between the writes" \
	sh -c "echo '$out' | grep -q 'backends 3'"
check "daemon batch: line 1 applied, lines 4 and 5 not (weights $(weight_of 10.0.0.2), $(weight_of 10.0.0.3))" \
	test "$(weight_of 10.0.0.2)" = 11 -a "$(weight_of 10.0.0.3)" = 6
skipped=$(jq --argjson j0 "$j0" '[.[] | select(.seq > $j0 and .type == "failed" and (.payload.error | test("skipped")))] | length' <<<"$jd")
check "daemon batch: the skipped commands have FAILED records ($skipped), so a replay skips them" \
	test "$skipped" -ge 1
out=$(printf 'service show %s 80 tcp\n' $VIP | sl -b - 2>&1)
check "daemon batch of read commands only: they run here ('$(head -c 60 <<<"$out")')" \
	sh -c "echo '$out' | grep -q '$VIP port 80 tcp'"
# The daemon keeps the maps open between commands and one copy of the
# backends and subsets per group (issue 12): ids freed earlier in a group
# are seen by later commands of it, and the tables it publishes are those a
# fresh read of the maps builds.
W2=192.0.2.20
ids_of() { sl -j backend show $W2 80 tcp | jq -r '[.[].id] | sort | join(" ")'; }
wslots() { sl -j backend show $W2 80 tcp | jq -r '[.[] | "\(.address)=\(.slots)"] | sort | join(" ")'; }
state_of() { sl -j backend show $W2 80 tcp | jq -r --arg a "$1" '.[] | select(.address == $a) | "\(.state)/\(.weight)"'; }
{
	echo "service add $W2 80 tcp mode nat maglev-size 1031"
	for i in 1 2 3 4 5 6; do echo "backend add $W2 80 tcp 10.1.0.$i weight $i"; done
	echo "backend del $W2 80 tcp 10.1.0.2"
	echo "backend drain $W2 80 tcp 10.1.0.3"
	echo "backend add $W2 80 tcp 10.1.0.7"
	echo "backend set $W2 80 tcp 10.1.0.4 weight 9"
	echo "backend del $W2 80 tcp 10.1.0.5"
	echo "backend add $W2 80 tcp 10.1.0.5 weight 3"
} >"$DTMP/mixed.txt"
sl -b "$DTMP/mixed.txt" >/dev/null 2>&1
rc=$?
ids=$(ids_of)
check "daemon batch of adds, dels, drain, set: rc $rc, freed ids reused within the group ($ids)" \
	sh -c "[ $rc = 0 ] && [ \"\$(echo $ids | wc -w)\" = 6 ] && [ \$(( \$(echo $ids | awk '{ print \$NF - \$1 }') )) = 5 ]"
check "daemon batch: drain and weight applied ($(state_of 10.1.0.3), $(state_of 10.1.0.4), $(state_of 10.1.0.5))" \
	test "$(state_of 10.1.0.3)" = draining/3 -a "$(state_of 10.1.0.4)" = active/9 -a "$(state_of 10.1.0.5)" = active/3
t1=$(wslots)
sl --local backend set $W2 80 tcp 10.1.0.4 weight 9 >/dev/null # republished from a fresh read
t2=$(wslots)
check "daemon batch: its table is the one the maps give ('$t1' = '$t2')" \
	sh -c "[ '$t1' = '$t2' ] && [ \"\$(echo '$t1' | tr ' ' '\n' | awk -F= '{ t += \$2 } END { print t }')\" = 1031 ]"
old7=$(sl -j backend show $W2 80 tcp | jq -r '.[] | select(.address == "10.1.0.7") | .id')
printf 'backend del %s 80 tcp 10.1.0.7\nbackend add %s 80 tcp 10.1.0.8\n' $W2 $W2 | sl -b - >/dev/null 2>&1
new8=$(sl -j backend show $W2 80 tcp | jq -r '.[] | select(.address == "10.1.0.8") | .id')
check "next group: the id freed by the last one is taken again ($old7 -> $new8)" \
	test -n "$old7" -a "$old7" = "$new8"

# Restarted, the daemon reads the maps afresh.
kill -TERM "$DPID"
wait "$DPID" 2>/dev/null
"$SLUICED" --pin-root "$SLUICE_PIN_ROOT" --journal "$JDIR" --socket "$SOCK" --metrics off \
	>>"$LOG" 2>&1 &
DPID=$!
wait_alive "$DPID" ping_ok
printf 'backend del %s 80 tcp 10.1.0.8\nbackend add %s 80 tcp 10.1.0.9 weight 2\n' $W2 $W2 | sl -b - >/dev/null 2>&1
new9=$(sl -j backend show $W2 80 tcp | jq -r '.[] | select(.address == "10.1.0.9") | .id')
t1=$(wslots)
sl --local backend set $W2 80 tcp 10.1.0.9 weight 2 >/dev/null
t2=$(wslots)
check "after a restart: the freed id taken again ($new8 -> $new9), the table the maps give" \
	test -n "$new9" -a "$new8" = "$new9" -a "$t1" = "$t2"

# Pins removed under the running daemon: its next command opens them anew
# (here: creates them), it does not write into the unpinned maps.
rm -rf "$SLUICE_PIN_ROOT"
sl service add $W2 80 tcp mode nat maglev-size 1031 >/dev/null 2>&1
sl backend add $W2 80 tcp 10.2.0.1 >/dev/null 2>&1
out=$(sl -j backend show $W2 80 tcp 2>&1 | jq -r '[.[].address] | join(" ")' 2>&1)
check "pins removed under the daemon: its next commands write the new pins ('$out')" \
	test "$out" = 10.2.0.1
check "sluiced is still running" kill -0 "$DPID"
finish
