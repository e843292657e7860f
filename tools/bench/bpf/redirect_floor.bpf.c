// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * floor_redirect: the bare forwarding floor for the benchmarks. The same
 * parse stage as sluice_xdp, then bpf_fib_lookup on the destination as it
 * is, new MACs, and out: XDP_TX when the egress is the ingress, else
 * bpf_redirect(). What the FIB cannot resolve passes to the stack. No maps,
 * no rewrite beyond the MACs (not even the TTL): the least a program that
 * forwards by the kernel's routes must pay, against which the forwarding
 * paths of sluice_xdp are stated.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"
#include "parse.h"
#include "fwd.h"

SEC("xdp")
int floor_redirect(struct xdp_md *ctx)
{
	struct bpf_fib_lookup fib = {};
	struct sluice_pkt pkt = {};
	int action = XDP_PASS;

	if (sluice_parse(ctx, &pkt) != SLUICE_CONTINUE)
		return XDP_PASS;
	sluice_fib_fill(&fib, &pkt.src, &pkt.dst, pkt.family == ETH_P_IP, pkt.l4_proto, pkt.sport,
			pkt.dport, pkt.l3_end - pkt.l3_off);
	if (sluice_forward(ctx, &fib, &action) != SLUICE_R_FWD)
		return XDP_PASS;
	return action;
}

char LICENSE[] SEC("license") = "GPL";
