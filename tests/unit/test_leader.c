// SPDX-License-Identifier: GPL-2.0-only
/*
 * Leaders and write ports against real maps (userspace/leader.c, the write
 * port half of svc.c, the read-exclusion rule of backend.c): the loader
 * creates and pins every map under a private pin root in /sys/fs/bpf
 * (removed at the end); services, backends and leaders are changed through
 * the library and sl_services, sl_leaders and the published Maglev tables
 * are read back and compared with maglev_build()'s output over the
 * backends the rule leaves in. Also the BACKEND forms an etcd election
 * value takes (no maps needed). Map tests need root and a mounted bpffs;
 * SKIPPED with the reason otherwise.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
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
#include <time.h>
#include <cmocka.h>

#include "addr.h"
#include "backend.h"
#include "err.h"
#include "leader.h"
#include "maglev.h"
#include "maps.h"
#include "pinroot.h"
#include "svc.h"
#include "svctest.h"
#include "wordtest.h"

static struct pinroot *const pr = &pinroot_group;

#define SKIP_UNLESS_READY() PINROOT_SKIP_UNLESS_READY(pr)

/* The BACKEND forms, good and bad. */
static void test_parse_backend(void **state)
{
	static const struct {
		const char *text;
		const char *addr; /* NULL: refused */
		int port;	  /* -1: none given */
	} cases[] = {
		{ "10.0.0.5", "10.0.0.5", -1 },
		{ "10.0.0.5:5432", "10.0.0.5", 5432 },
		{ "[fd00::5]:5432", "fd00::5", 5432 },
		{ "[fd00::5]", "fd00::5", -1 },
		{ "fd00::5", "fd00::5", -1 },
		/* Without brackets a trailing group is part of the IPv6 address. */
		{ "fd00::5:5432", "fd00::5:5432", -1 },
		{ "", NULL, 0 },
		{ "10.0.0.5:", NULL, 0 },
		{ "10.0.0.5:0", NULL, 0 },
		{ "10.0.0.5:70000", NULL, 0 },
		{ "10.0.0.5:54x", NULL, 0 },
		{ "10.0.0.300:80", NULL, 0 },
		{ "db1:5432", NULL, 0 },
		{ "[10.0.0.5]:5432", NULL, 0 },
		{ "[fd00::5]x", NULL, 0 },
		{ "[fd00::5", NULL, 0 },
		{ "[fd00::5]:", NULL, 0 },
		{ "10.0.0.5:80:81", NULL, 0 },
	};
	union sluice_addr want;
	struct be_ref r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = leader_parse_backend(cases[i].text, &r);

		if (!cases[i].addr) {
			if (err != -EINVAL)
				fail_msg("'%s' accepted", cases[i].text);
			assert_non_null(strstr(err_msg(), "backend"));
			continue;
		}
		if (err)
			fail_msg("'%s' refused: %s", cases[i].text, err_msg());
		assert_int_equal(addr_parse(cases[i].addr, &want), 0);
		assert_memory_equal(&r.addr, &want, sizeof(want));
		assert_int_equal(r.has_port, cases[i].port >= 0);
		if (cases[i].port >= 0)
			assert_int_equal(r.port, cases[i].port);
	}
	assert_int_equal(leader_parse_backend(NULL, &r), -EINVAL);
}

