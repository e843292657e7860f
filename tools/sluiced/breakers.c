// SPDX-License-Identifier: GPL-2.0-only
/*
 * The circuit breakers, live: the library's breaker engine (watchloop.h:
 * the sl_events ring buffer, the sweep and its SYN timeouts, the re-read of
 * services, backends and operator overrides, the machines' own transitions),
 * the same one `sluice breaker watch` runs, polled in the daemon's loop.
 * Every transition is journaled as JOURNAL_BREAKER {"service", "backend",
 * "from", "to", "cause"} and counted by cause for the metrics; a failing
 * step is logged and the engine goes on.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "addr.h"
#include "backend.h"
#include "breaker.h"
#include "clock.h"
#include "err.h"
#include "journal.h"
#include "metrics.h"
#include "sluiced.h"
#include "svc.h"
#include "watch.h"
#include "watchloop.h"

/* Transitions of one backend by cause, for sluice_breaker_transitions_total. */
struct brk_count {
	char svc[SVC_KEY_STRLEN];
	char be[ADDR_STRLEN + 16];
	__u64 n[BRK_CAUSE_LAST + 1]; /* by enum brk_cause */
};

struct breakers {
	struct watchloop *l;
	struct loop_src src;
	struct daemon *d;
	struct brk_count *counts; /* one per backend that ever changed */
	size_t ncounts;
};

/* Count a transition of (svc, be); out of memory loses the count, nothing else. */
static void count(struct breakers *b, const char *svc, const char *be, enum brk_cause cause)
{
	struct brk_count *c;
	size_t i;

	if ((unsigned int)cause >= sizeof(c->n) / sizeof(c->n[0]))
		return;
	for (i = 0; i < b->ncounts; i++)
		if (!strcmp(b->counts[i].svc, svc) && !strcmp(b->counts[i].be, be))
			break;
	if (i == b->ncounts) {
		c = realloc(b->counts, (b->ncounts + 1) * sizeof(*c));
		if (!c)
			return;
		b->counts = c;
		memset(&c[i], 0, sizeof(c[i]));
		snprintf(c[i].svc, sizeof(c[i].svc), "%s", svc);
		snprintf(c[i].be, sizeof(c[i].be), "%s", be);
		b->ncounts++;
	}
	b->counts[i].n[cause]++;
}

void breakers_metrics(struct daemon *d, FILE *f)
{
	struct breakers *b = d->brk;
	size_t i;
	int c;

	if (!b)
		return;
	fprintf(f, "# HELP sluice_breaker_transitions_total Breaker transitions (and refused trips)"
		   " of a backend, by cause\n"
		   "# TYPE sluice_breaker_transitions_total counter\n");
	for (i = 0; i < b->ncounts; i++) {
		for (c = 1; c <= BRK_CAUSE_LAST; c++) {
			if (!b->counts[i].n[c])
				continue;
			fputs("sluice_breaker_transitions_total{service=\"", f);
			metrics_label(f, b->counts[i].svc);
			fputs("\",backend=\"", f);
			metrics_label(f, b->counts[i].be);
			fprintf(f, "\",reason=\"%s\"} %llu\n", brk_cause_name((enum brk_cause)c),
				(unsigned long long)b->counts[i].n[c]);
		}
	}
}

