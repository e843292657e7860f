// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the etcd client's pure part (userspace/etcd.c): base64 as
 * the JSON gateway writes bytes (round trips over every byte value and
 * length, RFC 4648 vectors, bad input refused), prefix range ends (0xff
 * bytes carry, all-0xff and empty keys mean "everything from here"), the
 * decoding of each request's answer as etcd 3.4's gateway sends it (texts
 * captured from a real member), its two error forms, and watch streams
 * (events in order, the resume revision, progress, compaction, cancel).
 * Then the client's own machinery against a refused loopback port: bad
 * configurations, a deadline kept, no callback inside the call that
 * started it, cancel and free from inside callbacks (ASan checks the
 * memory in make check). The client against a real cluster:
 * tests/integration/test_etcd.sh.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "clock.h"
#include "etcd.h"

/* --- base64 ------------------------------------------------------------------ */

static void test_b64_vectors(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	char enc[64], dec[64];
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(etcd_b64_encode(v[i].in, strlen(v[i].in), enc), strlen(v[i].out));
		assert_string_equal(enc, v[i].out);
		n = etcd_b64_decode(v[i].out, strlen(v[i].out), dec);
		assert_int_equal(n, strlen(v[i].in));
		assert_memory_equal(dec, v[i].in, (size_t)n);
	}
}

static void test_b64_round_trip(void **state)
{
	unsigned char in[300], dec[300];
	char enc[4 * 100 + 1];
	size_t len, i, n;

	(void)state;
	/* Every byte value, at every length 0..300 (so every tail: 0, 1, 2 bytes). */
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(255 - i * 7);
	for (len = 0; len <= 300; len++) {
		n = etcd_b64_encode(in, len, enc);
		assert_int_equal(n, 4 * ((len + 2) / 3));
		assert_int_equal(strlen(enc), n);
		assert_int_equal(etcd_b64_decode(enc, n, dec), (int)len);
		assert_memory_equal(dec, in, len);
	}
}

