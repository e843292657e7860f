/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Maglev table publication: the one module that builds and publishes the
 * tables of sl_maglev. The write modules call down to it: backend.c on
 * every change of a backend, shard.c for subset tables, leader.c when a
 * leader changes, svc.c when a service gets, resizes or loses its table.
 *
 * Tables. A table is built with maglev_build() over the ACTIVE backends of
 * weight > 0 (a subset: its ACTIVE members), each identified by the 18 bytes
 * of its record's address (16) and port (2, network order) as stored in
 * sl_backends, so every gateway given the same backends builds the same
 * table. A service's table (table id = service id) has a size M chosen per
 * service (service add/set maglev-size, default SLUICE_MAGLEV_M_DEFAULT)
 * kept in the table itself, entry 0 (SLUICE_MAGLEV_SIZE_SLOT): a nat or ipip
 * service always has a table, empty (every slot SLUICE_NO_BACKEND) until it
 * has backends. A shard subset's table (table id = SLUICE_MAX_SERVICES +
 * subset number) has the fixed size PUBLISH_SUBSET_M.
 *
 * Also here: sl_be_rev, the stateless return path of nat (berev.h),
 * rebuilt wherever a service's table is.
 *
 * Publication is atomic: a fresh inner map is filled completely, then one
 * bpf_map_update_elem() on sl_maglev swaps it in (see publish.c).
 */
#ifndef SLUICE_PUBLISH_H
#define SLUICE_PUBLISH_H

#include <stddef.h>
#include <linux/types.h>
#include "maps.h"
#include "sluice_abi.h"

/* Maglev table size of a shard subset: a prime > 100 x SLUICE_SUBSET_MAX_MEMBERS. */
#define PUBLISH_SUBSET_M 4099u

/* Bytes of a backend's Maglev identity: address, then port (network order). */
#define PUBLISH_IDENTITY_LEN 18

/* Identity bytes of a backend for maglev_build() (PUBLISH_IDENTITY_LEN). */
void publish_identity(const struct sluice_backend *be, __u8 identity[PUBLISH_IDENTITY_LEN]);

/*
 * Build a table of size m into table[0 .. m] (entry 0 = m) from the
 * backends ids[0..n) of snapshot all that are ACTIVE with weight > 0.
 * Pure. -EINVAL when m is not a prime <= SLUICE_MAGLEV_M_MAX or there are
 * more such backends than m.
 */
int publish_table_build(const struct sluice_backend *all, const __u32 *ids, size_t n, __u32 m,
			__u32 *table);

/* Size M of table table_id: 0, or -ENOENT (no message) when it has no table. */
int publish_table_size(const struct sluice_maps *m, __u32 table_id, __u32 *size);

/*
 * Publish table[0 .. table[0]] as table table_id: fill a fresh inner map,
 * then swap it in with one update of sl_maglev.
 */
int publish_table(const struct sluice_maps *m, __u32 table_id, const __u32 *table);

/* Remove table table_id (no table: 0). */
int publish_table_delete(const struct sluice_maps *m, __u32 table_id);

/*
 * Deferred publication, for a group of commands (a batch, a config apply):
 * after publish_defer_begin(), publish_service() only notes the service
 * (and the size asked for), and publish_defer_end() publishes each noted
 * service's table once, from one snapshot of sl_backends. A swap of an
 * sl_maglev entry waits for an RCU grace period in the kernel (about 10 ms
 * here): once per command, that wait was what a command cost. Until the
 * end, the data plane keeps the tables as they were (a new service has
 * none yet: its packets count no_backend); publish_table_size() answers the
 * size asked for. publish_defer_end() publishes through m (NULL: the maps
 * under pin_root, opened for it) and returns the first error (err_set()).
 */
void publish_defer_begin(void);
int publish_defer_end(const struct sluice_maps *m, const char *pin_root);

/* 1 between publish_defer_begin() and publish_defer_end(). */
int publish_deferring(void);

/*
 * Rebuild sl_be_rev (berev.h) from the services and snapshot all (NULL:
 * read sl_backends); deferred: once, at publish_defer_end().
 * publish_service() calls it after every table; a change that publishes no
 * table (a service's backends purged) calls it itself.
 */
int publish_be_rev(const struct sluice_maps *m, const struct sluice_backend *all);

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
int publish_service(const struct sluice_maps *m, const struct sluice_backend *all, __u32 svc_id,
		    __u32 size);

/* Rebuild and publish the table of subset slot (members sub) from snapshot all. */
int publish_subset(const struct sluice_maps *m, const struct sluice_backend *all, __u32 slot,
		   const struct sluice_subset *sub);

#endif /* SLUICE_PUBLISH_H */
