// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pure parts of steering, no maps: backend record validation
 * (backend_record_make), naming a backend (backend_find), the Maglev
 * identity and table build, shard prefix parsing and formatting, subset
 * member lists, and gateway settings checks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"
#include "backend.h"
#include "err.h"
#include "gateway.h"
#include "maglev.h"
#include "publish.h"
#include "shard.h"
#include "svc.h"
#include "svctest.h"

static void svc_of(const char *a, __u16 port, __u8 mode, __u32 id, struct sluice_svc_key *key,
		   struct sluice_svc *svc)
{
	*key = svctest_key(a, port, IPPROTO_TCP);
	memset(svc, 0, sizeof(*svc));
	svc->id = id;
	svc->mode = mode;
}

static void conf_of(const char *a, struct be_conf *c)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(addr_parse(a, &c->addr), 0);
}

static void test_record_nat(void **state)
{
	struct sluice_svc_key key;
	struct sluice_svc svc;
	struct sluice_backend r, before;
	struct be_conf c;

	(void)state;
	svc_of("192.0.2.10", 80, SLUICE_MODE_NAT, 7, &key, &svc);
	conf_of("10.0.0.1", &c);
	assert_int_equal(backend_record_make(&key, &svc, &c, &r), 0);
	assert_int_equal(ntohs(r.port), 80); /* defaults to the service port */
	assert_int_equal(r.weight, 1);
	assert_int_equal(r.state, SLUICE_BE_ACTIVE);
	assert_int_equal(r.svc_id, 7);
	assert_int_equal(r.flags, 0);
	assert_int_equal(backend_port(&r, &key), 80);

	c.has_port = c.has_weight = 1;
	c.port = 8080;
	c.weight = 65535;
	assert_int_equal(backend_record_make(&key, &svc, &c, &r), 0);
	assert_int_equal(ntohs(r.port), 8080);
	assert_int_equal(r.weight, 65535);

	memcpy(&before, &r, sizeof(r));
	c.weight = 0;
	assert_int_equal(backend_record_make(&key, &svc, &c, &r), -ERANGE);
	c.weight = 65536;
	assert_int_equal(backend_record_make(&key, &svc, &c, &r), -ERANGE);
	assert_non_null(strstr(err_msg(), "1..65535"));

	conf_of("2001:db8::1", &c); /* other family */
	assert_int_equal(backend_record_make(&key, &svc, &c, &r), -EINVAL);
	assert_non_null(strstr(err_msg(), "family"));
	assert_memory_equal(&r, &before, sizeof(r)); /* nothing written on refusal */
}

static void test_record_ipip_local(void **state)
{
	struct sluice_svc_key key;
	struct sluice_svc svc;
	struct sluice_backend r;
	struct be_conf c;

	(void)state;
	svc_of("2001:db8::10", 443, SLUICE_MODE_IPIP, 1, &key, &svc);
	conf_of("2001:db8:1::5", &c);
	assert_int_equal(backend_record_make(&key, &svc, &c, &r), 0);
	assert_int_equal(r.port, 0);		       /* ipip: stored 0 ... */
	assert_int_equal(backend_port(&r, &key), 443); /* ... shown as the service port */
	c.has_port = 1;
	c.port = 443; /* the service port is accepted */
	assert_int_equal(backend_record_make(&key, &svc, &c, &r), 0);
	assert_int_equal(r.port, 0);
	c.port = 8443;
	assert_int_equal(backend_record_make(&key, &svc, &c, &r), -EINVAL);
	assert_non_null(strstr(err_msg(), "does not rewrite ports"));

	svc.mode = SLUICE_MODE_LOCAL;
	c.has_port = 0;
	assert_int_equal(backend_record_make(&key, &svc, &c, &r), -EOPNOTSUPP);
	assert_non_null(strstr(err_msg(), "mode local"));
}

