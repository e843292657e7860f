// SPDX-License-Identifier: GPL-2.0-only
/*
 * The reconcile sweep (userspace/sweep.c) against real pinned maps: flows
 * are written from userspace as the data plane would leave them, then one
 * sweep must delete the expired ones with their sl_nat_rev twins, report
 * the SYN timeouts per backend, and bring sl_conns (set wrong on purpose)
 * back to the flows that hold slots. Also: 10 000 abandoned handshakes
 * (counted, never established, old) -> in use 0 after one sweep, with the
 * sweep's duration printed; the resilience settings' write module (res.c)
 * on add/set/del; pin reuse of the ring buffer and the mmapable array.
 * Needs root and a mounted bpffs; SKIPPED with the reason otherwise.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"
#include "backend.h"
#include "clock.h"
#include "err.h"
#include "loader.h"
#include "maps.h"
#include "pinroot.h"
#include "res.h"
#include "svc.h"
#include "svctest.h"
#include "sweep.h"

static struct pinroot *const pr = &pinroot_group;

#define SKIP_UNLESS_READY() PINROOT_SKIP_UNLESS_READY(pr)
#define SEC_NS 1000000000ull

static __u32 add_svc(const struct sluice_svc_key *k, __u8 mode, __u32 max_conns, __u32 syn_ms)
{
	struct svc_conf c;

	memset(&c, 0, sizeof(c));
	c.has_mode = 1;
	c.mode = mode;
	c.res.has = RES_HAS_MAX_CONNS | (syn_ms ? RES_HAS_SYN_TIMEOUT : 0);
	c.res.max_conns = max_conns;
	c.res.syn_timeout_ms = syn_ms;
	return svctest_add_svc(k, &c);
}

/* The flow key from src (text) port sport to dst port dport (ports in network order). */
static struct sluice_flow_key flow_of(const char *src, __be16 sport, const union sluice_addr *dst,
				      __be16 dport, __u8 proto)
{
	struct sluice_flow_key f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(addr_parse(src, &f.src), 0);
	f.dst = *dst;
	f.sport = sport;
	f.dport = dport;
	f.proto = proto;
	return f;
}

/* A flow from client addr:sport to service k. */
static struct sluice_flow_key flow_key(const struct sluice_svc_key *k, const char *client,
				       __u16 sport)
{
	return flow_of(client, htons(sport), &k->addr, k->port, k->proto);
}

static void put_flow(const struct sluice_flow_key *f, __u32 svc, __u32 be, __u64 created,
		     __u64 last, __u32 flags)
{
	struct sluice_flow v = { .backend_id = be,
				 .svc_id = svc,
				 .last_seen = last,
				 .created = created,
				 .flags = flags };

	assert_int_equal(bpf_map_update_elem(pr->maps.flows, f, &v, BPF_NOEXIST), 0);
}

/* Add flags to flow f and, when last is not 0, set its last_seen. */
static void set_flow(const struct sluice_flow_key *f, __u32 flags, __u64 last)
{
	struct sluice_flow v;

	assert_int_equal(bpf_map_lookup_elem(pr->maps.flows, f, &v), 0);
	v.flags |= flags;
	if (last)
		v.last_seen = last;
	assert_int_equal(bpf_map_update_elem(pr->maps.flows, f, &v, BPF_EXIST), 0);
}

/* The nat twin of flow f to backend (addr, port). */
static struct sluice_flow_key put_twin(const struct sluice_flow_key *f, const char *be_addr,
				       __u16 be_port, __u32 svc, __u32 be)
{
	struct sluice_flow_key t = flow_of(be_addr, htons(be_port), &f->src, f->sport, f->proto);
	struct sluice_nat_rev_ent rv;

	memset(&rv, 0, sizeof(rv));
	rv.rev.vip = f->dst;
	rv.rev.vport = f->dport;
	rv.rev.svc_id = svc;
	rv.rev.backend_id = be;
	assert_int_equal(bpf_map_update_elem(pr->maps.nat_rev, &t, &rv, BPF_NOEXIST), 0);
	return t;
}

static void set_conns(__u32 slot, __s64 v)
{
	struct sluice_conns c = { .active = v };

	assert_int_equal(bpf_map_update_elem(pr->maps.conns, &slot, &c, BPF_ANY), 0);
}

