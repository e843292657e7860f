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
 * Like test_steer, the suite moves into a private network namespace with
 * gw0 (clients) and gw1 (backends, permanent neighbours) so that nat
 * forwarding ends in a redirect; the skeleton is loaded unpinned, so every
 * map is private. Needs root and BPF; otherwise every test is skipped,
 * saying why.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sluice_abi.h"
#include "flowhash.h"
#include "maglev.h"
#include "sluice.skel.h"
#include "pktbuild.h"
#include "bpftest.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define OUT_MAX (PKT_BUF_MAX + 128)
#define TEST_M 251 /* Maglev table size of the tests: a small prime */
#define SYN PKT_TCP_SYN
#define SYNACK (PKT_TCP_SYN | PKT_TCP_ACK)
#define ACK PKT_TCP_ACK
#define FIN (PKT_TCP_FIN | PKT_TCP_ACK)
#define RST PKT_TCP_RST
#define SEQ_DEFAULT 0x01020304u /* pktbuild's seq */

static struct sluice_bpf *skel;
static struct ring_buffer *rb;
static const char *skip_reason;
static char skip_buf[256];
static int ncpus;
static int if_gw0, if_gw1;

/* ---- the topology (as test_steer's) ------------------------------------ */

#define CLIENT4 "192.0.2.10"
#define CLIENT6 "2001:db8:c::10"
#define CRIT4 "198.51.100.7" /* in the critical prefix of test_reserved_critical */
#define VIP4 "10.0.0.1"
#define VIP6 "2001:db8::1"

static const uint8_t mac_gw0[6] = { 0x02, 0, 0, 0, 0x00, 0x10 };
static const uint8_t mac_gw1[6] = { 0x02, 0, 0, 0, 0x01, 0x10 };
static const uint8_t mac_client[6] = { 0x02, 0xc1, 0, 0, 0x04, 0x10 };

static const char *const be_addrs[] = { "10.1.0.2", "10.1.0.3",	     "10.1.0.4",
					"10.1.0.5", "2001:db8:b::2", "2001:db8:b::3" };

static int netns_setup(void)
{
	size_t i;

	if (bt_netns_enter("02:00:00:00:00:10", "02:00:00:00:01:10", skip_buf, sizeof(skip_buf)) ||
	    bt_sh(skip_buf, sizeof(skip_buf), "ip -6 addr add 2001:db8:b::1/64 dev gw1 nodad") ||
	    bt_sh(skip_buf, sizeof(skip_buf), "ip -6 addr add 2001:db8:c::1/64 dev gw0 nodad") ||
	    bt_sh(skip_buf, sizeof(skip_buf),
		  "ip neigh add %s lladdr 02:c1:00:00:04:10 dev gw0 nud permanent", CLIENT4) ||
	    bt_sh(skip_buf, sizeof(skip_buf),
		  "ip neigh add %s lladdr 02:c1:00:00:04:10 dev gw0 nud permanent", CLIENT6) ||
	    bt_sh(skip_buf, sizeof(skip_buf),
		  "sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1"))
		goto fail;
	for (i = 0; i < ARRAY_SIZE(be_addrs); i++)
		if (bt_sh(skip_buf, sizeof(skip_buf),
			  "ip neigh add %s lladdr 02:be:00:00:00:%02zx dev gw1 nud permanent",
			  be_addrs[i], i + 2))
			goto fail;
	if_gw0 = if_nametoindex("gw0");
	if_gw1 = if_nametoindex("gw1");
	if (if_gw0 && if_gw1)
		return 0;
	snprintf(skip_buf, sizeof(skip_buf), "veth interfaces vanished");
fail:
	skip_reason = skip_buf;
	return -1;
}

/* ---- map helpers ------------------------------------------------------- */

static void addr_parse(const char *s, union sluice_addr *a)
{
	assert_int_equal(bt_addr_parse(s, a), 0);
}

static struct sluice_backend bes[64];
static uint32_t *tables[SLUICE_MAX_SERVICES];
static uint32_t next_svc = 1, next_be = 1;

static uint16_t svc_port(uint32_t id)
{
	return 2000 + id;
}

/* A service of the next id at addr, port 2000 + id, with resilience settings res (NULL: none). */
static uint32_t svc_add(const char *addr, uint8_t proto, uint8_t mode,
			const struct sluice_svc_res *res)
{
	struct sluice_svc val = { 0 };
	struct sluice_svc_res zero = { 0 };
	uint32_t id = next_svc++;

	val.id = id;
	val.mode = mode;
	assert_int_equal(bt_svc_put(skel->maps.sl_services, addr, svc_port(id), proto, &val), 0);
	assert_int_equal(bpf_map__update_elem(skel->maps.sl_svc_res, &id, sizeof(id),
					      res ? res : &zero, sizeof(zero), BPF_ANY),
			 0);
	return id;
}

static void be_write(uint32_t id)
{
	assert_int_equal(bpf_map__update_elem(skel->maps.sl_backends, &id, sizeof(id), &bes[id],
					      sizeof(bes[id]), BPF_ANY),
			 0);
}

/* A backend of svc_id at addr:port, in state. Returns its id. */
static uint32_t be_add(uint32_t svc_id, const char *addr, uint16_t port, uint8_t state)
{
	uint32_t id = next_be++;

	assert_true(id < ARRAY_SIZE(bes));
	memset(&bes[id], 0, sizeof(bes[id]));
	addr_parse(addr, &bes[id].addr);
	bes[id].port = htons(port);
	bes[id].state = state;
	bes[id].svc_id = svc_id;
	bes[id].weight = 1;
	be_write(id);
	return id;
}

static void table_publish(uint32_t table_id, const uint32_t *ids, int n)
{
	uint32_t *t = calloc(TEST_M + 1, sizeof(*t));

	assert_non_null(t);
	assert_int_equal(bt_table_build(bes, ids, n, TEST_M, t), 0);
	assert_int_equal(
		bt_maglev_publish(skel->maps.sl_maglev, table_id, t, TEST_M + 1, "sl_mg_test"), 0);
	free(tables[table_id]);
	tables[table_id] = t;
}

