// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Names and descriptions of enum sluice_reason, indexed by the enum so a
 * missing entry is a compile-time error (the _Static_assert below) rather
 * than a NULL at run time.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "reason.h"

static const struct {
	const char *name;
	const char *desc;
	int service; /* a service verdict, counted per service too */
} reasons[] = {
	[SLUICE_R_ADMITTED] = { "admitted", "service packet admitted", 1 },
	[SLUICE_R_NOT_SERVICE] = { "not_service", "IP packet matching no service, passed", 0 },
	[SLUICE_R_NOT_IP] = { "not_ip", "neither IPv4 nor IPv6 (ARP, LLDP...), passed", 0 },
	[SLUICE_R_NOT_L4] = { "not_l4", "IP but neither TCP nor UDP, passed", 0 },
	[SLUICE_R_FRAGMENT] = { "fragment", "IP fragment without an L4 header, passed", 0 },
	[SLUICE_R_MALFORMED] = { "malformed", "truncated or malformed header, passed", 0 },
	[SLUICE_R_EXT_LIMIT] = { "ext_limit", "IPv6 extension header chain too long, passed", 0 },
	[SLUICE_R_DROP_SVC_RATE] = { "drop_svc_rate", "dropped: service rate exceeded", 1 },
	[SLUICE_R_DROP_CLIENT_RATE] = { "drop_client_rate", "dropped: per-client rate exceeded",
					1 },
	[SLUICE_R_FWD] = { "forwarded", "forwarded to a backend", 1 },
	[SLUICE_R_FWD_STACK] = { "fwd_stack", "rewritten for a backend, next hop left to the stack",
				 1 },
	[SLUICE_R_REV_NAT] = { "rev_nat", "return packet translated back to the service address",
			       1 },
	[SLUICE_R_NO_BACKEND] = { "no_backend", "dropped: no backend can take the flow", 1 },
	[SLUICE_R_TTL] = { "ttl_expired", "TTL would expire, passed to the stack", 1 },
	[SLUICE_R_TOO_BIG] = { "too_big", "dropped: encapsulated packet over the egress MTU", 1 },
	[SLUICE_R_ENCAP_FAIL] = { "encap_fail", "dropped: cannot encapsulate (no source set?)", 1 },
	[SLUICE_R_BH_SERVICE] = { "bh_service", "refused: service bulkhead full", 1 },
	[SLUICE_R_BH_GLOBAL] = { "bh_global", "refused: global bulkhead full", 1 },
	[SLUICE_R_BRK_OPEN] = { "brk_open", "refused: every backend choice's breaker open", 1 },
	[SLUICE_R_NO_LEADER] = { "no_leader", "refused: write flow while no leader is known", 1 },
	[SLUICE_R_LEADER_MOVED] = { "leader_moved",
				    "refused: write flow's backend is no longer the leader", 1 },
	[SLUICE_R_OTHER_HOST] = { "other_host",
				  "frame for another MAC (promiscuous mode), passed untouched", 0 },
	[SLUICE_R_BAD_FLAGS] = { "bad_flags", "dropped: invalid TCP flag combination", 1 },
	[SLUICE_R_MARTIAN] = { "martian", "dropped: martian source address", 1 },
};
_Static_assert(sizeof(reasons) / sizeof(reasons[0]) == SLUICE_R_MAX,
	       "every enum sluice_reason needs a name");

const char *reason_name(unsigned int reason)
{
	return reason < SLUICE_R_MAX ? reasons[reason].name : NULL;
}

const char *reason_desc(unsigned int reason)
{
	return reason < SLUICE_R_MAX ? reasons[reason].desc : NULL;
}

int reason_is_service(unsigned int reason)
{
	return reason < SLUICE_R_MAX ? reasons[reason].service : 0;
}

int reason_from_name(const char *name)
{
	unsigned int i;

	for (i = 0; i < SLUICE_R_MAX; i++)
		if (reasons[i].name && !strcmp(reasons[i].name, name))
			return (int)i;
	return -ENOENT;
}