static void test_b64_bad(void **state)
{
	static const char *const bad[] = {
		"Zg",	    /* not a multiple of 4 */
		"Zm9",	    /* idem */
		"Zm9v\n",   /* white space */
		"Zm 9",	    /* idem */
		"Zg=a",	    /* '=' inside */
		"Z===",	    /* three pads */
		"====",	    /* only pads */
		"Zm-v",	    /* URL-safe alphabet: not the gateway's */
		"Zm_v",	    /* idem */
		"Zm9v*A==", /* a foreign character */
		"Zm=vYg==", /* a pad in the middle */
	};
	char dec[16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(etcd_b64_decode(bad[i], strlen(bad[i]), dec), -EINVAL);
	assert_int_equal(etcd_b64_decode("", 0, dec), 0);
}

/* --- prefix ends --------------------------------------------------------------- */

static void check_end(const char *key, size_t len, const char *want, size_t want_len)
{
	char out[16];
	size_t n = etcd_prefix_end(key, len, out);

	assert_int_equal(n, want_len);
	assert_memory_equal(out, want, want_len);
}

static void test_prefix_end(void **state)
{
	(void)state;
	check_end("abc", 3, "abd", 3);
	check_end("/sluice/", 8, "/sluice0", 8);
	check_end("a\xfe", 2, "a\xff", 2);
	/* 0xff bytes cannot be incremented: they go, the byte before carries. */
	check_end("ab\xff", 3, "ac", 2);
	check_end("a\xff\xff", 3, "b", 1);
	check_end("\x00", 1, "\x01", 1);
	check_end("a\x00", 2, "a\x01", 2);
	/* Nothing to increment: "\0" (etcd: every key from key on). */
	check_end("\xff", 1, "\0", 1);
	check_end("\xff\xff\xff", 3, "\0", 1);
	check_end("", 0, "\0", 1);
}

/* --- answers ------------------------------------------------------------------------ */

#define HDR \
	"\"header\":{\"cluster_id\":\"1587\",\"member_id\":\"7383\",\"revision\":\"%s\",\"raft_term\":\"2\"}"

static char text[2048];

static const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static const char *fmt(const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(text, sizeof(text), f, ap);
	va_end(ap);
	return text;
}

static int parse(enum etcd_op op, const char *t, struct etcd_result *r, char *msg)
{
	return etcd_parse_answer(op, t, strlen(t), r, msg, 256);
}

static void test_answer_get(void **state)
{
	struct etcd_result r;
	char msg[256];

	(void)state;
	/* Two keys: "foo"="bar", and "\xff\0k" = "" with a lease. */
	assert_int_equal(parse(ETCD_OP_GET,
			       fmt("{" HDR ",\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"2\","
				   "\"mod_revision\":\"5\",\"version\":\"3\",\"value\":\"YmFy\"},"
				   "{\"key\":\"/wBr\",\"create_revision\":\"6\",\"mod_revision\":"
				   "\"6\",\"version\":\"1\",\"lease\":\"1353509941815749640\"}],"
				   "\"count\":\"2\"}",
				   "7"),
			       &r, msg),
			 0);
	assert_int_equal(r.err, 0);
	assert_string_equal(r.msg, "");
	assert_int_equal(r.revision, 7);
	assert_int_equal(r.nkvs, 2);
	assert_int_equal(r.kvs[0].key_len, 3);
	assert_string_equal(r.kvs[0].key, "foo");
	assert_string_equal(r.kvs[0].value, "bar");
	assert_int_equal(r.kvs[0].create_revision, 2);
	assert_int_equal(r.kvs[0].mod_revision, 5);
	assert_int_equal(r.kvs[0].version, 3);
	assert_int_equal(r.kvs[0].lease, 0);
	assert_int_equal(r.kvs[1].key_len, 3);
	assert_memory_equal(r.kvs[1].key, "\xff\0k", 3);
	assert_int_equal(r.kvs[1].value_len, 0);
	assert_string_equal(r.kvs[1].value, "");
	assert_int_equal(r.kvs[1].lease, 1353509941815749640LL);
	etcd_result_release(&r);
	assert_null(r.kvs);

	/* Nothing found: no "kvs" at all. */
	assert_int_equal(parse(ETCD_OP_GET, fmt("{" HDR "}", "2"), &r, msg), 0);
	assert_int_equal(r.nkvs, 0);
	assert_int_equal(r.revision, 2);
	etcd_result_release(&r);
}

static void test_answer_put_del(void **state)
{
	struct etcd_result r;
	char msg[256];

	(void)state;
	assert_int_equal(parse(ETCD_OP_PUT, fmt("{" HDR "}", "9"), &r, msg), 0);
	assert_int_equal(r.revision, 9);
	etcd_result_release(&r);
	assert_int_equal(parse(ETCD_OP_DEL, fmt("{" HDR ",\"deleted\":\"3\"}", "10"), &r, msg), 0);
	assert_int_equal(r.deleted, 3);
	etcd_result_release(&r);
	assert_int_equal(parse(ETCD_OP_DEL, fmt("{" HDR "}", "10"), &r, msg), 0);
	assert_int_equal(r.deleted, 0);
	etcd_result_release(&r);
}

static void test_answer_put_if(void **state)
{
	struct etcd_result r;
	char msg[256];

	(void)state;
	assert_int_equal(parse(ETCD_OP_PUT_IF,
			       fmt("{" HDR ",\"succeeded\":true,\"responses\":[{\"response_put\":{"
				   "\"header\":{\"revision\":\"3\"}}}]}",
				   "3"),
			       &r, msg),
			 0);
	assert_int_equal(r.succeeded, 1);
	assert_int_equal(r.nkvs, 0);
	etcd_result_release(&r);
	/* The compare failed: the key's current value comes back. */
	assert_int_equal(parse(ETCD_OP_PUT_IF,
			       fmt("{" HDR ",\"responses\":[{\"response_range\":{\"header\":{"
				   "\"revision\":\"2\"},\"kvs\":[{\"key\":\"Zm9v\","
				   "\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":"
				   "\"1\",\"value\":\"YmFy\"}],\"count\":\"1\"}}]}",
				   "2"),
			       &r, msg),
			 0);
	assert_int_equal(r.succeeded, 0);
	assert_int_equal(r.nkvs, 1);
	assert_string_equal(r.kvs[0].value, "bar");
	assert_int_equal(r.kvs[0].mod_revision, 2);
	etcd_result_release(&r);
}

static void test_answer_lease(void **state)
{
	struct etcd_result r;
	char msg[256];

	(void)state;
	assert_int_equal(parse(ETCD_OP_GRANT,
			       fmt("{" HDR ",\"ID\":\"1353509941815749645\",\"TTL\":\"5\"}", "2"),
			       &r, msg),
			 0);
	assert_int_equal(r.lease, 1353509941815749645LL);
	assert_int_equal(r.ttl, 5);
	etcd_result_release(&r);
	/* keepalive is streamed: {"result":{...}} and a newline. */
	assert_int_equal(parse(ETCD_OP_KEEPALIVE,
			       fmt("{\"result\":{" HDR ",\"ID\":\"42\",\"TTL\":\"4\"}}\n", "2"), &r,
			       msg),
			 0);
	assert_int_equal(r.lease, 42);
	assert_int_equal(r.ttl, 4);
	etcd_result_release(&r);
	/* An expired lease: no TTL. */
	assert_int_equal(parse(ETCD_OP_KEEPALIVE, fmt("{\"result\":{" HDR ",\"ID\":\"1\"}}\n", "2"),
			       &r, msg),
			 0);
	assert_int_equal(r.ttl, 0);
	etcd_result_release(&r);
	/* revoke of an unknown lease: the unary error form. */
	assert_int_equal(parse(ETCD_OP_REVOKE,
			       "{\"error\":\"etcdserver: requested lease not found\",\"message\":"
			       "\"etcdserver: requested lease not found\",\"code\":5}",
			       &r, msg),
			 -EIO);
	assert_int_equal(r.err, -EIO);
	assert_string_equal(r.msg, "etcdserver: requested lease not found");
	etcd_result_release(&r);
	/* The grant's own error field. */
	assert_int_equal(
		parse(ETCD_OP_GRANT, fmt("{" HDR ",\"error\":\"no space\"}", "2"), &r, msg), -EIO);
	assert_string_equal(msg, "no space");
	etcd_result_release(&r);
}

static void test_answer_election(void **state)
{
	struct etcd_result r;
	char msg[256];

	(void)state;
	assert_int_equal(parse(ETCD_OP_CAMPAIGN,
			       fmt("{" HDR ",\"leader\":{\"name\":\"ZWw=\",\"key\":"
				   "\"ZWwvMTJjOGEyMWVmMWUzMmMxMQ==\",\"rev\":\"3\",\"lease\":"
				   "\"1353509941815749649\"}}",
				   "3"),
			       &r, msg),
			 0);
	assert_int_equal(r.nkvs, 1);
	assert_string_equal(r.kvs[0].key, "el/12c8a21ef1e32c11");
	assert_int_equal(r.kvs[0].create_revision, 3);
	assert_int_equal(r.kvs[0].lease, 1353509941815749649LL);
	etcd_result_release(&r);
	assert_int_equal(parse(ETCD_OP_LEADER,
			       fmt("{" HDR ",\"kv\":{\"key\":\"ZWwvMTJjOGEyMWVmMWUzMmMxMQ==\","
				   "\"create_revision\":\"3\",\"mod_revision\":\"3\",\"version\":"
				   "\"1\",\"value\":\"djE=\",\"lease\":\"1353509941815749649\"}}",
				   "3"),
			       &r, msg),
			 0);
	assert_int_equal(r.nkvs, 1);
	assert_string_equal(r.kvs[0].value, "v1");
	etcd_result_release(&r);
	/* No leader: an error to the gateway, an empty answer to the caller. */
	assert_int_equal(parse(ETCD_OP_LEADER,
			       "{\"error\":\"election: no leader\",\"message\":\"election: no "
			       "leader\",\"code\":2}",
			       &r, msg),
			 0);
	assert_int_equal(r.nkvs, 0);
	assert_string_equal(r.msg, "");
	etcd_result_release(&r);
	/* ...but only for leader. */
	assert_int_equal(parse(ETCD_OP_RESIGN,
			       "{\"error\":\"election: no leader\",\"message\":\"election: no "
			       "leader\",\"code\":2}",
			       &r, msg),
			 -EIO);
	etcd_result_release(&r);
	assert_int_equal(parse(ETCD_OP_PROCLAIM, fmt("{" HDR "}", "4"), &r, msg), 0);
	etcd_result_release(&r);
}

static void test_answer_auth(void **state)
{
	struct etcd_result r;
	char msg[256];

	(void)state;
	assert_int_equal(parse(ETCD_OP_AUTH, fmt("{" HDR ",\"token\":\"ZHMhHnsWIuPIYHVe.9\"}", "1"),
			       &r, msg),
			 0);
	assert_int_equal(r.nkvs, 1);
	assert_string_equal(r.kvs[0].value, "ZHMhHnsWIuPIYHVe.9");
	etcd_result_release(&r);
	assert_int_equal(parse(ETCD_OP_AUTH, fmt("{" HDR "}", "1"), &r, msg), -EPROTO);
	etcd_result_release(&r);
}

static void test_answer_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"not json",
		"{\"header\":{\"revision\":\"1\"}",	       /* cut */
		"{\"header\":{\"revision\":\"1\"}} junk",      /* something after */
		"[1,2]",				       /* not an object */
		"{\"kvs\":[]}",				       /* no header */
		"{\"header\":{},\"kvs\":[{\"key\":\"Zm9\"}]}", /* bad base64 */
		"{\"header\":{},\"kvs\":{\"key\":\"Zm9v\"}}",  /* kvs not an array */
		"{\"header\":{},\"kvs\":[\"Zm9v\"]}",	       /* a kv not an object */
	};
	struct etcd_result r;
	char msg[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(etcd_parse_answer(ETCD_OP_GET, bad[i], strlen(bad[i]), &r, msg,
						   sizeof(msg)),
				 -EPROTO);
		assert_int_equal(r.err, -EPROTO);
		assert_true(strlen(r.msg) > 0);
		assert_null(r.kvs);
		etcd_result_release(&r);
	}
	/* The streamed error form, e.g. a member without a leader. */
	assert_int_equal(
		parse(ETCD_OP_GET,
		      "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":"
		      "\"etcdserver: no leader\",\"http_status\":\"Service Unavailable\"}}",
		      &r, msg),
		-EIO);
	assert_string_equal(msg, "etcdserver: no leader");
	etcd_result_release(&r);
}

