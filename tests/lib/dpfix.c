// SPDX-License-Identifier: GPL-2.0-only
/*
 * dpfix: the data-plane suites' fixture (see dpfix.h).
 *
 * Services, backends, leaders, shards and sl_config are written straight
 * into the maps, not through the library's write modules: a suite picks
 * the ids (its ports derive from them), decides which backends each Maglev
 * table holds (tables without the leader, stale tables, subsets) and writes
 * values the library refuses (unknown modes, ids out of range, a 1 ns UDP
 * timeout). svc_add() or backend_add() would choose the ids and republish
 * the tables themselves. What only reads or writes one record the way the
 * library does (counters, connections, breakers, publishing a table) goes
 * through the library on dp.pin.maps.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "backend.h"
#include "publish.h"
#include "flowhash.h"
#include "loader.h"
#include "maps.h"
#include "res.h"
#include "sluice.skel.h"
#include "tc.skel.h"
#include "bpftest.h"
#include "dpfix.h"

#define SEQ_DEFAULT 0x01020304u /* pktbuild's seq */
#define ACK_DEFAULT 0x0a0b0c0du /* pktbuild's ack */

struct dp dp;

static const struct dp_host std_clients[] = {
	{ "192.0.2.10", { 0x02, 0xc1, 0, 0, 0x04, 0x10 } },
	{ "2001:db8:c::10", { 0x02, 0xc1, 0, 0, 0x04, 0x10 } },
};

static const struct dp_host std_backends[] = {
	{ "10.1.0.2", { 0x02, 0xbe, 0, 0, 0, 0x02 } },
	{ "10.1.0.3", { 0x02, 0xbe, 0, 0, 0, 0x03 } },
	{ "10.1.0.4", { 0x02, 0xbe, 0, 0, 0, 0x04 } },
	{ "10.1.0.5", { 0x02, 0xbe, 0, 0, 0, 0x05 } },
	{ "2001:db8:b::2", { 0x02, 0xbe, 0, 0, 0, 0x06 } },
	{ "2001:db8:b::3", { 0x02, 0xbe, 0, 0, 0, 0x07 } },
	{ "2001:db8:b::4", { 0x02, 0xbe, 0, 0, 0, 0x08 } },
	{ "2001:db8:b::5", { 0x02, 0xbe, 0, 0, 0, 0x09 } },
};

const struct dp_topo dp_topo_std = {
	.netns = 1,
	.mac_gw0 = { 0x02, 0, 0, 0, 0x00, 0x10 },
	.mac_gw1 = { 0x02, 0, 0, 0, 0x01, 0x10 },
	.clients = std_clients,
	.n_clients = sizeof(std_clients) / sizeof(std_clients[0]),
	.backends = std_backends,
	.n_backends = sizeof(std_backends) / sizeof(std_backends[0]),
	.encap4 = "10.1.0.1",
	.encap6 = "2001:db8:b::1",
	.svc_port_base = 2000,
};

/* ---- checks -------------------------------------------------------------- */

void dp_failf(const char *file, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (dp.fail)
		dp.fail(file, line, msg); /* cmocka's does not come back */
	fprintf(stderr, "%s:%d: %s\n", file, line, msg);
	abort();
}

#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c))                                                     \
			dp_failf(__FILE__, __LINE__, "check failed: %s", #c); \
	} while (0)

#define CHECK_EQ(a, b) check_eq((long long)(a), (long long)(b), #a, #b, __FILE__, __LINE__)

static void check_eq(long long a, long long b, const char *ta, const char *tb, const char *file,
		     int line)
{
	if (a != b)
		dp_failf(file, line, "%s (%lld) != %s (%lld)", ta, a, tb, b);
}

#define CHECK_MEM(a, b, n) check_mem((a), (b), (n), #a, #b, __FILE__, __LINE__)

static void check_mem(const void *a, const void *b, size_t n, const char *ta, const char *tb,
		      const char *file, int line)
{
	const uint8_t *x = a, *y = b;
	size_t i;

	for (i = 0; i < n; i++)
		if (x[i] != y[i])
			dp_failf(file, line,
				 "%s and %s differ at byte %zu of %zu: 0x%02x != 0x%02x", ta, tb, i,
				 n, x[i], y[i]);
}

/* ---- setup --------------------------------------------------------------- */

