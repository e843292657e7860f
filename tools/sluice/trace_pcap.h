/* SPDX-License-Identifier: GPL-2.0-only */
/* sluice trace --pcap: frames to a pcap file (trace_pcap.c). */
#ifndef SLUICE_TRACE_PCAP_H
#define SLUICE_TRACE_PCAP_H

#include <linux/types.h>

struct trace_pcap;

/* Create path for frames of at most snap bytes. 0 or -errno (message set). */
int trace_pcap_open(const char *path, unsigned int snap, struct trace_pcap **out);

/* One frame: caplen bytes of data, len on the wire, at real_ns (CLOCK_REALTIME). */
void trace_pcap_write(struct trace_pcap *p, __u64 real_ns, const __u8 *data, unsigned int caplen,
		      unsigned int len);

/* Flush and close; NULL is fine. */
void trace_pcap_close(struct trace_pcap *p);

#endif /* SLUICE_TRACE_PCAP_H */
