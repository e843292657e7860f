// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice leader: which backend takes the write flows of the services that
 * follow a leader (write-port or route leader, see 'sluice service help'):
 * show it, set it (an operator, or the daemon relaying an etcd election or
 * a role check). Writes go through userspace/leader.c; arguments are all
 * checked before any map is touched.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "args.h"
#include "err.h"
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
		"Usage: sluice leader show [SERVICE]\n"
		"       sluice leader set SERVICE { BACKEND | none } [source SOURCE]\n"
		"       sluice leader help\n"
		"\n"
		"SERVICE := ADDR PORT PROTO of a nat or ipip service with a write port or\n"
		"           route leader (sluice service set SERVICE write-port WPORT)\n"
		"BACKEND := { BACKEND_ADDR | A.B.C.D:BPORT | [IPV6]:BPORT | BACKEND_ADDR port BPORT }\n"
		"           one of the service's backends; the port may be left out when one\n"
		"           backend has the address (ipip: backends are known by address, the\n"
		"           port is not compared)\n"
		"SOURCE  := { operator | election | role }   who says so (default operator)\n"
		"\n"
		"  show   The services that follow a leader, or the one given: service, write\n"
		"         port (- when none), route, leader (ADDR:PORT or none), who set it\n"
		"         and since when (UTC).\n"
		"  set    Make BACKEND the leader, or say there is none. New flows on the\n"
		"         write port (route leader: on every port) go to the leader; with\n"
		"         none they are refused (no_leader: TCP RST or drop as the service's\n"
		"         refuse says). Established write flows to a former leader are\n"
		"         reset (leader_moved). With a write port, the read table leaves the\n"
		"         leader out while another backend is active. Setting the same\n"
		"         backend again keeps its 'since'. Deleting the leader's backend\n"
		"         clears the leader (its source stays).\n"
		"\n"
		"A write command: it goes through the daemon and its journal when one runs.\n"
		"The daemon sets leaders itself from a service's 'leader:' section (an etcd\n"
		"election's value, or each backend's role endpoint), with source election or\n"
		"role; see tools/sluiced.example.yaml.\n"
		"\n"
		"Examples:\n"
		"  sluice service add 192.0.2.40 5432 tcp mode nat write-port 5433\n"
		"  sluice backend add 192.0.2.40 5432 tcp 10.0.1.5\n"
		"  sluice leader set 192.0.2.40 5432 tcp 10.0.1.5:5432\n"
		"  sluice leader set 192.0.2.40 5432 tcp none\n"
		"  sluice -j leader show\n");
	return 0;
}

/* "2025-01-31T12:00:00Z", or "-" when never set. */
static void format_since(__u64 ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (!ns || !gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "-");
}

static void leader_text(const struct leader_info *l, char *buf, size_t len)
{
	if (l->backend_id == SLUICE_NO_BACKEND)
		snprintf(buf, len, "none");
	else
		leader_backend_format(&l->be.addr, l->be_port, buf, len);
}

