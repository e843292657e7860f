// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluiced in a cluster of gateways, on etcd (userspace/etcd.h). Only with a
 * `cluster` section in the config file. Everything here is asynchronous:
 * the etcd client's fd and a 100 ms timer are in the daemon's loop. The
 * subjects are in their own files (cluster_int.h lists them); this one
 * opens and closes the cluster, runs its tick and reports it.
 *
 * The status (lease, endpoint, VIPs, elections) goes to cluster.json beside
 * the control socket for `sluice cluster show`.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "etcd.h"
#include "hstate.h"
#include "journal.h"
#include "sluiced.h"
#include "cluster_int.h"

void cluster_journal_event(struct cluster *c, struct json_object *o)
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
int cluster_run_cmd(struct cluster *c, int argc, char **argv)
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

int cluster_call_failed(const struct etcd_result *r, __u64 *retry_at, __u64 delay_ms,
			const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (!r->err)
		return 0;
	if (r->err == -ECANCELED)
		return 1;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	log_warn("cluster: %s: %s", what, r->msg);
	*retry_at = clock_mono_ms() + delay_ms;
	return 1;
}

/* --- status file --- */

void cluster_status_write(struct cluster *c)
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
		json_object_new_boolean(c->lease &&
					clock_mono_ms() - c->lease_ok_ms < cluster_ttl_ms(c)));
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
		c->lease && clock_mono_ms() - c->lease_ok_ms < cluster_ttl_ms(c),
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
	cluster_lease_tick(c, now);
	cluster_vips_tick(c, now);
	cluster_share_tick(c, now);
	if (now - c->status_at >= 1000) {
		c->status_at = now;
		cluster_status_write(c);
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
	err = cluster_vips_open(c);
	if (err)
		goto fail;
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
		cluster_vip_drop(&c->vips[i], "sluiced stopping");
	/* Hand the VIPs over now rather than after the TTL: revoke, bounded wait. */
	if (c->e && c->lease && !etcd_lease_revoke(c->e, c->lease, on_revoked, &done, NULL)) {
		__u64 end = clock_mono_ms() + 500;

		while (!done && clock_mono_ms() < end) {
			usleep(5000);
			etcd_dispatch(c->e, clock_mono_ms());
		}
	}
	cluster_follows_free(c);
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
	free(c->parts);
	if (c->status_text)
		unlink(c->status_path);
	free(c->status_text);
	free(c);
	d->cluster = NULL;
}
