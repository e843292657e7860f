// SPDX-License-Identifier: GPL-2.0-only
/*
 * Data-plane tests of CQRS routing in sluice_xdp (bpf/lib/cqrs.h) through
 * BPF_PROG_TEST_RUN: a service with a read port (flags 0: Maglev over the
 * replicas, its table built without the leader as userspace builds it) and
 * a write port (SLUICE_SVC_F_LEADER: sl_leaders), for nat and ipip, IPv4
 * and IPv6. Checked: the write flow's rewritten destination or outer
 * header, the read flows' table choices, the refusal when there is no
 * leader (the RST byte for byte, reason no_leader per service and
 * globally; UDP dropped), the leader moving under an established TCP flow
 * (RST with the client's own ack as its seq, the flow deleted, the
 * bulkhead slot released, leader_moved) and under a UDP flow (moved to the
 * new leader, its return path translated), leader slots that name no
 * backend of the service, a service routed to its leader on its one key,
 * and a service without the flag ignoring sl_leaders.
 *
 * The fixture (tests/lib/dpfix) moves the suite into a private network
 * namespace with gw0 (clients) and gw1 (backends, permanent neighbours) so
 * forwarding ends in a redirect; every map is private to the process.
 * Needs root and BPF; otherwise every test is skipped, saying why.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/if_link.h>
#include <bpf/libbpf.h>

#include "sluice_abi.h"
#include "flowhash.h"
#include "sluice.skel.h"
#include "pktbuild.h"
#include "dpfix.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SYN PKT_TCP_SYN
#define SYNACK (PKT_TCP_SYN | PKT_TCP_ACK)
#define ACK PKT_TCP_ACK
#define RST PKT_TCP_RST

/* ---- the topology ------------------------------------------------------ */

#define CLIENT4 "192.0.2.10"
#define CLIENT6 "2001:db8:c::10"
#define VIP4 "10.0.0.1"
#define VIP6 "2001:db8::1"

/*
 * The fixture's standard topology (dp_topo_std): the clients behind one
 * MAC, backends 10.1.0.2-5 and 2001:db8:b::2-5 with permanent neighbours
 * on gw1. Service N: read port 2000 + N (flags 0), write port 4000 + N
 * (SLUICE_SVC_F_LEADER).
 */

/* ---- map helpers ------------------------------------------------------- */

static uint16_t read_port(uint32_t id)
{
	return dp_svc_port(id);
}

static uint16_t write_port(uint32_t id)
{
	return 4000 + id;
}

/* One sl_services key of service id. */
static void svc_key(const char *addr, uint16_t port, uint8_t proto, uint32_t id, uint8_t mode,
		    uint8_t flags)
{
	struct sluice_svc val = { 0 };

	val.id = id;
	val.mode = mode;
	val.flags = flags;
	dp_svc_put(addr, port, proto, &val);
}

/*
 * A CQRS service of the next id: read port (Maglev) and write port
 * (leader) at addr, with resilience settings res (NULL: none).
 */
static uint32_t cqrs_add(const char *addr, uint8_t proto, uint8_t mode,
			 const struct sluice_svc_res *res)
{
	uint32_t id = dp_svc_add(addr, proto, mode, SLUICE_HASH_5TUPLE, res);

	svc_key(addr, write_port(id), proto, id, mode, SLUICE_SVC_F_LEADER);
	return id;
}

/*
 * sl_leaders[svc] = backend id + 1 (SLUICE_NO_BACKEND: 0, no leader), as
 * leader_set() writes it. Written directly: the tests name backends the
 * library refuses (unused, another service's, past the array), and
 * leader_set() would republish the read table the test chose.
 */
static void leader_set(uint32_t svc, uint32_t be)
{
	struct sluice_leader l = { 0 };

	l.backend = be == SLUICE_NO_BACKEND ? 0 : be + 1;
	l.source = SLUICE_LEADER_OPERATOR;
	l.changed_ns = 1;
	assert_int_equal(bpf_map__update_elem(dp.skel->maps.sl_leaders, &svc, sizeof(svc), &l,
					      sizeof(l), BPF_ANY),
			 0);
}

static uint64_t be_new_flows(uint32_t id)
{
	return dp_be_ctr(id).new_flows;
}

/* ---- frames ------------------------------------------------------------ */

/* The flow client:sport -> vip:port; 0 when found. */
static int flow_get(const char *client, const char *vip, uint16_t sport, uint16_t port,
		    uint8_t proto, struct sluice_flow *f)
{
	struct sluice_flow_key k = dp_key_of(client, vip, sport, port, proto);

	return dp_flow_get(&k, f);
}

/* A client segment client:sport -> vip:port arriving on gw0, 12 bytes of data. */
static struct pkt_spec client_seg(const char *client, const char *vip, uint8_t proto,
				  uint16_t sport, uint16_t port, uint8_t flags)
{
	struct pkt_spec s = dp_client_seg(client, vip, proto, sport, port, flags);

	s.payload = 12;
	return s;
}

