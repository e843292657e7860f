// SPDX-License-Identifier: GPL-2.0-only
/*
 * hold: open COUNT TCP connections to an HTTP service at once, classify how
 * each one ended up, and hold the served ones open, so that a bulkhead's
 * limit can be seen from the client's side (tests/integration/
 * test_resilience.sh, tools/demo.sh).
 *
 *   hold ADDR PORT COUNT [-s SRC[,SRC...]] [-H HOLD_MS] [-t TIMEOUT_MS] [-R]
 *
 * Every connect() is issued back to back (non-blocking; source addresses
 * round-robin, ports chosen by the kernel); a connected socket sends one
 * keep-alive "GET / HTTP/1.1" and reads the answer (the lab's nginx answers
 * "backend-I"). Each connection ends up as one of:
 *   served   the backend answered; its name is tallied
 *   refused  the connect failed with ECONNREFUSED or ECONNRESET: a RST came
 *            back (from the gateway's bulkhead or breaker, or the backend)
 *   timeout  no answer within TIMEOUT_MS (default 3000): a SYN dropped
 *   error    anything else
 * Then it prints one JSON line, e.g.
 *   {"served": 50, "refused": 150, "timeout": 0, "error": 0,
 *    "refused_max_ms": 3.1, "served_max_ms": 9.7, "backend-1": 17, ...}
 * (refused_max_ms: the slowest refusal, from its connect() to the error),
 * keeps the served connections open, idle (nginx's keep-alive timeout is
 * 65 s), for HOLD_MS (default 0) or until SIGTERM / SIGINT, closes them
 * (FIN; RST with -R) and prints {"closed": N, "lost": M}, lost being the
 * served connections the other side closed or reset while held.
 * Bounded: at most 10000 connections, TIMEOUT_MS <= 60 s, HOLD_MS <= 120 s.
 * Exits 0 (the counts are the result), 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sockaddr.h"
#include "tool.h"

#define MAX_CONNS 10000
#define USAGE                                                  \
	"hold ADDR PORT COUNT [-s SRC[,SRC...]] [-H HOLD_MS] " \
	"[-t TIMEOUT_MS] [-R]"
#define BUF_LEN 1024

enum conn_state { C_CONNECTING, C_READING, C_SERVED, C_REFUSED, C_TIMEOUT, C_ERROR, C_LOST };

static int rst;	     /* -R: close the held connections with a RST */
static long hold_ms; /* -H */
static const struct tool_opt opts[] = {
	{ .name = "-R", .flag = &rst },
	{ .name = "-H", .num = &hold_ms, .min = 0, .max = 120000 },
	{ 0 },
};

struct conn {
	int fd;
	int state;
	double start_ms;
	double end_ms;
	size_t got;
	char buf[BUF_LEN];
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A failed connection: refused (a RST answered it) or another error. */
static void conn_fail(struct conn *c, int err, double t)
{
	c->state = (err == ECONNREFUSED || err == ECONNRESET) ? C_REFUSED : C_ERROR;
	c->end_ms = t;
	close(c->fd);
	c->fd = -1;
}

/* Progress of one connection on a poll event. */
static void conn_step(struct conn *c, short revents)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: sluice-lab\r\n\r\n";
	double t = now_ms();
	int soerr;
	ssize_t n;
	char *p;

	if (c->state == C_CONNECTING) {
		soerr = tool_connect_error(c->fd);
		if (soerr) {
			conn_fail(c, soerr, t);
			return;
		}
		if (!(revents & POLLOUT))
			return;
		if (send(c->fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1)) {
			conn_fail(c, errno, t);
			return;
		}
		c->state = C_READING;
		return;
	}
	n = recv(c->fd, c->buf + c->got, sizeof(c->buf) - 1 - c->got, 0);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		conn_fail(c, n < 0 ? errno : ECONNABORTED, t);
		return;
	}
	c->got += n;
	c->buf[c->got] = '\0';
	p = tool_http_backend(c->buf, 1);
	if (p) {
		c->state = C_SERVED;
		c->end_ms = t;
		memmove(c->buf, p, strlen(p) + 1);
	} else if (c->got >= sizeof(c->buf) - 1) {
		conn_fail(c, EPROTO, t);
	}
}

