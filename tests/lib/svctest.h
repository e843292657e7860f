/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * svctest: what the cmocka tests of services and backends do over and
 * over: a service key from text, a service or a backend added through the
 * library to pinroot_group's maps, a backend reference. Each helper asserts
 * (a failure names what failed), so it is header-only: the objects in
 * tests/lib do not link cmocka, the benchmark shares them.
 */
#ifndef SLUICE_SVCTEST_H
#define SLUICE_SVCTEST_H

#include <string.h>

#include "addr.h"
#include "backend.h"
#include "err.h"
#include "pinroot.h"
#include "svc.h"

/* The key of service addr port proto (port in host order). */
static inline struct sluice_svc_key svctest_key(const char *addr, __u16 port, __u8 proto)
{
	union sluice_addr a;
	struct sluice_svc_key k;

	assert_int_equal(addr_parse(addr, &a), 0);
	assert_int_equal(svc_key_make(&a, port, proto, &k), 0);
	return k;
}

/* A service's settings: mode, Maglev size, write port (0: none). */
static inline struct svc_conf svctest_conf(__u8 mode, __u32 maglev_size, __u16 write_port)
{
	struct svc_conf c;

	memset(&c, 0, sizeof(c));
	c.has_mode = 1;
	c.mode = mode;
	c.has_maglev_size = 1;
	c.maglev_size = maglev_size;
	c.has_write_port = !!write_port;
	c.write_port = write_port;
	return c;
}

/* Add service k with conf c to pinroot_group's maps: its id. */
static inline __u32 svctest_add_svc(const struct sluice_svc_key *k, const struct svc_conf *c)
{
	struct sluice_svc s;

	if (svc_add(&pinroot_group.maps, k, c, &s))
		fail_msg("svc_add: %s", err_msg());
	return s.id;
}

/* Add backend addr to service k: port and weight when not 0. Its id. */
static inline __u32 svctest_add_be(const struct sluice_svc_key *k, const char *addr, __u16 port,
				   __u32 weight)
{
	struct be_conf c;
	__u32 id = SLUICE_NO_BACKEND;

	memset(&c, 0, sizeof(c));
	assert_int_equal(addr_parse(addr, &c.addr), 0);
	c.has_port = port != 0;
	c.port = port;
	c.has_weight = weight != 0;
	c.weight = weight;
	if (backend_add(&pinroot_group.maps, k, &c, &id, NULL))
		fail_msg("backend_add: %s", err_msg());
	return id;
}

/* The reference to backend addr, with port when not 0. */
static inline struct be_ref svctest_ref(const char *addr, __u16 port)
{
	struct be_ref r;

	memset(&r, 0, sizeof(r));
	assert_int_equal(addr_parse(addr, &r.addr), 0);
	r.has_port = port != 0;
	r.port = port;
	return r;
}

#endif
