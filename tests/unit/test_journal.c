// SPDX-License-Identifier: GPL-2.0-only
/*
 * The journal (userspace/state/journal*.c) on temporary folders under /tmp (no
 * root needed): record encoding, append and read back, rotation with zlib
 * sealing, torn-tail recovery at several cut points and on a flipped byte,
 * corruption of sealed history refused (not skipped), seq gaps, the writer
 * lock, replay to a time with snapshots and FAILED records, compaction,
 * record types, and the cost of an fdatasync'd append (printed as a TAP
 * comment for BENCHMARKS.md).
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <zlib.h>

#include "err.h"
#include "journal.h"

#define SEC 1000000000ull

static char dir[64];

static void rm_dir(const char *d)
{
	struct dirent *de;
	char path[512];
	DIR *dp = opendir(d);

	if (!dp)
		return;
	while ((de = readdir(dp))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", d, de->d_name);
		unlink(path);
	}
	closedir(dp);
	rmdir(d);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sluice-journal-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	rm_dir(dir);
	return 0;
}

/* Count files of dir ending in suffix. */
static int count_files(const char *suffix)
{
	struct dirent *de;
	DIR *dp = opendir(dir);
	int n = 0;

	assert_non_null(dp);
	while ((de = readdir(dp))) {
		size_t l = strlen(de->d_name), s = strlen(suffix);

		if (l > s && !strcmp(de->d_name + l - s, suffix))
			n++;
	}
	closedir(dp);
	return n;
}

/* The one plain segment's path. */
static void tail_path(char *path, size_t size)
{
	struct dirent *de;
	DIR *dp = opendir(dir);

	assert_non_null(dp);
	path[0] = '\0';
	while ((de = readdir(dp))) {
		size_t l = strlen(de->d_name);

		if (l > 4 && !strcmp(de->d_name + l - 4, ".seg")) {
			char best[512];

			snprintf(best, sizeof(best), "%s/%s", dir, de->d_name);
			if (strcmp(best, path) > 0)
				snprintf(path, size, "%s", best);
		}
	}
	closedir(dp);
	assert_true(path[0]);
}

static void payload_of(__u64 i, char *buf, size_t size)
{
	snprintf(buf, size, "{\"argv\": [\"service\", \"add\", \"192.0.2.%llu\", \"80\", \"tcp\"]}",
		 (unsigned long long)(i % 250));
}

static void open_ok(const struct journal_opts *o, struct journal **j, struct journal_recovery *rec)
{
	int err = journal_open(dir, o, j, rec);

	if (err)
		fail_msg("journal_open: %d %s", err, err_msg());
}

static void append_n(struct journal *j, __u64 from, __u64 n)
{
	char p[128];
	__u64 i, seq;

	for (i = from; i < from + n; i++) {
		payload_of(i, p, sizeof(p));
		assert_int_equal(journal_append_at(j, JOURNAL_COMMAND, p, (__u32)strlen(p),
						   1000 * SEC + i, &seq),
				 0);
		assert_int_equal(seq, i);
	}
}

/* Read everything back: seqs 1..n with payload_of(seq), unless last_payload. */
static void expect_records(__u64 n, const char *last_payload)
{
	struct journal_iter *it;
	struct journal_record r;
	char p[128];
	__u64 want = 1;
	int ret;

	assert_int_equal(journal_iter_open(dir, &it), 0);
	while ((ret = journal_iter_next(it, &r)) == 1) {
		assert_int_equal(r.seq, want);
		assert_int_equal(r.type, JOURNAL_COMMAND);
		if (want == n && last_payload)
			snprintf(p, sizeof(p), "%s", last_payload);
		else
			payload_of(want, p, sizeof(p));
		assert_int_equal(r.len, strlen(p));
		assert_memory_equal(r.payload, p, r.len);
		want++;
	}
	assert_int_equal(ret, 0);
	assert_int_equal(want - 1, n);
	journal_iter_close(it);
}

