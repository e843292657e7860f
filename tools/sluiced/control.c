// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket: a Unix SOCK_STREAM listener (0660, group "sluice"
 * when it exists) speaking newline-delimited JSON (userspace/ctl.h). Every
 * connection is non-blocking with its own input and output buffers and a
 * deadline, so a slow or dead client cannot stall the loop. Write commands
 * are journaled (fdatasync) before the command library (userspace/cmd)
 * parses and applies them with their output captured; subscribers get every
 * journal record as a JSON line, after a backlog of the recent ones, and
 * are dropped when they fall too far behind or cannot take a record within
 * the deadline: one never blocks another, and they have their own limit
 * (SUB_MAX) apart from the request connections'. Memory per client is
 * bounded: a client with OUT_PENDING_MAX of replies unsent is not read
 * (nor its requests run) until it takes them, and is dropped at its
 * deadline; the last request slots are kept for the admin role.
 *
 * Every connection has a role from its peer's credentials (SO_PEERCRED,
 * SO_PEERGROUPS; ctl.h): admin for root and the admin group (--admin-group),
 * read for group sluice; a request its role does not allow is refused and
 * changes nothing. The records a request causes carry its author (the
 * peer's uid and pid) in the journal.
 *
 * Connections are never freed while an epoll batch may still point at
 * them: a closed connection goes to a graveyard freed on the next tick.
 */
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "cmd.h"
#include "ctl.h"
#include "err.h"
#include "journal.h"
#include "listener.h"
#include "out.h"
#include "publish.h"
#include "sluiced.h"
#include "version.h"

#define CONN_MAX 64		    /* request connections at once; more are refused */
#define CONN_ADMIN_RESERVED 8	    /* of those, kept for the admin role */
#define SUB_MAX 64		    /* subscribers at once, apart from CONN_MAX */
#define OUT_PENDING_MAX (256 << 10) /* unsent replies past which requests are not read */
#define CONN_DEADLINE_MS 10000	    /* to send a whole request, or to take a reply */
#define SUB_BUFFER_MAX (1 << 20)    /* a subscriber this far behind is dropped */
#define BACKLOG_MAX 64		    /* recent records a new subscriber gets first */
#define GROUP_MAX 1024		    /* write requests journaled with one fdatasync */

struct conn {
	struct lconn lc; /* first: the loop hands us &lc.src */
	char *in;
	size_t in_len;
	/* the body of an apply request, after its line: NULL while discarded */
	int in_body;
	char *body, *body_name;
	size_t body_len, body_need;
	char *out;
	size_t out_len, out_off, out_cap;
	int subscriber;
	int closing;	   /* close once the output is sent */
	struct ucred cred; /* the peer's, at connect */
	enum ctl_role role;
	/* Write requests read but not yet run: one group commit (GROUP_MAX). */
	struct ctl_request *grp;
	size_t ngrp;
	int batch_failed; /* a "batch" request of this connection failed */
};

struct control {
	struct listener lis; /* lc.deadline 0: none (an idle subscriber) */
	int lock;	     /* the daemon's lock beside the socket (ctl.h), held for life */
	char *backlog[BACKLOG_MAX];
	size_t bl_next, bl_count;
	gid_t read_gid, admin_gid; /* group sluice, the admin group */
	int has_read_gid, has_admin_gid;
	struct journal_author author; /* of the records being journaled */
	int has_author;		      /* 0: this daemon's own */
	/* A group commit in progress: its records' lines, sent once durable. */
	int grouping;
	int applying_group; /* daemon_run_group() is applying: one breaker refresh at its end */
	char **held;
	size_t nheld, held_cap;
};

static void conn_close(struct daemon *d, struct conn *c)
{
	listener_drop(d, &d->ctl->lis, &c->lc);
}

static void conn_free(struct lconn *lc)
{
	struct conn *c = (struct conn *)lc;

	free(c->in);
	free(c->out);
	free(c->body);
	free(c->body_name);
	while (c->ngrp)
		ctl_request_free(&c->grp[--c->ngrp]);
	free(c->grp);
	free(c);
}

/* Too many replies unsent: read no more requests until the client takes them. */
static int backlogged(const struct conn *c)
{
	return !c->subscriber && c->out_len - c->out_off > OUT_PENDING_MAX;
}

/* Send what is buffered; wait for EPOLLOUT when the socket is full. */
static void conn_flush(struct daemon *d, struct conn *c)
{
	int sent = listener_send(d, &c->lc, c->out, c->out_len, &c->out_off, EPOLLIN | EPOLLOUT);

	if (sent < 0) {
		conn_close(d, c);
		return;
	}
	if (!sent) {
		if (!c->lc.deadline)
			c->lc.deadline = clock_mono_ms() + CONN_DEADLINE_MS;
		/* Backlogged: only the client taking its replies makes us read it again. */
		if (backlogged(c))
			loop_mod(d, &c->lc.src, EPOLLOUT);
		return;
	}
	c->out_off = c->out_len = 0;
	if (c->closing) {
		conn_close(d, c);
		return;
	}
	c->lc.deadline = c->subscriber ? 0 : clock_mono_ms() + CONN_DEADLINE_MS;
	loop_mod(d, &c->lc.src, EPOLLIN);
}

/* Queue len bytes; 0, or -ENOBUFS when a subscriber's limit is passed. */
static int conn_queue(struct conn *c, const char *s, size_t len)
{
	size_t need = c->out_len + len;

	if (c->subscriber && need - c->out_off > SUB_BUFFER_MAX)
		return -ENOBUFS;
	if (need > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *b;

		while (cap < need)
			cap *= 2;
		b = realloc(c->out, cap);
		if (!b)
			return -ENOMEM;
		c->out = b;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, s, len);
	c->out_len = need;
	return 0;
}

static void reply(struct conn *c, int rc, const char *out, const char *err, __s64 seq)
{
	char *line = ctl_reply_build(rc, out, err, seq);

	if (!line) {
		static const char oom[] = "{\"rc\":1,\"out\":\"\",\"err\":\"out of memory\"}\n";

		conn_queue(c, oom, sizeof(oom) - 1);
		return;
	}
	conn_queue(c, line, strlen(line));
	free(line);
}

static void refuse(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(struct conn *c, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply(c, CTL_RC_BAD, "", msg, -1);
}

/* A journal record as the JSON line subscribers get (malloc'ed); who may be NULL. */
static char *record_line(__u64 seq, __u64 time_ns, __u16 type, const struct journal_author *who,
			 const char *payload, size_t len)
{
	struct json_object *doc = json_object_new_object(), *p;
	struct json_tokener *tok = json_tokener_new();
	char *line = NULL;
	const char *s;

	if (!doc || !tok)
		goto out;
	p = json_tokener_parse_ex(tok, payload, (int)len);
	if (!p || json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(p);
		p = json_object_new_string_len(payload, (int)len);
	}
	json_object_object_add(doc, "seq", json_object_new_int64((int64_t)seq));
	json_object_object_add(doc, "time_ns", json_object_new_int64((int64_t)time_ns));
	json_object_object_add(doc, "type", json_object_new_string(journal_type_name(type)));
	json_object_object_add(doc, "payload", p);
	if (who) {
		json_object_object_add(doc, "uid", json_object_new_int64(who->uid));
		json_object_object_add(doc, "pid", json_object_new_int64(who->pid));
	}
	s = json_object_to_json_string_ext(doc,
					   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s && asprintf(&line, "%s\n", s) < 0)
		line = NULL;
out:
	json_tokener_free(tok);
	json_object_put(doc);
	return line;
}

static void backlog_keep(struct control *ctl, char *line)
{
	free(ctl->backlog[ctl->bl_next]);
	ctl->backlog[ctl->bl_next] = line;
	ctl->bl_next = (ctl->bl_next + 1) % BACKLOG_MAX;
	if (ctl->bl_count < BACKLOG_MAX)
		ctl->bl_count++;
}

void control_publish(struct daemon *d, const char *line)
{
	struct control *ctl = d->ctl;
	struct conn *c, *next;
	char *copy;

	if (!ctl)
		return;
	for (c = (struct conn *)ctl->lis.conns; c; c = next) {
		next = (struct conn *)c->lc.next;
		if (!c->subscriber)
			continue;
		if (conn_queue(c, line, strlen(line))) {
			log_warn("dropping a subscriber %zu bytes behind", c->out_len - c->out_off);
			conn_close(d, c);
			continue;
		}
		conn_flush(d, c);
	}
	copy = strdup(line);
	if (copy)
		backlog_keep(ctl, copy);
}

/* The author of the records journaled from now on (NULL: this daemon). */
static void set_author(struct daemon *d, const struct ucred *cr)
{
	struct control *ctl = d->ctl;

	ctl->has_author = !!cr;
	if (cr) {
		ctl->author.uid = (__u32)cr->uid;
		ctl->author.pid = (__u32)cr->pid;
	} else {
		ctl->author.uid = (__u32)getuid();
		ctl->author.pid = (__u32)getpid();
	}
	journal_set_author(d->journal, &ctl->author);
}

int daemon_journal(struct daemon *d, __u16 type, const char *payload, __u64 *seq)
{
	__u64 t = journal_now_ns(), s = 0;
	size_t len = strlen(payload);
	struct journal_author self = { (__u32)getuid(), (__u32)getpid() };
	const struct journal_author *who = d->ctl && d->ctl->has_author ? &d->ctl->author : &self;
	char *line;
	int err;

	err = journal_append_at(d->journal, type, payload, (__u32)len, t, &s);
	if (err) {
		log_err("cannot journal a %s record: %s", journal_type_name(type), err_text(err));
		return err;
	}
	if (seq)
		*seq = s;
	line = record_line(s, t, type, who, payload, len);
	if (line && d->ctl && d->ctl->grouping) {
		struct control *ctl = d->ctl;

		if (ctl->nheld == ctl->held_cap) {
			size_t cap = ctl->held_cap ? 2 * ctl->held_cap : 64;
			char **h = realloc(ctl->held, cap * sizeof(*h));

			if (!h) {
				free(line); /* subscribers miss it; the journal has it */
				return 0;
			}
			ctl->held = h;
			ctl->held_cap = cap;
		}
		ctl->held[ctl->nheld++] = line;
		return 0;
	}
	if (line) {
		control_publish(d, line);
		free(line);
	}
	return 0;
}

static void group_begin(struct daemon *d)
{
	journal_group_begin(d->journal);
	if (d->ctl)
		d->ctl->grouping = 1;
}

/* Sync the group; its records go to the subscribers once durable, else nowhere. */
static int group_commit(struct daemon *d)
{
	struct control *ctl = d->ctl;
	int err = journal_group_commit(d->journal);
	size_t i;

	if (err)
		log_err("cannot sync the journal: %s", err_text(err));
	if (!ctl)
		return err;
	ctl->grouping = 0;
	for (i = 0; i < ctl->nheld; i++) {
		if (!err)
			control_publish(d, ctl->held[i]);
		free(ctl->held[i]);
	}
	ctl->nheld = 0;
	return err;
}

/* The command's error message for the FAILED record: the first line, without "sluice: ". */
static char *failure_text(const char *out, const char *errtext, int json)
{
	struct json_object *doc = NULL, *v;
	const char *s = errtext;
	char *text;
	size_t n;

	if (json && (!s || !*s)) {
		doc = json_tokener_parse(out);
		if (doc && json_object_object_get_ex(doc, "error", &v))
			s = json_object_get_string(v);
	}
	if (!s || !*s)
		s = "failed";
	if (!strncmp(s, "sluice: ", 8))
		s += 8;
	n = strcspn(s, "\n");
	text = strndup(s, n);
	json_object_put(doc);
	return text;
}

static char *failed_payload(__u64 seq, const char *why)
{
	struct json_object *o = json_object_new_object();
	char *p = NULL;

	if (!o)
		return NULL;
	json_object_object_add(o, "seq", json_object_new_int64((int64_t)seq));
	json_object_object_add(o, "error", json_object_new_string(why ? why : "failed"));
	p = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return p;
}

/* Journal argv as a COMMAND record: 0 with *seq set, or -errno. */
static int journal_command(struct daemon *d, int argc, char **argv, __u64 *seq)
{
	char *payload = journal_command_json(argc, argv);
	int rc;

	if (!payload)
		return -ENOMEM;
	rc = daemon_journal(d, JOURNAL_COMMAND, payload, seq);
	free(payload);
	return rc;
}

static void journal_failed(struct daemon *d, __u64 seq, const char *why)
{
	char *fp = failed_payload(seq, why);

	if (fp)
		daemon_journal(d, JOURNAL_FAILED, fp, NULL);
	free(fp);
}

/* Parse and apply the journaled command seq s: exit status 0 or 1. */
static int apply_command(struct daemon *d, int argc, char **argv, __u64 s, int json, int pretty,
			 char **out, char **err)
{
	struct sluice_cmd cmd;
	struct out_capture cap;
	int rc, parsed = 0;

	rc = out_capture_begin(&cap, json, pretty);
	if (!rc) {
		rc = cmd_parse(argc, argv, &cmd);
		if (rc) {
			cmd_usage_report(cmd.kind ? cmd_kinds[cmd.kind].object : NULL, err_msg());
		} else {
			parsed = 1;
			rc = bgp_command_check(d, &cmd);
			if (!rc)
				rc = cmd_apply(d->pin_root, &cmd);
			if (rc)
				out_error("%s", err_text(rc));
		}
		out_capture_end(&cap);
	}
	rc = rc ? 1 : 0;
	d->commands++;
	if (rc) {
		char *why = failure_text(cap.out ? cap.out : "", cap.err, json);

		d->commands_failed++;
		log_info("command seq %llu failed: %s", (unsigned long long)s, why ? why : "?");
		journal_failed(d, s, why);
		free(why);
	} else {
		log_info("command seq %llu applied", (unsigned long long)s);
	}
	/* In a group, once after the last command (daemon_run_group()). */
	if (!d->ctl || !d->ctl->applying_group)
		breakers_refresh(d);
	cluster_command(d, parsed ? &cmd : NULL, rc);
	if (out)
		*out = cap.out;
	else
		free(cap.out);
	if (err)
		*err = cap.err;
	else
		free(cap.err);
	return rc;
}

int daemon_run_command(struct daemon *d, int argc, char **argv, int json, int pretty, char **out,
		       char **err, __s64 *seq)
{
	__u64 s = 0;
	int rc;

	*seq = -1;
	rc = journal_command(d, argc, argv, &s);
	if (rc)
		return rc;
	*seq = (__s64)s;
	return apply_command(d, argc, argv, s, json, pretty, out, err);
}

void daemon_run_group(struct daemon *d, struct daemon_cmd *v, size_t n, int *batch_failed)
{
	static const char skipped[] = "skipped: an earlier command of this batch failed";
	size_t i, journaled = 0;
	int err = 0;

	group_begin(d);
	for (i = 0; i < n; i++) {
		__u64 s;

		v[i].seq = -1;
		v[i].out = v[i].err = NULL;
		v[i].rc = 0;
		if (!err)
			err = journal_command(d, v[i].argc, v[i].argv, &s);
		if (err) {
			v[i].rc = err;
			continue;
		}
		v[i].seq = (__s64)s;
		journaled++;
	}
	err = group_commit(d);
	for (i = 0; i < journaled; i++) {
		if (err) {
			v[i].rc = err;
			v[i].seq = -1;
		}
	}
	if (err)
		return;
	group_begin(d);
	/*
	 * Each changed Maglev table built and swapped in once for the group;
	 * one copy of sl_backends and sl_subsets for the group (maps.h).
	 */
	maps_cache_begin();
	if (journaled > 1) {
		publish_defer_begin();
		if (d->ctl)
			d->ctl->applying_group = 1;
	}
	for (i = 0; i < journaled; i++) {
		struct daemon_cmd *c = &v[i];

		if (c->batch && *batch_failed) {
			c->rc = 1;
			c->out = strdup("");
			if (asprintf(&c->err, "sluice: %s\n", skipped) < 0)
				c->err = NULL;
			d->commands_failed++;
			journal_failed(d, (__u64)c->seq, skipped);
			continue;
		}
		c->rc = apply_command(d, c->argc, c->argv, (__u64)c->seq, c->json, c->pretty,
				      &c->out, &c->err);
		if (c->rc && c->batch)
			*batch_failed = 1;
	}
	if (journaled > 1) {
		if (publish_defer_end(NULL, d->pin_root))
			log_err("cannot publish the Maglev tables of a group: %s", err_msg());
		if (d->ctl)
			d->ctl->applying_group = 0;
		breakers_refresh(d);
	}
	maps_cache_end();
	/* FAILED records, if any (a no-op otherwise). */
	group_commit(d);
}

void daemon_cmd_free(struct daemon_cmd *c)
{
	free(c->out);
	free(c->err);
	c->out = c->err = NULL;
}

static void subscribe(struct daemon *d, struct conn *c)
{
	static const char live[] = "{\"live\":true}\n";
	struct control *ctl = d->ctl;
	size_t i, k;

	if (ctl->lis.nexempt >= SUB_MAX) {
		refuse(c, "too many subscribers (%d): try again later", SUB_MAX);
		return;
	}
	listener_exempt(&ctl->lis, &c->lc);
	c->subscriber = 1;
	c->lc.deadline = 0;
	for (i = 0; i < ctl->bl_count; i++) {
		k = (ctl->bl_next + BACKLOG_MAX - ctl->bl_count + i) % BACKLOG_MAX;
		conn_queue(c, ctl->backlog[k], strlen(ctl->backlog[k]));
	}
	conn_queue(c, live, sizeof(live) - 1);
}

/*
 * `config apply FILE` through the daemon: the diff's commands, each
 * journaled, from the content the client sent (apply_begin() takes it).
 */
static void run_apply(struct daemon *d, struct conn *c, const char *name, const char *text,
		      size_t len)
{
	char *obuf = NULL, *ebuf = NULL;
	size_t olen = 0, elen = 0, n = 0;
	FILE *o, *e;
	int rc;

	o = open_memstream(&obuf, &olen);
	e = open_memstream(&ebuf, &elen);
	if (!o || !e) {
		if (o)
			fclose(o);
		if (e)
			fclose(e);
		reply(c, 1, "", "sluiced: out of memory\n", -1);
		return;
	}
	rc = apply_config_text(d, name, text, len, o, e, &n);
	if (rc && !elen)
		fprintf(e, "sluice: %s\n", err_msg());
	fclose(o);
	fclose(e);
	reply(c, rc ? 1 : 0, obuf, ebuf, -1);
	free(obuf);
	free(ebuf);
}

/* 1 when r is for this daemon's pin root; else refused. */
static int pin_root_same(const struct daemon *d, const struct ctl_request *r)
{
	return !r->pin_root || !strcmp(r->pin_root, d->pin_root);
}

static int pin_root_ok(struct daemon *d, struct conn *c, const struct ctl_request *r)
{
	if (pin_root_same(d, r))
		return 1;
	refuse(c, "this daemon serves the pin root %s, not %s (run with --local to bypass it)",
	       d->pin_root, r->pin_root);
	return 0;
}

/* size bytes of body follow the request line (dropped unless c->body is set). */
static void body_expect(struct conn *c, size_t size)
{
	c->in_body = 1;
	c->body_len = 0;
	c->body_need = size;
}

/*
 * An apply request's line: its body follows. A refused one's body is read
 * and dropped, so the client gets its reply and the connection stays in step.
 */
static void apply_begin(struct daemon *d, struct conn *c, const struct ctl_request *r)
{
	body_expect(c, r->size);
	if (!pin_root_ok(d, c, r))
		return;
	c->body = malloc(r->size + 1);
	c->body_name = strdup(r->name);
	if (!c->body || !c->body_name) {
		free(c->body);
		free(c->body_name);
		c->body = c->body_name = NULL;
		reply(c, 1, "", "sluiced: out of memory\n", -1);
	}
}

/* The body is complete: apply it (unless it was refused). */
static void apply_end(struct daemon *d, struct conn *c)
{
	if (c->body) {
		c->body[c->body_len] = '\0';
		set_author(d, &c->cred);
		run_apply(d, c, c->body_name, c->body, c->body_len);
		set_author(d, NULL);
	}
	free(c->body);
	free(c->body_name);
	c->body = c->body_name = NULL;
	c->in_body = 0;
}

/* Is word a prefix of name (at least min letters, so "c" is not config)? */
static int word_is(const char *word, const char *name, size_t min)
{
	size_t n = strlen(word);

	return n >= min && !strncmp(word, name, n);
}

/* The write command r asks for (CMD_NONE: none); *word: where its words start. */
static enum cmd_kind request_kind(const struct ctl_request *r, int *word)
{
	enum cmd_kind kind = CMD_NONE;
	int i = 0;

	/* The command words start after a --flow-entries that travels with them. */
	if (i < r->argc && !strncmp(r->argv[i], "--flow-entries", 14))
		i += strchr(r->argv[i], '=') ? 1 : 2;
	if (i < r->argc && r->argv[i][0] != '-')
		cmd_lookup(r->argv[i], i + 1 < r->argc ? r->argv[i + 1] : NULL, &kind);
	err_clear();
	*word = i;
	return kind;
}

/* Run the write requests gathered on c as one group commit, and answer each in order. */
static void group_flush(struct daemon *d, struct conn *c)
{
	struct daemon_cmd v[GROUP_MAX];
	size_t i, n = c->ngrp;

	if (!n)
		return;
	for (i = 0; i < n; i++) {
		struct ctl_request *r = &c->grp[i];

		v[i] = (struct daemon_cmd){ .argc = r->argc,
					    .argv = r->argv,
					    .json = r->json || r->pretty,
					    .pretty = r->pretty,
					    .batch = r->batch };
	}
	set_author(d, &c->cred);
	daemon_run_group(d, v, n, &c->batch_failed);
	set_author(d, NULL);
	for (i = 0; i < n; i++) {
		if (v[i].rc < 0)
			reply(c, 1, "", err_msg(), -1);
		else
			reply(c, v[i].rc, v[i].out ? v[i].out : "", v[i].err ? v[i].err : "",
			      v[i].seq);
		daemon_cmd_free(&v[i]);
		ctl_request_free(&c->grp[i]);
	}
	c->ngrp = 0;
}

/*
 * Keep r (a write request c may send, for this pin root) for the group
 * commit; 1 when kept (r is then c's), 0 when it must run on its own.
 */
static int group_add(struct daemon *d, struct conn *c, struct ctl_request *r)
{
	int word;

	if (r->op != CTL_OP_RUN || c->role < ctl_op_role(CTL_OP_RUN) || !pin_root_same(d, r) ||
	    request_kind(r, &word) == CMD_NONE)
		return 0;
	if (!c->grp) {
		c->grp = calloc(GROUP_MAX, sizeof(*c->grp));
		if (!c->grp)
			return 0;
	}
	c->grp[c->ngrp++] = *r;
	memset(r, 0, sizeof(*r));
	if (c->ngrp == GROUP_MAX)
		group_flush(d, c);
	return 1;
}

static void run_request(struct daemon *d, struct conn *c, struct ctl_request *r)
{
	char *out = NULL, *errtext = NULL;
	enum cmd_kind kind;
	__s64 seq = -1;
	int i, rc;

	if (!pin_root_ok(d, c, r))
		return;
	kind = request_kind(r, &i);
	if (kind == CMD_NONE && i + 1 < r->argc && word_is(r->argv[i], "config", 2) &&
	    word_is(r->argv[i + 1], "apply", 1)) {
		/* An older client's form: the daemon would open FILE as root. */
		refuse(c, "config apply FILE: the daemon does not open files a client names; "
			  "this sluice CLI is older than the daemon: use one that sends the "
			  "file's content");
	} else if (kind == CMD_NONE && i + 1 < r->argc && word_is(r->argv[i], "gateway", 1) &&
		   (word_is(r->argv[i + 1], "drain", 1) || word_is(r->argv[i + 1], "undrain", 1))) {
		/* Not a map write: the announcements (bgp.c). */
		rc = bgp_drain(d, r->argv[i + 1][0] == 'd', r->argc - i - 2, r->argv + i + 2,
			       r->json || r->pretty, &out);
		reply(c, rc, rc || !out ? "" : out, rc && out ? out : "", -1);
	} else if (kind == CMD_NONE) {
		refuse(c,
		       "'%s%s%s' is not a write command the daemon runs (expected e.g. service add ...)",
		       i < r->argc ? r->argv[i] : "", i + 1 < r->argc ? " " : "",
		       i + 1 < r->argc ? r->argv[i + 1] : "");
	} else {
		rc = daemon_run_command(d, r->argc, r->argv, r->json || r->pretty, r->pretty, &out,
					&errtext, &seq);
		if (rc < 0)
			reply(c, 1, "", err_msg(), -1);
		else
			reply(c, rc, out, errtext, seq);
	}
	free(out);
	free(errtext);
}

/*
 * `sluice journal compact` while the daemon holds the journal's writer
 * lock: fold the history into a snapshot here, on the open journal, so no
 * command can be appended between the fold and the snapshot (the loop is
 * single-threaded).
 */
static void compact(struct daemon *d, struct conn *c)
{
	struct journal_cmds cmds = { 0 };
	char msg[512];
	__u64 seq = 0;
	int err;

	err = journal_replay_commands(d->journal_dir, UINT64_MAX, journal_cmds_add, &cmds);
	if (!err)
		err = journal_compact_open(d->journal, &cmds, &seq);
	if (err) {
		snprintf(msg, sizeof(msg), "sluice: cannot compact the journal: %s\n",
			 err_text(err));
		reply(c, 1, "", msg, -1);
	} else {
		snprintf(msg, sizeof(msg),
			 "journal %s compacted by sluiced: snapshot seq %llu holds %zu commands\n",
			 d->journal_dir, (unsigned long long)seq, cmds.count);
		log_info("journal compacted: snapshot seq %llu holds %zu commands",
			 (unsigned long long)seq, cmds.count);
		reply(c, 0, msg, "", -1);
	}
	journal_cmds_free(&cmds);
}

/* Is the peer (its credentials cr, on fd) in group g? */
static int peer_in_group(int fd, const struct ucred *cr, gid_t g)
{
	gid_t small[64], *groups = small;
	socklen_t len = sizeof(small);
	int in = cr->gid == g;
	size_t i;

	if (in)
		return 1;
	/* The peer's supplementary groups as they were at connect (Linux 4.13). */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) && errno == ERANGE) {
		groups = malloc(len);
		if (!groups)
			return 0;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len))
			len = 0;
	}
	for (i = 0; i < len / sizeof(gid_t); i++)
		in |= groups[i] == g;
	if (groups != small)
		free(groups);
	return in;
}

