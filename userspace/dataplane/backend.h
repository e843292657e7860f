/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Backends of nat and ipip services: the write side of sl_backends and
 * sl_be_stats.
 *
 * A backend is a slot of sl_backends (its id, the lowest free one when it is
 * added) holding its address, port, weight, state and service. Every change
 * rebuilds and publishes, through publish.h, the tables that depend on it:
 * the service's table and the table of every shard subset the backend is a
 * member of. Deleting a backend calls down into leader.h (a leader goes with
 * its backend), shard.h (a service's shards go first on purge) and res.h
 * (its breaker and fallback).
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
#include "keys.h"
#include "maps.h"
#include "sluice_abi.h"

/* Highest backend weight. */
#define BACKEND_WEIGHT_MAX 65535u

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
	struct sluice_fo_counter fo;	   /* failover outcomes, summed over CPUs */
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