static void brk_set(uint32_t be, uint32_t state, int32_t probes)
{
	struct sluice_breaker b = { state, probes };

	assert_int_equal(bpf_map__update_elem(skel->maps.sl_breakers, &be, sizeof(be), &b,
					      sizeof(b), BPF_ANY),
			 0);
}

static struct sluice_breaker brk_get(uint32_t be)
{
	struct sluice_breaker b;

	assert_int_equal(
		bpf_map__lookup_elem(skel->maps.sl_breakers, &be, sizeof(be), &b, sizeof(b), 0), 0);
	return b;
}

static void global_set(uint32_t max)
{
	struct sluice_res_global g = { max, 0 };
	uint32_t zero = 0;

	assert_int_equal(bpf_map__update_elem(skel->maps.sl_res_global, &zero, sizeof(zero), &g,
					      sizeof(g), BPF_ANY),
			 0);
}

static int64_t conns(uint32_t idx)
{
	struct sluice_conns c;

	assert_int_equal(
		bpf_map__lookup_elem(skel->maps.sl_conns, &idx, sizeof(idx), &c, sizeof(c), 0), 0);
	return c.active;
}

static void critical_add(uint32_t svc_id, const char *prefix, int len)
{
	struct sluice_shard_key k = { 0 };
	uint32_t v = 1;

	addr_parse(prefix, &k.addr);
	k.svc_id = svc_id;
	k.prefixlen = 32 + (strchr(prefix, ':') ? len : 96 + len);
	assert_int_equal(
		bpf_map__update_elem(skel->maps.sl_critical, &k, sizeof(k), &v, sizeof(v), BPF_ANY),
		0);
}

static struct sluice_counter svc_ctr(uint32_t svc_id, uint32_t reason)
{
	struct sluice_counter sum;

	assert_int_equal(bt_counter_sum(skel->maps.sl_svc_stats_v2,
					sluice_svc_stat_index(svc_id, reason), ncpus, &sum),
			 0);
	return sum;
}

static struct sluice_be_signals sig_ctr(uint32_t be)
{
	struct sluice_be_signals sum = { 0 }, vals[ncpus];
	int i;

	assert_int_equal(bpf_map__lookup_elem(skel->maps.sl_be_signals, &be, sizeof(be), vals,
					      sizeof(vals), 0),
			 0);
	for (i = 0; i < ncpus; i++) {
		sum.successes += vals[i].successes;
		sum.refused += vals[i].refused;
		sum.unreachable += vals[i].unreachable;
		sum.probes += vals[i].probes;
	}
	return sum;
}

static struct sluice_res_counter res_ctr(uint32_t svc)
{
	struct sluice_res_counter sum = { 0 }, vals[ncpus];
	int i;

	assert_int_equal(bpf_map__lookup_elem(skel->maps.sl_res_stats, &svc, sizeof(svc), vals,
					      sizeof(vals), 0),
			 0);
	for (i = 0; i < ncpus; i++) {
		sum.rerouted_next += vals[i].rerouted_next;
		sum.rerouted_fallback += vals[i].rerouted_fallback;
	}
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
	assert_true(ring_buffer__consume(rb) >= 0);
	n_events = 0;
}

/* Exactly one new event, of type for backend be of service svc. */
static void event_expect(uint32_t type, uint32_t be, uint32_t svc)
{
	assert_true(ring_buffer__consume(rb) >= 0);
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
	assert_true(ring_buffer__consume(rb) >= 0);
	assert_int_equal(n_events, 0);
}

/* ---- frames ------------------------------------------------------------ */

static struct sluice_flow_key key_of(const char *src, const char *dst, uint16_t sport,
				     uint16_t dport, uint8_t proto)
{
	struct sluice_flow_key k;

	memset(&k, 0, sizeof(k));
	addr_parse(src, &k.src);
	addr_parse(dst, &k.dst);
	k.sport = htons(sport);
	k.dport = htons(dport);
	k.proto = proto;
	return k;
}

/* The flow of client:sport -> vip:svc_port(svc); 0 when found. */
static int flow_get(const char *client, const char *vip, uint16_t sport, uint32_t svc,
		    uint8_t proto, struct sluice_flow *f)
{
	struct sluice_flow_key k = key_of(client, vip, sport, svc_port(svc), proto);

	return bpf_map__lookup_elem(skel->maps.sl_flows_v2, &k, sizeof(k), f, sizeof(*f), 0);
}

static uint32_t flow_flags(const char *client, const char *vip, uint16_t sport, uint32_t svc)
{
	struct sluice_flow f;

	assert_int_equal(flow_get(client, vip, sport, svc, IPPROTO_TCP, &f), 0);
	return f.flags;
}

static uint32_t flow_be(const char *client, const char *vip, uint16_t sport, uint32_t svc)
{
	struct sluice_flow f;

	assert_int_equal(flow_get(client, vip, sport, svc, IPPROTO_TCP, &f), 0);
	return f.backend_id;
}

static int run_frame(const uint8_t *in, int len, int ifindex, uint8_t *out, int *olen)
{
	struct xdp_md ctx = { .data = 0, .data_end = len, .ingress_ifindex = ifindex };
	struct bpf_test_run_opts opts;
	uint8_t buf[OUT_MAX];

	/* By hand rather than LIBBPF_OPTS (which cppcheck cannot expand). */
	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	memcpy(buf, in, len);
	opts.data_in = buf;
	opts.data_size_in = len;
	opts.data_out = out;
	opts.data_size_out = OUT_MAX;
	opts.ctx_in = &ctx;
	opts.ctx_size_in = sizeof(ctx);
	opts.repeat = 1;
	assert_int_equal(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.sluice_xdp), &opts), 0);
	*olen = (int)opts.data_size_out;
	return (int)opts.retval;
}

