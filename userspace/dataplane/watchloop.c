// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The breaker engine (see watchloop.h). Its sources sit in an epoll fd of
 * its own, which is what the caller polls: the ring buffer's epoll fd (one
 * more level of nesting; the kernel allows four), the sweep timer, the
 * due timer and the drain timer.
 *
 * The drain timer: the data plane submits SUCCESS events without waking
 * the reader (passive.h: a wakeup is a self-IPI, microseconds per
 * connection), so the ring is also read every WATCHLOOP_DRAIN_MS. A
 * success reaches the engine at most that late (sooner when any other
 * event wakes the reader), stamped with its own time (ts_ns).
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "sweep.h"
#include "watch.h"
#include "watchloop.h"

enum { SRC_RING = 1, SRC_SWEEP, SRC_DUE, SRC_DRAIN };

#define WATCHLOOP_DRAIN_MS 10

struct watchloop {
	const struct sluice_maps *m;
	struct watchloop_conf conf;
	struct watch *w;
	struct ring_buffer *rb;
	int ep, tsweep, tdue, tdrain;
	int failed; /* a signal's error, seen after the ring buffer's batch */
	struct watchloop_stats stats;
};

/* A step's error: handed to on_error (then 0: carry on), or returned. */
static int step(struct watchloop *l, int err, const char *what)
{
	if (!l->conf.on_error)
		return err;
	if (err)
		l->conf.on_error(l->conf.ctx, err, what);
	err_clear();
	return 0;
}

static void report(void *ctx, const struct sluice_svc_key *svc, const struct sluice_backend *be,
		   const struct brk_change *chg)
{
	struct watchloop *l = ctx;

	l->stats.transitions++;
	if (l->conf.report)
		l->conf.report(l->conf.ctx, svc, be, chg);
}

static void report_panic(void *ctx, const struct sluice_svc_key *svc, int on, __u32 healthy,
			 __u32 active)
{
	struct watchloop *l = ctx;

	if (l->conf.panic)
		l->conf.panic(l->conf.ctx, svc, on, healthy, active);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct watchloop *l = ctx;
	const struct sluice_event *ev = data;
	int err;

	if (size < sizeof(*ev))
		return 0;
	l->stats.events++;
	if (ev->type == SLUICE_EV_FAST_TRIP)
		err = watch_fast_trip(l->w, ev->backend_id, ev->ts_ns / 1000000ull);
	else if (ev->type == SLUICE_EV_SUCCESS || sluice_ev_failure(ev->type))
		err = watch_signal(l->w, ev->backend_id, ev->type != SLUICE_EV_SUCCESS,
				   ev->ts_ns / 1000000ull);
	else
		err = 0; /* redispatched, retry_exhausted: counters' news, no call result */
	if (err) {
		if (l->conf.on_error)
			return step(l, err, "signal");
		l->failed = err;
		return err; /* stops ring_buffer__consume() */
	}
	return 0;
}

static int arm(int fd, __u64 first_ms, __u64 interval_ms)
{
	struct itimerspec it;

	memset(&it, 0, sizeof(it));
	it.it_value.tv_sec = (time_t)(first_ms / 1000);
	it.it_value.tv_nsec = (long)(first_ms % 1000) * 1000000;
	if ((first_ms || interval_ms) && !it.it_value.tv_sec && !it.it_value.tv_nsec)
		it.it_value.tv_nsec = 1; /* 0 would disarm: fire at once */
	it.it_interval.tv_sec = (time_t)(interval_ms / 1000);
	it.it_interval.tv_nsec = (long)(interval_ms % 1000) * 1000000;
	return timerfd_settime(fd, 0, &it, NULL) ? -errno : 0;
}

/* Arm the due timer for the machines' next transition (or disarm it). */
static int arm_due_timer(struct watchloop *l)
{
	__u64 next = watch_next_due(l->w), now = clock_mono_ms();

	if (next == UINT64_MAX)
		return arm(l->tdue, 0, 0);
	/* Due already: fire in 1 ms (a 0 here would disarm the timer). */
	return arm(l->tdue, next > now ? next - now : 1, 0);
}

static int arm_due(struct watchloop *l)
{
	int err = arm_due_timer(l);

	if (err)
		err_set("cannot arm a timer: %s", strerror(-err));
	return step(l, err, "timer");
}

static void drain(int fd)
{
	__u64 buf;

	while (read(fd, &buf, sizeof(buf)) > 0)
		;
}

static int on_ring(struct watchloop *l)
{
	int n, err;

	n = ring_buffer__consume(l->rb);
	err = l->failed;
	l->failed = 0;
	if (err)
		return err; /* a signal's, when errors end the step */
	if (n < 0) {
		err_set("cannot read the %s ring buffer: %s", SLUICE_MAP_EVENTS, strerror(EIO));
		return step(l, -EIO, "ring buffer");
	}
	return 0;
}

