/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Sluice map ABI: the one header shared by the BPF programs and userspace.
 *
 * Every key, value, enum and limit that crosses the kernel/user boundary is
 * defined here exactly once. Rules (see STYLE.md):
 *  - fixed-width types only, explicit named padding, no bitfields or pointers;
 *  - every struct has a _Static_assert on its size;
 *  - map names fit the kernel's 15 characters so kernel name == pin name;
 *  - a layout change renames the map (suffix _v2, ...) and bumps
 *    SLUICE_ABI_VERSION, so a stale pin is never read with the wrong layout.
 *
 * Addresses are 16 bytes everywhere: IPv4 is stored v4-mapped (::ffff:a.b.c.d),
 * so IPv6 needs no second layout.
 *
 * Room to grow: a service is identified by a small dense id (struct
 * sluice_svc.id) allocated by userspace. Per-service state that later stages
 * add (backends, Maglev tables, bulkhead counts, leaders) lives in maps indexed
 * by that id, so adding a stage adds maps without touching these layouts.
 */
#ifndef SLUICE_ABI_H
#define SLUICE_ABI_H

#include <linux/types.h>

/*
 * 11: a cached next hop per flow (struct sluice_nh): sl_flows_v3 (64-byte
 *    values), sl_nat_rev_v2 (struct sluice_nat_rev_ent), sl_nh_gen, and
 *    sl_scratch_v2 (its layout). Stale pins must go (maps_open() refuses them).
 * 10: sl_svc_byid (a service key and value by id: the established path
 *    finds its flow first and the service through it, issue 12); a new,
 *    zeroed sl_svc_byid is filled by the loader and a zeroed entry only
 *    costs the sl_services lookup. sl_ports_v2: a third bitmap, the keys
 *    of nat and ipip services (hashed), which take the flow first. Egress
 *    pacing (issue 15): sl_svc_pace (a service's egress-rate and its EDT
 *    departure clock), sl_pace_stats. sl_syn_v2: a pending handshake's
 *    service and creation time (the sweep's SYN timeout, issue 13).
 * 9: sl_svc_stats_v4, 18 slots per service: bad_flags and martian are
 *    counted per service too; sl_local_addr (this host's addresses, martian
 *    as a source); sl_ports (port bitmaps in front of the service and
 *    return lookups); sl_be_rev, the stateless return path of nat (issue
 *    14): backend address, port and protocol -> service address and port.
 * 7: sluice trace: sl_trace (ring buffer), sl_trace_cfg, sl_trace_buf. No
 *    existing layout changed: older pins get the new maps on the next load.
 * 8: sl_ifmac (the interface's MAC for the promiscuous-mode check); reasons
 *    other_host, bad_flags and martian (global slots only).
 * 9: sl_ports (port bitmaps in front of the service and return-path
 *    lookups). No existing layout changed; a new, zeroed sl_ports is off.
 * 6: failover: sl_syn_v2, sl_svc_fo, sl_be_fo, sl_fo_svc, sl_fo_be, sl_scratch,
 *    events 4-7.
 * 5: limits of 16384 services and 65536 backends (every per-id map grows:
 * a stale pin's max_entries no longer matches, so libbpf's reuse check and
 * maps_open() refuse it); sl_svc_stats_v3, one value of the 16
 * service-verdict slots per service; sl_backends, sl_breakers and
 * sl_svc_res mmapable.
 * 4: sl_leaders, sluice_svc.flags, reasons no_leader and leader_moved.
 */
#define SLUICE_ABI_VERSION 11

/* Default bpffs folder of the pins; SLUICE_PIN_ROOT in the environment overrides. */
#define SLUICE_PIN_ROOT_DEFAULT "/sys/fs/bpf/sluice"

/* Map names: kernel name and pin file name (<= 15 characters). */
#define SLUICE_MAP_SERVICES "sl_services"
#define SLUICE_MAP_SVC_STATS "sl_svc_stats_v4" /* v4: one value of 18 slots per service */
#define SLUICE_MAP_GLB_STATS "sl_glb_stats_v2" /* v2: 32 reason slots */
#define SLUICE_MAP_SVC_RL "sl_svc_rl"
#define SLUICE_MAP_CLIENT_RL "sl_client_rl"
#define SLUICE_MAP_BACKENDS "sl_backends"
#define SLUICE_MAP_BE_STATS "sl_be_stats"
#define SLUICE_MAP_MAGLEV "sl_maglev"
#define SLUICE_MAP_FLOWS "sl_flows_v3"	   /* v3: a cached next hop (struct sluice_nh) */
#define SLUICE_MAP_NAT_REV "sl_nat_rev_v2" /* v2: a cached next hop */
#define SLUICE_MAP_NH_GEN "sl_nh_gen"
#define SLUICE_MAP_SHARDS "sl_shards"
#define SLUICE_MAP_CONFIG "sl_config"
#define SLUICE_MAP_SUBSETS "sl_subsets"
#define SLUICE_MAP_SVC_RES "sl_svc_res"
#define SLUICE_MAP_RES_GLOBAL "sl_res_global"
#define SLUICE_MAP_CONNS "sl_conns"
#define SLUICE_MAP_CRITICAL "sl_critical"
#define SLUICE_MAP_BREAKERS "sl_breakers"
#define SLUICE_MAP_BE_SIGNALS "sl_be_signals"
#define SLUICE_MAP_RES_STATS "sl_res_stats"
#define SLUICE_MAP_EVENTS "sl_events"
#define SLUICE_MAP_LEADERS "sl_leaders"
#define SLUICE_MAP_SYN "sl_syn_v2"	    /* v2: + service, created time */
#define SLUICE_MAP_SVC_FO "sl_svc_fo"	    /* failover settings per service */
#define SLUICE_MAP_BE_FO "sl_be_fo"	    /* consecutive failures per backend (fast trip) */
#define SLUICE_MAP_FO_SVC "sl_fo_svc"	    /* failover outcomes per service */
#define SLUICE_MAP_FO_BE "sl_fo_be"	    /* failover outcomes per backend */
#define SLUICE_MAP_SCRATCH "sl_scratch_v2"  /* per-CPU scratch of the data plane (v2: ABI 11) */
#define SLUICE_MAP_TRACE "sl_trace"	    /* decisions traced (sluice trace): ring buffer */
#define SLUICE_MAP_TRACE_CFG "sl_trace_cfg" /* whether and what to trace */
#define SLUICE_MAP_TRACE_BUF "sl_trace_buf" /* per-CPU record being built (BPF only) */
#define SLUICE_MAP_IFMAC "sl_ifmac"	    /* MAC of each attached interface, by ifindex */
#define SLUICE_MAP_PORTS "sl_ports_v2"	    /* v2: + the flow-first keys' bitmap */

/* This host's own addresses, martian as sources (struct sluice_local_addr). */
#define SLUICE_MAP_LOCAL_ADDR "sl_local_addr"
#define SLUICE_MAP_BE_REV "sl_be_rev"	  /* stateless nat return: backend -> service */
#define SLUICE_MAP_SVC_BYID "sl_svc_byid" /* a key of each service and its value, by id */

