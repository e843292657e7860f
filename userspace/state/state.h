/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The desired (or current) state of a gateway as plain C: what a config file
 * asks for (config.c) and what the pinned maps hold (state_read_maps()), in
 * one normalized form so the two compare field by field:
 *
 *  - every value is resolved: a breaker setting left at its default reads as
 *    the default (30 failures, ...), a rate's burst as the burst it gets, a
 *    backend's port as the port it receives packets on (ipip: the service
 *    port), a nat/ipip service's Maglev size as its size (default 65537);
 *  - services are keyed by address, port and protocol; backends by address
 *    and port within their service; shards by prefix within their service.
 *
 * From a state, state_to_commands() gives the write commands (struct
 * sluice_cmd, userspace/cmd) that build it on empty maps, and state_diff() the
 * commands that turn one state into another, touching nothing unchanged.
 * Health checks, leader sources (election, role), daemon and cluster
 * settings are not in the maps: they travel in the state for the daemon and
 * produce no command.
 */
#ifndef SLUICE_STATE_H
#define SLUICE_STATE_H

#include <limits.h>
#include <net/if.h>
#include <stddef.h>
#include <linux/types.h>
#include "backend.h"
#include "berev.h"
#include "bird.h"
#include "cmd.h"
#include "maps.h"
#include "res.h"
#include "sluice_abi.h"

/* Daemon defaults (the control socket's: CTL_SOCKET_DEFAULT, ctl.h). */
#define STATE_JOURNAL_DEFAULT "/var/lib/sluice/journal"
#define STATE_METRICS_DEFAULT "127.0.0.1:9469"

/* Health-check defaults (HAProxy's). */
#define STATE_HC_INTERVAL_MS 2000u
#define STATE_HC_TIMEOUT_MS 1000u
#define STATE_HC_RISE 2u
#define STATE_HC_FALL 3u
#define STATE_HC_CODES_MAX 16u
#define STATE_HC_TEXT_MAX 256u /* path and body substring, NUL included */

/* Role-check defaults: a Patroni-style endpoint, GET /primary answers 200 on the primary only. */
#define STATE_ROLE_PATH "/primary"
#define STATE_ROLE_CODE 200u
#define STATE_ROLE_INTERVAL_MS 1000u
#define STATE_ROLE_TIMEOUT_MS 500u

/* Cluster defaults and limits. */
#define STATE_CLUSTER_PREFIX "/sluice"
#define STATE_CLUSTER_LEASE_TTL_S 5u
#define STATE_CLUSTER_LEASE_TTL_MIN 2u
#define STATE_CLUSTER_LEASE_TTL_MAX 300u
#define STATE_CLUSTER_TIMEOUT_MS 1000u
#define STATE_CLUSTER_ETCD_MAX 16
#define STATE_CLUSTER_VIPS_MAX 64
#define STATE_ELECTION_MAX 128 /* election name, NUL included */

enum state_hc_type {
	STATE_HC_NONE = 0, /* no active check */
	STATE_HC_TCP = 1,  /* TCP connect */
	STATE_HC_HTTP = 2, /* HTTP GET */
	STATE_HC_HTTPS = 3 /* HTTPS GET */
};

/* An active health check (per service, for each of its backends). */
struct state_health {
	__u8 type;		      /* enum state_hc_type */
	__u16 port;		      /* port checked; 0 = the backend's port */
	char path[STATE_HC_TEXT_MAX]; /* http(s): path requested, default "/" */
	__u32 ncodes;		      /* http(s): expected status codes (0: 200..399) */
	__u16 codes[STATE_HC_CODES_MAX];
	char body[STATE_HC_TEXT_MAX]; /* http(s): substring the body must hold ("" = any) */
	__u32 interval_ms;
	__u32 timeout_ms;
	__u32 rise; /* successes in a row that bring a backend up */
	__u32 fall; /* failures in a row that take it down */
};

struct state_backend {
	union sluice_addr addr;
	__u16 port;   /* host order: the port packets reach it on */
	__u32 weight; /* 1..BACKEND_WEIGHT_MAX */
	__u8 state;   /* SLUICE_BE_ACTIVE or SLUICE_BE_DRAINING */
};

struct state_shard {
	struct sluice_shard_key key; /* prefix; svc_id 0 */
	int subset;		     /* 0: one backend (members[0]); 1: a subset */
	__u32 count;
	struct be_ref members[SLUICE_SUBSET_MAX_MEMBERS]; /* has_port 1, sorted in a subset */
};

