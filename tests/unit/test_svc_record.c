// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the map records userspace/svc.c builds from parsed
 * arguments: struct sluice_svc_key (padding zero, port in network order) and
 * struct sluice_svc (defaults, rates, what `set` keeps). No maps involved.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"
#include "err.h"
#include "args.h"
#include "rate.h"
#include "svc.h"

/* The key exactly as the CLI builds it from "ADDR PORT PROTO". */
static void key_from_text(const char *a, const char *p, const char *proto,
			  struct sluice_svc_key *key)
{
	union sluice_addr addr;
	__u16 port;
	__u8 pr;

	assert_int_equal(addr_parse(a, &addr), 0);
	assert_int_equal(args_parse_port(p, &port), 0);
	assert_int_equal(args_parse_proto(proto, &pr), 0);
	memset(key, 0xaa, sizeof(*key)); /* garbage the builder must clear */
	assert_int_equal(svc_key_make(&addr, port, pr, key), 0);
}

static void test_key_bytes_ipv4(void **state)
{
	static const __u8
		want[20] = { 0,		  0,	0,   0, 0, 0,  0,    0,	   0, 0,
			     0xff,	  0xff, 192, 0, 2, 10, 0x1f, 0x90, /* 8080, big-endian */
			     IPPROTO_TCP, 0 /* pad */ };
	struct sluice_svc_key key;
	char text[SVC_KEY_STRLEN];

	(void)state;
	key_from_text("192.0.2.10", "8080", "tcp", &key);
	assert_memory_equal(&key, want, sizeof(want));
	assert_int_equal(key.port, htons(8080));
	svc_key_format(&key, text, sizeof(text));
	assert_string_equal(text, "192.0.2.10 port 8080 tcp");
}

static void test_key_bytes_ipv6(void **state)
{
	static const __u8 want[20] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0,	0, 0,  0,	    0,
				       0,    0,	   0,	 0,    0, 0x35, 0, 53, IPPROTO_UDP, 0 };
	struct sluice_svc_key key;
	char text[SVC_KEY_STRLEN];

	(void)state;
	key_from_text("2001:db8::35", "53", "udp", &key);
	assert_memory_equal(&key, want, sizeof(want));
	svc_key_format(&key, text, sizeof(text));
	assert_string_equal(text, "2001:db8::35 port 53 udp");
}

static void test_key_refusals(void **state)
{
	struct sluice_svc_key key;
	union sluice_addr addr;

	(void)state;
	assert_int_equal(addr_parse("192.0.2.1", &addr), 0);
	assert_int_equal(svc_key_make(&addr, 0, IPPROTO_TCP, &key), -EINVAL);
	assert_int_equal(svc_key_make(&addr, 80, IPPROTO_ICMP, &key), -EINVAL);
}

static void test_value_defaults(void **state)
{
	struct svc_conf conf = { 0 };
	struct sluice_svc v;

	(void)state;
	memset(&v, 0xaa, sizeof(v));
	assert_int_equal(svc_value_make(&conf, NULL, 5, &v), 0);
	assert_int_equal(v.id, 5);
	assert_int_equal(v.mode, SLUICE_MODE_LOCAL);
	assert_int_equal(v.hash | v.flags | v.pad, 0);
	assert_true(v.rate.interval == 0 && v.rate.tolerance == 0 && v.rate.pps == 0 &&
		    v.rate.burst == 0);
	assert_true(v.client_rate.interval == 0 && v.client_rate.tolerance == 0);
	assert_int_equal(svc_value_make(&conf, NULL, SLUICE_MAX_SERVICES, &v), -EINVAL);
}

static void test_value_steering(void **state)
{
	struct svc_conf conf = { 0 };
	struct sluice_svc v, w;

	(void)state;
	conf.has_mode = conf.has_hash = conf.has_maglev_size = 1;
	conf.mode = SLUICE_MODE_NAT;
	conf.hash = SLUICE_HASH_CLIENT;
	conf.maglev_size = 131071;
	assert_int_equal(svc_value_make(&conf, NULL, 3, &v), 0);
	assert_int_equal(v.mode, SLUICE_MODE_NAT);
	assert_int_equal(v.hash, SLUICE_HASH_CLIENT);
	assert_int_equal(v.flags | v.pad, 0);
	/* set: the hash is kept unless given */
	memset(&conf, 0, sizeof(conf));
	conf.has_rate = 1;
	conf.rate_pps = 100;
	assert_int_equal(svc_value_make(&conf, &v, 0, &w), 0);
	assert_int_equal(w.hash, SLUICE_HASH_CLIENT);
	assert_int_equal(w.mode, SLUICE_MODE_NAT);
	conf.has_hash = 1;
	conf.hash = SLUICE_HASH_5TUPLE;
	assert_int_equal(svc_value_make(&conf, &v, 0, &w), 0);
	assert_int_equal(w.hash, SLUICE_HASH_5TUPLE);
	/* ipip is a mode too */
	memset(&conf, 0, sizeof(conf));
	conf.has_mode = 1;
	conf.mode = SLUICE_MODE_IPIP;
	assert_int_equal(svc_value_make(&conf, NULL, 0, &v), 0);
	assert_int_equal(v.mode, SLUICE_MODE_IPIP);
}

