/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Refuse stage: how a refused connection (bulkhead full, every breaker
 * choice open, no leader, the leader moved) is answered, per
 * sl_svc_res.refuse: a TCP segment gets a RST sent straight back out of
 * the interface it came in on (XDP_TX), the fail-fast answer a client sees
 * at once as "connection refused" (a SYN) or "connection reset"; with
 * SLUICE_REFUSE_DROP, for UDP, and for a segment that is itself a RST
 * (never answered), the packet is dropped.
 *
 * The RST is the segment turned around in place, as the kernel's own
 * tcp_v4_send_reset answers (RFC 9293 3.10.7.1): MACs swapped (VLAN tags
 * kept as they are: the answer goes back on the same link), addresses and
 * ports swapped, window 0, no options, and
 *  - a segment without ACK (a SYN): seq 0, ack = its seq + its length
 *    (data, + 1 for SYN, + 1 for FIN), flags RST+ACK;
 *  - a segment with ACK (an established flow's): seq = its ack, ack 0,
 *    flags RST: the one sequence number the client takes a RST at without
 *    a challenge (RFC 5961 3.2: exactly its RCV.NXT). The IP
 * header is rebuilt at its fixed size (IPv4: 20 bytes, id 0, DF, TTL 64;
 * IPv6: 40 bytes, no extension headers, hop limit 64), the TCP header
 * right behind it, and the frame is cut after the TCP header with
 * bpf_xdp_adjust_tail (the SYN's options, extension headers, data and any
 * Ethernet padding go). Both checksums are computed from scratch over
 * these fixed-size headers (no incremental update: nothing of the SYN's
 * checksums is worth keeping).
 */
#ifndef SLUICE_RST_H
#define SLUICE_RST_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "sluice_abi.h"
#include "common.h"
#include "parse.h"
#include "csum.h"
#include "bulkhead.h"

#define SLUICE_RST_TTL 64
#define SLUICE_RST_DF 0x4000

/* Sum of n 32-bit words at p, in memory order (see csum.h: order-independent). */
static __always_inline __u64 sluice_csum_words(const __u32 *p, int n)
{
	__u64 s = 0;
	int i;

#pragma unroll
	for (i = 0; i < n; i++)
		s += p[i];
	return s;
}

/*
 * Turn the TCP segment in ctx into its RST. 0, or -1 when a header is gone
 * or the frame cannot be cut (the caller drops the packet then).
 */
static __always_inline int sluice_rst_craft(struct xdp_md *ctx, const struct sluice_pkt *pkt)
{
	int v4 = pkt->family == ETH_P_IP;
	__u32 l3 = pkt->l3_off;
	__u32 iplen = v4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	__u32 len = l3 + iplen + sizeof(struct tcphdr);
	__u8 macs[2 * ETH_ALEN];
	struct tcphdr *th;
	__u8 tf = pkt->tcp_flags, rflags = SLUICE_TCP_RST;
	__be32 rseq = 0, rack = 0;
	__u32 doff, data, *w;
	__u64 sum;
	__u8 *eth;

	/* Everything the answer needs from the segment, before the frame changes. */
	th = sluice_hdr(ctx, pkt->l4_off, sizeof(*th));
	eth = sluice_hdr(ctx, 0, sizeof(macs));
	if (!th || !eth)
		return -1;
	if (tf & SLUICE_TCP_ACK) {
		rseq = th->ack_seq;
	} else {
		doff = (__u32)th->doff * 4;
		/* parse checked l4_off + doff <= l3_end: data is what the segment carried. */
		data = pkt->l3_end - pkt->l4_off - doff;
		/* SYN and FIN take a sequence number each. */
		data += !!(tf & SLUICE_TCP_SYN) + !!(tf & SLUICE_TCP_FIN);
		rack = bpf_htonl(bpf_ntohl(th->seq) + data);
		rflags |= SLUICE_TCP_ACK;
	}
	__builtin_memcpy(macs, eth + ETH_ALEN, ETH_ALEN);
	__builtin_memcpy(macs + ETH_ALEN, eth, ETH_ALEN);

	/*
	 * Cut the frame after the new TCP header (it only ever shrinks).
	 * Verifier workaround: the frame length comes from
	 * bpf_xdp_get_buff_len(), not ctx->data_end - ctx->data: clang folds
	 * that difference into the delta's arithmetic as 32-bit math on the
	 * packet pointers themselves, which the verifier rejects ("32-bit
	 * pointer arithmetic prohibited"). The helper's result is a plain
	 * scalar (and also counts fragments, which adjust_tail trims first).
	 */
	if (bpf_xdp_adjust_tail(ctx, (int)len - (int)bpf_xdp_get_buff_len(ctx)))
		return -1;
	/*
	 * adjust_tail invalidated every packet pointer: fetch the headers
	 * again. Each check has a constant length from an offset sluice_hdr
	 * clamps (l3 is 14 + the VLAN tags), so the verifier can prove every
	 * write below in range without knowing l3.
	 */
	eth = sluice_hdr(ctx, 0, sizeof(macs));
	if (!eth)
		return -1;
	__builtin_memcpy(eth, macs, sizeof(macs));

	if (v4) {
		struct iphdr *iph = sluice_hdr(ctx, l3, sizeof(*iph) + sizeof(*th));

		if (!iph)
			return -1;
		th = (struct tcphdr *)(iph + 1);
		*(__u8 *)iph = 0x45; /* version 4, ihl 5 */
		iph->tos = 0;
		iph->tot_len = bpf_htons(sizeof(*iph) + sizeof(*th));
		iph->id = 0;
		iph->frag_off = bpf_htons(SLUICE_RST_DF);
		iph->ttl = SLUICE_RST_TTL;
		iph->protocol = IPPROTO_TCP;
		iph->check = 0;
		iph->saddr = pkt->dst.u32[3];
		iph->daddr = pkt->src.u32[3];
		w = (__u32 *)iph;
		iph->check = (__u16)~sluice_csum_fold(sluice_csum_words(w, 5));
		/* Pseudo-header: addresses, then zero, protocol, TCP length as one word. */
		sum = (__u64)iph->saddr + iph->daddr + bpf_htonl((IPPROTO_TCP << 16) | sizeof(*th));
	} else {
		struct ipv6hdr *ip6h = sluice_hdr(ctx, l3, sizeof(*ip6h) + sizeof(*th));

		if (!ip6h)
			return -1;
		th = (struct tcphdr *)(ip6h + 1);
		/* Version 6, traffic class 0, flow label 0. */
		*(__be32 *)ip6h = bpf_htonl(0x60000000);
		ip6h->payload_len = bpf_htons(sizeof(*th));
		ip6h->nexthdr = IPPROTO_TCP;
		ip6h->hop_limit = SLUICE_RST_TTL;
		__builtin_memcpy(&ip6h->saddr, &pkt->dst, sizeof(pkt->dst));
		__builtin_memcpy(&ip6h->daddr, &pkt->src, sizeof(pkt->src));
		/* Pseudo-header (RFC 8200 8.1): addresses, length, next header. */
		sum = sluice_csum_words(pkt->dst.u32, 4) + sluice_csum_words(pkt->src.u32, 4) +
		      bpf_htonl(sizeof(*th)) + bpf_htonl(IPPROTO_TCP);
	}
	th->source = pkt->dport;
	th->dest = pkt->sport;
	th->seq = rseq;
	th->ack_seq = rack;
	/* doff 5, and no flags but RST (and ACK). */
	((__u8 *)th)[12] = (sizeof(*th) / 4) << 4;
	((__u8 *)th)[13] = rflags;
	th->window = 0;
	th->check = 0;
	th->urg_ptr = 0;
	w = (__u32 *)th;
	th->check = (__u16)~sluice_csum_fold(sum + sluice_csum_words(w, 5));
	return 0;
}

/*
 * The answer to a refused connection (reason BH_SERVICE, BH_GLOBAL,
 * BRK_OPEN, NO_LEADER, LEADER_MOVED): *action XDP_TX with the frame turned
 * into a RST, or XDP_DROP.
 */
static __always_inline void sluice_refuse(struct xdp_md *ctx, const struct sluice_pkt *pkt,
					  const struct sluice_bh_limits *lim, int *action)
{
	*action = XDP_DROP;
	/* RFC 9293 3.10.7.1: a RST is never answered with a RST. */
	if (pkt->l4_proto == IPPROTO_TCP && lim->refuse == SLUICE_REFUSE_RST &&
	    !(pkt->tcp_flags & SLUICE_TCP_RST) && !sluice_rst_craft(ctx, pkt))
		*action = XDP_TX;
}

#endif /* SLUICE_RST_H */
