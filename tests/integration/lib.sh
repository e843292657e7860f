# SPDX-License-Identifier: GPL-2.0-only
# Shared helpers for the integration tests: the lab topology (tools/lab.sh),
# a private pin root, TAP output (tap.sh), and cleanup that runs even on failure.
set -u

# The lab is named after this test's PID; its pins and temporary files too
# (set before sourcing: lab_down removes LAB_PIN_ROOT and LAB_STATE).
LAB_ID=$$
LAB_PIN_ROOT=/sys/fs/bpf/sluice-test-$LAB_ID
LAB_STATE=${TMPDIR:-/tmp}/sluice-lab-test-$LAB_ID
BUILD=${BUILD:-build}
. "$(dirname "$0")/../../tools/lab.sh"
. "$(dirname "$0")/tap.sh"
ID=$LAB_ID

SLUICE=$(realpath "$BUILD/sluice")
# jq -e that fails on empty input (see jqe); tests use $JQE, never jq -e.
JQE=$(realpath "$(dirname "${BASH_SOURCE[0]}")/jqe")
UDPBLAST=$(realpath "$BUILD/tests/integration/udpblast")
export SLUICE_PIN_ROOT=$LAB_PIN_ROOT

cleanup() {
	lab_down
	wait 2>/dev/null
	rm -rf "$SLUICE_PIN_ROOT"
}

# lab_up_test: the two-namespace lab, torn down by cleanup on any exit.
lab_up_test() {
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	lab_up
}

# lab_up_steer_test [N]: the whole lab with N backends and Sluice attached
# to the gateway, torn down by cleanup on any exit.
lab_up_steer_test() {
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	lab_up_steer "${1:-3}" && lab_attach
}

# require_root_bpf: skip the whole file (as one SKIPPED line) when it cannot run.
require_env() {
	if [ "$(id -u)" != 0 ]; then
		tap_skip "$1" "needs root"
		finish
		exit 0
	fi
	if ! [ -x "$SLUICE" ] || ! [ -x "$UDPBLAST" ]; then
		tap_fail "$1" "build first: $SLUICE / $UDPBLAST missing"
		finish
		exit 1
	fi
}

# bail MESSAGE: a precondition is missing: one failing line, and the test ends.
bail() {
	tap_fail "$1"
	finish
	exit 1
}

# require_helpers NAME PROG...: each test helper PROG (tests/integration/PROG.c)
# built, its path in the variable of its name upper-cased (connloop:
# CONNLOOP); else test NAME fails.
require_helpers() {
	local name=$1 p path
	shift
	for p in "$@"; do
		path=$(realpath "$BUILD/tests/integration/$p" 2>/dev/null)
		[ -x "$path" ] || bail "$name: build the test helpers first (make tests): $p missing"
		printf -v "${p^^}" '%s' "$path"
	done
}

# require_tools NAME COMMAND...: each COMMAND installed, else test NAME fails.
require_tools() {
	local name=$1 t
	shift
	for t in "$@"; do
		command -v "$t" >/dev/null || bail "$name: needs $t (tools/debian-packages)"
	done
}

# lab_up_steer_or_bail N MESSAGE: lab_up_steer_test N, then "ok - MESSAGE"; the
# test ends when the lab cannot be set up.
lab_up_steer_or_bail() {
	lab_up_steer_test "$1" || bail "lab setup ($1 backends, Sluice on the gateway)"
	tap_ok "$2"
}

# cg_require NAME: CG_ROOT (the cgroup2 mount) and CG, this test's cgroup
# below it (sluice-NAME-ID, not made yet), for the host side's tests; the
# whole file is skipped (test NAME) without a cgroup2 mount.
cg_require() {
	CG_ROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	if [ -z "$CG_ROOT" ]; then
		tap_skip "$1" "no cgroup2 filesystem mounted"
		finish
		exit 0
	fi
	CG=$CG_ROOT/sluice-$1-$ID
}

# in_cg CMD...: CMD in the client namespace, inside the cgroup $CG.
in_cg() {
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG" \
		nsenter --net=/run/netns/"$CLI_NS" -- "$@"
}

# cg_remove: what is left in $CG (a client that hung) killed, $CG removed.
cg_remove() {
	[ -d "${CG:-}" ] || return 0
	for p in $(cat "$CG/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	for _ in $(seq 20); do rmdir "$CG" 2>/dev/null && break; sleep 0.1; done
}

# be FAMILY I: backend I's address in FAMILY (4 or 6).
be() { if [ "$1" = 4 ]; then be_addr4 "$2"; else be_addr6 "$2"; fi; }

# jget JSON FILTER: one value.
jget() { jq -r "$2" <<<"$1"; }

# wait_until SECONDS COMMAND...: poll (every 0.1 s) until COMMAND succeeds.
wait_until() {
	local t=$1
	shift
	for _ in $(seq $((t * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	"$@" >/dev/null 2>&1
}

# wait_alive PID CHECK...: true once CHECK succeeds (100 tries, 0.1 s apart),
# false as soon as PID (a daemon being started) is gone or the tries run out.
wait_alive() {
	pid=$1
	shift
	for _ in $(seq 100); do
		"$@" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# bg_cli / bg_gw COMMAND...: COMMAND in the client / gateway namespace, in
# the background, $! being its own pid (nsenter execs it; a shell function
# would put a subshell in between that a signal would not get through).
bg_cli() { nsenter --net=/run/netns/$CLI_NS -- "$@" & }
bg_gw() { nsenter --net=/run/netns/$GW_NS -- "$@" & }

# stop_pids SIGNAL PID...: send SIGNAL to each background process of this
# shell and reap it (empty PIDs are skipped).
# raw JSON: one request on the daemon's control socket $SOCK, its first reply line.
raw() { printf '%s\n' "$1" | timeout 5 ncat -U "$SOCK" 2>/dev/null | head -n1; }
# ping_ok: the daemon on $SOCK answers a ping (rc 0).
ping_ok() { [ -S "$SOCK" ] && [ "$(raw '{"op":"ping"}' | jq -r .rc 2>/dev/null)" = 0 ]; }

stop_pids() {
	local sig=$1 p
	shift
	for p in "$@"; do
		[ -n "$p" ] || continue
		kill "-$sig" "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
}

# stat_of JSON-FILTER: one number from `sluice -j stats`.
stat_of() {
	sluice -j stats | jq -r "$1"
}

# svc_stat ADDR PORT PROTO REASON packets|bytes
svc_stat() {
	sluice -j stats | jq -r --arg a "$1" --argjson p "$2" --arg pr "$3" \
		".services[] | select(.address==\$a and .port==\$p and .proto==\$pr) | .counters.$4.$5"
}

# within PCT MEASURED EXPECTED: true when |measured-expected| <= pct% of expected.
within() {
	awk -v pct="$1" -v m="$2" -v e="$3" 'BEGIN { d = m - e; if (d < 0) d = -d; exit !(d <= e * pct / 100) }'
}

now_ns() { date +%s%N; }
