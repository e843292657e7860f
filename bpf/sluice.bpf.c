// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluice_xdp: the XDP entry of the Sluice data plane.
 *
 * Calls the stages of bpf/lib in order:
 *   other host (promiscuous mode: passed untouched) ->
 *   parse -> service match (port bitmap, then the flow and sl_svc_byid, else
 *   sl_services) -> hygiene (invalid TCP flags, martian
 *   sources: dropped) -> rate limit ->
 *   local: flow (bulkhead only, when a limit applies) -> admitted
 *   nat:  TTL check -> flow -> DNAT rewrite -> untag -> forward
 *   ipip: flow -> encapsulate -> forward
 *   (flow, for a new connection: bulkhead -> shard / Maglev choice ->
 *    breaker -> flow insert, or on a leader key (SLUICE_SVC_F_LEADER)
 *    bulkhead -> leader -> flow insert; a TCP SYN inserts no flow and
 *    holds no slot: its handshake is pending in sl_syn_v2 until the client's
 *    ACK, which takes the slot and inserts the flow (SYN floods, flow.h);
 *    for a known flow of a leader key: leader check; a refusal is answered
 *    with a RST or dropped)
 *   (flow, for a pending handshake whose client retransmits its SYN:
 *    failover may move it to the next backend, failover.h)
 *   no service: [source port of no nat backend (sl_ports_v2): passed] ->
 *               return-path lookup (sl_nat_rev, else the stateless
 *               sl_be_rev: only towards a forwarded destination) -> FIB
 *               lookup -> [a RST refusing the
 *               SYN: redispatch, the rebuilt SYN forwarded to the next
 *               backend] -> passive signals -> TTL check -> SNAT rewrite
 *               -> untag -> forward
 *   ICMP / ICMPv6 (not L4): destination unreachable about a nat flow ->
 *               passive signal -> [quoting the SYN: redispatch]; else
 *               passed to the stack
 * Each stage returns SLUICE_CONTINUE or the reason that decides the packet;
 * every path leaves through the one exit at the bottom, which counts the
 * packet by reason (and per service for a service verdict, and per backend
 * for a packet sent towards one) and returns the reason's XDP action, or
 * for a forwarded packet the action the forward stage chose (XDP_TX or
 * XDP_REDIRECT), or for a refused one the refuse stage's (XDP_TX with a
 * RST, or XDP_DROP). katran's balancer_ingress has the same shape.
 *
 * Malformed packets and everything that is no service and no return
 * traffic pass to the host's stack untouched.
 *
 * sluice trace hooks the entry (the frame as received) and the exit (the
 * decision); off, that is one map lookup per packet (trace.h).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "common.h"
#include "parse.h"
#include "service.h"
#include "ratelimit.h"
#include "flowhash.h"
#include "bulkhead.h"
#include "brkcheck.h"
#include "passive.h"
#include "rst.h"
#include "cqrs.h"
#include "flow.h"
#include "nat.h"
#include "encap.h"
#include "fwd.h"
#include "redispatch.h"
#include "stats.h"
#include "trace.h"
#include "hygiene.h"

/*
 * tc.bpf.c includes this file to run the same pipeline at TC (clsact)
 * ingress: it defines its own entry and maps the verdict onto TC there.
 */
#ifndef SLUICE_ENTRY
#define SLUICE_ENTRY SEC("xdp") int sluice_xdp(struct xdp_md *ctx)
#define SLUICE_VERDICT(ctx, reason, ret) (ret)
#define SLUICE_FRAME_LEN(ctx) ((ctx)->data_end - (ctx)->data)
#endif

/* nat forward direction: rewrite towards st->be, the fib filled (nhcache.h), untag. */
static __always_inline int sluice_nat_out(struct xdp_md *ctx, const struct sluice_pkt *pkt,
					  const struct sluice_steer *st)
{
	const struct sluice_backend *be = st->be;
	int v4 = pkt->family == ETH_P_IP;
	__be16 port = be->port ? be->port : pkt->dport;
	int reason;

	/* nat keeps the family: a backend of the other family cannot take it. */
	if (sluice_addr_is_v4(&be->addr) != v4)
		return SLUICE_R_NO_BACKEND;
	reason = sluice_nat_rewrite(ctx, pkt, 0, &be->addr, port);
	if (reason != SLUICE_CONTINUE)
		return reason;
	/* Unless a known flow's answer came with the flow stage. */
	sluice_nat_fib_fill(pkt, be, st->fib_rc);
	return sluice_l2_untag(ctx, pkt);
}

