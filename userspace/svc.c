// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Service writes (see svc.h). Order of every write: validate, compute the new
 * value, then (add) clear the id's counters and buckets before the service
 * becomes visible to the data plane, so a reused id never inherits the
 * previous service's numbers.
 *
 * Ids are allocated by scanning the services for the lowest free one; two
 * writers racing for the same id are caught by BPF_NOEXIST on the key but
 * not on the id. That race goes away when the daemon becomes the only
 * writer; until then, do not run two `sluice service add` at once.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "args.h"
#include "backend.h"
#include "err.h"
#include "maglev.h"
#include "rate.h"
#include "svc.h"

static int is_steering(__u8 mode)
{
	return mode == SLUICE_MODE_NAT || mode == SLUICE_MODE_IPIP;
}

int svc_key_make(const union sluice_addr *addr, __u16 port, __u8 proto, struct sluice_svc_key *key)
{
	if (!port) {
		err_set("port 0 is not a service port: give 1..65535");
		return -EINVAL;
	}
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) {
		err_set("protocol %u is not supported: give tcp or udp", proto);
		return -EINVAL;
	}
	memset(key, 0, sizeof(*key));
	key->addr = *addr;
	key->port = htons(port);
	key->proto = proto;
	return 0;
}

void svc_key_format(const struct sluice_svc_key *key, char *buf, size_t len)
{
	char a[ADDR_STRLEN];

	if (addr_format(&key->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s port %u %s", a, ntohs(key->port), args_proto_name(key->proto));
}

void svc_key_format_args(const struct sluice_svc_key *key, char *buf, size_t len)
{
	char a[ADDR_STRLEN];

	if (addr_format(&key->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s %u %s", a, ntohs(key->port), args_proto_name(key->proto));
}

/* One rate of conf on top of old: unchanged unless given. */
static int rate_update(int has_rate, __u32 pps, int has_burst, __u32 burst, const char *what,
		       const struct sluice_rate *old, struct sluice_rate *out)
{
	int err;

	if (has_burst && !has_rate) {
		err_set("%sburst needs %srate in the same command: give %srate PPS %sburst N", what,
			what, what, what);
		return -EINVAL;
	}
	if (has_burst && !burst) {
		err_set("%sburst 0 would admit nothing: give at least 1 (or %srate 0 for unlimited)",
			what, what);
		return -EINVAL;
	}
	if (!has_rate) {
		*out = *old;
		return 0;
	}
	err = rate_make(pps, has_burst ? burst : 0, out);
	if (err == -EINVAL)
		err_set("%sburst needs a %srate: %srate 0 is unlimited and takes no burst", what,
			what, what);
	return err;
}

int svc_value_make(const struct svc_conf *conf, const struct sluice_svc *base, __u32 id,
		   struct sluice_svc *value)
{
	struct sluice_svc v;
	int err;

	memset(&v, 0, sizeof(v));
	if (base) {
		v.id = base->id;
		v.mode = base->mode;
		v.rate = base->rate;
		v.client_rate = base->client_rate;
	} else {
		if (id >= SLUICE_MAX_SERVICES) {
			err_set("service id %u out of range (0..%u)", id, SLUICE_MAX_SERVICES - 1);
			return -EINVAL;
		}
		v.id = id;
		v.mode = SLUICE_MODE_LOCAL;
	}
	if (base)
		v.hash = base->hash;
	if (conf->has_mode) {
		if (conf->mode != SLUICE_MODE_LOCAL && !is_steering(conf->mode)) {
			err_set("mode %u is not supported: give local, nat or ipip", conf->mode);
			return -EINVAL;
		}
		v.mode = conf->mode;
	}
	if (conf->has_hash) {
		if (conf->hash != SLUICE_HASH_5TUPLE && conf->hash != SLUICE_HASH_CLIENT) {
			err_set("hash %u is not supported: give 5tuple or client", conf->hash);
			return -EINVAL;
		}
		v.hash = conf->hash;
	}
	if (conf->has_maglev_size) {
		if (!is_steering(v.mode)) {
			err_set("maglev-size applies to services in mode nat or ipip (this one is %s)",
				args_mode_name(v.mode));
			return -EINVAL;
		}
		if (conf->maglev_size > SLUICE_MAGLEV_M_MAX ||
		    !maglev_is_prime(conf->maglev_size)) {
			err_set("maglev-size %u is not a prime of at most %u (e.g. 65537, 131071, 655373)",
				conf->maglev_size, SLUICE_MAGLEV_M_MAX);
			return -EINVAL;
		}
	}
	err = rate_update(conf->has_rate, conf->rate_pps, conf->has_burst, conf->burst, "", &v.rate,
			  &v.rate);
	if (err)
		return err;
	err = rate_update(conf->has_client_rate, conf->client_rate_pps, conf->has_client_burst,
			  conf->client_burst, "client-", &v.client_rate, &v.client_rate);
	if (err)
		return err;
	*value = v;
	return 0;
}

/* Write zeroes into every CPU's copy of the id's counter slots. */
static int zero_counters(const struct sluice_maps *m, __u32 id)
{
	struct sluice_counter *zero;
	int ncpus, err = 0;
	__u32 r;

	zero = maps_percpu_alloc(sizeof(*zero), &ncpus);
	if (!zero)
		return ncpus;
	for (r = 0; r < SLUICE_REASON_SLOTS; r++) {
		__u32 key = sluice_svc_stat_index(id, r);

		if (bpf_map_update_elem(m->svc_stats, &key, zero, BPF_ANY)) {
			err = -errno;
			err_set("cannot clear counters of service id %u: %s", id, strerror(-err));
			break;
		}
	}
	free(zero);
	return err;
}

static int reset_svc_bucket(const struct sluice_maps *m, __u32 id)
{
	struct sluice_bucket b = { 0 };
	int err;

	if (!bpf_map_update_elem(m->svc_rl, &id, &b, BPF_ANY))
		return 0;
	err = -errno;
	err_set("cannot reset the rate bucket of service id %u: %s", id, strerror(-err));
	return err;
}

/* Delete every per-client bucket of service id. */
static int reset_client_buckets(const struct sluice_maps *m, __u32 id)
{
	struct sluice_client_key key, next, *found = NULL;
	size_t n = 0, i;
	void *prev = NULL;
	int err = 0;

	found = calloc(SLUICE_CLIENT_RL_ENTRIES, sizeof(*found));
	if (!found) {
		err_set("out of memory");
		return -ENOMEM;
	}
	/* Collect first: deleting while walking would restart the walk. */
	while (n < SLUICE_CLIENT_RL_ENTRIES && !bpf_map_get_next_key(m->client_rl, prev, &next)) {
		key = next;
		prev = &key;
		if (key.svc_id == id)
			found[n++] = key;
	}
	for (i = 0; i < n; i++) {
		if (bpf_map_delete_elem(m->client_rl, &found[i]) && errno != ENOENT) {
			err = -errno;
			err_set("cannot reset the client buckets of service id %u: %s", id,
				strerror(-err));
			break;
		}
	}
	free(found);
	return err;
}

/* Fresh per-id state: counters and both kinds of bucket. */
static int clear_id_state(const struct sluice_maps *m, __u32 id)
{
	int err;

	err = zero_counters(m, id);
	if (!err)
		err = reset_svc_bucket(m, id);
	if (!err)
		err = reset_client_buckets(m, id);
	if (!err)
		err = res_purge_service(m, id);
	return err;
}

static int lowest_free_id(const struct sluice_maps *m, __u32 *id)
{
	unsigned char used[SLUICE_MAX_SERVICES] = { 0 };
	struct maps_svc_entry *list = NULL;
	size_t n = 0, i;
	int err;

	err = maps_svc_list(m, &list, &n);
	if (err)
		return err;
	for (i = 0; i < n; i++)
		if (list[i].svc.id < SLUICE_MAX_SERVICES)
			used[list[i].svc.id] = 1;
	free(list);
	for (i = 0; i < SLUICE_MAX_SERVICES; i++) {
		if (!used[i]) {
			*id = (__u32)i;
			return 0;
		}
	}
	err_set("all %u service ids are in use: delete a service first", SLUICE_MAX_SERVICES);
	return -ENOSPC;
}

static int exists_error(const struct sluice_svc_key *key, __u32 id)
{
	char k[SVC_KEY_STRLEN];

	svc_key_format(key, k, sizeof(k));
	err_set("service %s already exists (id %u): change it with 'service set' or delete it first",
		k, id);
	return -EEXIST;
}

static int missing_error(const struct sluice_svc_key *key)
{
	char k[SVC_KEY_STRLEN];

	svc_key_format(key, k, sizeof(k));
	err_set("no service %s: see 'sluice service show' for the services there are", k);
	return -ENOENT;
}

int svc_get(const struct sluice_maps *m, const struct sluice_svc_key *key, struct sluice_svc *value)
{
	int err = maps_svc_lookup(m, key, value);

	if (err == -ENOENT)
		return missing_error(key);
	return err;
}

int svc_list(const struct sluice_maps *m, struct maps_svc_entry **entries, size_t *count)
{
	return maps_svc_list(m, entries, count);
}

int svc_add(const struct sluice_maps *m, const struct sluice_svc_key *key,
	    const struct svc_conf *conf, struct sluice_svc *added)
{
	struct sluice_svc value, old;
	struct sluice_svc_res res;
	__u32 id = 0;
	int err;

	err = svc_value_make(conf, NULL, 0, &value);
	if (err)
		return err;
	err = res_value_make(&conf->res, NULL, &res);
	if (err)
		return err;
	if (conf->res.has & RES_HAS_FALLBACK && !conf->res.fallback_none) {
		err_set("a new service has no backends to fall back to: add the backend, then 'sluice service set ... fallback BACKEND_ADDR'");
		return -EINVAL;
	}
	err = maps_svc_lookup(m, key, &old);
	if (!err)
		return exists_error(key, old.id);
	if (err != -ENOENT)
		return err;
	err = lowest_free_id(m, &id);
	if (err)
		return err;
	value.id = id;
	err = clear_id_state(m, id);
	if (!err)
		err = backend_purge_service(m, id);
	if (err)
		return err;
	/* Settings and table exist before a packet can match the service. */
	if (!res_conf_empty(&conf->res)) {
		err = res_apply(m, key, &value, &conf->res, NULL);
		if (err)
			return err;
	}
	if (is_steering(value.mode)) {
		err = backend_publish_service(m, NULL, id,
					      conf->has_maglev_size ? conf->maglev_size
								    : SLUICE_MAGLEV_M_DEFAULT);
		if (err) {
			res_purge_service(m, id);
			return err;
		}
	}
	if (bpf_map_update_elem(m->services, key, &value, BPF_NOEXIST)) {
		err = -errno;
		backend_table_delete(m, id);
		res_purge_service(m, id);
		if (err == -EEXIST)
			return exists_error(key, id);
		if (err == -E2BIG || err == -ENOMEM)
			err_set("the service table is full (%u): delete a service first",
				SLUICE_MAX_SERVICES);
		else
			err_set("cannot add the service: %s", strerror(-err));
		return err;
	}
	if (added)
		*added = value;
	return 0;
}

int svc_set(const struct sluice_maps *m, const struct sluice_svc_key *key,
	    const struct svc_conf *conf, struct sluice_svc *updated)
{
	struct sluice_svc old, value;
	struct sluice_svc_res old_res;
	int err, res_done = 0;

	if (!conf->has_mode && !conf->has_rate && !conf->has_burst && !conf->has_client_rate &&
	    !conf->has_client_burst && !conf->has_hash && !conf->has_maglev_size &&
	    res_conf_empty(&conf->res)) {
		err_set("nothing to change: give at least one of mode, hash, maglev-size, rate, burst, client-rate, client-burst or a bulkhead or breaker setting");
		return -EINVAL;
	}
	err = svc_get(m, key, &old);
	if (err)
		return err;
	err = svc_value_make(conf, &old, 0, &value);
	if (err)
		return err;
	if (value.mode != old.mode) {
		__u32 n = 0;

		err = backend_count(m, old.id, &n);
		if (err)
			return err;
		if (n) {
			char k[SVC_KEY_STRLEN];

			svc_key_format(key, k, sizeof(k));
			err_set("service %s has %u backend%s: delete them before changing its mode (or add a new service)",
				k, n, n == 1 ? "" : "s");
			return -EBUSY;
		}
	}
	/*
	 * Resilience settings first: res_apply() checks all of them (fallback
	 * included) before its first write, so a refused setting changes
	 * nothing. What follows can only fail on a map write; then the old
	 * settings are written back (critical prefixes a failed command added
	 * stay: they only widen the reserve's users, and the next set fixes
	 * them).
	 */
	if (!res_conf_empty(&conf->res)) {
		err = res_get(m, old.id, &old_res);
		if (!err)
			err = res_apply(m, key, &old, &conf->res, NULL);
		if (err)
			return err;
		res_done = 1;
	}
	/* The new table first: the service never points at a table it lacks. */
	if (is_steering(value.mode) && (!is_steering(old.mode) || conf->has_maglev_size)) {
		err = backend_publish_service(m, NULL, value.id,
					      conf->has_maglev_size ? conf->maglev_size
								    : SLUICE_MAGLEV_M_DEFAULT);
		if (err)
			goto undo_res;
	}
	/*
	 * A new rate starts from a full bucket rather than the old rate's debt.
	 * Reset before the update: should the update fail, a fresh bucket is
	 * all that changed.
	 */
	if (memcmp(&old.rate, &value.rate, sizeof(old.rate))) {
		err = reset_svc_bucket(m, value.id);
		if (err)
			goto undo_res;
	}
	if (memcmp(&old.client_rate, &value.client_rate, sizeof(old.client_rate))) {
		err = reset_client_buckets(m, value.id);
		if (err)
			goto undo_res;
	}
	if (bpf_map_update_elem(m->services, key, &value, BPF_EXIST)) {
		err = -errno;
		if (err == -ENOENT)
			missing_error(key);
		else
			err_set("cannot update the service: %s", strerror(-err));
		goto undo_res;
	}
	/* Local mode steers nothing: its table goes once the service says so. */
	if (!is_steering(value.mode) && is_steering(old.mode)) {
		err = backend_table_delete(m, value.id);
		if (err)
			return err;
	}
	if (updated)
		*updated = value;
	return 0;
undo_res:
	if (res_done)
		bpf_map_update_elem(m->svc_res, &old.id, &old_res, BPF_ANY);
	return err;
}

int svc_del(const struct sluice_maps *m, const struct sluice_svc_key *key, struct sluice_svc *old)
{
	struct sluice_svc value;
	int err;

	err = svc_get(m, key, &value);
	if (err)
		return err;
	/*
	 * Steering state first (shards, subsets, tables, backends): its packets
	 * meet no backend from here on and are dropped (no_backend) until the
	 * service itself goes; should this fail, the service is still there to
	 * delete again.
	 */
	err = backend_purge_service(m, value.id);
	if (err)
		return err;
	if (bpf_map_delete_elem(m->services, key)) {
		err = -errno;
		if (err == -ENOENT)
			return missing_error(key);
		err_set("cannot delete the service: %s", strerror(-err));
		return err;
	}
	/* The id is free now; clear it so nothing stale shows or carries over. */
	err = clear_id_state(m, value.id);
	if (err)
		return err;
	if (old)
		*old = value;
	return 0;
}

int svc_maglev_size(const struct sluice_maps *m, const struct sluice_svc *svc, __u32 *size)
{
	int err;

	*size = 0;
	if (!is_steering(svc->mode))
		return 0;
	err = backend_table_size(m, svc->id, size);
	if (err == -ENOENT) {
		*size = 0;
		return 0;
	}
	return err;
}
