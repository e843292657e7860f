/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * CLOCK_MONOTONIC, read once for the whole tree: the data plane's clock
 * (bpf_ktime_get_ns()) and the timerfds' clock. Modules that must be driven
 * by a test clock (maglev, breaker, health, etcd dispatch) take "now" as an
 * argument instead of calling these.
 */
#ifndef SLUICE_CLOCK_H
#define SLUICE_CLOCK_H

#include <linux/types.h>

/* CLOCK_MONOTONIC now, in nanoseconds, microseconds and milliseconds. */
__u64 clock_mono_ns(void);
__u64 clock_mono_us(void);
__u64 clock_mono_ms(void);

#endif /* SLUICE_CLOCK_H */
