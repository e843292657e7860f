/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dpfix: the fixture the data-plane suites (tests/bpf) share. It loads
 * sluice_xdp with every map created by the loader under a private pin root
 * (the pins are removed at once: the fds keep the maps, so nothing can be
 * left behind), opens them for the library (dp.maps), and can move the
 * process into a network namespace whose topology each suite passes in as
 * data (struct dp_topo: the MACs of gw0/gw1, the clients and backends with
 * their permanent neighbours, extra routes). Then: services, backends and
 * Maglev tables with a mirror of what was written, counters, flows, and
 * frames sent through BPF_PROG_TEST_RUN with the verdict and counters
 * checked.
 *
 * Checks fail through dp.fail (the suite passes dp_fail_cmocka, below), so
 * this file needs no cmocka: the benchmark links every tests/lib object.
 */
#ifndef SLUICE_DPFIX_H
#define SLUICE_DPFIX_H

#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <bpf/libbpf.h>

#include "sluice_abi.h"
#include "maps.h"
#include "pinroot.h"
#include "pktbuild.h"

struct sluice_bpf;
struct tc_bpf;

/* The entry a suite runs its frames through (same maps, same pipeline). */
enum dp_hook {
	DP_HOOK_XDP = 0, /* sluice_xdp */
	DP_HOOK_TC,	 /* sluice_tc (bpf/tc.bpf.c), frames as an __sk_buff */
};

#define DP_OUT_MAX (PKT_BUF_MAX + 128) /* a frame out: room for an outer header */
#define DP_TEST_M 251		       /* Maglev table size of the tests: a small prime */
#define DP_NO_SVC 0		       /* a verdict counted globally only (ids start at 1) */

/* A host the gateway has a permanent neighbour entry for. */
struct dp_host {
	const char *addr; /* "10.1.0.2", "2001:db8:b::2" */
	uint8_t mac[6];
};

/*
 * What a suite runs against. With netns, the process moves into a
 * namespace of its own with gw0 (peer cl0: 192.0.2.1/24, 2001:db8:c::1/64,
 * the clients) and gw1 (peer be1: 10.1.0.1/24, 2001:db8:b::1/64, the
 * backends), forwarding on, so that bpf_fib_lookup finds routes and
 * neighbours and forwarding ends in a redirect.
 */
struct dp_topo {
	int netns;		       /* 0: no namespace (nothing is forwarded) */
	uint8_t mac_gw0[6];	       /* gw0's address */
	uint8_t mac_gw1[6];	       /* gw1's address */
	const struct dp_host *clients; /* neighbours on gw0 */
	size_t n_clients;
	const struct dp_host *backends; /* neighbours on gw1 (routers too) */
	size_t n_backends;
	const char *const *cmds; /* more `ip` commands (routes), NULL-terminated; may be NULL */
	const char *encap4;	 /* sl_config's encapsulation sources; NULL: unset */
	const char *encap6;
	uint16_t svc_port_base; /* the service of id N listens on base + N */
};

/*
 * The topology test_leader and test_resilience share: gw0 02:00:00:00:00:10,
 * gw1 02:00:00:00:01:10; the clients 192.0.2.10 and 2001:db8:c::10 behind
 * one MAC 02:c1:00:00:04:10; backends 10.1.0.2-5 and 2001:db8:b::2-5 with
 * MACs 02:be:00:00:00:02-09 in that order; encapsulation from 10.1.0.1 and
 * 2001:db8:b::1; service N on port 2000 + N.
 */
extern const struct dp_topo dp_topo_std;

typedef void (*dp_fail_fn)(const char *file, int line, const char *msg);

