/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Next-hop cache: a flow's FIB answer kept in its entry (struct sluice_nh
 * in sl_flows and sl_nat_rev), so an established flow's packets skip
 * bpf_fib_lookup(), as katran's skip it altogether (it sends everything to
 * one configured next hop). The lookup was the largest single cost of an
 * established packet (about 35 ns of nat_est's 105: BENCHMARKS.md).
 *
 * When the cached answer holds is in the ABI (struct sluice_nh): the
 * generation sluiced bumps on every route, link and address event and
 * on a neighbour's new MAC, failure or removal, the flow's backend, the ingress interface, the length the MTU
 * check passed, and an age bound of about a second for a host where
 * nothing bumps the generation. Only a SUCCESS is kept: NO_NEIGH and every
 * other answer go to the stack each time, as before.
 *
 * Two CPUs filling the same entry write the same answer unless the FIB
 * changed between their lookups; the generation is written last (and read
 * first: compiler barriers, which suffice on x86's ordered stores and
 * loads; a weakly ordered CPU would want acquire/release), so a reader
 * takes a mixed answer at most for a packet in that moment, one the FIB
 * gave a moment ago. A stateless return translation (sl_be_rev)
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
#include "flowhash.h"
#include "service.h"
#include "encap.h"

/* The generation the cached next hops must carry; 0: caching off. */
static __always_inline __u32 sluice_nh_gen(void)
{
	__u32 zero = 0;
	__u32 *g = bpf_map_lookup_elem(&sl_nh_gen, &zero);

	return g ? *(volatile __u32 *)g : 0;
}

/* What a cached next hop must match to answer this packet (struct sluice_nh). */
struct sluice_nh_want {
	__u32 gen; /* sluice_nh_gen(); 0: no caching */
	__u32 now; /* the clock, in struct sluice_nh's units */
	__u32 id;  /* the flow's backend */
	__u32 in;  /* ingress interface */
	__u32 len; /* L3 length */
};

static __always_inline void sluice_nh_want_of(struct sluice_nh_want *w, struct xdp_md *ctx,
					      const struct sluice_pkt *pkt, __u32 id, __u64 now)
{
	w->gen = sluice_nh_gen();
	w->now = (now ? now : bpf_ktime_get_coarse_ns()) >> SLUICE_NH_TICK_SHIFT;
	w->id = id;
	w->in = ctx->ingress_ifindex;
	w->len = pkt->l3_end - pkt->l3_off;
}

/* 1 with fib's way out (egress, MACs) set when nh holds this packet's answer. */
static __always_inline int sluice_nh_use(const struct sluice_nh *nh, const struct sluice_nh_want *w,
					 struct bpf_fib_lookup *fib)
{
	if (!w->gen || *(volatile __u32 *)&nh->gen != w->gen)
		return 0;
	/* The generation first, then what it covers (see above). */
	asm volatile("" ::: "memory");
	if (nh->backend_id != w->id || nh->in_ifindex != w->in || w->len > nh->fit_len ||
	    w->now - nh->filled > SLUICE_NH_MAX_AGE)
		return 0;
	fib->ifindex = nh->ifindex;
	__builtin_memcpy(fib->dmac, nh->dmac, ETH_ALEN);
	__builtin_memcpy(fib->smac, nh->smac, ETH_ALEN);
	return 1;
}

/* Keep a successful lookup's answer in nh, the generation written last. */
static __always_inline void sluice_nh_keep(struct sluice_nh *nh, const struct sluice_nh_want *w,
					   const struct bpf_fib_lookup *fib)
{
	if (!w->gen)
		return;
	*(volatile __u32 *)&nh->gen = 0;
	asm volatile("" ::: "memory");
	nh->filled = w->now;
	nh->backend_id = w->id;
	nh->in_ifindex = w->in;
	nh->ifindex = fib->ifindex;
	nh->fit_len = w->len;
	__builtin_memcpy(nh->dmac, fib->dmac, ETH_ALEN);
	__builtin_memcpy(nh->smac, fib->smac, ETH_ALEN);
	asm volatile("" ::: "memory");
	*(volatile __u32 *)&nh->gen = w->gen;
}

/*
 * The FIB's answer towards backend be for a nat packet of a known flow f,
 * from the flow's cached next hop or looked up (and kept there), in the
 * per-CPU scratch's fib; -1 when there is none to give (another family
 * than the backend's: the nat stage refuses the packet). now: the clock
 * if the flow stage read it, else 0.
 *
 * The flow stage asks, where the flow's entry is known, and the forward
 * stage takes the answer (struct sluice_steer.fib_rc). Verifier
 * workaround: the entry pointer kept live down to the forward stage made
 * every state behind the flow stage twice (a NULL and a map value are
 * never the same state) and sluice_xdp went past its 1M instructions. A
 * global subprogram is checked once, and the scalar it returns is pruned
 * like any other.
 */
static __always_inline long sluice_flow_route_nat(struct xdp_md *ctx, const struct sluice_pkt *pkt,
						  const struct sluice_backend *be,
						  struct sluice_flow *f, __u64 now)
{
	struct sluice_nh_want w;
	struct sluice_scratch *sc;
	__u32 zero = 0;
	int v4;
	long rc;

	/* A global subprogram's pointers may be NULL to the verifier. */
	if (!ctx || !pkt || !be || !f)
		return -1;
	v4 = pkt->family == ETH_P_IP;
	sc = bpf_map_lookup_elem(&sl_scratch_v2, &zero);
	if (!sc || sluice_addr_is_v4(&be->addr) != v4)
		return -1;
	sluice_nh_want_of(&w, ctx, pkt, f->backend_id, now);
	if (sluice_nh_use(&f->nh, &w, &sc->fib))
		return BPF_FIB_LKUP_RET_SUCCESS;
	sluice_fib_fill(&sc->fib, &pkt->src, &be->addr, v4, pkt->l4_proto, pkt->sport,
			be->port ? be->port : pkt->dport, w.len);
	rc = sluice_fib_lookup(ctx, &sc->fib);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS)
		sluice_nh_keep(&f->nh, &w, &sc->fib);
	return rc;
}