static void test_encode_decode(void **state)
{
	const struct journal_author who = { .uid = 1000, .pid = 4242 };
	unsigned char buf[128];
	struct journal_record r;
	const char *p = "{\"argv\": [\"x\"]}";
	__u32 len = (__u32)strlen(p), big, crc;
	size_t size = journal_record_size(len);

	(void)state;
	assert_int_equal(size, JOURNAL_HDR_SIZE + JOURNAL_AUTHOR_SIZE + len);
	journal_record_encode(buf, 42, 123456789ull, JOURNAL_FAILED, &who, p, len);
	assert_int_equal(journal_record_decode(buf, size, &r), 1);
	assert_int_equal(r.seq, 42);
	assert_int_equal(r.time_ns, 123456789ull);
	assert_int_equal(r.type, JOURNAL_FAILED);
	assert_int_equal(r.len, len);
	assert_int_equal(r.size, size);
	assert_memory_equal(r.payload, p, len);
	assert_int_equal(r.has_author, 1);
	assert_int_equal(r.author.uid, 1000);
	assert_int_equal(r.author.pid, 4242);
	/* Little-endian length first: the body, author block and payload. */
	assert_int_equal(buf[0], len + JOURNAL_AUTHOR_SIZE);
	assert_int_equal(buf[1], 0);
	/* Short: not an error, just not a whole record yet. */
	assert_int_equal(journal_record_decode(buf, size - 1, &r), 0);
	assert_int_equal(journal_record_decode(buf, 3, &r), 0);
	/* Any flipped byte after the length is caught by the CRC, the author's too. */
	buf[JOURNAL_HDR_SIZE + JOURNAL_AUTHOR_SIZE + 2] ^= 0x20;
	assert_int_equal(journal_record_decode(buf, size, &r), -EBADMSG);
	buf[JOURNAL_HDR_SIZE + JOURNAL_AUTHOR_SIZE + 2] ^= 0x20;
	buf[JOURNAL_HDR_SIZE + 1] ^= 1; /* uid */
	assert_int_equal(journal_record_decode(buf, size, &r), -EBADMSG);
	buf[JOURNAL_HDR_SIZE + 1] ^= 1;
	buf[9] ^= 1; /* seq */
	assert_int_equal(journal_record_decode(buf, size, &r), -EBADMSG);
	buf[9] ^= 1;
	/* A flag this reader does not know (CRC right): a newer format, not read. */
	buf[26] |= 2;
	crc = htole32((__u32)crc32(0L, buf + 8, (uInt)(size - 8)));
	memcpy(buf + 4, &crc, 4);
	assert_int_equal(journal_record_decode(buf, size, &r), -EBADMSG);

	/* The format of before authors (flags 0) still reads, without one. */
	journal_record_encode(buf, 7, 99, JOURNAL_COMMAND, NULL, p, len);
	assert_int_equal(buf[0], len);
	assert_int_equal(buf[26], 0);
	assert_int_equal(journal_record_decode(buf, JOURNAL_HDR_SIZE + len, &r), 1);
	assert_int_equal(r.seq, 7);
	assert_int_equal(r.has_author, 0);
	assert_int_equal(r.size, JOURNAL_HDR_SIZE + len);
	assert_int_equal(r.len, len);
	assert_memory_equal(r.payload, p, len);
	big = JOURNAL_PAYLOAD_MAX + 1;
	memcpy(buf, &big, 4);
	assert_int_equal(journal_record_decode(buf, sizeof(buf), &r), -EBADMSG);
	assert_string_equal(journal_type_name(JOURNAL_SNAPSHOT), "snapshot");
	assert_string_equal(journal_type_name(99), "?");
}

static void test_append_read(void **state)
{
	struct journal_recovery rec;
	struct journal *j;

	(void)state;
	open_ok(NULL, &j, &rec);
	assert_int_equal(rec.records, 0);
	assert_int_equal(rec.next_seq, 1);
	append_n(j, 1, 1000);
	assert_int_equal(journal_next_seq(j), 1001);
	journal_close(j);
	expect_records(1000, NULL);
	open_ok(NULL, &j, &rec);
	assert_int_equal(rec.cut, 0);
	assert_int_equal(rec.records, 1000);
	assert_int_equal(rec.next_seq, 1001);
	assert_int_equal(rec.last_good_seq, 1000);
	journal_close(j);
}

/*
 * Group commit: the records of a group are read back after the commit, a
 * group does not span segments (rotation waits for its commit), appends
 * after it rotate and sync as before.
 */
