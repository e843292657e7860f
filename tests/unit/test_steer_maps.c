// SPDX-License-Identifier: GPL-2.0-only
/*
 * Steering against real maps: the loader creates and pins every map under a
 * private pin root in /sys/fs/bpf (removed at the end), then services,
 * backends and shards are changed through the library and the published
 * Maglev tables are read back from sl_maglev and compared with
 * maglev_build()'s output. Also: first values of sl_config and sl_subsets,
 * ARRAY_OF_MAPS pin reuse across loads, --flow-entries sizing and its
 * mismatch error, and what service del leaves behind (nothing).
 * Needs root and a mounted bpffs; SKIPPED with the reason otherwise.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "addr.h"
#include "backend.h"
#include "err.h"
#include "loader.h"
#include "maglev.h"
#include "maps.h"
#include "pinroot.h"
#include "publish.h"
#include "shard.h"
#include "svc.h"
#include "svctest.h"

static struct pinroot *const pr = &pinroot_group;

#define SKIP_UNLESS_READY() PINROOT_SKIP_UNLESS_READY(pr)

static void add_nat(const struct sluice_svc_key *k, __u32 maglev_size, struct sluice_svc *out)
{
	struct svc_conf c;

	memset(&c, 0, sizeof(c));
	c.has_mode = 1;
	c.mode = SLUICE_MODE_NAT;
	if (maglev_size) {
		c.has_maglev_size = 1;
		c.maglev_size = maglev_size;
	}
	assert_int_equal(svc_add(&pr->maps, k, &c, out), 0);
}

/*
 * Check table table_id: M in entry 0 and entries 1..M equal to
 * maglev_build() over the backends ids[0..n) as stored in sl_backends
 * (ACTIVE, weight > 0 only), built here independently of backend.c.
 */
static void check_table(__u32 table_id, __u32 want_m, const __u32 *ids, size_t n)
{
	struct sluice_backend *all = calloc(SLUICE_MAX_BACKENDS, sizeof(*all));
	struct maglev_backend mb[16];
	__u8 ident[16][18];
	__u32 *table = NULL, m = 0, *want;
	size_t i, used = 0;

	assert_non_null(all);
	assert_true(n <= 16);
	assert_int_equal(maps_read_backends(&pr->maps, all), 0);
	for (i = 0; i < n; i++) {
		const struct sluice_backend *be = &all[ids[i]];

		if (be->state != SLUICE_BE_ACTIVE || !be->weight)
			continue;
		memcpy(ident[used], be->addr.u8, 16);
		memcpy(ident[used] + 16, &be->port, 2);
		mb[used] = (struct maglev_backend){ ident[used], 18, be->weight, ids[i] };
		used++;
	}
	assert_int_equal(maps_read_table(&pr->maps, table_id, &table, &m), 0);
	assert_int_equal(m, want_m);
	assert_int_equal(table[0], want_m);
	want = calloc(want_m, sizeof(*want));
	assert_non_null(want);
	assert_int_equal(maglev_build(mb, used, want_m, want), 0);
	assert_memory_equal(table + 1, want, want_m * sizeof(*want));
	free(want);
	free(table);
	free(all);
}

static struct sluice_backend read_be(__u32 id)
{
	struct sluice_backend b;

	assert_int_equal(bpf_map_lookup_elem(pr->maps.backends, &id, &b), 0);
	return b;
}

