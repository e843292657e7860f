/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The breaker watcher's engine: one state machine (breaker.h) per backend,
 * grouped per service, fed with the data plane's passive signals
 * (sl_events) and the sweep's SYN timeouts, its transitions written to
 * sl_breakers (half-open with probes_left = K). No I/O loop of its own: the
 * breaker engine (watchloop.h), which the daemon and `sluice breaker watch`
 * both run, polls the ring buffer and the timers and calls in. State is in
 * memory only.
 *
 * Operator overrides: `sluice breaker trip|reset` writes sl_breakers
 * directly; watch_refresh() sees a state it did not write and adopts it as
 * an operator trip (held open until reset) or reset. The daemon's health
 * checks write the same way with a mark in probes_left
 * (SLUICE_BRK_HEALTH_DOWN / _UP): adopted as causes health_down (held open
 * until up, also when the watcher starts) and health_up.
 *
 * A group's members are the service's backends in the table or draining
 * (sl_backends slots ACTIVE or DRAINING); the group's max-open share counts
 * them all.
 *
 * Panic: after every transition and re-read, the watcher compares each
 * service's healthy share of active backends with its panic-threshold and
 * keeps SLUICE_RES_PANIC in sl_svc_res in step (the data plane then skips
 * the breaker check; the table already holds every active backend). A
 * watcher that starts takes the flag as it finds it.
 */
#ifndef SLUICE_WATCH_H
#define SLUICE_WATCH_H

#include <stddef.h>
#include <linux/types.h>
#include "maps.h"
#include "sluice_abi.h"

struct brk_change;
struct watch;

/* Called for every transition or refused trip (see struct brk_change). */
typedef void (*watch_report_fn)(void *ctx, const struct sluice_svc_key *svc,
				const struct sluice_backend *be, const struct brk_change *chg);

/*
 * A service entered (on 1) or left panic: fewer than its panic-threshold
 * percent of its active backends (ACTIVE, weight > 0) are healthy (breaker
 * closed). The watcher has set or cleared SLUICE_RES_PANIC in sl_svc_res.
 */
typedef void (*watch_panic_fn)(void *ctx, const struct sluice_svc_key *svc, int on, __u32 healthy,
			       __u32 active);

/* Report panic changes to fn (ctx: watch_new()'s); NULL: none. */
void watch_set_panic_report(struct watch *w, watch_panic_fn fn);

/*
 * A watcher over every service (only NULL) or one. The maps' current
 * breaker states are adopted (see brk_adopt()). *out: free with
 * watch_free().
 */
int watch_new(const struct sluice_maps *m, const struct sluice_svc_key *only, __u64 now_ms,
	      watch_report_fn report, void *ctx, struct watch **out);

void watch_free(struct watch *w);

/* Re-read services, backends, settings and sl_breakers (operator overrides). */
int watch_refresh(struct watch *w, __u64 now_ms);

/* One call result of a backend (failure: refused, unreachable, SYN timeout). */
int watch_signal(struct watch *w, __u32 backend_id, int failure, __u64 now_ms);

/*
 * The data plane opened backend_id's breaker itself (FAST_TRIP event, or
 * seen in sl_breakers): the machine opens with cause fast_trip and probing
 * follows as for any trip; a group at max_open writes it closed again.
 */
int watch_fast_trip(struct watch *w, __u32 backend_id, __u64 now_ms);

/* Time-driven transitions due at now_ms. */
int watch_tick(struct watch *w, __u64 now_ms);

/* The earliest time a machine changes on its own, or UINT64_MAX. */
__u64 watch_next_due(const struct watch *w);

/* Machines watched (backends) and services. */
size_t watch_backends(const struct watch *w);
size_t watch_services(const struct watch *w);

/* Is backend id watched, and its window at now_ms (failures, calls, next transition). */
int watch_backend_state(const struct watch *w, __u32 id, __u64 now_ms, __u32 *state,
			__u32 *failures, __u32 *calls, __u64 *next_ms);

#endif /* SLUICE_WATCH_H */
