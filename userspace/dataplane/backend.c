// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Backends (see backend.h); their tables are published by publish.c.
 *
 * Every change works on a snapshot of sl_backends: the snapshot is changed
 * in memory, the affected tables are built from it, and the maps are written
 * in an order that never lets the data plane meet a table entry whose
 * backend record is not there yet:
 *  - a record a new table refers to (an added or activated backend) is
 *    written before the table is published;
 *  - a record a table stops referring to (a drained or deleted backend) is
 *    changed after the table without it is published.
 * When a step fails, what was written is put back (best effort) so a refused
 * command leaves the maps as they were.
 *
 * Like svc.c, ids are allocated by scanning; do not run two writers at once
 * (a --local CLI beside the daemon).
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "args.h"
#include "backend.h"
#include "err.h"
#include "keys.h"
#include "leader.h"
#include "ports.h"
#include "publish.h"
#include "res.h"
#include "shard.h"
#include "svcinfo.h"

int backend_record_make(const struct sluice_svc_key *key, const struct sluice_svc *svc,
			const struct be_conf *conf, struct sluice_backend *rec)
{
	char k[SVC_KEY_STRLEN], ka[SVC_KEY_STRLEN];
	struct sluice_backend r;
	__u16 port;

	svc_key_format(key, k, sizeof(k));
	svc_key_format_args(key, ka, sizeof(ka));
	if (svc->mode != SLUICE_MODE_NAT && svc->mode != SLUICE_MODE_IPIP) {
		err_set("service %s is in mode %s, which passes packets to this host and has no backends: change it with 'sluice service set %s mode nat' (or ipip) first",
			k, args_mode_name(svc->mode), ka);
		return -EOPNOTSUPP;
	}
	if (addr_family(&conf->addr) != addr_family(&key->addr)) {
		err_set("backend and service %s must be of one address family (both IPv4 or both IPv6) in mode %s",
			k, args_mode_name(svc->mode));
		return -EINVAL;
	}
	if (conf->has_weight && (conf->weight < 1 || conf->weight > BACKEND_WEIGHT_MAX)) {
		err_set("weight %u is out of range: give 1..%u (drain a backend to take it out)",
			conf->weight, BACKEND_WEIGHT_MAX);
		return -ERANGE;
	}
	port = conf->has_port ? conf->port : ntohs(key->port);
	if (!port) {
		err_set("port 0 is not a backend port: give 1..65535");
		return -EINVAL;
	}
	if (svc->mode == SLUICE_MODE_IPIP && port != ntohs(key->port)) {
		err_set("mode ipip does not rewrite ports: the backend receives port %u of service %s; omit 'port'",
			ntohs(key->port), k);
		return -EINVAL;
	}
	memset(&r, 0, sizeof(r));
	r.addr = conf->addr;
	r.port = svc->mode == SLUICE_MODE_IPIP ? 0 : htons(port);
	r.state = SLUICE_BE_ACTIVE;
	r.svc_id = svc->id;
	r.weight = conf->has_weight ? conf->weight : 1;
	*rec = r;
	return 0;
}

/*
 * rec as it goes into slot id: SLUICE_BE_F_REV_STATELESS is berev.c's to
 * set, and stays only while the slot keeps its address, port and service
 * (a state or weight change); any other write clears it, so a new flow
 * records its return translation until sl_be_rev holds the new one.
 */
static void record_flags(const struct sluice_maps *m, __u32 id, struct sluice_backend *rec)
{
	struct sluice_backend old;
	int keep;

	keep = !bpf_map_lookup_elem(m->backends, &id, &old) &&
	       (old.flags & SLUICE_BE_F_REV_STATELESS) && old.state != SLUICE_BE_UNUSED &&
	       rec->state != SLUICE_BE_UNUSED && old.svc_id == rec->svc_id &&
	       old.port == rec->port && !memcmp(&old.addr, &rec->addr, sizeof(old.addr));
	rec->flags = keep ? SLUICE_BE_F_REV_STATELESS : 0;
}

