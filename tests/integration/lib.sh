# SPDX-License-Identifier: GPL-2.0-only
# Shared helpers for the integration tests: the lab topology (tools/lab.sh),
# a private pin root, TAP output, and cleanup that runs even on failure.
set -u

# The lab is named after this test's PID; its pins and temporary files too
# (set before sourcing: lab_down removes LAB_PIN_ROOT and LAB_STATE).
LAB_ID=$$
LAB_PIN_ROOT=/sys/fs/bpf/sluice-test-$LAB_ID
LAB_STATE=${TMPDIR:-/tmp}/sluice-lab-test-$LAB_ID
BUILD=${BUILD:-build}
. "$(dirname "$0")/../../tools/lab.sh"
ID=$LAB_ID

SLUICE=$(realpath "$BUILD/sluice")
UDPBLAST=$(realpath "$BUILD/tests/integration/udpblast")
CONNS=$(realpath "$BUILD/tests/integration/conns")
export SLUICE_PIN_ROOT=$LAB_PIN_ROOT

TAP_N=0
TAP_FAILED=0

tap_ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1"
}

tap_fail() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $1"
	shift
	for line in "$@"; do echo "# $line"; done
}

tap_skip() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1 # SKIP $2"
	echo "SKIPPED: $1: $2"
}

# check NAME CONDITION-COMMAND... : one TAP line from a command's status.
check() {
	name=$1
	shift
	if "$@" >/dev/null; then tap_ok "$name"; else tap_fail "$name" "failed: $*"; fi
}

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

finish() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
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

# require_tools SUITE TOOL...: fail the whole suite (one line) when a tool is missing.
require_tools() {
	suite=$1
	shift
	for tool in "$@"; do
		command -v "$tool" >/dev/null || {
			tap_fail "$suite: needs $tool"
			finish
			exit 1
		}
	done
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
