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
 *   {"op": "apply", "name": "/etc/x.yaml", "size": N}     apply a configuration:
 *     the line is followed by exactly N bytes, the file's content (the
 *     client reads it with its own permissions; the daemon never opens a
 *     path a client names), N <= CTL_BODY_MAX
 *     -> {"rc": 0, "out": "...", "err": "..."}
 *
 * Optional request members (additions to the contract): "pretty" (bool, -p),
 * "pin_root" (string: the client's pin root; the daemon refuses a request
 * for another one), "batch" (bool, `sluice -b`: once a batch request of
 * the connection has failed, every later one is skipped, not applied, and
 * answered rc 1). Requests that arrive together are journaled with one
 * fdatasync (group commit); each is answered only once it is durable. A malformed, oversized or unknown request gets
 * {"rc": 2, "err": "..."} and changes nothing.
 *
 * This module parses and builds the lines and is the client side; the
 * daemon's connection handling lives in tools/sluiced/.
 */
#ifndef SLUICE_CTL_H
#define SLUICE_CTL_H

#include <sys/types.h>

#include <stddef.h>
#include <linux/types.h>

/* The daemon's control socket when neither --socket nor $SLUICE_SOCKET says. */
#define CTL_SOCKET_DEFAULT "/run/sluice/sluiced.sock"

#define CTL_REQUEST_MAX (64 * 1024)
#define CTL_ARGS_MAX 256
#define CTL_RC_BAD 2 /* rc of a refused request */
/* The largest body (an "apply" request's configuration): CONFIG_SIZE_MAX. */
#define CTL_BODY_MAX (4u << 20)
/* The longest "name" of an apply request. */
#define CTL_NAME_MAX 4096

enum ctl_op {
	CTL_OP_RUN = 1,	      /* argv: run a command */
	CTL_OP_SUBSCRIBE = 2, /* stream journal records */
	CTL_OP_PING = 3,      /* are you there */
	CTL_OP_COMPACT = 4,   /* fold the daemon's journal into a snapshot */
	CTL_OP_APPLY = 5,     /* apply the configuration that follows the line */
};

/*
 * Who may do what (HAProxy's socket levels): the daemon gives every
 * connection a role from its peer's credentials (SO_PEERCRED) and refuses
 * an op that needs more, changing nothing.
 */
enum ctl_role {
	CTL_ROLE_NONE = 0,  /* neither: every op refused */
	CTL_ROLE_READ = 1,  /* group sluice: ping, subscribe (events) */
	CTL_ROLE_ADMIN = 2, /* root or the admin group: every op, writes and compact too */
};

/* The role op needs. */
enum ctl_role ctl_op_role(enum ctl_op op);
/* "none", "read", "admin". */
const char *ctl_role_name(enum ctl_role role);
/* What op does, for messages: "write commands", "config apply", ... */
const char *ctl_op_what(enum ctl_op op);

struct ctl_request {
	enum ctl_op op;
	int argc;
	char **argv;	/* argc strings + NULL, owned */
	int json;	/* "json" */
	int pretty;	/* "pretty" */
	int batch;	/* "batch" */
	char *pin_root; /* "pin_root" or NULL, owned */
	char *name;	/* "name" of an apply (printable, for messages), owned */
	size_t size;	/* "size" of an apply: body bytes after the line */
};

/*
 * Parse one request line (len bytes, without the newline; need not be
 * NUL-terminated). 0, or -EINVAL / -E2BIG / -ENOMEM with err_set() saying
 * what is wrong; r is then empty. ctl_request_free() accepts an empty r.
 */
int ctl_request_parse(const char *line, size_t len, struct ctl_request *r);
void ctl_request_free(struct ctl_request *r);

/* A request line for argv (with the trailing newline), malloc'd; NULL: no memory. */
char *ctl_request_build(int argc, char **argv, int json, int pretty, const char *pin_root,
			int batch);

/* The line of an apply request (name, size bytes to follow), malloc'd; NULL: no memory. */
char *ctl_apply_build(const char *name, size_t size, const char *pin_root);

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

/* The same with body_len bytes of body sent after the request line. */
int ctl_call_body(const char *path, const char *request, const void *body, size_t body_len,
		  int timeout_ms, struct ctl_reply *r);

/*
 * The daemon's lock, "<socket path>.lock": sluiced takes it (flock) before
 * anything else and holds it for its whole life, with its pid inside, so a
 * second daemon on the same socket refuses to start, and a client that
 * finds no socket can tell a daemon still starting (the socket is bound
 * only once the configuration is applied) from no daemon at all.
 */

/*
 * Take the lock of socket_path: its fd (keep it open), or -EWOULDBLOCK
 * with *holder set to the pid of the daemon holding it, or another -errno
 * with err_set(). The file is created mode 0640.
 */
int ctl_lock_take(const char *socket_path, pid_t *holder);

/* 1 when a daemon holds socket_path's lock (*pid: its pid, 0 if unknown), else 0. */
int ctl_lock_held(const char *socket_path, pid_t *pid);

/* The socket path: override if set, else $SLUICE_SOCKET if set, else def. */
const char *ctl_socket_path(const char *override, const char *def);

#endif /* SLUICE_CTL_H */
