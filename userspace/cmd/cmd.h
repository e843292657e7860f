/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The write commands as a library type: the grammar every writer of the
 * desired state shares (the sluice CLI, the daemon, its journal, the config
 * diff). A command is OBJECT VERB ARGS on the command line and a struct
 * sluice_cmd in memory:
 *
 *   cmd_parse()   argv -> cmd; every rule that needs no map is checked here,
 *                 errors through err_set() with the CLI's words
 *   cmd_format()  cmd -> argv, canonical (full keywords, fixed order), so
 *                 format(parse(format(c))) == format(c)
 *   cmd_apply()   performs it on the pins under a root and prints the result
 *                 (text or JSON) through the out_* printers (out.h)
 *
 * Read commands (show, stats, ...) are not commands here: they stay in the
 * tools. cmd_kinds[] is the table of the kinds, as data: who needs to know
 * whether a command line is a write looks it up there.
 */
#ifndef SLUICE_CMD_H
#define SLUICE_CMD_H

#include <stddef.h>
#include <linux/types.h>

#include "backend.h"
#include "gateway.h"
#include "leader.h"
#include "loader.h"
#include "loader_host.h"
#include "maps.h"
#include "res.h"
#include "shard.h"
#include "svc.h"

enum cmd_kind {
	CMD_NONE = 0,
	CMD_IFACE_ATTACH,
	CMD_IFACE_DETACH,
	CMD_SERVICE_ADD,
	CMD_SERVICE_SET,
	CMD_SERVICE_DEL,
	CMD_BACKEND_ADD,
	CMD_BACKEND_SET,
	CMD_BACKEND_DRAIN,
	CMD_BACKEND_ACTIVATE,
	CMD_BACKEND_DEL,
	CMD_SHARD_ADD,
	CMD_SHARD_DEL,
	CMD_GATEWAY_SET,
	CMD_BULKHEAD_SET,
	CMD_BREAKER_TRIP,
	CMD_BREAKER_RESET,
	CMD_LEADER_SET,
	CMD_HOST_ATTACH,
	CMD_HOST_DETACH,
	CMD_KINDS
};

/* Flags of a kind. */
enum {
	CMD_F_SVC = 1 << 0,	/* names a service (cmd.svc) */
	CMD_F_CREATES = 1 << 1, /* creates the pinned maps when they are missing */
	CMD_F_MAPS = 1 << 2,	/* changes map content (rebuilt from a journal replay) */
};

struct cmd_ops;

struct cmd_kind_info {
	const char *object;	   /* "service" */
	const char *verb;	   /* "add" */
	unsigned int flags;	   /* CMD_F_* */
	const struct cmd_ops *ops; /* the object's parser, formatter, applier (internal) */
};

/* Indexed by enum cmd_kind; [CMD_NONE] has NULL names. */
extern const struct cmd_kind_info cmd_kinds[CMD_KINDS];

#define CMD_DEV_MAX 64	      /* interface name as given, NUL included */
#define CMD_CRITICAL_MAX 4096 /* critical list as given, NUL included */
#define CMD_PREFIX_MAX 128    /* shard prefix as given, NUL included */
#define CMD_CGROUP_MAX 232    /* cgroup path as given, NUL included (SLUICE_HOST_PATH_MAX) */
#define CMD_HOST_SVC_MAX 32   /* services listed by one host attach */

struct sluice_cmd {
	enum cmd_kind kind;
	__u32 flow_entries;	   /* --flow-entries N given with it; 0: none */
	struct sluice_svc_key svc; /* CMD_F_SVC kinds */
	union {
		struct {
			char dev[CMD_DEV_MAX];
			struct loader_attach_opts opts;
		} iface; /* attach, detach */
		struct {
			struct svc_conf conf; /* conf.res.critical unused: see critical */
			char critical[CMD_CRITICAL_MAX];
		} service; /* add, set (del: the key only) */
		struct {
			struct be_ref ref;
			int has_weight;
			__u32 weight;
		} backend; /* add, set, drain, activate, del; breaker trip, reset */
		struct {
			char prefix[CMD_PREFIX_MAX]; /* parsed by the library with the service */
			struct shard_target target;  /* add */
		} shard;
		struct gateway_conf gateway;
		struct {
			int has_max_conns;
			__u32 max_conns;
			int has_tcp_idle;
			__u32 tcp_idle_s;
		} bulkhead;
		struct {
			int has_ref; /* 0: none */
			struct be_ref ref;
			__u8 source; /* enum sluice_leader_source */
		} leader;
		struct {
			char cgroup[CMD_CGROUP_MAX];
			size_t nsvc; /* 0: every service */
			struct sluice_svc_key svcs[CMD_HOST_SVC_MAX];
		} host; /* attach, detach (cgroup only) */
	};
};

/*
 * The kind of "OBJECT VERB" (unique prefixes accepted, among the write
 * commands). -EINVAL with a message when object or verb is unknown or
 * ambiguous; *kind CMD_NONE then.
 */
