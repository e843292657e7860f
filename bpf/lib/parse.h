/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Parse stage: Ethernet, up to SLUICE_VLAN_MAX VLAN tags, IPv4 (with
 * options) or IPv6 (with a bounded walk over extension headers), then TCP or
 * UDP, into a struct sluice_pkt. Addresses come out as 16 bytes, IPv4
 * v4-mapped (::ffff:a.b.c.d), so later stages never branch on the family.
 *
 * The stage only reads the packet. It returns SLUICE_CONTINUE for a TCP or
 * UDP packet whose headers are whole, or the pass reason that ends the
 * program: NOT_IP, NOT_L4, FRAGMENT, EXT_LIMIT or MALFORMED.
 *
 * Lengths are checked twice where it matters: against data_end (what the
 * verifier needs before any read) and against the IP datagram's own length
 * (what the protocol says), so Ethernet padding after a short datagram is
 * never taken for a transport header.
 */
#ifndef SLUICE_PARSE_H
#define SLUICE_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "sluice_abi.h"
#include "common.h"

/* TCP flag bits of byte 13 (sluice_pkt.tcp_flags). */
#define SLUICE_TCP_FIN 0x01
#define SLUICE_TCP_SYN 0x02
#define SLUICE_TCP_RST 0x04
#define SLUICE_TCP_ACK 0x10

/* What the later stages know about a packet. Offsets are from ctx->data. */
struct sluice_pkt {
	union sluice_addr src; /* source address (IPv4 v4-mapped) */
	union sluice_addr dst; /* destination address (IPv4 v4-mapped) */
	__u32 l3_off;	       /* IP header */
	__u32 l4_off;	       /* TCP or UDP header */
	__u32 l3_end;	       /* first byte after the IP datagram (its total length) */
	__be16 sport;	       /* source port, network order */
	__be16 dport;	       /* destination port, network order */
	__u16 family;	       /* ETH_P_IP or ETH_P_IPV6, host order */
	__u8 l4_proto;	       /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 tcp_flags;	       /* byte 13 of the TCP header (FIN..CWR); 0 for UDP */
};

/* An 802.1Q / 802.1ad tag as it sits after the MAC addresses. */
struct sluice_vlan_hdr {
	__be16 tci;
	__be16 proto; /* EtherType of what follows */
};

/*
 * Verifier workaround: a packet pointer plus a variable offset is only
 * given a readable range by a later "p + len > data_end" test when the
 * verifier can prove the offset is at most MAX_PACKET_OFF (0xffff).
 * Offsets grow by data-dependent amounts (IPv4 ihl, IPv6 extension
 * lengths), so every header access first clamps its offset here. No real
 * XDP frame is this long: the test costs nothing on valid traffic.
 */
#define SLUICE_OFF_MAX 0x3fff

/* IPv4 fragment bits (the kernel's IP_MF/IP_OFFSET are not in the UAPI). */
#define SLUICE_IP_MF 0x2000
#define SLUICE_IP_OFFSET 0x1fff

/* A pointer to len bytes at off, or NULL when they are not all in the frame. */
static __always_inline void *sluice_hdr(struct xdp_md *ctx, __u32 off, __u32 len)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	void *p;

	if (off > SLUICE_OFF_MAX)
		return NULL;
	p = data + off;
	/*
	 * Verifier workaround: without this barrier clang may recompute
	 * data + off at the later read instead of reusing p; the recomputed
	 * register has no proven range and the read is rejected ("invalid
	 * access to packet"). The barrier makes p opaque, so the pointer that
	 * was checked is the pointer that is read.
	 */
	barrier_var(p);
	if (p + len > data_end)
		return NULL;
	return p;
}

/*
 * Two 8-byte stores, not four of 4: the flow key copies the address with
 * 8-byte loads, and a load spanning two smaller stores cannot be forwarded
 * from the store buffer (a stall of about 3 ns per packet, perf).
 */
