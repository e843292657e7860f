// SPDX-License-Identifier: GPL-2.0-only
/*
 * Data-plane tests of failover (bpf/lib/failover.h, redispatch.h; issue
 * 11) through BPF_PROG_TEST_RUN: the retransmitted SYN that moves to the
 * next backend (nat and ipip, IPv4 and IPv6), the RST refusing a SYN that
 * is swallowed and turned into the client's SYN to the next backend (exact
 * bytes, built independently by tests/lib/pktbuild: options as sent,
 * checksums from scratch, VLAN tags gone), the RST that passes (retries
 * spent, off, wrong ack, a Fast Open SYN), the ICMP / ICMPv6 variants,
 * the RST redispatch of a flow with no sl_nat_rev entry (stateless return
 * path, sl_be_rev), the counters (moved, redispatched, retry_exhausted) and the fast trip
 * (the breaker opened at the K-th refusal in a row, the map checked).
 *
 * The fixture (tests/lib/dpfix) moves the suite into a private network
 * namespace with gw0 (clients) and gw1 (backends, permanent neighbours);
 * every map is private to the process. Needs root and BPF; otherwise every
 * test is skipped, saying why.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/if_link.h>
#include <bpf/libbpf.h>

#include "sluice_abi.h"
#include "berev.h"
#include "maps.h"
#include "publish.h"
#include "sluice.skel.h"
#include "pktbuild.h"
#include "dpfix.h"

#define SYN PKT_TCP_SYN
#define SYNACK (PKT_TCP_SYN | PKT_TCP_ACK)
#define ACK PKT_TCP_ACK
#define RSTACK (PKT_TCP_RST | PKT_TCP_ACK)
#define FIN_BOTH (SLUICE_FLOW_FIN_CLIENT | SLUICE_FLOW_FIN_BACKEND)

#define CLIENT4 "192.0.2.10"
#define CLIENT6 "2001:db8:c::10"
#define VIP4 "10.0.0.1"
#define VIP6 "2001:db8::1"
#define ISN 0x11223344u
#define WINDOW 64240
#define OPT_LEN 20

/* MSS 1460, SACK-permitted, timestamps, NOP, window scale 7: what Linux sends. */
static const uint8_t syn_opts[OPT_LEN] = { 2,	 4,    0x05, 0xb4, 4, 2, 8, 10, 0x00, 0x01,
					   0x02, 0x03, 0,    0,	   0, 0, 1, 3,	3,    7 };

static const char *const be4[] = { "10.1.0.2", "10.1.0.3", "10.1.0.4" };
static const char *const be6[] = { "2001:db8:b::2", "2001:db8:b::3", "2001:db8:b::4" };

static struct sluice_event events[64];
static int n_events;

static int on_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	if (size == sizeof(struct sluice_event) && n_events < 64)
		memcpy(&events[n_events++], data, size);
	return 0;
}

/* Consume the ring; how many events of type arrived since the last call. */
static int events_of(uint32_t type)
{
	int i, n = 0;

	assert_true(ring_buffer__consume(dp.events) >= 0);
	for (i = 0; i < n_events; i++)
		n += events[i].type == type;
	n_events = 0;
	return n;
}

/* ---- maps -------------------------------------------------------------- */

static void fo_set(uint32_t svc, uint8_t retries, uint16_t trip)
{
	struct sluice_svc_fo fo = { .retries = retries, .fast_trip = trip };

	assert_int_equal(bpf_map__update_elem(dp.skel->maps.sl_svc_fo, &svc, sizeof(svc), &fo,
					      sizeof(fo), 0),
			 0);
}

/* A failover counter summed over the CPUs (be: sl_fo_be, else sl_fo_svc). */
static struct sluice_fo_counter fo_ctr(uint32_t id, int be)
{
	struct sluice_fo_counter v[dp.ncpus], sum = { 0 };
	struct bpf_map *m = be ? dp.skel->maps.sl_fo_be : dp.skel->maps.sl_fo_svc;
	int i;

	assert_int_equal(bpf_map__lookup_elem(m, &id, sizeof(id), v, sizeof(v), 0), 0);
	for (i = 0; i < dp.ncpus; i++) {
		sum.moved += v[i].moved;
		sum.redispatched += v[i].redispatched;
		sum.retry_exhausted += v[i].retry_exhausted;
		sum.fast_trips += v[i].fast_trips;
	}
	return sum;
}