static void test_group_commit(void **state)
{
	struct journal_opts o = { .segment_size = 4096 };
	struct journal_recovery rec;
	struct journal *j;

	(void)state;
	open_ok(&o, &j, &rec);
	append_n(j, 1, 10);
	journal_group_begin(j);
	append_n(j, 11, 200); /* far past one segment */
	assert_int_equal(count_files(".seg.z"), 0);
	assert_int_equal(journal_group_commit(j), 0);
	assert_int_equal(journal_next_seq(j), 211);
	assert_int_equal(journal_group_commit(j), 0); /* nothing to sync: a no-op */
	append_n(j, 211, 50);
	assert_true(count_files(".seg.z") >= 1);
	journal_close(j);
	expect_records(260, NULL);
	open_ok(&o, &j, &rec);
	assert_int_equal(rec.records, 260);
	assert_int_equal(rec.next_seq, 261);
	journal_close(j);
}

static void test_lock(void **state)
{
	struct journal *j, *j2;

	(void)state;
	open_ok(NULL, &j, NULL);
	assert_int_equal(journal_open(dir, NULL, &j2, NULL), -EBUSY);
	assert_null(j2);
	journal_close(j);
	open_ok(NULL, &j, NULL);
	journal_close(j);
}

static void test_rotation_compression(void **state)
{
	struct journal_opts o = { .segment_size = 4096 };
	struct journal_recovery rec;
	struct journal *j;
	int sealed;

	(void)state;
	open_ok(&o, &j, &rec);
	append_n(j, 1, 600);
	journal_close(j);
	sealed = count_files(".seg.z");
	assert_true(sealed >= 10);
	assert_int_equal(count_files(".seg"), 1);
	assert_int_equal(count_files(".tmp"), 0);
	expect_records(600, NULL);
	/* Reopen: the sealed history verifies and appends go on. */
	open_ok(&o, &j, &rec);
	assert_int_equal(rec.records, 600);
	assert_int_equal(rec.segments, (__u64)sealed + 1);
	append_n(j, 601, 100);
	journal_close(j);
	expect_records(700, NULL);
}

/*
 * An interrupted rotation: a plain segment before the last one (no_compress
 * wrote it, the next open with compression seals it).
 */
static void test_interrupted_seal(void **state)
{
	struct journal_opts plain = { .segment_size = 2048, .no_compress = 1 };
	struct journal_opts o = { .segment_size = 2048 };
	struct journal_recovery rec;
	struct journal *j;

	(void)state;
	open_ok(&plain, &j, NULL);
	append_n(j, 1, 100);
	journal_close(j);
	assert_int_equal(count_files(".seg.z"), 0);
	assert_true(count_files(".seg") > 3);
	open_ok(&o, &j, &rec);
	assert_true(rec.sealed_at_open >= 3);
	journal_close(j);
	assert_int_equal(count_files(".seg"), 1);
	expect_records(100, NULL);
}

static void cut_and_check(off_t cut_at, off_t last_start, off_t file_size, int flip_at)
{
	struct journal_recovery rec;
	struct journal *j;
	char path[512];
	const char *np = "{\"argv\": [\"service\", \"del\", \"192.0.2.1\", \"80\", \"tcp\"]}";
	__u64 seq;
	int fd;

	tail_path(path, sizeof(path));
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	if (flip_at >= 0) {
		unsigned char b;

		assert_int_equal(pread(fd, &b, 1, last_start + flip_at), 1);
		b ^= 0x04;
		assert_int_equal(pwrite(fd, &b, 1, last_start + flip_at), 1);
	} else {
		assert_int_equal(ftruncate(fd, cut_at), 0);
	}
	close(fd);
	open_ok(NULL, &j, &rec);
	assert_int_equal(rec.cut, 1);
	assert_int_equal(rec.offset, last_start);
	assert_int_equal(rec.bytes_cut, (flip_at >= 0 ? file_size : cut_at) - last_start);
	assert_int_equal(rec.last_good_seq, 9);
	assert_int_equal(rec.records, 9);
	assert_int_equal(rec.next_seq, 10);
	assert_non_null(strstr(path, rec.segment));
	/* Appends continue with the next seq. */
	assert_int_equal(journal_append(j, JOURNAL_COMMAND, np, (__u32)strlen(np), &seq), 0);
	assert_int_equal(seq, 10);
	journal_close(j);
	expect_records(10, np);
}

