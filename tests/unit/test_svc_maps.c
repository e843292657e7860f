// SPDX-License-Identifier: GPL-2.0-only
/*
 * userspace/svc.c against real maps: the loader creates and pins them under
 * a private pin root in /sys/fs/bpf (removed at the end), then add, duplicate
 * add, set, del, id reuse and "a reused id starts from zero counters".
 * Needs root and a mounted bpffs; SKIPPED with the reason otherwise.
 */
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
#include "err.h"
#include "loader.h"
#include "maps.h"
#include "pinroot.h"
#include "svc.h"
#include "svctest.h"

static struct pinroot *const pr = &pinroot_group;

#define SKIP_UNLESS_READY() PINROOT_SKIP_UNLESS_READY(pr)

static size_t count(void)
{
	struct maps_svc_entry *list = NULL;
	size_t n = 0;

	assert_int_equal(svc_list(&pr->maps, &list, &n), 0);
	free(list);
	return n;
}

/* Make id's counters, bucket and a client bucket non-zero, as traffic would. */
static void dirty(__u32 id)
{
	int ncpus = libbpf_num_possible_cpus(), c;
	struct sluice_svc_counters *v = calloc((size_t)ncpus, sizeof(*v));
	struct sluice_client_key ck;
	struct sluice_bucket b = { .tat = 12345 };
	__u32 a = sluice_svc_slot(SLUICE_R_ADMITTED), d = sluice_svc_slot(SLUICE_R_DROP_SVC_RATE);

	assert_non_null(v);
	for (c = 0; c < ncpus; c++) {
		v[c].slot[a].packets = v[c].slot[d].packets = 10;
		v[c].slot[a].bytes = v[c].slot[d].bytes = 1000;
	}
	assert_int_equal(bpf_map_update_elem(pr->maps.svc_stats, &id, v, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(pr->maps.svc_rl, &id, &b, BPF_ANY), 0);
	memset(&ck, 0, sizeof(ck));
	ck.svc_id = id;
	assert_int_equal(addr_parse("198.51.100.1", &ck.addr), 0);
	assert_int_equal(bpf_map_update_elem(pr->maps.client_rl, &ck, &b, BPF_ANY), 0);
	free(v);
}

static void assert_clean(__u32 id)
{
	struct sluice_counter c[SLUICE_R_MAX];
	struct sluice_client_key ck;
	struct sluice_bucket b;
	unsigned int r;

	assert_int_equal(maps_read_svc_counters(&pr->maps, id, c), 0);
	for (r = 0; r < SLUICE_R_MAX; r++)
		assert_true(c[r].packets == 0 && c[r].bytes == 0);
	assert_int_equal(bpf_map_lookup_elem(pr->maps.svc_rl, &id, &b), 0);
	assert_true(b.tat == 0);
	memset(&ck, 0, sizeof(ck));
	ck.svc_id = id;
	assert_int_equal(addr_parse("198.51.100.1", &ck.addr), 0);
	assert_true(bpf_map_lookup_elem(pr->maps.client_rl, &ck, &b) < 0);
	assert_int_equal(errno, ENOENT);
}

static void test_add_dup_set_del_reuse(void **state)
{
	struct sluice_svc_key a, b, c;
	struct svc_conf conf = { 0 };
	struct sluice_svc s;

	(void)state;
	SKIP_UNLESS_READY();
	a = svctest_key("192.0.2.1", 80, IPPROTO_TCP);
	b = svctest_key("192.0.2.2", 80, IPPROTO_TCP);
	c = svctest_key("2001:db8::3", 443, IPPROTO_TCP);

	/* A dirty id 0 (left by a crashed writer, say) is cleaned by add. */
	dirty(0);
	assert_int_equal(svc_add(&pr->maps, &a, &conf, &s), 0);
	assert_int_equal(s.id, 0);
	assert_clean(0);
	conf.has_rate = 1;
	conf.rate_pps = 1000;
	assert_int_equal(svc_add(&pr->maps, &b, &conf, &s), 0);
	assert_int_equal(s.id, 1);
	assert_int_equal(count(), 2);

	/* Duplicate: -EEXIST, the stored service untouched. */
	memset(&conf, 0, sizeof(conf));
	assert_int_equal(svc_add(&pr->maps, &b, &conf, &s), -EEXIST);
	assert_non_null(strstr(err_msg(), "already exists"));
	assert_int_equal(svc_get(&pr->maps, &b, &s), 0);
	assert_int_equal(s.rate.pps, 1000);
	assert_int_equal(count(), 2);

	/* Set: id and counters kept; a changed rate resets the buckets. */
	dirty(1);
	conf.has_rate = 1;
	conf.rate_pps = 2000;
	conf.has_burst = 1;
	conf.burst = 50;
	assert_int_equal(svc_set(&pr->maps, &b, &conf, &s), 0);
	assert_int_equal(s.id, 1);
	assert_int_equal(svc_get(&pr->maps, &b, &s), 0);
	assert_int_equal(s.rate.pps, 2000);
	assert_int_equal(s.rate.burst, 50);
	{
		struct sluice_counter cnt[SLUICE_R_MAX];
		struct sluice_bucket bk;
		__u32 id = 1;

		assert_int_equal(maps_read_svc_counters(&pr->maps, 1, cnt), 0);
		assert_true(cnt[SLUICE_R_ADMITTED].packets ==
			    10ull * (unsigned)libbpf_num_possible_cpus());
		assert_int_equal(bpf_map_lookup_elem(pr->maps.svc_rl, &id, &bk), 0);
		assert_true(bk.tat == 0);
	}

	/* Refused set: nothing changes. */
	memset(&conf, 0, sizeof(conf));
	conf.has_burst = 1;
	conf.burst = 3;
	assert_int_equal(svc_set(&pr->maps, &b, &conf, &s), -EINVAL);
	assert_int_equal(svc_get(&pr->maps, &b, &s), 0);
	assert_int_equal(s.rate.burst, 50);
	memset(&conf, 0, sizeof(conf));
	conf.has_rate = 1;
	assert_int_equal(svc_set(&pr->maps, &c, &conf, &s), -ENOENT);

	/* Del clears the id; the next add reuses the lowest free id, clean. */
	dirty(0);
	assert_int_equal(svc_del(&pr->maps, &a, &s), 0);
	assert_int_equal(s.id, 0);
	assert_clean(0);
	assert_int_equal(svc_del(&pr->maps, &a, &s), -ENOENT);
	assert_int_equal(count(), 1);
	dirty(0); /* the data plane counted a late packet of the deleted service */
	memset(&conf, 0, sizeof(conf));
	assert_int_equal(svc_add(&pr->maps, &c, &conf, &s), 0);
	assert_int_equal(s.id, 0);
	assert_clean(0);
	memset(&conf, 0, sizeof(conf));
	assert_int_equal(svc_add(&pr->maps, &a, &conf, &s), 0);
	assert_int_equal(s.id, 2);

	assert_int_equal(svc_del(&pr->maps, &a, NULL), 0);
	assert_int_equal(svc_del(&pr->maps, &b, NULL), 0);
	assert_int_equal(svc_del(&pr->maps, &c, NULL), 0);
	assert_int_equal(count(), 0);
}

static void test_pins_reused(void **state)
{
	struct sluice_svc_key a;
	struct svc_conf conf = { 0 };
	struct sluice_maps again;
	struct sluice_svc s;

	(void)state;
	SKIP_UNLESS_READY();
	a = svctest_key("192.0.2.9", 9, IPPROTO_TCP);
	assert_int_equal(svc_add(&pr->maps, &a, &conf, &s), 0);
	/* A second ensure (another CLI run) adopts the pinned maps. */
	assert_int_equal(loader_maps_ensure(pr->root), 0);
	assert_int_equal(maps_open(&again, pr->root), 0);
	assert_int_equal(svc_get(&again, &a, &s), 0);
	maps_close(&again);
	assert_int_equal(svc_del(&pr->maps, &a, NULL), 0);
}

/* Bit port of sl_ports_v2's service (ret 0), return (1) or flow (2) bitmap; 0 also when off. */
static int port_bit(int ret, __u16 port)
{
	static struct sluice_ports p;
	__u32 zero = 0;
	const __u64 *w = ret == 2 ? p.flow : ret ? p.ret : p.svc;

	assert_int_equal(bpf_map_lookup_elem(pr->maps.ports, &zero, &p), 0);
	if (p.valid != SLUICE_PORTS_VALID)
		return 0;
	return (w[port / 64] >> (port % 64)) & 1;
}

/*
 * sl_ports as the data plane relies on it (ports.h): the ports of every
 * service key (write ports included) and nat backend record are set; a
 * service port clears when its last key goes, not before.
 */
static void test_ports_maps(void **state)
{
	struct sluice_svc_key a, b, c;
	struct svc_conf conf = { 0 };
	struct be_ref ref;
	__u32 id;

	(void)state;
	SKIP_UNLESS_READY();
	a = svctest_key("192.0.2.1", 8443, IPPROTO_TCP);
	b = svctest_key("2001:db8::2", 8443, IPPROTO_UDP);
	c = svctest_key("192.0.2.3", 8444, IPPROTO_TCP);
	assert_false(port_bit(0, 8443));
	svctest_add_svc(&a, &conf);
	assert_true(port_bit(0, 8443));
	svctest_add_svc(&b, &conf);
	assert_int_equal(svc_del(&pr->maps, &a, NULL), 0);
	assert_true(port_bit(0, 8443)); /* b still has it */
	assert_int_equal(svc_del(&pr->maps, &b, NULL), 0);
	assert_false(port_bit(0, 8443));

	conf.has_mode = 1;
	conf.mode = SLUICE_MODE_NAT;
	conf.has_write_port = 1;
	conf.write_port = 8445;
	svctest_add_svc(&c, &conf);
	assert_true(port_bit(0, 8444));
	assert_true(port_bit(0, 8445));
	memset(&conf, 0, sizeof(conf));
	conf.has_write_port = 1;
	conf.write_port = 8446;
	assert_int_equal(svc_set(&pr->maps, &c, &conf, NULL), 0);
	assert_false(port_bit(0, 8445));
	assert_true(port_bit(0, 8446));

	assert_false(port_bit(1, 9555));
	id = svctest_add_be(&c, "10.1.0.7", 9555, 0);
	assert_true(port_bit(1, 9555));
	ref = svctest_ref("10.1.0.7", 9555);
	assert_int_equal(backend_del(&pr->maps, &c, &ref, &id, NULL), 0);
	assert_true(port_bit(1, 9555)); /* return bits stay: a stale bit costs one lookup */

	assert_int_equal(svc_del(&pr->maps, &c, NULL), 0);
	assert_false(port_bit(0, 8444));
	assert_false(port_bit(0, 8446));
}

/* The flow-first bit of key in sl_ports_v2 (0 also when the bitmaps are off). */
static int flow_bit(const struct sluice_svc_key *key)
{
	__u32 bit = sluice_key_bit(&key->addr, key->port, key->proto);

	return port_bit(2, (__u16)bit);
}

/* sl_svc_byid[id] as the data plane reads it. */
static struct sluice_svc_ent byid(__u32 id)
{
	struct sluice_svc_ent e;

	assert_int_equal(bpf_map_lookup_elem(pr->maps.svc_byid, &id, &e), 0);
	return e;
}

/*
 * sl_svc_byid (the service of a known flow, by id): the main key and its
 * value after add and set (a write port's key never replaces it), zeroed
 * by del, so a deleted service's flows are never followed.
 */
static void test_byid_maps(void **state)
{
	struct sluice_svc_key a = svctest_key("2001:db8::7", 8080, IPPROTO_TCP);
	struct svc_conf conf = svctest_conf(SLUICE_MODE_NAT, 1031, 8081);
	struct sluice_svc_ent e;
	struct sluice_svc s;
	__u32 id;

	(void)state;
	SKIP_UNLESS_READY();
	struct sluice_svc_key w = svctest_key("2001:db8::7", 8081, IPPROTO_TCP);
	struct sluice_svc_key l = svctest_key("192.0.2.77", 8080, IPPROTO_TCP);

	id = svctest_add_svc(&a, &conf);
	/* The flow bits: nat keys (the write port's too), not a local service's. */
	assert_true(flow_bit(&a));
	assert_true(flow_bit(&w));
	memset(&conf, 0, sizeof(conf));
	svctest_add_svc(&l, &conf);
	if (flow_bit(&l))
		assert_true(sluice_key_bit(&l.addr, l.port, l.proto) ==
				    sluice_key_bit(&a.addr, a.port, a.proto) ||
			    sluice_key_bit(&l.addr, l.port, l.proto) ==
				    sluice_key_bit(&w.addr, w.port, w.proto));
	assert_int_equal(svc_del(&pr->maps, &l, NULL), 0);
	e = byid(id);
	assert_memory_equal(&e.key, &a, sizeof(a));
	assert_int_equal(svc_get(&pr->maps, &a, &s), 0);
	assert_memory_equal(&e.svc, &s, sizeof(s));
	memset(&conf, 0, sizeof(conf));
	conf.has_rate = 1;
	conf.rate_pps = 5000;
	assert_int_equal(svc_set(&pr->maps, &a, &conf, NULL), 0);
	e = byid(id);
	assert_memory_equal(&e.key, &a, sizeof(a));
	assert_int_equal(e.svc.rate.pps, 5000);
	/* A refused set leaves the entry as sl_services is. */
	memset(&conf, 0, sizeof(conf));
	conf.has_burst = 1;
	conf.burst = 3;
	assert_int_equal(svc_set(&pr->maps, &a, &conf, NULL), -EINVAL);
	e = byid(id);
	assert_int_equal(svc_get(&pr->maps, &a, &s), 0);
	assert_memory_equal(&e.svc, &s, sizeof(s));
	/* Pins of ABI 9 (no sl_svc_byid): the loader fills the new map from sl_services. */
	{
		char path[PATH_MAX];

		assert_true(snprintf(path, sizeof(path), "%s/%s", pr->root, SLUICE_MAP_SVC_BYID) <
			    (int)sizeof(path));
		assert_int_equal(unlink(path), 0);
		assert_int_equal(loader_maps_ensure(pr->root), 0);
		maps_close(&pr->maps);
		assert_int_equal(maps_open(&pr->maps, pr->root), 0);
		e = byid(id);
		assert_memory_equal(&e.key, &a, sizeof(a));
		assert_memory_equal(&e.svc, &s, sizeof(s));
	}
	assert_int_equal(svc_del(&pr->maps, &a, NULL), 0);
	assert_false(flow_bit(&a));
	assert_false(flow_bit(&w));
	e = byid(id);
	assert_int_equal(e.key.proto, 0);
	assert_int_equal(e.svc.mode, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_dup_set_del_reuse),
		cmocka_unit_test(test_pins_reused),
		cmocka_unit_test(test_ports_maps),
		cmocka_unit_test(test_byid_maps),
	};

	return cmocka_run_group_tests(tests, pinroot_group_setup, pinroot_group_teardown);
}
