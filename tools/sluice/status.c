// SPDX-License-Identifier: GPL-2.0-only
/*
 * The status files sluiced keeps beside its control socket (cluster.json,
 * bgp.json), read by the show commands: only while the daemon that wrote
 * one still runs (its "pid").
 */
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>

#include "ctl.h"
#include "hstate.h"
#include "main.h"
#include "out.h"

static struct json_object *load(const char *object, const char *name, const char *section)
{
	struct json_object *doc, *v;
	char path[4096];
	long long pid = 0;

	if (hstate_path_of(ctl_socket_path(cli.socket, CLI_SOCKET_DEFAULT), name, path,
			   sizeof(path))) {
		cli_usage_error(object, "socket path too long");
		return NULL;
	}
	doc = json_object_from_file(path);
	if (doc && json_object_object_get_ex(doc, "pid", &v))
		pid = (long long)json_object_get_int64(v);
	if (!doc || pid <= 0 || (kill((pid_t)pid, 0) && errno == ESRCH)) {
		json_object_put(doc);
		out_error("no %s status at %s: sluiced is not running, or runs without a %s "
			  "section in its config",
			  object, path, section);
		return NULL;
	}
	return doc;
}

int cli_status_show(const char *object, const char *name, const char *section, int argc,
		    void (*prepare)(struct json_object *doc),
		    void (*print)(struct json_object *doc))
{
	struct json_object *doc;

	if (argc)
		return cli_usage_error(object, "'%s show' takes no argument", object);
	doc = load(object, name, section);
	if (!doc)
		return -ENOENT;
	if (prepare)
		prepare(doc);
	if (out_is_json())
		out_json(NULL, doc);
	else
		print(doc);
	json_object_put(doc);
	return 0;
}
