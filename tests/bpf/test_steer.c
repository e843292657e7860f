// SPDX-License-Identifier: GPL-2.0-only
/*
 * Data-plane tests of steering (nat and ipip services, the return path, the
 * flow table, shards) in sluice_xdp, and of the backend-side decapsulator
 * sluice_decap, through BPF_PROG_TEST_RUN.
 *
 * bpf_fib_lookup needs real routes and neighbours, so the suite moves
 * itself into a private network namespace (unshare(CLONE_NEWNET)) and
 * builds a small topology there with `ip`:
 *
 *   client side  gw0 (02:00:00:00:00:10) 192.0.2.1/24 2001:db8:c::1/64
 *                  peer cl0; neighbours: the clients 192.0.2.10, 2001:db8:c::10
 *   backend side gw1 (02:00:00:00:01:10) 10.1.0.1/24 2001:db8:b::1/64
 *                  peer be1; neighbours: backends 10.1.0.2-.5, 2001:db8:b::2-3,
 *                  router 10.1.0.254 (10.2.0.0/24 via it); 10.1.0.9 has none
 *
 * and passes ctx_in.ingress_ifindex so the program sees the frame arrive on
 * gw0 (towards backends: XDP_REDIRECT to gw1) or gw1 (XDP_TX back out).
 * The skeleton is loaded unpinned: every map is private to this process.
 * Maglev tables are built by userspace/maglev.c and published the way the
 * control plane does (a fresh BPF_F_INNER_MAP array of M + 1 entries, then
 * one update of sl_maglev). Expected frames are built independently by
 * tests/lib/pktbuild (checksums from scratch) and compared byte for byte.
 * Needs root and BPF; otherwise every test is skipped, saying why.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
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
#include "decap.skel.h"
#include "pktbuild.h"
#include "bpftest.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define OUT_MAX (PKT_BUF_MAX + 128)
#define TEST_M 251	   /* Maglev table size of the tests: a small prime */
#define NO_SVC 0xffffffffu /* a verdict counted globally only */

static struct sluice_bpf *skel;
static struct decap_bpf *dskel;
static const char *skip_reason;
static char skip_buf[256];
static int ncpus;
static int if_gw0, if_gw1;

/* ---- the topology ------------------------------------------------------ */

#define CLIENT4 "192.0.2.10"
#define CLIENT6 "2001:db8:c::10"
#define VIP4 "10.0.0.1"
#define VIP6 "2001:db8::1"

static const uint8_t mac_gw0[6] = { 0x02, 0, 0, 0, 0x00, 0x10 };
static const uint8_t mac_gw1[6] = { 0x02, 0, 0, 0, 0x01, 0x10 };
static const uint8_t mac_client4[6] = { 0x02, 0xc1, 0, 0, 0x04, 0x10 };
static const uint8_t mac_client6[6] = { 0x02, 0xc1, 0, 0, 0x06, 0x10 };

struct neigh {
	const char *addr;
	uint8_t mac[6];
};

/* Backends with a (permanent) neighbour entry on gw1. */
static const struct neigh be_neigh[] = {
	{ "10.1.0.2", { 0x02, 0xbe, 0, 0, 0x04, 0x02 } },
	{ "10.1.0.3", { 0x02, 0xbe, 0, 0, 0x04, 0x03 } },
	{ "10.1.0.4", { 0x02, 0xbe, 0, 0, 0x04, 0x04 } },
	{ "10.1.0.5", { 0x02, 0xbe, 0, 0, 0x04, 0x05 } },
	{ "10.1.0.254", { 0x02, 0xbe, 0, 0, 0x04, 0xfe } },
	{ "2001:db8:b::2", { 0x02, 0xbe, 0, 0, 0x06, 0x02 } },
	{ "2001:db8:b::3", { 0x02, 0xbe, 0, 0, 0x06, 0x03 } },
};

static const uint8_t *neigh_mac(const char *addr)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(be_neigh); i++)
		if (!strcmp(be_neigh[i].addr, addr))
			return be_neigh[i].mac;
	fail_msg("no neighbour %s in the test topology", addr);
	return NULL;
}

