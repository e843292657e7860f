// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The breaker watcher's engine (see watch.h).
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "breaker.h"
#include "err.h"
#include "res.h"
#include "watch.h"

struct watch_svc {
	int used;
	struct sluice_svc_key key;
	struct sluice_svc_res res;
	struct brk_group g;
	int panic; /* SLUICE_RES_PANIC as last written or found */
};

struct watch {
	const struct sluice_maps *m;
	int only;
	struct sluice_svc_key only_key;
	watch_report_fn report;
	watch_panic_fn panic;
	void *ctx;
	struct watch_svc svcs[SLUICE_MAX_SERVICES]; /* by service id */
	struct sluice_backend backends[SLUICE_MAX_BACKENDS];
	__u32 written[SLUICE_MAX_BACKENDS];		/* state last written or adopted */
	int watched[SLUICE_MAX_BACKENDS];		/* member of a watched group */
	struct sluice_breaker map[SLUICE_MAX_BACKENDS]; /* scratch: sl_breakers */
	int fresh[SLUICE_MAX_BACKENDS];			/* scratch: new to its group */
};

void watch_set_panic_report(struct watch *w, watch_panic_fn fn)
{
	w->panic = fn;
}

/* Set s's panic flag from its healthy share of active backends; report a change. */
static int panic_check(struct watch *w, struct watch_svc *s, __u32 sid)
{
	__u32 active = 0, healthy = 0;
	const struct breaker *b;
	size_t i;
	int on, err;

	for (i = 0; i < s->g.count; i++) {
		b = &s->g.members[i];
		if (w->backends[b->id].state != SLUICE_BE_ACTIVE || !w->backends[b->id].weight)
			continue;
		active++;
		healthy += b->state == SLUICE_BRK_CLOSED;
	}
	on = brk_panic(s->g.conf.panic_pct, active, healthy);
	if (on == s->panic)
		return 0;
	err = res_panic_write(w->m, sid, on);
	if (err)
		return err;
	s->panic = on;
	if (w->panic)
		w->panic(w->ctx, &s->key, on, healthy, active);
	return 0;
}

/* Write a machine's new state and report it. */
static int apply(struct watch *w, struct watch_svc *s, const struct brk_change *chg)
{
	int err = 0;

	if (chg->from != chg->to || brk_cause_external(chg->cause)) {
		/* An external write is in the map already (with its mark). */
		if (!brk_cause_external(chg->cause))
			err = res_breaker_write(w->m, chg->id, chg->to,
						chg->to == SLUICE_BRK_HALF_OPEN ? (__s32)chg->probes
										: 0);
		if (!err)
			w->written[chg->id] = chg->to;
	}
	if (!err && w->report)
		w->report(w->ctx, &s->key, &w->backends[chg->id], chg);
	if (!err)
		err = panic_check(w, s, w->backends[chg->id].svc_id);
	return err;
}

