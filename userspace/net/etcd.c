// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
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
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include "clock.h"
#include "curlep.h"
#include "err.h"
#include "etcd.h"

/* A circular doubly-linked list, kernel style: a head is a link to itself. */
struct link {
	struct link *prev, *next;
};

static void list_init(struct link *h)
{
	h->prev = h;
	h->next = h;
}

static int list_empty(const struct link *h)
{
	return h->next == h;
}

static void list_add_tail(struct link *h, struct link *n)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

static void list_del(struct link *n)
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

static __u64 min_u64(__u64 a, __u64 b)
{
	return a < b ? a : b;
}

static __u64 max_u64(__u64 a, __u64 b)
{
	return a > b ? a : b;
}

/* --- Pure part: base64, prefix ends --------------------------------------- */

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t etcd_b64_encode(const void *in, size_t len, char *out)
{
	const unsigned char *p = in;
	size_t i, o = 0;
	__u32 v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (__u32)p[i] << 16 | (__u32)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64_chars[v >> 18 & 63];
		out[o++] = b64_chars[v >> 12 & 63];
		out[o++] = b64_chars[v >> 6 & 63];
		out[o++] = b64_chars[v & 63];
	}
	if (i < len) {
		v = (__u32)p[i] << 16;
		if (i + 1 < len)
			v |= (__u32)p[i + 1] << 8;
		out[o++] = b64_chars[v >> 18 & 63];
		out[o++] = b64_chars[v >> 12 & 63];
		out[o++] = i + 1 < len ? b64_chars[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Padded standard base64, as Go's encoding/json writes []byte. */
int etcd_b64_decode(const char *text, size_t len, void *out)
{
	unsigned char *o = out;
	size_t i, n = 0, pad = 0;
	int j, d;
	__u32 v;

	if (len % 4 || len / 4 * 3 > INT32_MAX)
		return -EINVAL;
	if (len && text[len - 1] == '=')
		pad = len >= 2 && text[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len; i += 4) {
		v = 0;
		for (j = 0; j < 4; j++) {
			if (i + 4 == len && j >= 4 - (int)pad) {
				v <<= 6;
				continue;
			}
			d = b64_val(text[i + j]);
			if (d < 0)
				return -EINVAL;
			v = v << 6 | (__u32)d;
		}
		o[n++] = (unsigned char)(v >> 16);
		if (i + 4 < len || pad < 2)
			o[n++] = (unsigned char)(v >> 8);
		if (i + 4 < len || pad < 1)
			o[n++] = (unsigned char)v;
	}
	return (int)n;
}

size_t etcd_prefix_end(const char *key, size_t len, char *out)
{
	size_t i = len;

	while (i > 0 && (unsigned char)key[i - 1] == 0xff)
		i--;
	if (!i) {
		/* Only 0xff bytes (or none): everything from key on. */
		out[0] = '\0';
		return 1;
	}
	memcpy(out, key, i);
	out[i - 1] = (char)((unsigned char)out[i - 1] + 1);
	return i;
}

/* --- Pure part: the gateway's JSON ---------------------------------------- */

static json_object *jget(json_object *o, const char *k)
{
	json_object *v;

	return o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, k, &v)
		       ? v
		       : NULL;
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v = jget(o, k);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* int64 fields come as strings ("12"), small ones sometimes as numbers. */
static __s64 ji64(json_object *o, const char *k)
{
	json_object *v = jget(o, k);

	if (!v)
		return 0;
	if (json_object_is_type(v, json_type_string))
		return strtoll(json_object_get_string(v), NULL, 10);
	return json_object_get_int64(v);
}

static int jbool(json_object *o, const char *k)
{
	json_object *v = jget(o, k);

	return v && json_object_get_boolean(v);
}

static int jadd_bytes(json_object *o, const char *name, const void *p, size_t len)
{
	char *t = malloc(4 * ((len + 2) / 3) + 1);
	json_object *s;

	if (!t)
		return -ENOMEM;
	etcd_b64_encode(p, len, t);
	s = json_object_new_string(t);
	free(t);
	if (!s)
		return -ENOMEM;
	json_object_object_add(o, name, s);
	return 0;
}

static int jadd_i64(json_object *o, const char *name, __s64 v)
{
	char b[24];
	json_object *s;

	snprintf(b, sizeof(b), "%lld", (long long)v);
	s = json_object_new_string(b);
	if (!s)
		return -ENOMEM;
	json_object_object_add(o, name, s);
	return 0;
}

/* Decode the base64 field k into a NUL-terminated copy at *p (room for it: room). */
static int jbytes_into(json_object *o, const char *k, char *p, size_t *len)
{
	const char *t = jstr(o, k);
	int n;

	*len = 0;
	p[0] = '\0';
	if (!t)
		return 0;
	n = etcd_b64_decode(t, strlen(t), p);
	if (n < 0)
		return n;
	p[n] = '\0';
	*len = (size_t)n;
	return 0;
}

static size_t b64_room(json_object *o, const char *k)
{
	const char *t = jstr(o, k);

	return t ? strlen(t) / 4 * 3 + 1 : 1;
}

/*
 * A KeyValue (key, value, revisions, lease) into kv; key and value share
 * one block at kv->key (free() it). keyf names the key field ("key").
 */
static int kv_decode(json_object *o, struct etcd_kv *kv)
{
	size_t kroom = b64_room(o, "key"), vroom = b64_room(o, "value");
	char *blk;

	memset(kv, 0, sizeof(*kv));
	if (!o || !json_object_is_type(o, json_type_object))
		return -EPROTO;
	blk = malloc(kroom + vroom);
	if (!blk)
		return -ENOMEM;
	if (jbytes_into(o, "key", blk, &kv->key_len) ||
	    jbytes_into(o, "value", blk + kroom, &kv->value_len)) {
		free(blk);
		return -EPROTO;
	}
	kv->key = blk;
	kv->value = blk + kroom;
	kv->create_revision = ji64(o, "create_revision");
	kv->mod_revision = ji64(o, "mod_revision");
	kv->version = ji64(o, "version");
	kv->lease = ji64(o, "lease");
	return 0;
}

void etcd_result_release(struct etcd_result *r)
{
	size_t i;

	for (i = 0; i < r->nkvs; i++)
		free((char *)r->kvs[i].key);
	free(r->kvs);
	r->kvs = NULL;
	r->nkvs = 0;
}

static int kvs_decode(json_object *arr, struct etcd_result *r)
{
	size_t i, n;
	int err;

	if (!arr)
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return -EPROTO;
	n = json_object_array_length(arr);
	if (!n)
		return 0;
	r->kvs = calloc(n, sizeof(*r->kvs));
	if (!r->kvs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		err = kv_decode(json_object_array_get_idx(arr, i), &r->kvs[i]);
		if (err)
			return err;
		r->nkvs++;
	}
	return 0;
}

/*
 * The error an answer carries, in either of the gateway's forms: unary
 * {"error":"...","message":"...","code":N} or streamed
 * {"error":{"grpc_code":N,"message":"..."}}. -EIO with msg and *code, or 0.
 */
static int answer_error(json_object *o, char *msg, size_t len, int *code)
{
	json_object *er = jget(o, "error");
	const char *m;

	if (!er)
		return 0;
	if (json_object_is_type(er, json_type_object)) {
		*code = (int)ji64(er, "grpc_code");
		m = jstr(er, "message");
	} else if (!jget(o, "header")) {
		*code = (int)ji64(o, "code");
		m = jstr(o, "message");
		if (!m || !*m)
			m = jstr(o, "error");
	} else {
		return 0; /* a response's own "error" field (lease grant) */
	}
	snprintf(msg, len, "%s", m && *m ? m : "etcd error without a message");
	return -EIO;
}

/* One JSON object filling text (trailing white space allowed), or NULL. */
static json_object *parse_whole(const char *text, size_t len)
{
	struct json_tokener *tok;
	json_object *o;
	size_t end;

	if (!len || len > INT32_MAX)
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, text, (int)len);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!o)
		return NULL;
	while (end < len && strchr(" \t\r\n", text[end]))
		end++;
	if (end != len || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int answer_decode(enum etcd_op op, json_object *root, struct etcd_result *r, char *msg,
			 size_t msg_len, int *code)
{
	json_object *o = root, *res = jget(root, "result"), *x;
	const char *t;
	int err;

	err = answer_error(root, msg, msg_len, code);
	if (!err && res) {
		/* A streamed answer (lease keepalive): {"result":{...}}. */
		o = res;
		err = answer_error(o, msg, msg_len, code);
	}
	if (err) {
		if (op == ETCD_OP_LEADER && strstr(msg, "election: no leader")) {
			msg[0] = '\0';
			*code = 0;
			return 0;
		}
		return err;
	}
	x = jget(o, "header");
	if (!x) {
		snprintf(msg, msg_len, "answer without a header");
		return -EPROTO;
	}
	r->revision = ji64(x, "revision");
	switch (op) {
	case ETCD_OP_GET:
		err = kvs_decode(jget(o, "kvs"), r);
		break;
	case ETCD_OP_PUT_IF:
		r->succeeded = jbool(o, "succeeded");
		x = jget(o, "responses");
		if (!r->succeeded && x && json_object_is_type(x, json_type_array) &&
		    json_object_array_length(x) > 0) {
			x = jget(json_object_array_get_idx(x, 0), "response_range");
			err = kvs_decode(jget(x, "kvs"), r);
		}
		break;
	case ETCD_OP_DEL:
		r->deleted = ji64(o, "deleted");
		break;
	case ETCD_OP_GRANT:
	case ETCD_OP_KEEPALIVE:
		t = jstr(o, "error");
		if (t && *t) {
			snprintf(msg, msg_len, "%s", t);
			return -EIO;
		}
		r->lease = ji64(o, "ID");
		r->ttl = ji64(o, "TTL");
		break;
	case ETCD_OP_CAMPAIGN:
		x = jget(o, "leader");
		if (!x) {
			snprintf(msg, msg_len, "campaign answer without a leader key");
			return -EPROTO;
		}
		r->kvs = calloc(1, sizeof(*r->kvs));
		if (!r->kvs)
			return -ENOMEM;
		err = kv_decode(x, &r->kvs[0]);
		if (err)
			break;
		r->nkvs = 1;
		/* A LeaderKey: "rev" is the key's create revision. */
		r->kvs[0].create_revision = ji64(x, "rev");
		break;
	case ETCD_OP_LEADER:
		x = jget(o, "kv");
		if (!x)
			break;
		r->kvs = calloc(1, sizeof(*r->kvs));
		if (!r->kvs)
			return -ENOMEM;
		err = kv_decode(x, &r->kvs[0]);
		if (!err)
			r->nkvs = 1;
		break;
	case ETCD_OP_AUTH:
		t = jstr(o, "token");
		if (!t || !*t) {
			snprintf(msg, msg_len, "authentication answer without a token");
			return -EPROTO;
		}
		r->kvs = calloc(1, sizeof(*r->kvs));
		if (!r->kvs)
			return -ENOMEM;
		r->kvs[0].key = strdup(t);
		if (!r->kvs[0].key)
			return -ENOMEM;
		r->kvs[0].value = r->kvs[0].key;
		r->kvs[0].value_len = strlen(t);
		r->nkvs = 1;
		break;
	default:
		break;
	}
	if (err == -EPROTO)
		snprintf(msg, msg_len, "answer with a malformed key-value");
	return err;
}

static int answer_parse(enum etcd_op op, const char *text, size_t len, struct etcd_result *r,
			char *msg, size_t msg_len, int *code)
{
	json_object *root;
	int err;

	memset(r, 0, sizeof(*r));
	msg[0] = '\0';
	r->msg = msg;
	*code = 0;
	root = parse_whole(text, len);
	if (!root) {
		snprintf(msg, msg_len, "answer is not a JSON object");
		r->err = -EPROTO;
		return r->err;
	}
	err = answer_decode(op, root, r, msg, msg_len, code);
	json_object_put(root);
	if (err) {
		etcd_result_release(r);
		if (err == -ENOMEM)
			snprintf(msg, msg_len, "out of memory decoding the answer");
	}
	r->err = err;
	return err;
}

int etcd_parse_answer(enum etcd_op op, const char *text, size_t len, struct etcd_result *r,
		      char *msg, size_t msg_len)
{
	int code;

	return answer_parse(op, text, len, r, msg, msg_len, &code);
}

/* The next complete object in buf[*off..len) fed to tok; NULL: need more (or *bad). */
static json_object *next_obj(struct json_tokener *tok, const char *buf, size_t len, size_t *off,
			     int *bad)
{
	json_object *o;
	enum json_tokener_error jerr;

	*bad = 0;
	if (*off >= len)
		return NULL;
	o = json_tokener_parse_ex(tok, buf + *off, (int)(len - *off));
	jerr = json_tokener_get_error(tok);
	*off += json_tokener_get_parse_end(tok);
	if (o) {
		json_tokener_reset(tok);
		if (!json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			*bad = 1;
			return NULL;
		}
		return o;
	}
	if (jerr != json_tokener_continue)
		*bad = 1;
	else
		*off = len;
	return NULL;
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

/* One watch answer: events to sink in order, *next_rev kept as the resume point. */
static enum wres watch_obj(json_object *root, __s64 *next_rev, struct wanswer *wa, ev_sink sink,
			   void *ctx)
{
	json_object *res, *evs, *ev;
	struct etcd_event e;
	__s64 rev, compact;
	const char *t;
	size_t i, n;
	int stop;

	memset(wa, 0, sizeof(*wa));
	if (answer_error(root, wa->msg, sizeof(wa->msg), &wa->code))
		return WR_FAIL;
	res = jget(root, "result");
	if (!res) {
		wa->code = -1;
		snprintf(wa->msg, sizeof(wa->msg), "watch answer without a result");
		return WR_FAIL;
	}
	rev = ji64(jget(res, "header"), "revision");
	if (jbool(res, "created")) {
		wa->created = 1;
		if (!*next_rev)
			*next_rev = rev + 1;
	}
	compact = ji64(res, "compact_revision");
	if (compact > 0) {
		/* What we asked for is gone: go on from the oldest revision kept. */
		memset(&e, 0, sizeof(e));
		e.type = ETCD_EV_RESET;
		e.revision = compact;
		*next_rev = compact;
		sink(ctx, &e);
		return WR_RESET;
	}
	if (jbool(res, "canceled")) {
		t = jstr(res, "cancel_reason");
		snprintf(wa->msg, sizeof(wa->msg), "%s", t && *t ? t : "watch cancelled by etcd");
		return WR_FAIL;
	}
	evs = jget(res, "events");
	n = evs && json_object_is_type(evs, json_type_array) ? json_object_array_length(evs) : 0;
	if (!n && !wa->created && rev >= *next_rev && *next_rev)
		*next_rev = rev + 1; /* progress: nothing of ours up to rev */
	for (i = 0; i < n; i++) {
		ev = json_object_array_get_idx(evs, i);
		memset(&e, 0, sizeof(e));
		if (kv_decode(jget(ev, "kv"), &e.kv)) {
			wa->code = -1;
			snprintf(wa->msg, sizeof(wa->msg),
				 "watch event with a malformed key-value");
			return WR_FAIL;
		}
		t = jstr(ev, "type");
		e.type = t && !strcmp(t, "DELETE") ? ETCD_EV_DELETE : ETCD_EV_PUT;
		e.revision = e.kv.mod_revision;
		if (e.revision >= *next_rev)
			*next_rev = e.revision + 1;
		stop = sink(ctx, &e);
		free((char *)e.kv.key);
		if (stop)
			return WR_STOP;
	}
	return WR_OK;
}

struct parse_watch_ctx {
	etcd_event_fn fn;
	void *ctx;
	int n;
};

static int parse_watch_sink(void *ctx, const struct etcd_event *ev)
{
	struct parse_watch_ctx *p = ctx;

	p->fn(p->ctx, ev);
	p->n++;
	return 0;
}

int etcd_parse_watch(const char *text, size_t len, __s64 *next_rev, etcd_event_fn fn, void *ctx)
{
	struct parse_watch_ctx p = { .fn = fn, .ctx = ctx };
	struct json_tokener *tok;
	struct wanswer wa;
	json_object *o;
	size_t off = 0;
	int bad = 0, err = 0;

	if (len > INT32_MAX)
		return -EINVAL;
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	while ((o = next_obj(tok, text, len, &off, &bad))) {
		enum wres w = watch_obj(o, next_rev, &wa, parse_watch_sink, &p);

		json_object_put(o);
		if (w == WR_FAIL) {
			err = wa.code < 0 ? -EPROTO : -EIO;
			break;
		}
	}
	json_tokener_free(tok);
	if (bad)
		return -EPROTO;
	return err ? err : p.n;
}

/* --- Endpoints ------------------------------------------------------------- */

/* Move off endpoint i (failed at now) to the next good one. */
static void ep_fail(struct etcd *e, int i, __u64 now)
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

static void ep_ok(struct etcd *e, int i)
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

/* --- Transfers --------------------------------------------------------------- */

static size_t curl_write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct xfer *x = userp;
	size_t n = size * nmemb, cap;
	char *b;

	if (x->len + n > ANSWER_MAX)
		return 0; /* cut: CURLE_WRITE_ERROR */
	if (x->len + n + 1 > x->cap) {
		cap = x->cap ? x->cap : 4096;
		while (cap < x->len + n + 1)
			cap *= 2;
		b = realloc(x->buf, cap);
		if (!b)
			return 0;
		x->buf = b;
		x->cap = cap;
	}
	memcpy(x->buf + x->len, data, n);
	x->len += n;
	x->buf[x->len] = '\0';
	return n;
}

/* A dead peer is noticed after idle + KEEPALIVE_CNT probes, data unacked as soon. */
static int curl_sockopt_cb(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
	struct etcd *e = clientp;
	int cnt = KEEPALIVE_CNT;
	unsigned int ut;
	__u32 s = (e->timeout_ms + 999) / 1000;

	(void)purpose;
	ut = (s + KEEPALIVE_CNT * s) * 1000;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof(ut));
	return CURL_SOCKOPT_OK;
}

/* Stop a transfer (if running), keeping nothing but ep. */
static void xfer_stop(struct etcd *e, struct xfer *x)
{
	if (x->easy) {
		curl_multi_remove_handle(e->ev.multi, x->easy);
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
	}
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	x->len = 0;
	x->done = 0;
	x->sent = 0;
}

static void xfer_free(struct etcd *e, struct xfer *x)
{
	xfer_stop(e, x);
	free(x->buf);
	x->buf = NULL;
	x->cap = 0;
}

/*
 * Start a POST of body to path on endpoint ep. total_ms: the transfer's
 * whole time (0: none, a stream or a campaign).
 */
static int xfer_start(struct etcd *e, struct xfer *x, int ep, const char *path, const char *body,
		      __u32 total_ms)
{
	char url[512], auth[1024];
	struct curl_slist *h;
	long idle = (long)((e->timeout_ms + 999) / 1000);
	long conn = (long)e->connect_ms;
	CURL *c;

	xfer_stop(e, x);
	x->ep = ep;
	if ((size_t)snprintf(url, sizeof(url), "%s%s", e->eps[ep].url, path) >= sizeof(url))
		return -ENAMETOOLONG;
	if (total_ms && conn > (long)total_ms)
		conn = (long)total_ms;
	c = curl_easy_init();
	if (!c)
		return -ENOMEM;
	x->easy = c;
	h = curl_slist_append(NULL, "Content-Type: application/json");
	x->hdrs = h;
	/* No "Expect: 100-continue" round trip. */
	h = h ? curl_slist_append(h, "Expect:") : NULL;
	if (h && e->token) {
		snprintf(auth, sizeof(auth), "Authorization: %s", e->token);
		h = curl_slist_append(h, auth);
	}
	/*
	 * etcd refuses requests and ends streams on a member that lost its
	 * leader (WithRequireLeader): they move to a member that has one
	 * instead of hanging until etcd's own timeout.
	 */
	if (h)
		h = curl_slist_append(h, "Grpc-Metadata-hasleader: true");
	if (!h)
		return -ENOMEM;
	if (curl_easy_setopt(c, CURLOPT_URL, url) ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(c, CURLOPT_NOPROXY, "*") ||
	    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "sluice-etcd/1") ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->hdrs) ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body)) ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, conn) ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)total_ms) ||
	    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) ||
	    curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, idle) ||
	    curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, idle) ||
	    curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, curl_sockopt_cb) ||
	    curl_easy_setopt(c, CURLOPT_SOCKOPTDATA, e) ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_write_cb) ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, x) || curl_easy_setopt(c, CURLOPT_PRIVATE, x) ||
	    (e->cacert && curl_easy_setopt(c, CURLOPT_CAINFO, e->cacert)) ||
	    (e->cert && curl_easy_setopt(c, CURLOPT_SSLCERT, e->cert)) ||
	    (e->key && curl_easy_setopt(c, CURLOPT_SSLKEY, e->key)))
		return -EINVAL;
	if (curl_multi_add_handle(e->ev.multi, c))
		return -ENOMEM;
	return 0;
}

