// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice-bench: per-packet cost of each sluice_xdp path against the floor
 * (floor_xdp: the same parse, then XDP_PASS), and of the forwarding paths
 * against the forwarding floor too (floor_redirect: parse, bpf_fib_lookup,
 * MACs, redirect), measured side by side in one run through
 * BPF_PROG_TEST_RUN; plus the Maglev table build time. The programs are
 * loaded from their skeletons without pinning, so the maps are private to
 * this process and nothing attached or pinned is touched.
 *
 * Forwarding needs routes and neighbours: the bench moves itself into a
 * network namespace of its own (unshare) with two veth pairs, gw0 (where
 * frames arrive, ctx_in.ingress_ifindex) and gw1 (towards the backends,
 * permanent neighbour entries), so bpf_fib_lookup succeeds and the
 * forwarding paths end in XDP_REDIRECT as on a real gateway.
 *
 * Method: each path is a 64-byte frame (IPv4, TTL 255) run `repeat` times
 * per run, in test runs of SLICE repetitions each; the kernel reports the
 * mean time per repetition of a test run, with its clock paused whenever
 * the run yields the CPU, so other load on the machine does not leak into
 * it (whole ns, truncated: about -0.5 ns on every path alike). A run's
 * figure is the mean over its test runs; the wall time / repetition is
 * printed beside it as a check. Why slices: a test run does not restore
 * the frame between repetitions, and a nat rewrite decrements the TTL, so
 * after at most 254 repetitions a frame would stop being the path it
 * measures. Each slice starts from the original frame again.
 *
 * nat paths ping-pong: service A (VIP:80) has backend B (10.1.0.2:8080),
 * and B:8080 is itself a nat service whose backend is VIP:80, so the frame
 * rewritten by one repetition is the next repetition's packet of the other
 * service, and every repetition is the same path (established: both flows
 * exist after the warm-up). new-flow: the same with UDP services and
 * sl_config.udp_timeout_ns = 1 ns, so every repetition finds its flow idle
 * and steers it anew (shard lookup, hash, Maglev table, the flow written,
 * new_flows): a new flow's work plus one flow and one backend lookup that a
 * true first packet would not pay (so a slight overestimate), and the
 * precise clock its 1 ns idle timeout needs (a timeout of a second or more,
 * the default 30 s, reads the coarse one). sl_be_rev is published from the
 * services as sluiced publishes it, so a new flow inserts no sl_nat_rev
 * entry (--stateful-rev: none published, every flow inserts one, as for a
 * backend two services share). nat_rev is the return path of the same
 * pair: the backend's reply (BENCH_BACKEND:8080 -> client:40000) is
 * translated back to VIP:80 (from sl_be_rev after the sl_nat_rev miss;
 * --stateful-rev: from the flow's sl_nat_rev entry), which is itself the
 * return translation of the pair's other flow, so it ping-pongs too (both
 * out of gw0 towards the client: XDP_TX).
 * not_svc_port is a packet to a port no service has: with the port bitmaps
 * on (sl_ports_v2, filled as userspace fills them; --ports-off leaves them
 * off) it takes neither hash lookup.
 * nat_new_res is nat_new with the resilience checks active: each re-steer
 * gives back the old flow's bulkhead slot and takes a new one (atomics on
 * sl_conns), reads the service's limits and a closed breaker.
 * nat_est_trace is nat_est with sluice trace on, every packet traced (a
 * record sent at the exit; the ring is emptied between test runs, outside
 * the kernel's clock); nat_est_trace_pcap the same with --pcap (the
 * frame's first 128 bytes copied at the entry too); nat_est_trace_miss
 * with trace on but a service filter no packet matches (no record). Every
 * other path runs with trace off: their cost includes its one lookup.
 *
 * Paths are measured round-robin (floor, path 1, path 2, ..., floor, ...)
 * `runs` times so drift hits all of them alike; each reports the median of
 * its runs and the ratio of its kernel median to the floor's (and, for the
 * forwarding paths, to the forwarding floor's). The figures include the
 * test-run loop (the same for every path). Benchmarks never fail: the exit
 * status is 0 whatever the numbers, non-zero only when nothing could be
 * measured.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <sys/utsname.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "sluice_abi.h"
#include "rate.h"
#include "maglev.h"
#include "loader.h"
#include "maps.h"
#include "ports.h"
#include "berev.h"
#include "floor.skel.h"
#include "redirect_floor.skel.h"
#include "sluice.skel.h"
#include "tc.skel.h"
#include "pktbuild.h"
#include "bpftest.h"

#define BENCH_RUNS_MAX 99
#define SLICE 200	/* repetitions per test run (see the method above) */
#define MAGLEV_BUILDS 9 /* Maglev builds timed; the median is reported */
#define MAGLEV_N 1000	/* backends */
#define BENCH_M 251	/* Maglev size of the bench services' tables */
#define BENCH_BACKEND "10.1.0.2"
#define BENCH_BACKEND2 "10.1.0.3"
#define BENCH_CLIENT "192.0.2.10"

/*
 * Issue 11's rows, one call per packet (syn_bench): the first SYN of a new
 * nat flow with failover's SYN state kept (SYN_SVC) and without it
 * (SYN_SVC_NOFO), and the held-back RST. SYN_CALLS per path stays below
 * sl_syn_v2's 16384 entries, so no call pays an LRU eviction.
 */
#define SYN_CALLS 8000
#define SYN_SVC 26	/* failover at its defaults: backends 26, 27 */
#define SYN_SVC_NOFO 28 /* retries off: backends 28, 29 */
#define SYN_VIP "10.0.0.23"
#define SYN_VIP_NOFO "10.0.0.24"
#define SYN_BPORT 8090
#define SYN_ISN 0x11223344u
#define SYN_OPT_LEN 20
#define SYN_DRAIN_EVERY 64 /* calls between two reads of the event ring */

enum bench_prog { PROG_FLOOR, PROG_SLUICE, PROG_FWD_FLOOR, PROG_TC };

enum bench_skip { SKIP_NO, SKIP_NO_NS, SKIP_ONLY }; /* why a path is not measured */

/* sluice trace during a path: off, on for every packet, on with a filter none matches. */
enum bench_trace { TRACE_OFF, TRACE_ALL, TRACE_ALL_PCAP, TRACE_MISS };

struct bench_path {
	const char *name;
	const char *what;     /* one line: what the path does */
	enum bench_prog prog; /* which program runs it */
	const char *dst;      /* destination of the frame: selects the service */
	int action;	/* XDP action (TC action for PROG_TC) every repetition should return */
	uint8_t proto;	/* IPPROTO_TCP unless set */
	uint16_t dport; /* 80 unless set */
	int reply;	/* from the nat_est backend (BENCH_BACKEND:8080) to the client */
	int fwd;	/* a forwarding path: needs the namespace, has a fwd ratio */
	enum bench_trace trace;
	int skipped; /* not measured: SKIP_NO_NS, SKIP_ONLY */
	uint8_t frame[PKT_BUF_MAX];
	int len;
	double ns[BENCH_RUNS_MAX];  /* wall time / repeat, per run */
	double kns[BENCH_RUNS_MAX]; /* the kernel's mean per repetition, per run */
	double median;
	double kmedian;
	int wrong_action; /* set when a run returned another action */
};

#define PATH(n, w, f, d, a) .name = (n), .what = (w), .prog = (f), .dst = (d), .action = (a)

static struct bench_path paths[] = {
	{ PATH("floor", "floor_xdp: parse eth/IPv4/TCP, XDP_PASS", PROG_FLOOR, "10.0.0.1",
	       XDP_PASS) },
	{ PATH("not_service", "sluice_xdp: IP packet matching no service", PROG_SLUICE, "10.0.0.9",
	       XDP_PASS) },
	{ PATH("not_svc_port",
	       "sluice_xdp: IP packet to a port no service has (sl_ports: no hash lookup)",
	       PROG_SLUICE, "10.0.0.9", XDP_PASS),
	  .dport = 22 },
	{ PATH("admitted", "sluice_xdp: service hit, no rate limit", PROG_SLUICE, "10.0.0.1",
	       XDP_PASS) },
	{ PATH("admitted_rl", "sluice_xdp: service + client buckets, rate never reached",
	       PROG_SLUICE, "10.0.0.2", XDP_PASS) },
	{ PATH("drop_rl", "sluice_xdp: service bucket empty (1 pps), dropped", PROG_SLUICE,
	       "10.0.0.3", XDP_DROP) },
	{ PATH("fwd_floor", "floor_redirect: parse, fib lookup, MACs, redirect (no maps)",
	       PROG_FWD_FLOOR, BENCH_BACKEND, XDP_REDIRECT),
	  .fwd = 1 },
	{ PATH("nat_est", "sluice_xdp: nat IPv4 TCP, established flow, DNAT + fib + redirect",
	       PROG_SLUICE, "10.0.0.20", XDP_REDIRECT),
	  .fwd = 1 },
	{ PATH("nat_rev",
	       "sluice_xdp: nat IPv4 TCP, a backend's reply on an established flow: return "
	       "lookup, SNAT + fib + XDP_TX",
	       PROG_SLUICE, BENCH_CLIENT, XDP_TX),
	  .fwd = 1, .reply = 1 },
	{ PATH("nat_new", "sluice_xdp: nat IPv4 UDP, new flow every packet (udp timeout 1 ns)",
	       PROG_SLUICE, "10.0.0.21", XDP_REDIRECT),
	  .proto = IPPROTO_UDP, .fwd = 1 },
	{ PATH("nat_est_trace", "sluice_xdp: nat_est with sluice trace on, every packet traced",
	       PROG_SLUICE, "10.0.0.20", XDP_REDIRECT),
	  .fwd = 1, .trace = TRACE_ALL },
	{ PATH("nat_est_trace_pcap",
	       "sluice_xdp: nat_est_trace with --pcap (128 B of each frame copied)", PROG_SLUICE,
	       "10.0.0.20", XDP_REDIRECT),
	  .fwd = 1, .trace = TRACE_ALL_PCAP },
	{ PATH("nat_est_trace_miss",
	       "sluice_xdp: nat_est with sluice trace on, a service filter nothing matches",
	       PROG_SLUICE, "10.0.0.20", XDP_REDIRECT),
	  .fwd = 1, .trace = TRACE_MISS },
	/* The TC ingress entry (bpf/tc.bpf.c) on the same maps and frames as the XDP rows above. */
	{ PATH("tc_not_service", "sluice_tc: not_service at TC ingress (an skb, pulled linear)",
	       PROG_TC, "10.0.0.9", TC_ACT_OK) },
	{ PATH("tc_nat_est", "sluice_tc: nat_est at TC ingress (DNAT + fib + bpf_redirect)",
	       PROG_TC, "10.0.0.20", TC_ACT_REDIRECT),
	  .fwd = 1 },
	{ PATH("nat_new_res",
	       "sluice_xdp: nat_new with a bulkhead (limit 1e6, 10 reserved, critical list) "
	       "and a closed breaker",
	       PROG_SLUICE, "10.0.0.22", XDP_REDIRECT),
	  .proto = IPPROTO_UDP, .fwd = 1 },
};

#define N_PATHS (sizeof(paths) / sizeof(paths[0]))

static int verbose;
static int ports_off;	 /* --ports-off */
static int stateful_rev; /* --stateful-rev */
static int if_gw0, if_gw1;
static struct ring_buffer *trace_ring; /* sl_trace, emptied between test runs */
static double maglev_ms[MAGLEV_BUILDS], maglev_median_ms = -1;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && verbose < 2)
		return 0;
	if (!verbose && level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int add_service_mode(struct sluice_bpf *skel, const char *addr, uint16_t port, uint8_t proto,
			    uint8_t mode, uint32_t id, struct sluice_rate rate,
			    struct sluice_rate client)
{
	struct sluice_svc val = { 0 };

	val.id = id;
	val.mode = mode;
	val.rate = rate;
	val.client_rate = client;
	return bt_svc_put(skel->maps.sl_services, skel->maps.sl_svc_byid, addr, port, proto, &val);
}

static int add_service(struct sluice_bpf *skel, const char *addr, uint32_t id,
		       struct sluice_rate rate, struct sluice_rate client)
{
	return add_service_mode(skel, addr, 80, IPPROTO_TCP, SLUICE_MODE_LOCAL, id, rate, client);
}

/*
 * nat service id at addr:port/proto over n backends baddr[k]:bport (ids
 * id .. id + n - 1: the caller keeps them clear of other services'):
 * backend records and a Maglev table of BENCH_M slots taking them in turn.
 */
static int add_nat_n(struct sluice_bpf *skel, uint32_t id, const char *addr, uint16_t port,
		     uint8_t proto, const char *const *baddr, uint32_t n, uint16_t bport)
{
	uint32_t table[BENCH_M + 1], k, bid;
	int err;

	err = add_service_mode(skel, addr, port, proto, SLUICE_MODE_NAT, id, bt_rate_of(0, 0),
			       bt_rate_of(0, 0));
	if (err)
		return err;
	for (k = 0; k < n; k++) {
		struct sluice_backend be = { 0 };

		if (bt_addr_parse(baddr[k], &be.addr))
			return -EINVAL;
		be.port = htons(bport);
		be.state = SLUICE_BE_ACTIVE;
		be.svc_id = id;
		be.weight = 1;
		bid = id + k;
		if (bpf_map__update_elem(skel->maps.sl_backends, &bid, sizeof(bid), &be, sizeof(be),
					 BPF_ANY))
			return -errno;
	}
	for (k = 0; k <= BENCH_M; k++)
		table[k] = k ? id + (k - 1) % n : BENCH_M;
	return bt_maglev_publish(skel->maps.sl_maglev, id, table, BENCH_M + 1, "sl_mg_bench");
}

/* nat service id whose one backend (id = service id) is baddr:bport. */
static int add_nat(struct sluice_bpf *skel, uint32_t id, const char *addr, uint16_t port,
		   uint8_t proto, const char *baddr, uint16_t bport)
{
	return add_nat_n(skel, id, addr, port, proto, &baddr, 1, bport);
}

/*
 * What a control plane derives from the services and backends, on the
 * skeleton's private maps: the port bitmaps (ports.c; not with --ports-off)
 * and the stateless return path sl_be_rev with the backends' flag
 * (berev.c; not with --stateful-rev), so a new nat flow skips its
 * sl_nat_rev insert and a reply is translated from sl_be_rev, as under
 * sluiced.
 */
static int bench_derived(struct sluice_bpf *skel, int ports, int be_rev)
{
	struct berev_entry *v = NULL;
	struct sluice_maps m;
	size_t kept, nconflicts;
	int err;

	maps_init(&m);
	m.services = bpf_map__fd(skel->maps.sl_services);
	m.backends = bpf_map__fd(skel->maps.sl_backends);
	m.ports = bpf_map__fd(skel->maps.sl_ports_v2);
	m.be_rev = bpf_map__fd(skel->maps.sl_be_rev);
	err = ports ? ports_ready(&m) : 0;
	if (!err && be_rev)
		err = berev_build(&m, NULL, &v, &kept, NULL, &nconflicts);
	if (!err && be_rev)
		err = berev_sync(&m, v, kept);
	free(v);
	return err;
}

static int sh(const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = bt_vsh(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rc && verbose)
		fprintf(stderr, "sluice-bench: %s\n", msg);
	return rc;
}

/*
 * A network namespace of our own: frames arrive on gw0 (client side);
 * backends and the ping-pong VIPs sit behind gw1 with permanent neighbours.
 */
static int netns_setup(void)
{
	char msg[256];
	int err;

	err = bt_netns_enter(NULL, NULL, msg, sizeof(msg));
	if (err == -EIO && verbose)
		fprintf(stderr, "sluice-bench: %s\n", msg);
	if (err)
		return err;
	if (sh("ip route add 10.0.0.0/24 dev gw1") ||
	    sh("ip neigh add 10.1.0.2 lladdr 02:be:00:00:00:02 dev gw1 nud permanent") ||
	    sh("ip neigh add " BENCH_BACKEND2 " lladdr 02:be:00:00:00:03 dev gw1 nud permanent") ||
	    sh("ip neigh add " BENCH_CLIENT " lladdr 02:c1:00:00:00:10 dev gw0 nud permanent") ||
	    sh("for i in 20 21 22 23 24; do ip neigh add 10.0.0.$i lladdr 02:be:00:00:00:$i "
	       "dev gw1 nud permanent || exit 1; done") ||
	    sh("sysctl -qw net.ipv4.ip_forward=1"))
		return -EIO;
	if_gw0 = if_nametoindex("gw0");
	if_gw1 = if_nametoindex("gw1");
	return if_gw0 && if_gw1 ? 0 : -ENODEV;
}

/*
 * Every BPF_PROG_TEST_RUN of an XDP program adds it to the kernel's XDP
 * dispatcher and removes it after, patching the dispatcher's code each
 * time (about 1 ms, and a cold i-cache for the first repetitions) unless
 * the program is already in it. A program attached in native mode stays in
 * it: attach each measured program to an idle (down, never up) veth of the
 * namespace, so a test run costs only what it measures.
 */
static int pin_in_dispatcher(int prog_fd, int n)
{
	char name[IF_NAMESIZE];
	int ifindex;

	snprintf(name, sizeof(name), "idle%d", n);
	if (sh("ip link add %s type veth peer name idle%dp", name, n))
		return -EIO;
	ifindex = if_nametoindex(name);
	if (!ifindex)
		return -ENODEV;
	return bpf_xdp_attach(ifindex, prog_fd, XDP_FLAGS_DRV_MODE, NULL);
}

/*
 * nat_new_res: service id gets a bulkhead far above the load (1e6, 10 of
 * them reserved, so the critical list is in force), a critical prefix
 * that the bench client is not in (the LPM is only consulted when the
 * standard share is full, so it costs nothing here, as on a real
 * gateway below its limit), and an explicitly closed breaker on its
 * backend (backend id = service id).
 */
static int add_resilience(struct sluice_bpf *skel, uint32_t id)
{
	struct sluice_svc_res res = { .max_conns = 1000000, .reserved = 10 };
	struct sluice_breaker brk = { SLUICE_BRK_CLOSED, 0 };
	struct sluice_shard_key crit = { 0 };
	uint32_t one = 1;

	crit.prefixlen = 32 + 96 + 24;
	crit.svc_id = id;
	if (bt_addr_parse("198.51.100.0", &crit.addr))
		return -EINVAL;
	if (bpf_map__update_elem(skel->maps.sl_svc_res, &id, sizeof(id), &res, sizeof(res),
				 BPF_ANY) ||
	    bpf_map__update_elem(skel->maps.sl_breakers, &id, sizeof(id), &brk, sizeof(brk),
				 BPF_ANY) ||
	    bpf_map__update_elem(skel->maps.sl_critical, &crit, sizeof(crit), &one, sizeof(one),
				 BPF_ANY))
		return -errno;
	return 0;
}

/*
 * Issue 11's rows (see syn_bench): two TCP nat services over the same two
 * backends, failover at its defaults (retries 2) and failover off; the
 * fast trip off in both, so the RSTs of the bench never open a breaker.
 */
static int add_syn_paths(struct sluice_bpf *skel)
{
	static const char *const bes[] = { BENCH_BACKEND, BENCH_BACKEND2 };
	struct sluice_svc_fo fo = { .fast_trip = SLUICE_FO_TRIP_OFF };
	uint32_t id = SYN_SVC;
	int err;

	err = add_nat_n(skel, SYN_SVC, SYN_VIP, 80, IPPROTO_TCP, bes, 2, SYN_BPORT);
	if (!err)
		err = add_nat_n(skel, SYN_SVC_NOFO, SYN_VIP_NOFO, 80, IPPROTO_TCP, bes, 2,
				SYN_BPORT + 1);
	if (err)
		return err;
	if (bpf_map__update_elem(skel->maps.sl_svc_fo, &id, sizeof(id), &fo, sizeof(fo), BPF_ANY))
		return -errno;
	id = SYN_SVC_NOFO;
	fo.retries = SLUICE_FO_RETRIES_OFF;
	if (bpf_map__update_elem(skel->maps.sl_svc_fo, &id, sizeof(id), &fo, sizeof(fo), BPF_ANY))
		return -errno;
	return 0;
}

/* nat services for nat_est (TCP) and nat_new / nat_new_res (UDP, 1 ns timeout), ping-pong pairs. */
static int add_nat_paths(struct sluice_bpf *skel)
{
	struct sluice_config cfg = { 0 };
	uint32_t zero = 0;
	int err;

	err = add_nat(skel, 20, "10.0.0.20", 80, IPPROTO_TCP, BENCH_BACKEND, 8080);
	if (!err)
		err = add_nat(skel, 21, BENCH_BACKEND, 8080, IPPROTO_TCP, "10.0.0.20", 80);
	if (!err)
		err = add_nat(skel, 22, "10.0.0.21", 80, IPPROTO_UDP, BENCH_BACKEND, 8081);
	if (!err)
		err = add_nat(skel, 23, BENCH_BACKEND, 8081, IPPROTO_UDP, "10.0.0.21", 80);
	if (!err)
		err = add_nat(skel, 24, "10.0.0.22", 80, IPPROTO_UDP, BENCH_BACKEND, 8082);
	if (!err)
		err = add_nat(skel, 25, BENCH_BACKEND, 8082, IPPROTO_UDP, "10.0.0.22", 80);
	if (!err)
		err = add_syn_paths(skel);
	if (!err)
		err = add_resilience(skel, 24);
	if (!err)
		err = add_resilience(skel, 25);
	if (err)
		return err;
	cfg.udp_timeout_ns = 1;
	if (bpf_map__update_elem(skel->maps.sl_config, &zero, sizeof(zero), &cfg, sizeof(cfg),
				 BPF_ANY))
		return -errno;
	return 0;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int trace_drop(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	return 0;
}

/* Set sl_trace_cfg for a path (an hour's lease: it never runs out during the bench). */
static int trace_set(struct sluice_bpf *skel, enum bench_trace mode)
{
	struct sluice_trace_cfg cfg = { 0 };
	__u32 zero = 0;

	if (mode != TRACE_OFF)
		cfg.until = (__u64)now_ns() + 3600000000000ull;
	if (mode == TRACE_ALL_PCAP)
		cfg.snap = SLUICE_TRACE_SNAP_MAX;
	if (mode == TRACE_MISS) {
		cfg.flags = SLUICE_TRACE_F_SVC;
		cfg.svc_id = SLUICE_MAX_SERVICES - 1; /* no bench service has it */
	}
	if (bpf_map__update_elem(skel->maps.sl_trace_cfg, &zero, sizeof(zero), &cfg, sizeof(cfg),
				 BPF_ANY))
		return -errno;
	return 0;
}

static double median(const double *v, int n);
static int cmp_double(const void *a, const void *b);

/*
 * One run: repeat repetitions in test runs of SLICE, each from the original
 * frame. ns per repetition (wall, kernel), or -errno.
 */
static int run_once(int prog_fd, struct bench_path *p, int repeat, double *ns, double *kns)
{
	struct xdp_md ctx = { .data = 0, .data_end = p->len, .ingress_ifindex = if_gw0 };
	/* TC: an skb arriving on gw0 (its device, where a redirect's fib lookup starts). */
	struct __sk_buff skb = { .ingress_ifindex = (__u32)if_gw0, .ifindex = (__u32)if_gw0 };
	struct bpf_test_run_opts opts;
	int slices = repeat / SLICE, i;
	double t0, ksum = 0;

	/* By hand rather than LIBBPF_OPTS (which cppcheck cannot expand):
	 * libbpf wants every byte past the known fields, padding too, zero. */
	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	opts.data_in = p->frame;
	opts.data_size_in = p->len;
	opts.repeat = SLICE;
	if (if_gw0 && p->prog == PROG_TC) {
		opts.ctx_in = &skb;
		opts.ctx_size_in = sizeof(skb);
	} else if (if_gw0) {
		opts.ctx_in = &ctx;
		opts.ctx_size_in = sizeof(ctx);
	}
	t0 = now_ns();
	for (i = 0; i < slices; i++) {
		if (bpf_prog_test_run_opts(prog_fd, &opts))
			return -errno;
		ksum += opts.duration;
		if ((int)opts.retval != p->action)
			p->wrong_action = 1;
		if ((p->trace == TRACE_ALL || p->trace == TRACE_ALL_PCAP) &&
		    ring_buffer__consume(trace_ring) < 0)
			return -EIO;
	}
	*ns = (now_ns() - t0) / ((double)slices * SLICE);
	*kns = ksum / slices;
	return 0;
}

enum syn_path { SYN_FLOOR, SYN_NOFO, SYN_FO, SYN_RST, SYN_ACK, SYN_PATHS };

static const char *const syn_names[SYN_PATHS] = { "floor_1", "nat_syn_nofo", "nat_syn", "nat_rst",
						  "nat_synack" };
static const char *const syn_what[SYN_PATHS] = {
	"floor_xdp, one repetition per call: the call's fixed cost + parse",
	"sluice_xdp: first SYN of a new nat TCP flow (20 B of options), failover off",
	"sluice_xdp: the same with failover on (retries 2): the SYN kept in sl_syn_v2",
	"sluice_xdp: the backend's RST answering nat_syn's SYN: swallowed, the flow moved, "
	"the SYN rebuilt to the other backend (XDP_TX)",
	"sluice_xdp: the backend's SYN-ACK answering nat_syn_nofo's SYN, the event reader caught "
	"up (a SUCCESS event, the flow ESTABLISHED, SNAT)",
};
static const int syn_action[SYN_PATHS] = { XDP_PASS, XDP_REDIRECT, XDP_REDIRECT, XDP_TX,
					   XDP_REDIRECT };
static double syn_ns[SYN_PATHS][SYN_CALLS]; /* the kernel's time of each call, sorted after */
static double syn_med[SYN_PATHS] = { -1, -1, -1, -1, -1 };
static int syn_wrong[SYN_PATHS];

/* MSS 1460, SACK-permitted, timestamps, NOP, window scale 7: what Linux sends. */
static const uint8_t syn_opts[SYN_OPT_LEN] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 1,
					       2, 3, 0,	   0,	 0, 0, 1, 3,  3, 7 };

/* One test run of one repetition: the kernel's ns, the action, the frame out. */
static int run_single(int fd, const uint8_t *in, int len, int ifindex, uint8_t *out, int *action,
		      double *kns)
{
	struct xdp_md ctx = { .data = 0, .data_end = len, .ingress_ifindex = ifindex };
	struct bpf_test_run_opts opts;

	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	opts.data_in = in;
	opts.data_size_in = len;
	opts.data_out = out;
	opts.data_size_out = PKT_BUF_MAX;
	opts.ctx_in = &ctx;
	opts.ctx_size_in = sizeof(ctx);
	opts.repeat = 1;
	if (bpf_prog_test_run_opts(fd, &opts))
		return -errno;
	*action = opts.retval;
	*kns = opts.duration;
	return 0;
}

/*
 * The client's SYN number i to vip (a source port of its own: every call a
 * first SYN), or the backend's answer to it (reply: RST or SYN-ACK) from
 * the address and port the SYN was sent to (the frame out: IPv4
 * destination at 30, port at 36).
 */
static int syn_frame(int i, const char *vip, const uint8_t *syn_out, uint8_t reply, uint8_t *buf)
{
	struct pkt_spec s = { .src = BENCH_CLIENT,
			      .dst = vip,
			      .proto = IPPROTO_TCP,
			      .sport = 1024 + i,
			      .dport = 80,
			      .ttl = 64,
			      .tcp_flags = PKT_TCP_SYN,
			      .tcp_raw = 1,
			      .seq = SYN_ISN,
			      .window = 64240,
			      .tcp_opt_len = SYN_OPT_LEN };
	char be[INET_ADDRSTRLEN];
	struct pkt_layout lay;
	int len;

	if (syn_out) {
		if (!inet_ntop(AF_INET, syn_out + 30, be, sizeof(be)))
			return -EINVAL;
		s.src = be;
		s.dst = BENCH_CLIENT;
		s.sport = (uint16_t)(syn_out[36] << 8 | syn_out[37]);
		s.dport = 1024 + i;
		s.tcp_flags = reply | PKT_TCP_ACK;
		s.seq = reply == PKT_TCP_SYN ? SYN_ISN ^ 0xffffu : 0;
		s.ack = SYN_ISN + 1;
		s.window = reply == PKT_TCP_SYN ? 65160 : 0;
		s.tcp_opt_len = 0;
	}
	len = pkt_build(&s, buf, PKT_BUF_MAX, &lay);
	/* The options as sent (the checksum is left stale: no path reads it). */
	if (len > 0 && !syn_out)
		memcpy(buf + lay.l4 + PKT_TCP_LEN, syn_opts, SYN_OPT_LEN);
	return len;
}

/*
 * Issue 11's rows. A test run's repetitions of one SYN would be
 * retransmissions (the flow exists after the first), so each call here is
 * one repetition with a source port of its own, the four paths
 * interleaved call by call, SYN_CALLS each; medians and spread. Every call
 * carries the test run's fixed cost (clock reads, the run's setup): floor_1
 * against floor's per-repetition figure measures it, and the net column
 * takes it off.
 */
static int syn_bench(int floor_fd, int sl_fd, struct ring_buffer *events)
{
	uint8_t in[PKT_BUF_MAX], out[PKT_BUF_MAX] = { 0 }, syn_out[PKT_BUF_MAX] = { 0 };
	uint8_t nofo_out[PKT_BUF_MAX] = { 0 }, *o;
	int i, p, len, act = -1, err;

	for (i = 0; i < SYN_CALLS; i++) {
		for (p = 0; p < SYN_PATHS; p++) {
			int fd = p == SYN_FLOOR ? floor_fd : sl_fd;

			if (p == SYN_FLOOR) {
				len = paths[0].len;
				memcpy(in, paths[0].frame, len);
			} else if (p == SYN_RST) {
				len = syn_frame(i, SYN_VIP, syn_out, PKT_TCP_RST, in);
			} else if (p == SYN_ACK) {
				len = syn_frame(i, SYN_VIP_NOFO, nofo_out, PKT_TCP_SYN, in);
			} else {
				len = syn_frame(i, p == SYN_NOFO ? SYN_VIP_NOFO : SYN_VIP, NULL, 0,
						in);
			}
			if (len < 0)
				return len;
			/*
			 * The SYN-ACK finds the reader caught up, as a daemon that
			 * keeps up leaves it: its event's wakeup, if any, is in it.
			 */
			if (p == SYN_ACK && events && ring_buffer__consume(events) < 0)
				return -EIO;
			o = p == SYN_FO ? syn_out : p == SYN_NOFO ? nofo_out : out;
			err = run_single(fd, in, len,
					 p == SYN_RST || p == SYN_ACK ? if_gw1 : if_gw0, o, &act,
					 &syn_ns[p][i]);
			if (err)
				return err;
			if (act != syn_action[p])
				syn_wrong[p] = 1;
		}
		/*
		 * The refusals' events are read every SYN_DRAIN_EVERY calls, as
		 * a busy daemon would: an event that finds the ring read up to
		 * it wakes the reader (an irq_work self-IPI, a VM exit here,
		 * about 8 us), so that cost lands in one call in
		 * SYN_DRAIN_EVERY, in the p90 and not in the median.
		 */
		if (events && i % SYN_DRAIN_EVERY == SYN_DRAIN_EVERY - 1 &&
		    ring_buffer__consume(events) < 0)
			return -EIO;
	}
	for (p = 0; p < SYN_PATHS; p++) {
		qsort(syn_ns[p], SYN_CALLS, sizeof(syn_ns[p][0]), cmp_double);
		syn_med[p] = syn_ns[p][SYN_CALLS / 2];
	}
	return 0;
}

/*
 * Whole connections (issue 12): the eight segments of a short HTTP-like
 * connection through SYN_VIP, one repetition per call, in order: the
 * client's SYN, the backend's SYN-ACK, the client's ACK, a request, a
 * response, the backend's FIN, the client's FIN, the backend's last ACK.
 * conn_fresh gives every connection a source port of its own; conn_reused
 * cycles over CONN_PORTS ports, so every connection after the first round
 * reuses the closed flow of its port's last one, as a busy client's ports
 * come round (wrk in bench-http: 28 000 ports at 25 000 connections/s).
 * Per connection: the sum of its eight calls' kernel ns; medians.
 */
#define CONN_CALLS 2000
#define CONN_PORTS 100
#define CONN_SEGS 8

enum conn_path { CONN_FRESH, CONN_REUSED, CONN_PATHS };

static const char *const conn_names[CONN_PATHS] = { "conn_fresh", "conn_reused" };
static const char *const conn_what[CONN_PATHS] = {
	"sluice_xdp: a whole nat TCP connection (8 segments), a source port of its own",
	"sluice_xdp: the same on a port whose last connection closed (its flow reused)",
};
static double conn_ns[CONN_PATHS][CONN_CALLS];
static double conn_med[CONN_PATHS] = { -1, -1 };
static int conn_wrong[CONN_PATHS];

/* Segment k of a connection on client port cport; be/bport: where its SYN went. */
static int conn_frame(int k, uint16_t cport, const char *be, uint16_t bport, uint8_t *buf)
{
	static const uint8_t flags[CONN_SEGS] = {
		PKT_TCP_SYN,
		PKT_TCP_SYN | PKT_TCP_ACK,
		PKT_TCP_ACK,
		PKT_TCP_ACK | PKT_TCP_PSH,
		PKT_TCP_ACK | PKT_TCP_PSH,
		PKT_TCP_FIN | PKT_TCP_ACK,
		PKT_TCP_FIN | PKT_TCP_ACK,
		PKT_TCP_ACK,
	};
	/* The client's sequence numbers after its SYN, and the backend's. */
	const uint32_t c = SYN_ISN + 1, b = SYN_ISN ^ 0xffffu;
	static const uint32_t cseq[CONN_SEGS] = { 0, 0, 0, 0, 0, 0, 64, 0 };
	static const uint32_t bseq[CONN_SEGS] = { 0, 0, 0, 0, 1, 129, 0, 130 };
	int backend = k == 1 || k == 4 || k == 5 || k == 7;
	struct pkt_spec s = { .src = backend ? be : BENCH_CLIENT,
			      .dst = backend ? BENCH_CLIENT : SYN_VIP,
			      .proto = IPPROTO_TCP,
			      .sport = backend ? bport : cport,
			      .dport = backend ? cport : 80,
			      .ttl = 64,
			      .tcp_flags = flags[k],
			      .tcp_raw = 1,
			      .window = 64240,
			      .payload = k == 3	  ? 64
					 : k == 4 ? 128
						  : 0 };

	if (k == 0) {
		s.seq = SYN_ISN;
	} else if (backend) {
		s.seq = b + bseq[k];
		s.ack = k == 1 ? c : c + 64 + (k == 7 ? 1 : 0);
	} else {
		s.seq = c + cseq[k];
		s.ack = k == 2 || k == 3 ? b + 1 : b + 130;
	}
	return pkt_build(&s, buf, PKT_BUF_MAX, NULL);
}

/* One connection on client port cport: the sum of its calls' kernel ns in *ns. */
static int conn_once(int fd, uint16_t cport, double *ns, int *wrong)
{
	uint8_t in[PKT_BUF_MAX], out[PKT_BUF_MAX];
	char be[INET_ADDRSTRLEN] = BENCH_BACKEND;
	uint16_t bport = 0;
	int k, len, act, err;
	double kns;

	*ns = 0;
	for (k = 0; k < CONN_SEGS; k++) {
		int backend = k == 1 || k == 4 || k == 5 || k == 7;

		len = conn_frame(k, cport, be, bport, in);
		if (len < 0)
			return len;
		err = run_single(fd, in, len, backend ? if_gw1 : if_gw0, out, &act, &kns);
		if (err)
			return err;
		*ns += kns;
		if (act != XDP_REDIRECT)
			*wrong = 1;
		/* The SYN went out to its backend: the replies come from there. */
		if (k == 0) {
			if (!inet_ntop(AF_INET, out + 30, be, sizeof(be)))
				return -EINVAL;
			bport = (uint16_t)(out[36] << 8 | out[37]);
		}
	}
	return 0;
}

static int conn_bench(int sl_fd)
{
	int i, p, err;

	for (i = 0; i < CONN_CALLS; i++) {
		for (p = 0; p < CONN_PATHS; p++) {
			uint16_t port = p == CONN_FRESH ? 20000 + i : 40000 + i % CONN_PORTS;

			err = conn_once(sl_fd, port, &conn_ns[p][i], &conn_wrong[p]);
			if (err)
				return err;
		}
	}
	for (p = 0; p < CONN_PATHS; p++) {
		/* The first round of reused ports was fresh: the rest is the measure. */
		int from = p == CONN_REUSED ? CONN_PORTS : 0;

		qsort(conn_ns[p] + from, CONN_CALLS - from, sizeof(double), cmp_double);
		conn_med[p] = conn_ns[p][from + (CONN_CALLS - from) / 2];
	}
	return 0;
}

/* The p-th percentile of syn path k (sorted). */
static double syn_pct(int k, int pct)
{
	return syn_ns[k][(SYN_CALLS - 1) * pct / 100];
}

/* Path k's median less the per-call overhead (floor_1 - floor's per-repetition figure). */
static double syn_net(int k)
{
	return syn_med[k] - (syn_med[SYN_FLOOR] - paths[0].kmedian);
}

/* Median time of MAGLEV_BUILDS builds of N=1000 equal backends, M=65537. */
static int maglev_bench(void)
{
	struct maglev_backend *b = calloc(MAGLEV_N, sizeof(*b));
	uint8_t(*ident)[18] = calloc(MAGLEV_N, sizeof(*ident));
	__u32 *table = calloc(MAGLEV_DEFAULT_M, sizeof(*table));
	int i, err = 0;

	if (!b || !ident || !table) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < MAGLEV_N; i++) {
		/* 10.1.x.y (v4-mapped), port 80: the identity the control plane uses. */
		ident[i][10] = ident[i][11] = 0xff;
		ident[i][12] = 10;
		ident[i][13] = 1;
		ident[i][14] = (uint8_t)(i >> 8);
		ident[i][15] = (uint8_t)i;
		ident[i][17] = 80;
		b[i].id = ident[i];
		b[i].id_len = sizeof(ident[i]);
		b[i].weight = 1;
		b[i].index = i;
	}
	for (i = 0; i < MAGLEV_BUILDS; i++) {
		double t0 = now_ns();

		err = maglev_build(b, MAGLEV_N, MAGLEV_DEFAULT_M, table);
		if (err)
			goto out;
		maglev_ms[i] = (now_ns() - t0) / 1e6;
	}
	maglev_median_ms = median(maglev_ms, MAGLEV_BUILDS);
out:
	free(b);
	free(ident);
	free(table);
	return err;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
	double s[BENCH_RUNS_MAX];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* The floor a path's ratio is taken to: floor_xdp; forwarding paths also floor_redirect. */
static double ratio(const struct bench_path *p, const struct bench_path *floor_path)
{
	if (p->skipped || floor_path->skipped || floor_path->kmedian <= 0)
		return 0.0;
	return p->kmedian / floor_path->kmedian;
}

static const struct bench_path *fwd_floor(void)
{
	size_t i;

	for (i = 0; i < N_PATHS; i++)
		if (paths[i].prog == PROG_FWD_FLOOR)
			return &paths[i];
	return &paths[0];
}

static const struct bench_path *path_named(const char *name)
{
	size_t i;

	for (i = 0; i < N_PATHS; i++)
		if (!strcmp(paths[i].name, name) && !paths[i].skipped)
			return &paths[i];
	return NULL;
}

/* Each tc_X row against the XDP row X: the cost of the TC ingress entry on that path. */
static void tc_vs_xdp_print(void)
{
	const struct bench_path *t, *x;
	size_t i;

	for (i = 0; i < N_PATHS; i++) {
		t = &paths[i];
		if (t->prog != PROG_TC || t->skipped)
			continue;
		x = path_named(t->name + 3);
		if (x && x->kmedian > 0)
			printf("%s / %s = %.2fx (+%.1f ns)\n", t->name, x->name,
			       t->kmedian / x->kmedian, t->kmedian - x->kmedian);
	}
}

/*
 * The verifier's work on the two data plane entries (BPF_LOG_STATS: "processed N
 * insns"): its limit is 1M, and a change to the pipeline that takes an entry past it
 * does not load (E2BIG). Printed so a change's cost in headroom is seen.
 */
#define VERIFIER_LIMIT 1000000
static char verifier_log[2][4096];
static long verifier_insns[2] = { -1, -1 }; /* sluice_xdp, sluice_tc */

static void verifier_stats_on(struct bpf_program *prog, int k)
{
	bpf_program__set_log_level(prog, 4);
	bpf_program__set_log_buf(prog, verifier_log[k], sizeof(verifier_log[k]));
}

static void verifier_stats_read(int k)
{
	const char *p = strstr(verifier_log[k], "processed ");

	if (p && sscanf(p, "processed %ld insns", &verifier_insns[k]) != 1)
		verifier_insns[k] = -1;
}

static void print_text(int repeat, int runs, const struct utsname *u)
{
	size_t i;
	int r;

	printf("method: BPF_PROG_TEST_RUN of a 64-byte IPv4 frame (TTL 255), %d repetitions\n"
	       "        per run in test runs of %d (each from the original frame); paths\n"
	       "        measured round-robin, %d runs each; ns/pkt = median over runs of the\n"
	       "        kernel's mean per repetition (whole ns; its clock pauses while the run\n"
	       "        yields the CPU; test-run loop included, same for every path);\n"
	       "        ratio = path / floor (floor_xdp); fwd = path / fwd_floor\n"
	       "        (floor_redirect), forwarding paths only; wall = median of wall time\n"
	       "        / repetition, as a check. nat paths ping-pong between two services\n"
	       "        so every repetition is the same path; nat_new re-steers every packet\n"
	       "        (UDP, udp timeout 1 ns); nat_rev is the pair's return path;\n"
	       "        sl_ports_v2 %s; sl_be_rev %s; nat_new_res also takes and gives back a\n"
	       "        bulkhead slot and reads a closed breaker; nat_est_trace* run with\n"
	       "        sluice trace on (every packet traced; with --pcap; a filter none\n"
	       "        matches), every other path with it off; tc_* rows run sluice_tc\n"
	       "        (TC ingress) on the same maps, the frame as an skb on gw0 (its\n"
	       "        action a TC one). Frames arrive on a veth\n"
	       "        (ingress_ifindex) in a private netns with routes and permanent\n"
	       "        neighbours, so fib lookups succeed. Kernel %s, %ld CPUs online.\n",
	       repeat, SLICE, runs, ports_off ? "off" : "on",
	       stateful_rev ? "off (every nat flow inserts its sl_nat_rev entry)"
			    : "on (as sluiced: a new flow inserts no sl_nat_rev entry, replies "
			      "are translated statelessly)",
	       u->release, sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-18s %6s %7s %7s %7s  %-*s %s\n", "path", "ns/pkt", "ratio", "fwd", "wall",
	       runs * 4, "runs (ns/pkt)", "what");
	for (i = 0; i < N_PATHS; i++) {
		const struct bench_path *p = &paths[i];

		if (p->skipped == SKIP_ONLY)
			continue;
		if (p->skipped) {
			printf("%-18s skipped (no network namespace for fib lookups; -v for why)  "
			       "%s\n",
			       p->name, p->what);
			continue;
		}
		printf("%-18s %6.1f %6.2fx ", p->name, p->kmedian, ratio(p, &paths[0]));
		if (p->fwd)
			printf("%6.2fx ", ratio(p, fwd_floor()));
		else
			printf("%7s ", "-");
		printf("%7.1f  ", p->median);
		for (r = 0; r < runs; r++)
			printf("%3.0f ", p->kns[r]);
		printf("%*s", runs < 4 ? (4 - runs) * 4 : 0, "");
		printf(" %s%s\n", p->what,
		       p->wrong_action ? " [WARNING: unexpected XDP action]" : "");
	}
	tc_vs_xdp_print();
	if (syn_med[SYN_FLOOR] >= 0) {
		printf("first SYNs, one repetition per call (%d calls per path, interleaved; kernel ns\n"
		       "per call: median, p10, p90, p99; net = median - the per-call overhead, floor_1 -\n"
		       "floor = %.1f ns):\n",
		       SYN_CALLS, syn_med[SYN_FLOOR] - paths[0].kmedian);
		printf("%-18s %6s %6s %6s %6s %6s  %s\n", "path", "median", "p10", "p90", "p99",
		       "net", "what");
		for (r = 0; r < SYN_PATHS; r++)
			printf("%-18s %6.0f %6.0f %6.0f %6.0f %6.1f  %s%s\n", syn_names[r],
			       syn_med[r], syn_pct(r, 10), syn_pct(r, 90), syn_pct(r, 99),
			       syn_net(r), syn_what[r],
			       syn_wrong[r] ? " [WARNING: unexpected XDP action]" : "");
		printf("nat_syn / nat_syn_nofo = %.2fx (net %.2fx; issue 11's aim <= 1.1x); "
		       "nat_rst / nat_syn_nofo = %.2fx (net %.2fx)\n",
		       syn_med[SYN_FO] / syn_med[SYN_NOFO], syn_net(SYN_FO) / syn_net(SYN_NOFO),
		       syn_med[SYN_RST] / syn_med[SYN_NOFO], syn_net(SYN_RST) / syn_net(SYN_NOFO));
	}
	if (conn_med[0] >= 0) {
		printf("whole connections, %d segments each, one repetition per call (%d per path,\n"
		       "interleaved; kernel ns per connection, the sum of its calls; conn_reused\n"
		       "over %d ports, its first round left out):\n",
		       CONN_SEGS, CONN_CALLS, CONN_PORTS);
		for (r = 0; r < CONN_PATHS; r++)
			printf("%-18s %6.0f  %s%s\n", conn_names[r], conn_med[r], conn_what[r],
			       conn_wrong[r] ? " [WARNING: unexpected XDP action]" : "");
		printf("conn_reused / conn_fresh = %.2fx (the same run, interleaved)\n",
		       conn_med[CONN_REUSED] / conn_med[CONN_FRESH]);
	}
	if (maglev_median_ms >= 0) {
		printf("maglev_build N=%d M=%u: median %.2f ms of %d builds (", MAGLEV_N,
		       MAGLEV_DEFAULT_M, maglev_median_ms, MAGLEV_BUILDS);
		for (r = 0; r < MAGLEV_BUILDS; r++)
			printf("%s%.2f", r ? " " : "", maglev_ms[r]);
		printf(")\n");
	}
	for (r = 0; r < 2; r++)
		if (verifier_insns[r] >= 0)
			printf("verifier: %ld instructions processed to load %s (limit %d: %.0f%%)\n",
			       verifier_insns[r], r ? "sluice_tc" : "sluice_xdp", VERIFIER_LIMIT,
			       100.0 * verifier_insns[r] / VERIFIER_LIMIT);
}

static void print_json(int repeat, int runs, const struct utsname *u)
{
	struct json_object *root = json_object_new_object(), *arr = json_object_new_array();
	struct json_object *mg = json_object_new_object(), *mv = json_object_new_array();
	size_t i;
	int r;

	json_object_object_add(
		root, "method",
		json_object_new_string(
			"BPF_PROG_TEST_RUN; 64-byte IPv4 frame, TTL 255; test runs "
			"of 200 repetitions from the original frame; "
			"round-robin runs; median of the kernel's mean "
			"ns per repetition; ratio = path / floor_xdp; "
			"ratio_to_fwd_floor = path / floor_redirect; nat paths "
			"ping-pong between two services; nat_new: udp timeout "
			"1 ns, every packet re-steered; nat_new_res: the same with "
			"a bulkhead slot taken and released and a closed breaker read; "
			"nat_est_trace: sluice trace on, every packet traced; "
			"nat_est_trace_pcap: the same with --pcap; "
			"nat_est_trace_miss: on, a filter nothing matches; "
			"every other path with trace off"));
	json_object_object_add(root, "kernel", json_object_new_string(u->release));
	json_object_object_add(root, "cpus", json_object_new_int(sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_object_add(root, "repeat", json_object_new_int(repeat));
	json_object_object_add(root, "runs", json_object_new_int(runs));
	json_object_object_add(root, "ports_bitmaps", json_object_new_boolean(!ports_off));
	json_object_object_add(root, "be_rev", json_object_new_boolean(!stateful_rev));
	for (i = 0; i < N_PATHS; i++) {
		const struct bench_path *p = &paths[i];
		struct json_object *o = json_object_new_object(), *v = json_object_new_array();

		json_object_object_add(o, "path", json_object_new_string(p->name));
		json_object_object_add(o, "what", json_object_new_string(p->what));
		json_object_object_add(o, "skipped", json_object_new_boolean(p->skipped));
		json_object_object_add(o, "ns_per_packet", json_object_new_double(p->kmedian));
		json_object_object_add(o, "wall_ns_per_packet", json_object_new_double(p->median));
		json_object_object_add(o, "ratio_to_floor",
				       json_object_new_double(ratio(p, &paths[0])));
		if (p->fwd)
			json_object_object_add(o, "ratio_to_fwd_floor",
					       json_object_new_double(ratio(p, fwd_floor())));
		for (r = 0; r < runs && !p->skipped; r++)
			json_object_array_add(v, json_object_new_double(p->kns[r]));
		json_object_object_add(o, "runs_ns", v);
		json_object_object_add(o, "action_as_expected",
				       json_object_new_boolean(!p->wrong_action));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "paths", arr);
	arr = json_object_new_array();
	for (i = 0; i < SYN_PATHS && syn_med[SYN_FLOOR] >= 0; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "path", json_object_new_string(syn_names[i]));
		json_object_object_add(o, "what", json_object_new_string(syn_what[i]));
		json_object_object_add(o, "calls", json_object_new_int(SYN_CALLS));
		json_object_object_add(o, "median_ns", json_object_new_double(syn_med[i]));
		json_object_object_add(o, "p10_ns", json_object_new_double(syn_pct(i, 10)));
		json_object_object_add(o, "p90_ns", json_object_new_double(syn_pct(i, 90)));
		json_object_object_add(o, "p99_ns", json_object_new_double(syn_pct(i, 99)));
		json_object_object_add(o, "net_ns", json_object_new_double(syn_net(i)));
		json_object_object_add(o, "action_as_expected",
				       json_object_new_boolean(!syn_wrong[i]));
		json_object_array_add(arr, o);
	}
	/* One repetition per call, each a first SYN; net = median - (floor_1 - floor). */
	json_object_object_add(root, "syn_paths", arr);
	arr = json_object_new_array();
	for (i = 0; i < CONN_PATHS && conn_med[0] >= 0; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "path", json_object_new_string(conn_names[i]));
		json_object_object_add(o, "what", json_object_new_string(conn_what[i]));
		json_object_object_add(o, "connections", json_object_new_int(CONN_CALLS));
		json_object_object_add(o, "segments", json_object_new_int(CONN_SEGS));
		json_object_object_add(o, "median_ns", json_object_new_double(conn_med[i]));
		json_object_object_add(o, "action_as_expected",
				       json_object_new_boolean(!conn_wrong[i]));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "conn_paths", arr);
	json_object_object_add(mg, "backends", json_object_new_int(MAGLEV_N));
	json_object_object_add(mg, "m", json_object_new_int64(MAGLEV_DEFAULT_M));
	json_object_object_add(mg, "median_ms", json_object_new_double(maglev_median_ms));
	for (r = 0; r < MAGLEV_BUILDS && maglev_median_ms >= 0; r++)
		json_object_array_add(mv, json_object_new_double(maglev_ms[r]));
	json_object_object_add(mg, "builds_ms", mv);
	json_object_object_add(root, "maglev_build", mg);
	{
		struct json_object *vf = json_object_new_object();

		json_object_object_add(vf, "limit", json_object_new_int(VERIFIER_LIMIT));
		json_object_object_add(vf, "sluice_xdp", json_object_new_int64(verifier_insns[0]));
		json_object_object_add(vf, "sluice_tc", json_object_new_int64(verifier_insns[1]));
		json_object_object_add(root, "verifier_insns", vf);
	}
	printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
	json_object_put(root);
}

static int prog_fd(const struct bench_path *p, struct floor_bpf *fl, struct redirect_floor_bpf *rf,
		   struct sluice_bpf *sl, struct tc_bpf *tc)
{
	switch (p->prog) {
	case PROG_FLOOR:
		return bpf_program__fd(fl->progs.floor_xdp);
	case PROG_FWD_FLOOR:
		return bpf_program__fd(rf->progs.floor_redirect);
	case PROG_TC:
		return bpf_program__fd(tc->progs.sluice_tc);
	default:
		return bpf_program__fd(sl->progs.sluice_xdp);
	}
}

/*
 * --lru-percpu: the LRU maps a new flow writes (sl_flows_v3, sl_nat_rev,
 * sl_syn_v2) with per-CPU LRU lists (BPF_F_NO_COMMON_LRU), to measure what
 * that map flag (an ABI change for the pinned maps) would save.
 */
static void lru_percpu_set(struct sluice_bpf *skel)
{
	struct bpf_map *maps[] = { skel->maps.sl_flows_v3, skel->maps.sl_nat_rev_v2,
				   skel->maps.sl_syn_v2 };
	size_t i;

	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		bpf_map__set_map_flags(maps[i], bpf_map__map_flags(maps[i]) | BPF_F_NO_COMMON_LRU);
}

/* --only: measure the named paths (and the floors) alone, e.g. under a profiler. */
static void skip_all_but(const char *only)
{
	size_t i, n;

	for (i = 0; i < N_PATHS; i++) {
		const char *p = only;

		n = strlen(paths[i].name);
		paths[i].skipped =
			paths[i].prog == PROG_SLUICE || paths[i].prog == PROG_TC ? SKIP_ONLY : 0;
		for (; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
			if (!strncmp(p, paths[i].name, n) && (p[n] == ',' || !p[n]))
				paths[i].skipped = 0;
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sluice-bench [-j] [-v] [--repeat N] [--runs R] [--only P,P...] "
		"[--lru-percpu] [--ports-off] [--stateful-rev]\n"
		"  --repeat N  repetitions per run (default 1000000, at least 1000000)\n"
		"  --runs R    runs per path; the median is reported (default 5, 1..99)\n"
		"  --only P,P  only these paths (and the floors; \"syn\": the first-SYN rows;\n"
		"              \"conn\": the whole-connection rows)\n"
		"  --lru-percpu  the flow LRU maps with BPF_F_NO_COMMON_LRU (what it would save)\n"
		"  --ports-off   the port bitmaps (sl_ports_v2) left off\n"
		"  --stateful-rev  no sl_be_rev: every nat flow records its own return\n"
		"              translation, as for a backend two services share\n"
		"  -j          JSON output\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repeat", required_argument, NULL, 'r' },
		{ "runs", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "only", required_argument, NULL, 'o' },
		{ "lru-percpu", no_argument, NULL, 'l' },
		{ "ports-off", no_argument, NULL, 'p' },
		{ "stateful-rev", no_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct redirect_floor_bpf *rf = NULL;
	struct floor_bpf *fl = NULL;
	struct sluice_bpf *sl = NULL;
	struct tc_bpf *tc = NULL;
	int repeat = 1000000, runs = 5, json = 0, opt, err = 0, r;
	const char *only = NULL;
	int lru_percpu = 0;
	struct utsname u;
	double ns;
	size_t i;

	while ((opt = getopt_long(argc, argv, "jvh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			repeat = atoi(optarg);
			break;
		case 'n':
			runs = atoi(optarg);
			break;
		case 'j':
			json = 1;
			break;
		case 'o':
			only = optarg;
			break;
		case 'l':
			lru_percpu = 1;
			break;
		case 'p':
			ports_off = 1;
			break;
		case 's':
			stateful_rev = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (repeat < 1000000 || runs < 1 || runs > BENCH_RUNS_MAX) {
		fprintf(stderr, "sluice-bench: --repeat must be >= 1000000 and --runs 1..%d\n",
			BENCH_RUNS_MAX);
		return 2;
	}
	libbpf_set_print(print_libbpf);
	uname(&u);

	fl = floor_bpf__open_and_load();
	rf = fl ? redirect_floor_bpf__open_and_load() : NULL;
	sl = rf ? sluice_bpf__open() : NULL;
	if (sl && lru_percpu)
		lru_percpu_set(sl);
	if (sl)
		verifier_stats_on(sl->progs.sluice_xdp, 0);
	if (sl && sluice_bpf__load(sl)) {
		sluice_bpf__destroy(sl);
		sl = NULL;
	}
	verifier_stats_read(0);
	if (!sl) {
		err = -errno;
		fprintf(stderr, "sluice-bench: cannot load %s: %s (run as root; -v for details)\n",
			!fl   ? "floor.bpf.o"
			: !rf ? "redirect_floor.bpf.o"
			      : "sluice.bpf.o",
			strerror(-err));
		goto out;
	}
	/* sluice_tc on sluice_xdp's maps: the TC rows see the same services and flows. */
	tc = tc_bpf__open();
	if (tc)
		verifier_stats_on(tc->progs.sluice_tc, 1);
	if (!tc || bt_reuse_maps(tc->obj, sl->obj) || tc_bpf__load(tc)) {
		fprintf(stderr, "sluice-bench: cannot load tc.bpf.o: the tc_* rows are skipped\n");
		tc_bpf__destroy(tc);
		tc = NULL;
		for (i = 0; i < N_PATHS; i++)
			if (paths[i].prog == PROG_TC)
				paths[i].skipped = SKIP_ONLY;
	}
	verifier_stats_read(1);
	/* Without the namespace, fib lookups fail: the forwarding paths are skipped. */
	err = netns_setup();
	if (!err)
		err = add_nat_paths(sl);
	if (!err)
		err = pin_in_dispatcher(bpf_program__fd(fl->progs.floor_xdp), 0);
	if (!err)
		err = pin_in_dispatcher(bpf_program__fd(rf->progs.floor_redirect), 1);
	if (!err)
		err = pin_in_dispatcher(bpf_program__fd(sl->progs.sluice_xdp), 2);
	if (only)
		skip_all_but(only);
	if (err) {
		fprintf(stderr,
			"sluice-bench: no forwarding setup (%s): forwarding paths skipped\n",
			strerror(-err));
		if_gw0 = 0;
		for (i = 0; i < N_PATHS; i++)
			if (paths[i].fwd)
				paths[i].skipped = SKIP_NO_NS;
		err = 0;
	}
	err = add_service(sl, "10.0.0.1", 1, bt_rate_of(0, 0), bt_rate_of(0, 0));
	/* 1e9 pps: one token per ns, far faster than packets come; never drops. */
	if (!err)
		err = add_service(sl, "10.0.0.2", 2, bt_rate_of(SLUICE_RATE_MAX_PPS, 1000000),
				  bt_rate_of(SLUICE_RATE_MAX_PPS, 1000000));
	if (!err)
		err = add_service(sl, "10.0.0.3", 3, bt_rate_of(1, 1), bt_rate_of(0, 0));
	if (!err)
		err = bench_derived(sl, !ports_off, !stateful_rev);
	/* Next-hop caching on, as the loader leaves it at attach. */
	if (!err)
		err = loader_nh_gen_bump(bpf_map__fd(sl->maps.sl_nh_gen));
	if (err) {
		fprintf(stderr, "sluice-bench: cannot add the bench services: %s\n",
			strerror(-err));
		goto out;
	}
	for (i = 0; i < N_PATHS; i++) {
		struct pkt_spec s = { .src = paths[i].reply ? BENCH_BACKEND : BENCH_CLIENT,
				      .dst = paths[i].dst,
				      .proto = paths[i].proto ? paths[i].proto : IPPROTO_TCP,
				      .sport = paths[i].reply ? 8080 : 40000,
				      .dport = paths[i].reply	? 40000
					       : paths[i].dport ? paths[i].dport
								: 80,
				      .ttl = 255,
				      .payload = paths[i].proto == IPPROTO_UDP ? 22 : 10 };

		paths[i].len = pkt_build(&s, paths[i].frame, sizeof(paths[i].frame), NULL);
		if (paths[i].len < 0) {
			err = paths[i].len;
			fprintf(stderr, "sluice-bench: cannot build frame: %s\n", strerror(-err));
			goto out;
		}
	}
	trace_ring = ring_buffer__new(bpf_map__fd(sl->maps.sl_trace), trace_drop, NULL, NULL);
	if (!trace_ring) {
		err = -errno;
		fprintf(stderr, "sluice-bench: cannot read sl_trace: %s\n", strerror(-err));
		goto out;
	}
	/* Warm up every path once (this also empties the 1 pps bucket, creates the flows). */
	for (i = 0; i < N_PATHS; i++) {
		if (paths[i].skipped)
			continue;
		err = trace_set(sl, paths[i].trace);
		if (!err)
			err = run_once(prog_fd(&paths[i], fl, rf, sl, tc), &paths[i], 1000, &ns,
				       &ns);
		if (err) {
			fprintf(stderr, "sluice-bench: BPF_PROG_TEST_RUN failed: %s\n",
				strerror(-err));
			goto out;
		}
		paths[i].wrong_action = 0;
	}
	for (r = 0; r < runs; r++) {
		for (i = 0; i < N_PATHS; i++) {
			if (paths[i].skipped)
				continue;
			err = trace_set(sl, paths[i].trace);
			if (!err)
				err = run_once(prog_fd(&paths[i], fl, rf, sl, tc), &paths[i],
					       repeat, &paths[i].ns[r], &paths[i].kns[r]);
			if (err) {
				fprintf(stderr, "sluice-bench: BPF_PROG_TEST_RUN failed: %s\n",
					strerror(-err));
				goto out;
			}
		}
	}
	for (i = 0; i < N_PATHS; i++) {
		if (paths[i].skipped)
			continue;
		paths[i].median = median(paths[i].ns, runs);
		paths[i].kmedian = median(paths[i].kns, runs);
	}
	if (if_gw0 && (!only || strstr(only, "syn"))) {
		struct ring_buffer *ev =
			ring_buffer__new(bpf_map__fd(sl->maps.sl_events), trace_drop, NULL, NULL);

		err = syn_bench(bpf_program__fd(fl->progs.floor_xdp),
				bpf_program__fd(sl->progs.sluice_xdp), ev);
		ring_buffer__free(ev);
		if (err) {
			fprintf(stderr, "sluice-bench: first-SYN paths failed: %s\n",
				strerror(-err));
			syn_med[SYN_FLOOR] = -1;
			err = 0;
		}
	}
	if (if_gw0 && (!only || strstr(only, "conn"))) {
		err = conn_bench(bpf_program__fd(sl->progs.sluice_xdp));
		if (err) {
			fprintf(stderr, "sluice-bench: connection paths failed: %s\n",
				strerror(-err));
			conn_med[0] = -1;
			err = 0;
		}
	}
	err = maglev_bench();
	if (err) {
		fprintf(stderr, "sluice-bench: maglev_build failed: %s\n", strerror(-err));
		err = 0;
	}
	if (json)
		print_json(repeat, runs, &u);
	else
		print_text(repeat, runs, &u);
out:
	ring_buffer__free(trace_ring);
	tc_bpf__destroy(tc);
	sluice_bpf__destroy(sl);
	redirect_floor_bpf__destroy(rf);
	floor_bpf__destroy(fl);
	return err ? 1 : 0;
}
