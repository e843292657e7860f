// SPDX-License-Identifier: GPL-2.0-only
/*
 * shard add, shard del: a client prefix of a nat or ipip service pinned to
 * one backend or to a subset of its backends (shard.c). The prefix is kept
 * as given: the library parses it with the service's id.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "args.h"
#include "cmd_int.h"
#include "err.h"
#include "out.h"

/* "SERVICE PREFIX" */
static int parse_head(const char *verb, int argc, char **argv, struct sluice_cmd *cmd)
{
	struct sluice_shard_key probe;
	char what[32];
	int err;

	snprintf(what, sizeof(what), "shard %s", verb);
	err = cmd_parse_svc_then(what, "PREFIX", argc, argv, &cmd->svc);
	if (err)
		return err;
	if (shard_prefix_parse(argv[3], 0, &probe))
		return cmd_bad("%s: %s", what, err_msg());
	if (strlen(argv[3]) >= sizeof(cmd->shard.prefix))
		return cmd_bad("%s: prefix too long", what);
	snprintf(cmd->shard.prefix, sizeof(cmd->shard.prefix), "%s", argv[3]);
	return 0;
}

static int parse_target(int argc, char **argv, struct shard_target *t)
{
	static const char *const kinds[] = { "backend", "subset" };
	static const char *const port_kw[] = { "port" };
	int kind;

	memset(t, 0, sizeof(*t));
	if (argc < 1)
		return cmd_bad(
			"shard add: missing the target: backend BACKEND_ADDR or subset MEMBER,...");
	kind = ARGS_KEYWORD_FIND(argv[0], kinds, "target");
	if (kind < 0)
		return cmd_bad("shard add: %s", err_msg());
	if (argc < 2)
		return cmd_bad("shard add: '%s' needs a value", kinds[kind]);
	if (kind == 1) {
		t->subset = 1;
		if (argc > 2)
			return cmd_bad(
				"shard add: unexpected argument '%s' (members are one comma-separated list)",
				argv[2]);
		if (shard_members_parse(argv[1], t->refs, SLUICE_SUBSET_MAX_MEMBERS, &t->count))
			return cmd_bad("shard add: %s", err_msg());
		return 0;
	}
	t->count = 1;
	if (addr_parse(argv[1], &t->refs[0].addr))
		return cmd_bad("shard add: %s", err_msg());
	if (argc == 2)
		return 0;
	if (argc != 4 || ARGS_KEYWORD_FIND(argv[2], port_kw, "keyword") < 0)
		return cmd_bad("shard add: after the backend, only 'port BPORT'");
	if (args_parse_port(argv[3], &t->refs[0].port))
		return cmd_bad("shard add: %s", err_msg());
	t->refs[0].has_port = 1;
	return 0;
}

static int cmd_shard_parse(enum cmd_kind kind, int argc, char **argv, struct sluice_cmd *cmd)
{
	int err = parse_head(cmd_kinds[kind].verb, argc, argv, cmd);

	if (err)
		return err;
	if (kind == CMD_SHARD_ADD)
		return parse_target(argc - 4, argv + 4, &cmd->shard.target);
	if (argc > 4)
		return cmd_bad("shard del: unexpected argument '%s'", argv[4]);
	return 0;
}

/* A subset member: "ADDR", "A.B.C.D:PORT" or "[V6]:PORT". */
static void member_text(const struct be_ref *r, char *buf, size_t len)
{
	char a[ADDR_STRLEN];

	cmd_addr_text(&r->addr, a, sizeof(a));
	if (!r->has_port)
		snprintf(buf, len, "%s", a);
	else if (addr_is_v4mapped(&r->addr))
		snprintf(buf, len, "%s:%u", a, r->port);
	else
		snprintf(buf, len, "[%s]:%u", a, r->port);
}

static int cmd_shard_format(const struct sluice_cmd *cmd, struct cmd_argv *out)
{
	const struct shard_target *t = &cmd->shard.target;
	char list[SLUICE_SUBSET_MAX_MEMBERS * (ADDR_STRLEN + 10)], member[ADDR_STRLEN + 10];
	size_t used = 0, i;
	int err;

	err = cmd_argv_add(out, "%s", cmd->shard.prefix);
	if (err || cmd->kind != CMD_SHARD_ADD)
		return err;
	if (!t->subset) {
		err = cmd_argv_add(out, "backend");
		return err ? err : cmd_argv_ref(out, &t->refs[0]);
	}
	list[0] = 0;
	for (i = 0; i < t->count && used < sizeof(list); i++) {
		member_text(&t->refs[i], member, sizeof(member));
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? "," : "",
					 member);
	}
	err = cmd_argv_add(out, "subset");
	return err ? err : cmd_argv_add(out, "%s", list);
}

void cmd_print_shard(const char *key, const struct shard_info *it)
{
	char p[SHARD_PREFIX_STRLEN], a[ADDR_STRLEN], k[SVC_KEY_STRLEN];
	__u32 i;

	shard_prefix_format(&it->key, p, sizeof(p));
	cmd_addr_text(&it->svc_key.addr, a, sizeof(a));
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
		cmd_addr_text(&it->members[i].addr, a, sizeof(a));
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

static int cmd_shard_apply(const struct sluice_maps *m, const struct sluice_cmd *cmd)
{
	struct shard_info info;
	int err;

	if (cmd->kind == CMD_SHARD_ADD)
		err = shard_add(m, &cmd->svc, cmd->shard.prefix, &cmd->shard.target, &info);
	else
		err = shard_del(m, &cmd->svc, cmd->shard.prefix, &info);
	if (err)
		return err;
	out_text(cmd->kind == CMD_SHARD_ADD ? "added shard " : "deleted shard ");
	cmd_print_shard("shard", &info);
	return 0;
}

const struct cmd_ops cmd_shard_ops = { cmd_shard_parse, cmd_shard_format, cmd_shard_apply, NULL };
