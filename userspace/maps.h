/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Typed read access to the pinned Sluice maps under a pin root: open them
 * (checking each against the ABI), sum per-CPU counters, iterate services.
 * Writes live in svc.c, the one module that changes control maps.
 */
#ifndef SLUICE_MAPS_H
#define SLUICE_MAPS_H

#include <limits.h>
#include <linux/types.h>
#include "sluice_abi.h"

struct sluice_maps {
	int services;	     /* sl_services */
	int svc_stats;	     /* sl_svc_stats_v2 */
	int glb_stats;	     /* sl_glb_stats_v2 */
	int svc_rl;	     /* sl_svc_rl */
	int client_rl;	     /* sl_client_rl */
	char root[PATH_MAX]; /* pin root they were opened from */
};

/*
 * The pin root to use: override (the CLI's --pin-root) if set, else the
 * environment's SLUICE_PIN_ROOT if set and non-empty, else
 * SLUICE_PIN_ROOT_DEFAULT.
 */
const char *maps_pin_root(const char *override);

/*
 * Check that path (or its nearest existing parent) is on a bpf filesystem.
 * -ENOTSUP with a message saying how to mount one otherwise.
 */
int maps_check_bpffs(const char *path);

/* Mark every fd closed (-1); maps_close() of such a struct does nothing. */
void maps_init(struct sluice_maps *m);

/*
 * Open every pinned map under root and check its type and sizes against the
 * ABI. -ENOENT ("no Sluice maps under ...") when nothing is pinned there.
 */
int maps_open(struct sluice_maps *m, const char *root);

/* Close what is open; safe on a maps_init()ed or closed struct. */
void maps_close(struct sluice_maps *m);

/* Number of possible CPUs (per-CPU value count), or -errno. */
int maps_ncpus(void);

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
 * NULL when there are none) of *count entries.
 */
int maps_svc_list(const struct sluice_maps *m, struct maps_svc_entry **entries, size_t *count);

#endif /* SLUICE_MAPS_H */
