// SPDX-License-Identifier: GPL-2.0-only
/*
 * udpblast: a bounded UDP load generator and counter for the integration
 * tests and the demo.
 *
 *   udpblast send ADDR PORT SECONDS [THREADS] [PPS_PER_THREAD]
 *       send 64-byte datagrams for SECONDS from THREADS threads (default 2,
 *       one per CPU), as fast as possible or paced at PPS_PER_THREAD; prints
 *       the number sent.
 *   udpblast recv ADDR PORT SECONDS
 *       count datagrams arriving on ADDR:PORT until SECONDS pass with the
 *       socket bound, or 1 s of silence after the first; prints the count.
 *   UDPBLAST_SRC=ADDR in the environment binds the senders to that source
 *   address (to play several clients from one namespace).
 *
 * Every run stops by itself: both modes are bounded in time (at most 60 s).
 * Addresses may be IPv4 or IPv6 literals.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sockaddr.h"

#define BATCH 32
#define MAX_THREADS 16
#define MAX_SECONDS 60

struct target {
	struct sockaddr_storage sa;
	socklen_t salen;
	double seconds;
	uint64_t pps; /* per thread; 0 = flat out */
	int cpu;
	uint64_t sent;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* addr and a port string (1..65535) into *sa. */
static int parse_target(const char *addr, const char *port, struct sockaddr_storage *sa,
			socklen_t *salen)
{
	char *end;
	long p = strtol(port, &end, 10);

	if (*end || p < 1 || p > 65535)
		return -EINVAL;
	return sockaddr_parse(addr, (unsigned short)p, sa, salen);
}

static void *sender(void *arg)
{
	struct target *t = arg;
	char payload[64 - 42] = "sluice-udpblast";
	struct mmsghdr msgs[BATCH];
	struct iovec iov = { payload, sizeof(payload) };
	double start, end, next;
	cpu_set_t set;
	int fd, i;

	CPU_ZERO(&set);
	CPU_SET(t->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);

	fd = socket(t->sa.ss_family, SOCK_DGRAM, 0);
	if (fd >= 0 && getenv("UDPBLAST_SRC")) {
		struct sockaddr_storage src;
		socklen_t srclen;

		/* Port 0: the kernel picks one per sender thread. */
		if (sockaddr_parse(getenv("UDPBLAST_SRC"), 0, &src, &srclen) ||
		    bind(fd, (struct sockaddr *)&src, srclen) < 0) {
			perror("udpblast: bad UDPBLAST_SRC");
			close(fd);
			return NULL;
		}
	}
	if (fd < 0 || connect(fd, (struct sockaddr *)&t->sa, t->salen) < 0) {
		perror("udpblast: socket/connect");
		return NULL;
	}
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	start = now_s();
	end = start + t->seconds;
	next = start;
	while (now_s() < end) {
		int n = BATCH;

		if (t->pps) {
			/* Pace in batches: send a batch when its time has come. */
			while (now_s() < next)
				;
			n = t->pps < BATCH ? 1 : BATCH;
			next += (double)n / t->pps;
		}
		n = sendmmsg(fd, msgs, n, 0);
		if (n > 0)
			t->sent += n;
		else if (errno != ENOBUFS && errno != ECONNREFUSED && errno != EAGAIN)
			break;
	}
	close(fd);
	return NULL;
}

static int do_send(int argc, char **argv)
{
	struct target t[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	int threads = argc > 3 ? atoi(argv[3]) : 2;
	uint64_t pps = argc > 4 ? strtoull(argv[4], NULL, 10) : 0;
	double seconds = atof(argv[2]);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t total = 0;
	int i;

	if (threads < 1 || threads > MAX_THREADS || seconds <= 0 || seconds > MAX_SECONDS) {
		fprintf(stderr, "udpblast: threads 1..%d, seconds (0, %d]\n", MAX_THREADS,
			MAX_SECONDS);
		return 2;
	}
	memset(t, 0, sizeof(t));
	if (parse_target(argv[0], argv[1], &t[0].sa, &t[0].salen)) {
		fprintf(stderr, "udpblast: bad address or port: %s %s\n", argv[0], argv[1]);
		return 2;
	}
	for (i = 0; i < threads; i++) {
		t[i] = t[0];
		t[i].seconds = seconds;
		t[i].pps = pps;
		t[i].cpu = i % (ncpu > 0 ? ncpu : 1);
		pthread_create(&tid[i], NULL, sender, &t[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		total += t[i].sent;
	}
	printf("%llu\n", (unsigned long long)total);
	return 0;
}

static int do_recv(int argc, char **argv)
{
	struct sockaddr_storage sa;
	socklen_t salen;
	double seconds = atof(argv[2]), end, last = 0;
	struct timeval tv = { 0, 100000 };
	uint64_t count = 0;
	int fd, rcvbuf = 8 << 20;
	char buf[2048];

	(void)argc;
	if (seconds <= 0 || seconds > MAX_SECONDS || parse_target(argv[0], argv[1], &sa, &salen)) {
		fprintf(stderr, "udpblast: bad address, port or seconds\n");
		return 2;
	}
	fd = socket(sa.ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, salen) < 0) {
		perror("udpblast: socket/bind");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* Tell a waiting script that the socket is bound. */
	fprintf(stderr, "ready\n");
	end = now_s() + seconds;
	while (now_s() < end) {
		if (recv(fd, buf, sizeof(buf), 0) > 0) {
			count++;
			last = now_s();
		} else if (last && now_s() - last > 1.0) {
			break;
		}
	}
	close(fd);
	printf("%llu\n", (unsigned long long)count);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "send"))
		return do_send(argc - 2, argv + 2);
	if (argc == 5 && !strcmp(argv[1], "recv"))
		return do_recv(argc - 2, argv + 2);
	fprintf(stderr, "usage: udpblast send ADDR PORT SECONDS [THREADS] [PPS_PER_THREAD]\n"
			"       udpblast recv ADDR PORT SECONDS\n");
	return 2;
}