struct dp {
	struct sluice_bpf *skel; /* NULL: not ready, every test skips */
	/*
	 * Set before the group setup: DP_HOOK_TC also loads sluice_tc on the
	 * same maps and dp_run() / dp_prog_fd() use it (SLUICE_TEST_HOOK=tc
	 * in the environment does the same for any suite).
	 */
	enum dp_hook hook;
	struct tc_bpf *tc_skel;
	struct pinroot pin; /* dp.pin.maps: the same maps, for the library */
	const struct dp_topo *topo;
	dp_fail_fn fail;
	int ncpus;
	int if_gw0, if_gw1;
	const char *skip_reason;
	char skip_buf[256];
	/*
	 * 1: BPF works here but sluice.bpf.o (or tc.bpf.o) did not load (the
	 * verifier refused it, E2BIG): every test fails, none skips.
	 */
	int load_failed;
	struct sluice_backend bes[SLUICE_MAX_BACKENDS];	     /* mirror of sl_backends */
	char be_addr[SLUICE_MAX_BACKENDS][INET6_ADDRSTRLEN]; /* each backend's address */
	uint32_t *tables[SLUICE_MAX_TABLES];		     /* last table published per id */
	uint32_t next_svc, next_be;			     /* ids handed out, from 1 */
	struct ring_buffer *events; /* sl_events, when set up with dp_setup_events() */
	ring_buffer_sample_fn
		on_event; /* dp_group_setup(): the events reader's callback, or NULL */
};

extern struct dp dp;

/*
 * Group setup: libbpf quiet, root, the maps under a private pin root, the
 * namespace of topo, sluice_xdp loaded on those maps, the encapsulation
 * sources. 0 when ready; -1 after printing "SKIPPED: why" (dp.skel NULL).
 */
int dp_setup(const struct dp_topo *topo, dp_fail_fn fail);

/*
 * dp_setup(), then a reader of the sl_events ring buffer into dp.events
 * that hands each record to fn (the suites that check passive signals).
 */
int dp_setup_events(const struct dp_topo *topo, dp_fail_fn fail, ring_buffer_sample_fn fn);

/* Group teardown: everything dp_setup made (the namespace goes with the process). */
void dp_teardown(void);

/*
 * The same as cmocka group fixtures (their signature; no cmocka here):
 * dp_setup() on dp.topo and dp.fail, or dp_setup_events() when dp.on_event
 * is set; dp_teardown(). DP_RUN_GROUP sets those fields.
 */
int dp_group_setup(void **state);
int dp_group_teardown(void **state);