static char *mac_str(const uint8_t *m, char *buf)
{
	sprintf(buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

static int sh(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = bt_vsh(skip_buf, sizeof(skip_buf), fmt, ap);
	va_end(ap);
	if (rc)
		skip_reason = skip_buf;
	return rc;
}

/* Build the topology in a namespace of our own; 0 or -1 with skip_reason set. */
static int netns_setup(void)
{
	char m0[18], m1[18], m2[18];
	size_t i;

	if (bt_netns_enter(mac_str(mac_gw0, m0), mac_str(mac_gw1, m1), skip_buf,
			   sizeof(skip_buf))) {
		skip_reason = skip_buf;
		return -1;
	}
	if (sh("ip -6 addr add 2001:db8:c::1/64 dev gw0 nodad") ||
	    sh("ip -6 addr add 2001:db8:b::1/64 dev gw1 nodad") ||
	    sh("ip route add 10.2.0.0/24 via 10.1.0.254 dev gw1") ||
	    sh("ip neigh add %s lladdr %s dev gw0 nud permanent", CLIENT4,
	       mac_str(mac_client4, m2)) ||
	    sh("ip -6 neigh add %s lladdr %s dev gw0 nud permanent", CLIENT6,
	       mac_str(mac_client6, m2)) ||
	    sh("sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1"))
		return -1;
	for (i = 0; i < ARRAY_SIZE(be_neigh); i++)
		if (sh("ip %s neigh add %s lladdr %s dev gw1 nud permanent",
		       strchr(be_neigh[i].addr, ':') ? "-6" : "-4", be_neigh[i].addr,
		       mac_str(be_neigh[i].mac, m2)))
			return -1;
	if_gw0 = if_nametoindex("gw0");
	if_gw1 = if_nametoindex("gw1");
	if (!if_gw0 || !if_gw1) {
		skip_reason = "veth interfaces vanished";
		return -1;
	}
	return 0;
}

/* ---- map helpers ------------------------------------------------------- */

static void addr_parse(const char *s, union sluice_addr *a)
{
	assert_int_equal(bt_addr_parse(s, a), 0);
}

static struct sluice_backend bes[SLUICE_MAX_BACKENDS]; /* mirror of sl_backends */
static uint32_t *tables[SLUICE_MAX_TABLES];	       /* last table published per id */
static uint32_t next_svc = 1, next_be = 1;

/* A service (unlimited) of the next id at addr, port 1000 + id. Returns its id. */
static uint32_t svc_add(const char *addr, uint8_t proto, uint8_t mode, uint8_t hash)
{
	struct sluice_svc val = { 0 };
	uint32_t id = next_svc++;

	val.id = id;
	val.mode = mode;
	val.hash = hash;
	assert_int_equal(bt_svc_put(skel->maps.sl_services, addr, 1000 + id, proto, &val), 0);
	return id;
}

static uint16_t svc_port(uint32_t id)
{
	return 1000 + id;
}

static void be_write(uint32_t id)
{
	assert_int_equal(bpf_map__update_elem(skel->maps.sl_backends, &id, sizeof(id), &bes[id],
					      sizeof(bes[id]), BPF_ANY),
			 0);
}

/* A backend of svc_id at addr:port (port 0: unchanged), ACTIVE. Returns its id. */
static uint32_t be_add(uint32_t svc_id, const char *addr, uint16_t port)
{
	uint32_t id = next_be++;

	memset(&bes[id], 0, sizeof(bes[id]));
	addr_parse(addr, &bes[id].addr);
	bes[id].port = htons(port);
	bes[id].state = SLUICE_BE_ACTIVE;
	bes[id].svc_id = svc_id;
	bes[id].weight = 1;
	be_write(id);
	return id;
}

static void be_state(uint32_t id, uint8_t state)
{
	bes[id].state = state;
	be_write(id);
}

/* Build the Maglev table of backends ids[0..n) (size TEST_M) and publish it. */
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

/* The backend the published table table_id gives a flow of hash. */
static uint32_t table_pick(uint32_t table_id, uint32_t hash)
{
	assert_non_null(tables[table_id]);
	return tables[table_id][sluice_maglev_slot(hash, TEST_M)];
}

static void config_set(const char *src4, const char *src6, uint64_t udp_timeout_ns)
{
	struct sluice_config c = { 0 };
	uint32_t zero = 0;

	if (src4)
		addr_parse(src4, &c.encap_src4);
	if (src6)
		addr_parse(src6, &c.encap_src6);
	c.udp_timeout_ns = udp_timeout_ns;
	assert_int_equal(bpf_map__update_elem(skel->maps.sl_config, &zero, sizeof(zero), &c,
					      sizeof(c), BPF_ANY),
			 0);
}

static void shard_add(uint32_t svc_id, const char *prefix, int len, uint32_t backend_id,
		      uint32_t table_id)
{
	struct sluice_shard_key k = { 0 };
	struct sluice_shard v = { backend_id, table_id };

	addr_parse(prefix, &k.addr);
	k.svc_id = svc_id;
	k.prefixlen = 32 + (strchr(prefix, ':') ? len : 96 + len);
	assert_int_equal(
		bpf_map__update_elem(skel->maps.sl_shards, &k, sizeof(k), &v, sizeof(v), BPF_ANY),
		0);
}

static struct sluice_counter glb_ctr(uint32_t reason)
{
	struct sluice_counter sum;

	assert_int_equal(bt_counter_sum(skel->maps.sl_glb_stats_v2, reason, ncpus, &sum), 0);
	return sum;
}

static struct sluice_counter svc_ctr(uint32_t svc_id, uint32_t reason)
{
	struct sluice_counter sum;

	assert_int_equal(bt_counter_sum(skel->maps.sl_svc_stats_v2,
					sluice_svc_stat_index(svc_id, reason), ncpus, &sum),
			 0);
	return sum;
}

static struct sluice_be_counter be_ctr(uint32_t id)
{
	struct sluice_be_counter sum = { 0 }, vals[ncpus];
	int i;

	assert_int_equal(bpf_map__lookup_elem(skel->maps.sl_be_stats, &id, sizeof(id), vals,
					      sizeof(vals), 0),
			 0);
	for (i = 0; i < ncpus; i++) {
		sum.packets += vals[i].packets;
		sum.bytes += vals[i].bytes;
		sum.new_flows += vals[i].new_flows;
	}
	return sum;
}

/* ---- frames ------------------------------------------------------------ */

/* The flow key of a client -> service packet. */
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

/* The backend sl_flows holds for a key, or SLUICE_NO_BACKEND. */
static uint32_t flow_backend(const struct sluice_flow_key *k)
{
	struct sluice_flow f;

	if (bpf_map__lookup_elem(skel->maps.sl_flows_v2, k, sizeof(*k), &f, sizeof(f), 0))
		return SLUICE_NO_BACKEND;
	return f.backend_id;
}

static int build(const struct pkt_spec *s, uint8_t *buf, struct pkt_layout *lay)
{
	int len = pkt_build(s, buf, PKT_BUF_MAX, lay);

	assert_true(len > 0);
	return len;
}

/* Run a frame arriving on ifindex: the XDP action; the frame out goes to out, *olen. */
static int run_prog(int prog_fd, const uint8_t *in, int len, int ifindex, uint8_t *out, int *olen)
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
	assert_int_equal(bpf_prog_test_run_opts(prog_fd, &opts), 0);
	*olen = (int)opts.data_size_out;
	return (int)opts.retval;
}

static int run(const uint8_t *in, int len, int ifindex, uint8_t *out, int *olen)
{
	return run_prog(bpf_program__fd(skel->progs.sluice_xdp), in, len, ifindex, out, olen);
}

/* Send spec in on ifindex; expect action, and the reason counted once for svc_id. */
static void send_expect(const struct pkt_spec *s, int ifindex, int action, uint32_t reason,
			uint32_t svc_id, uint8_t *out, int *olen)
{
	uint8_t in[PKT_BUF_MAX];
	int len = build(s, in, NULL);
	struct sluice_counter g0 = glb_ctr(reason), s0 = { 0 }, g1, s1 = { 0 };

	if (svc_id != NO_SVC)
		s0 = svc_ctr(svc_id, reason);
	assert_int_equal(run(in, len, ifindex, out, olen), action);
	g1 = glb_ctr(reason);
	if (svc_id != NO_SVC)
		s1 = svc_ctr(svc_id, reason);
	assert_int_equal(g1.packets - g0.packets, 1);
	assert_int_equal(g1.bytes - g0.bytes, len);
	if (svc_id != NO_SVC) {
		assert_int_equal(s1.packets - s0.packets, 1);
		assert_int_equal(s1.bytes - s0.bytes, len);
	}
}

/* The backend a client -> service flow is steered to by one packet. */
static uint32_t steer(const char *client, const char *vip, uint16_t sport, uint32_t svc_id,
		      uint8_t proto)
{
	struct pkt_spec s = { .src = client,
			      .dst = vip,
			      .proto = proto,
			      .sport = sport,
			      .dport = svc_port(svc_id),
			      .payload = 8 };
	struct sluice_flow_key k = key_of(client, vip, sport, svc_port(svc_id), proto);
	uint8_t in[PKT_BUF_MAX], out[OUT_MAX];
	int len = build(&s, in, NULL), olen, act;

	act = run(in, len, if_gw0, out, &olen);
	assert_true(act == XDP_REDIRECT || act == XDP_PASS);
	return flow_backend(&k);
}

/* ---- NAT rewrite: exact bytes ------------------------------------------ */

struct nat_case {
	const char *name;
	const char *vip;
	const char *backend;
	uint16_t bport;
	uint8_t proto;
	int udp_csum0;	   /* the client sent an IPv4 UDP datagram without checksum */
	int from_backends; /* arrives on gw1: XDP_TX */
	int no_neigh;	   /* backend without a neighbour: FWD_STACK, MACs kept */
	int vlan;	   /* the client frame has an 802.1Q tag */
};

#define NAT(n, v, b, p, pr) .name = (n), .vip = (v), .backend = (b), .bport = (p), .proto = (pr)

static const struct nat_case nat_cases[] = {
	{ NAT("nat ipv4 tcp", VIP4, "10.1.0.2", 8080, IPPROTO_TCP) },
	{ NAT("nat ipv4 udp", VIP4, "10.1.0.3", 5353, IPPROTO_UDP) },
	{ NAT("nat ipv4 udp checksum 0 stays 0", VIP4, "10.1.0.4", 5353, IPPROTO_UDP),
	  .udp_csum0 = 1 },
	{ NAT("nat ipv6 tcp", VIP6, "2001:db8:b::2", 8443, IPPROTO_TCP) },
	{ NAT("nat ipv6 udp", VIP6, "2001:db8:b::3", 5353, IPPROTO_UDP) },
	{ NAT("nat ipv4 tcp, egress is ingress: XDP_TX", VIP4, "10.1.0.5", 8080, IPPROTO_TCP),
	  .from_backends = 1 },
	{ NAT("nat ipv4 tcp, backend behind a router", VIP4, "10.2.0.7", 8080, IPPROTO_TCP) },
	{ NAT("nat ipv4 tcp, vlan tag dropped", VIP4, "10.1.0.2", 8081, IPPROTO_TCP), .vlan = 1 },
	{ NAT("nat ipv4 tcp, no neighbour: FWD_STACK", VIP4, "10.1.0.9", 8080, IPPROTO_TCP),
	  .no_neigh = 1 },
	{ NAT("nat ipv6 udp, no neighbour: FWD_STACK", VIP6, "2001:db8:b::9", 5353, IPPROTO_UDP),
	  .no_neigh = 1 },
};

static void test_nat_case(void **state)
{
	const struct nat_case *c = *state;
	int v6 = strchr(c->vip, ':') != NULL;
	const char *client = v6 ? CLIENT6 : CLIENT4;
	uint32_t svc, be, reason = c->no_neigh ? SLUICE_R_FWD_STACK : SLUICE_R_FWD;
	struct pkt_spec in_s = {
		.src = client, .dst = c->vip, .proto = c->proto, .sport = 40000, .payload = 37
	};
	struct pkt_spec ex_s;
	uint8_t in[PKT_BUF_MAX], ex[PKT_BUF_MAX], out[OUT_MAX];
	struct pkt_layout lay, exlay;
	struct sluice_be_counter b0, b1;
	int len, exlen, olen, action;

	if (!skel)
		skip();
	svc = svc_add(c->vip, c->proto, SLUICE_MODE_NAT, SLUICE_HASH_5TUPLE);
	be = be_add(svc, c->backend, c->bport);
	table_publish(svc, &be, 1);

	memcpy(in_s.dmac, c->from_backends ? mac_gw1 : mac_gw0, 6);
	memcpy(in_s.smac, v6 ? mac_client6 : mac_client4, 6);
	in_s.dport = svc_port(svc);
	if (c->vlan) {
		in_s.n_vlan = 1;
		in_s.vlan[0].tpid = 0x8100;
		in_s.vlan[0].tci = 100;
	}
	len = build(&in_s, in, &lay);
	if (c->udp_csum0)
		in[lay.l4 + 6] = in[lay.l4 + 7] = 0;

	/* What must come out, built from scratch. */
	ex_s = in_s;
	ex_s.n_vlan = 0;
	ex_s.dst = c->backend;
	ex_s.dport = c->bport;
	ex_s.ttl = 63;
	if (!c->no_neigh) {
		memcpy(ex_s.dmac,
		       neigh_mac(strcmp(c->backend, "10.2.0.7") ? c->backend : "10.1.0.254"), 6);
		memcpy(ex_s.smac, mac_gw1, 6);
	}
	exlen = build(&ex_s, ex, &exlay);
	if (c->udp_csum0)
		ex[exlay.l4 + 6] = ex[exlay.l4 + 7] = 0;

	b0 = be_ctr(be);
	{
		struct sluice_counter g0 = glb_ctr(reason), s0 = svc_ctr(svc, reason), g1, s1;

		action = run(in, len, c->from_backends ? if_gw1 : if_gw0, out, &olen);
		g1 = glb_ctr(reason);
		s1 = svc_ctr(svc, reason);
		assert_int_equal(g1.packets - g0.packets, 1);
		assert_int_equal(g1.bytes - g0.bytes, len);
		assert_int_equal(s1.packets - s0.packets, 1);
		assert_int_equal(s1.bytes - s0.bytes, len);
	}
	b1 = be_ctr(be);
	assert_int_equal(action, c->no_neigh ? XDP_PASS : c->from_backends ? XDP_TX : XDP_REDIRECT);
	assert_int_equal(olen, exlen);
	assert_memory_equal(out, ex, exlen);
	assert_int_equal(pkt_check_csums(out, olen), 0);
	if (c->udp_csum0)
		assert_int_equal(out[exlay.l4 + 6] | out[exlay.l4 + 7], 0);
	/* Per-backend counters: one packet of the received size, one new flow. */
	assert_int_equal(b1.packets - b0.packets, 1);
	assert_int_equal(b1.bytes - b0.bytes, len);
	assert_int_equal(b1.new_flows - b0.new_flows, 1);

	/* The second packet of the flow: same output, no new flow. */
	action = run(in, len, c->from_backends ? if_gw1 : if_gw0, out, &olen);
	assert_memory_equal(out, ex, exlen);
	b0 = be_ctr(be);
	assert_int_equal(b0.packets - b1.packets, 1);
	assert_int_equal(b0.new_flows - b1.new_flows, 0);
}

/* TTL 1: passed to the stack untouched, reason TTL, no flow created. */
static void test_nat_ttl(void **state)
{
	struct pkt_spec s = { .src = CLIENT4,
			      .dst = VIP4,
			      .proto = IPPROTO_TCP,
			      .sport = 40001,
			      .ttl = 1,
			      .payload = 10 };
	uint8_t in[PKT_BUF_MAX], out[OUT_MAX];
	struct sluice_flow_key k;
	uint32_t svc, be;
	int len, olen;

	(void)state;
	if (!skel)
		skip();
	svc = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_NAT, SLUICE_HASH_5TUPLE);
	be = be_add(svc, "10.1.0.2", 8080);
	table_publish(svc, &be, 1);
	s.dport = svc_port(svc);
	len = build(&s, in, NULL);
	send_expect(&s, if_gw0, XDP_PASS, SLUICE_R_TTL, svc, out, &olen);
	assert_int_equal(olen, len);
	assert_memory_equal(out, in, len);
	k = key_of(CLIENT4, VIP4, 40001, svc_port(svc), IPPROTO_TCP);
	assert_int_equal(flow_backend(&k), SLUICE_NO_BACKEND);
	/* IPv6 hop limit 1 too. */
	svc = svc_add(VIP6, IPPROTO_UDP, SLUICE_MODE_NAT, SLUICE_HASH_5TUPLE);
	be = be_add(svc, "2001:db8:b::2", 53);
	table_publish(svc, &be, 1);
	s.src = CLIENT6;
	s.dst = VIP6;
	s.proto = IPPROTO_UDP;
	s.dport = svc_port(svc);
	len = build(&s, in, NULL);
	send_expect(&s, if_gw0, XDP_PASS, SLUICE_R_TTL, svc, out, &olen);
	assert_memory_equal(out, in, len);
}

