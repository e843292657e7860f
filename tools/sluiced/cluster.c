// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluiced in a cluster of gateways, on etcd (userspace/etcd.h). Only with a
 * `cluster` section in the config file. Everything here is asynchronous:
 * the etcd client's fd and a 100 ms timer are in the daemon's loop.
 *
 * Session: one lease (cluster.lease-ttl), refreshed every third of its TTL.
 * When etcd has not confirmed it for 80 % of the TTL this gateway may have
 * lost it without knowing: it drops its VIPs first (fencing) and takes them
 * back only when a campaign succeeds again, so two gateways never answer
 * for one VIP for longer than the rest of the TTL.
 *
 * VIPs: one etcd election per VIP (<prefix>/vip/<address>), campaigned with
 * the lease and this gateway's name. The winner adds the VIP to its
 * interface and announces it (gratuitous ARP, unsolicited NA). etcd queues
 * the other candidates: a gateway that comes back waits behind the healthy
 * holder instead of taking the VIP back (sticky). At start every configured
 * VIP is removed from its interface: a gateway holds only what it won.
 *
 * Leaders of services: a service whose config names an election follows
 * it (observe); each new leader value is run as `leader set SERVICE VALUE
 * source election`, journaled like any command.
 *
 * Shared state (cluster.share): the desired state of the services, as the
 * YAML `sluice config dump` prints, is one key (<prefix>/config). After a
 * local change this gateway publishes it with a compare on the revision it
 * last saw; every gateway watches the key and applies a newer document as
 * a config diff (each command journaled). When two gateways publish at
 * once, etcd orders them: the later compare fails, that gateway applies
 * the winner's document, re-runs its own unpublished commands on top and
 * publishes again, so no acknowledged command is lost. On joining, the
 * cluster's document wins over the local file. Breaker transitions (to
 * open, to closed) are keys under <prefix>/breaker/; the others apply them
 * as `breaker trip` / `breaker reset`. An operator's `leader set` is a key
 * per service under <prefix>/leader/, run as is by the others (leaders
 * from elections and role endpoints are each gateway's own observation).
 *
 * The status (lease, endpoint, VIPs, elections) goes to cluster.json beside
 * the control socket for `sluice cluster show`.
 */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "breaker.h"
#include "clock.h"
#include "cmd.h"
#include "config.h"
#include "err.h"
#include "etcd.h"
#include "hstate.h"
#include "journal.h"
#include "sluiced.h"
#include "state.h"
#include "svc.h"
#include "vip.h"

#define CLUSTER_TICK_MS 100
#define CLUSTER_RETRY_MS 500
#define CLUSTER_CONFLICTS_MAX 8
#define CLUSTER_ANNOUNCES 3 /* announcements of a won VIP, a second apart */

struct cluster;

struct cvip {
	struct cluster *c;
	union sluice_addr addr;
	char iface[IF_NAMESIZE];
	char text[ADDR_STRLEN];
	char name[300];	  /* election name */
	int held;	  /* this gateway holds it (address on the interface) */
	char *leader_key; /* our leader key while held (for resign) */
	size_t leader_key_len;
	__s64 leader_rev;
	struct etcd_req *campaign;
	struct etcd_stream *observe;
	char holder[64];   /* the election's leader value ("" none known) */
	__u64 retry_at;	   /* campaign again at */
	__u64 announce_at; /* next announcement */
	int announces_left;
	__u64 since_ms; /* held since (realtime ms), or 0 */
};

struct follow {
	struct cluster *c;
	struct sluice_svc_key key;
	char svc[SVC_KEY_STRLEN];
	char election[128];
	struct etcd_stream *s;
	char leader[256];
	__u64 changes;
	__u64 last_apply_us; /* event to map written, microseconds */
};

struct cluster {
	struct daemon *d;
	struct state_cluster conf;
	struct etcd *e;
	struct loop_src efd, tick;
	/* lease */
	__s64 lease;
	int lease_busy;
	__u64 lease_ok_ms;
	__u64 keepalive_at, grant_at;
	__u64 fenced;
	/* VIPs and followed elections */
	size_t nvips;
	struct cvip *vips;
	size_t nfollows;
	struct follow **follows; /* each its own allocation: the stream's callback holds it */
	/* shared state */
	char cfg_key[200], brk_prefix[200], leader_prefix[200];
	int synced, sync_busy;
	__u64 sync_at;
	__s64 cfg_rev;
	int applying;
	int publish_busy, publish_due, conflicts;
	size_t publishing; /* pending commands the publish in flight includes */
	__u64 publish_at;
	struct journal_cmds pending;
	struct etcd_stream *cfg_watch, *brk_watch, *leader_watch;
	__u64 published, adopted, brk_published, brk_applied;
	/* status file */
	char status_path[PATH_MAX];
	char *status_text;
	__u64 status_at;
};

static __u64 ttl_ms(const struct cluster *c)
{
	return (__u64)c->conf.lease_ttl_s * 1000;
}

static void journal_event(struct cluster *c, struct json_object *o)
{
	json_object_object_add(o, "gateway", json_object_new_string(c->conf.name));
	daemon_journal(c->d, JOURNAL_ELECTION,
		       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE),
		       NULL);
	json_object_put(o);
}

