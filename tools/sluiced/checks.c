// SPDX-License-Identifier: GPL-2.0-only
/*
 * Active health checks in the daemon: the health module (userspace/
 * health.c) runs a check per backend of every service whose config has a
 * health section; its one epoll fd is in the daemon's loop. After each
 * config apply, checks_sync() makes the set of checks match the config
 * (added, updated, removed by backend id). A transition is journaled
 * (JOURNAL_HEALTH {"service", "backend", "up", "why"}) and fed into the
 * backend's breaker: down writes OPEN into sl_breakers, marked
 * SLUICE_BRK_HEALTH_DOWN, which the breaker engine adopts as cause
 * health_down (held open, no traffic); up writes CLOSED marked
 * SLUICE_BRK_HEALTH_UP, adopted as health_up.
 *
 * The checks' state (up or down, why, since) goes to the health state
 * file beside the control socket (userspace/hstate.h) for `sluice backend
 * show`: rewritten (atomically) when it changed, looked at after every
 * transition, every sync and every housekeeping tick; removed on exit.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "backend.h"
#include "clock.h"
#include "err.h"
#include "health.h"
#include "hstate.h"
#include "journal.h"
#include "res.h"
#include "sluiced.h"
#include "state.h"
#include "svc.h"

struct checks {
	struct health *h;
	struct loop_src src;
	__u8 *on;	     /* SLUICE_MAX_BACKENDS: 1 when backend id has a check */
	struct health *role; /* role endpoints: "up" means primary */
	struct loop_src role_src;
	__u8 *role_on;		   /* SLUICE_MAX_BACKENDS: 1 when backend id has a role check */
	char state_path[PATH_MAX]; /* the health state file ("" when none) */
	char *state_text;	   /* what it holds (NULL: not written) */
};