/* ---- return path ------------------------------------------------------- */

static void return_path(const char *vip, const char *client, const char *backend, uint8_t proto)
{
	int v6 = strchr(vip, ':') != NULL;
	struct pkt_spec fwd = { .src = client,
				.dst = vip,
				.proto = proto,
				.sport = 41000,
				.tcp_flags = PKT_TCP_SYN,
				.payload = 0 };
	struct pkt_spec back = { .src = backend,
				 .dst = client,
				 .proto = proto,
				 .dport = 41000,
				 .tcp_flags = PKT_TCP_SYN | PKT_TCP_ACK,
				 .payload = 21 };
	struct pkt_spec ex_s;
	uint8_t ex[PKT_BUF_MAX], out[OUT_MAX];
	uint32_t svc, be;
	int exlen, olen;

	svc = svc_add(vip, proto, SLUICE_MODE_NAT, SLUICE_HASH_5TUPLE);
	be = be_add(svc, backend, 9000 + svc);
	table_publish(svc, &be, 1);
	fwd.dport = svc_port(svc);
	send_expect(&fwd, if_gw0, XDP_REDIRECT, SLUICE_R_FWD, svc, out, &olen);

	back.sport = 9000 + svc;
	memcpy(back.dmac, mac_gw1, 6);
	memcpy(back.smac, neigh_mac(backend), 6);
	ex_s = back;
	ex_s.src = vip;
	ex_s.sport = svc_port(svc);
	ex_s.ttl = 63;
	memcpy(ex_s.dmac, v6 ? mac_client6 : mac_client4, 6);
	memcpy(ex_s.smac, mac_gw0, 6);
	exlen = build(&ex_s, ex, NULL);
	send_expect(&back, if_gw1, XDP_REDIRECT, SLUICE_R_REV_NAT, svc, out, &olen);
	assert_int_equal(olen, exlen);
	assert_memory_equal(out, ex, exlen);
	assert_int_equal(pkt_check_csums(out, olen), 0);

	/* Another client port of the backend: no translation, not a service. */
	back.dport = 41001;
	send_expect(&back, if_gw1, XDP_PASS, SLUICE_R_NOT_SERVICE, NO_SVC, out, &olen);
}

