// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The gateway's state as plain C (see state.h): reading it from the pinned
 * maps, comparing two states, and turning a state (or the difference of two)
 * into sluice CLI commands. Reading goes through the typed read functions of
 * maps.h, svc.h, backend.h, shard.h, res.h and gateway.h; nothing here
 * writes a map: the commands do, through the CLI and its write modules.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "args.h"
#include "breaker.h"
#include "cmd.h"
#include "ctl.h"
#include "err.h"
#include "gateway.h"
#include "loader.h"
#include "pacing.h"
#include "rate.h"
#include "res.h"
#include "shard.h"
#include "state.h"
#include "svc.h"

void state_health_defaults(struct state_health *h)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->path, sizeof(h->path), "/");
	h->interval_ms = STATE_HC_INTERVAL_MS;
	h->timeout_ms = STATE_HC_TIMEOUT_MS;
	h->rise = STATE_HC_RISE;
	h->fall = STATE_HC_FALL;
}

void state_role_defaults(struct state_health *h)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->path, sizeof(h->path), "%s", STATE_ROLE_PATH);
	h->ncodes = 1;
	h->codes[0] = STATE_ROLE_CODE;
	h->interval_ms = STATE_ROLE_INTERVAL_MS;
	h->timeout_ms = STATE_ROLE_TIMEOUT_MS;
	/* One answer decides: the role changes at once, it does not flap. */
	h->rise = 1;
	h->fall = 1;
}

static void cluster_defaults(struct state_cluster *c)
{
	char host[256];

	memset(c, 0, sizeof(*c));
	if (gethostname(host, sizeof(host)))
		snprintf(host, sizeof(host), "sluice");
	host[sizeof(host) - 1] = 0;
	snprintf(c->name, sizeof(c->name), "%.*s", (int)sizeof(c->name) - 1, host);
	snprintf(c->prefix, sizeof(c->prefix), "%s", STATE_CLUSTER_PREFIX);
	c->lease_ttl_s = STATE_CLUSTER_LEASE_TTL_S;
	c->timeout_ms = STATE_CLUSTER_TIMEOUT_MS;
	c->share = 1;
}

void state_init(struct state *s)
{
	memset(s, 0, sizeof(*s));
	cluster_defaults(&s->cluster);
	bird_conf_init(&s->bgp);
	snprintf(s->daemon.socket, sizeof(s->daemon.socket), "%s", CTL_SOCKET_DEFAULT);
	snprintf(s->daemon.journal, sizeof(s->daemon.journal), "%s", STATE_JOURNAL_DEFAULT);
	snprintf(s->daemon.metrics, sizeof(s->daemon.metrics), "%s", STATE_METRICS_DEFAULT);
	state_health_defaults(&s->daemon.health);
	s->udp_timeout_s = (__u32)(SLUICE_UDP_TIMEOUT_DEFAULT_NS / 1000000000ull);
	s->tcp_idle_s = RES_TCP_IDLE_DEFAULT_S;
}

int state_berev_conflicts(const struct state *s, struct berev_conflict **cf_out, size_t *n_out)
{
	struct berev_conflict *cf = NULL;
	struct berev_entry *v = NULL;
	size_t n = 0, cap = 0, kept, nc = 0, i, j;
	int err = 0;

	*cf_out = NULL;
	*n_out = 0;
	/* Ids are the services' indexes here: they only tell services apart. */
	for (i = 0; !err && i < s->nservices; i++) {
		const struct state_service *sv = &s->services[i];
		struct sluice_svc_key wkey = sv->key;

		if (sv->mode != SLUICE_MODE_NAT)
			continue;
		wkey.port = htons(sv->write_port);
		for (j = 0; !err && j < sv->nbackends; j++) {
			const struct state_backend *b = &sv->backends[j];

			err = berev_add(&v, &n, &cap, &sv->key, (__u32)i, (__u32)j, &b->addr,
					htons(b->port));
			if (!err && sv->write_port)
				err = berev_add(&v, &n, &cap, &wkey, (__u32)i, (__u32)j, &b->addr,
						htons(b->port));
		}
	}
	if (!err && n) {
		cf = calloc(n / 2 + 1, sizeof(*cf));
		if (!cf) {
			err_set("out of memory");
			err = -ENOMEM;
		}
	}
	if (!err) {
		berev_resolve(v, n, &kept, cf, &nc);
		if (nc) {
			*cf_out = cf;
			cf = NULL;
		}
		*n_out = nc;
	}
	free(cf);
	free(v);
	return err;
}

void state_free(struct state *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nservices; i++) {
		free(s->services[i].backends);
		free(s->services[i].shards);
	}
	free(s->services);
	free(s->ifaces);
	free(s->hosts);
	state_init(s);
}

/* The resolved defaults of the resilience settings (a zeroed sl_svc_res). */
static void res_defaults(struct sluice_svc_res *r)
{
	memset(r, 0, sizeof(*r));
	r->brk_failures = BRK_DEF_FAILURES;
	r->brk_window_ms = BRK_DEF_WINDOW_MS;
	r->brk_rate_pct = BRK_DEF_RATE_PCT;
	r->brk_min_calls = BRK_DEF_MIN_CALLS;
	r->brk_wait_ms = BRK_DEF_WAIT_MS;
	r->brk_wait_max_ms = BRK_DEF_WAIT_MAX_MS;
	r->brk_probes = BRK_DEF_PROBES;
	r->brk_successes = BRK_DEF_SUCCESSES;
	r->brk_max_open_pct = BRK_DEF_MAX_OPEN_PCT;
	r->syn_timeout_ms = BRK_DEF_SYN_TIMEOUT_MS;
	r->panic_pct = SLUICE_PANIC_DEFAULT_PCT;
}

static __u32 or_default(__u32 v, __u32 def)
{
	return v ? v : def;
}