/*
 * Limits. Every array indexed by a service or backend id is sized from
 * them, so they set the memory the maps take whether ids are used or not
 * (README "Scale and memory"; `sluice gateway sizes`). Per-CPU arrays cost
 * their size once per possible CPU: the per-service counters keep only the
 * service verdicts' slots (SLUICE_SVC_SLOTS) for that reason.
 */
#define SLUICE_MAX_SERVICES 16384	/* service ids are 0 .. SLUICE_MAX_SERVICES-1 */
#define SLUICE_REASON_SLOTS 32		/* global counter slots; >= SLUICE_R_MAX */
#define SLUICE_SVC_SLOTS 18		/* per-service counter slots: the verdicts, one spare */
#define SLUICE_CLIENT_RL_ENTRIES 65536	/* per-client buckets, LRU-bounded */
#define SLUICE_VLAN_MAX 2		/* 802.1ad outer + 802.1Q inner tag */
#define SLUICE_IPV6_EXT_MAX 6		/* IPv6 extension headers walked before giving up */
#define SLUICE_IFMAC_ENTRIES 65536	/* sl_ifmac: interfaces of a higher ifindex go unchecked */
#define SLUICE_LOCAL_ADDR_ENTRIES 4096	/* sl_local_addr: addresses past it go unchecked */
#define SLUICE_RATE_MAX_PPS 1000000000u /* highest configurable rate, packets/s */
#define SLUICE_MAX_BACKENDS 65536     /* backend ids are 0 .. SLUICE_MAX_BACKENDS-1, all services */
#define SLUICE_NO_BACKEND 0xffffffffu /* "no backend" in tables, shards and flows */
#define SLUICE_MAX_SUBSETS 1024	      /* shard subsets, each with its own Maglev table */
#define SLUICE_SUBSET_MAX_MEMBERS 32  /* backends in one subset */
/* Maglev tables: id = service id, or SLUICE_MAX_SERVICES + subset number. */
#define SLUICE_MAX_TABLES (SLUICE_MAX_SERVICES + SLUICE_MAX_SUBSETS)
#define SLUICE_MAGLEV_M_DEFAULT 65537u /* table size, a prime */
#define SLUICE_MAGLEV_M_MAX 655373u    /* largest table size, a prime */
#define SLUICE_FLOWS_DEFAULT 262144    /* flow table entries (LRU) unless the loader is told */
#define SLUICE_UDP_TIMEOUT_DEFAULT_NS 30000000000ull /* idle UDP flow expiry: 30 s */

/*
 * Token-bucket time unit. Rates are kept as GCRA intervals in 1/16 ns
 * ("ticks") so that high rates keep their precision (1e9/3e6 pps = 333.33 ns
 * is 5333 ticks, an error of 0.006 %) and a u64 of ticks still spans 36 years
 * of uptime.
 */
#define SLUICE_TICK_SHIFT 4

/* Forwarding mode of a service. */
enum sluice_mode {
	SLUICE_MODE_LOCAL = 1, /* admission only, then pass to the host's stack */
	SLUICE_MODE_NAT = 2,   /* DNAT to the backend; return path translated back */
	SLUICE_MODE_IPIP = 3,  /* IPIP / IP6IP6 encapsulation to the backend (DSR) */
};

/* What a service hashes to pick a backend for a new flow. */
enum sluice_hash {
	SLUICE_HASH_5TUPLE = 0, /* addresses, ports and protocol */
	SLUICE_HASH_CLIENT = 1, /* client address only: a client's flows share a backend */
};

/* How a refused new TCP connection is answered (bulkhead, breaker fail-fast). */
enum sluice_refuse {
	SLUICE_REFUSE_RST = 0,	/* a TCP RST back to the client: fails fast, like a 503 */
	SLUICE_REFUSE_DROP = 1, /* silence: the client retries or times out */
};

/* What a new flow does when the backend Maglev chose has its breaker open. */
enum sluice_on_open {
	SLUICE_ON_OPEN_NEXT = 0,      /* next Maglev choice not open, else fallback, else refuse */
	SLUICE_ON_OPEN_FALLBACK = 1,  /* the service's fallback backend, else refuse */
	SLUICE_ON_OPEN_FAIL_FAST = 2, /* refuse at once */
};

/* Circuit-breaker state of a backend (sl_breakers). */
enum sluice_brk_state {
	SLUICE_BRK_CLOSED = 0,	  /* normal: takes new flows */
	SLUICE_BRK_OPEN = 1,	  /* failing: new flows avoid it; established flows stay */
	SLUICE_BRK_HALF_OPEN = 2, /* probing: at most probes_left new flows, the rest as open */
};

/* Breaker signal types in the sl_events ring buffer. */
enum sluice_event_type {
	SLUICE_EV_SUCCESS = 1, /* handshake answered (SYN-ACK seen, or the client's ACK in ipip) */
	SLUICE_EV_REFUSED = 2, /* the backend answered a SYN with RST */
	SLUICE_EV_UNREACHABLE = 3,  /* ICMP destination unreachable about a flow to the backend */
	SLUICE_EV_FAST_TRIP = 4,    /* the data plane opened the backend's breaker (fast trip) */
	SLUICE_EV_SYN_RETRY = 5,    /* the client retransmitted its SYN: the backend is silent */
	SLUICE_EV_REDISPATCHED = 6, /* a flow moved after a failure got its SYN-ACK here */
	SLUICE_EV_RETRY_EXHAUSTED = 7, /* a failure the retries could not save (client told) */
};

/* A signal type that is a failure of the backend's handshake. */
static inline int sluice_ev_failure(__u32 type)
{
	return type == SLUICE_EV_REFUSED || type == SLUICE_EV_UNREACHABLE ||
	       type == SLUICE_EV_SYN_RETRY;
}

/* State of a backend slot in sl_backends. */
enum sluice_be_state {
	SLUICE_BE_UNUSED = 0,	/* free slot: a flow pointing here is steered again */
	SLUICE_BE_ACTIVE = 1,	/* in the Maglev table, takes new flows */
	SLUICE_BE_DRAINING = 2, /* out of the table, keeps its established flows */
};

/*
 * Why a packet got its verdict: the index of every counter. The first group
 * are pass reasons for traffic that is not (or cannot be) a service packet;
 * then the service verdicts. Each is counted globally (sl_glb_stats_v2) and, for
 * the service verdicts, per service (sl_svc_stats_v4).
 */
