// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* libcurl's multi socket interface on the caller's epoll set (see curlep.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "curlep.h"
#include "err.h"

static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct curlep *c = userp;
	struct curlep_sock *cs = socketp;
	struct epoll_event ev = { 0 };

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (cs) {
			epoll_ctl(c->epfd, EPOLL_CTL_DEL, s, NULL);
			curl_multi_assign(c->multi, s, NULL);
			cs->tag.dead = 1;
			cs->next_dead = c->dead;
			c->dead = cs;
		}
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev.events |= EPOLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev.events |= EPOLLOUT;
	if (!cs) {
		cs = calloc(1, sizeof(*cs));
		if (!cs)
			return -1;
		cs->tag.kind = c->kind;
		cs->fd = s;
		ev.data.ptr = &cs->tag;
		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, s, &ev)) {
			free(cs);
			return -1;
		}
		curl_multi_assign(c->multi, s, cs);
		return 0;
	}
	ev.data.ptr = &cs->tag;
	return epoll_ctl(c->epfd, EPOLL_CTL_MOD, s, &ev) ? -1 : 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct curlep *c = userp;

	(void)multi;
	/* Only noted: the caller re-arms its timer when its call returns. */
	c->due = timeout_ms < 0 ? UINT64_MAX : c->now_ms() + (__u64)timeout_ms;
	return 0;
}

int curlep_init(struct curlep *c, int epfd, int kind, __u64 (*now_ms)(void))
{
	c->epfd = epfd;
	c->kind = kind;
	c->now_ms = now_ms;
	c->due = UINT64_MAX;
	c->dead = NULL;
	c->multi = curl_multi_init();
	if (!c->multi || curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb) ||
	    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb) ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c)) {
		if (c->multi)
			curl_multi_cleanup(c->multi);
		c->multi = NULL;
		err_set("cannot set up libcurl's multi interface");
		return -ENOMEM;
	}
	return 0;
}

void curlep_cleanup(struct curlep *c)
{
	if (c->multi)
		curl_multi_cleanup(c->multi);
	c->multi = NULL;
	curlep_free_dead(c);
}

void curlep_event(struct curlep *c, struct curlep_tag *t, __u32 events)
{
	int mask = 0, still;

	if (events & EPOLLIN)
		mask |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		mask |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		mask |= CURL_CSELECT_ERR;
	curl_multi_socket_action(c->multi, ((struct curlep_sock *)t)->fd, mask, &still);
}

void curlep_timeout(struct curlep *c)
{
	int still;

	if (c->due > c->now_ms())
		return;
	c->due = UINT64_MAX;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &still);
}

void curlep_free_dead(struct curlep *c)
{
	struct curlep_sock *s;

	while ((s = c->dead)) {
		c->dead = s->next_dead;
		free(s);
	}
}
