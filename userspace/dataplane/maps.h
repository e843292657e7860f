/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Typed read access to the pinned Sluice maps under a pin root: open them
 * (checking each against the ABI), sum per-CPU counters, iterate services.
 * Writes live in the library's write modules (svc.c, backend.c, shard.c,
 * leader.c, gateway.c, res.c, publish.c for the Maglev tables) and the
 * reconcile sweep (sweep.c), the only code that changes maps.
 */
#ifndef SLUICE_MAPS_H
#define SLUICE_MAPS_H

#include <limits.h>
#include <stddef.h>
#include <linux/types.h>
#include "sluice_abi.h"

struct sluice_maps {
	int services;	     /* sl_services */
	int svc_byid;	     /* sl_svc_byid */
	int svc_stats;	     /* sl_svc_stats_v4 */
	int glb_stats;	     /* sl_glb_stats_v2 */
	int svc_rl;	     /* sl_svc_rl */
	int client_rl;	     /* sl_client_rl */
	int backends;	     /* sl_backends */
	int be_stats;	     /* sl_be_stats */
	int maglev;	     /* sl_maglev (array of maps) */
	int flows;	     /* sl_flows */
	int nat_rev;	     /* sl_nat_rev */
	int syn;	     /* sl_syn_v2 (pending handshakes) */
	int be_rev;	     /* sl_be_rev */
	int shards;	     /* sl_shards (LPM trie) */
	int subsets;	     /* sl_subsets */
	int config;	     /* sl_config */
	int svc_res;	     /* sl_svc_res */
	int res_global;	     /* sl_res_global */
	int conns;	     /* sl_conns (BPF_F_MMAPABLE) */
	int critical;	     /* sl_critical (LPM trie) */
	int breakers;	     /* sl_breakers */
	int be_signals;	     /* sl_be_signals */
	int res_stats;	     /* sl_res_stats */
	int leaders;	     /* sl_leaders */
	int svc_fo;	     /* sl_svc_fo */
	int fo_svc;	     /* sl_fo_svc */
	int fo_be;	     /* sl_fo_be */
	int events;	     /* sl_events (ring buffer) */
	int ports;	     /* sl_ports (BPF_F_MMAPABLE) */
	int svc_pace;	     /* sl_svc_pace */
	int pace_stats;	     /* sl_pace_stats */
	int nh_gen;	     /* sl_nh_gen (the cached next hops' generation) */
	char root[PATH_MAX]; /* pin root they were opened from */
};

/*
 * The pin root to use: override (the CLI's --pin-root) if set, else the
 * environment's SLUICE_PIN_ROOT if set and non-empty, else
 * SLUICE_PIN_ROOT_DEFAULT.
 */
const char *maps_pin_root(const char *override);

/* Mark every fd closed (-1); maps_close() of such a struct does nothing. */
void maps_init(struct sluice_maps *m);

/*
 * Open every pinned map under root and check its type and sizes against the
 * ABI. -ENOENT ("no Sluice maps under ...") when nothing is pinned there.
 */
int maps_open(struct sluice_maps *m, const char *root);

/* What a pinned map must look like: the ABI as the kernel reports it. */
struct maps_spec {
	const char *name;
	size_t fd_off; /* where maps_open() keeps its fd in struct sluice_maps */
	__u32 type;
	__u32 key_size;
	__u32 value_size;
	__u32 max_entries; /* 0: any */
	__u32 flags;	   /* map_flags bits that must be set (BPF_F_MMAPABLE) */
};

/*
 * Open the pin root/spec->name into *fd and check it against spec (for
 * maps opened apart from struct sluice_maps, such as sluice trace's).
 * -ENOENT when it is not pinned; -EPROTO when it does not match.
 */
int maps_open_spec(const char *root, const struct maps_spec *spec, int *fd);

/* Close what is open; safe on a maps_init()ed or closed struct. */
void maps_close(struct sluice_maps *m);

/* Number of possible CPUs (per-CPU value count), or -errno. */
int maps_ncpus(void);

/*
 * A zeroed buffer for one value of a per-CPU map: value_size for each
 * possible CPU (free() it), with *ncpus their number; NULL with *ncpus the
 * -errno (reported) when it cannot be had.
 */
void *maps_percpu_alloc(size_t value_size, int *ncpus);

/* Global counters, summed over CPUs, indexed by enum sluice_reason. */
int maps_read_global(const struct sluice_maps *m, struct sluice_counter out[SLUICE_R_MAX]);

/* One service's counters, summed over CPUs, indexed by enum sluice_reason. */
int maps_read_svc_counters(const struct sluice_maps *m, __u32 id,
			   struct sluice_counter out[SLUICE_R_MAX]);

/* The service of key: 0, or -ENOENT when there is none. */
int maps_svc_lookup(const struct sluice_maps *m, const struct sluice_svc_key *key,
		    struct sluice_svc *svc);

struct maps_svc_entry {
	struct sluice_svc_key key;
	struct sluice_svc svc;
};

/*
 * Every service, sorted by id, in a malloc'ed array (*entries, free() it;
 * NULL when there are none) of *count entries: one entry per service, its
 * main key (a CQRS service's read port; the write port is not listed).
 */
int maps_svc_list(const struct sluice_maps *m, struct maps_svc_entry **entries, size_t *count);

/*
 * Every key of sl_services, sorted by id and then main key first (a CQRS
 * service's write-port key, SLUICE_SVC_F_LEADER, follows its read key).
 */
int maps_svc_list_all(const struct sluice_maps *m, struct maps_svc_entry **entries, size_t *count);

/* One backend's counters, summed over CPUs. */
int maps_read_be_counters(const struct sluice_maps *m, __u32 id, struct sluice_be_counter *out);

