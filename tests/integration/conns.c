// SPDX-License-Identifier: GPL-2.0-only
/*
 * conns: open N TCP connections to an HTTP service, each from its own source
 * port (and source address, round-robin), and record which backend answered
 * (the lab's nginx answers "backend-I"). The steering tests use it to see
 * how new connections spread, and which ones move when backends change:
 * with fixed source ports the 5-tuples, hence the choices, are reproducible.
 *
 *   conns ADDR PORT COUNT [-s SRC[,SRC...]] [-p PORT_BASE] [-e] [-t MS]
 *       -s  source addresses, used round-robin (default: the kernel's choice)
 *       -p  connection i uses source port PORT_BASE + i (default 20000);
 *           0 lets the kernel choose
 *       -e  print one line per connection: "SRC SPORT BACKEND" ("-" = failed)
 *       -t  per-connection timeout in milliseconds (default 2000)
 *   Prints a JSON object: {"backend-1": n, ..., "failed": n, "total": n}
 *   (after the per-connection lines with -e). Exits 0 when every connection
 *   got an answer, 1 otherwise.
 *
 * Each connection sends "GET / HTTP/1.1" with "Connection: close", reads
 * to the end, and closes with an RST (SO_LINGER 0), so no TIME_WAIT is left
 * on either side and a later run may reuse the same 5-tuples. The whole run
 * is bounded: at most 100000 connections and 120 s.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sockaddr.h"
#include "tool.h"

#define MAX_CONNS 100000
#define MAX_SRCS 16
#define MAX_NAMES 64
#define MAX_SECONDS 120
#define NAME_LEN 32

struct tally {
	char name[NAME_LEN];
	unsigned long count;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Wait for fd to be ready for events until deadline (ms); 0, or -ETIMEDOUT. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left = deadline - now_ms();

	if (left <= 0)
		return -ETIMEDOUT;
	if (poll(&p, 1, (int)left) <= 0)
		return -ETIMEDOUT;
	return 0;
}

/*
 * One connection: from src (may be NULL) port sport to dst; the backend's
 * name goes to name. 0, or -errno.
 */
static int one_conn(const struct sockaddr_storage *dst, socklen_t dlen,
		    const struct sockaddr_storage *src, socklen_t slen, char *name, int timeout_ms)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: sluice-lab\r\nConnection: close\r\n\r\n";
	long long deadline = now_ms() + timeout_ms;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	char buf[2048];
	size_t got = 0;
	int fd, one = 1, err = 0, soerr = 0;
	socklen_t el = sizeof(soerr);
	char *p;

	fd = socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (src && bind(fd, (const struct sockaddr *)src, slen)) {
		err = -errno;
		goto out;
	}
	if (connect(fd, (const struct sockaddr *)dst, dlen) && errno != EINPROGRESS) {
		err = -errno;
		goto out;
	}
	err = wait_fd(fd, POLLOUT, deadline);
	if (err)
		goto out;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) || soerr) {
		err = soerr ? -soerr : -errno;
		goto out;
	}
	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1)) {
		err = -EIO;
		goto out;
	}
	for (;;) {
		ssize_t n;

		err = wait_fd(fd, POLLIN, deadline);
		if (err)
			goto out;
		n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (n == 0 || got + n >= sizeof(buf) - 1) {
			got += n;
			break;
		}
		got += n;
	}
	buf[got] = '\0';
	p = strstr(buf, "\r\n\r\n");
	p = p ? strstr(p, "backend-") : NULL;
	if (!p) {
		err = -EPROTO;
		goto out;
	}
	snprintf(name, NAME_LEN, "%.*s", (int)strcspn(p, "\r\n"), p);
out:
	/* RST on close: no TIME_WAIT anywhere, the 5-tuple can be used again. */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	return err;
}

static void usage(void)
{
	fprintf(stderr, "usage: conns ADDR PORT COUNT [-s SRC[,SRC...]] [-p PORT_BASE] [-e] "
			"[-t MS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage dst, srcs[MAX_SRCS];
	socklen_t dlen, slens[MAX_SRCS];
	struct tally names[MAX_NAMES];
	char srcnames[MAX_SRCS][INET6_ADDRSTRLEN];
	int nsrc = 0, nnames = 0, each = 0, timeout_ms = 2000, i, j;
	long port_base = 20000, count, port;
	unsigned long failed = 0, done = 0;
	long long deadline;
	char *end;

	memset(names, 0, sizeof(names));
	if (argc < 4)
		usage();
	if (tool_long(argv[2], 1, 65535, &port))
		usage();
	if (tool_long(argv[3], 1, MAX_CONNS, &count))
		usage();
	if (sockaddr_parse(argv[1], (unsigned short)port, &dst, &dlen)) {
		fprintf(stderr, "conns: bad address '%s'\n", argv[1]);
		return 2;
	}
	for (i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "-e")) {
			each = 1;
		} else if (!strcmp(argv[i], "-p") && i + 1 < argc) {
			if (tool_long(argv[++i], 0, 65536 - count, &port_base))
				usage();
		} else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
			timeout_ms = (int)strtol(argv[++i], &end, 10);
			if (*end || timeout_ms < 1 || timeout_ms > 60000)
				usage();
		} else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
			if (tool_sources("conns", argv[++i], srcs, slens, srcnames, MAX_SRCS,
					 &nsrc))
				return 2;
		} else {
			usage();
		}
	}
	if (!nsrc) {
		memset(&srcs[0], 0, sizeof(srcs[0]));
		srcs[0].ss_family = dst.ss_family;
		slens[0] = dlen;
		snprintf(srcnames[0], sizeof(srcnames[0]), "*");
		nsrc = 1;
	}

	deadline = now_ms() + MAX_SECONDS * 1000LL;
	for (i = 0; i < count && now_ms() < deadline; i++) {
		struct sockaddr_storage src = srcs[i % nsrc];
		unsigned short sport = port_base ? (unsigned short)(port_base + i) : 0;
		char name[NAME_LEN] = "-";
		int err;

		if (src.ss_family == AF_INET)
			((struct sockaddr_in *)&src)->sin_port = htons(sport);
		else
			((struct sockaddr_in6 *)&src)->sin6_port = htons(sport);
		err = one_conn(&dst, dlen, &src, slens[i % nsrc], name, timeout_ms);
		done++;
		if (each)
			printf("%s %u %s\n", srcnames[i % nsrc], sport, err ? "-" : name);
		if (err) {
			failed++;
			continue;
		}
		for (j = 0; j < nnames && strcmp(names[j].name, name); j++)
			;
		if (j == nnames && nnames < MAX_NAMES) {
			snprintf(names[j].name, NAME_LEN, "%s", name);
			names[j].count = 0;
			nnames++;
		}
		if (j < nnames)
			names[j].count++;
	}
	printf("{");
	for (j = 0; j < nnames; j++)
		printf("\"%s\": %lu, ", names[j].name, names[j].count);
	printf("\"failed\": %lu, \"total\": %lu}\n", failed + (unsigned long)count - done,
	       (unsigned long)count);
	return failed || done < (unsigned long)count ? 1 : 0;
}
