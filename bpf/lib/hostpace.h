/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TCP's own pacing for the host side (issue 15), from sockops: a balanced
 * TCP connection of a service with an egress-rate is paced by TCP itself
 * (SO_MAX_PACING_RATE: internal pacing, or fq's per-flow pacing where fq
 * is the root) to its share of the rate, rate / the service's paced
 * connections on this host (sl_pace_conns), SLUICE_PACE_SHARE_PCT of it:
 * TCP's pacing counts its segments, not the link and IP headers the
 * egress clock (pace.h) counts. The share is set when the connection is
 * established and again on each RTT sample (BPF_SOCK_OPS_RTT_CB, asked
 * for paced connections only), so it follows connections coming and going
 * and a rate changed meanwhile.
 *
 * Why both this and the egress clock: without fq nothing holds a packet to
 * its departure time, and the egress program can only police; a TCP flow
 * policed by drops at its own host stalls on its timers (measured in this
 * lab: 0.3 MB/s whatever the rate), while one paced by TCP keeps to the
 * rate. The egress clock still bounds the service as a whole (UDP too).
 */
#ifndef SLUICE_HOSTPACE_H
#define SLUICE_HOSTPACE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"
#include "sluice_maps.bpf.h"
#include "sluice_host_maps.bpf.h"

#define SLUICE_SOL_SOCKET 1
#define SLUICE_SO_MAX_PACING_RATE 47

/* Set skops's pacing to its share of svc_id's rate (rate 0: no limit). */
static __always_inline void sluice_hostpace_share(struct bpf_sock_ops *skops, __u32 svc_id)
{
	struct sluice_pace *p = bpf_map_lookup_elem(&sl_svc_pace, &svc_id);
	struct sluice_conns *c = bpf_map_lookup_elem(&sl_pace_conns, &svc_id);
	__u64 rate, n, share;
	int v;

	if (!p || !c)
		return;
	rate = *(volatile __u64 *)&p->rate_bps;
	n = *(volatile __s64 *)&c->active > 0 ? (__u64)c->active : 1;
	/* bits/s to bytes/s, over the connections, less the headers' room. */
	share = rate / 8 * SLUICE_PACE_SHARE_PCT / 100 / n;
	/* The option is a u32 of bytes/s; ~0 is no limit (a rate of 0, or past it). */
	v = !rate || share >= 0xffffffffull ? -1 : share ? (int)share : 1;
	bpf_setsockopt(skops, SLUICE_SOL_SOCKET, SLUICE_SO_MAX_PACING_RATE, &v, sizeof(v));
}

/* An established balanced connection: counted and paced when its service has a rate. */
static __always_inline void sluice_hostpace_join(struct bpf_sock_ops *skops,
						 struct sluice_host_sock *hs)
{
	struct sluice_pace *p;
	struct sluice_conns *c;
	__u32 id = hs->svc_id;

	p = bpf_map_lookup_elem(&sl_svc_pace, &id);
	c = bpf_map_lookup_elem(&sl_pace_conns, &id);
	if (!p || !c || !*(volatile __u64 *)&p->rate_bps)
		return;
	if (__sync_fetch_and_or(&hs->flags, SLUICE_HOST_F_PACED) & SLUICE_HOST_F_PACED)
		return;
	__sync_fetch_and_add(&c->active, 1);
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_RTT_CB_FLAG);
	sluice_hostpace_share(skops, id);
}

/* The connection closed: no longer counted (idempotent). */
static __always_inline void sluice_hostpace_leave(struct sluice_host_sock *hs)
{
	struct sluice_conns *c;
	__u32 id = hs->svc_id;

	if (!(*(volatile __u32 *)&hs->flags & SLUICE_HOST_F_PACED))
		return;
	if (!(__sync_fetch_and_and(&hs->flags, ~SLUICE_HOST_F_PACED) & SLUICE_HOST_F_PACED))
		return;
	c = bpf_map_lookup_elem(&sl_pace_conns, &id);
	/*
	 * Never below zero: a socket paced under an earlier attachment whose
	 * count was lost (detached meanwhile) must not make room for others.
	 */
	if (c && *(volatile __s64 *)&c->active > 0)
		__sync_fetch_and_add(&c->active, -1);
}

#endif /* SLUICE_HOSTPACE_H */