static void test_value_rates(void **state)
{
	struct svc_conf conf = { 0 };
	struct sluice_svc v;

	(void)state;
	assert_int_equal(args_parse_count("10k", SLUICE_RATE_MAX_PPS, "rate", &conf.rate_pps), 0);
	conf.has_rate = 1;
	conf.has_client_rate = 1;
	conf.client_rate_pps = 100;
	conf.has_client_burst = 1;
	conf.client_burst = 7;
	assert_int_equal(svc_value_make(&conf, NULL, 0, &v), 0);
	assert_int_equal(v.rate.pps, 10000);
	assert_int_equal(v.rate.burst, 200); /* default: 20 ms */
	assert_true(v.rate.interval == rate_interval(10000));
	assert_true(v.rate.tolerance == 200 * v.rate.interval);
	assert_int_equal(v.client_rate.pps, 100);
	assert_int_equal(v.client_rate.burst, 7);
	assert_true(v.client_rate.tolerance == 7 * rate_interval(100));
}

static void test_value_refusals(void **state)
{
	struct svc_conf conf;
	struct sluice_svc v, before;

	(void)state;
	memset(&v, 0x5a, sizeof(v));
	before = v;

	memset(&conf, 0, sizeof(conf)); /* burst without rate */
	conf.has_burst = 1;
	conf.burst = 10;
	assert_int_equal(svc_value_make(&conf, NULL, 0, &v), -EINVAL);

	memset(&conf, 0, sizeof(conf)); /* client-burst without client-rate */
	conf.has_client_burst = 1;
	conf.client_burst = 10;
	assert_int_equal(svc_value_make(&conf, NULL, 0, &v), -EINVAL);

	memset(&conf, 0, sizeof(conf)); /* burst 0 */
	conf.has_rate = conf.has_burst = 1;
	conf.rate_pps = 100;
	assert_int_equal(svc_value_make(&conf, NULL, 0, &v), -EINVAL);

	memset(&conf, 0, sizeof(conf)); /* unlimited with a burst */
	conf.has_rate = conf.has_burst = 1;
	conf.burst = 5;
	assert_int_equal(svc_value_make(&conf, NULL, 0, &v), -EINVAL);

	memset(&conf, 0, sizeof(conf)); /* an unknown mode */
	conf.has_mode = 1;
	conf.mode = 9;
	assert_int_equal(svc_value_make(&conf, NULL, 0, &v), -EINVAL);

	memset(&conf, 0, sizeof(conf)); /* maglev-size on a local service */
	conf.has_maglev_size = 1;
	conf.maglev_size = 65537;
	assert_int_equal(svc_value_make(&conf, NULL, 0, &v), -EINVAL);
	assert_non_null(strstr(err_msg(), "nat or ipip"));

	memset(&conf, 0, sizeof(conf)); /* maglev-size not a prime */
	conf.has_mode = conf.has_maglev_size = 1;
	conf.mode = SLUICE_MODE_NAT;
	conf.maglev_size = 65535;
	assert_int_equal(svc_value_make(&conf, NULL, 0, &v), -EINVAL);
	conf.maglev_size = 655379; /* a prime, over SLUICE_MAGLEV_M_MAX */
	assert_int_equal(svc_value_make(&conf, NULL, 0, &v), -EINVAL);

	memset(&conf, 0, sizeof(conf)); /* unknown hash */
	conf.has_hash = 1;
	conf.hash = 7;
	assert_int_equal(svc_value_make(&conf, NULL, 0, &v), -EINVAL);

	memset(&conf, 0, sizeof(conf)); /* burst of more than an hour */
	conf.has_rate = conf.has_burst = 1;
	conf.rate_pps = 10;
	conf.burst = 36001;
	assert_int_equal(svc_value_make(&conf, NULL, 0, &v), -ERANGE);

	assert_memory_equal(&v, &before, sizeof(v)); /* nothing written on refusal */
}

static void test_value_set_keeps(void **state)
{
	struct svc_conf conf = { 0 };
	struct sluice_svc base, v;

	(void)state;
	conf.has_rate = conf.has_client_rate = 1;
	conf.rate_pps = 500;
	conf.client_rate_pps = 50;
	assert_int_equal(svc_value_make(&conf, NULL, 9, &base), 0);

	/* Change the client rate only: id, mode and rate stay. */
	memset(&conf, 0, sizeof(conf));
	conf.has_client_rate = 1;
	conf.client_rate_pps = 0;
	assert_int_equal(svc_value_make(&conf, &base, 0, &v), 0);
	assert_int_equal(v.id, 9);
	assert_int_equal(v.mode, SLUICE_MODE_LOCAL);
	assert_memory_equal(&v.rate, &base.rate, sizeof(v.rate));
	assert_true(v.client_rate.interval == 0 && v.client_rate.pps == 0);

	/* A new rate without a burst takes the new rate's default burst. */
	memset(&conf, 0, sizeof(conf));
	conf.has_rate = 1;
	conf.rate_pps = 5000;
	assert_int_equal(svc_value_make(&conf, &base, 0, &v), 0);
	assert_int_equal(v.rate.burst, 100);
	assert_memory_equal(&v.client_rate, &base.client_rate, sizeof(v.client_rate));
}