static int rev_exists(uint32_t be, const char *client, uint16_t cport)
{
	struct sluice_flow_key k =
		dp_key_of(dp_be_text(be), client, ntohs(dp.bes[be].port), cport, IPPROTO_TCP);
	struct sluice_nat_rev_ent r;

	return !bpf_map__lookup_elem(dp.skel->maps.sl_nat_rev_v2, &k, sizeof(k), &r, sizeof(r), 0);
}

static uint32_t flow_flags(const char *client, const char *vip, uint16_t sport, uint32_t svc)
{
	struct sluice_flow_key k = dp_key_of(client, vip, sport, dp_svc_port(svc), IPPROTO_TCP);
	struct sluice_flow f;

	assert_int_equal(dp_flow_get(&k, &f), 0);
	return f.flags;
}

/* Where the connection is: its flow's backend, before its ACK its pending handshake's. */
static uint32_t flow_be(const char *client, const char *vip, uint16_t sport, uint32_t svc)
{
	return dp_conn_be(client, vip, sport, dp_svc_port(svc), IPPROTO_TCP);
}

/* The pending handshake (flow.h: no flow before the client's ACK); -errno when there is none. */
static int syn_of(const char *client, const char *vip, uint16_t sport, uint32_t svc,
		  struct sluice_syn *out)
{
	struct sluice_flow_key k = dp_key_of(client, vip, sport, dp_svc_port(svc), IPPROTO_TCP);

	return dp_syn_get(&k, out);
}

/* A nat (or ipip) service over three backends of vip's family; ids into ids[3]. */
static uint32_t svc3(const char *vip, uint8_t mode, uint32_t *ids)
{
	int v6 = strchr(vip, ':') != NULL, i;
	uint32_t svc = dp_svc_add(vip, IPPROTO_TCP, mode, SLUICE_HASH_5TUPLE, NULL);

	for (i = 0; i < 3; i++)
		ids[i] = dp_be_add(svc, v6 ? be6[i] : be4[i],
				   mode == SLUICE_MODE_NAT ? 7000 + svc * 4 + i : 0,
				   SLUICE_BE_ACTIVE);
	dp_table_publish(svc, ids, 3);
	return svc;
}

/* ---- frames ------------------------------------------------------------ */

/* The TCP checksum of a built frame, from scratch (after its options changed). */
static void tcp_csum_fix(uint8_t *f, const struct pkt_layout *lay)
{
	int v6 = (f[lay->l3] >> 4) == 6, tlen = lay->len - lay->l4;
	uint8_t ph[40] = { 0 };
	uint32_t sum;
	int phl;

	if (v6) {
		memcpy(ph, f + lay->l3 + 8, 32);
		ph[34] = (uint8_t)(tlen >> 8);
		ph[35] = (uint8_t)tlen;
		ph[39] = IPPROTO_TCP;
		phl = 40;
	} else {
		memcpy(ph, f + lay->l3 + 12, 8);
		ph[9] = IPPROTO_TCP;
		ph[10] = (uint8_t)(tlen >> 8);
		ph[11] = (uint8_t)tlen;
		phl = 12;
	}
	f[lay->l4 + 16] = 0;
	f[lay->l4 + 17] = 0;
	sum = pkt_csum_add(0, ph, phl);
	sum = pkt_csum_add(sum, f + lay->l4, tlen);
	sum = pkt_csum_fold(sum);
	f[lay->l4 + 16] = (uint8_t)(sum >> 8);
	f[lay->l4 + 17] = (uint8_t)sum;
	assert_int_equal(pkt_check_csums(f, lay->len), 0);
}

/* The client's SYN with syn_opts (payload: Fast Open data), tags n_vlan. */
static int client_syn(const char *client, const char *vip, uint16_t sport, uint32_t svc,
		      int payload, int n_vlan, uint8_t *buf)
{
	struct pkt_spec s = dp_client_seg(client, vip, IPPROTO_TCP, sport, dp_svc_port(svc), SYN);
	struct pkt_layout lay;
	int len;

	s.tcp_raw = 1;
	s.seq = ISN;
	s.window = WINDOW;
	s.tcp_opt_len = OPT_LEN;
	s.payload = payload;
	s.n_vlan = n_vlan;
	s.vlan[0].tpid = 0x8100;
	s.vlan[0].tci = 42;
	len = dp_build(&s, buf, &lay);
	memcpy(buf + lay.l4 + 20, syn_opts, OPT_LEN);
	tcp_csum_fix(buf, &lay);
	return len;
}