static void test_find(void **state)
{
	struct sluice_backend *all = calloc(SLUICE_MAX_BACKENDS, sizeof(*all));
	struct sluice_svc_key key;
	struct sluice_svc svc;
	struct be_ref ref;
	__u32 id = 99;

	(void)state;
	assert_non_null(all);
	svc_of("192.0.2.10", 80, SLUICE_MODE_NAT, 2, &key, &svc);
	assert_int_equal(addr_parse("10.0.0.1", &all[3].addr), 0);
	all[3].port = htons(8080);
	all[3].state = SLUICE_BE_ACTIVE;
	all[3].svc_id = 2;
	all[5] = all[3];
	all[5].port = htons(8081);
	all[6] = all[3];
	all[6].svc_id = 4; /* another service's */
	all[8] = all[3];
	all[8].port = htons(9000);
	all[8].state = SLUICE_BE_UNUSED; /* a free slot */

	memset(&ref, 0, sizeof(ref));
	ref.addr = all[3].addr;
	assert_int_equal(backend_find(all, &key, &svc, &ref, &id), -ENOTUNIQ);
	assert_non_null(strstr(err_msg(), "give the port"));
	ref.has_port = 1;
	ref.port = 8081;
	assert_int_equal(backend_find(all, &key, &svc, &ref, &id), 0);
	assert_int_equal(id, 5);
	ref.port = 9000;
	assert_int_equal(backend_find(all, &key, &svc, &ref, &id), -ENOENT);
	all[5].state = SLUICE_BE_DRAINING; /* draining still names it */
	ref.has_port = 0;
	all[3].state = SLUICE_BE_UNUSED;
	assert_int_equal(backend_find(all, &key, &svc, &ref, &id), 0);
	assert_int_equal(id, 5);
	free(all);
}

static void test_identity_and_build(void **state)
{
	struct sluice_backend *all = calloc(SLUICE_MAX_BACKENDS, sizeof(*all));
	__u8 ident[PUBLISH_IDENTITY_LEN], want[PUBLISH_IDENTITY_LEN];
	struct maglev_backend mb[2];
	__u8 id_a[PUBLISH_IDENTITY_LEN], id_b[PUBLISH_IDENTITY_LEN];
	__u32 ids[3] = { 10, 11, 12 }, *t, *ref;
	const __u32 m = 251;
	__u32 i;

	(void)state;
	assert_non_null(all);
	assert_int_equal(addr_parse("10.0.0.1", &all[10].addr), 0);
	all[10].port = htons(8080);
	all[10].state = SLUICE_BE_ACTIVE;
	all[10].weight = 1;
	publish_identity(&all[10], ident);
	memset(want, 0, sizeof(want));
	want[10] = want[11] = 0xff;
	want[12] = 10;
	want[15] = 1;
	want[16] = 0x1f; /* 8080 = 0x1f90, network order */
	want[17] = 0x90;
	assert_memory_equal(ident, want, sizeof(want));

	all[11] = all[10];
	all[11].port = htons(8081);
	all[11].weight = 3;
	all[12] = all[10];
	all[12].port = htons(8082);
	all[12].state = SLUICE_BE_DRAINING; /* left out */

	t = calloc(m + 1, sizeof(*t));
	ref = calloc(m, sizeof(*ref));
	assert_non_null(t);
	assert_non_null(ref);
	assert_int_equal(publish_table_build(all, ids, 3, m, t), 0);
	assert_int_equal(t[0], m);
	publish_identity(&all[10], id_a);
	publish_identity(&all[11], id_b);
	mb[0] = (struct maglev_backend){ id_a, sizeof(id_a), 1, 10 };
	mb[1] = (struct maglev_backend){ id_b, sizeof(id_b), 3, 11 };
	assert_int_equal(maglev_build(mb, 2, m, ref), 0);
	assert_memory_equal(t + 1, ref, m * sizeof(*ref));
	for (i = 1; i <= m; i++)
		assert_true(t[i] == 10 || t[i] == 11);

	assert_int_equal(publish_table_build(all, ids, 3, 250, t), -EINVAL); /* not prime */
	assert_int_equal(publish_table_build(all, ids, 0, m, t), 0);	     /* empty table */
	assert_int_equal(t[0], m);
	for (i = 1; i <= m; i++)
		assert_int_equal(t[i], SLUICE_NO_BACKEND);
	free(t);
	free(ref);
	free(all);
}

static void prefix_ok(const char *text, __u32 prefixlen, const char *addr, const char *shown)
{
	struct sluice_shard_key k;
	union sluice_addr a;
	char buf[SHARD_PREFIX_STRLEN];

	assert_int_equal(shard_prefix_parse(text, 9, &k), 0);
	assert_int_equal(k.prefixlen, prefixlen);
	assert_int_equal(k.svc_id, 9);
	assert_int_equal(addr_parse(addr, &a), 0);
	assert_memory_equal(&k.addr, &a, sizeof(a));
	shard_prefix_format(&k, buf, sizeof(buf));
	assert_string_equal(buf, shown);
}

