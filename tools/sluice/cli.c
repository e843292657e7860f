// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sluice command line as a function: cli_run() takes the global options
 * (anywhere on the line), sets up output and libbpf logging, and hands the
 * rest to the object's dispatch table. Output goes to the FILE* it is given,
 * so the same code serves the sluice binary (stdout/stderr), the daemon's
 * control socket (captured into memory) and `journal replay` (nested runs).
 * Read commands read the pinned maps directly; writes go through the library
 * (userspace/svc.c, loader/), never through bpf_map_* calls here.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cmd.h"
#include "err.h"
#include "loader.h"
#include "main.h"
#include "maps.h"
#include "out.h"
#include "sluice_abi.h"
#include "version.h"

struct cli_opts cli;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	if (!cli.verbose)
		return 0;
	return vfprintf(out_err_file(), fmt, ap);
}

int cli_usage_error(const char *object, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!strcmp(object, "help"))
		out_error("%s (see 'sluice help')", msg);
	else
		out_error("%s (see 'sluice %s help')", msg, object);
	return -EINVAL;
}

int cli_lib_error(int err)
{
	out_error("%s", err_text(err));
	return err;
}

/* Entries of a table ending with a NULL name. */
static size_t table_len(const struct cli_cmd *cmds)
{
	size_t n = 0;

	while (cmds[n].name)
		n++;
	return n;
}

int cli_write(enum cmd_kind kind, int argc, char **argv)
{
	struct sluice_cmd cmd;
	int err;

	err = cmd_parse_args(kind, argc, argv, &cmd);
	if (err)
		return cli_usage_error(cmd_kinds[kind].object, "%s", err_msg());
	/* --flow-entries was taken by global_options(): the loader has it already. */
	err = cmd_apply(cli.pin_root, &cmd);
	return err ? cli_lib_error(err) : 0;
}

int cli_dispatch(const char *object, const struct cli_cmd *cmds, const char *default_cmd, int argc,
		 char **argv)
{
	const char *word = argc > 0 ? argv[0] : default_cmd;
	int i;

	if (!word)
		return cli_usage_error(object, "'sluice %s' needs a command", object);
	i = args_keyword_find(word, cmds, table_len(cmds), sizeof(cmds[0]), "command");
	if (i < 0)
		return cli_usage_error(object, "%s: %s", object, err_msg());
	if (argc > 0) {
		argc--;
		argv++;
	}
	if (cmds[i].kind)
		return cli_write(cmds[i].kind, argc, argv);
	return cmds[i].fn(argc, argv);
}

int cli_open_maps(struct sluice_maps *m)
{
	int err = maps_open(m, cli.pin_root);

	return err ? cli_lib_error(err) : 0;
}

int cli_show_open(const char *object, const char *verb, int with_svc, int argc, char **argv,
		  struct cli_show *s)
{
	int err;

	maps_init(&s->m);
	s->only = NULL;
	if (argc && with_svc) {
		err = cli_parse_svc_only(object, verb, argc, argv, &s->key);
		if (err)
			return err;
		s->only = &s->key;
	} else if (argc) {
		return cli_usage_error(object, "%s %s: unexpected argument '%s'", object, verb,
				       argv[0]);
	}
	return cli_open_maps(&s->m);
}

int cli_show_close(struct cli_show *s, int err)
{
	maps_close(&s->m);
	return err ? cli_lib_error(err) : 0;
}

