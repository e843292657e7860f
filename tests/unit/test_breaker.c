// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the circuit-breaker state machine (userspace/breaker.c) on
 * a fake clock: every transition, the sliding window's bucket-by-bucket
 * aging, the failure-rate rule and its minimum calls, the doubling of the
 * open duration and its reset, the group's max-open share, and the
 * operator's trip and reset.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "breaker.h"

/* A group of n members with ids 0..n-1 and conf c. */
static void group(struct brk_group *g, const struct brk_conf *c, size_t n)
{
	__u32 ids[16];
	size_t i;

	assert_true(n <= 16);
	for (i = 0; i < n; i++)
		ids[i] = (__u32)i;
	brk_group_init(g, c);
	assert_int_equal(brk_group_set_members(g, ids, n), 0);
}

static struct brk_conf defaults(void)
{
	struct sluice_svc_res r;
	struct brk_conf c;

	memset(&r, 0, sizeof(r));
	brk_conf_from_res(&r, &c);
	return c;
}

/* Only the failure-count rule: the rate rule needs more calls than any test makes. */
static struct brk_conf count_only(void)
{
	struct brk_conf c = defaults();

	c.min_calls = 1000000;
	return c;
}

static __u32 state_of(struct brk_group *g, __u32 id)
{
	struct breaker *b = brk_group_find(g, id);

	assert_non_null(b);
	return b->state;
}

/* n results at now; returns how many were reported. */
static int feed(struct brk_group *g, __u32 id, __u64 now, int failure, int n,
		struct brk_change *last)
{
	struct brk_change chg;
	int i, reported = 0, r;

	for (i = 0; i < n; i++) {
		r = brk_record(g, id, now, failure, &chg);
		assert_true(r >= 0);
		if (r) {
			reported++;
			if (last)
				*last = chg;
		}
	}
	return reported;
}

static void test_defaults(void **state)
{
	struct brk_conf c = defaults();
	struct sluice_svc_res r;

	(void)state;
	assert_int_equal(c.failures, 30);
	assert_int_equal(c.window_ms, 10000);
	assert_int_equal(c.rate_pct, 50);
	assert_int_equal(c.min_calls, 20);
	assert_int_equal(c.wait_ms, 5000);
	assert_int_equal(c.wait_max_ms, 300000);
	assert_int_equal(c.probes, 3);
	assert_int_equal(c.successes, 3);
	assert_int_equal(c.max_open_pct, 50);
	assert_int_equal(c.panic_pct, SLUICE_PANIC_DEFAULT_PCT);
	assert_int_equal(c.syn_timeout_ms, 3000);
	/* Set values are kept. */
	memset(&r, 0, sizeof(r));
	r.brk_failures = 5;
	r.brk_window_ms = 2000;
	r.syn_timeout_ms = 700;
	brk_conf_from_res(&r, &c);
	assert_int_equal(c.failures, 5);
	assert_int_equal(c.window_ms, 2000);
	assert_int_equal(c.syn_timeout_ms, 700);
	assert_int_equal(c.rate_pct, 50);
	assert_string_equal(brk_state_name(SLUICE_BRK_HALF_OPEN), "half-open");
	assert_string_equal(brk_cause_name(BRK_CAUSE_MAX_OPEN), "max_open_refused");
}

