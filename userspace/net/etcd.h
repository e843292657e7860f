/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * An etcd v3 client over etcd's JSON gateway (grpc-gateway, /v3/...), built
 * on libcurl's multi socket interface and json-c, driven by the caller's
 * event loop. No thread, no blocking call: the module owns one epoll set
 * (libcurl's sockets and one timerfd) and exposes it as one fd; the caller
 * watches that fd and calls etcd_dispatch() when it is readable (a timerfd
 * in the set makes it readable whenever something is due: no timeout to
 * compute on the caller's side).
 *
 * Endpoints: a list of base URLs ("http://127.0.0.1:2379",
 * "https://10.0.0.1:2379"). Every request goes to the current endpoint; a
 * transport failure (connection refused or reset, connect or request
 * timeout, HTTP 5xx from the gateway, "etcdserver: no leader") marks it bad
 * and moves to the next one, and the request is retried there until its
 * deadline. Endpoints that failed are tried again after a backoff doubling
 * from backoff_min_ms to backoff_max_ms; a success resets it. With several
 * endpoints an attempt gets half of the time left (at least what
 * connecting needs), so a hung member leaves time for another one.
 *
 * Requests: unary calls complete once through their callback (never from
 * inside the call that started them), with r->err 0 or -errno:
 * -ETIMEDOUT (deadline passed, every endpoint tried), -ECANCELED
 * (etcd_cancel(), etcd_free()), -EIO (etcd answered with an error: r->msg
 * says what), -EPROTO (an answer that is not the JSON expected), -EACCES
 * (authentication refused). Campaign has no deadline: it completes when
 * elected, or with an error when its connection breaks (-ECONNRESET; the
 * caller campaigns again with the same lease: etcd makes that idempotent).
 * Within the timeout from its start, a failed attempt moves to the next
 * endpoint as for any request; after it, a broken connection ends it. Note
 * that etcd withdraws a candidacy whose request ends (cancel, broken
 * connection), so campaigning again queues behind the candidates that
 * stayed. A retried request may have been applied already (etcd answered
 * "request timed out" but did it): a put_if may then conflict with itself.
 *
 * Connections without a deadline (streams, campaigns) are watched by TCP
 * keepalive: idle and interval the timeout rounded up to seconds, 3 probes.
 *
 * Streams (watch, observe) deliver events until cancelled. When the
 * connection breaks they reconnect by themselves (next endpoint, backoff):
 * a watch resumes at the revision after the last one delivered, so no
 * event is lost or repeated (if that revision was compacted, the stream
 * reports ETCD_EV_RESET with the oldest revision etcd kept and resumes
 * there: the caller re-reads, and may see again some of what it re-read);
 * an observe restarts and delivers the current leader again. ETCD_EV_DOWN
 * and ETCD_EV_UP tell the caller when a stream lost and regained its
 * server. Streams ask etcd to end them when their member loses the
 * cluster's leader (so they move to a member that has one), and a watch not
 * created within the timeout moves on too.
 *
 * Keys and values are byte strings (length given; also NUL-terminated for
 * convenience); the JSON gateway's base64 and int64-as-string encodings
 * never reach the caller.
 *
 * Auth: with user set, the client gets a token (/v3/auth/authenticate)
 * before its first request and again when etcd says it is invalid. TLS:
 * cacert/cert/key are handed to libcurl (CURLOPT_CAINFO, SSLCERT, SSLKEY).
 */
#ifndef SLUICE_ETCD_H
#define SLUICE_ETCD_H

#include <stddef.h>
#include <linux/types.h>

#define ETCD_ENDPOINTS_MAX 16
#define ETCD_TIMEOUT_DEFAULT_MS 1000 /* a unary request's deadline */
#define ETCD_CONNECT_TIMEOUT_DEFAULT_MS 300
#define ETCD_BACKOFF_MIN_DEFAULT_MS 100
#define ETCD_BACKOFF_MAX_DEFAULT_MS 2000

struct etcd_conf {
	const char *endpoints[ETCD_ENDPOINTS_MAX]; /* base URLs, no trailing slash */
	size_t nendpoints;			   /* >= 1 */
	__u32 timeout_ms;			   /* 0 = ETCD_TIMEOUT_DEFAULT_MS */
	__u32 connect_timeout_ms;		   /* 0 = default */
	__u32 backoff_min_ms, backoff_max_ms;	   /* 0 = defaults */
	const char *cacert, *cert, *key;	   /* TLS files, NULL = libcurl's defaults */
	const char *user, *password;		   /* auth, NULL = none */
};

/* One key-value as etcd returns it. */
struct etcd_kv {
	const char *key;
	size_t key_len;
	const char *value;
	size_t value_len;
	__s64 create_revision, mod_revision, version, lease;
};

/* What a unary request completes with; valid only during the callback. */
struct etcd_result {
	int err;	     /* 0 or -errno (see above) */
	const char *msg;     /* err != 0: what went wrong ("" otherwise) */
	__s64 revision;	     /* the answer's header.revision */
	struct etcd_kv *kvs; /* get: the keys found; leader/campaign: the leader's key */
	size_t nkvs;
	__s64 lease;   /* lease grant / keepalive: the lease id */
	__s64 ttl;     /* lease grant / keepalive: TTL left, s (keepalive: <= 0 = expired) */
	int succeeded; /* put_if: 1 when the compare held and the put was done */
	__s64 deleted; /* del: keys deleted */
};

typedef void (*etcd_cb)(void *ctx, const struct etcd_result *r);

enum etcd_event_type {
	ETCD_EV_PUT = 1,    /* kv set (observe: kv is the new leader's key and value) */
	ETCD_EV_DELETE = 2, /* kv deleted (kv.key set, no value) */
	ETCD_EV_RESET = 3,  /* watch: history compacted, resumed at revision: re-read */
	ETCD_EV_DOWN = 4,   /* the stream lost its server; it is reconnecting */
	ETCD_EV_UP = 5,	    /* the stream is (re)established */
};

struct etcd_event {
	enum etcd_event_type type;
	struct etcd_kv kv;
	__s64 revision; /* the event's revision (mod_revision; RESET: where it resumed) */
};

typedef void (*etcd_event_fn)(void *ctx, const struct etcd_event *ev);

struct etcd;
struct etcd_req;

/* A client; nothing is sent until the first request. -errno (err_set()). */
int etcd_new(struct etcd **e, const struct etcd_conf *c);

/* Cancel everything (callbacks run with -ECANCELED first), close every fd. NULL-safe. */
void etcd_free(struct etcd *e);

/* The one fd to watch for readability (an epoll fd). */
int etcd_fd(const struct etcd *e);

/* Do whatever is ready or due at now_ms (CLOCK_MONOTONIC ms). Never blocks. 0 or -errno. */
int etcd_dispatch(struct etcd *e, __u64 now_ms);

/* The endpoint requests go to now, and how many times the client moved to another. */
const char *etcd_endpoint(const struct etcd *e);
__u64 etcd_failovers(const struct etcd *e);

/*
 * Unary requests. Each returns 0 (the callback will run exactly once) or
 * -errno when it could not even be queued. *req (may be NULL) receives a
 * handle for etcd_cancel(), valid until the callback returns.
 */
int etcd_get(struct etcd *e, const char *key, size_t key_len, int prefix, etcd_cb cb, void *ctx,
	     struct etcd_req **req);
int etcd_put(struct etcd *e, const char *key, size_t key_len, const char *val, size_t val_len,
	     __s64 lease, etcd_cb cb, void *ctx, struct etcd_req **req);
/*
 * A put done only if key's mod_revision is mod_rev (0: the key must not
 * exist), as one txn; r->succeeded says which. On failure r->kvs holds
 * the key's current value (when it exists).
 */
int etcd_put_if(struct etcd *e, const char *key, size_t key_len, const char *val, size_t val_len,
		__s64 lease, __s64 mod_rev, etcd_cb cb, void *ctx, struct etcd_req **req);
int etcd_del(struct etcd *e, const char *key, size_t key_len, int prefix, etcd_cb cb, void *ctx,
	     struct etcd_req **req);

/* Leases. */
int etcd_lease_grant(struct etcd *e, __s64 ttl_s, etcd_cb cb, void *ctx, struct etcd_req **req);
/* One refresh; r->ttl <= 0 when the lease no longer exists. */
int etcd_lease_keepalive(struct etcd *e, __s64 lease, etcd_cb cb, void *ctx, struct etcd_req **req);
int etcd_lease_revoke(struct etcd *e, __s64 lease, etcd_cb cb, void *ctx, struct etcd_req **req);

/*
 * Elections (etcd's v3election service). campaign completes when lease's
 * candidacy in election name is the leader; r->kvs[0] is the leader key
 * (kept by the caller for proclaim and resign: key, create_revision,
 * lease; value is the value campaigned with). Cancelling a campaign
 * withdraws the candidacy. leader completes with the current leader (nkvs
 * 0: none, -ENOENT is not used).
 */
int etcd_campaign(struct etcd *e, const char *name, __s64 lease, const char *val, size_t val_len,
		  etcd_cb cb, void *ctx, struct etcd_req **req);
int etcd_proclaim(struct etcd *e, const char *name, const struct etcd_kv *leader_key,
		  const char *val, size_t val_len, etcd_cb cb, void *ctx, struct etcd_req **req);
int etcd_leader(struct etcd *e, const char *name, etcd_cb cb, void *ctx, struct etcd_req **req);
int etcd_resign(struct etcd *e, const char *name, const struct etcd_kv *leader_key, etcd_cb cb,
		void *ctx, struct etcd_req **req);

/*
 * Cancel a pending request: its callback runs at once with -ECANCELED
 * (inside its own callback: nothing happens).
 */
void etcd_cancel(struct etcd *e, struct etcd_req *req);

/*
 * Streams. watch: every change of key (or of every key under it with
 * prefix) from revision start_rev (0: from now). observe: the leader of
 * election name, now and at every change (ETCD_EV_PUT with the leader's
 * key and value; ETCD_EV_DELETE when the election has no leader left, kv
 * the former leader's key, or empty when there was none at the start). It
 * follows the election's keys itself (a watch on "name/", the layout of
 * etcd's election service) rather than /v3/election/observe, which says
 * nothing when the last candidate goes. ETCD_EV_UP comes before the first
 * leader event. The stream lives until etcd_stream_cancel() (safe inside
 * any callback) or etcd_free(). 0 or -errno.
 */
struct etcd_stream;
int etcd_watch(struct etcd *e, const char *key, size_t key_len, int prefix, __s64 start_rev,
	       etcd_event_fn fn, void *ctx, struct etcd_stream **s);
int etcd_observe(struct etcd *e, const char *name, etcd_event_fn fn, void *ctx,
		 struct etcd_stream **s);
void etcd_stream_cancel(struct etcd *e, struct etcd_stream *s);

/* --- The pure part, for tests: the JSON gateway's encoding --- */

/* The requests, as etcd_parse_answer() decodes their answers. */
enum etcd_op {
	ETCD_OP_GET = 1,
	ETCD_OP_PUT,
	ETCD_OP_PUT_IF,
	ETCD_OP_DEL,
	ETCD_OP_GRANT,
	ETCD_OP_KEEPALIVE,
	ETCD_OP_REVOKE,
	ETCD_OP_CAMPAIGN,
	ETCD_OP_PROCLAIM,
	ETCD_OP_LEADER,
	ETCD_OP_RESIGN,
	ETCD_OP_AUTH, /* the token is in kvs[0].value */
};

/*
 * Decode one answer of the gateway to op into r (r->msg points into msg).
 * Returns r->err: 0, -EIO (etcd's error, in msg), -EPROTO. Release r after.
 */
int etcd_parse_answer(enum etcd_op op, const char *text, size_t len, struct etcd_result *r,
		      char *msg, size_t msg_len);
void etcd_result_release(struct etcd_result *r);
/*
 * Decode a watch stream's text (one or more {"result":...} objects, as the
 * gateway streams them) and call fn for each event (ETCD_EV_RESET on
 * compaction); *next_rev becomes the revision to resume at (0 in: set from
 * the creation's revision). Returns the events delivered, -EIO (cancelled
 * by etcd or an error object), -EPROTO (not JSON).
 */
int etcd_parse_watch(const char *text, size_t len, __s64 *next_rev, etcd_event_fn fn, void *ctx);

/* base64 of len bytes into out (NUL-terminated, needs 4*((len+2)/3)+1). Returns its length. */
size_t etcd_b64_encode(const void *in, size_t len, char *out);
/* Decode text into out (room for 3*len/4); -EINVAL when it is not base64. Length otherwise. */
int etcd_b64_decode(const char *text, size_t len, void *out);
/* The end of a prefix range: key with its last byte < 0xff incremented ("\0" for all keys). */
size_t etcd_prefix_end(const char *key, size_t len, char *out);

#endif /* SLUICE_ETCD_H */
