/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Redispatch stage (nat, issue 11): the backend refuses a connection's
 * SYN (a RST whose ack is the ISN + 1, or an ICMP / ICMPv6 destination
 * unreachable quoting the SYN's ISN), and the client never hears of it:
 * the answer is swallowed, the refusal counted for that backend (REFUSED;
 * the ICMP's UNREACHABLE is counted by passive.h), the flow moved to the
 * next backend (failover.h: untried, breaker admits, within the
 * service's retries), its return translation replaced, and the frame that
 * carried the answer is rebuilt, byte by byte, into the client's SYN to
 * the new backend and forwarded (fwd.h: XDP_TX or redirect). The client
 * sees its SYN-ACK a little later.
 *
 * The rebuilt SYN: Ethernet (untagged, as every nat packet leaves: the
 * tags belong to the ingress link; the MACs come from the FIB), then
 *  - IPv4: version 4, ihl 5, the client's TOS, total length, id 0, DF,
 *    the client's TTL - 1 (the hop the forward path takes), TCP,
 *    client -> backend; IPv6: the client's first word (class, flow
 *    label), payload length, TCP, hop limit - 1, client -> backend;
 *  - TCP: client port -> backend port, seq = ISN, ack 0, the client's
 *    flags byte, window and options as sent, urgent 0.
 * Both checksums are computed from scratch. The frame is grown at the head
 * (bpf_xdp_adjust_head: the headroom of XDP is 256 bytes, and a RST or
 * ICMP is at most ~70 bytes shorter than the largest SYN) or cut at the
 * tail. Anything that fails before the flow moves lets the answer pass as
 * before (the RST to the client); after, the frame is dropped (NO_BACKEND:
 * the client retransmits its SYN, which the moved flow follows).
 *
 * Not replayed: a SYN that carried data (TCP Fast Open), a handshake that
 * was answered or completed (it has a flow), one without SYN state (the
 * LRU evicted it), a service with failover off, a connection whose
 * retries are spent (counted retry_exhausted once: the client gets the
 * RST as before).
 */
#ifndef SLUICE_REDISPATCH_H
#define SLUICE_REDISPATCH_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "common.h"
#include "parse.h"
#include "csum.h"
#include "rst.h"
#include "failover.h"
#include "flow.h"
#include "fwd.h"

#define SLUICE_SYN_TTL_MIN 2 /* the forward path passes TTL <= 1 to the stack */

/*
 * Turn the frame into syn's SYN from client:cport to be at bport. 0, or -1
 * when the frame cannot be resized or a header is gone.
 */
static __always_inline int sluice_syn_rebuild(struct xdp_md *ctx, int v4,
					      const struct sluice_syn *syn,
					      const union sluice_addr *client, __be16 cport,
					      const struct sluice_backend *be, __be16 bport)
{
	__u32 opt_len = syn->opt_len & 0x3c; /* a multiple of 4, at most 60: */
	__u32 iplen = v4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	__u32 tcplen, len, i, *w;
	struct tcphdr *th;
	struct ethhdr *eth;
	__u64 sum;
	int delta;

	if (opt_len > SLUICE_SYN_OPT_MAX) /* ... and at most 40 (doff 15). */
		return -1;
	tcplen = sizeof(*th) + opt_len;
	len = ETH_HLEN + iplen + tcplen;
	/* Verifier workaround: the frame's length from the helper, see rst.h. */
	delta = (int)len - (int)bpf_xdp_get_buff_len(ctx);
	if (delta > 0 && bpf_xdp_adjust_head(ctx, -delta))
		return -1;
	if (delta < 0 && bpf_xdp_adjust_tail(ctx, delta))
		return -1;
	/* Every packet pointer is invalid now: each header is fetched again. */
	eth = sluice_hdr(ctx, 0, sizeof(*eth));
	if (!eth)
		return -1;
	eth->h_proto = bpf_htons(v4 ? ETH_P_IP : ETH_P_IPV6);
	if (v4) {
		struct iphdr *iph = sluice_hdr(ctx, ETH_HLEN, sizeof(*iph) + sizeof(*th));

		if (!iph)
			return -1;
		th = (struct tcphdr *)(iph + 1);
		*(__u8 *)iph = 0x45; /* version 4, ihl 5 */
		iph->tos = ((const __u8 *)&syn->ip_w0)[1];
		iph->tot_len = bpf_htons(sizeof(*iph) + tcplen);
		iph->id = 0;
		iph->frag_off = bpf_htons(SLUICE_RST_DF);
		iph->ttl = syn->ttl - 1;
		iph->protocol = IPPROTO_TCP;
		iph->check = 0;
		iph->saddr = client->u32[3];
		iph->daddr = be->addr.u32[3];
		w = (__u32 *)iph;
		iph->check = (__u16)~sluice_csum_fold(sluice_csum_words(w, 5));
		sum = (__u64)iph->saddr + iph->daddr + bpf_htonl((IPPROTO_TCP << 16) | tcplen);
	} else {
		struct ipv6hdr *ip6h = sluice_hdr(ctx, ETH_HLEN, sizeof(*ip6h) + sizeof(*th));

		if (!ip6h)
			return -1;
		th = (struct tcphdr *)(ip6h + 1);
		*(__be32 *)ip6h = syn->ip_w0;
		ip6h->payload_len = bpf_htons(tcplen);
		ip6h->nexthdr = IPPROTO_TCP;
		ip6h->hop_limit = syn->ttl - 1;
		__builtin_memcpy(&ip6h->saddr, client, sizeof(*client));
		__builtin_memcpy(&ip6h->daddr, &be->addr, sizeof(be->addr));
		sum = sluice_csum_words(client->u32, 4) + sluice_csum_words(be->addr.u32, 4) +
		      bpf_htonl(tcplen) + bpf_htonl(IPPROTO_TCP);
	}
	th->source = cport;
	th->dest = bport;
	th->seq = syn->isn;
	th->ack_seq = 0;
	((__u8 *)th)[12] = (tcplen / 4) << 4;
	((__u8 *)th)[13] = syn->tcp_flags;
	th->window = syn->window;
	th->check = 0;
	th->urg_ptr = 0;
	w = (__u32 *)th;
	sum += sluice_csum_words(w, 5);
	/*
	 * The options, word by word at constant offsets from the TCP header's
	 * (a bounded loop, unrolled; each write checked on its own, the frame
	 * ending where opt_len says). syn->opts is zero after opt_len, so the
	 * sum may take all ten words.
	 */
	sum += sluice_csum_words((const __u32 *)syn->opts, SLUICE_SYN_OPT_MAX / 4);
#pragma unroll
	for (i = 0; i < SLUICE_SYN_OPT_MAX / 4; i++) {
		if (i * 4 >= opt_len)
			break;
		w = sluice_hdr(ctx, ETH_HLEN + iplen + sizeof(*th) + i * 4, 4);
		if (!w)
			return -1;
		__builtin_memcpy(w, &syn->opts[i * 4], 4);
	}
	/* The header's pointer went stale with no resize: refetch it for the sum. */
	th = sluice_hdr(ctx, ETH_HLEN + iplen, sizeof(*th));
	if (!th)
		return -1;
	th->check = (__u16)~sluice_csum_fold(sum);
	return 0;
}

/*
 * Phase one of a redispatch: a failure answering the SYN of the nat flow
 * sc->key (client -> service), rev its return translation, isn the ISN
 * the answer names, signal the failure it is. 1 when the flow is to move
 * (sluice_fo_walk, sluice_fo_commit, then sluice_syn_send follow; see
 * sluice_flow_resteer for why in phases); else 0: the answer goes on as
 * before (retry_exhausted noted when the retries are spent).
 */
static __always_inline int sluice_redispatch(struct sluice_scratch *sc, __be32 isn,
					     const struct sluice_nat_rev *rev, __u32 signal)
{
	__u32 svc_id = rev->svc_id, old = rev->backend_id;
	struct sluice_flow *f;
	struct sluice_syn *syn;
	struct sluice_svc *svc;

	/* A pending handshake (no open flow: flow.h) on that backend, not answered yet. */
	f = bpf_map_lookup_elem(&sl_flows_v3, &sc->key);
	if (f && !sluice_flow_nat_closed(f))
		return 0;
	syn = bpf_map_lookup_elem(&sl_syn_v2, &sc->key);
	if (!syn || syn->isn != isn || (syn->state & SLUICE_SYN_ANSWERED) ||
	    sluice_syn_backend(syn) != old || !sluice_fo_retries(svc_id))
		return 0;
	sc->skey.addr = rev->vip;
	sc->skey.port = rev->vport;
	sc->skey.proto = IPPROTO_TCP;
	sc->skey.pad = 0;
	svc = bpf_map_lookup_elem(&sl_services, &sc->skey);
	/*
	 * A Fast Open SYN is never replayed; nor one the forward path would
	 * not pass; a leader key's flows never move.
	 */
	if (syn->has_data || syn->ttl < SLUICE_SYN_TTL_MIN || !sluice_fo_budget(syn, svc_id) ||
	    !svc || svc->id != svc_id || svc->mode != SLUICE_MODE_NAT ||
	    (svc->flags & SLUICE_SVC_F_LEADER)) {
		/* The RST's own signal is passive.h's, on its way to the client. */
		sluice_fo_note(sc, signal == SLUICE_EV_REFUSED ? 0 : signal, svc_id, old,
			       sluice_fo_exhausted(syn), old);
		return 0;
	}
	sluice_fo_prepare(sc, svc, old, signal);
	return 1;
}

/*
 * After sluice_fo_commit() moved the flow: rebuild the frame into the SYN of flow sc->key to
 * backend sc->id at sc->bport and forward it. FWD / FWD_STACK / TOO_BIG
 * with st->action as sluice_forward(); NO_BACKEND (dropped) when the frame
 * could not be rebuilt (the flow moved already: the client's
 * retransmission follows it). The last phase (see sluice_flow_resteer).
 */
static __noinline int sluice_syn_send(struct xdp_md *ctx, int v4, struct sluice_steer *st)
{
	struct sluice_scratch *sc;
	struct sluice_backend *be;
	struct sluice_syn *syn;
	__u32 zero = 0;

	sc = bpf_map_lookup_elem(&sl_scratch_v2, &zero);
	if (!sc)
		return SLUICE_R_NO_BACKEND;
	syn = bpf_map_lookup_elem(&sl_syn_v2, &sc->key);
	be = bpf_map_lookup_elem(&sl_backends, &sc->id);
	if (!syn || !be)
		return SLUICE_R_NO_BACKEND;
	st->backend_id = sc->id;
	st->svc_id = sc->fo_svc;
	if (sluice_syn_rebuild(ctx, v4, syn, &sc->key.src, sc->key.sport, be, sc->bport))
		return SLUICE_R_NO_BACKEND;
	sluice_fib_fill(&sc->fib, &sc->key.src, &be->addr, v4, IPPROTO_TCP, sc->key.sport,
			sc->bport,
			(v4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr)) +
				sizeof(struct tcphdr) + (syn->opt_len & 0x3c));
	return sluice_forward(ctx, &sc->fib, &st->action);
}

/*
 * The return-path RST pkt (backend -> client, rev its translation): a
 * refusal of the SYN when it has ACK and its ack is the ISN + 1 (RFC 9293
 * 3.10.7.1). 1 or 0 as sluice_redispatch(). A subprogram (see
 * sluice_flow_resteer).
 */
static __noinline int sluice_redispatch_rst(struct xdp_md *ctx, const struct sluice_pkt *pkt,
					    const struct sluice_nat_rev *rev)
{
	struct sluice_scratch *sc;
	struct tcphdr *th;
	__u32 zero = 0;

	if ((pkt->tcp_flags & (SLUICE_TCP_RST | SLUICE_TCP_ACK | SLUICE_TCP_SYN)) !=
	    (SLUICE_TCP_RST | SLUICE_TCP_ACK))
		return 0;
	th = sluice_hdr(ctx, pkt->l4_off, sizeof(*th));
	sc = bpf_map_lookup_elem(&sl_scratch_v2, &zero);
	if (!th || !sc)
		return 0;
	__builtin_memset(&sc->key, 0, sizeof(sc->key));
	__builtin_memset(&sc->rkey, 0, sizeof(sc->rkey));
	sc->rkey.src = pkt->src;
	sc->rkey.dst = pkt->dst;
	sc->rkey.sport = pkt->sport;
	sc->rkey.dport = pkt->dport;
	sc->rkey.proto = IPPROTO_TCP;
	sluice_rev_key(&sc->key, &pkt->dst, pkt->dport, IPPROTO_TCP, rev);
	return sluice_redispatch(sc, bpf_htonl(bpf_ntohl(th->ack_seq) - 1), rev, SLUICE_EV_REFUSED);
}

/*
 * An ICMP / ICMPv6 packet parse passed as NOT_L4: the passive signal
 * (passive.h), and when it is a destination unreachable quoting a nat
 * flow's SYN, its redispatch: 1 or 0 (the packet passes) as
 * sluice_redispatch(). A subprogram (see sluice_flow_resteer).
 */
static __noinline int sluice_redispatch_icmp(struct xdp_md *ctx, const struct sluice_pkt *pkt)
{
	struct sluice_scratch *sc;
	struct sluice_nat_rev *rev;
	__u32 zero = 0;
	__be32 qseq = 0;
	int qok = 0;

	sc = bpf_map_lookup_elem(&sl_scratch_v2, &zero);
	if (!sc)
		return 0;
	__builtin_memset(&sc->key, 0, sizeof(sc->key));
	__builtin_memset(&sc->rkey, 0, sizeof(sc->rkey));
	rev = sluice_signal_icmp(ctx, pkt, &sc->rkey, &qseq, &qok);
	if (!rev)
		return 0;
	sluice_fo_note(sc, SLUICE_EV_UNREACHABLE, rev->svc_id, rev->backend_id, 0, rev->backend_id);
	if (!qok)
		return 0;
	/* The quote is client -> backend: the reversed key's destination is the client. */
	sluice_rev_key(&sc->key, &sc->rkey.dst, sc->rkey.dport, IPPROTO_TCP, rev);
	return sluice_redispatch(sc, qseq, rev, SLUICE_EV_UNREACHABLE);
}

#endif /* SLUICE_REDISPATCH_H */
