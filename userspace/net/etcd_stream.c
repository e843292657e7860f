// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The etcd client's streams (etcd_int.h): watches and observes, their
 * connection and reconnection, events to the caller, an election's leader.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "err.h"
#include "etcd_int.h"

/* --- Streams ------------------------------------------------------------------------ */

static void cands_clear(struct etcd_stream *s)
{
	size_t i;

	for (i = 0; i < s->ncands; i++)
		free(s->cands[i].key);
	free(s->cands);
	s->cands = NULL;
	s->ncands = 0;
}

void etcd_stream_free(struct etcd *e, struct etcd_stream *s)
{
	etcd_xfer_free(e, &s->x);
	if (s->tok)
		json_tokener_free(s->tok);
	cands_clear(s);
	free(s->lead_key);
	free(s->key);
	free(s->end);
	free(s->body);
	free(s);
}

static int emit(struct etcd *e, struct etcd_stream *s, const struct etcd_event *ev)
{
	e->cb_depth++;
	s->fn(s->ctx, ev);
	e->cb_depth--;
	return s->cancelled || e->freeing;
}

static int emit_type(struct etcd *e, struct etcd_stream *s, enum etcd_event_type type)
{
	struct etcd_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	return emit(e, s, &ev);
}

/* The stream's connection is gone: reconnect later, tell the caller (etcd_pump). */
void etcd_stream_fail(struct etcd *e, struct etcd_stream *s, enum sfail why, __u64 now)
{
	if (why == SF_TRANSPORT)
		etcd_ep_fail(e, s->x.ep, now);
	else if (why == SF_AUTH)
		etcd_auth_invalidate(e, s->auth_gen);
	etcd_xfer_stop(e, &s->x);
	json_tokener_reset(s->tok);
	s->off = 0;
	s->phase = SP_WAIT;
	/* The first retry at once (on the next endpoint), then backing off. */
	s->due = now + s->retry_ms;
	s->retry_ms = s->retry_ms ? (__u32)min_u64((__u64)s->retry_ms * 2, e->backoff_max)
				  : e->backoff_min;
	s->created = 0;
	s->have_range = 0;
	if (s->up) {
		s->up = 0;
		s->down_pending = 1;
	}
}

static enum sfail sfail_of(int code, const char *msg, long http)
{
	if (etcd_grpc_transport(code) || (code <= 0 && http >= 500))
		return SF_TRANSPORT;
	if (etcd_grpc_reauth(code, msg))
		return SF_AUTH;
	return SF_PLAIN;
}

static int stream_body(struct etcd_stream *s)
{
	json_object *o = json_object_new_object(), *c = NULL;
	const char *text;
	int err = -ENOMEM;

	if (!o)
		return -ENOMEM;
	if (s->phase == SP_RANGE) {
		c = o;
	} else {
		c = json_object_new_object();
		if (!c)
			goto out;
		json_object_object_add(o, "create_request", c);
	}
	if (etcd_jadd_bytes(c, "key", s->key, s->key_len) ||
	    (s->end && etcd_jadd_bytes(c, "range_end", s->end, s->end_len)))
		goto out;
	if (s->phase == SP_WATCH) {
		if (s->next_rev > 0 && etcd_jadd_i64(c, "start_revision", s->next_rev))
			goto out;
		/* Lets next_rev follow the store while our keys are quiet. */
		json_object_object_add(c, "progress_notify", json_object_new_boolean(1));
	}
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (!text)
		goto out;
	free(s->body);
	s->body = strdup(text);
	err = s->body ? 0 : -ENOMEM;
out:
	json_object_put(o);
	return err;
}

void etcd_stream_start(struct etcd *e, struct etcd_stream *s, int ep, __u64 now)
{
	int err;

	s->phase = s->observe && !s->have_range ? SP_RANGE : SP_WATCH;
	s->created = 0;
	s->off = 0;
	json_tokener_reset(s->tok);
	s->auth_gen = e->auth_gen;
	err = stream_body(s);
	if (!err)
		err = etcd_xfer_start(e, &s->x, ep,
				      s->phase == SP_RANGE ? "/v3/kv/range" : "/v3/watch", s->body,
				      s->phase == SP_RANGE ? e->timeout_ms : 0);
	if (err) {
		etcd_stream_fail(e, s, SF_PLAIN, now);
		return;
	}
	s->create_by = now + e->timeout_ms;
}

/* Observe: the candidate with the lowest create revision leads. */
static struct cand *leader_of(struct etcd_stream *s)
{
	struct cand *l = NULL;
	size_t i;

	for (i = 0; i < s->ncands; i++) {
		if (!l || s->cands[i].create < l->create)
			l = &s->cands[i];
	}
	return l;
}

