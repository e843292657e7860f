// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * BIRD 2 for the VIPs' announcements (bird.h): the include file sluiced
 * owns, written atomically, and BIRD's control socket.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "addr.h"
#include "args.h"
#include "bird.h"
#include "err.h"

void bird_conf_init(struct bird_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->socket, sizeof(c->socket), "%s", BIRD_SOCKET_DEFAULT);
	snprintf(c->include, sizeof(c->include), "%s", BIRD_INCLUDE_DEFAULT);
	c->bfd_interval_ms = BIRD_BFD_INTERVAL_MS;
	c->bfd_multiplier = BIRD_BFD_MULTIPLIER;
	c->all = 1;
}

static int comms_equal(const struct bird_comm *a, size_t na, const struct bird_comm *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (a[i].a != b[i].a || a[i].b != b[i].b || a[i].c != b[i].c ||
		    a[i].large != b[i].large)
			return 0;
	return 1;
}

#define SAME_ADDR(x, y) (!memcmp(&(x), &(y), sizeof(union sluice_addr)))

int bird_conf_equal(const struct bird_conf *a, const struct bird_conf *b)
{
	size_t i;

	if (a->enabled != b->enabled)
		return 0;
	if (!a->enabled)
		return 1;
	if (a->asn != b->asn || !SAME_ADDR(a->router_id, b->router_id) ||
	    strcmp(a->socket, b->socket) || strcmp(a->include, b->include) ||
	    !SAME_ADDR(a->next_hop4, b->next_hop4) || !SAME_ADDR(a->next_hop6, b->next_hop6) ||
	    a->bfd != b->bfd || a->drain_on_stop_s != b->drain_on_stop_s ||
	    a->bfd_interval_ms != b->bfd_interval_ms || a->bfd_multiplier != b->bfd_multiplier ||
	    !comms_equal(a->comms, a->ncomms, b->comms, b->ncomms) ||
	    a->nprefixes != b->nprefixes || a->npeers != b->npeers || a->all != b->all ||
	    a->nvips != b->nvips)
		return 0;
	for (i = 0; i < a->nprefixes; i++)
		if (!SAME_ADDR(a->prefixes[i].addr, b->prefixes[i].addr) ||
		    a->prefixes[i].len != b->prefixes[i].len)
			return 0;
	for (i = 0; i < a->npeers; i++)
		if (strcmp(a->peers[i].name, b->peers[i].name) ||
		    !SAME_ADDR(a->peers[i].addr, b->peers[i].addr) ||
		    a->peers[i].asn != b->peers[i].asn || a->peers[i].bfd != b->peers[i].bfd)
			return 0;
	for (i = 0; i < a->nvips; i++)
		if (!SAME_ADDR(a->vips[i].addr, b->vips[i].addr) ||
		    a->vips[i].peers != b->vips[i].peers ||
		    !comms_equal(a->vips[i].comms, a->vips[i].ncomms, b->vips[i].comms,
				 b->vips[i].ncomms))
			return 0;
	return 1;
}

int bird_comm_parse(const char *text, struct bird_comm *out)
{
	__u32 v[3] = { 0, 0, 0 };
	char part[16];
	const char *p = text;
	size_t n = 0, len;
	int i;

	memset(out, 0, sizeof(*out));
	for (;;) {
		const char *colon = strchr(p, ':');

		len = colon ? (size_t)(colon - p) : strlen(p);
		if (!len || len >= sizeof(part))
			goto bad;
		memcpy(part, p, len);
		part[len] = 0;
		if (args_parse_u32(part, 0, UINT32_MAX, "community", &v[n]))
			goto bad;
		n++;
		if (!colon)
			break;
		if (n == 3)
			goto bad;
		p = colon + 1;
	}
	if (n < 2)
		goto bad;
	if (n == 2)
		for (i = 0; i < 2; i++)
			if (v[i] > 65535)
				goto bad;
	out->a = v[0];
	out->b = v[1];
	out->c = v[2];
	out->large = n == 3;
	err_clear();
	return 0;
bad:
	err_set("'%s' is not a BGP community: expected ASN:VALUE (0..65535 each) or a large "
		"community ASN:VALUE:VALUE (32 bits each)",
		text);
	return -EINVAL;
}

