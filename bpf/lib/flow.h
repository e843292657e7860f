/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow stage (nat and ipip services): which backend a packet goes to.
 *
 * sl_flows is a cache-aside of the Maglev decision. A packet whose flow is
 * known follows it, so an established flow keeps its backend when the
 * table changes (a backend added, drained, reweighted), as long as:
 *  - the flow belongs to this service and its backend slot is not UNUSED and
 *    still belongs to this service (a freed slot reused by another service
 *    is never followed); a DRAINING backend keeps its flows;
 *  - for UDP, the flow has not been idle longer than sl_config.udp_timeout_ns.
 * last_seen is refreshed at most once a second, so a busy flow does not
 * write its (shared, cache-line bouncing) entry on every packet.
 *
 * Otherwise a backend is chosen: the client's shard in sl_shards (LPM on
 * service id + client address) pins a backend (used if ACTIVE) or names a
 * subset's table; else the service's own table. The Maglev table is
 * sl_maglev[table id], an inner array whose entry 0 holds M: the slot is
 * picked by multiply-shift (no division) and holds the backend id. The
 * flow is then inserted, whether or not the packet is a TCP SYN: a TCP
 * packet with no flow (a gateway that restarted, a second gateway behind
 * ECMP) is steered by the table, which, Maglev being consistent, is the
 * backend it had in most cases. new_flows is counted for the backend.
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

#define SLUICE_FLOW_REFRESH_NS 1000000000ull /* last_seen granularity: 1 s */
#define SLUICE_SHARD_PREFIX_FULL (32 + 128)  /* svc_id + a whole address */

/* What the flow stage hands to the forwarding stages. */
struct sluice_steer {
	struct sluice_flow_key key; /* the packet's own 5-tuple (client -> service) */
	struct sluice_backend *be;  /* the chosen backend (array value: never freed) */
	__u32 backend_id;	    /* its id; SLUICE_NO_BACKEND until chosen */
	__u32 new_flow;		    /* 1: chosen for this packet, flow inserted */
};

static __always_inline void sluice_flow_key_of(const struct sluice_pkt *pkt,
					       struct sluice_flow_key *key)
{
	key->src = pkt->src;
	key->dst = pkt->dst;
	key->sport = pkt->sport;
	key->dport = pkt->dport;
	key->proto = pkt->l4_proto;
}

/* Idle time after which a UDP flow is steered anew. */
static __always_inline __u64 sluice_udp_timeout(void)
{
	__u32 zero = 0;
	struct sluice_config *cfg = bpf_map_lookup_elem(&sl_config, &zero);
	__u64 t = cfg ? cfg->udp_timeout_ns : 0;

	return t ? t : SLUICE_UDP_TIMEOUT_DEFAULT_NS;
}

/* The backend of id if it may serve this service (any state but UNUSED). */
static __always_inline struct sluice_backend *sluice_backend_of(__u32 id, __u32 svc_id)
{
	struct sluice_backend *be = bpf_map_lookup_elem(&sl_backends, &id);

	if (!be || be->state == SLUICE_BE_UNUSED || be->svc_id != svc_id)
		return NULL;
	return be;
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

/* A new flow: choose its backend (shard, then Maglev) and record it. */
static __always_inline int sluice_flow_new(const struct sluice_svc *svc, __u32 svc_id, __u64 now,
					   struct sluice_steer *st)
{
	struct sluice_shard_key skey = {};
	struct sluice_flow flow = {};
	struct sluice_be_counter *c;
	struct sluice_backend *be = NULL;
	struct sluice_shard *sh;
	__u32 table_id = svc_id, id;

	skey.prefixlen = SLUICE_SHARD_PREFIX_FULL;
	skey.svc_id = svc_id;
	skey.addr = st->key.src;
	sh = bpf_map_lookup_elem(&sl_shards, &skey);
	if (sh) {
		id = sh->backend_id;
		if (id != SLUICE_NO_BACKEND) {
			/* Pinned; a pinned backend that is not ACTIVE falls back to the table. */
			be = sluice_backend_of(id, svc_id);
			if (be && be->state != SLUICE_BE_ACTIVE)
				be = NULL;
		} else if (sh->table_id < SLUICE_MAX_TABLES) {
			table_id = sh->table_id;
		}
	}
	if (!be) {
		id = sluice_maglev_pick(table_id, sluice_flow_hash(&st->key, svc->hash));
		if (id == SLUICE_NO_BACKEND)
			return SLUICE_R_NO_BACKEND;
		be = sluice_backend_of(id, svc_id);
		if (!be)
			return SLUICE_R_NO_BACKEND;
	}
	flow.backend_id = id;
	flow.svc_id = svc_id;
	flow.last_seen = now;
	/* Failure (map full of in-use LRU entries) only costs stickiness: forward anyway. */
	bpf_map_update_elem(&sl_flows_v2, &st->key, &flow, BPF_ANY);
	c = bpf_map_lookup_elem(&sl_be_stats, &id);
	if (c)
		c->new_flows++;
	st->be = be;
	st->backend_id = id;
	st->new_flow = 1;
	return SLUICE_CONTINUE;
}

/* The stage: SLUICE_CONTINUE with st->be chosen, or NO_BACKEND. */
static __always_inline int sluice_flow(const struct sluice_pkt *pkt, const struct sluice_svc *svc,
				       __u32 svc_id, struct sluice_steer *st)
{
	__u64 now = bpf_ktime_get_ns();
	struct sluice_backend *be;
	struct sluice_flow *f;

	sluice_flow_key_of(pkt, &st->key);
	f = bpf_map_lookup_elem(&sl_flows_v2, &st->key);
	if (f && f->svc_id == svc_id) {
		__u64 seen = f->last_seen;
		/* Another CPU may have stored a later now than ours. */
		__u64 idle = now > seen ? now - seen : 0;
		__u32 id = f->backend_id;

		be = sluice_backend_of(id, svc_id);
		if (be && !(pkt->l4_proto == IPPROTO_UDP && idle > sluice_udp_timeout())) {
			/* A racing refresh from another CPU writes the same kind of value. */
			if (idle > SLUICE_FLOW_REFRESH_NS)
				f->last_seen = now;
			st->be = be;
			st->backend_id = id;
			return SLUICE_CONTINUE;
		}
	}
	return sluice_flow_new(svc, svc_id, now, st);
}

#endif /* SLUICE_FLOW_H */
