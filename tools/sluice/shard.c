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

static void print_shard(const char *key, const struct shard_info *it)
{
	char p[SHARD_PREFIX_STRLEN], a[ADDR_STRLEN], k[SVC_KEY_STRLEN];
	__u32 i;

	shard_prefix_format(&it->key, p, sizeof(p));
	if (addr_format(&it->svc_key.addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	svc_key_format(&it->svc_key, k, sizeof(k));
	out_open_obj(key);
	out_str("service_address", NULL, a);
	out_u64("service_port", NULL, ntohs(it->svc_key.port));
	out_str("service_proto", NULL, args_proto_name(it->svc_key.proto));
	out_str("prefix", "%s", p);
	out_text(" of service %s ->", k);
	if (it->subset == SLUICE_NO_BACKEND) {
		out_str("target", " %s", "backend");
	} else {
		out_str("target", " %s", "subset");
		out_u64("subset", " %llu", it->subset);
		out_u64("table_id", NULL, it->value.table_id);
		out_text(" members");
	}
	out_open_array("members");
	for (i = 0; i < it->count; i++) {
		if (addr_format(&it->members[i].addr, a, sizeof(a)))
			snprintf(a, sizeof(a), "?");
		out_open_obj(NULL);
		out_u64("id", i ? ", %llu:" : " %llu:", it->ids[i]);
		out_str("address", " %s", a);
		out_u64("port", " port %llu", it->ports[i]);
		out_str("state", " (%s)",
			it->members[i].state == SLUICE_BE_ACTIVE     ? "active"
			: it->members[i].state == SLUICE_BE_DRAINING ? "draining"
								     : "gone");
		out_close_obj();
	}
	out_close_array();
	out_text("\n");
	out_close_obj();
}

/* Parse "SERVICE PREFIX": the key; the prefix is parsed by the library (needs the id). */
static int parse_head(const char *cmd, int argc, char **argv, struct sluice_svc_key *key)
{
	struct sluice_shard_key probe;
	int err;

	err = cli_parse_svc_key("shard", argc, argv, key);
	if (err)
		return err;
	if (argc < 4)
		return cli_usage_error("shard", "shard %s: missing PREFIX after the service", cmd);
	if (shard_prefix_parse(argv[3], 0, &probe))
		return cli_usage_error("shard", "shard %s: %s", cmd, err_msg());
	return 0;
}

static int parse_target(int argc, char **argv, struct shard_target *t)
{
	static const char *const kinds[] = { "backend", "subset" };
	static const char *const port_kw[] = { "port" };
	int kind;

	memset(t, 0, sizeof(*t));
	if (argc < 1)
		return cli_usage_error(
			"shard",
			"shard add: missing the target: backend BACKEND_ADDR or subset MEMBER,...");
	kind = ARGS_KEYWORD_FIND(argv[0], kinds, "target");
	if (kind < 0)
		return cli_usage_error("shard", "shard add: %s", err_msg());
	if (argc < 2)
		return cli_usage_error("shard", "shard add: '%s' needs a value", kinds[kind]);
	if (kind == 1) {
		t->subset = 1;
		if (argc > 2)
			return cli_usage_error(
				"shard",
				"shard add: unexpected argument '%s' (members are one comma-separated list)",
				argv[2]);
		if (shard_members_parse(argv[1], t->refs, SLUICE_SUBSET_MAX_MEMBERS, &t->count))
			return cli_usage_error("shard", "shard add: %s", err_msg());
		return 0;
	}
	t->count = 1;
	if (addr_parse(argv[1], &t->refs[0].addr))
		return cli_usage_error("shard", "shard add: %s", err_msg());
	if (argc == 2)
		return 0;
	if (argc != 4 || ARGS_KEYWORD_FIND(argv[2], port_kw, "keyword") < 0)
		return cli_usage_error("shard", "shard add: after the backend, only 'port BPORT'");
	if (args_parse_port(argv[3], &t->refs[0].port))
		return cli_usage_error("shard", "shard add: %s", err_msg());
	t->refs[0].has_port = 1;
	return 0;
}

static int do_add(int argc, char **argv)
{
	struct sluice_svc_key key;
	struct shard_target target;
	struct shard_info info;
	struct sluice_maps m;
	int err;

	maps_init(&m);
	err = parse_head("add", argc, argv, &key);
	if (!err)
		err = parse_target(argc - 4, argv + 4, &target);
	if (err)
		return err;
	err = cli_open_maps(&m);
	if (err)
		return err;
	err = shard_add(&m, &key, argv[3], &target, &info);
	if (err)
		cli_lib_error(err);
	else {
		out_text("added shard ");
		print_shard("shard", &info);
	}
	maps_close(&m);
	return err;
}

static int do_del(int argc, char **argv)
{
	struct sluice_svc_key key;
	struct shard_info info;
	struct sluice_maps m;
	int err;

	maps_init(&m);
	err = parse_head("del", argc, argv, &key);
	if (err)
		return err;
	if (argc > 4)
		return cli_usage_error("shard", "shard del: unexpected argument '%s'", argv[4]);
	err = cli_open_maps(&m);
	if (err)
		return err;
	err = shard_del(&m, &key, argv[3], &info);
	if (err)
		cli_lib_error(err);
	else {
		out_text("deleted shard ");
		print_shard("shard", &info);
	}
	maps_close(&m);
	return err;
}

static int do_show(int argc, char **argv)
{
	struct shard_info *list = NULL;
	struct sluice_svc_key key;
	struct sluice_maps m;
	size_t n = 0, i;
	int err;

	maps_init(&m);
	err = cli_show_open("shard", argc, argv, &key, &m);
	if (err)
		return err;
	err = shard_list(&m, argc ? &key : NULL, &list, &n);
	if (err) {
		cli_lib_error(err);
		goto out;
	}
	out_open_array(NULL);
	for (i = 0; i < n; i++)
		print_shard(NULL, &list[i]);
	out_close_array();
	if (!n)
		out_text("no shards (add one with 'sluice shard add')\n");
out:
	free(list);
	maps_close(&m);
	return err;
}

int do_shard(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "add", do_add, CLI_WRITE },
		{ "del", do_del, CLI_WRITE },
		{ "show", do_show, 0 },
		{ "help", do_help, 0 },
	};

	return cli_dispatch("shard", cmds, sizeof(cmds) / sizeof(cmds[0]), NULL, argc, argv);
}
