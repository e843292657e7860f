// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice host: the host side (the ambassador and the sidecar, issue 15):
 * cgroup programs that balance the outbound connects of one cgroup's
 * processes over a service's backends at connect(), with the gateway's
 * tables, breakers and bulkheads and no proxy process. Attach, detach, show.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "err.h"
#include "loader_host.h"
#include "main.h"
#include "out.h"

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(out_file(),
		"Usage: sluice host attach CGROUP [service SVC]...\n"
		"       sluice host detach CGROUP\n"
		"       sluice host show\n"
		"       sluice host help\n"
		"\n"
		"CGROUP := a cgroup v2 folder, absolute or relative to the cgroup2 mount\n"
		"SVC    := ADDR PORT PROTO (a nat or ipip service, see 'sluice service show')\n"
		"\n"
		"  attach   Load the host-side programs (connect4/6, sendmsg4/6, recvmsg4/6,\n"
		"           getpeername4/6, sockops, sock_release) and attach them to CGROUP:\n"
		"           a connect() from a process in it (or in a cgroup below it) to a\n"
		"           service address goes straight to a backend chosen from the\n"
		"           service's Maglev table, open breakers skipped; over the service's\n"
		"           max-conns (counted per host) connect() fails with ECONNREFUSED;\n"
		"           getpeername() and recvfrom() show the service address. With\n"
		"           'service SVC' only those services are balanced (the sidecar);\n"
		"           without, every service. Attaching again replaces the programs\n"
		"           and the list. Links are pinned at PIN_ROOT/host/CGROUP_ID/.\n"
		"  detach   Detach from CGROUP and remove its pins; the maps stay.\n"
		"  show     List the attached cgroups: path, cgroup id, state (defunct when\n"
		"           the cgroup is gone), services, programs and links.\n"
		"\n"
		"Examples:\n"
		"  sluice host attach /sys/fs/cgroup/unified/app service 198.19.0.1 80 tcp\n"
		"  sluice host detach /sys/fs/cgroup/unified/app\n"
		"  sluice -j host show\n");
	return 0;
}

static int do_show(int argc, char **argv)
{
	struct loader_host *list = NULL;
	size_t n = 0, i;
	int err;

	if (argc)
		return cli_usage_error("host", "host show: unexpected argument '%s'", argv[0]);
	err = loader_host_show(cli.pin_root, &list, &n);
	if (err)
		return cli_lib_error(err);
	out_open_array(NULL);
	for (i = 0; i < n; i++)
		cmd_print_host(NULL, &list[i]);
	out_close_array();
	if (!n)
		out_text(
			"Sluice is attached to no cgroup (attach with 'sluice host attach CGROUP')\n");
	loader_host_free(list, n);
	return 0;
}

const struct cli_cmd cli_host_cmds[] = {
	{ "attach", NULL, CLI_WRITE, CMD_HOST_ATTACH },
	{ "detach", NULL, CLI_WRITE, CMD_HOST_DETACH },
	{ "show", do_show, 0, CMD_NONE },
	{ "help", do_help, 0, CMD_NONE },
	{ NULL, NULL, 0, CMD_NONE },
};

int do_host(int argc, char **argv)
{
	return cli_dispatch("host", cli_host_cmds, NULL, argc, argv);
}
