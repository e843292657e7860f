// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A state back into the configuration's YAML (config_dump() in config.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "args.h"
#include "bird.h"
#include "config.h"
#include "gateway.h"
#include "res.h"
#include "shard.h"

/* Dumping. */

/*
 * The length of the UTF-8 sequence at p and its code point in *cp, or 0 when
 * it is not one (truncated, overlong, a surrogate, past U+10FFFF): the
 * rules libyaml's reader enforces.
 */
static size_t utf8_next(const unsigned char *p, __u32 *cp)
{
	size_t n, i;
	__u32 c = p[0], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) /* a NUL ends it here too */
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/*
 * A double-quoted YAML string that loads back byte for byte: quotes and
 * backslashes escaped, and every character libyaml would refuse (C0 and C1
 * controls, DEL) or fold (line breaks: \n, \r, NEL, U+2028, U+2029) written
 * as an escape. Printable UTF-8 stays as it is. A byte that is not UTF-8
 * (never in a loaded file; a state read from elsewhere might hold one) is
 * written as \xHH, which loads back as U+00HH: the nearest YAML has.
 */
static void put_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;
	__u32 c;

	fputc('"', f);
	while (*p) {
		n = utf8_next(p, &c);
		if (!n) {
			fprintf(f, "\\x%02x", *p++);
			continue;
		}
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", (int)c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else if ((c >= 0x80 && c <= 0x9f) || c == 0x2028 || c == 0x2029 || c == 0xfeff ||
			 c == 0xfffe || c == 0xffff)
			fprintf(f, "\\u%04x", c);
		else
			fwrite(p, 1, n, f);
		p += n;
	}
	fputc('"', f);
}

static void put_addr(FILE *f, const union sluice_addr *a)
{
	char buf[ADDR_STRLEN];

	if (addr_format(a, buf, sizeof(buf)))
		snprintf(buf, sizeof(buf), "?");
	put_str(f, buf);
}

static void put_seconds(FILE *f, const char *indent, const char *key, __u32 ms)
{
	if (ms % 1000)
		fprintf(f, "%s%s: %u.%03u\n", indent, key, ms / 1000, ms % 1000);
	else
		fprintf(f, "%s%s: %u\n", indent, key, ms / 1000);
}

