/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The circuit-breaker state machine of one backend, and the group of a
 * service's backends that bounds how many may be open at once. Pure logic:
 * no I/O, no clock of its own (every call takes now, in milliseconds of any
 * monotonic clock), no allocation except the group's member array.
 *
 *   CLOSED --(failures in window >= failures, or rate >= rate_pct of
 *             >= min_calls calls; and the group allows it)--> OPEN
 *   OPEN   --(open duration over)--> HALF_OPEN (probes admissions)
 *   HALF_OPEN --(successes consecutive probe successes)--> CLOSED
 *   HALF_OPEN --(a probe failure)--> OPEN, for twice the last duration
 *                                    (capped at wait_max_ms)
 *   any --(operator trip)--> OPEN, held until an operator reset
 *   any --(operator reset)--> CLOSED, window and doubling cleared
 *   any --(health check down)--> OPEN, held until the check is up again
 *   any --(health check up)--> CLOSED, as a reset
 *
 * Sliding window (Resilience4j's time-based window): a ring of
 * BRK_BUCKETS buckets, each window_ms / BRK_BUCKETS wide (rounded up, at
 * least 1 ms). A result counts in the bucket of its time; the window is the
 * current bucket and the BRK_BUCKETS - 1 before it, so a result stops
 * counting between window_ms - width and window_ms after it happened:
 * results age out a bucket (a tenth of the window, 1 s by default) at a time.
 *
 * Open duration (Envoy's ejection time): a trip from CLOSED opens for
 * wait_ms; each re-trip from HALF_OPEN doubles the previous duration, up to
 * wait_max_ms; closing resets the doubling.
 *
 * Group (Envoy's max_ejection_percent): a trip is refused while the
 * service's backends that are not CLOSED (open or half-open) would exceed
 * max_open = floor(n * max_open_pct / 100), where n is the number of members
 * of the group -- except that a service of two or more backends may always
 * have one open (so 50 % of 3 allows 1, of 2 allows 1, of 4 allows 2), and
 * a lone backend opens only with max_open_pct 100 (with nothing to shift its
 * traffic to, opening it only turns slow failures into fast ones). A
 * refused trip is reported once per episode (until the machine trips or
 * its window falls back under the thresholds); the machine stays CLOSED and
 * tries again at its next failure. Operator and health-check trips are never
 * refused (a service's panic threshold, not max_open, bounds what health
 * checks take out of its table).
 */
#ifndef SLUICE_BREAKER_H
#define SLUICE_BREAKER_H

#include <stddef.h>
#include <linux/types.h>
#include "sluice_abi.h"

#define BRK_BUCKETS 10 /* buckets per sliding window */

/* Defaults, as the ABI comments of struct sluice_svc_res give them. */
#define BRK_DEF_FAILURES 30
#define BRK_DEF_WINDOW_MS 10000
#define BRK_DEF_RATE_PCT 50
#define BRK_DEF_MIN_CALLS 20
#define BRK_DEF_WAIT_MS 5000
#define BRK_DEF_WAIT_MAX_MS 300000
#define BRK_DEF_PROBES 3
#define BRK_DEF_SUCCESSES 3
#define BRK_DEF_MAX_OPEN_PCT 50
#define BRK_DEF_SYN_TIMEOUT_MS 3000

/* Settings of one service's breakers (zeros of sl_svc_res resolved to defaults). */
struct brk_conf {
	__u32 failures;	      /* failures within the window that trip, >= 1 */
	__u32 window_ms;      /* sliding window, >= BRK_BUCKETS */
	__u32 rate_pct;	      /* failure rate that trips, 1..100 */
	__u32 min_calls;      /* calls in the window before the rate counts, >= 1 */
	__u32 wait_ms;	      /* first open duration */
	__u32 wait_max_ms;    /* cap of the doubled duration, >= wait_ms */
	__u32 probes;	      /* half-open probe budget K */
	__u32 successes;      /* consecutive probe successes that close, 1..probes */
	__u32 max_open_pct;   /* share of the group that may be open, 0..100 */
	__u32 syn_timeout_ms; /* SYN unanswered this long is a failure (read by the sweep) */
	__u32 panic_pct;      /* panic below this share of healthy active backends, 0 = off */
};

/*
 * Panic (Envoy's panic threshold): with active backends in the table of
 * which healthy (breaker closed) ones, is the healthy share below pct?
 * Never with pct 0 (off) or no active backend.
 */
int brk_panic(__u32 pct, __u32 active, __u32 healthy);

/* The settings of r with every zero replaced by its default. */
void brk_conf_from_res(const struct sluice_svc_res *r, struct brk_conf *c);

/* What made a machine change (or refuse to). */
enum brk_cause {
	BRK_CAUSE_FAILURES = 1,	  /* failures in the window reached the threshold */
	BRK_CAUSE_RATE,		  /* failure rate reached brk_rate_pct */
	BRK_CAUSE_WAIT_OVER,	  /* open duration over: half-open */
	BRK_CAUSE_PROBE_FAILED,	  /* a half-open probe failed: open again, longer */
	BRK_CAUSE_PROBES_OK,	  /* enough consecutive probe successes: closed */
	BRK_CAUSE_OPERATOR_TRIP,  /* operator override: open until reset */
	BRK_CAUSE_OPERATOR_RESET, /* operator override: closed */
	BRK_CAUSE_MAX_OPEN,	  /* a trip refused: the group is at max_open */
	BRK_CAUSE_FAST_TRIP,   /* the data plane opened it: breaker-fast-trip refusals in a row */
	BRK_CAUSE_HEALTH_DOWN, /* its active health check went down: open until up */
	BRK_CAUSE_HEALTH_UP,   /* its active health check came up: closed */
};
#define BRK_CAUSE_LAST BRK_CAUSE_HEALTH_UP /* the highest cause, for arrays by cause */

/*
 * 1 when the cause is a write someone else made to sl_breakers (operator,
 * health check) that the engine adopts: it writes nothing back.
 */
int brk_cause_external(enum brk_cause cause);

/* Name of a cause ("failures", "rate", "wait_over", ...). */
const char *brk_cause_name(enum brk_cause cause);

/*
 * The cause a mark in sl_breakers' probes_left tells (health_down,
 * health_up, fast_trip), or NULL when the entry carries none.
 */
const char *brk_mark_cause(const struct sluice_breaker *b);

/* Name of an enum sluice_brk_state ("closed", "open", "half-open"). */
const char *brk_state_name(__u32 state);

/* One transition (or refused trip: from == to == CLOSED, cause MAX_OPEN). */
struct brk_change {
	__u32 id;	/* the machine's id (backend id) */
	__u32 from, to; /* enum sluice_brk_state */
	enum brk_cause cause;
	__u32 failures, calls; /* the window at the time */
	__u64 open_ms;	       /* to OPEN: its duration (0: until reset) */
	__u32 probes;	       /* to HALF_OPEN: the probe budget */
	__u32 open_in_group;   /* machines not CLOSED in the group, after the change */
	__u32 max_open;	       /* the group's limit */
};

struct breaker {
	__u32 id;
	__u32 state;			 /* enum sluice_brk_state */
	__u64 bucket_epoch[BRK_BUCKETS]; /* now / width of the bucket's results + 1 (0 = empty) */
	__u32 bucket_calls[BRK_BUCKETS];
	__u32 bucket_failures[BRK_BUCKETS];
	__u64 open_until;      /* OPEN: when it turns half-open (ms) */
	__u64 cur_wait_ms;     /* duration of the current or last open period */
	__u32 probe_successes; /* HALF_OPEN: consecutive successes so far */
	int forced;	       /* OPEN by operator: held until reset */
	int refused;	       /* a trip was refused and reported; cleared on trip or recovery */
};

/* A service's machines. */
struct brk_group {
	struct brk_conf conf;
	size_t count;
	struct breaker *members; /* malloc'ed, count entries */
};

/* An empty group with conf. */
void brk_group_init(struct brk_group *g, const struct brk_conf *conf);

/* Free the members; the group is empty afterwards. NULL-safe. */
void brk_group_free(struct brk_group *g);

/*
 * Make the members exactly ids[0..n): machines of ids already there keep
 * their state, new ones start CLOSED with an empty window. -ENOMEM.
 */
int brk_group_set_members(struct brk_group *g, const __u32 *ids, size_t n);

/* The machine of id, or NULL. */
struct breaker *brk_group_find(struct brk_group *g, __u32 id);

/* The group's limit of machines not CLOSED (see above). */
__u32 brk_group_max_open(const struct brk_group *g);

/* Machines of the group that are not CLOSED. */
__u32 brk_group_open_count(const struct brk_group *g);

/* Failures and calls within the window of b at now. */
void brk_window(const struct brk_group *g, const struct breaker *b, __u64 now, __u32 *failures,
		__u32 *calls);

/*
 * Record a call result of machine id at now (failure 1: refused, unreachable,
 * SYN timeout; 0: success). Returns 1 and fills *chg when the machine changed
 * state or a trip was refused (report it), 0 when nothing is to be reported,
 * -ENOENT when id is not a member.
 */
int brk_record(struct brk_group *g, __u32 id, __u64 now, int failure, struct brk_change *chg);

/*
 * Time-driven transitions of machine id (OPEN whose duration is over ->
 * HALF_OPEN): 1 and *chg when it changed, else 0 (-ENOENT: not a member).
 */
int brk_tick(struct brk_group *g, __u32 id, __u64 now, struct brk_change *chg);

/*
 * The data plane's fast trip (sluice_abi.h: sl_svc_fo.fast_trip): a
 * CLOSED machine opens for wait_ms, as any trip (probing follows), cause
 * FAST_TRIP; a group at max_open refuses it (cause MAX_OPEN, to CLOSED:
 * the caller writes the breaker closed again). 1 and *chg, or 0 when the
 * machine is not CLOSED (-ENOENT: not a member).
 */
int brk_fast_trip(struct brk_group *g, __u32 id, __u64 now, struct brk_change *chg);

/* Operator override: OPEN until reset (trip) or CLOSED with a fresh window (reset). */
int brk_trip(struct brk_group *g, __u32 id, __u64 now, struct brk_change *chg);
int brk_reset(struct brk_group *g, __u32 id, __u64 now, struct brk_change *chg);

/* Health check of id down (up 0): OPEN until up, as a trip; up: CLOSED, as a reset. */
int brk_health(struct brk_group *g, __u32 id, int up, __u64 now, struct brk_change *chg);

/*
 * Start machine id in state (read back from sl_breakers when a watcher
 * starts): OPEN opens for wait_ms from now (not held: probing follows),
 * HALF_OPEN starts a fresh probe round, CLOSED changes nothing.
 */
int brk_adopt(struct brk_group *g, __u32 id, __u32 state, __u64 now);

/*
 * When b changes state next on its own (OPEN: at open_until), or UINT64_MAX
 * when only a call result can change it.
 */
__u64 brk_next_transition(const struct breaker *b);

/* The earliest brk_next_transition() of the group's members. */
__u64 brk_group_next_transition(const struct brk_group *g);

#endif /* SLUICE_BREAKER_H */