/* Report the leader (at revision rev) if it changed since the last report. Nonzero: stop. */
static int obs_report(struct etcd *e, struct etcd_stream *s, __s64 rev)
{
	struct cand *l = leader_of(s);
	struct etcd_event ev;
	char *k;
	int stop;

	memset(&ev, 0, sizeof(ev));
	if (!l) {
		if (s->lead == LEAD_NONE)
			return 0;
		ev.type = ETCD_EV_DELETE;
		ev.kv.key = s->lead_key ? s->lead_key : "";
		ev.kv.key_len = s->lead_key ? s->lead_len : 0;
		ev.kv.value = "";
		ev.revision = rev;
		s->lead = LEAD_NONE;
		k = s->lead_key;
		s->lead_key = NULL;
		stop = emit(e, s, &ev);
		free(k); /* ev pointed at it */
		return stop;
	}
	if (s->lead == LEAD_SOME && s->lead_len == l->key_len &&
	    !memcmp(s->lead_key, l->key, l->key_len) && s->lead_mod == l->mod)
		return 0;
	k = malloc(l->key_len + 1);
	if (!k)
		return 0;
	memcpy(k, l->key, l->key_len + 1);
	free(s->lead_key);
	s->lead_key = k;
	s->lead_len = l->key_len;
	s->lead_mod = l->mod;
	s->lead = LEAD_SOME;
	ev.type = ETCD_EV_PUT;
	ev.kv.key = l->key;
	ev.kv.key_len = l->key_len;
	ev.kv.value = l->val;
	ev.kv.value_len = l->val_len;
	ev.kv.create_revision = l->create;
	ev.kv.mod_revision = l->mod;
	ev.kv.version = l->version;
	ev.kv.lease = l->lease;
	ev.revision = l->mod;
	return emit(e, s, &ev);
}

static struct cand *cand_find(struct etcd_stream *s, const char *key, size_t len)
{
	size_t i;

	for (i = 0; i < s->ncands; i++) {
		if (s->cands[i].key_len == len && !memcmp(s->cands[i].key, key, len))
			return &s->cands[i];
	}
	return NULL;
}

