// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The configuration's services (config_int.h): their keys and defaults,
 * resilience, backends, shards, the write port and the leader.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "addr.h"
#include "args.h"
#include "backend.h"
#include "config_int.h"
#include "err.h"
#include "maglev.h"
#include "rate.h"
#include "res.h"
#include "shard.h"
#include "svc.h"

/* Services. */

static int is_steering_mode(__u8 mode)
{
	return mode == SLUICE_MODE_NAT || mode == SLUICE_MODE_IPIP;
}

enum {
	S_ADDRESS,
	S_PORT,
	S_PROTOCOL,
	S_MODE,
	S_HASH,
	S_MAGLEV_SIZE,
	S_WRITE_PORT,
	S_ROUTE,
	S_RATE,
	S_BURST,
	S_CLIENT_RATE,
	S_CLIENT_BURST,
	S_EGRESS_RATE,
	S_MAX_CONNS,
	S_RESERVED,
	S_CRITICAL,
	S_REFUSE,
	S_GLOBAL_LIMIT,
	S_ON_OPEN,
	S_FALLBACK,
	S_BRK_FAILURES,
	S_BRK_WINDOW,
	S_BRK_RATE,
	S_BRK_MIN_CALLS,
	S_BRK_WAIT,
	S_BRK_WAIT_MAX,
	S_BRK_PROBES,
	S_BRK_SUCCESSES,
	S_BRK_MAX_OPEN,
	S_PANIC,
	S_SYN_TIMEOUT,
	S_RETRIES,
	S_FAST_TRIP,
	S_HEALTH,
	S_LEADER,
	S_BACKENDS,
	S_SHARDS,
	S_N
};

static const char *const s_keys[S_N] = {
	[S_ADDRESS] = "address",
	[S_PORT] = "port",
	[S_PROTOCOL] = "protocol",
	[S_MODE] = "mode",
	[S_HASH] = "hash",
	[S_MAGLEV_SIZE] = "maglev-size",
	[S_WRITE_PORT] = "write-port",
	[S_ROUTE] = "route",
	[S_RATE] = "rate",
	[S_BURST] = "burst",
	[S_CLIENT_RATE] = "client-rate",
	[S_CLIENT_BURST] = "client-burst",
	[S_EGRESS_RATE] = "egress-rate",
	[S_MAX_CONNS] = "max-conns",
	[S_RESERVED] = "reserved",
	[S_CRITICAL] = "critical",
	[S_REFUSE] = "refuse",
	[S_GLOBAL_LIMIT] = "global-limit",
	[S_ON_OPEN] = "on-open",
	[S_FALLBACK] = "fallback",
	[S_BRK_FAILURES] = "breaker-failures",
	[S_BRK_WINDOW] = "breaker-window",
	[S_BRK_RATE] = "breaker-rate",
	[S_BRK_MIN_CALLS] = "breaker-min-calls",
	[S_BRK_WAIT] = "breaker-wait",
	[S_BRK_WAIT_MAX] = "breaker-wait-max",
	[S_BRK_PROBES] = "breaker-probes",
	[S_BRK_SUCCESSES] = "breaker-successes",
	[S_BRK_MAX_OPEN] = "breaker-max-open",
	[S_PANIC] = "panic-threshold",
	[S_SYN_TIMEOUT] = "syn-timeout",
	[S_RETRIES] = "retries",
	[S_FAST_TRIP] = "breaker-fast-trip",
	[S_HEALTH] = "health",
	[S_LEADER] = "leader",
	[S_BACKENDS] = "backends",
	[S_SHARDS] = "shards",
};