/*
 * Run a command that came from the cluster (an election, another gateway):
 * journaled and applied like any write, but not published again.
 */
static int run_cmd(struct cluster *c, int argc, char **argv)
{
	char *out = NULL, *errtext = NULL;
	__s64 seq;
	int rc;

	c->applying++;
	rc = daemon_run_command(c->d, argc, argv, 0, 0, &out, &errtext, &seq);
	c->applying--;
	if (rc)
		log_warn("cluster: '%s %s ...' failed: %s", argv[0], argc > 1 ? argv[1] : "",
			 errtext && *errtext ? errtext
			 : rc < 0	     ? err_msg()
					     : "?");
	free(out);
	free(errtext);
	return rc;
}

/* --- status file --- */

static void status_write(struct cluster *c)
{
	struct json_object *doc = json_object_new_object(), *vips = json_object_new_array(),
			   *fl = json_object_new_array();
	const char *text;
	size_t i;
	int err;

	if (!doc || !vips || !fl || !c->status_path[0]) {
		json_object_put(doc);
		json_object_put(vips);
		json_object_put(fl);
		return;
	}
	json_object_object_add(doc, "gateway", json_object_new_string(c->conf.name));
	json_object_object_add(doc, "pid", json_object_new_int64((int64_t)getpid()));
	json_object_object_add(doc, "endpoint", json_object_new_string(etcd_endpoint(c->e)));
	json_object_object_add(doc, "failovers",
			       json_object_new_int64((int64_t)etcd_failovers(c->e)));
	json_object_object_add(doc, "lease", json_object_new_int64(c->lease));
	json_object_object_add(doc, "lease_ttl", json_object_new_int64(c->conf.lease_ttl_s));
	json_object_object_add(
		doc, "lease_ok",
		json_object_new_boolean(c->lease && clock_mono_ms() - c->lease_ok_ms < ttl_ms(c)));
	json_object_object_add(doc, "share", json_object_new_boolean(c->conf.share));
	json_object_object_add(doc, "synced", json_object_new_boolean(c->synced));
	json_object_object_add(doc, "config_revision", json_object_new_int64(c->cfg_rev));
	json_object_object_add(doc, "pending", json_object_new_int64((int64_t)c->pending.count));
	json_object_object_add(doc, "published", json_object_new_int64((int64_t)c->published));
	json_object_object_add(doc, "adopted", json_object_new_int64((int64_t)c->adopted));
	json_object_object_add(doc, "breakers_published",
			       json_object_new_int64((int64_t)c->brk_published));
	json_object_object_add(doc, "breakers_applied",
			       json_object_new_int64((int64_t)c->brk_applied));
	for (i = 0; i < c->nvips; i++) {
		struct json_object *v = json_object_new_object();

		if (!v)
			continue;
		json_object_object_add(v, "address", json_object_new_string(c->vips[i].text));
		json_object_object_add(v, "interface", json_object_new_string(c->vips[i].iface));
		json_object_object_add(v, "held", json_object_new_boolean(c->vips[i].held));
		json_object_object_add(v, "holder", json_object_new_string(c->vips[i].holder));
		json_object_object_add(v, "since_ms",
				       json_object_new_int64((int64_t)c->vips[i].since_ms));
		json_object_array_add(vips, v);
	}
	json_object_object_add(doc, "vips", vips);
	for (i = 0; i < c->nfollows; i++) {
		struct json_object *v = json_object_new_object();

		if (!v)
			continue;
		json_object_object_add(v, "service", json_object_new_string(c->follows[i]->svc));
		json_object_object_add(v, "election",
				       json_object_new_string(c->follows[i]->election));
		json_object_object_add(v, "leader", json_object_new_string(c->follows[i]->leader));
		json_object_object_add(v, "changes",
				       json_object_new_int64((int64_t)c->follows[i]->changes));
		json_object_object_add(
			v, "last_apply_us",
			json_object_new_int64((int64_t)c->follows[i]->last_apply_us));
		json_object_array_add(fl, v);
	}
	json_object_object_add(doc, "elections", fl);
	text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!c->status_text || strcmp(text, c->status_text)) {
		err = hstate_write(c->status_path, text);
		if (err) {
			log_warn("cluster: cannot write %s: %s", c->status_path, strerror(-err));
		} else {
			free(c->status_text);
			c->status_text = strdup(text);
		}
	}
	json_object_put(doc);
}