/* A stored sl_svc_res with its zeros resolved to the defaults. */
static void res_resolve(const struct sluice_svc_res *in, struct sluice_svc_res *r)
{
	*r = *in;
	r->fallback_be = 0;
	r->flags &= (__u8)~SLUICE_RES_PANIC; /* the engine's live verdict, not a setting */
	r->panic_pct = in->panic_pct ? in->panic_pct : SLUICE_PANIC_DEFAULT_PCT;
	r->brk_failures = or_default(in->brk_failures, BRK_DEF_FAILURES);
	r->brk_window_ms = or_default(in->brk_window_ms, BRK_DEF_WINDOW_MS);
	r->brk_rate_pct = or_default(in->brk_rate_pct, BRK_DEF_RATE_PCT);
	r->brk_min_calls = or_default(in->brk_min_calls, BRK_DEF_MIN_CALLS);
	r->brk_wait_ms = or_default(in->brk_wait_ms, BRK_DEF_WAIT_MS);
	r->brk_wait_max_ms = or_default(in->brk_wait_max_ms, BRK_DEF_WAIT_MAX_MS);
	r->brk_probes = or_default(in->brk_probes, BRK_DEF_PROBES);
	r->brk_successes = or_default(in->brk_successes, BRK_DEF_SUCCESSES);
	r->brk_max_open_pct = or_default(in->brk_max_open_pct, BRK_DEF_MAX_OPEN_PCT);
	r->syn_timeout_ms = or_default(in->syn_timeout_ms, BRK_DEF_SYN_TIMEOUT_MS);
}

static int is_steering(__u8 mode)
{
	return mode == SLUICE_MODE_NAT || mode == SLUICE_MODE_IPIP;
}

void state_service_defaults(struct state_service *svc, __u8 mode)
{
	memset(svc, 0, sizeof(*svc));
	svc->mode = mode ? mode : SLUICE_MODE_LOCAL;
	svc->hash = SLUICE_HASH_5TUPLE;
	svc->maglev_size = is_steering(svc->mode) ? SLUICE_MAGLEV_M_DEFAULT : 0;
	res_defaults(&svc->res);
	svc->retries = SLUICE_FO_RETRIES_DEFAULT;
	svc->fast_trip = SLUICE_FO_TRIP_DEFAULT;
	state_health_defaults(&svc->health);
	state_role_defaults(&svc->role);
}

/* Grow *arr (of *n elements of size sz) by one zeroed element. */
static void *grow(void *arr_ptr, size_t *n, size_t sz)
{
	void **arr = arr_ptr;
	char *p = realloc(*arr, (*n + 1) * sz);

	if (!p) {
		err_set("out of memory");
		return NULL;
	}
	*arr = p;
	memset(p + *n * sz, 0, sz);
	return p + (*n)++ * sz;
}

struct state_service *state_add_service(struct state *s)
{
	return grow(&s->services, &s->nservices, sizeof(*s->services));
}

struct state_backend *state_add_backend(struct state_service *svc)
{
	return grow(&svc->backends, &svc->nbackends, sizeof(*svc->backends));
}

struct state_shard *state_add_shard(struct state_service *svc)
{
	return grow(&svc->shards, &svc->nshards, sizeof(*svc->shards));
}

struct state_iface *state_add_iface(struct state *s)
{
	return grow(&s->ifaces, &s->nifaces, sizeof(*s->ifaces));
}

struct state_host *state_add_host(struct state *s)
{
	return grow(&s->hosts, &s->nhosts, sizeof(*s->hosts));
}

static int same_svc_key(const struct sluice_svc_key *a, const struct sluice_svc_key *b)
{
	return !memcmp(&a->addr, &b->addr, sizeof(a->addr)) && a->port == b->port &&
	       a->proto == b->proto;
}

struct state_service *state_find_service(const struct state *s, const struct sluice_svc_key *key)
{
	size_t i;

	for (i = 0; i < s->nservices; i++)
		if (same_svc_key(&s->services[i].key, key))
			return &s->services[i];
	return NULL;
}

const struct state_backend *state_find_backend(const struct state_service *svc,
					       const union sluice_addr *addr, __u16 port)
{
	size_t i;

	for (i = 0; i < svc->nbackends; i++)
		if (!memcmp(&svc->backends[i].addr, addr, sizeof(*addr)) &&
		    svc->backends[i].port == port)
			return &svc->backends[i];
	return NULL;
}

static const struct state_shard *find_shard(const struct state_service *svc,
					    const struct sluice_shard_key *k)
{
	size_t i;

	for (i = 0; i < svc->nshards; i++)
		if (svc->shards[i].key.prefixlen == k->prefixlen &&
		    !memcmp(&svc->shards[i].key.addr, &k->addr, sizeof(k->addr)))
			return &svc->shards[i];
	return NULL;
}

/* Sorting. */

static int cmp_svc(const void *a, const void *b)
{
	const struct state_service *x = a, *y = b;
	int c = memcmp(&x->key.addr, &y->key.addr, sizeof(x->key.addr));

	if (c)
		return c;
	if (x->key.port != y->key.port)
		return ntohs(x->key.port) < ntohs(y->key.port) ? -1 : 1;
	return (int)x->key.proto - (int)y->key.proto;
}

static int cmp_ref(const void *a, const void *b)
{
	const struct be_ref *x = a, *y = b;
	int c = memcmp(&x->addr, &y->addr, sizeof(x->addr));

	return c ? c : (int)x->port - (int)y->port;
}

static int cmp_be(const void *a, const void *b)
{
	const struct state_backend *x = a, *y = b;
	int c = memcmp(&x->addr, &y->addr, sizeof(x->addr));

	return c ? c : (int)x->port - (int)y->port;
}

static int cmp_prefix(const void *a, const void *b)
{
	const struct sluice_shard_key *x = a, *y = b;
	int c = memcmp(&x->addr, &y->addr, sizeof(x->addr));

	if (c)
		return c;
	return x->prefixlen < y->prefixlen ? -1 : x->prefixlen > y->prefixlen;
}

static int cmp_shard(const void *a, const void *b)
{
	const struct state_shard *x = a, *y = b;

	return cmp_prefix(&x->key, &y->key);
}

static int cmp_iface(const void *a, const void *b)
{
	const struct state_iface *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static int cmp_host(const void *a, const void *b)
{
	const struct state_host *x = a, *y = b;

	return strcmp(x->cgroup, y->cgroup);
}

/* Service keys in byte order, as loader_host_show() lists them. */
static int cmp_host_svc(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct sluice_svc_key));
}

static int same_host(const struct state_host *a, const struct state_host *b)
{
	return !strcmp(a->cgroup, b->cgroup) && a->nsvc == b->nsvc &&
	       !memcmp(a->svcs, b->svcs, a->nsvc * sizeof(a->svcs[0]));
}

