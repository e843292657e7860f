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
 *   Prints a JSON object: {"failed": n, "total": n, "backend-1": n, ...}
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
#define USAGE                                                          \
	"conns ADDR PORT COUNT [-s SRC[,SRC...]] [-p PORT_BASE] [-e] " \
	"[-t MS]"
#define MAX_SECONDS 120

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
	char buf[2048];
	size_t got = 0;
	int fd, err;
	char *p;

	err = tool_connect(dst, dlen, src, slen, 1, &fd);
	if (fd < 0)
		return err;
	if (err)
		goto out;
	err = wait_fd(fd, POLLOUT, deadline);
	if (err)
		goto out;
	err = -tool_connect_error(fd);
	if (err)
		goto out;
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
	p = tool_http_backend(buf, 0);
	if (!p) {
		err = -EPROTO;
		goto out;
	}
	snprintf(name, TOOL_NAME_LEN, "%s", p);
out:
	/* RST on close: no TIME_WAIT anywhere, the 5-tuple can be used again. */
	tool_close_rst(fd);
	return err;
}

int main(int argc, char **argv)
{
	static struct tool_client cl = { .timeout_ms = 2000 };
	struct tool_tally names = { 0 };
	int each = 0, i;
	long port_base = 20000;
	unsigned long failed = 0, done = 0;
	long long deadline;
	const struct tool_opt opts[] = {
		{ .name = "-e", .flag = &each },
		{ .name = "-p", .num = &port_base, .min = 0, .max = 65535 },
		{ 0 },
	};

	tool_client_args("conns", USAGE, argc, argv, MAX_CONNS, opts, &cl);
	if (port_base > 65536 - cl.count) {
		fprintf(stderr, "conns: PORT_BASE + COUNT must not pass 65536\n");
		return 2;
	}
	if (!cl.nsrc) {
		memset(&cl.srcs[0], 0, sizeof(cl.srcs[0]));
		cl.srcs[0].ss_family = cl.dst.ss_family;
		cl.slens[0] = cl.dlen;
		snprintf(cl.src_names[0], sizeof(cl.src_names[0]), "*");
		cl.nsrc = 1;
	}

	deadline = now_ms() + MAX_SECONDS * 1000LL;
	for (i = 0; i < cl.count && now_ms() < deadline; i++) {
		socklen_t slen;
		struct sockaddr_storage src = *tool_client_src(&cl, i, &slen);
		unsigned short sport = port_base ? (unsigned short)(port_base + i) : 0;
		char name[TOOL_NAME_LEN] = "-";
		int err;

		if (src.ss_family == AF_INET)
			((struct sockaddr_in *)&src)->sin_port = htons(sport);
		else
			((struct sockaddr_in6 *)&src)->sin6_port = htons(sport);
		err = one_conn(&cl.dst, cl.dlen, &src, slen, name, (int)cl.timeout_ms);
		done++;
		if (each)
			printf("%s %u %s\n", cl.src_names[i % cl.nsrc], sport, err ? "-" : name);
		if (err)
			failed++;
		else
			tool_tally_add(&names, name);
	}
	printf("{\"failed\": %lu, \"total\": %lu", failed + (unsigned long)cl.count - done,
	       (unsigned long)cl.count);
	tool_tally_print(&names, stdout);
	printf("}\n");
	return failed || done < (unsigned long)cl.count ? 1 : 0;
}