enum sluice_reason {
	SLUICE_R_ADMITTED = 0,	/* service packet admitted */
	SLUICE_R_NOT_SERVICE,	/* IP packet that matches no service: passed */
	SLUICE_R_NOT_IP,	/* neither IPv4 nor IPv6 (ARP, LLDP...): passed */
	SLUICE_R_NOT_L4,	/* IP but neither TCP nor UDP: passed */
	SLUICE_R_FRAGMENT,	/* IP fragment (no L4 header to match): passed */
	SLUICE_R_MALFORMED,	/* truncated or malformed header: passed, never forwarded */
	SLUICE_R_EXT_LIMIT,	/* IPv6 extension chain longer than SLUICE_IPV6_EXT_MAX: passed */
	SLUICE_R_DROP_SVC_RATE, /* dropped: service token bucket empty */
	SLUICE_R_DROP_CLIENT_RATE, /* dropped: per-client token bucket empty */
	SLUICE_R_FWD,	     /* forwarded to a backend (nat or ipip): redirected or sent back out */
	SLUICE_R_FWD_STACK,  /* rewritten for a backend, next hop unresolved: passed to the stack */
	SLUICE_R_REV_NAT,    /* return packet of a nat flow: source translated back, forwarded */
	SLUICE_R_NO_BACKEND, /* service has no backend that can take the flow: dropped */
	SLUICE_R_TTL,	  /* TTL / hop limit would expire: passed to the stack (ICMP from there) */
	SLUICE_R_TOO_BIG, /* encapsulated packet larger than the egress MTU: dropped */
	SLUICE_R_ENCAP_FAIL, /* no encapsulation source configured, or no headroom: dropped */
	SLUICE_R_BH_SERVICE, /* new connection over the service's bulkhead: refused (RST or drop) */
	SLUICE_R_BH_GLOBAL,  /* new connection over the global bulkhead: refused (RST or drop) */
	SLUICE_R_BRK_OPEN, /* every backend choice's breaker open, fail fast: refused (RST or drop) */
	SLUICE_R_NO_LEADER, /* write flow while the service has no leader: refused (RST or drop) */
	SLUICE_R_LEADER_MOVED, /* packet of a write flow whose backend is no longer the leader: RST/drop */
	/* Counted globally only: no service matched (it is checked before the match). */
	SLUICE_R_OTHER_HOST, /* unicast frame for another MAC (promiscuous mode): passed untouched */
	SLUICE_R_BAD_FLAGS,  /* service TCP segment with an invalid flag combination: dropped */
	SLUICE_R_MARTIAN,    /* service packet from a martian source address: dropped */
	SLUICE_R_MAX,
};
_Static_assert(SLUICE_R_MAX <= SLUICE_REASON_SLOTS, "reasons must fit the global slots");

/*
 * The service verdicts, the reasons counted per service too: admitted, and
 * SLUICE_R_DROP_SVC_RATE .. SLUICE_R_SVC_LAST but other_host (the reasons
 * before are about packets that matched no service, and so is other_host).
 * Slot 0 is admitted, the others follow in enum order (sluice_svc_slot).
 * Each slot costs 256 KiB per possible CPU (16384 services x 16 bytes).
 */
#define SLUICE_R_SVC_LAST SLUICE_R_MARTIAN
#define SLUICE_R_IS_SVC_VERDICT(r)                                                                 \
	((r) == SLUICE_R_ADMITTED || ((r) >= SLUICE_R_DROP_SVC_RATE && (r) <= SLUICE_R_SVC_LAST && \
				      (r) != SLUICE_R_OTHER_HOST))
_Static_assert(SLUICE_R_SVC_LAST - SLUICE_R_DROP_SVC_RATE + 1 <= SLUICE_SVC_SLOTS,
	       "service verdicts must fit the per-service slots");

/*
 * The refusals: a new (or moved) connection turned away, answered by the
 * refuse stage with a RST or a drop. The one list of them, for the data
 * plane's exit and for userspace alike.
 */
#define SLUICE_R_IS_REFUSAL(r)                                                                  \
	((r) == SLUICE_R_BH_SERVICE || (r) == SLUICE_R_BH_GLOBAL || (r) == SLUICE_R_BRK_OPEN || \
	 (r) == SLUICE_R_NO_LEADER || (r) == SLUICE_R_LEADER_MOVED)

/*
 * sl_ifmac value (array indexed by ifindex): the MAC of an interface Sluice
 * is attached to, written by the loader at attach and cleared at detach. A
 * unicast frame for any other MAC (the interface in promiscuous mode) is
 * passed untouched. set 0: no check (not attached, or not Ethernet).
 */
struct sluice_ifmac {
	__u8 mac[6];
	__u8 set; /* 1: mac holds the interface's address */
	__u8 pad; /* must be zero */
};
_Static_assert(sizeof(struct sluice_ifmac) == 8, "sluice_ifmac layout");

/*
 * sl_local_addr (hash, key union sluice_addr): every address configured on
 * this host's interfaces, in the network namespace of the loader and the
 * daemon. XDP sees frames from the wire only (the host's own traffic to a
 * service never passes it), so a service packet from one of them is spoofed:
 * dropped as martian. That holds for the VIPs this host holds too. Written
 * by the loader at attach and kept true by sluiced (rtnetlink address
 * events); without sluiced, changes after the attach go unseen.
 */
struct sluice_local_addr {
	__u32 ifindex; /* an interface holding the address (for display) */
};
_Static_assert(sizeof(struct sluice_local_addr) == 4, "sluice_local_addr layout");

/* A 16-byte address; IPv4 as ::ffff:a.b.c.d. */
union sluice_addr {
	__u8 u8[16];
	__be16 u16[8];
	__be32 u32[4];
};
_Static_assert(sizeof(union sluice_addr) == 16, "sluice_addr layout");

/* sl_services key: what a packet is matched on. */
struct sluice_svc_key {
	union sluice_addr addr; /* service (destination) address */
	__be16 port;		/* destination L4 port, network order */
	__u8 proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;		/* must be zero */
};
_Static_assert(sizeof(struct sluice_svc_key) == 20, "sluice_svc_key layout");

/*
 * A token bucket as the data plane uses it (GCRA, "virtual scheduling"): a
 * packet is admitted when max(tat, now) + interval - now <= tolerance. Both
 * figures are computed in userspace so the data plane never divides.
 */
struct sluice_rate {
	__u64 interval;	 /* ticks between tokens (1e9 << SHIFT / pps); 0 = unlimited */
	__u64 tolerance; /* burst * interval, in ticks */
	__u32 pps;	 /* configured rate, packets per second (for display) */
	__u32 burst;	 /* configured burst, packets (for display) */
};
_Static_assert(sizeof(struct sluice_rate) == 24, "sluice_rate layout");

/* sl_services value: the service's configuration. */
struct sluice_svc {
	__u32 id;			/* dense id: index into every per-service map */
	__u8 mode;			/* enum sluice_mode */
	__u8 hash;			/* enum sluice_hash */
	__u8 flags;			/* SLUICE_SVC_F_* (per key: a write port differs) */
	__u8 pad;			/* must be zero */
	struct sluice_rate rate;	/* whole-service bucket */
	struct sluice_rate client_rate; /* per client address bucket */
};
_Static_assert(sizeof(struct sluice_svc) == 56, "sluice_svc layout");

/*
 * sluice_svc.flags. A CQRS service has two keys with the same id: its read
 * port (flags 0: Maglev over the replicas) and its write port
 * (SLUICE_SVC_F_LEADER). A service that only follows a leader has
 * SLUICE_SVC_F_LEADER on its one key.
 */
#define SLUICE_SVC_F_LEADER 0x1 /* new flows go to sl_leaders[id], never to the Maglev table */

/*
 * sl_svc_byid value (array indexed by service id): one sl_services key of
 * the service and a copy of its value, so a packet of a known flow finds
 * its service from the flow's svc_id (an array lookup) instead of hashing
 * the 20-byte key (issue 12). The data plane uses it only when key is the
 * packet's own destination, port and protocol and svc.id is the index;
 * anything else (a zeroed entry, another key of the id, a deleted or
 * re-created service) falls back to sl_services. Userspace writes the
 * service's main key here after sl_services and zeroes the entry before
 * deleting the key, so a deleted service is never followed.
 */