/* The health state file's text for c's checks (malloc'ed), or NULL. */
static char *state_text(struct daemon *d, struct checks *c)
{
	struct json_object *doc = json_object_new_object(), *bes = json_object_new_object();
	__u64 mono = clock_mono_ms();
	__s64 real = (__s64)time(NULL);
	char *text = NULL;
	__u32 id;

	if (!doc || !bes) {
		json_object_put(doc);
		json_object_put(bes);
		return NULL;
	}
	json_object_object_add(doc, "pid", json_object_new_int64((int64_t)getpid()));
	json_object_object_add(doc, "pin_root", json_object_new_string(d->pin_root));
	for (id = 0; id < SLUICE_MAX_BACKENDS; id++) {
		struct health_status st;
		struct json_object *b;
		const char *why;
		char k[16];

		if (!c->on[id] || health_status(c->h, id, &st))
			continue;
		b = json_object_new_object();
		if (!b)
			continue;
		/* The latest result says why it is down now; before any, the transition's. */
		why = st.why[0] ? st.why : st.change_why[0] ? st.change_why : "not checked yet";
		json_object_object_add(b, "up", json_object_new_boolean(st.up));
		json_object_object_add(b, "why", json_object_new_string(why));
		json_object_object_add(
			b, "since",
			json_object_new_int64(real - (__s64)((mono - st.since_ms) / 1000)));
		snprintf(k, sizeof(k), "%u", (unsigned int)id);
		json_object_object_add(bes, k, b);
	}
	json_object_object_add(doc, "backends", bes);
	text = strdup(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
	return text;
}

/* Rewrite the health state file when what it says changed. */
static void state_write(struct daemon *d)
{
	struct checks *c = d->checks;
	char *text;
	int err;

	if (!c || !c->state_path[0])
		return;
	text = state_text(d, c);
	if (!text || (c->state_text && !strcmp(text, c->state_text))) {
		free(text);
		return;
	}
	err = hstate_write(c->state_path, text);
	if (err) {
		log_warn("health: cannot write %s: %s", c->state_path, strerror(-err));
		free(text);
		return;
	}
	free(c->state_text);
	c->state_text = text;
}

void checks_tick(struct daemon *d)
{
	state_write(d);
}

/*
 * Backend id's record and, as command words, its service ("ADDR PORT
 * PROTO"), address and port. 0, or -errno (no message) when it has none.
 */
static int backend_words(struct daemon *d, __u32 id, struct sluice_backend *be,
			 char k[SVC_KEY_STRLEN], char a[ADDR_STRLEN], unsigned int *port)
{
	struct maps_svc_entry *svcs = NULL;
	size_t n = 0, i;
	int err;

	err = maps_read_backend(&d->maps, id, be);
	if (!err)
		err = maps_svc_list(&d->maps, &svcs, &n);
	if (err) {
		err_clear();
		return err;
	}
	err = -ENOENT;
	for (i = 0; i < n && err; i++) {
		if (svcs[i].svc.id != be->svc_id || addr_format(&be->addr, a, ADDR_STRLEN))
			continue;
		svc_key_format_args(&svcs[i].key, k, SVC_KEY_STRLEN);
		*port = backend_port(be, &svcs[i].key);
		err = 0;
	}
	free(svcs);
	return err;
}

static void on_change(void *ctx, __u32 id, int up, const char *why)
{
	struct daemon *d = ctx;
	struct sluice_backend be;
	char a[ADDR_STRLEN], k[SVC_KEY_STRLEN] = "?", bk[ADDR_STRLEN + 8] = "?";
	struct json_object *o;
	unsigned int port;
	int err;

	if (!backend_words(d, id, &be, k, a, &port))
		snprintf(bk, sizeof(bk), "%s %u", a, port);
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
	/* The mark makes the engine report health_down / health_up, not an operator's hand. */
	err = res_breaker_write(&d->maps, id, up ? SLUICE_BRK_CLOSED : SLUICE_BRK_OPEN,
				up ? SLUICE_BRK_HEALTH_UP : SLUICE_BRK_HEALTH_DOWN);
	if (err)
		log_warn("health: cannot set the breaker of backend %u: %s", id, err_msg());
	breakers_refresh(d);
	/* The status is recorded before the callback: the file says down now. */
	state_write(d);
}

/*
 * A backend's role endpoint changed its answer: primary makes it the
 * service's leader; a leader that stops saying primary is no longer one
 * (write flows are refused until a backend says primary again).
 */
static void on_role(void *ctx, __u32 id, int primary, const char *why)
{
	struct daemon *d = ctx;
	struct sluice_leader l;
	struct sluice_backend be;
	char k[SVC_KEY_STRLEN], a[ADDR_STRLEN], port[8], *argv[12], *save = NULL, *w;
	char *out = NULL, *errtext = NULL;
	unsigned int p;
	__u32 key;
	__s64 seq;
	int argc = 0;

	if (backend_words(d, id, &be, k, a, &p))
		return;
	snprintf(port, sizeof(port), "%u", p);
	key = be.svc_id;
	if (!primary && (bpf_map_lookup_elem(d->maps.leaders, &key, &l) || l.backend != id + 1))
		return; /* a replica saying so: nothing changes */
	argv[argc++] = "leader";
	argv[argc++] = "set";
	for (w = strtok_r(k, " ", &save); w && argc < 5; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	if (primary) {
		argv[argc++] = a;
		argv[argc++] = "port";
		argv[argc++] = port;
	} else {
		argv[argc++] = "none";
	}
	argv[argc++] = "source";
	argv[argc++] = "role";
	argv[argc] = NULL;
	log_info("role of %s port %s: %s (%s)", a, port, primary ? "primary" : "not primary", why);
	if (daemon_run_command(d, argc, argv, 0, 0, &out, &errtext, &seq))
		log_warn("role: leader set failed: %s", errtext ? errtext : "?");
	free(out);
	free(errtext);
}

/* An engine's fd is readable: the health checks' (c->src) or the role checks'. */
static void on_ready(struct daemon *d, struct loop_src *src, __u32 events)
{
	struct checks *c = d->checks;
	int role = src == &c->role_src;
	int err;

	(void)events;
	err = health_dispatch(role ? c->role : c->h, clock_mono_ms());
	if (err)
		log_warn("%s: %s", role ? "role checks" : "health", strerror(-err));
}

/* A health engine reporting to changed, its fd in the loop as src. */
static int engine_open(struct daemon *d, struct health **h, health_change_fn changed,
		       struct loop_src *src)
{
	int err = health_new(h, changed, d);

	if (err)
		return err;
	src->fd = health_fd(*h);
	src->fn = on_ready;
	return loop_add(d, src, EPOLLIN);
}

int checks_open(struct daemon *d)
{
	struct checks *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	c->on = calloc(SLUICE_MAX_BACKENDS, 1);
	c->role_on = calloc(SLUICE_MAX_BACKENDS, 1);
	if (!c->on || !c->role_on) {
		free(c->on);
		free(c->role_on);
		free(c);
		return -ENOMEM;
	}
	d->checks = c;
	if (hstate_path(d->socket_path, c->state_path, sizeof(c->state_path)))
		c->state_path[0] = 0;
	err = engine_open(d, &c->h, on_change, &c->src);
	if (!err)
		err = engine_open(d, &c->role, on_role, &c->role_src);
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
	if (c->role) {
		loop_del(d, &c->role_src);
		health_free(c->role);
	}
	free(c->role_on);
	if (c->state_text)
		unlink(c->state_path);
	free(c->state_text);
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

/* A check removed: a breaker it held open is closed (health_up), not left held for ever. */
static void release(struct daemon *d, __u32 id)
{
	struct sluice_breaker b;

	if (bpf_map_lookup_elem(d->maps.breakers, &id, &b) || b.state != SLUICE_BRK_OPEN ||
	    b.probes_left != SLUICE_BRK_HEALTH_DOWN)
		return;
	log_info("health: the check of backend %u is gone: its breaker is released", id);
	if (res_breaker_write(&d->maps, id, SLUICE_BRK_CLOSED, SLUICE_BRK_HEALTH_UP))
		log_warn("health: cannot release the breaker of backend %u: %s", id, err_msg());
	err_clear();
}

/*
 * Make h's checks those of every backend of s's services whose health
 * section (role 0) or leader role section (role 1) is set; on[] says which
 * backend ids have one. Role checks start down ("not primary", rise 1,
 * fall 1), so the first answer decides, and expect 200 unless told.
 */
static void sync_set(struct daemon *d, const struct state *s, int role, struct health *h, __u8 *on,
		     __u8 *want)
{
	const char *what = role ? "role" : "health";
	size_t i, j, n;
	__u32 id;

	memset(want, 0, SLUICE_MAX_BACKENDS);
	for (i = 0; i < s->nservices; i++) {
		const struct state_service *sv = &s->services[i];
		const struct state_health *sh = role ? &sv->role : &sv->health;
		struct backend_info *list = NULL;

		if (sh->type == STATE_HC_NONE)
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
			conf_of(sh, &list[j], &hc);
			if (role) {
				if (!sh->ncodes) {
					hc.codes[0].lo = hc.codes[0].hi = 200;
					hc.ncodes = 1;
				}
				hc.rise = hc.fall = 1;
				hc.start_down = 1;
			}
			err = on[id] ? health_update(h, id, &hc) : health_add(h, id, &hc);
			if (err) {
				log_warn("%s: cannot check backend %u: %s", what, id,
					 err_text(err));
				continue;
			}
			on[id] = want[id] = 1;
		}
		free(list);
	}
	for (id = 0; id < SLUICE_MAX_BACKENDS; id++) {
		if (on[id] && !want[id]) {
			health_del(h, id);
			on[id] = 0;
			if (!role)
				release(d, id);
		}
	}
	if (!role || health_count(h))
		log_info("%s: %zu checks", what, health_count(h));
}

void checks_sync(struct daemon *d, const struct state *s)
{
	struct checks *c = d->checks;
	__u8 *want;

	if (!c)
		return;
	want = calloc(SLUICE_MAX_BACKENDS, 1);
	if (!want)
		return;
	sync_set(d, s, 0, c->h, c->on, want);
	sync_set(d, s, 1, c->role, c->role_on, want);
	free(want);
	breakers_refresh(d); /* breakers a removed check released */
	state_write(d);
}
