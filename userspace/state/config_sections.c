// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The configuration's sections (config_int.h): health checks, daemon,
 * cluster, interfaces, gateway and bulkhead, hosts, and the root that calls them
 * (services: config_service.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "addr.h"
#include "args.h"
#include "config_int.h"
#include "err.h"
#include "gateway.h"

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
int config_parse_health(struct cfg *c, yaml_node_t *n, int need_type, int role,
			struct state_health *h)
{
	yaml_node_t *v[HC_N], *k[HC_N];
	const char *t;
	int err;

	if (role) {
		err = config_walk_map(c, n, "a role check", hc_keys, HC_RISE, v, k);
		v[HC_RISE] = v[HC_FALL] = k[HC_RISE] = k[HC_FALL] = NULL;
	} else {
		err = config_walk_map(c, n, "a health check", hc_keys, HC_N, v, k);
	}
	if (err)
		return err;
	if (v[HC_TYPE]) {
		err = config_scalar(c, v[HC_TYPE], "type",
				    role ? "http or https" : "tcp, http or https", &t);
		if (err)
			return err;
		if (!strcmp(t, "tcp") && role)
			return config_fail(
				c, v[HC_TYPE],
				"type: a role check asks an HTTP endpoint: expected http or https, found 'tcp'");
		if (!strcmp(t, "tcp"))
			h->type = STATE_HC_TCP;
		else if (!strcmp(t, "http"))
			h->type = STATE_HC_HTTP;
		else if (!strcmp(t, "https"))
			h->type = STATE_HC_HTTPS;
		else
			return config_fail(c, v[HC_TYPE],
					   "type: expected tcp, http or https, found '%s'", t);
	} else if (need_type) {
		return config_fail(c, n,
				   role ? "a role check needs 'type: http|https'"
					: "a health check needs 'type: tcp|http|https'");
	}
	if (v[HC_PORT]) {
		err = config_scalar(c, v[HC_PORT], "port", "a port", &t);
		if (!err && args_parse_port(t, &h->port))
			err = config_value_fail(c, v[HC_PORT], "port");
		if (err)
			return err;
	}
	if (v[HC_PATH]) {
		err = config_v_string(c, v[HC_PATH], "path", h->path, sizeof(h->path));
		if (err)
			return err;
		if (h->path[0] != '/')
			return config_fail(c, v[HC_PATH],
					   "path: expected an absolute path (/healthz)");
	}
	if (v[HC_EXPECT]) {
		yaml_node_t *e = v[HC_EXPECT];
		yaml_node_item_t *it;

		h->ncodes = 0;
		if (e->type == YAML_SCALAR_NODE) {
			__u32 code;

			err = config_v_u32(c, e, "expect", 100, 599, &code);
			if (err)
				return err;
			h->codes[h->ncodes++] = (__u16)code;
		} else if (e->type == YAML_SEQUENCE_NODE) {
			for (it = e->data.sequence.items.start; it < e->data.sequence.items.top;
			     it++) {
				__u32 code;

				if (h->ncodes == STATE_HC_CODES_MAX)
					return config_fail(c, config_node(c, *it),
							   "expect: at most %u codes",
							   STATE_HC_CODES_MAX);
				err = config_v_u32(c, config_node(c, *it), "expect", 100, 599,
						   &code);
				if (err)
					return err;
				h->codes[h->ncodes++] = (__u16)code;
			}
			if (!h->ncodes)
				return config_fail(
					c, e, "expect: expected at least one HTTP status code");
		} else {
			return config_fail(
				c, e,
				"expect: expected an HTTP status code or a list of them, found %s",
				config_kind_name(e));
		}
	}
	if (v[HC_BODY]) {
		err = config_v_string(c, v[HC_BODY], "body", h->body, sizeof(h->body));
		if (err)
			return err;
	}
	if (v[HC_INTERVAL]) {
		err = config_v_seconds(c, v[HC_INTERVAL], "interval", 100, 3600000,
				       &h->interval_ms);
		if (err)
			return err;
	}
	if (v[HC_TIMEOUT]) {
		err = config_v_seconds(c, v[HC_TIMEOUT], "timeout", 100, 3600000, &h->timeout_ms);
		if (err)
			return err;
	}
	if (v[HC_RISE]) {
		err = config_v_u32(c, v[HC_RISE], "rise", 1, 100, &h->rise);
		if (err)
			return err;
	}
	if (v[HC_FALL]) {
		err = config_v_u32(c, v[HC_FALL], "fall", 1, 100, &h->fall);
		if (err)
			return err;
	}
	if (h->timeout_ms > h->interval_ms)
		return config_fail(c, v[HC_TIMEOUT] ? v[HC_TIMEOUT] : n,
				   "timeout: %u ms is longer than the interval %u ms",
				   h->timeout_ms, h->interval_ms);
	if (h->type == STATE_HC_TCP) {
		int i;

		for (i = HC_PATH; i <= HC_BODY; i++)
			if (v[i])
				return config_fail(c, k[i],
						   "%s applies to http and https checks only",
						   hc_keys[i]);
	}
	return 0;
}

/* Daemon settings. */

enum { D_SOCKET, D_JOURNAL, D_METRICS, D_PIN_ROOT, D_HEALTH, D_ADMIN_GROUP, D_N };
static const char *const d_keys[D_N] = { "socket",   "journal", "metrics",
					 "pin-root", "health",	"admin-group" };

/* A group name (as useradd accepts: [a-z_][a-z0-9_-]*[$], at most 32) or a gid. */
static int check_group(const struct cfg *c, const yaml_node_t *n, const char *g)
{
	size_t i, len = strlen(g);
	int digits = len > 0;

	for (i = 0; i < len; i++)
		digits &= g[i] >= '0' && g[i] <= '9';
	if (digits)
		return 0;
	if (!len || len > 32 || !(g[0] == '_' || (g[0] >= 'a' && g[0] <= 'z')))
		goto bad;
	for (i = 1; i < len; i++) {
		char ch = g[i];

		if (!(ch == '_' || ch == '-' || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || (ch == '$' && i == len - 1)))
			goto bad;
	}
	return 0;
bad:
	return config_fail(c, n, "admin-group: expected a group name (sluice-admin) or a gid");
}

static int check_listen(const struct cfg *c, const yaml_node_t *n, const char *text)
{
	char host[ADDR_STRLEN + 2];
	const char *colon = strrchr(text, ':'), *a = host;
	union sluice_addr addr;
	size_t len;
	__u16 port;

	if (!colon)
		return config_fail(c, n,
				   "metrics: expected ADDR:PORT (127.0.0.1:9469, [::1]:9469)");
	len = (size_t)(colon - text);
	if (len >= sizeof(host))
		return config_fail(c, n, "metrics: address too long");
	memcpy(host, text, len);
	host[len] = 0;
	if (host[0] == '[' && len > 2 && host[len - 1] == ']') {
		host[len - 1] = 0;
		a = host + 1;
	}
	if (addr_parse(a, &addr) || args_parse_port(colon + 1, &port))
		return config_value_fail(c, n, "metrics");
	return 0;
}

static int parse_daemon(struct cfg *c, yaml_node_t *n)
{
	struct state_daemon *d = &c->s->daemon;
	yaml_node_t *v[D_N], *k[D_N];
	int err;

	err = config_walk_map(c, n, "daemon", d_keys, D_N, v, k);
	if (!err && v[D_SOCKET])
		err = config_v_string(c, v[D_SOCKET], "socket", d->socket, sizeof(d->socket));
	if (!err && v[D_SOCKET] && d->socket[0] != '/')
		err = config_fail(c, v[D_SOCKET], "socket: expected an absolute path");
	if (!err && v[D_SOCKET] && strlen(d->socket) >= 108)
		err = config_fail(c, v[D_SOCKET],
				  "socket: a Unix socket path has at most 107 characters");
	if (!err && v[D_JOURNAL])
		err = config_v_string(c, v[D_JOURNAL], "journal", d->journal, sizeof(d->journal));
	if (!err && v[D_JOURNAL] && d->journal[0] != '/')
		err = config_fail(c, v[D_JOURNAL], "journal: expected an absolute path");
	if (!err && v[D_METRICS])
		err = config_v_string(c, v[D_METRICS], "metrics", d->metrics, sizeof(d->metrics));
	if (!err && v[D_METRICS])
		err = check_listen(c, v[D_METRICS], d->metrics);
	if (!err && v[D_PIN_ROOT])
		err = config_v_string(c, v[D_PIN_ROOT], "pin-root", d->pin_root,
				      sizeof(d->pin_root));
	if (!err && v[D_PIN_ROOT] && d->pin_root[0] != '/')
		err = config_fail(c, v[D_PIN_ROOT],
				  "pin-root: expected an absolute path (/sys/fs/bpf/sluice)");
	if (!err && v[D_HEALTH])
		err = config_parse_health(c, v[D_HEALTH], 0, 0, &d->health);
	if (!err && v[D_ADMIN_GROUP])
		err = config_v_string(c, v[D_ADMIN_GROUP], "admin-group", d->admin_group,
				      sizeof(d->admin_group));
	if (!err && v[D_ADMIN_GROUP])
		err = check_group(c, v[D_ADMIN_GROUP], d->admin_group);
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
	const char *p;

	for (p = t; *p; p++) /* no '/', ':', blank or control character */
		if (*p == '/' || *p == ':' || *(const unsigned char *)p <= ' ' || *p == 0x7f)
			break;
	if (!*t || strlen(t) >= IF_NAMESIZE || *p)
		return config_fail(
			c, n,
			"%s: '%s' is not an interface name (1..%d characters, no '/', ':', spaces or control characters)",
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
		return config_fail(
			c, n,
			"etcd: '%s' is not an etcd endpoint: expected http://HOST:PORT or https://HOST:PORT",
			t);
	if (!*host || *host == '/' || *host == ':' || strpbrk(host, " \t"))
		return config_fail(c, n, "etcd: '%s' has no host: expected http://HOST:PORT", t);
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
			return config_fail(
				c, n,
				"etcd: expected at least one endpoint (http://127.0.0.1:2379)");
		items = calloc(count, sizeof(*items));
		if (!items) {
			err_set("out of memory");
			return -ENOMEM;
		}
		for (it = n->data.sequence.items.start, i = 0; i < count; it++, i++)
			items[i] = config_node(c, *it);
	} else if (n->type != YAML_SCALAR_NODE) {
		return config_fail(c, n,
				   "etcd: expected an endpoint URL or a list of them, found %s",
				   config_kind_name(n));
	}
	err = 0;
	for (i = 0; !err && i < count; i++) {
		if (i == STATE_CLUSTER_ETCD_MAX) {
			err = config_fail(c, items[i], "etcd: at most %d endpoints",
					  STATE_CLUSTER_ETCD_MAX);
			break;
		}
		err = config_v_string(c, items[i], "etcd", cl->etcd[i], sizeof(cl->etcd[i]));
		if (!err)
			err = check_url(c, items[i], cl->etcd[i]);
		for (j = 0; !err && j < i; j++)
			if (!strcmp(cl->etcd[j], cl->etcd[i]))
				err = config_fail(c, items[i], "etcd: duplicate endpoint '%s'",
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

	err = config_walk_map(c, n, "tls", keys, 3, v, k);
	for (i = 0; !err && i < 3; i++) {
		if (!v[i])
			continue;
		err = config_v_string(c, v[i], keys[i], dst[i], PATH_MAX);
		if (!err && !dst[i][0])
			err = config_fail(c, v[i], "%s: expected a file name", keys[i]);
	}
	if (!err && !v[1] != !v[2])
		err = config_fail(c, n, "tls: a client certificate needs both 'cert' and 'key'");
	if (!err && !v[0] && !v[1])
		err = config_fail(c, n, "tls: expected 'ca' and/or 'cert' with 'key'");
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

	err = config_walk_map(c, e, "a vip", keys, 2, v, k);
	if (err)
		return err;
	if (!v[0] || !v[1])
		return config_fail(c, e, "a vip needs 'address' and 'interface'");
	if (cl->nvips == STATE_CLUSTER_VIPS_MAX)
		return config_fail(c, e, "vips: at most %d", STATE_CLUSTER_VIPS_MAX);
	vip = &cl->vips[cl->nvips];
	memset(vip, 0, sizeof(*vip));
	err = config_scalar(c, v[0], "address", "an IPv4 or IPv6 address", &t);
	if (!err && addr_parse(t, &vip->addr))
		err = config_value_fail(c, v[0], "address");
	if (err)
		return err;
	if (addr_is_v4mapped(&vip->addr)) {
		__u8 b0 = vip->addr.u8[12];

		if (!vip->addr.u32[3] || b0 >= 224 || b0 == 127)
			return config_fail(
				c, v[0],
				"address: %s is not a unicast host address a gateway can hold", t);
	} else if (!memcmp(&vip->addr, &zero6, sizeof(zero6)) || vip->addr.u8[0] == 0xff ||
		   (vip->addr.u8[0] == 0xfe && (vip->addr.u8[1] & 0xc0) == 0x80) ||
		   (!vip->addr.u32[0] && !vip->addr.u32[1] && !vip->addr.u32[2] &&
		    vip->addr.u32[3] == htonl(1))) {
		return config_fail(
			c, v[0],
			"address: %s is not a unicast global address a gateway can hold (no ::, ::1, multicast or link-local)",
			t);
	}
	err = config_scalar(c, v[1], "interface", "an interface name (eth0)", &t);
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
			return config_fail(c, v[0], "duplicate vip %s", a);
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

	err = config_walk_map(c, n, "cluster", c_keys, C_N, v, k);
	if (err)
		return err;
	if (!v[C_ETCD])
		return config_fail(c, n, "cluster needs 'etcd: [http://HOST:PORT, ...]'");
	cl->enabled = 1;
	if (v[C_NAME]) {
		err = config_v_string(c, v[C_NAME], "name", cl->name, sizeof(cl->name));
		for (p = cl->name; !err && *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || strchr("._-", *p)))
				err = config_fail(
					c, v[C_NAME],
					"name: '%s' has a '%c': use letters, digits and . _ - only",
					cl->name, *p);
		if (err)
			return err;
	}
	err = parse_etcd(c, v[C_ETCD], cl);
	if (!err && v[C_PREFIX]) {
		err = config_v_string(c, v[C_PREFIX], "prefix", cl->prefix, sizeof(cl->prefix));
		if (!err &&
		    (cl->prefix[0] != '/' || !cl->prefix[1] ||
		     cl->prefix[strlen(cl->prefix) - 1] == '/' || strpbrk(cl->prefix, " \t")))
			err = config_fail(
				c, v[C_PREFIX],
				"prefix: expected a key prefix like /sluice (a leading '/', no trailing one)");
	}
	if (!err && v[C_LEASE_TTL])
		err = config_v_u32(c, v[C_LEASE_TTL], "lease-ttl", STATE_CLUSTER_LEASE_TTL_MIN,
				   STATE_CLUSTER_LEASE_TTL_MAX, &cl->lease_ttl_s);
	if (!err && v[C_TIMEOUT])
		err = config_v_seconds(c, v[C_TIMEOUT], "timeout", 100, 60000, &cl->timeout_ms);
	if (!err && v[C_TLS])
		err = parse_tls(c, v[C_TLS], cl);
	if (!err && v[C_USER])
		err = config_v_string(c, v[C_USER], "user", cl->user, sizeof(cl->user));
	if (!err && v[C_PASSWORD])
		err = config_v_string(c, v[C_PASSWORD], "password", cl->password,
				      sizeof(cl->password));
	if (!err && !v[C_USER] != !v[C_PASSWORD])
		err = config_fail(c, v[C_USER] ? k[C_USER] : k[C_PASSWORD],
				  "user and password go together: give both (or neither)");
	if (!err && v[C_SHARE])
		err = config_v_onoff(c, v[C_SHARE], "share", &cl->share);
	if (err || !v[C_VIPS])
		return err;
	if (v[C_VIPS]->type != YAML_SEQUENCE_NODE)
		return config_fail(c, v[C_VIPS],
				   "vips: expected a list of {address, interface}, found %s",
				   config_kind_name(v[C_VIPS]));
	for (it = v[C_VIPS]->data.sequence.items.start; it < v[C_VIPS]->data.sequence.items.top;
	     it++) {
		err = parse_vip(c, config_node(c, *it), cl);
		if (err)
			return err;
	}
	return 0;
}

/* Interfaces. */

static int parse_ifaces(struct cfg *c, yaml_node_t *n)
{
	static const char *const keys[] = { "name", "mode", "hook" };
	yaml_node_item_t *it;
	struct state_iface *f;
	size_t i;
	int err;

	if (n->type != YAML_SEQUENCE_NODE)
		return config_fail(c, n, "interfaces: expected a list of interfaces, found %s",
				   config_kind_name(n));
	c->s->has_ifaces = 1;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = config_node(c, *it), *v[3] = { NULL, NULL, NULL }, *k[3],
			    *name = e;
		const char *t;

		if (e->type == YAML_MAPPING_NODE) {
			err = config_walk_map(c, e, "an interface", keys, 3, v, k);
			if (err)
				return err;
			if (!v[0])
				return config_fail(c, e, "an interface needs 'name'");
			name = v[0];
		}
		err = config_scalar(c, name, "name", "an interface name (eth0)", &t);
		if (!err) /* also an empty one: a block scalar ("name: |") is no plain empty */
			err = check_ifname(c, name, "name", t);
		if (err)
			return err;
		for (i = 0; i < c->s->nifaces; i++)
			if (!strcmp(c->s->ifaces[i].name, t))
				return config_fail(c, name, "duplicate interface '%s'", t);
		f = state_add_iface(c->s);
		if (!f)
			return -ENOMEM;
		snprintf(f->name, sizeof(f->name), "%s", t);
		if (v[1]) {
			err = config_scalar(c, v[1], "mode", "native or skb", &t);
			if (err)
				return err;
			if (!strcmp(t, "skb"))
				f->skb = 1;
			else if (strcmp(t, "native"))
				return config_fail(c, v[1],
						   "mode: expected native or skb, found '%s'", t);
		}
		if (v[2]) {
			enum loader_hook hook;

			err = config_scalar(c, v[2], "hook", "xdp, tc or tc-egress", &t);
			if (err)
				return err;
			if (cmd_parse_hook(t, &hook))
				return config_fail(
					c, v[2], "hook: expected xdp, tc or tc-egress, found '%s'",
					t);
			f->hook = (int)hook;
			if (hook != LOADER_HOOK_XDP && v[1])
				return config_fail(c, v[1], "mode is XDP's; hook %s has none", t);
		}
	}
	return 0;
}

/* Hosts: the cgroups the host side balances, each with its services (or all). */

static int parse_host_services(struct cfg *c, yaml_node_t *n, struct state_host *h)
{
	yaml_node_item_t *it;
	char buf[128], *argv[4], *save = NULL, *w;
	const char *t;
	int argc, err;
	size_t j;

	if (n->type != YAML_SEQUENCE_NODE)
		return config_fail(c, n, "services: expected a list of 'ADDR PORT PROTO', found %s",
				   config_kind_name(n));
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = config_node(c, *it);
		struct sluice_svc_key k;

		err = config_scalar(c, e, "services", "ADDR PORT PROTO (198.19.0.1 80 tcp)", &t);
		if (err)
			return err;
		snprintf(buf, sizeof(buf), "%s", t);
		/* Up to four words: a fourth one is an error. */
		argc = 0;
		for (w = strtok_r(buf, " \t", &save); w && argc < 4;
		     w = strtok_r(NULL, " \t", &save))
			argv[argc++] = w;
		if (argc != 3 || cmd_parse_svc_key(argc, argv, &k))
			return config_fail(
				c, e,
				"services: expected ADDR PORT PROTO (198.19.0.1 80 tcp), found '%s'",
				t);
		for (j = 0; j < h->nsvc; j++)
			if (!memcmp(&h->svcs[j], &k, sizeof(k)))
				return config_fail(c, e, "services: '%s' listed twice", t);
		if (h->nsvc >= CMD_HOST_SVC_MAX)
			return config_fail(c, e, "services: at most %d per cgroup",
					   CMD_HOST_SVC_MAX);
		h->svcs[h->nsvc++] = k;
	}
	return 0;
}

