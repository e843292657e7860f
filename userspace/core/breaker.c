// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The circuit-breaker state machine and its group (see breaker.h). Every
 * transition clears the machine's window: a closed breaker starts counting
 * afresh, and results that belong to an earlier state never trip a later one.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "breaker.h"

static __u32 or_default(__u32 v, __u32 def)
{
	return v ? v : def;
}

void brk_conf_from_res(const struct sluice_svc_res *r, struct brk_conf *c)
{
	c->failures = or_default(r->brk_failures, BRK_DEF_FAILURES);
	c->window_ms = or_default(r->brk_window_ms, BRK_DEF_WINDOW_MS);
	c->rate_pct = or_default(r->brk_rate_pct, BRK_DEF_RATE_PCT);
	c->min_calls = or_default(r->brk_min_calls, BRK_DEF_MIN_CALLS);
	c->wait_ms = or_default(r->brk_wait_ms, BRK_DEF_WAIT_MS);
	c->wait_max_ms = or_default(r->brk_wait_max_ms, BRK_DEF_WAIT_MAX_MS);
	c->probes = or_default(r->brk_probes, BRK_DEF_PROBES);
	c->successes = or_default(r->brk_successes, BRK_DEF_SUCCESSES);
	c->max_open_pct = or_default(r->brk_max_open_pct, BRK_DEF_MAX_OPEN_PCT);
	c->syn_timeout_ms = or_default(r->syn_timeout_ms, BRK_DEF_SYN_TIMEOUT_MS);
	c->panic_pct = r->panic_pct == SLUICE_PANIC_OFF
			       ? 0
			       : or_default(r->panic_pct, SLUICE_PANIC_DEFAULT_PCT);
	/* Stored values are validated by res.c; keep the machine sane whatever is pinned. */
	if (c->window_ms < BRK_BUCKETS)
		c->window_ms = BRK_BUCKETS;
	if (c->rate_pct > 100)
		c->rate_pct = 100;
	if (c->max_open_pct > 100)
		c->max_open_pct = 100;
	if (c->panic_pct > 100)
		c->panic_pct = 100;
	if (c->wait_max_ms < c->wait_ms)
		c->wait_max_ms = c->wait_ms;
	if (c->successes > c->probes)
		c->successes = c->probes;
}

int brk_panic(__u32 pct, __u32 active, __u32 healthy)
{
	return pct && active && (__u64)healthy * 100 < (__u64)pct * active;
}

const char *brk_cause_name(enum brk_cause cause)
{
	switch (cause) {
	case BRK_CAUSE_FAILURES:
		return "failures";
	case BRK_CAUSE_RATE:
		return "failure_rate";
	case BRK_CAUSE_WAIT_OVER:
		return "wait_over";
	case BRK_CAUSE_PROBE_FAILED:
		return "probe_failed";
	case BRK_CAUSE_PROBES_OK:
		return "probes_succeeded";
	case BRK_CAUSE_OPERATOR_TRIP:
		return "operator_trip";
	case BRK_CAUSE_OPERATOR_RESET:
		return "operator_reset";
	case BRK_CAUSE_MAX_OPEN:
		return "max_open_refused";
	case BRK_CAUSE_FAST_TRIP:
		return "fast_trip";
	case BRK_CAUSE_HEALTH_DOWN:
		return "health_down";
	case BRK_CAUSE_HEALTH_UP:
		return "health_up";
	}
	return "?";
}

const char *brk_mark_cause(const struct sluice_breaker *b)
{
	if (b->state == SLUICE_BRK_OPEN && b->probes_left == SLUICE_BRK_HEALTH_DOWN)
		return brk_cause_name(BRK_CAUSE_HEALTH_DOWN);
	if (b->state == SLUICE_BRK_CLOSED && b->probes_left == SLUICE_BRK_HEALTH_UP)
		return brk_cause_name(BRK_CAUSE_HEALTH_UP);
	if (b->state == SLUICE_BRK_OPEN && b->probes_left == SLUICE_BRK_FAST_TRIPPED)
		return brk_cause_name(BRK_CAUSE_FAST_TRIP);
	return NULL;
}

