// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the token bucket: userspace/rate.c's intervals driving
 * bpf/lib/gcra.h (the very code the data plane runs) on a simulated clock.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "gcra.h"
#include "rate.h"

static void test_intervals(void **state)
{
	(void)state;
	assert_true(RATE_TICKS_PER_SEC == 16000000000ull);
	assert_true(rate_interval(0) == 0);
	assert_true(rate_interval(1) == 16000000000ull);
	assert_true(rate_interval(1000) == 16000000ull);
	assert_true(rate_interval(3000000) == 5333); /* 5333.33 rounds down */
	assert_true(rate_interval(6000000) == 2667); /* 2666.67 rounds up */
	assert_true(rate_interval(1000000000 / 7) == 112);
	assert_true(rate_interval(SLUICE_RATE_MAX_PPS) == 16);
}

static void test_default_burst(void **state)
{
	(void)state;
	assert_int_equal(rate_default_burst(0), 0);
	assert_int_equal(rate_default_burst(1), 1);
	assert_int_equal(rate_default_burst(99), 1);
	assert_int_equal(rate_default_burst(100), 2);
	assert_int_equal(rate_default_burst(10000), 200); /* 20 ms of traffic */
	assert_int_equal(rate_default_burst(SLUICE_RATE_MAX_PPS), 20000000);
}

static void test_make(void **state)
{
	struct sluice_rate r;

	(void)state;
	assert_int_equal(rate_make(10000, 0, &r), 0);
	assert_true(r.interval == 1600000);
	assert_int_equal(r.burst, 200);
	assert_true(r.tolerance == 200ull * 1600000);
	assert_int_equal(r.pps, 10000);
	assert_int_equal(rate_make(10000, 7, &r), 0);
	assert_true(r.tolerance == 7ull * r.interval);
	assert_true(rate_effective_burst(&r) == 7);

	/* Unlimited is all zeroes. */
	memset(&r, 0xff, sizeof(r));
	assert_int_equal(rate_make(0, 0, &r), 0);
	assert_true(r.interval == 0 && r.tolerance == 0 && r.pps == 0 && r.burst == 0);

	/* Refusals leave r alone. */
	memset(&r, 0x5a, sizeof(r));
	assert_int_equal(rate_make(0, 5, &r), -EINVAL);
	assert_int_equal(rate_make(SLUICE_RATE_MAX_PPS + 1, 0, &r), -ERANGE);
	assert_int_equal(rate_make(1, RATE_BURST_MAX_SECONDS + 1, &r), -ERANGE);
	assert_int_equal(r.pps, 0x5a5a5a5a);
	assert_int_equal(rate_make(1, RATE_BURST_MAX_SECONDS, &r), 0);
	assert_int_equal(rate_make(SLUICE_RATE_MAX_PPS, SLUICE_RATE_MAX_PPS, &r), 0);
}

static void test_inverse(void **state)
{
	static const __u32 rates[] = { 1, 7, 1000, 10000, 999983, 3000000, 32000000 };
	size_t i;

	(void)state;
	assert_true(rate_effective_pps(0) == 0);
	for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		__u64 eff = rate_effective_pps(rate_interval(rates[i]));
		__u64 diff = eff > rates[i] ? eff - rates[i] : rates[i] - eff;

		assert_true(diff * 1000 <= rates[i]); /* within 0.1 % */
	}
	assert_true(rate_effective_pps(rate_interval(SLUICE_RATE_MAX_PPS)) == SLUICE_RATE_MAX_PPS);
}

static void test_burst_then_one_per_interval(void **state)
{
	const __u64 t0 = 123456789000ull;
	struct sluice_rate r;
	__u64 tat = 0, next = 0;
	__u32 i;

	(void)state;
	assert_int_equal(rate_make(1000, 10, &r), 0);
	/* An idle bucket admits exactly `burst` packets back to back. */
	for (i = 0; i < 10; i++) {
		assert_int_equal(sluice_gcra_admit(tat, t0, r.interval, r.tolerance, &next), 1);
		tat = next;
	}
	next = 42;
	assert_int_equal(sluice_gcra_admit(tat, t0, r.interval, r.tolerance, &next), 0);
	assert_true(next == 42); /* a refusal leaves next alone */
	/* Then one per interval, not one more. */
	for (i = 1; i <= 100; i++) {
		__u64 now = t0 + i * r.interval;

		assert_int_equal(sluice_gcra_admit(tat, now, r.interval, r.tolerance, &next), 1);
		tat = next;
		assert_int_equal(sluice_gcra_admit(tat, now, r.interval, r.tolerance, &next), 0);
		assert_int_equal(sluice_gcra_admit(tat, now + r.interval - 1, r.interval,
						   r.tolerance, &next),
				 0);
	}
}

