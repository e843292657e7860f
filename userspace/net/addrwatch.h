/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Address and forwarding changes of this host, through rtnetlink
 * (libnl-3): a socket in the IPv4 and IPv6 address, route, neighbour and
 * link groups whose fd goes into the caller's event loop. It says only
 * what kind of thing changed; the caller then lists the addresses again
 * (loader_local_addrs_sync()) or makes the data plane's cached next hops
 * stale (loader_nh_gen_bump()), which also covers the events a full
 * socket buffer lost.
 */
#ifndef SLUICE_ADDRWATCH_H
#define SLUICE_ADDRWATCH_H

struct addrwatch;

/* Subscribe, non-blocking, in the caller's network namespace. 0 or -errno (message set). */
int addrwatch_open(struct addrwatch **out);

/* The fd to poll for EPOLLIN. */
int addrwatch_fd(const struct addrwatch *w);

/* What addrwatch_drain() saw change. */
#define ADDRWATCH_ADDR 0x1 /* an address added or removed */
/*
 * Anything a FIB lookup answers from: a route, link or address event, or a
 * neighbour's new link-layer address, failure or removal (a neighbour's
 * state change alone is not: nbrtab.h).
 */
#define ADDRWATCH_NH 0x2

/*
 * Read every pending message: the ADDRWATCH_* bits of what changed (all
 * of them when messages were lost: the caller must look again), 0 when
 * nothing did.
 */
int addrwatch_drain(struct addrwatch *w);

/* NULL is fine. */
void addrwatch_close(struct addrwatch *w);

#endif /* SLUICE_ADDRWATCH_H */
