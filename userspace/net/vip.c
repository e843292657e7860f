// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * VIP addresses on an interface and their announcement (see vip.h).
 * Addresses go through libnl-route-3; the announcements are two small
 * frames built here: a gratuitous ARP through an AF_PACKET socket (the
 * kernel adds the Ethernet header from the interface's MAC) and a neighbour
 * advertisement through a raw ICMPv6 socket (the kernel fills in the
 * checksum and the IPv6 header).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/if_ether.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

#include "addr.h"
#include "err.h"
#include "vip.h"

/* One interface as the calls need it. */
struct vip_if {
	int ifindex;
	unsigned int flags;   /* IFF_* */
	unsigned int arptype; /* ARPHRD_* */
	unsigned char mac[ETH_ALEN];
	int has_mac;
};

/* libnl's -NLE_* back to -errno (the inverse of its nl_syserr2nlerr). */
static int vip_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_EXIST:
		return -EEXIST;
	case NLE_NOADDR:
		return -EADDRNOTAVAIL;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_NODEV:
		return -ENODEV;
	case NLE_PERM:
	case NLE_NOACCESS:
		return -EPERM;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:
		return -EAFNOSUPPORT;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_RANGE:
		return -ERANGE;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_INTR:
		return -EINTR;
	default:
		return -EIO;
	}
}

/* A VIP is one unicast host address; refuse what cannot be one. */
static int vip_check_addr(const union sluice_addr *addr, char *text)
{
	static const union sluice_addr zero;
	const __u8 *b = addr->u8;

	addr_format(addr, text, ADDR_STRLEN);
	if (addr_is_v4mapped(addr)) {
		if (!addr->u32[3] || b[12] >= 224 || b[12] == 127) {
			err_set("%s cannot be a VIP: give a unicast, non-loopback IPv4 address",
				text);
			return -EINVAL;
		}
		return 0;
	}
	/* ::, ::1 (the first 15 bytes zero), multicast, link-local */
	if (!memcmp(addr->u8, zero.u8, 15) || b[0] == 0xff ||
	    (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)) {
		err_set("%s cannot be a VIP: give a global or unique-local unicast IPv6 address",
			text);
		return -EINVAL;
	}
	return 0;
}

static int vip_sock(struct nl_sock **sk)
{
	int err;

	*sk = nl_socket_alloc();
	if (!*sk) {
		err_set("cannot allocate a netlink socket: out of memory");
		return -ENOMEM;
	}
	err = nl_connect(*sk, NETLINK_ROUTE);
	if (err < 0) {
		err_set("cannot open a route netlink socket: %s", nl_geterror(err));
		nl_socket_free(*sk);
		*sk = NULL;
		return vip_errno(err);
	}
	return 0;
}

static int vip_link(struct nl_sock *sk, const char *ifname, struct vip_if *vif)
{
	struct rtnl_link *link = NULL;
	struct nl_addr *ll;
	int err;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ) {
		err_set("bad interface name '%s': give 1..%d characters", ifname ? ifname : "",
			IFNAMSIZ - 1);
		return -EINVAL;
	}
	err = rtnl_link_get_kernel(sk, 0, ifname, &link);
	if (err < 0) {
		err = vip_errno(err);
		if (err == -ENODEV || err == -ENOENT) {
			err_set("no interface '%s' in this network namespace", ifname);
			return -ENODEV;
		}
		err_set("cannot read interface '%s': %s", ifname, strerror(-err));
		return err;
	}
	memset(vif, 0, sizeof(*vif));
	vif->ifindex = rtnl_link_get_ifindex(link);
	vif->flags = rtnl_link_get_flags(link);
	vif->arptype = rtnl_link_get_arptype(link);
	ll = rtnl_link_get_addr(link);
	if (ll && nl_addr_get_len(ll) == ETH_ALEN) {
		memcpy(vif->mac, nl_addr_get_binary_addr(ll), ETH_ALEN);
		vif->has_mac = 1;
	}
	rtnl_link_put(link);
	return 0;
}

/* The rtnl_addr for addr as a host address (/32, /128) on ifindex. */
static int vip_rtaddr(int ifindex, const union sluice_addr *addr, struct rtnl_addr **out)
{
	int v4 = addr_is_v4mapped(addr);
	struct rtnl_addr *ra;
	struct nl_addr *local;
	int err;

	local = v4 ? nl_addr_build(AF_INET, &addr->u8[12], 4) : nl_addr_build(AF_INET6, addr, 16);
	ra = rtnl_addr_alloc();
	if (!local || !ra) {
		nl_addr_put(local);
		rtnl_addr_put(ra);
		err_set("cannot build a netlink address: out of memory");
		return -ENOMEM;
	}
	nl_addr_set_prefixlen(local, v4 ? 32 : 128);
	rtnl_addr_set_ifindex(ra, ifindex);
	err = rtnl_addr_set_local(ra, local); /* takes its own reference; sets the family */
	nl_addr_put(local);
	if (err < 0) {
		rtnl_addr_put(ra);
		err_set("cannot build a netlink address: %s", nl_geterror(err));
		return vip_errno(err);
	}
	rtnl_addr_set_prefixlen(ra, v4 ? 32 : 128);
	/* No DAD: a VIP moves between gateways and must answer at once. */
	if (!v4)
		rtnl_addr_set_flags(ra, IFA_F_NODAD);
	*out = ra;
	return 0;
}

