// SPDX-License-Identifier: GPL-2.0-only
/*
 * Data-plane tests of sluice trace (bpf/lib/trace.h) through
 * BPF_PROG_TEST_RUN: off (the default, or a lease run out) sends no
 * record; on, each decision sends one with the interface, reason, XDP
 * action, service, backend, 5-tuple, TCP flags, length and the frame's
 * first bytes as received (before the nat rewrite); the filters (service,
 * address prefix, reasons) and the 1 in N sampling. The forwarded, refused
 * (bulkhead RST) and return-path decisions are checked field by field.
 *
 * sl_trace_cfg is written and sl_trace read through the skeleton's maps
 * (the fixture's pins are removed at once); the tracer's side of the maps
 * (userspace/dataplane/tracing.c: ownership, the lease, the CLI) is
 * tests/integration/test_trace.sh's. Needs root and BPF; otherwise every
 * test is skipped, saying why.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <bpf/libbpf.h>

#include "sluice_abi.h"
#include "sluice.skel.h"
#include "tracing.h"
#include "pktbuild.h"
#include "dpfix.h"

#define CLIENT4 "192.0.2.10"
#define CLIENT6 "2001:db8:c::10"
#define VIP4 "10.0.0.1"
#define VIP6 "2001:db8::1"
#define SYN PKT_TCP_SYN
#define SYNACK (PKT_TCP_SYN | PKT_TCP_ACK)

#define RECS_MAX 64
static struct sluice_trace_rec recs[RECS_MAX];
static int n_recs;
static struct ring_buffer *ring;

static int on_rec(void *ctx, void *data, size_t size)
{
	(void)ctx;
	if (size == sizeof(struct sluice_trace_rec) && n_recs < RECS_MAX)
		memcpy(&recs[n_recs++], data, size);
	return 0;
}

/* Read what the ring holds into recs[] (after a reset: only what came since). */
static int drain(void)
{
	assert_true(ring_buffer__consume(ring) >= 0);
	return n_recs;
}

static void reset(void)
{
	drain();
	n_recs = 0;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* Write sl_trace_cfg: cfg with until a minute ahead (unless set). */
static void cfg_set(struct sluice_trace_cfg cfg)
{
	__u32 zero = 0;

	if (!cfg.until)
		cfg.until = mono_ns() + 60000000000ull;
	assert_int_equal(bpf_map__update_elem(dp.skel->maps.sl_trace_cfg, &zero, sizeof(zero), &cfg,
					      sizeof(cfg), BPF_ANY),
			 0);
	reset();
}

static void cfg_off(void)
{
	struct sluice_trace_cfg off = { 0 };
	__u32 zero = 0;

	assert_int_equal(bpf_map__update_elem(dp.skel->maps.sl_trace_cfg, &zero, sizeof(zero), &off,
					      sizeof(off), BPF_ANY),
			 0);
	reset();
}

/* Send s on ifindex, expecting action; the frame sent into in (PKT_BUF_MAX): its length. */
static int send_frame(const struct pkt_spec *s, int ifindex, int action, uint8_t *in)
{
	uint8_t out[DP_OUT_MAX];
	int len = dp_build(s, in, NULL), olen;

	assert_int_equal(dp_run(in, len, ifindex, out, &olen), action);
	return len;
}

static void addr_expect(const union sluice_addr *got, const char *want)
{
	union sluice_addr a;

	dp_addr(want, &a);
	assert_memory_equal(got, &a, sizeof(a));
}

/* A nat TCP service of the next id with one backend (10.1.0.2:8080) and max_conns. */
static uint32_t nat_svc(const char *vip, const char *be_addr, uint32_t max_conns, uint32_t *be)
{
	struct sluice_svc_res res = { .max_conns = max_conns };
	uint32_t svc = dp_svc_add(vip, IPPROTO_TCP, SLUICE_MODE_NAT, SLUICE_HASH_5TUPLE, &res);

	*be = dp_be_add(svc, be_addr, 8080, SLUICE_BE_ACTIVE);
	dp_table_publish(svc, be, 1);
	return svc;
}

static void test_off_no_records(void **state)
{
	uint8_t in[PKT_BUF_MAX];
	struct pkt_spec s;
	uint32_t svc, be;

	(void)state;
	DP_SKIP_UNLESS_READY();
	cfg_off();
	svc = nat_svc(VIP4, "10.1.0.2", 0, &be);
	s = dp_client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1000, dp_svc_port(svc), SYN);
	send_frame(&s, dp.if_gw0, XDP_REDIRECT, in);
	s.dst = "10.0.0.99"; /* no service */
	send_frame(&s, dp.if_gw0, XDP_PASS, in);
	assert_int_equal(drain(), 0);
	/* On, but the tracer's lease ran out a second ago: off as well. */
	cfg_set((struct sluice_trace_cfg){ .until = mono_ns() - 1000000000ull });
	send_frame(&s, dp.if_gw0, XDP_PASS, in);
	assert_int_equal(drain(), 0);
}

