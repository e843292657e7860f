/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * An epoll set with a timerfd and libcurl's multi socket interface folded
 * into it: the event plumbing the health checks (health.c) and the etcd
 * client (etcd_*.c) share. The owner exposes c->epfd to its caller's loop
 * and dispatches the events itself.
 *
 * Every entry's data.ptr points at a struct whose first member is a struct
 * curlep_tag: the timer (c->timer), libcurl's sockets (struct curlep_sock)
 * and the owner's own sources (its TCP checks), so one switch on tag.kind
 * dispatches them all. A socket libcurl drops during a dispatch may still
 * be in that batch of epoll events: it is only marked dead, skipped, and
 * freed by curlep_free_dead() once the batch is done.
 *
 * Time is milliseconds of CLOCK_MONOTONIC (the timerfd's clock), read by
 * the owner's now_ms. libcurl's timer is only noted (c->due): the owner
 * arms the timerfd for its earliest deadline (curlep_arm()), that one
 * included, and calls curlep_timeout() when it fires.
 */
#ifndef SLUICE_CURLEP_H
#define SLUICE_CURLEP_H

#include <curl/curl.h>
#include <linux/types.h>

/* First member of everything whose address is an epoll event's data.ptr. */
struct curlep_tag {
	int kind; /* the owner's kind of source */
	int dead; /* skip: freed at the end of the dispatch */
};

struct curlep_sock {
	struct curlep_tag tag; /* kind: the curlep's curl kind */
	curl_socket_t fd;
	struct curlep_sock *next_dead;
};

struct curlep {
	int epfd;		 /* the epoll set (-1 before curlep_open()) */
	int tfd;		 /* its timerfd */
	struct curlep_tag timer; /* the timerfd's tag */
	__u64 armed;		 /* the timerfd's deadline, 0: disarmed */
	CURLM *multi;
	int kind;		  /* tag.kind of libcurl's sockets */
	__u64 (*now_ms)(void);	  /* the owner's clock */
	__u64 due;		  /* libcurl's timeout; UINT64_MAX: none */
	struct curlep_sock *dead; /* dropped sockets not freed yet */
};

/* Mark c closed (fds -1), so curlep_close() is safe before or after a failed open. */
void curlep_init(struct curlep *c);

/*
 * Create the epoll set, the timerfd (tag kind timer_kind) and the multi
 * handle (sockets tagged curl_kind); curl_global_init() is the owner's.
 * 0 or -errno (err_set()); curlep_close() cleans up after a failure too.
 */
int curlep_open(struct curlep *c, int timer_kind, int curl_kind, __u64 (*now_ms)(void));

/* curl_multi_cleanup(), close the fds, free what is left. The easy handles are the owner's. */
void curlep_close(struct curlep *c);

/* Arm the timerfd at deadline t (UINT64_MAX: disarm); nothing when unchanged. 0 or -errno. */
int curlep_arm(struct curlep *c, __u64 t);

/* The timerfd fired: read it. 0 or -errno. */
int curlep_timer_read(struct curlep *c);

/* An epoll event (events) on one of libcurl's sockets (t: its data.ptr). */
void curlep_event(struct curlep *c, struct curlep_tag *t, __u32 events);

/* Run libcurl's timer when it is due. */
void curlep_timeout(struct curlep *c);

/* Free the sockets libcurl dropped (after a batch of epoll events). */
void curlep_free_dead(struct curlep *c);

/*
 * Take *easy (NULL: nothing) off c's multi handle and free it, and its
 * request headers *hdrs; both become NULL.
 */
void curlep_drop(struct curlep *c, CURL **easy, struct curl_slist **hdrs);

#endif /* SLUICE_CURLEP_H */