int watch_refresh(struct watch *w, __u64 now_ms)
{
	struct maps_svc_entry *list = NULL;
	struct sluice_svc_res *res = NULL;
	__u32 *ids = NULL, n, id;
	struct brk_change chg;
	struct brk_conf conf;
	struct watch_svc *s;
	size_t count = 0, i;
	int err, seen[SLUICE_MAX_SERVICES] = { 0 };

	res = calloc(SLUICE_MAX_SERVICES, sizeof(*res));
	ids = calloc(SLUICE_MAX_BACKENDS, sizeof(*ids));
	if (!res || !ids) {
		err_set("out of memory");
		err = -ENOMEM;
		goto out;
	}
	err = maps_svc_list(w->m, &list, &count);
	if (!err)
		err = maps_read_svc_res_all(w->m, res);
	if (!err)
		err = maps_read_backends(w->m, w->backends);
	if (!err)
		err = maps_read_breakers(w->m, w->map);
	if (err)
		goto out;
	memset(w->watched, 0, sizeof(w->watched));
	for (i = 0; i < count; i++) {
		__u32 sid = list[i].svc.id;

		if (sid >= SLUICE_MAX_SERVICES)
			continue;
		if (w->only && memcmp(&list[i].key, &w->only_key, sizeof(w->only_key)))
			continue;
		if (list[i].svc.mode != SLUICE_MODE_NAT && list[i].svc.mode != SLUICE_MODE_IPIP)
			continue;
		s = &w->svcs[sid];
		brk_conf_from_res(&res[sid], &conf);
		if (s->used && memcmp(&s->key, &list[i].key, sizeof(s->key))) {
			brk_group_free(&s->g); /* the id now belongs to another service */
			s->used = 0;
		}
		if (!s->used) {
			brk_group_init(&s->g, &conf);
			s->used = 1;
			s->key = list[i].key;
			s->panic = !!(res[sid].flags & SLUICE_RES_PANIC);
		}
		s->g.conf = conf;
		s->res = res[sid];
		seen[sid] = 1;
		for (n = 0, id = 0; id < SLUICE_MAX_BACKENDS; id++)
			if (w->backends[id].state != SLUICE_BE_UNUSED &&
			    w->backends[id].svc_id == sid)
				ids[n++] = id;
		for (id = 0; id < n; id++) {
			w->fresh[ids[id]] = !brk_group_find(&s->g, ids[id]);
			w->watched[ids[id]] = 1;
		}
		err = brk_group_set_members(&s->g, ids, n);
		if (err) {
			err_set("out of memory");
			goto out;
		}
		/* A backend new to the group starts from what the map says (no override). */
		for (id = 0; id < n; id++) {
			if (!w->fresh[ids[id]])
				continue;
			w->written[ids[id]] = w->map[ids[id]].state;
			brk_adopt(&s->g, ids[id], w->map[ids[id]].state, now_ms);
			if (w->map[ids[id]].state == SLUICE_BRK_OPEN &&
			    w->map[ids[id]].probes_left == SLUICE_BRK_HEALTH_DOWN)
				brk_health(&s->g, ids[id], 0, now_ms, &chg); /* held, not probed */
		}
		/* Changes someone else made to sl_breakers: the operator's overrides. */
		for (id = 0; id < n; id++) {
			__u32 b = ids[id], st = w->map[b].state;

			if (st == w->written[b])
				continue;
			if (st == SLUICE_BRK_OPEN &&
			    w->map[b].probes_left == SLUICE_BRK_FAST_TRIPPED) {
				/* The data plane's own trip, seen before its event. */
				err = watch_fast_trip(w, b, now_ms);
				if (err)
					goto out;
				continue;
			}
			if (st == SLUICE_BRK_OPEN &&
			    w->map[b].probes_left == SLUICE_BRK_HEALTH_DOWN)
				err = brk_health(&s->g, b, 0, now_ms, &chg) < 0 ? -ENOENT : 0;
			else if (st == SLUICE_BRK_CLOSED &&
				 w->map[b].probes_left == SLUICE_BRK_HEALTH_UP)
				err = brk_health(&s->g, b, 1, now_ms, &chg) < 0 ? -ENOENT : 0;
			else if (st == SLUICE_BRK_OPEN)
				err = brk_trip(&s->g, b, now_ms, &chg) < 0 ? -ENOENT : 0;
			else if (st == SLUICE_BRK_CLOSED)
				err = brk_reset(&s->g, b, now_ms, &chg) < 0 ? -ENOENT : 0;
			else {
				brk_adopt(&s->g, b, st, now_ms);
				w->written[b] = st;
				continue;
			}
			if (!err)
				err = apply(w, s, &chg);
			if (err)
				goto out;
		}
		/* Members, weights or the threshold may have changed. */
		err = panic_check(w, s, sid);
		if (err)
			goto out;
	}
	for (i = 0; i < SLUICE_MAX_SERVICES; i++) {
		if (w->svcs[i].used && !seen[i]) {
			brk_group_free(&w->svcs[i].g);
			w->svcs[i].used = 0;
		}
	}
out:
	free(list);
	free(res);
	free(ids);
	return err;
}

int watch_new(const struct sluice_maps *m, const struct sluice_svc_key *only, __u64 now_ms,
	      watch_report_fn report, void *ctx, struct watch **out)
{
	struct watch *w;
	__u32 id, sid;
	int err;

	w = calloc(1, sizeof(*w));
	if (!w) {
		err_set("out of memory");
		return -ENOMEM;
	}
	w->m = m;
	w->report = report;
	w->ctx = ctx;
	if (only) {
		w->only = 1;
		w->only_key = *only;
	}
	/* The first refresh adopts the pinned states (every backend is new to it). */
	err = watch_refresh(w, now_ms);
	if (err)
		goto fail;
	for (sid = 0; sid < SLUICE_MAX_SERVICES; sid++) {
		size_t i;

		if (!w->svcs[sid].used)
			continue;
		for (i = 0; i < w->svcs[sid].g.count; i++) {
			id = w->svcs[sid].g.members[i].id;
			/* Half-open again: give the data plane a full probe budget. */
			if (w->map[id].state == SLUICE_BRK_HALF_OPEN) {
				err = res_breaker_write(m, id, SLUICE_BRK_HALF_OPEN,
							(__s32)w->svcs[sid].g.conf.probes);
				if (err)
					goto fail;
			}
		}
	}
	*out = w;
	return 0;
fail:
	watch_free(w);
	return err;
}

