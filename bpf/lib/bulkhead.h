/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Bulkhead stage: concurrent-connection limits per service
 * (sl_svc_res.max_conns) and over all services (sl_res_global.max_conns),
 * counted in sl_conns (index = service id, SLUICE_CONNS_GLOBAL = global).
 *
 * A NEW connection (a TCP handshake completed by the client's ACK, flow.h,
 * or the first UDP packet of a flow) takes one slot of each limit that
 * applies to it (a TCP SYN takes them and gives them back at once: the
 * refusal at connect, without holding anything for an unverified source): the global one first
 * (it takes precedence, unless the service has SLUICE_RES_NO_GLOBAL), then
 * the service's. A standard client may fill max_conns - reserved slots of
 * its service; a client matching sl_critical for the service may fill all
 * of max_conns. A slot is taken with one atomic fetch-and-add and given
 * back at once when the value before the add was already at the limit, so
 * no connection is ever admitted over a limit, however many CPUs race
 * (the count itself may read one high for the few ns between the add and
 * the give-back; it never admits on that).
 *
 * The flow records which slots it holds (SLUICE_FLOW_COUNTED,
 * SLUICE_FLOW_COUNTED_GLOBAL). Release (RST either way, FIN from both sides
 * in nat, the client's FIN in ipip and local) clears those bits with one
 * atomic fetch-and-and and gives back only the slots whose bits this CPU
 * cleared: two CPUs releasing the same flow (a FIN and a RST crossing)
 * give each slot back once.
 *
 * Cost: a service with no limit pays two inlined array lookups
 * (sl_svc_res, sl_res_global) per new flow and no atomic; a limited one
 * one fetch-and-add per limit (two when refused), and the sl_critical LPM
 * lookup only when a standard client finds the standard share full.
 */
#ifndef SLUICE_BULKHEAD_H
#define SLUICE_BULKHEAD_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "common.h"
#include "parse.h"

#define SLUICE_FLOW_SLOTS (SLUICE_FLOW_COUNTED | SLUICE_FLOW_COUNTED_GLOBAL)
#define SLUICE_CRITICAL_PREFIX_FULL (32 + 128) /* svc_id + a whole address */

/* The limits that apply to a new connection of one service (0: none). */
struct sluice_bh_limits {
	__u32 global;	/* sl_res_global.max_conns, 0 when excluded or unset */
	__u32 max;	/* the service's max_conns */
	__u32 reserved; /* of which only critical clients may use */
	__u8 refuse;	/* enum sluice_refuse */
	__u8 on_open;	/* enum sluice_on_open */
	__u8 panic;	/* SLUICE_RES_PANIC set: new flows ignore the breakers */
	__u8 pad;
	__u32 fallback_be; /* backend id + 1, 0 = none */
};

/* Read the service's settings and the global limit (two inlined array lookups). */
static __always_inline void sluice_bh_limits(__u32 svc_id, struct sluice_bh_limits *lim)
{
	__u32 zero = 0;
	struct sluice_svc_res *res = bpf_map_lookup_elem(&sl_svc_res, &svc_id);
	struct sluice_res_global *g;
	__u8 flags = 0;

	if (res) {
		lim->max = res->max_conns;
		lim->reserved = res->reserved;
		lim->refuse = res->refuse;
		lim->on_open = res->on_open;
		lim->fallback_be = res->fallback_be;
		flags = res->flags;
	}
	lim->panic = !!(flags & SLUICE_RES_PANIC);
	if (!(flags & SLUICE_RES_NO_GLOBAL)) {
		g = bpf_map_lookup_elem(&sl_res_global, &zero);
		if (g)
			lim->global = g->max_conns;
	}
}

/* 1 when a connection of this service must be counted. */
static __always_inline int sluice_bh_limited(const struct sluice_bh_limits *lim)
{
	return lim->max || lim->global;
}

/*
 * The functions below take the counting array as conns: sl_conns for the
 * gateway, sl_host_conns for the host side (host.bpf.c), whose counts the
 * sweep (which recounts sl_conns from the flow table) must not touch. A
 * map pointer passed to an always-inline function is still a constant
 * where bpf_map_lookup_elem sees it, which is what the verifier needs.
 */

/* Add delta to conns[idx] atomically; the count before the add. */
static __always_inline __s64 sluice_conns_add_in(void *conns, __u32 idx, __s64 delta)
{
	struct sluice_conns *c = bpf_map_lookup_elem(conns, &idx);

	if (!c)
		return 0;
	return __sync_fetch_and_add(&c->active, delta);
}

static __always_inline __s64 sluice_conns_add(__u32 idx, __s64 delta)
{
	return sluice_conns_add_in(&sl_conns, idx, delta);
}

/* Take a slot of conns[idx] under cap: 1 taken, 0 full (nothing changed). */
static __always_inline int sluice_slot_take_in(void *conns, __u32 idx, __u32 cap)
{
	if (sluice_conns_add_in(conns, idx, 1) < (__s64)cap)
		return 1;
	sluice_conns_add_in(conns, idx, -1);
	return 0;
}

/* 1 when client is in the service's critical prefixes (one LPM lookup). */
static __always_inline int sluice_bh_critical(const union sluice_addr *client, __u32 svc_id)
{
	struct sluice_shard_key k = {};

	k.prefixlen = SLUICE_CRITICAL_PREFIX_FULL;
	k.svc_id = svc_id;
	k.addr = *client;
	return bpf_map_lookup_elem(&sl_critical, &k) != NULL;
}

/* Give back the slots of conns named by flags (SLUICE_FLOW_COUNTED*). */
static __always_inline void sluice_bh_give_in(void *conns, __u32 svc_id, __u32 flags)
{
	if (flags & SLUICE_FLOW_COUNTED_GLOBAL)
		sluice_conns_add_in(conns, SLUICE_CONNS_GLOBAL, -1);
	if ((flags & SLUICE_FLOW_COUNTED) && svc_id < SLUICE_MAX_SERVICES)
		sluice_conns_add_in(conns, svc_id, -1);
}

static __always_inline void sluice_bh_give(__u32 svc_id, __u32 flags)
{
	sluice_bh_give_in(&sl_conns, svc_id, flags);
}

/*
 * A new connection of client takes its slots of conns: SLUICE_CONTINUE
 * with *flags holding the COUNTED bits taken, or BH_GLOBAL / BH_SERVICE
 * with nothing held.
 */
static __always_inline int sluice_bh_take_in(void *conns, const union sluice_addr *client,
					     __u32 svc_id, const struct sluice_bh_limits *lim,
					     __u32 *flags)
{
	__u32 max = lim->max, std;

	if (lim->global) {
		if (!sluice_slot_take_in(conns, SLUICE_CONNS_GLOBAL, lim->global))
			return SLUICE_R_BH_GLOBAL;
		*flags |= SLUICE_FLOW_COUNTED_GLOBAL;
	}
	if (max) {
		std = lim->reserved < max ? max - lim->reserved : 0;
		/* The standard share first: the LPM lookup only when it is full. */
		if (!sluice_slot_take_in(conns, svc_id, std) &&
		    !(lim->reserved && sluice_bh_critical(client, svc_id) &&
		      sluice_slot_take_in(conns, svc_id, max))) {
			sluice_bh_give_in(conns, svc_id, *flags);
			*flags &= ~SLUICE_FLOW_SLOTS;
			return SLUICE_R_BH_SERVICE;
		}
		*flags |= SLUICE_FLOW_COUNTED;
	}
	return SLUICE_CONTINUE;
}

static __always_inline int sluice_bh_take(const struct sluice_pkt *pkt, __u32 svc_id,
					  const struct sluice_bh_limits *lim, __u32 *flags)
{
	return sluice_bh_take_in(&sl_conns, &pkt->src, svc_id, lim, flags);
}

/*
 * Release the slots of conns named in *flags: clear the COUNTED bits
 * atomically and give back those this CPU cleared. A plain read first, so
 * a holder of nothing (no limit) costs no atomic.
 */
static __always_inline void sluice_bh_release_in(void *conns, __u32 *flags, __u32 svc_id)
{
	__u32 old;

	if (!(*(volatile __u32 *)flags & SLUICE_FLOW_SLOTS))
		return;
	old = __sync_fetch_and_and(flags, ~(__u32)SLUICE_FLOW_SLOTS);
	sluice_bh_give_in(conns, svc_id, old);
}

/* Release the slots a flow holds (sl_conns). */
static __always_inline void sluice_bh_release(struct sluice_flow *f, __u32 svc_id)
{
	sluice_bh_release_in(&sl_conns, &f->flags, svc_id);
}

#endif /* SLUICE_BULKHEAD_H */
