/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Hygiene stages: what is dropped or left alone before it can cost
 * anything or leave state behind.
 *
 *  - sluice_other_host: a unicast frame whose destination MAC is not the
 *    interface's (the interface is in promiscuous mode: a bridge port,
 *    a capture) is not ours to serve or forward: passed untouched, as the
 *    kernel's stack would drop it (PACKET_OTHERHOST). The interface's MAC
 *    comes from sl_ifmac, written by the loader at attach; an interface
 *    without an entry is not checked.
 *  - sluice_hygiene, for a service's packets, right after the service
 *    match (before the rate limit, the flow, the bulkhead): a TCP segment
 *    with an invalid flag combination, or a packet from a martian source,
 *    is dropped and counted, never answered (a RST to a spoofed or
 *    impossible source helps no one) and never given a flow or a slot.
 *
 * Invalid TCP flags: the combinations netfilter's conntrack accepts
 * (tcp_valid_flags in nf_conntrack_proto_tcp.c) are valid, everything else
 * is not. PSH, ECE and CWR are ignored; of FIN, SYN, RST, ACK and URG the
 * valid ones are SYN, SYN+URG, SYN+ACK, RST, RST+ACK, FIN+ACK,
 * FIN+ACK+URG, ACK and ACK+URG. So SYN+FIN, SYN+RST, FIN+RST, no flags
 * (NULL), FIN without ACK, URG alone, FIN+PSH+URG (XMAS), every flag set
 * and the like are dropped (RFC 9293 3.10.7: after the SYN every segment
 * carries ACK).
 *
 * Martian sources (RFC 6890, RFC 1122 3.2.1.3; the kernel's own martian
 * check): IPv4 0.0.0.0/8, 127.0.0.0/8, 224.0.0.0/4 (multicast),
 * 240.0.0.0/4 (reserved, and 255.255.255.255); IPv6 ::, ::1, ff00::/8
 * (multicast) and ::ffff:0:0/96 (IPv4-mapped, never on the wire, and it
 * would alias an IPv4 client in the maps, which hold IPv4 that way).
 * And this host's own addresses (sl_local_addr, the VIPs it holds among
 * them): XDP sees only what arrives from the wire, the host's own traffic
 * to a service never passes here, so such a source is spoofed (the
 * kernel's fib_validate_source refuses it the same way).
 */
#ifndef SLUICE_HYGIENE_H
#define SLUICE_HYGIENE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "common.h"
#include "parse.h"

#define SLUICE_TCP_URG 0x20
/* The flag bits the validity table looks at: FIN, SYN, RST, ACK, URG. */
#define SLUICE_TCP_CHECKED 0x37
/* Bit n set: the combination n of SLUICE_TCP_CHECKED is valid (see above). */
#define SLUICE_TCP_VALID                                                                      \
	((1ull << 0x02) | (1ull << 0x22) | (1ull << 0x12) | (1ull << 0x04) | (1ull << 0x14) | \
	 (1ull << 0x11) | (1ull << 0x31) | (1ull << 0x10) | (1ull << 0x30))

/* 1 when the frame is a unicast one for another MAC than the interface's. */
static __always_inline int sluice_other_host(struct xdp_md *ctx)
{
	__u32 ifindex = ctx->ingress_ifindex;
	struct sluice_ifmac *m = bpf_map_lookup_elem(&sl_ifmac, &ifindex);
	__u8 *dst;

	if (!m || !m->set)
		return 0;
	/* The parse stage read the Ethernet header: it is in the frame. */
	dst = sluice_hdr(ctx, 0, ETH_HLEN);
	if (!dst || (dst[0] & 1)) /* broadcast, multicast: the stack's business */
		return 0;
	/* Two loads a side: 4 bytes, then 2. */
	return *(__u32 *)dst != *(__u32 *)m->mac || *(__u16 *)(dst + 4) != *(__u16 *)&m->mac[4];
}

static __always_inline int sluice_martian(const struct sluice_pkt *pkt)
{
	const union sluice_addr *a = &pkt->src;

	if (pkt->family == ETH_P_IP) {
		__u8 b = a->u8[12];

		return b == 0 || b == 127 || b >= 224;
	}
	if (a->u8[0] == 0xff)
		return 1;
	if (a->u32[0] | a->u32[1])
		return 0;
	if (a->u32[2] == bpf_htonl(0xffff))
		return 1;
	return !a->u32[2] && (!a->u32[3] || a->u32[3] == bpf_htonl(1));
}

/* 1 when the source is one of this host's own addresses. */
static __always_inline int sluice_local_source(const struct sluice_pkt *pkt)
{
	return bpf_map_lookup_elem(&sl_local_addr, &pkt->src) != NULL;
}

/*
 * SLUICE_CONTINUE, or BAD_FLAGS / MARTIAN for a service packet to drop.
 * known: the packet's flow was found (sluice_service_match). Its source
 * was checked against this host's addresses when the flow began, and is
 * part of the flow's key, so the sl_local_addr lookup (a hash of 16 bytes
 * per packet) is skipped; an address added to this host later does not
 * end the flows that already came from it.
 */
static __always_inline int sluice_hygiene(const struct sluice_pkt *pkt, __u32 known)
{
	if (pkt->l4_proto == IPPROTO_TCP &&
	    !((SLUICE_TCP_VALID >> (pkt->tcp_flags & SLUICE_TCP_CHECKED)) & 1))
		return SLUICE_R_BAD_FLAGS;
	if (sluice_martian(pkt) || (!known && sluice_local_source(pkt)))
		return SLUICE_R_MARTIAN;
	return SLUICE_CONTINUE;
}

#endif /* SLUICE_HYGIENE_H */
