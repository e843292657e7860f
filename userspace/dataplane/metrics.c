// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Prometheus text exposition of the pinned maps (see metrics.h): one pass
 * per family over the services (maps_svc_list) and the backend slots
 * (maps_read_backends), counters summed over CPUs by maps.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "backend.h"
#include "err.h"
#include "hoststats.h"
#include "maps.h"
#include "metrics.h"
#include "pacing.h"
#include "reason.h"
#include "svc.h"

void metrics_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{service="...",backend="..."} value (labels NULL: left out). */
static void sample(FILE *f, const char *name, const char *svc, const char *be, const char *reason,
		   unsigned long long value)
{
	int any = 0;

	fputs(name, f);
	if (svc || be || reason)
		fputc('{', f);
	if (svc) {
		fputs("service=\"", f);
		metrics_label(f, svc);
		fputc('"', f);
		any = 1;
	}
	if (be) {
		fputs(any ? ",backend=\"" : "backend=\"", f);
		metrics_label(f, be);
		fputc('"', f);
		any = 1;
	}
	if (reason) {
		fputs(any ? ",reason=\"" : "reason=\"", f);
		metrics_label(f, reason);
		fputc('"', f);
	}
	if (svc || be || reason)
		fputc('}', f);
	fprintf(f, " %llu\n", value);
}

struct view {
	struct maps_svc_entry *svcs;
	size_t nsvcs;
	struct sluice_backend *bes; /* SLUICE_MAX_BACKENDS slots */
	struct sluice_breaker *brks;
	char (*svc_name)[SVC_KEY_STRLEN]; /* per entry of svcs */
};

static const struct maps_svc_entry *svc_of(const struct view *v, __u32 id, size_t *idx)
{
	size_t i;

	for (i = 0; i < v->nsvcs; i++)
		if (v->svcs[i].svc.id == id) {
			*idx = i;
			return &v->svcs[i];
		}
	return NULL;
}

