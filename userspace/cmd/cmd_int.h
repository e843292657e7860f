/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside the command module: each object's parser, formatter and applier
 * (cmd_service.c, cmd_backend.c, cmd_shard.c, cmd_leader.c, cmd_gateway.c,
 * cmd_host.c)
 * and the helpers they share (cmd.c). Not for use outside userspace/cmd/.
 */
#ifndef SLUICE_CMD_INT_H
#define SLUICE_CMD_INT_H

#include "cmd.h"

/* err_set(fmt...) and return -EINVAL: a usage error. */
int cmd_bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Append one formatted word to out; -E2BIG (message set) when it does not fit. */
int cmd_argv_add(struct cmd_argv *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "ADDR PORT PROTO" of cmd->svc. */
int cmd_argv_svc(struct cmd_argv *out, const struct sluice_svc_key *k);

/* "ADDR" and, with a port, "port N". */
int cmd_argv_ref(struct cmd_argv *out, const struct be_ref *r);

/*
 * "SERVICE WORD ...": the service key into svc; -EINVAL with the message
 * when the key is bad or argv[3] (named by missing: "PREFIX") is not there.
 */
int cmd_parse_svc_then(const char *what, const char *missing, int argc, char **argv,
		       struct sluice_svc_key *svc);

/* A keyword of "KEYWORD VALUE" options and its value's name in the grammar. */
struct cmd_keyword {
	const char *name;  /* "port" */
	const char *value; /* "BPORT" */
};

/*
 * The keyword at argv[i] of options "KEYWORD VALUE..." (what names the
 * command in messages: "backend add"): its index in kws[n], counted in
 * seen[]. -EINVAL with the message when it is unknown, given twice or has
 * no value after it.
 */
int cmd_keyword(const char *what, const struct cmd_keyword *kws, size_t n, int argc, char **argv,
		int i, int *seen);
#define CMD_KEYWORD(what, kws, argc, argv, i, seen) \
	cmd_keyword(what, kws, sizeof(kws) / sizeof((kws)[0]), argc, argv, i, seen)

/*
 * Warn about every backend of service svc_id (be: that one only; NULL:
 * all) whose replies the stateless nat return path cannot translate
 * (berev.h: shared with another service address or port). Nothing within
 * a deferred group of commands.
 */
void cmd_warn_berev(const struct sluice_maps *m, __u32 svc_id, const struct sluice_backend *be);

/* "ADDR", or "?" when it does not format. */
void cmd_addr_text(const union sluice_addr *a, char *buf, size_t len);

/*
 * One object's part of the grammar: parse the ARGS of a command of kind,
 * format them back, apply on the open maps m. apply_root instead of apply:
 * the object handles the pins under pin_root itself (iface, host).
 */
struct cmd_ops {
	int (*parse)(enum cmd_kind kind, int argc, char **argv, struct sluice_cmd *cmd);
	int (*format)(const struct sluice_cmd *cmd, struct cmd_argv *out);
	int (*apply)(const struct sluice_maps *m, const struct sluice_cmd *cmd);
	int (*apply_root)(const char *pin_root, const struct sluice_cmd *cmd);
};

/* cmd_gateway_ops: gateway set and bulkhead set; cmd_backend_ops: breaker trip, reset too. */
extern const struct cmd_ops cmd_iface_ops, cmd_service_ops, cmd_backend_ops, cmd_shard_ops,
	cmd_leader_ops, cmd_gateway_ops, cmd_host_ops;

#endif /* SLUICE_CMD_INT_H */
