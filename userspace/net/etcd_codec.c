// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The etcd client's codec (etcd_int.h): base64 and prefix ends, the JSON
 * gateway's answers and watch events. Pure: no I/O, no client state.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <sodium.h>

#include "etcd_int.h"

/* --- Pure part: base64, prefix ends --------------------------------------- */

/*
 * base64 is libsodium's (sodium_bin2base64, sodium_base642bin): its decoder
 * is strict the way the gateway's Go encoder is exact (standard alphabet,
 * padding required and checked, no white space), so no check of our own is
 * needed around it. The codecs are pure: they need no sodium_init().
 */
size_t etcd_b64_encode(const void *in, size_t len, char *out)
{
	sodium_bin2base64(out, sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL), in,
			  len, sodium_base64_VARIANT_ORIGINAL);
	return strlen(out);
}

/* Padded standard base64, as Go's encoding/json writes []byte. */
int etcd_b64_decode(const char *text, size_t len, void *out)
{
	size_t n = 0;

	if (len % 4 || len / 4 * 3 > INT32_MAX)
		return -EINVAL;
	if (sodium_base642bin(out, len / 4 * 3, text, len, NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL))
		return -EINVAL;
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

/*
 * etcd revisions (and versions) count up from 0 and the client steps past
 * them (rev + 1); one at INT64_MAX, or a negative one, can only be a
 * malformed answer, and stepping past it would overflow.
 */
static int rev_ok(__s64 rev)
{
	return rev >= 0 && rev < INT64_MAX;
}

static int jbool(json_object *o, const char *k)
{
	json_object *v = jget(o, k);

	return v && json_object_get_boolean(v);
}

int etcd_jadd_bytes(json_object *o, const char *name, const void *p, size_t len)
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

int etcd_jadd_i64(json_object *o, const char *name, __s64 v)
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
	kv->create_revision = ji64(o, "create_revision");
	kv->mod_revision = ji64(o, "mod_revision");
	kv->version = ji64(o, "version");
	kv->lease = ji64(o, "lease");
	if (!rev_ok(kv->create_revision) || !rev_ok(kv->mod_revision) || !rev_ok(kv->version)) {
		free(blk);
		return -EPROTO;
	}
	kv->key = blk;
	kv->value = blk + kroom;
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
	if (!rev_ok(r->revision)) {
		snprintf(msg, msg_len, "answer with a revision out of range");
		return -EPROTO;
	}
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
		if (!rev_ok(r->kvs[0].create_revision))
			err = -EPROTO;
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

int etcd_answer_parse(enum etcd_op op, const char *text, size_t len, struct etcd_result *r,
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

	return etcd_answer_parse(op, text, len, r, msg, msg_len, &code);
}

/* The next complete object in buf[*off..len) fed to tok; NULL: need more (or *bad). */
json_object *etcd_next_obj(struct json_tokener *tok, const char *buf, size_t len, size_t *off,
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

/* One watch answer: events to sink in order, *next_rev kept as the resume point. */
enum wres etcd_watch_obj(json_object *root, __s64 *next_rev, struct wanswer *wa, ev_sink sink,
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
	if (!rev_ok(rev)) {
		wa->code = -1;
		snprintf(wa->msg, sizeof(wa->msg), "watch answer with a revision out of range");
		return WR_FAIL;
	}
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
	while ((o = etcd_next_obj(tok, text, len, &off, &bad))) {
		enum wres w = etcd_watch_obj(o, next_rev, &wa, parse_watch_sink, &p);

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
