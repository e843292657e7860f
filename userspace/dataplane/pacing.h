/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Egress pacing settings: the write side of sl_svc_pace (a service's
 * egress-rate) and the reading of sl_pace_stats. svc.c calls it for the
 * egress-rate keyword of `service add|set` and when an id is cleared; the
 * rate is enforced at the TC egress of `iface attach DEV --hook tc-egress`
 * (bpf/lib/pace.h) for the sockets the host side balances.
 */
#ifndef SLUICE_PACING_H
#define SLUICE_PACING_H

#include <linux/types.h>
#include "maps.h"
#include "sluice_abi.h"

/* Service id's egress-rate (bits/s, 0: unlimited); its departure clock starts again. */
int pacing_set(const struct sluice_maps *m, __u32 id, __u64 rate_bps);

/* Service id's egress-rate into *rate_bps. */
int pacing_get(const struct sluice_maps *m, __u32 id, __u64 *rate_bps);

/* Service id's pacing counters, summed over CPUs. */
int pacing_read_counters(const struct sluice_maps *m, __u32 id, struct sluice_pace_counter *sum);

/* A freed id: no rate, counters zeroed. */
int pacing_clear(const struct sluice_maps *m, __u32 id);

#endif /* SLUICE_PACING_H */
