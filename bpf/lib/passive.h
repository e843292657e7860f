/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Passive health signals for the circuit breakers: what the data plane
 * sees of a backend's answers, counted per backend (sl_be_signals, per-CPU)
 * and published one record each to userspace (sl_events ring buffer, read
 * by the daemon's breakers, or by `sluice breaker watch`).
 *
 *  - nat return path (sluice_signal_return): a SYN-ACK from the backend
 *    on a handshake still pending (no flow yet, flow.h: sl_syn_v2): SUCCESS
 *    (the record is marked ANSWERED); a RST from the backend on one:
 *    REFUSED (the record goes). Any RST on a flow releases its bulkhead
 *    slots; a FIN from the backend releases them when the client's FIN was
 *    seen too.
 *  - ICMP / ICMPv6 destination unreachable (sluice_signal_icmp) whose
 *    quoted packet is one the gateway sent to a backend (client -> backend
 *    after DNAT): found through sl_nat_rev with the quoted 5-tuple reversed
 *    (or sl_be_rev, nat.h, for a flow this gateway holds on that backend):
 *    UNREACHABLE. The ICMP itself still passes to the stack.
 *  - ipip (flow.h): the client's first ACK, completing a pending handshake,
 *    means the backend's SYN-ACK reached it: SUCCESS.
 *
 * Fast trip (issue 11): every failure signal (REFUSED, UNREACHABLE, and
 * SYN_RETRY from failover.h) adds one to the backend's run of consecutive
 * failures (sl_be_fo, atomic); a SUCCESS resets it. When the run reaches
 * the service's fast-trip K (sl_svc_fo, default 5), the data plane opens
 * the breaker itself with a compare-and-swap from CLOSED (never from
 * HALF_OPEN or OPEN: userspace stays the authority for those) and
 * publishes FAST_TRIP, so the state machine adopts the trip as a
 * transition of its own and schedules the half-open as for any trip.
 * A SYN-ACK on a handshake failover moved (tried more than one backend) is
 * counted redispatched (sl_fo_svc, sl_fo_be) and published as
 * REDISPATCHED; any SYN-ACK ends the handshake's failover.
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
#include "natrev.h"

#define SLUICE_ICMP_DEST_UNREACH 3
#define SLUICE_ICMPV6_DEST_UNREACH 1
#define SLUICE_ICMP_HLEN 8
#define SLUICE_ICMP_FRAG_NEEDED 4

/*
 * Publish one event (dropped silently when the ring is full). Written in
 * place in the ring (reserve, submit): no copy on the stack, whose 512
 * bytes the failover subprograms need.
 *
 * A SUCCESS (one per connection) does not wake the reader: a submit that
 * finds it caught up costs a self-IPI, about 8 us on a VM (BENCHMARKS.md).
 * The engine drains the ring on a short timer as well (watchloop.c), and
 * every other event wakes it, taking the successes before it in order.
 */
static __always_inline void sluice_event(__u32 type, __u32 backend_id, __u32 svc_id)
{
	struct sluice_event *ev = bpf_ringbuf_reserve(&sl_events, sizeof(*ev), 0);

	if (!ev)
		return;
	ev->ts_ns = bpf_ktime_get_ns();
	ev->type = type;
	ev->backend_id = backend_id;
	ev->svc_id = svc_id;
	ev->pad = 0;
	bpf_ringbuf_submit(ev, type == SLUICE_EV_SUCCESS ? BPF_RB_NO_WAKEUP : 0);
}

/* Which counter of struct sluice_fo_counter sluice_fo_count() adds to. */
enum sluice_fo_field {
	SLUICE_FO_MOVED,
	SLUICE_FO_REDISPATCHED,
	SLUICE_FO_EXHAUSTED,
	SLUICE_FO_FAST_TRIPS,
};

static __always_inline void sluice_fo_add(struct sluice_fo_counter *c, int field)
{
	if (!c)
		return;
	if (field == SLUICE_FO_MOVED)
		c->moved++;
	else if (field == SLUICE_FO_REDISPATCHED)
		c->redispatched++;
	else if (field == SLUICE_FO_EXHAUSTED)
		c->retry_exhausted++;
	else
		c->fast_trips++;
}

/* Count one failover outcome for the service and the backend. */
static __always_inline void sluice_fo_count(__u32 svc_id, __u32 backend_id, int field)
{
	sluice_fo_add(bpf_map_lookup_elem(&sl_fo_svc, &svc_id), field);
	sluice_fo_add(bpf_map_lookup_elem(&sl_fo_be, &backend_id), field);
}

/* One more consecutive failure of backend id: open its breaker at the K-th. */
static __always_inline void sluice_fast_trip(__u32 backend_id, __u32 svc_id)
{
	struct sluice_svc_fo *fo = bpf_map_lookup_elem(&sl_svc_fo, &svc_id);
	struct sluice_breaker *b;
	struct sluice_be_fo *run;
	__u32 k = fo ? fo->fast_trip : 0;

	if (k == SLUICE_FO_TRIP_OFF)
		return;
	if (!k)
		k = SLUICE_FO_TRIP_DEFAULT;
	run = bpf_map_lookup_elem(&sl_be_fo, &backend_id);
	if (!run || __sync_fetch_and_add(&run->fail_run, 1) + 1 < k)
		return;
	b = bpf_map_lookup_elem(&sl_breakers, &backend_id);
	/* Only from CLOSED, and only the CPU whose swap won reports it. */
	if (!b || __sync_val_compare_and_swap(&b->state, SLUICE_BRK_CLOSED, SLUICE_BRK_OPEN) !=
			  SLUICE_BRK_CLOSED)
		return;
	b->probes_left = SLUICE_BRK_FAST_TRIPPED;
	run->fail_run = 0;
	sluice_fo_count(svc_id, backend_id, SLUICE_FO_FAST_TRIPS);
	sluice_event(SLUICE_EV_FAST_TRIP, backend_id, svc_id);
}

/* Count one signal for backend id and publish it; failures feed the fast trip. */
static __always_inline void sluice_signal(__u32 type, __u32 backend_id, __u32 svc_id)
{
	struct sluice_be_signals *s = bpf_map_lookup_elem(&sl_be_signals, &backend_id);
	struct sluice_be_fo *run;

	if (s) {
		if (type == SLUICE_EV_SUCCESS)
			s->successes++;
		else if (type == SLUICE_EV_REFUSED)
			s->refused++;
		else if (type == SLUICE_EV_UNREACHABLE)
			s->unreachable++;
	}
	sluice_event(type, backend_id, svc_id);
	if (type == SLUICE_EV_SUCCESS) {
		/* Read first: a healthy backend's success writes nothing shared. */
		run = bpf_map_lookup_elem(&sl_be_fo, &backend_id);
		if (run && run->fail_run)
			run->fail_run = 0;
	} else if (sluice_ev_failure(type)) {
		sluice_fast_trip(backend_id, svc_id);
	}
}

/* A handshake failover moved was answered by backend_id. */
static __always_inline void sluice_redispatched(__u32 backend_id, __u32 svc_id)
{
	sluice_fo_count(svc_id, backend_id, SLUICE_FO_REDISPATCHED);
	sluice_event(SLUICE_EV_REDISPATCHED, backend_id, svc_id);
}

/* The handshake of flow key (moved: by failover) was answered by backend_id. */
static __always_inline void sluice_handshake_done(const struct sluice_flow_key *key, __u32 old,
						  __u32 backend_id, __u32 svc_id)
{
	if (old & SLUICE_FLOW_MOVED)
		sluice_redispatched(backend_id, svc_id);
	bpf_map_delete_elem(&sl_syn_v2, key);
}

/*
 * A SYN-ACK or RST (flags tf) from backend rev->backend_id for a nat
 * connection with no flow yet: its pending handshake key (flow.h), when it
 * is on that backend. The first SYN-ACK is its SUCCESS (marked ANSWERED:
 * failover leaves it alone from then on; REDISPATCHED when failover moved
 * it); a RST before one is its REFUSED. A RST ends the handshake. 1 when
 * the key has a pending handshake (on whichever backend), else 0.
 */
static __always_inline int sluice_signal_pending(const struct sluice_flow_key *key, __u8 tf,
						 const struct sluice_nat_rev *rev)
{
	struct sluice_syn *syn = bpf_map_lookup_elem(&sl_syn_v2, key);
	__u8 st;

	if (!syn)
		return 0;
	if (sluice_syn_backend(syn) != rev->backend_id)
		return 1;
	st = syn->state;
	if (tf & SLUICE_TCP_RST) {
		if (!(st & SLUICE_SYN_ANSWERED))
			sluice_signal(SLUICE_EV_REFUSED, rev->backend_id, rev->svc_id);
		bpf_map_delete_elem(&sl_syn_v2, key);
		return 1;
	}
	if ((tf & (SLUICE_TCP_SYN | SLUICE_TCP_ACK)) != (SLUICE_TCP_SYN | SLUICE_TCP_ACK) ||
	    (st & SLUICE_SYN_ANSWERED))
		return 1;
	/* A byte has no atomic or: a SYN-ACK retransmitted on two CPUs at once may count twice. */
	syn->state = st | SLUICE_SYN_ANSWERED;
	sluice_signal(SLUICE_EV_SUCCESS, rev->backend_id, rev->svc_id);
	if (syn->tries > 1)
		sluice_redispatched(rev->backend_id, rev->svc_id);
	return 1;
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
	sluice_rev_key(&key, &pkt->dst, pkt->dport, pkt->l4_proto, rev);
	f = bpf_map_lookup_elem(&sl_flows_v3, &key);
	/* A closed flow's 5-tuple may carry a new connection's handshake. */
	if ((!f || sluice_flow_nat_closed(f)) && (sluice_signal_pending(&key, tf, rev) || !f))
		return;
	if (f->svc_id != rev->svc_id || f->backend_id != rev->backend_id)
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
		if (!(old & SLUICE_FLOW_ESTABLISHED)) {
			sluice_signal(SLUICE_EV_SUCCESS, rev->backend_id, rev->svc_id);
			sluice_handshake_done(&key, old, rev->backend_id, rev->svc_id);
		}
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
 * packet of a nat flow towards its backend, an UNREACHABLE signal for that
 * backend (the caller signals: redispatch.h). Returns
 * that flow's return translation (NULL: none), with *key its sl_nat_rev
 * key (backend -> client) and *qseq the quoted TCP sequence number when
 * the quote is a TCP segment of at least 8 bytes and the code says the
 * backend cannot take it (IPv4 "fragmentation needed" does not: that is
 * path MTU discovery); else *qseq_ok 0.
 */
static __always_inline struct sluice_nat_rev *sluice_signal_icmp(struct xdp_md *ctx,
								 const struct sluice_pkt *pkt,
								 struct sluice_flow_key *key,
								 __be32 *qseq, int *qseq_ok)
{
	struct sluice_nat_rev *rev;
	__u32 off = pkt->l4_off, ports_off;
	int moveable = 1;
	__be16 *ports;
	__be32 *seq;
	__u8 *icmp;

	*qseq_ok = 0;
	if (pkt->family == ETH_P_IP) {
		struct iphdr *in;
		__u32 ihl;

		if (pkt->l4_proto != IPPROTO_ICMP)
			return NULL;
		icmp = sluice_hdr(ctx, off, SLUICE_ICMP_HLEN + sizeof(*in));
		if (!icmp || icmp[0] != SLUICE_ICMP_DEST_UNREACH)
			return NULL;
		moveable = icmp[1] != SLUICE_ICMP_FRAG_NEEDED;
		in = (struct iphdr *)(icmp + SLUICE_ICMP_HLEN);
		ihl = (__u32)(*(__u8 *)in & 0x0f) * 4;
		if (ihl < sizeof(*in) ||
		    (in->protocol != IPPROTO_TCP && in->protocol != IPPROTO_UDP))
			return NULL;
		/* Reversed: the backend is the quoted destination, the client its source. */
		sluice_addr_v4mapped(&key->src, in->daddr);
		sluice_addr_v4mapped(&key->dst, in->saddr);
		key->proto = in->protocol;
		ports_off = off + SLUICE_ICMP_HLEN + ihl;
	} else {
		struct ipv6hdr *in6;

		if (pkt->l4_proto != IPPROTO_ICMPV6)
			return NULL;
		icmp = sluice_hdr(ctx, off, SLUICE_ICMP_HLEN + sizeof(*in6));
		if (!icmp || icmp[0] != SLUICE_ICMPV6_DEST_UNREACH)
			return NULL;
		in6 = (struct ipv6hdr *)(icmp + SLUICE_ICMP_HLEN);
		/* Quoted extension headers are not walked: Sluice's own packets carry none. */
		if (in6->nexthdr != IPPROTO_TCP && in6->nexthdr != IPPROTO_UDP)
			return NULL;
		__builtin_memcpy(&key->src, &in6->daddr, sizeof(key->src));
		__builtin_memcpy(&key->dst, &in6->saddr, sizeof(key->dst));
		key->proto = in6->nexthdr;
		ports_off = off + SLUICE_ICMP_HLEN + sizeof(*in6);
	}
	/* RFC 792 / 4443 quote at least the first 8 bytes of the transport header. */
	ports = sluice_hdr(ctx, ports_off, 4);
	if (!ports)
		return NULL;
	key->sport = ports[1];
	key->dport = ports[0];
	rev = bpf_map_lookup_elem(&sl_nat_rev_v2, key);
	if (!rev || rev->svc_id >= SLUICE_MAX_SERVICES) {
		/* Stateless (nat.h): about a connection this gateway sent to that backend only. */
		rev = sluice_be_rev_of(&key->src, key->sport, key->proto, pkt->family == ETH_P_IP);
		if (!rev ||
		    sluice_rev_backend(&key->dst, key->dport, key->proto, rev) != rev->backend_id)
			return NULL;
	}
	seq = sluice_hdr(ctx, ports_off + 4, 4);
	if (seq && key->proto == IPPROTO_TCP && moveable) {
		*qseq = *seq;
		*qseq_ok = 1;
	}
	return rev;
}

#endif /* SLUICE_PASSIVE_H */