/* The counter of reason for svc, or the global one for svc 0 (no service uses id 0). */
static struct sluice_counter ctr(uint32_t svc, uint32_t reason)
{
	struct sluice_counter sum;

	if (svc)
		return svc_ctr(svc, reason);
	assert_int_equal(bt_counter_sum(skel->maps.sl_glb_stats_v2, reason, ncpus, &sum), 0);
	return sum;
}

/* Send s in on ifindex; expect action and reason counted once for svc (0: globally). */
static void send_expect(const struct pkt_spec *s, int ifindex, int action, uint32_t reason,
			uint32_t svc, uint8_t *out, int *olen)
{
	uint8_t in[PKT_BUF_MAX];
	int len = pkt_build(s, in, sizeof(in), NULL);
	struct sluice_counter c0, c1;

	assert_true(len > 0);
	c0 = ctr(svc, reason);
	assert_int_equal(run_frame(in, len, ifindex, out, olen), action);
	c1 = ctr(svc, reason);
	assert_int_equal(c1.packets - c0.packets, 1);
	assert_int_equal(c1.bytes - c0.bytes, len);
}

/* A client segment client:sport -> vip:svc_port(svc) arriving on gw0. */
static struct pkt_spec client_seg(const char *client, const char *vip, uint8_t proto,
				  uint16_t sport, uint32_t svc, uint8_t flags)
{
	struct pkt_spec s = { .src = client,
			      .dst = vip,
			      .proto = proto,
			      .sport = sport,
			      .dport = svc_port(svc),
			      .tcp_flags = flags };

	memcpy(s.dmac, mac_gw0, 6);
	memcpy(s.smac, mac_client, 6);
	return s;
}

/* Send a client segment; expect action / reason. */
static void client_send(const char *client, const char *vip, uint8_t proto, uint16_t sport,
			uint32_t svc, uint8_t flags, int action, uint32_t reason)
{
	struct pkt_spec s = client_seg(client, vip, proto, sport, svc, flags);
	uint8_t out[OUT_MAX];
	int olen;

	send_expect(&s, if_gw0, action, reason, svc, out, &olen);
}

/* A backend segment be:bport -> client:cport (nat return path) arriving on gw1. */
static void backend_send(uint32_t be, const char *client, uint16_t cport, uint32_t svc,
			 uint8_t flags)
{
	char addr[INET6_ADDRSTRLEN];
	int v4 = !bes[be].addr.u32[0] && bes[be].addr.u32[2] == htonl(0xffff);
	struct pkt_spec s = { .src = addr,
			      .dst = client,
			      .proto = IPPROTO_TCP,
			      .sport = ntohs(bes[be].port),
			      .dport = cport,
			      .tcp_flags = flags };
	uint8_t out[OUT_MAX];
	int olen;

	inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? (void *)&bes[be].addr.u32[3] : bes[be].addr.u8,
		  addr, sizeof(addr));
	memcpy(s.dmac, mac_gw1, 6);
	send_expect(&s, if_gw1, XDP_REDIRECT, SLUICE_R_REV_NAT, svc, out, &olen);
}

/* ---- the RST ----------------------------------------------------------- */

/*
 * A SYN described by syn is refused by service svc (already full) with a
 * RST: check the frame out byte for byte against one built from scratch.
 */
static void rst_expect(const struct pkt_spec *syn, uint32_t svc, uint32_t reason)
{
	uint8_t out[OUT_MAX], ex[PKT_BUF_MAX];
	struct pkt_spec r = { 0 };
	struct pkt_layout lay;
	uint32_t seq = syn->tcp_raw ? syn->seq : SEQ_DEFAULT;
	int olen, exlen;

	/* The answer: every address and port swapped, no options, seq 0, ack = seq + len. */
	memcpy(r.dmac, syn->smac, 6);
	memcpy(r.smac, syn->dmac, 6);
	r.n_vlan = syn->n_vlan;
	memcpy(r.vlan, syn->vlan, sizeof(r.vlan));
	r.src = syn->dst;
	r.dst = syn->src;
	r.proto = IPPROTO_TCP;
	r.sport = syn->dport;
	r.dport = syn->sport;
	r.tcp_flags = PKT_TCP_RST | PKT_TCP_ACK;
	r.tcp_raw = 1;
	r.seq = 0;
	r.ack = seq + 1 + syn->payload;
	r.window = 0;
	r.ip_id_raw = 1;
	r.ip_id = 0;
	r.frag = PKT_IP_DF;
	r.ttl = 64;
	exlen = pkt_build(&r, ex, sizeof(ex), &lay);
	assert_true(exlen > 0);
	send_expect(syn, if_gw0, XDP_TX, reason, svc, out, &olen);
	assert_int_equal(olen, exlen);
	assert_memory_equal(out, ex, exlen);
	/* And the checksums, recomputed from scratch over what came out. */
	assert_int_equal(pkt_check_csums(out, olen), 0);
	assert_int_equal(out[lay.l4 + 13], PKT_TCP_RST | PKT_TCP_ACK);
}

static void test_rst_v4(void **state)
{
	struct sluice_svc_res res = { .max_conns = 1 };
	struct pkt_spec s;
	uint32_t svc;

	(void)state;
	if (!skel)
		skip();
	svc = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_LOCAL, &res);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, SYN, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_equal(conns(svc), 1);
	s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, SYN);
	rst_expect(&s, svc, SLUICE_R_BH_SERVICE);
	/* IP and TCP options, data on the SYN: all cut; ack counts the data. */
	s.ip4_opt_len = 8;
	s.tcp_opt_len = 12;
	s.payload = 5;
	rst_expect(&s, svc, SLUICE_R_BH_SERVICE);
	/* The sequence number wraps. */
	s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1002, svc, SYN);
	s.tcp_raw = 1;
	s.seq = 0xffffffffu;
	s.window = 512;
	rst_expect(&s, svc, SLUICE_R_BH_SERVICE);
	assert_int_equal(conns(svc), 1);
	/* A refused SYN records no flow. */
	{
		struct sluice_flow f;

		assert_int_not_equal(flow_get(CLIENT4, VIP4, 1001, svc, IPPROTO_TCP, &f), 0);
	}
}

