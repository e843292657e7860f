// SPDX-License-Identifier: GPL-2.0-only
/*
 * bulk: a bulk TCP transfer and its rate as the receiver sees it, for the
 * egress pacing test (tests/integration/test_pacing.sh).
 *
 *   bulk sink PORT [-n COUNT]
 *   bulk send ADDR PORT SECONDS
 *
 * sink listens on PORT (IPv6 and IPv4), takes COUNT connections (default
 * 1, at most 16), reads them all as they come, each to its end, and prints
 * one JSON line per connection: {"bytes": N, "seconds": S, "rate": R}, S
 * from the first byte to the end (the rate the network delivered, in
 * bytes/s), then {"total_bytes": N, "seconds": S, "total_rate": R} over
 * them all (first byte of any to the last of any), and exits. send connects to ADDR PORT, writes as fast as it can for SECONDS
 * (at most 30), shuts its side down, waits (up to 30 s more) for the sink
 * to close, and prints {"bytes": N}. Exits 0, 1 on a socket error, 2 on a
 * usage error.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

#define USAGE "bulk sink PORT [-n COUNT] | bulk send ADDR PORT SECONDS"
#define CHUNK 65536

static char buf[CHUNK];

static int usage(void)
{
	fprintf(stderr, "usage: " USAGE "\n");
	return 2;
}

#define SINK_MAX 16

static int sink(int argc, char **argv)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
	long long first[SINK_MAX], last[SINK_MAX], bytes[SINK_MAX], t0 = 0, t1 = 0, all = 0;
	struct pollfd p[SINK_MAX + 1];
	long port, count = 1, accepted = 0, open_ = 0, i;
	int lfd, one = 1, zero = 0;
	ssize_t n;
	double s;

	if (argc < 3 || tool_long(argv[2], 1, 65535, &port))
		return usage();
	if (argc == 5 && !strcmp(argv[3], "-n")) {
		if (tool_long(argv[4], 1, SINK_MAX, &count))
			return usage();
	} else if (argc != 3) {
		return usage();
	}
	sa.sin6_port = htons((unsigned short)port);
	lfd = socket(AF_INET6, SOCK_STREAM, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, SINK_MAX)) {
		perror("bulk sink");
		return 1;
	}
	p[0].fd = lfd;
	p[0].events = POLLIN;
	/* Every connection read as it comes: concurrent senders share the path. */
	while (accepted < count || open_) {
		if (poll(p, (nfds_t)(accepted + 1), -1) < 0)
			continue;
		if (accepted < count && (p[0].revents & POLLIN)) {
			i = ++accepted;
			p[i].fd = accept(lfd, NULL, NULL);
			if (p[i].fd < 0) {
				perror("bulk sink: accept");
				return 1;
			}
			p[i].events = POLLIN;
			first[i - 1] = last[i - 1] = bytes[i - 1] = 0;
			open_++;
			if (accepted == count)
				p[0].fd = -1;
		}
		for (i = 1; i <= accepted; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(p[i].fd, buf, sizeof(buf));
			if (n > 0) {
				last[i - 1] = tool_clock_us(CLOCK_MONOTONIC);
				if (!bytes[i - 1])
					first[i - 1] = last[i - 1];
				bytes[i - 1] += n;
				continue;
			}
			close(p[i].fd);
			p[i].fd = -1;
			open_--;
		}
	}
	close(lfd);
	for (i = 0; i < count; i++) {
		s = (double)(last[i] - first[i]) / 1e6;
		printf("{\"bytes\": %lld, \"seconds\": %.3f, \"rate\": %.0f}\n", bytes[i], s,
		       s > 0 ? (double)bytes[i] / s : 0.0);
		if (bytes[i] && (!t0 || first[i] < t0))
			t0 = first[i];
		if (last[i] > t1)
			t1 = last[i];
		all += bytes[i];
	}
	/* All of them: first byte of any to the last byte of any. */
	s = (double)(t1 - t0) / 1e6;
	printf("{\"total_bytes\": %lld, \"seconds\": %.3f, \"total_rate\": %.0f}\n", all, s,
	       s > 0 ? (double)all / s : 0.0);
	return 0;
}

static int send_bulk(int argc, char **argv)
{
	struct sockaddr_storage dst;
	long long end, bytes = 0;
	struct pollfd p;
	socklen_t dlen;
	long secs;
	ssize_t n;
	int fd;

	if (argc != 5 || tool_dest("bulk", argv[2], argv[3], &dst, &dlen) ||
	    tool_long(argv[4], 1, 30, &secs))
		return usage();
	fd = socket(dst.ss_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, dlen)) {
		perror("bulk send: connect");
		return 1;
	}
	end = tool_clock_us(CLOCK_MONOTONIC) + secs * 1000000LL;
	p.fd = fd;
	p.events = POLLOUT;
	/* Non-blocking writes polled with a timeout: a paced socket never blocks past the end. */
	while (tool_clock_us(CLOCK_MONOTONIC) < end) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = send(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			perror("bulk send: send");
			return 1;
		}
		if (n > 0)
			bytes += n;
	}
	shutdown(fd, SHUT_WR);
	/* The queued bytes drain at the paced rate; the sink closes at their end. */
	p.events = POLLIN;
	end = tool_clock_us(CLOCK_MONOTONIC) + 30 * 1000000LL;
	while (tool_clock_us(CLOCK_MONOTONIC) < end && poll(&p, 1, 100) >= 0) {
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (read(fd, buf, sizeof(buf)) <= 0)
			break;
	}
	close(fd);
	printf("{\"bytes\": %lld}\n", bytes);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "sink"))
		return sink(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "send"))
		return send_bulk(argc, argv);
	return usage();
}