int bird_prefix_contains(const struct bird_prefix *p, const union sluice_addr *addr)
{
	__u32 full = p->len / 8, rest = p->len % 8;

	if (memcmp(p->addr.u8, addr->u8, full))
		return 0;
	if (rest && ((p->addr.u8[full] ^ addr->u8[full]) & (__u8)(0xff << (8 - rest))))
		return 0;
	return 1;
}

int bird_peer_name_ok(const char *name)
{
	const char *p;

	if (!((*name >= 'a' && *name <= 'z') || (*name >= 'A' && *name <= 'Z')) ||
	    strlen(name) >= BIRD_NAME_MAX)
		return 0;
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}

void bird_proto_name(const struct bird_conf *c, size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", BIRD_PROTO_PREFIX, c->peers[i].name);
}

static void fmt_addr(const union sluice_addr *a, char *buf, size_t len)
{
	if (addr_format(a, buf, len))
		snprintf(buf, len, "?");
}

static void put_comm(FILE *f, const struct bird_comm *m)
{
	if (m->large)
		fprintf(f, " bgp_large_community.add((%u,%u,%u));", m->a, m->b, m->c);
	else
		fprintf(f, " bgp_community.add((%u,%u));", m->a, m->b);
}

/* A VIP's route in its static protocol, with the communities as attributes. */
static void put_route(FILE *f, const struct bird_conf *c, const struct bird_vip *v)
{
	char a[ADDR_STRLEN];
	size_t i;

	fmt_addr(&v->addr, a, sizeof(a));
	fprintf(f, "\troute %s/%d blackhole", a, addr_is_v4mapped(&v->addr) ? 32 : 128);
	if (c->ncomms || v->ncomms) {
		fprintf(f, " {");
		for (i = 0; i < c->ncomms; i++)
			put_comm(f, &c->comms[i]);
		for (i = 0; i < v->ncomms; i++)
			put_comm(f, &v->comms[i]);
		fprintf(f, " }");
	}
	fprintf(f, ";\n");
}

/* The export filter of peer p: the VIPs of its family it may carry. */
static void put_export(FILE *f, const struct bird_vip *vips, size_t n, size_t p, int v4)
{
	char a[ADDR_STRLEN];
	size_t i, count = 0;

	for (i = 0; i < n; i++) {
		if (addr_is_v4mapped(&vips[i].addr) != v4 ||
		    (vips[i].peers && !(vips[i].peers & (1u << p))))
			continue;
		fmt_addr(&vips[i].addr, a, sizeof(a));
		fprintf(f, "%s%s/%d", count ? ", " : "export where net ~ [ ", a, v4 ? 32 : 128);
		count++;
	}
	fprintf(f, count ? " ];" : "export none;");
}