static void test_rst_v6(void **state)
{
	struct sluice_svc_res res = { .max_conns = 1 };
	struct pkt_spec s;
	uint32_t svc;

	(void)state;
	if (!skel)
		skip();
	svc = svc_add(VIP6, IPPROTO_TCP, SLUICE_MODE_LOCAL, &res);
	client_send(CLIENT6, VIP6, IPPROTO_TCP, 1000, svc, SYN, XDP_PASS, SLUICE_R_ADMITTED);
	s = client_seg(CLIENT6, VIP6, IPPROTO_TCP, 1001, svc, SYN);
	rst_expect(&s, svc, SLUICE_R_BH_SERVICE);
	/* Extension headers and options go. */
	s.n_ext = 2;
	s.ext[0].type = IPPROTO_HOPOPTS;
	s.ext[1].type = IPPROTO_DSTOPTS;
	s.ext[1].len = 1;
	s.tcp_opt_len = 20;
	s.payload = 3;
	rst_expect(&s, svc, SLUICE_R_BH_SERVICE);
}

static void test_rst_vlan(void **state)
{
	struct sluice_svc_res res = { .max_conns = 1 };
	struct pkt_spec s;
	uint32_t svc4, svc6;

	(void)state;
	if (!skel)
		skip();
	svc4 = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_LOCAL, &res);
	svc6 = svc_add(VIP6, IPPROTO_TCP, SLUICE_MODE_NAT, &res);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc4, SYN, XDP_PASS, SLUICE_R_ADMITTED);
	s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc4, SYN);
	s.n_vlan = 1;
	s.vlan[0].tpid = 0x8100;
	s.vlan[0].tci = 42;
	rst_expect(&s, svc4, SLUICE_R_BH_SERVICE);
	/* QinQ, IPv6, a nat service (refused before any backend is chosen). */
	{
		uint32_t be = be_add(svc6, "2001:db8:b::2", 8443, SLUICE_BE_ACTIVE);

		table_publish(svc6, &be, 1);
	}
	client_send(CLIENT6, VIP6, IPPROTO_TCP, 1000, svc6, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	s = client_seg(CLIENT6, VIP6, IPPROTO_TCP, 1001, svc6, SYN);
	s.n_vlan = 2;
	s.vlan[0].tpid = 0x88a8;
	s.vlan[0].tci = 7;
	s.vlan[1].tpid = 0x8100;
	s.vlan[1].tci = 8;
	rst_expect(&s, svc6, SLUICE_R_BH_SERVICE);
	assert_int_equal(conns(svc6), 1);
}

/* ---- bulkhead ---------------------------------------------------------- */

static void test_refuse_drop(void **state)
{
	struct sluice_svc_res res = { .max_conns = 1, .refuse = SLUICE_REFUSE_DROP };
	uint32_t svc;

	(void)state;
	if (!skel)
		skip();
	svc = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_LOCAL, &res);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, SYN, XDP_PASS, SLUICE_R_ADMITTED);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, SYN, XDP_DROP, SLUICE_R_BH_SERVICE);
	/* The admitted connection's packets still pass; no slot taken by them. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, ACK, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_equal(conns(svc), 1);
}

static void test_udp_over_limit(void **state)
{
	struct sluice_svc_res res = { .max_conns = 2 };
	uint32_t svc, be;

	(void)state;
	if (!skel)
		skip();
	svc = svc_add(VIP4, IPPROTO_UDP, SLUICE_MODE_LOCAL, &res);
	client_send(CLIENT4, VIP4, IPPROTO_UDP, 1000, svc, 0, XDP_PASS, SLUICE_R_ADMITTED);
	client_send(CLIENT4, VIP4, IPPROTO_UDP, 1001, svc, 0, XDP_PASS, SLUICE_R_ADMITTED);
	client_send(CLIENT4, VIP4, IPPROTO_UDP, 1002, svc, 0, XDP_DROP, SLUICE_R_BH_SERVICE);
	/* Known flows go on. */
	client_send(CLIENT4, VIP4, IPPROTO_UDP, 1000, svc, 0, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_equal(conns(svc), 2);
	/* nat alike (refuse rst does not apply to UDP: dropped). */
	res.max_conns = 1;
	svc = svc_add(VIP4, IPPROTO_UDP, SLUICE_MODE_NAT, &res);
	be = be_add(svc, "10.1.0.3", 53, SLUICE_BE_ACTIVE);
	table_publish(svc, &be, 1);
	client_send(CLIENT4, VIP4, IPPROTO_UDP, 1000, svc, 0, XDP_REDIRECT, SLUICE_R_FWD);
	client_send(CLIENT4, VIP4, IPPROTO_UDP, 1001, svc, 0, XDP_DROP, SLUICE_R_BH_SERVICE);
	assert_int_equal(conns(svc), 1);
}

