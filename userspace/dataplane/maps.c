// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Read side of the pinned maps: opening by pin path with an ABI check, summed
 * per-CPU counters, the service list, backends, Maglev tables, shards,
 * subsets and the gateway configuration. The CLI's read commands and the
 * daemon's metrics read through here, never with bpf_map_* of their own.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <linux/magic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "err.h"
#include "loader.h"
#include "maps.h"

/* What each pinned map must look like; the ABI as the kernel reports it. */
static const struct maps_spec map_specs[] = {
	{ SLUICE_MAP_SERVICES, offsetof(struct sluice_maps, services), BPF_MAP_TYPE_HASH,
	  sizeof(struct sluice_svc_key), sizeof(struct sluice_svc), SLUICE_MAX_SERVICES, 0 },
	{ SLUICE_MAP_SVC_BYID, offsetof(struct sluice_maps, svc_byid), BPF_MAP_TYPE_ARRAY,
	  sizeof(__u32), sizeof(struct sluice_svc_ent), SLUICE_MAX_SERVICES, 0 },
	{ SLUICE_MAP_SVC_STATS, offsetof(struct sluice_maps, svc_stats), BPF_MAP_TYPE_PERCPU_ARRAY,
	  sizeof(__u32), sizeof(struct sluice_svc_counters), SLUICE_MAX_SERVICES, 0 },
	{ SLUICE_MAP_GLB_STATS, offsetof(struct sluice_maps, glb_stats), BPF_MAP_TYPE_PERCPU_ARRAY,
	  sizeof(__u32), sizeof(struct sluice_counter), SLUICE_REASON_SLOTS, 0 },
	{ SLUICE_MAP_SVC_RL, offsetof(struct sluice_maps, svc_rl), BPF_MAP_TYPE_ARRAY,
	  sizeof(__u32), sizeof(struct sluice_bucket), SLUICE_MAX_SERVICES, 0 },
	{ SLUICE_MAP_CLIENT_RL, offsetof(struct sluice_maps, client_rl), BPF_MAP_TYPE_LRU_HASH,
	  sizeof(struct sluice_client_key), sizeof(struct sluice_bucket), SLUICE_CLIENT_RL_ENTRIES,
	  0 },
	{ SLUICE_MAP_BACKENDS, offsetof(struct sluice_maps, backends), BPF_MAP_TYPE_ARRAY,
	  sizeof(__u32), sizeof(struct sluice_backend), SLUICE_MAX_BACKENDS, BPF_F_MMAPABLE },
	{ SLUICE_MAP_BE_STATS, offsetof(struct sluice_maps, be_stats), BPF_MAP_TYPE_PERCPU_ARRAY,
	  sizeof(__u32), sizeof(struct sluice_be_counter), SLUICE_MAX_BACKENDS, 0 },
	{ SLUICE_MAP_MAGLEV, offsetof(struct sluice_maps, maglev), BPF_MAP_TYPE_ARRAY_OF_MAPS,
	  sizeof(__u32), sizeof(__u32), SLUICE_MAX_TABLES, 0 },
	/* The flow tables' size is chosen when they are created (--flow-entries): 0 = any. */
	{ SLUICE_MAP_FLOWS, offsetof(struct sluice_maps, flows), BPF_MAP_TYPE_LRU_HASH,
	  sizeof(struct sluice_flow_key), sizeof(struct sluice_flow), 0, 0 },
	{ SLUICE_MAP_NAT_REV, offsetof(struct sluice_maps, nat_rev), BPF_MAP_TYPE_LRU_HASH,
	  sizeof(struct sluice_flow_key), sizeof(struct sluice_nat_rev_ent), 0, 0 },
	{ SLUICE_MAP_SYN, offsetof(struct sluice_maps, syn), BPF_MAP_TYPE_LRU_HASH,
	  sizeof(struct sluice_flow_key), sizeof(struct sluice_syn), SLUICE_SYN_ENTRIES, 0 },
	{ SLUICE_MAP_BE_REV, offsetof(struct sluice_maps, be_rev), BPF_MAP_TYPE_HASH,
	  sizeof(struct sluice_be_rev_key), sizeof(struct sluice_nat_rev), SLUICE_MAX_BACKENDS,
	  BPF_F_NO_PREALLOC },
	{ SLUICE_MAP_SHARDS, offsetof(struct sluice_maps, shards), BPF_MAP_TYPE_LPM_TRIE,
	  sizeof(struct sluice_shard_key), sizeof(struct sluice_shard), 16384, 0 },
	{ SLUICE_MAP_SUBSETS, offsetof(struct sluice_maps, subsets), BPF_MAP_TYPE_ARRAY,
	  sizeof(__u32), sizeof(struct sluice_subset), SLUICE_MAX_SUBSETS, 0 },
	{ SLUICE_MAP_CONFIG, offsetof(struct sluice_maps, config), BPF_MAP_TYPE_ARRAY,
	  sizeof(__u32), sizeof(struct sluice_config), 1, 0 },
	{ SLUICE_MAP_SVC_RES, offsetof(struct sluice_maps, svc_res), BPF_MAP_TYPE_ARRAY,
	  sizeof(__u32), sizeof(struct sluice_svc_res), SLUICE_MAX_SERVICES, BPF_F_MMAPABLE },
	{ SLUICE_MAP_RES_GLOBAL, offsetof(struct sluice_maps, res_global), BPF_MAP_TYPE_ARRAY,
	  sizeof(__u32), sizeof(struct sluice_res_global), 1, 0 },
	/*
	 * The sweep corrects it through an mmap: it must be mmapable. The
	 * per-id arrays every command reads whole (backends, breakers, service
	 * settings) are mmapable too, so that reading them is a copy.
	 */
	{ SLUICE_MAP_CONNS, offsetof(struct sluice_maps, conns), BPF_MAP_TYPE_ARRAY, sizeof(__u32),
	  sizeof(struct sluice_conns), SLUICE_MAX_SERVICES + 1, BPF_F_MMAPABLE },
	{ SLUICE_MAP_CRITICAL, offsetof(struct sluice_maps, critical), BPF_MAP_TYPE_LPM_TRIE,
	  sizeof(struct sluice_shard_key), sizeof(__u32), 16384, 0 },
	{ SLUICE_MAP_BREAKERS, offsetof(struct sluice_maps, breakers), BPF_MAP_TYPE_ARRAY,
	  sizeof(__u32), sizeof(struct sluice_breaker), SLUICE_MAX_BACKENDS, BPF_F_MMAPABLE },
	{ SLUICE_MAP_BE_SIGNALS, offsetof(struct sluice_maps, be_signals),
	  BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32), sizeof(struct sluice_be_signals),
	  SLUICE_MAX_BACKENDS, 0 },
	{ SLUICE_MAP_RES_STATS, offsetof(struct sluice_maps, res_stats), BPF_MAP_TYPE_PERCPU_ARRAY,
	  sizeof(__u32), sizeof(struct sluice_res_counter), SLUICE_MAX_SERVICES, 0 },
	{ SLUICE_MAP_LEADERS, offsetof(struct sluice_maps, leaders), BPF_MAP_TYPE_ARRAY,
	  sizeof(__u32), sizeof(struct sluice_leader), SLUICE_MAX_SERVICES, 0 },
	{ SLUICE_MAP_SVC_FO, offsetof(struct sluice_maps, svc_fo), BPF_MAP_TYPE_ARRAY,
	  sizeof(__u32), sizeof(struct sluice_svc_fo), SLUICE_MAX_SERVICES, 0 },
	{ SLUICE_MAP_FO_SVC, offsetof(struct sluice_maps, fo_svc), BPF_MAP_TYPE_PERCPU_ARRAY,
	  sizeof(__u32), sizeof(struct sluice_fo_counter), SLUICE_MAX_SERVICES, 0 },
	{ SLUICE_MAP_FO_BE, offsetof(struct sluice_maps, fo_be), BPF_MAP_TYPE_PERCPU_ARRAY,
	  sizeof(__u32), sizeof(struct sluice_fo_counter), SLUICE_MAX_BACKENDS, 0 },
	/* Kept through an mmap with atomic word updates (ports.c). */
	{ SLUICE_MAP_PORTS, offsetof(struct sluice_maps, ports), BPF_MAP_TYPE_ARRAY, sizeof(__u32),
	  sizeof(struct sluice_ports), 1, BPF_F_MMAPABLE },
	{ SLUICE_MAP_SVC_PACE, offsetof(struct sluice_maps, svc_pace), BPF_MAP_TYPE_ARRAY,
	  sizeof(__u32), sizeof(struct sluice_pace), SLUICE_MAX_SERVICES, 0 },
	{ SLUICE_MAP_PACE_STATS, offsetof(struct sluice_maps, pace_stats),
	  BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32), sizeof(struct sluice_pace_counter),
	  SLUICE_MAX_SERVICES, 0 },
	{ SLUICE_MAP_NH_GEN, offsetof(struct sluice_maps, nh_gen), BPF_MAP_TYPE_ARRAY,
	  sizeof(__u32), sizeof(__u32), 1, 0 },
	/* A ring buffer has no key or value; its size is its max_entries. */
	{ SLUICE_MAP_EVENTS, offsetof(struct sluice_maps, events), BPF_MAP_TYPE_RINGBUF, 0, 0,
	  SLUICE_EVENTS_BYTES, 0 },
};

