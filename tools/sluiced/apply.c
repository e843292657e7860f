// SPDX-License-Identifier: GPL-2.0-only
/*
 * Config files through the daemon: the commands that turn what is pinned
 * into what the file asks for (config_plan(): state_diff() against the
 * maps), journaled as write commands like any other, all with one
 * fdatasync (daemon_run_group()), then run in order up to the first that
 * fails (the rest are skipped, each with its FAILED record), then one
 * JOURNAL_CONFIG record {"path", "commands"}. At start (--config) and on
 * SIGHUP from the daemon's own file; for `sluice config apply FILE` from the
 * content the client read and sent (the daemon never opens a path a client
 * names: it would read it as root).
 *
 * The desired state: the last file applied (or cluster document adopted)
 * is kept, for what the maps do not hold (each service's health check and
 * leader settings). The daemon writes it, over the pinned state, to
 * HSTATE_DESIRED_FILE beside its socket for `sluice config dump`, and the
 * cluster publishes it (cluster_share.c).
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "hstate.h"
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
	struct daemon_cmd *v;
	struct state to;
	int err, failed = 0;
	size_t i;

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
	/* One group commit: every command journaled with one fdatasync, then run. */
	v = calloc(cmds.count ? cmds.count : 1, sizeof(*v));
	if (!v) {
		err_set("out of memory");
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < cmds.count; i++)
		v[i] = (struct daemon_cmd){ .argc = cmds.argc[i],
					    .argv = cmds.argv[i],
					    .batch = 1 };
	daemon_run_group(d, v, cmds.count, &failed);
	for (i = 0; i < cmds.count && !err; i++) {
		const char *e = v[i].err;

		if (out && v[i].out)
			fputs(v[i].out, out);
		if (errout && e)
			fputs(e, errout);
		if (v[i].rc) {
			err_set("%s: command %zu of %zu failed%s%s", path, i + 1, cmds.count,
				e && *e ? ": " : "", e && *e ? e : "");
			/* keep the message on one line */
			err = v[i].rc < 0 ? v[i].rc : -EIO;
			break;
		}
		(*ncmds)++;
	}
	for (i = 0; i < cmds.count; i++)
		daemon_cmd_free(&v[i]);
	free(v);
	config_record(d, path, *ncmds, err != 0);
	checks_sync(d, &to);
	cluster_sync(d, &to);
	bgp_sync(d, &to);
	desired_set(d, &to, 1);
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

/*
 * The pinned state with the desired health and leader settings and the bgp
 * section in force (the cluster's adoptions leave that one alone), as
 * YAML (malloc'ed).
 */
static char *desired_yaml(struct daemon *d)
{
	const struct bird_conf *bgp = bgp_conf(d);
	struct state s;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	state_init(&s);
	err = state_read_maps(&d->maps, &s);
	f = err ? NULL : open_memstream(&text, &len);
	if (f) {
		s.has_ifaces = 0;
		state_copy_daemon_parts(&s, d->desired);
		if (bgp)
			s.bgp = *bgp;
		err = config_dump(f, &s);
		fclose(f);
	}
	state_free(&s);
	err_clear();
	if (err || !f) {
		free(text);
		return NULL;
	}
	return text;
}

static void desired_write(struct daemon *d)
{
	struct json_object *o;
	char path[4096], *yaml;
	int err;

	if (!d->desired || hstate_path_of(d->socket_path, HSTATE_DESIRED_FILE, path, sizeof(path)))
		return;
	yaml = desired_yaml(d);
	o = json_object_new_object();
	if (!yaml || !o) {
		free(yaml);
		json_object_put(o);
		return;
	}
	json_object_object_add(o, "pid", json_object_new_int64((int64_t)getpid()));
	json_object_object_add(o, "pin_root", json_object_new_string(d->pin_root));
	json_object_object_add(o, "config", json_object_new_string(yaml));
	err = hstate_write(path,
			   json_object_to_json_string_ext(
				   o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	if (err)
		log_warn("cannot write %s: %s", path, strerror(-err));
	json_object_put(o);
	free(yaml);
}

void desired_set(struct daemon *d, struct state *s, int local)
{
	struct sluice_svc_key *keys = NULL;
	size_t n = 0;

	if (!d->desired) {
		d->desired = calloc(1, sizeof(*d->desired));
		if (!d->desired)
			return;
		state_init(d->desired);
	}
	if (local && state_daemon_parts_diff(d->desired, s, &keys, &n))
		log_warn("out of memory: health and leader changes may not be published");
	state_free(d->desired);
	*d->desired = *s;
	state_init(s);
	desired_write(d);
	if (n)
		cluster_desired_changed(d, keys, n);
	free(keys);
}

void desired_close(struct daemon *d)
{
	char path[4096];

	if (!d->desired)
		return;
	if (!hstate_path_of(d->socket_path, HSTATE_DESIRED_FILE, path, sizeof(path)))
		unlink(path);
	state_free(d->desired);
	free(d->desired);
	d->desired = NULL;
}
