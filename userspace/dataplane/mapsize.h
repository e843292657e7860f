/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the pinned maps cost: each map under a pin root with its type,
 * capacity, entry sizes and the memory the kernel charges for it (memlock,
 * from /proc/self/fdinfo), and the Maglev tables (inner maps of sl_maglev,
 * not pinned) summed in one row. For `sluice gateway maps`.
 */
#ifndef SLUICE_MAPSIZE_H
#define SLUICE_MAPSIZE_H

#include <stddef.h>
#include <linux/types.h>

/* The row of the Maglev tables (inner maps of sl_maglev). */
#define MAPSIZE_MAGLEV_TABLES "sl_maglev[]"

struct map_size {
	char name[64]; /* the pin's file name, or MAPSIZE_MAGLEV_TABLES */
	char type[24]; /* libbpf's name of the map type: hash, lru_hash, ... */
	__u32 key_size, value_size;
	__u64 max_entries; /* summed over the maps of the row */
	__u32 flags;	   /* map_flags (of the first map of the row) */
	__u32 maps;	   /* maps in the row: 1, or the number of Maglev tables */
	__u64 memlock;	   /* bytes charged, summed over the row */
};

/*
 * Every map pinned directly under pin_root, by name, then the Maglev
 * tables' row (when sl_maglev is there), in a malloc'ed array (*list,
 * free() it) of *n. 0, or -errno with err_msg() set.
 */
int map_sizes(const char *pin_root, struct map_size **list, size_t *n);

/* The possible CPUs, each of which has its own copy of a per-CPU map's values. */
int map_sizes_cpus(void);

#endif /* SLUICE_MAPSIZE_H */