/*
 * The SYN as the gateway sends it to backend be after a move: untagged,
 * MACs of gw1 -> be, TTL - 1, IPv4 id 0 and DF, the options as sent.
 */
static int expect_syn(const char *client, uint16_t sport, uint32_t be, uint8_t *buf)
{
	struct pkt_spec s = { .src = client,
			      .dst = dp_be_text(be),
			      .proto = IPPROTO_TCP,
			      .sport = sport,
			      .dport = ntohs(dp.bes[be].port),
			      .tcp_flags = SYN,
			      .tcp_raw = 1,
			      .seq = ISN,
			      .window = WINDOW,
			      .tcp_opt_len = OPT_LEN,
			      .ttl = 63,
			      .ip_id_raw = 1,
			      .frag = strchr(client, ':') ? 0 : PKT_IP_DF };
	struct pkt_layout lay;
	int len;

	memcpy(s.smac, dp.topo->mac_gw1, 6);
	memcpy(s.dmac, dp_mac_of(s.dst), 6);
	len = dp_build(&s, buf, &lay);
	memcpy(buf + lay.l4 + 20, syn_opts, OPT_LEN);
	tcp_csum_fix(buf, &lay);
	return len;
}

/*
 * The flow client:1000 of svc moved off backend a: the frame out (olen
 * bytes) is the client's SYN re-sent to the new backend, which it returns.
 */
static uint32_t moved_syn_expect(const char *client, const char *vip, uint32_t svc, uint32_t a,
				 const uint8_t *out, int olen)
{
	uint8_t ex[DP_OUT_MAX];
	uint32_t b = flow_be(client, vip, 1000, svc);
	int exlen;

	assert_int_not_equal(a, b);
	exlen = expect_syn(client, 1000, b, ex);
	assert_int_equal(olen, exlen);
	assert_memory_equal(out, ex, exlen);
	return b;
}

/* Run a frame in on ifindex: expect action and reason counted once (svc, globally). */
static int run_expect(const uint8_t *in, int len, int ifindex, int action, uint32_t reason,
		      uint32_t svc, uint8_t *out)
{
	struct sluice_counter g0 = dp_glb_ctr(reason), s0 = { 0 }, g1, s1 = { 0 };
	int olen;

	if (svc != DP_NO_SVC)
		s0 = dp_svc_ctr(svc, reason);
	assert_int_equal(dp_run(in, len, ifindex, out, &olen), action);
	g1 = dp_glb_ctr(reason);
	if (svc != DP_NO_SVC)
		s1 = dp_svc_ctr(svc, reason);
	assert_int_equal(g1.packets - g0.packets, 1);
	assert_int_equal(s1.packets - s0.packets, svc != DP_NO_SVC);
	return olen;
}

/* The backend's RST answering the SYN (ack = ISN + 1, or ack as given), tags n_vlan. */
static int backend_rst(uint32_t be, const char *client, uint16_t cport, uint32_t ack, int n_vlan,
		       uint8_t *buf)
{
	struct pkt_spec s = dp_backend_seg(be, client, IPPROTO_TCP, cport, RSTACK);

	s.tcp_raw = 1;
	s.seq = 0;
	s.ack = ack;
	s.window = 0;
	s.n_vlan = n_vlan;
	s.vlan[0].tpid = 0x8100;
	s.vlan[0].tci = 7;
	return dp_build(&s, buf, NULL);
}

/* Send the client's SYN (forwarded); the backend it went to. */
static uint32_t syn_in(const char *client, const char *vip, uint16_t sport, uint32_t svc,
		       int payload)
{
	uint8_t in[PKT_BUF_MAX], out[DP_OUT_MAX];
	int len = client_syn(client, vip, sport, svc, payload, 0, in);

	run_expect(in, len, dp.if_gw0, XDP_REDIRECT, SLUICE_R_FWD, svc, out);
	return flow_be(client, vip, sport, svc);
}

/* The client's ACK of its SYN (seq ISN + 1): forwarded, it completes the handshake. */
static void client_ack(const char *client, const char *vip, uint16_t sport, uint32_t svc)
{
	struct pkt_spec s = dp_client_seg(client, vip, IPPROTO_TCP, sport, dp_svc_port(svc), ACK);
	uint8_t in[PKT_BUF_MAX], out[DP_OUT_MAX];
	int len;

	s.tcp_raw = 1;
	s.seq = ISN + 1;
	s.window = WINDOW;
	len = dp_build(&s, in, NULL);
	run_expect(in, len, dp.if_gw0, XDP_REDIRECT, SLUICE_R_FWD, svc, out);
}