static void test_global_limit(void **state)
{
	struct sluice_svc_res one = { .max_conns = 1 }, ten = { .max_conns = 10 };
	struct sluice_svc_res excluded = { .flags = SLUICE_RES_NO_GLOBAL };
	uint32_t x, y, z, n;
	struct sluice_flow f;
	int64_t g0;

	(void)state;
	if (!skel)
		skip();
	g0 = conns(SLUICE_CONNS_GLOBAL);
	x = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_LOCAL, &one);
	y = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_LOCAL, &ten);
	z = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_LOCAL, &excluded);
	n = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_LOCAL, NULL);
	global_set(g0 + 2);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, x, SYN, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_equal(flow_flags(CLIENT4, VIP4, 1000, x),
			 SLUICE_FLOW_COUNTED | SLUICE_FLOW_COUNTED_GLOBAL);
	/* x full: its own limit refuses, and the global slot is given back. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, x, SYN, XDP_TX, SLUICE_R_BH_SERVICE);
	assert_int_equal(conns(SLUICE_CONNS_GLOBAL), g0 + 1);
	/* A service without a limit of its own is under the global one: recorded. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, n, SYN, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_equal(flow_flags(CLIENT4, VIP4, 1000, n), SLUICE_FLOW_COUNTED_GLOBAL);
	assert_int_equal(conns(SLUICE_CONNS_GLOBAL), g0 + 2);
	/* Global full: it takes precedence over room in y's limit, and over x's. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, y, SYN, XDP_TX, SLUICE_R_BH_GLOBAL);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1002, x, SYN, XDP_TX, SLUICE_R_BH_GLOBAL);
	assert_int_equal(conns(y), 0);
	/* An excluded service (no limit of its own) is not counted at all. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, z, SYN, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_not_equal(flow_get(CLIENT4, VIP4, 1000, z, IPPROTO_TCP, &f), 0);
	/* Releasing n's connection frees a global slot for y. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, n, RST, XDP_PASS, SLUICE_R_ADMITTED);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, y, SYN, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_equal(conns(SLUICE_CONNS_GLOBAL), g0 + 2);
	global_set(0);
	/* No limit anywhere: a local service records nothing. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, n, SYN, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_not_equal(flow_get(CLIENT4, VIP4, 1001, n, IPPROTO_TCP, &f), 0);
}

static void test_reserved_critical(void **state)
{
	struct sluice_svc_res res = { .max_conns = 3, .reserved = 1 };
	uint32_t svc;

	(void)state;
	if (!skel)
		skip();
	svc = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_LOCAL, &res);
	critical_add(svc, "198.51.100.0", 24);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, SYN, XDP_PASS, SLUICE_R_ADMITTED);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, SYN, XDP_PASS, SLUICE_R_ADMITTED);
	/* Standard share (3 - 1) used up: a standard client is refused... */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1002, svc, SYN, XDP_TX, SLUICE_R_BH_SERVICE);
	/* ...a critical one takes the reserve... */
	client_send(CRIT4, VIP4, IPPROTO_TCP, 1000, svc, SYN, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_equal(conns(svc), 3);
	/* ...until the whole limit is used. */
	client_send(CRIT4, VIP4, IPPROTO_TCP, 1001, svc, SYN, XDP_TX, SLUICE_R_BH_SERVICE);
	/* Another service's critical list does not count here. */
	critical_add(svc + 100, CLIENT4, 32);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1003, svc, SYN, XDP_TX, SLUICE_R_BH_SERVICE);
	assert_int_equal(conns(svc), 3);
}

/* A nat service of one backend (10.1.0.2:8080) with res. */
static uint32_t nat_svc(const struct sluice_svc_res *res, uint32_t *be)
{
	uint32_t svc = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_NAT, res);

	*be = be_add(svc, "10.1.0.2", 8080, SLUICE_BE_ACTIVE);
	table_publish(svc, be, 1);
	return svc;
}

static void test_release_nat(void **state)
{
	struct sluice_svc_res res = { .max_conns = 1 };
	uint32_t svc, be;

	(void)state;
	if (!skel)
		skip();
	svc = nat_svc(&res, &be);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, SYN, XDP_TX, SLUICE_R_BH_SERVICE);
	/* The backend's RST releases. */
	backend_send(be, CLIENT4, 1000, svc, RST | PKT_TCP_ACK);
	assert_int_equal(conns(svc), 0);
	/* The client's RST releases. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(conns(svc), 1);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, RST, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(conns(svc), 0);
	/* FIN from both sides releases, in either order; once. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1002, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	backend_send(be, CLIENT4, 1002, svc, SYNACK);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1002, svc, FIN, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(conns(svc), 1);
	backend_send(be, CLIENT4, 1002, svc, FIN);
	assert_int_equal(conns(svc), 0);
	backend_send(be, CLIENT4, 1002, svc, FIN);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1002, svc, FIN, XDP_REDIRECT, SLUICE_R_FWD);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1002, svc, RST, XDP_REDIRECT, SLUICE_R_FWD);
	backend_send(be, CLIENT4, 1002, svc, RST);
	assert_int_equal(conns(svc), 0);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1003, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	backend_send(be, CLIENT4, 1003, svc, SYNACK);
	backend_send(be, CLIENT4, 1003, svc, FIN);
	assert_int_equal(conns(svc), 1);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1003, svc, FIN, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(conns(svc), 0);
	/* A SYN reusing the closed 5-tuple is a new connection: it takes a slot again. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1003, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(conns(svc), 1);
	assert_int_equal(flow_flags(CLIENT4, VIP4, 1003, svc), SLUICE_FLOW_COUNTED);
	/* A retransmitted SYN on an open flow takes none. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1003, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(conns(svc), 1);
}

static void test_release_client_fin(void **state)
{
	struct sluice_svc_res res = { .max_conns = 1 };
	uint32_t svc, be, i;

	(void)state;
	if (!skel)
		skip();
	for (i = 0; i < 2; i++) {
		int ipip = i == 0;
		int act = ipip ? XDP_REDIRECT : XDP_PASS;
		uint32_t ok = ipip ? SLUICE_R_FWD : SLUICE_R_ADMITTED;

		svc = svc_add(VIP4, IPPROTO_TCP, ipip ? SLUICE_MODE_IPIP : SLUICE_MODE_LOCAL, &res);
		if (ipip) {
			be = be_add(svc, "10.1.0.3", 0, SLUICE_BE_ACTIVE);
			table_publish(svc, &be, 1);
		}
		client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, SYN, act, ok);
		assert_int_equal(conns(svc), 1);
		client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, FIN, act, ok);
		assert_int_equal(conns(svc), 0);
		client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, FIN, act, ok);
		client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, RST, act, ok);
		assert_int_equal(conns(svc), 0);
		client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, SYN, act, ok);
		client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, RST, act, ok);
		assert_int_equal(conns(svc), 0);
	}
}

static void test_nonsyn_no_slot(void **state)
{
	struct sluice_svc_res res = { .max_conns = 1 };
	struct sluice_flow f;
	uint32_t svc, be;

	(void)state;
	if (!skel)
		skip();
	svc = nat_svc(&res, &be);
	/* A restarted gateway: mid-connection segments are steered, recorded ESTABLISHED. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, ACK, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(conns(svc), 0);
	assert_int_equal(flow_flags(CLIENT4, VIP4, 1000, svc), SLUICE_FLOW_ESTABLISHED);
	assert_int_equal(flow_be(CLIENT4, VIP4, 1000, svc), be);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(conns(svc), 1);
	/* local: admitted, nothing recorded. */
	svc = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_LOCAL, &res);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, ACK, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_equal(conns(svc), 0);
	assert_int_not_equal(flow_get(CLIENT4, VIP4, 1000, svc, IPPROTO_TCP, &f), 0);
	/* A local flow with a limit is recorded without a backend. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, SYN, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_equal(flow_get(CLIENT4, VIP4, 1001, svc, IPPROTO_TCP, &f), 0);
	assert_int_equal(f.backend_id, SLUICE_NO_BACKEND);
	assert_int_equal(f.svc_id, svc);
	assert_true(f.created > 0 && f.created == f.last_seen);
	/* Its first client ACK marks it ESTABLISHED (no backend: no signal). */
	events_reset();
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, ACK, XDP_PASS, SLUICE_R_ADMITTED);
	assert_int_equal(flow_flags(CLIENT4, VIP4, 1001, svc),
			 SLUICE_FLOW_COUNTED | SLUICE_FLOW_ESTABLISHED);
	no_event();
}

