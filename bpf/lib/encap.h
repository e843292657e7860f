/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Encap stage (ipip services): put the packet, from its IP header on,
 * inside a new outer IP header addressed to the backend, behind a fresh
 * untagged Ethernet header (VLAN tags are dropped: they belong to the
 * ingress link). The backend decapsulates and answers the client directly
 * (DSR), so there is no return path through the gateway.
 *
 * Outer header: the backend's family (IPv4 for an IPv4 backend, IPv6 for
 * an IPv6 one), protocol 4 (IPIP) for an IPv4 inner packet, 41 (IPv6) for
 * an IPv6 one; TTL / hop limit 64; IPv4 with DF set, id 0, the inner TOS.
 * The source is sl_config.encap_src4/6 with its low 16 bits XORed with the
 * flow's 5-tuple hash: one gateway address plus 16 bits of flow entropy,
 * so the backend's NIC spreads the flows over its receive queues (RSS hashes
 * the outer addresses of a tunnel packet). An unset source (all zero)
 * drops the packet: ENCAP_FAIL. So does a frame without headroom.
 * The inner packet is not touched (no TTL decrement: the backend sees what
 * the client sent, as Katran does).
 */
#ifndef SLUICE_ENCAP_H
#define SLUICE_ENCAP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "common.h"
#include "parse.h"
#include "csum.h"
#include "fwd.h"

#define SLUICE_ENCAP_TTL 64
#define SLUICE_IP_DF 0x4000

/*
 * Move the head so the frame has room for a plain Ethernet header plus
 * outer_len bytes in front of the inner L3 header, and write the Ethernet
 * header (original MACs: the forward stage replaces them; a packet passed
 * to the stack keeps them). Returns a pointer to the outer header or NULL.
 */
static __always_inline void *sluice_encap_room(struct xdp_md *ctx, const struct sluice_pkt *pkt,
					       __u32 outer_len, __u16 outer_family)
{
	/* Grow by the outer header, less the VLAN tags the frame loses. */
	int delta = (int)outer_len - ((int)pkt->l3_off - ETH_HLEN);
	__u8 macs[2 * ETH_ALEN];
	struct ethhdr *eth;

	eth = sluice_hdr(ctx, 0, sizeof(*eth));
	if (!eth)
		return NULL;
	__builtin_memcpy(macs, eth, sizeof(macs));
	if (bpf_xdp_adjust_head(ctx, -delta))
		return NULL;
	/* adjust_head invalidated every packet pointer: fetch them again. */
	eth = sluice_hdr(ctx, 0, sizeof(*eth) + outer_len);
	if (!eth)
		return NULL;
	__builtin_memcpy(eth, macs, sizeof(macs));
	eth->h_proto = bpf_htons(outer_family);
	return eth + 1;
}

/*
 * The outer source of a flow towards be (hash: the flow's 5-tuple hash):
 * 0 with *src set, or -1 when sl_config has none for be's family.
 */
static __always_inline int sluice_encap_src(const struct sluice_config *cfg,
					    const struct sluice_backend *be, __u32 hash,
					    union sluice_addr *src)
{
	if (sluice_addr_is_v4(&be->addr)) {
		*src = cfg->encap_src4;
		if (!src->u32[3])
			return -1;
		src->u32[3] ^= bpf_htonl(hash & 0xffff);
		return 0;
	}
	*src = cfg->encap_src6;
	if (!(src->u32[0] | src->u32[1] | src->u32[2] | src->u32[3]))
		return -1;
	src->u16[7] ^= bpf_htons(hash & 0xffff);
	return 0;
}

/* The protocol of the outer header: what it carries. */
static __always_inline __u8 sluice_encap_proto(const struct sluice_pkt *pkt)
{
	return pkt->family == ETH_P_IP ? IPPROTO_IPIP : IPPROTO_IPV6;
}

/* The outer packet's L3 length. */
static __always_inline __u32 sluice_encap_len(const struct sluice_pkt *pkt,
					      const struct sluice_backend *be)
{
	return pkt->l3_end - pkt->l3_off +
	       (sluice_addr_is_v4(&be->addr) ? sizeof(struct iphdr) : sizeof(struct ipv6hdr));
}