static void client_send(const char *client, const char *vip, uint8_t proto, uint16_t sport,
			uint16_t port, uint8_t flags, int action, uint32_t reason, uint32_t svc)
{
	struct pkt_spec s = client_seg(client, vip, proto, sport, port, flags);
	uint8_t out[DP_OUT_MAX];
	int olen;

	dp_send_expect(&s, dp.if_gw0, action, reason, svc, out, &olen);
}

/*
 * A nat segment s (client -> service) must come out towards backend be:
 * the same segment with destination be's address and port, TTL - 1, the
 * backend's MAC from gw1; compared byte for byte with one built from
 * scratch, checksums recomputed.
 */
static void nat_expect(const struct pkt_spec *s, uint32_t svc, uint32_t be)
{
	struct pkt_spec ex_s = *s;
	uint8_t ex[PKT_BUF_MAX], out[DP_OUT_MAX];
	int exlen, olen;

	ex_s.dst = dp_be_text(be);
	ex_s.dport = ntohs(dp.bes[be].port);
	ex_s.ttl = 63;
	memcpy(ex_s.dmac, dp_mac_of(dp_be_text(be)), 6);
	memcpy(ex_s.smac, dp.topo->mac_gw1, 6);
	exlen = pkt_build(&ex_s, ex, sizeof(ex), NULL);
	assert_true(exlen > 0);
	dp_send_expect(s, dp.if_gw0, XDP_REDIRECT, SLUICE_R_FWD, svc, out, &olen);
	assert_int_equal(olen, exlen);
	assert_memory_equal(out, ex, exlen);
	assert_int_equal(pkt_check_csums(out, olen), 0);
}

/*
 * An ipip segment s must come out encapsulated towards backend be: the
 * backend's MAC, an outer header of be's family to be's address carrying
 * the client's packet unchanged (outer bytes themselves: test_steer).
 */
static void ipip_expect_to(const struct pkt_spec *s, uint32_t svc, uint32_t be)
{
	int v6 = strchr(dp_be_text(be), ':') != NULL, inner6 = strchr(s->dst, ':') != NULL;
	int outer = v6 ? 40 : 20, len, olen;
	uint8_t in[PKT_BUF_MAX], out[DP_OUT_MAX];
	struct pkt_layout lay;

	len = pkt_build(s, in, sizeof(in), &lay);
	assert_true(len > 0);
	dp_send_expect(s, dp.if_gw0, XDP_REDIRECT, SLUICE_R_FWD, svc, out, &olen);
	assert_int_equal(olen, 14 + outer + len - lay.l3);
	assert_memory_equal(out, dp_mac_of(dp_be_text(be)), 6);
	assert_memory_equal(out + 6, dp.topo->mac_gw1, 6);
	if (v6) {
		assert_int_equal(out[12] << 8 | out[13], 0x86dd);
		assert_int_equal(out[14 + 6], inner6 ? 41 : 4);
		assert_memory_equal(out + 14 + 24, dp.bes[be].addr.u8, 16);
	} else {
		assert_int_equal(out[12] << 8 | out[13], 0x0800);
		assert_int_equal(out[14 + 9], inner6 ? 41 : 4);
		assert_memory_equal(out + 14 + 16, &dp.bes[be].addr.u32[3], 4);
		assert_int_equal(pkt_csum(out + 14, 20), 0);
	}
	assert_memory_equal(out + 14 + outer, in + lay.l3, len - lay.l3);
}

/* A segment s to service svc (nat or ipip) must go to backend be. */
static void fwd_expect(const struct pkt_spec *s, uint8_t mode, uint32_t svc, uint32_t be)
{
	if (mode == SLUICE_MODE_NAT)
		nat_expect(s, svc, be);
	else
		ipip_expect_to(s, svc, be);
}

/* A return segment from backend be to client:cport must be translated back to vip:vport. */
static void return_expect(uint32_t be, const char *client, uint16_t cport, const char *vip,
			  uint16_t vport, uint8_t proto, uint8_t flags, uint32_t svc)
{
	struct pkt_spec s = dp_backend_seg(be, client, proto, cport, flags);
	struct pkt_spec ex_s;
	uint8_t ex[PKT_BUF_MAX], out[DP_OUT_MAX];
	int exlen, olen;

	s.payload = 9;
	ex_s = s;
	ex_s.src = vip;
	ex_s.sport = vport;
	ex_s.ttl = 63;
	memcpy(ex_s.dmac, dp_mac_of(client), 6);
	memcpy(ex_s.smac, dp.topo->mac_gw0, 6);
	exlen = pkt_build(&ex_s, ex, sizeof(ex), NULL);
	assert_true(exlen > 0);
	dp_send_expect(&s, dp.if_gw1, XDP_REDIRECT, SLUICE_R_REV_NAT, svc, out, &olen);
	assert_int_equal(olen, exlen);
	assert_memory_equal(out, ex, exlen);
}

