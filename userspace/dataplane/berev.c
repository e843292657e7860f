// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sl_be_rev, the stateless return path of nat (see berev.h): candidates
 * from the services and backends, resolved into the table and the
 * conflicts, and the table reconciled with the map.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "args.h"
#include "berev.h"
#include "err.h"
#include "keys.h"

int berev_add(struct berev_entry **v, size_t *n, size_t *cap, const struct sluice_svc_key *key,
	      __u32 svc_id, __u32 backend_id, const union sluice_addr *addr, __be16 port)
{
	struct berev_entry *e;

	/* nat keeps the family: a backend of the other family never takes its flows. */
	if (addr_is_v4mapped(addr) != addr_is_v4mapped(&key->addr))
		return 0;
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 64;
		struct berev_entry *g = realloc(*v, c * sizeof(*g));

		if (!g) {
			err_set("out of memory");
			return -ENOMEM;
		}
		*v = g;
		*cap = c;
	}
	e = &(*v)[(*n)++];
	memset(e, 0, sizeof(*e));
	e->key.addr = *addr;
	e->key.port = port ? port : key->port;
	e->key.proto = key->proto;
	e->rev.vip = key->addr;
	e->rev.vport = key->port;
	e->rev.svc_id = svc_id;
	e->rev.backend_id = backend_id;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct berev_entry *x = a, *y = b;
	int c = memcmp(&x->key, &y->key, sizeof(x->key));

	if (c)
		return c;
	c = memcmp(&x->rev, &y->rev, offsetof(struct sluice_nat_rev, backend_id));
	if (c)
		return c;
	return x->rev.backend_id < y->rev.backend_id ? -1 : x->rev.backend_id > y->rev.backend_id;
}

/* Same service address and port (and service): one translation, whatever the backend id. */
static int same_target(const struct sluice_nat_rev *a, const struct sluice_nat_rev *b)
{
	return !memcmp(&a->vip, &b->vip, sizeof(a->vip)) && a->vport == b->vport &&
	       a->svc_id == b->svc_id;
}

void berev_resolve(struct berev_entry *v, size_t n, size_t *kept, struct berev_conflict *conflicts,
		   size_t *nconflicts)
{
	size_t i = 0, j, w = 0, nc = 0;

	if (n)
		qsort(v, n, sizeof(*v), entry_cmp);
	while (i < n) {
		/* The run of key v[i]: sorted, so the lowest backend id of a target comes first. */
		for (j = i + 1; j < n && !memcmp(&v[j].key, &v[i].key, sizeof(v[i].key)); j++)
			if (!same_target(&v[j].rev, &v[i].rev))
				break;
		if (j < n && !memcmp(&v[j].key, &v[i].key, sizeof(v[i].key))) {
			if (conflicts) {
				conflicts[nc].key = v[i].key;
				conflicts[nc].a = v[i].rev;
				conflicts[nc].b = v[j].rev;
			}
			nc++;
			while (j < n && !memcmp(&v[j].key, &v[i].key, sizeof(v[i].key)))
				j++;
		} else {
			v[w++] = v[i];
		}
		i = j;
	}
	*kept = w;
	*nconflicts = nc;
}

