/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * NAT stage: destination rewrite towards the backend (forward direction)
 * and source rewrite back to the service (return direction), IPv4 and IPv6.
 *
 * One rewrite serves both directions: a new address and port go into the
 * destination (forward) or the source (return) fields; the IPv4 header
 * checksum and the TCP/UDP checksum (whose pseudo-header covers both
 * addresses) are updated incrementally (csum.h); TTL / hop limit is
 * decremented, as any router does. An IPv4 UDP datagram sent without a
 * checksum (0) keeps none. The TTL check comes first and reads only: a
 * packet that would expire here is passed to the stack unchanged, which
 * answers the sender with ICMP time exceeded.
 *
 * Forward: a new flow also inserts its return translation into sl_nat_rev
 * (backend -> client: vip, vport), unless sl_be_rev (below) translates its
 * backend the same. Return: a packet matching no service is looked up in
 * sl_be_rev by its source, then in sl_nat_rev by its own 5-tuple.
 *
 * Stateless return (issue 14): behind BGP ECMP a backend's reply may reach
 * a gateway that never saw the SYN, and has no sl_nat_rev entry. A reply
 * missing there is looked up in sl_be_rev by its source address, port and
 * protocol: userspace writes there every backend address and port that
 * serves exactly one service address and port (berev.h), so the
 * translation follows from the configuration alone, on any gateway.
 * Such a reply is translated only when the FIB forwards its destination
 * (not to this host: the gateway's own health checks of the backend, say,
 * stay untouched), and not when this gateway's flow for it moved to
 * another backend (failover: the old backend's late answers translate no
 * more, as with sl_nat_rev; before the client's ACK there is no flow, and
 * the pending handshake in sl_syn_v2 says where it is). The flow key is rebuilt from the reply
 * (client = its destination), so passive signals and redispatch work on
 * it as on a sl_nat_rev entry.
 *
 * sl_be_rev is asked first (issue 12): it is small and warm, where a miss
 * in sl_nat_rev (sized like sl_flows) is a cold bucket, and under sluiced
 * most replies have no sl_nat_rev entry at all. That is no change of
 * translation for any live connection: a backend in sl_be_rev serves one
 * service address and port, which is the translation of every flow to it;
 * a sl_nat_rev entry that says otherwise belongs to a connection whose
 * backend has since left its service (moved anew on its next packet), or
 * (backend id only) a failover move, which keeps the service. Ambiguous
 * backends are never in sl_be_rev: theirs stay with sl_nat_rev.
 */
#ifndef SLUICE_NAT_H
#define SLUICE_NAT_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "common.h"
#include "parse.h"
#include "csum.h"
#include "fwd.h"
#include "natrev.h"

/* SLUICE_CONTINUE, or TTL when the packet's TTL / hop limit is 1 or 0. */
static __always_inline int sluice_ttl_check(struct xdp_md *ctx, const struct sluice_pkt *pkt)
{
	int v4 = pkt->family == ETH_P_IP;
	__u8 *ip = sluice_hdr(ctx, pkt->l3_off, v4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr));
	__u8 ttl;

	if (!ip)
		return SLUICE_R_MALFORMED;
	ttl = v4 ? ((struct iphdr *)ip)->ttl : ((struct ipv6hdr *)ip)->hop_limit;
	return ttl <= 1 ? SLUICE_R_TTL : SLUICE_CONTINUE;
}

/*
 * Rewrite the destination (src == 0) or source (src == 1) address and port
 * to addr and port (port 0: leave the port), decrement the TTL, fix the
 * checksums. addr must be of the packet's family (the callers check).
 * SLUICE_CONTINUE, or MALFORMED if a header is gone (cannot happen after a
 * successful parse; the verifier wants the checks).
 */
