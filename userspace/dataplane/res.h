/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Resilience settings: the write side of sl_svc_res (a service's bulkhead
 * and breaker settings), sl_critical (its critical client prefixes),
 * sl_res_global (the global bulkhead), sl_breakers (breaker states, written
 * by the operator's trip/reset and by the breaker watcher) and the per-id
 * slots of sl_conns and sl_res_stats. svc.c calls it for the keywords of
 * `service add|set` and on service delete, backend.c for a backend's
 * breaker and fallback; it calls no other write module.
 *
 * Zero in any sl_svc_res field means its default (breaker.h, BRK_DEF_*), so
 * a fresh service has no limits and default breaker settings. As everywhere
 * in the library, every change is validated in full before the first map
 * write, and a failing write puts back what was written: nothing is
 * half-applied.
 */
#ifndef SLUICE_RES_H
#define SLUICE_RES_H

#include <stddef.h>
#include <linux/types.h>
#include "keys.h"
#include "maps.h"
#include "sluice_abi.h"

/* Bounds of the settings (CLI units: seconds for windows and waits). */
#define RES_MAX_CONNS_MAX 100000000u /* max-conns, reserved */
#define RES_CRITICAL_MAX 64u	     /* critical prefixes per service */
#define RES_COUNT_MAX 1000000u	     /* breaker-failures, breaker-min-calls */
#define RES_PROBES_MAX 1000u	     /* breaker-probes (and successes) */
#define RES_WINDOW_MS_MIN 100u	     /* breaker-window 0.1 .. 3600 s */
#define RES_WINDOW_MS_MAX 3600000u
#define RES_WAIT_MS_MIN 100u /* breaker-wait, breaker-wait-max 0.1 s .. 1 day */
#define RES_WAIT_MS_MAX 86400000u
#define RES_SYN_TIMEOUT_MS_MIN 100u /* syn-timeout 100 ms .. 10 min */
#define RES_SYN_TIMEOUT_MS_MAX 600000u
#define RES_TCP_IDLE_S_MAX 604800u /* bulkhead tcp-idle: at most a week */
#define RES_TCP_IDLE_DEFAULT_S 3600u

/* Which fields of struct res_conf were given. */
enum {
	RES_HAS_MAX_CONNS = 1u << 0,
	RES_HAS_RESERVED = 1u << 1,
	RES_HAS_CRITICAL = 1u << 2,
	RES_HAS_REFUSE = 1u << 3,
	RES_HAS_GLOBAL_LIMIT = 1u << 4,
	RES_HAS_FALLBACK = 1u << 5,
	RES_HAS_ON_OPEN = 1u << 6,
	RES_HAS_BRK_FAILURES = 1u << 7,
	RES_HAS_BRK_WINDOW = 1u << 8,
	RES_HAS_BRK_RATE = 1u << 9,
	RES_HAS_BRK_MIN_CALLS = 1u << 10,
	RES_HAS_BRK_WAIT = 1u << 11,
	RES_HAS_BRK_WAIT_MAX = 1u << 12,
	RES_HAS_BRK_PROBES = 1u << 13,
	RES_HAS_BRK_SUCCESSES = 1u << 14,
	RES_HAS_BRK_MAX_OPEN = 1u << 15,
	RES_HAS_SYN_TIMEOUT = 1u << 16,
	RES_HAS_RETRIES = 1u << 17,   /* failover: sl_svc_fo.retries */
	RES_HAS_FAST_TRIP = 1u << 18, /* failover: sl_svc_fo.fast_trip */
	RES_HAS_PANIC = 1u << 19,     /* panic-threshold */
};

#define RES_FAST_TRIP_MAX 10000u /* breaker-fast-trip K: at most this (0 = off) */

/* What `service add|set` asks for; unset fields keep their value (add: default). */
struct res_conf {
	__u32 has; /* RES_HAS_* */
	__u32 max_conns;
	__u32 reserved;
	const char *critical; /* "PREFIX[,PREFIX...]" or "none" (replaces the list) */
	__u8 refuse;	      /* enum sluice_refuse */
	__u8 on_open;	      /* enum sluice_on_open */
	int global_limit;     /* 1 on, 0 off (SLUICE_RES_NO_GLOBAL) */
	int fallback_none;    /* fallback none */
	struct be_ref fallback;
	__u32 brk_failures;
	__u32 brk_window_ms;
	__u32 brk_rate_pct;
	__u32 brk_min_calls;
	__u32 brk_wait_ms;
	__u32 brk_wait_max_ms;
	__u32 brk_probes;
	__u32 brk_successes;
	__u32 brk_max_open_pct;
	__u32 syn_timeout_ms;
	__u32 retries;	 /* failover moves per connection, 0 = off (<= SLUICE_FO_RETRIES_MAX) */
	__u32 fast_trip; /* failures in a row that open a breaker in the kernel, 0 = off */
	__u32 panic_pct; /* panic-threshold, 0..100 (0 = off) */
};

/* Keyword parsers for the CLI (message set on error). */
int res_parse_refuse(const char *text, __u8 *refuse);
const char *res_refuse_name(__u8 refuse);
int res_parse_on_open(const char *text, __u8 *on_open);
const char *res_on_open_name(__u8 on_open);
int res_parse_on_off(const char *text, const char *what, int *on);

/*
 * Seconds with up to three decimals ("2", "0.5", "1.250") into
 * milliseconds, within min_ms..max_ms. what names the value in messages.
 */
int res_parse_seconds_ms(const char *text, __u32 min_ms, __u32 max_ms, const char *what, __u32 *ms);

/*
 * Parse a critical list into keys[0..*n) (at most RES_CRITICAL_MAX, svc_id
 * set): "none" gives 0 keys. Duplicates are refused. Pure.
 */
int res_critical_parse(const char *text, __u32 svc_id, struct sluice_shard_key *keys, size_t *n);

/*
 * conf on top of base (NULL: a fresh service) into out, then the whole
 * checked with defaults resolved (reserved below max-conns, successes at
 * most probes, wait-max at least wait, breaker-max-open at most 100 minus
 * an active panic-threshold). The fallback is not resolved here
 * (it needs the backends): out->fallback_be keeps base's. Pure.
 */
int res_value_make(const struct res_conf *conf, const struct sluice_svc_res *base,
		   struct sluice_svc_res *out);

/* Nothing in conf? */
static inline int res_conf_empty(const struct res_conf *conf)
{
	return !conf->has;
}

/*
 * Apply conf to service svc (key, id): resolve the fallback among its
 * backends, compute and check the value, add the new critical prefixes,
 * write sl_svc_res, remove the critical prefixes no longer listed. *out
 * (may be NULL) receives the stored value.
 */
int res_apply(const struct sluice_maps *m, const struct sluice_svc_key *key,
	      const struct sluice_svc *svc, const struct res_conf *conf,
	      struct sluice_svc_res *out);

/*
 * The failover settings of service id svc_id, resolved: *retries (0 = off)
 * and *fast_trip (0 = off); the defaults for a zeroed entry.
 */
int res_fo_get(const struct sluice_maps *m, __u32 svc_id, __u32 *retries, __u32 *fast_trip);

/* Set (on 1) or clear SLUICE_RES_PANIC in service svc_id's sl_svc_res. */
int res_panic_write(const struct sluice_maps *m, __u32 svc_id, int on);

/* The settings of service id svc_id (zero = defaults). */
int res_get(const struct sluice_maps *m, __u32 svc_id, struct sluice_svc_res *res);

/*
 * The critical prefixes of svc_id, sorted (malloc'ed, free() it; NULL when
 * none).
 */
int res_critical_list(const struct sluice_maps *m, __u32 svc_id, struct sluice_shard_key **keys,
		      size_t *n);

/*
 * Clear everything of service id svc_id here: settings, critical prefixes,
 * its sl_conns slot and breaker counters. Used by service del, and by
 * service add on a (reused) id before the service is visible.
 */
int res_purge_service(const struct sluice_maps *m, __u32 svc_id);

/*
 * Refuse (-EBUSY, message) deleting backend id while it is the fallback of
 * service svc_id.
 */
int res_check_backend_del(const struct sluice_maps *m, const struct sluice_svc_key *key,
			  __u32 svc_id, __u32 id);

/*
 * The global bulkhead: max_conns (0 = none) and tcp_idle_s (0 = default),
 * each changed only when its has_* is set.
 */
int res_global_set(const struct sluice_maps *m, int has_max, __u32 max_conns, int has_idle,
		   __u32 tcp_idle_s, struct sluice_res_global *out);

/*
 * Write backend id's breaker: state (enum sluice_brk_state) and the probe
 * budget (half-open; 0 otherwise).
 */
int res_breaker_write(const struct sluice_maps *m, __u32 id, __u32 state, __s32 probes);

/* A fresh backend slot: breaker CLOSED and passive signals zero (backend add/del). */
int res_backend_reset(const struct sluice_maps *m, __u32 id);

#endif /* SLUICE_RES_H */