/* --- watch streams ------------------------------------------------------------------ */

struct seen {
	int n;
	enum etcd_event_type type[16];
	char key[16][16];
	char val[16][16];
	__s64 rev[16];
};

static void on_event(void *ctx, const struct etcd_event *ev)
{
	struct seen *s = ctx;

	assert_true(s->n < 16);
	s->type[s->n] = ev->type;
	snprintf(s->key[s->n], sizeof(s->key[0]), "%s", ev->kv.key ? ev->kv.key : "");
	snprintf(s->val[s->n], sizeof(s->val[0]), "%s", ev->kv.value ? ev->kv.value : "");
	s->rev[s->n] = ev->revision;
	s->n++;
}

static int watch(const char *t, __s64 *next, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	return etcd_parse_watch(t, strlen(t), next, on_event, s);
}

static void test_watch_events(void **state)
{
	struct seen s;
	__s64 next = 0;
	char t[2048];

	(void)state;
	/* As the gateway streams it: created, a put, a txn of two, a delete. */
	snprintf(t, sizeof(t),
		 "{\"result\":{" HDR ",\"created\":true}}\n"
		 "{\"result\":{" HDR ",\"events\":[{\"kv\":{\"key\":\"Zm9v\",\"create_revision\":"
		 "\"2\",\"mod_revision\":\"4\",\"version\":\"2\",\"value\":\"eA==\"}}]}}\n"
		 "{\"result\":{" HDR
		 ",\"events\":[{\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"5\","
		 "\"value\":\"MQ==\"}},{\"kv\":{\"key\":\"Yg==\",\"mod_revision\":\"5\",\"value\":"
		 "\"Mg==\"}}]}}\n"
		 "{\"result\":{" HDR ",\"events\":[{\"type\":\"DELETE\",\"kv\":{\"key\":\"Zm9v\","
		 "\"mod_revision\":\"6\"}}]}}\n",
		 "3", "4", "5", "6");
	assert_int_equal(watch(t, &next, &s), 4);
	assert_int_equal(s.type[0], ETCD_EV_PUT);
	assert_string_equal(s.key[0], "foo");
	assert_string_equal(s.val[0], "x");
	assert_int_equal(s.rev[0], 4);
	assert_string_equal(s.key[1], "a");
	assert_string_equal(s.val[1], "1");
	assert_string_equal(s.key[2], "b");
	assert_int_equal(s.rev[2], 5);
	assert_int_equal(s.type[3], ETCD_EV_DELETE);
	assert_string_equal(s.key[3], "foo");
	assert_string_equal(s.val[3], "");
	assert_int_equal(s.rev[3], 6);
	/* Resume after the last event delivered. */
	assert_int_equal(next, 7);
}

