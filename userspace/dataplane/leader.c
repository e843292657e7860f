// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Leaders of services (see leader.h). Order of a change: the sl_leaders
 * entry first (write flows go to the new leader at once), then the read
 * table without it (publish_service() applies the exclusion rule);
 * should the table fail, the old entry is written back.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "args.h"
#include "err.h"
#include "keys.h"
#include "leader.h"
#include "publish.h"
#include "svcinfo.h"

static const char *const source_names[] = {
	[SLUICE_LEADER_NONE] = "none",
	[SLUICE_LEADER_OPERATOR] = "operator",
	[SLUICE_LEADER_ELECTION] = "election",
	[SLUICE_LEADER_ROLE] = "role",
};

const char *leader_source_name(__u8 source)
{
	if (source < sizeof(source_names) / sizeof(source_names[0]))
		return source_names[source];
	return "?";
}

int leader_parse_source(const char *text, __u8 *source)
{
	__u8 s;

	for (s = SLUICE_LEADER_OPERATOR; s <= SLUICE_LEADER_ROLE; s++) {
		if (text && !strcmp(text, source_names[s])) {
			*source = s;
			return 0;
		}
	}
	err_set("unknown source '%s': expected operator, election or role", text ? text : "");
	return -EINVAL;
}

static int backend_syntax(const char *text)
{
	err_set("invalid backend '%s': give ADDR, A.B.C.D:PORT, [IPV6]:PORT or ADDR port PORT",
		text);
	return -EINVAL;
}

int leader_parse_backend(const char *text, struct be_ref *ref)
{
	char buf[ADDR_STRLEN + 16];
	const char *port = NULL;
	char *host = buf, *end;
	struct be_ref r;
	size_t len = text ? strlen(text) : 0;

	if (!len || len >= sizeof(buf))
		return backend_syntax(text ? text : "");
	memcpy(buf, text, len + 1);
	memset(&r, 0, sizeof(r));
	if (buf[0] == '[') {
		end = strchr(buf, ']');
		if (!end || (end[1] && end[1] != ':'))
			return backend_syntax(text);
		*end = '\0';
		host = buf + 1;
		if (end[1] == ':')
			port = end + 2;
		if (addr_parse(host, &r.addr) || addr_is_v4mapped(&r.addr)) {
			err_set("invalid backend '%s': brackets hold an IPv6 address ([fd00::5]:5432)",
				text);
			return -EINVAL;
		}
	} else {
		/* An address alone (IPv6 has colons of its own), else one colon: IPv4:PORT. */
		if (!addr_parse(buf, &r.addr)) {
			*ref = r;
			return 0;
		}
		end = strchr(buf, ':');
		if (!end || strchr(end + 1, ':'))
			return backend_syntax(text);
		*end = '\0';
		port = end + 1;
		if (addr_parse(host, &r.addr) || !addr_is_v4mapped(&r.addr))
			return backend_syntax(text);
	}
	if (port) {
		if (args_parse_port(port, &r.port)) {
			err_set("invalid backend '%s': %s", text, err_msg());
			return -EINVAL;
		}
		r.has_port = 1;
	}
	*ref = r;
	return 0;
}

