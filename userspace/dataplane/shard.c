// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Shards and subsets (see shard.h). Order of writes on add: the subset's
 * table is published and its sl_subsets slot written before the locator
 * entry that sends clients to it; on delete, the locator entry goes first,
 * then the table and the slot. The data plane therefore never follows a
 * shard to a table that is not there.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "args.h"
#include "err.h"
#include "keys.h"
#include "publish.h"
#include "shard.h"
#include "svcinfo.h"

/* One member "ADDR", "A.B.C.D:PORT" or "[ADDR]:PORT". */
static int member_parse(char *text, struct be_ref *ref)
{
	char *addr = text, *port = NULL, *colon;

	memset(ref, 0, sizeof(*ref));
	if (text[0] == '[') {
		char *end = strchr(text, ']');

		if (!end || (end[1] && end[1] != ':')) {
			err_set("invalid subset member '%s': write an IPv6 member with a port as [ADDR]:PORT",
				text);
			return -EINVAL;
		}
		*end = '\0';
		addr = text + 1;
		if (end[1] == ':')
			port = end + 2;
	} else {
		colon = strchr(text, ':');
		/* One colon: IPv4 with a port; more: an IPv6 address alone. */
		if (colon && !strchr(colon + 1, ':')) {
			*colon = '\0';
			port = colon + 1;
		}
	}
	if (addr_parse(addr, &ref->addr))
		return -EINVAL;
	if (port) {
		if (args_parse_port(port, &ref->port))
			return -EINVAL;
		ref->has_port = 1;
	}
	return 0;
}

int shard_members_parse(const char *text, struct be_ref *refs, size_t max, size_t *n)
{
	char *copy, *item, *save = NULL;
	size_t count = 0;
	int err = 0;

	if (!text || !*text) {
		err_set("empty subset: give BACKEND_ADDR[:PORT],... (at least one member)");
		return -EINVAL;
	}
	copy = strdup(text);
	if (!copy) {
		err_set("out of memory");
		return -ENOMEM;
	}
	if (text[strlen(text) - 1] == ',' || text[0] == ',' || strstr(text, ",,")) {
		err_set("invalid subset '%s': an empty member between commas", text);
		err = -EINVAL;
		goto out;
	}
	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		if (count == max) {
			err_set("a subset has at most %zu members", max);
			err = -E2BIG;
			goto out;
		}
		err = member_parse(item, &refs[count]);
		if (err)
			goto out;
		count++;
	}
	*n = count;
out:
	free(copy);
	return err;
}

static int same_key(const struct sluice_shard_key *a, const struct sluice_shard_key *b)
{
	return a->prefixlen == b->prefixlen && a->svc_id == b->svc_id &&
	       !memcmp(&a->addr, &b->addr, sizeof(a->addr));
}

/* Look for key among the shards (exact match): 0 and *value, or -ENOENT. */
static int find_exact(const struct sluice_maps *m, const struct sluice_shard_key *key,
		      struct sluice_shard *value)
{
	struct sluice_shard_key *keys = NULL;
	struct sluice_shard *vals = NULL;
	size_t n = 0, i;
	int err;

	err = maps_read_shards(m, &keys, &vals, &n);
	if (err)
		return err;
	err = -ENOENT;
	for (i = 0; i < n; i++) {
		if (same_key(&keys[i], key)) {
			*value = vals[i];
			err = 0;
			break;
		}
	}
	free(keys);
	free(vals);
	return err;
}

static int free_subset(const struct sluice_maps *m, __u32 slot)
{
	struct sluice_subset s;
	int err;

	memset(&s, 0, sizeof(s));
	s.svc_id = SLUICE_NO_BACKEND;
	err = publish_table_delete(m, SLUICE_MAX_SERVICES + slot);
	if (err)
		return err;
	if (!bpf_map_update_elem(m->subsets, &slot, &s, BPF_ANY)) {
		maps_cache_subset_set(m, slot, &s);
		return 0;
	}
	err = -errno;
	maps_cache_drop();
	err_set("cannot free subset %u: %s", slot, strerror(-err));
	return err;
}

/* Fill info's members from a snapshot. */
static void describe(struct shard_info *info, const struct sluice_backend *all,
		     const struct sluice_subset *subs)
{
	__u32 i;

	info->count = 0;
	info->subset = SLUICE_NO_BACKEND;
	if (info->value.backend_id != SLUICE_NO_BACKEND) {
		info->ids[0] = info->value.backend_id;
		info->count = 1;
	} else if (info->value.table_id >= SLUICE_MAX_SERVICES &&
		   info->value.table_id < SLUICE_MAX_TABLES) {
		const struct sluice_subset *s = &subs[info->value.table_id - SLUICE_MAX_SERVICES];

		info->subset = info->value.table_id - SLUICE_MAX_SERVICES;
		for (i = 0; i < s->count && i < SLUICE_SUBSET_MAX_MEMBERS; i++)
			info->ids[info->count++] = s->backend_ids[i];
	}
	for (i = 0; i < info->count; i++) {
		if (info->ids[i] < SLUICE_MAX_BACKENDS)
			info->members[i] = all[info->ids[i]];
		else
			memset(&info->members[i], 0, sizeof(info->members[i]));
		info->ports[i] = backend_port(&info->members[i], &info->svc_key);
	}
}

