/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The daemon's control protocol: newline-delimited JSON over a Unix
 * SOCK_STREAM socket, one request per line, at most CTL_REQUEST_MAX bytes.
 *
 *   {"argv": ["service", "add", ...], "json": false}      run a write command
 *     -> {"rc": 0, "out": "...", "err": "...", "seq": 12}
 *   {"op": "subscribe"}                                   stream journal records
 *     -> {"seq": 13, "time_ns": ..., "type": "command", "payload": {...}} ...
 *   {"op": "ping"}                                        -> {"rc": 0, "pid": N}
 *   {"op": "compact"}                                     compact the daemon's journal
 *
 * Optional request members (additions to the contract): "pretty" (bool, -p),
 * "pin_root" (string: the client's pin root; the daemon refuses a request
 * for another one). A malformed, oversized or unknown request gets
 * {"rc": 2, "err": "..."} and changes nothing.
 *
 * This module parses and builds the lines and is the client side; the
 * daemon's connection handling lives in tools/sluiced/.
 */
#ifndef SLUICE_CTL_H
#define SLUICE_CTL_H

#include <stddef.h>
#include <linux/types.h>

/* The daemon's control socket when neither --socket nor $SLUICE_SOCKET says. */
#define CTL_SOCKET_DEFAULT "/run/sluice/sluiced.sock"

#define CTL_REQUEST_MAX (64 * 1024)
#define CTL_ARGS_MAX 256
#define CTL_RC_BAD 2 /* rc of a refused request */

enum ctl_op {
	CTL_OP_RUN = 1,	      /* argv: run a command */
	CTL_OP_SUBSCRIBE = 2, /* stream journal records */
	CTL_OP_PING = 3,      /* are you there */
	CTL_OP_COMPACT = 4,   /* fold the daemon's journal into a snapshot */
};

struct ctl_request {
	enum ctl_op op;
	int argc;
	char **argv;	/* argc strings + NULL, owned */
	int json;	/* "json" */
	int pretty;	/* "pretty" */
	char *pin_root; /* "pin_root" or NULL, owned */
};

/*
 * Parse one request line (len bytes, without the newline; need not be
 * NUL-terminated). 0, or -EINVAL / -E2BIG / -ENOMEM with err_set() saying
 * what is wrong; r is then empty. ctl_request_free() accepts an empty r.
 */
int ctl_request_parse(const char *line, size_t len, struct ctl_request *r);
void ctl_request_free(struct ctl_request *r);

/* A request line for argv (with the trailing newline), malloc'd; NULL: no memory. */
char *ctl_request_build(int argc, char **argv, int json, int pretty, const char *pin_root);

struct ctl_reply {
	int rc;
	char *out; /* owned, never NULL after a successful parse */
	char *err; /* owned, never NULL after a successful parse */
	__s64 seq; /* journal seq of the command, -1 if none */
};

/* A reply line (with the newline), malloc'd; seq < 0 leaves "seq" out. */
char *ctl_reply_build(int rc, const char *out, const char *err, __s64 seq);

/* Parse a reply line. 0 or -EINVAL/-ENOMEM. */
int ctl_reply_parse(const char *line, struct ctl_reply *r);
void ctl_reply_free(struct ctl_reply *r);

/*
 * Connect to the daemon's socket at path. A connected fd, or -errno:
 * -ENOENT or -ECONNREFUSED mean no daemon is listening there.
 */
int ctl_connect(const char *path);

/*
 * Send request (one line) over a fresh connection to path and read the
 * reply, waiting at most timeout_ms. 0, -ENOENT/-ECONNREFUSED (no daemon:
 * nothing was sent), or another -errno with err_set().
 */
int ctl_call(const char *path, const char *request, int timeout_ms, struct ctl_reply *r);

/* The socket path: override if set, else $SLUICE_SOCKET if set, else def. */
const char *ctl_socket_path(const char *override, const char *def);

#endif /* SLUICE_CTL_H */