static void test_first_values(void **state)
{
	struct sluice_subset *subs;
	struct sluice_config cfg;
	__u32 i, entries = 0;

	(void)state;
	SKIP_UNLESS_READY();
	assert_int_equal(maps_read_config(&pr->maps, &cfg), 0);
	assert_true(cfg.udp_timeout_ns == SLUICE_UDP_TIMEOUT_DEFAULT_NS);
	for (i = 0; i < 16; i++)
		assert_int_equal(cfg.encap_src4.u8[i] | cfg.encap_src6.u8[i], 0);
	subs = calloc(SLUICE_MAX_SUBSETS, sizeof(*subs));
	assert_non_null(subs);
	assert_int_equal(maps_read_subsets(&pr->maps, subs), 0);
	for (i = 0; i < SLUICE_MAX_SUBSETS; i++)
		assert_int_equal(subs[i].svc_id, SLUICE_NO_BACKEND);
	free(subs);
	assert_int_equal(maps_flow_entries(&pr->maps, &entries), 0);
	assert_int_equal(entries, SLUICE_FLOWS_DEFAULT);
}

static void test_publish_and_republish(void **state)
{
	struct sluice_svc_key k;
	struct sluice_svc s;
	struct be_ref r;
	struct sluice_be_counter c;
	__u32 ids[3], none[1] = { 0 }, id;

	(void)state;
	SKIP_UNLESS_READY();
	k = svctest_key("192.0.2.10", 80, IPPROTO_TCP);
	add_nat(&k, 251, &s);
	check_table(s.id, 251, none, 0); /* empty table from the start */

	ids[0] = svctest_add_be(&k, "10.0.0.1", 8080, 1);
	ids[1] = svctest_add_be(&k, "10.0.0.2", 8080, 2);
	ids[2] = svctest_add_be(&k, "10.0.0.3", 8081, 1);
	assert_int_equal(ids[0], 0);
	assert_int_equal(ids[1], 1);
	assert_int_equal(ids[2], 2);
	check_table(s.id, 251, ids, 3);

	r = svctest_ref("10.0.0.2", 8080); /* drain */
	assert_int_equal(backend_set_state(&pr->maps, &k, &r, SLUICE_BE_DRAINING, &id, NULL), 0);
	assert_int_equal(id, 1);
	assert_int_equal(read_be(1).state, SLUICE_BE_DRAINING);
	check_table(s.id, 251, ids, 3);
	assert_int_equal(backend_set_state(&pr->maps, &k, &r, SLUICE_BE_ACTIVE, NULL, NULL), 0);
	check_table(s.id, 251, ids, 3);

	r = svctest_ref("10.0.0.3", 8081); /* weight */
	assert_int_equal(backend_set_weight(&pr->maps, &k, &r, 5, NULL, NULL), 0);
	assert_int_equal(read_be(2).weight, 5);
	check_table(s.id, 251, ids, 3);
	assert_int_equal(backend_set_weight(&pr->maps, &k, &r, 0, NULL, NULL), -ERANGE);

	/* Counters of a deleted backend are zeroed; the slot is freed. */
	{
		int ncpus = libbpf_num_possible_cpus(), i;
		struct sluice_be_counter *v = calloc((size_t)ncpus, sizeof(*v));

		for (i = 0; i < ncpus; i++)
			v[i].packets = v[i].bytes = v[i].new_flows = 3;
		id = 0;
		assert_int_equal(bpf_map_update_elem(pr->maps.be_stats, &id, v, BPF_ANY), 0);
		free(v);
	}
	r = svctest_ref("10.0.0.1", 8080);
	assert_int_equal(backend_del(&pr->maps, &k, &r, &id, NULL), 0);
	assert_int_equal(id, 0);
	assert_int_equal(read_be(0).state, SLUICE_BE_UNUSED);
	assert_int_equal(maps_read_be_counters(&pr->maps, 0, &c), 0);
	assert_true(c.packets == 0 && c.bytes == 0 && c.new_flows == 0);
	check_table(s.id, 251, ids + 1, 2);
	assert_int_equal(backend_del(&pr->maps, &k, &r, NULL, NULL), -ENOENT);

	/* The freed id is reused; a duplicate is refused. */
	assert_int_equal(svctest_add_be(&k, "10.0.0.4", 8080, 1), 0);
	{
		struct be_conf dup;

		memset(&dup, 0, sizeof(dup));
		assert_int_equal(addr_parse("10.0.0.4", &dup.addr), 0);
		dup.has_port = 1;
		dup.port = 8080;
		assert_int_equal(backend_add(&pr->maps, &k, &dup, NULL, NULL), -EEXIST);
	}
	ids[0] = 0;
	check_table(s.id, 251, ids, 3);

	/* A new maglev-size republishes the same backends at the new size. */
	{
		struct svc_conf c2;

		memset(&c2, 0, sizeof(c2));
		c2.has_maglev_size = 1;
		c2.maglev_size = 257;
		assert_int_equal(svc_set(&pr->maps, &k, &c2, NULL), 0);
		check_table(s.id, 257, ids, 3);
		c2.has_mode = 1; /* no mode change while there are backends */
		c2.mode = SLUICE_MODE_IPIP;
		c2.has_maglev_size = 0;
		assert_int_equal(svc_set(&pr->maps, &k, &c2, NULL), -EBUSY);
	}
	assert_int_equal(svc_del(&pr->maps, &k, NULL), 0);
}

