/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Constants every data-plane stage shares: the "continue" verdict a stage
 * returns when it has nothing to say, and how a reason becomes an XDP action.
 * (katran keeps the same things in balancer_consts.h.)
 */
#ifndef SLUICE_COMMON_H
#define SLUICE_COMMON_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"

/*
 * A stage returns either an enum sluice_reason (the packet's fate is
 * decided: leave through the exit) or SLUICE_CONTINUE (run the next stage).
 */
#define SLUICE_CONTINUE (-1)

/* svc_id of a packet that matched no service: counted globally only. */
#define SLUICE_NO_SVC 0xffffffffu

/*
 * The action of a reason: the drop reasons drop, everything else passes.
 * FWD and REV_NAT never come here: the forward stage decides their action
 * (XDP_TX or XDP_REDIRECT) and the entry returns that. So does a refusal's
 * (the refuse stage's answer, XDP_TX with a RST); one that comes here drops.
 */
/* 1 when a and b are the same address (16 bytes: IPv4 v4-mapped). */
static __always_inline int sluice_addr_eq(const union sluice_addr *a, const union sluice_addr *b)
{
	return !((a->u32[0] ^ b->u32[0]) | (a->u32[1] ^ b->u32[1]) | (a->u32[2] ^ b->u32[2]) |
		 (a->u32[3] ^ b->u32[3]));
}

static __always_inline int sluice_reason_action(int reason)
{
	if (SLUICE_R_IS_REFUSAL(reason))
		return XDP_DROP;
	switch (reason) {
	case SLUICE_R_DROP_SVC_RATE:
	case SLUICE_R_DROP_CLIENT_RATE:
	case SLUICE_R_NO_BACKEND:
	case SLUICE_R_TOO_BIG:
	case SLUICE_R_ENCAP_FAIL:
	case SLUICE_R_BAD_FLAGS:
	case SLUICE_R_MARTIAN:
		return XDP_DROP;
	default:
		return XDP_PASS;
	}
}

#endif /* SLUICE_COMMON_H */