static int write_record(const struct sluice_maps *m, __u32 id, const struct sluice_backend *in)
{
	__u16 port = in->state == SLUICE_BE_UNUSED ? 0 : ntohs(in->port);
	struct sluice_backend r = *in, *rec = &r;
	int err;

	record_flags(m, id, rec);
	/* The port's return bit before the record (ports.h), and again after it. */
	err = ports_note_ret(m, port);
	if (err)
		return err;
	if (!bpf_map_update_elem(m->backends, &id, rec, BPF_ANY)) {
		maps_cache_backend_set(m, id, rec);
		return ports_note_ret(m, port);
	}
	err = -errno;
	maps_cache_drop();
	err_set("cannot write backend %u: %s", id, strerror(-err));
	return err;
}

static int zero_counters(const struct sluice_maps *m, __u32 id)
{
	struct sluice_be_counter *zero;
	int ncpus, err = 0;

	zero = maps_percpu_alloc(sizeof(*zero), &ncpus);
	if (!zero)
		return ncpus;
	if (bpf_map_update_elem(m->be_stats, &id, zero, BPF_ANY)) {
		err = -errno;
		err_set("cannot clear the counters of backend %u: %s", id, strerror(-err));
	}
	free(zero);
	/* A fresh slot's breaker is closed and its signals zero. */
	if (!err)
		err = res_backend_reset(m, id);
	return err;
}

static int subset_has(const struct sluice_subset *s, __u32 id)
{
	__u32 i;

	for (i = 0; i < s->count && i < SLUICE_SUBSET_MAX_MEMBERS; i++)
		if (s->backend_ids[i] == id)
			return 1;
	return 0;
}

/* Republish every subset table of svc_id that has backend id (snapshot all). */
static int publish_subsets_of(const struct sluice_maps *m, const struct sluice_backend *all,
			      __u32 svc_id, __u32 id)
{
	struct sluice_subset *subs;
	__u32 slot;
	int err;

	subs = maps_subsets_get(m, &err);
	for (slot = 0; subs && slot < SLUICE_MAX_SUBSETS; slot++) {
		if (maps_subset_is_free(&subs[slot]) || subs[slot].svc_id != svc_id ||
		    !subset_has(&subs[slot], id))
			continue;
		err = publish_subset(m, all, slot, &subs[slot]);
		if (err)
			break;
	}
	maps_cache_put(subs);
	return err;
}

/*
 * Change backend id to *rec (snapshot all holds the current records) and
 * republish the service table and its subsets containing id, in the order
 * the file comment gives; put things back on failure.
 */
static int apply(const struct sluice_maps *m, struct sluice_backend *all, __u32 id,
		 const struct sluice_backend *rec)
{
	struct sluice_backend old = all[id];
	int referred = rec->state == SLUICE_BE_ACTIVE;
	__u32 svc_id = rec->svc_id;
	int err;

	all[id] = *rec;
	if (referred) {
		err = write_record(m, id, rec);
		if (err)
			goto undo_snapshot;
	}
	err = publish_service(m, all, svc_id, 0);
	if (!err)
		err = publish_subsets_of(m, all, svc_id, id);
	if (!err && !referred)
		err = write_record(m, id, rec);
	if (!err)
		return 0;
	/* Put the tables and the record back as they were. */
	all[id] = old;
	publish_service(m, all, svc_id, 0);
	publish_subsets_of(m, all, svc_id, id);
	write_record(m, id, &old);
	return err;
undo_snapshot:
	all[id] = old;
	return err;
}

/*
 * Open the service of key and a snapshot of the backends; *cand: the slots
 * that can be the service's, from the session's index (malloc'ed, free()
 * it), or NULL: every slot (*ncand their number either way).
 */
static int begin(const struct sluice_maps *m, const struct sluice_svc_key *key,
		 struct sluice_svc *svc, struct sluice_backend **all, __u32 **cand, size_t *ncand)
{
	int err = svc_get(m, key, svc);

	*cand = NULL;
	*ncand = SLUICE_MAX_BACKENDS;
	if (err)
		return err;
	*all = maps_backends_get(m, &err);
	if (err)
		return err;
	err = maps_cache_backends_of(*all, svc->id, cand, ncand);
	if (err == -ENOENT) {
		*cand = NULL;
		*ncand = SLUICE_MAX_BACKENDS;
		return 0;
	}
	return err;
}

/* Slot j of the candidates begin() gave. */
static __u32 cand_id(const __u32 *cand, size_t j)
{
	return cand ? cand[j] : (__u32)j;
}

