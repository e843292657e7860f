// SPDX-License-Identifier: GPL-2.0-only
/*
 * The cluster's VIPs (cluster_int.h): one etcd election per VIP
 * (<prefix>/vip/<address>), campaigned with the lease and this gateway's
 * name. The winner adds the VIP to its interface and announces it (gratuitous ARP, unsolicited NA). etcd queues
 * the other candidates: a gateway that comes back waits behind the healthy
 * holder instead of taking the VIP back (sticky). At start every configured
 * VIP is removed from its interface: a gateway holds only what it won.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "clock.h"
#include "err.h"
#include "etcd.h"
#include "journal.h"
#include "sluiced.h"
#include "vip.h"
#include "cluster_int.h"

void cluster_vip_drop(struct cvip *v, const char *why)
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
		cluster_journal_event(c, o);
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
	if (!c->lease || clock_mono_ms() - c->lease_ok_ms >= cluster_ttl_ms(c) * 4 / 5) {
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
		cluster_journal_event(c, o);
	}
	cluster_status_write(c);
}

static void on_vip_observe(void *ctx, const struct etcd_event *ev)
{
	struct cvip *v = ctx;

	if (ev->type == ETCD_EV_PUT) {
		snprintf(v->holder, sizeof(v->holder), "%.*s", (int)ev->kv.value_len, ev->kv.value);
		/* etcd says someone else leads: whatever we think, we do not. */
		if (v->held && strcmp(v->holder, v->c->conf.name))
			cluster_vip_drop(v, "another gateway holds it");
	} else if (ev->type == ETCD_EV_DELETE) {
		v->holder[0] = 0;
	}
	cluster_status_write(v->c);
}

void cluster_vips_tick(struct cluster *c, __u64 now)
{
	size_t i;

	for (i = 0; i < c->nvips; i++) {
		struct cvip *v = &c->vips[i];

		if (v->held && v->announces_left > 0 && now >= v->announce_at)
			vip_announce_now(v);
		if (v->held || v->campaign || !c->lease || now < v->retry_at ||
		    now - c->lease_ok_ms >= cluster_ttl_ms(c) * 4 / 5)
			continue;
		if (etcd_campaign(c->e, v->name, c->lease, c->conf.name, strlen(c->conf.name),
				  on_campaign, v, &v->campaign)) {
			v->campaign = NULL;
			v->retry_at = now + CLUSTER_RETRY_MS;
		}
	}
}

int cluster_vips_open(struct cluster *c)
{
	const struct state_cluster *conf = &c->conf;
	size_t i;

	c->vips = calloc(conf->nvips ? conf->nvips : 1, sizeof(*c->vips));
	if (!c->vips)
		return -ENOMEM;
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
	return 0;
}
