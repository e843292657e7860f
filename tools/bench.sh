#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# `make bench`: benchmarks, never tests. Prints ratios measured side by side
# in one run; exits 0 whatever the numbers (see BENCHMARKS.md for the method).
set -u
BUILD=${BUILD:-build}
if [ "$(id -u)" != 0 ]; then
	echo "bench: needs root (BPF_PROG_TEST_RUN)" >&2
	exit 1
fi
echo "== per-packet cost through BPF_PROG_TEST_RUN (kernel $(uname -r), $(nproc) CPUs)"
"$BUILD/sluice-bench" "$@" || echo "bench: sluice-bench failed (rc $?)"
exit 0