const char *brk_state_name(__u32 state)
{
	switch (state) {
	case SLUICE_BRK_CLOSED:
		return "closed";
	case SLUICE_BRK_OPEN:
		return "open";
	case SLUICE_BRK_HALF_OPEN:
		return "half-open";
	}
	return "?";
}

void brk_group_init(struct brk_group *g, const struct brk_conf *conf)
{
	memset(g, 0, sizeof(*g));
	g->conf = *conf;
}

void brk_group_free(struct brk_group *g)
{
	if (!g)
		return;
	free(g->members);
	g->members = NULL;
	g->count = 0;
}

struct breaker *brk_group_find(struct brk_group *g, __u32 id)
{
	size_t i;

	for (i = 0; i < g->count; i++)
		if (g->members[i].id == id)
			return &g->members[i];
	return NULL;
}

int brk_group_set_members(struct brk_group *g, const __u32 *ids, size_t n)
{
	struct breaker *next, *old;
	size_t i;

	next = calloc(n ? n : 1, sizeof(*next));
	if (!next)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		old = brk_group_find(g, ids[i]);
		if (old) {
			next[i] = *old;
		} else {
			next[i].id = ids[i];
			next[i].state = SLUICE_BRK_CLOSED;
		}
	}
	free(g->members);
	g->members = next;
	g->count = n;
	return 0;
}

__u32 brk_group_max_open(const struct brk_group *g)
{
	__u64 max = (__u64)g->count * g->conf.max_open_pct / 100;

	if (!max && g->count >= 2)
		max = 1;
	return (__u32)max;
}

__u32 brk_group_open_count(const struct brk_group *g)
{
	__u32 n = 0;
	size_t i;

	for (i = 0; i < g->count; i++)
		n += g->members[i].state != SLUICE_BRK_CLOSED;
	return n;
}

static __u64 bucket_width(const struct brk_conf *c)
{
	__u64 w = (c->window_ms + BRK_BUCKETS - 1) / BRK_BUCKETS;

	return w ? w : 1;
}

/* Bucket epochs are stored + 1 so that 0 means an empty bucket. */
static int bucket_live(__u64 stored, __u64 epoch)
{
	return stored && stored - 1 + BRK_BUCKETS > epoch && stored - 1 <= epoch;
}

void brk_window(const struct brk_group *g, const struct breaker *b, __u64 now, __u32 *failures,
		__u32 *calls)
{
	__u64 epoch = now / bucket_width(&g->conf);
	__u32 f = 0, c = 0;
	int i;

	for (i = 0; i < BRK_BUCKETS; i++) {
		if (!bucket_live(b->bucket_epoch[i], epoch))
			continue;
		f += b->bucket_failures[i];
		c += b->bucket_calls[i];
	}
	*failures = f;
	*calls = c;
}

static void window_add(const struct brk_group *g, struct breaker *b, __u64 now, int failure)
{
	__u64 epoch = now / bucket_width(&g->conf);
	int i = (int)(epoch % BRK_BUCKETS);

	if (b->bucket_epoch[i] != epoch + 1) {
		b->bucket_epoch[i] = epoch + 1;
		b->bucket_calls[i] = 0;
		b->bucket_failures[i] = 0;
	}
	b->bucket_calls[i]++;
	b->bucket_failures[i] += failure ? 1 : 0;
}

static void window_clear(struct breaker *b)
{
	memset(b->bucket_epoch, 0, sizeof(b->bucket_epoch));
	memset(b->bucket_calls, 0, sizeof(b->bucket_calls));
	memset(b->bucket_failures, 0, sizeof(b->bucket_failures));
}