/* The backend the read port's table gives client:sport. */
static uint32_t read_pick(uint32_t svc, const char *client, const char *vip, uint16_t sport,
			  uint8_t proto)
{
	struct sluice_flow_key k = dp_key_of(client, vip, sport, read_port(svc), proto);

	return dp_table_pick(svc, sluice_flow_hash(&k, SLUICE_HASH_5TUPLE));
}

/* ---- write port to the leader, read port to the replicas --------------- */

/*
 * A CQRS service (mode, family of vip) with a leader and two replicas; the
 * read table is built without the leader. Write SYNs go to the leader, read
 * SYNs to the table's replica, never the leader; both flows are cached.
 */
static void cqrs_case(const char *vip, const char *const *addrs, uint8_t mode)
{
	const char *client = strchr(vip, ':') ? CLIENT6 : CLIENT4;
	uint16_t bport = mode == SLUICE_MODE_NAT ? 5432 : 0;
	uint32_t svc, lead, reps[2], seen[2] = { 0, 0 };
	struct sluice_flow f;
	struct pkt_spec s;
	uint16_t p;
	int i;

	svc = cqrs_add(vip, IPPROTO_TCP, mode, NULL);
	lead = dp_be_add(svc, addrs[0], bport, SLUICE_BE_ACTIVE);
	reps[0] = dp_be_add(svc, addrs[1], bport, SLUICE_BE_ACTIVE);
	reps[1] = dp_be_add(svc, addrs[2], bport, SLUICE_BE_ACTIVE);
	dp_table_publish(svc, reps, 2);
	leader_set(svc, lead);

	/* Write port: the leader, a new flow counted for it. */
	for (p = 1000; p < 1004; p++) {
		uint64_t n0 = be_new_flows(lead);

		s = client_seg(client, vip, IPPROTO_TCP, p, write_port(svc), SYN);
		fwd_expect(&s, mode, svc, lead);
		assert_int_equal(be_new_flows(lead) - n0, 1);
		/* The client's ACK completes the handshake: the flow is created (flow.h). */
		s.tcp_flags = ACK;
		fwd_expect(&s, mode, svc, lead);
		assert_int_equal(flow_get(client, vip, p, write_port(svc), IPPROTO_TCP, &f), 0);
		assert_int_equal(f.backend_id, lead);
		assert_int_equal(f.svc_id, svc);
		assert_int_equal(be_new_flows(lead) - n0, 1);
	}
	/* Read port: the table's replica; never the leader, both replicas used. */
	for (p = 1000; p < 1040; p++) {
		uint32_t want = read_pick(svc, client, vip, p, IPPROTO_TCP);

		assert_int_not_equal(want, lead);
		s = client_seg(client, vip, IPPROTO_TCP, p, read_port(svc), SYN);
		fwd_expect(&s, mode, svc, want);
		assert_int_equal(dp_conn_be(client, vip, p, read_port(svc), IPPROTO_TCP), want);
		for (i = 0; i < 2; i++)
			seen[i] += want == reps[i];
	}
	assert_true(seen[0] > 0 && seen[1] > 0);
	/* nat: the leader's answer goes back from the write port. */
	if (mode == SLUICE_MODE_NAT)
		return_expect(lead, client, 1000, vip, write_port(svc), IPPROTO_TCP, SYNACK, svc);
}

static const char *const addrs4[] = { "10.1.0.2", "10.1.0.3", "10.1.0.4" };
static const char *const addrs6[] = { "2001:db8:b::2", "2001:db8:b::3", "2001:db8:b::4" };

/* A case run on VIP4, then on VIP6, in mode. */
static void both_families(void (*fn)(const char *vip, uint8_t mode), uint8_t mode)
{
	fn(VIP4, mode);
	fn(VIP6, mode);
}

DP_TEST(test_cqrs_nat_v4, cqrs_case(VIP4, addrs4, SLUICE_MODE_NAT));
DP_TEST(test_cqrs_nat_v6, cqrs_case(VIP6, addrs6, SLUICE_MODE_NAT));

static void test_cqrs_ipip_v4(void **state)
{
	(void)state;
	DP_SKIP_UNLESS_READY();
	cqrs_case(VIP4, addrs4, SLUICE_MODE_IPIP);
	/* An IPv4 service over IPv6 backends (IPv4-in-IPv6). */
	cqrs_case(VIP4, addrs6, SLUICE_MODE_IPIP);
}
DP_TEST(test_cqrs_ipip_v6, cqrs_case(VIP6, addrs6, SLUICE_MODE_IPIP));