/* 1 when backend id's record says sl_be_rev translates it (SLUICE_BE_F_REV_STATELESS). */
static int be_stateless(__u32 id)
{
	return !!(read_be(id).flags & SLUICE_BE_F_REV_STATELESS);
}

/*
 * The flag that spares a new nat flow its sl_nat_rev insert follows
 * sl_be_rev through the library: on for a nat backend the table holds,
 * kept across a drain and a weight change, off while a second service
 * shares the backend (a conflict: no sl_be_rev entry) and on again when
 * it leaves, off with the slot freed; never on an ipip backend.
 */
static void test_be_rev_flag(void **state)
{
	struct sluice_svc_key k, k2, k3;
	struct sluice_svc s, s2, s3;
	struct be_ref r;
	__u32 a, b, b2, c;

	(void)state;
	SKIP_UNLESS_READY();
	k = svctest_key("192.0.2.30", 80, IPPROTO_TCP);
	k2 = svctest_key("192.0.2.30", 81, IPPROTO_TCP);
	add_nat(&k, 251, &s);
	add_nat(&k2, 251, &s2);
	a = svctest_add_be(&k, "10.0.3.1", 8080, 1);
	b = svctest_add_be(&k, "10.0.3.2", 8080, 1);
	assert_true(be_stateless(a));
	assert_true(be_stateless(b));

	r = svctest_ref("10.0.3.2", 8080);
	assert_int_equal(backend_set_state(&pr->maps, &k, &r, SLUICE_BE_DRAINING, NULL, NULL), 0);
	assert_true(be_stateless(b));
	assert_int_equal(backend_set_weight(&pr->maps, &k, &r, 3, NULL, NULL), 0);
	assert_true(be_stateless(b));

	/* 10.0.3.2:8080 behind a second service port: ambiguous, both off. */
	b2 = svctest_add_be(&k2, "10.0.3.2", 8080, 1);
	assert_false(be_stateless(b));
	assert_false(be_stateless(b2));
	assert_true(be_stateless(a));
	assert_int_equal(backend_del(&pr->maps, &k2, &r, NULL, NULL), 0);
	assert_true(be_stateless(b));
	assert_int_equal(read_be(b2).flags, 0);

	assert_int_equal(backend_del(&pr->maps, &k, &r, NULL, NULL), 0);
	assert_int_equal(read_be(b).state, SLUICE_BE_UNUSED);
	assert_int_equal(read_be(b).flags, 0);

	/* ipip keeps no return path: its backends never carry it. */
	{
		struct svc_conf ic;

		memset(&ic, 0, sizeof(ic));
		ic.has_mode = 1;
		ic.mode = SLUICE_MODE_IPIP;
		k3 = svctest_key("192.0.2.31", 80, IPPROTO_TCP);
		assert_int_equal(svc_add(&pr->maps, &k3, &ic, &s3), 0);
		c = svctest_add_be(&k3, "10.0.3.3", 80, 1);
		assert_false(be_stateless(c));
	}
	assert_int_equal(svc_del(&pr->maps, &k3, NULL), 0);
	assert_int_equal(svc_del(&pr->maps, &k2, NULL), 0);
	assert_int_equal(svc_del(&pr->maps, &k, NULL), 0);
	assert_int_equal(read_be(a).flags, 0);
}