static void test_return_path_v4(void **state)
{
	(void)state;
	if (!skel)
		skip();
	return_path(VIP4, CLIENT4, "10.1.0.3", IPPROTO_TCP);
	return_path(VIP4, CLIENT4, "10.1.0.4", IPPROTO_UDP);
}

static void test_return_path_v6(void **state)
{
	(void)state;
	if (!skel)
		skip();
	return_path(VIP6, CLIENT6, "2001:db8:b::3", IPPROTO_TCP);
	return_path(VIP6, CLIENT6, "2001:db8:b::2", IPPROTO_UDP);
}

/* ---- ipip -------------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/*
 * Send a client frame to an ipip service of backend and check the output:
 * fresh Ethernet header, the outer header byte for byte, the inner packet
 * (from its L3 header on) unchanged behind it.
 */
static void ipip_expect(const char *vip, const char *backend, const char *encap_src, int vlan)
{
	int v6 = strchr(backend, ':') != NULL, inner6 = strchr(vip, ':') != NULL;
	const char *client = inner6 ? CLIENT6 : CLIENT4;
	struct pkt_spec s = {
		.src = client, .dst = vip, .proto = IPPROTO_TCP, .sport = 42000, .payload = 50
	};
	uint8_t in[PKT_BUF_MAX], out[OUT_MAX], ex[OUT_MAX], *o;
	struct sluice_flow_key k;
	union sluice_addr src, dst;
	struct pkt_layout lay;
	uint32_t svc, be, hash;
	int len, olen, inner_len, outer = v6 ? 40 : 20, exlen;

	svc = svc_add(vip, IPPROTO_TCP, SLUICE_MODE_IPIP, SLUICE_HASH_5TUPLE);
	be = be_add(svc, backend, 0);
	table_publish(svc, &be, 1);
	s.dport = svc_port(svc);
	memcpy(s.dmac, mac_gw0, 6);
	if (vlan) {
		s.n_vlan = 2;
		s.vlan[0].tpid = 0x88a8;
		s.vlan[0].tci = 7;
		s.vlan[1].tpid = 0x8100;
		s.vlan[1].tci = 8;
	}
	len = build(&s, in, &lay);
	inner_len = len - lay.l3;
	k = key_of(client, vip, 42000, svc_port(svc), IPPROTO_TCP);
	hash = sluice_flow_hash(&k, SLUICE_HASH_5TUPLE);
	addr_parse(encap_src, &src);
	addr_parse(backend, &dst);
	src.u16[7] ^= htons(hash & 0xffff);

	memset(ex, 0, sizeof(ex));
	memcpy(ex, neigh_mac(backend), 6);
	memcpy(ex + 6, mac_gw1, 6);
	put16(ex + 12, v6 ? 0x86dd : 0x0800);
	o = ex + 14;
	if (!v6) {
		o[0] = 0x45;
		o[1] = inner6 ? 0 : in[lay.l3 + 1];
		put16(o + 2, inner_len + 20);
		put16(o + 6, 0x4000); /* DF */
		o[8] = 64;
		o[9] = inner6 ? 41 : 4;
		memcpy(o + 12, &src.u32[3], 4);
		memcpy(o + 16, &dst.u32[3], 4);
		put16(o + 10, pkt_csum(o, 20));
	} else {
		o[0] = 0x60;
		put16(o + 4, inner_len);
		o[6] = inner6 ? 41 : 4;
		o[7] = 64;
		memcpy(o + 8, &src, 16);
		memcpy(o + 24, &dst, 16);
	}
	memcpy(o + outer, in + lay.l3, inner_len);
	exlen = 14 + outer + inner_len;

	send_expect(&s, if_gw0, XDP_REDIRECT, SLUICE_R_FWD, svc, out, &olen);
	assert_int_equal(olen, exlen);
	assert_memory_equal(out, ex, exlen);
	if (!v6)
		assert_int_equal(pkt_csum(out + 14, 20), 0);
	assert_int_equal(be_ctr(be).packets, 1);
	assert_int_equal(be_ctr(be).bytes, len);

	/* The backend's decapsulator gives back the client's packet. */
	if (dskel && !vlan) {
		uint8_t dec[OUT_MAX];
		int dlen;

		assert_int_equal(run_prog(bpf_program__fd(dskel->progs.sluice_decap), out, olen,
					  if_gw1, dec, &dlen),
				 XDP_PASS);
		assert_int_equal(dlen, len);
		assert_memory_equal(dec, out, 12);
		assert_memory_equal(dec + 12, in + 12, len - 12);
	}
}

