// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Journal segment files (journal_int.h): their names, the listing of a
 * folder, loading (inflating sealed ones) and sealing with zlib.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "err.h"
#include "journal_int.h"

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

void journal_seg_name(char *buf, __u64 first, int compressed)
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
int journal_seg_list(int dirfd, int writer, struct seglist *l)
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

/*
 * The most bytes of records one segment can hold: the writer rotates before
 * a record would take a segment past its size (at most
 * JOURNAL_SEGMENT_SIZE_MAX), and a record larger than that starts an empty
 * segment of its own. Reading or inflating past it is refused: a sealed
 * segment is otherwise a zip bomb (1 MB on disk inflated to 1 GB).
 */
#define SEG_BYTES_MAX                                                                     \
	(JOURNAL_SEGMENT_SIZE_MAX > JOURNAL_RECORD_MAX ? (size_t)JOURNAL_SEGMENT_SIZE_MAX \
						       : (size_t)JOURNAL_RECORD_MAX)

/* The whole file, up to max bytes; -EFBIG past that. */
static int read_all(int fd, size_t max, unsigned char **buf, size_t *size)
{
	size_t cap = 0, n = 0;
	unsigned char *b = NULL;
	struct stat st;
	ssize_t r;

	if (fstat(fd, &st))
		return -errno;
	if ((__u64)st.st_size > max)
		return -EFBIG;
	cap = (size_t)st.st_size + 1;
	b = malloc(cap);
	if (!b)
		return -ENOMEM;
	for (;;) {
		if (n == cap) {
			unsigned char *nb;

			if (cap > max) { /* it grew while being read */
				free(b);
				return -EFBIG;
			}
			nb = realloc(b, cap * 2);
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

/* Inflate a gzip or zlib stream of at most max bytes; -EFBIG past that. */
static int inflate_all(const unsigned char *in, size_t in_len, size_t max, unsigned char **buf,
		       size_t *size)
{
	size_t cap = in_len * 4 + 4096;
	unsigned char *b;
	z_stream zs;
	int zr, err = 0;

	/* One byte over max tells a stream of exactly max from a longer one. */
	if (cap > max + 1)
		cap = max + 1;
	b = malloc(cap);
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
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			unsigned char *nb;

			if (cap > max) {
				err = -EFBIG;
				break;
			}
			nb = realloc(b, ncap);
			if (!nb) {
				err = -ENOMEM;
				break;
			}
			b = nb;
			cap = ncap;
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

/*
 * The records of a segment, inflated when sealed. -ENOENT if it vanished;
 * -EBADMSG (message set) when it is corrupt or larger than any segment the
 * writer produces.
 */
int journal_seg_load(int dirfd, const struct seg *s, unsigned char **buf, size_t *size)
{
	unsigned char *raw;
	size_t raw_len;
	int fd, err;

	fd = openat(dirfd, s->name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Deflate never makes a segment much larger: the same bound holds on disk. */
	err = read_all(fd, SEG_BYTES_MAX, &raw, &raw_len);
	close(fd);
	if (err == -EFBIG) {
		err_set("journal segment %s is larger than the %zu MiB any segment can be: corrupt "
			"or not a journal segment; move it aside to start",
			s->name, SEG_BYTES_MAX >> 20);
		return -EBADMSG;
	}
	if (err)
		return err;
	if (!s->compressed) {
		*buf = raw;
		*size = raw_len;
		return 0;
	}
	err = inflate_all(raw, raw_len, SEG_BYTES_MAX, buf, size);
	free(raw);
	if (err == -EBADMSG)
		err_set("journal segment %s: the zlib stream is corrupt", s->name);
	if (err == -EFBIG) {
		err_set("journal segment %s inflates past %zu MiB, more than any segment the "
			"journal writes: corrupt or not a journal segment; move it aside to start",
			s->name, SEG_BYTES_MAX >> 20);
		err = -EBADMSG;
	}
	return err;
}

int journal_write_all(int fd, const void *buf, size_t len)
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

int journal_fsync_dir(int dirfd)
{
	return fsync(dirfd) ? -errno : 0;
}

/*
 * Seal the plain segment s: deflate to NAME.z.tmp, fsync, rename to NAME.z,
 * fsync the folder, unlink the plain file, fsync the folder.
 */
int journal_seg_seal(int dirfd, struct seg *s)
{
	char zname[SEG_NAME_MAX], tmp[SEG_NAME_MAX + 4];
	unsigned char *raw = NULL, *z = NULL;
	size_t raw_len, z_cap;
	z_stream zs;
	int fd = -1, err, zr;

	journal_seg_name(zname, s->first, 1);
	snprintf(tmp, sizeof(tmp), "%s.tmp", zname);
	fd = openat(dirfd, s->name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = read_all(fd, SEG_BYTES_MAX, &raw, &raw_len);
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
	err = journal_write_all(fd, z, zs.total_out);
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
	err = journal_fsync_dir(dirfd);
	if (err)
		goto out;
	if (unlinkat(dirfd, s->name, 0)) {
		err = -errno;
		goto out;
	}
	err = journal_fsync_dir(dirfd);
	s->compressed = 1;
	memcpy(s->name, zname, sizeof(zname));
out:
	if (err)
		err_set("cannot seal journal segment %s: %s", s->name, strerror(-err));
	free(raw);
	free(z);
	return err;
}
