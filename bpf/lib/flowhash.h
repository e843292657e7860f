/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The flow hash: which Maglev slot a new flow takes, and the low 16 bits
 * the ipip outer source is spread with. A pure function of the flow key,
 * included by the data plane and by userspace (tests, tools) alike, so both
 * compute the very same number.
 *
 * Several gateways behind one ECMP group must agree on every flow, so the
 * hash depends on the key's bytes only: each 32-bit word is taken as a
 * big-endian number (bswap on little-endian hosts, one instruction in BPF),
 * never on the host's byte order. The steps, constants and word order are
 * SLUICE_FLOW_HASH_VERSION; changing any of them moves flows between
 * backends on a mixed fleet, so bump it (tests/bpf/test_steer.c pins known
 * answers).
 *
 * Cost: one xor, one 64-bit multiply and one xor-shift per word (10 words
 * for the 5-tuple, 4 for the client address), then the MurmurHash3 fmix64
 * finalizer so every output bit depends on every input bit. No division,
 * no loop the compiler does not unroll.
 */
#ifndef SLUICE_FLOWHASH_H
#define SLUICE_FLOWHASH_H

#include <linux/types.h>
#include "sluice_abi.h"

#define SLUICE_FLOW_HASH_VERSION 1
#define SLUICE_FLOW_HASH_SEED 0x9e3779b97f4a7c15ull /* golden ratio: state before any word */
#define SLUICE_FLOW_HASH_MUL 0xff51afd7ed558ccdull  /* fmix64's first multiplier */

#define SLUICE_FH_INLINE static inline __attribute__((always_inline))

/* A 32-bit word of the key as the big-endian number its bytes spell. */
SLUICE_FH_INLINE __u32 sluice_fh_be32(__u32 w)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return __builtin_bswap32(w);
#else
	return w;
#endif
}

/* Mix one 32-bit number into the state. */
SLUICE_FH_INLINE __u64 sluice_fh_mix(__u64 h, __u32 v)
{
	h ^= v;
	h *= SLUICE_FLOW_HASH_MUL;
	return h ^ (h >> 32);
}

/* Mix the 4 key bytes at w, read as a big-endian number. */
SLUICE_FH_INLINE __u64 sluice_fh_step(__u64 h, __u32 w)
{
	return sluice_fh_mix(h, sluice_fh_be32(w));
}

SLUICE_FH_INLINE __u64 sluice_fh_addr(__u64 h, const union sluice_addr *a)
{
	h = sluice_fh_step(h, a->u32[0]);
	h = sluice_fh_step(h, a->u32[1]);
	h = sluice_fh_step(h, a->u32[2]);
	return sluice_fh_step(h, a->u32[3]);
}

/*
 * hash_mode SLUICE_HASH_5TUPLE: src, dst, the port word (sport, dport) and
 * proto; SLUICE_HASH_CLIENT: src only, so every flow of one client gets the
 * same hash (and the same backend). Any other mode hashes the 5-tuple.
 */
SLUICE_FH_INLINE __u32 sluice_flow_hash(const struct sluice_flow_key *k, __u8 hash_mode)
{
	__u64 h = sluice_fh_addr(SLUICE_FLOW_HASH_SEED, &k->src);

	if (hash_mode != SLUICE_HASH_CLIENT) {
		/* The 4 key bytes sport, dport as one word, in memory order. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		__u32 ports = (__u32)k->sport | (__u32)k->dport << 16;
#else
		__u32 ports = (__u32)k->sport << 16 | (__u32)k->dport;
#endif

		h = sluice_fh_addr(h, &k->dst);
		h = sluice_fh_step(h, ports);
		/* proto, pad[3] (zero): the big-endian number proto << 24. */
		h = sluice_fh_mix(h, (__u32)k->proto << 24);
	}
	/* MurmurHash3 fmix64. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (__u32)(h >> 32);
}

/*
 * The Maglev slot of hash in a table of m entries (1 .. m; entry 0 of a
 * table holds m): multiply-shift maps [0, 2^32) onto [0, m) evenly, with
 * no division.
 */
SLUICE_FH_INLINE __u32 sluice_maglev_slot(__u32 hash, __u32 m)
{
	return 1 + (__u32)(((__u64)hash * m) >> 32);
}

#endif /* SLUICE_FLOWHASH_H */
