// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice host: the host side (the ambassador and the sidecar, issue 15):
 * cgroup programs that balance the outbound connects of one cgroup's
 * processes over a service's backends at connect(), with the gateway's
 * tables, breakers and bulkheads and no proxy process. Attach, detach, show.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "args.h"
#include "err.h"
#include "loader_host.h"
#include "main.h"
#include "out.h"
#include "hoststats.h"
#include "svcinfo.h"

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(out_file(),
		"Usage: sluice host attach CGROUP [service SVC]...\n"
		"       sluice host detach CGROUP\n"
		"       sluice host show\n"
		"       sluice host stats [SVC]\n"
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
		"           rate (connects a second on this host, burst as set) or max-conns\n"
		"           (counted per host) connect() fails with ECONNREFUSED;\n"
		"           getpeername() and recvfrom() show the service address. With\n"
		"           'service SVC' only those services are balanced (the sidecar);\n"
		"           without, every service. Attaching again replaces the programs\n"
		"           and the list. Links are pinned at PIN_ROOT/host/CGROUP_ID/.\n"
		"  detach   Detach from CGROUP and remove its pins; the maps stay.\n"
		"  show     List the attached cgroups: path, cgroup id, state (defunct when\n"
		"           the cgroup is gone), services, programs and links.\n"
		"  stats    Per service (every one with host-side activity, or SVC), summed\n"
		"           over the attachments: connects balanced, refused over the rate,\n"
		"           refused by the bulkhead,\n"
		"           refused with every breaker open, refused with no backend, and\n"
		"           the outbound connections it holds now.\n"
		"\n"
		"Examples:\n"
		"  sluice host attach /sys/fs/cgroup/unified/app service 198.19.0.1 80 tcp\n"
		"  sluice host detach /sys/fs/cgroup/unified/app\n"
		"  sluice -j host show\n");
	return 0;
}

static void print_host(void *ctx, const void *item)
{
	(void)ctx;
	cmd_print_host(NULL, item);
}

static int do_show(int argc, char **argv)
{
	struct loader_host *list = NULL;
	size_t n = 0;
	int err;

	if (argc)
		return cli_usage_error("host", "host show: unexpected argument '%s'", argv[0]);
	err = loader_host_show(cli.pin_root, &list, &n);
	if (err)
		return cli_lib_error(err);
	cli_print_list(list, n, sizeof(*list), print_host, NULL,
		       "Sluice is attached to no cgroup (attach with 'sluice host attach CGROUP')");
	loader_host_free(list, n);
	return 0;
}

static int do_host_stats(int argc, char **argv)
{
	struct sluice_svc_key want;
	struct sluice_host_counter sum;
	struct host_stats hs = { -1, -1 };
	struct svc_info *list = NULL;
	struct sluice_maps m;
	char a[ADDR_STRLEN];
	size_t n = 0, i;
	__s64 conns = 0;
	int err;

	if (argc && (argc != 3 || cmd_parse_svc_key(argc, argv, &want)))
		return cli_usage_error("host", "host stats: %s",
				       argc == 3 ? err_msg()
						 : "give SVC as ADDR PORT PROTO, or nothing");
	maps_init(&m);
	err = cli_open_maps(&m);
	if (!err &&
	    ((err = svc_info_list(&m, &list, &n)) || (err = host_stats_open(cli.pin_root, &hs))))
		err = cli_lib_error(err);
	if (err)
		goto out;
	out_open_array(NULL);
	for (i = 0; i < n; i++) {
		if (argc && memcmp(&list[i].key, &want, sizeof(want)))
			continue;
		if (host_stats_read(&hs, list[i].svc.id, &sum, &conns) ||
		    (!argc && !host_stats_any(&sum, conns)))
			continue;
		if (addr_format(&list[i].key.addr, a, sizeof(a)))
			snprintf(a, sizeof(a), "?");
		out_open_obj(NULL);
		out_str("address", "%s", a);
		out_u64("port", " %llu", ntohs(list[i].key.port));
		out_str("proto", " %s:", args_proto_name(list[i].key.proto));
		out_u64("balanced", " balanced %llu", sum.balanced);
		out_u64("refused_rate", " refused-rate %llu", sum.refused_rate);
		out_u64("refused_bulkhead", " refused-bulkhead %llu", sum.refused_bh);
		out_u64("refused_breaker", " refused-breaker %llu", sum.refused_brk);
		out_u64("no_backend", " no-backend %llu", sum.no_backend);
		out_s64("conns", " conns %lld\n", conns);
		out_close_obj();
	}
	out_close_array();
out:
	host_stats_close(&hs);
	free(list);
	maps_close(&m);
	return err;
}

const struct cli_cmd cli_host_cmds[] = {
	{ "attach", NULL, CLI_WRITE, CMD_HOST_ATTACH },
	{ "detach", NULL, CLI_WRITE, CMD_HOST_DETACH },
	{ "show", do_show, 0, CMD_NONE },
	{ "stats", do_host_stats, 0, CMD_NONE },
	{ "help", do_help, 0, CMD_NONE },
	{ NULL, NULL, 0, CMD_NONE },
};
