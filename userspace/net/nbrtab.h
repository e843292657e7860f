/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The neighbours this host resolved, as rtnetlink reports them, so that a
 * neighbour event that changes nothing a FIB lookup answers (REACHABLE to
 * STALE and back, the same link-layer address) is told from one that does
 * (a new address, the entry failed or gone). addrwatch uses it: every
 * event of the second kind makes the data plane's cached next hops stale
 * (bpf/lib/nhcache.h), and on a segment of many neighbours the first kind
 * is most of the traffic.
 */
#ifndef SLUICE_NBRTAB_H
#define SLUICE_NBRTAB_H

#include <stddef.h>

struct nbrtab;

/* A table of at most cap neighbours (past it, every event counts as a change). NULL: out of memory. */
struct nbrtab *nbrtab_new(size_t cap);

/* Forget every neighbour (events may have been lost): each one's next event counts. */
void nbrtab_clear(struct nbrtab *t);

/* NULL is fine. */
void nbrtab_free(struct nbrtab *t);

/*
 * One neighbour event: gone (RTM_DELNEIGH) or not; usable when its state
 * has a link-layer address the kernel forwards to (NUD_VALID); dst the
 * neighbour's address (4 or 16 bytes), lladdr its link-layer address.
 * 1 when a next hop cached from it may be wrong now: its address changed,
 * it failed or went, or it was not known (its first event since the table
 * began: what it had before is not known). 0 for a state change alone, or
 * for a neighbour never known usable that is still not.
 */
int nbrtab_event(struct nbrtab *t, int gone, int ifindex, int family, const void *dst,
		 size_t dst_len, int usable, const void *lladdr, size_t ll_len);

#endif /* SLUICE_NBRTAB_H */
