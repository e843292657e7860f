// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Address text <-> union sluice_addr. inet_pton does the parsing (it rejects
 * trailing junk, zone ids and brackets); this file adds the v4-mapped rule
 * and the length and emptiness checks the CLI needs for clear errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "err.h"

static const __u8 v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int addr_is_v4mapped(const union sluice_addr *addr)
{
	return !memcmp(addr->u8, v4mapped_prefix, sizeof(v4mapped_prefix));
}

int addr_family(const union sluice_addr *addr)
{
	return addr_is_v4mapped(addr) ? AF_INET : AF_INET6;
}

int addr_parse(const char *text, union sluice_addr *addr)
{
	union sluice_addr a;
	struct in_addr v4;

	if (!text || !*text) {
		err_set("empty address: give an IPv4 (192.0.2.1) or IPv6 (2001:db8::1) address");
		return -EINVAL;
	}
	if (strlen(text) >= ADDR_STRLEN) {
		err_set("address '%.20s...' is too long to be an IPv4 or IPv6 address", text);
		return -EINVAL;
	}
	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, text, &v4) == 1) {
		memcpy(a.u8, v4mapped_prefix, sizeof(v4mapped_prefix));
		memcpy(&a.u8[12], &v4, 4);
	} else if (inet_pton(AF_INET6, text, a.u8) != 1) {
		err_set("invalid address '%s': give an IPv4 (192.0.2.1) or IPv6 (2001:db8::1) address",
			text);
		return -EINVAL;
	}
	*addr = a;
	return 0;
}

int addr_format(const union sluice_addr *addr, char *buf, size_t len)
{
	const char *r;

	if (addr_is_v4mapped(addr))
		r = inet_ntop(AF_INET, &addr->u8[12], buf, len);
	else
		r = inet_ntop(AF_INET6, addr->u8, buf, len);
	if (!r) {
		err_set("address buffer too small");
		return -ENOSPC;
	}
	return 0;
}
