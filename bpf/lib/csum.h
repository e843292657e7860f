/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Internet checksum helpers for the rewriting stages (nat, encap).
 *
 * Incremental updates follow RFC 1624 equation 3: HC' = ~(~HC + ~m + m'),
 * summed over every 16-bit word that changed. A stage collects the
 * changed words into one 64-bit "diff" (sluice_csum_diff32/16: ~old + new)
 * and applies it to each checksum that covers them; the fold at the end
 * brings the carries around. Words are used as they sit in memory (loaded
 * in host order): the ones' complement sum is byte-order independent
 * (RFC 1071 2.B), so no byte swaps are needed as long as every word of one
 * sum is loaded the same way. 32-bit words may be summed whole: their two
 * halves fold to the same 16-bit sum.
 */
#ifndef SLUICE_CSUM_H
#define SLUICE_CSUM_H

#include <linux/types.h>

/* Fold a 64-bit ones' complement accumulator to 16 bits (no complement). */
static __always_inline __u16 sluice_csum_fold(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* Account a 32-bit word changing from `from` to `to`. */
static __always_inline __u64 sluice_csum_diff32(__u64 diff, __u32 from, __u32 to)
{
	return diff + (__u32)~from + to;
}

/* Account a 16-bit word changing from `from` to `to`. */
static __always_inline __u64 sluice_csum_diff16(__u64 diff, __u16 from, __u16 to)
{
	return diff + (__u16)~from + to;
}

/* A 16-byte address changing (IPv6 addresses; IPv4 uses u32[3] only). */
static __always_inline __u64 sluice_csum_diff_addr(__u64 diff, const __u32 *from, const __u32 *to)
{
	diff = sluice_csum_diff32(diff, from[0], to[0]);
	diff = sluice_csum_diff32(diff, from[1], to[1]);
	diff = sluice_csum_diff32(diff, from[2], to[2]);
	return sluice_csum_diff32(diff, from[3], to[3]);
}

/* The checksum `check` after the changes accounted in diff. */
static __always_inline __u16 sluice_csum_apply(__u16 check, __u64 diff)
{
	return (__u16)~sluice_csum_fold((__u16)~check + diff);
}

/*
 * The same for a UDP checksum: 0 means "no checksum" in UDP, so a computed
 * 0 goes out as 0xffff (RFC 768; the kernel's CSUM_MANGLED_0).
 */
static __always_inline __u16 sluice_csum_apply_udp(__u16 check, __u64 diff)
{
	__u16 c = sluice_csum_apply(check, diff);

	return c ? c : 0xffff;
}

#endif /* SLUICE_CSUM_H */
