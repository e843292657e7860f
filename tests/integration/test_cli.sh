#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The CLI against real pinned maps: every wrong argument exits non-zero with
# a message and changes nothing; -j everywhere gives JSON (errors too); help
# exists for every object; IPv4 and IPv6 services round-trip through show;
# config apply without a daemon publishes every table it changed, also when
# a later command fails.
. "$(dirname "$0")/lib.sh"
not() { ! "$@"; }

require_env cli
lab_up_test || { tap_fail "lab setup"; finish; exit 1; }

# Everything a refused command must leave alone.
state() {
	sluice -j service show
	sluice -j backend show 2>&1
	sluice -j leader show 2>&1
	sluice -j shard show 2>&1
	sluice -j gateway show 2>&1
}
services() { sluice -j service show; }

out=$(sluice stats 2>&1)
check "stats with nothing pinned fails" test $? -ne 0
check "... and says what to do: '$out'" grep -qi "no sluice maps" <<<"$out"

check "add IPv4 TCP service" sluice service add $HOST4 80 tcp rate 10k burst 200 client-rate 100
check "add IPv6 UDP service" sluice service add $HOST6 53 udp mode local
svcs=$(services)
check "show lists both" test "$(jq length <<<"$svcs")" -eq 2
check "IPv4 service fields round-trip" $JQE --arg a $HOST4 \
	'.[] | select(.address == $a and .port == 80 and .proto == "tcp" and .mode == "local" and .rate_pps == 10000 and .burst == 200 and .client_rate_pps == 100)' <<<"$svcs"
check "IPv6 service shown in IPv6 form" $JQE --arg a $HOST6 '.[] | select(.address == $a and .port == 53)' <<<"$svcs"

# Steering objects: a nat service with one backend, a shard, the gateway.
VIP=198.19.0.1
check "add a nat service" sluice service add $VIP 80 tcp mode nat
check "nat service shown with mode nat" sh -c "$SLUICE -j service show | $JQE '.[] | select(.mode == \"nat\" and .port == 80)' >/dev/null"
check "add an ipip IPv6 service" sluice service add fd00:5c:ff::1 443 tcp mode ipip hash client
check "backend add (default port and weight)" sluice backend add $VIP 80 tcp 198.18.1.2
check "backend add with port and weight" sluice backend add $VIP 80 tcp 198.18.2.2 port 8080 weight 3
check "backend add IPv6" sluice backend add fd00:5c:ff::1 443 tcp fd00:5c:1::2
bes=$(sluice -j backend show $VIP 80 tcp)
check "backend show: 198.18.1.2 port 80 weight 1 active" $JQE \
	'.[] | select(.address == "198.18.1.2" and .port == 80 and .weight == 1 and .state == "active")' <<<"$bes"
check "backend show: 198.18.2.2 port 8080 weight 3" $JQE \
	'.[] | select(.address == "198.18.2.2" and .port == 8080 and .weight == 3)' <<<"$bes"
check "backend show: slots add up to the table size" $JQE '(map(.slots) | add) > 0' <<<"$bes"
check "backend set weight" sluice backend set $VIP 80 tcp 198.18.2.2 port 8080 weight 2
check "backend drain" sluice backend drain $VIP 80 tcp 198.18.1.2
check "drained backend shown as draining" sh -c "$SLUICE -j backend show $VIP 80 tcp | $JQE '.[] | select(.address == \"198.18.1.2\" and .state != \"active\")' >/dev/null"
check "backend activate" sluice backend activate $VIP 80 tcp 198.18.1.2
check "shard add (prefix to a backend)" sluice shard add $VIP 80 tcp 198.18.0.0/29 backend 198.18.1.2
check "shard show lists it" sh -c "$SLUICE -j shard show | $JQE 'length == 1' >/dev/null"
check "gateway set" sluice gateway set encap-source4 198.18.0.1 encap-source6 fd00:5c::1 udp-timeout 60
check "gateway show has the encap source" sh -c "$SLUICE -j gateway show | $JQE 'tostring | contains(\"198.18.0.1\")' >/dev/null"
check "mode change refused while backends exist" not sluice service set $VIP 80 tcp mode local

