// SPDX-License-Identifier: GPL-2.0-only
/*
 * Data-plane tests of the resilience stages of sluice_xdp through
 * BPF_PROG_TEST_RUN: bulkheads (service and global limits, reserved share
 * for critical clients, slot release on RST and FIN), the RST that refuses
 * a SYN (exact bytes, built independently by tests/lib/pktbuild with
 * checksums from scratch), circuit breakers (next Maglev choice, fallback,
 * fail fast, the half-open probe budget, established flows not cut) and
 * the passive signals (SYN-ACK, RST on SYN, ICMP unreachable, the ipip
 * client ACK), read back from sl_be_signals and the sl_events ring buffer.
 *
 * The fixture (tests/lib/dpfix) moves the suite into a private network
 * namespace with gw0 (clients) and gw1 (backends, permanent neighbours) so
 * that nat forwarding ends in a redirect; every map is private to the
 * process. Needs root and BPF; otherwise every test is skipped, saying why.
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
#include "clock.h"
#include "flowhash.h"
#include "maps.h"
#include "res.h"
#include "sluice.skel.h"
#include "pktbuild.h"
#include "dpfix.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SYN PKT_TCP_SYN
#define SYNACK (PKT_TCP_SYN | PKT_TCP_ACK)
#define ACK PKT_TCP_ACK
#define FIN (PKT_TCP_FIN | PKT_TCP_ACK)
#define RST PKT_TCP_RST

/* ---- the topology ------------------------------------------------------ */

#define CLIENT4 "192.0.2.10"
#define CLIENT6 "2001:db8:c::10"
#define CRIT4 "198.51.100.7" /* in the critical prefix of test_reserved_critical */
#define VIP4 "10.0.0.1"
#define VIP6 "2001:db8::1"

/*
 * The fixture's standard topology (dp_topo_std): the clients (and CRIT4,
 * behind them) from one MAC, backends 10.1.0.2-5 and 2001:db8:b::2-5 with
 * permanent neighbours on gw1. Service N listens on port 2000 + N.
 */

/* ---- map helpers ------------------------------------------------------- */

static void global_set(uint32_t max)
{
	assert_int_equal(res_global_set(&dp.pin.maps, 1, max, 0, 0, NULL), 0);
}

/*
 * A critical prefix of svc_id. Written directly: the tests give prefixes
 * of services that do not exist, which the library refuses.
 */
static void critical_add(uint32_t svc_id, const char *prefix, int len)
{
	struct sluice_shard_key k = { 0 };
	uint32_t v = 1;

	dp_addr(prefix, &k.addr);
	k.svc_id = svc_id;
	k.prefixlen = 32 + (strchr(prefix, ':') ? len : 96 + len);
	assert_int_equal(bpf_map__update_elem(dp.skel->maps.sl_critical, &k, sizeof(k), &v,
					      sizeof(v), BPF_ANY),
			 0);
}

static struct sluice_be_signals sig_ctr(uint32_t be)
{
	struct sluice_be_signals sum;

	assert_int_equal(maps_read_be_signals(&dp.pin.maps, be, &sum), 0);
	return sum;
}

static struct sluice_res_counter res_ctr(uint32_t svc)
{
	struct sluice_res_counter sum;

	assert_int_equal(maps_read_res_stats(&dp.pin.maps, svc, &sum), 0);
	return sum;
}

/* ---- the ring buffer --------------------------------------------------- */

#define EVENTS_MAX 64
static struct sluice_event events[EVENTS_MAX];
static int n_events;

static int on_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	if (size == sizeof(struct sluice_event) && n_events < EVENTS_MAX)
		memcpy(&events[n_events++], data, size);
	return 0;
}

/* Forget every event published so far. */
static void events_reset(void)
{
	assert_true(ring_buffer__consume(dp.events) >= 0);
	n_events = 0;
}

/* Exactly one new event, of type for backend be of service svc. */
static void event_expect(uint32_t type, uint32_t be, uint32_t svc)
{
	assert_true(ring_buffer__consume(dp.events) >= 0);
	assert_int_equal(n_events, 1);
	assert_int_equal(events[0].type, type);
	assert_int_equal(events[0].backend_id, be);
	assert_int_equal(events[0].svc_id, svc);
	assert_int_equal(events[0].pad, 0);
	assert_true(events[0].ts_ns > 0);
	n_events = 0;
}

static void no_event(void)
{
	assert_true(ring_buffer__consume(dp.events) >= 0);
	assert_int_equal(n_events, 0);
}

/* ---- frames ------------------------------------------------------------ */

/* The flow of client:sport -> vip:dp_svc_port(svc); 0 when found. */
static int flow_get(const char *client, const char *vip, uint16_t sport, uint32_t svc,
		    uint8_t proto, struct sluice_flow *f)
{
	struct sluice_flow_key k = dp_key_of(client, vip, sport, dp_svc_port(svc), proto);

	return dp_flow_get(&k, f);
}

/*
 * A TCP flow's flags but ESTABLISHED, which every TCP flow has (flow.h
 * creates it when the client's ACK completes the handshake).
 */
static uint32_t flow_flags(const char *client, const char *vip, uint16_t sport, uint32_t svc)
{
	struct sluice_flow f;

	assert_int_equal(flow_get(client, vip, sport, svc, IPPROTO_TCP, &f), 0);
	assert_true(f.flags & SLUICE_FLOW_ESTABLISHED);
	return f.flags & ~SLUICE_FLOW_ESTABLISHED;
}

static uint32_t flow_be(const char *client, const char *vip, uint16_t sport, uint32_t svc)
{
	return dp_flow_be(client, vip, sport, dp_svc_port(svc), IPPROTO_TCP);
}

/* A client segment client:sport -> vip:dp_svc_port(svc) arriving on gw0. */
static struct pkt_spec client_seg(const char *client, const char *vip, uint8_t proto,
				  uint16_t sport, uint32_t svc, uint8_t flags)
{
	return dp_client_seg(client, vip, proto, sport, dp_svc_port(svc), flags);
}

/* Send a client segment; expect action / reason. */
static void client_send(const char *client, const char *vip, uint8_t proto, uint16_t sport,
			uint32_t svc, uint8_t flags, int action, uint32_t reason)
{
	struct pkt_spec s = client_seg(client, vip, proto, sport, svc, flags);
	uint8_t out[DP_OUT_MAX];
	int olen;

	dp_send_expect(&s, dp.if_gw0, action, reason, svc, out, &olen);
}

/*
 * Open a TCP connection: the client's SYN expecting action / reason, and
 * when it passes (forwarded or admitted) the client's ACK completing the
 * handshake, which creates the flow and takes the bulkhead slots (flow.h:
 * a SYN alone takes none).
 */
static void client_open(const char *client, const char *vip, uint16_t sport, uint32_t svc,
			int action, uint32_t reason)
{
	client_send(client, vip, IPPROTO_TCP, sport, svc, SYN, action, reason);
	if (reason == SLUICE_R_FWD || reason == SLUICE_R_ADMITTED)
		client_send(client, vip, IPPROTO_TCP, sport, svc, ACK, action, reason);
}

/* A backend segment be:bport -> client:cport (nat return path) arriving on gw1. */
static void backend_send(uint32_t be, const char *client, uint16_t cport, uint32_t svc,
			 uint8_t flags)
{
	struct pkt_spec s = dp_backend_seg(be, client, IPPROTO_TCP, cport, flags);
	uint8_t out[DP_OUT_MAX];
	int olen;

	dp_send_expect(&s, dp.if_gw1, XDP_REDIRECT, SLUICE_R_REV_NAT, svc, out, &olen);
}

