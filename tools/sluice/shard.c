// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice shard: dynamic sharding of a nat or ipip service. A client prefix
 * is pinned to one backend or to a subset of the service's backends (with
 * its own Maglev table), overriding the service's hash for those clients.
 * Writes go through userspace/shard.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "args.h"
#include "err.h"
#include "main.h"
#include "maps.h"
#include "out.h"
#include "publish.h"
#include "shard.h"
#include "svc.h"

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(out_file(),
		"Usage: sluice shard add SERVICE PREFIX backend BACKEND_ADDR [port BPORT]\n"
		"       sluice shard add SERVICE PREFIX subset MEMBER[,MEMBER]...\n"
		"       sluice shard del SERVICE PREFIX\n"
		"       sluice shard show [SERVICE]\n"
		"       sluice shard help\n"
		"\n"
		"SERVICE := ADDR PORT PROTO of a nat or ipip service (192.0.2.10 80 tcp)\n"
		"PREFIX  := client prefix: IPv4 A.B.C.D/LEN (0..32), IPv6 ADDR/LEN (0..128),\n"
		"           or a host address alone (the full length); host bits must be 0\n"
		"MEMBER  := BACKEND_ADDR | A.B.C.D:PORT | [IPV6_ADDR]:PORT, a backend of the\n"
		"           service (the port is needed only when several share the address)\n"
		"\n"
		"  add    Send the service's clients within PREFIX to one backend (backend),\n"
		"         or spread them over a subset of its backends (subset, 1..%u\n"
		"         members) with a Maglev table of their own (%u slots), instead of\n"
		"         the service's table. The longest matching prefix wins. A pinned\n"
		"         backend that is drained falls back to the service's table; a drained\n"
		"         subset member leaves the subset's table until it is activated.\n"
		"         Established flows keep their backend.\n"
		"  del    Delete the shard of PREFIX (and its subset and table).\n"
		"  show   List the shards of every service, or of one: prefix, target\n"
		"         (backend, or subset number) and members.\n"
		"\n"
		"Examples:\n"
		"  sluice shard add 192.0.2.10 80 tcp 198.51.100.0/24 backend 10.0.0.11\n"
		"  sluice shard add 192.0.2.10 80 tcp 203.0.113.0/24 subset 10.0.0.12,10.0.0.13:8080\n"
		"  sluice shard add 2001:db8::10 80 tcp 2001:db8:1::/48 subset [2001:db8::21]:8080\n"
		"  sluice shard del 192.0.2.10 80 tcp 198.51.100.0/24\n"
		"  sluice -j shard show\n",
		(unsigned int)SLUICE_SUBSET_MAX_MEMBERS, PUBLISH_SUBSET_M);
	return 0;
}

static void print_shard(void *ctx, const void *item)
{
	(void)ctx;
	cmd_print_shard(NULL, item);
}

static int do_show(int argc, char **argv)
{
	struct shard_info *list = NULL;
	struct cli_show s;
	size_t n = 0;
	int err;

	err = cli_show_open("shard", "show", 1, argc, argv, &s);
	if (!err)
		err = shard_list(&s.m, s.only, &list, &n);
	if (!err)
		cli_print_list(list, n, sizeof(*list), print_shard, NULL,
			       "no shards (add one with 'sluice shard add')");
	free(list);
	return cli_show_close(&s, err);
}

const struct cli_cmd cli_shard_cmds[] = {
	{ "add", NULL, CLI_WRITE, CMD_SHARD_ADD },
	{ "del", NULL, CLI_WRITE, CMD_SHARD_DEL },
	{ "show", do_show, 0, CMD_NONE },
	{ "help", do_help, 0, CMD_NONE },
	{ NULL, NULL, 0, CMD_NONE },
};
