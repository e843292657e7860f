// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice bulkhead: the global concurrent-connection limit and the TCP idle
 * expiry (sl_res_global), the view of every bulkhead (limit, reserve, in
 * use, refused) and the reconcile sweep run by hand. Per-service limits are
 * set with `sluice service set SVC max-conns N ...`. Writes go through
 * userspace/res.c; the sweep is userspace/sweep.c.
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
#include "res.h"
#include "shard.h"
#include "svc.h"
#include "sweep.h"

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(out_file(),
		"Usage: sluice bulkhead set [max-conns N] [tcp-idle SECONDS]\n"
		"       sluice bulkhead show [ADDR PORT PROTO]\n"
		"       sluice bulkhead sweep\n"
		"       sluice bulkhead help\n"
		"\n"
		"N       := concurrent connections, 0..%u, k and m suffixes allowed;\n"
		"           0 means no limit\n"
		"SECONDS := 1..%u\n"
		"\n"
		"A bulkhead bounds the connections a service holds at once. A NEW connection\n"
		"(a TCP SYN, the first packet of a UDP flow) takes a slot; over the limit it is\n"
		"refused at once: TCP with a RST (or silently dropped: service set refuse drop),\n"
		"UDP dropped; counted as bh_service or bh_global. A slot is given back when the\n"
		"connection ends (RST, or FIN), or by the sweep below.\n"
		"\n"
		"  set    The global bulkhead, over all services (a service set global-limit off\n"
		"         is not counted in it). It is checked before the service's own limit.\n"
		"         max-conns  the global limit (default 0: none)\n"
		"         tcp-idle   established TCP connections idle longer are forgotten by\n"
		"                    the sweep and their slots given back (default %u s)\n"
		"  show   Every bulkhead: limit, reserve (the part only critical clients may use),\n"
		"         connections in use, connections refused (service, and global when the\n"
		"         service was refused by the global limit); then the global one.\n"
		"  sweep  Run the reconcile sweep once (the breaker watcher runs it every\n"
		"         interval): delete flows past their expiry with their nat twins (UDP idle\n"
		"         past the gateway's udp-timeout; TCP handshakes unanswered past the\n"
		"         service's syn-timeout; TCP idle past tcp-idle; flows of deleted\n"
		"         services), recount the connections holding slots and correct the\n"
		"         in-use counts; print what it did.\n"
		"\n"
		"Per service (see 'sluice service help'):\n"
		"  sluice service set SVC max-conns N [reserved N] [critical PREFIX[,PREFIX...]|none]\n"
		"                         [refuse rst|drop] [global-limit on|off]\n"
		"Standard clients may use max-conns - reserved slots; clients matching a\n"
		"critical prefix may use all of max-conns.\n"
		"\n"
		"Examples:\n"
		"  sluice service set 192.0.2.10 80 tcp max-conns 500 reserved 50 critical 10.0.0.0/8\n"
		"  sluice bulkhead set max-conns 20k tcp-idle 600\n"
		"  sluice -j bulkhead show | jq '.services[] | {address, in_use, refused}'\n"
		"  sluice bulkhead sweep\n",
		RES_MAX_CONNS_MAX, RES_TCP_IDLE_S_MAX, RES_TCP_IDLE_DEFAULT_S);
	return 0;
}

static void print_global(const struct sluice_res_global *g, __s64 in_use, __u64 refused)
{
	out_open_obj("global");
	out_text("global:");
	if (g->max_conns)
		out_u64("limit", " limit %llu", g->max_conns);
	else {
		out_u64("limit", NULL, 0);
		out_text(" limit none");
	}
	out_s64("in_use", " in use %lld", in_use < 0 ? 0 : in_use);
	out_u64("refused", " refused %llu", refused);
	out_u64("tcp_idle_s", " tcp-idle %llu s\n",
		g->tcp_idle_s ? g->tcp_idle_s : RES_TCP_IDLE_DEFAULT_S);
	out_close_obj();
}