void cluster_metrics(struct daemon *d, FILE *f)
{
	struct cluster *c = d->cluster;
	size_t i;

	if (!c)
		return;
	fprintf(f,
		"# HELP sluice_cluster_lease_ok 1 while etcd confirms this gateway's lease\n"
		"# TYPE sluice_cluster_lease_ok gauge\n"
		"sluice_cluster_lease_ok %d\n"
		"# HELP sluice_cluster_etcd_failovers_total Moves to another etcd endpoint\n"
		"# TYPE sluice_cluster_etcd_failovers_total counter\n"
		"sluice_cluster_etcd_failovers_total %llu\n"
		"# HELP sluice_cluster_fenced_total VIPs dropped because etcd did not confirm the lease\n"
		"# TYPE sluice_cluster_fenced_total counter\n"
		"sluice_cluster_fenced_total %llu\n"
		"# HELP sluice_cluster_config_revision etcd revision of the shared config applied\n"
		"# TYPE sluice_cluster_config_revision gauge\n"
		"sluice_cluster_config_revision %lld\n"
		"# HELP sluice_cluster_config_pending Local commands not yet published\n"
		"# TYPE sluice_cluster_config_pending gauge\n"
		"sluice_cluster_config_pending %zu\n"
		"# HELP sluice_cluster_breakers_applied_total Breaker transitions applied from other gateways\n"
		"# TYPE sluice_cluster_breakers_applied_total counter\n"
		"sluice_cluster_breakers_applied_total %llu\n",
		c->lease && clock_mono_ms() - c->lease_ok_ms < ttl_ms(c),
		(unsigned long long)etcd_failovers(c->e), (unsigned long long)c->fenced,
		(long long)c->cfg_rev, c->pending.count, (unsigned long long)c->brk_applied);
	fprintf(f, "# HELP sluice_cluster_vip_held 1 when this gateway holds the VIP\n"
		   "# TYPE sluice_cluster_vip_held gauge\n");
	for (i = 0; i < c->nvips; i++)
		fprintf(f, "sluice_cluster_vip_held{vip=\"%s\"} %d\n", c->vips[i].text,
			c->vips[i].held);
	fprintf(f, "# HELP sluice_cluster_leader_changes_total Leader changes taken from an etcd "
		   "election\n"
		   "# TYPE sluice_cluster_leader_changes_total counter\n");
	for (i = 0; i < c->nfollows; i++)
		fprintf(f,
			"sluice_cluster_leader_changes_total{service=\"%s\",election=\"%s\"} %llu\n",
			c->follows[i]->svc, c->follows[i]->election,
			(unsigned long long)c->follows[i]->changes);
}

/* --- VIPs --- */

static void vip_drop(struct cvip *v, const char *why)
{
	struct cluster *c = v->c;
	struct json_object *o;
	int err;

	if (v->campaign) {
		struct etcd_req *r = v->campaign;

		v->campaign = NULL;
		etcd_cancel(c->e, r);
	}
	if (!v->held)
		return;
	v->held = 0;
	v->since_ms = 0;
	free(v->leader_key);
	v->leader_key = NULL;
	err = vip_del(v->iface, &v->addr);
	if (err)
		log_warn("cluster: cannot remove VIP %s from %s: %s", v->text, v->iface, err_msg());
	log_info("cluster: VIP %s released from %s (%s)", v->text, v->iface, why);
	o = json_object_new_object();
	if (o) {
		json_object_object_add(o, "vip", json_object_new_string(v->text));
		json_object_object_add(o, "event", json_object_new_string("released"));
		json_object_object_add(o, "why", json_object_new_string(why));
		journal_event(c, o);
	}
	v->retry_at = clock_mono_ms() + CLUSTER_RETRY_MS;
}

static void vip_announce_now(struct cvip *v)
{
	if (vip_announce(v->iface, &v->addr))
		log_warn("cluster: cannot announce VIP %s on %s: %s", v->text, v->iface, err_msg());
	v->announces_left--;
	v->announce_at = clock_mono_ms() + 1000;
}

static void on_campaign(void *ctx, const struct etcd_result *r)
{
	struct cvip *v = ctx;
	struct cluster *c = v->c;
	struct json_object *o;
	int err;

	v->campaign = NULL;
	if (r->err == -ECANCELED)
		return;
	if (r->err || !r->nkvs) {
		log_warn("cluster: campaign for VIP %s: %s", v->text,
			 r->err ? r->msg : "no leader key in the answer");
		v->retry_at = clock_mono_ms() + CLUSTER_RETRY_MS;
		return;
	}
	if (!c->lease || clock_mono_ms() - c->lease_ok_ms >= ttl_ms(c) * 4 / 5) {
		/* Won on a lease we cannot vouch for: wait until it is confirmed. */
		v->retry_at = clock_mono_ms() + CLUSTER_RETRY_MS;
		return;
	}
	free(v->leader_key);
	v->leader_key = malloc(r->kvs[0].key_len + 1);
	if (v->leader_key) {
		memcpy(v->leader_key, r->kvs[0].key, r->kvs[0].key_len);
		v->leader_key[r->kvs[0].key_len] = 0;
		v->leader_key_len = r->kvs[0].key_len;
	}
	v->leader_rev = r->kvs[0].create_revision;
	if (v->held)
		return;
	err = vip_add(v->iface, &v->addr);
	if (err) {
		log_err("cluster: won VIP %s but cannot add it to %s: %s", v->text, v->iface,
			err_msg());
		v->retry_at = clock_mono_ms() + CLUSTER_RETRY_MS;
		return;
	}
	v->held = 1;
	v->since_ms = journal_now_ns() / 1000000; /* CLOCK_REALTIME */
	snprintf(v->holder, sizeof(v->holder), "%s", c->conf.name);
	v->announces_left = CLUSTER_ANNOUNCES;
	vip_announce_now(v);
	log_info("cluster: VIP %s acquired on %s", v->text, v->iface);
	o = json_object_new_object();
	if (o) {
		json_object_object_add(o, "vip", json_object_new_string(v->text));
		json_object_object_add(o, "event", json_object_new_string("acquired"));
		journal_event(c, o);
	}
	status_write(c);
}

