// SPDX-License-Identifier: GPL-2.0-only
/*
 * Config files through the daemon: the commands that turn what is pinned
 * into what the file asks for (config_plan(): state_diff() against the
 * maps), each run and journaled as a write command like any other, then one
 * JOURNAL_CONFIG record {"path", "commands"}. At start (--config) and on
 * SIGHUP from the daemon's own file; for `sluice config apply FILE` from the
 * content the client read and sent (the daemon never opens a path a client
 * names: it would read it as root).
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "journal.h"
#include "sluiced.h"
#include "state.h"

static void config_record(struct daemon *d, const char *path, size_t n, int failed)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return;
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "commands", json_object_new_int64((int64_t)n));
	if (failed)
		json_object_object_add(o, "failed", json_object_new_boolean(1));
	daemon_journal(d, JOURNAL_CONFIG,
		       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE),
		       NULL);
	json_object_put(o);
}

int apply_config_text(struct daemon *d, const char *path, const char *text, size_t len, FILE *out,
		      FILE *errout, size_t *ncmds)
{
	struct journal_cmds cmds;
	struct state to;
	size_t i;
	int err;

	memset(&cmds, 0, sizeof(cmds));
	state_init(&to);
	*ncmds = 0;
	err_clear();
	err = config_plan_string(path, text, len, d->pin_root, journal_cmds_add_cmd, &cmds, &to);
	if (err) {
		if (!*err_msg())
			err_set("%s: %s", path, strerror(-err));
		goto out;
	}
	for (i = 0; i < cmds.count; i++) {
		char *o = NULL, *e = NULL;
		__s64 seq;
		int rc;

		rc = daemon_run_command(d, cmds.argc[i], cmds.argv[i], 0, 0, &o, &e, &seq);
		if (out && o)
			fputs(o, out);
		if (errout && e)
			fputs(e, errout);
		if (rc) {
			err_set("%s: command %zu of %zu failed%s%s", path, i + 1, cmds.count,
				e && *e ? ": " : "", e && *e ? e : "");
			/* keep the message on one line */
			err = rc < 0 ? rc : -EIO;
		}
		free(o);
		free(e);
		if (err)
			break;
		(*ncmds)++;
	}
	config_record(d, path, *ncmds, err != 0);
	checks_sync(d, &to);
	cluster_sync(d, &to);
	bgp_sync(d, &to);
	if (out && !err)
		fprintf(out, "applied %s: %zu commands\n", path, *ncmds);
out:
	journal_cmds_free(&cmds);
	state_free(&to);
	return err;
}

int apply_config(struct daemon *d, const char *path, FILE *out, FILE *errout, size_t *ncmds)
{
	char *text;
	size_t len;
	int err;

	*ncmds = 0;
	err_clear();
	err = config_read(path, &text, &len);
	if (err)
		return err;
	err = apply_config_text(d, path, text, len, out, errout, ncmds);
	free(text);
	return err;
}