static __s64 conns(__u32 slot)
{
	__s64 v = -1;

	assert_int_equal(maps_read_conns(&pr->maps, slot, &v), 0);
	return v;
}

static int present(int fd, const void *key)
{
	char value[64];

	return !bpf_map_lookup_elem(fd, key, value);
}

static void test_sweep_expiry_and_counts(void **state)
{
	struct sluice_svc_key nat, udp;
	struct sluice_flow_key f[10], twin[3], lone, lone_fwd, pend, pend_fwd;
	struct sluice_syn syn = { .tries = 1 };
	struct sluice_nat_rev_ent rv;
	struct sweep_report r;
	__u32 sn, su, be;
	__u64 now;
	size_t i;

	(void)state;
	SKIP_UNLESS_READY();
	nat = svctest_key("192.0.2.80", 80, IPPROTO_TCP);
	udp = svctest_key("192.0.2.81", 53, IPPROTO_UDP);
	sn = add_svc(&nat, SLUICE_MODE_NAT, 100, 1000);
	su = add_svc(&udp, SLUICE_MODE_LOCAL, 100, 0);
	svctest_add_be(&nat, "10.9.0.1", 8080, 0);
	be = svctest_add_be(&nat, "10.9.0.2", 8080, 0);
	now = clock_mono_ns();

	/* 3 established, counted, recent: kept and counted. */
	for (i = 0; i < 3; i++) {
		f[i] = flow_key(&nat, "198.51.100.1", (__u16)(1000 + i));
		put_flow(&f[i], sn, be, now - 10 * SEC_NS, now,
			 SLUICE_FLOW_COUNTED | SLUICE_FLOW_COUNTED_GLOBAL |
				 SLUICE_FLOW_ESTABLISHED);
	}
	/* 2 handshakes unanswered for 5 s (> syn-timeout 1 s), with twins: expired, failures. */
	for (i = 3; i < 5; i++) {
		f[i] = flow_key(&nat, "198.51.100.2", (__u16)(2000 + i));
		put_flow(&f[i], sn, be, now - 5 * SEC_NS, now - 5 * SEC_NS,
			 SLUICE_FLOW_COUNTED | SLUICE_FLOW_COUNTED_GLOBAL);
		twin[i - 3] = put_twin(&f[i], "10.9.0.2", 8080, sn, be);
	}
	/* A handshake 0.5 s old: kept (and counted). */
	f[5] = flow_key(&nat, "198.51.100.3", 3000);
	put_flow(&f[5], sn, be, now - SEC_NS / 2, now - SEC_NS / 2, SLUICE_FLOW_COUNTED);
	twin[2] = put_twin(&f[5], "10.9.0.2", 8080, sn, be);
	/* UDP idle 40 s (> 30 s default): expired; UDP idle 1 s: kept, counted. */
	f[6] = flow_key(&udp, "198.51.100.4", 4000);
	put_flow(&f[6], su, SLUICE_NO_BACKEND, now - 60 * SEC_NS, now - 40 * SEC_NS,
		 SLUICE_FLOW_COUNTED);
	f[7] = flow_key(&udp, "198.51.100.4", 4001);
	put_flow(&f[7], su, SLUICE_NO_BACKEND, now - 60 * SEC_NS, now - SEC_NS,
		 SLUICE_FLOW_COUNTED);
	/* Established TCP idle 100 s (> tcp-idle 60 s): expired. */
	assert_int_equal(res_global_set(&pr->maps, 0, 0, 1, 60, NULL), 0);
	f[8] = flow_key(&nat, "198.51.100.5", 5000);
	put_flow(&f[8], sn, be, now - 200 * SEC_NS, now - 100 * SEC_NS,
		 SLUICE_FLOW_COUNTED | SLUICE_FLOW_ESTABLISHED);
	/* A flow of a service that is gone (id 77): an orphan. */
	f[9] = flow_key(&nat, "198.51.100.6", 6000);
	put_flow(&f[9], 77, be, now, now, SLUICE_FLOW_COUNTED | SLUICE_FLOW_ESTABLISHED);
	/* A twin whose forward flow was evicted: deleted. */
	lone_fwd = flow_key(&nat, "198.51.100.7", 7000);
	lone = put_twin(&lone_fwd, "10.9.0.2", 8080, sn, be);
	/* A twin of a pending handshake (sl_syn_v2: no flow before the client's ACK): kept. */
	pend_fwd = flow_key(&nat, "198.51.100.8", 8000);
	pend = put_twin(&pend_fwd, "10.9.0.2", 8080, sn, be);
	syn.tried[0] = be;
	syn.svc_id = sn;
	syn.created = now - SEC_NS / 2;
	assert_int_equal(bpf_map_update_elem(pr->maps.syn, &pend_fwd, &syn, BPF_ANY), 0);
	/* Counts gone wrong. */
	set_conns(sn, 100);
	set_conns(su, -4);
	set_conns(SLUICE_CONNS_GLOBAL, 50);

	assert_int_equal(sweep_run(&pr->maps, now, &r), 0);
	assert_true(r.flows == 10);
	assert_true(r.active == 5); /* the 3 established, the young handshake, the live UDP flow */
	assert_true(r.expired_syn == 2);
	assert_true(r.expired_udp == 1);
	assert_true(r.expired_idle == 1);
	assert_true(r.orphans == 1);
	assert_true(r.nat_rev == 3); /* two twins, one orphan twin */
	assert_true(r.released == 2 * 2 + 1 + 1 + 1);
	assert_int_equal(r.nfailures, 1);
	assert_int_equal(r.failures[0].backend_id, be);
	assert_int_equal(r.failures[0].svc_id, sn);
	assert_int_equal(r.failures[0].count, 2);
	assert_int_equal(r.nfixes, 3);
	printf("# sweep of 10 flows: %llu us\n", (unsigned long long)(r.duration_ns / 1000));
	sweep_report_free(&r);

	for (i = 0; i < 10; i++) {
		int keep = i < 3 || i == 5 || i == 7;

		if (present(pr->maps.flows, &f[i]) != keep)
			fail_msg("flow %zu: want %s", i, keep ? "kept" : "deleted");
	}
	assert_false(present(pr->maps.nat_rev, &twin[0]));
	assert_false(present(pr->maps.nat_rev, &twin[1]));
	assert_true(present(pr->maps.nat_rev, &twin[2]));
	assert_false(present(pr->maps.nat_rev, &lone));
	assert_true(present(pr->maps.nat_rev, &pend));
	(void)rv;
	assert_int_equal(conns(sn), 4);			 /* 3 established + 1 young handshake */
	assert_int_equal(conns(su), 1);			 /* the live UDP flow */
	assert_int_equal(conns(SLUICE_CONNS_GLOBAL), 3); /* the 3 established */
	assert_int_equal(conns(5), 0);

	/*
	 * Active flows (what a gateway's drain waits on): f[0] half-closed in
	 * nat still is; f[1], closed both ways, and f[2], idle 3 s, are not.
	 */
	set_flow(&f[0], SLUICE_FLOW_FIN_CLIENT, 0);
	set_flow(&f[1], SLUICE_FLOW_FIN_CLIENT | SLUICE_FLOW_FIN_BACKEND, 0);
	set_flow(&f[2], 0, now - 3 * SEC_NS);
	/* A second sweep finds nothing to do. */
	assert_int_equal(sweep_run(&pr->maps, now, &r), 0);
	assert_true(r.flows == 5);
	assert_true(r.active == 3);
	assert_int_equal(r.nfixes, 0);
	assert_int_equal(r.nfailures, 0);
	assert_true(r.released == 0);
	sweep_report_free(&r);
	/* The count is corrected by adds: a concurrent take (+1) is not lost. */
	set_conns(sn, 7);
	assert_int_equal(sweep_run(&pr->maps, now, &r), 0);
	assert_int_equal(conns(sn), 4);
	sweep_report_free(&r);
	assert_int_equal(svc_del(&pr->maps, &nat, NULL), 0);
	assert_int_equal(svc_del(&pr->maps, &udp, NULL), 0);
	/* Flows of the deleted services are orphans now. */
	assert_int_equal(sweep_run(&pr->maps, now, &r), 0);
	assert_true(r.orphans == 5);
	assert_true(r.nat_rev == 1);
	sweep_report_free(&r);
}

