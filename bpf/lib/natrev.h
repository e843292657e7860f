/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The stateless return path's lookups (nat.h explains it): sl_be_rev, and
 * the flow a reply belongs to, rebuilt from it. Apart from nat.h so that
 * passive.h (ICMP signals) shares them without the NAT rewrite.
 */
#ifndef SLUICE_NATREV_H
#define SLUICE_NATREV_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "fwd.h"

/* A RST closes both directions: both FIN bits, so the flow reads as closed. */
#define SLUICE_FLOW_FIN_BOTH (SLUICE_FLOW_FIN_CLIENT | SLUICE_FLOW_FIN_BACKEND)

/*
 * A nat flow closed both ways (FIN from both sides, or a RST). Its entry
 * stays until the sweep or the LRU takes it, and a new connection reusing
 * the 5-tuple completes its handshake into it (flow.h): until then, the
 * pending handshake, when there is one, says where the connection is.
 */
static __always_inline int sluice_flow_nat_closed(const struct sluice_flow *f)
{
	return (f->flags & SLUICE_FLOW_FIN_BOTH) == SLUICE_FLOW_FIN_BOTH;
}

/*
 * The stateless return translation of a packet from addr:port (proto, of
 * family v4 or not), or NULL: sl_be_rev, checked like sl_nat_rev.
 */
static __always_inline struct sluice_nat_rev *sluice_be_rev_of(const union sluice_addr *addr,
							       __be16 port, __u8 proto, int v4)
{
	struct sluice_be_rev_key key = {};
	struct sluice_nat_rev *r;

	key.addr = *addr;
	key.port = port;
	key.proto = proto;
	r = bpf_map_lookup_elem(&sl_be_rev, &key);
	/* The family check keeps a rewrite from ever mixing them (userspace does too). */
	if (!r || r->svc_id >= SLUICE_MAX_SERVICES || sluice_addr_is_v4(&r->vip) != v4)
		return NULL;
	return r;
}

/* The forward key (client -> service) of a reply to client:cport that rev translates. */
static __always_inline void sluice_rev_key(struct sluice_flow_key *key,
					   const union sluice_addr *client, __be16 cport,
					   __u8 proto, const struct sluice_nat_rev *rev)
{
	key->src = *client;
	key->dst = rev->vip;
	key->sport = cport;
	key->dport = rev->vport;
	key->proto = proto;
}

/* The backend a pending handshake is on (its last try), or SLUICE_NO_BACKEND. */
static __always_inline __u32 sluice_syn_backend(const struct sluice_syn *syn)
{
	__u32 t = syn->tries;

	/* Also the verifier's bound on the index. */
	if (!t || t > SLUICE_SYN_TRIED)
		return SLUICE_NO_BACKEND;
	return syn->tried[t - 1];
}

/*
 * The backend this gateway sent the connection of a reply to client:cport
 * that rev translates (client -> service, rebuilt) to: its flow's when the
 * flow is of rev's service, else (no flow: flow.h keeps none until the
 * handshake completes) its pending handshake's; SLUICE_NO_BACKEND when
 * there is neither. A closed flow with a pending handshake is a new
 * connection on the same 5-tuple: the handshake's.
 */
static __always_inline __u32 sluice_rev_backend(const union sluice_addr *client, __be16 cport,
						__u8 proto, const struct sluice_nat_rev *rev)
{
	struct sluice_flow_key key = {};
	struct sluice_flow *f;
	struct sluice_syn *syn;

	sluice_rev_key(&key, client, cport, proto, rev);
	f = bpf_map_lookup_elem(&sl_flows_v3, &key);
	if (f && !sluice_flow_nat_closed(f))
		return f->svc_id == rev->svc_id ? f->backend_id : SLUICE_NO_BACKEND;
	syn = bpf_map_lookup_elem(&sl_syn_v2, &key);
	if (syn)
		return sluice_syn_backend(syn);
	if (f)
		return f->svc_id == rev->svc_id ? f->backend_id : SLUICE_NO_BACKEND;
	return SLUICE_NO_BACKEND;
}

#endif /* SLUICE_NATREV_H */
