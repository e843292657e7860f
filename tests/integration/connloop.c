// SPDX-License-Identifier: GPL-2.0-only
/*
 * connloop: a bounded client loop of new TCP connections at a steady rate,
 * for the circuit-breaker tests and benchmark (tests/integration/
 * test_resilience.sh, tools/bench.sh, tools/demo.sh): each connection
 * sends "GET / HTTP/1.1" (Connection: close), reads which backend answered
 * (the lab's nginx answers "backend-I") and closes with a RST (SO_LINGER 0:
 * no TIME_WAIT, so a long loop does not run out of ports).
 *
 *   connloop ADDR PORT [-d DURATION_MS] [-i INTERVAL_US] [-t TIMEOUT_MS]
 *            [-s SRC[,SRC...]] [-q] [-R]
 *
 * A new connection starts every INTERVAL_US (default 5000: 200 a second),
 * whatever the others are doing (up to 1024 in flight), for DURATION_MS
 * (default 5000, at most 120000), or until SIGTERM / SIGINT; then the ones in
 * flight finish (each bounded by TIMEOUT_MS, default 2000). One line per
 * connection as it ends (not with -q):
 *   START_US END_US OUTCOME BACKEND
 * START_US and END_US are CLOCK_REALTIME microseconds (comparable with
 * `date +%s%N` and other processes' timestamps); OUTCOME is ok, refused
 * (ECONNREFUSED or ECONNRESET: a RST), timeout or error; BACKEND the name
 * that answered, "-" when none. Last, one JSON line:
 *   {"ok": n, "refused": n, "timeout": n, "error": n, "total": n,
 *    "backend-1": n, ...}
 * With -R, a connection whose handshake completed (the request was sent)
 * and that then fails (a RST, EOF or the timeout: the server took it and
 * died) is "accepted_lost", counted apart from the refused and timed-out
 * connects (and "accepted_lost" is added to the JSON line).
 * Exits 0 (the counts are the result), 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sockaddr.h"
#include "tool.h"

#define MAX_INFLIGHT 1024
#define MAX_SRCS 16
#define MAX_NAMES 64
#define NAME_LEN 32
#define BUF_LEN 1024
#define MAX_DURATION_MS 120000

enum outcome { O_OK, O_REFUSED, O_TIMEOUT, O_ERROR, O_LOST, O_MAX };
static const char *const outcome_names[O_MAX] = { "ok", "refused", "timeout", "error",
						  "accepted_lost" };
static int split_lost; /* -R: a failure after the handshake completed is O_LOST */

struct conn {
	int fd; /* -1: slot free */
	int sent;
	long long start_us;   /* CLOCK_REALTIME */
	long long start_mono; /* CLOCK_MONOTONIC, µs, for the timeout */
	size_t got;
	char buf[BUF_LEN];
};

static struct {
	char name[NAME_LEN];
	unsigned long count;
} names[MAX_NAMES];
static int nnames, quiet;
static unsigned long counts[O_MAX];

static void usage(void)
{
	fprintf(stderr, "usage: connloop ADDR PORT [-d DURATION_MS] [-i INTERVAL_US] "
			"[-t TIMEOUT_MS] [-s SRC[,SRC...]] [-q] [-R]\n");
	exit(2);
}

/* End connection c with outcome o (and the backend's name when o is O_OK). */
static void conn_end(struct conn *c, int o, const char *name)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int j;

	if (!quiet)
		printf("%lld %lld %s %s\n", c->start_us, tool_clock_us(CLOCK_REALTIME),
		       outcome_names[o], name ? name : "-");
	counts[o]++;
	if (o == O_OK && name) {
		for (j = 0; j < nnames && strcmp(names[j].name, name); j++)
			;
		if (j == nnames && nnames < MAX_NAMES) {
			snprintf(names[j].name, NAME_LEN, "%s", name);
			nnames++;
		}
		if (j < nnames)
			names[j].count++;
	}
	/* RST on close: no TIME_WAIT, the loop can run long. */
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(c->fd);
	c->fd = -1;
}

static void conn_fail(struct conn *c, int err)
{
	if (split_lost && c->sent) {
		conn_end(c, O_LOST, NULL);
		return;
	}
	conn_end(c, (err == ECONNREFUSED || err == ECONNRESET) ? O_REFUSED : O_ERROR, NULL);
}

static void conn_step(struct conn *c)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: sluice-lab\r\nConnection: close\r\n\r\n";
	int soerr = 0;
	socklen_t el = sizeof(soerr);
	ssize_t n;
	char *p;

	if (!c->sent) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &el))
			soerr = errno;
		if (soerr) {
			conn_fail(c, soerr);
			return;
		}
		if (send(c->fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1)) {
			conn_fail(c, errno);
			return;
		}
		c->sent = 1;
		return;
	}
	n = recv(c->fd, c->buf + c->got, sizeof(c->buf) - 1 - c->got, 0);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n < 0) {
		conn_fail(c, errno);
		return;
	}
	c->got += n;
	c->buf[c->got] = '\0';
	p = strstr(c->buf, "\r\n\r\n");
	p = p ? strstr(p, "backend-") : NULL;
	if (p && strchr(p, '\n')) {
		p[strcspn(p, "\r\n")] = '\0';
		conn_end(c, O_OK, p);
	} else if (n == 0 || c->got >= sizeof(c->buf) - 1) {
		conn_fail(c, EPROTO);
	}
}