void cli_print_list(const void *list, size_t n, size_t size,
		    void (*print)(void *ctx, const void *item), void *ctx, const char *empty)
{
	size_t i;

	out_open_array(NULL);
	for (i = 0; i < n; i++)
		print(ctx, (const char *)list + i * size);
	out_close_array();
	if (!n)
		out_text("%s\n", empty);
}

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(out_file(),
		"Usage: sluice [OPTIONS] OBJECT COMMAND [ARGS]\n"
		"       sluice OBJECT help\n"
		"\n"
		"OBJECT := { iface | service | backend | leader | shard | gateway | bulkhead |\n"
		"            breaker | stats | top | trace | config | journal | events | cluster |\n"
		"            bgp | lab | host | version | help }\n"
		"\n"
		"OPTIONS (anywhere on the line):\n"
		"  -j, --json          print JSON (errors as {\"error\": \"...\"})\n"
		"  -p, --pretty        print indented JSON (implies -j)\n"
		"  -v, --verbose       show libbpf's messages (verifier log on load errors)\n"
		"  --pin-root DIR      bpffs folder of the pins (default: $SLUICE_PIN_ROOT,\n"
		"                      else %s)\n"
		"  --flow-entries N    size of the flow table (sl_flows, sl_nat_rev) when the\n"
		"                      maps are first created (default %u; %u..%u, k and m\n"
		"                      suffixes allowed). A flow table that exists keeps\n"
		"                      its size: to resize, detach every interface and\n"
		"                      remove the pin root.\n"
		"  --socket PATH       the daemon's control socket (default: $SLUICE_SOCKET,\n"
		"                      else %s)\n"
		"  --local             run a write command here even when the daemon runs\n"
		"  -b, --batch FILE    run the commands of FILE (- for stdin), one a line;\n"
		"                      the first that fails stops the batch (sluice(8))\n"
		"\n"
		"Write commands (add, set, del, attach, ...) go to the daemon (sluiced) when\n"
		"its socket answers, which journals and applies them; otherwise they run here.\n"
		"\n"
		"Objects and commands may be abbreviated to a unique prefix\n"
		"(sluice ser sh = sluice service show).\n"
		"\n"
		"Examples:\n"
		"  sluice iface attach eth0\n"
		"  sluice service add 192.0.2.10 80 tcp rate 10k client-rate 100\n"
		"  sluice service add 192.0.2.20 80 tcp mode nat\n"
		"  sluice backend add 192.0.2.20 80 tcp 10.0.0.11 port 8080\n"
		"  sluice --flow-entries 1m iface attach eth0\n"
		"  sluice -j stats\n",
		SLUICE_PIN_ROOT_DEFAULT, (unsigned int)SLUICE_FLOWS_DEFAULT,
		LOADER_FLOW_ENTRIES_MIN, LOADER_FLOW_ENTRIES_MAX, CLI_SOCKET_DEFAULT);
	return 0;
}

static int do_version(int argc, char **argv)
{
	(void)argv;
	if (argc)
		return cli_usage_error("help", "'version' takes no arguments");
	out_str("version", "sluice %s", SLUICE_VERSION);
	out_u64("abi_version", " (map ABI %llu)\n", SLUICE_ABI_VERSION);
	return 0;
}

/*
 * Objects. An object with a command table (cmds) is dispatched from it,
 * default_cmd when no command is given; the table is also read as data to
 * tell a write command from a read one without running anything
 * (cli_command()). The others run fn with their arguments.
 */
static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const struct cli_cmd *cmds;
	const char *default_cmd;
} objects[] = {
	{ "iface", NULL, cli_iface_cmds, NULL },
	{ "service", NULL, cli_service_cmds, NULL },
	{ "backend", NULL, cli_backend_cmds, NULL },
	{ "leader", NULL, cli_leader_cmds, NULL },
	{ "shard", NULL, cli_shard_cmds, NULL },
	{ "gateway", NULL, cli_gateway_cmds, NULL },
	{ "stats", do_stats, NULL, NULL },
	{ "lab", do_lab, NULL, NULL },
	{ "version", do_version, NULL, NULL },
	{ "help", do_help, NULL, NULL },
	{ "bulkhead", NULL, cli_bulkhead_cmds, "show" },
	{ "breaker", NULL, cli_breaker_cmds, "show" },
	{ "config", NULL, cli_config_cmds, NULL },
	{ "journal", NULL, cli_journal_cmds, "show" },
	{ "events", do_events, NULL, NULL },
	{ "top", do_top, NULL, NULL },
	{ "trace", do_trace, NULL, NULL },
	{ "cluster", NULL, cli_cluster_cmds, "show" },
	{ "host", NULL, cli_host_cmds, NULL },
	{ "bgp", NULL, cli_bgp_cmds, "show" },
};

