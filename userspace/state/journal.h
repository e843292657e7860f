/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The journal: an append-only, checksummed log of what the daemon was asked
 * to do and what happened (commands, their failures, config applies, health
 * and breaker transitions, snapshots), kept in a folder of segment files.
 *
 * Files. Segment NNNNNNNNNNNNNNNNNNNN.seg (20 decimal digits: the seq of its
 * first record, so names sort in seq order). Only the last segment is open
 * for appends; when it would grow past the segment size it is sealed:
 * deflated whole (gzip wrapper, so `zcat NAME.seg.z` reads it) to
 * NAME.seg.z.tmp, fsync, rename to NAME.seg.z, fsync the folder, unlink
 * NAME.seg, fsync the folder. A crash at any point leaves either the plain
 * or the compressed copy (or both: the plain one is then dropped at open).
 * Readers inflate sealed segments transparently, never past the largest
 * segment the writer produces (JOURNAL_SEGMENT_SIZE_MAX): a segment that
 * would is refused as corrupt (-EUCLEAN).
 *
 * Record (all integers little-endian), JOURNAL_HDR_SIZE bytes + body:
 *
 *   u32 length     body bytes: the author block (when flagged) and the payload
 *   u32 crc        zlib crc32 over everything after this field (seq..payload)
 *   u64 seq        1, 2, 3, ... without gaps across segments
 *   u64 time_ns    CLOCK_REALTIME at append
 *   u16 type       enum journal_type
 *   u16 flags      JOURNAL_REC_AUTHOR; 0 in records written before authors
 *   u32 uid, pid   (JOURNAL_REC_AUTHOR) who asked for the record: a control
 *                  client's SO_PEERCRED, else the writing process
 *   payload        JSON text (see enum journal_type), no terminating NUL
 *
 * Every record written now carries its author; a record of an older
 * journal (flags 0) reads back without one. A flag this reader does not
 * know makes the record unreadable (-EBADMSG): a newer format.
 *
 * Durability: journal_append() returns after write() and fdatasync(); the
 * folder is fsynced whenever a segment is created, renamed or removed.
 *
 * Recovery (journal_open): segments are read in order and every record is
 * verified. A torn or corrupt record at the end of the last plain segment
 * (bad length, short, bad CRC, wrong seq) is cut: the file is truncated at
 * the last good record and the cut is reported in struct journal_recovery.
 * A bad record anywhere else -- inside a sealed segment, or in the last
 * segment with a valid record anywhere after it (every later offset is
 * tried: a damaged length field points nowhere useful) -- is corruption of
 * acknowledged history: journal_open fails with -EUCLEAN, says where and
 * changes nothing, so no acknowledged record is dropped and no seq is handed
 * out twice. So does a gap in the seqs between segments (a segment file
 * went missing).
 *
 * One writer: journal_open holds an exclusive flock on the folder; a second
 * journal_open of the same folder fails with -EBUSY. Readers (the iterator)
 * take no lock and may run while the daemon appends: a partial last record
 * is simply the end for them.
 */
#ifndef SLUICE_JOURNAL_H
#define SLUICE_JOURNAL_H

#include <stddef.h>
#include <linux/types.h>

/* The daemon's journal folder unless told otherwise (--journal, --dir). */
#define JOURNAL_DIR_DEFAULT "/var/lib/sluice/journal"
/* Segments rotate when the next record would take them past this. */
#define JOURNAL_SEGMENT_SIZE_DEFAULT (8u << 20)
/*
 * Largest segment_size journal_open accepts. With JOURNAL_PAYLOAD_MAX it
 * bounds every segment the writer produces, hence what a reader inflates.
 */
#define JOURNAL_SEGMENT_SIZE_MAX (64u << 20)
/* Largest payload; a longer length field marks a corrupt record. */
#define JOURNAL_PAYLOAD_MAX (16u << 20)
/* Bytes of a record before its body. */
#define JOURNAL_HDR_SIZE 28u
/* Flag: an author block (u32 uid, u32 pid) starts the body. */
#define JOURNAL_REC_AUTHOR 1u
#define JOURNAL_AUTHOR_SIZE 8u
/* The largest record. */
#define JOURNAL_RECORD_MAX (JOURNAL_HDR_SIZE + JOURNAL_AUTHOR_SIZE + JOURNAL_PAYLOAD_MAX)

