/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The BPF side of the map ABI: SEC(".maps") definitions of every Sluice map.
 * Included by the entry programs only; key and value types come from
 * sluice_abi.h. Maps are not pinned here: the loader sets each map's pin path
 * (under SLUICE_PIN_ROOT) before load, so libbpf reuses pinned maps on a
 * re-attach and tests can load private, unpinned copies.
 */
#ifndef SLUICE_MAPS_BPF_H
#define SLUICE_MAPS_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "sluice_abi.h"

/* Services by (address, port, protocol). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_SERVICES);
	__type(key, struct sluice_svc_key);
	__type(value, struct sluice_svc);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sl_services SEC(".maps");

/* Per-service counters, indexed by sluice_svc_stat_index(id, reason). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_MAX_SERVICES *SLUICE_REASON_SLOTS);
	__type(key, __u32);
	__type(value, struct sluice_counter);
} sl_svc_stats SEC(".maps");

/* Global counters, indexed by enum sluice_reason. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_REASON_SLOTS);
	__type(key, __u32);
	__type(value, struct sluice_counter);
} sl_glb_stats SEC(".maps");

/* Whole-service token buckets, indexed by service id (shared by all CPUs). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct sluice_bucket);
} sl_svc_rl SEC(".maps");

/* Per-client token buckets; LRU so a flood of sources cannot exhaust it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SLUICE_CLIENT_RL_ENTRIES);
	__type(key, struct sluice_client_key);
	__type(value, struct sluice_bucket);
} sl_client_rl SEC(".maps");

#endif /* SLUICE_MAPS_BPF_H */
