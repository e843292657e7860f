// SPDX-License-Identifier: GPL-2.0-only
/*
 * Egress pacing (bpf/lib/pace.h) through BPF_PROG_TEST_RUN, table-driven:
 * the departure time (skb->tstamp) each packet gets from its service's
 * clock, the clock after it, the horizon drop, and the counters; through
 * pace_test (tests/bpf/pace_test.bpf.c: the stage with the clock given by
 * the test). And sluice_egress itself (bpf/egress.bpf.c) on a packet whose
 * socket the host side did not balance (test-run's own socket has no
 * sl_host_socks storage): untouched, whatever the service's rate. Needs
 * root and BPF; otherwise every test is skipped, saying why.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sluice_abi.h"
#include "pace_test.skel.h"
#include "egress.skel.h"
#include "bpftest.h"

#define SEC_NS 1000000000ull
#define MS_NS 1000000ull

static struct pace_test_bpf *skel;
static int ncpus;
static const char *skip_why;

/* One packet: its service, length, own departure (0: none), the clock and horizon. */
struct pace_case {
	const char *name;
	uint32_t svc;
	uint64_t rate_bps;     /* written first when set_rate */
	int set_rate;	       /* a fresh clock: the value written as userspace does */
	uint64_t next_ns;      /* ... with this departure clock */
	uint32_t len;	       /* bytes (skb->len) */
	uint64_t now, tstamp;  /* the packet's now and own departure */
	uint64_t horizon;      /* 0: SLUICE_PACE_HORIZON_NS */
	int verdict;	       /* TC_ACT_OK or TC_ACT_SHOT */
	uint64_t want_tstamp;  /* the departure it gets */
	uint64_t want_next;    /* the clock after it */
	uint64_t want_delayed; /* counters after it (cumulative for svc) */
	uint64_t want_dropped;
};

static const struct pace_case cases[] = {
	{ "unpaced service: untouched, not counted", .svc = 1, .set_rate = 1, .rate_bps = 0,
	  .len = 1000, .now = 5 * SEC_NS, .tstamp = 0, .verdict = TC_ACT_OK, .want_tstamp = 0,
	  .want_next = 0 },
	{ "first packet at 8 Mbit/s: leaves now, the clock moves 1000 B = 1 ms", .svc = 2,
	  .set_rate = 1, .rate_bps = 8000000, .len = 1000, .now = 5 * SEC_NS, .verdict = TC_ACT_OK,
	  .want_tstamp = 5 * SEC_NS, .want_next = 5 * SEC_NS + MS_NS },
	{ "second at the same now: 1 ms later", .svc = 2, .len = 1000, .now = 5 * SEC_NS,
	  .verdict = TC_ACT_OK, .want_tstamp = 5 * SEC_NS + MS_NS,
	  .want_next = 5 * SEC_NS + 2 * MS_NS, .want_delayed = 1 },
	{ "TCP's own later departure is kept", .svc = 2, .len = 500, .now = 5 * SEC_NS,
	  .tstamp = 5 * SEC_NS + 10 * MS_NS, .verdict = TC_ACT_OK,
	  .want_tstamp = 5 * SEC_NS + 10 * MS_NS, .want_next = 5 * SEC_NS + 10 * MS_NS + MS_NS / 2,
	  .want_delayed = 2 },
	{ "a clock in the past: leaves now", .svc = 2, .len = 1000, .now = 9 * SEC_NS,
	  .verdict = TC_ACT_OK, .want_tstamp = 9 * SEC_NS, .want_next = 9 * SEC_NS + MS_NS,
	  .want_delayed = 2 },
	{ "a stamp of another clock (realtime) is no departure: ignored", .svc = 2, .len = 1000,
	  .now = 9 * SEC_NS, .tstamp = 1700000000ull * SEC_NS, .verdict = TC_ACT_OK,
	  .want_tstamp = 9 * SEC_NS + MS_NS, .want_next = 9 * SEC_NS + 2 * MS_NS,
	  .want_delayed = 3 },
	{ "3000 B at 16 Mbit/s: 1.5 ms", .svc = 3, .set_rate = 1, .rate_bps = 16000000, .len = 3000,
	  .now = SEC_NS, .verdict = TC_ACT_OK, .want_tstamp = SEC_NS,
	  .want_next = SEC_NS + 3 * MS_NS / 2 },
	{ "departure beyond the horizon (3 s > 2 s): dropped, clock kept", .svc = 4, .set_rate = 1,
	  .rate_bps = 8000000, .next_ns = 4 * SEC_NS, .len = 1000, .now = SEC_NS,
	  .verdict = TC_ACT_SHOT, .want_tstamp = 0, .want_next = 4 * SEC_NS, .want_dropped = 1 },
	{ "... just inside it (2 s): scheduled", .svc = 4, .len = 1000, .now = 2 * SEC_NS,
	  .verdict = TC_ACT_OK, .want_tstamp = 4 * SEC_NS, .want_next = 4 * SEC_NS + MS_NS,
	  .want_delayed = 1, .want_dropped = 1 },
	{ "without fq, the 20 ms policing horizon: 30 ms ahead is dropped", .svc = 5, .set_rate = 1,
	  .rate_bps = 8000000, .next_ns = SEC_NS + 30 * MS_NS, .len = 1000, .now = SEC_NS,
	  .horizon = SLUICE_PACE_BURST_NS, .verdict = TC_ACT_SHOT, .want_next = SEC_NS + 30 * MS_NS,
	  .want_dropped = 1 },
	{ "... 20 ms ahead passes (the burst)", .svc = 5, .len = 1000, .now = SEC_NS + 10 * MS_NS,
	  .horizon = SLUICE_PACE_BURST_NS, .verdict = TC_ACT_OK, .want_tstamp = SEC_NS + 30 * MS_NS,
	  .want_next = SEC_NS + 31 * MS_NS, .want_delayed = 1, .want_dropped = 1 },
	{ "slowest rate (8 kbit/s): 1500 B = 1.5 s", .svc = 6, .set_rate = 1,
	  .rate_bps = SLUICE_PACE_RATE_MIN, .len = 1500, .now = SEC_NS, .verdict = TC_ACT_OK,
	  .want_tstamp = SEC_NS, .want_next = SEC_NS + 1500 * MS_NS },
};

