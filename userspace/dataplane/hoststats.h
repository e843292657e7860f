/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The host side's counters (bpf/host.bpf.c): per service, the connects it
 * balanced and refused (sl_host_stats, per-CPU) and the outbound
 * connections held (sl_host_conns), read for `sluice host stats` and the
 * daemon's metrics. The maps exist once a cgroup was attached.
 */
#ifndef SLUICE_HOSTSTATS_H
#define SLUICE_HOSTSTATS_H

#include <linux/types.h>
#include "sluice_abi.h"

struct host_stats {
	int stats_fd; /* sl_host_stats */
	int conns_fd; /* sl_host_conns */
};

/* Open the maps under root; -ENOENT (message set) when never attached there. */
int host_stats_open(const char *root, struct host_stats *h);

/* Service id's counters summed over the CPUs, and its connections held. 0 or -errno. */
int host_stats_read(const struct host_stats *h, __u32 id, struct sluice_host_counter *sum,
		    __s64 *conns);

/* 1 when anything was counted or is held. */
int host_stats_any(const struct sluice_host_counter *sum, __s64 conns);

/* Close; safe on a closed or failed-to-open struct. */
void host_stats_close(struct host_stats *h);

#endif /* SLUICE_HOSTSTATS_H */