/* The sweep, its SYN timeouts as failures, the configuration re-read, the transitions due. */
static int on_sweep(struct watchloop *l)
{
	struct sweep_report r;
	__u64 now;
	size_t i;
	__u32 j;
	int err;

	err = step(l, sweep_run(l->m, 0, &r), "sweep");
	l->stats.active_flows = err ? -1 : (__s64)r.active;
	now = clock_mono_ms();
	for (i = 0; !err && i < r.nfailures; i++) {
		l->stats.syn_timeouts += r.failures[i].count;
		for (j = 0; !err && j < r.failures[i].count; j++)
			err = step(l, watch_signal(l->w, r.failures[i].backend_id, 1, now),
				   "SYN timeout");
	}
	sweep_report_free(&r);
	l->stats.sweeps++;
	if (!err)
		err = step(l, watch_refresh(l->w, now), "refresh");
	if (!err)
		err = step(l, watch_tick(l->w, now), "tick");
	if (!err && l->conf.after_sweep)
		l->conf.after_sweep(l->conf.ctx);
	return err;
}

int watchloop_dispatch(struct watchloop *l)
{
	struct epoll_event evs[4];
	__u64 events = l->stats.events;
	int n, i, err = 0, rearm = 0;

	n = epoll_wait(l->ep, evs, 4, 0);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		err = -errno;
		err_set("epoll_wait: %s", strerror(-err));
		return step(l, err, "poll");
	}
	for (i = 0; !err && i < n; i++) {
		switch (evs[i].data.u32) {
		case SRC_RING:
			err = on_ring(l);
			break;
		case SRC_DRAIN:
			drain(l->tdrain);
			err = on_ring(l);
			rearm--; /* nothing read: nothing moved the due time */
			break;
		case SRC_SWEEP:
			drain(l->tsweep);
			err = on_sweep(l);
			break;
		default:
			drain(l->tdue);
			err = step(l, watch_tick(l->w, clock_mono_ms()), "tick");
			break;
		}
		rearm++;
	}
	if (!err && (rearm || l->stats.events != events))
		err = arm_due(l);
	return err;
}

int watchloop_refresh(struct watchloop *l)
{
	int err = step(l, watch_refresh(l->w, clock_mono_ms()), "refresh");

	if (!err)
		err = arm_due(l);
	return err;
}

static int add_src(int ep, int fd, __u32 src)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u32 = src;
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int watchloop_open(const struct sluice_maps *m, const struct watchloop_conf *conf,
		   struct watchloop **out)
{
	struct watchloop *l = calloc(1, sizeof(*l));
	int err;

	if (!l) {
		err_set("out of memory");
		return -ENOMEM;
	}
	l->m = m;
	l->conf = *conf;
	l->stats.active_flows = -1;
	l->ep = l->tsweep = l->tdue = l->tdrain = -1;
	err = watch_new(m, conf->only, clock_mono_ms(), report, l, &l->w);
	if (err)
		goto fail;
	watch_set_panic_report(l->w, report_panic);
	l->rb = ring_buffer__new(m->events, on_event, l, NULL);
	if (!l->rb) {
		err = -errno;
		err_set("cannot read the %s ring buffer: %s", SLUICE_MAP_EVENTS, strerror(-err));
		goto fail;
	}
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	l->tsweep = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	l->tdue = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	l->tdrain = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	err = l->ep < 0 || l->tsweep < 0 || l->tdue < 0 || l->tdrain < 0 ? -errno : 0;
	if (!err)
		err = add_src(l->ep, ring_buffer__epoll_fd(l->rb), SRC_RING);
	if (!err)
		err = add_src(l->ep, l->tsweep, SRC_SWEEP);
	if (!err)
		err = add_src(l->ep, l->tdue, SRC_DUE);
	if (!err)
		err = add_src(l->ep, l->tdrain, SRC_DRAIN);
	if (err) {
		err_set("cannot set up the event loop: %s", strerror(-err));
		goto fail;
	}
	err = arm(l->tsweep, conf->sweep_ms, conf->sweep_ms);
	if (!err)
		err = arm(l->tdrain, WATCHLOOP_DRAIN_MS, WATCHLOOP_DRAIN_MS);
	if (!err)
		err = arm_due_timer(l);
	if (err) {
		err_set("cannot arm a timer: %s", strerror(-err));
		goto fail;
	}
	*out = l;
	return 0;
fail:
	watchloop_close(l);
	return err;
}

void watchloop_close(struct watchloop *l)
{
	if (!l)
		return;
	if (l->tdrain >= 0)
		close(l->tdrain);
	if (l->tdue >= 0)
		close(l->tdue);
	if (l->tsweep >= 0)
		close(l->tsweep);
	if (l->ep >= 0)
		close(l->ep);
	ring_buffer__free(l->rb);
	watch_free(l->w);
	free(l);
}

int watchloop_fd(const struct watchloop *l)
{
	return l->ep;
}

const struct watch *watchloop_watch(const struct watchloop *l)
{
	return l->w;
}

const struct watchloop_stats *watchloop_stats(const struct watchloop *l)
{
	return &l->stats;
}
