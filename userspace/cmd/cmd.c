// SPDX-License-Identifier: GPL-2.0-only
/*
 * The command kinds as data, and what every kind shares: looking OBJECT
 * VERB up, the leading --flow-entries, building argv back, opening the maps
 * around an apply, and reporting a failure in the CLI's words.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "addr.h"
#include "args.h"
#include "berev.h"
#include "cmd_int.h"
#include "err.h"
#include "out.h"
#include "publish.h"

const struct cmd_kind_info cmd_kinds[CMD_KINDS] = {
	[CMD_IFACE_ATTACH] = { "iface", "attach", CMD_F_CREATES, &cmd_iface_ops },
	[CMD_IFACE_DETACH] = { "iface", "detach", 0, &cmd_iface_ops },
	[CMD_SERVICE_ADD] = { "service", "add", CMD_F_SVC | CMD_F_CREATES | CMD_F_MAPS,
			      &cmd_service_ops },
	[CMD_SERVICE_SET] = { "service", "set", CMD_F_SVC | CMD_F_MAPS, &cmd_service_ops },
	[CMD_SERVICE_DEL] = { "service", "del", CMD_F_SVC | CMD_F_MAPS, &cmd_service_ops },
	[CMD_BACKEND_ADD] = { "backend", "add", CMD_F_SVC | CMD_F_MAPS, &cmd_backend_ops },
	[CMD_BACKEND_SET] = { "backend", "set", CMD_F_SVC | CMD_F_MAPS, &cmd_backend_ops },
	[CMD_BACKEND_DRAIN] = { "backend", "drain", CMD_F_SVC | CMD_F_MAPS, &cmd_backend_ops },
	[CMD_BACKEND_ACTIVATE] = { "backend", "activate", CMD_F_SVC | CMD_F_MAPS,
				   &cmd_backend_ops },
	[CMD_BACKEND_DEL] = { "backend", "del", CMD_F_SVC | CMD_F_MAPS, &cmd_backend_ops },
	[CMD_SHARD_ADD] = { "shard", "add", CMD_F_SVC | CMD_F_MAPS, &cmd_shard_ops },
	[CMD_SHARD_DEL] = { "shard", "del", CMD_F_SVC | CMD_F_MAPS, &cmd_shard_ops },
	[CMD_GATEWAY_SET] = { "gateway", "set", CMD_F_CREATES | CMD_F_MAPS, &cmd_gateway_ops },
	[CMD_BULKHEAD_SET] = { "bulkhead", "set", CMD_F_MAPS, &cmd_gateway_ops },
	[CMD_BREAKER_TRIP] = { "breaker", "trip", CMD_F_SVC | CMD_F_MAPS, &cmd_backend_ops },
	[CMD_BREAKER_RESET] = { "breaker", "reset", CMD_F_SVC | CMD_F_MAPS, &cmd_backend_ops },
	[CMD_LEADER_SET] = { "leader", "set", CMD_F_SVC, &cmd_leader_ops },
	[CMD_HOST_ATTACH] = { "host", "attach", CMD_F_CREATES, &cmd_host_ops },
	[CMD_HOST_DETACH] = { "host", "detach", 0, &cmd_host_ops },
};

/* The objects with write commands, for prefix matching (order of cmd_kinds[]). */
static const char *const objects[] = { "iface",	   "service", "backend", "shard", "gateway",
				       "bulkhead", "breaker", "leader",	 "host" };

int cmd_bad(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set("%s", msg);
	return -EINVAL;
}

int cmd_keyword(const char *what, const struct cmd_keyword *kws, size_t n, int argc, char **argv,
		int i, int *seen)
{
	int kw = args_keyword_find(argv[i], kws, n, sizeof(kws[0]), "keyword");

	if (kw < 0)
		return cmd_bad("%s: %s", what, err_msg());
	if (seen[kw]++)
		return cmd_bad("%s: '%s' given twice; give it once", what, kws[kw].name);
	if (i + 1 >= argc)
		return cmd_bad("%s: '%s' needs a value: %s %s", what, kws[kw].name, kws[kw].name,
			       kws[kw].value);
	return kw;
}

