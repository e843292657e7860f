/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Socket addresses for the test tools: an IPv4 or IPv6 literal and a port
 * into a sockaddr_storage, written once for every client and sender.
 */
#ifndef SLUICE_TEST_SOCKADDR_H
#define SLUICE_TEST_SOCKADDR_H

#include <sys/socket.h>

/* addr (IPv4 or IPv6 literal) and port (host order) into *ss; 0 or -EINVAL. */
int sockaddr_parse(const char *addr, unsigned short port, struct sockaddr_storage *ss,
		   socklen_t *len);

#endif /* SLUICE_TEST_SOCKADDR_H */
