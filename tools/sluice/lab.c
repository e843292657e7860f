// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice lab: bring the namespace lab up, tear it down, show it. A thin
 * object over tools/lab.sh, which holds the topology (documented there and in
 * the README): the script is found beside the build (<dir of the executable>
 * /../tools/lab.sh) or at $SLUICE_LAB_SCRIPT, and this process becomes it
 * (exec), so its output, JSON included, is the command's output.
 *
 * The lab never uses the default pin root: with no --pin-root (or
 * $SLUICE_PIN_ROOT) its pins go to SLUICE_LAB_PIN_ROOT_DEFAULT, so a lab on a
 * machine that runs Sluice for real leaves the real pins alone.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "main.h"
#include "out.h"
#include "sluice_abi.h"

#define SLUICE_LAB_PIN_ROOT_DEFAULT "/sys/fs/bpf/sluice-lab"
#define LAB_MAX_ARGS 8

static int do_help(void)
{
	fprintf(out_file(),
		"Usage: sluice lab up [backends N]\n"
		"       sluice lab down\n"
		"       sluice lab status\n"
		"       sluice lab help\n"
		"\n"
		"N := number of backends, 1..250 (default 3)\n"
		"\n"
		"  up      Build the lab: a client namespace (slc-lab, 198.18.0.2-5 and\n"
		"          fd00:5c::2-5), a gateway namespace (slg-lab) with Sluice attached\n"
		"          (native XDP) to its client-facing veth g0 and to one veth per\n"
		"          backend (gb1..gbN), and N backend namespaces (slb1-lab...), each\n"
		"          running nginx on port 80 answering \"backend-I\". Service addresses\n"
		"          (VIPs) are 198.19.0.0/24 and fd00:5c:ff::/64; backend I is\n"
		"          198.18.I.2 and fd00:5c:I::2. Prints how to use it.\n"
		"  down    Remove the lab: processes, namespaces, pins, temporary files.\n"
		"          Does nothing if the lab is not up.\n"
		"  status  Show the namespaces, their addresses and XDP programs, nginx, and\n"
		"          the interfaces Sluice is attached to.\n"
		"\n"
		"The lab's pins go to --pin-root DIR (or $SLUICE_PIN_ROOT) when given, else\n"
		"to %s (never to the default %s).\n"
		"Environment: LAB_ID names the lab (default \"lab\"); SLUICE_LAB_SCRIPT\n"
		"overrides the script (default <dir of sluice>/../tools/lab.sh).\n"
		"\n"
		"Examples:\n"
		"  sluice lab up backends 4\n"
		"  sluice -j lab status | jq '.namespaces[].namespace'\n"
		"  sluice lab down\n",
		SLUICE_LAB_PIN_ROOT_DEFAULT, SLUICE_PIN_ROOT_DEFAULT);
	return 0;
}

/* The lab script: $SLUICE_LAB_SCRIPT, else <dir of /proc/self/exe>/../tools/lab.sh. */
static int lab_script(char *exe, size_t exe_size, char *script, size_t size)
{
	const char *env = getenv("SLUICE_LAB_SCRIPT");
	ssize_t n;
	char *slash;

	n = readlink("/proc/self/exe", exe, exe_size - 1);
	if (n < 0) {
		int err = -errno;

		out_error("cannot find the sluice executable (/proc/self/exe): %s", strerror(-err));
		return err;
	}
	exe[n] = '\0';
	if (env && *env) {
		if (snprintf(script, size, "%s", env) >= (int)size)
			goto too_long;
	} else {
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s", exe);
		slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		if (snprintf(script, size, "%s/../tools/lab.sh", dir) >= (int)size)
			goto too_long;
	}
	if (access(script, R_OK)) {
		int err = -errno;

		out_error("cannot read the lab script %s: %s (run sluice from its build folder, or "
			  "set SLUICE_LAB_SCRIPT to tools/lab.sh)",
			  script, strerror(-err));
		return err;
	}
	return 0;
too_long:
	out_error("the lab script path is too long");
	return -ENAMETOOLONG;
}

int do_lab(int argc, char **argv)
{
	static const char *const cmds[] = { "up", "down", "status" };
	char exe[PATH_MAX], script[PATH_MAX];
	const char *pin_root, *cmd = NULL;
	char *args[LAB_MAX_ARGS + 5];
	int i, n = 0, err;
	size_t len;

	if (argc > 0 && !strcmp(argv[0], "help"))
		return do_help();
	/* Unique prefixes, as for every object's commands. */
	len = argc > 0 ? strlen(argv[0]) : 0;
	for (i = 0; argc > 0 && i < (int)(sizeof(cmds) / sizeof(cmds[0])); i++) {
		if (len && !strncmp(cmds[i], argv[0], len)) {
			if (cmd)
				return cli_usage_error("lab", "lab: '%s' is ambiguous", argv[0]);
			cmd = cmds[i];
		}
	}
	if (!argc)
		cmd = "status";
	if (!cmd)
		return cli_usage_error("lab", "lab: unknown command '%s'", argv[0]);
	if (argc > LAB_MAX_ARGS)
		return cli_usage_error("lab", "lab %s: too many arguments", cmd);

	err = lab_script(exe, sizeof(exe), script, sizeof(script));
	if (err)
		return err;
	pin_root = strcmp(cli.pin_root, SLUICE_PIN_ROOT_DEFAULT) ? cli.pin_root
								 : SLUICE_LAB_PIN_ROOT_DEFAULT;
	if (setenv("SLUICE", exe, 1) || setenv("LAB_PIN_ROOT", pin_root, 1)) {
		err = -errno;
		out_error("cannot set the lab's environment: %s", strerror(-err));
		return err;
	}

	args[n++] = "bash";
	args[n++] = script;
	args[n++] = (char *)cmd;
	for (i = 1; i < argc; i++)
		args[n++] = argv[i];
	if (cli.json)
		args[n++] = "-j";
	args[n] = NULL;

	fflush(out_file());
	execvp("bash", args);
	err = -errno;
	out_error("cannot run bash %s: %s", script, strerror(-err));
	return err;
}