static void test_watch_resume_point(void **state)
{
	struct seen s;
	__s64 next = 0;

	(void)state;
	/* Created at revision 10 with no start revision: what follows is from 11. */
	assert_int_equal(watch(fmt("{\"result\":{" HDR ",\"created\":true}}", "10"), &next, &s), 0);
	assert_int_equal(next, 11);
	/* A progress notification (no events) moves it along. */
	assert_int_equal(watch(fmt("{\"result\":{" HDR "}}", "20"), &next, &s), 0);
	assert_int_equal(next, 21);
	/* An explicit start is kept by the creation... */
	next = 5;
	assert_int_equal(watch(fmt("{\"result\":{" HDR ",\"created\":true}}", "30"), &next, &s), 0);
	assert_int_equal(next, 5);
	/* ...and is never moved back. */
	assert_int_equal(watch(fmt("{\"result\":{" HDR ",\"events\":[{\"kv\":{\"key\":\"YQ==\","
				   "\"mod_revision\":\"3\"}}]}}",
				   "30"),
			       &next, &s),
			 1);
	assert_int_equal(next, 5);
}

static void test_watch_compacted(void **state)
{
	struct seen s;
	__s64 next = 3;

	(void)state;
	/* The gateway's answer when start_revision was compacted (header revision 0). */
	assert_int_equal(
		watch("{\"result\":{\"header\":{\"cluster_id\":\"1\"},\"compact_revision\":"
		      "\"12\",\"canceled\":true}}",
		      &next, &s),
		1);
	assert_int_equal(s.type[0], ETCD_EV_RESET);
	assert_int_equal(s.rev[0], 12);
	assert_int_equal(next, 12);
}

