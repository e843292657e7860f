// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Resilience settings (see res.h). Order of a service's change: the new
 * critical prefixes are added first (a prefix the old settings did not have
 * only widens who may use the reserve), then sl_svc_res is written in one
 * update (the data plane reads the whole value at once), then the prefixes
 * no longer listed are removed. Should a step fail, what this call added is
 * removed again.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "breaker.h"
#include "err.h"
#include "keys.h"
#include "res.h"

static const char *const refuse_names[] = {
	[SLUICE_REFUSE_RST] = "rst", [SLUICE_REFUSE_DROP] = "drop"
};
static const char *const on_open_names[] = { [SLUICE_ON_OPEN_NEXT] = "next",
					     [SLUICE_ON_OPEN_FALLBACK] = "fallback",
					     [SLUICE_ON_OPEN_FAIL_FAST] = "fail-fast" };

int res_parse_refuse(const char *text, __u8 *refuse)
{
	int i = ARGS_KEYWORD_FIND(text, refuse_names, "refuse");

	if (i < 0)
		return -EINVAL;
	*refuse = (__u8)i;
	return 0;
}

const char *res_refuse_name(__u8 refuse)
{
	return refuse < 2 ? refuse_names[refuse] : "?";
}

int res_parse_on_open(const char *text, __u8 *on_open)
{
	int i = ARGS_KEYWORD_FIND(text, on_open_names, "on-open");

	if (i < 0)
		return -EINVAL;
	*on_open = (__u8)i;
	return 0;
}

const char *res_on_open_name(__u8 on_open)
{
	return on_open < 3 ? on_open_names[on_open] : "?";
}

int res_parse_on_off(const char *text, const char *what, int *on)
{
	if (text && !strcmp(text, "on")) {
		*on = 1;
		return 0;
	}
	if (text && !strcmp(text, "off")) {
		*on = 0;
		return 0;
	}
	err_set("invalid %s '%s': give on or off", what, text ? text : "");
	return -EINVAL;
}

int res_parse_seconds_ms(const char *text, __u32 min_ms, __u32 max_ms, const char *what, __u32 *ms)
{
	unsigned long long whole = 0, frac = 0;
	const char *p = text;
	int digits = 0, fdigits = 0;

	if (!p || !*p)
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		whole = whole * 10 + (unsigned long long)(*p - '0');
		if (whole > max_ms)
			goto range;
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, fdigits++) {
			if (fdigits == 3)
				goto bad;
			frac = frac * 10 + (unsigned long long)(*p - '0');
		}
		if (!fdigits)
			goto bad;
	}
	if (*p || !digits)
		goto bad;
	while (fdigits++ < 3)
		frac *= 10;
	whole = whole * 1000 + frac;
	if (whole < min_ms || whole > max_ms)
		goto range;
	*ms = (__u32)whole;
	return 0;
bad:
	err_set("invalid %s '%s': give seconds, with up to 3 decimals (2, 0.5)", what,
		text ? text : "");
	return -EINVAL;
range:
	err_set("%s '%s' is out of range: give %u.%03u..%u.%03u seconds", what, text, min_ms / 1000,
		min_ms % 1000, max_ms / 1000, max_ms % 1000);
	return -ERANGE;
}

static int same_key(const struct sluice_shard_key *a, const struct sluice_shard_key *b)
{
	return a->prefixlen == b->prefixlen && a->svc_id == b->svc_id &&
	       !memcmp(&a->addr, &b->addr, sizeof(a->addr));
}

int res_critical_parse(const char *text, __u32 svc_id, struct sluice_shard_key *keys, size_t *n)
{
	char *copy, *item, *save = NULL;
	size_t count = 0, i;
	int err = 0;

	if (!text || !*text) {
		err_set("empty critical list: give PREFIX[,PREFIX...] or none");
		return -EINVAL;
	}
	if (!strcmp(text, "none")) {
		*n = 0;
		return 0;
	}
	if (text[0] == ',' || text[strlen(text) - 1] == ',' || strstr(text, ",,")) {
		err_set("invalid critical list '%s': an empty prefix between commas", text);
		return -EINVAL;
	}
	copy = strdup(text);
	if (!copy) {
		err_set("out of memory");
		return -ENOMEM;
	}
	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		if (count == RES_CRITICAL_MAX) {
			err_set("a service has at most %u critical prefixes", RES_CRITICAL_MAX);
			err = -E2BIG;
			goto out;
		}
		err = shard_prefix_parse(item, svc_id, &keys[count]);
		if (err)
			goto out;
		for (i = 0; i < count; i++) {
			if (same_key(&keys[i], &keys[count])) {
				err_set("critical prefix '%s' is listed twice", item);
				err = -EINVAL;
				goto out;
			}
		}
		count++;
	}
	*n = count;
