// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The host side's counters (see hoststats.h). */
#include <bpf/bpf.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "hoststats.h"
#include "maps.h"

static int open_pin(const char *root, const char *name)
{
	char path[PATH_MAX];
	int fd, err;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	fd = bpf_obj_get(path);
	if (fd >= 0)
		return fd;
	err = -errno;
	if (err == -ENOENT)
		err_set("the host side was never attached under %s (see 'sluice host attach')",
			root);
	else
		err_set("cannot open %s: %s", path, strerror(-err));
	return err;
}

int host_stats_open(const char *root, struct host_stats *h)
{
	h->conns_fd = -1;
	h->stats_fd = open_pin(root, SLUICE_MAP_HOST_STATS);
	if (h->stats_fd < 0)
		return h->stats_fd;
	h->conns_fd = open_pin(root, SLUICE_MAP_HOST_CONNS);
	if (h->conns_fd < 0) {
		int err = h->conns_fd;

		host_stats_close(h);
		return err;
	}
	return 0;
}

int host_stats_read(const struct host_stats *h, __u32 id, struct sluice_host_counter *sum,
		    __s64 *conns)
{
	struct sluice_host_counter *v;
	struct sluice_conns c = { 0 };
	int ncpus, i, err;

	memset(sum, 0, sizeof(*sum));
	*conns = 0;
	v = maps_percpu_alloc(sizeof(*v), &ncpus);
	if (!v)
		return ncpus;
	err = bpf_map_lookup_elem(h->stats_fd, &id, v) ? -errno : 0;
	for (i = 0; !err && i < ncpus; i++) {
		sum->balanced += v[i].balanced;
		sum->refused_bh += v[i].refused_bh;
		sum->refused_brk += v[i].refused_brk;
		sum->no_backend += v[i].no_backend;
		sum->refused_rate += v[i].refused_rate;
	}
	free(v);
	if (!err)
		err = bpf_map_lookup_elem(h->conns_fd, &id, &c) ? -errno : 0;
	if (err) {
		err_set("cannot read the host counters of service %u: %s", id, strerror(-err));
		return err;
	}
	*conns = c.active;
	return 0;
}

int host_stats_any(const struct sluice_host_counter *sum, __s64 conns)
{
	return sum->balanced || sum->refused_bh || sum->refused_brk || sum->no_backend ||
	       sum->refused_rate || conns;
}

void host_stats_close(struct host_stats *h)
{
	if (h->stats_fd >= 0)
		close(h->stats_fd);
	if (h->conns_fd >= 0)
		close(h->conns_fd);
	h->stats_fd = h->conns_fd = -1;
}