/* closed -> open on the 30th failure, not before; the change says why. */
static void test_failure_threshold(void **state)
{
	struct brk_conf c = count_only();
	struct brk_change chg;
	struct brk_group g;

	(void)state;
	group(&g, &c, 2);
	assert_int_equal(feed(&g, 0, 1000, 1, 29, NULL), 0);
	assert_int_equal(state_of(&g, 0), SLUICE_BRK_CLOSED);
	assert_true(brk_next_transition(brk_group_find(&g, 0)) == UINT64_MAX);
	assert_int_equal(brk_record(&g, 0, 1000, 1, &chg), 1);
	assert_int_equal(chg.id, 0);
	assert_int_equal(chg.from, SLUICE_BRK_CLOSED);
	assert_int_equal(chg.to, SLUICE_BRK_OPEN);
	assert_int_equal(chg.cause, BRK_CAUSE_FAILURES);
	assert_int_equal(chg.failures, 30);
	assert_int_equal(chg.calls, 30);
	assert_true(chg.open_ms == 5000);
	assert_int_equal(chg.open_in_group, 1);
	assert_int_equal(chg.max_open, 1);
	assert_true(brk_next_transition(brk_group_find(&g, 0)) == 6000);
	assert_true(brk_group_next_transition(&g) == 6000);
	/* The other member is untouched. */
	assert_int_equal(state_of(&g, 1), SLUICE_BRK_CLOSED);
	/* Results while open are late answers: ignored. */
	assert_int_equal(feed(&g, 0, 2000, 1, 100, NULL), 0);
	assert_int_equal(feed(&g, 0, 2000, 0, 100, NULL), 0);
	assert_int_equal(state_of(&g, 0), SLUICE_BRK_OPEN);
	assert_int_equal(brk_record(&g, 7, 2000, 1, &chg), -ENOENT);
	brk_group_free(&g);
}

/* 10 buckets of 1 s: failures leave the window a bucket at a time. */
static void test_window_aging(void **state)
{
	struct brk_conf c = count_only();
	struct brk_group g;
	struct breaker *b;
	__u32 f, n;

	(void)state;
	group(&g, &c, 2);
	b = brk_group_find(&g, 0);
	feed(&g, 0, 500, 1, 10, NULL);	/* bucket [0, 1000) */
	feed(&g, 0, 1500, 1, 10, NULL); /* bucket [1000, 2000) */
	feed(&g, 0, 2999, 1, 9, NULL);	/* bucket [2000, 3000) */
	feed(&g, 0, 2999, 0, 5, NULL);
	brk_window(&g, b, 9999, &f, &n);
	assert_int_equal(f, 29);
	assert_int_equal(n, 34);
	/* At 10 s the first bucket has aged out, at 11 s the second, at 12 s the third. */
	brk_window(&g, b, 10000, &f, &n);
	assert_int_equal(f, 19);
	brk_window(&g, b, 10999, &f, &n);
	assert_int_equal(f, 19);
	brk_window(&g, b, 11000, &f, &n);
	assert_int_equal(f, 9);
	assert_int_equal(n, 14);
	brk_window(&g, b, 12000, &f, &n);
	assert_int_equal(f, 0);
	assert_int_equal(n, 0);
	/* One more failure at 9.999 s would make 30: at 10 s it makes 20. */
	assert_int_equal(feed(&g, 0, 10000, 1, 1, NULL), 0);
	assert_int_equal(state_of(&g, 0), SLUICE_BRK_CLOSED);
	brk_window(&g, b, 10000, &f, &n);
	assert_int_equal(f, 20);
	/* A bucket reused after a full turn starts from zero. */
	brk_window(&g, b, 20500, &f, &n);
	assert_int_equal(f, 0);
	assert_int_equal(feed(&g, 0, 20500, 1, 1, NULL), 0);
	brk_window(&g, b, 20500, &f, &n);
	assert_int_equal(f, 1);
	/* The failures left in the window still count toward a trip. */
	feed(&g, 1, 100, 1, 29, NULL);
	assert_int_equal(feed(&g, 1, 9999, 1, 1, NULL), 1);
	assert_int_equal(state_of(&g, 1), SLUICE_BRK_OPEN);
	brk_group_free(&g);
}

/* Window of 25 ms: buckets of 3 ms (rounded up). */
static void test_window_granularity(void **state)
{
	struct brk_conf c = count_only();
	struct brk_group g;
	__u32 f, n;

	(void)state;
	c.window_ms = 25;
	group(&g, &c, 1);
	feed(&g, 0, 2, 1, 1, NULL); /* bucket [0, 3) */
	brk_window(&g, brk_group_find(&g, 0), 29, &f, &n);
	assert_int_equal(f, 1);
	brk_window(&g, brk_group_find(&g, 0), 30, &f, &n);
	assert_int_equal(f, 0);
	brk_group_free(&g);
}

