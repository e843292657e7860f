// SPDX-License-Identifier: GPL-2.0-only
/*
 * userspace/net/nbrtab.c: which neighbour events make the data plane's
 * cached next hops stale. A state change alone does not; a new link-layer
 * address, a failure or a removal of a known neighbour does, and so does
 * the first event of one not known (what it had before is not known).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "nbrtab.h"

static const unsigned char mac_a[6] = { 2, 0, 0, 0, 0, 0xa };
static const unsigned char mac_b[6] = { 2, 0, 0, 0, 0, 0xb };

/* A neighbour event of IPv4 address 10.0.x.y (x.y = n) on ifindex. */
static int ev4(struct nbrtab *t, int gone, int ifindex, unsigned n, int usable,
	       const unsigned char *mac)
{
	unsigned char dst[4] = { 10, 0, (unsigned char)(n >> 8), (unsigned char)n };

	return nbrtab_event(t, gone, ifindex, 2, dst, sizeof(dst), usable, mac, mac ? 6 : 0);
}

static void test_state_change_alone(void **state)
{
	struct nbrtab *t = nbrtab_new(16);

	(void)state;
	assert_non_null(t);
	assert_int_equal(ev4(t, 0, 1, 1, 1, mac_a), 1); /* first seen */
	assert_int_equal(ev4(t, 0, 1, 1, 1, mac_a), 0); /* REACHABLE -> STALE, same MAC */
	assert_int_equal(ev4(t, 0, 1, 1, 1, mac_b), 1); /* a new MAC */
	assert_int_equal(ev4(t, 0, 1, 1, 1, mac_b), 0);
	/* Another interface, family or address is another neighbour. */
	assert_int_equal(ev4(t, 0, 2, 1, 1, mac_b), 1);
	assert_int_equal(ev4(t, 0, 1, 2, 1, mac_b), 1);
	{
		unsigned char dst6[16] = { 0x20, 0x01, 0x0d, 0xb8 };

		assert_int_equal(nbrtab_event(t, 0, 1, 10, dst6, 16, 1, mac_b, 6), 1);
		assert_int_equal(nbrtab_event(t, 0, 1, 10, dst6, 16, 1, mac_b, 6), 0);
	}
	nbrtab_free(t);
}

static void test_failed_and_gone(void **state)
{
	struct nbrtab *t = nbrtab_new(16);

	(void)state;
	assert_int_equal(ev4(t, 0, 1, 1, 1, mac_a), 1);
	assert_int_equal(ev4(t, 0, 1, 1, 0, NULL), 1); /* FAILED: known, so a change */
	/* Still failed: nothing cached leads there. */
	assert_int_equal(ev4(t, 0, 1, 1, 0, NULL), 0);
	assert_int_equal(ev4(t, 0, 1, 1, 1, mac_a), 1); /* resolved again */
	assert_int_equal(ev4(t, 1, 1, 1, 1, mac_a), 1); /* RTM_DELNEIGH */
	assert_int_equal(ev4(t, 1, 1, 1, 1, mac_a), 0);
	/* INCOMPLETE -> FAILED of an address never resolved: no change. */
	assert_int_equal(ev4(t, 0, 1, 9, 0, NULL), 0);
	nbrtab_free(t);
}

static void test_full_and_cleared(void **state)
{
	struct nbrtab *t = nbrtab_new(2);

	(void)state;
	assert_int_equal(ev4(t, 0, 1, 1, 1, mac_a), 1);
	assert_int_equal(ev4(t, 0, 1, 2, 1, mac_a), 1);
	/* Past the capacity: not remembered, every event a change. */
	assert_int_equal(ev4(t, 0, 1, 3, 1, mac_a), 1);
	assert_int_equal(ev4(t, 0, 1, 3, 1, mac_a), 1);
	assert_int_equal(ev4(t, 0, 1, 1, 1, mac_a), 0);
	/* Events lost: forgotten, so the next event of each counts. */
	nbrtab_clear(t);
	assert_int_equal(ev4(t, 0, 1, 1, 1, mac_a), 1);
	assert_int_equal(ev4(t, 0, 1, 1, 1, mac_a), 0);
	/* An address longer than 16 bytes is not judged. */
	{
		unsigned char big[20] = { 0 };

		assert_int_equal(nbrtab_event(t, 0, 1, 2, big, sizeof(big), 1, mac_a, 6), 1);
	}
	nbrtab_free(t);
}

/* Many in, every other one out (backward-shift deletion), the rest still known. */
static void test_many(void **state)
{
	struct nbrtab *t = nbrtab_new(4096);
	unsigned n;

	(void)state;
	for (n = 0; n < 4000; n++)
		assert_int_equal(ev4(t, 0, 1 + n % 3, n, 1, mac_a), 1);
	for (n = 0; n < 4000; n += 2)
		assert_int_equal(ev4(t, 1, 1 + n % 3, n, 0, NULL), 1);
	for (n = 0; n < 4000; n++)
		assert_int_equal(ev4(t, 0, 1 + n % 3, n, 1, mac_a), n % 2 == 0);
	nbrtab_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_change_alone),
		cmocka_unit_test(test_failed_and_gone),
		cmocka_unit_test(test_full_and_cleared),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
