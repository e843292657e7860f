// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The journal (see journal.h for the format and the rules): segment files,
 * checksummed records appended with fdatasync, rotation and zlib sealing,
 * recovery of a torn tail at open, iteration, snapshots and compaction, and
 * the replay of the commands that rebuild the state as of a time.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "args.h"
#include "err.h"
#include "journal.h"

#define SEG_DIGITS 20
#define SEG_SUFFIX ".seg"
#define SEG_Z_SUFFIX ".seg.z"
#define SEG_NAME_MAX 64
#define NS_PER_SEC 1000000000ull

static const char *const type_names[] = {
	[JOURNAL_COMMAND] = "command",	 [JOURNAL_FAILED] = "failed",
	[JOURNAL_CONFIG] = "config",	 [JOURNAL_HEALTH] = "health",
	[JOURNAL_BREAKER] = "breaker",	 [JOURNAL_ELECTION] = "election",
	[JOURNAL_SNAPSHOT] = "snapshot",
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

/* ---- times ---- */

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

static int time_error(const char *text)
{
	err_set("bad time '%s': expected RFC 3339 (2026-11-27T19:00:00Z, "
		"2026-11-27T20:00:00.5+01:00), relative (-5m, -90s, -2h, -1d, now) or "
		"@UNIX_SECONDS",
		text);
	return -EINVAL;
}

int journal_parse_time(const char *text, __u64 now_ns, __u64 *ns)
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
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (units[i].unit == end[0])
				d = (__u64)n * units[i].ns;
		if (!d && n)
			return time_error(text);
		if (*p == '-')
			*ns = d > now_ns ? 0 : now_ns - d;
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
		*ns = (__u64)(t - off) * NS_PER_SEC + frac;
		return 0;
	}
}

void journal_format_time(__u64 ns, char *buf, size_t size)
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

/* ---- records ---- */

size_t journal_record_size(__u32 len)
{
	return JOURNAL_HDR_SIZE + (size_t)len;
}

void journal_record_encode(void *buf, __u64 seq, __u64 time_ns, __u16 type, const void *payload,
			   __u32 len)
{
	unsigned char *p = buf;
	__u32 v32;
	__u64 v64;
	__u16 v16;
	uLong crc;

	v32 = htole32(len);
	memcpy(p, &v32, 4);
	v64 = htole64(seq);
	memcpy(p + 8, &v64, 8);
	v64 = htole64(time_ns);
	memcpy(p + 16, &v64, 8);
	v16 = htole16(type);
	memcpy(p + 24, &v16, 2);
	memset(p + 26, 0, 2);
	if (len)
		memcpy(p + JOURNAL_HDR_SIZE, payload, len);
	crc = crc32(0L, p + 8, JOURNAL_HDR_SIZE - 8 + len);
	v32 = htole32((__u32)crc);
	memcpy(p + 4, &v32, 4);
}

int journal_record_decode(const void *buf, size_t avail, struct journal_record *r)
{
	const unsigned char *p = buf;
	__u32 len, crc;
	__u64 v64;
	__u16 v16;

	if (avail < JOURNAL_HDR_SIZE)
		return 0;
	memcpy(&len, p, 4);
	len = le32toh(len);
	if (len > JOURNAL_PAYLOAD_MAX)
		return -EBADMSG;
	if (avail - JOURNAL_HDR_SIZE < len)
		return 0;
	memcpy(&crc, p + 4, 4);
	if (le32toh(crc) != (__u32)crc32(0L, p + 8, JOURNAL_HDR_SIZE - 8 + len))
		return -EBADMSG;
	memcpy(&v64, p + 8, 8);
	r->seq = le64toh(v64);
	memcpy(&v64, p + 16, 8);
	r->time_ns = le64toh(v64);
	memcpy(&v16, p + 24, 2);
	r->type = le16toh(v16);
	r->len = len;
	r->payload = (const char *)p + JOURNAL_HDR_SIZE;
	return 1;
}

/* ---- segment files ---- */

struct seg {
	__u64 first;
	int compressed;
	char name[SEG_NAME_MAX];
};

struct seglist {
	struct seg *v;
	size_t n;
};