/* Breakers are not consulted for a write: an open leader still takes it. */
static void test_leader_ignores_breaker(void **state)
{
	struct sluice_svc_res res = { .on_open = SLUICE_ON_OPEN_FAIL_FAST };
	uint32_t svc, lead, rep;
	struct pkt_spec s;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = cqrs_add(VIP4, IPPROTO_TCP, SLUICE_MODE_NAT, &res);
	lead = dp_be_add(svc, "10.1.0.2", 5432, SLUICE_BE_ACTIVE);
	rep = dp_be_add(svc, "10.1.0.3", 5432, SLUICE_BE_ACTIVE);
	dp_table_publish(svc, &rep, 1);
	leader_set(svc, lead);
	dp_brk_set(lead, SLUICE_BRK_OPEN, 0);
	dp_brk_set(rep, SLUICE_BRK_OPEN, 0);
	s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1000, write_port(svc), SYN);
	nat_expect(&s, svc, lead);
	/* The read port still fails fast on its open replica. */
	s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1000, read_port(svc), SYN);
	dp_rst_expect(&s, svc, SLUICE_R_BRK_OPEN);
	dp_brk_set(lead, SLUICE_BRK_CLOSED, 0);
	dp_brk_set(rep, SLUICE_BRK_CLOSED, 0);
}

/* A segment without a flow past its handshake (a restarted gateway) goes to the leader. */
static void test_leader_midstream(void **state)
{
	struct sluice_flow f;
	uint32_t svc, lead, rep;
	struct pkt_spec s;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = cqrs_add(VIP4, IPPROTO_TCP, SLUICE_MODE_NAT, NULL);
	lead = dp_be_add(svc, "10.1.0.2", 5432, SLUICE_BE_ACTIVE);
	rep = dp_be_add(svc, "10.1.0.3", 5432, SLUICE_BE_ACTIVE);
	dp_table_publish(svc, &rep, 1);
	leader_set(svc, lead);
	s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1000, write_port(svc), ACK);
	nat_expect(&s, svc, lead);
	assert_int_equal(flow_get(CLIENT4, VIP4, 1000, write_port(svc), IPPROTO_TCP, &f), 0);
	assert_int_equal(f.backend_id, lead);
	assert_int_equal(f.flags, SLUICE_FLOW_ESTABLISHED);
}

/* ---- no leader --------------------------------------------------------- */

static void no_leader_case(const char *vip, uint8_t mode)
{
	const char *client = strchr(vip, ':') ? CLIENT6 : CLIENT4;
	struct sluice_svc_res res = { .max_conns = 5 };
	uint32_t svc, lead, rep;
	struct sluice_flow f;
	struct pkt_spec s;

	svc = cqrs_add(vip, IPPROTO_TCP, mode, &res);
	lead = dp_be_add(svc, strchr(vip, ':') ? "2001:db8:b::2" : "10.1.0.2",
			 mode == SLUICE_MODE_NAT ? 5432 : 0, SLUICE_BE_ACTIVE);
	rep = dp_be_add(svc, strchr(vip, ':') ? "2001:db8:b::3" : "10.1.0.3",
			mode == SLUICE_MODE_NAT ? 5432 : 0, SLUICE_BE_ACTIVE);
	dp_table_publish(svc, &rep, 1);
	/* Never set: a zeroed entry is "no leader". */
	s = client_seg(client, vip, IPPROTO_TCP, 1000, write_port(svc), SYN);
	dp_rst_expect(&s, svc, SLUICE_R_NO_LEADER);
	/* Nothing recorded, the bulkhead slot given back. */
	assert_int_not_equal(flow_get(client, vip, 1000, write_port(svc), IPPROTO_TCP, &f), 0);
	assert_int_equal(dp_conns(svc), 0);
	/* Options, data and a wrapping seq on the SYN. */
	s.tcp_opt_len = 8;
	s.payload = 3;
	s.tcp_raw = 1;
	s.seq = 0xfffffffeu;
	s.window = 1000;
	dp_rst_expect(&s, svc, SLUICE_R_NO_LEADER);
	/* A segment past its handshake without a flow: RST at its own ack. */
	s = client_seg(client, vip, IPPROTO_TCP, 1001, write_port(svc), ACK | PKT_TCP_PSH);
	s.tcp_raw = 1;
	s.seq = 77;
	s.ack = 0x89abcdefu;
	dp_rst_expect(&s, svc, SLUICE_R_NO_LEADER);
	/* ...and a RST is not answered. */
	client_send(client, vip, IPPROTO_TCP, 1002, write_port(svc), RST, XDP_DROP,
		    SLUICE_R_NO_LEADER, svc);
	/* Reads go on meanwhile (the slot is the completed handshake's). */
	s = client_seg(client, vip, IPPROTO_TCP, 1000, read_port(svc), SYN);
	fwd_expect(&s, mode, svc, rep);
	s.tcp_flags = ACK;
	fwd_expect(&s, mode, svc, rep);
	assert_int_equal(dp_conns(svc), 1);
	/* The leader deleted (0 written back): refused again. */
	leader_set(svc, lead);
	s = client_seg(client, vip, IPPROTO_TCP, 1003, write_port(svc), SYN);
	fwd_expect(&s, mode, svc, lead);
	leader_set(svc, SLUICE_NO_BACKEND);
	s = client_seg(client, vip, IPPROTO_TCP, 1004, write_port(svc), SYN);
	dp_rst_expect(&s, svc, SLUICE_R_NO_LEADER);
	/* The read connection's slot only: 1003's handshake, pending, holds none. */
	assert_int_equal(dp_conns(svc), 1);
	/* refuse drop: dropped. */
	res.refuse = SLUICE_REFUSE_DROP;
	dp_res_set(svc, &res);
	client_send(client, vip, IPPROTO_TCP, 1005, write_port(svc), SYN, XDP_DROP,
		    SLUICE_R_NO_LEADER, svc);
	client_send(client, vip, IPPROTO_TCP, 1006, write_port(svc), ACK, XDP_DROP,
		    SLUICE_R_NO_LEADER, svc);
	assert_int_equal(dp_conns(svc), 1);
}