/* A local service on vip of max-conns 1 (refusing by refuse): client:1000's SYN took the slot. */
static uint32_t local_full(const char *client, const char *vip, uint8_t refuse)
{
	struct sluice_svc_res res = { .max_conns = 1, .refuse = refuse };
	uint32_t svc = dp_svc_add(vip, IPPROTO_TCP, SLUICE_MODE_LOCAL, SLUICE_HASH_5TUPLE, &res);

	client_open(client, vip, 1000, svc, XDP_PASS, SLUICE_R_ADMITTED);
	return svc;
}

static void test_rst_v4(void **state)
{
	struct pkt_spec s;
	uint32_t svc;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = local_full(CLIENT4, VIP4, SLUICE_REFUSE_RST);
	assert_int_equal(dp_conns(svc), 1);
	s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, SYN);
	dp_rst_expect(&s, svc, SLUICE_R_BH_SERVICE);
	/* IP and TCP options, data on the SYN: all cut; ack counts the data. */
	s.ip4_opt_len = 8;
	s.tcp_opt_len = 12;
	s.payload = 5;
	dp_rst_expect(&s, svc, SLUICE_R_BH_SERVICE);
	/* The sequence number wraps. */
	s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1002, svc, SYN);
	s.tcp_raw = 1;
	s.seq = 0xffffffffu;
	s.window = 512;
	dp_rst_expect(&s, svc, SLUICE_R_BH_SERVICE);
	assert_int_equal(dp_conns(svc), 1);
	/* A refused SYN records no flow. */
	{
		struct sluice_flow f;

		assert_int_not_equal(flow_get(CLIENT4, VIP4, 1001, svc, IPPROTO_TCP, &f), 0);
	}
}

static void test_rst_v6(void **state)
{
	struct pkt_spec s;
	uint32_t svc;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = local_full(CLIENT6, VIP6, SLUICE_REFUSE_RST);
	s = client_seg(CLIENT6, VIP6, IPPROTO_TCP, 1001, svc, SYN);
	dp_rst_expect(&s, svc, SLUICE_R_BH_SERVICE);
	/* Extension headers and options go. */
	s.n_ext = 2;
	s.ext[0].type = IPPROTO_HOPOPTS;
	s.ext[1].type = IPPROTO_DSTOPTS;
	s.ext[1].len = 1;
	s.tcp_opt_len = 20;
	s.payload = 3;
	dp_rst_expect(&s, svc, SLUICE_R_BH_SERVICE);
}

static void test_rst_vlan(void **state)
{
	struct sluice_svc_res res = { .max_conns = 1 };
	struct pkt_spec s;
	uint32_t svc4, svc6;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc4 = local_full(CLIENT4, VIP4, SLUICE_REFUSE_RST);
	svc6 = dp_svc_add(VIP6, IPPROTO_TCP, SLUICE_MODE_NAT, SLUICE_HASH_5TUPLE, &res);
	s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc4, SYN);
	s.n_vlan = 1;
	s.vlan[0].tpid = 0x8100;
	s.vlan[0].tci = 42;
	dp_rst_expect(&s, svc4, SLUICE_R_BH_SERVICE);
	/* QinQ, IPv6, a nat service (refused before any backend is chosen). */
	{
		uint32_t be = dp_be_add(svc6, "2001:db8:b::2", 8443, SLUICE_BE_ACTIVE);

		dp_table_publish(svc6, &be, 1);
	}
	client_open(CLIENT6, VIP6, 1000, svc6, XDP_REDIRECT, SLUICE_R_FWD);
	s = client_seg(CLIENT6, VIP6, IPPROTO_TCP, 1001, svc6, SYN);
	s.n_vlan = 2;
	s.vlan[0].tpid = 0x88a8;
	s.vlan[0].tci = 7;
	s.vlan[1].tpid = 0x8100;
	s.vlan[1].tci = 8;
	dp_rst_expect(&s, svc6, SLUICE_R_BH_SERVICE);
	assert_int_equal(dp_conns(svc6), 1);
}

/* ---- bulkhead ---------------------------------------------------------- */