static void test_watch_bad(void **state)
{
	struct seen s;
	__s64 next = 0;

	(void)state;
	assert_int_equal(watch("{\"result\":{\"header\":{},\"canceled\":true,\"cancel_reason\":"
			       "\"permission denied\"}}",
			       &next, &s),
			 -EIO);
	assert_int_equal(watch("{\"error\":{\"grpc_code\":14,\"message\":\"etcdserver: no "
			       "leader\"}}",
			       &next, &s),
			 -EIO);
	assert_int_equal(watch("{\"result\":{\"header\":{}}}{nope", &next, &s), -EPROTO);
	assert_int_equal(
		watch("{\"result\":{\"header\":{},\"events\":[{\"kv\":{\"key\":\"%%\"}}]}}", &next,
		      &s),
		-EPROTO);
	assert_int_equal(watch("{\"header\":{}}", &next, &s), -EPROTO);
	/* Events before the failure were delivered. */
	assert_int_equal(watch("{\"result\":{\"header\":{},\"events\":[{\"kv\":{\"key\":\"YQ==\","
			       "\"mod_revision\":\"8\"}}]}}{\"result\":{\"header\":{},"
			       "\"canceled\":true}}",
			       &next, &s),
			 -EIO);
	assert_int_equal(s.n, 1);
	assert_int_equal(next, 9);
}

/*
 * Revisions a decoder would have to step past INT64_MAX (issue 13, F5:
 * signed overflow at mod_revision 2^63-1), or negative ones, are malformed
 * answers: -EPROTO, nothing delivered, the resume point left alone.
 */
