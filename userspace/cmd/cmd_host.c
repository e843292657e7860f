// SPDX-License-Identifier: GPL-2.0-only
/*
 * host attach, host detach: the host side (cgroup programs balancing a
 * cgroup's outbound connects, bpf/host.bpf.c) on a cgroup v2, through the
 * loader (pinned bpf_links, so it stays after the command).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "args.h"
#include "cmd_int.h"
#include "err.h"
#include "loader_host.h"
#include "out.h"

static int cmd_host_parse(enum cmd_kind kind, int argc, char **argv, struct sluice_cmd *cmd)
{
	const char *verb = kind == CMD_HOST_ATTACH ? "attach" : "detach";
	struct sluice_svc_key k;
	size_t j;
	int i;

	if (argc < 1)
		return cmd_bad(
			"host %s: missing CGROUP, e.g. sluice host %s /sys/fs/cgroup/unified/app",
			verb, verb);
	if (!argv[0][0] || strlen(argv[0]) >= sizeof(cmd->host.cgroup))
		return cmd_bad("host %s: CGROUP must be 1..%zu bytes", verb,
			       sizeof(cmd->host.cgroup) - 1);
	snprintf(cmd->host.cgroup, sizeof(cmd->host.cgroup), "%s", argv[0]);
	if (kind == CMD_HOST_DETACH) {
		if (argc > 1)
			return cmd_bad("host detach: unexpected argument '%s'", argv[1]);
		return 0;
	}
	for (i = 1; i < argc; i += 4) {
		if (strcmp(argv[i], "service"))
			return cmd_bad(
				"host attach: unexpected argument '%s' (expected service ADDR PORT PROTO)",
				argv[i]);
		if (cmd_parse_svc_key(argc - i - 1, argv + i + 1, &k))
			return cmd_bad("host attach: %s", err_msg());
		for (j = 0; j < cmd->host.nsvc; j++)
			if (!memcmp(&cmd->host.svcs[j], &k, sizeof(k)))
				return cmd_bad("host attach: service %s %s %s listed twice",
					       argv[i + 1], argv[i + 2], argv[i + 3]);
		if (cmd->host.nsvc >= CMD_HOST_SVC_MAX)
			return cmd_bad(
				"host attach: at most %d services per cgroup (leave them out to balance every service)",
				CMD_HOST_SVC_MAX);
		cmd->host.svcs[cmd->host.nsvc++] = k;
	}
	return 0;
}

static int cmd_host_format(const struct sluice_cmd *cmd, struct cmd_argv *out)
{
	size_t i;
	int err = cmd_argv_add(out, "%s", cmd->host.cgroup);

	for (i = 0; !err && i < cmd->host.nsvc; i++) {
		err = cmd_argv_add(out, "service");
		if (!err)
			err = cmd_argv_svc(out, &cmd->host.svcs[i]);
	}
	return err;
}

/* A service key as "ADDR PORT PROTO" (text) or an object (JSON). */
static void print_svc(const struct sluice_svc_key *k)
{
	char a[ADDR_STRLEN];

	cmd_addr_text(&k->addr, a, sizeof(a));
	out_open_obj(NULL);
	out_str("address", " %s", a);
	out_u64("port", " %llu", ntohs(k->port));
	out_str("proto", " %s", args_proto_name(k->proto));
	out_close_obj();
}

void cmd_print_host(const char *key, const struct loader_host *h)
{
	size_t i;

	out_open_obj(key);
	out_str("cgroup", "%s:", h->path);
	out_u64("cgroup_id", " cgroup-id %llu", h->cgid);
	out_str("state", " %s", h->defunct ? "defunct" : "attached");
	out_bool("all_services", NULL, h->all);
	if (h->all)
		out_text(" services all");
	else
		out_text(" services");
	out_open_array("services");
	for (i = 0; i < h->nsvc; i++) {
		if (i)
			out_text(",");
		print_svc(&h->svcs[i]);
	}
	out_close_array();
	out_u64("links", " links %llu", h->nlinks);
	out_open_array("programs");
	for (i = 0; i < h->nlinks; i++) {
		out_open_obj(NULL);
		out_str("name", NULL, h->prog_names[i]);
		out_u64("prog_id", NULL, h->prog_ids[i]);
		out_u64("link_id", NULL, h->link_ids[i]);
		out_close_obj();
	}
	out_close_array();
	out_text("\n");
	out_close_obj();
}

static int cmd_host_apply(const char *pin_root, const struct sluice_cmd *cmd)
{
	struct loader_host h;
	int err, replaced = 0;

	if (cmd->kind == CMD_HOST_DETACH) {
		err = loader_host_detach(pin_root, cmd->host.cgroup);
		if (!err)
			out_str("detached", "detached from cgroup %s\n", cmd->host.cgroup);
		return err;
	}
	err = loader_host_attach(pin_root, cmd->host.cgroup, cmd->host.svcs, cmd->host.nsvc, &h,
				 &replaced);
	if (err)
		return err;
	out_text(replaced ? "replaced, attached to " : "attached to ");
	cmd_print_host("host", &h);
	loader_host_free_one(&h);
	return 0;
}

const struct cmd_ops cmd_host_ops = { cmd_host_parse, cmd_host_format, NULL, cmd_host_apply };