int berev_build(const struct sluice_maps *m, const struct sluice_backend *all,
		struct berev_entry **v_out, size_t *kept, struct berev_conflict **conflicts,
		size_t *nconflicts)
{
	struct sluice_backend *own = NULL;
	struct maps_svc_entry *svcs = NULL;
	struct berev_conflict *cf = NULL;
	struct berev_entry *v = NULL;
	size_t nsvc = 0, n = 0, cap = 0, i, j;
	__u32 *first = NULL, id;
	int err;

	*v_out = NULL;
	*kept = 0;
	*nconflicts = 0;
	if (conflicts)
		*conflicts = NULL;
	if (!all) {
		own = maps_backends_get(m, &err);
		if (!own)
			return err;
		all = own;
	}
	/* Sorted by id: a service's keys (a CQRS read and write port) are adjacent. */
	err = maps_svc_list_all(m, &svcs, &nsvc);
	if (!err && nsvc) {
		first = malloc(SLUICE_MAX_SERVICES * sizeof(*first));
		if (!first) {
			err_set("out of memory");
			err = -ENOMEM;
		}
	}
	if (!err && nsvc) {
		memset(first, 0xff, SLUICE_MAX_SERVICES * sizeof(*first));
		for (i = nsvc; i-- > 0;)
			if (svcs[i].svc.id < SLUICE_MAX_SERVICES)
				first[svcs[i].svc.id] = (__u32)i;
	}
	/* One pass over the backends, each with its service's nat keys. */
	for (id = 0; !err && nsvc && id < SLUICE_MAX_BACKENDS; id++) {
		const struct sluice_backend *be = &all[id];

		if (be->state == SLUICE_BE_UNUSED || be->svc_id >= SLUICE_MAX_SERVICES ||
		    first[be->svc_id] == 0xffffffffu)
			continue;
		for (j = first[be->svc_id]; !err && j < nsvc && svcs[j].svc.id == be->svc_id; j++)
			if (svcs[j].svc.mode == SLUICE_MODE_NAT)
				err = berev_add(&v, &n, &cap, &svcs[j].key, be->svc_id, id,
						&be->addr, be->port);
	}
	if (!err && conflicts && n) {
		cf = calloc(n / 2 + 1, sizeof(*cf));
		if (!cf) {
			err_set("out of memory");
			err = -ENOMEM;
		}
	}
	if (!err) {
		berev_resolve(v, n, kept, cf, nconflicts);
		*v_out = v;
		v = NULL;
		if (conflicts) {
			*conflicts = cf;
			cf = NULL;
		}
	}
	free(first);
	free(cf);
	free(v);
	free(svcs);
	maps_cache_put(own);
	return err;
}

static int key_cmp(const void *k, const void *e)
{
	return memcmp(k, &((const struct berev_entry *)e)->key, sizeof(struct sluice_be_rev_key));
}

/* v's entry is backend rec as the table holds it (its address, port and service). */
static int entry_is(const struct berev_entry *e, const struct sluice_backend *rec)
{
	return rec->state != SLUICE_BE_UNUSED && rec->svc_id == e->rev.svc_id &&
	       !memcmp(&rec->addr, &e->key.addr, sizeof(rec->addr)) &&
	       (rec->port ? rec->port : e->rev.vport) == e->key.port;
}

/* Backend id's record (all[id]) with SLUICE_BE_F_REV_STATELESS on or off. */
static int flag_write(const struct sluice_maps *m, struct sluice_backend *all, __u32 id, int on)
{
	struct sluice_backend rec = all[id];
	int err;

	rec.flags = on ? (rec.flags | SLUICE_BE_F_REV_STATELESS)
		       : (rec.flags & ~SLUICE_BE_F_REV_STATELESS);
	if (!bpf_map_update_elem(m->backends, &id, &rec, BPF_ANY)) {
		maps_cache_backend_set(m, id, &rec);
		all[id] = rec;
		return 0;
	}
	err = -errno;
	maps_cache_drop();
	err_set("cannot write backend %u: %s", id, strerror(-err));
	return err;
}

/*
 * Before the table changes: the flag off on every backend whose entry will
 * not stand unchanged (gone, rewritten, or no longer this backend's), so
 * no new flow skips its sl_nat_rev entry for a translation that is going.
 * want[id]: 1 + the index of backend id's entry in v, or 0.
 */
static int flags_clear(const struct sluice_maps *m, struct sluice_backend *all,
		       const struct berev_entry *v, const __u32 *want)
{
	struct sluice_nat_rev cur;
	__u32 id;
	int err;

	for (id = 0; id < SLUICE_MAX_BACKENDS; id++) {
		const struct berev_entry *e = want[id] ? &v[want[id] - 1] : NULL;

		if (!(all[id].flags & SLUICE_BE_F_REV_STATELESS))
			continue;
		if (e && entry_is(e, &all[id]) && !bpf_map_lookup_elem(m->be_rev, &e->key, &cur) &&
		    !memcmp(&cur, &e->rev, sizeof(cur)))
			continue;
		err = flag_write(m, all, id, 0);
		if (err)
			return err;
	}
	return 0;
}

