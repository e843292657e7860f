// SPDX-License-Identifier: GPL-2.0-only
/*
 * livegen: a load generator that can saturate the gateway (tools/bench.sh).
 * BPF_PROG_TEST_RUN in live-frames mode (BPF_F_TEST_XDP_LIVE_FRAMES) runs
 * livegen_xdp (tools/bench/bpf/livegen.bpf.c) over one 64-byte frame
 * repeatedly; each run rewrites the headers for frame n and returns XDP_TX,
 * which the kernel turns into a redirect out of IFNAME: the frames go
 * straight into the veth peer's ring, with no socket, no skb and no qdisc
 * on the way. Pinned to one CPU; what the ring cannot take is dropped
 * there, so the gateway on the other side runs flat out.
 *
 *   livegen IFNAME DSTMAC SRC DST[,DST...] DPORT SECONDS [FLOWS] [CPU]
 *
 * Frame n goes from SRC, source port 10000 + n % FLOWS (default 1024), to
 * DST n % (number of DSTs), for SECONDS (at most 30), on CPU (default 0).
 * Prints the number of frames generated (handed to the interface).
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>

#include "livegen.skel.h"

#define FRAME_LEN 64
#define MAX_DSTS 16
#define MAX_SECONDS 30
#define SPORT_BASE 10000
#define REPEAT (1u << 18) /* frames per test run: ~0.05 s, bounds the overshoot */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t sum16(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)(b[len - 1] << 8);
	return sum;
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
		memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	close(fd);
	return err;
}

/*
 * The constant parts of the two checksums, as the program adds the
 * per-frame daddr and source port to them: IPv4 header without daddr and
 * check; pseudo header, UDP header and payload without daddr, sport and check.
 */
static void sums(struct livegen_bpf *skel, const char *payload, size_t plen)
{
	uint8_t ip[20] = { 0x45, 0 };
	uint32_t s = ntohl(skel->rodata->saddr);
	uint16_t udp_len = (uint16_t)(8 + plen);
	uint8_t udp[8];

	ip[2] = skel->rodata->tot_len >> 8;
	ip[3] = skel->rodata->tot_len & 0xff;
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, (const void *)&skel->rodata->saddr, 4);
	skel->rodata->ip_sum = sum16(ip, sizeof(ip));
	memset(udp, 0, sizeof(udp));
	memcpy(udp + 2, (const void *)&skel->rodata->dport, 2);
	udp[4] = udp_len >> 8;
	udp[5] = udp_len & 0xff;
	skel->rodata->udp_sum = (s >> 16) + (s & 0xffff) + IPPROTO_UDP + udp_len +
				sum16(udp, sizeof(udp)) + sum16(payload, plen);
}

int main(int argc, char **argv)
{
	static const char payload[] = "sluice-bench-frame....";
	unsigned char frame[FRAME_LEN], dmac[ETH_ALEN], smac[ETH_ALEN];
	struct xdp_md ctx_in = { 0 };
	struct livegen_bpf *skel = NULL;
	struct in_addr a;
	char *tok, *save = NULL;
	double seconds, end;
	int ifindex, cpu = 0, ndst = 0, err, prog;
	cpu_set_t set;

	if (argc < 7) {
		fprintf(stderr, "usage: livegen IFNAME DSTMAC SRC DST[,DST...] DPORT SECONDS "
				"[FLOWS] [CPU]\n");
		return 2;
	}
	if (argc > 8)
		cpu = atoi(argv[8]);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("livegen: sched_setaffinity");
		return 1;
	}
	ifindex = (int)if_nametoindex(argv[1]);
	if (!ifindex || own_mac(argv[1], smac) ||
	    sscanf(argv[2], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &dmac[0], &dmac[1], &dmac[2], &dmac[3],
		   &dmac[4], &dmac[5]) != 6 ||
	    inet_pton(AF_INET, argv[3], &a) != 1) {
		fprintf(stderr, "livegen: bad interface, MAC or source address\n");
		return 2;
	}
	skel = livegen_bpf__open();
	if (!skel) {
		fprintf(stderr, "livegen: cannot open the BPF object: %s\n", strerror(errno));
		return 1;
	}
	memcpy((void *)skel->rodata->dmac, dmac, ETH_ALEN);
	memcpy((void *)skel->rodata->smac, smac, ETH_ALEN);
	skel->rodata->saddr = a.s_addr;
	for (tok = strtok_r(argv[4], ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (ndst == MAX_DSTS || inet_pton(AF_INET, tok, &a) != 1) {
			fprintf(stderr, "livegen: bad destination '%s' (at most %d)\n", tok,
				MAX_DSTS);
			err = 2;
			goto out;
		}
		skel->rodata->daddrs[ndst++] = a.s_addr;
	}
	skel->rodata->ndst = (uint32_t)ndst;
	skel->rodata->dport = htons((uint16_t)atoi(argv[5]));
	seconds = atof(argv[6]);
	skel->rodata->flows = argc > 7 ? (uint32_t)atoi(argv[7]) : 1024;
	skel->rodata->sport_base = SPORT_BASE;
	skel->rodata->tot_len = FRAME_LEN - ETH_HLEN;
	if (!ndst || !skel->rodata->dport || seconds <= 0 || seconds > MAX_SECONDS ||
	    skel->rodata->flows < 1 || skel->rodata->flows > 50000) {
		fprintf(stderr, "livegen: DPORT 1..65535, SECONDS (0, %d], FLOWS 1..50000\n",
			MAX_SECONDS);
		err = 2;
		goto out;
	}
	sums(skel, payload, FRAME_LEN - ETH_HLEN - 20 - 8);
	err = livegen_bpf__load(skel);
	if (err) {
		fprintf(stderr, "livegen: cannot load the BPF object: %s\n", strerror(-err));
		err = 1;
		goto out;
	}
	/* The initial frame: the program writes every header byte anyway. */
	memset(frame, 0, sizeof(frame));
	memcpy(frame + ETH_HLEN + 20 + 8, payload, sizeof(payload) - 1);
	ctx_in.data_end = sizeof(frame);
	ctx_in.ingress_ifindex = (uint32_t)ifindex;
	prog = bpf_program__fd(skel->progs.livegen_xdp);
	end = now_s() + seconds;
	while (now_s() < end) {
		struct bpf_test_run_opts opts;

		/* By hand rather than LIBBPF_OPTS (which cppcheck cannot expand). */
		memset(&opts, 0, sizeof(opts));
		opts.sz = sizeof(opts);
		opts.data_in = frame;
		opts.data_size_in = sizeof(frame);
		opts.ctx_in = &ctx_in;
		opts.ctx_size_in = sizeof(ctx_in);
		opts.repeat = REPEAT;
		opts.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
		opts.batch_size = 64;
		if (bpf_prog_test_run_opts(prog, &opts)) {
			fprintf(stderr, "livegen: live-frames test run failed: %s\n",
				strerror(errno));
			err = 1;
			goto out;
		}
	}
	printf("%llu\n", (unsigned long long)skel->bss->sent);
	err = 0;
out:
	livegen_bpf__destroy(skel);
	return err;
}
