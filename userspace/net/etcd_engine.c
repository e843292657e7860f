// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The etcd client's engine (etcd_int.h): endpoints and failover, the
 * timer, requests and their retries, authentication, the client's life and
 * its dispatch.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "curlep.h"
#include "err.h"
#include "etcd_int.h"

/* --- Endpoints ------------------------------------------------------------- */

/* Move off endpoint i (failed at now) to the next good one. */
void etcd_ep_fail(struct etcd *e, int i, __u64 now)
{
	struct ep *p;
	size_t k, j;

	if (i < 0 || (size_t)i >= e->neps)
		return;
	p = &e->eps[i];
	if (p->bad_until > now)
		return; /* already resting: several transfers saw the same failure */
	p->bad_until = now + p->backoff_ms;
	p->backoff_ms = (__u32)min_u64((__u64)p->backoff_ms * 2, e->backoff_max);
	if ((size_t)i != e->cur)
		return;
	for (k = 1; k < e->neps; k++) {
		j = (e->cur + k) % e->neps;
		if (e->eps[j].bad_until <= now) {
			e->cur = j;
			e->failovers++;
			return;
		}
	}
}

void etcd_ep_ok(struct etcd *e, int i)
{
	if (i < 0 || (size_t)i >= e->neps)
		return;
	e->eps[i].bad_until = 0;
	e->eps[i].backoff_ms = e->backoff_min;
}

/* The endpoint to use now, or -1 when every one rests. */
static int ep_pick(struct etcd *e, __u64 now)
{
	size_t k, j;

	for (k = 0; k < e->neps; k++) {
		j = (e->cur + k) % e->neps;
		if (e->eps[j].bad_until <= now) {
			if (j != e->cur) {
				e->cur = j;
				e->failovers++;
			}
			return (int)j;
		}
	}
	return -1;
}

/* When some endpoint can be used. */
static __u64 ep_ready_at(const struct etcd *e, __u64 now)
{
	__u64 t = UINT64_MAX;
	size_t i;

	for (i = 0; i < e->neps; i++) {
		if (e->eps[i].bad_until <= now)
			return now;
		t = min_u64(t, e->eps[i].bad_until);
	}
	return t;
}

/* --- Timer ------------------------------------------------------------------------ */

static int auth_blocks(const struct etcd *e)
{
	return e->auth != AUTH_OFF && e->auth != AUTH_OK;
}

/* When a waiting request or stream could start, UINT64_MAX: on an event. */
static __u64 start_at(const struct etcd *e, __u64 due, __u64 now)
{
	__u64 t = max_u64(due, ep_ready_at(e, now));

	if (auth_blocks(e))
		t = e->auth == AUTH_PENDING ? UINT64_MAX : max_u64(t, e->auth_due);
	return t;
}

static __u64 next_wake(struct etcd *e, __u64 now)
{
	struct etcd_req *r;
	struct etcd_stream *s;
	struct link *nx;
	__u64 t = e->ev.due;

	if (!list_empty(&e->done))
		return now;
	for (nx = e->reqs.next; nx != &e->reqs;) {
		r = list_item(nx, struct etcd_req);
		nx = nx->next;
		if (r->state == RQ_RUN) {
			if (r->op != ETCD_OP_CAMPAIGN)
				t = min_u64(t, r->deadline + GRACE_MS);
		} else if (r->internal) {
			t = min_u64(t, min_u64(r->deadline, max_u64(r->due, ep_ready_at(e, now))));
		} else {
			t = min_u64(t, min_u64(r->deadline, start_at(e, r->due, now)));
		}
	}
	for (nx = e->streams.next; nx != &e->streams;) {
		s = list_item(nx, struct etcd_stream);
		nx = nx->next;
		if (s->cancelled)
			continue;
		if (s->down_pending)
			return now;
		if (s->phase == SP_WAIT)
			t = min_u64(t, start_at(e, s->due, now));
		else if (s->phase == SP_WATCH && !s->created)
			t = min_u64(t, s->create_by);
	}
	return t;
}

