// SPDX-License-Identifier: GPL-2.0-only
/*
 * The cluster session (cluster_int.h): one lease (cluster.lease-ttl),
 * refreshed every third of its TTL.
 * When etcd has not confirmed it for 80 % of the TTL this gateway may have
 * lost it without knowing: it drops its VIPs first (fencing) and takes them
 * back only when a campaign succeeds again, so two gateways never answer
 * for one VIP for longer than the rest of the TTL.
 */
#include <errno.h>

#include "clock.h"
#include "etcd.h"
#include "sluiced.h"
#include "cluster_int.h"

static void lease_lost(struct cluster *c, const char *why)
{
	size_t i;

	log_warn("cluster: lease %lld lost (%s)", (long long)c->lease, why);
	for (i = 0; i < c->nvips; i++)
		cluster_vip_drop(&c->vips[i], why);
	c->lease = 0;
	c->grant_at = clock_mono_ms();
}

static void on_grant(void *ctx, const struct etcd_result *r)
{
	struct cluster *c = ctx;

	c->lease_busy = 0;
	if (cluster_call_failed(r, &c->grant_at, CLUSTER_RETRY_MS, "lease grant"))
		return;
	c->lease = r->lease;
	c->lease_ok_ms = clock_mono_ms();
	c->keepalive_at = c->lease_ok_ms + cluster_ttl_ms(c) / 3;
	log_info("cluster: lease %lld granted (TTL %u s) by %s", (long long)c->lease,
		 c->conf.lease_ttl_s, etcd_endpoint(c->e));
	cluster_status_write(c);
}

static void on_keepalive(void *ctx, const struct etcd_result *r)
{
	struct cluster *c = ctx;
	__u64 now = clock_mono_ms();

	c->lease_busy = 0;
	if (cluster_call_failed(r, &c->keepalive_at, 200, "lease keepalive"))
		return;
	if (r->ttl <= 0) {
		lease_lost(c, "expired");
		return;
	}
	c->lease_ok_ms = now;
	c->keepalive_at = now + cluster_ttl_ms(c) / 3;
}

void cluster_lease_tick(struct cluster *c, __u64 now)
{
	size_t i;

	if (c->lease && now - c->lease_ok_ms >= cluster_ttl_ms(c) * 4 / 5) {
		for (i = 0; i < c->nvips; i++) {
			if (c->vips[i].held) {
				c->fenced++;
				cluster_vip_drop(&c->vips[i],
						 "lease not confirmed by etcd in time");
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
