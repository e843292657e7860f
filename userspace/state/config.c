// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The configuration file (see config.h and tools/sluiced.example.yaml):
 * libyaml loads the whole document (its own syntax errors, tabs and bad
 * indentation included, come back with their mark), then a walk over the
 * node tree checks every key against the section's table and every value
 * with the CLI's own parsers, building a struct state. Errors carry the
 * node's start mark. Nothing here opens a map except config_plan(), which
 * only reads them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "addr.h"
#include "args.h"
#include "backend.h"
#include "config.h"
#include "err.h"
#include "gateway.h"
#include "maglev.h"
#include "maps.h"
#include "rate.h"
#include "res.h"
#include "shard.h"
#include "svc.h"

struct cfg {
	const char *file;
	yaml_document_t doc;
	struct state *s;
};

/* An error at node n: -EINVAL with "FILE:LINE:COL: message". */
static int fail(const struct cfg *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(const struct cfg *c, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set("%s:%zu:%zu: %s", c->file, n->start_mark.line + 1, n->start_mark.column + 1, msg);
	return -EINVAL;
}

static const char *kind_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a value";
	}
}

static yaml_node_t *node(struct cfg *c, int id)
{
	return yaml_document_get_node(&c->doc, id);
}

/* A scalar's text; an empty plain scalar, ~ or null is no value. */
static int scalar(const struct cfg *c, const yaml_node_t *n, const char *key, const char *expected,
		  const char **text)
{
	const char *t;

	if (n->type != YAML_SCALAR_NODE)
		return fail(c, n, "%s: expected %s, found %s", key, expected, kind_name(n));
	t = (const char *)n->data.scalar.value;
	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (!*t || !strcmp(t, "~") || !strcmp(t, "null")))
		return fail(c, n, "%s: expected %s, found no value", key, expected);
	*text = t;
	return 0;
}

/*
 * Check mapping n against keys[0..nkeys): vals[i] receives the value of
 * keys[i] (NULL when absent), knodes[i] its key node. Unknown and duplicate
 * keys are errors.
 */
static int walk_map(struct cfg *c, yaml_node_t *n, const char *where, const char *const *keys,
		    size_t nkeys, yaml_node_t **vals, yaml_node_t **knodes)
{
	yaml_node_pair_t *p;
	yaml_node_t *k;
	const char *name;
	char list[320];
	size_t i, used;

	memset(vals, 0, nkeys * sizeof(*vals));
	memset(knodes, 0, nkeys * sizeof(*knodes));
	if (n->type != YAML_MAPPING_NODE)
		return fail(c, n, "%s: expected a mapping (KEY: VALUE lines), found %s", where,
			    kind_name(n));
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		k = node(c, p->key);
		if (k->type != YAML_SCALAR_NODE)
			return fail(c, k, "%s: expected a key name, found %s", where, kind_name(k));
		name = (const char *)k->data.scalar.value;
		for (i = 0; i < nkeys && strcmp(keys[i], name); i++)
			;
		if (i == nkeys) {
			list[0] = 0;
			for (i = 0, used = 0; i < nkeys && used < sizeof(list) - 40; i++)
				used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
							 i ? ", " : "", keys[i]);
			if (i < nkeys)
				snprintf(list + used, sizeof(list) - used, ", ...");
			return fail(c, k, "unknown key '%s' in %s: expected one of %s", name, where,
				    list);
		}
		if (vals[i])
			return fail(c, k, "duplicate key '%s' in %s (first at line %zu)", name,
				    where, knodes[i]->start_mark.line + 1);
		vals[i] = node(c, p->value);
		knodes[i] = k;
	}
	return 0;
}

/* Wrap a CLI parser's message (err_msg()) with the node's position. */
static int value_fail(const struct cfg *c, const yaml_node_t *n, const char *key)
{
	return fail(c, n, "%s: %s", key, err_msg());
}

static int v_u32(const struct cfg *c, const yaml_node_t *n, const char *key, __u32 min, __u32 max,
		 __u32 *out)
{
	const char *t;
	int err = scalar(c, n, key, "a number", &t);

	if (err)
		return err;
	if (args_parse_u32(t, min, max, key, out))
		return value_fail(c, n, key);
	return 0;
}

static int v_count(const struct cfg *c, const yaml_node_t *n, const char *key, __u32 max,
		   __u32 *out)
{
	const char *t;
	int err = scalar(c, n, key, "a number (k and m suffixes allowed)", &t);

	if (err)
		return err;
	if (args_parse_count(t, max, key, out))
		return value_fail(c, n, key);
	return 0;
}

static int v_seconds(const struct cfg *c, const yaml_node_t *n, const char *key, __u32 min_ms,
		     __u32 max_ms, __u32 *ms)
{
	const char *t;
	int err = scalar(c, n, key, "seconds (up to 3 decimals)", &t);

	if (err)
		return err;
	if (res_parse_seconds_ms(t, min_ms, max_ms, key, ms))
		return value_fail(c, n, key);
	return 0;
}

static int v_onoff(const struct cfg *c, const yaml_node_t *n, const char *key, int *on)
{
	const char *t;
	int err = scalar(c, n, key, "on or off", &t);

	if (err)
		return err;
	if (!strcmp(t, "on") || !strcmp(t, "true") || !strcmp(t, "yes"))
		*on = 1;
	else if (!strcmp(t, "off") || !strcmp(t, "false") || !strcmp(t, "no"))
		*on = 0;
	else
		return fail(c, n, "%s: expected on or off, found '%s'", key, t);
	return 0;
}

static int v_string(const struct cfg *c, const yaml_node_t *n, const char *key, char *buf,
		    size_t len)
{
	const char *t;
	int err = scalar(c, n, key, "a string", &t);

	if (err)
		return err;
	if (strlen(t) >= len)
		return fail(c, n, "%s: too long: at most %zu characters", key, len - 1);
	snprintf(buf, len, "%s", t);
	return 0;
}

/* A list of scalars (or one scalar) joined with commas into buf. */
static int v_list(const struct cfg *c, const yaml_node_t *n, const char *key, const char *expected,
		  char *buf, size_t len)
{
	yaml_node_item_t *it;
	const char *t;
	size_t used = 0;
	int err;

	if (n->type == YAML_SCALAR_NODE) {
		err = scalar(c, n, key, expected, &t);
		if (err)
			return err;
		if (strlen(t) >= len)
			return fail(c, n, "%s: too long", key);
		snprintf(buf, len, "%s", t);
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, n, "%s: expected a list of %s, found %s", key, expected,
			    kind_name(n));
	buf[0] = 0;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *v = node((struct cfg *)c, *it);

		err = scalar(c, v, key, expected, &t);
		if (err)
			return err;
		if (used + strlen(t) + 2 >= len)
			return fail(c, v, "%s: too many entries", key);
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "", t);
	}
	if (!used)
		return fail(c, n, "%s: expected at least one %s", key, expected);
	return 0;
}

