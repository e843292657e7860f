// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rtnetlink address, route, neighbour and link events for sluiced, which
 * keeps sl_local_addr and the cached next hops' generation true with
 * them: see addrwatch.h.
 */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include <linux/neighbour.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/socket.h>

#include "addrwatch.h"
#include "err.h"
#include "nbrtab.h"

/* Neighbours remembered (about 80 B each); past them every event counts as a change. */
#define ADDRWATCH_NEIGHBOURS 16384

struct addrwatch {
	struct nl_sock *sk;
	struct nbrtab *nbr; /* what each neighbour resolved to (nbrtab.h) */
	int changed;	    /* ADDRWATCH_* bits, set by on_msg during one drain */
};

/* The states with an address the kernel forwards to (the kernel's NUD_VALID, not in the UAPI). */
#define ADDRWATCH_NUD_VALID \
	(NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY)

/* 1 when a neighbour message may change a FIB lookup's answer (nbrtab.h). */
static int neigh_changed(struct addrwatch *w, struct nlmsghdr *nlh)
{
	struct nlattr *tb[NDA_MAX + 1];
	struct ndmsg *ndm;

	if (nlmsg_parse(nlh, sizeof(*ndm), tb, NDA_MAX, NULL) < 0)
		return 1; /* cannot tell: as a change */
	ndm = nlmsg_data(nlh);
	/*
	 * A bridge's forwarding entries (AF_BRIDGE, learnt with every new
	 * MAC on a port) come in the same group; no FIB lookup reads them.
	 */
	if (ndm->ndm_family != AF_INET && ndm->ndm_family != AF_INET6)
		return 0;
	if (!tb[NDA_DST])
		return 1;
	return nbrtab_event(w->nbr, nlh->nlmsg_type == RTM_DELNEIGH, ndm->ndm_ifindex,
			    ndm->ndm_family, nla_data(tb[NDA_DST]), (size_t)nla_len(tb[NDA_DST]),
			    (ndm->ndm_state & ADDRWATCH_NUD_VALID) && tb[NDA_LLADDR],
			    tb[NDA_LLADDR] ? nla_data(tb[NDA_LLADDR]) : NULL,
			    tb[NDA_LLADDR] ? (size_t)nla_len(tb[NDA_LLADDR]) : 0);
}

static int on_msg(struct nl_msg *msg, void *arg)
{
	struct addrwatch *w = arg;
	int type = nlmsg_hdr(msg)->nlmsg_type;

	switch (type) {
	case RTM_NEWADDR:
	case RTM_DELADDR:
		w->changed |= ADDRWATCH_ADDR | ADDRWATCH_NH;
		break;
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		if (neigh_changed(w, nlmsg_hdr(msg)))
			w->changed |= ADDRWATCH_NH;
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
	case RTM_NEWLINK:
	case RTM_DELLINK:
		w->changed |= ADDRWATCH_NH;
		break;
	default:
		break;
	}
	return NL_OK;
}

int addrwatch_open(struct addrwatch **out)
{
	struct addrwatch *w = calloc(1, sizeof(*w));
	int err;

	*out = NULL;
	if (!w || !(w->sk = nl_socket_alloc()) || !(w->nbr = nbrtab_new(ADDRWATCH_NEIGHBOURS))) {
		if (w)
			nl_socket_free(w->sk);
		free(w);
		err_set("cannot allocate a netlink socket: out of memory");
		return -ENOMEM;
	}
	/* Events carry no sequence numbers of ours. */
	nl_socket_disable_seq_check(w->sk);
	nl_socket_modify_cb(w->sk, NL_CB_VALID, NL_CB_CUSTOM, on_msg, w);
	err = nl_connect(w->sk, NETLINK_ROUTE);
	if (!err)
		err = nl_socket_add_memberships(w->sk, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
						RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE,
						RTNLGRP_NEIGH, RTNLGRP_LINK, 0);
	if (!err)
		err = nl_socket_set_nonblocking(w->sk);
	if (err < 0) {
		err_set("cannot watch this host's addresses and routes (route netlink): %s",
			nl_geterror(err));
		addrwatch_close(w);
		return -EIO;
	}
	*out = w;
	return 0;
}

int addrwatch_fd(const struct addrwatch *w)
{
	return nl_socket_get_fd(w->sk);
}

int addrwatch_drain(struct addrwatch *w)
{
	int err;

	w->changed = 0;
	do
		err = nl_recvmsgs_default(w->sk);
	while (err >= 0);
	/*
	 * Anything but "nothing more" (an overrun is ENOBUFS, NLE_NOMEM here)
	 * may have lost events: the caller looks again.
	 */
	if (err != -NLE_AGAIN) {
		w->changed = ADDRWATCH_ADDR | ADDRWATCH_NH;
		nbrtab_clear(w->nbr); /* what was lost is not known */
	}
	return w->changed;
}

void addrwatch_close(struct addrwatch *w)
{
	if (!w)
		return;
	nl_socket_free(w->sk);
	nbrtab_free(w->nbr);
	free(w);
}