#define MAP_COUNT (sizeof(map_specs) / sizeof(map_specs[0]))

static int *map_fd(struct sluice_maps *m, size_t i)
{
	return (int *)((char *)m + map_specs[i].fd_off);
}

const char *maps_pin_root(const char *override)
{
	const char *env;

	if (override && *override)
		return override;
	env = getenv("SLUICE_PIN_ROOT");
	if (env && *env)
		return env;
	return SLUICE_PIN_ROOT_DEFAULT;
}

void maps_init(struct sluice_maps *m)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < MAP_COUNT; i++)
		*map_fd(m, i) = -1;
}

void maps_close(struct sluice_maps *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < MAP_COUNT; i++) {
		int *fd = map_fd(m, i);

		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

static int check_map(int fd, const struct maps_spec *spec, const char *path)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		int err = -errno;

		err_set("cannot query %s: %s", path, strerror(-err));
		return err;
	}
	if (info.type != spec->type || info.key_size != spec->key_size ||
	    info.value_size != spec->value_size ||
	    (spec->max_entries && info.max_entries != spec->max_entries) ||
	    (info.map_flags & spec->flags) != spec->flags) {
		err_set("pinned map %s does not match this build's ABI (version %d): detach every interface and remove the stale pins before using this version",
			path, SLUICE_ABI_VERSION);
		return -EPROTO;
	}
	return 0;
}