/* Rate rule: 50 % of at least 20 calls. */
static void test_failure_rate(void **state)
{
	struct brk_conf c = defaults();
	struct brk_change chg;
	struct brk_group g;

	(void)state;
	group(&g, &c, 2);
	/* 19 failures alone: under min_calls, and under the 30-failure threshold. */
	assert_int_equal(feed(&g, 0, 100, 1, 19, NULL), 0);
	assert_int_equal(state_of(&g, 0), SLUICE_BRK_CLOSED);
	/* The 20th call, a failure: 20 calls, 100 % -> open by rate. */
	assert_int_equal(feed(&g, 0, 100, 1, 1, &chg), 1);
	assert_int_equal(chg.cause, BRK_CAUSE_RATE);
	assert_int_equal(chg.calls, 20);
	brk_group_free(&g);

	/* 9 failures in 19 calls, then a success: 9/20 = 45 % < 50 %: closed. */
	group(&g, &c, 2);
	feed(&g, 0, 100, 0, 10, NULL);
	feed(&g, 0, 100, 1, 9, NULL);
	assert_int_equal(feed(&g, 0, 100, 0, 1, NULL), 0);
	assert_int_equal(state_of(&g, 0), SLUICE_BRK_CLOSED);
	/* 10 failures in 21 calls = 47.6 %: closed; 11 in 22 = 50 %: open. */
	assert_int_equal(feed(&g, 0, 100, 1, 1, NULL), 0);
	assert_int_equal(feed(&g, 0, 100, 1, 1, &chg), 1);
	assert_int_equal(chg.cause, BRK_CAUSE_RATE);
	assert_int_equal(chg.failures, 11);
	assert_int_equal(chg.calls, 22);
	brk_group_free(&g);

	/* Many successes dilute the rate: 29 failures in 100 calls stays closed. */
	group(&g, &c, 2);
	feed(&g, 0, 100, 0, 71, NULL);
	assert_int_equal(feed(&g, 0, 100, 1, 29, NULL), 0);
	/* ...but the 30th failure trips on the count. */
	assert_int_equal(feed(&g, 0, 100, 1, 1, &chg), 1);
	assert_int_equal(chg.cause, BRK_CAUSE_FAILURES);
	brk_group_free(&g);

	/* min_calls 5, rate 60 %: 3 of 5 trips. */
	c.min_calls = 5;
	c.rate_pct = 60;
	group(&g, &c, 2);
	feed(&g, 0, 100, 0, 2, NULL);
	assert_int_equal(feed(&g, 0, 100, 1, 2, NULL), 0);
	assert_int_equal(feed(&g, 0, 100, 1, 1, &chg), 1);
	assert_int_equal(chg.cause, BRK_CAUSE_RATE);
	brk_group_free(&g);
}