out:
	free(copy);
	return err;
}

static __u32 eff(__u32 v, __u32 def)
{
	return v ? v : def;
}

int res_value_make(const struct res_conf *c, const struct sluice_svc_res *base,
		   struct sluice_svc_res *out)
{
	struct sluice_svc_res v;
	struct brk_conf bc;

	if (base)
		v = *base;
	else
		memset(&v, 0, sizeof(v));
	if (c->has & RES_HAS_MAX_CONNS) {
		if (c->max_conns > RES_MAX_CONNS_MAX) {
			err_set("max-conns %u is out of range: give 0 (no limit)..%u", c->max_conns,
				RES_MAX_CONNS_MAX);
			return -ERANGE;
		}
		v.max_conns = c->max_conns;
	}
	if (c->has & RES_HAS_RESERVED)
		v.reserved = c->reserved;
	if (c->has & RES_HAS_REFUSE) {
		if (c->refuse > SLUICE_REFUSE_DROP) {
			err_set("refuse %u is not supported: give rst or drop", c->refuse);
			return -EINVAL;
		}
		v.refuse = c->refuse;
	}
	if (c->has & RES_HAS_ON_OPEN) {
		if (c->on_open > SLUICE_ON_OPEN_FAIL_FAST) {
			err_set("on-open %u is not supported: give next, fallback or fail-fast",
				c->on_open);
			return -EINVAL;
		}
		v.on_open = c->on_open;
	}
	if (c->has & RES_HAS_GLOBAL_LIMIT) {
		if (c->global_limit)
			v.flags &= (__u8)~SLUICE_RES_NO_GLOBAL;
		else
			v.flags |= SLUICE_RES_NO_GLOBAL;
	}
	if (c->has & RES_HAS_FALLBACK && c->fallback_none)
		v.fallback_be = 0;
#define RANGE(bit, field, lo, hi, name)                                                       \
	do {                                                                                  \
		if (c->has & (bit)) {                                                         \
			if (c->field < (lo) || c->field > (hi)) {                             \
				err_set("%s %u is out of range: give %u..%u", name, c->field, \
					(__u32)(lo), (__u32)(hi));                            \
				return -ERANGE;                                               \
			}                                                                     \
			v.field = c->field;                                                   \
		}                                                                             \
	} while (0)
	RANGE(RES_HAS_BRK_FAILURES, brk_failures, 1, RES_COUNT_MAX, "breaker-failures");
	RANGE(RES_HAS_BRK_WINDOW, brk_window_ms, RES_WINDOW_MS_MIN, RES_WINDOW_MS_MAX,
	      "breaker-window (ms)");
	RANGE(RES_HAS_BRK_RATE, brk_rate_pct, 1, 100, "breaker-rate");
	RANGE(RES_HAS_BRK_MIN_CALLS, brk_min_calls, 1, RES_COUNT_MAX, "breaker-min-calls");
	RANGE(RES_HAS_BRK_WAIT, brk_wait_ms, RES_WAIT_MS_MIN, RES_WAIT_MS_MAX, "breaker-wait (ms)");
	RANGE(RES_HAS_BRK_WAIT_MAX, brk_wait_max_ms, RES_WAIT_MS_MIN, RES_WAIT_MS_MAX,
	      "breaker-wait-max (ms)");
	RANGE(RES_HAS_BRK_PROBES, brk_probes, 1, RES_PROBES_MAX, "breaker-probes");
	RANGE(RES_HAS_BRK_SUCCESSES, brk_successes, 1, RES_PROBES_MAX, "breaker-successes");
	RANGE(RES_HAS_BRK_MAX_OPEN, brk_max_open_pct, 1, 100, "breaker-max-open");
	if (c->has & RES_HAS_PANIC) {
		if (c->panic_pct > 100) {
			err_set("panic-threshold %u is out of range: give 0 (off)..100",
				c->panic_pct);
			return -ERANGE;
		}
		v.panic_pct = c->panic_pct ? (__u8)c->panic_pct : SLUICE_PANIC_OFF;
	}
	RANGE(RES_HAS_SYN_TIMEOUT, syn_timeout_ms, RES_SYN_TIMEOUT_MS_MIN, RES_SYN_TIMEOUT_MS_MAX,
	      "syn-timeout (ms)");
#undef RANGE
	/* The whole, defaults resolved. */
	if (v.reserved && v.reserved >= v.max_conns) {
		if (v.max_conns)
			err_set("reserved %u must be below max-conns %u: standard clients need at least one slot",
				v.reserved, v.max_conns);
		else
			err_set("reserved %u needs a max-conns above it (this service has no limit)",
				v.reserved);
		return -EINVAL;
	}
	if (eff(v.brk_successes, BRK_DEF_SUCCESSES) > eff(v.brk_probes, BRK_DEF_PROBES)) {
		err_set("breaker-successes %u is more than breaker-probes %u: half-open could never close",
			eff(v.brk_successes, BRK_DEF_SUCCESSES), eff(v.brk_probes, BRK_DEF_PROBES));
		return -EINVAL;
	}
	if (eff(v.brk_wait_max_ms, BRK_DEF_WAIT_MAX_MS) < eff(v.brk_wait_ms, BRK_DEF_WAIT_MS)) {
		err_set("breaker-wait-max %u ms is below breaker-wait %u ms",
			eff(v.brk_wait_max_ms, BRK_DEF_WAIT_MAX_MS),
			eff(v.brk_wait_ms, BRK_DEF_WAIT_MS));
		return -EINVAL;
	}
	/*
	 * Breakers may open at most 100 - panic of the backends: beyond that
	 * the service is in panic and ignores them, so the two would contradict.
	 */
	brk_conf_from_res(&v, &bc);
	if (bc.panic_pct && bc.max_open_pct + bc.panic_pct > 100) {
		err_set("breaker-max-open %u%% and panic-threshold %u%% contradict: breakers opening more than %u%% of the backends would put the service in panic, where they are ignored; lower breaker-max-open to %u or panic-threshold to %u (0: off)",
			bc.max_open_pct, bc.panic_pct, 100 - bc.panic_pct, 100 - bc.panic_pct,
			100 - bc.max_open_pct);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int res_panic_write(const struct sluice_maps *m, __u32 svc_id, int on)
{
	struct sluice_svc_res r;
	int err = res_get(m, svc_id, &r);

	if (err)
		return err;
	if (on)
		r.flags |= SLUICE_RES_PANIC;
	else
		r.flags &= (__u8)~SLUICE_RES_PANIC;
	if (!bpf_map_update_elem(m->svc_res, &svc_id, &r, BPF_ANY))
		return 0;
	err = -errno;
	err_set("cannot write %s of service id %u: %s", SLUICE_MAP_SVC_RES, svc_id, strerror(-err));
	return err;
}

int res_get(const struct sluice_maps *m, __u32 svc_id, struct sluice_svc_res *res)
{
	int err;

	if (!bpf_map_lookup_elem(m->svc_res, &svc_id, res))
		return 0;
	err = -errno;
	err_set("cannot read %s of service id %u: %s", SLUICE_MAP_SVC_RES, svc_id, strerror(-err));
	return err;
}

static int cmp_key(const void *a, const void *b)
{
	const struct sluice_shard_key *x = a, *y = b;
	int c = memcmp(&x->addr, &y->addr, sizeof(x->addr));

	if (c)
		return c;
	return (x->prefixlen > y->prefixlen) - (x->prefixlen < y->prefixlen);
}

/* Every sl_critical key of svc_id (or of every service: all). */
static int critical_keys(const struct sluice_maps *m, __u32 svc_id, int all,
			 struct sluice_shard_key **keys, size_t *count)
{
	struct sluice_shard_key *k = NULL, *grown, key, next;
	size_t n = 0, cap = 0, seen = 0;
	void *prev = NULL;
	int err;

	/* Bounded: a concurrent delete restarts the walk (see maps_svc_list()). */
	while (seen++ < 2 * 16384 && !bpf_map_get_next_key(m->critical, prev, &next)) {
		key = next;
		prev = &key;
		if (!all && key.svc_id != svc_id)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(k, cap * sizeof(*k));
			if (!grown) {
				free(k);
				err_set("out of memory");
				return -ENOMEM;
			}
			k = grown;
		}
		k[n++] = key;
	}
	if (errno != ENOENT && seen <= 2 * 16384) {
		err = -errno;
		free(k);
		err_set("cannot walk %s: %s", SLUICE_MAP_CRITICAL, strerror(-err));
		return err;
	}
	if (n > 1)
		qsort(k, n, sizeof(*k), cmp_key);
	*keys = k;
	*count = n;
	return 0;
}

int res_critical_list(const struct sluice_maps *m, __u32 svc_id, struct sluice_shard_key **keys,
		      size_t *n)
{
	return critical_keys(m, svc_id, 0, keys, n);
}

static int has_key(const struct sluice_shard_key *keys, size_t n, const struct sluice_shard_key *k)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (same_key(&keys[i], k))
			return 1;
	return 0;
}