int main(int argc, char **argv)
{
	static struct conn conns[MAX_INFLIGHT];
	struct pollfd pfd[MAX_INFLIGHT];
	int idx[MAX_INFLIGHT];
	struct sockaddr_storage dst, srcs[MAX_SRCS];
	socklen_t dlen, slens[MAX_SRCS];
	long port, duration_ms = 5000, interval_us = 5000, timeout_ms = 2000;
	long long t0, next, now;
	unsigned long started = 0;
	int nsrc = 0, i, j;

	if (argc < 3)
		usage();
	if (tool_long(argv[2], 1, 65535, &port))
		usage();
	if (sockaddr_parse(argv[1], (unsigned short)port, &dst, &dlen)) {
		fprintf(stderr, "connloop: bad address '%s'\n", argv[1]);
		return 2;
	}
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "-q")) {
			quiet = 1;
		} else if (!strcmp(argv[i], "-R")) {
			split_lost = 1;
		} else if (!strcmp(argv[i], "-d") && i + 1 < argc) {
			if (tool_long(argv[++i], 1, MAX_DURATION_MS, &duration_ms))
				usage();
		} else if (!strcmp(argv[i], "-i") && i + 1 < argc) {
			if (tool_long(argv[++i], 100, 10000000, &interval_us))
				usage();
		} else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
			if (tool_long(argv[++i], 1, 60000, &timeout_ms))
				usage();
		} else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
			if (tool_sources("connloop", argv[++i], srcs, slens, NULL, MAX_SRCS, &nsrc))
				return 2;
		} else {
			usage();
		}
	}
	for (i = 0; i < MAX_INFLIGHT; i++)
		conns[i].fd = -1;
	tool_catch_stop();
	setvbuf(stdout, NULL, _IOLBF, 0);

	t0 = tool_clock_us(CLOCK_MONOTONIC);
	next = t0;
	for (;;) {
		int n = 0, wait_ms;

		now = tool_clock_us(CLOCK_MONOTONIC);
		/* Start what is due (never more than one interval's backlog at once). */
		while (!tool_stop && now >= next && now - t0 < duration_ms * 1000LL) {
			struct conn *c = NULL;

			for (i = 0; i < MAX_INFLIGHT && !c; i++)
				if (conns[i].fd < 0)
					c = &conns[i];
			next += interval_us;
			if (!c)
				break;
			memset(c, 0, sizeof(*c));
			c->start_us = tool_clock_us(CLOCK_REALTIME);
			c->start_mono = now;
			c->fd = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
				       0);
			started++;
			if (c->fd < 0) {
				counts[O_ERROR]++;
				continue;
			}
			if (nsrc && bind(c->fd, (struct sockaddr *)&srcs[started % nsrc],
					 slens[started % nsrc])) {
				conn_fail(c, errno);
				continue;
			}
			if (connect(c->fd, (struct sockaddr *)&dst, dlen) && errno != EINPROGRESS)
				conn_fail(c, errno);
		}
		/* Time out what waited too long. */
		for (i = 0; i < MAX_INFLIGHT; i++) {
			if (conns[i].fd < 0)
				continue;
			if (now - conns[i].start_mono > timeout_ms * 1000LL) {
				conn_end(&conns[i],
					 split_lost && conns[i].sent ? O_LOST : O_TIMEOUT, NULL);
				continue;
			}
			pfd[n].fd = conns[i].fd;
			pfd[n].events = conns[i].sent ? POLLIN : POLLOUT;
			pfd[n].revents = 0;
			idx[n++] = i;
		}
		if (!n && (tool_stop || now - t0 >= duration_ms * 1000LL))
			break;
		wait_ms = (int)((next - now) / 1000);
		if (tool_stop || now - t0 >= duration_ms * 1000LL)
			wait_ms = 10;
		if (wait_ms < 0)
			wait_ms = 0;
		if (poll(pfd, n, wait_ms) <= 0)
			continue;
		for (j = 0; j < n; j++)
			if (pfd[j].revents)
				conn_step(&conns[idx[j]]);
	}
	printf("{\"ok\": %lu, \"refused\": %lu, \"timeout\": %lu, \"error\": %lu, \"total\": %lu",
	       counts[O_OK], counts[O_REFUSED], counts[O_TIMEOUT], counts[O_ERROR], started);
	if (split_lost)
		printf(", \"accepted_lost\": %lu", counts[O_LOST]);
	for (j = 0; j < nnames; j++)
		printf(", \"%s\": %lu", names[j].name, names[j].count);
	printf("}\n");
	return 0;
}
