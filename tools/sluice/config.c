// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice config: check a configuration file, show or apply what it changes,
 * and dump the pinned state as a file. The file is loaded and validated in
 * full by userspace/config.c before anything runs; apply then runs the
 * difference (userspace/state.c) as write commands applied by the command
 * library (userspace/cmd), so a config change goes through exactly the code
 * (and, under the daemon, the journal) a typed command does.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "ctl.h"
#include "err.h"
#include "hstate.h"
#include "main.h"
#include "maps.h"
#include "out.h"
#include "publish.h"
#include "state.h"

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(out_file(),
		"Usage: sluice config check FILE\n"
		"       sluice config diff FILE\n"
		"       sluice config apply FILE\n"
		"       sluice config dump\n"
		"       sluice config help\n"
		"\n"
		"FILE := a YAML file describing the desired state (the schema, every key\n"
		"        commented, is in tools/sluiced.example.yaml); a regular file of\n"
		"        at most 4 MiB\n"
		"\n"
		"  check  Load and validate FILE without touching anything; print a summary,\n"
		"         or the first error as FILE:LINE:COLUMN: what was expected.\n"
		"  diff   Print the commands apply would run, run nothing; while sluiced\n"
		"         runs, also the services whose health or leader settings change.\n"
		"  apply  Validate FILE, then run the commands that turn the pinned state into\n"
		"         it, in order: gateway and bulkhead settings, removed services, new\n"
		"         services and changed settings (service set: ids, counters and flows\n"
		"         kept), backends, fallbacks, shards, interfaces. Unchanged services\n"
		"         are not touched. A backend no longer in FILE is drained, never\n"
		"         deleted: it keeps its connections until 'sluice backend del'. An\n"
		"         invalid FILE changes nothing; a command that fails stops the apply\n"
		"         (the ones before it stay applied) and is reported. When sluiced\n"
		"         runs, apply goes through it (journaled): FILE is read here, with\n"
		"         your permissions, and its content sent.\n"
		"  dump   Print the pinned state as a FILE that apply reproduces; while\n"
		"         sluiced runs, with each service's health and leader settings as it\n"
		"         applied them (daemon settings are not in the maps: add them by hand).\n"
		"\n"
		"Sections left out of FILE (interfaces, gateway, bulkhead) are not managed;\n"
		"services are: a service missing from FILE is deleted.\n"
		"\n"
		"Examples:\n"
		"  sluice config check /etc/sluice/sluiced.yaml\n"
		"  sluice config diff /etc/sluice/sluiced.yaml\n"
		"  sluice config dump > /etc/sluice/sluiced.yaml\n");
	return 0;
}

static int file_arg(const char *verb, int argc, char **argv)
{
	if (argc < 1)
		return cli_usage_error("config", "config %s: missing FILE", verb);
	if (argc > 1)
		return cli_usage_error("config", "config %s: unexpected argument '%s'", verb,
				       argv[1]);
	return 0;
}

static void count_state(const struct state *s, size_t *backends, size_t *shards)
{
	size_t i;

	*backends = *shards = 0;
	for (i = 0; i < s->nservices; i++) {
		*backends += s->services[i].nbackends;
		*shards += s->services[i].nshards;
	}
}

static int do_check(int argc, char **argv)
{
	size_t backends, shards, nconflicts, i;
	struct berev_conflict *cf;
	char text[256];
	struct state s;
	int err;

	err = file_arg("check", argc, argv);
	if (err)
		return err;
	err = config_load(argv[0], &s);
	if (err)
		return cli_lib_error(err);
	err = state_berev_conflicts(&s, &cf, &nconflicts);
	if (err) {
		state_free(&s);
		return cli_lib_error(err);
	}
	for (i = 0; i < nconflicts; i++) {
		berev_conflict_text(&cf[i], text, sizeof(text));
		out_warn("%s", text);
	}
	free(cf);
	count_state(&s, &backends, &shards);
	out_str("file", "%s: valid:", argv[0]);
	out_u64("services", " %llu services", s.nservices);
	out_u64("backends", ", %llu backends", backends);
	out_u64("shards", ", %llu shards", shards);
	if (s.has_ifaces)
		out_u64("interfaces", ", %llu interfaces", s.nifaces);
	if (s.has_hosts)
		out_u64("hosts", ", %llu hosts", s.nhosts);
	/* Backends whose nat replies need the gateway that saw the SYN (warned above). */
	out_u64("stateless_return_conflicts", nconflicts ? ", %llu shared nat backends" : NULL,
		nconflicts);
	out_text("\n");
	state_free(&s);
	return 0;
}

