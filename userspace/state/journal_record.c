// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Journal records (journal_int.h, format in journal.h): the type names,
 * the wall clock that stamps records, a record's encoding (with its author,
 * or without, as before authors were recorded) and its CRC.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "args.h"
#include "journal_int.h"

static const char *const type_names[] = {
	[JOURNAL_COMMAND] = "command",	 [JOURNAL_FAILED] = "failed",
	[JOURNAL_CONFIG] = "config",	 [JOURNAL_HEALTH] = "health",
	[JOURNAL_BREAKER] = "breaker",	 [JOURNAL_ELECTION] = "election",
	[JOURNAL_SNAPSHOT] = "snapshot", [JOURNAL_PANIC] = "panic",
	[JOURNAL_BGP] = "bgp",
};

const char *journal_type_name(__u16 type)
{
	if (type == 0 || type > JOURNAL_TYPE_MAX)
		return "?";
	return type_names[type];
}

int journal_type_parse(const char *text, __u16 *type)
{
	int i = args_keyword_find(text, type_names + 1, JOURNAL_TYPE_MAX, sizeof(type_names[0]),
				  "record type");

	if (i < 0)
		return -EINVAL;
	*type = (__u16)(i + 1);
	return 0;
}

__u64 journal_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * NS_PER_SEC + (__u64)ts.tv_nsec;
}

/* ---- records ---- */

size_t journal_record_size(__u32 len)
{
	return JOURNAL_HDR_SIZE + JOURNAL_AUTHOR_SIZE + (size_t)len;
}

void journal_record_encode(void *buf, __u64 seq, __u64 time_ns, __u16 type,
			   const struct journal_author *author, const void *payload, __u32 len)
{
	unsigned char *p = buf, *body = p + JOURNAL_HDR_SIZE;
	__u32 v32, blen = len + (author ? JOURNAL_AUTHOR_SIZE : 0);
	__u64 v64;
	__u16 v16;
	uLong crc;

	v32 = htole32(blen);
	memcpy(p, &v32, 4);
	v64 = htole64(seq);
	memcpy(p + 8, &v64, 8);
	v64 = htole64(time_ns);
	memcpy(p + 16, &v64, 8);
	v16 = htole16(type);
	memcpy(p + 24, &v16, 2);
	v16 = htole16(author ? JOURNAL_REC_AUTHOR : 0);
	memcpy(p + 26, &v16, 2);
	if (author) {
		v32 = htole32(author->uid);
		memcpy(body, &v32, 4);
		v32 = htole32(author->pid);
		memcpy(body + 4, &v32, 4);
		body += JOURNAL_AUTHOR_SIZE;
	}
	if (len)
		memcpy(body, payload, len);
	crc = crc32(0L, p + 8, JOURNAL_HDR_SIZE - 8 + blen);
	v32 = htole32((__u32)crc);
	memcpy(p + 4, &v32, 4);
}

int journal_record_decode(const void *buf, size_t avail, struct journal_record *r)
{
	const unsigned char *p = buf, *body = p + JOURNAL_HDR_SIZE;
	__u32 len, crc, v32;
	__u64 v64;
	__u16 v16, flags;

	if (avail < JOURNAL_HDR_SIZE)
		return 0;
	memcpy(&len, p, 4);
	len = le32toh(len);
	memcpy(&flags, p + 26, 2);
	flags = le16toh(flags);
	if (len > JOURNAL_PAYLOAD_MAX + (flags & JOURNAL_REC_AUTHOR ? JOURNAL_AUTHOR_SIZE : 0))
		return -EBADMSG;
	if (avail - JOURNAL_HDR_SIZE < len)
		return 0;
	memcpy(&crc, p + 4, 4);
	if (le32toh(crc) != (__u32)crc32(0L, p + 8, JOURNAL_HDR_SIZE - 8 + len))
		return -EBADMSG;
	/* Checked once the CRC holds: a flag this reader does not know is a newer format. */
	if ((flags & ~JOURNAL_REC_AUTHOR) ||
	    (flags & JOURNAL_REC_AUTHOR && len < JOURNAL_AUTHOR_SIZE))
		return -EBADMSG;
	memcpy(&v64, p + 8, 8);
	r->seq = le64toh(v64);
	memcpy(&v64, p + 16, 8);
	r->time_ns = le64toh(v64);
	memcpy(&v16, p + 24, 2);
	r->type = le16toh(v16);
	r->size = JOURNAL_HDR_SIZE + (size_t)len;
	r->has_author = !!(flags & JOURNAL_REC_AUTHOR);
	r->author.uid = r->author.pid = 0;
	if (r->has_author) {
		memcpy(&v32, body, 4);
		r->author.uid = le32toh(v32);
		memcpy(&v32, body + 4, 4);
		r->author.pid = le32toh(v32);
		body += JOURNAL_AUTHOR_SIZE;
		len -= JOURNAL_AUTHOR_SIZE;
	}
	r->len = len;
	r->payload = (const char *)body;
	return 1;
}

/*
 * Is there a valid record after the bad one at off? The bad record's length
 * field cannot be trusted (it may be the damaged part), so every later byte
 * offset is tried. A candidate must carry a seq that could follow: at least
 * expected, and at most one more per header's worth of bytes skipped (each
 * lost record took at least that much). That keeps the CRC, the costly
 * part, to the few offsets that can hold a record. *at and *seq receive the
 * first one found.
 */
int journal_record_find_valid(const unsigned char *b, size_t size, size_t off, __u64 expected,
			      size_t *at, __u64 *seq)
{
	struct journal_record r;
	size_t p;

	for (p = off + 1; p < size && size - p >= JOURNAL_HDR_SIZE; p++) {
		__u64 s;

		memcpy(&s, b + p + 8, 8);
		s = le64toh(s);
		if (s < expected || s - expected > (p - off) / JOURNAL_HDR_SIZE)
			continue;
		if (journal_record_decode(b + p, size - p, &r) == 1 && r.seq == s) {
			*at = p;
			*seq = s;
			return 1;
		}
	}
	return 0;
}