void state_sort(struct state *s)
{
	size_t i, j;

	if (s->nservices)
		qsort(s->services, s->nservices, sizeof(*s->services), cmp_svc);
	if (s->nifaces)
		qsort(s->ifaces, s->nifaces, sizeof(*s->ifaces), cmp_iface);
	if (s->nhosts)
		qsort(s->hosts, s->nhosts, sizeof(*s->hosts), cmp_host);
	for (i = 0; i < s->nhosts; i++)
		if (s->hosts[i].nsvc)
			qsort(s->hosts[i].svcs, s->hosts[i].nsvc, sizeof(s->hosts[i].svcs[0]),
			      cmp_host_svc);
	for (i = 0; i < s->nservices; i++) {
		struct state_service *svc = &s->services[i];

		if (svc->nbackends)
			qsort(svc->backends, svc->nbackends, sizeof(*svc->backends), cmp_be);
		if (svc->nshards)
			qsort(svc->shards, svc->nshards, sizeof(*svc->shards), cmp_shard);
		if (svc->ncritical)
			qsort(svc->critical, svc->ncritical, sizeof(*svc->critical), cmp_prefix);
		for (j = 0; j < svc->nshards; j++)
			if (svc->shards[j].subset && svc->shards[j].count)
				qsort(svc->shards[j].members, svc->shards[j].count,
				      sizeof(struct be_ref), cmp_ref);
	}
}

/* Comparing. */

static int same_ref(const struct be_ref *a, const struct be_ref *b)
{
	return !memcmp(&a->addr, &b->addr, sizeof(a->addr)) && a->port == b->port;
}

static int same_shard(const struct state_shard *a, const struct state_shard *b)
{
	__u32 i;

	if (a->key.prefixlen != b->key.prefixlen ||
	    memcmp(&a->key.addr, &b->key.addr, sizeof(a->key.addr)) || a->subset != b->subset ||
	    a->count != b->count)
		return 0;
	for (i = 0; i < a->count; i++)
		if (!same_ref(&a->members[i], &b->members[i]))
			return 0;
	return 1;
}

static int same_critical(const struct state_service *a, const struct state_service *b)
{
	size_t i;

	if (a->ncritical != b->ncritical)
		return 0;
	for (i = 0; i < a->ncritical; i++)
		if (cmp_prefix(&a->critical[i], &b->critical[i]))
			return 0;
	return 1;
}

static int same_fallback(const struct state_service *a, const struct state_service *b)
{
	if (a->has_fallback != b->has_fallback)
		return 0;
	return !a->has_fallback || same_ref(&a->fallback, &b->fallback);
}

static int same_backend(const struct state_backend *a, const struct state_backend *b)
{
	return !memcmp(&a->addr, &b->addr, sizeof(a->addr)) && a->port == b->port &&
	       a->weight == b->weight && a->state == b->state;
}

/* The settings a service set can change, fallback and critical list aside. */
static int same_settings(const struct state_service *a, const struct state_service *b)
{
	return a->mode == b->mode && a->hash == b->hash && a->maglev_size == b->maglev_size &&
	       a->rate == b->rate && a->burst == b->burst && a->client_rate == b->client_rate &&
	       a->client_burst == b->client_burst && a->write_port == b->write_port &&
	       a->route_leader == b->route_leader && a->retries == b->retries &&
	       a->fast_trip == b->fast_trip && a->egress_rate_bps == b->egress_rate_bps &&
	       !memcmp(&a->res, &b->res, sizeof(a->res));
}

static int same_service(const struct state_service *a, const struct state_service *b)
{
	size_t i;

	if (!same_svc_key(&a->key, &b->key) || !same_settings(a, b) || !same_critical(a, b) ||
	    !same_fallback(a, b) || a->nbackends != b->nbackends || a->nshards != b->nshards)
		return 0;
	for (i = 0; i < a->nbackends; i++)
		if (!same_backend(&a->backends[i], &b->backends[i]))
			return 0;
	for (i = 0; i < a->nshards; i++)
		if (!same_shard(&a->shards[i], &b->shards[i]))
			return 0;
	return 1;
}

static int same_health(const struct state_health *a, const struct state_health *b)
{
	return a->type == b->type &&
	       (a->type == STATE_HC_NONE ||
		(a->port == b->port && !strcmp(a->path, b->path) && a->ncodes == b->ncodes &&
		 !memcmp(a->codes, b->codes, a->ncodes * sizeof(a->codes[0])) &&
		 !strcmp(a->body, b->body) && a->interval_ms == b->interval_ms &&
		 a->timeout_ms == b->timeout_ms && a->rise == b->rise && a->fall == b->fall));
}

static int no_daemon_parts(const struct state_service *a)
{
	return a->health.type == STATE_HC_NONE && a->role.type == STATE_HC_NONE && !a->election[0];
}

int state_service_daemon_parts_equal(const struct state_service *a, const struct state_service *b)
{
	if (!a || !b)
		return (!a || no_daemon_parts(a)) && (!b || no_daemon_parts(b));
	return same_health(&a->health, &b->health) && !strcmp(a->election, b->election) &&
	       same_health(&a->role, &b->role);
}

void state_copy_daemon_parts(struct state *dst, const struct state *src)
{
	struct state_service *d, *s;
	size_t i;

	for (i = 0; i < dst->nservices; i++) {
		d = &dst->services[i];
		s = state_find_service(src, &d->key);
		if (s) {
			d->health = s->health;
			d->role = s->role;
			memcpy(d->election, s->election, sizeof(d->election));
		} else {
			d->health.type = STATE_HC_NONE;
			d->role.type = STATE_HC_NONE;
			d->election[0] = 0;
		}
	}
}

int state_daemon_parts_diff(const struct state *a, const struct state *b,
			    struct sluice_svc_key **keys, size_t *n)
{
	const struct state_service *x, *y;
	struct sluice_svc_key *k;
	size_t i, count = 0;

