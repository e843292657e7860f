// SPDX-License-Identifier: GPL-2.0-only
/*
 * synsend: open TCP connections and abandon them at once: send COUNT bare
 * SYNs (no socket, so no handshake is ever completed, no FIN or RST ever
 * follows) from SRC, one source port each, to DST:PORT, through a raw socket.
 * The bulkhead test (tests/integration/test_resilience.sh) uses it to leave
 * thousands of connections that only the reconcile sweep can release.
 *
 *   synsend SRC DST PORT COUNT [-p SPORT_BASE] [-r PPS] [-R]
 *
 * -R (IPv4): a spoofed SYN flood (tests/integration/test_synflood.sh): each
 * SYN from a random address of SRC's /16 and a random port (IP_HDRINCL, so
 * no socket is bound to them), as from clients that never answer.
 *
 * Source ports run from SPORT_BASE (default 10000) up, wrapping below 65536;
 * PPS (default 20000) paces the sending; both addresses IPv4 or both IPv6.
 * The TCP checksum is computed here (pseudo-header included), the IP header
 * by the kernel. Prints the number of SYNs the kernel accepted. Bounded: at
 * most 100000 SYNs and 30 s.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pktbuild.h"
#include "tool.h"

#define MAX_SYNS 100000
#define MAX_SECONDS 30

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The TCP checksum over the pseudo-header (addresses of alen bytes each) and seg. */
static uint16_t tcp_csum(const void *src, const void *dst, size_t alen, const void *seg, size_t len)
{
	uint32_t sum = 0;

	sum = pkt_csum_add(sum, src, alen);
	sum = pkt_csum_add(sum, dst, alen);
	sum += IPPROTO_TCP + (uint32_t)len;
	sum = pkt_csum_add(sum, seg, len);
	return htons(pkt_csum_fold(sum));
}

