// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * CLOCK_MONOTONIC in the units the tree uses: ns (the data plane's timestamps),
 * us (latencies), ms (timers and deadlines), truncated.
 */
#include <time.h>

#include "clock.h"

__u64 clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

__u64 clock_mono_us(void)
{
	return clock_mono_ns() / 1000ull;
}

__u64 clock_mono_ms(void)
{
	return clock_mono_ns() / 1000000ull;
}