/* Is arg a bundle of the global one-letter flags, like -j or -jv? */
static int short_flags(const char *arg)
{
	const char *p;

	if (arg[0] != '-' || !arg[1] || arg[1] == '-')
		return 0;
	for (p = arg + 1; *p; p++)
		if (!strchr("jpv", *p))
			return 0;
	for (p = arg + 1; *p; p++) {
		if (*p == 'j')
			cli.json = 1;
		else if (*p == 'p')
			cli.json = cli.pretty = 1;
		else
			cli.verbose = 1;
	}
	return 1;
}

static int flow_entries(const char *text)
{
	__u32 n;

	if (args_parse_count(text, LOADER_FLOW_ENTRIES_MAX, "--flow-entries", &n) ||
	    n < LOADER_FLOW_ENTRIES_MIN) {
		fprintf(out_err_file(),
			"sluice: --flow-entries needs %u..%u (k and m allowed, e.g. 1m)\n",
			LOADER_FLOW_ENTRIES_MIN, LOADER_FLOW_ENTRIES_MAX);
		return -EINVAL;
	}
	loader_set_flow_entries(n);
	return 0;
}

/*
 * Take the global options out of argv (argv[0] is the first word after
 * "sluice"), wherever they are, into cli; -EINVAL if bad. The words left
 * stay in argv[0..*argc-1], argv[*argc] = NULL (argv has room for it).
 * --flow-entries stays in the words when keep_flow is set (it belongs to
 * the command that creates the maps, and travels with it to the daemon).
 */
static int global_options(int *argc, char **argv, const char **pin_root, int keep_flow)
{
	int i, n = 0;

	for (i = 0; i < *argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--json")) {
			cli.json = 1;
		} else if (!strcmp(a, "--pretty")) {
			cli.json = cli.pretty = 1;
		} else if (!strcmp(a, "--verbose")) {
			cli.verbose = 1;
		} else if (!strcmp(a, "--local")) {
			cli.local = 1;
		} else if (!strcmp(a, "--pin-root") || !strcmp(a, "--socket")) {
			if (i + 1 >= *argc || !*argv[i + 1]) {
				fprintf(out_err_file(), "sluice: %s needs %s\n", a,
					a[2] == 'p' ? "a folder, e.g. --pin-root /sys/fs/bpf/sluice"
						    : "a path, e.g. --socket " CLI_SOCKET_DEFAULT);
				return -EINVAL;
			}
			if (a[2] == 'p')
				*pin_root = argv[++i];
			else
				cli.socket = argv[++i];
		} else if (!strncmp(a, "--pin-root=", 11)) {
			*pin_root = a + 11;
		} else if (!strncmp(a, "--socket=", 9)) {
			cli.socket = a + 9;
		} else if (!strcmp(a, "--flow-entries")) {
			if (flow_entries(i + 1 < *argc ? argv[i + 1] : ""))
				return -EINVAL;
			if (keep_flow) {
				argv[n++] = argv[i];
				argv[n++] = argv[i + 1];
			}
			i++;
		} else if (!strncmp(a, "--flow-entries=", 15)) {
			if (flow_entries(a + 15))
				return -EINVAL;
			if (keep_flow)
				argv[n++] = argv[i];
		} else if (short_flags(a)) {
			continue;
		} else {
			argv[n++] = argv[i];
		}
	}
	*argc = n;
	argv[n] = NULL;
	return 0;
}

/* Everything cli_run() changes that is global, saved so that runs can nest. */
struct cli_saved {
	struct cli_opts opts;
	struct out_saved *out;
	libbpf_print_fn_t print;
};

static int cli_enter(struct cli_saved *s, FILE *out, FILE *errout)
{
	s->opts = cli;
	s->out = out_push();
	if (!s->out)
		return -ENOMEM;
	memset(&cli, 0, sizeof(cli));
	out_set_files(out, errout);
	loader_set_flow_entries(0);
	s->print = libbpf_set_print(libbpf_print);
	err_clear();
	return 0;
}

static void cli_leave(struct cli_saved *s)
{
	libbpf_set_print(s->print);
	loader_set_flow_entries(0);
	cli = s->opts;
	out_pop(s->out);
}

