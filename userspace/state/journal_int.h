/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The journal's insides, shared by its files and by nothing else (journal.h
 * is the API and the format):
 *   journal_record.c  record types, encoding and CRC, the wall clock
 *   journal_seg.c     segment files: names, listing, loading, zlib sealing
 *   journal.c         the writer: open with torn-tail recovery, append,
 *                     rotation, compaction
 *   journal_replay.c  command lists and payloads, iteration, replay
 */
#ifndef SLUICE_JOURNAL_INT_H
#define SLUICE_JOURNAL_INT_H

#include <stddef.h>
#include <linux/types.h>

#include "journal.h"

#define SEG_DIGITS 20
#define SEG_SUFFIX ".seg"
#define SEG_Z_SUFFIX ".seg.z"
#define SEG_NAME_MAX 64
#define NS_PER_SEC 1000000000ull

struct seg {
	__u64 first;
	int compressed;
	char name[SEG_NAME_MAX];
};

struct seglist {
	struct seg *v;
	size_t n;
};

/* journal_record.c */
int journal_record_find_valid(const unsigned char *b, size_t size, size_t off, __u64 expected,
			      size_t *at, __u64 *seq);

/* journal_seg.c */
void journal_seg_name(char *buf, __u64 first, int compressed);
int journal_seg_list(int dirfd, int writer, struct seglist *l);
int journal_seg_load(int dirfd, const struct seg *s, unsigned char **buf, size_t *size);
int journal_write_all(int fd, const void *buf, size_t len);
int journal_fsync_dir(int dirfd);
int journal_seg_seal(int dirfd, struct seg *s);

#endif
