// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sink_xdp: the backends' sink in the gateway benchmark (tools/bench.sh).
 * Drops IPv4 UDP frames to the benchmark's port (SINK_PORT) in XDP, the
 * least a receiver can pay, so every gateway variant is measured against
 * the same small fixed cost; passes everything else (the breaker part's
 * TCP, ARP). Being an XDP program, it is also what a veth peer needs for
 * XDP_REDIRECT into the backend's link to be delivered.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define SINK_PORT 9000

SEC("xdp")
int sink_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);

	if ((void *)(udp + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_UDP || ip->ihl != 5 || udp->dest != bpf_htons(SINK_PORT))
		return XDP_PASS;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