static void test_subset_rebuild(void **state)
{
	struct sluice_svc_key k;
	struct shard_target t;
	struct shard_info info, *list = NULL;
	struct sluice_svc s;
	struct be_ref r;
	__u32 ids[3], table = 0, *tbl = NULL, m = 0;
	size_t n = 0;

	(void)state;
	SKIP_UNLESS_READY();
	k = svctest_key("2001:db8::10", 443, IPPROTO_TCP);
	add_nat(&k, 0, &s);
	ids[0] = svctest_add_be(&k, "2001:db8::1", 443, 1);
	ids[1] = svctest_add_be(&k, "2001:db8::2", 443, 1);
	ids[2] = svctest_add_be(&k, "2001:db8::3", 443, 1);
	check_table(s.id, SLUICE_MAGLEV_M_DEFAULT, ids, 3);

	memset(&t, 0, sizeof(t));
	t.subset = 1;
	t.count = 2;
	t.refs[0] = svctest_ref("2001:db8::1", 443);
	t.refs[1] = svctest_ref("2001:db8::2", 443);
	t.refs[1].has_port = 0; /* by address alone */
	assert_int_equal(shard_add(&pr->maps, &k, "2001:db8:100::/48", &t, &info), 0);
	assert_int_equal(info.subset, 0);
	assert_int_equal(info.value.table_id, SLUICE_MAX_SERVICES);
	assert_int_equal(info.value.backend_id, SLUICE_NO_BACKEND);
	assert_int_equal(info.key.prefixlen, 32 + 48);
	table = info.value.table_id;
	check_table(table, PUBLISH_SUBSET_M, ids, 2);
	assert_int_equal(shard_add(&pr->maps, &k, "2001:db8:100::/48", &t, NULL), -EEXIST);

	/* Drain a member: the subset table is rebuilt without it. */
	r = svctest_ref("2001:db8::2", 443);
	assert_int_equal(backend_set_state(&pr->maps, &k, &r, SLUICE_BE_DRAINING, NULL, NULL), 0);
	check_table(table, PUBLISH_SUBSET_M, ids, 2);
	assert_int_equal(maps_read_table(&pr->maps, table, &tbl, &m), 0);
	for (__u32 i = 1; i <= m; i++)
		assert_int_equal(tbl[i], ids[0]);
	free(tbl);
	check_table(s.id, SLUICE_MAGLEV_M_DEFAULT, ids, 3);

	/* A pinned shard; deleting its backend is refused. */
	memset(&t, 0, sizeof(t));
	t.count = 1;
	t.refs[0] = svctest_ref("2001:db8::3", 443);
	assert_int_equal(shard_add(&pr->maps, &k, "2001:db8:200::1", &t, &info), 0);
	assert_int_equal(info.value.backend_id, ids[2]);
	assert_int_equal(info.key.prefixlen, 32 + 128);
	r = svctest_ref("2001:db8::3", 443);
	assert_int_equal(backend_del(&pr->maps, &k, &r, NULL, NULL), -EBUSY);
	assert_int_equal(shard_list(&pr->maps, &k, &list, &n), 0);
	assert_int_equal(n, 2);
	free(list);

	/* Deleting a subset member shrinks the subset; its last member is kept. */
	r = svctest_ref("2001:db8::2", 443);
	assert_int_equal(backend_del(&pr->maps, &k, &r, NULL, NULL), 0);
	check_table(table, PUBLISH_SUBSET_M, ids, 1);
	r = svctest_ref("2001:db8::1", 443);
	assert_int_equal(backend_del(&pr->maps, &k, &r, NULL, NULL), -EBUSY);

	/* shard del frees the subset and its table. */
	assert_int_equal(shard_del(&pr->maps, &k, "2001:db8:100::/48", NULL), 0);
	assert_int_equal(maps_read_table(&pr->maps, table, &tbl, &m), -ENOENT);
	assert_int_equal(shard_del(&pr->maps, &k, "2001:db8:100::/48", NULL), -ENOENT);

	/* service del removes the rest: shards, table, backends. */
	assert_int_equal(svc_del(&pr->maps, &k, NULL), 0);
	assert_int_equal(maps_read_table(&pr->maps, s.id, &tbl, &m), -ENOENT);
	assert_int_equal(read_be(ids[0]).state, SLUICE_BE_UNUSED);
	assert_int_equal(read_be(ids[2]).state, SLUICE_BE_UNUSED);
	assert_int_equal(shard_list(&pr->maps, NULL, &list, &n), 0);
	assert_int_equal(n, 0);
	free(list);
}