/* The common start of add / del / present: check, connect, find the link. */
static int vip_open(const char *ifname, const union sluice_addr *addr, char *text,
		    struct nl_sock **sk, struct vip_if *vif)
{
	int err;

	*sk = NULL;
	err = vip_check_addr(addr, text);
	if (err)
		return err;
	err = vip_sock(sk);
	if (err)
		return err;
	err = vip_link(*sk, ifname, vif);
	if (err) {
		nl_socket_free(*sk);
		*sk = NULL;
	}
	return err;
}

int vip_add(const char *ifname, const union sluice_addr *addr)
{
	char text[ADDR_STRLEN];
	struct rtnl_addr *ra = NULL;
	struct nl_sock *sk;
	struct vip_if vif;
	int err;

	err = vip_open(ifname, addr, text, &sk, &vif);
	if (err)
		return err;
	err = vip_rtaddr(vif.ifindex, addr, &ra);
	if (err)
		goto out;
	/* EXCL: an existing address is reported (EEXIST), never rewritten. */
	err = rtnl_addr_add(sk, ra, NLM_F_EXCL);
	if (err < 0) {
		err = vip_errno(err);
		if (err == -EEXIST) {
			err = 0;
			goto out;
		}
		err_set("cannot add VIP %s/%d to %s: %s", text, addr_is_v4mapped(addr) ? 32 : 128,
			ifname, strerror(-err));
		goto out;
	}
	err = 0;
out:
	rtnl_addr_put(ra);
	nl_socket_free(sk);
	return err;
}

int vip_del(const char *ifname, const union sluice_addr *addr)
{
	char text[ADDR_STRLEN];
	struct rtnl_addr *ra = NULL;
	struct nl_sock *sk;
	struct vip_if vif;
	int err;

	err = vip_open(ifname, addr, text, &sk, &vif);
	if (err)
		return err;
	err = vip_rtaddr(vif.ifindex, addr, &ra);
	if (err)
		goto out;
	err = rtnl_addr_delete(sk, ra, 0);
	if (err < 0) {
		err = vip_errno(err);
		if (err == -EADDRNOTAVAIL || err == -ENOENT) {
			err = 0;
			goto out;
		}
		err_set("cannot remove VIP %s/%d from %s: %s", text,
			addr_is_v4mapped(addr) ? 32 : 128, ifname, strerror(-err));
		goto out;
	}
	err = 0;
out:
	rtnl_addr_put(ra);
	nl_socket_free(sk);
	return err;
}

int vip_present(const char *ifname, const union sluice_addr *addr)
{
	int v4 = addr_is_v4mapped(addr);
	const void *want = v4 ? (const void *)&addr->u8[12] : (const void *)addr->u8;
	unsigned int len = v4 ? 4 : 16;
	char text[ADDR_STRLEN];
	struct nl_cache *cache = NULL;
	struct nl_object *obj;
	struct nl_sock *sk;
	struct vip_if vif;
	int err, found = 0;

	err = vip_open(ifname, addr, text, &sk, &vif);
	if (err)
		return err;
	err = rtnl_addr_alloc_cache(sk, &cache);
	if (err < 0) {
		err = vip_errno(err);
		err_set("cannot list the addresses of %s: %s", ifname, strerror(-err));
		goto out;
	}
	for (obj = nl_cache_get_first(cache); obj && !found; obj = nl_cache_get_next(obj)) {
		struct rtnl_addr *ra = (struct rtnl_addr *)obj;
		struct nl_addr *local = rtnl_addr_get_local(ra);

		found = rtnl_addr_get_ifindex(ra) == vif.ifindex &&
			rtnl_addr_get_family(ra) == (v4 ? AF_INET : AF_INET6) &&
			rtnl_addr_get_prefixlen(ra) == (v4 ? 32 : 128) && local &&
			nl_addr_get_len(local) == len &&
			!memcmp(nl_addr_get_binary_addr(local), want, len);
	}
	err = found;
out:
	nl_cache_free(cache);
	nl_socket_free(sk);
	return err;
}