	*keys = NULL;
	*n = 0;
	k = calloc(a->nservices + b->nservices + 1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	for (i = 0; i < a->nservices + b->nservices; i++) {
		/* Every service of a, then those of b that a lacks. */
		x = i < a->nservices ? &a->services[i] : NULL;
		y = x ? state_find_service(b, &x->key) : &b->services[i - a->nservices];
		if (!x && state_find_service(a, &y->key))
			continue;
		if (!state_service_daemon_parts_equal(x, y))
			k[count++] = x ? x->key : y->key;
	}
	if (!count) {
		free(k);
		return 0;
	}
	*keys = k;
	*n = count;
	return 0;
}

int state_daemon_parts_equal(const struct state *a, const struct state *b)
{
	size_t i;

	for (i = 0; i < a->nservices; i++)
		if (!state_service_daemon_parts_equal(&a->services[i],
						      state_find_service(b, &a->services[i].key)))
			return 0;
	for (i = 0; i < b->nservices; i++)
		if (!state_service_daemon_parts_equal(state_find_service(a, &b->services[i].key),
						      &b->services[i]))
			return 0;
	return 1;
}

int state_equal(const struct state *a, const struct state *b)
{
	size_t i;

	if (a->nservices != b->nservices)
		return 0;
	for (i = 0; i < a->nservices; i++)
		if (!same_service(&a->services[i], &b->services[i]))
			return 0;
	if (memcmp(&a->encap_src4, &b->encap_src4, sizeof(a->encap_src4)) ||
	    memcmp(&a->encap_src6, &b->encap_src6, sizeof(a->encap_src6)) ||
	    a->udp_timeout_s != b->udp_timeout_s || a->global_max_conns != b->global_max_conns ||
	    a->tcp_idle_s != b->tcp_idle_s)
		return 0;
	if (a->has_ifaces && b->has_ifaces) {
		if (a->nifaces != b->nifaces)
			return 0;
		for (i = 0; i < a->nifaces; i++)
			if (strcmp(a->ifaces[i].name, b->ifaces[i].name) ||
			    a->ifaces[i].skb != b->ifaces[i].skb ||
			    a->ifaces[i].hook != b->ifaces[i].hook)
				return 0;
	}
	if (a->has_hosts && b->has_hosts) {
		if (a->nhosts != b->nhosts)
			return 0;
		for (i = 0; i < a->nhosts; i++)
			if (!same_host(&a->hosts[i], &b->hosts[i]))
				return 0;
	}
	return 1;
}

/* Reading the maps. */

static int read_service(const struct sluice_maps *m, const struct svc_info *e,
			struct state_service *svc)
{
	struct sluice_shard_key *crit = NULL;
	struct sluice_backend fb;
	struct sluice_svc_res r;
	size_t n = 0, i;
	int err;

	state_service_defaults(svc, e->svc.mode);
	svc->key = e->key;
	svc->hash = e->svc.hash;
	svc->rate = e->svc.rate.pps;
	svc->burst = e->svc.rate.pps ? e->svc.rate.burst : 0;
	svc->client_rate = e->svc.client_rate.pps;
	svc->client_burst = e->svc.client_rate.pps ? e->svc.client_rate.burst : 0;
	svc->write_port = e->write_port;
	svc->route_leader = !!(e->svc.flags & SLUICE_SVC_F_LEADER);
	err = svc_maglev_size(m, &e->svc, &svc->maglev_size);
	if (err)
		return err;
	if (is_steering(svc->mode) && !svc->maglev_size)
		svc->maglev_size = SLUICE_MAGLEV_M_DEFAULT;
	err = pacing_get(m, e->svc.id, &svc->egress_rate_bps);
	if (err)
		return err;
	err = res_get(m, e->svc.id, &r);
	if (err)
		return err;
	res_resolve(&r, &svc->res);
	err = res_fo_get(m, e->svc.id, &svc->retries, &svc->fast_trip);
	if (err)
		return err;
	if (r.fallback_be && r.fallback_be <= SLUICE_MAX_BACKENDS) {
		err = maps_read_backend(m, r.fallback_be - 1, &fb);
		if (err)
			return err;
		if (fb.state != SLUICE_BE_UNUSED && fb.svc_id == e->svc.id) {
			svc->has_fallback = 1;
			svc->fallback.addr = fb.addr;
			svc->fallback.has_port = 1;
			svc->fallback.port = backend_port(&fb, &e->key);
		}
	}
	err = res_critical_list(m, e->svc.id, &crit, &n);
	if (err)
		return err;
	for (i = 0; i < n && i < RES_CRITICAL_MAX; i++) {
		svc->critical[i] = crit[i];
		svc->critical[i].svc_id = 0;
	}
	svc->ncritical = i;
	free(crit);
	return 0;
}

/*
 * The backends of the services read (s->services[i] is list[i]): one copy
 * of sl_backends, each slot looked at once. Only the records: no tables or
 * counters (backend_list() reads those, a Maglev table per service).
 */
static int read_backends(const struct sluice_maps *m, struct state *s, const struct svc_info *list,
			 size_t n)
{
	struct sluice_backend *all;
	struct state_backend *be;
	struct state_service *svc;
	__u32 *at, id;
	size_t i;
	int err;

	at = malloc(SLUICE_MAX_SERVICES * sizeof(*at));
	if (!at) {
		err_set("out of memory");
		return -ENOMEM;
	}
	memset(at, 0xff, SLUICE_MAX_SERVICES * sizeof(*at));
	for (i = 0; i < n; i++)
		if (list[i].svc.id < SLUICE_MAX_SERVICES)
			at[list[i].svc.id] = (__u32)i;
	all = maps_backends_get(m, &err);
	for (id = 0; !err && id < SLUICE_MAX_BACKENDS; id++) {
		if (all[id].state == SLUICE_BE_UNUSED || all[id].svc_id >= SLUICE_MAX_SERVICES ||
		    at[all[id].svc_id] >= n)
			continue;
		svc = &s->services[at[all[id].svc_id]];
		be = state_add_backend(svc);
		if (!be) {
			err_set("out of memory");
			err = -ENOMEM;
			break;
		}
		be->addr = all[id].addr;
		be->port = backend_port(&all[id], &svc->key);
		be->weight = all[id].weight;
		be->state = all[id].state;
	}
	maps_cache_put(all);
	free(at);
	return err;
}

static int read_shards(const struct sluice_maps *m, struct state *s)
{
	struct shard_info *list = NULL;
	struct state_service *svc;
	struct state_shard *sh;
	size_t n = 0, i;
	__u32 j;
	int err;

	err = shard_list(m, NULL, &list, &n);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		svc = state_find_service(s, &list[i].svc_key);
		if (!svc)
			continue;
		sh = state_add_shard(svc);
		if (!sh) {
			err = -ENOMEM;
			goto out;
		}
		sh->key = list[i].key;
		sh->key.svc_id = 0;
		sh->subset = list[i].subset != SLUICE_NO_BACKEND;
		sh->count = list[i].count;
		for (j = 0; j < list[i].count && j < SLUICE_SUBSET_MAX_MEMBERS; j++) {
			sh->members[j].addr = list[i].members[j].addr;
			sh->members[j].has_port = 1;
			sh->members[j].port = list[i].ports[j];
		}
	}
out:
	free(list);
	return err;
}

static int read_ifaces(const struct sluice_maps *m, struct state *s)
{
	struct loader_iface *list = NULL;
	struct state_iface *it;
	size_t n = 0, i;
	int err;

	err = loader_show(m->root, NULL, &list, &n);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		if (!strcmp(list[i].mode, "defunct"))
			continue;
		it = state_add_iface(s);
		if (!it) {
			err = -ENOMEM;
			break;
		}
		snprintf(it->name, sizeof(it->name), "%s", list[i].ifname);
		it->skb = !strcmp(list[i].mode, "skb");
		it->hook = (int)list[i].hook;
	}
	free(list);
	return err;
}