static void test_ipip_v4(void **state)
{
	(void)state;
	if (!skel)
		skip();
	config_set("10.1.0.1", "2001:db8:b::1", 0);
	ipip_expect(VIP4, "10.1.0.2", "10.1.0.1", 0);
	ipip_expect(VIP4, "10.1.0.3", "10.1.0.1", 1);
}

static void test_ipip_v6(void **state)
{
	(void)state;
	if (!skel)
		skip();
	config_set("10.1.0.1", "2001:db8:b::1", 0);
	ipip_expect(VIP6, "2001:db8:b::2", "2001:db8:b::1", 0);
	ipip_expect(VIP6, "2001:db8:b::3", "2001:db8:b::1", 1);
}

static void test_ipip_encap_fail(void **state)
{
	struct pkt_spec s = { .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP, .sport = 42001 };
	uint8_t out[OUT_MAX];
	uint32_t svc, be;
	int olen;

	(void)state;
	if (!skel)
		skip();
	svc = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_IPIP, SLUICE_HASH_5TUPLE);
	be = be_add(svc, "10.1.0.2", 0);
	table_publish(svc, &be, 1);
	s.dport = svc_port(svc);
	/* Only the other family's source is set: still no source for this backend. */
	config_set(NULL, "2001:db8:b::1", 0);
	send_expect(&s, if_gw0, XDP_DROP, SLUICE_R_ENCAP_FAIL, svc, out, &olen);
	config_set("10.1.0.1", NULL, 0);
	s.src = CLIENT6;
	s.dst = VIP6;
	svc = svc_add(VIP6, IPPROTO_TCP, SLUICE_MODE_IPIP, SLUICE_HASH_5TUPLE);
	be = be_add(svc, "2001:db8:b::2", 0);
	table_publish(svc, &be, 1);
	s.dport = svc_port(svc);
	send_expect(&s, if_gw0, XDP_DROP, SLUICE_R_ENCAP_FAIL, svc, out, &olen);
	config_set("10.1.0.1", "2001:db8:b::1", 0);
}

/* An IPv4 datagram of 1490 bytes fits gw1's MTU of 1500; encapsulated it does not. */
static void test_ipip_too_big(void **state)
{
	struct pkt_spec s = { .src = CLIENT4,
			      .dst = VIP4,
			      .proto = IPPROTO_TCP,
			      .sport = 42002,
			      .payload = 1490 - 40 };
	uint8_t out[OUT_MAX];
	uint32_t svc, be;
	int olen;

	(void)state;
	if (!skel)
		skip();
	config_set("10.1.0.1", "2001:db8:b::1", 0);
	svc = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_IPIP, SLUICE_HASH_5TUPLE);
	be = be_add(svc, "10.1.0.2", 0);
	table_publish(svc, &be, 1);
	s.dport = svc_port(svc);
	send_expect(&s, if_gw0, XDP_DROP, SLUICE_R_TOO_BIG, svc, out, &olen);
	/* 1480 bytes encapsulated are exactly 1500: forwarded. */
	s.payload = 1480 - 40;
	s.sport = 42003;
	send_expect(&s, if_gw0, XDP_REDIRECT, SLUICE_R_FWD, svc, out, &olen);
	assert_int_equal(olen, 14 + 1500);
}

/* ---- the flow table ---------------------------------------------------- */

/* Two backends; a set of flows; returns a flow port that went to want. */
static uint16_t port_to(const char *client, const char *vip, uint32_t svc, uint8_t proto,
			uint32_t want, uint16_t first)
{
	uint16_t p;

	for (p = first; p < first + 200; p++) {
		struct sluice_flow_key k = key_of(client, vip, p, svc_port(svc), proto);

		if (table_pick(svc, sluice_flow_hash(&k, SLUICE_HASH_5TUPLE)) == want)
			return p;
	}
	fail_msg("no port of 200 hashes to backend %u", want);
	return 0;
}

