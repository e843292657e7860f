/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Egress pacing stage (issue 15): a service's outbound bandwidth on a host
 * (egress-rate) by Earliest Departure Time, as Carousel (Saeed et al.,
 * SIGCOMM 2017) and the kernel's fq do it: each packet of the service is
 * given the time it may leave, skb->tstamp, and the fq qdisc holds it until
 * then. One departure clock per service, sl_svc_pace[id].next_ns:
 *
 *   departure = max(now, next_ns, the packet's own tstamp: TCP's pacing)
 *   next_ns   = departure + len * 8e9 / rate_bps
 *
 * Shared, not per-CPU: the rate is the service's, whichever CPUs its
 * sockets send from, and a per-CPU clock would let each CPU send the whole
 * rate. The clock moves with a compare-and-swap (as ratelimit.h's bucket):
 * a lost race re-reads and retries, a few times, then takes its slot with
 * an atomic add (never lost, at worst a packet scheduled from a clock that
 * lagged now: a burst of one packet).
 *
 * Horizon: a packet whose departure is more than horizon_ns ahead is
 * dropped (and the clock not moved), so the queue fq holds per service is
 * bounded (TCP's small queues keep it far below; a UDP sender past the
 * rate is what reaches it). Where the device has no fq (a kernel built
 * without it), nothing holds a packet back: the loader sets a short
 * horizon (SLUICE_PACE_BURST_NS) and the same clock polices, the rate
 * still an upper bound, with a burst of that many ns of the rate.
 */
#ifndef SLUICE_PACE_H
#define SLUICE_PACE_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"

#define SLUICE_PACE_CAS_TRIES 4 /* compare-and-swap attempts before the atomic add */

static __always_inline void sluice_pace_count(__u32 svc_id, __u32 len, int delayed, int dropped)
{
	struct sluice_pace_counter *c = bpf_map_lookup_elem(&sl_pace_stats, &svc_id);

	if (!c)
		return;
	c->packets++;
	c->bytes += len;
	c->delayed += delayed;
	c->dropped += dropped;
}

/*
 * The departure of a packet of len bytes of service svc_id at now (ns,
 * CLOCK_MONOTONIC) whose own departure is tstamp (0: none), horizon_ns
 * the furthest ahead it may be: TC_ACT_OK with *out the departure (now
 * or later; unchanged tstamp when the service is not paced), or
 * TC_ACT_SHOT (beyond the horizon: the clock is left as it was).
 */
static __always_inline int sluice_pace_at(__u32 svc_id, __u32 len, __u64 now, __u64 tstamp,
					  __u64 horizon_ns, __u64 *out)
{
	struct sluice_pace *p = bpf_map_lookup_elem(&sl_svc_pace, &svc_id);
	__u64 rate, delay, old, dep;
	int i;

	*out = tstamp;
	if (!p)
		return TC_ACT_OK;
	/* Read once: userspace may rewrite the value meanwhile. */
	rate = *(volatile __u64 *)&p->rate_bps;
	if (!rate)
		return TC_ACT_OK;
	/* len < 2^32 and 8e9 < 2^33: the product fits in 64 bits. */
	delay = (__u64)len * 8000000000ull / rate;
	/* A stamp that is no near-future departure (a clock of another kind) is not one to keep. */
	if (tstamp <= now || tstamp - now > horizon_ns)
		tstamp = 0;
	for (i = 0; i < SLUICE_PACE_CAS_TRIES; i++) {
		old = *(volatile __u64 *)&p->next_ns;
		dep = old > now ? old : now;
		if (tstamp > dep)
			dep = tstamp;
		if (dep - now > horizon_ns) {
			sluice_pace_count(svc_id, len, 0, 1);
			return TC_ACT_SHOT;
		}
		if (__sync_val_compare_and_swap(&p->next_ns, old, dep + delay) == old)
			goto done;
	}
	/* Contended: take the slot unconditionally (see the top of the file). */
	old = __sync_fetch_and_add(&p->next_ns, delay);
	dep = old > now ? old : now;
	if (tstamp > dep)
		dep = tstamp;
done:
	sluice_pace_count(svc_id, len, dep > now, 0);
	*out = dep;
	return TC_ACT_OK;
}

/* The stage on skb, a packet of service svc_id: skb->tstamp set, or TC_ACT_SHOT. */
static __always_inline int sluice_pace(struct __sk_buff *skb, __u32 svc_id, __u64 horizon_ns)
{
	__u64 dep, ts = skb->tstamp;
	int ret;

	ret = sluice_pace_at(svc_id, skb->len, bpf_ktime_get_ns(), ts, horizon_ns, &dep);
	if (ret == TC_ACT_OK && dep != ts)
		skb->tstamp = dep;
	return ret;
}

#endif /* SLUICE_PACE_H */
