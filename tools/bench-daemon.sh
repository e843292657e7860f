#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Daemon benchmarks, the last part of `make bench` (tools/bench.sh); no lab
# needed: sluiced runs without interfaces on a scratch pin root, with its
# socket and journal in a scratch folder. Prints each number with its
# method; exits 0 whatever happens (a part that cannot run says why).
#
#  1. write commands per second through the control socket: BENCH_CMDS
#     (default 2000) `sluice backend set SVC BE weight W` run one after the
#     other, each a fresh sluice process whose command sluiced journals
#     (fdatasync, journal on the disk of /var/tmp) and applies (Maglev
#     table rebuilt and republished); the same commands with --local (no
#     daemon, no journal) for comparison; and the same commands as one
#     `sluice -b` batch (one connection, pipelined, group commit, each
#     changed table built once).
#  2. config apply: a YAML of BENCH_SVCS services x BENCH_BES backends
#     (default 1000 x 10; backend ids are shared by all services, so the
#     total is capped at SLUICE_MAX_BACKENDS 65536: the script lowers the
#     backends per service when it must and says so), nat, maglev-size
#     BENCH_M (default 1031, a prime: 1000 default-size tables would take
#     256 MiB of map memory), applied through the daemon
#     (`sluice config apply`: diff, journal, run each command); then the
#     same file applied again (the diff is empty: the cost of a no-op).
#  3. journal replay: a journal of BENCH_EVENTS (default 10^6) records
#     written with the journal API (build/tests/integration/jbench, on
#     /dev/shm), then journal_replay_commands() over it, to its end and to
#     its middle: the fold `sluice journal replay` does before it applies.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
BUILD=${BUILD:-build}
BENCH_CMDS=${BENCH_CMDS:-2000}
BENCH_SVCS=${BENCH_SVCS:-1000}
BENCH_BES=${BENCH_BES:-10}
BENCH_M=${BENCH_M:-1031}
BENCH_EVENTS=${BENCH_EVENTS:-1000000}
SLUICE=$(realpath "$BUILD/sluice" 2>/dev/null)
SLUICED=$(realpath "$BUILD/sluiced" 2>/dev/null)
JBENCH=$(realpath "$BUILD/tests/integration/jbench" 2>/dev/null)

echo
echo "== daemon: control socket, config apply, journal replay (no lab)"
if [ "$(id -u)" != 0 ] || ! [ -x "$SLUICE" ] || ! [ -x "$SLUICED" ]; then
	echo "bench-daemon: skipped: needs root, $BUILD/sluice and $BUILD/sluiced"
	exit 0
fi

W=$(mktemp -d /var/tmp/sluice-bench-daemon.XXXXXX)
export SLUICE_PIN_ROOT=/sys/fs/bpf/sluice-benchd-$$
export SLUICE_SOCKET=$W/sluiced.sock
DPID=
cleanup() {
	[ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	rm -rf "$SLUICE_PIN_ROOT" "$W" /dev/shm/sluice-jbench-$$
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

ms() { date +%s%3N; }

start_daemon() {
	"$SLUICED" --pin-root "$SLUICE_PIN_ROOT" --socket "$SLUICE_SOCKET" --journal "$W/journal" \
		--metrics off 2>>"$W/sluiced.log" &
	DPID=$!
	for _ in $(seq 100); do
		[ -S "$SLUICE_SOCKET" ] && return 0
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.05
	done
	echo "bench-daemon: sluiced did not start: $(tail -3 "$W/sluiced.log")"
	DPID=
	return 1
}

stop_daemon() {
	kill -TERM "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	DPID=
}

# --- 1. commands per second through the socket --------------------------------
bench_socket() {
	local i t0 t1 rc fail=0 lfail=0 VIP=192.0.2.10
	echo
	echo "-- write commands through the control socket ($BENCH_CMDS x 'backend set ... weight W',"
	echo "   one sluice process each, journal fdatasync'ed on $(df --output=source /var/tmp | tail -1))"
	start_daemon || return 0
	"$SLUICE" service add $VIP 80 tcp mode nat maglev-size $BENCH_M >/dev/null &&
		"$SLUICE" backend add $VIP 80 tcp 10.0.0.11 port 8080 >/dev/null &&
		"$SLUICE" backend add $VIP 80 tcp 10.0.0.12 port 8080 >/dev/null ||
		{ echo "bench-daemon: socket part skipped: setup failed"; stop_daemon; return 0; }
	t0=$(ms)
	for i in $(seq "$BENCH_CMDS"); do
		"$SLUICE" backend set $VIP 80 tcp 10.0.0.11 port 8080 weight $((i % 100 + 1)) \
			>/dev/null 2>&1 || fail=$((fail + 1))
	done
	t1=$(ms)
	awk -v n="$BENCH_CMDS" -v t="$((t1 - t0))" -v f="$fail" 'BEGIN {
		printf "   through sluiced: %d commands in %.2f s = %.0f commands/s (%.2f ms each, %d failed)\n",
			n, t / 1000, n * 1000 / t, t / n, f }'
	# The same commands as one batch: one connection, pipelined, group commit.
	for i in $(seq "$BENCH_CMDS"); do
		echo "backend set $VIP 80 tcp 10.0.0.11 port 8080 weight $((i % 100 + 1))"
	done >"$W/batch.txt"
	t0=$(ms)
	"$SLUICE" -b "$W/batch.txt" >/dev/null 2>&1
	rc=$?
	t1=$(ms)
	stop_daemon
	awk -v n="$BENCH_CMDS" -v t="$((t1 - t0))" -v rc="$rc" 'BEGIN {
		printf "   through sluiced, one batch (sluice -b): %d commands in %.2f s = %.0f commands/s (%.3f ms each, rc %d)\n",
			n, t / 1000, n * 1000 / t, t / n, rc }'
	t0=$(ms)
	for i in $(seq "$BENCH_CMDS"); do
		"$SLUICE" --local backend set $VIP 80 tcp 10.0.0.11 port 8080 weight $((i % 100 + 1)) \
			>/dev/null 2>&1 || lfail=$((lfail + 1))
	done
	t1=$(ms)
	awk -v n="$BENCH_CMDS" -v t="$((t1 - t0))" -v f="$lfail" 'BEGIN {
		printf "   --local (no daemon): %d commands in %.2f s = %.0f commands/s (%.2f ms each, %d failed)\n",
			n, t / 1000, n * 1000 / t, t / n, f }'
	"$SLUICE" --local service del $VIP 80 tcp >/dev/null 2>&1
}

