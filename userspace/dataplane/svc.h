/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The write side of services: the one module that changes sl_services and the
 * per-service state indexed by a service's id (counters, buckets; the
 * steering state of a nat or ipip service through backend.c: its Maglev
 * table, backends, shards). The top of the write modules: it calls down
 * into res, backend (with its shards and leader) and publish; services are
 * read through svcinfo.h, where their keys and write ports are explained.
 * Every operation validates everything first and touches no map until the
 * whole change is known good, so a refused command changes nothing.
 */
#ifndef SLUICE_SVC_H
#define SLUICE_SVC_H

#include <stddef.h>
#include <linux/types.h>
#include "maps.h"
#include "res.h"
#include "sluice_abi.h"
#include "svcinfo.h"

/*
 * What a command asks for; has_* says which fields were given. For add, a
 * missing mode is local and a missing rate is unlimited; for set, a missing
 * field keeps its value. A burst needs its rate in the same command (a new
 * rate without a burst takes the default burst, see rate.h).
 */
struct svc_conf {
	int has_mode;
	__u8 mode; /* enum sluice_mode */
	int has_rate;
	__u32 rate_pps; /* 0 = unlimited */
	int has_burst;
	__u32 burst;
	int has_client_rate;
	__u32 client_rate_pps; /* 0 = unlimited */
	int has_client_burst;
	__u32 client_burst;
	int has_hash;
	__u8 hash; /* enum sluice_hash; add: default SLUICE_HASH_5TUPLE */
	int has_maglev_size;
	__u32 maglev_size; /* Maglev table size M, a prime <= SLUICE_MAGLEV_M_MAX (nat, ipip) */
	int has_write_port;
	__u16 write_port; /* host order; 0 = none (nat, ipip) */
	int has_route;
	int route_leader;    /* 1: every flow goes to the leader; 0: Maglev (default) */
	struct res_conf res; /* bulkhead and breaker settings (res.h) */
	int has_egress_rate;
	__u64 egress_rate_bps; /* egress pacing on hosts, bits/s; 0 = unlimited (pacing.h) */
};

/* "maglev" or "leader" to route_leader 0/1; -EINVAL (message set) otherwise. */
int svc_parse_route(const char *text, int *route_leader);

/* "leader" or "maglev". */
const char *svc_route_name(int route_leader);

/*
 * The rules of a write port that need no map: none (0) is always fine;
 * else the service must be nat or ipip, not route leader, and the write port
 * must differ from the service's port. Pure: -EINVAL with a message.
 */
int svc_write_check(const struct sluice_svc_key *key, __u8 mode, int route_leader,
		    __u16 write_port);

/*
 * Build the value conf describes: on top of base (set) or from defaults
 * (base NULL: add, with the given id). Pure: touches no map.
 */
int svc_value_make(const struct svc_conf *conf, const struct sluice_svc *base, __u32 id,
		   struct sluice_svc *value);

/*
 * Add a service with the lowest free id; its counters and buckets are zeroed
 * (and anything a previous service of that id left removed) before it
 * becomes visible, and its resilience settings (conf->res) written. A
 * fallback cannot be given here (the service has no backends yet). A nat or
 * ipip service gets an empty Maglev table of its maglev_size (default
 * SLUICE_MAGLEV_M_DEFAULT). A write port adds its key too (no leader yet:
 * write flows are refused until `leader set`). -EEXIST when the key (or the
 * write port's) exists, -ENOSPC when every id is in use. *added (may be
 * NULL) receives the stored value.
 */
int svc_add(const struct sluice_maps *m, const struct sluice_svc_key *key,
	    const struct svc_conf *conf, struct sluice_svc *added);

/*
 * Change mode, hash, Maglev size, rates and/or resilience settings of an
 * existing service; id and counters are kept. A changed rate resets that
 * rate's buckets. A mode change is refused (-EBUSY) while the service has
 * backends; to nat or ipip it
 * publishes an empty table, to local it removes the table. A new
 * maglev-size republishes the table. -ENOENT when there is no such service.
 * A write port or route change adds, moves or removes the write port's key
 * (refused, -EEXIST, when the new key is another service's) and, when the
 * write port comes or goes, republishes the table (the leader leaves or
 * rejoins it, see publish.h); a service that stops following a leader
 * forgets its leader (sl_leaders zeroed).
 */
int svc_set(const struct sluice_maps *m, const struct sluice_svc_key *key,
	    const struct svc_conf *conf, struct sluice_svc *updated);

/*
 * Delete a service with its write port's key, backends, shards, subsets and
 * tables, and zero its counters and buckets, resilience settings, critical
 * prefixes, connection count and leader. *old may be NULL.
 */
int svc_del(const struct sluice_maps *m, const struct sluice_svc_key *key, struct sluice_svc *old);

/* Maglev table size of a nat/ipip service (0 when it has no table: local). */
int svc_maglev_size(const struct sluice_maps *m, const struct sluice_svc *svc, __u32 *size);

#endif /* SLUICE_SVC_H */