/* A finished transfer: note how it ended and let curl go of it; the buffer stays. */
static void xfer_finish(struct etcd *e, struct xfer *x, CURLcode rc)
{
	long connected = 0;

	x->rc = rc;
	x->http = 0;
	x->oserr = 0;
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->http);
	curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &x->oserr);
	curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &connected);
	x->sent = connected > 0;
	curl_multi_remove_handle(e->ev.multi, x->easy);
	curl_easy_cleanup(x->easy);
	x->easy = NULL;
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	x->done = 1;
}

/* "http://...: Couldn't connect to server (Connection refused)". */
static void xfer_why(const struct etcd *e, const struct xfer *x, char *msg, size_t len)
{
	const char *url = x->ep >= 0 ? e->eps[x->ep].url : "?";

	if (x->oserr)
		snprintf(msg, len, "%s: %s (%s)", url, curl_easy_strerror(x->rc),
			 strerror((int)x->oserr));
	else
		snprintf(msg, len, "%s: %s", url, curl_easy_strerror(x->rc));
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

static int rearm(struct etcd *e)
{
	return curlep_arm(&e->ev, next_wake(e, clock_mono_ms()));
}

/* --- Requests ----------------------------------------------------------------------- */

static void req_free(struct etcd *e, struct etcd_req *r)
{
	xfer_free(e, &r->x);
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
	req_free(e, r);
}

static void auth_done(struct etcd *e, struct etcd_req *r, __u64 now);

/* r (on e->reqs) has its result: queue it for delivery. */
static void req_complete(struct etcd *e, struct etcd_req *r, __u64 now)
{
	list_del(&r->link);
	xfer_stop(e, &r->x);
	if (r->internal) {
		auth_done(e, r, now);
		req_free(e, r);
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
	xfer_stop(e, &r->x);
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

static void auth_invalidate(struct etcd *e, unsigned int gen)
{
	if (e->auth == AUTH_OK && gen == e->auth_gen) {
		e->auth = AUTH_NEED;
		free(e->token);
		e->token = NULL;
	}
}

static int grpc_transport(int code)
{
	return code == GRPC_UNAVAILABLE || code == GRPC_DEADLINE_EXCEEDED;
}

/* etcd refused the token (expired, or the auth store moved on): authenticate again. */
static int grpc_reauth(int code, const char *msg)
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
		xfer_why(e, x, r->last, sizeof(r->last));
		ep_fail(e, x->ep, now);
		req_retry(e, r, now);
		return;
	}
	err = answer_parse(r->op, x->buf ? x->buf : "", x->len, &r->res, r->msg, sizeof(r->msg),
			   &code);
	if ((err == -EPROTO && x->http >= 500) || (err == -EIO && grpc_transport(code))) {
		snprintf(r->last, sizeof(r->last), "%.100s: HTTP %ld: %.120s", e->eps[x->ep].url,
			 x->http, r->msg);
		ep_fail(e, x->ep, now);
		req_retry(e, r, now);
		return;
	}
	if (err == -EIO && !r->internal && e->auth != AUTH_OFF && grpc_reauth(code, r->msg)) {
		snprintf(r->last, sizeof(r->last), "%s", r->msg);
		auth_invalidate(e, r->auth_gen);
		req_retry(e, r, now);
		return;
	}
	ep_ok(e, x->ep);
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
	err = xfer_start(e, &r->x, ep, r->path, r->body, total);
	if (err) {
		req_fail(e, r, err, now, "cannot start a request to %s: %s", e->eps[ep].url,
			 strerror(-err));
		return;
	}
	r->state = RQ_RUN;
}

static int req_new(struct etcd *e, enum etcd_op op, const char *path, json_object *body, etcd_cb cb,
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
	return rearm(e);
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
	req_new(e, ETCD_OP_AUTH, "/v3/auth/authenticate", o, NULL, NULL, &r);
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

static void stream_free(struct etcd *e, struct etcd_stream *s)
{
	xfer_free(e, &s->x);
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

enum sfail {
	SF_PLAIN,     /* not the endpoint's fault: back off */
	SF_TRANSPORT, /* the endpoint failed: move on */
	SF_AUTH,      /* the token was refused */
};

/* The stream's connection is gone: reconnect later, tell the caller (pump). */
static void stream_fail(struct etcd *e, struct etcd_stream *s, enum sfail why, __u64 now)
{
	if (why == SF_TRANSPORT)
		ep_fail(e, s->x.ep, now);
	else if (why == SF_AUTH)
		auth_invalidate(e, s->auth_gen);
	xfer_stop(e, &s->x);
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
	if (grpc_transport(code) || (code <= 0 && http >= 500))
		return SF_TRANSPORT;
	if (grpc_reauth(code, msg))
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
	if (jadd_bytes(c, "key", s->key, s->key_len) ||
	    (s->end && jadd_bytes(c, "range_end", s->end, s->end_len)))
		goto out;
	if (s->phase == SP_WATCH) {
		if (s->next_rev > 0 && jadd_i64(c, "start_revision", s->next_rev))
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

static void stream_start(struct etcd *e, struct etcd_stream *s, int ep, __u64 now)
{
	int err;

	s->phase = s->observe && !s->have_range ? SP_RANGE : SP_WATCH;
	s->created = 0;
	s->off = 0;
	json_tokener_reset(s->tok);
	s->auth_gen = e->auth_gen;
	err = stream_body(s);
	if (!err)
		err = xfer_start(e, &s->x, ep, s->phase == SP_RANGE ? "/v3/kv/range" : "/v3/watch",
				 s->body, s->phase == SP_RANGE ? e->timeout_ms : 0);
	if (err) {
		stream_fail(e, s, SF_PLAIN, now);
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
		stream_fail(e, s, SF_TRANSPORT, now);
		return;
	}
	err = answer_parse(ETCD_OP_GET, s->x.buf ? s->x.buf : "", s->x.len, &r, msg, sizeof(msg),
			   &code);
	if (err) {
		stream_fail(e, s,
			    err == -EIO	       ? sfail_of(code, msg, s->x.http)
			    : s->x.http >= 500 ? SF_TRANSPORT
					       : SF_PLAIN,
			    now);
		return;
	}
	ep_ok(e, s->x.ep);
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
static void pump(struct etcd *e, struct etcd_stream *s, __u64 now)
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
	while ((o = next_obj(s->tok, s->x.buf, s->x.len, &s->off, &bad))) {
		w = watch_obj(o, &s->next_rev, &wa, s->observe ? observe_sink : watch_sink, &k);
		json_object_put(o);
		if (s->cancelled || e->freeing)
			return;
		if (wa.created && !s->created) {
			s->created = 1;
			s->retry_ms = 0;
			ep_ok(e, s->x.ep);
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
			xfer_stop(e, &s->x);
			json_tokener_reset(s->tok);
			s->off = 0;
			s->phase = SP_WAIT;
			s->due = now;
			s->have_range = 0;
			return;
		}
		if (w == WR_FAIL) {
			stream_fail(e, s, wa.code < 0 ? SF_TRANSPORT : sfail_of(wa.code, wa.msg, 0),
				    now);
			goto down;
		}
	}
	if (bad) {
		stream_fail(e, s, SF_TRANSPORT, now);
		goto down;
	}
	if (s->off >= s->x.len)
		s->off = s->x.len = 0;
	if (s->x.done) {
		/* A stream never ends by itself: its server went away. */
		stream_fail(e, s, SF_TRANSPORT, now);
		goto down;
	}
	return;
down:
	if (s->down_pending && !s->cancelled && !e->freeing) {
		s->down_pending = 0;
		emit_type(e, s, ETCD_EV_DOWN);
	}
}

static int stream_new(struct etcd *e, int observe, const char *key, size_t key_len, int prefix,
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
		stream_free(e, s);
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
	return rearm(e);
}

int etcd_watch(struct etcd *e, const char *key, size_t key_len, int prefix, __s64 start_rev,
	       etcd_event_fn fn, void *ctx, struct etcd_stream **s)
{
	return stream_new(e, 0, key, key_len, prefix, start_rev, fn, ctx, s);
}

int etcd_observe(struct etcd *e, const char *name, etcd_event_fn fn, void *ctx,
		 struct etcd_stream **s)
{
	size_t n = name ? strlen(name) : 0;
	char *pfx;
	int err;

	if (!n) {
		err_set("etcd: observe needs an election name");
		return -EINVAL;
	}
	/* etcd's election keys: "name/" followed by the lease in hex. */
	pfx = malloc(n + 2);
	if (!pfx)
		return -ENOMEM;
	memcpy(pfx, name, n);
	pfx[n] = '/';
	pfx[n + 1] = '\0';
	err = stream_new(e, 1, pfx, n + 1, 1, 0, fn, ctx, s);
	free(pfx);
	return err;
}

/* Free cancelled streams and dead sockets; finish a deferred etcd_free(). 1: e is gone. */
static void destroy(struct etcd *e);

static int settle(struct etcd *e)
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
			stream_free(e, s);
		}
	}
	curlep_free_dead(&e->ev);
	if (e->freeing) {
		destroy(e);
		return 1;
	}
	return 0;
}

void etcd_stream_cancel(struct etcd *e, struct etcd_stream *s)
{
	if (!e || !s || s->cancelled)
		return;
	s->cancelled = 1;
	xfer_stop(e, &s->x);
	if (!settle(e))
		rearm(e);
}

/* --- Requests: the API ------------------------------------------------------------ */

static json_object *body_key(const char *key, size_t key_len, int prefix)
{
	json_object *o = json_object_new_object();
	char *end;
	size_t n;

	if (!o)
		return NULL;
	if (prefix) {
		end = malloc(key_len + 1);
		if (!end)
			goto fail;
		n = etcd_prefix_end(key, key_len, end);
		if (jadd_bytes(o, "range_end", end, n)) {
			free(end);
			goto fail;
		}
		free(end);
	}
	if (!key_len) {
		key = "";
		key_len = 1; /* "\0".."\0": every key (an empty key is refused) */
	}
	if (jadd_bytes(o, "key", key, key_len))
		goto fail;
	return o;
fail:
	json_object_put(o);
	return NULL;
}

static int need_key(size_t key_len, int prefix)
{
	if (key_len || prefix)
		return 0;
	err_set("etcd: empty key");
	return -EINVAL;
}

int etcd_get(struct etcd *e, const char *key, size_t key_len, int prefix, etcd_cb cb, void *ctx,
	     struct etcd_req **req)
{
	int err = need_key(key_len, prefix);

	if (err)
		return err;
	return req_new(e, ETCD_OP_GET, "/v3/kv/range", body_key(key, key_len, prefix), cb, ctx,
		       req);
}

static json_object *body_put(const char *key, size_t key_len, const char *val, size_t val_len,
			     __s64 lease)
{
	json_object *o = body_key(key, key_len, 0);

	if (o && (jadd_bytes(o, "value", val, val_len) || (lease && jadd_i64(o, "lease", lease)))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int etcd_put(struct etcd *e, const char *key, size_t key_len, const char *val, size_t val_len,
	     __s64 lease, etcd_cb cb, void *ctx, struct etcd_req **req)
{
	int err = need_key(key_len, 0);

	if (err)
		return err;
	return req_new(e, ETCD_OP_PUT, "/v3/kv/put", body_put(key, key_len, val, val_len, lease),
		       cb, ctx, req);
}

int etcd_put_if(struct etcd *e, const char *key, size_t key_len, const char *val, size_t val_len,
		__s64 lease, __s64 mod_rev, etcd_cb cb, void *ctx, struct etcd_req **req)
{
	json_object *o, *arr, *cmp, *put, *op, *get;
	int err = need_key(key_len, 0);

	if (err)
		return err;
	o = json_object_new_object();
	cmp = body_key(key, key_len, 0);
	put = body_put(key, key_len, val, val_len, lease);
	get = body_key(key, key_len, 0);
	if (!o || !cmp || !put || !get)
		goto fail;
	/* A missing key has mod_revision 0: "must not exist" is the same compare. */
	json_object_object_add(cmp, "target", json_object_new_string("MOD"));
	json_object_object_add(cmp, "result", json_object_new_string("EQUAL"));
	if (jadd_i64(cmp, "mod_revision", mod_rev))
		goto fail;
	arr = json_object_new_array();
	if (!arr)
		goto fail;
	json_object_array_add(arr, cmp);
	cmp = NULL;
	json_object_object_add(o, "compare", arr);
	op = json_object_new_object();
	arr = json_object_new_array();
	if (!op || !arr) {
		json_object_put(op);
		json_object_put(arr);
		goto fail;
	}
	json_object_object_add(op, "request_put", put);
	put = NULL;
	json_object_array_add(arr, op);
	json_object_object_add(o, "success", arr);
	op = json_object_new_object();
	arr = json_object_new_array();
	if (!op || !arr) {
		json_object_put(op);
		json_object_put(arr);
		goto fail;
	}
	json_object_object_add(op, "request_range", get);
	get = NULL;
	json_object_array_add(arr, op);
	json_object_object_add(o, "failure", arr);
	return req_new(e, ETCD_OP_PUT_IF, "/v3/kv/txn", o, cb, ctx, req);
fail:
	json_object_put(o);
	json_object_put(cmp);
	json_object_put(put);
	json_object_put(get);
	if (req)
		*req = NULL;
	return -ENOMEM;
}

int etcd_del(struct etcd *e, const char *key, size_t key_len, int prefix, etcd_cb cb, void *ctx,
	     struct etcd_req **req)
{
	int err = need_key(key_len, prefix);

	if (err)
		return err;
	return req_new(e, ETCD_OP_DEL, "/v3/kv/deleterange", body_key(key, key_len, prefix), cb,
		       ctx, req);
}

static json_object *body_i64(const char *name, __s64 v)
{
	json_object *o = json_object_new_object();

	if (o && jadd_i64(o, name, v)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int etcd_lease_grant(struct etcd *e, __s64 ttl_s, etcd_cb cb, void *ctx, struct etcd_req **req)
{
	if (ttl_s <= 0) {
		err_set("etcd: lease TTL %lld s must be positive", (long long)ttl_s);
		return -EINVAL;
	}
	return req_new(e, ETCD_OP_GRANT, "/v3/lease/grant", body_i64("TTL", ttl_s), cb, ctx, req);
}

int etcd_lease_keepalive(struct etcd *e, __s64 lease, etcd_cb cb, void *ctx, struct etcd_req **req)
{
	/* A stream on the gateway: one request, one {"result":...}, then the end. */
	return req_new(e, ETCD_OP_KEEPALIVE, "/v3/lease/keepalive", body_i64("ID", lease), cb, ctx,
		       req);
}

int etcd_lease_revoke(struct etcd *e, __s64 lease, etcd_cb cb, void *ctx, struct etcd_req **req)
{
	return req_new(e, ETCD_OP_REVOKE, "/v3/lease/revoke", body_i64("ID", lease), cb, ctx, req);
}

static json_object *body_name(const char *name)
{
	json_object *o = json_object_new_object();

	if (o && jadd_bytes(o, "name", name, strlen(name))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int need_name(const char *name)
{
	if (name && *name)
		return 0;
	err_set("etcd: empty election name");
	return -EINVAL;
}

int etcd_campaign(struct etcd *e, const char *name, __s64 lease, const char *val, size_t val_len,
		  etcd_cb cb, void *ctx, struct etcd_req **req)
{
	struct etcd_req *r;
	json_object *o;
	int err = need_name(name);

	if (err)
		return err;
	o = body_name(name);
	if (o && (jadd_i64(o, "lease", lease) || jadd_bytes(o, "value", val, val_len))) {
		json_object_put(o);
		o = NULL;
	}
	err = req_new(e, ETCD_OP_CAMPAIGN, "/v3/election/campaign", o, cb, ctx, &r);
	if (req)
		*req = err ? NULL : r;
	if (err)
		return err;
	r->val = malloc(val_len + 1);
	if (!r->val) {
		list_del(&r->link);
		req_free(e, r);
		if (req)
			*req = NULL;
		return -ENOMEM;
	}
	if (val_len)
		memcpy(r->val, val, val_len);
	r->val[val_len] = '\0';
	r->val_len = val_len;
	return 0;
}

/* A LeaderKey {name, key, rev, lease} from the caller's copy of kvs[0]. */
static json_object *leader_key(const char *name, const struct etcd_kv *k)
{
	json_object *l = body_name(name);

	if (l && (jadd_bytes(l, "key", k->key, k->key_len) ||
		  jadd_i64(l, "rev", k->create_revision) || jadd_i64(l, "lease", k->lease))) {
		json_object_put(l);
		return NULL;
	}
	return l;
}

int etcd_proclaim(struct etcd *e, const char *name, const struct etcd_kv *lk, const char *val,
		  size_t val_len, etcd_cb cb, void *ctx, struct etcd_req **req)
{
	json_object *o, *l;
	int err = need_name(name);

	if (err)
		return err;
	o = json_object_new_object();
	l = leader_key(name, lk);
	if (!o || !l || jadd_bytes(o, "value", val, val_len)) {
		json_object_put(o);
		json_object_put(l);
		return -ENOMEM;
	}
	json_object_object_add(o, "leader", l);
	return req_new(e, ETCD_OP_PROCLAIM, "/v3/election/proclaim", o, cb, ctx, req);
}

int etcd_leader(struct etcd *e, const char *name, etcd_cb cb, void *ctx, struct etcd_req **req)
{
	int err = need_name(name);

	if (err)
		return err;
	return req_new(e, ETCD_OP_LEADER, "/v3/election/leader", body_name(name), cb, ctx, req);
}

int etcd_resign(struct etcd *e, const char *name, const struct etcd_kv *lk, etcd_cb cb, void *ctx,
		struct etcd_req **req)
{
	json_object *o, *l;
	int err = need_name(name);

	if (err)
		return err;
	o = json_object_new_object();
	l = leader_key(name, lk);
	if (!o || !l) {
		json_object_put(o);
		json_object_put(l);
		return -ENOMEM;
	}
	json_object_object_add(o, "leader", l);
	return req_new(e, ETCD_OP_RESIGN, "/v3/election/resign", o, cb, ctx, req);
}

void etcd_cancel(struct etcd *e, struct etcd_req *r)
{
	if (!e || !r || r->state == RQ_CB)
		return;
	list_del(&r->link);
	xfer_stop(e, &r->x);
	if (r->internal) {
		e->auth = e->auth == AUTH_PENDING ? AUTH_NEED : e->auth;
		req_free(e, r);
		return;
	}
	etcd_result_release(&r->res);
	memset(&r->res, 0, sizeof(r->res));
	r->res.err = -ECANCELED;
	snprintf(r->msg, sizeof(r->msg), "cancelled");
	req_deliver(e, r);
	if (!settle(e))
		rearm(e);
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
		stream_free(e, s);
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
	e->cb_depth++; /* settle() waits for the end of this */
	while (!list_empty(&e->reqs) || !list_empty(&e->done)) {
		r = list_item(list_empty(&e->reqs) ? e->done.next : e->reqs.next, struct etcd_req);
		etcd_cancel(e, r);
	}
	for (nx = e->streams.next; nx != &e->streams;) {
		s = list_item(nx, struct etcd_stream);
		nx = nx->next;
		s->cancelled = 1;
		xfer_stop(e, &s->x);
	}
	e->cb_depth--;
	settle(e);
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
		xfer_finish(e, x, rc);
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
			stream_fail(e, s, SF_TRANSPORT, now);
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
			stream_start(e, s, ep, now);
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
			pump(e, s, now);
	}
out:
	e->in_dispatch = 0;
	if (settle(e))
		return err;
	if (!err)
		err = rearm(e);
	return err;
}
