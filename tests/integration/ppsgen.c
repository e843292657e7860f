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

#define FRAME_LEN 64
#define BATCH 64
#define MAX_THREADS 16
#define MAX_DSTS 16
#define MAX_SECONDS 30
#define SPORT_BASE 10000

struct gen {
	int ifindex;
	unsigned char dmac[6], smac[6];
	struct in_addr src, dst[MAX_DSTS];
	int ndst;
	uint16_t dport;
	unsigned int flows;
	double seconds;
};

struct worker {
	pthread_t tid;
	const struct gen *g;
	int cpu;
	unsigned long long sent;
};

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)(b[len - 1] << 8);
	return sum;
}

/* Frame n: destination n % ndst, source port SPORT_BASE + n % flows. */
static void build_frame(const struct gen *g, unsigned int n, unsigned char *f)
{
	struct ether_header *eth = (struct ether_header *)f;
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	struct udphdr *udp = (struct udphdr *)(ip + 1);
	size_t l4len = FRAME_LEN - sizeof(*eth) - sizeof(*ip);
	uint32_t sum;

	memset(f, 0, FRAME_LEN);
	memcpy(eth->ether_dhost, g->dmac, 6);
	memcpy(eth->ether_shost, g->smac, 6);
	eth->ether_type = htons(ETHERTYPE_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(FRAME_LEN - sizeof(*eth));
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->saddr = g->src.s_addr;
	ip->daddr = g->dst[n % g->ndst].s_addr;
	ip->check = htons(csum_fold(csum_add(0, ip, sizeof(*ip))));
	udp->source = htons(SPORT_BASE + n % g->flows);
	udp->dest = htons(g->dport);
	udp->len = htons(l4len);
	memcpy(udp + 1, "sluice-bench-frame....", 22);
	/* Pseudo header: addresses, protocol, UDP length. */
	sum = csum_add(0, &ip->saddr, 8);
	sum += IPPROTO_UDP + (uint32_t)l4len;
	sum = csum_add(sum, udp, l4len);
	udp->check = htons(csum_fold(sum));
	if (!udp->check)
		udp->check = 0xffff;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	const struct gen *g = w->g;
	unsigned char *frames;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_ifindex = g->ifindex,
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
	memcpy(sll.sll_addr, g->dmac, 6);
	/* Every distinct frame built once: the loop only points at them. */
	period = g->flows * (unsigned int)g->ndst;
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
	end = now_s() + g->seconds;
	while (now_s() < end) {
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

static int parse_mac(const char *s, unsigned char *mac)
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3],
		      &mac[4], &mac[5]) == 6
		       ? 0
		       : -EINVAL;
}

static int own_mac(const char *ifname, unsigned char *mac)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), err = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return err;
}

int main(int argc, char **argv)
{
	struct worker w[MAX_THREADS];
	unsigned long long total = 0;
	struct gen g = { .flows = 1024 };
	char *list, *tok, *save = NULL;
	int threads = (int)sysconf(_SC_NPROCESSORS_ONLN), i;

	if (argc < 7) {
		fprintf(stderr, "usage: ppsgen IFNAME DSTMAC SRC DST[,DST...] DPORT SECONDS "
				"[THREADS] [FLOWS]\n");
		return 2;
	}
	g.ifindex = (int)if_nametoindex(argv[1]);
	if (!g.ifindex || own_mac(argv[1], g.smac) || parse_mac(argv[2], g.dmac) ||
	    inet_pton(AF_INET, argv[3], &g.src) != 1) {
		fprintf(stderr, "ppsgen: bad interface, MAC or source address\n");
		return 2;
	}
	list = argv[4];
	for (tok = strtok_r(list, ",", &save); tok && g.ndst < MAX_DSTS;
	     tok = strtok_r(NULL, ",", &save)) {
		if (inet_pton(AF_INET, tok, &g.dst[g.ndst++]) != 1) {
			fprintf(stderr, "ppsgen: bad destination '%s'\n", tok);
			return 2;
		}
	}
	g.dport = (uint16_t)atoi(argv[5]);
	g.seconds = atof(argv[6]);
	if (argc > 7)
		threads = atoi(argv[7]);
	if (argc > 8)
		g.flows = (unsigned int)atoi(argv[8]);
	if (!g.ndst || !g.dport || g.seconds <= 0 || g.seconds > MAX_SECONDS || threads < 1 ||
	    threads > MAX_THREADS || g.flows < 1 || g.flows > 50000) {
		fprintf(stderr,
			"ppsgen: DPORT 1..65535, SECONDS (0, %d], THREADS 1..%d, "
			"FLOWS 1..50000\n",
			MAX_SECONDS, MAX_THREADS);
		return 2;
	}
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