static __u32 pinned_id(const char *name)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	char path[PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pr->root, name);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	memset(&info, 0, sizeof(info));
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	close(fd);
	return info.id;
}

static void test_pin_reuse(void **state)
{
	struct sluice_svc_key k;
	struct sluice_svc s;
	__u32 ids[1], maglev_id, flows_id;

	(void)state;
	SKIP_UNLESS_READY();
	k = svctest_key("192.0.2.20", 80, IPPROTO_TCP);
	add_nat(&k, 251, &s);
	ids[0] = svctest_add_be(&k, "10.1.0.1", 80, 1);
	maglev_id = pinned_id(SLUICE_MAP_MAGLEV);
	flows_id = pinned_id(SLUICE_MAP_FLOWS);
	/* A second load adopts every pin, the array of maps included. */
	assert_int_equal(loader_maps_ensure(pr->root), 0);
	assert_int_equal(loader_maps_ensure(pr->root), 0);
	assert_int_equal(pinned_id(SLUICE_MAP_MAGLEV), maglev_id);
	assert_int_equal(pinned_id(SLUICE_MAP_FLOWS), flows_id);
	check_table(s.id, 251, ids, 1); /* the published table survived */
	assert_int_equal(svc_del(&pr->maps, &k, NULL), 0);
}

static void test_flow_entries(void **state)
{
	char other[PATH_MAX];
	struct sluice_maps m2;
	__u32 entries = 0;

	(void)state;
	SKIP_UNLESS_READY();
	/* The existing root has the default size: another one is refused. */
	loader_set_flow_entries(4096);
	assert_int_equal(loader_maps_ensure(pr->root), -EEXIST);
	assert_non_null(strstr(err_msg(), "flow table already has 262144 entries"));
	assert_non_null(strstr(err_msg(), pr->root));
	loader_set_flow_entries(SLUICE_FLOWS_DEFAULT); /* the same size is fine */
	assert_int_equal(loader_maps_ensure(pr->root), 0);

	/* A new root gets the size asked for, and keeps it on later loads. */
	snprintf(other, sizeof(other), "/sys/fs/bpf/sluice-unit-XXXXXX");
	assert_non_null(mkdtemp(other));
	loader_set_flow_entries(4096);
	assert_int_equal(loader_maps_ensure(other), 0);
	loader_set_flow_entries(0);
	assert_int_equal(loader_maps_ensure(other), 0);
	assert_int_equal(maps_open(&m2, other), 0);
	assert_int_equal(maps_flow_entries(&m2, &entries), 0);
	assert_int_equal(entries, 4096);
	{
		struct bpf_map_info info;
		__u32 len = sizeof(info);

		memset(&info, 0, sizeof(info));
		assert_int_equal(bpf_obj_get_info_by_fd(m2.nat_rev, &info, &len), 0);
		assert_int_equal(info.max_entries, 4096);
	}
	maps_close(&m2);
	loader_set_flow_entries(8192);
	assert_int_equal(loader_maps_ensure(other), -EEXIST);
	assert_non_null(strstr(err_msg(), "4096"));
	loader_set_flow_entries(0);
	pinroot_remove(other);
}

