/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The cluster's insides, shared by its files and by nothing else (sluiced.h
 * has the daemon's side):
 *   cluster.c         opening and closing, the tick, the status file and
 *                     the metrics
 *   cluster_lease.c   the session: one lease, its keepalives, fencing
 *   cluster_vip.c     VIPs: one election per VIP, campaigned and announced
 *   cluster_follow.c  service leaders taken from etcd elections
 *   cluster_share.c   shared desired state: publish, adopt, breaker and
 *                     operator leader relays
 */
#ifndef SLUICE_CLUSTER_INT_H
#define SLUICE_CLUSTER_INT_H

#include <limits.h>
#include <net/if.h>
#include <stddef.h>
#include <json-c/json.h>
#include <linux/types.h>

#include "addr.h"
#include "etcd.h"
#include "journal.h"
#include "sluiced.h"
#include "state.h"
#include "svc.h"

#define CLUSTER_TICK_MS 100
#define CLUSTER_RETRY_MS 500
#define CLUSTER_CONFLICTS_MAX 8
#define CLUSTER_ANNOUNCES 3 /* announcements of a won VIP, a second apart */

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
	/*
	 * Services whose health or leader settings a local apply changed, not
	 * yet published: like pending commands, they go on top of a document
	 * adopted meanwhile. parts_publishing: how many the publish in flight
	 * includes.
	 */
	struct sluice_svc_key *parts;
	size_t nparts, parts_publishing;
	struct etcd_stream *cfg_watch, *brk_watch, *leader_watch;
	__u64 published, adopted, brk_published, brk_applied;
	/* status file */
	char status_path[PATH_MAX];
	char *status_text;
	__u64 status_at;
};

static inline __u64 cluster_ttl_ms(const struct cluster *c)
{
	return (__u64)c->conf.lease_ttl_s * 1000;
}

/* cluster.c */
/* Journal an election event (o gets the gateway's name, and is released). */
void cluster_journal_event(struct cluster *c, struct json_object *o);
int cluster_run_cmd(struct cluster *c, int argc, char **argv);
void cluster_status_write(struct cluster *c);
/*
 * The result r of an etcd call: 0 when it succeeded. When it failed, 1:
 * logged as "cluster: WHAT: message" (fmt...) and *retry_at set delay_ms
 * from now, unless the call was cancelled (the cluster is closing).
 */
int cluster_call_failed(const struct etcd_result *r, __u64 *retry_at, __u64 delay_ms,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* cluster_lease.c */
void cluster_lease_tick(struct cluster *c, __u64 now);

/* cluster_vip.c */
/* The configured VIPs: removed from their interfaces, their elections observed. */
int cluster_vips_open(struct cluster *c);
void cluster_vip_drop(struct cvip *v, const char *why);
void cluster_vips_tick(struct cluster *c, __u64 now);

/* cluster_follow.c */
void cluster_follows_free(struct cluster *c);

/* cluster_share.c */
/* Read the shared state once (joining), publish local changes when due. */
void cluster_share_tick(struct cluster *c, __u64 now);

#endif
