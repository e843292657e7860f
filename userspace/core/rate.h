/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Rates as the operator gives them (packets per second, burst in packets) to
 * the GCRA figures the data plane uses (struct sluice_rate, bpf/lib/gcra.h),
 * and back for display.
 *
 *   interval  = (1e9 << SLUICE_TICK_SHIFT) / pps, rounded to nearest (ticks)
 *   tolerance = burst * interval
 *
 * pps 0 means unlimited: every field zero. When no burst is given the default
 * is max(1, pps / 50), i.e. 20 ms of traffic at the configured rate: enough
 * to absorb scheduling jitter without letting a sender double its rate.
 *
 * Precision: the interval is an integer number of 1/16 ns ticks, so the
 * effective rate is within 0.5/interval of the configured one: better than
 * 0.1 % up to 32 Mpps, 0.6 % at 700 Mpps, exact at 1e9 pps.
 *
 * A burst may hold at most RATE_BURST_MAX_SECONDS of traffic; this keeps
 * tat + tolerance far from u64 overflow for any uptime.
 */
#ifndef SLUICE_RATE_H
#define SLUICE_RATE_H

#include <linux/types.h>
#include "sluice_abi.h"

/* Ticks per second: 1e9 ns << SLUICE_TICK_SHIFT. */
#define RATE_TICKS_PER_SEC (1000000000ull << SLUICE_TICK_SHIFT)

/* Longest burst, in seconds of traffic at the configured rate. */
#define RATE_BURST_MAX_SECONDS 3600u

/* Default burst for pps: max(1, pps / 50) (20 ms of traffic); 0 for pps 0. */
__u32 rate_default_burst(__u32 pps);

/*
 * Build r from pps (0 = unlimited, at most SLUICE_RATE_MAX_PPS) and burst
 * (0 = rate_default_burst(pps)). -EINVAL (message set) for a burst with an
 * unlimited rate, -ERANGE for a rate or burst out of bounds.
 */
int rate_make(__u32 pps, __u32 burst, struct sluice_rate *r);

/* Interval (ticks) of pps, rounded to nearest; 0 for pps 0. */
__u64 rate_interval(__u32 pps);

/*
 * The inverse, for display and checks: the effective rate of an interval in
 * packets per second (rounded) and the burst a tolerance holds. 0 when the
 * interval is 0 (unlimited).
 */
__u64 rate_effective_pps(__u64 interval);
__u64 rate_effective_burst(const struct sluice_rate *r);

#endif /* SLUICE_RATE_H */
