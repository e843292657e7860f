/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Host-side balancing stage (issue 15, the ambassador and the sidecar): a
 * connect() (or a UDP sendmsg) from a process in an attached cgroup to a
 * service address becomes one to a backend, chosen from the same tables
 * and with the same stages as the gateway's new flows:
 *   service match (sl_services; local services are the host's own: left
 *   alone) -> scope (sl_host_scope: this attachment balances every
 *   service, or the listed ones) -> rate (connects only: the service's
 *   rate and burst, one token per connect, in this host's own bucket,
 *   sl_host_rl) -> bulkhead (TCP connects only, counted in
 *   sl_host_conns) -> leader key: the leader; else shard / Maglev choice
 *   (sluice_choose) -> breaker (sluice_breaker: open backends skipped,
 *   half-open probe budget) -> the socket remembers service and backend
 *   (sl_host_socks) for getpeername, recvmsg and the release.
 *
 * The hash. At connect() the source address and port are not known yet,
 * so the flow key hashed is: source the unspecified address of the
 * destination's family, source port the socket cookie folded to 16 bits,
 * then the real destination and protocol. With `hash 5tuple` every socket
 * gets its own draw from the table; with `hash client` all of a host's
 * sockets share one backend (the host is one client). A shard whose prefix
 * is a client range matches only when it covers the unspecified address
 * (a catch-all): host sockets carry no client address to match on.
 *
 * Refusals (over the rate, the bulkhead full, every candidate's breaker
 * open, no backend of the socket's family) fail connect() at once with
 * ECONNREFUSED through bpf_set_retval; a UDP send to such a service is
 * left to go to the service address untouched (a send is not refused: an
 * application expects datagrams to be lost, not sendto() to fail).
 */
#ifndef SLUICE_HOSTLB_H
#define SLUICE_HOSTLB_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "sluice_host_maps.bpf.h"
#include "common.h"
#include "service.h"
#include "bulkhead.h"
#include "brkcheck.h"
#include "cqrs.h"
#include "fwd.h"
#include "flow.h"
#include "ratelimit.h"

#ifndef ECONNREFUSED
#define ECONNREFUSED 111
#endif

/* The cgroup this program instance is attached to (set by the loader). */
const volatile __u64 sluice_host_cgid = 0;

/* A destination as the hooks see it; the stage rewrites it to the backend. */
struct sluice_host_dst {
	union sluice_addr addr; /* IPv4 v4-mapped */
	__be16 port;
	__u8 proto;
	__u8 pad;
};

/* Host-side counter field of struct sluice_host_counter. */
enum sluice_host_field {
	SLUICE_HOST_BALANCED,
	SLUICE_HOST_REFUSED_BH,
	SLUICE_HOST_REFUSED_BRK,
	SLUICE_HOST_NO_BACKEND,
	SLUICE_HOST_REFUSED_RATE,
};

static __always_inline void sluice_host_count(__u32 svc_id, int field)
{
	struct sluice_host_counter *c = bpf_map_lookup_elem(&sl_host_stats, &svc_id);

	if (!c)
		return;
	if (field == SLUICE_HOST_BALANCED)
		c->balanced++;
	else if (field == SLUICE_HOST_REFUSED_BH)
		c->refused_bh++;
	else if (field == SLUICE_HOST_REFUSED_BRK)
		c->refused_brk++;
	else if (field == SLUICE_HOST_REFUSED_RATE)
		c->refused_rate++;
	else
		c->no_backend++;
}

/* The service of d if this attachment balances it, else NULL. */
static __always_inline struct sluice_svc *sluice_host_service(const struct sluice_host_dst *d)
{
	struct sluice_host_scope_key sk = {};
	struct sluice_host_scope *all;
	struct sluice_svc *svc;

	sk.svc.addr = d->addr;
	sk.svc.port = d->port;
	sk.svc.proto = d->proto;
	svc = bpf_map_lookup_elem(&sl_services, &sk.svc);
	/* Unknown modes and ids fail open, as in service.h; local is the host's own. */
	if (!svc || svc->mode <= SLUICE_MODE_LOCAL || svc->mode > SLUICE_MODE_IPIP ||
	    svc->id >= SLUICE_MAX_SERVICES)
		return NULL;
	sk.cgid = sluice_host_cgid;
	if (bpf_map_lookup_elem(&sl_host_scope, &sk))
		return svc;
	__builtin_memset(&sk.svc, 0, sizeof(sk.svc));
	all = bpf_map_lookup_elem(&sl_host_scope, &sk);
	return all && (all->flags & SLUICE_HOST_ALL) ? svc : NULL;
}

/*
 * A connect of svc within the service's rate on this host: 1, or 0 when
 * over it. Before the bulkhead: a connect refused here holds no slot.
 */
static __always_inline int sluice_host_rate(const struct sluice_svc *svc)
{
	/* Read the configuration once: userspace may replace it meanwhile. */
	__u64 interval = svc->rate.interval, tolerance = svc->rate.tolerance;
	__u32 id = svc->id;
	struct sluice_bucket *b;

	if (!interval)
		return 1;
	b = bpf_map_lookup_elem(&sl_host_rl, &id);
	return !b || sluice_bucket_take(&b->tat, bpf_ktime_get_ns() << SLUICE_TICK_SHIFT, interval,
					tolerance);
}

/* Give back what a socket holds (slots of sl_host_conns); idempotent, atomic. */
static __always_inline void sluice_host_release(struct sluice_host_sock *hs)
{
	sluice_bh_release_in(&sl_host_conns, &hs->flags, hs->svc_id);
}

/*
 * The stage. d: the destination asked for; connect: a connect() (1) or a
 * UDP send (0); sk: the socket. SLUICE_CONTINUE: not a balanced service,
 * leave it; 0: d now holds the backend; a positive errno: refuse.
 */
static __always_inline int sluice_host_steer(struct bpf_sock_addr *ctx, struct bpf_sock *sk,
					     struct sluice_host_dst *d, int connect)
{
	struct sluice_bh_limits lim = {};
	struct sluice_flow_key key = {};
	struct sluice_host_sock *hs;
	struct sluice_backend *be;
	struct sluice_svc *svc;
	__u32 flags = 0, id = SLUICE_NO_BACKEND, table_id, hash, svc_id;
	int v4 = sluice_addr_is_v4(&d->addr);
	__u64 cookie;
	int reason;

	svc = sluice_host_service(d);
	if (!svc)
		return SLUICE_CONTINUE;
	svc_id = svc->id;
	hs = bpf_sk_storage_get(&sl_host_socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	/*
	 * A socket connecting again (after a failed connect) gives its slot
	 * back first, and forgets its last backend: refused below, it must
	 * not show a later peer as the service.
	 */
	if (hs) {
		sluice_host_release(hs);
		__builtin_memset(hs, 0, sizeof(*hs));
	}
	if (v4)
		key.src.u32[2] = bpf_htonl(0x0000ffff); /* ::ffff:0.0.0.0 */
	cookie = bpf_get_socket_cookie(ctx);
	key.sport = (__be16)(cookie ^ cookie >> 16 ^ cookie >> 32 ^ cookie >> 48);
	key.dst = d->addr;
	key.dport = d->port;
	key.proto = d->proto;
	if (connect && !sluice_host_rate(svc)) {
		sluice_host_count(svc_id, SLUICE_HOST_REFUSED_RATE);
		return ECONNREFUSED;
	}
	sluice_bh_limits(svc_id, &lim);
	/* Connections are counted, datagrams are not: a UDP send is no connection. */
	if (connect && d->proto == IPPROTO_TCP &&
	    sluice_bh_take_in(&sl_host_conns, &key.src, svc_id, &lim, &flags) != SLUICE_CONTINUE) {
		sluice_host_count(svc_id, SLUICE_HOST_REFUSED_BH);
		return ECONNREFUSED;
	}
	if (svc->flags & SLUICE_SVC_F_LEADER) {
		be = sluice_leader_pick(svc_id, &id);
	} else {
		be = sluice_choose(svc, svc_id, &key, &id, &table_id, &hash);
		if (be) {
			reason = sluice_breaker(svc_id, &lim, table_id, hash, &id, &be, &flags);
			if (reason != SLUICE_CONTINUE) {
				sluice_bh_give_in(&sl_host_conns, svc_id, flags);
				sluice_host_count(svc_id, SLUICE_HOST_REFUSED_BRK);
				return ECONNREFUSED;
			}
		}
	}
	/* The socket's family is fixed: a backend of the other one cannot take it. */
	if (!be || sluice_addr_is_v4(&be->addr) != v4) {
		sluice_bh_give_in(&sl_host_conns, svc_id, flags);
		sluice_host_count(svc_id, SLUICE_HOST_NO_BACKEND);
		return ECONNREFUSED;
	}
	if (hs) {
		hs->vip = d->addr;
		hs->vport = d->port;
		hs->backend = be->addr;
		hs->bport = be->port ? be->port : d->port;
		hs->svc_id = svc_id;
		hs->backend_id = id;
		hs->flags = flags;
	} else {
		/* No storage (out of memory): nothing could give the slot back. */
		sluice_bh_give_in(&sl_host_conns, svc_id, flags);
	}
	d->addr = be->addr;
	d->port = be->port ? be->port : d->port;
	sluice_host_count(svc_id, SLUICE_HOST_BALANCED);
	return 0;
}

/*
 * The peer (getpeername) or source (recvmsg) a balanced socket reports:
 * 1 with *addr / *port set back to the service when they are its backend.
 */
static __always_inline int sluice_host_unsteer(struct bpf_sock *sk, union sluice_addr *addr,
					       __be16 *port)
{
	struct sluice_host_sock *hs = bpf_sk_storage_get(&sl_host_socks, sk, 0, 0);

	if (!hs || hs->bport != *port || hs->backend.u32[0] != addr->u32[0] ||
	    hs->backend.u32[1] != addr->u32[1] || hs->backend.u32[2] != addr->u32[2] ||
	    hs->backend.u32[3] != addr->u32[3])
		return 0;
	*addr = hs->vip;
	*port = hs->vport;
	return 1;
}

#endif /* SLUICE_HOSTLB_H */
