// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Services as sl_services stores them (see svcinfo.h): the keys of each id
 * folded into the service and its write port, and the lookups every write
 * module starts from. Reads only; svc.c writes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "keys.h"
#include "svcinfo.h"

int svc_missing_error(const struct sluice_svc_key *key)
{
	char k[SVC_KEY_STRLEN];

	svc_key_format(key, k, sizeof(k));
	err_set("no service %s: see 'sluice service show' for the services there are", k);
	return -ENOENT;
}

static int same_key(const struct sluice_svc_key *a, const struct sluice_svc_key *b)
{
	return !memcmp(&a->addr, &b->addr, sizeof(a->addr)) && a->port == b->port &&
	       a->proto == b->proto;
}

/* Is x a better pick than y for the service's own key of their id? */
static int own_key_before(const struct maps_svc_entry *x, const struct maps_svc_entry *y)
{
	int fx = !!(x->svc.flags & SLUICE_SVC_F_LEADER),
	    fy = !!(y->svc.flags & SLUICE_SVC_F_LEADER);

	if (fx != fy)
		return fx < fy;
	return ntohs(x->key.port) < ntohs(y->key.port);
}

/*
 * Fold the keys of sl_services (sorted by id) into services: per id, the
 * key without SLUICE_SVC_F_LEADER is the service's and a second key with it
 * the write port (see svc.h); a lone key is the service's whatever its
 * flags. Ties, which svc.c never writes, go to the lower port.
 */
static int fold(const struct maps_svc_entry *raw, size_t n, struct svc_info **out, size_t *count)
{
	struct svc_info *list = NULL;
	size_t i = 0, j, k, used = 0;

	*out = NULL;
	*count = 0;
	if (!n)
		return 0;
	list = calloc(n, sizeof(*list));
	if (!list) {
		err_set("out of memory");
		return -ENOMEM;
	}
	while (i < n) {
		const struct maps_svc_entry *own = &raw[i], *wr = NULL;

		for (j = i + 1; j < n && raw[j].svc.id == raw[i].svc.id; j++)
			if (own_key_before(&raw[j], own))
				own = &raw[j];
		for (k = i; k < j; k++)
			if (&raw[k] != own && !same_key(&raw[k].key, &own->key) &&
			    (raw[k].svc.flags & SLUICE_SVC_F_LEADER) &&
			    (!wr || ntohs(raw[k].key.port) < ntohs(wr->key.port)))
				wr = &raw[k];
		list[used].key = own->key;
		list[used].svc = own->svc;
		/* A lone key with the flag is route leader; beside another, a write port. */
		if (wr && !(own->svc.flags & SLUICE_SVC_F_LEADER))
			list[used].write_port = ntohs(wr->key.port);
		used++;
		i = j;
	}
	*out = list;
	*count = used;
	return 0;
}

int svc_info_list(const struct sluice_maps *m, struct svc_info **list, size_t *count)
{
	struct maps_svc_entry *raw = NULL;
	size_t n = 0;
	int err;

	*list = NULL;
	*count = 0;
	err = maps_svc_list_all(m, &raw, &n);
	if (!err)
		err = fold(raw, n, list, count);
	free(raw);
	return err;
}

/* The service of id (-ENOENT, no message, when there is none). */
static int info_of_id(const struct sluice_maps *m, __u32 id, struct svc_info *info)
{
	struct svc_info *list = NULL;
	size_t n = 0, i;
	int err;

	err = svc_info_list(m, &list, &n);
	if (err)
		return err;
	err = -ENOENT;
	for (i = 0; i < n; i++) {
		if (list[i].svc.id == id) {
			*info = list[i];
			err = 0;
			break;
		}
	}
	free(list);
	return err;
}

int svc_write_port(const struct sluice_maps *m, __u32 svc_id, __u16 *port)
{
	struct svc_info info;
	int err = info_of_id(m, svc_id, &info);

	*port = 0;
	if (err == -ENOENT)
		return 0;
	if (!err)
		*port = info.write_port;
	return err;
}

/* key is the write port of the service info: say so. */
static int write_key_error(const struct sluice_svc_key *key, const struct svc_info *info)
{
	char k[SVC_KEY_STRLEN], o[SVC_KEY_STRLEN];

	svc_key_format(key, k, sizeof(k));
	svc_key_format(&info->key, o, sizeof(o));
	err_set("%s is the write port of service %s: name the service by its port %u", k, o,
		ntohs(info->key.port));
	return -ENOENT;
}

int svc_info_get(const struct sluice_maps *m, const struct sluice_svc_key *key,
		 struct svc_info *info)
{
	struct sluice_svc value;
	int err = maps_svc_lookup(m, key, &value);

	if (err == -ENOENT)
		return svc_missing_error(key);
	if (err)
		return err;
	err = info_of_id(m, value.id, info);
	if (err == -ENOENT)
		return svc_missing_error(key); /* deleted meanwhile */
	if (err)
		return err;
	if (!same_key(&info->key, key))
		return write_key_error(key, info);
	return 0;
}

int svc_get(const struct sluice_maps *m, const struct sluice_svc_key *key, struct sluice_svc *value)
{
	struct svc_info info;
	int err = maps_svc_lookup(m, key, value);

	if (err == -ENOENT)
		return svc_missing_error(key);
	/* Only a key with the flag can be a write port: others need no walk. */
	if (err || !(value->flags & SLUICE_SVC_F_LEADER))
		return err;
	err = svc_info_get(m, key, &info);
	if (!err)
		*value = info.svc;
	return err;
}

int svc_list(const struct sluice_maps *m, struct maps_svc_entry **entries, size_t *count)
{
	struct svc_info *list = NULL;
	size_t n = 0, i;
	int err;

	*entries = NULL;
	*count = 0;
	err = svc_info_list(m, &list, &n);
	if (err || !n)
		goto out;
	*entries = calloc(n, sizeof(**entries));
	if (!*entries) {
		err_set("out of memory");
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		(*entries)[i].key = list[i].key;
		(*entries)[i].svc = list[i].svc;
	}
	*count = n;
out:
	free(list);
	return err;
}

int svc_key_check_free(const struct sluice_maps *m, const struct sluice_svc_key *key,
		       const char *what)
{
	char k[SVC_KEY_STRLEN], o[SVC_KEY_STRLEN];
	struct sluice_svc value;
	struct svc_info info;
	int err = maps_svc_lookup(m, key, &value);

	if (err == -ENOENT) {
		err_clear();
		return 0;
	}
	if (err)
		return err;
	svc_key_format(key, k, sizeof(k));
	err = info_of_id(m, value.id, &info);
	if (err && err != -ENOENT)
		return err;
	if (!err && !same_key(&info.key, key)) {
		svc_key_format(&info.key, o, sizeof(o));
		err_set("%s: %s is already the write port of service %s", what, k, o);
	} else {
		err_set("%s: %s is already a service (id %u)", what, k, value.id);
	}
	return -EEXIST;
}