/* open -> half-open after the wait, -> closed after 3 probe successes. */
static void test_half_open_close(void **state)
{
	struct brk_conf c = count_only();
	struct brk_change chg;
	struct brk_group g;

	(void)state;
	group(&g, &c, 2);
	feed(&g, 0, 1000, 1, 30, NULL);
	assert_int_equal(brk_tick(&g, 0, 5999, &chg), 0);
	assert_int_equal(state_of(&g, 0), SLUICE_BRK_OPEN);
	assert_int_equal(brk_tick(&g, 0, 6000, &chg), 1);
	assert_int_equal(chg.from, SLUICE_BRK_OPEN);
	assert_int_equal(chg.to, SLUICE_BRK_HALF_OPEN);
	assert_int_equal(chg.cause, BRK_CAUSE_WAIT_OVER);
	assert_int_equal(chg.probes, 3);
	assert_int_equal(chg.open_in_group, 1);
	assert_true(brk_next_transition(brk_group_find(&g, 0)) == UINT64_MAX);
	assert_int_equal(brk_tick(&g, 0, 7000, &chg), 0);
	assert_int_equal(brk_tick(&g, 1, 7000, &chg), 0);
	/* Two successes: still probing; the third closes. */
	assert_int_equal(feed(&g, 0, 6100, 0, 2, NULL), 0);
	assert_int_equal(state_of(&g, 0), SLUICE_BRK_HALF_OPEN);
	assert_int_equal(brk_record(&g, 0, 6200, 0, &chg), 1);
	assert_int_equal(chg.to, SLUICE_BRK_CLOSED);
	assert_int_equal(chg.cause, BRK_CAUSE_PROBES_OK);
	assert_int_equal(chg.open_in_group, 0);
	/* Closed with a fresh window: the 30 old failures are gone. */
	assert_int_equal(feed(&g, 0, 6300, 1, 29, NULL), 0);
	assert_int_equal(state_of(&g, 0), SLUICE_BRK_CLOSED);
	brk_group_free(&g);
}

/* half-open -> open on a probe failure; successes must be consecutive. */
static void test_half_open_reopen(void **state)
{
	struct brk_conf c = count_only();
	struct brk_change chg;
	struct brk_group g;

	(void)state;
	group(&g, &c, 2);
	feed(&g, 0, 0, 1, 30, NULL);
	brk_tick(&g, 0, 5000, &chg);
	feed(&g, 0, 5100, 0, 2, NULL);
	assert_int_equal(brk_record(&g, 0, 5200, 1, &chg), 1);
	assert_int_equal(chg.from, SLUICE_BRK_HALF_OPEN);
	assert_int_equal(chg.to, SLUICE_BRK_OPEN);
	assert_int_equal(chg.cause, BRK_CAUSE_PROBE_FAILED);
	assert_true(chg.open_ms == 10000);
	assert_true(brk_next_transition(brk_group_find(&g, 0)) == 15200);
	/* The next round starts its count of successes from zero. */
	assert_int_equal(brk_tick(&g, 0, 15200, &chg), 1);
	assert_int_equal(feed(&g, 0, 15300, 0, 2, NULL), 0);
	assert_int_equal(feed(&g, 0, 15300, 0, 1, &chg), 1);
	assert_int_equal(chg.to, SLUICE_BRK_CLOSED);
	brk_group_free(&g);
}

/* Each re-trip doubles the open duration up to the cap; closing resets it. */
static void test_doubling(void **state)
{
	static const __u64 want[] = { 5000,   10000,  20000,  40000, 80000,
				      160000, 300000, 300000, 300000 };
	struct brk_conf c = count_only();
	struct brk_change chg;
	struct brk_group g;
	__u64 now = 0;
	size_t i;

	(void)state;
	group(&g, &c, 2);
	feed(&g, 0, now, 1, 30, &chg);
	assert_true(chg.open_ms == want[0]);
	for (i = 1; i < sizeof(want) / sizeof(want[0]); i++) {
		now = brk_next_transition(brk_group_find(&g, 0));
		assert_int_equal(brk_tick(&g, 0, now, &chg), 1);
		assert_int_equal(brk_record(&g, 0, now + 1, 1, &chg), 1);
		assert_int_equal(chg.to, SLUICE_BRK_OPEN);
		assert_true(chg.open_ms == want[i]);
		now++;
	}
	/* Recover: probes succeed, closed; the next trip opens for 5 s again. */
	now = brk_next_transition(brk_group_find(&g, 0));
	brk_tick(&g, 0, now, &chg);
	assert_int_equal(feed(&g, 0, now, 0, 3, &chg), 1);
	assert_int_equal(chg.to, SLUICE_BRK_CLOSED);
	assert_int_equal(feed(&g, 0, now + 10, 1, 30, &chg), 1);
	assert_true(chg.open_ms == 5000);
	brk_group_free(&g);

	/* A cap below the doubling: 5 s, then 7 s, 7 s. */
	c.wait_max_ms = 7000;
	group(&g, &c, 2);
	feed(&g, 0, 0, 1, 30, &chg);
	brk_tick(&g, 0, 5000, &chg);
	brk_record(&g, 0, 5000, 1, &chg);
	assert_true(chg.open_ms == 7000);
	brk_tick(&g, 0, 12000, &chg);
	brk_record(&g, 0, 12000, 1, &chg);
	assert_true(chg.open_ms == 7000);
	brk_group_free(&g);
}

