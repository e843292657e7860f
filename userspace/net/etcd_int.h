/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The etcd client's insides, shared by its files and by nothing else
 * (etcd.h is the API):
 *   etcd_codec.c   the gateway's JSON and base64: request fields, answers, watch events
 *   etcd_xfer.c    one HTTP POST on libcurl's multi interface (struct xfer)
 *   etcd_engine.c  the client: endpoints and failover, requests, retries,
 *                  authentication, the dispatch
 *   etcd_stream.c  watch and observe streams: (re)connection, events, leaders
 *   etcd.c         the calls: kv, lease, watch, election
 *
 * The etcd v3 client (see etcd.h): requests and streams as HTTP POSTs to
 * etcd's JSON gateway on libcurl's multi socket interface, its sockets and
 * timer folded into the module's epoll set and timerfd (curlep.h, as in
 * health.c).
 *
 * One dispatch runs in phases, and only the last one calls the caller:
 *  1. socket events and curl's timer move data: answers accumulate in each
 *     transfer's buffer (curl's callbacks only copy bytes);
 *  2. finished transfers are reaped: a unary answer is decoded, then either
 *     completed (queued on e->done) or retried (another endpoint, within its
 *     deadline); a stream's end is only noted;
 *  3. deadlines and starts: waiting requests and streams whose time came;
 *  4. delivery: e->done in order, then each stream's buffered objects
 *     (json_tokener takes the gateway's concatenated {"result":...}
 *     objects as they come), then its end (ETCD_EV_DOWN, reconnection).
 * So no callback runs inside curl, nor inside the call that started its
 * request. What a callback cancels is unlinked at once but freed only when
 * the dispatch ends (streams), or is not referenced again (requests:
 * taken off a list before their callback runs). etcd_free() inside a
 * callback cancels everything and leaves the freeing to the outer call.
 *
 * Requests and streams are few (tens): lists scanned on each dispatch, no
 * heap. The gateway speaks HTTP/1.1: each stream and each request in
 * flight holds a connection, idle ones are reused by curl.
 */
#ifndef SLUICE_ETCD_INT_H
#define SLUICE_ETCD_INT_H

#include <stddef.h>
#include <time.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "clock.h"
#include "curlep.h"
#include "etcd.h"

/* A circular doubly-linked list, kernel style: a head is a link to itself. */
struct link {
	struct link *prev, *next;
};

static inline void list_init(struct link *h)
{
	h->prev = h;
	h->next = h;
}

static inline int list_empty(const struct link *h)
{
	return h->next == h;
}

static inline void list_add_tail(struct link *h, struct link *n)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

static inline void list_del(struct link *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n;
	n->next = n;
}

/*
 * The item of type holding link l (its member "link"). Loops take the next
 * link before the body, which may unlink the current item (never another).
 */
#define list_item(l, type) ((type *)(void *)((char *)(l)-offsetof(type, link)))

#define EV_BATCH 64
/* A transfer curl failed to end by its own timeout is cut this much later. */
#define GRACE_MS 1000
/* One answer, or a stream's unread bytes. */
#define ANSWER_MAX (64u << 20)
/* Unanswered keepalive probes before a connection counts as dead. */
#define KEEPALIVE_CNT 3
#define MSG_MAX 256

/* gRPC status codes the gateway passes on (google.golang.org/grpc/codes). */
#define GRPC_DEADLINE_EXCEEDED 4
#define GRPC_UNAVAILABLE 14
#define GRPC_UNAUTHENTICATED 16

enum ev_kind {
	EV_TIMER = 1,
	EV_CURL,
};

/* One HTTP exchange: a request's attempt, or a stream's connection. */
struct xfer {
	CURL *easy;
	struct curl_slist *hdrs;
	char *buf; /* the answer so far (stream: not yet parsed) */
	size_t len, cap;
	int ep;	    /* endpoint index */
	int done;   /* ended: rc, http, oserr are set */
	int sent;   /* the request reached a server (connected) */
	int stream; /* owner: a struct etcd_stream (else a struct etcd_req) */
	void *owner;
	CURLcode rc;
	long http, oserr;
};

struct ep {
	char *url;
	__u64 bad_until; /* resting after a failure until then, 0: good */
	__u32 backoff_ms;
};

enum rq_state {
	RQ_WAIT, /* on e->reqs, next attempt at due */
	RQ_RUN,	 /* on e->reqs, attempt in flight */
	RQ_DONE, /* on e->done, result ready */
	RQ_CB,	 /* on no list, its callback runs */
};

struct etcd_req {
	struct link link;
	enum etcd_op op;
	enum rq_state state;
	int internal; /* the client's own authentication */
	const char *path;
	char *body;
	etcd_cb cb;
	void *ctx;
	__u64 deadline, due;
	unsigned int auth_gen; /* token generation of the attempt */
	struct xfer x;
	char *val; /* campaign: the value, for kvs[0] */
	size_t val_len;
	struct etcd_result res;
	char msg[MSG_MAX];
	char last[MSG_MAX]; /* the last failure, for -ETIMEDOUT's message */
};

enum sphase {
	SP_WAIT,  /* (re)connect at due */
	SP_RANGE, /* observe: reading the candidates */
	SP_WATCH, /* the watch stream runs */
};

