/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Next-hop cache: a flow's FIB answer kept in its entry (struct sluice_nh
 * in sl_flows and sl_nat_rev), so an established flow's packets skip
 * bpf_fib_lookup(), as katran's skip it altogether (it sends everything to
 * one configured next hop). The lookup was the largest single cost of an
 * established packet (about 35 ns of nat_est's 105: BENCHMARKS.md).
 *
 * When the cached answer holds is in the ABI (struct sluice_nh): the
 * generation sluiced bumps on every route, neighbour, link and address
 * event, the flow's backend, the ingress interface, the length the MTU
 * check passed, and an age bound of about a second for a host where
 * nothing bumps the generation. Only a SUCCESS is kept: NO_NEIGH and every
 * other answer go to the stack each time, as before.
 *
 * Two CPUs filling the same entry write the same answer unless the FIB
 * changed between their lookups; the generation is written last, so a
 * reader takes a mixed answer at most for a packet in that moment, one
 * the FIB gave a moment ago. A stateless return translation (sl_be_rev)
 * is shared by every client and never caches.
 */
#ifndef SLUICE_NHCACHE_H
#define SLUICE_NHCACHE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "fwd.h"

/* The generation the cached next hops must carry; 0: caching off. */
static __always_inline __u32 sluice_nh_gen(void)
{
	__u32 zero = 0;
	__u32 *g = bpf_map_lookup_elem(&sl_nh_gen, &zero);

	return g ? *(volatile __u32 *)g : 0;
}

/*
 * sluice_fib_lookup(), answered from nh when it holds this lookup's answer
 * (for backend id), and nh filled from a successful lookup otherwise. nh
 * NULL: no cache (a new flow whose entry is not written yet, a stateless
 * return translation). fib is filled (sluice_fib_fill).
 *
 * A global subprogram, checked once on its own: inlined at the forward
 * stage, the verifier walked it again for every state the entry reaches
 * that stage in and sluice_xdp went past its 1M instructions (E2BIG).
 */
__noinline long sluice_fib_lookup_nh(struct xdp_md *ctx, struct bpf_fib_lookup *fib,
				     struct sluice_nh *nh, __u32 id)
{
	__u32 gen, now, len, in;
	long rc;

	if (!ctx || !fib) /* a global subprogram's pointers may be NULL to the verifier */
		return BPF_FIB_LKUP_RET_NOT_FWDED;
	if (!nh)
		return sluice_fib_lookup(ctx, fib);
	len = fib->tot_len;
	in = ctx->ingress_ifindex;
	gen = sluice_nh_gen();
	if (!gen)
		return sluice_fib_lookup(ctx, fib);
	now = bpf_ktime_get_coarse_ns() >> SLUICE_NH_TICK_SHIFT;
	if (*(volatile __u32 *)&nh->gen == gen) {
		/* The generation first, then what it covers (see above). */
		asm volatile("" ::: "memory");
		if (nh->backend_id == id && nh->in_ifindex == in && len <= nh->fit_len &&
		    now - nh->filled <= SLUICE_NH_MAX_AGE) {
			fib->ifindex = nh->ifindex;
			__builtin_memcpy(fib->dmac, nh->dmac, ETH_ALEN);
			__builtin_memcpy(fib->smac, nh->smac, ETH_ALEN);
			return BPF_FIB_LKUP_RET_SUCCESS;
		}
	}
	rc = sluice_fib_lookup(ctx, fib);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return rc;
	*(volatile __u32 *)&nh->gen = 0;
	asm volatile("" ::: "memory");
	nh->filled = now;
	nh->backend_id = id;
	nh->in_ifindex = in;
	nh->ifindex = fib->ifindex;
	nh->fit_len = len;
	__builtin_memcpy(nh->dmac, fib->dmac, ETH_ALEN);
	__builtin_memcpy(nh->smac, fib->smac, ETH_ALEN);
	asm volatile("" ::: "memory");
	*(volatile __u32 *)&nh->gen = gen;
	return rc;
}

/*
 * The FIB's answer for a nat packet towards backend be (id), from nh (may
 * be NULL) or looked up and kept there, in the per-CPU scratch's fib; -1
 * when there is none to give (another family than the backend's: the nat
 * stage refuses the packet).
 */
static __always_inline long sluice_nh_route(struct xdp_md *ctx, const struct sluice_pkt *pkt,
					    const struct sluice_backend *be, struct sluice_nh *nh,
					    __u32 id)
{
	struct sluice_scratch *sc;
	__u32 zero = 0;
	int v4;

	if (!ctx || !pkt || !be)
		return -1;
	v4 = pkt->family == ETH_P_IP;
	if (sluice_addr_is_v4(&be->addr) != v4)
		return -1;
	sc = bpf_map_lookup_elem(&sl_scratch_v2, &zero);
	if (!sc)
		return -1;
	sluice_fib_fill(&sc->fib, &pkt->src, &be->addr, v4, pkt->l4_proto, pkt->sport,
			be->port ? be->port : pkt->dport, pkt->l3_end - pkt->l3_off);
	return sluice_fib_lookup_nh(ctx, &sc->fib, nh, id);
}

/*
 * The flow stage's part: for a known flow f of a nat service, its packet's
 * FIB answer towards be, from the flow's cached next hop (sluice_nh_route);
 * -1 for any other service (the forward stage looks up). The forward stage
 * takes the answer (struct sluice_steer.fib_rc).
 *
 * Verifier workaround: the entry pointer kept live down to the forward
 * stage made every state behind the flow stage twice (a NULL and a map
 * value are never the same state) and sluice_xdp went past its 1M
 * instructions. A global subprogram is checked once, and the scalar it
 * returns is pruned like any other.
 */
__noinline long sluice_flow_route(struct xdp_md *ctx, const struct sluice_pkt *pkt,
				  const struct sluice_svc *svc, const struct sluice_backend *be,
				  struct sluice_flow *f)
{
	if (!svc || !f || svc->mode != SLUICE_MODE_NAT)
		return -1;
	return sluice_nh_route(ctx, pkt, be, &f->nh, f->backend_id);
}

/*
 * The FIB's answer for the per-CPU scratch's fib: rc when the flow stage
 * has it already (sluice_nh_route), else looked up. A subprogram, so that
 * the entry does not branch on rc twice (nat's fill, the forward stage):
 * each branch on it doubled the states behind it.
 */
__noinline long sluice_fib_answer(struct xdp_md *ctx, long rc)
{
	struct sluice_scratch *sc;
	__u32 zero = 0;

	if (rc >= 0 || !ctx)
		return rc;
	sc = bpf_map_lookup_elem(&sl_scratch_v2, &zero);
	if (!sc)
		return BPF_FIB_LKUP_RET_NOT_FWDED;
	return sluice_fib_lookup(ctx, &sc->fib);
}

/* nat's lookup towards be when the flow stage has no answer yet (rc < 0): filled, looked up. */
__noinline long sluice_nat_fib(struct xdp_md *ctx, const struct sluice_pkt *pkt,
			       const struct sluice_backend *be, long rc)
{
	if (rc >= 0)
		return rc;
	return sluice_nh_route(ctx, pkt, be, NULL, 0);
}

#endif /* SLUICE_NHCACHE_H */