int maps_open_spec(const char *root, const struct maps_spec *spec, int *fd_out)
{
	char path[PATH_MAX];
	int fd, err;

	if (snprintf(path, sizeof(path), "%s/%s", root, spec->name) >= (int)sizeof(path)) {
		err_set("pin root '%s' is too long", root);
		return -ENAMETOOLONG;
	}
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		if (err == -ENOENT)
			err_set("no Sluice maps under %s (%s is missing); attach an interface or add a service first",
				root, spec->name);
		else if (err == -EPERM || err == -EACCES)
			err_set("cannot open %s: %s (run as root)", path, strerror(-err));
		else
			err_set("cannot open %s: %s", path, strerror(-err));
		return err;
	}
	err = check_map(fd, spec, path);
	if (err) {
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

int maps_open(struct sluice_maps *m, const char *root)
{
	struct stat st;
	size_t i;
	int err;

	maps_init(m);
	err = loader_check_bpffs(root);
	if (err)
		return err;
	snprintf(m->root, sizeof(m->root), "%s", root);
	if (stat(root, &st) && errno == ENOENT) {
		err_set("no Sluice maps under %s; attach an interface or add a service first",
			root);
		return -ENOENT;
	}
	for (i = 0; i < MAP_COUNT; i++) {
		err = maps_open_spec(root, &map_specs[i], map_fd(m, i));
		if (err)
			goto out;
	}
	return 0;
out:
	maps_close(m);
	return err;
}

int maps_ncpus(void)
{
	int n = libbpf_num_possible_cpus();

	if (n <= 0) {
		err_set("cannot count the possible CPUs: %s", strerror(n ? -n : EINVAL));
		return n ? n : -EINVAL;
	}
	return n;
}

void *maps_percpu_alloc(size_t value_size, int *ncpus)
{
	void *buf;

	*ncpus = maps_ncpus();
	if (*ncpus < 0)
		return NULL;
	buf = calloc((size_t)*ncpus, value_size);
	if (!buf) {
		err_set("out of memory");
		*ncpus = -ENOMEM;
	}
	return buf;
}

/* Sum the per-CPU values of keys[0..n) of a counter map into out[]. */
static int read_counters(int fd, __u32 first, __u32 n, struct sluice_counter *out)
{
	struct sluice_counter *percpu;
	int ncpus, err = 0;
	__u32 i;
	int c;

	percpu = maps_percpu_alloc(sizeof(*percpu), &ncpus);
	if (!percpu)
		return ncpus;
	for (i = 0; i < n; i++) {
		__u32 key = first + i;

		if (bpf_map_lookup_elem(fd, &key, percpu)) {
			err = -errno;
			err_set("cannot read counter %u: %s", key, strerror(-err));
			goto out;
		}
		out[i].packets = 0;
		out[i].bytes = 0;
		for (c = 0; c < ncpus; c++) {
			out[i].packets += percpu[c].packets;
			out[i].bytes += percpu[c].bytes;
		}
	}
out:
	free(percpu);
	return err;
}

int maps_read_global(const struct sluice_maps *m, struct sluice_counter out[SLUICE_R_MAX])
{
	return read_counters(m->glb_stats, 0, SLUICE_R_MAX, out);
}

int maps_read_svc_counters(const struct sluice_maps *m, __u32 id,
			   struct sluice_counter out[SLUICE_R_MAX])
{
	struct sluice_svc_counters *percpu;
	int ncpus, c, err = 0;
	__u32 r, s;

	if (id >= SLUICE_MAX_SERVICES) {
		err_set("service id %u out of range", id);
		return -EINVAL;
	}
	percpu = maps_percpu_alloc(sizeof(*percpu), &ncpus);
	if (!percpu)
		return ncpus;
	if (bpf_map_lookup_elem(m->svc_stats, &id, percpu)) {
		err = -errno;
		err_set("cannot read the counters of service id %u: %s", id, strerror(-err));
		goto out;
	}
	/* One counter per reason, summed over CPUs; the non-service reasons are 0. */
	memset(out, 0, SLUICE_R_MAX * sizeof(*out));
	for (r = 0; r < SLUICE_R_MAX; r++) {
		if (!SLUICE_R_IS_SVC_VERDICT(r))
			continue;
		s = sluice_svc_slot(r);
		for (c = 0; c < ncpus; c++) {
			out[r].packets += percpu[c].slot[s].packets;
			out[r].bytes += percpu[c].slot[s].bytes;
		}
	}
out:
	free(percpu);
	return err;
}

int maps_svc_lookup(const struct sluice_maps *m, const struct sluice_svc_key *key,
		    struct sluice_svc *svc)
{
	int err;

	if (!bpf_map_lookup_elem(m->services, key, svc))
		return 0;
	err = -errno;
	if (err != -ENOENT)
		err_set("cannot read %s: %s", SLUICE_MAP_SERVICES, strerror(-err));
	else
		err_set("no such service");
	return err;
}

/* By id; within an id the main key (no SLUICE_SVC_F_LEADER) first, then by key. */
static int cmp_id(const void *a, const void *b)
{
	const struct maps_svc_entry *x = a, *y = b;
	int fx = x->svc.flags & SLUICE_SVC_F_LEADER, fy = y->svc.flags & SLUICE_SVC_F_LEADER;

	if (x->svc.id != y->svc.id)
		return (x->svc.id > y->svc.id) - (x->svc.id < y->svc.id);
	if (fx != fy)
		return fx - fy;
	return memcmp(&x->key, &y->key, sizeof(x->key));
}

int maps_svc_list(const struct sluice_maps *m, struct maps_svc_entry **entries, size_t *count)
{
	size_t i, w = 0;
	int err;

	err = maps_svc_list_all(m, entries, count);
	if (err)
		return err;
	/*
	 * One per id: the first is the main key (a write port's key sorts after
	 * its read key; a route-leader service's one key is flagged and kept).
	 */
	for (i = 0; i < *count; i++)
		if (!w || (*entries)[w - 1].svc.id != (*entries)[i].svc.id)
			(*entries)[w++] = (*entries)[i];
	*count = w;
	return 0;
}

/*
 * Every key of sl_services in batches (a few system calls, where the walk
 * below makes two per key): 0 with *list (unsorted) and *n, or -errno
 * when the kernel cannot (the caller walks instead).
 */
static int svc_list_batch(int fd, struct maps_svc_entry **list, size_t *n)
{
	struct sluice_svc_key *keys = malloc(SLUICE_MAX_SERVICES * sizeof(*keys));
	struct sluice_svc *vals = malloc(SLUICE_MAX_SERVICES * sizeof(*vals));
	struct maps_svc_entry *out = NULL;
	__u32 batch = 0, cnt;
	size_t done = 0, i;
	int err = 0, last = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (!last && done < SLUICE_MAX_SERVICES) {
		cnt = SLUICE_MAX_SERVICES - done;
		if (bpf_map_lookup_batch(fd, done ? &batch : NULL, &batch, keys + done, vals + done,
					 &cnt, NULL)) {
			if (errno != ENOENT) {
				err = -errno;
				goto out;
			}
			last = 1;
		}
		done += cnt;
	}
	out = malloc((done ? done : 1) * sizeof(*out));
	if (!out) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < done; i++) {
		out[i].key = keys[i];
		out[i].svc = vals[i];
	}
	*list = out;
	*n = done;
out:
	free(keys);
	free(vals);
	return err;
}