static void test_torn_tail(void **state)
{
	/* Cut points inside the last record: header, payload, all but its last byte. */
	static const int cuts[] = {
		1, 4, 12, JOURNAL_HDR_SIZE - 1, JOURNAL_HDR_SIZE, JOURNAL_HDR_SIZE + 7, -1
	};
	/* Flipped bytes: crc, seq, time, type, payload. */
	static const int flips[] = { 5, 8, 20, 24, JOURNAL_HDR_SIZE + 3, -1 };
	char p[128], path[512];
	struct stat st;
	off_t last_start, size;
	size_t i;

	(void)state;
	payload_of(10, p, sizeof(p));
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]) + sizeof(flips) / sizeof(flips[0]); i++) {
		size_t c = sizeof(cuts) / sizeof(cuts[0]);
		struct journal *j;
		int cut, flip = -1;

		rm_dir(dir);
		assert_int_equal(mkdir(dir, 0700), 0);
		open_ok(NULL, &j, NULL);
		append_n(j, 1, 10);
		journal_close(j);
		tail_path(path, sizeof(path));
		assert_int_equal(stat(path, &st), 0);
		size = st.st_size;
		last_start = size - (off_t)journal_record_size((__u32)strlen(p));
		if (i < c) {
			cut = cuts[i] >= 0 ? cuts[i] : (int)(size - last_start) - 1;
			cut_and_check(last_start + cut, last_start, size, -1);
		} else {
			flip = flips[i - c] >= 0 ? flips[i - c] : (int)(size - last_start) - 1;
			cut_and_check(0, last_start, size, flip);
		}
	}
}

/* Flip a byte of record 3 of the live segment: damage mid-history, not a tail. */
static void test_corrupt_middle_of_tail(void **state)
{
	struct journal_recovery rec;
	struct journal_iter *it;
	struct journal_record r;
	struct journal *j;
	char path[512], p[128];
	unsigned char b;
	off_t at;
	int fd, ret;

	(void)state;
	open_ok(NULL, &j, NULL);
	append_n(j, 1, 10);
	journal_close(j);
	tail_path(path, sizeof(path));
	payload_of(1, p, sizeof(p));
	at = 2 * (off_t)journal_record_size((__u32)strlen(p)) + JOURNAL_HDR_SIZE + 5;
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, at), 1);
	b ^= 0xff;
	assert_int_equal(pwrite(fd, &b, 1, at), 1);
	close(fd);
	assert_int_equal(journal_open(dir, NULL, &j, &rec), -EUCLEAN);
	assert_non_null(strstr(err_msg(), "corrupt record"));
	assert_int_equal(journal_iter_open(dir, &it), 0);
	while ((ret = journal_iter_next(it, &r)) == 1)
		;
	assert_int_equal(ret, -EUCLEAN);
	journal_iter_close(it);
}

/*
 * Record 2's length field damaged (issue 13, F3): valid records 3..5 follow,
 * so the damage is mid-history, whatever the length field points at. open
 * must refuse with -EUCLEAN and cut nothing (it used to keep record 1, cut
 * 2..5 and hand their seqs out again); the reader must refuse too.
 */
static void test_corrupt_length_mid_tail(void **state)
{
	static const __u32 lens[] = { 0, 1, 5000, 0x00ffffff, JOURNAL_PAYLOAD_MAX + 1 };
	struct journal_recovery rec;
	struct journal_iter *it;
	struct journal_record r;
	struct journal *j;
	char path[512], p[128];
	struct stat st;
	off_t size;
	size_t i;
	int fd, ret;

	(void)state;
	payload_of(1, p, sizeof(p));
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		__u32 len = htole32(lens[i]);

		rm_dir(dir);
		assert_int_equal(mkdir(dir, 0700), 0);
		open_ok(NULL, &j, NULL);
		append_n(j, 1, 5);
		journal_close(j);
		tail_path(path, sizeof(path));
		assert_int_equal(stat(path, &st), 0);
		size = st.st_size;
		fd = open(path, O_RDWR);
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, &len, 4, (off_t)journal_record_size((__u32)strlen(p))),
				 4);
		close(fd);
		memset(&rec, 0, sizeof(rec));
		assert_int_equal(journal_open(dir, NULL, &j, &rec), -EUCLEAN);
		assert_null(j);
		assert_int_equal(rec.cut, 0);
		assert_non_null(strstr(err_msg(), "corrupt record at offset"));
		assert_non_null(strstr(err_msg(), "valid record"));
		/* Nothing deleted: the segment keeps every byte. */
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_size, size);
		assert_int_equal(journal_iter_open(dir, &it), 0);
		while ((ret = journal_iter_next(it, &r)) == 1)
			assert_int_equal(r.seq, 1);
		assert_int_equal(ret, -EUCLEAN);
		journal_iter_close(it);
	}
}