/* After the table is written: the flag on every backend it translates. */
static int flags_set(const struct sluice_maps *m, struct sluice_backend *all,
		     const struct berev_entry *v, size_t n)
{
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		__u32 id = v[i].rev.backend_id;

		if (id >= SLUICE_MAX_BACKENDS || (all[id].flags & SLUICE_BE_F_REV_STATELESS) ||
		    !entry_is(&v[i], &all[id]))
			continue;
		err = flag_write(m, all, id, 1);
		if (err)
			return err;
	}
	return 0;
}

static int table_sync(const struct sluice_maps *m, const struct berev_entry *v, size_t n)
{
	struct sluice_be_rev_key key, next, *stale = NULL;
	size_t nstale = 0, cap = 0, i;
	struct sluice_nat_rev cur;
	const void *prev = NULL;
	int err = 0;

	/* Stale keys first (collected: deleting while iterating restarts the walk). */
	while (!bpf_map_get_next_key(m->be_rev, prev, &next)) {
		key = next;
		prev = &key;
		if (n && bsearch(&key, v, n, sizeof(*v), key_cmp))
			continue;
		if (nstale == cap) {
			size_t c = cap ? 2 * cap : 64;
			struct sluice_be_rev_key *g = realloc(stale, c * sizeof(*g));

			if (!g) {
				free(stale);
				err_set("out of memory");
				return -ENOMEM;
			}
			stale = g;
			cap = c;
		}
		stale[nstale++] = key;
	}
	for (i = 0; i < nstale; i++) {
		if (bpf_map_delete_elem(m->be_rev, &stale[i]) && errno != ENOENT) {
			err = -errno;
			err_set("cannot update %s: %s", SLUICE_MAP_BE_REV, strerror(-err));
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		if (!bpf_map_lookup_elem(m->be_rev, &v[i].key, &cur) &&
		    !memcmp(&cur, &v[i].rev, sizeof(cur)))
			continue;
		if (bpf_map_update_elem(m->be_rev, &v[i].key, &v[i].rev, BPF_ANY)) {
			err = -errno;
			err_set("cannot update %s: %s", SLUICE_MAP_BE_REV, strerror(-err));
			goto out;
		}
	}
out:
	free(stale);
	return err;
}

/* "10.0.0.1:80" or "[2001:db8::1]:80". */
static void host_port(const union sluice_addr *a, __be16 port, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN] = "?";

	addr_format(a, s, sizeof(s));
	snprintf(buf, len, addr_is_v4mapped(a) ? "%s:%u" : "[%s]:%u", s, ntohs(port));
}

void berev_conflict_text(const struct berev_conflict *c, char *buf, size_t len)
{
	char be[INET6_ADDRSTRLEN + 8], a[INET6_ADDRSTRLEN + 8], b[INET6_ADDRSTRLEN + 8];

	host_port(&c->key.addr, c->key.port, be, sizeof(be));
	host_port(&c->a.vip, c->a.vport, a, sizeof(a));
	host_port(&c->b.vip, c->b.vport, b, sizeof(b));
	snprintf(
		buf, len,
		"backend %s/%s serves both %s and %s: its nat replies are translated only by the gateway that saw the connection start (no stateless return behind ECMP); give it a port per service port",
		be, args_proto_name(c->key.proto), a, b);
}

int berev_sync(const struct sluice_maps *m, const struct berev_entry *v, size_t n)
{
	struct sluice_backend *all;
	__u32 *want;
	size_t i;
	int err;

	all = maps_backends_get(m, &err);
	if (!all)
		return err;
	want = calloc(SLUICE_MAX_BACKENDS, sizeof(*want));
	if (!want) {
		maps_cache_put(all);
		err_set("out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		if (v[i].rev.backend_id < SLUICE_MAX_BACKENDS)
			want[v[i].rev.backend_id] = (__u32)i + 1;
	err = flags_clear(m, all, v, want);
	if (!err)
		err = table_sync(m, v, n);
	if (!err)
		err = flags_set(m, all, v, n);
	free(want);
	maps_cache_put(all);
	return err;
}