/*
 * The per-CPU scratch's fib filled for the outer packet from src to be,
 * unless the flow stage has the answer already (rc >= 0: the fib holds it,
 * nhcache.h). A global subprogram, as sluice_nat_fib_fill. 0.
 */
__noinline int sluice_encap_fib_fill(const union sluice_addr *src, const struct sluice_backend *be,
				     __u32 proto, __u32 tot_len, long rc)
{
	struct sluice_scratch *sc;
	__u32 zero = 0;

	sc = bpf_map_lookup_elem(&sl_scratch_v2, &zero);
	if (rc >= 0 || !src || !be || !sc)
		return 0;
	sluice_fib_fill(&sc->fib, src, &be->addr, sluice_addr_is_v4(&be->addr), proto, 0, 0,
			tot_len);
	return 0;
}

/*
 * The stage: SLUICE_CONTINUE with the scratch's fib filled for the outer
 * packet (or its answer there already: rc, as sluice_encap_fib_fill), or
 * ENCAP_FAIL. hash is the flow's 5-tuple hash.
 */
static __always_inline int sluice_encap(struct xdp_md *ctx, const struct sluice_pkt *pkt,
					const struct sluice_backend *be, __u32 hash, long rc)
{
	__u8 inner_proto = sluice_encap_proto(pkt);
	__u32 inner_len = pkt->l3_end - pkt->l3_off;
	struct sluice_config *cfg;
	union sluice_addr src;
	__u32 zero = 0;
	__u8 tos = 0;

	cfg = bpf_map_lookup_elem(&sl_config, &zero);
	if (!cfg || sluice_encap_src(cfg, be, hash, &src))
		return SLUICE_R_ENCAP_FAIL;
	if (pkt->family == ETH_P_IP) {
		struct iphdr *inner = sluice_hdr(ctx, pkt->l3_off, sizeof(*inner));

		if (!inner)
			return SLUICE_R_ENCAP_FAIL;
		tos = inner->tos;
	}

	if (sluice_addr_is_v4(&be->addr)) {
		__u32 tot_len = inner_len + sizeof(struct iphdr);
		struct iphdr *iph;
		__u32 *w;
		__u64 sum;

		iph = sluice_encap_room(ctx, pkt, sizeof(*iph), ETH_P_IP);
		if (!iph)
			return SLUICE_R_ENCAP_FAIL;
		*(__u8 *)iph = 0x45; /* version 4, ihl 5 */
		iph->tos = tos;
		iph->tot_len = bpf_htons(tot_len);
		iph->id = 0;
		iph->frag_off = bpf_htons(SLUICE_IP_DF);
		iph->ttl = SLUICE_ENCAP_TTL;
		iph->protocol = inner_proto;
		iph->check = 0;
		iph->saddr = src.u32[3];
		iph->daddr = be->addr.u32[3];
		/* A fresh header: checksum from scratch, its 5 words summed. */
		w = (__u32 *)iph;
		sum = (__u64)w[0] + w[1] + w[2] + w[3] + w[4];
		iph->check = (__u16)~sluice_csum_fold(sum);
	} else {
		struct ipv6hdr *ip6h;

		ip6h = sluice_encap_room(ctx, pkt, sizeof(*ip6h), ETH_P_IPV6);
		if (!ip6h)
			return SLUICE_R_ENCAP_FAIL;
		/* Version 6, traffic class 0, flow label 0. */
		*(__be32 *)ip6h = bpf_htonl(0x60000000);
		ip6h->payload_len = bpf_htons(inner_len);
		ip6h->nexthdr = inner_proto;
		ip6h->hop_limit = SLUICE_ENCAP_TTL;
		__builtin_memcpy(&ip6h->saddr, &src, sizeof(src));
		__builtin_memcpy(&ip6h->daddr, &be->addr, sizeof(be->addr));
	}
	sluice_encap_fib_fill(&src, be, inner_proto, sluice_encap_len(pkt, be), rc);
	return SLUICE_CONTINUE;
}

#endif /* SLUICE_ENCAP_H */
