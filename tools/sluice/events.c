// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice events: what the daemon journals, as it happens. Subscribes on the
 * control socket ({"op": "subscribe"}); the daemon sends its recent records
 * (a small backlog), a {"live": true} line, then every new record. Without
 * --follow the backlog is printed and the command ends at the live line.
 */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "clock.h"
#include "ctl.h"
#include "err.h"
#include "main.h"
#include "out.h"

static int do_help(void)
{
	fprintf(out_file(),
		"Usage: sluice events [--follow] [count N] [timeout SECONDS]\n"
		"\n"
		"Print the daemon's recent journal records (commands, failures, config\n"
		"applies, health and breaker transitions), one line each with its author\n"
		"([uid U pid P]); with --follow, keep printing new ones until the daemon\n"
		"stops, N records were printed or SECONDS passed. -j prints each record\n"
		"as one JSON object per line (uid and pid members: its author).\n"
		"The daemon's socket: --socket PATH, $SLUICE_SOCKET, else %s.\n",
		CLI_SOCKET_DEFAULT);
	return 0;
}

static void print_record(const char *line)
{
	struct json_object *doc = json_tokener_parse(line), *v, *w;
	char when[64] = "";
	const char *type = "?";
	__u64 seq = 0;

	if (out_is_json() || !doc) {
		fprintf(out_file(), "%s\n", line);
		json_object_put(doc);
		fflush(out_file());
		return;
	}
	if (json_object_object_get_ex(doc, "seq", &v))
		seq = (__u64)json_object_get_int64(v);
	if (json_object_object_get_ex(doc, "type", &v))
		type = json_object_get_string(v);
	if (json_object_object_get_ex(doc, "time_ns", &v)) {
		__u64 ns = (__u64)json_object_get_int64(v);
		time_t t = (time_t)(ns / 1000000000ull);
		struct tm tm;

		if (localtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	}
	fprintf(out_file(), "%s seq %llu %s %s", when, (unsigned long long)seq, type,
		json_object_object_get_ex(doc, "payload", &v)
			? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
								    JSON_C_TO_STRING_NOSLASHESCAPE)
			: "");
	/* The author, as journal show prints it (absent from records before authors). */
	if (json_object_object_get_ex(doc, "uid", &v) && json_object_object_get_ex(doc, "pid", &w))
		fprintf(out_file(), " [uid %lld pid %lld]", (long long)json_object_get_int64(v),
			(long long)json_object_get_int64(w));
	fputc('\n', out_file());
	fflush(out_file());
	json_object_put(doc);
}

/* Read lines from fd, print records; stop per follow/count/deadline. */
static int stream(int fd, int follow, __u32 count, __u64 deadline)
{
	size_t used = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	__u32 printed = 0;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char *nl;
		ssize_t n;
		int wait = -1;

		if (deadline) {
			__u64 now = clock_mono_ms();

			if (now >= deadline)
				break;
			wait = (int)(deadline - now);
		}
		n = poll(&p, 1, wait);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			break;
		if (used == cap) {
			err = -E2BIG;
			err_set("a record from the daemon is too long");
			break;
		}
		n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!follow || n < 0) {
				err = n < 0 ? -errno : -ECONNRESET;
				err_set("the daemon closed the subscription");
			}
			break;
		}
		used += (size_t)n;
		while ((nl = memchr(buf, '\n', used))) {
			*nl = '\0';
			/* A reply instead of records: the daemon refused the subscription. */
			if (!strncmp(buf, "{\"rc\"", 5)) {
				struct ctl_reply r;

				err = -EPERM;
				if (!ctl_reply_parse(buf, &r)) {
					err_set("the daemon refused the subscription: %s", r.err);
					ctl_reply_free(&r);
				}
				goto out;
			}
			if (strstr(buf, "\"live\"")) {
				if (!follow)
					goto out;
			} else {
				print_record(buf);
				printed++;
			}
			used -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, used);
			if (count && printed >= count)
				goto out;
		}
	}
out:
	free(buf);
	return err;
}

int do_events(int argc, char **argv)
{
	static const char req[] = "{\"op\":\"subscribe\"}\n";
	__u32 count = 0, timeout = 0;
	int follow = 0, fd = -1, err = 0, i;
	const char *path;
	__u64 deadline;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "help"))
			return do_help();
		if (!strcmp(argv[i], "--follow") || !strcmp(argv[i], "follow") ||
		    !strcmp(argv[i], "-f")) {
			follow = 1;
		} else if (!strcmp(argv[i], "count") && i + 1 < argc) {
			if (args_parse_count(argv[++i], 1u << 30, "count", &count))
				return cli_lib_error(-EINVAL);
		} else if (!strcmp(argv[i], "timeout") && i + 1 < argc) {
			if (args_parse_count(argv[++i], 86400, "timeout", &timeout))
				return cli_lib_error(-EINVAL);
		} else {
			return cli_usage_error("events", "unexpected '%s'", argv[i]);
		}
	}
	path = ctl_socket_path(cli.socket, CLI_SOCKET_DEFAULT);
	fd = ctl_connect(path);
	if (fd < 0) {
		out_error("%s (is sluiced running?)", err_msg());
		return fd;
	}
	if (write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
		err = -errno;
		out_error("cannot subscribe at %s: %s", path, strerror(-err));
		goto out;
	}
	/* Without --follow, do not hang on a daemon that never sends "live". */
	deadline = timeout  ? clock_mono_ms() + (__u64)timeout * 1000
		   : follow ? 0
			    : clock_mono_ms() + 10000;
	err = stream(fd, follow, count, deadline);
	if (err)
		cli_lib_error(err);
out:
	close(fd);
	return err;
}