/*
 * Every slot of sl_backends into all[SLUICE_MAX_BACKENDS] (UNUSED slots
 * included: the array is indexed by backend id).
 */
int maps_read_backends(const struct sluice_maps *m, struct sluice_backend *all);

/*
 * Open the inner map of Maglev table table_id and read its size M into
 * *size: the fd (close it), or -errno; -ENOENT (no message) when the table
 * id has no table.
 */
int maps_table_open(const struct sluice_maps *m, __u32 table_id, __u32 *size);

/*
 * The Maglev table of table_id: *table (malloc'ed, free() it) receives the
 * M + 1 entries (entry 0 = M) and *m_out M. -ENOENT (no message) when the
 * table id has no table.
 */
int maps_read_table(const struct sluice_maps *m, __u32 table_id, __u32 **table, __u32 *m_out);

/*
 * A fresh copy of every slot of sl_backends (malloc'ed, free() it), as
 * maps_read_backends(); NULL with *err the -errno (reported).
 */
struct sluice_backend *maps_backends_snapshot(const struct sluice_maps *m, int *err);

/*
 * A session of the one writer (the daemon applying a group of commands):
 * from maps_cache_begin() to maps_cache_end(), maps_backends_get() and
 * maps_subsets_get() hand out one kept copy of sl_backends and sl_subsets
 * instead of reading the maps again (2 MiB copied per command was most of a
 * command's cost). The copies follow this process's own writes:
 * maps_cache_backend_set() and maps_cache_subset_set() after each write
 * that succeeded, maps_cache_drop() after one that failed (the next get
 * reads the map again). A caller may change the copy it got only as it
 * changes the map (and put it back when the write fails). Writes by another
 * process during a session are not seen: one writer at a time (a --local
 * CLI beside the daemon is not supported). Outside a session, get reads a
 * fresh copy and put frees it.
 */
void maps_cache_begin(void);
void maps_cache_end(void);
void maps_cache_drop(void);

/* Every slot of sl_backends (see the session above); NULL with *err set. */
struct sluice_backend *maps_backends_get(const struct sluice_maps *m, int *err);

/* Every slot of sl_subsets (see the session above); NULL with *err set. */
struct sluice_subset *maps_subsets_get(const struct sluice_maps *m, int *err);

/* Done with a copy from maps_backends_get() or maps_subsets_get() (NULL: nothing). */
void maps_cache_put(void *copy);

/*
 * The session's index of its copy all of sl_backends (from
 * maps_backends_get()): service svc_id's backend ids, ascending, in a
 * malloc'ed array (*ids, free() it) of *n; the lowest UNUSED id (*id,
 * SLUICE_NO_BACKEND when none). -ENOENT (no message) when all has no
 * index (outside a session): the caller scans every slot.
 */
int maps_cache_backends_of(const struct sluice_backend *all, __u32 svc_id, __u32 **ids, size_t *n);
int maps_cache_free_id(const struct sluice_backend *all, __u32 *id);

/* Slot id of sl_backends (slot of sl_subsets) was written with *rec (*s). */
void maps_cache_backend_set(const struct sluice_maps *m, __u32 id,
			    const struct sluice_backend *rec);
void maps_cache_subset_set(const struct sluice_maps *m, __u32 slot, const struct sluice_subset *s);

/* sl_leaders[svc_id] (-EINVAL when svc_id is no service id). */
int maps_read_leader(const struct sluice_maps *m, __u32 svc_id, struct sluice_leader *l);

/* One slot of sl_backends. */
int maps_read_backend(const struct sluice_maps *m, __u32 id, struct sluice_backend *be);

/* Every slot of sl_subsets into all[SLUICE_MAX_SUBSETS]. */
int maps_read_subsets(const struct sluice_maps *m, struct sluice_subset *all);

/* 1 when a sl_subsets slot is free (svc_id SLUICE_NO_BACKEND, or no member). */
int maps_subset_is_free(const struct sluice_subset *s);

/* Every sl_shards entry (malloc'ed arrays, free() both; NULL when none). */
int maps_read_shards(const struct sluice_maps *m, struct sluice_shard_key **keys,
		     struct sluice_shard **values, size_t *count);

/* The gateway configuration (sl_config entry 0). */
int maps_read_config(const struct sluice_maps *m, struct sluice_config *cfg);

/* Every slot of sl_svc_res into all[SLUICE_MAX_SERVICES]. */
int maps_read_svc_res_all(const struct sluice_maps *m, struct sluice_svc_res *all);

/* The global bulkhead (sl_res_global entry 0). */
int maps_read_res_global(const struct sluice_maps *m, struct sluice_res_global *g);

/* Every slot of sl_breakers into all[SLUICE_MAX_BACKENDS]. */
int maps_read_breakers(const struct sluice_maps *m, struct sluice_breaker *all);

/* Connections in use of sl_conns slot idx (service id or SLUICE_CONNS_GLOBAL). */
int maps_read_conns(const struct sluice_maps *m, __u32 idx, __s64 *active);

/* One backend's passive signals, summed over CPUs. */
int maps_read_be_signals(const struct sluice_maps *m, __u32 id, struct sluice_be_signals *out);

/* One service's breaker outcomes, summed over CPUs. */
int maps_read_res_stats(const struct sluice_maps *m, __u32 id, struct sluice_res_counter *out);

/* Failover outcomes of backend id (be) or service id (!be), summed over the CPUs. */
int maps_read_fo_stats(const struct sluice_maps *m, int be, __u32 id,
		       struct sluice_fo_counter *out);

/* max_entries of the flow table (sl_flows), or -errno. */
int maps_flow_entries(const struct sluice_maps *m, __u32 *entries);

#endif /* SLUICE_MAPS_H */