struct state_service {
	struct sluice_svc_key key;
	__u8 mode;	   /* enum sluice_mode */
	__u8 hash;	   /* enum sluice_hash */
	__u32 maglev_size; /* nat/ipip: table size; local: 0 */
	__u32 rate, burst; /* pps (0 = unlimited) and burst (0 when unlimited) */
	__u32 client_rate, client_burst;
	__u64 egress_rate_bps; /* egress pacing on hosts, bits/s; 0 = unlimited */
	/*
	 * Bulkhead and breaker settings with every default resolved;
	 * fallback_be is not used (see fallback).
	 */
	struct sluice_svc_res res;
	/* Failover (sl_svc_fo), resolved: 0 = off. */
	__u32 retries, fast_trip;
	int has_fallback;
	struct be_ref fallback; /* a backend of this service, has_port 1 */
	size_t ncritical;
	struct sluice_shard_key critical[RES_CRITICAL_MAX]; /* svc_id 0, sorted */
	struct state_health health; /* type STATE_HC_NONE: no active check */
	__u16 write_port;	    /* host order; 0 = none (in the maps) */
	int route_leader;	    /* every flow to the leader (in the maps) */
	/* Where the leader comes from (daemon-only); neither: `sluice leader set`. */
	char election
		[STATE_ELECTION_MAX]; /* etcd election whose value names the backend; "" = none */
	struct state_health
		role; /* each backend's role endpoint (http/https); STATE_HC_NONE = none */
	size_t nbackends;
	struct state_backend *backends;
	size_t nshards;
	struct state_shard *shards;
};

struct state_iface {
	char name[IF_NAMESIZE];
	int skb;  /* 0: native XDP, 1: generic (skb) */
	int hook; /* enum loader_hook: XDP, TC ingress or TC egress (skb: XDP only) */
};

/* A cgroup the host side is attached to (hosts:). */
struct state_host {
	char cgroup[CMD_CGROUP_MAX]; /* absolute path */
	size_t nsvc;		     /* 0: every service */
	struct sluice_svc_key svcs[CMD_HOST_SVC_MAX];
};

struct state_daemon {
	char socket[PATH_MAX];	    /* control socket */
	char journal[PATH_MAX];	    /* journal folder */
	char metrics[64];	    /* Prometheus listener ADDR:PORT */
	char pin_root[PATH_MAX];    /* "" = the CLI's default */
	char admin_group[64];	    /* the control socket's admin role besides root; "" none */
	struct state_health health; /* defaults of the services' checks (type ignored) */
};

/* A VIP this gateway campaigns for (cluster.vips). */
struct state_vip {
	union sluice_addr addr;
	char iface[IF_NAMESIZE]; /* interface it is added to and announced on */
};

/* The gateway's place in a cluster (daemon-only, never in the maps). */
struct state_cluster {
	int enabled;				/* the file has a cluster section */
	char name[64];				/* this gateway (default: the host name) */
	size_t netcd;				/* etcd endpoints in etcd[] */
	char etcd[STATE_CLUSTER_ETCD_MAX][256]; /* http:// or https:// URLs */
	char prefix[128];			/* key prefix in etcd (default /sluice) */
	__u32 lease_ttl_s;			/* session lease, 2..300 s (default 5) */
	__u32 timeout_ms;			/* etcd request timeout (default 1000) */
	char cacert[PATH_MAX], cert[PATH_MAX], key[PATH_MAX]; /* TLS files; "" = none */
	char user[64], password[128];			      /* etcd auth; "" = none */
	int share; /* publish and follow config and breaker transitions (default 1) */
	size_t nvips;
	struct state_vip vips[STATE_CLUSTER_VIPS_MAX];
};

struct state {
	struct state_daemon daemon;
	struct state_cluster cluster;
	struct bird_conf bgp; /* VIPs announced through BIRD (daemon-only) */
	/*
	 * The sections a config file may leave out: when has_* is 0 they are
	 * not managed (state_diff() leaves them as they are). Services are
	 * always managed: a service not in the state is deleted.
	 */
	int has_ifaces;
	int has_gateway;
	int has_bulkhead;
	int has_hosts; /* the hosts section is managed */
	size_t nhosts;
	struct state_host *hosts;
	size_t nifaces;
	struct state_iface *ifaces;
	union sluice_addr encap_src4; /* all zero: unset */
	union sluice_addr encap_src6;
	__u32 udp_timeout_s;	/* resolved (default 30) */
	__u32 global_max_conns; /* 0: no global limit */
	__u32 tcp_idle_s;	/* resolved (default 3600) */
	size_t nservices;
	struct state_service *services;
};

/*
 * An empty state: no services, gateway, daemon and cluster settings at their
 * defaults (cluster: disabled, name = the host name, prefix /sluice, lease
 * 5 s, timeout 1 s, share on).
 */
void state_init(struct state *s);

/* Free what s holds and state_init() it again; NULL is fine. */
void state_free(struct state *s);

/*
 * The backends of s's nat services whose replies the stateless return
 * path cannot translate (berev.h): *cf (malloc'ed, free() it; NULL when
 * none) receives *n conflicts, each naming the backend and two of the
 * service addresses and ports it serves.
 */
int state_berev_conflicts(const struct state *s, struct berev_conflict **cf, size_t *n);

/* Default health-check settings (type STATE_HC_NONE). */
void state_health_defaults(struct state_health *h);

/* Default role-check settings (type STATE_HC_NONE; path /primary, expect 200, 1 s, 0.5 s). */
void state_role_defaults(struct state_health *h);

