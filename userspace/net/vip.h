/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Service addresses (VIPs) held by this gateway: the host address (/32 or
 * /128) on an interface, through rtnetlink (libnl-route-3), and the
 * announcement that moves the neighbours' ARP / ND entries for it to this
 * host's MAC when a VIP changes hands (gratuitous ARP, unsolicited neighbour
 * advertisement). Each call works in the caller's network namespace, opens
 * its own sockets and closes them again: no state between calls.
 */
#ifndef SLUICE_VIP_H
#define SLUICE_VIP_H

#include "sluice_abi.h"

/*
 * Add addr as a /32 (IPv4, v4-mapped in the union) or /128 (IPv6, with
 * IFA_F_NODAD, so it is usable at once) on interface ifname. Already present
 * with that prefix length: 0. Returns 0 or -errno (message set).
 */
int vip_add(const char *ifname, const union sluice_addr *addr);

/* Remove the /32 or /128 addr from ifname. Absent: 0. Returns 0 or -errno. */
int vip_del(const char *ifname, const union sluice_addr *addr);

/* 1 when ifname holds addr as a /32 or /128, 0 when not, or -errno. */
int vip_present(const char *ifname, const union sluice_addr *addr);

/*
 * Tell the link that addr is now at ifname's MAC: for IPv4 a gratuitous ARP
 * request and reply (sender = target = addr, to the broadcast address), for
 * IPv6 an unsolicited neighbour advertisement (override flag, target addr,
 * target link-layer address option) to ff02::1. Neighbours holding an entry
 * for addr replace its MAC at once. Call it after vip_add(). The interface
 * must be up and have an Ethernet address. Returns 0 or -errno.
 */
int vip_announce(const char *ifname, const union sluice_addr *addr);

#endif /* SLUICE_VIP_H */