static __always_inline int sluice_nat_rewrite(struct xdp_md *ctx, const struct sluice_pkt *pkt,
					      int src, const union sluice_addr *addr, __be16 port)
{
	__u64 l4_diff = 0;
	__be16 *pp;
	__u16 *check;

	if (pkt->family == ETH_P_IP) {
		struct iphdr *iph = sluice_hdr(ctx, pkt->l3_off, sizeof(*iph));
		__u16 *ttl_word;
		__be32 *a, old;
		__u64 ip_diff;
		__u16 tw;

		if (!iph)
			return SLUICE_R_MALFORMED;
		a = src ? &iph->saddr : &iph->daddr;
		old = *a;
		/* The word holding TTL and protocol is what the header checksum sees. */
		ttl_word = (__u16 *)&iph->ttl;
		tw = *ttl_word;
		iph->ttl--;
		l4_diff = sluice_csum_diff32(0, old, addr->u32[3]);
		ip_diff = sluice_csum_diff16(l4_diff, tw, *ttl_word);
		iph->check = sluice_csum_apply(iph->check, ip_diff);
		*a = addr->u32[3];
	} else {
		struct ipv6hdr *ip6h = sluice_hdr(ctx, pkt->l3_off, sizeof(*ip6h));
		__u32 *a;

		if (!ip6h)
			return SLUICE_R_MALFORMED;
		/* No IPv6 header checksum; the hop limit is outside the pseudo-header. */
		ip6h->hop_limit--;
		a = src ? ip6h->saddr.in6_u.u6_addr32 : ip6h->daddr.in6_u.u6_addr32;
		l4_diff = sluice_csum_diff_addr(0, a, addr->u32);
		a[0] = addr->u32[0];
		a[1] = addr->u32[1];
		a[2] = addr->u32[2];
		a[3] = addr->u32[3];
	}

	if (pkt->l4_proto == IPPROTO_TCP) {
		struct tcphdr *th = sluice_hdr(ctx, pkt->l4_off, sizeof(*th));

		if (!th)
			return SLUICE_R_MALFORMED;
		pp = src ? &th->source : &th->dest;
		check = (__u16 *)&th->check;
	} else {
		struct udphdr *uh = sluice_hdr(ctx, pkt->l4_off, sizeof(*uh));

		if (!uh)
			return SLUICE_R_MALFORMED;
		pp = src ? &uh->source : &uh->dest;
		check = (__u16 *)&uh->check;
	}
	if (!port)
		port = *pp;
	l4_diff = sluice_csum_diff16(l4_diff, *pp, port);
	*pp = port;
	if (pkt->l4_proto == IPPROTO_TCP)
		*check = sluice_csum_apply(*check, l4_diff);
	else if (*check || pkt->family != ETH_P_IP)
		/* IPv4 UDP checksum 0: "none", stays none. (IPv6 UDP must have one.) */
		*check = sluice_csum_apply_udp(*check, l4_diff);
	return SLUICE_CONTINUE;
}

/*
 * Record how the backend's replies of a new nat flow are translated back:
 * key backend:bport -> client:cport, value the service address and port.
 * A failed insert (LRU full of busy entries) only loses the return path.
 * The caller skips it for a backend sl_be_rev translates the same
 * (SLUICE_BE_F_REV_STATELESS, issue 12: one LRU insert per connection, not
 * two): its replies take the stateless path, which checks the flow, or
 * the pending handshake, for a move (sluice_be_rev_stale). A flood of SYNs
 * to such backends leaves no return entry either. The flag is the
 * configuration's answer, so no sl_be_rev lookup is made per new flow.
 */
static __noinline int sluice_nat_rev_insert(const struct sluice_flow_key *fwd,
					    const struct sluice_backend *be, __u32 svc_id,
					    __u32 backend_id)
{
	struct sluice_flow_key key = {};
	struct sluice_nat_rev rev = {};

	key.src = be->addr;
	key.dst = fwd->src;
	key.sport = be->port ? be->port : fwd->dport;
	key.dport = fwd->sport;
	key.proto = fwd->proto;
	rev.vip = fwd->dst;
	rev.vport = fwd->dport;
	rev.svc_id = svc_id;
	rev.backend_id = backend_id;
	bpf_map_update_elem(&sl_nat_rev_v2, &key, &rev, BPF_ANY);
	return 0;
}

/*
 * The return translation of this packet: SLUICE_CONTINUE with *rev, or
 * NOT_SERVICE. *stateless: 1 when it came from sl_be_rev (see above).
 */
static __always_inline int sluice_nat_rev_lookup(const struct sluice_pkt *pkt,
						 struct sluice_nat_rev **rev, int *stateless)
{
	struct sluice_flow_key key = {};
	struct sluice_nat_rev *r;

	r = sluice_be_rev_of(&pkt->src, pkt->sport, pkt->l4_proto, pkt->family == ETH_P_IP);
	if (r) {
		*stateless = 1;
		*rev = r;
		return SLUICE_CONTINUE;
	}
	key.src = pkt->src;
	key.dst = pkt->dst;
	key.sport = pkt->sport;
	key.dport = pkt->dport;
	key.proto = pkt->l4_proto;
	r = bpf_map_lookup_elem(&sl_nat_rev_v2, &key);
	/* An id that indexes no per-service counter is no translation we made. */
	if (!r || r->svc_id >= SLUICE_MAX_SERVICES)
		return SLUICE_R_NOT_SERVICE;
	*stateless = 0;
	*rev = r;
	return SLUICE_CONTINUE;
}

/*
 * A stateless translation rev of a TCP segment with SYN, FIN or RST
 * (backend -> client) that this gateway's flow, or pending handshake,
 * contradicts: it is here, on another backend (failover moved it). 1:
 * leave the segment untranslated.
 */
static __always_inline int sluice_be_rev_stale(const struct sluice_pkt *pkt,
					       const struct sluice_nat_rev *rev)
{
	__u32 id = sluice_rev_backend(&pkt->dst, pkt->dport, pkt->l4_proto, rev);

	return id != SLUICE_NO_BACKEND && id != rev->backend_id;
}

#endif /* SLUICE_NAT_H */
