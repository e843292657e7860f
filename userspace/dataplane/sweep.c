// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The reconcile sweep (see sweep.h).
 *
 * Walk. The flow table is read in batches (BPF_MAP_LOOKUP_BATCH walks a
 * hash bucket by bucket, so deleting entries already returned does not
 * disturb it); each batch is judged and its expired flows deleted before
 * the next is read, so memory stays bounded whatever the table's size.
 * Kernels without batch ops get a key walk that collects first and deletes
 * after (deleting under bpf_map_get_next_key would restart it).
 *
 * Deleting. A flow judged expired is looked up once more right before its
 * delete, and kept if it changed meanwhile (a SYN-ACK made it ESTABLISHED,
 * a packet refreshed last_seen). What is left is a window of a few
 * microseconds in which a packet may touch a flow we then delete; that
 * connection's next packet finds no flow and is steered anew (a non-SYN TCP
 * packet takes no slot), which is what an expired flow would do anyway.
 *
 * Counting. The data plane keeps sl_conns with atomic adds; drift comes from
 * flows that leave without a release (LRU eviction, expiry, a lost FIN). The
 * truth is the number of flows that hold a slot (COUNTED / COUNTED_GLOBAL)
 * once the expired ones are gone. The sweep reads each slot through an mmap
 * of sl_conns and adds (true - seen) with one atomic fetch-and-add: never a
 * store, so no concurrent take or release by the data plane is lost.
 *
 * The race window: between the moment the walk passed a flow and the moment
 * the slot is corrected, the data plane may take a slot (a new flow the walk
 * did not see: its +1 is in seen, not in true, so the correction takes it
 * away) or release one (a flow the walk counted: its -1 is in seen and the
 * correction adds it back). Each error is at most the number of slots taken
 * or released during the walk of that service's flows, and it is not kept:
 * the next sweep measures again from the flow table, so with the traffic's
 * churn constant the error stays bounded by one walk's churn, and once the
 * service is quiet one sweep makes the count exact. The slots are read
 * last, just before the adds, to keep the window as short as the walk.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>

#include "breaker.h"
#include "clock.h"
#include "err.h"
#include "res.h"
#include "sweep.h"

#define SWEEP_BATCH 4096u

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* the kernel's "operation not supported", not in libc's errno.h */
#endif

void sweep_report_free(struct sweep_report *r)
{
	if (!r)
		return;
	free(r->failures);
	free(r->fixes);
	r->failures = NULL;
	r->fixes = NULL;
	r->nfailures = r->nfixes = 0;
}

/* Orphan twins: candidates found missing their forward flow, checked again at the end. */
struct orphans {
	struct sluice_flow_key *keys;
	size_t n, cap;
	int oom;
};

/* What the sweep knows of the configuration, read once per sweep. */
struct sweep_ctx {
	const struct sluice_maps *m;
	__u64 now;
	__u64 udp_timeout_ns;
	__u64 tcp_idle_ns;
	struct maps_svc_entry *svcs; /* every key, by id: svc_of[id] indexes the first, or -1 */
	size_t nsvcs;
	int svc_of[SLUICE_MAX_SERVICES];
	__u64 syn_timeout_ns[SLUICE_MAX_SERVICES];
	struct sluice_backend *backends; /* all SLUICE_MAX_BACKENDS */
	__s64 counted[SLUICE_MAX_SERVICES + 1];
	__u32 *syn_failures; /* per backend id */
	struct orphans orphans;
	struct sweep_report *r;
};

enum verdict { KEEP = 0, EXP_UDP, EXP_SYN, EXP_IDLE, ORPHAN };

static __u64 age(__u64 now, __u64 t)
{
	return now > t ? now - t : 0;
}