/* The cgroups the host side is attached to (a defunct one is no attachment). */
static int read_hosts(const struct sluice_maps *m, struct state *s)
{
	struct loader_host *list = NULL;
	struct state_host *h;
	size_t n = 0, i;
	int err;

	err = loader_host_show(m->root, &list, &n);
	for (i = 0; !err && i < n; i++) {
		if (list[i].defunct || list[i].nsvc > CMD_HOST_SVC_MAX)
			continue;
		h = state_add_host(s);
		if (!h) {
			err = -ENOMEM;
			break;
		}
		snprintf(h->cgroup, sizeof(h->cgroup), "%s", list[i].path);
		h->nsvc = list[i].all ? 0 : list[i].nsvc;
		memcpy(h->svcs, list[i].svcs, h->nsvc * sizeof(h->svcs[0]));
	}
	loader_host_free(list, n);
	return err;
}

int state_read_maps(const struct sluice_maps *m, struct state *s)
{
	struct svc_info *list = NULL;
	struct sluice_res_global g;
	struct sluice_config cfg;
	struct state_service *svc;
	size_t n = 0, i;
	int err;

	state_init(s);
	s->has_ifaces = s->has_gateway = s->has_bulkhead = s->has_hosts = 1;
	err = svc_info_list(m, &list, &n);
	if (err)
		goto out;
	for (i = 0; i < n; i++) {
		svc = state_add_service(s);
		if (!svc) {
			err = -ENOMEM;
			goto out;
		}
		err = read_service(m, &list[i], svc);
		if (err)
			goto out;
	}
	err = read_backends(m, s, list, n);
	if (!err)
		err = read_shards(m, s);
	if (!err)
		err = gateway_get(m, &cfg);
	if (err)
		goto out;
	s->encap_src4 = cfg.encap_src4;
	s->encap_src6 = cfg.encap_src6;
	s->udp_timeout_s = (__u32)(cfg.udp_timeout_ns / 1000000000ull);
	err = maps_read_res_global(m, &g);
	if (err)
		goto out;
	s->global_max_conns = g.max_conns;
	s->tcp_idle_s = g.tcp_idle_s ? g.tcp_idle_s : RES_TCP_IDLE_DEFAULT_S;
	err = read_ifaces(m, s);
	if (!err)
		err = read_hosts(m, s);
	if (err)
		goto out;
	state_sort(s);
out:
	free(list);
	if (err)
		state_free(s);
	return err;
}

/* Commands: each built as a struct sluice_cmd (userspace/cmd) and emitted. */

/* A new command of kind for service k (NULL: none), zeroed; NULL when out of memory. */
static struct sluice_cmd *cmd_new(enum cmd_kind kind, const struct sluice_svc_key *k)
{
	struct sluice_cmd *c = calloc(1, sizeof(*c));

	if (!c) {
		err_set("out of memory");
		return NULL;
	}
	c->kind = kind;
	if (k)
		c->svc = *k;
	return c;
}

/* emit(c), then free c. */
static int cmd_emit_free(struct sluice_cmd *c, state_emit_fn emit, void *ctx)
{
	int err = emit(ctx, c);

	free(c);
	return err;
}

static void cmd_critical(struct sluice_cmd *c, const struct state_service *svc)
{
	char p[SHARD_PREFIX_STRLEN], *list = c->service.critical;
	size_t i, used = 0, len = sizeof(c->service.critical);

	c->service.conf.res.has |= RES_HAS_CRITICAL;
	if (!svc->ncritical) {
		snprintf(list, len, "none");
		return;
	}
	list[0] = 0;
	for (i = 0; i < svc->ncritical && used < len; i++) {
		shard_prefix_format(&svc->critical[i], p, sizeof(p));
		used += (size_t)snprintf(list + used, len - used, "%s%s", i ? "," : "", p);
	}
}

/*
 * The options of a service that differ from base: everything but the
 * fallback. add: base is the defaults of the service's mode.
 */
