// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice gateway: settings of the whole gateway (sl_config): the outer
 * source addresses of ipip encapsulation and the UDP flow idle timeout.
 * Writes go through userspace/gateway.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "args.h"
#include "err.h"
#include "gateway.h"
#include "loader.h"
#include "main.h"
#include "maps.h"
#include "out.h"

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(out_file(),
		"Usage: sluice gateway set [encap-source4 ADDR4] [encap-source6 ADDR6]\n"
		"                          [udp-timeout SECONDS]\n"
		"       sluice gateway show\n"
		"       sluice gateway help\n"
		"\n"
		"ADDR4   := an IPv4 address of this gateway, or none\n"
		"ADDR6   := an IPv6 address of this gateway, or none\n"
		"SECONDS := 1..%u\n"
		"\n"
		"  set    Change the settings given; the others keep their value. The data\n"
		"         plane uses them from the next packet on.\n"
		"         encap-source4  outer source of IPv4-in-IPv4 packets (ipip services\n"
		"                        with IPv4 backends). Its low 16 bits are XORed with\n"
		"                        the flow hash, so the backend's NIC spreads flows\n"
		"                        over its queues (RSS): the address's /112 neighbours\n"
		"                        must be routable back to this gateway or be ignored\n"
		"                        by the backends (DSR replies go to the client).\n"
		"                        Unset (none, the default): ipip packets to IPv4\n"
		"                        backends are dropped (encap_fail).\n"
		"         encap-source6  the same for IPv6-in-IPv6.\n"
		"         udp-timeout    idle time after which a UDP flow is forgotten and its\n"
		"                        next packet steered anew (default %llu s).\n"
		"  show   Print the settings.\n"
		"\n"
		"Examples:\n"
		"  sluice gateway set encap-source4 192.0.2.1 encap-source6 2001:db8::1\n"
		"  sluice gateway set udp-timeout 60\n"
		"  sluice -j gateway show\n",
		GATEWAY_UDP_TIMEOUT_MAX, SLUICE_UDP_TIMEOUT_DEFAULT_NS / 1000000000ull);
	return 0;
}

static void print_addr(const char *key, const char *label, const union sluice_addr *a)
{
	char buf[ADDR_STRLEN];

	if (!gateway_addr_is_set(a))
		snprintf(buf, sizeof(buf), "none");
	else if (addr_format(a, buf, sizeof(buf)))
		snprintf(buf, sizeof(buf), "?");
	out_text("%s", label);
	out_str(key, " %s\n", buf);
}

static void print_config(const char *key, const struct sluice_config *c)
{
	out_open_obj(key);
	print_addr("encap_source4", "encap-source4", &c->encap_src4);
	print_addr("encap_source6", "encap-source6", &c->encap_src6);
	out_u64("udp_timeout", "udp-timeout %llu s\n", c->udp_timeout_ns / 1000000000ull);
	out_close_obj();
}

static int parse_addr(const char *kw, const char *text, int want_v4, union sluice_addr *a)
{
	if (!strcmp(text, "none")) {
		memset(a, 0, sizeof(*a));
		return 0;
	}
	if (addr_parse(text, a))
		return cli_usage_error("gateway", "gateway set: %s: %s", kw, err_msg());
	if (want_v4 != addr_is_v4mapped(a))
		return cli_usage_error("gateway", "gateway set: %s needs an %s address (or none)",
				       kw, want_v4 ? "IPv4" : "IPv6");
	return 0;
}

static int do_set(int argc, char **argv)
{
	static const char *const kws[] = { "encap-source4", "encap-source6", "udp-timeout" };
	struct gateway_conf conf;
	struct sluice_config cfg;
	struct sluice_maps m;
	int i, kw, seen[3] = { 0 }, err;

	memset(&conf, 0, sizeof(conf));
	if (!argc)
		return cli_usage_error(
			"gateway",
			"gateway set: nothing to change: give encap-source4, encap-source6 or udp-timeout");
	for (i = 0; i < argc; i += 2) {
		kw = ARGS_KEYWORD_FIND(argv[i], kws, "keyword");
		if (kw < 0)
			return cli_usage_error("gateway", "gateway set: %s", err_msg());
		if (seen[kw]++)
			return cli_usage_error("gateway", "gateway set: '%s' given twice", kws[kw]);
		if (i + 1 >= argc)
			return cli_usage_error("gateway", "gateway set: '%s' needs a value",
					       kws[kw]);
		if (kw == 0) {
			err = parse_addr(kws[kw], argv[i + 1], 1, &conf.src4);
			conf.has_src4 = 1;
		} else if (kw == 1) {
			err = parse_addr(kws[kw], argv[i + 1], 0, &conf.src6);
			conf.has_src6 = 1;
		} else {
			err = args_parse_u32(argv[i + 1], 1, GATEWAY_UDP_TIMEOUT_MAX, "udp-timeout",
					     &conf.udp_timeout_s);
			if (err)
				err = cli_usage_error("gateway", "gateway set: %s", err_msg());
			conf.has_udp_timeout = 1;
		}
		if (err)
			return err;
	}
	if (gateway_conf_check(&conf))
		return cli_usage_error("gateway", "gateway set: %s", err_msg());
	/* Like service add, this works before any attach. */
	err = loader_maps_ensure(cli.pin_root);
	if (err)
		return cli_lib_error(err);
	maps_init(&m);
	err = cli_open_maps(&m);
	if (err)
		return err;
	err = gateway_set(&m, &conf, &cfg);
	if (err)
		cli_lib_error(err);
	else
		print_config("gateway", &cfg);
	maps_close(&m);
	return err;
}

static int do_show(int argc, char **argv)
{
	struct sluice_config cfg;
	struct sluice_maps m;
	int err;

	if (argc)
		return cli_usage_error("gateway", "gateway show: unexpected argument '%s'",
				       argv[0]);
	maps_init(&m);
	err = cli_open_maps(&m);
	if (err)
		return err;
	err = gateway_get(&m, &cfg);
	if (err)
		cli_lib_error(err);
	else
		print_config(NULL, &cfg);
	maps_close(&m);
	return err;
}

int do_gateway(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "set", do_set, CLI_WRITE },
		{ "show", do_show, 0 },
		{ "help", do_help, 0 },
	};

	return cli_dispatch("gateway", cmds, sizeof(cmds) / sizeof(cmds[0]), NULL, argc, argv);
}
