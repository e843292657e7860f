// SPDX-License-Identifier: GPL-2.0-only
/*
 * The stateless nat return table (userspace/dataplane/berev.c, issue 14):
 * berev_resolve() on hand-made candidates (pure), then sl_be_rev as the
 * library publishes it while services and backends change under a private
 * pin root (an entry per unambiguous backend; a backend shared by two
 * service ports, or by a service's read and write ports, left out; a
 * deleted service's entries gone; a deferred group published once at its
 * end), and state_berev_conflicts() on a config text. The maps part needs
 * root and a mounted bpffs; SKIPPED with the reason otherwise.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "berev.h"
#include "config.h"
#include "pinroot.h"
#include "publish.h"
#include "state.h"
#include "svctest.h"

static struct pinroot *const pr = &pinroot_group;

#define SKIP_UNLESS_READY() PINROOT_SKIP_UNLESS_READY(pr)

static void add(struct berev_entry **v, size_t *n, size_t *cap, const char *vip, __u16 vport,
		__u32 svc, __u32 be, const char *baddr, __u16 bport)
{
	struct sluice_svc_key k = svctest_key(vip, vport, IPPROTO_TCP);
	union sluice_addr a;

	assert_int_equal(addr_parse(baddr, &a), 0);
	assert_int_equal(berev_add(v, n, cap, &k, svc, be, &a, htons(bport)), 0);
}

static void test_resolve(void **state)
{
	struct berev_conflict cf[8];
	struct berev_entry *v = NULL;
	size_t n = 0, cap = 0, kept, nc;

	(void)state;
	/* Unambiguous; the same translation twice (lowest id kept); shared by two ports. */
	add(&v, &n, &cap, "10.0.0.1", 80, 1, 7, "10.1.0.2", 8080);
	add(&v, &n, &cap, "10.0.0.1", 80, 1, 9, "10.1.0.3", 8080);
	add(&v, &n, &cap, "10.0.0.1", 80, 1, 8, "10.1.0.3", 8080);
	add(&v, &n, &cap, "10.0.0.1", 80, 1, 4, "10.1.0.4", 8080);
	add(&v, &n, &cap, "10.0.0.1", 81, 2, 5, "10.1.0.4", 8080);
	/* Port 0: the service port, so two service ports give two keys. */
	add(&v, &n, &cap, "10.0.0.1", 80, 1, 10, "10.1.0.5", 0);
	add(&v, &n, &cap, "10.0.0.1", 81, 2, 11, "10.1.0.5", 0);
	/* The other family: no candidate. */
	add(&v, &n, &cap, "10.0.0.1", 80, 1, 12, "2001:db8:b::2", 8080);
	assert_int_equal(n, 7);
	berev_resolve(v, n, &kept, cf, &nc);
	assert_int_equal(kept, 4);
	assert_int_equal(nc, 1);
	assert_int_equal(ntohs(cf[0].key.port), 8080);
	assert_int_equal(cf[0].a.svc_id + cf[0].b.svc_id, 3);
	assert_int_equal(v[0].rev.backend_id, 7);
	assert_int_equal(v[1].rev.backend_id, 8);
	assert_int_equal(v[2].rev.backend_id, 10);
	assert_int_equal(ntohs(v[2].rev.vport), 80);
	assert_int_equal(v[3].rev.backend_id, 11);
	assert_int_equal(ntohs(v[3].rev.vport), 81);
	free(v);
}

/* sl_be_rev's entry for backend:bport, as the data plane reads it: 1 with *r, or 0. */
static int be_rev_get(const char *backend, __u16 bport, struct sluice_nat_rev *r)
{
	struct sluice_be_rev_key k;

	memset(&k, 0, sizeof(k));
	assert_int_equal(addr_parse(backend, &k.addr), 0);
	k.port = htons(bport);
	k.proto = IPPROTO_TCP;
	return !bpf_map_lookup_elem(pr->maps.be_rev, &k, r);
}

