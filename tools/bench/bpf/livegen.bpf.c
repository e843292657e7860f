// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * livegen_xdp: the frame writer of the live-frames load generator
 * (tests/integration/livegen.c). BPF_PROG_TEST_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES runs it once per frame and performs what it
 * returns: XDP_TX sends the frame out of the test run's ingress interface
 * (the client's c0, whose veth peer is the gateway's g0).
 *
 * Live frames come from a page pool that copies the test data into a page
 * once and then recycles the page, whatever was written into it. The
 * gateway rewrites the frames it forwards (NAT, MACs) and a recycled page
 * comes back with those rewrites, so every run writes the whole
 * Ethernet/IPv4/UDP header again from the configuration below: frame n goes
 * to destination n % ndst from source port sport_base + n % flows, with
 * valid checksums (the constant part of each sum is precomputed by
 * userspace). The payload is never rewritten by anyone.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define LIVEGEN_MAX_DSTS 16

const volatile __u8 dmac[ETH_ALEN];
const volatile __u8 smac[ETH_ALEN];
const volatile __be32 saddr;
const volatile __be32 daddrs[LIVEGEN_MAX_DSTS];
const volatile __u32 ndst = 1;
const volatile __u32 flows = 1;
const volatile __u16 sport_base;
const volatile __be16 dport;
const volatile __u16 tot_len; /* IPv4 total length, host order */
const volatile __u32 ip_sum;  /* one's complement sum of the IPv4 header but daddr and check */
const volatile __u32
	udp_sum; /* the same of pseudo header, UDP header and payload but daddr, sport, check */

__u64 sent; /* frames handed back as XDP_TX (one CPU runs the test run) */

static __always_inline __u16 fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

SEC("xdp")
int livegen_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u64 n = sent;
	__u32 d = ndst ? (__u32)(n % ndst) : 0, daddr, dh;
	__u16 sport = sport_base + (__u16)(n % (flows ? flows : 1)), check;

	if ((void *)(udp + 1) > end)
		return XDP_ABORTED;
	daddr = daddrs[d & (LIVEGEN_MAX_DSTS - 1)];
	/* Byte by byte: a memcpy that casts volatile away reads the zeros clang sees. */
	for (int i = 0; i < ETH_ALEN; i++) {
		eth->h_dest[i] = dmac[i];
		eth->h_source[i] = smac[i];
	}
	eth->h_proto = bpf_htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons(tot_len);
	ip->id = 0;
	ip->frag_off = 0;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->saddr = saddr;
	ip->daddr = daddr;
	dh = bpf_ntohl(daddr);
	ip->check = bpf_htons(fold(ip_sum + (dh >> 16) + (dh & 0xffff)));
	udp->source = bpf_htons(sport);
	udp->dest = dport;
	udp->len = bpf_htons(tot_len - sizeof(*ip));
	check = fold(udp_sum + (dh >> 16) + (dh & 0xffff) + sport);
	udp->check = bpf_htons(check ? check : 0xffff);
	sent = n + 1;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
