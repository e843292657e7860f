// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The bgp section (config_int.h): this gateway's ASN and router id, BIRD's
 * control socket and the include file sluiced writes, the peers, BFD,
 * next hops, communities, the prefixes VIPs must lie in, and which VIPs
 * are announced (every nat/ipip service address, or a list with per-VIP
 * peers and communities). Parsed after the services, whose addresses it
 * checks.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "addr.h"
#include "args.h"
#include "bird.h"
#include "config_int.h"
#include "err.h"
#include "keys.h"

enum {
	B_ASN,
	B_ROUTER_ID,
	B_SOCKET,
	B_INCLUDE,
	B_NEXT_HOP,
	B_BFD,
	B_BFD_INTERVAL,
	B_BFD_MULT,
	B_COMMS,
	B_PREFIXES,
	B_PEERS,
	B_VIPS,
	B_DRAIN_ON_STOP,
	B_N
};
static const char *const b_keys[B_N] = {
	"asn",	 "router-id",	 "socket",	   "include",	  "next-hop",
	"bfd",	 "bfd-interval", "bfd-multiplier", "communities", "prefixes",
	"peers", "vips",	 "drain-on-stop",
};

/* An ASN: 1..4294967294, not AS_TRANS (23456) nor 65535. */
static int parse_asn(const struct cfg *c, const yaml_node_t *n, const char *key, __u32 *asn)
{
	const char *t;
	int err = config_scalar(c, n, key, "an AS number (1..4294967294)", &t);

	if (err)
		return err;
	if (args_parse_u32(t, 1, 4294967294u, key, asn) || *asn == 23456 || *asn == 65535) {
		err_clear();
		return config_fail(
			c, n,
			"%s: '%s' is not a usable AS number: expected 1..4294967294 (not 23456, AS_TRANS, nor 65535)",
			key, t);
	}
	return 0;
}

static int parse_addr(const struct cfg *c, const yaml_node_t *n, const char *key,
		      union sluice_addr *a)
{
	const char *t;
	int err = config_scalar(c, n, key, "an IPv4 or IPv6 address", &t);

	if (!err && addr_parse(t, a))
		err = config_value_fail(c, n, key);
	return err;
}

/* A scalar or a list of scalars: items[0..*count), at most max. */
static int list_of(struct cfg *c, yaml_node_t *n, const char *key, size_t max, yaml_node_t **items,
		   size_t *count)
{
	yaml_node_item_t *it;

	*count = 0;
	if (n->type == YAML_SCALAR_NODE) {
		items[(*count)++] = n;
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return config_fail(c, n, "%s: expected a value or a list of them, found %s", key,
				   config_kind_name(n));
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		if (*count == max)
			return config_fail(c, config_node(c, *it), "%s: at most %zu", key, max);
		items[(*count)++] = config_node(c, *it);
	}
	return 0;
}

/* The message a parser set, at node n. */
static int fail_with_msg(const struct cfg *c, const yaml_node_t *n, const char *key)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%s", err_msg());
	return config_fail(c, n, "%s: %s", key, msg);
}

static int parse_comms(struct cfg *c, yaml_node_t *n, struct bird_comm *comms, size_t *ncomms)
{
	yaml_node_t *items[BIRD_COMMS_MAX];
	const char *t;
	size_t i;
	int err;

	err = list_of(c, n, "communities", BIRD_COMMS_MAX, items, ncomms);
	for (i = 0; !err && i < *ncomms; i++) {
		err = config_scalar(c, items[i], "communities", "ASN:VALUE or ASN:VALUE:VALUE", &t);
		if (!err && bird_comm_parse(t, &comms[i]))
			err = fail_with_msg(c, items[i], "communities");
	}
	return err;
}

