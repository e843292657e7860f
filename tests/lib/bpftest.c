// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpftest: helpers shared by the data-plane tests and the benchmarks (see
 * bpftest.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "backend.h"
#include "maglev.h"
#include "publish.h"
#include "rate.h"
#include "bpftest.h"

int bt_reuse_maps(struct bpf_object *obj, struct bpf_object *from)
{
	struct bpf_map *map, *theirs;
	int err;

	bpf_object__for_each_map(map, obj)
	{
		if (bpf_map__is_internal(map))
			continue;
		theirs = bpf_object__find_map_by_name(from, bpf_map__name(map));
		err = theirs ? bpf_map__reuse_fd(map, bpf_map__fd(theirs)) : -ENOENT;
		if (err)
			return err;
	}
	return 0;
}

int bt_addr_parse(const char *s, union sluice_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (strchr(s, ':'))
		return inet_pton(AF_INET6, s, a->u8) == 1 ? 0 : -EINVAL;
	a->u32[2] = htonl(0xffff);
	return inet_pton(AF_INET, s, &a->u32[3]) == 1 ? 0 : -EINVAL;
}

struct sluice_rate bt_rate_of(uint32_t pps, uint32_t burst)
{
	struct sluice_rate r;

	if (rate_make(pps, burst, &r))
		abort();
	return r;
}

int bt_svc_put(struct bpf_map *services, struct bpf_map *byid, const char *addr, uint16_t port,
	       uint8_t proto, const struct sluice_svc *val)
{
	struct sluice_svc_key key = { 0 };
	struct sluice_svc_ent ent = { 0 };
	struct sluice_svc old;
	uint32_t id;

	if (bt_addr_parse(addr, &key.addr))
		return -EINVAL;
	key.port = htons(port);
	key.proto = proto;
	/* A key moving to another id leaves its old id's entry, as svc_del does. */
	if (byid && !bpf_map__lookup_elem(services, &key, sizeof(key), &old, sizeof(old), 0) &&
	    old.id != val->id && old.id < SLUICE_MAX_SERVICES) {
		id = old.id;
		if (bpf_map__update_elem(byid, &id, sizeof(id), &ent, sizeof(ent), BPF_ANY))
			return -errno;
	}
	if (bpf_map__update_elem(services, &key, sizeof(key), val, sizeof(*val), BPF_ANY))
		return -errno;
	if (!byid || val->id >= SLUICE_MAX_SERVICES)
		return 0;
	ent.svc = *val;
	ent.key = key;
	id = val->id;
	if (bpf_map__update_elem(byid, &id, sizeof(id), &ent, sizeof(ent), BPF_ANY))
		return -errno;
	return 0;
}

int bt_counter_sum(struct bpf_map *map, uint32_t idx, int ncpus, struct sluice_counter *sum)
{
	struct sluice_counter vals[ncpus];
	int i;

	memset(sum, 0, sizeof(*sum));
	if (bpf_map__lookup_elem(map, &idx, sizeof(idx), vals, sizeof(vals), 0))
		return -errno;
	for (i = 0; i < ncpus; i++) {
		sum->packets += vals[i].packets;
		sum->bytes += vals[i].bytes;
	}
	return 0;
}

int bt_maglev_publish(struct bpf_map *outer, uint32_t table_id, const uint32_t *table,
		      uint32_t entries, const char *name)
{
	struct bpf_map_create_opts opts;
	uint32_t k;
	int err = 0, fd;

	/* By hand rather than LIBBPF_OPTS (which cppcheck cannot expand). */
	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	opts.map_flags = BPF_F_INNER_MAP;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name, 4, 4, entries, &opts);
	if (fd < 0)
		return -errno;
	for (k = 0; k < entries; k++) {
		if (bpf_map_update_elem(fd, &k, &table[k], BPF_ANY)) {
			err = -errno;
			goto out;
		}
	}
	if (bpf_map__update_elem(outer, &table_id, sizeof(table_id), &fd, sizeof(fd), BPF_ANY))
		err = -errno;
out:
	close(fd);
	return err;
}

int bt_vsh(char *err, size_t size, const char *fmt, va_list ap)
{
	char cmd[512];
	int rc;

	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	rc = system(cmd);
	if (!rc)
		return 0;
	snprintf(err, size, "setup command failed (%d): %.200s", rc, cmd);
	return -EIO;
}

int bt_sh(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = bt_vsh(err, size, fmt, ap);
	va_end(ap);
	return rc;
}

int bt_netns_enter(const char *mac_gw0, const char *mac_gw1, char *err, size_t size)
{
	if (unshare(CLONE_NEWNET)) {
		int e = errno;

		snprintf(err, size, "unshare(CLONE_NEWNET): %s", strerror(e));
		return -e;
	}
	if (bt_sh(err, size, "ip link set lo up") ||
	    bt_sh(err, size, "ip link add gw0%s%s type veth peer name cl0",
		  mac_gw0 ? " address " : "", mac_gw0 ? mac_gw0 : "") ||
	    bt_sh(err, size, "ip link add gw1%s%s type veth peer name be1",
		  mac_gw1 ? " address " : "", mac_gw1 ? mac_gw1 : "") ||
	    bt_sh(err, size, "for i in gw0 cl0 gw1 be1; do ip link set $i up || exit 1; done") ||
	    bt_sh(err, size, "ip addr add 192.0.2.1/24 dev gw0 && ip addr add 10.1.0.1/24 dev gw1"))
		return -EIO;
	return 0;
}

int bt_table_build(const struct sluice_backend *bes, const uint32_t *ids, int n, uint32_t m,
		   uint32_t *table)
{
	struct maglev_backend *mb = calloc(n ? n : 1, sizeof(*mb));
	__u8(*ident)[PUBLISH_IDENTITY_LEN] = calloc(n ? n : 1, sizeof(*ident));
	int i, err = -ENOMEM;

	if (!mb || !ident)
		goto out;
	for (i = 0; i < n; i++) {
		publish_identity(&bes[ids[i]], ident[i]);
		mb[i].id = ident[i];
		mb[i].id_len = PUBLISH_IDENTITY_LEN;
		mb[i].weight = 1;
		mb[i].index = ids[i];
	}
	table[0] = m;
	err = maglev_build(mb, n, m, table + 1);
out:
	free(mb);
	free(ident);
	return err;
}

static int print_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !getenv("SLUICE_TEST_VERBOSE"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int bt_suite_start(int *ncpus, const char **why)
{
	libbpf_set_print(print_quiet);
	if (geteuid() != 0) {
		*why = "not root (BPF_PROG_TEST_RUN and a network namespace need it)";
		return -1;
	}
	*ncpus = libbpf_num_possible_cpus();
	if (*ncpus <= 0) {
		*why = "cannot count possible CPUs";
		return -1;
	}
	return 0;
}