void leader_backend_format(const union sluice_addr *addr, __u16 port, char *buf, size_t len)
{
	char a[ADDR_STRLEN];

	if (addr_format(addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	if (addr_is_v4mapped(addr))
		snprintf(buf, len, "%s:%u", a, port);
	else
		snprintf(buf, len, "[%s]:%u", a, port);
}

static int check_id(__u32 svc_id)
{
	if (svc_id < SLUICE_MAX_SERVICES)
		return 0;
	err_set("service id %u out of range (0..%u)", svc_id, SLUICE_MAX_SERVICES - 1);
	return -EINVAL;
}

int leader_get(const struct sluice_maps *m, __u32 svc_id, struct sluice_leader *l)
{
	return maps_read_leader(m, svc_id, l);
}

static int write_entry(const struct sluice_maps *m, __u32 svc_id, const struct sluice_leader *l)
{
	int err;

	if (!bpf_map_update_elem(m->leaders, &svc_id, l, BPF_ANY))
		return 0;
	err = -errno;
	err_set("cannot write the leader of service id %u: %s", svc_id, strerror(-err));
	return err;
}

int leader_reset(const struct sluice_maps *m, __u32 svc_id)
{
	struct sluice_leader zero;
	int err = check_id(svc_id);

	if (err)
		return err;
	memset(&zero, 0, sizeof(zero));
	return write_entry(m, svc_id, &zero);
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* Republish svc_id's table, when it has one (a local service has none). */
static int republish(const struct sluice_maps *m, __u32 svc_id)
{
	__u32 size = 0;
	int err = publish_table_size(m, svc_id, &size);

	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	return publish_service(m, NULL, svc_id, size);
}

int leader_set(const struct sluice_maps *m, __u32 svc_id, __u32 backend_id, __u8 source,
	       struct sluice_leader *old)
{
	struct sluice_leader before, l;
	struct sluice_backend be;
	int err;

	err = leader_get(m, svc_id, &before);
	if (err)
		return err;
	if (source > SLUICE_LEADER_ROLE) {
		err_set("leader source %u is not one of operator, election or role", source);
		return -EINVAL;
	}
	if (backend_id != SLUICE_NO_BACKEND) {
		if (backend_id >= SLUICE_MAX_BACKENDS) {
			err_set("backend id %u out of range (0..%u)", backend_id,
				SLUICE_MAX_BACKENDS - 1);
			return -EINVAL;
		}
		err = maps_read_backend(m, backend_id, &be);
		if (err)
			return err;
		if (be.state == SLUICE_BE_UNUSED || be.svc_id != svc_id) {
			err_set("backend %u is not a backend of service id %u", backend_id, svc_id);
			return -ENOENT;
		}
	}
	memset(&l, 0, sizeof(l));
	l.backend = backend_id == SLUICE_NO_BACKEND ? 0 : backend_id + 1;
	l.source = source;
	/* "since" is when this backend became the leader: a repeat keeps it. */
	l.changed_ns =
		l.backend == before.backend && before.changed_ns ? before.changed_ns : now_ns();
	err = write_entry(m, svc_id, &l);
	if (err)
		return err;
	err = republish(m, svc_id);
	if (err) {
		write_entry(m, svc_id, &before);
		return err;
	}
	if (old)
		*old = before;
	return 0;
}

int leader_forget_backend(const struct sluice_maps *m, __u32 svc_id, __u32 backend_id, int *cleared,
			  struct sluice_leader *old)
{
	struct sluice_leader l, before;
	int err;

	if (cleared)
		*cleared = 0;
	err = leader_get(m, svc_id, &before);
	if (err || before.backend != backend_id + 1)
		return err;
	l = before;
	l.backend = 0;
	l.changed_ns = now_ns();
	err = write_entry(m, svc_id, &l);
	if (err)
		return err;
	if (cleared)
		*cleared = 1;
	if (old)
		*old = before;
	return 0;
}

/* Fill *out for the service info (its leader and the leader's backend). */
static int info_fill(const struct sluice_maps *m, const struct svc_info *svc,
		     struct leader_info *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	out->svc = *svc;
	out->backend_id = SLUICE_NO_BACKEND;
	err = leader_get(m, svc->svc.id, &out->leader);
	if (err || !out->leader.backend || out->leader.backend > SLUICE_MAX_BACKENDS)
		return err;
	err = maps_read_backend(m, out->leader.backend - 1, &out->be);
	if (err)
		return err;
	/* A slot freed or reused meanwhile is no leader (the data plane refuses it too). */
	if (out->be.state == SLUICE_BE_UNUSED || out->be.svc_id != svc->svc.id)
		return 0;
	out->backend_id = out->leader.backend - 1;
	out->be_port = backend_port(&out->be, &svc->key);
	return 0;
}

static int not_following(const struct sluice_svc_key *key)
{
	char k[SVC_KEY_STRLEN], a[SVC_KEY_STRLEN];

	svc_key_format(key, k, sizeof(k));
	svc_key_format_args(key, a, sizeof(a));
	err_set("service %s does not follow a leader: give it write-port or route leader (sluice service set %s write-port PORT)",
		k, a);
	return -EINVAL;
}

int leader_list(const struct sluice_maps *m, const struct sluice_svc_key *key,
		struct leader_info **list, size_t *count)
{
	struct svc_info *svcs = NULL, one;
	struct leader_info *items = NULL;
	size_t n = 0, i, used = 0;
	int err;

	*list = NULL;
	*count = 0;
	if (key) {
		err = svc_info_get(m, key, &one);
		if (err)
			return err;
		if (!svc_follows_leader(&one))
			return not_following(key);
		svcs = &one;
		n = 1;
	} else {
		err = svc_info_list(m, &svcs, &n);
		if (err)
			return err;
	}
	if (n) {
		items = calloc(n, sizeof(*items));
		if (!items) {
			err_set("out of memory");
			err = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		if (!svc_follows_leader(&svcs[i]))
			continue;
		err = info_fill(m, &svcs[i], &items[used]);
		if (err)
			goto out;
		used++;
	}
	*list = items;
	*count = used;
	items = NULL;
out:
	free(items);
	if (svcs != &one)
		free(svcs);
	return err;
}

int leader_set_service(const struct sluice_maps *m, const struct sluice_svc_key *key,
		       const struct be_ref *ref, __u8 source, struct leader_info *before,
		       struct leader_info *after)
{
	struct sluice_backend *all = NULL;
	struct leader_info b;
	struct svc_info svc;
	struct be_ref r;
	__u32 id = SLUICE_NO_BACKEND;
	int err;

	err = svc_info_get(m, key, &svc);
	if (err)
		return err;
	if (!svc_follows_leader(&svc))
		return not_following(key);
	err = info_fill(m, &svc, &b);
	if (err)
		return err;
	if (ref) {
		all = calloc(SLUICE_MAX_BACKENDS, sizeof(*all));
		if (!all) {
			err_set("out of memory");
			return -ENOMEM;
		}
		err = maps_read_backends(m, all);
		if (err)
			goto out;
		r = *ref;
		/* ipip never rewrites ports: its backends are known by address alone. */
		if (svc.svc.mode == SLUICE_MODE_IPIP)
			r.has_port = 0;
		err = backend_find(all, key, &svc.svc, &r, &id);
		if (err == -ENOTUNIQ) {
			char a[ADDR_STRLEN], k[SVC_KEY_STRLEN];

			if (addr_format(&r.addr, a, sizeof(a)))
				snprintf(a, sizeof(a), "?");
			svc_key_format(key, k, sizeof(k));
			if (addr_is_v4mapped(&r.addr))
				err_set("service %s has several backends at %s: give the port (%s:PORT or %s port PORT)",
					k, a, a, a);
			else
				err_set("service %s has several backends at %s: give the port ([%s]:PORT or %s port PORT)",
					k, a, a, a);
		}
		if (err)
			goto out;
	}
	err = leader_set(m, svc.svc.id, id, source, NULL);
	if (err)
		goto out;
	if (before)
		*before = b;
	if (after)
		err = info_fill(m, &svc, after);
out:
	free(all);
	return err;
}