static void test_sticky_across_table_change(void **state)
{
	uint32_t svc, a, b, c, ids[2];
	uint16_t pa, pb, pn;

	(void)state;
	if (!skel)
		skip();
	svc = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_NAT, SLUICE_HASH_5TUPLE);
	a = be_add(svc, "10.1.0.2", 80);
	b = be_add(svc, "10.1.0.3", 80);
	c = be_add(svc, "10.1.0.4", 80);
	ids[0] = a;
	ids[1] = b;
	table_publish(svc, ids, 2);
	pa = port_to(CLIENT4, VIP4, svc, IPPROTO_TCP, a, 10000);
	pb = port_to(CLIENT4, VIP4, svc, IPPROTO_TCP, b, 10000);
	assert_int_equal(steer(CLIENT4, VIP4, pa, svc, IPPROTO_TCP), a);
	assert_int_equal(steer(CLIENT4, VIP4, pb, svc, IPPROTO_TCP), b);
	/* Republish: every slot to c. Established flows stay, a new flow follows. */
	table_publish(svc, &c, 1);
	assert_int_equal(steer(CLIENT4, VIP4, pa, svc, IPPROTO_TCP), a);
	assert_int_equal(steer(CLIENT4, VIP4, pb, svc, IPPROTO_TCP), b);
	pn = 20000;
	assert_int_equal(steer(CLIENT4, VIP4, pn, svc, IPPROTO_TCP), c);
}

static void test_drained_keeps_flow(void **state)
{
	uint32_t svc, a, b, ids[2];
	uint16_t pa;

	(void)state;
	if (!skel)
		skip();
	svc = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_NAT, SLUICE_HASH_5TUPLE);
	a = be_add(svc, "10.1.0.2", 80);
	b = be_add(svc, "10.1.0.3", 80);
	ids[0] = a;
	ids[1] = b;
	table_publish(svc, ids, 2);
	pa = port_to(CLIENT4, VIP4, svc, IPPROTO_TCP, a, 10000);
	assert_int_equal(steer(CLIENT4, VIP4, pa, svc, IPPROTO_TCP), a);
	be_state(a, SLUICE_BE_DRAINING);
	table_publish(svc, &b, 1);
	assert_int_equal(steer(CLIENT4, VIP4, pa, svc, IPPROTO_TCP), a);
	/* A new flow that used to hash to a goes to b now. */
	pa = port_to(CLIENT4, VIP4, svc, IPPROTO_TCP, b, 30000); /* table has b only */
	assert_int_equal(steer(CLIENT4, VIP4, pa, svc, IPPROTO_TCP), b);
}

static void test_unused_resteered(void **state)
{
	uint32_t svc, a, b, ids[2];
	struct sluice_be_counter b0, b1;
	uint16_t pa;

	(void)state;
	if (!skel)
		skip();
	svc = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_NAT, SLUICE_HASH_5TUPLE);
	a = be_add(svc, "10.1.0.2", 80);
	b = be_add(svc, "10.1.0.3", 80);
	ids[0] = a;
	ids[1] = b;
	table_publish(svc, ids, 2);
	pa = port_to(CLIENT4, VIP4, svc, IPPROTO_TCP, a, 10000);
	assert_int_equal(steer(CLIENT4, VIP4, pa, svc, IPPROTO_TCP), a);
	be_state(a, SLUICE_BE_UNUSED);
	table_publish(svc, &b, 1);
	b0 = be_ctr(b);
	assert_int_equal(steer(CLIENT4, VIP4, pa, svc, IPPROTO_TCP), b);
	b1 = be_ctr(b);
	assert_int_equal(b1.new_flows - b0.new_flows, 1);
	/* A slot reused by another service is not followed (nor taken from a stale table). */
	bes[b].svc_id = svc + 1000;
	be_write(b);
	{
		struct pkt_spec s = { .src = CLIENT4,
				      .dst = VIP4,
				      .proto = IPPROTO_TCP,
				      .sport = pa,
				      .dport = svc_port(svc) };
		uint8_t out[OUT_MAX];
		int olen;

		send_expect(&s, if_gw0, XDP_DROP, SLUICE_R_NO_BACKEND, svc, out, &olen);
	}
	bes[b].svc_id = svc;
	be_write(b);
}

static void test_udp_idle_resteered(void **state)
{
	uint32_t svc, a, b, ids[2];
	uint16_t pa;

	(void)state;
	if (!skel)
		skip();
	config_set("10.1.0.1", "2001:db8:b::1", 0);
	svc = svc_add(VIP4, IPPROTO_UDP, SLUICE_MODE_NAT, SLUICE_HASH_5TUPLE);
	a = be_add(svc, "10.1.0.2", 53);
	b = be_add(svc, "10.1.0.3", 53);
	ids[0] = a;
	ids[1] = b;
	table_publish(svc, ids, 2);
	pa = port_to(CLIENT4, VIP4, svc, IPPROTO_UDP, a, 10000);
	assert_int_equal(steer(CLIENT4, VIP4, pa, svc, IPPROTO_UDP), a);
	table_publish(svc, &b, 1);
	/* Default timeout (30 s): the UDP flow is sticky. */
	assert_int_equal(steer(CLIENT4, VIP4, pa, svc, IPPROTO_UDP), a);
	/* 1 ns: idle past it, steered by the new table. */
	config_set("10.1.0.1", "2001:db8:b::1", 1);
	assert_int_equal(steer(CLIENT4, VIP4, pa, svc, IPPROTO_UDP), b);
	config_set("10.1.0.1", "2001:db8:b::1", 0);
	/* A TCP flow never times out. */
	svc = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_NAT, SLUICE_HASH_5TUPLE);
	a = be_add(svc, "10.1.0.2", 80);
	table_publish(svc, &a, 1);
	assert_int_equal(steer(CLIENT4, VIP4, 5000, svc, IPPROTO_TCP), a);
	b = be_add(svc, "10.1.0.3", 80);
	table_publish(svc, &b, 1);
	config_set("10.1.0.1", "2001:db8:b::1", 1);
	assert_int_equal(steer(CLIENT4, VIP4, 5000, svc, IPPROTO_TCP), a);
	config_set("10.1.0.1", "2001:db8:b::1", 0);
}

static void test_hash_client(void **state)
{
	static const char *const addrs[] = { "10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5",
					     "10.2.0.1", "10.2.0.2", "10.2.0.3", "10.2.0.4" };
	uint32_t svc, svc5, ids[8], ids5[8], want, first, seen = 0;
	struct sluice_flow_key k;
	uint16_t p;
	int i;

	(void)state;
	if (!skel)
		skip();
	svc = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_NAT, SLUICE_HASH_CLIENT);
	svc5 = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_NAT, SLUICE_HASH_5TUPLE);
	for (i = 0; i < 8; i++) {
		ids[i] = be_add(svc, addrs[i], 80);
		ids5[i] = be_add(svc5, addrs[i], 80);
	}
	table_publish(svc, ids, 8);
	table_publish(svc5, ids5, 8);
	k = key_of(CLIENT4, VIP4, 0, 0, 0);
	want = table_pick(svc, sluice_flow_hash(&k, SLUICE_HASH_CLIENT));
	for (p = 100; p < 116; p++)
		assert_int_equal(steer(CLIENT4, VIP4, p, svc, IPPROTO_TCP), want);
	/* The same client on a 5-tuple service spreads. */
	first = steer(CLIENT4, VIP4, 100, svc5, IPPROTO_TCP);
	for (p = 101; p < 116; p++)
		seen |= steer(CLIENT4, VIP4, p, svc5, IPPROTO_TCP) != first;
	assert_true(seen);
}