static void test_revision_range(void **state)
{
	static const char *const bad[] = { "9223372036854775807", "99999999999999999999", "-1",
					   "-9223372036854775808" };
	struct etcd_result r;
	struct seen s;
	char msg[256];
	__s64 next;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		next = 5;
		assert_int_equal(watch(fmt("{\"result\":{" HDR ",\"events\":[{\"kv\":{\"key\":"
					   "\"YQ==\",\"mod_revision\":\"%s\"}}]}}",
					   "3", bad[i]),
				       &next, &s),
				 -EPROTO);
		assert_int_equal(s.n, 0);
		assert_int_equal(next, 5);
		next = 0;
		assert_int_equal(
			watch(fmt("{\"result\":{" HDR ",\"created\":true}}", bad[i]), &next, &s),
			-EPROTO);
		assert_int_equal(next, 0);
		next = 5;
		assert_int_equal(watch(fmt("{\"result\":{" HDR "}}", bad[i]), &next, &s), -EPROTO);
		assert_int_equal(next, 5);
		/* The range answer a stream resumes from (revision + 1). */
		assert_int_equal(parse(ETCD_OP_GET, fmt("{" HDR "}", bad[i]), &r, msg), -EPROTO);
		assert_non_null(strstr(msg, "revision"));
		etcd_result_release(&r);
		assert_int_equal(
			parse(ETCD_OP_GET,
			      fmt("{" HDR ",\"kvs\":[{\"key\":\"YQ==\",\"create_revision\":"
				  "\"%s\"}]}",
				  "3", bad[i]),
			      &r, msg),
			-EPROTO);
		etcd_result_release(&r);
	}
	/* The largest revision that can be stepped past still decodes. */
	next = 5;
	assert_int_equal(watch(fmt("{\"result\":{" HDR ",\"events\":[{\"kv\":{\"key\":"
				   "\"YQ==\",\"mod_revision\":\"9223372036854775806\"}}]}}",
				   "3"),
			       &next, &s),
			 1);
	assert_int_equal(next, INT64_MAX);
}

/* --- the client, against a refused port ------------------------------------------------ */

/* A loopback URL where nothing listens: a port bound, then released. */
static void refused_url(char *url, size_t len)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	close(fd);
	snprintf(url, len, "http://127.0.0.1:%u", ntohs(sin.sin_port));
}

static struct etcd *client(__u32 timeout_ms)
{
	static char url[64];
	struct etcd_conf c = { .nendpoints = 1, .timeout_ms = timeout_ms };
	struct etcd *e = NULL;

	refused_url(url, sizeof(url));
	c.endpoints[0] = url;
	assert_int_equal(etcd_new(&e, &c), 0);
	return e;
}

/* Run e's loop until *flag is set or ms passed (e may be freed: *gone). */
static void loop(struct etcd *e, const int *flag, const int *gone, __u32 ms)
{
	struct epoll_event ev = { .events = EPOLLIN };
	__u64 end = clock_mono_ms() + ms;
	int ep = epoll_create1(0);

	assert_true(ep >= 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, etcd_fd(e), &ev), 0);
	while (!*flag && clock_mono_ms() < end) {
		if (epoll_wait(ep, &ev, 1, 50) == 1) {
			assert_int_equal(etcd_dispatch(e, clock_mono_ms()), 0);
			if (gone && *gone)
				break;
		}
	}
	close(ep);
}

static void test_client_conf(void **state)
{
	struct etcd_conf c = { 0 };
	struct etcd *e = (struct etcd *)&c;

	(void)state;
	assert_int_equal(etcd_new(&e, &c), -EINVAL); /* no endpoint */
	assert_null(e);
	c.nendpoints = 1;
	c.endpoints[0] = "ftp://127.0.0.1:2379";
	assert_int_equal(etcd_new(&e, &c), -EINVAL);
	c.endpoints[0] = "http://127.0.0.1:2379/";
	c.user = "root";
	assert_int_equal(etcd_new(&e, &c), -EINVAL); /* a user without a password */
	c.password = "x";
	assert_int_equal(etcd_new(&e, &c), 0);
	assert_string_equal(etcd_endpoint(e), "http://127.0.0.1:2379"); /* slash dropped */
	assert_int_equal(etcd_failovers(e), 0);
	etcd_free(e);
	etcd_free(NULL);
}

struct got {
	int n, err;
	char msg[256];
	__u64 at;
};

static void on_result(void *ctx, const struct etcd_result *r)
{
	struct got *g = ctx;

	g->n++;
	g->err = r->err;
	snprintf(g->msg, sizeof(g->msg), "%s", r->msg);
	g->at = clock_mono_ms();
}