char *bird_render(const struct bird_conf *c, const struct bird_vip *vips, const __u8 *up, size_t n)
{
	char *text = NULL, a[ADDR_STRLEN], rid[ADDR_STRLEN], name[64];
	size_t len = 0, i;
	int fam, bfd = 0;
	FILE *f;

	f = open_memstream(&text, &len);
	if (!f) {
		err_set("out of memory");
		return NULL;
	}
	fprintf(f, "# Generated by sluiced from the bgp section of its config: do not edit.\n"
		   "# Included by BIRD's main config; rewritten (and BIRD reconfigured) on every\n"
		   "# announcement or withdrawal.\n"
		   "ipv4 table sluice4;\n"
		   "ipv6 table sluice6;\n");
	for (fam = 4; fam <= 6; fam += 2) {
		fprintf(f, "\nprotocol static %svips%d {\n\tipv%d { table sluice%d; };\n",
			BIRD_PROTO_PREFIX, fam, fam, fam);
		for (i = 0; i < n; i++)
			if (up[i] && addr_is_v4mapped(&vips[i].addr) == (fam == 4))
				put_route(f, c, &vips[i]);
		fprintf(f, "}\n");
	}
	for (i = 0; i < c->npeers; i++)
		bfd |= c->peers[i].bfd;
	if (bfd)
		fprintf(f,
			"\nprotocol bfd %sbfd {\n\tinterface \"*\" { interval %u ms; multiplier %u; };\n}\n",
			BIRD_PROTO_PREFIX, c->bfd_interval_ms, c->bfd_multiplier);
	fmt_addr(&c->router_id, rid, sizeof(rid));
	for (i = 0; i < c->npeers; i++) {
		const struct bird_peer *p = &c->peers[i];
		const union sluice_addr *nh;
		int v4 = addr_is_v4mapped(&p->addr);

		bird_proto_name(c, i, name, sizeof(name));
		fmt_addr(&p->addr, a, sizeof(a));
		fprintf(f,
			"\nprotocol bgp %s {\n\trouter id %s;\n\tlocal as %u;\n"
			"\tneighbor %s as %u;\n\tbfd %s;\n",
			name, rid, c->asn, a, p->asn, p->bfd ? "on" : "off");
		fprintf(f, "\tipv%d {\n\t\ttable sluice%d;\n\t\timport none;\n\t\t", v4 ? 4 : 6,
			v4 ? 4 : 6);
		put_export(f, vips, n, i, v4);
		nh = v4 ? &c->next_hop4 : &c->next_hop6;
		if (nh->u32[0] | nh->u32[1] | nh->u32[2] | nh->u32[3]) {
			fmt_addr(nh, a, sizeof(a));
			fprintf(f, "\n\t\tnext hop address %s;\n", a);
		} else {
			fprintf(f, "\n\t\tnext hop self;\n");
		}
		fprintf(f, "\t};\n}\n");
	}
	if (fclose(f) || !text) {
		free(text);
		err_set("out of memory");
		return NULL;
	}
	return text;
}

/* The code of a line starting "DDDD-" or "DDDD ", else -1. */
static int line_code(const char *l, size_t len)
{
	int i;

	if (len < 5 || (l[4] != '-' && l[4] != ' '))
		return -1;
	for (i = 0; i < 4; i++)
		if (l[i] < '0' || l[i] > '9')
			return -1;
	return (l[0] - '0') * 1000 + (l[1] - '0') * 100 + (l[2] - '0') * 10 + (l[3] - '0');
}

int bird_reply_done(const char *buf, size_t len, int *code)
{
	size_t start = 0, i;

	for (i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (line_code(buf + start, i - start) >= 0 && buf[start + 4] == ' ') {
			*code = line_code(buf + start, i - start);
			return 1;
		}
		start = i + 1;
	}
	return 0;
}