static void cmd_settings(struct sluice_cmd *c, const struct state_service *base,
			 const struct state_service *svc, int add)
{
	const struct sluice_svc_res *o = &base->res, *n = &svc->res;
	struct svc_conf *conf = &c->service.conf;
	struct res_conf *r = &conf->res;

	if (add && svc->mode != SLUICE_MODE_LOCAL) {
		conf->has_mode = 1;
		conf->mode = svc->mode;
	}
	if (svc->hash != base->hash) {
		conf->has_hash = 1;
		conf->hash = svc->hash;
	}
	if (is_steering(svc->mode) && svc->maglev_size != base->maglev_size) {
		conf->has_maglev_size = 1;
		conf->maglev_size = svc->maglev_size;
	}
	/* Both in one command: svc_set() checks the pair as a whole. */
	if (svc->write_port != base->write_port) {
		conf->has_write_port = 1;
		conf->write_port = svc->write_port;
	}
	if (svc->route_leader != base->route_leader) {
		conf->has_route = 1;
		conf->route_leader = svc->route_leader;
	}
	if (svc->rate != base->rate || svc->burst != base->burst) {
		conf->has_rate = 1;
		conf->rate_pps = svc->rate;
		conf->has_burst = svc->rate != 0;
		conf->burst = svc->rate ? svc->burst : 0;
	}
	if (svc->client_rate != base->client_rate || svc->client_burst != base->client_burst) {
		conf->has_client_rate = 1;
		conf->client_rate_pps = svc->client_rate;
		conf->has_client_burst = svc->client_rate != 0;
		conf->client_burst = svc->client_rate ? svc->client_burst : 0;
	}
	if (svc->egress_rate_bps != base->egress_rate_bps) {
		conf->has_egress_rate = 1;
		conf->egress_rate_bps = svc->egress_rate_bps;
	}
	/* max-conns and reserved together: the pair is checked as a whole. */
	if (n->max_conns != o->max_conns || n->reserved != o->reserved) {
		r->has |= RES_HAS_MAX_CONNS | RES_HAS_RESERVED;
		r->max_conns = n->max_conns;
		r->reserved = n->reserved;
	}
	if (!same_critical(base, svc))
		cmd_critical(c, svc);
	if (n->refuse != o->refuse) {
		r->has |= RES_HAS_REFUSE;
		r->refuse = n->refuse;
	}
	if ((n->flags ^ o->flags) & SLUICE_RES_NO_GLOBAL) {
		r->has |= RES_HAS_GLOBAL_LIMIT;
		r->global_limit = !(n->flags & SLUICE_RES_NO_GLOBAL);
	}
	if (n->on_open != o->on_open) {
		r->has |= RES_HAS_ON_OPEN;
		r->on_open = n->on_open;
	}
#define U32(field, conf_field, bit)               \
	do {                                      \
		if (n->field != o->field) {       \
			r->has |= (bit);          \
			r->conf_field = n->field; \
		}                                 \
	} while (0)
	U32(brk_failures, brk_failures, RES_HAS_BRK_FAILURES);
	U32(brk_window_ms, brk_window_ms, RES_HAS_BRK_WINDOW);
	U32(brk_rate_pct, brk_rate_pct, RES_HAS_BRK_RATE);
	U32(brk_min_calls, brk_min_calls, RES_HAS_BRK_MIN_CALLS);
	/*
	 * wait and wait-max (and probes and successes) go together: each pair
	 * is checked as a whole, and the old partner may not fit the new value.
	 */
	if (n->brk_wait_ms != o->brk_wait_ms || n->brk_wait_max_ms != o->brk_wait_max_ms) {
		r->has |= RES_HAS_BRK_WAIT | RES_HAS_BRK_WAIT_MAX;
		r->brk_wait_ms = n->brk_wait_ms;
		r->brk_wait_max_ms = n->brk_wait_max_ms;
	}
	if (n->brk_probes != o->brk_probes || n->brk_successes != o->brk_successes) {
		r->has |= RES_HAS_BRK_PROBES | RES_HAS_BRK_SUCCESSES;
		r->brk_probes = n->brk_probes;
		r->brk_successes = n->brk_successes;
	}
	/* max-open and panic-threshold are checked as a pair too (res.c). */
	if (n->brk_max_open_pct != o->brk_max_open_pct || n->panic_pct != o->panic_pct) {
		r->has |= RES_HAS_BRK_MAX_OPEN | RES_HAS_PANIC;
		r->brk_max_open_pct = n->brk_max_open_pct;
		r->panic_pct = n->panic_pct == SLUICE_PANIC_OFF ? 0 : n->panic_pct;
	}
	U32(syn_timeout_ms, syn_timeout_ms, RES_HAS_SYN_TIMEOUT);
#undef U32
	if (svc->retries != base->retries) {
		r->has |= RES_HAS_RETRIES;
		r->retries = svc->retries;
	}
	if (svc->fast_trip != base->fast_trip) {
		r->has |= RES_HAS_FAST_TRIP;
		r->fast_trip = svc->fast_trip;
	}
}

/* 1 when cmd_settings() found nothing to change. */
static int settings_empty(const struct svc_conf *c)
{
	return !c->has_mode && !c->has_hash && !c->has_maglev_size && !c->has_write_port &&
	       !c->has_route && !c->has_rate && !c->has_burst && !c->has_client_rate &&
	       !c->has_client_burst && !c->res.has && !c->has_egress_rate;
}

static enum cmd_kind backend_kind(const char *verb)
{
	if (!strcmp(verb, "add"))
		return CMD_BACKEND_ADD;
	if (!strcmp(verb, "set"))
		return CMD_BACKEND_SET;
	if (!strcmp(verb, "drain"))
		return CMD_BACKEND_DRAIN;
	if (!strcmp(verb, "activate"))
		return CMD_BACKEND_ACTIVATE;
	return CMD_BACKEND_DEL;
}

static int emit_backend(const struct state_service *svc, const char *verb,
			const struct state_backend *be, state_emit_fn emit, void *ctx)
{
	struct sluice_cmd *c = cmd_new(backend_kind(verb), &svc->key);

	if (!c)
		return -ENOMEM;
	c->backend.ref.addr = be->addr;
	c->backend.ref.has_port = 1;
	c->backend.ref.port = be->port;
	c->backend.weight = be->weight;
	c->backend.has_weight = c->kind == CMD_BACKEND_ADD || c->kind == CMD_BACKEND_SET;
	return cmd_emit_free(c, emit, ctx);
}

static int emit_fallback(const struct state_service *svc, state_emit_fn emit, void *ctx)
{
	struct sluice_cmd *c = cmd_new(CMD_SERVICE_SET, &svc->key);
	struct res_conf *r;

	if (!c)
		return -ENOMEM;
	r = &c->service.conf.res;
	r->has = RES_HAS_FALLBACK;
	if (svc->has_fallback)
		r->fallback = svc->fallback;
	else
		r->fallback_none = 1;
	return cmd_emit_free(c, emit, ctx);
}

static int emit_shard(const struct state_service *svc, const char *verb,
		      const struct state_shard *sh, state_emit_fn emit, void *ctx)
{
	struct sluice_cmd *c =
		cmd_new(strcmp(verb, "add") ? CMD_SHARD_DEL : CMD_SHARD_ADD, &svc->key);
	struct shard_target *t;
	__u32 i;

	if (!c)
		return -ENOMEM;
	shard_prefix_format(&sh->key, c->shard.prefix, sizeof(c->shard.prefix));
	t = &c->shard.target;
	if (c->kind == CMD_SHARD_ADD) {
		t->subset = sh->subset;
		t->count = sh->subset ? sh->count : 1;
		for (i = 0; i < t->count; i++)
			t->refs[i] = sh->members[i];
	}
	return cmd_emit_free(c, emit, ctx);
}

static int emit_svc_del(const struct state_service *svc, state_emit_fn emit, void *ctx)
{
	struct sluice_cmd *c = cmd_new(CMD_SERVICE_DEL, &svc->key);

	if (!c)
		return -ENOMEM;
	return cmd_emit_free(c, emit, ctx);
}

/* service add with its settings, then its backends (the fallback and shards come later). */
static int emit_service_build(const struct state_service *svc, state_emit_fn emit, void *ctx)
{
	struct state_service *base = malloc(sizeof(*base));
	struct sluice_cmd *c = cmd_new(CMD_SERVICE_ADD, &svc->key);
	size_t i;
	int err;

	if (!c || !base) {
		err_set("out of memory");
		err = -ENOMEM;
		goto out;
	}
	state_service_defaults(base, svc->mode);
	cmd_settings(c, base, svc, 1);
	err = emit(ctx, c);
	for (i = 0; !err && i < svc->nbackends; i++) {
		err = emit_backend(svc, "add", &svc->backends[i], emit, ctx);
		if (!err && svc->backends[i].state == SLUICE_BE_DRAINING)
			err = emit_backend(svc, "drain", &svc->backends[i], emit, ctx);
	}
out:
	free(c);
	free(base);
	return err;
}