static __always_inline void sluice_addr_v4mapped(union sluice_addr *a, __be32 v4)
{
	__u64 *w = (__u64 *)a;

	w[0] = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	w[1] = (__u64)v4 << 32 | bpf_htonl(0x0000ffff);
#else
	w[1] = (__u64)bpf_htonl(0x0000ffff) << 32 | v4;
#endif
}

/* TCP or UDP header at pkt->l4_off, inside the datagram: fills ports and flags. */
static __always_inline int sluice_parse_l4(struct xdp_md *ctx, struct sluice_pkt *pkt)
{
	__u32 off = pkt->l4_off;

	if (pkt->l4_proto == IPPROTO_TCP) {
		struct tcphdr *th = sluice_hdr(ctx, off, sizeof(*th));
		__u32 doff;

		if (!th || off + sizeof(*th) > pkt->l3_end)
			return SLUICE_R_MALFORMED;
		doff = (__u32)th->doff * 4;
		/* doff < 5 is no TCP header; past the datagram, a lie. */
		if (doff < sizeof(*th) || off + doff > pkt->l3_end)
			return SLUICE_R_MALFORMED;
		pkt->sport = th->source;
		pkt->dport = th->dest;
		pkt->tcp_flags = ((__u8 *)th)[13];
		return SLUICE_CONTINUE;
	}
	if (pkt->l4_proto == IPPROTO_UDP) {
		struct udphdr *uh = sluice_hdr(ctx, off, sizeof(*uh));
		__u32 ulen;

		if (!uh || off + sizeof(*uh) > pkt->l3_end)
			return SLUICE_R_MALFORMED;
		/* RFC 768: the length holds the header and stays in the datagram
		 * (the packet fuzzer found datagrams forwarded with a lying one). */
		ulen = bpf_ntohs(uh->len);
		if (ulen < sizeof(*uh) || off + ulen > pkt->l3_end)
			return SLUICE_R_MALFORMED;
		pkt->sport = uh->source;
		pkt->dport = uh->dest;
		return SLUICE_CONTINUE;
	}
	return SLUICE_R_NOT_L4;
}

static __always_inline int sluice_parse_ipv4(struct xdp_md *ctx, struct sluice_pkt *pkt,
					     __u32 frame_len)
{
	__u32 off = pkt->l3_off;
	struct iphdr *iph = sluice_hdr(ctx, off, sizeof(*iph));
	__u32 ihl, tot_len;
	__u8 vihl;

	if (!iph)
		return SLUICE_R_MALFORMED;
	/* Read version and ihl as one byte: no bitfield endianness games. */
	vihl = *(__u8 *)iph;
	ihl = (__u32)(vihl & 0x0f) * 4;
	tot_len = bpf_ntohs(iph->tot_len);
	if ((vihl >> 4) != 4 || ihl < sizeof(*iph))
		return SLUICE_R_MALFORMED;
	/*
	 * The datagram must hold its own header and fit in the frame; the
	 * options (ihl > 5) are then in the frame too and are never read.
	 */
	if (tot_len < ihl || off + tot_len > frame_len)
		return SLUICE_R_MALFORMED;
	sluice_addr_v4mapped(&pkt->src, iph->saddr);
	sluice_addr_v4mapped(&pkt->dst, iph->daddr);
	/* MF set or a nonzero offset: no (whole) L4 header to match on. */
	if (iph->frag_off & bpf_htons(SLUICE_IP_MF | SLUICE_IP_OFFSET))
		return SLUICE_R_FRAGMENT;
	pkt->family = ETH_P_IP;
	pkt->l4_proto = iph->protocol;
	pkt->l4_off = off + ihl;
	pkt->l3_end = off + tot_len;
	return SLUICE_CONTINUE;
}

static __always_inline int sluice_ipv6_is_ext(__u8 nexthdr)
{
	return nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING ||
	       nexthdr == IPPROTO_DSTOPTS || nexthdr == IPPROTO_AH || nexthdr == IPPROTO_FRAGMENT;
}