struct sluice_svc_ent {
	struct sluice_svc svc;	   /* as sl_services holds it for key */
	struct sluice_svc_key key; /* the key; proto 0: entry unused */
	__u32 pad;		   /* must be zero */
};
_Static_assert(sizeof(struct sluice_svc_ent) == 80, "sluice_svc_ent layout");

/* sl_svc_rl value (array indexed by service id) and sl_client_rl value. */
struct sluice_bucket {
	__u64 tat; /* GCRA theoretical arrival time, ticks of CLOCK_MONOTONIC */
};
_Static_assert(sizeof(struct sluice_bucket) == 8, "sluice_bucket layout");

/* sl_client_rl key: one bucket per (service, client address). */
struct sluice_client_key {
	__u32 svc_id;		/* service id */
	union sluice_addr addr; /* client (source) address */
};
_Static_assert(sizeof(struct sluice_client_key) == 20, "sluice_client_key layout");

/* One counter: value of sl_glb_stats_v2 (per-CPU, summed by readers). */
struct sluice_counter {
	__u64 packets;
	__u64 bytes; /* frame bytes as seen by XDP */
};
_Static_assert(sizeof(struct sluice_counter) == 16, "sluice_counter layout");

/*
 * sl_svc_stats_v4 value (per-CPU array indexed by service id): a service's
 * verdict counters, slot sluice_svc_slot(reason). One element per service
 * rather than one per (service, reason): a per-CPU array allocates each
 * element apart, so creating 16384 x 16 elements took 0.4 s against 25 ms.
 */
struct sluice_svc_counters {
	struct sluice_counter slot[SLUICE_SVC_SLOTS];
};
_Static_assert(sizeof(struct sluice_svc_counters) == 288, "sluice_svc_counters layout");

/* sl_backends value (array indexed by backend id). */
struct sluice_backend {
	union sluice_addr addr; /* backend address (same family as the service in nat) */
	__be16 port;		/* nat: destination port rewritten to; ipip: 0 (unchanged) */
	__u8 state;		/* enum sluice_be_state */
	__u8 flags;		/* SLUICE_BE_F_*, derived by userspace (berev.c) */
	__u32 svc_id;		/* the service this backend serves */
	__u32 weight;		/* Maglev weight as configured (the table holds the result) */
};
_Static_assert(sizeof(struct sluice_backend) == 28, "sluice_backend layout");

/*
 * sluice_backend.flags. REV_STATELESS: sl_be_rev holds this backend (its
 * address, port and protocol) translated back to its own service and id,
 * so a new nat flow to it needs no sl_nat_rev entry. Set only while that
 * entry is in sl_be_rev: cleared before the entry changes or goes, set
 * after it is written, and cleared by every write that changes the
 * backend's address, port or service. Clear means "insert", which is
 * always correct (an older control plane never sets it).
 */
#define SLUICE_BE_F_REV_STATELESS 0x1

/* sl_be_stats value (per-CPU array indexed by backend id): forward direction. */
struct sluice_be_counter {
	__u64 packets;	 /* packets sent to this backend */
	__u64 bytes;	 /* their bytes, as received (before encapsulation) */
	__u64 new_flows; /* flows this backend was chosen for */
};
_Static_assert(sizeof(struct sluice_be_counter) == 24, "sluice_be_counter layout");

/*
 * sl_maglev: array of maps indexed by table id. Each inner map is an array of
 * M + 1 __u32: entry 0 holds M, entries 1..M the backend ids of the Maglev
 * lookup table (SLUICE_NO_BACKEND when empty). Userspace publishes a new table
 * by filling a fresh inner map completely and then swapping the outer entry
 * (one pointer store), so the data plane sees the old table or the new one,
 * never a mix, and M always matches the table it reads.
 */
#define SLUICE_MAGLEV_SIZE_SLOT 0

/*
 * sl_flows key: one direction of a connection as the gateway receives it.
 * Also the sl_nat_rev key, there with src = backend, dst = client.
 */
struct sluice_flow_key {
	union sluice_addr src; /* client address (sl_nat_rev: backend address) */
	union sluice_addr dst; /* service address (sl_nat_rev: client address) */
	__be16 sport;	       /* source port */
	__be16 dport;	       /* destination port */
	__u8 proto;	       /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad[3];	       /* must be zero */
};
_Static_assert(sizeof(struct sluice_flow_key) == 40, "sluice_flow_key layout");

/* sluice_flow.flags: connection state (updated with atomic and/or). */
#define SLUICE_FLOW_COUNTED 0x1	       /* holds a slot of its service's bulkhead */
#define SLUICE_FLOW_COUNTED_GLOBAL 0x2 /* holds a slot of the global bulkhead */
#define SLUICE_FLOW_ESTABLISHED 0x4  /* handshake answered: SYN-ACK seen (nat), client ACK (ipip) */
#define SLUICE_FLOW_FIN_CLIENT 0x8   /* FIN seen from the client */
#define SLUICE_FLOW_FIN_BACKEND 0x10 /* FIN seen from the backend (nat only) */
#define SLUICE_FLOW_PROBE 0x20	     /* admitted as a half-open breaker probe */
#define SLUICE_FLOW_MOVED 0x40	     /* moved to another backend after a failure (failover) */

/*
 * A next hop cached in a flow (sl_flows, sl_nat_rev): the answer of
 * bpf_fib_lookup() for the flow's packets, written by the data plane
 * after a successful lookup and used instead of the next one while
 *  - gen equals sl_nh_gen (sluiced bumps it on every route, link and
 *    address change and a neighbour's new MAC, failure or removal; 0
 *    there turns the cache off),
 *  - backend_id is the flow's (a flow moved elsewhere looks up again),
 *  - the packet came in on in_ifindex and is no longer than fit_len (the
 *    L3 length the egress MTU check passed),
 *  - and it is younger than SLUICE_NH_MAX_AGE (the bound when nothing
 *    bumps gen).
 * Userspace writes it zero (empty) and never reads it.
 */
struct sluice_nh {
	__u32 gen;	  /* sl_nh_gen when filled; 0: empty */
	__u32 filled;	  /* the coarse clock when filled, in units of 2^SLUICE_NH_TICK_SHIFT ns */
	__u32 backend_id; /* the flow's backend when filled */
	__u32 in_ifindex; /* the interface the packet came in on */
	__u32 ifindex;	  /* egress */
	__u8 dmac[6];	  /* next hop */
	__u8 smac[6];	  /* egress address */
	__u16 fit_len;	  /* the L3 length the lookup's MTU check passed */
	__u16 pad;
};
_Static_assert(sizeof(struct sluice_nh) == 36, "sluice_nh layout");

/* struct sluice_nh's clock unit (about 1.05 ms) and age bound (about 1 s). */
#define SLUICE_NH_TICK_SHIFT 20
#define SLUICE_NH_MAX_AGE 953