/* ---- breakers ---------------------------------------------------------- */

/* A nat service of n backends 10.1.0.2.. (ports 80) with res; ids in ids[]. */
static uint32_t nat_svc_n(const struct sluice_svc_res *res, uint32_t *ids, int n)
{
	uint32_t svc = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_NAT, res);
	int i;

	for (i = 0; i < n; i++)
		ids[i] = be_add(svc, be_addrs[i], 80, SLUICE_BE_ACTIVE);
	table_publish(svc, ids, n);
	return svc;
}

/* The table slot a client port's flow hashes to. */
static uint32_t slot_of(uint32_t svc, uint16_t sport)
{
	struct sluice_flow_key k = key_of(CLIENT4, VIP4, sport, svc_port(svc), IPPROTO_TCP);

	return sluice_maglev_slot(sluice_flow_hash(&k, SLUICE_HASH_5TUPLE), TEST_M);
}

/* The first of the next SLUICE_BRK_NEXT_TRIES slots holding neither a nor b. */
static uint32_t next_choice(uint32_t svc, uint16_t sport, uint32_t a, uint32_t b)
{
	uint32_t slot = slot_of(svc, sport), i;

	for (i = 0; i < SLUICE_BRK_NEXT_TRIES; i++) {
		slot = slot >= TEST_M ? 1 : slot + 1;
		if (tables[svc][slot] != a && tables[svc][slot] != b)
			return tables[svc][slot];
	}
	return SLUICE_NO_BACKEND;
}

static void test_breaker_next(void **state)
{
	struct sluice_svc_res res = { 0 };
	struct sluice_res_counter r0, r1;
	uint32_t svc, ids[3], a, want;
	uint16_t p;

	(void)state;
	if (!skel)
		skip();
	svc = nat_svc_n(&res, ids, 3);
	a = ids[0];
	brk_set(a, SLUICE_BRK_OPEN, 0);
	r0 = res_ctr(svc);
	for (p = 3000; p < 3040; p++) {
		uint32_t chosen = tables[svc][slot_of(svc, p)];

		want = chosen == a ? next_choice(svc, p, a, a) : chosen;
		client_send(CLIENT4, VIP4, IPPROTO_TCP, p, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
		assert_int_equal(flow_be(CLIENT4, VIP4, p, svc), want);
		assert_int_not_equal(want, a);
	}
	r1 = res_ctr(svc);
	/* Counted once per flow that was moved. */
	{
		uint64_t moved = 0;

		for (p = 3000; p < 3040; p++)
			moved += tables[svc][slot_of(svc, p)] == a;
		assert_true(moved > 0);
		assert_int_equal(r1.rerouted_next - r0.rerouted_next, moved);
		assert_int_equal(r1.rerouted_fallback, r0.rerouted_fallback);
	}
	/* The next choice half-open: admitted as a probe while its budget lasts. */
	for (p = 3100; tables[svc][slot_of(svc, p)] != a; p++)
		;
	want = next_choice(svc, p, a, a);
	brk_set(want, SLUICE_BRK_HALF_OPEN, 1);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, p, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(flow_be(CLIENT4, VIP4, p, svc), want);
	assert_int_equal(flow_flags(CLIENT4, VIP4, p, svc), SLUICE_FLOW_PROBE);
	/* Budget spent: the walk goes on past it. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, p, svc, RST, XDP_REDIRECT, SLUICE_R_FWD);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, p, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(flow_be(CLIENT4, VIP4, p, svc), next_choice(svc, p, a, want));
	brk_set(want, SLUICE_BRK_CLOSED, 0);
	brk_set(a, SLUICE_BRK_CLOSED, 0);
}

static void test_breaker_fallback(void **state)
{
	struct sluice_svc_res res = { .on_open = SLUICE_ON_OPEN_FALLBACK };
	struct sluice_res_counter r0, r1;
	uint32_t svc, a, fb;

	(void)state;
	if (!skel)
		skip();
	svc = nat_svc(&res, &a);
	/* The fallback: a backend of the service outside the table. */
	fb = be_add(svc, "10.1.0.5", 80, SLUICE_BE_DRAINING);
	res.fallback_be = fb + 1;
	res.max_conns = 10;
	assert_int_equal(bpf_map__update_elem(skel->maps.sl_svc_res, &svc, sizeof(svc), &res,
					      sizeof(res), BPF_ANY),
			 0);
	brk_set(a, SLUICE_BRK_OPEN, 0);
	r0 = res_ctr(svc);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(flow_be(CLIENT4, VIP4, 1000, svc), fb);
	r1 = res_ctr(svc);
	assert_int_equal(r1.rerouted_fallback - r0.rerouted_fallback, 1);
	assert_int_equal(r1.rerouted_next, r0.rerouted_next);
	/* Fallback open too: refused, and the bulkhead slot given back. */
	brk_set(fb, SLUICE_BRK_OPEN, 0);
	{
		struct pkt_spec s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, SYN);

		rst_expect(&s, svc, SLUICE_R_BRK_OPEN);
	}
	assert_int_equal(conns(svc), 1);
	/* NEXT with every table choice open (one backend): the fallback. */
	res.on_open = SLUICE_ON_OPEN_NEXT;
	assert_int_equal(bpf_map__update_elem(skel->maps.sl_svc_res, &svc, sizeof(svc), &res,
					      sizeof(res), BPF_ANY),
			 0);
	brk_set(fb, SLUICE_BRK_CLOSED, 0);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1002, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(flow_be(CLIENT4, VIP4, 1002, svc), fb);
	assert_int_equal(res_ctr(svc).rerouted_fallback - r0.rerouted_fallback, 2);
	brk_set(a, SLUICE_BRK_CLOSED, 0);
}