static __always_inline int sluice_parse_ipv6(struct xdp_md *ctx, struct sluice_pkt *pkt,
					     __u32 frame_len)
{
	__u32 off = pkt->l3_off;
	struct ipv6hdr *ip6h = sluice_hdr(ctx, off, sizeof(*ip6h));
	__u32 l3_end, l4_off;
	__u8 nexthdr;
	int i;

	if (!ip6h)
		return SLUICE_R_MALFORMED;
	if ((*(__u8 *)ip6h >> 4) != 6)
		return SLUICE_R_MALFORMED;
	l3_end = off + sizeof(*ip6h) + bpf_ntohs(ip6h->payload_len);
	if (l3_end > frame_len)
		return SLUICE_R_MALFORMED;
	__builtin_memcpy(&pkt->src, &ip6h->saddr, sizeof(pkt->src));
	__builtin_memcpy(&pkt->dst, &ip6h->daddr, sizeof(pkt->dst));
	pkt->l3_end = l3_end;
	nexthdr = ip6h->nexthdr;
	l4_off = off + sizeof(*ip6h);

	/*
	 * Walk at most SLUICE_IPV6_EXT_MAX extension headers. The bound is
	 * what lets the verifier accept the walk; the loop is unrolled so each
	 * step is verified once with its own offset range, instead of the
	 * verifier re-walking a back edge with a widening offset.
	 */
#pragma unroll
	for (i = 0; i < SLUICE_IPV6_EXT_MAX; i++) {
		__u8 *h;
		__u32 len;

		if (!sluice_ipv6_is_ext(nexthdr))
			break;
		/* The fragment header is 8 bytes; a truncated one is malformed. */
		h = sluice_hdr(ctx, l4_off, nexthdr == IPPROTO_FRAGMENT ? 8 : 2);
		if (!h)
			return SLUICE_R_MALFORMED;
		if (nexthdr == IPPROTO_FRAGMENT)
			return SLUICE_R_FRAGMENT;
		if (nexthdr == IPPROTO_AH)
			len = ((__u32)h[1] + 2) * 4;
		else
			len = ((__u32)h[1] + 1) * 8;
		if (l4_off + len > l3_end)
			return SLUICE_R_MALFORMED;
		nexthdr = h[0];
		l4_off += len;
	}
	if (sluice_ipv6_is_ext(nexthdr))
		return SLUICE_R_EXT_LIMIT;
	pkt->family = ETH_P_IPV6;
	pkt->l4_proto = nexthdr;
	pkt->l4_off = l4_off;
	return SLUICE_CONTINUE;
}

/* The stage: SLUICE_CONTINUE with *pkt filled, or the pass reason. */
static __always_inline int sluice_parse(struct xdp_md *ctx, struct sluice_pkt *pkt)
{
	__u32 frame_len = ctx->data_end - ctx->data;
	struct ethhdr *eth = sluice_hdr(ctx, 0, sizeof(*eth));
	__u32 off = sizeof(*eth);
	__be16 proto;
	int ret, i;

	if (!eth)
		return SLUICE_R_MALFORMED;
	proto = eth->h_proto;
	/*
	 * Up to SLUICE_VLAN_MAX tags (802.1ad outer, 802.1Q inner, or any
	 * mix). A frame with more tags is left to the stack as NOT_IP: it is
	 * legal framing, only deeper than this program looks.
	 */
#pragma unroll
	for (i = 0; i < SLUICE_VLAN_MAX; i++) {
		struct sluice_vlan_hdr *vh;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		vh = sluice_hdr(ctx, off, sizeof(*vh));
		if (!vh)
			return SLUICE_R_MALFORMED;
		proto = vh->proto;
		off += sizeof(*vh);
	}
	pkt->l3_off = off;
	if (proto == bpf_htons(ETH_P_IP))
		ret = sluice_parse_ipv4(ctx, pkt, frame_len);
	else if (proto == bpf_htons(ETH_P_IPV6))
		ret = sluice_parse_ipv6(ctx, pkt, frame_len);
	else
		return SLUICE_R_NOT_IP;
	if (ret != SLUICE_CONTINUE)
		return ret;
	return sluice_parse_l4(ctx, pkt);
}

#endif /* SLUICE_PARSE_H */