int backend_add(const struct sluice_maps *m, const struct sluice_svc_key *key,
		const struct be_conf *conf, __u32 *id, struct sluice_backend *rec)
{
	struct sluice_backend *all = NULL, r;
	char a[ADDR_STRLEN], k[SVC_KEY_STRLEN];
	struct sluice_svc svc;
	__u32 i, free_id = SLUICE_NO_BACKEND, *cand = NULL;
	size_t j, ncand;
	int err;

	err = begin(m, key, &svc, &all, &cand, &ncand);
	if (err)
		goto out;
	err = backend_record_make(key, &svc, conf, &r);
	if (err)
		goto out;
	/* With the session's index: the service's slots, and its lowest free one. */
	if (cand)
		maps_cache_free_id(all, &free_id);
	for (j = 0; j < ncand; j++) {
		i = cand_id(cand, j);
		if (all[i].state == SLUICE_BE_UNUSED) {
			if (!cand && free_id == SLUICE_NO_BACKEND)
				free_id = i;
			continue;
		}
		if (all[i].svc_id == svc.id && !memcmp(&all[i].addr, &r.addr, sizeof(r.addr)) &&
		    all[i].port == r.port) {
			addr_format(&r.addr, a, sizeof(a));
			svc_key_format(key, k, sizeof(k));
			err_set("service %s already has backend %s port %u (id %u): change it with 'sluice backend set'",
				k, a, backend_port(&r, key), i);
			err = -EEXIST;
			goto out;
		}
	}
	if (free_id == SLUICE_NO_BACKEND) {
		err_set("all %u backend ids are in use: delete a backend first",
			SLUICE_MAX_BACKENDS);
		err = -ENOSPC;
		goto out;
	}
	/* Counters start at zero before the backend can be chosen. */
	err = zero_counters(m, free_id);
	if (!err)
		err = apply(m, all, free_id, &r);
	if (err)
		goto out;
	if (id)
		*id = free_id;
	if (rec)
		*rec = r;
out:
	free(cand);
	maps_cache_put(all);
	return err;
}

/* The common part of set weight, drain and activate. */
static int change(const struct sluice_maps *m, const struct sluice_svc_key *key,
		  const struct be_ref *ref, int set_weight, __u32 weight, int set_state, __u8 state,
		  __u32 *id, struct sluice_backend *rec)
{
	struct sluice_backend *all = NULL, r;
	struct sluice_svc svc;
	__u32 found, *cand = NULL;
	size_t ncand;
	int err;

	if (set_weight && (weight < 1 || weight > BACKEND_WEIGHT_MAX)) {
		err_set("weight %u is out of range: give 1..%u (drain a backend to take it out)",
			weight, BACKEND_WEIGHT_MAX);
		return -ERANGE;
	}
	if (set_state && state != SLUICE_BE_ACTIVE && state != SLUICE_BE_DRAINING) {
		err_set("a backend can only be made active or draining");
		return -EINVAL;
	}
	err = begin(m, key, &svc, &all, &cand, &ncand);
	if (!err)
		err = backend_find_among(all, cand, ncand, key, &svc, ref, &found);
	if (err)
		goto out;
	r = all[found];
	if (set_weight)
		r.weight = weight;
	if (set_state)
		r.state = state;
	err = apply(m, all, found, &r);
	if (err)
		goto out;
	if (id)
		*id = found;
	if (rec)
		*rec = r;
out:
	free(cand);
	maps_cache_put(all);
	return err;
}

int backend_set_weight(const struct sluice_maps *m, const struct sluice_svc_key *key,
		       const struct be_ref *ref, __u32 weight, __u32 *id,
		       struct sluice_backend *rec)
{
	return change(m, key, ref, 1, weight, 0, 0, id, rec);
}

int backend_set_state(const struct sluice_maps *m, const struct sluice_svc_key *key,
		      const struct be_ref *ref, __u8 state, __u32 *id, struct sluice_backend *rec)
{
	return change(m, key, ref, 0, 0, 1, state, id, rec);
}