static void test_refuse_drop(void **state)
{
	uint32_t svc;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = local_full(CLIENT4, VIP4, SLUICE_REFUSE_DROP);
	client_open(CLIENT4, VIP4, 1001, svc, XDP_DROP, SLUICE_R_BH_SERVICE);
	/* The admitted connection's packets still pass; no slot taken by them. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, ACK, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_equal(dp_conns(svc), 1);
}

static void test_udp_over_limit(void **state)
{
	struct sluice_svc_res res = { .max_conns = 2 };
	uint32_t svc, be;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = dp_svc_add(VIP4, IPPROTO_UDP, SLUICE_MODE_LOCAL, SLUICE_HASH_5TUPLE, &res);
	client_send(CLIENT4, VIP4, IPPROTO_UDP, 1000, svc, 0, XDP_PASS, SLUICE_R_ADMITTED);
	client_send(CLIENT4, VIP4, IPPROTO_UDP, 1001, svc, 0, XDP_PASS, SLUICE_R_ADMITTED);
	client_send(CLIENT4, VIP4, IPPROTO_UDP, 1002, svc, 0, XDP_DROP, SLUICE_R_BH_SERVICE);
	/* Known flows go on. */
	client_send(CLIENT4, VIP4, IPPROTO_UDP, 1000, svc, 0, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_equal(dp_conns(svc), 2);
	/* nat alike (refuse rst does not apply to UDP: dropped). */
	res.max_conns = 1;
	svc = dp_svc_add(VIP4, IPPROTO_UDP, SLUICE_MODE_NAT, SLUICE_HASH_5TUPLE, &res);
	be = dp_be_add(svc, "10.1.0.3", 53, SLUICE_BE_ACTIVE);
	dp_table_publish(svc, &be, 1);
	client_send(CLIENT4, VIP4, IPPROTO_UDP, 1000, svc, 0, XDP_REDIRECT, SLUICE_R_FWD);
	client_send(CLIENT4, VIP4, IPPROTO_UDP, 1001, svc, 0, XDP_DROP, SLUICE_R_BH_SERVICE);
	assert_int_equal(dp_conns(svc), 1);
}

static void test_global_limit(void **state)
{
	struct sluice_svc_res one = { .max_conns = 1 }, ten = { .max_conns = 10 };
	struct sluice_svc_res excluded = { .flags = SLUICE_RES_NO_GLOBAL };
	uint32_t x, y, z, n;
	struct sluice_flow f;
	int64_t g0;

	(void)state;
	DP_SKIP_UNLESS_READY();
	g0 = dp_conns(SLUICE_CONNS_GLOBAL);
	x = dp_svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_LOCAL, SLUICE_HASH_5TUPLE, &one);
	y = dp_svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_LOCAL, SLUICE_HASH_5TUPLE, &ten);
	z = dp_svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_LOCAL, SLUICE_HASH_5TUPLE, &excluded);
	n = dp_svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_LOCAL, SLUICE_HASH_5TUPLE, NULL);
	global_set(g0 + 2);
	client_open(CLIENT4, VIP4, 1000, x, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_equal(flow_flags(CLIENT4, VIP4, 1000, x),
			 SLUICE_FLOW_COUNTED | SLUICE_FLOW_COUNTED_GLOBAL);
	/* x full: its own limit refuses, and the global slot is given back. */
	client_open(CLIENT4, VIP4, 1001, x, XDP_TX, SLUICE_R_BH_SERVICE);
	assert_int_equal(dp_conns(SLUICE_CONNS_GLOBAL), g0 + 1);
	/* A service without a limit of its own is under the global one: recorded. */
	client_open(CLIENT4, VIP4, 1000, n, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_equal(flow_flags(CLIENT4, VIP4, 1000, n), SLUICE_FLOW_COUNTED_GLOBAL);
	assert_int_equal(dp_conns(SLUICE_CONNS_GLOBAL), g0 + 2);
	/* Global full: it takes precedence over room in y's limit, and over x's. */
	client_open(CLIENT4, VIP4, 1000, y, XDP_TX, SLUICE_R_BH_GLOBAL);
	client_open(CLIENT4, VIP4, 1002, x, XDP_TX, SLUICE_R_BH_GLOBAL);
	assert_int_equal(dp_conns(y), 0);
	/* An excluded service (no limit of its own) is not counted at all. */
	client_open(CLIENT4, VIP4, 1000, z, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_not_equal(flow_get(CLIENT4, VIP4, 1000, z, IPPROTO_TCP, &f), 0);
	/* Releasing n's connection frees a global slot for y. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, n, RST, XDP_PASS, SLUICE_R_ADMITTED);
	client_open(CLIENT4, VIP4, 1001, y, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_equal(dp_conns(SLUICE_CONNS_GLOBAL), g0 + 2);
	global_set(0);
	/* No limit anywhere: a local service records nothing. */
	client_open(CLIENT4, VIP4, 1001, n, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_not_equal(flow_get(CLIENT4, VIP4, 1001, n, IPPROTO_TCP, &f), 0);
}

static void test_reserved_critical(void **state)
{
	struct sluice_svc_res res = { .max_conns = 3, .reserved = 1 };
	uint32_t svc;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = dp_svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_LOCAL, SLUICE_HASH_5TUPLE, &res);
	critical_add(svc, "198.51.100.0", 24);
	client_open(CLIENT4, VIP4, 1000, svc, XDP_PASS, SLUICE_R_ADMITTED);
	client_open(CLIENT4, VIP4, 1001, svc, XDP_PASS, SLUICE_R_ADMITTED);
	/* Standard share (3 - 1) used up: a standard client is refused... */
	client_open(CLIENT4, VIP4, 1002, svc, XDP_TX, SLUICE_R_BH_SERVICE);
	/* ...a critical one takes the reserve... */
	client_open(CRIT4, VIP4, 1000, svc, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_equal(dp_conns(svc), 3);
	/* ...until the whole limit is used. */
	client_open(CRIT4, VIP4, 1001, svc, XDP_TX, SLUICE_R_BH_SERVICE);
	/* Another service's critical list does not count here. */
	critical_add(svc + 100, CLIENT4, 32);
	client_open(CLIENT4, VIP4, 1003, svc, XDP_TX, SLUICE_R_BH_SERVICE);
	assert_int_equal(dp_conns(svc), 3);
}

/* A nat service of one backend (10.1.0.2:8080) with res. */
static uint32_t nat_svc(const struct sluice_svc_res *res, uint32_t *be)
{
	uint32_t svc = dp_svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_NAT, SLUICE_HASH_5TUPLE, res);

	*be = dp_be_add(svc, "10.1.0.2", 8080, SLUICE_BE_ACTIVE);
	dp_table_publish(svc, be, 1);
	return svc;
}

static void test_release_nat(void **state)
{
	struct sluice_svc_res res = { .max_conns = 1 };
	uint32_t svc, be;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = nat_svc(&res, &be);
	client_open(CLIENT4, VIP4, 1000, svc, XDP_REDIRECT, SLUICE_R_FWD);
	client_open(CLIENT4, VIP4, 1001, svc, XDP_TX, SLUICE_R_BH_SERVICE);
	/* The backend's RST releases. */
	backend_send(be, CLIENT4, 1000, svc, RST | PKT_TCP_ACK);
	assert_int_equal(dp_conns(svc), 0);
	/* The client's RST releases. */
	client_open(CLIENT4, VIP4, 1001, svc, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(dp_conns(svc), 1);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, RST, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(dp_conns(svc), 0);
	/* FIN from both sides releases, in either order; once. */
	client_open(CLIENT4, VIP4, 1002, svc, XDP_REDIRECT, SLUICE_R_FWD);
	backend_send(be, CLIENT4, 1002, svc, SYNACK);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1002, svc, FIN, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(dp_conns(svc), 1);
	backend_send(be, CLIENT4, 1002, svc, FIN);
	assert_int_equal(dp_conns(svc), 0);
	backend_send(be, CLIENT4, 1002, svc, FIN);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1002, svc, FIN, XDP_REDIRECT, SLUICE_R_FWD);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1002, svc, RST, XDP_REDIRECT, SLUICE_R_FWD);
	backend_send(be, CLIENT4, 1002, svc, RST);
	assert_int_equal(dp_conns(svc), 0);
	client_open(CLIENT4, VIP4, 1003, svc, XDP_REDIRECT, SLUICE_R_FWD);
	backend_send(be, CLIENT4, 1003, svc, SYNACK);
	backend_send(be, CLIENT4, 1003, svc, FIN);
	assert_int_equal(dp_conns(svc), 1);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1003, svc, FIN, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(dp_conns(svc), 0);
	/* A SYN reusing the closed 5-tuple is a new connection: it takes a slot again. */
	client_open(CLIENT4, VIP4, 1003, svc, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(dp_conns(svc), 1);
	assert_int_equal(flow_flags(CLIENT4, VIP4, 1003, svc), SLUICE_FLOW_COUNTED);
	/* A retransmitted SYN on an open flow takes none. */
	client_open(CLIENT4, VIP4, 1003, svc, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(dp_conns(svc), 1);
}

static void test_release_client_fin(void **state)
{
	struct sluice_svc_res res = { .max_conns = 1 };
	uint32_t svc, be, i;

	(void)state;
	DP_SKIP_UNLESS_READY();
	for (i = 0; i < 2; i++) {
		int ipip = i == 0;
		int act = ipip ? XDP_REDIRECT : XDP_PASS;
		uint32_t ok = ipip ? SLUICE_R_FWD : SLUICE_R_ADMITTED;

		svc = dp_svc_add(VIP4, IPPROTO_TCP, ipip ? SLUICE_MODE_IPIP : SLUICE_MODE_LOCAL,
				 SLUICE_HASH_5TUPLE, &res);
		if (ipip) {
			be = dp_be_add(svc, "10.1.0.3", 0, SLUICE_BE_ACTIVE);
			dp_table_publish(svc, &be, 1);
		}
		client_open(CLIENT4, VIP4, 1000, svc, act, ok);
		assert_int_equal(dp_conns(svc), 1);
		client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, FIN, act, ok);
		assert_int_equal(dp_conns(svc), 0);
		client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, FIN, act, ok);
		client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, RST, act, ok);
		assert_int_equal(dp_conns(svc), 0);
		client_open(CLIENT4, VIP4, 1001, svc, act, ok);
		client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, RST, act, ok);
		assert_int_equal(dp_conns(svc), 0);
	}
}

