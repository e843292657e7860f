/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Token-bucket arithmetic (GCRA, the "virtual scheduling" form of a token
 * bucket), shared by the data plane and userspace so the unit tests check
 * the very code the kernel runs. Pure functions of integers: no helpers, no
 * maps, no division.
 *
 * A bucket is one number, the theoretical arrival time (tat). A packet at
 * time now is admitted when max(tat, now) + interval - now <= tolerance, and
 * then tat becomes max(tat, now) + interval. With tolerance = burst *
 * interval this admits `burst` back-to-back packets from an idle bucket and
 * one packet per interval after that: a token bucket of depth `burst`
 * refilled at 1/interval. Keeping the state in a single u64 lets the data
 * plane update it with one compare-and-swap instead of a lock.
 */
#ifndef SLUICE_GCRA_H
#define SLUICE_GCRA_H

#include <linux/types.h>

/*
 * Decide one packet. Returns 1 and sets *next to the new tat when the packet
 * is admitted; returns 0 (and leaves *next alone) when it is over the rate.
 * interval == 0 means unlimited.
 */
static inline int sluice_gcra_admit(__u64 tat, __u64 now, __u64 interval, __u64 tolerance,
				    __u64 *next)
{
	__u64 start = tat > now ? tat : now;
	__u64 n = start + interval;

	if (!interval)
		return 1;
	if (n - now > tolerance)
		return 0;
	*next = n;
	return 1;
}

#endif /* SLUICE_GCRA_H */
