// SPDX-License-Identifier: GPL-2.0-only
/*
 * ppsgen: a bounded raw-frame UDP/IPv4 generator for the gateway benchmark
 * (tools/bench.sh). AF_PACKET with sendmmsg in batches and the qdisc
 * bypassed, one thread per CPU, each thread pinned; trafgen stalls when the
 * next hop runs XDP, this does not.
 *
 *   ppsgen IFNAME DSTMAC SRC DST[,DST...] DPORT SECONDS [THREADS] [FLOWS]
 *
 * Sends 64-byte frames (Ethernet + IPv4 + UDP + 22 bytes of payload) out of
 * IFNAME to DSTMAC, from SRC to the DSTs in turn, source ports cycling over
 * FLOWS values from 10000 (default 1024 flows), for SECONDS (at most 30), from
 * THREADS threads (default: one per CPU). Prints the number of frames the
 * kernel accepted. The frames' checksums are valid, so every path through the
 * gateway (XDP or the kernel's stack) treats them as real traffic.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pktbuild.h"
#include "tool.h"

#define USAGE "ppsgen IFNAME DSTMAC SRC DST[,DST...] DPORT SECONDS [THREADS] [FLOWS]"
#define FRAME_LEN 64
#define BATCH 64
#define MAX_THREADS 16
#define SPORT_BASE 10000

struct gen {
	struct tool_gen a; /* the command line the generators share */
	unsigned int flows;
};

struct worker {
	pthread_t tid;
	const struct gen *g;
	int cpu;
	unsigned long long sent;
};

/* Frame n: destination n % ndst, source port SPORT_BASE + n % flows. */
static void build_frame(const struct gen *g, unsigned int n, unsigned char *f)
{
	struct ether_header *eth = (struct ether_header *)f;
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	struct udphdr *udp = (struct udphdr *)(ip + 1);
	size_t l4len = FRAME_LEN - sizeof(*eth) - sizeof(*ip);
	uint32_t sum;

	memset(f, 0, FRAME_LEN);
	memcpy(eth->ether_dhost, g->a.dmac, 6);
	memcpy(eth->ether_shost, g->a.smac, 6);
	eth->ether_type = htons(ETHERTYPE_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(FRAME_LEN - sizeof(*eth));
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->saddr = g->a.src.s_addr;
	ip->daddr = g->a.dst[n % g->a.ndst].s_addr;
	ip->check = htons(pkt_csum(ip, sizeof(*ip)));
	udp->source = htons(SPORT_BASE + n % g->flows);
	udp->dest = htons(g->a.dport);
	udp->len = htons(l4len);
	memcpy(udp + 1, "sluice-bench-frame....", 22);
	/* Pseudo header: addresses, protocol, UDP length. */
	sum = pkt_csum_add(0, &ip->saddr, 8);
	sum += IPPROTO_UDP + (uint32_t)l4len;
	sum = pkt_csum_add(sum, udp, l4len);
	udp->check = htons(pkt_csum_fold(sum));
	if (!udp->check)
		udp->check = 0xffff;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	const struct gen *g = w->g;
	unsigned char *frames;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_ifindex = g->a.ifindex,
				   .sll_halen = 6 };
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	unsigned int i, period, round = 0;
	int fd, one = 1;
	cpu_set_t set;
	double end;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		perror("ppsgen: socket(AF_PACKET)");
		return NULL;
	}
	/* Straight to the driver: no qdisc, as a NIC-facing generator would. */
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	memcpy(sll.sll_addr, g->a.dmac, 6);
	/* Every distinct frame built once: the loop only points at them. */
	period = g->flows * (unsigned int)g->a.ndst;
	frames = malloc((size_t)period * FRAME_LEN);
	if (!frames) {
		close(fd);
		return NULL;
	}
	for (i = 0; i < period; i++)
		build_frame(g, i, frames + (size_t)i * FRAME_LEN);
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		iov[i].iov_len = FRAME_LEN;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &sll;
		msgs[i].msg_hdr.msg_namelen = sizeof(sll);
	}
	end = tool_clock_us(CLOCK_MONOTONIC) / 1e6 + g->a.seconds;
	while (tool_clock_us(CLOCK_MONOTONIC) / 1e6 < end) {
		int n;

		for (i = 0; i < BATCH; i++)
			iov[i].iov_base =
				frames +
				(size_t)((round * BATCH + i + (unsigned int)w->cpu * 7919u) %
					 period) *
					FRAME_LEN;
		round++;
		n = sendmmsg(fd, msgs, BATCH, 0);
		if (n > 0)
			w->sent += (unsigned long long)n;
		else if (n < 0 && errno != ENOBUFS && errno != EAGAIN)
			break;
	}
	free(frames);
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct worker w[MAX_THREADS];
	unsigned long long total = 0;
	struct gen g;
	long threads = sysconf(_SC_NPROCESSORS_ONLN), flows = 1024;
	int i;

	tool_gen_args("ppsgen", USAGE, argc, argv, &g.a);
	if ((argc > 7 && tool_long(argv[7], 1, MAX_THREADS, &threads)) ||
	    (argc > 8 && tool_long(argv[8], 1, 50000, &flows)) || argc > 9 ||
	    threads > MAX_THREADS) {
		fprintf(stderr, "ppsgen: THREADS 1..%d, FLOWS 1..50000\n", MAX_THREADS);
		return 2;
	}
	g.flows = (unsigned int)flows;
	for (i = 0; i < threads; i++) {
		w[i] = (struct worker){ .g = &g, .cpu = i % (int)sysconf(_SC_NPROCESSORS_ONLN) };
		if (pthread_create(&w[i].tid, NULL, run, &w[i])) {
			threads = i;
			break;
		}
	}
	for (i = 0; i < threads; i++) {
		pthread_join(w[i].tid, NULL);
		total += w[i].sent;
	}
	printf("%llu\n", total);
	return 0;
}
