// SPDX-License-Identifier: GPL-2.0-only
/*
 * healthcheck: run the health-check module (userspace/health.c) in its own
 * epoll loop against the given targets for a bounded time and print every
 * transition as a JSON line (flushed at once), then each target's final
 * status. tests/integration/test_health.sh drives it against the lab's
 * nginx backends.
 *
 *   healthcheck [-d SECONDS] [-i INTERVAL_MS] [-t TIMEOUT_MS] [-r RISE] [-f FALL] [-s]
 *               TYPE,ADDR,PORT[,PATH[,BODY]]...
 *
 * Targets get backend ids 1, 2, ... in order; -s starts them down (so the
 * first rise successes report "up"). Lines:
 *   {"event":"change","time_ms":EPOCH_MS,"backend":1,"target":"http,::1,80,/","up":true,"why":"HTTP 200"}
 *   {"event":"status","backend":1,"target":...,"up":true,"checks":N,"failed":N,"why":"..."}
 */
#include <errno.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include <sys/epoll.h>

#include "addr.h"
#include "clock.h"
#include "err.h"
#include "health.h"
#include "tool.h"

#define MAX_TARGETS 64

static const char *targets[MAX_TARGETS + 1];

static unsigned long long epoch_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

static void on_change(void *ctx, __u32 backend, int up, const char *why)
{
	struct json_object *o = json_object_new_object();

	(void)ctx;
	json_object_object_add(o, "event", json_object_new_string("change"));
	json_object_object_add(o, "time_ms", json_object_new_int64((int64_t)epoch_ms()));
	json_object_object_add(o, "backend", json_object_new_int((int)backend));
	json_object_object_add(o, "target", json_object_new_string(targets[backend]));
	json_object_object_add(o, "up", json_object_new_boolean(up));
	json_object_object_add(o, "why", json_object_new_string(why));
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	json_object_put(o);
}

/* TYPE,ADDR,PORT[,PATH[,BODY]] into c. */
static int parse_target(const char *spec, struct health_conf *c)
{
	char buf[512], *f[5] = { 0 }, *save = NULL, *tok;
	int n = 0, err;
	unsigned long port;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, ",", &save); tok && n < 5; tok = strtok_r(NULL, ",", &save))
		f[n++] = tok;
	if (n < 3) {
		fprintf(stderr, "healthcheck: target '%s': expected TYPE,ADDR,PORT[,PATH[,BODY]]\n",
			spec);
		return -EINVAL;
	}
	err = health_parse_type(f[0], &c->type);
	if (!err)
		err = addr_parse(f[1], &c->addr);
	if (err) {
		fprintf(stderr, "healthcheck: %s\n", err_msg());
		return err;
	}
	port = strtoul(f[2], NULL, 10);
	if (!port || port > 65535) {
		fprintf(stderr, "healthcheck: bad port '%s'\n", f[2]);
		return -EINVAL;
	}
	c->port = (__u16)port;
	if (f[3])
		snprintf(c->path, sizeof(c->path), "%s", f[3]);
	if (f[4])
		snprintf(c->body, sizeof(c->body), "%s", f[4]);
	return 0;
}

static void print_status(struct health *h, __u32 id)
{
	struct json_object *o;
	struct health_status st;

	if (health_status(h, id, &st))
		return;
	o = json_object_new_object();
	json_object_object_add(o, "event", json_object_new_string("status"));
	json_object_object_add(o, "backend", json_object_new_int((int)id));
	json_object_object_add(o, "target", json_object_new_string(targets[id]));
	json_object_object_add(o, "up", json_object_new_boolean(st.up));
	json_object_object_add(o, "successes", json_object_new_int((int)st.successes));
	json_object_object_add(o, "failures", json_object_new_int((int)st.failures));
	json_object_object_add(o, "checks", json_object_new_int64((int64_t)st.checks));
	json_object_object_add(o, "failed", json_object_new_int64((int64_t)st.checks_failed));
	json_object_object_add(o, "why", json_object_new_string(st.why));
	json_object_object_add(o, "change_why", json_object_new_string(st.change_why));
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

int main(int argc, char **argv)
{
	struct health_conf base, c;
	struct epoll_event ev = { .events = EPOLLIN };
	struct health *h = NULL;
	unsigned long long end;
	int ep = -1, first, i, n, rc = 1;
	long secs = 10, interval = -1, timeout = -1, rise = -1, fall = -1;
	/* health_add() judges the values; these bounds only keep them in a __u32. */
	const struct tool_opt opts[] = {
		{ .name = "-d", .num = &secs, .min = 1, .max = 600 },
		{ .name = "-i", .num = &interval, .min = 0, .max = UINT32_MAX },
		{ .name = "-t", .num = &timeout, .min = 0, .max = UINT32_MAX },
		{ .name = "-r", .num = &rise, .min = 0, .max = UINT32_MAX },
		{ .name = "-f", .num = &fall, .min = 0, .max = UINT32_MAX },
		{ .name = "-s", .flag = &base.start_down },
		{ 0 },
	};

	health_conf_init(&base);
	first = tool_options(argc, argv, 1, opts);
	if (first < 0 || first == argc || argc - first > MAX_TARGETS)
		goto usage;
	base.interval_ms = interval < 0 ? base.interval_ms : (__u32)interval;
	base.timeout_ms = timeout < 0 ? base.timeout_ms : (__u32)timeout;
	base.rise = rise < 0 ? base.rise : (__u32)rise;
	base.fall = fall < 0 ? base.fall : (__u32)fall;
	tool_catch_stop();
	signal(SIGPIPE, SIG_IGN);
	if (health_new(&h, on_change, NULL)) {
		fprintf(stderr, "healthcheck: %s\n", err_msg());
		return 1;
	}
	for (i = first; i < argc; i++) {
		n = i - first + 1;
		targets[n] = argv[i];
		c = base;
		if (parse_target(argv[i], &c))
			goto out;
		if (health_add(h, (__u32)n, &c)) {
			fprintf(stderr, "healthcheck: %s: %s\n", argv[i], err_msg());
			goto out;
		}
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, health_fd(h), &ev)) {
		perror("healthcheck: epoll");
		goto out;
	}
	end = clock_mono_ms() + (unsigned long long)secs * 1000;
	while (!tool_stop && clock_mono_ms() < end) {
		n = epoll_wait(ep, &ev, 1, (int)(end - clock_mono_ms()));
		if (n < 0 && errno != EINTR) {
			perror("healthcheck: epoll_wait");
			goto out;
		}
		if (n > 0 && health_dispatch(h, clock_mono_ms())) {
			fprintf(stderr, "healthcheck: dispatch failed\n");
			goto out;
		}
	}
	for (i = first; i < argc; i++)
		print_status(h, (__u32)(i - first + 1));
	rc = 0;
out:
	if (ep >= 0)
		close(ep);
	health_free(h);
	return rc;
usage:
	fprintf(stderr,
		"usage: healthcheck [-d SECONDS] [-i INTERVAL_MS] [-t TIMEOUT_MS] [-r RISE] "
		"[-f FALL] [-s] TYPE,ADDR,PORT[,PATH[,BODY]]...\n");
	return 2;
}
