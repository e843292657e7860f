// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The journal's writer (see journal.h for the format and the rules): open
 * with the recovery of a torn tail, checksummed records appended with
 * fdatasync, rotation, snapshots and compaction.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "journal_int.h"

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
	struct journal_author author; /* of the next records */
	int group;	   /* 1: appends leave their fdatasync to journal_group_commit() */
	__u64 synced_size; /* seg_size as of the last fdatasync */
	__u64 synced_seq;  /* next_seq as of the last fdatasync */
	char dir[256];
};

/* What the segment holds now is on disk. */
static void mark_synced(struct journal *j)
{
	j->synced_size = j->seg_size;
	j->synced_seq = j->next_seq;
}

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

	journal_seg_name(name, j->next_seq, 0);
	fd = openat(j->dirfd, name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		err_set("cannot create journal segment %s/%s: %s", j->dir, name, strerror(errno));
		return -errno;
	}
	j->fd = fd;
	j->seg_first = j->next_seq;
	j->seg_size = 0;
	mark_synced(j);
	return journal_fsync_dir(j->dirfd);
}

/*
 * Verify the records of segment s (index i of l) in memory; *expected is
 * the seq the first record must have and is advanced. For the last plain
 * segment a bad tail is reported in *bad_off; a bad record with a valid one
 * anywhere after it, or in a sealed segment, is -EUCLEAN (nothing is cut:
 * cutting would drop acknowledged records and reuse their seqs).
 */
static int seg_verify(const char *dir, const struct seg *s, int is_tail, const unsigned char *b,
		      size_t size, __u64 *expected, __u64 *records, size_t *bad_off,
		      const char **why)
{
	size_t off = 0, next;
	__u64 next_seq;

	*bad_off = size;
	while (off < size) {
		struct journal_record r;
		int ret = journal_record_decode(b + off, size - off, &r);

		if (ret == 1 && r.seq == *expected) {
			(*expected)++;
			(*records)++;
			off += r.size;
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
		if (!is_tail) {
			err_set("journal segment %s/%s: corrupt record at offset %zu (%s) after seq "
				"%llu in a sealed segment; acknowledged history is damaged, nothing "
				"was changed: move the segment aside to start",
				dir, s->name, off, *why, (unsigned long long)(*expected - 1));
			return -EUCLEAN;
		}
		if (journal_record_find_valid(b, size, off, *expected, &next, &next_seq)) {
			err_set("journal segment %s/%s: corrupt record at offset %zu (%s) after seq "
				"%llu, but a valid record (seq %llu) follows at offset %zu; "
				"acknowledged history is damaged, nothing was cut or removed: move "
				"the segment aside to start",
				dir, s->name, off, *why, (unsigned long long)(*expected - 1),
				(unsigned long long)next_seq, next);
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

	err = journal_seg_list(j->dirfd, 1, &l);
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
		err = journal_seg_load(j->dirfd, s, &b, &size);
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
		/*
		 * The writer never seals an empty segment. Accepting one as the last
		 * would start a plain segment of the same name beside it, which the
		 * next open drops as the leftover of an interrupted seal.
		 */
		if (s->compressed && expected == s->first) {
			err_set("journal segment %s/%s is sealed but holds no records: damaged or "
				"not a journal segment; nothing was changed: move it aside to start",
				j->dir, s->name);
			err = -EUCLEAN;
			goto out;
		}
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
			err = journal_seg_seal(j->dirfd, s);
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
	else
		mark_synced(j);
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
	journal_set_author(j, NULL);
	snprintf(j->dir, sizeof(j->dir), "%s", dir);
	j->max_size = o && o->segment_size ? o->segment_size : JOURNAL_SEGMENT_SIZE_DEFAULT;
	j->no_compress = o ? o->no_compress : 0;
	if (j->max_size > JOURNAL_SEGMENT_SIZE_MAX) {
		err_set("journal segment size %llu is larger than the %u allowed",
			(unsigned long long)j->max_size, JOURNAL_SEGMENT_SIZE_MAX);
		err = -EINVAL;
		goto out;
	}
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
	journal_seg_name(s.name, s.first, 0);
	/* A group's records so far: on disk before their segment is sealed. */
	if (j->seg_size != j->synced_size && fdatasync(j->fd)) {
		err = -errno;
		err_set("cannot sync the journal %s: %s", j->dir, strerror(-err));
		return err;
	}
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
		journal_seg_seal(j->dirfd, &s);
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
	/*
	 * Not inside a group: a commit that fails must be able to take the
	 * whole group back from one segment (it overshoots max_size by at most
	 * one group).
	 */
	if (!j->group && j->seg_size && j->seg_size + size > j->max_size) {
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
	journal_record_encode(j->buf, j->next_seq, time_ns, type, &j->author, payload, len);
	err = journal_write_all(j->fd, j->buf, size);
	if (!err && !j->group && fdatasync(j->fd))
		err = -errno;
	if (err) {
		/* Leave no partial record behind (a group's earlier ones stay). */
		if (ftruncate(j->fd, (off_t)j->seg_size) == 0 && !j->group)
			fdatasync(j->fd);
		err_set("cannot append to the journal %s: %s", j->dir, strerror(-err));
		return err;
	}
	j->seg_size += size;
	if (seq)
		*seq = j->next_seq;
	j->next_seq++;
	if (!j->group)
		mark_synced(j);
	return 0;
}

void journal_group_begin(struct journal *j)
{
	j->group = 1;
}

int journal_group_commit(struct journal *j)
{
	int err;

	j->group = 0;
	if (j->seg_size == j->synced_size)
		return 0;
	if (!fdatasync(j->fd)) {
		mark_synced(j);
		return 0;
	}
	err = -errno;
	/*
	 * Nothing of the group was acknowledged: take it back whole, seqs too,
	 * so the journal holds exactly what was confirmed durable.
	 */
	if (ftruncate(j->fd, (off_t)j->synced_size) == 0)
		fdatasync(j->fd);
	j->seg_size = j->synced_size;
	j->next_seq = j->synced_seq;
	err_set("cannot sync the journal %s: %s", j->dir, strerror(-err));
	return err;
}

void journal_set_author(struct journal *j, const struct journal_author *a)
{
	if (a) {
		j->author = *a;
	} else {
		j->author.uid = (__u32)getuid();
		j->author.pid = (__u32)getpid();
	}
}

int journal_append(struct journal *j, __u16 type, const void *payload, __u32 len, __u64 *seq)
{
	return journal_append_at(j, type, payload, len, journal_now_ns(), seq);
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
	err = journal_seg_list(j->dirfd, 1, &l);
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
	err = journal_fsync_dir(j->dirfd);
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