/* A flipped byte inside a sealed segment (plain or compressed) is an error. */
static void corrupt_sealed(int no_compress)
{
	struct journal_opts o = { .segment_size = 2048, .no_compress = no_compress };
	struct journal_iter *it;
	struct journal_record r;
	struct journal *j;
	char path[512];
	struct stat st;
	unsigned char b;
	int fd, ret;

	open_ok(&o, &j, NULL);
	append_n(j, 1, 100);
	journal_close(j);
	snprintf(path, sizeof(path), "%s/00000000000000000001.seg%s", dir, no_compress ? "" : ".z");
	assert_int_equal(stat(path, &st), 0);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, st.st_size / 2), 1);
	b ^= 0x10;
	assert_int_equal(pwrite(fd, &b, 1, st.st_size / 2), 1);
	close(fd);
	assert_int_equal(journal_open(dir, &o, &j, NULL), -EUCLEAN);
	assert_int_equal(journal_iter_open(dir, &it), 0);
	while ((ret = journal_iter_next(it, &r)) == 1)
		;
	assert_int_equal(ret, -EUCLEAN);
	journal_iter_close(it);
}

static void test_corrupt_sealed_plain(void **state)
{
	(void)state;
	corrupt_sealed(1);
}

static void test_corrupt_sealed_z(void **state)
{
	(void)state;
	corrupt_sealed(0);
}

/*
 * A sealed segment that inflates past anything the writer produces (issue
 * 13, F7: 1 MB on disk took 1 GB of memory). Here valid records, 1 MiB
 * payloads, deflated to a small .seg.z that inflates past
 * JOURNAL_SEGMENT_SIZE_MAX: open and the reader refuse it with a message
 * naming the limit instead of inflating it whole.
 */