static void test_nonsyn_no_slot(void **state)
{
	struct sluice_svc_res res = { .max_conns = 1 };
	struct sluice_flow f;
	uint32_t svc, be;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = nat_svc(&res, &be);
	/* A restarted gateway: mid-connection segments are steered, recorded ESTABLISHED. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, ACK, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(dp_conns(svc), 0);
	assert_int_equal(flow_flags(CLIENT4, VIP4, 1000, svc), 0);
	assert_int_equal(flow_be(CLIENT4, VIP4, 1000, svc), be);
	client_open(CLIENT4, VIP4, 1001, svc, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(dp_conns(svc), 1);
	/* local: admitted, nothing recorded. */
	svc = dp_svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_LOCAL, SLUICE_HASH_5TUPLE, &res);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, ACK, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_equal(dp_conns(svc), 0);
	assert_int_not_equal(flow_get(CLIENT4, VIP4, 1000, svc, IPPROTO_TCP, &f), 0);
	/* A local flow with a limit is recorded without a backend. */
	client_open(CLIENT4, VIP4, 1001, svc, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_equal(flow_get(CLIENT4, VIP4, 1001, svc, IPPROTO_TCP, &f), 0);
	assert_int_equal(f.backend_id, SLUICE_NO_BACKEND);
	assert_int_equal(f.svc_id, svc);
	assert_true(f.created > 0 && f.created == f.last_seen);
	/* Created ESTABLISHED by the client's ACK (no backend: no signal); another changes nothing. */
	events_reset();
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, ACK, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_equal(flow_flags(CLIENT4, VIP4, 1001, svc), SLUICE_FLOW_COUNTED);
	assert_int_equal(dp_conns(svc), 1);
	no_event();
}

/* ---- breakers ---------------------------------------------------------- */

/* A nat service of n backends 10.1.0.2.. (ports 80) with res; ids in ids[]. */
static uint32_t nat_svc_n(const struct sluice_svc_res *res, uint32_t *ids, int n)
{
	uint32_t svc = dp_svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_NAT, SLUICE_HASH_5TUPLE, res);
	int i;

	for (i = 0; i < n; i++)
		ids[i] = dp_be_add(svc, dp_topo_std.backends[i].addr, 80, SLUICE_BE_ACTIVE);
	dp_table_publish(svc, ids, n);
	return svc;
}

/* The table slot a client port's flow hashes to. */
static uint32_t slot_of(uint32_t svc, uint16_t sport)
{
	struct sluice_flow_key k = dp_key_of(CLIENT4, VIP4, sport, dp_svc_port(svc), IPPROTO_TCP);

	return sluice_maglev_slot(sluice_flow_hash(&k, SLUICE_HASH_5TUPLE), DP_TEST_M);
}

/* The first of the next SLUICE_BRK_NEXT_TRIES slots holding neither a nor b. */
static uint32_t next_choice(uint32_t svc, uint16_t sport, uint32_t a, uint32_t b)
{
	uint32_t slot = slot_of(svc, sport), i;

	for (i = 0; i < SLUICE_BRK_NEXT_TRIES; i++) {
		slot = slot >= DP_TEST_M ? 1 : slot + 1;
		if (dp.tables[svc][slot] != a && dp.tables[svc][slot] != b)
			return dp.tables[svc][slot];
	}
	return SLUICE_NO_BACKEND;
}

/* A client segment that must be dropped for reason (counted for svc too). */
static void hygiene_drop(const char *client, uint32_t svc, uint16_t sport, uint8_t flags,
			 uint32_t reason)
{
	struct pkt_spec s = client_seg(client, VIP4, IPPROTO_TCP, sport, svc, flags);
	uint8_t out[DP_OUT_MAX];
	struct sluice_flow f;
	int olen;

	dp_send_expect(&s, dp.if_gw0, XDP_DROP, reason, svc, out, &olen);
	assert_int_not_equal(flow_get(client, VIP4, sport, svc, IPPROTO_TCP, &f), 0);
}

/* ---- SYN flood defence (flow.h: no flow state before the handshake completes) ---- */

/* Entries in the flow table (the whole of it: a bounded walk). */
static int flows_count(void)
{
	struct sluice_flow_key k, next;
	int n = 0, err;

	err = bpf_map__get_next_key(dp.skel->maps.sl_flows_v3, NULL, &next, sizeof(next));
	while (!err && n < 1000000) {
		n++;
		k = next;
		err = bpf_map__get_next_key(dp.skel->maps.sl_flows_v3, &k, &next, sizeof(next));
	}
	return n;
}

/*
 * A SYN leaves no flow and holds no slot, only its pending handshake on
 * the backend it went to; the client's ACK (seq ISN + 1) creates the flow
 * there, ESTABLISHED, with the slot; an ACK of another seq does not.
 */
static void test_syn_pending(void **state)
{
	struct sluice_svc_res res = { .max_conns = 2 };
	struct sluice_flow_key k;
	struct sluice_syn syn;
	struct sluice_flow f;
	struct pkt_spec s;
	uint32_t svc, be;
	int n0;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = nat_svc(&res, &be);
	n0 = flows_count();
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(dp_conns(svc), 0);
	assert_int_equal(flows_count(), n0);
	assert_int_not_equal(flow_get(CLIENT4, VIP4, 1000, svc, IPPROTO_TCP, &f), 0);
	k = dp_key_of(CLIENT4, VIP4, 1000, dp_svc_port(svc), IPPROTO_TCP);
	assert_int_equal(dp_syn_get(&k, &syn), 0);
	assert_int_equal(syn.tries, 1);
	assert_int_equal(syn.tried[0], be);
	/* Its retransmission changes nothing. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(dp_conns(svc), 0);
	assert_int_equal(flows_count(), n0);
	/* An ACK that is not the handshake's (seq not ISN + 1): steered, no slot. */
	s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, ACK);
	s.tcp_raw = 1;
	s.seq = 0x01020304u + 7;
	s.window = 512;
	{
		uint8_t out[DP_OUT_MAX];
		int olen;

		dp_send_expect(&s, dp.if_gw0, XDP_REDIRECT, SLUICE_R_FWD, svc, out, &olen);
	}
	assert_int_equal(dp_conns(svc), 0);
	assert_int_equal(flow_get(CLIENT4, VIP4, 1000, svc, IPPROTO_TCP, &f), 0);
	assert_int_equal(f.flags, SLUICE_FLOW_ESTABLISHED);
	/* The real handshake of another port: the ACK takes the slot, on the SYN's backend. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(dp_conns(svc), 0);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, ACK, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(dp_conns(svc), 1);
	assert_int_equal(flow_get(CLIENT4, VIP4, 1001, svc, IPPROTO_TCP, &f), 0);
	assert_int_equal(f.backend_id, be);
	assert_int_equal(f.flags, SLUICE_FLOW_ESTABLISHED | SLUICE_FLOW_COUNTED);
	k = dp_key_of(CLIENT4, VIP4, 1001, dp_svc_port(svc), IPPROTO_TCP);
	assert_int_not_equal(dp_syn_get(&k, &syn), 0);
	/* Its next ACK is the flow's: no second slot. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, ACK, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(dp_conns(svc), 1);
	/* A Fast Open SYN (data): its ACK's seq is past ISN + 1 and completes it all the same. */
	s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1002, svc, SYN);
	s.payload = 5;
	{
		uint8_t out[DP_OUT_MAX];
		int olen;

		dp_send_expect(&s, dp.if_gw0, XDP_REDIRECT, SLUICE_R_FWD, svc, out, &olen);
		s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1002, svc, ACK);
		s.tcp_raw = 1;
		s.seq = 0x01020304u + 6;
		s.window = 512;
		dp_send_expect(&s, dp.if_gw0, XDP_REDIRECT, SLUICE_R_FWD, svc, out, &olen);
	}
	assert_int_equal(dp_conns(svc), 2);
	assert_int_equal(flow_get(CLIENT4, VIP4, 1002, svc, IPPROTO_TCP, &f), 0);
	assert_int_equal(f.flags, SLUICE_FLOW_ESTABLISHED | SLUICE_FLOW_COUNTED);
}

/*
 * A closed flow's 5-tuple reused (a busy client's ports come round fast):
 * the new SYN keeps the closed entry and only records its handshake; a
 * stray segment of the old connection still follows the closed flow; the
 * new backend's SYN-ACK is translated and answers the handshake; the
 * client's ACK writes the new connection over the closed entry, on the
 * handshake's backend, with its slot (flow.h: no delete at the SYN and
 * insert at the ACK).
 */
