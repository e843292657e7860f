// SPDX-License-Identifier: GPL-2.0-only
/*
 * vipctl: userspace/vip.c from the shell, for tests/integration/test_vip.sh
 * and the HA lab (run it inside a namespace with nsenter --net=...).
 *
 *   vipctl add|del|present|announce IFNAME ADDR
 *
 * add / del / announce exit 0 on success; present prints "present" (exit
 * 0) or "absent" (exit 1). Any error: its message on stderr, exit 2.
 */
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "err.h"
#include "vip.h"

static int usage(void)
{
	fprintf(stderr, "usage: vipctl { add | del | present | announce } IFNAME ADDR\n");
	return 2;
}

int main(int argc, char **argv)
{
	union sluice_addr addr;
	const char *cmd, *ifname;
	int ret;

	if (argc != 4)
		return usage();
	cmd = argv[1];
	ifname = argv[2];
	if (addr_parse(argv[3], &addr)) {
		fprintf(stderr, "vipctl: %s\n", err_msg());
		return 2;
	}
	if (!strcmp(cmd, "add"))
		ret = vip_add(ifname, &addr);
	else if (!strcmp(cmd, "del"))
		ret = vip_del(ifname, &addr);
	else if (!strcmp(cmd, "present"))
		ret = vip_present(ifname, &addr);
	else if (!strcmp(cmd, "announce"))
		ret = vip_announce(ifname, &addr);
	else
		return usage();
	if (ret < 0) {
		fprintf(stderr, "vipctl: %s %s %s: %s\n", cmd, ifname, argv[3], err_msg());
		return 2;
	}
	if (!strcmp(cmd, "present")) {
		printf("%s\n", ret ? "present" : "absent");
		return ret ? 0 : 1;
	}
	return 0;
}