/* The service svc_id of flow k, or NULL when it is gone or its id was reused. */
static const struct maps_svc_entry *flow_service(const struct sweep_ctx *c,
						 const struct sluice_flow_key *k, __u32 svc_id)
{
	const struct maps_svc_entry *s;

	if (svc_id >= SLUICE_MAX_SERVICES || c->svc_of[svc_id] < 0)
		return NULL;
	/* A flow's key is the direction client -> service: dst is the service. */
	for (s = &c->svcs[c->svc_of[svc_id]]; s < c->svcs + c->nsvcs && s->svc.id == svc_id; s++)
		if (!memcmp(&s->key.addr, &k->dst, sizeof(k->dst)) && s->key.port == k->dport &&
		    s->key.proto == k->proto)
			return s; /* its read or its write port: both keys of the id are listed */
	return NULL;
}

static enum verdict judge(const struct sweep_ctx *c, const struct sluice_flow_key *k,
			  const struct sluice_flow *v)
{
	if (!flow_service(c, k, v->svc_id))
		return ORPHAN;
	if (k->proto == IPPROTO_UDP)
		return age(c->now, v->last_seen) > c->udp_timeout_ns ? EXP_UDP : KEEP;
	/*
	 * Closed before it was established (a RST either way: the data plane
	 * already signalled a refusal, or the client gave up): no failure to
	 * report a second time, just old state to clear.
	 */
	if (!(v->flags & SLUICE_FLOW_ESTABLISHED) &&
	    (v->flags & (SLUICE_FLOW_FIN_CLIENT | SLUICE_FLOW_FIN_BACKEND)) ==
		    (SLUICE_FLOW_FIN_CLIENT | SLUICE_FLOW_FIN_BACKEND))
		return age(c->now, v->created) > c->syn_timeout_ns[v->svc_id] ? EXP_IDLE : KEEP;
	if (!(v->flags & SLUICE_FLOW_ESTABLISHED))
		return age(c->now, v->created) > c->syn_timeout_ns[v->svc_id] ? EXP_SYN : KEEP;
	return age(c->now, v->last_seen) > c->tcp_idle_ns ? EXP_IDLE : KEEP;
}

/*
 * Active: a packet within SWEEP_ACTIVE_NS, and for TCP no RST nor the FIN
 * that closes it (both in nat). A flow the routers now send to another
 * gateway stops being active here.
 */
static int flow_active(const struct sweep_ctx *c, const struct sluice_flow_key *k,
		       const struct sluice_flow *v)
{
	__u32 fin = SLUICE_FLOW_FIN_CLIENT;

	if (age(c->now, v->last_seen) > SWEEP_ACTIVE_NS)
		return 0;
	if (k->proto == IPPROTO_UDP)
		return 1;
	if (v->svc_id < SLUICE_MAX_SERVICES && c->svc_of[v->svc_id] >= 0 &&
	    c->svcs[c->svc_of[v->svc_id]].svc.mode == SLUICE_MODE_NAT)
		fin |= SLUICE_FLOW_FIN_BACKEND;
	return (v->flags & fin) != fin;
}

static void count_flow(struct sweep_ctx *c, const struct sluice_flow_key *k,
		       const struct sluice_flow *v)
{
	c->r->active += (__u64)flow_active(c, k, v);
	if (v->flags & SLUICE_FLOW_COUNTED && v->svc_id < SLUICE_MAX_SERVICES)
		c->counted[v->svc_id]++;
	if (v->flags & SLUICE_FLOW_COUNTED_GLOBAL)
		c->counted[SLUICE_CONNS_GLOBAL]++;
}

/* The sl_nat_rev key of a nat flow: backend -> client (see the ABI). */
static int twin_key(const struct sweep_ctx *c, const struct sluice_flow_key *k,
		    const struct sluice_flow *v, struct sluice_flow_key *t)
{
	const struct sluice_backend *be;

	if (v->backend_id >= SLUICE_MAX_BACKENDS || v->svc_id >= SLUICE_MAX_SERVICES ||
	    c->svc_of[v->svc_id] < 0 || c->svcs[c->svc_of[v->svc_id]].svc.mode != SLUICE_MODE_NAT)
		return 0;
	be = &c->backends[v->backend_id];
	if (be->state == SLUICE_BE_UNUSED || be->svc_id != v->svc_id)
		return 0; /* the orphan pass over sl_nat_rev finds it */
	memset(t, 0, sizeof(*t));
	t->src = be->addr;
	t->dst = k->src;
	t->sport = be->port;
	t->dport = k->sport;
	t->proto = k->proto;
	return 1;
}

