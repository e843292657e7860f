// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The control protocol's lines (see ctl.h): strict parsing of requests with
 * json-c's tokener (every member checked, unknown members refused), reply
 * building, and the client's call over a Unix socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "ctl.h"
#include "err.h"

/* Per op: the role it needs and what it does (for messages). */
static const struct {
	enum ctl_role role;
	const char *what;
} ops[] = {
	[CTL_OP_RUN] = { CTL_ROLE_ADMIN, "write commands" },
	[CTL_OP_SUBSCRIBE] = { CTL_ROLE_READ, "events" },
	[CTL_OP_PING] = { CTL_ROLE_READ, "ping" },
	[CTL_OP_COMPACT] = { CTL_ROLE_ADMIN, "journal compact" },
	[CTL_OP_APPLY] = { CTL_ROLE_ADMIN, "config apply" },
};

static const char *const role_names[] = {
	[CTL_ROLE_NONE] = "none",
	[CTL_ROLE_READ] = "read",
	[CTL_ROLE_ADMIN] = "admin",
};

static int op_known(enum ctl_op op)
{
	return (unsigned int)op < sizeof(ops) / sizeof(ops[0]) && ops[op].what;
}

enum ctl_role ctl_op_role(enum ctl_op op)
{
	return op_known(op) ? ops[op].role : CTL_ROLE_ADMIN;
}

const char *ctl_op_what(enum ctl_op op)
{
	return op_known(op) ? ops[op].what : "this request";
}

const char *ctl_role_name(enum ctl_role role)
{
	return (unsigned int)role < sizeof(role_names) / sizeof(role_names[0]) ? role_names[role]
									       : "none";
}

void ctl_request_free(struct ctl_request *r)
{
	int i;

	if (!r)
		return;
	for (i = 0; r->argv && i < r->argc; i++)
		free(r->argv[i]);
	free(r->argv);
	free(r->pin_root);
	free(r->name);
	memset(r, 0, sizeof(*r));
}

static int parse_argv(struct json_object *a, struct ctl_request *r)
{
	size_t i, n;

	if (!json_object_is_type(a, json_type_array)) {
		err_set("\"argv\" must be an array of strings");
		return -EINVAL;
	}
	n = json_object_array_length(a);
	if (!n) {
		err_set("\"argv\" is empty: expected OBJECT COMMAND [ARGS]");
		return -EINVAL;
	}
	if (n > CTL_ARGS_MAX) {
		err_set("\"argv\" has %zu words, at most %d accepted", n, CTL_ARGS_MAX);
		return -E2BIG;
	}
	r->argv = calloc(n + 1, sizeof(*r->argv));
	if (!r->argv)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct json_object *w = json_object_array_get_idx(a, i);
		const char *s;

		if (!json_object_is_type(w, json_type_string)) {
			err_set("\"argv\"[%zu] is not a string", i);
			return -EINVAL;
		}
		s = json_object_get_string(w);
		if (strlen(s) != (size_t)json_object_get_string_len(w)) {
			err_set("\"argv\"[%zu] contains a NUL byte", i);
			return -EINVAL;
		}
		r->argv[i] = strdup(s);
		if (!r->argv[i])
			return -ENOMEM;
		r->argc = (int)i + 1;
	}
	return 0;
}

static int parse_bool(struct json_object *v, const char *key, int *out)
{
	if (!json_object_is_type(v, json_type_boolean)) {
		err_set("\"%s\" must be true or false", key);
		return -EINVAL;
	}
	*out = json_object_get_boolean(v);
	return 0;
}

/* An apply's name: 1..CTL_NAME_MAX printable bytes (it goes into messages and logs). */
static int parse_name(struct json_object *v, struct ctl_request *r)
{
	const char *s;
	size_t i, n;

	if (!json_object_is_type(v, json_type_string)) {
		err_set("\"name\" must be a string");
		return -EINVAL;
	}
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (!n || n > CTL_NAME_MAX) {
		err_set("\"name\" must have 1 to %d bytes", CTL_NAME_MAX);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			err_set("\"name\" contains a control character");
			return -EINVAL;
		}
	}
	r->name = strdup(s);
	return r->name ? 0 : -ENOMEM;
}