/* The resilience keys into r (the CLI's parsers and bounds, as service.c). */
static int parse_res_key(struct cfg *c, int key, yaml_node_t *n, struct res_conf *r)
{
	const char *name = s_keys[key], *t;
	int err = 0;

	switch (key) {
	case S_MAX_CONNS:
		r->has |= RES_HAS_MAX_CONNS;
		return config_v_count(c, n, name, RES_MAX_CONNS_MAX, &r->max_conns);
	case S_RESERVED:
		r->has |= RES_HAS_RESERVED;
		return config_v_count(c, n, name, RES_MAX_CONNS_MAX, &r->reserved);
	case S_REFUSE:
		r->has |= RES_HAS_REFUSE;
		err = config_scalar(c, n, name, "rst or drop", &t);
		if (!err && (strcmp(t, "rst") && strcmp(t, "drop")))
			return config_fail(c, n, "refuse: expected rst or drop, found '%s'", t);
		if (!err && res_parse_refuse(t, &r->refuse))
			err = config_value_fail(c, n, name);
		return err;
	case S_GLOBAL_LIMIT:
		r->has |= RES_HAS_GLOBAL_LIMIT;
		return config_v_onoff(c, n, name, &r->global_limit);
	case S_ON_OPEN:
		r->has |= RES_HAS_ON_OPEN;
		err = config_scalar(c, n, name, "next, fallback or fail-fast", &t);
		if (!err && strcmp(t, "next") && strcmp(t, "fallback") && strcmp(t, "fail-fast"))
			return config_fail(
				c, n, "on-open: expected next, fallback or fail-fast, found '%s'",
				t);
		if (!err && res_parse_on_open(t, &r->on_open))
			err = config_value_fail(c, n, name);
		return err;
	case S_BRK_FAILURES:
		r->has |= RES_HAS_BRK_FAILURES;
		return config_v_u32(c, n, name, 1, RES_COUNT_MAX, &r->brk_failures);
	case S_BRK_WINDOW:
		r->has |= RES_HAS_BRK_WINDOW;
		return config_v_seconds(c, n, name, RES_WINDOW_MS_MIN, RES_WINDOW_MS_MAX,
					&r->brk_window_ms);
	case S_BRK_RATE:
		r->has |= RES_HAS_BRK_RATE;
		return config_v_u32(c, n, name, 1, 100, &r->brk_rate_pct);
	case S_BRK_MIN_CALLS:
		r->has |= RES_HAS_BRK_MIN_CALLS;
		return config_v_u32(c, n, name, 1, RES_COUNT_MAX, &r->brk_min_calls);
	case S_BRK_WAIT:
		r->has |= RES_HAS_BRK_WAIT;
		return config_v_seconds(c, n, name, RES_WAIT_MS_MIN, RES_WAIT_MS_MAX,
					&r->brk_wait_ms);
	case S_BRK_WAIT_MAX:
		r->has |= RES_HAS_BRK_WAIT_MAX;
		return config_v_seconds(c, n, name, RES_WAIT_MS_MIN, RES_WAIT_MS_MAX,
					&r->brk_wait_max_ms);
	case S_BRK_PROBES:
		r->has |= RES_HAS_BRK_PROBES;
		return config_v_u32(c, n, name, 1, RES_PROBES_MAX, &r->brk_probes);
	case S_BRK_SUCCESSES:
		r->has |= RES_HAS_BRK_SUCCESSES;
		return config_v_u32(c, n, name, 1, RES_PROBES_MAX, &r->brk_successes);
	case S_BRK_MAX_OPEN:
		r->has |= RES_HAS_BRK_MAX_OPEN;
		return config_v_u32(c, n, name, 1, 100, &r->brk_max_open_pct);
	case S_RETRIES:
		r->has |= RES_HAS_RETRIES;
		return config_v_u32(c, n, name, 0, SLUICE_FO_RETRIES_MAX, &r->retries);
	case S_FAST_TRIP:
		r->has |= RES_HAS_FAST_TRIP;
		return config_v_u32(c, n, name, 0, RES_FAST_TRIP_MAX, &r->fast_trip);
	case S_PANIC:
		r->has |= RES_HAS_PANIC;
		return config_v_u32(c, n, name, 0, 100, &r->panic_pct);
	default: /* S_SYN_TIMEOUT */
		r->has |= RES_HAS_SYN_TIMEOUT;
		return config_v_u32(c, n, name, RES_SYN_TIMEOUT_MS_MIN, RES_SYN_TIMEOUT_MS_MAX,
				    &r->syn_timeout_ms);
	}
}