static void on_vip_observe(void *ctx, const struct etcd_event *ev)
{
	struct cvip *v = ctx;

	if (ev->type == ETCD_EV_PUT) {
		snprintf(v->holder, sizeof(v->holder), "%.*s", (int)ev->kv.value_len, ev->kv.value);
		/* etcd says someone else leads: whatever we think, we do not. */
		if (v->held && strcmp(v->holder, v->c->conf.name))
			vip_drop(v, "another gateway holds it");
	} else if (ev->type == ETCD_EV_DELETE) {
		v->holder[0] = 0;
	}
	status_write(v->c);
}

static void vips_tick(struct cluster *c, __u64 now)
{
	size_t i;

	for (i = 0; i < c->nvips; i++) {
		struct cvip *v = &c->vips[i];

		if (v->held && v->announces_left > 0 && now >= v->announce_at)
			vip_announce_now(v);
		if (v->held || v->campaign || !c->lease || now < v->retry_at ||
		    now - c->lease_ok_ms >= ttl_ms(c) * 4 / 5)
			continue;
		if (etcd_campaign(c->e, v->name, c->lease, c->conf.name, strlen(c->conf.name),
				  on_campaign, v, &v->campaign)) {
			v->campaign = NULL;
			v->retry_at = now + CLUSTER_RETRY_MS;
		}
	}
}

/* --- the lease --- */

static void lease_lost(struct cluster *c, const char *why)
{
	size_t i;

	log_warn("cluster: lease %lld lost (%s)", (long long)c->lease, why);
	for (i = 0; i < c->nvips; i++)
		vip_drop(&c->vips[i], why);
	c->lease = 0;
	c->grant_at = clock_mono_ms();
}

static void on_grant(void *ctx, const struct etcd_result *r)
{
	struct cluster *c = ctx;

	c->lease_busy = 0;
	if (r->err) {
		if (r->err != -ECANCELED) {
			log_warn("cluster: lease grant: %s", r->msg);
			c->grant_at = clock_mono_ms() + CLUSTER_RETRY_MS;
		}
		return;
	}
	c->lease = r->lease;
	c->lease_ok_ms = clock_mono_ms();
	c->keepalive_at = c->lease_ok_ms + ttl_ms(c) / 3;
	log_info("cluster: lease %lld granted (TTL %u s) by %s", (long long)c->lease,
		 c->conf.lease_ttl_s, etcd_endpoint(c->e));
	status_write(c);
}

static void on_keepalive(void *ctx, const struct etcd_result *r)
{
	struct cluster *c = ctx;
	__u64 now = clock_mono_ms();

	c->lease_busy = 0;
	if (r->err) {
		if (r->err != -ECANCELED) {
			log_warn("cluster: lease keepalive: %s", r->msg);
			c->keepalive_at = now + 200;
		}
		return;
	}
	if (r->ttl <= 0) {
		lease_lost(c, "expired");
		return;
	}
	c->lease_ok_ms = now;
	c->keepalive_at = now + ttl_ms(c) / 3;
}

static void lease_tick(struct cluster *c, __u64 now)
{
	size_t i;

	if (c->lease && now - c->lease_ok_ms >= ttl_ms(c) * 4 / 5) {
		for (i = 0; i < c->nvips; i++) {
			if (c->vips[i].held) {
				c->fenced++;
				vip_drop(&c->vips[i], "lease not confirmed by etcd in time");
			}
		}
	}
	if (c->lease_busy)
		return;
	if (!c->lease && now >= c->grant_at) {
		c->lease_busy = !etcd_lease_grant(c->e, c->conf.lease_ttl_s, on_grant, c, NULL);
		if (!c->lease_busy)
			c->grant_at = now + CLUSTER_RETRY_MS;
	} else if (c->lease && now >= c->keepalive_at) {
		c->lease_busy = !etcd_lease_keepalive(c->e, c->lease, on_keepalive, c, NULL);
		if (!c->lease_busy)
			c->keepalive_at = now + 200;
	}
}

/* --- service leaders from elections --- */

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
	return run_cmd(f->c, n, argv);
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
	status_write(f->c);
}

static void follow_free(struct cluster *c, struct follow *f)
{
	if (f && f->s)
		etcd_stream_cancel(c->e, f->s);
	free(f);
}

static void follows_free(struct cluster *c)
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

/* --- shared desired state --- */

enum shared_kind {
	SHARED_NONE = 0, /* this gateway's own business (iface, gateway, journal, ...) */
	SHARED_CONFIG,	 /* part of the desired state document */
	SHARED_LEADER,	 /* an operator's leader set: relayed as a command */
};

/*
 * What a write command changes, by its kind. Breakers travel as transitions
 * (cluster_breaker()); leaders set by an election or a role endpoint are
 * each gateway's own observation; an operator's leader is everyone's.
 */
static enum shared_kind shared_kind(const struct sluice_cmd *cmd)
{
	switch (cmd->kind) {
	case CMD_SERVICE_ADD:
	case CMD_SERVICE_SET:
	case CMD_SERVICE_DEL:
	case CMD_BACKEND_ADD:
	case CMD_BACKEND_SET:
	case CMD_BACKEND_DRAIN:
	case CMD_BACKEND_ACTIVATE:
	case CMD_BACKEND_DEL:
	case CMD_SHARD_ADD:
	case CMD_SHARD_DEL:
	case CMD_BULKHEAD_SET:
		return SHARED_CONFIG;
	case CMD_LEADER_SET:
		return cmd->leader.source == SLUICE_LEADER_OPERATOR ? SHARED_LEADER : SHARED_NONE;
	default:
		return SHARED_NONE;
	}
}

