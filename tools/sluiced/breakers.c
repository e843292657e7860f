// SPDX-License-Identifier: GPL-2.0-only
/*
 * The circuit breakers, live: the watch engine (userspace/watch.c) fed by
 * the data plane's passive signals from the sl_events ring buffer and by the
 * reconcile sweep's SYN timeouts; the sweep on a timer (which also re-reads
 * services, backends and operator overrides); a second timer for the
 * machines' own transitions (open -> half-open). Every transition is
 * journaled as JOURNAL_BREAKER {"service", "backend", "from", "to", "cause"}.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "addr.h"
#include "backend.h"
#include "breaker.h"
#include "clock.h"
#include "err.h"
#include "journal.h"
#include "sluiced.h"
#include "svc.h"
#include "sweep.h"
#include "watch.h"

struct breakers {
	struct watch *w;
	struct ring_buffer *rb;
	struct loop_src ring, sweep, due;
	int failed;
	__u64 events, sweeps, transitions;
	struct daemon *d;
};

static void report(void *ctx, const struct sluice_svc_key *svc, const struct sluice_backend *be,
		   const struct brk_change *chg)
{
	struct breakers *b = ctx;
	char a[ADDR_STRLEN], k[SVC_KEY_STRLEN], bk[ADDR_STRLEN + 16];
	struct json_object *o = json_object_new_object();

	b->transitions++;
	if (!o)
		return;
	if (addr_format(&be->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	svc_key_format_args(svc, k, sizeof(k));
	snprintf(bk, sizeof(bk), "%s %u", a, (unsigned int)backend_port(be, svc));
	json_object_object_add(o, "service", json_object_new_string(k));
	json_object_object_add(o, "backend", json_object_new_string(bk));
	json_object_object_add(o, "from", json_object_new_string(brk_state_name(chg->from)));
	json_object_object_add(o, "to", json_object_new_string(brk_state_name(chg->to)));
	json_object_object_add(o, "cause", json_object_new_string(brk_cause_name(chg->cause)));
	json_object_object_add(o, "failures", json_object_new_int64(chg->failures));
	json_object_object_add(o, "calls", json_object_new_int64(chg->calls));
	log_info("breaker of %s (service %s): %s -> %s (%s)", bk, k, brk_state_name(chg->from),
		 brk_state_name(chg->to), brk_cause_name(chg->cause));
	daemon_journal(b->d, JOURNAL_BREAKER,
		       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE),
		       NULL);
	json_object_put(o);
	snprintf(bk, sizeof(bk), "%s port %u", a, (unsigned int)backend_port(be, svc));
	cluster_breaker(b->d, svc, bk, chg->to);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct breakers *b = ctx;
	const struct sluice_event *ev = data;
	int err;

	if (size < sizeof(*ev))
		return 0;
	b->events++;
	err = watch_signal(b->w, ev->backend_id, ev->type != SLUICE_EV_SUCCESS,
			   ev->ts_ns / 1000000ull);
	if (err)
		b->failed = err;
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
static void arm_due(struct breakers *b)
{
	__u64 next = watch_next_due(b->w), now = clock_mono_ms();

	if (next == UINT64_MAX)
		arm(b->due.fd, 0, 0);
	else
		arm(b->due.fd, next > now ? next - now : 1, 0);
}

static void check(int err, const char *what)
{
	if (err)
		log_warn("breakers: %s: %s", what, err_text(err));
	err_clear();
}

static void on_ring(struct daemon *d, struct loop_src *src, __u32 events)
{
	struct breakers *b = d->brk;

	(void)src;
	(void)events;
	if (ring_buffer__consume(b->rb) < 0)
		log_warn("breakers: cannot read the event ring buffer");
	if (b->failed) {
		check(b->failed, "signal");
		b->failed = 0;
	}
	arm_due(b);
}

static void on_sweep(struct daemon *d, struct loop_src *src, __u32 events)
{
	struct breakers *b = d->brk;
	struct sweep_report r;
	__u64 buf, now;
	size_t i;
	__u32 j;
	int err;

	(void)events;
	while (read(src->fd, &buf, sizeof(buf)) > 0)
		;
	err = sweep_run(&d->maps, 0, &r);
	check(err, "sweep");
	now = clock_mono_ms();
	for (i = 0; i < r.nfailures; i++)
		for (j = 0; j < r.failures[i].count; j++)
			check(watch_signal(b->w, r.failures[i].backend_id, 1, now), "SYN timeout");
	sweep_report_free(&r);
	b->sweeps++;
	check(watch_refresh(b->w, now), "refresh");
	check(watch_tick(b->w, now), "tick");
	arm_due(b);
}

static void on_due(struct daemon *d, struct loop_src *src, __u32 events)
{
	struct breakers *b = d->brk;
	__u64 buf;

	(void)events;
	while (read(src->fd, &buf, sizeof(buf)) > 0)
		;
	check(watch_tick(b->w, clock_mono_ms()), "tick");
	arm_due(b);
}

void breakers_refresh(struct daemon *d)
{
	struct breakers *b = d->brk;

	if (!b)
		return;
	check(watch_refresh(b->w, clock_mono_ms()), "refresh");
	arm_due(b);
}

int breakers_state(struct daemon *d, __u32 id)
{
	__u32 state, f, c;
	__u64 next;

	if (!d->brk || watch_backend_state(d->brk->w, id, clock_mono_ms(), &state, &f, &c, &next))
		return -1;
	return (int)state;
}

int breakers_open(struct daemon *d)
{
	struct breakers *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return -ENOMEM;
	b->d = d;
	b->ring.fd = b->sweep.fd = b->due.fd = -1;
	d->brk = b;
	err = watch_new(&d->maps, NULL, clock_mono_ms(), report, b, &b->w);
	if (err)
		goto fail;
	b->rb = ring_buffer__new(d->maps.events, on_event, b, NULL);
	if (!b->rb) {
		err = -errno;
		err_set("cannot read the %s ring buffer: %s", SLUICE_MAP_EVENTS, strerror(-err));
		goto fail;
	}
	b->ring.fd = ring_buffer__epoll_fd(b->rb);
	b->ring.fn = on_ring;
	b->sweep.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	b->sweep.fn = on_sweep;
	b->due.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	b->due.fn = on_due;
	if (b->sweep.fd < 0 || b->due.fd < 0) {
		err = -errno;
		err_set("cannot create a timer: %s", strerror(-err));
		goto fail;
	}
	err = loop_add(d, &b->ring, EPOLLIN);
	if (!err)
		err = loop_add(d, &b->sweep, EPOLLIN);
	if (!err)
		err = loop_add(d, &b->due, EPOLLIN);
	if (!err)
		err = arm(b->sweep.fd, SLUICED_SWEEP_MS, SLUICED_SWEEP_MS);
	if (err) {
		err_set("cannot set up the breakers' loop: %s", strerror(-err));
		goto fail;
	}
	arm_due(b);
	log_info("breakers: watching %zu backends of %zu services (sweep every %u ms)",
		 watch_backends(b->w), watch_services(b->w), SLUICED_SWEEP_MS);
	return 0;
fail:
	breakers_close(d);
	return err;
}

void breakers_close(struct daemon *d)
{
	struct breakers *b = d->brk;

	if (!b)
		return;
	if (b->ring.fd >= 0)
		loop_del(d, &b->ring);
	if (b->sweep.fd >= 0) {
		loop_del(d, &b->sweep);
		close(b->sweep.fd);
	}
	if (b->due.fd >= 0) {
		loop_del(d, &b->due);
		close(b->due.fd);
	}
	ring_buffer__free(b->rb);
	watch_free(b->w);
	free(b);
	d->brk = NULL;
}
