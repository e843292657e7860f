/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Gateway-wide settings (sl_config, one entry): the outer source addresses
 * of ipip encapsulation and the idle timeout of UDP flows. Read by the data
 * plane on every packet that needs them, so a change applies at once.
 */
#ifndef SLUICE_GATEWAY_H
#define SLUICE_GATEWAY_H

#include <linux/types.h>
#include "maps.h"
#include "sluice_abi.h"

/* Longest UDP idle timeout, seconds (one day). */
#define GATEWAY_UDP_TIMEOUT_MAX 86400u

/* What `gateway set` asks for; has_* says which were given. */
struct gateway_conf {
	int has_src4;
	union sluice_addr src4; /* IPv4 (v4-mapped); all zero = unset */
	int has_src6;
	union sluice_addr src6; /* IPv6, not v4-mapped; all zero = unset */
	int has_udp_timeout;
	__u32 udp_timeout_s; /* 1..GATEWAY_UDP_TIMEOUT_MAX */
};

/* Check conf without touching a map: families, timeout range, something to set. */
int gateway_conf_check(const struct gateway_conf *conf);

/* Read the configuration; udp_timeout_ns 0 reads as the default. */
int gateway_get(const struct sluice_maps *m, struct sluice_config *cfg);

/* Apply conf on top of the current configuration; *cfg (may be NULL) gets the result. */
int gateway_set(const struct sluice_maps *m, const struct gateway_conf *conf,
		struct sluice_config *cfg);

/* 1 when an encapsulation source is set (not all zero). */
int gateway_addr_is_set(const union sluice_addr *a);

#endif /* SLUICE_GATEWAY_H */