/* A pending handshake of service svc from client:sport to k, on tried[0 .. n), created at t. */
static struct sluice_flow_key put_syn(const struct sluice_svc_key *k, const char *client,
				      __u16 sport, __u32 svc, const __u32 *tried, __u8 n, __u64 t,
				      __u8 state)
{
	struct sluice_flow_key f = flow_key(k, client, sport);
	struct sluice_syn v;

	memset(&v, 0, sizeof(v));
	memcpy(v.tried, tried, n * sizeof(*tried));
	v.tries = n;
	v.svc_id = svc;
	v.created = t;
	v.state = state;
	assert_int_equal(bpf_map_update_elem(pr->maps.syn, &f, &v, BPF_NOEXIST), 0);
	return f;
}

/*
 * Empty hash map fd (the earlier tests' leftovers: an LRU's deletions and
 * evictions depend on timing, so what they leave varies from run to run).
 */
static void map_empty(int fd, size_t key_size)
{
	unsigned char key[64];

	assert_true(key_size <= sizeof(key));
	while (!bpf_map_get_next_key(fd, NULL, key))
		assert_int_equal(bpf_map_delete_elem(fd, key), 0);
}

/* Failures the report holds for backend id (0 when none). */
static __u32 failures_of(const struct sweep_report *r, __u32 id)
{
	size_t i;

	for (i = 0; i < r->nfailures; i++)
		if (r->failures[i].backend_id == id)
			return r->failures[i].count;
	return 0;
}

