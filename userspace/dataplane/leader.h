/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Leaders: the backend that takes a service's write flows, the write side
 * of sl_leaders. A service follows a leader when it has a write port (CQRS:
 * reads on its port go over Maglev, writes on the write port to the leader)
 * or route leader (every flow to the leader); see svc.h.
 *
 * Setting a leader writes the whole sl_leaders entry in one update (the data
 * plane reads the old leader or the new one), then republishes the
 * service's Maglev table: with a write port, the read table leaves the
 * leader out while another backend is active (the rule lives in
 * publish_service(), publish.h). changed_ns is CLOCK_REALTIME of
 * the moment the leader became this backend: setting the same backend again
 * (a new source, an election repeating its value) keeps it.
 *
 * Deleting the leader's backend clears the leader (backend 0, source kept,
 * changed_ns now): write flows are refused (no_leader) until a new one is
 * set, never sent to a replica.
 */
#ifndef SLUICE_LEADER_H
#define SLUICE_LEADER_H

#include <stddef.h>
#include <linux/types.h>
#include "keys.h"
#include "maps.h"
#include "sluice_abi.h"
#include "svcinfo.h"

/* Room for leader_backend_format()'s "ADDR:PORT" / "[V6]:PORT". */
#define LEADER_BACKEND_STRLEN (ADDR_STRLEN + 8)

/* Name of an enum sluice_leader_source ("none", "operator", "election", "role"). */
const char *leader_source_name(__u8 source);

/* "operator", "election" or "role" to the enum; -EINVAL (message set) otherwise. */
int leader_parse_source(const char *text, __u8 *source);

/*
 * A backend as an etcd election value names it: "ADDR", "A.B.C.D:PORT",
 * "[V6]:PORT" or "[V6]". -EINVAL with a message otherwise.
 */
int leader_parse_backend(const char *text, struct be_ref *ref);

/* "10.0.0.5:5432" or "[fd00::5]:5432"; buf of LEADER_BACKEND_STRLEN. */
void leader_backend_format(const union sluice_addr *addr, __u16 port, char *buf, size_t len);

/* Read sl_leaders[svc_id]. */
int leader_get(const struct sluice_maps *m, __u32 svc_id, struct sluice_leader *l);

/*
 * Make backend_id (a backend of service svc_id, any state but unused) the
 * service's leader, or clear it (SLUICE_NO_BACKEND), recording source; then
 * republish the service's table when it has one. Does not check that the
 * service follows a leader (leader_set_service() does). *old (may be NULL)
 * receives the entry before.
 */
int leader_set(const struct sluice_maps *m, __u32 svc_id, __u32 backend_id, __u8 source,
	       struct sluice_leader *old);

/* Zero sl_leaders[svc_id] (a new or deleted service). */
int leader_reset(const struct sluice_maps *m, __u32 svc_id);

/*
 * backend_id of service svc_id is going away: when it is the leader, clear
 * the leader (source kept). *cleared (may be NULL) is 1 when it did and
 * *old receives the entry before (to put back should the deletion fail).
 */
int leader_forget_backend(const struct sluice_maps *m, __u32 svc_id, __u32 backend_id, int *cleared,
			  struct sluice_leader *old);

/* A leader-following service and its leader, as `leader show` prints it. */
struct leader_info {
	struct svc_info svc;	     /* the service, its write port, its route */
	struct sluice_leader leader; /* sl_leaders entry as stored */
	__u32 backend_id;	     /* leader's backend id; SLUICE_NO_BACKEND when none */
	struct sluice_backend be;    /* its record (when backend_id is one) */
	__u16 be_port;		     /* port it receives packets on */
};

/*
 * The leader of every leader-following service (key NULL), or of the
 * service of key (-EINVAL with a message when it does not follow a leader),
 * by service id, in a malloc'ed array (free() it).
 */
int leader_list(const struct sluice_maps *m, const struct sluice_svc_key *key,
		struct leader_info **list, size_t *count);

/*
 * `sluice leader set`: the service of key (refused unless it follows a
 * leader), its backend ref names (ref NULL: no leader; ipip: the port is
 * not compared, an ipip backend is known by its address), source. *before
 * and *after (may be NULL) receive the leader before and after.
 */
int leader_set_service(const struct sluice_maps *m, const struct sluice_svc_key *key,
		       const struct be_ref *ref, __u8 source, struct leader_info *before,
		       struct leader_info *after);

#endif /* SLUICE_LEADER_H */
