/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Failover stage (issue 11): a handshake that fails on its backend moves to
 * the next one, in the kernel, before the client sees the failure.
 *
 When a TCP connection begins (a SYN), sluice_fo_record() keeps what
 * rebuilds that SYN in sl_syn_v2 (keyed like sl_flows: client -> service):
 * the ISN, window, flags byte, TTL, IPv4 TOS / IPv6 first word and the TCP
 * options as sent (raw, up to 40 bytes: MSS, window scale, SACK-permitted,
 * timestamps, whatever the client put there), whether it carried data (TCP
 * Fast Open: never replayed), and the backends tried, the last one the
 * backend it is on. It is also the connection's only state until the
 * handshake completes (flow.h: a SYN creates no flow), so it is kept even
 * for a service with failover off. Why a map of its own and not the flow
 * value: see sluice_abi.h (struct sluice_syn). The entry is marked
 * ANSWERED at the SYN-ACK (nat, passive.h) and deleted at the client's
 * first ACK (flow.h, which creates the flow then), a refusal that reaches
 * the client, or the sweep past the service's syn-timeout (unanswered: a
 * failure of its backend); the LRU takes the rest.
 *
 * A failure signal on a flow whose handshake is not answered moves it:
 *  - the client retransmits its SYN (same 5-tuple, same ISN) before any
 *    SYN-ACK was seen: nat and ipip (flow.h, sluice_flow_resteer): the
 *    backend is silent;
 *  - the backend answers the SYN with a RST, or an ICMP destination
 *    unreachable quotes it: nat only (redispatch.h, which also swallows
 *    the answer and sends the rebuilt SYN itself).
 * The move (sluice_fo_pick, sluice_fo_move) takes the next slot of the
 * Maglev table the flow's choice came from whose backend is not tried yet
 * and whose breaker admits it (the half-open probe rule included), within
 * SLUICE_BRK_NEXT_TRIES slots from the choice's own, then the service's
 * fallback backend if not tried; records it in sl_syn_v2 (tried: the flow
 * created at the handshake's end takes it, flagged MOVED), and counts
 * `moved`. The service's `retries`
 * (sl_svc_fo, default 2) bounds the moves of one connection; a failure
 * with none left (or no backend to move to) goes on as before failover
 * existed, and is counted retry_exhausted (once) if the connection had
 * moved before.
 *
 * Cost on the SYN path: one LRU lookup (a retransmission?) and one LRU
 * update of 104 bytes per SYN; on the client's first ACK one lookup and one
 * delete; at a nat SYN-ACK one lookup (the flow's is gone).
 */
#ifndef SLUICE_FAILOVER_H
#define SLUICE_FAILOVER_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "common.h"
#include "parse.h"
#include "service.h"
#include "brkcheck.h"
#include "passive.h"
#include "fwd.h"

/* The service's retries: 0 when failover is off for it. */
static __always_inline __u32 sluice_fo_retries(__u32 svc_id)
{
	struct sluice_svc_fo *fo = bpf_map_lookup_elem(&sl_svc_fo, &svc_id);
	__u32 r = fo ? fo->retries : 0;

	if (r == SLUICE_FO_RETRIES_OFF)
		return 0;
	if (!r)
		return SLUICE_FO_RETRIES_DEFAULT;
	return r > SLUICE_FO_RETRIES_MAX ? SLUICE_FO_RETRIES_MAX : r;
}

/*
 * A TCP connection begins (pkt a SYN without ACK, key its flow) of the
 * service in bits 32..63 of where, on the backend in bits 0..31
 * (SLUICE_NO_BACKEND: a local service; packed: a subprogram takes five
 * arguments at most), flags its breaker's SLUICE_FLOW_PROBE: keep its SYN,
 * its service and the time (the sweep's syn-timeout). A failed update (an LRU full of busy entries) only
 * loses its failover and its slot. A subprogram: the flow stage is inlined
 * at two places, and the options loop verified once is cheaper than twice.
 */
static __noinline int sluice_fo_record(struct xdp_md *ctx, const struct sluice_pkt *pkt,
				       const struct sluice_flow_key *key, __u64 where, __u32 flags)
{
	struct sluice_scratch *sc;
	struct sluice_syn *sp;
	struct tcphdr *th;
	__u32 doff, i, zero = 0;

	th = sluice_hdr(ctx, pkt->l4_off, sizeof(*th));
	sc = bpf_map_lookup_elem(&sl_scratch_v2, &zero);
	if (!th || !sc)
		return 0;
	sp = &sc->syn;
	__builtin_memset(sp, 0, sizeof(*sp));
	doff = (__u32)th->doff * 4;
	sp->isn = th->seq;
	sp->window = th->window;
	sp->tcp_flags = pkt->tcp_flags;
	/* parse checked l4_off + doff <= l3_end: anything after the header is data. */
	sp->has_data = pkt->l3_end - pkt->l4_off > doff;
	sp->opt_len = doff - sizeof(*th);
	sp->tries = 1;
	sp->tried[0] = (__u32)where;
	sp->svc_id = (__u32)(where >> 32);
	sp->created = bpf_ktime_get_ns();
	sp->state = flags & SLUICE_FLOW_PROBE ? SLUICE_SYN_PROBE : 0;
	if (pkt->family == ETH_P_IP) {
		struct iphdr *iph = sluice_hdr(ctx, pkt->l3_off, sizeof(*iph));

		if (!iph)
			return 0;
		sp->ip_w0 = *(__be32 *)iph;
		sp->ttl = iph->ttl;
	} else {
		struct ipv6hdr *ip6h = sluice_hdr(ctx, pkt->l3_off, sizeof(*ip6h));

		if (!ip6h)
			return 0;
		sp->ip_w0 = *(__be32 *)ip6h;
		sp->ttl = ip6h->hop_limit;
	}
	/*
	 * The options word by word: a bounded loop, unrolled, each read
	 * checked on its own (the options end where doff says, which the
	 * verifier cannot know).
	 */
#pragma unroll
	for (i = 0; i < SLUICE_SYN_OPT_MAX / 4; i++) {
		__u32 *w;

		if (i * 4 >= sp->opt_len)
			break;
		w = sluice_hdr(ctx, pkt->l4_off + sizeof(*th) + i * 4, 4);
		if (!w)
			return 0;
		__builtin_memcpy(&sp->opts[i * 4], w, 4);
	}
	bpf_map_update_elem(&sl_syn_v2, key, sp, BPF_ANY);
	return 0;
}

/* 1 when backend id is in syn's tried list. */
static __always_inline int sluice_fo_tried(const struct sluice_syn *syn, __u32 id)
{
	__u32 n = syn->tries, i;

#pragma unroll
	for (i = 0; i < SLUICE_SYN_TRIED; i++) {
		if (i >= n)
			break;
		if (syn->tried[i] == id)
			return 1;
	}
	return 0;
}

/* A backend for a flow leaving its own: untried and admitted by its breaker, or NULL. */
static __always_inline struct sluice_backend *
sluice_fo_candidate(const struct sluice_syn *syn, __u32 id, __u32 svc_id, __u32 *flags)
{
	if (id == SLUICE_NO_BACKEND || sluice_fo_tried(syn, id))
		return NULL;
	return sluice_brk_candidate(id, svc_id, flags);
}

/*
 * The backend a failed handshake moves to, for the flow sc->key of service
 * sc->fo_svc: the Maglev table sc->table_id from sc->hash's slot on (its own
 * slot first: a shard-pinned flow may never have used it), then the
 * fallback. 1 with sc->id (and sc->flags: PROBE), 0 when there is none.
 *
 * A global function: the verifier checks it once, on its own, instead of
 * at every call site with every caller's state (the rolled walk with its
 * unrolled tried-list check is the costliest part of failover to verify).
 * So it takes no argument and finds everything in the scratch and sl_syn_v2.
 */
__noinline int sluice_fo_walk(void)
{
	__u32 zero = SLUICE_MAGLEV_SIZE_SLOT, slot, m, i, id, svc_id;
	struct sluice_svc_res *res;
	struct sluice_scratch *sc;
	struct sluice_syn *syn;
	__u32 *mp, *idp;
	void *table;

	sc = bpf_map_lookup_elem(&sl_scratch_v2, &zero);
	if (!sc)
		return 0;
	syn = bpf_map_lookup_elem(&sl_syn_v2, &sc->key);
	if (!syn)
		return 0;
	svc_id = sc->fo_svc;
	sc->flags = 0;
	table = bpf_map_lookup_elem(&sl_maglev, &sc->table_id);
	mp = table ? bpf_map_lookup_elem(table, &zero) : NULL;
	if (mp && *mp) {
		m = *mp;
		slot = sluice_maglev_slot(sc->hash, m);
		/* Bounded like sluice_brk_next (same reason to keep it rolled). */
#pragma clang loop unroll(disable)
		for (i = 0; i <= SLUICE_BRK_NEXT_TRIES; i++) {
			idp = bpf_map_lookup_elem(table, &slot);
			if (!idp)
				break;
			id = *idp;
			if (sluice_fo_candidate(syn, id, svc_id, &sc->flags)) {
				sc->id = id;
				return 1;
			}
			slot = slot >= m ? 1 : slot + 1;
		}
	}
	res = bpf_map_lookup_elem(&sl_svc_res, &svc_id);
	if (!res || !res->fallback_be || res->on_open == SLUICE_ON_OPEN_FAIL_FAST)
		return 0;
	id = res->fallback_be - 1;
	if (!sluice_fo_candidate(syn, id, svc_id, &sc->flags))
		return 0;
	sc->id = id;
	return 1;
}

#define SLUICE_FO_R_MOVED 0x1	  /* the flow moved: count moved, new_flows */
#define SLUICE_FO_R_EXHAUSTED 0x2 /* first failure with no move left: count, publish */

/*
 * Ask sluice_fo_report() to count and publish signal about backend old
 * (what: SLUICE_FO_R_*; moved: to backend id).
 */
static __always_inline void sluice_fo_note(struct sluice_scratch *sc, __u32 signal, __u32 svc_id,
					   __u32 old, __u32 what, __u32 id)
{
	sc->fo_signal = signal;
	sc->fo_svc = svc_id;
	sc->fo_old = old;
	sc->fo_what = what;
	sc->fo_new = id;
}

/*
 * No move for this failure: retry_exhausted, once per connection, and only
 * for one that moved before (a failure failover never touched, as with a
 * single backend, is no retry of its).
 */
static __always_inline __u32 sluice_fo_exhausted(struct sluice_syn *syn)
{
	if ((syn->state & SLUICE_SYN_SPENT) || syn->tries < 2)
		return 0;
	syn->state |= SLUICE_SYN_SPENT;
	return SLUICE_FO_R_EXHAUSTED;
}

/*
 * Count and publish what a failover step noted in the scratch: the
 * failure signal (fast trip included), moved, retry_exhausted. A
 * subprogram of its own, called by the entry after the step: signalling
 * inlined into the steps would take their frames past the 512-byte stack
 * they share with the entry's.
 */
static __noinline int sluice_fo_report(void)
{
	struct sluice_scratch *sc;
	struct sluice_be_counter *c;
	__u32 zero = 0, what;

	sc = bpf_map_lookup_elem(&sl_scratch_v2, &zero);
	if (!sc || !(sc->fo_signal | sc->fo_what))
		return 0;
	what = sc->fo_what;
	sc->fo_what = 0;
	if (sc->fo_signal)
		sluice_signal(sc->fo_signal, sc->fo_old, sc->fo_svc);
	sc->fo_signal = 0;
	if (what & SLUICE_FO_R_MOVED) {
		sluice_fo_count(sc->fo_svc, sc->fo_old, SLUICE_FO_MOVED);
		c = bpf_map_lookup_elem(&sl_be_stats, &sc->fo_new);
		if (c)
			c->new_flows++;
	}
	if (what & SLUICE_FO_R_EXHAUSTED) {
		sluice_fo_count(sc->fo_svc, sc->fo_old, SLUICE_FO_EXHAUSTED);
		sluice_event(SLUICE_EV_RETRY_EXHAUSTED, sc->fo_old, sc->fo_svc);
	}
	return 0;
}

/* 1 when the connection may move once more (retries of the service left). */
static __always_inline int sluice_fo_budget(const struct sluice_syn *syn, __u32 svc_id)
{
	__u32 retries = sluice_fo_retries(svc_id);

	return retries && syn->tries && syn->tries - 1 < retries && syn->tries < SLUICE_SYN_TRIED;
}

/*
 * Move the handshake syn to backend id (flags: PROBE when the new backend's
 * breaker admitted it as a probe). A racing move on another CPU writes the
 * same kind of value; the last store wins, and both rebuild a SYN.
 */
static __always_inline void sluice_fo_move(struct sluice_syn *syn, __u32 id, __u32 flags)
{
	__u32 t = syn->tries;

	syn->state = (syn->state & ~SLUICE_SYN_PROBE) |
		     (flags & SLUICE_FLOW_PROBE ? SLUICE_SYN_PROBE : 0);
	if (t < SLUICE_SYN_TRIED) {
		syn->tried[t] = id;
		syn->tries = t + 1;
	}
}

/*
 * Forget the return translation of a nat flow to backend be (the key the
 * backend's answers have: be -> client). Its late answers then match
 * nothing and go to the stack, as any stray segment.
 */
static __always_inline void sluice_fo_rev_delete(struct sluice_scratch *sc,
						 const struct sluice_flow_key *fwd,
						 const struct sluice_backend *be)
{
	__builtin_memset(&sc->rkey, 0, sizeof(sc->rkey));
	sc->rkey.src = be->addr;
	sc->rkey.dst = fwd->src;
	sc->rkey.sport = be->port ? be->port : fwd->dport;
	sc->rkey.dport = fwd->sport;
	sc->rkey.proto = fwd->proto;
	bpf_map_delete_elem(&sl_nat_rev_v2, &sc->rkey);
}

/*
 * The move itself, after sluice_fo_walk() (found: its answer): the
 * handshake sc->key leaves backend sc->fo_old for sc->id; nat: its return
 * translation moves too (the old backend's late answers translate no
 * more). Noted for sluice_fo_report() either way (no backend: retry
 * exhausted; a RST's own signal is then passive.h's, on its way to the
 * client). The new backend id, or -1.
 */
static __noinline int sluice_fo_commit(int found)
{
	__u32 zero = 0, svc_id, old, id, sig;
	struct sluice_backend *be, *obe;
	struct sluice_scratch *sc;
	struct sluice_syn *syn;

	sc = bpf_map_lookup_elem(&sl_scratch_v2, &zero);
	if (!sc)
		return -1;
	svc_id = sc->fo_svc;
	old = sc->fo_old;
	id = sc->id;
	syn = bpf_map_lookup_elem(&sl_syn_v2, &sc->key);
	if (!syn)
		return -1;
	be = found ? sluice_backend_of(id, svc_id) : NULL;
	obe = sluice_backend_of(old, svc_id);
	/* nat keeps the family: a backend of the other family cannot take it. */
	if (be && sc->nat && sluice_addr_is_v4(&be->addr) != sluice_addr_is_v4(&sc->key.src))
		be = NULL;
	if (!be) {
		sig = sc->fo_signal == SLUICE_EV_REFUSED ? 0 : sc->fo_signal;
		sluice_fo_note(sc, sig, svc_id, old, sluice_fo_exhausted(syn), old);
		return -1;
	}
	sc->bport = be->port ? be->port : sc->key.dport;
	if (sc->nat && obe)
		sluice_fo_rev_delete(sc, &sc->key, obe);
	/* As for a new flow: none for a backend sl_be_rev translates the same (nat.h). */
	if (sc->nat && !(be->flags & SLUICE_BE_F_REV_STATELESS)) {
		__builtin_memset(&sc->rev, 0, sizeof(sc->rev));
		sc->rev.rev.vip = sc->key.dst;
		sc->rev.rev.vport = sc->key.dport;
		sc->rev.rev.svc_id = svc_id;
		sc->rev.rev.backend_id = id;
		sc->rkey.src = be->addr;
		sc->rkey.dst = sc->key.src;
		sc->rkey.sport = sc->bport;
		sc->rkey.dport = sc->key.sport;
		sc->rkey.proto = IPPROTO_TCP;
		bpf_map_update_elem(&sl_nat_rev_v2, &sc->rkey, &sc->rev, BPF_ANY);
	}
	sluice_fo_move(syn, id, sc->flags);
	sluice_fo_note(sc, sc->fo_signal, svc_id, old, SLUICE_FO_R_MOVED, id);
	return (int)id;
}

#endif /* SLUICE_FAILOVER_H */