static void test_client_deadline(void **state)
{
	struct etcd *e = client(300);
	struct got g = { 0 };
	__u64 t0 = clock_mono_ms();

	(void)state;
	assert_int_equal(etcd_get(e, "k", 1, 0, on_result, &g, NULL), 0);
	assert_int_equal(g.n, 0); /* never inside the call */
	assert_int_equal(etcd_get(e, "", 0, 0, on_result, &g, NULL), -EINVAL);
	loop(e, &g.n, NULL, 2000);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.err, -ETIMEDOUT);
	assert_non_null(strstr(g.msg, "Connection refused"));
	/* At the deadline (retried meanwhile), not before, not much after. */
	assert_true(g.at - t0 >= 300);
	assert_true(g.at - t0 < 450);
	etcd_free(e);
}

struct chain {
	struct etcd *e;
	struct etcd_req *other;
	struct etcd_stream *s;
	int n, gone, self_cancel;
	struct got second;
};

static void on_second(void *ctx, const struct etcd_result *r)
{
	on_result(&((struct chain *)ctx)->second, r);
}

static void on_event_none(void *ctx, const struct etcd_event *ev)
{
	(void)ctx;
	(void)ev;
}

static struct etcd_req *self_req;

/* First callback: cancel itself (nothing), the other request and the stream, then free all. */
static void on_first(void *ctx, const struct etcd_result *r)
{
	struct chain *c = ctx;

	assert_int_equal(r->err, -ETIMEDOUT);
	c->n++;
	etcd_cancel(c->e, self_req); /* inside its own callback: nothing */
	etcd_stream_cancel(c->e, c->s);
	etcd_stream_cancel(c->e, c->s); /* twice: nothing */
	if (c->other) {
		etcd_cancel(c->e, c->other);
		assert_int_equal(c->second.n, 1); /* its callback ran at once */
		assert_int_equal(c->second.err, -ECANCELED);
	}
	assert_int_equal(etcd_get(c->e, "k", 1, 0, on_second, c, &c->other), 0);
	etcd_free(c->e); /* the new request ends cancelled, the client later */
	assert_int_equal(c->second.n, 2);
	assert_int_equal(c->second.err, -ECANCELED);
	assert_int_equal(etcd_get(c->e, "k", 1, 0, on_second, c, NULL), -ESHUTDOWN);
	c->gone = 1;
}

static void test_client_cancel_free_in_callback(void **state)
{
	struct chain c = { 0 };

	(void)state;
	c.e = client(200);
	assert_int_equal(etcd_get(c.e, "k", 1, 0, on_first, &c, &self_req), 0);
	/* Ends at the same deadline: cancelled before its result is delivered. */
	assert_int_equal(etcd_watch(c.e, "w/", 2, 1, 0, on_event_none, NULL, &c.s), 0);
	assert_int_equal(etcd_campaign(c.e, "el", 1, "v", 1, on_second, &c, &c.other), 0);
	loop(c.e, &c.n, &c.gone, 2000);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.gone, 1);
}

static void test_client_cancel(void **state)
{
	struct etcd *e = client(1000);
	struct etcd_req *r = NULL;
	struct got g = { 0 };

	(void)state;
	assert_int_equal(etcd_put(e, "k", 1, "v", 1, 0, on_result, &g, &r), 0);
	assert_non_null(r);
	etcd_cancel(e, r);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.err, -ECANCELED);
	/* Freeing with requests pending: each ends cancelled, once. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(etcd_lease_grant(e, 5, on_result, &g, NULL), 0);
	assert_int_equal(etcd_lease_grant(e, 0, on_result, &g, NULL), -EINVAL);
	etcd_free(e);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.err, -ECANCELED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_vectors),
		cmocka_unit_test(test_b64_round_trip),
		cmocka_unit_test(test_b64_bad),
		cmocka_unit_test(test_prefix_end),
		cmocka_unit_test(test_answer_get),
		cmocka_unit_test(test_answer_put_del),
		cmocka_unit_test(test_answer_put_if),
		cmocka_unit_test(test_answer_lease),
		cmocka_unit_test(test_answer_election),
		cmocka_unit_test(test_answer_auth),
		cmocka_unit_test(test_answer_bad),
		cmocka_unit_test(test_watch_events),
		cmocka_unit_test(test_watch_resume_point),
		cmocka_unit_test(test_watch_compacted),
		cmocka_unit_test(test_watch_bad),
		cmocka_unit_test(test_revision_range),
		cmocka_unit_test(test_client_conf),
		cmocka_unit_test(test_client_deadline),
		cmocka_unit_test(test_client_cancel),
		cmocka_unit_test(test_client_cancel_free_in_callback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
