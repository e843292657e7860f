/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Trace stage, for `sluice trace`: the decision on a packet (interface,
 * reason, XDP action, service, backend, 5-tuple and the frame's first
 * bytes as received) sent to the sl_trace ring buffer. Two hooks in the
 * entry and nothing in between:
 *
 *   sluice_trace_begin()  first thing: off (sl_trace_cfg.until == 0), one
 *                         array lookup and one load, and NULL; on, the
 *                         frame's first bytes copied to the per-CPU record
 *                         before any stage rewrites them.
 *   sluice_trace_end()    at the one exit, when begin returned a record:
 *                         the filters (service, address, reason), the 1 in
 *                         N sampling, then the record out.
 *
 * The filters are checked at the exit because the service and the reason
 * are known only there; the copy at the entry is the price of tracing
 * frames as they came in (measured in BENCHMARKS.md).
 */
#ifndef SLUICE_TRACE_H
#define SLUICE_TRACE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "common.h"
#include "parse.h"

/* The per-CPU record to fill when tracing is on, else NULL. */
static __always_inline struct sluice_trace_buf *sluice_trace_begin(struct xdp_md *ctx, __u64 bytes)
{
	struct sluice_trace_cfg *tc;
	struct sluice_trace_buf *tb;
	__u32 zero = 0, len;

	tc = bpf_map_lookup_elem(&sl_trace_cfg, &zero);
	if (!tc || !tc->until)
		return NULL;
	/* The coarse clock (a tick's precision) is cheap, and plenty for a lease of seconds. */
	if (bpf_ktime_get_coarse_ns() > tc->until)
		return NULL; /* the tracer is gone: its lease ran out */
	tb = bpf_map_lookup_elem(&sl_trace_buf, &zero);
	if (!tb)
		return NULL;
	len = tc->snap;
	if (len > bytes)
		len = bytes;
	/* The helper needs a size the verifier can bound: clamp it here. */
	if (len > SLUICE_TRACE_SNAP_MAX)
		len = SLUICE_TRACE_SNAP_MAX;
	if (len && bpf_xdp_load_bytes(ctx, 0, tb->rec.data, len))
		len = 0;
	tb->rec.cap_len = len;
	return tb;
}

/* a in the filter's prefix (addr, mask: 16 bytes each, compared by words). */
static __always_inline int sluice_trace_addr_in(const union sluice_addr *a,
						const struct sluice_trace_cfg *tc)
{
	return (a->u32[0] & tc->mask.u32[0]) == tc->addr.u32[0] &&
	       (a->u32[1] & tc->mask.u32[1]) == tc->addr.u32[1] &&
	       (a->u32[2] & tc->mask.u32[2]) == tc->addr.u32[2] &&
	       (a->u32[3] & tc->mask.u32[3]) == tc->addr.u32[3];
}

/* The decision: reason, action, service and backend (SLUICE_NO_SVC / _BACKEND: none). */
static __always_inline void sluice_trace_end(struct xdp_md *ctx, struct sluice_trace_buf *tb,
					     const struct sluice_pkt *pkt, int reason, int action,
					     __u32 svc_id, __u32 backend_id, __u64 bytes)
{
	struct sluice_trace_rec *r = &tb->rec;
	struct sluice_trace_cfg *tc;
	__u32 zero = 0;

	tc = bpf_map_lookup_elem(&sl_trace_cfg, &zero);
	if (!tc)
		return;
	if ((tc->flags & SLUICE_TRACE_F_SVC) && svc_id != tc->svc_id)
		return;
	if ((tc->flags & SLUICE_TRACE_F_REASON) && !(tc->reasons & (1u << (reason & 31))))
		return;
	if ((tc->flags & SLUICE_TRACE_F_ADDR) && !sluice_trace_addr_in(&pkt->src, tc) &&
	    !sluice_trace_addr_in(&pkt->dst, tc))
		return;
	if (tc->sample > 1) {
		if (tb->sample_left) {
			tb->sample_left--;
			return;
		}
		tb->sample_left = tc->sample - 1;
	}
	r->ts_ns = bpf_ktime_get_ns();
	r->ifindex = ctx->ingress_ifindex;
	r->svc_id = svc_id;
	r->backend_id = backend_id;
	r->frame_len = bytes;
	r->reason = reason;
	r->action = action;
	r->proto = pkt->l4_proto;
	r->tcp_flags = pkt->tcp_flags;
	r->family = pkt->family;
	r->src = pkt->src;
	r->dst = pkt->dst;
	r->sport = pkt->sport;
	r->dport = pkt->dport;
	r->pad = 0;
	/* A full ring (the tracer not keeping up) loses the record, nothing else. */
	bpf_ringbuf_output(&sl_trace, r, sizeof(*r), 0);
}

#endif /* SLUICE_TRACE_H */