/* Is name a segment? Fills first and compressed. */
static int seg_parse_name(const char *name, __u64 *first, int *compressed)
{
	__u64 v = 0;
	int i;

	for (i = 0; i < SEG_DIGITS; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		v = v * 10 + (__u64)(name[i] - '0');
	}
	if (!strcmp(name + SEG_DIGITS, SEG_SUFFIX))
		*compressed = 0;
	else if (!strcmp(name + SEG_DIGITS, SEG_Z_SUFFIX))
		*compressed = 1;
	else
		return 0;
	*first = v;
	return 1;
}

static void seg_name(char *buf, __u64 first, int compressed)
{
	snprintf(buf, SEG_NAME_MAX, "%0*llu%s", SEG_DIGITS, (unsigned long long)first,
		 compressed ? SEG_Z_SUFFIX : SEG_SUFFIX);
}

static int seg_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->compressed - y->compressed;
}

/*
 * The segments of dirfd in seq order. writer: also remove leftover *.tmp
 * files and a plain segment that has its sealed copy (interrupted seal).
 * Otherwise (a reader) the sealed copy is dropped from the list instead.
 */
static int seg_list(int dirfd, int writer, struct seglist *l)
{
	struct dirent *de;
	size_t cap = 0, i, n;
	int fd, err = 0;
	DIR *d;

	l->v = NULL;
	l->n = 0;
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		err = -errno;
		close(fd);
		return err;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		struct seg s;

		if (writer && len > 4 && !strcmp(de->d_name + len - 4, ".tmp")) {
			__u64 f;
			int c;
			char base[SEG_NAME_MAX];

			if (len - 4 < sizeof(base)) {
				memcpy(base, de->d_name, len - 4);
				base[len - 4] = '\0';
				if (seg_parse_name(base, &f, &c))
					unlinkat(dirfd, de->d_name, 0);
			}
			continue;
		}
		if (len >= SEG_NAME_MAX || !seg_parse_name(de->d_name, &s.first, &s.compressed))
			continue;
		memcpy(s.name, de->d_name, len + 1);
		if (l->n == cap) {
			struct seg *v;

			cap = cap ? cap * 2 : 16;
			v = realloc(l->v, cap * sizeof(*v));
			if (!v) {
				err = -ENOMEM;
				goto out;
			}
			l->v = v;
		}
		l->v[l->n++] = s;
	}
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), seg_cmp);
	/* Plain and sealed copies of one segment sort next to each other. */
	for (i = 0, n = 0; i < l->n; i++) {
		if (i + 1 < l->n && l->v[i].first == l->v[i + 1].first) {
			if (writer) {
				unlinkat(dirfd, l->v[i].name, 0); /* the plain one */
				continue;
			}
			l->v[n++] = l->v[i]; /* a reader keeps the plain one */
			i++;
			continue;
		}
		l->v[n++] = l->v[i];
	}
	l->n = n;
out:
	closedir(d);
	if (err) {
		free(l->v);
		l->v = NULL;
		l->n = 0;
	}
	return err;
}

static int read_all(int fd, unsigned char **buf, size_t *size)
{
	size_t cap = 0, n = 0;
	unsigned char *b = NULL;
	struct stat st;
	ssize_t r;

	if (fstat(fd, &st))
		return -errno;
	cap = (size_t)st.st_size + 1;
	b = malloc(cap);
	if (!b)
		return -ENOMEM;
	for (;;) {
		if (n == cap) {
			unsigned char *nb = realloc(b, cap * 2);

			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			free(b);
			return (int)r;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*buf = b;
	*size = n;
	return 0;
}

/* Inflate a gzip or zlib stream. */
static int inflate_all(const unsigned char *in, size_t in_len, unsigned char **buf, size_t *size)
{
	size_t cap = in_len * 4 + 4096;
	unsigned char *b = malloc(cap);
	z_stream zs;
	int zr, err = 0;

	if (!b)
		return -ENOMEM;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 32) != Z_OK) {
		free(b);
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)in_len;
	for (;;) {
		if (zs.total_out == cap) {
			unsigned char *nb = realloc(b, cap * 2);

			if (!nb) {
				err = -ENOMEM;
				break;
			}
			b = nb;
			cap *= 2;
		}
		zs.next_out = b + zs.total_out;
		zs.avail_out = (uInt)(cap - zs.total_out);
		zr = inflate(&zs, Z_NO_FLUSH);
		if (zr == Z_STREAM_END)
			break;
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			err = -EBADMSG;
			break;
		}
		if (zr == Z_BUF_ERROR && zs.avail_out) {
			err = -EBADMSG; /* truncated stream */
			break;
		}
	}
	*size = zs.total_out;
	inflateEnd(&zs);
	if (err) {
		free(b);
		return err;
	}
	*buf = b;
	return 0;
}

