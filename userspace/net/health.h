/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Active health checks of backends: TCP connect and HTTP(S) GET, driven by
 * the caller's event loop. No thread, no blocking call: the module owns one
 * epoll set (its TCP sockets, libcurl's sockets through the multi socket
 * interface, one timerfd) and exposes it as one fd; the caller watches that
 * fd and calls health_dispatch() when it is readable.
 *
 * One check per backend (identified by the caller's backend id), HAProxy
 * style: a check every interval_ms, each bounded by timeout_ms; rise
 * consecutive successes turn a down backend up, fall consecutive failures
 * turn an up backend down; every transition is reported to the callback
 * with the reason of the result that caused it.
 *
 * Start state (HAProxy's default, init-state "up"): a new check starts UP
 * with only one failure needed to take it down (HAProxy's health counter
 * starts at rise); a success first makes it fully up (fall failures then
 * needed). The daemon adopts backends that already take traffic, and
 * starting them down would pull every backend out of the tables at each
 * restart until rise checks passed; a backend that is really dead is
 * taken out by its first check. conf.start_down = 1 starts DOWN instead
 * (HAProxy's "fully-down": rise successes needed), for backends that
 * should prove themselves before they get traffic. No transition is
 * reported for the start state.
 *
 * Scheduling: fixed rate. A check's first run is spread over its first
 * interval by its id (health_spread_ms(): the fractional part of
 * id * golden ratio, so consecutive ids land far apart and N backends are
 * never checked in one burst); afterwards every interval_ms after the
 * previous start, or at once when a check overran its slot.
 *
 * Reasons (what `sluice backend show` prints): success "connected" (tcp) or
 * "HTTP 200" (the status); failures "connection refused", "timeout after
 * 1000 ms", "no route", "connection reset", "HTTP 503", "body mismatch",
 * "empty reply", "TLS: ...", or "connect: <strerror>" for anything else.
 *
 * HTTP(S): GET scheme://ADDR:PORT/PATH (or //HOST:PORT/PATH connected to
 * ADDR:PORT when a host is set, so Host and TLS SNI carry the name; no DNS
 * lookup ever), HTTP/1.1, no proxy (environment ignored), no redirects, a
 * fresh connection per check. Success: the status is in the expected ranges
 * (default 200-399) and, when conf.body is set, the body's first
 * HEALTH_BODY_MAX bytes contain it. The transfer is cut as soon as the
 * answer is known (after the headers without a body match), so a large or
 * slow body does not hold a check. HTTPS verifies the peer certificate only
 * with conf.tls_verify = 1: health checks usually address backends by IP,
 * which their certificates do not name.
 *
 * Time: health_dispatch() takes now in milliseconds of CLOCK_MONOTONIC
 * (clock_mono_ms()); the timerfd is armed on that clock.
 */
#ifndef SLUICE_HEALTH_H
#define SLUICE_HEALTH_H

#include <stddef.h>
#include <linux/types.h>
#include "sluice_abi.h"

#define HEALTH_DEF_INTERVAL_MS 2000
#define HEALTH_DEF_TIMEOUT_MS 1000
#define HEALTH_DEF_RISE 2
#define HEALTH_DEF_FALL 3
#define HEALTH_CODES_MAX 16    /* expected status ranges per check */
#define HEALTH_PATH_MAX 256    /* path, NUL included */
#define HEALTH_HOST_MAX 254    /* host name, NUL included */
#define HEALTH_BODYSUB_MAX 256 /* body substring, NUL included */
#define HEALTH_BODY_MAX 16384  /* body bytes searched for the substring */
#define HEALTH_WHY_MAX 64      /* reason text, NUL included */

enum health_type {
	HEALTH_TCP = 1, /* TCP connect */
	HEALTH_HTTP,	/* HTTP GET */
	HEALTH_HTTPS,	/* HTTP GET over TLS */
};

/* An expected status range, inclusive. */
struct health_codes {
	__u16 lo, hi;
};

/* What to check and how often. health_conf_init() gives the defaults. */
struct health_conf {
	enum health_type type;
	union sluice_addr addr;	       /* target, IPv4 v4-mapped or IPv6 */
	__u16 port;		       /* target port, host order, != 0 */
	char path[HEALTH_PATH_MAX];    /* http(s): request path, "/" by default */
	char host[HEALTH_HOST_MAX];    /* http(s): Host header and SNI ("" = the address) */
	char body[HEALTH_BODYSUB_MAX]; /* http(s): substring the body must contain ("" = none) */
	struct health_codes codes[HEALTH_CODES_MAX]; /* http(s): expected statuses */
	unsigned int ncodes;			     /* 0 = 200-399 */
	__u32 interval_ms;			     /* between check starts, >= 10 */
	__u32 timeout_ms;			     /* one check's bound, >= 1 */
	__u32 rise;				     /* successes that turn it up, >= 1 */
	__u32 fall;				     /* failures that turn it down, >= 1 */
	int start_down;				     /* 1: start down (rise needed) */
	int tls_verify;				     /* https: verify certificate and name */
};

/* A check's state, as health_status() reports it. */
struct health_status {
	int up;				 /* 1 up, 0 down */
	__u32 successes;		 /* consecutive successes */
	__u32 failures;			 /* consecutive failures */
	int last_ok;			 /* last result: 1 success, 0 failure, -1 none yet */
	char why[HEALTH_WHY_MAX];	 /* the last result's reason ("" before the first) */
	char change_why[HEALTH_WHY_MAX]; /* the reason of the last transition ("" none) */
	__u64 last_check_ms;		 /* when the last result came (0: none yet) */
	__u32 last_duration_ms;		 /* how long the last check took */
	__u64 since_ms;			 /* last transition, or when the check was added */
	__u64 checks;			 /* checks completed */
	__u64 checks_failed;		 /* of them, failed */
};

/* Called for every transition: backend id, new state, the reason of the result that caused it. */
typedef void (*health_change_fn)(void *ctx, __u32 backend, int up, const char *why);

struct health;

/* Defaults: tcp, path "/", 200-399, 2000 ms, 1000 ms, rise 2, fall 3, start up. */
void health_conf_init(struct health_conf *c);

/* Validate c (0, or -EINVAL with err_set() saying what is wrong). */
int health_conf_check(const struct health_conf *c);

/* "tcp" | "http" | "https" <-> enum health_type (parse: 0 or -EINVAL). */
const char *health_type_name(enum health_type t);
int health_parse_type(const char *text, enum health_type *t);

/* Expected statuses from "200-299,404" (ranges or single codes, 100-599, at most HEALTH_CODES_MAX). */
int health_parse_codes(const char *text, struct health_conf *c);

/* A checker with its epoll set and timerfd; on_change may be NULL. -errno. */
int health_new(struct health **h, health_change_fn on_change, void *ctx);

/* Stop every check, close every fd. NULL-safe. */
void health_free(struct health *h);

/* Add the check of backend (-EEXIST if it has one, -EINVAL for a bad conf). */
int health_add(struct health *h, __u32 backend, const struct health_conf *c);

/*
 * Replace the conf of backend's check (-ENOENT if none). The state (up or
 * down, consecutive counts) is kept; a check in flight is abandoned when
 * the target changed; the next check keeps its slot unless the interval
 * changed (then it is spread again).
 */
int health_update(struct health *h, __u32 backend, const struct health_conf *c);

/* Remove backend's check, abandoning one in flight (-ENOENT if none). Safe in the callback. */
int health_del(struct health *h, __u32 backend);

/* The check's state (-ENOENT if none). */
int health_status(const struct health *h, __u32 backend, struct health_status *st);

/* Checks configured. */
size_t health_count(const struct health *h);

/* The one fd to watch for readability (an epoll fd). */
int health_fd(const struct health *h);

/*
 * Do whatever is ready or due at now_ms: socket events, finished checks
 * (the callback runs here), timeouts, checks to start. Never blocks.
 * Returns 0 or -errno of a broken epoll set or timerfd.
 */
int health_dispatch(struct health *h, __u64 now_ms);

/* --- The pure part: rise/fall arithmetic and scheduling (no I/O, no clock) --- */

/*
 * HAProxy's health counter: 0..rise+fall-1; up while >= rise. A success
 * when down adds one (reaching rise: up, and the counter jumps to the top);
 * a success when up goes to the top. A failure when up takes one off
 * (dropping below rise: down, counter 0); a failure when down goes to 0.
 */
struct health_fsm {
	__u32 rise, fall;
	__u32 health;	 /* the counter */
	int up;		 /* 1 up, 0 down */
	__u32 successes; /* consecutive, for display */
	__u32 failures;	 /* consecutive, for display */
	__u64 since_ms;	 /* last transition, or start */
};

/* Start up with fall - 1 failures pending (start_down 0) or down (start_down 1). */
void health_fsm_init(struct health_fsm *f, __u32 rise, __u32 fall, int start_down, __u64 now_ms);

/* One result; 1 when up changed (since_ms = now_ms), else 0. */
int health_fsm_record(struct health_fsm *f, int ok, __u64 now_ms);

/* New rise/fall keeping the state: the counter is clamped into the new range. */
void health_fsm_retune(struct health_fsm *f, __u32 rise, __u32 fall);

/* Offset of id's first check within an interval, in [0, interval_ms). */
__u32 health_spread_ms(__u32 id, __u32 interval_ms);

/* Start time of the check after the one due at prev_due, which ended at now. */
__u64 health_next_due(__u64 prev_due, __u32 interval_ms, __u64 now_ms);

#endif /* SLUICE_HEALTH_H */