/* Fail the running test with a message (through dp.fail). */
void dp_failf(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

/* ---- maps ---------------------------------------------------------------- */

/* addr as the maps hold it (IPv4 v4-mapped); fails the test when it is no address. */
void dp_addr(const char *s, union sluice_addr *a);

/* The MAC of a client or backend of the topology; fails the test when there is none. */
const uint8_t *dp_mac_of(const char *addr);

/* The port of service id: topo->svc_port_base + id. */
uint16_t dp_svc_port(uint32_t id);

/* Write one sl_services key (port in host order). */
void dp_svc_put(const char *addr, uint16_t port, uint8_t proto, const struct sluice_svc *val);

/* Write sl_svc_res[id] (res NULL: zero, no limits). */
void dp_res_set(uint32_t id, const struct sluice_svc_res *res);

/*
 * A service of the next id at addr, port dp_svc_port(id), with mode, hash
 * and resilience settings res (NULL: none). Returns its id.
 */
uint32_t dp_svc_add(const char *addr, uint8_t proto, uint8_t mode, uint8_t hash,
		    const struct sluice_svc_res *res);

/* A backend of svc at addr:port (host order; ipip: 0), in state. Returns its id. */
uint32_t dp_be_add(uint32_t svc, const char *addr, uint16_t port, uint8_t state);

/*
 * A service as dp_svc_add(vip, proto, mode, 5-tuple hash, no settings) with
 * one active backend at addr:port, its table published: the service's id,
 * the backend's in *be.
 */
uint32_t dp_svc_one(const char *vip, uint8_t proto, uint8_t mode, const char *addr, uint16_t port,
		    uint32_t *be);

/* Write the mirror dp.bes[id] to sl_backends (after a test changed it). */
void dp_be_write(uint32_t id);

/* Change a backend's state. */
void dp_be_state(uint32_t id, uint8_t state);

/* The address backend id was given, as text. */
const char *dp_be_text(uint32_t id);

/* Build the table of backends ids[0..n) (equal weights, size DP_TEST_M) and publish it. */
void dp_table_publish(uint32_t table_id, const uint32_t *ids, int n);

/* The backend the last table published as table_id gives a flow of hash. */
uint32_t dp_table_pick(uint32_t table_id, uint32_t hash);

/*
 * The first of the 200 client ports from first whose flow client -> vip
 * (svc's port, proto; 5-tuple hash) svc's table sends to backend want.
 */
uint16_t dp_port_to(const char *client, const char *vip, uint32_t svc, uint8_t proto, uint32_t want,
		    uint16_t first);

/* sl_config: the encapsulation sources (NULL: unset) and the UDP idle timeout (0: default). */
void dp_config_set(const char *src4, const char *src6, uint64_t udp_timeout_ns);

/* Backend be's breaker: state and half-open probe budget. */
void dp_brk_set(uint32_t be, uint32_t state, int32_t probes);

/* Backend be's breaker as sl_breakers holds it. */
struct sluice_breaker dp_brk_get(uint32_t be);

/* Connections in use of sl_conns slot idx (a service id or SLUICE_CONNS_GLOBAL). */
int64_t dp_conns(uint32_t idx);

/* Counters summed over the CPUs: global, of a service, of a backend. */
struct sluice_counter dp_glb_ctr(uint32_t reason);
struct sluice_counter dp_svc_ctr(uint32_t svc, uint32_t reason);
struct sluice_be_counter dp_be_ctr(uint32_t id);

/* ---- flows --------------------------------------------------------------- */

/* The flow key of src:sport -> dst:dport (host order). */
struct sluice_flow_key dp_key_of(const char *src, const char *dst, uint16_t sport, uint16_t dport,
				 uint8_t proto);

/* The flow of k: 0, or -errno (-ENOENT: none). */
int dp_flow_get(const struct sluice_flow_key *k, struct sluice_flow *f);

/* The backend of flow client:sport -> vip:port, which must exist. */
uint32_t dp_flow_be(const char *client, const char *vip, uint16_t sport, uint16_t port,
		    uint8_t proto);

/* key's sl_nat_rev entry (backend -> client): 0, or -errno. */
int dp_nat_rev_get(const struct sluice_flow_key *k, struct sluice_nat_rev_ent *r);

/* addr one of this host's addresses (on: as the loader writes them) or no longer. */
void dp_local_addr(const char *addr, int on);

/* sl_nh_gen now, and a bump of it (every cached next hop stale, as sluiced does). */
uint32_t dp_nh_gen(void);
void dp_nh_bump(void);

/* The pending handshake (flow.h: a TCP connection has no flow before its ACK) of key k: 0 or -errno. */
int dp_syn_get(const struct sluice_flow_key *k, struct sluice_syn *s);

/* Where a TCP connection is: its flow's backend, else its pending handshake's (asserted to exist). */
uint32_t dp_conn_be(const char *client, const char *vip, uint16_t sport, uint16_t port,
		    uint8_t proto);

/* ---- frames -------------------------------------------------------------- */

/*
 * Run prog_fd over a frame of len bytes `repeat` times, behind meta bytes
 * of XDP metadata (0: none), arriving on ifindex (0: unset). 0 with
 * *action and the frame out in out (DP_OUT_MAX bytes; metadata included)
 * of *olen bytes, or -errno when the kernel refuses the input. For
 * sluice_tc, the frame is an skb's (no metadata) and *action its TC
 * verdict read back as the XDP action it stands for (see dpfix.c).
 */
int dp_prog_try(int prog_fd, const uint8_t *in, int len, int meta, int ifindex, int repeat,
		uint8_t *out, int *olen, int *action);

/* The same once, without metadata, failing the test when the kernel refuses: the action. */
int dp_prog_run(int prog_fd, const uint8_t *in, int len, int ifindex, uint8_t *out, int *olen);

/* The program under test: sluice_xdp, or sluice_tc with dp.hook DP_HOOK_TC. */
int dp_prog_fd(void);

/* dp_prog_run() of dp_prog_fd(). */
int dp_run(const uint8_t *in, int len, int ifindex, uint8_t *out, int *olen);

/* pkt_build() into buf (PKT_BUF_MAX), failing the test when it cannot: the length. */
int dp_build(const struct pkt_spec *s, uint8_t *buf, struct pkt_layout *lay);

/*
 * Send s in on ifindex; expect action, and reason counted once (with the
 * frame's bytes) globally and for svc (DP_NO_SVC: globally only). The
 * frame out in out (DP_OUT_MAX) / *olen.
 */
void dp_send_expect(const struct pkt_spec *s, int ifindex, int action, uint32_t reason,
		    uint32_t svc, uint8_t *out, int *olen);

/*
 * A client segment client:sport -> vip:port arriving on gw0 (payload 0),
 * from the client's MAC; a client the topology does not list comes from
 * the first one's (as from behind a router).
 */
struct pkt_spec dp_client_seg(const char *client, const char *vip, uint8_t proto, uint16_t sport,
			      uint16_t port, uint8_t flags);

/* A return segment from backend be (its port) to client:cport arriving on gw1 (payload 0). */
struct pkt_spec dp_backend_seg(uint32_t be, const char *client, uint8_t proto, uint16_t cport,
			       uint8_t flags);

/*
 * The segment seg is answered with a RST (XDP_TX) for reason, counted once
 * for svc and globally: checked byte for byte against one built from
 * scratch. RFC 9293 3.10.7.1: a segment with ACK gets <SEQ=its
 * ack><CTL=RST>; one without gets <SEQ=0><ACK=its seq + length><CTL=RST,ACK>.
 */
void dp_rst_expect(const struct pkt_spec *seg, uint32_t svc, uint32_t reason);

/* ---- cmocka -------------------------------------------------------------- */

#ifdef cmocka_unit_test /* cmocka.h came first: the suite's side */
/* Report a failed check through cmocka, at the check's file and line. */
static inline void dp_fail_cmocka(const char *file, int line, const char *msg)
{
	print_error("%s\n", msg);
	_fail(file, line);
}

/* First line of a test that needs the data plane. */
#define DP_SKIP_UNLESS_READY()                                       \
	do {                                                         \
		if (!dp.skel && dp.load_failed)                      \
			fail_msg("the data plane: %s", dp.skip_buf); \
		if (!dp.skel)                                        \
			skip();                                      \
	} while (0)

/*
 * A test that runs one case with its arguments when the data plane is
 * ready: DP_TEST(test_x_v4, x_case(VIP4, NAT)); (the ';' ends the
 * _Static_assert, so the line reads as a declaration to cppcheck too).
 */
#define DP_TEST(name, call)             \
	static void name(void **state)  \
	{                               \
		(void)state;            \
		DP_SKIP_UNLESS_READY(); \
		call;                   \
	}                               \
	_Static_assert(1, #name)

/*
 * Run tests as the cmocka group name against topo, with the sl_events
 * reader handing each record to on_event (NULL: no reader), torn down after.
 */
#define DP_RUN_GROUP(name, tests, topo_, on_event_)                              \
	(dp.topo = (topo_), dp.fail = dp_fail_cmocka, dp.on_event = (on_event_), \
	 cmocka_run_group_tests_name(name, tests, dp_group_setup, dp_group_teardown))
#endif

#endif /* SLUICE_DPFIX_H */