/* Fill chg for b going from -> b->state (window read before it is cleared). */
static void describe(const struct brk_group *g, const struct breaker *b, __u32 from,
		     enum brk_cause cause, __u32 failures, __u32 calls, struct brk_change *chg)
{
	memset(chg, 0, sizeof(*chg));
	chg->id = b->id;
	chg->from = from;
	chg->to = b->state;
	chg->cause = cause;
	chg->failures = failures;
	chg->calls = calls;
	if (b->state == SLUICE_BRK_OPEN && !b->forced)
		chg->open_ms = b->cur_wait_ms;
	if (b->state == SLUICE_BRK_HALF_OPEN)
		chg->probes = g->conf.probes;
	chg->open_in_group = brk_group_open_count(g);
	chg->max_open = brk_group_max_open(g);
}

static void open_for(struct breaker *b, __u64 now, __u64 wait)
{
	b->state = SLUICE_BRK_OPEN;
	b->cur_wait_ms = wait;
	b->open_until = now + wait;
	b->probe_successes = 0;
	b->forced = 0;
	b->refused = 0;
	window_clear(b);
}

/* CLOSED: does the window call for a trip? The cause, or 0. */
static enum brk_cause trip_cause(const struct brk_conf *c, __u32 failures, __u32 calls)
{
	if (failures >= c->failures)
		return BRK_CAUSE_FAILURES;
	if (calls >= c->min_calls && (__u64)failures * 100 >= (__u64)c->rate_pct * calls)
		return BRK_CAUSE_RATE;
	return 0;
}

int brk_record(struct brk_group *g, __u32 id, __u64 now, int failure, struct brk_change *chg)
{
	struct breaker *b = brk_group_find(g, id);
	__u32 failures, calls, from;
	enum brk_cause cause;
	__u64 wait;

	if (!b)
		return -ENOENT;
	from = b->state;
	switch (b->state) {
	case SLUICE_BRK_CLOSED:
		window_add(g, b, now, failure);
		brk_window(g, b, now, &failures, &calls);
		cause = trip_cause(&g->conf, failures, calls);
		if (!cause) {
			b->refused = 0;
			return 0;
		}
		if (brk_group_open_count(g) + 1 > brk_group_max_open(g)) {
			if (b->refused)
				return 0;
			b->refused = 1;
			describe(g, b, from, BRK_CAUSE_MAX_OPEN, failures, calls, chg);
			return 1;
		}
		open_for(b, now, g->conf.wait_ms);
		describe(g, b, from, cause, failures, calls, chg);
		return 1;
	case SLUICE_BRK_HALF_OPEN:
		brk_window(g, b, now, &failures, &calls);
		if (failure) {
			/* A re-trip: twice the last open duration, capped. */
			wait = b->cur_wait_ms ? b->cur_wait_ms * 2 : g->conf.wait_ms;
			if (wait > g->conf.wait_max_ms)
				wait = g->conf.wait_max_ms;
			open_for(b, now, wait);
			describe(g, b, from, BRK_CAUSE_PROBE_FAILED, failures + 1, calls + 1, chg);
			return 1;
		}
		window_add(g, b, now, 0);
		if (++b->probe_successes < g->conf.successes)
			return 0;
		b->state = SLUICE_BRK_CLOSED;
		b->cur_wait_ms = 0; /* closing resets the doubling */
		b->probe_successes = 0;
		describe(g, b, from, BRK_CAUSE_PROBES_OK, failures, calls + 1, chg);
		window_clear(b);
		return 1;
	default:
		/* OPEN: late results of flows begun before the trip change nothing. */
		return 0;
	}
}

int brk_tick(struct brk_group *g, __u32 id, __u64 now, struct brk_change *chg)
{
	struct breaker *b = brk_group_find(g, id);

	if (!b)
		return -ENOENT;
	if (b->state != SLUICE_BRK_OPEN || b->forced || now < b->open_until)
		return 0;
	b->state = SLUICE_BRK_HALF_OPEN;
	b->probe_successes = 0;
	window_clear(b);
	describe(g, b, SLUICE_BRK_OPEN, BRK_CAUSE_WAIT_OVER, 0, 0, chg);
	return 1;
}

