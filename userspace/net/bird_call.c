// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A command on BIRD's control socket driven by the caller's event loop
 * (bird.h struct bird_call): every socket call is non-blocking, so a BIRD
 * that accepts and never answers costs sluiced nothing but the deadline it
 * set, after which the call is dropped and reported (timed out).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bird.h"
#include "err.h"

enum { CALL_CONNECT = 1, CALL_GREET, CALL_SEND, CALL_REPLY };

void bird_call_init(struct bird_call *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void bird_call_reset(struct bird_call *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	bird_call_init(c);
}

/* The message of a failed call, and the call reset. */
static int call_fail(struct bird_call *c, int err, const char *what)
{
	if (c->phase == CALL_CONNECT && what == NULL)
		err_set("cannot reach BIRD at %s: %s (is bird running with -s %s?)", c->socket,
			strerror(-err), c->socket);
	else
		err_set("BIRD at %s: '%.*s': %s", c->socket, (int)strcspn(c->cmd, "\n"), c->cmd,
			what ? what : strerror(-err));
	bird_call_reset(c);
	return err;
}

int bird_call_start(struct bird_call *c, const char *path, const char *cmd, __u64 now_ms,
		    int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(cmd);
	int err;

	bird_call_reset(c);
	snprintf(c->socket, sizeof(c->socket), "%s", path);
	if (strlen(path) >= sizeof(sa.sun_path) || strlen(path) >= sizeof(c->socket)) {
		err_set("BIRD socket path %s too long", path);
		return -ENAMETOOLONG;
	}
	if (n + 2 > sizeof(c->cmd)) {
		err_set("BIRD command too long");
		return -E2BIG;
	}
	memcpy(c->cmd, cmd, n);
	c->cmd[n] = '\n';
	c->cap = 8192;
	c->buf = malloc(c->cap);
	if (!c->buf) {
		err_set("out of memory");
		return -ENOMEM;
	}
	c->buf[0] = 0;
	c->deadline_ms = now_ms + (__u64)timeout_ms;
	memcpy(sa.sun_path, path, strlen(path));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		err = -errno;
		err_set("socket: %s", strerror(-err));
		bird_call_reset(c);
		return err;
	}
	c->phase = CALL_CONNECT;
	/* A Unix socket connects at once, or EAGAIN when BIRD's backlog is full. */
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS &&
	    errno != EAGAIN)
		return call_fail(c, -errno, NULL);
	return 0;
}

__u32 bird_call_events(const struct bird_call *c)
{
	if (c->fd < 0)
		return 0;
	return c->phase == CALL_CONNECT || c->phase == CALL_SEND ? EPOLLOUT : EPOLLIN;
}

/* Read what is there; 1 when a whole reply is in. */
static int call_read(struct bird_call *c)
{
	for (;;) {
		ssize_t r;

		if (bird_reply_done(c->buf, c->len, &c->code))
			return 1;
		if (c->cap - c->len < 4096) {
			char *nb;

			if (c->cap >= (1u << 24))
				return -E2BIG;
			nb = realloc(c->buf, c->cap * 2);
			if (!nb)
				return -ENOMEM;
			c->buf = nb;
			c->cap *= 2;
		}
		r = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (!r)
			return -ECONNRESET;
		c->len += (size_t)r;
		c->buf[c->len] = 0;
	}
}

int bird_call_step(struct bird_call *c)
{
	socklen_t sl = sizeof(int);
	int err = 0, r;
	ssize_t w;

	if (c->fd < 0)
		return -EINVAL;
	if (c->phase == CALL_CONNECT) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl))
			err = errno;
		if (err)
			return call_fail(c, -err, NULL);
		c->phase = CALL_GREET;
	}
	if (c->phase == CALL_GREET) {
		r = call_read(c);
		if (r < 0)
			return call_fail(c, r, NULL);
		if (!r)
			return 0;
		c->len = 0; /* the greeting is not the reply */
		c->buf[0] = 0;
		c->phase = CALL_SEND;
	}
	if (c->phase == CALL_SEND) {
		size_t n = strlen(c->cmd);

		while (c->sent < n) {
			w = send(c->fd, c->cmd + c->sent, n - c->sent, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && errno == EAGAIN)
				return 0;
			if (w < 0)
				return call_fail(c, -errno, NULL);
			c->sent += (size_t)w;
		}
		c->phase = CALL_REPLY;
	}
	r = call_read(c);
	if (r < 0)
		return call_fail(c, r, NULL);
	return r;
}

int bird_call_expired(const struct bird_call *c, __u64 now_ms)
{
	return c->fd >= 0 && now_ms >= c->deadline_ms;
}

int bird_call_fail_timeout(struct bird_call *c, int timeout_ms)
{
	char what[96];

	snprintf(what, sizeof(what), "no answer within %d ms (BIRD hung?)", timeout_ms);
	return call_fail(c, -ETIMEDOUT, what);
}