/* ---- re-steer on a retransmitted SYN ------------------------------------ */

static void resteer(const char *client, const char *vip, uint8_t mode)
{
	uint8_t in[PKT_BUF_MAX], out[DP_OUT_MAX];
	struct sluice_fo_counter c0, c1;
	struct sluice_syn syn;
	uint32_t ids[3], svc, a, b;
	int len;

	svc = svc3(vip, mode, ids);
	a = syn_in(client, vip, 1000, svc, 0);
	events_of(0);
	c0 = fo_ctr(svc, 0);
	/* The same SYN again: the backend is silent, the flow moves. */
	len = client_syn(client, vip, 1000, svc, 0, 0, in);
	run_expect(in, len, dp.if_gw0, XDP_REDIRECT, SLUICE_R_FWD, svc, out);
	b = flow_be(client, vip, 1000, svc);
	assert_int_not_equal(a, b);
	assert_int_equal(syn_of(client, vip, 1000, svc, &syn), 0);
	assert_int_equal(syn.tries, 2);
	c1 = fo_ctr(svc, 0);
	assert_int_equal(c1.moved - c0.moved, 1);
	assert_int_equal(fo_ctr(a, 1).moved, 1);
	assert_int_equal(events_of(SLUICE_EV_SYN_RETRY), 1);
	if (mode == SLUICE_MODE_NAT) {
		/* The return path follows: b's answers translate, a's no more. */
		assert_true(rev_exists(b, client, 1000));
		assert_false(rev_exists(a, client, 1000));
	}
	/* A SYN with another ISN is a new attempt of the client's: it follows the flow. */
	/* The handshake answered: redispatched, counted for the service and b. */
	if (mode == SLUICE_MODE_NAT) {
		struct pkt_spec s = dp_backend_seg(b, client, IPPROTO_TCP, 1000, SYNACK);

		len = dp_build(&s, in, NULL);
		run_expect(in, len, dp.if_gw1, XDP_REDIRECT, SLUICE_R_REV_NAT, svc, out);
	} else {
		client_ack(client, vip, 1000, svc);
	}
	assert_int_equal(fo_ctr(svc, 0).redispatched - c0.redispatched, 1);
	assert_int_equal(fo_ctr(b, 1).redispatched, 1);
	assert_int_equal(events_of(SLUICE_EV_REDISPATCHED), 1);
	/* Answered: a retransmitted SYN now changes nothing. */
	len = client_syn(client, vip, 1000, svc, 0, 0, in);
	run_expect(in, len, dp.if_gw0, XDP_REDIRECT, SLUICE_R_FWD, svc, out);
	assert_int_equal(flow_be(client, vip, 1000, svc), b);
	assert_int_equal(fo_ctr(svc, 0).moved - c0.moved, 1);
	/* nat: the client's ACK completes it: the flow is created on b, marked moved. */
	if (mode == SLUICE_MODE_NAT)
		client_ack(client, vip, 1000, svc);
	assert_int_equal(dp_flow_be(client, vip, 1000, dp_svc_port(svc), IPPROTO_TCP), b);
	assert_true(flow_flags(client, vip, 1000, svc) & SLUICE_FLOW_MOVED);
	assert_int_not_equal(syn_of(client, vip, 1000, svc, &syn), 0);
}

DP_TEST(test_resteer_nat_v4, resteer(CLIENT4, VIP4, SLUICE_MODE_NAT));
DP_TEST(test_resteer_nat_v6, resteer(CLIENT6, VIP6, SLUICE_MODE_NAT));
DP_TEST(test_resteer_ipip_v4, resteer(CLIENT4, VIP4, SLUICE_MODE_IPIP));
DP_TEST(test_resteer_ipip_v6, resteer(CLIENT6, VIP6, SLUICE_MODE_IPIP));

