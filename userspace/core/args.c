// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Strict argument parsers: nothing is accepted "mostly" (strtoul's leading
 * blanks, signs and trailing junk are all refused), so a typo is an error and
 * never a different value.
 */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "args.h"
#include "err.h"
#include "sluice_abi.h"

/* Digits only into a u64; -EINVAL on anything else, -ERANGE past limit. */
static int parse_digits(const char *s, size_t n, __u64 limit, __u64 *out)
{
	__u64 v = 0;
	size_t i;

	if (!n)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 10 + (__u64)(s[i] - '0');
		if (v > limit)
			return -ERANGE;
	}
	*out = v;
	return 0;
}

int args_parse_port(const char *text, __u16 *port)
{
	__u64 v;
	int err;

	if (!text || !*text) {
		err_set("missing port: give a number 1..65535");
		return -EINVAL;
	}
	err = parse_digits(text, strlen(text), 65535, &v);
	if (!err && v == 0)
		err = -ERANGE;
	if (err == -EINVAL) {
		err_set("invalid port '%s': give a number 1..65535", text);
		return err;
	}
	if (err) {
		err_set("port '%s' is out of range: give a number 1..65535", text);
		return err;
	}
	*port = (__u16)v;
	return 0;
}

int args_parse_proto(const char *text, __u8 *proto)
{
	if (text && !strcmp(text, "tcp")) {
		*proto = IPPROTO_TCP;
		return 0;
	}
	if (text && !strcmp(text, "udp")) {
		*proto = IPPROTO_UDP;
		return 0;
	}
	err_set("unknown protocol '%s': give tcp or udp", text ? text : "");
	return -EINVAL;
}

const char *args_proto_name(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	default:
		return "?";
	}
}

int args_parse_mode(const char *text, __u8 *mode)
{
	static const struct {
		const char *name;
		__u8 mode;
	} modes[] = {
		{ "local", SLUICE_MODE_LOCAL },
		{ "nat", SLUICE_MODE_NAT },
		{ "ipip", SLUICE_MODE_IPIP },
	};
	size_t i;

	for (i = 0; text && i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (!strcmp(text, modes[i].name)) {
			*mode = modes[i].mode;
			return 0;
		}
	}
	err_set("unknown mode '%s': valid modes are local, nat and ipip", text ? text : "");
	return -EINVAL;
}

const char *args_mode_name(__u8 mode)
{
	switch (mode) {
	case SLUICE_MODE_LOCAL:
		return "local";
	case SLUICE_MODE_NAT:
		return "nat";
	case SLUICE_MODE_IPIP:
		return "ipip";
	default:
		return "?";
	}
}

int args_parse_hash(const char *text, __u8 *hash)
{
	if (text && !strcmp(text, "5tuple")) {
		*hash = SLUICE_HASH_5TUPLE;
		return 0;
	}
	if (text && !strcmp(text, "client")) {
		*hash = SLUICE_HASH_CLIENT;
		return 0;
	}
	err_set("unknown hash '%s': give 5tuple (addresses, ports, protocol) or client (client address only)",
		text ? text : "");
	return -EINVAL;
}

const char *args_hash_name(__u8 hash)
{
	switch (hash) {
	case SLUICE_HASH_5TUPLE:
		return "5tuple";
	case SLUICE_HASH_CLIENT:
		return "client";
	default:
		return "?";
	}
}

int args_parse_u32(const char *text, __u32 min, __u32 max, const char *what, __u32 *value)
{
	__u64 v;
	int err;

	if (!text || !*text) {
		err_set("missing %s: give a number %u..%u", what, min, max);
		return -EINVAL;
	}
	err = parse_digits(text, strlen(text), max, &v);
	if (err == -EINVAL) {
		err_set("invalid %s '%s': give a number %u..%u", what, text, min, max);
		return err;
	}
	if (err || v < min) {
		err_set("%s '%s' is out of range: give a number %u..%u", what, text, min, max);
		return -ERANGE;
	}
	*value = (__u32)v;
	return 0;
}

int args_parse_count(const char *text, __u32 max, const char *what, __u32 *value)
{
	size_t n = text ? strlen(text) : 0;
	__u64 mult = 1, v;
	int err;

	if (!n) {
		err_set("missing %s value: give a number, optionally with k or m (10k, 2m)", what);
		return -EINVAL;
	}
	if (text[n - 1] == 'k' || text[n - 1] == 'K') {
		mult = 1000;
		n--;
	} else if (text[n - 1] == 'm' || text[n - 1] == 'M') {
		mult = 1000000;
		n--;
	}
	err = parse_digits(text, n, max, &v);
	if (err == -EINVAL) {
		err_set("invalid %s '%s': give a number, optionally with k or m (10k, 2m)", what,
			text);
		return err;
	}
	if (err || v * mult > max) {
		err_set("%s '%s' is too large: at most %u", what, text, max);
		return -ERANGE;
	}
	*value = (__u32)(v * mult);
	return 0;
}