static void test_names(void **state)
{
	static const struct word_case good[] = {
		{ "operator", SLUICE_LEADER_OPERATOR },
		{ "election", SLUICE_LEADER_ELECTION },
		{ "role", SLUICE_LEADER_ROLE },
	};
	static const char *const bad[] = { "none", "op" };
	char buf[LEADER_BACKEND_STRLEN];
	union sluice_addr a;

	(void)state;
	CHECK_WORDS(leader_parse_source, leader_source_name, good, bad);
	assert_string_equal(leader_source_name(SLUICE_LEADER_NONE), "none");
	assert_string_equal(leader_source_name(9), "?");
	assert_int_equal(addr_parse("fd00::5", &a), 0);
	leader_backend_format(&a, 5432, buf, sizeof(buf));
	assert_string_equal(buf, "[fd00::5]:5432");
	assert_int_equal(addr_parse("10.0.0.5", &a), 0);
	leader_backend_format(&a, 5432, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.5:5432");
}

/* Helpers on real maps. */

/* Add a service; write_port 0: none. */
static __u32 add_svc(const struct sluice_svc_key *k, __u8 mode, __u16 write_port, int route_leader)
{
	struct svc_conf c = svctest_conf(mode, 251, write_port);

	c.has_route = route_leader;
	c.route_leader = route_leader;
	return svctest_add_svc(k, &c);
}

static struct sluice_leader read_leader(__u32 svc_id)
{
	struct sluice_leader l;

	assert_int_equal(leader_get(&pr->maps, svc_id, &l), 0);
	return l;
}

/*
 * Table svc_id holds exactly maglev_build() over the backends ids[0..n)
 * (all ACTIVE, weight 1 here), built here from sl_backends.
 */
static void check_table(__u32 svc_id, const __u32 *ids, size_t n)
{
	struct sluice_backend *all = calloc(SLUICE_MAX_BACKENDS, sizeof(*all));
	struct maglev_backend mb[8];
	__u8 ident[8][18];
	__u32 *table = NULL, m = 0, want[251];
	size_t i;

	assert_non_null(all);
	assert_true(n <= 8);
	assert_int_equal(maps_read_backends(&pr->maps, all), 0);
	for (i = 0; i < n; i++) {
		memcpy(ident[i], all[ids[i]].addr.u8, 16);
		memcpy(ident[i] + 16, &all[ids[i]].port, 2);
		mb[i] = (struct maglev_backend){ ident[i], 18, all[ids[i]].weight, ids[i] };
	}
	assert_int_equal(maps_read_table(&pr->maps, svc_id, &table, &m), 0);
	assert_int_equal(m, 251);
	assert_int_equal(maglev_build(mb, n, 251, want), 0);
	assert_memory_equal(table + 1, want, sizeof(want));
	free(table);
	free(all);
}

/* Slots of table svc_id that hold backend id. */
static __u32 slots_of(__u32 svc_id, __u32 id)
{
	__u32 *table = NULL, m = 0, i, n = 0;

	assert_int_equal(maps_read_table(&pr->maps, svc_id, &table, &m), 0);
	for (i = 1; i <= m; i++)
		n += table[i] == id;
	free(table);
	return n;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* Set the leader by ref (NULL: none); returns the library's result. */
static int set(const struct sluice_svc_key *k, const struct be_ref *ref, __u8 source)
{
	return leader_set_service(&pr->maps, k, ref, source, NULL, NULL);
}

/* A write port: two keys, one id; the service is listed once and its write port refused as a name. */
static void test_write_port_keys(void **state)
{
	struct sluice_svc_key k = svctest_key("192.0.2.40", 5432, IPPROTO_TCP),
			      w = svctest_key("192.0.2.40", 5433, IPPROTO_TCP),
			      w2 = svctest_key("192.0.2.40", 5434, IPPROTO_TCP);
	struct maps_svc_entry *list = NULL;
	struct svc_info info, *infos = NULL;
	struct sluice_svc v, wv;
	struct svc_conf c;
	size_t n = 0;
	__u32 id;

	(void)state;
	SKIP_UNLESS_READY();
	id = add_svc(&k, SLUICE_MODE_NAT, 5433, 0);
	assert_int_equal(maps_svc_lookup(&pr->maps, &k, &v), 0);
	assert_int_equal(maps_svc_lookup(&pr->maps, &w, &wv), 0);
	assert_int_equal(v.id, id);
	assert_int_equal(wv.id, id);
	assert_int_equal(v.flags, 0);
	assert_int_equal(wv.flags, SLUICE_SVC_F_LEADER);
	assert_int_equal(svc_list(&pr->maps, &list, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].key.port, htons(5432));
	free(list);
	assert_int_equal(svc_info_list(&pr->maps, &infos, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(infos[0].write_port, 5433);
	free(infos);
	/* No leader yet: the entry is zero (write flows refused). */
	assert_int_equal(read_leader(id).backend, 0);

	/* The write port is no service of its own. */
	assert_int_equal(svc_get(&pr->maps, &w, &v), -ENOENT);
	assert_non_null(strstr(err_msg(), "is the write port of service 192.0.2.40 port 5432 tcp"));
	memset(&c, 0, sizeof(c));
	c.has_rate = 1;
	c.rate_pps = 100;
	assert_int_equal(svc_set(&pr->maps, &w, &c, NULL), -ENOENT);
	assert_int_equal(svc_del(&pr->maps, &w, NULL), -ENOENT);
	assert_int_equal(svc_add(&pr->maps, &w, &c, NULL), -EEXIST);
	assert_non_null(strstr(err_msg(), "already the write port of service"));
	/* Nor another's write port, nor this service's own port. */
	memset(&c, 0, sizeof(c));
	c.has_mode = 1;
	c.mode = SLUICE_MODE_NAT;
	c.has_write_port = 1;
	c.write_port = 5433;
	assert_int_equal(svc_add(&pr->maps, &w2, &c, NULL), -EEXIST);
	c.write_port = 5432;
	assert_int_equal(svc_add(&pr->maps, &w2, &c, NULL), -EEXIST);
	assert_non_null(strstr(err_msg(), "is already a service"));
	assert_int_equal(maps_svc_lookup(&pr->maps, &w2, &v), -ENOENT);

	/* A set changes both keys' values alike. */
	memset(&c, 0, sizeof(c));
	c.has_rate = 1;
	c.rate_pps = 1000;
	assert_int_equal(svc_set(&pr->maps, &k, &c, NULL), 0);
	assert_int_equal(maps_svc_lookup(&pr->maps, &k, &v), 0);
	assert_int_equal(maps_svc_lookup(&pr->maps, &w, &wv), 0);
	assert_int_equal(wv.rate.pps, 1000);
	wv.flags = 0;
	assert_memory_equal(&v, &wv, sizeof(v));

	/* Moving the write port moves the key. */
	memset(&c, 0, sizeof(c));
	c.has_write_port = 1;
	c.write_port = 5434;
	assert_int_equal(svc_set(&pr->maps, &k, &c, NULL), 0);
	assert_int_equal(maps_svc_lookup(&pr->maps, &w, &v), -ENOENT);
	assert_int_equal(maps_svc_lookup(&pr->maps, &w2, &wv), 0);
	assert_int_equal(wv.flags, SLUICE_SVC_F_LEADER);
	assert_int_equal(svc_info_get(&pr->maps, &k, &info), 0);
	assert_int_equal(info.write_port, 5434);
	/* Route leader with a write port: refused, nothing changed. */
	memset(&c, 0, sizeof(c));
	c.has_route = 1;
	c.route_leader = 1;
	assert_int_equal(svc_set(&pr->maps, &k, &c, NULL), -EINVAL);
	assert_int_equal(maps_svc_lookup(&pr->maps, &k, &v), 0);
	assert_int_equal(v.flags, 0);
	/* ... in one command with write-port none: the flag moves to the service's key. */
	c.has_write_port = 1;
	c.write_port = 0;
	assert_int_equal(svc_set(&pr->maps, &k, &c, NULL), 0);
	assert_int_equal(maps_svc_lookup(&pr->maps, &w2, &v), -ENOENT);
	assert_int_equal(maps_svc_lookup(&pr->maps, &k, &v), 0);
	assert_int_equal(v.flags, SLUICE_SVC_F_LEADER);
	assert_int_equal(svc_info_get(&pr->maps, &k, &info), 0);
	assert_int_equal(info.write_port, 0);
	assert_true(svc_follows_leader(&info));
	/* A local service follows no leader. */
	memset(&c, 0, sizeof(c));
	c.has_mode = 1;
	c.mode = SLUICE_MODE_LOCAL;
	assert_int_equal(svc_set(&pr->maps, &k, &c, NULL), -EINVAL);

	/* Delete: every key of the id goes. */
	memset(&c, 0, sizeof(c));
	c.has_route = 1;
	c.route_leader = 0;
	c.has_write_port = 1;
	c.write_port = 5433;
	assert_int_equal(svc_set(&pr->maps, &k, &c, NULL), 0);
	assert_int_equal(svc_del(&pr->maps, &k, NULL), 0);
	assert_int_equal(maps_svc_lookup(&pr->maps, &k, &v), -ENOENT);
	assert_int_equal(maps_svc_lookup(&pr->maps, &w, &v), -ENOENT);
	assert_int_equal(svc_list(&pr->maps, &list, &n), 0);
	assert_int_equal(n, 0);
	free(list);
}

/* Leader set, the read table without it, and what keeps or moves "since". */
static void test_leader_and_read_table(void **state)
{
	struct sluice_svc_key k = svctest_key("192.0.2.50", 5432, IPPROTO_TCP);
	struct leader_info before, after, *list = NULL;
	struct sluice_leader l, l2;
	struct be_ref r;
	__u32 id, b[3], rest[2], two[2];
	size_t n = 0;
	__u64 t0;

	(void)state;
	SKIP_UNLESS_READY();
	id = add_svc(&k, SLUICE_MODE_NAT, 5433, 0);
	b[0] = svctest_add_be(&k, "10.0.1.5", 0, 0);
	b[1] = svctest_add_be(&k, "10.0.1.6", 0, 0);
	b[2] = svctest_add_be(&k, "10.0.1.7", 0, 0);
	check_table(id, b, 3); /* no leader: every backend reads */

	t0 = now_ns();
	r = svctest_ref("10.0.1.5", 5432);
	assert_int_equal(
		leader_set_service(&pr->maps, &k, &r, SLUICE_LEADER_ELECTION, &before, &after), 0);
	assert_int_equal(before.backend_id, SLUICE_NO_BACKEND);
	assert_int_equal(after.backend_id, b[0]);
	assert_int_equal(after.be_port, 5432);
	l = read_leader(id);
	assert_int_equal(l.backend, b[0] + 1);
	assert_int_equal(l.source, SLUICE_LEADER_ELECTION);
	assert_true(l.changed_ns >= t0 && l.changed_ns <= now_ns());
	assert_int_equal(l.pad[0] | l.pad[1] | l.pad[2], 0);
	rest[0] = b[1];
	rest[1] = b[2];
	check_table(id, rest, 2); /* reads go to the replicas */
	assert_int_equal(slots_of(id, b[0]), 0);

	/* The same backend again: source changes, "since" stays. */
	r = svctest_ref("10.0.1.5", 0);
	assert_int_equal(set(&k, &r, SLUICE_LEADER_OPERATOR), 0);
	l2 = read_leader(id);
	assert_int_equal(l2.backend, l.backend);
	assert_int_equal(l2.source, SLUICE_LEADER_OPERATOR);
	assert_true(l2.changed_ns == l.changed_ns);

	/* Every change of the backends keeps the rule: drain both replicas, the leader reads. */
	r = svctest_ref("10.0.1.6", 0);
	assert_int_equal(backend_set_state(&pr->maps, &k, &r, SLUICE_BE_DRAINING, NULL, NULL), 0);
	check_table(id, rest + 1, 1);
	r = svctest_ref("10.0.1.7", 0);
	assert_int_equal(backend_set_state(&pr->maps, &k, &r, SLUICE_BE_DRAINING, NULL, NULL), 0);
	check_table(id, b, 1);
	assert_int_equal(backend_set_state(&pr->maps, &k, &r, SLUICE_BE_ACTIVE, NULL, NULL), 0);
	check_table(id, rest + 1, 1);
	r = svctest_ref("10.0.1.6", 0);
	assert_int_equal(backend_set_state(&pr->maps, &k, &r, SLUICE_BE_ACTIVE, NULL, NULL), 0);
	assert_int_equal(backend_set_weight(&pr->maps, &k, &r, 1, NULL, NULL), 0);
	check_table(id, rest, 2);
	/* A new backend joins the replicas, not the leader. */
	two[0] = svctest_add_be(&k, "10.0.1.8", 0, 0);
	assert_int_equal(slots_of(id, b[0]), 0);
	assert_true(slots_of(id, two[0]) > 0);
	r = svctest_ref("10.0.1.8", 0);
	assert_int_equal(backend_del(&pr->maps, &k, &r, NULL, NULL), 0);
	check_table(id, rest, 2);

	/* A new leader: the old one reads again, the new one leaves; "since" moves. */
	r = svctest_ref("10.0.1.6", 5432);
	assert_int_equal(set(&k, &r, SLUICE_LEADER_ROLE), 0);
	l2 = read_leader(id);
	assert_int_equal(l2.backend, rest[0] + 1);
	assert_true(l2.changed_ns >= l.changed_ns);
	two[0] = b[0];
	two[1] = b[2];
	check_table(id, two, 2);
	assert_int_equal(slots_of(id, rest[0]), 0);

	/* leader show lists it. */
	assert_int_equal(leader_list(&pr->maps, NULL, &list, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].backend_id, rest[0]);
	assert_int_equal(list[0].svc.write_port, 5433);
	assert_int_equal(list[0].leader.source, SLUICE_LEADER_ROLE);
	free(list);

	/* none: write flows refused; every backend reads. */
	assert_int_equal(set(&k, NULL, SLUICE_LEADER_OPERATOR), 0);
	l2 = read_leader(id);
	assert_int_equal(l2.backend, 0);
	assert_int_equal(l2.source, SLUICE_LEADER_OPERATOR);
	check_table(id, b, 3);
	assert_int_equal(svc_del(&pr->maps, &k, NULL), 0);
	assert_int_equal(read_leader(id).backend | read_leader(id).source, 0);
}

/* Deleting the leader's backend clears the leader; its source stays. */
static void test_delete_leader_backend(void **state)
{
	struct sluice_svc_key k = svctest_key("192.0.2.60", 5432, IPPROTO_TCP);
	struct sluice_leader l;
	struct be_ref r;
	__u32 id, b[2];

	(void)state;
	SKIP_UNLESS_READY();
	id = add_svc(&k, SLUICE_MODE_NAT, 5433, 0);
	b[0] = svctest_add_be(&k, "10.0.2.5", 0, 0);
	b[1] = svctest_add_be(&k, "10.0.2.6", 0, 0);
	r = svctest_ref("10.0.2.5", 0);
	assert_int_equal(set(&k, &r, SLUICE_LEADER_ELECTION), 0);
	check_table(id, b + 1, 1);
	/* Deleting another backend leaves the leader alone (and it reads again, alone). */
	r = svctest_ref("10.0.2.6", 0);
	assert_int_equal(backend_del(&pr->maps, &k, &r, NULL, NULL), 0);
	assert_int_equal(read_leader(id).backend, b[0] + 1);
	check_table(id, b, 1);
	b[1] = svctest_add_be(&k, "10.0.2.6", 0, 0);
	r = svctest_ref("10.0.2.5", 0);
	assert_int_equal(backend_del(&pr->maps, &k, &r, NULL, NULL), 0);
	l = read_leader(id);
	assert_int_equal(l.backend, 0);
	assert_int_equal(l.source, SLUICE_LEADER_ELECTION);
	check_table(id, b + 1, 1);
	assert_int_equal(svc_del(&pr->maps, &k, NULL), 0);
}

/* Route leader: the table keeps every backend (no read port to spare). */
static void test_route_leader(void **state)
{
	struct sluice_svc_key k = svctest_key("192.0.2.70", 6379, IPPROTO_TCP);
	struct sluice_svc_key k6;
	struct svc_conf c;
	struct be_ref r;
	__u32 id, b[2];
	union sluice_addr a6;

	(void)state;
	SKIP_UNLESS_READY();
	id = add_svc(&k, SLUICE_MODE_NAT, 0, 1);
	b[0] = svctest_add_be(&k, "10.0.3.5", 0, 0);
	b[1] = svctest_add_be(&k, "10.0.3.6", 0, 0);
	r = svctest_ref("10.0.3.5", 6379);
	assert_int_equal(set(&k, &r, SLUICE_LEADER_OPERATOR), 0);
	assert_int_equal(read_leader(id).backend, b[0] + 1);
	check_table(id, b, 2);
	/* Stops following: the leader is forgotten (no stale leader when it follows again). */
	memset(&c, 0, sizeof(c));
	c.has_route = 1;
	c.route_leader = 0;
	assert_int_equal(svc_set(&pr->maps, &k, &c, NULL), 0);
	assert_int_equal(read_leader(id).backend, 0);
	assert_int_equal(svc_del(&pr->maps, &k, NULL), 0);

	/* ipip: a backend is known by its address; the port (the service's) is not compared. */
	assert_int_equal(addr_parse("fd00:5c::70", &a6), 0);
	assert_int_equal(svc_key_make(&a6, 5432, IPPROTO_TCP, &k6), 0);
	id = add_svc(&k6, SLUICE_MODE_IPIP, 5433, 0);
	b[0] = svctest_add_be(&k6, "fd00:5c:1::5", 0, 0);
	r = svctest_ref("fd00:5c:1::5", 5433); /* the election value may carry any port */
	assert_int_equal(set(&k6, &r, SLUICE_LEADER_ELECTION), 0);
	assert_int_equal(read_leader(id).backend, b[0] + 1);
	assert_int_equal(svc_del(&pr->maps, &k6, NULL), 0);
}

/* Every refusal changes nothing. */
static void test_refusals(void **state)
{
	struct sluice_svc_key k = svctest_key("192.0.2.80", 5432, IPPROTO_TCP),
			      plain = svctest_key("192.0.2.80", 80, IPPROTO_TCP),
			      w = svctest_key("192.0.2.80", 5433, IPPROTO_TCP),
			      other = svctest_key("192.0.2.81", 80, IPPROTO_TCP);
	struct sluice_leader l;
	struct be_ref r;
	__u32 id, pid, oid, b;

	(void)state;
	SKIP_UNLESS_READY();
	id = add_svc(&k, SLUICE_MODE_NAT, 5433, 0);
	pid = add_svc(&plain, SLUICE_MODE_NAT, 0, 0);
	oid = add_svc(&other, SLUICE_MODE_NAT, 0, 1);
	b = svctest_add_be(&k, "10.0.4.5", 5432, 0);
	svctest_add_be(&k, "10.0.4.6", 5432, 0);
	svctest_add_be(&k, "10.0.4.6", 6000, 0);
	svctest_add_be(&plain, "10.0.4.9", 0, 0);
	svctest_add_be(&other, "10.0.4.7", 0, 0);
	r = svctest_ref("10.0.4.5", 0);
	assert_int_equal(set(&k, &r, SLUICE_LEADER_ELECTION), 0);
	l = read_leader(id);

	r = svctest_ref("10.0.4.9", 0);
	assert_int_equal(set(&plain, &r, SLUICE_LEADER_OPERATOR), -EINVAL);
	assert_non_null(
		strstr(err_msg(), "does not follow a leader: give it write-port or route leader"));
	assert_int_equal(read_leader(pid).backend, 0);
	assert_int_equal(set(&w, &r, SLUICE_LEADER_OPERATOR), -ENOENT);
	assert_non_null(strstr(err_msg(), "write port of service"));
	r = svctest_ref("10.0.4.6", 0);
	assert_int_equal(set(&k, &r, SLUICE_LEADER_OPERATOR), -ENOTUNIQ);
	assert_non_null(strstr(err_msg(), "give the port (10.0.4.6:PORT or 10.0.4.6 port PORT)"));
	r = svctest_ref("10.0.4.6", 7000);
	assert_int_equal(set(&k, &r, SLUICE_LEADER_OPERATOR), -ENOENT);
	r = svctest_ref("10.0.4.7", 0); /* another service's backend */
	assert_int_equal(set(&k, &r, SLUICE_LEADER_OPERATOR), -ENOENT);
	{
		struct sluice_leader now = read_leader(id);

		assert_memory_equal(&l, &now, sizeof(l));
	}
	/* The low level checks the backend belongs to the service. */
	assert_int_equal(leader_set(&pr->maps, oid, b, SLUICE_LEADER_OPERATOR, NULL), -ENOENT);
	assert_int_equal(
		leader_set(&pr->maps, id, SLUICE_MAX_BACKENDS, SLUICE_LEADER_OPERATOR, NULL),
		-EINVAL);
	assert_int_equal(leader_set(&pr->maps, id, b, 7, NULL), -EINVAL);
	assert_int_equal(leader_set(&pr->maps, SLUICE_MAX_SERVICES, b, 1, NULL), -EINVAL);
	assert_int_equal(read_leader(oid).backend, 0);
	assert_int_equal(read_leader(id).backend, l.backend);
	assert_int_equal(svc_del(&pr->maps, &k, NULL), 0);
	assert_int_equal(svc_del(&pr->maps, &plain, NULL), 0);
	assert_int_equal(svc_del(&pr->maps, &other, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_backend),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_write_port_keys),
		cmocka_unit_test(test_leader_and_read_table),
		cmocka_unit_test(test_delete_leader_backend),
		cmocka_unit_test(test_route_leader),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, pinroot_group_setup, pinroot_group_teardown);
}
