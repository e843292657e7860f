// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice leader: which backend takes the write flows of the services that
 * follow a leader (write-port or route leader, see 'sluice service help'):
 * show it, set it (an operator, or the daemon relaying an etcd election or
 * a role check). Writes go through userspace/leader.c; arguments are all
 * checked before any map is touched.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "args.h"
#include "err.h"
#include "leader.h"
#include "main.h"
#include "maps.h"
#include "out.h"
#include "svc.h"

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(out_file(),
		"Usage: sluice leader show [SERVICE]\n"
		"       sluice leader set SERVICE { BACKEND | none } [source SOURCE]\n"
		"       sluice leader help\n"
		"\n"
		"SERVICE := ADDR PORT PROTO of a nat or ipip service with a write port or\n"
		"           route leader (sluice service set SERVICE write-port WPORT)\n"
		"BACKEND := { BACKEND_ADDR | A.B.C.D:BPORT | [IPV6]:BPORT | BACKEND_ADDR port BPORT }\n"
		"           one of the service's backends; the port may be left out when one\n"
		"           backend has the address (ipip: backends are known by address, the\n"
		"           port is not compared)\n"
		"SOURCE  := { operator | election | role }   who says so (default operator)\n"
		"\n"
		"  show   The services that follow a leader, or the one given: service, write\n"
		"         port (- when none), route, leader (ADDR:PORT or none), who set it\n"
		"         and since when (UTC).\n"
		"  set    Make BACKEND the leader, or say there is none. New flows on the\n"
		"         write port (route leader: on every port) go to the leader; with\n"
		"         none they are refused (no_leader: TCP RST or drop as the service's\n"
		"         refuse says). Established write flows to a former leader are\n"
		"         reset (leader_moved). With a write port, the read table leaves the\n"
		"         leader out while another backend is active. Setting the same\n"
		"         backend again keeps its 'since'. Deleting the leader's backend\n"
		"         clears the leader (its source stays).\n"
		"\n"
		"A write command: it goes through the daemon and its journal when one runs.\n"
		"The daemon sets leaders itself from a service's 'leader:' section (an etcd\n"
		"election's value, or each backend's role endpoint), with source election or\n"
		"role; see tools/sluiced.example.yaml.\n"
		"\n"
		"Examples:\n"
		"  sluice service add 192.0.2.40 5432 tcp mode nat write-port 5433\n"
		"  sluice backend add 192.0.2.40 5432 tcp 10.0.1.5\n"
		"  sluice leader set 192.0.2.40 5432 tcp 10.0.1.5:5432\n"
		"  sluice leader set 192.0.2.40 5432 tcp none\n"
		"  sluice -j leader show\n");
	return 0;
}

static void print_leader(void *ctx, const void *item)
{
	(void)ctx;
	cmd_print_leader(NULL, item, NULL);
}

static int do_show(int argc, char **argv)
{
	struct leader_info *list = NULL;
	struct cli_show s;
	size_t n = 0;
	int err;

	err = cli_show_open("leader", "show", 1, argc, argv, &s);
	if (!err)
		err = leader_list(&s.m, s.only, &list, &n);
	if (!err)
		cli_print_list(
			list, n, sizeof(*list), print_leader, NULL,
			"no service follows a leader (give one write-port or route leader with 'sluice service set')");
	free(list);
	return cli_show_close(&s, err);
}

const struct cli_cmd cli_leader_cmds[] = {
	{ "set", NULL, CLI_WRITE, CMD_LEADER_SET },
	{ "show", do_show, 0, CMD_NONE },
	{ "help", do_help, 0, CMD_NONE },
	{ NULL, NULL, 0, CMD_NONE },
};
