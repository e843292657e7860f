// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of userspace/addr.c: IPv4 and IPv6 text to union sluice_addr
 * (IPv4 v4-mapped) and back, and refusal of garbage.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "addr.h"

static void roundtrip(const char *in, const char *want)
{
	union sluice_addr a;
	char buf[ADDR_STRLEN];

	assert_int_equal(addr_parse(in, &a), 0);
	assert_int_equal(addr_format(&a, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void test_ipv4_is_v4mapped(void **state)
{
	static const __u8 want[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1 };
	union sluice_addr a;

	(void)state;
	assert_int_equal(addr_parse("192.0.2.1", &a), 0);
	assert_memory_equal(a.u8, want, 16);
	assert_int_equal(addr_family(&a), AF_INET);
	assert_true(addr_is_v4mapped(&a));
	roundtrip("192.0.2.1", "192.0.2.1");
	roundtrip("0.0.0.0", "0.0.0.0");
	roundtrip("255.255.255.255", "255.255.255.255");
}

static void test_ipv6(void **state)
{
	union sluice_addr a;

	(void)state;
	assert_int_equal(addr_parse("2001:db8::1", &a), 0);
	assert_int_equal(a.u8[0], 0x20);
	assert_int_equal(a.u8[1], 0x01);
	assert_int_equal(a.u8[15], 1);
	assert_int_equal(addr_family(&a), AF_INET6);
	assert_false(addr_is_v4mapped(&a));
	roundtrip("2001:db8::1", "2001:db8::1");
	roundtrip("2001:DB8:0:0:0:0:0:1", "2001:db8::1");
	roundtrip("::", "::");
	roundtrip("::1", "::1");
	roundtrip("fe80::1:2:3:4", "fe80::1:2:3:4");
}

static void test_mapped_text_prints_as_ipv4(void **state)
{
	union sluice_addr a, b;

	(void)state;
	/* ::ffff:a.b.c.d written as IPv6 is the same key as the IPv4 text. */
	assert_int_equal(addr_parse("::ffff:198.51.100.7", &a), 0);
	assert_int_equal(addr_parse("198.51.100.7", &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	roundtrip("::ffff:198.51.100.7", "198.51.100.7");
	roundtrip("::ffff:c633:6407", "198.51.100.7");
	/* Not mapped: ::a.b.c.d (deprecated compatible form) stays IPv6. */
	assert_int_equal(addr_parse("::198.51.100.7", &a), 0);
	assert_int_equal(addr_family(&a), AF_INET6);
}

static void test_garbage_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"1.2.3",
		"1.2.3.4.5",
		"256.1.1.1",
		"1.2.3.4x",
		" 1.2.3.4",
		"1.2.3.4 ",
		"1.2.3.4/24",
		"01.2.3.4x",
		"localhost",
		"2001:db8::1::2",
		"2001:db8::g",
		"[2001:db8::1]",
		"fe80::1%eth0",
		"1:2:3:4:5:6:7:8:9",
		"0000:0000:0000:0000:0000:0000:0000:0000:0000",
		"::ffff:1.2.3.4.5",
	};
	union sluice_addr a, before;
	size_t i;

	(void)state;
	memset(&a, 0xab, sizeof(a));
	before = a;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(addr_parse(bad[i], &a), -EINVAL);
		assert_memory_equal(&a, &before, sizeof(a)); /* untouched on error */
	}
	assert_int_equal(addr_parse(NULL, &a), -EINVAL);
}

static void test_overlong_refused(void **state)
{
	char text[128];
	union sluice_addr a;

	(void)state;
	memset(text, '1', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	assert_int_equal(addr_parse(text, &a), -EINVAL);
	/* The longest valid IPv6 text (45 characters) is accepted. */
	assert_int_equal(addr_parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", &a), 0);
}

static void test_format_small_buffer(void **state)
{
	union sluice_addr a;
	char buf[4];

	(void)state;
	assert_int_equal(addr_parse("2001:db8::1", &a), 0);
	assert_int_equal(addr_format(&a, buf, sizeof(buf)), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_is_v4mapped),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_mapped_text_prints_as_ipv4),
		cmocka_unit_test(test_garbage_refused),
		cmocka_unit_test(test_overlong_refused),
		cmocka_unit_test(test_format_small_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