/* An election's candidate (observe): one key under "name/". */
struct cand {
	char *key; /* one block: key, NUL, value, NUL */
	size_t key_len;
	char *val;
	size_t val_len;
	__s64 create, mod, version, lease;
};

enum lead_seen {
	LEAD_UNKNOWN, /* nothing reported since (re)start */
	LEAD_NONE,
	LEAD_SOME,
};

struct etcd_stream {
	struct link link;
	int observe;
	int cancelled; /* unlinked and freed when the dispatch ends */
	char *key;     /* watch: the key (observe: "name/") */
	size_t key_len;
	char *end; /* range end, NULL: the key alone */
	size_t end_len;
	__s64 next_rev; /* where the watch (re)starts, 0: now */
	etcd_event_fn fn;
	void *ctx;
	enum sphase phase;
	__u64 due, create_by;
	__u32 retry_ms;
	int created, up, down_pending, have_range;
	unsigned int auth_gen;
	char *body;
	struct xfer x;
	size_t off; /* x.buf parsed so far */
	struct json_tokener *tok;
	struct cand *cands;
	size_t ncands;
	enum lead_seen lead;
	char *lead_key;
	size_t lead_len;
	__s64 lead_mod;
};

enum auth_state {
	AUTH_OFF, /* no user */
	AUTH_NEED,
	AUTH_PENDING,
	AUTH_OK,
};

struct etcd {
	struct curlep ev; /* the epoll set, its timerfd and libcurl (curlep.h) */
	struct ep eps[ETCD_ENDPOINTS_MAX];
	size_t neps, cur;
	__u64 failovers;
	__u32 timeout_ms, connect_ms, backoff_min, backoff_max;
	char *cacert, *cert, *key, *user, *password;
	enum auth_state auth;
	char *token;
	unsigned int auth_gen;
	__u64 auth_due;
	__u32 auth_backoff;
	struct link reqs, done; /* struct etcd_req: waiting or running; completed */
	struct link streams;	/* struct etcd_stream */
	int in_dispatch, cb_depth, freeing;
};

static inline __u64 min_u64(__u64 a, __u64 b)
{
	return a < b ? a : b;
}

static inline __u64 max_u64(__u64 a, __u64 b)
{
	return a > b ? a : b;
}

enum wres {
	WR_OK,
	WR_STOP,  /* the sink asked to stop */
	WR_RESET, /* compacted: resume at *next_rev */
	WR_FAIL,  /* cancelled by etcd or an error: code, msg */
};

struct wanswer {
	int created;
	int code;
	char msg[MSG_MAX];
};

/* Returns nonzero to stop. */
typedef int (*ev_sink)(void *ctx, const struct etcd_event *ev);

enum sfail {
	SF_PLAIN,     /* not the endpoint's fault: back off */
	SF_TRANSPORT, /* the endpoint failed: move on */
	SF_AUTH,      /* the token was refused */
};

/* etcd_codec.c */
int etcd_jadd_bytes(json_object *o, const char *name, const void *p, size_t len);
int etcd_jadd_i64(json_object *o, const char *name, __s64 v);
int etcd_answer_parse(enum etcd_op op, const char *text, size_t len, struct etcd_result *r,
		      char *msg, size_t msg_len, int *code);
json_object *etcd_next_obj(struct json_tokener *tok, const char *buf, size_t len, size_t *off,
			   int *bad);
enum wres etcd_watch_obj(json_object *root, __s64 *next_rev, struct wanswer *wa, ev_sink sink,
			 void *ctx);

/* etcd_xfer.c */
void etcd_xfer_stop(struct etcd *e, struct xfer *x);
void etcd_xfer_free(struct etcd *e, struct xfer *x);
int etcd_xfer_start(struct etcd *e, struct xfer *x, int ep, const char *path, const char *body,
		    __u32 total_ms);
void etcd_xfer_finish(struct etcd *e, struct xfer *x, CURLcode rc);
void etcd_xfer_why(const struct etcd *e, const struct xfer *x, char *msg, size_t len);

/* etcd_engine.c */
void etcd_ep_fail(struct etcd *e, int i, __u64 now);
void etcd_ep_ok(struct etcd *e, int i);
int etcd_grpc_transport(int code);
int etcd_grpc_reauth(int code, const char *msg);
int etcd_rearm(struct etcd *e);
void etcd_req_free(struct etcd *e, struct etcd_req *r);
int etcd_req_new(struct etcd *e, enum etcd_op op, const char *path, json_object *body, etcd_cb cb,
		 void *ctx, struct etcd_req **out);
void etcd_auth_invalidate(struct etcd *e, unsigned int gen);
int etcd_settle(struct etcd *e);

/* etcd_stream.c */
void etcd_stream_free(struct etcd *e, struct etcd_stream *s);
void etcd_stream_fail(struct etcd *e, struct etcd_stream *s, enum sfail why, __u64 now);
void etcd_stream_start(struct etcd *e, struct etcd_stream *s, int ep, __u64 now);
void etcd_pump(struct etcd *e, struct etcd_stream *s, __u64 now);
int etcd_stream_new(struct etcd *e, int observe, const char *key, size_t key_len, int prefix,
		    __s64 start_rev, etcd_event_fn fn, void *ctx, struct etcd_stream **out);

#endif
