// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice gateway: settings of the whole gateway (sl_config): the outer
 * source addresses of ipip encapsulation and the UDP flow idle timeout.
 * Writes go through userspace/gateway.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "ctl.h"
#include "args.h"
#include "err.h"
#include "gateway.h"
#include "loader.h"
#include "main.h"
#include "maps.h"
#include "out.h"

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(out_file(),
		"Usage: sluice gateway set [encap-source4 ADDR4] [encap-source6 ADDR6]\n"
		"                          [udp-timeout SECONDS]\n"
		"       sluice gateway show\n"
		"       sluice gateway drain [--deadline SECONDS]\n"
		"       sluice gateway undrain\n"
		"       sluice gateway help\n"
		"\n"
		"ADDR4   := an IPv4 address of this gateway, or none\n"
		"ADDR6   := an IPv6 address of this gateway, or none\n"
		"SECONDS := 1..%u\n"
		"\n"
		"  set    Change the settings given; the others keep their value. The data\n"
		"         plane uses them from the next packet on.\n"
		"         encap-source4  outer source of IPv4-in-IPv4 packets (ipip services\n"
		"                        with IPv4 backends). Its low 16 bits are XORed with\n"
		"                        the flow hash, so the backend's NIC spreads flows\n"
		"                        over its queues (RSS): the address's /112 neighbours\n"
		"                        must be routable back to this gateway or be ignored\n"
		"                        by the backends (DSR replies go to the client).\n"
		"                        Unset (none, the default): ipip packets to IPv4\n"
		"                        backends are dropped (encap_fail).\n"
		"         encap-source6  the same for IPv6-in-IPv6.\n"
		"         udp-timeout    idle time after which a UDP flow is forgotten and its\n"
		"                        next packet steered anew (default %llu s).\n"
		"  show   Print the settings.\n"
		"  drain  Through sluiced (its config's bgp section): withdraw every VIP from\n"
		"         BGP while the data plane goes on forwarding the flows this gateway\n"
		"         has; drained once no flow is active (none seen for 2 s, or closed),\n"
		"         or after --deadline seconds\n"
		"         (1..86400; default none). Progress: sluice bgp show, sluice events.\n"
		"  undrain\n"
		"         Announce again every VIP this gateway can serve.\n"
		"\n"
		"Examples:\n"
		"  sluice gateway set encap-source4 192.0.2.1 encap-source6 2001:db8::1\n"
		"  sluice gateway set udp-timeout 60\n"
		"  sluice -j gateway show\n",
		GATEWAY_UDP_TIMEOUT_MAX, SLUICE_UDP_TIMEOUT_DEFAULT_NS / 1000000000ull);
	return 0;
}

static int do_show(int argc, char **argv)
{
	struct sluice_config cfg;
	struct cli_show s;
	int err;

	err = cli_show_open("gateway", "show", 0, argc, argv, &s);
	if (!err)
		err = gateway_get(&s.m, &cfg);
	if (!err)
		cmd_print_gateway(NULL, &cfg);
	return cli_show_close(&s, err);
}

/* drain and undrain run in the daemon (it owns the announcements): here, no daemon answered. */
static int do_drain(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	out_error("gateway drain and undrain need a running sluiced (it withdraws and announces "
		  "the VIPs through BIRD); none answers at %s",
		  ctl_socket_path(cli.socket, CLI_SOCKET_DEFAULT));
	return -ENOTCONN;
}

const struct cli_cmd cli_gateway_cmds[] = {
	{ "set", NULL, CLI_WRITE, CMD_GATEWAY_SET },
	{ "show", do_show, 0, CMD_NONE },
	{ "drain", do_drain, CLI_WRITE, CMD_NONE },
	{ "undrain", do_drain, CLI_WRITE, CMD_NONE },
	{ "help", do_help, 0, CMD_NONE },
	{ NULL, NULL, 0, CMD_NONE },
};
