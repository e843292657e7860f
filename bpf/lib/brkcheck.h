/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Breaker stage: after a NEW connection's backend is chosen (shard, then
 * Maglev), read that backend's circuit breaker (sl_breakers, written by the
 * userspace state machine):
 *  - CLOSED (or a state this program does not know: fail open): use it;
 *  - HALF_OPEN: atomically take one of probes_left; if there was one, the
 *    flow is a probe (flow flag PROBE, sl_be_signals.probes counted); else
 *    the backend is treated as OPEN;
 *  - OPEN: per sl_svc_res.on_open:
 *      NEXT: the next SLUICE_BRK_NEXT_TRIES slots of the Maglev table the
 *        choice came from (slot + 1, + 2 ..., wrapping at M; the service's
 *        own table when a shard pinned the backend) for a backend whose
 *        breaker admits it (half-open: the probe rule), counted
 *        rerouted_next; else the fallback; else refuse;
 *      FALLBACK: the fallback backend (sl_svc_res.fallback_be - 1, a backend
 *        of this service in any state but UNUSED) if its breaker admits
 *        it, counted rerouted_fallback; else refuse;
 *      FAIL_FAST: refuse (BRK_OPEN: RST or drop per sl_svc_res.refuse).
 * In panic (sl_svc_res.flags SLUICE_RES_PANIC, set by the breaker engine
 * when too few of the service's active backends are healthy) the choice
 * stands whatever its breaker says: the table already holds every active
 * backend, so new flows spread over all of them (Envoy's panic threshold).
 * Established flows never come here: they follow their flow entry whatever
 * the breaker says.
 *
 * Cost with every breaker closed: one inlined array lookup and a compare
 * per new flow. The walk runs only when the chosen backend is open.
 */
#ifndef SLUICE_BRKCHECK_H
#define SLUICE_BRKCHECK_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "common.h"
#include "service.h"
#include "flowhash.h"
#include "bulkhead.h"

/* 1 when backend id's breaker lets a new flow through (*flags gets PROBE), 0 when open. */
static __always_inline int sluice_brk_admit(__u32 id, __u32 *flags)
{
	struct sluice_breaker *b = bpf_map_lookup_elem(&sl_breakers, &id);
	struct sluice_be_signals *s;
	__u32 state;

	if (!b)
		return 1;
	state = *(volatile __u32 *)&b->state;
	if (state == SLUICE_BRK_CLOSED)
		return 1;
	if (state == SLUICE_BRK_HALF_OPEN) {
		if (__sync_fetch_and_add(&b->probes_left, -1) > 0) {
			*flags |= SLUICE_FLOW_PROBE;
			s = bpf_map_lookup_elem(&sl_be_signals, &id);
			if (s)
				s->probes++;
			return 1;
		}
		/* No budget left: undo, so repeated refusals cannot wrap the counter. */
		__sync_fetch_and_add(&b->probes_left, 1);
		return 0;
	}
	return state != SLUICE_BRK_OPEN;
}

/* A candidate for a rerouted flow: a live backend of this service whose breaker admits it. */
static __always_inline struct sluice_backend *sluice_brk_candidate(__u32 id, __u32 svc_id,
								   __u32 *flags)
{
	struct sluice_backend *be;

	if (id == SLUICE_NO_BACKEND)
		return NULL;
	be = sluice_backend_of(id, svc_id);
	if (!be || !sluice_brk_admit(id, flags))
		return NULL;
	return be;
}

/*
 * Walk the SLUICE_BRK_NEXT_TRIES table slots after hash's slot of table
 * table_id for a backend other than skip that the breakers admit.
 * SLUICE_NO_BACKEND when none.
 *
 * A global subprogram (issue 12): the verifier checks it once, on its own.
 * Inlined, its loop was walked again for every state the entry reached it
 * in: sluice_xdp took 888 048 of the verifier's 1M instructions, 516 693
 * with this. It hands back the id only (a global subprogram returns no
 * map value); the caller looks the backend up again.
 */
__noinline __u32 sluice_brk_next(__u32 table_id, __u32 hash, __u32 svc_id, __u32 skip, __u32 *flags)
{
	__u32 zero = SLUICE_MAGLEV_SIZE_SLOT, slot, m, i;
	__u32 *mp, *idp;
	void *table;

	if (!flags)
		return SLUICE_NO_BACKEND;
	table = bpf_map_lookup_elem(&sl_maglev, &table_id);
	if (!table)
		return SLUICE_NO_BACKEND;
	mp = bpf_map_lookup_elem(table, &zero);
	if (!mp || !*mp)
		return SLUICE_NO_BACKEND;
	m = *mp;
	slot = sluice_maglev_slot(hash, m);
	/*
	 * A bounded loop (the verifier walks its SLUICE_BRK_NEXT_TRIES
	 * iterations), kept rolled: unrolled it would copy the lookups and
	 * atomics eight times into a path that only runs while a breaker is
	 * open.
	 */
#pragma clang loop unroll(disable)
	for (i = 0; i < SLUICE_BRK_NEXT_TRIES; i++) {
		__u32 id;

		slot = slot >= m ? 1 : slot + 1;
		idp = bpf_map_lookup_elem(table, &slot);
		if (!idp)
			break;
		id = *idp;
		if (id == skip)
			continue;
		if (sluice_brk_candidate(id, svc_id, flags))
			return id;
	}
	return SLUICE_NO_BACKEND;
}

static __always_inline void sluice_res_count(__u32 svc_id, int fallback)
{
	struct sluice_res_counter *c = bpf_map_lookup_elem(&sl_res_stats, &svc_id);

	if (!c)
		return;
	if (fallback)
		c->rerouted_fallback++;
	else
		c->rerouted_next++;
}

/*
 * The stage, for a new connection whose choice is *id / *be, made from
 * table table_id with hash: SLUICE_CONTINUE with *id / *be the backend to
 * use (*flags may get PROBE), or BRK_OPEN.
 */
static __always_inline int sluice_breaker(__u32 svc_id, const struct sluice_bh_limits *lim,
					  __u32 table_id, __u32 hash, __u32 *id,
					  struct sluice_backend **be, __u32 *flags)
{
	struct sluice_backend *alt = NULL;
	__u32 alt_id;

	/* Panic (userspace's verdict): too few healthy backends to trust the breakers. */
	if (lim->panic || sluice_brk_admit(*id, flags))
		return SLUICE_CONTINUE;
	if (lim->on_open == SLUICE_ON_OPEN_NEXT) {
		alt_id = sluice_brk_next(table_id, hash, svc_id, *id, flags);
		alt = alt_id == SLUICE_NO_BACKEND ? NULL : sluice_backend_of(alt_id, svc_id);
		if (alt) {
			sluice_res_count(svc_id, 0);
			goto use;
		}
	}
	if (lim->on_open != SLUICE_ON_OPEN_FAIL_FAST && lim->fallback_be) {
		alt_id = lim->fallback_be - 1;
		alt = sluice_brk_candidate(alt_id, svc_id, flags);
		if (alt) {
			sluice_res_count(svc_id, 1);
			goto use;
		}
	}
	return SLUICE_R_BRK_OPEN;
use:
	*id = alt_id;
	*be = alt;
	return SLUICE_CONTINUE;
}

#endif /* SLUICE_BRKCHECK_H */