int cmd_lookup(const char *object, const char *verb, enum cmd_kind *kind);

/*
 * argv = [--flow-entries N] OBJECT VERB ARGS (no other global option).
 * 0, or -EINVAL with the message the CLI prints (without its pointer to
 * help); cmd->kind is set as soon as OBJECT VERB is known (CMD_NONE before).
 */
int cmd_parse(int argc, char **argv, struct sluice_cmd *cmd);

/* The ARGS of a command of kind (after OBJECT VERB), as cmd_parse(). */
int cmd_parse_args(enum cmd_kind kind, int argc, char **argv, struct sluice_cmd *cmd);

/* "ADDR PORT PROTO" from argv[0..2]; -EINVAL with the CLI's message. */
int cmd_parse_svc_key(int argc, char **argv, struct sluice_svc_key *key);

/* An argv built by cmd_format(): argv[argc] is NULL, strings in buf. */
#define CMD_ARGV_MAX 96
#define CMD_TEXT_MAX 8192
struct cmd_argv {
	int argc;
	char *argv[CMD_ARGV_MAX + 1];
	size_t used;
	char buf[CMD_TEXT_MAX];
};

/* cmd as argv (with --flow-entries N first when set). 0 or -E2BIG/-EINVAL. */
int cmd_format(const struct sluice_cmd *cmd, struct cmd_argv *out);

/*
 * Check a command built in memory against every rule that needs no map (as
 * cmd_parse() does for a command line). 0 or -EINVAL with the message.
 */
int cmd_validate(const struct sluice_cmd *cmd);

/* cmd_format() into one line, words separated by spaces ("" when it fails). */
void cmd_format_line(const struct sluice_cmd *cmd, char *buf, size_t len);

/*
 * Perform cmd on the pins under pin_root (the maps opened for it, or
 * created first for CMD_F_CREATES kinds) and print what changed, as the
 * CLI does, through out_*. 0, or -errno with err_msg() set; nothing is
 * printed on failure (the caller reports it, cmd_report()).
 */
int cmd_apply(const char *pin_root, const struct sluice_cmd *cmd);

/*
 * For a long-lived writer (the daemon): on, cmd_apply() keeps the maps it
 * opened for the next command, for as long as no pin under the pin root
 * was created or removed (then it opens them again); off closes them.
 */
void cmd_maps_keep(int on);

/*
 * Parse and apply argv (as cmd_parse()), reporting a failure through
 * out_error() in the CLI's words: a usage error with its pointer to
 * "sluice OBJECT help", a failure of the maps as the library says it.
 * 0 or -errno. The caller has begun the output (out_start()).
 */
int cmd_run(const char *pin_root, int argc, char **argv);

/* Report a usage error of object (NULL: the whole line) through out_error(). */
void cmd_usage_report(const char *object, const char *msg);

/*
 * Printers shared with the tools' show commands (text line or JSON
 * object under key).
 */
/* A service record; m, when not NULL, adds its Maglev size, backends and settings. */
void cmd_print_service(const char *key, const struct sluice_svc_key *k, const struct sluice_svc *s,
		       int write_port, const struct sluice_maps *m);
/*
 * The start of a service's line or object (id, address, port, proto; named:
 * the text says "service ID:"), left open for the caller's fields.
 */
void cmd_open_service(const char *key, const struct sluice_svc_key *k, __u32 id, int named);
/* A service's critical prefixes: the JSON array "critical", in text " critical P,P". */
void cmd_print_critical(const struct sluice_shard_key *crit, size_t n);
/*
 * A backend. with_counters adds slots, counters and health (health -1: "-",
 * else up 1 or down 0 with why); is_leader 1 when it is its service's
 * leader, -1 unknown (not shown).
 */
void cmd_print_backend(const char *key, const struct backend_info *it, int with_counters,
		       int health, const char *why, int is_leader);
/*
 * The start of a backend's line or object (its service, id, address and
 * port), left open for the caller's fields; the caller ends it with
 * out_text("\n") and out_close_obj().
 */
void cmd_open_backend(const char *key, const struct backend_info *it);
void cmd_print_shard(const char *key, const struct shard_info *it);
/* A service's leader; previous (may be NULL) for `leader set`. */
void cmd_print_leader(const char *key, const struct leader_info *l,
		      const struct leader_info *previous);
void cmd_print_gateway(const char *key, const struct sluice_config *c);
void cmd_print_iface(const char *key, const struct loader_iface *it);

/* An iface hook's name (xdp, tc, tc-egress) to the hook: 0, or -EINVAL (no message). */
int cmd_parse_hook(const char *text, enum loader_hook *hook);
const char *cmd_hook_name(enum loader_hook hook);
void cmd_print_host(const char *key, const struct loader_host *h);

#endif /* SLUICE_CMD_H */