/* The session's index of kept lists each service's backends of fresh, and its lowest free slot. */
static void assert_index_fresh(const struct sluice_backend *kept,
			       const struct sluice_backend *fresh)
{
	__u32 *count = calloc(SLUICE_MAX_SERVICES, sizeof(*count)), *ids, svc, i, free_id;
	size_t n, j;

	assert_non_null(count);
	for (i = 0; i < SLUICE_MAX_BACKENDS; i++)
		if (fresh[i].state != SLUICE_BE_UNUSED && fresh[i].svc_id < SLUICE_MAX_SERVICES)
			count[fresh[i].svc_id]++;
	for (svc = 0; svc < SLUICE_MAX_SERVICES; svc++) {
		assert_int_equal(maps_cache_backends_of(kept, svc, &ids, &n), 0);
		assert_int_equal(n, count[svc]);
		for (j = 0; j < n; j++) {
			assert_true(backend_is_of(&fresh[ids[j]], svc));
			assert_true(!j || ids[j - 1] < ids[j]);
		}
		free(ids);
	}
	for (i = 0; i < SLUICE_MAX_BACKENDS && fresh[i].state != SLUICE_BE_UNUSED; i++)
		;
	assert_int_equal(maps_cache_free_id(kept, &free_id), 0);
	assert_int_equal(free_id, i < SLUICE_MAX_BACKENDS ? i : SLUICE_NO_BACKEND);
	free(count);
}

/* The session's copies (maps.h) hold what the maps hold. */
static void assert_cache_fresh(void)
{
	struct sluice_backend *kept, *fresh = calloc(SLUICE_MAX_BACKENDS, sizeof(*fresh));
	struct sluice_subset *ksub, *fsub = calloc(SLUICE_MAX_SUBSETS, sizeof(*fsub));
	int err;

	assert_non_null(fresh);
	assert_non_null(fsub);
	kept = maps_backends_get(&pr->maps, &err);
	assert_int_equal(err, 0);
	/* Kept: the same copy again, not a new read. */
	assert_ptr_equal(maps_backends_get(&pr->maps, &err), kept);
	assert_int_equal(maps_read_backends(&pr->maps, fresh), 0);
	assert_memory_equal(kept, fresh, SLUICE_MAX_BACKENDS * sizeof(*fresh));
	assert_index_fresh(kept, fresh);
	ksub = maps_subsets_get(&pr->maps, &err);
	assert_int_equal(err, 0);
	assert_int_equal(maps_read_subsets(&pr->maps, fsub), 0);
	assert_memory_equal(ksub, fsub, SLUICE_MAX_SUBSETS * sizeof(*fsub));
	maps_cache_put(kept);
	maps_cache_put(ksub);
	free(fresh);
	free(fsub);
}

/*
 * A daemon's group (issue 12): one copy of sl_backends and sl_subsets for
 * the session, kept in step by the library's own writes, refused commands
 * included; tables published at the end of a deferred group, in parallel
 * waves, equal maglev_build()'s over the final backends.
 */