int etcd_rearm(struct etcd *e)
{
	return curlep_arm(&e->ev, next_wake(e, clock_mono_ms()));
}

/* --- Requests ----------------------------------------------------------------------- */

void etcd_req_free(struct etcd *e, struct etcd_req *r)
{
	etcd_xfer_free(e, &r->x);
	etcd_result_release(&r->res);
	free(r->body);
	free(r->val);
	free(r);
}

/* Run r's callback (r is on no list) and free it. */
static void req_deliver(struct etcd *e, struct etcd_req *r)
{
	r->state = RQ_CB;
	r->res.msg = r->msg;
	if (r->cb) {
		e->cb_depth++;
		r->cb(r->ctx, &r->res);
		e->cb_depth--;
	}
	etcd_req_free(e, r);
}

static void auth_done(struct etcd *e, struct etcd_req *r, __u64 now);

/* r (on e->reqs) has its result: queue it for delivery. */
static void req_complete(struct etcd *e, struct etcd_req *r, __u64 now)
{
	list_del(&r->link);
	etcd_xfer_stop(e, &r->x);
	if (r->internal) {
		auth_done(e, r, now);
		etcd_req_free(e, r);
		return;
	}
	r->state = RQ_DONE;
	list_add_tail(&e->done, &r->link);
}

