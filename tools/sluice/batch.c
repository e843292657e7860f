// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice -b FILE: many commands from one file (or stdin, "-"), as
 * `ip -batch` and `bpftool batch` do. One command a line: the words after
 * "sluice" (the global options of the -b line apply to every one), split at
 * blanks, with '...' and "..." grouping and \ escaping one character; empty
 * lines and lines starting with # are skipped.
 *
 * Every line is parsed first: a line that does not parse is reported as
 * FILE:LINE and nothing runs. Then the lines run in order and the first
 * that fails stops the batch: nothing after it is applied, and the message
 * names its line.
 *
 * With a daemon, the write commands go over one connection, pipelined
 * (BATCH_WINDOW in flight), each marked "batch" (ctl.h): the daemon
 * journals those that arrive together with one fdatasync and, once one has
 * failed, skips the rest of the connection's batch. A read command runs
 * here, once every write before it is answered. Without a daemon (or with
 * --local) each line runs here through cli_run().
 */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "args.h"
#include "cmd.h"
#include "ctl.h"
#include "err.h"
#include "main.h"
#include "publish.h"

#define BATCH_WINDOW 1024	/* write requests in flight: one daemon group */
#define BATCH_TIMEOUT_MS 120000 /* for the daemon's next reply */
#define BATCH_LINE_WORDS 256	/* words on one line (CTL_ARGS_MAX) */

struct batch_line {
	int no;		   /* line number in the file */
	int argc;	   /* prefix (the -b line's options) + the line's words */
	char **argv;	   /* argv[argc] = NULL; words owned by the line */
	int nwords;	   /* the line's own words: argv[argc - nwords ..] */
	struct cli_call c; /* what cli_command() made of it */
	int write;	   /* a write command (goes to the daemon when there is one) */
};

struct batch {
	const char *file;
	struct batch_line *v;
	size_t n, cap;
};

static void line_free(struct batch_line *l)
{
	int i;

	cli_call_free(&l->c);
	for (i = l->argc - l->nwords; i < l->argc; i++)
		free(l->argv[i]);
	free(l->argv);
}

static void batch_free(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		line_free(&b->v[i]);
	free(b->v);
}

