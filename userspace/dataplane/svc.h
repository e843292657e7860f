/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The write side of services: the one module that changes sl_services and the
 * per-service state indexed by a service's id (counters, buckets; the
 * steering state of a nat or ipip service through backend.c: its Maglev
 * table, backends, shards). The daemon calls it for the write commands it
 * applies, the CLI for --local ones. Every operation validates
 * everything first and touches no map until the whole change is known good,
 * so a refused command changes nothing.
 *
 * Keys. A service is named by its key (ADDR PORT PROTO, its read port). A
 * CQRS service (write-port W) has a second key (ADDR W PROTO) with the same
 * id and value but SLUICE_SVC_F_LEADER in its flags: new flows there go to
 * the service's leader (leader.h). A service with route leader has the flag
 * on its one key. The two are exclusive (route leader already sends every
 * flow to the leader), so in sl_services the key of an id without the flag
 * is the service's, and a second key with the flag its write port. A write
 * port's key is no service of its own: svc_get() and every command naming it
 * refuse it and name the service it belongs to; svc_list() leaves it out.
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
	__u32 maglev_size; /* Maglev table size M, a prime <= SLUICE_MAGLEV_M_MAX (nat, ipip) */
	int has_write_port;
	__u16 write_port; /* host order; 0 = none (nat, ipip) */
	int has_route;
	int route_leader;    /* 1: every flow goes to the leader; 0: Maglev (default) */
	struct res_conf res; /* bulkhead and breaker settings (res.h) */
};

/* A service as commands see it: its key and value, and its write port. */
struct svc_info {
	struct sluice_svc_key key; /* the service's key (its read port) */
	struct sluice_svc svc;	   /* its value (flags: SLUICE_SVC_F_LEADER = route leader) */
	__u16 write_port;	   /* host order; 0 = no write port */
};

/* 1 when the service's write flows go to a leader (a write port, or route leader). */
static inline int svc_follows_leader(const struct svc_info *i)
{
	return i->write_port || (i->svc.flags & SLUICE_SVC_F_LEADER);
}

/* Build a key (port in host order); padding zeroed, port stored big-endian. */
int svc_key_make(const union sluice_addr *addr, __u16 port, __u8 proto, struct sluice_svc_key *key);

/* "192.0.2.1 port 80 tcp" for messages; buf of SVC_KEY_STRLEN. */
void svc_key_format(const struct sluice_svc_key *key, char *buf, size_t len);

/* "192.0.2.1 80 tcp", the service as commands take it; buf of SVC_KEY_STRLEN. */
void svc_key_format_args(const struct sluice_svc_key *key, char *buf, size_t len);

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
 * rejoins it, see backend.h); a service that stops following a leader
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

/*
 * Read one service (-ENOENT when absent, or when key is another service's
 * write port: the message names that service).
 */
int svc_get(const struct sluice_maps *m, const struct sluice_svc_key *key,
	    struct sluice_svc *value);

/* The same with the service's write port. */
int svc_info_get(const struct sluice_maps *m, const struct sluice_svc_key *key,
		 struct svc_info *info);

/*
 * Every service sorted by id, write ports' keys left out (see above), in a
 * malloc'ed array (free() it; NULL when there are none).
 */
int svc_list(const struct sluice_maps *m, struct maps_svc_entry **entries, size_t *count);

/* The same with each service's write port. */
int svc_info_list(const struct sluice_maps *m, struct svc_info **list, size_t *count);

/* Write port of service id svc_id (host order), 0 when it has none (or no such id). */
int svc_write_port(const struct sluice_maps *m, __u32 svc_id, __u16 *port);

#endif /* SLUICE_SVC_H */