static void test_max_open_rule(void **state)
{
	struct brk_conf c = defaults();
	struct brk_group g;

	(void)state;
	group(&g, &c, 1);
	assert_int_equal(brk_group_max_open(&g), 0); /* a lone backend stays closed */
	brk_group_free(&g);
	c.max_open_pct = 100;
	group(&g, &c, 1);
	assert_int_equal(brk_group_max_open(&g), 1);
	brk_group_free(&g);
	c.max_open_pct = 50;
	group(&g, &c, 2);
	assert_int_equal(brk_group_max_open(&g), 1);
	brk_group_free(&g);
	group(&g, &c, 3);
	assert_int_equal(brk_group_max_open(&g), 1); /* 1.5 rounds down */
	brk_group_free(&g);
	group(&g, &c, 4);
	assert_int_equal(brk_group_max_open(&g), 2);
	brk_group_free(&g);
	c.max_open_pct = 10;
	group(&g, &c, 5);
	assert_int_equal(brk_group_max_open(&g), 1); /* at least one of 2+ */
	brk_group_free(&g);
	c.max_open_pct = 75;
	group(&g, &c, 8);
	assert_int_equal(brk_group_max_open(&g), 6);
	brk_group_free(&g);
}

/* 4 backends, 50 %: the third trip is refused, reported once, and retried later. */
static void test_max_open_group(void **state)
{
	struct brk_conf c = count_only();
	struct brk_change chg;
	struct brk_group g;

	(void)state;
	group(&g, &c, 4);
	assert_int_equal(feed(&g, 0, 100, 1, 30, &chg), 1);
	assert_int_equal(chg.open_in_group, 1);
	assert_int_equal(feed(&g, 1, 100, 1, 30, &chg), 1);
	assert_int_equal(chg.to, SLUICE_BRK_OPEN);
	assert_int_equal(chg.open_in_group, 2);
	assert_int_equal(chg.max_open, 2);
	/* The third: refused, reported once however many failures follow. */
	assert_int_equal(feed(&g, 2, 100, 1, 29, NULL), 0);
	assert_int_equal(brk_record(&g, 2, 100, 1, &chg), 1);
	assert_int_equal(chg.id, 2);
	assert_int_equal(chg.from, SLUICE_BRK_CLOSED);
	assert_int_equal(chg.to, SLUICE_BRK_CLOSED);
	assert_int_equal(chg.cause, BRK_CAUSE_MAX_OPEN);
	assert_int_equal(chg.failures, 30);
	assert_int_equal(chg.open_in_group, 2);
	assert_int_equal(chg.max_open, 2);
	assert_int_equal(feed(&g, 2, 100, 1, 10, NULL), 0);
	assert_int_equal(state_of(&g, 2), SLUICE_BRK_CLOSED);
	/* A half-open member still counts as open. */
	assert_int_equal(brk_tick(&g, 0, 5100, &chg), 1);
	assert_int_equal(feed(&g, 2, 5100, 1, 1, NULL), 0);
	assert_int_equal(state_of(&g, 2), SLUICE_BRK_CLOSED);
	/* Member 0 closes: the next failure of member 2 trips it. */
	assert_int_equal(feed(&g, 0, 5200, 0, 3, &chg), 1);
	assert_int_equal(chg.to, SLUICE_BRK_CLOSED);
	assert_int_equal(feed(&g, 2, 5300, 1, 1, &chg), 1);
	assert_int_equal(chg.to, SLUICE_BRK_OPEN);
	assert_int_equal(chg.open_in_group, 2);
	/* A refusal episode ends when the window recovers: reported again next time. */
	assert_int_equal(feed(&g, 3, 5300, 1, 30, &chg), 1);
	assert_int_equal(chg.cause, BRK_CAUSE_MAX_OPEN);
	assert_int_equal(feed(&g, 3, 20000, 0, 1, NULL), 0); /* old failures aged out */
	assert_int_equal(feed(&g, 3, 20000, 1, 29, NULL), 0);
	assert_int_equal(feed(&g, 3, 20000, 1, 1, &chg), 1);
	assert_int_equal(chg.cause, BRK_CAUSE_MAX_OPEN);
	brk_group_free(&g);
}

