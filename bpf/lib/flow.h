/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow stage: which backend a packet goes to (nat, ipip), and the
 * connection's state and bulkhead slots (all modes).
 *
 * sl_flows is a cache-aside of the Maglev decision. A packet whose flow is
 * known follows it, so an established flow keeps its backend when the
 * table changes (a backend added, drained, reweighted) or its breaker
 * opens, as long as:
 *  - the flow belongs to this service and its backend slot is not UNUSED and
 *    still belongs to this service (a freed slot reused by another service
 *    is never followed); a DRAINING backend keeps its flows;
 *  - for UDP, the flow has not been idle longer than sl_config.udp_timeout_ns;
 *  - it is not a TCP SYN (without ACK) on a closed flow (FIN seen from both
 *    sides in nat, from the client in ipip and local, or a RST): that is a
 *    new connection reusing the 5-tuple; nor the segment that ends that
 *    connection's handshake, which writes it over the closed entry.
 * last_seen is refreshed at most once a second (or half a shorter UDP
 * timeout), so a busy flow does not write its (shared, cache-line
 * bouncing) entry on every packet.
 *
 * Otherwise the packet begins a flow. A UDP packet takes its bulkhead
 * slots (bulkhead.h); a TCP SYN only checks them (see sluice_flow_new: it
 * creates no flow, its handshake stays pending in sl_syn_v2 until the
 * client's ACK, which takes them). Then a backend is chosen: on a leader key (SLUICE_SVC_F_LEADER) the service's
 * leader (cqrs.h; none: refused, NO_LEADER; no breaker), else the
 * client's shard in sl_shards (LPM on service id + client address) pins a
 * backend (used if ACTIVE) or names a subset's table; else the service's
 * own table. The Maglev table is sl_maglev[table id], an inner array whose
 * entry 0 holds M: the slot is picked by multiply-shift (no division) and
 * holds the backend id. The breaker stage (brkcheck.h) may then move the
 * choice or refuse. A refused connection is answered by rst.h (RST or
 * drop) and records nothing. The flow is then inserted with the slots it
 * holds (UDP), or the handshake recorded pending (TCP). A TCP packet that
 * is no SYN, has no flow and completes no pending handshake (a gateway
 * that restarted, a second gateway behind ECMP, a record the LRU evicted)
 * is steered by the table (Maglev being consistent, the backend it had in
 * most cases; on a leader key, the leader) and recorded ESTABLISHED,
 * taking no slot and passing no breaker: it is a connection already past
 * its handshake.
 *
 * A known flow of a leader key also checks that its backend is still the
 * leader (cqrs.h: TCP is reset, UDP moved, when it is not).
 *
 * Local services (no backend) record flows (backend SLUICE_NO_BACKEND)
 * only when a bulkhead limit applies to them, so their connections can be
 * counted and released; an unlimited local service pays the two array
 * lookups of the limits and nothing else.
 *
 * On a known TCP flow: a RST either way releases the slots and closes the
 * flow; a FIN from the client releases them in ipip and local (the only
 * side they see) and in nat once the backend's FIN was seen too (passive.h
 * handles the return side). Every TCP flow is ESTABLISHED from its start
 * (ipip: the ACK that created it was the SUCCESS signal).
 * Costs on an established packet: one test of the TCP flags (plus, in ipip
 * and local, of the flow's ESTABLISHED bit) over the flow lookup that was
 * always there; the clock is read only where it is needed (see
 * sluice_flow_touch).
 *
 * The flow lookup is the service match's on a key of a nat or ipip service
 * (service.h, flow first): it hands this stage the entry it found.
 *
 * Userspace swaps a whole inner table in one update of sl_maglev, and M sits
 * inside the table it sizes, so this stage reads one table or the other,
 * never a mix, and M always matches the table read.
 */
#ifndef SLUICE_FLOW_H
#define SLUICE_FLOW_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "common.h"
#include "parse.h"
#include "service.h"
#include "flowhash.h"
#include "bulkhead.h"
#include "brkcheck.h"
#include "passive.h"
#include "rst.h"
#include "cqrs.h"
#include "failover.h"
#include "nhcache.h"

#define SLUICE_FLOW_REFRESH_NS 1000000000ull /* last_seen granularity: 1 s */
#define SLUICE_SHARD_PREFIX_FULL (32 + 128)  /* svc_id + a whole address */

/* What the flow stage hands to the forwarding stages. */
struct sluice_steer {
	struct sluice_flow_key key; /* the packet's own 5-tuple (client -> service) */
	struct sluice_backend *be;  /* the chosen backend (array value: never freed) */
	struct sluice_flow *flow; /* key's sl_flows entry as the service match found it, or NULL */
	__u32 backend_id;	  /* its id; SLUICE_NO_BACKEND until chosen */
	__u32 new_flow;		  /* 1: chosen for this packet (flow inserted or moved) */
	__u32 svc_id;		  /* redispatch (return path): the service of the flow */
	long fib_rc; /* the FIB's answer if the flow stage has it (sluice_flow_route), else -1 */
	int action; /* refused (BH_*, BRK_OPEN, NO_LEADER, LEADER_MOVED): XDP_TX (a RST) or XDP_DROP */
};

/* A timeout at least this long is measured with the coarse clock. */
#define SLUICE_COARSE_OK_NS 1000000000ull

/* Idle time after which a UDP flow is steered anew. */
static __always_inline __u64 sluice_udp_timeout(void)
{
	__u32 zero = 0;
	struct sluice_config *cfg = bpf_map_lookup_elem(&sl_config, &zero);
	__u64 t = cfg ? cfg->udp_timeout_ns : 0;

	return t ? t : SLUICE_UDP_TIMEOUT_DEFAULT_NS;
}

/* now - then, 0 when another CPU stored a later time than our now. */
static __always_inline __u64 sluice_idle(__u64 now, __u64 then)
{
	return now > then ? now - then : 0;
}

/* The backend id in Maglev table table_id for hash, or SLUICE_NO_BACKEND. */
static __always_inline __u32 sluice_maglev_pick(__u32 table_id, __u32 hash)
{
	__u32 zero = SLUICE_MAGLEV_SIZE_SLOT, slot;
	__u32 *m, *id;
	void *table;

	table = bpf_map_lookup_elem(&sl_maglev, &table_id);
	if (!table)
		return SLUICE_NO_BACKEND;
	m = bpf_map_lookup_elem(table, &zero);
	if (!m || !*m)
		return SLUICE_NO_BACKEND;
	slot = sluice_maglev_slot(hash, *m);
	/* A slot past the inner map's end (M lying) is a NULL lookup: no backend. */
	id = bpf_map_lookup_elem(table, &slot);
	return id ? *id : SLUICE_NO_BACKEND;
}

/*
 * Choose a backend for a new flow: shard, then Maglev. *table_id and *hash
 * say where the choice came from (the breaker's walk starts there; a pinned
 * backend walks the service's table). The backend, or NULL.
 */
static __always_inline struct sluice_backend *
sluice_choose(const struct sluice_svc *svc, __u32 svc_id, const struct sluice_flow_key *key,
	      __u32 *id_out, __u32 *table_id, __u32 *hash)
{
	struct sluice_shard_key skey = {};
	struct sluice_backend *be = NULL;
	struct sluice_shard *sh;
	__u32 id;

	*table_id = svc_id;
	*hash = sluice_flow_hash(key, svc->hash);
	skey.prefixlen = SLUICE_SHARD_PREFIX_FULL;
	skey.svc_id = svc_id;
	skey.addr = key->src;
	sh = bpf_map_lookup_elem(&sl_shards, &skey);
	if (sh) {
		id = sh->backend_id;
		if (id != SLUICE_NO_BACKEND) {
			/* Pinned; a pinned backend that is not ACTIVE falls back to the table. */
			be = sluice_backend_of(id, svc_id);
			if (be && be->state != SLUICE_BE_ACTIVE)
				be = NULL;
		} else if (sh->table_id < SLUICE_MAX_TABLES) {
			*table_id = sh->table_id;
		}
	}
	if (!be) {
		id = sluice_maglev_pick(*table_id, *hash);
		if (id == SLUICE_NO_BACKEND)
			return NULL;
		be = sluice_backend_of(id, svc_id);
	}
	*id_out = id;
	return be;
}

/* Below: failover of a retransmitted SYN (a subprogram chain of its own). */
static __always_inline int sluice_flow_failover(struct xdp_md *ctx, const struct sluice_pkt *pkt,
						const struct sluice_svc *svc,
						struct sluice_steer *st, __u32 old);

/*
 * A SYN seen before (pending handshake key, same ISN: the client
 * retransmits it): the backend its handshake is on, with
 * SLUICE_SYN_ANSWERED in bits 32..39 when the SYN-ACK was seen; -1 when it
 * is a new handshake. A subprogram: the flow stage is inlined twice.
 */
static __noinline __s64 sluice_syn_again(struct xdp_md *ctx, const struct sluice_pkt *pkt,
					 const struct sluice_flow_key *key)
{
	struct sluice_syn *syn = bpf_map_lookup_elem(&sl_syn_v2, key);
	struct tcphdr *th = sluice_hdr(ctx, pkt->l4_off, sizeof(*th));

	if (!syn || !th || th->seq != syn->isn)
		return -1;
	return (__s64)sluice_syn_backend(syn) | ((__s64)(syn->state & SLUICE_SYN_ANSWERED) << 32);
}

/* The client's segment pkt (th its header, no SYN) is the ACK completing handshake syn. */
static __always_inline int sluice_syn_acks(const struct sluice_syn *syn,
					   const struct sluice_pkt *pkt, const struct tcphdr *th)
{
	/* A Fast Open SYN's data moves the ACK's seq past ISN + 1 by a length not kept. */
	return (pkt->tcp_flags & SLUICE_TCP_ACK) &&
	       (syn->has_data || th->seq == bpf_htonl(bpf_ntohl(syn->isn) + 1));
}

/*
 * 1 when the client's segment pkt (no SYN) on a closed flow of key ends a
 * pending handshake of key as sluice_syn_done() does (its completing ACK,
 * or its RST): a new connection reusing the 5-tuple, whose flow the
 * handshake's end writes over the closed one (sluice_flow). A subprogram,
 * like sluice_syn_done.
 */
static __noinline int sluice_syn_ends(struct xdp_md *ctx, const struct sluice_pkt *pkt,
				      const struct sluice_flow_key *key)
{
	struct sluice_syn *syn = bpf_map_lookup_elem(&sl_syn_v2, key);
	struct tcphdr *th = sluice_hdr(ctx, pkt->l4_off, sizeof(*th));

	if (!syn || !th)
		return 0;
	return (pkt->tcp_flags & SLUICE_TCP_RST) || sluice_syn_acks(syn, pkt, th);
}

/*
 * The client's ACK (no SYN) of a connection without a flow: when it
 * completes a pending handshake (key in sl_syn_v2, its seq the ISN + 1, or
 * any after a Fast Open SYN), the
 * handshake's backend with the flow flags it brings in bits 32..63
 * (ESTABLISHED, MOVED when failover moved it, PROBE), and the record goes
 * (ipip: the SYN-ACK reached the client, SUCCESS, the first sign of the
 * backend's answer there); -1 when there is none. The client's RST (any
 * seq, as on a flow) aborts it: its backend with FIN_BOTH, the record
 * gone. A subprogram, as above.
 */
static __noinline __s64 sluice_syn_done(struct xdp_md *ctx, const struct sluice_pkt *pkt,
					const struct sluice_flow_key *key, __u32 svc_id, __u32 ipip)
{
	struct sluice_syn *syn = bpf_map_lookup_elem(&sl_syn_v2, key);
	struct tcphdr *th = sluice_hdr(ctx, pkt->l4_off, sizeof(*th));
	__u32 id, fl = SLUICE_FLOW_ESTABLISHED;

	if (!syn || !th)
		return -1;
	id = sluice_syn_backend(syn);
	if (pkt->tcp_flags & SLUICE_TCP_RST) {
		bpf_map_delete_elem(&sl_syn_v2, key);
		return (__s64)id | ((__s64)SLUICE_FLOW_FIN_BOTH << 32);
	}
	if (!sluice_syn_acks(syn, pkt, th))
		return -1;
	if (syn->tries > 1)
		fl |= SLUICE_FLOW_MOVED;
	if (syn->state & SLUICE_SYN_PROBE)
		fl |= SLUICE_FLOW_PROBE;
	if (ipip && id != SLUICE_NO_BACKEND) {
		sluice_signal(SLUICE_EV_SUCCESS, id, svc_id);
		if (fl & SLUICE_FLOW_MOVED)
			sluice_redispatched(id, svc_id);
	}
	bpf_map_delete_elem(&sl_syn_v2, key);
	return (__s64)id | ((__s64)fl << 32);
}

/*
 * Store the flow key -> (id, svc_id, now, flags). old: key's entry when
 * there is one (a UDP flow past its idle timeout, a flow whose backend or
 * service went, steered anew): written in place, not replaced by an LRU
 * update, which takes a free node, links it and frees the old one (issue
 * 12; nat_new in BENCHMARKS.md). The slots go in last, exchanged: if
 * another CPU steered the same flow at the same moment, the slots its
 * write put there are given back, so none is held without a flow to
 * release it (the LRU update lost them). A reader on another CPU may see
 * the new service id with the old backend for a moment; it checks that the
 * backend belongs to the service (sluice_backend_of) and steers anew if
 * not.
 *
 * A new key is inserted NOEXIST: when another CPU inserted the same flow
 * meanwhile (a retransmitted ACK), its entry holds the slots and ours are
 * given back. Any failure (also an LRU full of busy entries) gives them
 * back; the packet is forwarded anyway, only stickiness is lost.
 */
static __always_inline void sluice_flow_store(const struct sluice_flow_key *key,
					      struct sluice_flow *old, __u32 id, __u32 svc_id,
					      __u64 now, __u32 flags)
{
	struct sluice_flow flow = {};
	__u32 prev;

	if (old) {
		old->backend_id = id;
		old->svc_id = svc_id;
		old->created = now;
		old->last_seen = now;
		prev = __sync_lock_test_and_set(&old->flags, flags);
		if (prev & SLUICE_FLOW_SLOTS)
			sluice_bh_give(svc_id, prev);
		return;
	}
	flow.backend_id = id;
	flow.svc_id = svc_id;
	flow.last_seen = now;
	flow.created = now;
	flow.flags = flags;
	if (bpf_map_update_elem(&sl_flows_v3, key, &flow, BPF_NOEXIST))
		sluice_bh_give(svc_id, flags);
}

/*
 * A packet of no known flow (none, or the known one no longer applies).
 * lim holds the service's limits when have_lim (local services read them
 * first); old: this key's entry when there is one (it has given back its
 * slots). SLUICE_CONTINUE with st->be chosen (nat, ipip), ADMITTED
 * (local), or the reason of a refusal (st->action set) or NO_BACKEND.
 * now: the clock if the caller read it already (a UDP idle check), else 0.
 *
 * SYN flood defence (issue 13): a TCP SYN creates no flow and takes no
 * bulkhead slot. It is refused when the bulkhead is full now (the slots
 * are taken and given back at once: a refusal at connect, as before), its
 * backend is chosen (leader, shard, Maglev, breaker), and the handshake is
 * kept pending in sl_syn_v2 only (failover.h), a bounded LRU that a flood of
 * spoofed SYNs can churn but never grow past, nor crowd established flows
 * out of sl_flows. A retransmitted SYN (same ISN) stays on its pending
 * backend, or fails over. The client's ACK completing it (seq = ISN + 1:
 * a spoofed source never gets the SYN-ACK it would answer) takes the slots
 * (full by then: refused with a RST) and creates the flow, ESTABLISHED, on
 * the handshake's backend. A UDP packet takes its slots and creates its
 * flow at once, as before; a TCP segment with no flow and no pending
 * handshake takes none (see the header).
 */
static __always_inline int sluice_flow_new(struct xdp_md *ctx, const struct sluice_pkt *pkt,
					   const struct sluice_svc *svc, __u32 svc_id,
					   struct sluice_steer *st, struct sluice_bh_limits *lim,
					   int have_lim, struct sluice_flow *old, __u64 now)
{
	int local = svc->mode == SLUICE_MODE_LOCAL;
	int tcp = pkt->l4_proto == IPPROTO_TCP;
	int syn = tcp && (pkt->tcp_flags & (SLUICE_TCP_SYN | SLUICE_TCP_ACK)) == SLUICE_TCP_SYN;
	__u32 flags = 0, id = SLUICE_NO_BACKEND, table_id = svc_id, hash = 0;
	struct sluice_backend *be = NULL;
	struct sluice_be_counter *c;
	__s64 p = -1;
	int reason;

	if (!tcp || syn) {
		if (!have_lim)
			sluice_bh_limits(svc_id, lim);
		reason = sluice_bh_take(pkt, svc_id, lim, &flags);
		if (reason != SLUICE_CONTINUE)
			goto refuse;
	}
	if (syn) {
		/* Only the check: the handshake's end takes them. */
		sluice_bh_give(svc_id, flags);
		flags = 0;
		/* A leader key's SYN goes to the leader of now, retransmitted or not. */
		if (!(svc->flags & SLUICE_SVC_F_LEADER))
			p = sluice_syn_again(ctx, pkt, &st->key);
		if (p >= 0 && local)
			return SLUICE_R_ADMITTED;
		if (p >= 0) {
			id = (__u32)p;
			be = sluice_backend_of(id, svc_id);
		}
		if (be && !(p >> 32)) {
			int nid = sluice_flow_failover(ctx, pkt, svc, st, id);

			if (nid >= 0 && nid < SLUICE_MAX_BACKENDS) {
				be = sluice_backend_of(nid, svc_id);
				if (!be)
					return SLUICE_R_NO_BACKEND;
				id = nid;
			}
		}
		if (be) {
			/* Its return translation again: a sweep may have taken it meanwhile. */
			st->be = be;
			st->backend_id = id;
			st->new_flow = 1;
			return SLUICE_CONTINUE;
		}
	} else if (tcp) {
		p = sluice_syn_done(ctx, pkt, &st->key, svc_id, svc->mode == SLUICE_MODE_IPIP);
		if (p < 0 && local)
			return SLUICE_R_ADMITTED; /* mid-connection: local records nothing */
		if (p >= 0 && ((p >> 32) & SLUICE_FLOW_FIN_BOTH)) {
			/* The client's RST: to the handshake's backend, nothing recorded. */
			if (local)
				return SLUICE_R_ADMITTED;
			be = sluice_backend_of((__u32)p, svc_id);
			if (!be)
				return SLUICE_R_NO_BACKEND;
			st->be = be;
			st->backend_id = (__u32)p;
			return SLUICE_CONTINUE;
		}
		/* A leader key's handshake completes on the leader only (as a flow's next segment). */
		if (p >= 0 && !local && (svc->flags & SLUICE_SVC_F_LEADER) &&
		    sluice_leader_id(svc_id) != (__u32)p) {
			if (!have_lim)
				sluice_bh_limits(svc_id, lim);
			reason = SLUICE_R_LEADER_MOVED;
			goto refuse;
		}
		if (p >= 0) {
			if (!have_lim)
				sluice_bh_limits(svc_id, lim);
			flags = (__u32)(p >> 32);
			reason = sluice_bh_take(pkt, svc_id, lim, &flags);
			if (reason != SLUICE_CONTINUE)
				goto refuse;
			id = (__u32)p;
			if (!local)
				be = sluice_backend_of(id, svc_id);
		} else {
			flags = SLUICE_FLOW_ESTABLISHED;
		}
	}
	/* A completed handshake whose backend went away is steered anew, as below. */
	if (!local && !be && (svc->flags & SLUICE_SVC_F_LEADER)) {
		/* The leader or nobody: no shard, no table, no breaker. */
		be = sluice_leader_pick(svc_id, &id);
		if (!be) {
			sluice_bh_give(svc_id, flags);
			/* A segment without a flow was not counted: the refuse setting is unread. */
			if (tcp && !syn)
				sluice_bh_limits(svc_id, lim);
			reason = SLUICE_R_NO_LEADER;
			goto refuse;
		}
	} else if (!local && !be) {
		be = sluice_choose(svc, svc_id, &st->key, &id, &table_id, &hash);
		if (!be) {
			sluice_bh_give(svc_id, flags);
			return SLUICE_R_NO_BACKEND;
		}
		if (!tcp || syn) {
			reason = sluice_breaker(svc_id, lim, table_id, hash, &id, &be, &flags);
			if (reason != SLUICE_CONTINUE) {
				sluice_bh_give(svc_id, flags);
				goto refuse;
			}
		}
	}
	if (syn) {
		/* The handshake's only state until the client's ACK. */
		sluice_fo_record(ctx, pkt, &st->key, (__u64)svc_id << 32 | id, flags);
	} else {
		/* Seconds are what the sweep and the idle checks read: the coarse clock. */
		if (!now)
			now = bpf_ktime_get_coarse_ns();
		sluice_flow_store(&st->key, old, id, svc_id, now, flags);
	}
	if (local)
		return SLUICE_R_ADMITTED;
	/* Counted once per connection: at its SYN, not again at its ACK. */
	c = bpf_map_lookup_elem(&sl_be_stats, &id);
	if (c && p < 0)
		c->new_flows++;
	st->be = be;
	st->backend_id = id;
	st->new_flow = 1;
	return SLUICE_CONTINUE;
refuse:
	sluice_refuse(ctx, pkt, lim, &st->action);
	return reason;
}

/*
 * Phase one's end (sluice_flow_resteer, sluice_redispatch): flow sc->key
 * of service svc (mode), whose backend old failed with signal, is to move:
 * where its choice came from goes to the scratch for sluice_fo_walk().
 */
static __always_inline void sluice_fo_prepare(struct sluice_scratch *sc,
					      const struct sluice_svc *svc, __u32 old, __u32 signal)
{
	__u32 svc_id = svc->id;

	sc->fo_svc = svc_id;
	sc->fo_old = old;
	sc->fo_signal = signal;
	sc->fo_what = 0;
	sc->nat = svc->mode == SLUICE_MODE_NAT;
	sc->table_id = svc_id;
	sc->hash = 0;
	sc->id = SLUICE_NO_BACKEND;
	if (!sluice_choose(svc, svc_id, &sc->key, &sc->cid, &sc->table_id, &sc->hash))
		sc->table_id = svc_id;
}

/*
 * Phase one of a re-steer: a SYN of a pending handshake on backend old
 * that is not answered (nat, ipip; the caller checked). If it is the SYN
 * sl_syn_v2 holds (same ISN), the client retransmitted it and the backend is
 * silent: a SYN_RETRY failure, and while the service's retries last the
 * handshake is to move (1: sluice_fo_walk and sluice_fo_commit follow); else 0
 * (retry_exhausted noted when they are spent). A leader key's flows never
 * move: only the leader takes them.
 *
 * Each phase is a subprogram of its own, not inlined: the path is rare,
 * and inlined its locals would take the entry's frame past the 512-byte
 * stack (a subprogram's frame counts on top of its caller's, so they are
 * called one after the other from the entry, never from each other).
 */
static __noinline int sluice_flow_resteer(struct xdp_md *ctx, const struct sluice_pkt *pkt,
					  const struct sluice_svc *svc, struct sluice_steer *st,
					  __u32 old)
{
	__u32 svc_id = svc->id, zero = 0;
	struct sluice_scratch *sc;
	struct sluice_syn *syn;
	struct tcphdr *th;

	if (svc->flags & SLUICE_SVC_F_LEADER)
		return 0;
	sc = bpf_map_lookup_elem(&sl_scratch_v2, &zero);
	syn = bpf_map_lookup_elem(&sl_syn_v2, &st->key);
	th = sluice_hdr(ctx, pkt->l4_off, sizeof(*th));
	if (!sc || !syn || !th || th->seq != syn->isn || !sluice_fo_retries(svc_id))
		return 0;
	if (!sluice_fo_budget(syn, svc_id)) {
		sluice_fo_note(sc, SLUICE_EV_SYN_RETRY, svc_id, old, sluice_fo_exhausted(syn), old);
		return 0;
	}
	sc->key = st->key;
	sluice_fo_prepare(sc, svc, old, SLUICE_EV_SYN_RETRY);
	return 1;
}

/*
 * A retransmitted SYN of a handshake on backend old (see
 * sluice_flow_resteer): the backend id it moved to, or -1 (it stays).
 * Counted and published either way.
 */
static __always_inline int sluice_flow_failover(struct xdp_md *ctx, const struct sluice_pkt *pkt,
						const struct sluice_svc *svc,
						struct sluice_steer *st, __u32 old)
{
	int nid = -1;

	if (sluice_flow_resteer(ctx, pkt, svc, st, old))
		nid = sluice_fo_commit(sluice_fo_walk());
	sluice_fo_report();
	return nid;
}

/* A TCP SYN on this flow begins a new connection: the old one is closed. */
static __always_inline int sluice_flow_closed(const struct sluice_flow *f, __u8 mode)
{
	__u32 fl = f->flags;

	if (mode == SLUICE_MODE_NAT)
		return (fl & SLUICE_FLOW_FIN_BOTH) == SLUICE_FLOW_FIN_BOTH;
	return fl & SLUICE_FLOW_FIN_CLIENT;
}

/* Connection state of a known TCP flow, from a client segment. */
static __always_inline void sluice_flow_tcp(struct sluice_flow *f, const struct sluice_pkt *pkt,
					    const struct sluice_flow_key *key, __u8 mode,
					    __u32 svc_id)
{
	__u8 tf = pkt->tcp_flags;
	__u32 old;

	if (tf & SLUICE_TCP_RST) {
		sluice_flow_set(f, SLUICE_FLOW_FIN_BOTH);
		sluice_bh_release(f, svc_id);
		return;
	}
	if (mode != SLUICE_MODE_NAT && (tf & (SLUICE_TCP_SYN | SLUICE_TCP_ACK)) == SLUICE_TCP_ACK &&
	    !(f->flags & SLUICE_FLOW_ESTABLISHED)) {
		/* The backend's SYN-ACK reached the client (ipip: DSR, local: the host). */
		old = sluice_flow_set(f, SLUICE_FLOW_ESTABLISHED);
		if (!(old & SLUICE_FLOW_ESTABLISHED) && f->backend_id != SLUICE_NO_BACKEND) {
			sluice_signal(SLUICE_EV_SUCCESS, f->backend_id, svc_id);
			sluice_handshake_done(key, old, f->backend_id, svc_id);
		}
	}
	if (tf & SLUICE_TCP_FIN) {
		old = sluice_flow_set(f, SLUICE_FLOW_FIN_CLIENT);
		if (mode != SLUICE_MODE_NAT || (old & SLUICE_FLOW_FIN_BACKEND))
			sluice_bh_release(f, svc_id);
	}
}

/*
 * Refresh last_seen once it is more than every ns old (a second, or half
 * a shorter UDP timeout: a busy flow must never look idle). now is the
 * clock the caller read (the coarse one, CLOCK_MONOTONIC as of the last
 * tick, unless a sub-second UDP timeout needed the precise one).
 */
static __always_inline void sluice_flow_touch(struct sluice_flow *f, __u64 now, __u64 every)
{
	/* A racing refresh from another CPU writes the same kind of value. */
	if (sluice_idle(now, f->last_seen) > every)
		f->last_seen = now;
}

/*
 * The stage: SLUICE_CONTINUE with st->be chosen (nat, ipip), ADMITTED
 * (local), NO_BACKEND, or a refusal (BH_SERVICE, BH_GLOBAL, BRK_OPEN,
 * NO_LEADER, LEADER_MOVED) with st->action the answer.
 */
static __always_inline int sluice_flow(struct xdp_md *ctx, const struct sluice_pkt *pkt,
				       const struct sluice_svc *svc, __u32 svc_id,
				       struct sluice_steer *st)
{
	struct sluice_bh_limits lim = {};
	__u8 mode = svc->mode;
	int tcp = pkt->l4_proto == IPPROTO_TCP, have_lim = 0;
	struct sluice_backend *be = NULL;
	struct sluice_flow *f;
	__u64 now = 0, every = SLUICE_FLOW_REFRESH_NS;

	st->action = XDP_DROP;
	if (mode == SLUICE_MODE_LOCAL) {
		sluice_bh_limits(svc_id, &lim);
		if (!sluice_bh_limited(&lim))
			return SLUICE_R_ADMITTED;
		have_lim = 1;
	}
	/* The service match built the key and looked the flow up, but a local service's. */
	f = mode == SLUICE_MODE_LOCAL ? bpf_map_lookup_elem(&sl_flows_v3, &st->key) : st->flow;
	if (!f)
		return sluice_flow_new(ctx, pkt, svc, svc_id, st, &lim, have_lim, NULL, 0);
	if (f->svc_id == svc_id) {
		__u32 id = f->backend_id;
		int ok;

		if (mode == SLUICE_MODE_LOCAL) {
			ok = id == SLUICE_NO_BACKEND;
		} else {
			be = sluice_backend_of(id, svc_id);
			ok = be != NULL;
		}
		if (ok && !tcp) {
			__u64 t = sluice_udp_timeout();

			/*
			 * The coarse clock (at most a tick behind) measures a
			 * timeout of seconds well enough, and costs a few ns
			 * where the precise one costs about 15 (live frames,
			 * BENCHMARKS.md); a shorter timeout needs the precise.
			 */
			now = t >= SLUICE_COARSE_OK_NS ? bpf_ktime_get_coarse_ns()
						       : bpf_ktime_get_ns();
			ok = sluice_idle(now, f->last_seen) <= t;
			if (t < every)
				every = t / 2;
		}
		/*
		 * A closed flow's 5-tuple reused: the new connection's SYN
		 * begins its handshake, and the segment that ends it (its ACK,
		 * or its RST) is the new connection's, written over the closed
		 * entry (sluice_flow_store) rather than deleted at the SYN and
		 * inserted at the ACK. Any other segment still follows the
		 * closed flow (the old connection's last ACK).
		 */
		if (ok && tcp && sluice_flow_closed(f, mode))
			ok = (pkt->tcp_flags & (SLUICE_TCP_SYN | SLUICE_TCP_ACK)) !=
				     SLUICE_TCP_SYN &&
			     !sluice_syn_ends(ctx, pkt, &st->key);
		if (ok) {
			/* The only cost to a key without the flag: this test. */
			if ((svc->flags & SLUICE_SVC_F_LEADER) && mode != SLUICE_MODE_LOCAL) {
				int moved = 0, reason;

				reason = sluice_leader_follow(ctx, pkt, svc_id, &st->key, f, &id,
							      &be, &moved, &st->action);
				if (reason != SLUICE_CONTINUE)
					return reason;
				st->new_flow = moved;
			}
			if (tcp)
				sluice_flow_tcp(f, pkt, &st->key, mode, svc_id);
			/* One clock read for the touch and the next hop (TCP: the coarse one). */
			if (!now)
				now = bpf_ktime_get_coarse_ns();
			sluice_flow_touch(f, now, every);
			if (mode == SLUICE_MODE_LOCAL)
				return SLUICE_R_ADMITTED;
			/* The flow's next hop, cached in its entry (nhcache.h). */
			st->fib_rc = sluice_flow_route(ctx, pkt, svc, f, now);
			st->be = be;
			st->backend_id = id;
			return SLUICE_CONTINUE;
		}
	}
	/* Replaced: the old entry gives back what it holds first. */
	sluice_bh_release(f, f->svc_id);
	return sluice_flow_new(ctx, pkt, svc, svc_id, st, &lim, have_lim, f, now);
}

#endif /* SLUICE_FLOW_H */