/* The records of a segment, inflated when sealed. -ENOENT if it vanished. */
static int seg_load(int dirfd, const struct seg *s, unsigned char **buf, size_t *size)
{
	unsigned char *raw;
	size_t raw_len;
	int fd, err;

	fd = openat(dirfd, s->name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = read_all(fd, &raw, &raw_len);
	close(fd);
	if (err)
		return err;
	if (!s->compressed) {
		*buf = raw;
		*size = raw_len;
		return 0;
	}
	err = inflate_all(raw, raw_len, buf, size);
	free(raw);
	if (err == -EBADMSG)
		err_set("journal segment %s: the zlib stream is corrupt", s->name);
	return err;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t r = write(fd, p, len);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static int fsync_dir(int dirfd)
{
	return fsync(dirfd) ? -errno : 0;
}

/*
 * Seal the plain segment s: deflate to NAME.z.tmp, fsync, rename to NAME.z,
 * fsync the folder, unlink the plain file, fsync the folder.
 */
static int seg_seal(int dirfd, struct seg *s)
{
	char zname[SEG_NAME_MAX], tmp[SEG_NAME_MAX + 4];
	unsigned char *raw = NULL, *z = NULL;
	size_t raw_len, z_cap;
	z_stream zs;
	int fd = -1, err, zr;

	seg_name(zname, s->first, 1);
	snprintf(tmp, sizeof(tmp), "%s.tmp", zname);
	fd = openat(dirfd, s->name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = read_all(fd, &raw, &raw_len);
	close(fd);
	fd = -1;
	if (err)
		return err;
	memset(&zs, 0, sizeof(zs));
	/* gzip wrapper (15 + 16) so that zcat reads a sealed segment. */
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK) {
		err = -ENOMEM;
		goto out;
	}
	z_cap = deflateBound(&zs, raw_len) + 64;
	z = malloc(z_cap);
	if (!z) {
		deflateEnd(&zs);
		err = -ENOMEM;
		goto out;
	}
	zs.next_in = raw;
	zs.avail_in = (uInt)raw_len;
	zs.next_out = z;
	zs.avail_out = (uInt)z_cap;
	zr = deflate(&zs, Z_FINISH);
	deflateEnd(&zs);
	if (zr != Z_STREAM_END) {
		err = -EIO;
		goto out;
	}
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = write_all(fd, z, zs.total_out);
	if (!err && fsync(fd))
		err = -errno;
	close(fd);
	fd = -1;
	if (!err && renameat(dirfd, tmp, dirfd, zname))
		err = -errno;
	if (err) {
		unlinkat(dirfd, tmp, 0);
		goto out;
	}
	err = fsync_dir(dirfd);
	if (err)
		goto out;
	if (unlinkat(dirfd, s->name, 0)) {
		err = -errno;
		goto out;
	}
	err = fsync_dir(dirfd);
	s->compressed = 1;
	memcpy(s->name, zname, sizeof(zname));
out:
	if (err)
		err_set("cannot seal journal segment %s: %s", s->name, strerror(-err));
	free(raw);
	free(z);
	return err;
}

/* ---- the writer ---- */

struct journal {
	int dirfd;
	int fd;		    /* the open (last, plain) segment */
	__u64 seg_first;    /* its first seq (its name) */
	__u64 seg_size;	    /* its bytes */
	__u64 next_seq;	    /* the seq of the next record */
	__u64 max_size;	    /* rotate past this */
	int no_compress;    /* keep sealed segments plain */
	unsigned char *buf; /* record buffer */
	size_t buf_cap;
	char dir[256];
};

static int mkdir_p(const char *dir)
{
	char path[256], *p;

	if (strlen(dir) >= sizeof(path))
		return -ENAMETOOLONG;
	strcpy(path, dir);
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Create the empty segment that starts at j->next_seq and make it current. */
static int seg_start(struct journal *j)
{
	char name[SEG_NAME_MAX];
	int fd;

	seg_name(name, j->next_seq, 0);
	fd = openat(j->dirfd, name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		err_set("cannot create journal segment %s/%s: %s", j->dir, name, strerror(errno));
		return -errno;
	}
	j->fd = fd;
	j->seg_first = j->next_seq;
	j->seg_size = 0;
	return fsync_dir(j->dirfd);
}

/*
 * Does a valid record with seq follow the bad one at off? Then the bad
 * record is damage in the middle of history, not a torn tail.
 */
static int valid_after(const unsigned char *b, size_t size, size_t off, __u64 seq)
{
	struct journal_record r;
	__u32 len;
	size_t next;

	if (size - off < JOURNAL_HDR_SIZE)
		return 0;
	memcpy(&len, b + off, 4);
	len = le32toh(len);
	if (len > JOURNAL_PAYLOAD_MAX)
		return 0;
	next = off + journal_record_size(len);
	if (next >= size)
		return 0;
	return journal_record_decode(b + next, size - next, &r) == 1 && r.seq == seq + 1;
}

/*
 * Verify the records of segment s (index i of l) in memory; *expected is
 * the seq the first record must have and is advanced. For the last plain
 * segment a bad tail is reported in *bad_off (else it is -EUCLEAN).
 */
static int seg_verify(const char *dir, const struct seg *s, int is_tail, const unsigned char *b,
		      size_t size, __u64 *expected, __u64 *records, size_t *bad_off,
		      const char **why)
{
	size_t off = 0;

	*bad_off = size;
	while (off < size) {
		struct journal_record r;
		int ret = journal_record_decode(b + off, size - off, &r);

		if (ret == 1 && r.seq == *expected) {
			(*expected)++;
			(*records)++;
			off += journal_record_size(r.len);
			continue;
		}
		if (ret == 1) {
			err_set("journal segment %s/%s: record at offset %zu has seq %llu, expected "
				"%llu (records are missing or out of order)",
				dir, s->name, off, (unsigned long long)r.seq,
				(unsigned long long)*expected);
			return -EUCLEAN;
		}
		*why = ret == 0 ? "short record" : "bad length or CRC";
		if (!is_tail || valid_after(b, size, off, *expected)) {
			err_set("journal segment %s/%s: corrupt record at offset %zu (%s) after seq "
				"%llu; acknowledged history is damaged: move the segment aside to start",
				dir, s->name, off, *why, (unsigned long long)(*expected - 1));
			return -EUCLEAN;
		}
		*bad_off = off;
		return 0;
	}
	return 0;
}

static int journal_scan(struct journal *j, struct journal_recovery *rec)
{
	struct seglist l = { 0 };
	unsigned char *b = NULL;
	__u64 expected = 1;
	size_t i, size;
	int err;

	err = seg_list(j->dirfd, 1, &l);
	if (err) {
		err_set("cannot list the journal in %s: %s", j->dir, strerror(-err));
		return err;
	}
	rec->segments = l.n;
	for (i = 0; i < l.n; i++) {
		struct seg *s = &l.v[i];
		int is_tail = i + 1 == l.n && !s->compressed;
		const char *why = NULL;
		size_t bad;

		if (i == 0)
			expected = s->first;
		if (s->first != expected) {
			err_set("journal %s: seq gap: segment %s starts at %llu, expected %llu (a "
				"segment is missing; move the segments before it aside to start)",
				j->dir, s->name, (unsigned long long)s->first,
				(unsigned long long)expected);
			err = -EUCLEAN;
			goto out;
		}
		err = seg_load(j->dirfd, s, &b, &size);
		if (err) {
			if (err != -EBADMSG)
				err_set("cannot read journal segment %s/%s: %s", j->dir, s->name,
					strerror(-err));
			err = err == -EBADMSG ? -EUCLEAN : err;
			goto out;
		}
		err = seg_verify(j->dir, s, is_tail, b, size, &expected, &rec->records, &bad, &why);
		if (err)
			goto out;
		if (bad < size) {
			int fd = openat(j->dirfd, s->name, O_WRONLY | O_CLOEXEC);

			if (fd < 0 || ftruncate(fd, (off_t)bad) || fsync(fd)) {
				err = -errno;
				err_set("cannot cut the torn tail of %s/%s: %s", j->dir, s->name,
					strerror(errno));
				if (fd >= 0)
					close(fd);
				goto out;
			}
			close(fd);
			rec->cut = 1;
			snprintf(rec->segment, sizeof(rec->segment), "%s", s->name);
			rec->offset = bad;
			rec->bytes_cut = size - bad;
			snprintf(rec->why, sizeof(rec->why), "%s", why);
			size = bad;
		}
		free(b);
		b = NULL;
		/* A plain segment before the last one: its seal was interrupted. */
		if (!s->compressed && i + 1 < l.n && !j->no_compress) {
			err = seg_seal(j->dirfd, s);
			if (err)
				goto out;
			rec->sealed_at_open++;
		}
		if (is_tail) {
			j->fd = openat(j->dirfd, s->name, O_WRONLY | O_APPEND | O_CLOEXEC);
			if (j->fd < 0) {
				err = -errno;
				err_set("cannot open journal segment %s/%s: %s", j->dir, s->name,
					strerror(errno));
				goto out;
			}
			j->seg_first = s->first;
			j->seg_size = size;
		}
	}
	j->next_seq = l.n ? expected : 1;
	rec->next_seq = j->next_seq;
	rec->last_good_seq = j->next_seq - 1;
	if (j->fd < 0)
		err = seg_start(j);
out:
	free(b);
	free(l.v);
	return err;
}

int journal_open(const char *dir, const struct journal_opts *o, struct journal **jp,
		 struct journal_recovery *rec)
{
	struct journal_recovery dummy;
	struct journal *j;
	int err;

	*jp = NULL;
	if (!rec)
		rec = &dummy;
	memset(rec, 0, sizeof(*rec));
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->fd = -1;
	j->dirfd = -1;
	snprintf(j->dir, sizeof(j->dir), "%s", dir);
	j->max_size = o && o->segment_size ? o->segment_size : JOURNAL_SEGMENT_SIZE_DEFAULT;
	j->no_compress = o ? o->no_compress : 0;
	err = mkdir_p(dir);
	if (err) {
		err_set("cannot create the journal folder %s: %s", dir, strerror(-err));
		goto out;
	}
	j->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->dirfd < 0) {
		err = -errno;
		err_set("cannot open the journal folder %s: %s", dir, strerror(errno));
		goto out;
	}
	if (flock(j->dirfd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		err_set("the journal %s is in use by another writer (is sluiced running?)", dir);
		goto out;
	}
	err = journal_scan(j, rec);
out:
	if (err)
		journal_close(j);
	else
		*jp = j;
	return err;
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	if (j->dirfd >= 0)
		close(j->dirfd);
	free(j->buf);
	free(j);
}

__u64 journal_next_seq(const struct journal *j)
{
	return j->next_seq;
}

int journal_rotate(struct journal *j)
{
	struct seg s;
	int err;

	if (!j->seg_size)
		return 0;
	s.first = j->seg_first;
	s.compressed = 0;
	seg_name(s.name, s.first, 0);
	close(j->fd);
	j->fd = -1;
	err = seg_start(j);
	if (err)
		return err;
	/*
	 * A failed seal leaves the old segment plain and readable; the next
	 * journal_open seals it. Appends go on.
	 */
	if (!j->no_compress)
		seg_seal(j->dirfd, &s);
	return 0;
}

int journal_append_at(struct journal *j, __u16 type, const void *payload, __u32 len, __u64 time_ns,
		      __u64 *seq)
{
	size_t size = journal_record_size(len);
	int err;

	if (len > JOURNAL_PAYLOAD_MAX) {
		err_set("journal record of %u bytes is larger than the %u allowed", len,
			JOURNAL_PAYLOAD_MAX);
		return -EMSGSIZE;
	}
	if (j->fd < 0) {
		err = seg_start(j);
		if (err)
			return err;
	}
	if (j->seg_size && j->seg_size + size > j->max_size) {
		err = journal_rotate(j);
		if (err)
			return err;
	}
	if (size > j->buf_cap) {
		unsigned char *b = realloc(j->buf, size);

		if (!b)
			return -ENOMEM;
		j->buf = b;
		j->buf_cap = size;
	}
	journal_record_encode(j->buf, j->next_seq, time_ns, type, payload, len);
	err = write_all(j->fd, j->buf, size);
	if (!err && fdatasync(j->fd))
		err = -errno;
	if (err) {
		/* Leave no partial record behind. */
		if (ftruncate(j->fd, (off_t)j->seg_size) == 0)
			fdatasync(j->fd);
		err_set("cannot append to the journal %s: %s", j->dir, strerror(-err));
		return err;
	}
	j->seg_size += size;
	if (seq)
		*seq = j->next_seq;
	j->next_seq++;
	return 0;
}

int journal_append(struct journal *j, __u16 type, const void *payload, __u32 len, __u64 *seq)
{
	return journal_append_at(j, type, payload, len, journal_now_ns(), seq);
}

/* ---- command lists and payloads ---- */

int journal_cmds_add(void *ctx, int argc, char **argv)
{
	struct journal_cmds *c = ctx;
	char **v;
	int i;

	if (c->count == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		int *na = realloc(c->argc, cap * sizeof(*na));
		char ***nv;

		if (!na)
			return -ENOMEM;
		c->argc = na;
		nv = realloc(c->argv, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		c->argv = nv;
		c->cap = cap;
	}
	v = calloc((size_t)argc + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < argc; i++) {
		v[i] = strdup(argv[i]);
		if (!v[i]) {
			while (i--)
				free(v[i]);
			free(v);
			return -ENOMEM;
		}
	}
	c->argc[c->count] = argc;
	c->argv[c->count] = v;
	c->count++;
	return 0;
}

void journal_cmds_free(struct journal_cmds *c)
{
	size_t i;
	int k;

	if (!c)
		return;
	for (i = 0; i < c->count; i++) {
		for (k = 0; k < c->argc[i]; k++)
			free(c->argv[i][k]);
		free(c->argv[i]);
	}
	free(c->argc);
	free(c->argv);
	memset(c, 0, sizeof(*c));
}

static struct json_object *argv_json(int argc, char *const *argv)
{
	struct json_object *a = json_object_new_array();
	int i;

	for (i = 0; a && i < argc; i++) {
		if (json_object_array_add(a, json_object_new_string(argv[i]))) {
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

static char *json_take(struct json_object *o)
{
	char *s = NULL;

	if (o)
		s = strdup(json_object_to_json_string_ext(
			o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

char *journal_command_json(int argc, char *const *argv)
{
	struct json_object *o = json_object_new_object(), *a = argv_json(argc, argv);

	if (!o || !a || json_object_object_add(o, "argv", a)) {
		json_object_put(a);
		json_object_put(o);
		return NULL;
	}
	return json_take(o);
}

char *journal_snapshot_json(const struct journal_cmds *c)
{
	struct json_object *o = json_object_new_object(), *list = json_object_new_array();
	size_t i;

	if (!o || !list || json_object_object_add(o, "commands", list)) {
		json_object_put(list);
		json_object_put(o);
		return NULL;
	}
	for (i = 0; i < c->count; i++) {
		struct json_object *a = argv_json(c->argc[i], c->argv[i]);

		if (!a || json_object_array_add(list, a)) {
			json_object_put(a);
			json_object_put(o);
			return NULL;
		}
	}
	return json_take(o);
}

/* ---- compaction ---- */

int journal_compact_open(struct journal *j, const struct journal_cmds *c, __u64 *seq)
{
	struct seglist l = { 0 };
	char *payload;
	size_t i;
	int err;

	payload = journal_snapshot_json(c);
	if (!payload)
		return -ENOMEM;
	err = journal_rotate(j);
	if (!err)
		err = journal_append(j, JOURNAL_SNAPSHOT, payload, (__u32)strlen(payload), seq);
	free(payload);
	if (err)
		return err;
	err = seg_list(j->dirfd, 1, &l);
	if (err)
		goto out;
	/* Oldest first: a crash halfway leaves a contiguous journal. */
	for (i = 0; i < l.n; i++) {
		if (l.v[i].first >= j->seg_first)
			break;
		if (unlinkat(j->dirfd, l.v[i].name, 0)) {
			err = -errno;
			err_set("cannot remove journal segment %s/%s: %s", j->dir, l.v[i].name,
				strerror(errno));
			goto out;
		}
	}
	err = fsync_dir(j->dirfd);
out:
	free(l.v);
	return err;
}

int journal_compact(const char *dir, const struct journal_opts *o, const struct journal_cmds *c,
		    __u64 *seq)
{
	struct journal *j;
	int err;

	err = journal_open(dir, o, &j, NULL);
	if (err)
		return err;
	err = journal_compact_open(j, c, seq);
	journal_close(j);
	return err;
}

/* ---- iteration ---- */

struct journal_iter {
	int dirfd;
	struct seglist l;
	size_t seg;	    /* next segment to load */
	unsigned char *buf; /* the loaded segment */
	size_t size, off;
	int loaded;
	int is_tail;
	__u64 expected; /* seq of the next record (0: not known yet) */
	char dir[256];
};

int journal_iter_open(const char *dir, struct journal_iter **itp)
{
	struct journal_iter *it;
	int err;

	*itp = NULL;
	it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	snprintf(it->dir, sizeof(it->dir), "%s", dir);
	it->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (it->dirfd < 0) {
		err = -errno;
		err_set("cannot open the journal folder %s: %s (another journal: dir DIR)", dir,
			strerror(errno));
		free(it);
		return err;
	}
	err = seg_list(it->dirfd, 0, &it->l);
	if (err) {
		err_set("cannot list the journal in %s: %s", dir, strerror(-err));
		journal_iter_close(it);
		return err;
	}
	*itp = it;
	return 0;
}

/* Load the next segment; falls back to the other form when it was sealed meanwhile. */
static int iter_load(struct journal_iter *it)
{
	struct seg *s = &it->l.v[it->seg];
	int err;

	free(it->buf);
	it->buf = NULL;
	err = seg_load(it->dirfd, s, &it->buf, &it->size);
	if (err == -ENOENT && !s->compressed) {
		seg_name(s->name, s->first, 1);
		s->compressed = 1;
		err = seg_load(it->dirfd, s, &it->buf, &it->size);
	}
	if (err) {
		if (err == -ENOENT)
			err_set("journal segment %s/%s vanished while reading (compacted "
				"meanwhile?); try again",
				it->dir, s->name);
		else if (err != -EBADMSG)
			err_set("cannot read journal segment %s/%s: %s", it->dir, s->name,
				strerror(-err));
		return err == -EBADMSG ? -EUCLEAN : err;
	}
	if (it->expected && s->first != it->expected) {
		err_set("journal %s: seq gap: segment %s starts at %llu, expected %llu", it->dir,
			s->name, (unsigned long long)s->first, (unsigned long long)it->expected);
		return -EUCLEAN;
	}
	it->expected = s->first;
	it->is_tail = it->seg + 1 == it->l.n && !s->compressed;
	it->off = 0;
	it->loaded = 1;
	it->seg++;
	return 0;
}

int journal_iter_next(struct journal_iter *it, struct journal_record *r)
{
	int ret, err;

	for (;;) {
		if (!it->loaded || it->off >= it->size) {
			if (it->seg >= it->l.n)
				return 0;
			err = iter_load(it);
			if (err)
				return err;
			continue;
		}
		ret = journal_record_decode(it->buf + it->off, it->size - it->off, r);
		if (ret == 1 && r->seq == it->expected) {
			it->off += journal_record_size(r->len);
			it->expected++;
			return 1;
		}
		/* A torn last record of the live segment: the end, for a reader. */
		if (ret != 1 && it->is_tail &&
		    !valid_after(it->buf, it->size, it->off, it->expected)) {
			it->off = it->size;
			return 0;
		}
		err_set("journal segment %s/%s: corrupt record at offset %zu (%s)", it->dir,
			it->l.v[it->seg - 1].name, it->off,
			ret == 1 ? "seq out of order" : "bad length or CRC");
		return -EUCLEAN;
	}
}

void journal_iter_close(struct journal_iter *it)
{
	if (!it)
		return;
	if (it->dirfd >= 0)
		close(it->dirfd);
	free(it->l.v);
	free(it->buf);
	free(it);
}

/* ---- replay ---- */

/* argv of a {"argv": [...]} payload or of one snapshot entry into c. */
static int cmds_add_json(struct journal_cmds *c, struct json_object *a)
{
	size_t n, i;
	char **v;
	int err;

	if (!json_object_is_type(a, json_type_array))
		return -EINVAL;
	n = json_object_array_length(a);
	if (n == 0 || n > 256)
		return -EINVAL;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct json_object *s = json_object_array_get_idx(a, i);

		if (!json_object_is_type(s, json_type_string)) {
			free(v);
			return -EINVAL;
		}
		v[i] = (char *)json_object_get_string(s);
	}
	err = journal_cmds_add(c, (int)n, v);
	free(v);
	return err;
}

struct json_object *journal_payload_parse(const struct journal_record *r)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;

	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, r->payload, (int)r->len);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

struct replay {
	struct journal_cmds snap; /* commands of the last snapshot used */
	struct journal_cmds cmds; /* commands after it */
	__u64 *seqs;		  /* seq of each entry of cmds */
	char *failed;		  /* 1: a FAILED record names it */
	int have_snap;
};

static int replay_record(struct replay *rp, const struct journal_record *r, int in_range)
{
	struct json_object *o = journal_payload_parse(r), *v;
	int err = 0;
	size_t i, n;

	if (!o) {
		err_set("journal record %llu (%s): payload is not JSON", (unsigned long long)r->seq,
			journal_type_name(r->type));
		return -EBADMSG;
	}
	if (r->type == JOURNAL_FAILED) {
		__u64 seq;
		size_t lo = 0, hi = rp->cmds.count;

		if (!json_object_object_get_ex(o, "seq", &v))
			goto out;
		seq = (__u64)json_object_get_int64(v);
		while (lo < hi) { /* seqs ascend */
			size_t mid = (lo + hi) / 2;

			if (rp->seqs[mid] < seq)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < rp->cmds.count && rp->seqs[lo] == seq)
			rp->failed[lo] = 1;
		goto out;
	}
	if (!in_range)
		goto out;
	if (r->type == JOURNAL_SNAPSHOT) {
		if (!json_object_object_get_ex(o, "commands", &v) ||
		    !json_object_is_type(v, json_type_array)) {
			err = -EBADMSG;
			goto bad;
		}
		journal_cmds_free(&rp->snap);
		journal_cmds_free(&rp->cmds);
		rp->have_snap = 1;
		n = json_object_array_length(v);
		for (i = 0; i < n && !err; i++)
			err = cmds_add_json(&rp->snap, json_object_array_get_idx(v, i));
		if (err == -EINVAL)
			goto bad;
	} else if (r->type == JOURNAL_COMMAND) {
		if (rp->cmds.count == rp->cmds.cap) {
			size_t cap = rp->cmds.cap ? rp->cmds.cap * 2 : 16;
			__u64 *ns = realloc(rp->seqs, cap * sizeof(*ns));
			char *nf;

			if (!ns) {
				err = -ENOMEM;
				goto out;
			}
			rp->seqs = ns;
			nf = realloc(rp->failed, cap);
			if (!nf) {
				err = -ENOMEM;
				goto out;
			}
			rp->failed = nf;
		}
		if (!json_object_object_get_ex(o, "argv", &v)) {
			err = -EINVAL;
			goto bad;
		}
		err = cmds_add_json(&rp->cmds, v);
		if (err == -EINVAL)
			goto bad;
		if (!err) {
			rp->seqs[rp->cmds.count - 1] = r->seq;
			rp->failed[rp->cmds.count - 1] = 0;
		}
	}
	goto out;
bad:
	err_set("journal record %llu (%s): unexpected payload %.*s", (unsigned long long)r->seq,
		journal_type_name(r->type), (int)(r->len > 200 ? 200 : r->len), r->payload);
	err = -EBADMSG;
out:
	json_object_put(o);
	return err;
}

int journal_replay_commands(const char *dir, __u64 at_time_ns,
			    int (*emit)(void *ctx, int argc, char **argv), void *ctx)
{
	struct journal_iter *it = NULL;
	struct journal_record r;
	struct replay rp;
	__u64 first_seq = 0, first_time = 0;
	int in_range = 1, ret, err;
	size_t i;

	memset(&rp, 0, sizeof(rp));
	err = journal_iter_open(dir, &it);
	if (err)
		return err;
	while ((ret = journal_iter_next(it, &r)) == 1) {
		if (!first_seq) {
			first_seq = r.seq;
			first_time = r.time_ns;
		}
		if (r.time_ns > at_time_ns)
			in_range = 0;
		err = replay_record(&rp, &r, in_range);
		if (err)
			goto out;
	}
	if (ret < 0) {
		err = ret;
		goto out;
	}
	if (first_seq > 1 && !rp.have_snap) {
		char when[40];

		journal_format_time(first_time, when, sizeof(when));
		err_set("the journal in %s starts at seq %llu (%s, compacted): the state before "
			"that is gone",
			dir, (unsigned long long)first_seq, when);
		err = -ERANGE;
		goto out;
	}
	for (i = 0; i < rp.snap.count && !err; i++)
		err = emit(ctx, rp.snap.argc[i], rp.snap.argv[i]);
	for (i = 0; i < rp.cmds.count && !err; i++)
		if (!rp.failed[i])
			err = emit(ctx, rp.cmds.argc[i], rp.cmds.argv[i]);
out:
	journal_iter_close(it);
	journal_cmds_free(&rp.snap);
	journal_cmds_free(&rp.cmds);
	free(rp.seqs);
	free(rp.failed);
	return err;
}