int maps_svc_list_all(const struct sluice_maps *m, struct maps_svc_entry **entries, size_t *count)
{
	struct maps_svc_entry *list = NULL, *grown;
	struct sluice_svc_key key, next;
	size_t n = 0, cap = 0;
	void *prev = NULL;
	int err = 0;

	if (!svc_list_batch(m->services, &list, &n))
		goto sort;

	/*
	 * A key deleted under us restarts the walk from the first key; bound
	 * the walk and drop repeats so a concurrent writer cannot loop us.
	 */
	while (n < SLUICE_MAX_SERVICES * 2 && !bpf_map_get_next_key(m->services, prev, &next)) {
		key = next;
		prev = &key;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(list, cap * sizeof(*list));
			if (!grown) {
				err_set("out of memory");
				err = -ENOMEM;
				goto out;
			}
			list = grown;
		}
		if (bpf_map_lookup_elem(m->services, &key, &list[n].svc))
			continue; /* deleted meanwhile */
		list[n].key = key;
		n++;
	}
	if (errno != ENOENT && n < SLUICE_MAX_SERVICES * 2) {
		err = -errno;
		err_set("cannot walk %s: %s", SLUICE_MAP_SERVICES, strerror(-err));
		goto out;
	}
sort:
	if (n)
		qsort(list, n, sizeof(*list), cmp_id);
	/* Drop duplicates a restarted walk produced. */
	if (n > 1) {
		size_t i, w = 1;

		for (i = 1; i < n; i++)
			if (memcmp(&list[i].key, &list[w - 1].key, sizeof(list[i].key)))
				list[w++] = list[i];
		n = w;
	}
	*entries = list;
	*count = n;
	return 0;
out:
	free(list);
	return err;
}

int maps_read_be_counters(const struct sluice_maps *m, __u32 id, struct sluice_be_counter *out)
{
	struct sluice_be_counter *percpu;
	int ncpus, c, err = 0;

	percpu = maps_percpu_alloc(sizeof(*percpu), &ncpus);
	if (!percpu)
		return ncpus;
	if (bpf_map_lookup_elem(m->be_stats, &id, percpu)) {
		err = -errno;
		err_set("cannot read the counters of backend %u: %s", id, strerror(-err));
		goto out;
	}
	memset(out, 0, sizeof(*out));
	for (c = 0; c < ncpus; c++) {
		out->packets += percpu[c].packets;
		out->bytes += percpu[c].bytes;
		out->new_flows += percpu[c].new_flows;
	}
out:
	free(percpu);
	return err;
}

/*
 * Copy keys 0..n-1 of a BPF_F_MMAPABLE array out of its mmap (elements
 * are value_size rounded up to 8 apart). 1 when the map is not mmapable.
 * Much cheaper than a batch lookup, which costs about 0.5 us per element:
 * 30 ms for the 65536 slots of sl_backends, on every command that reads it.
 */
