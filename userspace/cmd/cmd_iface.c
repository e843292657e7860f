// SPDX-License-Identifier: GPL-2.0-only
/*
 * iface attach, iface detach: the data plane on an interface (XDP, or TC
 * ingress with --hook tc), through
 * the loader (a pinned bpf_link, so it stays after the command).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd_int.h"
#include "err.h"
#include "loader.h"
#include "out.h"

int cmd_parse_hook(const char *text, enum loader_hook *hook)
{
	if (!strcmp(text, "xdp"))
		*hook = LOADER_HOOK_XDP;
	else if (!strcmp(text, "tc"))
		*hook = LOADER_HOOK_TC;
	else if (!strcmp(text, "tc-egress"))
		*hook = LOADER_HOOK_TC_EGRESS;
	else
		return -EINVAL;
	return 0;
}

const char *cmd_hook_name(enum loader_hook hook)
{
	return hook == LOADER_HOOK_TC ? "tc" : hook == LOADER_HOOK_TC_EGRESS ? "tc-egress" : "xdp";
}

static int set_dev(struct sluice_cmd *cmd, const char *verb, const char *dev)
{
	if (strlen(dev) >= sizeof(cmd->iface.dev))
		return cmd_bad("iface %s: interface name too long: '%.20s...'", verb, dev);
	snprintf(cmd->iface.dev, sizeof(cmd->iface.dev), "%s", dev);
	return 0;
}

static int parse_attach(int argc, char **argv, struct sluice_cmd *cmd)
{
	struct loader_attach_opts *opts = &cmd->iface.opts;
	const char *dev = NULL;
	int i, seen_mode = 0, seen_hook = 0;

	opts->mode = LOADER_XDP_NATIVE;
	opts->hook = LOADER_HOOK_XDP;
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--hook")) {
			if (seen_hook++)
				return cmd_bad("iface attach: --hook given twice");
			if (i + 1 >= argc)
				return cmd_bad(
					"iface attach: --hook needs a value: --hook xdp|tc|tc-egress");
			i++;
			if (cmd_parse_hook(argv[i], &opts->hook))
				return cmd_bad(
					"iface attach: unknown hook '%s': give xdp, tc or tc-egress",
					argv[i]);
			continue;
		}
		if (!strcmp(argv[i], "--mode")) {
			if (seen_mode++)
				return cmd_bad("iface attach: --mode given twice");
			if (i + 1 >= argc)
				return cmd_bad(
					"iface attach: --mode needs a value: --mode native|skb");
			i++;
			if (!strcmp(argv[i], "native"))
				opts->mode = LOADER_XDP_NATIVE;
			else if (!strcmp(argv[i], "skb"))
				opts->mode = LOADER_XDP_SKB;
			else
				return cmd_bad(
					"iface attach: unknown XDP mode '%s': give native or skb",
					argv[i]);
		} else if (!strcmp(argv[i], "--force")) {
			opts->force = 1;
		} else if (argv[i][0] == '-') {
			return cmd_bad("iface attach: unknown option '%s'", argv[i]);
		} else if (dev) {
			return cmd_bad("iface attach: unexpected argument '%s' (one DEV only)",
				       argv[i]);
		} else {
			dev = argv[i];
		}
	}
	if (!dev)
		return cmd_bad("iface attach: missing DEV, e.g. sluice iface attach eth0");
	if (opts->hook != LOADER_HOOK_XDP && seen_mode)
		return cmd_bad("iface attach: --mode is XDP's; --hook %s has none",
			       cmd_hook_name(opts->hook));
	return set_dev(cmd, "attach", dev);
}

static int cmd_iface_parse(enum cmd_kind kind, int argc, char **argv, struct sluice_cmd *cmd)
{
	if (kind == CMD_IFACE_ATTACH)
		return parse_attach(argc, argv, cmd);
	if (argc != 1)
		return cmd_bad(argc ? "iface detach: unexpected argument '%s'"
				    : "iface detach: missing DEV%s",
			       argc ? argv[1] : "");
	return set_dev(cmd, "detach", argv[0]);
}

static int cmd_iface_format(const struct sluice_cmd *cmd, struct cmd_argv *out)
{
	int err = cmd_argv_add(out, "%s", cmd->iface.dev);

	if (err || cmd->kind != CMD_IFACE_ATTACH)
		return err;
	if (cmd->iface.opts.hook != LOADER_HOOK_XDP) {
		err = cmd_argv_add(out, "--hook");
		if (!err)
			err = cmd_argv_add(out, "%s", cmd_hook_name(cmd->iface.opts.hook));
	} else {
		err = cmd_argv_add(out, "--mode");
		if (!err)
			err = cmd_argv_add(out, "%s",
					   cmd->iface.opts.mode == LOADER_XDP_SKB ? "skb"
										  : "native");
	}
	if (!err && cmd->iface.opts.force)
		err = cmd_argv_add(out, "--force");
	return err;
}

void cmd_print_iface(const char *key, const struct loader_iface *it)
{
	out_open_obj(key);
	out_str("ifname", "%s:", it->ifname);
	out_u64("ifindex", " ifindex %llu", it->ifindex);
	out_str("hook", " hook %s", cmd_hook_name(it->hook));
	out_str("mode", " mode %s", it->mode);
	/* Egress: whether fq holds packets to their departure times, or the program polices. */
	if (it->pacing)
		out_str("pacing", " pacing %s", it->pacing);
	out_u64("prog_id", " prog %llu", it->prog_id);
	out_u64("link_id", " link %llu", it->link_id);
	out_text("\n");
	out_close_obj();
}

static int cmd_iface_apply(const char *pin_root, const struct sluice_cmd *cmd)
{
	struct loader_iface it;
	int err;

	if (cmd->kind == CMD_IFACE_DETACH) {
		err = loader_detach(pin_root, cmd->iface.dev);
		if (!err)
			out_str("detached", "detached from %s\n", cmd->iface.dev);
		return err;
	}
	err = loader_attach(pin_root, cmd->iface.dev, &cmd->iface.opts, &it);
	if (err)
		return err;
	out_text(it.replaced ? "replaced, attached to " : "attached to ");
	cmd_print_iface("interface", &it);
	return 0;
}

const struct cmd_ops cmd_iface_ops = { cmd_iface_parse, cmd_iface_format, NULL, cmd_iface_apply };