/* Record types and their JSON payloads. */
enum journal_type {
	JOURNAL_COMMAND = 1, /* {"argv": [...]}: a CLI write command, journaled before it runs */
	JOURNAL_FAILED = 2,  /* {"seq": N, "error": "..."}: command N did not apply */
	JOURNAL_CONFIG = 3,  /* {"path": "...", "commands": N}: a config file was applied */
	JOURNAL_HEALTH = 4,  /* {"service", "backend", "up": bool, "why"}: health transition */
	JOURNAL_BREAKER = 5, /* {"service", "backend", "from", "to", "cause"}: breaker transition */
	JOURNAL_ELECTION = 6, /* election events (free-form JSON) */
	JOURNAL_SNAPSHOT = 7, /* {"commands": [[argv...], ...]}: the whole state as commands */
	JOURNAL_PANIC =
		8,	 /* {"service", "panic": bool, "healthy", "active"}: panic began or ended */
	JOURNAL_BGP = 9, /* {"vip"|"peer", "event", ...}: BGP announcements, sessions, drain */
	JOURNAL_TYPE_MAX = JOURNAL_BGP,
};

/* "command", "failed", ...; "?" for an unknown type. */
const char *journal_type_name(__u16 type);

/* Name (unique prefix accepted) to type; -EINVAL with a message if unknown. */
int journal_type_parse(const char *text, __u16 *type);

struct journal_opts {
	__u64 segment_size; /* rotate past this (0: JOURNAL_SEGMENT_SIZE_DEFAULT) */
	int no_compress;    /* keep sealed segments plain */
};

/* What journal_open found and repaired. */
struct journal_recovery {
	int cut;	      /* 1 when a torn or corrupt tail was cut */
	char segment[64];     /* file name of the cut segment */
	__u64 offset;	      /* where it was cut: the end of the last good record */
	__u64 bytes_cut;      /* bytes removed */
	__u64 last_good_seq;  /* seq of the last record kept (0: none) */
	char why[96];	      /* "short record", "bad CRC", "bad length", "seq out of order" */
	__u64 records;	      /* records kept in the journal */
	__u64 segments;	      /* segment files */
	__u64 next_seq;	      /* the seq the next append gets */
	__u64 sealed_at_open; /* plain segments sealed by open (an interrupted rotation) */
};

struct journal;

/*
 * Open (create, mode 0700) the journal in dir for appending. rec, when not
 * NULL, receives what the scan found. 0 or -errno: -EUCLEAN for corruption
 * or a seq gap, -EBUSY when another writer holds it (messages in err.h).
 */
int journal_open(const char *dir, const struct journal_opts *o, struct journal **j,
		 struct journal_recovery *rec);

/* Close; NULL accepted. */
void journal_close(struct journal *j);

/*
 * Append one record stamped with CLOCK_REALTIME; returns after fdatasync.
 * *seq (when not NULL) receives its seq. 0 or -errno; on failure nothing of
 * the record stays in the file.
 */
int journal_append(struct journal *j, __u16 type, const void *payload, __u32 len, __u64 *seq);

/* The same with an explicit time (imports, tests). */
int journal_append_at(struct journal *j, __u16 type, const void *payload, __u32 len, __u64 time_ns,
		      __u64 *seq);

/*
 * Group commit: between journal_group_begin() and journal_group_commit()
 * appends are written but not synced; the commit syncs them with one
 * fdatasync (a group never spans segments: rotation waits for it). Only
 * after the commit returned 0 is a record of the group durable and may be
 * acknowledged or acted on. On failure the commit takes the group's
 * records back (the file and the seqs) and returns -errno with err_set().
 */
void journal_group_begin(struct journal *j);
int journal_group_commit(struct journal *j);

/* Who asks for a record: a uid and a pid. */
struct journal_author {
	__u32 uid;
	__u32 pid;
};