void watch_free(struct watch *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; i < SLUICE_MAX_SERVICES; i++)
		brk_group_free(&w->svcs[i].g);
	free(w);
}

static struct watch_svc *svc_of(struct watch *w, __u32 backend_id)
{
	__u32 sid;

	if (backend_id >= SLUICE_MAX_BACKENDS || !w->watched[backend_id])
		return NULL;
	sid = w->backends[backend_id].svc_id;
	if (sid >= SLUICE_MAX_SERVICES || !w->svcs[sid].used)
		return NULL;
	return &w->svcs[sid];
}

int watch_signal(struct watch *w, __u32 backend_id, int failure, __u64 now_ms)
{
	struct watch_svc *s = svc_of(w, backend_id);
	struct brk_change chg;
	int r;

	if (!s)
		return 0; /* not watched (another service, or a backend gone) */
	r = brk_record(&s->g, backend_id, now_ms, failure, &chg);
	if (r <= 0)
		return 0;
	return apply(w, s, &chg);
}

int watch_fast_trip(struct watch *w, __u32 backend_id, __u64 now_ms)
{
	struct watch_svc *s = svc_of(w, backend_id);
	struct brk_change chg;
	int err;

	if (!s || brk_fast_trip(&s->g, backend_id, now_ms, &chg) <= 0)
		return 0;
	if (chg.cause == BRK_CAUSE_MAX_OPEN) {
		/* Refused: the data plane's OPEN is undone. */
		err = res_breaker_write(w->m, backend_id, SLUICE_BRK_CLOSED, 0);
		if (err)
			return err;
		w->written[backend_id] = SLUICE_BRK_CLOSED;
		if (w->report)
			w->report(w->ctx, &s->key, &w->backends[backend_id], &chg);
		return 0;
	}
	/* The data plane wrote OPEN already; apply() writes it again (probes 0). */
	return apply(w, s, &chg);
}

int watch_tick(struct watch *w, __u64 now_ms)
{
	struct brk_change chg;
	size_t sid, i;
	int err;

	for (sid = 0; sid < SLUICE_MAX_SERVICES; sid++) {
		struct watch_svc *s = &w->svcs[sid];

		if (!s->used)
			continue;
		for (i = 0; i < s->g.count; i++) {
			if (brk_tick(&s->g, s->g.members[i].id, now_ms, &chg) != 1)
				continue;
			err = apply(w, s, &chg);
			if (err)
				return err;
		}
	}
	return 0;
}

__u64 watch_next_due(const struct watch *w)
{
	__u64 next = UINT64_MAX, t;
	size_t sid;

	for (sid = 0; sid < SLUICE_MAX_SERVICES; sid++) {
		if (!w->svcs[sid].used)
			continue;
		t = brk_group_next_transition(&w->svcs[sid].g);
		if (t < next)
			next = t;
	}
	return next;
}

size_t watch_backends(const struct watch *w)
{
	size_t sid, n = 0;

	for (sid = 0; sid < SLUICE_MAX_SERVICES; sid++)
		if (w->svcs[sid].used)
			n += w->svcs[sid].g.count;
	return n;
}

size_t watch_services(const struct watch *w)
{
	size_t sid, n = 0;

	for (sid = 0; sid < SLUICE_MAX_SERVICES; sid++)
		n += w->svcs[sid].used;
	return n;
}

int watch_backend_state(const struct watch *w, __u32 id, __u64 now_ms, __u32 *state,
			__u32 *failures, __u32 *calls, __u64 *next_ms)
{
	const struct watch_svc *s = svc_of((struct watch *)w, id);
	const struct breaker *b;

	if (!s)
		return -ENOENT;
	b = brk_group_find((struct brk_group *)&s->g, id);
	if (!b)
		return -ENOENT;
	*state = b->state;
	brk_window(&s->g, b, now_ms, failures, calls);
	*next_ms = brk_next_transition(b);
	return 0;
}
