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

enum { KW_PORT, KW_WEIGHT };

static const struct {
	const char *name;
	const char *value;
} keywords[] = {
	[KW_PORT] = { "port", "BPORT" },
	[KW_WEIGHT] = { "weight", "W" },
};

/*
 * Parse "SERVICE BACKEND_ADDR [port BPORT] [weight W]". allow_weight: 0 no,
 * 1 optional, 2 required.
 */
static int parse_args(const char *cmd, int argc, char **argv, int allow_weight,
		      struct sluice_svc_key *key, struct be_ref *ref, int *has_weight,
		      __u32 *weight)
{
	int i, kw, seen[2] = { 0 }, err;

	err = cli_parse_svc_key("backend", argc, argv, key);
	if (err)
		return err;
	if (argc < 4)
		return cli_usage_error("backend",
				       "backend %s: missing BACKEND_ADDR after the service", cmd);
	memset(ref, 0, sizeof(*ref));
	if (addr_parse(argv[3], &ref->addr))
		return cli_usage_error("backend", "backend %s: %s", cmd, err_msg());
	*has_weight = 0;
	for (i = 4; i < argc; i += 2) {
		kw = ARGS_KEYWORD_FIND(argv[i], keywords, "keyword");
		if (kw < 0 || (kw == KW_WEIGHT && !allow_weight))
			return cli_usage_error("backend", "backend %s: %s", cmd,
					       kw < 0 ? err_msg() : "weight is not taken here");
		if (seen[kw]++)
			return cli_usage_error("backend", "backend %s: '%s' given twice", cmd,
					       keywords[kw].name);
		if (i + 1 >= argc)
			return cli_usage_error("backend", "backend %s: '%s' needs a value: %s %s",
					       cmd, keywords[kw].name, keywords[kw].name,
					       keywords[kw].value);
		if (kw == KW_PORT) {
			err = args_parse_port(argv[i + 1], &ref->port);
			ref->has_port = 1;
		} else {
			err = args_parse_u32(argv[i + 1], 1, BACKEND_WEIGHT_MAX, "weight", weight);
			*has_weight = 1;
		}
		if (err)
			return cli_usage_error("backend", "backend %s: %s", cmd, err_msg());
	}
	if (allow_weight == 2 && !*has_weight)
		return cli_usage_error("backend", "backend %s: nothing to change: give weight W",
				       cmd);
	return 0;
}

