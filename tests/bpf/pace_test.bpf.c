// SPDX-License-Identifier: GPL-2.0-only
/*
 * pace_test: the egress pacing stage (bpf/lib/pace.h) on its own, for
 * tests/bpf/test_pace.c: the clock and horizon come from the test rather
 * than bpf_ktime_get_ns() and rodata, so each case is exact. The service
 * id is skb->mark; now is cb[0] | cb[1] << 32, the horizon cb[2] | cb[3]
 * << 32; the packet's own departure is its tstamp, and the departure the
 * stage computes is written back there (unchanged when not paced).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "pace.h"

SEC("tc")
int pace_test(struct __sk_buff *skb)
{
	__u64 now = (__u64)skb->cb[1] << 32 | skb->cb[0];
	__u64 horizon = (__u64)skb->cb[3] << 32 | skb->cb[2];
	__u64 dep;
	int ret;

	ret = sluice_pace_at(skb->mark, skb->len, now, skb->tstamp, horizon, &dep);
	skb->tstamp = dep;
	return ret;
}

char LICENSE[] SEC("license") = "GPL";