static void test_syn_reuse_closed(void **state)
{
	struct sluice_svc_res res = { .max_conns = 2 };
	struct sluice_flow_key k;
	struct sluice_syn syn;
	struct sluice_flow f;
	uint32_t svc, ids[2], a, b;
	uint16_t port;
	int n0;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = nat_svc_n(&res, ids, 2);
	a = ids[0];
	b = ids[1];
	/* A port whose first connection goes to a. */
	port = dp_port_to(CLIENT4, VIP4, svc, IPPROTO_TCP, a, 3000);
	client_open(CLIENT4, VIP4, port, svc, XDP_REDIRECT, SLUICE_R_FWD);
	backend_send(a, CLIENT4, port, svc, SYNACK);
	assert_int_equal(flow_be(CLIENT4, VIP4, port, svc), a);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, port, svc, FIN, XDP_REDIRECT, SLUICE_R_FWD);
	backend_send(a, CLIENT4, port, svc, FIN);
	assert_int_equal(dp_conns(svc), 0);
	/* The old connection's last ACK follows the closed flow, changing nothing. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, port, svc, ACK, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(flow_get(CLIENT4, VIP4, port, svc, IPPROTO_TCP, &f), 0);
	assert_int_equal(f.backend_id, a);
	assert_int_equal(f.flags & (SLUICE_FLOW_FIN_CLIENT | SLUICE_FLOW_FIN_BACKEND),
			 SLUICE_FLOW_FIN_CLIENT | SLUICE_FLOW_FIN_BACKEND);
	assert_int_equal(dp_conns(svc), 0);
	/* a drains out of the table: the new connection goes to b. */
	dp_be_state(a, SLUICE_BE_DRAINING);
	dp_table_publish(svc, &b, 1);
	n0 = flows_count();
	client_send(CLIENT4, VIP4, IPPROTO_TCP, port, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(flows_count(), n0);
	assert_int_equal(flow_get(CLIENT4, VIP4, port, svc, IPPROTO_TCP, &f), 0);
	assert_int_equal(f.backend_id, a);
	k = dp_key_of(CLIENT4, VIP4, port, dp_svc_port(svc), IPPROTO_TCP);
	assert_int_equal(dp_syn_get(&k, &syn), 0);
	assert_int_equal(syn.tried[0], b);
	assert_int_equal(dp_conns(svc), 0);
	backend_send(b, CLIENT4, port, svc, SYNACK);
	assert_int_equal(dp_syn_get(&k, &syn), 0);
	assert_true(syn.state & SLUICE_SYN_ANSWERED);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, port, svc, ACK, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(flows_count(), n0);
	assert_int_equal(flow_get(CLIENT4, VIP4, port, svc, IPPROTO_TCP, &f), 0);
	assert_int_equal(f.backend_id, b);
	assert_int_equal(f.flags, SLUICE_FLOW_ESTABLISHED | SLUICE_FLOW_COUNTED);
	assert_int_not_equal(dp_syn_get(&k, &syn), 0);
	assert_int_equal(dp_conns(svc), 1);
	/* The new connection's next segment is the flow's: to b, no second slot. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, port, svc, ACK, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(flow_be(CLIENT4, VIP4, port, svc), b);
	assert_int_equal(dp_conns(svc), 1);
}

/*
 * The bulkhead at the SYN and at the ACK: a full service refuses the SYN
 * (RST, as before); two SYNs admitted for the last slot race at their
 * ACKs, and the second is refused with a RST at its own ack: no
 * connection is ever admitted over the limit.
 */
static void test_syn_bulkhead(void **state)
{
	struct sluice_svc_res res = { .max_conns = 2 };
	struct pkt_spec s;
	uint32_t svc, be;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = nat_svc(&res, &be);
	client_open(CLIENT4, VIP4, 1000, svc, XDP_REDIRECT, SLUICE_R_FWD);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1002, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(dp_conns(svc), 1);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, ACK, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(dp_conns(svc), 2);
	s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1002, svc, ACK);
	dp_rst_expect(&s, svc, SLUICE_R_BH_SERVICE);
	assert_int_equal(dp_conns(svc), 2);
	/* Full: refused at the SYN, nothing pending. */
	s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1003, svc, SYN);
	dp_rst_expect(&s, svc, SLUICE_R_BH_SERVICE);
	assert_int_equal(dp_conns(svc), 2);
}

/*
 * A flood of spoofed SYNs (random sources, never answered) at a service
 * with a bulkhead: the flow table and the counts stay as they were, and a
 * real client still connects and holds its slot.
 */
