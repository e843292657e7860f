// SPDX-License-Identifier: GPL-2.0-only
/*
 * peername: what an application sees of its peer when the host side
 * (bpf/host.bpf.c) balanced its socket (tests/integration/test_host.sh).
 *
 *   peername ADDR PORT [-u]
 *
 * TCP (default): connect() to ADDR PORT, getpeername(), send
 * "GET / HTTP/1.0" and read the answer; prints "PEER_ADDR PEER_PORT BODY"
 * (the lab's nginx answers "backend-I"), e.g. "198.19.0.1 80 backend-2".
 * -u: an unconnected UDP socket sends "ping" to ADDR PORT with sendto()
 * and prints "FROM_ADDR FROM_PORT REPLY" from recvfrom() (an echo server
 * answers). Exits 0 when it got an answer, 1 otherwise (the error on
 * stderr). Bounded: 3 s timeouts on every call.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "sockaddr.h"
#include "tool.h"

static void print_addr(const struct sockaddr_storage *ss)
{
	char text[INET6_ADDRSTRLEN] = "?";
	unsigned int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
		port = ntohs(a->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
		port = ntohs(a->sin6_port);
	}
	printf("%s %u ", text, port);
}

/* The last non-empty line of an HTTP answer: the lab's body. */
static const char *body_of(char *buf)
{
	char *end = buf + strlen(buf), *line;

	while (end > buf && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	line = strrchr(buf, '\n');
	return line ? line + 1 : buf;
}

int main(int argc, char **argv)
{
	struct timeval tv = { .tv_sec = 3 };
	struct sockaddr_storage dst, peer;
	socklen_t len, plen = sizeof(peer);
	char buf[4096];
	size_t got = 0;
	ssize_t n;
	long port;
	int udp, fd;

	udp = argc == 4 && !strcmp(argv[3], "-u");
	if ((argc != 3 && !udp) || tool_long(argv[2], 1, 65535, &port) ||
	    sockaddr_parse(argv[1], (unsigned short)port, &dst, &len)) {
		fprintf(stderr, "usage: peername ADDR PORT [-u]\n");
		return 2;
	}
	fd = socket(dst.ss_family, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))) {
		perror("peername: socket");
		return 1;
	}
	if (udp) {
		if (sendto(fd, "ping", 4, 0, (struct sockaddr *)&dst, len) != 4) {
			perror("peername: sendto");
			return 1;
		}
		n = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&peer, &plen);
		if (n < 0) {
			perror("peername: recvfrom");
			return 1;
		}
		buf[n] = '\0';
		print_addr(&peer);
		printf("%s\n", body_of(buf));
		return 0;
	}
	if (connect(fd, (struct sockaddr *)&dst, len)) {
		fprintf(stderr, "peername: connect: %s\n", strerror(errno));
		return 1;
	}
	if (getpeername(fd, (struct sockaddr *)&peer, &plen)) {
		perror("peername: getpeername");
		return 1;
	}
	if (write(fd, "GET / HTTP/1.0\r\n\r\n", 18) != 18) {
		perror("peername: write");
		return 1;
	}
	while (got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	if (!got) {
		fprintf(stderr, "peername: no answer\n");
		return 1;
	}
	print_addr(&peer);
	printf("%s\n", body_of(buf));
	return 0;
}
