/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sl_ports_v2, the bitmaps in front of the data plane's service and
 * return-path lookups (struct sluice_ports in sluice_abi.h): kept by the
 * write modules that add the keys and records the bits stand for (svc.c:
 * service keys, backend.c: backend records), through an mmap of the map
 * with atomic word updates, so writers and the data plane never see a torn
 * word.
 *
 * The rule the data plane relies on: a port in use is never clear while
 * the bitmaps are on. A bit is set before the key or record that needs it
 * is written, and set again after (a concurrent forget that cleared it in
 * between is repaired); a service port is cleared only when no key has it
 * any more, and set back if a key appeared while it was being cleared.
 * Backend ports are never cleared one by one (finding a port's last user
 * means reading all 65536 records): a stale bit costs only the lookup it
 * would have saved (they go when the pins are recreated).
 */
#ifndef SLUICE_PORTS_H
#define SLUICE_PORTS_H

#include <linux/types.h>
#include "maps.h"

/*
 * Turn the bitmaps on if they are off: set the bit of every service key's
 * port and every backend record's port, then valid. Nothing when on.
 */
int ports_ready(const struct sluice_maps *m);

/* A service key with destination port (host order) is about to be, or was, written. */
int ports_note_svc(const struct sluice_maps *m, __u16 port);

/* A backend record with port (host order; 0: none, ipip) is about to be, or was, written. */
int ports_note_ret(const struct sluice_maps *m, __u16 port);

/* A service key with port was deleted: clear its bit unless another key has it. */
int ports_forget_svc(const struct sluice_maps *m, __u16 port);

/*
 * The flow bitmap (flow first, sluice_abi.h): key of a service in mode is
 * about to be, or was, written (nothing unless nat or ipip); key was
 * deleted or is no longer steering: its bit cleared unless another
 * steering key hashes to it. A clear bit only costs that key's packets
 * the flow-first shortcut, a stale one a flow table miss.
 */
int ports_note_flow(const struct sluice_maps *m, const struct sluice_svc_key *key, __u8 mode);
int ports_forget_flow(const struct sluice_maps *m, const struct sluice_svc_key *key);

#endif /* SLUICE_PORTS_H */