static char *mac_str(const uint8_t *m, char *buf)
{
	sprintf(buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

/* Permanent neighbours for hosts[0..n) on dev. */
static int neigh_add(const struct dp_host *hosts, size_t n, const char *dev)
{
	char mac[18];
	size_t i;

	for (i = 0; i < n; i++)
		if (bt_sh(dp.skip_buf, sizeof(dp.skip_buf),
			  "ip neigh add %s lladdr %s dev %s nud permanent", hosts[i].addr,
			  mac_str(hosts[i].mac, mac), dev))
			return -1;
	return 0;
}

static int netns_setup(const struct dp_topo *t)
{
	char *e = dp.skip_buf, m0[18], m1[18];
	size_t i, n = sizeof(dp.skip_buf);

	if (bt_netns_enter(mac_str(t->mac_gw0, m0), mac_str(t->mac_gw1, m1), e, n) ||
	    bt_sh(e, n, "ip -6 addr add 2001:db8:c::1/64 dev gw0 nodad") ||
	    bt_sh(e, n, "ip -6 addr add 2001:db8:b::1/64 dev gw1 nodad") ||
	    bt_sh(e, n, "sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1"))
		return -1;
	for (i = 0; t->cmds && t->cmds[i]; i++)
		if (bt_sh(e, n, "%s", t->cmds[i]))
			return -1;
	if (neigh_add(t->clients, t->n_clients, "gw0") ||
	    neigh_add(t->backends, t->n_backends, "gw1"))
		return -1;
	dp.if_gw0 = if_nametoindex("gw0");
	dp.if_gw1 = if_nametoindex("gw1");
	if (dp.if_gw0 && dp.if_gw1)
		return 0;
	snprintf(e, n, "veth interfaces vanished");
	return -1;
}

/* sluice_tc on the maps of xdp (loaded), by fd. */
static int load_tc(struct sluice_bpf *xdp)
{
	struct tc_bpf *skel = tc_bpf__open();
	int err;

	if (!skel)
		return -errno;
	err = bt_reuse_maps(skel->obj, xdp->obj);
	if (!err)
		err = tc_bpf__load(skel);
	if (err) {
		tc_bpf__destroy(skel);
		return err;
	}
	dp.tc_skel = skel;
	return 0;
}

/*
 * Load sluice_xdp on the maps the loader pinned under dp.pin.root (each
 * adopted by fd, whatever size the loader gave it), then remove the pins;
 * with dp.hook DP_HOOK_TC, sluice_tc too.
 */
static int load(void)
{
	struct sluice_bpf *skel = sluice_bpf__open();
	char path[PATH_MAX + 64];
	struct bpf_map *map;
	int err = 0, fd;

	if (!skel) {
		err = -errno;
		goto out;
	}
	bpf_object__for_each_map(map, skel->obj)
	{
		if (bpf_map__is_internal(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dp.pin.root, bpf_map__name(map));
		fd = bpf_obj_get(path);
		if (fd < 0) {
			err = -errno;
			goto out;
		}
		err = bpf_map__reuse_fd(map, fd);
		close(fd);
		if (err)
			goto out;
	}
	err = sluice_bpf__load(skel);
	if (!err && dp.hook == DP_HOOK_TC)
		err = load_tc(skel);
out:
	pinroot_remove(dp.pin.root);
	dp.pin.root[0] = '\0';
	if (err) {
		snprintf(dp.skip_buf, sizeof(dp.skip_buf), "cannot load sluice.bpf.o%s: %s",
			 dp.hook == DP_HOOK_TC ? " / tc.bpf.o" : "", strerror(-err));
		sluice_bpf__destroy(skel);
		return -1;
	}
	dp.skel = skel;
	/* Next-hop caching on, as the loader leaves it at attach. */
	return loader_nh_gen_bump(bpf_map__fd(skel->maps.sl_nh_gen)) ? -1 : 0;
}

int dp_setup(const struct dp_topo *topo, dp_fail_fn fail)
{
	const char *hook = getenv("SLUICE_TEST_HOOK");

	if (hook && !strcmp(hook, "tc"))
		dp.hook = DP_HOOK_TC;
	dp.topo = topo;
	dp.fail = fail;
	dp.next_svc = 1;
	dp.next_be = 1;
	dp.skip_reason = dp.skip_buf;
	if (pinroot_setup(&dp.pin)) {
		snprintf(dp.skip_buf, sizeof(dp.skip_buf), "cannot create the maps");
		goto skip;
	}
	if (dp.pin.skip_reason) {
		dp.skip_reason = dp.pin.skip_reason;
		goto skip;
	}
	if (bt_suite_start(&dp.ncpus, &dp.skip_reason) || (topo->netns && netns_setup(topo)))
		goto skip;
	if (load()) {
		dp.load_failed = 1;
		printf("FAILED: %s\n", dp.skip_buf);
		dp_teardown();
		return -1;
	}
	if (topo->encap4 || topo->encap6) {
		struct sluice_config c = { 0 };
		uint32_t zero = 0;

		if (topo->encap4)
			dp_addr(topo->encap4, &c.encap_src4);
		if (topo->encap6)
			dp_addr(topo->encap6, &c.encap_src6);
		if (bpf_map__update_elem(dp.skel->maps.sl_config, &zero, sizeof(zero), &c,
					 sizeof(c), BPF_ANY)) {
			dp.skip_reason = "cannot set sl_config";
			goto skip;
		}
	}
	dp.skip_reason = NULL;
	return 0;
skip:
	printf("SKIPPED: %s\n", dp.skip_reason);
	dp_teardown();
	return -1;
}

int dp_setup_events(const struct dp_topo *topo, dp_fail_fn fail, ring_buffer_sample_fn fn)
{
	if (dp_setup(topo, fail))
		return -1;
	dp.events = ring_buffer__new(bpf_map__fd(dp.skel->maps.sl_events), fn, NULL, NULL);
	if (!dp.events) {
		printf("SKIPPED: cannot set up the ring buffer\n");
		dp_teardown();
		return -1;
	}
	return 0;
}

int dp_group_setup(void **state)
{
	(void)state;
	/* A setup that cannot run leaves dp.skel NULL: every test then skips. */
	if (dp.on_event)
		dp_setup_events(dp.topo, dp.fail, dp.on_event);
	else
		dp_setup(dp.topo, dp.fail);
	return 0;
}

int dp_group_teardown(void **state)
{
	(void)state;
	dp_teardown();
	return 0;
}

void dp_teardown(void)
{
	size_t i;

	ring_buffer__free(dp.events);
	dp.events = NULL;
	for (i = 0; i < SLUICE_MAX_TABLES; i++) {
		free(dp.tables[i]);
		dp.tables[i] = NULL;
	}
	tc_bpf__destroy(dp.tc_skel);
	dp.tc_skel = NULL;
	sluice_bpf__destroy(dp.skel);
	dp.skel = NULL;
	pinroot_teardown(&dp.pin);
	dp.pin.root[0] = '\0';
}

/* ---- maps ---------------------------------------------------------------- */

void dp_addr(const char *s, union sluice_addr *a)
{
	if (bt_addr_parse(s, a))
		dp_failf(__FILE__, __LINE__, "not an address: %s", s);
}

const uint8_t *dp_mac_of(const char *addr)
{
	const struct dp_topo *t = dp.topo;
	size_t i;

	for (i = 0; i < t->n_clients; i++)
		if (!strcmp(t->clients[i].addr, addr))
			return t->clients[i].mac;
	for (i = 0; i < t->n_backends; i++)
		if (!strcmp(t->backends[i].addr, addr))
			return t->backends[i].mac;
	dp_failf(__FILE__, __LINE__, "no neighbour %s in the test topology", addr);
	return NULL;
}

uint16_t dp_svc_port(uint32_t id)
{
	return dp.topo->svc_port_base + id;
}

void dp_svc_put(const char *addr, uint16_t port, uint8_t proto, const struct sluice_svc *val)
{
	CHECK_EQ(bt_svc_put(dp.skel->maps.sl_services, dp.skel->maps.sl_svc_byid, addr, port, proto,
			    val),
		 0);
}

void dp_res_set(uint32_t id, const struct sluice_svc_res *res)
{
	struct sluice_svc_res zero = { 0 };

	CHECK_EQ(bpf_map__update_elem(dp.skel->maps.sl_svc_res, &id, sizeof(id), res ? res : &zero,
				      sizeof(zero), BPF_ANY),
		 0);
}

uint32_t dp_svc_add(const char *addr, uint8_t proto, uint8_t mode, uint8_t hash,
		    const struct sluice_svc_res *res)
{
	struct sluice_svc val = { 0 };
	uint32_t id = dp.next_svc++;

	val.id = id;
	val.mode = mode;
	val.hash = hash;
	dp_svc_put(addr, dp_svc_port(id), proto, &val);
	dp_res_set(id, res);
	return id;
}

void dp_be_write(uint32_t id)
{
	CHECK_EQ(bpf_map__update_elem(dp.skel->maps.sl_backends, &id, sizeof(id), &dp.bes[id],
				      sizeof(dp.bes[id]), BPF_ANY),
		 0);
}

uint32_t dp_be_add(uint32_t svc, const char *addr, uint16_t port, uint8_t state)
{
	uint32_t id = dp.next_be++;

	CHECK(id < SLUICE_MAX_BACKENDS);
	memset(&dp.bes[id], 0, sizeof(dp.bes[id]));
	dp_addr(addr, &dp.bes[id].addr);
	dp.bes[id].port = htons(port);
	dp.bes[id].state = state;
	dp.bes[id].svc_id = svc;
	dp.bes[id].weight = 1;
	snprintf(dp.be_addr[id], sizeof(dp.be_addr[id]), "%s", addr);
	dp_be_write(id);
	return id;
}

uint32_t dp_svc_one(const char *vip, uint8_t proto, uint8_t mode, const char *addr, uint16_t port,
		    uint32_t *be)
{
	uint32_t svc = dp_svc_add(vip, proto, mode, SLUICE_HASH_5TUPLE, NULL);

	*be = dp_be_add(svc, addr, port, SLUICE_BE_ACTIVE);
	dp_table_publish(svc, be, 1);
	return svc;
}

void dp_be_state(uint32_t id, uint8_t state)
{
	dp.bes[id].state = state;
	dp_be_write(id);
}

const char *dp_be_text(uint32_t id)
{
	CHECK(id < SLUICE_MAX_BACKENDS && dp.be_addr[id][0]);
	return dp.be_addr[id];
}

void dp_table_publish(uint32_t table_id, const uint32_t *ids, int n)
{
	uint32_t *t = calloc(DP_TEST_M + 1, sizeof(*t));

	CHECK(t != NULL);
	CHECK_EQ(bt_table_build(dp.bes, ids, n, DP_TEST_M, t), 0);
	CHECK_EQ(publish_table(&dp.pin.maps, table_id, t), 0);
	free(dp.tables[table_id]);
	dp.tables[table_id] = t;
}

uint32_t dp_table_pick(uint32_t table_id, uint32_t hash)
{
	CHECK(dp.tables[table_id] != NULL);
	return dp.tables[table_id][sluice_maglev_slot(hash, DP_TEST_M)];
}

uint16_t dp_port_to(const char *client, const char *vip, uint32_t svc, uint8_t proto, uint32_t want,
		    uint16_t first)
{
	uint16_t p;

	for (p = first; p < first + 200; p++) {
		struct sluice_flow_key k = dp_key_of(client, vip, p, dp_svc_port(svc), proto);

		if (dp_table_pick(svc, sluice_flow_hash(&k, SLUICE_HASH_5TUPLE)) == want)
			return p;
	}
	dp_failf(__FILE__, __LINE__, "no port of 200 hashes to backend %u", want);
	return 0;
}

void dp_config_set(const char *src4, const char *src6, uint64_t udp_timeout_ns)
{
	struct sluice_config c = { 0 };
	uint32_t zero = 0;

	if (src4)
		dp_addr(src4, &c.encap_src4);
	if (src6)
		dp_addr(src6, &c.encap_src6);
	c.udp_timeout_ns = udp_timeout_ns;
	CHECK_EQ(bpf_map__update_elem(dp.skel->maps.sl_config, &zero, sizeof(zero), &c, sizeof(c),
				      BPF_ANY),
		 0);
}

void dp_brk_set(uint32_t be, uint32_t state, int32_t probes)
{
	CHECK_EQ(res_breaker_write(&dp.pin.maps, be, state, probes), 0);
}

struct sluice_breaker dp_brk_get(uint32_t be)
{
	struct sluice_breaker b;

	CHECK_EQ(bpf_map__lookup_elem(dp.skel->maps.sl_breakers, &be, sizeof(be), &b, sizeof(b), 0),
		 0);
	return b;
}

int64_t dp_conns(uint32_t idx)
{
	__s64 active = 0;

	CHECK_EQ(maps_read_conns(&dp.pin.maps, idx, &active), 0);
	return active;
}

struct sluice_counter dp_glb_ctr(uint32_t reason)
{
	struct sluice_counter all[SLUICE_R_MAX];

	CHECK(reason < SLUICE_R_MAX);
	CHECK_EQ(maps_read_global(&dp.pin.maps, all), 0);
	return all[reason];
}

struct sluice_counter dp_svc_ctr(uint32_t svc, uint32_t reason)
{
	struct sluice_counter all[SLUICE_R_MAX];

	CHECK(reason < SLUICE_R_MAX);
	CHECK_EQ(maps_read_svc_counters(&dp.pin.maps, svc, all), 0);
	return all[reason];
}

struct sluice_be_counter dp_be_ctr(uint32_t id)
{
	struct sluice_be_counter sum;

	CHECK_EQ(maps_read_be_counters(&dp.pin.maps, id, &sum), 0);
	return sum;
}

/* ---- flows --------------------------------------------------------------- */

struct sluice_flow_key dp_key_of(const char *src, const char *dst, uint16_t sport, uint16_t dport,
				 uint8_t proto)
{
	struct sluice_flow_key k;

	memset(&k, 0, sizeof(k));
	dp_addr(src, &k.src);
	dp_addr(dst, &k.dst);
	k.sport = htons(sport);
	k.dport = htons(dport);
	k.proto = proto;
	return k;
}

/* The value of flow key k in map (of vsize bytes): 0 or -errno. */
static int key_get(const struct bpf_map *map, const struct sluice_flow_key *k, void *v,
		   size_t vsize)
{
	if (bpf_map__lookup_elem(map, k, sizeof(*k), v, vsize, 0))
		return -errno;
	return 0;
}

int dp_flow_get(const struct sluice_flow_key *k, struct sluice_flow *f)
{
	return key_get(dp.skel->maps.sl_flows_v3, k, f, sizeof(*f));
}

int dp_nat_rev_get(const struct sluice_flow_key *k, struct sluice_nat_rev_ent *r)
{
	return key_get(dp.skel->maps.sl_nat_rev_v2, k, r, sizeof(*r));
}

void dp_local_addr(const char *addr, int on)
{
	struct sluice_local_addr v = { 1 };
	union sluice_addr k;

	dp_addr(addr, &k);
	if (on)
		CHECK_EQ(bpf_map__update_elem(dp.skel->maps.sl_local_addr, &k, sizeof(k), &v,
					      sizeof(v), BPF_ANY),
			 0);
	else
		CHECK_EQ(bpf_map__delete_elem(dp.skel->maps.sl_local_addr, &k, sizeof(k), 0), 0);
}

uint32_t dp_nh_gen(void)
{
	uint32_t zero = 0, gen = 0;

	CHECK_EQ(bpf_map__lookup_elem(dp.skel->maps.sl_nh_gen, &zero, sizeof(zero), &gen,
				      sizeof(gen), 0),
		 0);
	return gen;
}

void dp_nh_bump(void)
{
	CHECK_EQ(loader_nh_gen_bump(bpf_map__fd(dp.skel->maps.sl_nh_gen)), 0);
}

uint32_t dp_flow_be(const char *client, const char *vip, uint16_t sport, uint16_t port,
		    uint8_t proto)
{
	struct sluice_flow_key k = dp_key_of(client, vip, sport, port, proto);
	struct sluice_flow f;

	CHECK_EQ(dp_flow_get(&k, &f), 0);
	return f.backend_id;
}

int dp_syn_get(const struct sluice_flow_key *k, struct sluice_syn *s)
{
	return key_get(dp.skel->maps.sl_syn_v2, k, s, sizeof(*s));
}

uint32_t dp_conn_be(const char *client, const char *vip, uint16_t sport, uint16_t port,
		    uint8_t proto)
{
	struct sluice_flow_key k = dp_key_of(client, vip, sport, port, proto);
	struct sluice_flow f;
	struct sluice_syn s;

	if (!dp_flow_get(&k, &f))
		return f.backend_id;
	CHECK_EQ(dp_syn_get(&k, &s), 0);
	CHECK_EQ(s.tries > 0 && s.tries <= SLUICE_SYN_TRIED, 1);
	return s.tried[s.tries - 1];
}

/* ---- frames -------------------------------------------------------------- */

/*
 * A TC verdict as the XDP action it stands for: OK is PASS, SHOT is DROP.
 * REDIRECT is both XDP_TX (sluice_tc redirects to the device the frame came
 * in on) and XDP_REDIRECT; the frame tells them apart: one sent back out
 * of the device it came in on (a forward to a neighbour there, a RST)
 * leaves with that device's MAC as its source. Without a namespace
 * nothing is forwarded, so only XDP_TX can happen.
 */
static int tc_as_xdp(int verdict, int ifindex, const uint8_t *out, int olen)
{
	const uint8_t *mac = NULL;

	if (verdict == TC_ACT_OK)
		return XDP_PASS;
	if (verdict == TC_ACT_SHOT)
		return XDP_DROP;
	if (verdict != TC_ACT_REDIRECT)
		return -1; /* no verdict sluice_tc gives: fails any check */
	if (!dp.topo->netns)
		return XDP_TX;
	if (ifindex == dp.if_gw0)
		mac = dp.topo->mac_gw0;
	else if (ifindex == dp.if_gw1)
		mac = dp.topo->mac_gw1;
	return mac && olen >= 12 && !memcmp(out + 6, mac, 6) ? XDP_TX : XDP_REDIRECT;
}

/* dp_prog_try() of sluice_tc: the frame as an skb arriving on ifindex. */
static int tc_try(int prog_fd, const uint8_t *in, int len, int ifindex, int repeat, uint8_t *out,
		  int *olen, int *action)
{
	struct __sk_buff ctx;
	struct bpf_test_run_opts opts;

	memset(&ctx, 0, sizeof(ctx));
	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	opts.data_in = in;
	opts.data_size_in = len;
	opts.data_out = out;
	opts.data_size_out = DP_OUT_MAX;
	opts.repeat = repeat;
	if (ifindex > 1) { /* the skb's device, so a TX goes back out of it */
		ctx.ingress_ifindex = ifindex;
		ctx.ifindex = ifindex;
		opts.ctx_in = &ctx;
		opts.ctx_size_in = sizeof(ctx);
	}
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	*olen = (int)opts.data_size_out;
	*action = tc_as_xdp((int)opts.retval, ifindex, out, *olen);
	return 0;
}

int dp_prog_try(int prog_fd, const uint8_t *in, int len, int meta, int ifindex, int repeat,
		uint8_t *out, int *olen, int *action)
{
	uint8_t buf[DP_OUT_MAX] = { 0 };
	struct xdp_md ctx = { .data = meta, .data_end = meta + len, .ingress_ifindex = ifindex };
	struct bpf_test_run_opts opts;

	if (meta + len > (int)sizeof(buf))
		return -EINVAL;
	if (dp.tc_skel && prog_fd == bpf_program__fd(dp.tc_skel->progs.sluice_tc))
		return tc_try(prog_fd, in, len, ifindex, repeat, out, olen, action);
	/* By hand rather than LIBBPF_OPTS (which cppcheck cannot expand):
	 * libbpf wants every byte past the known fields, padding too, zero. */
	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	memcpy(buf + meta, in, len);
	opts.data_in = buf;
	opts.data_size_in = meta + len;
	opts.data_out = out;
	opts.data_size_out = DP_OUT_MAX;
	opts.repeat = repeat;
	if (meta || ifindex) {
		opts.ctx_in = &ctx;
		opts.ctx_size_in = sizeof(ctx);
	}
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	*olen = (int)opts.data_size_out;
	*action = (int)opts.retval;
	return 0;
}

int dp_prog_run(int prog_fd, const uint8_t *in, int len, int ifindex, uint8_t *out, int *olen)
{
	int action = -1;

	CHECK_EQ(dp_prog_try(prog_fd, in, len, 0, ifindex, 1, out, olen, &action), 0);
	return action;
}

int dp_prog_fd(void)
{
	if (dp.hook == DP_HOOK_TC)
		return bpf_program__fd(dp.tc_skel->progs.sluice_tc);
	return bpf_program__fd(dp.skel->progs.sluice_xdp);
}

int dp_run(const uint8_t *in, int len, int ifindex, uint8_t *out, int *olen)
{
	return dp_prog_run(dp_prog_fd(), in, len, ifindex, out, olen);
}

int dp_build(const struct pkt_spec *s, uint8_t *buf, struct pkt_layout *lay)
{
	int len = pkt_build(s, buf, PKT_BUF_MAX, lay);

	CHECK(len > 0);
	return len;
}

void dp_send_expect(const struct pkt_spec *s, int ifindex, int action, uint32_t reason,
		    uint32_t svc, uint8_t *out, int *olen)
{
	uint8_t in[PKT_BUF_MAX];
	int len = dp_build(s, in, NULL);
	struct sluice_counter g0 = dp_glb_ctr(reason), s0 = { 0 }, g1, s1 = { 0 };

	if (svc != DP_NO_SVC)
		s0 = dp_svc_ctr(svc, reason);
	CHECK_EQ(dp_run(in, len, ifindex, out, olen), action);
	g1 = dp_glb_ctr(reason);
	if (svc != DP_NO_SVC)
		s1 = dp_svc_ctr(svc, reason);
	CHECK_EQ(g1.packets - g0.packets, 1);
	CHECK_EQ(g1.bytes - g0.bytes, len);
	if (svc != DP_NO_SVC) {
		CHECK_EQ(s1.packets - s0.packets, 1);
		CHECK_EQ(s1.bytes - s0.bytes, len);
	}
}

struct pkt_spec dp_client_seg(const char *client, const char *vip, uint8_t proto, uint16_t sport,
			      uint16_t port, uint8_t flags)
{
	struct pkt_spec s = { .src = client,
			      .dst = vip,
			      .proto = proto,
			      .sport = sport,
			      .dport = port,
			      .tcp_flags = flags };

	const struct dp_topo *t = dp.topo;
	size_t i;

	memcpy(s.dmac, t->mac_gw0, 6);
	CHECK(t->n_clients > 0);
	memcpy(s.smac, t->clients[0].mac, 6);
	for (i = 0; i < t->n_clients; i++)
		if (!strcmp(t->clients[i].addr, client))
			memcpy(s.smac, t->clients[i].mac, 6);
	return s;
}

struct pkt_spec dp_backend_seg(uint32_t be, const char *client, uint8_t proto, uint16_t cport,
			       uint8_t flags)
{
	struct pkt_spec s = { .src = dp_be_text(be),
			      .dst = client,
			      .proto = proto,
			      .sport = ntohs(dp.bes[be].port),
			      .dport = cport,
			      .tcp_flags = flags };

	memcpy(s.dmac, dp.topo->mac_gw1, 6);
	memcpy(s.smac, dp_mac_of(s.src), 6);
	return s;
}

void dp_rst_expect(const struct pkt_spec *seg, uint32_t svc, uint32_t reason)
{
	uint8_t out[DP_OUT_MAX], ex[PKT_BUF_MAX];
	struct pkt_spec r = { 0 };
	struct pkt_layout lay;
	uint32_t seq = seg->tcp_raw ? seg->seq : SEQ_DEFAULT;
	uint32_t ack = seg->tcp_raw ? seg->ack : ACK_DEFAULT;
	int olen, exlen;

	/* The answer: every address and port swapped, the tags kept, no options. */
	memcpy(r.dmac, seg->smac, 6);
	memcpy(r.smac, seg->dmac, 6);
	r.n_vlan = seg->n_vlan;
	memcpy(r.vlan, seg->vlan, sizeof(r.vlan));
	r.src = seg->dst;
	r.dst = seg->src;
	r.proto = IPPROTO_TCP;
	r.sport = seg->dport;
	r.dport = seg->sport;
	r.tcp_raw = 1;
	if (seg->tcp_flags & PKT_TCP_ACK) {
		r.tcp_flags = PKT_TCP_RST;
		r.seq = ack;
		r.ack = 0;
	} else {
		r.tcp_flags = PKT_TCP_RST | PKT_TCP_ACK;
		r.seq = 0;
		r.ack = seq + seg->payload + !!(seg->tcp_flags & PKT_TCP_SYN) +
			!!(seg->tcp_flags & PKT_TCP_FIN);
	}
	r.window = 0;
	r.ip_id_raw = 1;
	r.ip_id = 0;
	r.frag = PKT_IP_DF;
	r.ttl = 64;
	exlen = dp_build(&r, ex, &lay);
	dp_send_expect(seg, dp.if_gw0, XDP_TX, reason, svc, out, &olen);
	CHECK_EQ(olen, exlen);
	CHECK_MEM(out, ex, exlen);
	/* And the checksums, recomputed from scratch over what came out. */
	CHECK_EQ(pkt_check_csums(out, olen), 0);
	CHECK_EQ(out[lay.l4 + 13], r.tcp_flags);
}