static void test_inflate_bound(void **state)
{
	const __u32 len = 1u << 20;
	size_t rsize = journal_record_size(len), total = 0;
	unsigned char *rec_buf, *out, *payload;
	struct journal_iter *it;
	struct journal_record r;
	struct journal *j;
	char path[512];
	z_stream zs;
	__u64 seq;
	int fd, ret;

	(void)state;
	rec_buf = calloc(1, rsize);
	out = malloc(1u << 20);
	payload = malloc(len);
	assert_non_null(rec_buf);
	assert_non_null(out);
	assert_non_null(payload);
	memset(payload, 'a', len);
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	snprintf(path, sizeof(path), "%s/00000000000000000001.seg.z", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	for (seq = 1; total <= JOURNAL_SEGMENT_SIZE_MAX; seq++) {
		int last = total + rsize > JOURNAL_SEGMENT_SIZE_MAX;

		journal_record_encode(rec_buf, seq, 1000 * SEC + seq, JOURNAL_ELECTION,
				      &(struct journal_author){ 0, 1 }, payload, len);
		zs.next_in = rec_buf;
		zs.avail_in = (uInt)rsize;
		do {
			zs.next_out = out;
			zs.avail_out = 1u << 20;
			assert_true(deflate(&zs, last ? Z_FINISH : Z_NO_FLUSH) != Z_STREAM_ERROR);
			assert_int_equal(write(fd, out, (1u << 20) - zs.avail_out),
					 (ssize_t)((1u << 20) - zs.avail_out));
		} while (zs.avail_out == 0);
		total += rsize;
	}
	deflateEnd(&zs);
	close(fd);
	free(rec_buf);
	free(out);
	free(payload);

	assert_int_equal(journal_open(dir, NULL, &j, NULL), -EUCLEAN);
	assert_non_null(strstr(err_msg(), "inflates past"));
	assert_int_equal(journal_iter_open(dir, &it), 0);
	while ((ret = journal_iter_next(it, &r)) == 1)
		;
	assert_int_equal(ret, -EUCLEAN);
	assert_non_null(strstr(err_msg(), "inflates past"));
	journal_iter_close(it);
}

/*
 * A sealed segment holding no records (the writer never seals one; a
 * damaged or foreign file) as the last segment: open must refuse it. It
 * used to start a plain segment of the same name beside it, and the next
 * open dropped that one as the leftover of an interrupted seal, losing
 * every record appended meanwhile.
 */
static void test_empty_sealed_tail(void **state)
{
	const char *p = "{\"argv\": [\"service\", \"list\"]}";
	unsigned char z[64];
	struct journal *j;
	char path[512];
	z_stream zs;
	__u64 seq;
	int fd;

	(void)state;
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_out = z;
	zs.avail_out = sizeof(z);
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	deflateEnd(&zs);
	snprintf(path, sizeof(path), "%s/00000000000000000001.seg.z", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, z, sizeof(z) - zs.avail_out),
			 (ssize_t)(sizeof(z) - zs.avail_out));
	close(fd);
	if (journal_open(dir, NULL, &j, NULL) == 0) {
		/* What the bug did: append, then lose it at the next open. */
		assert_int_equal(journal_append(j, JOURNAL_COMMAND, p, (__u32)strlen(p), &seq), 0);
		journal_close(j);
		open_ok(NULL, &j, NULL);
		assert_int_equal(journal_next_seq(j), seq + 1);
		journal_close(j);
		fail_msg("an empty sealed last segment was accepted");
	}
	assert_non_null(strstr(err_msg(), "holds no records"));
	assert_int_equal(count_files(".seg.z"), 1);
	assert_int_equal(count_files(".seg"), 0);
}

static void test_seq_gap(void **state)
{
	struct journal_opts o = { .segment_size = 2048 };
	struct journal_iter *it;
	struct journal_record r;
	struct journal *j;
	struct dirent *de;
	char victim[512] = "";
	int n = 0, ret;
	DIR *dp;

	(void)state;
	open_ok(&o, &j, NULL);
	append_n(j, 1, 100);
	journal_close(j);
	dp = opendir(dir);
	assert_non_null(dp);
	while ((de = readdir(dp)))
		if (strstr(de->d_name, ".seg.z") && n++ == 1)
			snprintf(victim, sizeof(victim), "%s/%s", dir, de->d_name);
	closedir(dp);
	/* Remove one that is neither first nor last (readdir order is arbitrary). */
	assert_true(n >= 3);
	{
		char first[512];

		snprintf(first, sizeof(first), "%s/00000000000000000001.seg.z", dir);
		if (!strcmp(first, victim)) {
			dp = opendir(dir);
			while ((de = readdir(dp)))
				if (strstr(de->d_name, ".seg.z") &&
				    strcmp(de->d_name, "00000000000000000001.seg.z"))
					snprintf(victim, sizeof(victim), "%s/%s", dir, de->d_name);
			closedir(dp);
		}
	}
	assert_int_equal(unlink(victim), 0);
	assert_int_equal(journal_open(dir, &o, &j, NULL), -EUCLEAN);
	assert_non_null(strstr(err_msg(), "gap"));
	assert_int_equal(journal_iter_open(dir, &it), 0);
	while ((ret = journal_iter_next(it, &r)) == 1)
		;
	assert_int_equal(ret, -EUCLEAN);
	journal_iter_close(it);
}

static void append_cmd(struct journal *j, __u64 t, const char *word, __u64 *seq)
{
	char *argv[] = { "service", "add", (char *)word, "80", "tcp" };
	char *p = journal_command_json(5, argv);

	assert_non_null(p);
	assert_int_equal(journal_append_at(j, JOURNAL_COMMAND, p, (__u32)strlen(p), t * SEC, seq),
			 0);
	free(p);
}