static int print_service(const struct sluice_maps *m, const struct maps_svc_entry *e)
{
	struct sluice_counter c[SLUICE_R_MAX];
	struct sluice_shard_key *crit = NULL;
	struct sluice_svc_res r;
	size_t n = 0;
	__s64 in_use;
	int err;

	err = res_get(m, e->svc.id, &r);
	if (!err)
		err = maps_read_conns(m, e->svc.id, &in_use);
	if (!err)
		err = maps_read_svc_counters(m, e->svc.id, c);
	if (!err)
		err = res_critical_list(m, e->svc.id, &crit, &n);
	if (err)
		return err;
	cmd_open_service(NULL, &e->key, e->svc.id, 1);
	if (r.max_conns)
		out_u64("limit", " limit %llu", r.max_conns);
	else {
		out_u64("limit", NULL, 0);
		out_text(" limit none");
	}
	out_u64("reserved", r.reserved ? " reserved %llu" : NULL, r.reserved);
	out_s64("in_use", " in use %lld", in_use < 0 ? 0 : in_use);
	out_u64("refused", " refused %llu", c[SLUICE_R_BH_SERVICE].packets);
	out_u64("refused_global", " (global %llu)", c[SLUICE_R_BH_GLOBAL].packets);
	out_str("refuse", " refuse %s", res_refuse_name(r.refuse));
	out_str("global_limit", " global-limit %s", r.flags & SLUICE_RES_NO_GLOBAL ? "off" : "on");
	cmd_print_critical(crit, n);
	out_text("\n");
	out_close_obj();
	free(crit);
	return 0;
}

static int do_show(int argc, char **argv)
{
	struct sluice_counter g[SLUICE_R_MAX];
	struct maps_svc_entry *list = NULL;
	struct sluice_res_global glob;
	struct sluice_svc svc;
	struct cli_show s;
	size_t n = 0, i;
	__s64 in_use;
	int err;

	err = cli_show_open("bulkhead", "show", 1, argc, argv, &s);
	if (!err && s.only)
		err = svc_get(&s.m, s.only, &svc);
	if (!err)
		err = svc_list(&s.m, &list, &n);
	if (!err)
		err = maps_read_res_global(&s.m, &glob);
	if (!err)
		err = maps_read_conns(&s.m, SLUICE_CONNS_GLOBAL, &in_use);
	if (!err)
		err = maps_read_global(&s.m, g);
	if (err)
		goto out;
	out_open_array("services");
	for (i = 0; i < n && !err; i++) {
		if (s.only && memcmp(&list[i].key, s.only, sizeof(*s.only)))
			continue;
		err = print_service(&s.m, &list[i]);
	}
	out_close_array();
	if (!err)
		print_global(&glob, in_use, g[SLUICE_R_BH_GLOBAL].packets);
out:
	free(list);
	return cli_show_close(&s, err);
}

/* The sweep's report, text or JSON (shared with breaker watch through cli_print_sweep). */
void cli_print_sweep(const char *key, const struct sweep_report *r)
{
	size_t i;

	out_open_obj(key);
	out_u64("flows", "swept %llu flows", r->flows);
	out_u64("duration_us", " in %llu us:", r->duration_ns / 1000);
	out_u64("expired_syn", " %llu unanswered SYNs,", r->expired_syn);
	out_u64("expired_udp", " %llu idle UDP,", r->expired_udp);
	out_u64("expired_idle", " %llu idle TCP,", r->expired_idle);
	out_u64("orphans", " %llu of deleted services;", r->orphans);
	out_u64("nat_rev_deleted", " %llu nat twins deleted;", r->nat_rev);
	out_u64("released", " %llu slots released\n", r->released);
	out_open_array("corrections");
	for (i = 0; i < r->nfixes; i++) {
		const struct sweep_fix *f = &r->fixes[i];

		out_open_obj(NULL);
		if (f->slot == SLUICE_CONNS_GLOBAL) {
			out_text("  global");
			out_str("slot", NULL, "global");
		} else {
			out_u64("service_id", "  service %llu", f->slot);
		}
		out_s64("was", " in use %lld", f->seen);
		out_s64("now", " -> %lld\n", f->counted);
		out_close_obj();
	}
	out_close_array();
	out_open_array("syn_timeouts");
	for (i = 0; i < r->nfailures; i++) {
		out_open_obj(NULL);
		out_u64("backend_id", "  backend %llu", r->failures[i].backend_id);
		out_u64("service_id", " (service %llu):", r->failures[i].svc_id);
		out_u64("count", " %llu SYN timeouts\n", r->failures[i].count);
		out_close_obj();
	}
	out_close_array();
	out_close_obj();
}

static int do_sweep(int argc, char **argv)
{
	struct sweep_report r;
	struct cli_show s;
	int err;

	memset(&r, 0, sizeof(r));
	err = cli_show_open("bulkhead", "sweep", 0, argc, argv, &s);
	if (!err)
		err = sweep_run(&s.m, 0, &r);
	if (!err)
		cli_print_sweep("sweep", &r);
	sweep_report_free(&r);
	return cli_show_close(&s, err);
}

const struct cli_cmd cli_bulkhead_cmds[] = {
	{ "set", NULL, CLI_WRITE, CMD_BULKHEAD_SET },
	{ "show", do_show, 0, CMD_NONE },
	{ "sweep", do_sweep, 0, CMD_NONE },
	{ "help", do_help, 0, CMD_NONE },
	{ NULL, NULL, 0, CMD_NONE },
};