static void test_syn_flood(void **state)
{
	struct sluice_svc_res res = { .max_conns = 4 };
	uint8_t out[DP_OUT_MAX];
	struct pkt_spec s;
	uint32_t svc, be, i, x = 0x2545f491u;
	int64_t g0;
	char src[32];
	int n0, olen;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = nat_svc(&res, &be);
	n0 = flows_count();
	g0 = dp_conns(SLUICE_CONNS_GLOBAL);
	for (i = 0; i < 2000; i++) {
		/* xorshift32: sources spread over 10.64.0.0/10, any port. */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		snprintf(src, sizeof(src), "10.%u.%u.%u", 64 + ((x >> 16) & 63), (x >> 8) & 255,
			 (x & 254) + 1);
		s = client_seg(src, VIP4, IPPROTO_TCP, (uint16_t)(1024 + (x >> 20)), svc, SYN);
		dp_send_expect(&s, dp.if_gw0, XDP_REDIRECT, SLUICE_R_FWD, svc, out, &olen);
	}
	assert_int_equal(flows_count(), n0);
	assert_int_equal(dp_conns(svc), 0);
	assert_int_equal(dp_conns(SLUICE_CONNS_GLOBAL), g0);
	/* A real client connects all the same, and only it holds a slot and a flow. */
	client_open(CLIENT4, VIP4, 1000, svc, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(dp_conns(svc), 1);
	assert_int_equal(flows_count(), n0 + 1);
	assert_int_equal(flow_be(CLIENT4, VIP4, 1000, svc), be);
}

/*
 * Segment hygiene (bpf/lib/hygiene.h): an invalid segment or a martian
 * source is dropped, never answered with a RST, and takes no flow and no
 * bulkhead slot, even with the bulkhead full; an established flow's
 * invalid segment is dropped too and releases nothing.
 */
static void test_hygiene_no_state(void **state)
{
	struct sluice_svc_res res = { .max_conns = 1 };
	struct sluice_counter adm0;
	uint32_t svc, be;
	uint16_t p;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = nat_svc(&res, &be);
	adm0 = dp_svc_ctr(svc, SLUICE_R_FWD);
	for (p = 1000; p < 1010; p++) {
		hygiene_drop(CLIENT4, svc, p, SYN | PKT_TCP_FIN, SLUICE_R_BAD_FLAGS);
		hygiene_drop(CLIENT4, svc, p, SYN | RST, SLUICE_R_BAD_FLAGS);
		hygiene_drop(CLIENT4, svc, p, PKT_TCP_FIN, SLUICE_R_BAD_FLAGS);
		hygiene_drop("127.0.0.1", svc, p, SYN, SLUICE_R_MARTIAN);
		hygiene_drop("224.0.0.9", svc, p, SYN, SLUICE_R_MARTIAN);
		hygiene_drop("0.0.0.0", svc, p, SYN, SLUICE_R_MARTIAN);
	}
	assert_int_equal(dp_conns(svc), 0);
	assert_int_equal(dp_svc_ctr(svc, SLUICE_R_FWD).packets, adm0.packets);
	/* The one slot is still free for a real client. */
	client_open(CLIENT4, VIP4, 2000, svc, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(dp_conns(svc), 1);
	/* FIN without ACK on that flow: dropped, the slot stays taken. */
	{
		struct pkt_spec s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 2000, svc, PKT_TCP_FIN);
		uint8_t out[DP_OUT_MAX];
		int olen;

		dp_send_expect(&s, dp.if_gw0, XDP_DROP, SLUICE_R_BAD_FLAGS, svc, out, &olen);
	}
	assert_int_equal(dp_conns(svc), 1);
	assert_int_equal(flow_be(CLIENT4, VIP4, 2000, svc), be);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 2000, svc, RST, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(dp_conns(svc), 0);
}

static void ifmac_set(int ifindex, const uint8_t *mac)
{
	struct sluice_ifmac v = { { 0 }, 0, 0 };
	uint32_t k = (uint32_t)ifindex;

	if (mac) {
		memcpy(v.mac, mac, 6);
		v.set = 1;
	}
	assert_int_equal(
		bpf_map__update_elem(dp.skel->maps.sl_ifmac, &k, sizeof(k), &v, sizeof(v), BPF_ANY),
		0);
}

/*
 * Promiscuous mode: with gw0's MAC in sl_ifmac, a unicast frame for
 * another MAC passes untouched (other_host), takes no flow and no slot;
 * the right MAC and group addresses are served as before, and an
 * interface without an entry (gw1) is not checked.
 */
static void test_other_host(void **state)
{
	static const uint8_t other[6] = { 0x02, 0, 0, 0, 0x99, 0x99 };
	struct sluice_svc_res res = { .max_conns = 5 };
	uint8_t in[PKT_BUF_MAX], out[DP_OUT_MAX];
	struct pkt_spec s;
	struct sluice_flow f;
	uint32_t svc, be;
	int len, olen;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = nat_svc(&res, &be);
	ifmac_set(dp.if_gw0, dp.topo->mac_gw0);
	s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, SYN);
	memcpy(s.dmac, other, 6);
	len = dp_build(&s, in, NULL);
	dp_send_expect(&s, dp.if_gw0, XDP_PASS, SLUICE_R_OTHER_HOST, DP_NO_SVC, out, &olen);
	assert_int_equal(olen, len);
	assert_memory_equal(out, in, len);
	assert_int_not_equal(flow_get(CLIENT4, VIP4, 1000, svc, IPPROTO_TCP, &f), 0);
	assert_int_equal(dp_conns(svc), 0);
	/* Not even IPv6 or tagged frames, nor ICMP. */
	s = client_seg(CLIENT6, VIP6, IPPROTO_TCP, 1000, svc, SYN);
	memcpy(s.dmac, other, 6);
	s.n_vlan = 1;
	s.vlan[0].tpid = 0x8100;
	s.vlan[0].tci = 7;
	dp_send_expect(&s, dp.if_gw0, XDP_PASS, SLUICE_R_OTHER_HOST, DP_NO_SVC, out, &olen);
	/* The interface's own MAC: served. */
	client_open(CLIENT4, VIP4, 1000, svc, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(dp_conns(svc), 1);
	/* Broadcast: the stack's business, not filtered here (ARP and the like). */
	s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, SYN);
	memset(s.dmac, 0xff, 6);
	dp_send_expect(&s, dp.if_gw0, XDP_REDIRECT, SLUICE_R_FWD, svc, out, &olen);
	/* gw1 has no entry: its return traffic is not checked. */
	{
		struct pkt_spec b = dp_backend_seg(be, CLIENT4, IPPROTO_TCP, 1000, SYNACK);

		memcpy(b.dmac, other, 6);
		dp_send_expect(&b, dp.if_gw1, XDP_REDIRECT, SLUICE_R_REV_NAT, svc, out, &olen);
	}
	/* Cleared: no check. */
	ifmac_set(dp.if_gw0, NULL);
	s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1002, svc, SYN);
	memcpy(s.dmac, other, 6);
	dp_send_expect(&s, dp.if_gw0, XDP_REDIRECT, SLUICE_R_FWD, svc, out, &olen);
}