/* Operator trip holds (never refused, never half-opens); reset closes from any state. */
static void test_operator(void **state)
{
	struct brk_conf c = count_only();
	struct brk_change chg;
	struct brk_group g;

	(void)state;
	group(&g, &c, 2);
	assert_int_equal(feed(&g, 0, 0, 1, 30, NULL), 1);
	/* The group is at its limit (1 of 2): the operator may still trip member 1. */
	assert_int_equal(brk_trip(&g, 1, 100, &chg), 1);
	assert_int_equal(chg.from, SLUICE_BRK_CLOSED);
	assert_int_equal(chg.to, SLUICE_BRK_OPEN);
	assert_int_equal(chg.cause, BRK_CAUSE_OPERATOR_TRIP);
	assert_true(chg.open_ms == 0);
	assert_int_equal(chg.open_in_group, 2);
	assert_true(brk_next_transition(brk_group_find(&g, 1)) == UINT64_MAX);
	assert_int_equal(brk_tick(&g, 1, 1000000000, &chg), 0);
	assert_int_equal(state_of(&g, 1), SLUICE_BRK_OPEN);
	/* Member 0 goes half-open; the group's next transition ignores the held one. */
	assert_true(brk_group_next_transition(&g) == 5000);
	assert_int_equal(brk_tick(&g, 0, 5000, &chg), 1);
	/* Reset from half-open and from operator-open. */
	assert_int_equal(brk_reset(&g, 0, 5100, &chg), 1);
	assert_int_equal(chg.from, SLUICE_BRK_HALF_OPEN);
	assert_int_equal(chg.to, SLUICE_BRK_CLOSED);
	assert_int_equal(chg.cause, BRK_CAUSE_OPERATOR_RESET);
	assert_int_equal(brk_reset(&g, 1, 5100, &chg), 1);
	assert_int_equal(chg.from, SLUICE_BRK_OPEN);
	assert_int_equal(brk_group_open_count(&g), 0);
	/* Reset clears the window and the doubling. */
	assert_int_equal(feed(&g, 1, 5200, 1, 30, &chg), 1);
	assert_true(chg.open_ms == 5000);
	/* Trip a half-open one: held; reset a closed one: still reported. */
	assert_int_equal(brk_tick(&g, 1, 10200, &chg), 1);
	assert_int_equal(brk_trip(&g, 1, 10300, &chg), 1);
	assert_int_equal(chg.from, SLUICE_BRK_HALF_OPEN);
	assert_int_equal(brk_record(&g, 1, 10400, 0, &chg), 0);
	assert_int_equal(brk_reset(&g, 0, 10400, &chg), 1);
	assert_int_equal(chg.from, SLUICE_BRK_CLOSED);
	assert_int_equal(brk_trip(&g, 9, 0, &chg), -ENOENT);
	assert_int_equal(brk_reset(&g, 9, 0, &chg), -ENOENT);
	brk_group_free(&g);
}

/*
 * The data plane's fast trip: a closed machine opens (cause fast_trip,
 * probing follows like any trip: half-open probes close it again); not from
 * open or half-open; refused at max_open (to stays closed).
 */