/* Apply another gateway's document (revision rev) as a diff, then our unpublished commands. */
static void adopt(struct cluster *c, const char *value, size_t len, __s64 rev)
{
	struct journal_cmds mine = c->pending, cmds;
	struct json_object *doc = json_tokener_parse(value), *cfg, *gw, *o;
	struct state to, from;
	const char *yaml, *who = "?";
	char name[256];
	size_t i, ran = 0;
	int err;

	memset(&c->pending, 0, sizeof(c->pending));
	memset(&cmds, 0, sizeof(cmds));
	state_init(&to);
	state_init(&from);
	(void)len;
	if (!doc || !json_object_object_get_ex(doc, "config", &cfg) ||
	    !(yaml = json_object_get_string(cfg))) {
		log_err("cluster: %s at revision %lld is not a Sluice document; ignored",
			c->cfg_key, (long long)rev);
		goto rerun;
	}
	if (json_object_object_get_ex(doc, "gateway", &gw))
		who = json_object_get_string(gw);
	snprintf(name, sizeof(name), "etcd:%s@%lld", c->cfg_key, (long long)rev);
	err = config_load_string(name, yaml, strlen(yaml), &to);
	if (!err)
		err = state_read_maps(&c->d->maps, &from);
	if (!err)
		err = state_diff(&from, &to, journal_cmds_add_cmd, &cmds);
	if (err) {
		log_err("cluster: cannot apply the config of %s at revision %lld: %s", who,
			(long long)rev, err_msg());
		goto rerun;
	}
	for (i = 0; i < cmds.count; i++)
		ran += !run_cmd(c, cmds.argc[i], cmds.argv[i]);
	c->adopted++;
	log_info("cluster: adopted the config of %s at revision %lld (%zu of %zu commands)", who,
		 (long long)rev, ran, cmds.count);
	o = json_object_new_object();
	if (o) {
		json_object_object_add(o, "event", json_object_new_string("config adopted"));
		json_object_object_add(o, "from", json_object_new_string(who));
		json_object_object_add(o, "revision", json_object_new_int64(rev));
		json_object_object_add(o, "commands", json_object_new_int64((int64_t)cmds.count));
		journal_event(c, o);
	}
rerun:
	if (rev > c->cfg_rev)
		c->cfg_rev = rev;
	/* Ours go on top: they were acknowledged, they must not be lost. */
	for (i = 0; i < mine.count; i++) {
		char *out = NULL, *e = NULL;
		__s64 seq;

		if (daemon_run_command(c->d, mine.argc[i], mine.argv[i], 0, 0, &out, &e, &seq))
			log_warn("cluster: re-running '%s %s ...' over %s's config failed: %s",
				 mine.argv[i][0], mine.argc[i] > 1 ? mine.argv[i][1] : "", who,
				 e ? e : "?");
		free(out);
		free(e);
	}
	journal_cmds_free(&mine);
	journal_cmds_free(&cmds);
	state_free(&to);
	state_free(&from);
	json_object_put(doc);
	status_write(c);
}

static void on_published(void *ctx, const struct etcd_result *r)
{
	struct cluster *c = ctx;
	size_t i;

	c->publish_busy = 0;
	if (r->err) {
		if (r->err != -ECANCELED) {
			log_warn("cluster: cannot publish the config: %s", r->msg);
			c->publish_at = clock_mono_ms() + CLUSTER_RETRY_MS;
		}
		return;
	}
	if (r->succeeded) {
		/* The commands the document held are published; later ones wait. */
		for (i = 0; i < c->publishing && i < c->pending.count; i++)
			free(c->pending.argv[i]);
		if (c->publishing) {
			memmove(c->pending.argv, c->pending.argv + c->publishing,
				(c->pending.count - c->publishing) * sizeof(*c->pending.argv));
			memmove(c->pending.argc, c->pending.argc + c->publishing,
				(c->pending.count - c->publishing) * sizeof(*c->pending.argc));
			c->pending.count -= c->publishing;
		}
		if (r->revision > c->cfg_rev)
			c->cfg_rev = r->revision;
		c->publish_due = c->pending.count > 0;
		c->conflicts = 0;
		c->published++;
		status_write(c);
		return;
	}
	/* Someone published first: theirs, then ours again. */
	if (++c->conflicts > CLUSTER_CONFLICTS_MAX) {
		log_err("cluster: %d conflicting publishes in a row; giving up on %zu commands",
			c->conflicts, c->pending.count);
		journal_cmds_free(&c->pending);
		memset(&c->pending, 0, sizeof(c->pending));
		c->publish_due = 0;
		c->conflicts = 0;
		return;
	}
	log_info("cluster: conflict: %s changed at a later revision than %lld; applying it, then "
		 "our %zu commands again",
		 c->cfg_key, (long long)c->cfg_rev, c->pending.count);
	if (r->nkvs && r->kvs[0].mod_revision > c->cfg_rev)
		adopt(c, r->kvs[0].value, r->kvs[0].value_len, r->kvs[0].mod_revision);
	c->publish_due = 1;
}