/*
 * The author of the records appended from now on (NULL: this process,
 * getuid() and getpid(), as after journal_open).
 */
void journal_set_author(struct journal *j, const struct journal_author *a);

/* The seq the next append will get. */
__u64 journal_next_seq(const struct journal *j);

/* Seal the current segment now (if it holds records) and start a new one. */
int journal_rotate(struct journal *j);

/* Wall clock in ns (CLOCK_REALTIME). */
__u64 journal_now_ns(void);

/* A list of commands (argv vectors): what snapshots hold and replay yields. */
struct journal_cmds {
	size_t count;
	size_t cap;
	int *argc;
	char ***argv; /* argv[i][0..argc[i]-1], each NULL-terminated */
};

/*
 * Append a copy of argv to the list ctx (a struct journal_cmds *): has the
 * emit signature of journal_replay_commands().
 */
int journal_cmds_add(void *ctx, int argc, char **argv);
/* The same for a typed command (its cmd_format() argv): state_diff()'s emit. */
struct sluice_cmd;
int journal_cmds_add_cmd(void *ctx, const struct sluice_cmd *cmd);
void journal_cmds_free(struct journal_cmds *c);

/* JSON payloads: {"argv": [...]} and {"commands": [[...], ...]}; caller frees. */
char *journal_command_json(int argc, char *const *argv);
char *journal_snapshot_json(const struct journal_cmds *c);

/*
 * Append a JOURNAL_SNAPSHOT of c as the first record of a fresh segment and
 * remove every segment before it (oldest first, so a crash leaves a
 * contiguous journal). *seq receives the snapshot's seq.
 */
int journal_compact_open(struct journal *j, const struct journal_cmds *c, __u64 *seq);

/* The same on a folder: open, compact, close. */
int journal_compact(const char *dir, const struct journal_opts *o, const struct journal_cmds *c,
		    __u64 *seq);

/* One record as read back; payload stays valid until the next iter call. */
struct journal_record {
	__u64 seq;
	__u64 time_ns;
	__u16 type;
	__u32 len; /* payload bytes */
	const char *payload;
	int has_author; /* 0: written before authors were recorded */
	struct journal_author author;
	size_t size; /* bytes of the whole record */
};

struct journal_iter;

/* Read the journal in dir from its first record. 0 or -errno (-ENOENT: no such folder). */
int journal_iter_open(const char *dir, struct journal_iter **it);

/* 1 and *r filled, 0 at the end, or -errno (-EUCLEAN on corruption or a gap). */
int journal_iter_next(struct journal_iter *it, struct journal_record *r);

void journal_iter_close(struct journal_iter *it);

struct json_object;

/* r's JSON payload parsed (json_object_put() it), or NULL when it is not JSON. */
struct json_object *journal_payload_parse(const struct journal_record *r);

/*
 * The state as of at_time_ns, as commands: those of the last snapshot at or
 * before that time, then every COMMAND after it up to that time that has no
 * FAILED record (anywhere in the journal). Records are taken in seq order up
 * to the first one later than at_time_ns. emit gets each command in order
 * (argv without "sluice"); a non-zero return stops and is returned.
 * -ERANGE when the journal was compacted after at_time_ns (history before
 * its first snapshot is gone).
 */
int journal_replay_commands(const char *dir, __u64 at_time_ns,
			    int (*emit)(void *ctx, int argc, char **argv), void *ctx);

/*
 * Encoding, for tests and tools: a record of len payload bytes into buf
 * (journal_record_size(len) bytes, or JOURNAL_AUTHOR_SIZE less without an
 * author: author NULL writes the format of before authors).
 */
size_t journal_record_size(__u32 len);
void journal_record_encode(void *buf, __u64 seq, __u64 time_ns, __u16 type,
			   const struct journal_author *author, const void *payload, __u32 len);

/*
 * Decode the record at buf (avail bytes): 1 and *r (payload points into buf),
 * 0 when avail is short of a whole record, -EBADMSG on a bad length or CRC.
 */
int journal_record_decode(const void *buf, size_t avail, struct journal_record *r);

#endif /* SLUICE_JOURNAL_H */