/* sl_flows_v3 value: the cache-aside of the Maglev decision, and the connection's state. */
struct sluice_flow {
	__u32 backend_id; /* backend chosen when the flow began (NO_BACKEND: local service) */
	__u32 svc_id; /* its service (a reused backend slot of another service is not followed) */
	__u64 last_seen; /* clock of the last packet, refreshed once a second (or UDP timeout / 2) */
	__u64 created;	 /* bpf_ktime_get_ns() of the first packet (SYN timeout, idle sweep) */
	__u32 flags;	 /* SLUICE_FLOW_* */
	struct sluice_nh nh; /* forward: towards the backend (nat), or the outer header's (ipip) */
};
_Static_assert(sizeof(struct sluice_flow) == 64, "sluice_flow layout");

/* sl_nat_rev value: how to translate a nat flow's return packets. */
struct sluice_nat_rev {
	union sluice_addr vip; /* service address, the new source */
	__be16 vport;	       /* service port, the new source port */
	__u16 pad;	       /* must be zero */
	__u32 svc_id;	       /* service, for counting */
	__u32 backend_id;      /* backend, for counting */
};
_Static_assert(sizeof(struct sluice_nat_rev) == 28, "sluice_nat_rev layout");

/* sl_nat_rev_v2 value: the translation, and the next hop towards the client. */
struct sluice_nat_rev_ent {
	struct sluice_nat_rev rev;
	struct sluice_nh nh;
};
_Static_assert(sizeof(struct sluice_nat_rev_ent) == 64, "sluice_nat_rev_ent layout");

/*
 * sl_be_rev key (hash, value struct sluice_nat_rev): a nat backend as its
 * replies leave it, source address and port. Written by userspace from the
 * configuration for every backend address, port and protocol that serves
 * exactly one service address and port (publish.c), so any gateway
 * translates a reply it has no sl_nat_rev entry for (ECMP: the SYN went
 * through another gateway). An ambiguous backend has no entry.
 */
struct sluice_be_rev_key {
	union sluice_addr addr; /* backend address */
	__be16 port;		/* backend port (the source port of its replies) */
	__u8 proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;		/* must be zero */
};
_Static_assert(sizeof(struct sluice_be_rev_key) == 20, "sluice_be_rev_key layout");

/*
 * sl_shards key (LPM trie): prefixlen counts the 32 bits of svc_id + address bits.
 * Also the key of sl_critical (critical client prefixes of a service).
 */
struct sluice_shard_key {
	__u32 prefixlen;	/* 32 + client prefix length (IPv4 prefixes: 32 + 96 + len) */
	__u32 svc_id;		/* service; always matched in full */
	union sluice_addr addr; /* client prefix */
};
_Static_assert(sizeof(struct sluice_shard_key) == 24, "sluice_shard_key layout");

/* sl_shards value: where matching clients go, overriding the service's hash. */
struct sluice_shard {
	__u32 backend_id; /* pinned to this backend, or SLUICE_NO_BACKEND */
	__u32 table_id;	  /* else this subset's Maglev table (>= SLUICE_MAX_SERVICES) */
};
_Static_assert(sizeof(struct sluice_shard) == 8, "sluice_shard layout");

/*
 * sl_subsets value (array indexed by subset number = table id -
 * SLUICE_MAX_SERVICES): the members a subset's Maglev table is built from.
 * Read by userspace only (to rebuild the table when a member changes state);
 * kept in a pinned map so the pins alone describe the whole configuration.
 */
struct sluice_subset {
	__u32 svc_id; /* owning service; SLUICE_NO_BACKEND when the slot is free */
	__u32 count;  /* members used in backend_ids */
	__u32 backend_ids[SLUICE_SUBSET_MAX_MEMBERS]; /* member backend ids */
};
_Static_assert(sizeof(struct sluice_subset) == 136, "sluice_subset layout");

/*
 * sl_ports_v2 value (array of one, BPF_F_MMAPABLE): bitmaps of 65536 bits,
 * word p / 64, bit p % 64, that let a packet skip a hash lookup that cannot
 * hit (issue 12). svc and ret are indexed by port, flow by
 * sluice_key_bit():
 *  - svc: some sl_services key has destination port p; a packet whose
 *    destination port is clear is no service without the sl_services lookup;
 *  - ret: some nat backend record has port p; a packet matching no service
 *    whose source port is clear is no nat reply: no sl_nat_rev lookup;
 *  - flow: some sl_services key of a nat or ipip service hashes to the bit;
 *    a packet whose (destination, port, protocol) bit is set looks its flow
 *    up first (service.h): one that is clear (a local service, no service)
 *    would only pay a flow table miss, and takes sl_services first.
 * Read only while valid == SLUICE_PORTS_VALID: userspace sets it after it
 * filled both from the maps, so a zeroed map (a fresh pin, tests writing
 * the maps directly) is off and every packet takes both lookups. A bit may
 * be set for a port nothing uses (it costs the lookup it would have saved);
 * a port in use is never clear: userspace sets a bit before the key or
 * backend that needs it is written, and clears one only after the last
 * user is gone (userspace/dataplane/ports.c).
 */
#define SLUICE_PORT_WORDS 1024 /* 65536 ports / 64 */
#define SLUICE_PORTS_VALID 0x736c706f727473ull
struct sluice_ports {
	__u64 valid;		       /* SLUICE_PORTS_VALID: the bitmaps are complete */
	__u64 svc[SLUICE_PORT_WORDS];  /* service destination ports */
	__u64 ret[SLUICE_PORT_WORDS];  /* nat backend ports (replies' source ports) */
	__u64 flow[SLUICE_PORT_WORDS]; /* keys of nat and ipip services, by sluice_key_bit() */
};
_Static_assert(sizeof(struct sluice_ports) == 8 + 3 * 8 * SLUICE_PORT_WORDS, "sluice_ports layout");

/*
 * The flow bitmap's bit of a service key (address, port and protocol as a
 * packet carries them): a multiplicative hash of the folded words, the
 * same in the data plane and userspace. A few instructions, where the
 * flow table miss it saves costs a 40-byte jhash and a bucket walk.
 */
static inline __u32 sluice_key_bit(const union sluice_addr *addr, __be16 port, __u8 proto)
{
	__u32 x = addr->u32[0] ^ addr->u32[1] ^ addr->u32[2] ^ addr->u32[3] ^ ((__u32)port << 8) ^
		  proto;

	return (x * 0x9e3779b1u) >> 16;
}

/* sl_config value (array of one): gateway-wide settings that change at run time. */
struct sluice_config {
	union sluice_addr encap_src4; /* ipip outer IPv4 source base (v4-mapped); 0 = unset */
	union sluice_addr encap_src6; /* ipip outer IPv6 source base; 0 = unset */
	__u64 udp_timeout_ns; /* idle UDP flows older than this are steered anew; 0 = default */
};
_Static_assert(sizeof(struct sluice_config) == 40, "sluice_config layout");

/*
 * sl_svc_res value (array indexed by service id): bulkhead and breaker
 * settings. Zero in any field means its default, so a zeroed entry is a
 * service without limits and with default breaker settings. The brk_* fields
 * and syn_timeout_ms are read by the breaker state machine in userspace.
 */