/* A service's resolved default settings (mode local unless mode is given). */
void state_service_defaults(struct state_service *svc, __u8 mode);

/* Append a zeroed service/backend/shard/iface; NULL (message set) when out of memory. */
struct state_service *state_add_service(struct state *s);
struct state_backend *state_add_backend(struct state_service *svc);
struct state_shard *state_add_shard(struct state_service *svc);
struct state_iface *state_add_iface(struct state *s);
struct state_host *state_add_host(struct state *s);

/* Find by key; NULL when absent. */
struct state_service *state_find_service(const struct state *s, const struct sluice_svc_key *key);
const struct state_backend *state_find_backend(const struct state_service *svc,
					       const union sluice_addr *addr, __u16 port);

/*
 * Put s in canonical order (services by key, backends by address and port,
 * shards by prefix, critical prefixes and subset members sorted) so two
 * states compare and print the same whatever order they were built in.
 */
void state_sort(struct state *s);

/*
 * 1 when a and b describe the same maps content (services with their
 * write ports and routes, backends, shards, gateway, global bulkhead,
 * interfaces and host attachments when both have them); health checks, leader sources, daemon
 * and cluster settings are not compared. Both sorted.
 */
int state_equal(const struct state *a, const struct state *b);

/*
 * The daemon-only settings of the services (health, leader election and
 * role endpoint), which the maps do not hold: copy src's onto dst's
 * service of the same key (a service src lacks gets none), and compare
 * them service by service (1: the same in a and b).
 */
void state_copy_daemon_parts(struct state *dst, const struct state *src);
/*
 * The keys of the services (of either) whose daemon-only settings differ
 * between a and b: into keys (malloc'ed, NULL when none), their count.
 * -ENOMEM.
 */
int state_daemon_parts_diff(const struct state *a, const struct state *b,
			    struct sluice_svc_key **keys, size_t *n);
/* The same for two services (NULL: a service that is not there, with none). */
int state_service_daemon_parts_equal(const struct state_service *a, const struct state_service *b);
int state_daemon_parts_equal(const struct state *a, const struct state *b);

/*
 * What the pins under m hold now: every service with its settings,
 * backends (active and draining), shards and critical prefixes, the gateway
 * settings, the global bulkhead and (from m->root) the attached interfaces
 * and cgroups (hosts).
 * Write ports and routes are read back from sl_services. Health checks,
 * leader sources, daemon and cluster settings are left at their defaults. s
 * is state_init()ed first; sorted on return.
 */
int state_read_maps(const struct sluice_maps *m, struct state *s);

/*
 * A command (userspace/cmd: cmd_format() gives its argv, cmd_apply()
 * performs it). It lives only during the call. A non-zero return stops the
 * walk and is returned.
 */
struct sluice_cmd;
typedef int (*state_emit_fn)(void *ctx, const struct sluice_cmd *cmd);

/*
 * The commands that build s from empty maps, in a valid order: gateway set
 * and bulkhead set (always, so the maps get created by the first command),
 * iface attach when s->has_ifaces (clear it to leave interfaces out, as a
 * replay into a scratch pin root must), services (service add with every
 * setting but the fallback), their backends (backend add, then backend
 * drain for draining ones), the fallbacks (service set fallback), shards,
 * then host attach when s->has_hosts (the services it names exist by then).
 * Interfaces come before services so that no flow is steered before the
 * return path on every interface exists.
 */
int state_to_commands(const struct state *s, state_emit_fn emit, void *ctx);

/*
 * The commands that turn from (usually state_read_maps()) into to (usually
 * config_load()), touching nothing unchanged; both sorted. Order:
 *  1. gateway set, bulkhead set with the changed fields (when to has the
 *     section); iface detach of interfaces not in to (when to has them),
 *     then iface attach of new interfaces (--force when only the mode
 *     changed), before any service is added (see state_to_commands());
 *     host detach of cgroups not in to (when to has hosts);
 *  2. service del of services not in to, and of services whose mode changes
 *     (a mode change needs a service without backends: the service is
 *     deleted and added again, its flows steered anew); then service set
 *     write-port none for a kept service whose write port changes and is
 *     wanted by another service (as its key or its write port), so the
 *     port is free when that one comes (the service forgets its leader);
 *  3. shard del of shards removed or changed;
 *  4. service add (new services, as state_to_commands()), service set with
 *     the changed settings of kept services (id, counters and flows kept;
 *     write-port N|none and route leader|maglev among them);
 *  5. backends: add (new), set weight, activate or drain (state changed); a
 *     backend that is no longer in to is drained (backend drain) and never
 *     deleted by a diff: it keeps its established flows until the operator
 *     deletes it (sluice backend del) or a later file lists it again;
 *  6. service set fallback (changed fallbacks), shard add (new or changed);
 *  7. host attach of cgroups new or whose service list changed (when to has
 *     hosts).
 * No change: no command.
 */
int state_diff(const struct state *from, const struct state *to, state_emit_fn emit, void *ctx);

#endif /* SLUICE_STATE_H */
