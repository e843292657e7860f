// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests of userspace/core/err.c: the last message and err_text()'s fallback. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"

static void test_err_text_without_a_message(void **state)
{
	(void)state;
	err_clear();
	assert_string_equal(err_msg(), "");
	assert_string_equal(err_text(-ENOENT), strerror(ENOENT));
	assert_string_equal(err_text(-EINVAL), strerror(EINVAL));
}

static void test_err_text_with_a_message(void **state)
{
	(void)state;
	err_clear();
	err_set("cannot open %s", "x.yaml");
	assert_string_equal(err_text(-ENOENT), "cannot open x.yaml");
	err_clear();
	assert_string_equal(err_text(-ENOENT), strerror(ENOENT));
}

static void test_err_set_wraps_the_last_message(void **state)
{
	(void)state;
	err_set("inner");
	err_set("outer: %s", err_msg());
	assert_string_equal(err_text(-EIO), "outer: inner");
	err_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_text_without_a_message),
		cmocka_unit_test(test_err_text_with_a_message),
		cmocka_unit_test(test_err_set_wraps_the_last_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