static void append_failed(struct journal *j, __u64 t, __u64 of)
{
	char p[96];

	snprintf(p, sizeof(p), "{\"seq\": %llu, \"error\": \"no such thing\"}",
		 (unsigned long long)of);
	assert_int_equal(journal_append_at(j, JOURNAL_FAILED, p, (__u32)strlen(p), t * SEC, NULL),
			 0);
}

static void append_other(struct journal *j, __u64 t)
{
	const char *p = "{\"service\": \"192.0.2.1 80 tcp\", \"backend\": \"10.0.0.1 80\", "
			"\"up\": false, \"why\": \"connection refused\"}";

	assert_int_equal(journal_append_at(j, JOURNAL_HEALTH, p, (__u32)strlen(p), t * SEC, NULL),
			 0);
}

/* Replay at t into one string: the third word of each command, space-separated. */
static int collect(void *ctx, int argc, char **argv)
{
	char *s = ctx;

	assert_true(argc >= 3);
	if (*s)
		strcat(s, " ");
	strcat(s, argv[2]);
	return 0;
}

static void expect_replay(__u64 t, const char *want)
{
	char got[512] = "";
	int err = journal_replay_commands(dir, t * SEC, collect, got);

	if (err)
		fail_msg("replay at %llu: %d %s", (unsigned long long)t, err, err_msg());
	assert_string_equal(got, want);
}

static void test_replay(void **state)
{
	struct journal_cmds snap = { 0 };
	char *sv[] = { "service", "add", "X", "80", "tcp" };
	struct journal *j;
	__u64 seq_b, seq;
	char *p;

	(void)state;
	open_ok(NULL, &j, NULL);
	append_cmd(j, 100, "A", &seq);
	append_cmd(j, 200, "B", &seq_b);
	append_other(j, 250);
	append_cmd(j, 300, "C", &seq);
	append_failed(j, 301, seq_b);
	assert_int_equal(journal_cmds_add(&snap, 5, sv), 0);
	p = journal_snapshot_json(&snap);
	assert_non_null(p);
	assert_int_equal(
		journal_append_at(j, JOURNAL_SNAPSHOT, p, (__u32)strlen(p), 400 * SEC, NULL), 0);
	free(p);
	append_cmd(j, 500, "D", &seq);
	append_failed(j, 501, seq);
	append_cmd(j, 600, "E", &seq);
	journal_close(j);
	journal_cmds_free(&snap);

	expect_replay(50, "");
	expect_replay(100, "A");
	/* B failed (the FAILED record comes later, it still counts). */
	expect_replay(250, "A");
	expect_replay(350, "A C");
	expect_replay(400, "X");
	expect_replay(550, "X");
	expect_replay(700, "X E");
}

/*
 * A journal written before authors were recorded: its records read back
 * (without an author), it opens for appending, new records carry theirs
 * (the process by default, or the one set), and replay reads both.
 */