/* Health checks. */

enum {
	HC_TYPE,
	HC_PORT,
	HC_PATH,
	HC_EXPECT,
	HC_BODY,
	HC_INTERVAL,
	HC_TIMEOUT,
	HC_RISE,
	HC_FALL,
	HC_N
};
static const char *const hc_keys[HC_N] = {
	"type", "port", "path", "expect", "body", "interval", "timeout", "rise", "fall",
};

/*
 * A health check (need_type: type required), or with role set a role check:
 * the same keys but rise and fall, and http or https only.
 */
static int parse_health(struct cfg *c, yaml_node_t *n, int need_type, int role,
			struct state_health *h)
{
	yaml_node_t *v[HC_N], *k[HC_N];
	const char *t;
	int err;

	if (role) {
		err = walk_map(c, n, "a role check", hc_keys, HC_RISE, v, k);
		v[HC_RISE] = v[HC_FALL] = k[HC_RISE] = k[HC_FALL] = NULL;
	} else {
		err = walk_map(c, n, "a health check", hc_keys, HC_N, v, k);
	}
	if (err)
		return err;
	if (v[HC_TYPE]) {
		err = scalar(c, v[HC_TYPE], "type", role ? "http or https" : "tcp, http or https",
			     &t);
		if (err)
			return err;
		if (!strcmp(t, "tcp") && role)
			return fail(
				c, v[HC_TYPE],
				"type: a role check asks an HTTP endpoint: expected http or https, found 'tcp'");
		if (!strcmp(t, "tcp"))
			h->type = STATE_HC_TCP;
		else if (!strcmp(t, "http"))
			h->type = STATE_HC_HTTP;
		else if (!strcmp(t, "https"))
			h->type = STATE_HC_HTTPS;
		else
			return fail(c, v[HC_TYPE], "type: expected tcp, http or https, found '%s'",
				    t);
	} else if (need_type) {
		return fail(c, n,
			    role ? "a role check needs 'type: http|https'"
				 : "a health check needs 'type: tcp|http|https'");
	}
	if (v[HC_PORT]) {
		err = scalar(c, v[HC_PORT], "port", "a port", &t);
		if (!err && args_parse_port(t, &h->port))
			err = value_fail(c, v[HC_PORT], "port");
		if (err)
			return err;
	}
	if (v[HC_PATH]) {
		err = v_string(c, v[HC_PATH], "path", h->path, sizeof(h->path));
		if (err)
			return err;
		if (h->path[0] != '/')
			return fail(c, v[HC_PATH], "path: expected an absolute path (/healthz)");
	}
	if (v[HC_EXPECT]) {
		yaml_node_t *e = v[HC_EXPECT];
		yaml_node_item_t *it;

		h->ncodes = 0;
		if (e->type == YAML_SCALAR_NODE) {
			__u32 code;

			err = v_u32(c, e, "expect", 100, 599, &code);
			if (err)
				return err;
			h->codes[h->ncodes++] = (__u16)code;
		} else if (e->type == YAML_SEQUENCE_NODE) {
			for (it = e->data.sequence.items.start; it < e->data.sequence.items.top;
			     it++) {
				__u32 code;

				if (h->ncodes == STATE_HC_CODES_MAX)
					return fail(c, node(c, *it), "expect: at most %u codes",
						    STATE_HC_CODES_MAX);
				err = v_u32(c, node(c, *it), "expect", 100, 599, &code);
				if (err)
					return err;
				h->codes[h->ncodes++] = (__u16)code;
			}
			if (!h->ncodes)
				return fail(c, e, "expect: expected at least one HTTP status code");
		} else {
			return fail(
				c, e,
				"expect: expected an HTTP status code or a list of them, found %s",
				kind_name(e));
		}
	}
	if (v[HC_BODY]) {
		err = v_string(c, v[HC_BODY], "body", h->body, sizeof(h->body));
		if (err)
			return err;
	}
	if (v[HC_INTERVAL]) {
		err = v_seconds(c, v[HC_INTERVAL], "interval", 100, 3600000, &h->interval_ms);
		if (err)
			return err;
	}
	if (v[HC_TIMEOUT]) {
		err = v_seconds(c, v[HC_TIMEOUT], "timeout", 100, 3600000, &h->timeout_ms);
		if (err)
			return err;
	}
	if (v[HC_RISE]) {
		err = v_u32(c, v[HC_RISE], "rise", 1, 100, &h->rise);
		if (err)
			return err;
	}
	if (v[HC_FALL]) {
		err = v_u32(c, v[HC_FALL], "fall", 1, 100, &h->fall);
		if (err)
			return err;
	}
	if (h->timeout_ms > h->interval_ms)
		return fail(c, v[HC_TIMEOUT] ? v[HC_TIMEOUT] : n,
			    "timeout: %u ms is longer than the interval %u ms", h->timeout_ms,
			    h->interval_ms);
	if (h->type == STATE_HC_TCP) {
		int i;

		for (i = HC_PATH; i <= HC_BODY; i++)
			if (v[i])
				return fail(c, k[i], "%s applies to http and https checks only",
					    hc_keys[i]);
	}
	return 0;
}

/* Daemon settings. */

enum { D_SOCKET, D_JOURNAL, D_METRICS, D_PIN_ROOT, D_HEALTH, D_N };
static const char *const d_keys[D_N] = { "socket", "journal", "metrics", "pin-root", "health" };

static int check_listen(const struct cfg *c, const yaml_node_t *n, const char *text)
{
	char host[ADDR_STRLEN + 2];
	const char *colon = strrchr(text, ':'), *a = host;
	union sluice_addr addr;
	size_t len;
	__u16 port;

	if (!colon)
		return fail(c, n, "metrics: expected ADDR:PORT (127.0.0.1:9469, [::1]:9469)");
	len = (size_t)(colon - text);
	if (len >= sizeof(host))
		return fail(c, n, "metrics: address too long");
	memcpy(host, text, len);
	host[len] = 0;
	if (host[0] == '[' && len > 2 && host[len - 1] == ']') {
		host[len - 1] = 0;
		a = host + 1;
	}
	if (addr_parse(a, &addr) || args_parse_port(colon + 1, &port))
		return value_fail(c, n, "metrics");
	return 0;
}