/* One member "ADDR", "A.B.C.D:PORT" or "[V6]:PORT" naming a backend of svc. */
static int resolve_member(struct cfg *c, const yaml_node_t *n, const char *key,
			  const struct state_service *svc, struct be_ref *ref)
{
	char a[ADDR_STRLEN];
	size_t i, found = 0;
	__u16 port = 0;

	for (i = 0; i < svc->nbackends; i++) {
		const struct state_backend *b = &svc->backends[i];

		if (memcmp(&b->addr, &ref->addr, sizeof(b->addr)) ||
		    (ref->has_port && b->port != ref->port))
			continue;
		found++;
		port = b->port;
	}
	if (addr_format(&ref->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	if (!found) {
		if (ref->has_port)
			return config_fail(
				c, n,
				"%s: %s port %u is not a backend of this service (list it under backends)",
				key, a, ref->port);
		return config_fail(
			c, n, "%s: %s is not a backend of this service (list it under backends)",
			key, a);
	}
	if (found > 1)
		return config_fail(
			c, n,
			"%s: several backends of this service have address %s: give the port (%s:PORT, [IPV6]:PORT)",
			key, a, a);
	ref->has_port = 1;
	ref->port = port;
	return 0;
}

/* "ADDR[:PORT]" or a list/comma string of them into refs, each resolved among svc's backends. */
static int parse_members(struct cfg *c, yaml_node_t *n, const char *key,
			 const struct state_service *svc, size_t max, struct be_ref *refs,
			 __u32 *count)
{
	char text[SLUICE_SUBSET_MAX_MEMBERS * (ADDR_STRLEN + 10)];
	size_t cnt = 0, i, j;
	int err;

	err = config_v_list(c, n, key, "BACKEND_ADDR[:PORT]", text, sizeof(text));
	if (err)
		return err;
	if (shard_members_parse(text, refs, max, &cnt))
		return config_value_fail(c, n, key);
	for (i = 0; i < cnt; i++) {
		err = resolve_member(c, n, key, svc, &refs[i]);
		if (err)
			return err;
		for (j = 0; j < i; j++)
			if (!memcmp(&refs[j].addr, &refs[i].addr, sizeof(refs[i].addr)) &&
			    refs[j].port == refs[i].port)
				return config_fail(c, n, "%s: a backend is listed twice", key);
	}
	*count = (__u32)cnt;
	return 0;
}

enum { B_ADDRESS, B_PORT, B_WEIGHT, B_STATE, B_N };
static const char *const b_keys[B_N] = { "address", "port", "weight", "state" };

static int parse_backend(struct cfg *c, yaml_node_t *e, struct state_service *svc)
{
	yaml_node_t *v[B_N] = { NULL }, *k[B_N], *an = e;
	struct sluice_backend rec;
	struct sluice_svc sv;
	struct state_backend *b;
	struct be_conf conf;
	const char *t;
	char a[ADDR_STRLEN];
	int err;

	if (e->type == YAML_MAPPING_NODE) {
		err = config_walk_map(c, e, "a backend", b_keys, B_N, v, k);
		if (err)
			return err;
		if (!v[B_ADDRESS])
			return config_fail(c, e, "a backend needs 'address'");
		an = v[B_ADDRESS];
	}
	memset(&conf, 0, sizeof(conf));
	err = config_scalar(c, an, "address", "a backend address (or a mapping with address:)", &t);
	if (err)
		return err;
	if (addr_parse(t, &conf.addr))
		return config_value_fail(c, an, "address");
	if (v[B_PORT]) {
		err = config_scalar(c, v[B_PORT], "port", "a port", &t);
		if (!err && args_parse_port(t, &conf.port))
			err = config_value_fail(c, v[B_PORT], "port");
		if (err)
			return err;
		conf.has_port = 1;
	}
	conf.weight = 1;
	if (v[B_WEIGHT]) {
		err = config_v_u32(c, v[B_WEIGHT], "weight", 1, BACKEND_WEIGHT_MAX, &conf.weight);
		if (err)
			return err;
		conf.has_weight = 1;
	}
	memset(&sv, 0, sizeof(sv));
	sv.mode = svc->mode;
	if (backend_record_make(&svc->key, &sv, &conf, &rec))
		return config_fail(c, v[B_PORT] && strstr(err_msg(), "port") ? v[B_PORT] : an, "%s",
				   err_msg());
	b = state_add_backend(svc);
	if (!b)
		return -ENOMEM;
	b->addr = conf.addr;
	b->port = backend_port(&rec, &svc->key);
	b->weight = conf.weight;
	b->state = SLUICE_BE_ACTIVE;
	if (v[B_STATE]) {
		err = config_scalar(c, v[B_STATE], "state", "active or draining", &t);
		if (err)
			return err;
		if (!strcmp(t, "draining"))
			b->state = SLUICE_BE_DRAINING;
		else if (strcmp(t, "active"))
			return config_fail(c, v[B_STATE],
					   "state: expected active or draining, found '%s'", t);
	}
	if (state_find_backend(svc, &b->addr, b->port) != b) {
		svc->nbackends--;
		if (addr_format(&conf.addr, a, sizeof(a)))
			snprintf(a, sizeof(a), "?");
		return config_fail(c, an, "duplicate backend %s port %u in this service", a,
				   b->port);
	}
	return 0;
}

enum { SH_PREFIX, SH_BACKEND, SH_SUBSET, SH_N };
static const char *const sh_keys[SH_N] = { "prefix", "backend", "subset" };

static int parse_shard(struct cfg *c, yaml_node_t *e, struct state_service *svc)
{
	yaml_node_t *v[SH_N], *k[SH_N];
	struct state_shard *sh;
	const char *t;
	size_t i;
	int err;

	err = config_walk_map(c, e, "a shard", sh_keys, SH_N, v, k);
	if (err)
		return err;
	if (!v[SH_PREFIX])
		return config_fail(c, e, "a shard needs 'prefix'");
	if (!v[SH_BACKEND] == !v[SH_SUBSET])
		return config_fail(
			c, e,
			"a shard needs exactly one of 'backend: ADDR[:PORT]' and 'subset: [MEMBER, ...]'");
	sh = state_add_shard(svc);
	if (!sh)
		return -ENOMEM;
	err = config_scalar(c, v[SH_PREFIX], "prefix", "a client prefix (10.1.0.0/16)", &t);
	if (!err && shard_prefix_parse(t, 0, &sh->key))
		err = config_value_fail(c, v[SH_PREFIX], "prefix");
	if (err)
		return err;
	for (i = 0; i + 1 < svc->nshards; i++)
		if (svc->shards[i].key.prefixlen == sh->key.prefixlen &&
		    !memcmp(&svc->shards[i].key.addr, &sh->key.addr, sizeof(sh->key.addr)))
			return config_fail(c, v[SH_PREFIX],
					   "duplicate shard prefix '%s' in this service", t);
	sh->subset = !!v[SH_SUBSET];
	if (sh->subset)
		return parse_members(c, v[SH_SUBSET], "subset", svc, SLUICE_SUBSET_MAX_MEMBERS,
				     sh->members, &sh->count);
	return parse_members(c, v[SH_BACKEND], "backend", svc, 1, sh->members, &sh->count);
}

static int parse_seq(struct cfg *c, yaml_node_t *n, const char *key, struct state_service *svc,
		     int (*fn)(struct cfg *, yaml_node_t *, struct state_service *))
{
	yaml_node_item_t *it;
	int err;

	if (n->type != YAML_SEQUENCE_NODE)
		return config_fail(c, n, "%s: expected a list, found %s", key, config_kind_name(n));
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		err = fn(c, config_node(c, *it), svc);
		if (err)
			return err;
	}
	return 0;
}

/* A rate and its burst into svc's resolved pps and burst. */
static int parse_rate(struct cfg *c, yaml_node_t *rn, yaml_node_t *bn, const char *what, __u32 *pps,
		      __u32 *burst)
{
	struct sluice_rate r;
	char key[32];
	int err;

	snprintf(key, sizeof(key), "%srate", what);
	*pps = *burst = 0;
	if (rn) {
		err = config_v_count(c, rn, key, SLUICE_RATE_MAX_PPS, pps);
		if (err)
			return err;
	}
	snprintf(key, sizeof(key), "%sburst", what);
	if (bn) {
		err = config_v_count(c, bn, key, SLUICE_RATE_MAX_PPS, burst);
		if (err)
			return err;
		if (!*burst)
			return config_fail(c, bn, "%s: 0 would admit nothing: give at least 1",
					   key);
		if (!*pps)
			return config_fail(
				c, bn,
				"%s needs %srate (a burst has no meaning while the rate is unlimited)",
				key, what);
	}
	if (rate_make(*pps, *burst, &r))
		return config_value_fail(c, bn ? bn : rn, key);
	*burst = *pps ? r.burst : 0;
	return 0;
}

/* Same address and protocol: the keys a write port could collide with. */
static int same_host(const struct sluice_svc_key *a, const struct sluice_svc_key *b)
{
	return a->proto == b->proto && !memcmp(&a->addr, &b->addr, sizeof(a->addr));
}

/*
 * write-port and route of svc (whose key and mode are known), with the
 * rules svc.c applies, and no key shared with a service listed before: its
 * write port is no other's key or write port, its key no other's write port.
 */
static int parse_write_port(struct cfg *c, yaml_node_t *e, yaml_node_t **v, yaml_node_t **k,
			    struct state_service *svc)
{
	char kb[SVC_KEY_STRLEN], ob[SVC_KEY_STRLEN];
	const char *t;
	size_t i;
	int err;

	if (v[S_ROUTE]) {
		err = config_scalar(c, v[S_ROUTE], "route", "maglev or leader", &t);
		if (!err && svc_parse_route(t, &svc->route_leader))
			err = config_value_fail(c, v[S_ROUTE], "route");
		if (err)
			return err;
		if (svc->route_leader && !is_steering_mode(svc->mode))
			return config_fail(
				c, k[S_ROUTE],
				"route leader applies to services in mode nat or ipip (this one is %s)",
				args_mode_name(svc->mode));
	}
	if (v[S_WRITE_PORT]) {
		err = config_scalar(c, v[S_WRITE_PORT], "write-port", "a port 1..65535 or none",
				    &t);
		if (!err && strcmp(t, "none") && args_parse_port(t, &svc->write_port))
			err = config_value_fail(c, v[S_WRITE_PORT], "write-port");
		if (err)
			return err;
		if (svc_write_check(&svc->key, svc->mode, svc->route_leader, svc->write_port))
			return config_value_fail(c, v[S_WRITE_PORT], "write-port");
	}
	for (i = 0; i + 1 < c->s->nservices; i++) {
		const struct state_service *o = &c->s->services[i];

		if (!same_host(&o->key, &svc->key))
			continue;
		svc_key_format(&o->key, ob, sizeof(ob));
		if (svc->write_port && ntohs(o->key.port) == svc->write_port)
			return config_fail(
				c, v[S_WRITE_PORT],
				"write-port: port %u is the service %s listed above: give another port",
				svc->write_port, ob);
		if (svc->write_port && o->write_port == svc->write_port)
			return config_fail(
				c, v[S_WRITE_PORT],
				"write-port: port %u is already the write port of service %s",
				svc->write_port, ob);
		if (o->write_port && o->write_port == ntohs(svc->key.port)) {
			svc_key_format(&svc->key, kb, sizeof(kb));
			return config_fail(
				c, e, "service %s is the write port of service %s listed above", kb,
				ob);
		}
	}
	return 0;
}

/* An etcd election name: letters, digits and . _ - / (it becomes part of a key). */
static int check_election(const struct cfg *c, const yaml_node_t *n, const char *name)
{
	const char *p;

	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("._-/", *p)))
			return config_fail(
				c, n,
				"election: '%s' has a '%c': use letters, digits and . _ - / only",
				name, *p);
	if (!*name || name[0] == '/')
		return config_fail(c, n,
				   "election: expected a name like pg-main (not starting with /)");
	return 0;
}