static int read_mapped(int fd, __u32 n, size_t value_size, void *values)
{
	size_t stride = (value_size + 7) & ~(size_t)7, len = stride * n;
	struct bpf_map_info info;
	__u32 info_len = sizeof(info), i;
	char *p;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len) || !(info.map_flags & BPF_F_MMAPABLE) ||
	    info.max_entries < n)
		return 1;
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 1;
	if (stride == value_size) {
		memcpy(values, p, len);
	} else if (!(value_size % 4)) {
		/*
		 * Word by word: a memcpy() per entry (28 bytes, a size known only
		 * here) compiles to a `rep movs` whose start-up cost made this
		 * loop take 2.6 ms for sl_backends, several times a command.
		 */
		size_t words = value_size / 4, k;

		for (i = 0; i < n; i++) {
			const __u32 *from = (const __u32 *)(p + (size_t)i * stride);
			__u32 *to = (__u32 *)((char *)values + (size_t)i * value_size);

			for (k = 0; k < words; k++)
				to[k] = from[k];
		}
	} else {
		for (i = 0; i < n; i++)
			memcpy((char *)values + (size_t)i * value_size, p + (size_t)i * stride,
			       value_size);
	}
	munmap(p, len);
	return 0;
}

/*
 * Read keys 0..n-1 of an array map into values (value_size each): through
 * its mmap when it is mmapable, else in batches where the kernel has them,
 * else one lookup per key.
 */
static int read_array(int fd, __u32 n, size_t value_size, void *values, const char *what)
{
	__u32 *keys, out_batch = 0, done = 0, count, i;
	int err = 0, saved = 0, first = 1;

	if (!read_mapped(fd, n, value_size, values))
		return 0;
	keys = calloc(n, sizeof(*keys));
	if (!keys) {
		err_set("out of memory");
		return -ENOMEM;
	}
	while (done < n) {
		count = n - done;
		err = bpf_map_lookup_batch(fd, first ? NULL : &out_batch, &out_batch, keys + done,
					   (char *)values + (size_t)done * value_size, &count,
					   NULL);
		saved = err ? errno : 0;
		first = 0;
		if (err && saved != ENOENT)
			break;
		done += count;
		if (err) /* ENOENT: that was the last batch */
			break;
	}
	if (done == n)
		goto out;
	/* No batch support, or a failure mid-way: one key at a time. */
	for (i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(fd, &i, (char *)values + (size_t)i * value_size)) {
			err = -errno;
			err_set("cannot read %s: %s", what, strerror(-err));
			goto fail;
		}
	}
out:
	err = 0;
fail:
	free(keys);
	return err;
}

int maps_read_backends(const struct sluice_maps *m, struct sluice_backend *all)
{
	return read_array(m->backends, SLUICE_MAX_BACKENDS, sizeof(*all), all, SLUICE_MAP_BACKENDS);
}

struct sluice_backend *maps_backends_snapshot(const struct sluice_maps *m, int *err)
{
	struct sluice_backend *all = calloc(SLUICE_MAX_BACKENDS, sizeof(*all));

	if (!all) {
		err_set("out of memory");
		*err = -ENOMEM;
		return NULL;
	}
	*err = maps_read_backends(m, all);
	if (*err) {
		free(all);
		return NULL;
	}
	return all;
}

/*
 * The session's copies (maps.h), each tied to the kernel id of the map it
 * was read from: another pin root, or maps created anew, read afresh.
 */
static struct {
	int on;
	__u32 be_map, sub_map; /* map ids; 0: no copy */
	struct sluice_backend *be;
	struct sluice_subset *sub;
} cache;

static __u32 map_id_of(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.id;
}

void maps_cache_begin(void)
{
	cache.on = 1;
}

/*
 * The session's copy of sl_backends indexed by service: each service's used
 * slots in a list, ascending (head[svc], next[id]; in[id]: the service id is
 * listed under), their count, and a slot below which none is free. Valid
 * while map == cache.be_map; kept in step by maps_cache_backend_set().
 */
static struct {
	__u32 map;
	__u32 *head, *count; /* SLUICE_MAX_SERVICES */
	__u32 *next, *in;    /* SLUICE_MAX_BACKENDS */
	__u32 free_hint;
} bix;

static __u32 idx_svc(const struct sluice_backend *b)
{
	return b->state != SLUICE_BE_UNUSED && b->svc_id < SLUICE_MAX_SERVICES ? b->svc_id
									       : SLUICE_NO_BACKEND;
}

static void idx_link(__u32 svc, __u32 id)
{
	__u32 *p = &bix.head[svc];

	while (*p != SLUICE_NO_BACKEND && *p < id)
		p = &bix.next[*p];
	bix.next[id] = *p;
	*p = id;
	bix.count[svc]++;
	bix.in[id] = svc;
}

static void idx_unlink(__u32 id)
{
	__u32 svc = bix.in[id], *p;

	if (svc == SLUICE_NO_BACKEND)
		return;
	for (p = &bix.head[svc]; *p != SLUICE_NO_BACKEND; p = &bix.next[*p]) {
		if (*p == id) {
			*p = bix.next[id];
			bix.count[svc]--;
			break;
		}
	}
	bix.in[id] = SLUICE_NO_BACKEND;
}