static int parse_next_hop(struct cfg *c, yaml_node_t *n, struct bird_conf *b)
{
	yaml_node_t *items[2];
	union sluice_addr a;
	size_t count, i;
	int err;

	err = list_of(c, n, "next-hop", 2, items, &count);
	for (i = 0; !err && i < count; i++) {
		union sluice_addr *dst;

		err = parse_addr(c, items[i], "next-hop", &a);
		if (err)
			break;
		dst = addr_is_v4mapped(&a) ? &b->next_hop4 : &b->next_hop6;
		if (dst->u32[0] | dst->u32[1] | dst->u32[2] | dst->u32[3])
			return config_fail(c, items[i],
					   "next-hop: at most one IPv4 and one IPv6 address");
		*dst = a;
	}
	return err;
}

static int parse_prefixes(struct cfg *c, yaml_node_t *n, struct bird_conf *b)
{
	yaml_node_t *items[BIRD_PREFIXES_MAX];
	struct sluice_shard_key k;
	const char *t;
	size_t i;
	int err;

	err = list_of(c, n, "prefixes", BIRD_PREFIXES_MAX, items, &b->nprefixes);
	for (i = 0; !err && i < b->nprefixes; i++) {
		err = config_scalar(c, items[i], "prefixes", "a prefix (192.0.2.0/24)", &t);
		if (!err && shard_prefix_parse(t, 0, &k))
			err = fail_with_msg(c, items[i], "prefixes");
		if (!err) {
			b->prefixes[i].addr = k.addr;
			b->prefixes[i].len = k.prefixlen - 32;
		}
	}
	return err;
}

static int parse_peer(struct cfg *c, yaml_node_t *e, struct bird_conf *b)
{
	static const char *const keys[] = { "name", "address", "asn", "bfd" };
	yaml_node_t *v[4], *k[4];
	struct bird_peer *p;
	char a[ADDR_STRLEN];
	size_t i;
	int err;

	err = config_walk_map(c, e, "a peer", keys, 4, v, k);
	if (err)
		return err;
	if (!v[0] || !v[1] || !v[2])
		return config_fail(c, e, "a peer needs 'name', 'address' and 'asn'");
	if (b->npeers == BIRD_PEERS_MAX)
		return config_fail(c, e, "peers: at most %d", BIRD_PEERS_MAX);
	p = &b->peers[b->npeers];
	memset(p, 0, sizeof(*p));
	p->bfd = b->bfd;
	err = config_v_string(c, v[0], "name", p->name, sizeof(p->name));
	if (!err && !bird_peer_name_ok(p->name))
		err = config_fail(
			c, v[0],
			"name: '%s' is not a peer name: a letter, then letters, digits or '_' (at most %d)",
			p->name, BIRD_NAME_MAX - 1);
	if (!err)
		err = parse_addr(c, v[1], "address", &p->addr);
	if (!err)
		err = parse_asn(c, v[2], "asn", &p->asn);
	if (!err && v[3])
		err = config_v_onoff(c, v[3], "bfd", &p->bfd);
	if (err)
		return err;
	for (i = 0; i < b->npeers; i++) {
		if (!strcmp(b->peers[i].name, p->name))
			return config_fail(c, v[0], "duplicate peer '%s'", p->name);
		if (!memcmp(&b->peers[i].addr, &p->addr, sizeof(p->addr))) {
			if (addr_format(&p->addr, a, sizeof(a)))
				snprintf(a, sizeof(a), "?");
			return config_fail(c, v[1], "duplicate peer address %s", a);
		}
	}
	b->npeers++;
	return 0;
}

/* 1 when some service of the file has address a. */
static int is_service_addr(const struct state *s, const union sluice_addr *a, int routed_only)
{
	size_t i;

	for (i = 0; i < s->nservices; i++)
		if (!memcmp(&s->services[i].key.addr, a, sizeof(*a)) &&
		    (!routed_only || s->services[i].mode != SLUICE_MODE_LOCAL))
			return 1;
	return 0;
}