static int critical_delete(const struct sluice_maps *m, const struct sluice_shard_key *k)
{
	char p[SHARD_PREFIX_STRLEN];
	int err;

	if (!bpf_map_delete_elem(m->critical, k) || errno == ENOENT)
		return 0;
	err = -errno;
	shard_prefix_format(k, p, sizeof(p));
	err_set("cannot remove critical prefix %s: %s", p, strerror(-err));
	return err;
}

/* Write conf's failover settings (if any) to sl_svc_fo[svc_id], keeping the others. */
static int fo_apply(const struct sluice_maps *m, __u32 svc_id, const struct res_conf *conf)
{
	struct sluice_svc_fo fo;
	int err;

	if (!(conf->has & (RES_HAS_RETRIES | RES_HAS_FAST_TRIP)))
		return 0;
	if (bpf_map_lookup_elem(m->svc_fo, &svc_id, &fo))
		memset(&fo, 0, sizeof(fo));
	if (conf->has & RES_HAS_RETRIES)
		fo.retries = conf->retries ? (__u8)conf->retries : SLUICE_FO_RETRIES_OFF;
	if (conf->has & RES_HAS_FAST_TRIP)
		fo.fast_trip = conf->fast_trip ? (__u16)conf->fast_trip : SLUICE_FO_TRIP_OFF;
	fo.pad = 0;
	if (bpf_map_update_elem(m->svc_fo, &svc_id, &fo, BPF_ANY)) {
		err = -errno;
		err_set("cannot write %s of service id %u: %s", SLUICE_MAP_SVC_FO, svc_id,
			strerror(-err));
		return err;
	}
	return 0;
}