DP_TEST(test_no_leader_nat_v4, no_leader_case(VIP4, SLUICE_MODE_NAT));
DP_TEST(test_no_leader_nat_v6, no_leader_case(VIP6, SLUICE_MODE_NAT));
DP_TEST(test_no_leader_ipip, both_families(no_leader_case, SLUICE_MODE_IPIP));

static void test_no_leader_udp(void **state)
{
	struct sluice_svc_res res = { .max_conns = 5 }; /* refuse rst: not for UDP */
	uint32_t svc, rep;
	struct sluice_flow f;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = cqrs_add(VIP4, IPPROTO_UDP, SLUICE_MODE_NAT, &res);
	rep = dp_be_add(svc, "10.1.0.3", 53, SLUICE_BE_ACTIVE);
	dp_table_publish(svc, &rep, 1);
	client_send(CLIENT4, VIP4, IPPROTO_UDP, 1000, write_port(svc), 0, XDP_DROP,
		    SLUICE_R_NO_LEADER, svc);
	assert_int_not_equal(flow_get(CLIENT4, VIP4, 1000, write_port(svc), IPPROTO_UDP, &f), 0);
	assert_int_equal(dp_conns(svc), 0);
	/* IPv6 and ipip alike. */
	svc = cqrs_add(VIP6, IPPROTO_UDP, SLUICE_MODE_IPIP, NULL);
	rep = dp_be_add(svc, "2001:db8:b::3", 0, SLUICE_BE_ACTIVE);
	dp_table_publish(svc, &rep, 1);
	client_send(CLIENT6, VIP6, IPPROTO_UDP, 1000, write_port(svc), 0, XDP_DROP,
		    SLUICE_R_NO_LEADER, svc);
}

/* A leader slot naming an unused backend, another service's, or no slot at all. */
static void test_leader_invalid(void **state)
{
	uint32_t svc, other, lead, rep, alien, unused;
	struct pkt_spec s;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = cqrs_add(VIP4, IPPROTO_TCP, SLUICE_MODE_NAT, NULL);
	other = cqrs_add(VIP4, IPPROTO_TCP, SLUICE_MODE_NAT, NULL);
	lead = dp_be_add(svc, "10.1.0.2", 5432, SLUICE_BE_DRAINING);
	rep = dp_be_add(svc, "10.1.0.3", 5432, SLUICE_BE_ACTIVE);
	unused = dp_be_add(svc, "10.1.0.4", 5432, SLUICE_BE_UNUSED);
	alien = dp_be_add(other, "10.1.0.5", 5432, SLUICE_BE_ACTIVE);
	dp_table_publish(svc, &rep, 1);
	dp_table_publish(other, &alien, 1);
	leader_set(svc, unused);
	s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1000, write_port(svc), SYN);
	dp_rst_expect(&s, svc, SLUICE_R_NO_LEADER);
	leader_set(svc, alien);
	dp_rst_expect(&s, svc, SLUICE_R_NO_LEADER);
	/* An id past the backend array. */
	leader_set(svc, SLUICE_MAX_BACKENDS + 7);
	dp_rst_expect(&s, svc, SLUICE_R_NO_LEADER);
	/* The other service's own leader is that backend: fine for it. */
	leader_set(other, alien);
	s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1000, write_port(other), SYN);
	nat_expect(&s, other, alien);
	/* A draining leader still takes writes (only unused or foreign slots refuse). */
	leader_set(svc, lead);
	s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1000, write_port(svc), SYN);
	nat_expect(&s, svc, lead);
}