/* retries 1: one move, then the next retransmission stays, counted exhausted once. */
static void test_resteer_spent(void **state)
{
	uint8_t in[PKT_BUF_MAX], out[DP_OUT_MAX];
	uint32_t ids[3], svc, b;
	int len, i;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = svc3(VIP4, SLUICE_MODE_NAT, ids);
	fo_set(svc, 1, 0);
	syn_in(CLIENT4, VIP4, 1000, svc, 0);
	len = client_syn(CLIENT4, VIP4, 1000, svc, 0, 0, in);
	run_expect(in, len, dp.if_gw0, XDP_REDIRECT, SLUICE_R_FWD, svc, out);
	b = flow_be(CLIENT4, VIP4, 1000, svc);
	events_of(0);
	for (i = 0; i < 2; i++) {
		run_expect(in, len, dp.if_gw0, XDP_REDIRECT, SLUICE_R_FWD, svc, out);
		assert_int_equal(flow_be(CLIENT4, VIP4, 1000, svc), b);
	}
	assert_int_equal(fo_ctr(svc, 0).moved, 1);
	assert_int_equal(fo_ctr(svc, 0).retry_exhausted, 1);
	assert_int_equal(fo_ctr(b, 1).retry_exhausted, 1);
	assert_int_equal(events_of(SLUICE_EV_RETRY_EXHAUSTED), 1);
}

/* ---- redispatch on a RST ------------------------------------------------ */

/*
 * Backend a refuses the SYN of flow client:1000 of svc (a RST, tags
 * n_vlan): swallowed, the SYN re-sent to the next backend, which it
 * returns. The refusal is a's, the move counted, the RST never reached
 * the client, the return translation is the new backend's: its own
 * sl_nat_rev entry, or (stateless: the backends in sl_be_rev, flagged)
 * none, sl_be_rev translating it the same (nat.h).
 */
static uint32_t refused_moves(const char *client, const char *vip, uint32_t svc, uint32_t a,
			      int n_vlan, int stateless)
{
	uint8_t in[PKT_BUF_MAX], out[DP_OUT_MAX];
	struct sluice_be_signals sig;
	int len, olen;
	uint32_t b;

	events_of(0);
	len = backend_rst(a, client, 1000, ISN + 1, n_vlan, in);
	olen = run_expect(in, len, dp.if_gw1, XDP_TX, SLUICE_R_FWD, svc, out);
	b = moved_syn_expect(client, vip, svc, a, out, olen);
	assert_int_equal(maps_read_be_signals(&dp.pin.maps, a, &sig), 0);
	assert_int_equal(sig.refused, 1);
	assert_int_equal(fo_ctr(svc, 0).moved, 1);
	assert_int_equal(events_of(SLUICE_EV_REFUSED), 1);
	assert_int_equal(rev_exists(b, client, 1000), !stateless);
	return b;
}

static void redispatch_rst(const char *client, const char *vip, int n_vlan)
{
	uint32_t ids[3], svc, a, b;

	svc = svc3(vip, SLUICE_MODE_NAT, ids);
	a = syn_in(client, vip, 1000, svc, 0);
	b = refused_moves(client, vip, svc, a, n_vlan, 0);
	struct sluice_syn syn;

	assert_false(rev_exists(a, client, 1000));
	/* Still pending on b, not answered: no flow yet. */
	assert_int_equal(syn_of(client, vip, 1000, svc, &syn), 0);
	assert_false(syn.state & SLUICE_SYN_ANSWERED);
	assert_int_equal(dp_be_ctr(b).new_flows, 1);
}

DP_TEST(test_redispatch_rst_v4, redispatch_rst(CLIENT4, VIP4, 0));
DP_TEST(test_redispatch_rst_v6, redispatch_rst(CLIENT6, VIP6, 0));
static void test_redispatch_rst_vlan(void **state)
{
	(void)state;
	DP_SKIP_UNLESS_READY();
	redispatch_rst(CLIENT4, VIP4, 1);
	redispatch_rst(CLIENT6, VIP6, 1);
}

