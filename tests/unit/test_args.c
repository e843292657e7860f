// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of userspace/args.c: strict ports, protocols, modes, counts
 * with k/m suffixes, and the unique-prefix keyword matcher.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "args.h"
#include "err.h"
#include "sluice_abi.h"
#include "wordtest.h"

static void test_ports(void **state)
{
	static const char *const bad[] = { "0",	  "65536", "70000", "80x",
					   "-1",  "",	   "+80",   " 80",
					   "80 ", "0x50",  "1e3",   "99999999999999999999" };
	__u16 p = 1234;
	size_t i;

	(void)state;
	assert_int_equal(args_parse_port("1", &p), 0);
	assert_int_equal(p, 1);
	assert_int_equal(args_parse_port("80", &p), 0);
	assert_int_equal(p, 80);
	assert_int_equal(args_parse_port("65535", &p), 0);
	assert_int_equal(p, 65535);
	assert_int_equal(args_parse_port("00080", &p), 0);
	assert_int_equal(p, 80);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = 4321;
		assert_true(args_parse_port(bad[i], &p) < 0);
		assert_int_equal(p, 4321);
		assert_true(strlen(err_msg()) > 0);
	}
	assert_int_equal(args_parse_port("0", &p), -ERANGE);
	assert_int_equal(args_parse_port("70000", &p), -ERANGE);
	assert_int_equal(args_parse_port("80x", &p), -EINVAL);
	assert_int_equal(args_parse_port(NULL, &p), -EINVAL);
}

static void test_protos(void **state)
{
	static const struct word_case good[] = { { "tcp", IPPROTO_TCP }, { "udp", IPPROTO_UDP } };
	static const char *const bad[] = { "TCP", "sctp", "", "tcpx" };

	(void)state;
	CHECK_WORDS(args_parse_proto, args_proto_name, good, bad);
}

static void test_modes(void **state)
{
	static const struct word_case good[] = {
		{ "local", SLUICE_MODE_LOCAL },
		{ "nat", SLUICE_MODE_NAT },
		{ "ipip", SLUICE_MODE_IPIP },
	};
	static const char *const bad[] = { "teleport", "", "Local", "na" };
	__u8 m = 0;

	(void)state;
	CHECK_WORDS(args_parse_mode, args_mode_name, good, bad);
	assert_int_equal(args_parse_mode("teleport", &m), -EINVAL);
	assert_non_null(strstr(err_msg(), "unknown mode"));
	assert_non_null(strstr(err_msg(), "local"));
}

static void test_hashes(void **state)
{
	static const struct word_case good[] = {
		{ "5tuple", SLUICE_HASH_5TUPLE },
		{ "client", SLUICE_HASH_CLIENT },
	};
	static const char *const bad[] = { "src", "" };
	__u8 h = 9;

	(void)state;
	CHECK_WORDS(args_parse_hash, args_hash_name, good, bad);
	assert_int_equal(args_parse_hash("src", &h), -EINVAL);
	assert_non_null(strstr(err_msg(), "5tuple"));
}