/* ---- the leader moves -------------------------------------------------- */

/*
 * A cqrs service on vip (max-conns 4) with backends .2, .3 and .4 of vip's
 * family on bport: *a the leader, *b another, *c the only one of the read
 * table. The service's id.
 */
static uint32_t moved_setup(const char *vip, uint8_t proto, uint8_t mode, uint16_t bport,
			    uint32_t *a, uint32_t *b, uint32_t *c)
{
	struct sluice_svc_res res = { .max_conns = 4 };
	int v6 = strchr(vip, ':') != NULL;
	uint32_t svc = cqrs_add(vip, proto, mode, &res);

	*a = dp_be_add(svc, v6 ? "2001:db8:b::2" : "10.1.0.2", bport, SLUICE_BE_ACTIVE);
	*b = dp_be_add(svc, v6 ? "2001:db8:b::3" : "10.1.0.3", bport, SLUICE_BE_ACTIVE);
	*c = dp_be_add(svc, v6 ? "2001:db8:b::4" : "10.1.0.4", bport, SLUICE_BE_ACTIVE);
	dp_table_publish(svc, c, 1);
	leader_set(svc, *a);
	return svc;
}

static void moved_tcp_case(const char *vip, uint8_t mode)
{
	const char *client = strchr(vip, ':') ? CLIENT6 : CLIENT4;
	struct sluice_svc_res res = { .max_conns = 4 };
	struct sluice_counter m0, m1;
	uint32_t svc, a, b, rep;
	struct sluice_flow f;
	struct pkt_spec s;
	uint16_t w;

	svc = moved_setup(vip, IPPROTO_TCP, mode, mode == SLUICE_MODE_NAT ? 5432 : 0, &a, &b, &rep);
	w = write_port(svc);
	/* An established write connection to a, and a read one. */
	s = client_seg(client, vip, IPPROTO_TCP, 1000, w, SYN);
	fwd_expect(&s, mode, svc, a);
	if (mode == SLUICE_MODE_NAT)
		return_expect(a, client, 1000, vip, w, IPPROTO_TCP, SYNACK, svc);
	s.tcp_flags = ACK;
	fwd_expect(&s, mode, svc, a);
	s = client_seg(client, vip, IPPROTO_TCP, 1000, read_port(svc), SYN);
	fwd_expect(&s, mode, svc, rep);
	s.tcp_flags = ACK;
	fwd_expect(&s, mode, svc, rep);
	assert_int_equal(dp_conns(svc), 2);

	/* The leader moves to b: the client's next segment is answered with a RST at its ack. */
	leader_set(svc, b);
	m0 = dp_glb_ctr(SLUICE_R_LEADER_MOVED);
	s = client_seg(client, vip, IPPROTO_TCP, 1000, w, ACK | PKT_TCP_PSH);
	s.tcp_raw = 1;
	s.seq = 0x11111111u;
	s.ack = 0x22222222u;
	s.window = 512;
	dp_rst_expect(&s, svc, SLUICE_R_LEADER_MOVED);
	m1 = dp_glb_ctr(SLUICE_R_LEADER_MOVED);
	assert_int_equal(m1.packets - m0.packets, 1);
	/* The flow is gone and its slot released; the read connection is untouched. */
	assert_int_not_equal(flow_get(client, vip, 1000, w, IPPROTO_TCP, &f), 0);
	assert_int_equal(dp_conns(svc), 1);
	s = client_seg(client, vip, IPPROTO_TCP, 1000, read_port(svc), ACK);
	fwd_expect(&s, mode, svc, rep);
	/* A new write connection (even reusing the 5-tuple) goes to b. */
	s = client_seg(client, vip, IPPROTO_TCP, 1000, w, SYN);
	fwd_expect(&s, mode, svc, b);
	s.tcp_flags = ACK;
	fwd_expect(&s, mode, svc, b);
	assert_int_equal(dp_flow_be(client, vip, 1000, w, IPPROTO_TCP), b);
	assert_int_equal(dp_conns(svc), 2);

	/* A SYN retransmitted after the move: refused (RST+ACK), the flow gone. */
	leader_set(svc, a);
	s = client_seg(client, vip, IPPROTO_TCP, 1000, w, SYN);
	dp_rst_expect(&s, svc, SLUICE_R_LEADER_MOVED);
	assert_int_not_equal(flow_get(client, vip, 1000, w, IPPROTO_TCP, &f), 0);
	assert_int_equal(dp_conns(svc), 1);

	/*
	 * The client's own RST is not answered: it follows its handshake (no
	 * flow yet, flow.h) to the old backend and ends it; nothing is recorded.
	 */
	s = client_seg(client, vip, IPPROTO_TCP, 1001, w, SYN);
	fwd_expect(&s, mode, svc, a);
	leader_set(svc, b);
	s.tcp_flags = RST;
	fwd_expect(&s, mode, svc, a);
	assert_int_not_equal(flow_get(client, vip, 1001, w, IPPROTO_TCP, &f), 0);
	assert_int_equal(dp_conns(svc), 1);

	/* No leader at all: leader_moved still (the flow's backend is not the leader). */
	leader_set(svc, a);
	s = client_seg(client, vip, IPPROTO_TCP, 1002, w, SYN);
	fwd_expect(&s, mode, svc, a);
	leader_set(svc, SLUICE_NO_BACKEND);
	s.tcp_flags = ACK;
	dp_rst_expect(&s, svc, SLUICE_R_LEADER_MOVED);
	assert_int_equal(dp_conns(svc), 1);

	/* refuse drop: dropped, the flow deleted all the same. */
	res.refuse = SLUICE_REFUSE_DROP;
	dp_res_set(svc, &res);
	leader_set(svc, a);
	s = client_seg(client, vip, IPPROTO_TCP, 1003, w, SYN);
	fwd_expect(&s, mode, svc, a);
	leader_set(svc, b);
	client_send(client, vip, IPPROTO_TCP, 1003, w, ACK, XDP_DROP, SLUICE_R_LEADER_MOVED, svc);
	assert_int_not_equal(flow_get(client, vip, 1003, w, IPPROTO_TCP, &f), 0);
	assert_int_equal(dp_conns(svc), 1);
}

