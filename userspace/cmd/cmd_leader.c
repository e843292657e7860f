// SPDX-License-Identifier: GPL-2.0-only
/*
 * leader set: which backend takes the write flows of a service that
 * follows a leader (an operator, or the daemon relaying an etcd election
 * or a role check), through leader.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "args.h"
#include "cmd_int.h"
#include "err.h"
#include "out.h"

enum { KW_PORT, KW_SOURCE };

static const struct cmd_keyword keywords[] = {
	[KW_PORT] = { "port", "BPORT" },
	[KW_SOURCE] = { "source", "operator|election|role" },
};

/* "SERVICE { BACKEND | none } [source SOURCE]" */
static int cmd_leader_parse(enum cmd_kind kind, int argc, char **argv, struct sluice_cmd *cmd)
{
	struct be_ref *ref = &cmd->leader.ref;
	int i, kw, seen[2] = { 0 }, err;

	(void)kind;
	err = cmd_parse_svc_key(argc, argv, &cmd->svc);
	if (err)
		return err;
	if (argc < 4)
		return cmd_bad(
			"leader set: missing BACKEND after the service: give ADDR, ADDR:PORT, [IPV6]:PORT, ADDR port PORT or none");
	cmd->leader.has_ref = strcmp(argv[3], "none") != 0;
	cmd->leader.source = SLUICE_LEADER_OPERATOR;
	if (cmd->leader.has_ref && leader_parse_backend(argv[3], ref))
		return cmd_bad("leader set: %s", err_msg());
	for (i = 4; i < argc; i += 2) {
		kw = CMD_KEYWORD("leader set", keywords, argc, argv, i, seen);
		if (kw < 0)
			return kw;
		if (kw == KW_SOURCE) {
			err = leader_parse_source(argv[i + 1], &cmd->leader.source);
		} else if (!cmd->leader.has_ref) {
			return cmd_bad("leader set: 'none' takes no port: give none alone");
		} else if (ref->has_port) {
			return cmd_bad("leader set: '%s' already has a port: give the port once",
				       argv[3]);
		} else {
			err = args_parse_port(argv[i + 1], &ref->port);
			ref->has_port = 1;
		}
		if (err)
			return cmd_bad("leader set: %s", err_msg());
	}
	return 0;
}

static int cmd_leader_format(const struct sluice_cmd *cmd, struct cmd_argv *out)
{
	int err;

	err = cmd->leader.has_ref ? cmd_argv_ref(out, &cmd->leader.ref) : cmd_argv_add(out, "none");
	if (!err)
		err = cmd_argv_add(out, "source");
	if (!err)
		err = cmd_argv_add(out, "%s", leader_source_name(cmd->leader.source));
	return err;
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

void cmd_print_leader(const char *key, const struct leader_info *l,
		      const struct leader_info *previous)
{
	char a[ADDR_STRLEN], who[LEADER_BACKEND_STRLEN], since[32];
	const struct svc_info *s = &l->svc;

	cmd_addr_text(&s->key.addr, a, sizeof(a));
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
		cmd_addr_text(&l->be.addr, a, sizeof(a));
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

static int cmd_leader_apply(const struct sluice_maps *m, const struct sluice_cmd *cmd)
{
	struct leader_info before, after;
	int err;

	err = leader_set_service(m, &cmd->svc, cmd->leader.has_ref ? &cmd->leader.ref : NULL,
				 cmd->leader.source, &before, &after);
	if (err)
		return err;
	out_text("leader set: ");
	cmd_print_leader(NULL, &after, &before);
	return 0;
}

const struct cmd_ops cmd_leader_ops = { cmd_leader_parse, cmd_leader_format, cmd_leader_apply,
					NULL };