static void test_fast_trip(void **state)
{
	struct brk_conf c = count_only();
	struct brk_change chg;
	struct brk_group g;

	(void)state;
	group(&g, &c, 2);
	assert_int_equal(brk_fast_trip(&g, 0, 1000, &chg), 1);
	assert_int_equal(chg.from, SLUICE_BRK_CLOSED);
	assert_int_equal(chg.to, SLUICE_BRK_OPEN);
	assert_int_equal(chg.cause, BRK_CAUSE_FAST_TRIP);
	assert_true(chg.open_ms == 5000);
	assert_string_equal(brk_cause_name(chg.cause), "fast_trip");
	assert_int_equal(brk_fast_trip(&g, 0, 1100, &chg), 0);
	/* The group is at its limit (1 of 2): member 1's fast trip is refused. */
	assert_int_equal(brk_fast_trip(&g, 1, 1200, &chg), 1);
	assert_int_equal(chg.cause, BRK_CAUSE_MAX_OPEN);
	assert_int_equal(chg.to, SLUICE_BRK_CLOSED);
	assert_int_equal(state_of(&g, 1), SLUICE_BRK_CLOSED);
	/* Half-open after the wait, then three probe successes close it. */
	assert_int_equal(brk_tick(&g, 0, 6000, &chg), 1);
	assert_int_equal(chg.to, SLUICE_BRK_HALF_OPEN);
	assert_int_equal(brk_fast_trip(&g, 0, 6050, &chg), 0);
	assert_int_equal(feed(&g, 0, 6100, 0, 2, NULL), 0);
	assert_int_equal(brk_record(&g, 0, 6200, 0, &chg), 1);
	assert_int_equal(chg.to, SLUICE_BRK_CLOSED);
	assert_int_equal(chg.cause, BRK_CAUSE_PROBES_OK);
	assert_int_equal(brk_fast_trip(&g, 9, 0, &chg), -ENOENT);
	brk_group_free(&g);
}

/*
 * Health checks: down opens and holds (never refused at max_open, never
 * half-opens), cause health_down; up closes with a fresh window, cause
 * health_up. The marks in sl_breakers name the same causes; only operator
 * and health causes are external (the engine writes nothing back).
 */
static void test_health(void **state)
{
	struct brk_conf c = count_only();
	struct sluice_breaker e;
	struct brk_change chg;
	struct brk_group g;

	(void)state;
	group(&g, &c, 2);
	assert_int_equal(feed(&g, 0, 0, 1, 30, NULL), 1); /* 1 of 2 open: at max_open */
	assert_int_equal(brk_health(&g, 1, 0, 100, &chg), 1);
	assert_int_equal(chg.from, SLUICE_BRK_CLOSED);
	assert_int_equal(chg.to, SLUICE_BRK_OPEN);
	assert_int_equal(chg.cause, BRK_CAUSE_HEALTH_DOWN);
	assert_string_equal(brk_cause_name(chg.cause), "health_down");
	assert_true(chg.open_ms == 0);
	assert_int_equal(chg.open_in_group, 2);
	assert_int_equal(brk_tick(&g, 1, 1000000000, &chg), 0);
	assert_int_equal(state_of(&g, 1), SLUICE_BRK_OPEN);
	assert_int_equal(brk_health(&g, 1, 1, 2000, &chg), 1);
	assert_int_equal(chg.from, SLUICE_BRK_OPEN);
	assert_int_equal(chg.to, SLUICE_BRK_CLOSED);
	assert_int_equal(chg.cause, BRK_CAUSE_HEALTH_UP);
	assert_string_equal(brk_cause_name(chg.cause), "health_up");
	/* The fresh window: 29 failures do not trip, the 30th would (but max_open refuses). */
	assert_int_equal(feed(&g, 1, 2100, 1, 29, NULL), 0);
	assert_int_equal(brk_health(&g, 9, 0, 0, &chg), -ENOENT);
	assert_true(brk_cause_external(BRK_CAUSE_HEALTH_DOWN) &&
		    brk_cause_external(BRK_CAUSE_HEALTH_UP));
	assert_true(brk_cause_external(BRK_CAUSE_OPERATOR_TRIP));
	assert_false(brk_cause_external(BRK_CAUSE_FAST_TRIP) ||
		     brk_cause_external(BRK_CAUSE_FAILURES));
	/* Panic: healthy share below the threshold; never when off or with nothing active. */
	assert_false(brk_panic(50, 3, 2));
	assert_true(brk_panic(50, 3, 1));
	assert_false(brk_panic(50, 2, 1)); /* 50 % is not below 50 % */
	assert_true(brk_panic(100, 4, 3));
	assert_false(brk_panic(0, 3, 0));
	assert_false(brk_panic(50, 0, 0));
	e.state = SLUICE_BRK_OPEN;
	e.probes_left = SLUICE_BRK_HEALTH_DOWN;
	assert_string_equal(brk_mark_cause(&e), "health_down");
	e.probes_left = SLUICE_BRK_FAST_TRIPPED;
	assert_string_equal(brk_mark_cause(&e), "fast_trip");
	e.probes_left = 0;
	assert_null(brk_mark_cause(&e));
	e.state = SLUICE_BRK_CLOSED;
	e.probes_left = SLUICE_BRK_HEALTH_UP;
	assert_string_equal(brk_mark_cause(&e), "health_up");
	e.probes_left = SLUICE_BRK_HEALTH_DOWN; /* a mark that does not fit the state */
	assert_null(brk_mark_cause(&e));
	brk_group_free(&g);
}