/*
 * Pending handshakes (a SYN makes no flow) past their service's
 * syn-timeout: unanswered, a SYN timeout of the backend they are on now
 * (the last tried), deleted with their nat twin; answered (the client
 * never completed), deleted without a failure; ipip (no SYN-ACK seen
 * there), a failure as its SYN_SENT flows were; younger ones kept.
 */
static void test_sweep_pending(void **state)
{
	struct sluice_flow_key unans, answ, young, tun, gone, t_unans, t_answ, t_young;
	struct sluice_svc_key nat, ipip, old;
	__u32 sn, si, so, b1, b2, bi, tried[2];
	struct sweep_report r;
	__u64 now;

	(void)state;
	SKIP_UNLESS_READY();
	/* Only this test's records: the counts below are exact. */
	map_empty(pr->maps.flows, sizeof(struct sluice_flow_key));
	map_empty(pr->maps.nat_rev, sizeof(struct sluice_flow_key));
	map_empty(pr->maps.syn, sizeof(struct sluice_flow_key));
	nat = svctest_key("192.0.2.100", 80, IPPROTO_TCP);
	ipip = svctest_key("2001:db8:5c::100", 443, IPPROTO_TCP);
	old = svctest_key("192.0.2.101", 80, IPPROTO_TCP);
	sn = add_svc(&nat, SLUICE_MODE_NAT, 100, 1000);
	si = add_svc(&ipip, SLUICE_MODE_IPIP, 100, 2000);
	so = add_svc(&old, SLUICE_MODE_NAT, 100, 1000);
	b1 = svctest_add_be(&nat, "10.9.2.1", 8080, 0);
	b2 = svctest_add_be(&nat, "10.9.2.2", 8080, 0);
	bi = svctest_add_be(&ipip, "2001:db8:5d::1", 443, 0);
	assert_int_equal(svc_del(&pr->maps, &old, NULL), 0);
	now = clock_mono_ns();
	tried[0] = b1;
	tried[1] = b2;

	/* Unanswered 1.5 s (> 1 s), moved from b1 to b2: b2's failure. */
	unans = put_syn(&nat, "198.51.100.20", 2000, sn, tried, 2, now - 3 * SEC_NS / 2, 0);
	t_unans = put_twin(&unans, "10.9.2.2", 8080, sn, b2);
	/* Answered 5 s ago, never completed: no failure. */
	answ = put_syn(&nat, "198.51.100.20", 2001, sn, tried, 1, now - 5 * SEC_NS,
		       SLUICE_SYN_ANSWERED);
	t_answ = put_twin(&answ, "10.9.2.1", 8080, sn, b1);
	/* Unanswered 0.9 s: kept, and its twin. */
	young = put_syn(&nat, "198.51.100.20", 2002, sn, tried, 1, now - 9 * SEC_NS / 10, 0);
	t_young = put_twin(&young, "10.9.2.1", 8080, sn, b1);
	/* ipip, 2.5 s (> 2 s): its failure. */
	tun = put_syn(&ipip, "2001:db8:c::20", 3000, si, &bi, 1, now - 5 * SEC_NS / 2, 0);
	/* Of a deleted service, past its timeout: an orphan, no failure. */
	gone = put_syn(&old, "198.51.100.21", 4000, so, tried, 1, now - 5 * SEC_NS, 0);

	assert_int_equal(sweep_run(&pr->maps, now, &r), 0);
	assert_true(r.expired_syn == 2);
	assert_true(r.orphans == 1);
	assert_true(r.nat_rev == 2);
	assert_true(r.released == 0);
	assert_int_equal(r.nfailures, 2);
	assert_int_equal(failures_of(&r, b2), 1);
	assert_int_equal(failures_of(&r, bi), 1);
	assert_int_equal(failures_of(&r, b1), 0);
	sweep_report_free(&r);
	assert_false(present(pr->maps.syn, &unans));
	assert_false(present(pr->maps.syn, &answ));
	assert_false(present(pr->maps.syn, &tun));
	assert_false(present(pr->maps.syn, &gone));
	assert_true(present(pr->maps.syn, &young));
	assert_false(present(pr->maps.nat_rev, &t_unans));
	assert_false(present(pr->maps.nat_rev, &t_answ));
	assert_true(present(pr->maps.nat_rev, &t_young));

	/* Past its timeout later, the young one is a failure of b1. */
	assert_int_equal(sweep_run(&pr->maps, now + SEC_NS / 5, &r), 0);
	assert_true(r.expired_syn == 1);
	assert_int_equal(r.nfailures, 1);
	assert_int_equal(failures_of(&r, b1), 1);
	sweep_report_free(&r);
	assert_false(present(pr->maps.syn, &young));
	assert_false(present(pr->maps.nat_rev, &t_young));
	assert_int_equal(svc_del(&pr->maps, &nat, NULL), 0);
	assert_int_equal(svc_del(&pr->maps, &ipip, NULL), 0);
}

