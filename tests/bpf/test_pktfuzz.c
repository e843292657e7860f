// SPDX-License-Identifier: GPL-2.0-only
/*
 * Packet fuzzing of sluice_xdp through BPF_PROG_TEST_RUN (issue 13, item 4).
 *
 * A deterministic generator (seed PKTFUZZ_SEED, PKTFUZZ_FRAMES frames:
 * 10^5 by default, 10^7 under `make fuzz`) writes valid frames (IPv4 and
 * IPv6, VLAN tags, IPv4 options, IPv6 extension headers, TCP, UDP, ICMP
 * errors quoting flows, other protocols), mutated ones (bits flipped, bytes
 * set, truncated, length fields and header lengths rewritten, bytes
 * appended) and random ones, and runs each through sluice_xdp on the
 * fixture's namespace (tests/lib/dpfix), where services of every mode are
 * configured with backends, rate limits, bulkheads, open breakers and
 * leaders, so every stage sees the traffic. For each frame:
 *
 *  - never XDP_ABORTED (nor any action but PASS, DROP, TX, REDIRECT);
 *  - a frame the reference parser below calls malformed (a standard,
 *    independent reading of the headers), a fragment, a non-IP frame and
 *    a frame for no service and from no backend leave with XDP_PASS and
 *    their bytes unchanged;
 *  - a forwarded frame (TX or REDIRECT) is one of the shapes the data
 *    plane can produce, each checked: nat (either way) with the TTL / hop
 *    limit one less and checksums right when they were right coming in; a
 *    RST built from scratch (TTL 64, checksums right); ipip with the outer
 *    header right (TTL 64) and the inner datagram unchanged (the tunnel
 *    leaves it to the backend, DSR); a rebuilt SYN of a redispatch;
 *  - a service's TCP segment with an invalid flag combination, or its
 *    packet from a martian source, is dropped untouched (segment hygiene,
 *    bpf/lib/hygiene.h; the reference's lists are written apart from it);
 *  - with gw0's MAC in sl_ifmac, a unicast frame on gw0 for another MAC
 *    passes untouched (promiscuous mode);
 *  - the global counters grow by exactly the frames and bytes sent.
 *
 * Not checked, on purpose: IPv4 header and transport checksums coming in
 * (the data plane, like every L4 balancer, leaves them to the receiver: a
 * wrong one stays wrong), and the contents of IPv4 options. A failure
 * prints the seed, the frame's index and its bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/if_link.h>
#include <bpf/libbpf.h>

#include "sluice_abi.h"
#include "sluice.skel.h"
#include "pktbuild.h"
#include "bpftest.h"
#include "dpfix.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define FRAMES_DEFAULT 100000
#define SEED_DEFAULT 0x5eed13c0ffeeull

/* ---- the generator's random numbers (splitmix64: seedable, portable) ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* 0 .. n-1 */
static uint32_t rn(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

/* 1 in n */
static int one_in(uint32_t n)
{
	return rn(n) == 0;
}

#define PICK(a) ((a)[rn(ARRAY_SIZE(a))])

/* ---- the configuration ----------------------------------------------------- */

static const char *const clients4[] = { "192.0.2.10", "192.0.2.11", "198.51.100.7" };
static const char *const clients6[] = { "2001:db8:c::10", "2001:db8:c::11" };
static const char *const vips4[] = { "10.0.0.1", "10.0.0.2", "10.0.0.99" };
static const char *const vips6[] = { "2001:db8::1", "2001:db8::2", "2001:db8::99" };
static const char *const bes4[] = { "10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5" };
static const char *const bes6[] = { "2001:db8:b::2", "2001:db8:b::3", "2001:db8:b::4",
				    "2001:db8:b::5" };
static const char *const martians4[] = { "127.0.0.1", "0.0.0.0", "224.0.0.251", "240.1.2.3",
					 "255.255.255.255" };
static const char *const martians6[] = { "::1", "::", "ff02::1", "::ffff:192.0.2.10" };
static const char *const routers4[] = { "10.1.0.9", "192.0.2.1" };
static const char *const routers6[] = { "2001:db8:b::9", "2001:db8:c::1" };

#define BE_PORT 80 /* every nat backend listens here */

/* A service key the reference knows (what sl_services holds). */
struct key {
	union sluice_addr addr;
	uint16_t port; /* host order */
	uint8_t proto;
	uint8_t mode;
};

#define KEYS_MAX 32
static struct key keys[KEYS_MAX];
static int n_keys;
static uint16_t ports[KEYS_MAX]; /* the service ports, for the generator */

static struct sluice_rate rate_none;

/* The breakers configure() sets; brk_restore() sets them again, the others closed. */
#define BRKS_MAX 8
static struct {
	uint32_t be, state;
	int32_t probes;
} brks[BRKS_MAX];
static int n_brks;

static void brk_config(uint32_t be, uint32_t state, int32_t probes)
{
	assert_true(n_brks < BRKS_MAX);
	brks[n_brks].be = be;
	brks[n_brks].state = state;
	brks[n_brks].probes = probes;
	n_brks++;
	dp_brk_set(be, state, probes);
}

/*
 * What the daemon's state machines would do, roughly: the fast trip opens
 * breakers as the fuzzed RSTs and unreachables fail handshakes, and nothing
 * here closes them again; without this the sample would end with every
 * backend open and no new flow forwarded.
 */
static void brk_restore(void)
{
	uint32_t be;
	int i;

	for (be = 1; be < dp.next_be; be++)
		dp_brk_set(be, SLUICE_BRK_CLOSED, 0);
	for (i = 0; i < n_brks; i++)
		dp_brk_set(brks[i].be, brks[i].state, brks[i].probes);
}

/*
 * One service key: addr, port 2000 + id (+ 1000 for a leader's write
 * key), proto, mode, flags, rates; its bulkhead and breaker settings res.
 */
static void key_add(uint32_t id, const char *addr, uint16_t port, uint8_t proto, uint8_t mode,
		    uint8_t flags, struct sluice_rate rate, struct sluice_rate crate)
{
	struct sluice_svc val = { 0 };

	val.id = id;
	val.mode = mode;
	val.flags = flags;
	val.rate = rate;
	val.client_rate = crate;
	dp_svc_put(addr, port, proto, &val);
	assert_true(n_keys < KEYS_MAX);
	dp_addr(addr, &keys[n_keys].addr);
	keys[n_keys].port = port;
	keys[n_keys].proto = proto;
	keys[n_keys].mode = mode;
	ports[n_keys] = port;
	n_keys++;
}

/* A service of the next id with backends bes[0..n) (port BE_PORT, or 0 for ipip). */
static uint32_t svc_add(const char *vip, uint8_t proto, uint8_t mode,
			const struct sluice_svc_res *res, struct sluice_rate rate,
			struct sluice_rate crate, const char *const *bes, int n, uint32_t *ids)
{
	uint32_t id = dp.next_svc++, be[8];
	int i;

	assert_true(n <= 8);
	key_add(id, vip, dp_svc_port(id), proto, mode, 0, rate, crate);
	dp_res_set(id, res);
	for (i = 0; i < n; i++)
		be[i] = dp_be_add(id, bes[i], mode == SLUICE_MODE_IPIP ? 0 : BE_PORT,
				  SLUICE_BE_ACTIVE);
	if (n)
		dp_table_publish(id, be, n);
	if (ids)
		memcpy(ids, be, n * sizeof(*be));
	return id;
}

static void configure(void)
{
	struct sluice_svc_res none = { 0 }, bh50 = { .max_conns = 50 },
			      bh20drop = { .max_conns = 20, .refuse = SLUICE_REFUSE_DROP },
			      ff = { .on_open = SLUICE_ON_OPEN_FAIL_FAST, .max_conns = 30 },
			      fb = { .on_open = SLUICE_ON_OPEN_FALLBACK };
	struct sluice_rate slow = bt_rate_of(100, 10), crate = bt_rate_of(50, 5);
	uint32_t ids[8], id, lead;
	struct sluice_leader l = { 0 };

	/* nat: TCP and UDP, both families; one backend of the first open. */
	svc_add(vips4[0], IPPROTO_TCP, SLUICE_MODE_NAT, &bh50, rate_none, rate_none, bes4, 3, ids);
	brk_config(ids[2], SLUICE_BRK_OPEN, 0);
	svc_add(vips4[0], IPPROTO_UDP, SLUICE_MODE_NAT, &none, slow, rate_none, bes4, 2, NULL);
	svc_add(vips6[0], IPPROTO_TCP, SLUICE_MODE_NAT, &bh20drop, rate_none, crate, bes6, 3, ids);
	brk_config(ids[0], SLUICE_BRK_HALF_OPEN, 2);
	svc_add(vips6[0], IPPROTO_UDP, SLUICE_MODE_NAT, &none, rate_none, rate_none, bes6, 2, NULL);
	/* ipip, both families. */
	svc_add(vips4[1], IPPROTO_TCP, SLUICE_MODE_IPIP, &bh50, rate_none, rate_none, bes4, 2,
		NULL);
	svc_add(vips6[1], IPPROTO_TCP, SLUICE_MODE_IPIP, &none, rate_none, rate_none, bes6, 2,
		NULL);
	/*
	 * A UDP bulkhead: a datagram takes its slot at once, so the fuzz fills
	 * it for sure (a TCP SYN takes none, flow.h, only a completed handshake).
	 */
	svc_add(vips4[1], IPPROTO_UDP, SLUICE_MODE_IPIP, &bh20drop, rate_none, crate, bes4, 1,
		NULL);
	/* local, with a bulkhead and a rate. */
	svc_add(vips4[0], IPPROTO_TCP, SLUICE_MODE_LOCAL, &bh20drop, rate_none, rate_none, NULL, 0,
		NULL);
	svc_add(vips6[1], IPPROTO_UDP, SLUICE_MODE_LOCAL, &none, slow, rate_none, NULL, 0, NULL);
	/* Fail fast with its one backend open; a fallback one with the fallback. */
	svc_add(vips4[1], IPPROTO_TCP, SLUICE_MODE_NAT, &ff, rate_none, rate_none, bes4 + 3, 1,
		ids);
	brk_config(ids[0], SLUICE_BRK_OPEN, 0);
	id = svc_add(vips6[1], IPPROTO_TCP, SLUICE_MODE_NAT, &fb, rate_none, rate_none, bes6 + 3, 1,
		     ids);
	brk_config(ids[0], SLUICE_BRK_OPEN, 0);
	fb.fallback_be = dp_be_add(id, bes6[2], BE_PORT, SLUICE_BE_DRAINING) + 1;
	dp_res_set(id, &fb);
	/* A leader's write key (and its read key), and one without a leader. */
	id = svc_add(vips4[0], IPPROTO_TCP, SLUICE_MODE_NAT, &none, rate_none, rate_none, bes4, 3,
		     ids);
	key_add(id, vips4[0], dp_svc_port(id) + 1000, IPPROTO_TCP, SLUICE_MODE_NAT,
		SLUICE_SVC_F_LEADER, rate_none, rate_none);
	lead = ids[1];
	l.backend = lead + 1;
	l.source = SLUICE_LEADER_OPERATOR;
	assert_int_equal(bpf_map__update_elem(dp.skel->maps.sl_leaders, &id, sizeof(id), &l,
					      sizeof(l), BPF_ANY),
			 0);
	id = svc_add(vips6[0], IPPROTO_TCP, SLUICE_MODE_IPIP, &none, rate_none, rate_none, bes6, 2,
		     NULL);
	key_add(id, vips6[0], dp_svc_port(id) + 1000, IPPROTO_TCP, SLUICE_MODE_IPIP,
		SLUICE_SVC_F_LEADER, rate_none, rate_none);
}

/* ---- the reference parser ---------------------------------------------------- */

enum ref_class {
	REF_NOT_IP,    /* no IP header (or deeper tags than the data plane reads) */
	REF_MALFORMED, /* headers cut short or lying about their lengths */
	REF_FRAGMENT,
	REF_EXT_LIMIT, /* a longer IPv6 extension chain than the data plane walks */
	REF_OTHER,     /* an IP protocol other than TCP and UDP (ICMP, IPIP...) */
	REF_L4,	       /* a whole TCP or UDP header */
};

struct ref {
	int cls;
	int family; /* 4 or 6 */
	int l3, l4, end;
	uint8_t proto, ttl, flags;
	union sluice_addr src, dst; /* IPv4 v4-mapped, as the maps hold them */
	uint16_t sport, dport;	    /* host order */
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void v4mapped(union sluice_addr *a, const uint8_t *p)
{
	memset(a, 0, sizeof(*a));
	a->u8[10] = 0xff;
	a->u8[11] = 0xff;
	memcpy(&a->u8[12], p, 4);
}

/*
 * The headers as the protocols define them, independently of parse.h: an
 * IPv4 header of at least 20 bytes whose total length holds the header and
 * fits in the frame; an IPv6 header whose payload fits, extension headers
 * inside the payload; a TCP header whose data offset is at least 5 and
 * inside the datagram; a UDP header whose length field is at least 8 and
 * inside the datagram. Two deliberate choices follow the data plane's
 * documented ones: more than SLUICE_VLAN_MAX tags is not IP to it, and
 * more than SLUICE_IPV6_EXT_MAX extension headers is left to the stack.
 */
static void ref_parse(const uint8_t *f, int len, struct ref *r)
{
	int off = 12, i, n_ext = 0;
	uint16_t type;

	memset(r, 0, sizeof(*r));
	r->cls = REF_MALFORMED;
	if (len < 14)
		return;
	type = get16(f + off);
	for (i = 0; type == 0x8100 || type == 0x88a8; i++) {
		if (i == SLUICE_VLAN_MAX) {
			r->cls = REF_NOT_IP;
			return;
		}
		off += 4;
		if (off + 2 > len)
			return;
		type = get16(f + off);
	}
	r->l3 = off + 2;
	if (type == 0x0800) {
		int hl, tot;

		if (r->l3 + 20 > len)
			return;
		hl = (f[r->l3] & 0xf) * 4;
		tot = get16(f + r->l3 + 2);
		if (f[r->l3] >> 4 != 4 || hl < 20 || tot < hl || r->l3 + tot > len)
			return;
		r->family = 4;
		r->end = r->l3 + tot;
		r->ttl = f[r->l3 + 8];
		r->proto = f[r->l3 + 9];
		v4mapped(&r->src, f + r->l3 + 12);
		v4mapped(&r->dst, f + r->l3 + 16);
		if (get16(f + r->l3 + 6) & 0x3fff) {
			r->cls = REF_FRAGMENT;
			return;
		}
		r->l4 = r->l3 + hl;
	} else if (type == 0x86dd) {
		uint8_t nh;

		if (r->l3 + 40 > len || f[r->l3] >> 4 != 6)
			return;
		r->end = r->l3 + 40 + get16(f + r->l3 + 4);
		if (r->end > len)
			return;
		r->family = 6;
		r->ttl = f[r->l3 + 7];
		memcpy(&r->src, f + r->l3 + 8, 16);
		memcpy(&r->dst, f + r->l3 + 24, 16);
		nh = f[r->l3 + 6];
		r->l4 = r->l3 + 40;
		while (nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 44) {
			int hlen;

			if (n_ext++ == SLUICE_IPV6_EXT_MAX) {
				r->cls = REF_EXT_LIMIT;
				return;
			}
			if (r->l4 + (nh == 44 ? 8 : 2) > r->end)
				return;
			if (nh == 44) {
				r->cls = REF_FRAGMENT;
				return;
			}
			hlen = nh == 51 ? (f[r->l4 + 1] + 2) * 4 : (f[r->l4 + 1] + 1) * 8;
			if (r->l4 + hlen > r->end)
				return;
			nh = f[r->l4];
			r->l4 += hlen;
		}
		r->proto = nh;
	} else {
		r->cls = REF_NOT_IP;
		return;
	}
	if (r->proto == IPPROTO_TCP) {
		int doff;

		if (r->l4 + 20 > r->end)
			return;
		doff = (f[r->l4 + 12] >> 4) * 4;
		if (doff < 20 || r->l4 + doff > r->end)
			return;
		r->flags = f[r->l4 + 13];
	} else if (r->proto == IPPROTO_UDP) {
		int ulen;

		if (r->l4 + 8 > r->end)
			return;
		ulen = get16(f + r->l4 + 4);
		if (ulen < 8 || r->l4 + ulen > r->end)
			return;
	} else {
		r->cls = REF_OTHER;
		return;
	}
	r->sport = get16(f + r->l4);
	r->dport = get16(f + r->l4 + 2);
	r->cls = REF_L4;
}

static int addr_eq(const union sluice_addr *a, const union sluice_addr *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static int is_service(const struct ref *r)
{
	int i;

	for (i = 0; i < n_keys; i++)
		if (keys[i].port == r->dport && keys[i].proto == r->proto &&
		    addr_eq(&keys[i].addr, &r->dst))
			return 1;
	return 0;
}

static int in_list(const union sluice_addr *a, const char *const *list, size_t n)
{
	union sluice_addr x;
	size_t i;

	for (i = 0; i < n; i++) {
		dp_addr(list[i], &x);
		if (addr_eq(a, &x))
			return 1;
	}
	return 0;
}

static int is_backend(const union sluice_addr *a)
{
	return in_list(a, bes4, ARRAY_SIZE(bes4)) || in_list(a, bes6, ARRAY_SIZE(bes6));
}

static int is_vip(const union sluice_addr *a)
{
	return in_list(a, vips4, ARRAY_SIZE(vips4)) || in_list(a, vips6, ARRAY_SIZE(vips6));
}

/*
 * The TCP flag combinations a service may receive, as conntrack's
 * tcp_valid_flags lists them (PSH, ECE and CWR aside).
 */
static int bad_flags(const struct ref *r)
{
	static const uint8_t valid[] = { 0x02, 0x22, 0x12, 0x04, 0x14, 0x11, 0x31, 0x10, 0x30 };
	size_t i;

	if (r->proto != IPPROTO_TCP)
		return 0;
	for (i = 0; i < ARRAY_SIZE(valid); i++)
		if ((r->flags & ~(0x08 | 0x40 | 0x80)) == valid[i])
			return 0;
	return 1;
}

/* Martian sources (RFC 6890): the prefixes, by text, as the maps hold them. */
static int martian(const struct ref *r)
{
	static const struct {
		const char *prefix;
		int len; /* of the 128 bits */
	} m[] = {
		{ "0.0.0.0", 96 + 8 },	 { "127.0.0.0", 96 + 8 },
		{ "224.0.0.0", 96 + 4 }, { "240.0.0.0", 96 + 4 },
		{ "::", 128 },		 { "::1", 128 },
		{ "ff00::", 8 },	 { "::ffff:0.0.0.0", 96 },
	};
	union sluice_addr p;
	size_t i;
	int b;

	for (i = 0; i < ARRAY_SIZE(m); i++) {
		int v4 = !strchr(m[i].prefix, ':');

		if (v4 != (r->family == 4))
			continue;
		dp_addr(m[i].prefix, &p);
		for (b = 0; b < m[i].len; b++)
			if ((p.u8[b / 8] ^ r->src.u8[b / 8]) & (0x80 >> (b % 8)))
				break;
		if (b == m[i].len)
			return 1;
	}
	return 0;
}

/* ---- the generator ------------------------------------------------------------ */

static const char *pick_addr(int v6, const char *const *a4, size_t n4, const char *const *a6,
			     size_t n6)
{
	return v6 ? a6[rn((uint32_t)n6)] : a4[rn((uint32_t)n4)];
}

/* A client, now and then a martian one. */
#define CLIENT(v6)                                                            \
	(one_in(20)                                                           \
		 ? pick_addr(v6, martians4, ARRAY_SIZE(martians4), martians6, \
			     ARRAY_SIZE(martians6))                           \
		 : pick_addr(v6, clients4, ARRAY_SIZE(clients4), clients6, ARRAY_SIZE(clients6)))
#define VIP(v6) pick_addr(v6, vips4, ARRAY_SIZE(vips4), vips6, ARRAY_SIZE(vips6))
#define BACKEND(v6) pick_addr(v6, bes4, ARRAY_SIZE(bes4), bes6, ARRAY_SIZE(bes6))
#define ROUTER(v6) pick_addr(v6, routers4, ARRAY_SIZE(routers4), routers6, ARRAY_SIZE(routers6))

static uint8_t pick_flags(void)
{
	static const uint8_t common[] = {
		PKT_TCP_SYN,
		PKT_TCP_ACK,
		PKT_TCP_ACK | PKT_TCP_PSH,
		PKT_TCP_SYN | PKT_TCP_ACK,
		PKT_TCP_FIN | PKT_TCP_ACK,
		PKT_TCP_RST,
		PKT_TCP_RST | PKT_TCP_ACK,
	};

	return one_in(5) ? (uint8_t)rn(256) : PICK(common);
}

static uint16_t client_port(void)
{
	return (uint16_t)(1000 + rn(48)); /* few: flows come back */
}

/* The parts of a frame every kind shares: tags, TTL, IP options, extensions. */
static void dress(struct pkt_spec *s, int v6)
{
	static const uint8_t ext_types[] = { 0, 43, 60, 51, 44 };
	static const uint8_t ttls[] = { 0, 1, 2, 255 };
	int i, r = (int)rn(100);

	s->n_vlan = r < 80 ? 0 : r < 95 ? 1 : r < 99 ? 2 : 3;
	for (i = 0; i < s->n_vlan; i++) {
		s->vlan[i].tpid = one_in(2) ? 0x8100 : 0x88a8;
		s->vlan[i].tci = (uint16_t)rn(4096);
	}
	s->ttl = one_in(10) ? PICK(ttls) : 64;
	if (!v6 && one_in(6))
		s->ip4_opt_len = 4 * (int)(1 + rn(10));
	if (!v6 && one_in(20))
		s->frag = one_in(2) ? PKT_IP_MF : (uint16_t)(1 + rn(100));
	else if (!v6 && one_in(2))
		s->frag = PKT_IP_DF;
	if (v6 && one_in(6)) {
		s->n_ext = 1 + (int)rn(one_in(4) ? 8 : 3);
		for (i = 0; i < s->n_ext; i++) {
			s->ext[i].type = one_in(12) ? 44 : ext_types[rn(4)];
			s->ext[i].len = (uint8_t)rn(3);
			s->ext[i].frag = (uint16_t)(one_in(2) ? 1 : 0);
		}
	}
}

/*
 * A valid frame: a client to a service (or near one), a backend back to a
 * client, an ICMP error quoting a flow to a backend, or something else.
 */
static void gen_valid(struct pkt_spec *s, int *ifindex, uint8_t *quote)
{
	int v6 = (int)rn(2), r = (int)rn(100);
	int gw0 = 1;

	memset(s, 0, sizeof(*s));
	if (r < 55) {
		s->src = CLIENT(v6);
		s->dst = one_in(10) ? VIP(v6) : pick_addr(v6, vips4, 2, vips6, 2);
		s->proto = one_in(4) ? IPPROTO_UDP : IPPROTO_TCP;
		s->sport = client_port();
		s->dport = one_in(10) ? (uint16_t)rn(65536) : ports[rn((uint32_t)n_keys)];
		s->tcp_flags = pick_flags();
	} else if (r < 85) {
		s->src = BACKEND(v6);
		s->dst = CLIENT(v6);
		s->proto = one_in(4) ? IPPROTO_UDP : IPPROTO_TCP;
		s->sport = one_in(10) ? (uint16_t)rn(65536) : BE_PORT;
		s->dport = client_port();
		s->tcp_flags = pick_flags();
		gw0 = 0;
	} else if (r < 93) {
		struct pkt_spec in = { 0 };
		struct pkt_layout lay;
		int len;

		in.src = CLIENT(v6);
		in.dst = BACKEND(v6);
		in.proto = one_in(4) ? IPPROTO_UDP : IPPROTO_TCP;
		in.sport = client_port();
		in.dport = BE_PORT;
		in.tcp_flags = PKT_TCP_SYN;
		in.ttl = 63;
		len = pkt_build(&in, quote, PKT_BUF_MAX, &lay);
		assert_true(len > 0);
		s->src = ROUTER(v6);
		s->dst = in.src;
		s->proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
		s->icmp_unreach = !one_in(5);
		s->icmp_code = (uint8_t)rn(16);
		s->payload_data = quote + lay.l3;
		s->payload = lay.l4 - lay.l3 + (int)rn(28);
		if (s->payload > len - lay.l3)
			s->payload = len - lay.l3;
		gw0 = 0;
	} else {
		static const uint8_t protos[] = { IPPROTO_GRE, IPPROTO_SCTP, IPPROTO_IPIP, 0, 255 };

		s->src = one_in(2) ? CLIENT(v6) : BACKEND(v6);
		s->dst = one_in(2) ? VIP(v6) : CLIENT(v6);
		s->proto = PICK(protos);
	}
	dress(s, v6);
	if (s->proto == IPPROTO_TCP && one_in(4))
		s->tcp_opt_len = 4 * (int)rn(11);
	if (!s->payload_data)
		s->payload = one_in(3) ? 0 : (int)rn(300);
	memcpy(s->dmac, gw0 ? dp.topo->mac_gw0 : dp.topo->mac_gw1, 6);
	if (one_in(30)) { /* another host's MAC, or a group address */
		s->dmac[5] ^= (uint8_t)(1 + rn(255));
		s->dmac[0] |= (uint8_t)one_in(4);
	}
	memcpy(s->smac, gw0 ? dp.topo->clients[0].mac : dp.topo->backends[0].mac, 6);
	*ifindex = one_in(50) ? 0 : gw0 ? dp.if_gw0 : dp.if_gw1;
}

/* One mutation of a built frame f of *len bytes (room for PKT_BUF_MAX). */
static void mutate(uint8_t *f, int *len, const struct pkt_layout *lay)
{
	int head = *len < 128 ? *len : 128, at;

	switch (rn(8)) {
	case 0: /* a bit flipped in the headers */
		at = (int)rn((uint32_t)head);
		f[at] ^= (uint8_t)(1u << rn(8));
		break;
	case 1: /* a header byte set */
		at = (int)rn((uint32_t)head);
		f[at] = one_in(3) ? 0 : one_in(2) ? 0xff : (uint8_t)rn(256);
		break;
	case 2: /* cut short */
		if (*len > 14)
			*len = 14 + (int)rn((uint32_t)(*len - 14));
		break;
	case 3: /* the IP length field lies */
		if (lay->l3 > 0 && lay->l3 + 6 <= *len) {
			int fld = lay->l3 + ((f[lay->l3] >> 4) == 6 ? 4 : 2);
			uint16_t v = one_in(2) ? (uint16_t)rn(65536)
					       : (uint16_t)(get16(f + fld) + (int)rn(17) - 8);

			f[fld] = v >> 8;
			f[fld + 1] = v & 0xff;
		}
		break;
	case 4: /* ihl, doff or the UDP length rewritten */
		if (lay->l3 > 0 && lay->l3 < *len && one_in(3))
			f[lay->l3] = (uint8_t)((f[lay->l3] & 0xf0) | rn(16));
		else if (lay->l4 > 0 && lay->l4 + 14 <= *len && one_in(2))
			f[lay->l4 + 12] = (uint8_t)(rn(16) << 4 | (f[lay->l4 + 12] & 0xf));
		else if (lay->l4 > 0 && lay->l4 + 6 <= *len) {
			f[lay->l4 + 4] = (uint8_t)rn(256);
			f[lay->l4 + 5] = (uint8_t)rn(256);
		}
		break;
	case 5: /* padding or garbage after the datagram */
		at = (int)rn(64) + 1;
		if (*len + at <= PKT_BUF_MAX) {
			memset(f + *len, one_in(2) ? 0 : (int)rn(256), at);
			*len += at;
		}
		break;
	case 6: /* the EtherType or a tag's */
		at = lay->l3 > 2 ? lay->l3 - 2 : 12;
		if (at + 2 <= *len) {
			static const uint16_t types[] = { 0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806 };
			uint16_t t = PICK(types);

			f[at] = t >> 8;
			f[at + 1] = t & 0xff;
		}
		break;
	default: /* the IP version */
		if (lay->l3 > 0 && lay->l3 < *len)
			f[lay->l3] = (uint8_t)((rn(16) << 4) | (f[lay->l3] & 0xf));
		break;
	}
}

/* Random bytes, most with an Ethernet and IP header start to get further in. */
static int gen_random(uint8_t *f)
{
	int len = 14 + (int)rn(200), i;

	for (i = 0; i < len; i++)
		f[i] = (uint8_t)rnd();
	if (!one_in(3)) {
		int v6 = (int)rn(2);

		memcpy(f, dp.topo->mac_gw0, 6);
		f[12] = v6 ? 0x86 : 0x08;
		f[13] = v6 ? 0xdd : 0x00;
		f[14] = v6 ? 0x60 : 0x45;
	}
	return len;
}

/* ---- the invariants ----------------------------------------------------------- */

static uint64_t seed;
static long frame_no;

static void dump_fail(const uint8_t *f, int len, const uint8_t *out, int olen, int action,
		      const char *why)
{
	int i;

	fprintf(stderr,
		"pktfuzz: frame %ld (PKTFUZZ_SEED=%#llx): %s (action %d)\nin  (%d):", frame_no,
		(unsigned long long)seed, why, action, len);
	for (i = 0; i < len; i++)
		fprintf(stderr, "%s%02x", i % 32 ? " " : "\n  ", f[i]);
	fprintf(stderr, "\nout (%d):", olen);
	for (i = 0; i < olen; i++)
		fprintf(stderr, "%s%02x", i % 32 ? " " : "\n  ", out[i]);
	fprintf(stderr, "\n");
	fail_msg("pktfuzz invariant broken: %s", why);
}

#define FAIL_UNLESS(c, why)                                           \
	do {                                                          \
		if (!(c))                                             \
			dump_fail(in, len, out, olen, action, (why)); \
	} while (0)

/* Shapes of a forwarded frame, and what was seen (for the coverage check). */
enum { FWD_NAT, FWD_REV, FWD_RST, FWD_IPIP, FWD_SYN, FWD_KINDS };
static uint64_t fwd_seen[FWD_KINDS];

/* The checks of one forwarded frame: out (olen bytes) came from in. */
static void check_forward(const uint8_t *in, int len, const struct ref *ri, const uint8_t *out,
			  int olen, int action)
{
	int csum_in = pkt_check_csums(in, len) == 0;
	struct ref ro;

	ref_parse(out, olen, &ro);
	FAIL_UNLESS(ri->cls == REF_L4 || ri->cls == REF_OTHER,
		    "a frame that is no datagram forwarded");
	FAIL_UNLESS(ro.cls == REF_L4 || (ro.cls == REF_OTHER &&
					 (ro.proto == IPPROTO_IPIP || ro.proto == IPPROTO_IPV6)),
		    "the frame out does not parse");
	if (ro.cls == REF_OTHER) {
		/* ipip: the outer header new (TTL 64, checksum right), the inner untouched. */
		FAIL_UNLESS(ri->cls == REF_L4 && is_service(ri), "ipip of no service");
		FAIL_UNLESS(ro.ttl == 64, "ipip outer TTL not 64");
		FAIL_UNLESS(pkt_check_csums(out, olen) == 0, "ipip outer header checksum");
		FAIL_UNLESS(ro.end - ro.l4 == ri->end - ri->l3 &&
				    !memcmp(out + ro.l4, in + ri->l3, ri->end - ri->l3),
			    "ipip inner datagram changed");
		fwd_seen[FWD_IPIP]++;
		return;
	}
	FAIL_UNLESS(ro.family == ri->family || ri->cls == REF_OTHER, "family changed");
	if (ri->cls == REF_L4 && addr_eq(&ro.src, &ri->dst) && addr_eq(&ro.dst, &ri->src) &&
	    ro.sport == ri->dport && ro.dport == ri->sport && (ro.flags & PKT_TCP_RST)) {
		/* A refusal: a RST built from scratch. */
		FAIL_UNLESS(action == XDP_TX, "a RST not sent back out");
		FAIL_UNLESS(ro.ttl == 64, "RST TTL not 64");
		FAIL_UNLESS(pkt_check_csums(out, olen) == 0, "RST checksums");
		fwd_seen[FWD_RST]++;
		return;
	}
	if (ro.proto == IPPROTO_TCP && (ro.flags & (PKT_TCP_SYN | PKT_TCP_ACK)) == PKT_TCP_SYN &&
	    is_backend(&ro.dst) && (ri->cls == REF_OTHER || is_backend(&ri->src))) {
		/* A redispatch: the client's SYN rebuilt from its stored state. */
		FAIL_UNLESS(pkt_check_csums(out, olen) == 0, "rebuilt SYN checksums");
		fwd_seen[FWD_SYN]++;
		return;
	}
	FAIL_UNLESS(ri->cls == REF_L4, "forwarded a frame that is no TCP or UDP");
	if (addr_eq(&ro.src, &ri->src) && ro.sport == ri->sport) {
		FAIL_UNLESS(is_service(ri), "nat of no service");
		FAIL_UNLESS(is_backend(&ro.dst), "nat to no backend");
		fwd_seen[FWD_NAT]++;
	} else {
		FAIL_UNLESS(addr_eq(&ro.dst, &ri->dst) && ro.dport == ri->dport,
			    "forwarded with an unexplained rewrite");
		FAIL_UNLESS(is_backend(&ri->src) && is_vip(&ro.src),
			    "return path not from a backend");
		fwd_seen[FWD_REV]++;
	}
	FAIL_UNLESS(ri->ttl >= 2 && ro.ttl == ri->ttl - 1, "TTL / hop limit not one less");
	FAIL_UNLESS(!csum_in || pkt_check_csums(out, olen) == 0, "checksums broken by the rewrite");
}

/* Run one frame and check it. */
static void run_one(const uint8_t *in, int len, int ifindex)
{
	uint8_t out[DP_OUT_MAX];
	int olen = 0, action = -1, untouched;
	struct ref ri;

	assert_int_equal(dp_prog_try(dp_prog_fd(), in, len, 0, ifindex, 1, out, &olen, &action), 0);
	ref_parse(in, len, &ri);
	FAIL_UNLESS(action == XDP_PASS || action == XDP_DROP || action == XDP_TX ||
			    action == XDP_REDIRECT,
		    "an action other than PASS, DROP, TX, REDIRECT");
	if (ifindex == dp.if_gw0 && !(in[0] & 1) && memcmp(in, dp.topo->mac_gw0, 6)) {
		FAIL_UNLESS(action == XDP_PASS && olen == len && !memcmp(in, out, len),
			    "a frame for another MAC not passed untouched");
		return;
	}
	if (ri.cls == REF_L4 && is_service(&ri) && (bad_flags(&ri) || martian(&ri))) {
		FAIL_UNLESS(action == XDP_DROP && olen == len && !memcmp(in, out, len),
			    "invalid flags or a martian source to a service not dropped");
		return;
	}
	switch (ri.cls) {
	case REF_L4:
		untouched = !is_service(&ri) && !is_backend(&ri.src);
		break;
	case REF_OTHER:
		untouched = ri.proto != IPPROTO_ICMP && ri.proto != IPPROTO_ICMPV6;
		break;
	default:
		untouched = 1;
	}
	if (untouched) {
		FAIL_UNLESS(action == XDP_PASS,
			    "malformed, fragment, not IP or no service: not passed");
		FAIL_UNLESS(olen == len && !memcmp(in, out, len), "passed but changed");
	} else if (action == XDP_TX || action == XDP_REDIRECT) {
		check_forward(in, len, &ri, out, olen, action);
	} else if (ri.cls == REF_OTHER) {
		FAIL_UNLESS(olen == len && !memcmp(in, out, len), "ICMP passed but changed");
	}
}

static struct sluice_counter glb_total(void)
{
	struct sluice_counter t = { 0 }, c;
	uint32_t r;

	for (r = 0; r < SLUICE_REASON_SLOTS; r++) {
		assert_int_equal(bt_counter_sum(dp.skel->maps.sl_glb_stats_v2, r, dp.ncpus, &c), 0);
		t.packets += c.packets;
		t.bytes += c.bytes;
	}
	return t;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

static void test_fuzz(void **state)
{
	uint64_t frames = env_u64("PKTFUZZ_FRAMES", FRAMES_DEFAULT), bytes = 0, kinds[3] = { 0 };
	uint8_t f[PKT_BUF_MAX], quote[PKT_BUF_MAX];
	struct sluice_counter c0, c1;
	struct timespec t0, t1;
	struct pkt_layout lay;
	struct pkt_spec s;
	double secs;
	int i;

	(void)state;
	DP_SKIP_UNLESS_READY();
	seed = env_u64("PKTFUZZ_SEED", SEED_DEFAULT);
	rng_state = seed;
	configure();
	/* gw0's MAC, as the loader writes it at attach. */
	{
		struct sluice_ifmac m = { { 0 }, 1, 0 };
		uint32_t k = (uint32_t)dp.if_gw0;

		memcpy(m.mac, dp.topo->mac_gw0, 6);
		assert_int_equal(bpf_map__update_elem(dp.skel->maps.sl_ifmac, &k, sizeof(k), &m,
						      sizeof(m), BPF_ANY),
				 0);
	}
	c0 = glb_total();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (frame_no = 0; (uint64_t)frame_no < frames; frame_no++) {
		int kind = (int)rn(100), len, ifindex;

		kind = kind < 50 ? 0 : kind < 85 ? 1 : 2;
		if ((frame_no & 4095) == 4095)
			brk_restore();
		kinds[kind]++;
		if (kind == 2) {
			len = gen_random(f);
			ifindex = one_in(2) ? dp.if_gw0 : dp.if_gw1;
		} else {
			gen_valid(&s, &ifindex, quote);
			len = pkt_build(&s, f, sizeof(f), &lay);
			assert_true(len > 0);
			if (kind == 1)
				for (i = (int)rn(3); i >= 0; i--)
					mutate(f, &len, &lay);
		}
		bytes += (uint64_t)len;
		run_one(f, len, ifindex);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	c1 = glb_total();
	/* Every frame counted once, under one reason, with its bytes. */
	assert_int_equal(c1.packets - c0.packets, frames);
	assert_int_equal(c1.bytes - c0.bytes, bytes);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("pktfuzz: %llu frames (seed %#llx: %llu valid, %llu mutated, %llu random) in "
		      "%.1f s; forwarded: %llu nat, %llu rev_nat, %llu rst, %llu ipip, %llu syn\n",
		      (unsigned long long)frames, (unsigned long long)seed,
		      (unsigned long long)kinds[0], (unsigned long long)kinds[1],
		      (unsigned long long)kinds[2], secs, (unsigned long long)fwd_seen[FWD_NAT],
		      (unsigned long long)fwd_seen[FWD_REV], (unsigned long long)fwd_seen[FWD_RST],
		      (unsigned long long)fwd_seen[FWD_IPIP],
		      (unsigned long long)fwd_seen[FWD_SYN]);
	/* The sample reached every stage (a generator that stopped would pass everything). */
	if (frames >= 10000) {
		static const uint32_t must[] = {
			SLUICE_R_ADMITTED,   SLUICE_R_NOT_SERVICE,   SLUICE_R_NOT_IP,
			SLUICE_R_NOT_L4,     SLUICE_R_FRAGMENT,	     SLUICE_R_MALFORMED,
			SLUICE_R_EXT_LIMIT,  SLUICE_R_DROP_SVC_RATE, SLUICE_R_DROP_CLIENT_RATE,
			SLUICE_R_FWD,	     SLUICE_R_FWD_STACK,     SLUICE_R_REV_NAT,
			SLUICE_R_TTL,	     SLUICE_R_BH_SERVICE,    SLUICE_R_BRK_OPEN,
			SLUICE_R_OTHER_HOST, SLUICE_R_BAD_FLAGS,     SLUICE_R_MARTIAN,
		};
		size_t k;

		for (k = 0; k < ARRAY_SIZE(must); k++)
			if (dp_glb_ctr(must[k]).packets == 0)
				fail_msg("pktfuzz: no frame reached reason %u", must[k]);
		for (k = 0; k < FWD_KINDS; k++)
			if (k != FWD_SYN && !fwd_seen[k])
				fail_msg("pktfuzz: no forwarded frame of shape %zu", k);
	}
}

/* The reference parser itself: a few frames whose class is known. */
static void test_reference(void **state)
{
	struct pkt_spec s = {
		.src = "192.0.2.10", .dst = "10.0.0.1", .proto = IPPROTO_UDP, .sport = 1, .dport = 2
	};
	uint8_t f[PKT_BUF_MAX];
	struct pkt_layout lay;
	struct ref r;
	int len;

	(void)state;
	len = pkt_build(&s, f, sizeof(f), &lay);
	ref_parse(f, len, &r);
	assert_int_equal(r.cls, REF_L4);
	assert_int_equal(r.dport, 2);
	f[lay.l4 + 5] = 7; /* UDP length 7 */
	ref_parse(f, len, &r);
	assert_int_equal(r.cls, REF_MALFORMED);
	s.proto = IPPROTO_TCP;
	s.doff = 4;
	len = pkt_build(&s, f, sizeof(f), &lay);
	ref_parse(f, len, &r);
	assert_int_equal(r.cls, REF_MALFORMED);
	s.doff = 0;
	s.n_vlan = 3;
	len = pkt_build(&s, f, sizeof(f), &lay);
	ref_parse(f, len, &r);
	assert_int_equal(r.cls, REF_NOT_IP);
	s.n_vlan = 0;
	s.dst = "2001:db8::1";
	s.src = "2001:db8:c::10";
	s.n_ext = 7;
	len = pkt_build(&s, f, sizeof(f), &lay);
	ref_parse(f, len, &r);
	assert_int_equal(r.cls, REF_EXT_LIMIT);
	s.n_ext = 1;
	s.ext[0].type = 44;
	len = pkt_build(&s, f, sizeof(f), &lay);
	ref_parse(f, len, &r);
	assert_int_equal(r.cls, REF_FRAGMENT);
	s.n_ext = 0;
	s.truncate = pkt_build(&s, f, sizeof(f), &lay) - 1;
	len = pkt_build(&s, f, sizeof(f), &lay);
	ref_parse(f, len, &r);
	assert_int_equal(r.cls, REF_MALFORMED);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference),
		cmocka_unit_test(test_fuzz),
	};

	return DP_RUN_GROUP("sluice_pktfuzz", tests, &dp_topo_std, NULL);
}