int cmd_lookup(const char *object, const char *verb, enum cmd_kind *kind)
{
	const char *verbs[CMD_KINDS];
	enum cmd_kind of[CMD_KINDS];
	size_t n = 0;
	int o, v, k;

	*kind = CMD_NONE;
	o = ARGS_KEYWORD_FIND(object, objects, "object");
	if (o < 0)
		return -EINVAL;
	for (k = 1; k < CMD_KINDS; k++) {
		if (strcmp(cmd_kinds[k].object, objects[o]))
			continue;
		verbs[n] = cmd_kinds[k].verb;
		of[n++] = (enum cmd_kind)k;
	}
	if (!verb)
		return cmd_bad("'sluice %s' needs a command", objects[o]);
	v = args_keyword_find(verb, verbs, n, sizeof(verbs[0]), "command");
	if (v < 0)
		return cmd_bad("%s: %s", objects[o], err_msg());
	*kind = of[v];
	return 0;
}

int cmd_parse_svc_key(int argc, char **argv, struct sluice_svc_key *key)
{
	union sluice_addr addr;
	__u16 port;
	__u8 proto;

	if (argc < 3)
		return cmd_bad(
			"missing %s: a service is given as ADDR PORT PROTO (e.g. 192.0.2.10 80 tcp)",
			argc == 0   ? "ADDR PORT PROTO"
			: argc == 1 ? "PORT PROTO"
				    : "PROTO");
	if (addr_parse(argv[0], &addr) || args_parse_port(argv[1], &port) ||
	    args_parse_proto(argv[2], &proto) || svc_key_make(&addr, port, proto, key))
		return -EINVAL;
	return 0;
}

int cmd_parse_svc_then(const char *what, const char *missing, int argc, char **argv,
		       struct sluice_svc_key *svc)
{
	int err = cmd_parse_svc_key(argc, argv, svc);

	if (!err && argc < 4)
		err = cmd_bad("%s: missing %s after the service", what, missing);
	return err;
}

int cmd_parse_args(enum cmd_kind kind, int argc, char **argv, struct sluice_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->kind = kind;
	err_clear();
	if (kind <= CMD_NONE || kind >= CMD_KINDS) {
		cmd->kind = CMD_NONE;
		return cmd_bad("not a write command");
	}
	return cmd_kinds[kind].ops->parse(kind, argc, argv, cmd);
}

/* "--flow-entries N" or "--flow-entries=N" at argv[0]: the words used, 0 none, or -EINVAL. */
static int flow_entries(int argc, char **argv, __u32 *n)
{
	const char *text;
	int used;

	if (argc < 1 || strncmp(argv[0], "--flow-entries", 14))
		return 0;
	if (argv[0][14] == '=') {
		text = argv[0] + 15;
		used = 1;
	} else if (!argv[0][14]) {
		text = argc > 1 ? argv[1] : "";
		used = 2;
	} else {
		return 0;
	}
	if (args_parse_count(text, LOADER_FLOW_ENTRIES_MAX, "--flow-entries", n) ||
	    *n < LOADER_FLOW_ENTRIES_MIN)
		return cmd_bad("--flow-entries needs %u..%u (k and m allowed, e.g. 1m)",
			       LOADER_FLOW_ENTRIES_MIN, LOADER_FLOW_ENTRIES_MAX);
	return used;
}

int cmd_parse(int argc, char **argv, struct sluice_cmd *cmd)
{
	enum cmd_kind kind;
	__u32 flow = 0;
	int i, err;

	memset(cmd, 0, sizeof(*cmd));
	err_clear();
	i = flow_entries(argc, argv, &flow);
	if (i < 0)
		return i;
	if (i >= argc)
		return cmd_bad("missing OBJECT");
	err = cmd_lookup(argv[i], i + 1 < argc ? argv[i + 1] : NULL, &kind);
	if (err) {
		/* The object is known when only the verb is wrong. */
		int o = args_keyword_find(argv[i], objects, sizeof(objects) / sizeof(objects[0]),
					  sizeof(objects[0]), "object");
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", err_msg());
		if (o >= 0) {
			for (kind = 1; kind < CMD_KINDS; kind++)
				if (!strcmp(cmd_kinds[kind].object, objects[o]))
					break;
			cmd->kind = kind;
		}
		err_set("%s", msg);
		return err;
	}
	err = cmd_parse_args(kind, argc - i - 2, argv + i + 2, cmd);
	cmd->flow_entries = flow;
	return err;
}

