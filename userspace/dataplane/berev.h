/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The stateless return path of nat (issue 14): sl_be_rev, backend address,
 * port and protocol -> the service address and port its replies are
 * translated back to. With BGP ECMP a backend's reply may reach a gateway
 * that never saw the connection's SYN; it has no sl_nat_rev entry, and
 * translates the reply from this table, which every gateway builds alike
 * from the configuration.
 *
 * A backend address and port is in the table only when it serves exactly
 * one service address and port (of one protocol): shared by two services,
 * or by a service's read and write ports, its replies could belong to
 * either, and only the gateway that saw the SYN knows which (sl_nat_rev).
 * Those are the conflicts, left out and reported (config check, service
 * add, backend add warn).
 *
 * Written by publish.c after every change of a service's backends, write
 * port or existence (the same places as the Maglev tables, deferred alike);
 * the table is reconciled entry by entry, so the data plane never sees it
 * empty in between.
 */
#ifndef SLUICE_BEREV_H
#define SLUICE_BEREV_H

#include <stddef.h>
#include <linux/types.h>
#include "maps.h"
#include "sluice_abi.h"

/* One candidate entry: a backend as one service address and port sees it. */
struct berev_entry {
	struct sluice_be_rev_key key;
	struct sluice_nat_rev rev;
};

/* A backend address and port that two service addresses or ports share. */
struct berev_conflict {
	struct sluice_be_rev_key key;
	struct sluice_nat_rev a, b; /* two of the translations it would need */
};

/*
 * Append the candidate of backend backend_id (addr, port in network order:
 * 0, the service port) of nat service key (id svc_id), unless the backend
 * is of the other family. Grows *v (*n entries, *cap allocated).
 */
int berev_add(struct berev_entry **v, size_t *n, size_t *cap, const struct sluice_svc_key *key,
	      __u32 svc_id, __u32 backend_id, const union sluice_addr *addr, __be16 port);

/*
 * Pure. Sort v[0..n) by key and keep each key once: v[0..*kept) are the
 * entries of the table (a key whose candidates name one service address
 * and port; of several backend ids the lowest), and conflicts (room for n /
 * 2; may be NULL) receives the *nconflicts keys left out.
 */
void berev_resolve(struct berev_entry *v, size_t n, size_t *kept, struct berev_conflict *conflicts,
		   size_t *nconflicts);

/*
 * The table of the services in the maps and snapshot all (NULL: read
 * sl_backends): *v (malloc'ed, free() it) holds *kept entries; conflicts as
 * berev_resolve(), into *conflicts (malloc'ed, free() it; may be NULL).
 */
int berev_build(const struct sluice_maps *m, const struct sluice_backend *all,
		struct berev_entry **v, size_t *kept, struct berev_conflict **conflicts,
		size_t *nconflicts);

/*
 * Make sl_be_rev hold exactly v[0..n) (sorted, as berev_resolve() leaves
 * them): stale keys deleted, new and changed ones written, the rest left
 * alone. The backends' SLUICE_BE_F_REV_STATELESS follows (sluice_abi.h):
 * off before an entry changes or goes, on once its entry is written.
 */
int berev_sync(const struct sluice_maps *m, const struct berev_entry *v, size_t n);

/* Text of a conflict for a warning: "10.1.0.2:8080/tcp serves 10.0.0.1:80 and 10.0.0.1:81". */
void berev_conflict_text(const struct berev_conflict *c, char *buf, size_t len);

#endif /* SLUICE_BEREV_H */
