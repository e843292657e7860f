/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Rate-limit stage: the service's token bucket (sl_svc_rl, indexed by
 * service id) and one bucket per (service, client address) (sl_client_rl,
 * LRU). Each bucket is a GCRA theoretical arrival time (see gcra.h); a bucket
 * whose interval is 0 is unlimited and never touched.
 *
 * Why one shared tat updated by compare-and-swap keeps the rate within
 * +-5 % however many CPUs take packets of the service:
 *  - there is exactly one tat per bucket, in a plain (not per-CPU) map
 *    value, so there are no per-CPU shares to split a rate unevenly or to
 *    strand tokens on an idle CPU;
 *  - every admission moves that tat forward by exactly one interval, and
 *    only through a CAS from the value the decision was made on: two CPUs
 *    can never both spend the same token (the loser re-reads and decides
 *    again), so over any window T at most burst + T / interval packets
 *    pass, from all CPUs together;
 *  - no lock: a spin lock would serialise the CPUs on every packet, a CAS
 *    only retries when two packets really race on the same bucket;
 *  - the clock is bpf_ktime_get_ns() (CLOCK_MONOTONIC, one clock for all
 *    CPUs), and the interval is kept in 1/16 ns, so rounding is far below
 *    0.1 % at any configurable rate.
 * The retry loop is bounded (the verifier needs a bound). Each failed CAS
 * means another CPU admitted a packet in the meantime, so running out of
 * tries takes SLUICE_CAS_TRIES admissions by others inside one decision
 * (a few ns): rare, and then the packet is dropped, which can only err
 * below the rate, never above it.
 */
#ifndef SLUICE_RATELIMIT_H
#define SLUICE_RATELIMIT_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "gcra.h"
#include "common.h"
#include "parse.h"

#define SLUICE_CAS_TRIES 4

/* Take one token from the bucket at *tat: 1 if admitted, 0 if over the rate. */
static __always_inline int sluice_bucket_take(__u64 *tat, __u64 now, __u64 interval,
					      __u64 tolerance)
{
	__u64 old = *(volatile __u64 *)tat;
	int i;

#pragma unroll
	for (i = 0; i < SLUICE_CAS_TRIES; i++) {
		__u64 next, cur;

		if (!sluice_gcra_admit(old, now, interval, tolerance, &next))
			return 0;
		cur = __sync_val_compare_and_swap(tat, old, next);
		if (cur == old)
			return 1;
		/* Lost the race: decide again on the tat the winner left. */
		old = cur;
	}
	return 0;
}

/* The client's bucket, created (full: tat 0) on first sight. */
static __always_inline struct sluice_bucket *sluice_client_bucket(const struct sluice_pkt *pkt,
								  __u32 svc_id)
{
	struct sluice_client_key key = {};
	struct sluice_bucket fresh = {};
	struct sluice_bucket *b;

	key.svc_id = svc_id;
	key.addr = pkt->src;
	b = bpf_map_lookup_elem(&sl_client_rl, &key);
	if (b)
		return b;
	/*
	 * NOEXIST: when another CPU created the bucket between our lookup and
	 * this insert, keep its tat (it may already hold admissions) and use
	 * it through the lookup below.
	 */
	bpf_map_update_elem(&sl_client_rl, &key, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&sl_client_rl, &key);
}

/*
 * SLUICE_CONTINUE (admitted by every configured bucket), DROP_CLIENT_RATE or
 * DROP_SVC_RATE.
 *
 * The client bucket is asked first. A client over its own rate is dropped
 * without spending a service token, so one flooding client cannot drain
 * the shared service bucket and starve the well-behaved ones: that is what
 * a per-client limit is for. The other order's side effect is harmless: a
 * packet the service bucket drops has still spent its client's token, but
 * the client bucket only ever counts what that client sent, so a client
 * within its own rate is never client-dropped because of it.
 *
 * When the client bucket cannot be had (the LRU insert raced with an
 * eviction), the client check is skipped: the service bucket still bounds
 * the total, and map pressure must not turn into drops of legitimate
 * clients.
 */
static __always_inline int sluice_ratelimit(const struct sluice_pkt *pkt,
					    const struct sluice_svc *svc)
{
	/* Read the configuration once: userspace may replace it meanwhile. */
	__u64 c_interval = svc->client_rate.interval;
	__u64 c_tolerance = svc->client_rate.tolerance;
	__u64 s_interval = svc->rate.interval;
	__u64 s_tolerance = svc->rate.tolerance;
	__u32 id = svc->id;
	struct sluice_bucket *b;
	__u64 now;

	/* Unlimited service: no clock read, no map access. */
	if (!c_interval && !s_interval)
		return SLUICE_CONTINUE;
	now = bpf_ktime_get_ns() << SLUICE_TICK_SHIFT;
	if (c_interval) {
		b = sluice_client_bucket(pkt, id);
		if (b && !sluice_bucket_take(&b->tat, now, c_interval, c_tolerance))
			return SLUICE_R_DROP_CLIENT_RATE;
	}
	if (s_interval) {
		b = bpf_map_lookup_elem(&sl_svc_rl, &id);
		if (b && !sluice_bucket_take(&b->tat, now, s_interval, s_tolerance))
			return SLUICE_R_DROP_SVC_RATE;
	}
	return SLUICE_CONTINUE;
}

#endif /* SLUICE_RATELIMIT_H */
