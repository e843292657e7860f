// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket: a Unix SOCK_STREAM listener (0660, group "sluice"
 * when it exists) speaking newline-delimited JSON (userspace/ctl.h). Every
 * connection is non-blocking with its own input and output buffers and a
 * deadline, so a slow or dead client cannot stall the loop. Write commands
 * are journaled (fdatasync) before the command library (userspace/cmd)
 * parses and applies them with their output captured; subscribers get every
 * journal record as a JSON line, after a backlog of the recent ones, and
 * are dropped when they fall too far behind.
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
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "cmd.h"
#include "ctl.h"
#include "err.h"
#include "journal.h"
#include "listener.h"
#include "out.h"
#include "sluiced.h"
#include "version.h"

#define CONN_MAX 64		 /* connections at once; more are refused */
#define CONN_DEADLINE_MS 10000	 /* to send a whole request, or to take a reply */
#define SUB_BUFFER_MAX (1 << 20) /* a subscriber this far behind is dropped */
#define BACKLOG_MAX 64		 /* recent records a new subscriber gets first */

struct conn {
	struct lconn lc; /* first: the loop hands us &lc.src */
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
	int subscriber;
	int closing; /* close once the output is sent */
};

struct control {
	struct listener lis; /* lc.deadline 0: none (an idle subscriber) */
	int lock;	     /* the daemon's lock beside the socket (ctl.h), held for life */
	char *backlog[BACKLOG_MAX];
	size_t bl_next, bl_count;
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
	free(c);
}

/* Send what is buffered; wait for EPOLLOUT when the socket is full. */
static void conn_flush(struct daemon *d, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->lc.src.fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!c->lc.deadline)
				c->lc.deadline = clock_mono_ms() + CONN_DEADLINE_MS;
			loop_mod(d, &c->lc.src, EPOLLIN | EPOLLOUT);
			return;
		}
		if (n <= 0) {
			conn_close(d, c);
			return;
		}
		c->out_off += (size_t)n;
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

/* A journal record as the JSON line subscribers get (malloc'ed). */
static char *record_line(__u64 seq, __u64 time_ns, __u16 type, const char *payload, size_t len)
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

