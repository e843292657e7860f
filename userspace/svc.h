/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The write side of services: the one module that changes sl_services and the
 * per-service state indexed by a service's id (counters, buckets; the
 * steering state of a nat or ipip service through backend.c: its Maglev
 * table, backends, shards). The CLI
 * calls it today; the daemon will own it later. Every operation validates
 * everything first and touches no map until the whole change is known good,
 * so a refused command changes nothing.
 */
#ifndef SLUICE_SVC_H
#define SLUICE_SVC_H

#include <stddef.h>
#include <linux/types.h>
#include "maps.h"
#include "res.h"
#include "sluice_abi.h"

/* Room for svc_key_format()'s "ADDR port N proto". */
#define SVC_KEY_STRLEN 80

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
	__u32 maglev_size;   /* Maglev table size M, a prime <= SLUICE_MAGLEV_M_MAX (nat, ipip) */
	struct res_conf res; /* bulkhead and breaker settings (res.h) */
};

/* Build a key (port in host order); padding zeroed, port stored big-endian. */
int svc_key_make(const union sluice_addr *addr, __u16 port, __u8 proto, struct sluice_svc_key *key);

/* "192.0.2.1 port 80 tcp" for messages; buf of SVC_KEY_STRLEN. */
void svc_key_format(const struct sluice_svc_key *key, char *buf, size_t len);

/* "192.0.2.1 80 tcp", the service as commands take it; buf of SVC_KEY_STRLEN. */
void svc_key_format_args(const struct sluice_svc_key *key, char *buf, size_t len);

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
 * fallback cannot be given here (the service has no backends yet). A nat or ipip service gets an empty Maglev table of its
 * maglev_size (default SLUICE_MAGLEV_M_DEFAULT). -EEXIST when the key exists, -ENOSPC when every
 * id is in use. *added (may be NULL) receives the stored value.
 */
int svc_add(const struct sluice_maps *m, const struct sluice_svc_key *key,
	    const struct svc_conf *conf, struct sluice_svc *added);

/*
 * Change mode, hash, Maglev size, rates and/or resilience settings of an
 * existing service; id and counters are kept. A changed rate resets that rate's buckets. A mode change
 * is refused (-EBUSY) while the service has backends; to nat or ipip it
 * publishes an empty table, to local it removes the table. A new
 * maglev-size republishes the table. -ENOENT when there is no such service.
 */
int svc_set(const struct sluice_maps *m, const struct sluice_svc_key *key,
	    const struct svc_conf *conf, struct sluice_svc *updated);

/*
 * Delete a service with its backends, shards, subsets and tables, and zero
 * its counters and buckets, resilience settings, critical prefixes and
 * connection count. *old may be NULL.
 */
int svc_del(const struct sluice_maps *m, const struct sluice_svc_key *key, struct sluice_svc *old);

/* Maglev table size of a nat/ipip service (0 when it has no table: local). */
int svc_maglev_size(const struct sluice_maps *m, const struct sluice_svc *svc, __u32 *size);

/* Read one service (-ENOENT when absent). */
int svc_get(const struct sluice_maps *m, const struct sluice_svc_key *key,
	    struct sluice_svc *value);

/* Every service sorted by id; see maps_svc_list(). */
int svc_list(const struct sluice_maps *m, struct maps_svc_entry **entries, size_t *count);

#endif /* SLUICE_SVC_H */