static void be_name(const struct view *v, __u32 id, const struct maps_svc_entry *e, char *buf,
		    size_t len)
{
	char a[ADDR_STRLEN];

	if (addr_format(&v->bes[id].addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s %u", a, (unsigned int)backend_port(&v->bes[id], &e->key));
}

static int global_counters(const struct sluice_maps *m, FILE *f)
{
	struct sluice_counter c[SLUICE_R_MAX];
	unsigned int r;
	int err = maps_read_global(m, c);

	if (err)
		return err;
	header(f, "sluice_packets_total", "counter", "Packets by verdict reason, all services.");
	for (r = 0; r < SLUICE_R_MAX; r++)
		if (reason_name(r))
			sample(f, "sluice_packets_total", NULL, NULL, reason_name(r), c[r].packets);
	header(f, "sluice_bytes_total", "counter", "Bytes by verdict reason, all services.");
	for (r = 0; r < SLUICE_R_MAX; r++)
		if (reason_name(r))
			sample(f, "sluice_bytes_total", NULL, NULL, reason_name(r), c[r].bytes);
	return 0;
}

/* Failover outcomes per service (sl_fo_svc). */
static int failover_counters(const struct sluice_maps *m, const struct view *v, FILE *f)
{
	static const char *const names[] = { "sluice_service_redispatched_total",
					     "sluice_service_retry_exhausted_total",
					     "sluice_service_fast_trips_total" };
	static const char *const helps[] = {
		"Connections moved after a failure (failover) that then succeeded.",
		"Connections moved after a failure whose last failure reached the client.",
		"Breakers the data plane opened itself (breaker-fast-trip)."
	};
	struct sluice_fo_counter *fo = calloc(v->nsvcs + 1, sizeof(*fo));
	size_t i, k;
	int err = 0;

	if (!fo)
		return -ENOMEM;
	for (i = 0; i < v->nsvcs && !err; i++)
		err = maps_read_fo_stats(m, 0, v->svcs[i].svc.id, &fo[i]);
	for (k = 0; k < 3 && !err; k++) {
		header(f, names[k], "counter", helps[k]);
		for (i = 0; i < v->nsvcs; i++)
			sample(f, names[k], v->svc_name[i], NULL, NULL,
			       k == 0	? fo[i].redispatched
			       : k == 1 ? fo[i].retry_exhausted
					: fo[i].fast_trips);
	}
	free(fo);
	return err;
}

static int service_counters(const struct sluice_maps *m, const struct view *v, FILE *f)
{
	struct sluice_counter(*c)[SLUICE_R_MAX] = calloc(v->nsvcs + 1, sizeof(*c));
	unsigned int r;
	size_t i;
	int err = 0;

	if (!c)
		return -ENOMEM;
	for (i = 0; i < v->nsvcs && !err; i++)
		err = maps_read_svc_counters(m, v->svcs[i].svc.id, c[i]);
	if (err)
		goto out;
	header(f, "sluice_service_packets_total", "counter", "Packets of a service by verdict.");
	for (i = 0; i < v->nsvcs; i++)
		for (r = 0; r < SLUICE_R_MAX; r++)
			if (reason_is_service(r) && reason_name(r))
				sample(f, "sluice_service_packets_total", v->svc_name[i], NULL,
				       reason_name(r), c[i][r].packets);
	header(f, "sluice_service_bytes_total", "counter", "Bytes of a service by verdict.");
	for (i = 0; i < v->nsvcs; i++)
		for (r = 0; r < SLUICE_R_MAX; r++)
			if (reason_is_service(r) && reason_name(r))
				sample(f, "sluice_service_bytes_total", v->svc_name[i], NULL,
				       reason_name(r), c[i][r].bytes);
	err = failover_counters(m, v, f);
out:
	free(c);
	return err;
}

/* The backends in use, with their service index. */
static size_t backends_in_use(const struct view *v, __u32 *ids, size_t *svc_idx)
{
	size_t n = 0, k;
	__u32 id;

	for (id = 0; id < SLUICE_MAX_BACKENDS; id++) {
		if (v->bes[id].state == SLUICE_BE_UNUSED || !svc_of(v, v->bes[id].svc_id, &k))
			continue;
		ids[n] = id;
		svc_idx[n++] = k;
	}
	return n;
}

static int backend_series(const struct sluice_maps *m, const struct view *v,
			  const struct metrics_source *src, FILE *f)
{
	static const char *const names[] = { "sluice_backend_packets_total",
					     "sluice_backend_bytes_total",
					     "sluice_backend_new_flows_total",
					     "sluice_backend_redispatched_total",
					     "sluice_backend_retry_exhausted_total" };
	static const char *const helps[] = {
		"Packets sent to a backend.", "Bytes sent to a backend (before encapsulation).",
		"New flows steered to a backend.",
		"Connections moved here after a failure elsewhere that then succeeded (failover).",
		"Connections moved after a failure whose failure here reached the client."
	};
	__u32 *ids = calloc(SLUICE_MAX_BACKENDS, sizeof(*ids));
	size_t *sidx = calloc(SLUICE_MAX_BACKENDS, sizeof(*sidx));
	struct sluice_be_counter *c = calloc(SLUICE_MAX_BACKENDS, sizeof(*c));
	struct sluice_fo_counter *fo = calloc(SLUICE_MAX_BACKENDS, sizeof(*fo));
	char name[ADDR_STRLEN + 8];
	size_t n = 0, i, k;
	int err = 0;

	if (!ids || !sidx || !c || !fo) {
		err = -ENOMEM;
		goto out;
	}
	n = backends_in_use(v, ids, sidx);
	for (i = 0; i < n && !err; i++) {
		err = maps_read_be_counters(m, ids[i], &c[i]);
		if (!err)
			err = maps_read_fo_stats(m, 1, ids[i], &fo[i]);
	}
	if (err)
		goto out;
	for (k = 0; k < 5; k++) {
		header(f, names[k], "counter", helps[k]);
		for (i = 0; i < n; i++) {
			__u64 val = k == 0   ? c[i].packets
				    : k == 1 ? c[i].bytes
				    : k == 2 ? c[i].new_flows
				    : k == 3 ? fo[i].redispatched
					     : fo[i].retry_exhausted;

			be_name(v, ids[i], &v->svcs[sidx[i]], name, sizeof(name));
			sample(f, names[k], v->svc_name[sidx[i]], name, NULL, val);
		}
	}
	header(f, "sluice_breaker_state", "gauge",
	       "Circuit breaker of a backend: 0 closed, 1 open, 2 half-open.");
	for (i = 0; i < n; i++) {
		be_name(v, ids[i], &v->svcs[sidx[i]], name, sizeof(name));
		sample(f, "sluice_breaker_state", v->svc_name[sidx[i]], name, NULL,
		       v->brks[ids[i]].state);
	}
	header(f, "sluice_backend_up", "gauge",
	       "Active health check of a backend: 1 up, 0 down (checked backends only).");
	for (i = 0; src && src->backend_up && i < n; i++) {
		int up = src->backend_up(src->ctx, ids[i]);

		if (up < 0)
			continue;
		be_name(v, ids[i], &v->svcs[sidx[i]], name, sizeof(name));
		sample(f, "sluice_backend_up", v->svc_name[sidx[i]], name, NULL, (unsigned)up);
	}
out:
	free(ids);
	free(sidx);
	free(c);
	free(fo);
	return err;
}

static int bulkheads(const struct sluice_maps *m, const struct view *v, FILE *f)
{
	struct sluice_svc_res *res = calloc(SLUICE_MAX_SERVICES, sizeof(*res));
	struct sluice_res_global g;
	__s64 *use = calloc(v->nsvcs + 1, sizeof(*use)), guse = 0;
	size_t i;
	int err;

	if (!res || !use) {
		err = -ENOMEM;
		goto out;
	}
	err = maps_read_svc_res_all(m, res);
	if (!err)
		err = maps_read_res_global(m, &g);
	if (!err)
		err = maps_read_conns(m, SLUICE_CONNS_GLOBAL, &guse);
	for (i = 0; i < v->nsvcs && !err; i++)
		err = maps_read_conns(m, v->svcs[i].svc.id, &use[i]);
	if (err)
		goto out;
	header(f, "sluice_bulkhead_in_use", "gauge",
	       "Connections holding a bulkhead slot (service=\"global\": all services).");
	sample(f, "sluice_bulkhead_in_use", "global", NULL, NULL,
	       (unsigned long long)(guse > 0 ? guse : 0));
	for (i = 0; i < v->nsvcs; i++)
		sample(f, "sluice_bulkhead_in_use", v->svc_name[i], NULL, NULL,
		       (unsigned long long)(use[i] > 0 ? use[i] : 0));
	header(f, "sluice_bulkhead_limit", "gauge",
	       "Bulkhead limit, max-conns (0: no limit; service=\"global\": all services).");
	sample(f, "sluice_bulkhead_limit", "global", NULL, NULL, g.max_conns);
	for (i = 0; i < v->nsvcs; i++)
		sample(f, "sluice_bulkhead_limit", v->svc_name[i], NULL, NULL,
		       v->svcs[i].svc.id < SLUICE_MAX_SERVICES ? res[v->svcs[i].svc.id].max_conns
							       : 0);
	/* From the same sl_svc_res values: the breaker engine's panic verdict. */
	header(f, "sluice_service_panic", "gauge",
	       "1 while a service is in panic: too few healthy backends, breakers ignored.");
	for (i = 0; i < v->nsvcs; i++)
		sample(f, "sluice_service_panic", v->svc_name[i], NULL, NULL,
		       v->svcs[i].svc.id < SLUICE_MAX_SERVICES &&
			       (res[v->svcs[i].svc.id].flags & SLUICE_RES_PANIC));
out:
	free(res);
	free(use);
	return err;
}

/*
 * The host side's connects per service and outcome, and its connections
 * held: only when a cgroup was ever attached (its maps exist), and only
 * the services it touched.
 */
static int host_series(const struct sluice_maps *m, const struct view *v, FILE *f)
{
	static const char *const outcome[] = { "balanced", "refused_rate", "refused_bulkhead",
					       "refused_breaker", "no_backend" };
	struct sluice_host_counter *sum = calloc(v->nsvcs + 1, sizeof(*sum));
	__s64 *conns = calloc(v->nsvcs + 1, sizeof(*conns));
	struct host_stats h;
	size_t i, o;
	int err = 0;

	if (!sum || !conns) {
		err = -ENOMEM;
		goto out;
	}
	if (host_stats_open(m->root, &h)) {
		err_clear(); /* never attached: no series */
		goto out;
	}
	for (i = 0; i < v->nsvcs && !err; i++)
		err = host_stats_read(&h, v->svcs[i].svc.id, &sum[i], &conns[i]);
	host_stats_close(&h);
	if (err)
		goto out;
	header(f, "sluice_host_connects_total", "counter",
	       "Connects from attached cgroups to a service, by outcome (the host side).");
	for (i = 0; i < v->nsvcs; i++) {
		const __u64 n[] = { sum[i].balanced, sum[i].refused_rate, sum[i].refused_bh,
				    sum[i].refused_brk, sum[i].no_backend };

		if (!host_stats_any(&sum[i], conns[i]))
			continue;
		for (o = 0; o < sizeof(outcome) / sizeof(outcome[0]); o++)
			sample(f, "sluice_host_connects_total", v->svc_name[i], NULL, outcome[o],
			       n[o]);
	}
	header(f, "sluice_host_conns_in_use", "gauge",
	       "Outbound connections from attached cgroups holding a host bulkhead slot.");
	for (i = 0; i < v->nsvcs; i++)
		if (host_stats_any(&sum[i], conns[i]))
			sample(f, "sluice_host_conns_in_use", v->svc_name[i], NULL, NULL,
			       (unsigned long long)(conns[i] > 0 ? conns[i] : 0));
out:
	free(sum);
	free(conns);
	return err;
}

/*
 * Egress pacing per service: its egress-rate and what the TC egress did,
 * for the services with a rate or with packets counted (none: no family).
 */
static int pacing_series(const struct sluice_maps *m, const struct view *v, FILE *f)
{
	struct sluice_pace_counter *c = calloc(v->nsvcs + 1, sizeof(*c));
	__u64 *rate = calloc(v->nsvcs + 1, sizeof(*rate));
	size_t i;
	int err = 0;

	if (!c || !rate) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < v->nsvcs && !err; i++) {
		err = pacing_get(m, v->svcs[i].svc.id, &rate[i]);
		if (!err)
			err = pacing_read_counters(m, v->svcs[i].svc.id, &c[i]);
	}
	for (i = 0; i < v->nsvcs && !rate[i] && !c[i].packets; i++)
		;
	if (err || i == v->nsvcs)
		goto out; /* no pacing anywhere: no families */
	header(f, "sluice_egress_rate_bits", "gauge",
	       "A service's egress-rate on this host, bits per second (0: unlimited).");
	for (i = 0; i < v->nsvcs; i++)
		if (rate[i] || c[i].packets)
			sample(f, "sluice_egress_rate_bits", v->svc_name[i], NULL, NULL, rate[i]);
	header(f, "sluice_egress_packets_total", "counter",
	       "Packets of a paced service at the TC egress, sent or dropped (beyond the horizon).");
	for (i = 0; i < v->nsvcs; i++) {
		if (!rate[i] && !c[i].packets)
			continue;
		sample(f, "sluice_egress_packets_total", v->svc_name[i], NULL, "sent",
		       c[i].packets - c[i].dropped);
		sample(f, "sluice_egress_packets_total", v->svc_name[i], NULL, "dropped",
		       c[i].dropped);
	}
	header(f, "sluice_egress_delayed_total", "counter",
	       "Packets sent with a departure time in the future (held by fq).");
	for (i = 0; i < v->nsvcs; i++)
		if (rate[i] || c[i].packets)
			sample(f, "sluice_egress_delayed_total", v->svc_name[i], NULL, NULL,
			       c[i].delayed);
	header(f, "sluice_egress_bytes_total", "counter",
	       "Bytes of a paced service's packets at the TC egress, dropped ones included.");
	for (i = 0; i < v->nsvcs; i++)
		if (rate[i] || c[i].packets)
			sample(f, "sluice_egress_bytes_total", v->svc_name[i], NULL, NULL,
			       c[i].bytes);
out:
	free(c);
	free(rate);
	return err;
}

int metrics_render(const struct sluice_maps *m, const struct metrics_source *src, FILE *f)
{
	struct view v;
	size_t i;
	int err;

	memset(&v, 0, sizeof(v));
	v.bes = calloc(SLUICE_MAX_BACKENDS, sizeof(*v.bes));
	v.brks = calloc(SLUICE_MAX_BACKENDS, sizeof(*v.brks));
	if (!v.bes || !v.brks) {
		err = -ENOMEM;
		goto out;
	}
	err = maps_svc_list(m, &v.svcs, &v.nsvcs);
	if (!err)
		err = maps_read_backends(m, v.bes);
	if (!err)
		err = maps_read_breakers(m, v.brks);
	if (err)
		goto out;
	v.svc_name = calloc(v.nsvcs + 1, sizeof(*v.svc_name));
	if (!v.svc_name) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < v.nsvcs; i++)
		svc_key_format_args(&v.svcs[i].key, v.svc_name[i], sizeof(v.svc_name[i]));
	err = global_counters(m, f);
	if (!err)
		err = service_counters(m, &v, f);
	if (!err)
		err = backend_series(m, &v, src, f);
	if (!err)
		err = bulkheads(m, &v, f);
	if (!err)
		err = host_series(m, &v, f);
	if (!err)
		err = pacing_series(m, &v, f);
	if (!err && src && src->daemon) {
		header(f, "sluice_daemon_commands_total", "counter",
		       "Write commands the daemon journaled and ran.");
		sample(f, "sluice_daemon_commands_total", NULL, NULL, NULL, src->commands);
		header(f, "sluice_daemon_commands_failed_total", "counter",
		       "Write commands that did not apply.");
		sample(f, "sluice_daemon_commands_failed_total", NULL, NULL, NULL,
		       src->commands_failed);
	}
	if (err && !*err_msg())
		err_set("cannot read the maps for metrics: %s", strerror(-err));
out:
	free(v.svcs);
	free(v.bes);
	free(v.brks);
	free(v.svc_name);
	return err;
}
