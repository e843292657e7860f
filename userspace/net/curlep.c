// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* libcurl's multi socket interface on the caller's epoll set (see curlep.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

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

void curlep_init(struct curlep *c)
{
	memset(c, 0, sizeof(*c));
	c->epfd = -1;
	c->tfd = -1;
	c->due = UINT64_MAX;
}

int curlep_open(struct curlep *c, int timer_kind, int curl_kind, __u64 (*now_ms)(void))
{
	struct epoll_event ev = { .events = EPOLLIN };
	int err;

	c->kind = curl_kind;
	c->now_ms = now_ms;
	c->timer.kind = timer_kind;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ev.data.ptr = &c->timer;
	if (c->epfd < 0 || c->tfd < 0 || epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->tfd, &ev)) {
		err = -errno;
		err_set("cannot create an epoll set and its timer: %s", strerror(-err));
		return err;
	}
	c->multi = curl_multi_init();
	if (!c->multi || curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb) ||
	    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb) ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c)) {
		err_set("cannot set up libcurl's multi interface");
		return -ENOMEM;
	}
	return 0;
}

void curlep_close(struct curlep *c)
{
	if (c->multi)
		curl_multi_cleanup(c->multi);
	c->multi = NULL;
	curlep_free_dead(c);
	if (c->tfd >= 0)
		close(c->tfd);
	if (c->epfd >= 0)
		close(c->epfd);
	c->tfd = c->epfd = -1;
}

int curlep_arm(struct curlep *c, __u64 t)
{
	struct itimerspec its;

	if (t == c->armed || (t == UINT64_MAX && !c->armed))
		return 0;
	memset(&its, 0, sizeof(its));
	if (t != UINT64_MAX) {
		/* 0 would disarm: an overdue deadline fires at 1 ns. */
		its.it_value.tv_sec = (time_t)(t / 1000);
		its.it_value.tv_nsec = (long)(t % 1000) * 1000000;
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	if (timerfd_settime(c->tfd, TFD_TIMER_ABSTIME, &its, NULL))
		return -errno;
	c->armed = t == UINT64_MAX ? 0 : t;
	return 0;
}

int curlep_timer_read(struct curlep *c)
{
	__u64 ticks;

	if (read(c->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return -errno;
	c->armed = 0;
	return 0;
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

void curlep_drop(struct curlep *c, CURL **easy, struct curl_slist **hdrs)
{
	if (*easy) {
		curl_multi_remove_handle(c->multi, *easy);
		curl_easy_cleanup(*easy);
		*easy = NULL;
	}
	curl_slist_free_all(*hdrs);
	*hdrs = NULL;
}
