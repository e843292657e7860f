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
#include <bpf/bpf_endian.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "common.h"
#include "parse.h"

/*
 * Port bitmaps (struct sluice_ports): 0 when sl_ports says no key or
 * backend uses port (network order) in the bitmap at bits_off (svc or
 * ret); 1 when one may, or when the bitmaps are off (not filled yet).
 * One inlined array lookup and a bit test, against a hash lookup of a
 * 20- or 40-byte key.
 */
static __always_inline int sluice_port_maybe(__u32 bits_off, __be16 port)
{
	__u32 zero = 0, p = bpf_ntohs(port);
	struct sluice_ports *ports = bpf_map_lookup_elem(&sl_ports, &zero);
	const __u64 *w;

	if (!ports || ports->valid != SLUICE_PORTS_VALID)
		return 1;
	w = (const __u64 *)((const __u8 *)ports + bits_off);
	return (w[(p >> 6) & (SLUICE_PORT_WORDS - 1)] >> (p & 63)) & 1;
}

#define SLUICE_PORTS_SVC __builtin_offsetof(struct sluice_ports, svc)
#define SLUICE_PORTS_RET __builtin_offsetof(struct sluice_ports, ret)

/*
 * SLUICE_CONTINUE with *svc set to the matching service, or NOT_SERVICE.
 * A destination port no service key has is no service without the hash
 * lookup (sluice_port_maybe).
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

	if (!sluice_port_maybe(SLUICE_PORTS_SVC, pkt->dport))
		return SLUICE_R_NOT_SERVICE;
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