static int parse_hosts(struct cfg *c, yaml_node_t *n)
{
	static const char *const keys[] = { "cgroup", "services" };
	yaml_node_item_t *it;
	struct state_host *h;
	size_t i;
	int err;

	if (n->type != YAML_SEQUENCE_NODE)
		return config_fail(c, n, "hosts: expected a list of cgroups, found %s",
				   config_kind_name(n));
	c->s->has_hosts = 1;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *e = config_node(c, *it), *v[2] = { NULL, NULL }, *k[2];
		const char *t;

		err = config_walk_map(c, e, "a host", keys, 2, v, k);
		if (err)
			return err;
		if (!v[0])
			return config_fail(c, e, "a host needs 'cgroup'");
		err = config_scalar(c, v[0], "cgroup", "a cgroup v2 folder", &t);
		if (err)
			return err;
		if (t[0] != '/' || strlen(t) >= CMD_CGROUP_MAX)
			return config_fail(
				c, v[0],
				"cgroup: expected an absolute path of at most %d bytes, found '%s'",
				CMD_CGROUP_MAX - 1, t);
		for (i = 0; i < c->s->nhosts; i++)
			if (!strcmp(c->s->hosts[i].cgroup, t))
				return config_fail(c, v[0], "duplicate cgroup '%s'", t);
		h = state_add_host(c->s);
		if (!h)
			return -ENOMEM;
		snprintf(h->cgroup, sizeof(h->cgroup), "%s", t);
		if (v[1]) {
			err = parse_host_services(c, v[1], h);
			if (err)
				return err;
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
	int err = config_scalar(c, n, key,
				v4 ? "an IPv4 address or none" : "an IPv6 address or none", &t);

	if (err)
		return err;
	memset(a, 0, sizeof(*a));
	if (!strcmp(t, "none"))
		return 0;
	if (addr_parse(t, a))
		return config_value_fail(c, n, key);
	if (addr_is_v4mapped(a) != v4)
		return config_fail(c, n, "%s: expected an %s address (or none), found '%s'", key,
				   v4 ? "IPv4" : "IPv6", t);
	return 0;
}

static int parse_gateway(struct cfg *c, yaml_node_t *n)
{
	yaml_node_t *v[G_N], *k[G_N];
	int err;

	err = config_walk_map(c, n, "gateway", g_keys, G_N, v, k);
	if (err)
		return err;
	c->s->has_gateway = 1;
	if (v[G_SRC4])
		err = parse_encap(c, v[G_SRC4], "encap-source4", 1, &c->s->encap_src4);
	if (!err && v[G_SRC6])
		err = parse_encap(c, v[G_SRC6], "encap-source6", 0, &c->s->encap_src6);
	if (!err && v[G_UDP])
		err = config_v_u32(c, v[G_UDP], "udp-timeout", 1, GATEWAY_UDP_TIMEOUT_MAX,
				   &c->s->udp_timeout_s);
	return err;
}

static int parse_bulkhead(struct cfg *c, yaml_node_t *n)
{
	static const char *const keys[] = { "max-conns", "tcp-idle" };
	yaml_node_t *v[2], *k[2];
	int err;

	err = config_walk_map(c, n, "bulkhead", keys, 2, v, k);
	if (err)
		return err;
	c->s->has_bulkhead = 1;
	if (v[0])
		err = config_v_count(c, v[0], "max-conns", RES_MAX_CONNS_MAX,
				     &c->s->global_max_conns);
	if (!err && v[1])
		err = config_v_u32(c, v[1], "tcp-idle", 1, RES_TCP_IDLE_S_MAX, &c->s->tcp_idle_s);
	return err;
}

enum { T_DAEMON, T_CLUSTER, T_INTERFACES, T_GATEWAY, T_BULKHEAD, T_SERVICES, T_HOSTS, T_BGP, T_N };
static const char *const t_keys[T_N] = { "daemon",   "cluster",	 "interfaces", "gateway",
					 "bulkhead", "services", "hosts",      "bgp" };

int config_parse_root(struct cfg *c, yaml_node_t *root)
{
	yaml_node_t *v[T_N], *k[T_N];
	int err;

	err = config_walk_map(c, root, "the file", t_keys, T_N, v, k);
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
		err = config_parse_services(c, v[T_SERVICES]);
	if (!err && v[T_HOSTS])
		err = parse_hosts(c, v[T_HOSTS]);
	if (!err && v[T_BGP])
		err = config_parse_bgp(c, v[T_BGP]);
	return err;
}