/* Index cache.be afresh (no index when memory is short). */
static void idx_build(void)
{
	__u32 i, svc;

	bix.map = 0;
	if (!bix.head) {
		bix.head = malloc(SLUICE_MAX_SERVICES * sizeof(*bix.head));
		bix.count = malloc(SLUICE_MAX_SERVICES * sizeof(*bix.count));
		bix.next = malloc(SLUICE_MAX_BACKENDS * sizeof(*bix.next));
		bix.in = malloc(SLUICE_MAX_BACKENDS * sizeof(*bix.in));
		if (!bix.head || !bix.count || !bix.next || !bix.in) {
			free(bix.head);
			free(bix.count);
			free(bix.next);
			free(bix.in);
			bix.head = bix.count = bix.next = bix.in = NULL;
			return;
		}
	}
	memset(bix.head, 0xff, SLUICE_MAX_SERVICES * sizeof(*bix.head)); /* SLUICE_NO_BACKEND */
	memset(bix.count, 0, SLUICE_MAX_SERVICES * sizeof(*bix.count));
	/* Downwards, each pushed in front: every list ascending. */
	for (i = SLUICE_MAX_BACKENDS; i-- > 0;) {
		svc = idx_svc(&cache.be[i]);
		bix.in[i] = svc;
		if (svc == SLUICE_NO_BACKEND)
			continue;
		bix.next[i] = bix.head[svc];
		bix.head[svc] = i;
		bix.count[svc]++;
	}
	bix.free_hint = 0;
	bix.map = cache.be_map;
}

/* The index of all, when all is the session's copy and indexed. */
static int idx_valid(const struct sluice_backend *all)
{
	return all && all == cache.be && cache.be_map && bix.map == cache.be_map;
}

void maps_cache_drop(void)
{
	cache.be_map = cache.sub_map = 0;
	bix.map = 0;
}

void maps_cache_end(void)
{
	cache.on = 0;
	maps_cache_drop();
	free(cache.be);
	free(cache.sub);
	cache.be = NULL;
	cache.sub = NULL;
	free(bix.head);
	free(bix.count);
	free(bix.next);
	free(bix.in);
	bix.head = bix.count = bix.next = bix.in = NULL;
}

int maps_cache_backends_of(const struct sluice_backend *all, __u32 svc_id, __u32 **ids, size_t *n)
{
	__u32 id, *v;
	size_t k = 0;

	if (!idx_valid(all) || svc_id >= SLUICE_MAX_SERVICES)
		return -ENOENT;
	v = malloc((bix.count[svc_id] ? bix.count[svc_id] : 1) * sizeof(*v));
	if (!v) {
		err_set("out of memory");
		return -ENOMEM;
	}
	for (id = bix.head[svc_id]; id != SLUICE_NO_BACKEND && k < bix.count[svc_id];
	     id = bix.next[id])
		v[k++] = id;
	*ids = v;
	*n = k;
	return 0;
}

int maps_cache_free_id(const struct sluice_backend *all, __u32 *id)
{
	__u32 i;

	if (!idx_valid(all))
		return -ENOENT;
	for (i = bix.free_hint; i < SLUICE_MAX_BACKENDS; i++)
		if (all[i].state == SLUICE_BE_UNUSED)
			break;
	bix.free_hint = i;
	*id = i < SLUICE_MAX_BACKENDS ? i : SLUICE_NO_BACKEND;
	return 0;
}

/*
 * The kept copy of map fd (n values of size, in *buf, valid for map id
 * *kept), read again when fd is another map; outside a session a fresh one.
 */
static void *cache_get(int fd, __u32 n, size_t size, void **buf, __u32 *kept, const char *what,
		       int *err)
{
	__u32 id = cache.on ? map_id_of(fd) : 0;
	void *v = id ? *buf : NULL; /* in a session: the buffer kept, if any */

	*err = 0;
	if (v && *kept == id)
		return v;
	if (!v)
		v = calloc(n, size);
	if (!v) {
		err_set("out of memory");
		*err = -ENOMEM;
		return NULL;
	}
	*kept = 0;
	*err = read_array(fd, n, size, v, what);
	if (*err) {
		if (v != *buf)
			free(v);
		return NULL;
	}
	if (id) {
		*buf = v;
		*kept = id;
	}
	return v;
}

struct sluice_backend *maps_backends_get(const struct sluice_maps *m, int *err)
{
	__u32 before = cache.be_map;
	struct sluice_backend *all;

	all = cache_get(m->backends, SLUICE_MAX_BACKENDS, sizeof(struct sluice_backend),
			(void **)&cache.be, &cache.be_map, SLUICE_MAP_BACKENDS, err);
	/* A copy read now (again) is indexed now. */
	if (all && all == cache.be && cache.be_map && (cache.be_map != before || !bix.map))
		idx_build();
	return all;
}

struct sluice_subset *maps_subsets_get(const struct sluice_maps *m, int *err)
{
	return cache_get(m->subsets, SLUICE_MAX_SUBSETS, sizeof(struct sluice_subset),
			 (void **)&cache.sub, &cache.sub_map, SLUICE_MAP_SUBSETS, err);
}