int res_fo_get(const struct sluice_maps *m, __u32 svc_id, __u32 *retries, __u32 *fast_trip)
{
	struct sluice_svc_fo fo;
	int err;

	if (bpf_map_lookup_elem(m->svc_fo, &svc_id, &fo)) {
		err = -errno;
		err_set("cannot read %s of service id %u: %s", SLUICE_MAP_SVC_FO, svc_id,
			strerror(-err));
		return err;
	}
	*retries = fo.retries == SLUICE_FO_RETRIES_OFF ? 0
		   : fo.retries			       ? fo.retries
						       : SLUICE_FO_RETRIES_DEFAULT;
	*fast_trip = fo.fast_trip == SLUICE_FO_TRIP_OFF ? 0
		     : fo.fast_trip			? fo.fast_trip
							: SLUICE_FO_TRIP_DEFAULT;
	return 0;
}

int res_apply(const struct sluice_maps *m, const struct sluice_svc_key *key,
	      const struct sluice_svc *svc, const struct res_conf *conf, struct sluice_svc_res *out)
{
	struct sluice_shard_key *want = NULL, *old = NULL;
	struct sluice_backend *all = NULL;
	struct sluice_svc_res base, v;
	size_t nwant = 0, nold = 0, nadded = 0, i;
	__u32 one = 1, fb;
	unsigned char *added = NULL;
	int err;

	err = res_get(m, svc->id, &base);
	if (err)
		return err;
	err = res_value_make(conf, &base, &v);
	if (err)
		return err;
	if (conf->has & RES_HAS_FALLBACK && !conf->fallback_none) {
		all = calloc(SLUICE_MAX_BACKENDS, sizeof(*all));
		if (!all) {
			err_set("out of memory");
			return -ENOMEM;
		}
		err = maps_read_backends(m, all);
		if (!err)
			err = backend_find(all, key, svc, &conf->fallback, &fb);
		free(all);
		if (err)
			return err;
		v.fallback_be = fb + 1;
	}
	if (conf->has & RES_HAS_CRITICAL) {
		want = calloc(RES_CRITICAL_MAX, sizeof(*want));
		added = calloc(RES_CRITICAL_MAX, 1);
		if (!want || !added) {
			err_set("out of memory");
			err = -ENOMEM;
			goto out;
		}
		err = res_critical_parse(conf->critical, svc->id, want, &nwant);
		if (!err)
			err = res_critical_list(m, svc->id, &old, &nold);
		if (err)
			goto out;
		for (i = 0; i < nwant; i++) {
			if (has_key(old, nold, &want[i]))
				continue;
			if (bpf_map_update_elem(m->critical, &want[i], &one, BPF_NOEXIST)) {
				err = -errno;
				if (err == -E2BIG || err == -ENOSPC || err == -ENOMEM)
					err_set("the critical prefix table is full (16384 entries)");
				else
					err_set("cannot add a critical prefix: %s", strerror(-err));
				goto undo;
			}
			added[i] = 1;
			nadded++;
		}
	}
	if (bpf_map_update_elem(m->svc_res, &svc->id, &v, BPF_ANY)) {
		err = -errno;
		err_set("cannot write %s of service id %u: %s", SLUICE_MAP_SVC_RES, svc->id,
			strerror(-err));
		goto undo;
	}
	err = fo_apply(m, svc->id, conf);
	if (err)
		goto out; /* the other settings are in: say so */
	if (conf->has & RES_HAS_CRITICAL) {
		for (i = 0; i < nold; i++) {
			if (has_key(want, nwant, &old[i]))
				continue;
			err = critical_delete(m, &old[i]);
			if (err)
				goto out; /* the settings are in; a stale prefix stays: say so */
		}
	}
	if (out)
		*out = v;
	goto out;
undo:
	for (i = 0; nadded && i < nwant; i++)
		if (added[i])
			bpf_map_delete_elem(m->critical, &want[i]);
out:
	free(want);
	free(old);
	free(added);
	return err;
}