static int emit_iface(const struct state_iface *it, const char *verb, int force, state_emit_fn emit,
		      void *ctx)
{
	struct sluice_cmd *c =
		cmd_new(strcmp(verb, "attach") ? CMD_IFACE_DETACH : CMD_IFACE_ATTACH, NULL);

	if (!c)
		return -ENOMEM;
	snprintf(c->iface.dev, sizeof(c->iface.dev), "%s", it->name);
	c->iface.opts.mode = it->skb ? LOADER_XDP_SKB : LOADER_XDP_NATIVE;
	c->iface.opts.hook = (enum loader_hook)it->hook;
	c->iface.opts.force = force;
	return cmd_emit_free(c, emit, ctx);
}

static int emit_host(const struct state_host *h, enum cmd_kind kind, state_emit_fn emit, void *ctx)
{
	struct sluice_cmd *c = cmd_new(kind, NULL);

	if (!c)
		return -ENOMEM;
	snprintf(c->host.cgroup, sizeof(c->host.cgroup), "%s", h->cgroup);
	if (kind == CMD_HOST_ATTACH) {
		c->host.nsvc = h->nsvc;
		memcpy(c->host.svcs, h->svcs, h->nsvc * sizeof(h->svcs[0]));
	}
	return cmd_emit_free(c, emit, ctx);
}

static const struct state_host *find_host(const struct state *s, const char *cgroup)
{
	size_t i;

	for (i = 0; i < s->nhosts; i++)
		if (!strcmp(s->hosts[i].cgroup, cgroup))
			return &s->hosts[i];
	return NULL;
}

/* gateway set with the fields that differ from base (all of them when base is NULL). */
static int emit_gateway(const struct state *base, const struct state *s, state_emit_fn emit,
			void *ctx)
{
	struct sluice_cmd *c = cmd_new(CMD_GATEWAY_SET, NULL);
	struct gateway_conf *g;
	int err = 0;

	if (!c)
		return -ENOMEM;
	g = &c->gateway;
	if (!base || memcmp(&base->encap_src4, &s->encap_src4, sizeof(s->encap_src4))) {
		g->has_src4 = 1;
		g->src4 = s->encap_src4;
	}
	if (!base || memcmp(&base->encap_src6, &s->encap_src6, sizeof(s->encap_src6))) {
		g->has_src6 = 1;
		g->src6 = s->encap_src6;
	}
	if (!base || base->udp_timeout_s != s->udp_timeout_s) {
		g->has_udp_timeout = 1;
		g->udp_timeout_s = s->udp_timeout_s;
	}
	if (g->has_src4 || g->has_src6 || g->has_udp_timeout)
		err = emit(ctx, c);
	if (err)
		goto out;
	memset(c, 0, sizeof(*c));
	c->kind = CMD_BULKHEAD_SET;
	if (!base || base->global_max_conns != s->global_max_conns) {
		c->bulkhead.has_max_conns = 1;
		c->bulkhead.max_conns = s->global_max_conns;
	}
	if (!base || base->tcp_idle_s != s->tcp_idle_s) {
		c->bulkhead.has_tcp_idle = 1;
		c->bulkhead.tcp_idle_s = s->tcp_idle_s;
	}
	if ((c->bulkhead.has_max_conns || c->bulkhead.has_tcp_idle) && (!base || s->has_bulkhead))
		err = emit(ctx, c);
out:
	free(c);
	return err;
}

int state_to_commands(const struct state *s, state_emit_fn emit, void *ctx)
{
	size_t i, j;
	int err;

	err = emit_gateway(NULL, s, emit, ctx);
	/* Interfaces first: the return path exists before a flow is steered (state_diff). */
	for (i = 0; !err && s->has_ifaces && i < s->nifaces; i++)
		err = emit_iface(&s->ifaces[i], "attach", 0, emit, ctx);
	for (i = 0; !err && i < s->nservices; i++)
		err = emit_service_build(&s->services[i], emit, ctx);
	for (i = 0; !err && i < s->nservices; i++)
		if (s->services[i].has_fallback)
			err = emit_fallback(&s->services[i], emit, ctx);
	for (i = 0; !err && i < s->nservices; i++)
		for (j = 0; !err && j < s->services[i].nshards; j++)
			err = emit_shard(&s->services[i], "add", &s->services[i].shards[j], emit,
					 ctx);
	/* Cgroups last: an attachment names services that must exist. */
	for (i = 0; !err && s->has_hosts && i < s->nhosts; i++)
		err = emit_host(&s->hosts[i], CMD_HOST_ATTACH, emit, ctx);
	return err;
}

static const struct state_iface *find_iface(const struct state *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nifaces; i++)
		if (!strcmp(s->ifaces[i].name, name))
			return &s->ifaces[i];
	return NULL;
}

/*
 * o's write port changes and another service of to wants the port (as its
 * key or its write port): it must be free before that one comes (step 2).
 */
static int write_port_wanted(const struct state *to, const struct state_service *o,
			     const struct state_service *n)
{
	size_t i;

	if (!o->write_port || n->write_port == o->write_port)
		return 0;
	for (i = 0; i < to->nservices; i++) {
		const struct state_service *t = &to->services[i];

		if (t == n || t->key.proto != o->key.proto ||
		    memcmp(&t->key.addr, &o->key.addr, sizeof(t->key.addr)))
			continue;
		if (ntohs(t->key.port) == o->write_port || t->write_port == o->write_port)
			return 1;
	}
	return 0;
}

static int emit_write_port_none(const struct state_service *o, state_emit_fn emit, void *ctx)
{
	struct sluice_cmd *c = cmd_new(CMD_SERVICE_SET, &o->key);

	if (!c)
		return -ENOMEM;
	c->service.conf.has_write_port = 1;
	c->service.conf.write_port = 0;
	return cmd_emit_free(c, emit, ctx);
}

/*
 * A kept service (same key, same mode) whose settings or backends change;
 * freed: its write port was set to none in step 2.
 */
static int diff_service_settings(const struct state_service *o, const struct state_service *n,
				 int freed, state_emit_fn emit, void *ctx)
{
	struct state_service *base;
	struct sluice_cmd *c;
	int err = 0;

	if (!freed && same_settings(o, n) && same_critical(o, n))
		return 0;
	c = cmd_new(CMD_SERVICE_SET, &n->key);
	base = malloc(sizeof(*base));
	if (!c || !base) {
		free(c);
		free(base);
		err_set("out of memory");
		return -ENOMEM;
	}
	*base = *o;
	if (freed)
		base->write_port = 0;
	cmd_settings(c, base, n, 0);
	if (!settings_empty(&c->service.conf))
		err = emit(ctx, c);
	free(c);
	free(base);
	return err;
}

