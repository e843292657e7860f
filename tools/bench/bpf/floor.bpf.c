// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * floor_xdp: the benchmark floor. Runs the same parse stage as sluice_xdp
 * (Ethernet, VLAN, IPv4/IPv6, TCP/UDP) and passes every packet: the least
 * a program that looks at L4 must pay, against which sluice-bench states
 * the cost of each Sluice path. It includes no map header and has no maps.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "parse.h"

SEC("xdp")
int floor_xdp(struct xdp_md *ctx)
{
	struct sluice_pkt pkt = {};
	int reason = sluice_parse(ctx, &pkt);
	__u32 sink = reason ^ pkt.dport ^ pkt.dst.u32[3];

	/*
	 * The parse has no side effect, so clang would delete all of it and
	 * leave "return XDP_PASS". barrier_var makes its result look used, so
	 * the floor really parses (as sluice_xdp does) before passing.
	 */
	barrier_var(sink);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