/* Judge one flow; delete it (and its twin) when expired, else count it. */
static void sweep_flow(struct sweep_ctx *c, const struct sluice_flow_key *k,
		       const struct sluice_flow *v)
{
	struct sluice_flow now_v;
	struct sluice_flow_key t;
	enum verdict why;

	c->r->flows++;
	why = judge(c, k, v);
	if (why == KEEP) {
		count_flow(c, k, v);
		return;
	}
	/* Look again right before the delete: keep a flow that changed meanwhile. */
	if (bpf_map_lookup_elem(c->m->flows, k, &now_v))
		return; /* gone already (LRU, or the data plane) */
	if (memcmp(&now_v, v, sizeof(now_v)) && judge(c, k, &now_v) == KEEP) {
		count_flow(c, k, &now_v);
		return;
	}
	if (bpf_map_delete_elem(c->m->flows, k))
		return;
	c->r->released += !!(now_v.flags & SLUICE_FLOW_COUNTED) +
			  !!(now_v.flags & SLUICE_FLOW_COUNTED_GLOBAL);
	switch (why) {
	case EXP_UDP:
		c->r->expired_udp++;
		break;
	case EXP_SYN:
		c->r->expired_syn++;
		if (now_v.backend_id < SLUICE_MAX_BACKENDS)
			c->syn_failures[now_v.backend_id]++;
		break;
	case EXP_IDLE:
		c->r->expired_idle++;
		break;
	default:
		c->r->orphans++;
		break;
	}
	if (twin_key(c, k, &now_v, &t) && !bpf_map_delete_elem(c->m->nat_rev, &t))
		c->r->nat_rev++;
}

/*
 * A pending handshake (sl_syn_v2: a SYN makes no flow before the client's
 * ACK) past its service's syn-timeout: EXP_SYN when its SYN-ACK was not
 * seen (nat; ipip never sees it, as its SYN_SENT flows were before), else
 * EXP_IDLE (the client never completed it: no failure of the backend);
 * past it and of a service gone: ORPHAN. Younger: KEEP.
 */
static enum verdict judge_syn(const struct sweep_ctx *c, const struct sluice_flow_key *k,
			      const struct sluice_syn *v)
{
	__u64 timeout = v->svc_id < SLUICE_MAX_SERVICES ? c->syn_timeout_ns[v->svc_id]
							: BRK_DEF_SYN_TIMEOUT_MS * 1000000ull;

	if (age(c->now, v->created) <= timeout)
		return KEEP;
	if (!flow_service(c, k, v->svc_id))
		return ORPHAN;
	return v->state & SLUICE_SYN_ANSWERED ? EXP_IDLE : EXP_SYN;
}

/*
 * Delete an expired pending handshake; unanswered, a SYN timeout of the
 * backend it is on (its last try). Its nat twin goes in sweep_nat_rev(),
 * which runs after: its forward connection is no longer held.
 */
static void syn_cb(struct sweep_ctx *c, const void *key, const void *value)
{
	const struct sluice_flow_key *k = key;
	struct sluice_syn now_v;
	enum verdict why;

	why = judge_syn(c, k, value);
	if (why == KEEP)
		return;
	/* Again right before the delete: a new SYN or its SYN-ACK may have come meanwhile. */
	if (bpf_map_lookup_elem(c->m->syn, k, &now_v))
		return;
	why = judge_syn(c, k, &now_v);
	if (why == KEEP || bpf_map_delete_elem(c->m->syn, k))
		return;
	if (why == ORPHAN)
		c->r->orphans++;
	if (why != EXP_SYN)
		return;
	c->r->expired_syn++;
	if (now_v.tries && now_v.tries <= SLUICE_SYN_TRIED &&
	    now_v.tried[now_v.tries - 1] < SLUICE_MAX_BACKENDS)
		c->syn_failures[now_v.tried[now_v.tries - 1]]++;
}

/*
 * Call fn for every entry of a hash map (key_size/value_size bytes), in
 * batches; fn may delete entries already returned. -EOPNOTSUPP when the
 * kernel has no batch ops for the map.
 */