static int read_all(const struct sluice_maps *m, struct sluice_backend **all,
		    struct sluice_subset **subs)
{
	int err;

	*all = calloc(SLUICE_MAX_BACKENDS, sizeof(**all));
	*subs = calloc(SLUICE_MAX_SUBSETS, sizeof(**subs));
	if (!*all || !*subs) {
		err_set("out of memory");
		return -ENOMEM;
	}
	err = maps_read_backends(m, *all);
	if (!err)
		err = maps_read_subsets(m, *subs);
	return err;
}

int shard_add(const struct sluice_maps *m, const struct sluice_svc_key *svc_key, const char *prefix,
	      const struct shard_target *target, struct shard_info *added)
{
	struct sluice_backend *all = NULL;
	struct sluice_subset *subs = NULL, sub;
	struct sluice_shard_key key;
	struct sluice_shard value, old;
	char k[SVC_KEY_STRLEN], p[SHARD_PREFIX_STRLEN];
	struct sluice_svc svc;
	__u32 ids[SLUICE_SUBSET_MAX_MEMBERS], slot = SLUICE_NO_BACKEND, i, j;
	size_t n;
	int err;

	n = target->subset ? target->count : 1;
	if (!n || n > SLUICE_SUBSET_MAX_MEMBERS) {
		err_set("a subset has 1..%u members", SLUICE_SUBSET_MAX_MEMBERS);
		return -EINVAL;
	}
	err = svc_get(m, svc_key, &svc);
	if (err)
		return err;
	svc_key_format(svc_key, k, sizeof(k));
	if (svc.mode != SLUICE_MODE_NAT && svc.mode != SLUICE_MODE_IPIP) {
		err_set("service %s is in mode %s and has no backends to shard over: shards need mode nat or ipip",
			k, args_mode_name(svc.mode));
		return -EOPNOTSUPP;
	}
	err = shard_prefix_parse(prefix, svc.id, &key);
	if (err)
		return err;
	shard_prefix_format(&key, p, sizeof(p));
	err = find_exact(m, &key, &old);
	if (!err) {
		char ka[SVC_KEY_STRLEN];

		svc_key_format_args(svc_key, ka, sizeof(ka));
		err_set("service %s already has a shard for %s: delete it first (sluice shard del %s %s)",
			k, p, ka, p);
		return -EEXIST;
	}
	if (err != -ENOENT)
		return err;
	err = read_all(m, &all, &subs);
	if (err)
		goto out;
	for (i = 0; i < n; i++) {
		err = backend_find(all, svc_key, &svc, &target->refs[i], &ids[i]);
		if (err)
			goto out;
		for (j = 0; j < i; j++) {
			if (ids[j] == ids[i]) {
				err_set("backend %u is named twice in the subset", ids[i]);
				err = -EINVAL;
				goto out;
			}
		}
	}
	memset(&value, 0, sizeof(value));
	if (!target->subset) {
		value.backend_id = ids[0];
		value.table_id = svc.id;
	} else {
		for (i = 0; i < SLUICE_MAX_SUBSETS; i++) {
			if (maps_subset_is_free(&subs[i])) {
				slot = i;
				break;
			}
		}
		if (slot == SLUICE_NO_BACKEND) {
			err_set("all %u subsets are in use: delete a subset shard first",
				SLUICE_MAX_SUBSETS);
			err = -ENOSPC;
			goto out;
		}
		memset(&sub, 0, sizeof(sub));
		sub.svc_id = svc.id;
		sub.count = (__u32)n;
		memcpy(sub.backend_ids, ids, n * sizeof(ids[0]));
		err = publish_subset(m, all, slot, &sub);
		if (!err && bpf_map_update_elem(m->subsets, &slot, &sub, BPF_ANY)) {
			err = -errno;
			err_set("cannot write subset %u: %s", slot, strerror(-err));
			maps_cache_drop();
		} else if (!err) {
			maps_cache_subset_set(m, slot, &sub);
		}
		if (err) {
			publish_table_delete(m, SLUICE_MAX_SERVICES + slot);
			goto out;
		}
		subs[slot] = sub;
		value.backend_id = SLUICE_NO_BACKEND;
		value.table_id = SLUICE_MAX_SERVICES + slot;
	}
	if (bpf_map_update_elem(m->shards, &key, &value, BPF_NOEXIST)) {
		err = -errno;
		if (err == -E2BIG || err == -ENOSPC || err == -ENOMEM)
			err_set("the shard table is full (%u entries): delete a shard first",
				SHARD_MAX_ENTRIES);
		else
			err_set("cannot add shard %s: %s", p, strerror(-err));
		if (slot != SLUICE_NO_BACKEND)
			free_subset(m, slot);
		goto out;
	}
	if (added) {
		memset(added, 0, sizeof(*added));
		added->svc_key = *svc_key;
		added->key = key;
		added->value = value;
		describe(added, all, subs);
	}
out:
	free(all);
	free(subs);
	return err;
}