/* Refuse deleting id while a shard pins it or a subset would be left empty. */
static int check_del(const struct sluice_maps *m, const struct sluice_svc_key *key, __u32 svc_id,
		     __u32 id, const struct sluice_subset *subs)
{
	struct sluice_shard_key *keys = NULL;
	struct sluice_shard *vals = NULL;
	char p[SHARD_PREFIX_STRLEN], k[SVC_KEY_STRLEN];
	size_t n = 0, i;
	int err;

	err = res_check_backend_del(m, key, svc_id, id);
	if (err)
		return err;
	err = maps_read_shards(m, &keys, &vals, &n);
	if (err)
		return err;
	svc_key_format_args(key, k, sizeof(k));
	for (i = 0; i < n; i++) {
		if (keys[i].svc_id != svc_id)
			continue;
		shard_prefix_format(&keys[i], p, sizeof(p));
		if (vals[i].backend_id == id) {
			err_set("backend %u is the target of shard %s: delete the shard first (sluice shard del %s %s)",
				id, p, k, p);
			err = -EBUSY;
			break;
		}
		if (vals[i].table_id >= SLUICE_MAX_SERVICES &&
		    vals[i].table_id - SLUICE_MAX_SERVICES < SLUICE_MAX_SUBSETS) {
			const struct sluice_subset *s =
				&subs[vals[i].table_id - SLUICE_MAX_SERVICES];

			if (!maps_subset_is_free(s) && s->count == 1 && subset_has(s, id)) {
				err_set("backend %u is the only member of the subset of shard %s: delete the shard first (sluice shard del %s %s)",
					id, p, k, p);
				err = -EBUSY;
				break;
			}
		}
	}
	free(keys);
	free(vals);
	return err;
}

/* The subset without member id. */
static void subset_remove(struct sluice_subset *s, __u32 id)
{
	__u32 i, w = 0;

	for (i = 0; i < s->count && i < SLUICE_SUBSET_MAX_MEMBERS; i++)
		if (s->backend_ids[i] != id)
			s->backend_ids[w++] = s->backend_ids[i];
	for (i = w; i < SLUICE_SUBSET_MAX_MEMBERS; i++)
		s->backend_ids[i] = 0;
	s->count = w;
}

int backend_del(const struct sluice_maps *m, const struct sluice_svc_key *key,
		const struct be_ref *ref, __u32 *id, struct sluice_backend *rec)
{
	struct sluice_backend *all = NULL, old, unused;
	struct sluice_subset *subs = NULL, s;
	struct sluice_leader old_leader;
	struct sluice_svc svc;
	__u32 found, slot, *cand = NULL;
	size_t ncand;
	int err, was_leader = 0;

	err = begin(m, key, &svc, &all, &cand, &ncand);
	if (!err)
		err = backend_find_among(all, cand, ncand, key, &svc, ref, &found);
	if (err)
		goto out;
	subs = maps_subsets_get(m, &err);
	if (!err)
		err = check_del(m, key, svc.id, found, subs);
	if (err)
		goto out;

	/* The leader goes with its backend: write flows are refused, never misrouted. */
	err = leader_forget_backend(m, svc.id, found, &was_leader, &old_leader);
	if (err)
		goto out;
	old = all[found];
	memset(&unused, 0, sizeof(unused));
	all[found] = unused;
	/* Tables without it first: the service's, then every subset it leaves. */
	err = publish_service(m, all, svc.id, 0);
	for (slot = 0; !err && slot < SLUICE_MAX_SUBSETS; slot++) {
		__u32 skey = slot;

		if (maps_subset_is_free(&subs[slot]) || subs[slot].svc_id != svc.id ||
		    !subset_has(&subs[slot], found))
			continue;
		s = subs[slot];
		subset_remove(&s, found);
		err = publish_subset(m, all, slot, &s);
		if (!err && bpf_map_update_elem(m->subsets, &skey, &s, BPF_ANY)) {
			err = -errno;
			err_set("cannot update subset %u: %s", slot, strerror(-err));
			maps_cache_drop();
		} else if (!err) {
			maps_cache_subset_set(m, skey, &s);
		}
	}
	if (err) {
		/* Put back what was published (subset records unchanged are fine). */
		all[found] = old;
		if (was_leader)
			bpf_map_update_elem(m->leaders, &svc.id, &old_leader, BPF_ANY);
		publish_service(m, all, svc.id, 0);
		publish_subsets_of(m, all, svc.id, found);
		goto out;
	}
	/* No table refers to it any more: free the slot, then its counters. */
	err = write_record(m, found, &unused);
	if (!err)
		err = zero_counters(m, found);
	if (err)
		goto out;
	if (id)
		*id = found;
	if (rec)
		*rec = old;
out:
	free(cand);
	maps_cache_put(subs);
	maps_cache_put(all);
	return err;
}

