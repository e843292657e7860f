// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Maglev table publication (see publish.h): build a table from a snapshot
 * of sl_backends, fill a fresh inner map, swap it into sl_maglev with one
 * update. The write modules (svc, backend, shard, leader) call down to it;
 * it reads the services and leaders it needs and changes no other map.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berev.h"
#include "err.h"
#include "keys.h"
#include "maglev.h"
#include "publish.h"
#include "svcinfo.h"

_Static_assert(MAGLEV_EMPTY == SLUICE_NO_BACKEND, "an empty Maglev slot is SLUICE_NO_BACKEND");

/*
 * Deferred publication (publish_defer_begin()): the services whose table a
 * command changed, each with the size it asked for (0: keep). Process-wide:
 * a CLI or daemon applies one group of commands at a time.
 */
struct pending_table {
	__u32 svc_id, size;
};
static struct {
	int on;
	int be_rev; /* sl_be_rev to rebuild at the end */
	size_t n, cap;
	struct pending_table *v;
} deferred;

static struct pending_table *pending_find(__u32 svc_id)
{
	size_t i;

	for (i = 0; i < deferred.n; i++)
		if (deferred.v[i].svc_id == svc_id)
			return &deferred.v[i];
	return NULL;
}

static int pending_add(__u32 svc_id, __u32 size)
{
	struct pending_table *p = pending_find(svc_id);

	if (!p) {
		if (deferred.n == deferred.cap) {
			size_t cap = deferred.cap ? 2 * deferred.cap : 64;
			struct pending_table *v = realloc(deferred.v, cap * sizeof(*v));

			if (!v) {
				err_set("out of memory");
				return -ENOMEM;
			}
			deferred.v = v;
			deferred.cap = cap;
		}
		p = &deferred.v[deferred.n++];
		p->svc_id = svc_id;
		p->size = 0;
	}
	if (size)
		p->size = size;
	return 0;
}

void publish_defer_begin(void)
{
	deferred.on = 1;
	deferred.be_rev = 0;
	deferred.n = 0;
}

int publish_deferring(void)
{
	return deferred.on;
}

int publish_be_rev(const struct sluice_maps *m, const struct sluice_backend *all)
{
	struct berev_entry *v = NULL;
	size_t kept, nconflicts;
	int err;

	if (deferred.on) {
		deferred.be_rev = 1;
		return 0;
	}
	err = berev_build(m, all, &v, &kept, NULL, &nconflicts);
	if (!err)
		err = berev_sync(m, v, kept);
	free(v);
	return err;
}

void publish_identity(const struct sluice_backend *be, __u8 identity[PUBLISH_IDENTITY_LEN])
{
	memcpy(identity, be->addr.u8, 16);
	memcpy(identity + 16, &be->port, 2); /* stored in network order */
}

