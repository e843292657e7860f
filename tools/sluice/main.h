/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared pieces of the sluice CLI: global options, the per-object dispatch
 * tables and the helpers every object file uses to report errors.
 */
#ifndef SLUICE_CLI_MAIN_H
#define SLUICE_CLI_MAIN_H

#include <stddef.h>

#include <stdio.h>

#include "cmd.h"
#include "ctl.h"
#include "maps.h"

/* The daemon's control socket when neither --socket nor $SLUICE_SOCKET says. */
#define CLI_SOCKET_DEFAULT CTL_SOCKET_DEFAULT

/* Global options, set by cli_run() before any object runs. */
struct cli_opts {
	int json;	      /* -j: JSON output */
	int pretty;	      /* -p: indented JSON (implies -j) */
	int verbose;	      /* -v: libbpf's messages on the error stream */
	int local;	      /* --local: never route to the daemon */
	const char *socket;   /* --socket PATH, or NULL */
	const char *pin_root; /* resolved pin root (--pin-root, $SLUICE_PIN_ROOT, default) */
};

extern struct cli_opts cli;

/* Flags of a dispatch-table entry. */
enum {
	/*
	 * A write command: changes the desired state. sluice sends it to the
	 * daemon when its socket answers (the daemon journals and applies it)
	 * and runs it here otherwise; the daemon accepts only these.
	 */
	CLI_WRITE = 1 << 0,
};

/*
 * One command of an object: its name (unique prefixes accepted), handler,
 * flags. A write command of the library's grammar (userspace/cmd) has no
 * handler: kind names it, and cli_write() parses and applies it. A table
 * ends with an entry whose name is NULL.
 */
struct cli_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	unsigned int flags; /* CLI_WRITE, ... */
	enum cmd_kind kind; /* CMD_NONE: run fn */
};

/* The command tables of the objects (cli.c dispatches them; cli_command() reads them). */
extern const struct cli_cmd cli_iface_cmds[], cli_service_cmds[], cli_backend_cmds[],
	cli_leader_cmds[], cli_shard_cmds[], cli_gateway_cmds[], cli_bulkhead_cmds[],
	cli_breaker_cmds[], cli_config_cmds[], cli_journal_cmds[], cli_cluster_cmds[],
	cli_host_cmds[], cli_bgp_cmds[];

/*
 * The whole CLI: argv holds the words after "sluice" (global options
 * anywhere, then OBJECT COMMAND ARGS); argv is not modified. Output goes to
 * out, error messages and warnings to errout (NULL: stdout, stderr). Runs
 * nest: a command may call cli_run() (journal replay); the caller's output
 * state is saved and restored. Returns the exit status: 0 or 1.
 */
int cli_run(int argc, char **argv, FILE *out, FILE *errout);

/* What a command line is, without running it (cli_command()). */
struct cli_call {
	int argc;	      /* the words without -j/-p/-v/--pin-root/--socket/--local */
	char **argv;	      /* (--flow-entries kept); pointers into the caller's argv */
	unsigned int flags;   /* the command's flags (CLI_WRITE) */
	const char *object;   /* the object's full name, or NULL (unknown) */
	const char *command;  /* the command's full name (objects with a table), or NULL */
	int word;	      /* index of the object word in argv */
	int json, pretty;     /* -j, -p */
	int local;	      /* --local */
	const char *socket;   /* --socket, or NULL */
	const char *pin_root; /* the resolved pin root */
	int pin_root_given;   /* --pin-root was on the line */
};

/*
 * Parse argv (as for cli_run) into c without running anything; an unknown
 * or bad command line has flags 0 (run it locally, which reports it).
 * 0 or -ENOMEM. cli_call_free() releases c->argv.
 */
int cli_command(int argc, char **argv, struct cli_call *c);
void cli_call_free(struct cli_call *c);

/*
 * sluice -b FILE (batch.c): run the commands of FILE ("-": stdin), one a
 * line, with the global options pre[0 .. npre) (opts: what cli_command()
 * made of them). The exit status: 0, or 1 at the first line that fails to
 * parse (then nothing ran) or to run (then nothing after it did).
 */
int batch_main(int npre, char **pre, const char *file, const struct cli_call *opts);

/*
 * Run the command argv[0] of object from cmds (no argument: default_cmd,
 * when not NULL). Returns the handler's result, or -EINVAL for an unknown or
 * ambiguous command (reported, with a pointer to `sluice OBJECT help`).
 */
int cli_dispatch(const char *object, const struct cli_cmd *cmds, const char *default_cmd, int argc,
		 char **argv);

/* A write command of kind with its ARGS: parsed and applied by the library, reported here. */
int cli_write(enum cmd_kind kind, int argc, char **argv);

/* Report a usage error of object and return -EINVAL. */
int cli_usage_error(const char *object, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Report the library's last error (err_msg()) and return err. */
int cli_lib_error(int err);

/*
 * Objects without a command table (cli.c dispatches the others from their
 * tables above).
 */
int do_stats(int argc, char **argv);
/* The namespace lab: implemented in lab.c (the lab's own file). */
int do_lab(int argc, char **argv);
int do_events(int argc, char **argv);
/* top.c: the live view of the counters (a read command). */
int do_top(int argc, char **argv);
/* trace.c: the data plane's decisions, live (a read command). */
int do_trace(int argc, char **argv);
/*
 * status.c: OBJECT show (argc: its arguments, none allowed): the status
 * file name sluiced keeps beside its socket, while the daemon that wrote it
 * runs (else "no OBJECT status at PATH: sluiced is not running, or runs
 * without a SECTION section"), given to prepare (may be NULL), then printed
 * as JSON under -j, by print otherwise.
 */
struct json_object;
int cli_status_show(const char *object, const char *name, const char *section, int argc,
		    void (*prepare)(struct json_object *doc),
		    void (*print)(struct json_object *doc));

/*
 * Parse "ADDR PORT PROTO" from argv[0..2] into a service key; reports the
 * error. Used by service and stats.
 */
int cli_parse_svc_key(const char *object, int argc, char **argv, struct sluice_svc_key *key);

/* The same, for `object verb ADDR PORT PROTO` with nothing after it. */
int cli_parse_svc_only(const char *object, const char *verb, int argc, char **argv,
		       struct sluice_svc_key *key);

/* What a read command works on: the pinned maps, and the service on its line. */
struct cli_show {
	struct sluice_maps m;
	struct sluice_svc_key key;
	const struct sluice_svc_key *only; /* &key when a service was given, else NULL */
};

/*
 * `object verb [ADDR PORT PROTO]` (with_svc; else no argument at all): the
 * service key into s, then the pinned maps opened; reports the error. Call
 * cli_show_close() in any case.
 */
int cli_show_open(const char *object, const char *verb, int with_svc, int argc, char **argv,
		  struct cli_show *s);

/* Close s's maps; err, when not 0, reported (the first error reported wins). Returns err. */
int cli_show_close(struct cli_show *s, int err);

/*
 * n items of size bytes from list, each printed by print(ctx, item), as the
 * document's array; when there are none, the text line empty.
 */
void cli_print_list(const void *list, size_t n, size_t size,
		    void (*print)(void *ctx, const void *item), void *ctx, const char *empty);

/* A sweep report (bulkhead sweep, breaker watch), under key. */
struct sweep_report;
void cli_print_sweep(const char *key, const struct sweep_report *r);

/* Open the pinned maps under cli.pin_root; reports the error. */
int cli_open_maps(struct sluice_maps *m);

#endif /* SLUICE_CLI_MAIN_H */
