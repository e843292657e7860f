// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Reading the journal back (journal_int.h): command lists and their JSON
 * payloads, iteration over the records, and the replay of the commands
 * that rebuild the state as of a time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "cmd.h"
#include "err.h"
#include "journal_int.h"
#include "timefmt.h"

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

int journal_cmds_add_cmd(void *ctx, const struct sluice_cmd *cmd)
{
	struct cmd_argv *a = malloc(sizeof(*a));
	int err;

	if (!a) {
		err_set("out of memory");
		return -ENOMEM;
	}
	err = cmd_format(cmd, a);
	if (!err)
		err = journal_cmds_add(ctx, a->argc, a->argv);
	free(a);
	return err;
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
	err = journal_seg_list(it->dirfd, 0, &it->l);
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
	err = journal_seg_load(it->dirfd, s, &it->buf, &it->size);
	if (err == -ENOENT && !s->compressed) {
		journal_seg_name(s->name, s->first, 1);
		s->compressed = 1;
		err = journal_seg_load(it->dirfd, s, &it->buf, &it->size);
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
	size_t at;
	__u64 seq;
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
			it->off += r->size;
			it->expected++;
			return 1;
		}
		/* A torn last record of the live segment: the end, for a reader. */
		if (ret != 1 && it->is_tail &&
		    !journal_record_find_valid(it->buf, it->size, it->off, it->expected, &at,
					       &seq)) {
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

		timefmt_format(first_time, when, sizeof(when));
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