/* The RST passes as before: retries spent (then exhausted), off, wrong ack, Fast Open. */
static void test_rst_passes(void **state)
{
	uint8_t in[PKT_BUF_MAX], out[DP_OUT_MAX];
	uint32_t ids[3], svc, a, b, c;
	struct sluice_syn syn;
	int len;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = svc3(VIP4, SLUICE_MODE_NAT, ids);
	fo_set(svc, 2, SLUICE_FO_TRIP_OFF);
	a = syn_in(CLIENT4, VIP4, 1000, svc, 0);
	len = backend_rst(a, CLIENT4, 1000, ISN + 1, 0, in);
	run_expect(in, len, dp.if_gw1, XDP_TX, SLUICE_R_FWD, svc, out);
	b = flow_be(CLIENT4, VIP4, 1000, svc);
	len = backend_rst(b, CLIENT4, 1000, ISN + 1, 0, in);
	run_expect(in, len, dp.if_gw1, XDP_TX, SLUICE_R_FWD, svc, out);
	c = flow_be(CLIENT4, VIP4, 1000, svc);
	assert_true(c != a && c != b);
	events_of(0);
	/* Three backends tried, two retries spent: the third's RST reaches the client. */
	len = backend_rst(c, CLIENT4, 1000, ISN + 1, 0, in);
	run_expect(in, len, dp.if_gw1, XDP_REDIRECT, SLUICE_R_REV_NAT, svc, out);
	assert_int_equal(fo_ctr(svc, 0).moved, 2);
	assert_int_equal(fo_ctr(svc, 0).retry_exhausted, 1);
	assert_int_equal(fo_ctr(c, 1).retry_exhausted, 1);
	assert_int_equal(events_of(SLUICE_EV_RETRY_EXHAUSTED), 1);
	/* The RST reached the client: the handshake is over, nothing of it is left. */
	assert_int_not_equal(syn_of(CLIENT4, VIP4, 1000, svc, &syn), 0);

	/* A RST whose ack is not the ISN + 1 answers no SYN of this flow's. */
	a = syn_in(CLIENT4, VIP4, 1001, svc, 0);
	len = backend_rst(a, CLIENT4, 1001, ISN + 7, 0, in);
	run_expect(in, len, dp.if_gw1, XDP_REDIRECT, SLUICE_R_REV_NAT, svc, out);
	assert_int_equal(fo_ctr(svc, 0).moved, 2);

	/* A Fast Open SYN (data) is never replayed. */
	a = syn_in(CLIENT4, VIP4, 1002, svc, 16);
	len = backend_rst(a, CLIENT4, 1002, ISN + 17, 0, in);
	run_expect(in, len, dp.if_gw1, XDP_REDIRECT, SLUICE_R_REV_NAT, svc, out);
	assert_int_equal(fo_ctr(svc, 0).moved, 2);
	assert_int_not_equal(syn_of(CLIENT4, VIP4, 1002, svc, &syn), 0);

	/* retries off. */
	fo_set(svc, SLUICE_FO_RETRIES_OFF, SLUICE_FO_TRIP_OFF);
	a = syn_in(CLIENT4, VIP4, 1003, svc, 0);
	len = backend_rst(a, CLIENT4, 1003, ISN + 1, 0, in);
	run_expect(in, len, dp.if_gw1, XDP_REDIRECT, SLUICE_R_REV_NAT, svc, out);
	assert_int_equal(fo_ctr(svc, 0).moved, 2);
}

/* ---- with the stateless return path (sl_be_rev, nat.h) ----------------- */

/*
 * The backends unambiguous (sl_be_rev published as userspace does) and the
 * flow's sl_nat_rev entry gone (evicted): a's RST still redispatches it
 * (the translation and the flow key rebuilt from the table); the moved flow
 * needs no entry for b either; a's late SYN-ACK translates no more (the
 * flow is b's), b's goes back to the client and counts redispatched.
 */
static void stateless_redispatch(const char *client, const char *vip)
{
	uint8_t in[PKT_BUF_MAX], out[DP_OUT_MAX];
	uint32_t ids[3], svc, a, b;
	struct sluice_syn syn;
	struct pkt_spec s;
	int len;

	svc = svc3(vip, SLUICE_MODE_NAT, ids);
	assert_int_equal(publish_be_rev(&dp.pin.maps, NULL), 0);
	a = syn_in(client, vip, 1000, svc, 0);
	/* sl_be_rev translates a the same: no entry of its own (nat.h). */
	assert_false(rev_exists(a, client, 1000));
	b = refused_moves(client, vip, svc, a, 0, 1);

	s = dp_backend_seg(a, client, IPPROTO_TCP, 1000, SYNACK);
	len = dp_build(&s, in, NULL);
	run_expect(in, len, dp.if_gw1, XDP_PASS, SLUICE_R_NOT_SERVICE, DP_NO_SVC, out);
	assert_memory_equal(out, in, len);
	assert_int_equal(syn_of(client, vip, 1000, svc, &syn), 0);
	assert_false(syn.state & SLUICE_SYN_ANSWERED);

	s = dp_backend_seg(b, client, IPPROTO_TCP, 1000, SYNACK);
	len = dp_build(&s, in, NULL);
	run_expect(in, len, dp.if_gw1, XDP_REDIRECT, SLUICE_R_REV_NAT, svc, out);
	assert_int_equal(syn_of(client, vip, 1000, svc, &syn), 0);
	assert_true(syn.state & SLUICE_SYN_ANSWERED);
	assert_int_equal(fo_ctr(svc, 0).redispatched, 1);
	assert_int_equal(events_of(SLUICE_EV_REDISPATCHED), 1);
	/* Leave no entry to the next test. */
	assert_int_equal(berev_sync(&dp.pin.maps, NULL, 0), 0);
}

