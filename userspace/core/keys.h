/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Keys and names of the steering maps as commands write and show them:
 * service keys (ADDR PORT PROTO), client prefixes (the keys of sl_shards and
 * sl_critical) and backend references (how a command names a backend of a
 * service). Pure: the write modules (svc, backend, shard, leader, res) and
 * the readers share them from here, below all of them.
 *
 * A prefix is "ADDR/LEN" or a host address "ADDR" (full length). In the
 * trie's 16-byte space an IPv4 prefix a.b.c.d/len is v4-mapped with
 * prefixlen 32 + 96 + len, an IPv6 prefix /len has 32 + len; the first 32
 * bits are the service id, always matched in full. Host bits must be zero.
 */
#ifndef SLUICE_KEYS_H
#define SLUICE_KEYS_H

#include <stddef.h>
#include <linux/types.h>
#include "sluice_abi.h"

/* Room for svc_key_format()'s "ADDR port N proto". */
#define SVC_KEY_STRLEN 80

/* Room for a formatted prefix, "ADDR/LEN". */
#define SHARD_PREFIX_STRLEN 64

/* How a command names a backend of a service: address, and port if given. */
struct be_ref {
	union sluice_addr addr;
	int has_port;
	__u16 port; /* host order */
};

/* Build a key (port in host order); padding zeroed, port stored big-endian. */
int svc_key_make(const union sluice_addr *addr, __u16 port, __u8 proto, struct sluice_svc_key *key);

/* "192.0.2.1 port 80 tcp" for messages; buf of SVC_KEY_STRLEN. */
void svc_key_format(const struct sluice_svc_key *key, char *buf, size_t len);

/* "192.0.2.1 80 tcp", the service as commands take it; buf of SVC_KEY_STRLEN. */
void svc_key_format_args(const struct sluice_svc_key *key, char *buf, size_t len);

/*
 * Parse a client prefix into key (svc_id set as given). -EINVAL (message
 * set) for a bad address, a length out of range or host bits set.
 */
int shard_prefix_parse(const char *text, __u32 svc_id, struct sluice_shard_key *key);

/* "10.1.0.0/16", "2001:db8::/32"; buf of SHARD_PREFIX_STRLEN. */
void shard_prefix_format(const struct sluice_shard_key *key, char *buf, size_t len);

/* 1 when a slot of sl_backends is in use by service svc_id. */
static inline int backend_is_of(const struct sluice_backend *be, __u32 svc_id)
{
	return be->state != SLUICE_BE_UNUSED && be->svc_id == svc_id;
}

/*
 * Port a backend's packets arrive on: its port, or (port 0, ipip) the
 * service's (backend.h: ipip backends are stored with port 0).
 */
__u16 backend_port(const struct sluice_backend *be, const struct sluice_svc_key *key);

/*
 * Find the backend ref names among the backends of service (key, svc) in a
 * snapshot all[SLUICE_MAX_BACKENDS]. Without a port, the address must name
 * one backend. -ENOENT or -ENOTUNIQ (message set).
 */
int backend_find(const struct sluice_backend *all, const struct sluice_svc_key *key,
		 const struct sluice_svc *svc, const struct be_ref *ref, __u32 *id);

/* backend_find() among the slots ids[0..n) only (ids NULL: slots 0..n-1). */
int backend_find_among(const struct sluice_backend *all, const __u32 *ids, size_t n,
		       const struct sluice_svc_key *key, const struct sluice_svc *svc,
		       const struct be_ref *ref, __u32 *id);

#endif /* SLUICE_KEYS_H */