/* a must lie in one of the prefixes. */
static int check_in_prefixes(const struct cfg *c, const yaml_node_t *n, const struct bird_conf *b,
			     const union sluice_addr *a, const char *what)
{
	char t[ADDR_STRLEN];
	size_t i;

	for (i = 0; i < b->nprefixes; i++)
		if (bird_prefix_contains(&b->prefixes[i], a))
			return 0;
	if (addr_format(a, t, sizeof(t)))
		snprintf(t, sizeof(t), "?");
	return config_fail(
		c, n,
		"%s %s lies outside the bgp prefixes: announce only addresses of the prefixes this gateway may announce (add its prefix to 'prefixes')",
		what, t);
}

static int parse_vip_peers(struct cfg *c, yaml_node_t *n, const struct bird_conf *b,
			   struct bird_vip *vip)
{
	yaml_node_t *items[BIRD_PEERS_MAX];
	size_t count, i, j;
	const char *t;
	int err;

	err = list_of(c, n, "peers", BIRD_PEERS_MAX, items, &count);
	for (i = 0; !err && i < count; i++) {
		err = config_scalar(c, items[i], "peers", "a peer name", &t);
		if (err)
			break;
		for (j = 0; j < b->npeers && strcmp(b->peers[j].name, t); j++)
			;
		if (j == b->npeers)
			return config_fail(
				c, items[i],
				"peers: unknown peer '%s': name one of the bgp section's peers", t);
		vip->peers |= 1u << j;
	}
	if (!err && !count)
		err = config_fail(c, n, "peers: expected at least one peer name");
	return err;
}

static int parse_vip(struct cfg *c, yaml_node_t *e, struct bird_conf *b)
{
	static const char *const keys[] = { "address", "peers", "communities" };
	yaml_node_t *v[3] = { e, NULL, NULL }, *k[3];
	struct bird_vip *vip;
	char t[ADDR_STRLEN];
	size_t i;
	int err;

	if (e->type == YAML_MAPPING_NODE) {
		err = config_walk_map(c, e, "a vip", keys, 3, v, k);
		if (err)
			return err;
		if (!v[0])
			return config_fail(c, e, "a vip needs 'address'");
	}
	if (b->nvips == BIRD_VIPS_MAX)
		return config_fail(c, e, "vips: at most %d", BIRD_VIPS_MAX);
	vip = &b->vips[b->nvips];
	memset(vip, 0, sizeof(*vip));
	err = parse_addr(c, v[0], "address", &vip->addr);
	if (!err)
		err = check_in_prefixes(c, v[0], b, &vip->addr, "vip");
	if (!err && !is_service_addr(c->s, &vip->addr, 1)) {
		if (addr_format(&vip->addr, t, sizeof(t)))
			snprintf(t, sizeof(t), "?");
		err = config_fail(c, v[0], "vip %s is the address of no nat or ipip service", t);
	}
	if (!err && v[1])
		err = parse_vip_peers(c, v[1], b, vip);
	if (!err && v[2])
		err = parse_comms(c, v[2], vip->comms, &vip->ncomms);
	if (err)
		return err;
	for (i = 0; i < b->nvips; i++)
		if (!memcmp(&b->vips[i].addr, &vip->addr, sizeof(vip->addr))) {
			if (addr_format(&vip->addr, t, sizeof(t)))
				snprintf(t, sizeof(t), "?");
			return config_fail(c, v[0], "duplicate vip %s", t);
		}
	b->nvips++;
	return 0;
}

static int parse_vips(struct cfg *c, yaml_node_t *n, struct bird_conf *b)
{
	yaml_node_item_t *it;
	const char *t;
	int err;

	if (n->type == YAML_SCALAR_NODE) {
		err = config_scalar(c, n, "vips", "all or a list of VIPs", &t);
		if (!err && strcmp(t, "all"))
			err = config_fail(c, n, "vips: expected all or a list of VIPs, found '%s'",
					  t);
		return err;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return config_fail(c, n, "vips: expected all or a list of VIPs, found %s",
				   config_kind_name(n));
	b->all = 0;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		err = parse_vip(c, config_node(c, *it), b);
		if (err)
			return err;
	}
	if (!b->nvips)
		return config_fail(c, n, "vips: expected at least one VIP (or all)");
	return 0;
}

