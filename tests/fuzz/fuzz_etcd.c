// SPDX-License-Identifier: GPL-2.0-only
/*
 * The etcd client's decoders (userspace/net/etcd_codec.c): the input is an
 * answer to each kind of request, a watch stream, base64 and a key for a
 * prefix's end. Answers that decode must be consistent (kvs present when
 * counted), watch resume points never move back, base64 round-trips.
 */
#include <string.h>

#include "etcd.h"
#include "fuzz.h"

struct seen {
	int n;
};

static void on_event(void *ctx, const struct etcd_event *ev)
{
	struct seen *s = ctx;

	fuzz_check(ev->type == ETCD_EV_RESET || ev->kv.key, "event without a key");
	fuzz_check(ev->revision >= 0, "revision %lld", (long long)ev->revision);
	s->n++;
}

static void answers(const char *text, size_t len)
{
	struct etcd_result r;
	char msg[256];
	int op;
	size_t i;

	for (op = ETCD_OP_GET; op <= ETCD_OP_AUTH; op++) {
		int err = etcd_parse_answer(op, text, len, &r, msg, sizeof(msg));

		fuzz_check(err == r.err, "err %d, r.err %d", err, r.err);
		fuzz_check(err || r.revision >= 0, "revision %lld", (long long)r.revision);
		for (i = 0; !err && i < r.nkvs; i++)
			fuzz_check(r.kvs[i].key && r.kvs[i].value, "kv %zu without key or value",
				   i);
		fuzz_check(!err || msg[0], "error %d without a message", err);
		etcd_result_release(&r);
	}
}

static void watch(const char *text, size_t len, __s64 start)
{
	struct seen s = { 0 };
	__s64 next = start;
	int n = etcd_parse_watch(text, len, &next, on_event, &s);

	fuzz_check(n < 0 || n == s.n, "%d events returned, %d delivered", n, s.n);
	fuzz_check(start <= 0 || next >= start || s.n, "resume point moved back: %lld < %lld",
		   (long long)next, (long long)start);
}

static void base64(const uint8_t *data, size_t size, const char *text)
{
	char *enc = malloc(4 * ((size + 2) / 3) + 1), *dec = malloc(size + 3);
	int n;

	if (!enc || !dec)
		goto out;
	etcd_b64_encode(data, size, enc);
	n = etcd_b64_decode(enc, strlen(enc), dec);
	fuzz_check(n == (int)size && !memcmp(dec, data, size), "base64 round trip");
	n = etcd_b64_decode(text, size, dec);
	fuzz_check(n < 0 || (size_t)n <= size / 4 * 3, "decoded %d from %zu", n, size);
	etcd_prefix_end((const char *)data, size, dec);
out:
	free(enc);
	free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);

	if (!text)
		return 0;
	answers(text, size);
	watch(text, size, 0);
	watch(text, size, 5);
	base64(data, size, text);
	free(text);
	return 0;
}