static void report(void *ctx, const struct sluice_svc_key *svc, const struct sluice_backend *be,
		   const struct brk_change *chg)
{
	struct breakers *b = ctx;
	char a[ADDR_STRLEN], k[SVC_KEY_STRLEN], bk[ADDR_STRLEN + 16];
	struct json_object *o = json_object_new_object();

	if (!o)
		return;
	if (addr_format(&be->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	svc_key_format_args(svc, k, sizeof(k));
	snprintf(bk, sizeof(bk), "%s %u", a, (unsigned int)backend_port(be, svc));
	json_object_object_add(o, "service", json_object_new_string(k));
	json_object_object_add(o, "backend", json_object_new_string(bk));
	json_object_object_add(o, "from", json_object_new_string(brk_state_name(chg->from)));
	json_object_object_add(o, "to", json_object_new_string(brk_state_name(chg->to)));
	json_object_object_add(o, "cause", json_object_new_string(brk_cause_name(chg->cause)));
	json_object_object_add(o, "failures", json_object_new_int64(chg->failures));
	json_object_object_add(o, "calls", json_object_new_int64(chg->calls));
	log_info("breaker of %s (service %s): %s -> %s (%s)", bk, k, brk_state_name(chg->from),
		 brk_state_name(chg->to), brk_cause_name(chg->cause));
	count(b, k, bk, chg->cause);
	daemon_journal(b->d, JOURNAL_BREAKER,
		       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE),
		       NULL);
	json_object_put(o);
	/* Every gateway runs the service's health checks itself: share only the rest. */
	if (chg->cause == BRK_CAUSE_HEALTH_DOWN || chg->cause == BRK_CAUSE_HEALTH_UP)
		return;
	snprintf(bk, sizeof(bk), "%s port %u", a, (unsigned int)backend_port(be, svc));
	cluster_breaker(b->d, svc, bk, chg->to);
}

static void report_panic(void *ctx, const struct sluice_svc_key *svc, int on, __u32 healthy,
			 __u32 active)
{
	struct breakers *b = ctx;
	struct json_object *o = json_object_new_object();
	char k[SVC_KEY_STRLEN];

	svc_key_format_args(svc, k, sizeof(k));
	if (on)
		log_warn(
			"service %s: panic: %u of %u active backends healthy, below its panic-threshold: new connections ignore the breakers",
			k, healthy, active);
	else
		log_info("service %s: panic over: %u of %u active backends healthy", k, healthy,
			 active);
	if (!o)
		return;
	json_object_object_add(o, "service", json_object_new_string(k));
	json_object_object_add(o, "panic", json_object_new_boolean(on));
	json_object_object_add(o, "healthy", json_object_new_int64(healthy));
	json_object_object_add(o, "active", json_object_new_int64(active));
	daemon_journal(b->d, JOURNAL_PANIC,
		       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE),
		       NULL);
	json_object_put(o);
}

static void check(int err, const char *what)
{
	if (err)
		log_warn("breakers: %s: %s", what, err_text(err));
	err_clear();
}

static void on_error(void *ctx, int err, const char *what)
{
	(void)ctx;
	check(err, what);
}

static void on_ready(struct daemon *d, struct loop_src *src, __u32 events)
{
	(void)src;
	(void)events;
	watchloop_dispatch(d->brk->l); /* a failing step went to on_error */
}

void breakers_refresh(struct daemon *d)
{
	struct breakers *b = d->brk;

	if (!b)
		return;
	check(watchloop_refresh(b->l), "refresh");
}

int breakers_state(struct daemon *d, __u32 id)
{
	__u32 state, f, c;
	__u64 next;

	if (!d->brk || watch_backend_state(watchloop_watch(d->brk->l), id, clock_mono_ms(), &state,
					   &f, &c, &next))
		return -1;
	return (int)state;
}

__s64 breakers_active_flows(struct daemon *d)
{
	return d->brk ? watchloop_stats(d->brk->l)->active_flows : -1;
}

int breakers_open(struct daemon *d)
{
	struct breakers *b = calloc(1, sizeof(*b));
	struct watchloop_conf conf = {
		.sweep_ms = SLUICED_SWEEP_MS,
		.report = report,
		.panic = report_panic,
		.on_error = on_error,
	};
	int err;

	if (!b)
		return -ENOMEM;
	b->d = d;
	b->src.fd = -1;
	d->brk = b;
	conf.ctx = b;
	err = watchloop_open(&d->maps, &conf, &b->l);
	if (err)
		goto fail;
	b->src.fd = watchloop_fd(b->l);
	b->src.fn = on_ready;
	err = loop_add(d, &b->src, EPOLLIN);
	if (err) {
		b->src.fd = -1;
		err_set("cannot set up the breakers' loop: %s", strerror(-err));
		goto fail;
	}
	log_info("breakers: watching %zu backends of %zu services (sweep every %u ms)",
		 watch_backends(watchloop_watch(b->l)), watch_services(watchloop_watch(b->l)),
		 SLUICED_SWEEP_MS);
	return 0;
fail:
	breakers_close(d);
	return err;
}

void breakers_close(struct daemon *d)
{
	struct breakers *b = d->brk;

	if (!b)
		return;
	if (b->src.fd >= 0)
		loop_del(d, &b->src);
	watchloop_close(b->l);
	free(b->counts);
	free(b);
	d->brk = NULL;
}
