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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "err.h"
#include "main.h"

/* A command can load BPF programs in the daemon: give it time. */
#define CALL_TIMEOUT_MS 120000

/*
 * `config apply FILE`: the daemon opens FILE from its own working folder,
 * so a relative FILE becomes absolute here. *abs (malloc'ed) replaces it.
 */
static void absolute_file(struct cli_call *c, char **abs)
{
	int i = c->word + 2;

	*abs = NULL;
	if (!c->object || strcmp(c->object, "config") || !c->command ||
	    strcmp(c->command, "apply") || i >= c->argc || c->argv[i][0] == '/')
		return;
	*abs = realpath(c->argv[i], NULL);
	if (*abs)
		c->argv[i] = *abs;
}

/* 0 with *rc set when the daemon ran the command; -ENOENT/-ECONNREFUSED: run it here. */
static int call_daemon(struct cli_call *c, int *rc)
{
	const char *path = ctl_socket_path(c->socket, CLI_SOCKET_DEFAULT);
	struct ctl_reply reply;
	char *req, *abs;
	int err;

	absolute_file(c, &abs);
	req = ctl_request_build(c->argc, c->argv, c->json, c->pretty, c->pin_root);
	free(abs);
	if (!req) {
		fprintf(stderr, "sluice: out of memory\n");
		*rc = 1;
		return 0;
	}
	err = ctl_call(path, req, CALL_TIMEOUT_MS, &reply);
	free(req);
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

int main(int argc, char **argv)
{
	struct cli_call c;
	int rc = 1;

	if (!cli_command(argc - 1, argv + 1, &c)) {
		int routed = (c.flags & CLI_WRITE) && !c.local && !call_daemon(&c, &rc);

		cli_call_free(&c);
		if (routed)
			return rc;
	}
	return cli_run(argc - 1, argv + 1, stdout, stderr);
}
