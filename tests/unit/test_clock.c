// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests of userspace/core/clock.c: one monotonic clock, three units that agree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "clock.h"

static void test_clock_units_agree(void **state)
{
	__u64 ns, us, ms, ns2;

	(void)state;
	ns = clock_mono_ns();
	us = clock_mono_us();
	ms = clock_mono_ms();
	ns2 = clock_mono_ns();
	/* Read in order: each later reading is at or after the earlier ones. */
	assert_true(ns / 1000 <= us);
	assert_true(us / 1000 <= ms);
	assert_true(ms <= ns2 / 1000000);
	assert_true(ns <= ns2);
}

static void test_clock_is_clock_monotonic(void **state)
{
	struct timespec ts;
	__u64 before, after;

	(void)state;
	before = clock_mono_ns();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	after = clock_mono_ns();
	assert_true(before <= (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec);
	assert_true((__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec <= after);
}

static void test_clock_advances(void **state)
{
	struct timespec d = { .tv_nsec = 2000000 }; /* 2 ms */
	__u64 ms = clock_mono_ms();

	(void)state;
	nanosleep(&d, NULL);
	assert_true(clock_mono_ms() >= ms + 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clock_units_agree),
		cmocka_unit_test(test_clock_is_clock_monotonic),
		cmocka_unit_test(test_clock_advances),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
