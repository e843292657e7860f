// SPDX-License-Identifier: GPL-2.0-only
/*
 * backend add, set, drain, activate, del (backend.c republishes the
 * affected Maglev tables) and breaker trip, reset (a backend's breaker
 * opened or closed by hand): the commands that name SERVICE BACKEND.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "args.h"
#include "breaker.h"
#include "cmd_int.h"
#include "err.h"
#include "out.h"

enum { KW_PORT, KW_WEIGHT };

static const struct cmd_keyword keywords[] = {
	[KW_PORT] = { "port", "BPORT" },
	[KW_WEIGHT] = { "weight", "W" },
};

/* "SERVICE BACKEND_ADDR" of backend and breaker commands (what: "backend add"). */
static int parse_ref(const char *what, int argc, char **argv, struct sluice_cmd *cmd)
{
	int err = cmd_parse_svc_then(what, "BACKEND_ADDR", argc, argv, &cmd->svc);

	if (!err && addr_parse(argv[3], &cmd->backend.ref.addr))
		err = cmd_bad("%s: %s", what, err_msg());
	return err;
}

/* "SERVICE BACKEND_ADDR [port BPORT] [weight W]"; allow_weight: 0 no, 1 optional, 2 required. */
static int parse_backend(const char *what, int argc, char **argv, int allow_weight,
			 struct sluice_cmd *cmd)
{
	struct be_ref *ref = &cmd->backend.ref;
	int i, kw, seen[2] = { 0 }, err;

	err = parse_ref(what, argc, argv, cmd);
	if (err)
		return err;
	for (i = 4; i < argc; i += 2) {
		kw = CMD_KEYWORD(what, keywords, argc, argv, i, seen);
		if (kw < 0)
			return kw;
		if (kw == KW_WEIGHT && !allow_weight)
			return cmd_bad("%s: weight is not taken here", what);
		if (kw == KW_PORT) {
			err = args_parse_port(argv[i + 1], &ref->port);
			ref->has_port = 1;
		} else {
			err = args_parse_u32(argv[i + 1], 1, BACKEND_WEIGHT_MAX, "weight",
					     &cmd->backend.weight);
			cmd->backend.has_weight = 1;
		}
		if (err)
			return cmd_bad("%s: %s", what, err_msg());
	}
	if (allow_weight == 2 && !cmd->backend.has_weight)
		return cmd_bad("%s: nothing to change: give weight W", what);
	return 0;
}

/* "SERVICE BACKEND_ADDR [port BPORT]" of breaker trip and reset. */
static int parse_breaker(const char *what, int argc, char **argv, struct sluice_cmd *cmd)
{
	struct be_ref *ref = &cmd->backend.ref;
	int err;

	err = parse_ref(what, argc, argv, cmd);
	if (err || argc < 5)
		return err;
	if (strcmp(argv[4], "port") || argc != 6)
		return cmd_bad("%s: after BACKEND_ADDR only 'port BPORT'", what);
	if (args_parse_port(argv[5], &ref->port))
		return cmd_bad("%s: %s", what, err_msg());
	ref->has_port = 1;
	return 0;
}

static int cmd_backend_parse(enum cmd_kind kind, int argc, char **argv, struct sluice_cmd *cmd)
{
	char what[32];

	snprintf(what, sizeof(what), "%s %s", cmd_kinds[kind].object, cmd_kinds[kind].verb);
	cmd->backend.weight = 1;
	switch (kind) {
	case CMD_BREAKER_TRIP:
	case CMD_BREAKER_RESET:
		return parse_breaker(what, argc, argv, cmd);
	case CMD_BACKEND_ADD:
		return parse_backend(what, argc, argv, 1, cmd);
	case CMD_BACKEND_SET:
		return parse_backend(what, argc, argv, 2, cmd);
	default:
		return parse_backend(what, argc, argv, 0, cmd);
	}
}

