// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice stats: the packet and byte counters of the data plane, globally per
 * reason and per service per reason, read straight from the pinned maps
 * (summed over CPUs); no other process needs to run.
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
#include "reason.h"
#include "res.h"
#include "svc.h"

static int do_help(int argc, char **argv)
{
	unsigned int r;

	(void)argc;
	(void)argv;
	fprintf(out_file(),
		"Usage: sluice stats [show] [ADDR PORT PROTO]\n"
		"       sluice stats help\n"
		"\n"
		"ADDR PORT PROTO := a service, as in 'sluice service' (192.0.2.10 80 tcp)\n"
		"\n"
		"  show   Print the counters: the global ones (every packet the XDP program saw,\n"
		"         by reason) and each service's (its packets, by reason), packets and\n"
		"         bytes, summed over CPUs. With a service, only that service's.\n"
		"         Counters of a service start at zero when it is added. In text, the\n"
		"         service reasons always print; the others when non-zero. Per-backend\n"
		"         counters: 'sluice backend show'.\n"
		"\n"
		"Reasons:\n");
	for (r = 0; r < SLUICE_R_MAX; r++)
		fprintf(out_file(), "  %-18s %s\n", reason_name(r), reason_desc(r));
	fprintf(out_file(), "\n"
			    "Examples:\n"
			    "  sluice stats\n"
			    "  sluice stats show 192.0.2.10 80 tcp\n"
			    "  sluice -j stats | jq .global.drop_svc_rate\n");
	return 0;
}

/* One reason's counter; in text, service-only reasons print when non-zero. */
static void print_counter(unsigned int r, const struct sluice_counter *c, int all)
{
	if (!out_is_json() && !all && !reason_is_service(r) && !c->packets)
		return;
	out_open_obj(reason_name(r));
	out_text("  %-18s", reason_name(r));
	out_u64("packets", " packets %-12llu", c->packets);
	out_u64("bytes", " bytes %llu\n", c->bytes);
	out_close_obj();
}

/* One outcome counter: a line "  NAME   N UNIT" in text, "NAME": N in JSON. */
static void print_outcome(const char *name, const char *unit, __u64 value)
{
	char fmt[32];

	snprintf(fmt, sizeof(fmt), " %s %%llu\n", unit);
	out_text("  %-18s", name);
	out_u64(name, fmt, value);
}

static int print_service(const struct sluice_maps *m, const struct sluice_svc_key *key,
			 const struct sluice_svc *s)
{
	struct sluice_counter c[SLUICE_R_MAX];
	struct sluice_res_counter rc;
	struct sluice_fo_counter fo;
	struct sluice_svc_res res;
	unsigned int r;
	int err;

	err = maps_read_svc_counters(m, s->id, c);
	if (!err)
		err = maps_read_res_stats(m, s->id, &rc);
	if (!err)
		err = maps_read_fo_stats(m, 0, s->id, &fo);
	if (!err)
		err = res_get(m, s->id, &res);
	if (err)
		return err;
	cmd_open_service(NULL, key, s->id, 1);
	out_str("mode", " mode %s", args_mode_name(s->mode));
	out_bool("panic", res.flags & SLUICE_RES_PANIC ? " PANIC (breakers ignored)%.0s" : NULL,
		 !!(res.flags & SLUICE_RES_PANIC));
	out_text("\n");
	out_open_obj("counters");
	for (r = 0; r < SLUICE_R_MAX; r++)
		print_counter(r, &c[r], 0);
	out_close_obj();
	/* Breaker outcomes: new flows steered away from an open backend. */
	out_open_obj("breaker");
	print_outcome("rerouted_next", "flows", rc.rerouted_next);
	print_outcome("rerouted_fallback", "flows", rc.rerouted_fallback);
	out_close_obj();
	/* Failover: handshakes moved after a failure, and how they ended. */
	out_open_obj("failover");
	print_outcome("moved", "flows", fo.moved);
	print_outcome("redispatched", "flows", fo.redispatched);
	print_outcome("retry_exhausted", "flows", fo.retry_exhausted);
	print_outcome("fast_trips", "breakers", fo.fast_trips);
	out_close_obj();
	out_close_obj();
	return 0;
}

static int show(int argc, char **argv)
{
	struct sluice_counter g[SLUICE_R_MAX];
	struct maps_svc_entry *list = NULL;
	struct sluice_svc svc;
	struct cli_show s;
	size_t n = 0, i;
	unsigned int r;
	int err;

	err = cli_show_open("stats", "show", 1, argc, argv, &s);
	if (!err && s.only) {
		err = svc_get(&s.m, s.only, &svc);
		if (!err) {
			out_open_array("services");
			err = print_service(&s.m, s.only, &svc);
			out_close_array();
		}
		goto out;
	}
	if (!err)
		err = maps_read_global(&s.m, g);
	if (!err)
		err = svc_list(&s.m, &list, &n);
	if (err)
		goto out;
	out_open_obj("global");
	out_text("global:\n");
	for (r = 0; r < SLUICE_R_MAX; r++)
		print_counter(r, &g[r], 1);
	out_close_obj();
	out_open_array("services");
	for (i = 0; i < n && !err; i++)
		err = print_service(&s.m, &list[i].key, &list[i].svc);
	out_close_array();
out:
	free(list);
	return cli_show_close(&s, err);
}

static int do_show(int argc, char **argv)
{
	return show(argc, argv);
}

int do_stats(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "show", do_show, 0, CMD_NONE },
		{ "help", do_help, 0, CMD_NONE },
		{ NULL, NULL, 0, CMD_NONE },
	};

	/* "stats ADDR PORT PROTO" is "stats show ADDR PORT PROTO". */
	if (argc && args_keyword_find(argv[0], cmds, 2, sizeof(cmds[0]), "command") < 0) {
		err_clear();
		return show(argc, argv);
	}
	return cli_dispatch("stats", cmds, "show", argc, argv);
}
