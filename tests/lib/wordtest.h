/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wordtest: the table-driven check of a keyword parser and its namer (the
 * CLI's protocols, modes, hashes, leader sources): each good word parses to
 * its value and the value names the word again; each bad word is refused
 * with -EINVAL, leaving the value as it was. Header-only: it asserts.
 */
#ifndef SLUICE_WORDTEST_H
#define SLUICE_WORDTEST_H

#include <errno.h>
#include <stddef.h>
#include <linux/types.h>

/* A keyword and the value it stands for. */
struct word_case {
	const char *word;
	__u8 value;
};

static inline void check_words(int (*parse)(const char *, __u8 *), const char *(*name)(__u8),
			       const struct word_case *good, size_t ngood, const char *const *bad,
			       size_t nbad)
{
	size_t i;
	__u8 v;

	for (i = 0; i < ngood; i++) {
		v = (__u8)~good[i].value;
		if (parse(good[i].word, &v) || v != good[i].value)
			fail_msg("'%s' does not parse to %u", good[i].word, good[i].value);
		assert_string_equal(name(good[i].value), good[i].word);
	}
	for (i = 0; i < nbad; i++) {
		v = 0x5c;
		if (parse(bad[i], &v) != -EINVAL || v != 0x5c)
			fail_msg("'%s' is not refused with -EINVAL, the value untouched", bad[i]);
	}
}

#define CHECK_WORDS(parse, name, good, bad)                                 \
	check_words(parse, name, good, sizeof(good) / sizeof(good[0]), bad, \
		    sizeof(bad) / sizeof(bad[0]))

#endif