static void put_member(FILE *f, const struct be_ref *r)
{
	char a[ADDR_STRLEN], buf[ADDR_STRLEN + 10];

	if (addr_format(&r->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	if (addr_is_v4mapped(&r->addr))
		snprintf(buf, sizeof(buf), "%s:%u", a, r->port);
	else
		snprintf(buf, sizeof(buf), "[%s]:%u", a, r->port);
	put_str(f, buf);
}

static void put_health(FILE *f, const char *ind, const struct state_health *h,
		       const struct state_health *def)
{
	static const char *const types[] = { "none", "tcp", "http", "https" };
	__u32 i;

	if (h->type)
		fprintf(f, "%stype: %s\n", ind, types[h->type & 3]);
	if (h->port)
		fprintf(f, "%sport: %u\n", ind, h->port);
	if (h->type != STATE_HC_TCP && strcmp(h->path, def->path)) {
		fprintf(f, "%spath: ", ind);
		put_str(f, h->path);
		fputc('\n', f);
	}
	if (h->type != STATE_HC_TCP && h->ncodes) {
		fprintf(f, "%sexpect: [", ind);
		for (i = 0; i < h->ncodes; i++)
			fprintf(f, "%s%u", i ? ", " : "", h->codes[i]);
		fprintf(f, "]\n");
	}
	if (h->type != STATE_HC_TCP && h->body[0]) {
		fprintf(f, "%sbody: ", ind);
		put_str(f, h->body);
		fputc('\n', f);
	}
	if (h->interval_ms != def->interval_ms)
		put_seconds(f, ind, "interval", h->interval_ms);
	if (h->timeout_ms != def->timeout_ms)
		put_seconds(f, ind, "timeout", h->timeout_ms);
	if (h->rise != def->rise)
		fprintf(f, "%srise: %u\n", ind, h->rise);
	if (h->fall != def->fall)
		fprintf(f, "%sfall: %u\n", ind, h->fall);
}

static void dump_service(FILE *f, const struct state *s, const struct state_service *svc)
{
	static const char *const ind = "    ";
	struct state_service def;
	const struct sluice_svc_res *r = &svc->res, *d = &def.res;
	char p[SHARD_PREFIX_STRLEN], rate[32];
	size_t i;
	__u32 j;

	state_service_defaults(&def, svc->mode);
	fprintf(f, "  - address: ");
	put_addr(f, &svc->key.addr);
	fprintf(f, "\n%sport: %u\n%sprotocol: %s\n", ind, ntohs(svc->key.port), ind,
		args_proto_name(svc->key.proto));
	fprintf(f, "%smode: %s\n", ind, args_mode_name(svc->mode));
	if (svc->hash != def.hash)
		fprintf(f, "%shash: %s\n", ind, args_hash_name(svc->hash));
	if (svc->maglev_size != def.maglev_size)
		fprintf(f, "%smaglev-size: %u\n", ind, svc->maglev_size);
	if (svc->write_port)
		fprintf(f, "%swrite-port: %u\n", ind, svc->write_port);
	if (svc->route_leader)
		fprintf(f, "%sroute: leader\n", ind);
	if (svc->rate)
		fprintf(f, "%srate: %u\n%sburst: %u\n", ind, svc->rate, ind, svc->burst);
	if (svc->client_rate)
		fprintf(f, "%sclient-rate: %u\n%sclient-burst: %u\n", ind, svc->client_rate, ind,
			svc->client_burst);
	if (svc->egress_rate_bps) {
		args_format_bitrate(svc->egress_rate_bps, rate, sizeof(rate));
		fprintf(f, "%segress-rate: %s\n", ind, rate);
	}
	if (r->max_conns)
		fprintf(f, "%smax-conns: %u\n", ind, r->max_conns);
	if (r->reserved)
		fprintf(f, "%sreserved: %u\n", ind, r->reserved);
	if (svc->ncritical) {
		fprintf(f, "%scritical: [", ind);
		for (i = 0; i < svc->ncritical; i++) {
			shard_prefix_format(&svc->critical[i], p, sizeof(p));
			fprintf(f, "%s", i ? ", " : "");
			put_str(f, p);
		}
		fprintf(f, "]\n");
	}
	if (r->refuse != d->refuse)
		fprintf(f, "%srefuse: %s\n", ind, res_refuse_name(r->refuse));
	if (r->flags & SLUICE_RES_NO_GLOBAL)
		fprintf(f, "%sglobal-limit: off\n", ind);
	if (r->on_open != d->on_open)
		fprintf(f, "%son-open: %s\n", ind, res_on_open_name(r->on_open));
	if (svc->has_fallback) {
		fprintf(f, "%sfallback: ", ind);
		put_member(f, &svc->fallback);
		fputc('\n', f);
	}
#define U32(field, key)                                               \
	do {                                                          \
		if (r->field != d->field)                             \
			fprintf(f, "%s%s: %u\n", ind, key, r->field); \
	} while (0)
	U32(brk_failures, "breaker-failures");
	if (r->brk_window_ms != d->brk_window_ms)
		put_seconds(f, ind, "breaker-window", r->brk_window_ms);
	U32(brk_rate_pct, "breaker-rate");
	U32(brk_min_calls, "breaker-min-calls");
	if (r->brk_wait_ms != d->brk_wait_ms)
		put_seconds(f, ind, "breaker-wait", r->brk_wait_ms);
	if (r->brk_wait_max_ms != d->brk_wait_max_ms)
		put_seconds(f, ind, "breaker-wait-max", r->brk_wait_max_ms);
	U32(brk_probes, "breaker-probes");
	U32(brk_successes, "breaker-successes");
	U32(brk_max_open_pct, "breaker-max-open");
	U32(syn_timeout_ms, "syn-timeout");
	if (r->panic_pct != d->panic_pct)
		fprintf(f, "%spanic-threshold: %u\n", ind,
			r->panic_pct == SLUICE_PANIC_OFF ? 0 : r->panic_pct);
#undef U32
	if (svc->retries != SLUICE_FO_RETRIES_DEFAULT)
		fprintf(f, "%sretries: %u\n", ind, svc->retries);
	if (svc->fast_trip != SLUICE_FO_TRIP_DEFAULT)
		fprintf(f, "%sbreaker-fast-trip: %u\n", ind, svc->fast_trip);
	if (svc->health.type != STATE_HC_NONE) {
		fprintf(f, "%shealth:\n", ind);
		put_health(f, "      ", &svc->health, &s->daemon.health);
	}
	if (svc->election[0]) {
		fprintf(f, "%sleader:\n%s  election: ", ind, ind);
		put_str(f, svc->election);
		fputc('\n', f);
	} else if (svc->role.type != STATE_HC_NONE) {
		struct state_health rdef;

		state_role_defaults(&rdef);
		fprintf(f, "%sleader:\n%s  role:\n", ind, ind);
		put_health(f, "        ", &svc->role, &rdef);
	}
	if (svc->nbackends) {
		fprintf(f, "%sbackends:\n", ind);
		for (i = 0; i < svc->nbackends; i++) {
			const struct state_backend *b = &svc->backends[i];

			fprintf(f, "      - address: ");
			put_addr(f, &b->addr);
			fprintf(f, "\n        port: %u\n", b->port);
			if (b->weight != 1)
				fprintf(f, "        weight: %u\n", b->weight);
			if (b->state == SLUICE_BE_DRAINING)
				fprintf(f, "        state: draining\n");
		}
	}
	if (svc->nshards) {
		fprintf(f, "%sshards:\n", ind);
		for (i = 0; i < svc->nshards; i++) {
			const struct state_shard *sh = &svc->shards[i];

			shard_prefix_format(&sh->key, p, sizeof(p));
			fprintf(f, "      - prefix: ");
			put_str(f, p);
			if (sh->subset) {
				fprintf(f, "\n        subset: [");
				for (j = 0; j < sh->count; j++) {
					fprintf(f, "%s", j ? ", " : "");
					put_member(f, &sh->members[j]);
				}
				fprintf(f, "]\n");
			} else {
				fprintf(f, "\n        backend: ");
				put_member(f, &sh->members[0]);
				fputc('\n', f);
			}
		}
	}
}

static void dump_cluster(FILE *f, const struct state_cluster *c, const struct state_cluster *def)
{
	size_t i;

	fprintf(f, "cluster:\n  name: ");
	put_str(f, c->name);
	fprintf(f, "\n  etcd: [");
	for (i = 0; i < c->netcd; i++) {
		fprintf(f, "%s", i ? ", " : "");
		put_str(f, c->etcd[i]);
	}
	fprintf(f, "]\n  prefix: ");
	put_str(f, c->prefix);
	fprintf(f, "\n  lease-ttl: %u\n", c->lease_ttl_s);
	put_seconds(f, "  ", "timeout", c->timeout_ms);
	if (c->cacert[0] || c->cert[0]) {
		fprintf(f, "  tls:\n");
		if (c->cacert[0]) {
			fprintf(f, "    ca: ");
			put_str(f, c->cacert);
			fputc('\n', f);
		}
		if (c->cert[0]) {
			fprintf(f, "    cert: ");
			put_str(f, c->cert);
			fprintf(f, "\n    key: ");
			put_str(f, c->key);
			fputc('\n', f);
		}
	}
	if (c->user[0]) {
		fprintf(f, "  user: ");
		put_str(f, c->user);
		fprintf(f, "\n  password: ");
		put_str(f, c->password);
		fputc('\n', f);
	}
	if (c->share != def->share)
		fprintf(f, "  share: %s\n", c->share ? "on" : "off");
	if (c->nvips)
		fprintf(f, "  vips:\n");
	for (i = 0; i < c->nvips; i++) {
		fprintf(f, "    - address: ");
		put_addr(f, &c->vips[i].addr);
		fprintf(f, "\n      interface: ");
		put_str(f, c->vips[i].iface);
		fputc('\n', f);
	}
}
/* hosts: each cgroup with its services ("ADDR PORT PROTO"), or none listed: all. */
static void dump_hosts(FILE *f, const struct state *s)
{
	char a[ADDR_STRLEN], line[ADDR_STRLEN + 16];
	size_t i, j;

	fprintf(f, "hosts:%s\n", s->nhosts ? "" : " []");
	for (i = 0; i < s->nhosts; i++) {
		const struct state_host *h = &s->hosts[i];

		fprintf(f, "  - cgroup: ");
		put_str(f, h->cgroup);
		fputc('\n', f);
		if (h->nsvc)
			fprintf(f, "    services:\n");
		for (j = 0; j < h->nsvc; j++) {
			if (addr_format(&h->svcs[j].addr, a, sizeof(a)))
				snprintf(a, sizeof(a), "?");
			snprintf(line, sizeof(line), "%s %u %s", a, ntohs(h->svcs[j].port),
				 args_proto_name(h->svcs[j].proto));
			fprintf(f, "      - ");
			put_str(f, line);
			fputc('\n', f);
		}
	}
}

static void put_comms(FILE *f, const struct bird_comm *m, size_t n)
{
	size_t i;

	fputc('[', f);
	for (i = 0; i < n; i++) {
		fprintf(f, "%s\"%u:%u", i ? ", " : "", m[i].a, m[i].b);
		if (m[i].large)
			fprintf(f, ":%u", m[i].c);
		fputc('"', f);
	}
	fputc(']', f);
}

/* 1 when a is the address of a nat or ipip service of s (what a listed VIP must be). */
static int routed_service_addr(const struct state *s, const union sluice_addr *a)
{
	size_t i;

	for (i = 0; i < s->nservices; i++)
		if (s->services[i].mode != SLUICE_MODE_LOCAL &&
		    !memcmp(&s->services[i].key.addr, a, sizeof(*a)))
			return 1;
	return 0;
}

/*
 * bgp: every key that differs from its default. A listed VIP whose service
 * is gone (deleted since the file was applied) is left out: it is never
 * announced, and the section would not load back with it. bfd is written
 * on each peer as well: a peer's own value must not follow the default.
 */
static void dump_bgp(FILE *f, const struct state *s)
{
	const struct bird_conf *b = &s->bgp;
	struct sluice_shard_key k;
	char p[SHARD_PREFIX_STRLEN];
	struct bird_conf def;
	size_t i, j, nvips = 0;
	int sep;

	bird_conf_init(&def);
	fprintf(f, "bgp:\n  asn: %u\n", b->asn);
	if (gateway_addr_is_set(&b->router_id)) {
		fprintf(f, "  router-id: ");
		put_addr(f, &b->router_id);
		fputc('\n', f);
	}
	if (strcmp(b->socket, def.socket)) {
		fprintf(f, "  socket: ");
		put_str(f, b->socket);
		fputc('\n', f);
	}
	if (strcmp(b->include, def.include)) {
		fprintf(f, "  include: ");
		put_str(f, b->include);
		fputc('\n', f);
	}
	if (gateway_addr_is_set(&b->next_hop4) || gateway_addr_is_set(&b->next_hop6)) {
		fprintf(f, "  next-hop: [");
		sep = 0;
		if (gateway_addr_is_set(&b->next_hop4)) {
			put_addr(f, &b->next_hop4);
			sep = 1;
		}
		if (gateway_addr_is_set(&b->next_hop6)) {
			fprintf(f, "%s", sep ? ", " : "");
			put_addr(f, &b->next_hop6);
		}
		fprintf(f, "]\n");
	}
	fprintf(f, "  bfd: %s\n", b->bfd ? "on" : "off");
	if (b->bfd_interval_ms != def.bfd_interval_ms)
		put_seconds(f, "  ", "bfd-interval", b->bfd_interval_ms);
	if (b->bfd_multiplier != def.bfd_multiplier)
		fprintf(f, "  bfd-multiplier: %u\n", b->bfd_multiplier);
	if (b->drain_on_stop_s)
		fprintf(f, "  drain-on-stop: %u\n", b->drain_on_stop_s);
	if (b->ncomms) {
		fprintf(f, "  communities: ");
		put_comms(f, b->comms, b->ncomms);
		fputc('\n', f);
	}
	fprintf(f, "  prefixes: [");
	for (i = 0; i < b->nprefixes; i++) {
		memset(&k, 0, sizeof(k));
		k.addr = b->prefixes[i].addr;
		k.prefixlen = b->prefixes[i].len + 32;
		shard_prefix_format(&k, p, sizeof(p));
		fprintf(f, "%s", i ? ", " : "");
		put_str(f, p);
	}
	fprintf(f, "]\n  peers:\n");
	for (i = 0; i < b->npeers; i++) {
		fprintf(f, "    - name: ");
		put_str(f, b->peers[i].name);
		fprintf(f, "\n      address: ");
		put_addr(f, &b->peers[i].addr);
		fprintf(f, "\n      asn: %u\n      bfd: %s\n", b->peers[i].asn,
			b->peers[i].bfd ? "on" : "off");
	}
	if (b->all) {
		fprintf(f, "  vips: all\n");
		return;
	}
	for (i = 0; i < b->nvips; i++)
		nvips += routed_service_addr(s, &b->vips[i].addr);
	fprintf(f, "  vips:\n");
	for (i = 0; i < b->nvips; i++) {
		const struct bird_vip *v = &b->vips[i];

		/* None left: all written, and the load says which is missing. */
		if (nvips && !routed_service_addr(s, &v->addr))
			continue;
		fprintf(f, "    - address: ");
		put_addr(f, &v->addr);
		fputc('\n', f);
		if (v->peers) {
			fprintf(f, "      peers: [");
			sep = 0;
			for (j = 0; j < b->npeers; j++) {
				if (!(v->peers & (1u << j)))
					continue;
				fprintf(f, "%s", sep ? ", " : "");
				put_str(f, b->peers[j].name);
				sep = 1;
			}
			fprintf(f, "]\n");
		}
		if (v->ncomms) {
			fprintf(f, "      communities: ");
			put_comms(f, v->comms, v->ncomms);
			fputc('\n', f);
		}
	}
}

int config_dump(FILE *f, const struct state *s)
{
	struct state def;
	size_t i;

	state_init(&def);
	fprintf(f, "# Sluice configuration (sluice config dump); see tools/sluiced.example.yaml\n");
	if (strcmp(s->daemon.socket, def.daemon.socket) ||
	    strcmp(s->daemon.journal, def.daemon.journal) ||
	    strcmp(s->daemon.metrics, def.daemon.metrics) || s->daemon.pin_root[0] ||
	    s->daemon.admin_group[0] ||
	    memcmp(&s->daemon.health, &def.daemon.health, sizeof(def.daemon.health))) {
		fprintf(f, "daemon:\n  socket: ");
		put_str(f, s->daemon.socket);
		fprintf(f, "\n  journal: ");
		put_str(f, s->daemon.journal);
		fprintf(f, "\n  metrics: ");
		put_str(f, s->daemon.metrics);
		fputc('\n', f);
		if (s->daemon.pin_root[0]) {
			fprintf(f, "  pin-root: ");
			put_str(f, s->daemon.pin_root);
			fputc('\n', f);
		}
		if (s->daemon.admin_group[0]) {
			fprintf(f, "  admin-group: ");
			put_str(f, s->daemon.admin_group);
			fputc('\n', f);
		}
		if (memcmp(&s->daemon.health, &def.daemon.health, sizeof(def.daemon.health))) {
			fprintf(f, "  health:\n");
			put_health(f, "    ", &s->daemon.health, &def.daemon.health);
		}
	}
	if (s->cluster.enabled)
		dump_cluster(f, &s->cluster, &def.cluster);
	if (s->has_ifaces) {
		fprintf(f, "interfaces:%s\n", s->nifaces ? "" : " []");
		for (i = 0; i < s->nifaces; i++) {
			fprintf(f, "  - name: %s\n", s->ifaces[i].name);
			if (s->ifaces[i].hook != LOADER_HOOK_XDP)
				fprintf(f, "    hook: %s\n",
					cmd_hook_name((enum loader_hook)s->ifaces[i].hook));
			else
				fprintf(f, "    mode: %s\n", s->ifaces[i].skb ? "skb" : "native");
		}
	}
	fprintf(f, "gateway:\n  encap-source4: ");
	if (gateway_addr_is_set(&s->encap_src4))
		put_addr(f, &s->encap_src4);
	else
		fprintf(f, "none");
	fprintf(f, "\n  encap-source6: ");
	if (gateway_addr_is_set(&s->encap_src6))
		put_addr(f, &s->encap_src6);
	else
		fprintf(f, "none");
	fprintf(f, "\n  udp-timeout: %u\n", s->udp_timeout_s);
	fprintf(f, "bulkhead:\n  max-conns: %u\n  tcp-idle: %u\n", s->global_max_conns,
		s->tcp_idle_s);
	fprintf(f, "services:%s\n", s->nservices ? "" : " []");
	for (i = 0; i < s->nservices; i++)
		dump_service(f, s, &s->services[i]);
	if (s->has_hosts)
		dump_hosts(f, s);
	if (s->bgp.enabled)
		dump_bgp(f, s);
	return ferror(f) ? -EIO : 0;
}