/* The units of a bandwidth: suffix, bits per second of one, whether the case matters. */
static const struct {
	const char *suffix;
	__u64 bps;
	int exact_case; /* byte units: B is no b */
} rate_units[] = {
	{ "gbit", 1000000000ull, 0 }, { "mbit", 1000000ull, 0 },  { "kbit", 1000ull, 0 },
	{ "bit", 1ull, 0 },	      { "GB", 8000000000ull, 1 }, { "MB", 8000000ull, 1 },
	{ "kB", 8000ull, 1 },	      { "KB", 8000ull, 1 },	  { "B", 8ull, 1 },
};

#define RATE_HINT \
	"give a whole number with a unit, bits/s (500kbit, 16mbit, 1gbit) or bytes/s (64kB, 2MB), or 0 for unlimited"

int args_parse_bitrate(const char *text, const char *what, __u64 *bps)
{
	size_t n = text ? strlen(text) : 0, k, i;
	__u64 v;
	int err;

	if (n == 1 && text[0] == '0') {
		*bps = 0;
		return 0;
	}
	for (i = 0; i < sizeof(rate_units) / sizeof(rate_units[0]); i++) {
		k = strlen(rate_units[i].suffix);
		if (n <= k ||
		    (rate_units[i].exact_case ? strcmp(text + n - k, rate_units[i].suffix)
					      : strcasecmp(text + n - k, rate_units[i].suffix)))
			continue;
		err = parse_digits(text, n - k, SLUICE_PACE_RATE_MAX, &v);
		if (err == -EINVAL)
			break;
		if (err || v * rate_units[i].bps > SLUICE_PACE_RATE_MAX) {
			err_set("%s '%s' is too large: at most %llu gbit", what, text,
				SLUICE_PACE_RATE_MAX / 1000000000ull);
			return -ERANGE;
		}
		v *= rate_units[i].bps;
		if (v && v < SLUICE_PACE_RATE_MIN) {
			err_set("%s '%s' is too small: at least %llu kbit (0 for unlimited)", what,
				text, SLUICE_PACE_RATE_MIN / 1000);
			return -ERANGE;
		}
		*bps = v;
		return 0;
	}
	err_set("invalid %s '%s': %s", what, text ? text : "", RATE_HINT);
	return -EINVAL;
}

void args_format_bitrate(__u64 bps, char *buf, size_t len)
{
	static const char *const unit[] = { "gbit", "mbit", "kbit" };
	__u64 mult = 1000000000ull;
	size_t i;

	for (i = 0; bps && i < 3; i++, mult /= 1000) {
		if (bps % mult == 0) {
			snprintf(buf, len, "%llu%s", bps / mult, unit[i]);
			return;
		}
	}
	snprintf(buf, len, bps ? "%llubit" : "0", bps);
}

static const char *entry_name(const void *table, size_t i, size_t stride)
{
	return *(const char *const *)((const char *)table + i * stride);
}

static void list_words(char *buf, size_t len, const void *table, size_t count, size_t stride,
		       const char *prefix)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < count && used < len; i++) {
		const char *name = entry_name(table, i, stride);

		if (prefix && strncmp(name, prefix, strlen(prefix)))
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", name);
	}
}

int args_keyword_find(const char *word, const void *table, size_t count, size_t stride,
		      const char *what)
{
	size_t i, len = word ? strlen(word) : 0;
	int found = -ENOENT, matches = 0;
	char list[256];

	for (i = 0; len && i < count; i++) {
		const char *name = entry_name(table, i, stride);

		if (!strcmp(name, word))
			return (int)i;
		if (!strncmp(name, word, len)) {
			found = (int)i;
			matches++;
		}
	}
	if (matches == 1)
		return found;
	if (matches > 1) {
		list_words(list, sizeof(list), table, count, stride, word);
		err_set("ambiguous %s '%s': could be %s", what, word, list);
		return -ENOTUNIQ;
	}
	list_words(list, sizeof(list), table, count, stride, NULL);
	err_set("unknown %s '%s': expected one of %s", what, word ? word : "", list);
	return -ENOENT;
}

/* Free w[0..n): -1, for args_split_words()'s failures. */
static int words_free(char **w, int n)
{
	while (n)
		free(w[--n]);
	return -1;
}

int args_split_words(const char *s, char **w, int max, const char **why)
{
	int n = 0;

	for (;;) {
		char *word, *o;
		char q = 0;

		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (!*s || *s == '\n' || (*s == '#' && n == 0))
			return n;
		if (n == max) {
			*why = "too many words";
			return words_free(w, n);
		}
		word = o = calloc(1, strlen(s) + 1);
		if (!word) {
			*why = "out of memory";
			return words_free(w, n);
		}
		while (*s && *s != '\n' && (q || (*s != ' ' && *s != '\t' && *s != '\r'))) {
			if (!q && (*s == '\'' || *s == '"')) {
				q = *s++;
			} else if (q && *s == q) {
				q = 0;
				s++;
			} else if (*s == '\\' && q != '\'' && s[1] && s[1] != '\n') {
				*o++ = s[1];
				s += 2;
			} else {
				*o++ = *s++;
			}
		}
		*o = '\0';
		w[n++] = word;
		if (q) {
			*why = q == '"' ? "unterminated \"" : "unterminated '";
			return words_free(w, n);
		}
	}
}
