/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Loading the host side (bpf/host.bpf.c) and attaching it to a cgroup v2.
 *
 * Pins, under the pin root R (beside the data plane's, loader.h):
 *   R/sl_host_*                 the host side's maps (the data plane's maps
 *                               are shared: services, backends, breakers...)
 *   R/host/<cgroup id>/<prog>   one bpf_link per program (connect4,
 *                               getpeername6, sockops, ...); the attachment
 *                               lives as long as the pins do, so it
 *                               survives the CLI and daemon restarts
 * sl_host_scope holds, per cgroup id, the attachment's path and whether it
 * balances every service, and one entry per listed service.
 *
 * Functions return 0 or -errno with a message in err.h.
 */
#ifndef SLUICE_LOADER_HOST_H
#define SLUICE_LOADER_HOST_H

#include <stddef.h>
#include <linux/types.h>
#include "sluice_abi.h"

#define LOADER_HOST_PROGS 11 /* programs (links) of one attachment */

/* One attachment, as `host show` reports it. */
struct loader_host {
	char path[SLUICE_HOST_PATH_MAX]; /* the cgroup's path as attached */
	__u64 cgid;			 /* its cgroup id */
	int all;			 /* balances every service */
	int defunct;			 /* the cgroup is gone (its links with it) */
	size_t nlinks;			 /* links pinned */
	__u32 prog_ids[LOADER_HOST_PROGS];
	__u32 link_ids[LOADER_HOST_PROGS];
	char prog_names[LOADER_HOST_PROGS][32]; /* program names, without "sluice_" */
	size_t nsvc;
	struct sluice_svc_key *svcs; /* malloc'ed, sorted */
};

/*
 * Resolve a cgroup path (absolute, or relative to the cgroup2 mount) to
 * the canonical absolute path in out and its id. -ENOENT / -ENOTDIR /
 * -EINVAL (not on cgroup2) with a message saying what to give instead.
 */
int loader_host_cgroup(const char *cgroup, char *out, size_t len, __u64 *cgid);

/*
 * Attach the host side to cgroup, balancing svcs (nsvc 0: every service),
 * and pin the links. Already attached: the program is replaced in place
 * (bpf_link_update, no connect sees the cgroup without it) and the
 * service list replaced; *replaced (may be NULL) says so. Nothing is
 * changed when it fails. The data plane's maps are created if missing.
 */
int loader_host_attach(const char *root, const char *cgroup, const struct sluice_svc_key *svcs,
		       size_t nsvc, struct loader_host *result, int *replaced);

/*
 * Detach from cgroup: every link detached and unpinned, its scope entries
 * deleted; then checks the cgroup runs none of the programs any more
 * (-EBUSY otherwise). -ENOENT when not attached there.
 */
int loader_host_detach(const char *root, const char *cgroup);

/* The attachments under root, sorted by path, in a malloc'ed array. */
int loader_host_show(const char *root, struct loader_host **list, size_t *count);

/* Free a loader_host_show() list (NULL is fine); one attachment's services. */
void loader_host_free(struct loader_host *list, size_t count);
void loader_host_free_one(struct loader_host *h);

#endif /* SLUICE_LOADER_HOST_H */