int daemon_journal(struct daemon *d, __u16 type, const char *payload, __u64 *seq)
{
	__u64 t = journal_now_ns(), s = 0;
	size_t len = strlen(payload);
	char *line;
	int err;

	err = journal_append_at(d->journal, type, payload, (__u32)len, t, &s);
	if (err) {
		log_err("cannot journal a %s record: %s", journal_type_name(type), err_text(err));
		return err;
	}
	if (seq)
		*seq = s;
	line = record_line(s, t, type, payload, len);
	if (line) {
		control_publish(d, line);
		free(line);
	}
	return 0;
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

int daemon_run_command(struct daemon *d, int argc, char **argv, int json, int pretty, char **out,
		       char **err, __s64 *seq)
{
	struct sluice_cmd cmd;
	struct out_capture cap;
	char *payload;
	int rc, parsed = 0;
	__u64 s = 0;

	*seq = -1;
	payload = journal_command_json(argc, argv);
	if (!payload)
		return -ENOMEM;
	rc = daemon_journal(d, JOURNAL_COMMAND, payload, &s);
	free(payload);
	if (rc)
		return rc;
	*seq = (__s64)s;
	rc = out_capture_begin(&cap, json, pretty);
	if (!rc) {
		rc = cmd_parse(argc, argv, &cmd);
		if (rc) {
			cmd_usage_report(cmd.kind ? cmd_kinds[cmd.kind].object : NULL, err_msg());
		} else {
			parsed = 1;
			rc = cmd_apply(d->pin_root, &cmd);
			if (rc)
				out_error("%s", err_text(rc));
		}
		out_capture_end(&cap);
	}
	rc = rc ? 1 : 0;
	d->commands++;
	if (rc) {
		char *why = failure_text(cap.out ? cap.out : "", cap.err, json), *fp;

		d->commands_failed++;
		fp = failed_payload(s, why);
		log_info("command seq %llu failed: %s", (unsigned long long)s, why ? why : "?");
		if (fp)
			daemon_journal(d, JOURNAL_FAILED, fp, NULL);
		free(fp);
		free(why);
	} else {
		log_info("command seq %llu applied", (unsigned long long)s);
	}
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

static void subscribe(struct daemon *d, struct conn *c)
{
	static const char live[] = "{\"live\":true}\n";
	struct control *ctl = d->ctl;
	size_t i, k;

	c->subscriber = 1;
	c->lc.deadline = 0;
	for (i = 0; i < ctl->bl_count; i++) {
		k = (ctl->bl_next + BACKLOG_MAX - ctl->bl_count + i) % BACKLOG_MAX;
		conn_queue(c, ctl->backlog[k], strlen(ctl->backlog[k]));
	}
	conn_queue(c, live, sizeof(live) - 1);
}

/* `config apply FILE` through the daemon: the diff's commands, each journaled. */
static void run_apply(struct daemon *d, struct conn *c, const char *file)
{
	char *obuf = NULL, *ebuf = NULL;
	size_t olen = 0, elen = 0, n = 0;
	FILE *o, *e;
	int rc;

	if (!file || file[0] != '/') {
		refuse(c, "config apply through the daemon needs an absolute FILE path");
		return;
	}
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
	rc = apply_config(d, file, o, e, &n);
	if (rc && !elen)
		fprintf(e, "sluice: %s\n", err_msg());
	fclose(o);
	fclose(e);
	reply(c, rc ? 1 : 0, obuf, ebuf, -1);
	free(obuf);
	free(ebuf);
}

/* Is word a prefix of name (at least min letters, so "c" is not config)? */
static int word_is(const char *word, const char *name, size_t min)
{
	size_t n = strlen(word);

	return n >= min && !strncmp(word, name, n);
}

static void run_request(struct daemon *d, struct conn *c, struct ctl_request *r)
{
	char *out = NULL, *errtext = NULL;
	enum cmd_kind kind = CMD_NONE;
	__s64 seq = -1;
	int i = 0, rc;

	if (r->pin_root && strcmp(r->pin_root, d->pin_root)) {
		refuse(c,
		       "this daemon serves the pin root %s, not %s (run with --local to bypass it)",
		       d->pin_root, r->pin_root);
		return;
	}
	/* The command words start after a --flow-entries that travels with them. */
	if (i < r->argc && !strncmp(r->argv[i], "--flow-entries", 14))
		i += strchr(r->argv[i], '=') ? 1 : 2;
	if (i < r->argc && r->argv[i][0] != '-')
		cmd_lookup(r->argv[i], i + 1 < r->argc ? r->argv[i + 1] : NULL, &kind);
	err_clear();
	if (kind == CMD_NONE && i + 1 < r->argc && word_is(r->argv[i], "config", 2) &&
	    word_is(r->argv[i + 1], "apply", 1)) {
		run_apply(d, c, i + 2 < r->argc ? r->argv[i + 2] : NULL);
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

static void handle_line(struct daemon *d, struct conn *c, const char *line, size_t len)
{
	struct ctl_request r;
	char msg[64];

	if (ctl_request_parse(line, len, &r)) {
		refuse(c, "%s", err_msg());
		return;
	}
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
	default:
		run_request(d, c, &r);
		break;
	}
	ctl_request_free(&r);
}

static void on_conn(struct daemon *d, struct loop_src *src, __u32 events)
{
	struct conn *c = (struct conn *)src;
	char *nl;
	ssize_t n;

	if (c->lc.dead)
		return;
	if (events & EPOLLOUT) {
		conn_flush(d, c);
		if (c->lc.dead)
			return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	if (!c->in) {
		c->in = malloc(CTL_REQUEST_MAX + 1);
		if (!c->in) {
			conn_close(d, c);
			return;
		}
	}
	n = recv(c->lc.src.fd, c->in + c->in_len, CTL_REQUEST_MAX + 1 - c->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(d, c);
		return;
	}
	if (c->subscriber || c->closing)
		return; /* a subscriber has nothing more to say; ignore it */
	c->in_len += (size_t)n;
	while (!c->closing && (nl = memchr(c->in, '\n', c->in_len))) {
		size_t len = (size_t)(nl - c->in);

		handle_line(d, c, c->in, len);
		if (c->lc.dead)
			return;
		/*
		 * The client's time to take the reply starts now: a command
		 * (a large config apply) may have run past the old deadline.
		 */
		if (!c->subscriber)
			c->lc.deadline = clock_mono_ms() + CONN_DEADLINE_MS;
		c->in_len -= len + 1;
		memmove(c->in, nl + 1, c->in_len);
		if (c->subscriber)
			c->in_len = 0;
	}
	if (c->in_len > CTL_REQUEST_MAX) {
		refuse(c, "request longer than %d bytes: refused", CTL_REQUEST_MAX);
		c->closing = 1;
		c->in_len = 0;
	}
	conn_flush(d, c);
}

/* Too many connections: say so (best effort) before the close. */
static void refuse_busy(int fd)
{
	static const char busy[] = "{\"rc\":2,\"out\":\"\",\"err\":\"too many connections\"}\n";

	if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_warn("refused a connection: too many");
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
		line = record_line(r.seq, r.time_ns, r.type, r.payload, r.len);
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
		.free_conn = conn_free,
	};
	ctl->lock = -1;
	d->ctl = ctl;
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
