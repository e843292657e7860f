// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Service writes (see svc.h). Order of every write: validate, compute the new
 * value, then (add) clear the id's counters and buckets before the service
 * becomes visible to the data plane, so a reused id never inherits the
 * previous service's numbers.
 *
 * Ids are allocated by scanning the services for the lowest free one; two
 * writers racing for the same id are caught by BPF_NOEXIST on the key but
 * not on the id. The daemon applies its commands one at a time; do not run
 * `sluice --local service add` beside it or beside another one.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "backend.h"
#include "err.h"
#include "keys.h"
#include "leader.h"
#include "maglev.h"
#include "pacing.h"
#include "ports.h"
#include "publish.h"
#include "rate.h"
#include "res.h"
#include "svc.h"
#include "svcinfo.h"

static int is_steering(__u8 mode)
{
	return mode == SLUICE_MODE_NAT || mode == SLUICE_MODE_IPIP;
}

int svc_parse_route(const char *text, int *route_leader)
{
	if (text && !strcmp(text, "maglev")) {
		*route_leader = 0;
		return 0;
	}
	if (text && !strcmp(text, "leader")) {
		*route_leader = 1;
		return 0;
	}
	err_set("unknown route '%s': expected maglev (flows spread over the backends) or leader (every flow to the leader)",
		text ? text : "");
	return -EINVAL;
}

const char *svc_route_name(int route_leader)
{
	return route_leader ? "leader" : "maglev";
}

