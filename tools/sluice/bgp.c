// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice bgp show: the VIPs sluiced announces through BIRD (announced or
 * withdrawn, and why) from the status file it keeps beside its control
 * socket (bird.h BIRD_STATUS_FILE), and the BGP sessions as BIRD reports
 * them now (`show protocols` on BIRD's socket; the daemon's last view when
 * BIRD does not answer). A read command: it never asks the daemon.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bird.h"
#include "err.h"
#include "main.h"
#include "out.h"

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(out_file(),
		"Usage: sluice bgp show\n"
		"       sluice bgp help\n"
		"\n"
		"The VIPs this gateway's sluiced announces over BGP through BIRD (its config's\n"
		"bgp section): each VIP announced or withdrawn and why (a VIP is announced\n"
		"while XDP is attached on the configured interfaces and a backend of its\n"
		"services is up), whether BIRD took the last include, and each peer's\n"
		"session as BIRD's 'show protocols' reports it now. Read from %s beside\n"
		"the daemon's socket (--socket PATH, $SLUICE_SOCKET, else %s) and from\n"
		"BIRD's control socket; -j prints JSON.\n",
		BIRD_STATUS_FILE, CLI_SOCKET_DEFAULT);
	return 0;
}

static const char *field(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	const char *s;

	json_object_object_get_ex(o, key, &v);
	s = v ? json_object_get_string(v) : NULL;
	return s ? s : "";
}

static int flag(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

/* Replace the peers' session fields with what BIRD says now; 1 when it answered. */
static int live_sessions(struct json_object *doc)
{
	struct json_object *peers, *p;
	struct bird_proto *all;
	char *reply = NULL;
	size_t n, i, j;
	int code;

	if (bird_cmd(field(doc, "socket"), "show protocols", BIRD_TIMEOUT_MS, &reply, &code)) {
		json_object_object_add(doc, "bird_error", json_object_new_string(err_msg()));
		err_clear();
		return 0;
	}
	all = calloc(256, sizeof(*all));
	n = all ? bird_protocols_parse(reply, all, 256) : 0;
	free(reply);
	if (json_object_object_get_ex(doc, "peers", &peers))
		for (i = 0; i < json_object_array_length(peers); i++) {
			const struct bird_proto *s = NULL;

			p = json_object_array_get_idx(peers, i);
			for (j = 0; j < n && j < 256; j++)
				if (!strcmp(all[j].name, field(p, "protocol")))
					s = &all[j];
			json_object_object_add(p, "state",
					       json_object_new_string(s ? s->state : ""));
			json_object_object_add(p, "info", json_object_new_string(s ? s->info : ""));
			json_object_object_add(
				p, "established",
				json_object_new_boolean(s && !strcmp(s->info, "Established")));
		}
	free(all);
	return 1;
}

static void print_text(struct json_object *doc)
{
	struct json_object *a, *v;
	size_t i;

	out_text("BGP AS %s, BIRD at %s (%s), include %s: %s\n", field(doc, "asn"),
		 field(doc, "socket"), flag(doc, "live") ? "answering" : "NOT ANSWERING",
		 field(doc, "include"), flag(doc, "configured") ? "configured" : "NOT CONFIGURED");
	if (*field(doc, "bird_error"))
		out_text("BIRD now: %s\n", field(doc, "bird_error"));
	if (*field(doc, "error"))
		out_text("sluiced's last error: %s\n", field(doc, "error"));
	if (strcmp(field(doc, "drain"), "off"))
		out_text("gateway %s for %s s: %s active flows%s%s\n", field(doc, "drain"),
			 field(doc, "drain_elapsed_s"), field(doc, "active_flows"),
			 *field(doc, "drain_why") ? ", " : "", field(doc, "drain_why"));
	if (json_object_object_get_ex(doc, "vips", &a)) {
		out_text("VIPs:\n");
		for (i = 0; i < json_object_array_length(a); i++) {
			v = json_object_array_get_idx(a, i);
			out_text("  %s: %s (%s)\n", field(v, "vip"),
				 flag(v, "announced") ? "announced" : "WITHDRAWN", field(v, "why"));
		}
	}
	if (json_object_object_get_ex(doc, "peers", &a)) {
		out_text("peers:\n");
		for (i = 0; i < json_object_array_length(a); i++) {
			v = json_object_array_get_idx(a, i);
			out_text("  %s %s AS %s, BFD %s: %s %s\n", field(v, "name"),
				 field(v, "address"), field(v, "asn"),
				 flag(v, "bfd") ? "on" : "off",
				 *field(v, "state") ? field(v, "state") : "unknown",
				 field(v, "info"));
		}
	}
}

static void prepare(struct json_object *doc)
{
	json_object_object_add(doc, "live", json_object_new_boolean(live_sessions(doc)));
}

static int do_show(int argc, char **argv)
{
	(void)argv;
	return cli_status_show("bgp", BIRD_STATUS_FILE, "bgp", argc, prepare, print_text);
}

const struct cli_cmd cli_bgp_cmds[] = {
	{ "show", do_show, 0, CMD_NONE },
	{ "help", do_help, 0, CMD_NONE },
	{ NULL, NULL, 0, CMD_NONE },
};