/*
 * Where a return packet of a nat flow (rev its translation) goes: the
 * scratch's fib filled and looked up, or its cached next hop
 * (sluice_rev_route; it reads neither the packet: it may come before the
 * rewrite). SLUICE_CONTINUE with *rc the FIB's answer, or, for
 * a stateless translation (sl_be_rev, nat.h), NOT_SERVICE when it must
 * not apply: a destination the FIB does not forward (this host: its own
 * connections to the backend's address and port stay its own), or a TCP
 * segment with SYN, FIN or RST of a flow this gateway moved to another
 * backend.
 */
static __always_inline int sluice_nat_back_route(struct xdp_md *ctx, const struct sluice_pkt *pkt,
						 struct sluice_nat_rev *rev, int stateless,
						 long *rc)
{
	/* An sl_nat_rev entry keeps its next hop; a shared sl_be_rev one does not. */
	*rc = sluice_rev_route(ctx, pkt, rev,
			       stateless ? NULL : &((struct sluice_nat_rev_ent *)rev)->nh);
	if (!stateless)
		return SLUICE_CONTINUE;
	if (*rc != BPF_FIB_LKUP_RET_SUCCESS && *rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return SLUICE_R_NOT_SERVICE;
	if (pkt->l4_proto == IPPROTO_TCP &&
	    (pkt->tcp_flags & (SLUICE_TCP_SYN | SLUICE_TCP_FIN | SLUICE_TCP_RST)) &&
	    sluice_be_rev_stale(pkt, rev))
		return SLUICE_R_NOT_SERVICE;
	return SLUICE_CONTINUE;
}

/* Return direction of a nat flow: source back to the service, forwarded (rc: the FIB's). */
static __always_inline int sluice_nat_back(struct xdp_md *ctx, const struct sluice_pkt *pkt,
					   const struct sluice_nat_rev *rev,
					   struct bpf_fib_lookup *fib, long rc, int *action)
{
	int reason;

	reason = sluice_ttl_check(ctx, pkt);
	if (reason != SLUICE_CONTINUE)
		return reason;
	reason = sluice_nat_rewrite(ctx, pkt, 1, &rev->vip, rev->vport);
	if (reason != SLUICE_CONTINUE)
		return reason;
	reason = sluice_l2_untag(ctx, pkt);
	if (reason != SLUICE_CONTINUE)
		return reason;
	reason = sluice_forward_rc(ctx, fib, rc, action);
	return reason == SLUICE_R_FWD ? SLUICE_R_REV_NAT : reason;
}

SLUICE_ENTRY
{
	__u64 bytes = SLUICE_FRAME_LEN(ctx);
	struct bpf_fib_lookup *fib;
	struct sluice_scratch *sc;
	__u32 zero = 0;
	struct sluice_pkt pkt = {};
	struct sluice_steer st = {};
	struct sluice_svc *svc = NULL;
	struct sluice_nat_rev *rev = NULL;
	struct sluice_trace_buf *trace;
	__u32 svc_id = SLUICE_NO_SVC, known = 0;
	int action = XDP_PASS;
	int reason, ret;

	st.backend_id = SLUICE_NO_BACKEND;
	st.action = XDP_DROP;
	st.fib_rc = -1;
	trace = sluice_trace_begin(ctx, bytes);
	if (sluice_other_host(ctx)) {
		reason = SLUICE_R_OTHER_HOST;
		goto out;
	}
	reason = sluice_parse(ctx, &pkt);
	if (reason != SLUICE_CONTINUE) {
		/* ICMP errors about nat flows are breaker signals (then passed). */
		if (reason == SLUICE_R_NOT_L4) {
			int r = sluice_redispatch_icmp(ctx, &pkt);

			if (r)
				r = sluice_fo_commit(sluice_fo_walk()) >= 0;
			sluice_fo_report();
			if (r) {
				reason = sluice_syn_send(ctx, pkt.family == ETH_P_IP, &st);
				svc_id = st.svc_id;
				action = st.action;
			}
		}
		goto out;
	}
	reason = sluice_service_match(&pkt, &svc, &st.key, &st.flow, &known);
	/*
	 * Not a service: maybe a backend's reply on a nat flow, unless no nat
	 * backend has its source port (sl_ports_v2). Such a packet (the host's
	 * own traffic) is done here, before anything else is looked up.
	 */
	if (reason == SLUICE_R_NOT_SERVICE && !sluice_port_maybe(SLUICE_PORTS_RET, pkt.sport))
		goto out;
	/* The FIB lookup lives in the per-CPU scratch: see struct sluice_scratch. */
	sc = bpf_map_lookup_elem(&sl_scratch_v2, &zero);
	if (!sc) {
		reason = SLUICE_R_MALFORMED; /* cannot happen: an array of one */
		goto out;
	}
	fib = &sc->fib;
	if (reason == SLUICE_R_NOT_SERVICE) {
		int stateless;
		long rc;

		reason = sluice_nat_rev_lookup(&pkt, &rev, &stateless);
		if (reason != SLUICE_CONTINUE || !rev)
			goto out;
		reason = sluice_nat_back_route(ctx, &pkt, rev, stateless, &rc);
		if (reason != SLUICE_CONTINUE) {
			rev = NULL;
			goto out;
		}
		svc_id = rev->svc_id;
		if (pkt.l4_proto == IPPROTO_TCP && (pkt.tcp_flags & SLUICE_TCP_RST)) {
			int r = sluice_redispatch_rst(ctx, &pkt, rev);

			if (r)
				r = sluice_fo_commit(sluice_fo_walk()) >= 0;
			sluice_fo_report();
			if (r) {
				reason = sluice_syn_send(ctx, pkt.family == ETH_P_IP, &st);
				action = st.action;
				goto out;
			}
		}
		/* Only segments with SYN, FIN or RST carry a signal: one flags test. */
		if (pkt.l4_proto == IPPROTO_TCP &&
		    (pkt.tcp_flags & (SLUICE_TCP_SYN | SLUICE_TCP_FIN | SLUICE_TCP_RST)))
			sluice_signal_return(&pkt, rev);
		reason = sluice_nat_back(ctx, &pkt, rev, fib, rc, &action);
		goto out;
	}
	if (reason != SLUICE_CONTINUE || !svc)
		goto out;
	/* From here on every reason is a verdict on this service. */
	svc_id = svc->id;
	/* Before anything costs or keeps state. */
	reason = sluice_hygiene(&pkt, known);
	if (reason != SLUICE_CONTINUE)
		goto out;
	reason = sluice_ratelimit(&pkt, svc);
	if (reason != SLUICE_CONTINUE)
		goto out;
	if (svc->mode == SLUICE_MODE_NAT) {
		/* Before the flow stage: an expiring packet creates no state. */
		reason = sluice_ttl_check(ctx, &pkt);
		if (reason != SLUICE_CONTINUE)
			goto out;
	}
	/*
	 * One call for every mode (local leaves after it): the flow stage is
	 * inlined, and a second copy put sluice_xdp over the verifier's limit.
	 */
	reason = sluice_flow(ctx, &pkt, svc, svc_id, &st);
	if (reason != SLUICE_CONTINUE || !st.be || svc->mode == SLUICE_MODE_LOCAL)
		goto out;
	if (svc->mode == SLUICE_MODE_NAT) {
		if (st.new_flow && !(st.be->flags & SLUICE_BE_F_REV_STATELESS))
			sluice_nat_rev_insert(&st.key, st.be, svc_id, st.backend_id);
		reason = sluice_nat_out(ctx, &pkt, &st);
	} else {
		reason = sluice_encap(ctx, &pkt, st.be,
				      sluice_flow_hash(&st.key, SLUICE_HASH_5TUPLE), st.fib_rc);
	}
	if (reason != SLUICE_CONTINUE)
		goto out;
	reason = sluice_forward_rc(ctx, fib, sluice_fib_answer(ctx, st.fib_rc), &action);
out:
	sluice_count(reason, svc_id, bytes);
	if (reason == SLUICE_R_FWD || reason == SLUICE_R_FWD_STACK) {
		if (st.backend_id != SLUICE_NO_BACKEND)
			sluice_count_backend(st.backend_id, bytes);
	}
	if (reason == SLUICE_R_FWD || reason == SLUICE_R_REV_NAT)
		ret = action;
	else if (SLUICE_R_IS_REFUSAL(reason))
		ret = st.action;
	else
		ret = sluice_reason_action(reason);
	if (trace)
		sluice_trace_end(ctx, trace, &pkt, reason, ret, svc_id,
				 rev ? rev->backend_id : st.backend_id, bytes);
	return SLUICE_VERDICT(ctx, reason, ret);
}

char LICENSE[] SEC("license") = "GPL";