/* Membership changes keep the state of the machines that stay. */
static void test_members_and_adopt(void **state)
{
	struct brk_conf c = count_only();
	struct brk_change chg;
	struct brk_group g;
	__u32 ids[3] = { 7, 1, 9 };

	(void)state;
	group(&g, &c, 3);
	feed(&g, 1, 0, 1, 30, NULL);
	feed(&g, 2, 0, 1, 10, NULL);
	assert_int_equal(brk_group_set_members(&g, ids, 3), 0);
	assert_int_equal(g.count, 3);
	assert_null(brk_group_find(&g, 0));
	assert_null(brk_group_find(&g, 2));
	assert_int_equal(state_of(&g, 1), SLUICE_BRK_OPEN);
	assert_int_equal(state_of(&g, 7), SLUICE_BRK_CLOSED);
	/* Adopt what the map says: open (probing follows), half-open. */
	assert_int_equal(brk_adopt(&g, 7, SLUICE_BRK_OPEN, 1000), 0);
	assert_int_equal(state_of(&g, 7), SLUICE_BRK_OPEN);
	assert_true(brk_next_transition(brk_group_find(&g, 7)) == 6000);
	assert_int_equal(brk_adopt(&g, 9, SLUICE_BRK_HALF_OPEN, 1000), 0);
	assert_int_equal(state_of(&g, 9), SLUICE_BRK_HALF_OPEN);
	assert_int_equal(brk_record(&g, 9, 1100, 1, &chg), 1);
	assert_true(chg.open_ms == 10000);
	assert_int_equal(brk_adopt(&g, 4, SLUICE_BRK_OPEN, 0), -ENOENT);
	assert_int_equal(brk_group_set_members(&g, NULL, 0), 0);
	assert_int_equal(g.count, 0);
	assert_true(brk_group_next_transition(&g) == UINT64_MAX);
	brk_group_free(&g);
	brk_group_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),	  cmocka_unit_test(test_failure_threshold),
		cmocka_unit_test(test_window_aging),	  cmocka_unit_test(test_window_granularity),
		cmocka_unit_test(test_failure_rate),	  cmocka_unit_test(test_half_open_close),
		cmocka_unit_test(test_half_open_reopen),  cmocka_unit_test(test_doubling),
		cmocka_unit_test(test_max_open_rule),	  cmocka_unit_test(test_max_open_group),
		cmocka_unit_test(test_operator),	  cmocka_unit_test(test_fast_trip),
		cmocka_unit_test(test_members_and_adopt), cmocka_unit_test(test_health),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