/* Gratuitous ARP: a request, then a reply, both "addr is at mac", broadcast. */
static int vip_garp(const char *ifname, const struct vip_if *vif, const union sluice_addr *addr,
		    const char *text)
{
	struct sockaddr_ll to = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ARP),
		.sll_ifindex = vif->ifindex,
		.sll_halen = ETH_ALEN,
		.sll_addr = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	};
	static const __u16 ops[] = { ARPOP_REQUEST, ARPOP_REPLY };
	struct ether_arp arp;
	int fd, err = 0;
	size_t i;

	/* Protocol 0: this socket only sends, it never queues what arrives. */
	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		err_set("cannot open a packet socket for the gratuitous ARP: %s%s", strerror(-err),
			err == -EPERM ? " (needs CAP_NET_RAW)" : "");
		return err;
	}
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		memset(&arp, 0, sizeof(arp));
		arp.arp_hrd = htons(ARPHRD_ETHER);
		arp.arp_pro = htons(ETH_P_IP);
		arp.arp_hln = ETH_ALEN;
		arp.arp_pln = 4;
		arp.arp_op = htons(ops[i]);
		memcpy(arp.arp_sha, vif->mac, ETH_ALEN);
		memcpy(arp.arp_spa, &addr->u8[12], 4);
		/* Linux takes a reply as gratuitous only when tha == sha. */
		if (ops[i] == ARPOP_REPLY)
			memcpy(arp.arp_tha, vif->mac, ETH_ALEN);
		memcpy(arp.arp_tpa, &addr->u8[12], 4);
		if (sendto(fd, &arp, sizeof(arp), 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
			err = -errno;
			err_set("cannot send a gratuitous ARP for %s on %s: %s", text, ifname,
				strerror(-err));
			break;
		}
	}
	close(fd);
	return err;
}

/* Unsolicited neighbour advertisement (RFC 4861 7.2.6) to all nodes. */
static int vip_unsolicited_na(const char *ifname, const struct vip_if *vif,
			      const union sluice_addr *addr, const char *text)
{
	struct {
		struct nd_neighbor_advert na;
		struct nd_opt_hdr opt;
		__u8 mac[ETH_ALEN];
	} __attribute__((packed)) pkt;
	struct sockaddr_in6 to = {
		.sin6_family = AF_INET6,
		.sin6_scope_id = vif->ifindex,
	};
	int hops = 255, loop = 0, ifindex = vif->ifindex;
	int fd, err = 0;

	memset(&pkt, 0, sizeof(pkt));
	pkt.na.nd_na_type = ND_NEIGHBOR_ADVERT;
	pkt.na.nd_na_code = 0;
	/* Override set, solicited clear (it is unsolicited), router clear. */
	pkt.na.nd_na_flags_reserved = ND_NA_FLAG_OVERRIDE;
	memcpy(&pkt.na.nd_na_target, addr->u8, 16);
	pkt.opt.nd_opt_type = ND_OPT_TARGET_LINKADDR;
	pkt.opt.nd_opt_len = 1; /* in units of 8 bytes: type, length, 6-byte MAC */
	memcpy(pkt.mac, vif->mac, ETH_ALEN);
	inet_pton(AF_INET6, "ff02::1", &to.sin6_addr);

	/* A raw ICMPv6 socket: the kernel computes the checksum. */
	fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	if (fd < 0) {
		err = -errno;
		err_set("cannot open a raw ICMPv6 socket for the neighbour advertisement: %s%s",
			strerror(-err), err == -EPERM ? " (needs CAP_NET_RAW)" : "");
		return err;
	}
	/* Receivers drop neighbour discovery whose hop limit is not 255. */
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, strlen(ifname) + 1) ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex)) ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)) ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof(loop))) {
		err = -errno;
		err_set("cannot set up the ICMPv6 socket on %s: %s", ifname, strerror(-err));
		goto out;
	}
	if (sendto(fd, &pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
		err = -errno;
		err_set("cannot send a neighbour advertisement for %s on %s: %s%s", text, ifname,
			strerror(-err),
			err == -EADDRNOTAVAIL ? " (the interface has no usable IPv6 address)" : "");
	}
out:
	close(fd);
	return err;
}

int vip_announce(const char *ifname, const union sluice_addr *addr)
{
	char text[ADDR_STRLEN];
	struct nl_sock *sk;
	struct vip_if vif;
	int err;

	err = vip_open(ifname, addr, text, &sk, &vif);
	if (err)
		return err;
	nl_socket_free(sk);
	if (vif.arptype != ARPHRD_ETHER || !vif.has_mac) {
		err_set("cannot announce %s on %s: not an Ethernet interface (no MAC to announce)",
			text, ifname);
		return -EOPNOTSUPP;
	}
	if (!(vif.flags & IFF_UP)) {
		err_set("cannot announce %s on %s: the interface is down", text, ifname);
		return -ENETDOWN;
	}
	if (addr_is_v4mapped(addr))
		return vip_garp(ifname, &vif, addr, text);
	return vip_unsolicited_na(ifname, &vif, addr, text);
}