static void req_fail(struct etcd *e, struct etcd_req *r, int err, __u64 now, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void req_fail(struct etcd *e, struct etcd_req *r, int err, __u64 now, const char *fmt, ...)
{
	va_list ap;

	etcd_result_release(&r->res);
	memset(&r->res, 0, sizeof(r->res));
	r->res.err = err;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	req_complete(e, r, now);
}

static void req_timeout(struct etcd *e, struct etcd_req *r, __u64 now)
{
	req_fail(e, r, -ETIMEDOUT, now, "no answer from etcd within %u ms%s%s", e->timeout_ms,
		 r->last[0] ? ": " : "", r->last);
}

/* A failed attempt: try again (another endpoint), or give up at the deadline. */
static void req_retry(struct etcd *e, struct etcd_req *r, __u64 now)
{
	int broke = r->op == ETCD_OP_CAMPAIGN && r->x.sent;

	etcd_result_release(&r->res);
	etcd_xfer_stop(e, &r->x);
	if (now < r->deadline) {
		r->state = RQ_WAIT;
		r->due = now;
		return;
	}
	if (broke)
		req_fail(e, r, -ECONNRESET, now, "campaign's connection lost (%s): campaign again",
			 r->last);
	else
		req_timeout(e, r, now);
}

void etcd_auth_invalidate(struct etcd *e, unsigned int gen)
{
	if (e->auth == AUTH_OK && gen == e->auth_gen) {
		e->auth = AUTH_NEED;
		free(e->token);
		e->token = NULL;
	}
}

int etcd_grpc_transport(int code)
{
	return code == GRPC_UNAVAILABLE || code == GRPC_DEADLINE_EXCEEDED;
}

/* etcd refused the token (expired, or the auth store moved on): authenticate again. */
int etcd_grpc_reauth(int code, const char *msg)
{
	return code == GRPC_UNAUTHENTICATED || strstr(msg, "invalid auth token") ||
	       strstr(msg, "auth store is old");
}

/* An attempt of r ended: reaped from curl. */
static void req_end(struct etcd *e, struct etcd_req *r, __u64 now)
{
	struct xfer *x = &r->x;
	int err, code;

	if (x->rc != CURLE_OK) {
		etcd_xfer_why(e, x, r->last, sizeof(r->last));
		etcd_ep_fail(e, x->ep, now);
		req_retry(e, r, now);
		return;
	}
	err = etcd_answer_parse(r->op, x->buf ? x->buf : "", x->len, &r->res, r->msg,
				sizeof(r->msg), &code);
	if ((err == -EPROTO && x->http >= 500) || (err == -EIO && etcd_grpc_transport(code))) {
		snprintf(r->last, sizeof(r->last), "%.100s: HTTP %ld: %.120s", e->eps[x->ep].url,
			 x->http, r->msg);
		etcd_ep_fail(e, x->ep, now);
		req_retry(e, r, now);
		return;
	}
	if (err == -EIO && !r->internal && e->auth != AUTH_OFF && etcd_grpc_reauth(code, r->msg)) {
		snprintf(r->last, sizeof(r->last), "%s", r->msg);
		etcd_auth_invalidate(e, r->auth_gen);
		req_retry(e, r, now);
		return;
	}
	etcd_ep_ok(e, x->ep);
	if (err == -EPROTO) {
		char m[MSG_MAX];

		snprintf(m, sizeof(m), "%s", r->msg);
		snprintf(r->msg, sizeof(r->msg), "%.100s: HTTP %ld: %.120s", e->eps[x->ep].url,
			 x->http, m);
	}
	if (!err && r->op == ETCD_OP_CAMPAIGN && r->res.nkvs) {
		r->res.kvs[0].value = r->val;
		r->res.kvs[0].value_len = r->val_len;
	}
	req_complete(e, r, now);
}

static void req_start(struct etcd *e, struct etcd_req *r, int ep, __u64 now)
{
	__u64 left = r->deadline - now;
	__u32 total;
	int err;

	/* Several endpoints: leave time for another if this one hangs. */
	if (e->neps > 1 && left > 2 * (__u64)e->connect_ms)
		left /= 2;
	total = r->op == ETCD_OP_CAMPAIGN ? 0 : (__u32)left;
	r->auth_gen = e->auth_gen;
	err = etcd_xfer_start(e, &r->x, ep, r->path, r->body, total);
	if (err) {
		req_fail(e, r, err, now, "cannot start a request to %s: %s", e->eps[ep].url,
			 strerror(-err));
		return;
	}
	r->state = RQ_RUN;
}

int etcd_req_new(struct etcd *e, enum etcd_op op, const char *path, json_object *body, etcd_cb cb,
		 void *ctx, struct etcd_req **out)
{
	const char *text;
	struct etcd_req *r;
	__u64 now = clock_mono_ms();

	if (out)
		*out = NULL;
	if (!body) {
		err_set("etcd: out of memory building a request");
		return -ENOMEM;
	}
	if (e->freeing) {
		json_object_put(body);
		err_set("etcd: the client is being freed");
		return -ESHUTDOWN;
	}
	r = calloc(1, sizeof(*r));
	text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
	if (r && text)
		r->body = strdup(text);
	json_object_put(body);
	if (!r || !r->body) {
		free(r);
		err_set("etcd: out of memory building a request");
		return -ENOMEM;
	}
	r->op = op;
	r->path = path;
	r->cb = cb;
	r->ctx = ctx;
	r->deadline = now + e->timeout_ms;
	r->due = now;
	r->state = RQ_WAIT;
	r->x.ep = -1;
	r->x.owner = r;
	r->res.msg = r->msg;
	list_add_tail(&e->reqs, &r->link);
	if (out)
		*out = r;
	return etcd_rearm(e);
}

/* --- Authentication ----------------------------------------------------------------- */

static void auth_kick(struct etcd *e, __u64 now)
{
	json_object *o;
	struct etcd_req *r;

	if (e->auth != AUTH_NEED || now < e->auth_due || e->freeing)
		return;
	o = json_object_new_object();
	if (!o)
		return;
	json_object_object_add(o, "name", json_object_new_string(e->user));
	json_object_object_add(o, "password", json_object_new_string(e->password));
	r = NULL;
	etcd_req_new(e, ETCD_OP_AUTH, "/v3/auth/authenticate", o, NULL, NULL, &r);
	if (!r)
		return;
	r->internal = 1;
	e->auth = AUTH_PENDING;
}

/* The authentication request r completed (r is off the lists). */
static void auth_done(struct etcd *e, struct etcd_req *r, __u64 now)
{
	struct etcd_req *w;
	struct link *nx;

	if (!r->res.err && r->res.nkvs) {
		free(e->token);
		e->token = strdup(r->res.kvs[0].value);
		if (e->token) {
			e->auth = AUTH_OK;
			e->auth_gen++;
			e->auth_backoff = e->backoff_min;
			return;
		}
	}
	e->auth = AUTH_NEED;
	e->auth_due = now + e->auth_backoff;
	e->auth_backoff = (__u32)min_u64((__u64)e->auth_backoff * 2, e->backoff_max);
	/*
	 * Only a refusal (-EIO, from reap(): no list is being walked) fails
	 * the waiting requests; otherwise they run out their own deadlines.
	 */
	if (r->res.err != -EIO)
		return;
	/* etcd said no: the waiting requests would not fare better. */
	for (nx = e->reqs.next; nx != &e->reqs;) {
		w = list_item(nx, struct etcd_req);
		nx = nx->next;
		if (w->state == RQ_WAIT && !w->internal)
			req_fail(e, w, -EACCES, now, "etcd refused user '%s': %s", e->user, r->msg);
	}
}

/* Free cancelled streams and dead sockets; finish a deferred etcd_free(). 1: e is gone. */
static void destroy(struct etcd *e);

int etcd_settle(struct etcd *e)
{
	struct etcd_stream *s;
	struct link *nx;

	if (e->in_dispatch || e->cb_depth)
		return 0;
	for (nx = e->streams.next; nx != &e->streams;) {
		s = list_item(nx, struct etcd_stream);
		nx = nx->next;
		if (s->cancelled) {
			list_del(&s->link);
			etcd_stream_free(e, s);
		}
	}
	curlep_free_dead(&e->ev);
	if (e->freeing) {
		destroy(e);
		return 1;
	}
	return 0;
}

void etcd_cancel(struct etcd *e, struct etcd_req *r)
{
	if (!e || !r || r->state == RQ_CB)
		return;
	list_del(&r->link);
	etcd_xfer_stop(e, &r->x);
	if (r->internal) {
		e->auth = e->auth == AUTH_PENDING ? AUTH_NEED : e->auth;
		etcd_req_free(e, r);
		return;
	}
	etcd_result_release(&r->res);
	memset(&r->res, 0, sizeof(r->res));
	r->res.err = -ECANCELED;
	snprintf(r->msg, sizeof(r->msg), "cancelled");
	req_deliver(e, r);
	if (!etcd_settle(e))
		etcd_rearm(e);
}

/* --- The client ---------------------------------------------------------------- */

static char *dup_opt(const char *s, int *bad)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*bad = 1;
	return d;
}

