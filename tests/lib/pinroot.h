/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pinroot: the setup the unit tests against real maps share: the loader
 * creates and pins every map under a private pin root in /sys/fs/bpf, the
 * library opens them, and at the end every pin and the root are removed.
 * When that cannot run here (not root, no bpffs) the reason is kept so each
 * test says SKIPPED with it. No cmocka in the .c (the bench links it too);
 * PINROOT_SKIP_UNLESS_READY is for the cmocka tests themselves.
 */
#ifndef SLUICE_PINROOT_H
#define SLUICE_PINROOT_H

#include <limits.h>

#include "maps.h"

struct pinroot {
	char root[PATH_MAX];	 /* the pin root; "" when none was made */
	struct sluice_maps maps; /* opened from root */
	const char *skip_reason; /* set when the tests cannot run here */
};

/*
 * Quiet libbpf, make the pin root, create the maps and open them. 0 (with
 * skip_reason set when the tests must skip), or -1 after saying why on stderr.
 */
int pinroot_setup(struct pinroot *p);

/* Close the maps and remove the pin root, if any. */
void pinroot_teardown(struct pinroot *p);

/* Remove every pin under dir, then dir. */
void pinroot_remove(const char *dir);

/*
 * A test group against real maps: pinroot_group is its pin root, made by
 * the group setup and removed by its teardown (cmocka's signatures), the
 * flow-table size back at the default around both.
 */
extern struct pinroot pinroot_group;
int pinroot_group_setup(void **state);
int pinroot_group_teardown(void **state);

#define PINROOT_SKIP_UNLESS_READY(p)                                      \
	do {                                                              \
		if ((p)->skip_reason) {                                   \
			print_message("SKIPPED: %s\n", (p)->skip_reason); \
			skip();                                           \
		}                                                         \
	} while (0)

#endif
