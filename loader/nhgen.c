// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sl_nh_gen: the generation of the next hops the data plane caches in its
 * flows (bpf/lib/nhcache.h). Bumping it makes every cached next hop stale
 * at once: the loader does at attach (which also turns caching on: 0 is
 * off), sluiced on every route, link and address event and a neighbour's
 * new MAC, failure or removal.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "loader.h"
#include "sluice_abi.h"

int loader_nh_gen_bump(int map_fd)
{
	__u32 zero = 0, gen = 0;

	/* One writer at a time (the attach, sluiced): a read and a write suffice. */
	if (bpf_map_lookup_elem(map_fd, &zero, &gen))
		gen = 0;
	gen++;
	if (!gen)
		gen = 1; /* 0 is "off" */
	if (bpf_map_update_elem(map_fd, &zero, &gen, BPF_ANY)) {
		err_set("cannot write %s: %s", SLUICE_MAP_NH_GEN, strerror(errno));
		return -errno;
	}
	return 0;
}

int loader_nh_gen_bump_root(const char *root)
{
	int fd = loader_pin_open(root, SLUICE_MAP_NH_GEN), err;

	if (fd < 0)
		return fd;
	err = loader_nh_gen_bump(fd);
	close(fd);
	return err;
}
