// SPDX-License-Identifier: GPL-2.0-only
/*
 * Times as text (userspace/core/timefmt.c): the RFC 3339, relative and
 * @UNIX_SECONDS forms, their refusals, and the RFC 3339 UTC output.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "timefmt.h"

#define SEC 1000000000ull

static void test_parse_time(void **state)
{
	__u64 now = 1795806000ull * SEC, ns; /* 2026-11-27T19:00:00Z */
	char buf[40];

	(void)state;
	assert_int_equal(timefmt_parse("2026-11-27T19:00:00Z", now, &ns), 0);
	assert_int_equal(ns, now);
	assert_int_equal(timefmt_parse("2026-11-27 20:30:00.25+01:30", now, &ns), 0);
	assert_int_equal(ns, now + SEC / 4);
	assert_int_equal(timefmt_parse("2026-11-27T18:00:00-01:00", now, &ns), 0);
	assert_int_equal(ns, now);
	assert_int_equal(timefmt_parse("-5m", now, &ns), 0);
	assert_int_equal(ns, now - 300 * SEC);
	assert_int_equal(timefmt_parse("-2h", now, &ns), 0);
	assert_int_equal(ns, now - 7200 * SEC);
	assert_int_equal(timefmt_parse("+10s", now, &ns), 0);
	assert_int_equal(ns, now + 10 * SEC);
	assert_int_equal(timefmt_parse("-1d", now, &ns), 0);
	assert_int_equal(ns, now - 86400 * SEC);
	assert_int_equal(timefmt_parse("now", now, &ns), 0);
	assert_int_equal(ns, now);
	assert_int_equal(timefmt_parse("@1795806000", now, &ns), 0);
	assert_int_equal(ns, now);
	assert_int_equal(timefmt_parse("@1795806000.5", now, &ns), 0);
	assert_int_equal(ns, now + SEC / 2);
	assert_int_equal(timefmt_parse("2026-11-27T19:00:00", now, &ns), -EINVAL);
	assert_non_null(strstr(err_msg(), "RFC 3339"));
	assert_int_equal(timefmt_parse("-5", now, &ns), -EINVAL);
	assert_int_equal(timefmt_parse("-5w", now, &ns), -EINVAL);
	assert_int_equal(timefmt_parse("@", now, &ns), -EINVAL);
	assert_int_equal(timefmt_parse("yesterday", now, &ns), -EINVAL);
	assert_int_equal(timefmt_parse("2026-11-27T19:00:00Zjunk", now, &ns), -EINVAL);
	timefmt_format(now + 123 * 1000000ull, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-27T19:00:00.123Z");
}

static void test_parse_edges(void **state)
{
	__u64 now = 1795806000ull * SEC, ns = 7;

	(void)state;
	/* Lower-case separators, a fraction finer than ns (cut), a zero offset. */
	assert_int_equal(timefmt_parse("2026-11-27t19:00:00.0000000019z", now, &ns), 0);
	assert_int_equal(ns, now + 1);
	assert_int_equal(timefmt_parse("2026-11-27T19:00:00+00:00", now, &ns), 0);
	assert_int_equal(ns, now);
	/* Going back past the epoch stops at 0. */
	assert_int_equal(timefmt_parse("-1d", 3600 * SEC, &ns), 0);
	assert_int_equal(ns, 0);
	assert_int_equal(timefmt_parse("-90s", now, &ns), 0);
	assert_int_equal(ns, now - 90 * SEC);
	/* Refused, and *ns left alone. */
	ns = 7;
	assert_int_equal(timefmt_parse("-5mm", now, &ns), -EINVAL);
	assert_int_equal(timefmt_parse("-100000001s", now, &ns), -EINVAL);
	assert_int_equal(timefmt_parse("@18000000001", now, &ns), -EINVAL);
	assert_int_equal(timefmt_parse("@1.5x", now, &ns), -EINVAL);
	assert_int_equal(timefmt_parse("2026-11-27T19:00:00+1:00", now, &ns), -EINVAL);
	assert_int_equal(timefmt_parse("", now, &ns), -EINVAL);
	assert_int_equal(ns, 7);
	assert_non_null(strstr(err_msg(), "bad time ''"));
}

/*
 * Times __u64 ns cannot hold are refused, not wrapped (issue 13, F6:
 * "-213504d" was 25 minutes ago, year 2554 was 1970). The last
 * representable ns is 2554-07-21T23:34:33.709551615Z.
 */
static void test_parse_range(void **state)
{
	__u64 now = 1795806000ull * SEC, ns = 7;

	(void)state;
	assert_int_equal(timefmt_parse("-213504d", now, &ns), -EINVAL);
	assert_non_null(strstr(err_msg(), "out of range"));
	assert_int_equal(timefmt_parse("+213504d", now, &ns), -EINVAL);
	assert_int_equal(timefmt_parse("-99999999d", now, &ns), -EINVAL);
	assert_int_equal(timefmt_parse("+100000000h", now, &ns), -EINVAL);
	/* Representable past now, but now + it is not. */
	assert_int_equal(timefmt_parse("+200000d", now, &ns), -EINVAL);
	assert_int_equal(timefmt_parse("2554-07-21T23:34:34Z", now, &ns), -EINVAL);
	assert_non_null(strstr(err_msg(), "out of range"));
	assert_int_equal(timefmt_parse("2554-07-21T23:34:33.8Z", now, &ns), -EINVAL);
	assert_int_equal(timefmt_parse("2554-07-22T00:34:34+01:00", now, &ns), -EINVAL);
	assert_int_equal(timefmt_parse("9999-12-31T23:59:59Z", now, &ns), -EINVAL);
	assert_int_equal(ns, 7);
	/* The edges themselves still parse. */
	assert_int_equal(timefmt_parse("2554-07-21T23:34:33.709551615Z", now, &ns), 0);
	assert_true(ns == UINT64_MAX);
	assert_int_equal(timefmt_parse("2554-07-22T00:34:33+01:00", now, &ns), 0);
	assert_int_equal(ns, 18446744073ull * SEC);
	assert_int_equal(timefmt_parse("-100000000s", now, &ns), 0);
	assert_int_equal(ns, now - 100000000ull * SEC);
	assert_int_equal(timefmt_parse("+100000000s", now, &ns), 0);
	assert_int_equal(ns, now + 100000000ull * SEC);
	assert_int_equal(timefmt_parse("-213503d", now, &ns), 0);
	assert_int_equal(ns, 0);
}

static void test_format(void **state)
{
	char buf[40];

	(void)state;
	timefmt_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
	timefmt_format(1795806000ull * SEC + 999999999, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-27T19:00:00.999Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_parse_edges),
		cmocka_unit_test(test_parse_range),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