static const char *state_name(__u8 state)
{
	switch (state) {
	case SLUICE_BE_ACTIVE:
		return "active";
	case SLUICE_BE_DRAINING:
		return "draining";
	default:
		return "unused";
	}
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

/*
 * One backend; the service fields are JSON-only (text shows them in a
 * header). is_leader: 1 when it is its service's leader, -1 unknown (not shown).
 */
static void print_backend(const char *key, const struct backend_info *it, int with_counters,
			  const struct hstate *hs, int is_leader)
{
	char a[ADDR_STRLEN], s[ADDR_STRLEN];

	if (addr_format(&it->be.addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	if (addr_format(&it->svc_key.addr, s, sizeof(s)))
		snprintf(s, sizeof(s), "?");
	out_open_obj(key);
	out_str("service_address", NULL, s);
	out_u64("service_port", NULL, ntohs(it->svc_key.port));
	out_str("service_proto", NULL, args_proto_name(it->svc_key.proto));
	out_u64("id", "  %llu:", it->id);
	out_str("address", " %s", a);
	out_u64("port", " port %llu", it->port);
	out_u64("weight", " weight %llu", it->be.weight);
	out_str("state", " %s", state_name(it->be.state));
	if (is_leader >= 0)
		out_u64("leader", is_leader ? " leader" : NULL, (__u64)is_leader);
	if (with_counters) {
		out_u64("slots", " slots %llu", it->slots);
		out_u64("packets", " packets %llu", it->counters.packets);
		out_u64("bytes", " bytes %llu", it->counters.bytes);
		out_u64("new_flows", " new_flows %llu", it->counters.new_flows);
	}
	if (with_counters) {
		const char *why = "-";
		int up = 0;

		/* The daemon's active check: up/down and why; "-" when none runs. */
		if (hstate_backend(hs, it->id, &up, &why)) {
			out_str("health", " health %s", "-");
			out_str("health_why", NULL, "-");
		} else {
			out_str("health", " health %s", up ? "up" : "down");
			out_str("health_why", " (%s)", *why ? why : "-");
		}
	}
	out_text("\n");
	out_close_obj();
}

/* Print the backend id of service key after a change (text line / JSON object). */
static void print_changed(const char *what, const struct sluice_maps *m,
			  const struct sluice_svc_key *key, __u32 id,
			  const struct sluice_backend *rec)
{
	struct backend_info it;
	char k[SVC_KEY_STRLEN];
	struct sluice_svc svc;

	memset(&it, 0, sizeof(it));
	it.svc_key = *key;
	it.id = id;
	it.be = *rec;
	it.port = backend_port(rec, key);
	if (!svc_get(m, key, &svc))
		it.svc_mode = svc.mode;
	svc_key_format(key, k, sizeof(k));
	out_text("%s backend of service %s:\n", what, k);
	print_backend("backend", &it, 0, NULL, -1);
}

static int write_cmd(const char *cmd, int argc, char **argv)
{
	struct sluice_backend rec;
	struct sluice_svc_key key;
	struct sluice_maps m;
	struct be_conf conf;
	struct be_ref ref;
	int has_weight = 0, err;
	__u32 weight = 1, id = 0;
	int is_add = !strcmp(cmd, "add"), is_set = !strcmp(cmd, "set");
	const char *done = "deleted";

	maps_init(&m);
	err = parse_args(cmd, argc, argv,
			 is_add	  ? 1
			 : is_set ? 2
				  : 0,
			 &key, &ref, &has_weight, &weight);
	if (err)
		return err;
	err = cli_open_maps(&m);
	if (err)
		return err;
	if (is_add) {
		memset(&conf, 0, sizeof(conf));
		conf.addr = ref.addr;
		conf.has_port = ref.has_port;
		conf.port = ref.port;
		conf.has_weight = has_weight;
		conf.weight = weight;
		err = backend_add(&m, &key, &conf, &id, &rec);
		done = "added";
	} else if (is_set) {
		err = backend_set_weight(&m, &key, &ref, weight, &id, &rec);
		done = "updated";
	} else if (!strcmp(cmd, "drain")) {
		err = backend_set_state(&m, &key, &ref, SLUICE_BE_DRAINING, &id, &rec);
		done = "drained";
	} else if (!strcmp(cmd, "activate")) {
		err = backend_set_state(&m, &key, &ref, SLUICE_BE_ACTIVE, &id, &rec);
		done = "activated";
	} else {
		err = backend_del(&m, &key, &ref, &id, &rec);
	}
	if (err) {
		cli_lib_error(err);
		goto out;
	}
	print_changed(done, &m, &key, id, &rec);
out:
	maps_close(&m);
	return err;
}

static int do_add(int argc, char **argv)
{
	return write_cmd("add", argc, argv);
}

static int do_set(int argc, char **argv)
{
	return write_cmd("set", argc, argv);
}

static int do_drain(int argc, char **argv)
{
	return write_cmd("drain", argc, argv);
}

static int do_activate(int argc, char **argv)
{
	return write_cmd("activate", argc, argv);
}

static int do_del(int argc, char **argv)
{
	return write_cmd("del", argc, argv);
}

static int do_show(int argc, char **argv)
{
	struct sluice_leader l = { 0 };
	struct backend_info *list = NULL;
	struct hstate *hs = NULL;
	struct sluice_svc_key key;
	struct sluice_maps m;
	size_t n = 0, i;
	int err;

	maps_init(&m);
	err = cli_show_open("backend", argc, argv, &key, &m);
	if (err)
		return err;
	hs = health_load();
	err = backend_list(&m, argc ? &key : NULL, &list, &n);
	if (err) {
		cli_lib_error(err);
		goto out;
	}
	out_open_array(NULL);
	for (i = 0; i < n; i++) {
		if (!i || memcmp(&list[i].svc_key, &list[i - 1].svc_key, sizeof(key))) {
			char k[SVC_KEY_STRLEN];

			svc_key_format(&list[i].svc_key, k, sizeof(k));
			out_text("service %s (mode %s):\n", k, args_mode_name(list[i].svc_mode));
			/* Best effort, like the health: unreadable means no leader shown. */
			if (leader_get(&m, list[i].be.svc_id, &l))
				l.backend = 0;
		}
		print_backend(NULL, &list[i], 1, hs, l.backend == list[i].id + 1);
	}
	out_close_array();
	if (!n)
		out_text("no backends (add one with 'sluice backend add')\n");
out:
	hstate_free(hs);
	free(list);
	maps_close(&m);
	return err;
}

int do_backend(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "add", do_add, CLI_WRITE },	  { "set", do_set, CLI_WRITE },
		{ "drain", do_drain, CLI_WRITE }, { "activate", do_activate, CLI_WRITE },
		{ "del", do_del, CLI_WRITE },	  { "show", do_show, 0 },
		{ "help", do_help, 0 },
	};

	return cli_dispatch("backend", cmds, sizeof(cmds) / sizeof(cmds[0]), NULL, argc, argv);
}
