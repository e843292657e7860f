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

/* A key of each service and its value, indexed by service id (struct sluice_svc_ent). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct sluice_svc_ent);
} sl_svc_byid SEC(".maps");

/* Per-service verdict counters, indexed by service id: 4.5 MiB per possible CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct sluice_svc_counters);
} sl_svc_stats_v4 SEC(".maps");

/* Global counters, indexed by enum sluice_reason. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_REASON_SLOTS);
	__type(key, __u32);
	__type(value, struct sluice_counter);
} sl_glb_stats_v2 SEC(".maps");

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

/* Backends of every service, indexed by backend id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_MAX_BACKENDS);
	__uint(map_flags, BPF_F_MMAPABLE); /* read whole by userspace */
	__type(key, __u32);
	__type(value, struct sluice_backend);
} sl_backends SEC(".maps");

/* Per-backend counters (forward direction), indexed by backend id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct sluice_be_counter);
} sl_be_stats SEC(".maps");

/*
 * Template of a Maglev table (see SLUICE_MAGLEV_SIZE_SLOT). BPF_F_INNER_MAP
 * lets each service's table have its own size M + 1.
 */
struct sluice_maglev_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_MAGLEV_M_DEFAULT + 1);
	__uint(map_flags, BPF_F_INNER_MAP);
	__type(key, __u32);
	__type(value, __u32);
};

/* Maglev tables by table id (service id, or a shard subset's id). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, SLUICE_MAX_TABLES);
	__type(key, __u32);
	__array(values, struct sluice_maglev_inner);
} sl_maglev SEC(".maps");

/* Flow table: the backend each flow began with (LRU; size set by the loader). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SLUICE_FLOWS_DEFAULT);
	__type(key, struct sluice_flow_key);
	__type(value, struct sluice_flow);
} sl_flows_v3 SEC(".maps");

/* Return-path translation of nat flows, keyed backend -> client (same size as sl_flows). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SLUICE_FLOWS_DEFAULT);
	__type(key, struct sluice_flow_key);
	__type(value, struct sluice_nat_rev_ent);
} sl_nat_rev_v2 SEC(".maps");

/* The generation of the next hops cached in flows (struct sluice_nh); 0: no caching. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sl_nh_gen SEC(".maps");

/*
 * Stateless return path of nat: backend -> service, from the configuration
 * (userspace), for the replies sl_nat_rev has no entry for. Not
 * preallocated: most gateways use few of the ids.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_BACKENDS);
	__type(key, struct sluice_be_rev_key);
	__type(value, struct sluice_nat_rev);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sl_be_rev SEC(".maps");

/* Locator: client prefixes pinned to a backend or a subset, per service. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__type(key, struct sluice_shard_key);
	__type(value, struct sluice_shard);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sl_shards SEC(".maps");

/* Shard subset membership (userspace bookkeeping; see struct sluice_subset). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_MAX_SUBSETS);
	__type(key, __u32);
	__type(value, struct sluice_subset);
} sl_subsets SEC(".maps");

/* Bulkhead and breaker settings per service. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_MAX_SERVICES);
	__uint(map_flags, BPF_F_MMAPABLE); /* read whole by userspace */
	__type(key, __u32);
	__type(value, struct sluice_svc_res);
} sl_svc_res SEC(".maps");

/* The global bulkhead (one entry). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_res_global);
} sl_res_global SEC(".maps");

/* Connections in use per service, and globally; mmapable for the sweep. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_MAX_SERVICES + 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct sluice_conns);
} sl_conns SEC(".maps");

/* Critical client prefixes per service (may use the bulkhead's reserve). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__type(key, struct sluice_shard_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} sl_critical SEC(".maps");

/* Circuit breakers, indexed by backend id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_MAX_BACKENDS);
	__uint(map_flags, BPF_F_MMAPABLE); /* read whole by userspace */
	__type(key, __u32);
	__type(value, struct sluice_breaker);
} sl_breakers SEC(".maps");

