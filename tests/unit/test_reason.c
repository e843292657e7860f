// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests of userspace/reason.c: every enum sluice_reason has a unique name. */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "reason.h"

static void test_every_reason_named_uniquely(void **state)
{
	unsigned int i, j;

	(void)state;
	for (i = 0; i < SLUICE_R_MAX; i++) {
		const char *n = reason_name(i), *p;

		assert_non_null(n);
		assert_non_null(reason_desc(i));
		assert_true(strlen(reason_desc(i)) > 0);
		assert_true(strlen(n) > 0);
		for (p = n; *p; p++) /* snake_case: usable as a JSON key and jq path */
			assert_true(islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
				    *p == '_');
		for (j = 0; j < i; j++)
			assert_string_not_equal(n, reason_name(j));
		assert_int_equal(reason_from_name(n), (int)i);
	}
	assert_null(reason_name(SLUICE_R_MAX));
	assert_null(reason_desc(SLUICE_R_MAX));
	assert_int_equal(reason_from_name("nope"), -ENOENT);
}

static void test_names_match_the_abi(void **state)
{
	(void)state;
	assert_string_equal(reason_name(SLUICE_R_ADMITTED), "admitted");
	assert_string_equal(reason_name(SLUICE_R_NOT_SERVICE), "not_service");
	assert_string_equal(reason_name(SLUICE_R_NOT_IP), "not_ip");
	assert_string_equal(reason_name(SLUICE_R_NOT_L4), "not_l4");
	assert_string_equal(reason_name(SLUICE_R_FRAGMENT), "fragment");
	assert_string_equal(reason_name(SLUICE_R_MALFORMED), "malformed");
	assert_string_equal(reason_name(SLUICE_R_EXT_LIMIT), "ext_limit");
	assert_string_equal(reason_name(SLUICE_R_DROP_SVC_RATE), "drop_svc_rate");
	assert_string_equal(reason_name(SLUICE_R_DROP_CLIENT_RATE), "drop_client_rate");
	assert_true(reason_is_service(SLUICE_R_ADMITTED));
	assert_true(reason_is_service(SLUICE_R_DROP_SVC_RATE));
	assert_true(reason_is_service(SLUICE_R_DROP_CLIENT_RATE));
	assert_false(reason_is_service(SLUICE_R_NOT_IP));
	assert_string_equal(reason_name(SLUICE_R_OTHER_HOST), "other_host");
	assert_string_equal(reason_name(SLUICE_R_BAD_FLAGS), "bad_flags");
	assert_string_equal(reason_name(SLUICE_R_MARTIAN), "martian");
}

/*
 * The table's service flag is the ABI's SLUICE_R_IS_SVC_VERDICT; each verdict
 * has a slot of its own below SLUICE_SVC_SLOTS (two sharing one would add up).
 */
static void test_service_verdicts_match_the_abi(void **state)
{
	unsigned int i, used = 0;

	(void)state;
	for (i = 0; i < SLUICE_R_MAX; i++) {
		assert_int_equal(reason_is_service(i), !!SLUICE_R_IS_SVC_VERDICT(i));
		if (!reason_is_service(i))
			continue;
		assert_true(sluice_svc_slot(i) < SLUICE_SVC_SLOTS);
		assert_false(used & (1u << sluice_svc_slot(i)));
		used |= 1u << sluice_svc_slot(i);
	}
	/* other_host is decided before any service match: global only. */
	assert_false(reason_is_service(SLUICE_R_OTHER_HOST));
	assert_true(reason_is_service(SLUICE_R_BAD_FLAGS));
	assert_true(reason_is_service(SLUICE_R_MARTIAN));
}

/* SLUICE_R_IS_REFUSAL (the ABI's one list) and the descriptions agree. */
static void test_refusals_are_the_refused_reasons(void **state)
{
	unsigned int i, n = 0;

	(void)state;
	for (i = 0; i < SLUICE_R_MAX; i++) {
		int refused = !strncmp(reason_desc(i), "refused:", 8);

		assert_int_equal(!!SLUICE_R_IS_REFUSAL(i), refused);
		if (refused)
			assert_true(reason_is_service(i));
		n += refused;
	}
	assert_int_equal(n, 5);
	assert_true(SLUICE_R_IS_REFUSAL(SLUICE_R_LEADER_MOVED));
	assert_false(SLUICE_R_IS_REFUSAL(SLUICE_R_NO_BACKEND));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_reason_named_uniquely),
		cmocka_unit_test(test_names_match_the_abi),
		cmocka_unit_test(test_service_verdicts_match_the_abi),
		cmocka_unit_test(test_refusals_are_the_refused_reasons),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