int publish_table_build(const struct sluice_backend *all, const __u32 *ids, size_t n, __u32 m,
			__u32 *table)
{
	struct maglev_backend *mb = NULL;
	__u8(*idents)[PUBLISH_IDENTITY_LEN] = NULL;
	size_t i, used = 0;
	int err;

	if (m > SLUICE_MAGLEV_M_MAX || !maglev_is_prime(m)) {
		err_set("Maglev table size %u is not a prime of at most %u", m,
			SLUICE_MAGLEV_M_MAX);
		return -EINVAL;
	}
	if (n) {
		mb = calloc(n, sizeof(*mb));
		idents = calloc(n, sizeof(*idents));
		if (!mb || !idents) {
			err_set("out of memory");
			err = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		const struct sluice_backend *be = &all[ids[i]];

		if (be->state != SLUICE_BE_ACTIVE || !be->weight)
			continue;
		publish_identity(be, idents[used]);
		mb[used].id = idents[used];
		mb[used].id_len = PUBLISH_IDENTITY_LEN;
		mb[used].weight = be->weight;
		mb[used].index = ids[i];
		used++;
	}
	if (used > m) {
		err_set("%zu backends do not fit a Maglev table of %u slots: give a larger maglev-size",
			used, m);
		err = -EINVAL;
		goto out;
	}
	err = maglev_build(mb, used, m, table + 1);
	if (err) {
		err_set("cannot build the Maglev table: %s", strerror(-err));
		goto out;
	}
	table[SLUICE_MAGLEV_SIZE_SLOT] = m;
out:
	free(mb);
	free(idents);
	return err;
}

int publish_table_size(const struct sluice_maps *m, __u32 table_id, __u32 *size)
{
	const struct pending_table *p = deferred.on ? pending_find(table_id) : NULL;
	int fd;

	/* A size asked for and not yet published is the table's size. */
	if (p && p->size) {
		*size = p->size;
		return 0;
	}
	fd = maps_table_open(m, table_id, size);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* Fill fd[0 .. n) with values: in one batch where the kernel can, else one by one. */
static int fill_table(int fd, const __u32 *values, __u32 n)
{
	__u32 *keys, i, count = n;
	int err = 0;

	keys = calloc(n, sizeof(*keys));
	if (!keys) {
		err_set("out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		keys[i] = i;
	if (!bpf_map_update_batch(fd, keys, values, &count, NULL) && count == n)
		goto out;
	for (i = 0; i < n; i++) {
		if (bpf_map_update_elem(fd, &keys[i], &values[i], BPF_ANY)) {
			err = -errno;
			err_set("cannot fill a Maglev table: %s", strerror(-err));
			break;
		}
	}
out:
	free(keys);
	return err;
}

/* A fresh inner map holding table[0 .. table[0]]: its fd, or -errno. */
static int table_map(const __u32 *table)
{
	/*
	 * The inner map must match sl_maglev's template (struct
	 * sluice_maglev_inner): same type, key and value sizes and map_flags.
	 * With BPF_F_INNER_MAP in the flags the kernel does not compare
	 * max_entries, so each table has its own size M + 1.
	 */
	struct bpf_map_create_opts opts = { .sz = sizeof(opts), .map_flags = BPF_F_INNER_MAP };
	__u32 size = table[SLUICE_MAGLEV_SIZE_SLOT];
	int fd, err;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sl_maglev_tbl", sizeof(__u32), sizeof(__u32),
			    size + 1, &opts);
	if (fd < 0) {
		err = -errno;
		err_set("cannot create a Maglev table of %u entries: %s", size + 1, strerror(-err));
		return err;
	}
	err = fill_table(fd, table, size + 1);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/*
 * The switch. Until here the new table was private to this process; this
 * one update replaces the outer entry's pointer, so a packet reads either
 * the old table or the new one, whole, with its own M in entry 0: never a
 * half-written table, never an M from another. The old table is freed by
 * the kernel once no program can still hold it (after an RCU grace period),
 * and closing our fd leaves the table owned by sl_maglev alone. The update
 * itself waits for a grace period (about 10 ms here) before it returns.
 */
static int table_swap(int outer, __u32 table_id, int fd)
{
	return bpf_map_update_elem(outer, &table_id, &fd, BPF_ANY) ? -errno : 0;
}

/* Swap fd in as table table_id, and close it. */
static int swap_in(const struct sluice_maps *m, __u32 table_id, int fd)
{
	int err = table_swap(m->maglev, table_id, fd);

	if (err)
		err_set("cannot publish Maglev table %u: %s", table_id, strerror(-err));
	close(fd);
	return err;
}

int publish_table(const struct sluice_maps *m, __u32 table_id, const __u32 *table)
{
	int fd;

	if (table_id >= SLUICE_MAX_TABLES) {
		err_set("Maglev table id %u out of range", table_id);
		return -EINVAL;
	}
	fd = table_map(table);
	return fd < 0 ? fd : swap_in(m, table_id, fd);
}

/*
 * Tables swapped in together (publish_defer_end()): the swaps of a wave run
 * in threads of their own, so their grace-period waits overlap and a wave
 * costs about one wait, not one per table.
 */
#define SWAP_WAVE 64
#define SWAP_STACK (64 << 10)

struct swap {
	int outer, fd, err;
	__u32 table_id;
};

static void *swap_thread(void *arg)
{
	struct swap *w = arg;

	w->err = table_swap(w->outer, w->table_id, w->fd);
	return NULL;
}

/* Swap v[0..n) in, close their fds: 0 or the first error (err_set()). */
static int swap_wave(struct swap *v, size_t n)
{
	pthread_t th[SWAP_WAVE];
	int started[SWAP_WAVE], err = 0;
	pthread_attr_t attr;
	int attr_ok = !pthread_attr_init(&attr);
	size_t i;

	if (attr_ok)
		pthread_attr_setstacksize(&attr, SWAP_STACK);
	for (i = 0; i < n; i++) {
		started[i] = !pthread_create(&th[i], attr_ok ? &attr : NULL, swap_thread, &v[i]);
		if (!started[i]) /* no thread: this one waits in turn */
			swap_thread(&v[i]);
	}
	for (i = 0; i < n; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		if (v[i].err && !err) {
			err = v[i].err;
			err_set("cannot publish Maglev table %u: %s", v[i].table_id,
				strerror(-err));
		}
		close(v[i].fd);
	}
	if (attr_ok)
		pthread_attr_destroy(&attr);
	return err;
}

int publish_table_delete(const struct sluice_maps *m, __u32 table_id)
{
	struct pending_table *p = deferred.on ? pending_find(table_id) : NULL;
	int err;

	if (p) /* a table removed: no publication of it is pending any more */
		*p = deferred.v[--deferred.n];

	if (!bpf_map_delete_elem(m->maglev, &table_id) || errno == ENOENT)
		return 0;
	err = -errno;
	err_set("cannot remove Maglev table %u: %s", table_id, strerror(-err));
	return err;
}

/* The table of size size over ids[0..n) of snapshot all, in a fresh inner map (*fd). */
static int build_map(const struct sluice_backend *all, const __u32 *ids, size_t n, __u32 size,
		     int *fd)
{
	__u32 *table;
	int err;

	table = calloc((size_t)size + 1, sizeof(*table));
	if (!table) {
		err_set("out of memory");
		return -ENOMEM;
	}
	err = publish_table_build(all, ids, n, size, table);
	if (!err) {
		*fd = table_map(table);
		if (*fd < 0)
			err = *fd;
	}
	free(table);
	return err;
}

/* Publish a table of size size over ids[0..n) of snapshot all. */
static int publish(const struct sluice_maps *m, const struct sluice_backend *all, __u32 table_id,
		   const __u32 *ids, size_t n, __u32 size)
{
	int fd = -1, err;

	if (table_id >= SLUICE_MAX_TABLES) {
		err_set("Maglev table id %u out of range", table_id);
		return -EINVAL;
	}
	err = build_map(all, ids, n, size, &fd);
	return err ? err : swap_in(m, table_id, fd);
}

/*
 * The read-exclusion rule, in this one place: a service with a write port
 * reads from its replicas, so its table leaves the leader out while at least
 * one other backend of ids[0..*n) can take flows (ACTIVE, weight > 0); with
 * none, the leader serves reads too rather than nobody. A service without a
 * write port (route leader, or none) keeps every backend.
 */
static int read_exclusion(const struct sluice_maps *m, const struct sluice_backend *all,
			  __u32 svc_id, __u32 *ids, size_t *n)
{
	struct sluice_leader l;
	size_t i, w = 0, others = 0;
	__u32 lid;
	__u16 wp = 0;
	int err;

	/* The cheap test first: most services have no leader. */
	err = maps_read_leader(m, svc_id, &l);
	if (err || !l.backend || l.backend > SLUICE_MAX_BACKENDS)
		return err;
	lid = l.backend - 1;
	if (!backend_is_of(&all[lid], svc_id))
		return 0;
	for (i = 0; i < *n; i++)
		others += ids[i] != lid && all[ids[i]].state == SLUICE_BE_ACTIVE &&
			  all[ids[i]].weight;
	if (!others)
		return 0;
	err = svc_write_port(m, svc_id, &wp);
	if (err || !wp)
		return err;
	for (i = 0; i < *n; i++)
		if (ids[i] != lid)
			ids[w++] = ids[i];
	*n = w;
	return 0;
}

/*
 * Publish svc_id's table over its backends ids[0..n) (changed: the read
 * exclusion); fd not NULL: build it into a fresh inner map *fd instead, for
 * the caller to swap in.
 */
static int publish_ids(const struct sluice_maps *m, const struct sluice_backend *all, __u32 svc_id,
		       __u32 size, __u32 *ids, size_t n, int *fd)
{
	int err;

	if (!size) {
		err = publish_table_size(m, svc_id, &size);
		if (err == -ENOENT)
			size = SLUICE_MAGLEV_M_DEFAULT;
		else if (err)
			return err;
	}
	err = read_exclusion(m, all, svc_id, ids, &n);
	if (err)
		return err;
	if (fd)
		return build_map(all, ids, n, size, fd);
	return publish(m, all, svc_id, ids, n, size);
}

int publish_service(const struct sluice_maps *m, const struct sluice_backend *all, __u32 svc_id,
		    __u32 size)
{
	struct sluice_backend *own = NULL;
	__u32 *ids = NULL, i;
	size_t n = 0, w;
	int err;

	if (deferred.on) {
		deferred.be_rev = 1;
		return pending_add(svc_id, size);
	}
	if (!all) {
		own = maps_backends_get(m, &err);
		if (!own)
			return err;
		all = own;
	}
	/* The session's index gives the candidates (a superset); else every slot. */
	err = maps_cache_backends_of(all, svc_id, &ids, &n);
	if (!err) {
		for (i = 0, w = 0; i < n; i++)
			if (backend_is_of(&all[ids[i]], svc_id))
				ids[w++] = ids[i];
		n = w;
	} else if (err == -ENOENT) {
		ids = calloc(SLUICE_MAX_BACKENDS, sizeof(*ids));
		if (!ids) {
			err_set("out of memory");
			maps_cache_put(own);
			return -ENOMEM;
		}
		for (i = 0; i < SLUICE_MAX_BACKENDS; i++)
			if (backend_is_of(&all[i], svc_id))
				ids[n++] = i;
	} else {
		maps_cache_put(own);
		return err;
	}
	err = publish_ids(m, all, svc_id, size, ids, n, NULL);
	/* Every change of a service's backends or ports ends here: the stateless return too. */
	if (!err)
		err = publish_be_rev(m, all);
	free(ids);
	maps_cache_put(own);
	return err;
}

int publish_subset(const struct sluice_maps *m, const struct sluice_backend *all, __u32 slot,
		   const struct sluice_subset *sub)
{
	__u32 ids[SLUICE_SUBSET_MAX_MEMBERS], i;
	size_t n = 0;

	if (slot >= SLUICE_MAX_SUBSETS || sub->count > SLUICE_SUBSET_MAX_MEMBERS) {
		err_set("bad subset %u", slot);
		return -EINVAL;
	}
	/* A member whose slot no longer belongs to the service is left out. */
	for (i = 0; i < sub->count; i++)
		if (sub->backend_ids[i] < SLUICE_MAX_BACKENDS &&
		    backend_is_of(&all[sub->backend_ids[i]], sub->svc_id))
			ids[n++] = sub->backend_ids[i];
	return publish(m, all, SLUICE_MAX_SERVICES + slot, ids, n, PUBLISH_SUBSET_M);
}

/*
 * Each service's backend ids, from one pass over all: service s has
 * (*ids)[(*start)[s] .. (*start)[s + 1]), by backend id. Malloc'ed.
 */
static int index_by_service(const struct sluice_backend *all, __u32 **start, __u32 **ids)
{
	__u32 *at, i;

	*start = calloc(SLUICE_MAX_SERVICES + 1, sizeof(**start));
	*ids = calloc(SLUICE_MAX_BACKENDS, sizeof(**ids));
	at = calloc(SLUICE_MAX_SERVICES, sizeof(*at));
	if (!*start || !*ids || !at) {
		free(at);
		free(*start);
		free(*ids);
		*start = *ids = NULL;
		err_set("out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < SLUICE_MAX_BACKENDS; i++)
		if (all[i].state != SLUICE_BE_UNUSED && all[i].svc_id < SLUICE_MAX_SERVICES)
			(*start)[all[i].svc_id + 1]++;
	for (i = 0; i < SLUICE_MAX_SERVICES; i++) {
		(*start)[i + 1] += (*start)[i];
		at[i] = (*start)[i];
	}
	for (i = 0; i < SLUICE_MAX_BACKENDS; i++)
		if (all[i].state != SLUICE_BE_UNUSED && all[i].svc_id < SLUICE_MAX_SERVICES)
			(*ids)[at[all[i].svc_id]++] = i;
	free(at);
	return 0;
}

int publish_defer_end(const struct sluice_maps *maps, const char *pin_root)
{
	struct sluice_backend *all = NULL;
	__u32 *start = NULL, *ids = NULL;
	struct sluice_maps own;
	const struct sluice_maps *m = maps;
	struct swap wave[SWAP_WAVE];
	int err = 0, e;
	size_t i, nw = 0;

	deferred.on = 0;
	if (!deferred.n && !deferred.be_rev)
		return 0;
	maps_init(&own);
	if (!m) {
		err = maps_open(&own, pin_root);
		m = &own;
	}
	if (!err)
		all = maps_backends_get(m, &err);
	if (all)
		err = index_by_service(all, &start, &ids);
	/* After a failed table, the others are still published; the first error is returned. */
	for (i = 0; all && ids && start && i < deferred.n; i++) {
		__u32 svc_id = deferred.v[i].svc_id, size = deferred.v[i].size;
		int fd = -1;

		if (svc_id >= SLUICE_MAX_SERVICES)
			e = publish_service(m, all, svc_id, size);
		else
			e = publish_ids(m, all, svc_id, size, ids + start[svc_id],
					start[svc_id + 1] - start[svc_id], &fd);
		if (!e && fd >= 0) {
			wave[nw++] =
				(struct swap){ .outer = m->maglev, .fd = fd, .table_id = svc_id };
			if (nw == SWAP_WAVE || i + 1 == deferred.n) {
				e = swap_wave(wave, nw);
				nw = 0;
			}
		}
		if (e && !err)
			err = e;
	}
	if (nw && (e = swap_wave(wave, nw)) && !err)
		err = e;
	/* Once for the whole group, after the tables. */
	if (all && (e = publish_be_rev(m, all)) && !err)
		err = e;
	deferred.be_rev = 0;
	free(start);
	free(ids);
	maps_cache_put(all);
	maps_close(&own);
	deferred.n = 0;
	return err;
}
