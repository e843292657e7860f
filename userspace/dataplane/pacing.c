// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Egress pacing settings (pacing.h): sl_svc_pace and sl_pace_stats.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "pacing.h"

int pacing_set(const struct sluice_maps *m, __u32 id, __u64 rate_bps)
{
	struct sluice_pace v = { .rate_bps = rate_bps, .next_ns = 0 };
	int err;

	if (!bpf_map_update_elem(m->svc_pace, &id, &v, BPF_ANY))
		return 0;
	err = -errno;
	err_set("cannot write the egress-rate of service id %u: %s", id, strerror(-err));
	return err;
}

int pacing_get(const struct sluice_maps *m, __u32 id, __u64 *rate_bps)
{
	struct sluice_pace v;
	int err;

	if (bpf_map_lookup_elem(m->svc_pace, &id, &v)) {
		err = -errno;
		err_set("cannot read the egress-rate of service id %u: %s", id, strerror(-err));
		return err;
	}
	*rate_bps = v.rate_bps;
	return 0;
}

int pacing_read_counters(const struct sluice_maps *m, __u32 id, struct sluice_pace_counter *sum)
{
	struct sluice_pace_counter *percpu;
	int ncpus, c, err = 0;

	memset(sum, 0, sizeof(*sum));
	percpu = maps_percpu_alloc(sizeof(*percpu), &ncpus);
	if (!percpu)
		return ncpus;
	if (bpf_map_lookup_elem(m->pace_stats, &id, percpu)) {
		err = -errno;
		err_set("cannot read the pacing counters of service id %u: %s", id, strerror(-err));
	}
	for (c = 0; !err && c < ncpus; c++) {
		sum->packets += percpu[c].packets;
		sum->bytes += percpu[c].bytes;
		sum->delayed += percpu[c].delayed;
		sum->dropped += percpu[c].dropped;
	}
	free(percpu);
	return err;
}

int pacing_clear(const struct sluice_maps *m, __u32 id)
{
	struct sluice_pace_counter *zero;
	int ncpus, err;

	err = pacing_set(m, id, 0);
	if (err)
		return err;
	zero = maps_percpu_alloc(sizeof(*zero), &ncpus);
	if (!zero)
		return ncpus;
	if (bpf_map_update_elem(m->pace_stats, &id, zero, BPF_ANY)) {
		err = -errno;
		err_set("cannot clear the pacing counters of service id %u: %s", id,
			strerror(-err));
	}
	free(zero);
	return err;
}
