// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice: the operator's command line, in the manner of bpftool and ip.
 *
 *   sluice [OPTIONS] OBJECT COMMAND [ARGS]
 *
 * main() only decides where a command runs. A write command (CLI_WRITE in
 * its object's dispatch table) goes to the daemon when its control socket
 * answers: sluiced journals it, applies it and sends back the output. While
 * a daemon is starting (it holds its lock, ctl.h, but has not bound its
 * socket yet) a write command is refused with a message to try again. With
 * no daemon (no socket, or nobody listening) or --local, and for every read
 * command, the command runs here through cli_run() (cli.c).
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "err.h"
#include "main.h"

/* A command can load BPF programs in the daemon: give it time. */
#define CALL_TIMEOUT_MS 120000

_Static_assert(CTL_BODY_MAX == CONFIG_SIZE_MAX, "an apply's body is a whole configuration");

/* Say why the command did not reach the daemon (on stderr; -j: a JSON error too). */
static void call_error(const struct cli_call *c, const char *msg)
{
	if (c->json) {
		struct json_object *o = json_object_new_object();

		if (o) {
			json_object_object_add(o, "error", json_object_new_string(msg));
			printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
			json_object_put(o);
		}
	}
	fprintf(stderr, "sluice: %s\n", msg);
}

/*
 * `config apply FILE` goes to the daemon as FILE's content, read here with
 * the caller's own permissions (the daemon runs as root and never opens a
 * path a client names), with a name for its messages: FILE made absolute.
 * 1: *req and *body (malloc'ed) are set; 0: not an apply with one FILE
 * (run it as usual); -errno: FILE cannot be read (reported).
 */
static int apply_request(const struct cli_call *c, char **req, char **body, size_t *len)
{
	int i = c->word + 2, err;
	char *abs;

	if (!c->object || strcmp(c->object, "config") || !c->command ||
	    strcmp(c->command, "apply") || i + 1 != c->argc)
		return 0;
	err_clear();
	err = config_read(c->argv[i], body, len);
	if (err) {
		call_error(c, err_msg());
		return err;
	}
	abs = realpath(c->argv[i], NULL);
	*req = ctl_apply_build(abs ? abs : c->argv[i], *len, c->pin_root);
	free(abs);
	if (!*req) {
		free(*body);
		call_error(c, "out of memory");
		return -ENOMEM;
	}
	return 1;
}

/* 0 with *rc set when the daemon ran the command; -ENOENT/-ECONNREFUSED: run it here. */
static int call_daemon(struct cli_call *c, int *rc)
{
	const char *path = ctl_socket_path(c->socket, CLI_SOCKET_DEFAULT);
	struct ctl_reply reply;
	char *req = NULL, *body = NULL;
	size_t len = 0;
	int err;

	err = apply_request(c, &req, &body, &len);
	if (err < 0) {
		*rc = 1;
		return 0;
	}
	if (!err)
		req = ctl_request_build(c->argc, c->argv, c->json, c->pretty, c->pin_root, 0);
	if (!req) {
		call_error(c, "out of memory");
		*rc = 1;
		return 0;
	}
	err = ctl_call_body(path, req, body, len, CALL_TIMEOUT_MS, &reply);
	free(req);
	free(body);
	if (err == -ENOENT || err == -ECONNREFUSED) {
		pid_t pid;

		if (!ctl_lock_held(path, &pid))
			return err; /* no daemon: run it here */
		/* A daemon holds its lock but is not serving yet: it is applying its config. */
		if (c->json)
			printf("{\"error\":\"sluiced is starting\"}\n");
		fprintf(stderr,
			"sluice: sluiced (pid %d) is starting: its socket %s opens once its configuration is applied; try again in a moment\n",
			(int)pid, path);
		*rc = 1;
		return 0;
	}
	if (err) {
		if (c->json)
			printf("{\"error\":\"%s\"}\n", "no reply from the daemon");
		fprintf(stderr, "sluice: %s\n", err_msg());
		*rc = 1;
		return 0;
	}
	fputs(reply.out, stdout);
	fflush(stdout);
	fputs(reply.err, stderr);
	*rc = reply.rc;
	ctl_reply_free(&reply);
	return 0;
}

/*
 * -b FILE / --batch FILE / --batch=FILE among the options before the first
 * command word: its index in argv (the option itself), *file set; else 0.
 */
static int batch_option(int argc, char **argv, const char **file)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-b") || !strcmp(argv[i], "--batch")) {
			*file = i + 1 < argc ? argv[i + 1] : NULL;
			return i;
		}
		if (!strncmp(argv[i], "--batch=", 8)) {
			*file = argv[i] + 8;
			return i;
		}
		/* The options that take a value: skip it. */
		if (!strcmp(argv[i], "--pin-root") || !strcmp(argv[i], "--socket") ||
		    !strcmp(argv[i], "--flow-entries"))
			i++;
	}
	return 0;
}

/* sluice [OPTIONS] -b FILE: the options apply to every command of FILE. */
static int batch(int argc, char **argv, int at, const char *file)
{
	int n = 0, i, skip = strncmp(argv[at], "--batch=", 8) ? 2 : 1, rc;
	char **pre = calloc((size_t)argc, sizeof(char *));
	struct cli_call c;

	if (!pre || !file || !*file) {
		fprintf(stderr, "sluice: %s needs a file of commands, or - for stdin\n", argv[at]);
		free(pre);
		return 1;
	}
	for (i = 1; i < argc; i++)
		if (i < at || i >= at + skip)
			pre[n++] = argv[i];
	if (cli_command(n, pre, &c)) {
		fprintf(stderr, "sluice: out of memory\n");
		free(pre);
		return 1;
	}
	/* Only options beside -b (--flow-entries N travels with each command). */
	for (i = 0; i < c.argc && !strncmp(c.argv[i], "--flow-entries", 14);)
		i += strchr(c.argv[i], '=') ? 1 : 2;
	if (i < c.argc) {
		fprintf(stderr,
			"sluice: -b FILE takes its commands from FILE: give only options beside it "
			"(found '%s')\n",
			c.argv[i]);
		cli_call_free(&c);
		free(pre);
		return 1;
	}
	rc = batch_main(n, pre, file, &c);
	cli_call_free(&c);
	free(pre);
	return rc;
}

int main(int argc, char **argv)
{
	struct cli_call c;
	const char *file = NULL;
	int rc = 1, at = batch_option(argc, argv, &file);

	if (at)
		return batch(argc, argv, at, file);

	if (!cli_command(argc - 1, argv + 1, &c)) {
		int routed = (c.flags & CLI_WRITE) && !c.local && !call_daemon(&c, &rc);

		cli_call_free(&c);
		if (routed)
			return rc;
	}
	return cli_run(argc - 1, argv + 1, stdout, stderr);
}