static void publish(struct cluster *c)
{
	struct json_object *doc = NULL;
	char *yaml = NULL;
	size_t len = 0;
	struct state s;
	const char *text;
	FILE *f;
	int err;

	state_init(&s);
	err = state_read_maps(&c->d->maps, &s);
	f = err ? NULL : open_memstream(&yaml, &len);
	if (!f)
		goto fail;
	s.has_ifaces = 0;
	s.has_gateway = 0; /* encapsulation sources are per gateway */
	err = config_dump(f, &s);
	fclose(f);
	doc = json_object_new_object();
	if (err || !doc)
		goto fail;
	json_object_object_add(doc, "gateway", json_object_new_string(c->conf.name));
	json_object_object_add(doc, "config", json_object_new_string(yaml));
	text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	c->publishing = c->pending.count;
	if (etcd_put_if(c->e, c->cfg_key, strlen(c->cfg_key), text, strlen(text), 0, c->cfg_rev,
			on_published, c, NULL))
		goto fail;
	c->publish_busy = 1;
	c->publish_due = 0;
	goto out;
fail:
	log_warn("cluster: cannot publish the config: %s", *err_msg() ? err_msg() : "no memory");
	c->publish_at = clock_mono_ms() + CLUSTER_RETRY_MS;
out:
	json_object_put(doc);
	free(yaml);
	state_free(&s);
}

static void on_cfg_event(void *ctx, const struct etcd_event *ev)
{
	struct cluster *c = ctx;
	struct json_object *doc, *gw;
	int mine = 0;

	if (ev->type != ETCD_EV_PUT || ev->revision <= c->cfg_rev)
		return;
	doc = json_tokener_parse(ev->kv.value ? ev->kv.value : "");
	if (doc && json_object_object_get_ex(doc, "gateway", &gw))
		mine = !strcmp(json_object_get_string(gw), c->conf.name);
	json_object_put(doc);
	if (mine) {
		/* Our own publish, seen before its answer. */
		c->cfg_rev = ev->revision;
		return;
	}
	adopt(c, ev->kv.value, ev->kv.value_len, ev->revision);
	if (c->pending.count)
		c->publish_due = 1;
}

static void on_brk_event(void *ctx, const struct etcd_event *ev)
{
	struct cluster *c = ctx;
	struct json_object *doc, *gw, *svc, *be, *to;
	char words[SVC_KEY_STRLEN + ADDR_STRLEN + 16], *argv[12], *save = NULL, *w;
	int n = 0;

	if (ev->type != ETCD_EV_PUT)
		return;
	doc = json_tokener_parse(ev->kv.value ? ev->kv.value : "");
	if (!doc || !json_object_object_get_ex(doc, "gateway", &gw) ||
	    !json_object_object_get_ex(doc, "service", &svc) ||
	    !json_object_object_get_ex(doc, "backend", &be) ||
	    !json_object_object_get_ex(doc, "to", &to) ||
	    !strcmp(json_object_get_string(gw), c->conf.name)) {
		json_object_put(doc);
		return;
	}
	argv[n++] = "breaker";
	argv[n++] = !strcmp(json_object_get_string(to), "open") ? "trip" : "reset";
	snprintf(words, sizeof(words), "%s %s", json_object_get_string(svc),
		 json_object_get_string(be));
	for (w = strtok_r(words, " ", &save); w && n < 11; w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	argv[n] = NULL;
	if (!run_cmd(c, n, argv))
		c->brk_applied++;
	log_info("cluster: breaker of %s (service %s) %s, as %s says", json_object_get_string(be),
		 json_object_get_string(svc), argv[1], json_object_get_string(gw));
	json_object_put(doc);
	status_write(c);
}

static void on_leader_event(void *ctx, const struct etcd_event *ev);

static void on_sync(void *ctx, const struct etcd_result *r)
{
	struct cluster *c = ctx;
	size_t n = strlen(c->brk_prefix);

	c->sync_busy = 0;
	if (r->err) {
		if (r->err != -ECANCELED) {
			log_warn("cluster: cannot read %s: %s", c->cfg_key, r->msg);
			c->sync_at = clock_mono_ms() + CLUSTER_RETRY_MS;
		}
		return;
	}
	c->synced = 1;
	if (r->nkvs) {
		/* Joining: the cluster's state wins over what this gateway applied alone. */
		journal_cmds_free(&c->pending);
		memset(&c->pending, 0, sizeof(c->pending));
		adopt(c, r->kvs[0].value, r->kvs[0].value_len, r->kvs[0].mod_revision);
	} else {
		c->cfg_rev = 0;
		c->publish_due = 1;
	}
	if (etcd_watch(c->e, c->cfg_key, strlen(c->cfg_key), 0, r->revision + 1, on_cfg_event, c,
		       &c->cfg_watch) ||
	    etcd_watch(c->e, c->brk_prefix, n, 1, r->revision + 1, on_brk_event, c,
		       &c->brk_watch) ||
	    etcd_watch(c->e, c->leader_prefix, strlen(c->leader_prefix), 1, r->revision + 1,
		       on_leader_event, c, &c->leader_watch))
		log_err("cluster: cannot watch %s: %s", c->cfg_key, err_msg());
	log_info("cluster: synced at revision %lld", (long long)r->revision);
	status_write(c);
}

/* An operator's leader set, for the other gateways: <prefix>/leader/<ADDR PORT PROTO>. */
static void publish_leader(struct cluster *c, const struct cmd_argv *cmd,
			   const struct sluice_svc_key *svc)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	char key[512], k[SVC_KEY_STRLEN];
	const char *text;
	int i;

	if (!o || !a) {
		json_object_put(o);
		json_object_put(a);
		return;
	}
	svc_key_format_args(svc, k, sizeof(k));
	snprintf(key, sizeof(key), "%s%s", c->leader_prefix, k);
	for (i = 0; i < cmd->argc; i++)
		json_object_array_add(a, json_object_new_string(cmd->argv[i]));
	json_object_object_add(o, "gateway", json_object_new_string(c->conf.name));
	json_object_object_add(o, "argv", a);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	if (etcd_put(c->e, key, strlen(key), text, strlen(text), 0, NULL, NULL, NULL))
		log_warn("cluster: cannot publish the leader set: %s", err_msg());
	json_object_put(o);
}