int cmd_argv_add(struct cmd_argv *out, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (out->argc >= CMD_ARGV_MAX)
		goto full;
	va_start(ap, fmt);
	len = vsnprintf(out->buf + out->used, sizeof(out->buf) - out->used, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(out->buf) - out->used)
		goto full;
	out->argv[out->argc++] = out->buf + out->used;
	out->argv[out->argc] = NULL;
	out->used += (size_t)len + 1;
	return 0;
full:
	err_set("internal error: a command is too long to format");
	return -E2BIG;
}

void cmd_addr_text(const union sluice_addr *a, char *buf, size_t len)
{
	if (addr_format(a, buf, len))
		snprintf(buf, len, "?");
}

void cmd_warn_berev(const struct sluice_maps *m, __u32 svc_id, const struct sluice_backend *be)
{
	struct berev_conflict *cf = NULL;
	struct berev_entry *v = NULL;
	size_t kept, n = 0, i;
	char text[256];

	/* A group of commands (batch, config apply) is checked as a whole: config check. */
	if (publish_deferring() || berev_build(m, NULL, &v, &kept, &cf, &n))
		goto out;
	for (i = 0; i < n; i++) {
		if (cf[i].a.svc_id != svc_id && cf[i].b.svc_id != svc_id)
			continue;
		if (be && (memcmp(&cf[i].key.addr, &be->addr, sizeof(be->addr)) ||
			   (be->port && cf[i].key.port != be->port)))
			continue;
		berev_conflict_text(&cf[i], text, sizeof(text));
		out_warn("%s", text);
	}
out:
	free(cf);
	free(v);
}

int cmd_argv_svc(struct cmd_argv *out, const struct sluice_svc_key *k)
{
	char a[ADDR_STRLEN];
	int err;

	cmd_addr_text(&k->addr, a, sizeof(a));
	err = cmd_argv_add(out, "%s", a);
	if (!err)
		err = cmd_argv_add(out, "%u", ntohs(k->port));
	if (!err)
		err = cmd_argv_add(out, "%s", args_proto_name(k->proto));
	return err;
}

int cmd_argv_ref(struct cmd_argv *out, const struct be_ref *r)
{
	char a[ADDR_STRLEN];
	int err;

	cmd_addr_text(&r->addr, a, sizeof(a));
	err = cmd_argv_add(out, "%s", a);
	if (!err && r->has_port)
		err = cmd_argv_add(out, "port");
	if (!err && r->has_port)
		err = cmd_argv_add(out, "%u", r->port);
	return err;
}

int cmd_format(const struct sluice_cmd *cmd, struct cmd_argv *out)
{
	const struct cmd_kind_info *k;
	int err = 0;

	out->argc = 0;
	out->used = 0;
	out->argv[0] = NULL;
	if (cmd->kind <= CMD_NONE || cmd->kind >= CMD_KINDS) {
		err_set("internal error: not a command");
		return -EINVAL;
	}
	k = &cmd_kinds[cmd->kind];
	if (cmd->flow_entries) {
		err = cmd_argv_add(out, "--flow-entries");
		if (!err)
			err = cmd_argv_add(out, "%u", cmd->flow_entries);
	}
	if (!err)
		err = cmd_argv_add(out, "%s", k->object);
	if (!err)
		err = cmd_argv_add(out, "%s", k->verb);
	if (!err && (k->flags & CMD_F_SVC))
		err = cmd_argv_svc(out, &cmd->svc);
	if (err)
		return err;
	return k->ops->format(cmd, out);
}

void cmd_format_line(const struct sluice_cmd *cmd, char *buf, size_t len)
{
	struct cmd_argv *a = malloc(sizeof(*a));
	size_t used = 0;
	int i;

	if (len)
		buf[0] = 0;
	if (!a || cmd_format(cmd, a)) {
		free(a);
		return;
	}
	for (i = 0; i < a->argc && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? " " : "", a->argv[i]);
	free(a);
}

int cmd_validate(const struct sluice_cmd *cmd)
{
	struct cmd_argv *a = malloc(sizeof(*a));
	struct sluice_cmd *back = malloc(sizeof(*back));
	int err = -ENOMEM;

	if (!a || !back)
		err_set("out of memory");
	else
		err = cmd_format(cmd, a);
	if (!err)
		err = cmd_parse(a->argc, a->argv, back);
	free(a);
	free(back);
	return err;
}