/* Copy argv with room for the NULL global_options() writes. */
static char **argv_copy(int argc, char **argv)
{
	char **copy = calloc((size_t)argc + 1, sizeof(*copy));

	if (copy && argc)
		memcpy(copy, argv, (size_t)argc * sizeof(*copy));
	return copy;
}

static int run_object(int argc, char **argv)
{
	int i;

	if (argc < 1) {
		do_help(0, NULL);
		return cli_usage_error("help", "missing OBJECT");
	}
	if (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help"))
		return do_help(0, NULL);
	if (!strcmp(argv[0], "-V") || !strcmp(argv[0], "--version"))
		return do_version(0, NULL);
	if (argv[0][0] == '-')
		return cli_usage_error("help", "unknown option '%s'", argv[0]);
	i = ARGS_KEYWORD_FIND(argv[0], objects, "object");
	if (i < 0)
		return cli_usage_error("help", "%s", err_msg());
	if (objects[i].cmds)
		return cli_dispatch(objects[i].name, objects[i].cmds, objects[i].default_cmd,
				    argc - 1, argv + 1);
	return objects[i].fn(argc - 1, argv + 1);
}

int cli_run(int argc, char **argv, FILE *out, FILE *errout)
{
	const char *pin_root = NULL;
	struct cli_saved saved;
	char **args = NULL;
	int err;

	err = cli_enter(&saved, out, errout);
	if (err) {
		fprintf(errout ? errout : stderr, "sluice: out of memory\n");
		return 1;
	}
	args = argv_copy(argc, argv);
	if (!args) {
		fprintf(out_err_file(), "sluice: out of memory\n");
		err = -ENOMEM;
		goto out;
	}
	err = global_options(&argc, args, &pin_root, 0);
	if (err)
		goto out;
	cli.pin_root = maps_pin_root(pin_root);
	out_start(cli.json, cli.pretty);
	err = run_object(argc, args);
	out_end();
out:
	free(args);
	cli_leave(&saved);
	return err ? 1 : 0;
}

int cli_command(int argc, char **argv, struct cli_call *c)
{
	const char *pin_root = NULL;
	struct cli_saved saved;
	int err, i;

	memset(c, 0, sizeof(*c));
	err = cli_enter(&saved, NULL, NULL);
	if (err)
		return err;
	c->argv = argv_copy(argc, argv);
	if (!c->argv) {
		err = -ENOMEM;
		goto out;
	}
	/* Bad options: leave them to the local run, which reports them. */
	out_set_files(NULL, fopen("/dev/null", "w"));
	c->argc = argc;
	if (global_options(&c->argc, c->argv, &pin_root, 1)) {
		c->argc = 0;
		goto close;
	}
	c->json = cli.json;
	c->pretty = cli.pretty;
	c->local = cli.local;
	c->socket = cli.socket;
	c->pin_root = maps_pin_root(pin_root);
	c->pin_root_given = pin_root != NULL;
	/* The command words start after any --flow-entries kept in front. */
	for (i = 0; i < c->argc && !strncmp(c->argv[i], "--flow-entries", 14);)
		i += strchr(c->argv[i], '=') ? 1 : 2;
	if (i < c->argc && c->argv[i][0] != '-') {
		int o = ARGS_KEYWORD_FIND(c->argv[i], objects, "object");

		c->word = i;
		if (o >= 0)
			c->object = objects[o].name;
		if (o >= 0 && objects[o].cmds && i + 1 < c->argc) {
			const struct cli_cmd *cmds = objects[o].cmds;
			int k = args_keyword_find(c->argv[i + 1], cmds, table_len(cmds),
						  sizeof(cmds[0]), "command");

			if (k >= 0) {
				c->command = cmds[k].name;
				c->flags = cmds[k].flags;
			}
		}
	}
close:
	if (out_err_file() != stderr)
		fclose(out_err_file());
out:
	cli_leave(&saved);
	err_clear();
	if (err)
		cli_call_free(c);
	return err;
}

void cli_call_free(struct cli_call *c)
{
	free(c->argv);
	c->argv = NULL;
	c->argc = 0;
}
