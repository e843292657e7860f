// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluice_tc: the data plane at TC (clsact) ingress, for interfaces without
 * native XDP (`sluice iface attach DEV --hook tc`). The pipeline is
 * sluice.bpf.c's, compiled once more with an __sk_buff for its context:
 * bpf/lib is written against struct xdp_md, so the few XDP-only things
 * it uses are mapped here onto their TC equivalents, and the entry maps
 * the XDP verdict onto a TC action. Same maps (the loader reuses the pins),
 * same counters, same reasons.
 *
 * What differs at TC:
 *   - the frame may be non-linear: it is pulled whole first, so the
 *     lib's direct packet access and data_end - data (its length) hold;
 *   - moving the frame's start (bpf_xdp_adjust_head) becomes popping the
 *     VLAN tags and inserting or removing room behind the Ethernet header
 *     (bpf_skb_adjust_room, MAC mode): every caller rewrites the Ethernet
 *     header and what it grew afterwards, so the frame is the same, and
 *     the skb's header offsets follow (a frame passed to the stack is
 *     parsed right);
 *   - XDP_TX is a redirect to the device's own egress;
 *   - the outer VLAN tag is skb metadata (vlan_tci), not in the frame:
 *     where XDP untags (a forwarded or rewritten frame), the tag is popped;
 *     a refusal's RST leaves tagged, as it came;
 *   - bytes rewritten by direct access leave skb->csum stale: for such a
 *     frame the checksum state is reset (CHECKSUM_NONE), so a receiver
 *     verifies the checksums the pipeline keeps right. A frame with
 *     CHECKSUM_PARTIAL (sent by a local socket with TX offload, as over a
 *     veth) carries an unfinished L4 checksum the pipeline cannot update:
 *     senders must put complete checksums on the wire, as for XDP.
 */
/*
 * CO-RE accesses to the context: clang 14 otherwise computes &ctx->data
 * once and keeps it on the stack, a modified context pointer the verifier
 * refuses (XDP's data is at offset 0, so there it never shows).
 */
#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)
#include <linux/bpf.h>
#pragma clang attribute pop
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define xdp_md __sk_buff

/*
 * bpf_xdp_adjust_head(ctx, delta): the frame ends delta bytes shorter. Each
 * caller (untag, encapsulate, rebuild a SYN) leaves the frame untagged, so
 * the tags go first, the outer one in vlan_tci too (bpf_skb_adjust_room
 * needs an IP skb->protocol); then room is inserted or removed behind the
 * Ethernet header to the length wanted.
 */
static __always_inline long sluice_tc_adjust_head(struct __sk_buff *skb, int delta)
{
	__u32 want = skb->len - delta;
	int i;

	for (i = 0; i < 4; i++) { /* the parse stage's SLUICE_VLAN_MAX, and vlan_tci */
		if (!skb->vlan_present && skb->protocol != bpf_htons(ETH_P_8021Q) &&
		    skb->protocol != bpf_htons(ETH_P_8021AD))
			break;
		if (bpf_skb_vlan_pop(skb))
			return -1;
	}
	if (want == skb->len)
		return 0;
	return bpf_skb_adjust_room(skb, (int)(want - skb->len), BPF_ADJ_ROOM_MAC, 0);
}

#define bpf_xdp_adjust_head(ctx, delta) sluice_tc_adjust_head(ctx, delta)
#define bpf_xdp_adjust_tail(ctx, delta) bpf_skb_change_tail(ctx, (ctx)->len + (delta), 0)
#define bpf_xdp_get_buff_len(ctx) ((__u64)(ctx)->len)
#define bpf_xdp_load_bytes(ctx, off, buf, len) bpf_skb_load_bytes(ctx, off, buf, len)

#include "sluice_abi.h"
#include "common.h"

/* The pipeline's XDP verdict as a TC action (XDP_REDIRECT: bpf_redirect() was called). */
static __always_inline int sluice_tc_verdict(struct __sk_buff *skb, int reason, int ret)
{
	int refusal = SLUICE_R_IS_REFUSAL(reason);
	int sent = ret == XDP_TX || ret == XDP_REDIRECT;

	if (sent || reason == SLUICE_R_FWD_STACK) {
		/* Rewritten: see the top of the file. */
		bpf_csum_level(skb, BPF_CSUM_LEVEL_RESET);
		if (!refusal && skb->vlan_present)
			bpf_skb_vlan_pop(skb);
	}
	if (ret == XDP_TX)
		return bpf_redirect(skb->ifindex, 0);
	if (ret == XDP_REDIRECT)
		return TC_ACT_REDIRECT;
	if (ret == XDP_PASS)
		return TC_ACT_OK;
	return TC_ACT_SHOT;
}

/*
 * The forward stage keeps bpf_redirect()'s result as its action: XDP's
 * value for it, so the exit (and sluice trace) see the same actions.
 */
#define bpf_redirect(ifindex, flags) \
	(bpf_redirect(ifindex, flags) == TC_ACT_REDIRECT ? XDP_REDIRECT : XDP_ABORTED)

#define SLUICE_ENTRY static __always_inline int sluice_pipeline(struct __sk_buff *ctx)
#define SLUICE_VERDICT(ctx, reason, ret) sluice_tc_verdict(ctx, reason, ret)
/* The whole frame is linear (below): its length is the skb's. */
#define SLUICE_FRAME_LEN(ctx) ((ctx)->len)

#include "sluice.bpf.c"

SEC("tc")
int sluice_tc(struct __sk_buff *skb)
{
	/*
	 * Linear and writable, so that the pipeline's direct access sees the
	 * whole frame (cheap when it already is: no test here, as one on
	 * data_end has clang keep pointers into the context the verifier
	 * refuses).
	 */
	if (bpf_skb_pull_data(skb, skb->len))
		return TC_ACT_OK; /* cannot: the stack's business, as a malformed frame */
	return sluice_pipeline(skb);
}
