/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Service and client addresses as text: IPv4 and IPv6 to the ABI's 16-byte
 * union sluice_addr (IPv4 stored v4-mapped, ::ffff:a.b.c.d) and back.
 */
#ifndef SLUICE_ADDR_H
#define SLUICE_ADDR_H

#include <stddef.h>
#include "sluice_abi.h"

/* Room for any formatted address, NUL included (INET6_ADDRSTRLEN). */
#define ADDR_STRLEN 46

/*
 * Parse IPv4 dotted quad or IPv6 text. Returns 0, or -EINVAL (message set)
 * for an empty, overlong or malformed text, trailing junk included.
 */
int addr_parse(const char *text, union sluice_addr *addr);

/* Format; a v4-mapped address prints as dotted IPv4. len >= ADDR_STRLEN. */
int addr_format(const union sluice_addr *addr, char *buf, size_t len);

/* 1 when addr is v4-mapped (::ffff:0:0/96), else 0. */
int addr_is_v4mapped(const union sluice_addr *addr);

/* AF_INET for a v4-mapped address, AF_INET6 otherwise. */
int addr_family(const union sluice_addr *addr);

#endif /* SLUICE_ADDR_H */