static int parse_daemon(struct cfg *c, yaml_node_t *n)
{
	struct state_daemon *d = &c->s->daemon;
	yaml_node_t *v[D_N], *k[D_N];
	int err;

	err = walk_map(c, n, "daemon", d_keys, D_N, v, k);
	if (!err && v[D_SOCKET])
		err = v_string(c, v[D_SOCKET], "socket", d->socket, sizeof(d->socket));
	if (!err && v[D_SOCKET] && d->socket[0] != '/')
		err = fail(c, v[D_SOCKET], "socket: expected an absolute path");
	if (!err && v[D_SOCKET] && strlen(d->socket) >= 108)
		err = fail(c, v[D_SOCKET], "socket: a Unix socket path has at most 107 characters");
	if (!err && v[D_JOURNAL])
		err = v_string(c, v[D_JOURNAL], "journal", d->journal, sizeof(d->journal));
	if (!err && v[D_JOURNAL] && d->journal[0] != '/')
		err = fail(c, v[D_JOURNAL], "journal: expected an absolute path");
	if (!err && v[D_METRICS])
		err = v_string(c, v[D_METRICS], "metrics", d->metrics, sizeof(d->metrics));
	if (!err && v[D_METRICS])
		err = check_listen(c, v[D_METRICS], d->metrics);
	if (!err && v[D_PIN_ROOT])
		err = v_string(c, v[D_PIN_ROOT], "pin-root", d->pin_root, sizeof(d->pin_root));
	if (!err && v[D_PIN_ROOT] && d->pin_root[0] != '/')
		err = fail(c, v[D_PIN_ROOT],
			   "pin-root: expected an absolute path (/sys/fs/bpf/sluice)");
	if (!err && v[D_HEALTH])
		err = parse_health(c, v[D_HEALTH], 0, 0, &d->health);
	return err;
}

/* Cluster. */

enum {
	C_NAME,
	C_ETCD,
	C_PREFIX,
	C_LEASE_TTL,
	C_TIMEOUT,
	C_TLS,
	C_USER,
	C_PASSWORD,
	C_SHARE,
	C_VIPS,
	C_N
};
static const char *const c_keys[C_N] = { "name", "etcd", "prefix",   "lease-ttl", "timeout",
					 "tls",	 "user", "password", "share",	  "vips" };

/* An interface name as the kernel takes it; what names the key in messages. */
static int check_ifname(const struct cfg *c, const yaml_node_t *n, const char *what, const char *t)
{
	if (!*t || strlen(t) >= IF_NAMESIZE || strpbrk(t, "/ \t:"))
		return fail(
			c, n,
			"%s: '%s' is not an interface name (1..%d characters, no '/', ':' or spaces)",
			what, t, IF_NAMESIZE - 1);
	return 0;
}

/* One etcd endpoint: http:// or https:// and a host. */
static int check_url(const struct cfg *c, const yaml_node_t *n, const char *t)
{
	const char *host;

	if (!strncmp(t, "http://", 7))
		host = t + 7;
	else if (!strncmp(t, "https://", 8))
		host = t + 8;
	else
		return fail(
			c, n,
			"etcd: '%s' is not an etcd endpoint: expected http://HOST:PORT or https://HOST:PORT",
			t);
	if (!*host || *host == '/' || *host == ':' || strpbrk(host, " \t"))
		return fail(c, n, "etcd: '%s' has no host: expected http://HOST:PORT", t);
	return 0;
}

static int parse_etcd(struct cfg *c, yaml_node_t *n, struct state_cluster *cl)
{
	yaml_node_item_t *it;
	yaml_node_t *one[1] = { n }, **items = one;
	size_t count = 1, i, j;
	int err;

	if (n->type == YAML_SEQUENCE_NODE) {
		count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
		if (!count)
			return fail(c, n,
				    "etcd: expected at least one endpoint (http://127.0.0.1:2379)");
		items = calloc(count, sizeof(*items));
		if (!items) {
			err_set("out of memory");
			return -ENOMEM;
		}
		for (it = n->data.sequence.items.start, i = 0; i < count; it++, i++)
			items[i] = node(c, *it);
	} else if (n->type != YAML_SCALAR_NODE) {
		return fail(c, n, "etcd: expected an endpoint URL or a list of them, found %s",
			    kind_name(n));
	}
	err = 0;
	for (i = 0; !err && i < count; i++) {
		if (i == STATE_CLUSTER_ETCD_MAX) {
			err = fail(c, items[i], "etcd: at most %d endpoints",
				   STATE_CLUSTER_ETCD_MAX);
			break;
		}
		err = v_string(c, items[i], "etcd", cl->etcd[i], sizeof(cl->etcd[i]));
		if (!err)
			err = check_url(c, items[i], cl->etcd[i]);
		for (j = 0; !err && j < i; j++)
			if (!strcmp(cl->etcd[j], cl->etcd[i]))
				err = fail(c, items[i], "etcd: duplicate endpoint '%s'",
					   cl->etcd[i]);
		if (!err)
			cl->netcd = i + 1;
	}
	if (items != one)
		free(items);
	return err;
}

static int parse_tls(struct cfg *c, yaml_node_t *n, struct state_cluster *cl)
{
	static const char *const keys[] = { "ca", "cert", "key" };
	char *dst[3] = { cl->cacert, cl->cert, cl->key };
	yaml_node_t *v[3], *k[3];
	int err, i;

	err = walk_map(c, n, "tls", keys, 3, v, k);
	for (i = 0; !err && i < 3; i++) {
		if (!v[i])
			continue;
		err = v_string(c, v[i], keys[i], dst[i], PATH_MAX);
		if (!err && !dst[i][0])
			err = fail(c, v[i], "%s: expected a file name", keys[i]);
	}
	if (!err && !v[1] != !v[2])
		err = fail(c, n, "tls: a client certificate needs both 'cert' and 'key'");
	if (!err && !v[0] && !v[1])
		err = fail(c, n, "tls: expected 'ca' and/or 'cert' with 'key'");
	return err;
}