static int conf_check(const struct etcd_conf *c)
{
	size_t i, n;
	const char *u;

	if (!c->nendpoints || c->nendpoints > ETCD_ENDPOINTS_MAX) {
		err_set("etcd: %zu endpoints (give 1 to %d)", c->nendpoints, ETCD_ENDPOINTS_MAX);
		return -EINVAL;
	}
	for (i = 0; i < c->nendpoints; i++) {
		u = c->endpoints[i];
		n = u ? strlen(u) : 0;
		if (!n || n > 256 || (strncmp(u, "http://", 7) && strncmp(u, "https://", 8))) {
			err_set("etcd: endpoint '%s' is not an http:// or https:// URL",
				u ? u : "");
			return -EINVAL;
		}
	}
	if (!c->user != !c->password) {
		err_set("etcd: a user needs a password (and a password a user)");
		return -EINVAL;
	}
	return 0;
}

int etcd_new(struct etcd **out, const struct etcd_conf *c)
{
	struct etcd *e;
	size_t i, n;
	int err, bad = 0;

	*out = NULL;
	err = conf_check(c);
	if (err)
		return err;
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		err_set("cannot initialize libcurl");
		return -ENOMEM;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		curl_global_cleanup();
		return -ENOMEM;
	}
	curlep_init(&e->ev);
	list_init(&e->reqs);
	list_init(&e->done);
	list_init(&e->streams);
	e->timeout_ms = c->timeout_ms ? c->timeout_ms : ETCD_TIMEOUT_DEFAULT_MS;
	e->connect_ms =
		c->connect_timeout_ms ? c->connect_timeout_ms : ETCD_CONNECT_TIMEOUT_DEFAULT_MS;
	e->backoff_min = c->backoff_min_ms ? c->backoff_min_ms : ETCD_BACKOFF_MIN_DEFAULT_MS;
	e->backoff_max = c->backoff_max_ms ? c->backoff_max_ms : ETCD_BACKOFF_MAX_DEFAULT_MS;
	if (e->backoff_max < e->backoff_min)
		e->backoff_max = e->backoff_min;
	e->auth_backoff = e->backoff_min;
	for (i = 0; i < c->nendpoints; i++) {
		n = strlen(c->endpoints[i]);
		while (n > 1 && c->endpoints[i][n - 1] == '/')
			n--;
		e->eps[i].url = strndup(c->endpoints[i], n);
		if (!e->eps[i].url)
			bad = 1;
		e->eps[i].backoff_ms = e->backoff_min;
		e->neps++;
	}
	e->cacert = dup_opt(c->cacert, &bad);
	e->cert = dup_opt(c->cert, &bad);
	e->key = dup_opt(c->key, &bad);
	e->user = dup_opt(c->user, &bad);
	e->password = dup_opt(c->password, &bad);
	e->auth = c->user ? AUTH_NEED : AUTH_OFF;
	if (bad) {
		err = -ENOMEM;
		goto out;
	}
	err = curlep_open(&e->ev, EV_TIMER, EV_CURL, clock_mono_ms);
	if (err) {
		err_set("cannot set up the etcd client: %s", err_msg());
		destroy(e);
		return err;
	}
	*out = e;
	return 0;