static int walk_batched(int fd, size_t key_size, size_t value_size,
			void (*fn)(struct sweep_ctx *, const void *, const void *),
			struct sweep_ctx *c)
{
	__u32 in = 0, out = 0, count, i, chunk = SWEEP_BATCH;
	char *keys = NULL, *values = NULL;
	int first = 1, err = 0, done = 0;

	while (!done) {
		if (!keys) {
			keys = malloc(chunk * key_size);
			values = malloc(chunk * value_size);
			if (!keys || !values) {
				err_set("out of memory");
				err = -ENOMEM;
				break;
			}
		}
		count = chunk;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, values, &count,
					   NULL);
		err = err ? -errno : 0;
		if (err == -ENOSPC && chunk < (1u << 20)) {
			/* One bucket holds more than a batch: larger buffers, same position. */
			free(keys);
			free(values);
			keys = values = NULL;
			chunk *= 2;
			err = 0;
			continue;
		}
		if (err == -ENOENT) {
			done = 1;
			err = 0;
		} else if (err) {
			if (first && (err == -EINVAL || err == -EOPNOTSUPP || err == -ENOTSUPP))
				err = -EOPNOTSUPP;
			break;
		}
		for (i = 0; i < count; i++)
			fn(c, keys + (size_t)i * key_size, values + (size_t)i * value_size);
		in = out;
		first = 0;
	}
	free(keys);
	free(values);
	return err;
}

/* The same without batch ops: collect the keys, then look each up. */
static int walk_keys(int fd, size_t key_size, size_t value_size, __u32 max,
		     void (*fn)(struct sweep_ctx *, const void *, const void *),
		     struct sweep_ctx *c)
{
	char *keys, *value, *prev = NULL;
	size_t n = 0, i;
	int err = 0;

	keys = malloc(((size_t)max + 1) * key_size);
	value = malloc(value_size);
	if (!keys || !value) {
		free(keys);
		free(value);
		err_set("out of memory");
		return -ENOMEM;
	}
	/* A restarted walk (a key deleted under us) may repeat keys: bounded, and
	 * a repeated key's second lookup finds what the first one left. */
	while (n < max && !bpf_map_get_next_key(fd, prev, keys + n * key_size)) {
		prev = keys + n * key_size;
		n++;
	}
	for (i = 0; i < n; i++)
		if (!bpf_map_lookup_elem(fd, keys + i * key_size, value))
			fn(c, keys + i * key_size, value);
	free(keys);
	free(value);
	return err;
}

static void flow_cb(struct sweep_ctx *c, const void *k, const void *v)
{
	sweep_flow(c, k, v);
}

static void forward_of(const struct sluice_flow_key *rk, const struct sluice_nat_rev_ent *re,
		       struct sluice_flow_key *f)
{
	const struct sluice_nat_rev *rv = &re->rev;

	memset(f, 0, sizeof(*f));
	f->src = rk->dst;
	f->dst = rv->vip;
	f->sport = rk->dport;
	f->dport = rv->vport;
	f->proto = rk->proto;
}

/*
 * 1 unless the forward connection f is surely gone: it has a flow, or a
 * pending handshake (the data plane creates the flow only at the client's
 * ACK, after the SYN-ACK this translation carries back), or a lookup failed.
 */
static int forward_held(const struct sweep_ctx *c, const struct sluice_flow_key *f)
{
	struct sluice_flow fv;
	struct sluice_syn sv;

	if (!bpf_map_lookup_elem(c->m->flows, f, &fv) || errno != ENOENT)
		return 1;
	return !bpf_map_lookup_elem(c->m->syn, f, &sv) || errno != ENOENT;
}

static void rev_cb(struct sweep_ctx *c, const void *k, const void *v)
{
	struct sluice_flow_key f;
	struct sluice_flow_key *grown;

	forward_of(k, v, &f);
	if (forward_held(c, &f))
		return;
	if (c->orphans.n == c->orphans.cap) {
		c->orphans.cap = c->orphans.cap ? c->orphans.cap * 2 : 256;
		grown = realloc(c->orphans.keys, c->orphans.cap * sizeof(*grown));
		if (!grown) {
			c->orphans.oom = 1;
			return;
		}
		c->orphans.keys = grown;
	}
	c->orphans.keys[c->orphans.n++] = *(const struct sluice_flow_key *)k;
}

