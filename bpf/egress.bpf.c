// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluice_egress: egress pacing at TC egress (issue 15,
 * `sluice iface attach DEV --hook tc-egress`). A packet leaving through
 * DEV from a socket the host side balanced (bpf/host.bpf.c: its socket
 * storage in sl_host_socks names the service) is paced to the service's
 * egress-rate (bpf/lib/pace.h): skb->tstamp is set to its departure time
 * and the fq qdisc the attach installs holds it until then. Every other
 * packet passes untouched: forwarded ones (no socket), request and
 * time-wait sockets (not full sockets: a SYN-ACK or a last ACK), sockets
 * of unbalanced connections.
 *
 * Identified by socket rather than by destination (sl_be_rev): a backend
 * is paced as the service only for the connections made to the service,
 * and ipip services (which have no sl_be_rev) are paced alike.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "sluice_host_maps.bpf.h"
#include "pace.h"

/* How far ahead a packet may be scheduled (set by the loader: with fq or without). */
const volatile __u64 sluice_pace_horizon_ns = SLUICE_PACE_HORIZON_NS;

SEC("tc")
int sluice_egress(struct __sk_buff *skb)
{
	struct sluice_host_sock *hs;
	struct bpf_sock *sk = skb->sk;

	if (!sk)
		return TC_ACT_OK;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return TC_ACT_OK;
	hs = bpf_sk_storage_get(&sl_host_socks, sk, 0, 0);
	if (!hs)
		return TC_ACT_OK;
	return sluice_pace(skb, hs->svc_id, sluice_pace_horizon_ns);
}

char LICENSE[] SEC("license") = "GPL";
