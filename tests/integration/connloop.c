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
 * With -R, a connection whose handshake completed (the request was sent, or
 * a RST came to the established connection before it was) and that then
 * fails (a RST, EOF or the timeout: the server took it and died) is
 * "accepted_lost", counted apart from the refused and timed-out
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
#define USAGE                                                   \
	"connloop ADDR PORT [-d DURATION_MS] [-i INTERVAL_US] " \
	"[-t TIMEOUT_MS] [-s SRC[,SRC...]] [-q] [-R]"
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

static struct tool_tally names;
static int quiet;
static unsigned long counts[O_MAX];

/* End connection c with outcome o (and the backend's name when o is O_OK). */
static void conn_end(struct conn *c, int o, const char *name)
{
	if (!quiet)
		printf("%lld %lld %s %s\n", c->start_us, tool_clock_us(CLOCK_REALTIME),
		       outcome_names[o], name ? name : "-");
	counts[o]++;
	if (o == O_OK && name)
		tool_tally_add(&names, name);
	/* RST on close: no TIME_WAIT, the loop can run long. */
	tool_close_rst(c->fd);
	c->fd = -1;
}

static void conn_fail(struct conn *c, int err)
{
	/*
	 * ECONNRESET (EPIPE) is a RST to an established connection: the
	 * handshake had completed (a refused SYN is ECONNREFUSED), even when
	 * the loop, late on a busy machine, had not yet sent the request.
	 */
	if (split_lost && (c->sent || err == ECONNRESET || err == EPIPE)) {
		conn_end(c, O_LOST, NULL);
		return;
	}
	conn_end(c, (err == ECONNREFUSED || err == ECONNRESET) ? O_REFUSED : O_ERROR, NULL);
}

static void conn_step(struct conn *c)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: sluice-lab\r\nConnection: close\r\n\r\n";
	int soerr;
	ssize_t n;
	char *p;

	if (!c->sent) {
		soerr = tool_connect_error(c->fd);
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
	p = tool_http_backend(c->buf, 1);
	if (p)
		conn_end(c, O_OK, p);
	else if (n == 0 || c->got >= sizeof(c->buf) - 1)
		conn_fail(c, EPROTO);
}

int main(int argc, char **argv)
{
	static struct conn conns[MAX_INFLIGHT];
	struct pollfd pfd[MAX_INFLIGHT];
	int idx[MAX_INFLIGHT];
	static struct tool_client cl = { .timeout_ms = 2000 };
	long duration_ms = 5000, interval_us = 5000;
	long long t0, next, now;
	unsigned long started = 0;
	int i, j, err;
	const struct tool_opt opts[] = {
		{ .name = "-q", .flag = &quiet },
		{ .name = "-R", .flag = &split_lost },
		{ .name = "-d", .num = &duration_ms, .min = 1, .max = MAX_DURATION_MS },
		{ .name = "-i", .num = &interval_us, .min = 100, .max = 10000000 },
		{ 0 },
	};

	tool_client_args("connloop", USAGE, argc, argv, 0, opts, &cl);
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
			const struct sockaddr_storage *src;
			socklen_t slen;

			for (i = 0; i < MAX_INFLIGHT && !c; i++)
				if (conns[i].fd < 0)
					c = &conns[i];
			next += interval_us;
			if (!c)
				break;
			memset(c, 0, sizeof(*c));
			c->start_us = tool_clock_us(CLOCK_REALTIME);
			c->start_mono = now;
			started++;
			src = tool_client_src(&cl, started, &slen);
			err = tool_connect(&cl.dst, cl.dlen, src, slen, 0, &c->fd);
			if (c->fd < 0)
				counts[O_ERROR]++;
			else if (err)
				conn_fail(c, -err);
		}
		/* Time out what waited too long. */
		for (i = 0; i < MAX_INFLIGHT; i++) {
			if (conns[i].fd < 0)
				continue;
			if (now - conns[i].start_mono > cl.timeout_ms * 1000LL) {
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
	tool_tally_print(&names, stdout);
	printf("}\n");
	return 0;
}
