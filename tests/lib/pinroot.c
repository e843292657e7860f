// SPDX-License-Identifier: GPL-2.0-only
/*
 * pinroot: a private pin root with every map, for the unit tests against
 * real maps (see pinroot.h).
 */
#include <ftw.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "err.h"
#include "loader.h"
#include "pinroot.h"

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

int pinroot_setup(struct pinroot *p)
{
	maps_init(&p->maps);
	p->root[0] = '\0';
	p->skip_reason = NULL;
	libbpf_set_print(quiet);
	if (geteuid() != 0) {
		p->skip_reason = "needs root (creates BPF maps)";
		return 0;
	}
	if (loader_check_bpffs("/sys/fs/bpf")) {
		p->skip_reason = "no bpffs mounted at /sys/fs/bpf";
		return 0;
	}
	snprintf(p->root, sizeof(p->root), "/sys/fs/bpf/sluice-unit-XXXXXX");
	if (!mkdtemp(p->root)) {
		p->skip_reason = "cannot create a pin root in /sys/fs/bpf";
		p->root[0] = '\0';
		return 0;
	}
	if (loader_maps_ensure(p->root) || maps_open(&p->maps, p->root)) {
		fprintf(stderr, "setup: %s\n", err_msg());
		return -1;
	}
	return 0;
}

void pinroot_teardown(struct pinroot *p)
{
	maps_close(&p->maps);
	if (p->root[0])
		pinroot_remove(p->root);
}

/* nftw() callback: remove each pin, then (depth first) the directory. */
static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	if (remove(path) && !ftw->level)
		fprintf(stderr, "teardown: cannot remove %s: %s\n", path, strerror(errno));
	return 0;
}

void pinroot_remove(const char *dir)
{
	nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

struct pinroot pinroot_group;

int pinroot_group_setup(void **state)
{
	(void)state;
	loader_set_flow_entries(0);
	return pinroot_setup(&pinroot_group);
}

int pinroot_group_teardown(void **state)
{
	(void)state;
	pinroot_teardown(&pinroot_group);
	loader_set_flow_entries(0);
	return 0;
}