int svc_write_check(const struct sluice_svc_key *key, __u8 mode, int route_leader, __u16 write_port)
{
	if (!write_port)
		return 0;
	if (!is_steering(mode)) {
		err_set("write-port applies to services in mode nat or ipip (this one is %s)",
			args_mode_name(mode));
		return -EINVAL;
	}
	if (route_leader) {
		err_set("route leader already sends every flow to the leader: give either write-port or route leader (route maglev with write-port, or write-port none with route leader)");
		return -EINVAL;
	}
	if (write_port == ntohs(key->port)) {
		err_set("write-port %u is the service's own port: give another port (reads go to port %u, writes to the write port)",
			write_port, write_port);
		return -EINVAL;
	}
	return 0;
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
		v.flags = base->flags & SLUICE_SVC_F_LEADER;
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
	if (conf->has_route)
		v.flags = conf->route_leader ? SLUICE_SVC_F_LEADER : 0;
	if ((v.flags & SLUICE_SVC_F_LEADER) && !is_steering(v.mode)) {
		err_set("route leader applies to services in mode nat or ipip (this one is %s)%s",
			args_mode_name(v.mode), conf->has_route ? "" : ": give route maglev too");
		return -EINVAL;
	}
	if (conf->has_write_port && conf->write_port) {
		struct sluice_svc_key none = { 0 };

		err = svc_write_check(&none, v.mode, v.flags & SLUICE_SVC_F_LEADER,
				      conf->write_port);
		if (err)
			return err;
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

/* Write zeroes into every CPU's copy of the id's counters. */
static int zero_counters(const struct sluice_maps *m, __u32 id)
{
	struct sluice_svc_counters *zero;
	int ncpus, err = 0;

	zero = maps_percpu_alloc(sizeof(*zero), &ncpus);
	if (!zero)
		return ncpus;
	if (bpf_map_update_elem(m->svc_stats, &id, zero, BPF_ANY)) {
		err = -errno;
		err_set("cannot clear counters of service id %u: %s", id, strerror(-err));
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

/* Fresh per-id state: counters, both kinds of bucket, resilience settings, leader. */
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
	if (!err)
		err = leader_reset(m, id);
	if (!err)
		err = pacing_clear(m, id);
	return err;
}

/*
 * sl_svc_byid[id] := key and its value val, or zeroed (key NULL): the data
 * plane follows a known flow to its service through it (struct
 * sluice_svc_ent). Written after sl_services, zeroed before a key goes: a
 * zeroed entry only costs packets the sl_services lookup.
 */
static int byid_put(const struct sluice_maps *m, __u32 id, const struct sluice_svc_key *key,
		    const struct sluice_svc *val)
{
	struct sluice_svc_ent ent;
	int err;

	memset(&ent, 0, sizeof(ent));
	if (key) {
		ent.svc = *val;
		ent.key = *key;
	}
	if (!bpf_map_update_elem(m->svc_byid, &id, &ent, BPF_ANY))
		return 0;
	err = -errno;
	err_set("cannot write %s[%u]: %s", SLUICE_MAP_SVC_BYID, id, strerror(-err));
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

/* key with another port. */
static struct sluice_svc_key key_at(const struct sluice_svc_key *key, __u16 port)
{
	struct sluice_svc_key k = *key;

	k.port = htons(port);
	return k;
}

/* The write port's value: the service's, with the flag. */
static struct sluice_svc write_value(const struct sluice_svc *v)
{
	struct sluice_svc w = *v;

	w.flags = SLUICE_SVC_F_LEADER;
	return w;
}

/* The flow bits of a service's key and write port (0: none), in mode (ports.h). */
static int svc_flow_note(const struct sluice_maps *m, const struct sluice_svc_key *key, __u16 wp,
			 __u8 mode)
{
	struct sluice_svc_key wkey = key_at(key, wp);
	int err = ports_note_flow(m, key, mode);

	return err || !wp ? err : ports_note_flow(m, &wkey, mode);
}

/* The bits of a service's key and write port (0: none) in sl_ports_v2. */
static int svc_ports_note(const struct sluice_maps *m, const struct sluice_svc_key *key, __u16 wp,
			  __u8 mode)
{
	int err = ports_note_svc(m, ntohs(key->port));

	if (!err)
		err = ports_note_svc(m, wp);
	return err ? err : svc_flow_note(m, key, wp, mode);
}

/* After a key's delete (or its service left nat and ipip): its flow bit. */
static int svc_flow_forget(const struct sluice_maps *m, const struct sluice_svc_key *key, __u16 wp)
{
	struct sluice_svc_key wkey = key_at(key, wp);
	int err = ports_forget_flow(m, key);

	return err || !wp ? err : ports_forget_flow(m, &wkey);
}

int svc_add(const struct sluice_maps *m, const struct sluice_svc_key *key,
	    const struct svc_conf *conf, struct sluice_svc *added)
{
	struct sluice_svc value, old, wval;
	struct sluice_svc_key wkey;
	struct sluice_svc_res res;
	__u16 wp = conf->has_write_port ? conf->write_port : 0;
	__u32 id = 0;
	int err;

	err = svc_value_make(conf, NULL, 0, &value);
	if (err)
		return err;
	err = svc_write_check(key, value.mode, value.flags & SLUICE_SVC_F_LEADER, wp);
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
	if (!err) {
		struct svc_info info;

		/* Say whose write port it is rather than "exists". */
		if (!svc_info_get(m, key, &info))
			return exists_error(key, old.id);
		return svc_key_check_free(m, key, "service add");
	}
	if (err != -ENOENT)
		return err;
	wkey = key_at(key, wp);
	if (wp) {
		err = svc_key_check_free(m, &wkey, "write-port");
		if (err)
			return err;
	}
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
	if (conf->has_egress_rate && conf->egress_rate_bps) {
		err = pacing_set(m, id, conf->egress_rate_bps);
		if (err)
			return err;
	}
	if (!res_conf_empty(&conf->res)) {
		err = res_apply(m, key, &value, &conf->res, NULL);
		if (err)
			return err;
	}
	if (is_steering(value.mode)) {
		err = publish_service(m, NULL, id,
				      conf->has_maglev_size ? conf->maglev_size
							    : SLUICE_MAGLEV_M_DEFAULT);
		if (err) {
			res_purge_service(m, id);
			return err;
		}
	}
	/* The ports' bits before the keys (ports.h), and again after them. */
	err = svc_ports_note(m, key, wp, value.mode);
	if (err) {
		publish_table_delete(m, id);
		res_purge_service(m, id);
		return err;
	}
	if (bpf_map_update_elem(m->services, key, &value, BPF_NOEXIST)) {
		err = -errno;
		publish_table_delete(m, id);
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
	/* The write port last: without a leader yet, its flows are refused (no_leader). */
	wval = write_value(&value);
	if (wp && bpf_map_update_elem(m->services, &wkey, &wval, BPF_NOEXIST)) {
		err = -errno;
		bpf_map_delete_elem(m->services, key);
		publish_table_delete(m, id);
		res_purge_service(m, id);
		if (err == -EEXIST)
			return svc_key_check_free(m, &wkey, "write-port");
		if (err == -E2BIG || err == -ENOMEM)
			err_set("the service table is full (%u keys): delete a service first",
				SLUICE_MAX_SERVICES);
		else
			err_set("cannot add the write port: %s", strerror(-err));
		return err;
	}
	err = svc_ports_note(m, key, wp, value.mode);
	if (!err)
		err = byid_put(m, id, key, &value);
	if (err)
		return err;
	if (added)
		*added = value;
	return 0;
}

/* Put the service's own key back to old (best effort, after a failed set). */
static void restore_key(const struct sluice_maps *m, const struct sluice_svc_key *key,
			const struct sluice_svc *old)
{
	bpf_map_update_elem(m->services, key, old, BPF_EXIST);
}

static int svc_set_keys(const struct sluice_maps *m, const struct sluice_svc_key *key,
			const struct svc_conf *conf, struct sluice_svc *updated)
{
	struct sluice_svc old, value, wval;
	struct sluice_svc_key wkey, old_wkey;
	struct sluice_svc_res old_res;
	struct svc_info info;
	__u16 old_wp, new_wp;
	__u64 old_pace = 0;
	int err, res_done = 0, route, gone_early, pace_done = 0;

	if (!conf->has_mode && !conf->has_rate && !conf->has_burst && !conf->has_client_rate &&
	    !conf->has_client_burst && !conf->has_hash && !conf->has_maglev_size &&
	    !conf->has_write_port && !conf->has_route && res_conf_empty(&conf->res) &&
	    !conf->has_egress_rate) {
		err_set("nothing to change: give at least one of mode, hash, maglev-size, rate, burst, client-rate, client-burst, write-port, route, egress-rate or a bulkhead or breaker setting");
		return -EINVAL;
	}
	err = svc_info_get(m, key, &info);
	if (err)
		return err;
	old = info.svc;
	old_wp = info.write_port;
	err = svc_value_make(conf, &old, 0, &value);
	if (err)
		return err;
	route = !!(value.flags & SLUICE_SVC_F_LEADER);
	new_wp = conf->has_write_port ? conf->write_port : old_wp;
	if (new_wp && !conf->has_write_port && !is_steering(value.mode)) {
		err_set("the service has write-port %u: give write-port none too to make it %s",
			new_wp, args_mode_name(value.mode));
		return -EINVAL;
	}
	err = svc_write_check(key, value.mode, route, new_wp);
	if (err)
		return err;
	wkey = key_at(key, new_wp);
	old_wkey = key_at(key, old_wp);
	if (new_wp && new_wp != old_wp) {
		err = svc_key_check_free(m, &wkey, "write-port");
		if (err)
			return err;
	}
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
	/* The egress-rate (its departure clock starts again), put back should a write fail. */
	if (conf->has_egress_rate) {
		err = pacing_get(m, old.id, &old_pace);
		if (!err)
			err = pacing_set(m, old.id, conf->egress_rate_bps);
		if (err)
			goto undo_res;
		pace_done = 1;
	}
	/* The new table first: the service never points at a table it lacks. */
	if (is_steering(value.mode) && (!is_steering(old.mode) || conf->has_maglev_size)) {
		err = publish_service(m, NULL, value.id,
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
	/*
	 * Trading the write port for route leader: the write port's key goes
	 * first, so no reader ever sees two flagged keys of one id (which of
	 * them would be the service's?).
	 */
	if (new_wp != old_wp) {
		err = ports_note_svc(m, new_wp);
		if (err)
			goto undo_res;
	}
	gone_early = old_wp && !new_wp && route;
	if (gone_early && bpf_map_delete_elem(m->services, &old_wkey) && errno != ENOENT) {
		err = -errno;
		err_set("cannot remove the write port %u: %s", old_wp, strerror(-err));
		goto undo_res;
	}
	if (bpf_map_update_elem(m->services, key, &value, BPF_EXIST)) {
		err = -errno;
		if (err == -ENOENT)
			svc_missing_error(key);
		else
			err_set("cannot update the service: %s", strerror(-err));
		if (gone_early) {
			wval = write_value(&old);
			bpf_map_update_elem(m->services, &old_wkey, &wval, BPF_NOEXIST);
		}
		goto undo_res;
	}
	/* The write port's key carries the same value; a new one appears, an old one goes. */
	wval = write_value(&value);
	if (new_wp && bpf_map_update_elem(m->services, &wkey, &wval,
					  new_wp == old_wp ? BPF_EXIST : BPF_NOEXIST)) {
		err = -errno;
		if (err == -EEXIST)
			svc_key_check_free(m, &wkey, "write-port");
		else
			err_set("cannot write the write port's key: %s", strerror(-err));
		restore_key(m, key, &old);
		goto undo_res;
	}
	if (old_wp && old_wp != new_wp && !gone_early &&
	    bpf_map_delete_elem(m->services, &old_wkey) && errno != ENOENT) {
		err = -errno;
		err_set("cannot remove the old write port %u: %s", old_wp, strerror(-err));
		return err;
	}
	if (old_wp != new_wp) {
		err = ports_note_svc(m, new_wp);
		if (!err)
			err = ports_forget_svc(m, old_wp);
		if (err)
			return err;
	}
	/* The leader leaves the read table, or rejoins it, with the write port. */
	if (is_steering(value.mode) && !old_wp != !new_wp) {
		err = publish_service(m, NULL, value.id, 0);
		if (err)
			return err;
	}
	/* A service that no longer follows a leader forgets it (no stale leader later). */
	if ((old_wp || (old.flags & SLUICE_SVC_F_LEADER)) && !new_wp && !route) {
		err = leader_reset(m, value.id);
		if (err)
			return err;
	}
	/* Local mode steers nothing: its table goes once the service says so. */
	if (!is_steering(value.mode) && is_steering(old.mode)) {
		err = publish_table_delete(m, value.id);
		if (err)
			return err;
	}
	if (updated)
		*updated = value;
	return 0;
undo_res:
	if (res_done)
		bpf_map_update_elem(m->svc_res, &old.id, &old_res, BPF_ANY);
	if (pace_done)
		pacing_set(m, old.id, old_pace);
	return err;
}

/*
 * The keys' changes with the service's sl_svc_byid entry zeroed meanwhile,
 * then written from what sl_services holds after them (a failed set may
 * leave some of its writes in place).
 */
int svc_set(const struct sluice_maps *m, const struct sluice_svc_key *key,
	    const struct svc_conf *conf, struct sluice_svc *updated)
{
	struct svc_info before, after;
	int err, err2;

	if (svc_info_get(m, key, &before))
		return svc_set_keys(m, key, conf, updated); /* it says why */
	err = byid_put(m, before.svc.id, NULL, NULL);
	if (err)
		return err;
	err = svc_set_keys(m, key, conf, updated);
	err2 = svc_info_get(m, key, &after);
	if (!err2)
		err2 = byid_put(m, after.svc.id, key, &after.svc);
	/* The flow bits follow the mode and the write port. */
	if (!err2)
		err2 = svc_flow_note(m, key, after.write_port, after.svc.mode);
	if (!err2 && after.svc.mode != before.svc.mode)
		err2 = svc_flow_forget(m, key, 0);
	if (!err2 && before.write_port && before.write_port != after.write_port)
		err2 = svc_flow_forget(m, key, before.write_port);
	return err ? err : err2;
}

int svc_del(const struct sluice_maps *m, const struct sluice_svc_key *key, struct sluice_svc *old)
{
	struct sluice_svc_key wkey;
	struct svc_info info;
	int err;

	err = svc_info_get(m, key, &info);
	if (err)
		return err;
	/*
	 * Steering state first (shards, subsets, tables, backends): its packets
	 * meet no backend from here on and are dropped (no_backend) until the
	 * service itself goes; should this fail, the service is still there to
	 * delete again. Then the write port, then the service's key.
	 */
	err = backend_purge_service(m, info.svc.id);
	if (!err)
		err = byid_put(m, info.svc.id, NULL, NULL); /* before the keys: never followed */
	if (err)
		return err;
	wkey = key_at(key, info.write_port);
	if (info.write_port && bpf_map_delete_elem(m->services, &wkey) && errno != ENOENT) {
		err = -errno;
		err_set("cannot delete the write port %u: %s", info.write_port, strerror(-err));
		return err;
	}
	if (bpf_map_delete_elem(m->services, key)) {
		err = -errno;
		if (err == -ENOENT)
			return svc_missing_error(key);
		err_set("cannot delete the service: %s", strerror(-err));
		return err;
	}
	err = ports_forget_svc(m, ntohs(key->port));
	if (!err)
		err = ports_forget_svc(m, info.write_port);
	if (!err)
		err = svc_flow_forget(m, key, info.write_port);
	if (err)
		return err;
	/* The id is free now; clear it so nothing stale shows or carries over. */
	err = clear_id_state(m, info.svc.id);
	if (err)
		return err;
	if (old)
		*old = info.svc;
	return 0;
}

int svc_maglev_size(const struct sluice_maps *m, const struct sluice_svc *svc, __u32 *size)
{
	int err;

	*size = 0;
	if (!is_steering(svc->mode))
		return 0;
	err = publish_table_size(m, svc->id, size);
	if (err == -ENOENT) {
		*size = 0;
		return 0;
	}
	return err;
}
