/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Maglev lookup tables (Eisenbud et al., "Maglev: A Fast and Reliable
 * Software Network Load Balancer", NSDI 2016, section 3.4), weighted, built
 * in userspace for a service's shard-steering map. Pure logic: no I/O.
 *
 * Several gateways behind one ECMP group must send a flow to the same
 * backend, so the table is a pure function of
 *   (the set of backends: identity bytes, weight, index;  M;  MAGLEV_VERSION)
 * and of nothing else: not the order the backends are given in, not the host's
 * byte order, word size or libc. Every ingredient below that decides the table
 * (the hash, its seeds, the identity sort, the turn order) is part of
 * MAGLEV_VERSION. Changing any of them changes every table: bump
 * MAGLEV_VERSION and write a version note, because gateways running two
 * versions side by side send the same flow to different backends.
 * tests/unit/test_maglev.c pins the hash with known answers for that reason.
 */
#ifndef SLUICE_MAGLEV_H
#define SLUICE_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* Version of the table-building algorithm (hash, seeds, sort, turn order). */
#define MAGLEV_VERSION 1

/* Default table size: a prime, about 65 slots per backend at 1000 backends. */
#define MAGLEV_DEFAULT_M 65537u

/* Slot value of a table with no backend to steer to. */
#define MAGLEV_EMPTY 0xffffffffu

/*
 * The two seeds of maglev_hash(): offset = hash(id, SEED_OFFSET) % M,
 * skip = hash(id, SEED_SKIP) % (M - 1) + 1. Part of MAGLEV_VERSION.
 */
#define MAGLEV_SEED_OFFSET 0x243f6a8885a308d3ull /* pi, hex digits 1..16 */
#define MAGLEV_SEED_SKIP 0x13198a2e03707344ull	 /* pi, hex digits 17..32 */

struct maglev_backend {
	/*
	 * Identity bytes: what decides the backend's preference list. The
	 * caller gives a canonical form, network byte order (Sluice: the
	 * 16-byte address, then the 2-byte port). Identities must be unique
	 * among the backends of one build.
	 */
	const void *id;
	size_t id_len;
	__u32 weight; /* relative share of slots; 0 = excluded (drained) */
	__u32 index;  /* what the table stores for it (caller's slot); not MAGLEV_EMPTY */
};

/* Number of changes between two tables of one size (maglev_diff()). */
struct maglev_diff {
	__u32 changed; /* slots whose value differs */
	/*
	 * Of those, slots moved from one surviving backend to another: both the
	 * old and the new value hold slots in both tables. The rest of the
	 * changed slots are the unavoidable ones (from a removed backend, to
	 * an added one, or from/to MAGLEV_EMPTY).
	 */
	__u32 moved;
};

/* true when m is prime (trial division; at most ~22000 steps for any __u32). */
bool maglev_is_prime(__u32 m);

/*
 * The table's hash (version 1): 64-bit FNV-1a over the bytes, its state
 * started at the FNV offset basis XOR seed, then the MurmurHash3 fmix64
 * finalizer so that every output bit depends on every input bit and the two
 * seeds give independent values. Byte-oriented: the same on every host.
 */
__u64 maglev_hash(const void *data, size_t len, __u64 seed);

/*
 * Fill table[0 .. m-1] with the index of the backend owning each slot.
 *
 * m must be prime (MAGLEV_DEFAULT_M is), so that every skip in 1 .. m-1
 * walks all m slots. Backends of weight 0 are left out; the others must
 * number at most m and have unique identities. With no backend left (n == 0,
 * or every weight 0) every slot is MAGLEV_EMPTY.
 *
 * Backend i's preference list is offset_i, offset_i + skip_i, ... (mod m).
 * The backends, sorted by identity (memcmp, then the shorter first), take
 * turns; in a turn a backend takes the first slot of its list not yet taken.
 * Backend i's k-th turn (k = 1, 2, ...) comes at virtual time k / weight_i;
 * turns go in order of virtual time, ties to the earlier backend in the sort.
 * With equal weights this is the paper's round robin exactly; with weights,
 * each backend owns between m*w/W - 1 and (m+n)*w/W slots (W the sum of
 * the weights, n the backends of weight > 0): its share to within n*w/W slots.
 *
 * Cost: the fill probes a bitmap about m * ln(m) times (~10 per slot at
 * m = 65537, from the permutation walks), plus a heap step of log(distinct
 * weights) per slot when the weights differ. Measured on a 2-core VM, -O2,
 * n = 1000, m = 65537: ~1.3 ms with one weight, ~2.5 ms with weights 1..10.
 * Scratch (m/8 + ~72*n bytes) is allocated and freed within the call.
 *
 * Returns 0, -EINVAL (table NULL, m not prime, more than m backends of
 * weight > 0, an id NULL with id_len > 0, an index equal to MAGLEV_EMPTY, two
 * backends with the same identity) or -ENOMEM. On error the table is left
 * untouched.
 */
int maglev_build(const struct maglev_backend *backends, size_t n, __u32 m, __u32 *table);

/*
 * Count how two tables of m slots differ (for tests and the benchmark): see
 * struct maglev_diff. A "surviving" backend is a value other than
 * MAGLEV_EMPTY found in both tables. O(m log m); allocates scratch. Returns
 * 0, -EINVAL or -ENOMEM.
 */
int maglev_diff(const __u32 *before, const __u32 *after, __u32 m, struct maglev_diff *diff);

#endif /* SLUICE_MAGLEV_H */