/* Passive health signals per backend. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct sluice_be_signals);
} sl_be_signals SEC(".maps");

/* Breaker outcomes per service. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct sluice_res_counter);
} sl_res_stats SEC(".maps");

/* Leader of each service: where its write flows go (userspace-written). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct sluice_leader);
} sl_leaders SEC(".maps");

/*
 * Handshakes in flight: a TCP connection's only state before the client's
 * ACK (flow.h), and what failover needs to move or replay its SYN.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SLUICE_SYN_ENTRIES);
	__type(key, struct sluice_flow_key);
	__type(value, struct sluice_syn);
} sl_syn_v2 SEC(".maps");

/*
 * Per-CPU scratch of the data plane (BPF only, never read by userspace):
 * the entry's FIB lookup, the struct sluice_syn built before it goes into
 * sl_syn_v2, and the working values of the failover subprograms. On the
 * stack they would pass its 512-byte limit: a subprogram's frame counts
 * on top of the entry's, which was ~400 bytes with the FIB lookup in it.
 */
struct sluice_scratch {
	struct bpf_fib_lookup fib; /* the packet's way out (fwd.h) */
	struct sluice_syn syn;
	struct sluice_flow_key key;  /* the flow: client -> service */
	struct sluice_flow_key rkey; /* its return translation's key: backend -> client */
	struct sluice_svc_key skey;  /* its service */
	/* What sluice_fo_report() counts and publishes after a failover step. */
	__u32 fo_signal; /* signal type for fo_old (0: nothing to report) */
	__u32 fo_what;	 /* SLUICE_FO_R_* */
	__u32 fo_svc;	 /* the service */
	__u32 fo_old;	 /* the backend that failed */
	__u32 fo_new;	 /* the backend the flow moved to (SLUICE_FO_R_MOVED) */
	/* The move's working values (their addresses go to sluice_choose, sluice_fo_pick). */
	__u32 id, table_id, hash, cid, flags;
	struct sluice_nat_rev_ent rev; /* the new return translation (no next hop yet) */
	__be16 bport;		       /* the new backend's port */
	__u8 nat;		       /* the flow is a nat flow (its return translation moves) */
	__u8 pad2;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_scratch);
} sl_scratch_v2 SEC(".maps");

/* Failover settings per service. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct sluice_svc_fo);
} sl_svc_fo SEC(".maps");

/* Consecutive handshake failures per backend (the fast trip's count). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct sluice_be_fo);
} sl_be_fo SEC(".maps");

/* Failover outcomes per service and per backend. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct sluice_fo_counter);
} sl_fo_svc SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct sluice_fo_counter);
} sl_fo_be SEC(".maps");

/* Breaker signals to userspace (struct sluice_event records). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SLUICE_EVENTS_BYTES);
} sl_events SEC(".maps");

/* The MAC of each attached interface, by ifindex (struct sluice_ifmac). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_IFMAC_ENTRIES);
	__type(key, __u32);
	__type(value, struct sluice_ifmac);
} sl_ifmac SEC(".maps");

/* This host's own addresses (struct sluice_local_addr): martian as a source. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_LOCAL_ADDR_ENTRIES);
	__type(key, union sluice_addr);
	__type(value, struct sluice_local_addr);
} sl_local_addr SEC(".maps");

/* Port bitmaps in front of the service and return lookups (struct sluice_ports). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct sluice_ports);
} sl_ports_v2 SEC(".maps");

/* Gateway-wide settings (one entry). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_config);
} sl_config SEC(".maps");

/* sluice trace: whether and what to trace (one entry; see struct sluice_trace_cfg). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_trace_cfg);
} sl_trace_cfg SEC(".maps");

/*
 * The record of the packet in flight, per CPU (BPF only): the entry copies
 * the frame's first bytes here before any stage rewrites it, the exit
 * fills in the decision and sends it. sample_left counts the sampling down.
 */
struct sluice_trace_buf {
	struct sluice_trace_rec rec;
	__u32 sample_left; /* matching packets to skip before the next record */
	__u32 pad;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_trace_buf);
} sl_trace_buf SEC(".maps");

/* Decisions traced (struct sluice_trace_rec records), for sluice trace. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SLUICE_TRACE_BYTES);
} sl_trace SEC(".maps");

/* Egress pacing: a service's egress-rate and departure clock (struct sluice_pace). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct sluice_pace);
} sl_svc_pace SEC(".maps");

/* Egress pacing counters per service. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct sluice_pace_counter);
} sl_pace_stats SEC(".maps");

#endif /* SLUICE_MAPS_BPF_H */
