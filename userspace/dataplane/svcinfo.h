/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Services as sl_services stores them: the read side every write module
 * starts from (svc.c, the writer, sits on top; see svc.h).
 *
 * Keys. A service is named by its key (ADDR PORT PROTO, its read port). A
 * CQRS service (write-port W) has a second key (ADDR W PROTO) with the same
 * id and value but SLUICE_SVC_F_LEADER in its flags: new flows there go to
 * the service's leader (leader.h). A service with route leader has the flag
 * on its one key. The two are exclusive (route leader already sends every
 * flow to the leader), so in sl_services the key of an id without the flag
 * is the service's, and a second key with the flag its write port. A write
 * port's key is no service of its own: svc_get() and every command naming it
 * refuse it and name the service it belongs to; svc_list() leaves it out.
 */
#ifndef SLUICE_SVCINFO_H
#define SLUICE_SVCINFO_H

#include <stddef.h>
#include <linux/types.h>
#include "keys.h"
#include "maps.h"
#include "sluice_abi.h"

/* A service as commands see it: its key and value, and its write port. */
struct svc_info {
	struct sluice_svc_key key; /* the service's key (its read port) */
	struct sluice_svc svc;	   /* its value (flags: SLUICE_SVC_F_LEADER = route leader) */
	__u16 write_port;	   /* host order; 0 = no write port */
};

/* 1 when the service's write flows go to a leader (a write port, or route leader). */
static inline int svc_follows_leader(const struct svc_info *i)
{
	return i->write_port || (i->svc.flags & SLUICE_SVC_F_LEADER);
}

/*
 * Read one service (-ENOENT when absent, or when key is another service's
 * write port: the message names that service).
 */
int svc_get(const struct sluice_maps *m, const struct sluice_svc_key *key,
	    struct sluice_svc *value);

/* The same with the service's write port. */
int svc_info_get(const struct sluice_maps *m, const struct sluice_svc_key *key,
		 struct svc_info *info);

/*
 * Every service sorted by id, write ports' keys left out (see above), in a
 * malloc'ed array (free() it; NULL when there are none).
 */
int svc_list(const struct sluice_maps *m, struct maps_svc_entry **entries, size_t *count);

/* The same with each service's write port. */
int svc_info_list(const struct sluice_maps *m, struct svc_info **list, size_t *count);

/* Write port of service id svc_id (host order), 0 when it has none (or no such id). */
int svc_write_port(const struct sluice_maps *m, __u32 svc_id, __u16 *port);

/* -ENOENT with "no service KEY" as the message. */
int svc_missing_error(const struct sluice_svc_key *key);

/*
 * Refuse key (-EEXIST, message prefixed with what) when it is taken: by a
 * service, or as a service's write port. 0 when it is free.
 */
int svc_key_check_free(const struct sluice_maps *m, const struct sluice_svc_key *key,
		       const char *what);

#endif /* SLUICE_SVCINFO_H */