/* A VIP: a unicast host address this gateway may hold, and its interface. */
static int parse_vip(struct cfg *c, yaml_node_t *e, struct state_cluster *cl)
{
	static const char *const keys[] = { "address", "interface" };
	static const union sluice_addr zero6 = { { 0 } };
	yaml_node_t *v[2], *k[2];
	struct state_vip *vip;
	char a[ADDR_STRLEN];
	const char *t;
	size_t i;
	int err;

	err = walk_map(c, e, "a vip", keys, 2, v, k);
	if (err)
		return err;
	if (!v[0] || !v[1])
		return fail(c, e, "a vip needs 'address' and 'interface'");
	if (cl->nvips == STATE_CLUSTER_VIPS_MAX)
		return fail(c, e, "vips: at most %d", STATE_CLUSTER_VIPS_MAX);
	vip = &cl->vips[cl->nvips];
	memset(vip, 0, sizeof(*vip));
	err = scalar(c, v[0], "address", "an IPv4 or IPv6 address", &t);
	if (!err && addr_parse(t, &vip->addr))
		err = value_fail(c, v[0], "address");
	if (err)
		return err;
	if (addr_is_v4mapped(&vip->addr)) {
		__u8 b0 = vip->addr.u8[12];

		if (!vip->addr.u32[3] || b0 >= 224 || b0 == 127)
			return fail(c, v[0],
				    "address: %s is not a unicast host address a gateway can hold",
				    t);
	} else if (!memcmp(&vip->addr, &zero6, sizeof(zero6)) || vip->addr.u8[0] == 0xff ||
		   (vip->addr.u8[0] == 0xfe && (vip->addr.u8[1] & 0xc0) == 0x80) ||
		   (!vip->addr.u32[0] && !vip->addr.u32[1] && !vip->addr.u32[2] &&
		    vip->addr.u32[3] == htonl(1))) {
		return fail(
			c, v[0],
			"address: %s is not a unicast global address a gateway can hold (no ::, ::1, multicast or link-local)",
			t);
	}
	err = scalar(c, v[1], "interface", "an interface name (eth0)", &t);
	if (!err)
		err = check_ifname(c, v[1], "interface", t);
	if (!err)
		snprintf(vip->iface, sizeof(vip->iface), "%s", t);
	if (err)
		return err;
	for (i = 0; i < cl->nvips; i++)
		if (!memcmp(&cl->vips[i].addr, &vip->addr, sizeof(vip->addr))) {
			if (addr_format(&vip->addr, a, sizeof(a)))
				snprintf(a, sizeof(a), "?");
			return fail(c, v[0], "duplicate vip %s", a);
		}
	cl->nvips++;
	return 0;
}

static int parse_cluster(struct cfg *c, yaml_node_t *n)
{
	struct state_cluster *cl = &c->s->cluster;
	yaml_node_t *v[C_N], *k[C_N];
	yaml_node_item_t *it;
	const char *p;
	int err;

	err = walk_map(c, n, "cluster", c_keys, C_N, v, k);
	if (err)
		return err;
	if (!v[C_ETCD])
		return fail(c, n, "cluster needs 'etcd: [http://HOST:PORT, ...]'");
	cl->enabled = 1;
	if (v[C_NAME]) {
		err = v_string(c, v[C_NAME], "name", cl->name, sizeof(cl->name));
		for (p = cl->name; !err && *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || strchr("._-", *p)))
				err = fail(
					c, v[C_NAME],
					"name: '%s' has a '%c': use letters, digits and . _ - only",
					cl->name, *p);
		if (err)
			return err;
	}
	err = parse_etcd(c, v[C_ETCD], cl);
	if (!err && v[C_PREFIX]) {
		err = v_string(c, v[C_PREFIX], "prefix", cl->prefix, sizeof(cl->prefix));
		if (!err &&
		    (cl->prefix[0] != '/' || !cl->prefix[1] ||
		     cl->prefix[strlen(cl->prefix) - 1] == '/' || strpbrk(cl->prefix, " \t")))
			err = fail(
				c, v[C_PREFIX],
				"prefix: expected a key prefix like /sluice (a leading '/', no trailing one)");
	}
	if (!err && v[C_LEASE_TTL])
		err = v_u32(c, v[C_LEASE_TTL], "lease-ttl", STATE_CLUSTER_LEASE_TTL_MIN,
			    STATE_CLUSTER_LEASE_TTL_MAX, &cl->lease_ttl_s);
	if (!err && v[C_TIMEOUT])
		err = v_seconds(c, v[C_TIMEOUT], "timeout", 100, 60000, &cl->timeout_ms);
	if (!err && v[C_TLS])
		err = parse_tls(c, v[C_TLS], cl);
	if (!err && v[C_USER])
		err = v_string(c, v[C_USER], "user", cl->user, sizeof(cl->user));
	if (!err && v[C_PASSWORD])
		err = v_string(c, v[C_PASSWORD], "password", cl->password, sizeof(cl->password));
	if (!err && !v[C_USER] != !v[C_PASSWORD])
		err = fail(c, v[C_USER] ? k[C_USER] : k[C_PASSWORD],
			   "user and password go together: give both (or neither)");
	if (!err && v[C_SHARE])
		err = v_onoff(c, v[C_SHARE], "share", &cl->share);
	if (err || !v[C_VIPS])
		return err;
	if (v[C_VIPS]->type != YAML_SEQUENCE_NODE)
		return fail(c, v[C_VIPS], "vips: expected a list of {address, interface}, found %s",
			    kind_name(v[C_VIPS]));
	for (it = v[C_VIPS]->data.sequence.items.start; it < v[C_VIPS]->data.sequence.items.top;
	     it++) {
		err = parse_vip(c, node(c, *it), cl);
		if (err)
			return err;
	}
	return 0;
}

/* Interfaces. */

static int parse_ifaces(struct cfg *c, yaml_node_t *n)
{
	static const char *const keys[] = { "name", "mode" };
	yaml_node_item_t *it;
	struct state_iface *f;
	size_t i;
	int err;

	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, n, "interfaces: expected a list of interfaces, found %s",
			    kind_name(n));
	c->s->has_ifaces = 1;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = node(c, *it), *v[2] = { NULL, NULL }, *k[2], *name = e;
		const char *t;

		if (e->type == YAML_MAPPING_NODE) {
			err = walk_map(c, e, "an interface", keys, 2, v, k);
			if (err)
				return err;
			if (!v[0])
				return fail(c, e, "an interface needs 'name'");
			name = v[0];
		}
		err = scalar(c, name, "name", "an interface name (eth0)", &t);
		if (err)
			return err;
		if (strlen(t) >= IF_NAMESIZE || strpbrk(t, "/ \t:"))
			return fail(
				c, name,
				"name: '%s' is not an interface name (at most %d characters, no '/', ':' or spaces)",
				t, IF_NAMESIZE - 1);
		for (i = 0; i < c->s->nifaces; i++)
			if (!strcmp(c->s->ifaces[i].name, t))
				return fail(c, name, "duplicate interface '%s'", t);
		f = state_add_iface(c->s);
		if (!f)
			return -ENOMEM;
		snprintf(f->name, sizeof(f->name), "%s", t);
		if (v[1]) {
			err = scalar(c, v[1], "mode", "native or skb", &t);
			if (err)
				return err;
			if (!strcmp(t, "skb"))
				f->skb = 1;
			else if (strcmp(t, "native"))
				return fail(c, v[1], "mode: expected native or skb, found '%s'", t);
		}
	}
	return 0;
}

