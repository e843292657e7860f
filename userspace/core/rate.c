// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Rate arithmetic: packets per second and burst to GCRA interval and
 * tolerance (see rate.h for the formulas, default burst and precision).
 */
#include <errno.h>
#include <string.h>

#include "err.h"
#include "rate.h"

__u32 rate_default_burst(__u32 pps)
{
	if (!pps)
		return 0;
	return pps / 50 ? pps / 50 : 1;
}

__u64 rate_interval(__u32 pps)
{
	if (!pps)
		return 0;
	return (RATE_TICKS_PER_SEC + pps / 2) / pps;
}

int rate_make(__u32 pps, __u32 burst, struct sluice_rate *r)
{
	struct sluice_rate t;

	memset(&t, 0, sizeof(t));
	if (pps > SLUICE_RATE_MAX_PPS) {
		err_set("rate %u pps is too high: at most %u", pps, SLUICE_RATE_MAX_PPS);
		return -ERANGE;
	}
	if (!pps) {
		if (burst) {
			err_set("a burst needs a rate: rate 0 is unlimited and takes no burst");
			return -EINVAL;
		}
		*r = t;
		return 0;
	}
	if (!burst)
		burst = rate_default_burst(pps);
	if ((__u64)burst > (__u64)pps * RATE_BURST_MAX_SECONDS) {
		err_set("burst %u at %u pps is %llu s of traffic: at most %u s; lower the burst",
			burst, pps, (unsigned long long)(burst / pps), RATE_BURST_MAX_SECONDS);
		return -ERANGE;
	}
	t.interval = rate_interval(pps);
	t.tolerance = (__u64)burst * t.interval;
	t.pps = pps;
	t.burst = burst;
	*r = t;
	return 0;
}

__u64 rate_effective_pps(__u64 interval)
{
	if (!interval)
		return 0;
	return (RATE_TICKS_PER_SEC + interval / 2) / interval;
}

__u64 rate_effective_burst(const struct sluice_rate *r)
{
	if (!r->interval)
		return 0;
	return r->tolerance / r->interval;
}