int res_purge_service(const struct sluice_maps *m, __u32 svc_id)
{
	struct sluice_shard_key *keys = NULL;
	struct sluice_res_counter *zero;
	struct sluice_svc_res res;
	struct sluice_svc_fo fo;
	struct sluice_conns conns;
	size_t n = 0, i;
	int ncpus, err;

	memset(&res, 0, sizeof(res));
	if (bpf_map_update_elem(m->svc_res, &svc_id, &res, BPF_ANY)) {
		err = -errno;
		err_set("cannot clear %s of service id %u: %s", SLUICE_MAP_SVC_RES, svc_id,
			strerror(-err));
		return err;
	}
	err = critical_keys(m, svc_id, 0, &keys, &n);
	for (i = 0; !err && i < n; i++)
		err = critical_delete(m, &keys[i]);
	free(keys);
	if (err)
		return err;
	/*
	 * No service has this id now, so nothing takes a slot of it; a late
	 * release of a flow of the old service could still decrement it, which
	 * the next sweep corrects (it recounts the flows of live services).
	 */
	memset(&conns, 0, sizeof(conns));
	if (bpf_map_update_elem(m->conns, &svc_id, &conns, BPF_ANY)) {
		err = -errno;
		err_set("cannot clear %s slot %u: %s", SLUICE_MAP_CONNS, svc_id, strerror(-err));
		return err;
	}
	/* Failover: defaults again for the next service of this id. */
	memset(&fo, 0, sizeof(fo));
	if (bpf_map_update_elem(m->svc_fo, &svc_id, &fo, BPF_ANY)) {
		err = -errno;
		err_set("cannot clear %s of service id %u: %s", SLUICE_MAP_SVC_FO, svc_id,
			strerror(-err));
		return err;
	}
	/* Large enough for either per-CPU value. */
	zero = maps_percpu_alloc(sizeof(struct sluice_fo_counter), &ncpus);
	if (!zero)
		return ncpus;
	if (bpf_map_update_elem(m->res_stats, &svc_id, zero, BPF_ANY)) {
		err = -errno;
		err_set("cannot clear %s of service id %u: %s", SLUICE_MAP_RES_STATS, svc_id,
			strerror(-err));
	} else if (bpf_map_update_elem(m->fo_svc, &svc_id, zero, BPF_ANY)) {
		err = -errno;
		err_set("cannot clear %s of service id %u: %s", SLUICE_MAP_FO_SVC, svc_id,
			strerror(-err));
	}
	free(zero);
	return err;
}