static void test_forwarded_refused_return(void **state)
{
	uint8_t in[PKT_BUF_MAX];
	struct sluice_trace_rec *r;
	struct pkt_spec s;
	uint32_t svc, be;
	int len;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = nat_svc(VIP4, "10.1.0.2", 1, &be);
	cfg_set((struct sluice_trace_cfg){ .snap = 64 });

	/* Forwarded: the SYN as the client sent it, not as rewritten for the backend. */
	s = dp_client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1000, dp_svc_port(svc), SYN);
	len = send_frame(&s, dp.if_gw0, XDP_REDIRECT, in);
	assert_int_equal(drain(), 1);
	r = &recs[0];
	assert_int_equal(r->reason, SLUICE_R_FWD);
	assert_int_equal(r->action, XDP_REDIRECT);
	assert_int_equal(r->ifindex, dp.if_gw0);
	assert_int_equal(r->svc_id, svc);
	assert_int_equal(r->backend_id, be);
	assert_int_equal(r->family, ETH_P_IP);
	assert_int_equal(r->proto, IPPROTO_TCP);
	assert_int_equal(r->tcp_flags, SYN);
	addr_expect(&r->src, CLIENT4);
	addr_expect(&r->dst, VIP4);
	assert_int_equal(ntohs(r->sport), 1000);
	assert_int_equal(ntohs(r->dport), dp_svc_port(svc));
	assert_int_equal(r->frame_len, len);
	assert_int_equal(r->cap_len, len < 64 ? len : 64);
	assert_memory_equal(r->data, in, r->cap_len);
	assert_true(r->ts_ns > 0);
	/* The client's ACK completes the handshake: its slot is taken (flow.h). */
	s.tcp_flags = PKT_TCP_ACK;
	send_frame(&s, dp.if_gw0, XDP_REDIRECT, in);
	assert_int_equal(drain(), 2);
	assert_int_equal(recs[1].reason, SLUICE_R_FWD);
	s.tcp_flags = SYN;

	/* Refused: the bulkhead (max_conns 1) answers the second SYN with a RST. */
	s.sport = 1001;
	send_frame(&s, dp.if_gw0, XDP_TX, in);
	assert_int_equal(drain(), 3);
	r = &recs[2];
	assert_int_equal(r->reason, SLUICE_R_BH_SERVICE);
	assert_int_equal(r->action, XDP_TX);
	assert_int_equal(r->svc_id, svc);
	assert_int_equal(r->backend_id, SLUICE_TRACE_NONE);
	assert_int_equal(ntohs(r->sport), 1001);
	assert_memory_equal(r->data, in, r->cap_len); /* the SYN, not the RST sent back */

	/* The backend's SYN-ACK on the return path: service and backend from the flow. */
	s = dp_backend_seg(be, CLIENT4, IPPROTO_TCP, 1000, SYNACK);
	send_frame(&s, dp.if_gw1, XDP_REDIRECT, in);
	assert_int_equal(drain(), 4);
	r = &recs[3];
	assert_int_equal(r->reason, SLUICE_R_REV_NAT);
	assert_int_equal(r->ifindex, dp.if_gw1);
	assert_int_equal(r->svc_id, svc);
	assert_int_equal(r->backend_id, be);
	addr_expect(&r->src, "10.1.0.2");
	addr_expect(&r->dst, CLIENT4);
	assert_int_equal(r->tcp_flags, SYNACK);

	/* snap 0: the decision without the bytes. */
	cfg_set((struct sluice_trace_cfg){ 0 });
	s = dp_client_seg(CLIENT4, "10.0.0.99", IPPROTO_UDP, 1000, 53, 0);
	send_frame(&s, dp.if_gw0, XDP_PASS, in);
	assert_int_equal(drain(), 1);
	assert_int_equal(recs[0].reason, SLUICE_R_NOT_SERVICE);
	assert_int_equal(recs[0].action, XDP_PASS);
	assert_int_equal(recs[0].svc_id, SLUICE_TRACE_NONE);
	assert_int_equal(recs[0].proto, IPPROTO_UDP);
	assert_int_equal(recs[0].cap_len, 0);
	cfg_off();
}

static void test_v6(void **state)
{
	uint8_t in[PKT_BUF_MAX];
	struct pkt_spec s;
	uint32_t svc, be;
	int len;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = nat_svc(VIP6, "2001:db8:b::2", 0, &be);
	cfg_set((struct sluice_trace_cfg){ .snap = SLUICE_TRACE_SNAP_MAX });
	s = dp_client_seg(CLIENT6, VIP6, IPPROTO_TCP, 1000, dp_svc_port(svc), SYN);
	s.payload = 200; /* longer than the snap: cut at SLUICE_TRACE_SNAP_MAX */
	len = send_frame(&s, dp.if_gw0, XDP_REDIRECT, in);
	assert_int_equal(drain(), 1);
	assert_int_equal(recs[0].reason, SLUICE_R_FWD);
	assert_int_equal(recs[0].family, ETH_P_IPV6);
	assert_int_equal(recs[0].backend_id, be);
	addr_expect(&recs[0].src, CLIENT6);
	addr_expect(&recs[0].dst, VIP6);
	assert_int_equal(recs[0].frame_len, len);
	assert_int_equal(recs[0].cap_len, SLUICE_TRACE_SNAP_MAX);
	assert_memory_equal(recs[0].data, in, SLUICE_TRACE_SNAP_MAX);
	cfg_off();
}