# --- 2. config apply ---------------------------------------------------------------
bench_apply() {
	local bes=$BENCH_BES s b t0 t1 t2 out rc
	if [ $((BENCH_SVCS * bes)) -gt 65536 ]; then
		bes=$((65536 / BENCH_SVCS))
		note=" (capped from $BENCH_BES: at most 65536 backends in all)"
	else
		note=""
	fi
	echo
	echo "-- config apply through sluiced: $BENCH_SVCS nat services x $bes backends$note,"
	echo "   maglev-size $BENCH_M"
	{
		echo "services:"
		for s in $(seq 0 $((BENCH_SVCS - 1))); do
			printf '  - address: 198.18.%d.%d\n    port: 80\n    mode: nat\n' \
				$((s / 250)) $((s % 250 + 1))
			printf '    maglev-size: %d\n    backends:\n' "$BENCH_M"
			for b in $(seq 1 "$bes"); do
				printf '      - 10.%d.%d.%d\n' $((s / 250)) $((s % 250)) "$b"
			done
		done
	} >"$W/bench.yaml"
	start_daemon || return 0
	t0=$(ms)
	out=$("$SLUICE" config apply "$W/bench.yaml" 2>&1)
	rc=$?
	t1=$(ms)
	"$SLUICE" config apply "$W/bench.yaml" >/dev/null 2>&1
	t2=$(ms)
	n=$("$SLUICE" -j service show 2>/dev/null | jq length 2>/dev/null)
	nb=$("$SLUICE" -j backend show 2>/dev/null | jq length 2>/dev/null)
	stop_daemon
	if [ $rc != 0 ]; then
		echo "   apply failed (rc $rc): $(tail -2 <<<"$out")"
		return 0
	fi
	awk -v t="$((t1 - t0))" -v r="$((t2 - t1))" -v n="${n:-?}" -v nb="${nb:-?}" 'BEGIN {
		printf "   apply: %.2f s (%s services, %s backends in the maps); unchanged re-apply: %.2f s\n",
			t / 1000, n, nb, r / 1000 }'
}

# --- 3. journal replay ------------------------------------------------------------
bench_replay() {
	local d=/dev/shm/sluice-jbench-$$ out
	echo
	echo "-- journal replay: $BENCH_EVENTS records (commands, health events, failures) on /dev/shm"
	if ! [ -x "$JBENCH" ]; then
		echo "   skipped: needs $BUILD/tests/integration/jbench (make tests)"
		return 0
	fi
	if ! out=$("$JBENCH" "$d" "$BENCH_EVENTS" 2>&1); then
		echo "   jbench failed: $out"
		return 0
	fi
	jq -r '"   written in \(.generate_s) s; journal_replay_commands() to the end: \(.replay_s) s " +
		"(\(.replayed) commands, \((.records / .replay_s) | floor) records/s); " +
		"to the middle: \(.replay_half_s) s (\(.replayed_half) commands)"' <<<"$out" 2>/dev/null ||
		echo "   $out"
	echo "   journal size: $(du -sh "$d" | cut -f1)"
	rm -rf "$d"
}

bench_socket
bench_apply
bench_replay
exit 0