/* vips: all: every nat/ipip service address must lie in the prefixes. */
static int check_all(const struct cfg *c, const yaml_node_t *n, const struct bird_conf *b)
{
	size_t i;
	int err;

	for (i = 0; i < c->s->nservices; i++) {
		if (c->s->services[i].mode == SLUICE_MODE_LOCAL)
			continue;
		err = check_in_prefixes(c, n, b, &c->s->services[i].key.addr,
					"vips: all: the service address");
		if (err)
			return err;
	}
	return 0;
}

int config_parse_bgp(struct cfg *c, yaml_node_t *n)
{
	struct bird_conf *b = &c->s->bgp;
	yaml_node_t *v[B_N], *k[B_N];
	yaml_node_item_t *it;
	int err;

	err = config_walk_map(c, n, "bgp", b_keys, B_N, v, k);
	if (err)
		return err;
	if (!v[B_ASN] || !v[B_PEERS] || !v[B_PREFIXES])
		return config_fail(c, n, "bgp needs 'asn', 'prefixes' and 'peers'");
	b->enabled = 1;
	err = parse_asn(c, v[B_ASN], "asn", &b->asn);
	if (!err && v[B_ROUTER_ID]) {
		err = parse_addr(c, v[B_ROUTER_ID], "router-id", &b->router_id);
		if (!err && !addr_is_v4mapped(&b->router_id))
			err = config_fail(c, v[B_ROUTER_ID],
					  "router-id: expected an IPv4 address (BGP's router id)");
	}
	if (!err && v[B_SOCKET])
		err = config_v_string(c, v[B_SOCKET], "socket", b->socket, sizeof(b->socket));
	if (!err && v[B_SOCKET] && b->socket[0] != '/')
		err = config_fail(c, v[B_SOCKET], "socket: expected an absolute path");
	if (!err && v[B_INCLUDE])
		err = config_v_string(c, v[B_INCLUDE], "include", b->include, sizeof(b->include));
	if (!err && v[B_INCLUDE] && b->include[0] != '/')
		err = config_fail(c, v[B_INCLUDE], "include: expected an absolute path");
	if (!err && v[B_NEXT_HOP])
		err = parse_next_hop(c, v[B_NEXT_HOP], b);
	if (!err && v[B_BFD])
		err = config_v_onoff(c, v[B_BFD], "bfd", &b->bfd);
	if (!err && v[B_BFD_INTERVAL])
		err = config_v_seconds(c, v[B_BFD_INTERVAL], "bfd-interval", 10, 10000,
				       &b->bfd_interval_ms);
	if (!err && v[B_BFD_MULT])
		err = config_v_u32(c, v[B_BFD_MULT], "bfd-multiplier", 1, 255, &b->bfd_multiplier);
	if (!err && v[B_DRAIN_ON_STOP])
		err = config_v_u32(c, v[B_DRAIN_ON_STOP], "drain-on-stop", 0, 86400,
				   &b->drain_on_stop_s);
	if (!err && v[B_COMMS])
		err = parse_comms(c, v[B_COMMS], b->comms, &b->ncomms);
	if (!err)
		err = parse_prefixes(c, v[B_PREFIXES], b);
	if (err)
		return err;
	if (v[B_PEERS]->type != YAML_SEQUENCE_NODE || !v[B_PEERS]->data.sequence.items.top ||
	    v[B_PEERS]->data.sequence.items.top == v[B_PEERS]->data.sequence.items.start)
		return config_fail(c, v[B_PEERS],
				   "peers: expected a list of {name, address, asn[, bfd]}");
	for (it = v[B_PEERS]->data.sequence.items.start; it < v[B_PEERS]->data.sequence.items.top;
	     it++) {
		err = parse_peer(c, config_node(c, *it), b);
		if (err)
			return err;
	}
	if (v[B_VIPS])
		err = parse_vips(c, v[B_VIPS], b);
	if (!err && b->all)
		err = check_all(c, v[B_VIPS] ? v[B_VIPS] : n, b);
	return err;
}