void maps_cache_put(void *copy)
{
	if (copy != cache.be && copy != cache.sub)
		free(copy);
}

/* Entry i (of n, size bytes) of map fd was written with v: the copy follows, or is dropped. */
static void cache_set(int fd, __u32 *kept, void *buf, __u32 i, __u32 n, size_t size, const void *v)
{
	if (!*kept || i >= n)
		return;
	if (map_id_of(fd) == *kept)
		memcpy((char *)buf + (size_t)i * size, v, size);
	else
		*kept = 0;
}

void maps_cache_backend_set(const struct sluice_maps *m, __u32 id, const struct sluice_backend *rec)
{
	__u32 svc = idx_svc(rec);

	cache_set(m->backends, &cache.be_map, cache.be, id, SLUICE_MAX_BACKENDS, sizeof(*rec), rec);
	if (!idx_valid(cache.be) || id >= SLUICE_MAX_BACKENDS) {
		bix.map = 0;
		return;
	}
	if (bix.in[id] != svc) {
		idx_unlink(id);
		if (svc != SLUICE_NO_BACKEND)
			idx_link(svc, id);
	}
	if (rec->state == SLUICE_BE_UNUSED && id < bix.free_hint)
		bix.free_hint = id;
}

void maps_cache_subset_set(const struct sluice_maps *m, __u32 slot, const struct sluice_subset *s)
{
	cache_set(m->subsets, &cache.sub_map, cache.sub, slot, SLUICE_MAX_SUBSETS, sizeof(*s), s);
}

int maps_read_leader(const struct sluice_maps *m, __u32 svc_id, struct sluice_leader *l)
{
	int err;

	if (svc_id >= SLUICE_MAX_SERVICES) {
		err_set("service id %u out of range (0..%u)", svc_id, SLUICE_MAX_SERVICES - 1);
		return -EINVAL;
	}
	if (!bpf_map_lookup_elem(m->leaders, &svc_id, l))
		return 0;
	err = -errno;
	err_set("cannot read the leader of service id %u: %s", svc_id, strerror(-err));
	return err;
}

int maps_read_backend(const struct sluice_maps *m, __u32 id, struct sluice_backend *be)
{
	int err;

	if (!bpf_map_lookup_elem(m->backends, &id, be))
		return 0;
	err = -errno;
	err_set("cannot read backend %u: %s", id, strerror(-err));
	return err;
}

int maps_read_subsets(const struct sluice_maps *m, struct sluice_subset *all)
{
	return read_array(m->subsets, SLUICE_MAX_SUBSETS, sizeof(*all), all, SLUICE_MAP_SUBSETS);
}

int maps_subset_is_free(const struct sluice_subset *s)
{
	return s->svc_id == SLUICE_NO_BACKEND || s->count == 0;
}