/* Read into *buf (from *len on) until a whole reply is there. */
static int read_reply(int fd, char **buf, size_t *len, size_t *cap, int *code)
{
	while (!bird_reply_done(*buf, *len, code)) {
		ssize_t r;

		if (*cap - *len < 4096) {
			char *nb;

			if (*cap >= (1u << 24))
				return -E2BIG;
			nb = realloc(*buf, *cap * 2);
			if (!nb)
				return -ENOMEM;
			*buf = nb;
			*cap *= 2;
		}
		r = read(fd, *buf + *len, *cap - *len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (!r)
			return -ECONNRESET;
		*len += (size_t)r;
		(*buf)[*len] = 0;
	}
	return 0;
}

int bird_cmd(const char *socket_path, const char *cmd, int timeout_ms, char **reply, int *code)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = 0, cap = 8192, cmdlen = strlen(cmd);
	char *buf = NULL, *line = NULL;
	int fd, err;

	*reply = NULL;
	if (strlen(socket_path) >= sizeof(sa.sun_path)) {
		err_set("BIRD socket path %s too long", socket_path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, socket_path, strlen(socket_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		err_set("socket: %s", strerror(-err));
		return err;
	}
	/* Bounded: the daemon's loop waits on this (BIRD answers in milliseconds). */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		err_set("cannot reach BIRD at %s: %s (is bird running with -s %s?)", socket_path,
			strerror(-err), socket_path);
		goto out;
	}
	buf = malloc(cap);
	line = malloc(cmdlen + 2);
	if (!buf || !line) {
		err = -ENOMEM;
		err_set("out of memory");
		goto out;
	}
	buf[0] = 0;
	err = read_reply(fd, &buf, &len, &cap, code); /* the greeting */
	if (!err) {
		memcpy(line, cmd, cmdlen);
		line[cmdlen] = '\n';
		len = 0;
		buf[0] = 0;
		if (send(fd, line, cmdlen + 1, MSG_NOSIGNAL) != (ssize_t)(cmdlen + 1))
			err = errno ? -errno : -EIO;
	}
	if (!err)
		err = read_reply(fd, &buf, &len, &cap, code);
	if (err) {
		err_set("BIRD at %s: '%s': %s", socket_path, cmd, strerror(-err));
		goto out;
	}
	*reply = buf;
	buf = NULL;
out:
	free(line);
	free(buf);
	close(fd);
	return err;
}

int bird_configure_result(char *reply, int code)
{
	char *last, *end;

	if (code == 3 || code == 4 || code == 18)
		return 0;
	/* The last line holds BIRD's error: "8002 FILE:LINE:COL message". */
	end = reply + strlen(reply);
	while (end > reply && end[-1] == '\n')
		*--end = 0;
	last = strrchr(reply, '\n');
	last = last ? last + 1 : reply;
	err_set("BIRD refused the configuration: %s", strlen(last) > 5 ? last + 5 : last);
	return -EIO;
}

int bird_configure(const char *socket_path)
{
	char *reply = NULL;
	int code = 0, err;

	err = bird_cmd(socket_path, "configure", BIRD_TIMEOUT_MS, &reply, &code);
	if (err)
		return err;
	err = bird_configure_result(reply, code);
	free(reply);
	return err;
}

static const char *const bgp_states[] = { "Idle",	 "Connect",	"Active", "OpenSent",
					  "OpenConfirm", "Established", "Close" };

static void copy_word(char *dst, size_t len, const char *src, size_t n)
{
	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

size_t bird_protocols_parse(const char *reply, struct bird_proto *out, size_t max)
{
	const char *l = reply, *nl;
	size_t found = 0;
	int code = -1;

	for (; *l; l = nl ? nl + 1 : l + strlen(l)) {
		const char *words[12], *p;
		size_t wlen[12], nw = 0, i, j, len;
		struct bird_proto *b;

		nl = strchr(l, '\n');
		len = nl ? (size_t)(nl - l) : strlen(l);
		if (line_code(l, len) >= 0) {
			code = line_code(l, len);
			p = l + 5;
		} else if (*l == ' ') {
			p = l + 1;
		} else {
			continue;
		}
		if (code != 1002) /* protocol rows; 2002 is the heading */
			continue;
		while (p < l + len && nw < 12) {
			while (p < l + len && (*p == ' ' || *p == '\t'))
				p++;
			if (p >= l + len)
				break;
			words[nw] = p;
			while (p < l + len && *p != ' ' && *p != '\t')
				p++;
			wlen[nw] = (size_t)(p - words[nw]);
			nw++;
		}
		if (nw < 4)
			continue;
		if (found < max) {
			b = &out[found];
			memset(b, 0, sizeof(*b));
			copy_word(b->name, sizeof(b->name), words[0], wlen[0]);
			copy_word(b->proto, sizeof(b->proto), words[1], wlen[1]);
			copy_word(b->state, sizeof(b->state), words[3], wlen[3]);
			/* "Since" may be one word or two (timeformat): find the BGP state. */
			for (i = 4; i < nw && !b->info[0]; i++)
				for (j = 0; j < sizeof(bgp_states) / sizeof(bgp_states[0]); j++)
					if (wlen[i] == strlen(bgp_states[j]) &&
					    !memcmp(words[i], bgp_states[j], wlen[i]))
						copy_word(b->info, sizeof(b->info), words[i],
							  wlen[i]);
		}
		found++;
	}
	return found;
}
