// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluice_decap: the backend side of ipip mode, in XDP.
 *
 * This kernel has no ipip / ip6tnl modules, so a backend cannot terminate
 * the tunnel in the stack: this program, attached to the backend's
 * interface, strips an outer IPv4 header carrying protocol 4 (IPIP) or 41
 * (IPv6) and an outer IPv6 header whose next header is 4 or 41, and passes
 * the inner packet to the stack behind an Ethernet header with the frame's
 * own MACs and the inner packet's EtherType. The backend then answers the
 * client directly (DSR). Everything else (tagged frames, fragments, other
 * protocols, truncated headers) passes untouched.
 *
 * It is also the "XDP program on the veth peer" that XDP_REDIRECT into a
 * veth needs: veth delivers redirected frames only when its peer runs one.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "parse.h"

/* Bytes of outer header to strip and the inner EtherType, or 0. */
static __always_inline __u32 decap_outer(struct xdp_md *ctx, __be16 proto, __be16 *inner)
{
	__u8 next;
	__u32 len;

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = sluice_hdr(ctx, ETH_HLEN, sizeof(*iph));

		if (!iph || (*(__u8 *)iph >> 4) != 4)
			return 0;
		/* A fragment of a tunnel packet is left to the stack to reassemble. */
		if (iph->frag_off & bpf_htons(SLUICE_IP_MF | SLUICE_IP_OFFSET))
			return 0;
		len = (__u32)(*(__u8 *)iph & 0x0f) * 4;
		if (len < sizeof(*iph))
			return 0;
		next = iph->protocol;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = sluice_hdr(ctx, ETH_HLEN, sizeof(*ip6h));

		if (!ip6h || (*(__u8 *)ip6h >> 4) != 6)
			return 0;
		len = sizeof(*ip6h);
		next = ip6h->nexthdr;
	} else {
		return 0;
	}
	if (next == IPPROTO_IPIP)
		*inner = bpf_htons(ETH_P_IP);
	else if (next == IPPROTO_IPV6)
		*inner = bpf_htons(ETH_P_IPV6);
	else
		return 0;
	/* The inner IP header must be there: its first byte at least. */
	if (!sluice_hdr(ctx, ETH_HLEN + len, 1))
		return 0;
	return len;
}

SEC("xdp")
int sluice_decap(struct xdp_md *ctx)
{
	struct ethhdr *eth = sluice_hdr(ctx, 0, sizeof(*eth));
	__u8 macs[2 * ETH_ALEN];
	__be16 inner = 0;
	__u32 len;

	if (!eth)
		return XDP_PASS;
	len = decap_outer(ctx, eth->h_proto, &inner);
	if (!len)
		return XDP_PASS;
	__builtin_memcpy(macs, eth, sizeof(macs));
	if (bpf_xdp_adjust_head(ctx, (int)len))
		return XDP_PASS;
	/* adjust_head invalidated every packet pointer: fetch the header again. */
	eth = sluice_hdr(ctx, 0, sizeof(*eth));
	if (!eth)
		return XDP_PASS;
	__builtin_memcpy(eth, macs, sizeof(macs));
	eth->h_proto = inner;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
