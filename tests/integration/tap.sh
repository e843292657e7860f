# SPDX-License-Identifier: GPL-2.0-only
# TAP output for the integration tests: one "ok N" / "not ok N" line per
# check, the plan at the end. lib.sh sources it; a test that needs no lab
# (test_docs.sh) sources it alone.

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

# finish: the plan; the script's status says whether every check passed.
finish() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}
