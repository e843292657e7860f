// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Egress pacing's part of the loader (`iface attach DEV --hook tc-egress`):
 * loading sluice_egress (bpf/egress.bpf.c) on the pinned maps, and the fq
 * qdisc it needs as DEV's root, through rtnetlink (libnl-route).
 *
 * fq and what was there before: a device's default root qdisc (noqueue on
 * a veth, mq or pfifo_fast on a NIC) has handle 0 and comes back by itself
 * when the root is deleted; an operator's own root has a handle. So the
 * attach replaces a default root with fq and records that fq is its own
 * (an empty folder "fq" beside the link pin, bpffs holding no files), so
 * the detach deletes it and the default comes back; an fq already there is
 * kept and left at detach; another configured root is refused unless
 * --force (then replaced, and deleted at detach). A kernel without fq
 * (CONFIG_NET_SCH_FQ unset) cannot hold packets back: the program is then
 * loaded with a short horizon and polices (bpf/lib/pace.h).
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/pkt_sched.h>
#include <netlink/netlink.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/tc.h>

#include "err.h"
#include "loader_int.h"
#include "sluice_abi.h"
#include "egress.skel.h"

int loader_egress_load(const char *root, int with_fq, struct bpf_object **obj, int *prog_fd)
{
	struct egress_bpf *skel;
	int err;

	skel = egress_bpf__open();
	if (!skel) {
		err = -errno;
		err_set("cannot open the Sluice egress object: %s", strerror(-err));
		return err;
	}
	skel->rodata->sluice_pace_horizon_ns =
		with_fq ? SLUICE_PACE_HORIZON_NS : SLUICE_PACE_BURST_NS;
	err = loader_pin_maps(skel->obj, root);
	if (!err) {
		err = egress_bpf__load(skel);
		if (err)
			err_set("cannot load the Sluice egress object: %s (run with -v for libbpf's log)",
				strerror(-err));
	}
	if (err) {
		egress_bpf__destroy(skel);
		return err;
	}
	/* The skeleton's own struct goes; the object (and the program) stay with the caller. */
	*obj = skel->obj;
	*prog_fd = bpf_program__fd(skel->progs.sluice_egress);
	skel->obj = NULL;
	egress_bpf__destroy(skel);
	return 0;
}

static int nl_open(struct nl_sock **out, const char *ifname)
{
	struct nl_sock *sk = nl_socket_alloc();
	int err;

	if (!sk) {
		err_set("out of memory");
		return -ENOMEM;
	}
	err = nl_connect(sk, NETLINK_ROUTE);
	if (err) {
		err_set("cannot open rtnetlink for the qdisc of %s: %s", ifname, nl_geterror(err));
		nl_socket_free(sk);
		return -EIO;
	}
	*out = sk;
	return 0;
}

int loader_root_qdisc(int ifindex, const char *ifname, char *kind, size_t len, __u32 *handle)
{
	struct nl_cache *cache = NULL;
	struct rtnl_qdisc *q;
	struct nl_sock *sk;
	int err;

	err = nl_open(&sk, ifname);
	if (err)
		return err;
	err = rtnl_qdisc_alloc_cache(sk, &cache);
	if (err) {
		err_set("cannot list the qdiscs of %s: %s", ifname, nl_geterror(err));
		nl_socket_free(sk);
		return -EIO;
	}
	q = rtnl_qdisc_get_by_parent(cache, ifindex, TC_H_ROOT);
	snprintf(kind, len, "%s",
		 q && rtnl_tc_get_kind(TC_CAST(q)) ? rtnl_tc_get_kind(TC_CAST(q)) : "");
	*handle = q ? rtnl_tc_get_handle(TC_CAST(q)) : 0;
	if (q)
		rtnl_qdisc_put(q);
	nl_cache_free(cache);
	nl_socket_free(sk);
	return 0;
}

/* Add (replacing the root) or delete ifindex's root fq. */
static int fq_change(int ifindex, const char *ifname, int add)
{
	struct rtnl_qdisc *q;
	struct nl_sock *sk;
	int err;

	err = nl_open(&sk, ifname);
	if (err)
		return err;
	q = rtnl_qdisc_alloc();
	if (!q) {
		nl_socket_free(sk);
		err_set("out of memory");
		return -ENOMEM;
	}
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
	err = rtnl_tc_set_kind(TC_CAST(q), "fq");
	if (!err)
		err = add ? rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_REPLACE)
			  : rtnl_qdisc_delete(sk, q);
	if (err) {
		/* libnl's codes: the kernel's answer is not kept, so map the likely ones. */
		if (add && (err == -NLE_OBJ_NOTFOUND || err == -NLE_OPNOTSUPP)) {
			err = -EOPNOTSUPP; /* no sch_fq in this kernel: the caller says so */
		} else {
			err_set("cannot %s the fq qdisc %s %s: %s", add ? "install" : "remove",
				add ? "on" : "of", ifname, nl_geterror(err));
			err = -EIO;
		}
	}
	rtnl_qdisc_put(q);
	nl_socket_free(sk);
	return err;
}

int loader_fq_install(const char *dir, int ifindex, const char *ifname, int force, int *with_fq)
{
	char kind[32], mark[PATH_MAX];
	__u32 handle;
	int err;

	*with_fq = 0;
	if (snprintf(mark, sizeof(mark), "%s/fq", dir) >= (int)sizeof(mark)) {
		err_set("pin path for %s is too long", ifname);
		return -ENAMETOOLONG;
	}
	err = loader_root_qdisc(ifindex, ifname, kind, sizeof(kind), &handle);
	if (err)
		return err;
	if (!strcmp(kind, "fq")) {
		*with_fq = 1; /* already there: kept, ours if an earlier attach made it */
		return 0;
	}
	if (handle && !force) {
		err_set("%s has a root qdisc of its own (%s, handle %x:): pacing needs fq as the root; remove it, or use --force to replace it (the detach then removes fq and the device's default comes back)",
			ifname, kind, handle >> 16);
		return -EBUSY;
	}
	err = fq_change(ifindex, ifname, 1);
	if (err == -EOPNOTSUPP)
		return 0; /* no fq: policing (see the top of the file) */
	if (err)
		return err;
	if (mkdir(mark, 0700) && errno != EEXIST) {
		err = -errno;
		err_set("cannot create %s: %s", mark, strerror(-err));
		fq_change(ifindex, ifname, 0);
		return err;
	}
	*with_fq = 1;
	return 0;
}

int loader_fq_remove(const char *dir, int ifindex, const char *ifname)
{
	char kind[32], mark[PATH_MAX];
	struct stat st;
	__u32 handle;
	int err;

	if (snprintf(mark, sizeof(mark), "%s/fq", dir) >= (int)sizeof(mark) || stat(mark, &st))
		return 0; /* not ours */
	err = ifindex ? loader_root_qdisc(ifindex, ifname, kind, sizeof(kind), &handle) : 0;
	/* Still our fq (not replaced since): delete it, the default comes back. */
	if (!err && ifindex && !strcmp(kind, "fq") && handle)
		err = fq_change(ifindex, ifname, 0);
	if (!err)
		rmdir(mark);
	return err;
}