static void on_leader_event(void *ctx, const struct etcd_event *ev)
{
	struct cluster *c = ctx;
	struct json_object *doc, *gw, *a;
	char *argv[32];
	int n = 0;

	if (ev->type != ETCD_EV_PUT)
		return;
	doc = json_tokener_parse(ev->kv.value ? ev->kv.value : "");
	if (doc && json_object_object_get_ex(doc, "gateway", &gw) &&
	    json_object_object_get_ex(doc, "argv", &a) && json_object_is_type(a, json_type_array) &&
	    strcmp(json_object_get_string(gw), c->conf.name)) {
		for (n = 0; n < 31 && (size_t)n < json_object_array_length(a); n++)
			argv[n] = (char *)json_object_get_string(json_object_array_get_idx(a, n));
		argv[n] = NULL;
		/* Only what the key says it is: a leader set, nothing else. */
		if (n >= 2 && !strcmp(argv[0], "leader") && !strcmp(argv[1], "set")) {
			log_info("cluster: leader set by %s's operator",
				 json_object_get_string(gw));
			run_cmd(c, n, argv);
		}
	}
	json_object_put(doc);
}

void cluster_command(struct daemon *d, const struct sluice_cmd *cmd, int rc)
{
	struct cluster *c = d->cluster;
	enum shared_kind k;
	struct cmd_argv *a;

	if (!c || !c->conf.share || c->applying || rc || !cmd)
		return;
	k = shared_kind(cmd);
	if (k == SHARED_NONE)
		return;
	a = malloc(sizeof(*a));
	if (!a || cmd_format(cmd, a)) {
		log_warn("cluster: %s: a command will not be published",
			 a ? err_msg() : "out of memory");
		free(a);
		return;
	}
	if (k == SHARED_LEADER) {
		publish_leader(c, a, &cmd->svc);
	} else {
		if (journal_cmds_add(&c->pending, a->argc, a->argv))
			log_warn("cluster: out of memory: a command will not be published");
		c->publish_due = 1;
	}
	free(a);
}

void cluster_breaker(struct daemon *d, const struct sluice_svc_key *svc, const char *backend,
		     __u32 to)
{
	struct cluster *c = d->cluster;
	char key[512], k[SVC_KEY_STRLEN];
	struct json_object *o;
	const char *text;

	if (!c || !c->conf.share || c->applying || !c->synced ||
	    (to != SLUICE_BRK_OPEN && to != SLUICE_BRK_CLOSED))
		return;
	svc_key_format_args(svc, k, sizeof(k));
	snprintf(key, sizeof(key), "%s%s/%s", c->brk_prefix, k, backend);
	o = json_object_new_object();
	if (!o)
		return;
	json_object_object_add(o, "gateway", json_object_new_string(c->conf.name));
	json_object_object_add(o, "service", json_object_new_string(k));
	json_object_object_add(o, "backend", json_object_new_string(backend));
	json_object_object_add(o, "to", json_object_new_string(brk_state_name(to)));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	if (etcd_put(c->e, key, strlen(key), text, strlen(text), 0, NULL, NULL, NULL))
		log_warn("cluster: cannot publish the breaker of %s: %s", backend, err_msg());
	else
		c->brk_published++;
	json_object_put(o);
}

/* --- the loop --- */

static void on_etcd(struct daemon *d, struct loop_src *src, __u32 events)
{
	(void)src;
	(void)events;
	if (d->cluster)
		etcd_dispatch(d->cluster->e, clock_mono_ms());
}

static void on_tick(struct daemon *d, struct loop_src *src, __u32 events)
{
	struct cluster *c = d->cluster;
	__u64 buf, now = clock_mono_ms();

	(void)events;
	while (read(src->fd, &buf, sizeof(buf)) > 0)
		;
	etcd_dispatch(c->e, now);
	lease_tick(c, now);
	vips_tick(c, now);
	if (c->conf.share && !c->synced && !c->sync_busy && now >= c->sync_at) {
		c->sync_busy = !etcd_get(c->e, c->cfg_key, strlen(c->cfg_key), 0, on_sync, c, NULL);
		if (!c->sync_busy)
			c->sync_at = now + CLUSTER_RETRY_MS;
	}
	if (c->synced && c->publish_due && !c->publish_busy && now >= c->publish_at)
		publish(c);
	if (now - c->status_at >= 1000) {
		c->status_at = now;
		status_write(c);
	}
}