/* Report a problem with line no of the file (or the batch as a whole: no 0). */
static void batch_error(const struct batch *b, int no, int json, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void batch_error(const struct batch *b, int no, int json, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (no)
		fprintf(stderr, "sluice: %s:%d: %s\n", b->file, no, msg);
	else
		fprintf(stderr, "sluice: %s: %s\n", b->file, msg);
	if (json) {
		/* The file's name may hold anything: json-c quotes it. */
		struct json_object *o = json_object_new_object();
		char what[PATH_MAX + 64];

		snprintf(what, sizeof(what), "batch %s line %d failed", b->file, no);
		json_object_object_add(o, "error", json_object_new_string(what));
		printf("%s\n", json_object_to_json_string_ext(
				       o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	}
}

/*
 * Read and check every line; 0, or 1 (reported) when one cannot run. pre[0
 * .. npre) are the -b line's global options.
 */
static int batch_read(struct batch *b, FILE *f, int npre, char **pre, int json)
{
	char *buf = NULL, *w[BATCH_LINE_WORDS];
	size_t cap = 0;
	int no = 0, rc = 0;

	while (getline(&buf, &cap, f) >= 0) {
		struct batch_line *l;
		struct sluice_cmd cmd;
		const char *why = NULL;
		int n, i;

		no++;
		n = args_split_words(buf, w, BATCH_LINE_WORDS - npre, &why);
		if (n < 0) {
			batch_error(b, no, json, "%s", why);
			rc = 1;
			break;
		}
		if (!n)
			continue;
		if (b->n == b->cap) {
			size_t c2 = b->cap ? 2 * b->cap : 64;
			struct batch_line *v = realloc(b->v, c2 * sizeof(*v));

			if (!v) {
				while (n)
					free(w[--n]);
				batch_error(b, no, json, "out of memory");
				rc = 1;
				break;
			}
			b->v = v;
			b->cap = c2;
		}
		l = &b->v[b->n];
		memset(l, 0, sizeof(*l));
		l->no = no;
		l->argv = calloc((size_t)(npre + n + 1), sizeof(char *));
		if (!l->argv) {
			while (n)
				free(w[--n]);
			batch_error(b, no, json, "out of memory");
			rc = 1;
			break;
		}
		for (i = 0; i < npre; i++)
			l->argv[i] = pre[i];
		for (i = 0; i < n; i++)
			l->argv[npre + i] = w[i];
		l->argc = npre + n;
		l->nwords = n;
		b->n++;
		if (cli_command(l->argc, l->argv, &l->c)) {
			batch_error(b, no, json, "out of memory");
			rc = 1;
			break;
		}
		if (!l->c.object) {
			batch_error(b, no, json,
				    "'%s' is not a command (expected OBJECT COMMAND ...)", w[0]);
			rc = 1;
			break;
		}
		l->write = !!(l->c.flags & CLI_WRITE);
		if (!l->write)
			continue;
		/* The daemon's own parser, here first: a bad line runs nothing at all. */
		err_clear();
		if (cmd_parse(l->c.argc, l->c.argv, &cmd)) {
			batch_error(b, no, json, "%s", *err_msg() ? err_msg() : "bad command");
			rc = 1;
			break;
		}
		if (!strcmp(l->c.object, "config") && l->c.command &&
		    !strcmp(l->c.command, "apply")) {
			batch_error(b, no, json,
				    "config apply cannot run in a batch; run it alone");
			rc = 1;
			break;
		}
	}
	free(buf);
	return rc;
}

/* Without a daemon: each line here, in order, up to the first that fails. */
static int batch_local(const struct batch *b, int json)
{
	const char *root = NULL; /* the pin root whose tables are pending */
	int rc = 0;
	size_t i;

	/*
	 * Each changed Maglev table built once (publish.h), when the batch ends
	 * or moves to another pin root (--pin-root on a line of its own).
	 */
	for (i = 0; i < b->n && !rc; i++) {
		const struct batch_line *l = &b->v[i];

		if (root && strcmp(root, l->c.pin_root) && publish_defer_end(NULL, root)) {
			batch_error(b, l->no, json, "%s", err_msg());
			root = NULL;
			rc = 1;
			break;
		}
		if (!root || strcmp(root, l->c.pin_root)) {
			root = l->c.pin_root;
			publish_defer_begin();
		}
		if (cli_run(l->argc, l->argv, stdout, stderr)) {
			batch_error(b, l->no, json,
				    "failed; the %zu command%s after it did not run", b->n - i - 1,
				    b->n - i - 1 == 1 ? "" : "s");
			rc = 1;
		}
	}
	if (root && publish_defer_end(NULL, root)) {
		batch_error(b, 0, json, "%s", err_msg());
		rc = 1;
	}
	return rc;
}

struct pipe_state {
	int fd;
	char *out; /* requests not yet sent */
	size_t out_len, out_off;
	char in[CTL_REQUEST_MAX * 2]; /* replies not yet complete */
	size_t in_len;
	size_t sent, answered; /* lines (indexes into b->v) sent, answered */
	int failed_no;	       /* the line that failed (0: none) */
	size_t skipped;	       /* writes the daemon skipped after it */
};

/* Print or count the reply to the next line in flight. */
static void take_reply(const struct batch *b, struct pipe_state *p, const struct ctl_reply *r)
{
	const struct batch_line *l = &b->v[p->answered++];

	if (p->failed_no) {
		p->skipped++;
		return;
	}
	fputs(r->out, stdout);
	fputs(r->err, stderr);
	if (r->rc)
		p->failed_no = l->no;
}

/* Wait for replies (and send what is queued); 0, or -errno (reported). */
static int pipe_io(const struct batch *b, struct pipe_state *p)
{
	struct pollfd pf = { .fd = p->fd, .events = POLLIN };
	ssize_t n;
	char *nl;

	if (p->out_off < p->out_len)
		pf.events |= POLLOUT;
	n = poll(&pf, 1, BATCH_TIMEOUT_MS);
	if (n <= 0) {
		err_set("no reply from the daemon within %d s", BATCH_TIMEOUT_MS / 1000);
		return n < 0 ? -errno : -ETIMEDOUT;
	}
	if (pf.revents & POLLOUT) {
		n = send(p->fd, p->out + p->out_off, p->out_len - p->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			err_set("cannot send to the daemon: %s", strerror(errno));
			return -errno;
		}
		if (n > 0)
			p->out_off += (size_t)n;
		if (p->out_off == p->out_len)
			p->out_off = p->out_len = 0;
	}
	if (!(pf.revents & (POLLIN | POLLHUP | POLLERR)))
		return 0;
	n = recv(p->fd, p->in + p->in_len, sizeof(p->in) - 1 - p->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		err_set("the daemon closed the connection after %zu of %zu replies", p->answered,
			p->sent);
		return n < 0 ? -errno : -ECONNRESET;
	}
	p->in_len += (size_t)n;
	p->in[p->in_len] = '\0';
	while ((nl = memchr(p->in, '\n', p->in_len))) {
		struct ctl_reply r;

		*nl = '\0';
		if (p->answered >= p->sent || ctl_reply_parse(p->in, &r)) {
			err_set("a reply the CLI cannot read: %.80s", p->in);
			return -EPROTO;
		}
		take_reply(b, p, &r);
		ctl_reply_free(&r);
		p->in_len -= (size_t)(nl + 1 - p->in);
		memmove(p->in, nl + 1, p->in_len);
	}
	if (p->in_len == sizeof(p->in) - 1) {
		err_set("a reply longer than %zu bytes", sizeof(p->in) - 1);
		return -EPROTO;
	}
	return 0;
}

/* Queue line i's request. 0 or -ENOMEM. */
static int pipe_queue(const struct batch *b, struct pipe_state *p, size_t i)
{
	const struct cli_call *c = &b->v[i].c;
	char *req = ctl_request_build(c->argc, c->argv, c->json, c->pretty, c->pin_root, 1), *o;
	size_t len, need;

	if (!req)
		return -ENOMEM;
	len = strlen(req);
	if (p->out_off) { /* drop what was sent */
		memmove(p->out, p->out + p->out_off, p->out_len - p->out_off);
		p->out_len -= p->out_off;
		p->out_off = 0;
	}
	need = p->out_len + len;
	o = realloc(p->out, need);
	if (!o) {
		free(req);
		return -ENOMEM;
	}
	p->out = o;
	memcpy(p->out + p->out_len, req, len);
	p->out_len = need;
	free(req);
	p->sent++;
	return 0;
}

/* With a daemon on fd: writes pipelined, reads here in their turn. */
static int batch_daemon(const struct batch *b, int fd, int json)
{
	struct pipe_state *p = calloc(1, sizeof(*p));
	int err = 0, rc = 0;

	if (!p) {
		batch_error(b, 0, json, "out of memory");
		return 1;
	}
	p->fd = fd;
	while (!err && (p->answered < b->n) && !(p->failed_no && p->answered == p->sent)) {
		const struct batch_line *next = p->sent < b->n ? &b->v[p->sent] : NULL;

		if (next && !p->failed_no && next->write && p->sent - p->answered < BATCH_WINDOW) {
			err = pipe_queue(b, p, p->sent);
			continue;
		}
		if (next && !p->failed_no && !next->write && p->answered == p->sent) {
			/* A read command: its turn has come (every write before it answered). */
			if (cli_run(next->argc, next->argv, stdout, stderr))
				p->failed_no = next->no;
			p->sent++;
			p->answered++;
			continue;
		}
		fflush(stdout);
		err = pipe_io(b, p);
	}
	fflush(stdout);
	if (err) {
		batch_error(b, 0, json, "%s", err_msg());
		rc = 1;
	} else if (p->failed_no) {
		size_t after = b->n - p->answered + p->skipped;

		batch_error(b, p->failed_no, json,
			    "failed; the %zu command%s after it %s not applied", after,
			    after == 1 ? "" : "s", after == 1 ? "was" : "were");
		rc = 1;
	}
	free(p->out);
	free(p);
	return rc;
}

int batch_main(int npre, char **pre, const char *file, const struct cli_call *opts)
{
	struct batch b = { .file = file };
	FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;
	int rc, fd = -1, writes = 0;
	size_t i;

	if (!f) {
		fprintf(stderr, "sluice: cannot read the batch file %s: %s\n", file,
			strerror(errno));
		return 1;
	}
	if (f == stdin)
		b.file = "stdin";
	rc = batch_read(&b, f, npre, pre, opts->json);
	if (f != stdin)
		fclose(f);
	for (i = 0; i < b.n; i++)
		writes += b.v[i].write;
	if (!rc && writes && !opts->local) {
		const char *path = ctl_socket_path(opts->socket, CLI_SOCKET_DEFAULT);
		pid_t pid;

		fd = ctl_connect(path);
		if (fd < 0 && ctl_lock_held(path, &pid)) {
			fprintf(stderr,
				"sluice: sluiced (pid %d) is starting: its socket %s opens once its configuration is applied; try again in a moment\n",
				(int)pid, path);
			rc = 1;
		}
	}
	if (!rc)
		rc = fd >= 0 ? batch_daemon(&b, fd, opts->json) : batch_local(&b, opts->json);
	if (fd >= 0)
		close(fd);
	batch_free(&b);
	return rc;
}
