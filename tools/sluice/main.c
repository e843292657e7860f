// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice: the operator's command line, in the manner of bpftool and ip.
 *
 *   sluice [OPTIONS] OBJECT COMMAND [ARGS]
 *
 * main() takes the global options (anywhere on the line), sets up output
 * and libbpf logging, and hands the rest to the object's dispatch table.
 * Read commands read the pinned maps directly; writes go through the library
 * (userspace/svc.c, loader/), never through bpf_map_* calls here.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
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
	return vfprintf(stderr, fmt, ap);
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
	out_error("%s", *err_msg() ? err_msg() : strerror(-err));
	return err;
}

int cli_dispatch(const char *object, const struct cli_cmd *cmds, size_t count,
		 const char *default_cmd, int argc, char **argv)
{
	const char *word = argc > 0 ? argv[0] : default_cmd;
	int i;

	if (!word)
		return cli_usage_error(object, "'sluice %s' needs a command", object);
	i = args_keyword_find(word, cmds, count, sizeof(cmds[0]), "command");
	if (i < 0)
		return cli_usage_error(object, "%s: %s", object, err_msg());
	if (argc > 0) {
		argc--;
		argv++;
	}
	return cmds[i].fn(argc, argv);
}

int cli_open_maps(struct sluice_maps *m)
{
	int err = maps_open(m, cli.pin_root);

	return err ? cli_lib_error(err) : 0;
}

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("Usage: sluice [OPTIONS] OBJECT COMMAND [ARGS]\n"
	       "       sluice OBJECT help\n"
	       "\n"
	       "OBJECT := { iface | service | backend | shard | gateway | bulkhead | breaker |\n"
	       "            stats | lab | version | help }\n"
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
	       SLUICE_PIN_ROOT_DEFAULT, (unsigned int)SLUICE_FLOWS_DEFAULT, LOADER_FLOW_ENTRIES_MIN,
	       LOADER_FLOW_ENTRIES_MAX);
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

static const struct cli_cmd objects[] = {
	{ "iface", do_iface },	     { "service", do_service }, { "backend", do_backend },
	{ "shard", do_shard },	     { "gateway", do_gateway }, { "stats", do_stats },
	{ "lab", do_lab },	     { "version", do_version }, { "help", do_help },
	{ "bulkhead", do_bulkhead }, { "breaker", do_breaker },
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

/* Take the global options out of argv, wherever they are; -EINVAL if bad. */
static int flow_entries(const char *text)
{
	__u32 n;

	if (args_parse_count(text, LOADER_FLOW_ENTRIES_MAX, "--flow-entries", &n) ||
	    n < LOADER_FLOW_ENTRIES_MIN) {
		fprintf(stderr, "sluice: --flow-entries needs %u..%u (k and m allowed, e.g. 1m)\n",
			LOADER_FLOW_ENTRIES_MIN, LOADER_FLOW_ENTRIES_MAX);
		return -EINVAL;
	}
	loader_set_flow_entries(n);
	return 0;
}

static int global_options(int *argc, char **argv, const char **pin_root)
{
	int i, n = 0;

	for (i = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--json")) {
			cli.json = 1;
		} else if (!strcmp(a, "--pretty")) {
			cli.json = cli.pretty = 1;
		} else if (!strcmp(a, "--verbose")) {
			cli.verbose = 1;
		} else if (!strcmp(a, "--pin-root")) {
			if (i + 1 >= *argc || !*argv[i + 1]) {
				fprintf(stderr,
					"sluice: --pin-root needs a folder, e.g. --pin-root /sys/fs/bpf/sluice\n");
				return -EINVAL;
			}
			*pin_root = argv[++i];
		} else if (!strncmp(a, "--pin-root=", 11)) {
			*pin_root = a + 11;
		} else if (!strcmp(a, "--flow-entries")) {
			if (flow_entries(i + 1 < *argc ? argv[++i] : ""))
				return -EINVAL;
		} else if (!strncmp(a, "--flow-entries=", 15)) {
			if (flow_entries(a + 15))
				return -EINVAL;
		} else if (short_flags(a)) {
			continue;
		} else {
			argv[++n] = argv[i];
		}
	}
	*argc = n + 1;
	argv[*argc] = NULL;
	return 0;
}

int main(int argc, char **argv)
{
	const char *pin_root = NULL;
	int err;

	err = global_options(&argc, argv, &pin_root);
	if (err)
		return 1;
	cli.pin_root = maps_pin_root(pin_root);
	libbpf_set_print(libbpf_print);
	if (out_start(cli.json, cli.pretty)) {
		fprintf(stderr, "sluice: out of memory\n");
		return 1;
	}
	if (argc < 2) {
		do_help(0, NULL);
		err = cli_usage_error("help", "missing OBJECT");
	} else if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		err = do_help(0, NULL);
	} else if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		err = do_version(0, NULL);
	} else if (argv[1][0] == '-') {
		err = cli_usage_error("help", "unknown option '%s'", argv[1]);
	} else {
		int i = ARGS_KEYWORD_FIND(argv[1], objects, "object");

		if (i < 0)
			err = cli_usage_error("help", "%s", err_msg());
		else
			err = objects[i].fn(argc - 2, argv + 2);
	}
	out_end();
	return err ? 1 : 0;
}