/* Commands collected from state_diff()/state_to_commands(). */
struct plan {
	size_t count;
	struct sluice_cmd *cmds;
};

static int plan_add(void *ctx, const struct sluice_cmd *cmd)
{
	struct plan *p = ctx;
	struct sluice_cmd *grown = realloc(p->cmds, (p->count + 1) * sizeof(*p->cmds));

	if (!grown) {
		err_set("out of memory");
		return -ENOMEM;
	}
	p->cmds = grown;
	p->cmds[p->count++] = *cmd;
	return 0;
}

static void plan_free(struct plan *p)
{
	free(p->cmds);
	p->cmds = NULL;
	p->count = 0;
}

/* The plan of "config CMD FILE" (argc, argv: its arguments after CMD). */
static int make_plan(const char *cmd, int argc, char **argv, struct plan *p)
{
	int err;

	err = file_arg(cmd, argc, argv);
	if (err)
		return err;
	memset(p, 0, sizeof(*p));
	err = config_plan(argv[0], cli.pin_root, plan_add, p, NULL);
	if (err) {
		plan_free(p);
		return cli_lib_error(err);
	}
	return 0;
}

/*
 * The running daemon's desired state (HSTATE_DESIRED_FILE: the pinned state
 * with each service's health and leader settings) into *s: 0, or -ENOENT
 * when no daemon runs on these pins (no message).
 */
static int daemon_desired(struct state *s)
{
	struct json_object *doc, *v;
	const char *yaml = NULL;
	char path[4096];
	int err;

	if (hstate_path_of(ctl_socket_path(cli.socket, CLI_SOCKET_DEFAULT), HSTATE_DESIRED_FILE,
			   path, sizeof(path)) ||
	    hstate_load_doc(path, cli.pin_root, &doc))
		return -ENOENT;
	if (json_object_object_get_ex(doc, "config", &v))
		yaml = json_object_get_string(v);
	err = yaml ? config_load_string(path, yaml, strlen(yaml), s) : -EINVAL;
	json_object_put(doc);
	err_clear();
	return err ? -ENOENT : 0;
}

/*
 * The services whose health check or leader settings differ between the
 * running daemon and the file (what a config apply through it changes
 * beyond the commands). Nothing when no daemon runs. The count.
 */
static size_t diff_daemon_parts(const char *path)
{
	struct sluice_svc_key *keys = NULL;
	struct state have, want;
	char k[SVC_KEY_STRLEN];
	size_t i, n = 0;

	state_init(&have);
	state_init(&want);
	out_open_array("daemon_changes");
	if (!daemon_desired(&have) && !config_load(path, &want) &&
	    !state_daemon_parts_diff(&want, &have, &keys, &n)) {
		for (i = 0; i < n; i++) {
			svc_key_format_args(&keys[i], k, sizeof(k));
			out_str(NULL,
				"health or leader settings of %s change (sluiced applies them)\n",
				k);
		}
	}
	free(keys);
	err_clear();
	out_close_array();
	state_free(&have);
	state_free(&want);
	return n;
}

/* Run one planned command under this run's pin root; its messages into *errs. */
static int run_one(const struct sluice_cmd *cmd, char **errs)
{
	struct out_capture cap;
	int err;

	*errs = NULL;
	if (out_capture_begin(&cap, 0, 0)) {
		err_set("cannot run commands: out of memory");
		return -ENOMEM;
	}
	err = cmd_apply(cli.pin_root, cmd);
	if (err)
		out_error("%s", err_text(err));
	out_capture_end(&cap);
	free(cap.out);
	*errs = cap.err;
	return err ? -EIO : 0;
}

