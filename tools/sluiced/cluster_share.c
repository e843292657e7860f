// SPDX-License-Identifier: GPL-2.0-only
/*
 * Shared state (cluster.share, cluster_int.h): the desired state of the
 * services, as the YAML `sluice config dump` prints, is one key
 * (<prefix>/config). After a
 * local change this gateway publishes it with a compare on the revision it
 * last saw; every gateway watches the key and applies a newer document as
 * a config diff (each command journaled). When two gateways publish at
 * once, etcd orders them: the later compare fails, that gateway applies
 * the winner's document, re-runs its own unpublished commands on top and
 * publishes again, so no acknowledged command is lost. On joining, the
 * cluster's document wins over the local file. The document carries each
 * service's health check and leader settings too (the daemon's desired
 * state, apply.c): adopting it starts, changes and stops health checks and
 * election follows as a local apply does, and a local apply that changes
 * only them publishes. Breaker transitions (to
 * open, to closed) are keys under <prefix>/breaker/; the others apply them
 * as `breaker trip` / `breaker reset` -- except those of health checks,
 * which each gateway runs for itself. An operator's `leader set` is a key
 * per service under <prefix>/leader/, run as is by the others (leaders
 * from elections and role endpoints are each gateway's own observation).
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breaker.h"
#include "clock.h"
#include "cmd.h"
#include "config.h"
#include "err.h"
#include "etcd.h"
#include "journal.h"
#include "sluiced.h"
#include "state.h"
#include "svc.h"
#include "cluster_int.h"

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

/* Our unpublished health and leader changes onto to, a document being adopted. */
static void parts_on_top(struct cluster *c, struct state *to)
{
	struct state_service *theirs;
	struct state mine, one;
	size_t i;

	for (i = 0; c->d->desired && i < c->nparts; i++) {
		theirs = state_find_service(to, &c->parts[i]);
		if (!theirs)
			continue;
		/* One-service views: state_copy_daemon_parts() gives none when ours is gone. */
		memset(&one, 0, sizeof(one));
		one.services = theirs;
		one.nservices = 1;
		memset(&mine, 0, sizeof(mine));
		mine.services = state_find_service(c->d->desired, &c->parts[i]);
		mine.nservices = mine.services ? 1 : 0;
		state_copy_daemon_parts(&one, &mine);
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
		ran += !cluster_run_cmd(c, cmds.argc[i], cmds.argv[i]);
	/* Health checks and elections follow the document, as a local apply does. */
	parts_on_top(c, &to);
	checks_sync(c->d, &to);
	cluster_sync(c->d, &to);
	desired_set(c->d, &to, 0);
	c->adopted++;
	log_info("cluster: adopted the config of %s at revision %lld (%zu of %zu commands)", who,
		 (long long)rev, ran, cmds.count);
	o = json_object_new_object();
	if (o) {
		json_object_object_add(o, "event", json_object_new_string("config adopted"));
		json_object_object_add(o, "from", json_object_new_string(who));
		json_object_object_add(o, "revision", json_object_new_int64(rev));
		json_object_object_add(o, "commands", json_object_new_int64((int64_t)cmds.count));
		cluster_journal_event(c, o);
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
	cluster_status_write(c);
}

static void on_published(void *ctx, const struct etcd_result *r)
{
	struct cluster *c = ctx;
	size_t i;

	c->publish_busy = 0;
	if (cluster_call_failed(r, &c->publish_at, CLUSTER_RETRY_MS, "cannot publish the config"))
		return;
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
		if (c->parts_publishing) {
			memmove(c->parts, c->parts + c->parts_publishing,
				(c->nparts - c->parts_publishing) * sizeof(*c->parts));
			c->nparts -= c->parts_publishing;
		}
		if (r->revision > c->cfg_rev)
			c->cfg_rev = r->revision;
		c->publish_due = c->pending.count > 0 || c->nparts > 0;
		c->conflicts = 0;
		c->published++;
		cluster_status_write(c);
		return;
	}
	/* Someone published first: theirs, then ours again. */
	if (++c->conflicts > CLUSTER_CONFLICTS_MAX) {
		log_err("cluster: %d conflicting publishes in a row; giving up on %zu commands",
			c->conflicts, c->pending.count);
		journal_cmds_free(&c->pending);
		memset(&c->pending, 0, sizeof(c->pending));
		c->nparts = 0;
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
	s.has_hosts = 0;   /* cgroups are per host */
	s.has_gateway = 0; /* encapsulation sources are per gateway */
	/* What the maps do not hold: each service's health check and leader settings. */
	if (c->d->desired)
		state_copy_daemon_parts(&s, c->d->desired);
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
	c->parts_publishing = c->nparts;
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
	if (!cluster_run_cmd(c, n, argv))
		c->brk_applied++;
	log_info("cluster: breaker of %s (service %s) %s, as %s says", json_object_get_string(be),
		 json_object_get_string(svc), argv[1], json_object_get_string(gw));
	json_object_put(doc);
	cluster_status_write(c);
}

static void on_leader_event(void *ctx, const struct etcd_event *ev);

static void on_sync(void *ctx, const struct etcd_result *r)
{
	struct cluster *c = ctx;
	size_t n = strlen(c->brk_prefix);

	c->sync_busy = 0;
	if (cluster_call_failed(r, &c->sync_at, CLUSTER_RETRY_MS, "cannot read %s", c->cfg_key))
		return;
	c->synced = 1;
	if (r->nkvs) {
		/* Joining: the cluster's state wins over what this gateway applied alone. */
		journal_cmds_free(&c->pending);
		memset(&c->pending, 0, sizeof(c->pending));
		c->nparts = 0;
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
	cluster_status_write(c);
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
			cluster_run_cmd(c, n, argv);
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

void cluster_desired_changed(struct daemon *d, const struct sluice_svc_key *keys, size_t n)
{
	struct cluster *c = d->cluster;
	struct sluice_svc_key *grown;

	if (!c || !c->conf.share || c->applying)
		return;
	grown = realloc(c->parts, (c->nparts + n) * sizeof(*grown));
	if (grown) {
		memcpy(grown + c->nparts, keys, n * sizeof(*keys));
		c->parts = grown;
		c->nparts += n;
	} else {
		log_warn(
			"cluster: out of memory: a health or leader change may be lost to a conflict");
	}
	c->publish_due = 1;
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

void cluster_share_tick(struct cluster *c, __u64 now)
{
	if (c->conf.share && !c->synced && !c->sync_busy && now >= c->sync_at) {
		c->sync_busy = !etcd_get(c->e, c->cfg_key, strlen(c->cfg_key), 0, on_sync, c, NULL);
		if (!c->sync_busy)
			c->sync_at = now + CLUSTER_RETRY_MS;
	}
	if (c->synced && c->publish_due && !c->publish_busy && now >= c->publish_at)
		publish(c);
}