static int diff_backends(const struct state_service *o, const struct state_service *n,
			 state_emit_fn emit, void *ctx)
{
	const struct state_backend *ob, *nb;
	size_t i;
	int err = 0;

	for (i = 0; !err && i < n->nbackends; i++) {
		nb = &n->backends[i];
		ob = state_find_backend(o, &nb->addr, nb->port);
		if (!ob) {
			err = emit_backend(n, "add", nb, emit, ctx);
			if (!err && nb->state == SLUICE_BE_DRAINING)
				err = emit_backend(n, "drain", nb, emit, ctx);
			continue;
		}
		if (ob->weight != nb->weight)
			err = emit_backend(n, "set", nb, emit, ctx);
		if (!err && ob->state != nb->state)
			err = emit_backend(n,
					   nb->state == SLUICE_BE_DRAINING ? "drain" : "activate",
					   nb, emit, ctx);
	}
	/* Gone from the file: drained, never deleted here (see state.h). */
	for (i = 0; !err && i < o->nbackends; i++) {
		ob = &o->backends[i];
		if (ob->state == SLUICE_BE_ACTIVE && !state_find_backend(n, &ob->addr, ob->port))
			err = emit_backend(n, "drain", ob, emit, ctx);
	}
	return err;
}

int state_diff(const struct state *from, const struct state *to, state_emit_fn emit, void *ctx)
{
	const struct state_service *o, *n;
	const struct state_iface *oi;
	size_t i, j;
	int err = 0;

	/* 1. Gateway-wide settings; interfaces that go, then those that come. */
	if (to->has_gateway || to->has_bulkhead) {
		struct state base = *from, want = *from;

		if (to->has_gateway) {
			want.encap_src4 = to->encap_src4;
			want.encap_src6 = to->encap_src6;
			want.udp_timeout_s = to->udp_timeout_s;
		}
		if (to->has_bulkhead) {
			want.global_max_conns = to->global_max_conns;
			want.tcp_idle_s = to->tcp_idle_s;
		}
		want.has_bulkhead = 1;
		err = emit_gateway(&base, &want, emit, ctx);
	}
	for (i = 0; !err && to->has_ifaces && i < from->nifaces; i++)
		if (!find_iface(to, from->ifaces[i].name))
			err = emit_iface(&from->ifaces[i], "detach", 0, emit, ctx);
	/* Cgroups that go, before the services they may name go. */
	for (i = 0; !err && to->has_hosts && i < from->nhosts; i++)
		if (!find_host(to, from->hosts[i].cgroup))
			err = emit_host(&from->hosts[i], CMD_HOST_DETACH, emit, ctx);
	/*
	 * Interfaces that come or change mode, before any service is added:
	 * a flow steered in on one interface needs the return path on the
	 * backend's interface, or the backend's SYN-ACK reaches the stack
	 * untranslated and the client's connection stalls until it resends.
	 */
	for (i = 0; !err && to->has_ifaces && i < to->nifaces; i++) {
		oi = find_iface(from, to->ifaces[i].name);
		if (!oi)
			err = emit_iface(&to->ifaces[i], "attach", 0, emit, ctx);
		else if (oi->hook != to->ifaces[i].hook) { /* one hook at a time: off, then on */
			err = emit_iface(oi, "detach", 0, emit, ctx);
			if (!err)
				err = emit_iface(&to->ifaces[i], "attach", 0, emit, ctx);
		} else if (oi->skb != to->ifaces[i].skb)
			err = emit_iface(&to->ifaces[i], "attach", 1, emit, ctx);
	}
	/* 2. Services that go, or change mode; write ports another service wants. */
	for (i = 0; !err && i < from->nservices; i++) {
		o = &from->services[i];
		n = state_find_service(to, &o->key);
		if (!n || n->mode != o->mode)
			err = emit_svc_del(o, emit, ctx);
	}
	for (i = 0; !err && i < from->nservices; i++) {
		o = &from->services[i];
		n = state_find_service(to, &o->key);
		if (n && n->mode == o->mode && write_port_wanted(to, o, n))
			err = emit_write_port_none(o, emit, ctx);
	}
	/* 3. Shards removed or changed, of the services kept. */
	for (i = 0; !err && i < from->nservices; i++) {
		const struct state_shard *ns;

		o = &from->services[i];
		n = state_find_service(to, &o->key);
		if (!n || n->mode != o->mode)
			continue;
		for (j = 0; !err && j < o->nshards; j++) {
			ns = find_shard(n, &o->shards[j].key);
			if (!ns || !same_shard(ns, &o->shards[j]))
				err = emit_shard(n, "del", &o->shards[j], emit, ctx);
		}
	}
	/* 4, 5. Services added, services changed, their backends. */
	for (i = 0; !err && i < to->nservices; i++) {
		n = &to->services[i];
		o = state_find_service(from, &n->key);
		if (!o || o->mode != n->mode) {
			err = emit_service_build(n, emit, ctx);
			continue;
		}
		err = diff_service_settings(o, n, write_port_wanted(to, o, n), emit, ctx);
		if (!err)
			err = diff_backends(o, n, emit, ctx);
	}
	/* 6. Fallbacks and shards. */
	for (i = 0; !err && i < to->nservices; i++) {
		n = &to->services[i];
		o = state_find_service(from, &n->key);
		if (o && o->mode != n->mode)
			o = NULL;
		if (o ? !same_fallback(o, n) : n->has_fallback)
			err = emit_fallback(n, emit, ctx);
		for (j = 0; !err && j < n->nshards; j++) {
			const struct state_shard *os = o ? find_shard(o, &n->shards[j].key) : NULL;

			if (!os || !same_shard(os, &n->shards[j]))
				err = emit_shard(n, "add", &n->shards[j], emit, ctx);
		}
	}
	/* 7. Cgroups that come or change (attach again replaces the list in place). */
	for (i = 0; !err && to->has_hosts && i < to->nhosts; i++) {
		const struct state_host *oh = find_host(from, to->hosts[i].cgroup);

		if (!oh || !same_host(oh, &to->hosts[i]))
			err = emit_host(&to->hosts[i], CMD_HOST_ATTACH, emit, ctx);
	}
	return err;
}
