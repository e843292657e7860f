// SPDX-License-Identifier: GPL-2.0-only
/*
 * The connections of a listening stream socket, shared by the control
 * socket and the metrics endpoint (listener.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "listener.h"

static void on_accept(struct daemon *d, struct loop_src *src, __u32 events)
{
	struct listener *l = (struct listener *)src;
	struct lconn *c;
	int fd;

	(void)events;
	while ((fd = accept4(src->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (l->nconns >= l->max) {
			if (l->refuse)
				l->refuse(fd);
			close(fd);
			continue;
		}
		c = calloc(1, l->size);
		if (!c) {
			close(fd);
			continue;
		}
		c->src.fd = fd;
		c->src.fn = l->on_conn;
		c->deadline = clock_mono_ms() + l->deadline_ms;
		if (loop_add(d, &c->src, EPOLLIN)) {
			close(fd);
			free(c);
			continue;
		}
		c->next = l->conns;
		l->conns = c;
		l->nconns++;
		if (l->admit)
			l->admit(d, c);
	}
}

int listener_send(struct daemon *d, struct lconn *c, const char *buf, size_t len, size_t *off,
		  __u32 wait_events)
{
	while (*off < len) {
		ssize_t n = send(c->src.fd, buf + *off, len - *off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			loop_mod(d, &c->src, wait_events);
			return 0;
		}
		if (n <= 0)
			return -1;
		*off += (size_t)n;
	}
	return 1;
}

int listener_open(struct listener *l, const struct sockaddr *sa, socklen_t len, int backlog)
{
	int fd, one = 1;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	l->listen.fd = fd;
	l->listen.fn = on_accept;
	if (sa->sa_family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, sa, len) || listen(fd, backlog))
		return -errno;
	return 0;
}

void listener_exempt(struct listener *l, struct lconn *c)
{
	if (c->exempt || c->dead)
		return;
	c->exempt = 1;
	l->nconns--;
	l->nexempt++;
}

void listener_drop(struct daemon *d, struct listener *l, struct lconn *c)
{
	struct lconn **p;

	if (c->dead)
		return;
	for (p = &l->conns; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	loop_del(d, &c->src);
	close(c->src.fd);
	c->src.fd = -1;
	c->dead = 1;
	if (c->exempt)
		l->nexempt--;
	else
		l->nconns--;
	c->next = l->graveyard;
	l->graveyard = c;
}

void listener_expire(struct daemon *d, struct listener *l, __u64 now_ms)
{
	struct lconn *c, *next;

	for (c = l->conns; c; c = next) {
		next = c->next;
		if (c->deadline && now_ms >= c->deadline) {
			if (l->name)
				log_msg("debug", "dropping a %s connection past its deadline",
					l->name);
			listener_drop(d, l, c);
		}
	}
	while (l->graveyard) {
		c = l->graveyard;
		l->graveyard = c->next;
		l->free_conn(c);
	}
}

void listener_close(struct daemon *d, struct listener *l)
{
	while (l->conns)
		listener_drop(d, l, l->conns);
	listener_expire(d, l, 0);
	if (l->listen.fd >= 0) {
		loop_del(d, &l->listen);
		close(l->listen.fd);
	}
}