/*
 * The same for an ipip flow's outer packet towards be: its source from
 * sl_config and the flow's hash (sluice_encap_src), computed on a miss
 * only; -1 when there is no source (the encap stage drops the packet).
 */
static __always_inline long sluice_flow_route_ipip(struct xdp_md *ctx, const struct sluice_pkt *pkt,
						   const struct sluice_backend *be,
						   struct sluice_flow *f, __u64 now)
{
	struct sluice_flow_key key = {};
	struct sluice_nh_want w;
	struct sluice_scratch *sc;
	struct sluice_config *cfg;
	union sluice_addr src;
	__u32 zero = 0;
	long rc;

	if (!ctx || !pkt || !be || !f)
		return -1;
	sc = bpf_map_lookup_elem(&sl_scratch_v2, &zero);
	cfg = bpf_map_lookup_elem(&sl_config, &zero);
	if (!sc || !cfg)
		return -1;
	sluice_nh_want_of(&w, ctx, pkt, f->backend_id, now);
	w.len = sluice_encap_len(pkt, be);
	if (sluice_nh_use(&f->nh, &w, &sc->fib))
		return BPF_FIB_LKUP_RET_SUCCESS;
	sluice_flow_key_of(pkt, &key);
	if (sluice_encap_src(cfg, be, sluice_flow_hash(&key, SLUICE_HASH_5TUPLE), &src))
		return -1;
	sluice_fib_fill(&sc->fib, &src, &be->addr, sluice_addr_is_v4(&be->addr),
			sluice_encap_proto(pkt), 0, 0, w.len);
	rc = sluice_fib_lookup(ctx, &sc->fib);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS)
		sluice_nh_keep(&f->nh, &w, &sc->fib);
	return rc;
}

/*
 * The flow stage's call for a known flow f of service svc (nat or ipip):
 * its packet's FIB answer, cached in the flow (the two above).
 */
__noinline long sluice_flow_route(struct xdp_md *ctx, const struct sluice_pkt *pkt,
				  const struct sluice_svc *svc, struct sluice_flow *f, __u64 now)
{
	struct sluice_backend *be;
	__u32 id;

	if (!svc || !f)
		return -1;
	id = f->backend_id;
	be = bpf_map_lookup_elem(&sl_backends, &id);
	if (!be)
		return -1;
	if (svc->mode == SLUICE_MODE_NAT)
		return sluice_flow_route_nat(ctx, pkt, be, f, now);
	return sluice_flow_route_ipip(ctx, pkt, be, f, now);
}

/*
 * The same for a nat return packet translated by rev, towards the client,
 * with nh its cached next hop (NULL: a shared sl_be_rev translation, never
 * cached). Always the FIB's answer (the fib filled, looked up).
 */
__noinline long sluice_rev_route(struct xdp_md *ctx, const struct sluice_pkt *pkt,
				 const struct sluice_nat_rev *rev, struct sluice_nh *nh)
{
	struct sluice_nh_want w;
	struct sluice_scratch *sc;
	__u32 zero = 0;
	long rc;

	sc = bpf_map_lookup_elem(&sl_scratch_v2, &zero);
	if (!ctx || !pkt || !rev || !sc)
		return BPF_FIB_LKUP_RET_NOT_FWDED;
	sluice_nh_want_of(&w, ctx, pkt, rev->backend_id, 0);
	if (nh && sluice_nh_use(nh, &w, &sc->fib))
		return BPF_FIB_LKUP_RET_SUCCESS;
	sluice_fib_fill(&sc->fib, &rev->vip, &pkt->dst, pkt->family == ETH_P_IP, pkt->l4_proto,
			rev->vport, pkt->dport, w.len);
	rc = sluice_fib_lookup(ctx, &sc->fib);
	if (nh && rc == BPF_FIB_LKUP_RET_SUCCESS)
		sluice_nh_keep(nh, &w, &sc->fib);
	return rc;
}

/*
 * The FIB's answer for the per-CPU scratch's fib: rc when the flow stage
 * has it already (sluice_flow_route), else looked up. A subprogram, so
 * that the entry does not branch on rc twice (nat's fill, the forward
 * stage): each branch on it doubled the states behind it.
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

/*
 * The scratch's fib filled for a nat packet towards be, unless the flow
 * stage has the answer already (rc >= 0: the fib holds it). 0 (a global
 * subprogram returns a scalar; nothing to read).
 */
__noinline int sluice_nat_fib_fill(const struct sluice_pkt *pkt, const struct sluice_backend *be,
				   long rc)
{
	struct sluice_scratch *sc;
	__u32 zero = 0;

	sc = bpf_map_lookup_elem(&sl_scratch_v2, &zero);
	if (rc >= 0 || !pkt || !be || !sc)
		return 0;
	sluice_fib_fill(&sc->fib, &pkt->src, &be->addr, pkt->family == ETH_P_IP, pkt->l4_proto,
			pkt->sport, be->port ? be->port : pkt->dport, pkt->l3_end - pkt->l3_off);
	return 0;
}

#endif /* SLUICE_NHCACHE_H */