/* Too many connections: say so (best effort) before the close. */
static void refuse_busy(int fd)
{
	static const char busy[] = "{\"rc\":2,\"out\":\"\",\"err\":\"too many connections\"}\n";

	if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_warn("refused a connection: too many");
}

/*
 * The peer's credentials and role, at accept. 0, or -1 when c was closed:
 * beyond CONN_MAX - CONN_ADMIN_RESERVED request connections, only the
 * admin role gets in, so others cannot lock it out.
 */
static int identify(struct daemon *d, struct lconn *lc)
{
	struct conn *c = (struct conn *)lc;
	struct control *ctl = d->ctl;
	socklen_t len = sizeof(c->cred);
	int fd = c->lc.src.fd;

	c->role = CTL_ROLE_NONE;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len)) {
		log_warn("control: no peer credentials: %s", strerror(errno));
		c->cred.pid = 0;
		c->cred.uid = c->cred.gid = (uid_t)-1;
		return 0;
	}
	if (c->cred.uid == 0 || c->cred.uid == geteuid() ||
	    (ctl->has_admin_gid && peer_in_group(fd, &c->cred, ctl->admin_gid)))
		c->role = CTL_ROLE_ADMIN;
	else if (ctl->has_read_gid && peer_in_group(fd, &c->cred, ctl->read_gid))
		c->role = CTL_ROLE_READ;
	if (c->role < CTL_ROLE_ADMIN && ctl->lis.nconns > CONN_MAX - CONN_ADMIN_RESERVED) {
		refuse_busy(fd);
		conn_close(d, c);
		return -1;
	}
	return 0;
}