DP_TEST(test_stateless_redispatch_v4, stateless_redispatch(CLIENT4, VIP4));
DP_TEST(test_stateless_redispatch_v6, stateless_redispatch(CLIENT6, VIP6));

/* ---- redispatch on ICMP ------------------------------------------------- */

/*
 * An ICMP destination unreachable from a router quoting the SYN a's
 * service sent to backend a (code): the flow moves (moves) or not.
 * stateless: the backends in sl_be_rev and the flow's sl_nat_rev entry
 * gone (the quote is matched through the table and the flow held here).
 */
static void redispatch_icmp(const char *client, const char *vip, uint8_t code, int moves,
			    int stateless)
{
	int v6 = strchr(vip, ':') != NULL;
	uint8_t quote[PKT_BUF_MAX], in[PKT_BUF_MAX], out[DP_OUT_MAX];
	struct pkt_spec icmp = { .src = v6 ? "2001:db8:b::5" : "10.1.0.5",
				 .dst = client,
				 .proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP,
				 .icmp_unreach = 1,
				 .icmp_code = code };
	struct sluice_flow_key k;
	struct pkt_layout lay;
	uint32_t ids[3], svc, a;
	int len, olen;

	svc = svc3(vip, SLUICE_MODE_NAT, ids);
	if (stateless)
		assert_int_equal(publish_be_rev(&dp.pin.maps, NULL), 0);
	a = syn_in(client, vip, 1000, svc, 0);
	if (stateless) /* sl_be_rev translates a the same: no entry of its own (nat.h) */
		assert_false(rev_exists(a, client, 1000));
	/* The quote: the SYN as sent to a (TTL 63), its IP header and 8 bytes of TCP. */
	len = expect_syn(client, 1000, a, quote);
	(void)len;
	lay.l3 = PKT_ETH_LEN;
	lay.l4 = PKT_ETH_LEN + (v6 ? PKT_IP6_LEN : PKT_IP4_LEN);
	icmp.payload_data = quote + lay.l3;
	icmp.payload = lay.l4 - lay.l3 + 8;
	memcpy(icmp.dmac, dp.topo->mac_gw1, 6);
	memcpy(icmp.smac, dp_mac_of(icmp.src), 6);
	len = dp_build(&icmp, in, NULL);
	events_of(0);
	if (!moves) {
		olen = run_expect(in, len, dp.if_gw1, XDP_PASS, SLUICE_R_NOT_L4, DP_NO_SVC, out);
		(void)olen;
		assert_int_equal(flow_be(client, vip, 1000, svc), a);
		assert_int_equal(events_of(SLUICE_EV_UNREACHABLE), 1);
		return;
	}
	olen = run_expect(in, len, dp.if_gw1, XDP_TX, SLUICE_R_FWD, svc, out);
	moved_syn_expect(client, vip, svc, a, out, olen);
	assert_int_equal(events_of(SLUICE_EV_UNREACHABLE), 1);
	assert_int_equal(fo_ctr(svc, 0).moved, 1);
	if (!stateless)
		return;
	/* About a connection this gateway does not hold: no signal, nothing moves. */
	k = dp_key_of(client, vip, 1000, dp_svc_port(svc), IPPROTO_TCP);
	assert_int_equal(bpf_map__delete_elem(dp.skel->maps.sl_syn_v2, &k, sizeof(k), 0), 0);
	run_expect(in, len, dp.if_gw1, XDP_PASS, SLUICE_R_NOT_L4, DP_NO_SVC, out);
	assert_int_equal(events_of(SLUICE_EV_UNREACHABLE), 0);
	assert_int_equal(berev_sync(&dp.pin.maps, NULL, 0), 0);
}

static void test_redispatch_icmp(void **state)
{
	(void)state;
	DP_SKIP_UNLESS_READY();
	redispatch_icmp(CLIENT4, VIP4, 3, 1, 0);  /* port unreachable */
	redispatch_icmp(CLIENT4, VIP4, 13, 1, 0); /* administratively prohibited */
	redispatch_icmp(CLIENT4, VIP4, 4, 0, 0); /* fragmentation needed: path MTU, not a failure */
	redispatch_icmp(CLIENT6, VIP6, 4, 1, 0); /* port unreachable */
	redispatch_icmp(CLIENT6, VIP6, 1, 1, 0); /* administratively prohibited */
	redispatch_icmp(CLIENT4, VIP4, 3, 1, 1); /* the same without sl_nat_rev entry */
	redispatch_icmp(CLIENT6, VIP6, 4, 1, 1);
}