/* One service's leader (text line / JSON object under key); previous for set. */
static void print_leader(const char *key, const struct leader_info *l,
			 const struct leader_info *previous)
{
	char a[ADDR_STRLEN], who[LEADER_BACKEND_STRLEN], since[32];
	const struct svc_info *s = &l->svc;

	if (addr_format(&s->key.addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	leader_text(l, who, sizeof(who));
	format_since(l->leader.changed_ns, since, sizeof(since));
	out_open_obj(key);
	out_u64("id", NULL, s->svc.id);
	out_str("address", "service %s", a);
	out_u64("port", " %llu", ntohs(s->key.port));
	out_str("proto", " %s", args_proto_name(s->key.proto));
	/* JSON: write_port 0 means none. */
	if (s->write_port)
		out_u64("write_port", " write-port %llu", s->write_port);
	else
		out_u64("write_port", " write-port -", 0);
	out_str("route", " route %s", svc_route_name(s->svc.flags & SLUICE_SVC_F_LEADER));
	out_str("leader", " leader %s", who);
	if (l->backend_id != SLUICE_NO_BACKEND) {
		if (addr_format(&l->be.addr, a, sizeof(a)))
			snprintf(a, sizeof(a), "?");
		out_str("leader_address", NULL, a);
		out_u64("leader_port", NULL, l->be_port);
		out_u64("leader_id", NULL, l->backend_id);
	}
	out_str("source", " source %s", leader_source_name(l->leader.source));
	out_str("since", " since %s", since);
	out_u64("since_ns", NULL, l->leader.changed_ns);
	if (previous) {
		int changed = previous->backend_id != l->backend_id;

		leader_text(previous, who, sizeof(who));
		out_str("previous", changed ? " (was %s)" : NULL, who);
		out_u64("changed", changed ? NULL : " (unchanged)", changed);
	}
	out_text("\n");
	out_close_obj();
}

enum { KW_PORT, KW_SOURCE };

static const struct {
	const char *name;
	const char *value;
} keywords[] = {
	[KW_PORT] = { "port", "BPORT" },
	[KW_SOURCE] = { "source", "operator|election|role" },
};

/* "SERVICE { BACKEND | none } [source SOURCE]"; *has_ref 0 for none. */
static int parse_set(int argc, char **argv, struct sluice_svc_key *key, struct be_ref *ref,
		     int *has_ref, __u8 *source)
{
	int i, kw, seen[2] = { 0 }, err;

	err = cli_parse_svc_key("leader", argc, argv, key);
	if (err)
		return err;
	if (argc < 4)
		return cli_usage_error(
			"leader",
			"leader set: missing BACKEND after the service: give ADDR, ADDR:PORT, [IPV6]:PORT, ADDR port PORT or none");
	*has_ref = strcmp(argv[3], "none") != 0;
	*source = SLUICE_LEADER_OPERATOR;
	memset(ref, 0, sizeof(*ref));
	if (*has_ref && leader_parse_backend(argv[3], ref))
		return cli_usage_error("leader", "leader set: %s", err_msg());
	for (i = 4; i < argc; i += 2) {
		kw = ARGS_KEYWORD_FIND(argv[i], keywords, "keyword");
		if (kw < 0)
			return cli_usage_error("leader", "leader set: %s", err_msg());
		if (seen[kw]++)
			return cli_usage_error("leader", "leader set: '%s' given twice",
					       keywords[kw].name);
		if (i + 1 >= argc)
			return cli_usage_error("leader", "leader set: '%s' needs a value: %s %s",
					       keywords[kw].name, keywords[kw].name,
					       keywords[kw].value);
		if (kw == KW_SOURCE) {
			err = leader_parse_source(argv[i + 1], source);
		} else if (!*has_ref) {
			return cli_usage_error("leader",
					       "leader set: 'none' takes no port: give none alone");
		} else if (ref->has_port) {
			return cli_usage_error(
				"leader", "leader set: '%s' already has a port: give the port once",
				argv[3]);
		} else {
			err = args_parse_port(argv[i + 1], &ref->port);
			ref->has_port = 1;
		}
		if (err)
			return cli_usage_error("leader", "leader set: %s", err_msg());
	}
	return 0;
}

static int do_set(int argc, char **argv)
{
	struct leader_info before, after;
	struct sluice_svc_key key;
	struct sluice_maps m;
	struct be_ref ref;
	int has_ref = 0, err;
	__u8 source;

	maps_init(&m);
	err = parse_set(argc, argv, &key, &ref, &has_ref, &source);
	if (err)
		return err;
	err = cli_open_maps(&m);
	if (err)
		return err;
	err = leader_set_service(&m, &key, has_ref ? &ref : NULL, source, &before, &after);
	if (err) {
		cli_lib_error(err);
		goto out;
	}
	out_text("leader set: ");
	print_leader(NULL, &after, &before);
out:
	maps_close(&m);
	return err;
}

static int do_show(int argc, char **argv)
{
	struct leader_info *list = NULL;
	struct sluice_svc_key key;
	struct sluice_maps m;
	size_t n = 0, i;
	int err;

	maps_init(&m);
	err = cli_show_open("leader", argc, argv, &key, &m);
	if (err)
		return err;
	err = leader_list(&m, argc ? &key : NULL, &list, &n);
	if (err) {
		cli_lib_error(err);
		goto out;
	}
	out_open_array(NULL);
	for (i = 0; i < n; i++)
		print_leader(NULL, &list[i], NULL);
	out_close_array();
	if (!n)
		out_text(
			"no service follows a leader (give one write-port or route leader with 'sluice service set')\n");
out:
	free(list);
	maps_close(&m);
	return err;
}

int do_leader(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "set", do_set, CLI_WRITE },
		{ "show", do_show, 0 },
		{ "help", do_help, 0 },
	};

	return cli_dispatch("leader", cmds, sizeof(cmds) / sizeof(cmds[0]), NULL, argc, argv);
}
