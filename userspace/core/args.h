/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Strict parsers for command arguments: ports, protocols, modes, counts and
 * rates, and the unique-prefix keyword matcher the CLI's dispatch tables use.
 * Each returns 0 or -errno and leaves a message (err.h) saying what is wrong
 * and what is accepted; outputs are written only on success.
 */
#ifndef SLUICE_ARGS_H
#define SLUICE_ARGS_H

#include <stddef.h>
#include <linux/types.h>

/* Port 1..65535, decimal, no sign, no junk. *port is in host order. */
int args_parse_port(const char *text, __u16 *port);

/* "tcp" or "udp" to IPPROTO_TCP / IPPROTO_UDP. */
int args_parse_proto(const char *text, __u8 *proto);

/* Name of IPPROTO_TCP / IPPROTO_UDP, or "?". */
const char *args_proto_name(__u8 proto);

/* Forwarding mode to enum sluice_mode: "local", "nat" or "ipip"; else -EINVAL. */
int args_parse_mode(const char *text, __u8 *mode);

/* Name of an enum sluice_mode value, or "?". */
const char *args_mode_name(__u8 mode);

/* Hash choice to enum sluice_hash: "5tuple" or "client"; else -EINVAL. */
int args_parse_hash(const char *text, __u8 *hash);

/* Name of an enum sluice_hash value, or "?". */
const char *args_hash_name(__u8 hash);

/*
 * Plain unsigned decimal (no suffix) in min..max; what names the value in
 * messages ("weight").
 */
int args_parse_u32(const char *text, __u32 min, __u32 max, const char *what, __u32 *value);

/*
 * Unsigned decimal count with an optional k (x1000) or m (x1000000) suffix,
 * e.g. "500", "10k", "2m", at most max. what names the value in messages
 * ("rate", "burst").
 */
int args_parse_count(const char *text, __u32 max, const char *what, __u32 *value);

/*
 * A bandwidth (egress-rate) into bits per second: a whole number with a
 * unit, bits per second (bit, kbit, mbit, gbit; any case) or bytes per
 * second (B, kB, MB, GB), decimal multiples (16mbit = 2MB = 16000000), or
 * 0 (unlimited). Non-zero: between SLUICE_PACE_RATE_MIN and _MAX bits/s.
 */
int args_parse_bitrate(const char *text, const char *what, __u64 *bps);

/* bps as args_parse_bitrate() reads it back: the largest exact unit (16mbit), or 0. */
void args_format_bitrate(__u64 bps, char *buf, size_t len);

/*
 * Find word in a table whose entries start with a `const char *` name:
 * an exact match, else the one entry the word is a prefix of. Returns the
 * index, -ENOENT when nothing matches (message lists the valid words) or
 * -ENOTUNIQ when the prefix matches several (message lists them). what names
 * the kind of word in messages ("command", "keyword").
 */
int args_keyword_find(const char *word, const void *table, size_t count, size_t stride,
		      const char *what);

#define ARGS_KEYWORD_FIND(word, table, what) \
	args_keyword_find(word, table, sizeof(table) / sizeof((table)[0]), sizeof((table)[0]), what)

/*
 * Split one line of a batch file into words (each malloc'ed, into w[0..]),
 * as a shell would for plain words: blanks separate, '...' and "..." quote
 * (a backslash escapes inside "..." and outside quotes), a # first on the
 * line starts a comment, the line ends at a newline. The count (0: blank
 * or comment; the caller frees the words), or -1 with *why set (too many
 * words, an open quote, out of memory) and nothing kept.
 */
int args_split_words(const char *s, char **w, int max, const char **why);

#endif /* SLUICE_ARGS_H */