/* 1 when c's role allows op; else refused (and logged, without the request's words). */
static int allowed(struct daemon *d, struct conn *c, enum ctl_op op)
{
	enum ctl_role need = ctl_op_role(op);
	char admins[96] = "root";

	if (c->role >= need)
		return 1;
	if (d->admin_group)
		snprintf(admins, sizeof(admins), "root or group %s", d->admin_group);
	log_warn("refused %s to uid %d pid %d: role %s, needs %s", ctl_op_what(op),
		 (int)c->cred.uid, (int)c->cred.pid, ctl_role_name(c->role), ctl_role_name(need));
	if (need == CTL_ROLE_ADMIN)
		refuse(c,
		       "permission denied: %s need%s the admin role (%s); uid %d has the %s role",
		       ctl_op_what(op), op == CTL_OP_RUN ? "" : "s", admins, (int)c->cred.uid,
		       ctl_role_name(c->role));
	else
		refuse(c,
		       "permission denied: %s needs the read role (group sluice, or %s); uid %d "
		       "has none",
		       ctl_op_what(op), admins, (int)c->cred.uid);
	return 0;
}

static void handle_line(struct daemon *d, struct conn *c, const char *line, size_t len)
{
	struct ctl_request r;
	char msg[64];

	if (ctl_request_parse(line, len, &r)) {
		group_flush(d, c);
		refuse(c, "%s", err_msg());
		return;
	}
	if (group_add(d, c, &r))
		return;
	/* Anything else answers now: the gathered writes are answered first. */
	group_flush(d, c);
	if (!allowed(d, c, r.op)) {
		/* A refused apply's body is read and dropped. */
		if (r.op == CTL_OP_APPLY)
			body_expect(c, r.size);
		ctl_request_free(&r);
		return;
	}
	set_author(d, &c->cred);
	switch (r.op) {
	case CTL_OP_PING:
		snprintf(msg, sizeof(msg), "sluiced %s pid %d\n", SLUICE_VERSION, (int)getpid());
		reply(c, 0, msg, "", -1);
		break;
	case CTL_OP_SUBSCRIBE:
		subscribe(d, c);
		break;
	case CTL_OP_COMPACT:
		compact(d, c);
		break;
	case CTL_OP_APPLY:
		apply_begin(d, c, &r);
		break;
	default:
		run_request(d, c, &r);
		break;
	}
	set_author(d, NULL);
	ctl_request_free(&r);
}