# CQRS: a write port and its leader; a service routed to its leader.
WV=198.19.0.2
check "add a CQRS service (write-port)" sluice service add $WV 5432 tcp mode nat write-port 5433
for be in "198.18.1.5" "198.18.1.6" "198.18.1.6 port 6000"; do
	# shellcheck disable=SC2086
	check "backend add $be" sluice backend add $WV 5432 tcp $be
done
check "service show: write_port 5433, route maglev" sh -c "$SLUICE -j service show $WV 5432 tcp | $JQE '.[0] | .write_port == 5433 and .route == \"maglev\"' >/dev/null"
check "the write port is not listed as a service" test "$(services | jq "[.[] | select(.address == \"$WV\")] | length")" -eq 1
check "leader show: none yet" sh -c "$SLUICE -j leader show | $JQE '.[] | select(.port == 5432) | .leader == \"none\" and .write_port == 5433 and .source == \"none\"' >/dev/null"
out=$(sluice leader set $WV 5432 tcp 198.18.1.5:5432)
check "leader set ADDR:PORT says what changed: '$out'" grep -q "leader 198.18.1.5:5432 source operator .*(was none)" <<<"$out"
j=$(sluice -j leader set $WV 5432 tcp 198.18.1.5 source election)
check "-j leader set again: unchanged, source election" $JQE \
	'.leader == "198.18.1.5:5432" and .leader_port == 5432 and .source == "election" and .changed == 0 and .previous == "198.18.1.5:5432" and (.since | test("Z$"))' <<<"$j"
check "the leader has no read slots, the replicas all" sh -c "$SLUICE -j backend show $WV 5432 tcp | $JQE '(map(select(.address == \"198.18.1.5\")) | .[0].slots == 0) and (map(select(.address != \"198.18.1.5\")) | all(.slots > 0))' >/dev/null"
j=$(sluice -j leader set $WV 5432 tcp 198.18.1.6 port 6000)
check "leader set ADDR port PORT (JSON)" $JQE '.leader == "198.18.1.6:6000" and .previous == "198.18.1.5:5432" and .changed == 1 and .source == "operator"' <<<"$j"
check "backend show marks the leader" sh -c "$SLUICE -j backend show $WV 5432 tcp | $JQE 'map(select(.leader == 1)) | length == 1 and .[0].address == \"198.18.1.6\" and .[0].port == 6000' >/dev/null"
check "leader show text" sh -c "$SLUICE leader show $WV 5432 tcp | grep -q 'service $WV 5432 tcp write-port 5433 route maglev leader 198.18.1.6:6000 source operator since '"
check "add a service routed to its leader" sluice service add $WV 6379 tcp mode nat route leader
check "route leader shown" sh -c "$SLUICE -j service show $WV 6379 tcp | $JQE '.[0] | .route == \"leader\" and .write_port == 0' >/dev/null"
check "backend of the route-leader service" sluice backend add $WV 6379 tcp 198.18.1.7
check "leader set on it (ADDR alone)" sluice leader set $WV 6379 tcp 198.18.1.7
check "IPv6 write port on the ipip service" sluice service set fd00:5c:ff::1 443 tcp write-port 444
check "leader set [V6]:PORT" sh -c "$SLUICE -j leader set fd00:5c:ff::1 443 tcp '[fd00:5c:1::2]:443' | $JQE '.leader == \"[fd00:5c:1::2]:443\"' >/dev/null"
check "-j leader show lists the three" test "$(sluice -j leader show | jq length)" -eq 3
before=$(state)

# Each line: arguments that must be refused.
bad_cases=(
	"service add 198.18.0.300 80 tcp"
	"service add 198.18.0.1 0 tcp"
	"service add 198.18.0.1 70000 tcp"
	"service add 198.18.0.1 80x tcp"
	"service add 198.18.0.1 -1 tcp"
	"service add 198.18.0.1 81 sctp"
	"service add 198.18.0.1 81 tcp mode teleport"
	"service add 198.18.0.1 81 tcp rate"
	"service add 198.18.0.1 81 tcp rate fast"
	"service add 198.18.0.1 81 tcp rate 5000000000"
	"service add 198.18.0.1 81 tcp burst 10"
	"service add 198.18.0.1 81 tcp rate 10 rate 20"
	"service add 198.18.0.1 81 tcp colour blue"
	"service add 198.18.0.1 81"
	"service add fd00:5c::zz 81 udp"
	"service add $HOST4 80 tcp"
	"service set 198.18.0.9 80 tcp rate 5"
	"service set $HOST4 80 tcp rate -5"
	"service del 198.18.0.9 80 tcp"
	"service frobnicate"
	"nosuchobject show"
	"iface attach"
	"backend add $VIP 80 tcp"
	"backend add $VIP 80 tcp 198.18.1.300"
	"backend add $VIP 80 tcp fd00:5c:1::2"
	"backend add $VIP 80 tcp 198.18.3.2 port 0"
	"backend add $VIP 80 tcp 198.18.3.2 port 70000"
	"backend add $VIP 80 tcp 198.18.3.2 weight x"
	"backend add $VIP 80 tcp 198.18.3.2 weight -1"
	"backend add $VIP 80 tcp 198.18.3.2 colour blue"
	"backend add $VIP 80 tcp 198.18.1.2"
	"backend add 198.19.0.9 80 tcp 198.18.3.2"
	"backend set $VIP 80 tcp 198.18.1.2"
	"backend del $VIP 80 tcp 198.18.9.9"
	"backend drain $VIP 80 tcp 198.18.9.9"
	"backend frobnicate"
	"shard add $VIP 80 tcp 198.18.0.0/33 backend 198.18.1.2"
	"shard add $VIP 80 tcp 198.18.8.0/24"
	"shard add $VIP 80 tcp 198.18.8.0/24 backend 198.18.9.9"
	"shard add $VIP 80 tcp 198.18.8.0/24 teleport 198.18.1.2"
	"shard add $VIP 80 tcp 198.18.8.0/24 subset"
	"shard del $VIP 80 tcp 198.18.8.0/24"
	"gateway set encap-source4 fd00:5c::1"
	"gateway set encap-source4 198.18.0"
	"gateway set udp-timeout -1"
	"gateway set udp-timeout soon"
	"gateway set colour blue"
	"lab up backends 0"
	"lab frobnicate"
	"service add $WV 5433 tcp"
	"service add 198.19.0.9 80 tcp write-port 81"
	"service add 198.19.0.9 80 tcp mode nat write-port 80"
	"service add 198.19.0.9 80 tcp mode nat write-port 0"
	"service add 198.19.0.9 80 tcp mode nat write-port 81 route leader"
	"service add 198.19.0.9 80 tcp mode nat route sideways"
	"service add $WV 80 tcp mode nat write-port 6379"
	"service add $WV 6380 tcp mode nat write-port 5433"
	"service set $WV 5432 tcp write-port 5432"
	"service set $WV 5432 tcp write-port 6379"
	"service set $WV 5432 tcp route leader"
	"service set $WV 5432 tcp mode local"
	"service set $WV 5433 tcp rate 5"
	"service set $HOST4 80 tcp write-port 81"
	"service set $HOST4 80 tcp route leader"
	"service del $WV 5433 tcp"
	"backend add $WV 5433 tcp 198.18.1.8"
	"leader set $VIP 80 tcp 198.18.1.2"
	"leader set $WV 5433 tcp 198.18.1.5"
	"leader set $WV 5432 tcp 198.18.1.6"
	"leader set $WV 5432 tcp 198.18.9.9"
	"leader set $WV 5432 tcp 198.18.1.7"
	"leader set $WV 5432 tcp 198.18.1.5:0"
	"leader set $WV 5432 tcp 198.18.1.5:99999"
	"leader set $WV 5432 tcp 198.18.1.5:5432 port 5432"
	"leader set $WV 5432 tcp [198.18.1.5]:5432"
	"leader set $WV 5432 tcp db1:5432"
	"leader set $WV 5432 tcp none port 5432"
	"leader set $WV 5432 tcp 198.18.1.5 source god"
	"leader set $WV 5432 tcp 198.18.1.5 source"
	"leader set $WV 5432 tcp 198.18.1.5 colour blue"
	"leader set $WV 5432 tcp"
	"leader set $WV 5432"
	"leader show $VIP 80 tcp"
	"leader show $WV 5433 tcp"
	"leader frobnicate"
)
for args in "${bad_cases[@]}"; do
	# shellcheck disable=SC2086
	msg=$(sluice $args 2>&1 >/dev/null)
	rc=$?
	now=$(state)
	if [ $rc -ne 0 ] && [ -n "$msg" ] && [ "$now" = "$before" ]; then
		tap_ok "refused with a message, nothing changed: sluice $args"
	else
		tap_fail "sluice $args" "rc=$rc message='$msg'" \
			"state change: $(diff <(echo "$before") <(echo "$now") | tr '\n' ' ')"
	fi
	# shellcheck disable=SC2086
	jmsg=$(sluice -j $args 2>/dev/null)
	if $JQE '.error | length > 0' <<<"$jmsg" >/dev/null 2>&1; then
		tap_ok "-j error is JSON: sluice -j $args"
	else
		tap_fail "-j error is JSON: sluice -j $args" "got '$jmsg'"
	fi
done

# The leader's backend goes: the leader is cleared, its source kept.
check "backend del of the leader" sluice backend del $WV 5432 tcp 198.18.1.6 port 6000
check "leader now none, source kept" sh -c "$SLUICE -j leader show $WV 5432 tcp | $JQE '.[0] | .leader == \"none\" and .source == \"operator\"' >/dev/null"
check "leader set none" sluice leader set $WV 5432 tcp none
check "write-port none" sluice service set $WV 5432 tcp write-port none
check "no longer follows a leader" test "$(sluice -j leader show | jq "[.[] | select(.port == 5432)] | length")" -eq 0
check "write port moved back, then the service deleted" sluice service set $WV 5432 tcp write-port 5434
check "service del removes both keys" sluice service del $WV 5432 tcp
check "... the write port is free again" sluice service add $WV 5434 tcp
for k in "$WV 5434 tcp" "$WV 6379 tcp"; do
	# shellcheck disable=SC2086
	check "service del $k" sluice service del $k
done
check "ipip write port removed" sluice service set fd00:5c:ff::1 443 tcp write-port none

check "set changes the rate, keeps the id" sluice service set $HOST4 80 tcp rate 500
id_before=$(jq -r --arg a $HOST4 '.[] | select(.address == $a) | .id' <<<"$svcs")
id_after=$(services | jq -r --arg a $HOST4 '.[] | select(.address == $a) | .id')
check "id kept across set ($id_before)" test "$id_before" = "$id_after"
check "new rate shown" sh -c "$SLUICE -j service show | $JQE '.[] | select(.rate_pps == 500)' >/dev/null"
check "rate 0 means unlimited" sluice service set $HOST4 80 tcp rate 0
check "unlimited shown as rate 0" sh -c "$SLUICE -j service show | $JQE '.[] | select(.port == 80 and .rate_pps == 0)' >/dev/null"
check "del" sluice service del $HOST6 53 udp
check "backend del" sluice backend del $VIP 80 tcp 198.18.2.2 port 8080
check "one backend left" test "$(sluice -j backend show $VIP 80 tcp | jq length)" -eq 1
check "shard del" sluice shard del $VIP 80 tcp 198.18.0.0/29
check "service del with backends" sluice service del $VIP 80 tcp
check "its backends are gone" test "$(sluice -j backend show | jq '[.[] | select(.service_address == "'$VIP'")] | length')" -eq 0
check "two services left" test "$(services | jq length)" -eq 2

# --- config apply without a daemon: the Maglev tables built once, after the
# last command; a command that fails leaves the ones before it applied,
# their tables published (IPv4 and IPv6).
mkdir -p "$LAB_STATE"
CF=$LAB_STATE/cli-config.yaml
conf() {
	cat <<EOC
services:
  - {address: 198.18.7.1, port: 80, mode: nat, maglev-size: 251, backends: [198.18.8.1, $1]}
  - {address: fd00:7::1, port: 443, mode: nat, maglev-size: 251, backends: [fd00:8::1, fd00:8::2]}
EOC
	[ -z "${2:-}" ] || printf 'hosts:\n  - cgroup: %s\n' "$2"
}
slots() { sluice -j backend show "$1" "$2" tcp | jq -c '[.[] | [.address, .slots]] | sort'; }
conf 198.18.8.2 /sys/fs/cgroup/sluice-no-such-group-$LAB_ID >"$CF"
out=$(sluice config apply "$CF" 2>&1)
check "config apply with a failing last command fails" test $? -ne 0
check "... naming it and what was applied ($out)" grep -q "failed: sluice host attach .*before it are applied)" <<<"$out"
check "... the IPv4 service's table holds both backends (251 slots)" \
	$JQE 'length == 2 and all(.[1] > 0) and (map(.[1]) | add) == 251' <<<"$(slots 198.18.7.1 80)"
check "... and the IPv6 service's" \
	$JQE 'length == 2 and all(.[1] > 0) and (map(.[1]) | add) == 251' <<<"$(slots fd00:7::1 443)"
conf 198.18.8.3 >"$CF"
out=$(sluice config apply "$CF" 2>&1)
check "config apply: a backend replaced" grep -q "^applied 2 commands" <<<"$out"
s4=$(slots 198.18.7.1 80)
# A backend gone from the file is drained (its flows stay), never deleted.
check "... the table has the new backend and not the drained one ($s4)" \
	$JQE '. == [["198.18.8.1", .[0][1]], ["198.18.8.2", 0], ["198.18.8.3", .[2][1]]] and .[0][1] > 0 and .[2][1] > 0' <<<"$s4"
out=$(sluice config diff "$CF" 2>&1)
check "... and config diff finds no change ($out)" grep -q "^no change" <<<"$out"

# --- gateway maps: what the pinned maps cost ---------------------------------------
gm=$(sluice -j gateway maps)
flows=$(bpftool -j map show pinned "$LAB_PIN_ROOT/sl_flows_v3" | jq .max_entries)
check "gateway maps: sl_flows_v3 an lru_hash of $flows entries, as bpftool says" \
	$JQE --argjson n "$flows" '.maps[] | select(.name == "sl_flows_v3") | .type == "lru_hash" and .max_entries == $n and .memlock > 0' <<<"$gm"
check "... the Maglev tables in one row: the two nat services' (251 + 1 entries each)" \
	$JQE '.maps[] | select(.name == "sl_maglev[]") | .maps == 2 and .max_entries == 504' <<<"$gm"
check "... the total is the sum of the rows" $JQE '.memlock == ([.maps[].memlock] | add) and .possible_cpus >= 1' <<<"$gm"
out=$(sluice gateway maps)
check "... as text: a header" grep -q '^MAP  *TYPE  *ENTRIES  *KEY  *VALUE  *MEMLOCK' <<<"$out"
check "... the tables' row" grep -q '^sl_maglev\[\]  *array  *504 .*(2 tables)' <<<"$out"
check "... and the total" grep -q '^total .* (.* possible CPUs)' <<<"$out"
out=$(sluice gateway maps extra 2>&1)
check "gateway maps with an argument: refused" test $? -ne 0
check "... saying so ($out)" grep -q "unexpected argument 'extra'" <<<"$out"

for obj in "" iface service stats backend leader shard gateway lab; do
	# shellcheck disable=SC2086
	check "help for '${obj:-sluice}' prints usage" sh -c "$SLUICE $obj help 2>&1 | grep -qi usage"
done
check "-j stats is JSON with global counters" sh -c "$SLUICE -j stats | $JQE '.global.admitted.packets >= 0' >/dev/null"
check "-j version has the ABI version" sh -c "$SLUICE -j version | $JQE '.abi_version >= 1' >/dev/null"
check "unique prefix accepted (serv sh)" sluice serv sh
finish