struct sluice_svc_res {
	__u32 max_conns;     /* concurrent connections; 0 = no service limit */
	__u32 reserved;	     /* part of max_conns only critical clients (sl_critical) may use */
	__u32 fallback_be;   /* backend id + 1 for new flows while the choice is open; 0 = none */
	__u8 refuse;	     /* enum sluice_refuse */
	__u8 on_open;	     /* enum sluice_on_open */
	__u8 flags;	     /* SLUICE_RES_* */
	__u8 panic_pct;	     /* panic threshold: 0 = default (50), SLUICE_PANIC_OFF = off */
	__u32 brk_failures;  /* failures within the window that trip (default 30) */
	__u32 brk_window_ms; /* sliding window (default 10000) */
	__u32 brk_rate_pct;  /* failure rate that trips, percent (default 50) */
	__u32 brk_min_calls; /* calls in the window before the rate counts (default 20) */
	__u32 brk_wait_ms;   /* first open duration, doubled on each repeated trip (default 5000) */
	__u32 brk_wait_max_ms;	/* cap of the open duration (default 300000) */
	__u32 brk_probes;	/* half-open probe budget K (default 3) */
	__u32 brk_successes;	/* consecutive probe successes that close (default 3) */
	__u32 brk_max_open_pct; /* most of the service's backends open at once (default 50) */
	__u32 syn_timeout_ms;	/* a SYN unanswered this long is a failure (default 3000) */
};
_Static_assert(sizeof(struct sluice_svc_res) == 56, "sluice_svc_res layout");

#define SLUICE_RES_NO_GLOBAL 0x1 /* service excluded from the global bulkhead */
/*
 * Set by the breaker engine while the service is in panic: fewer than
 * panic_pct % of its active backends are healthy (breaker closed), so new
 * flows ignore the breakers and spread over every active backend.
 */
#define SLUICE_RES_PANIC 0x2
#define SLUICE_PANIC_DEFAULT_PCT 50
#define SLUICE_PANIC_OFF 0xff
#define SLUICE_CONNS_GLOBAL SLUICE_MAX_SERVICES /* sl_conns index of the global count */

/* sl_res_global value (array of one): the global bulkhead. */
struct sluice_res_global {
	__u32 max_conns; /* concurrent connections over all services; 0 = no limit */
	__u32 tcp_idle_s; /* established TCP flows idle longer are released by the sweep (default 3600) */
};
_Static_assert(sizeof(struct sluice_res_global) == 8, "sluice_res_global layout");

/*
 * sl_conns value (array, BPF_F_MMAPABLE, indexed by service id and
 * SLUICE_CONNS_GLOBAL): connections holding a bulkhead slot. The data plane
 * changes it with atomic adds; the reconcile sweep corrects drift with
 * atomic adds through the mmap, so neither side overwrites the other.
 */
struct sluice_conns {
	__s64 active; /* connections in use */
};
_Static_assert(sizeof(struct sluice_conns) == 8, "sluice_conns layout");

/* sl_breakers value (array indexed by backend id). */
struct sluice_breaker {
	__u32 state;	   /* enum sluice_brk_state, written by userspace (and the fast trip) */
	__s32 probes_left; /* half-open: probe admissions left (atomic decrement) */
};

/*
 * probes_left of an OPEN breaker the data plane opened itself (fast
 * trip), so a watcher that reads the map before the FAST_TRIP event tells
 * it from an operator's trip (written with 0).
 */
#define SLUICE_BRK_FAST_TRIPPED (-0x5107)
/*
 * probes_left of a breaker the daemon's health check wrote: OPEN because
 * the check is down, CLOSED because it came up. The data plane reads
 * probes_left in HALF_OPEN only; the marks tell watchers and `breaker
 * show` that a health check, not an operator, set the state.
 */
#define SLUICE_BRK_HEALTH_DOWN (-0x5108)
#define SLUICE_BRK_HEALTH_UP (-0x5109)
_Static_assert(sizeof(struct sluice_breaker) == 8, "sluice_breaker layout");

/* sl_be_signals value (per-CPU array indexed by backend id): passive health signals. */
struct sluice_be_signals {
	__u64 successes;   /* handshakes answered */
	__u64 refused;	   /* SYNs answered with RST */
	__u64 unreachable; /* ICMP unreachable about flows to the backend */
	__u64 probes;	   /* half-open probe connections admitted */
};
_Static_assert(sizeof(struct sluice_be_signals) == 32, "sluice_be_signals layout");

/* sl_res_stats value (per-CPU array indexed by service id): breaker outcomes. */
struct sluice_res_counter {
	__u64 rerouted_next;	 /* new flows sent to the next Maglev choice (chosen one open) */
	__u64 rerouted_fallback; /* new flows sent to the fallback backend */
};
_Static_assert(sizeof(struct sluice_res_counter) == 16, "sluice_res_counter layout");

/* Who set a service's leader (sluice_leader.source). */
enum sluice_leader_source {
	SLUICE_LEADER_NONE = 0,	    /* never set */
	SLUICE_LEADER_OPERATOR = 1, /* sluice leader set */
	SLUICE_LEADER_ELECTION = 2, /* an etcd election the daemon observes */
	SLUICE_LEADER_ROLE = 3,	    /* a backend's role endpoint said primary */
};

/*
 * sl_leaders value (array indexed by service id): the backend that takes the
 * service's write flows (SLUICE_SVC_F_LEADER keys). Written by userspace
 * only, as one whole-value update, so the data plane reads the old leader or
 * the new one. backend is the id + 1 so that a zeroed entry means "no
 * leader": write flows are refused, never sent to a replica.
 */
struct sluice_leader {
	__u32 backend;	  /* leader's backend id + 1; 0 = no leader known */
	__u8 source;	  /* enum sluice_leader_source of the last change */
	__u8 pad[3];	  /* must be zero */
	__u64 changed_ns; /* CLOCK_REALTIME of the last change, ns (display only) */
};
_Static_assert(sizeof(struct sluice_leader) == 16, "sluice_leader layout");

/* sl_events record (ring buffer): one breaker signal. */
struct sluice_event {
	__u64 ts_ns;	  /* bpf_ktime_get_ns() */
	__u32 type;	  /* enum sluice_event_type */
	__u32 backend_id; /* backend the signal is about */
	__u32 svc_id;	  /* its service */
	__u32 pad;	  /* zero */
};
_Static_assert(sizeof(struct sluice_event) == 24, "sluice_event layout");

/*
 * Failover (bpf/lib/failover.h) and pending handshakes (flow.h). A
 * connection's handshake lives in sl_syn_v2 (LRU hash keyed like sl_flows,
 * SLUICE_SYN_ENTRIES) and nowhere else until the client's first ACK: a SYN
 * creates no flow and holds no bulkhead slot (issue 13, SYN floods; a
 * spoofed SYN can only churn this LRU). The record is deleted when the
 * handshake completes (the flow is created then, on the backend it names)
 * or the backend refuses it, or by the sweep past the service's
 * syn-timeout (unanswered: a failure of its backend); the LRU takes the
 * rest. It is 104 bytes (the SYN's options as sent) against the flow's 32, and sl_flows, read on
 * every packet, stays as small and as cache-friendly as it was. A record
 * the LRU evicted early loses its failover and its bulkhead slot (the ACK
 * is then steered as any segment without a flow), never its connection.
 */