static void test_publish(void **state)
{
	struct sluice_svc_key k1 = svctest_key("10.0.0.1", 80, IPPROTO_TCP);
	struct sluice_svc_key k2 = svctest_key("10.0.0.2", 80, IPPROTO_TCP);
	struct sluice_svc_key k6 = svctest_key("2001:db8::1", 443, IPPROTO_TCP);
	struct svc_conf c = svctest_conf(SLUICE_MODE_NAT, 1031, 0);
	struct sluice_nat_rev r;
	struct sluice_svc old;
	struct be_ref ref;
	__u32 s1, s6, b1, b6;

	(void)state;
	SKIP_UNLESS_READY();
	s1 = svctest_add_svc(&k1, &c);
	b1 = svctest_add_be(&k1, "10.1.0.2", 8080, 0);
	assert_true(be_rev_get("10.1.0.2", 8080, &r));
	assert_int_equal(r.svc_id, s1);
	assert_int_equal(r.backend_id, b1);
	assert_int_equal(ntohs(r.vport), 80);
	assert_memory_equal(&r.vip, &k1.addr, sizeof(r.vip));
	s6 = svctest_add_svc(&k6, &c);
	b6 = svctest_add_be(&k6, "2001:db8:b::2", 0, 0);
	assert_true(be_rev_get("2001:db8:b::2", 443, &r));
	assert_int_equal(r.svc_id, s6);
	assert_int_equal(r.backend_id, b6);

	/* A second service on the same backend address and port: neither translates. */
	svctest_add_svc(&k2, &c);
	svctest_add_be(&k2, "10.1.0.2", 8080, 0);
	assert_false(be_rev_get("10.1.0.2", 8080, &r));
	/* Gone again with the second service: the first's entry is back. */
	assert_int_equal(svc_del(&pr->maps, &k2, &old), 0);
	assert_true(be_rev_get("10.1.0.2", 8080, &r));
	assert_int_equal(r.svc_id, s1);

	/* A deferred group writes the table once, at its end. */
	publish_defer_begin();
	svctest_add_be(&k1, "10.1.0.3", 8080, 0);
	assert_false(be_rev_get("10.1.0.3", 8080, &r));
	assert_int_equal(publish_defer_end(NULL, pr->root), 0);
	assert_true(be_rev_get("10.1.0.3", 8080, &r));

	/* A backend deleted, then its whole service: their entries go. */
	ref = svctest_ref("10.1.0.3", 8080);
	assert_int_equal(backend_del(&pr->maps, &k1, &ref, NULL, NULL), 0);
	assert_false(be_rev_get("10.1.0.3", 8080, &r));
	assert_int_equal(svc_del(&pr->maps, &k1, &old), 0);
	assert_int_equal(svc_del(&pr->maps, &k6, &old), 0);
	assert_false(be_rev_get("10.1.0.2", 8080, &r));
	assert_false(be_rev_get("2001:db8:b::2", 443, &r));
}

/* A read and a write port over the same backend port: ambiguous. */
static void test_publish_write_port(void **state)
{
	struct sluice_svc_key k = svctest_key("10.0.0.3", 80, IPPROTO_TCP);
	struct svc_conf c = svctest_conf(SLUICE_MODE_NAT, 1031, 81);
	struct sluice_nat_rev r;
	struct sluice_svc old;

	(void)state;
	SKIP_UNLESS_READY();
	svctest_add_svc(&k, &c);
	svctest_add_be(&k, "10.1.0.4", 5432, 0);
	assert_false(be_rev_get("10.1.0.4", 5432, &r));
	assert_int_equal(svc_del(&pr->maps, &k, &old), 0);
}

static void test_state_conflicts(void **state)
{
	static const char yaml[] = "services:\n"
				   "  - address: 10.0.0.1\n    port: 80\n    protocol: tcp\n"
				   "    mode: nat\n"
				   "    backends:\n"
				   "      - address: 10.1.0.2\n        port: 8080\n"
				   "      - address: 10.1.0.3\n        port: 8080\n"
				   "  - address: 10.0.0.1\n    port: 81\n    protocol: tcp\n"
				   "    mode: nat\n"
				   "    backends:\n"
				   "      - address: 10.1.0.2\n        port: 8080\n"
				   "      - address: 10.1.0.3\n        port: 8081\n";
	struct berev_conflict *cf = NULL;
	char text[256];
	struct state s;
	size_t n = 0;

	(void)state;
	if (config_load_string("test", yaml, sizeof(yaml) - 1, &s))
		fail_msg("config: %s", err_msg());
	assert_int_equal(state_berev_conflicts(&s, &cf, &n), 0);
	assert_int_equal(n, 1);
	berev_conflict_text(&cf[0], text, sizeof(text));
	assert_non_null(
		strstr(text, "backend 10.1.0.2:8080/tcp serves both 10.0.0.1:80 and 10.0.0.1:81"));
	free(cf);
	state_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_publish),
		cmocka_unit_test(test_publish_write_port),
		cmocka_unit_test(test_state_conflicts),
	};

	return cmocka_run_group_tests(tests, pinroot_group_setup, pinroot_group_teardown);
}