/* Take kv (its block) as a candidate, or update the one with its key. */
static int cand_put(struct etcd_stream *s, struct etcd_kv *kv)
{
	struct cand *c = cand_find(s, kv->key, kv->key_len), *n;

	if (c) {
		free(c->key);
	} else {
		n = realloc(s->cands, (s->ncands + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->cands = n;
		c = &s->cands[s->ncands++];
		c->create = kv->create_revision;
	}
	c->key = (char *)kv->key;
	c->key_len = kv->key_len;
	c->val = (char *)kv->value;
	c->val_len = kv->value_len;
	c->mod = kv->mod_revision;
	c->version = kv->version;
	c->lease = kv->lease;
	kv->key = NULL;
	return 0;
}

struct sink_ctx {
	struct etcd *e;
	struct etcd_stream *s;
};

static int watch_sink(void *ctx, const struct etcd_event *ev)
{
	struct sink_ctx *k = ctx;

	return emit(k->e, k->s, ev);
}

static int observe_sink(void *ctx, const struct etcd_event *ev)
{
	struct sink_ctx *k = ctx;
	struct etcd_stream *s = k->s;
	struct etcd_kv kv = ev->kv;
	struct cand *c;
	char *blk;

	if (ev->type == ETCD_EV_PUT) {
		/* ev's block is freed by the caller: keep a copy. */
		blk = malloc(kv.key_len + kv.value_len + 2);
		if (!blk)
			return 0;
		memcpy(blk, kv.key, kv.key_len + 1);
		memcpy(blk + kv.key_len + 1, kv.value, kv.value_len + 1);
		kv.key = blk;
		kv.value = blk + kv.key_len + 1;
		if (cand_put(s, &kv))
			free(blk);
	} else if (ev->type == ETCD_EV_DELETE) {
		c = cand_find(s, kv.key, kv.key_len);
		if (c) {
			free(c->key);
			*c = s->cands[--s->ncands];
		}
	} else {
		return 0; /* RESET: the stream restarts, reading the candidates again */
	}
	return obs_report(k->e, s, ev->revision);
}

/* Observe: the candidates were read. */
static void range_done(struct etcd *e, struct etcd_stream *s, __u64 now)
{
	struct etcd_result r;
	char msg[MSG_MAX];
	size_t i;
	int code = 0, err;

	if (s->x.rc != CURLE_OK) {
		etcd_stream_fail(e, s, SF_TRANSPORT, now);
		return;
	}
	err = etcd_answer_parse(ETCD_OP_GET, s->x.buf ? s->x.buf : "", s->x.len, &r, msg,
				sizeof(msg), &code);
	if (err) {
		etcd_stream_fail(e, s,
				 err == -EIO	    ? sfail_of(code, msg, s->x.http)
				 : s->x.http >= 500 ? SF_TRANSPORT
						    : SF_PLAIN,
				 now);
		return;
	}
	etcd_ep_ok(e, s->x.ep);
	cands_clear(s);
	for (i = 0; i < r.nkvs; i++)
		cand_put(s, &r.kvs[i]); /* takes the kv's block (NULL left there) */
	etcd_result_release(&r);
	s->next_rev = r.revision + 1;
	s->have_range = 1;
	s->x.len = 0;
	s->x.done = 0;
	s->phase = SP_WAIT;
	s->due = now;
	s->lead = LEAD_UNKNOWN;
	if (!s->up) {
		s->up = 1;
		if (emit_type(e, s, ETCD_EV_UP))
			return;
	}
	obs_report(e, s, r.revision);
}

/* Deliver what stream s has for the caller; handle its end. */
void etcd_pump(struct etcd *e, struct etcd_stream *s, __u64 now)
{
	struct sink_ctx k = { .e = e, .s = s };
	struct wanswer wa;
	json_object *o;
	enum wres w;
	int bad;

	if (s->down_pending) {
		s->down_pending = 0;
		if (emit_type(e, s, ETCD_EV_DOWN))
			return;
	}
	if (s->phase == SP_RANGE && s->x.done) {
		range_done(e, s, now);
		goto down;
	}
	if (s->phase != SP_WATCH)
		return;
	while ((o = etcd_next_obj(s->tok, s->x.buf, s->x.len, &s->off, &bad))) {
		w = etcd_watch_obj(o, &s->next_rev, &wa, s->observe ? observe_sink : watch_sink,
				   &k);
		json_object_put(o);
		if (s->cancelled || e->freeing)
			return;
		if (wa.created && !s->created) {
			s->created = 1;
			s->retry_ms = 0;
			etcd_ep_ok(e, s->x.ep);
			if (!s->up) {
				s->up = 1;
				if (emit_type(e, s, ETCD_EV_UP))
					return;
			}
		}
		if (w == WR_STOP)
			return;
		if (w == WR_RESET) {
			/* Same endpoint, at once: not a failure (observe reads again). */
			etcd_xfer_stop(e, &s->x);
			json_tokener_reset(s->tok);
			s->off = 0;
			s->phase = SP_WAIT;
			s->due = now;
			s->have_range = 0;
			return;
		}
		if (w == WR_FAIL) {
			etcd_stream_fail(e, s,
					 wa.code < 0 ? SF_TRANSPORT : sfail_of(wa.code, wa.msg, 0),
					 now);
			goto down;
		}
	}
	if (bad) {
		etcd_stream_fail(e, s, SF_TRANSPORT, now);
		goto down;
	}
	if (s->off >= s->x.len)
		s->off = s->x.len = 0;
	if (s->x.done) {
		/* A stream never ends by itself: its server went away. */
		etcd_stream_fail(e, s, SF_TRANSPORT, now);
		goto down;
	}
	return;
down:
	if (s->down_pending && !s->cancelled && !e->freeing) {
		s->down_pending = 0;
		emit_type(e, s, ETCD_EV_DOWN);
	}
}

int etcd_stream_new(struct etcd *e, int observe, const char *key, size_t key_len, int prefix,
		    __s64 start_rev, etcd_event_fn fn, void *ctx, struct etcd_stream **out)
{
	struct etcd_stream *s;

	if (out)
		*out = NULL;
	if (e->freeing)
		return -ESHUTDOWN;
	if (!fn || (!key_len && !prefix)) {
		err_set("etcd: a watch needs a key and a callback");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->observe = observe;
	s->fn = fn;
	s->ctx = ctx;
	s->next_rev = start_rev > 0 ? start_rev : 0;
	s->x.ep = -1;
	s->x.stream = 1;
	s->x.owner = s;
	s->tok = json_tokener_new();
	s->key = malloc(key_len + 2);
	s->end = prefix ? malloc(key_len + 2) : NULL;
	if (!s->tok || !s->key || (prefix && !s->end)) {
		etcd_stream_free(e, s);
		return -ENOMEM;
	}
	if (prefix)
		s->end_len = etcd_prefix_end(key, key_len, s->end);
	if (!key_len) {
		/* Every key: from "\0" to "\0" (an empty key is refused). */
		key = "";
		key_len = 1;
	}
	memcpy(s->key, key, key_len);
	s->key[key_len] = '\0';
	s->key_len = key_len;
	s->phase = SP_WAIT;
	s->due = clock_mono_ms();
	list_add_tail(&e->streams, &s->link);
	if (out)
		*out = s;
	return etcd_rearm(e);
}

void etcd_stream_cancel(struct etcd *e, struct etcd_stream *s)
{
	if (!e || !s || s->cancelled)
		return;
	s->cancelled = 1;
	etcd_xfer_stop(e, &s->x);
	if (!etcd_settle(e))
		etcd_rearm(e);
}
