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
#define MAX_SRCS 16
#define MAX_NAMES 64
#define NAME_LEN 32
#define BUF_LEN 1024

enum conn_state { C_CONNECTING, C_READING, C_SERVED, C_REFUSED, C_TIMEOUT, C_ERROR, C_LOST };

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

static void usage(void)
{
	fprintf(stderr, "usage: hold ADDR PORT COUNT [-s SRC[,SRC...]] [-H HOLD_MS] "
			"[-t TIMEOUT_MS] [-R]\n");
	exit(2);
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
	int soerr = 0;
	socklen_t el = sizeof(soerr);
	ssize_t n;
	char *p;

	if (c->state == C_CONNECTING) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &el))
			soerr = errno;
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
	p = strstr(c->buf, "\r\n\r\n");
	p = p ? strstr(p, "backend-") : NULL;
	if (p && strchr(p, '\n')) {
		c->state = C_SERVED;
		c->end_ms = t;
		memmove(c->buf, p, strcspn(p, "\r\n"));
		c->buf[strcspn(p, "\r\n")] = '\0';
	} else if (c->got >= sizeof(c->buf) - 1) {
		conn_fail(c, EPROTO, t);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_storage dst, srcs[MAX_SRCS];
	socklen_t dlen, slens[MAX_SRCS];
	struct {
		char name[NAME_LEN];
		unsigned long count;
	} names[MAX_NAMES];
	int nsrc = 0, nnames = 0, rst = 0, i, j;
	long count, port, hold_ms = 0, timeout_ms = 3000;
	unsigned long served = 0, refused = 0, timeouts = 0, errors = 0, closed = 0, lost = 0;
	double refused_max = 0, served_max = 0, deadline;
	struct conn *conns;
	struct pollfd *pfd;
	struct rlimit rl;

	if (argc < 4)
		usage();
	if (tool_long(argv[2], 1, 65535, &port))
		usage();
	if (tool_long(argv[3], 1, MAX_CONNS, &count))
		usage();
	if (sockaddr_parse(argv[1], (unsigned short)port, &dst, &dlen)) {
		fprintf(stderr, "hold: bad address '%s'\n", argv[1]);
		return 2;
	}
	for (i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "-R")) {
			rst = 1;
		} else if (!strcmp(argv[i], "-H") && i + 1 < argc) {
			if (tool_long(argv[++i], 0, 120000, &hold_ms))
				usage();
		} else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
			if (tool_long(argv[++i], 1, 60000, &timeout_ms))
				usage();
		} else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
			if (tool_sources("hold", argv[++i], srcs, slens, NULL, MAX_SRCS, &nsrc))
				return 2;
		} else {
			usage();
		}
	}
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

		c->start_ms = now_ms();
		c->state = C_CONNECTING;
		c->fd = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0) {
			c->state = C_ERROR;
			continue;
		}
		if (nsrc && bind(c->fd, (struct sockaddr *)&srcs[i % nsrc], slens[i % nsrc])) {
			conn_fail(c, errno, now_ms());
			continue;
		}
		if (connect(c->fd, (struct sockaddr *)&dst, dlen) && errno != EINPROGRESS)
			conn_fail(c, errno, now_ms());
	}

	/* Until every connection is served, refused, failed or timed out. */
	deadline = now_ms() + timeout_ms;
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
			for (j = 0; j < nnames && strcmp(names[j].name, c->buf); j++)
				;
			if (j == nnames && nnames < MAX_NAMES) {
				snprintf(names[j].name, NAME_LEN, "%s", c->buf);
				names[j].count = 0;
				nnames++;
			}
			if (j < nnames)
				names[j].count++;
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
	for (j = 0; j < nnames; j++)
		printf(", \"%s\": %lu", names[j].name, names[j].count);
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
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		if (conns[i].fd < 0)
			continue;
		if (rst)
			setsockopt(conns[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(conns[i].fd);
		if (conns[i].state == C_SERVED)
			closed++;
	}
	printf("{\"closed\": %lu, \"lost\": %lu}\n", closed, lost);
	free(conns);
	free(pfd);
	return 0;
}
