/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Passive health signals for the circuit breakers: what the data plane
 * sees of a backend's answers, counted per backend (sl_be_signals, per-CPU)
 * and published one record each to userspace (sl_events ring buffer, read
 * by the daemon's breakers, or by `sluice breaker watch`).
 *
 *  - nat return path (sluice_signal_return): a SYN-ACK from the backend on
 *    a flow not yet ESTABLISHED: SUCCESS (the flow becomes ESTABLISHED); a
 *    RST from the backend on a flow not ESTABLISHED: REFUSED. Any RST
 *    releases the flow's bulkhead slots; a FIN from the backend releases
 *    them when the client's FIN was seen too.
 *  - ICMP / ICMPv6 destination unreachable (sluice_signal_icmp) whose
 *    quoted packet is one the gateway sent to a backend (client -> backend
 *    after DNAT): found through sl_nat_rev with the quoted 5-tuple reversed:
 *    UNREACHABLE. The ICMP itself still passes to the stack.
 *  - ipip and local (flow.h): the client's first ACK without SYN on a flow
 *    not ESTABLISHED means the backend's SYN-ACK reached it: SUCCESS.
 *
 * State changes go through atomic fetch-and-or on the flow's flags, and a
 * signal is emitted only by the CPU that set the bit, so retransmitted
 * SYN-ACKs or RSTs racing on two CPUs are counted once.
 *
 * Cost: nothing on a return packet without SYN, FIN or RST (one test of
 * the flags byte); with one, a flow lookup. An ICMP packet that is no
 * destination unreachable costs two compares.
 */
#ifndef SLUICE_PASSIVE_H
#define SLUICE_PASSIVE_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "common.h"
#include "parse.h"
#include "bulkhead.h"

/* A RST closes both directions: both FIN bits, so the flow reads as closed. */
#define SLUICE_FLOW_FIN_BOTH (SLUICE_FLOW_FIN_CLIENT | SLUICE_FLOW_FIN_BACKEND)

#define SLUICE_ICMP_DEST_UNREACH 3
#define SLUICE_ICMPV6_DEST_UNREACH 1
#define SLUICE_ICMP_HLEN 8

/* Count one signal for backend id and publish it (dropped silently when the ring is full). */
static __always_inline void sluice_signal(__u32 type, __u32 backend_id, __u32 svc_id)
{
	struct sluice_be_signals *s = bpf_map_lookup_elem(&sl_be_signals, &backend_id);
	struct sluice_event ev = {};

	if (s) {
		if (type == SLUICE_EV_SUCCESS)
			s->successes++;
		else if (type == SLUICE_EV_REFUSED)
			s->refused++;
		else
			s->unreachable++;
	}
	ev.ts_ns = bpf_ktime_get_ns();
	ev.type = type;
	ev.backend_id = backend_id;
	ev.svc_id = svc_id;
	bpf_ringbuf_output(&sl_events, &ev, sizeof(ev), 0);
}

/* Set bits in a flow's flags; the flags before. */
static __always_inline __u32 sluice_flow_set(struct sluice_flow *f, __u32 bits)
{
	return __sync_fetch_and_or(&f->flags, bits);
}

/*
 * A TCP segment with SYN, FIN or RST from the backend of a nat flow (rev
 * is its translation, pkt the segment as received: backend -> client).
 */
static __always_inline void sluice_signal_return(const struct sluice_pkt *pkt,
						 const struct sluice_nat_rev *rev)
{
	__u8 tf = pkt->tcp_flags;
	struct sluice_flow_key key = {};
	struct sluice_flow *f;
	__u32 old;

	/* The forward flow: client -> service, as the client sent it. */
	key.src = pkt->dst;
	key.dst = rev->vip;
	key.sport = pkt->dport;
	key.dport = rev->vport;
	key.proto = pkt->l4_proto;
	f = bpf_map_lookup_elem(&sl_flows_v2, &key);
	if (!f || f->svc_id != rev->svc_id || f->backend_id != rev->backend_id)
		return;
	if (tf & SLUICE_TCP_RST) {
		old = sluice_flow_set(f, SLUICE_FLOW_FIN_BOTH);
		if (!(old & SLUICE_FLOW_ESTABLISHED) &&
		    (old & SLUICE_FLOW_FIN_BOTH) != SLUICE_FLOW_FIN_BOTH)
			sluice_signal(SLUICE_EV_REFUSED, rev->backend_id, rev->svc_id);
		sluice_bh_release(f, rev->svc_id);
		return;
	}
	if ((tf & (SLUICE_TCP_SYN | SLUICE_TCP_ACK)) == (SLUICE_TCP_SYN | SLUICE_TCP_ACK) &&
	    !(f->flags & SLUICE_FLOW_ESTABLISHED)) {
		old = sluice_flow_set(f, SLUICE_FLOW_ESTABLISHED);
		if (!(old & SLUICE_FLOW_ESTABLISHED))
			sluice_signal(SLUICE_EV_SUCCESS, rev->backend_id, rev->svc_id);
	}
	if (tf & SLUICE_TCP_FIN) {
		old = sluice_flow_set(f, SLUICE_FLOW_FIN_BACKEND);
		if (old & SLUICE_FLOW_FIN_CLIENT)
			sluice_bh_release(f, rev->svc_id);
	}
}

/*
 * An ICMP (pkt->l4_proto 1, IPv4) or ICMPv6 (58, IPv6) packet that parse
 * passed as NOT_L4: if it is a destination unreachable quoting a TCP or UDP
 * packet of a nat flow towards its backend, count UNREACHABLE.
 */
static __always_inline void sluice_signal_icmp(struct xdp_md *ctx, const struct sluice_pkt *pkt)
{
	struct sluice_flow_key key = {};
	struct sluice_nat_rev *rev;
	__u32 off = pkt->l4_off, ports_off;
	__be16 *ports;
	__u8 *icmp;

	if (pkt->family == ETH_P_IP) {
		struct iphdr *in;
		__u32 ihl;

		if (pkt->l4_proto != IPPROTO_ICMP)
			return;
		icmp = sluice_hdr(ctx, off, SLUICE_ICMP_HLEN + sizeof(*in));
		if (!icmp || icmp[0] != SLUICE_ICMP_DEST_UNREACH)
			return;
		in = (struct iphdr *)(icmp + SLUICE_ICMP_HLEN);
		ihl = (__u32)(*(__u8 *)in & 0x0f) * 4;
		if (ihl < sizeof(*in) ||
		    (in->protocol != IPPROTO_TCP && in->protocol != IPPROTO_UDP))
			return;
		/* Reversed: the backend is the quoted destination, the client its source. */
		sluice_addr_v4mapped(&key.src, in->daddr);
		sluice_addr_v4mapped(&key.dst, in->saddr);
		key.proto = in->protocol;
		ports_off = off + SLUICE_ICMP_HLEN + ihl;
	} else {
		struct ipv6hdr *in6;

		if (pkt->l4_proto != IPPROTO_ICMPV6)
			return;
		icmp = sluice_hdr(ctx, off, SLUICE_ICMP_HLEN + sizeof(*in6));
		if (!icmp || icmp[0] != SLUICE_ICMPV6_DEST_UNREACH)
			return;
		in6 = (struct ipv6hdr *)(icmp + SLUICE_ICMP_HLEN);
		/* Quoted extension headers are not walked: Sluice's own packets carry none. */
		if (in6->nexthdr != IPPROTO_TCP && in6->nexthdr != IPPROTO_UDP)
			return;
		__builtin_memcpy(&key.src, &in6->daddr, sizeof(key.src));
		__builtin_memcpy(&key.dst, &in6->saddr, sizeof(key.dst));
		key.proto = in6->nexthdr;
		ports_off = off + SLUICE_ICMP_HLEN + sizeof(*in6);
	}
	/* RFC 792 / 4443 quote at least the first 8 bytes of the transport header. */
	ports = sluice_hdr(ctx, ports_off, 4);
	if (!ports)
		return;
	key.sport = ports[1];
	key.dport = ports[0];
	rev = bpf_map_lookup_elem(&sl_nat_rev, &key);
	if (!rev || rev->svc_id >= SLUICE_MAX_SERVICES)
		return;
	sluice_signal(SLUICE_EV_UNREACHABLE, rev->backend_id, rev->svc_id);
}

#endif /* SLUICE_PASSIVE_H */