static void test_shard_pin(void **state)
{
	uint32_t svc, a, b;

	(void)state;
	if (!skel)
		skip();
	svc = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_NAT, SLUICE_HASH_5TUPLE);
	a = be_add(svc, "10.1.0.2", 80);
	b = be_add(svc, "10.1.0.3", 80);
	table_publish(svc, &a, 1);
	shard_add(svc, "192.0.2.0", 24, b, SLUICE_NO_BACKEND);
	assert_int_equal(steer(CLIENT4, VIP4, 100, svc, IPPROTO_TCP), b);
	assert_int_equal(steer("192.0.2.77", VIP4, 100, svc, IPPROTO_TCP), b);
	/* Outside the prefix: the table. */
	assert_int_equal(steer("198.51.100.7", VIP4, 100, svc, IPPROTO_TCP), a);
	/* A pinned backend that is draining takes no new flow: the table does. */
	be_state(b, SLUICE_BE_DRAINING);
	assert_int_equal(steer(CLIENT4, VIP4, 101, svc, IPPROTO_TCP), a);
	/* ...and keeps its established one. */
	assert_int_equal(steer(CLIENT4, VIP4, 100, svc, IPPROTO_TCP), b);
	/* A more specific prefix wins. */
	be_state(b, SLUICE_BE_ACTIVE);
	shard_add(svc, "192.0.2.10", 32, a, SLUICE_NO_BACKEND);
	assert_int_equal(steer(CLIENT4, VIP4, 102, svc, IPPROTO_TCP), a);
	assert_int_equal(steer("192.0.2.11", VIP4, 102, svc, IPPROTO_TCP), b);
}

static void test_shard_subset(void **state)
{
	uint32_t svc, ids[4], sub[2], table = SLUICE_MAX_SERVICES + 5, got;
	struct sluice_flow_key k;
	char client[32];
	int i, hit_c = 0, hit_d = 0;

	(void)state;
	if (!skel)
		skip();
	svc = svc_add(VIP6, IPPROTO_TCP, SLUICE_MODE_NAT, SLUICE_HASH_5TUPLE);
	ids[0] = be_add(svc, "2001:db8:b::2", 80);
	ids[1] = be_add(svc, "2001:db8:b::3", 80);
	ids[2] = be_add(svc, "2001:db8:b::4", 80);
	ids[3] = be_add(svc, "2001:db8:b::5", 80);
	table_publish(svc, ids, 2);
	sub[0] = ids[2];
	sub[1] = ids[3];
	table_publish(table, sub, 2);
	shard_add(svc, "2001:db8:5::", 48, SLUICE_NO_BACKEND, table);
	for (i = 0; i < 32; i++) {
		snprintf(client, sizeof(client), "2001:db8:5::%x", i + 1);
		got = steer(client, VIP6, 7000, svc, IPPROTO_TCP);
		k = key_of(client, VIP6, 7000, svc_port(svc), IPPROTO_TCP);
		assert_int_equal(got, table_pick(table, sluice_flow_hash(&k, SLUICE_HASH_5TUPLE)));
		hit_c += got == ids[2];
		hit_d += got == ids[3];
	}
	assert_int_equal(hit_c + hit_d, 32);
	assert_true(hit_c > 0 && hit_d > 0);
	/* Outside the subset's prefix: the service's table (b::2, b::3). */
	got = steer("2001:db8:6::1", VIP6, 7000, svc, IPPROTO_TCP);
	assert_true(got == ids[0] || got == ids[1]);
}

static void test_no_backend(void **state)
{
	struct pkt_spec s = { .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP, .sport = 43000 };
	uint8_t out[OUT_MAX];
	uint32_t svc;
	int olen;

	(void)state;
	if (!skel)
		skip();
	/* No table at all. */
	svc = svc_add(VIP4, IPPROTO_TCP, SLUICE_MODE_NAT, SLUICE_HASH_5TUPLE);
	s.dport = svc_port(svc);
	send_expect(&s, if_gw0, XDP_DROP, SLUICE_R_NO_BACKEND, svc, out, &olen);
	/* An empty table (every backend drained). */
	table_publish(svc, NULL, 0);
	send_expect(&s, if_gw0, XDP_DROP, SLUICE_R_NO_BACKEND, svc, out, &olen);
	/* ipip alike. */
	svc = svc_add(VIP6, IPPROTO_TCP, SLUICE_MODE_IPIP, SLUICE_HASH_5TUPLE);
	s.src = CLIENT6;
	s.dst = VIP6;
	s.dport = svc_port(svc);
	send_expect(&s, if_gw0, XDP_DROP, SLUICE_R_NO_BACKEND, svc, out, &olen);
}

/* The flow hash is part of the fleet-wide contract: pin it (version 1). */
#define KAT_A_5TUPLE 0xf75a9e6eu
#define KAT_A_CLIENT 0x9f17663du
#define KAT_B_5TUPLE 0x0f1c1af4u
static void test_flow_hash_known_answers(void **state)
{
	struct sluice_flow_key a = key_of("192.0.2.10", "10.0.0.1", 40000, 80, IPPROTO_TCP);
	struct sluice_flow_key b = key_of("2001:db8:c::10", "2001:db8::1", 40000, 443, 17);
	struct sluice_flow_key c = a;

	(void)state;
	assert_int_equal(SLUICE_FLOW_HASH_VERSION, 1);
	c.sport = htons(40001);
	/* Client hash ignores everything but the source. */
	assert_int_equal(sluice_flow_hash(&a, SLUICE_HASH_CLIENT),
			 sluice_flow_hash(&c, SLUICE_HASH_CLIENT));
	assert_int_not_equal(sluice_flow_hash(&a, SLUICE_HASH_5TUPLE),
			     sluice_flow_hash(&c, SLUICE_HASH_5TUPLE));
	assert_int_equal(sluice_flow_hash(&a, SLUICE_HASH_5TUPLE), KAT_A_5TUPLE);
	assert_int_equal(sluice_flow_hash(&a, SLUICE_HASH_CLIENT), KAT_A_CLIENT);
	assert_int_equal(sluice_flow_hash(&b, SLUICE_HASH_5TUPLE), KAT_B_5TUPLE);
	/* Slots by multiply-shift cover 1..m. */
	assert_int_equal(sluice_maglev_slot(0, 65537), 1);
	assert_int_equal(sluice_maglev_slot(0xffffffffu, 65537), 65537);
}