static int walk(struct sweep_ctx *c, int fd, size_t key_size, size_t value_size,
		void (*fn)(struct sweep_ctx *, const void *, const void *), const char *what)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int err;

	err = walk_batched(fd, key_size, value_size, fn, c);
	if (err == -EOPNOTSUPP) {
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
			err = -errno;
			err_set("cannot query %s: %s", what, strerror(-err));
			return err;
		}
		err = walk_keys(fd, key_size, value_size, info.max_entries * 2, fn, c);
	}
	if (err && !*err_msg())
		err_set("cannot walk %s: %s", what, strerror(-err));
	return err;
}

/* Delete the sl_nat_rev entries whose forward flow is gone (and still is). */
static int sweep_nat_rev(struct sweep_ctx *c)
{
	struct sluice_nat_rev_ent rv;
	struct sluice_flow_key f;
	size_t i;
	int err;

	memset(&c->orphans, 0, sizeof(c->orphans));
	err = walk(c, c->m->nat_rev, sizeof(struct sluice_flow_key),
		   sizeof(struct sluice_nat_rev_ent), rev_cb, SLUICE_MAP_NAT_REV);
	/*
	 * Checked again after the whole pass: the data plane writes a nat
	 * flow's two entries one after the other, and a twin seen between
	 * the two writes must not be taken for an orphan.
	 */
	for (i = 0; !err && i < c->orphans.n; i++) {
		if (bpf_map_lookup_elem(c->m->nat_rev, &c->orphans.keys[i], &rv))
			continue;
		forward_of(&c->orphans.keys[i], &rv, &f);
		if (forward_held(c, &f))
			continue;
		if (!bpf_map_delete_elem(c->m->nat_rev, &c->orphans.keys[i]))
			c->r->nat_rev++;
	}
	if (!err && c->orphans.oom) {
		err_set("out of memory");
		err = -ENOMEM;
	}
	free(c->orphans.keys);
	memset(&c->orphans, 0, sizeof(c->orphans));
	return err;
}

/* Correct sl_conns through its mmap: atomic adds of (true - seen). */
static int correct_conns(struct sweep_ctx *c)
{
	size_t size = (SLUICE_MAX_SERVICES + 1) * sizeof(struct sluice_conns);
	long page = sysconf(_SC_PAGESIZE);
	struct sluice_conns *conns;
	struct sweep_fix *fixes;
	__s64 seen, delta;
	size_t n = 0;
	__u32 i;
	void *p;
	int err;

	if (page > 0)
		size = (size + (size_t)page - 1) / (size_t)page * (size_t)page;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, c->m->conns, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		err_set("cannot map %s: %s (it must be created with BPF_F_MMAPABLE)",
			SLUICE_MAP_CONNS, strerror(-err));
		return err;
	}
	conns = p;
	fixes = calloc(SLUICE_MAX_SERVICES + 1, sizeof(*fixes));
	if (!fixes) {
		munmap(p, size);
		err_set("out of memory");
		return -ENOMEM;
	}
	for (i = 0; i <= SLUICE_MAX_SERVICES; i++) {
		seen = __atomic_load_n(&conns[i].active, __ATOMIC_RELAXED);
		delta = c->counted[i] - seen;
		if (!delta)
			continue;
		/* An add, never a store: the data plane's own adds meanwhile are kept. */
		__atomic_fetch_add(&conns[i].active, delta, __ATOMIC_SEQ_CST);
		fixes[n].slot = i;
		fixes[n].seen = seen;
		fixes[n].counted = c->counted[i];
		n++;
	}
	munmap(p, size);
	c->r->fixes = fixes;
	c->r->nfixes = n;
	return 0;
}

