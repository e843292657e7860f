/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The breaker engine: the one loop that drives the watcher (watch.h) on live
 * signals, for the daemon (tools/sluiced/breakers.c) and for `sluice
 * breaker watch` alike. It owns
 *  - the sl_events ring buffer: the data plane's passive signals;
 *  - a periodic timer: the reconcile sweep (sweep.h; its SYN timeouts are
 *    failures), then a re-read of services, backends, settings and operator
 *    overrides (watch_refresh()) and the transitions due (watch_tick());
 *  - a one-shot timer for the machines' next transition of their own
 *    (open -> half-open), re-armed after every step;
 *  - a 10 ms timer that reads the ring: successes are submitted without a
 *    wakeup (bpf/lib/passive.h), so they arrive at most that late.
 * The caller polls one fd (watchloop_fd(), EPOLLIN) in its own event loop
 * and calls watchloop_dispatch() when it is readable; transitions reach the
 * caller through conf->report, as watch.h reports them.
 *
 * Errors: with conf->on_error, every failing step is handed to it and the
 * engine carries on (the daemon logs and keeps serving); without it, the
 * first failure ends the step and is returned (`breaker watch` stops).
 */
#ifndef SLUICE_WATCHLOOP_H
#define SLUICE_WATCHLOOP_H

#include <linux/types.h>
#include "maps.h"
#include "sluice_abi.h"
#include "watch.h"

struct watchloop;

struct watchloop_conf {
	const struct sluice_svc_key *only; /* one service, or NULL: every service */
	__u32 sweep_ms;			   /* period of the sweep and the re-read */
	watch_report_fn report;		   /* every transition (may be NULL) */
	watch_panic_fn panic;		   /* a service entering or leaving panic (may be NULL) */
	/* A failing step (what: "signal", "sweep", "refresh", ...); NULL: return it. */
	void (*on_error)(void *ctx, int err, const char *what);
	void (*after_sweep)(void *ctx); /* after each periodic step that succeeded (may be NULL) */
	void *ctx;			/* passed to the callbacks */
};

struct watchloop_stats {
	__u64 events;	    /* signals read from sl_events */
	__u64 syn_timeouts; /* SYN timeouts the sweeps found */
	__u64 sweeps;	    /* periodic steps */
	__u64 transitions;  /* reports */
	__s64 active_flows; /* active flows at the last sweep (sweep.h; -1 before the first) */
};

/*
 * Start watching (watch_new(): the pinned breaker states are adopted) and
 * arm the timers. m must outlive the engine. *out: free with
 * watchloop_close().
 */
int watchloop_open(const struct sluice_maps *m, const struct watchloop_conf *conf,
		   struct watchloop **out);

void watchloop_close(struct watchloop *l);

/* The fd to poll for EPOLLIN (an epoll fd over the engine's sources). */
int watchloop_fd(const struct watchloop *l);

/* Handle what is ready (never blocks), then re-arm the due timer. */
int watchloop_dispatch(struct watchloop *l);

/* Re-read the configuration now (the daemon after a change), re-arm the due timer. */
int watchloop_refresh(struct watchloop *l);

/* The watcher, for its per-backend view (watch_backend_state()). */
const struct watch *watchloop_watch(const struct watchloop *l);

const struct watchloop_stats *watchloop_stats(const struct watchloop *l);

#endif /* SLUICE_WATCHLOOP_H */