static void test_u32(void **state)
{
	__u32 v = 7;

	(void)state;
	assert_int_equal(args_parse_u32("1", 1, 65535, "weight", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(args_parse_u32("65535", 1, 65535, "weight", &v), 0);
	assert_int_equal(v, 65535);
	v = 7;
	assert_int_equal(args_parse_u32("0", 1, 65535, "weight", &v), -ERANGE);
	assert_int_equal(args_parse_u32("65536", 1, 65535, "weight", &v), -ERANGE);
	assert_non_null(strstr(err_msg(), "weight"));
	assert_int_equal(args_parse_u32("1k", 1, 65535, "weight", &v), -EINVAL);
	assert_int_equal(args_parse_u32("-1", 1, 65535, "weight", &v), -EINVAL);
	assert_int_equal(args_parse_u32("", 1, 65535, "weight", &v), -EINVAL);
	assert_int_equal(v, 7);
}

static void test_counts(void **state)
{
	__u32 v = 7;

	(void)state;
	assert_int_equal(args_parse_count("0", 100, "rate", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(args_parse_count("500", SLUICE_RATE_MAX_PPS, "rate", &v), 0);
	assert_int_equal(v, 500);
	assert_int_equal(args_parse_count("10k", SLUICE_RATE_MAX_PPS, "rate", &v), 0);
	assert_int_equal(v, 10000);
	assert_int_equal(args_parse_count("2m", SLUICE_RATE_MAX_PPS, "rate", &v), 0);
	assert_int_equal(v, 2000000);
	assert_int_equal(args_parse_count("2M", SLUICE_RATE_MAX_PPS, "rate", &v), 0);
	assert_int_equal(v, 2000000);
	assert_int_equal(args_parse_count("1000m", SLUICE_RATE_MAX_PPS, "rate", &v), 0);
	assert_int_equal(v, SLUICE_RATE_MAX_PPS);
	assert_int_equal(args_parse_count("1000000000", SLUICE_RATE_MAX_PPS, "rate", &v), 0);
	assert_int_equal(v, SLUICE_RATE_MAX_PPS);

	v = 7;
	assert_int_equal(args_parse_count("1000000001", SLUICE_RATE_MAX_PPS, "rate", &v), -ERANGE);
	assert_int_equal(args_parse_count("1001m", SLUICE_RATE_MAX_PPS, "rate", &v), -ERANGE);
	assert_int_equal(args_parse_count("5000000000", SLUICE_RATE_MAX_PPS, "rate", &v), -ERANGE);
	assert_int_equal(args_parse_count("18446744073709551617", SLUICE_RATE_MAX_PPS, "rate", &v),
			 -ERANGE);
	assert_int_equal(args_parse_count("", SLUICE_RATE_MAX_PPS, "rate", &v), -EINVAL);
	assert_int_equal(args_parse_count("k", SLUICE_RATE_MAX_PPS, "rate", &v), -EINVAL);
	assert_int_equal(args_parse_count("-5", SLUICE_RATE_MAX_PPS, "rate", &v), -EINVAL);
	assert_int_equal(args_parse_count("fast", SLUICE_RATE_MAX_PPS, "rate", &v), -EINVAL);
	assert_int_equal(args_parse_count("10kk", SLUICE_RATE_MAX_PPS, "rate", &v), -EINVAL);
	assert_int_equal(args_parse_count("10g", SLUICE_RATE_MAX_PPS, "rate", &v), -EINVAL);
	assert_int_equal(args_parse_count("1.5k", SLUICE_RATE_MAX_PPS, "rate", &v), -EINVAL);
	assert_int_equal(args_parse_count(" 5", SLUICE_RATE_MAX_PPS, "burst", &v), -EINVAL);
	assert_non_null(strstr(err_msg(), "burst"));
	assert_int_equal(v, 7);
}

struct entry {
	const char *name;
	int payload;
};

static const struct entry table[] = {
	{ "add", 1 },	      { "set", 2 },	     { "show", 3 }, { "stats", 4 },
	{ "client-rate", 5 }, { "client-burst", 6 }, { "rate", 7 }, { "rates", 8 },
};

/* egress-rate: units of bits and of bytes, bounds, and the canonical form read back. */
static void test_bitrates(void **state)
{
	static const struct {
		const char *text;
		int err;
		__u64 bps;
		const char *canon;
	} cases[] = {
		{ "0", 0, 0, "0" },
		{ "16mbit", 0, 16000000, "16mbit" },
		{ "16Mbit", 0, 16000000, "16mbit" },
		{ "2MB", 0, 16000000, "16mbit" },
		{ "1500kbit", 0, 1500000, "1500kbit" },
		{ "64kB", 0, 512000, "512kbit" },
		{ "64KB", 0, 512000, "512kbit" },
		{ "1gbit", 0, 1000000000, "1gbit" },
		{ "8000bit", 0, 8000, "8kbit" },
		{ "12345bit", 0, 12345, "12345bit" },
		{ "1000B", 0, 8000, "8kbit" },
		{ "400gbit", 0, 400000000000ull, "400gbit" },
		{ "7999bit", -ERANGE, 0, NULL },
		{ "401gbit", -ERANGE, 0, NULL },
		{ "99999999999999999999gbit", -ERANGE, 0, NULL },
		{ "2mb", -EINVAL, 0, NULL },
		{ "16", -EINVAL, 0, NULL },
		{ "mbit", -EINVAL, 0, NULL },
		{ "1.5mbit", -EINVAL, 0, NULL },
		{ " 16mbit", -EINVAL, 0, NULL },
		{ "", -EINVAL, 0, NULL },
	};
	char buf[32];
	__u64 v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = 42;
		assert_int_equal(args_parse_bitrate(cases[i].text, "egress-rate", &v),
				 cases[i].err);
		if (cases[i].err) {
			assert_int_equal(v, 42); /* untouched */
			assert_non_null(strstr(err_msg(), "egress-rate"));
			continue;
		}
		assert_true(v == cases[i].bps);
		args_format_bitrate(v, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].canon);
	}
}

static void test_keyword_prefixes(void **state)
{
	(void)state;
	assert_int_equal(ARGS_KEYWORD_FIND("add", table, "command"), 0);
	assert_int_equal(ARGS_KEYWORD_FIND("a", table, "command"), 0);
	assert_int_equal(ARGS_KEYWORD_FIND("se", table, "command"), 1);
	assert_int_equal(ARGS_KEYWORD_FIND("sh", table, "command"), 2);
	assert_int_equal(ARGS_KEYWORD_FIND("st", table, "command"), 3);
	assert_int_equal(ARGS_KEYWORD_FIND("client-r", table, "keyword"), 4);
	assert_int_equal(ARGS_KEYWORD_FIND("client-b", table, "keyword"), 5);
	/* An exact name wins over being a prefix of a longer one. */
	assert_int_equal(ARGS_KEYWORD_FIND("rate", table, "keyword"), 6);
	assert_int_equal(ARGS_KEYWORD_FIND("rates", table, "keyword"), 7);
}

static void test_keyword_ambiguous_and_unknown(void **state)
{
	(void)state;
	assert_int_equal(ARGS_KEYWORD_FIND("s", table, "command"), -ENOTUNIQ);
	assert_non_null(strstr(err_msg(), "set"));
	assert_non_null(strstr(err_msg(), "show"));
	assert_non_null(strstr(err_msg(), "stats"));
	assert_null(strstr(err_msg(), "add"));
	assert_int_equal(ARGS_KEYWORD_FIND("client", table, "keyword"), -ENOTUNIQ);
	assert_int_equal(ARGS_KEYWORD_FIND("rat", table, "keyword"), -ENOTUNIQ);
	assert_int_equal(ARGS_KEYWORD_FIND("colour", table, "keyword"), -ENOENT);
	assert_non_null(strstr(err_msg(), "unknown keyword 'colour'"));
	assert_non_null(strstr(err_msg(), "client-burst"));
	assert_int_equal(ARGS_KEYWORD_FIND("", table, "keyword"), -ENOENT);
	assert_int_equal(ARGS_KEYWORD_FIND("addx", table, "keyword"), -ENOENT);
	assert_int_equal(ARGS_KEYWORD_FIND(NULL, table, "keyword"), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_protos),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_hashes),
		cmocka_unit_test(test_u32),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_bitrates),
		cmocka_unit_test(test_keyword_prefixes),
		cmocka_unit_test(test_keyword_ambiguous_and_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
