/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * libcurl's multi socket interface on an epoll set that the caller owns and
 * dispatches: the plumbing the health checks (health.c) and the etcd client
 * (etcd.c) share.
 *
 * Every socket libcurl hands over is added to the caller's epoll set with
 * data.ptr pointing at a struct curlep_sock, whose first member is a
 * struct curlep_tag. The caller's own sources (its timerfd, its TCP checks)
 * start with a struct curlep_tag too, so one switch on tag.kind dispatches
 * them all. A socket libcurl drops during a dispatch may still be in that
 * batch of epoll events: it is only marked dead, skipped, and freed by
 * curlep_free_dead() once the batch is done.
 *
 * libcurl's timer is only noted (c->due); the caller arms its own timer
 * for it and calls curlep_timeout() when it is due.
 */
#ifndef SLUICE_CURLEP_H
#define SLUICE_CURLEP_H

#include <curl/curl.h>
#include <linux/types.h>

/* First member of everything whose address is an epoll event's data.ptr. */
struct curlep_tag {
	int kind; /* the caller's kind of source */
	int dead; /* skip: freed at the end of the dispatch */
};

struct curlep_sock {
	struct curlep_tag tag; /* kind: the curlep's kind */
	curl_socket_t fd;
	struct curlep_sock *next_dead;
};

struct curlep {
	CURLM *multi;
	int epfd;		  /* the caller's epoll set */
	int kind;		  /* tag.kind of libcurl's sockets */
	__u64 (*now_ms)(void);	  /* the caller's clock */
	__u64 due;		  /* libcurl's timeout (now_ms clock); UINT64_MAX: none */
	struct curlep_sock *dead; /* dropped sockets not freed yet */
};

/* A multi handle on epfd (curl_global_init() done by the caller). 0 or -ENOMEM (err_set()). */
int curlep_init(struct curlep *c, int epfd, int kind, __u64 (*now_ms)(void));

/* curl_multi_cleanup() and free what is left. The easy handles are the caller's. */
void curlep_cleanup(struct curlep *c);

/* An epoll event (events) on one of libcurl's sockets (t: its data.ptr). */
void curlep_event(struct curlep *c, struct curlep_tag *t, __u32 events);

/* Run libcurl's timer when it is due. */
void curlep_timeout(struct curlep *c);

/* Free the sockets libcurl dropped (after a batch of epoll events). */
void curlep_free_dead(struct curlep *c);

#endif /* SLUICE_CURLEP_H */