static void test_old_format(void **state)
{
	const struct journal_author who = { .uid = 1234, .pid = 5678 };
	char path[512], *argv[] = { "service", "add", "A", "80", "tcp" }, *p;
	unsigned char buf[256];
	struct journal_record r;
	struct journal_iter *it;
	struct journal *j;
	__u64 seq;
	size_t n;
	int fd;

	(void)state;
	p = journal_command_json(5, argv);
	assert_non_null(p);
	n = JOURNAL_HDR_SIZE + strlen(p);
	journal_record_encode(buf, 1, 100 * SEC, JOURNAL_COMMAND, NULL, p, (__u32)strlen(p));
	free(p);
	snprintf(path, sizeof(path), "%s/00000000000000000001.seg", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
	close(fd);

	open_ok(NULL, &j, NULL);
	append_cmd(j, 200, "B", &seq);
	assert_int_equal(seq, 2);
	journal_set_author(j, &who);
	append_cmd(j, 300, "C", &seq);
	journal_close(j);

	assert_int_equal(journal_iter_open(dir, &it), 0);
	assert_int_equal(journal_iter_next(it, &r), 1);
	assert_int_equal(r.seq, 1);
	assert_int_equal(r.has_author, 0);
	assert_non_null(strstr(r.payload, "\"A\""));
	assert_int_equal(journal_iter_next(it, &r), 1);
	assert_int_equal(r.has_author, 1);
	assert_int_equal(r.author.uid, (__u32)getuid());
	assert_int_equal(r.author.pid, (__u32)getpid());
	assert_int_equal(journal_iter_next(it, &r), 1);
	assert_int_equal(r.author.uid, 1234);
	assert_int_equal(r.author.pid, 5678);
	assert_int_equal(journal_iter_next(it, &r), 0);
	journal_iter_close(it);
	expect_replay(1000, "A B C");
}

static void test_compact(void **state)
{
	struct journal_opts o = { .segment_size = 2048 };
	struct journal_cmds all = { 0 };
	struct journal_iter *it;
	struct journal_record r;
	struct journal *j;
	__u64 seq, i, snap_seq;
	char before[8192] = "", after[8192] = "";
	char word[16];

	(void)state;
	open_ok(&o, &j, NULL);
	for (i = 1; i <= 200; i++) {
		snprintf(word, sizeof(word), "w%llu", (unsigned long long)i);
		append_cmd(j, 100 + i, word, &seq);
		if (i % 10 == 0)
			append_failed(j, 100 + i, seq);
	}
	journal_close(j);
	assert_true(count_files(".seg.z") > 3);
	assert_int_equal(journal_replay_commands(dir, 1000 * SEC, collect, before), 0);
	/* Compaction folds the journal itself: the commands replay yields now. */
	assert_int_equal(journal_replay_commands(dir, UINT64_MAX, journal_cmds_add, &all), 0);
	assert_int_equal(all.count, 180);
	assert_int_equal(journal_compact(dir, &o, &all, &snap_seq), 0);
	journal_cmds_free(&all);
	assert_int_equal(snap_seq, 221);
	assert_int_equal(count_files(".seg.z"), 0);
	assert_int_equal(count_files(".seg"), 1);
	/* The same state now; history before the snapshot is gone. */
	assert_int_equal(journal_replay_commands(dir, UINT64_MAX, collect, after), 0);
	assert_string_equal(before, after);
	assert_int_equal(journal_replay_commands(dir, 150 * SEC, collect, after), -ERANGE);
	assert_int_equal(journal_iter_open(dir, &it), 0);
	assert_int_equal(journal_iter_next(it, &r), 1);
	assert_int_equal(r.seq, 221);
	assert_int_equal(r.type, JOURNAL_SNAPSHOT);
	assert_int_equal(journal_iter_next(it, &r), 0);
	journal_iter_close(it);
	/* Appends after it; replay = snapshot + them. */
	open_ok(&o, &j, NULL);
	append_cmd(j, journal_now_ns() / SEC + 1, "late", &seq);
	assert_int_equal(seq, 222);
	journal_close(j);
	after[0] = '\0';
	assert_int_equal(journal_replay_commands(dir, UINT64_MAX, collect, after), 0);
	strcat(before, " late");
	assert_string_equal(before, after);
}

static void test_type_parse(void **state)
{
	__u16 t;

	(void)state;
	assert_int_equal(journal_type_parse("command", &t), 0);
	assert_int_equal(t, JOURNAL_COMMAND);
	assert_int_equal(journal_type_parse("snap", &t), 0);
	assert_int_equal(t, JOURNAL_SNAPSHOT);
	assert_int_equal(journal_type_parse("bogus", &t), -EINVAL);
}

/* The cost of durability: fdatasync'd appends per second on /tmp's filesystem. */
static void test_append_rate(void **state)
{
	const char *p = "{\"argv\": [\"backend\", \"add\", \"192.0.2.10\", \"80\", \"tcp\", "
			"\"10.0.0.11\", \"port\", \"8080\"]}";
	struct timespec a, b;
	struct journal *j;
	double secs;
	int i, n = 300;

	(void)state;
	open_ok(NULL, &j, NULL);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++)
		assert_int_equal(journal_append(j, JOURNAL_COMMAND, p, (__u32)strlen(p), NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	journal_close(j);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("# journal: %d appends (write + fdatasync) in %.3f s: %.0f appends/s, %.1f us each "
	       "(%s)\n",
	       n, secs, n / secs, secs * 1e6 / n, dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_decode),
		cmocka_unit_test(test_type_parse),
		cmocka_unit_test_setup_teardown(test_append_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_compression, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupted_seal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_middle_of_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_length_mid_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_sealed_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_sealed_z, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inflate_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_sealed_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_rate, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