static int setup(void **state)
{
	(void)state;
	if (bt_suite_start(&ncpus, &skip_why))
		return 0;
	skel = pace_test_bpf__open_and_load();
	if (!skel)
		skip_why = "cannot load pace_test (BPF not available?)";
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pace_test_bpf__destroy(skel);
	return 0;
}

/* A frame of len bytes (an Ethernet header, then zeroes) through prog_fd. */
static int run(int prog_fd, uint32_t len, struct __sk_buff *ctx, uint32_t *retval)
{
	static unsigned char frame[4096]; /* test-run takes at most a page */
	LIBBPF_OPTS(bpf_test_run_opts, o);
	struct ethhdr *eth = (struct ethhdr *)frame;

	memset(frame, 0, sizeof(frame));
	eth->h_proto = htons(ETH_P_IP);
	o.data_in = frame;
	o.data_size_in = len;
	o.ctx_in = ctx;
	o.ctx_size_in = sizeof(*ctx);
	o.ctx_out = ctx;
	o.ctx_size_out = sizeof(*ctx);
	o.repeat = 1;
	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -errno;
	*retval = o.retval;
	return 0;
}

static void pace_counters(struct bpf_map *map, uint32_t svc, struct sluice_pace_counter *sum)
{
	struct sluice_pace_counter v[ncpus];
	int c;

	memset(sum, 0, sizeof(*sum));
	assert_int_equal(bpf_map__lookup_elem(map, &svc, sizeof(svc), v, sizeof(v), 0), 0);
	for (c = 0; c < ncpus; c++) {
		sum->packets += v[c].packets;
		sum->delayed += v[c].delayed;
		sum->dropped += v[c].dropped;
	}
}

static void test_cases(void **state)
{
	size_t i;

	(void)state;
	if (!skel)
		skip();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pace_case *t = &cases[i];
		uint64_t horizon = t->horizon ? t->horizon : SLUICE_PACE_HORIZON_NS;
		struct sluice_pace p = { t->rate_bps, t->next_ns };
		struct __sk_buff ctx;
		struct sluice_pace_counter c;
		uint32_t retval = 0;

		print_message("case: %s\n", t->name);
		if (t->set_rate)
			assert_int_equal(bpf_map__update_elem(skel->maps.sl_svc_pace, &t->svc,
							      sizeof(t->svc), &p, sizeof(p), 0),
					 0);
		memset(&ctx, 0, sizeof(ctx));
		ctx.mark = t->svc;
		ctx.cb[0] = (uint32_t)t->now;
		ctx.cb[1] = (uint32_t)(t->now >> 32);
		ctx.cb[2] = (uint32_t)horizon;
		ctx.cb[3] = (uint32_t)(horizon >> 32);
		ctx.tstamp = t->tstamp;
		assert_int_equal(run(bpf_program__fd(skel->progs.pace_test), t->len, &ctx, &retval),
				 0);
		assert_int_equal(retval, t->verdict);
		if (t->verdict == TC_ACT_OK)
			assert_int_equal(ctx.tstamp, t->want_tstamp ? t->want_tstamp : t->tstamp);
		assert_int_equal(bpf_map__lookup_elem(skel->maps.sl_svc_pace, &t->svc,
						      sizeof(t->svc), &p, sizeof(p), 0),
				 0);
		assert_int_equal(p.next_ns, t->want_next);
		pace_counters(skel->maps.sl_pace_stats, t->svc, &c);
		assert_int_equal(c.delayed, t->want_delayed);
		assert_int_equal(c.dropped, t->want_dropped);
		if (!t->rate_bps && t->set_rate)
			assert_int_equal(c.packets, 0);
	}
}

/* sluice_egress: a packet of a socket the host side did not balance passes untouched. */
static void test_egress_unbalanced(void **state)
{
	struct sluice_pace p = { 8000000, 0 };
	struct sluice_pace_counter c;
	struct egress_bpf *e;
	struct __sk_buff ctx;
	uint32_t retval = 0, svc = 0;

	(void)state;
	if (!skel)
		skip();
	e = egress_bpf__open_and_load();
	assert_non_null(e);
	assert_int_equal(
		bpf_map__update_elem(e->maps.sl_svc_pace, &svc, sizeof(svc), &p, sizeof(p), 0), 0);
	memset(&ctx, 0, sizeof(ctx));
	ctx.tstamp = 12345;
	assert_int_equal(run(bpf_program__fd(e->progs.sluice_egress), 1000, &ctx, &retval), 0);
	assert_int_equal(retval, TC_ACT_OK);
	assert_int_equal(ctx.tstamp, 12345);
	pace_counters(e->maps.sl_pace_stats, svc, &c);
	assert_int_equal(c.packets, 0);
	egress_bpf__destroy(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_egress_unbalanced),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);

	if (skip_why)
		fprintf(stderr, "test_pace: skipped: %s\n", skip_why);
	return rc;
}