static int load_ctx(struct sweep_ctx *c)
{
	struct sluice_svc_res *res = NULL;
	struct sluice_res_global g;
	struct sluice_config cfg;
	size_t n = 0, i;
	int err;

	for (i = 0; i < SLUICE_MAX_SERVICES; i++)
		c->svc_of[i] = -1;
	err = maps_svc_list_all(c->m, &c->svcs, &n);
	if (err)
		return err;
	c->nsvcs = n;
	for (i = 0; i < n; i++)
		if (c->svcs[i].svc.id < SLUICE_MAX_SERVICES && c->svc_of[c->svcs[i].svc.id] < 0)
			c->svc_of[c->svcs[i].svc.id] = (int)i;
	res = calloc(SLUICE_MAX_SERVICES, sizeof(*res));
	c->backends = calloc(SLUICE_MAX_BACKENDS, sizeof(*c->backends));
	c->syn_failures = calloc(SLUICE_MAX_BACKENDS, sizeof(*c->syn_failures));
	if (!res || !c->backends || !c->syn_failures) {
		free(res);
		err_set("out of memory");
		return -ENOMEM;
	}
	err = maps_read_svc_res_all(c->m, res);
	if (!err)
		err = maps_read_backends(c->m, c->backends);
	if (!err)
		err = maps_read_res_global(c->m, &g);
	if (!err)
		err = maps_read_config(c->m, &cfg);
	if (err) {
		free(res);
		return err;
	}
	for (i = 0; i < SLUICE_MAX_SERVICES; i++)
		c->syn_timeout_ns[i] = (__u64)(res[i].syn_timeout_ms ? res[i].syn_timeout_ms
								     : BRK_DEF_SYN_TIMEOUT_MS) *
				       1000000ull;
	free(res);
	c->udp_timeout_ns = cfg.udp_timeout_ns ? cfg.udp_timeout_ns : SLUICE_UDP_TIMEOUT_DEFAULT_NS;
	c->tcp_idle_ns =
		(__u64)(g.tcp_idle_s ? g.tcp_idle_s : RES_TCP_IDLE_DEFAULT_S) * 1000000000ull;
	return 0;
}

static int collect_failures(struct sweep_ctx *c)
{
	size_t n = 0, i;

	for (i = 0; i < SLUICE_MAX_BACKENDS; i++)
		n += c->syn_failures[i] != 0;
	if (!n)
		return 0;
	c->r->failures = calloc(n, sizeof(*c->r->failures));
	if (!c->r->failures) {
		err_set("out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < SLUICE_MAX_BACKENDS; i++) {
		if (!c->syn_failures[i])
			continue;
		c->r->failures[c->r->nfailures].backend_id = (__u32)i;
		c->r->failures[c->r->nfailures].svc_id = c->backends[i].svc_id;
		c->r->failures[c->r->nfailures].count = c->syn_failures[i];
		c->r->nfailures++;
	}
	return 0;
}

int sweep_run(const struct sluice_maps *m, __u64 now_ns, struct sweep_report *r)
{
	__u64 start = clock_mono_ns();
	struct sweep_ctx *c;
	int err;

	memset(r, 0, sizeof(*r));
	c = calloc(1, sizeof(*c));
	if (!c) {
		err_set("out of memory");
		return -ENOMEM;
	}
	c->m = m;
	c->r = r;
	c->now = now_ns ? now_ns : start;
	err_clear();
	err = load_ctx(c);
	if (!err)
		err = walk(c, m->flows, sizeof(struct sluice_flow_key), sizeof(struct sluice_flow),
			   flow_cb, SLUICE_MAP_FLOWS);
	if (!err)
		err = walk(c, m->syn, sizeof(struct sluice_flow_key), sizeof(struct sluice_syn),
			   syn_cb, SLUICE_MAP_SYN);
	if (!err)
		err = sweep_nat_rev(c);
	if (!err)
		err = collect_failures(c);
	/* Corrected only after a complete walk: a partial count would be wrong. */
	if (!err)
		err = correct_conns(c);
	r->duration_ns = clock_mono_ns() - start;
	free(c->svcs);
	free(c->backends);
	free(c->syn_failures);
	free(c);
	return err;
}