int shard_del(const struct sluice_maps *m, const struct sluice_svc_key *svc_key, const char *prefix,
	      struct shard_info *deleted)
{
	struct sluice_backend *all = NULL;
	struct sluice_subset *subs = NULL;
	struct sluice_shard_key key;
	struct sluice_shard value;
	char k[SVC_KEY_STRLEN], p[SHARD_PREFIX_STRLEN];
	struct sluice_svc svc;
	struct shard_info info;
	int err;

	err = svc_get(m, svc_key, &svc);
	if (err)
		return err;
	err = shard_prefix_parse(prefix, svc.id, &key);
	if (err)
		return err;
	err = find_exact(m, &key, &value);
	if (err == -ENOENT) {
		svc_key_format(svc_key, k, sizeof(k));
		shard_prefix_format(&key, p, sizeof(p));
		err_set("service %s has no shard for %s (see 'sluice shard show')", k, p);
	}
	if (err)
		return err;
	err = read_all(m, &all, &subs);
	if (err)
		goto out;
	memset(&info, 0, sizeof(info));
	info.svc_key = *svc_key;
	info.key = key;
	info.value = value;
	describe(&info, all, subs);
	if (bpf_map_delete_elem(m->shards, &key)) {
		err = -errno;
		err_set("cannot delete the shard: %s", strerror(-err));
		goto out;
	}
	if (info.subset != SLUICE_NO_BACKEND)
		err = free_subset(m, info.subset);
	if (!err && deleted)
		*deleted = info;
out:
	free(all);
	free(subs);
	return err;
}

static int cmp_info(const void *a, const void *b)
{
	const struct shard_info *x = a, *y = b;
	int c;

	if (x->key.svc_id != y->key.svc_id)
		return x->key.svc_id < y->key.svc_id ? -1 : 1;
	c = memcmp(&x->key.addr, &y->key.addr, sizeof(x->key.addr));
	if (c)
		return c;
	return (x->key.prefixlen > y->key.prefixlen) - (x->key.prefixlen < y->key.prefixlen);
}

int shard_list(const struct sluice_maps *m, const struct sluice_svc_key *svc_key,
	       struct shard_info **list, size_t *count)
{
	struct maps_svc_entry *svcs = NULL;
	struct sluice_shard_key *keys = NULL;
	struct sluice_shard *vals = NULL;
	struct sluice_backend *all = NULL;
	struct sluice_subset *subs = NULL;
	struct shard_info *items = NULL;
	struct sluice_svc one;
	size_t nsvc = 0, n = 0, w = 0, i, s;
	int err;

	*list = NULL;
	*count = 0;
	if (svc_key) {
		err = svc_get(m, svc_key, &one);
		if (err)
			return err;
	}
	err = svc_list(m, &svcs, &nsvc);
	if (!err)
		err = maps_read_shards(m, &keys, &vals, &n);
	if (!err)
		err = read_all(m, &all, &subs);
	if (err)
		goto out;
	items = calloc(n ? n : 1, sizeof(*items));
	if (!items) {
		err_set("out of memory");
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (svc_key && keys[i].svc_id != one.id)
			continue;
		for (s = 0; s < nsvc && svcs[s].svc.id != keys[i].svc_id; s++)
			;
		if (s == nsvc)
			continue; /* a leftover of a deleted service */
		items[w].svc_key = svcs[s].key;
		items[w].key = keys[i];
		items[w].value = vals[i];
		describe(&items[w], all, subs);
		w++;
	}
	if (w)
		qsort(items, w, sizeof(*items), cmp_info);
	*list = items;
	*count = w;
	items = NULL;
out:
	free(items);
	free(svcs);
	free(keys);
	free(vals);
	free(all);
	free(subs);
	return err;
}

int shard_purge_service(const struct sluice_maps *m, __u32 svc_id)
{
	struct sluice_shard_key *keys = NULL;
	struct sluice_shard *vals = NULL;
	struct sluice_subset *subs = NULL;
	size_t n = 0, i;
	__u32 slot;
	int err;

	err = maps_read_shards(m, &keys, &vals, &n);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		if (keys[i].svc_id != svc_id)
			continue;
		if (bpf_map_delete_elem(m->shards, &keys[i]) && errno != ENOENT) {
			err = -errno;
			err_set("cannot delete a shard of service id %u: %s", svc_id,
				strerror(-err));
			goto out;
		}
	}
	subs = calloc(SLUICE_MAX_SUBSETS, sizeof(*subs));
	if (!subs) {
		err_set("out of memory");
		err = -ENOMEM;
		goto out;
	}
	err = maps_read_subsets(m, subs);
	for (slot = 0; !err && slot < SLUICE_MAX_SUBSETS; slot++)
		if (!maps_subset_is_free(&subs[slot]) && subs[slot].svc_id == svc_id)
			err = free_subset(m, slot);
out:
	free(keys);
	free(vals);
	free(subs);
	return err;
}