static int cmp_info(const void *a, const void *b)
{
	const struct backend_info *x = a, *y = b;

	if (x->be.svc_id != y->be.svc_id)
		return x->be.svc_id < y->be.svc_id ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

int backend_list(const struct sluice_maps *m, const struct sluice_svc_key *key,
		 struct backend_info **list, size_t *count)
{
	struct maps_svc_entry *svcs = NULL;
	struct backend_info *items = NULL;
	struct sluice_backend *all = NULL;
	size_t nsvc = 0, n = 0, s, cap = 0;
	__u32 i, size = 0, *table = NULL;
	int err;

	*list = NULL;
	*count = 0;
	if (key) {
		svcs = calloc(1, sizeof(*svcs));
		if (!svcs) {
			err_set("out of memory");
			return -ENOMEM;
		}
		svcs[0].key = *key;
		err = svc_get(m, key, &svcs[0].svc);
		nsvc = 1;
	} else {
		err = svc_list(m, &svcs, &nsvc);
	}
	if (err)
		goto out;
	all = maps_backends_get(m, &err);
	if (err)
		goto out;
	/* Room for the backends in use (of the one service), not one item per slot (10 MiB). */
	for (i = 0; i < SLUICE_MAX_BACKENDS; i++)
		cap += key ? backend_is_of(&all[i], svcs[0].svc.id)
			   : all[i].state != SLUICE_BE_UNUSED;
	items = calloc(cap ? cap : 1, sizeof(*items));
	if (!items) {
		err_set("out of memory");
		err = -ENOMEM;
		goto out;
	}
	for (s = 0; s < nsvc; s++) {
		const struct sluice_svc *sv = &svcs[s].svc;

		free(table);
		table = NULL;
		err = maps_read_table(m, sv->id, &table, &size);
		if (err == -ENOENT) {
			err = 0;
			size = 0;
		} else if (err) {
			goto out;
		}
		for (i = 0; i < SLUICE_MAX_BACKENDS && n < cap; i++) {
			struct backend_info *it;
			__u32 j;

			if (!backend_is_of(&all[i], sv->id))
				continue;
			it = &items[n++];
			it->svc_key = svcs[s].key;
			it->svc_mode = sv->mode;
			it->id = i;
			it->be = all[i];
			it->port = backend_port(&all[i], &svcs[s].key);
			err = maps_read_be_counters(m, i, &it->counters);
			if (!err)
				err = maps_read_fo_stats(m, 1, i, &it->fo);
			if (err)
				goto out;
			for (j = 1; table && j <= size; j++)
				it->slots += table[j] == i;
		}
	}
	if (n)
		qsort(items, n, sizeof(*items), cmp_info);
	*list = items;
	*count = n;
	items = NULL;
out:
	free(table);
	free(items);
	maps_cache_put(all);
	free(svcs);
	return err;
}

int backend_count(const struct sluice_maps *m, __u32 svc_id, __u32 *count)
{
	struct sluice_backend *all;
	__u32 i, n = 0;
	int err;

	all = maps_backends_get(m, &err);
	if (err)
		return err;
	for (i = 0; i < SLUICE_MAX_BACKENDS; i++)
		n += backend_is_of(&all[i], svc_id);
	maps_cache_put(all);
	*count = n;
	return 0;
}

int backend_purge_service(const struct sluice_maps *m, __u32 svc_id)
{
	struct sluice_backend *all, unused;
	__u32 i, *cand;
	size_t j, ncand;
	int err;

	/* Shards and subsets first: they point into the table and the backends. */
	err = shard_purge_service(m, svc_id);
	if (!err)
		err = publish_table_delete(m, svc_id);
	if (err)
		return err;
	all = maps_backends_get(m, &err);
	if (err)
		return err;
	if (maps_cache_backends_of(all, svc_id, &cand, &ncand)) {
		cand = NULL; /* no index: every slot */
		ncand = SLUICE_MAX_BACKENDS;
	}
	memset(&unused, 0, sizeof(unused));
	for (j = 0; !err && j < ncand; j++) {
		i = cand_id(cand, j);
		if (!backend_is_of(&all[i], svc_id))
			continue;
		err = write_record(m, i, &unused);
		if (!err)
			err = zero_counters(m, i);
	}
	free(cand);
	maps_cache_put(all);
	/* No table is published for a purged service: its return entries go here. */
	if (!err)
		err = publish_be_rev(m, NULL);
	return err;
}