static void test_breaker_next(void **state)
{
	struct sluice_svc_res res = { 0 };
	struct sluice_res_counter r0, r1;
	uint32_t svc, ids[3], a, want;
	uint16_t p;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = nat_svc_n(&res, ids, 3);
	a = ids[0];
	dp_brk_set(a, SLUICE_BRK_OPEN, 0);
	r0 = res_ctr(svc);
	for (p = 3000; p < 3040; p++) {
		uint32_t chosen = dp.tables[svc][slot_of(svc, p)];

		want = chosen == a ? next_choice(svc, p, a, a) : chosen;
		client_open(CLIENT4, VIP4, p, svc, XDP_REDIRECT, SLUICE_R_FWD);
		assert_int_equal(flow_be(CLIENT4, VIP4, p, svc), want);
		assert_int_not_equal(want, a);
	}
	r1 = res_ctr(svc);
	/* Counted once per flow that was moved. */
	{
		uint64_t moved = 0;

		for (p = 3000; p < 3040; p++)
			moved += dp.tables[svc][slot_of(svc, p)] == a;
		assert_true(moved > 0);
		assert_int_equal(r1.rerouted_next - r0.rerouted_next, moved);
		assert_int_equal(r1.rerouted_fallback, r0.rerouted_fallback);
	}
	/* The next choice half-open: admitted as a probe while its budget lasts. */
	for (p = 3100; dp.tables[svc][slot_of(svc, p)] != a; p++)
		;
	want = next_choice(svc, p, a, a);
	dp_brk_set(want, SLUICE_BRK_HALF_OPEN, 1);
	client_open(CLIENT4, VIP4, p, svc, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(flow_be(CLIENT4, VIP4, p, svc), want);
	assert_int_equal(flow_flags(CLIENT4, VIP4, p, svc), SLUICE_FLOW_PROBE);
	/* Budget spent: the walk goes on past it. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, p, svc, RST, XDP_REDIRECT, SLUICE_R_FWD);
	client_open(CLIENT4, VIP4, p, svc, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(flow_be(CLIENT4, VIP4, p, svc), next_choice(svc, p, a, want));
	dp_brk_set(want, SLUICE_BRK_CLOSED, 0);
	dp_brk_set(a, SLUICE_BRK_CLOSED, 0);
}

static void test_breaker_fallback(void **state)
{
	struct sluice_svc_res res = { .on_open = SLUICE_ON_OPEN_FALLBACK };
	struct sluice_res_counter r0, r1;
	uint32_t svc, a, fb;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = nat_svc(&res, &a);
	/* The fallback: a backend of the service outside the table. */
	fb = dp_be_add(svc, "10.1.0.5", 80, SLUICE_BE_DRAINING);
	res.fallback_be = fb + 1;
	res.max_conns = 10;
	dp_res_set(svc, &res);
	dp_brk_set(a, SLUICE_BRK_OPEN, 0);
	r0 = res_ctr(svc);
	client_open(CLIENT4, VIP4, 1000, svc, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(flow_be(CLIENT4, VIP4, 1000, svc), fb);
	r1 = res_ctr(svc);
	assert_int_equal(r1.rerouted_fallback - r0.rerouted_fallback, 1);
	assert_int_equal(r1.rerouted_next, r0.rerouted_next);
	/* Fallback open too: refused, and the bulkhead slot given back. */
	dp_brk_set(fb, SLUICE_BRK_OPEN, 0);
	{
		struct pkt_spec s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, SYN);

		dp_rst_expect(&s, svc, SLUICE_R_BRK_OPEN);
	}
	assert_int_equal(dp_conns(svc), 1);
	/* NEXT with every table choice open (one backend): the fallback. */
	res.on_open = SLUICE_ON_OPEN_NEXT;
	dp_res_set(svc, &res);
	dp_brk_set(fb, SLUICE_BRK_CLOSED, 0);
	client_open(CLIENT4, VIP4, 1002, svc, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(flow_be(CLIENT4, VIP4, 1002, svc), fb);
	assert_int_equal(res_ctr(svc).rerouted_fallback - r0.rerouted_fallback, 2);
	dp_brk_set(a, SLUICE_BRK_CLOSED, 0);
}

static void test_breaker_fail_fast(void **state)
{
	static const uint8_t policies[] = { SLUICE_ON_OPEN_NEXT, SLUICE_ON_OPEN_FALLBACK,
					    SLUICE_ON_OPEN_FAIL_FAST };
	uint32_t svc, a, fb, i;

	(void)state;
	DP_SKIP_UNLESS_READY();
	for (i = 0; i < ARRAY_SIZE(policies); i++) {
		struct sluice_svc_res res = { .on_open = policies[i], .max_conns = 5 };
		struct pkt_spec s;

		svc = nat_svc(&res, &a);
		dp_brk_set(a, SLUICE_BRK_OPEN, 0);
		if (policies[i] == SLUICE_ON_OPEN_FAIL_FAST) {
			/* Fail fast ignores a fallback that could take it. */
			fb = dp_be_add(svc, "10.1.0.5", 80, SLUICE_BE_DRAINING);
			res.fallback_be = fb + 1;
			dp_res_set(svc, &res);
		}
		s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, SYN);
		dp_rst_expect(&s, svc, SLUICE_R_BRK_OPEN);
		assert_int_equal(dp_conns(svc), 0);
		/* refuse drop: dropped. */
		res.refuse = SLUICE_REFUSE_DROP;
		dp_res_set(svc, &res);
		client_open(CLIENT4, VIP4, 1001, svc, XDP_DROP, SLUICE_R_BRK_OPEN);
		/* UDP is dropped whatever refuse says (no flow here: TCP service). */
		assert_int_equal(dp_conns(svc), 0);
		dp_brk_set(a, SLUICE_BRK_CLOSED, 0);
	}
}

/*
 * Panic (SLUICE_RES_PANIC, set by the breaker engine): two of three
 * backends open, fail-fast. Without the flag a flow hashed to an open one
 * is refused; with it every flow keeps its table choice, open or not, so
 * new flows reach all three; the flag cleared, refusals again.
 */
static void test_panic(void **state)
{
	struct sluice_svc_res res = { .on_open = SLUICE_ON_OPEN_FAIL_FAST,
				      .refuse = SLUICE_REFUSE_DROP };
	uint32_t svc, ids[3], seen[3] = { 0 }, i;
	uint16_t p;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = nat_svc_n(&res, ids, 3);
	dp_brk_set(ids[0], SLUICE_BRK_OPEN, 0);
	dp_brk_set(ids[1], SLUICE_BRK_OPEN, 0);
	for (p = 5000; dp.tables[svc][slot_of(svc, p)] == ids[2]; p++)
		;
	client_open(CLIENT4, VIP4, p, svc, XDP_DROP, SLUICE_R_BRK_OPEN);
	res.flags = SLUICE_RES_PANIC;
	dp_res_set(svc, &res);
	for (p = 5200; p < 5260; p++) {
		uint32_t chosen = dp.tables[svc][slot_of(svc, p)];

		client_open(CLIENT4, VIP4, p, svc, XDP_REDIRECT, SLUICE_R_FWD);
		assert_int_equal(flow_be(CLIENT4, VIP4, p, svc), chosen);
		for (i = 0; i < 3; i++)
			seen[i] += chosen == ids[i];
	}
	for (i = 0; i < 3; i++)
		assert_true(seen[i] > 0); /* all three, open ones included */
	res.flags = 0;
	dp_res_set(svc, &res);
	for (p = 6000; dp.tables[svc][slot_of(svc, p)] == ids[2]; p++)
		;
	client_open(CLIENT4, VIP4, p, svc, XDP_DROP, SLUICE_R_BRK_OPEN);
	dp_brk_set(ids[0], SLUICE_BRK_CLOSED, 0);
	dp_brk_set(ids[1], SLUICE_BRK_CLOSED, 0);
}

static void test_half_open_budget(void **state)
{
	struct sluice_svc_res res = { .on_open = SLUICE_ON_OPEN_FAIL_FAST };
	struct sluice_be_signals g0, g1;
	uint32_t svc, a;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = nat_svc(&res, &a);
	dp_brk_set(a, SLUICE_BRK_HALF_OPEN, 2);
	g0 = sig_ctr(a);
	client_open(CLIENT4, VIP4, 1000, svc, XDP_REDIRECT, SLUICE_R_FWD);
	client_open(CLIENT4, VIP4, 1001, svc, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(flow_flags(CLIENT4, VIP4, 1000, svc), SLUICE_FLOW_PROBE);
	assert_int_equal(flow_flags(CLIENT4, VIP4, 1001, svc), SLUICE_FLOW_PROBE);
	/* K = 2 probes admitted; the rest treated as open (fail fast here). */
	client_open(CLIENT4, VIP4, 1002, svc, XDP_TX, SLUICE_R_BRK_OPEN);
	client_open(CLIENT4, VIP4, 1003, svc, XDP_TX, SLUICE_R_BRK_OPEN);
	g1 = sig_ctr(a);
	assert_int_equal(g1.probes - g0.probes, 2);
	/* The budget does not run below zero with refusals. */
	assert_int_equal(dp_brk_get(a).probes_left, 0);
	/* The probes' own segments go on (established flows). */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, ACK, XDP_REDIRECT, SLUICE_R_FWD);
	dp_brk_set(a, SLUICE_BRK_CLOSED, 0);
}

static void test_established_not_cut(void **state)
{
	struct sluice_svc_res res = { .on_open = SLUICE_ON_OPEN_FAIL_FAST, .max_conns = 4 };
	uint32_t svc, a;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = nat_svc(&res, &a);
	client_open(CLIENT4, VIP4, 1000, svc, XDP_REDIRECT, SLUICE_R_FWD);
	backend_send(a, CLIENT4, 1000, svc, SYNACK);
	dp_brk_set(a, SLUICE_BRK_OPEN, 0);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, ACK, XDP_REDIRECT, SLUICE_R_FWD);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, ACK | PKT_TCP_PSH, XDP_REDIRECT,
		    SLUICE_R_FWD);
	assert_int_equal(flow_be(CLIENT4, VIP4, 1000, svc), a);
	/* Its return traffic too. */
	backend_send(a, CLIENT4, 1000, svc, ACK);
	/* A new one is refused. */
	client_open(CLIENT4, VIP4, 1001, svc, XDP_TX, SLUICE_R_BRK_OPEN);
	assert_int_equal(dp_conns(svc), 1);
	dp_brk_set(a, SLUICE_BRK_CLOSED, 0);
}

/* ---- passive signals --------------------------------------------------- */

/*
 * A nat service with one backend, no event pending, then a client's SYN
 * forwarded to it: *svc, *a and a's signals from before the SYN.
 */
static struct sluice_be_signals syn_forwarded(uint32_t *svc, uint32_t *a)
{
	struct sluice_be_signals g0;

	*svc = nat_svc(NULL, a);
	events_reset();
	g0 = sig_ctr(*a);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, *svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	return g0;
}