static int cmd_backend_format(const struct sluice_cmd *cmd, struct cmd_argv *out)
{
	int err = cmd_argv_ref(out, &cmd->backend.ref);

	if (!err && cmd->backend.has_weight) {
		err = cmd_argv_add(out, "weight");
		if (!err)
			err = cmd_argv_add(out, "%u", cmd->backend.weight);
	}
	return err;
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

void cmd_open_backend(const char *key, const struct backend_info *it)
{
	char a[ADDR_STRLEN], s[ADDR_STRLEN];

	cmd_addr_text(&it->be.addr, a, sizeof(a));
	cmd_addr_text(&it->svc_key.addr, s, sizeof(s));
	out_open_obj(key);
	out_str("service_address", NULL, s);
	out_u64("service_port", NULL, ntohs(it->svc_key.port));
	out_str("service_proto", NULL, args_proto_name(it->svc_key.proto));
	out_u64("id", "  %llu:", it->id);
	out_str("address", " %s", a);
	out_u64("port", " port %llu", it->port);
}

void cmd_print_backend(const char *key, const struct backend_info *it, int with_counters,
		       int health, const char *why, int is_leader)
{
	cmd_open_backend(key, it);
	out_u64("weight", " weight %llu", it->be.weight);
	out_str("state", " %s", state_name(it->be.state));
	if (is_leader >= 0)
		out_u64("leader", is_leader ? " leader" : NULL, (__u64)is_leader);
	if (with_counters) {
		out_u64("slots", " slots %llu", it->slots);
		out_u64("packets", " packets %llu", it->counters.packets);
		out_u64("bytes", " bytes %llu", it->counters.bytes);
		out_u64("new_flows", " new_flows %llu", it->counters.new_flows);
		out_u64("redispatched", " redispatched %llu", it->fo.redispatched);
		out_u64("retry_exhausted", " retry_exhausted %llu", it->fo.retry_exhausted);
		/* The daemon's active check: up/down and why; "-" when none runs. */
		if (health < 0) {
			out_str("health", " health %s", "-");
			out_str("health_why", NULL, "-");
		} else {
			out_str("health", " health %s", health ? "up" : "down");
			out_str("health_why", " (%s)", why && *why ? why : "-");
		}
	}
	out_text("\n");
	out_close_obj();
}

/* The backend id of service key after a change (text line / JSON object). */
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
	cmd_print_backend("backend", &it, 0, -1, NULL, -1);
}

/* breaker trip, reset: the override written for the backend's engine to see. */
static int override(const struct sluice_maps *m, const struct sluice_cmd *cmd)
{
	__u32 state = cmd->kind == CMD_BREAKER_TRIP ? SLUICE_BRK_OPEN : SLUICE_BRK_CLOSED;
	struct sluice_backend *all;
	char a[ADDR_STRLEN], k[SVC_KEY_STRLEN];
	struct sluice_svc svc;
	__u32 id;
	int err;

	all = calloc(SLUICE_MAX_BACKENDS, sizeof(*all));
	if (!all) {
		err_set("out of memory");
		return -ENOMEM;
	}
	err = svc_get(m, &cmd->svc, &svc);
	if (!err)
		err = maps_read_backends(m, all);
	if (!err)
		err = backend_find(all, &cmd->svc, &svc, &cmd->backend.ref, &id);
	if (!err)
		err = res_breaker_write(m, id, state, 0);
	if (err)
		goto out;
	cmd_addr_text(&all[id].addr, a, sizeof(a));
	svc_key_format(&cmd->svc, k, sizeof(k));
	out_open_obj("breaker");
	out_u64("id", "backend %llu", id);
	out_str("address", " (%s", a);
	out_u64("port", " port %llu)", backend_port(&all[id], &cmd->svc));
	out_text(" of service %s:", k);
	out_str("state", " %s\n", brk_state_name(state));
	out_close_obj();
out:
	free(all);
	return err;
}

static int cmd_backend_apply(const struct sluice_maps *m, const struct sluice_cmd *cmd)
{
	const struct be_ref *ref = &cmd->backend.ref;
	struct sluice_backend rec;
	const char *done;
	struct be_conf conf;
	__u32 id = 0;
	int err;

	switch (cmd->kind) {
	case CMD_BREAKER_TRIP:
	case CMD_BREAKER_RESET:
		return override(m, cmd);
	case CMD_BACKEND_ADD:
		memset(&conf, 0, sizeof(conf));
		conf.addr = ref->addr;
		conf.has_port = ref->has_port;
		conf.port = ref->port;
		conf.has_weight = cmd->backend.has_weight;
		conf.weight = cmd->backend.weight;
		err = backend_add(m, &cmd->svc, &conf, &id, &rec);
		done = "added";
		break;
	case CMD_BACKEND_SET:
		err = backend_set_weight(m, &cmd->svc, ref, cmd->backend.weight, &id, &rec);
		done = "updated";
		break;
	case CMD_BACKEND_DRAIN:
		err = backend_set_state(m, &cmd->svc, ref, SLUICE_BE_DRAINING, &id, &rec);
		done = "drained";
		break;
	case CMD_BACKEND_ACTIVATE:
		err = backend_set_state(m, &cmd->svc, ref, SLUICE_BE_ACTIVE, &id, &rec);
		done = "activated";
		break;
	default:
		err = backend_del(m, &cmd->svc, ref, &id, &rec);
		done = "deleted";
		break;
	}
	if (err)
		return err;
	print_changed(done, m, &cmd->svc, id, &rec);
	if (cmd->kind == CMD_BACKEND_ADD)
		cmd_warn_berev(m, rec.svc_id, &rec);
	return 0;
}

const struct cmd_ops cmd_backend_ops = { cmd_backend_parse, cmd_backend_format, cmd_backend_apply,
					 NULL };
