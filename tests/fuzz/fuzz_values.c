// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CLI's value parsers (userspace/core/args.c, addr.c, rate.c,
 * timefmt.c): the input is tried as every kind of value. What parses must
 * be in range and survive a round trip through its printer: an address
 * formats and parses back the same, a keyword's name parses back to it, a
 * time formats, a rate's figures invert without overflow.
 */
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
	free(s);
	return 0;
}
