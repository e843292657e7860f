// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rtnetlink address events (RTM_NEWADDR, RTM_DELADDR) for sluiced, which
 * keeps sl_local_addr true with them: see addrwatch.h.
 */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/socket.h>

#include "addrwatch.h"
#include "err.h"

struct addrwatch {
	struct nl_sock *sk;
	int changed; /* set by on_msg during one drain */
};

static int on_msg(struct nl_msg *msg, void *arg)
{
	struct addrwatch *w = arg;
	int type = nlmsg_hdr(msg)->nlmsg_type;

	if (type == RTM_NEWADDR || type == RTM_DELADDR)
		w->changed = 1;
	return NL_OK;
}

int addrwatch_open(struct addrwatch **out)
{
	struct addrwatch *w = calloc(1, sizeof(*w));
	int err;

	*out = NULL;
	if (!w || !(w->sk = nl_socket_alloc())) {
		free(w);
		err_set("cannot allocate a netlink socket: out of memory");
		return -ENOMEM;
	}
	/* Events carry no sequence numbers of ours. */
	nl_socket_disable_seq_check(w->sk);
	nl_socket_modify_cb(w->sk, NL_CB_VALID, NL_CB_CUSTOM, on_msg, w);
	err = nl_connect(w->sk, NETLINK_ROUTE);
	if (!err)
		err = nl_socket_add_memberships(w->sk, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, 0);
	if (!err)
		err = nl_socket_set_nonblocking(w->sk);
	if (err < 0) {
		err_set("cannot watch this host's addresses (route netlink): %s", nl_geterror(err));
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
	if (err != -NLE_AGAIN)
		w->changed = 1;
	return w->changed;
}

void addrwatch_close(struct addrwatch *w)
{
	if (!w)
		return;
	nl_socket_free(w->sk);
	free(w);
}