static void in_consume(struct conn *c, size_t n)
{
	c->in_len -= n;
	memmove(c->in, c->in + n, c->in_len);
}

/* Move buffered input into the pending body; 1 once it is complete. */
static int body_take(struct conn *c)
{
	size_t n = c->body_need - c->body_len;

	if (n > c->in_len)
		n = c->in_len;
	if (c->body)
		memcpy(c->body + c->body_len, c->in, n);
	c->body_len += n;
	in_consume(c, n);
	return c->body_len == c->body_need;
}

/* Handle the complete requests (and bodies) buffered. */
static void conn_lines(struct daemon *d, struct conn *c)
{
	char *nl;

	while (!c->closing && !c->lc.dead && !backlogged(c)) {
		if (c->in_body) {
			if (!body_take(c))
				return;
			apply_end(d, c);
		} else {
			size_t len;

			nl = memchr(c->in, '\n', c->in_len);
			if (!nl)
				return;
			len = (size_t)(nl - c->in);
			handle_line(d, c, c->in, len);
			if (c->lc.dead)
				return;
			in_consume(c, len + 1);
			if (c->subscriber) {
				c->in_len = 0;
				return;
			}
		}
		/*
		 * The client's time to take the reply (or send the body) starts
		 * now: a command (a large config apply) may have run past the old
		 * deadline.
		 */
		c->lc.deadline = clock_mono_ms() + CONN_DEADLINE_MS;
	}
}

