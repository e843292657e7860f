#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Steering through the gateway, with real clients (curl, tests/integration/
# conns.c) and real servers (nginx in each backend namespace), for each mode
# (nat, ipip) and family (IPv4, IPv6):
#  - curl through the service address reaches every backend;
#  - 1000 connections from 4 client addresses and 1000 source ports spread
#    within +-15 % of equal over 3 backends;
#  - long-lived connections (1 MiB downloads at 100 KiB/s) survive a backend
#    being added;
#  - a drained backend takes no new connection while its download finishes;
#  - removing a backend moves only its own flows: downloads on the other
#    backends complete, the same 5-tuples replayed land where they did unless
#    they were on the removed backend, and new connections never reach it.
# Bounded: every client has a timeout; the lab is torn down on any exit.
. "$(dirname "$0")/lib.sh"

require_env steer
require_helpers steer conns
require_tools steer nginx curl
[ -f "$BUILD/bpf/decap.bpf.o" ] ||
	bail "steer: $BUILD/bpf/decap.bpf.o is missing (the backends' XDP program)"
lab_up_steer_or_bail 4 "lab up: client, gateway with Sluice on g0 gb1..gb4, 4 nginx backends"

TMP=$LAB_STATE/steer
mkdir -p "$TMP"
SPREAD_N=1000
SPREAD_PCT=15
SRC4=$(tr ' ' ',' <<<"$CLIENTS4")
SRC6=$(tr ' ' ',' <<<"$CLIENTS6")

url() { case "$1" in *:*) echo "http://[$1]$2" ;; *) echo "http://$1$2" ;; esac }
# count_of JSON NAME: how many connections NAME got in a conns summary.
count_of() { jq -r --arg n "$2" '.[$n] // 0' <<<"$1"; }
# new_flows VIP I FAMILY: backend I's new_flows counter in that service.
new_flows() {
	sluice -j backend show "$1" 80 tcp | jq -r --arg a "$(be "$3" "$2")" \
		'[.[] | select(.address == $a) | .new_flows] | add // 0'
}

# slow_start NAME VIP PORT: a long-lived download from source port PORT in
# the background; its output goes to $TMP/NAME, its pid to $TMP/NAME.pid.
slow_start() {
	in_cli curl -s -m 30 --local-port "$3" -o "$TMP/$1" "$(url "$2" /slow)" &
	echo $! >"$TMP/$1.pid"
}
# slow_backend NAME: which backend serves download NAME (first line of its body).
slow_backend() {
	for _ in $(seq 30); do
		b=$(head -n1 "$TMP/$1" 2>/dev/null)
		[ -n "$b" ] && [ "$b" != "${b#backend-}" ] && {
			echo "${b#backend-}"
			return
		}
		sleep 0.1
	done
	echo 0
}
slow_running() { kill -0 "$(cat "$TMP/$1.pid")" 2>/dev/null; }
# slow_ok NAME I: download NAME finished (curl status 0) with backend I's
# whole file, byte for byte.
slow_ok() {
	wait "$(cat "$TMP/$1.pid")" || {
		echo "curl failed (status $?), got $(stat -c %s "$TMP/$1") bytes" >&2
		return 1
	}
	cmp "$TMP/$1" "$LAB_STATE/b$2/www/big" >&2
}