static void test_prefixes(void **state)
{
	struct sluice_shard_key k;

	(void)state;
	prefix_ok("10.1.0.0/16", 32 + 96 + 16, "10.1.0.0", "10.1.0.0/16");
	prefix_ok("192.0.2.7", 32 + 128, "192.0.2.7", "192.0.2.7/32");
	prefix_ok("0.0.0.0/0", 32 + 96, "0.0.0.0", "0.0.0.0/0");
	prefix_ok("2001:db8::/32", 32 + 32, "2001:db8::", "2001:db8::/32");
	prefix_ok("2001:db8::1", 32 + 128, "2001:db8::1", "2001:db8::1/128");
	prefix_ok("::/0", 32, "::", "::/0");

	memset(&k, 0x5a, sizeof(k));
	assert_int_equal(shard_prefix_parse("10.1.0.1/16", 0, &k), -EINVAL);
	assert_non_null(strstr(err_msg(), "10.1.0.0/16"));
	assert_int_equal(shard_prefix_parse("10.1.0.0/33", 0, &k), -EINVAL);
	assert_int_equal(shard_prefix_parse("2001:db8::/129", 0, &k), -EINVAL);
	assert_int_equal(shard_prefix_parse("10.1.0.0/", 0, &k), -EINVAL);
	assert_int_equal(shard_prefix_parse("10.1.0.0/a", 0, &k), -EINVAL);
	assert_int_equal(shard_prefix_parse("10.1.0/8", 0, &k), -EINVAL);
	assert_int_equal(shard_prefix_parse("", 0, &k), -EINVAL);
	assert_int_equal(k.svc_id, 0x5a5a5a5a); /* nothing written on refusal */
}

static void test_members(void **state)
{
	struct be_ref r[SLUICE_SUBSET_MAX_MEMBERS];
	union sluice_addr a;
	size_t n = 0;

	(void)state;
	assert_int_equal(shard_members_parse("10.0.0.1,10.0.0.2:8080,[2001:db8::1]:80,2001:db8::2",
					     r, SLUICE_SUBSET_MAX_MEMBERS, &n),
			 0);
	assert_int_equal(n, 4);
	assert_int_equal(addr_parse("10.0.0.1", &a), 0);
	assert_memory_equal(&r[0].addr, &a, sizeof(a));
	assert_false(r[0].has_port);
	assert_true(r[1].has_port);
	assert_int_equal(r[1].port, 8080);
	assert_int_equal(addr_parse("2001:db8::1", &a), 0);
	assert_memory_equal(&r[2].addr, &a, sizeof(a));
	assert_int_equal(r[2].port, 80);
	assert_false(r[3].has_port);

	assert_int_equal(shard_members_parse("10.0.0.1,", r, 4, &n), -EINVAL);
	assert_int_equal(shard_members_parse(",10.0.0.1", r, 4, &n), -EINVAL);
	assert_int_equal(shard_members_parse("10.0.0.1,,10.0.0.2", r, 4, &n), -EINVAL);
	assert_int_equal(shard_members_parse("10.0.0.1:0", r, 4, &n), -EINVAL);
	assert_int_equal(shard_members_parse("[2001:db8::1", r, 4, &n), -EINVAL);
	assert_int_equal(shard_members_parse("", r, 4, &n), -EINVAL);
	assert_int_equal(shard_members_parse("1.1.1.1,1.1.1.2,1.1.1.3", r, 2, &n), -E2BIG);
}

static void test_gateway_conf(void **state)
{
	struct gateway_conf c;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(gateway_conf_check(&c), -EINVAL); /* nothing to set */
	c.has_src4 = 1;
	assert_int_equal(addr_parse("192.0.2.1", &c.src4), 0);
	assert_int_equal(gateway_conf_check(&c), 0);
	memset(&c.src4, 0, sizeof(c.src4)); /* none */
	assert_int_equal(gateway_conf_check(&c), 0);
	assert_int_equal(addr_parse("2001:db8::1", &c.src4), 0);
	assert_int_equal(gateway_conf_check(&c), -EINVAL);
	memset(&c, 0, sizeof(c));
	c.has_src6 = 1;
	assert_int_equal(addr_parse("192.0.2.1", &c.src6), 0);
	assert_int_equal(gateway_conf_check(&c), -EINVAL);
	memset(&c, 0, sizeof(c));
	c.has_udp_timeout = 1;
	assert_int_equal(gateway_conf_check(&c), -ERANGE);
	c.udp_timeout_s = GATEWAY_UDP_TIMEOUT_MAX + 1;
	assert_int_equal(gateway_conf_check(&c), -ERANGE);
	c.udp_timeout_s = 30;
	assert_int_equal(gateway_conf_check(&c), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_nat),   cmocka_unit_test(test_record_ipip_local),
		cmocka_unit_test(test_find),	     cmocka_unit_test(test_identity_and_build),
		cmocka_unit_test(test_prefixes),     cmocka_unit_test(test_members),
		cmocka_unit_test(test_gateway_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