static void test_signal_synack(void **state)
{
	struct sluice_be_signals g0, g1;
	struct sluice_flow_key k;
	struct sluice_syn syn;
	struct sluice_flow f;
	uint32_t svc, a;
	uint64_t t0, t1;

	(void)state;
	DP_SKIP_UNLESS_READY();
	t0 = clock_mono_ns();
	g0 = syn_forwarded(&svc, &a);
	t1 = clock_mono_ns();
	k = dp_key_of(CLIENT4, VIP4, 1000, dp_svc_port(svc), IPPROTO_TCP);
	/* The handshake is pending (sl_syn_v2), no flow before the client's ACK. */
	assert_int_not_equal(flow_get(CLIENT4, VIP4, 1000, svc, IPPROTO_TCP, &f), 0);
	assert_int_equal(dp_syn_get(&k, &syn), 0);
	assert_false(syn.state & SLUICE_SYN_ANSWERED);
	/* What the sweep's syn-timeout reads: its service, and the SYN's time. */
	assert_int_equal(syn.svc_id, svc);
	assert_true(syn.created >= t0 && syn.created <= t1);
	no_event();
	backend_send(a, CLIENT4, 1000, svc, SYNACK);
	g1 = sig_ctr(a);
	assert_int_equal(g1.successes - g0.successes, 1);
	assert_int_equal(g1.refused, g0.refused);
	assert_int_equal(dp_syn_get(&k, &syn), 0);
	assert_true(syn.state & SLUICE_SYN_ANSWERED);
	event_expect(SLUICE_EV_SUCCESS, a, svc);
	/* A retransmitted SYN-ACK is no second success; neither is a later RST a refusal. */
	backend_send(a, CLIENT4, 1000, svc, SYNACK);
	backend_send(a, CLIENT4, 1000, svc, RST);
	g1 = sig_ctr(a);
	assert_int_equal(g1.successes - g0.successes, 1);
	assert_int_equal(g1.refused, g0.refused);
	no_event();
}

static void test_signal_refused(void **state)
{
	struct sluice_be_signals g0, g1;
	uint32_t svc, a;

	(void)state;
	DP_SKIP_UNLESS_READY();
	g0 = syn_forwarded(&svc, &a);
	backend_send(a, CLIENT4, 1000, svc, RST | PKT_TCP_ACK);
	g1 = sig_ctr(a);
	assert_int_equal(g1.refused - g0.refused, 1);
	assert_int_equal(g1.successes, g0.successes);
	event_expect(SLUICE_EV_REFUSED, a, svc);
	backend_send(a, CLIENT4, 1000, svc, RST | PKT_TCP_ACK);
	assert_int_equal(sig_ctr(a).refused - g0.refused, 1);
	no_event();
}

/*
 * An ICMP destination unreachable from the backend's network to the
 * client, quoting the packet the gateway sent: client -> backend after DNAT.
 */
static void icmp_unreach(const char *vip, const char *client, const char *backend, uint8_t proto)
{
	int v6 = strchr(vip, ':') != NULL;
	struct pkt_spec inner = {
		.src = client, .dst = backend, .proto = proto, .sport = 1000, .tcp_flags = SYN
	};
	struct pkt_spec icmp = { .src = v6 ? "2001:db8:b::3" : "10.1.0.5",
				 .dst = client,
				 .proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP,
				 .icmp_unreach = 1,
				 .icmp_code = v6 ? 4 : 3 };
	uint8_t quote[PKT_BUF_MAX], out[DP_OUT_MAX];
	struct sluice_be_signals g0, g1;
	struct pkt_layout lay;
	uint32_t svc, a;
	int len, olen;

	svc = dp_svc_add(vip, proto, SLUICE_MODE_NAT, SLUICE_HASH_5TUPLE, NULL);
	a = dp_be_add(svc, backend, 7000 + svc, SLUICE_BE_ACTIVE);
	dp_table_publish(svc, &a, 1);
	client_send(client, vip, proto, 1000, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	inner.dport = 7000 + svc;
	inner.ttl = 63;
	len = pkt_build(&inner, quote, sizeof(quote), &lay);
	assert_true(len > 0);
	/* The quote: the IP header and the first 8 bytes of the transport header. */
	icmp.payload_data = quote + lay.l3;
	icmp.payload = lay.l4 - lay.l3 + 8;
	memcpy(icmp.dmac, dp.topo->mac_gw1, 6);
	events_reset();
	g0 = sig_ctr(a);
	dp_send_expect(&icmp, dp.if_gw1, XDP_PASS, SLUICE_R_NOT_L4, 0, out, &olen);
	g1 = sig_ctr(a);
	assert_int_equal(g1.unreachable - g0.unreachable, 1);
	event_expect(SLUICE_EV_UNREACHABLE, a, svc);
	/* Quoting a port no flow used: nothing. */
	inner.sport = 1001;
	len = pkt_build(&inner, quote, sizeof(quote), &lay);
	assert_true(len > 0);
	dp_send_expect(&icmp, dp.if_gw1, XDP_PASS, SLUICE_R_NOT_L4, 0, out, &olen);
	assert_int_equal(sig_ctr(a).unreachable - g0.unreachable, 1);
	no_event();
}

static void test_signal_icmp(void **state)
{
	(void)state;
	DP_SKIP_UNLESS_READY();
	icmp_unreach(VIP4, CLIENT4, "10.1.0.4", IPPROTO_TCP);
	icmp_unreach(VIP4, CLIENT4, "10.1.0.4", IPPROTO_UDP);
	icmp_unreach(VIP6, CLIENT6, "2001:db8:b::2", IPPROTO_TCP);
}

static void test_signal_ipip_ack(void **state)
{
	struct sluice_be_signals g0, g1;
	uint32_t svc, a;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = dp_svc_one(VIP4, IPPROTO_TCP, SLUICE_MODE_IPIP, "10.1.0.3", 0, &a);
	events_reset();
	g0 = sig_ctr(a);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	no_event();
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, ACK, XDP_REDIRECT, SLUICE_R_FWD);
	g1 = sig_ctr(a);
	assert_int_equal(g1.successes - g0.successes, 1);
	assert_int_equal(flow_flags(CLIENT4, VIP4, 1000, svc), 0);
	event_expect(SLUICE_EV_SUCCESS, a, svc);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, ACK, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(sig_ctr(a).successes - g0.successes, 1);
	no_event();
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rst_v4),
		cmocka_unit_test(test_rst_v6),
		cmocka_unit_test(test_rst_vlan),
		cmocka_unit_test(test_refuse_drop),
		cmocka_unit_test(test_udp_over_limit),
		cmocka_unit_test(test_global_limit),
		cmocka_unit_test(test_reserved_critical),
		cmocka_unit_test(test_release_nat),
		cmocka_unit_test(test_release_client_fin),
		cmocka_unit_test(test_nonsyn_no_slot),
		cmocka_unit_test(test_syn_pending),
		cmocka_unit_test(test_syn_reuse_closed),
		cmocka_unit_test(test_syn_bulkhead),
		cmocka_unit_test(test_syn_flood),
		cmocka_unit_test(test_hygiene_no_state),
		cmocka_unit_test(test_other_host),
		cmocka_unit_test(test_breaker_next),
		cmocka_unit_test(test_breaker_fallback),
		cmocka_unit_test(test_breaker_fail_fast),
		cmocka_unit_test(test_panic),
		cmocka_unit_test(test_half_open_budget),
		cmocka_unit_test(test_established_not_cut),
		cmocka_unit_test(test_signal_synack),
		cmocka_unit_test(test_signal_refused),
		cmocka_unit_test(test_signal_icmp),
		cmocka_unit_test(test_signal_ipip_ack),
	};

	return DP_RUN_GROUP("sluice_resilience", tests, &dp_topo_std, on_event);
}