static int parse_size(struct json_object *v, struct ctl_request *r)
{
	int64_t n;

	if (!json_object_is_type(v, json_type_int)) {
		err_set("\"size\" must be an integer");
		return -EINVAL;
	}
	n = json_object_get_int64(v);
	if (n < 0 || (uint64_t)n > CTL_BODY_MAX) {
		err_set("\"size\" %lld is out of range: a configuration may have at most %u MiB",
			(long long)n, CTL_BODY_MAX >> 20);
		return -EFBIG;
	}
	r->size = (size_t)n;
	return 0;
}

static int parse_member(const char *key, struct json_object *v, struct ctl_request *r,
			const char **op, int *has_size)
{
	if (!strcmp(key, "argv"))
		return parse_argv(v, r);
	if (!strcmp(key, "json"))
		return parse_bool(v, key, &r->json);
	if (!strcmp(key, "pretty"))
		return parse_bool(v, key, &r->pretty);
	if (!strcmp(key, "batch"))
		return parse_bool(v, key, &r->batch);
	if (!strcmp(key, "op")) {
		if (!json_object_is_type(v, json_type_string)) {
			err_set("\"op\" must be a string");
			return -EINVAL;
		}
		*op = json_object_get_string(v);
		return 0;
	}
	if (!strcmp(key, "pin_root")) {
		if (!json_object_is_type(v, json_type_string)) {
			err_set("\"pin_root\" must be a string");
			return -EINVAL;
		}
		r->pin_root = strdup(json_object_get_string(v));
		return r->pin_root ? 0 : -ENOMEM;
	}
	if (!strcmp(key, "name"))
		return parse_name(v, r);
	if (!strcmp(key, "size")) {
		*has_size = 1;
		return parse_size(v, r);
	}
	err_set("unknown request member \"%.64s\": expected argv, json, pretty, batch, pin_root, "
		"op, name or size",
		key);
	return -EINVAL;
}

int ctl_request_parse(const char *line, size_t len, struct ctl_request *r)
{
	struct json_tokener *tok = NULL;
	struct json_object *doc = NULL;
	const char *op = NULL;
	int err = 0, has_size = 0;

	memset(r, 0, sizeof(*r));
	if (len > CTL_REQUEST_MAX) {
		err_set("request of %zu bytes: at most %d accepted", len, CTL_REQUEST_MAX);
		return -E2BIG;
	}
	if (memchr(line, '\0', len)) {
		err_set("request contains a NUL byte");
		return -EINVAL;
	}
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	doc = json_tokener_parse_ex(tok, line, (int)len);
	if (!doc || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		/* Trailing whitespace after the document is fine. */
		size_t end = doc ? json_tokener_get_parse_end(tok) : 0;

		while (doc && end < len && strchr(" \t\r", line[end]))
			end++;
		if (!doc || end != len) {
			err_set("malformed request: expected one JSON object per line (%s)",
				doc ? "trailing bytes"
				    : json_tokener_error_desc(json_tokener_get_error(tok)));
			err = -EINVAL;
			goto out;
		}
	}
	if (!json_object_is_type(doc, json_type_object)) {
		err_set("malformed request: expected a JSON object");
		err = -EINVAL;
		goto out;
	}
	{
		json_object_object_foreach(doc, key, val)
		{
			err = parse_member(key, val, r, &op, &has_size);
			if (err)
				goto out;
		}
	}
	if (op) {
		if (!strcmp(op, "subscribe"))
			r->op = CTL_OP_SUBSCRIBE;
		else if (!strcmp(op, "ping"))
			r->op = CTL_OP_PING;
		else if (!strcmp(op, "compact"))
			r->op = CTL_OP_COMPACT;
		else if (!strcmp(op, "run"))
			r->op = CTL_OP_RUN;
		else if (!strcmp(op, "apply"))
			r->op = CTL_OP_APPLY;
		else {
			err_set("unknown op \"%.64s\": expected subscribe, ping, compact, run or "
				"apply",
				op);
			err = -EINVAL;
			goto out;
		}
	} else {
		r->op = CTL_OP_RUN;
	}
	if (r->op == CTL_OP_RUN && !r->argc) {
		err_set("request without \"argv\": expected {\"argv\": [OBJECT, COMMAND, ...]}");
		err = -EINVAL;
	} else if (r->op != CTL_OP_RUN && r->argc) {
		err_set("\"argv\" does not go with op \"%s\"", op);
		err = -EINVAL;
	} else if (r->op == CTL_OP_APPLY && (!r->name || !has_size)) {
		err_set("op \"apply\" needs \"name\" and \"size\" (the bytes that follow the line)");
		err = -EINVAL;
	} else if (r->op != CTL_OP_APPLY && (r->name || has_size)) {
		err_set("\"name\" and \"size\" go with op \"apply\" only");
		err = -EINVAL;
	}
out:
	json_object_put(doc);
	json_tokener_free(tok);
	if (err)
		ctl_request_free(r);
	return err;
}