/* write-port and route: the rules that need no map. */
static void test_value_leader(void **state)
{
	struct sluice_svc_key key;
	struct sluice_svc v, base;
	struct svc_conf c;
	int route = -1;

	(void)state;
	key_from_text("192.0.2.10", "5432", "tcp", &key);
	/* route sets the flag of the service's key; maglev clears it. */
	memset(&c, 0, sizeof(c));
	c.has_mode = 1;
	c.mode = SLUICE_MODE_NAT;
	c.has_route = 1;
	c.route_leader = 1;
	assert_int_equal(svc_value_make(&c, NULL, 3, &v), 0);
	assert_int_equal(v.flags, SLUICE_SVC_F_LEADER);
	assert_int_equal(v.pad, 0);
	base = v;
	memset(&c, 0, sizeof(c));
	c.has_rate = 1;
	c.rate_pps = 100;
	assert_int_equal(svc_value_make(&c, &base, 0, &v), 0);
	assert_int_equal(v.flags, SLUICE_SVC_F_LEADER); /* set keeps it */
	c.has_route = 1;
	c.route_leader = 0;
	assert_int_equal(svc_value_make(&c, &base, 0, &v), 0);
	assert_int_equal(v.flags, 0);
	/* A local service follows no leader: neither route leader nor a write port. */
	memset(&c, 0, sizeof(c));
	c.has_route = 1;
	c.route_leader = 1;
	assert_int_equal(svc_value_make(&c, NULL, 0, &v), -EINVAL);
	assert_non_null(strstr(err_msg(), "route leader applies to services in mode nat or ipip"));
	memset(&c, 0, sizeof(c));
	c.has_write_port = 1;
	c.write_port = 5433;
	assert_int_equal(svc_value_make(&c, NULL, 0, &v), -EINVAL);
	assert_non_null(strstr(err_msg(), "write-port applies to services in mode nat or ipip"));
	/* Both at once: refused, route leader already covers the writes. */
	c.has_mode = 1;
	c.mode = SLUICE_MODE_IPIP;
	c.has_route = 1;
	c.route_leader = 1;
	assert_int_equal(svc_value_make(&c, NULL, 0, &v), -EINVAL);
	assert_non_null(strstr(err_msg(), "give either write-port or route leader"));
	/* A mode change to local keeps a stored route leader: refused, says how. */
	base.flags = SLUICE_SVC_F_LEADER;
	memset(&c, 0, sizeof(c));
	c.has_mode = 1;
	c.mode = SLUICE_MODE_LOCAL;
	assert_int_equal(svc_value_make(&c, &base, 0, &v), -EINVAL);
	assert_non_null(strstr(err_msg(), "give route maglev too"));
	/* svc_write_check: none is fine anywhere; the own port never. */
	assert_int_equal(svc_write_check(&key, SLUICE_MODE_LOCAL, 0, 0), 0);
	assert_int_equal(svc_write_check(&key, SLUICE_MODE_NAT, 0, 5433), 0);
	assert_int_equal(svc_write_check(&key, SLUICE_MODE_NAT, 0, 5432), -EINVAL);
	assert_non_null(strstr(err_msg(), "write-port 5432 is the service's own port"));
	assert_int_equal(svc_write_check(&key, SLUICE_MODE_NAT, 1, 5433), -EINVAL);
	assert_int_equal(svc_write_check(&key, SLUICE_MODE_LOCAL, 0, 5433), -EINVAL);
	/* route names. */
	assert_int_equal(svc_parse_route("leader", &route), 0);
	assert_int_equal(route, 1);
	assert_int_equal(svc_parse_route("maglev", &route), 0);
	assert_int_equal(route, 0);
	assert_int_equal(svc_parse_route("leaders", &route), -EINVAL);
	assert_int_equal(svc_parse_route(NULL, &route), -EINVAL);
	assert_string_equal(svc_route_name(1), "leader");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_bytes_ipv4),	cmocka_unit_test(test_key_bytes_ipv6),
		cmocka_unit_test(test_key_refusals),	cmocka_unit_test(test_value_defaults),
		cmocka_unit_test(test_value_rates),	cmocka_unit_test(test_value_refusals),
		cmocka_unit_test(test_value_set_keeps), cmocka_unit_test(test_value_steering),
		cmocka_unit_test(test_value_leader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