static void test_breaker_fail_fast(void **state)
{
	static const uint8_t policies[] = { SLUICE_ON_OPEN_NEXT, SLUICE_ON_OPEN_FALLBACK,
					    SLUICE_ON_OPEN_FAIL_FAST };
	uint32_t svc, a, fb, i;

	(void)state;
	if (!skel)
		skip();
	for (i = 0; i < ARRAY_SIZE(policies); i++) {
		struct sluice_svc_res res = { .on_open = policies[i], .max_conns = 5 };
		struct pkt_spec s;

		svc = nat_svc(&res, &a);
		brk_set(a, SLUICE_BRK_OPEN, 0);
		if (policies[i] == SLUICE_ON_OPEN_FAIL_FAST) {
			/* Fail fast ignores a fallback that could take it. */
			fb = be_add(svc, "10.1.0.5", 80, SLUICE_BE_DRAINING);
			res.fallback_be = fb + 1;
			assert_int_equal(bpf_map__update_elem(skel->maps.sl_svc_res, &svc,
							      sizeof(svc), &res, sizeof(res),
							      BPF_ANY),
					 0);
		}
		s = client_seg(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, SYN);
		rst_expect(&s, svc, SLUICE_R_BRK_OPEN);
		assert_int_equal(conns(svc), 0);
		/* refuse drop: dropped. */
		res.refuse = SLUICE_REFUSE_DROP;
		assert_int_equal(bpf_map__update_elem(skel->maps.sl_svc_res, &svc, sizeof(svc),
						      &res, sizeof(res), BPF_ANY),
				 0);
		client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, SYN, XDP_DROP,
			    SLUICE_R_BRK_OPEN);
		/* UDP is dropped whatever refuse says (no flow here: TCP service). */
		assert_int_equal(conns(svc), 0);
		brk_set(a, SLUICE_BRK_CLOSED, 0);
	}
}

static void test_half_open_budget(void **state)
{
	struct sluice_svc_res res = { .on_open = SLUICE_ON_OPEN_FAIL_FAST };
	struct sluice_be_signals g0, g1;
	uint32_t svc, a;

	(void)state;
	if (!skel)
		skip();
	svc = nat_svc(&res, &a);
	brk_set(a, SLUICE_BRK_HALF_OPEN, 2);
	g0 = sig_ctr(a);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(flow_flags(CLIENT4, VIP4, 1000, svc), SLUICE_FLOW_PROBE);
	assert_int_equal(flow_flags(CLIENT4, VIP4, 1001, svc), SLUICE_FLOW_PROBE);
	/* K = 2 probes admitted; the rest treated as open (fail fast here). */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1002, svc, SYN, XDP_TX, SLUICE_R_BRK_OPEN);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1003, svc, SYN, XDP_TX, SLUICE_R_BRK_OPEN);
	g1 = sig_ctr(a);
	assert_int_equal(g1.probes - g0.probes, 2);
	/* The budget does not run below zero with refusals. */
	assert_int_equal(brk_get(a).probes_left, 0);
	/* The probes' own segments go on (established flows). */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, ACK, XDP_REDIRECT, SLUICE_R_FWD);
	brk_set(a, SLUICE_BRK_CLOSED, 0);
}

static void test_established_not_cut(void **state)
{
	struct sluice_svc_res res = { .on_open = SLUICE_ON_OPEN_FAIL_FAST, .max_conns = 4 };
	uint32_t svc, a;

	(void)state;
	if (!skel)
		skip();
	svc = nat_svc(&res, &a);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	backend_send(a, CLIENT4, 1000, svc, SYNACK);
	brk_set(a, SLUICE_BRK_OPEN, 0);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, ACK, XDP_REDIRECT, SLUICE_R_FWD);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, ACK | PKT_TCP_PSH, XDP_REDIRECT,
		    SLUICE_R_FWD);
	assert_int_equal(flow_be(CLIENT4, VIP4, 1000, svc), a);
	/* Its return traffic too. */
	backend_send(a, CLIENT4, 1000, svc, ACK);
	/* A new one is refused. */
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1001, svc, SYN, XDP_TX, SLUICE_R_BRK_OPEN);
	assert_int_equal(conns(svc), 1);
	brk_set(a, SLUICE_BRK_CLOSED, 0);
}

/* ---- passive signals --------------------------------------------------- */