static void usage(void)
{
	fprintf(stderr, "usage: synsend SRC DST PORT COUNT [-p SPORT_BASE] [-r PPS] [-R]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 }, d6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET }, d4 = { .sin_family = AF_INET };
	struct {
		struct iphdr ip; /* -R only: sent from ip below */
		struct tcphdr th;
		uint8_t mss[4]; /* MSS option: a SYN as a real stack would send it */
	} pkt;
	struct {
		struct tcphdr th;
		uint8_t mss[4];
	} seg;
	long port, count, base = 10000, pps = 20000, i;
	long long t0, deadline;
	unsigned long sent = 0;
	uint32_t rnd = 0, net16 = 0;
	int fd, v6, bad, spoof = 0;
	const struct tool_opt opts[] = {
		{ .name = "-p", .num = &base, .min = 1024, .max = 65535 },
		{ .name = "-r", .num = &pps, .min = 1, .max = 1000000 },
		{ .name = "-R", .flag = &spoof },
		{ 0 },
	};

	if (argc < 5 || tool_long(argv[3], 1, 65535, &port) ||
	    tool_long(argv[4], 1, MAX_SYNS, &count) || tool_options(argc, argv, 5, opts) != argc)
		usage();
	v6 = strchr(argv[1], ':') != NULL;
	if (v6)
		bad = inet_pton(AF_INET6, argv[1], &s6.sin6_addr) != 1 ||
		      inet_pton(AF_INET6, argv[2], &d6.sin6_addr) != 1;
	else
		bad = inet_pton(AF_INET, argv[1], &s4.sin_addr) != 1 ||
		      inet_pton(AF_INET, argv[2], &d4.sin_addr) != 1;
	if (bad) {
		fprintf(stderr, "synsend: SRC and DST must be two IPv4 or two IPv6 addresses\n");
		return 2;
	}
	if (spoof && v6) {
		fprintf(stderr, "synsend: -R is for IPv4 only\n");
		return 2;
	}
	/*
	 * Raw TCP: the kernel adds the IP header from the bound source and the
	 * route; with -R, IPPROTO_RAW: the header is ours (IP_HDRINCL).
	 */
	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW, spoof ? IPPROTO_RAW : IPPROTO_TCP);
	if (fd < 0) {
		perror("synsend: raw socket (needs root)");
		return 1;
	}
	if (!spoof && (v6 ? bind(fd, (struct sockaddr *)&s6, sizeof(s6))
			  : bind(fd, (struct sockaddr *)&s4, sizeof(s4)))) {
		perror("synsend: bind to the source address");
		close(fd);
		return 1;
	}
	/* Never read: keep the copies of incoming TCP the raw socket gets small. */
	shutdown(fd, SHUT_RD);

	net16 = ntohl(s4.sin_addr.s_addr) & 0xffff0000u;
	rnd = (uint32_t)now_ns() | 1;
	t0 = now_ns();
	deadline = t0 + MAX_SECONDS * 1000000000LL;
	for (i = 0; i < count && now_ns() < deadline; i++) {
		long long due = t0 + i * 1000000000LL / pps;
		ssize_t n;

		while (now_ns() < due)
			;
		memset(&seg, 0, sizeof(seg));
		seg.th.source = htons((uint16_t)(1024 + (base - 1024 + i) % (65536 - 1024)));
		seg.th.dest = htons((uint16_t)port);
		seg.th.seq = htonl((uint32_t)(0x5c000000u + i * 7919u));
		seg.th.doff = sizeof(seg) / 4;
		seg.th.syn = 1;
		seg.th.window = htons(64240);
		seg.mss[0] = TCPOPT_MAXSEG;
		seg.mss[1] = TCPOLEN_MAXSEG;
		seg.mss[2] = 1460 >> 8;
		seg.mss[3] = 1460 & 0xff;
		if (spoof) {
			/* xorshift32: a host of SRC's /16 (not .0 or .255) and a port. */
			rnd ^= rnd << 13;
			rnd ^= rnd >> 17;
			rnd ^= rnd << 5;
			memset(&pkt.ip, 0, sizeof(pkt.ip));
			pkt.ip.version = 4;
			pkt.ip.ihl = 5;
			pkt.ip.ttl = 64;
			pkt.ip.protocol = IPPROTO_TCP;
			pkt.ip.tot_len = htons(sizeof(pkt));
			pkt.ip.saddr =
				htonl(net16 | ((rnd % 254u + 1) << 8) | ((rnd >> 8) % 254u + 1));
			pkt.ip.daddr = d4.sin_addr.s_addr;
			seg.th.source = htons((uint16_t)(1024 + (rnd >> 16) % (65536 - 1024)));
		}
		if (v6)
			seg.th.check =
				tcp_csum(&s6.sin6_addr, &d6.sin6_addr, 16, &seg, sizeof(seg));
		else
			seg.th.check =
				tcp_csum(spoof ? (void *)&pkt.ip.saddr : (void *)&s4.sin_addr,
					 &d4.sin_addr, 4, &seg, sizeof(seg));
		if (spoof) {
			/* The kernel fills the IP checksum (and the id, 0 here). */
			memcpy(&pkt.th, &seg, sizeof(seg));
			n = sendto(fd, &pkt, sizeof(pkt), 0, (struct sockaddr *)&d4, sizeof(d4));
			n = n == (ssize_t)sizeof(pkt) ? (ssize_t)sizeof(seg) : -1;
		} else {
			n = v6 ? sendto(fd, &seg, sizeof(seg), 0, (struct sockaddr *)&d6,
					sizeof(d6))
			       : sendto(fd, &seg, sizeof(seg), 0, (struct sockaddr *)&d4,
					sizeof(d4));
		}
		if (n == (ssize_t)sizeof(seg))
			sent++;
		else if (errno == ENOBUFS)
			i--; /* the queue is full: the same SYN again */
	}
	printf("%lu\n", sent);
	close(fd);
	return 0;
}