int res_check_backend_del(const struct sluice_maps *m, const struct sluice_svc_key *key,
			  __u32 svc_id, __u32 id)
{
	struct sluice_svc_res res;
	char k[SVC_KEY_STRLEN];
	int err;

	err = res_get(m, svc_id, &res);
	if (err)
		return err;
	if (res.fallback_be != id + 1)
		return 0;
	svc_key_format_args(key, k, sizeof(k));
	err_set("backend %u is the fallback of service %s: change it first (sluice service set %s fallback none)",
		id, k, k);
	return -EBUSY;
}

int res_global_set(const struct sluice_maps *m, int has_max, __u32 max_conns, int has_idle,
		   __u32 tcp_idle_s, struct sluice_res_global *out)
{
	struct sluice_res_global g;
	__u32 key = 0;
	int err;

	if (!has_max && !has_idle) {
		err_set("nothing to change: give max-conns or tcp-idle");
		return -EINVAL;
	}
	if (has_max && max_conns > RES_MAX_CONNS_MAX) {
		err_set("max-conns %u is out of range: give 0 (no limit)..%u", max_conns,
			RES_MAX_CONNS_MAX);
		return -ERANGE;
	}
	if (has_idle && (tcp_idle_s < 1 || tcp_idle_s > RES_TCP_IDLE_S_MAX)) {
		err_set("tcp-idle %u is out of range: give 1..%u seconds", tcp_idle_s,
			RES_TCP_IDLE_S_MAX);
		return -ERANGE;
	}
	err = maps_read_res_global(m, &g);
	if (err)
		return err;
	if (has_max)
		g.max_conns = max_conns;
	if (has_idle)
		g.tcp_idle_s = tcp_idle_s;
	if (bpf_map_update_elem(m->res_global, &key, &g, BPF_ANY)) {
		err = -errno;
		err_set("cannot write %s: %s", SLUICE_MAP_RES_GLOBAL, strerror(-err));
		return err;
	}
	if (out)
		*out = g;
	return 0;
}

int res_breaker_write(const struct sluice_maps *m, __u32 id, __u32 state, __s32 probes)
{
	struct sluice_breaker b = { .state = state, .probes_left = probes };
	int err;

	if (id >= SLUICE_MAX_BACKENDS || state > SLUICE_BRK_HALF_OPEN) {
		err_set("breaker %u: bad backend id or state %u", id, state);
		return -EINVAL;
	}
	if (!bpf_map_update_elem(m->breakers, &id, &b, BPF_ANY))
		return 0;
	err = -errno;
	err_set("cannot write the breaker of backend %u: %s", id, strerror(-err));
	return err;
}

int res_backend_reset(const struct sluice_maps *m, __u32 id)
{
	struct sluice_be_signals *zero;
	int ncpus, err;

	err = res_breaker_write(m, id, SLUICE_BRK_CLOSED, 0);
	if (err)
		return err;
	zero = maps_percpu_alloc(sizeof(*zero), &ncpus);
	if (!zero)
		return ncpus;
	if (bpf_map_update_elem(m->be_signals, &id, zero, BPF_ANY)) {
		err = -errno;
		err_set("cannot clear the signals of backend %u: %s", id, strerror(-err));
	}
	free(zero);
	return err;
}