/* Command i of p failed with the messages errs (may be NULL): the error of config apply. */
static void report_failure(const char *file, const struct plan *p, size_t i, const char *line,
			   char *errs)
{
	size_t n = errs ? strlen(errs) : 0;
	const char *msg;

	while (n && (errs[n - 1] == '\n'))
		errs[--n] = 0;
	msg = errs ? errs : "";
	if (!strncmp(msg, "sluice: ", 8))
		msg += 8;
	out_error("%s: command %zu of %zu failed: sluice %s: %s (the %zu before it are applied)",
		  file, i + 1, p->count, line, *msg ? msg : "failed", i);
}

/* config diff, config apply (run): the planned commands, each run before it is printed. */
static int plan_print(const char *verb, int run, int argc, char **argv)
{
	char line[4096], *errs = NULL;
	struct plan p;
	size_t i;
	int err;

	err = make_plan(verb, argc, argv, &p);
	if (err)
		return err;
	/*
	 * Each changed Maglev table built once, after the last command
	 * (publish.h); the maps opened once for all of them. With no daemon
	 * answering this is the one writer: one copy of sl_backends serves
	 * every command (maps.h). With --local a daemon may be writing too
	 * (health checks): every command reads the map afresh.
	 */
	if (run) {
		publish_defer_begin();
		cmd_maps_keep(1);
		if (!cli.local)
			maps_cache_begin();
	}
	out_open_array("commands");
	for (i = 0; i < p.count; i++) {
		cmd_format_line(&p.cmds[i], line, sizeof(line));
		err = run ? run_one(&p.cmds[i], &errs) : 0;
		if (err) {
			out_close_array();
			report_failure(argv[0], &p, i, line, errs);
			free(errs);
			break;
		}
		free(errs);
		errs = NULL;
		out_str(NULL, "sluice %s\n", line);
	}
	if (!err)
		out_close_array();
	/* The commands before a failed one are applied: their tables too. */
	if (run && publish_defer_end(NULL, cli.pin_root)) {
		out_error("%s: publishing the Maglev tables: %s", argv[0], err_msg());
		err = err ? err : -EIO;
	}
	if (run) {
		maps_cache_end();
		cmd_maps_keep(0);
	}
	if (err)
		goto out;
	if (run) {
		out_u64("applied", "applied %llu commands", p.count);
		out_str("file", " from %s\n", argv[0]);
	} else if (!diff_daemon_parts(argv[0]) && !p.count) {
		out_text("no change: the pinned state matches %s\n", argv[0]);
	}
out:
	plan_free(&p);
	return err;
}

static int do_diff(int argc, char **argv)
{
	return plan_print("diff", 0, argc, argv);
}

static int do_apply(int argc, char **argv)
{
	return plan_print("apply", 1, argc, argv);
}

static int do_dump(int argc, char **argv)
{
	struct sluice_maps m;
	struct state s, want;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	(void)argv;
	if (argc)
		return cli_usage_error("config", "config dump: unexpected argument '%s'", argv[0]);
	maps_init(&m);
	state_init(&s);
	err = cli_open_maps(&m);
	if (err)
		goto out;
	err = state_read_maps(&m, &s);
	if (err) {
		cli_lib_error(err);
		goto out;
	}
	/* What the maps do not hold: the running daemon's health, leader and bgp settings. */
	state_init(&want);
	if (!daemon_desired(&want)) {
		state_copy_daemon_parts(&s, &want);
		s.bgp = want.bgp;
	}
	state_free(&want);
	f = open_memstream(&text, &len);
	if (!f) {
		err = -ENOMEM;
		cli_lib_error(err);
		goto out;
	}
	err = config_dump(f, &s);
	fclose(f);
	if (err) {
		cli_lib_error(err);
		goto out;
	}
	out_str("yaml", "%s", text);
out:
	free(text);
	state_free(&s);
	maps_close(&m);
	return err;
}

/* apply is a write (it goes to the daemon), but not one command: it runs many. */
const struct cli_cmd cli_config_cmds[] = {
	{ "check", do_check, 0, CMD_NONE },	    { "diff", do_diff, 0, CMD_NONE },
	{ "apply", do_apply, CLI_WRITE, CMD_NONE }, { "dump", do_dump, 0, CMD_NONE },
	{ "help", do_help, 0, CMD_NONE },	    { NULL, NULL, 0, CMD_NONE },
};