/* Gateway and global bulkhead. */

enum { G_SRC4, G_SRC6, G_UDP, G_N };
static const char *const g_keys[G_N] = { "encap-source4", "encap-source6", "udp-timeout" };

static int parse_encap(const struct cfg *c, const yaml_node_t *n, const char *key, int v4,
		       union sluice_addr *a)
{
	const char *t;
	int err = scalar(c, n, key, v4 ? "an IPv4 address or none" : "an IPv6 address or none", &t);

	if (err)
		return err;
	memset(a, 0, sizeof(*a));
	if (!strcmp(t, "none"))
		return 0;
	if (addr_parse(t, a))
		return value_fail(c, n, key);
	if (addr_is_v4mapped(a) != v4)
		return fail(c, n, "%s: expected an %s address (or none), found '%s'", key,
			    v4 ? "IPv4" : "IPv6", t);
	return 0;
}

static int parse_gateway(struct cfg *c, yaml_node_t *n)
{
	yaml_node_t *v[G_N], *k[G_N];
	int err;

	err = walk_map(c, n, "gateway", g_keys, G_N, v, k);
	if (err)
		return err;
	c->s->has_gateway = 1;
	if (v[G_SRC4])
		err = parse_encap(c, v[G_SRC4], "encap-source4", 1, &c->s->encap_src4);
	if (!err && v[G_SRC6])
		err = parse_encap(c, v[G_SRC6], "encap-source6", 0, &c->s->encap_src6);
	if (!err && v[G_UDP])
		err = v_u32(c, v[G_UDP], "udp-timeout", 1, GATEWAY_UDP_TIMEOUT_MAX,
			    &c->s->udp_timeout_s);
	return err;
}

