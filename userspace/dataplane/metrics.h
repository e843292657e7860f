/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Prometheus text exposition (format 0.0.4) of the pinned maps, for the
 * daemon's GET /metrics. Every series has its HELP and TYPE lines; label
 * values are escaped. Series:
 *
 *   sluice_packets_total{reason}               counter  every verdict, global
 *   sluice_bytes_total{reason}                 counter
 *   sluice_service_packets_total{service,reason} counter per service verdict
 *   sluice_service_bytes_total{service,reason}   counter
 *   sluice_backend_packets_total{service,backend} counter
 *   sluice_backend_bytes_total{service,backend}   counter
 *   sluice_backend_new_flows_total{service,backend} counter
 *   sluice_bulkhead_in_use{service}            gauge    connections holding a slot
 *   sluice_bulkhead_limit{service}             gauge    max-conns (0: no limit)
 *     (service="global" for the global bulkhead)
 *   sluice_service_panic{service}              gauge    1 in panic (breakers ignored)
 *   sluice_breaker_state{service,backend}      gauge    0 closed, 1 open, 2 half-open
 *   sluice_backend_up{service,backend}         gauge    1 up, 0 down (health-checked backends)
 *   sluice_host_connects_total{service,reason} counter  host side: connects by outcome
 *     (reason balanced, refused_rate, refused_bulkhead, refused_breaker, no_backend)
 *   sluice_host_conns_in_use{service}          gauge    host side: connections held
 *     (both only once a cgroup was attached, for the services it touched)
 *   sluice_daemon_commands_total / sluice_daemon_commands_failed_total   counters
 *
 * service is "ADDR PORT PROTO" (as commands take it), backend "ADDR PORT".
 */
#ifndef SLUICE_METRICS_H
#define SLUICE_METRICS_H

#include <stdio.h>
#include <linux/types.h>
#include "maps.h"

struct metrics_source {
	/* Health of backend id: 1 up, 0 down, -1 not checked (no series). NULL: none. */
	int (*backend_up)(void *ctx, __u32 id);
	void *ctx;
	int daemon;	       /* 1: print the daemon's counters below */
	__u64 commands;	       /* write commands run */
	__u64 commands_failed; /* of them, failed */
};

/* Write the exposition of the maps m to f. 0 or -errno (message set). */
int metrics_render(const struct sluice_maps *m, const struct metrics_source *src, FILE *f);

/* Write s as a label value (backslash, quote and newline escaped). */
void metrics_label(FILE *f, const char *s);

#endif /* SLUICE_METRICS_H */
