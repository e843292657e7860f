// SPDX-License-Identifier: GPL-2.0-only
/*
 * loader/localaddr.c against a real sl_local_addr (a private pin root, removed
 * at the end): a sync puts this host's addresses in (loopback's 127.0.0.1
 * and ::1 at least, as in every network namespace with lo up), removes an
 * entry no interface holds, and a second sync changes nothing. Needs root
 * and a mounted bpffs; SKIPPED with the reason otherwise.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "addr.h"
#include "loader.h"
#include "pinroot.h"

static struct pinroot *const pr = &pinroot_group;

static int present(const char *text)
{
	struct sluice_local_addr v;
	union sluice_addr k;
	char path[PATH_MAX + 32];
	int fd, r;

	assert_int_equal(addr_parse(text, &k), 0);
	snprintf(path, sizeof(path), "%s/%s", pr->root, SLUICE_MAP_LOCAL_ADDR);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	r = !bpf_map_lookup_elem(fd, &k, &v);
	close(fd);
	return r;
}

static void put(const char *text)
{
	struct sluice_local_addr v = { 0 };
	union sluice_addr k;
	char path[PATH_MAX + 32];
	int fd;

	assert_int_equal(addr_parse(text, &k), 0);
	snprintf(path, sizeof(path), "%s/%s", pr->root, SLUICE_MAP_LOCAL_ADDR);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
	close(fd);
}

static void test_sync(void **unused)
{
	struct loader_local_sync res;

	(void)unused;
	PINROOT_SKIP_UNLESS_READY(pr);
	/* An address no interface holds (TEST-NET-3), as if it had been removed. */
	put("203.0.113.254");
	assert_true(present("203.0.113.254"));
	assert_int_equal(loader_local_addrs_sync_root(pr->root, &res), 0);
	assert_false(present("203.0.113.254"));
	assert_int_equal(res.removed, 1);
	assert_true(res.count >= 1);
	assert_true(present("127.0.0.1"));
	assert_int_equal(res.skipped, 0);
	/* Again: nothing to remove, the same addresses. */
	{
		size_t n = res.count;

		assert_int_equal(loader_local_addrs_sync_root(pr->root, &res), 0);
		assert_int_equal(res.removed, 0);
		assert_int_equal(res.count, n);
	}
	/* No pins there: -ENOENT, which sluiced takes as "nothing attached yet". */
	assert_int_equal(loader_local_addrs_sync_root("/sys/fs/bpf/no-such-sluice-root", &res),
			 -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sync),
	};

	return cmocka_run_group_tests(tests, pinroot_group_setup, pinroot_group_teardown);
}