/*
 * The maps cmd_maps_keep() keeps open, and the pin root's directory as it
 * was when they were opened: bpffs changes its mtime whenever a pin under
 * it is created or removed, so an unchanged stat means the same maps. An
 * mtime younger than KEEP_SETTLE_NS is not trusted (timestamps are coarse:
 * a second change in the same tick would not show); such maps serve one
 * command and are opened again for the next.
 */
#define KEEP_SETTLE_NS 50000000LL
static struct {
	int on, trusted;
	struct sluice_maps m;
	struct stat st;
} kept;

void cmd_maps_keep(int on)
{
	if (!kept.on)
		maps_init(&kept.m);
	kept.on = on;
	kept.trusted = 0;
	if (!on)
		maps_close(&kept.m);
}

static int same_dir(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The kept maps of pin_root, reopened unless the pins are as they were. */
static int kept_open(const char *pin_root, int creates, const struct sluice_maps **out)
{
	struct timespec now;
	struct stat st;
	long long age;
	int err;

	if (kept.trusted && !strcmp(kept.m.root, pin_root) && !stat(pin_root, &st) &&
	    same_dir(&st, &kept.st)) {
		*out = &kept.m;
		return 0;
	}
	maps_close(&kept.m);
	kept.trusted = 0;
	if (creates) {
		err = loader_maps_ensure(pin_root);
		if (err)
			return err;
	}
	/* The stat before the open: a change after it shows next time. */
	if (stat(pin_root, &st))
		memset(&st, 0, sizeof(st));
	err = maps_open(&kept.m, pin_root);
	if (err) {
		maps_close(&kept.m);
		return err;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	age = (long long)(now.tv_sec - st.st_mtim.tv_sec) * 1000000000LL +
	      (now.tv_nsec - st.st_mtim.tv_nsec);
	kept.st = st;
	kept.trusted = st.st_ino && age > KEEP_SETTLE_NS;
	*out = &kept.m;
	return 0;
}

int cmd_apply(const char *pin_root, const struct sluice_cmd *cmd)
{
	const struct sluice_maps *mp = NULL;
	const struct cmd_ops *ops;
	struct sluice_maps m;
	int err;

	/* A command built in memory (a config diff) obeys the parser's rules too. */
	err = cmd_validate(cmd);
	if (err)
		return err;
	ops = cmd_kinds[cmd->kind].ops;
	maps_init(&m);
	err_clear();
	/* The flow-table size belongs to the command that creates the maps. */
	if (cmd->flow_entries)
		loader_set_flow_entries(cmd->flow_entries);
	if (ops->apply_root) {
		err = ops->apply_root(pin_root, cmd);
		goto out;
	}
	/* A --flow-entries command creates the maps its own way: no kept maps. */
	if (kept.on && !cmd->flow_entries) {
		err = kept_open(pin_root, cmd_kinds[cmd->kind].flags & CMD_F_CREATES, &mp);
		if (!err)
			err = ops->apply(mp, cmd);
		goto out;
	}
	kept.trusted = 0;
	/* Adding a service or setting the gateway works before any attach. */
	if (cmd_kinds[cmd->kind].flags & CMD_F_CREATES) {
		err = loader_maps_ensure(pin_root);
		if (err)
			goto out;
	}
	err = maps_open(&m, pin_root);
	if (err)
		goto out;
	err = ops->apply(&m, cmd);
out:
	if (cmd->flow_entries)
		loader_set_flow_entries(0);
	maps_close(&m);
	return err;
}

void cmd_usage_report(const char *object, const char *msg)
{
	if (!object)
		out_error("%s (see 'sluice help')", msg);
	else
		out_error("%s (see 'sluice %s help')", msg, object);
}

int cmd_run(const char *pin_root, int argc, char **argv)
{
	struct sluice_cmd cmd;
	int err;

	err = cmd_parse(argc, argv, &cmd);
	if (err) {
		cmd_usage_report(cmd.kind ? cmd_kinds[cmd.kind].object : NULL, err_msg());
		return err;
	}
	err = cmd_apply(pin_root, &cmd);
	if (err)
		out_error("%s", err_text(err));
	return err;
}
