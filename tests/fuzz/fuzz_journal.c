// SPDX-License-Identifier: GPL-2.0-only
/*
 * The journal's reader, recovery and replay (userspace/state/journal*.c).
 * The input (after a mode byte) is written as a segment file, plain or as a
 * sealed .seg.z (the inflater's input), in a scratch folder on tmpfs. Then:
 * the iterator and the replay read it; journal_open recovers it; when it
 * succeeds, one record is appended and the whole journal must read back
 * without error, seqs without a gap, ending at the appended record, and a
 * second open must go on after it: what recovery kept is consistent and no
 * seq is handed out twice (issue 13 F3).
 */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "journal.h"

static char dir[64];

static void clear_dir(void)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	char path[512];

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

static void remove_dir(void)
{
	clear_dir();
	rmdir(dir);
}

static int count_cmd(void *ctx, int argc, char **argv)
{
	(void)argv;
	fuzz_check(argc > 0, "empty command");
	(*(int *)ctx)++;
	return 0;
}

/* Read everything: 0 at a clean end (*last: the last seq), or the error. */
static int read_all(__u64 *first, __u64 *last)
{
	struct journal_iter *it;
	struct journal_record r;
	int ret;

	*first = *last = 0;
	if (journal_iter_open(dir, &it))
		return -1;
	while ((ret = journal_iter_next(it, &r)) == 1) {
		fuzz_check(!*last || r.seq == *last + 1, "seq %llu after %llu",
			   (unsigned long long)r.seq, (unsigned long long)*last);
		if (!*first)
			*first = r.seq;
		*last = r.seq;
	}
	journal_iter_close(it);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct journal_opts o = { .segment_size = 1 << 20, .no_compress = 1 };
	struct journal_recovery rec;
	struct journal *j;
	__u64 first, last, seq;
	char path[512];
	int fd, n = 0, ret;
	__u8 mode;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "%s/sluice-fuzz-journal-XXXXXX",
			 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
		fuzz_check(mkdtemp(dir), "mkdtemp %s", dir);
		atexit(remove_dir);
	}
	clear_dir();
	if (!size)
		return 0;
	mode = data[0];
	/* Mode bit 0: sealed (.seg.z); bits 1-3: the first seq is 1 + that. */
	snprintf(path, sizeof(path), "%s/%020llu.seg%s", dir, 1ull + (mode >> 1 & 7),
		 mode & 1 ? ".z" : "");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fuzz_check(fd >= 0, "create %s", path);
	fuzz_check(write(fd, data + 1, size - 1) == (ssize_t)(size - 1), "write %s", path);
	close(fd);
	/* A record decoder over the raw bytes, as recovery uses it. */
	{
		struct journal_record r;

		if (journal_record_decode(data + 1, size - 1, &r) == 1)
			fuzz_check(r.size <= size - 1 && r.len <= r.size, "record past the end");
	}

	read_all(&first, &last);
	journal_replay_commands(dir, UINT64_MAX, count_cmd, &n);
	journal_replay_commands(dir, 1000000000000ull, count_cmd, &n);

	ret = journal_open(dir, &o, &j, &rec);
	if (ret)
		return 0;
	fuzz_check(rec.next_seq == rec.last_good_seq + 1, "next %llu after %llu",
		   (unsigned long long)rec.next_seq, (unsigned long long)rec.last_good_seq);
	fuzz_check(!journal_append(j, JOURNAL_ELECTION, "{}", 2, &seq), "append");
	fuzz_check(seq == rec.next_seq, "appended %llu, expected %llu", (unsigned long long)seq,
		   (unsigned long long)rec.next_seq);
	journal_close(j);
	ret = read_all(&first, &last);
	fuzz_check(ret == 0, "the recovered journal does not read back (%d)", ret);
	fuzz_check(last == seq, "read back to %llu, appended %llu", (unsigned long long)last,
		   (unsigned long long)seq);
	fuzz_check(last - first + 1 == rec.records + 1, "%llu records kept, %llu read",
		   (unsigned long long)rec.records, (unsigned long long)(last - first + 1));
	/* Opened again, the journal keeps what was appended: no seq comes back. */
	fuzz_check(!journal_open(dir, &o, &j, &rec), "the second open fails");
	fuzz_check(journal_next_seq(j) == seq + 1, "next seq %llu after appending %llu",
		   (unsigned long long)journal_next_seq(j), (unsigned long long)seq);
	journal_close(j);
	return 0;
}
