/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Service stage: match a parsed packet against sl_services on (destination
 * address, destination port, protocol). Also the check every stage that
 * picks a backend shares: does a backend id belong to this service.
 */
#ifndef SLUICE_SERVICE_H
#define SLUICE_SERVICE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "common.h"
#include "parse.h"

/*
 * SLUICE_CONTINUE with *svc set to the matching service, or NOT_SERVICE.
 *
 * A service whose mode this program does not know, or whose id is out of
 * range, is treated as no service at all: passed untouched and counted
 * NOT_SERVICE, globally only. Such an entry can only come from a newer (or
 * broken) control plane; failing open keeps the host reachable, and we
 * cannot count per service an id that does not index the per-service maps.
 * The per-service counters of a valid service therefore only ever hold
 * service verdicts.
 */
static __always_inline int sluice_service_match(const struct sluice_pkt *pkt,
						struct sluice_svc **svc)
{
	struct sluice_svc_key key = {};
	struct sluice_svc *s;

	key.addr = pkt->dst;
	key.port = pkt->dport;
	key.proto = pkt->l4_proto;
	s = bpf_map_lookup_elem(&sl_services, &key);
	if (!s)
		return SLUICE_R_NOT_SERVICE;
	if (s->mode < SLUICE_MODE_LOCAL || s->mode > SLUICE_MODE_IPIP ||
	    s->id >= SLUICE_MAX_SERVICES)
		return SLUICE_R_NOT_SERVICE;
	*svc = s;
	return SLUICE_CONTINUE;
}

/* The backend of id if it may serve this service (any state but UNUSED). */
static __always_inline struct sluice_backend *sluice_backend_of(__u32 id, __u32 svc_id)
{
	struct sluice_backend *be = bpf_map_lookup_elem(&sl_backends, &id);

	if (!be || be->state == SLUICE_BE_UNUSED || be->svc_id != svc_id)
		return NULL;
	return be;
}

#endif /* SLUICE_SERVICE_H */