/*
 * The buffered requests; the write requests among them that came together
 * are journaled as one group (one fdatasync) and answered once durable. A
 * client gone meanwhile leaves its unjournaled requests unrun: nobody was
 * told they were.
 */
static void conn_input(struct daemon *d, struct conn *c)
{
	conn_lines(d, c);
	if (!c->lc.dead)
		group_flush(d, c);
}

/* Read what the client sent (unless it is backlogged). 0, or -1 when c was closed. */
static int conn_read(struct daemon *d, struct conn *c)
{
	ssize_t n;

	if (!c->in) {
		c->in = malloc(CTL_REQUEST_MAX + 1);
		if (!c->in) {
			conn_close(d, c);
			return -1;
		}
	}
	n = recv(c->lc.src.fd, c->in + c->in_len, CTL_REQUEST_MAX + 1 - c->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		conn_close(d, c);
		return -1;
	}
	if (!c->subscriber && !c->closing) /* a subscriber has nothing more to say */
		c->in_len += (size_t)n;
	return 0;
}

static void on_conn(struct daemon *d, struct loop_src *src, __u32 events)
{
	struct conn *c = (struct conn *)src;

	if (c->lc.dead)
		return;
	if (events & EPOLLOUT) {
		conn_flush(d, c);
		if (c->lc.dead)
			return;
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !backlogged(c) && conn_read(d, c))
		return;
	/* Requests left buffered while the client was backlogged run now. */
	conn_input(d, c);
	if (c->lc.dead)
		return;
	if (!c->in_body && !backlogged(c) && c->in_len > CTL_REQUEST_MAX) {
		refuse(c, "request longer than %d bytes: refused", CTL_REQUEST_MAX);
		c->closing = 1;
		c->in_len = 0;
	}
	conn_flush(d, c);
}

