// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice iface: attach the data plane (XDP or TC) to an interface, detach it, and
 * show where it is attached. The attachment is a pinned bpf_link (loader/),
 * so it stays after this command exits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "err.h"
#include "loader.h"
#include "main.h"
#include "out.h"

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(out_file(),
		"Usage: sluice iface attach DEV [--hook HOOK] [--mode MODE] [--force]\n"
		"       sluice iface detach DEV\n"
		"       sluice iface show [DEV]\n"
		"       sluice iface help\n"
		"\n"
		"DEV    := network interface name (see 'ip link')\n"
		"HOOK   := { xdp | tc | tc-egress }\n"
		"MODE   := { native | skb }\n"
		"\n"
		"  attach   Load the Sluice XDP program and attach it to DEV. The maps are\n"
		"           reused if already pinned (services and counters survive), else\n"
		"           created; the attachment is pinned at PIN_ROOT/iface/DEV/xdp_link and\n"
		"           stays until 'iface detach'.\n"
		"           --mode native  driver XDP (default); fails on drivers without XDP\n"
		"           --mode skb     generic XDP: works on any device, slower\n"
		"           --hook tc      the same pipeline at TC (clsact) ingress instead of\n"
		"                          XDP, for devices without native XDP: a tcx link\n"
		"                          pinned at PIN_ROOT/iface/DEV/tc_link (Linux 6.6+);\n"
		"                          same maps and counters. One hook per interface.\n"
		"           --hook tc-egress  egress pacing on a host (no data plane): at DEV's\n"
		"                          TC egress, every packet of a connection the host\n"
		"                          side balanced to a service with an egress-rate gets\n"
		"                          its departure time from the service's clock (EDT);\n"
		"                          fq is made the root qdisc to hold it (a default root\n"
		"                          is replaced, an fq kept; another configured root is\n"
		"                          refused without --force; the detach removes the fq\n"
		"                          it installed). Without fq in the kernel the program\n"
		"                          polices instead (20 ms burst). Pinned at\n"
		"                          PIN_ROOT/iface/DEV/egress_link.\n"
		"           --force        if Sluice is attached already, replace its program\n"
		"                          (atomically when the mode is unchanged); if another\n"
		"                          XDP program is attached, detach it first.\n"
		"           Without --force, an interface that already has XDP is refused.\n"
		"  detach   Detach Sluice from DEV and remove its pin; the maps stay.\n"
		"  show     List the interfaces Sluice is attached to: name, ifindex, hook\n"
		"           (xdp, tc, tc-egress), mode (native, skb, tc, tc-egress; defunct when\n"
		"           the interface is gone), pacing (tc-egress: fq, or police when the\n"
		"           root qdisc is no fq), program id and link id.\n"
		"\n"
		"Examples:\n"
		"  sluice iface attach eth0\n"
		"  sluice iface attach veth0 --mode skb --force\n"
		"  sluice iface attach wlan0 --hook tc\n"
		"  sluice iface attach eth0 --hook tc-egress\n"
		"  sluice -j iface show\n");
	return 0;
}

static void print_iface(void *ctx, const void *item)
{
	(void)ctx;
	cmd_print_iface(NULL, item);
}

static int do_show(int argc, char **argv)
{
	struct loader_iface *list = NULL;
	size_t n = 0;
	int err;

	if (argc > 1)
		return cli_usage_error("iface", "iface show: unexpected argument '%s'", argv[1]);
	err = loader_show(cli.pin_root, argc ? argv[0] : NULL, &list, &n);
	if (err)
		return cli_lib_error(err);
	cli_print_list(
		list, n, sizeof(*list), print_iface, NULL,
		"Sluice is attached to no interface (attach with 'sluice iface attach DEV')");
	free(list);
	return 0;
}

const struct cli_cmd cli_iface_cmds[] = {
	{ "attach", NULL, CLI_WRITE, CMD_IFACE_ATTACH },
	{ "detach", NULL, CLI_WRITE, CMD_IFACE_DETACH },
	{ "show", do_show, 0, CMD_NONE },
	{ "help", do_help, 0, CMD_NONE },
	{ NULL, NULL, 0, CMD_NONE },
};
