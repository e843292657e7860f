/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Loading the Sluice BPF object and attaching it to interfaces.
 *
 * Pins, under a pin root R (maps_pin_root()):
 *   R/<map name>                 every map of the object, mode 0600 (R itself 0700);
 *                                reused when present, so counters and services
 *                                survive re-attach, CLI exits and daemon restarts
 *   R/iface/<ifname>/xdp_link    the bpf_link holding XDP on <ifname>; the
 *                                attachment lives as long as the pin does
 *   R/iface/<ifname>/tc_link     instead, with --hook tc: the tcx link holding
 *                                sluice_tc at <ifname>'s TC ingress (same maps)
 *   R/iface/<ifname>/egress_link instead, with --hook tc-egress: the tcx link
 *                                holding sluice_egress (pacing) at its TC egress;
 *   R/iface/<ifname>/fq/         a folder marking that the attach installed the
 *                                root fq qdisc (removed again by the detach)
 *
 * Functions return 0 or -errno and leave a message in err.h; libbpf's own
 * messages go through libbpf_set_print (the caller decides).
 */
#ifndef SLUICE_LOADER_H
#define SLUICE_LOADER_H

#include <net/if.h>
#include <stddef.h>
#include <linux/types.h>

/*
 * Check that path (or its nearest existing parent) is on a bpf filesystem.
 * -ENOTSUP with a message saying how to mount one otherwise.
 */
int loader_check_bpffs(const char *path);

enum loader_xdp_mode {
	LOADER_XDP_NATIVE = 0, /* driver mode (XDP_FLAGS_DRV_MODE), the default */
	LOADER_XDP_SKB,	       /* generic mode (XDP_FLAGS_SKB_MODE), works on any device */
};

/* Where Sluice runs on an interface: one hook per interface. */
enum loader_hook {
	LOADER_HOOK_XDP = 0,   /* sluice_xdp, in the XDP mode given */
	LOADER_HOOK_TC,	       /* sluice_tc at TC ingress (a tcx link): any device */
	LOADER_HOOK_TC_EGRESS, /* sluice_egress at TC egress: pacing (egress-rate), fq as root */
};

struct loader_attach_opts {
	enum loader_xdp_mode mode; /* XDP only */
	enum loader_hook hook;
	int force; /* replace Sluice's program, or detach a foreign one */
};

/* One attachment, as `iface show` reports it. */
struct loader_iface {
	char ifname[IF_NAMESIZE]; /* from the pin folder */
	__u32 ifindex;		  /* 0 when the interface is gone (defunct link) */
	const char *mode;	  /* "native", "skb", "hw", "tc", "tc-egress" or "defunct" */
	enum loader_hook hook;	  /* the hook it is pinned as */
	const char *pacing; /* tc-egress: "fq" (fq is the root qdisc: EDT), "police"; else NULL */
	__u32 prog_id;
	__u32 link_id;
	int replaced; /* attach only: an existing program was replaced */
};

/* Smallest and largest --flow-entries. */
#define LOADER_FLOW_ENTRIES_MIN 1024u
#define LOADER_FLOW_ENTRIES_MAX 67108864u

/*
 * Size of sl_flows and sl_nat_rev when a load creates them (0, the initial
 * value: SLUICE_FLOWS_DEFAULT). A pinned flow table keeps its size; when it
 * already exists with another size than a non-zero entries, loading fails
 * with -EEXIST ("flow table already has N entries; to resize, ...").
 */
void loader_set_flow_entries(__u32 entries);

/* Create (0700) and pin the maps under root without attaching anything. */
int loader_maps_ensure(const char *root);

/*
 * Attach XDP to ifname and pin the link. Refuses (-EEXIST) when Sluice is
 * already attached there and (-EBUSY) when another XDP program is, unless
 * opts->force: then Sluice's program is replaced in place (bpf_link_update;
 * detach and re-attach when the mode changes) or the foreign one detached.
 * *result (may be NULL) describes the attachment. With opts->hook TC the
 * same at TC ingress (no foreign program to detach: tcx links stack);
 * either hook refuses (-EEXIST) while Sluice holds the other one there.
 */
int loader_attach(const char *root, const char *ifname, const struct loader_attach_opts *opts,
		  struct loader_iface *result);

/*
 * Free the program loader_attach() keeps loaded for this process's next
 * attach (it is reused only while the maps pinned under its root are the
 * ones it was loaded against). Safe to call at any time.
 */
void loader_release(void);

/*
 * Detach Sluice from ifname (whichever hook): detach and unpin the link,
 * remove its folder, and for XDP check that the interface has no XDP
 * program left (-EBUSY otherwise).
 * -ENOENT when Sluice is not attached there.
 */
int loader_detach(const char *root, const char *ifname);

/*
 * The attachments under root (all, or the one of ifname when not NULL:
 * -ENOENT when there is none), sorted by name, in a malloc'ed array.
 */
int loader_show(const char *root, const char *ifname, struct loader_iface **list, size_t *count);

/* The map pinned as name under root: an fd, or -errno (message set; -ENOENT: not pinned). */
int loader_pin_open(const char *root, const char *name);

/* What loader_local_addrs_sync() did. */
struct loader_local_sync {
	size_t count;	/* addresses in the map now */
	size_t removed; /* entries removed: no longer configured */
	size_t skipped; /* addresses past SLUICE_LOCAL_ADDR_ENTRIES, left unchecked */
};

/*
 * Make sl_local_addr (map_fd) hold exactly this host's addresses, every
 * interface's, IPv4 and IPv6, in the caller's network namespace: added
 * first, then stale entries removed. res may be NULL. 0 or -errno.
 */
int loader_local_addrs_sync(int map_fd, struct loader_local_sync *res);

/* The same on the sl_local_addr pinned under root (-ENOENT: not pinned). */
int loader_local_addrs_sync_root(const char *root, struct loader_local_sync *res);

/*
 * Make every next hop the data plane cached stale (sl_nh_gen + 1, never 0:
 * also turns caching on). 0 or -errno.
 */
int loader_nh_gen_bump(int map_fd);

/* The same on the sl_nh_gen pinned under root (-ENOENT: not pinned). */
int loader_nh_gen_bump_root(const char *root);

#endif /* SLUICE_LOADER_H */
