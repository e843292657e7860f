// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CLI's value parsers (userspace/core/args.c, addr.c, rate.c,
 * timefmt.c) and the batch file's word splitter: the input is tried as
 * every kind of value, and as a line of `sluice -b FILE`. What parses must
 * be in range and survive a round trip through its printer: an address
 * formats and parses back the same, a keyword's name parses back to it, a
 * time formats, a rate's figures invert without overflow.
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "args.h"
#include "fuzz.h"
#include "rate.h"
#include "timefmt.h"

static void keywords(const char *s)
{
	__u16 port;
	__u8 v, w;

	if (!args_parse_port(s, &port))
		fuzz_check(port > 0, "port 0 accepted");
	if (!args_parse_proto(s, &v)) {
		fuzz_check(!args_parse_proto(args_proto_name(v), &w) && w == v, "proto %u", v);
	}
	if (!args_parse_mode(s, &v)) {
		fuzz_check(!args_parse_mode(args_mode_name(v), &w) && w == v, "mode %u", v);
	}
	if (!args_parse_hash(s, &v)) {
		fuzz_check(!args_parse_hash(args_hash_name(v), &w) && w == v, "hash %u", v);
	}
}

static void numbers(const char *s, __u32 a, __u32 b)
{
	__u32 min = a < b ? a : b, max = a < b ? b : a, v;

	if (!args_parse_u32(s, min, max, "value", &v))
		fuzz_check(v >= min && v <= max, "%u outside %u..%u", v, min, max);
	if (!args_parse_u32(s, 0, UINT32_MAX, "value", &v))
		fuzz_check(1, "any");
	if (!args_parse_count(s, max, "rate", &v))
		fuzz_check(v <= max, "count %u past %u", v, max);
}

static void address(const char *s)
{
	union sluice_addr a, b;
	char buf[ADDR_STRLEN];

	if (addr_parse(s, &a))
		return;
	fuzz_check(!addr_format(&a, buf, sizeof(buf)), "addr_format");
	fuzz_check(!addr_parse(buf, &b) && !memcmp(&a, &b, sizeof(a)), "%s -> %s", s, buf);
}

static void time_text(const char *s, __u64 now)
{
	char buf[40];
	__u64 ns;

	if (timefmt_parse(s, now, &ns))
		return;
	timefmt_format(ns, buf, sizeof(buf));
	fuzz_check(buf[0], "empty time");
}

static void rate(__u32 pps, __u32 burst)
{
	struct sluice_rate r;

	if (rate_make(pps, burst, &r))
		return;
	if (!pps)
		return;
	fuzz_check(rate_interval(pps) > 0, "interval 0 for %u pps", pps);
	fuzz_check(rate_effective_pps(rate_interval(pps)) > 0, "0 pps for %u", pps);
	fuzz_check(rate_effective_burst(&r) > 0, "burst 0 for %u/%u", pps, burst);
}

/*
 * A batch line: at most max words, each no longer than the line; a line of
 * plain words (no quote, backslash, comment or control character) splits
 * exactly at its spaces.
 */
static void batch_line(const char *s)
{
	char *w[16], *copy, *tok, *save = NULL;
	const char *why = NULL;
	int n, i, plain = 1;
	size_t len = strlen(s);

	n = args_split_words(s, w, 16, &why);
	if (n < 0) {
		fuzz_check(why && *why, "no reason");
		return;
	}
	for (i = 0; i < n; i++)
		fuzz_check(strlen(w[i]) <= len, "word longer than the line");
	for (i = 0; s[i]; i++)
		if (s[i] == '\'' || s[i] == '"' || s[i] == '\\' || s[i] == '#' ||
		    (unsigned char)s[i] < ' ')
			plain = 0;
	copy = plain ? strdup(s) : NULL;
	for (i = 0, tok = copy ? strtok_r(copy, " ", &save) : NULL; tok;
	     tok = strtok_r(NULL, " ", &save), i++)
		fuzz_check(i < n && !strcmp(tok, w[i]), "plain word %d: '%s'", i, tok);
	fuzz_check(!copy || i == n, "%d plain words, %d split", i, n);
	free(copy);
	while (n)
		free(w[--n]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	__u32 a = 0, b = 0;
	__u64 now = 0;
	char *s;

	/* The first bytes double as numbers for the parsers that take them. */
	if (size >= 8) {
		memcpy(&a, data, 4);
		memcpy(&b, data + 4, 4);
		memcpy(&now, data, 8);
	}
	rate(a, b);
	s = fuzz_strndup(data, size);
	if (!s)
		return 0;
	keywords(s);
	numbers(s, a, b);
	address(s);
	time_text(s, now);
	time_text(s, 1795806000000000000ull);
	batch_line(s);
	free(s);
	return 0;
}
