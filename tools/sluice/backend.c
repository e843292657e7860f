// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice backend: the backends of nat and ipip services: add, change weight,
 * drain, activate, delete, show (with per-backend counters and the Maglev
 * slots each owns). Writes go through userspace/backend.c, which republishes
 * the affected Maglev tables; arguments are all checked before any map is
 * touched.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "args.h"
#include "backend.h"
#include "ctl.h"
#include "err.h"
#include "hstate.h"
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
		"Usage: sluice backend add SERVICE BACKEND_ADDR [port BPORT] [weight W]\n"
		"       sluice backend set SERVICE BACKEND [weight W]\n"
		"       sluice backend drain SERVICE BACKEND\n"
		"       sluice backend activate SERVICE BACKEND\n"
		"       sluice backend del SERVICE BACKEND\n"
		"       sluice backend show [SERVICE]\n"
		"       sluice backend help\n"
		"\n"
		"SERVICE      := ADDR PORT PROTO of a nat or ipip service (192.0.2.10 80 tcp)\n"
		"BACKEND      := BACKEND_ADDR [port BPORT]\n"
		"BACKEND_ADDR := the backend's address, of the service's family (IPv4 or IPv6)\n"
		"BPORT        := 1..65535\n"
		"W            := weight, 1..%u: the backend's share of new flows is W / (sum\n"
		"                of the active backends' weights)\n"
		"\n"
		"  add       Add a backend, active. It gets the lowest free id (ids are shared\n"
		"            by all services, 0..%u); its counters start at zero. Defaults:\n"
		"            port = the service port, weight 1. nat rewrites the destination\n"
		"            to BACKEND_ADDR:BPORT. ipip does not rewrite ports: the backend\n"
		"            receives the service port, so BPORT may only be the service port\n"
		"            (stored as 0, shown as the service port). A service in mode local\n"
		"            has no backends.\n"
		"  set       Change a backend's weight.\n"
		"  drain     Take a backend out of the Maglev tables: it gets no new flows and\n"
		"            keeps its established ones.\n"
		"  activate  Put a drained backend back into the tables.\n"
		"  del       Delete a backend: the tables are rebuilt without it, then its slot\n"
		"            is freed and its counters cleared; its established flows are\n"
		"            steered anew by the table. Refused while a shard pins it or it\n"
		"            is the last member of a shard subset (delete the shard first).\n"
		"  show      List the backends of every service, or of one: id, address, port,\n"
		"            weight, state (active, draining), the slots it owns in the\n"
		"            service's Maglev table, and its counters (packets and bytes sent\n"
		"            to it, new flows it was chosen for), summed over CPUs, 'leader'\n"
		"            when it is its service's leader (sluice leader help), and its\n"
		"            health as the daemon's active check last found it (up or down,\n"
		"            and why: 'connection refused', 'HTTP 503', ...; '-' when no\n"
		"            daemon on these pins checks it).\n"
		"\n"
		"Without 'port', BACKEND names the service's one backend at BACKEND_ADDR (give\n"
		"the port when there are several). Every change rebuilds and atomically\n"
		"republishes the service's Maglev table and those of the shard subsets the\n"
		"backend belongs to; the table is the same on every gateway given the same\n"
		"backends, whatever the order they were added in. Keywords may be abbreviated.\n"
		"\n"
		"Examples:\n"
		"  sluice service add 192.0.2.10 80 tcp mode nat\n"
		"  sluice backend add 192.0.2.10 80 tcp 10.0.0.11 port 8080 weight 2\n"
		"  sluice backend add 192.0.2.10 80 tcp 10.0.0.12 port 8080\n"
		"  sluice backend drain 192.0.2.10 80 tcp 10.0.0.11\n"
		"  sluice backend set 192.0.2.10 80 tcp 10.0.0.12 port 8080 weight 3\n"
		"  sluice -j backend show 192.0.2.10 80 tcp\n",
		BACKEND_WEIGHT_MAX, (unsigned int)SLUICE_MAX_BACKENDS - 1);
	return 0;
}

/*
 * The daemon's health state file (hstate.h), when a live daemon on our pins
 * wrote one; NULL otherwise (backend show then says "-").
 */
static struct hstate *health_load(void)
{
	struct hstate *s = NULL;
	char path[4096];

	if (hstate_path(ctl_socket_path(cli.socket, CLI_SOCKET_DEFAULT), path, sizeof(path)) ||
	    hstate_load(path, cli.pin_root, &s))
		return NULL;
	return s;
}

static int do_show(int argc, char **argv)
{
	struct sluice_leader l = { 0 };
	struct backend_info *list = NULL;
	struct hstate *hs = NULL;
	struct cli_show s;
	size_t n = 0, i;
	int err;

	err = cli_show_open("backend", "show", 1, argc, argv, &s);
	if (err)
		return cli_show_close(&s, err);
	hs = health_load();
	err = backend_list(&s.m, s.only, &list, &n);
	if (err)
		goto out;
	out_open_array(NULL);
	for (i = 0; i < n; i++) {
		if (!i || memcmp(&list[i].svc_key, &list[i - 1].svc_key, sizeof(list[i].svc_key))) {
			char k[SVC_KEY_STRLEN];

			svc_key_format(&list[i].svc_key, k, sizeof(k));
			out_text("service %s (mode %s):\n", k, args_mode_name(list[i].svc_mode));
			/* Best effort, like the health: unreadable means no leader shown. */
			if (leader_get(&s.m, list[i].be.svc_id, &l))
				l.backend = 0;
		}
		{
			const char *why = "-";
			int up = 0;

			if (hstate_backend(hs, list[i].id, &up, &why))
				up = -1;
			cmd_print_backend(NULL, &list[i], 1, up, why, l.backend == list[i].id + 1);
		}
	}
	out_close_array();
	if (!n)
		out_text("no backends (add one with 'sluice backend add')\n");
out:
	hstate_free(hs);
	free(list);
	return cli_show_close(&s, err);
}

const struct cli_cmd cli_backend_cmds[] = {
	{ "add", NULL, CLI_WRITE, CMD_BACKEND_ADD },
	{ "set", NULL, CLI_WRITE, CMD_BACKEND_SET },
	{ "drain", NULL, CLI_WRITE, CMD_BACKEND_DRAIN },
	{ "activate", NULL, CLI_WRITE, CMD_BACKEND_ACTIVATE },
	{ "del", NULL, CLI_WRITE, CMD_BACKEND_DEL },
	{ "show", do_show, 0, CMD_NONE },
	{ "help", do_help, 0, CMD_NONE },
	{ NULL, NULL, 0, CMD_NONE },
};
