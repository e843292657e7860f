// SPDX-License-Identifier: GPL-2.0-only
/*
 * Leaders of services (cluster_int.h): a service whose config names an
 * election follows it (observe); each new leader value is run as `leader
 * set SERVICE VALUE source election`, journaled like any command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "etcd.h"
#include "sluiced.h"
#include "state.h"
#include "svc.h"
#include "cluster_int.h"

/* leader set SERVICE VALUE source election, through the journal; rc. */
static int follow_apply(struct follow *f, char *value)
{
	char words[SVC_KEY_STRLEN], *argv[10], *save = NULL, *w;
	int n = 0;

	argv[n++] = "leader";
	argv[n++] = "set";
	/* The service as three words: ADDR PORT PROTO. */
	snprintf(words, sizeof(words), "%s", f->svc);
	for (w = strtok_r(words, " ", &save); w && n < 5; w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	argv[n++] = value;
	argv[n++] = "source";
	argv[n++] = "election";
	argv[n] = NULL;
	return cluster_run_cmd(f->c, n, argv);
}

static void on_follow(void *ctx, const struct etcd_event *ev)
{
	struct follow *f = ctx;
	char value[256];
	__u64 t0 = clock_mono_us();

	if (ev->type != ETCD_EV_PUT && ev->type != ETCD_EV_DELETE)
		return; /* etcd unreachable: the last leader known keeps the writes */
	if (ev->type == ETCD_EV_PUT)
		snprintf(value, sizeof(value), "%.*s", (int)ev->kv.value_len, ev->kv.value);
	else
		snprintf(value, sizeof(value), "none");
	if (!strcmp(value, f->leader))
		return;
	snprintf(f->leader, sizeof(f->leader), "%s", value);
	/*
	 * A leader that is not one of our backends: the old one is no longer
	 * the leader either, so writes are refused rather than sent there.
	 */
	if (follow_apply(f, value) && strcmp(value, "none")) {
		log_warn("cluster: election %s names %s, not a backend of %s: no leader",
			 f->election, value, f->svc);
		follow_apply(f, "none");
	}
	f->changes++;
	f->last_apply_us = clock_mono_us() - t0;
	log_info("cluster: election %s: leader of %s is %s (applied in %llu us)", f->election,
		 f->svc, value, (unsigned long long)f->last_apply_us);
	cluster_status_write(f->c);
}

static void follow_free(struct cluster *c, struct follow *f)
{
	if (f && f->s)
		etcd_stream_cancel(c->e, f->s);
	free(f);
}

void cluster_follows_free(struct cluster *c)
{
	size_t i;

	for (i = 0; i < c->nfollows; i++)
		follow_free(c, c->follows[i]);
	free(c->follows);
	c->follows = NULL;
	c->nfollows = 0;
}

/* The follow of (key, election) in old[0..n), taken out of it; NULL if none. */
static struct follow *follow_take(struct follow **old, size_t n, const struct sluice_svc_key *key,
				  const char *election)
{
	struct follow *f;
	size_t i;

	for (i = 0; i < n; i++) {
		f = old[i];
		if (f && !memcmp(&f->key, key, sizeof(*key)) && !strcmp(f->election, election)) {
			old[i] = NULL;
			return f;
		}
	}
	return NULL;
}

void cluster_sync(struct daemon *d, const struct state *s)
{
	struct cluster *c = d->cluster;
	struct follow **old, **now, *f;
	size_t i, n = 0, nold;

	if (!c)
		return;
	for (i = 0; i < s->nservices; i++)
		n += s->services[i].election[0] != 0;
	now = calloc(n ? n : 1, sizeof(*now));
	if (!now)
		return;
	old = c->follows;
	nold = c->nfollows;
	c->follows = now;
	c->nfollows = 0;
	/* Unchanged ones keep their stream: a reload does not re-set every leader. */
	for (i = 0; i < s->nservices; i++) {
		const struct state_service *sv = &s->services[i];

		if (!sv->election[0])
			continue;
		f = follow_take(old, nold, &sv->key, sv->election);
		if (!f) {
			f = calloc(1, sizeof(*f));
			if (!f)
				continue;
			f->c = c;
			f->key = sv->key;
			svc_key_format_args(&sv->key, f->svc, sizeof(f->svc));
			snprintf(f->election, sizeof(f->election), "%s", sv->election);
			if (etcd_observe(c->e, f->election, on_follow, f, &f->s)) {
				log_warn("cluster: cannot follow election %s: %s", f->election,
					 err_msg());
				free(f);
				continue;
			}
		}
		now[c->nfollows++] = f;
	}
	for (i = 0; i < nold; i++)
		follow_free(c, old[i]);
	free(old);
	log_info("cluster: following %zu elections", c->nfollows);
}