static void test_cache_session(void **state)
{
	struct sluice_svc_key k, k2;
	struct shard_target t;
	struct shard_info info;
	struct sluice_svc s, s2;
	struct be_conf dup;
	struct be_ref r;
	__u32 ids[4], ids2[3], id, i;
	char a[16];

	(void)state;
	SKIP_UNLESS_READY();
	maps_cache_begin();
	k = svctest_key("192.0.2.30", 80, IPPROTO_TCP);
	add_nat(&k, 1031, &s);
	for (i = 0; i < 3; i++) {
		snprintf(a, sizeof(a), "10.3.0.%u", i + 1);
		ids[i] = svctest_add_be(&k, a, 80, i + 1);
	}
	assert_cache_fresh();
	/* Refused: a duplicate, and deleting a subset's last member. */
	memset(&dup, 0, sizeof(dup));
	assert_int_equal(addr_parse("10.3.0.2", &dup.addr), 0);
	assert_int_equal(backend_add(&pr->maps, &k, &dup, NULL, NULL), -EEXIST);
	memset(&t, 0, sizeof(t));
	t.subset = 1;
	t.count = 1;
	t.refs[0] = svctest_ref("10.3.0.1", 80);
	assert_int_equal(shard_add(&pr->maps, &k, "198.51.100.0/24", &t, &info), 0);
	r = svctest_ref("10.3.0.1", 80);
	assert_int_equal(backend_del(&pr->maps, &k, &r, NULL, NULL), -EBUSY);
	assert_cache_fresh();
	/* A delete frees the id for the next add of the session. */
	r = svctest_ref("10.3.0.2", 80);
	assert_int_equal(backend_del(&pr->maps, &k, &r, &id, NULL), 0);
	assert_int_equal(id, ids[1]);
	ids[1] = svctest_add_be(&k, "10.3.0.4", 80, 4);
	assert_int_equal(ids[1], id);
	r = svctest_ref("10.3.0.3", 80);
	assert_int_equal(backend_set_state(&pr->maps, &k, &r, SLUICE_BE_DRAINING, NULL, NULL), 0);
	assert_cache_fresh();
	check_table(s.id, 1031, ids, 3);

	/* A deferred group over two services: each table once, at the end. */
	k2 = svctest_key("192.0.2.31", 80, IPPROTO_TCP);
	publish_defer_begin();
	add_nat(&k2, 1031, &s2);
	ids2[0] = svctest_add_be(&k2, "10.4.0.1", 80, 1);
	ids2[1] = svctest_add_be(&k2, "10.4.0.2", 80, 5);
	ids2[2] = svctest_add_be(&k2, "10.4.0.3", 80, 2);
	r = svctest_ref("10.3.0.4", 80);
	assert_int_equal(backend_set_weight(&pr->maps, &k, &r, 7, NULL, NULL), 0);
	r = svctest_ref("10.4.0.3", 80);
	assert_int_equal(backend_set_weight(&pr->maps, &k2, &r, 9, NULL, NULL), 0);
	assert_int_equal(publish_defer_end(&pr->maps, NULL), 0);
	assert_cache_fresh();
	check_table(s.id, 1031, ids, 3);
	check_table(s2.id, 1031, ids2, 3);

	assert_int_equal(shard_del(&pr->maps, &k, "198.51.100.0/24", NULL), 0);
	assert_cache_fresh();
	assert_int_equal(svc_del(&pr->maps, &k, NULL), 0);
	assert_int_equal(svc_del(&pr->maps, &k2, NULL), 0);
	assert_cache_fresh();
	maps_cache_end();
	/* Outside a session every get is a fresh read. */
	{
		__u32 *none;
		size_t nn;
		int err;
		struct sluice_backend *b1 = maps_backends_get(&pr->maps, &err), *b2;

		assert_non_null(b1);
		b2 = maps_backends_get(&pr->maps, &err);
		assert_ptr_not_equal(b1, b2);
		assert_int_equal(maps_cache_backends_of(b1, 0, &none, &nn), -ENOENT);
		maps_cache_put(b1);
		maps_cache_put(b2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_values),   cmocka_unit_test(test_publish_and_republish),
		cmocka_unit_test(test_subset_rebuild), cmocka_unit_test(test_be_rev_flag),
		cmocka_unit_test(test_pin_reuse),      cmocka_unit_test(test_flow_entries),
		cmocka_unit_test(test_cache_session),
	};

	return cmocka_run_group_tests(tests, pinroot_group_setup, pinroot_group_teardown);
}
