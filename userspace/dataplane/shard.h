/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shards: the locator (sl_shards, an LPM trie keyed by service id and client
 * prefix) that sends matching clients of a service to one pinned backend or
 * to a subset of its backends, overriding the service's hash.
 *
 * A prefix is "ADDR/LEN" or a host address "ADDR" (shard_prefix_parse(),
 * keys.h).
 *
 * A subset takes a free slot of sl_subsets (its members, all backends of the
 * service, at most SLUICE_SUBSET_MAX_MEMBERS) and gets its own Maglev table,
 * table id SLUICE_MAX_SERVICES + slot, of PUBLISH_SUBSET_M slots, built over
 * its ACTIVE members like a service table and rebuilt whenever a member
 * changes (backend.c, through publish.h). A pinned shard stores the backend id and, as its
 * table, the service's own table (where the data plane falls back when the
 * pinned backend is not active).
 */
#ifndef SLUICE_SHARD_H
#define SLUICE_SHARD_H

#include <stddef.h>
#include <linux/types.h>
#include "keys.h"
#include "maps.h"
#include "sluice_abi.h"

/* Highest sl_shards entry count (its max_entries). */
#define SHARD_MAX_ENTRIES 16384

/*
 * Parse a subset member list "ADDR[:PORT],..." (IPv6 with a port as
 * [ADDR]:PORT) into refs[0..*n), at most max. -EINVAL/-E2BIG with a message.
 */
int shard_members_parse(const char *text, struct be_ref *refs, size_t max, size_t *n);

/* Where a shard sends its clients. */
struct shard_target {
	int subset; /* 0: one backend (refs[0]); 1: a subset of refs[0..count) */
	size_t count;
	struct be_ref refs[SLUICE_SUBSET_MAX_MEMBERS];
};

/* One shard as `shard show` lists it. */
struct shard_info {
	struct sluice_svc_key svc_key;
	struct sluice_shard_key key;
	struct sluice_shard value;
	__u32 subset; /* subset slot, or SLUICE_NO_BACKEND for a pinned backend */
	__u32 count;  /* members (1 for a pinned backend) */
	__u32 ids[SLUICE_SUBSET_MAX_MEMBERS];
	struct sluice_backend members[SLUICE_SUBSET_MAX_MEMBERS];
	__u16 ports[SLUICE_SUBSET_MAX_MEMBERS]; /* as backend_port() */
};

/* Add a shard of service svc_key for prefix (text, see above). -EEXIST when it exists. */
int shard_add(const struct sluice_maps *m, const struct sluice_svc_key *svc_key, const char *prefix,
	      const struct shard_target *target, struct shard_info *added);

/* Delete the shard of prefix (and its subset, table and slot). */
int shard_del(const struct sluice_maps *m, const struct sluice_svc_key *svc_key, const char *prefix,
	      struct shard_info *deleted);

/* The shards of one service (svc_key) or all (NULL), sorted; free() *list. */
int shard_list(const struct sluice_maps *m, const struct sluice_svc_key *svc_key,
	       struct shard_info **list, size_t *count);

/* Delete every shard and subset (and subset table) of service svc_id. */
int shard_purge_service(const struct sluice_maps *m, __u32 svc_id);

#endif /* SLUICE_SHARD_H */
