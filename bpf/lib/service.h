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
 * Bitmaps of sl_ports_v2 (struct sluice_ports): 0 when bit p of the bitmap
 * at bits_off (svc, ret: a port in host order; flow: sluice_key_bit()) is
 * clear; 1 when it is set, or when the bitmaps are off (not filled yet).
 * One inlined array lookup and a bit test, against a hash lookup of a
 * 20- or 40-byte key.
 */
static __always_inline int sluice_bit_maybe(__u32 bits_off, __u32 p)
{
	__u32 zero = 0;
	struct sluice_ports *ports = bpf_map_lookup_elem(&sl_ports_v2, &zero);
	const __u64 *w;

	if (!ports || ports->valid != SLUICE_PORTS_VALID)
		return 1;
	w = (const __u64 *)((const __u8 *)ports + bits_off);
	return (w[(p >> 6) & (SLUICE_PORT_WORDS - 1)] >> (p & 63)) & 1;
}

/* The same for port (network order) in the svc or ret bitmap. */
static __always_inline int sluice_port_maybe(__u32 bits_off, __be16 port)
{
	return sluice_bit_maybe(bits_off, bpf_ntohs(port));
}

#define SLUICE_PORTS_SVC __builtin_offsetof(struct sluice_ports, svc)
#define SLUICE_PORTS_RET __builtin_offsetof(struct sluice_ports, ret)
#define SLUICE_PORTS_FLOW __builtin_offsetof(struct sluice_ports, flow)

static __always_inline void sluice_flow_key_of(const struct sluice_pkt *pkt,
					       struct sluice_flow_key *key)
{
	key->src = pkt->src;
	key->dst = pkt->dst;
	key->sport = pkt->sport;
	key->dport = pkt->dport;
	key->proto = pkt->l4_proto;
}

/* The service of id by sl_svc_byid if key is the packet's own (see struct sluice_svc_ent). */
static __always_inline struct sluice_svc *sluice_service_of_flow(const struct sluice_pkt *pkt,
								 __u32 id)
{
	struct sluice_svc_ent *ent = bpf_map_lookup_elem(&sl_svc_byid, &id);

	if (!ent || ent->svc.id != id || ent->key.proto != pkt->l4_proto ||
	    ent->key.port != pkt->dport || !sluice_addr_eq(&ent->key.addr, &pkt->dst))
		return NULL;
	return &ent->svc;
}

/*
 * SLUICE_CONTINUE with *svc set to the matching service, or NOT_SERVICE.
 * A destination port no service key has is no service without the hash
 * lookup (sluice_port_maybe).
 *
 * Flow first (issue 12): *fkey is the packet's flow key and *flow its
 * sl_flows entry or NULL (not looked up for a local service), for the flow
 * stage; *known is 1 when the service came through that flow (its first
 * packet passed the hygiene checks), else left as it is. When the key's bit in the flow bitmap is set (a nat or ipip
 * service may have it) the flow is looked up first and a known
 * flow's service comes from sl_svc_byid by the flow's svc_id, when that
 * entry's key is the packet's destination: an established packet pays one
 * hash lookup, not two. Otherwise (a new flow, a stale entry, a write
 * port's key, a service deleted or re-created with another id) the
 * sl_services lookup decides, as before; the flow stage then replaces a
 * flow whose svc_id is not the service's. A clear bit (a local service,
 * an address of no service) takes sl_services first, as before: it would
 * pay a flow table miss for nothing.
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
						struct sluice_svc **svc,
						struct sluice_flow_key *fkey,
						struct sluice_flow **flow, __u32 *known)
{
	struct sluice_svc_key key = {};
	struct sluice_flow *f = NULL;
	struct sluice_svc *s = NULL;
	int looked = 0;

	if (!sluice_port_maybe(SLUICE_PORTS_SVC, pkt->dport))
		return SLUICE_R_NOT_SERVICE;
	sluice_flow_key_of(pkt, fkey);
	if (sluice_bit_maybe(SLUICE_PORTS_FLOW,
			     sluice_key_bit(&pkt->dst, pkt->dport, pkt->l4_proto))) {
		f = bpf_map_lookup_elem(&sl_flows_v3, fkey);
		looked = 1;
		if (f)
			s = sluice_service_of_flow(pkt, f->svc_id);
		*known = s != NULL;
	}
	if (!s) {
		key.addr = pkt->dst;
		key.port = pkt->dport;
		key.proto = pkt->l4_proto;
		s = bpf_map_lookup_elem(&sl_services, &key);
		if (!s)
			return SLUICE_R_NOT_SERVICE;
	}
	if (s->mode < SLUICE_MODE_LOCAL || s->mode > SLUICE_MODE_IPIP ||
	    s->id >= SLUICE_MAX_SERVICES)
		return SLUICE_R_NOT_SERVICE;
	/*
	 * Service first: the flow stage's lookup, here. Verifier workaround:
	 * every path leaves with the same state; a flag telling the flow
	 * stage to look it up itself doubled the states behind it and took
	 * sluice_tc past the verifier's 1M instructions (E2BIG). A local
	 * service's flow is looked up by the flow stage, when it keeps flows.
	 */
	if (!looked && s->mode != SLUICE_MODE_LOCAL)
		f = bpf_map_lookup_elem(&sl_flows_v3, fkey);
	*flow = f;
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
