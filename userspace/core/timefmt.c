// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Wall-clock times as text (see timefmt.h): RFC 3339, relative to now and
 * @UNIX_SECONDS in, RFC 3339 UTC out. Pure: the caller passes "now".
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "timefmt.h"

#define NS_PER_SEC 1000000000ull

/* Digits of a fraction after '.' into ns; the end in *end. */
static __u64 parse_frac(const char *p, const char **end)
{
	__u64 ns = 0, scale = NS_PER_SEC / 10;

	while (*p >= '0' && *p <= '9') {
		ns += (__u64)(*p - '0') * scale;
		scale /= 10;
		p++;
	}
	*end = p;
	return ns;
}

/* A time before the epoch or past 2554-07-21T23:34:33.709551615Z (__u64 ns). */
static int range_error(const char *text)
{
	err_set("bad time '%s': out of range (times go from 1970-01-01T00:00:00Z to "
		"2554-07-21T23:34:33Z)",
		text);
	return -EINVAL;
}

static int time_error(const char *text)
{
	err_set("bad time '%s': expected RFC 3339 (2026-11-27T19:00:00Z, "
		"2026-11-27T20:00:00.5+01:00), relative (-5m, -90s, -2h, -1d, now) or "
		"@UNIX_SECONDS",
		text);
	return -EINVAL;
}

int timefmt_parse(const char *text, __u64 now_ns, __u64 *ns)
{
	const char *p = text;
	char *end;

	if (!strcmp(text, "now")) {
		*ns = now_ns;
		return 0;
	}
	if (*p == '@') {
		unsigned long long sec;
		__u64 frac = 0;

		if (p[1] < '0' || p[1] > '9')
			return time_error(text);
		errno = 0;
		sec = strtoull(p + 1, &end, 10);
		p = end;
		if (*p == '.')
			frac = parse_frac(p + 1, &p);
		if (errno || *p || sec > 18000000000ull)
			return time_error(text);
		*ns = (__u64)sec * NS_PER_SEC + frac;
		return 0;
	}
	if (*p == '-' || *p == '+') {
		static const struct {
			char unit;
			__u64 ns;
		} units[] = { { 's', NS_PER_SEC },
			      { 'm', 60 * NS_PER_SEC },
			      { 'h', 3600 * NS_PER_SEC },
			      { 'd', 86400 * NS_PER_SEC } };
		unsigned long long n;
		__u64 d = 0;
		size_t i;

		if (p[1] < '0' || p[1] > '9')
			return time_error(text);
		errno = 0;
		n = strtoull(p + 1, &end, 10);
		if (errno || end[0] == '\0' || end[1] != '\0' || n > 100000000ull)
			return time_error(text);
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (units[i].unit != end[0])
				continue;
			/* 213504 days of ns wrap __u64 (to 25 minutes). */
			if (n > UINT64_MAX / units[i].ns)
				return range_error(text);
			d = (__u64)n * units[i].ns;
		}
		if (!d && n)
			return time_error(text);
		if (*p == '-')
			*ns = d > now_ns ? 0 : now_ns - d;
		else if (d > UINT64_MAX - now_ns)
			return range_error(text);
		else
			*ns = now_ns + d;
		return 0;
	}
	{
		struct tm tm;
		__u64 frac = 0;
		long off = 0;
		time_t t;

		memset(&tm, 0, sizeof(tm));
		p = strptime(text, "%Y-%m-%d", &tm);
		if (!p || (*p != 'T' && *p != 't' && *p != ' '))
			return time_error(text);
		p = strptime(p + 1, "%H:%M:%S", &tm);
		if (!p)
			return time_error(text);
		if (*p == '.')
			frac = parse_frac(p + 1, &p);
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if ((*p == '+' || *p == '-') && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
			   p[2] <= '9' && p[3] == ':' && p[4] >= '0' && p[4] <= '9' &&
			   p[5] >= '0' && p[5] <= '9') {
			off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600L +
			      ((p[4] - '0') * 10 + (p[5] - '0')) * 60L;
			if (*p == '-')
				off = -off;
			p += 6;
		} else {
			return time_error(text);
		}
		if (*p)
			return time_error(text);
		t = timegm(&tm);
		if (t == (time_t)-1 || t - off < 0)
			return time_error(text);
		/* Year 2554 and later do not fit __u64 ns (they wrapped to 1970). */
		if ((__u64)(t - off) > (UINT64_MAX - frac) / NS_PER_SEC)
			return range_error(text);
		*ns = (__u64)(t - off) * NS_PER_SEC + frac;
		return 0;
	}
}

void timefmt_format(__u64 ns, char *buf, size_t size)
{
	time_t t = (time_t)(ns / NS_PER_SEC);
	char base[32];
	struct tm tm;

	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, size, "@%llu", (unsigned long long)(ns / NS_PER_SEC));
		return;
	}
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%03lluZ", base, (unsigned long long)(ns % NS_PER_SEC / 1000000));
}
