// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The daemon's health state file (hstate.h): its path, its atomic write,
 * and the reader's view of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hstate.h"

struct hstate {
	struct json_object *doc;
	struct json_object *backends;
};

int hstate_path(const char *socket_path, char *buf, size_t len)
{
	return hstate_path_of(socket_path, HSTATE_FILE, buf, len);
}

int hstate_path_of(const char *socket_path, const char *name, char *buf, size_t len)
{
	const char *slash = strrchr(socket_path, '/');
	int dirlen = slash ? (int)(slash - socket_path) : 1;
	const char *dir = slash ? socket_path : ".";
	int n;

	if (slash == socket_path)
		dirlen = 0; /* a socket in / */
	n = snprintf(buf, len, "%.*s/%s", dirlen, dir, name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int hstate_write(const char *path, const char *text)
{
	size_t len = strlen(text), done = 0;
	char tmp[4096];
	ssize_t w;
	int fd, err = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (done < len) {
		w = write(fd, text + done, len - done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		done += (size_t)w;
	}
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int hstate_load_doc(const char *path, const char *pin_root, struct json_object **out)
{
	struct json_object *doc, *v;
	long pid;

	*out = NULL;
	if (access(path, F_OK))
		return -ENOENT;
	doc = json_object_from_file(path);
	if (!doc)
		return -EINVAL;
	if (!json_object_object_get_ex(doc, "pid", &v)) {
		json_object_put(doc);
		return -EINVAL;
	}
	pid = (long)json_object_get_int64(v);
	/* A dead writer's file says nothing; EPERM: alive, not ours to signal. */
	if (pid <= 0 || (kill((pid_t)pid, 0) && errno != EPERM)) {
		json_object_put(doc);
		return -ENOENT;
	}
	if (pin_root && (!json_object_object_get_ex(doc, "pin_root", &v) ||
			 strcmp(json_object_get_string(v), pin_root))) {
		json_object_put(doc);
		return -ENOENT;
	}
	*out = doc;
	return 0;
}

int hstate_load(const char *path, const char *pin_root, struct hstate **s)
{
	struct json_object *doc, *b;
	struct hstate *h;
	int err;

	*s = NULL;
	err = hstate_load_doc(path, pin_root, &doc);
	if (err)
		return err;
	if (!json_object_object_get_ex(doc, "backends", &b) ||
	    !json_object_is_type(b, json_type_object)) {
		json_object_put(doc);
		return -EINVAL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		json_object_put(doc);
		return -ENOMEM;
	}
	h->doc = doc;
	h->backends = b;
	*s = h;
	return 0;
}

void hstate_free(struct hstate *s)
{
	if (!s)
		return;
	json_object_put(s->doc);
	free(s);
}

int hstate_backend(const struct hstate *s, __u32 id, int *up, const char **why)
{
	struct json_object *b, *v;
	char k[16];

	snprintf(k, sizeof(k), "%u", (unsigned int)id);
	if (!s || !json_object_object_get_ex(s->backends, k, &b))
		return -ENOENT;
	*up = json_object_object_get_ex(b, "up", &v) && json_object_get_boolean(v);
	*why = json_object_object_get_ex(b, "why", &v) ? json_object_get_string(v) : "";
	if (!*why)
		*why = "";
	return 0;
}
