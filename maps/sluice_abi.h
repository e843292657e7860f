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

#define SLUICE_ABI_VERSION 1

/* Default bpffs folder of the pins; SLUICE_PIN_ROOT in the environment overrides. */
#define SLUICE_PIN_ROOT_DEFAULT "/sys/fs/bpf/sluice"

/* Map names: kernel name and pin file name (<= 15 characters). */
#define SLUICE_MAP_SERVICES "sl_services"
#define SLUICE_MAP_SVC_STATS "sl_svc_stats"
#define SLUICE_MAP_GLB_STATS "sl_glb_stats"
#define SLUICE_MAP_SVC_RL "sl_svc_rl"
#define SLUICE_MAP_CLIENT_RL "sl_client_rl"

/* Limits. */
#define SLUICE_MAX_SERVICES 1024	/* service ids are 0 .. SLUICE_MAX_SERVICES-1 */
#define SLUICE_REASON_SLOTS 16		/* per-service counter slots; >= SLUICE_R_MAX */
#define SLUICE_CLIENT_RL_ENTRIES 65536	/* per-client buckets, LRU-bounded */
#define SLUICE_VLAN_MAX 2		/* 802.1ad outer + 802.1Q inner tag */
#define SLUICE_IPV6_EXT_MAX 6		/* IPv6 extension headers walked before giving up */
#define SLUICE_RATE_MAX_PPS 1000000000u /* highest configurable rate, packets/s */

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
};

/*
 * Why a packet got its verdict: the index of every counter. The first group
 * are pass reasons for traffic that is not (or cannot be) a service packet;
 * then the service verdicts. Each is counted globally (sl_glb_stats) and, for
 * the service verdicts, per service (sl_svc_stats).
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
	SLUICE_R_MAX,
};
_Static_assert(SLUICE_R_MAX <= SLUICE_REASON_SLOTS, "reasons must fit the per-service slots");

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
	__u8 pad[3];			/* must be zero */
	struct sluice_rate rate;	/* whole-service bucket */
	struct sluice_rate client_rate; /* per client address bucket */
};
_Static_assert(sizeof(struct sluice_svc) == 56, "sluice_svc layout");

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

/* One counter: value of sl_glb_stats and sl_svc_stats (per-CPU, summed by readers). */
struct sluice_counter {
	__u64 packets;
	__u64 bytes; /* frame bytes as seen by XDP */
};
_Static_assert(sizeof(struct sluice_counter) == 16, "sluice_counter layout");

/* Index into sl_svc_stats for (service id, reason). */
static inline __u32 sluice_svc_stat_index(__u32 svc_id, __u32 reason)
{
	return svc_id * SLUICE_REASON_SLOTS + reason;
}

#endif /* SLUICE_ABI_H */