/* ---- fast trip ---------------------------------------------------------- */

/* CLIENT4:p's SYN to svc, then backend be's RST, which passes to the client. */
static void rst_passes(uint32_t svc, uint32_t be, uint16_t p)
{
	uint8_t in[PKT_BUF_MAX], out[DP_OUT_MAX];
	int len;

	syn_in(CLIENT4, VIP4, p, svc, 0);
	len = backend_rst(be, CLIENT4, p, ISN + 1, 0, in);
	run_expect(in, len, dp.if_gw1, XDP_REDIRECT, SLUICE_R_REV_NAT, svc, out);
}

static void test_fast_trip(void **state)
{
	uint8_t in[PKT_BUF_MAX], out[DP_OUT_MAX];
	uint32_t svc, a;
	uint16_t p = 2000;
	int len, i;

	(void)state;
	DP_SKIP_UNLESS_READY();
	/* One backend: nothing to move to, every refusal reaches the client. */
	svc = dp_svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_NAT, SLUICE_HASH_5TUPLE, NULL);
	a = dp_be_add(svc, "10.1.0.2", 7000 + svc * 4, SLUICE_BE_ACTIVE);
	dp_table_publish(svc, &a, 1);
	fo_set(svc, 0, 3);
	/* Two refusals, a success (the run resets), two refusals: still closed. */
	for (i = 0; i < 5; i++, p++) {
		syn_in(CLIENT4, VIP4, p, svc, 0);
		if (i == 2) {
			struct pkt_spec s = dp_backend_seg(a, CLIENT4, IPPROTO_TCP, p, SYNACK);

			len = dp_build(&s, in, NULL);
		} else {
			len = backend_rst(a, CLIENT4, p, ISN + 1, 0, in);
		}
		run_expect(in, len, dp.if_gw1, XDP_REDIRECT, SLUICE_R_REV_NAT, svc, out);
		assert_int_equal(dp_brk_get(a).state, SLUICE_BRK_CLOSED);
	}
	events_of(0);
	/* The third in a row: the data plane opens the breaker itself. */
	rst_passes(svc, a, p);
	assert_int_equal(dp_brk_get(a).state, SLUICE_BRK_OPEN);
	assert_int_equal(dp_brk_get(a).probes_left, SLUICE_BRK_FAST_TRIPPED);
	assert_int_equal(fo_ctr(svc, 0).fast_trips, 1);
	assert_int_equal(fo_ctr(a, 1).fast_trips, 1);
	assert_int_equal(events_of(SLUICE_EV_FAST_TRIP), 1);
	/* Never from half-open: that is userspace's to decide. */
	dp_brk_set(a, SLUICE_BRK_HALF_OPEN, 5);
	for (i = 0; i < 4; i++) {
		p++;
		rst_passes(svc, a, p);
	}
	assert_int_equal(dp_brk_get(a).state, SLUICE_BRK_HALF_OPEN);
	assert_int_equal(fo_ctr(svc, 0).fast_trips, 1);
	dp_brk_set(a, SLUICE_BRK_CLOSED, 0);
	/* fast trip off: never. */
	fo_set(svc, 0, SLUICE_FO_TRIP_OFF);
	for (i = 0; i < 6; i++) {
		p++;
		rst_passes(svc, a, p);
	}
	assert_int_equal(dp_brk_get(a).state, SLUICE_BRK_CLOSED);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resteer_nat_v4),
		cmocka_unit_test(test_resteer_nat_v6),
		cmocka_unit_test(test_resteer_ipip_v4),
		cmocka_unit_test(test_resteer_ipip_v6),
		cmocka_unit_test(test_resteer_spent),
		cmocka_unit_test(test_redispatch_rst_v4),
		cmocka_unit_test(test_redispatch_rst_v6),
		cmocka_unit_test(test_redispatch_rst_vlan),
		cmocka_unit_test(test_rst_passes),
		cmocka_unit_test(test_stateless_redispatch_v4),
		cmocka_unit_test(test_stateless_redispatch_v6),
		cmocka_unit_test(test_redispatch_icmp),
		cmocka_unit_test(test_fast_trip),
	};

	return DP_RUN_GROUP("sluice_failover", tests, &dp_topo_std, on_event);
}
