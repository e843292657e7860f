/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside the command module: each object's parser, formatter and applier
 * (cmd_service.c, cmd_backend.c, cmd_shard.c, cmd_leader.c, cmd_gateway.c)
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

/* "ADDR", or "?" when it does not format. */
void cmd_addr_text(const union sluice_addr *a, char *buf, size_t len);

/* Per object: parse ARGS of kind, format them, apply on open maps m. */
int cmd_iface_parse(enum cmd_kind kind, int argc, char **argv, struct sluice_cmd *cmd);
int cmd_iface_format(const struct sluice_cmd *cmd, struct cmd_argv *out);
int cmd_iface_apply(const char *pin_root, const struct sluice_cmd *cmd);

int cmd_host_parse(enum cmd_kind kind, int argc, char **argv, struct sluice_cmd *cmd);
int cmd_host_format(const struct sluice_cmd *cmd, struct cmd_argv *out);
int cmd_host_apply(const char *pin_root, const struct sluice_cmd *cmd);

int cmd_service_parse(enum cmd_kind kind, int argc, char **argv, struct sluice_cmd *cmd);
int cmd_service_format(const struct sluice_cmd *cmd, struct cmd_argv *out);
int cmd_service_apply(const struct sluice_maps *m, const struct sluice_cmd *cmd);

int cmd_backend_parse(enum cmd_kind kind, int argc, char **argv, struct sluice_cmd *cmd);
int cmd_backend_format(const struct sluice_cmd *cmd, struct cmd_argv *out);
int cmd_backend_apply(const struct sluice_maps *m, const struct sluice_cmd *cmd);

int cmd_shard_parse(enum cmd_kind kind, int argc, char **argv, struct sluice_cmd *cmd);
int cmd_shard_format(const struct sluice_cmd *cmd, struct cmd_argv *out);
int cmd_shard_apply(const struct sluice_maps *m, const struct sluice_cmd *cmd);

int cmd_leader_parse(enum cmd_kind kind, int argc, char **argv, struct sluice_cmd *cmd);
int cmd_leader_format(const struct sluice_cmd *cmd, struct cmd_argv *out);
int cmd_leader_apply(const struct sluice_maps *m, const struct sluice_cmd *cmd);

/* gateway set, bulkhead set */
int cmd_gateway_parse(enum cmd_kind kind, int argc, char **argv, struct sluice_cmd *cmd);
int cmd_gateway_format(const struct sluice_cmd *cmd, struct cmd_argv *out);
int cmd_gateway_apply(const struct sluice_maps *m, const struct sluice_cmd *cmd);

#endif /* SLUICE_CMD_INT_H */
