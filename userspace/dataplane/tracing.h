/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sluice trace's side of the maps: what the data plane is told to trace
 * (sl_trace_cfg) and the decisions it sends back (the sl_trace ring
 * buffer; bpf/lib/trace.h is the other side). Opened apart from struct
 * sluice_maps: pins made before map ABI 7 lack these maps, and only a
 * tracer needs them.
 *
 * One tracer at a time: sl_trace_cfg names its owner (pid) and a deadline
 * (until, CLOCK_MONOTONIC) the tracer moves forward with trace_renew();
 * a tracer that dies without trace_stop() costs the data plane nothing
 * SLUICE_TRACE_LEASE_NS later, and the next one may take over then (or at
 * once when the owner's pid is gone).
 */
#ifndef SLUICE_TRACING_H
#define SLUICE_TRACING_H

#include <linux/types.h>
#include "sluice_abi.h"

struct trace;

/* A record, as the data plane sent it. Non-zero stops trace_poll() with that value. */
typedef int (*trace_fn)(void *ctx, const struct sluice_trace_rec *rec);

/*
 * Open the trace maps under root; fn gets each record trace_poll() reads.
 * -ENOENT (message says how to get them) when they are not pinned.
 */
int trace_open(const char *root, trace_fn fn, void *ctx, struct trace **out);

/*
 * Start tracing with filter (its flags, svc_id, reasons, addr, mask,
 * sample and snap; until and owner are set here): records left in the ring
 * by an earlier tracer are dropped first. -EBUSY when another live tracer
 * owns the maps.
 */
int trace_start(struct trace *t, const struct sluice_trace_cfg *filter);

/* Move the deadline forward (call at least every second while tracing). */
int trace_renew(struct trace *t);

/*
 * Wait up to timeout_ms for records and hand each to fn: the number read,
 * fn's non-zero value, or -errno (-EINTR when a signal came).
 */
int trace_poll(struct trace *t, int timeout_ms);

/* Stop tracing (the data plane's cost back to one lookup), if we own it. */
int trace_stop(struct trace *t);

/* trace_stop(), then free everything; NULL is fine. */
void trace_close(struct trace *t);

/*
 * The mask of a prefix of len bits in the 16-byte address space (IPv4
 * v4-mapped: 96 + its length), and addr masked with it.
 */
void trace_prefix_mask(__u32 bits, union sluice_addr *mask);

#endif /* SLUICE_TRACING_H */
