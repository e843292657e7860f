#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Run every test suite and end with one summary line "N passed, N failed, N skipped".
#
# Suites speak TAP: the cmocka binaries (unit, BPF test-run) through
# CMOCKA_MESSAGE_OUTPUT=TAP, the fuzz corpus replays (tests/fuzz/replay.c) one
# line per corpus file, the integration scripts through tests/integration/lib.sh.
# A suite that exits non-zero without reporting a failing test (a crash, a
# timeout) counts as one failure. Each suite is bounded by SUITE_TIMEOUT.
set -u
BUILD=${BUILD:-build}
SUITE_TIMEOUT=${SUITE_TIMEOUT:-300}
export BUILD CMOCKA_MESSAGE_OUTPUT=TAP
pass=0
fail=0
skip=0
failed_suites=""
log=$(mktemp)
# The data-plane and integration suites need bpffs; mount it if the host has not.
if [ "$(id -u)" = 0 ] && ! mountpoint -q /sys/fs/bpf; then
	mount -t bpf bpf /sys/fs/bpf
fi
trap 'rm -f "$log"' EXIT

run_suite() {
	name=$1
	shift
	start=$(date +%s)
	timeout --kill-after=10 "$SUITE_TIMEOUT" "$@" >"$log" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$log" | tr -d ' ')
	s=$(grep -c '^\(not \)\?ok .*# SKIP' "$log" | tr -d ' ')
	f=$(grep -c '^not ok ' "$log" | tr -d ' ')
	f=$((f - $(grep -c '^not ok .*# SKIP' "$log")))
	p=$((p - $(grep -c '^ok .*# SKIP' "$log")))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc without a failing test (crash or timeout)" >>"$log"
	fi
	sed "s/^/    /" "$log"
	echo "== $name: $p passed, $f failed, $s skipped ($(($(date +%s) - start)) s)"
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + s))
	[ "$f" -eq 0 ] || failed_suites="$failed_suites $name"
}

for t in "$BUILD"/tests/unit/test_* "$BUILD"/tests/bpf/test_*; do
	[ -x "$t" ] || continue
	run_suite "${t#"$BUILD"/tests/}" "$t"
done
# The forwarding suites (nat, ipip, refusals, redispatch) once more through
# the TC entry (test_xdp runs both itself): the same cases, the same verdicts.
for t in steer resilience leader failover; do
	[ -x "$BUILD/tests/bpf/test_$t" ] || continue
	run_suite "bpf/test_$t (tc)" env SLUICE_TEST_HOOK=tc "$BUILD/tests/bpf/test_$t"
done
# Fuzz regressions: every file of a harness's corpus replayed through it.
for t in "$BUILD"/tests/fuzz/replay_*; do
	[ -x "$t" ] || continue
	name=${t##*/replay_}
	run_suite "fuzz/$name" "$t" "tests/fuzz/corpus/$name"
done
for t in tests/integration/test_*.sh; do
	run_suite "integration/$(basename "$t" .sh)" bash "$t"
done

# The nat/ipip lab suite once more with Sluice at TC ingress (--hook tc).
run_suite "integration/test_steer (tc)" env SLUICE_LAB_HOOK=tc bash tests/integration/test_steer.sh

[ -z "$failed_suites" ] || echo "failing suites:$failed_suites"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
