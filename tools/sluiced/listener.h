/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The connections of a listening stream socket, shared by the control
 * socket (control.c) and the metrics endpoint (http.c): accept them
 * non-blocking up to a limit, each with a deadline; close them; drop those
 * past their deadline. A closed connection is never freed while an epoll
 * batch may still point at it: it goes to a graveyard freed on the next tick.
 */
#ifndef SLUICED_LISTENER_H
#define SLUICED_LISTENER_H

#include <stddef.h>
#include <sys/socket.h>
#include <linux/types.h>

#include "sluiced.h"

/* The start of every connection struct of a listener. */
struct lconn {
	struct loop_src src; /* first: the loop hands us &src */
	struct lconn *next;
	__u64 deadline; /* 0: none */
	int dead;	/* closed; freed on the next tick */
	int exempt;	/* not counted against max (listener_exempt) */
};

struct listener {
	struct loop_src listen; /* first: the loop hands us &listen */
	struct lconn *conns;
	struct lconn *graveyard;
	int nconns;  /* counted against max */
	int nexempt; /* open but exempt from max */
	/* set by the owner before listener_open() */
	int max;	   /* connections at once; more are refused */
	size_t size;	   /* of a connection struct, which starts with a struct lconn */
	__u64 deadline_ms; /* a new connection's deadline */
	const char *name;  /* for the debug log of expired connections, or NULL */
	void (*on_conn)(struct daemon *d, struct loop_src *src, __u32 events);
	void (*refuse)(int fd); /* tell a refused client why, or NULL */
	/* a new connection, in the loop: 0, or -1 when it closed it (NULL: none) */
	int (*admit)(struct daemon *d, struct lconn *c);
	void (*free_conn)(struct lconn *c); /* free a closed connection */
};

/*
 * Listen on sa (a non-blocking, close-on-exec stream socket; SO_REUSEADDR
 * unless AF_UNIX) with backlog; listen.fd is set as soon as the socket
 * exists. Not yet in the loop: the caller adds &l->listen. 0 or -errno.
 */
int listener_open(struct listener *l, const struct sockaddr *sa, socklen_t len, int backlog);
/*
 * c no longer counts against l->max but in l->nexempt (the owner bounds
 * those itself): subscribers of the control socket, so they never lock
 * other clients out.
 */
void listener_exempt(struct listener *l, struct lconn *c);
/* Close c (it goes to the graveyard). */
void listener_drop(struct daemon *d, struct listener *l, struct lconn *c);
/* Drop connections past their deadline; free the graveyard. */
void listener_expire(struct daemon *d, struct listener *l, __u64 now_ms);
/*
 * Send buf[*off..len) on c without blocking, *off advanced. 1: all sent;
 * 0: the socket is full, c now waits for wait_events (EPOLLOUT with or
 * without EPOLLIN); -1: the peer is gone or failed (the caller closes c).
 */
int listener_send(struct daemon *d, struct lconn *c, const char *buf, size_t len, size_t *off,
		  __u32 wait_events);
/* Close every connection and the listening socket. */
void listener_close(struct daemon *d, struct listener *l);

#endif /* SLUICED_LISTENER_H */
