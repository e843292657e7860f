/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Forward stage: next hop and egress from bpf_fib_lookup, new MACs, and the
 * way out: XDP_TX when the egress is the interface the packet came in on,
 * else bpf_redirect() to the egress.
 *
 * tot_len is the L3 length the packet leaves with, so the kernel checks it
 * against the egress MTU (an ipip packet grown past it gets FRAG_NEEDED:
 * dropped, TOO_BIG). NO_NEIGH, and every other result the kernel cannot
 * forward from here (no route, blackhole, forwarding disabled...), passes
 * the already rewritten packet to the stack, which resolves the neighbour
 * or answers with ICMP: FWD_STACK.
 *
 * Also here: making the L2 header a plain untagged Ethernet header for a
 * nat packet that came in with VLAN tags (the tags belong to the ingress
 * link, not to the egress the FIB picks).
 */
#ifndef SLUICE_FWD_H
#define SLUICE_FWD_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "sluice_abi.h"
#include "common.h"
#include "parse.h"

/* Address families of struct bpf_fib_lookup (<sys/socket.h> is not for BPF). */
#define SLUICE_AF_INET 2
#define SLUICE_AF_INET6 10

/* 1 when a is IPv4 (::ffff:a.b.c.d). */
static __always_inline int sluice_addr_is_v4(const union sluice_addr *a)
{
	return !a->u32[0] && !a->u32[1] && a->u32[2] == bpf_htonl(0x0000ffff);
}

/* The lookup for a packet from src to dst (same family) of tot_len L3 bytes. */
static __always_inline void sluice_fib_fill(struct bpf_fib_lookup *fib,
					    const union sluice_addr *src,
					    const union sluice_addr *dst, int v4, __u8 proto,
					    __be16 sport, __be16 dport, __u32 tot_len)
{
	/* Here, not per packet at the entry: only a forwarded packet needs it. */
	__builtin_memset(fib, 0, sizeof(*fib));
	if (v4) {
		fib->family = SLUICE_AF_INET;
		fib->ipv4_src = src->u32[3];
		fib->ipv4_dst = dst->u32[3];
	} else {
		fib->family = SLUICE_AF_INET6;
		__builtin_memcpy(fib->ipv6_src, src, sizeof(fib->ipv6_src));
		__builtin_memcpy(fib->ipv6_dst, dst, sizeof(fib->ipv6_dst));
	}
	fib->l4_protocol = proto;
	fib->sport = sport;
	fib->dport = dport;
	fib->tot_len = tot_len;
}

/*
 * Drop the VLAN tags (l3_off - ETH_HLEN bytes) of a frame, keeping its
 * MACs: the frame becomes MACs, EtherType of family, L3. SLUICE_CONTINUE,
 * or MALFORMED if the head cannot move (it always can: it shrinks).
 */
static __always_inline int sluice_l2_untag(struct xdp_md *ctx, const struct sluice_pkt *pkt)
{
	int tags = (int)pkt->l3_off - ETH_HLEN;
	struct ethhdr *eth;
	__u8 macs[2 * ETH_ALEN];

	if (tags <= 0)
		return SLUICE_CONTINUE;
	eth = sluice_hdr(ctx, 0, sizeof(*eth));
	if (!eth)
		return SLUICE_R_MALFORMED;
	__builtin_memcpy(macs, eth, sizeof(macs));
	if (bpf_xdp_adjust_head(ctx, tags))
		return SLUICE_R_MALFORMED;
	/* adjust_head invalidated every packet pointer: fetch the header again. */
	eth = sluice_hdr(ctx, 0, sizeof(*eth));
	if (!eth)
		return SLUICE_R_MALFORMED;
	__builtin_memcpy(eth, macs, sizeof(macs));
	eth->h_proto = bpf_htons(pkt->family);
	return SLUICE_CONTINUE;
}

/* The FIB's answer for fib (filled by sluice_fib_fill) from the ingress interface. */
static __always_inline long sluice_fib_lookup(struct xdp_md *ctx, struct bpf_fib_lookup *fib)
{
	fib->ifindex = ctx->ingress_ifindex;
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
}

/*
 * The stage's second half, once the FIB answered rc (sluice_fib_lookup;
 * it reads the lookup, never the packet, so it may come before a rewrite).
 * The frame starts with an untagged Ethernet header. Returns FWD with
 * *action XDP_TX or XDP_REDIRECT, FWD_STACK (pass), or TOO_BIG (drop).
 */
static __always_inline int sluice_forward_rc(struct xdp_md *ctx, struct bpf_fib_lookup *fib,
					     long rc, int *action)
{
	__u32 in = ctx->ingress_ifindex;
	struct ethhdr *eth;

	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return SLUICE_R_TOO_BIG;
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return SLUICE_R_FWD_STACK;
	eth = sluice_hdr(ctx, 0, sizeof(*eth));
	if (!eth)
		return SLUICE_R_FWD_STACK;
	__builtin_memcpy(eth->h_dest, fib->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib->smac, ETH_ALEN);
	if (fib->ifindex == in)
		*action = XDP_TX;
	else
		*action = bpf_redirect(fib->ifindex, 0);
	return SLUICE_R_FWD;
}

/* The stage: lookup, then sluice_forward_rc(). fib is filled (sluice_fib_fill). */
static __always_inline int sluice_forward(struct xdp_md *ctx, struct bpf_fib_lookup *fib,
					  int *action)
{
	return sluice_forward_rc(ctx, fib, sluice_fib_lookup(ctx, fib), action);
}

#endif /* SLUICE_FWD_H */