void control_expire(struct daemon *d, __u64 now_ms)
{
	if (d->ctl)
		listener_expire(d, &d->ctl->lis, now_ms);
}

/* The journal's last records, for the subscribers' backlog. */
void control_backlog_load(struct daemon *d)
{
	struct journal_record r;
	struct journal_iter *it;
	char *line;

	if (journal_iter_open(d->journal_dir, &it))
		return;
	while (journal_iter_next(it, &r) == 1) {
		line = record_line(r.seq, r.time_ns, r.type, r.has_author ? &r.author : NULL,
				   r.payload, r.len);
		if (line)
			backlog_keep(d->ctl, line);
	}
	journal_iter_close(it);
	err_clear();
}

/* Is a daemon answering at path? (Then do not steal its socket.) */
static int socket_alive(const char *path)
{
	int fd = ctl_connect(path);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* path + suffix to group sluice (when it exists) and mode; 0 or -errno of chmod. */
static int give_to_group(const char *path, const char *suffix, mode_t mode)
{
	char file[PATH_MAX];
	struct group *g = getgrnam("sluice");

	snprintf(file, sizeof(file), "%s%s", path, suffix);
	if (g && chown(file, (uid_t)-1, g->gr_gid))
		log_warn("cannot give %s to group sluice: %s", file, strerror(errno));
	return chmod(file, mode) ? -errno : 0;
}

/* The roles' groups: sluice (read) when it exists, the admin group (must exist). */
static int resolve_groups(struct daemon *d, struct control *ctl)
{
	struct group *g = getgrnam("sluice");
	char *end;

	if (g) {
		ctl->read_gid = g->gr_gid;
		ctl->has_read_gid = 1;
	}
	if (!d->admin_group)
		return 0;
	g = getgrnam(d->admin_group);
	if (g) {
		ctl->admin_gid = g->gr_gid;
	} else {
		unsigned long n = strtoul(d->admin_group, &end, 10);

		if (!*d->admin_group || *end || n >= (gid_t)-1) {
			log_err("the admin group %s does not exist (create it with groupadd, or "
				"fix --admin-group / daemon.admin-group)",
				d->admin_group);
			return -EINVAL;
		}
		ctl->admin_gid = (gid_t)n;
	}
	ctl->has_admin_gid = 1;
	log_info("control: the admin role goes to root and group %s (gid %u)", d->admin_group,
		 (unsigned int)ctl->admin_gid);
	return 0;
}

int control_open(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct control *ctl;
	char dir[sizeof(sa.sun_path)], *slash;
	pid_t holder;

	if (strlen(d->socket_path) >= sizeof(sa.sun_path)) {
		log_err("socket path too long: %s", d->socket_path);
		return -ENAMETOOLONG;
	}
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->lis = (struct listener){
		.listen.fd = -1,
		.max = CONN_MAX,
		.size = sizeof(struct conn),
		.deadline_ms = CONN_DEADLINE_MS,
		.name = "control",
		.on_conn = on_conn,
		.refuse = refuse_busy,
		.admit = identify,
		.free_conn = conn_free,
	};
	ctl->lock = -1;
	d->ctl = ctl;
	if (resolve_groups(d, ctl))
		return -EINVAL;
	strcpy(dir, d->socket_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			log_warn("cannot create %s: %s", dir, strerror(errno));
	}
	err_clear();
	ctl->lock = ctl_lock_take(d->socket_path, &holder);
	if (ctl->lock < 0) {
		log_err("%s", err_text(ctl->lock));
		return ctl->lock == -EWOULDBLOCK ? -EADDRINUSE : ctl->lock;
	}
	give_to_group(d->socket_path, ".lock", 0640);
	if (socket_alive(d->socket_path)) {
		log_err("another daemon answers on %s", d->socket_path);
		return -EADDRINUSE;
	}
	return 0;
}

int control_listen(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct control *ctl = d->ctl;
	int err;

	strcpy(sa.sun_path, d->socket_path);
	unlink(d->socket_path);
	err = listener_open(&ctl->lis, (struct sockaddr *)&sa, sizeof(sa), 64);
	if (err)
		goto fail;
	err = give_to_group(d->socket_path, "", 0660);
	if (err)
		goto fail;
	return loop_add(d, &ctl->lis.listen, EPOLLIN);
fail:
	log_err("cannot listen on %s: %s", d->socket_path, strerror(-err));
	return err;
}

void control_close(struct daemon *d)
{
	struct control *ctl = d->ctl;
	int listening;
	size_t i;

	if (!ctl)
		return;
	listening = ctl->lis.listen.fd >= 0;
	listener_close(d, &ctl->lis);
	if (listening)
		unlink(d->socket_path);
	for (i = 0; i < BACKLOG_MAX; i++)
		free(ctl->backlog[i]);
	if (ctl->lock >= 0)
		close(ctl->lock); /* the file stays: removing it would race a starting daemon */
	free(ctl);
	d->ctl = NULL;
}
