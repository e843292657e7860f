/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The host side's own maps (bpf/host.bpf.c), beside the data plane's
 * (sluice_maps.bpf.h, whose service, backend, Maglev, breaker and signal
 * maps the host side reads and writes as the gateway does). Pinned under
 * the same root by the loader (loader/host.c).
 */
#ifndef SLUICE_HOST_MAPS_BPF_H
#define SLUICE_HOST_MAPS_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"

/* What each balanced socket was sent to (freed with the socket). */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sluice_host_sock);
} sl_host_socks SEC(".maps");

/* Attached cgroups and the services each balances. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct sluice_host_scope_key);
	__type(value, struct sluice_host_scope);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sl_host_scope SEC(".maps");

/*
 * Outbound connections in use per service (index = service id,
 * SLUICE_CONNS_GLOBAL = all services): apart from sl_conns, which the
 * sweep recounts from the flow table that host sockets are not in.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_MAX_SERVICES + 1);
	__uint(map_flags, BPF_F_MMAPABLE); /* read whole by userspace */
	__type(key, __u32);
	__type(value, struct sluice_conns);
} sl_host_conns SEC(".maps");

/*
 * Connect rate per service on this host: the service's rate and burst
 * (sluice_svc.rate) applied to its connects, one token each, in a bucket
 * of the host's own (sl_svc_rl is the gateway's, per packet).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct sluice_bucket);
} sl_host_rl SEC(".maps");

/*
 * Balanced TCP connections per service that are paced to a share of its
 * egress-rate (SLUICE_HOST_F_PACED sockets; index = service id).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct sluice_conns);
} sl_pace_conns SEC(".maps");

/* Per-service host-side counters. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct sluice_host_counter);
} sl_host_stats SEC(".maps");

#endif /* SLUICE_HOST_MAPS_BPF_H */