static void test_filters(void **state)
{
	struct sluice_trace_cfg cfg = { 0 };
	uint8_t in[PKT_BUF_MAX];
	struct pkt_spec s;
	uint32_t svc1, svc2, be1, be2;
	int i;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc1 = nat_svc(VIP4, "10.1.0.2", 1, &be1);
	svc2 = nat_svc(VIP4, "10.1.0.3", 0, &be2);

	/* Service: only svc2's decisions. */
	cfg.flags = SLUICE_TRACE_F_SVC;
	cfg.svc_id = svc2;
	cfg_set(cfg);
	s = dp_client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1000, dp_svc_port(svc1), SYN);
	send_frame(&s, dp.if_gw0, XDP_REDIRECT, in);
	s.tcp_flags = PKT_TCP_ACK; /* completed: it holds svc1's slot (flow.h) */
	send_frame(&s, dp.if_gw0, XDP_REDIRECT, in);
	s.tcp_flags = SYN;
	s.dport = dp_svc_port(svc2);
	send_frame(&s, dp.if_gw0, XDP_REDIRECT, in);
	assert_int_equal(drain(), 1);
	assert_int_equal(recs[0].svc_id, svc2);
	assert_int_equal(recs[0].backend_id, be2);

	/* Reasons: only refusals by the bulkhead (svc1 holds its one slot). */
	cfg.flags = SLUICE_TRACE_F_REASON;
	cfg.reasons = 1u << SLUICE_R_BH_SERVICE;
	cfg_set(cfg);
	s.sport = 1001;
	send_frame(&s, dp.if_gw0, XDP_REDIRECT, in); /* svc2: forwarded, not traced */
	s.dport = dp_svc_port(svc1);
	send_frame(&s, dp.if_gw0, XDP_TX, in);
	assert_int_equal(drain(), 1);
	assert_int_equal(recs[0].reason, SLUICE_R_BH_SERVICE);
	assert_int_equal(recs[0].svc_id, svc1);

	/* Address: 192.0.2.0/28 as the source, or the destination on the return path. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.flags = SLUICE_TRACE_F_ADDR;
	dp_addr("192.0.2.0", &cfg.addr);
	trace_prefix_mask(96 + 28, &cfg.mask);
	cfg_set(cfg);
	s = dp_client_seg("192.0.2.200", VIP4, IPPROTO_TCP, 1002, dp_svc_port(svc2), SYN);
	send_frame(&s, dp.if_gw0, XDP_REDIRECT, in); /* outside the /28 */
	s = dp_client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1003, dp_svc_port(svc2), SYN);
	send_frame(&s, dp.if_gw0, XDP_REDIRECT, in);
	s = dp_backend_seg(be2, CLIENT4, IPPROTO_TCP, 1003, SYNACK);
	send_frame(&s, dp.if_gw1, XDP_REDIRECT, in);
	assert_int_equal(drain(), 2);
	assert_int_equal(ntohs(recs[0].sport), 1003);
	assert_int_equal(recs[1].reason, SLUICE_R_REV_NAT);

	/* Sampling: 1 in 3 of 9 matching packets. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.sample = 3;
	cfg_set(cfg);
	s = dp_client_seg(CLIENT4, "10.0.0.99", IPPROTO_UDP, 1000, 53, 0);
	for (i = 0; i < 9; i++)
		send_frame(&s, dp.if_gw0, XDP_PASS, in);
	/* dp_run may land on either CPU: each counts down its own 1 in 3. */
	assert_in_range(drain(), 3, 3 + dp.ncpus);
	cfg_off();
}

static int group_setup(void **state)
{
	(void)state;
	if (dp_setup(&dp_topo_std, dp_fail_cmocka))
		return 0;
	ring = ring_buffer__new(bpf_map__fd(dp.skel->maps.sl_trace), on_rec, NULL, NULL);
	if (!ring) {
		print_error("cannot read sl_trace\n");
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	ring_buffer__free(ring);
	dp_teardown();
	return 0;
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off_no_records),
		cmocka_unit_test(test_forwarded_refused_return),
		cmocka_unit_test(test_v6),
		cmocka_unit_test(test_filters),
	};

	return cmocka_run_group_tests_name("sluice_trace", tests, group_setup, group_teardown);
}
