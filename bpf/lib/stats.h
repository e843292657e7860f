/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Count stage: the program's one exit counts each packet once, by reason,
 * in the per-CPU global counters and, for a service verdict, in the
 * service's own slot too. Per-CPU values need no atomics: an XDP program
 * runs to completion on one CPU. Readers sum over CPUs.
 */
#ifndef SLUICE_STATS_H
#define SLUICE_STATS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "common.h"

static __always_inline void sluice_count_slot(void *map, __u32 idx, __u64 bytes)
{
	struct sluice_counter *c = bpf_map_lookup_elem(map, &idx);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/*
 * svc_id is SLUICE_NO_SVC unless the reason is a verdict on that service.
 * bytes is the frame as received (the entry notes it before any rewrite:
 * encapsulation grows the frame, untagging shrinks it).
 */
static __always_inline void sluice_count(__u32 reason, __u32 svc_id, __u64 bytes)
{
	struct sluice_svc_counters *s;
	struct sluice_counter *c;
	__u32 slot;

	sluice_count_slot(&sl_glb_stats_v2, reason, bytes);
	if (svc_id == SLUICE_NO_SVC)
		return;
	s = bpf_map_lookup_elem(&sl_svc_stats_v4, &svc_id);
	/* The bound is for the verifier: a service verdict's slot is below it. */
	slot = sluice_svc_slot(reason);
	if (!s || slot >= SLUICE_SVC_SLOTS)
		return;
	c = &s->slot[slot];
	c->packets++;
	c->bytes += bytes;
}

/* A packet sent towards backend id (forward direction), bytes as received. */
static __always_inline void sluice_count_backend(__u32 id, __u64 bytes)
{
	struct sluice_be_counter *c = bpf_map_lookup_elem(&sl_be_stats, &id);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

#endif /* SLUICE_STATS_H */