int main(int argc, char **argv)
{
	static struct tool_client cl = { .timeout_ms = 3000 };
	struct tool_tally names = { 0 };
	int i, j;
	long count;
	unsigned long served = 0, refused = 0, timeouts = 0, errors = 0, closed = 0, lost = 0;
	double refused_max = 0, served_max = 0, deadline;
	struct conn *conns;
	struct pollfd *pfd;
	struct rlimit rl;

	tool_client_args("hold", USAGE, argc, argv, MAX_CONNS, opts, &cl);
	count = cl.count;
	/* One descriptor per connection, plus a few. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < (rlim_t)count + 64) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)count + 64 ? rl.rlim_max : (rlim_t)count + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	conns = calloc(count, sizeof(*conns));
	pfd = calloc(count, sizeof(*pfd));
	if (!conns || !pfd) {
		fprintf(stderr, "hold: out of memory\n");
		return 1;
	}
	tool_catch_stop();

	/* Every connect() back to back: the SYNs reach the gateway together. */
	for (i = 0; i < count; i++) {
		struct conn *c = &conns[i];
		const struct sockaddr_storage *src;
		socklen_t slen;
		int err;

		c->start_ms = now_ms();
		c->state = C_CONNECTING;
		src = tool_client_src(&cl, i, &slen);
		err = tool_connect(&cl.dst, cl.dlen, src, slen, 0, &c->fd);
		if (c->fd < 0)
			c->state = C_ERROR;
		else if (err)
			conn_fail(c, -err, now_ms());
	}

	/* Until every connection is served, refused, failed or timed out. */
	deadline = now_ms() + cl.timeout_ms;
	for (;;) {
		int n = 0, left = (int)(deadline - now_ms());

		for (i = 0; i < count; i++) {
			if (conns[i].state != C_CONNECTING && conns[i].state != C_READING)
				continue;
			pfd[n].fd = conns[i].fd;
			pfd[n].events = conns[i].state == C_CONNECTING ? POLLOUT : POLLIN;
			pfd[n].revents = 0;
			n++;
		}
		if (!n || left <= 0 || tool_stop)
			break;
		if (poll(pfd, n, left) < 0 && errno != EINTR)
			break;
		for (i = 0, j = 0; i < count && j < n; i++) {
			if (conns[i].fd != pfd[j].fd)
				continue;
			if (pfd[j].revents)
				conn_step(&conns[i], pfd[j].revents);
			j++;
		}
	}

	for (i = 0; i < count; i++) {
		struct conn *c = &conns[i];
		double ms = c->end_ms - c->start_ms;

		switch (c->state) {
		case C_CONNECTING:
		case C_READING:
			c->state = C_TIMEOUT;
			timeouts++;
			close(c->fd);
			c->fd = -1;
			break;
		case C_SERVED:
			served++;
			if (ms > served_max)
				served_max = ms;
			tool_tally_add(&names, c->buf);
			break;
		case C_REFUSED:
			refused++;
			if (ms > refused_max)
				refused_max = ms;
			break;
		default:
			errors++;
		}
	}
	printf("{\"served\": %lu, \"refused\": %lu, \"timeout\": %lu, \"error\": %lu, "
	       "\"refused_max_ms\": %.1f, \"served_max_ms\": %.1f",
	       served, refused, timeouts, errors, refused_max, served_max);
	tool_tally_print(&names, stdout);
	printf("}\n");
	fflush(stdout);

	/* Hold the served connections, idle, noting any the other side ends. */
	deadline = now_ms() + hold_ms;
	while (!tool_stop) {
		int n = 0, left = (int)(deadline - now_ms());

		if (left <= 0)
			break;
		for (i = 0; i < count; i++) {
			if (conns[i].state != C_SERVED)
				continue;
			pfd[n].fd = conns[i].fd;
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			n++;
		}
		if (poll(pfd, n, left) <= 0)
			continue;
		for (i = 0, j = 0; i < count && j < n; i++) {
			if (conns[i].state != C_SERVED)
				continue;
			if (pfd[j].revents) {
				char b[256];

				if (recv(conns[i].fd, b, sizeof(b), 0) <= 0) {
					conns[i].state = C_LOST;
					lost++;
				}
			}
			j++;
		}
	}
	for (i = 0; i < count; i++) {
		if (conns[i].fd < 0)
			continue;
		if (rst)
			tool_close_rst(conns[i].fd);
		else
			close(conns[i].fd);
		if (conns[i].state == C_SERVED)
			closed++;
	}
	printf("{\"closed\": %lu, \"lost\": %lu}\n", closed, lost);
	free(conns);
	free(pfd);
	return 0;
}
