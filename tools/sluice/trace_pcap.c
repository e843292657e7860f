// SPDX-License-Identifier: GPL-2.0-only
/*
 * sluice trace --pcap: the traced frames' first bytes written with libpcap
 * (Ethernet link type), one record flushed at a time so that a trace
 * stopped any way leaves a file tcpdump -r reads. Apart from trace.c
 * because <pcap/pcap.h> and <linux/bpf.h> both define struct bpf_insn.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "trace_pcap.h"

struct trace_pcap {
	pcap_t *pcap;
	pcap_dumper_t *dump;
	unsigned int snap;
};

int trace_pcap_open(const char *path, unsigned int snap, struct trace_pcap **out)
{
	struct trace_pcap *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->snap = snap;
	p->pcap = pcap_open_dead(DLT_EN10MB, (int)snap);
	if (!p->pcap) {
		free(p);
		err_set("cannot set up pcap output");
		return -ENOMEM;
	}
	p->dump = pcap_dump_open(p->pcap, path);
	if (!p->dump) {
		err_set("cannot write %s: %s", path, pcap_geterr(p->pcap));
		trace_pcap_close(p);
		return -EIO;
	}
	*out = p;
	return 0;
}

void trace_pcap_write(struct trace_pcap *p, __u64 real_ns, const __u8 *data, unsigned int caplen,
		      unsigned int len)
{
	struct pcap_pkthdr h;

	if (!p || !caplen)
		return;
	memset(&h, 0, sizeof(h));
	h.ts.tv_sec = (time_t)(real_ns / 1000000000ull);
	h.ts.tv_usec = (suseconds_t)(real_ns % 1000000000ull / 1000);
	h.caplen = caplen > p->snap ? p->snap : caplen;
	h.len = len;
	pcap_dump((u_char *)p->dump, &h, data);
	pcap_dump_flush(p->dump);
}

void trace_pcap_close(struct trace_pcap *p)
{
	if (!p)
		return;
	if (p->dump)
		pcap_dump_close(p->dump);
	pcap_close(p->pcap);
	free(p);
}
