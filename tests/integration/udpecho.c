// SPDX-License-Identifier: GPL-2.0-only
/*
 * udpecho: a UDP server for tests/integration/test_host.sh that answers
 * every datagram with NAME, from the address it was sent to (a backend's
 * side of the host-side UDP check: the client must see the reply as from
 * the service address).
 *
 *   udpecho PORT NAME
 *
 * One dual-stack socket on [::]:PORT (IPv4 peers arrive v4-mapped). Runs
 * until killed, at most 300 s (the test's bound).
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tool.h"

int main(int argc, char **argv)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 };
	struct sockaddr_storage peer;
	socklen_t plen;
	char buf[512];
	int fd, off = 0;
	long port;

	if (argc != 3 || tool_long(argv[1], 1, 65535, &port)) {
		fprintf(stderr, "usage: udpecho PORT NAME\n");
		return 2;
	}
	a.sin6_port = htons((unsigned short)port);
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("udpecho");
		return 1;
	}
	alarm(300);
	for (;;) {
		plen = sizeof(peer);
		if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen) < 0)
			continue;
		sendto(fd, argv[2], strlen(argv[2]), 0, (struct sockaddr *)&peer, plen);
	}
}
