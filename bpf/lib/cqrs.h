/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Leader stage (CQRS routing): where the flows of a leader key go. A key
 * with SLUICE_SVC_F_LEADER (a CQRS service's write port, or the one key of
 * a service routed to its leader) never uses the Maglev table: its flows
 * go to sl_leaders[svc id], the backend userspace names as the leader.
 *
 *  - New flow (flow.h calls sluice_leader_pick instead of the shard /
 *    Maglev choice): the leader if there is one and its slot is a backend
 *    of this service in any state but UNUSED; else the flow is refused,
 *    NO_LEADER (TCP: RST or drop per sl_svc_res.refuse, the bulkhead's
 *    refusal path; UDP: drop). Breakers are not consulted (a write has no
 *    other place to go); bulkheads apply as to any flow.
 *  - Known flow (sluice_leader_follow) whose backend is no longer the
 *    leader: the leader moved. TCP: the client gets a RST (or nothing, per
 *    refuse), the flow's bulkhead slots are released as on a client RST and
 *    its entry deleted, LEADER_MOVED; a segment that is itself a RST is
 *    never answered, it follows the flow to the old backend and closes it
 *    there. UDP: the flow is moved to the new leader (its entry updated in
 *    place, keeping its slots), or dropped, NO_LEADER, while there is none.
 *
 * sl_leaders holds backend id + 1 (0: no leader), written by userspace as
 * one whole value: the field is read once, so a concurrent update gives the
 * old leader or the new one. id + 1 - 1 wraps 0 to SLUICE_NO_BACKEND, which
 * no array lookup finds: "no leader" needs no branch of its own.
 *
 * Cost: a key without the flag pays the test of its flags byte (flow.h),
 * nothing else. A leader key pays one array lookup and a compare per
 * packet over a normal flow.
 */
#ifndef SLUICE_BPF_CQRS_H
#define SLUICE_BPF_CQRS_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "common.h"
#include "parse.h"
#include "service.h"
#include "bulkhead.h"
#include "passive.h"
#include "rst.h"

/* The leader's backend id of svc_id; SLUICE_NO_BACKEND when there is none. */
static __always_inline __u32 sluice_leader_id(__u32 svc_id)
{
	struct sluice_leader *l = bpf_map_lookup_elem(&sl_leaders, &svc_id);

	if (!l)
		return SLUICE_NO_BACKEND;
	/* One read: userspace may rewrite the entry meanwhile. 0 - 1 is NO_BACKEND. */
	return *(volatile __u32 *)&l->backend - 1;
}

/*
 * A new flow of a leader key: the leader's backend (*id its id), or NULL
 * when there is no leader or its slot is unused or another service's.
 */
static __always_inline struct sluice_backend *sluice_leader_pick(__u32 svc_id, __u32 *id)
{
	*id = sluice_leader_id(svc_id);
	return sluice_backend_of(*id, svc_id);
}

/*
 * A packet of a known flow f (key) of a leader key, steered to *id / *be.
 *  - SLUICE_CONTINUE: *id is still the leader (nothing changed), or a UDP
 *    flow was moved to the new leader: *id / *be are the new one and
 *    *moved is 1 (the caller inserts its return path);
 *  - LEADER_MOVED (TCP): slots released, entry deleted, *action the
 *    answer (XDP_TX with a RST, or XDP_DROP);
 *  - NO_LEADER (UDP, no leader to move to): drop; the entry stays and
 *    moves once a leader is known.
 */
static __always_inline int sluice_leader_follow(struct xdp_md *ctx, const struct sluice_pkt *pkt,
						__u32 svc_id, const struct sluice_flow_key *key,
						struct sluice_flow *f, __u32 *id,
						struct sluice_backend **be, int *moved, int *action)
{
	__u32 lid = sluice_leader_id(svc_id);
	struct sluice_bh_limits lim = {};
	struct sluice_be_counter *c;
	struct sluice_backend *nbe;

	if (lid == *id)
		return SLUICE_CONTINUE;
	if (pkt->l4_proto == IPPROTO_TCP) {
		/* A RST is never answered: it goes on and closes the flow at the old backend. */
		if (pkt->tcp_flags & SLUICE_TCP_RST)
			return SLUICE_CONTINUE;
		sluice_bh_limits(svc_id, &lim);
		sluice_bh_release(f, svc_id);
		bpf_map_delete_elem(&sl_flows_v3, key);
		sluice_refuse(ctx, pkt, &lim, action);
		return SLUICE_R_LEADER_MOVED;
	}
	nbe = sluice_backend_of(lid, svc_id);
	if (!nbe)
		return SLUICE_R_NO_LEADER;
	/* CPUs racing here store the same id; the slots stay with the entry. */
	f->backend_id = lid;
	c = bpf_map_lookup_elem(&sl_be_stats, &lid);
	if (c)
		c->new_flows++;
	*id = lid;
	*be = nbe;
	*moved = 1;
	return SLUICE_CONTINUE;
}

#endif /* SLUICE_BPF_CQRS_H */
