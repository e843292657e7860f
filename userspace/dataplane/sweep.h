/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The reconcile sweep: the userspace half of the bulkhead and of the
 * breakers' SYN-timeout signal. One pass over the flow table (sl_flows_v3)
 * and the pending handshakes:
 *
 *  - delete the flows past their expiry, with their sl_nat_rev twin:
 *      UDP idle longer than the gateway's udp-timeout;
 *      TCP not ESTABLISHED and older than its service's syn-timeout (a SYN
 *        the backend never answered: also a failure of that backend,
 *        returned to the caller for the breakers);
 *      TCP idle longer than the global bulkhead's tcp-idle;
 *      flows of a service that no longer exists (or whose id now belongs to
 *        another service: the flow's destination is not the service's);
 *  - delete the pending handshakes (sl_syn_v2: a SYN makes no flow) older
 *    than their service's syn-timeout: one not answered (its SYN-ACK not
 *    seen: nat; ipip never sees one) is a failure of its backend, as above;
 *    an answered one the client never completed is not;
 *  - delete sl_nat_rev entries whose forward flow and pending handshake are
 *    gone (LRU evictions, the handshakes deleted above);
 *  - count the COUNTED / COUNTED_GLOBAL flags of the flows that stay, per
 *    service and globally, and correct sl_conns by atomic adds of
 *    (true - seen) through an mmap of the map (see sweep.c for the race).
 *
 * The clock is CLOCK_MONOTONIC, the data plane's bpf_ktime_get_ns().
 * Library code: returns 0 or -errno with a message (err.h); prints nothing.
 */
#ifndef SLUICE_SWEEP_H
#define SLUICE_SWEEP_H

#include <stddef.h>
#include <linux/types.h>
#include "maps.h"

/* SYN timeouts of one backend in one sweep. */
struct sweep_failure {
	__u32 backend_id;
	__u32 svc_id;
	__u32 count;
};

/* A sl_conns slot the sweep corrected. */
struct sweep_fix {
	__u32 slot;    /* service id, or SLUICE_CONNS_GLOBAL */
	__s64 seen;    /* the count before the correction */
	__s64 counted; /* flows holding a slot, as found in the flow table */
};

/* A flow is active while packets came within this (a drained gateway's moved flows stop). */
#define SWEEP_ACTIVE_NS 2000000000ull

struct sweep_report {
	__u64 flows; /* flows walked */
	__u64 active; /* flows kept, not closed, seen in the last SWEEP_ACTIVE_NS (drain waits for 0) */
	__u64 expired_udp;		/* UDP flows idle past udp-timeout */
	__u64 expired_syn;		/* TCP handshakes unanswered past syn-timeout */
	__u64 expired_idle;		/* TCP flows idle past tcp-idle */
	__u64 orphans;			/* flows, handshakes of deleted services */
	__u64 nat_rev;			/* sl_nat_rev entries deleted (twins and orphans) */
	__u64 released;			/* slots the deleted flows held (service + global) */
	__u64 duration_ns;		/* time the sweep took */
	struct sweep_failure *failures; /* per backend, by backend id (malloc'ed) */
	size_t nfailures;
	struct sweep_fix *fixes; /* slots whose count was wrong (malloc'ed) */
	size_t nfixes;
};

/*
 * Run one sweep at now_ns (0: the current CLOCK_MONOTONIC time). *r is
 * filled (release it with sweep_report_free()) also when 0 is not returned
 * part-way: what was done is reported.
 */
int sweep_run(const struct sluice_maps *m, __u64 now_ns, struct sweep_report *r);

/* Free the report's arrays; NULL-safe. */
void sweep_report_free(struct sweep_report *r);

#endif /* SLUICE_SWEEP_H */
