/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Backends of nat and ipip services and the Maglev tables built from them:
 * the write side of sl_backends, sl_be_stats and sl_maglev.
 *
 * A backend is a slot of sl_backends (its id, the lowest free one when it is
 * added) holding its address, port, weight, state and service. Every change
 * rebuilds and publishes the tables that depend on it: the service's table
 * (table id = service id) and the table of every shard subset the backend is
 * a member of (table id = SLUICE_MAX_SERVICES + subset number).
 *
 * Tables. A table is built with maglev_build() over the ACTIVE backends of
 * weight > 0 (a subset: its ACTIVE members), each identified by the 18 bytes
 * of its record's address (16) and port (2, network order) as stored in
 * sl_backends, so every gateway given the same backends builds the same
 * table. A service's table size M is chosen per service (service add/set
 * maglev-size, default SLUICE_MAGLEV_M_DEFAULT) and lives in the table
 * itself, entry 0 (SLUICE_MAGLEV_SIZE_SLOT): a nat or ipip service always has
 * a table, empty (every slot SLUICE_NO_BACKEND) until it has backends.
 * Subset tables have the fixed size BACKEND_SUBSET_M.
 *
 * Publication is atomic: a fresh inner map is filled completely, then one
 * bpf_map_update_elem() on sl_maglev swaps it in (see backend.c).
 *
 * Ports. nat rewrites the destination port: a backend's port is the port it
 * listens on (default: the service port). ipip never rewrites ports, so an
 * ipip backend is stored with port 0 (the ABI's "unchanged"), is shown with
 * the service port (where its packets arrive), and a command naming it may
 * give the service port or no port. Its table identity uses the stored 0.
 *
 * Every function validates everything before it changes a map and returns
 * 0 or -errno with a message (err.h).
 */
#ifndef SLUICE_BACKEND_H
#define SLUICE_BACKEND_H

#include <stddef.h>
#include <linux/types.h>
#include "maps.h"
#include "sluice_abi.h"

/* Maglev table size of a shard subset: a prime > 100 x SLUICE_SUBSET_MAX_MEMBERS. */
#define BACKEND_SUBSET_M 4099u

/* Highest backend weight. */
#define BACKEND_WEIGHT_MAX 65535u

/* Bytes of a backend's Maglev identity: address, then port (network order). */
#define BACKEND_IDENTITY_LEN 18

/* How a command names a backend of a service: address, and port if given. */
struct be_ref {
	union sluice_addr addr;
	int has_port;
	__u16 port; /* host order */
};

/* What `backend add` asks for. */
struct be_conf {
	union sluice_addr addr;
	int has_port;
	__u16 port; /* host order; default: the service port */
	int has_weight;
	__u32 weight; /* 1..BACKEND_WEIGHT_MAX; default 1 */
};

/* One backend as `backend show` lists it. */
struct backend_info {
	struct sluice_svc_key svc_key;	   /* its service */
	__u8 svc_mode;			   /* enum sluice_mode of the service */
	__u32 id;			   /* backend id (sl_backends index) */
	struct sluice_backend be;	   /* the record */
	__u16 port;			   /* port packets reach it on (ipip: the service port) */
	struct sluice_be_counter counters; /* summed over CPUs */
	__u32 slots;			   /* slots it owns in its service's table */
};

/*
 * The record conf describes for a backend of service (key, svc), state
 * ACTIVE. Pure: -EINVAL/-EOPNOTSUPP (message set) for a local service, an
 * address of the other family, an ipip port other than the service port, a
 * weight out of 1..BACKEND_WEIGHT_MAX.
 */
int backend_record_make(const struct sluice_svc_key *key, const struct sluice_svc *svc,
			const struct be_conf *conf, struct sluice_backend *rec);

/* Port a backend's packets arrive on: its port, or (port 0, ipip) the service's. */
__u16 backend_port(const struct sluice_backend *be, const struct sluice_svc_key *key);

/*
 * Find the backend ref names among the backends of service (key, svc) in a
 * snapshot all[SLUICE_MAX_BACKENDS]. Without a port, the address must name
 * one backend. -ENOENT or -ENOTUNIQ (message set).
 */
int backend_find(const struct sluice_backend *all, const struct sluice_svc_key *key,
		 const struct sluice_svc *svc, const struct be_ref *ref, __u32 *id);

/* Identity bytes of a backend for maglev_build() (BACKEND_IDENTITY_LEN). */
void backend_identity(const struct sluice_backend *be, __u8 identity[BACKEND_IDENTITY_LEN]);

/*
 * Build a table of size m into table[0 .. m] (entry 0 = m) from the
 * backends ids[0..n) of snapshot all that are ACTIVE with weight > 0.
 * Pure. -EINVAL when m is not a prime <= SLUICE_MAGLEV_M_MAX or there are
 * more such backends than m.
 */
int backend_table_build(const struct sluice_backend *all, const __u32 *ids, size_t n, __u32 m,
			__u32 *table);

/* Size M of table table_id: 0, or -ENOENT (no message) when it has no table. */
int backend_table_size(const struct sluice_maps *m, __u32 table_id, __u32 *size);

/*
 * Publish table[0 .. table[0]] as table table_id: fill a fresh inner map,
 * then swap it in with one update of sl_maglev.
 */
int backend_table_publish(const struct sluice_maps *m, __u32 table_id, const __u32 *table);

/* Remove table table_id (no table: 0). */
int backend_table_delete(const struct sluice_maps *m, __u32 table_id);

/*
 * Rebuild and publish service svc_id's table from snapshot all (NULL: read
 * sl_backends), at size size (0: the table's current size, else
 * SLUICE_MAGLEV_M_DEFAULT). Every change of a service's backends, its write
 * port or its leader ends here, and so does the read-exclusion rule: a
 * service with a write port and a leader (leader.h) builds its table without
 * the leader while another of its backends is ACTIVE with weight > 0 (reads
 * go to the replicas), and with every backend otherwise. Subset tables
 * (shards) are not affected.
 */
int backend_publish_service(const struct sluice_maps *m, const struct sluice_backend *all,
			    __u32 svc_id, __u32 size);

/* Rebuild and publish the table of subset slot (members sub) from snapshot all. */
int backend_publish_subset(const struct sluice_maps *m, const struct sluice_backend *all,
			   __u32 slot, const struct sluice_subset *sub);

/* Add a backend (lowest free id); *id and *rec (may be NULL) receive it. */
int backend_add(const struct sluice_maps *m, const struct sluice_svc_key *key,
		const struct be_conf *conf, __u32 *id, struct sluice_backend *rec);

/* Change a backend's weight (1..BACKEND_WEIGHT_MAX). */
int backend_set_weight(const struct sluice_maps *m, const struct sluice_svc_key *key,
		       const struct be_ref *ref, __u32 weight, __u32 *id,
		       struct sluice_backend *rec);

/*
 * Drain (SLUICE_BE_DRAINING: out of the tables, established flows stay) or
 * activate (SLUICE_BE_ACTIVE) a backend.
 */
int backend_set_state(const struct sluice_maps *m, const struct sluice_svc_key *key,
		      const struct be_ref *ref, __u8 state, __u32 *id, struct sluice_backend *rec);

/*
 * Delete a backend: when it is the service's leader, the leader is cleared
 * first (leader.h); the tables are republished without it (it leaves every
 * subset), then its slot becomes UNUSED and its counters zero; its flows are
 * steered anew by the data plane. Refused (-EBUSY) while a shard pins it or
 * it is the last member of a subset.
 */
int backend_del(const struct sluice_maps *m, const struct sluice_svc_key *key,
		const struct be_ref *ref, __u32 *id, struct sluice_backend *rec);

/*
 * The backends of one service (key) or of all (key NULL), by service id then
 * backend id, in a malloc'ed array (free() it).
 */
int backend_list(const struct sluice_maps *m, const struct sluice_svc_key *key,
		 struct backend_info **list, size_t *count);

/* Number of backends (any state) of service svc_id. */
int backend_count(const struct sluice_maps *m, __u32 svc_id, __u32 *count);

/*
 * Remove everything steering-related of service id svc_id: its shards,
 * subsets and their tables, its table, its backends (slots UNUSED, counters
 * zero). Used by service del, and by service add on a reused id.
 */
int backend_purge_service(const struct sluice_maps *m, __u32 svc_id);

#endif /* SLUICE_BACKEND_H */