/* 10 000 connections opened and abandoned: one sweep gives every slot back. */
static void test_sweep_abandoned(void **state)
{
	struct sluice_svc_key k;
	struct sluice_flow_key f;
	struct sweep_report r;
	__u32 sid, be, i;
	__u64 now;

	(void)state;
	SKIP_UNLESS_READY();
	k = svctest_key("192.0.2.90", 80, IPPROTO_TCP);
	sid = add_svc(&k, SLUICE_MODE_NAT, 20000, 2000);
	be = svctest_add_be(&k, "10.9.1.1", 80, 0);
	now = clock_mono_ns();
	for (i = 0; i < 10000; i++) {
		f = flow_key(&k, "198.51.100.9", 0);
		f.src.u8[14] = (__u8)(i >> 8);
		f.src.u8[15] = (__u8)i;
		f.sport = htons((__u16)(1024 + i));
		put_flow(&f, sid, be, now - 3 * SEC_NS, now - 3 * SEC_NS,
			 SLUICE_FLOW_COUNTED | SLUICE_FLOW_COUNTED_GLOBAL);
	}
	set_conns(sid, 10000);
	set_conns(SLUICE_CONNS_GLOBAL, 10000);
	/* Before the SYN timeout nothing goes. */
	assert_int_equal(sweep_run(&pr->maps, now - 2 * SEC_NS, &r), 0);
	assert_true(r.expired_syn == 0);
	assert_int_equal(conns(sid), 10000);
	sweep_report_free(&r);
	assert_int_equal(sweep_run(&pr->maps, now, &r), 0);
	printf("# sweep of 10000 abandoned flows: %llu us (%llu flows walked, %llu expired)\n",
	       (unsigned long long)(r.duration_ns / 1000), (unsigned long long)r.flows,
	       (unsigned long long)r.expired_syn);
	assert_true(r.expired_syn == 10000);
	assert_int_equal(r.nfailures, 1);
	assert_int_equal(r.failures[0].count, 10000);
	sweep_report_free(&r);
	assert_int_equal(conns(sid), 0);
	assert_int_equal(conns(SLUICE_CONNS_GLOBAL), 0);
	assert_int_equal(svc_del(&pr->maps, &k, NULL), 0);
}

/*
 * A CQRS service has two keys with one id: flows on its write port are its
 * flows (kept, their slots counted), not orphans; maps_svc_list() lists the
 * service once, by its read port, and maps_svc_list_all() both keys.
 */