# scenario MODE FAMILY VIP PORTBASE: every check on one service.
scenario() {
	mode=$1
	fam=$2
	vip=$3
	pb=$4
	tag="$mode/IPv$fam"
	if [ "$fam" = 4 ]; then src=$SRC4; else src=$SRC6; fi

	# --- curl reaches every backend -----------------------------------------
	seen=""
	for p in $(seq "$pb" $((pb + 29))); do
		seen="$seen $(in_cli curl -s -m 3 --local-port "$p" "$(url "$vip" /)")"
	done
	distinct=$(tr ' ' '\n' <<<"$seen" | grep -c '^backend-[123]$' | tr -d ' ')
	names=$(tr ' ' '\n' <<<"$seen" | grep . | sort | uniq -c | tr '\n' ' ')
	check "$tag: 30 curls through $vip reach backends 1, 2 and 3 ($names)" \
		test "$(tr ' ' '\n' <<<"$seen" | grep '^backend-[123]$' | sort -u | wc -l)" -eq 3 -a "$distinct" -eq 30

	# --- 1000 connections spread within 15 % --------------------------------
	out=$(in_cli timeout 60 "$CONNS" "$vip" 80 $SPREAD_N -s "$src" -p $((pb + 100)))
	exp=$((SPREAD_N / 3))
	ok=1
	for i in 1 2 3; do
		within $SPREAD_PCT "$(count_of "$out" backend-$i)" $exp || ok=0
	done
	check "$tag: $SPREAD_N connections spread within ${SPREAD_PCT}% of $exp each: $out" \
		test $ok = 1 -a "$(count_of "$out" failed)" = 0

	# --- long-lived downloads, one per backend ------------------------------
	# Fixed source ports, so the 5-tuples (and the backends they hash to)
	# repeat from run to run; start downloads until backends 1-3 have one.
	declare -A dl=()
	p=$((pb + 1200))
	while [ ${#dl[@]} -lt 3 ] && [ $p -lt $((pb + 1216)) ]; do
		slow_start "dl$p" "$vip" $p
		b=$(slow_backend "dl$p")
		if [ "$b" -ge 1 ] && [ -z "${dl[$b]:-}" ]; then
			dl[$b]=dl$p
		else
			kill "$(cat "$TMP/dl$p.pid")" 2>/dev/null
		fi
		p=$((p + 1))
	done
	if [ ${#dl[@]} -lt 3 ]; then
		tap_fail "$tag: long-lived downloads on each of backends 1-3" "got ${!dl[*]}"
		return
	fi
	# backend 1 will be drained, backend 2 removed, backend 3 is the bystander.

	# --- a backend is added ---------------------------------------------------
	check "$tag: add backend 4 while downloads run" sluice backend add "$vip" 80 tcp "$(be "$fam" 4)"
	out=$(in_cli timeout 60 "$CONNS" "$vip" 80 300 -s "$src" -p $((pb + 1300)))
	check "$tag: new connections reach the added backend 4: $out" test "$(count_of "$out" backend-4)" -gt 0

	# --- drain backend 1 ------------------------------------------------------
	check "$tag: drain backend 1" sluice backend drain "$vip" 80 tcp "$(be "$fam" 1)"
	nf0=$(new_flows "$vip" 1 "$fam")
	out=$(in_cli timeout 60 "$CONNS" "$vip" 80 300 -s "$src" -p $((pb + 1700)) -e)
	sum=$(tail -n1 <<<"$out")
	nf1=$(new_flows "$vip" 1 "$fam")
	check "$tag: no new connection reaches drained backend 1: $sum" \
		test "$(count_of "$sum" backend-1)" = 0 -a "$(count_of "$sum" failed)" = 0
	check "$tag: drained backend 1 new_flows unchanged ($nf0 -> $nf1)" test "$nf0" = "$nf1"
	check "$tag: drained backend 1's download still running" slow_running "${dl[1]}"

	# --- remove backend 2 -----------------------------------------------------
	check "$tag: downloads on backends 2, 3 still running before the removal" \
		sh -c "kill -0 $(cat "$TMP/${dl[2]}.pid") && kill -0 $(cat "$TMP/${dl[3]}.pid")"
	head -n -1 <<<"$out" >"$TMP/before"
	check "$tag: remove backend 2" sluice backend del "$vip" 80 tcp "$(be "$fam" 2)"
	# Replay the very same 5-tuples: only those that were on backend 2 move
	# (to backends 3 or 4: 1 is draining), the others stay where they were.
	out=$(in_cli timeout 60 "$CONNS" "$vip" 80 300 -s "$src" -p $((pb + 1700)) -e)
	head -n -1 <<<"$out" >"$TMP/after"
	moved=$(paste -d' ' "$TMP/before" "$TMP/after" |
		awk '$3 != "backend-2" && $6 != $3 { bad++ }
		     $3 == "backend-2" && ($6 == "backend-2" || $6 == "backend-1") { bad++ }
		     $3 == "backend-2" { moved++ } $6 == "-" { bad++ }
		     END { print moved + 0, bad + 0 }')
	check "$tag: replayed 5-tuples: only backend 2's moved (moved, wrong: $moved)" \
		test "${moved#* }" = 0 -a "${moved% *}" -gt 0
	out=$(in_cli timeout 60 "$CONNS" "$vip" 80 300 -s "$src" -p $((pb + 2100)))
	check "$tag: new connections never reach removed backend 2: $out" \
		test "$(count_of "$out" backend-2)" = 0 -a "$(count_of "$out" failed)" = 0 -a \
		"$(count_of "$out" backend-1)" = 0

	# --- the downloads finish ---------------------------------------------
	check "$tag: download on backend 3 survived the add and the removal (1 MiB intact)" \
		slow_ok "${dl[3]}" 3
	check "$tag: download on drained backend 1 finished (1 MiB intact)" slow_ok "${dl[1]}" 1
	kill "$(cat "$TMP/${dl[2]}.pid")" 2>/dev/null
	wait 2>/dev/null
}

# Four services: nat and ipip, IPv4 and IPv6, each on backends 1-3.
setup_ok=1
for spec in "198.19.0.1 nat 4" "fd00:5c:ff::1 nat 6" "198.19.0.2 ipip 4" "fd00:5c:ff::2 ipip 6"; do
	read -r vip mode fam <<<"$spec"
	sluice service add "$vip" 80 tcp mode "$mode" >/dev/null || setup_ok=0
	for i in 1 2 3; do
		sluice backend add "$vip" 80 tcp "$(be "$fam" "$i")" >/dev/null || setup_ok=0
	done
done
check "4 services (nat, ipip x IPv4, IPv6) with backends 1-3 each" test $setup_ok = 1
shown=$(sluice -j backend show | jq length)
check "backend show lists 12 backends ($shown)" test "$shown" = 12

scenario nat 4 198.19.0.1 20000
scenario nat 6 fd00:5c:ff::1 23000
scenario ipip 4 198.19.0.2 26000
scenario ipip 6 fd00:5c:ff::2 29000

# The fast path was used: forwarded counted, nothing unresolved or too big.
st=$(sluice -j stats)
fwd=$(jq '.global.forwarded.packets' <<<"$st")
rev=$(jq '.global.rev_nat.packets' <<<"$st")
bad=$(jq '[.global.fwd_stack.packets, .global.too_big.packets, .global.encap_fail.packets] | add' <<<"$st")
check "stats: forwarded $fwd, rev_nat $rev packets" test "$fwd" -gt 0 -a "$rev" -gt 0
check "stats: no fwd_stack, too_big or encap_fail ($bad)" test "$bad" = 0
finish