/* The leader: section of svc: exactly one of election and role. */
static int parse_leader(struct cfg *c, yaml_node_t *n, yaml_node_t *key, struct state_service *svc)
{
	static const char *const keys[] = { "election", "role" };
	yaml_node_t *v[2], *k[2];
	int err;

	if (!svc->write_port && !svc->route_leader)
		return config_fail(
			c, key,
			"leader applies to services that follow a leader: give write-port or route: leader");
	err = config_walk_map(c, n, "leader", keys, 2, v, k);
	if (err)
		return err;
	if (!v[0] == !v[1])
		return config_fail(
			c, n,
			"leader needs exactly one of 'election: NAME' and 'role: {type: http, ...}'");
	if (v[0]) {
		err = config_v_string(c, v[0], "election", svc->election, sizeof(svc->election));
		return err ? err : check_election(c, v[0], svc->election);
	}
	state_role_defaults(&svc->role);
	return config_parse_health(c, v[1], 1, 1, &svc->role);
}

static int parse_service(struct cfg *c, yaml_node_t *e)
{
	yaml_node_t *v[S_N], *k[S_N];
	struct state_service *svc, *other;
	struct sluice_svc_res res;
	struct res_conf rc;
	union sluice_addr addr;
	char text[RES_CRITICAL_MAX * SHARD_PREFIX_STRLEN], kb[SVC_KEY_STRLEN];
	const char *t;
	__u16 port;
	__u8 proto = IPPROTO_TCP, mode = SLUICE_MODE_LOCAL;
	size_t n;
	int err, i;

	err = config_walk_map(c, e, "a service", s_keys, S_N, v, k);
	if (err)
		return err;
	if (!v[S_ADDRESS])
		return config_fail(c, e, "a service needs 'address' (and 'port')");
	if (!v[S_PORT])
		return config_fail(c, e, "a service needs 'port' (1..65535)");
	err = config_scalar(c, v[S_ADDRESS], "address", "a service address", &t);
	if (!err && addr_parse(t, &addr))
		err = config_value_fail(c, v[S_ADDRESS], "address");
	if (!err)
		err = config_scalar(c, v[S_PORT], "port", "a port 1..65535", &t);
	if (!err && args_parse_port(t, &port))
		err = config_value_fail(c, v[S_PORT], "port");
	if (!err && v[S_PROTOCOL]) {
		err = config_scalar(c, v[S_PROTOCOL], "protocol", "tcp or udp", &t);
		if (!err && args_parse_proto(t, &proto))
			err = config_value_fail(c, v[S_PROTOCOL], "protocol");
	}
	if (!err && v[S_MODE]) {
		err = config_scalar(c, v[S_MODE], "mode", "local, nat or ipip", &t);
		if (!err && args_parse_mode(t, &mode))
			err = config_value_fail(c, v[S_MODE], "mode");
	}
	if (err)
		return err;
	svc = state_add_service(c->s);
	if (!svc)
		return -ENOMEM;
	state_service_defaults(svc, mode);
	svc->health.type = STATE_HC_NONE;
	if (svc_key_make(&addr, port, proto, &svc->key))
		return config_value_fail(c, v[S_PORT], "port");
	other = state_find_service(c->s, &svc->key);
	if (other != svc) {
		svc_key_format(&svc->key, kb, sizeof(kb));
		return config_fail(
			c, e, "duplicate service %s (each address, port and protocol once)", kb);
	}
	if (v[S_HASH]) {
		err = config_scalar(c, v[S_HASH], "hash", "5tuple or client", &t);
		if (!err && args_parse_hash(t, &svc->hash))
			err = config_value_fail(c, v[S_HASH], "hash");
		if (err)
			return err;
	}
	if (v[S_MAGLEV_SIZE]) {
		if (mode == SLUICE_MODE_LOCAL)
			return config_fail(
				c, k[S_MAGLEV_SIZE],
				"maglev-size applies to services in mode nat or ipip (this one is local)");
		err = config_v_u32(c, v[S_MAGLEV_SIZE], "maglev-size", 2, SLUICE_MAGLEV_M_MAX,
				   &svc->maglev_size);
		if (err)
			return err;
		if (!maglev_is_prime(svc->maglev_size))
			return config_fail(
				c, v[S_MAGLEV_SIZE],
				"maglev-size: %u is not a prime (e.g. 65537, 131071, 655373)",
				svc->maglev_size);
	}
	err = parse_write_port(c, e, v, k, svc);
	if (err)
		return err;
	err = parse_rate(c, v[S_RATE], v[S_BURST], "", &svc->rate, &svc->burst);
	if (!err)
		err = parse_rate(c, v[S_CLIENT_RATE], v[S_CLIENT_BURST], "client-",
				 &svc->client_rate, &svc->client_burst);
	if (err)
		return err;
	if (v[S_EGRESS_RATE]) {
		err = config_scalar(c, v[S_EGRESS_RATE], "egress-rate",
				    "a bandwidth with a unit (16mbit, 2MB) or 0", &t);
		if (err)
			return err;
		if (args_parse_bitrate(t, "egress-rate", &svc->egress_rate_bps))
			return config_value_fail(c, v[S_EGRESS_RATE], "egress-rate");
	}
	/* Bulkhead and breaker: each key, then the whole as res.c checks it. */
	memset(&rc, 0, sizeof(rc));
	for (i = S_MAX_CONNS; i <= S_FAST_TRIP; i++) {
		if (!v[i] || i == S_CRITICAL || i == S_FALLBACK)
			continue;
		err = parse_res_key(c, i, v[i], &rc);
		if (err)
			return err;
	}
	if (res_value_make(&rc, NULL, &res))
		return config_fail(c, e, "%s", err_msg());
	svc->res = res;
	if (rc.has & RES_HAS_RETRIES)
		svc->retries = rc.retries;
	if (rc.has & RES_HAS_FAST_TRIP)
		svc->fast_trip = rc.fast_trip;
	{
		/* Resolve zeros to the defaults, as state_read_maps() does. */
		struct state_service def;

		state_service_defaults(&def, mode);
#define DEF(f) svc->res.f = svc->res.f ? svc->res.f : def.res.f
		DEF(brk_failures);
		DEF(brk_window_ms);
		DEF(brk_rate_pct);
		DEF(brk_min_calls);
		DEF(brk_wait_ms);
		DEF(brk_wait_max_ms);
		DEF(brk_probes);
		DEF(brk_successes);
		DEF(brk_max_open_pct);
		DEF(syn_timeout_ms);
		DEF(panic_pct);
#undef DEF
	}
	if (v[S_CRITICAL]) {
		err = config_v_list(c, v[S_CRITICAL], "critical", "a client prefix", text,
				    sizeof(text));
		if (err)
			return err;
		if (res_critical_parse(text, 0, svc->critical, &n))
			return config_value_fail(c, v[S_CRITICAL], "critical");
		svc->ncritical = n;
	}
	if (v[S_HEALTH]) {
		svc->health = c->s->daemon.health;
		err = config_parse_health(c, v[S_HEALTH], 1, 0, &svc->health);
		if (err)
			return err;
	}
	if (v[S_LEADER]) {
		err = parse_leader(c, v[S_LEADER], k[S_LEADER], svc);
		if (err)
			return err;
	}
	if (v[S_BACKENDS]) {
		err = parse_seq(c, v[S_BACKENDS], "backends", svc, parse_backend);
		if (err)
			return err;
	}
	if (v[S_SHARDS]) {
		if (mode == SLUICE_MODE_LOCAL)
			return config_fail(
				c, k[S_SHARDS],
				"shards apply to services in mode nat or ipip (this one is local)");
		err = parse_seq(c, v[S_SHARDS], "shards", svc, parse_shard);
		if (err)
			return err;
	}
	if (v[S_FALLBACK]) {
		err = config_scalar(c, v[S_FALLBACK], "fallback", "BACKEND_ADDR[:PORT] or none",
				    &t);
		if (err)
			return err;
		if (strcmp(t, "none")) {
			__u32 cnt;

			if (mode == SLUICE_MODE_LOCAL)
				return config_fail(
					c, k[S_FALLBACK],
					"fallback applies to services in mode nat or ipip (this one is local)");
			err = parse_members(c, v[S_FALLBACK], "fallback", svc, 1, &svc->fallback,
					    &cnt);
			if (err)
				return err;
			svc->has_fallback = 1;
		}
	}
	return 0;
}

int config_parse_services(struct cfg *c, yaml_node_t *n)
{
	yaml_node_item_t *it;
	int err;

	if (n->type != YAML_SEQUENCE_NODE)
		return config_fail(
			c, n, "services: expected a list of services (- address: ...), found %s",
			config_kind_name(n));
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		err = parse_service(c, config_node(c, *it));
		if (err)
			return err;
	}
	return 0;
}