/* ---- decap ------------------------------------------------------------- */

/* Non-tunnel frames pass through sluice_decap untouched. */
static void test_decap_untouched(void **state)
{
	const struct pkt_spec specs[] = {
		{ .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP, .sport = 1, .dport = 2 },
		{ .src = CLIENT6, .dst = VIP6, .proto = IPPROTO_UDP, .sport = 1, .dport = 2 },
		{ .src = CLIENT4, .dst = VIP4, .proto = 47, .payload = 40 }, /* GRE */
		{ .ethertype = 0x0806, .payload = 28 },			     /* ARP */
		/* A fragment of an IPIP packet: left to the stack to reassemble. */
		{ .src = CLIENT4, .dst = VIP4, .proto = 4, .frag = PKT_IP_MF, .payload = 40 },
	};
	uint8_t in[PKT_BUF_MAX], out[OUT_MAX];
	size_t i;
	int len, olen;

	(void)state;
	if (!dskel)
		skip();
	for (i = 0; i < ARRAY_SIZE(specs); i++) {
		len = build(&specs[i], in, NULL);
		assert_int_equal(run_prog(bpf_program__fd(dskel->progs.sluice_decap), in, len,
					  if_gw1, out, &olen),
				 XDP_PASS);
		assert_int_equal(olen, len);
		assert_memory_equal(out, in, len);
	}
}

/* Hand-made tunnel frames, independent of the encap code. */
static void test_decap_frames(void **state)
{
	static const struct {
		const char *inner_src, *inner_dst;
		int outer6;
	} cases[] = {
		{ CLIENT4, VIP4, 0 }, /* IPIP */
		{ CLIENT6, VIP6, 1 }, /* IP6IP6 */
		{ CLIENT6, VIP6, 0 }, /* IPv6 in IPv4 (proto 41) */
		{ CLIENT4, VIP4, 1 }, /* IPv4 in IPv6 (next header 4) */
	};
	uint8_t in[PKT_BUF_MAX], frame[OUT_MAX], out[OUT_MAX], *o;
	struct pkt_layout lay;
	size_t i;
	int len, olen, ilen, outer;

	(void)state;
	if (!dskel)
		skip();
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct pkt_spec s = { .src = cases[i].inner_src,
				      .dst = cases[i].inner_dst,
				      .proto = IPPROTO_TCP,
				      .sport = 5,
				      .dport = 6,
				      .payload = 9 };
		int inner6 = strchr(s.dst, ':') != NULL;

		len = build(&s, in, &lay);
		ilen = len - lay.l3;
		outer = cases[i].outer6 ? 40 : 20;
		memset(frame, 0, sizeof(frame));
		memcpy(frame, in, 12);
		put16(frame + 12, cases[i].outer6 ? 0x86dd : 0x0800);
		o = frame + 14;
		if (cases[i].outer6) {
			o[0] = 0x60;
			put16(o + 4, ilen);
			o[6] = inner6 ? 41 : 4;
			o[7] = 64;
			o[23] = 1;
			o[39] = 2;
		} else {
			o[0] = 0x45;
			put16(o + 2, 20 + ilen);
			o[8] = 64;
			o[9] = inner6 ? 41 : 4;
			o[12] = 10;
			o[15] = 1;
			o[16] = 10;
			o[19] = 2;
			put16(o + 10, pkt_csum(o, 20));
		}
		memcpy(o + outer, in + lay.l3, ilen);
		assert_int_equal(run_prog(bpf_program__fd(dskel->progs.sluice_decap), frame,
					  14 + outer + ilen, if_gw1, out, &olen),
				 XDP_PASS);
		assert_int_equal(olen, len);
		assert_memory_equal(out, in, len);
	}
}

/* ---- setup ------------------------------------------------------------- */

static int group_setup(void **state)
{
	int err;

	(void)state;
	if (bt_suite_start(&ncpus, &skip_reason))
		goto skip;
	if (netns_setup())
		goto skip;
	skel = sluice_bpf__open_and_load();
	dskel = skel ? decap_bpf__open_and_load() : NULL;
	if (!dskel) {
		err = -errno;
		snprintf(skip_buf, sizeof(skip_buf), "cannot load %s: %s (BPF unavailable?)",
			 skel ? "decap.bpf.o" : "sluice.bpf.o", strerror(-err));
		skip_reason = skip_buf;
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
	decap_bpf__destroy(dskel);
	sluice_bpf__destroy(skel);
	skel = NULL;
	dskel = NULL;
	return 0;
}

static const struct CMUnitTest other_tests[] = {
	cmocka_unit_test(test_flow_hash_known_answers),
	cmocka_unit_test(test_nat_ttl),
	cmocka_unit_test(test_return_path_v4),
	cmocka_unit_test(test_return_path_v6),
	cmocka_unit_test(test_ipip_v4),
	cmocka_unit_test(test_ipip_v6),
	cmocka_unit_test(test_ipip_encap_fail),
	cmocka_unit_test(test_ipip_too_big),
	cmocka_unit_test(test_sticky_across_table_change),
	cmocka_unit_test(test_drained_keeps_flow),
	cmocka_unit_test(test_unused_resteered),
	cmocka_unit_test(test_udp_idle_resteered),
	cmocka_unit_test(test_hash_client),
	cmocka_unit_test(test_shard_pin),
	cmocka_unit_test(test_shard_subset),
	cmocka_unit_test(test_no_backend),
	cmocka_unit_test(test_decap_untouched),
	cmocka_unit_test(test_decap_frames),
};

int main(void)
{
	struct CMUnitTest tests[ARRAY_SIZE(nat_cases) + ARRAY_SIZE(other_tests)];
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(nat_cases); i++) {
		struct CMUnitTest t = { nat_cases[i].name, test_nat_case, NULL, NULL,
					(void *)&nat_cases[i] };

		tests[n++] = t;
	}
	for (i = 0; i < ARRAY_SIZE(other_tests); i++)
		tests[n++] = other_tests[i];
	return cmocka_run_group_tests_name("sluice_steer", tests, group_setup, group_teardown);
}