DP_TEST(test_moved_tcp_nat_v4, moved_tcp_case(VIP4, SLUICE_MODE_NAT));
DP_TEST(test_moved_tcp_nat_v6, moved_tcp_case(VIP6, SLUICE_MODE_NAT));
DP_TEST(test_moved_tcp_ipip, both_families(moved_tcp_case, SLUICE_MODE_IPIP));

static void moved_udp_case(const char *vip, uint8_t mode)
{
	const char *client = strchr(vip, ':') ? CLIENT6 : CLIENT4;
	uint32_t svc, a, b, c;
	struct sluice_flow f0, f;
	struct pkt_spec s;
	uint64_t n0;
	uint16_t w;

	svc = moved_setup(vip, IPPROTO_UDP, mode, mode == SLUICE_MODE_NAT ? 53 : 0, &a, &b, &c);
	w = write_port(svc);
	s = client_seg(client, vip, IPPROTO_UDP, 1000, w, 0);
	fwd_expect(&s, mode, svc, a);
	assert_int_equal(flow_get(client, vip, 1000, w, IPPROTO_UDP, &f0), 0);
	assert_int_equal(dp_conns(svc), 1);

	/* Moved to b: the next datagram goes to b, the entry updated, its slot kept. */
	leader_set(svc, b);
	n0 = be_new_flows(b);
	fwd_expect(&s, mode, svc, b);
	assert_int_equal(flow_get(client, vip, 1000, w, IPPROTO_UDP, &f), 0);
	assert_int_equal(f.backend_id, b);
	assert_int_equal(f.svc_id, svc);
	assert_int_equal(f.created, f0.created);
	assert_int_equal(f.flags, SLUICE_FLOW_COUNTED);
	assert_int_equal(be_new_flows(b) - n0, 1);
	assert_int_equal(dp_conns(svc), 1);
	/* And stays there. */
	fwd_expect(&s, mode, svc, b);
	assert_int_equal(be_new_flows(b) - n0, 1);
	/* nat: b's answers are translated back (its return path was inserted). */
	if (mode == SLUICE_MODE_NAT)
		return_expect(b, client, 1000, vip, w, IPPROTO_UDP, 0, svc);

	/* No leader: dropped, no_leader; the entry stays... */
	leader_set(svc, SLUICE_NO_BACKEND);
	client_send(client, vip, IPPROTO_UDP, 1000, w, 0, XDP_DROP, SLUICE_R_NO_LEADER, svc);
	assert_int_equal(dp_flow_be(client, vip, 1000, w, IPPROTO_UDP), b);
	/* ...and a leader slot naming no backend of the service is no leader either. */
	leader_set(svc, SLUICE_MAX_BACKENDS - 1);
	client_send(client, vip, IPPROTO_UDP, 1000, w, 0, XDP_DROP, SLUICE_R_NO_LEADER, svc);
	/* ...until a leader is known again: c. */
	leader_set(svc, c);
	fwd_expect(&s, mode, svc, c);
	assert_int_equal(dp_flow_be(client, vip, 1000, w, IPPROTO_UDP), c);
	assert_int_equal(dp_conns(svc), 1);
}

DP_TEST(test_moved_udp_nat, both_families(moved_udp_case, SLUICE_MODE_NAT));
DP_TEST(test_moved_udp_ipip, both_families(moved_udp_case, SLUICE_MODE_IPIP));

/* ---- route leader, and services without the flag ----------------------- */