int brk_fast_trip(struct brk_group *g, __u32 id, __u64 now, struct brk_change *chg)
{
	struct breaker *b = brk_group_find(g, id);
	__u32 failures, calls;

	if (!b)
		return -ENOENT;
	if (b->state != SLUICE_BRK_CLOSED)
		return 0;
	brk_window(g, b, now, &failures, &calls);
	if (brk_group_open_count(g) + 1 > brk_group_max_open(g)) {
		describe(g, b, SLUICE_BRK_CLOSED, BRK_CAUSE_MAX_OPEN, failures, calls, chg);
		return 1;
	}
	open_for(b, now, g->conf.wait_ms);
	describe(g, b, SLUICE_BRK_CLOSED, BRK_CAUSE_FAST_TRIP, failures, calls, chg);
	return 1;
}

/* Open b and hold it until a close by the same hand (operator or health check). */
static int hold_open(struct brk_group *g, __u32 id, __u64 now, enum brk_cause cause,
		     struct brk_change *chg)
{
	struct breaker *b = brk_group_find(g, id);
	__u32 failures, calls, from;

	if (!b)
		return -ENOENT;
	from = b->state;
	brk_window(g, b, now, &failures, &calls);
	open_for(b, now, 0);
	b->forced = 1;
	b->open_until = UINT64_MAX;
	describe(g, b, from, cause, failures, calls, chg);
	return 1;
}

/* Close b with a fresh window and no doubling, from any state. */
static int close_fresh(struct brk_group *g, __u32 id, __u64 now, enum brk_cause cause,
		       struct brk_change *chg)
{
	struct breaker *b = brk_group_find(g, id);
	__u32 failures, calls, from;

	if (!b)
		return -ENOENT;
	from = b->state;
	brk_window(g, b, now, &failures, &calls);
	b->state = SLUICE_BRK_CLOSED;
	b->cur_wait_ms = 0;
	b->open_until = 0;
	b->probe_successes = 0;
	b->forced = 0;
	b->refused = 0;
	window_clear(b);
	describe(g, b, from, cause, failures, calls, chg);
	return 1;
}

int brk_trip(struct brk_group *g, __u32 id, __u64 now, struct brk_change *chg)
{
	return hold_open(g, id, now, BRK_CAUSE_OPERATOR_TRIP, chg);
}

int brk_reset(struct brk_group *g, __u32 id, __u64 now, struct brk_change *chg)
{
	return close_fresh(g, id, now, BRK_CAUSE_OPERATOR_RESET, chg);
}

int brk_health(struct brk_group *g, __u32 id, int up, __u64 now, struct brk_change *chg)
{
	return up ? close_fresh(g, id, now, BRK_CAUSE_HEALTH_UP, chg)
		  : hold_open(g, id, now, BRK_CAUSE_HEALTH_DOWN, chg);
}

int brk_cause_external(enum brk_cause cause)
{
	return cause == BRK_CAUSE_OPERATOR_TRIP || cause == BRK_CAUSE_OPERATOR_RESET ||
	       cause == BRK_CAUSE_HEALTH_DOWN || cause == BRK_CAUSE_HEALTH_UP;
}

int brk_adopt(struct brk_group *g, __u32 id, __u32 state, __u64 now)
{
	struct breaker *b = brk_group_find(g, id);

	if (!b)
		return -ENOENT;
	if (state == SLUICE_BRK_OPEN) {
		open_for(b, now, g->conf.wait_ms);
	} else if (state == SLUICE_BRK_HALF_OPEN) {
		b->state = SLUICE_BRK_HALF_OPEN;
		b->cur_wait_ms = g->conf.wait_ms;
		b->probe_successes = 0;
		b->forced = 0;
		window_clear(b);
	}
	return 0;
}

__u64 brk_next_transition(const struct breaker *b)
{
	if (b->state == SLUICE_BRK_OPEN && !b->forced)
		return b->open_until;
	return UINT64_MAX;
}

__u64 brk_group_next_transition(const struct brk_group *g)
{
	__u64 next = UINT64_MAX, t;
	size_t i;

	for (i = 0; i < g->count; i++) {
		t = brk_next_transition(&g->members[i]);
		if (t < next)
			next = t;
	}
	return next;
}