static void test_signal_synack(void **state)
{
	struct sluice_be_signals g0, g1;
	uint32_t svc, a;

	(void)state;
	if (!skel)
		skip();
	svc = nat_svc(NULL, &a);
	events_reset();
	g0 = sig_ctr(a);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(flow_flags(CLIENT4, VIP4, 1000, svc), 0);
	no_event();
	backend_send(a, CLIENT4, 1000, svc, SYNACK);
	g1 = sig_ctr(a);
	assert_int_equal(g1.successes - g0.successes, 1);
	assert_int_equal(g1.refused, g0.refused);
	assert_int_equal(flow_flags(CLIENT4, VIP4, 1000, svc), SLUICE_FLOW_ESTABLISHED);
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
	if (!skel)
		skip();
	svc = nat_svc(NULL, &a);
	events_reset();
	g0 = sig_ctr(a);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
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
	uint8_t quote[PKT_BUF_MAX], out[OUT_MAX];
	struct sluice_be_signals g0, g1;
	struct pkt_layout lay;
	uint32_t svc, a;
	int len, olen;

	svc = svc_add(vip, proto, SLUICE_MODE_NAT, NULL);
	a = be_add(svc, backend, 7000 + svc, SLUICE_BE_ACTIVE);
	table_publish(svc, &a, 1);
	client_send(client, vip, proto, 1000, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	inner.dport = 7000 + svc;
	inner.ttl = 63;
	len = pkt_build(&inner, quote, sizeof(quote), &lay);
	assert_true(len > 0);
	/* The quote: the IP header and the first 8 bytes of the transport header. */
	icmp.payload_data = quote + lay.l3;
	icmp.payload = lay.l4 - lay.l3 + 8;
	memcpy(icmp.dmac, mac_gw1, 6);
	events_reset();
	g0 = sig_ctr(a);
	send_expect(&icmp, if_gw1, XDP_PASS, SLUICE_R_NOT_L4, 0, out, &olen);
	g1 = sig_ctr(a);
	assert_int_equal(g1.unreachable - g0.unreachable, 1);
	event_expect(SLUICE_EV_UNREACHABLE, a, svc);
	/* Quoting a port no flow used: nothing. */
	inner.sport = 1001;
	len = pkt_build(&inner, quote, sizeof(quote), &lay);
	assert_true(len > 0);
	send_expect(&icmp, if_gw1, XDP_PASS, SLUICE_R_NOT_L4, 0, out, &olen);
	assert_int_equal(sig_ctr(a).unreachable - g0.unreachable, 1);
	no_event();
}

static void test_signal_icmp(void **state)
{
	(void)state;
	if (!skel)
		skip();
	icmp_unreach(VIP4, CLIENT4, "10.1.0.4", IPPROTO_TCP);
	icmp_unreach(VIP4, CLIENT4, "10.1.0.4", IPPROTO_UDP);
	icmp_unreach(VIP6, CLIENT6, "2001:db8:b::2", IPPROTO_TCP);
}

static void test_signal_ipip_ack(void **state)
{
	struct sluice_be_signals g0, g1;
	uint32_t svc, a;

	(void)state;
	if (!skel)
		skip();
	svc = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_IPIP, NULL);
	a = be_add(svc, "10.1.0.3", 0, SLUICE_BE_ACTIVE);
	table_publish(svc, &a, 1);
	events_reset();
	g0 = sig_ctr(a);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, SYN, XDP_REDIRECT, SLUICE_R_FWD);
	no_event();
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, ACK, XDP_REDIRECT, SLUICE_R_FWD);
	g1 = sig_ctr(a);
	assert_int_equal(g1.successes - g0.successes, 1);
	assert_int_equal(flow_flags(CLIENT4, VIP4, 1000, svc), SLUICE_FLOW_ESTABLISHED);
	event_expect(SLUICE_EV_SUCCESS, a, svc);
	client_send(CLIENT4, VIP4, IPPROTO_TCP, 1000, svc, ACK, XDP_REDIRECT, SLUICE_R_FWD);
	assert_int_equal(sig_ctr(a).successes - g0.successes, 1);
	no_event();
}

/* ---- setup ------------------------------------------------------------- */

static int group_setup(void **state)
{
	struct sluice_config c = { 0 };
	uint32_t zero = 0;
	int err;

	(void)state;
	if (bt_suite_start(&ncpus, &skip_reason))
		goto skip;
	if (netns_setup())
		goto skip;
	skel = sluice_bpf__open_and_load();
	if (!skel) {
		err = -errno;
		snprintf(skip_buf, sizeof(skip_buf), "cannot load sluice.bpf.o: %s",
			 strerror(-err));
		skip_reason = skip_buf;
		goto skip;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.sl_events), on_event, NULL, NULL);
	addr_parse("10.1.0.1", &c.encap_src4);
	addr_parse("2001:db8:b::1", &c.encap_src6);
	if (!rb || bpf_map__update_elem(skel->maps.sl_config, &zero, sizeof(zero), &c, sizeof(c),
					BPF_ANY)) {
		skip_reason = "cannot set up the ring buffer or sl_config";
		sluice_bpf__destroy(skel);
		skel = NULL;
		goto skip;
	}
	return 0;
skip:
	printf("SKIPPED: %s\n", skip_reason);
	return 0;
}

static int group_teardown(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(tables); i++)
		free(tables[i]);
	ring_buffer__free(rb);
	sluice_bpf__destroy(skel);
	skel = NULL;
	return 0;
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
		cmocka_unit_test(test_breaker_next),
		cmocka_unit_test(test_breaker_fallback),
		cmocka_unit_test(test_breaker_fail_fast),
		cmocka_unit_test(test_half_open_budget),
		cmocka_unit_test(test_established_not_cut),
		cmocka_unit_test(test_signal_synack),
		cmocka_unit_test(test_signal_refused),
		cmocka_unit_test(test_signal_icmp),
		cmocka_unit_test(test_signal_ipip_ack),
	};

	return cmocka_run_group_tests_name("sluice_resilience", tests, group_setup, group_teardown);
}
