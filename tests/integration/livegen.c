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
#include "pktbuild.h"
#include "tool.h"

#define USAGE "livegen IFNAME DSTMAC SRC DST[,DST...] DPORT SECONDS [FLOWS] [CPU]"
#define FRAME_LEN 64
#define SPORT_BASE 10000
#define REPEAT (1u << 18) /* frames per test run: ~0.05 s, bounds the overshoot */

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
	skel->rodata->ip_sum = pkt_csum_add(0, ip, sizeof(ip));
	memset(udp, 0, sizeof(udp));
	memcpy(udp + 2, (const void *)&skel->rodata->dport, 2);
	udp[4] = udp_len >> 8;
	udp[5] = udp_len & 0xff;
	skel->rodata->udp_sum = (s >> 16) + (s & 0xffff) + IPPROTO_UDP + udp_len +
				pkt_csum_add(0, udp, sizeof(udp)) + pkt_csum_add(0, payload, plen);
}

int main(int argc, char **argv)
{
	static const char payload[] = "sluice-bench-frame....";
	unsigned char frame[FRAME_LEN];
	struct xdp_md ctx_in = { 0 };
	struct livegen_bpf *skel = NULL;
	struct tool_gen g;
	double end;
	long flows = 1024, cpu = 0;
	int err, prog, i;
	cpu_set_t set;

	tool_gen_args("livegen", USAGE, argc, argv, &g);
	if ((argc > 7 && tool_long(argv[7], 1, 50000, &flows)) ||
	    (argc > 8 && tool_long(argv[8], 0, CPU_SETSIZE - 1, &cpu)) || argc > 9) {
		fprintf(stderr, "usage: %s\n", USAGE);
		return 2;
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("livegen: sched_setaffinity");
		return 1;
	}
	skel = livegen_bpf__open();
	if (!skel) {
		fprintf(stderr, "livegen: cannot open the BPF object: %s\n", strerror(errno));
		return 1;
	}
	memcpy((void *)skel->rodata->dmac, g.dmac, ETH_ALEN);
	memcpy((void *)skel->rodata->smac, g.smac, ETH_ALEN);
	skel->rodata->saddr = g.src.s_addr;
	for (i = 0; i < g.ndst; i++)
		skel->rodata->daddrs[i] = g.dst[i].s_addr;
	skel->rodata->ndst = (uint32_t)g.ndst;
	skel->rodata->dport = htons(g.dport);
	skel->rodata->flows = (uint32_t)flows;
	skel->rodata->sport_base = SPORT_BASE;
	skel->rodata->tot_len = FRAME_LEN - ETH_HLEN;
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
	ctx_in.ingress_ifindex = (uint32_t)g.ifindex;
	prog = bpf_program__fd(skel->progs.livegen_xdp);
	end = tool_clock_us(CLOCK_MONOTONIC) / 1e6 + g.seconds;
	while (tool_clock_us(CLOCK_MONOTONIC) / 1e6 < end) {
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
