// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The host side of Sluice (issue 15): cgroup programs that balance the
 * outbound connections of the processes in one cgroup (v2) at connect(),
 * with no proxy and no gateway in the path. One instance is loaded per
 * attached cgroup (its id in rodata, sluice_host_cgid, for the scope).
 *
 *   connect4/6      a connect to a service -> to a backend (hostlb.h), or
 *                   refused with ECONNREFUSED (bulkhead, breakers)
 *   sendmsg4/6      an unconnected UDP send to a service -> to a backend
 *   recvmsg4/6      a datagram from that backend reads as from the service
 *   getpeername4/6  a balanced socket's peer reads as the service
 *   sockops         a balanced TCP connect's outcome: established is a
 *                   SUCCESS signal for the backend's breaker, a close from
 *                   SYN_SENT a REFUSED one (passive.h, as on the gateway);
 *                   the close gives back the bulkhead slot
 *                   and a connection of a service with an egress-rate is
 *                   paced by TCP to its share of it (hostpace.h)
 *   sock_release    the socket is closed: its slot is given back if the
 *                   close came before the TCP state machine ran (a connect
 *                   that failed before sending its SYN)
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "sluice_host_maps.bpf.h"
#include "parse.h"
#include "passive.h"
#include "hostlb.h"
#include "hostpace.h"

/* The address of the hook (destination, or peer) as a 16-byte address. */
static __always_inline void sluice_host_read(struct bpf_sock_addr *ctx, struct sluice_host_dst *d,
					     int v4)
{
	if (v4) {
		sluice_addr_v4mapped(&d->addr, ctx->user_ip4);
	} else {
		/* Verifier: user_ip6 is read one 4-byte word at a constant index. */
		d->addr.u32[0] = ctx->user_ip6[0];
		d->addr.u32[1] = ctx->user_ip6[1];
		d->addr.u32[2] = ctx->user_ip6[2];
		d->addr.u32[3] = ctx->user_ip6[3];
	}
	d->port = (__be16)ctx->user_port;
	d->proto = (__u8)ctx->protocol;
}

static __always_inline void sluice_host_write(struct bpf_sock_addr *ctx,
					      const struct sluice_host_dst *d, int v4)
{
	if (v4) {
		ctx->user_ip4 = d->addr.u32[3];
	} else {
		ctx->user_ip6[0] = d->addr.u32[0];
		ctx->user_ip6[1] = d->addr.u32[1];
		ctx->user_ip6[2] = d->addr.u32[2];
		ctx->user_ip6[3] = d->addr.u32[3];
	}
	ctx->user_port = (__u32)d->port;
}

/*
 * A connect (connect 1) or an unconnected UDP send (0): 1 lets it go,
 * rewritten to the backend or untouched; a refused connect returns 0 with
 * the errno set. A send is never refused: it goes to the service address.
 */
static __always_inline int sluice_host_out(struct bpf_sock_addr *ctx, int v4, int connect)
{
	struct sluice_host_dst d = {};
	struct bpf_sock *sk = ctx->sk;
	int err;

	if (!sk)
		return 1;
	sluice_host_read(ctx, &d, v4);
	err = sluice_host_steer(ctx, sk, &d, connect);
	if (err == SLUICE_CONTINUE || (err && !connect))
		return 1;
	if (err) {
		bpf_set_retval(-err);
		return 0;
	}
	sluice_host_write(ctx, &d, v4);
	return 1;
}

SEC("cgroup/connect4")
int sluice_connect4(struct bpf_sock_addr *ctx)
{
	return sluice_host_out(ctx, 1, 1);
}

SEC("cgroup/connect6")
int sluice_connect6(struct bpf_sock_addr *ctx)
{
	return sluice_host_out(ctx, 0, 1);
}

SEC("cgroup/sendmsg4")
int sluice_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sluice_host_out(ctx, 1, 0);
}

SEC("cgroup/sendmsg6")
int sluice_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sluice_host_out(ctx, 0, 0);
}

/* getpeername, recvmsg: the backend reads as the service. Must return 1. */
static __always_inline int sluice_host_peer(struct bpf_sock_addr *ctx, int v4)
{
	struct sluice_host_dst d = {};
	struct bpf_sock *sk = ctx->sk;

	if (!sk)
		return 1;
	sluice_host_read(ctx, &d, v4);
	if (sluice_host_unsteer(sk, &d.addr, &d.port))
		sluice_host_write(ctx, &d, v4);
	return 1;
}

SEC("cgroup/getpeername4")
int sluice_getpeername4(struct bpf_sock_addr *ctx)
{
	return sluice_host_peer(ctx, 1);
}

SEC("cgroup/getpeername6")
int sluice_getpeername6(struct bpf_sock_addr *ctx)
{
	return sluice_host_peer(ctx, 0);
}

SEC("cgroup/recvmsg4")
int sluice_recvmsg4(struct bpf_sock_addr *ctx)
{
	return sluice_host_peer(ctx, 1);
}

SEC("cgroup/recvmsg6")
int sluice_recvmsg6(struct bpf_sock_addr *ctx)
{
	return sluice_host_peer(ctx, 0);
}

SEC("sockops")
int sluice_host_sockops(struct bpf_sock_ops *skops)
{
	struct sluice_host_sock *hs;
	struct bpf_sock *sk = skops->sk;
	__u32 old;

	if (!sk)
		return 1;
	hs = bpf_sk_storage_get(&sl_host_socks, sk, 0, 0);
	if (!hs)
		return 1;
	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		/* Only balanced sockets pay for state callbacks. */
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
							 BPF_SOCK_OPS_STATE_CB_FLAG);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		old = __sync_fetch_and_or(&hs->flags, SLUICE_FLOW_ESTABLISHED);
		if (!(old & SLUICE_FLOW_ESTABLISHED))
			sluice_signal(SLUICE_EV_SUCCESS, hs->backend_id, hs->svc_id);
		sluice_hostpace_join(skops, hs);
		break;
	case BPF_SOCK_OPS_RTT_CB:
		/* Paced connections only (hostpace.h): the share follows the others. */
		sluice_hostpace_share(skops, hs->svc_id);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] != BPF_TCP_CLOSE)
			break;
		/* Closed before the handshake was answered: a RST or a timeout. */
		if (skops->args[0] == BPF_TCP_SYN_SENT) {
			old = __sync_fetch_and_or(&hs->flags, SLUICE_FLOW_ESTABLISHED);
			if (!(old & SLUICE_FLOW_ESTABLISHED))
				sluice_signal(SLUICE_EV_REFUSED, hs->backend_id, hs->svc_id);
		}
		sluice_hostpace_leave(hs);
		sluice_host_release(hs);
		break;
	}
	return 1;
}

SEC("cgroup/sock_release")
int sluice_sock_release(struct bpf_sock *sk)
{
	struct sluice_host_sock *hs = bpf_sk_storage_get(&sl_host_socks, sk, 0, 0);

	if (hs) {
		sluice_hostpace_leave(hs);
		sluice_host_release(hs);
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