int maps_table_open(const struct sluice_maps *m, __u32 table_id, __u32 *size)
{
	__u32 inner_id, key = SLUICE_MAGLEV_SIZE_SLOT;
	int fd, err;

	/* From userspace, an array of maps yields the id of the inner map. */
	if (bpf_map_lookup_elem(m->maglev, &table_id, &inner_id)) {
		err = -errno;
		if (err != -ENOENT)
			err_set("cannot read Maglev table %u: %s", table_id, strerror(-err));
		return err;
	}
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0) {
		err = -errno;
		if (err == -ENOENT) /* replaced and freed meanwhile */
			return err;
		err_set("cannot open Maglev table %u: %s", table_id, strerror(-err));
		return err;
	}
	if (bpf_map_lookup_elem(fd, &key, size)) {
		err = -errno;
		err_set("cannot read the size of Maglev table %u: %s", table_id, strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

int maps_read_table(const struct sluice_maps *m, __u32 table_id, __u32 **table, __u32 *m_out)
{
	__u32 size = 0, *t = NULL;
	int fd, err;

	*table = NULL;
	fd = maps_table_open(m, table_id, &size);
	if (fd < 0)
		return fd;
	if (size < 1 || size > SLUICE_MAGLEV_M_MAX) {
		err_set("Maglev table %u has a bad size %u", table_id, size);
		err = -EPROTO;
		goto out;
	}
	t = calloc((size_t)size + 1, sizeof(*t));
	if (!t) {
		err_set("out of memory");
		err = -ENOMEM;
		goto out;
	}
	err = read_array(fd, size + 1, sizeof(*t), t, "a Maglev table");
	if (err)
		goto out;
	*table = t;
	*m_out = size;
	t = NULL;
out:
	free(t);
	close(fd);
	return err;
}

int maps_read_shards(const struct sluice_maps *m, struct sluice_shard_key **keys,
		     struct sluice_shard **values, size_t *count)
{
	struct sluice_shard_key *k = NULL, key, next, *gk;
	struct sluice_shard *v = NULL, *gv;
	size_t n = 0, cap = 0;
	void *prev = NULL;
	int err = 0;

	/* Bounded like maps_svc_list(): a concurrent delete restarts the walk. */
	while (n < 2 * 16384 && !bpf_map_get_next_key(m->shards, prev, &next)) {
		key = next;
		prev = &key;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			gk = realloc(k, cap * sizeof(*k));
			if (gk)
				k = gk;
			gv = realloc(v, cap * sizeof(*v));
			if (gv)
				v = gv;
			if (!gk || !gv) {
				err_set("out of memory");
				err = -ENOMEM;
				goto fail;
			}
		}
		/* LPM lookups match the longest prefix: the key itself is in the map. */
		if (bpf_map_lookup_elem(m->shards, &key, &v[n]))
			continue;
		k[n] = key;
		n++;
	}
	if (errno != ENOENT && n < 2 * 16384) {
		err = -errno;
		err_set("cannot walk %s: %s", SLUICE_MAP_SHARDS, strerror(-err));
		goto fail;
	}
	*keys = k;
	*values = v;
	*count = n;
	return 0;
fail:
	free(k);
	free(v);
	return err;
}

int maps_read_config(const struct sluice_maps *m, struct sluice_config *cfg)
{
	__u32 key = 0;
	int err;

	if (!bpf_map_lookup_elem(m->config, &key, cfg))
		return 0;
	err = -errno;
	err_set("cannot read %s: %s", SLUICE_MAP_CONFIG, strerror(-err));
	return err;
}

int maps_read_svc_res_all(const struct sluice_maps *m, struct sluice_svc_res *all)
{
	return read_array(m->svc_res, SLUICE_MAX_SERVICES, sizeof(*all), all, SLUICE_MAP_SVC_RES);
}

int maps_read_res_global(const struct sluice_maps *m, struct sluice_res_global *g)
{
	__u32 key = 0;
	int err;

	if (!bpf_map_lookup_elem(m->res_global, &key, g))
		return 0;
	err = -errno;
	err_set("cannot read %s: %s", SLUICE_MAP_RES_GLOBAL, strerror(-err));
	return err;
}

int maps_read_breakers(const struct sluice_maps *m, struct sluice_breaker *all)
{
	return read_array(m->breakers, SLUICE_MAX_BACKENDS, sizeof(*all), all, SLUICE_MAP_BREAKERS);
}

int maps_read_conns(const struct sluice_maps *m, __u32 idx, __s64 *active)
{
	struct sluice_conns c;
	int err;

	if (!bpf_map_lookup_elem(m->conns, &idx, &c)) {
		*active = c.active;
		return 0;
	}
	err = -errno;
	err_set("cannot read %s slot %u: %s", SLUICE_MAP_CONNS, idx, strerror(-err));
	return err;
}

int maps_read_be_signals(const struct sluice_maps *m, __u32 id, struct sluice_be_signals *out)
{
	struct sluice_be_signals *percpu;
	int ncpus, c, err = 0;

	percpu = maps_percpu_alloc(sizeof(*percpu), &ncpus);
	if (!percpu)
		return ncpus;
	if (bpf_map_lookup_elem(m->be_signals, &id, percpu)) {
		err = -errno;
		err_set("cannot read the signals of backend %u: %s", id, strerror(-err));
		goto out;
	}
	memset(out, 0, sizeof(*out));
	for (c = 0; c < ncpus; c++) {
		out->successes += percpu[c].successes;
		out->refused += percpu[c].refused;
		out->unreachable += percpu[c].unreachable;
		out->probes += percpu[c].probes;
	}
out:
	free(percpu);
	return err;
}

int maps_read_res_stats(const struct sluice_maps *m, __u32 id, struct sluice_res_counter *out)
{
	struct sluice_res_counter *percpu;
	int ncpus, c, err = 0;

	percpu = maps_percpu_alloc(sizeof(*percpu), &ncpus);
	if (!percpu)
		return ncpus;
	if (bpf_map_lookup_elem(m->res_stats, &id, percpu)) {
		err = -errno;
		err_set("cannot read the breaker counters of service id %u: %s", id,
			strerror(-err));
		goto out;
	}
	memset(out, 0, sizeof(*out));
	for (c = 0; c < ncpus; c++) {
		out->rerouted_next += percpu[c].rerouted_next;
		out->rerouted_fallback += percpu[c].rerouted_fallback;
	}
out:
	free(percpu);
	return err;
}

int maps_flow_entries(const struct sluice_maps *m, __u32 *entries)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int err;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(m->flows, &info, &len)) {
		err = -errno;
		err_set("cannot query %s: %s", SLUICE_MAP_FLOWS, strerror(-err));
		return err;
	}
	*entries = info.max_entries;
	return 0;
}

int maps_read_fo_stats(const struct sluice_maps *m, int be, __u32 id, struct sluice_fo_counter *out)
{
	struct sluice_fo_counter *percpu;
	int ncpus, c, err = 0;

	percpu = maps_percpu_alloc(sizeof(*percpu), &ncpus);
	if (!percpu)
		return ncpus;
	if (bpf_map_lookup_elem(be ? m->fo_be : m->fo_svc, &id, percpu)) {
		err = -errno;
		err_set("cannot read the failover counters of %s id %u: %s",
			be ? "backend" : "service", id, strerror(-err));
		goto out;
	}
	memset(out, 0, sizeof(*out));
	for (c = 0; c < ncpus; c++) {
		out->moved += percpu[c].moved;
		out->redispatched += percpu[c].redispatched;
		out->retry_exhausted += percpu[c].retry_exhausted;
		out->fast_trips += percpu[c].fast_trips;
	}
out:
	free(percpu);
	return err;
}
