// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice cluster show: what sluiced knows of its cluster (etcd endpoint,
 * lease, VIPs, followed elections, shared state), from the status file it
 * keeps beside its control socket (cluster.json). A read command: it
 * never asks the daemon, and says so when no live daemon wrote the file.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "err.h"
#include "hstate.h"
#include "main.h"
#include "out.h"

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(out_file(),
		"Usage: sluice cluster show\n"
		"       sluice cluster help\n"
		"\n"
		"What this gateway's sluiced knows of its cluster, when its config has a\n"
		"cluster section: the etcd endpoint in use and how often it failed over,\n"
		"its lease, the VIPs it campaigns for (held here, or by which gateway),\n"
		"the etcd elections whose leaders its services follow (and how long the\n"
		"last one took from etcd's event to the leaders map), and the shared\n"
		"state (config revision, commands not yet published, breakers published\n"
		"and applied). Read from %s beside the daemon's socket (--socket PATH,\n"
		"$SLUICE_SOCKET, else %s); -j prints that file's JSON.\n",
		HSTATE_CLUSTER_FILE, CLI_SOCKET_DEFAULT);
	return 0;
}

static const char *str_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static long long int_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? (long long)json_object_get_int64(v) : 0;
}

static void print_text(struct json_object *doc)
{
	struct json_object *a, *v;
	size_t i, n;

	out_text("gateway %s: etcd %s (failovers %lld), lease %lld %s (TTL %lld s)\n",
		 str_of(doc, "gateway"), str_of(doc, "endpoint"), int_of(doc, "failovers"),
		 int_of(doc, "lease"), int_of(doc, "lease_ok") ? "ok" : "NOT CONFIRMED",
		 int_of(doc, "lease_ttl"));
	if (int_of(doc, "share"))
		out_text("shared state: %s, config revision %lld, %lld pending, %lld published, "
			 "%lld adopted, breakers %lld published / %lld applied\n",
			 int_of(doc, "synced") ? "synced" : "NOT SYNCED",
			 int_of(doc, "config_revision"), int_of(doc, "pending"),
			 int_of(doc, "published"), int_of(doc, "adopted"),
			 int_of(doc, "breakers_published"), int_of(doc, "breakers_applied"));
	else
		out_text("shared state: off\n");
	if (json_object_object_get_ex(doc, "vips", &a) && (n = json_object_array_length(a))) {
		out_text("VIPs:\n");
		for (i = 0; i < n; i++) {
			v = json_object_array_get_idx(a, i);
			out_text("  %s on %s: %s\n", str_of(v, "address"), str_of(v, "interface"),
				 int_of(v, "held")	? "HELD here"
				 : *str_of(v, "holder") ? "standby"
							: "standby, no holder known");
			if (!int_of(v, "held") && *str_of(v, "holder"))
				out_text("    held by %s\n", str_of(v, "holder"));
		}
	}
	if (json_object_object_get_ex(doc, "elections", &a) && (n = json_object_array_length(a))) {
		out_text("elections followed:\n");
		for (i = 0; i < n; i++) {
			v = json_object_array_get_idx(a, i);
			out_text("  %s <- %s: leader %s (%lld changes, last applied in %lld us)\n",
				 str_of(v, "service"), str_of(v, "election"),
				 *str_of(v, "leader") ? str_of(v, "leader") : "not known yet",
				 int_of(v, "changes"), int_of(v, "last_apply_us"));
		}
	}
}

static int do_show(int argc, char **argv)
{
	(void)argv;
	return cli_status_show("cluster", HSTATE_CLUSTER_FILE, "cluster", argc, NULL, print_text);
}

const struct cli_cmd cli_cluster_cmds[] = {
	{ "show", do_show, 0, CMD_NONE },
	{ "help", do_help, 0, CMD_NONE },
	{ NULL, NULL, 0, CMD_NONE },
};