#define SLUICE_SYN_ENTRIES 65536 /* handshakes in flight with failover state */
#define SLUICE_SYN_TRIED 8	 /* backends a flow may try: retries <= SLUICE_SYN_TRIED - 1 */
#define SLUICE_SYN_OPT_MAX 40	 /* TCP option bytes (doff 15) */

/* sl_syn_v2 value: what rebuilds the client's SYN, and where it has been. */
struct sluice_syn {
	__be32 isn;	/* the client's initial sequence number */
	__be32 ip_w0;	/* IPv6: first word (version, class, flow label); IPv4: tos in byte 1 */
	__be16 window;	/* the SYN's window */
	__u8 tcp_flags; /* its flags byte (SYN, maybe ECE and CWR) */
	__u8 ttl;	/* TTL / hop limit as received */
	__u8 opt_len;	/* option bytes in opts (0..40, a multiple of 4) */
	__u8 tries;	/* backends tried: tried[0 .. tries) */
	__u8 has_data;	/* 1: the SYN carried data (TCP Fast Open): never replayed */
	__u8 state;	/* SLUICE_SYN_*: what happened to it so far */
	__u32 tried[SLUICE_SYN_TRIED]; /* backend ids, the first choice first */
	__u8 opts[SLUICE_SYN_OPT_MAX]; /* the options as sent; zero after opt_len */
	__u64 created;		       /* bpf_ktime_get_ns() at the first SYN */
	__u32 svc_id;		       /* its service (the sweep's syn-timeout) */
	__u32 pad;		       /* zero */
};
_Static_assert(sizeof(struct sluice_syn) == 104, "sluice_syn layout");

/* sluice_syn.state bits (one byte; was `spent` 0/1: a stale pin reads the same). */
#define SLUICE_SYN_SPENT 0x1	/* retry_exhausted counted for this connection */
#define SLUICE_SYN_ANSWERED 0x2 /* the backend's SYN-ACK was seen (nat) */
#define SLUICE_SYN_PROBE 0x4	/* its backend admitted it as a half-open breaker probe */

/*
 * sl_svc_fo value (array indexed by service id): failover settings. A
 * zeroed entry means the defaults.
 */
struct sluice_svc_fo {
	__u8 retries;	 /* redispatches / re-steers per connection; 0 = default, OFF = none */
	__u8 pad;	 /* must be zero */
	__u16 fast_trip; /* consecutive failures that open a breaker; 0 = default, OFF = never */
};
_Static_assert(sizeof(struct sluice_svc_fo) == 4, "sluice_svc_fo layout");

#define SLUICE_FO_RETRIES_DEFAULT 2
#define SLUICE_FO_RETRIES_OFF 0xff
#define SLUICE_FO_RETRIES_MAX (SLUICE_SYN_TRIED - 1)
#define SLUICE_FO_TRIP_DEFAULT 5
#define SLUICE_FO_TRIP_OFF 0xffff

/* sl_be_fo value (array indexed by backend id; atomic, shared by the CPUs). */
struct sluice_be_fo {
	__u32 fail_run; /* consecutive handshake failures; a success resets it */
	__u32 pad;	/* zero */
};
_Static_assert(sizeof(struct sluice_be_fo) == 8, "sluice_be_fo layout");

/* sl_fo_svc and sl_fo_be value (per-CPU arrays by service / backend id). */
struct sluice_fo_counter {
	__u64 moved;	       /* flows moved away after a failure (svc) / moved off it (be) */
	__u64 redispatched;    /* moved flows that then got their SYN-ACK (be: from it) */
	__u64 retry_exhausted; /* moved flows whose failure reached the client after all */
	__u64 fast_trips;      /* breakers the data plane opened (be: this one's) */
};
_Static_assert(sizeof(struct sluice_fo_counter) == 32, "sluice_fo_counter layout");

#define SLUICE_EVENTS_BYTES (256 * 1024) /* ring buffer size */
#define SLUICE_BRK_NEXT_TRIES 8		 /* table slots tried after an open backend's */

/*
 * Host side (issue 15): cgroup programs balancing a host's own outbound
 * connects (bpf/host.bpf.c). Their maps are pinned beside the data plane's
 * under the same root; the service, backend, Maglev and breaker maps are
 * the data plane's own.
 */
#define SLUICE_MAP_HOST_SOCKS "sl_host_socks" /* per-socket state (socket storage) */
#define SLUICE_MAP_HOST_SCOPE "sl_host_scope" /* which services each attached cgroup balances */
#define SLUICE_MAP_HOST_CONNS "sl_host_conns" /* outbound connections in use per service */
#define SLUICE_MAP_HOST_STATS "sl_host_stats" /* per-service host-side counters */
#define SLUICE_MAP_HOST_RL "sl_host_rl"	      /* per-service connect rate buckets (host side) */
#define SLUICE_HOST_PATH_MAX 232	      /* cgroup path kept in struct sluice_host_scope */

/*
 * sl_host_scope key: one attached cgroup (its cgroup id, the inode number of
 * its cgroup2 folder) and one service it balances; svc all zero is the
 * attachment's own entry (the cgroup balances every service when that
 * entry's flags have SLUICE_HOST_ALL).
 */
struct sluice_host_scope_key {
	__u64 cgid;		   /* cgroup id of the attached cgroup */
	struct sluice_svc_key svc; /* a service, or all zero: the attachment itself */
	__u32 pad;		   /* must be zero */
};
_Static_assert(sizeof(struct sluice_host_scope_key) == 32, "sluice_host_scope_key layout");

#define SLUICE_HOST_ALL 0x1 /* the attachment balances every service */

/* sl_host_scope value. */
struct sluice_host_scope {
	__u32 flags; /* SLUICE_HOST_* (the attachment's entry only) */
	__u32 nsvc;  /* services listed (the attachment's entry only) */
	__u8 path
		[SLUICE_HOST_PATH_MAX]; /* cgroup path as attached, NUL-ended (attachment's entry) */
};
_Static_assert(sizeof(struct sluice_host_scope) == 240, "sluice_host_scope layout");

/*
 * sl_host_socks value (socket storage): what a balanced socket was sent to,
 * so getpeername and recvmsg can show the service address and the close
 * can give back the bulkhead slot.
 */
struct sluice_host_sock {
	union sluice_addr vip;	   /* the service address the application asked for */
	union sluice_addr backend; /* the backend the socket was sent to */
	__be16 vport;		   /* the service port */
	__be16 bport;		   /* the backend port */
	__u32 svc_id;		   /* the service */
	__u32 backend_id;	   /* the backend */
	__u32 flags;		   /* SLUICE_FLOW_COUNTED*, ESTABLISHED, PROBE */
};
_Static_assert(sizeof(struct sluice_host_sock) == 48, "sluice_host_sock layout");

/* sl_host_stats value (per-CPU array indexed by service id). */
struct sluice_host_counter {
	__u64 balanced;	    /* connects (and UDP sends) sent to a backend */
	__u64 refused_bh;   /* connects refused by the bulkhead (ECONNREFUSED) */
	__u64 refused_brk;  /* connects refused: every candidate's breaker open */
	__u64 no_backend;   /* connects refused: no backend (or none of the socket's family) */
	__u64 refused_rate; /* connects refused: over the service's rate (host-side bucket) */
};
_Static_assert(sizeof(struct sluice_host_counter) == 40, "sluice_host_counter layout");