/* doc as one line plus newline, malloc'd; consumes doc. */
static char *to_line(struct json_object *doc)
{
	const char *s;
	char *line = NULL;
	size_t n;

	if (!doc)
		return NULL;
	s = json_object_to_json_string_ext(doc,
					   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	n = s ? strlen(s) : 0;
	if (s)
		line = malloc(n + 2);
	if (line) {
		memcpy(line, s, n);
		line[n] = '\n';
		line[n + 1] = '\0';
	}
	json_object_put(doc);
	return line;
}

char *ctl_request_build(int argc, char **argv, int json, int pretty, const char *pin_root,
			int batch)
{
	struct json_object *doc = json_object_new_object();
	struct json_object *a = json_object_new_array();
	int i;

	if (!doc || !a) {
		json_object_put(doc);
		json_object_put(a);
		return NULL;
	}
	for (i = 0; i < argc; i++)
		json_object_array_add(a, json_object_new_string(argv[i]));
	json_object_object_add(doc, "argv", a);
	json_object_object_add(doc, "json", json_object_new_boolean(json));
	if (pretty)
		json_object_object_add(doc, "pretty", json_object_new_boolean(1));
	if (batch)
		json_object_object_add(doc, "batch", json_object_new_boolean(1));
	if (pin_root)
		json_object_object_add(doc, "pin_root", json_object_new_string(pin_root));
	return to_line(doc);
}

char *ctl_apply_build(const char *name, size_t size, const char *pin_root)
{
	struct json_object *doc = json_object_new_object();

	if (!doc)
		return NULL;
	json_object_object_add(doc, "op", json_object_new_string("apply"));
	json_object_object_add(doc, "name", json_object_new_string(name));
	json_object_object_add(doc, "size", json_object_new_int64((int64_t)size));
	if (pin_root)
		json_object_object_add(doc, "pin_root", json_object_new_string(pin_root));
	return to_line(doc);
}

char *ctl_reply_build(int rc, const char *out, const char *err, __s64 seq)
{
	struct json_object *doc = json_object_new_object();

	if (!doc)
		return NULL;
	json_object_object_add(doc, "rc", json_object_new_int(rc));
	json_object_object_add(doc, "out", json_object_new_string(out ? out : ""));
	json_object_object_add(doc, "err", json_object_new_string(err ? err : ""));
	if (seq >= 0)
		json_object_object_add(doc, "seq", json_object_new_int64(seq));
	return to_line(doc);
}

void ctl_reply_free(struct ctl_reply *r)
{
	if (!r)
		return;
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

/* A reply member as text: "" when absent or null (json-c gives NULL for null). */
static const char *member_text(struct json_object *doc, const char *key)
{
	struct json_object *v;
	const char *s;

	if (!json_object_object_get_ex(doc, key, &v))
		return "";
	s = json_object_get_string(v);
	return s ? s : "";
}

int ctl_reply_parse(const char *line, struct ctl_reply *r)
{
	struct json_object *doc = json_tokener_parse(line), *v;
	int err = 0;

	memset(r, 0, sizeof(*r));
	r->seq = -1;
	if (!doc || !json_object_is_type(doc, json_type_object) ||
	    !json_object_object_get_ex(doc, "rc", &v) || !json_object_is_type(v, json_type_int)) {
		err_set("the daemon's reply is not understood: %.80s", line);
		err = -EINVAL;
		goto out;
	}
	r->rc = json_object_get_int(v);
	r->out = strdup(member_text(doc, "out"));
	r->err = strdup(member_text(doc, "err"));
	if (json_object_object_get_ex(doc, "seq", &v))
		r->seq = json_object_get_int64(v);
	if (!r->out || !r->err) {
		ctl_reply_free(r);
		err = -ENOMEM;
	}
out:
	json_object_put(doc);
	return err;
}

const char *ctl_socket_path(const char *override, const char *def)
{
	const char *env = getenv("SLUICE_SOCKET");

	if (override && *override)
		return override;
	if (env && *env)
		return env;
	return def;
}

int ctl_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		err_set("socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		err_set("cannot create a socket: %s", strerror(-err));
		return err;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		err_set("cannot connect to the daemon at %s: %s", path, strerror(-err));
		return err;
	}
	return fd;
}

/* Wait for fd to be ready for events until deadline; 0 or -ETIMEDOUT/-errno. */
static int wait_fd(int fd, short events, __s64 deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	__s64 left;
	int n;

	for (;;) {
		left = deadline - (__s64)clock_mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* Send len bytes of buf on fd before deadline. 0 or -errno. */
static int send_all(int fd, const char *buf, size_t len, __s64 deadline)
{
	size_t done = 0;
	int err;

	while (done < len) {
		ssize_t n = send(fd, buf + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			done += (size_t)n;
		} else if (n < 0 && errno == EAGAIN) {
			err = wait_fd(fd, POLLOUT, deadline);
			if (err)
				return err;
		} else if (n < 0 && errno != EINTR) {
			return -errno;
		}
	}
	return 0;
}

int ctl_call(const char *path, const char *request, int timeout_ms, struct ctl_reply *r)
{
	return ctl_call_body(path, request, NULL, 0, timeout_ms, r);
}

int ctl_call_body(const char *path, const char *request, const void *body, size_t body_len,
		  int timeout_ms, struct ctl_reply *r)
{
	__s64 deadline = (__s64)clock_mono_ms() + timeout_ms;
	size_t used = 0, cap = 4096;
	char *buf = NULL, *nl = NULL;
	int fd, err;

	fd = ctl_connect(path);
	if (fd < 0)
		return fd;
	err = send_all(fd, request, strlen(request), deadline);
	if (!err)
		err = send_all(fd, body, body_len, deadline);
	/* A daemon that refused the request at its line may have closed: read its reply. */
	if (err && err != -EPIPE && err != -ECONNRESET)
		goto fail;
	buf = malloc(cap);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	while (!nl) {
		ssize_t n;

		if (used + 1 >= cap) {
			char *b = realloc(buf, cap * 2);

			if (!b) {
				err = -ENOMEM;
				goto out;
			}
			buf = b;
			cap *= 2;
		}
		err = wait_fd(fd, POLLIN, deadline);
		if (err)
			goto fail;
		n = recv(fd, buf + used, cap - used - 1, MSG_DONTWAIT);
		if (n == 0) {
			err = -ECONNRESET;
			goto fail;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			err = -errno;
			goto fail;
		}
		buf[used + (size_t)n] = '\0';
		nl = strchr(buf + used, '\n');
		used += (size_t)n;
	}
	*nl = '\0';
	err = ctl_reply_parse(buf, r);
	goto out;
fail:
	err_set("no reply from the daemon at %s: %s", path,
		err == -ETIMEDOUT ? "timed out" : strerror(-err));
	/* Not -ENOENT/-ECONNREFUSED: the request may have been applied. */
	if (err == -ENOENT || err == -ECONNREFUSED)
		err = -EIO;
out:
	free(buf);
	close(fd);
	return err;
}

static int lock_path(const char *socket_path, char *buf, size_t len)
{
	if (snprintf(buf, len, "%s.lock", socket_path) >= (int)len) {
		err_set("socket path too long: %s", socket_path);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* The pid written in an open lock file; 0 when unreadable. */
static pid_t lock_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long pid;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	return pid > 0 && pid <= INT_MAX ? (pid_t)pid : 0;
}

int ctl_lock_take(const char *socket_path, pid_t *holder)
{
	char path[PATH_MAX], pid[32];
	int fd, err, n;

	*holder = 0;
	err = lock_path(socket_path, path, sizeof(path));
	if (err)
		return err;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		err = -errno;
		err_set("cannot open %s: %s", path, strerror(-err));
		return err;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		err = -errno;
		if (err == -EWOULDBLOCK) {
			*holder = lock_pid(fd);
			err_set("another sluiced (pid %d) holds %s", (int)*holder, path);
		} else
			err_set("cannot lock %s: %s", path, strerror(-err));
		close(fd);
		return err;
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pid, (size_t)n, 0) != n) {
		err = -errno;
		err_set("cannot write %s: %s", path, strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

int ctl_lock_held(const char *socket_path, pid_t *pid)
{
	char path[PATH_MAX];
	int fd, held = 0;

	*pid = 0;
	if (lock_path(socket_path, path, sizeof(path)))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	/* A shared lock is refused only while the daemon holds its exclusive one. */
	if (flock(fd, LOCK_SH | LOCK_NB)) {
		held = errno == EWOULDBLOCK;
		if (held)
			*pid = lock_pid(fd);
	}
	close(fd);
	return held;
}