out:
	err_set("cannot set up the etcd client: %s", strerror(-err));
	destroy(e);
	return err;
}

/* The last of e: nothing is in flight, no callback runs. */
static void destroy(struct etcd *e)
{
	struct etcd_stream *s;
	size_t i;

	while (!list_empty(&e->streams)) {
		s = list_item(e->streams.next, struct etcd_stream);
		list_del(&s->link);
		etcd_stream_free(e, s);
	}
	curlep_close(&e->ev);
	for (i = 0; i < e->neps; i++)
		free(e->eps[i].url);
	free(e->cacert);
	free(e->cert);
	free(e->key);
	free(e->user);
	if (e->password)
		memset(e->password, 0, strlen(e->password));
	free(e->password);
	if (e->token)
		memset(e->token, 0, strlen(e->token));
	free(e->token);
	free(e);
	curl_global_cleanup();
}

void etcd_free(struct etcd *e)
{
	struct link *nx;
	struct etcd_stream *s;
	struct etcd_req *r;

	if (!e || e->freeing)
		return;
	e->freeing = 1;
	e->cb_depth++; /* etcd_settle() waits for the end of this */
	while (!list_empty(&e->reqs) || !list_empty(&e->done)) {
		r = list_item(list_empty(&e->reqs) ? e->done.next : e->reqs.next, struct etcd_req);
		etcd_cancel(e, r);
	}
	for (nx = e->streams.next; nx != &e->streams;) {
		s = list_item(nx, struct etcd_stream);
		nx = nx->next;
		s->cancelled = 1;
		etcd_xfer_stop(e, &s->x);
	}
	e->cb_depth--;
	etcd_settle(e);
}

int etcd_fd(const struct etcd *e)
{
	return e->ev.epfd;
}

const char *etcd_endpoint(const struct etcd *e)
{
	return e->eps[e->cur].url;
}

__u64 etcd_failovers(const struct etcd *e)
{
	return e->failovers;
}