/*
 * A sender that always has a packet ready (saturating, at tick resolution):
 * each packet goes at the first tick the bucket admits it; one tick earlier
 * it is refused. Over one simulated second the count is the burst (minus the
 * one the first interval accounts for) plus one per interval: pps within
 * 0.1 %.
 */
static void long_run(__u32 pps, __u32 burst)
{
	const __u64 t0 = 1ull << 40; /* a machine up for about a minute */
	struct sluice_rate r;
	__u64 tat = 0, next = 0, now = t0, admitted = 0, expect, diff, earliest;

	assert_int_equal(rate_make(pps, burst, &r), 0);
	while (now < t0 + RATE_TICKS_PER_SEC) {
		/* First tick at which max(tat, now) + interval - now <= tolerance. */
		earliest = tat + r.interval > r.tolerance ? tat + r.interval - r.tolerance : 0;
		if (earliest > now) {
			assert_int_equal(sluice_gcra_admit(tat, earliest - 1, r.interval,
							   r.tolerance, &next),
					 0);
			now = earliest;
			if (now >= t0 + RATE_TICKS_PER_SEC)
				break;
		}
		assert_int_equal(sluice_gcra_admit(tat, now, r.interval, r.tolerance, &next), 1);
		tat = next;
		admitted++;
	}
	expect = (__u64)pps + r.burst - 1;
	diff = admitted > expect ? admitted - expect : expect - admitted;
	if (diff * 1000 > pps && diff > 1)
		fail_msg("pps %u burst %u: admitted %llu in 1 s, expected %llu", pps, r.burst,
			 (unsigned long long)admitted, (unsigned long long)expect);
}

static void test_long_run_accuracy(void **state)
{
	(void)state;
	long_run(1, 1);
	long_run(7, 0);
	long_run(1000, 1);
	long_run(1000, 0);
	long_run(25000, 500);
	long_run(999983, 0);
	long_run(3000000, 1);
	long_run(3000000, 0);
	long_run(1000000000 / 7, 1);
}

static void test_unlimited(void **state)
{
	struct sluice_rate r;
	__u64 next = 77;
	int i;

	(void)state;
	assert_int_equal(rate_make(0, 0, &r), 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(sluice_gcra_admit(~0ull, 5, r.interval, r.tolerance, &next), 1);
	assert_true(next == 77); /* unlimited never touches the bucket */
}

static void test_no_overflow_near_large_tat(void **state)
{
	/* About 34 years of uptime in ticks, with the largest tolerance allowed. */
	const __u64 now = 0xf000000000000000ull;
	struct sluice_rate r;
	__u64 tat = now - 5, next = 0;
	__u32 i;

	(void)state;
	assert_int_equal(rate_make(1, RATE_BURST_MAX_SECONDS, &r), 0);
	assert_true(now + r.tolerance + r.interval > now); /* no wrap in range */
	for (i = 0; i < RATE_BURST_MAX_SECONDS; i++) {
		assert_int_equal(sluice_gcra_admit(tat, now, r.interval, r.tolerance, &next), 1);
		assert_true(next > now && next > tat);
		tat = next;
	}
	assert_int_equal(sluice_gcra_admit(tat, now, r.interval, r.tolerance, &next), 0);
	assert_int_equal(sluice_gcra_admit(tat, now + r.interval, r.interval, r.tolerance, &next),
			 1);
	/* A far-future tat (clock stepped back) refuses instead of wrapping. */
	assert_int_equal(sluice_gcra_admit(now + r.tolerance, now, r.interval, r.tolerance, &next),
			 0);
	/* The fastest rate near the end of the range. */
	assert_int_equal(rate_make(SLUICE_RATE_MAX_PPS, SLUICE_RATE_MAX_PPS, &r), 0);
	tat = 0;
	assert_int_equal(sluice_gcra_admit(tat, now, r.interval, r.tolerance, &next), 1);
	assert_true(next == now + 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intervals),
		cmocka_unit_test(test_default_burst),
		cmocka_unit_test(test_make),
		cmocka_unit_test(test_inverse),
		cmocka_unit_test(test_burst_then_one_per_interval),
		cmocka_unit_test(test_long_run_accuracy),
		cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_no_overflow_near_large_tat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