static void test_sweep_write_port(void **state)
{
	struct maps_svc_entry *list = NULL;
	struct sluice_svc_key k, wk;
	struct sluice_flow_key fr, fw;
	struct sweep_report r;
	struct sluice_svc s;
	struct svc_conf c;
	size_t n = 0;
	__u32 be;
	__u64 now;

	(void)state;
	SKIP_UNLESS_READY();
	k = svctest_key("192.0.2.91", 5432, IPPROTO_TCP);
	wk = svctest_key("192.0.2.91", 5433, IPPROTO_TCP);
	memset(&c, 0, sizeof(c));
	c.has_mode = 1;
	c.mode = SLUICE_MODE_NAT;
	c.has_write_port = 1;
	c.write_port = 5433;
	c.res.has = RES_HAS_MAX_CONNS;
	c.res.max_conns = 100;
	if (svc_add(&pr->maps, &k, &c, &s))
		fail_msg("svc_add: %s", err_msg());
	be = svctest_add_be(&k, "10.9.2.1", 5432, 0);
	assert_int_equal(maps_svc_list(&pr->maps, &list, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].key.port, k.port);
	free(list);
	assert_int_equal(maps_svc_list_all(&pr->maps, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(list[0].key.port, k.port);
	assert_int_equal(list[1].key.port, wk.port);
	assert_true(list[1].svc.flags & SLUICE_SVC_F_LEADER);
	free(list);
	now = clock_mono_ns();
	fr = flow_key(&k, "198.51.100.20", 40000);
	fw = flow_key(&wk, "198.51.100.20", 40001);
	put_flow(&fr, s.id, be, now - SEC_NS, now - SEC_NS,
		 SLUICE_FLOW_ESTABLISHED | SLUICE_FLOW_COUNTED);
	put_flow(&fw, s.id, be, now - SEC_NS, now - SEC_NS,
		 SLUICE_FLOW_ESTABLISHED | SLUICE_FLOW_COUNTED);
	set_conns(s.id, 7);
	assert_int_equal(sweep_run(&pr->maps, now, &r), 0);
	sweep_report_free(&r);
	assert_true(present(pr->maps.flows, &fr));
	assert_true(present(pr->maps.flows, &fw));
	assert_int_equal(conns(s.id), 2);
	assert_int_equal(svc_del(&pr->maps, &k, NULL), 0);
}

/* Settings: ranges, the whole checked, fallback, critical replace, del clears. */
static void test_res_settings(void **state)
{
	struct sluice_shard_key *keys = NULL;
	struct sluice_svc_key k;
	struct sluice_svc_res v;
	struct svc_conf c;
	struct be_ref ref;
	size_t n = 0;
	__u32 sid, b1;

	(void)state;
	SKIP_UNLESS_READY();
	k = svctest_key("192.0.2.100", 80, IPPROTO_TCP);
	sid = add_svc(&k, SLUICE_MODE_NAT, 50, 0);
	svctest_add_be(&k, "10.9.2.1", 80, 0);
	b1 = svctest_add_be(&k, "10.9.2.2", 80, 0);

	memset(&c, 0, sizeof(c));
	c.res.has = RES_HAS_RESERVED | RES_HAS_CRITICAL | RES_HAS_FALLBACK | RES_HAS_ON_OPEN;
	c.res.reserved = 10;
	c.res.critical = "10.0.0.0/8,2001:db8::/32";
	assert_int_equal(addr_parse("10.9.2.2", &c.res.fallback.addr), 0);
	c.res.on_open = SLUICE_ON_OPEN_FALLBACK;
	if (svc_set(&pr->maps, &k, &c, NULL))
		fail_msg("svc_set: %s", err_msg());
	assert_int_equal(res_get(&pr->maps, sid, &v), 0);
	assert_int_equal(v.max_conns, 50);
	assert_int_equal(v.reserved, 10);
	assert_int_equal(v.fallback_be, b1 + 1);
	assert_int_equal(v.on_open, SLUICE_ON_OPEN_FALLBACK);
	assert_int_equal(res_critical_list(&pr->maps, sid, &keys, &n), 0);
	assert_int_equal(n, 2);
	free(keys);

	/* Refused as a whole: a bad reserve next to a good critical list changes nothing. */
	memset(&c, 0, sizeof(c));
	c.res.has = RES_HAS_RESERVED | RES_HAS_CRITICAL;
	c.res.reserved = 50;
	c.res.critical = "192.168.0.0/16";
	assert_int_equal(svc_set(&pr->maps, &k, &c, NULL), -EINVAL);
	assert_int_equal(res_critical_list(&pr->maps, sid, &keys, &n), 0);
	assert_int_equal(n, 2);
	free(keys);
	/* A fallback that is not a backend of the service. */
	memset(&c, 0, sizeof(c));
	c.res.has = RES_HAS_FALLBACK;
	assert_int_equal(addr_parse("10.9.2.9", &c.res.fallback.addr), 0);
	assert_int_equal(svc_set(&pr->maps, &k, &c, NULL), -ENOENT);
	/* successes > probes, wait-max < wait. */
	memset(&c, 0, sizeof(c));
	c.res.has = RES_HAS_BRK_SUCCESSES;
	c.res.brk_successes = 4;
	assert_int_equal(svc_set(&pr->maps, &k, &c, NULL), -EINVAL);
	c.res.has = RES_HAS_BRK_WAIT;
	c.res.brk_wait_ms = 400000;
	assert_int_equal(svc_set(&pr->maps, &k, &c, NULL), -EINVAL);
	/* The fallback cannot be deleted while it is one. */
	memset(&ref, 0, sizeof(ref));
	assert_int_equal(addr_parse("10.9.2.2", &ref.addr), 0);
	assert_int_equal(backend_del(&pr->maps, &k, &ref, NULL, NULL), -EBUSY);
	/* Critical replaced, then none. */
	memset(&c, 0, sizeof(c));
	c.res.has = RES_HAS_CRITICAL;
	c.res.critical = "10.0.0.0/8,192.168.1.0/24";
	assert_int_equal(svc_set(&pr->maps, &k, &c, NULL), 0);
	assert_int_equal(res_critical_list(&pr->maps, sid, &keys, &n), 0);
	assert_int_equal(n, 2);
	free(keys);
	c.res.critical = "none";
	assert_int_equal(svc_set(&pr->maps, &k, &c, NULL), 0);
	assert_int_equal(res_critical_list(&pr->maps, sid, &keys, &n), 0);
	assert_int_equal(n, 0);
	free(keys);
	/* Delete clears settings, prefixes and the connection count. */
	c.res.critical = "10.0.0.0/8";
	assert_int_equal(svc_set(&pr->maps, &k, &c, NULL), 0);
	set_conns(sid, 9);
	assert_int_equal(svc_del(&pr->maps, &k, NULL), 0);
	assert_int_equal(res_get(&pr->maps, sid, &v), 0);
	assert_int_equal(v.max_conns, 0);
	assert_int_equal(v.fallback_be, 0);
	assert_int_equal(res_critical_list(&pr->maps, sid, &keys, &n), 0);
	assert_int_equal(n, 0);
	free(keys);
	assert_int_equal(conns(sid), 0);
}

/* The ring buffer and the mmapable array are reused from their pins by a second load. */
static void test_pin_reuse(void **state)
{
	struct sluice_maps m2;
	struct bpf_map_info a, b;
	__u32 la = sizeof(a), lb = sizeof(b);

	(void)state;
	SKIP_UNLESS_READY();
	set_conns(3, 42);
	assert_int_equal(loader_maps_ensure(pr->root), 0);
	assert_int_equal(maps_open(&m2, pr->root), 0);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	assert_int_equal(bpf_obj_get_info_by_fd(pr->maps.events, &a, &la), 0);
	assert_int_equal(bpf_obj_get_info_by_fd(m2.events, &b, &lb), 0);
	assert_int_equal(a.id, b.id);
	assert_int_equal(bpf_obj_get_info_by_fd(pr->maps.conns, &a, &la), 0);
	assert_int_equal(bpf_obj_get_info_by_fd(m2.conns, &b, &lb), 0);
	assert_int_equal(a.id, b.id);
	assert_true(b.map_flags & BPF_F_MMAPABLE);
	maps_close(&m2);
	assert_int_equal(conns(3), 42);
	set_conns(3, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep_expiry_and_counts),
		cmocka_unit_test(test_sweep_abandoned),
		cmocka_unit_test(test_sweep_pending),
		cmocka_unit_test(test_sweep_write_port),
		cmocka_unit_test(test_res_settings),
		cmocka_unit_test(test_pin_reuse),
	};

	return cmocka_run_group_tests(tests, pinroot_group_setup, pinroot_group_teardown);
}
