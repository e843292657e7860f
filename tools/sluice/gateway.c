// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice gateway: settings of the whole gateway (sl_config): the outer
 * source addresses of ipip encapsulation and the UDP flow idle timeout.
 * Writes go through userspace/gateway.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "ctl.h"
#include "args.h"
#include "err.h"
#include "gateway.h"
#include "loader.h"
#include "main.h"
#include "maps.h"
#include "mapsize.h"
#include "out.h"

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(out_file(),
		"Usage: sluice gateway set [encap-source4 ADDR4] [encap-source6 ADDR6]\n"
		"                          [udp-timeout SECONDS]\n"
		"       sluice gateway show\n"
		"       sluice gateway maps\n"
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
		"  maps   What the pinned maps cost: each map with its type, capacity\n"
		"         (entries), key and value bytes and the memory the kernel charges\n"
		"         for it (memlock; per-CPU maps once per possible CPU), the Maglev\n"
		"         tables summed in one row (sl_maglev[]), and the total. Size the\n"
		"         flow tables with --flow-entries when the maps are created.\n"
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
		"  sluice -j gateway show\n"
		"  sluice gateway maps\n",
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

/* A byte count as the text shows it: B, KiB, MiB or GiB, one decimal. */
static void human(__u64 v, char *buf, size_t len)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB" };
	double d = (double)v;
	int u = 0;

	while (d >= 1024 && u < 3) {
		d /= 1024;
		u++;
	}
	if (!u)
		snprintf(buf, len, "%llu B", (unsigned long long)v);
	else
		snprintf(buf, len, "%.1f %s", d, unit[u]);
}

static int do_maps(int argc, char **argv)
{
	struct map_size *v = NULL;
	__u64 total = 0;
	char h[32];
	size_t n = 0, i;
	int err;

	if (argc)
		return cli_usage_error("gateway", "gateway maps: unexpected argument '%s'",
				       argv[0]);
	err = map_sizes(cli.pin_root, &v, &n);
	if (!err && !n) {
		err_set("no sluice maps under %s: nothing is pinned there yet (service add, iface "
			"attach)",
			cli.pin_root);
		err = -ENOENT;
	}
	if (err) {
		out_error("%s", err_msg());
		return err;
	}
	out_open_array("maps");
	out_text("%-20s %-22s %10s %5s %6s %11s\n", "MAP", "TYPE", "ENTRIES", "KEY", "VALUE",
		 "MEMLOCK");
	for (i = 0; i < n; i++) {
		total += v[i].memlock;
		human(v[i].memlock, h, sizeof(h));
		out_open_obj(NULL);
		out_str("name", "%-20s ", v[i].name);
		out_str("type", "%-22s ", v[i].type);
		out_u64("max_entries", "%10llu ", v[i].max_entries);
		out_u64("key_size", "%5llu ", v[i].key_size);
		out_u64("value_size", "%6llu ", v[i].value_size);
		out_u64("flags", NULL, v[i].flags);
		out_u64("maps", NULL, v[i].maps);
		out_u64("memlock", NULL, v[i].memlock);
		out_str(NULL, "%11s", h);
		if (!strcmp(v[i].name, MAPSIZE_MAGLEV_TABLES))
			out_text(" (%u table%s)", v[i].maps, v[i].maps == 1 ? "" : "s");
		out_text("\n");
		out_close_obj();
	}
	out_close_array();
	human(total, h, sizeof(h));
	out_u64("memlock", NULL, total);
	out_u64("possible_cpus", NULL, (__u64)map_sizes_cpus());
	out_str(NULL, "total %s", h);
	out_text(" (%d possible CPUs)\n", map_sizes_cpus());
	free(v);
	return 0;
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
	{ "maps", do_maps, 0, CMD_NONE },
	{ "drain", do_drain, CLI_WRITE, CMD_NONE },
	{ "undrain", do_drain, CLI_WRITE, CMD_NONE },
	{ "help", do_help, 0, CMD_NONE },
	{ NULL, NULL, 0, CMD_NONE },
};