/*
 * Egress pacing (issue 15): a service's outbound bandwidth on a host,
 * `egress-rate`, enforced at the TC egress of an interface
 * (`iface attach DEV --hook tc-egress`, bpf/egress.bpf.c, bpf/lib/pace.h)
 * on the packets of sockets the host side balanced to the service
 * (sl_host_socks): each gets an Earliest Departure Time (skb->tstamp)
 * from one departure clock per service, which the fq qdisc holds it to.
 * And TCP's own pacing: each balanced TCP connection of the service is
 * paced (SO_MAX_PACING_RATE, from the host side's sockops) to its share
 * of the rate, the rate over the service's connections on this host.
 */
#define SLUICE_MAP_SVC_PACE "sl_svc_pace"     /* per-service rate and departure clock */
#define SLUICE_MAP_PACE_STATS "sl_pace_stats" /* per-service pacing counters */
#define SLUICE_MAP_PACE_CONNS "sl_pace_conns" /* per-service paced TCP connections (sluice_conns) */
/* sl_host_socks flags: the socket is counted in sl_pace_conns (its TCP is paced to a share). */
#define SLUICE_HOST_F_PACED 0x80000000u
/* A TCP connection's share of the rate, in percent: room for the headers TCP's pacing does not count. */
#define SLUICE_PACE_SHARE_PCT 95
#define SLUICE_PACE_RATE_MIN 8000ull /* egress-rate bounds, bits per second */
#define SLUICE_PACE_RATE_MAX 400000000000ull
/* How far ahead a packet may be scheduled with fq; later ones are dropped. */
#define SLUICE_PACE_HORIZON_NS 2000000000ull
/* Without fq (nothing holds a packet back): the burst a service may send ahead. */
#define SLUICE_PACE_BURST_NS 20000000ull

/*
 * sl_svc_pace value (array indexed by service id). Userspace writes the
 * whole value when the rate changes (next_ns 0: the clock starts again);
 * the egress program advances next_ns with a compare-and-swap.
 */
struct sluice_pace {
	__u64 rate_bps; /* egress-rate, bits per second; 0 = unlimited */
	__u64 next_ns;	/* departure time of the service's next packet, CLOCK_MONOTONIC ns */
};
_Static_assert(sizeof(struct sluice_pace) == 16, "sluice_pace layout");

/* sl_pace_stats value (per-CPU array indexed by service id). */
struct sluice_pace_counter {
	__u64 packets; /* packets of a paced service seen at egress */
	__u64 bytes;   /* their bytes (skb->len: a GSO packet counts whole) */
	__u64 delayed; /* packets given a departure time in the future */
	__u64 dropped; /* packets dropped: departure beyond the horizon */
};
_Static_assert(sizeof(struct sluice_pace_counter) == 32, "sluice_pace_counter layout");

/*
 * sluice trace (bpf/lib/trace.h). Off, the data plane pays one array
 * lookup and one load per packet (sl_trace_cfg.until == 0). On, it copies
 * the frame's first bytes at the entry and, at the exit, sends a record of
 * the decision to sl_trace when the packet passes the filters and the
 * sampling. until is a deadline the tracer keeps moving forward: a tracer
 * killed without cleaning up stops costing anything SLUICE_TRACE_LEASE_NS
 * later.
 */
#define SLUICE_TRACE_BYTES (1024 * 1024)    /* ring buffer size */
#define SLUICE_TRACE_SNAP_MAX 128	    /* frame bytes a record carries at most */
#define SLUICE_TRACE_LEASE_NS 5000000000ull /* a tracer renews until every second */

/* sluice_trace_cfg.flags: which filters apply (all that are set must match). */
#define SLUICE_TRACE_F_SVC 0x1	  /* the decision is about service svc_id */
#define SLUICE_TRACE_F_ADDR 0x2	  /* source or destination in addr/mask */
#define SLUICE_TRACE_F_REASON 0x4 /* the reason's bit is set in reasons */

/* sl_trace_cfg value (array of one, written by the tracer, read by the data plane). */
struct sluice_trace_cfg {
	__u64 until;		/* bpf_ktime_get_ns() deadline; 0 or past: tracing off */
	__u32 flags;		/* SLUICE_TRACE_F_* */
	__u32 svc_id;		/* with SLUICE_TRACE_F_SVC */
	__u32 reasons;		/* with SLUICE_TRACE_F_REASON: bit (1 << reason) */
	__u32 sample;		/* 1 in sample matching packets (0 and 1: every one) */
	__u32 snap;		/* frame bytes to copy, 0..SLUICE_TRACE_SNAP_MAX */
	__u32 owner;		/* pid of the tracer (one tracer at a time) */
	union sluice_addr addr; /* with SLUICE_TRACE_F_ADDR: the prefix, masked */
	union sluice_addr mask; /* its mask (IPv4: over the v4-mapped address) */
};
_Static_assert(sizeof(struct sluice_trace_cfg) == 64, "sluice_trace_cfg layout");

/* sl_trace record: one decision. */
struct sluice_trace_rec {
	__u64 ts_ns;	       /* bpf_ktime_get_ns() at the exit */
	__u32 ifindex;	       /* interface the frame came in on */
	__u32 svc_id;	       /* its service (SLUICE_TRACE_NONE: none) */
	__u32 backend_id;      /* its backend (SLUICE_TRACE_NONE: none) */
	__u32 frame_len;       /* the frame's length as received */
	__u8 reason;	       /* enum sluice_reason */
	__u8 action;	       /* XDP action returned (XDP_DROP, XDP_PASS, XDP_TX, ...) */
	__u8 proto;	       /* IPPROTO_TCP, IPPROTO_UDP; 0 when not parsed that far */
	__u8 tcp_flags;	       /* TCP flags byte (0 for UDP) */
	__u16 family;	       /* ETH_P_IP or ETH_P_IPV6 (host order); 0: not IP */
	__u16 cap_len;	       /* bytes of the frame in data[] */
	union sluice_addr src; /* source address (IPv4 v4-mapped) */
	union sluice_addr dst; /* destination address */
	__be16 sport;	       /* source port */
	__be16 dport;	       /* destination port */
	__u32 pad;	       /* zero */
	__u8 data[SLUICE_TRACE_SNAP_MAX]; /* the frame's first bytes, as received */
};
_Static_assert(sizeof(struct sluice_trace_rec) == 200, "sluice_trace_rec layout");

#define SLUICE_TRACE_NONE 0xffffffffu /* no service / no backend in a record */

/*
 * Slot of a service verdict in struct sluice_svc_counters; a reason that is
 * not a service verdict (SLUICE_R_IS_SVC_VERDICT) must not be counted there.
 */
static inline __u32 sluice_svc_slot(__u32 reason)
{
	if (reason < SLUICE_R_DROP_SVC_RATE)
		return 0;
	/* other_host has no slot: the reasons after it move down one. */
	return reason - SLUICE_R_DROP_SVC_RATE + 1 - (reason > SLUICE_R_OTHER_HOST);
}

#endif /* SLUICE_ABI_H */
