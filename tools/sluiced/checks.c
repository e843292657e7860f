// SPDX-License-Identifier: GPL-2.0-only
/*
 * Active health checks in the daemon: the health module (userspace/
 * health.c) runs a check per backend of every service whose config has a
 * health section; its one epoll fd is in the daemon's loop. After each
 * config apply, checks_sync() makes the set of checks match the config
 * (added, updated, removed by backend id). A transition is journaled
 * (JOURNAL_HEALTH {"service", "backend", "up", "why"}) and fed into the
 * backend's breaker: down writes OPEN into sl_breakers, which the breaker
 * engine adopts as an operator trip (held open, no traffic); up writes
 * CLOSED, adopted as a reset.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "addr.h"
#include "backend.h"
#include "err.h"
#include "health.h"
#include "journal.h"
#include "res.h"
#include "sluiced.h"
#include "state.h"
#include "svc.h"

struct checks {
	struct health *h;
	struct loop_src src;
	__u8 *on; /* SLUICE_MAX_BACKENDS: 1 when backend id has a check */
};

static void on_change(void *ctx, __u32 id, int up, const char *why)
{
	struct daemon *d = ctx;
	struct sluice_backend be;
	struct maps_svc_entry *svcs = NULL;
	char a[ADDR_STRLEN], k[SVC_KEY_STRLEN] = "?", bk[ADDR_STRLEN + 8] = "?";
	struct json_object *o;
	size_t n = 0, i;
	int err;

	if (!maps_read_backend(&d->maps, id, &be) && !maps_svc_list(&d->maps, &svcs, &n)) {
		for (i = 0; i < n; i++) {
			if (svcs[i].svc.id != be.svc_id)
				continue;
			svc_key_format_args(&svcs[i].key, k, sizeof(k));
			if (addr_format(&be.addr, a, sizeof(a)))
				snprintf(a, sizeof(a), "?");
			snprintf(bk, sizeof(bk), "%s %u", a,
				 (unsigned int)backend_port(&be, &svcs[i].key));
		}
	}
	free(svcs);
	log_info("health of %s (service %s): %s (%s)", bk, k, up ? "up" : "down", why);
	o = json_object_new_object();
	if (o) {
		json_object_object_add(o, "service", json_object_new_string(k));
		json_object_object_add(o, "backend", json_object_new_string(bk));
		json_object_object_add(o, "up", json_object_new_boolean(up));
		json_object_object_add(o, "why", json_object_new_string(why));
		daemon_journal(d, JOURNAL_HEALTH,
			       json_object_to_json_string_ext(
				       o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
			       NULL);
		json_object_put(o);
	}
	err = res_breaker_write(&d->maps, id, up ? SLUICE_BRK_CLOSED : SLUICE_BRK_OPEN, 0);
	if (err)
		log_warn("health: cannot set the breaker of backend %u: %s", id, err_msg());
	breakers_refresh(d);
}

static void on_ready(struct daemon *d, struct loop_src *src, __u32 events)
{
	int err;

	(void)src;
	(void)events;
	err = health_dispatch(d->checks->h, health_now_ms());
	if (err)
		log_warn("health: %s", strerror(-err));
}

int checks_open(struct daemon *d)
{
	struct checks *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	c->on = calloc(SLUICE_MAX_BACKENDS, 1);
	if (!c->on) {
		free(c);
		return -ENOMEM;
	}
	d->checks = c;
	err = health_new(&c->h, on_change, d);
	if (err) {
		checks_close(d);
		return err;
	}
	c->src.fd = health_fd(c->h);
	c->src.fn = on_ready;
	err = loop_add(d, &c->src, EPOLLIN);
	if (err)
		checks_close(d);
	return err;
}

void checks_close(struct daemon *d)
{
	struct checks *c = d->checks;

	if (!c)
		return;
	if (c->h) {
		loop_del(d, &c->src);
		health_free(c->h);
	}
	free(c->on);
	free(c);
	d->checks = NULL;
}

int checks_up(struct daemon *d, __u32 id)
{
	struct health_status st;

	if (!d->checks || health_status(d->checks->h, id, &st))
		return -1;
	return st.up;
}

/* The module's conf for a backend from the service's health section. */
static void conf_of(const struct state_health *sh, const struct backend_info *b,
		    struct health_conf *hc)
{
	unsigned int i;

	health_conf_init(hc);
	hc->type = sh->type == STATE_HC_TCP    ? HEALTH_TCP
		   : sh->type == STATE_HC_HTTP ? HEALTH_HTTP
					       : HEALTH_HTTPS;
	hc->addr = b->be.addr;
	hc->port = sh->port ? sh->port : b->port;
	if (sh->path[0])
		snprintf(hc->path, sizeof(hc->path), "%s", sh->path);
	snprintf(hc->body, sizeof(hc->body), "%s", sh->body);
	for (i = 0; i < sh->ncodes && i < HEALTH_CODES_MAX; i++) {
		hc->codes[i].lo = sh->codes[i];
		hc->codes[i].hi = sh->codes[i];
	}
	hc->ncodes = i;
	if (sh->interval_ms)
		hc->interval_ms = sh->interval_ms;
	if (sh->timeout_ms)
		hc->timeout_ms = sh->timeout_ms;
	if (sh->rise)
		hc->rise = sh->rise;
	if (sh->fall)
		hc->fall = sh->fall;
}

void checks_sync(struct daemon *d, const struct state *s)
{
	struct checks *c = d->checks;
	__u8 *want;
	size_t i, j, n;
	__u32 id;

	if (!c)
		return;
	want = calloc(SLUICE_MAX_BACKENDS, 1);
	if (!want)
		return;
	for (i = 0; i < s->nservices; i++) {
		const struct state_service *sv = &s->services[i];
		struct backend_info *list = NULL;

		if (sv->health.type == STATE_HC_NONE)
			continue;
		n = 0;
		if (backend_list(&d->maps, &sv->key, &list, &n)) {
			err_clear();
			continue;
		}
		for (j = 0; j < n; j++) {
			struct health_conf hc;
			int err;

			id = list[j].id;
			if (id >= SLUICE_MAX_BACKENDS)
				continue;
			conf_of(&sv->health, &list[j], &hc);
			err = c->on[id] ? health_update(c->h, id, &hc) : health_add(c->h, id, &hc);
			if (err) {
				log_warn("health: cannot check backend %u: %s", id,
					 *err_msg() ? err_msg() : strerror(-err));
				continue;
			}
			c->on[id] = want[id] = 1;
		}
		free(list);
	}
	for (id = 0; id < SLUICE_MAX_BACKENDS; id++) {
		if (c->on[id] && !want[id]) {
			health_del(c->h, id);
			c->on[id] = 0;
		}
	}
	free(want);
	log_info("health: %zu checks", health_count(c->h));
}
