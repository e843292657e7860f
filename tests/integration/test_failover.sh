#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Failover in the lab (issue 11): a client opening 2000 connections/s (one
# HTTP request each, tests/integration/connloop.c) through a nat service
# over 3 nginx backends, with failover at its defaults (retries 2,
# breaker-fast-trip 5) and no breaker watcher: only the data plane acts.
# Backend 2 dies three ways while the loop runs, each case from a fresh
# start (nginx running, breakers reset):
#  - SIGTERM to nginx (graceful stop: the listener closes, SYNs get a RST);
#  - SIGKILL of nginx's master and workers;
#  - silent: its link drops everything (nft, in the backend).
# Refused and timed-out connects must be 0 in the first two cases; in the
# third no connect may take longer than one SYN retransmission (1 s) plus
# a margin (2 s in all, while a second retransmission would come at 3 s).
# Connections the dying server had already taken (the handshake done, the
# request sent: connloop -R "accepted_lost") cannot be saved at L4: they
# are reported, not failed. IPv4 and IPv6.
# Bounded: the loops run 4 s with a 5 s timeout each; the lab is torn down
# on any exit. About a minute.
. "$(dirname "$0")/lib.sh"

require_env failover
require_helpers failover connloop
require_tools failover nginx nft jq
lab_up_steer_or_bail 3 "lab up: client, gateway with Sluice, 3 nginx backends"

TMP=$LAB_STATE/failover
mkdir -p "$TMP"
DEAD=2
SLOW_US=2000000 # a connection slower than this waited for a second SYN retransmission

# fresh VIP FAMILY: backend DEAD alive and reachable, every breaker closed.
fresh() {
	lab_be_heal $DEAD || return 1
	for i in 1 2 3; do
		sluice breaker reset "$1" 80 tcp "$(be "$2" $i)" >/dev/null || return 1
	done
}

# run_case FAMILY VIP HOW: the loop, backend DEAD dying 1.5 s in.
run_case() {
	fam=$1 vip=$2 how=$3 out=$TMP/loop.$1.$3
	if ! fresh "$vip" "$fam"; then
		tap_fail "failover $how IPv$fam: fresh start (nginx, breakers)"
		return
	fi
	bg_cli timeout 30 "$CONNLOOP" "$vip" 80 -d 4000 -i 500 -t 5000 -R >"$out" 2>&1
	loop=$!
	sleep 1.5
	lab_be_fail $DEAD "$how"
	wait $loop
	sum=$(tail -n1 "$out")
	refused=$(jq -r .refused <<<"$sum")
	timeout=$(jq -r .timeout <<<"$sum")
	errors=$(jq -r .error <<<"$sum")
	lost=$(jq -r .accepted_lost <<<"$sum")
	total=$(jq -r .total <<<"$sum")
	slow=$(awk -v s=$SLOW_US '$3 == "ok" && $2 - $1 > s' "$out" | wc -l)
	max_ms=$(awk '$3 == "ok" && $2 - $1 > m { m = $2 - $1 } END { print int(m / 1000) }' "$out")
	echo "# failover $how IPv$fam: $sum; slowest ok ${max_ms} ms"
	echo "# failover $how IPv$fam: $lost connections the dying server had accepted (not savable at L4)"
	check "failover $how IPv$fam: >= 2000 connections/s ran ($total in 4 s)" test "$total" -ge 7000
	if [ "$how" = silent ]; then
		check "failover silent IPv$fam: no connect waited past one SYN retransmission ($slow slower than $((SLOW_US / 1000)) ms, $timeout timed out, $refused refused)" \
			test "$slow" = 0 -a "$timeout" = 0 -a "$refused" = 0
	else
		check "failover $how IPv$fam: 0 refused, 0 timed out, 0 errors ($refused, $timeout, $errors)" \
			test "$refused" = 0 -a "$timeout" = 0 -a "$errors" = 0
	fi
}

VIP4=198.19.0.40
VIP6=fd00:5c:ff::40
ok=1
for fam in 4 6; do
	v=$VIP4
	[ $fam = 6 ] && v=$VIP6
	sluice service add $v 80 tcp mode nat >/dev/null || ok=0
	for i in 1 2 3; do
		sluice backend add $v 80 tcp "$(be $fam $i)" >/dev/null || ok=0
	done
done
check "services $VIP4, $VIP6: nat over backends 1-3" test $ok = 1

# The settings: shown when set, defaults again with their defaults' values.
sluice service set $VIP6 80 tcp retries 1 breaker-fast-trip 3 >/dev/null
sj=$(sluice -j service show $VIP6 80 tcp)
r=$(jq '[.. | objects | .retries? | values] | add' <<<"$sj")
k=$(jq '[.. | objects | .fast_trip? | values] | add' <<<"$sj")
check "service set retries 1 breaker-fast-trip 3: shown (retries $r, fast_trip $k)" \
	test "$r" = 1 -a "$k" = 3
check "service set retries 8: refused (0..7)" \
	sh -c "! $SLUICE service set $VIP6 80 tcp retries 8 2>/dev/null"
sluice service set $VIP6 80 tcp retries 2 breaker-fast-trip 5 >/dev/null

for fam in 4 6; do
	v=$VIP4
	[ $fam = 6 ] && v=$VIP6
	for how in term kill silent; do
		run_case $fam $v $how
	done
done
lab_be_heal $DEAD

# The counters: per service in `stats`, per backend in `backend show`.
# fo_sum JSON FIELD: FIELD summed over every object that has it.
fo_sum() { jq --arg f "$2" '[.. | objects | select(has($f)) | .[$f]] | add // 0' <<<"$1"; }
st=$(sluice -j stats)
bs=$(sluice -j backend show $VIP4 80 tcp)
echo "# failover counters: stats moved $(fo_sum "$st" moved), redispatched $(fo_sum "$st" redispatched)," \
	"retry_exhausted $(fo_sum "$st" retry_exhausted), fast_trips $(fo_sum "$st" fast_trips)"
check "stats: connections redispatched ($(fo_sum "$st" redispatched)) and breakers fast-tripped ($(fo_sum "$st" fast_trips))" \
	test "$(fo_sum "$st" redispatched)" -gt 0 -a "$(fo_sum "$st" fast_trips)" -gt 0
check "backend show $VIP4: redispatched per backend ($(fo_sum "$bs" redispatched))" \
	test "$(fo_sum "$bs" redispatched)" -gt 0
finish
