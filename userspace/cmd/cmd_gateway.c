// SPDX-License-Identifier: GPL-2.0-only
/*
 * gateway set (sl_config: ipip outer sources, UDP idle timeout, gateway.c)
 * and bulkhead set (the global connection limit and TCP idle expiry,
 * res.c): the settings of the whole gateway.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "args.h"
#include "cmd_int.h"
#include "err.h"
#include "out.h"

static int parse_addr(const char *kw, const char *text, int want_v4, union sluice_addr *a)
{
	if (!strcmp(text, "none")) {
		memset(a, 0, sizeof(*a));
		return 0;
	}
	if (addr_parse(text, a))
		return cmd_bad("gateway set: %s: %s", kw, err_msg());
	if (want_v4 != addr_is_v4mapped(a))
		return cmd_bad("gateway set: %s needs an %s address (or none)", kw,
			       want_v4 ? "IPv4" : "IPv6");
	return 0;
}

static int parse_gateway(int argc, char **argv, struct gateway_conf *conf)
{
	static const struct cmd_keyword kws[] = {
		{ "encap-source4", "ADDR4" },
		{ "encap-source6", "ADDR6" },
		{ "udp-timeout", "SECONDS" },
	};
	int i, kw, seen[3] = { 0 }, err;

	if (!argc)
		return cmd_bad(
			"gateway set: nothing to change: give encap-source4, encap-source6 or udp-timeout");
	for (i = 0; i < argc; i += 2) {
		kw = CMD_KEYWORD("gateway set", kws, argc, argv, i, seen);
		if (kw < 0)
			return kw;
		if (kw == 0) {
			err = parse_addr(kws[kw].name, argv[i + 1], 1, &conf->src4);
			conf->has_src4 = 1;
		} else if (kw == 1) {
			err = parse_addr(kws[kw].name, argv[i + 1], 0, &conf->src6);
			conf->has_src6 = 1;
		} else {
			err = args_parse_u32(argv[i + 1], 1, GATEWAY_UDP_TIMEOUT_MAX, "udp-timeout",
					     &conf->udp_timeout_s);
			if (err)
				err = cmd_bad("gateway set: %s", err_msg());
			conf->has_udp_timeout = 1;
		}
		if (err)
			return err;
	}
	if (gateway_conf_check(conf))
		return cmd_bad("gateway set: %s", err_msg());
	return 0;
}

static int parse_bulkhead(int argc, char **argv, struct sluice_cmd *cmd)
{
	static const struct cmd_keyword kws[] = { { "max-conns", "N" }, { "tcp-idle", "SECONDS" } };
	int i, kw, seen[2] = { 0 }, err;

	if (!argc)
		return cmd_bad("bulkhead set: nothing to change: give max-conns or tcp-idle");
	for (i = 0; i < argc; i += 2) {
		kw = CMD_KEYWORD("bulkhead set", kws, argc, argv, i, seen);
		if (kw < 0)
			return kw;
		if (kw == 0)
			err = args_parse_count(argv[i + 1], RES_MAX_CONNS_MAX, "max-conns",
					       &cmd->bulkhead.max_conns);
		else
			err = args_parse_u32(argv[i + 1], 1, RES_TCP_IDLE_S_MAX, "tcp-idle",
					     &cmd->bulkhead.tcp_idle_s);
		if (err)
			return cmd_bad("bulkhead set: %s", err_msg());
	}
	cmd->bulkhead.has_max_conns = seen[0];
	cmd->bulkhead.has_tcp_idle = seen[1];
	return 0;
}

static int cmd_gateway_parse(enum cmd_kind kind, int argc, char **argv, struct sluice_cmd *cmd)
{
	if (kind == CMD_GATEWAY_SET)
		return parse_gateway(argc, argv, &cmd->gateway);
	return parse_bulkhead(argc, argv, cmd);
}

static int add_addr(struct cmd_argv *out, const char *kw, const union sluice_addr *a)
{
	char text[ADDR_STRLEN];
	int err = cmd_argv_add(out, "%s", kw);

	if (err)
		return err;
	if (!gateway_addr_is_set(a))
		return cmd_argv_add(out, "none");
	cmd_addr_text(a, text, sizeof(text));
	return cmd_argv_add(out, "%s", text);
}

static int cmd_gateway_format(const struct sluice_cmd *cmd, struct cmd_argv *out)
{
	const struct gateway_conf *g = &cmd->gateway;
	int err = 0;

	if (cmd->kind == CMD_BULKHEAD_SET) {
		if (cmd->bulkhead.has_max_conns) {
			err = cmd_argv_add(out, "max-conns");
			if (!err)
				err = cmd_argv_add(out, "%u", cmd->bulkhead.max_conns);
		}
		if (!err && cmd->bulkhead.has_tcp_idle) {
			err = cmd_argv_add(out, "tcp-idle");
			if (!err)
				err = cmd_argv_add(out, "%u", cmd->bulkhead.tcp_idle_s);
		}
		return err;
	}
	if (g->has_src4)
		err = add_addr(out, "encap-source4", &g->src4);
	if (!err && g->has_src6)
		err = add_addr(out, "encap-source6", &g->src6);
	if (!err && g->has_udp_timeout) {
		err = cmd_argv_add(out, "udp-timeout");
		if (!err)
			err = cmd_argv_add(out, "%u", g->udp_timeout_s);
	}
	return err;
}

static void print_addr(const char *key, const char *label, const union sluice_addr *a)
{
	char buf[ADDR_STRLEN];

	if (!gateway_addr_is_set(a))
		snprintf(buf, sizeof(buf), "none");
	else
		cmd_addr_text(a, buf, sizeof(buf));
	out_text("%s", label);
	out_str(key, " %s\n", buf);
}

void cmd_print_gateway(const char *key, const struct sluice_config *c)
{
	out_open_obj(key);
	print_addr("encap_source4", "encap-source4", &c->encap_src4);
	print_addr("encap_source6", "encap-source6", &c->encap_src6);
	out_u64("udp_timeout", "udp-timeout %llu s\n", c->udp_timeout_ns / 1000000000ull);
	out_close_obj();
}

static int cmd_gateway_apply(const struct sluice_maps *m, const struct sluice_cmd *cmd)
{
	struct sluice_res_global g;
	struct sluice_config cfg;
	int err;

	if (cmd->kind == CMD_GATEWAY_SET) {
		err = gateway_set(m, &cmd->gateway, &cfg);
		if (!err)
			cmd_print_gateway("gateway", &cfg);
		return err;
	}
	err = res_global_set(m, cmd->bulkhead.has_max_conns, cmd->bulkhead.max_conns,
			     cmd->bulkhead.has_tcp_idle, cmd->bulkhead.tcp_idle_s, &g);
	if (err)
		return err;
	out_text("global bulkhead: ");
	out_open_obj("global");
	if (g.max_conns)
		out_u64("limit", "limit %llu", g.max_conns);
	else {
		out_u64("limit", NULL, 0);
		out_text("limit none");
	}
	out_u64("tcp_idle_s", " tcp-idle %llu s\n",
		g.tcp_idle_s ? g.tcp_idle_s : RES_TCP_IDLE_DEFAULT_S);
	out_close_obj();
	return 0;
}

const struct cmd_ops cmd_gateway_ops = { cmd_gateway_parse, cmd_gateway_format, cmd_gateway_apply,
					 NULL };
