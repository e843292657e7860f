/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Address changes of this host, through rtnetlink (libnl-3): a socket in
 * the IPv4 and IPv6 address groups whose fd goes into the caller's event
 * loop. It says only that something changed; the caller then lists the
 * addresses again (loader_local_addrs_sync()), which also covers the events
 * a full socket buffer lost.
 */
#ifndef SLUICE_ADDRWATCH_H
#define SLUICE_ADDRWATCH_H

struct addrwatch;

/* Subscribe, non-blocking, in the caller's network namespace. 0 or -errno (message set). */
int addrwatch_open(struct addrwatch **out);

/* The fd to poll for EPOLLIN. */
int addrwatch_fd(const struct addrwatch *w);

/*
 * Read every pending message: 1 when an address was added or removed (or
 * messages were lost: the caller must look again), 0 when none.
 */
int addrwatch_drain(struct addrwatch *w);

/* NULL is fine. */
void addrwatch_close(struct addrwatch *w);

#endif /* SLUICE_ADDRWATCH_H */
