// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Maglev table publication (see publish.h): build a table from a snapshot
 * of sl_backends, fill a fresh inner map, swap it into sl_maglev with one
 * update. The write modules (svc, backend, shard, leader) call down to it;
 * it reads the services and leaders it needs and changes no other map.
 */
#include <bpf/bpf.h>
#include <errno.h>
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

int publish_defer_end(const char *pin_root)
{
	struct sluice_backend *all = NULL;
	struct sluice_maps m;
	int err = 0, e;
	size_t i;

	deferred.on = 0;
	if (!deferred.n && !deferred.be_rev)
		return 0;
	maps_init(&m);
	err = maps_open(&m, pin_root);
	if (!err)
		all = maps_backends_snapshot(&m, &err);
	for (i = 0; all && i < deferred.n; i++) {
		e = publish_service(&m, all, deferred.v[i].svc_id, deferred.v[i].size);
		if (e && !err)
			err = e;
	}
	/* Once for the whole group, after the tables. */
	if (all) {
		e = publish_be_rev(&m, all);
		if (e && !err)
			err = e;
	}
	deferred.be_rev = 0;
	free(all);
	maps_close(&m);
	deferred.n = 0;
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

int publish_table(const struct sluice_maps *m, __u32 table_id, const __u32 *table)
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

	if (table_id >= SLUICE_MAX_TABLES) {
		err_set("Maglev table id %u out of range", table_id);
		return -EINVAL;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sl_maglev_tbl", sizeof(__u32), sizeof(__u32),
			    size + 1, &opts);
	if (fd < 0) {
		err = -errno;
		err_set("cannot create a Maglev table of %u entries: %s", size + 1, strerror(-err));
		return err;
	}
	err = fill_table(fd, table, size + 1);
	if (err)
		goto out;
	/*
	 * The switch. Until here the new table was private to this process;
	 * this one update replaces the outer entry's pointer, so a packet
	 * reads either the old table or the new one, whole, with its own M in
	 * entry 0: never a half-written table, never an M from another. The
	 * old table is freed by the kernel once no program can still hold it
	 * (after an RCU grace period), and closing our fd leaves the table
	 * owned by sl_maglev alone.
	 */
	if (bpf_map_update_elem(m->maglev, &table_id, &fd, BPF_ANY)) {
		err = -errno;
		err_set("cannot publish Maglev table %u: %s", table_id, strerror(-err));
	}
out:
	close(fd);
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

/* Publish a table of size size over ids[0..n) of snapshot all. */
static int publish(const struct sluice_maps *m, const struct sluice_backend *all, __u32 table_id,
		   const __u32 *ids, size_t n, __u32 size)
{
	__u32 *table;
	int err;

	table = calloc((size_t)size + 1, sizeof(*table));
	if (!table) {
		err_set("out of memory");
		return -ENOMEM;
	}
	err = publish_table_build(all, ids, n, size, table);
	if (!err)
		err = publish_table(m, table_id, table);
	free(table);
	return err;
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

int publish_service(const struct sluice_maps *m, const struct sluice_backend *all, __u32 svc_id,
		    __u32 size)
{
	struct sluice_backend *own = NULL;
	__u32 *ids, i;
	size_t n = 0;
	int err;

	if (deferred.on) {
		deferred.be_rev = 1;
		return pending_add(svc_id, size);
	}
	if (!all) {
		own = maps_backends_snapshot(m, &err);
		if (!own)
			return err;
		all = own;
	}

	if (!size) {
		err = publish_table_size(m, svc_id, &size);
		if (err == -ENOENT) {
			size = SLUICE_MAGLEV_M_DEFAULT;
		} else if (err) {
			free(own);
			return err;
		}
	}
	ids = calloc(SLUICE_MAX_BACKENDS, sizeof(*ids));
	if (!ids) {
		err_set("out of memory");
		free(own);
		return -ENOMEM;
	}
	for (i = 0; i < SLUICE_MAX_BACKENDS; i++)
		if (backend_is_of(&all[i], svc_id))
			ids[n++] = i;
	err = read_exclusion(m, all, svc_id, ids, &n);
	if (!err)
		err = publish(m, all, svc_id, ids, n, size);
	/* Every change of a service's backends or ports ends here: the stateless return too. */
	if (!err)
		err = publish_be_rev(m, all);
	free(ids);
	free(own);
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