static int parse_bulkhead(struct cfg *c, yaml_node_t *n)
{
	static const char *const keys[] = { "max-conns", "tcp-idle" };
	yaml_node_t *v[2], *k[2];
	int err;

	err = walk_map(c, n, "bulkhead", keys, 2, v, k);
	if (err)
		return err;
	c->s->has_bulkhead = 1;
	if (v[0])
		err = v_count(c, v[0], "max-conns", RES_MAX_CONNS_MAX, &c->s->global_max_conns);
	if (!err && v[1])
		err = v_u32(c, v[1], "tcp-idle", 1, RES_TCP_IDLE_S_MAX, &c->s->tcp_idle_s);
	return err;
}

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
	S_SYN_TIMEOUT,
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
	[S_SYN_TIMEOUT] = "syn-timeout",
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
		return v_count(c, n, name, RES_MAX_CONNS_MAX, &r->max_conns);
	case S_RESERVED:
		r->has |= RES_HAS_RESERVED;
		return v_count(c, n, name, RES_MAX_CONNS_MAX, &r->reserved);
	case S_REFUSE:
		r->has |= RES_HAS_REFUSE;
		err = scalar(c, n, name, "rst or drop", &t);
		if (!err && (strcmp(t, "rst") && strcmp(t, "drop")))
			return fail(c, n, "refuse: expected rst or drop, found '%s'", t);
		if (!err && res_parse_refuse(t, &r->refuse))
			err = value_fail(c, n, name);
		return err;
	case S_GLOBAL_LIMIT:
		r->has |= RES_HAS_GLOBAL_LIMIT;
		return v_onoff(c, n, name, &r->global_limit);
	case S_ON_OPEN:
		r->has |= RES_HAS_ON_OPEN;
		err = scalar(c, n, name, "next, fallback or fail-fast", &t);
		if (!err && strcmp(t, "next") && strcmp(t, "fallback") && strcmp(t, "fail-fast"))
			return fail(c, n,
				    "on-open: expected next, fallback or fail-fast, found '%s'", t);
		if (!err && res_parse_on_open(t, &r->on_open))
			err = value_fail(c, n, name);
		return err;
	case S_BRK_FAILURES:
		r->has |= RES_HAS_BRK_FAILURES;
		return v_u32(c, n, name, 1, RES_COUNT_MAX, &r->brk_failures);
	case S_BRK_WINDOW:
		r->has |= RES_HAS_BRK_WINDOW;
		return v_seconds(c, n, name, RES_WINDOW_MS_MIN, RES_WINDOW_MS_MAX,
				 &r->brk_window_ms);
	case S_BRK_RATE:
		r->has |= RES_HAS_BRK_RATE;
		return v_u32(c, n, name, 1, 100, &r->brk_rate_pct);
	case S_BRK_MIN_CALLS:
		r->has |= RES_HAS_BRK_MIN_CALLS;
		return v_u32(c, n, name, 1, RES_COUNT_MAX, &r->brk_min_calls);
	case S_BRK_WAIT:
		r->has |= RES_HAS_BRK_WAIT;
		return v_seconds(c, n, name, RES_WAIT_MS_MIN, RES_WAIT_MS_MAX, &r->brk_wait_ms);
	case S_BRK_WAIT_MAX:
		r->has |= RES_HAS_BRK_WAIT_MAX;
		return v_seconds(c, n, name, RES_WAIT_MS_MIN, RES_WAIT_MS_MAX, &r->brk_wait_max_ms);
	case S_BRK_PROBES:
		r->has |= RES_HAS_BRK_PROBES;
		return v_u32(c, n, name, 1, RES_PROBES_MAX, &r->brk_probes);
	case S_BRK_SUCCESSES:
		r->has |= RES_HAS_BRK_SUCCESSES;
		return v_u32(c, n, name, 1, RES_PROBES_MAX, &r->brk_successes);
	case S_BRK_MAX_OPEN:
		r->has |= RES_HAS_BRK_MAX_OPEN;
		return v_u32(c, n, name, 1, 100, &r->brk_max_open_pct);
	default: /* S_SYN_TIMEOUT */
		r->has |= RES_HAS_SYN_TIMEOUT;
		return v_u32(c, n, name, RES_SYN_TIMEOUT_MS_MIN, RES_SYN_TIMEOUT_MS_MAX,
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
			return fail(
				c, n,
				"%s: %s port %u is not a backend of this service (list it under backends)",
				key, a, ref->port);
		return fail(c, n,
			    "%s: %s is not a backend of this service (list it under backends)", key,
			    a);
	}
	if (found > 1)
		return fail(
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

	err = v_list(c, n, key, "BACKEND_ADDR[:PORT]", text, sizeof(text));
	if (err)
		return err;
	if (shard_members_parse(text, refs, max, &cnt))
		return value_fail(c, n, key);
	for (i = 0; i < cnt; i++) {
		err = resolve_member(c, n, key, svc, &refs[i]);
		if (err)
			return err;
		for (j = 0; j < i; j++)
			if (!memcmp(&refs[j].addr, &refs[i].addr, sizeof(refs[i].addr)) &&
			    refs[j].port == refs[i].port)
				return fail(c, n, "%s: a backend is listed twice", key);
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
		err = walk_map(c, e, "a backend", b_keys, B_N, v, k);
		if (err)
			return err;
		if (!v[B_ADDRESS])
			return fail(c, e, "a backend needs 'address'");
		an = v[B_ADDRESS];
	}
	memset(&conf, 0, sizeof(conf));
	err = scalar(c, an, "address", "a backend address (or a mapping with address:)", &t);
	if (err)
		return err;
	if (addr_parse(t, &conf.addr))
		return value_fail(c, an, "address");
	if (v[B_PORT]) {
		err = scalar(c, v[B_PORT], "port", "a port", &t);
		if (!err && args_parse_port(t, &conf.port))
			err = value_fail(c, v[B_PORT], "port");
		if (err)
			return err;
		conf.has_port = 1;
	}
	conf.weight = 1;
	if (v[B_WEIGHT]) {
		err = v_u32(c, v[B_WEIGHT], "weight", 1, BACKEND_WEIGHT_MAX, &conf.weight);
		if (err)
			return err;
		conf.has_weight = 1;
	}
	memset(&sv, 0, sizeof(sv));
	sv.mode = svc->mode;
	if (backend_record_make(&svc->key, &sv, &conf, &rec))
		return fail(c, v[B_PORT] && strstr(err_msg(), "port") ? v[B_PORT] : an, "%s",
			    err_msg());
	b = state_add_backend(svc);
	if (!b)
		return -ENOMEM;
	b->addr = conf.addr;
	b->port = backend_port(&rec, &svc->key);
	b->weight = conf.weight;
	b->state = SLUICE_BE_ACTIVE;
	if (v[B_STATE]) {
		err = scalar(c, v[B_STATE], "state", "active or draining", &t);
		if (err)
			return err;
		if (!strcmp(t, "draining"))
			b->state = SLUICE_BE_DRAINING;
		else if (strcmp(t, "active"))
			return fail(c, v[B_STATE], "state: expected active or draining, found '%s'",
				    t);
	}
	if (state_find_backend(svc, &b->addr, b->port) != b) {
		svc->nbackends--;
		if (addr_format(&conf.addr, a, sizeof(a)))
			snprintf(a, sizeof(a), "?");
		return fail(c, an, "duplicate backend %s port %u in this service", a, b->port);
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

	err = walk_map(c, e, "a shard", sh_keys, SH_N, v, k);
	if (err)
		return err;
	if (!v[SH_PREFIX])
		return fail(c, e, "a shard needs 'prefix'");
	if (!v[SH_BACKEND] == !v[SH_SUBSET])
		return fail(
			c, e,
			"a shard needs exactly one of 'backend: ADDR[:PORT]' and 'subset: [MEMBER, ...]'");
	sh = state_add_shard(svc);
	if (!sh)
		return -ENOMEM;
	err = scalar(c, v[SH_PREFIX], "prefix", "a client prefix (10.1.0.0/16)", &t);
	if (!err && shard_prefix_parse(t, 0, &sh->key))
		err = value_fail(c, v[SH_PREFIX], "prefix");
	if (err)
		return err;
	for (i = 0; i + 1 < svc->nshards; i++)
		if (svc->shards[i].key.prefixlen == sh->key.prefixlen &&
		    !memcmp(&svc->shards[i].key.addr, &sh->key.addr, sizeof(sh->key.addr)))
			return fail(c, v[SH_PREFIX], "duplicate shard prefix '%s' in this service",
				    t);
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
		return fail(c, n, "%s: expected a list, found %s", key, kind_name(n));
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		err = fn(c, node(c, *it), svc);
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
		err = v_count(c, rn, key, SLUICE_RATE_MAX_PPS, pps);
		if (err)
			return err;
	}
	snprintf(key, sizeof(key), "%sburst", what);
	if (bn) {
		err = v_count(c, bn, key, SLUICE_RATE_MAX_PPS, burst);
		if (err)
			return err;
		if (!*burst)
			return fail(c, bn, "%s: 0 would admit nothing: give at least 1", key);
		if (!*pps)
			return fail(
				c, bn,
				"%s needs %srate (a burst has no meaning while the rate is unlimited)",
				key, what);
	}
	if (rate_make(*pps, *burst, &r))
		return value_fail(c, bn ? bn : rn, key);
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
		err = scalar(c, v[S_ROUTE], "route", "maglev or leader", &t);
		if (!err && svc_parse_route(t, &svc->route_leader))
			err = value_fail(c, v[S_ROUTE], "route");
		if (err)
			return err;
		if (svc->route_leader && !is_steering_mode(svc->mode))
			return fail(
				c, k[S_ROUTE],
				"route leader applies to services in mode nat or ipip (this one is %s)",
				args_mode_name(svc->mode));
	}
	if (v[S_WRITE_PORT]) {
		err = scalar(c, v[S_WRITE_PORT], "write-port", "a port 1..65535 or none", &t);
		if (!err && strcmp(t, "none") && args_parse_port(t, &svc->write_port))
			err = value_fail(c, v[S_WRITE_PORT], "write-port");
		if (err)
			return err;
		if (svc_write_check(&svc->key, svc->mode, svc->route_leader, svc->write_port))
			return value_fail(c, v[S_WRITE_PORT], "write-port");
	}
	for (i = 0; i + 1 < c->s->nservices; i++) {
		const struct state_service *o = &c->s->services[i];

		if (!same_host(&o->key, &svc->key))
			continue;
		svc_key_format(&o->key, ob, sizeof(ob));
		if (svc->write_port && ntohs(o->key.port) == svc->write_port)
			return fail(
				c, v[S_WRITE_PORT],
				"write-port: port %u is the service %s listed above: give another port",
				svc->write_port, ob);
		if (svc->write_port && o->write_port == svc->write_port)
			return fail(c, v[S_WRITE_PORT],
				    "write-port: port %u is already the write port of service %s",
				    svc->write_port, ob);
		if (o->write_port && o->write_port == ntohs(svc->key.port)) {
			svc_key_format(&svc->key, kb, sizeof(kb));
			return fail(c, e, "service %s is the write port of service %s listed above",
				    kb, ob);
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
			return fail(
				c, n,
				"election: '%s' has a '%c': use letters, digits and . _ - / only",
				name, *p);
	if (!*name || name[0] == '/')
		return fail(c, n, "election: expected a name like pg-main (not starting with /)");
	return 0;
}

/* The leader: section of svc: exactly one of election and role. */
static int parse_leader(struct cfg *c, yaml_node_t *n, yaml_node_t *key, struct state_service *svc)
{
	static const char *const keys[] = { "election", "role" };
	yaml_node_t *v[2], *k[2];
	int err;

	if (!svc->write_port && !svc->route_leader)
		return fail(
			c, key,
			"leader applies to services that follow a leader: give write-port or route: leader");
	err = walk_map(c, n, "leader", keys, 2, v, k);
	if (err)
		return err;
	if (!v[0] == !v[1])
		return fail(
			c, n,
			"leader needs exactly one of 'election: NAME' and 'role: {type: http, ...}'");
	if (v[0]) {
		err = v_string(c, v[0], "election", svc->election, sizeof(svc->election));
		return err ? err : check_election(c, v[0], svc->election);
	}
	state_role_defaults(&svc->role);
	return parse_health(c, v[1], 1, 1, &svc->role);
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

	err = walk_map(c, e, "a service", s_keys, S_N, v, k);
	if (err)
		return err;
	if (!v[S_ADDRESS])
		return fail(c, e, "a service needs 'address' (and 'port')");
	if (!v[S_PORT])
		return fail(c, e, "a service needs 'port' (1..65535)");
	err = scalar(c, v[S_ADDRESS], "address", "a service address", &t);
	if (!err && addr_parse(t, &addr))
		err = value_fail(c, v[S_ADDRESS], "address");
	if (!err)
		err = scalar(c, v[S_PORT], "port", "a port 1..65535", &t);
	if (!err && args_parse_port(t, &port))
		err = value_fail(c, v[S_PORT], "port");
	if (!err && v[S_PROTOCOL]) {
		err = scalar(c, v[S_PROTOCOL], "protocol", "tcp or udp", &t);
		if (!err && args_parse_proto(t, &proto))
			err = value_fail(c, v[S_PROTOCOL], "protocol");
	}
	if (!err && v[S_MODE]) {
		err = scalar(c, v[S_MODE], "mode", "local, nat or ipip", &t);
		if (!err && args_parse_mode(t, &mode))
			err = value_fail(c, v[S_MODE], "mode");
	}
	if (err)
		return err;
	svc = state_add_service(c->s);
	if (!svc)
		return -ENOMEM;
	state_service_defaults(svc, mode);
	svc->health.type = STATE_HC_NONE;
	if (svc_key_make(&addr, port, proto, &svc->key))
		return value_fail(c, v[S_PORT], "port");
	other = state_find_service(c->s, &svc->key);
	if (other != svc) {
		svc_key_format(&svc->key, kb, sizeof(kb));
		return fail(c, e, "duplicate service %s (each address, port and protocol once)",
			    kb);
	}
	if (v[S_HASH]) {
		err = scalar(c, v[S_HASH], "hash", "5tuple or client", &t);
		if (!err && args_parse_hash(t, &svc->hash))
			err = value_fail(c, v[S_HASH], "hash");
		if (err)
			return err;
	}
	if (v[S_MAGLEV_SIZE]) {
		if (mode == SLUICE_MODE_LOCAL)
			return fail(
				c, k[S_MAGLEV_SIZE],
				"maglev-size applies to services in mode nat or ipip (this one is local)");
		err = v_u32(c, v[S_MAGLEV_SIZE], "maglev-size", 2, SLUICE_MAGLEV_M_MAX,
			    &svc->maglev_size);
		if (err)
			return err;
		if (!maglev_is_prime(svc->maglev_size))
			return fail(c, v[S_MAGLEV_SIZE],
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
	/* Bulkhead and breaker: each key, then the whole as res.c checks it. */
	memset(&rc, 0, sizeof(rc));
	for (i = S_MAX_CONNS; i <= S_SYN_TIMEOUT; i++) {
		if (!v[i] || i == S_CRITICAL || i == S_FALLBACK)
			continue;
		err = parse_res_key(c, i, v[i], &rc);
		if (err)
			return err;
	}
	if (res_value_make(&rc, NULL, &res))
		return fail(c, e, "%s", err_msg());
	svc->res = res;
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
#undef DEF
	}
	if (v[S_CRITICAL]) {
		err = v_list(c, v[S_CRITICAL], "critical", "a client prefix", text, sizeof(text));
		if (err)
			return err;
		if (res_critical_parse(text, 0, svc->critical, &n))
			return value_fail(c, v[S_CRITICAL], "critical");
		svc->ncritical = n;
	}
	if (v[S_HEALTH]) {
		svc->health = c->s->daemon.health;
		err = parse_health(c, v[S_HEALTH], 1, 0, &svc->health);
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
			return fail(
				c, k[S_SHARDS],
				"shards apply to services in mode nat or ipip (this one is local)");
		err = parse_seq(c, v[S_SHARDS], "shards", svc, parse_shard);
		if (err)
			return err;
	}
	if (v[S_FALLBACK]) {
		err = scalar(c, v[S_FALLBACK], "fallback", "BACKEND_ADDR[:PORT] or none", &t);
		if (err)
			return err;
		if (strcmp(t, "none")) {
			__u32 cnt;

			if (mode == SLUICE_MODE_LOCAL)
				return fail(
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

static int parse_services(struct cfg *c, yaml_node_t *n)
{
	yaml_node_item_t *it;
	int err;

	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, n,
			    "services: expected a list of services (- address: ...), found %s",
			    kind_name(n));
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		err = parse_service(c, node(c, *it));
		if (err)
			return err;
	}
	return 0;
}

enum { T_DAEMON, T_CLUSTER, T_INTERFACES, T_GATEWAY, T_BULKHEAD, T_SERVICES, T_N };
static const char *const t_keys[T_N] = { "daemon",  "cluster",	"interfaces",
					 "gateway", "bulkhead", "services" };

static int parse_root(struct cfg *c, yaml_node_t *root)
{
	yaml_node_t *v[T_N], *k[T_N];
	int err;

	err = walk_map(c, root, "the file", t_keys, T_N, v, k);
	/* daemon first: its health defaults apply to the services'. */
	if (!err && v[T_DAEMON])
		err = parse_daemon(c, v[T_DAEMON]);
	if (!err && v[T_CLUSTER])
		err = parse_cluster(c, v[T_CLUSTER]);
	if (!err && v[T_INTERFACES])
		err = parse_ifaces(c, v[T_INTERFACES]);
	if (!err && v[T_GATEWAY])
		err = parse_gateway(c, v[T_GATEWAY]);
	if (!err && v[T_BULKHEAD])
		err = parse_bulkhead(c, v[T_BULKHEAD]);
	if (!err && v[T_SERVICES])
		err = parse_services(c, v[T_SERVICES]);
	return err;
}

static int yaml_fail(const char *file, const yaml_parser_t *p)
{
	const yaml_mark_t *m = &p->problem_mark;

	if (p->error == YAML_MEMORY_ERROR) {
		err_set("%s: out of memory", file);
		return -ENOMEM;
	}
	if (p->context)
		err_set("%s:%zu:%zu: invalid YAML: %s (%s at line %zu)", file, m->line + 1,
			m->column + 1, p->problem ? p->problem : "syntax error", p->context,
			p->context_mark.line + 1);
	else
		err_set("%s:%zu:%zu: invalid YAML: %s", file, m->line + 1, m->column + 1,
			p->problem ? p->problem : "syntax error");
	return -EINVAL;
}

int config_load_string(const char *name, const char *text, size_t len, struct state *s)
{
	yaml_parser_t parser;
	yaml_node_t *root;
	struct cfg c;
	int err = 0, loaded = 0;

	state_init(s);
	memset(&c, 0, sizeof(c));
	c.file = name;
	c.s = s;
	if (!yaml_parser_initialize(&parser)) {
		err_set("%s: out of memory", name);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &c.doc)) {
		err = yaml_fail(name, &parser);
		goto out;
	}
	loaded = 1;
	root = yaml_document_get_root_node(&c.doc);
	if (root) {
		yaml_document_t next;

		/* One document only: a second would be silently ignored. */
		if (!yaml_parser_load(&parser, &next)) {
			err = yaml_fail(name, &parser);
			goto out;
		}
		if (yaml_document_get_root_node(&next)) {
			yaml_node_t *r2 = yaml_document_get_root_node(&next);

			err_set("%s:%zu:%zu: a second YAML document: put everything in one", name,
				r2->start_mark.line + 1, r2->start_mark.column + 1);
			yaml_document_delete(&next);
			err = -EINVAL;
			goto out;
		}
		yaml_document_delete(&next);
		err = parse_root(&c, root);
	}
	if (!err)
		state_sort(s);
out:
	if (loaded)
		yaml_document_delete(&c.doc);
	yaml_parser_delete(&parser);
	if (err)
		state_free(s);
	return err;
}

int config_load(const char *path, struct state *s)
{
	char *text = NULL;
	size_t len = 0, cap = 0, got;
	FILE *f;
	int err;

	state_init(s);
	f = fopen(path, "r");
	if (!f) {
		err = -errno;
		err_set("%s: cannot open: %s", path, strerror(-err));
		return err;
	}
	do {
		if (len + 4096 > cap) {
			char *p = realloc(text, cap + 65536);

			if (!p) {
				free(text);
				fclose(f);
				err_set("%s: out of memory", path);
				return -ENOMEM;
			}
			text = p;
			cap += 65536;
		}
		got = fread(text + len, 1, cap - len, f);
		len += got;
	} while (got);
	if (ferror(f)) {
		err = -EIO;
		err_set("%s: cannot read: %s", path, strerror(EIO));
		free(text);
		fclose(f);
		return err;
	}
	fclose(f);
	err = config_load_string(path, text ? text : "", len, s);
	free(text);
	return err;
}

/* Dumping. */

/* A double-quoted YAML string. */
static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
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
	char p[SHARD_PREFIX_STRLEN];
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
#undef U32
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

int config_dump(FILE *f, const struct state *s)
{
	struct state def;
	size_t i;

	state_init(&def);
	fprintf(f, "# Sluice configuration (sluice config dump); see tools/sluiced.example.yaml\n");
	if (strcmp(s->daemon.socket, def.daemon.socket) ||
	    strcmp(s->daemon.journal, def.daemon.journal) ||
	    strcmp(s->daemon.metrics, def.daemon.metrics) || s->daemon.pin_root[0] ||
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
		if (memcmp(&s->daemon.health, &def.daemon.health, sizeof(def.daemon.health))) {
			fprintf(f, "  health:\n");
			put_health(f, "    ", &s->daemon.health, &def.daemon.health);
		}
	}
	if (s->cluster.enabled)
		dump_cluster(f, &s->cluster, &def.cluster);
	if (s->has_ifaces) {
		fprintf(f, "interfaces:%s\n", s->nifaces ? "" : " []");
		for (i = 0; i < s->nifaces; i++)
			fprintf(f, "  - name: %s\n    mode: %s\n", s->ifaces[i].name,
				s->ifaces[i].skb ? "skb" : "native");
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
	return ferror(f) ? -EIO : 0;
}

int config_plan(const char *path, const char *pin_root, state_emit_fn emit, void *ctx,
		struct state *to)
{
	struct state want, have;
	struct sluice_maps m;
	int err;

	maps_init(&m);
	state_init(&have);
	err = config_load(path, &want);
	if (err)
		return err;
	err = maps_open(&m, maps_pin_root(pin_root));
	if (err == -ENOENT) {
		err = state_to_commands(&want, emit, ctx);
		goto out;
	}
	if (!err)
		err = state_read_maps(&m, &have);
	if (!err)
		err = state_diff(&have, &want, emit, ctx);
out:
	maps_close(&m);
	state_free(&have);
	if (to && !err)
		*to = want;
	else
		state_free(&want);
	return err;
}