static void reap(struct etcd *e, __u64 now)
{
	struct xfer *x;
	CURLMsg *msg;
	CURL *easy;
	CURLcode rc;
	int left;

	while ((msg = curl_multi_info_read(e->ev.multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		easy = msg->easy_handle;
		rc = msg->data.result;
		x = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
		if (!x)
			continue;
		etcd_xfer_finish(e, x, rc);
		/* A stream's end is handled when pumped, after what it buffered. */
		if (!x->stream)
			req_end(e, x->owner, now);
	}
}

/* Deadlines and starts of requests (no callback runs here). */
static void run_reqs(struct etcd *e, __u64 now)
{
	struct etcd_req *r;
	struct link *nx;
	int ep;

	for (nx = e->reqs.next; nx != &e->reqs;) {
		r = list_item(nx, struct etcd_req);
		nx = nx->next;
		if (r->state == RQ_RUN) {
			if (r->op != ETCD_OP_CAMPAIGN && now >= r->deadline + GRACE_MS) {
				snprintf(r->last, sizeof(r->last), "%s: no answer from libcurl",
					 e->eps[r->x.ep].url);
				req_timeout(e, r, now);
			}
			continue;
		}
		if (now >= r->deadline) {
			req_timeout(e, r, now);
			continue;
		}
		if (r->due > now)
			continue;
		if (!r->internal && auth_blocks(e)) {
			/* May append the authentication request: visited later in this loop. */
			auth_kick(e, now);
			continue;
		}
		ep = ep_pick(e, now);
		if (ep < 0)
			continue;
		req_start(e, r, ep, now);
	}
}

static void run_streams(struct etcd *e, __u64 now)
{
	struct link *nx;
	struct etcd_stream *s;
	int ep;

	for (nx = e->streams.next; nx != &e->streams;) {
		s = list_item(nx, struct etcd_stream);
		nx = nx->next;
		if (s->cancelled)
			continue;
		if (s->phase == SP_WATCH && !s->created && !s->x.done && now >= s->create_by) {
			/* Connected but no watch: a member that hangs. */
			etcd_stream_fail(e, s, SF_TRANSPORT, now);
			continue;
		}
		if (s->phase != SP_WAIT || s->due > now)
			continue;
		if (auth_blocks(e)) {
			auth_kick(e, now);
			continue;
		}
		ep = ep_pick(e, now);
		if (ep >= 0)
			etcd_stream_start(e, s, ep, now);
	}
}

int etcd_dispatch(struct etcd *e, __u64 now)
{
	struct link *nx;
	struct epoll_event evs[EV_BATCH];
	struct etcd_stream *s;
	struct etcd_req *r;
	struct curlep_tag *hv;
	int n, i, err = 0;

	if (e->in_dispatch || e->cb_depth)
		return 0; /* not from inside a callback */
	e->in_dispatch = 1;
	n = epoll_wait(e->ev.epfd, evs, EV_BATCH, 0);
	if (n < 0 && errno != EINTR) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < n; i++) {
		hv = evs[i].data.ptr;
		if (hv->dead)
			continue;
		if (hv->kind == EV_TIMER) {
			err = curlep_timer_read(&e->ev);
			if (err)
				goto out;
		} else {
			curlep_event(&e->ev, hv, evs[i].events);
		}
	}
	curlep_timeout(&e->ev);
	reap(e, now);
	run_reqs(e, now);
	run_streams(e, now);
	/* Delivery: the only phase that calls the caller. */
	while (!e->freeing && !list_empty(&e->done)) {
		r = list_item(e->done.next, struct etcd_req);
		list_del(&r->link);
		req_deliver(e, r);
	}
	for (nx = e->streams.next; nx != &e->streams;) {
		s = list_item(nx, struct etcd_stream);
		nx = nx->next;
		if (e->freeing)
			break;
		if (!s->cancelled)
			etcd_pump(e, s, now);
	}
out:
	e->in_dispatch = 0;
	if (etcd_settle(e))
		return err;
	if (!err)
		err = etcd_rearm(e);
	return err;
}
