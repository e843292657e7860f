// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice iface: attach the XDP data plane to an interface, detach it, and
 * show where it is attached. The attachment is a pinned bpf_link (loader/),
 * so it stays after this command exits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "err.h"
#include "loader.h"
#include "main.h"
#include "out.h"

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(out_file(),
		"Usage: sluice iface attach DEV [--mode MODE] [--force]\n"
		"       sluice iface detach DEV\n"
		"       sluice iface show [DEV]\n"
		"       sluice iface help\n"
		"\n"
		"DEV    := network interface name (see 'ip link')\n"
		"MODE   := { native | skb }\n"
		"\n"
		"  attach   Load the Sluice XDP program and attach it to DEV. The maps are\n"
		"           reused if already pinned (services and counters survive), else\n"
		"           created; the attachment is pinned at PIN_ROOT/iface/DEV/xdp_link and\n"
		"           stays until 'iface detach'.\n"
		"           --mode native  driver XDP (default); fails on drivers without XDP\n"
		"           --mode skb     generic XDP: works on any device, slower\n"
		"           --force        if Sluice is attached already, replace its program\n"
		"                          (atomically when the mode is unchanged); if another\n"
		"                          XDP program is attached, detach it first.\n"
		"           Without --force, an interface that already has XDP is refused.\n"
		"  detach   Detach Sluice from DEV and remove its pin; the maps stay.\n"
		"  show     List the interfaces Sluice is attached to: name, ifindex, mode\n"
		"           (native, skb; defunct when the interface is gone), program id\n"
		"           and link id.\n"
		"\n"
		"Examples:\n"
		"  sluice iface attach eth0\n"
		"  sluice iface attach veth0 --mode skb --force\n"
		"  sluice -j iface show\n");
	return 0;
}

static void print_iface(const char *key, const struct loader_iface *it)
{
	out_open_obj(key);
	out_str("ifname", "%s:", it->ifname);
	out_u64("ifindex", " ifindex %llu", it->ifindex);
	out_str("mode", " mode %s", it->mode);
	out_u64("prog_id", " prog %llu", it->prog_id);
	out_u64("link_id", " link %llu", it->link_id);
	out_text("\n");
	out_close_obj();
}

static int do_attach(int argc, char **argv)
{
	struct loader_attach_opts opts = { .mode = LOADER_XDP_NATIVE };
	struct loader_iface it;
	const char *dev = NULL;
	int i, err, seen_mode = 0;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--mode")) {
			if (seen_mode++)
				return cli_usage_error("iface", "iface attach: --mode given twice");
			if (i + 1 >= argc)
				return cli_usage_error(
					"iface",
					"iface attach: --mode needs a value: --mode native|skb");
			i++;
			if (!strcmp(argv[i], "native"))
				opts.mode = LOADER_XDP_NATIVE;
			else if (!strcmp(argv[i], "skb"))
				opts.mode = LOADER_XDP_SKB;
			else
				return cli_usage_error(
					"iface",
					"iface attach: unknown XDP mode '%s': give native or skb",
					argv[i]);
		} else if (!strcmp(argv[i], "--force")) {
			opts.force = 1;
		} else if (argv[i][0] == '-') {
			return cli_usage_error("iface", "iface attach: unknown option '%s'",
					       argv[i]);
		} else if (dev) {
			return cli_usage_error(
				"iface", "iface attach: unexpected argument '%s' (one DEV only)",
				argv[i]);
		} else {
			dev = argv[i];
		}
	}
	if (!dev)
		return cli_usage_error("iface",
				       "iface attach: missing DEV, e.g. sluice iface attach eth0");
	err = loader_attach(cli.pin_root, dev, &opts, &it);
	if (err)
		return cli_lib_error(err);
	out_text(it.replaced ? "replaced, attached to " : "attached to ");
	print_iface("interface", &it);
	return 0;
}

static int do_detach(int argc, char **argv)
{
	int err;

	if (argc != 1)
		return cli_usage_error("iface",
				       argc ? "iface detach: unexpected argument '%s'"
					    : "iface detach: missing DEV%s",
				       argc ? argv[1] : "");
	err = loader_detach(cli.pin_root, argv[0]);
	if (err)
		return cli_lib_error(err);
	out_str("detached", "detached from %s\n", argv[0]);
	return 0;
}

static int do_show(int argc, char **argv)
{
	struct loader_iface *list = NULL;
	size_t n = 0, i;
	int err;

	if (argc > 1)
		return cli_usage_error("iface", "iface show: unexpected argument '%s'", argv[1]);
	err = loader_show(cli.pin_root, argc ? argv[0] : NULL, &list, &n);
	if (err)
		return cli_lib_error(err);
	out_open_array(NULL);
	for (i = 0; i < n; i++)
		print_iface(NULL, &list[i]);
	out_close_array();
	if (!n)
		out_text(
			"Sluice is attached to no interface (attach with 'sluice iface attach DEV')\n");
	free(list);
	return 0;
}

int do_iface(int argc, char **argv)
{
	static const struct cli_cmd cmds[] = {
		{ "attach", do_attach, CLI_WRITE },
		{ "detach", do_detach, CLI_WRITE },
		{ "show", do_show, 0 },
		{ "help", do_help, 0 },
	};

	return cli_dispatch("iface", cmds, sizeof(cmds) / sizeof(cmds[0]), NULL, argc, argv);
}