int cluster_open(struct daemon *d, const struct state_cluster *conf)
{
	struct itimerspec it = { .it_interval = { 0, CLUSTER_TICK_MS * 1000000L },
				 .it_value = { 0, 1000000L } };
	struct etcd_conf ec;
	struct cluster *c;
	size_t i;
	int err;

	if (!conf->enabled)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->d = d;
	c->conf = *conf;
	c->efd.fd = c->tick.fd = -1;
	d->cluster = c;
	memset(&ec, 0, sizeof(ec));
	for (i = 0; i < conf->netcd && i < ETCD_ENDPOINTS_MAX; i++)
		ec.endpoints[i] = c->conf.etcd[i];
	ec.nendpoints = i;
	ec.timeout_ms = conf->timeout_ms;
	ec.cacert = c->conf.cacert[0] ? c->conf.cacert : NULL;
	ec.cert = c->conf.cert[0] ? c->conf.cert : NULL;
	ec.key = c->conf.key[0] ? c->conf.key : NULL;
	ec.user = c->conf.user[0] ? c->conf.user : NULL;
	ec.password = c->conf.password[0] ? c->conf.password : NULL;
	err = etcd_new(&c->e, &ec);
	if (err)
		goto fail;
	snprintf(c->cfg_key, sizeof(c->cfg_key), "%s/config", conf->prefix);
	snprintf(c->brk_prefix, sizeof(c->brk_prefix), "%s/breaker/", conf->prefix);
	snprintf(c->leader_prefix, sizeof(c->leader_prefix), "%s/leader/", conf->prefix);
	if (hstate_path_of(d->socket_path, HSTATE_CLUSTER_FILE, c->status_path,
			   sizeof(c->status_path)))
		c->status_path[0] = 0;
	c->vips = calloc(conf->nvips ? conf->nvips : 1, sizeof(*c->vips));
	if (!c->vips) {
		err = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < conf->nvips; i++) {
		struct cvip *v = &c->vips[c->nvips];

		v->c = c;
		v->addr = conf->vips[i].addr;
		snprintf(v->iface, sizeof(v->iface), "%s", conf->vips[i].iface);
		if (addr_format(&v->addr, v->text, sizeof(v->text)))
			snprintf(v->text, sizeof(v->text), "?");
		snprintf(v->name, sizeof(v->name), "%s/vip/%s", conf->prefix, v->text);
		/* Hold only what we win: a VIP left by a previous run goes. */
		if (vip_del(v->iface, &v->addr))
			log_warn("cluster: cannot remove VIP %s from %s: %s", v->text, v->iface,
				 err_msg());
		if (etcd_observe(c->e, v->name, on_vip_observe, v, &v->observe))
			log_warn("cluster: cannot observe %s: %s", v->name, err_msg());
		c->nvips++;
	}
	c->efd.fd = etcd_fd(c->e);
	c->efd.fn = on_etcd;
	c->tick.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	c->tick.fn = on_tick;
	if (c->tick.fd < 0 || timerfd_settime(c->tick.fd, 0, &it, NULL)) {
		err = -errno;
		goto fail;
	}
	err = loop_add(d, &c->efd, EPOLLIN);
	if (!err)
		err = loop_add(d, &c->tick, EPOLLIN);
	if (err)
		goto fail;
	log_info("cluster: gateway %s, etcd %s (%zu endpoints), prefix %s, %zu VIPs, share %s",
		 conf->name, conf->etcd[0], conf->netcd, conf->prefix, c->nvips,
		 conf->share ? "on" : "off");
	return 0;
fail:
	if (!*err_msg())
		err_set("%s", strerror(-err));
	cluster_close(d);
	return err;
}

static void on_revoked(void *ctx, const struct etcd_result *r)
{
	(void)r;
	*(int *)ctx = 1;
}

void cluster_close(struct daemon *d)
{
	struct cluster *c = d->cluster;
	size_t i;
	int done = 0;

	if (!c)
		return;
	for (i = 0; i < c->nvips; i++)
		vip_drop(&c->vips[i], "sluiced stopping");
	/* Hand the VIPs over now rather than after the TTL: revoke, bounded wait. */
	if (c->e && c->lease && !etcd_lease_revoke(c->e, c->lease, on_revoked, &done, NULL)) {
		__u64 end = clock_mono_ms() + 500;

		while (!done && clock_mono_ms() < end) {
			usleep(5000);
			etcd_dispatch(c->e, clock_mono_ms());
		}
	}
	follows_free(c);
	if (c->efd.fd >= 0)
		loop_del(d, &c->efd);
	if (c->tick.fd >= 0) {
		loop_del(d, &c->tick);
		close(c->tick.fd);
	}
	etcd_free(c->e);
	for (i = 0; i < c->nvips; i++)
		free(c->vips[i].leader_key);
	free(c->vips);
	journal_cmds_free(&c->pending);
	if (c->status_text)
		unlink(c->status_path);
	free(c->status_text);
	free(c);
	d->cluster = NULL;
}