/*
 * A nat service on VIP4 with one key (no write port), flags, and backends
 * addrs4 on bport as ids[0..3), all in its table. Its id.
 */
static uint32_t one_key_svc(uint32_t flags, uint16_t bport, uint32_t *ids)
{
	uint32_t svc = dp.next_svc++;
	int i;

	svc_key(VIP4, read_port(svc), IPPROTO_TCP, svc, SLUICE_MODE_NAT, flags);
	dp_res_set(svc, NULL);
	for (i = 0; i < 3; i++)
		ids[i] = dp_be_add(svc, addrs4[i], bport, SLUICE_BE_ACTIVE);
	dp_table_publish(svc, ids, 3);
	return svc;
}

/* `route leader`: F_LEADER on the service's one key; every flow to the leader. */
static void test_route_leader(void **state)
{
	uint32_t svc, ids[3];
	struct pkt_spec s;
	uint16_t p;

	(void)state;
	DP_SKIP_UNLESS_READY();
	/* No write port: userspace builds the table with all; it is never read. */
	svc = one_key_svc(SLUICE_SVC_F_LEADER, 6379, ids);
	leader_set(svc, ids[1]);
	for (p = 1000; p < 1020; p++) {
		s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, p, read_port(svc), SYN);
		nat_expect(&s, svc, ids[1]);
	}
	/* A new leader takes the new flows. */
	leader_set(svc, ids[2]);
	s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 2000, read_port(svc), SYN);
	nat_expect(&s, svc, ids[2]);
	/* Without a leader it has nowhere to go. */
	leader_set(svc, SLUICE_NO_BACKEND);
	s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 2001, read_port(svc), SYN);
	dp_rst_expect(&s, svc, SLUICE_R_NO_LEADER);
}

/* A service without the flag ignores sl_leaders, whatever it holds. */
static void test_no_flag_unaffected(void **state)
{
	uint32_t svc, ids[3], hits = 0;
	struct pkt_spec s;
	uint16_t p;

	(void)state;
	DP_SKIP_UNLESS_READY();
	svc = one_key_svc(0, 8080, ids);
	/* No leader: nothing refused. */
	for (p = 1000; p < 1030; p++) {
		uint32_t want = read_pick(svc, CLIENT4, VIP4, p, IPPROTO_TCP);

		s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, p, read_port(svc), SYN);
		nat_expect(&s, svc, want);
		hits += want == ids[0];
	}
	assert_true(hits > 0 && hits < 30);
	/* A leader set: new flows still by the table, established ones stay put. */
	leader_set(svc, ids[0]);
	for (p = 1000; p < 1030; p++) {
		uint32_t want = read_pick(svc, CLIENT4, VIP4, p, IPPROTO_TCP);

		s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, p, read_port(svc), ACK);
		nat_expect(&s, svc, want);
		s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, p + 100, read_port(svc), SYN);
		nat_expect(&s, svc, read_pick(svc, CLIENT4, VIP4, p + 100, IPPROTO_TCP));
	}
	/* UDP alike. */
	svc = dp.next_svc++;
	svc_key(VIP4, read_port(svc), IPPROTO_UDP, svc, SLUICE_MODE_NAT, 0);
	dp_res_set(svc, NULL);
	ids[0] = dp_be_add(svc, "10.1.0.5", 53, SLUICE_BE_ACTIVE);
	dp_table_publish(svc, ids, 1);
	s = client_seg(CLIENT4, VIP4, IPPROTO_UDP, 1000, read_port(svc), 0);
	nat_expect(&s, svc, ids[0]);
	leader_set(svc, SLUICE_MAX_BACKENDS - 1);
	nat_expect(&s, svc, ids[0]);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cqrs_nat_v4),
		cmocka_unit_test(test_cqrs_nat_v6),
		cmocka_unit_test(test_cqrs_ipip_v4),
		cmocka_unit_test(test_cqrs_ipip_v6),
		cmocka_unit_test(test_leader_ignores_breaker),
		cmocka_unit_test(test_leader_midstream),
		cmocka_unit_test(test_no_leader_nat_v4),
		cmocka_unit_test(test_no_leader_nat_v6),
		cmocka_unit_test(test_no_leader_ipip),
		cmocka_unit_test(test_no_leader_udp),
		cmocka_unit_test(test_leader_invalid),
		cmocka_unit_test(test_moved_tcp_nat_v4),
		cmocka_unit_test(test_moved_tcp_nat_v6),
		cmocka_unit_test(test_moved_tcp_ipip),
		cmocka_unit_test(test_moved_udp_nat),
		cmocka_unit_test(test_moved_udp_ipip),
		cmocka_unit_test(test_route_leader),
		cmocka_unit_test(test_no_flag_unaffected),
	};

	return DP_RUN_GROUP("sluice_leader", tests, &dp_topo_std, NULL);
}
